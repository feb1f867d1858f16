//! Unix sockets by path, whatever the path's length: a socket address holds at most 107 bytes,
//! and a container's runtime directory under a long `--runroot` is longer. The directory is
//! opened first and the socket named through `/proc/self/fd/N/NAME`.
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, UnixAddr, accept4, bind, connect, listen, socket,
};

fn short_address(path: &Path) -> std::io::Result<(File, UnixAddr)> {
    let directory = path.parent().unwrap_or(Path::new("/"));
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other(format!("{}: not a socket path", path.display())))?;
    let handle = File::open(directory)?;
    let address =
        UnixAddr::new(&Path::new(&format!("/proc/self/fd/{}", handle.as_raw_fd())).join(name))?;
    Ok((handle, address))
}

/// A listening socket at `path` (a stale file there is replaced).
pub fn listen_at(path: &Path, kind: SockType) -> std::io::Result<OwnedFd> {
    let (_directory, address) = short_address(path)?;
    let _ = std::fs::remove_file(path);
    let fd = socket(AddressFamily::Unix, kind, SockFlag::SOCK_CLOEXEC, None)?;
    bind(fd.as_raw_fd(), &address)?;
    listen(&fd, Backlog::new(16).unwrap_or(Backlog::MAXCONN))?;
    Ok(fd)
}

/// A connection to the socket at `path`.
pub fn connect_to(path: &Path, kind: SockType) -> std::io::Result<OwnedFd> {
    let (_directory, address) = short_address(path)?;
    let fd = socket(AddressFamily::Unix, kind, SockFlag::SOCK_CLOEXEC, None)?;
    connect(fd.as_raw_fd(), &address)?;
    Ok(fd)
}

/// The terminal master an OCI runtime sends to its console socket, waiting at most `timeout`
/// for the runtime to connect.
pub fn receive_terminal(listener: &OwnedFd, timeout: Duration) -> std::io::Result<OwnedFd> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::{AsFd, FromRawFd};
    let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
    let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    if poll(&mut fds, PollTimeout::from(millis))? == 0 {
        return Err(std::io::Error::other(
            "the runtime did not send the container's terminal",
        ));
    }
    let connection = accept4(listener.as_raw_fd(), SockFlag::SOCK_CLOEXEC)?;
    // SAFETY: accept4 returned a new descriptor that nothing else owns.
    #[allow(unsafe_code)]
    let connection = unsafe { OwnedFd::from_raw_fd(connection) };
    crate::exec::receive_fd(connection.as_raw_fd())
        .ok_or_else(|| std::io::Error::other("the runtime sent no terminal descriptor"))
}
