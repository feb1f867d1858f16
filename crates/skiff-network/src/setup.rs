//! A container's network namespace wired to its bridge networks, made before the runtime runs
//! (the runtime joins it by path) and undone after the container exits. The caller must be
//! single-threaded: it briefly enters the new namespace itself.
use std::fs::{self, File};
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::OwnedFd;

use nix::sched::{CloneFlags, unshare};
use skiff_spec::{NetworkAttachment, PortMapping};

use crate::config::{Address6, Network};
use crate::error::{NetworkError, system};
use crate::firewall;
use crate::netlink::{Netlink, link_index};
use crate::store::NetworkStore;

/// The container's place on one network.
#[derive(Debug, Clone)]
pub struct Attached {
    pub network: Network,
    pub interface: String,
    pub address: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
    /// On a network with IPv6.
    pub ipv6: Option<Address6>,
    pub mac: [u8; 6],
}

impl Attached {
    pub fn mac_text(&self) -> String {
        format_mac(&self.mac)
    }
}

/// A network namespace ready for a container: kept alive by `fd` until the runtime joined it.
pub struct Namespace {
    pub fd: OwnedFd,
    /// A file the namespace is bound onto, where the runtime should join it from (a
    /// rootless runtime may not open another process's /proc/PID/fd).
    pub path: Option<std::path::PathBuf>,
    pub attached: Vec<Attached>,
    /// Resolvers inside the namespace for the container's resolv.conf: its networks' DNS
    /// servers, or a user-mode stack's forwarder; empty for the host's own.
    pub resolvers: Vec<String>,
    /// The container's own address on a user-mode stack (slirp4netns's .100), for its
    /// /etc/hosts.
    pub address: Option<String>,
}

pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn parse_mac(text: &str) -> Result<[u8; 6], NetworkError> {
    let bad =
        || NetworkError::InvalidGateway(format!("{text} (a MAC address like 02:42:0a:58:00:05)"));
    let parts: Vec<u8> = text
        .split(':')
        .map(|p| u8::from_str_radix(p, 16))
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    parts.try_into().map_err(|_| bad())
}

/// The addresses and networks a container would get, leased now (see `release`).
pub fn lease(
    store: &mut NetworkStore,
    container: &str,
    name: &str,
    networks: &[NetworkAttachment],
) -> Result<Vec<Attached>, NetworkError> {
    networks
        .iter()
        .enumerate()
        .map(|(index, request)| lease_one(store, container, name, request, format!("eth{index}")))
        .collect()
}

/// An address of one network leased to the container, for its interface `interface`.
fn lease_one(
    store: &mut NetworkStore,
    container: &str,
    name: &str,
    request: &NetworkAttachment,
    interface: String,
) -> Result<Attached, NetworkError> {
    let network = store.get(&request.network)?;
    let (subnet, gateway) = network.subnet()?;
    let wanted = request
        .ip
        .as_deref()
        .map(|ip| {
            ip.parse::<Ipv4Addr>().map_err(|_| {
                NetworkError::AddressOutside(ip.into(), subnet.to_string(), network.name.clone())
            })
        })
        .transpose()?;
    // What DNS answers for on this network.
    let mut names = vec![
        name.to_string(),
        container[..container.len().min(12)].to_string(),
    ];
    names.extend(request.aliases.iter().cloned());
    let address = store.allocate(&network, container, wanted, &names)?;
    let octets = address.octets();
    let mac = match &request.mac {
        Some(mac) => parse_mac(mac)?,
        // Locally administered, from the address, as Docker does.
        None => [0x02, 0x42, octets[0], octets[1], octets[2], octets[3]],
    };
    Ok(Attached {
        interface,
        ipv6: network.address6(address),
        network,
        address,
        prefix: subnet.prefix,
        gateway,
        mac,
    })
}

