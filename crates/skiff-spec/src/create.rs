//! What a user asks for when creating a container (Podman's `ContainerCreateOptions`), as
//! every front end gives it: `run`/`create` flags, REST API bodies, kube YAML and compose files
//! turn into `CreateOptions`, and [`CreateOptions::to_spec`] alone validates them and makes
//! the `ContainerSpec`.
use serde::{Deserialize, Serialize};

use crate::container::{
    ContainerSpec, NetworkMode, PortMapping, RestartPolicy, SeccompChoice, SlirpOptions,
};
use crate::error::SpecError;
use crate::mounts::{parse_tmpfs, parse_volume};

/// Create options in the words of Podman's flags: values are the strings a user types.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CreateOptions {
    /// The image, or with `rootfs` the root filesystem's directory (`PATH[:O]`).
    pub image: String,
    /// `--rootfs`: `image` names a directory of the host's, not an image.
    pub rootfs: bool,
    pub command: Vec<String>,
    /// `--entrypoint`: a JSON array or one program; empty clears the image's.
    pub entrypoint: Option<String>,
    /// `-e KEY=VALUE` or `-e KEY` (this process's value).
    pub env: Vec<String>,
    pub env_file: Vec<std::path::PathBuf>,
    pub unsetenv: Vec<String>,
    pub unsetenv_all: bool,
    /// `--http-proxy` (the CLI's default; false from the REST API and compose): the caller's
    /// proxy variables go into the container, under its `--env-file` and `--env`.
    pub http_proxy: bool,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub volume: Vec<String>,
    /// `--mount type=bind|volume|tmpfs,...`.
    pub mount: Vec<String>,
    pub tmpfs: Vec<String>,
    pub read_only: bool,
    /// Capabilities; each entry may be a comma list.
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub security_opt: Vec<String>,
    /// `--network` values (repeatable, comma lists); empty takes the engine's default.
    pub network: Vec<String>,
    pub ip: Option<String>,
    pub mac_address: Option<String>,
    pub network_alias: Vec<String>,
    pub publish: Vec<String>,
    pub publish_all: bool,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_option: Vec<String>,
    pub add_host: Vec<String>,
    pub no_hosts: bool,
    /// `KEY=VALUE` or `KEY`.
    pub label: Vec<String>,
    /// `--annotation KEY=VALUE`: in the OCI configuration the runtime gets.
    pub annotation: Vec<String>,
    /// `--group-add`: groups (names in the container's /etc/group, or numbers) the process
    /// gets beside its user's; `keep-groups` alone keeps those of the process that starts it.
    pub group_add: Vec<String>,
    /// `--preserve-fds N`: descriptors 3 to 3+N-1 of the process that starts the container
    /// are passed to it.
    pub preserve_fds: u32,
    /// `--volumes-from CTR[:ro|rw]`: that container's volumes and bind mounts, mounted alike.
    pub volumes_from: Vec<String>,
    /// `--env-host`: this process's environment, over the image's and under `--env-file`
    /// and `-e`.
    pub env_host: bool,
    /// `--label-file`: `KEY=VALUE` lines (`#` comments), under `--label`.
    pub label_file: Vec<std::path::PathBuf>,
    /// `--expose PORT[-PORT][/PROTO]`: published by `-P` as the image's EXPOSE are.
    pub expose: Vec<String>,
    /// `--umask`: octal, the container process's.
    pub umask: Option<String>,
    /// `--pidfile`: written with the container's PID when it starts.
    pub pidfile: Option<String>,
    /// `--init-path`: the init `--init` runs, instead of the host's catatonit or tini.
    pub init_path: Option<String>,
    /// `--read-only-tmpfs` (None: true): with `--read-only`, writable tmpfs on /run, /tmp
    /// and /var/tmp, as Podman mounts them.
    pub read_only_tmpfs: Option<bool>,
    /// `--image-volume bind|tmpfs|ignore`: what the image's VOLUMEs become.
    pub image_volume: Option<String>,
    /// `--personality LINUX|LINUX32`: the process's execution domain.
    pub personality: Option<String>,
    /// `--seccomp-policy default|image`: `image` takes the profile an image carries in its
    /// `io.containers.seccomp.profile` label.
    pub seccomp_policy: Option<String>,
    /// `--secret NAME[,type=mount|env][,target=T][,uid=U,gid=G,mode=M]`.
    pub secret: Vec<String>,
    /// `--hostuser NAME|UID`: the host's /etc/passwd entry added to the container's.
    pub hostuser: Vec<String>,
    pub init: bool,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<u64>,
    pub rm: bool,
    pub interactive: bool,
    pub tty: bool,
    pub pids_limit: Option<i64>,
    /// `64m`, `1g`, bytes; 0 is no limit.
    pub memory: Option<String>,
    pub cpus: Option<f64>,
    /// Every other resource limit, as typed.
    #[serde(flatten)]
    pub limits: crate::limits::LimitOptions,
    pub restart: Option<String>,
    /// `--log-driver`: k8s-file (default), json-file, journald, none.
    pub log_driver: Option<String>,
    /// `--log-opt path=...|max-size=...|tag=...`.
    pub log_opt: Vec<String>,
    /// `--tz`: a time zone name, or `local`.
    pub tz: Option<String>,
    /// `--conmon-pidfile`: written with the monitor's PID at each start.
    pub conmon_pidfile: Option<String>,
    /// `--pid`, `--ipc`, `--uts`: host, private or container:NAME.
    pub pid: Option<String>,
    pub ipc: Option<String>,
    pub uts: Option<String>,
    /// `--userns host|keep-id[:uid=U,gid=G]|nomap`.
    pub userns: Option<String>,
    /// `--uidmap`/`--gidmap CONTAINER_ID:HOST_ID:SIZE` (either alone serves for both).
    pub uidmap: Vec<String>,
    pub gidmap: Vec<String>,
    /// `--timeout SECONDS` (0: none).
    pub timeout: Option<u64>,
    /// `--pod NAME|ID` or `new:NAME` (a pod made for it): the pod the container joins.
    pub pod: Option<String>,
    /// `--health-cmd`: a command for /bin/sh -c, or a JSON array (CMD, CMD-SHELL or NONE first).
    pub health_cmd: Option<String>,
    /// `--health-interval`: a Go duration, or `disable`.
    pub health_interval: Option<String>,
    pub health_retries: Option<u32>,
    pub health_timeout: Option<String>,
    pub health_start_period: Option<String>,
    /// `--health-on-failure none|kill|restart|stop`.
    pub health_on_failure: Option<String>,
    pub no_healthcheck: bool,
    /// `--systemd true|false|always`.
    pub systemd: Option<String>,
    /// `--sdnotify container|conmon|ignore`.
    pub sdnotify: Option<String>,
    /// `--requires CTR[,CTR]`: containers started before this one.
    pub requires: Vec<String>,
}

