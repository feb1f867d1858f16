//! The monitor process: `skiff-monitor --pid PID --log PATH --exit PATH --stdout-fd N
//! --stderr-fd N [--sync-fd N] [--attach] -- CLEANUP...`.
//!
//! `skiff` forks, creates and starts the container in the child, then the child execs this
//! program: the container stays its child, and PR_SET_CHILD_SUBREAPER (kept across exec) makes
//! it the parent of any orphan too. When the container has exited and its output is drained,
//! the monitor writes the exit file, offers the cleanup to a starting `skiff` still attached
//! (see `sync`), and unless that one did it, execs CLEANUP with the exit code appended
//! (`skiff`'s hidden cleanup command, which records the exit and tells the starting `skiff`).
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use crate::attach::{self, Packet};
use crate::child_reaper::ChildReaper;
use crate::exit_file::{self, ExitRecord};
use crate::log::{LogWriter, Stream};
use crate::sync::SyncMessage;
use crate::sys;

#[derive(Debug, PartialEq)]
pub struct MonitorArgs {
    pub pid: i32,
    /// The log file; empty: nothing is logged.
    pub log: String,
    /// `--log-opt max-size` in bytes; 0: no limit.
    pub log_size_max: u64,
    /// `run --timeout`: seconds after which the container is killed (its exit code is then
    /// -1, as Podman's); 0: none.
    pub timeout_seconds: u64,
    pub exit: String,
    /// The container's output: pipes, or with `terminal` the pty master as stdout_fd.
    pub stdout_fd: i32,
    pub stderr_fd: i32,
    /// Where attached clients' input goes (a pipe to the container's stdin, or the pty
    /// master); -1 when the container's stdin is closed.
    pub stdin_fd: i32,
    /// stdout_fd is a pseudo-terminal master (stderr_fd is then -1).
    pub terminal: bool,
    /// A listening SOCK_SEQPACKET socket for attach clients (see `attach`), or -1.
    pub socket_fd: i32,
    /// The container's mount namespace, held open past the exit of its init and closed once
    /// the exit is reported, or -1. The namespace's teardown (every mount undone, an
    /// expedited RCU grace period: ~0.6 ms) then happens after the report, not before.
    pub hold_fd: i32,
    /// Hold the container's output until the first client connects (`run -it`: the starting
    /// `skiff` attaches right after the start), at most `WAIT_FOR_CLIENT_MS`.
    pub wait_client: bool,
    pub sync_fd: Option<i32>,
    /// The host's offset from UTC, for log timestamps.
    pub utc_offset_seconds: i64,
    /// Copy the container's output to the monitor's own stdout and stderr.
    pub attach: bool,
    /// Milliseconds between healthchecks; 0: none.
    pub health_interval_ms: u64,
    /// The command that runs one healthcheck (`skiff healthcheck run ID`).
    pub health: Vec<String>,
    pub cleanup: Vec<String>,
}

impl Default for MonitorArgs {
    fn default() -> Self {
        Self {
            pid: 0,
            log: String::new(),
            log_size_max: 0,
            timeout_seconds: 0,
            exit: String::new(),
            stdout_fd: -1,
            stderr_fd: -1,
            stdin_fd: -1,
            terminal: false,
            socket_fd: -1,
            hold_fd: -1,
            wait_client: false,
            sync_fd: None,
            utc_offset_seconds: 0,
            attach: false,
            health_interval_ms: 0,
            health: Vec::new(),
            cleanup: Vec::new(),
        }
    }
}

