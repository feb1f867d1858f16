//! skiff-network owns bridge networks: their configs and address leases (`networks.db`), the
//! kernel side made in process over rtnetlink (bridges, veth pairs, addresses, routes), and
//! the nftables rules for NAT, isolation and published ports; and rootless user-mode
//! networking (pasta, slirp4netns).
#![deny(unsafe_code)]

mod config;
pub mod dns;
mod error;
mod firewall;
mod hostwide;
mod netlink;
mod setup;
mod store;
pub mod usermode;

pub use config::{Address6, DEFAULT_NETWORK, Network, Subnet, Subnet6, SubnetConfig, valid_name};
pub use error::NetworkError;
pub use setup::{
    Attached, Namespace, connect, create_namespace, disconnect, format_mac, lease, release,
    remove_bridge,
};
pub use store::{CreateRequest, NetworkStore};
