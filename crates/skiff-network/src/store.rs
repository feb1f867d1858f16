//! Network configs and address leases in `networks.db` (SQLite, like the other stores): a
//! network is one row, a lease is one row per container and network, so two containers
//! starting at once never get the same address.
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use skiff_storage::database::open_database;

use crate::config::{DEFAULT_NETWORK, Network, Subnet, Subnet6, SubnetConfig, valid_name};
use crate::error::NetworkError;
use crate::hostwide::{BridgeRecord, kernel_addresses};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS networks (
    name TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    config TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    network TEXT NOT NULL,
    address TEXT NOT NULL,
    container TEXT NOT NULL,
    -- The names DNS answers for: container name, short ID, aliases (space-separated).
    names TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (network, address)
);
CREATE INDEX IF NOT EXISTS leases_by_container ON leases(container);
";

/// `network create`'s choices.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CreateRequest {
    pub name: Option<String>,
    pub driver: Option<String>,
    /// `--subnet`, IPv4 and (at most one) IPv6.
    pub subnets: Vec<String>,
    pub gateway: Option<String>,
    pub internal: bool,
    pub ipv6: bool,
    pub interface: Option<String>,
    pub labels: Vec<(String, String)>,
}

fn claim_path(key: &str) -> PathBuf {
    Path::new(crate::hostwide::RECORD_DIR).join(format!("{key}.owner"))
}

/// A subnet's name among the claims.
fn subnet_key(subnet: &Subnet) -> String {
    format!("subnet-{}", subnet.to_string().replace('/', "-"))
}

/// Claims a bridge name or a subnet host-wide for the store whose database is `store` (a
/// file naming that database), so that two storage roots creating networks at once do not
/// both take it (the bridge and its route appear only when a container first uses it). A
/// claim whose database is gone is taken over; where the claims cannot be written (rootless,
/// whose bridges live in a namespace of their own) there is nothing to share.
fn claim(key: &str, store: &Path) -> bool {
    use std::io::Write;
    let path = claim_path(key);
    if std::fs::create_dir_all(crate::hostwide::RECORD_DIR).is_err() {
        return true;
    }
    let mine = store.display().to_string();
    match std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(mut file) => file.write_all(mine.as_bytes()).is_ok(),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            match std::fs::read_to_string(&path) {
                Ok(owner) if owner == mine => true,
                Ok(owner) if !Path::new(&owner).exists() => std::fs::write(&path, mine).is_ok(),
                _ => false,
            }
        }
        Err(_) => true,
    }
}

/// The IPv4 networks /proc/net/route's text routes, the default route left out (addresses
/// in hexadecimal, in the kernel's byte order).
fn routed_subnets(routes: &str) -> Vec<Subnet> {
    routes
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let destination = u32::from_str_radix(fields.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(fields.get(7)?, 16).ok()?;
            let prefix = mask.swap_bytes().leading_ones() as u8;
            (mask != 0).then(|| Subnet {
                network: Ipv4Addr::from(destination.to_le_bytes()),
                prefix,
            })
        })
        .collect()
}

pub struct NetworkStore {
    db: Connection,
    /// The database file: this store's name in the host-wide lease records.
    path: PathBuf,
}

impl NetworkStore {
    pub fn open(root: &Path) -> Result<Self, NetworkError> {
        let path = root.join("networks.db");
        Ok(Self {
            db: open_database(&path, SCHEMA)?,
            path: std::fs::canonicalize(&path).unwrap_or(path),
        })
    }

    /// Every network, the default first.
    pub fn list(&self) -> Result<Vec<Network>, NetworkError> {
        let mut networks = vec![Network::default_network()];
        let mut statement = self
            .db
            .prepare("SELECT config FROM networks ORDER BY name")?;
        for config in statement.query_map([], |r| r.get::<_, String>(0))? {
            networks.push(serde_json::from_str(&config?)?);
        }
        Ok(networks)
    }

