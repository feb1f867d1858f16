//! Just enough rtnetlink to wire a container to a bridge, in process (no `ip` fork per step):
//! create a bridge, a veth pair whose peer is born inside the container's network namespace,
//! addresses, links up, a default route. A socket works in the network namespace it was
//! opened in, whatever namespace the caller moves to afterwards.
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, send,
    socket,
};

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLMSG_ERROR: u16 = 2;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;
const IFA_F_NODAD: u32 = 0x02;
const RTA_GATEWAY: u16 = 5;
const NLA_F_NESTED: u16 = 0x8000;
const IFF_UP: u32 = 1;

/// A message under construction: header, fixed part, attributes (nested ones by offset).
struct Message {
    bytes: Vec<u8>,
    open: Vec<usize>,
}

impl Message {
    fn new(kind: u16, flags: u16, fixed: &[u8]) -> Self {
        let mut bytes = Vec::with_capacity(256);
        bytes.extend_from_slice(&0u32.to_ne_bytes()); // length, set at the end
        bytes.extend_from_slice(&kind.to_ne_bytes());
        bytes.extend_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        bytes.extend_from_slice(&1u32.to_ne_bytes()); // sequence
        bytes.extend_from_slice(&0u32.to_ne_bytes()); // port: the kernel
        bytes.extend_from_slice(fixed);
        pad(&mut bytes);
        Self {
            bytes,
            open: Vec::new(),
        }
    }

    fn attribute(&mut self, kind: u16, data: &[u8]) -> &mut Self {
        let len = (4 + data.len()) as u16;
        self.bytes.extend_from_slice(&len.to_ne_bytes());
        self.bytes.extend_from_slice(&kind.to_ne_bytes());
        self.bytes.extend_from_slice(data);
        pad(&mut self.bytes);
        self
    }

    fn string(&mut self, kind: u16, text: &str) -> &mut Self {
        let mut data = text.as_bytes().to_vec();
        data.push(0);
        self.attribute(kind, &data)
    }

    fn begin(&mut self, kind: u16) -> &mut Self {
        self.open.push(self.bytes.len());
        self.bytes.extend_from_slice(&0u16.to_ne_bytes());
        self.bytes
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        self
    }

    /// Raw bytes inside the innermost open attribute (a nested ifinfomsg).
    fn raw(&mut self, data: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(data);
        pad(&mut self.bytes);
        self
    }

