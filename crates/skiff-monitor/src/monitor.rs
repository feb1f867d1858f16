//! The monitor process: `skiff-monitor --pid PID --log PATH --exit PATH --stdout-fd N
//! --stderr-fd N [--sync-fd N] [--attach] -- CLEANUP...`.
//!
//! `skiff` forks, creates and starts the container in the child, then the child execs this
//! program: the container stays its child, and PR_SET_CHILD_SUBREAPER (kept across exec) makes
//! it the parent of any orphan too. When the container has exited and its output is drained,
//! the monitor writes the exit file and execs CLEANUP with the exit code appended (`skiff`'s
//! hidden cleanup command, which records the exit and tells the starting `skiff`).
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use crate::child_reaper::ChildReaper;
use crate::exit_file::{self, ExitRecord};
use crate::log::{LogWriter, Stream};
use crate::sync::SyncMessage;
use crate::sys;

#[derive(Debug, Default, PartialEq)]
pub struct MonitorArgs {
    pub pid: i32,
    pub log: String,
    pub exit: String,
    pub stdout_fd: i32,
    pub stderr_fd: i32,
    pub sync_fd: Option<i32>,
    /// The host's offset from UTC, for log timestamps.
    pub utc_offset_seconds: i64,
    /// Copy the container's output to the monitor's own stdout and stderr.
    pub attach: bool,
    pub cleanup: Vec<String>,
}

impl MonitorArgs {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut out = MonitorArgs::default();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let mut value = |name: &str| {
                iter.next()
                    .cloned()
                    .ok_or_else(|| alloc::format!("{name} needs a value"))
            };
            let number = |text: String, name: &str| {
                text.parse::<i32>()
                    .map_err(|_| alloc::format!("{name}: not a number: {text}"))
            };
            match arg.as_str() {
                "--pid" => out.pid = number(value("--pid")?, "--pid")?,
                "--log" => out.log = value("--log")?,
                "--exit" => out.exit = value("--exit")?,
                "--stdout-fd" => out.stdout_fd = number(value("--stdout-fd")?, "--stdout-fd")?,
                "--stderr-fd" => out.stderr_fd = number(value("--stderr-fd")?, "--stderr-fd")?,
                "--sync-fd" => out.sync_fd = Some(number(value("--sync-fd")?, "--sync-fd")?),
                "--utc-offset" => {
                    out.utc_offset_seconds = number(value("--utc-offset")?, "--utc-offset")?.into()
                }
                "--attach" => out.attach = true,
                "--" => {
                    out.cleanup = iter.cloned().collect();
                    break;
                }
                other => return Err(alloc::format!("unknown argument {other:?}")),
            }
        }
        if out.pid <= 0 || out.exit.is_empty() {
            return Err("--pid and --exit are required".to_string());
        }
        Ok(out)
    }

    /// The command line that starts a monitor with these arguments (after the program name).
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec![
            "--pid".to_string(),
            self.pid.to_string(),
            "--log".into(),
            self.log.clone(),
            "--exit".into(),
            self.exit.clone(),
            "--stdout-fd".into(),
            self.stdout_fd.to_string(),
            "--stderr-fd".into(),
            self.stderr_fd.to_string(),
        ];
        if let Some(fd) = self.sync_fd {
            args.extend(["--sync-fd".to_string(), fd.to_string()]);
        }
        args.extend([
            "--utc-offset".to_string(),
            self.utc_offset_seconds.to_string(),
        ]);
        if self.attach {
            args.push("--attach".into());
        }
        args.push("--".into());
        args.extend(self.cleanup.iter().cloned());
        args
    }
}

/// Entry point of the `skiff-monitor` program, from C's `main(argc, argv)`.
///
/// # Safety
/// `argv` must point to `argc` valid NUL-terminated strings, as C's `main` receives them.
#[allow(unsafe_code)]
pub unsafe fn main(argc: i32, argv: *const *const libc::c_char) -> i32 {
    let mut args = Vec::new();
    for index in 1..argc.max(0) as usize {
        // SAFETY: argv holds argc valid NUL-terminated strings (this function's contract).
        let bytes = unsafe { core::ffi::CStr::from_ptr(*argv.add(index)) }.to_bytes();
        args.push(String::from_utf8_lossy(bytes).into_owned());
    }
    match MonitorArgs::parse(&args) {
        Ok(parsed) => run(parsed),
        Err(message) => {
            sys::write_all(2, alloc::format!("skiff-monitor: {message}\n").as_bytes());
            125
        }
    }
}