impl CreateOptions {
    /// The container whose namespaces this one joins (`container:NAME` of `--network`,
    /// `--pid`, `--ipc`, `--uts` or `--userns`), if any.
    pub fn joined_container(&self) -> Option<&str> {
        self.network
            .iter()
            .map(String::as_str)
            .chain(
                [&self.pid, &self.ipc, &self.uts, &self.userns]
                    .into_iter()
                    .flatten()
                    .map(String::as_str),
            )
            .find_map(|value| value.strip_prefix("container:"))
    }
}

impl CreateOptions {
    /// `--userns`, `--uidmap` and `--gidmap` (keep-id's and nomap's maps need the engine's
    /// namespace, and are made at create).
    fn user_namespace(&self, spec: &mut ContainerSpec) -> Result<(), SpecError> {
        let parse = |flag: &str, values: &[String]| {
            values
                .iter()
                .map(|v| crate::userns::parse_id_mapping(flag, v))
                .collect::<Result<Vec<_>, _>>()
        };
        let (uid_map, gid_map) = (
            parse("uidmap", &self.uidmap)?,
            parse("gidmap", &self.gidmap)?,
        );
        let userns = self.userns.as_deref().unwrap_or_default();
        if uid_map.is_empty() && gid_map.is_empty() {
            spec.userns = crate::userns::parse_userns(userns)?;
            return Ok(());
        }
        if !userns.is_empty() {
            return Err(invalid(
                "--userns and --uidmap/--gidmap are mutually exclusive",
            ));
        }
        spec.userns = crate::UserNamespace::Private;
        spec.uid_map = if uid_map.is_empty() {
            gid_map.clone()
        } else {
            uid_map
        };
        spec.gid_map = if gid_map.is_empty() {
            spec.uid_map.clone()
        } else {
            gid_map
        };
        Ok(())
    }
}