/// Makes the namespace: bridges (with their NAT) where missing, one veth pair per network
/// with the container's end born inside the namespace, addresses, routes, port forwards.
pub fn create_namespace(
    container: &str,
    attached: Vec<Attached>,
    ports: &[PortMapping],
) -> Result<Namespace, NetworkError> {
    let host = Netlink::open().map_err(system("netlink socket"))?;
    let mut bridges = Vec::new();
    for attachment in &attached {
        bridges.push(ensure_bridge(&host, attachment)?);
    }
    let fd = new_namespace(|local, fd| {
        for (attachment, bridge) in attached.iter().zip(&bridges) {
            plug(&host, local, fd, container, attachment, *bridge)?;
        }
        // Internal networks lead nowhere: no default route through them.
        if let Some(primary) = attached.iter().find(|a| !a.network.internal) {
            local
                .add_default_route(primary.gateway.into())
                .map_err(system("default route"))?;
            if let Some(ipv6) = &primary.ipv6 {
                local
                    .add_default_route(ipv6.gateway.into())
                    .map_err(system("IPv6 default route"))?;
            }
        }
        Ok(())
    })?;
    if !ports.is_empty()
        && let Some(primary) = attached.first()
    {
        let address6 = primary.ipv6.map(|a| a.address);
        firewall::apply_ports(container, primary.address, address6, ports)?;
    }
    let resolvers = attached
        .iter()
        .filter(|a| a.network.dns_enabled)
        .map(|a| a.gateway.to_string())
        .collect();
    Ok(Namespace {
        fd,
        path: None,
        attached,
        resolvers,
        address: None,
    })
}

/// One veth pair from the bridge into the namespace `fd` (whose netlink socket is `local`),
/// with the container's address, up.
fn plug(
    host: &Netlink,
    local: &Netlink,
    fd: &OwnedFd,
    container: &str,
    attachment: &Attached,
    bridge: u32,
) -> Result<(), NetworkError> {
    let host_name = veth_name(container, &attachment.interface);
    let create = || {
        host.create_veth(
            &host_name,
            bridge,
            &attachment.interface,
            fd,
            Some(attachment.mac),
        )
    };
    // The container's previous namespace may still be being torn down by the kernel (it
    // does that asynchronously), with a veth of this name in it: it goes, or is waited for.
    let mut created = create();
    for _ in 0..100 {
        match &created {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                if let Some(stale) = link_index(&host_name) {
                    let _ = host.delete_link(stale);
                } else {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                created = create();
            }
            _ => break,
        }
    }
    created.map_err(system(format!("create veth {host_name}")))?;
    let index = link_index(&attachment.interface).ok_or_else(|| NetworkError::System {
        action: format!("find {}", attachment.interface),
        source: std::io::ErrorKind::NotFound.into(),
    })?;
    local
        .add_address(index, attachment.address.into(), attachment.prefix)
        .map_err(system(format!("address {}", attachment.address)))?;
    if let Some(ipv6) = &attachment.ipv6 {
        local
            .add_address(index, ipv6.address.into(), ipv6.prefix)
            .map_err(system(format!("address {}", ipv6.address)))?;
    }
    local
        .set_up(index)
        .map_err(system(format!("set {} up", attachment.interface)))
}

/// Joins a running container (its network namespace at `netns`) to one more network, on the
/// first free `ethN`.
pub fn connect(
    store: &mut NetworkStore,
    container: &str,
    name: &str,
    request: &NetworkAttachment,
    netns: &std::path::Path,
) -> Result<Attached, NetworkError> {
    let namespace: OwnedFd = File::open(netns)
        .map_err(system(format!("open {}", netns.display())))?
        .into();
    let interface = in_namespace(&namespace, |_| {
        Ok((0..)
            .map(|n| format!("eth{n}"))
            .find(|name| link_index(name).is_none())
            .unwrap_or_default())
    })?;
    let attached = lease_one(store, container, name, request, interface)?;
    let plugged = Netlink::open()
        .map_err(system("netlink socket"))
        .and_then(|host| {
            let bridge = ensure_bridge(&host, &attached)?;
            in_namespace(&namespace, |local| {
                plug(&host, local, &namespace, container, &attached, bridge)
            })
        });
    match plugged {
        Ok(()) => Ok(attached),
        Err(e) => {
            let _ = store.release_network(container, &attached.network.name);
            Err(e)
        }
    }
}

