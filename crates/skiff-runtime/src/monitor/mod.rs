//! The per-container monitor: the container's parent for its whole life, as conmon is Podman's.
//!
//! One process, single-threaded. It forks a short-lived helper that does the heavy setup
//! (mounts, runtime create and start, recording state) so the monitor itself stays small,
//! then becomes the subreaper of the container, copies its output into the log (and to an
//! attached terminal), reaps it, writes the exit file, runs the cleanup hook, and exits.
mod child_reaper;
pub mod log_writer;
pub mod sync;

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::{ForkResult, pipe2, read};

use crate::backend::ContainerStdio;
use crate::exit_file::{self, ExitRecord};
use log_writer::{LogWriter, Stream};
use sync::SyncMessage;

/// What the engine does around the container's life.
pub trait MonitorHooks {
    /// Runs in the forked helper: prepare the root filesystem, create and start the container,
    /// record it as running. Returns the container's PID, or an exit code and a message.
    fn setup(&mut self, stdio: ContainerStdio) -> Result<i32, (i32, String)>;
    /// Runs in the monitor once the container has exited and its exit file is written.
    fn cleanup(&mut self, exit_code: i32);
}

pub struct MonitorOptions {
    pub log_path: PathBuf,
    pub exit_path: PathBuf,
    /// Copy the container's output to the monitor's own stdout and stderr (an attached run).
    pub forward_output: bool,
    /// Give the container the monitor's stdin (`-i`) instead of /dev/null.
    pub keep_stdin: bool,
    /// Where to tell the starting `skiff` how things went (see `sync`).
    pub sync: Option<File>,
}

/// Runs the monitor to the end. Returns the container's exit code, or None if it never started.
pub fn run(mut options: MonitorOptions, hooks: &mut dyn MonitorHooks) -> Option<i32> {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes an integer flag and no pointers.
    #[allow(unsafe_code)]
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        // The attached `skiff` may go away; writes to its pipe must not kill the monitor.
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGCHLD);
    let _ = signals.thread_block();
    let signal_fd =
        SignalFd::with_flags(&signals, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC).ok()?;

    let (stdout_read, stdout_write) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()?;
    let (stderr_read, stderr_write) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()?;
    let stdin: OwnedFd = if options.keep_stdin {
        std::io::stdin().as_fd().try_clone_to_owned().ok()?
    } else {
        File::open("/dev/null").ok()?.into()
    };
    let (setup_read, setup_write) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()?;

    // SAFETY: the monitor is single-threaded (checked by the caller: no runtime, no threads
    // spawned), so the child may run arbitrary code after fork.
    #[allow(unsafe_code)]
    let helper = match unsafe { nix::unistd::fork() } {
        Ok(ForkResult::Child) => {
            drop(stdout_read);
            drop(stderr_read);
            drop(setup_read);
            let _ = signals.thread_unblock();
            let result = hooks.setup(ContainerStdio {
                stdin,
                stdout: stdout_write,
                stderr: stderr_write,
            });
            let message = match &result {
                Ok(pid) => {
                    let _ = nix::unistd::write(&setup_write, &pid.to_ne_bytes());
                    SyncMessage::Started(*pid)
                }
                Err((code, message)) => SyncMessage::Error(*code, message.clone()),
            };
            if let Some(sync) = options.sync.as_mut() {
                let _ = sync.write_all(message.encode().as_bytes());
            }
            // SAFETY: _exit skips destructors and atexit handlers that belong to the monitor.
            #[allow(unsafe_code)]
            unsafe {
                libc::_exit(if result.is_ok() { 0 } else { 1 })
            }
        }
        Ok(ForkResult::Parent { child }) => child,
        Err(_) => return None,
    };
    drop(stdout_write);
    drop(stderr_write);
    drop(stdin);
    drop(setup_write);

    let mut pid_bytes = [0u8; 4];
    let container_pid = match read(setup_read.as_raw_fd(), &mut pid_bytes) {
        Ok(4) => i32::from_ne_bytes(pid_bytes),
        _ => {
            let _ = nix::sys::wait::waitpid(helper, None);
            return None;
        }
    };
    drop(setup_read);

    let mut reaper = child_reaper::ChildReaper::new(container_pid);
    let mut log = LogWriter::open(&options.log_path).ok();
    let mut streams = [
        (Some(stdout_read), Stream::Stdout),
        (Some(stderr_read), Stream::Stderr),
    ];
    let mut buffer = [0u8; 16 * 1024];
    let mut exit_code = None;
    while exit_code.is_none() || streams.iter().any(|(fd, _)| fd.is_some()) {
        let mut fds = vec![PollFd::new(signal_fd.as_fd(), PollFlags::POLLIN)];
        for (fd, _) in streams
            .iter()
            .filter_map(|(fd, s)| fd.as_ref().map(|fd| (fd, s)))
        {
            fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
        }
        // Once the container is gone, only drain what is already in the pipes: a daemon it
        // left behind may hold them open forever.
        let timeout = if exit_code.is_some() {
            PollTimeout::ZERO
        } else {
            PollTimeout::NONE
        };
        let ready = match poll(&mut fds, timeout) {
            Ok(n) => n,
            Err(nix::Error::EINTR) => continue,
            Err(_) => break,
        };
        let revents: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if revents[0] {
            while signal_fd.read_signal().ok().flatten().is_some() {}
            if let Some(code) = reaper.reap() {
                exit_code = Some(code);
            }
        }
        let mut index = 1;
        for (fd, stream) in streams.iter_mut() {
            let Some(open) = fd.as_ref() else { continue };
            let has_data = revents.get(index).copied().unwrap_or(false);
            index += 1;
            if !has_data {
                if exit_code.is_some() && ready == 0 {
                    if let Some(log) = log.as_mut() {
                        log.finish(*stream);
                    }
                    *fd = None;
                }
                continue;
            }
            match read(open.as_raw_fd(), &mut buffer) {
                Ok(0) | Err(_) => {
                    if let Some(log) = log.as_mut() {
                        log.finish(*stream);
                    }
                    *fd = None;
                }
                Ok(n) => {
                    if let Some(log) = log.as_mut() {
                        log.write(*stream, &buffer[..n]);
                    }
                    if options.forward_output {
                        let _ = match stream {
                            Stream::Stdout => std::io::stdout().write_all(&buffer[..n]),
                            Stream::Stderr => std::io::stderr().write_all(&buffer[..n]),
                        };
                    }
                }
            }
        }
        if exit_code.is_none() && streams.iter().all(|(fd, _)| fd.is_none()) {
            exit_code = Some(reaper.wait_blocking());
        }
    }
    let code = exit_code.unwrap_or(255);
    let finished = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let _ = exit_file::write(
        &options.exit_path,
        ExitRecord {
            code,
            finished_unix_nanos: finished,
        },
    );
    hooks.cleanup(code);
    if let Some(sync) = options.sync.as_mut() {
        let _ = sync.write_all(SyncMessage::Exited(code).encode().as_bytes());
    }
    Some(code)
}
