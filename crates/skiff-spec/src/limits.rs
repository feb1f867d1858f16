//! Resource limits beyond `--memory`, `--cpus` and `--pids-limit`: Podman's flags as a user
//! types them (`LimitOptions`, part of `CreateOptions` and of `update`), checked as Podman
//! checks them into `Limits` (part of the spec), and what they add to the OCI configuration.
//! Which of them this host's cgroups can take is the engine's to decide (`Limits::unsupported`
//! says which it could not apply).
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::SpecError;

/// The flags, as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct LimitOptions {
    pub memory_reservation: Option<String>,
    /// `-1` is unlimited swap.
    pub memory_swap: Option<String>,
    pub memory_swappiness: Option<i64>,
    pub oom_kill_disable: bool,
    pub oom_score_adj: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub blkio_weight: Option<u64>,
    /// `DEVICE:WEIGHT`.
    pub blkio_weight_device: Vec<String>,
    /// `DEVICE:RATE` (bytes per second with b, k, m or g; operations per second).
    pub device_read_bps: Vec<String>,
    pub device_write_bps: Vec<String>,
    pub device_read_iops: Vec<String>,
    pub device_write_iops: Vec<String>,
    /// `NAME=SOFT[:HARD]`, `-1` unlimited; or `host`.
    pub ulimit: Vec<String>,
    /// `HOST[:CONTAINER][:PERMISSIONS]`.
    pub device: Vec<String>,
    /// `TYPE MAJOR:MINOR ACCESS`.
    pub device_cgroup_rule: Vec<String>,
    pub shm_size: Option<String>,
    /// `NAME=VALUE`.
    pub sysctl: Vec<String>,
    pub cgroup_parent: Option<String>,
    /// `host` or `private`.
    pub cgroupns: Option<String>,
    /// `enabled`, `disabled`, `no-conmon` or `split`.
    pub cgroups: Option<String>,
}

/// A block device and a number for it (weight, bytes or operations per second).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeviceLimit {
    pub path: String,
    pub major: u64,
    pub minor: u64,
    pub value: u64,
}

/// A host device node the container gets (`--device`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Device {
    /// The host's node.
    pub host_path: String,
    /// Where it is in the container.
    pub path: String,
    /// `b` or `c`.
    pub kind: char,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    /// `rwm` or part of it.
    pub access: String,
}

/// Devices the container may use beyond its own (`--device-cgroup-rule`); None is any number.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeviceRule {
    /// `a`, `b` or `c`.
    pub kind: char,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: String,
}

/// A resource limit of the container's processes (`--ulimit`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ulimit {
    /// Podman's name: `nofile`, `nproc`, ...
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

/// The checked limits, in the spec.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Limits {
    pub memory_reservation: Option<i64>,
    /// Memory and swap together, in bytes; -1 unlimited.
    pub memory_swap: Option<i64>,
    pub memory_swappiness: Option<u64>,
    pub oom_kill_disable: bool,
    pub oom_score_adj: Option<i32>,
    pub cpu_shares: Option<u64>,
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub blkio_weight: Option<u16>,
    pub blkio_weight_device: Vec<DeviceLimit>,
    pub device_read_bps: Vec<DeviceLimit>,
    pub device_write_bps: Vec<DeviceLimit>,
    pub device_read_iops: Vec<DeviceLimit>,
    pub device_write_iops: Vec<DeviceLimit>,
    pub ulimits: Vec<Ulimit>,
    pub devices: Vec<Device>,
    pub device_rules: Vec<DeviceRule>,
    /// `--ulimit host`: the limits of the process that starts the container, unchanged.
    pub host_ulimits: bool,
    pub shm_size: Option<i64>,
    pub sysctls: BTreeMap<String, String>,
    pub cgroup_parent: Option<String>,
    /// `--cgroupns`: None is the host's default (private on cgroup v2, host on v1).
    pub cgroupns_private: Option<bool>,
    /// `--cgroups=disabled`: no limits are applied.
    pub cgroups_disabled: bool,
}

