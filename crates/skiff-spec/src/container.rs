//! The intermediate container spec, stored with each container.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ContainerSpec {
    /// The image as the user named it (empty with `rootfs`).
    pub image: String,
    /// `--rootfs PATH[:O]`: a directory of the host's as the root filesystem, in place of
    /// an image.
    pub rootfs: Option<ExternalRootfs>,
    /// Arguments after the image; empty means the image's Cmd.
    pub command: Vec<String>,
    /// `--entrypoint`; `Some(vec![])` clears the image's entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=value` from `-e` and `--env-file`, in order; later wins.
    pub env: Vec<String>,
    /// `--unsetenv`: default and image variables left out (what `-e` sets stays).
    pub unset_env: Vec<String>,
    /// `--unsetenv-all`: no default or image variables at all.
    pub unset_env_all: bool,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub mounts: Vec<MountSpec>,
    pub read_only: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub seccomp: SeccompChoice,
    pub no_new_privileges: bool,
    /// `--security-opt unmask=ALL|PATH[:PATH...]`: default masked or read-only paths left
    /// open (globs with `*`).
    pub unmask: Vec<String>,
    /// `--security-opt mask=PATH[:PATH...]`: more paths masked.
    pub mask: Vec<String>,
    pub network: NetworkMode,
    /// `--network slirp4netns:OPTIONS`.
    pub slirp: SlirpOptions,
    pub labels: BTreeMap<String, String>,
    /// `--annotation`: added to the OCI configuration's.
    pub annotations: BTreeMap<String, String>,
    /// `--group-add`, checked (see `user::add_groups`).
    pub group_add: Vec<String>,
    /// `--preserve-fds`: how many descriptors after stderr the container gets.
    pub preserve_fds: u32,
    /// `--volumes-from`, as given (their mounts are in `mounts` once created).
    pub volumes_from: Vec<String>,
    /// `--expose`: `PORT/PROTO` entries `-P` publishes beside the image's.
    pub expose: Vec<String>,
    pub umask: Option<u32>,
    pub pidfile: Option<String>,
    pub init_path: Option<String>,
    /// What the image's VOLUMEs become (made into mounts at create).
    pub image_volume: ImageVolumes,
    /// `LINUX` or `LINUX32`.
    pub personality: Option<String>,
    /// `--seccomp-policy image` (resolved at create, when the image is at hand).
    pub seccomp_from_image: bool,
    /// `--secret`: the secrets given to the container at each start.
    pub secrets: Vec<SecretUse>,
    /// `--hostuser`: host users whose passwd entries the container's /etc/passwd gets.
    pub hostuser: Vec<String>,
    pub init: bool,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<u64>,
    /// `--rm`: remove when the container exits.
    pub remove: bool,
    /// `-i`: keep stdin open.
    pub interactive: bool,
    pub tty: bool,
    /// `--pids-limit`; None means Podman's default 2048, 0 or -1 unlimited.
    pub pids_limit: Option<i64>,
    /// `--memory` in bytes.
    pub memory: Option<i64>,
    /// `--cpus`.
    pub cpus: Option<f64>,
    /// Every other resource limit (`--memory-swap`, `--cpu-shares`, `--ulimit`, ...).
    #[serde(default)]
    pub limits: crate::limits::Limits,
    /// `--restart`: what the monitor's cleanup does when the container exits.
    pub restart: RestartPolicy,
    /// `-p`: host ports forwarded to the container (bridge networks).
    pub ports: Vec<PortMapping>,
    /// `-P`: every port the image EXPOSEs, to free host ports (resolved at create).
    pub publish_all: bool,
    /// `--dns`, `--dns-search`, `--dns-option`: replace the host's resolv.conf entries.
    pub dns_servers: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    /// `--add-host NAME:IP`
    pub extra_hosts: Vec<String>,
    /// `--no-hosts`: leave the image's /etc/hosts alone.
    pub no_hosts: bool,
    /// `--log-driver` and `--log-opt`.
    pub log: LogConfig,
    /// `--tz`: a zone of the host's zoneinfo, or `local` (the host's /etc/localtime), bound
    /// at /etc/localtime.
    pub timezone: Option<String>,
    /// `--conmon-pidfile`: where each start writes the PID of the container's monitor.
    pub conmon_pidfile: Option<String>,
    /// `--pid`, `--ipc`, `--uts`: a namespace of its own, the host's, or another container's.
    pub pid: NamespaceMode,
    pub ipc: NamespaceMode,
    pub uts: NamespaceMode,
    /// `--userns`: a user namespace of its own or the engine's.
    pub userns: crate::UserNamespace,
    /// Its ID maps when it has a user namespace of its own (resolved at create; outside IDs
    /// are the engine's); empty otherwise.
    pub uid_map: Vec<crate::IdMapping>,
    pub gid_map: Vec<crate::IdMapping>,
    /// `--timeout`: seconds a run may last before its monitor kills it (exit code -1).
    pub timeout: Option<u64>,
    /// The ID of the pod the container belongs to.
    pub pod: Option<String>,
    /// `--health-cmd` and companions; with none, the image's HEALTHCHECK (set at create).
    pub healthcheck: Option<crate::HealthCheck>,
    /// `--no-healthcheck`: not even the image's.
    pub no_healthcheck: bool,
    /// `--health-on-failure`.
    pub health_on_failure: crate::HealthAction,
    /// `--systemd`: run systemd (or another init) as Podman does.
    pub systemd: SystemdMode,
    /// `--sdnotify`.
    pub sdnotify: SdNotify,
    /// `--requires`: the IDs of containers started before this one.
    pub requires: Vec<String>,
    /// Whether systemd mode is on for this container (decided at create from its command):
    /// tmpfs on /run, /run/lock, /tmp and /var/log/journal, `container_uuid` set.
    pub systemd_active: bool,
    /// The command line that created the container (Podman's CreateCommand), for
    /// `generate systemd --new`; empty when a front end other than the CLI made it.
    pub create_command: Vec<String>,
}

