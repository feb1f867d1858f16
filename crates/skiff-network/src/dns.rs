//! Name resolution between containers, as Podman's aardvark-dns does it: one small server
//! process for the host, listening on the gateway address of each network with DNS enabled.
//! A container's name, short ID or alias answers with its address on *that* network (nothing
//! across networks); other names go to the host's resolvers. The server reads the leases at
//! each query (no reload), and leaves when no container has used DNS for a few seconds.
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::netlink::link_index;
use crate::store::NetworkStore;

/// Container names answer under this domain too (`db.dns.podman`), as with Podman.
pub const SEARCH_DOMAIN: &str = "dns.podman";
const IDLE_EXIT: Duration = Duration::from_secs(3);
const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const TYPE_ANY: u16 = 255;

/// One question of a query.
#[derive(Debug, PartialEq)]
struct Question {
    name: String,
    kind: u16,
    /// Where the question ends in the packet.
    end: usize,
}

fn parse_question(packet: &[u8]) -> Option<Question> {
    if packet.len() < 12 || u16::from_be_bytes([packet[4], packet[5]]) != 1 {
        return None;
    }
    let mut labels = Vec::new();
    let mut offset = 12;
    loop {
        let len = *packet.get(offset)? as usize;
        offset += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        labels
            .push(String::from_utf8_lossy(packet.get(offset..offset + len)?).to_ascii_lowercase());
        offset += len;
    }
    let kind = u16::from_be_bytes([*packet.get(offset)?, *packet.get(offset + 1)?]);
    Some(Question {
        name: labels.join("."),
        kind,
        end: offset + 4,
    })
}

/// The reply to `query` with these A and AAAA records (none: an empty answer, or NXDOMAIN).
fn reply(query: &[u8], question: &Question, addresses: &[IpAddr], nxdomain: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(question.end + 16 * addresses.len());
    out.extend_from_slice(&query[0..2]);
    // QR, the query's opcode and RD, RA; rcode 3 for a name that does not exist.
    let flags =
        0x8080 | (u16::from_be_bytes([query[2], query[3]]) & 0x7900) | (u16::from(nxdomain) * 3);
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&(addresses.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&query[12..question.end]);
    for address in addresses {
        let (kind, data) = match address {
            IpAddr::V4(a) => (TYPE_A, a.octets().to_vec()),
            IpAddr::V6(a) => (TYPE_AAAA, a.octets().to_vec()),
        };
        // A pointer to the question's name, the type, class IN, a TTL of 60 s, the address.
        out.extend_from_slice(&[0xc0, 0x0c]);
        out.extend_from_slice(&kind.to_be_bytes());
        out.extend_from_slice(&[0, 1]);
        out.extend_from_slice(&60u32.to_be_bytes());
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(&data);
    }
    out
}

/// The container name a question asks for, if it can be one (`db`, `db.dns.podman`).
fn container_name(question: &str) -> Option<&str> {
    let name = question
        .strip_suffix(&format!(".{SEARCH_DOMAIN}"))
        .unwrap_or(question);
    (!name.is_empty() && !name.contains('.')).then_some(name)
}