    /// By name, full ID or unique ID prefix.
    pub fn get(&self, name_or_id: &str) -> Result<Network, NetworkError> {
        let networks = self.list()?;
        if let Some(network) = networks.iter().find(|n| n.name == name_or_id) {
            return Ok(network.clone());
        }
        let mut by_id = networks
            .into_iter()
            .filter(|n| !name_or_id.is_empty() && n.id.starts_with(name_or_id));
        match (by_id.next(), by_id.next()) {
            (Some(network), None) => Ok(network),
            _ => Err(NetworkError::NotFound(name_or_id.to_string())),
        }
    }

    pub fn create(&mut self, request: &CreateRequest) -> Result<Network, NetworkError> {
        let (subnets6, subnets4): (Vec<&String>, Vec<&String>) =
            request.subnets.iter().partition(|s| s.contains(':'));
        if subnets4.len() > 1 || subnets6.len() > 1 {
            return Err(NetworkError::InvalidSubnet(format!(
                "{}: one IPv4 and one IPv6 subnet at most",
                request.subnets.join(", ")
            )));
        }
        let subnet6 = subnets6.first().map(|s| Subnet6::parse(s)).transpose()?;
        let driver = request.driver.clone().unwrap_or_else(|| "bridge".into());
        if driver != "bridge" {
            return Err(NetworkError::Driver(driver));
        }
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut existing = vec![Network::default_network()];
        {
            let mut statement = tx.prepare("SELECT config FROM networks")?;
            for config in statement.query_map([], |r| r.get::<_, String>(0))? {
                existing.push(serde_json::from_str(&config?)?);
            }
        }
        let name = match &request.name {
            Some(name) => name.clone(),
            None => (1..)
                .map(|n| format!("podman{n}"))
                .find(|n| !existing.iter().any(|e| &e.name == n))
                .unwrap_or_default(),
        };
        if !valid_name(&name) {
            return Err(NetworkError::InvalidName(name));
        }
        if existing.iter().any(|n| n.name == name) {
            return Err(NetworkError::Exists(name));
        }
        let used: Vec<(Subnet, String)> = existing
            .iter()
            .filter_map(|n| n.subnet().ok().map(|(s, _)| (s, n.name.clone())))
            .collect();
        let subnet = match subnets4.first() {
            Some(text) => {
                let subnet = Subnet::parse(text)?;
                if let Some((_, other)) = used.iter().find(|(s, _)| s.overlaps(&subnet)) {
                    return Err(NetworkError::SubnetInUse(subnet.to_string(), other.clone()));
                }
                subnet
            }
            // Podman's pool: 10.89.0.0/24, 10.89.1.0/24, ..., past what this host routes
            // already (another storage root's networks, the host's own).
            None => {
                let routed =
                    routed_subnets(&std::fs::read_to_string("/proc/net/route").unwrap_or_default());
                (0..=255u8)
                    .map(|n| Subnet {
                        network: Ipv4Addr::new(10, 89, n, 0),
                        prefix: 24,
                    })
                    .find(|s| {
                        !used.iter().any(|(u, _)| u.overlaps(s))
                            && !routed.iter().any(|r| r.overlaps(s))
                            && claim(&subnet_key(s), &self.path)
                    })
                    .ok_or_else(|| NetworkError::Exhausted("10.89.0.0/16".into()))?
            }
        };
        let gateway = match &request.gateway {
            Some(text) => {
                let gateway: Ipv4Addr = text
                    .parse()
                    .map_err(|_| NetworkError::InvalidGateway(text.clone()))?;
                if !subnet.contains(gateway) || !subnet.hosts().any(|h| h == gateway) {
                    return Err(NetworkError::InvalidGateway(text.clone()));
                }
                gateway
            }
            None => subnet.first(),
        };
        let interface = match &request.interface {
            Some(interface) => interface.clone(),
            // Nor a bridge the host has already (another storage root's).
            None => (1..)
                .map(|n| format!("podman{n}"))
                .find(|i| {
                    !existing.iter().any(|e| &e.network_interface == i)
                        && !Path::new("/sys/class/net").join(i).exists()
                        && claim(i, &self.path)
                })
                .unwrap_or_default(),
        };
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let id = skiff_storage::hex_digest(format!("{name}\n{created}").as_bytes())
            .trim_start_matches("sha256:")
            .to_string();
        let mut network = Network::default_network();
        network.name = name;
        network.id = id;
        network.network_interface = interface;
        network.created = created;
        network.subnets = vec![SubnetConfig {
            subnet: subnet.to_string(),
            gateway: gateway.to_string(),
        }];
        if request.ipv6 || subnet6.is_some() {
            // A unique local /64 of its own, from the network's ID, unless one was given.
            let subnet6 = subnet6.unwrap_or_else(|| {
                let id = u128::from_str_radix(&network.id[..10], 16).unwrap_or(0);
                Subnet6 {
                    network: std::net::Ipv6Addr::from((0xfd << 120) | (id << 80)),
                    prefix: 64,
                }
            });
            let mut used6 = existing
                .iter()
                .filter_map(|n| n.subnet6().map(|(s, _)| (s, &n.name)));
            if let Some((_, other)) = used6.find(|(s, _)| s.overlaps(&subnet6)) {
                return Err(NetworkError::SubnetInUse(
                    subnet6.to_string(),
                    other.clone(),
                ));
            }
            let gateway6 = subnet6.nth(1).unwrap_or(subnet6.network);
            network.subnets.push(SubnetConfig {
                subnet: subnet6.to_string(),
                gateway: gateway6.to_string(),
            });
            network.ipv6_enabled = true;
        }
        network.internal = request.internal;
        network.dns_enabled = true;
        network.labels = request.labels.iter().cloned().collect();
        tx.execute(
            "INSERT INTO networks (name, id, config) VALUES (?1, ?2, ?3)",
            params![network.name, network.id, serde_json::to_string(&network)?],
        )?;
        tx.commit()?;
        Ok(network)
    }