/// `--rootfs PATH[:O]`: an exploded root filesystem the user manages.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExternalRootfs {
    /// An absolute path.
    pub path: String,
    /// `:O`: the directory is the lower layer of an overlay whose changes stay with the
    /// container (and go with it); without it the container changes the directory itself.
    pub overlay: bool,
}

impl ExternalRootfs {
    /// `PATH[:O]`.
    pub fn parse(value: &str) -> Result<Self, crate::SpecError> {
        let (path, overlay) = match value.strip_suffix(":O") {
            Some(path) => (path, true),
            None => (value, false),
        };
        if !path.starts_with('/') {
            return Err(crate::SpecError::Option(format!(
                "--rootfs {value:?}: must be an absolute path"
            )));
        }
        Ok(Self {
            path: path.to_string(),
            overlay,
        })
    }
}

/// How a container gets its PID, IPC or UTS namespace.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum NamespaceMode {
    #[default]
    Private,
    Host,
    /// `container:NAME`: another container's (held as its full ID once created).
    Container(String),
}

impl NamespaceMode {
    /// `--pid`/`--ipc`/`--uts` values: `host`, `private`, `container:NAME` (and for IPC,
    /// Docker's `shareable` and `none`, which are private namespaces here too).
    pub fn parse(flag: &str, value: &str) -> Result<Self, crate::SpecError> {
        match value {
            "" | "private" => Ok(NamespaceMode::Private),
            "shareable" | "none" if flag == "ipc" => Ok(NamespaceMode::Private),
            "host" => Ok(NamespaceMode::Host),
            _ => match value.strip_prefix("container:") {
                Some(name) if !name.is_empty() => Ok(NamespaceMode::Container(name.to_string())),
                _ => Err(crate::SpecError::Option(format!(
                    "--{flag} {value:?}: expected host, private or container:NAME"
                ))),
            },
        }
    }

    /// As inspect shows it: `private`, `host`, `container:ID`.
    pub fn name(&self) -> String {
        match self {
            NamespaceMode::Private => "private".into(),
            NamespaceMode::Host => "host".into(),
            NamespaceMode::Container(id) => format!("container:{id}"),
        }
    }
}

