//! `info`: the host, the store, the registries and the version, in Podman's data model (its
//! JSON keys; the CLI gives templates Podman's Go field names). Where skiff has its own part
//! (the monitor in conmon's place, the embedded runtime), the field names that part.
use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use serde::Serialize;

use crate::container::store::State;
use crate::engine::Engine;
use crate::error::EngineError;

#[derive(Debug, Clone, Serialize)]
pub struct InfoReport {
    pub host: HostReport,
    pub store: StoreReport,
    pub registries: BTreeMap<String, Vec<String>>,
    pub plugins: BTreeMap<String, Vec<String>>,
    pub version: VersionReport,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostReport {
    pub arch: String,
    /// The builder's version: skiff builds with its own builder.
    pub buildah_version: String,
    pub cgroup_controllers: Vec<String>,
    pub cgroup_manager: String,
    pub cgroup_version: String,
    /// The per-container monitor (skiff-monitor in conmon's place).
    pub conmon: Program,
    pub cpus: usize,
    pub distribution: Distribution,
    pub event_logger: String,
    pub hostname: String,
    pub id_mappings: IdMappings,
    pub kernel: String,
    pub linkmode: String,
    pub log_driver: String,
    pub mem_free: u64,
    pub mem_total: u64,
    pub network_backend: String,
    pub oci_runtime: Program,
    pub os: String,
    pub remote_socket: RemoteSocket,
    pub security: Security,
    pub service_is_remote: bool,
    pub slirp4netns: Slirp,
    pub swap_free: u64,
    pub swap_total: u64,
    pub uptime: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Program {
    /// The OCI runtime's (Podman's conmon entry has none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub package: String,
    pub path: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Distribution {
    pub distribution: String,
    pub version: String,
    pub codename: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct IdMappings {
    pub uidmap: Vec<IdMap>,
    pub gidmap: Vec<IdMap>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdMap {
    pub container_id: u64,
    pub host_id: u64,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RemoteSocket {
    pub path: String,
    pub exists: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Security {
    pub apparmor_enabled: bool,
    pub capabilities: String,
    pub rootless: bool,
    pub seccomp_enabled: bool,
    pub seccomp_profile_path: String,
    pub selinux_enabled: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Slirp {
    pub executable: String,
    pub package: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreReport {
    pub config_file: String,
    pub container_store: ContainerCounts,
    pub graph_driver_name: String,
    pub graph_options: BTreeMap<String, String>,
    pub graph_root: PathBuf,
    pub graph_root_allocated: u64,
    pub graph_root_used: u64,
    pub graph_status: BTreeMap<String, String>,
    pub image_copy_tmp_dir: String,
    pub image_store: ImageCounts,
    pub run_root: PathBuf,
    pub volume_path: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContainerCounts {
    pub number: usize,
    pub paused: usize,
    pub running: usize,
    pub stopped: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageCounts {
    pub number: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionReport {
    #[serde(rename = "APIVersion")]
    pub api_version: String,
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "GoVersion")]
    pub go_version: String,
    #[serde(rename = "GitCommit")]
    pub git_commit: String,
    #[serde(rename = "BuiltTime")]
    pub built_time: String,
    #[serde(rename = "Built")]
    pub built: i64,
    #[serde(rename = "OsArch")]
    pub os_arch: String,
    #[serde(rename = "Os")]
    pub os: String,
}

impl VersionReport {
    pub fn current() -> Self {
        let arch = skiff_image::oci_architecture();
        Self {
            api_version: env!("CARGO_PKG_VERSION").into(),
            version: env!("CARGO_PKG_VERSION").into(),
            go_version: String::new(),
            git_commit: String::new(),
            built_time: String::new(),
            built: 0,
            os_arch: format!("linux/{arch}"),
            os: "linux".into(),
        }
    }
}

impl Engine {
    pub fn info(&self) -> Result<InfoReport, EngineError> {
        let records: Vec<_> = self
            .containers
            .list()?
            .into_iter()
            .map(|r| self.refresh(r))
            .collect::<Result<_, _>>()?;
        let running = records.iter().filter(|r| r.state == State::Running).count();
        let paused = records
            .iter()
            .filter(|r| r.state == State::Running && self.is_paused(&r.id, r.pid))
            .count();
        let memory = meminfo();
        let storage = nix::sys::statvfs::statvfs(&self.options.root).ok();
        let monitor = crate::monitor::monitor_binary()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let this = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let runtime = if self.options.runtime.is_empty() {
            Program {
                name: "skiff".into(),
                package: "skiff (embedded youki libcontainer 0.7)".into(),
                path: this,
                version: format!("skiff version {}", env!("CARGO_PKG_VERSION")),
            }
        } else {
            let path = which(&self.options.runtime).unwrap_or_else(|| self.options.runtime.clone());
            Program {
                name: PathBuf::from(&self.options.runtime)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                package: String::new(),
                version: String::new(),
                path,
            }
        };
        let slirp = which("slirp4netns").unwrap_or_default();
        let os_release = os_release();
        let field = |key: &str| os_release.get(key).cloned().unwrap_or_default();
        let search = self
            .registries_conf()
            .map(|conf| conf.search)
            .unwrap_or_default();
        Ok(InfoReport {
            host: HostReport {
                arch: skiff_image::oci_architecture().into(),
                buildah_version: env!("CARGO_PKG_VERSION").into(),
                cgroup_controllers: cgroup_controllers(),
                cgroup_manager: "cgroupfs".into(),
                cgroup_version: self.cgroup.version().into(),
                conmon: Program {
                    name: String::new(),
                    package: "skiff-monitor".into(),
                    path: monitor,
                    version: format!("skiff-monitor version {}", env!("CARGO_PKG_VERSION")),
                },
                cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
                distribution: Distribution {
                    distribution: field("ID"),
                    version: field("VERSION_ID"),
                    codename: field("VERSION_CODENAME"),
                },
                event_logger: match self.options.events {
                    crate::events::EventsBackend::File => "file".into(),
                    crate::events::EventsBackend::None => "none".into(),
                },
                hostname: fs::read_to_string("/proc/sys/kernel/hostname")
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
                id_mappings: if self.options.rootless {
                    IdMappings {
                        uidmap: id_map("/proc/self/uid_map"),
                        gidmap: id_map("/proc/self/gid_map"),
                    }
                } else {
                    IdMappings::default()
                },
                kernel: nix::sys::utsname::uname()
                    .map(|u| u.release().to_string_lossy().into_owned())
                    .unwrap_or_default(),
                linkmode: "dynamic".into(),
                log_driver: "k8s-file".into(),
                mem_free: memory.get("MemAvailable").copied().unwrap_or(0),
                mem_total: memory.get("MemTotal").copied().unwrap_or(0),
                network_backend: "skiff".into(),
                oci_runtime: runtime,
                os: "linux".into(),
                remote_socket: RemoteSocket {
                    path: self
                        .options
                        .runroot
                        .join("skiff.sock")
                        .display()
                        .to_string(),
                    exists: false,
                },
                security: Security {
                    apparmor_enabled: false,
                    capabilities: skiff_spec::DEFAULT_CAPABILITIES.join(","),
                    rootless: self.options.rootless,
                    seccomp_enabled: true,
                    seccomp_profile_path: "builtin".into(),
                    selinux_enabled: false,
                },
                service_is_remote: false,
                slirp4netns: Slirp {
                    package: if slirp.is_empty() {
                        String::new()
                    } else {
                        "slirp4netns".into()
                    },
                    executable: slirp,
                    version: String::new(),
                },
                swap_free: memory.get("SwapFree").copied().unwrap_or(0),
                swap_total: memory.get("SwapTotal").copied().unwrap_or(0),
                uptime: uptime(),
            },
            store: StoreReport {
                config_file: String::new(),
                container_store: ContainerCounts {
                    number: records.len(),
                    paused,
                    running: running - paused,
                    stopped: records.len() - running,
                },
                graph_driver_name: self.driver.name().into(),
                graph_options: BTreeMap::new(),
                graph_root: self.options.root.clone(),
                graph_root_allocated: storage
                    .as_ref()
                    .map_or(0, |s| s.blocks() * s.fragment_size()),
                graph_root_used: storage
                    .as_ref()
                    .map_or(0, |s| (s.blocks() - s.blocks_free()) * s.fragment_size()),
                graph_status: BTreeMap::from([
                    (
                        "Native Overlay Diff".to_string(),
                        (self.driver.name() == "overlay").to_string(),
                    ),
                    ("Supports d_type".to_string(), "true".to_string()),
                    ("Using metacopy".to_string(), "false".to_string()),
                ]),
                image_copy_tmp_dir: "/var/tmp".into(),
                image_store: ImageCounts {
                    number: self.images.list()?.len(),
                },
                run_root: self.options.runroot.clone(),
                volume_path: self
                    .options
                    .volume_path
                    .clone()
                    .unwrap_or_else(|| self.options.root.join("volumes")),
            },
            registries: BTreeMap::from([("search".to_string(), search)]),
            plugins: BTreeMap::from([
                ("log".to_string(), vec!["k8s-file".to_string()]),
                ("network".to_string(), vec!["bridge".to_string()]),
                ("volume".to_string(), Vec::new()),
            ]),
            version: VersionReport::current(),
        })
    }
}

/// /proc/meminfo in bytes, by key.
fn meminfo() -> BTreeMap<String, u64> {
    fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let (key, rest) = line.split_once(':')?;
            let kib: u64 = rest.split_whitespace().next()?.parse().ok()?;
            Some((key.to_string(), kib * 1024))
        })
        .collect()
}

fn os_release() -> BTreeMap<String, String> {
    fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let (key, value) = line.split_once('=')?;
            Some((key.to_string(), value.trim_matches('"').to_string()))
        })
        .collect()
}

/// The controllers of cgroup v2's root, or the v1 hierarchies mounted.
fn cgroup_controllers() -> Vec<String> {
    if let Ok(text) = fs::read_to_string("/sys/fs/cgroup/cgroup.controllers") {
        return text.split_whitespace().map(str::to_string).collect();
    }
    let mut found: Vec<String> = fs::read_to_string("/proc/self/cgroup")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split(':').nth(1))
        .flat_map(|c| c.split(','))
        .filter(|c| !c.is_empty() && !c.starts_with("name="))
        .map(str::to_string)
        .collect();
    found.sort();
    found
}

fn id_map(file: &str) -> Vec<IdMap> {
    crate::options::id_map_ranges(&fs::read_to_string(file).unwrap_or_default())
        .into_iter()
        .map(|(container_id, host_id, size)| IdMap {
            container_id,
            host_id,
            size,
        })
        .collect()
}

/// `1h 2m 3.00s (Approximately 0.04 days)`, as Podman writes the host's uptime.
fn uptime() -> String {
    let seconds: f64 = fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let whole = seconds as u64;
    format!(
        "{}h {}m {:.2}s (Approximately {:.2} days)",
        whole / 3600,
        whole % 3600 / 60,
        seconds % 60.0,
        seconds / 86400.0
    )
}

/// A program on PATH (or a path as given), if it exists.
fn which(program: &str) -> Option<String> {
    if program.contains('/') {
        return PathBuf::from(program)
            .is_file()
            .then(|| program.to_string());
    }
    std::env::var_os("PATH")?
        .to_string_lossy()
        .split(':')
        .map(|dir| PathBuf::from(dir).join(program))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}
