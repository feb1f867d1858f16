//! Reaps every child the monitor has, as subreaper: the container's init, its helper, and any
//! orphan the container leaves. Only the container's own status is kept.
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::exit_file::code_from_wait_status;

pub struct ChildReaper {
    container: i32,
}

impl ChildReaper {
    pub fn new(container: i32) -> Self {
        Self { container }
    }

    /// Reaps whatever has exited; returns the container's exit code once it is among them.
    pub fn reap(&mut self) -> Option<i32> {
        let mut found = None;
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => return found,
                Ok(status) => {
                    if status.pid().map(Pid::as_raw) == Some(self.container) {
                        found = code_from_wait_status(status);
                    }
                }
            }
        }
    }

    /// Waits until the container exits.
    pub fn wait_blocking(&mut self) -> i32 {
        loop {
            match waitpid(Pid::from_raw(-1), None) {
                Ok(status) if status.pid().map(Pid::as_raw) == Some(self.container) => {
                    if let Some(code) = code_from_wait_status(status) {
                        return code;
                    }
                }
                Ok(_) => {}
                Err(nix::Error::EINTR) => {}
                Err(_) => return 255,
            }
        }
    }
}