/// `--sdnotify`: who tells systemd (`$NOTIFY_SOCKET`, a `Type=notify` unit) that the
/// container is ready.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SdNotify {
    /// The container itself: the socket is mounted in and `$NOTIFY_SOCKET` names it; skiff
    /// sends only the monitor's PID (MAINPID).
    #[default]
    Container,
    /// skiff: MAINPID and READY=1 once the container runs (Podman's conmon does this).
    Conmon,
    /// Nobody: `$NOTIFY_SOCKET` is not passed on.
    Ignore,
}

impl SdNotify {
    pub fn parse(value: &str) -> Result<Self, crate::SpecError> {
        match value {
            "container" => Ok(SdNotify::Container),
            "conmon" => Ok(SdNotify::Conmon),
            "ignore" => Ok(SdNotify::Ignore),
            "healthy" => Err(crate::SpecError::Option(
                "--sdnotify healthy: not supported by skiff yet; use conmon or container".into(),
            )),
            _ => Err(crate::SpecError::Option(format!(
                "--sdnotify {value:?}: expected container, conmon, healthy or ignore"
            ))),
        }
    }
}

/// `--systemd true|false|always`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SystemdMode {
    /// On when the command is systemd or init.
    #[default]
    True,
    False,
    Always,
}

impl SystemdMode {
    pub fn parse(value: &str) -> Result<Self, crate::SpecError> {
        match value.to_ascii_lowercase().as_str() {
            "true" => Ok(SystemdMode::True),
            "false" => Ok(SystemdMode::False),
            "always" => Ok(SystemdMode::Always),
            _ => Err(crate::SpecError::Option(format!(
                "--systemd {value:?}: expected true, false or always"
            ))),
        }
    }

    /// Whether a container running `args` runs in systemd mode (Podman's rule: the program
    /// is /sbin/init, /usr/sbin/init, /usr/local/sbin/init, or named systemd).
    pub fn active_for(self, args: &[String]) -> bool {
        match self {
            SystemdMode::Always => true,
            SystemdMode::False => false,
            SystemdMode::True => args.first().is_some_and(|program| {
                matches!(
                    program.as_str(),
                    "/sbin/init" | "/usr/sbin/init" | "/usr/local/sbin/init"
                ) || program.rsplit('/').next() == Some("systemd")
            }),
        }
    }
}

/// Where a container's output is logged (`--log-driver`, `--log-opt`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct LogConfig {
    /// As the user gave it: `k8s-file` (also when empty), `json-file` (the same format),
    /// `journald` or `none`.
    pub driver: String,
    /// `path=`: the log file instead of the container's own.
    pub path: Option<String>,
    /// `max-size=`: the file is emptied when it would grow past this many bytes.
    pub max_size: Option<i64>,
    /// `tag=`.
    pub tag: Option<String>,
}

/// The drivers `--log-driver` takes.
pub const LOG_DRIVERS: &[&str] = &["k8s-file", "json-file", "journald", "none"];

/// Where the host keeps time zones.
pub const ZONEINFO: &str = "/usr/share/zoneinfo";

/// The host file `--tz ZONE` binds at /etc/localtime.
pub fn timezone_file(zone: &str) -> std::path::PathBuf {
    if zone == "local" {
        std::path::PathBuf::from("/etc/localtime")
    } else {
        std::path::Path::new(ZONEINFO).join(zone)
    }
}

impl ContainerSpec {
    /// The container whose namespaces this one joins (network, PID, IPC or UTS), if any.
    pub fn joined_container(&self) -> Option<&str> {
        if let NetworkMode::Container(id) = &self.network {
            return Some(id);
        }
        [&self.pid, &self.ipc, &self.uts]
            .into_iter()
            .find_map(|mode| match mode {
                NamespaceMode::Container(id) => Some(id.as_str()),
                _ => None,
            })
    }
}

impl LogConfig {
    /// The driver's name, `k8s-file` when none was given.
    pub fn driver(&self) -> &str {
        if self.driver.is_empty() {
            "k8s-file"
        } else {
            &self.driver
        }
    }

    /// Whether output goes to a log file `logs` reads (k8s-file or json-file).
    pub fn to_file(&self) -> bool {
        matches!(self.driver(), "k8s-file" | "json-file")
    }
}

/// `--restart no|on-failure[:N]|always|unless-stopped`, applied after each exit by the
/// container's own cleanup (there is no daemon). Without a daemon, `always` and
/// `unless-stopped` behave alike: neither restarts a container the user stopped.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    #[default]
    No,
    /// At most this many restarts (0: no limit) after non-zero exits.
    OnFailure(u32),
    Always,
    UnlessStopped,
}