/// Takes a running container (its network namespace at `netns`) off one network: the veth to
/// that network's bridge goes (with its end in the container), and the lease is given back.
/// The container's interface on the network is the one its subnet's route goes out of (sysfs
/// would show the namespace it was mounted in, not the caller's).
pub fn disconnect(
    store: &mut NetworkStore,
    container: &str,
    network: &Network,
    netns: &std::path::Path,
) -> Result<(), NetworkError> {
    let (subnet, _) = network.subnet()?;
    let namespace: OwnedFd = File::open(netns)
        .map_err(system(format!("open {}", netns.display())))?
        .into();
    let interface = in_namespace(&namespace, |_| {
        let routes = fs::read_to_string("/proc/thread-self/net/route")
            .map_err(system("read the container's routes"))?;
        Ok(interface_of(&routes, subnet.network, subnet.prefix))
    })?;
    let unplugged = match interface
        .map(|interface| veth_name(container, &interface))
        .and_then(|veth| link_index(&veth).map(|index| (veth, index)))
    {
        Some((veth, index)) => Netlink::open()
            .and_then(|nl| nl.delete_link(index))
            .map_err(system(format!("delete {veth}"))),
        None => Ok(()),
    };
    let released = store.release_network(container, &network.name);
    unplugged.and(released)
}

/// The interface of the route to `network`/`prefix` in /proc/net/route's text (addresses in
/// hexadecimal, in the kernel's byte order).
fn interface_of(routes: &str, network: std::net::Ipv4Addr, prefix: u8) -> Option<String> {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    let hex = |value: u32| format!("{value:08X}");
    let (destination, mask) = (
        hex(u32::from_le_bytes(network.octets())),
        hex(u32::from_le_bytes(mask.to_be_bytes())),
    );
    routes.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&destination.as_str()) && fields.get(7) == Some(&mask.as_str()))
            .then(|| fields[0].to_string())
    })
}

/// Runs `work` on a thread inside the namespace `fd`, with a netlink socket of it.
fn in_namespace<T: Send>(
    fd: &OwnedFd,
    work: impl FnOnce(&Netlink) -> Result<T, NetworkError> + Send,
) -> Result<T, NetworkError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                nix::sched::setns(fd, CloneFlags::CLONE_NEWNET).map_err(|e| {
                    NetworkError::System {
                        action: "enter the container's network namespace".into(),
                        source: e.into(),
                    }
                })?;
                let local = Netlink::open().map_err(system("netlink socket"))?;
                work(&local)
            })
            .join()
            .unwrap_or_else(|_| Err(thread_panicked()))
    })
}

fn thread_panicked() -> NetworkError {
    NetworkError::System {
        action: "configure a network namespace".into(),
        source: std::io::Error::other("the thread panicked"),
    }
}

/// A new network namespace with loopback up, configured by `configure` from inside it (a
/// netlink socket of the namespace and its descriptor). The work happens on a thread of its
/// own, which ends inside the namespace: a rootless caller could not `setns` back to the
/// host's namespace (its user namespace does not own it), and the caller's threads never
/// leave theirs.
pub(crate) fn new_namespace(
    configure: impl FnOnce(&Netlink, &OwnedFd) -> Result<(), NetworkError> + Send,
) -> Result<OwnedFd, NetworkError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                unshare(CloneFlags::CLONE_NEWNET).map_err(|e| NetworkError::System {
                    action: "new network namespace".into(),
                    source: e.into(),
                })?;
                let fd: OwnedFd = File::open("/proc/thread-self/ns/net")
                    .map_err(system("open the new network namespace"))?
                    .into();
                let local = Netlink::open().map_err(system("netlink socket"))?;
                local.set_up(1).map_err(system("set lo up"))?;
                configure(&local, &fd)?;
                Ok(fd)
            })
            .join()
            .unwrap_or_else(|_| Err(thread_panicked()))
    })
}

