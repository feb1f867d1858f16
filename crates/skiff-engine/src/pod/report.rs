//! What `pod ps` and `pod inspect` show about a pod, with Podman's field names and its status
//! words (Created, Running, Degraded, Paused, Exited, Stopped).
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::container::report::{ContainerState, go_time, human_duration};
use crate::engine::Engine;
use crate::error::EngineError;

use super::store::PodRecord;

/// One member of a pod as reports show it.
#[derive(Debug, Clone)]
pub struct PodMember {
    pub id: String,
    pub name: String,
    pub state: ContainerState,
    pub restart_count: u32,
}

/// One pod as the engine reports it.
#[derive(Debug, Clone)]
pub struct PodReport {
    pub(crate) record: PodRecord,
    /// Oldest first, the infra container among them.
    pub members: Vec<PodMember>,
    /// The infra container's networks.
    pub networks: Vec<String>,
    pub infra_ports: Vec<skiff_spec::PortMapping>,
    /// The pod's cgroup, when its members are made below it.
    pub cgroup_path: Option<String>,
}

/// Podman's pod status from its containers' states (libpod's createPodStatusResults).
pub fn pod_status(states: &[ContainerState]) -> &'static str {
    let count = |wanted: ContainerState| states.iter().filter(|s| **s == wanted).count();
    let all = states.len();
    let (running, paused, exited) = (
        count(ContainerState::Running),
        count(ContainerState::Paused),
        count(ContainerState::Exited),
    );
    match () {
        _ if all == 0 => "Created",
        _ if running == all => "Running",
        _ if running > 0 => "Degraded",
        _ if paused == all => "Paused",
        _ if exited == all => "Exited",
        _ if exited > 0 => "Stopped",
        _ => "Created",
    }
}

impl PodReport {
    pub fn id(&self) -> &str {
        &self.record.id
    }

    pub fn name(&self) -> &str {
        &self.record.name
    }

    pub fn created(&self) -> DateTime<Utc> {
        self.record.created
    }

    pub fn labels(&self) -> &std::collections::BTreeMap<String, String> {
        &self.record.spec.labels
    }

    /// What the pod's members have in common (its hostname, shared namespaces, mounts).
    pub fn spec(&self) -> &skiff_spec::PodSpec {
        &self.record.spec
    }

    pub fn infra_id(&self) -> Option<&str> {
        self.record.infra_id.as_deref()
    }

