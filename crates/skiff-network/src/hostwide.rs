//! Addresses on a bridge of the host's network namespace are unique host-wide, whoever leased
//! them: two storage roots (or skiff beside Podman) share `podman0`, and each store's own
//! leases know nothing of the other's, so both handed out 10.88.0.2 and published ports failed
//! at random.
//!
//! Under a host-wide lock per bridge (`/run/skiff-bridges/<bridge>.lock`), a record per bridge
//! (`<bridge>.leases`, one `address network container store` line a lease) lists what every
//! store leased there. A line stays only while its store still holds that lease, so a removed
//! container or a deleted storage root frees its address without any clean-up step. Addresses
//! the kernel knows on the bridge (a neighbour, a local address: a container of another
//! engine) are never handed out either.
use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use skiff_storage::lock::FileLock;

use crate::error::NetworkError;

/// Where the records live: beside no storage root, so every root sees them.
pub(crate) const RECORD_DIR: &str = "/run/skiff-bridges";

/// One lease as the record keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    address: Ipv4Addr,
    network: String,
    container: String,
    store: PathBuf,
}

impl Line {
    fn parse(text: &str) -> Option<Self> {
        let mut fields = text.split('\t');
        Some(Line {
            address: fields.next()?.parse().ok()?,
            network: fields.next()?.to_string(),
            container: fields.next()?.to_string(),
            store: PathBuf::from(fields.next()?),
        })
    }

    fn render(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\n",
            self.address,
            self.network,
            self.container,
            self.store.display()
        )
    }
}

/// The record of one bridge, locked while this value lives.
pub(crate) struct BridgeRecord {
    path: PathBuf,
    lines: Vec<Line>,
    _lock: FileLock,
}

impl BridgeRecord {
    /// Locks and reads the record of `bridge`, keeping only the leases their stores still hold.
    /// None where the bridge is not the host's (a rootless network namespace is private to its
    /// user and run root: its leases are all in one store).
    pub(crate) fn open(bridge: &str) -> Result<Option<Self>, NetworkError> {
        if !in_initial_user_namespace() {
            return Ok(None);
        }
        Self::open_in(Path::new(RECORD_DIR), bridge).map(Some)
    }

    fn open_in(dir: &Path, bridge: &str) -> Result<Self, NetworkError> {
        let io = |what: &str, path: &Path, source: std::io::Error| NetworkError::System {
            action: format!("{what} {}", path.display()),
            source,
        };
        fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
        let lock_path = dir.join(format!("{bridge}.lock"));
        let lock = FileLock::exclusive(&lock_path)
            .map_err(|e| io("lock", &lock_path, std::io::Error::other(e.to_string())))?;
        let path = dir.join(format!("{bridge}.leases"));
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io("read", &path, e)),
        };
        let lines = text.lines().filter_map(Line::parse).collect::<Vec<_>>();
        // One connection per store, however many of its leases the record lists: this runs
        // on every start of a container on a host bridge.
        let mut stores: std::collections::HashMap<PathBuf, Option<Connection>> = Default::default();
        let lines = lines
            .into_iter()
            .filter(|line| {
                let db = stores.entry(line.store.clone()).or_insert_with(|| {
                    Connection::open_with_flags(
                        &line.store,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )
                    .ok()
                    .inspect(|db| {
                        let _ = db.busy_timeout(std::time::Duration::from_secs(5));
                    })
                });
                still_held(db.as_ref(), line)
            })
            .collect();
        Ok(Self {
            path,
            lines,
            _lock: lock,
        })
    }

    /// Addresses leased on this bridge by any store but `store`.
    pub(crate) fn leased_elsewhere(&self, store: &Path) -> HashSet<Ipv4Addr> {
        self.lines
            .iter()
            .filter(|line| line.store != store)
            .map(|line| line.address)
            .collect()
    }

    /// Records a lease this store just made, and writes the record back.
    pub(crate) fn record(
        mut self,
        address: Ipv4Addr,
        network: &str,
        container: &str,
        store: &Path,
    ) -> Result<(), NetworkError> {
        self.lines
            .retain(|l| !(l.store == store && l.address == address));
        self.lines.push(Line {
            address,
            network: network.to_string(),
            container: container.to_string(),
            store: store.to_path_buf(),
        });
        let temporary = self
            .path
            .with_extension(format!("tmp-{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut file = fs::File::create(&temporary)?;
            for line in &self.lines {
                file.write_all(line.render().as_bytes())?;
            }
            file.sync_data()?;
            fs::rename(&temporary, &self.path)
        };
        write().map_err(|source| {
            let _ = fs::remove_file(&temporary);
            NetworkError::System {
                action: format!("write {}", self.path.display()),
                source,
            }
        })
    }
}

