//! A container's network namespace wired to its bridge networks, made before the runtime runs
//! (the runtime joins it by path) and undone after the container exits. The caller must be
//! single-threaded: it briefly enters the new namespace itself.
use std::fs::{self, File};
use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;

use nix::sched::{CloneFlags, setns, unshare};
use skiff_spec::{NetworkAttachment, PortMapping};

use crate::config::Network;
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
    pub attached: Vec<Attached>,
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
    let mut attached = Vec::new();
    for (index, request) in networks.iter().enumerate() {
        let network = store.get(&request.network)?;
        let (subnet, gateway) = network.subnet()?;
        let wanted = request
            .ip
            .as_deref()
            .map(|ip| {
                ip.parse::<Ipv4Addr>().map_err(|_| {
                    NetworkError::AddressOutside(
                        ip.into(),
                        subnet.to_string(),
                        network.name.clone(),
                    )
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
        attached.push(Attached {
            interface: format!("eth{index}"),
            network,
            address,
            prefix: subnet.prefix,
            gateway,
            mac,
        });
    }
    Ok(attached)
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
    let host_namespace =
        File::open("/proc/self/ns/net").map_err(system("open /proc/self/ns/net"))?;
    unshare(CloneFlags::CLONE_NEWNET).map_err(|e| NetworkError::System {
        action: "new network namespace".into(),
        source: e.into(),
    })?;
    let inside = (|| -> Result<OwnedFd, NetworkError> {
        let fd: OwnedFd = File::open("/proc/self/ns/net")
            .map_err(system("open the new network namespace"))?
            .into();
        let local = Netlink::open().map_err(system("netlink socket"))?;
        local.set_up(1).map_err(system("set lo up"))?;
        for (attachment, bridge) in attached.iter().zip(&bridges) {
            let host_name = veth_name(container, &attachment.interface);
            host.create_veth(
                &host_name,
                *bridge,
                &attachment.interface,
                &fd,
                Some(attachment.mac),
            )
            .map_err(system(format!("create veth {host_name}")))?;
            let index = link_index(&attachment.interface).ok_or_else(|| NetworkError::System {
                action: format!("find {}", attachment.interface),
                source: std::io::ErrorKind::NotFound.into(),
            })?;
            local
                .add_address(index, attachment.address, attachment.prefix)
                .map_err(system(format!("address {}", attachment.address)))?;
            local
                .set_up(index)
                .map_err(system(format!("set {} up", attachment.interface)))?;
        }
        // Internal networks lead nowhere: no default route through them.
        if let Some(primary) = attached.iter().find(|a| !a.network.internal) {
            local
                .add_default_route(primary.gateway)
                .map_err(system("default route"))?;
        }
        Ok(fd)
    })();
    // Back to the host's namespace whatever happened inside.
    setns(&host_namespace, CloneFlags::CLONE_NEWNET).map_err(|e| NetworkError::System {
        action: "return to the host network namespace".into(),
        source: e.into(),
    })?;
    let fd = inside?;
    if !ports.is_empty()
        && let Some(primary) = attached.first()
    {
        firewall::apply_ports(container, primary.address, ports)?;
    }
    Ok(Namespace { fd, attached })
}

/// The bridge of a network, made (with its address, NAT rules and forwarding) if missing.
fn ensure_bridge(host: &Netlink, attachment: &Attached) -> Result<u32, NetworkError> {
    let name = &attachment.network.network_interface;
    if let Some(index) = link_index(name) {
        return Ok(index);
    }
    match host.create_bridge(name) {
        Ok(()) => {}
        // Another container's start made it meanwhile.
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
        Err(e) => return Err(system(format!("create bridge {name}"))(e)),
    }
    let index = link_index(name).ok_or_else(|| NetworkError::System {
        action: format!("find bridge {name}"),
        source: std::io::ErrorKind::NotFound.into(),
    })?;
    match host.add_address(index, attachment.gateway, attachment.prefix) {
        Err(e) if e.raw_os_error() != Some(libc::EEXIST) => {
            return Err(system(format!("address {} on {name}", attachment.gateway))(
                e,
            ));
        }
        _ => {}
    }
    host.set_up(index)
        .map_err(system(format!("set {name} up")))?;
    if !attachment.network.internal {
        write_sysctl("/proc/sys/net/ipv4/ip_forward", "1")?;
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
        assert_ne!(veth_name("abc", "eth0"), veth_name("abc", "eth1"));
        assert_eq!(
            parse_mac("02:42:0a:58:00:05").unwrap(),
            [2, 0x42, 10, 0x58, 0, 5]
        );
        assert!(parse_mac("02:42").is_err());
        assert_eq!(format_mac(&[2, 0x42, 10, 0x58, 0, 5]), "02:42:0a:58:00:05");
    }
}