/// Names of `--ulimit` and their RLIMIT_ constants, as the OCI runtime spec names them.
const ULIMITS: [(&str, &str); 16] = [
    ("as", "RLIMIT_AS"),
    ("core", "RLIMIT_CORE"),
    ("cpu", "RLIMIT_CPU"),
    ("data", "RLIMIT_DATA"),
    ("fsize", "RLIMIT_FSIZE"),
    ("locks", "RLIMIT_LOCKS"),
    ("memlock", "RLIMIT_MEMLOCK"),
    ("msgqueue", "RLIMIT_MSGQUEUE"),
    ("nice", "RLIMIT_NICE"),
    ("nofile", "RLIMIT_NOFILE"),
    ("nproc", "RLIMIT_NPROC"),
    ("rss", "RLIMIT_RSS"),
    ("rtprio", "RLIMIT_RTPRIO"),
    ("rttime", "RLIMIT_RTTIME"),
    ("sigpending", "RLIMIT_SIGPENDING"),
    ("stack", "RLIMIT_STACK"),
];

/// Sysctls a container may set in namespaces of its own (Podman's list): IPC ones unless
/// `--ipc host`, network ones unless `--network host`.
const IPC_SYSCTLS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

fn invalid(message: String) -> SpecError {
    SpecError::Option(message)
}

