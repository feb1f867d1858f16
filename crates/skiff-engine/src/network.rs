//! Network actions (`network create/ls/inspect/rm/prune`) and a container's networking across
//! its life: names checked and ports chosen at create, the namespace wired before the runtime
//! runs, leases and forwards released when it exits.
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::os::fd::AsRawFd;

use oci_spec::image::ImageConfiguration;
use serde_json::{Value, json};
use skiff_network::{
    Attached, CreateRequest, DEFAULT_NETWORK, Namespace, Network, NetworkStore, format_mac,
};
use skiff_spec::{ContainerSpec, NetworkAttachment, NetworkMode, PortMapping};

use crate::container::store::ContainerRecord;
use crate::engine::Engine;
use crate::error::EngineError;

/// A network and the containers that use it.
#[derive(Debug, Clone)]
pub struct NetworkReport {
    pub network: Network,
    pub containers: Vec<String>,
}

impl NetworkReport {
    /// `network inspect`'s object (netavark's fields, with the containers that use it).
    pub fn json(&self) -> Value {
        let mut value = serde_json::to_value(&self.network).unwrap_or_default();
        value["containers"] = json!(self.containers);
        value
    }
}

/// A container's address on one network, for `inspect`.
#[derive(Debug, Clone)]
pub struct ContainerAddress {
    pub network: String,
    pub address: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
    pub mac: String,
}

impl Engine {
    pub(crate) fn network_store(&self) -> Result<NetworkStore, EngineError> {
        Ok(NetworkStore::open(&self.options.root)?)
    }

    /// What a container joins when `--network` is not given: Podman's default bridge for
    /// root; a private namespace with loopback for a rootless user (no bridge can be made
    /// from a user namespace).
    pub fn default_network_mode(&self) -> NetworkMode {
        if self.options.rootless {
            NetworkMode::None
        } else {
            NetworkMode::Bridge(vec![NetworkAttachment {
                network: DEFAULT_NETWORK.into(),
                ..NetworkAttachment::default()
            }])
        }
    }

    pub fn create_network(&self, request: &CreateRequest) -> Result<Network, EngineError> {
        Ok(self.network_store()?.create(request)?)
    }

    pub fn list_networks(&self) -> Result<Vec<NetworkReport>, EngineError> {
        let networks = self.network_store()?.list()?;
        let containers = self.containers.list()?;
        Ok(networks
            .into_iter()
            .map(|network| {
                let users = containers
                    .iter()
                    .filter(|c| uses(&c.spec, &network.name))
                    .map(|c| c.name.clone())
                    .collect();
                NetworkReport {
                    network,
                    containers: users,
                }
            })
            .collect())
    }

    pub fn network(&self, name_or_id: &str) -> Result<NetworkReport, EngineError> {
        let network = self.network_store()?.get(name_or_id)?;
        let containers = self
            .containers
            .list()?
            .into_iter()
            .filter(|c| uses(&c.spec, &network.name))
            .map(|c| c.name)
            .collect();
        Ok(NetworkReport {
            network,
            containers,
        })
    }

    /// `network rm`: refuses while containers use it, unless `force` removes them first.
    pub fn remove_network(&mut self, name_or_id: &str, force: bool) -> Result<String, EngineError> {
        let report = self.network(name_or_id)?;
        if report.network.name == DEFAULT_NETWORK {
            return Err(skiff_network::NetworkError::DefaultNetwork(report.network.name).into());
        }
        if !report.containers.is_empty() {
            if !force {
                return Err(EngineError::NetworkInUse(report.network.name));
            }
            for container in &report.containers {
                self.remove_container(container, true)?;
            }
        }
        let mut store = self.network_store()?;
        store.remove(&report.network)?;
        if !self.options.rootless {
            skiff_network::remove_bridge(&report.network)?;
        }
        Ok(report.network.name)
    }

    /// `network prune`: every network but the default that no container uses.
    pub fn prune_networks(&mut self) -> Result<Vec<String>, EngineError> {
        let mut removed = Vec::new();
        for report in self.list_networks()? {
            if report.containers.is_empty() && report.network.name != DEFAULT_NETWORK {
                removed.push(self.remove_network(&report.network.name, false)?);
            }
        }
        Ok(removed)
    }

    /// At create: network names made real (`bridge` is the default network), each checked;
    /// `-P` expanded from the image's EXPOSE; host ports left open given a free port now.
    pub(crate) fn prepare_network(
        &self,
        spec: &mut ContainerSpec,
        image: &ImageConfiguration,
    ) -> Result<(), EngineError> {
        if spec.publish_all
            && let Some(exposed) = image
                .config()
                .as_ref()
                .and_then(|c| c.exposed_ports().clone())
        {
            for port in exposed {
                let (number, protocol) = port.split_once('/').unwrap_or((&port, "tcp"));
                if spec
                    .ports
                    .iter()
                    .any(|p| p.container_port.to_string() == number)
                {
                    continue;
                }
                if let Ok(container_port) = number.parse() {
                    spec.ports.push(PortMapping {
                        host_ip: String::new(),
                        host_port: 0,
                        container_port,
                        protocol: protocol.to_string(),
                    });
                }
            }
        }
        match &mut spec.network {
            NetworkMode::Bridge(attachments) => {
                if self.options.rootless {
                    return Err(EngineError::InvalidArgument(
                        "rootless containers cannot join bridge networks yet: use --network none or host".into(),
                    ));
                }
                let store = self.network_store()?;
                for attachment in attachments.iter_mut() {
                    if matches!(attachment.network.as_str(), "bridge" | "default") {
                        attachment.network = DEFAULT_NETWORK.into();
                    }
                    store.get(&attachment.network)?;
                }
            }
            NetworkMode::None if !spec.ports.is_empty() => {
                return Err(EngineError::InvalidArgument(
                    "port mappings need a bridge network: --network none has no outside to publish to".into(),
                ));
            }
            // With the host's network the container's ports are the host's already.
            NetworkMode::Host => spec.ports.clear(),
            NetworkMode::None => {}
        }
        for port in spec.ports.iter_mut().filter(|p| p.host_port == 0) {
            port.host_port = free_port(&port.protocol, &port.host_ip)?;
        }
        Ok(())
    }