impl ContainerSpec {
    /// Checks what the spec says on its own, not against the host (the engine checks that):
    /// every front end's spec passes here before a container is made of it.
    pub fn validate(&self) -> Result<(), crate::SpecError> {
        let invalid = |message: String| Err(crate::SpecError::Option(message));
        if let Some(workdir) = &self.workdir
            && !workdir.starts_with('/')
        {
            return invalid(format!("--workdir {workdir:?}: must be an absolute path"));
        }
        for cap in self.cap_add.iter().chain(&self.cap_drop) {
            crate::normalize_capability(cap)?;
        }
        for server in &self.dns_servers {
            if server.parse::<std::net::IpAddr>().is_err() {
                return invalid(format!("--dns {server:?}: not an IP address"));
            }
        }
        for host in &self.extra_hosts {
            match host.split_once([':', '=']) {
                Some((name, ip)) if !name.is_empty() && ip.parse::<std::net::IpAddr>().is_ok() => {}
                _ => return invalid(format!("--add-host {host:?}: expected HOST:IP")),
            }
        }
        if !LOG_DRIVERS.contains(&self.log.driver()) {
            return invalid(
                "running container create option: invalid log driver: invalid argument".into(),
            );
        }
        let joined: Vec<&String> = [&self.pid, &self.ipc, &self.uts]
            .into_iter()
            .filter_map(|mode| match mode {
                NamespaceMode::Container(id) => Some(id),
                _ => None,
            })
            .collect();
        if joined.windows(2).any(|pair| pair[0] != pair[1]) {
            return invalid(
                "--pid, --ipc and --uts can join the namespaces of one other container only".into(),
            );
        }
        if self.hostname.is_some() && self.uts != NamespaceMode::Private {
            return invalid(
                "--hostname: cannot set the hostname in the host's or another container's UTS namespace".into(),
            );
        }
        if let Some(zone) = &self.timezone
            && (zone.is_empty()
                || zone.starts_with('/')
                || zone.split('/').any(|part| part == ".." || part == "."))
        {
            return invalid(format!("--tz {zone:?}: not a time zone name"));
        }
        if let Some(path) = &self.log.path
            && !path.starts_with('/')
        {
            return invalid(format!("--log-opt path={path:?}: must be an absolute path"));
        }
        if self.remove && self.restart != RestartPolicy::No {
            return invalid(
                "the --rm option conflicts with --restart, when the restartPolicy is not \"\" and not \"no\"".into(),
            );
        }
        Ok(())
    }
}

impl RestartPolicy {
    pub fn parse(text: &str) -> Result<Self, crate::SpecError> {
        let bad = |why| crate::SpecError::RestartPolicy(text.to_string(), why);
        let (name, retries) = match text.split_once(':') {
            Some((name, retries)) => (name, Some(retries)),
            None => (text, None),
        };
        let policy = match name {
            "" | "no" => RestartPolicy::No,
            "on-failure" => RestartPolicy::OnFailure(match retries {
                Some(n) => n
                    .parse()
                    .map_err(|_| bad("the retry count must be a non-negative number"))?,
                None => 0,
            }),
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            _ => return Err(bad("expected no, on-failure[:N], always or unless-stopped")),
        };
        if retries.is_some() && !matches!(policy, RestartPolicy::OnFailure(_)) {
            return Err(bad("a retry count is only valid with on-failure"));
        }
        Ok(policy)
    }

    /// Podman's name (`inspect`'s HostConfig.RestartPolicy.Name).
    pub fn name(self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::OnFailure(_) => "on-failure",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
        }
    }

    pub fn max_retries(self) -> u32 {
        match self {
            RestartPolicy::OnFailure(n) => n,
            _ => 0,
        }
    }

    /// Whether a container that exited with `code`, after `restarts` restarts so far, runs
    /// again. Never after the user stopped it.
    pub fn restarts(self, code: i32, restarts: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match self {
            RestartPolicy::No => false,
            RestartPolicy::OnFailure(max) => code != 0 && (max == 0 || restarts < max),
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
        }
    }
}