impl LimitOptions {
    /// Checks the flags as Podman does; `memory` is `--memory` in bytes (for `--memory-swap`
    /// and `--memory-reservation`), `cpus` is `--cpus`, and the host namespaces (sysctls
    /// there would change the host).
    pub fn to_limits(
        &self,
        memory: Option<i64>,
        cpus: Option<f64>,
        host_network: bool,
        host_ipc: bool,
    ) -> Result<Limits, SpecError> {
        let mut limits = Limits {
            memory_reservation: self
                .memory_reservation
                .as_deref()
                .map(|v| parse_bytes(v, "--memory-reservation"))
                .transpose()?
                .filter(|b| *b != 0),
            oom_kill_disable: self.oom_kill_disable,
            cpu_shares: self.cpu_shares.filter(|s| *s != 0),
            cpuset_cpus: self.cpuset_cpus.clone().filter(|c| !c.is_empty()),
            cpuset_mems: self.cpuset_mems.clone().filter(|c| !c.is_empty()),
            cgroup_parent: self.cgroup_parent.clone().filter(|p| !p.is_empty()),
            ..Default::default()
        };
        if let Some(swap) = self.memory_swap.as_deref() {
            limits.memory_swap = Some(if swap.trim() == "-1" {
                -1
            } else {
                parse_bytes(swap, "--memory-swap")?
            });
            match (memory, limits.memory_swap) {
                (None, _) => {
                    return Err(invalid(
                        "you must provide a memory limit (--memory) when setting --memory-swap"
                            .into(),
                    ));
                }
                (Some(memory), Some(swap)) if swap != -1 && swap < memory => {
                    return Err(invalid(
                        "minimum memoryswap limit should be larger than memory limit, see usage"
                            .into(),
                    ));
                }
                _ => {}
            }
        }
        if let (Some(memory), Some(reservation)) = (memory, limits.memory_reservation)
            && reservation > memory
        {
            return Err(invalid(
                "minimum memory limit can not be less than memory reservation limit, see usage"
                    .into(),
            ));
        }
        match self.memory_swappiness {
            None | Some(-1) => {}
            Some(value @ 0..=100) => limits.memory_swappiness = Some(value as u64),
            Some(value) => {
                return Err(invalid(format!(
                    "invalid value: {value}, valid memory swappiness range is 0-100"
                )));
            }
        }
        if let Some(adj) = self.oom_score_adj {
            if !(-1000..=1000).contains(&adj) {
                return Err(invalid(format!(
                    "invalid value {adj}, range for oom score adj is [-1000, 1000]"
                )));
            }
            limits.oom_score_adj = Some(adj as i32);
        }
        if cpus.is_some() && (self.cpu_period.is_some() || self.cpu_quota.is_some()) {
            return Err(invalid(
                "--cpus and --cpu-period/--cpu-quota cannot be set together".into(),
            ));
        }
        if let Some(period) = self.cpu_period.filter(|p| *p != 0) {
            if !(1000..=1_000_000).contains(&period) {
                return Err(invalid(
                    "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
                        .into(),
                ));
            }
            limits.cpu_period = Some(period);
        }
        if let Some(quota) = self.cpu_quota.filter(|q| *q != 0 && *q != -1) {
            if quota < 1000 {
                return Err(invalid(
                    "CPU cfs quota can not be less than 1ms (i.e. 1000)".into(),
                ));
            }
            limits.cpu_quota = Some(quota);
        }
        for (flag, value) in [
            ("--cpuset-cpus", &limits.cpuset_cpus),
            ("--cpuset-mems", &limits.cpuset_mems),
        ] {
            if let Some(list) = value {
                parse_id_list(list)
                    .ok_or_else(|| invalid(format!("invalid value {list:?} for {flag}")))?;
            }
        }
        if let Some(weight) = self.blkio_weight.filter(|w| *w != 0) {
            if !(10..=1000).contains(&weight) {
                return Err(invalid(format!(
                    "invalid --blkio-weight {weight}: range is from 10 to 1000"
                )));
            }
            limits.blkio_weight = Some(weight as u16);
        }
        limits.blkio_weight_device = device_limits(
            &self.blkio_weight_device,
            "--blkio-weight-device",
            |text| match text.parse::<u64>() {
                Ok(w @ 10..=1000) => Some(w),
                _ => None,
            },
        )?;
        limits.device_read_bps = device_limits(&self.device_read_bps, "--device-read-bps", |t| {
            parse_bytes(t, "").ok().map(|b| b as u64)
        })?;
        limits.device_write_bps =
            device_limits(&self.device_write_bps, "--device-write-bps", |t| {
                parse_bytes(t, "").ok().map(|b| b as u64)
            })?;
        limits.device_read_iops =
            device_limits(&self.device_read_iops, "--device-read-iops", |t| {
                t.parse().ok()
            })?;
        limits.device_write_iops =
            device_limits(&self.device_write_iops, "--device-write-iops", |t| {
                t.parse().ok()
            })?;
        for ulimit in &self.ulimit {
            if ulimit == "host" {
                limits.host_ulimits = true;
                continue;
            }
            let parsed = parse_ulimit(ulimit)?;
            limits.ulimits.retain(|u| u.name != parsed.name);
            limits.ulimits.push(parsed);
        }
        if limits.host_ulimits && !limits.ulimits.is_empty() {
            return Err(invalid(
                "--ulimit host cannot be combined with other --ulimit values".into(),
            ));
        }
        limits.devices = self
            .device
            .iter()
            .map(|d| parse_device(d))
            .collect::<Result<_, _>>()?;
        limits.device_rules = self
            .device_cgroup_rule
            .iter()
            .map(|r| parse_device_rule(r))
            .collect::<Result<_, _>>()?;
        if let Some(size) = self.shm_size.as_deref() {
            let bytes = parse_bytes(size, "--shm-size")?;
            if bytes <= 0 {
                return Err(invalid(format!(
                    "--shm-size {size:?}: must be greater than 0"
                )));
            }
            limits.shm_size = Some(bytes);
        }
        for entry in &self.sysctl {
            let (key, value) = entry
                .split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| invalid(format!("sysctl {entry:?}: expected NAME=VALUE")))?;
            check_sysctl(key, host_network, host_ipc)?;
            limits.sysctls.insert(key.to_string(), value.to_string());
        }
        if let Some(parent) = &limits.cgroup_parent
            && parent.split('/').any(|part| part == "..")
        {
            return Err(invalid(format!(
                "--cgroup-parent {parent:?}: must not leave the cgroup hierarchy"
            )));
        }
        limits.cgroupns_private = match self.cgroupns.as_deref() {
            None | Some("") => None,
            Some("host") => Some(false),
            Some("private") => Some(true),
            Some(other) => {
                return Err(invalid(format!(
                    "--cgroupns {other:?}: expected host or private"
                )));
            }
        };
        limits.cgroups_disabled = match self.cgroups.as_deref() {
            None | Some("" | "enabled" | "no-conmon" | "split") => false,
            Some("disabled") => true,
            Some(other) => {
                return Err(invalid(format!(
                    "invalid cgroup mode {other:?}: expected enabled, disabled, no-conmon or split"
                )));
            }
        };
        if limits.cgroups_disabled
            && (limits.has_cgroup_limits() || memory.is_some() || cpus.is_some())
        {
            return Err(invalid(
                "cannot set resource limits with --cgroups=disabled".into(),
            ));
        }
        Ok(limits)
    }
}

