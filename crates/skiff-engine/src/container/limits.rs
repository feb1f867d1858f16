//! Resource limits on this host: which ones its cgroups take (the others are dropped at
//! create with Podman's warnings), and `update`: the limits of a container changed in its
//! spec and, when it runs, written into its cgroup files (v1 controllers or v2).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use skiff_spec::{DeviceLimit, LimitOptions, Limits};

use super::store::State;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::options::CgroupMode;

/// Where a process's own cgroup directories are: each v1 controller's, or the one v2 one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CgroupDirs {
    V1(BTreeMap<String, PathBuf>),
    V2(PathBuf),
}

impl CgroupDirs {
    /// From `/proc/PID/cgroup` of a process in the container, under the cgroup mount `base`;
    /// only cgroups of the container's own (their path ends with its ID), never a rootless
    /// user's session cgroup.
    pub(crate) fn from_cgroup_file(
        text: &str,
        id: &str,
        base: &Path,
        unified: bool,
    ) -> Option<Self> {
        let own = |path: &str| path.trim_end_matches('/').ends_with(id);
        let mut v1 = BTreeMap::new();
        for line in text.lines() {
            let mut fields = line.splitn(3, ':');
            let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            if !own(path) {
                continue;
            }
            let relative = path.trim_start_matches('/');
            if unified && controllers.is_empty() {
                return Some(CgroupDirs::V2(base.join(relative)));
            }
            for controller in controllers.split(',').filter(|c| !c.is_empty()) {
                v1.insert(
                    controller.to_string(),
                    base.join(controllers).join(relative),
                );
            }
        }
        (!v1.is_empty()).then_some(CgroupDirs::V1(v1))
    }

    /// The directory of a v1 controller (v2: the one directory).
    pub(crate) fn dir(&self, controller: &str) -> Option<&Path> {
        match self {
            CgroupDirs::V1(dirs) => dirs.get(controller).map(PathBuf::as_path),
            CgroupDirs::V2(dir) => Some(dir),
        }
    }
}

/// What this host's cgroups can limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CgroupSupport {
    pub swap: bool,
    pub swappiness: bool,
    pub oom_kill_disable: bool,
    pub blkio_weight: bool,
    pub blkio_weight_device: bool,
    pub throttle: bool,
}

impl CgroupSupport {
    pub(crate) fn detect(mode: CgroupMode) -> Self {
        Self::detect_at(Path::new("/sys/fs/cgroup"), mode == CgroupMode::Unified)
    }

    /// Looks at the cgroup files under `root` (v1: in each controller's hierarchy; v2: the
    /// controllers the root offers its children).
    pub(crate) fn detect_at(root: &Path, v2: bool) -> Self {
        if v2 {
            let controllers =
                std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
            let has = |name: &str| controllers.split_whitespace().any(|c| c == name);
            let io = has("io");
            return Self {
                // memory.swap.max is in every child cgroup with the memory controller, where
                // the kernel has swap accounting.
                swap: has("memory") && !read_only_zero_swap(root),
                swappiness: false,
                oom_kill_disable: false,
                blkio_weight: io,
                blkio_weight_device: io,
                throttle: io,
            };
        }
        let exists = |file: &str| root.join(file).exists();
        Self {
            swap: exists("memory/memory.memsw.limit_in_bytes"),
            swappiness: exists("memory/memory.swappiness"),
            oom_kill_disable: exists("memory/memory.oom_control"),
            blkio_weight: exists("blkio/blkio.weight") || exists("blkio/blkio.bfq.weight"),
            blkio_weight_device: exists("blkio/blkio.weight_device")
                || exists("blkio/blkio.bfq.weight_device"),
            throttle: exists("blkio/blkio.throttle.read_bps_device"),
        }
    }

