//! `POST /containers/create`: Docker's ContainerCreateRequest as the engine's create options,
//! the same [`CreateOptions`] the CLI's `run` flags become.
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use skiff_engine::{CreateOptions, NewContainer, PullPolicy};

use crate::error::ApiError;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateRequest {
    pub hostname: String,
    pub domainname: String,
    pub user: String,
    pub attach_stdin: bool,
    pub tty: bool,
    pub open_stdin: bool,
    pub env: Option<Vec<String>>,
    pub cmd: Option<StringOrList>,
    pub entrypoint: Option<StringOrList>,
    pub image: String,
    pub labels: Option<BTreeMap<String, String>>,
    pub working_dir: String,
    pub stop_signal: String,
    pub stop_timeout: Option<u64>,
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    pub healthcheck: Option<HealthConfig>,
    pub host_config: HostConfig,
    pub networking_config: Option<NetworkingConfig>,
}

/// Docker takes `Cmd` and `Entrypoint` as a list, and (older clients) as one string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StringOrList {
    One(String),
    List(Vec<String>),
}

impl StringOrList {
    fn into_list(self) -> Vec<String> {
        match self {
            StringOrList::One(one) => vec![one],
            StringOrList::List(list) => list,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HealthConfig {
    pub test: Vec<String>,
    /// Nanoseconds, 0 for the default.
    pub interval: u64,
    pub timeout: u64,
    pub start_period: u64,
    pub retries: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    pub binds: Option<Vec<String>>,
    pub network_mode: String,
    pub port_bindings: Option<BTreeMap<String, Option<Vec<PortBinding>>>>,
    pub restart_policy: Option<RestartPolicy>,
    pub auto_remove: bool,
    pub cap_add: Option<Vec<String>>,
    pub cap_drop: Option<Vec<String>>,
    pub dns: Option<Vec<String>>,
    pub dns_options: Option<Vec<String>>,
    pub dns_search: Option<Vec<String>>,
    pub extra_hosts: Option<Vec<String>>,
    pub privileged: bool,
    pub publish_all_ports: bool,
    pub readonly_rootfs: bool,
    pub security_opt: Option<Vec<String>>,
    pub tmpfs: Option<BTreeMap<String, String>>,
    pub memory: i64,
    pub nano_cpus: i64,
    pub pids_limit: Option<i64>,
    pub memory_reservation: i64,
    /// Memory and swap together; -1 unlimited.
    pub memory_swap: i64,
    pub memory_swappiness: Option<i64>,
    pub oom_kill_disable: Option<bool>,
    pub oom_score_adj: i64,
    pub cpu_shares: u64,
    pub cpu_period: u64,
    pub cpu_quota: i64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    pub blkio_weight: u64,
    pub ulimits: Option<Vec<Ulimit>>,
    pub shm_size: i64,
    pub sysctls: Option<BTreeMap<String, String>>,
    pub cgroup_parent: String,
    pub cgroupns_mode: String,
    pub init: Option<bool>,
    pub pid_mode: String,
    pub ipc_mode: String,
    #[serde(rename = "UTSMode")]
    pub uts_mode: String,
    pub log_config: Option<LogConfig>,
    pub mounts: Option<Vec<Mount>>,
    /// API 1.43: the OCI configuration's annotations (`docker run --annotation`).
    pub annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PortBinding {
    pub host_ip: String,
    pub host_port: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    pub name: String,
    pub maximum_retry_count: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LogConfig {
    #[serde(rename = "Type")]
    pub kind: String,
    pub config: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Mount {
    #[serde(rename = "Type")]
    pub kind: String,
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkingConfig {
    pub endpoints_config: Option<BTreeMap<String, Option<EndpointConfig>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointConfig {
    pub aliases: Option<Vec<String>>,
    #[serde(rename = "IPAMConfig")]
    pub ipam_config: Option<IpamConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IpamConfig {
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

/// A Go duration from Docker's nanoseconds (`None` for 0: the default).
fn duration(nanos: u64) -> Option<String> {
    (nanos != 0).then(|| format!("{}ms", nanos / 1_000_000))
}

impl CreateRequest {
    /// The engine's create options for this request; `name` is the query's.
    pub fn into_new_container(self, name: Option<String>) -> Result<NewContainer, ApiError> {
        if self.image.is_empty() {
            return Err(ApiError::bad_request(
                "config cannot be empty in order to create a container",
            ));
        }
        let host = self.host_config;
        let limits = limit_options(&host);
        let mut options = CreateOptions {
            image: self.image,
            command: self.cmd.map(StringOrList::into_list).unwrap_or_default(),
            entrypoint: self.entrypoint.map(|entrypoint| {
                // Docker's `--entrypoint ""` is `[""]` or `[]`: no entrypoint.
                let list = entrypoint.into_list();
                if list.iter().all(String::is_empty) {
                    String::new()
                } else {
                    serde_json::to_string(&list).unwrap_or_default()
                }
            }),
            env: self.env.unwrap_or_default(),
            workdir: non_empty(&self.working_dir),
            user: non_empty(&self.user),
            hostname: non_empty(&self.hostname),
            interactive: self.open_stdin,
            tty: self.tty,
            label: self
                .labels
                .unwrap_or_default()
                .into_iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect(),
            annotation: host
                .annotations
                .iter()
                .flatten()
                .map(|(key, value)| format!("{key}={value}"))
                .collect(),
            stop_signal: non_empty(&self.stop_signal),
            stop_timeout: self.stop_timeout,
            volume: host.binds.unwrap_or_default(),
            tmpfs: host
                .tmpfs
                .unwrap_or_default()
                .into_iter()
                .map(|(path, options)| {
                    if options.is_empty() {
                        path
                    } else {
                        format!("{path}:{options}")
                    }
                })
                .collect(),
            read_only: host.readonly_rootfs,
            cap_add: host.cap_add.unwrap_or_default(),
            cap_drop: host.cap_drop.unwrap_or_default(),
            privileged: host.privileged,
            security_opt: host.security_opt.unwrap_or_default(),
            publish_all: host.publish_all_ports,
            dns: host.dns.unwrap_or_default(),
            dns_search: host.dns_search.unwrap_or_default(),
            dns_option: host.dns_options.unwrap_or_default(),
            add_host: host.extra_hosts.unwrap_or_default(),
            rm: host.auto_remove,
            init: host.init.unwrap_or(false),
            pids_limit: host.pids_limit.filter(|limit| *limit != 0),
            memory: (host.memory != 0).then(|| host.memory.to_string()),
            cpus: (host.nano_cpus != 0).then(|| host.nano_cpus as f64 / 1e9),
            pid: non_empty(&host.pid_mode),
            ipc: non_empty(&host.ipc_mode).filter(|mode| mode != "private" && mode != "shareable"),
            uts: non_empty(&host.uts_mode),
            limits,
            ..Default::default()
        };
        if let Some(policy) = host
            .restart_policy
            .filter(|p| !p.name.is_empty() && p.name != "no")
        {
            options.restart = Some(if policy.maximum_retry_count > 0 {
                format!("{}:{}", policy.name, policy.maximum_retry_count)
            } else {
                policy.name
            });
        }
        if let Some(log) = host.log_config.filter(|log| !log.kind.is_empty()) {
            options.log_driver = Some(log.kind);
            options.log_opt = log
                .config
                .unwrap_or_default()
                .into_iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect();
        }
        for mount in host.mounts.unwrap_or_default() {
            let mut text = format!("type={},destination={}", mount.kind, mount.target);
            if !mount.source.is_empty() {
                text.push_str(&format!(",source={}", mount.source));
            }
            if mount.read_only {
                text.push_str(",ro");
            }
            options.mount.push(text);
        }
        for (port, bindings) in host.port_bindings.unwrap_or_default() {
            let (container_port, protocol) = port.split_once('/').unwrap_or((&port, "tcp"));
            for binding in bindings.unwrap_or_default() {
                let host_part = match (binding.host_ip.as_str(), binding.host_port.as_str()) {
                    ("", "") => String::new(),
                    ("", port) => format!("{port}:"),
                    (ip, port) => format!("{ip}:{port}:"),
                };
                options
                    .publish
                    .push(format!("{host_part}{container_port}/{protocol}"));
            }
        }
        // Docker's `default` and `bridge` are the engine's default network.
        let mode = host.network_mode;
        let endpoints = self
            .networking_config
            .and_then(|config| config.endpoints_config)
            .unwrap_or_default();
        match mode.as_str() {
            "" | "default" | "bridge" => {}
            other => options.network.push(other.to_string()),
        }
        for (network, endpoint) in endpoints {
            if let Some(endpoint) = endpoint {
                options
                    .network_alias
                    .extend(endpoint.aliases.unwrap_or_default());
                if let Some(ip) = endpoint
                    .ipam_config
                    .and_then(|c| non_empty(&c.ipv4_address))
                {
                    options.ip = Some(ip);
                }
            }
            if network != mode && !matches!(network.as_str(), "bridge" | "default") {
                options.network.push(network);
            }
        }
        if let Some(check) = self.healthcheck {
            match check.test.first().map(String::as_str) {
                Some("NONE") => options.no_healthcheck = true,
                Some(_) => {
                    options.health_cmd =
                        Some(serde_json::to_string(&check.test).unwrap_or_default());
                    options.health_interval = duration(check.interval);
                    options.health_timeout = duration(check.timeout);
                    options.health_start_period = duration(check.start_period);
                    options.health_retries = (check.retries != 0).then_some(check.retries);
                }
                None => {}
            }
        }
        Ok(NewContainer {
            options,
            name: name.filter(|name| !name.is_empty()),
            replace: false,
            // Docker answers 404 and its client pulls (`POST /images/create`).
            pull: PullPolicy::Never,
            platform: None,
            registry: Default::default(),
            cidfile: None,
            create_command: Vec::new(),
        })
    }
}

/// Docker's HostConfig limits as the flags would give them (0 and empty: not set).
fn limit_options(host: &HostConfig) -> skiff_engine::LimitOptions {
    let bytes = |value: i64| (value != 0).then(|| value.to_string());
    skiff_engine::LimitOptions {
        memory_reservation: bytes(host.memory_reservation),
        memory_swap: bytes(host.memory_swap),
        memory_swappiness: host.memory_swappiness,
        oom_kill_disable: host.oom_kill_disable.unwrap_or(false),
        oom_score_adj: (host.oom_score_adj != 0).then_some(host.oom_score_adj),
        cpu_shares: (host.cpu_shares != 0).then_some(host.cpu_shares),
        cpu_period: (host.cpu_period != 0).then_some(host.cpu_period),
        cpu_quota: (host.cpu_quota != 0).then_some(host.cpu_quota),
        cpuset_cpus: non_empty(&host.cpuset_cpus),
        cpuset_mems: non_empty(&host.cpuset_mems),
        blkio_weight: (host.blkio_weight != 0).then_some(host.blkio_weight),
        ulimit: host
            .ulimits
            .iter()
            .flatten()
            .map(|u| format!("{}={}:{}", u.name, u.soft, u.hard))
            .collect(),
        shm_size: bytes(host.shm_size),
        sysctl: host
            .sysctls
            .iter()
            .flatten()
            .map(|(key, value)| format!("{key}={value}"))
            .collect(),
        cgroup_parent: non_empty(&host.cgroup_parent),
        cgroupns: non_empty(&host.cgroupns_mode),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> NewContainer {
        serde_json::from_str::<CreateRequest>(text)
            .unwrap()
            .into_new_container(Some("web".into()))
            .unwrap()
    }

    #[test]
    fn docker_run_flags_become_create_options() {
        let new = parse(
            r#"{"Image":"busybox","Cmd":["sh","-c","echo hi"],"Env":["A=1"],"Tty":true,
            "OpenStdin":true,"Labels":{"k":"v"},"Entrypoint":null,"Unknown":1,
            "HostConfig":{"Binds":["/srv:/data:ro"],"AutoRemove":true,"NetworkMode":"default",
            "PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}]},
            "RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},"Memory":67108864},
            "NetworkingConfig":{"EndpointsConfig":{"mynet":{"Aliases":["db"]}}}}"#,
        );
        let o = &new.options;
        assert_eq!(new.name.as_deref(), Some("web"));
        assert_eq!(o.image, "busybox");
        assert_eq!(o.command, ["sh", "-c", "echo hi"]);
        assert_eq!(o.entrypoint, None);
        assert!(o.tty && o.interactive && o.rm);
        assert_eq!(o.label, ["k=v"]);
        assert_eq!(o.volume, ["/srv:/data:ro"]);
        assert_eq!(o.publish, ["8080:80/tcp"]);
        assert_eq!(o.restart.as_deref(), Some("on-failure:3"));
        assert_eq!(o.memory.as_deref(), Some("67108864"));
        assert_eq!(o.network, ["mynet"]);
        assert_eq!(o.network_alias, ["db"]);
        assert_eq!(new.pull, PullPolicy::Never);
    }

    #[test]
    fn an_empty_entrypoint_clears_the_images() {
        let new = parse(r#"{"Image":"busybox","Entrypoint":[""]}"#);
        assert_eq!(new.options.entrypoint.as_deref(), Some(""));
        let new = parse(r#"{"Image":"busybox","Entrypoint":["/bin/sh","-c"]}"#);
        assert_eq!(
            new.options.entrypoint.as_deref(),
            Some(r#"["/bin/sh","-c"]"#)
        );
    }

    #[test]
    fn a_request_without_an_image_is_refused() {
        let error = serde_json::from_str::<CreateRequest>("{}")
            .unwrap()
            .into_new_container(None)
            .unwrap_err();
        assert_eq!(error.status, hyper::StatusCode::BAD_REQUEST);
    }
}
