//! Container logs in Podman's k8s-file format, one record a line:
//! `2026-11-24T02:18:57.123456789+00:00 stdout F hello` (F: full line, P: partial).
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// A partial line is held until its newline comes, up to this many bytes.
const PARTIAL_LIMIT: usize = 16 * 1024;

pub struct LogWriter {
    file: File,
    pending: [Vec<u8>; 2],
}

impl LogWriter {
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            file,
            pending: [Vec::new(), Vec::new()],
        })
    }

    pub fn write(&mut self, stream: Stream, bytes: &[u8]) {
        let index = stream as usize;
        let mut rest = bytes;
        while let Some(newline) = rest.iter().position(|b| *b == b'\n') {
            let mut line = std::mem::take(&mut self.pending[index]);
            line.extend_from_slice(&rest[..newline]);
            self.record(stream, 'F', &line);
            rest = &rest[newline + 1..];
        }
        self.pending[index].extend_from_slice(rest);
        if self.pending[index].len() >= PARTIAL_LIMIT {
            let line = std::mem::take(&mut self.pending[index]);
            self.record(stream, 'P', &line);
        }
    }

    /// The stream ended: what is left had no newline.
    pub fn finish(&mut self, stream: Stream) {
        let line = std::mem::take(&mut self.pending[stream as usize]);
        if !line.is_empty() {
            self.record(stream, 'P', &line);
        }
    }

    fn record(&mut self, stream: Stream, tag: char, line: &[u8]) {
        let time = chrono::Local::now().format("%Y-%m-%dT%H:%M:%S%.9f%:z");
        let mut record = format!("{time} {} {tag} ", stream.name()).into_bytes();
        record.extend_from_slice(line);
        record.push(b'\n');
        let _ = self.file.write_all(&record);
    }
}

/// One parsed log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub time: String,
    pub stream: Stream,
    pub partial: bool,
    pub message: Vec<u8>,
}

/// Parses one line of a k8s-file log (without its trailing newline).
pub fn parse_record(line: &[u8]) -> Option<LogRecord> {
    let mut parts = line.splitn(4, |b| *b == b' ');
    let time = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let stream = match parts.next()? {
        b"stdout" => Stream::Stdout,
        b"stderr" => Stream::Stderr,
        _ => return None,
    };
    let partial = parts.next()? == b"P";
    let message = parts.next().unwrap_or_default().to_vec();
    Some(LogRecord {
        time,
        stream,
        partial,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_and_partials_marked() {
        let path = std::env::temp_dir().join(format!("skiff-log-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut log = LogWriter::open(&path).unwrap();
        log.write(Stream::Stdout, b"hel");
        log.write(Stream::Stdout, b"lo\nwor");
        log.write(Stream::Stderr, b"oops\n");
        log.finish(Stream::Stdout);
        let text = std::fs::read(&path).unwrap();
        let records: Vec<LogRecord> = text
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| parse_record(l).unwrap())
            .collect();
        assert_eq!(records.len(), 3);
        assert_eq!(
            (records[0].message.as_slice(), records[0].partial),
            (&b"hello"[..], false)
        );
        assert_eq!(records[1].stream, Stream::Stderr);
        assert_eq!(
            (records[2].message.as_slice(), records[2].partial),
            (&b"wor"[..], true)
        );
    }
}