    /// Drops from `limits` what this host cannot take, returning Podman's warning for each;
    /// gives a container with `--memory` and no `--memory-swap` as much swap as memory, as
    /// Podman does where swap is limited.
    pub(crate) fn fit(&self, limits: &mut Limits, memory: Option<i64>) -> Vec<String> {
        let mut warnings = Vec::new();
        let mut drop = |supported: bool, set: bool, warning: &str| {
            if set && !supported {
                warnings.push(warning.to_string());
            }
            set && !supported
        };
        if drop(
            self.swap,
            limits.memory_swap.is_some(),
            "Your kernel does not support swap limit capabilities,or the cgroup is not mounted. Memory limited without swap.",
        ) {
            limits.memory_swap = None;
        }
        if drop(
            self.swappiness,
            limits.memory_swappiness.is_some(),
            "Your kernel does not support memory swappiness capabilities, or the cgroup is not mounted. Memory swappiness discarded.",
        ) {
            limits.memory_swappiness = None;
        }
        if drop(
            self.oom_kill_disable,
            limits.oom_kill_disable,
            "Your kernel does not support OomKillDisable. OomKillDisable discarded.",
        ) {
            limits.oom_kill_disable = false;
        }
        if drop(
            self.blkio_weight,
            limits.blkio_weight.is_some(),
            "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.",
        ) {
            limits.blkio_weight = None;
        }
        if drop(
            self.blkio_weight_device,
            !limits.blkio_weight_device.is_empty(),
            "Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.",
        ) {
            limits.blkio_weight_device.clear();
        }
        let throttles = [
            &mut limits.device_read_bps,
            &mut limits.device_write_bps,
            &mut limits.device_read_iops,
            &mut limits.device_write_iops,
        ];
        if !self.throttle && throttles.iter().any(|t| !t.is_empty()) {
            warnings.push("Your kernel does not support throttle Block I/O limits or the cgroup is not mounted. Block I/O throttle limits discarded.".into());
            for list in throttles {
                list.clear();
            }
        }
        if self.swap
            && limits.memory_swap.is_none()
            && let Some(memory) = memory
        {
            limits.memory_swap = Some(memory.saturating_mul(2));
        }
        warnings
    }
}

/// The file in a container's userdata directory that says the OOM killer ended its last run.
pub(crate) const OOM_KILLED: &str = "oomkilled";

impl Engine {
    /// How many of the container's processes the kernel's OOM killer ended, from its memory
    /// cgroup (v1 memory.oom_control, v2 memory.events); 0 when unknown.
    pub(crate) fn oom_kills(&self, record: &super::store::ContainerRecord) -> u64 {
        let path = Engine::cgroup_path(&record.spec, &record.id);
        let relative = path.trim_start_matches('/');
        let root = Path::new("/sys/fs/cgroup");
        let file = match self.cgroup {
            CgroupMode::Unified => root.join(relative).join("memory.events"),
            CgroupMode::Legacy => root
                .join("memory")
                .join(relative)
                .join("memory.oom_control"),
        };
        oom_kill_count(&std::fs::read_to_string(file).unwrap_or_default())
    }
}

/// The `oom_kill N` line of memory.events or memory.oom_control.
fn oom_kill_count(text: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// What this process may give the container's processes: a hard `--ulimit` above this
/// process's own needs CAP_SYS_RESOURCE (which root lacks on some hosts), and so does an
/// `--oom-score-adj` below this process's own, which is raised to it instead, as Podman does
/// rootless.
pub(crate) fn check_process_limits(limits: &mut Limits) -> Result<(), EngineError> {
    if limits.ulimits.is_empty() && limits.oom_score_adj.is_none() {
        return Ok(());
    }
    let may_raise = has_sys_resource();
    for ulimit in &limits.ulimits {
        let Some(resource) = rlimit_resource(&ulimit.name) else {
            continue;
        };
        let (_, hard) = nix::sys::resource::getrlimit(resource).unwrap_or((u64::MAX, u64::MAX));
        if ulimit.hard > hard && !may_raise {
            let shown = |v: u64| {
                if v == u64::MAX {
                    "unlimited".to_string()
                } else {
                    v.to_string()
                }
            };
            return Err(EngineError::InvalidArgument(format!(
                "--ulimit {}: the hard limit {} is above this host's {}, which only CAP_SYS_RESOURCE may raise",
                ulimit.name,
                shown(ulimit.hard),
                shown(hard)
            )));
        }
    }
    if let Some(adj) = limits.oom_score_adj
        && !may_raise
        && let Some(own) = std::fs::read_to_string("/proc/self/oom_score_adj")
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
        && adj < own
    {
        limits.oom_score_adj = Some(own);
    }
    Ok(())
}

/// Whether this process has CAP_SYS_RESOURCE (bit 24 of its effective set) where it counts:
/// in the host's user namespace (root of a rootless one has it there only).
fn has_sys_resource() -> bool {
    let host_namespace = std::fs::read_to_string("/proc/self/uid_map")
        .is_ok_and(|map| map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"]);
    host_namespace
        && std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix("CapEff:"))
                    .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            })
            .is_some_and(|caps| caps & (1 << 24) != 0)
}