/// The resolvers in `resolv_conf` (the host's, or the rootless network namespace's), for
/// everything that is not a container.
fn upstreams(resolv_conf: &Path) -> Vec<SocketAddr> {
    std::fs::read_to_string(resolv_conf)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

/// Runs the server until it is idle. Returns at once if another server holds `lock`.
pub fn serve(root: &Path, lock: &Path, resolv_conf: &Path) -> std::io::Result<()> {
    let Some(_lock) = skiff_storage::lock::FileLock::try_exclusive(lock)? else {
        return Ok(());
    };
    let store = NetworkStore::open(root).map_err(std::io::Error::other)?;
    let mut sockets: HashMap<String, UdpSocket> = HashMap::new();
    let mut last_busy = Instant::now();
    let upstream = upstreams(resolv_conf);
    // `rescan` asks here to listen on networks made since, and waits for the answer.
    let control = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    control.set_nonblocking(true)?;
    let port_file = control_port_file(lock);
    let partial = port_file.with_extension("port.tmp");
    std::fs::write(&partial, control.local_addr()?.port().to_string())?;
    std::fs::rename(&partial, &port_file)?;
    let mut waiting: Vec<SocketAddr> = Vec::new();
    loop {
        // Networks whose bridge came up since: listen on their gateway.
        let networks = store.list().map_err(std::io::Error::other)?;
        for network in networks.iter().filter(|n| n.dns_enabled) {
            if sockets.contains_key(&network.name)
                || link_index(&network.network_interface).is_none()
            {
                continue;
            }
            if let Ok((_, gateway)) = network.subnet()
                && let Ok(socket) = UdpSocket::bind((gateway, 53))
            {
                sockets.insert(network.name.clone(), socket);
            }
        }
        for client in waiting.drain(..) {
            let _ = control.send_to(b"ok", client);
        }
        let leased = networks
            .iter()
            .filter(|n| n.dns_enabled)
            .any(|n| store.has_leases(&n.name).unwrap_or(false));
        if leased {
            last_busy = Instant::now();
        } else if last_busy.elapsed() > IDLE_EXIT {
            let _ = std::fs::remove_file(&port_file);
            return Ok(());
        }
        let names: Vec<&String> = sockets.keys().collect();
        let mut fds: Vec<PollFd> = names
            .iter()
            .map(|n| PollFd::new(sockets[*n].as_fd(), PollFlags::POLLIN))
            .collect();
        fds.push(PollFd::new(control.as_fd(), PollFlags::POLLIN));
        let ready = poll(&mut fds, PollTimeout::from(500u16)).unwrap_or(0);
        if ready <= 0 {
            continue;
        }
        let mut buffer = [0u8; 16];
        while let Ok((_, client)) = control.recv_from(&mut buffer) {
            waiting.push(client);
        }
        if !waiting.is_empty() {
            continue;
        }
        let readable: Vec<String> = fds
            .iter()
            .zip(&names)
            .filter(|(fd, _)| fd.revents().is_some_and(|r| r.contains(PollFlags::POLLIN)))
            .map(|(_, n)| (*n).clone())
            .collect();
        for network in readable {
            let socket = &sockets[&network];
            let mut buffer = [0u8; 1500];
            let Ok((n, client)) = socket.recv_from(&mut buffer) else {
                continue;
            };
            let query = &buffer[..n];
            let Some(question) = parse_question(query) else {
                continue;
            };
            let found = container_name(&question.name)
                .map(|name| {
                    store
                        .resolve_for(&network, client.ip(), name)
                        .unwrap_or_default()
                })
                .unwrap_or_default();
            if !found.is_empty() {
                let ipv6 = || {
                    found
                        .iter()
                        .filter_map(|(on, a)| networks.iter().find(|n| n.name == *on)?.address6(*a))
                        .map(|a| IpAddr::V6(a.address))
                };
                let addresses: Vec<IpAddr> = match question.kind {
                    TYPE_A => found.iter().map(|(_, a)| IpAddr::V4(*a)).collect(),
                    TYPE_AAAA => ipv6().collect(),
                    TYPE_ANY => found
                        .iter()
                        .map(|(_, a)| IpAddr::V4(*a))
                        .chain(ipv6())
                        .collect(),
                    _ => Vec::new(),
                };
                let _ = socket.send_to(&reply(query, &question, &addresses, false), client);
            } else if question.name.ends_with(SEARCH_DOMAIN) {
                let _ = socket.send_to(&reply(query, &question, &[], true), client);
            } else if let Ok(answer) = socket.try_clone() {
                // Forwarded on a thread of its own: a slow resolver holds up nobody.
                let query = query.to_vec();
                let upstream = upstream.clone();
                std::thread::spawn(move || forward(&answer, &query, client, &upstream));
            }
        }
    }
}

/// Where the running server keeps its control port.
fn control_port_file(lock: &Path) -> std::path::PathBuf {
    lock.with_extension("port")
}

/// Asks the running server (the holder of `lock`) to listen on every network's gateway now,
/// and waits until it has. False when no server answers.
pub fn rescan(lock: &Path) -> bool {
    let Some(port) = std::fs::read_to_string(control_port_file(lock))
        .ok()
        .and_then(|p| p.trim().parse::<u16>().ok())
    else {
        return false;
    };
    let Ok(socket) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)) else {
        return false;
    };
    // Connected, so a port nobody holds any more (a server that has left) fails at once.
    let _ = socket.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buffer = [0u8; 16];
    socket.connect((Ipv4Addr::LOCALHOST, port)).is_ok()
        && socket.send(b"rescan").is_ok()
        && socket.recv(&mut buffer).is_ok()
}

fn forward(answer: &UdpSocket, query: &[u8], client: SocketAddr, upstream: &[SocketAddr]) {
    for server in upstream {
        let Ok(socket) = UdpSocket::bind(if server.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        }) else {
            continue;
        };
        let _ = socket.set_read_timeout(Some(Duration::from_secs(2)));
        if socket.send_to(query, server).is_err() {
            continue;
        }
        let mut buffer = [0u8; 4096];
        if let Ok((n, _)) = socket.recv_from(&mut buffer) {
            let _ = answer.send_to(&buffer[..n], client);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, kind: u16) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&kind.to_be_bytes());
        q.extend_from_slice(&1u16.to_be_bytes());
        q
    }

    #[test]
    fn questions_and_answers_in_wire_format() {
        let packet = query("Web.dns.podman", 1);
        let question = parse_question(&packet).unwrap();
        assert_eq!(question.name, "web.dns.podman");
        assert_eq!(container_name(&question.name), Some("web"));
        assert_eq!(container_name("example.org"), None);
        let answer = reply(
            &packet,
            &question,
            &[IpAddr::V4(Ipv4Addr::new(10, 89, 0, 2))],
            false,
        );
        assert_eq!(&answer[0..2], &[0x12, 0x34]);
        assert_eq!(answer[3] & 0x0f, 0, "NOERROR");
        assert_eq!(u16::from_be_bytes([answer[6], answer[7]]), 1);
        assert_eq!(&answer[answer.len() - 4..], &[10, 89, 0, 2]);
        let packet6 = query("web", TYPE_AAAA);
        let question6 = parse_question(&packet6).unwrap();
        let six: std::net::Ipv6Addr = "fd00::2".parse().unwrap();
        let answer6 = reply(&packet6, &question6, &[IpAddr::V6(six)], false);
        assert_eq!(&answer6[answer6.len() - 16..], &six.octets());
        let record_type = answer6.len() - 16 - 10;
        assert_eq!(
            &answer6[record_type..record_type + 2],
            &TYPE_AAAA.to_be_bytes()
        );
        let missing = reply(&packet, &question, &[], true);
        assert_eq!(missing[3] & 0x0f, 3, "NXDOMAIN");
        assert!(parse_question(&packet[..5]).is_none());
    }
}
