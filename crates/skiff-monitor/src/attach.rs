//! The attach protocol between the monitor and any number of `skiff attach` / `skiff run -it`
//! clients: a SOCK_SEQPACKET unix socket (`attach` in the container's runtime directory), one
//! packet a message, the first byte its kind:
//!   0 stdin data (client → monitor)      1 stdout data, 2 stderr data (monitor → client)
//!   3 resize: rows, columns as u16 big-endian (client → monitor)
//!   4 close stdin (client → monitor)
//! The monitor closes every client once the container has exited and its output is drained.
use alloc::vec::Vec;

/// The largest payload of one packet.
pub const MAX_DATA: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    Stdin(&'a [u8]),
    Stdout(&'a [u8]),
    Stderr(&'a [u8]),
    Resize { rows: u16, columns: u16 },
    CloseStdin,
}

impl<'a> Packet<'a> {
    pub fn encode(&self) -> Vec<u8> {
        let (kind, data): (u8, &[u8]) = match self {
            Packet::Stdin(data) => (0, data),
            Packet::Stdout(data) => (1, data),
            Packet::Stderr(data) => (2, data),
            Packet::Resize { rows, columns } => {
                let mut out = alloc::vec![3];
                out.extend_from_slice(&rows.to_be_bytes());
                out.extend_from_slice(&columns.to_be_bytes());
                return out;
            }
            Packet::CloseStdin => (4, &[]),
        };
        let mut out = Vec::with_capacity(data.len() + 1);
        out.push(kind);
        out.extend_from_slice(data);
        out
    }

    pub fn decode(packet: &'a [u8]) -> Option<Self> {
        let (kind, data) = packet.split_first()?;
        Some(match kind {
            0 => Packet::Stdin(data),
            1 => Packet::Stdout(data),
            2 => Packet::Stderr(data),
            3 if data.len() == 4 => Packet::Resize {
                rows: u16::from_be_bytes([data[0], data[1]]),
                columns: u16::from_be_bytes([data[2], data[3]]),
            },
            4 => Packet::CloseStdin,
            _ => return None,
        })
    }
}

/// Sets a terminal's window size (the foreground process group gets SIGWINCH).
pub fn set_window_size(fd: i32, rows: u16, columns: u16) {
    let size = libc::winsize {
        ws_row: rows,
        ws_col: columns,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads the winsize given.
    #[allow(unsafe_code)]
    unsafe {
        libc::ioctl(fd, libc::TIOCSWINSZ, &size);
    }
}

/// Sends one packet; false if the peer is gone.
pub fn send(fd: i32, packet: &Packet<'_>) -> bool {
    let bytes = packet.encode();
    loop {
        // SAFETY: sending from a valid slice; MSG_NOSIGNAL instead of SIGPIPE.
        #[allow(unsafe_code)]
        let n = unsafe { libc::send(fd, bytes.as_ptr().cast(), bytes.len(), libc::MSG_NOSIGNAL) };
        if n >= 0 {
            return true;
        }
        if crate::sys::errno() != libc::EINTR {
            return false;
        }
    }
}

/// Receives one packet into `buffer` (at least MAX_DATA + 1 bytes); None at end or on error.
/// An unknown kind reads as an empty stdout packet.
pub fn receive(fd: i32, buffer: &mut [u8]) -> Option<Packet<'_>> {
    let n = loop {
        // SAFETY: receiving into a valid, writable slice.
        #[allow(unsafe_code)]
        let n = unsafe { libc::recv(fd, buffer.as_mut_ptr().cast(), buffer.len(), 0) };
        if n >= 0 || crate::sys::errno() != libc::EINTR {
            break n;
        }
    };
    if n <= 0 {
        return None;
    }
    Some(Packet::decode(&buffer[..n as usize]).unwrap_or(Packet::Stdout(&[])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_round_trip() {
        for packet in [
            Packet::Stdin(b"ls\n"),
            Packet::Stdout(b"bin"),
            Packet::Stderr(b""),
            Packet::Resize {
                rows: 50,
                columns: 300,
            },
            Packet::CloseStdin,
        ] {
            assert_eq!(Packet::decode(&packet.encode()), Some(packet));
        }
        assert_eq!(Packet::decode(&[9, 1]), None);
        assert_eq!(Packet::decode(&[]), None);
    }
}