fn rlimit_resource(name: &str) -> Option<nix::sys::resource::Resource> {
    use nix::sys::resource::Resource;
    Some(match name {
        "as" => Resource::RLIMIT_AS,
        "core" => Resource::RLIMIT_CORE,
        "cpu" => Resource::RLIMIT_CPU,
        "data" => Resource::RLIMIT_DATA,
        "fsize" => Resource::RLIMIT_FSIZE,
        "locks" => Resource::RLIMIT_LOCKS,
        "memlock" => Resource::RLIMIT_MEMLOCK,
        "msgqueue" => Resource::RLIMIT_MSGQUEUE,
        "nice" => Resource::RLIMIT_NICE,
        "nofile" => Resource::RLIMIT_NOFILE,
        "nproc" => Resource::RLIMIT_NPROC,
        "rss" => Resource::RLIMIT_RSS,
        "rtprio" => Resource::RLIMIT_RTPRIO,
        "rttime" => Resource::RLIMIT_RTTIME,
        "sigpending" => Resource::RLIMIT_SIGPENDING,
        "stack" => Resource::RLIMIT_STACK,
        _ => return None,
    })
}

/// A v2 host whose kernel has no swap accounting has no memory.swap.max in any child: look
/// at one child cgroup, if there is any.
fn read_only_zero_swap(root: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(root) else {
        return false;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && path.join("memory.max").exists() {
            return !path.join("memory.swap.max").exists();
        }
    }
    false
}

/// The limits `update` can change, as typed (Podman's `update` flags).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateOptions {
    pub memory: Option<String>,
    pub cpus: Option<f64>,
    pub pids_limit: Option<i64>,
    pub limits: LimitOptions,
    pub restart: Option<String>,
}

impl UpdateOptions {
    /// Whether any resource limit is given.
    fn changes_resources(&self) -> bool {
        self.memory.is_some()
            || self.cpus.is_some()
            || self.pids_limit.is_some()
            || self.limits != LimitOptions::default()
    }
}

/// One write into a cgroup: the v1 controller whose directory holds the file (the v2
/// directory holds them all), the file and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupWrite {
    pub controller: &'static str,
    pub file: &'static str,
    pub value: String,
}

