//! What can go wrong with networks, each naming the thing that is wrong.
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NetworkError {
    #[error("unable to find network with name or ID {0}: network not found")]
    NotFound(String),
    #[error("network name {0} already used: network already exists")]
    Exists(String),
    #[error("{0:?}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")]
    InvalidName(String),
    #[error("invalid subnet {0:?}: expected a network like 10.89.0.0/24 or fd00:1:2:3::/64")]
    InvalidSubnet(String),
    #[error("invalid gateway {0:?}: expected an IPv4 address in the subnet")]
    InvalidGateway(String),
    #[error("subnet {0} is already used by network {1}")]
    SubnetInUse(String, String),
    #[error("unsupported network driver {0:?} (supported: bridge)")]
    Driver(String),
    #[error("{0} is the default network and cannot be removed")]
    DefaultNetwork(String),
    #[error("IP address {0} is not in the subnet {1} of network {2}")]
    AddressOutside(String, String, String),
    #[error("IP address {0} is already in use in network {1}")]
    AddressInUse(String, String),
    #[error("network {0} has no free address left")]
    Exhausted(String),
    #[error("invalid port mapping {0:?}: {1}")]
    InvalidPort(String, &'static str),
    #[error("network database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("network config: {0}")]
    Config(#[from] serde_json::Error),
    #[error("{action}: {source}")]
    System {
        action: String,
        source: std::io::Error,
    },
    #[error("nft: {0}")]
    Firewall(String),
    #[error("{helper}: {message}")]
    UserMode {
        helper: &'static str,
        message: String,
    },
}

pub(crate) fn system(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> NetworkError {
    let action = action.into();
    move |source| NetworkError::System { action, source }
}