/// How long a monitor with `wait_client` holds output back for a client that never comes.
const WAIT_FOR_CLIENT_MS: i32 = 10_000;
/// Attach clients served at once.
const MAX_CLIENTS: usize = 32;
/// Index of the first client in the monitor's poll set.
const FIRST_CLIENT: usize = 5;
/// Input accepted ahead of the container reading it; beyond this, typed input is dropped.
const MAX_PENDING_INPUT: usize = 1 << 20;
/// How long the starting `skiff` has to answer `ended` (a stopped one, ^Z, does not): after
/// that the cleanup runs anyway, and the container lock keeps the two apart.
const HANDOVER_MS: i32 = 2_000;

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
                "--log-size-max" => {
                    let text = value("--log-size-max")?;
                    out.log_size_max = text
                        .parse()
                        .map_err(|_| alloc::format!("--log-size-max: not a number: {text}"))?
                }
                "--timeout" => {
                    let text = value("--timeout")?;
                    out.timeout_seconds = text
                        .parse()
                        .map_err(|_| alloc::format!("--timeout: not a number: {text}"))?
                }
                "--exit" => out.exit = value("--exit")?,
                "--stdout-fd" => out.stdout_fd = number(value("--stdout-fd")?, "--stdout-fd")?,
                "--stderr-fd" => out.stderr_fd = number(value("--stderr-fd")?, "--stderr-fd")?,
                "--stdin-fd" => out.stdin_fd = number(value("--stdin-fd")?, "--stdin-fd")?,
                "--socket-fd" => out.socket_fd = number(value("--socket-fd")?, "--socket-fd")?,
                "--hold-fd" => out.hold_fd = number(value("--hold-fd")?, "--hold-fd")?,
                "--sync-fd" => out.sync_fd = Some(number(value("--sync-fd")?, "--sync-fd")?),
                "--utc-offset" => {
                    out.utc_offset_seconds = number(value("--utc-offset")?, "--utc-offset")?.into()
                }
                "--health-interval-ms" => {
                    let text = value("--health-interval-ms")?;
                    out.health_interval_ms = text
                        .parse()
                        .map_err(|_| alloc::format!("--health-interval-ms: not a number: {text}"))?
                }
                "--health-arg" => out.health.push(value("--health-arg")?),
                "--terminal" => out.terminal = true,
                "--wait-client" => out.wait_client = true,
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
            "--log-size-max".into(),
            self.log_size_max.to_string(),
            "--timeout".into(),
            self.timeout_seconds.to_string(),
            "--exit".into(),
            self.exit.clone(),
            "--stdout-fd".into(),
            self.stdout_fd.to_string(),
            "--stderr-fd".into(),
            self.stderr_fd.to_string(),
            "--stdin-fd".into(),
            self.stdin_fd.to_string(),
            "--socket-fd".into(),
            self.socket_fd.to_string(),
            "--hold-fd".into(),
            self.hold_fd.to_string(),
        ];
        if let Some(fd) = self.sync_fd {
            args.extend(["--sync-fd".to_string(), fd.to_string()]);
        }
        args.extend([
            "--utc-offset".to_string(),
            self.utc_offset_seconds.to_string(),
        ]);
        if self.health_interval_ms > 0 {
            args.extend([
                "--health-interval-ms".to_string(),
                self.health_interval_ms.to_string(),
            ]);
            for arg in &self.health {
                args.extend(["--health-arg".to_string(), arg.clone()]);
            }
        }
        for (set, flag) in [
            (self.terminal, "--terminal"),
            (self.wait_client, "--wait-client"),
            (self.attach, "--attach"),
        ] {
            if set {
                args.push(flag.into());
            }
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
    let mut log = LogWriter::open(&args.log, args.utc_offset_seconds, args.log_size_max);
    let mut streams = [
        (args.stdout_fd, Stream::Stdout),
        (args.stderr_fd, Stream::Stderr),
    ];
    let mut stdin_fd = args.stdin_fd;
    // Input waits here until the container reads it: a container that does not read its
    // stdin must not block the monitor (and with it the container's output).
    let mut pending_input: Vec<u8> = Vec::new();
    let mut close_stdin_when_written = false;
    if stdin_fd >= 0 {
        sys::set_nonblocking(stdin_fd);
    }
    let mut clients: Vec<i32> = Vec::new();
    let mut hold_output = args.wait_client && args.socket_fd >= 0;
    let held_since = sys::monotonic_millis();
    // The container may have exited before this program started.
    let mut exit_code = reaper.reap();
    let deadline = (args.timeout_seconds > 0)
        .then(|| sys::monotonic_millis() + args.timeout_seconds as i64 * 1000);
    let mut timed_out = false;
    // Healthchecks run on their interval, as Podman's systemd timer runs them (the checks'
    // own lock keeps them one at a time).
    let health_interval = (args.health_interval_ms > 0 && !args.health.is_empty())
        .then_some(args.health_interval_ms as i64);
    let mut next_check = health_interval.map(|ms| sys::monotonic_millis() + ms);
    let mut buffer = vec![0u8; attach::MAX_DATA + 1];
    while exit_code.is_none() || hold_output || streams.iter().any(|(fd, _)| *fd >= 0) {
        if hold_output && sys::monotonic_millis() - held_since > i64::from(WAIT_FOR_CLIENT_MS) {
            hold_output = false;
        }
        let watched = |fd: i32| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let output = |fd: i32| if hold_output { -1 } else { fd };
        let mut fds = vec![
            watched(signal_fd),
            watched(output(streams[0].0)),
            watched(output(streams[1].0)),
            watched(if clients.len() < MAX_CLIENTS {
                args.socket_fd
            } else {
                -1
            }),
            libc::pollfd {
                fd: if pending_input.is_empty() {
                    -1
                } else {
                    stdin_fd
                },
                events: libc::POLLOUT,
                revents: 0,
            },
        ];
        fds.extend(clients.iter().map(|fd| watched(*fd)));
        // Once the container is gone, only drain what is already in the pipes: a daemon it
        // left behind may hold them open forever.
        let timeout = if hold_output {
            100
        } else if exit_code.is_some() {
            0
        } else {
            // The nearer of the timeout and the next healthcheck.
            let now = sys::monotonic_millis();
            [deadline.filter(|_| !timed_out), next_check]
                .into_iter()
                .flatten()
                .min()
                .map_or(-1, |at| (at - now).clamp(0, i64::from(i32::MAX)) as i32)
        };
        // SAFETY: `fds` is a valid array of pollfd; negative fds are ignored by poll.
        #[allow(unsafe_code)]
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if ready < 0 {
            if sys::errno() == libc::EINTR {
                continue;
            }
            break;
        }
        if let Some(deadline) = deadline
            && exit_code.is_none()
            && !timed_out
            && sys::monotonic_millis() >= deadline
        {
            timed_out = true;
            // SAFETY: kill with a PID and a signal number; no pointers.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(args.pid, libc::SIGKILL);
            }
        }
        if let (Some(at), Some(interval)) = (next_check, health_interval)
            && exit_code.is_none()
            && sys::monotonic_millis() >= at
        {
            // The check's own process is reaped with the other children.
            sys::spawn(&args.health);
            next_check = Some(sys::monotonic_millis() + interval);
        }
        if fds[0].revents != 0 {
            drain_signals(signal_fd);
            if let Some(code) = reaper.reap() {
                exit_code = Some(if timed_out { -1 } else { code });
            }
        }
        // Input from the clients polled; a client that hung up is dropped.
        let mut gone = Vec::new();
        for (index, client) in clients.iter().enumerate() {
            if fds[FIRST_CLIENT + index].revents == 0 {
                continue;
            }
            match attach::receive(*client, &mut buffer) {
                None => gone.push(*client),
                Some(Packet::Stdin(data)) if stdin_fd >= 0 => {
                    if pending_input.len() < MAX_PENDING_INPUT {
                        pending_input.extend_from_slice(data);
                    }
                }
                Some(Packet::Resize { rows, columns }) if args.terminal => {
                    attach::set_window_size(args.stdout_fd, rows, columns);
                }
                // A terminal has no end of input short of hanging up: ^D is the user's to type.
                Some(Packet::CloseStdin) if !args.terminal && stdin_fd >= 0 => {
                    close_stdin_when_written = true;
                }
                Some(_) => {}
            }
        }
        for client in gone {
            sys::close(client);
            clients.retain(|c| *c != client);
        }
        if stdin_fd >= 0 && !pending_input.is_empty() && fds[4].revents != 0 {
            match sys::write(stdin_fd, &pending_input) {
                n if n > 0 => {
                    pending_input.drain(..n as usize);
                }
                _ if sys::errno() == libc::EAGAIN => {}
                // The container closed its stdin: nothing more will be read.
                _ => pending_input.clear(),
            }
        }
        if close_stdin_when_written && pending_input.is_empty() && stdin_fd >= 0 {
            sys::close(stdin_fd);
            stdin_fd = -1;
        }
        if fds[3].revents != 0
            && let Some(client) = sys::accept(args.socket_fd)
        {
            clients.push(client);
            hold_output = false;
        }
        for (index, (fd, stream)) in streams.iter_mut().enumerate() {
            if *fd < 0 || hold_output {
                continue;
            }
            if fds[index + 1].revents == 0 {
                if exit_code.is_some() && ready == 0 {
                    close_stream(fd, *stream, &mut log, args.terminal);
                }
                continue;
            }
            let n = sys::read(*fd, &mut buffer[..attach::MAX_DATA]);
            // The terminal's master is non-blocking (it is also the input side).
            if n < 0 && sys::errno() == libc::EAGAIN {
                continue;
            }
            if n <= 0 {
                close_stream(fd, *stream, &mut log, args.terminal);
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
            let packet = match stream {
                Stream::Stdout => Packet::Stdout(chunk),
                Stream::Stderr => Packet::Stderr(chunk),
            };
            clients.retain(|client| {
                let sent = attach::send(*client, &packet);
                if !sent {
                    sys::close(*client);
                }
                sent
            });
        }
        if exit_code.is_none()
            && !hold_output
            && streams.iter().all(|(fd, _)| *fd < 0)
            && (deadline.is_none() || timed_out)
        {
            // Its output closed: wait for the exit (a timeout still to come keeps polling).
            let code = reaper.wait_blocking();
            exit_code = Some(if timed_out { -1 } else { code });
        }
    }
    // Attached clients see the end of the stream: the container is gone.
    for client in clients {
        sys::close(client);
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
    let handed_over = args.sync_fd.is_some_and(|fd| handed_over(fd, code));
    if args.hold_fd >= 0 {
        sys::close(args.hold_fd);
    }
    if handed_over && args.cleanup.is_empty() {
        return code;
    }
    if !args.cleanup.is_empty() {
        let mut command = args.cleanup.clone();
        if handed_over {
            // The `skiff` that cleaned up returns now: nothing of it may wait for us.
            sys::stdio_to_null();
            command.push(crate::sync::EMPTY_TRASH.into());
        } else {
            command.push(code.to_string());
        }
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

/// Tells the starting `skiff`, if it still listens, that the container ended; true when it
/// answers that it cleaned up itself (but for emptying the trash).
fn handed_over(sync_fd: i32, code: i32) -> bool {
    if !sys::write_all(sync_fd, SyncMessage::Ended(code).encode().as_bytes()) {
        return false;
    }
    let mut answer = [0u8; 16];
    sys::wait_readable(sync_fd, HANDOVER_MS)
        && sys::read(sync_fd, &mut answer).try_into().ok() == Some(crate::sync::CLEANED_UP.len())
        && answer.starts_with(crate::sync::CLEANED_UP)
}

fn close_stream(fd: &mut i32, stream: Stream, log: &mut Option<LogWriter>, terminal: bool) {
    if let Some(log) = log.as_mut() {
        log.finish(stream);
    }
    // The terminal's master is also the input side: it stays open until the monitor exits.
    if !terminal {
        sys::close(*fd);
    }
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
            log_size_max: 4096,
            timeout_seconds: 10,
            exit: "/e".into(),
            stdout_fd: 5,
            stderr_fd: 6,
            stdin_fd: 7,
            terminal: true,
            socket_fd: 8,
            hold_fd: 9,
            wait_client: true,
            sync_fd: Some(3),
            utc_offset_seconds: -3600,
            attach: true,
            health_interval_ms: 1000,
            health: vec!["/bin/skiff".into(), "healthcheck".into()],
            cleanup: vec!["/bin/skiff".into(), "__cleanup".into()],
        };
        assert_eq!(MonitorArgs::parse(&args.to_args()).unwrap(), args);
        assert!(MonitorArgs::parse(&["--pid".into()]).is_err());
        assert!(MonitorArgs::parse(&["--bogus".into()]).is_err());
    }
}