/// An invalid option, the message naming the flag.
fn invalid(message: impl Into<String>) -> SpecError {
    SpecError::Option(message.into())
}

/// Capabilities as given, comma lists split.
fn capabilities(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|c| c.split(','))
        .map(str::to_string)
        .collect()
}

impl CreateOptions {
    /// Validates the options and makes the spec; `default_network` is the engine's, for a
    /// container without `--network`.
    pub fn to_spec(&self, default_network: NetworkMode) -> Result<ContainerSpec, SpecError> {
        let rootfs = self
            .rootfs
            .then(|| crate::container::ExternalRootfs::parse(&self.image))
            .transpose()?;
        let mut spec = ContainerSpec {
            image: if rootfs.is_some() {
                String::new()
            } else {
                self.image.clone()
            },
            rootfs,
            command: self.command.clone(),
            entrypoint: self.entrypoint.as_deref().map(entrypoint),
            env: host_environment(self.env_host)
                .into_iter()
                .chain(proxy_environment(self.http_proxy))
                .chain(environment_entries(&self.env_file, &self.env)?)
                .collect(),
            workdir: self.workdir.clone(),
            user: self.user.clone(),
            hostname: self.hostname.clone(),
            read_only: self.read_only,
            cap_add: capabilities(&self.cap_add),
            cap_drop: capabilities(&self.cap_drop),
            privileged: self.privileged,
            init: self.init,
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout,
            remove: self.rm,
            interactive: self.interactive,
            tty: self.tty,
            pids_limit: self.pids_limit,
            // --memory 0 is no limit, as Podman.
            memory: self
                .memory
                .as_deref()
                .map(parse_memory)
                .transpose()?
                .filter(|bytes| *bytes != 0),
            unset_env: self.unsetenv.clone(),
            unset_env_all: self.unsetenv_all,
            cpus: self.cpus,
            restart: self
                .restart
                .as_deref()
                .map(RestartPolicy::parse)
                .transpose()?
                .unwrap_or_default(),
            ..Default::default()
        };
        for volume in &self.volume {
            spec.mounts.push(parse_volume(volume)?);
        }
        for mount in &self.mount {
            spec.mounts.push(crate::mounts::parse_mount(mount)?);
        }
        for tmpfs in &self.tmpfs {
            spec.mounts.push(parse_tmpfs(tmpfs)?);
        }
        if self.read_only && self.read_only_tmpfs != Some(false) {
            for destination in ["/run", "/tmp", "/var/tmp"] {
                if !spec.mounts.iter().any(|m| m.destination() == destination) {
                    spec.mounts
                        .push(parse_tmpfs(&format!("{destination}:rw,nosuid,nodev"))?);
                }
            }
        }
        spec.network = network_mode(self, default_network)?;
        for value in &self.network {
            if let Some(options) = value.strip_prefix("slirp4netns:") {
                spec.slirp = SlirpOptions::parse(options)
                    .map_err(|why| invalid(format!("--network {value:?}: {why}")))?;
            }
        }
        for publish in &self.publish {
            spec.ports.extend(PortMapping::parse(publish)?);
        }
        spec.publish_all = self.publish_all;
        spec.dns_servers = self.dns.clone();
        spec.dns_search = self.dns_search.clone();
        spec.dns_options = self.dns_option.clone();
        spec.extra_hosts = self.add_host.clone();
        spec.no_hosts = self.no_hosts;
        for file in &self.label_file {
            for line in file_entries(file, "--label-file")? {
                let (key, value) = line.split_once('=').unwrap_or((&line, ""));
                spec.labels.insert(key.to_string(), value.to_string());
            }
        }
        for label in &self.label {
            let (key, value) = label.split_once('=').unwrap_or((label, ""));
            spec.labels.insert(key.to_string(), value.to_string());
        }
        for source in &self.volumes_from {
            let (_, mode) = source.split_once(':').unwrap_or((source, ""));
            for option in mode.split(',').filter(|o| !o.is_empty()) {
                if !matches!(option, "ro" | "rw" | "z" | "Z") {
                    return Err(invalid(format!(
                        "invalid options {mode:?} for --volumes-from {source:?}: ro, rw, z and Z are allowed"
                    )));
                }
            }
        }
        spec.volumes_from = self.volumes_from.clone();
        for port in &self.expose {
            spec.expose.extend(expose_ports(port)?);
        }
        spec.umask = self
            .umask
            .as_deref()
            .map(|umask| {
                u32::from_str_radix(umask, 8)
                    .ok()
                    .filter(|u| *u <= 0o7777)
                    .ok_or_else(|| invalid(format!("invalid umask string {umask}")))
            })
            .transpose()?;
        spec.pidfile = self.pidfile.clone().filter(|p| !p.is_empty());
        spec.hostuser = self.hostuser.clone();
        for secret in &self.secret {
            spec.secrets.push(crate::SecretUse::parse(secret)?);
        }
        spec.image_volume = match self.image_volume.as_deref() {
            None | Some("bind") => crate::ImageVolumes::Anonymous,
            Some("tmpfs") => crate::ImageVolumes::Tmpfs,
            Some("ignore") => crate::ImageVolumes::Ignore,
            Some(other) => {
                return Err(invalid(format!(
                    "invalid image-volume type \"{other}\". Pick one of bind, tmpfs, or ignore"
                )));
            }
        };
        spec.personality = match self.personality.as_deref() {
            None => None,
            Some(domain @ ("LINUX" | "LINUX32")) => Some(domain.to_string()),
            Some(other) => {
                return Err(invalid(format!(
                    "invalid personality {other:?}: LINUX or LINUX32"
                )));
            }
        };
        spec.seccomp_from_image = match self.seccomp_policy.as_deref() {
            None | Some("default") => false,
            Some("image") => true,
            Some(other) => {
                return Err(invalid(format!(
                    "invalid seccomp policy \"{other}\": valid policies are [\"default\" \"image\"]"
                )));
            }
        };
        spec.init_path = self.init_path.clone().filter(|p| !p.is_empty());
        if self.group_add.len() > 1 && self.group_add.iter().any(|g| g == crate::KEEP_GROUPS) {
            return Err(invalid(
                "the '--group-add keep-groups' option is not allowed with any other --group-add options",
            ));
        }
        spec.group_add = self.group_add.clone();
        spec.preserve_fds = self.preserve_fds;
        for annotation in &self.annotation {
            let Some((key, value)) = annotation.split_once('=') else {
                return Err(invalid("annotations must be formatted KEY=VALUE"));
            };
            spec.annotations.insert(key.to_string(), value.to_string());
        }
        for option in &self.security_opt {
            security_option(&mut spec, option)?;
        }
        spec.log.driver = self.log_driver.clone().unwrap_or_default();
        spec.timezone = self.tz.clone();
        spec.conmon_pidfile = self.conmon_pidfile.clone();
        spec.timeout = self.timeout.filter(|t| *t > 0);
        for (flag, value, mode) in [
            ("pid", &self.pid, &mut spec.pid),
            ("ipc", &self.ipc, &mut spec.ipc),
            ("uts", &self.uts, &mut spec.uts),
        ] {
            if let Some(value) = value {
                *mode = crate::container::NamespaceMode::parse(flag, value)?;
            }
        }
        self.user_namespace(&mut spec)?;
        for option in &self.log_opt {
            log_option(&mut spec.log, option)?;
        }
        spec.limits = self.limits.to_limits(
            spec.memory,
            spec.cpus,
            spec.network == NetworkMode::Host,
            spec.ipc == crate::container::NamespaceMode::Host,
        )?;
        if let Some(cmd) = &self.health_cmd {
            if self.no_healthcheck {
                return Err(invalid(
                    "cannot specify both --no-healthcheck and --health-cmd",
                ));
            }
            let check = crate::HealthCheck::from_flags(
                cmd,
                self.health_interval.as_deref(),
                self.health_retries,
                self.health_timeout.as_deref(),
                self.health_start_period.as_deref(),
            )?;
            if check.command().is_some() {
                spec.healthcheck = Some(check);
            } else {
                spec.no_healthcheck = true;
            }
        }
        spec.no_healthcheck |= self.no_healthcheck;
        spec.requires = self.requires.clone();
        if let Some(mode) = &self.sdnotify {
            spec.sdnotify = crate::container::SdNotify::parse(mode)?;
        }
        if let Some(mode) = &self.systemd {
            spec.systemd = crate::container::SystemdMode::parse(mode)?;
        }
        if let Some(action) = &self.health_on_failure {
            spec.health_on_failure = crate::HealthAction::parse(action)?;
        }
        spec.validate()?;
        if let Some(zone) = &spec.timezone
            && !crate::container::timezone_file(zone).is_file()
        {
            return Err(invalid(format!(
                "--tz {zone:?}: finding timezone: unknown time zone {zone}"
            )));
        }
        Ok(spec)
    }
}

