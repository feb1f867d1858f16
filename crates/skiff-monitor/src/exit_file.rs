//! The exit file: the one fact the monitor must leave behind, written atomically when the
//! container exits (`<code> <finished unix nanoseconds>`), read by any later `skiff`.
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitRecord {
    pub code: i32,
    pub finished_unix_nanos: i64,
}

pub fn write(path: &Path, record: ExitRecord) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    std::fs::write(
        &temporary,
        format!("{} {}\n", record.code, record.finished_unix_nanos),
    )?;
    std::fs::rename(&temporary, path)
}

pub fn read(path: &Path) -> Option<ExitRecord> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut parts = text.split_whitespace();
    Some(ExitRecord {
        code: parts.next()?.parse().ok()?,
        finished_unix_nanos: parts.next()?.parse().ok()?,
    })
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
        let path = std::env::temp_dir().join(format!("skiff-exit-{}", std::process::id()));
        write(
            &path,
            ExitRecord {
                code: 3,
                finished_unix_nanos: 42,
            },
        )
        .unwrap();
        assert_eq!(
            read(&path),
            Some(ExitRecord {
                code: 3,
                finished_unix_nanos: 42
            })
        );
        assert_eq!(code_from_wait_status(3 << 8), Some(3));
        assert_eq!(code_from_wait_status(9), Some(137));
    }
}
