//! What `ps` and `inspect` show about a container, with Podman's field names.
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use skiff_spec::MountSpec;

use super::store::{ContainerRecord, State};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Exited,
}

impl ContainerState {
    /// A record's state: a running container whose processes are frozen is paused.
    pub(crate) fn of(state: State, paused: bool) -> Self {
        match state {
            State::Created => ContainerState::Created,
            State::Running if paused => ContainerState::Paused,
            State::Running => ContainerState::Running,
            State::Exited => ContainerState::Exited,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Paused => "paused",
            ContainerState::Exited => "exited",
        }
    }
}

/// One container as the engine reports it.
#[derive(Debug, Clone)]
pub struct ContainerReport {
    /// The database row: the engine's own, not a caller's to read.
    pub(crate) record: ContainerRecord,
    pub state: ContainerState,
    pub command: Vec<String>,
    pub paths: ReportPaths,
    /// Addresses on bridge networks (filled for `inspect` of a running container).
    pub addresses: Vec<crate::network::ContainerAddress>,
    /// The image's manifest digest (filled for `inspect`).
    pub image_digest: String,
    /// The name of the pod it belongs to, if any.
    pub pod_name: String,
    /// Whether it is its pod's infra container.
    pub is_infra: bool,
    /// Its health, when it has a healthcheck.
    pub health: Option<super::health::HealthState>,
}

#[derive(Debug, Clone, Default)]
pub struct ReportPaths {
    pub rootfs: String,
    pub userdata: String,
    pub log: String,
    /// Where named volumes live.
    pub volumes: String,
}

impl ContainerReport {
    /// Whether the kernel's OOM killer ended its last run.
    pub fn oom_killed(&self) -> bool {
        self.state == ContainerState::Exited
            && std::path::Path::new(&self.paths.userdata)
                .join(super::limits::OOM_KILLED)
                .exists()
    }

    pub(crate) fn new(
        record: ContainerRecord,
        paused: bool,
        command: Vec<String>,
        paths: ReportPaths,
    ) -> Self {
        Self {
            state: ContainerState::of(record.state, paused),
            record,
            command,
            paths,
            addresses: Vec::new(),
            image_digest: String::new(),
            pod_name: String::new(),
            is_infra: false,
            health: None,
        }
    }

