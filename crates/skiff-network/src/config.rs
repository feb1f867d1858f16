//! A network's configuration, in netavark's JSON shape (what `network inspect` prints), and the
//! subnets it hands addresses from: IPv4, and IPv6 for networks made with `--ipv6`.
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::error::NetworkError;

/// The network every rootful container joins unless told otherwise, as in Podman.
pub const DEFAULT_NETWORK: &str = "podman";
const DEFAULT_ID: &str = "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub network: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    /// `10.89.0.0/24`; host bits must be zero, as Podman requires.
    pub fn parse(text: &str) -> Result<Self, NetworkError> {
        let bad = || NetworkError::InvalidSubnet(text.to_string());
        let (address, prefix) = text.split_once('/').ok_or_else(bad)?;
        let address: Ipv4Addr = address.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if !(8..=30).contains(&prefix) {
            return Err(bad());
        }
        let subnet = Subnet {
            network: address,
            prefix,
        };
        if u32::from(address) & !subnet.mask() != 0 {
            return Err(bad());
        }
        Ok(subnet)
    }

    fn mask(&self) -> u32 {
        u32::MAX << (32 - self.prefix)
    }

    pub fn contains(&self, address: Ipv4Addr) -> bool {
        u32::from(address) & self.mask() == u32::from(self.network)
    }

    /// The first usable address (the default gateway).
    pub fn first(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + 1)
    }

    /// Usable host addresses, in order (no network or broadcast address).
    pub fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> {
        let start = u32::from(self.network) + 1;
        let end = u32::from(self.network) | !self.mask();
        (start..end).map(Ipv4Addr::from)
    }

    pub fn overlaps(&self, other: &Subnet) -> bool {
        let prefix = self.prefix.min(other.prefix);
        let mask = u32::MAX << (32 - prefix);
        u32::from(self.network) & mask == u32::from(other.network) & mask
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// An IPv6 subnet. A container's IPv6 address pairs with its IPv4 lease: the same host
/// number in this subnet, so no second lease is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet6 {
    pub network: Ipv6Addr,
    pub prefix: u8,
}

impl Subnet6 {
    /// `fd00:1:2:3::/64`; host bits must be zero.
    pub fn parse(text: &str) -> Result<Self, NetworkError> {
        let bad = || NetworkError::InvalidSubnet(text.to_string());
        let (address, prefix) = text.split_once('/').ok_or_else(bad)?;
        let address: Ipv6Addr = address.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if !(8..=120).contains(&prefix) {
            return Err(bad());
        }
        let subnet = Subnet6 {
            network: address,
            prefix,
        };
        if u128::from(address) & !subnet.mask() != 0 {
            return Err(bad());
        }
        Ok(subnet)
    }

    fn mask(&self) -> u128 {
        u128::MAX << (128 - self.prefix)
    }

    pub fn contains(&self, address: Ipv6Addr) -> bool {
        u128::from(address) & self.mask() == u128::from(self.network)
    }

    /// The address with host number `n`, if the subnet is that large.
    pub fn nth(&self, n: u128) -> Option<Ipv6Addr> {
        (n & self.mask() == 0).then(|| Ipv6Addr::from(u128::from(self.network) | n))
    }

    pub fn overlaps(&self, other: &Subnet6) -> bool {
        let prefix = self.prefix.min(other.prefix);
        let mask = u128::MAX << (128 - prefix);
        u128::from(self.network) & mask == u128::from(other.network) & mask
    }
}

impl std::fmt::Display for Subnet6 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// A container's IPv6 side on a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address6 {
    pub address: Ipv6Addr,
    pub prefix: u8,
    pub gateway: Ipv6Addr,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SubnetConfig {
    pub subnet: String,
    pub gateway: String,
}

/// A network as `network inspect` shows it (netavark's field names).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Network {
    pub name: String,
    pub id: String,
    pub driver: String,
    pub network_interface: String,
    pub created: String,
    pub subnets: Vec<SubnetConfig>,
    pub ipv6_enabled: bool,
    pub internal: bool,
    pub dns_enabled: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    pub ipam_options: BTreeMap<String, String>,
}