#[cfg(test)]
mod restart_tests {
    use super::{ExternalRootfs, RestartPolicy};

    #[test]
    fn a_rootfs_is_an_absolute_path_and_o_overlays_it() {
        assert_eq!(
            ExternalRootfs::parse("/srv/root:O").unwrap(),
            ExternalRootfs {
                path: "/srv/root".into(),
                overlay: true
            }
        );
        assert!(!ExternalRootfs::parse("/srv/root").unwrap().overlay);
        assert!(ExternalRootfs::parse("srv/root").is_err());
    }

    #[test]
    fn policies_parse_and_decide_like_podman() {
        assert_eq!(
            RestartPolicy::parse("on-failure:3").unwrap(),
            RestartPolicy::OnFailure(3)
        );
        assert_eq!(
            RestartPolicy::parse("always").unwrap(),
            RestartPolicy::Always
        );
        assert!(RestartPolicy::parse("always:2").is_err());
        assert!(RestartPolicy::parse("sometimes").is_err());
        assert!(RestartPolicy::parse("on-failure:x").is_err());
        let policy = RestartPolicy::OnFailure(2);
        assert!(policy.restarts(1, 1, false));
        assert!(!policy.restarts(1, 2, false));
        assert!(!policy.restarts(0, 0, false));
        assert!(RestartPolicy::Always.restarts(0, 100, false));
        assert!(!RestartPolicy::Always.restarts(1, 0, true));
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum MountSpec {
    Bind {
        source: String,
        destination: String,
        options: Vec<String>,
    },
    Tmpfs {
        destination: String,
        options: Vec<String>,
    },
    /// A named volume (`-v NAME:/dst`), or an anonymous one (`-v /dst`: named at create).
    Volume {
        name: String,
        destination: String,
        options: Vec<String>,
        #[serde(default)]
        anonymous: bool,
    },
    /// `--mount type=image,src=IMAGE,dst=/dst[,rw]`: an image's files, read-only unless asked.
    Image {
        /// The image as the user named it (shown by inspect).
        source: String,
        /// Its ID, resolved at create.
        #[serde(default)]
        image: String,
        destination: String,
        #[serde(default)]
        read_write: bool,
    },
}

impl MountSpec {
    pub fn destination(&self) -> &str {
        match self {
            MountSpec::Bind { destination, .. }
            | MountSpec::Tmpfs { destination, .. }
            | MountSpec::Volume { destination, .. }
            | MountSpec::Image { destination, .. } => destination,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum SeccompChoice {
    #[default]
    Default,
    Unconfined,
    /// The profile's JSON, read when the container was created.
    Profile(String),
}

/// A secret a container is given (`--secret NAME[,type=mount|env][,target=T][,uid=,gid=,mode=]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SecretUse {
    /// The secret's name.
    pub name: String,
    pub target: SecretTarget,
    /// The file's owner and mode (a mount).
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

/// Where a secret appears in the container.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SecretTarget {
    /// A read-only file at this absolute path.
    File(String),
    /// An environment variable of this name.
    Env(String),
}

impl SecretUse {
    /// Podman's `--secret` syntax: a mount at /run/secrets/NAME unless told otherwise.
    pub fn parse(value: &str) -> Result<Self, crate::SpecError> {
        let bad = |why: String| crate::SpecError::Option(format!("--secret {value:?}: {why}"));
        let mut parts = value.split(',');
        let name = parts.next().unwrap_or_default().to_string();
        if name.is_empty() {
            return Err(bad("no secret name given".into()));
        }
        let (mut kind, mut target, mut uid, mut gid, mut mode) = ("mount", None, 0, 0, 0o444);
        for part in parts {
            let Some((key, given)) = part.split_once('=') else {
                return Err(bad(format!("{part:?} is not KEY=VALUE")));
            };
            let number = |radix| {
                u32::from_str_radix(given, radix)
                    .map_err(|_| bad(format!("invalid {key} {given:?}")))
            };
            match key {
                "type" if matches!(given, "mount" | "env") => kind = given,
                "type" => return Err(bad(format!("type {given:?}: mount or env"))),
                "target" | "dst" | "destination" => target = Some(given.to_string()),
                "uid" => uid = number(10)?,
                "gid" => gid = number(10)?,
                "mode" => mode = number(8)?,
                _ => return Err(bad(format!("unknown option {key:?}"))),
            }
        }
        let target = if kind == "env" {
            if uid != 0 || gid != 0 || mode != 0o444 {
                return Err(bad("uid, gid and mode are for type=mount".into()));
            }
            SecretTarget::Env(target.unwrap_or_else(|| name.clone()))
        } else {
            let path = target.unwrap_or_else(|| name.clone());
            SecretTarget::File(if path.starts_with('/') {
                path
            } else {
                format!("/run/secrets/{path}")
            })
        };
        Ok(Self {
            name,
            target,
            uid,
            gid,
            mode,
        })
    }
}

/// `--image-volume`: what an image's VOLUME paths become in a container.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ImageVolumes {
    /// An anonymous volume each, filled from the image (Podman's `bind`, its default).
    #[default]
    Anonymous,
    Tmpfs,
    Ignore,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// `none`: a private network namespace with loopback only.
    #[default]
    None,
    Host,
    /// Attached to bridge networks; the first is the primary one (eth0).
    Bridge(Vec<NetworkAttachment>),
    /// User-mode networking through pasta (the rootless default).
    Pasta,
    /// User-mode networking through slirp4netns (the rootless fallback).
    Slirp4netns,
    /// `container:NAME`: another container's namespace (held as its full ID once created).
    Container(String),
    /// `ns:PATH`: an existing namespace file.
    Path(String),
}

/// `--network slirp4netns:cidr=CIDR,mtu=N,allow_host_loopback=true,enable_ipv6=true,...`
/// (Podman's options).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SlirpOptions {
    /// The namespace's IPv4 network (default 10.0.2.0/24): the container is its .100, the
    /// gateway .2 and the DNS forwarder .3.
    pub cidr: Option<String>,
    pub mtu: Option<u32>,
    pub allow_host_loopback: bool,
    pub enable_ipv6: bool,
}

impl SlirpOptions {
    /// `cidr=...,mtu=...` as Podman reads it; `port_handler`, `outbound_addr` and
    /// `outbound_addr6` are taken (skiff forwards ports through slirp4netns's own API and
    /// leaves the outbound address to the host's routing).
    pub fn parse(options: &str) -> Result<Self, String> {
        let mut parsed = SlirpOptions::default();
        for option in options.split(',').filter(|o| !o.is_empty()) {
            let (key, value) = option.split_once('=').unwrap_or((option, ""));
            let flag = || match value {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(format!("{key}={value}: expected true or false")),
            };
            match key {
                "cidr" => {
                    ipv4_network(value).ok_or_else(|| {
                        format!("cidr={value}: expected an IPv4 network, as 10.0.2.0/24")
                    })?;
                    parsed.cidr = Some(value.to_string());
                }
                "mtu" => {
                    parsed.mtu = Some(value.parse().ok().filter(|m| *m >= 68).ok_or_else(|| {
                        format!("mtu={value}: expected a number of bytes, at least 68")
                    })?)
                }
                "allow_host_loopback" => parsed.allow_host_loopback = flag()?,
                "enable_ipv6" => parsed.enable_ipv6 = flag()?,
                "port_handler" if matches!(value, "rootlesskit" | "slirp4netns") => {}
                "outbound_addr" | "outbound_addr6" if !value.is_empty() => {}
                _ => return Err(format!("unknown option for slirp4netns: {option:?}")),
            }
        }
        Ok(parsed)
    }
}

impl SlirpOptions {
    /// The namespace's network (`cidr`, else slirp4netns's 10.0.2.0/24).
    pub fn network(&self) -> (std::net::Ipv4Addr, u8) {
        self.cidr
            .as_deref()
            .and_then(ipv4_network)
            .unwrap_or((std::net::Ipv4Addr::new(10, 0, 2, 0), 24))
    }

    /// The address `offset` into the network: the container .100, the DNS forwarder .3.
    pub fn address(&self, offset: u32) -> std::net::Ipv4Addr {
        std::net::Ipv4Addr::from(u32::from(self.network().0) + offset)
    }
}

/// `A.B.C.D/N` as its network address and prefix; None unless IPv4 with room for a .100.
fn ipv4_network(text: &str) -> Option<(std::net::Ipv4Addr, u8)> {
    let (address, prefix) = text.split_once('/')?;
    let address: std::net::Ipv4Addr = address.parse().ok()?;
    let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 25)?;
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    Some((std::net::Ipv4Addr::from(u32::from(address) & mask), prefix))
}

/// One bridge network a container joins, with what the user fixed for it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct NetworkAttachment {
    pub network: String,
    /// `--ip`
    pub ip: Option<String>,
    /// `--mac-address`
    pub mac: Option<String>,
    /// `--network-alias`
    pub aliases: Vec<String>,
}

