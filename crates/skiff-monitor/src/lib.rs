//! skiff-monitor is the container's parent for its whole life, as conmon is Podman's. It copies
//! the container's output into the log (and to an attached terminal), reaps it as subreaper,
//! writes the exit file, then hands over to `skiff` for cleanup.
//!
//! It lives as long as each container, so it is kept small on purpose: `no_std`, only `core`,
//! `alloc` and libc (the `skiff-monitor` program then holds a few hundred KiB, conmon ~2 MiB).
//! The same crate holds the contracts between the monitor and the rest of skiff: the exit file,
//! the k8s-file log format and the sync messages a starting `skiff` waits for.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod attach;
mod child_reaper;
pub mod exit_file;
pub mod log;
mod monitor;
pub mod sync;
mod sys;

pub use monitor::{MonitorArgs, main, run};