impl Network {
    /// Podman's default network: bridge `podman0`, 10.88.0.0/16.
    pub fn default_network() -> Self {
        Network {
            name: DEFAULT_NETWORK.into(),
            id: DEFAULT_ID.into(),
            driver: "bridge".into(),
            network_interface: "podman0".into(),
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            subnets: vec![SubnetConfig {
                subnet: "10.88.0.0/16".into(),
                gateway: "10.88.0.1".into(),
            }],
            ipv6_enabled: false,
            internal: false,
            dns_enabled: false,
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            ipam_options: [("driver".to_string(), "host-local".to_string())].into(),
        }
    }

    /// The IPv4 subnet and gateway addresses come from.
    pub fn subnet(&self) -> Result<(Subnet, Ipv4Addr), NetworkError> {
        let config = self
            .subnets
            .iter()
            .find(|s| !s.subnet.contains(':'))
            .ok_or_else(|| {
                NetworkError::InvalidSubnet(format!("network {} has no IPv4 subnet", self.name))
            })?;
        let subnet = Subnet::parse(&config.subnet)?;
        let gateway = config
            .gateway
            .parse()
            .map_err(|_| NetworkError::InvalidGateway(config.gateway.clone()))?;
        Ok((subnet, gateway))
    }

    /// The IPv6 subnet and gateway, on a network with IPv6.
    pub fn subnet6(&self) -> Option<(Subnet6, Ipv6Addr)> {
        let config = self.subnets.iter().find(|s| s.subnet.contains(':'))?;
        Some((
            Subnet6::parse(&config.subnet).ok()?,
            config.gateway.parse().ok()?,
        ))
    }

    /// The IPv6 address that goes with the IPv4 lease `address`: the same host number (moved
    /// past 2^32 in the rare case that would be the IPv6 gateway).
    pub fn address6(&self, address: Ipv4Addr) -> Option<Address6> {
        let (subnet, _) = self.subnet().ok()?;
        let (subnet6, gateway) = self.subnet6()?;
        let host = u128::from(u32::from(address) - u32::from(subnet.network));
        let mut ipv6 = subnet6.nth(host)?;
        if ipv6 == gateway {
            ipv6 = subnet6.nth(host | (1 << 32))?;
        }
        Some(Address6 {
            address: ipv6,
            prefix: subnet6.prefix,
            gateway,
        })
    }

    /// The nftables table holding this network's rules.
    pub(crate) fn table(&self) -> String {
        format!("skiff_net_{}", &self.id[..12])
    }
}

/// Names as Podman allows them.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_parse_and_hand_out_hosts() {
        let subnet = Subnet::parse("10.89.3.0/24").unwrap();
        assert_eq!(subnet.first(), Ipv4Addr::new(10, 89, 3, 1));
        assert_eq!(subnet.hosts().count(), 254);
        assert!(subnet.contains(Ipv4Addr::new(10, 89, 3, 200)));
        assert!(!subnet.contains(Ipv4Addr::new(10, 89, 4, 1)));
        assert!(Subnet::parse("10.89.3.1/24").is_err());
        assert!(Subnet::parse("10.89.3.0").is_err());
        assert!(matches!(
            Subnet::parse("fd00::/64"),
            Err(NetworkError::InvalidSubnet(_))
        ));
        let six = Subnet6::parse("fd00:1:2:3::/64").unwrap();
        assert_eq!(six.nth(2), Some("fd00:1:2:3::2".parse().unwrap()));
        assert!(six.contains("fd00:1:2:3::abcd".parse().unwrap()));
        assert!(Subnet6::parse("fd00:1:2:3::1/64").is_err());
        assert!(six.overlaps(&Subnet6::parse("fd00:1::/32").unwrap()));

        let mut network = Network::default_network();
        network.subnets.push(SubnetConfig {
            subnet: "fd00:1:2:3::/64".into(),
            gateway: "fd00:1:2:3::1".into(),
        });
        let paired = network.address6(Ipv4Addr::new(10, 88, 1, 2)).unwrap();
        assert_eq!(
            paired.address,
            "fd00:1:2:3::102".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(paired.prefix, 64);
        // Host number 1 is the IPv6 gateway when the IPv4 gateway is elsewhere.
        let moved = network.address6(Ipv4Addr::new(10, 88, 0, 1)).unwrap();
        assert_ne!(moved.address, paired.gateway);
        assert!(subnet.overlaps(&Subnet::parse("10.89.0.0/16").unwrap()));
        assert!(!subnet.overlaps(&Subnet::parse("10.89.4.0/24").unwrap()));
        assert!(valid_name("app-net_1") && !valid_name("-x") && !valid_name("a/b"));
    }
}