/// The writes that give a cgroup these limits (those that are set), v1 or v2, in an order the
/// kernel takes: on v1 the memory and swap total last when it grows, first when it shrinks
/// below the memory limit.
pub(crate) fn cgroup_writes(
    memory: Option<i64>,
    cpus: Option<f64>,
    pids: Option<i64>,
    limits: &Limits,
    v2: bool,
) -> Vec<CgroupWrite> {
    let mut writes = Vec::new();
    let mut write = |controller: &'static str, file: &'static str, value: String| {
        writes.push(CgroupWrite {
            controller,
            file,
            value,
        })
    };
    let period = limits.cpu_period.unwrap_or(100_000);
    let quota = limits
        .cpu_quota
        .or_else(|| cpus.map(|c| (c * period as f64) as i64));
    let devices = |list: &[DeviceLimit], key: &str| -> Vec<String> {
        list.iter()
            .map(|d| format!("{}:{} {key}{}", d.major, d.minor, d.value))
            .collect()
    };
    if v2 {
        if let Some(memory) = memory {
            write("memory", "memory.max", memory.to_string());
        }
        if let Some(reservation) = limits.memory_reservation {
            write("memory", "memory.low", reservation.to_string());
        }
        match (limits.memory_swap, memory) {
            (Some(-1), _) => write("memory", "memory.swap.max", "max".into()),
            (Some(total), Some(memory)) => write(
                "memory",
                "memory.swap.max",
                (total - memory).max(0).to_string(),
            ),
            _ => {}
        }
        if let Some(shares) = limits.cpu_shares {
            // systemd's and runc's conversion of shares (2-262144) to a weight (1-10000).
            let weight = 1 + ((shares.clamp(2, 262_144) - 2) * 9999) / 262_142;
            write("cpu", "cpu.weight", weight.to_string());
        }
        if quota.is_some() || limits.cpu_period.is_some() {
            let quota = quota.map_or("max".to_string(), |q| q.to_string());
            write("cpu", "cpu.max", format!("{quota} {period}"));
        }
        if let Some(weight) = limits.blkio_weight {
            let weight = 1 + (u64::from(weight).clamp(10, 1000) - 10) * 9999 / 990;
            write("blkio", "io.weight", format!("default {weight}"));
        }
        for (list, key) in [
            (&limits.device_read_bps, "rbps="),
            (&limits.device_write_bps, "wbps="),
            (&limits.device_read_iops, "riops="),
            (&limits.device_write_iops, "wiops="),
        ] {
            for line in devices(list, key) {
                write("blkio", "io.max", line);
            }
        }
    } else {
        let total = limits.memory_swap.map(|s| {
            if s == -1 {
                "-1".to_string()
            } else {
                s.to_string()
            }
        });
        let grows = matches!((limits.memory_swap, memory), (Some(s), Some(m)) if s == -1 || s >= m);
        if let (Some(total), false) = (&total, grows) {
            write("memory", "memory.memsw.limit_in_bytes", total.clone());
        }
        if let Some(memory) = memory {
            write("memory", "memory.limit_in_bytes", memory.to_string());
        }
        if let (Some(total), true) = (total, grows) {
            write("memory", "memory.memsw.limit_in_bytes", total);
        }
        if let Some(reservation) = limits.memory_reservation {
            write(
                "memory",
                "memory.soft_limit_in_bytes",
                reservation.to_string(),
            );
        }
        if let Some(swappiness) = limits.memory_swappiness {
            write("memory", "memory.swappiness", swappiness.to_string());
        }
        if let Some(shares) = limits.cpu_shares {
            write("cpu", "cpu.shares", shares.to_string());
        }
        if quota.is_some() || limits.cpu_period.is_some() {
            write("cpu", "cpu.cfs_period_us", period.to_string());
            write("cpu", "cpu.cfs_quota_us", quota.unwrap_or(-1).to_string());
        }
        if let Some(weight) = limits.blkio_weight {
            write("blkio", "blkio.weight", weight.to_string());
        }
        for (list, file) in [
            (&limits.device_read_bps, "blkio.throttle.read_bps_device"),
            (&limits.device_write_bps, "blkio.throttle.write_bps_device"),
            (&limits.device_read_iops, "blkio.throttle.read_iops_device"),
            (
                &limits.device_write_iops,
                "blkio.throttle.write_iops_device",
            ),
        ] {
            for line in devices(list, "") {
                write("blkio", file, line);
            }
        }
    }
    if let Some(cpus) = &limits.cpuset_cpus {
        write("cpuset", "cpuset.cpus", cpus.clone());
    }
    if let Some(mems) = &limits.cpuset_mems {
        write("cpuset", "cpuset.mems", mems.clone());
    }
    if let Some(pids) = pids {
        let value = if pids <= 0 {
            "max".to_string()
        } else {
            pids.to_string()
        };
        write("pids", "pids.max", value);
    }
    writes
}

impl Engine {
    /// `update`: new limits (and restart policy) for a container, kept in its spec; a running
    /// container's cgroup gets them at once. Returns its ID.
    pub fn update_container(
        &self,
        name_or_id: &str,
        update: &UpdateOptions,
    ) -> Result<String, EngineError> {
        let record = self.containers.lookup(name_or_id)?;
        let _lock = self.container_lock(&record.id)?;
        let record = self.refresh(self.containers.lookup(&record.id)?)?;
        let mut spec = record.spec.clone();
        if let Some(policy) = &update.restart {
            let policy = skiff_spec::RestartPolicy::parse(policy)?;
            if spec.remove && policy != skiff_spec::RestartPolicy::No {
                return Err(EngineError::InvalidArgument(
                    "a container created with --rm cannot have a restart policy".into(),
                ));
            }
            spec.restart = policy;
        }
        if update.changes_resources() {
            if let Some(memory) = &update.memory {
                spec.memory = Some(skiff_spec::parse_memory(memory)?).filter(|m| *m != 0);
            }
            if let Some(cpus) = update.cpus {
                spec.cpus = Some(cpus).filter(|c| *c > 0.0);
            }
            if let Some(pids) = update.pids_limit {
                spec.pids_limit = Some(pids);
            }
            let host_network = spec.network == skiff_spec::NetworkMode::Host;
            let host_ipc = spec.ipc == skiff_spec::NamespaceMode::Host;
            let changed =
                update
                    .limits
                    .to_limits(spec.memory, spec.cpus, host_network, host_ipc)?;
            merge(&mut spec.limits, changed);
            for warning in CgroupSupport::detect(self.cgroup).fit(&mut spec.limits, None) {
                crate::warn!("{warning}");
            }
            if record.state == State::Running && self.cgroups_usable() {
                self.write_limits(&record.id, record.pid, &spec)?;
            }
        }
        self.containers.update_spec(&record.id, &spec)?;
        Ok(record.id)
    }

