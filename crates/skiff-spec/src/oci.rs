//! `ContainerSpec` + image config + host facts → OCI runtime `config.json`.
use std::collections::BTreeMap;
use std::path::PathBuf;

use oci_spec::image::ImageConfiguration;
use serde_json::{Value, json};

use crate::SpecError;
use crate::capabilities::{capability_set, clamp_to};
use crate::container::{ContainerSpec, MountSpec, NamespaceMode, NetworkMode, SeccompChoice};
use crate::mounts::{MASKED_PATHS, READONLY_PATHS};
use crate::seccomp::{DEFAULT_PROFILE, profile_to_oci};
use crate::user::ResolvedUser;

pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Where `--init` puts the init binary, as Podman does.
pub const INIT_PATH: &str = "/run/podman-init";
/// A volume's contents, below its directory (Podman's layout).
pub const VOLUME_DATA: &str = "_data";
/// Podman's default `pids_limit`.
pub const DEFAULT_PIDS_LIMIT: i64 = 2048;

/// Files generated on the host and bind-mounted into the container.
#[derive(Debug, Clone)]
pub struct HostFiles {
    pub hostname: PathBuf,
    pub hosts: PathBuf,
    pub resolv_conf: PathBuf,
    /// `/run/.containerenv`: how a process tells it runs in a container (and, privileged,
    /// which one), as Podman gives it.
    pub containerenv: PathBuf,
}

/// What the host and the engine know that the spec does not.
#[derive(Debug, Clone)]
pub struct RuntimeContext {
    pub id: String,
    pub rootfs: PathBuf,
    /// Where named volumes live (`<volume_dir>/<name>/_data`).
    pub volume_dir: PathBuf,
    /// For `--pid`/`--ipc`/`--uts container:NAME`: the PID of that container's init, whose
    /// namespaces (and, for IPC, /dev/shm) this one joins.
    pub joined_pid: Option<i32>,
    /// Running inside a user namespace as an unprivileged host user.
    pub rootless: bool,
    /// The host's cgroups can take limits for this user (root, or delegated cgroup v2).
    pub cgroups_usable: bool,
    /// The host is on cgroup v2 alone (gives the container a private cgroup namespace).
    pub cgroup_v2: bool,
    pub cgroups_path: String,
    pub host_files: HostFiles,
    pub user: ResolvedUser,
    /// Host path of an init binary for `--init`.
    pub init_binary: Option<PathBuf>,
    /// Capabilities the runtime may grant (bit n = capability n), see `current_bounding_set`.
    pub bounding_capabilities: u64,
    /// A network namespace prepared for the container (bridge networks), joined by path.
    pub network_namespace: Option<String>,
    /// Where each `--mount type=image` is mounted on the host, in the order of the spec's mounts.
    pub image_mounts: Vec<PathBuf>,
    /// Variables the starting process passes on (systemd's socket activation: LISTEN_FDS,
    /// LISTEN_FDNAMES, and LISTEN_PID=1), set last.
    pub extra_env: Vec<String>,
}

impl ContainerSpec {
    /// Entrypoint + command as the container will run them, before `--init` is put in front.
    pub fn process_args(&self, image: &ImageConfiguration) -> Vec<String> {
        let config = image.config().as_ref();
        let entrypoint = match &self.entrypoint {
            Some(e) => e.clone(),
            None => config
                .and_then(|c| c.entrypoint().clone())
                .unwrap_or_default(),
        };
        let command = if !self.command.is_empty() {
            self.command.clone()
        } else if self.entrypoint.is_some() {
            Vec::new() // a new entrypoint resets the image's CMD, as in Docker
        } else {
            config.and_then(|c| c.cmd().clone()).unwrap_or_default()
        };
        entrypoint.into_iter().chain(command).collect()
    }