/// The bridge of a network, made (with its address, NAT rules and forwarding) if missing.
fn ensure_bridge(host: &Netlink, attachment: &Attached) -> Result<u32, NetworkError> {
    let name = &attachment.network.network_interface;
    if let Some(index) = link_index(name) {
        return Ok(index);
    }
    match host.create_bridge(name, bridge_mac(name)) {
        Ok(()) => {}
        // Another container's start made it meanwhile.
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
        Err(e) => return Err(system(format!("create bridge {name}"))(e)),
    }
    let index = link_index(name).ok_or_else(|| NetworkError::System {
        action: format!("find bridge {name}"),
        source: std::io::ErrorKind::NotFound.into(),
    })?;
    let mut gateways = vec![(IpAddr::from(attachment.gateway), attachment.prefix)];
    if let Some(ipv6) = &attachment.ipv6 {
        write_sysctl(&format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "0")?;
        gateways.push((ipv6.gateway.into(), ipv6.prefix));
    }
    for (gateway, prefix) in gateways {
        match host.add_address(index, gateway, prefix) {
            Err(e) if e.raw_os_error() != Some(libc::EEXIST) => {
                return Err(system(format!("address {gateway} on {name}"))(e));
            }
            _ => {}
        }
    }
    host.set_up(index)
        .map_err(system(format!("set {name} up")))?;
    if !attachment.network.internal {
        write_sysctl("/proc/sys/net/ipv4/ip_forward", "1")?;
        if attachment.ipv6.is_some() {
            write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1")?;
        }
    }
    // Published ports reached through 127.0.0.1 are routed out of the bridge.
    write_sysctl(
        &format!("/proc/sys/net/ipv4/conf/{name}/route_localnet"),
        "1",
    )?;
    firewall::apply_network(&attachment.network)?;
    Ok(index)
}

fn write_sysctl(path: &str, value: &str) -> Result<(), NetworkError> {
    if fs::read_to_string(path).is_ok_and(|v| v.trim() == value) {
        return Ok(());
    }
    fs::write(path, value).map_err(system(format!("write {path}")))
}

/// A bridge's own MAC address: locally administered, from its name.
fn bridge_mac(name: &str) -> [u8; 6] {
    let digest = skiff_storage::hex_digest(name.as_bytes());
    let hex = digest.trim_start_matches("sha256:");
    let mut mac = [0u8; 6];
    for (i, byte) in mac.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap_or(0);
    }
    mac[0] = (mac[0] & 0xfe) | 0x02;
    mac
}

/// The host end of a container's veth: `veth` and 8 hex digits from the container and interface.
fn veth_name(container: &str, interface: &str) -> String {
    let digest = skiff_storage::hex_digest(format!("{container}/{interface}").as_bytes());
    format!("veth{}", &digest.trim_start_matches("sha256:")[..8])
}

/// Undoes what a container's start made: port forwards and address leases. The veth pairs
/// went with the namespace. Every step is tried; the first error is returned.
pub fn release(
    store: &mut NetworkStore,
    container: &str,
    had_ports: bool,
) -> Result<(), NetworkError> {
    let ports = if had_ports {
        firewall::remove_ports(container)
    } else {
        Ok(())
    };
    let leases = store.release(container);
    ports.and(leases)
}

/// Removes a network's bridge and rules (its config is the store's).
pub fn remove_bridge(network: &Network) -> Result<(), NetworkError> {
    let rules = firewall::remove_network(network);
    let link = match link_index(&network.network_interface) {
        Some(index) => Netlink::open()
            .and_then(|nl| nl.delete_link(index))
            .map_err(system(format!(
                "delete bridge {}",
                network.network_interface
            ))),
        None => Ok(()),
    };
    rules.and(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_macs() {
        assert_eq!(veth_name("abc", "eth0").len(), 12);
        let mac = bridge_mac("podman0");
        assert_eq!(mac[0] & 0x03, 0x02, "unicast, locally administered");
        assert_eq!(mac, bridge_mac("podman0"));
        assert_ne!(mac, bridge_mac("podman1"));
        assert_ne!(veth_name("abc", "eth0"), veth_name("abc", "eth1"));
        assert_eq!(
            parse_mac("02:42:0a:58:00:05").unwrap(),
            [2, 0x42, 10, 0x58, 0, 5]
        );
        assert!(parse_mac("02:42").is_err());
        let routes = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n\
                      eth0\t00000000\t0100590A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                      eth0\t0000590A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
                      eth1\t00005A0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        assert_eq!(
            interface_of(routes, "10.90.0.0".parse().unwrap(), 24).as_deref(),
            Some("eth1")
        );
        assert_eq!(
            interface_of(routes, "10.89.0.0".parse().unwrap(), 24).as_deref(),
            Some("eth0")
        );
        assert_eq!(interface_of(routes, "10.91.0.0".parse().unwrap(), 24), None);
        assert_eq!(format_mac(&[2, 0x42, 10, 0x58, 0, 5]), "02:42:0a:58:00:05");
    }
}