    pub fn status(&self) -> &'static str {
        let states: Vec<ContainerState> = self.members.iter().map(|m| m.state).collect();
        pod_status(&states)
    }

    fn shared_namespaces(&self) -> Vec<&'static str> {
        self.record.spec.shares.iter().map(|s| s.name()).collect()
    }

    /// The parent the pod's cgroup is made below (`pod ps`'s Cgroup, inspect's CgroupParent).
    fn cgroup_parent(&self) -> Option<String> {
        let path = self.cgroup_path.as_deref()?;
        Some(
            path.rsplit_once('/')
                .map_or("/", |(parent, _)| parent)
                .to_string(),
        )
    }

    /// The object `pod ps --format json` prints, as Podman's ListPodsReport.
    pub fn ps_json(&self) -> Value {
        json!({
            "Cgroup": self.cgroup_parent().unwrap_or_default(),
            "Containers": self.members.iter().map(|m| json!({
                "Id": m.id,
                "Names": m.name,
                "Status": m.state.as_str(),
                "RestartCount": m.restart_count,
            })).collect::<Vec<_>>(),
            "Created": go_time(self.record.created),
            "Id": self.record.id,
            "InfraId": self.record.infra_id.clone().unwrap_or_default(),
            "Name": self.record.name,
            "Namespace": "",
            "Networks": self.networks,
            "Status": self.status(),
            "Labels": self.record.spec.labels,
        })
    }

    /// The values `pod ps --format '{{...}}'` templates see (Podman's ListPodReporter).
    pub fn ps_template(&self, now: DateTime<Utc>, no_trunc: bool) -> Value {
        let short = |id: &str| -> String {
            if no_trunc {
                id.to_string()
            } else {
                id.chars().take(12).collect()
            }
        };
        let mut value = self.ps_json();
        let infra = self
            .record
            .infra_id
            .as_deref()
            .map(short)
            .unwrap_or_default();
        let extra = json!({
            "ID": short(&self.record.id),
            "Id": short(&self.record.id),
            "Created": format!("{} ago", human_duration(now, self.record.created)),
            "InfraID": infra,
            "InfraId": infra,
            "NumberOfContainers": self.members.len(),
            "ContainerIds": self.members.iter().map(|m| short(&m.id)).collect::<Vec<_>>().join(","),
            "ContainerNames": self.members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(","),
            "ContainerStatuses": self.members.iter().map(|m| m.state.as_str()).collect::<Vec<_>>().join(","),
            "Networks": self.networks.join(","),
            "Restarts": self.members.iter().map(|m| m.restart_count).sum::<u32>().to_string(),
        });
        if let (Value::Object(base), Value::Object(extra)) = (&mut value, extra) {
            base.extend(extra);
        }
        value
    }

    /// The object `pod inspect` prints, as Podman's InspectPodData.
    pub fn inspect_json(&self) -> Value {
        let spec = &self.record.spec;
        let infra = self.record.infra_id.is_some();
        let mut value = json!({
            "Id": self.record.id,
            "Name": self.record.name,
            "Created": self.record.created.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            "CreateCommand": [],
            "ExitPolicy": if spec.stop_when_empty { "stop" } else { "continue" },
            "State": self.status(),
            "Hostname": spec.hostname.clone().unwrap_or_else(|| if spec.shares(skiff_spec::Share::Uts) { self.record.name.clone() } else { String::new() }),
            "Labels": spec.labels,
            "CreateCgroup": self.cgroup_path.is_some(),
            "CreateInfra": infra,
            "InfraContainerID": self.record.infra_id.clone().unwrap_or_default(),
            "SharedNamespaces": self.shared_namespaces(),
            "NumContainers": self.members.len(),
            "Containers": self.members.iter().map(|m| json!({
                "Id": m.id,
                "Name": m.name,
                "State": m.state.as_str(),
            })).collect::<Vec<_>>(),
        });
        if let (Some(path), Some(cgroup), Value::Object(object)) =
            (&self.cgroup_path, &spec.cgroup, &mut value)
        {
            // Podman's keys, each only when set.
            let quota = cgroup.cpus.map(|c| (c * 100_000.0) as i64);
            for (key, set) in [
                ("CgroupParent", self.cgroup_parent().map(Value::from)),
                ("CgroupPath", Some(Value::from(path.as_str()))),
                ("cpu_period", quota.map(|_| Value::from(100_000))),
                ("cpu_quota", quota.map(Value::from)),
                ("cpu_shares", cgroup.limits.cpu_shares.map(Value::from)),
                (
                    "cpuset_cpus",
                    cgroup.limits.cpuset_cpus.clone().map(Value::from),
                ),
                (
                    "cpuset_mems",
                    cgroup.limits.cpuset_mems.clone().map(Value::from),
                ),
                ("memory_limit", cgroup.memory.map(Value::from)),
                ("memory_swap", cgroup.limits.memory_swap.map(Value::from)),
            ] {
                if let Some(set) = set {
                    object.insert(key.to_string(), set);
                }
            }
        }
        if infra {
            let mut bindings = serde_json::Map::new();
            for port in &self.infra_ports {
                let key = format!("{}/{}", port.container_port, port.protocol);
                let binding =
                    json!({"HostIp": port.host_ip, "HostPort": port.host_port.to_string()});
                match bindings.get_mut(&key) {
                    Some(Value::Array(list)) => list.push(binding),
                    _ => {
                        bindings.insert(key, json!([binding]));
                    }
                }
            }
            value["InfraConfig"] = json!({
                "PortBindings": bindings,
                "HostNetwork": false,
                "StaticIP": "",
                "StaticMAC": "",
                "NoManageResolvConf": false,
                "NoManageHosts": false,
                "Networks": self.networks,
                "NetworkOptions": null,
                "pid_ns": if spec.shares(skiff_spec::Share::Pid) { "pod" } else { "private" },
                "userns": "host",
                "uts_ns": if spec.shares(skiff_spec::Share::Uts) { "pod" } else { "private" },
            });
        }
        value
    }
}

/// `pod ps --filter KEY=VALUE`, as Podman: the same key given twice matches either value,
/// different keys must all match.
#[derive(Debug, Default, Clone)]
pub struct PodFilter {
    by_key: std::collections::BTreeMap<String, Vec<String>>,
}

const FILTER_KEYS: &[&str] = &[
    "id",
    "name",
    "label",
    "status",
    "ctr-names",
    "ctr-ids",
    "ctr-status",
    "ctr-number",
    "network",
];
const STATUSES: &[&str] = &[
    "stopped", "running", "paused", "exited", "dead", "created", "degraded",
];