impl Limits {
    /// Whether anything here is a cgroup limit.
    pub fn has_cgroup_limits(&self) -> bool {
        self.memory_reservation.is_some()
            || self.memory_swap.is_some()
            || self.memory_swappiness.is_some()
            || self.oom_kill_disable
            || self.cpu_shares.is_some()
            || self.cpu_period.is_some()
            || self.cpu_quota.is_some()
            || self.cpuset_cpus.is_some()
            || self.cpuset_mems.is_some()
            || self.blkio_weight.is_some()
            || !self.blkio_weight_device.is_empty()
            || !self.device_read_bps.is_empty()
            || !self.device_write_bps.is_empty()
            || !self.device_read_iops.is_empty()
            || !self.device_write_iops.is_empty()
    }

    /// `--device` as the OCI `linux.devices` the runtime makes in the container (as root; a
    /// rootless container, which may not make device nodes, gets `device_binds` instead).
    pub fn oci_devices(&self) -> Vec<Value> {
        self.devices
            .iter()
            .map(|d| {
                json!({"path": d.path, "type": d.kind.to_string(), "major": d.major, "minor": d.minor, "fileMode": d.mode, "uid": 0, "gid": 0})
            })
            .collect()
    }

    /// `--device` as bind mounts of the host's nodes, for a rootless container.
    pub fn device_binds(&self) -> Vec<Value> {
        self.devices
            .iter()
            .map(|d| {
                let mode = if d.access.contains('w') { "rw" } else { "ro" };
                json!({"destination": d.path, "type": "bind", "source": d.host_path, "options": ["bind", "nosuid", "noexec", mode]})
            })
            .collect()
    }

    /// The device cgroup rules `--device` and `--device-cgroup-rule` add to the default
    /// deny-all.
    pub fn device_allowances(&self) -> Vec<Value> {
        let devices = self.devices.iter().map(|d| {
            json!({"allow": true, "type": d.kind.to_string(), "major": d.major, "minor": d.minor, "access": d.access})
        });
        let rules = self.device_rules.iter().map(|r| {
            let mut rule = json!({"allow": true, "type": r.kind.to_string(), "access": r.access});
            if let Some(major) = r.major {
                rule["major"] = json!(major);
            }
            if let Some(minor) = r.minor {
                rule["minor"] = json!(minor);
            }
            rule
        });
        devices.chain(rules).collect()
    }

    /// `--ulimit` as the OCI process's `rlimits`.
    pub fn rlimits(&self) -> Vec<Value> {
        self.ulimits
            .iter()
            .filter_map(|u| {
                let kind = ULIMITS.iter().find(|(name, _)| *name == u.name)?.1;
                Some(json!({"type": kind, "soft": u.soft, "hard": u.hard}))
            })
            .collect()
    }

    /// Adds the memory, CPU and block I/O limits to OCI `linux.resources`.
    pub fn add_resources(&self, resources: &mut Value) {
        let memory = &mut resources["memory"];
        if let Some(reservation) = self.memory_reservation {
            memory["reservation"] = json!(reservation);
        }
        if let Some(swap) = self.memory_swap {
            memory["swap"] = json!(swap);
        }
        if let Some(swappiness) = self.memory_swappiness {
            memory["swappiness"] = json!(swappiness);
        }
        if self.oom_kill_disable {
            memory["disableOOMKiller"] = json!(true);
        }
        if memory.is_null() {
            resources.as_object_mut().map(|r| r.remove("memory"));
        }
        let cpu = &mut resources["cpu"];
        if let Some(shares) = self.cpu_shares {
            cpu["shares"] = json!(shares);
        }
        if let Some(period) = self.cpu_period {
            cpu["period"] = json!(period);
        }
        if let Some(quota) = self.cpu_quota {
            cpu["quota"] = json!(quota);
        }
        if let Some(cpus) = &self.cpuset_cpus {
            cpu["cpus"] = json!(cpus);
        }
        if let Some(mems) = &self.cpuset_mems {
            cpu["mems"] = json!(mems);
        }
        if cpu.is_null() {
            resources.as_object_mut().map(|r| r.remove("cpu"));
        }
        let devices = |list: &[DeviceLimit], key: &str| -> Vec<Value> {
            list.iter()
                .map(|d| json!({"major": d.major, "minor": d.minor, key: d.value}))
                .collect()
        };
        let mut io = serde_json::Map::new();
        if let Some(weight) = self.blkio_weight {
            io.insert("weight".into(), json!(weight));
        }
        for (key, list, field) in [
            ("weightDevice", &self.blkio_weight_device, "weight"),
            ("throttleReadBpsDevice", &self.device_read_bps, "rate"),
            ("throttleWriteBpsDevice", &self.device_write_bps, "rate"),
            ("throttleReadIOPSDevice", &self.device_read_iops, "rate"),
            ("throttleWriteIOPSDevice", &self.device_write_iops, "rate"),
        ] {
            if !list.is_empty() {
                io.insert(key.into(), json!(devices(list, field)));
            }
        }
        if !io.is_empty() {
            resources["blockIO"] = Value::Object(io);
        }
    }
}