/// One `--security-opt` value.
fn security_option(spec: &mut ContainerSpec, option: &str) -> Result<(), SpecError> {
    match option.split_once(['=', ':']) {
        Some(("seccomp", "unconfined")) => spec.seccomp = SeccompChoice::Unconfined,
        Some(("seccomp", path)) => {
            let profile = std::fs::read_to_string(path)
                .map_err(|e| invalid(format!("--security-opt seccomp={path}: {e}")))?;
            crate::profile_to_oci(&profile, &[])
                .map_err(|e| invalid(format!("--security-opt seccomp={path}: {e}")))?;
            spec.seccomp = SeccompChoice::Profile(profile);
        }
        None if option == "no-new-privileges" => spec.no_new_privileges = true,
        Some(("no-new-privileges", value)) => spec.no_new_privileges = value != "false",
        Some((kind @ ("unmask" | "mask"), paths)) => {
            for path in paths.split(':') {
                let absolute = path.starts_with('/') || (kind == "unmask" && path == "ALL");
                if !absolute {
                    return Err(invalid(format!(
                        "--security-opt {option:?}: {path:?} is not an absolute path"
                    )));
                }
                let list = if kind == "mask" {
                    &mut spec.mask
                } else {
                    &mut spec.unmask
                };
                list.push(path.to_string());
            }
        }
        // No SELinux or AppArmor here: accepted so scripts written for Podman keep working.
        Some(("label", _)) | Some(("apparmor", _)) => {}
        _ => {
            return Err(invalid(format!(
                "--security-opt {option:?}: supported options are seccomp=unconfined|PATH, no-new-privileges, unmask=..., mask=..., label=..., apparmor=..."
            )));
        }
    }
    Ok(())
}

