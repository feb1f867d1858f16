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
        let time = local_timestamp();
        let mut record = format!("{time} {} {tag} ", stream.name()).into_bytes();
        record.extend_from_slice(line);
        record.push(b'\n');
        let _ = self.file.write_all(&record);
    }
}

/// Now as RFC 3339 with nanoseconds and the local offset, as conmon writes it.
pub fn local_timestamp() -> String {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime and localtime_r only write into the locals passed to them.
    #[allow(unsafe_code)]
    let tm = unsafe {
        libc::clock_gettime(libc::CLOCK_REALTIME, &mut now);
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&now.tv_sec, &mut tm);
        tm
    };
    let offset = tm.tm_gmtoff / 60;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}{}{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.tv_nsec,
        if offset < 0 { '-' } else { '+' },
        offset.abs() / 60,
        offset.abs() % 60
    )
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
    fn timestamps_look_like_rfc3339_nanos() {
        let time = local_timestamp();
        assert_eq!(
            time.len(),
            "2026-11-24T02:18:57.123456789+00:00".len(),
            "{time}"
        );
        assert_eq!(&time[10..11], "T");
    }

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