    /// Before the runtime: the container's network namespace, when it joins bridge networks.
    pub(crate) fn setup_network(
        &self,
        record: &ContainerRecord,
    ) -> Result<Option<Namespace>, EngineError> {
        let NetworkMode::Bridge(attachments) = &record.spec.network else {
            return Ok(None);
        };
        let mut store = self.network_store()?;
        let attached = skiff_network::lease(&mut store, &record.id, &record.name, attachments)?;
        match skiff_network::create_namespace(&record.id, attached, &record.spec.ports) {
            Ok(namespace) => {
                if namespace.attached.iter().any(|a| a.network.dns_enabled) {
                    self.ensure_dns_server();
                }
                Ok(Some(namespace))
            }
            Err(err) => {
                let _ =
                    skiff_network::release(&mut store, &record.id, !record.spec.ports.is_empty());
                Err(err.into())
            }
        }
    }

    /// Starts the host's container DNS server unless one runs (`skiff __dns`, which detaches
    /// itself). Without it names do not resolve, but the container still runs.
    fn ensure_dns_server(&self) {
        let lock = self.dns_lock_path();
        match skiff_storage::lock::FileLock::try_exclusive(&lock) {
            Ok(Some(held)) => drop(held),
            _ => return,
        }
        if let Ok(exe) = std::env::current_exe() {
            let _ = std::process::Command::new(exe)
                .arg(DNS_COMMAND)
                .arg(&self.options.root)
                .arg(&lock)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }

    fn dns_lock_path(&self) -> std::path::PathBuf {
        self.options.runroot.join("dns.lock")
    }

    /// After the container: leases and port forwards go.
    pub(crate) fn release_network(&self, record: &ContainerRecord) -> Result<(), EngineError> {
        if !matches!(record.spec.network, NetworkMode::Bridge(_)) {
            return Ok(());
        }
        let mut store = self.network_store()?;
        Ok(skiff_network::release(
            &mut store,
            &record.id,
            !record.spec.ports.is_empty(),
        )?)
    }

    /// The addresses a running container holds.
    pub(crate) fn container_addresses(
        &self,
        record: &ContainerRecord,
    ) -> Result<Vec<ContainerAddress>, EngineError> {
        if !matches!(record.spec.network, NetworkMode::Bridge(_)) {
            return Ok(Vec::new());
        }
        let store = self.network_store()?;
        let mut out = Vec::new();
        for (name, address) in store.leases_of(&record.id)? {
            let Ok(network) = store.get(&name) else {
                continue;
            };
            let Ok((subnet, gateway)) = network.subnet() else {
                continue;
            };
            let o = address.octets();
            out.push(ContainerAddress {
                network: name,
                address,
                prefix: subnet.prefix,
                gateway,
                mac: format_mac(&[0x02, 0x42, o[0], o[1], o[2], o[3]]),
            });
        }
        Ok(out)
    }
}

/// The hidden command that runs the DNS server: `skiff __dns ROOT LOCK`.
pub const DNS_COMMAND: &str = "__dns";

/// `skiff __dns ROOT LOCK`: detaches (the caller waits only for the first process) and
/// serves until idle.
pub fn dns_main(args: &[String]) -> i32 {
    let [root, lock] = args else {
        return 125;
    };
    // SAFETY: the process is single-threaded here; the child goes on to serve, the parent
    // only exits.
    #[allow(unsafe_code)]
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { .. }) => 0,
        Ok(nix::unistd::ForkResult::Child) => {
            let _ = nix::unistd::setsid();
            let _ = std::env::set_current_dir("/");
            match skiff_network::dns::serve(std::path::Path::new(root), std::path::Path::new(lock))
            {
                Ok(()) => 0,
                Err(_) => 1,
            }
        }
        Err(_) => 125,
    }
}

/// The path the runtime joins a prepared namespace by.
pub(crate) fn namespace_path(namespace: &Namespace) -> String {
    format!(
        "/proc/{}/fd/{}",
        std::process::id(),
        namespace.fd.as_raw_fd()
    )
}

/// The container's own lines for /etc/hosts: its addresses with its names.
pub(crate) fn hosts_entries(attached: &[Attached], hostname: &str, name: &str) -> String {
    attached
        .iter()
        .map(|a| format!("{}\t{hostname} {name}\n", a.address))
        .collect()
}

fn uses(spec: &ContainerSpec, network: &str) -> bool {
    match &spec.network {
        NetworkMode::Bridge(attachments) => attachments.iter().any(|a| a.network == network),
        _ => false,
    }
}

/// A port nothing on the host listens on now (the kernel's choice).
fn free_port(protocol: &str, host_ip: &str) -> Result<u16, EngineError> {
    let ip = if host_ip.is_empty() {
        "0.0.0.0"
    } else {
        host_ip
    };
    let port = if protocol == "udp" {
        UdpSocket::bind((ip, 0)).and_then(|s| s.local_addr())
    } else {
        TcpListener::bind((ip, 0)).and_then(|s| s.local_addr())
    };
    port.map(|a| a.port()).map_err(|e| {
        EngineError::InvalidArgument(format!("finding a free {protocol} port on {ip}: {e}"))
    })
}