    /// The environment: PATH, image ENV, then `-e`/`--env-file`, later keys replacing earlier.
    pub fn process_env(
        &self,
        image: &ImageConfiguration,
        hostname: &str,
        home: &str,
    ) -> Vec<String> {
        // Podman's defaults (containers.conf env: PATH and TERM=xterm; container=ENGINE).
        let mut env: Vec<String> = vec![
            DEFAULT_PATH.to_string(),
            "TERM=xterm".to_string(),
            "container=skiff".to_string(),
        ];
        let image_env = image
            .config()
            .as_ref()
            .and_then(|c| c.env().clone())
            .unwrap_or_default();
        for entry in image_env {
            set_env(&mut env, entry);
        }
        if !self.unset_env_all {
            if !env.iter().any(|e| e.starts_with("HOSTNAME=")) {
                env.push(format!("HOSTNAME={hostname}"));
            }
            if !env.iter().any(|e| e.starts_with("HOME=")) {
                env.push(format!("HOME={home}"));
            }
        }
        if self.unset_env_all {
            env.clear();
        }
        env.retain(|e| {
            let key = e.split('=').next().unwrap_or(e);
            !self.unset_env.iter().any(|unset| unset == key)
        });
        for entry in &self.env {
            set_env(&mut env, entry.clone());
        }
        env
    }

    /// Hostname: `--hostname`, else the first 12 characters of the ID.
    pub fn effective_hostname(&self, id: &str) -> String {
        match (&self.hostname, &self.network) {
            (Some(h), _) => h.clone(),
            (None, NetworkMode::Host) => nix_hostname(),
            (None, _) if self.uts == NamespaceMode::Host => nix_hostname(),
            (None, _) => id.chars().take(12).collect(),
        }
    }
}

fn nix_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

fn set_env(env: &mut Vec<String>, entry: String) {
    let key = entry.split('=').next().unwrap_or_default().to_string();
    env.retain(|e| e.split('=').next() != Some(key.as_str()));
    env.push(entry);
}

/// Builds the OCI runtime config for one start of a container, typed: what the runtime reads
/// is what `oci_spec` parses, and a config that does not parse is an error, never a file.
pub fn generate(
    spec: &ContainerSpec,
    image: &ImageConfiguration,
    context: &RuntimeContext,
) -> Result<oci_spec::runtime::Spec, SpecError> {
    Ok(serde_json::from_value(config_json(spec, image, context)?)?)
}

