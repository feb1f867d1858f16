//! The exit file: the one fact the monitor must leave behind, written atomically when the
//! container exits (`<code> <finished unix nanoseconds>`), read by any later `skiff`.
use alloc::string::String;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitRecord {
    pub code: i32,
    pub finished_unix_nanos: i64,
}

impl ExitRecord {
    pub fn encode(&self) -> String {
        alloc::format!("{} {}\n", self.code, self.finished_unix_nanos)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let mut parts = text.split_whitespace();
        Some(ExitRecord {
            code: parts.next()?.parse().ok()?,
            finished_unix_nanos: parts.next()?.parse().ok()?,
        })
    }
}

/// Writes the record to `path` atomically.
pub fn write(path: &str, record: ExitRecord) -> bool {
    crate::sys::write_file_atomically(path, record.encode().as_bytes())
}

/// Exit code as shells report it from a raw wait status: the code, or 128 + the signal.
pub fn code_from_wait_status(status: i32) -> Option<i32> {
    if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Some(128 + libc::WTERMSIG(status))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_records_round_trip_and_statuses_decode() {
        let path = std::format!(
            "{}/skiff-exit-{}",
            std::env::temp_dir().display(),
            std::process::id()
        );
        let record = ExitRecord {
            code: 3,
            finished_unix_nanos: 42,
        };
        assert!(write(&path, record));
        assert_eq!(
            ExitRecord::decode(&std::fs::read_to_string(&path).unwrap()),
            Some(record)
        );
        assert_eq!(ExitRecord::decode("garbage"), None);
        assert_eq!(code_from_wait_status(3 << 8), Some(3));
        assert_eq!(code_from_wait_status(9), Some(137));
    }
}
