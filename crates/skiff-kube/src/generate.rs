//! `kube generate`: Kubernetes YAML from containers, pods and volumes, as Podman writes it. A
//! pod becomes a Pod (or a Deployment or DaemonSet around one), standalone containers become
//! one Pod named for the first of them, a volume becomes a PersistentVolumeClaim; `--service`
//! adds a NodePort Service for the published ports.
use std::collections::BTreeMap;

use skiff_engine::{
    ContainerReport, Engine, EngineError, MountSpec, NetworkMode, PodReport, RestartPolicy,
    VolumeReport,
};

use crate::names;
use crate::objects::*;
use crate::quantity;

/// The kind of object a pod becomes (`--type`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WorkloadKind {
    #[default]
    Pod,
    Deployment,
    DaemonSet,
}

impl WorkloadKind {
    pub fn parse(text: &str) -> Result<Self, EngineError> {
        match text {
            "pod" => Ok(Self::Pod),
            "deployment" => Ok(Self::Deployment),
            "daemonset" => Ok(Self::DaemonSet),
            other => Err(EngineError::InvalidArgument(format!(
                "invalid type given, only supported types are pod, deployment and daemonset: {other:?}"
            ))),
        }
    }
}

/// `kube generate` options, in the words of Podman's flags.
#[derive(Debug, Clone, Default)]
pub struct GenerateOptions {
    /// `--service`: a Service for each pod's published ports.
    pub service: bool,
    pub kind: WorkloadKind,
    /// `--replicas` of a Deployment (None: 1).
    pub replicas: Option<u32>,
}

