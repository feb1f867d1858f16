//! The monitor process: `skiff-monitor --pid PID --log PATH --exit PATH --stdout-fd N
//! --stderr-fd N [--sync-fd N] [--attach] -- CLEANUP...`.
//!
//! `skiff` forks, creates and starts the container in the child, then the child execs this
//! program: the container stays its child, and PR_SET_CHILD_SUBREAPER (kept across exec) makes
//! it the parent of any orphan too. When the container has exited and its output is drained,
//! the monitor writes the exit file and execs CLEANUP with the exit code appended (`skiff`'s
//! hidden cleanup command, which records the exit and tells the starting `skiff`).
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::child_reaper::ChildReaper;
use crate::exit_file::{self, ExitRecord};
use crate::log::{LogWriter, Stream};
use crate::sync::SyncMessage;

#[derive(Debug, Default, PartialEq)]
pub struct MonitorArgs {
    pub pid: i32,
    pub log: PathBuf,
    pub exit: PathBuf,
    pub stdout_fd: i32,
    pub stderr_fd: i32,
    pub sync_fd: Option<i32>,
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
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            let number = |text: String, name: &str| {
                text.parse::<i32>()
                    .map_err(|_| format!("{name}: not a number: {text}"))
            };
            match arg.as_str() {
                "--pid" => out.pid = number(value("--pid")?, "--pid")?,
                "--log" => out.log = value("--log")?.into(),
                "--exit" => out.exit = value("--exit")?.into(),
                "--stdout-fd" => out.stdout_fd = number(value("--stdout-fd")?, "--stdout-fd")?,
                "--stderr-fd" => out.stderr_fd = number(value("--stderr-fd")?, "--stderr-fd")?,
                "--sync-fd" => out.sync_fd = Some(number(value("--sync-fd")?, "--sync-fd")?),
                "--attach" => out.attach = true,
                "--" => {
                    out.cleanup = iter.cloned().collect();
                    break;
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if out.pid <= 0 || out.exit.as_os_str().is_empty() {
            return Err("--pid and --exit are required".into());
        }
        Ok(out)
    }

    /// The command line that starts a monitor with these arguments (after the program name).
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec![
            "--pid".to_string(),
            self.pid.to_string(),
            "--log".into(),
            self.log.display().to_string(),
            "--exit".into(),
            self.exit.display().to_string(),
            "--stdout-fd".into(),
            self.stdout_fd.to_string(),
            "--stderr-fd".into(),
            self.stderr_fd.to_string(),
        ];
        if let Some(fd) = self.sync_fd {
            args.extend(["--sync-fd".to_string(), fd.to_string()]);
        }
        if self.attach {
            args.push("--attach".into());
        }
        args.push("--".into());
        args.extend(self.cleanup.iter().cloned());
        args
    }
}

/// Entry point of the `skiff-monitor` binary.
pub fn main() -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match MonitorArgs::parse(&args) {
        Ok(parsed) => run(parsed),
        Err(message) => {
            eprintln!("skiff-monitor: {message}");
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
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC)
    };
    let mut reaper = ChildReaper::new(args.pid);
    let mut log = LogWriter::open(&args.log).ok();
    let mut streams = [
        (args.stdout_fd, Stream::Stdout),
        (args.stderr_fd, Stream::Stderr),
    ];
    // The container may have exited before this program started.
    let mut exit_code = reaper.reap();
    let mut buffer = [0u8; 16 * 1024];
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
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
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
            // SAFETY: reading into a valid local buffer from a descriptor we own.
            #[allow(unsafe_code)]
            let n = unsafe { libc::read(*fd, buffer.as_mut_ptr().cast(), buffer.len()) };
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
                write_all(if *stream == Stream::Stdout { 1 } else { 2 }, chunk);
            }
        }
        if exit_code.is_none() && streams.iter().all(|(fd, _)| *fd < 0) {
            exit_code = Some(reaper.wait_blocking());
        }
    }
    let code = exit_code.unwrap_or(255);
    let _ = exit_file::write(
        &args.exit,
        ExitRecord {
            code,
            finished_unix_nanos: unix_nanos(),
        },
    );
    drop(log);
    if !args.cleanup.is_empty() {
        let mut command = args.cleanup.clone();
        command.push(code.to_string());
        exec(&command);
    }
    // No cleanup program (or it could not run): report the exit ourselves.
    if let Some(fd) = args.sync_fd {
        write_all(fd, SyncMessage::Exited(code).encode().as_bytes());
    }
    code
}

/// Writes all of `bytes` to `fd`, giving up on errors (the attached reader may be gone).
fn write_all(fd: i32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: writing from a valid slice.
        #[allow(unsafe_code)]
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

fn close_stream(fd: &mut i32, stream: Stream, log: &mut Option<LogWriter>) {
    if let Some(log) = log.as_mut() {
        log.finish(stream);
    }
    // SAFETY: closing a descriptor we own exactly once (it is set to -1 right after).
    #[allow(unsafe_code)]
    unsafe {
        libc::close(*fd);
    }
    *fd = -1;
}

fn drain_signals(signal_fd: i32) {
    let mut info = [0u8; 128];
    // SAFETY: reads signalfd_siginfo records into a buffer of exactly their size.
    #[allow(unsafe_code)]
    while unsafe { libc::read(signal_fd, info.as_mut_ptr().cast(), info.len()) } > 0 {}
}

fn unix_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Replaces this process with `command`; returns only on failure.
fn exec(command: &[String]) {
    let Ok(strings) = command
        .iter()
        .map(|a| CString::new(std::ffi::OsStr::new(a).as_bytes()))
        .collect::<Result<Vec<_>, _>>()
    else {
        return;
    };
    let mut pointers: Vec<*const libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
    pointers.push(std::ptr::null());
    // SAFETY: a NULL-terminated array of valid C strings that outlive the call.
    #[allow(unsafe_code)]
    unsafe {
        // Let the cleanup see SIGCHLD normally again.
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        libc::execv(pointers[0], pointers.as_ptr());
    }
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
            attach: true,
            cleanup: vec!["/bin/skiff".into(), "__cleanup".into()],
        };
        assert_eq!(MonitorArgs::parse(&args.to_args()).unwrap(), args);
        assert!(MonitorArgs::parse(&["--pid".into()]).is_err());
        assert!(MonitorArgs::parse(&["--bogus".into()]).is_err());
    }
}
