//! The user's side of an interactive container: this process's stdin and stdout joined to a
//! container's terminal (the master end of an exec'd pty) or to its monitor's attach socket,
//! with the local terminal in raw mode, window size changes passed on, and the detach keys.
//! The window size is the local terminal's, or what a caller of the action helper sends
//! (`crate::action`) when the streams are sockets and the terminal is elsewhere.
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg, Termios};
use skiff_monitor::attach::{self, Packet};

/// The local terminal in raw mode for as long as this lives (nothing when stdin is no tty).
pub(crate) struct RawTerminal {
    saved: Option<Termios>,
}

impl RawTerminal {
    pub(crate) fn enter() -> Self {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok();
        if let Some(saved) = &saved {
            let mut raw = saved.clone();
            termios::cfmakeraw(&mut raw);
            let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        }
        Self { saved }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, saved);
        }
    }
}

/// Where the window size of a proxied terminal comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum WindowSource {
    /// This process's own terminal (stdin): its size at the start and on every SIGWINCH.
    #[default]
    Local,
    /// Resize messages on this control socket (`crate::action::Control`).
    Messages(RawFd),
}

/// What this process is joined to.
pub(crate) enum Peer {
    /// The master end of a pseudo-terminal.
    Terminal(OwnedFd),
    /// A monitor's attach socket (see `skiff_monitor::attach`).
    Monitor(OwnedFd),
}

/// How a proxy session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The container side closed: the process exited.
    Closed,
    /// The user typed the detach keys.
    Detached,
}

/// Forwards the signals a user sends to an attached `skiff run` to the container (sig-proxy).
pub(crate) struct SignalProxy {
    pub(crate) signal_fd: nix::sys::signalfd::SignalFd,
    /// Any signal kills the process instead of reaching it as it is.
    kill: bool,
}

impl SignalProxy {
    pub(crate) fn install() -> Option<Self> {
        let mut set = nix::sys::signal::SigSet::empty();
        for signal in [
            Signal::SIGINT,
            Signal::SIGTERM,
            Signal::SIGHUP,
            Signal::SIGQUIT,
            Signal::SIGUSR1,
            Signal::SIGUSR2,
        ] {
            set.add(signal);
        }
        set.thread_block().ok()?;
        let signal_fd = nix::sys::signalfd::SignalFd::with_flags(
            &set,
            nix::sys::signalfd::SfdFlags::SFD_NONBLOCK | nix::sys::signalfd::SfdFlags::SFD_CLOEXEC,
        )
        .ok()?;
        Some(Self {
            signal_fd,
            kill: false,
        })
    }

    pub(crate) fn killing(mut self, kill: bool) -> Self {
        self.kill = kill;
        self
    }

    pub(crate) fn forward(&self, pid: i32) {
        while let Ok(Some(info)) = self.signal_fd.read_signal() {
            if let Ok(signal) = Signal::try_from(info.ssi_signo as i32) {
                let signal = if self.kill { Signal::SIGKILL } else { signal };
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
            }
        }
    }
}

/// Parses Docker's `--detach-keys` syntax: `ctrl-p,ctrl-q`, `a`, `ctrl-@`; empty disables.
pub fn parse_detach_keys(text: &str) -> Result<Vec<u8>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|key| {
            let bad = || format!("invalid detach keys {text:?}: {key:?} is not a key");
            match key.strip_prefix("ctrl-") {
                Some(rest) if rest.len() == 1 => {
                    let c = rest.as_bytes()[0].to_ascii_uppercase();
                    match c {
                        b'@'..=b'_' => Ok(c - b'@'),
                        _ => Err(bad()),
                    }
                }
                Some(_) => Err(bad()),
                None if key.len() == 1 => Ok(key.as_bytes()[0]),
                None => Err(bad()),
            }
        })
        .collect()
}