/// One `--log-opt KEY=VALUE`.
fn log_option(log: &mut crate::container::LogConfig, option: &str) -> Result<(), SpecError> {
    match option.split_once('=') {
        Some(("path", path)) => log.path = Some(path.to_string()),
        Some(("tag", tag)) => log.tag = Some(tag.to_string()),
        Some(("max-size", size)) => {
            log.max_size = Some(
                parse_decimal_size(size)
                    .ok_or_else(|| invalid(format!("--log-opt max-size={size:?}: not a size")))?,
            )
        }
        _ => {
            return Err(invalid(format!(
                "--log-opt {option:?}: supported options are path=PATH, max-size=SIZE, tag=TAG"
            )));
        }
    }
    Ok(())
}

/// `3.5m`, `10k`, `1GB`, `100`: a size with decimal units (k = 1000), as Docker's
/// `FromHumanSize` reads `--log-opt max-size`.
fn parse_decimal_size(text: &str) -> Option<i64> {
    let lower = text.trim().to_ascii_lowercase();
    let lower = lower.trim_end_matches('b');
    let split = lower
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(split);
    let multiplier = match unit {
        "" => 1e0,
        "k" => 1e3,
        "m" => 1e6,
        "g" => 1e9,
        "t" => 1e12,
        _ => return None,
    };
    let bytes = number.parse::<f64>().ok()? * multiplier;
    (bytes.is_finite() && bytes > 0.0 && bytes < i64::MAX as f64).then_some(bytes as i64)
}