impl NetworkMode {
    /// `none`, `host`, or a network name (`bridge` and `default` are given as they are, for
    /// the engine to map to its default network).
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "none" | "private" => Some(NetworkMode::None),
            "host" => Some(NetworkMode::Host),
            "pasta" => Some(NetworkMode::Pasta),
            "slirp4netns" => Some(NetworkMode::Slirp4netns),
            // Its options are read into `SlirpOptions`.
            other if other.starts_with("slirp4netns:") => Some(NetworkMode::Slirp4netns),
            "" => None,
            other if other.starts_with("container:") => {
                let name = &other["container:".len()..];
                (!name.is_empty()).then(|| NetworkMode::Container(name.to_string()))
            }
            other if other.starts_with("ns:") => {
                let path = &other["ns:".len()..];
                path.starts_with('/')
                    .then(|| NetworkMode::Path(path.to_string()))
            }
            // Podman's `NAME:alias=A,ip=IP,mac=MAC` (one network with what is fixed for it).
            name if name.contains(':') => {
                let (network, options) = name.split_once(':')?;
                if network.is_empty() || network.contains(',') {
                    return None;
                }
                let mut attachment = NetworkAttachment {
                    network: network.to_string(),
                    ..NetworkAttachment::default()
                };
                for option in options.split(',') {
                    match option.split_once('=')? {
                        ("alias", alias) if !alias.is_empty() => {
                            attachment.aliases.push(alias.to_string())
                        }
                        ("ip", ip) if !ip.is_empty() => attachment.ip = Some(ip.to_string()),
                        ("mac", mac) if !mac.is_empty() => attachment.mac = Some(mac.to_string()),
                        _ => return None,
                    }
                }
                Some(NetworkMode::Bridge(vec![attachment]))
            }
            name => Some(NetworkMode::Bridge(
                name.split(',')
                    .map(|n| NetworkAttachment {
                        network: n.to_string(),
                        ..NetworkAttachment::default()
                    })
                    .collect(),
            )),
        }
    }
    /// As Podman's inspect shows it (HostConfig.NetworkMode): the mode, or the first network.
    pub fn name(&self) -> String {
        match self {
            NetworkMode::None => "none".into(),
            NetworkMode::Host => "host".into(),
            NetworkMode::Pasta => "pasta".into(),
            NetworkMode::Slirp4netns => "slirp4netns".into(),
            NetworkMode::Container(id) => format!("container:{id}"),
            NetworkMode::Path(path) => format!("ns:{path}"),
            NetworkMode::Bridge(networks) => networks
                .first()
                .map(|n| n.network.clone())
                .unwrap_or_else(|| "bridge".into()),
        }
    }
}