/// Capabilities a Kubernetes container runtime grants by default (containerd's and CRI-O's);
/// the YAML adds and drops relative to these, so a cluster runs the container with what it
/// has here.
const KUBERNETES_CAPABILITIES: &[&str] = &[
    "CAP_AUDIT_WRITE",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_MKNOD",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_RAW",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

const HEADER: &str = "# Save the output of this file and use kubectl create -f to import it into Kubernetes.\n#\n# Created with skiff-";

/// What the targets name, sorted by kind.
enum Target {
    Pod(Box<PodReport>),
    Container(Box<ContainerReport>),
    Volume(VolumeReport),
}

fn find(engine: &Engine, name: &str) -> Result<Target, EngineError> {
    match engine.pod(name) {
        Ok(pod) => return Ok(Target::Pod(Box::new(pod))),
        Err(EngineError::NoSuchPod(_)) => {}
        Err(err) => return Err(err),
    }
    match engine.container(name) {
        Ok(container) => return Ok(Target::Container(Box::new(container))),
        Err(EngineError::NoSuchContainer(_)) => {}
        Err(err) => return Err(err),
    }
    match engine.volume(name) {
        Ok(volume) => Ok(Target::Volume(volume)),
        Err(EngineError::NoSuchVolume(_)) => Err(EngineError::NoSuchObject(name.to_string())),
        Err(err) => Err(err),
    }
}

/// The YAML for these containers, pods and volumes: documents separated by `---`.
pub fn generate(
    engine: &Engine,
    targets: &[String],
    options: &GenerateOptions,
) -> Result<String, EngineError> {
    if targets.is_empty() {
        return Err(EngineError::InvalidArgument(
            "at least one container, pod or volume is required".into(),
        ));
    }
    if options.replicas.is_some() && options.kind != WorkloadKind::Deployment {
        return Err(EngineError::InvalidArgument(
            "--replicas can only be set when --type is set to deployment".into(),
        ));
    }
    let (mut pods, mut containers, mut volumes) = (Vec::new(), Vec::new(), Vec::new());
    for name in targets {
        match find(engine, name)? {
            Target::Pod(pod) => pods.push(*pod),
            Target::Container(container) => containers.push(*container),
            Target::Volume(volume) => volumes.push(volume),
        }
    }
    if !pods.is_empty() && !containers.is_empty() {
        return Err(EngineError::InvalidArgument(
            "cannot generate pods and containers at the same time".into(),
        ));
    }
    let mut documents = Vec::new();
    for volume in &volumes {
        documents.push(to_yaml(&claim(volume))?);
    }
    let mut workloads = Vec::new();
    for pod in &pods {
        workloads.push(pod_workload(engine, pod)?);
    }
    if !containers.is_empty() {
        workloads.push(containers_workload(engine, &containers)?);
    }
    for workload in workloads {
        if options.service
            && let Some(service) = service(&workload)
        {
            documents.push(to_yaml(&service)?);
        }
        documents.push(match options.kind {
            WorkloadKind::Pod => to_yaml(&workload)?,
            WorkloadKind::Deployment | WorkloadKind::DaemonSet => {
                to_yaml(&wrapped(workload, options))?
            }
        });
    }
    Ok(format!(
        "{HEADER}{}\n{}",
        env!("CARGO_PKG_VERSION"),
        documents.join("---\n")
    ))
}

fn to_yaml<T: serde::Serialize>(object: &T) -> Result<String, EngineError> {
    yaml_serde::to_string(object)
        .map(|text| quote_timestamps(&text))
        .map_err(|e| EngineError::InvalidArgument(format!("YAML: {e}")))
}

/// Whether a plain scalar reads as a YAML 1.1 timestamp (`2026-12-07`, `2026-12-07T02:00:04Z`).
fn looks_like_timestamp(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() >= 8
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && bytes[4] == b'-'
        && value[5..]
            .chars()
            .all(|c| c.is_ascii_digit() || "-:.+TtZz ".contains(c))
}

/// Quotes the plain scalars YAML 1.1 readers (PyYAML, kubectl's older parsers) would take
/// for timestamps rather than the strings they are, as Podman's output quotes them.
fn quote_timestamps(yaml: &str) -> String {
    let mut out = String::with_capacity(yaml.len());
    // Inside a block scalar (`|`, `>-`, ...) begun at this indentation, lines are text.
    let mut block: Option<usize> = None;
    for line in yaml.lines() {
        let body = line.trim_start();
        let indent = &line[..line.len() - body.len()];
        if let Some(at) = block {
            if indent.len() > at || body.is_empty() {
                out.push_str(line);
                out.push('\n');
                continue;
            }
            block = None;
        }
        let (item, rest) = match body.strip_prefix("- ") {
            Some(rest) => ("- ", rest),
            None => ("", body),
        };
        let (key, value) = match rest.split_once(": ") {
            Some((key, value)) => (Some(key), value),
            None => (None, rest),
        };
        out.push_str(indent);
        out.push_str(item);
        if let Some(key) = key {
            out.push_str(key);
            out.push_str(": ");
        }
        if value.starts_with(['|', '>']) {
            block = Some(indent.len() + item.len());
        }
        if looks_like_timestamp(value) {
            out.push('"');
            out.push_str(value);
            out.push('"');
        } else {
            out.push_str(value);
        }
        out.push('\n');
    }
    out
}

fn timestamp(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn new_pod(name: &str, created: chrono::DateTime<chrono::Utc>) -> Pod {
    let name = names::object_name(name);
    Pod {
        api_version: "v1".into(),
        kind: "Pod".into(),
        metadata: ObjectMeta {
            creation_timestamp: Some(timestamp(created)),
            labels: BTreeMap::from([("app".to_string(), names::label_value(&name))]),
            name,
            ..Default::default()
        },
        spec: PodSpec::default(),
    }
}

fn pod_workload(engine: &Engine, report: &PodReport) -> Result<Pod, EngineError> {
    let members: Vec<ContainerReport> = report
        .members
        .iter()
        .filter(|m| Some(m.id.as_str()) != report.infra_id())
        .map(|m| engine.container(&m.id))
        .collect::<Result<_, _>>()?;
    if members.is_empty() {
        return Err(EngineError::InvalidArgument(format!(
            "pod {} only has an infra container",
            report.name()
        )));
    }
    let mut pod = new_pod(report.name(), report.created());
    for (key, value) in report.labels() {
        if names::valid_label(key, value) {
            pod.metadata.labels.insert(key.clone(), value.clone());
        }
    }
    let infra = match report.infra_id() {
        Some(id) => Some(engine.container(id)?),
        None => None,
    };
    if let Some(infra) = &infra {
        if infra.spec().network == NetworkMode::Host {
            pod.spec.host_network = true;
        }
        let hostname = report.spec().hostname.as_deref();
        if hostname.is_some_and(|h| h != report.name()) {
            pod.spec.hostname = hostname.map(str::to_string);
        }
        pod.spec.host_aliases = host_aliases(&infra.spec().extra_hosts);
        pod.spec.dns_config = dns_config(infra.spec());
    }
    add_containers(engine, &mut pod, &members, Some(report.name()))?;
    if let Some(first) = pod.spec.containers.first_mut() {
        first.ports.extend(report.infra_ports.iter().map(port));
    }
    Ok(pod)
}

fn containers_workload(
    engine: &Engine,
    containers: &[ContainerReport],
) -> Result<Pod, EngineError> {
    let first = &containers[0];
    let mut pod = new_pod(&format!("{}-pod", first.name()), first.created());
    if first.spec().network == NetworkMode::Host {
        pod.spec.host_network = true;
    }
    pod.spec.host_aliases = host_aliases(&first.spec().extra_hosts);
    pod.spec.dns_config = dns_config(first.spec());
    if let Some(hostname) = &first.spec().hostname {
        pod.spec.hostname = Some(hostname.clone());
    }
    add_containers(engine, &mut pod, containers, None)?;
    for (kube, report) in pod.spec.containers.iter_mut().zip(containers) {
        kube.ports.extend(report.spec().ports.iter().map(port));
    }
    Ok(pod)
}

fn add_containers(
    engine: &Engine,
    pod: &mut Pod,
    containers: &[ContainerReport],
    pod_name: Option<&str>,
) -> Result<(), EngineError> {
    let mut volumes: Vec<Volume> = Vec::new();
    for report in containers {
        // Members kube play made are named POD-NAME: the YAML names them NAME again.
        let name = pod_name
            .and_then(|pod| report.name().strip_prefix(&format!("{pod}-")))
            .unwrap_or(report.name());
        let name = names::label_name(name);
        let spec = report.spec();
        let mut container = container(engine, report, &name)?;
        for mount in &spec.mounts {
            let Some((mount, volume)) = volume_of(mount, volumes.len()) else {
                continue;
            };
            container.volume_mounts.push(mount);
            // A claim two containers mount is one volume of the pod.
            if !volumes.iter().any(|v| v.name == volume.name) {
                volumes.push(volume);
            }
        }
        let annotations = &mut pod.metadata.annotations;
        let key = |prefix: &str| format!("io.podman.annotations.{prefix}/{name}");
        if spec.remove {
            annotations.insert(key("autoremove"), "TRUE".into());
        }
        if spec.init {
            annotations.insert(key("init"), "TRUE".into());
        }
        for (key, value) in &spec.labels {
            if names::valid_label(key, value) {
                pod.metadata.labels.insert(key.clone(), value.clone());
            }
        }
        // Kubernetes' grace period is the pod's: the longest of its containers'.
        if let Some(timeout) = spec.stop_timeout.filter(|t| *t != 10) {
            let grace = &mut pod.spec.termination_grace_period_seconds;
            *grace = Some(grace.unwrap_or(0).max(timeout));
        }
        if pod.spec.restart_policy.is_none() {
            pod.spec.restart_policy = Some(
                match spec.restart {
                    RestartPolicy::No => "Never",
                    RestartPolicy::OnFailure(_) => "OnFailure",
                    RestartPolicy::Always | RestartPolicy::UnlessStopped => "Always",
                }
                .into(),
            );
        }
        pod.spec.containers.push(container);
    }
    pod.spec.volumes = volumes;
    Ok(())
}

/// One container's part of the pod spec.
fn container(
    engine: &Engine,
    report: &ContainerReport,
    name: &str,
) -> Result<Container, EngineError> {
    let spec = report.spec();
    let (image_id, image_name) = report.image();
    let image_entrypoint = engine
        .image(image_id)
        .ok()
        .and_then(|image| image.image.config().ok())
        .and_then(|config| config.config().clone())
        .and_then(|config| config.entrypoint().clone())
        .unwrap_or_default();
    let mut container = Container {
        name: name.to_string(),
        image: image_name.to_string(),
        stdin: spec.interactive,
        tty: spec.tty,
        working_dir: spec.workdir.clone(),
        ..Default::default()
    };
    // `command` takes the place of the image's entrypoint and `args` of its command.
    match &spec.entrypoint {
        Some(entrypoint) => {
            container.command = entrypoint.clone();
            container.args = spec.command.clone();
        }
        None if !image_entrypoint.is_empty() => container.args = spec.command.clone(),
        None => container.command = spec.command.clone(),
    }
    container.env = spec
        .env
        .iter()
        .map(|entry| {
            let (name, value) = entry.split_once('=').unwrap_or((entry, ""));
            EnvVar {
                name: name.to_string(),
                value: Some(value.to_string()),
                value_from: None,
            }
        })
        .collect();
    let mut limits = BTreeMap::new();
    if let Some(memory) = spec.memory.filter(|m| *m > 0) {
        limits.insert(
            "memory".to_string(),
            Quantity(quantity::memory_text(memory as u64)),
        );
    }
    if let Some(cpus) = spec.cpus.filter(|c| *c > 0.0) {
        limits.insert("cpu".to_string(), Quantity(quantity::cpu_text(cpus)));
    }
    if !limits.is_empty() {
        container.resources = Some(Resources {
            limits,
            ..Default::default()
        });
    }
    container.security_context = security_context(report);
    if let Some(check) = &spec.healthcheck {
        container.liveness_probe = probe(check);
    }
    Ok(container)
}

fn security_context(report: &ContainerReport) -> Option<SecurityContext> {
    let spec = report.spec();
    let mut context = SecurityContext::default();
    if spec.privileged {
        context.privileged = Some(true);
    } else {
        let has =
            skiff_spec::capability_set(false, &spec.cap_add, &spec.cap_drop).unwrap_or_default();
        let add: Vec<String> = has
            .iter()
            .filter(|c| !KUBERNETES_CAPABILITIES.contains(&c.as_str()))
            .cloned()
            .collect();
        let drop: Vec<String> = KUBERNETES_CAPABILITIES
            .iter()
            .filter(|c| !has.iter().any(|h| h == *c))
            .map(|c| c.to_string())
            .collect();
        if !add.is_empty() || !drop.is_empty() {
            context.capabilities = Some(Capabilities { add, drop });
        }
    }
    if spec.read_only {
        context.read_only_root_filesystem = Some(true);
    }
    if spec.no_new_privileges {
        context.allow_privilege_escalation = Some(false);
    }
    if spec.unmask.iter().any(|u| u == "all") {
        context.proc_mount = Some("Unmasked".into());
    }
    if let Some(user) = &spec.user {
        let (uid, gid) = user.split_once(':').unwrap_or((user, ""));
        if let Ok(uid) = uid.parse::<i64>() {
            context.run_as_user = Some(uid);
        }
        if let Ok(gid) = gid.parse::<i64>() {
            context.run_as_group = Some(gid);
        }
    }
    (context != SecurityContext::default()).then_some(context)
}

fn probe(check: &skiff_spec::HealthCheck) -> Option<Probe> {
    let command = match check.test.first().map(String::as_str) {
        Some("CMD") => check.test[1..].to_vec(),
        Some("CMD-SHELL") => vec!["/bin/sh".into(), "-c".into(), check.test[1..].join(" ")],
        _ => return None,
    };
    let seconds = |nanos: u64| (nanos > 0).then_some(nanos.div_ceil(1_000_000_000));
    Some(Probe {
        exec: Some(ExecAction { command }),
        failure_threshold: (check.retries > 0).then_some(check.retries),
        initial_delay_seconds: seconds(check.start_period),
        period_seconds: seconds(check.interval),
        timeout_seconds: seconds(check.timeout),
        ..Default::default()
    })
}

fn port(mapping: &skiff_engine::PortMapping) -> ContainerPort {
    ContainerPort {
        container_port: mapping.container_port,
        host_ip: (!mapping.host_ip.is_empty()).then(|| mapping.host_ip.clone()),
        host_port: (mapping.host_port != 0).then_some(mapping.host_port),
        name: None,
        protocol: (mapping.protocol != "tcp" && !mapping.protocol.is_empty())
            .then(|| mapping.protocol.to_ascii_uppercase()),
    }
}

fn host_aliases(extra_hosts: &[String]) -> Vec<HostAlias> {
    let mut aliases: Vec<HostAlias> = Vec::new();
    for entry in extra_hosts {
        let Some((host, ip)) = entry.split_once(':') else {
            continue;
        };
        match aliases.iter_mut().find(|a| a.ip == ip) {
            Some(alias) => alias.hostnames.push(host.to_string()),
            None => aliases.push(HostAlias {
                hostnames: vec![host.to_string()],
                ip: ip.to_string(),
            }),
        }
    }
    aliases
}

fn dns_config(spec: &skiff_engine::ContainerSpec) -> Option<DnsConfig> {
    let config = DnsConfig {
        nameservers: spec.dns_servers.clone(),
        options: spec
            .dns_options
            .iter()
            .map(|option| {
                let (name, value) = match option.split_once(':') {
                    Some((name, value)) => (name, Some(value.to_string())),
                    None => (option.as_str(), None),
                };
                DnsOption {
                    name: name.to_string(),
                    value,
                }
            })
            .collect(),
        searches: spec.dns_search.clone(),
    };
    (config != DnsConfig::default()).then_some(config)
}

/// A mount as a volumeMount and the pod volume it names: a bind mount is a hostPath, a named
/// volume its claim, a tmpfs or anonymous volume an emptyDir. An image mount has no
/// Kubernetes volume in the API versions this writes, and is left out, as Podman does.
fn volume_of(mount: &MountSpec, index: usize) -> Option<(VolumeMount, Volume)> {
    let (volume, options) = match mount {
        MountSpec::Bind {
            source, options, ..
        } => {
            let kind = match std::fs::metadata(source) {
                Ok(meta) if meta.is_dir() => Some("Directory".to_string()),
                Ok(meta) if meta.is_file() => Some("File".to_string()),
                _ => None,
            };
            let volume = Volume {
                host_path: Some(HostPath {
                    path: source.clone(),
                    kind,
                }),
                name: format!("{}-host-{index}", names::path_name(source)),
                ..Default::default()
            };
            (volume, options)
        }
        MountSpec::Volume {
            name,
            options,
            anonymous: false,
            ..
        } => {
            let volume = Volume {
                name: format!("{}-pvc", names::label_name(name)),
                persistent_volume_claim: Some(ClaimSource {
                    claim_name: name.clone(),
                    read_only: false,
                }),
                ..Default::default()
            };
            (volume, options)
        }
        MountSpec::Volume { options, .. } | MountSpec::Tmpfs { options, .. } => {
            let memory = matches!(mount, MountSpec::Tmpfs { .. });
            let volume = Volume {
                empty_dir: Some(EmptyDir {
                    medium: memory.then(|| "Memory".to_string()),
                }),
                name: format!("{}-empty-{index}", names::path_name(mount.destination())),
                ..Default::default()
            };
            (volume, options)
        }
        MountSpec::Image { .. } => return None,
    };
    let mount = VolumeMount {
        mount_path: mount.destination().to_string(),
        name: volume.name.clone(),
        read_only: options.iter().any(|o| o == "ro"),
        sub_path: None,
    };
    Some((mount, volume))
}

/// `--service`: a NodePort Service for the pod's published ports (none without any).
fn service(pod: &Pod) -> Option<Service> {
    let ports: Vec<ServicePort> = pod
        .spec
        .containers
        .iter()
        .flat_map(|c| &c.ports)
        .filter_map(|p| {
            let host_port = p.host_port?;
            Some(ServicePort {
                name: host_port.to_string(),
                node_port: Some(node_port(host_port)),
                port: host_port,
                protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                target_port: p.container_port,
            })
        })
        .collect();
    if ports.is_empty() {
        return None;
    }
    let app = pod.metadata.labels.get("app").cloned().unwrap_or_default();
    Some(Service {
        api_version: "v1".into(),
        kind: "Service".into(),
        metadata: ObjectMeta {
            creation_timestamp: pod.metadata.creation_timestamp.clone(),
            labels: BTreeMap::from([("app".to_string(), app.clone())]),
            name: pod.metadata.name.clone(),
            ..Default::default()
        },
        spec: ServiceSpec {
            ports,
            selector: BTreeMap::from([("app".to_string(), app)]),
            kind: "NodePort".into(),
        },
    })
}

/// A node port (Kubernetes' 30000-32767) picked for a host port, the same each time.
fn node_port(host_port: u16) -> u16 {
    30000 + host_port % 2768
}

/// A Deployment or DaemonSet running the pod.
fn wrapped(pod: Pod, options: &GenerateOptions) -> Workload {
    let (kind, suffix) = match options.kind {
        WorkloadKind::DaemonSet => ("DaemonSet", "daemonset"),
        _ => ("Deployment", "deployment"),
    };
    let app = pod.metadata.labels.get("app").cloned().unwrap_or_default();
    let mut template_spec = pod.spec;
    // Kubernetes runs a Deployment's and a DaemonSet's pods with `Always` only.
    template_spec.restart_policy = None;
    Workload {
        api_version: "apps/v1".into(),
        kind: kind.into(),
        metadata: ObjectMeta {
            creation_timestamp: pod.metadata.creation_timestamp.clone(),
            labels: BTreeMap::from([("app".to_string(), app.clone())]),
            name: format!("{}-{suffix}", pod.metadata.name),
            ..Default::default()
        },
        spec: WorkloadSpec {
            replicas: (options.kind == WorkloadKind::Deployment)
                .then_some(options.replicas.unwrap_or(1)),
            selector: Some(LabelSelector {
                match_labels: BTreeMap::from([("app".to_string(), app)]),
            }),
            template: PodTemplate {
                metadata: ObjectMeta {
                    annotations: pod.metadata.annotations,
                    labels: pod.metadata.labels,
                    name: pod.metadata.name,
                    ..Default::default()
                },
                spec: template_spec,
            },
        },
    }
}

/// A volume as the claim a cluster would bind it to.
fn claim(volume: &VolumeReport) -> PersistentVolumeClaim {
    let mut annotations =
        BTreeMap::from([("volume.podman.io/driver".to_string(), volume.driver.clone())]);
    for (key, value) in &volume.options {
        annotations.insert(format!("volume.podman.io/{key}"), value.clone());
    }
    PersistentVolumeClaim {
        api_version: "v1".into(),
        kind: "PersistentVolumeClaim".into(),
        metadata: ObjectMeta {
            annotations,
            creation_timestamp: Some(timestamp(volume.created_at)),
            labels: volume
                .labels
                .iter()
                .filter(|(k, v)| names::valid_label(k, v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            name: names::object_name(&volume.name),
        },
        spec: ClaimSpec {
            access_modes: vec!["ReadWriteOnce".into()],
            resources: Resources {
                requests: BTreeMap::from([("storage".to_string(), Quantity("1Gi".into()))]),
                ..Default::default()
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_relative_to_kubernetes_defaults() {
        let has = skiff_spec::capability_set(false, &[], &[]).unwrap();
        let drop: Vec<&str> = KUBERNETES_CAPABILITIES
            .iter()
            .copied()
            .filter(|c| !has.iter().any(|h| h == c))
            .collect();
        assert_eq!(drop, ["CAP_AUDIT_WRITE", "CAP_MKNOD", "CAP_NET_RAW"]);
    }

    #[test]
    fn timestamps_are_quoted_strings() {
        let yaml = "metadata:\n  creationTimestamp: 2026-12-07T02:00:04Z\n  name: web\nenv:\n- 2026-01-01\n- value: 2026-13\n- 20261201\n- value: |-\n    2026-01-01\n    x: 2026-01-01\n  name: 2026-01-02\n";
        assert_eq!(
            quote_timestamps(yaml),
            "metadata:\n  creationTimestamp: \"2026-12-07T02:00:04Z\"\n  name: web\nenv:\n- \"2026-01-01\"\n- value: 2026-13\n- 20261201\n- value: |-\n    2026-01-01\n    x: 2026-01-01\n  name: \"2026-01-02\"\n"
        );
    }

    #[test]
    fn node_ports_are_in_kubernetes_range() {
        for port in [1, 80, 8080, 30000, 65535] {
            assert!((30000..=32767).contains(&node_port(port)));
        }
    }

    #[test]
    fn health_checks_become_exec_probes() {
        let check = skiff_spec::HealthCheck {
            test: vec!["CMD-SHELL".into(), "test -f /ok".into()],
            interval: 30_000_000_000,
            timeout: 5_000_000_000,
            start_period: 0,
            retries: 3,
        };
        let probe = probe(&check).unwrap();
        assert_eq!(
            probe.exec.unwrap().command,
            ["/bin/sh", "-c", "test -f /ok"]
        );
        assert_eq!(probe.period_seconds, Some(30));
        assert_eq!(probe.initial_delay_seconds, None);
    }
}