/// `--network` (repeatable, comma lists) with `--ip`, `--mac-address` and `--network-alias`
/// for the first network; without it, the engine's default.
fn network_mode(
    args: &CreateOptions,
    default_network: NetworkMode,
) -> Result<NetworkMode, SpecError> {
    let mut mode = None;
    for value in &args.network {
        let parsed = NetworkMode::parse(value).ok_or_else(|| {
            invalid(format!(
                "--network {value:?}: expected none, host, bridge, network names or NAME:alias=ALIAS,ip=IP,mac=MAC"
            ))
        })?;
        mode = Some(match (mode, parsed) {
            (None, parsed) => parsed,
            (Some(NetworkMode::Bridge(mut first)), NetworkMode::Bridge(more)) => {
                first.extend(more);
                NetworkMode::Bridge(first)
            }
            _ => {
                return Err(invalid(
                    "--network none and host cannot be combined with other networks",
                ));
            }
        });
    }
    let mut mode = mode.unwrap_or(default_network);
    let fixed = args.ip.is_some() || args.mac_address.is_some() || !args.network_alias.is_empty();
    match &mut mode {
        NetworkMode::Bridge(networks) => {
            if let Some(first) = networks.first_mut() {
                if args.ip.is_some() {
                    first.ip = args.ip.clone();
                }
                if args.mac_address.is_some() {
                    first.mac = args.mac_address.clone();
                }
                first.aliases.extend(args.network_alias.iter().cloned());
            }
        }
        _ if fixed => {
            return Err(invalid(
                "--ip, --mac-address and --network-alias need a bridge network",
            ));
        }
        _ => {}
    }
    Ok(mode)
}

/// `--env-file` files, then `-e` entries, as `KEY=VALUE` (a bare `KEY` takes this process's value
/// and is dropped when unset, as in Podman).
pub fn environment_entries(
    files: &[std::path::PathBuf],
    entries: &[String],
) -> Result<Vec<String>, SpecError> {
    let mut env = Vec::new();
    for file in files {
        for line in file_entries(file, "--env-file")? {
            env.extend(env_entry(&line)?);
        }
    }
    for entry in entries {
        env.extend(env_entry(entry)?);
    }
    Ok(env)
}

/// The entries of an `--env-file` or `--label-file`: its lines, trimmed, without empty ones
/// and `#` comments.
fn file_entries(file: &std::path::Path, flag: &str) -> Result<Vec<String>, SpecError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| invalid(format!("{flag} {}: {e}", file.display())))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

/// `--env-host`: every variable of this process, as `NAME=VALUE` entries.
fn host_environment(wanted: bool) -> Vec<String> {
    if !wanted {
        return Vec::new();
    }
    std::env::vars_os()
        .filter_map(|(name, value)| Some(format!("{}={}", name.to_str()?, value.to_str()?)))
        .collect()
}

/// `--expose PORT[-PORT][/PROTO]` as `PORT/PROTO` entries, one per port.
fn expose_ports(value: &str) -> Result<Vec<String>, SpecError> {
    let bad = || invalid(format!("invalid port format for --expose: {value}"));
    let (ports, protocol) = value.split_once('/').unwrap_or((value, "tcp"));
    if !matches!(protocol, "tcp" | "udp" | "sctp") {
        return Err(bad());
    }
    let (first, last) = ports.split_once('-').unwrap_or((ports, ports));
    let (first, last): (u16, u16) = (
        first.parse().map_err(|_| bad())?,
        last.parse().map_err(|_| bad())?,
    );
    if first == 0 || last < first {
        return Err(bad());
    }
    Ok((first..=last).map(|p| format!("{p}/{protocol}")).collect())
}