/// Copies stdin to the peer and the peer's output to stdout (and stderr) until the peer
/// closes or the detach keys are typed. `forward_stdin` false: only output is copied.
/// `signals`: signals this process receives go to that process.
pub(crate) fn proxy(
    peer: &Peer,
    forward_stdin: bool,
    detach_keys: &[u8],
    signals: Option<(&SignalProxy, i32)>,
    window: WindowSource,
) -> Ending {
    let winch = (window == WindowSource::Local)
        .then(|| {
            let mut winch_set = SigSet::empty();
            winch_set.add(Signal::SIGWINCH);
            let _ = winch_set.thread_block();
            SignalFd::with_flags(&winch_set, SfdFlags::SFD_NONBLOCK).ok()
        })
        .flatten();
    if window == WindowSource::Local {
        send_window_size(peer, window_size(0));
    }
    let mut messages = match window {
        WindowSource::Messages(fd) => Some(ControlLines::new(fd)),
        WindowSource::Local => None,
    };
    let stdin = std::io::stdin();
    let mut stdin_open = forward_stdin;
    let mut matcher = DetachMatcher::new(detach_keys);
    let mut buffer = vec![0u8; 32 * 1024];
    let peer_fd = match peer {
        Peer::Terminal(fd) | Peer::Monitor(fd) => fd.as_fd(),
    };
    loop {
        // What each polled descriptor is, in order.
        let mut sources = vec![Source::Peer];
        let mut fds = vec![PollFd::new(peer_fd, PollFlags::POLLIN)];
        if let Some(winch) = &winch {
            sources.push(Source::Winch);
            fds.push(PollFd::new(winch.as_fd(), PollFlags::POLLIN));
        }
        if let Some(lines) = &messages {
            sources.push(Source::Messages);
            fds.push(PollFd::new(lines.fd(), PollFlags::POLLIN));
        }
        if let Some((proxy, _)) = signals {
            sources.push(Source::Signals);
            fds.push(PollFd::new(proxy.signal_fd.as_fd(), PollFlags::POLLIN));
        }
        if stdin_open {
            sources.push(Source::Stdin);
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::Error::EINTR) => continue,
            Err(_) => return Ending::Closed,
            Ok(_) => {}
        }
        let ready: Vec<Source> = sources
            .into_iter()
            .zip(&fds)
            .filter(|(_, f)| f.revents().is_some_and(|r| !r.is_empty()))
            .map(|(source, _)| source)
            .collect();
        drop(fds);
        for source in ready {
            match source {
                Source::Peer => {
                    if !copy_output(peer, peer_fd, &mut buffer) {
                        return Ending::Closed;
                    }
                }
                Source::Winch => {
                    if let Some(winch) = &winch {
                        while let Ok(Some(_)) = winch.read_signal() {}
                    }
                    send_window_size(peer, window_size(0));
                }
                Source::Messages => {
                    let Some(lines) = &mut messages else { continue };
                    match lines.read() {
                        Some(sizes) => {
                            for size in sizes {
                                send_window_size(peer, Some(size));
                            }
                        }
                        // The caller closed its end: no more resizes, the streams go on.
                        None => messages = None,
                    }
                }
                Source::Signals => {
                    if let Some((proxy, pid)) = signals {
                        proxy.forward(pid);
                    }
                }
                Source::Stdin => match nix::unistd::read(stdin.as_raw_fd(), &mut buffer) {
                    Ok(0) | Err(_) => {
                        stdin_open = false;
                        if let Peer::Monitor(fd) = peer {
                            let _ = attach::send(fd.as_raw_fd(), &Packet::CloseStdin);
                        }
                    }
                    Ok(n) => {
                        let (input, detached) = matcher.feed(&buffer[..n]);
                        write_input(peer, &input);
                        if detached {
                            return Ending::Detached;
                        }
                    }
                },
            }
        }
    }
}

/// A descriptor `proxy` polls.
#[derive(Debug, Clone, Copy)]
enum Source {
    Peer,
    Winch,
    Messages,
    Signals,
    Stdin,
}

/// Resize messages read off a control socket, a line at a time.
struct ControlLines {
    fd: RawFd,
    pending: Vec<u8>,
}

impl ControlLines {
    fn new(fd: RawFd) -> Self {
        Self {
            fd,
            pending: Vec::new(),
        }
    }

    fn fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the action helper keeps its control socket open for the whole action.
        #[allow(unsafe_code)]
        unsafe {
            BorrowedFd::borrow_raw(self.fd)
        }
    }

    /// The window sizes of the complete lines read now; None once the socket is closed.
    fn read(&mut self) -> Option<Vec<(u16, u16)>> {
        let mut chunk = [0u8; 512];
        let n = match nix::unistd::read(self.fd, &mut chunk) {
            Ok(0) => return None,
            Err(nix::Error::EINTR | nix::Error::EAGAIN) => 0,
            Err(_) => return None,
            Ok(n) => n,
        };
        self.pending.extend_from_slice(&chunk[..n]);
        let mut sizes = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            if let Some(size) = crate::action::window_size_of(&line) {
                sizes.push(size);
            }
        }
        Some(sizes)
    }
}