/// Bytes as Podman reads `--memory-reservation`, `--shm-size`, `--device-read-bps`: a number
/// with an optional unit b, k, m, g or t (1024-based).
pub fn parse_bytes(value: &str, flag: &str) -> Result<i64, SpecError> {
    let lower = value.trim().to_ascii_lowercase();
    let body = lower.trim_end_matches('b');
    let split = body
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(body.len());
    let (number, unit) = body.split_at(split);
    let multiplier: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => f64::NAN,
    };
    let bytes = number.parse::<f64>().map(|n| n * multiplier);
    match bytes {
        Ok(bytes) if bytes.is_finite() && bytes >= 0.0 && bytes < i64::MAX as f64 => {
            Ok(bytes as i64)
        }
        _ => Err(invalid(format!(
            "invalid size {value:?} for {flag}: use a number with an optional unit b, k, m or g"
        ))),
    }
}

/// `0-2,4`: the CPU or memory node numbers a cpuset list names; None when it is malformed.
pub fn parse_id_list(list: &str) -> Option<Vec<u32>> {
    let mut ids = Vec::new();
    for part in list.split(',') {
        match part.split_once('-') {
            Some((first, last)) => {
                let (first, last): (u32, u32) =
                    (first.trim().parse().ok()?, last.trim().parse().ok()?);
                if first > last || last - first > 4096 {
                    return None;
                }
                ids.extend(first..=last);
            }
            None => ids.push(part.trim().parse().ok()?),
        }
    }
    Some(ids)
}

/// `DEVICE:VALUE` entries: the device must be a block device, named by its path.
fn device_limits(
    entries: &[String],
    flag: &str,
    value: impl Fn(&str) -> Option<u64>,
) -> Result<Vec<DeviceLimit>, SpecError> {
    entries
        .iter()
        .map(|entry| {
            let (path, text) = entry
                .rsplit_once(':')
                .ok_or_else(|| invalid(format!("{flag} {entry:?}: expected DEVICE:VALUE")))?;
            let value = value(text)
                .ok_or_else(|| invalid(format!("{flag} {entry:?}: invalid value {text:?}")))?;
            let (_, major, minor, _) =
                host_device(path).map_err(|why| invalid(format!("{flag} {entry:?}: {why}")))?;
            Ok(DeviceLimit {
                path: path.to_string(),
                major,
                minor,
                value,
            })
        })
        .collect()
}

/// Every device node of the host's /dev, as `--privileged` gives them to a container run by
/// root (Podman's rule): the tree walked without following links, /dev/pts, /dev/shm,
/// /dev/mqueue and /dev/fd left out, nodes `--device` already places left to it; in systemd
/// mode no `/dev/tty*` (systemd in the container would take the host's consoles and serial
/// lines; `/dev/tty` itself every container has).
pub fn privileged_devices(systemd: bool, taken: &[Device]) -> Vec<Value> {
    fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                let skipped = ["pts", "shm", "mqueue", "fd"];
                if !(dir == std::path::Path::new("/dev")
                    && skipped.iter().any(|s| entry.file_name() == *s))
                {
                    walk(&path, found);
                }
            } else if !kind.is_symlink() {
                found.push(path.to_string_lossy().into_owned());
            }
        }
    }
    let is_console = |path: &str| path.starts_with("/dev/tty");
    let mut paths = Vec::new();
    walk(std::path::Path::new("/dev"), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .filter(|path| !(systemd && is_console(path)))
        .filter(|path| !taken.iter().any(|d| d.path == *path))
        // The runtime makes these itself: the terminal's console and the pty multiplexer.
        .filter(|path| !matches!(path.as_str(), "/dev/console" | "/dev/ptmx"))
        .filter_map(|path| {
            let (kind, major, minor, mode) = host_device(&path).ok()?;
            Some(json!({"path": path, "type": kind.to_string(), "major": major, "minor": minor, "fileMode": mode, "uid": 0, "gid": 0}))
        })
        .collect()
}