/// `-p [IP:][HOST:]CONTAINER[/PROTOCOL]`, one port (ranges are split into several).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PortMapping {
    /// Empty: every host address.
    pub host_ip: String,
    /// 0 until the engine picks a free port.
    pub host_port: u16,
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
}

impl PortMapping {
    /// Parses one `-p` value into its ports (`8080-8081:80-81` gives two).
    pub fn parse(value: &str) -> Result<Vec<Self>, crate::SpecError> {
        let bad = |why| crate::SpecError::Port(value.to_string(), why);
        let (rest, protocol) = match value.rsplit_once('/') {
            Some((rest, protocol)) => (rest, protocol.to_ascii_lowercase()),
            None => (value, "tcp".to_string()),
        };
        if protocol != "tcp" && protocol != "udp" {
            return Err(bad("the protocol must be tcp or udp"));
        }
        let parts: Vec<&str> = rest.rsplitn(3, ':').collect();
        let (container, host, ip) = match parts.as_slice() {
            [container] => (*container, "", ""),
            [container, host] => (*container, *host, ""),
            [container, host, ip] => (*container, *host, *ip),
            _ => return Err(bad("expected [IP:][HOST:]CONTAINER[/PROTOCOL]")),
        };
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        if !ip.is_empty() && ip.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(bad("the host IP must be an IPv4 address"));
        }
        let range = |text: &str| -> Result<(u16, u16), crate::SpecError> {
            let (start, end) = text.split_once('-').unwrap_or((text, text));
            let start: u16 = start
                .parse()
                .map_err(|_| bad("ports are numbers from 1 to 65535"))?;
            let end: u16 = end
                .parse()
                .map_err(|_| bad("ports are numbers from 1 to 65535"))?;
            if start == 0 || end < start {
                return Err(bad("ports are numbers from 1 to 65535"));
            }
            Ok((start, end))
        };
        let (container_start, container_end) = range(container)?;
        let count = container_end - container_start;
        let host_start = if host.is_empty() {
            None
        } else {
            let (start, end) = range(host)?;
            if end - start != count {
                return Err(bad("the host and container ranges differ in length"));
            }
            Some(start)
        };
        Ok((0..=count)
            .map(|offset| PortMapping {
                host_ip: ip.to_string(),
                host_port: host_start.map_or(0, |h| h + offset),
                container_port: container_start + offset,
                protocol: protocol.clone(),
            })
            .collect())
    }
}