    /// Forgets a network (the caller has checked no container uses it).
    pub fn remove(&mut self, network: &Network) -> Result<(), NetworkError> {
        if network.name == DEFAULT_NETWORK {
            return Err(NetworkError::DefaultNetwork(network.name.clone()));
        }
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM networks WHERE name = ?1", [&network.name])?;
        tx.execute("DELETE FROM leases WHERE network = ?1", [&network.name])?;
        tx.commit()?;
        let mut claims = vec![network.network_interface.clone()];
        claims.extend(network.subnet().ok().map(|(subnet, _)| subnet_key(&subnet)));
        for key in claims {
            let claim = claim_path(&key);
            if std::fs::read_to_string(&claim).is_ok_and(|owner| Path::new(&owner) == self.path) {
                let _ = std::fs::remove_file(claim);
            }
        }
        Ok(())
    }

    /// Leases an address of `network` to a container: `wanted` (`--ip`) or the first free one.
    pub fn allocate(
        &mut self,
        network: &Network,
        container: &str,
        wanted: Option<Ipv4Addr>,
        names: &[String],
    ) -> Result<Ipv4Addr, NetworkError> {
        let names = names.join(" ").to_ascii_lowercase();
        let (subnet, gateway) = network.subnet()?;
        // Bridges of the host are shared with other storage roots and engines: their leases
        // and the kernel's neighbours count too (`hostwide`). Locked before our own store.
        let bridge = &network.network_interface;
        let record = BridgeRecord::open(bridge)?;
        let elsewhere = record
            .as_ref()
            .map(|r| r.leased_elsewhere(&self.path))
            .unwrap_or_default();
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // A container restarted keeps its address when it still holds the lease.
        if let Some(address) = tx
            .query_row(
                "SELECT address FROM leases WHERE network = ?1 AND container = ?2",
                params![network.name, container],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(|a| a.parse::<Ipv4Addr>().ok())
            .filter(|a| wanted.is_none_or(|w| w == *a))
        {
            tx.execute(
                "UPDATE leases SET names = ?1 WHERE network = ?2 AND container = ?3",
                params![names, network.name, container],
            )?;
            tx.commit()?;
            if let Some(record) = record {
                record.record(address, &network.name, container, &self.path)?;
            }
            return Ok(address);
        }
        let taken: std::collections::HashSet<String> = {
            let mut statement = tx.prepare("SELECT address FROM leases WHERE network = ?1")?;
            statement
                .query_map([&network.name], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        let address = match wanted {
            Some(address) => {
                if !subnet.contains(address)
                    || address == gateway
                    || !subnet.hosts().any(|h| h == address)
                {
                    return Err(NetworkError::AddressOutside(
                        address.to_string(),
                        subnet.to_string(),
                        network.name.clone(),
                    ));
                }
                if taken.contains(&address.to_string()) || elsewhere.contains(&address) {
                    return Err(NetworkError::AddressInUse(
                        address.to_string(),
                        network.name.clone(),
                    ));
                }
                address
            }
            None => {
                let in_kernel: Vec<Ipv4Addr> = if record.is_some() {
                    kernel_addresses(bridge)
                } else {
                    Vec::new()
                };
                subnet
                    .hosts()
                    .find(|a| {
                        *a != gateway
                            && !taken.contains(&a.to_string())
                            && !elsewhere.contains(a)
                            && !in_kernel.contains(a)
                    })
                    .ok_or_else(|| NetworkError::Exhausted(network.name.clone()))?
            }
        };
        tx.execute(
            "INSERT INTO leases (network, address, container, names) VALUES (?1, ?2, ?3, ?4)",
            params![network.name, address.to_string(), container, names],
        )?;
        tx.commit()?;
        if let Some(record) = record {
            record.record(address, &network.name, container, &self.path)?;
        }
        Ok(address)
    }

    /// Every container that holds a lease.
    pub fn leaseholders(&self) -> Result<Vec<String>, NetworkError> {
        let mut statement = self
            .db
            .prepare("SELECT DISTINCT container FROM leases ORDER BY container")?;
        let holders = statement
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(holders)
    }

    /// Gives back every address a container holds.
    pub fn release(&mut self, container: &str) -> Result<(), NetworkError> {
        self.db
            .execute("DELETE FROM leases WHERE container = ?1", [container])?;
        Ok(())
    }

    /// Gives back the address a container holds on one network.
    pub fn release_network(&mut self, container: &str, network: &str) -> Result<(), NetworkError> {
        self.db.execute(
            "DELETE FROM leases WHERE container = ?1 AND network = ?2",
            [container, network],
        )?;
        Ok(())
    }

    /// Whether any container holds an address on `network`.
    pub fn has_leases(&self, network: &str) -> Result<bool, NetworkError> {
        Ok(self
            .db
            .query_row(
                "SELECT 1 FROM leases WHERE network = ?1 LIMIT 1",
                [network],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// What `name` is for the container that asks from `client` on `network`: as aardvark-dns
    /// answers, the containers of every network the asker is on (those of `network` first);
    /// an asker unknown here (an IPv6 source) gets those of `network`.
    pub fn resolve_for(
        &self,
        network: &str,
        client: std::net::IpAddr,
        name: &str,
    ) -> Result<Vec<(String, Ipv4Addr)>, NetworkError> {
        let mut statement = self.db.prepare(
            "SELECT network, address, names FROM leases WHERE network = ?1 OR network IN \
             (SELECT network FROM leases WHERE container = \
              (SELECT container FROM leases WHERE network = ?1 AND address = ?2)) \
             ORDER BY network != ?1",
        )?;
        let rows = statement.query_map([network, &client.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (network, address, names) = row?;
            if names.split(' ').any(|n| n == name)
                && let Ok(address) = address.parse()
            {
                out.push((network, address));
            }
        }
        Ok(out)
    }

    /// (network, address) a container holds.
    pub fn leases_of(&self, container: &str) -> Result<Vec<(String, Ipv4Addr)>, NetworkError> {
        let mut statement = self
            .db
            .prepare("SELECT network, address FROM leases WHERE container = ?1 ORDER BY network")?;
        let rows = statement.query_map([container], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (network, address) = row?;
            if let Ok(address) = address.parse() {
                out.push((network, address));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routed_subnets_are_read_from_the_kernels_table() {
        let routes = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
             eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
             podman1\t0000590A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
             eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        let subnets: Vec<String> = routed_subnets(routes)
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(subnets, ["10.89.0.0/24", "192.168.0.0/16"]);
    }
}