/// Whether the line's store still holds that lease (a removed container, or a deleted storage
/// root, frees it).
fn still_held(db: Option<&Connection>, line: &Line) -> bool {
    let Some(db) = db else {
        return false;
    };
    // A store that cannot be read (busy past the timeout): keep the line, to be safe.
    db.query_row(
        "SELECT 1 FROM leases WHERE network = ?1 AND address = ?2 AND container = ?3",
        params![line.network, line.address.to_string(), line.container],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
    .unwrap_or(!matches!(line.store.try_exists(), Ok(false)))
}

/// IPv4 neighbours (in use, not failed) and local addresses on `bridge`: what another engine's
/// containers hold there. (A neighbour entry outlives its container for a while: an address
/// asked for by `--ip` is not refused for that.)
pub(crate) fn kernel_addresses(bridge: &str) -> Vec<Ipv4Addr> {
    let mut found = neighbours(
        &fs::read_to_string("/proc/net/arp").unwrap_or_default(),
        bridge,
    );
    if let Ok(addresses) = nix::ifaddrs::getifaddrs() {
        found.extend(
            addresses
                .filter(|a| a.interface_name == bridge)
                .filter_map(|a| a.address?.as_sockaddr_in().map(|address| address.ip())),
        );
    }
    found
}

/// The addresses of /proc/net/arp's rows on `device` whose entry is in use (flags not 0).
fn neighbours(arp: &str, device: &str) -> Vec<Ipv4Addr> {
    arp.lines()
        .skip(1)
        .filter_map(|row| {
            let fields: Vec<&str> = row.split_whitespace().collect();
            match fields.as_slice() {
                [address, _, flags, _, _, on] if *on == device && *flags != "0x0" => {
                    address.parse().ok()
                }
                _ => None,
            }
        })
        .collect()
}

/// Root of the host, not of a user namespace: only then are bridges the host's.
fn in_initial_user_namespace() -> bool {
    fs::read_to_string("/proc/self/uid_map")
        .is_ok_and(|map| map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_in_use_on_the_bridge_count() {
        let arp = "IP address       HW type     Flags       HW address            Mask     Device\n\
                   10.88.0.5        0x1         0x2         02:42:0a:58:00:05     *        podman0\n\
                   10.88.0.6        0x1         0x0         00:00:00:00:00:00     *        podman0\n\
                   10.89.0.2        0x1         0x2         02:42:0a:59:00:02     *        podman1\n";
        assert_eq!(neighbours(arp, "podman0"), [Ipv4Addr::new(10, 88, 0, 5)]);
    }

    #[test]
    fn a_lease_stays_recorded_while_its_store_holds_it() {
        let dir = std::env::temp_dir().join(format!("skiff-hostwide-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let store = dir.join("networks.db");
        let db = Connection::open(&store).unwrap();
        db.execute_batch(
            "CREATE TABLE leases (network TEXT, address TEXT, container TEXT, names TEXT);
             INSERT INTO leases VALUES ('podman', '10.88.0.2', 'abc', '');",
        )
        .unwrap();
        let other = dir.join("other.db");
        let record = BridgeRecord::open_in(&dir, "testbr0").unwrap();
        record
            .record(Ipv4Addr::new(10, 88, 0, 2), "podman", "abc", &store)
            .unwrap();
        let record = BridgeRecord::open_in(&dir, "testbr0").unwrap();
        assert!(
            record
                .leased_elsewhere(&other)
                .contains(&Ipv4Addr::new(10, 88, 0, 2))
        );
        assert!(record.leased_elsewhere(&store).is_empty());
        drop(record);
        // The container is gone from its store: its address is free for everyone.
        db.execute("DELETE FROM leases", []).unwrap();
        let record = BridgeRecord::open_in(&dir, "testbr0").unwrap();
        assert!(record.leased_elsewhere(&other).is_empty());
        drop(record);
        let _ = fs::remove_dir_all(&dir);
    }
}