    /// `0.0.0.0:8080->80/tcp, ...` as `ps` shows published ports.
    pub fn ports_text(&self) -> String {
        self.record
            .spec
            .ports
            .iter()
            .map(|p| {
                let ip = if p.host_ip.is_empty() {
                    "0.0.0.0"
                } else {
                    &p.host_ip
                };
                format!("{ip}:{}->{}/{}", p.host_port, p.container_port, p.protocol)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn network_names(&self) -> Vec<String> {
        match &self.record.spec.network {
            skiff_spec::NetworkMode::Bridge(networks) => {
                networks.iter().map(|n| n.network.clone()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// `NetworkSettings` of `inspect`, Docker's shape.
    fn network_settings(&self) -> Value {
        let mut ports = serde_json::Map::new();
        for p in &self.record.spec.ports {
            let key = format!("{}/{}", p.container_port, p.protocol);
            let entry = ports.entry(key).or_insert_with(|| json!([]));
            if let Value::Array(list) = entry {
                list.push(json!({"HostIp": p.host_ip, "HostPort": p.host_port.to_string()}));
            }
        }
        let mut networks = serde_json::Map::new();
        for name in self.network_names() {
            let address = self.addresses.iter().find(|a| a.network == name);
            let ipv6 = address.and_then(|a| a.ipv6);
            // Where the network's DNS answers names, the short ID is one (Podman lists it).
            let mut aliases: Vec<String> = address
                .filter(|a| a.dns_enabled)
                .map(|_| self.record.id.chars().take(12).collect())
                .into_iter()
                .collect();
            if let skiff_spec::NetworkMode::Bridge(list) = &self.record.spec.network {
                aliases.extend(
                    list.iter()
                        .filter(|n| n.network == name)
                        .flat_map(|n| n.aliases.iter().cloned()),
                );
            }
            networks.insert(
                name.clone(),
                json!({
                    "NetworkID": name,
                    "Aliases": aliases,
                    "IPAddress": address.map(|a| a.address.to_string()).unwrap_or_default(),
                    "IPPrefixLen": address.map(|a| a.prefix).unwrap_or(0),
                    "Gateway": address.map(|a| a.gateway.to_string()).unwrap_or_default(),
                    "MacAddress": address.map(|a| a.mac.clone()).unwrap_or_default(),
                    "GlobalIPv6Address": ipv6.map(|a| a.address.to_string()).unwrap_or_default(),
                    "GlobalIPv6PrefixLen": ipv6.map(|a| a.prefix).unwrap_or(0),
                    "IPv6Gateway": ipv6.map(|a| a.gateway.to_string()).unwrap_or_default(),
                }),
            );
        }
        let primary = self.addresses.first();
        let primary6 = primary.and_then(|a| a.ipv6);
        json!({
            "IPAddress": primary.map(|a| a.address.to_string()).unwrap_or_default(),
            "IPPrefixLen": primary.map(|a| a.prefix).unwrap_or(0),
            "Gateway": primary.map(|a| a.gateway.to_string()).unwrap_or_default(),
            "MacAddress": primary.map(|a| a.mac.clone()).unwrap_or_default(),
            "GlobalIPv6Address": primary6.map(|a| a.address.to_string()).unwrap_or_default(),
            "GlobalIPv6PrefixLen": primary6.map(|a| a.prefix).unwrap_or(0),
            "IPv6Gateway": primary6.map(|a| a.gateway.to_string()).unwrap_or_default(),
            "Ports": ports,
            "Networks": networks,
        })
    }

    pub fn id(&self) -> &str {
        &self.record.id
    }
    pub fn created(&self) -> DateTime<Utc> {
        self.record.created
    }

    pub fn name(&self) -> &str {
        &self.record.name
    }

    /// What the container was created with.
    pub fn spec(&self) -> &skiff_spec::ContainerSpec {
        &self.record.spec
    }

    /// The command line that created it (Podman's CreateCommand); empty when unknown.
    pub fn create_command(&self) -> &[String] {
        &self.record.spec.create_command
    }

    /// The ID of the image it was made from, and the name it was asked by.
    pub fn image(&self) -> (&str, &str) {
        (&self.record.image_id, &self.record.image_name)
    }

    /// Its main process's ID while it runs, else 0.
    pub fn pid(&self) -> i32 {
        if self.is_running() {
            self.record.pid
        } else {
            0
        }
    }

    /// The exit code of its last run (0 before it ever ran).
    pub fn exit_code(&self) -> i32 {
        self.record.exit_code
    }

    /// When it last started and last exited.
    pub fn started_at(&self) -> Option<DateTime<Utc>> {
        self.record.started_at
    }
    pub fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.record.finished_at
    }

    /// Restarts by its restart policy.
    pub fn restart_count(&self) -> u32 {
        self.record.restart_count
    }

    /// The names of the bridge networks it is on.
    pub fn networks(&self) -> Vec<String> {
        self.network_names()
    }

    /// The ID of the pod it belongs to.
    pub fn pod(&self) -> Option<&str> {
        self.record.spec.pod.as_deref()
    }
    /// Running or paused: its processes exist.
    pub fn is_running(&self) -> bool {
        matches!(self.state, ContainerState::Running | ContainerState::Paused)
    }

    /// `Up 5 seconds`, `Exited (0) 3 seconds ago`, `Created`.
    pub fn status(&self, now: DateTime<Utc>) -> String {
        match self.state {
            ContainerState::Created => "Created".into(),
            ContainerState::Paused => "Paused".into(),
            ContainerState::Running => {
                let up = format!(
                    "Up {}",
                    human_duration(now, self.record.started_at.unwrap_or(now))
                );
                match &self.health {
                    Some(health) => format!("{up} ({})", health.status),
                    None => up,
                }
            }
            ContainerState::Exited => format!(
                "Exited ({}) {} ago",
                self.record.exit_code,
                human_duration(now, self.record.finished_at.unwrap_or(now))
            ),
        }
    }

    /// The object `ps --format json` prints, as Podman's ListContainer.
    pub fn ps_json(&self, now: DateTime<Utc>) -> Value {
        let r = &self.record;
        json!({
            "AutoRemove": r.spec.remove,
            "Command": self.command,
            "Created": r.created.timestamp(),
            "CreatedAt": format!("{} ago", human_duration(now, r.created)),
            "Exited": self.state == ContainerState::Exited,
            "ExitedAt": r.finished_at.map(|t| t.timestamp()).unwrap_or(-62135596800),
            "ExitCode": r.exit_code,
            "Id": r.id,
            "Image": r.image_name,
            "ImageID": r.image_id,
            "IsInfra": self.is_infra,
            "Labels": r.spec.labels,
            "Mounts": r.spec.mounts.iter().map(|m| m.destination().to_string()).collect::<Vec<_>>(),
            "Names": [r.name],
            "Namespaces": {},
            "Networks": self.network_names(),
            "Pid": if self.is_running() { r.pid } else { 0 },
            "Pod": r.spec.pod.clone().unwrap_or_default(),
            "PodName": self.pod_name,
            "Ports": r.spec.ports.iter().map(|p| json!({
                "host_ip": p.host_ip,
                "container_port": p.container_port,
                "host_port": p.host_port,
                "range": 1,
                "protocol": p.protocol,
            })).collect::<Vec<_>>(),
            "StartedAt": r.started_at.map(|t| t.timestamp()).unwrap_or(-62135596800),
            "State": self.state.as_str(),
            "Status": self.status(now),
        })
    }

    /// The values `ps --format '{{...}}'` templates see, with Podman's names.
    pub fn ps_template(&self, now: DateTime<Utc>) -> Value {
        let r = &self.record;
        let mut value = self.ps_json(now);
        let extra = json!({
            "ID": r.id.chars().take(12).collect::<String>(),
            "CreatedAt": go_time(r.created),
            "Names": r.name,
            "Command": self.command.join(" "),
            "CreatedHuman": format!("{} ago", human_duration(now, r.created)),
            "RunningFor": human_duration(now, r.created),
            "Ports": self.ports_text(),
            "Size": "",
            "Networks": self.network_names().join(","),
            "Pod": r.spec.pod.as_deref().unwrap_or_default().chars().take(12).collect::<String>(),
        });
        if let (Value::Object(base), Value::Object(extra)) = (&mut value, extra) {
            base.extend(extra);
        }
        value
    }

    /// The object `inspect` prints, following Podman's InspectContainerData.
    pub fn inspect_json(&self) -> Value {
        let r = &self.record;
        let zero = "0001-01-01T00:00:00Z".to_string();
        let fmt = |t: Option<DateTime<Utc>>| {
            t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
                .unwrap_or_else(|| zero.clone())
        };
        let running = self.is_running();
        let mut inspect = json!({
            "Id": r.id,
            "Created": r.created.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            "Path": self.command.first().cloned().unwrap_or_default(),
            "Args": self.command.iter().skip(1).collect::<Vec<_>>(),
            "State": {
                "OciVersion": "1.0.2",
                "Status": self.state.as_str(),
                "Running": running,
                "Paused": self.state == ContainerState::Paused,
                "Restarting": false,
                "OOMKilled": self.oom_killed(),
                "Dead": false,
                "Pid": if running { r.pid } else { 0 },
                "ConmonPid": if running { r.monitor_pid } else { 0 },
                "ExitCode": r.exit_code,
                "Error": "",
                "StartedAt": fmt(r.started_at),
                "FinishedAt": fmt(r.finished_at),
                "Health": self.health,
                "Healthcheck": self.health,
            },
            "Image": r.image_id,
            "ImageName": r.image_name,
            "ImageDigest": self.image_digest,
            "Rootfs": r.spec.rootfs.as_ref().map(|rootfs| rootfs.path.clone()).unwrap_or_default(),
            "Pod": r.spec.pod.clone().unwrap_or_default(),
            "ResolvConfPath": format!("{}/resolv.conf", self.paths.userdata),
            "HostnamePath": format!("{}/hostname", self.paths.userdata),
            "HostsPath": format!("{}/hosts", self.paths.userdata),
            "StaticDir": self.paths.userdata,
            "OCIRuntime": if r.runtime.is_empty() { "skiff" } else { r.runtime.as_str() },
            "LogPath": self.paths.log,
            "ConmonPidFile": r.spec.conmon_pidfile.clone().unwrap_or_default(),
            "Name": r.name,
            "RestartCount": r.restart_count,
            "Driver": r.driver,
            "MountLabel": "",
            "ProcessLabel": "",
            "Mounts": self.inspect_mounts(),
            "Config": {
                "Hostname": r.spec.effective_hostname(&r.id),
                "Env": r.spec.env,
                "Cmd": r.spec.command,
                "Entrypoint": r.spec.entrypoint,
                "Image": r.image_name,
                "WorkingDir": r.spec.workdir.clone().unwrap_or_else(|| "/".into()),
                "User": r.spec.user.clone().unwrap_or_default(),
                "Labels": r.spec.labels,
                "StopSignal": r.spec.stop_signal.clone().unwrap_or_else(|| "SIGTERM".into()),
                "CreateCommand": r.spec.create_command,
                "Healthcheck": r.spec.healthcheck.as_ref().map(|check| json!({
                    "Test": check.test,
                    "Interval": check.interval,
                    "Timeout": check.timeout,
                    "StartPeriod": check.start_period,
                    "Retries": check.retries,
                })),
                "HealthcheckOnFailureAction": r.spec.health_on_failure.name(),
                "StopTimeout": r.spec.stop_timeout.unwrap_or(10),
                "OpenStdin": r.spec.interactive,
                "Tty": r.spec.tty,
                "Timezone": r.spec.timezone.clone().unwrap_or_default(),
                "Timeout": r.spec.timeout.unwrap_or(0),
            },
            "HostConfig": self.host_config(),
            "NetworkSettings": self.network_settings(),
        });
        // Podman's `--requires` containers (built apart: the object above is at json!'s limit).
        inspect["Dependencies"] = json!(r.spec.requires);
        inspect["Config"]["Annotations"] = json!(skiff_spec::annotations(&r.spec));
        inspect["Config"]["Umask"] = json!(format!("{:04o}", r.spec.umask.unwrap_or(0o022)));
        inspect["PidFile"] = json!(r.spec.pidfile.clone().unwrap_or_default());
        inspect["HostConfig"]["VolumesFrom"] = json!(r.spec.volumes_from);
        inspect
    }
}

impl ContainerReport {
    /// inspect's `HostConfig`.
    fn host_config(&self) -> Value {
        let r = &self.record;
        let mut config = json!({
            "AutoRemove": r.spec.remove,
            "RestartPolicy": {
                "Name": r.spec.restart.name(),
                "MaximumRetryCount": r.spec.restart.max_retries(),
            },
            "Binds": r.spec.mounts,
            "CapAdd": r.spec.cap_add,
            "CapDrop": r.spec.cap_drop,
            "Privileged": r.spec.privileged,
            "ReadonlyRootfs": r.spec.read_only,
            "NetworkMode": r.spec.network.name(),
            "Init": r.spec.init,
            "PidsLimit": r.spec.pids_limit.unwrap_or(2048),
            "Memory": r.spec.memory.unwrap_or(0),
            "NanoCpus": r.spec.cpus.map(|c| (c * 1e9) as i64).unwrap_or(0),
            "SecurityOpt": security_options(&r.spec),
            "LogConfig": self.log_config(),
            "PidMode": r.spec.pid.name(),
            "IpcMode": r.spec.ipc.name(),
            "UTSMode": r.spec.uts.name(),
            "UsernsMode": r.spec.userns.name(),
            "IDMappings": {
                "UIDMap": r.spec.uid_map.iter().map(|m| format!("{}:{}:{}", m.container_id, m.host_id, m.size)).collect::<Vec<_>>(),
                "GIDMap": r.spec.gid_map.iter().map(|m| format!("{}:{}:{}", m.container_id, m.host_id, m.size)).collect::<Vec<_>>(),
            },
        });
        if let (Value::Object(config), Value::Object(limits)) =
            (&mut config, limits_config(&r.spec.limits))
        {
            config.extend(limits);
        }
        config
    }

    /// inspect's `Mounts`, as Podman shows them: binds and volumes (tmpfs mounts are not
    /// listed there).
    fn inspect_mounts(&self) -> Vec<Value> {
        fn shown(kind: &str, options: &[String]) -> (String, bool, Vec<String>) {
            let rw = !options.iter().any(|o| o == "ro");
            let options = options
                .iter()
                .filter(|o| !matches!(o.as_str(), "ro" | "rw" | "copy" | "nocopy"))
                .cloned()
                .collect();
            (kind.to_string(), rw, options)
        }
        self.record
            .spec
            .mounts
            .iter()
            .filter_map(|mount| match mount {
                MountSpec::Bind {
                    source,
                    destination,
                    options,
                } => {
                    let (kind, rw, options) = shown("bind", options);
                    Some(json!({"Type": kind, "Source": source, "Destination": destination, "Driver": "", "Mode": "", "Options": options, "RW": rw, "Propagation": "rprivate"}))
                }
                MountSpec::Volume {
                    name,
                    destination,
                    options,
                    ..
                } => {
                    let (kind, rw, options) = shown("volume", options);
                    let source = format!("{}/{name}/{}", self.paths.volumes, skiff_spec::VOLUME_DATA);
                    Some(json!({"Type": kind, "Name": name, "Source": source, "Destination": destination, "Driver": "local", "Mode": "", "Options": options, "RW": rw, "Propagation": "rprivate"}))
                }
                MountSpec::Image {
                    source,
                    destination,
                    read_write,
                    ..
                } => Some(json!({"Type": "image", "Source": source, "Destination": destination, "Driver": "", "Mode": "", "Options": [], "RW": read_write, "Propagation": "rprivate"})),
                MountSpec::Tmpfs { .. } => None,
            })
            .collect()
    }

    /// `HostConfig.LogConfig` of inspect.
    fn log_config(&self) -> Value {
        let log = &self.record.spec.log;
        json!({
            "Type": log.driver(),
            "Config": null,
            "Path": self.paths.log,
            "Tag": log.tag.clone().unwrap_or_default(),
            "Size": log.max_size.map_or("0B".to_string(), log_size),
        })
    }
}

/// The limits in inspect's `HostConfig`, with Podman's keys.
fn limits_config(l: &skiff_spec::Limits) -> Value {
    let devices = |list: &[skiff_spec::DeviceLimit], key: &str| -> Vec<Value> {
        list.iter()
            .map(|d| json!({"Path": d.path, key: d.value}))
            .collect()
    };
    let ulimits: Vec<Value> = l
        .rlimits()
        .iter()
        .map(|r| json!({"Name": r["type"], "Soft": r["soft"], "Hard": r["hard"]}))
        .collect();
    json!({
        "MemoryReservation": l.memory_reservation.unwrap_or(0),
        "MemorySwap": l.memory_swap.unwrap_or(0),
        "MemorySwappiness": l.memory_swappiness.map_or(-1, |s| s as i64),
        "OomKillDisable": l.oom_kill_disable,
        "OomScoreAdj": l.oom_score_adj.unwrap_or(0),
        "CpuShares": l.cpu_shares.unwrap_or(0),
        "CpuPeriod": l.cpu_period.unwrap_or(0),
        "CpuQuota": l.cpu_quota.unwrap_or(0),
        "CpusetCpus": l.cpuset_cpus.clone().unwrap_or_default(),
        "CpusetMems": l.cpuset_mems.clone().unwrap_or_default(),
        "BlkioWeight": l.blkio_weight.unwrap_or(0),
        "BlkioWeightDevice": devices(&l.blkio_weight_device, "Weight"),
        "BlkioDeviceReadBps": devices(&l.device_read_bps, "Rate"),
        "BlkioDeviceWriteBps": devices(&l.device_write_bps, "Rate"),
        "BlkioDeviceReadIOps": devices(&l.device_read_iops, "Rate"),
        "BlkioDeviceWriteIOps": devices(&l.device_write_iops, "Rate"),
        "Ulimits": ulimits,
        "ShmSize": l.shm_size.unwrap_or(65536 * 1024),
        "CgroupParent": l.cgroup_parent.clone().unwrap_or_default(),
        "CgroupnsMode": match l.cgroupns_private {
            Some(true) => "private",
            Some(false) => "host",
            None => "",
        },
        "Cgroups": if l.cgroups_disabled { "disabled" } else { "default" },
    })
}

/// `--log-opt max-size` as Podman shows it: decimal units, four significant digits
/// (`3.045MB`, `512kB`).
fn log_size(bytes: i64) -> String {
    let mut size = bytes as f64;
    let mut unit = 0;
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    while size >= 1000.0 && unit + 1 < UNITS.len() {
        size /= 1000.0;
        unit += 1;
    }
    // Go's %.4g: four significant digits, trailing zeros dropped.
    let decimals = 3usize.saturating_sub(size.abs().log10().floor().max(0.0) as usize);
    let text = format!("{size:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    format!("{text}{}", UNITS[unit])
}

fn security_options(spec: &skiff_spec::ContainerSpec) -> Vec<String> {
    let mut out = Vec::new();
    match spec.seccomp {
        skiff_spec::SeccompChoice::Unconfined => out.push("seccomp=unconfined".to_string()),
        skiff_spec::SeccompChoice::Profile(_) => out.push("seccomp=custom".to_string()),
        skiff_spec::SeccompChoice::Default => {}
    }
    if spec.no_new_privileges {
        out.push("no-new-privileges".into());
    }
    out
}

#[cfg(test)]
mod log_size_tests {
    #[test]
    fn log_sizes_print_as_podman() {
        assert_eq!(super::log_size(3_045_000), "3.045MB");
        assert_eq!(super::log_size(9_001_000), "9.001MB");
        assert_eq!(super::log_size(512_000), "512kB");
        assert_eq!(super::log_size(100), "100B");
        assert_eq!(super::log_size(1_500_000_000), "1.5GB");
    }
}

/// Docker's human durations: "Less than a second", "5 seconds", "About a minute", "3 hours".
pub fn human_duration(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let seconds = (now - then).num_seconds().max(0);
    match seconds {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        s if s < 120 => "About a minute".into(),
        s if s < 3600 => format!("{} minutes", s / 60),
        s if s < 7200 => "About an hour".into(),
        s if s < 48 * 3600 => format!("{} hours", s / 3600),
        s if s < 14 * 86400 => format!("{} days", s / 86400),
        s if s < 60 * 86400 => format!("{} weeks", s / (7 * 86400)),
        s if s < 730 * 86400 => format!("{} months", s / (30 * 86400)),
        s => format!("{} years", s / (365 * 86400)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_docker() {
        let now = Utc::now();
        assert_eq!(human_duration(now, now), "Less than a second");
        assert_eq!(
            human_duration(now, now - chrono::Duration::seconds(5)),
            "5 seconds"
        );
        assert_eq!(
            human_duration(now, now - chrono::Duration::seconds(90)),
            "About a minute"
        );
        assert_eq!(
            human_duration(now, now - chrono::Duration::hours(3)),
            "3 hours"
        );
    }
}

/// A time as Go prints a `time.Time` (what Podman's `{{.CreatedAt}}` shows), in UTC:
/// `2022-06-15 12:00:00.123 +0000 UTC`, the fraction without trailing zeros.
pub fn go_time(time: DateTime<Utc>) -> String {
    let nanos = time.timestamp_subsec_nanos();
    let fraction = if nanos == 0 {
        String::new()
    } else {
        format!(".{nanos:09}").trim_end_matches('0').to_string()
    };
    format!("{}{fraction} +0000 UTC", time.format("%Y-%m-%d %H:%M:%S"))
}

#[cfg(test)]
mod go_time_tests {
    use super::*;

    #[test]
    fn times_print_as_go_prints_them() {
        let at = |text: &str| go_time(DateTime::parse_from_rfc3339(text).unwrap().into());
        assert_eq!(at("2022-06-15T12:00:00Z"), "2022-06-15 12:00:00 +0000 UTC");
        assert_eq!(
            at("2022-06-15T12:00:00.1230Z"),
            "2022-06-15 12:00:00.123 +0000 UTC"
        );
    }
}