/// One read from the peer to stdout/stderr; false when the peer is done.
fn copy_output(peer: &Peer, peer_fd: BorrowedFd<'_>, buffer: &mut [u8]) -> bool {
    match peer {
        Peer::Terminal(_) => match nix::unistd::read(peer_fd.as_raw_fd(), buffer) {
            // EIO: every process holding the terminal's other end has gone.
            Ok(0) | Err(_) => false,
            Ok(n) => {
                write_all(1, &buffer[..n]);
                true
            }
        },
        Peer::Monitor(_) => match attach::receive(peer_fd.as_raw_fd(), buffer) {
            Some(Packet::Stdout(data)) => {
                write_all(1, data);
                true
            }
            Some(Packet::Stderr(data)) => {
                write_all(2, data);
                true
            }
            Some(_) => true,
            None => false,
        },
    }
}

fn write_input(peer: &Peer, input: &[u8]) {
    if input.is_empty() {
        return;
    }
    match peer {
        Peer::Terminal(fd) => write_all(fd.as_raw_fd(), input),
        Peer::Monitor(fd) => {
            for chunk in input.chunks(attach::MAX_DATA) {
                let _ = attach::send(fd.as_raw_fd(), &Packet::Stdin(chunk));
            }
        }
    }
}

/// A window size (rows, columns), given to the container's terminal.
fn send_window_size(peer: &Peer, size: Option<(u16, u16)>) {
    let Some((rows, columns)) = size else {
        return;
    };
    match peer {
        Peer::Terminal(fd) => attach::set_window_size(fd.as_raw_fd(), rows, columns),
        Peer::Monitor(fd) => {
            let _ = attach::send(fd.as_raw_fd(), &Packet::Resize { rows, columns });
        }
    }
}

fn window_size(fd: i32) -> Option<(u16, u16)> {
    let mut size: libc::winsize = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills the winsize the pointer refers to.
    #[allow(unsafe_code)]
    let ok = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_row > 0).then_some((size.ws_row, size.ws_col))
}

fn write_all(fd: i32, mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: writing from a valid slice to a descriptor this process holds.
        #[allow(unsafe_code)]
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return;
        }
        data = &data[n as usize..];
    }
}

/// Finds the detach sequence in typed input. Bytes that start the sequence are held back until
/// it is clear whether they complete it, then passed on.
struct DetachMatcher<'a> {
    keys: &'a [u8],
    matched: usize,
}

impl<'a> DetachMatcher<'a> {
    fn new(keys: &'a [u8]) -> Self {
        Self { keys, matched: 0 }
    }

    /// The bytes to pass on, and whether the sequence was completed.
    fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        if self.keys.is_empty() {
            return (input.to_vec(), false);
        }
        let mut out = Vec::with_capacity(input.len());
        for byte in input {
            if *byte == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    self.matched = 0;
                    return (out, true);
                }
                continue;
            }
            out.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            if *byte == self.keys[0] {
                self.matched = 1;
            } else {
                out.push(*byte);
            }
        }
        (out, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse_like_docker() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), vec![16, 17]);
        assert_eq!(parse_detach_keys("ctrl-@,a").unwrap(), vec![0, b'a']);
        assert!(parse_detach_keys("").unwrap().is_empty());
        assert!(parse_detach_keys("ctrl-pq").is_err());
        assert!(parse_detach_keys("ctrl-1").is_err());
    }

    #[test]
    fn detach_sequence_is_found_across_reads_and_false_starts_pass_through() {
        let keys = [16u8, 17];
        let mut matcher = DetachMatcher::new(&keys);
        assert_eq!(matcher.feed(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(matcher.feed(b"x"), (b"\x10x".to_vec(), false));
        assert_eq!(matcher.feed(b"\x10\x10"), (b"\x10".to_vec(), false));
        assert_eq!(matcher.feed(b"\x11rest"), (Vec::new(), true));
    }
}