#[cfg(test)]
mod network_tests {
    use super::{NetworkMode, PortMapping, SlirpOptions};

    #[test]
    fn slirp_options_as_podman_reads_them() {
        let parsed = SlirpOptions::parse(
            "cidr=172.23.78.9/24,mtu=1500,allow_host_loopback=true,port_handler=slirp4netns",
        )
        .unwrap();
        assert_eq!(parsed.cidr.as_deref(), Some("172.23.78.9/24"));
        assert_eq!((parsed.mtu, parsed.allow_host_loopback), (Some(1500), true));
        assert_eq!(parsed.address(100).to_string(), "172.23.78.100");
        assert_eq!(SlirpOptions::default().address(3).to_string(), "10.0.2.3");
        for bad in [
            "bogus=1",
            "cidr=10.0.0.1",
            "cidr=10.0.0.0/30",
            "mtu=10",
            "enable_ipv6=yes",
            "port_handler=x",
        ] {
            assert!(SlirpOptions::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            NetworkMode::parse("slirp4netns:cidr=10.1.0.0/16"),
            Some(NetworkMode::Slirp4netns)
        );
    }

    #[test]
    fn port_mappings_parse_like_podman() {
        let one = |v| PortMapping::parse(v).unwrap();
        assert_eq!(
            one("8080:80"),
            [PortMapping {
                host_ip: String::new(),
                host_port: 8080,
                container_port: 80,
                protocol: "tcp".into()
            }]
        );
        let udp = one("127.0.0.1::53/udp");
        assert_eq!(
            (
                udp[0].host_ip.as_str(),
                udp[0].host_port,
                udp[0].protocol.as_str()
            ),
            ("127.0.0.1", 0, "udp")
        );
        assert_eq!(one("80")[0].host_port, 0);
        let range = one("8080-8081:80-81");
        assert_eq!(range.len(), 2);
        assert_eq!((range[1].host_port, range[1].container_port), (8081, 81));
        for bad in [
            "99999:80",
            "80/sctp",
            "a:80",
            "8080-8082:80-81",
            "x.y:1:2",
            "0",
        ] {
            assert!(PortMapping::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(NetworkMode::parse("a,b").unwrap().name(), "a");
        assert_eq!(NetworkMode::parse("none"), Some(NetworkMode::None));
        assert_eq!(
            NetworkMode::parse("container:x"),
            Some(NetworkMode::Container("x".into()))
        );
        assert_eq!(NetworkMode::parse("container:"), None);
        assert_eq!(
            NetworkMode::parse("ns:/run/netns/a"),
            Some(NetworkMode::Path("/run/netns/a".into()))
        );
        assert_eq!(NetworkMode::parse("ns:relative"), None);
        assert_eq!(NetworkMode::parse("bogus:x"), None);
    }
}