fn config_json(
    spec: &ContainerSpec,
    image: &ImageConfiguration,
    context: &RuntimeContext,
) -> Result<Value, SpecError> {
    let hostname = spec.effective_hostname(&context.id);
    let mut args = spec.process_args(image);
    if spec.init {
        args.splice(0..0, [INIT_PATH.to_string(), "--".to_string()]);
    }
    let workdir = spec
        .workdir
        .clone()
        .or_else(|| {
            image
                .config()
                .as_ref()
                .and_then(|c| c.working_dir().clone())
        })
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".into());
    let capabilities = clamp_to(
        capability_set(spec.privileged, &spec.cap_add, &spec.cap_drop)?,
        context.bounding_capabilities,
    );
    // A non-root process keeps the set only as its bounding set, as in Podman.
    let effective = if context.user.uid == 0 {
        capabilities.clone()
    } else {
        Vec::new()
    };
    let mut env = spec.process_env(image, &hostname, &context.user.home);
    if spec.systemd_active {
        // Podman's: the ID's first 32 characters, for systemd's machine ID.
        let uuid = &context.id[..context.id.len().min(32)];
        set_env(&mut env, format!("container_uuid={uuid}"));
    }
    for entry in &context.extra_env {
        set_env(&mut env, entry.clone());
    }
    let process = json!({
        "terminal": spec.tty,
        "user": {
            "uid": context.user.uid,
            "gid": context.user.gid,
            "additionalGids": context.user.additional_gids,
            "umask": spec.umask,
        },
        "args": args,
        "env": env,
        "cwd": workdir,
        "capabilities": {
            "bounding": capabilities,
            "effective": effective,
            "permitted": effective,
        },
    });
    // Only when set: libcontainer treats a present `false` like `true` and loads the seccomp
    // filter after dropping CAP_SYS_ADMIN, which the kernel refuses without no_new_privs.
    let mut process = process;
    if spec.no_new_privileges {
        process["noNewPrivileges"] = json!(true);
    }
    let rlimits = spec.limits.rlimits();
    if !rlimits.is_empty() {
        process["rlimits"] = json!(rlimits);
    }
    if let Some(adj) = spec.limits.oom_score_adj {
        process["oomScoreAdj"] = json!(adj);
    }

    let mut namespaces = Vec::new();
    // A user namespace of its own (or another container's) comes first: the others are made
    // inside it.
    match (&spec.userns, context.joined_pid) {
        (crate::UserNamespace::Container(_), Some(pid)) => {
            namespaces.push(json!({"type": "user", "path": format!("/proc/{pid}/ns/user")}))
        }
        _ if !spec.uid_map.is_empty() => namespaces.push(json!({"type": "user"})),
        _ => {}
    }
    for (kind, mode) in [("pid", &spec.pid), ("ipc", &spec.ipc), ("uts", &spec.uts)] {
        match (mode, context.joined_pid) {
            (NamespaceMode::Host, _) => {}
            (NamespaceMode::Container(_), Some(pid)) => {
                namespaces.push(json!({"type": kind, "path": format!("/proc/{pid}/ns/{kind}")}))
            }
            _ => namespaces.push(json!({"type": kind})),
        }
    }
    namespaces.push(json!({"type": "mount"}));
    match (&spec.network, &context.network_namespace) {
        (NetworkMode::Host, _) => {}
        (_, Some(path)) => namespaces.push(json!({"type": "network", "path": path})),
        (_, None) => namespaces.push(json!({"type": "network"})),
    }
    // A private cgroup namespace by default where cgroup v2 is alone, as Podman.
    if spec.limits.cgroupns_private.unwrap_or(context.cgroup_v2) {
        namespaces.push(json!({"type": "cgroup"}));
    }

    let mut linux = json!({
        "namespaces": namespaces,
        "cgroupsPath": context.cgroups_path,
    });
    if !spec.uid_map.is_empty() && !matches!(spec.userns, crate::UserNamespace::Container(_)) {
        let maps = |maps: &[crate::IdMapping]| {
            maps.iter()
                .map(
                    |m| json!({"containerID": m.container_id, "hostID": m.host_id, "size": m.size}),
                )
                .collect::<Vec<_>>()
        };
        linux["uidMappings"] = json!(maps(&spec.uid_map));
        linux["gidMappings"] = json!(maps(&spec.gid_map));
    }
    // Podman's default sysctl (containers.conf default_sysctls): ping through ICMP sockets
    // without CAP_NET_RAW, in a network namespace of the container's own. Not where a user
    // namespace of its own joins one the engine made: that namespace's settings are not its
    // to write.
    let foreign_network = !spec.uid_map.is_empty() && context.network_namespace.is_some();
    if !matches!(spec.network, NetworkMode::Host | NetworkMode::Path(_)) && !foreign_network {
        linux["sysctl"] = json!({"net.ipv4.ping_group_range": "0 0"});
    }
    for (key, value) in &spec.limits.sysctls {
        linux["sysctl"][key] = json!(value);
    }
    if !spec.privileged {
        let kept = |paths: &[&str]| -> Vec<String> {
            paths
                .iter()
                .filter(|path| !spec.unmask.iter().any(|pattern| unmasks(pattern, path)))
                .map(|path| path.to_string())
                .collect()
        };
        let mut masked = kept(MASKED_PATHS);
        masked.extend(spec.mask.iter().cloned());
        linux["maskedPaths"] = json!(masked);
        linux["readonlyPaths"] = json!(kept(READONLY_PATHS));
    }
    let seccomp = match &spec.seccomp {
        SeccompChoice::Unconfined => None,
        _ if spec.privileged => None,
        SeccompChoice::Default => Some(profile_to_oci(DEFAULT_PROFILE, &capabilities)?),
        SeccompChoice::Profile(profile) => Some(profile_to_oci(profile, &capabilities)?),
    };
    if let Some(seccomp) = seccomp {
        linux["seccomp"] = seccomp;
    }
    if context.cgroups_usable && !spec.limits.cgroups_disabled {
        let mut resources = json!({"devices": [{"allow": false, "access": "rwm"}]});
        let pids = spec.pids_limit.unwrap_or(DEFAULT_PIDS_LIMIT);
        if pids > 0 {
            resources["pids"] = json!({"limit": pids});
        }
        if let Some(memory) = spec.memory {
            resources["memory"] = json!({"limit": memory});
        }
        if let Some(cpus) = spec.cpus {
            let period: u64 = 100_000;
            resources["cpu"] = json!({"quota": (cpus * period as f64) as i64, "period": period});
        }
        if spec.privileged {
            resources["devices"] = json!([{"allow": true, "access": "rwm"}]);
        } else if let Some(rules) = resources["devices"].as_array_mut() {
            rules.extend(spec.limits.device_allowances());
        }
        spec.limits.add_resources(&mut resources);
        linux["resources"] = resources;
    }
    if let Some(domain) = &spec.personality {
        linux["personality"] = json!({"domain": domain});
    }

    let mut devices = spec.limits.oci_devices();
    if spec.privileged && !context.rootless {
        devices.extend(crate::limits::privileged_devices(
            spec.systemd_active,
            &spec.limits.devices,
        ));
    }
    if !devices.is_empty() && !context.rootless {
        linux["devices"] = json!(devices);
    }
    let mut config = json!({
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": context.rootfs, "readonly": spec.read_only},
        "hostname": hostname,
        "mounts": mounts(spec, context),
        "linux": linux,
        "annotations": annotations(spec),
    });
    // Without a UTS namespace of its own, the container cannot set a hostname.
    if spec.uts != NamespaceMode::Private
        && let Some(config) = config.as_object_mut()
    {
        config.remove("hostname");
    }
    Ok(config)
}