impl PodFilter {
    pub fn parse(filters: &[String]) -> Result<Self, EngineError> {
        let by_key = crate::container::filter::parse_filters(filters, FILTER_KEYS)?;
        for value in by_key.get("status").into_iter().flatten() {
            if !STATUSES.contains(&value.as_str()) {
                return Err(EngineError::InvalidArgument(format!(
                    "{value} is not a valid status"
                )));
            }
        }
        Ok(Self { by_key })
    }

    pub fn matches(&self, pod: &PodReport) -> bool {
        self.by_key
            .iter()
            .all(|(key, values)| values.iter().any(|value| pod.matches(key, value)))
    }
}

impl PodReport {
    fn matches(&self, key: &str, value: &str) -> bool {
        let record = &self.record;
        match key {
            "id" => record.id.starts_with(value),
            "name" => record.name.contains(value),
            "label" => crate::container::filter::labels_match(&record.spec.labels, value),
            "status" => self.status().eq_ignore_ascii_case(value),
            "ctr-names" => self.members.iter().any(|m| m.name.contains(value)),
            "ctr-ids" => self.members.iter().any(|m| m.id.starts_with(value)),
            "ctr-status" => self.members.iter().any(|m| m.state.as_str() == value),
            "ctr-number" => value.parse() == Ok(self.members.len()),
            "network" => self.networks.iter().any(|n| n == value),
            _ => false,
        }
    }
}

impl Engine {
    fn pod_report(&self, record: PodRecord) -> Result<PodReport, EngineError> {
        let mut members = Vec::new();
        let mut networks = Vec::new();
        let mut infra_ports = Vec::new();
        for container in self.containers.pod_members(&record.id)? {
            let container = self.refresh(container)?;
            let paused = container.state == crate::container::store::State::Running
                && self.is_paused(&container.id, container.pid);
            if record.infra_id.as_deref() == Some(container.id.as_str()) {
                if let skiff_spec::NetworkMode::Bridge(attached) = &container.spec.network {
                    networks = attached.iter().map(|a| a.network.clone()).collect();
                }
                infra_ports = container.spec.ports.clone();
            }
            members.push(PodMember {
                state: ContainerState::of(container.state, paused),
                id: container.id,
                name: container.name,
                restart_count: container.restart_count,
            });
        }
        Ok(PodReport {
            cgroup_path: self.pod_cgroup_path(&record),
            record,
            members,
            networks,
            infra_ports,
        })
    }

    /// `pod top`: the processes of the pod's running containers (each once, where they
    /// share a PID namespace).
    pub fn top_pod(
        &self,
        name_or_id: &str,
        descriptors: &[String],
    ) -> Result<crate::container::top::ProcessTable, EngineError> {
        let mut table: Option<crate::container::top::ProcessTable> = None;
        for id in self.pod_containers(name_or_id, None, true)? {
            if self.container_pid(&id)?.is_none() {
                continue;
            }
            let found = self.top_container(&id, descriptors)?;
            match &mut table {
                Some(table) => {
                    for row in found.rows {
                        if !table.rows.contains(&row) {
                            table.rows.push(row);
                        }
                    }
                }
                None => table = Some(found),
            }
        }
        table.ok_or_else(|| EngineError::InvalidState(format!("pod {name_or_id} is not running")))
    }

    /// `pod inspect`: one pod.
    pub fn pod(&self, name_or_id: &str) -> Result<PodReport, EngineError> {
        self.pod_report(self.containers.lookup_pod(name_or_id)?)
    }

    /// `pod ps`: every pod that passes `filter`, newest first.
    pub fn list_pods(&self, filter: &PodFilter) -> Result<Vec<PodReport>, EngineError> {
        let mut pods = Vec::new();
        for record in self.containers.list_pods()? {
            let report = self.pod_report(record)?;
            if filter.matches(&report) {
                pods.push(report);
            }
        }
        Ok(pods)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ContainerState::*;

    #[test]
    fn status_words_follow_podman() {
        assert_eq!(pod_status(&[]), "Created");
        assert_eq!(pod_status(&[Running, Running]), "Running");
        assert_eq!(pod_status(&[Running, Exited]), "Degraded");
        assert_eq!(pod_status(&[Running, Created]), "Degraded");
        assert_eq!(pod_status(&[Paused, Paused]), "Paused");
        assert_eq!(pod_status(&[Exited, Exited]), "Exited");
        assert_eq!(pod_status(&[Exited, Created]), "Stopped");
        assert_eq!(pod_status(&[Created, Created]), "Created");
    }
}
