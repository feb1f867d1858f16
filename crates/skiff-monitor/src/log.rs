//! Container logs in Podman's k8s-file format, one record a line:
//! `2026-11-24T02:18:57.123456789+00:00 stdout F hello` (F: full line, P: partial).
use alloc::string::String;
use alloc::vec::Vec;

use crate::sys;

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
    fd: i32,
    utc_offset_seconds: i64,
    pending: [Vec<u8>; 2],
    /// `--log-opt max-size`: the file is emptied before a record would take it past this
    /// (as conmon does); 0 for no limit.
    max_size: u64,
    size: u64,
}

impl LogWriter {
    /// Opens (or creates) the log for appending. Times are written with this offset from UTC
    /// (the host's local offset, given by `skiff` when it starts the monitor).
    /// An empty path: nothing is logged (`--log-driver none` or `journald`).
    pub fn open(path: &str, utc_offset_seconds: i64, max_size: u64) -> Option<Self> {
        if path.is_empty() {
            return None;
        }
        let fd = sys::open_append(path);
        (fd >= 0).then(|| Self {
            fd,
            utc_offset_seconds,
            pending: [Vec::new(), Vec::new()],
            max_size,
            size: sys::file_size(fd),
        })
    }

    pub fn write(&mut self, stream: Stream, bytes: &[u8]) {
        let index = stream as usize;
        let mut rest = bytes;
        while let Some(newline) = rest.iter().position(|b| *b == b'\n') {
            let mut line = core::mem::take(&mut self.pending[index]);
            line.extend_from_slice(&rest[..newline]);
            self.record(stream, 'F', &line);
            rest = &rest[newline + 1..];
        }
        self.pending[index].extend_from_slice(rest);
        if self.pending[index].len() >= PARTIAL_LIMIT {
            let line = core::mem::take(&mut self.pending[index]);
            self.record(stream, 'P', &line);
        }
    }

    /// The stream ended: what is left had no newline.
    pub fn finish(&mut self, stream: Stream) {
        let line = core::mem::take(&mut self.pending[stream as usize]);
        if !line.is_empty() {
            self.record(stream, 'P', &line);
        }
    }

    fn record(&mut self, stream: Stream, tag: char, line: &[u8]) {
        let time = timestamp(sys::unix_nanos(), self.utc_offset_seconds);
        let mut record = alloc::format!("{time} {} {tag} ", stream.name()).into_bytes();
        record.extend_from_slice(line);
        record.push(b'\n');
        if self.max_size > 0 && self.size + record.len() as u64 > self.max_size {
            sys::truncate(self.fd);
            self.size = 0;
        }
        sys::write_all(self.fd, &record);
        self.size += record.len() as u64;
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        sys::close(self.fd);
    }
}

/// RFC 3339 with nanoseconds and the given UTC offset, as conmon writes it:
/// `2026-11-24T02:18:57.123456789+01:00`. (Computed here rather than with libc's
/// localtime_r, whose time zone parsing drags scanf and locales into this small program.)
pub fn timestamp(unix_nanos: i64, utc_offset_seconds: i64) -> String {
    let local = unix_nanos.div_euclid(1_000_000_000) + utc_offset_seconds;
    let nanos = unix_nanos.rem_euclid(1_000_000_000);
    let (days, seconds) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let offset_minutes = utc_offset_seconds / 60;
    alloc::format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}{}{:02}:{:02}",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60,
        if offset_minutes < 0 { '-' } else { '+' },
        offset_minutes.abs() / 60,
        offset_minutes.abs() % 60
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
    fn timestamps_are_rfc3339_with_nanoseconds_and_offset() {
        assert_eq!(timestamp(0, 0), "1970-01-01T00:00:00.000000000+00:00");
        // 2026-11-24T02:18:57.5Z, shown one hour east and five and a half hours west
        let nanos = 1_795_486_737_500_000_000;
        assert_eq!(
            timestamp(nanos, 3600),
            "2026-11-24T03:18:57.500000000+01:00"
        );
        assert_eq!(
            timestamp(nanos, -19_800),
            "2026-11-23T20:48:57.500000000-05:30"
        );
        assert_eq!(
            timestamp(951_782_400_000_000_000, 0),
            "2000-02-29T00:00:00.000000000+00:00"
        );
    }

    #[test]
    fn a_log_past_its_size_limit_starts_over_and_no_path_logs_nothing() {
        let path = std::format!(
            "{}/skiff-log-limit-{}",
            std::env::temp_dir().display(),
            std::process::id()
        );
        let _ = std::fs::remove_file(&path);
        // A record here is 36 bytes of time, ` stdout F `, the line and a newline: 50 for 3.
        let mut log = LogWriter::open(&path, 0, 120).unwrap();
        for line in [&b"one\n"[..], b"two\n", b"six\n"] {
            log.write(Stream::Stdout, line);
        }
        drop(log);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with(" stdout F six\n"), "{text}");
        assert_eq!(text.lines().count(), 1, "{text}");
        let _ = std::fs::remove_file(&path);
        assert!(LogWriter::open("", 0, 0).is_none());
    }

    #[test]
    fn lines_are_split_and_partials_marked() {
        let path = std::format!(
            "{}/skiff-log-{}",
            std::env::temp_dir().display(),
            std::process::id()
        );
        let _ = std::fs::remove_file(&path);
        let mut log = LogWriter::open(&path, 0, 0).unwrap();
        log.write(Stream::Stdout, b"hel");
        log.write(Stream::Stdout, b"lo\nwor");
        log.write(Stream::Stderr, b"oops\n");
        log.finish(Stream::Stdout);
        drop(log);
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
