//! Reaps every child the monitor has, as subreaper: the container's init and any orphan the
//! container leaves. Only the container's own status is kept.
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
            let mut status = 0;
            // SAFETY: waitpid writes only into `status`, a valid local.
            #[allow(unsafe_code)]
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                return found;
            }
            if pid == self.container {
                found = code_from_wait_status(status);
            }
        }
    }

    /// Waits until the container exits.
    pub fn wait_blocking(&mut self) -> i32 {
        loop {
            let mut status = 0;
            // SAFETY: as above.
            #[allow(unsafe_code)]
            let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
            if pid == self.container {
                if let Some(code) = code_from_wait_status(status) {
                    return code;
                }
            } else if pid < 0 && crate::sys::errno() != libc::EINTR {
                return 255;
            }
        }
    }
}