/// The proxy variables of this process (Podman's list), as `NAME=VALUE` entries.
fn proxy_environment(wanted: bool) -> Vec<String> {
    const NAMES: &[&str] = &[
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "ftp_proxy",
        "FTP_PROXY",
        "no_proxy",
        "NO_PROXY",
    ];
    if !wanted {
        return Vec::new();
    }
    NAMES
        .iter()
        .filter_map(|name| std::env::var(name).ok().map(|v| format!("{name}={v}")))
        .collect()
}

fn env_entry(entry: &str) -> Result<Option<String>, SpecError> {
    if entry.starts_with('=') || entry.is_empty() {
        return Err(SpecError::Env(entry.to_string(), "the name is empty"));
    }
    Ok(match entry.split_once('=') {
        Some(_) => Some(entry.to_string()),
        None => std::env::var(entry).ok().map(|v| format!("{entry}={v}")),
    })
}

/// `--entrypoint '["a","b"]'` (JSON) or `--entrypoint a` (one program).
fn entrypoint(value: &str) -> Vec<String> {
    if value.is_empty() {
        return Vec::new();
    }
    serde_json::from_str::<Vec<String>>(value).unwrap_or_else(|_| vec![value.to_string()])
}

/// `64m`, `1g`, `512k`, `1024` (bytes) with 1024-based units, as Podman.
pub fn parse_memory(value: &str) -> Result<i64, SpecError> {
    let lower = value.trim().to_ascii_lowercase();
    let (number, unit) = lower.trim_end_matches('b').split_at(
        lower
            .trim_end_matches('b')
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(lower.trim_end_matches('b').len()),
    );
    let multiplier: i64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => {
            return Err(invalid(format!(
                "invalid memory size {value:?}: use a number with an optional unit b, k, m or g"
            )));
        }
    };
    let number: f64 = number
        .parse()
        .map_err(|_| invalid(format!("invalid memory size {value:?}")))?;
    let bytes = number * multiplier as f64;
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(invalid(format!("invalid memory size {value:?}: too large")));
    }
    let bytes = bytes as i64;
    if bytes != 0 && bytes < 6 * 1024 * 1024 {
        return Err(invalid(format!(
            "invalid memory size {value:?}: minimum memory limit allowed is 6MB"
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_take_podmans_per_network_options() {
        let options = CreateOptions {
            network: vec![
                "app:alias=web,alias=www,ip=10.89.0.5".into(),
                "other".into(),
            ],
            network_alias: vec!["extra".into()],
            requires: vec!["db".into()],
            ..Default::default()
        };
        let spec = options.to_spec(NetworkMode::None).unwrap();
        let NetworkMode::Bridge(networks) = &spec.network else {
            panic!("{:?}", spec.network)
        };
        assert_eq!(networks[0].network, "app");
        assert_eq!(networks[0].aliases, ["web", "www", "extra"]);
        assert_eq!(networks[0].ip.as_deref(), Some("10.89.0.5"));
        assert_eq!(networks[1].network, "other");
        assert_eq!(spec.requires, ["db"]);
        for bad in ["app:alias", "app:color=red", ":alias=x", "app:alias="] {
            let options = CreateOptions {
                network: vec![bad.into()],
                ..Default::default()
            };
            let err = options.to_spec(NetworkMode::None).unwrap_err().to_string();
            assert!(
                err.contains("NAME:alias=ALIAS,ip=IP,mac=MAC"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn log_options_are_checked_and_kept() {
        let options = CreateOptions {
            log_driver: Some("json-file".into()),
            log_opt: vec![
                "max-size=3.045m".into(),
                "path=/tmp/x.log".into(),
                "tag=t".into(),
            ],
            ..Default::default()
        };
        let log = options.to_spec(NetworkMode::None).unwrap().log;
        assert_eq!(log.driver(), "json-file");
        assert_eq!(log.max_size, Some(3_045_000));
        assert_eq!(log.path.as_deref(), Some("/tmp/x.log"));
        assert!(log.to_file());
        for (driver, opt) in [
            ("InvalidDriver", ""),
            ("none", "max-size=x"),
            ("none", "color=1"),
        ] {
            let options = CreateOptions {
                log_driver: Some(driver.into()),
                log_opt: vec![opt.into()]
                    .into_iter()
                    .filter(|o: &String| !o.is_empty())
                    .collect(),
                ..Default::default()
            };
            assert!(
                options.to_spec(NetworkMode::None).is_err(),
                "{driver} {opt}"
            );
        }
        assert_eq!(
            CreateOptions::default()
                .to_spec(NetworkMode::None)
                .unwrap()
                .log
                .driver(),
            "k8s-file"
        );
    }

    #[test]
    fn memory_units_are_binary() {
        assert_eq!(parse_memory("64m").unwrap(), 64 << 20);
        assert_eq!(parse_memory("1g").unwrap(), 1 << 30);
        assert_eq!(parse_memory("1GB").unwrap(), 1 << 30);
        assert!(parse_memory("12x").is_err());
        assert!(parse_memory("1k").is_err());
        assert!(parse_memory("99999999999999999t").is_err());
    }

    #[test]
    fn options_become_a_validated_spec() {
        let options = CreateOptions {
            image: "busybox".into(),
            cap_add: vec!["net_admin,sys_time".into()],
            label: vec!["a=b".into(), "flag".into()],
            network: vec!["net1,net2".into()],
            ip: Some("10.89.0.9".into()),
            memory: Some("0".into()),
            ..Default::default()
        };
        let spec = options.to_spec(NetworkMode::None).unwrap();
        assert_eq!(spec.cap_add, vec!["net_admin", "sys_time"]);
        assert_eq!(spec.labels.get("flag").map(String::as_str), Some(""));
        assert_eq!(spec.memory, None);
        let NetworkMode::Bridge(networks) = &spec.network else {
            panic!("{:?}", spec.network)
        };
        assert_eq!(networks.len(), 2);
        assert_eq!(networks[0].ip.as_deref(), Some("10.89.0.9"));
        assert_eq!(
            CreateOptions::default()
                .to_spec(NetworkMode::None)
                .unwrap()
                .network,
            NetworkMode::None
        );
    }

    #[test]
    fn bad_options_name_their_flag() {
        let cases: [(CreateOptions, &str); 7] = [
            (
                CreateOptions {
                    workdir: Some("rel".into()),
                    ..Default::default()
                },
                "--workdir",
            ),
            (
                CreateOptions {
                    cap_add: vec!["nope".into()],
                    ..Default::default()
                },
                "nope",
            ),
            (
                CreateOptions {
                    dns: vec!["x".into()],
                    ..Default::default()
                },
                "--dns",
            ),
            (
                CreateOptions {
                    add_host: vec!["h".into()],
                    ..Default::default()
                },
                "--add-host",
            ),
            (
                CreateOptions {
                    rm: true,
                    restart: Some("always".into()),
                    ..Default::default()
                },
                "--rm",
            ),
            (
                CreateOptions {
                    network: vec!["none".into(), "n1".into()],
                    ..Default::default()
                },
                "--network",
            ),
            (
                CreateOptions {
                    security_opt: vec!["bogus".into()],
                    ..Default::default()
                },
                "--security-opt",
            ),
        ];
        for (options, named) in cases {
            let error = options.to_spec(NetworkMode::None).unwrap_err().to_string();
            assert!(error.contains(named), "{error}");
        }
    }

    #[test]
    fn entrypoints_accept_json_or_a_word() {
        assert_eq!(entrypoint("[\"/bin/sh\",\"-c\"]"), vec!["/bin/sh", "-c"]);
        assert_eq!(entrypoint("/bin/echo"), vec!["/bin/echo"]);
        assert!(entrypoint("").is_empty());
    }
}