/// A device node of the host: its type (`b` or `c`), major and minor numbers and mode bits.
fn host_device(path: &str) -> Result<(char, u64, u64, u32), String> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = std::fs::metadata(path).map_err(|e| format!("{path}: {e}"))?;
    let kind = match meta.file_type() {
        t if t.is_block_device() => 'b',
        t if t.is_char_device() => 'c',
        _ => return Err(format!("{path} is not a device")),
    };
    // Linux's encoding of device numbers (glibc's major()/minor()).
    let rdev = meta.rdev();
    Ok((
        kind,
        ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff),
        (rdev & 0xff) | ((rdev >> 12) & !0xff),
        meta.mode() & 0o7777,
    ))
}

/// `--device HOST[:CONTAINER][:PERMISSIONS]`: the host's node, made in the container.
fn parse_device(text: &str) -> Result<Device, SpecError> {
    let parts: Vec<&str> = text.split(':').collect();
    let is_access = |s: &str| !s.is_empty() && s.chars().all(|c| "rwm".contains(c));
    let (host, container, access) = match parts.as_slice() {
        [host] => (*host, *host, "rwm"),
        [host, access] if is_access(access) => (*host, *host, *access),
        [host, container] => (*host, *container, "rwm"),
        [host, container, access] if is_access(access) => (*host, *container, *access),
        _ => return Err(invalid(format!("invalid device specification: {text}"))),
    };
    if !container.starts_with('/') {
        return Err(invalid(format!(
            "invalid device specification: {text}: the container path must be absolute"
        )));
    }
    let (kind, major, minor, mode) =
        host_device(host).map_err(|why| invalid(format!("--device {text:?}: {why}")))?;
    Ok(Device {
        host_path: host.to_string(),
        path: container.to_string(),
        kind,
        major,
        minor,
        mode,
        access: access.to_string(),
    })
}

/// `--device-cgroup-rule 'TYPE MAJOR:MINOR ACCESS'` (`*` for any number), with Podman's errors.
fn parse_device_rule(text: &str) -> Result<DeviceRule, SpecError> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [kind, numbers, access] = fields.as_slice() else {
        return Err(invalid(format!(
            "invalid device cgroup rule requires type, major:Minor, and access rules: {text:?}"
        )));
    };
    let kind = match *kind {
        "a" | "b" | "c" => kind.chars().next().unwrap_or('a'),
        other => {
            return Err(invalid(format!(
                "invalid device type in device-access-add: {other}"
            )));
        }
    };
    let number = |n: &str| -> Result<Option<i64>, SpecError> {
        match n {
            "*" => Ok(None),
            n => n
                .parse::<u32>()
                .map(|v| Some(i64::from(v)))
                .map_err(|_| invalid(format!("strconv.ParseUint: parsing {n:?}: invalid syntax"))),
        }
    };
    let (major, minor) = match numbers.split_once(':') {
        Some((major, minor)) => (number(major)?, number(minor)?),
        None => (number(numbers)?, None),
    };
    if let Some(bad) = access.chars().find(|c| !"rwm".contains(*c)) {
        return Err(invalid(format!(
            "invalid device access in device-access-add: {bad}"
        )));
    }
    Ok(DeviceRule {
        kind,
        major,
        minor,
        access: access.to_string(),
    })
}

/// `nofile=1024:2048`, `nproc=512`, `core=-1`.
fn parse_ulimit(text: &str) -> Result<Ulimit, SpecError> {
    let bad = || {
        invalid(format!(
            "ulimit option {text:?} requires name=SOFT:HARD, failed to be parsed"
        ))
    };
    let (name, values) = text.split_once('=').ok_or_else(bad)?;
    if !ULIMITS.iter().any(|(known, _)| *known == name) {
        return Err(invalid(format!("invalid ulimit type: {name}")));
    }
    let number = |v: &str| -> Result<u64, SpecError> {
        match v.trim() {
            "-1" | "unlimited" => Ok(u64::MAX),
            other => other.parse().map_err(|_| bad()),
        }
    };
    let (soft, hard) = match values.split_once(':') {
        Some((soft, hard)) => (number(soft)?, number(hard)?),
        None => {
            let both = number(values)?;
            (both, both)
        }
    };
    if soft > hard {
        return Err(invalid(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        )));
    }
    Ok(Ulimit {
        name: name.to_string(),
        soft,
        hard,
    })
}