    fn end(&mut self) -> &mut Self {
        if let Some(start) = self.open.pop() {
            let len = (self.bytes.len() - start) as u16;
            self.bytes[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }

    fn finish(mut self) -> Vec<u8> {
        let len = self.bytes.len() as u32;
        self.bytes[0..4].copy_from_slice(&len.to_ne_bytes());
        self.bytes
    }
}

fn pad(bytes: &mut Vec<u8>) {
    while !bytes.len().is_multiple_of(4) {
        bytes.push(0);
    }
}

/// struct ifinfomsg
fn ifinfomsg(index: i32, flags: u32, change: u32) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[0] = libc::AF_UNSPEC as u8;
    out[4..8].copy_from_slice(&index.to_ne_bytes());
    out[8..12].copy_from_slice(&flags.to_ne_bytes());
    out[12..16].copy_from_slice(&change.to_ne_bytes());
    out
}

/// A route netlink socket in the caller's current network namespace.
pub struct Netlink {
    fd: OwnedFd,
}

impl Netlink {
    pub fn open() -> io::Result<Self> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))?;
        Ok(Self { fd })
    }

    /// Sends one request and waits for the kernel's acknowledgement.
    fn request(&self, message: Message) -> io::Result<()> {
        let bytes = message.finish();
        send(self.fd.as_raw_fd(), &bytes, MsgFlags::empty())?;
        let mut buffer = [0u8; 8192];
        loop {
            let n = recv(self.fd.as_raw_fd(), &mut buffer, MsgFlags::empty())?;
            let mut offset = 0;
            while offset + 16 <= n {
                let len =
                    u32::from_ne_bytes(buffer[offset..offset + 4].try_into().unwrap_or([0; 4]))
                        as usize;
                let kind = u16::from_ne_bytes([buffer[offset + 4], buffer[offset + 5]]);
                if kind == NLMSG_ERROR && offset + 20 <= n {
                    let code = i32::from_ne_bytes(
                        buffer[offset + 16..offset + 20]
                            .try_into()
                            .unwrap_or([0; 4]),
                    );
                    return if code == 0 {
                        Ok(())
                    } else {
                        Err(io::Error::from_raw_os_error(-code))
                    };
                }
                if len == 0 {
                    break;
                }
                offset += len.div_ceil(4) * 4;
            }
        }
    }

    /// Creates a bridge (EEXIST if it is there).
    /// Creates a bridge with a fixed MAC address: a bridge without one takes the lowest of
    /// its ports', so it would change as containers come and go, and the neighbours cached
    /// for the gateway by the others would go stale.
    pub fn create_bridge(&self, name: &str, mac: [u8; 6]) -> io::Result<()> {
        let mut message = Message::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifinfomsg(0, 0, 0));
        message.string(IFLA_IFNAME, name);
        message.attribute(IFLA_ADDRESS, &mac);
        message
            .begin(IFLA_LINKINFO)
            .string(IFLA_INFO_KIND, "bridge")
            .end();
        self.request(message)
    }

    /// Creates a veth pair: `host_name` here, attached to `master` and up; `peer_name` inside
    /// the network namespace `peer_netns`, with `peer_mac` when given.
    pub fn create_veth(
        &self,
        host_name: &str,
        master: u32,
        peer_name: &str,
        peer_netns: impl AsFd,
        peer_mac: Option<[u8; 6]>,
    ) -> io::Result<()> {
        let mut message = Message::new(
            RTM_NEWLINK,
            NLM_F_CREATE | NLM_F_EXCL,
            &ifinfomsg(0, IFF_UP, IFF_UP),
        );
        message.string(IFLA_IFNAME, host_name);
        message.attribute(IFLA_MASTER, &master.to_ne_bytes());
        message.begin(IFLA_LINKINFO).string(IFLA_INFO_KIND, "veth");
        message.begin(IFLA_INFO_DATA).begin(VETH_INFO_PEER);
        message.raw(&ifinfomsg(0, 0, 0));
        message.string(IFLA_IFNAME, peer_name);
        let fd = peer_netns.as_fd().as_raw_fd() as u32;
        message.attribute(IFLA_NET_NS_FD, &fd.to_ne_bytes());
        if let Some(mac) = peer_mac {
            message.attribute(IFLA_ADDRESS, &mac);
        }
        message.end().end().end();
        self.request(message)
    }

    /// Sets a link up.
    pub fn set_up(&self, index: u32) -> io::Result<()> {
        let message = Message::new(RTM_NEWLINK, 0, &ifinfomsg(index as i32, IFF_UP, IFF_UP));
        self.request(message)
    }

    pub fn delete_link(&self, index: u32) -> io::Result<()> {
        let message = Message::new(RTM_DELLINK, 0, &ifinfomsg(index as i32, 0, 0));
        self.request(message)
    }

    /// Adds `address/prefix` to a link (EEXIST if it has it).
    /// An IPv4 or IPv6 address on a link. IPv6 addresses skip duplicate address detection
    /// (the subnet's addresses are leased), so they are usable at once, as netavark does.
    pub fn add_address(&self, index: u32, address: IpAddr, prefix: u8) -> io::Result<()> {
        let mut fixed = [0u8; 8];
        fixed[0] = family(address);
        fixed[1] = prefix;
        fixed[4..8].copy_from_slice(&index.to_ne_bytes());
        let mut message = Message::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &fixed);
        let octets = address_octets(address);
        message.attribute(IFA_LOCAL, &octets);
        message.attribute(IFA_ADDRESS, &octets);
        if address.is_ipv6() {
            message.attribute(IFA_FLAGS, &IFA_F_NODAD.to_ne_bytes());
        }
        self.request(message)
    }

    /// The default route (IPv4 or IPv6, after the gateway's family) through `gateway`.
    pub fn add_default_route(&self, gateway: IpAddr) -> io::Result<()> {
        let mut fixed = [0u8; 12];
        fixed[0] = family(gateway);
        fixed[4] = libc::RT_TABLE_MAIN;
        fixed[5] = libc::RTPROT_BOOT;
        fixed[6] = libc::RT_SCOPE_UNIVERSE;
        fixed[7] = libc::RTN_UNICAST;
        let mut message = Message::new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &fixed);
        message.attribute(RTA_GATEWAY, &address_octets(gateway));
        self.request(message)
    }
}

fn family(address: IpAddr) -> u8 {
    match address {
        IpAddr::V4(_) => libc::AF_INET as u8,
        IpAddr::V6(_) => libc::AF_INET6 as u8,
    }
}

fn address_octets(address: IpAddr) -> Vec<u8> {
    match address {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The index of a link in the caller's network namespace.
pub fn link_index(name: &str) -> Option<u32> {
    let name = std::ffi::CString::new(name).ok()?;
    // SAFETY: a valid NUL-terminated string; the call only reads it.
    #[allow(unsafe_code)]
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_laid_out_as_the_kernel_reads_them() {
        let mut message = Message::new(RTM_NEWLINK, NLM_F_CREATE, &ifinfomsg(0, 0, 0));
        message.string(IFLA_IFNAME, "br0");
        message
            .begin(IFLA_LINKINFO)
            .string(IFLA_INFO_KIND, "bridge")
            .end();
        let bytes = message.finish();
        assert_eq!(
            bytes.len() as u32,
            u32::from_ne_bytes(bytes[0..4].try_into().unwrap())
        );
        assert_eq!(bytes.len() % 4, 0);
        // header 16 + ifinfomsg 16 + "br0\0" attribute 8 + linkinfo (4 + "bridge\0" 12) 16
        assert_eq!(bytes.len(), 56);
        let nested_len = u16::from_ne_bytes([bytes[40], bytes[41]]);
        assert_eq!(nested_len, 16);
    }
}