/// The OCI configuration's annotations: the user's, and which engine made the container.
pub fn annotations(spec: &ContainerSpec) -> BTreeMap<String, String> {
    let mut annotations = spec.annotations.clone();
    annotations.insert("io.container.manager".into(), "skiff".into());
    annotations
}

/// Whether `--security-opt unmask=PATTERN` opens `path`: `ALL`, the path itself, or a glob
/// whose `*` stands for any characters but `/` (Go's filepath.Match, as Podman uses).
fn unmasks(pattern: &str, path: &str) -> bool {
    fn glob(pattern: &[u8], text: &[u8]) -> bool {
        match (pattern.first(), text.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                glob(&pattern[1..], text)
                    || (!text.is_empty() && text[0] != b'/' && glob(pattern, &text[1..]))
            }
            (Some(p), Some(t)) if p == t => glob(&pattern[1..], &text[1..]),
            _ => false,
        }
    }
    pattern == "ALL" || glob(pattern.as_bytes(), path.as_bytes())
}

fn mounts(spec: &ContainerSpec, context: &RuntimeContext) -> Vec<Value> {
    // In a user namespace of its own, the container may mount only what that namespace owns.
    let own_userns = !spec.uid_map.is_empty();
    let unprivileged = context.rootless || own_userns;
    // A rootless container cannot mount a procfs of the host's PID namespace: it binds it.
    let proc = if unprivileged && spec.pid == NamespaceMode::Host {
        json!({"destination": "/proc", "type": "bind", "source": "/proc", "options": ["rbind", "nosuid", "noexec", "nodev"]})
    } else {
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]})
    };
    // The host's IPC namespace comes with the host's shared memory. (A container joining
    // another's IPC namespace shares its System V objects and message queues; its /dev/shm
    // stays its own: a mount of another mount namespace cannot be bound here.)
    let shm = if spec.ipc == NamespaceMode::Host {
        json!({"destination": "/dev/shm", "type": "bind", "source": "/dev/shm", "options": ["rbind", "nosuid", "noexec", "nodev"]})
    } else {
        let size = spec
            .limits
            .shm_size
            .map_or(65536, |bytes| (bytes / 1024).max(1));
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", format!("size={size}k")]})
    };
    // Terminals belong to the tty group (5), where the container's maps have it.
    let mut devpts = vec![
        "nosuid",
        "noexec",
        "newinstance",
        "ptmxmode=0666",
        "mode=0620",
    ];
    if !own_userns || crate::maps_id(&spec.gid_map, 5) {
        devpts.push("gid=5");
    }
    let mut mounts = vec![
        proc,
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": devpts}),
    ];
    // A message queue filesystem belongs to an IPC namespace: a rootless container cannot
    // mount the host's, nor one with a user namespace of its own another container's.
    let foreign_ipc = match &spec.ipc {
        NamespaceMode::Host => unprivileged,
        NamespaceMode::Container(_) => own_userns,
        NamespaceMode::Private => false,
    };
    if !foreign_ipc {
        mounts.push(json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}));
    }
    mounts.push(shm);
    // A rootless container in a network namespace its user namespace does not own (the
    // host's, or one given by path; with a user namespace of its own, any the engine made)
    // may not mount a new sysfs.
    if own_userns
        || (context.rootless && matches!(spec.network, NetworkMode::Host | NetworkMode::Path(_)))
    {
        mounts.push(json!({"destination": "/sys", "type": "bind", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}));
    } else {
        mounts.push(json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}));
    }
    // Read-only unless privileged, as Podman: a writable cgroupfs lets container root lift its
    // own limits and, on cgroup v1, reach release_agent (CVE-2022-0492).
    // `--security-opt unmask=/sys/fs/cgroup` (or ALL) opens it too, as in Podman.
    let unmasked = spec.unmask.iter().any(|p| unmasks(p, "/sys/fs/cgroup"));
    let access = if spec.privileged || unmasked {
        "rw"
    } else {
        "ro"
    };
    if unprivileged && !context.cgroup_v2 {
        let mut options = vec!["rbind", "nosuid", "noexec", "nodev", access];
        if access == "ro" {
            // The host's hierarchies are mounts below the bound tmpfs: read-only all the way.
            options.push("rro");
        }
        mounts.push(json!({"destination": "/sys/fs/cgroup", "type": "bind", "source": "/sys/fs/cgroup", "options": options}));
    } else {
        mounts.push(json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", access]}));
    }
    let files = &context.host_files;
    for (destination, source) in [
        ("/etc/hostname", &files.hostname),
        ("/etc/hosts", &files.hosts),
        ("/etc/resolv.conf", &files.resolv_conf),
    ] {
        // --no-hosts: the image's own /etc/hosts.
        let skipped = destination == "/etc/hosts" && spec.no_hosts;
        if !skipped && !spec.mounts.iter().any(|m| m.destination() == destination) {
            mounts.push(json!({"destination": destination, "type": "bind", "source": source, "options": ["bind", "rprivate"]}));
        }
    }
    if !spec
        .mounts
        .iter()
        .any(|m| m.destination() == "/run/.containerenv")
    {
        mounts.push(json!({"destination": "/run/.containerenv", "type": "bind", "source": files.containerenv, "options": ["bind", "rprivate", "ro"]}));
    }
    if let Some(zone) = &spec.timezone
        && !spec
            .mounts
            .iter()
            .any(|m| m.destination() == "/etc/localtime")
    {
        let source = crate::container::timezone_file(zone);
        mounts.push(json!({"destination": "/etc/localtime", "type": "bind", "source": source, "options": ["bind", "rprivate", "ro"]}));
    }
    if let (true, Some(init)) = (spec.init, &context.init_binary) {
        mounts.push(json!({"destination": INIT_PATH, "type": "bind", "source": init, "options": ["bind", "ro", "nosuid", "nodev"]}));
    }
    if context.rootless {
        mounts.extend(spec.limits.device_binds());
    }
    let mut image_mounts = context.image_mounts.iter();
    for mount in &spec.mounts {
        mounts.push(match mount {
            MountSpec::Bind { source, destination, options } => {
                json!({"destination": destination, "type": "bind", "source": source, "options": options})
            }
            MountSpec::Tmpfs { destination, options } => {
                json!({"destination": destination, "type": "tmpfs", "source": "tmpfs", "options": options})
            }
            MountSpec::Volume { name, destination, options, .. } => {
                let source = context.volume_dir.join(name).join(VOLUME_DATA);
                let options: Vec<&String> =
                    options.iter().filter(|o| !matches!(o.as_str(), "copy" | "nocopy")).collect();
                json!({"destination": destination, "type": "bind", "source": source, "options": options})
            }
            MountSpec::Image { destination, read_write, .. } => {
                let Some(source) = image_mounts.next() else {
                    continue;
                };
                let mode = if *read_write { "rw" } else { "ro" };
                json!({"destination": destination, "type": "bind", "source": source, "options": ["rbind", mode]})
            }
        });
    }
    mounts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> RuntimeContext {
        RuntimeContext {
            id: "0123456789abcdef".into(),
            rootfs: "/r".into(),
            volume_dir: "/v".into(),
            joined_pid: None,
            rootless: false,
            cgroups_usable: true,
            cgroup_v2: false,
            cgroups_path: "/skiff/0123".into(),
            host_files: HostFiles {
                hostname: "/h".into(),
                hosts: "/hs".into(),
                resolv_conf: "/rc".into(),
                containerenv: "/ce".into(),
            },
            user: ResolvedUser {
                uid: 0,
                gid: 0,
                additional_gids: vec![],
                home: "/root".into(),
            },
            extra_env: Vec::new(),
            init_binary: None,
            bounding_capabilities: u64::MAX,
            network_namespace: None,
            image_mounts: Vec::new(),
        }
    }

    /// The generated config as JSON, after its trip through the typed `Spec`.
    fn generated(
        spec: &ContainerSpec,
        image: &ImageConfiguration,
        context: &RuntimeContext,
    ) -> Value {
        serde_json::to_value(generate(spec, image, context).unwrap()).unwrap()
    }

    fn image(config: Value) -> ImageConfiguration {
        serde_json::from_value(json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "config": config})).unwrap()
    }

    #[test]
    fn ping_group_range_is_podmans_in_private_network_namespaces() {
        let sysctl = |network: NetworkMode| {
            let spec = ContainerSpec {
                command: vec!["true".into()],
                network,
                ..Default::default()
            };
            generated(&spec, &image(json!({})), &context())["linux"]["sysctl"].clone()
        };
        assert_eq!(
            sysctl(NetworkMode::None)["net.ipv4.ping_group_range"],
            "0 0"
        );
        assert_eq!(
            sysctl(NetworkMode::Pasta)["net.ipv4.ping_group_range"],
            "0 0"
        );
        assert!(sysctl(NetworkMode::Host).is_null());
    }

    #[test]
    fn a_user_namespace_of_its_own_comes_first_with_its_maps() {
        let map = |container_id, host_id, size| crate::IdMapping {
            container_id,
            host_id,
            size,
        };
        let spec = ContainerSpec {
            command: vec!["true".into()],
            network: NetworkMode::Pasta,
            uid_map: vec![map(0, 1, 1000), map(1000, 0, 1)],
            gid_map: vec![map(1000, 0, 1)],
            ..Default::default()
        };
        let mut joined = context();
        joined.network_namespace = Some("/run/netns/x".into());
        let config = generated(&spec, &image(json!({})), &joined);
        assert_eq!(config["linux"]["namespaces"][0], json!({"type": "user"}));
        assert_eq!(
            config["linux"]["uidMappings"],
            json!([{"containerID": 0, "hostID": 1, "size": 1000}, {"containerID": 1000, "hostID": 0, "size": 1}])
        );
        assert_eq!(config["linux"]["gidMappings"][0]["containerID"], 1000);
        let mount = |destination: &str| {
            config["mounts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["destination"] == destination)
                .unwrap()
                .clone()
        };
        // What the engine's namespace owns is bound, not mounted anew; tty's group 5 is not
        // mapped here, so devpts does not name it; the network's settings are not its own.
        assert_eq!(mount("/sys")["type"], "bind");
        assert_eq!(mount("/sys/fs/cgroup")["type"], "bind");
        assert!(!mount("/dev/pts")["options"].to_string().contains("gid=5"));
        assert!(config["linux"]["sysctl"].is_null());
        // Without one: no user namespace, and devpts' group is tty's.
        let plain = ContainerSpec {
            command: vec!["true".into()],
            ..Default::default()
        };
        let config = generated(&plain, &image(json!({})), &context());
        assert!(config["linux"]["uidMappings"].is_null());
        assert!(
            !config["linux"]["namespaces"]
                .to_string()
                .contains("\"user\"")
        );
    }

    #[test]
    fn unmask_opens_default_paths_and_mask_adds_some() {
        let paths = |unmask: &[&str], mask: &[&str]| {
            let spec = ContainerSpec {
                command: vec!["true".into()],
                unmask: unmask.iter().map(|s| s.to_string()).collect(),
                mask: mask.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            };
            let config = generated(&spec, &image(json!({})), &context());
            let list = |key: &str| -> Vec<String> {
                serde_json::from_value(config["linux"][key].clone()).unwrap()
            };
            (list("maskedPaths"), list("readonlyPaths"))
        };
        let (masked, readonly) = paths(&[], &[]);
        assert!(masked.contains(&"/proc/kcore".to_string()) && !readonly.is_empty());
        let (masked, readonly) = paths(&["ALL"], &["/secret"]);
        assert_eq!(masked, ["/secret"]);
        assert!(readonly.is_empty());
        let (masked, _) = paths(&["/proc/k*"], &[]);
        assert!(
            !masked.iter().any(|p| p.starts_with("/proc/k")),
            "{masked:?}"
        );
        assert!(masked.contains(&"/proc/acpi".to_string()));
        assert!(!unmasks("/proc/*", "/proc/sys/kernel"));
    }

    #[test]
    fn cgroupfs_is_read_only_unless_privileged() {
        let cgroup_options = |privileged: bool, rootless: bool| {
            let spec = ContainerSpec {
                command: vec!["true".into()],
                privileged,
                ..Default::default()
            };
            let mut ctx = context();
            ctx.rootless = rootless;
            let config = generated(&spec, &image(json!({})), &ctx);
            let mounts = config["mounts"].as_array().unwrap().clone();
            let cgroup = mounts
                .into_iter()
                .find(|m| m["destination"] == "/sys/fs/cgroup")
                .unwrap();
            cgroup["options"].as_array().unwrap().clone()
        };
        for rootless in [false, true] {
            assert!(cgroup_options(false, rootless).contains(&json!("ro")));
            assert!(!cgroup_options(false, rootless).contains(&json!("rw")));
            assert!(cgroup_options(true, rootless).contains(&json!("rw")));
        }
    }

    #[test]
    fn podman_defaults_are_applied() {
        let spec = ContainerSpec {
            command: vec!["true".into()],
            ..Default::default()
        };
        let config = generated(&spec, &image(json!({})), &context());
        assert_eq!(
            config["process"]["capabilities"]["bounding"]
                .as_array()
                .unwrap()
                .len(),
            11
        );
        assert_eq!(config["linux"]["resources"]["pids"]["limit"], 2048);
        assert!(
            config["linux"]["maskedPaths"]
                .as_array()
                .unwrap()
                .contains(&json!("/proc/kcore"))
        );
        assert!(
            config["linux"]["seccomp"]["syscalls"]
                .as_array()
                .unwrap()
                .len()
                > 10
        );
        assert_eq!(config["hostname"], "0123456789ab");
        let oci: oci_spec::runtime::Spec = serde_json::from_value(config).unwrap();
        assert!(oci.process().is_some());
    }

    #[test]
    fn entrypoint_replaces_image_cmd_and_env_overrides() {
        let img =
            image(json!({"Entrypoint": ["/bin/sh"], "Cmd": ["-c", "x"], "Env": ["A=1", "B=2"]}));
        let spec = ContainerSpec {
            entrypoint: Some(vec!["/bin/echo".into()]),
            env: vec!["A=3".into()],
            ..Default::default()
        };
        assert_eq!(spec.process_args(&img), vec!["/bin/echo"]);
        let env = spec.process_env(&img, "h", "/root");
        assert!(env.contains(&"A=3".to_string()) && !env.contains(&"A=1".to_string()));
        let plain = ContainerSpec::default();
        assert_eq!(plain.process_args(&img), vec!["/bin/sh", "-c", "x"]);
    }

    #[test]
    fn rootless_without_cgroups_gets_no_resources() {
        let mut ctx = context();
        ctx.rootless = true;
        ctx.cgroups_usable = false;
        let spec = ContainerSpec {
            memory: Some(1 << 20),
            ..Default::default()
        };
        let config = generated(&spec, &image(json!({})), &ctx);
        assert!(config["linux"].get("resources").is_none());
    }
}