    /// Writes the spec's limits into the cgroup of the running container's init `pid`.
    fn write_limits(
        &self,
        id: &str,
        pid: i32,
        spec: &skiff_spec::ContainerSpec,
    ) -> Result<(), EngineError> {
        let v2 = self.cgroup == CgroupMode::Unified;
        let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        let dirs = CgroupDirs::from_cgroup_file(&text, id, Path::new("/sys/fs/cgroup"), v2)
            .ok_or_else(|| {
                EngineError::InvalidArgument(format!(
                    "container {id} has no cgroup of its own to update"
                ))
            })?;
        for write in cgroup_writes(spec.memory, spec.cpus, spec.pids_limit, &spec.limits, v2) {
            let Some(dir) = dirs.dir(write.controller) else {
                continue;
            };
            let path = dir.join(write.file);
            std::fs::write(&path, &write.value).map_err(|e| {
                EngineError::InvalidArgument(format!(
                    "updating {}: writing {:?}: {e}",
                    path.display(),
                    write.value
                ))
            })?;
        }
        Ok(())
    }
}

/// `update`'s limits over the ones the container had: what it sets replaces, the rest stays.
fn merge(current: &mut Limits, changed: Limits) {
    macro_rules! take {
        ($($field:ident),*) => {$(
            if changed.$field.is_some() {
                current.$field = changed.$field;
            }
        )*};
    }
    take!(
        memory_reservation,
        memory_swap,
        memory_swappiness,
        cpu_shares,
        cpu_period,
        cpu_quota,
        cpuset_cpus,
        cpuset_mems,
        blkio_weight
    );
    for (into, from) in [
        (
            &mut current.blkio_weight_device,
            changed.blkio_weight_device,
        ),
        (&mut current.device_read_bps, changed.device_read_bps),
        (&mut current.device_write_bps, changed.device_write_bps),
        (&mut current.device_read_iops, changed.device_read_iops),
        (&mut current.device_write_iops, changed.device_write_iops),
    ] {
        for limit in from {
            into.retain(|d| (d.major, d.minor) != (limit.major, limit.minor));
            into.push(limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(writes: &[CgroupWrite]) -> Vec<String> {
        writes
            .iter()
            .map(|w| format!("{}/{}={}", w.controller, w.file, w.value))
            .collect()
    }

    #[test]
    fn v2_limits_are_written_as_the_unified_files() {
        let limits = Limits {
            memory_reservation: Some(1 << 20),
            memory_swap: Some(96 << 20),
            cpu_shares: Some(1024),
            cpuset_cpus: Some("0".into()),
            blkio_weight: Some(500),
            device_read_bps: vec![DeviceLimit {
                path: "/dev/sda".into(),
                major: 8,
                minor: 0,
                value: 1 << 20,
            }],
            ..Default::default()
        };
        assert_eq!(
            files(&cgroup_writes(
                Some(64 << 20),
                Some(0.5),
                Some(100),
                &limits,
                true
            )),
            [
                "memory/memory.max=67108864",
                "memory/memory.low=1048576",
                "memory/memory.swap.max=33554432",
                "cpu/cpu.weight=39",
                "cpu/cpu.max=50000 100000",
                "blkio/io.weight=default 4950",
                "blkio/io.max=8:0 rbps=1048576",
                "cpuset/cpuset.cpus=0",
                "pids/pids.max=100",
            ]
        );
        let unlimited = Limits {
            memory_swap: Some(-1),
            cpu_period: Some(50_000),
            ..Default::default()
        };
        assert_eq!(
            files(&cgroup_writes(Some(1), None, Some(0), &unlimited, true)),
            [
                "memory/memory.max=1",
                "memory/memory.swap.max=max",
                "cpu/cpu.max=max 50000",
                "pids/pids.max=max"
            ]
        );
    }

    #[test]
    fn v1_memory_and_swap_are_written_in_an_order_the_kernel_takes() {
        let grow = Limits {
            memory_swap: Some(200),
            ..Default::default()
        };
        assert_eq!(
            files(&cgroup_writes(Some(100), None, None, &grow, false)),
            [
                "memory/memory.limit_in_bytes=100",
                "memory/memory.memsw.limit_in_bytes=200"
            ]
        );
        let quota = Limits {
            cpu_quota: Some(20_000),
            cpu_shares: Some(512),
            ..Default::default()
        };
        assert_eq!(
            files(&cgroup_writes(None, None, None, &quota, false)),
            [
                "cpu/cpu.shares=512",
                "cpu/cpu.cfs_period_us=100000",
                "cpu/cpu.cfs_quota_us=20000"
            ]
        );
    }

    #[test]
    fn oom_kills_are_read_from_either_cgroup_version() {
        assert_eq!(
            oom_kill_count("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"),
            2
        );
        assert_eq!(
            oom_kill_count("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n"),
            1
        );
        assert_eq!(oom_kill_count(""), 0);
    }

    #[test]
    fn cgroup_directories_come_from_the_process_cgroup_file() {
        let base = Path::new("/sys/fs/cgroup");
        let v1 = "12:memory:/skiff/abc\n11:cpu,cpuacct:/skiff/abc\n1:name=systemd:/user.slice\n";
        let dirs = CgroupDirs::from_cgroup_file(v1, "abc", base, false).unwrap();
        assert_eq!(
            dirs.dir("memory"),
            Some(Path::new("/sys/fs/cgroup/memory/skiff/abc"))
        );
        assert_eq!(
            dirs.dir("cpu"),
            Some(Path::new("/sys/fs/cgroup/cpu,cpuacct/skiff/abc"))
        );
        assert_eq!(dirs.dir("pids"), None);
        let v2 = CgroupDirs::from_cgroup_file("0::/skiff/abc\n", "abc", base, true).unwrap();
        assert_eq!(
            v2.dir("memory"),
            Some(Path::new("/sys/fs/cgroup/skiff/abc"))
        );
        assert!(CgroupDirs::from_cgroup_file("0::/user.slice\n", "abc", base, true).is_none());
    }

    #[test]
    fn what_a_host_cannot_limit_is_dropped_with_podmans_warnings() {
        let root =
            std::env::temp_dir().join(format!("skiff-cgroup-support-{}", std::process::id()));
        // A v2 host offering memory and cpu but not io, with swap accounting.
        std::fs::create_dir_all(root.join("child")).unwrap();
        std::fs::write(root.join("cgroup.controllers"), "cpuset cpu memory pids\n").unwrap();
        std::fs::write(root.join("child/memory.max"), "max\n").unwrap();
        std::fs::write(root.join("child/memory.swap.max"), "max\n").unwrap();
        let support = CgroupSupport::detect_at(&root, true);
        assert!(support.swap && !support.blkio_weight && !support.swappiness);
        let mut limits = Limits {
            blkio_weight: Some(100),
            memory_swappiness: Some(5),
            ..Default::default()
        };
        let warnings = support.fit(&mut limits, Some(100));
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("memory swappiness"), "{warnings:?}");
        assert_eq!(
            (limits.blkio_weight, limits.memory_swappiness),
            (None, None)
        );
        // As much swap as memory, where swap is limited.
        assert_eq!(limits.memory_swap, Some(200));
        std::fs::remove_file(root.join("child/memory.swap.max")).unwrap();
        assert!(!CgroupSupport::detect_at(&root, true).swap);
        // A v1 host: each controller's files.
        std::fs::create_dir_all(root.join("memory")).unwrap();
        std::fs::write(root.join("memory/memory.swappiness"), "60\n").unwrap();
        let v1 = CgroupSupport::detect_at(&root, false);
        assert!(v1.swappiness && !v1.swap && !v1.throttle);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
