//! skiff-monitor is the container's parent for its whole life, as conmon is Podman's, kept small
//! on purpose (only libc): it copies the container's output into the log (and to an attached
//! terminal), reaps it as subreaper, writes the exit file, then hands over to `skiff` for cleanup.
//!
//! It also owns the contracts between the monitor and the rest of skiff: the exit file, the
//! k8s-file log format and the sync messages a starting `skiff` waits for.
#![deny(unsafe_code)]

mod child_reaper;
pub mod exit_file;
pub mod log;
mod monitor;
pub mod sync;

pub use monitor::{MonitorArgs, main, run};
