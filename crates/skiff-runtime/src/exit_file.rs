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

/// Exit code as shells report it: the code, or 128 + the signal that killed the process.
pub fn code_from_wait_status(status: nix::sys::wait::WaitStatus) -> Option<i32> {
    use nix::sys::wait::WaitStatus;
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, signal, _) => Some(128 + signal as i32),
        _ => None,
    }
}