/// Podman's rule: only sysctls of namespaces the container has of its own.
fn check_sysctl(key: &str, host_network: bool, host_ipc: bool) -> Result<(), SpecError> {
    let ipc = IPC_SYSCTLS.contains(&key) || key.starts_with("fs.mqueue.");
    let network = key.starts_with("net.");
    if ipc && host_ipc {
        return Err(invalid(format!(
            "sysctl {key:?} is not allowed in the hosts ipc namespace"
        )));
    }
    if network && host_network {
        return Err(invalid(format!(
            "sysctl {key:?} is not allowed in the hosts network namespace"
        )));
    }
    if !ipc && !network {
        return Err(invalid(format!("sysctl {key:?} is not allowed")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(options: LimitOptions) -> Result<Limits, SpecError> {
        options.to_limits(Some(64 << 20), None, false, false)
    }

    #[test]
    fn memory_limits_are_checked_as_podman() {
        let ok = limits(LimitOptions {
            memory_reservation: Some("32m".into()),
            memory_swap: Some("128m".into()),
            memory_swappiness: Some(10),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ok.memory_reservation, Some(32 << 20));
        assert_eq!(ok.memory_swap, Some(128 << 20));
        assert_eq!(ok.memory_swappiness, Some(10));
        let unlimited = LimitOptions {
            memory_swap: Some("-1".into()),
            ..Default::default()
        };
        assert_eq!(limits(unlimited.clone()).unwrap().memory_swap, Some(-1));
        assert!(unlimited.to_limits(None, None, false, false).is_err());
        for bad in [
            LimitOptions {
                memory_swap: Some("32m".into()),
                ..Default::default()
            },
            LimitOptions {
                memory_reservation: Some("128m".into()),
                ..Default::default()
            },
            LimitOptions {
                memory_swappiness: Some(101),
                ..Default::default()
            },
            LimitOptions {
                oom_score_adj: Some(1001),
                ..Default::default()
            },
        ] {
            assert!(limits(bad.clone()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cpu_limits_are_checked_as_podman() {
        let ok = limits(LimitOptions {
            cpu_shares: Some(512),
            cpu_period: Some(50_000),
            cpu_quota: Some(25_000),
            cpuset_cpus: Some("0-1,3".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((ok.cpu_period, ok.cpu_quota), (Some(50_000), Some(25_000)));
        assert_eq!(parse_id_list("0-1,3"), Some(vec![0, 1, 3]));
        assert_eq!(parse_id_list("3-1"), None);
        assert_eq!(parse_id_list("a"), None);
        let period = LimitOptions {
            cpu_period: Some(100_000),
            ..Default::default()
        };
        assert!(period.to_limits(None, Some(1.0), false, false).is_err());
        for bad in [
            LimitOptions {
                cpu_period: Some(10),
                ..Default::default()
            },
            LimitOptions {
                cpu_quota: Some(10),
                ..Default::default()
            },
            LimitOptions {
                cpuset_cpus: Some("0-".into()),
                ..Default::default()
            },
            LimitOptions {
                blkio_weight: Some(5),
                ..Default::default()
            },
            LimitOptions {
                device_read_bps: vec!["/etc/passwd:1m".into()],
                ..Default::default()
            },
        ] {
            assert!(limits(bad.clone()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ulimits_sysctls_and_cgroup_modes() {
        let ok = limits(LimitOptions {
            ulimit: vec![
                "nofile=1024:2048".into(),
                "core=-1".into(),
                "nofile=512".into(),
            ],
            sysctl: vec!["net.ipv4.ip_forward=1".into(), "kernel.shmmax=1000".into()],
            shm_size: Some("128m".into()),
            cgroupns: Some("private".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            ok.rlimits(),
            vec![
                json!({"type": "RLIMIT_CORE", "soft": u64::MAX, "hard": u64::MAX}),
                json!({"type": "RLIMIT_NOFILE", "soft": 512, "hard": 512}),
            ]
        );
        assert_eq!(ok.sysctls.len(), 2);
        assert_eq!(ok.shm_size, Some(128 << 20));
        assert_eq!(ok.cgroupns_private, Some(true));
        let host_net = LimitOptions {
            sysctl: vec!["net.ipv4.ip_forward=1".into()],
            ..Default::default()
        };
        assert!(host_net.to_limits(None, None, true, false).is_err());
        for bad in [
            LimitOptions {
                ulimit: vec!["nofile=10:5".into()],
                ..Default::default()
            },
            LimitOptions {
                ulimit: vec!["files=10".into()],
                ..Default::default()
            },
            LimitOptions {
                sysctl: vec!["kernel.hostname=x".into()],
                ..Default::default()
            },
            LimitOptions {
                cgroups: Some("disabled".into()),
                cpu_shares: Some(10),
                ..Default::default()
            },
            LimitOptions {
                cgroup_parent: Some("/a/../b".into()),
                ..Default::default()
            },
        ] {
            assert!(limits(bad.clone()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn privileged_containers_get_the_hosts_device_nodes() {
        let paths = |systemd: bool, taken: &[Device]| -> Vec<String> {
            privileged_devices(systemd, taken)
                .iter()
                .map(|d| d["path"].as_str().unwrap().to_string())
                .collect()
        };
        let all = paths(false, &[]);
        assert!(all.iter().any(|p| p == "/dev/null"), "{all:?}");
        assert!(
            !all.iter()
                .any(|p| p.starts_with("/dev/pts/") || p == "/dev/ptmx")
        );
        let ttys = |list: &[String]| list.iter().filter(|p| p.starts_with("/dev/tty")).count();
        if std::path::Path::new("/dev/tty0").exists() {
            assert!(ttys(&all) > 0);
        }
        assert_eq!(ttys(&paths(true, &[])), 0);
        let null = parse_device("/dev/null:/dev/null:r").unwrap();
        assert!(!paths(false, &[null]).iter().any(|p| p == "/dev/null"));
    }

    #[test]
    fn devices_and_device_rules_as_podman_reads_them() {
        let ok = limits(LimitOptions {
            device: vec!["/dev/null:/dev/nothing:r".into(), "/dev/zero".into()],
            device_cgroup_rule: vec!["c 7:* rmw".into(), "a 7 r".into()],
            device_read_bps: vec!["/dev/zero:1m".into()],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            ok.oci_devices()[0],
            json!({"path": "/dev/nothing", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666, "uid": 0, "gid": 0})
        );
        assert_eq!(
            ok.device_allowances(),
            vec![
                json!({"allow": true, "type": "c", "major": 1, "minor": 3, "access": "r"}),
                json!({"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"}),
                json!({"allow": true, "type": "c", "major": 7, "access": "rmw"}),
                json!({"allow": true, "type": "a", "major": 7, "access": "r"}),
            ]
        );
        assert_eq!(
            (ok.device_read_bps[0].major, ok.device_read_bps[0].minor),
            (1, 5)
        );
        for (rule, error) in [
            ("b 7:* rmX", "invalid device access in device-access-add: X"),
            (
                "b 7:2",
                "invalid device cgroup rule requires type, major:Minor, and access rules: \"b 7:2\"",
            ),
            ("x 7:* rmw", "invalid device type in device-access-add: x"),
            (
                "a a:* rmw",
                "strconv.ParseUint: parsing \"a\": invalid syntax",
            ),
        ] {
            let err = limits(LimitOptions {
                device_cgroup_rule: vec![rule.into()],
                ..Default::default()
            })
            .unwrap_err();
            assert_eq!(err.to_string(), error, "{rule}");
        }
        for bad in ["/etc/passwd", "/dev/null:relative", "/dev/null:/d:rx:extra"] {
            assert!(
                limits(LimitOptions {
                    device: vec![bad.into()],
                    ..Default::default()
                })
                .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn resources_are_written_as_the_oci_spec_names_them() {
        let limits = Limits {
            memory_reservation: Some(1),
            memory_swap: Some(2),
            oom_kill_disable: true,
            cpu_shares: Some(3),
            cpuset_cpus: Some("0".into()),
            blkio_weight: Some(500),
            device_read_bps: vec![DeviceLimit {
                path: "/dev/sda".into(),
                major: 8,
                minor: 0,
                value: 1024,
            }],
            ..Default::default()
        };
        let mut resources = json!({"memory": {"limit": 10}});
        limits.add_resources(&mut resources);
        assert_eq!(
            resources,
            json!({
                "memory": {"limit": 10, "reservation": 1, "swap": 2, "disableOOMKiller": true},
                "cpu": {"shares": 3, "cpus": "0"},
                "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1024}]},
            })
        );
        let mut empty = json!({});
        Limits::default().add_resources(&mut empty);
        assert_eq!(empty, json!({}));
    }
}
