//! Network actions (`network create/ls/inspect/rm/prune`) and a container's networking across
//! its life: names checked and ports chosen at create, the namespace wired before the runtime
//! runs, leases and forwards released when it exits.
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::os::fd::AsRawFd;

use oci_spec::image::ImageConfiguration;
use serde_json::{Value, json};
use skiff_network::usermode::{self, Helper};
use skiff_network::{
    Attached, CreateRequest, DEFAULT_NETWORK, Namespace, Network, NetworkStore, format_mac,
};
use skiff_spec::{ContainerSpec, NetworkAttachment, NetworkMode, PortMapping};

use crate::container::store::{ContainerRecord, State};
use crate::engine::Engine;
use crate::error::{EngineError, IoContext};

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
    /// On a network with IPv6.
    pub ipv6: Option<skiff_network::Address6>,
    /// The network's DNS server answers the container's names there.
    pub dns_enabled: bool,
}

impl Engine {
    pub(crate) fn network_store(&self) -> Result<NetworkStore, EngineError> {
        Ok(NetworkStore::open(&self.options.root)?)
    }

    /// What a container joins when `--network` is not given: Podman's default bridge for
    /// root; pasta for a rootless user (as Podman 5: bridges, in the rootless network
    /// namespace, are for `--network NAME`), else slirp4netns, else a private namespace with
    /// loopback only.
    pub fn default_network_mode(&self) -> NetworkMode {
        if self.options.rootless {
            if Helper::Pasta.available() {
                NetworkMode::Pasta
            } else if Helper::Slirp4netns.available() {
                NetworkMode::Slirp4netns
            } else {
                NetworkMode::None
            }
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

    /// Every network, by name (as Podman lists them).
    pub fn list_networks(&self) -> Result<Vec<NetworkReport>, EngineError> {
        let mut networks = self.network_store()?.list()?;
        networks.sort_by(|a, b| a.name.cmp(&b.name));
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
        } else if let Some(removed) = crate::rootless_netns::inside(&self.options.runroot, || {
            skiff_network::remove_bridge(&report.network)
        }) {
            // Without a rootless network namespace there is no bridge left to remove.
            removed?;
        }
        Ok(report.network.name)
    }

    /// `network connect`: the container joins one more network, at once when it runs (a new
    /// `ethN`), else from its next start.
    pub fn connect_network(
        &mut self,
        container: &str,
        mut attachment: NetworkAttachment,
    ) -> Result<(), EngineError> {
        let mut store = self.network_store()?;
        let network = store.get(&attachment.network)?;
        attachment.network = network.name.clone();
        let (record, _lock) = self.bridged_container(container)?;
        let mut spec = record.spec.clone();
        let NetworkMode::Bridge(attachments) = &mut spec.network else {
            unreachable!("checked by bridged_container")
        };
        if attachments.iter().any(|a| a.network == network.name) {
            return Err(EngineError::Conflict(format!(
                "container {} is already connected to network {:?}: network is already connected",
                record.name, network.name
            )));
        }
        if record.state == State::Running {
            let netns = format!("/proc/{}/ns/net", record.pid);
            let (root, dns_lock, resolv_conf) = (
                self.options.root.clone(),
                self.dns_lock_path(),
                self.upstream_resolv_conf(),
            );
            let mut plug = || {
                skiff_network::connect(
                    &mut store,
                    &record.id,
                    &record.name,
                    &attachment,
                    std::path::Path::new(&netns),
                )?;
                if network.dns_enabled {
                    ensure_dns_server(&root, &dns_lock, &resolv_conf);
                }
                Ok::<_, EngineError>(())
            };
            if self.options.rootless {
                crate::rootless_netns::inside(&self.options.runroot, plug).ok_or_else(|| {
                    EngineError::Rootless("the rootless network namespace is not running".into())
                })??;
            } else {
                plug()?;
            }
        }
        attachments.push(attachment);
        self.containers.update_spec(&record.id, &spec)
    }

    /// `network disconnect`: the container leaves a network, at once when it runs.
    pub fn disconnect_network(
        &mut self,
        container: &str,
        network: &str,
    ) -> Result<(), EngineError> {
        let mut store = self.network_store()?;
        let network = store.get(network)?;
        let (record, _lock) = self.bridged_container(container)?;
        let mut spec = record.spec.clone();
        let NetworkMode::Bridge(attachments) = &mut spec.network else {
            unreachable!("checked by bridged_container")
        };
        let before = attachments.len();
        attachments.retain(|a| a.network != network.name);
        if attachments.len() == before {
            return Err(EngineError::InvalidArgument(format!(
                "container {} is not connected to network {:?}",
                record.name, network.name
            )));
        }
        if record.state == State::Running {
            let netns = format!("/proc/{}/ns/net", record.pid);
            let mut unplug = || {
                skiff_network::disconnect(
                    &mut store,
                    &record.id,
                    &network,
                    std::path::Path::new(&netns),
                )
            };
            if self.options.rootless {
                crate::rootless_netns::inside(&self.options.runroot, unplug).ok_or_else(
                    || {
                        EngineError::Rootless(
                            "the rootless network namespace is not running".into(),
                        )
                    },
                )??;
            } else {
                unplug()?;
            }
        }
        self.containers.update_spec(&record.id, &spec)
    }

    /// A container on bridge networks, current and locked, for connect and disconnect.
    fn bridged_container(
        &self,
        name_or_id: &str,
    ) -> Result<(ContainerRecord, skiff_storage::lock::FileLock), EngineError> {
        let id = self.containers.lookup(name_or_id)?.id;
        let lock = self.container_lock(&id)?;
        let record = self.refresh(self.containers.lookup(&id)?)?;
        if !matches!(record.spec.network, NetworkMode::Bridge(_)) {
            return Err(EngineError::InvalidArgument(format!(
                "container {} uses --network {}: only containers on bridge networks can be connected to networks",
                record.name,
                record.spec.network.name()
            )));
        }
        Ok((record, lock))
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
        if spec.publish_all {
            let exposed = image
                .config()
                .as_ref()
                .and_then(|c| c.exposed_ports().clone())
                .unwrap_or_default();
            for port in exposed.into_iter().chain(spec.expose.clone()) {
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
                let store = self.network_store()?;
                for attachment in attachments.iter_mut() {
                    if matches!(attachment.network.as_str(), "bridge" | "default") {
                        attachment.network = DEFAULT_NETWORK.into();
                    }
                    store.get(&attachment.network)?;
                }
            }
            NetworkMode::Container(name) => *name = self.containers.lookup(name)?.id,
            NetworkMode::Path(path) => {
                if !std::path::Path::new(path.as_str()).exists() {
                    return Err(EngineError::InvalidArgument(format!(
                        "--network ns:{path}: no such namespace file"
                    )));
                }
            }
            // Ports of other modes were discarded at create (see `create_container`).
            NetworkMode::Host
            | NetworkMode::None
            | NetworkMode::Pasta
            | NetworkMode::Slirp4netns => {}
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
        let attachments = match &record.spec.network {
            NetworkMode::Bridge(attachments) => attachments,
            mode @ (NetworkMode::Pasta | NetworkMode::Slirp4netns) => {
                let helper = if *mode == NetworkMode::Pasta {
                    Helper::Pasta
                } else {
                    Helper::Slirp4netns
                };
                return Ok(Some(usermode::create_namespace(
                    helper,
                    &self.run_dir(&record.id),
                    &record.spec.ports,
                    &record.spec.slirp,
                )?));
            }
            NetworkMode::Container(id) => {
                let target = self.refresh(self.containers.lookup(id)?)?;
                if target.state != State::Running {
                    return Err(EngineError::InvalidState(format!(
                        "cannot join the network namespace of container {}: it is not running",
                        target.name
                    )));
                }
                skiff_runtime::process::await_namespaces(target.pid);
                return joined_namespace(&format!("/proc/{}/ns/net", target.pid)).map(Some);
            }
            NetworkMode::Path(path) => return joined_namespace(path).map(Some),
            _ => return Ok(None),
        };
        // Here, in the host's namespace: the ports are the host's.
        self.check_ports_free(record)?;
        // Rootless bridges live in the shared rootless network namespace; this process is
        // in its owner's user namespace already (see `rootless_netns`).
        if self.options.rootless {
            crate::rootless_netns::enter(&self.options.runroot)?;
        }
        let mut store = self.network_store()?;
        let attached = skiff_network::lease(&mut store, &record.id, &record.name, attachments)?;
        // Rootless ports are not forwarded by the firewall but by a process of their own.
        let ports: &[PortMapping] = if self.options.rootless {
            &[]
        } else {
            &record.spec.ports
        };
        let created = skiff_network::create_namespace(&record.id, attached, ports).and_then(
            |mut namespace| {
                if self.options.rootless {
                    let run_dir = self.run_dir(&record.id);
                    namespace.path = Some(usermode::bind_namespace(&namespace.fd, &run_dir)?);
                }
                Ok(namespace)
            },
        );
        match created {
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

    /// Before a start with published ports, as Podman refuses it: a host port another
    /// running container publishes, or one a host process holds (forwarding would take its
    /// traffic).
    fn check_ports_free(&self, record: &ContainerRecord) -> Result<(), EngineError> {
        if record.spec.ports.is_empty() {
            return Ok(());
        }
        for other in self.containers.list()? {
            if other.id == record.id || other.state != State::Running {
                continue;
            }
            if let Some(port) = record
                .spec
                .ports
                .iter()
                .find(|p| other.spec.ports.iter().any(|q| same_host_port(p, q)))
            {
                return Err(EngineError::Conflict(format!(
                    "port {}/{} is already published by container {}: address already in use",
                    port.host_port, port.protocol, other.name
                )));
            }
        }
        // A rootless start listens on its ports itself (see `rootless_netns::listen`).
        for port in record.spec.ports.iter().filter(|_| !self.options.rootless) {
            if let Err(e) = bind_port(&port.protocol, &port.host_ip, port.host_port) {
                return Err(EngineError::Conflict(format!(
                    "cannot listen on the {} port {}:{}: {e}",
                    port.protocol.to_uppercase(),
                    bind_address(&port.host_ip),
                    port.host_port
                )));
            }
        }
        Ok(())
    }

    /// Starts the host's container DNS server unless one runs (`skiff __dns`, which detaches
    /// itself), and returns once it listens on every network's gateway: a container's first
    /// query must find it. Without it names do not resolve, but the container still runs.
    fn ensure_dns_server(&self) {
        ensure_dns_server(
            &self.options.root,
            &self.dns_lock_path(),
            &self.upstream_resolv_conf(),
        );
    }

    /// Where the DNS server finds the resolvers it forwards to: the host's, or for a rootless
    /// user the rootless network namespace's (see `rootless_netns`).
    fn upstream_resolv_conf(&self) -> std::path::PathBuf {
        let rootless = crate::rootless_netns::resolv_conf(&self.options.runroot);
        if self.options.rootless && rootless.exists() {
            rootless
        } else {
            "/etc/resolv.conf".into()
        }
    }

    fn dns_lock_path(&self) -> std::path::PathBuf {
        self.options.runroot.join("dns.lock")
    }

    /// Whether the container's published ports go through the rootless network namespace.
    pub(crate) fn rootless_forwards(&self, record: &ContainerRecord) -> bool {
        self.options.rootless
            && !record.spec.ports.is_empty()
            && matches!(record.spec.network, NetworkMode::Bridge(_))
    }

    /// Once a rootless container on bridge networks runs: the forwarder of its published
    /// ports (`listeners`, made on the host) to its address.
    pub(crate) fn forward_rootless_ports(
        &self,
        record: &ContainerRecord,
        pid: i32,
        listeners: Vec<crate::rootless_netns::Listener>,
    ) -> Result<(), String> {
        let addresses = self
            .container_addresses(record)
            .map_err(|e| e.to_string())?;
        let address = addresses.first().ok_or("the container has no address")?;
        crate::rootless_netns::start_forwarder(
            &self.run_dir(&record.id),
            pid,
            address.address,
            listeners,
        )
    }

    /// After the container: leases and port forwards go.
    pub(crate) fn release_network(&self, record: &ContainerRecord) -> Result<(), EngineError> {
        if matches!(
            record.spec.network,
            NetworkMode::Pasta | NetworkMode::Slirp4netns
        ) {
            usermode::stop(&self.run_dir(&record.id));
            return Ok(());
        }
        if !matches!(record.spec.network, NetworkMode::Bridge(_)) {
            return Ok(());
        }
        if self.options.rootless {
            usermode::unbind_namespace(&self.run_dir(&record.id));
        }
        let mut store = self.network_store()?;
        let had_ports = !record.spec.ports.is_empty();
        if self.options.rootless && had_ports {
            crate::rootless_netns::stop_forwarder(&self.run_dir(&record.id));
            return Ok(skiff_network::release(&mut store, &record.id, false)?);
        }
        Ok(skiff_network::release(&mut store, &record.id, had_ports)?)
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
                ipv6: network.address6(address),
                dns_enabled: network.dns_enabled,
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
    let (root, lock, resolv_conf) = match args {
        [root, lock] => (root, lock, "/etc/resolv.conf"),
        [root, lock, resolv_conf] => (root, lock, resolv_conf.as_str()),
        _ => return 125,
    };
    // SAFETY: the process is single-threaded here; the child goes on to serve, the parent
    // only exits.
    #[allow(unsafe_code)]
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { .. }) => 0,
        Ok(nix::unistd::ForkResult::Child) => {
            let _ = nix::unistd::setsid();
            let _ = std::env::set_current_dir("/");
            match skiff_network::dns::serve(
                std::path::Path::new(root),
                std::path::Path::new(lock),
                std::path::Path::new(resolv_conf),
            ) {
                Ok(()) => 0,
                Err(_) => 1,
            }
        }
        Err(_) => 125,
    }
}

/// An existing namespace the container joins, held open until the runtime has.
fn joined_namespace(path: &str) -> Result<Namespace, EngineError> {
    let fd = std::fs::File::open(path).io("open", std::path::Path::new(path))?;
    Ok(Namespace {
        fd: fd.into(),
        path: Some(path.into()),
        attached: Vec::new(),
        resolvers: Vec::new(),
        address: None,
    })
}

/// Starts the DNS server of the storage `root` unless it runs, and has it look at the
/// networks again; in the calling thread's network namespace.
fn ensure_dns_server(
    root: &std::path::Path,
    lock: &std::path::Path,
    resolv_conf: &std::path::Path,
) {
    let running = match skiff_storage::lock::FileLock::try_exclusive(lock) {
        Ok(Some(held)) => {
            drop(held);
            false
        }
        _ => true,
    };
    if !running && let Ok(exe) = std::env::current_exe() {
        let _ = std::process::Command::new(exe)
            .arg(DNS_COMMAND)
            .arg(root)
            .arg(lock)
            .arg(resolv_conf)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
    // A new server may take a moment to publish its control port.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while !skiff_network::dns::rescan(lock) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The path the runtime joins a prepared namespace by.
pub(crate) fn namespace_path(namespace: &Namespace) -> String {
    match &namespace.path {
        Some(path) => path.display().to_string(),
        None => format!(
            "/proc/{}/fd/{}",
            std::process::id(),
            namespace.fd.as_raw_fd()
        ),
    }
}

/// The container's own lines for /etc/hosts: its addresses with its names.
pub(crate) fn hosts_entries(attached: &[Attached], hostname: &str, name: &str) -> String {
    let mut lines = String::new();
    for attachment in attached {
        lines.push_str(&format!("{}\t{hostname} {name}\n", attachment.address));
        if let Some(ipv6) = &attachment.ipv6 {
            lines.push_str(&format!("{}\t{hostname} {name}\n", ipv6.address));
        }
    }
    lines
}

fn uses(spec: &ContainerSpec, network: &str) -> bool {
    match &spec.network {
        NetworkMode::Bridge(attachments) => attachments.iter().any(|a| a.network == network),
        _ => false,
    }
}

/// A port nothing on the host listens on now (the kernel's choice).
fn free_port(protocol: &str, host_ip: &str) -> Result<u16, EngineError> {
    bind_port(protocol, host_ip, 0).map_err(|e| {
        EngineError::InvalidArgument(format!(
            "finding a free {protocol} port on {}: {e}",
            bind_address(host_ip)
        ))
    })
}

fn bind_address(host_ip: &str) -> &str {
    if host_ip.is_empty() {
        "0.0.0.0"
    } else {
        host_ip
    }
}

/// Binds `port` (0: any) on the host for a moment; the port it got.
fn bind_port(protocol: &str, host_ip: &str, port: u16) -> std::io::Result<u16> {
    let ip = bind_address(host_ip);
    let bound = if protocol == "udp" {
        UdpSocket::bind((ip, port)).and_then(|s| s.local_addr())
    } else {
        TcpListener::bind((ip, port)).and_then(|s| s.local_addr())
    };
    bound.map(|a| a.port())
}

/// Whether two published ports would take the same host port.
fn same_host_port(a: &PortMapping, b: &PortMapping) -> bool {
    a.host_port == b.host_port
        && a.protocol == b.protocol
        && (a.host_ip.is_empty() || b.host_ip.is_empty() || a.host_ip == b.host_ip)
}