/// Watches the container to its end, then execs the cleanup command. Returns only if that
/// exec fails (the exit code is then reported on the sync pipe directly).
pub fn run(args: MonitorArgs) -> i32 {
    // SAFETY: plain libc calls on integer arguments and a zeroed signal set local.
    #[allow(unsafe_code)]
    let signal_fd = unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        // The attached `skiff` may go away; writing to its terminal must not kill us.
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        let mut set: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_BLOCK, &set, core::ptr::null_mut());
        libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC)
    };
    let mut reaper = ChildReaper::new(args.pid);
    let mut log = LogWriter::open(&args.log, args.utc_offset_seconds);
    let mut streams = [
        (args.stdout_fd, Stream::Stdout),
        (args.stderr_fd, Stream::Stderr),
    ];
    // The container may have exited before this program started.
    let mut exit_code = reaper.reap();
    let mut buffer = vec![0u8; 16 * 1024];
    while exit_code.is_none() || streams.iter().any(|(fd, _)| *fd >= 0) {
        let mut fds = [
            libc::pollfd {
                fd: signal_fd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: streams[0].0,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: streams[1].0,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // Once the container is gone, only drain what is already in the pipes: a daemon it
        // left behind may hold them open forever.
        let timeout = if exit_code.is_some() { 0 } else { -1 };
        // SAFETY: `fds` is a valid array of pollfd; negative fds are ignored by poll.
        #[allow(unsafe_code)]
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if ready < 0 {
            if sys::errno() == libc::EINTR {
                continue;
            }
            break;
        }
        if fds[0].revents != 0 {
            drain_signals(signal_fd);
            if let Some(code) = reaper.reap() {
                exit_code = Some(code);
            }
        }
        for (index, (fd, stream)) in streams.iter_mut().enumerate() {
            if *fd < 0 {
                continue;
            }
            if fds[index + 1].revents == 0 {
                if exit_code.is_some() && ready == 0 {
                    close_stream(fd, *stream, &mut log);
                }
                continue;
            }
            let n = sys::read(*fd, &mut buffer);
            if n <= 0 {
                close_stream(fd, *stream, &mut log);
                continue;
            }
            let chunk = &buffer[..n as usize];
            if let Some(log) = log.as_mut() {
                log.write(*stream, chunk);
            }
            if args.attach {
                // Unbuffered: the exec into cleanup would discard anything left in a buffer.
                sys::write_all(if *stream == Stream::Stdout { 1 } else { 2 }, chunk);
            }
        }
        if exit_code.is_none() && streams.iter().all(|(fd, _)| *fd < 0) {
            exit_code = Some(reaper.wait_blocking());
        }
    }
    let code = exit_code.unwrap_or(255);
    exit_file::write(
        &args.exit,
        ExitRecord {
            code,
            finished_unix_nanos: sys::unix_nanos(),
        },
    );
    drop(log);
    if !args.cleanup.is_empty() {
        let mut command = args.cleanup.clone();
        command.push(code.to_string());
        // Let the cleanup see SIGCHLD normally again.
        // SAFETY: an empty signal set local.
        #[allow(unsafe_code)]
        unsafe {
            let mut set: libc::sigset_t = core::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigprocmask(libc::SIG_SETMASK, &set, core::ptr::null_mut());
        }
        sys::exec(&command);
    }
    // No cleanup program (or it could not run): report the exit ourselves.
    if let Some(fd) = args.sync_fd {
        sys::write_all(fd, SyncMessage::Exited(code).encode().as_bytes());
    }
    code
}

fn close_stream(fd: &mut i32, stream: Stream, log: &mut Option<LogWriter>) {
    if let Some(log) = log.as_mut() {
        log.finish(stream);
    }
    sys::close(*fd);
    *fd = -1;
}

fn drain_signals(signal_fd: i32) {
    let mut info = [0u8; 128];
    while sys::read(signal_fd, &mut info) > 0 {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_round_trip() {
        let args = MonitorArgs {
            pid: 42,
            log: "/l".into(),
            exit: "/e".into(),
            stdout_fd: 5,
            stderr_fd: 6,
            sync_fd: Some(3),
            utc_offset_seconds: -3600,
            attach: true,
            cleanup: vec!["/bin/skiff".into(), "__cleanup".into()],
        };
        assert_eq!(MonitorArgs::parse(&args.to_args()).unwrap(), args);
        assert!(MonitorArgs::parse(&["--pid".into()]).is_err());
        assert!(MonitorArgs::parse(&["--bogus".into()]).is_err());
    }
}
