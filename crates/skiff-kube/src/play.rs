//! `kube play` and `kube down`: Kubernetes YAML run as pods. Each Pod (and the pod template
//! of a Deployment, DaemonSet or Job) becomes a pod whose containers are made through the
//! same `CreateOptions` as `run --pod`; PersistentVolumeClaims become named volumes and
//! ConfigMaps feed environment variables and volumes. Services are read and left alone, as
//! Podman does.
use std::collections::BTreeMap;
use std::path::{Component, Path};

use skiff_engine::{
    CreateOptions, Engine, EngineError, NewContainer, NewPod, PodOptions, PullPolicy, StartMode,
    TransferEvent, VolumeCreate,
};

use crate::objects::*;

/// `kube play` options, in the words of Podman's flags.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PlayOptions {
    /// `--start=false` creates the pods without starting them.
    pub start: bool,
    /// `--replace`: pods and containers of the same names go first.
    pub replace: bool,
    /// `--network`: the pods' network in place of the YAML's.
    pub network: Vec<String>,
    /// `--publish`: more ports published on every pod.
    pub publish: Vec<String>,
    /// `--configmap`: the texts of more YAML files holding ConfigMaps.
    pub configmaps: Vec<String>,
    /// `--build` and `--context-dir`: which images are built, from where.
    pub build: crate::BuildPolicy,
    /// `--annotation KEY=VALUE`: on every container, over the YAML's own.
    pub annotations: Vec<String>,
    /// `--userns`: every pod's user namespace (`keep-id`), which its containers join.
    pub userns: Option<String>,
}

impl Default for PlayOptions {
    fn default() -> Self {
        Self {
            start: true,
            replace: false,
            network: Vec::new(),
            publish: Vec::new(),
            configmaps: Vec::new(),
            build: crate::BuildPolicy::default(),
            annotations: Vec::new(),
            userns: None,
        }
    }
}

/// What `kube play` made.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlayReport {
    /// What skiff left out of the YAML, or read differently from a cluster.
    pub warnings: Vec<String>,
    /// Volumes made for claims, ConfigMaps and Secrets.
    pub volumes: Vec<String>,
    pub pods: Vec<PlayedPod>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlayedPod {
    pub id: String,
    pub containers: Vec<String>,
    /// Init containers that ran to completion (and were removed, as Podman's `once`).
    pub init_containers: Vec<String>,
}

/// A `kube play` from another front end (the REST API), run by the action helper
/// (`skiff_engine::action::Action::PlayKube`): the YAML and the options.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PlayRequest {
    pub yaml: String,
    pub options: PlayOptions,
}

/// The action helper's `kube play` (`skiff_engine::action::Runners::play_kube`).
pub fn run_request(
    engine: &mut Engine,
    request: &serde_json::Value,
) -> Result<serde_json::Value, EngineError> {
    let request: PlayRequest = serde_json::from_value(request.clone())
        .map_err(|e| EngineError::InvalidArgument(format!("invalid kube play request: {e}")))?;
    let report = play(engine, &request.yaml, &request.options, &|_| {})?;
    serde_json::to_value(report)
        .map_err(|e| EngineError::InvalidArgument(format!("encoding the play's report: {e}")))
}

/// What `kube down` took away.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownReport {
    pub stopped: Vec<String>,
    pub removed: Vec<String>,
    pub volumes: Vec<String>,
}

/// One document of the YAML, as far as skiff acts on it.
#[derive(Debug, Clone)]
enum Document {
    /// A pod to run: its name, labels and spec (a Job's pods do not restart by default).
    Workload {
        name: String,
        labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
        spec: PodSpec,
        job: bool,
    },
    Claim(PersistentVolumeClaim),
    /// A ConfigMap or a Secret.
    Data(ConfigMap),
    Ignored,
}

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::InvalidArgument(message.into())
}

/// Fields Kubernetes objects carry that change nothing for a pod on one machine (status,
/// scheduling, rollout strategy, bookkeeping): read and dropped without a warning.
const BENIGN_FIELDS: &[&str] = &[
    "activeDeadlineSeconds",
    "affinity",
    "automountServiceAccountToken",
    "backoffLimit",
    "completions",
    "defaultMode",
    "deletionGracePeriodSeconds",
    "deletionTimestamp",
    "dnsPolicy",
    "enableServiceLinks",
    "finalizers",
    "fsGroup",
    "generateName",
    "generation",
    "imagePullSecrets",
    "managedFields",
    "minReadySeconds",
    "namespace",
    "nodeName",
    "nodeSelector",
    "ownerReferences",
    "parallelism",
    "paused",
    "preemptionPolicy",
    "priority",
    "priorityClassName",
    "progressDeadlineSeconds",
    "resourceVersion",
    "revisionHistoryLimit",
    "runAsNonRoot",
    "schedulerName",
    "seLinuxOptions",
    "seccompProfile",
    "selfLink",
    "serviceAccount",
    "serviceAccountName",
    "sizeLimit",
    "status",
    "strategy",
    "successThreshold",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "tolerations",
    "ttlSecondsAfterFinished",
    "uid",
    "updateStrategy",
];

/// The documents of a YAML text, in order (a `List`'s items in its place), and warnings
/// naming what skiff does not act on.
fn documents(yaml: &str) -> Result<Parsed, EngineError> {
    use serde::Deserialize;
    let mut parsed = Parsed::default();
    for (index, document) in yaml_serde::Deserializer::from_str(yaml).enumerate() {
        let label = format!("YAML document {}", index + 1);
        let value = yaml_serde::Value::deserialize(document)
            .map_err(|e| invalid(format!("{label}: {e}")))?;
        parsed.add(value, &label)?;
    }
    Ok(parsed)
}

#[derive(Debug, Default)]
struct Parsed {
    documents: Vec<Document>,
    warnings: Vec<String>,
    /// Kinds skiff does not play, for the error when nothing else is there.
    skipped: Vec<String>,
}

impl Parsed {
    fn add(&mut self, value: yaml_serde::Value, label: &str) -> Result<(), EngineError> {
        if value.is_null() {
            return Ok(());
        }
        let kind = value
            .get("kind")
            .and_then(|k| k.as_str())
            .ok_or_else(|| invalid(format!("{label} has no kind")))?
            .to_string();
        let label = format!("{label} ({kind})");
        let name_of = |meta: &ObjectMeta| -> Result<String, EngineError> {
            if meta.name.is_empty() {
                Err(invalid(format!("{label} has no metadata.name")))
            } else {
                Ok(meta.name.clone())
            }
        };
        let document = match kind.as_str() {
            "List" => {
                let items = match value.get("items") {
                    Some(yaml_serde::Value::Sequence(items)) => items.clone(),
                    _ => return Err(invalid(format!("{label} has no items"))),
                };
                for (index, item) in items.into_iter().enumerate() {
                    self.add(item, &format!("{label} item {}", index + 1))?;
                }
                return Ok(());
            }
            "Pod" => {
                let pod: Pod = self.typed(value, &label)?;
                Document::Workload {
                    name: name_of(&pod.metadata)?,
                    labels: pod.metadata.labels,
                    annotations: pod.metadata.annotations,
                    spec: pod.spec,
                    job: false,
                }
            }
            "Deployment" | "DaemonSet" | "Job" => {
                let workload: Workload = self.typed(value, &label)?;
                let name = format!("{}-pod", name_of(&workload.metadata)?);
                let template = workload.spec.template;
                let mut annotations = workload.metadata.annotations;
                annotations.extend(template.metadata.annotations);
                let mut labels = workload.metadata.labels;
                labels.extend(template.metadata.labels);
                Document::Workload {
                    name,
                    labels,
                    annotations,
                    spec: template.spec,
                    job: kind == "Job",
                }
            }
            "PersistentVolumeClaim" => {
                let claim: PersistentVolumeClaim = self.typed(value, &label)?;
                name_of(&claim.metadata)?;
                Document::Claim(claim)
            }
            "ConfigMap" | "Secret" => {
                let map: ConfigMap = self.typed(value, &label)?;
                name_of(&map.metadata)?;
                Document::Data(map)
            }
            // What a cluster routes to pods: published ports do that here.
            "Service" | "Namespace" => Document::Ignored,
            other => {
                self.warnings.push(format!(
                    "{label}: skiff plays Pod, Deployment, DaemonSet, Job, PersistentVolumeClaim, ConfigMap and Secret; this {other} is left out"
                ));
                self.skipped.push(other.to_string());
                Document::Ignored
            }
        };
        self.documents.push(document);
        Ok(())
    }

    /// The value as `T`, with a warning for each field skiff would drop that matters.
    fn typed<T: serde::de::DeserializeOwned>(
        &mut self,
        value: yaml_serde::Value,
        label: &str,
    ) -> Result<T, EngineError> {
        let mut ignored = Vec::new();
        let typed = serde_ignored::deserialize(value, |path| ignored.push(path.to_string()))
            .map_err(|e: yaml_serde::Error| invalid(format!("{label}: {e}")))?;
        for path in ignored {
            let field = path.rsplit('.').next().unwrap_or(&path);
            if !BENIGN_FIELDS.contains(&field) && path != "apiVersion" {
                self.warnings.push(format!(
                    "{label}: field {path} is not supported and is ignored"
                ));
            }
        }
        Ok(typed)
    }
}

/// `kube play`: makes (and unless told otherwise starts) what the YAML describes. Everything
/// is checked before anything is made.
pub fn play(
    engine: &mut Engine,
    yaml: &str,
    options: &PlayOptions,
    progress: &(dyn Fn(TransferEvent) + Sync),
) -> Result<PlayReport, EngineError> {
    let parsed = documents(yaml)?;
    let mut warnings = parsed.warnings;
    let documents = parsed.documents;
    let mut sources: Vec<ConfigMap> = Vec::new();
    for text in &options.configmaps {
        let extra = self::documents(text)?;
        warnings.extend(extra.warnings);
        for document in extra.documents {
            match document {
                Document::Data(map) if map.kind == "ConfigMap" => sources.push(map),
                Document::Ignored => {}
                _ => return Err(invalid("--configmap files may hold only ConfigMaps")),
            }
        }
    }
    sources.extend(documents.iter().filter_map(|d| match d {
        Document::Data(map) => Some(map.clone()),
        _ => None,
    }));
    let configmaps = &sources;
    let mut given = BTreeMap::new();
    for annotation in &options.annotations {
        let Some((key, value)) = annotation.split_once('=') else {
            return Err(invalid(format!(
                "annotation {annotation:?} must include an '=' sign"
            )));
        };
        given.insert(key.to_string(), value.to_string());
    }
    // Every pod is checked before anything is made.
    let mut plans = Vec::new();
    for document in &documents {
        if let Document::Workload {
            name,
            labels,
            annotations,
            spec,
            job,
        } = document
        {
            let mut annotations = annotations.clone();
            annotations.extend(given.clone());
            plans.push(Plan::new(
                name,
                labels,
                &annotations,
                spec,
                *job,
                configmaps,
                options,
            )?);
        }
    }
    let claims: Vec<&PersistentVolumeClaim> = documents
        .iter()
        .filter_map(|d| match d {
            Document::Claim(claim) => Some(claim),
            _ => None,
        })
        .collect();
    if plans.is_empty() && claims.is_empty() {
        return Err(invalid(match parsed.skipped.first() {
            Some(kind) => format!(
                "invalid YAML kind: {kind:?}. [Pod Deployment DaemonSet Job PersistentVolumeClaim ConfigMap Secret] are the only supported Kubernetes Kinds"
            ),
            None => {
                "YAML file has no Pod, Deployment, DaemonSet, Job or PersistentVolumeClaim".into()
            }
        }));
    }
    let mut report = PlayReport {
        warnings,
        ..Default::default()
    };
    for claim in claims {
        let name = &claim.metadata.name;
        if engine.volume(name).is_err() {
            engine.create_volume(&VolumeCreate {
                name: Some(name.clone()),
                labels: claim.metadata.labels.clone(),
                ignore: true,
                ..Default::default()
            })?;
            report.volumes.push(name.clone());
        }
    }
    // Images built from their directories, then host paths, claims and ConfigMaps made
    // ready, before any pod is made.
    let images: Vec<String> = plans
        .iter()
        .flat_map(|plan| plan.init.iter().chain(&plan.containers))
        .map(|(_, create, _)| create.image.clone())
        .collect();
    crate::build::build_images(
        engine,
        images.iter().map(String::as_str),
        &options.build,
        &mut std::io::stdout(),
    )?;
    for plan in &mut plans {
        plan.prepare(engine, configmaps, &mut report.volumes)?;
    }
    for plan in plans {
        report.pods.push(plan.run(engine, options, progress)?);
    }
    Ok(report)
}

/// `kube play --wait`: returns once every container the play made has exited (or is gone),
/// or the user interrupted (see `skiff_engine::interrupt`).
pub fn wait(engine: &Engine, report: &PlayReport) -> Result<(), EngineError> {
    let containers: Vec<&String> = report.pods.iter().flat_map(|p| &p.containers).collect();
    while !skiff_engine::interrupt::interrupted() {
        let mut running = false;
        for container in &containers {
            match engine.container_pid(container) {
                Ok(pid) => running |= pid.is_some(),
                Err(EngineError::NoSuchContainer(_)) => {}
                Err(err) => return Err(err),
            }
        }
        if !running {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Ok(())
}

/// A pod to make, checked: its options and its containers' (init containers first).
struct Plan {
    pod: PodOptions,
    init: Vec<(String, CreateOptions, PullPolicy)>,
    containers: Vec<(String, CreateOptions, PullPolicy)>,
    spec: PodSpec,
    /// Each container's `-v` and `--tmpfs` values (init containers first), once prepared.
    mounts: Vec<(Vec<String>, Vec<String>)>,
}

impl Plan {
    fn new(
        name: &str,
        labels: &BTreeMap<String, String>,
        annotations: &BTreeMap<String, String>,
        spec: &PodSpec,
        job: bool,
        configmaps: &[ConfigMap],
        options: &PlayOptions,
    ) -> Result<Self, EngineError> {
        if spec.containers.is_empty() {
            return Err(invalid(format!("pod {name} has no containers")));
        }
        let mut publish = Vec::new();
        for container in &spec.containers {
            for port in &container.ports {
                let Some(host_port) = port.host_port.filter(|p| *p != 0) else {
                    continue;
                };
                let host_ip = port
                    .host_ip
                    .as_deref()
                    .map(|ip| format!("{ip}:"))
                    .unwrap_or_default();
                let protocol = match port.protocol.as_deref().map(str::to_ascii_lowercase) {
                    Some(p) if p == "tcp" => String::new(),
                    Some(p) => format!("/{p}"),
                    None => String::new(),
                };
                publish.push(format!(
                    "{host_ip}{host_port}:{}{protocol}",
                    port.container_port
                ));
            }
        }
        publish.extend(options.publish.iter().cloned());
        let network = if !options.network.is_empty() {
            options.network.clone()
        } else if spec.host_network {
            vec!["host".to_string()]
        } else {
            Vec::new()
        };
        let dns = spec.dns_config.clone().unwrap_or_default();
        let pod = PodOptions {
            name: Some(name.to_string()),
            publish,
            network,
            hostname: spec.hostname.clone(),
            add_host: spec
                .host_aliases
                .iter()
                .flat_map(|a| a.hostnames.iter().map(move |h| format!("{h}:{}", a.ip)))
                .collect(),
            dns: dns.nameservers,
            dns_search: dns.searches,
            dns_option: dns
                .options
                .iter()
                .map(|o| match &o.value {
                    Some(value) => format!("{}:{value}", o.name),
                    None => o.name.clone(),
                })
                .collect(),
            label: labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            userns: options.userns.clone(),
            ..Default::default()
        };
        let restart = match spec.restart_policy.as_deref() {
            Some("Always") => "always",
            None if !job => "always",
            Some("OnFailure") => "on-failure",
            Some("Never") | None => "no",
            Some(other) => {
                return Err(invalid(format!(
                    "invalid restartPolicy {other:?} of pod {name}: Always, OnFailure or Never"
                )));
            }
        };
        let mut names = std::collections::BTreeSet::new();
        let mut make = |container: &Container, restart: &str| {
            if container.name.is_empty() {
                return Err(invalid(format!("a container of pod {name} has no name")));
            }
            if !names.insert(container.name.clone()) {
                return Err(invalid(format!(
                    "pod {name} has two containers named {}",
                    container.name
                )));
            }
            let options = container_options(container, spec, annotations, configmaps, restart)
                .map_err(|e| invalid(format!("container {} of pod {name}: {e}", container.name)))?;
            let pull = match container.image_pull_policy.as_deref() {
                Some("Always") => PullPolicy::Always,
                Some("Never") => PullPolicy::Never,
                Some("IfNotPresent") | None => PullPolicy::Missing,
                Some(other) => {
                    return Err(invalid(format!(
                        "container {} of pod {name}: invalid imagePullPolicy {other:?}",
                        container.name
                    )));
                }
            };
            Ok((format!("{name}-{}", container.name), options, pull))
        };
        let init = spec
            .init_containers
            .iter()
            .map(|c| make(c, "no"))
            .collect::<Result<Vec<_>, _>>()?;
        let containers = spec
            .containers
            .iter()
            .map(|c| make(c, restart))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            pod,
            init,
            containers,
            spec: spec.clone(),
            mounts: Vec::new(),
        })
    }

    /// Checks (and makes) what the containers mount.
    fn prepare(
        &mut self,
        engine: &mut Engine,
        configmaps: &[ConfigMap],
        volumes: &mut Vec<String>,
    ) -> Result<(), EngineError> {
        self.mounts = self
            .spec
            .init_containers
            .iter()
            .chain(&self.spec.containers)
            .map(|container| mounts_of(engine, container, &self.spec, configmaps, volumes))
            .collect::<Result<_, _>>()?;
        Ok(())
    }

    /// Makes the pod and its containers; runs the init containers to completion and starts
    /// the pod (unless `--start=false`). A pod that fails on the way goes again.
    fn run(
        self,
        engine: &mut Engine,
        options: &PlayOptions,
        progress: &(dyn Fn(TransferEvent) + Sync),
    ) -> Result<PlayedPod, EngineError> {
        let id = engine.create_pod(&NewPod {
            options: self.pod.clone(),
            replace: options.replace,
            pod_id_file: None,
        })?;
        let mut played = PlayedPod {
            id: id.clone(),
            ..Default::default()
        };
        let made = (|| {
            let mut mounts = self.mounts.into_iter();
            let mut create = |engine: &mut Engine,
                              (name, mut create, pull): (String, CreateOptions, PullPolicy)|
             -> Result<String, EngineError> {
                let (volume, tmpfs) = mounts.next().unwrap_or_default();
                create.volume = volume;
                create.tmpfs = tmpfs;
                create.pod = Some(id.clone());
                let new = NewContainer {
                    name: Some(name),
                    replace: options.replace,
                    pull,
                    ..NewContainer::new(create)
                };
                Ok(engine.create_from(&new, progress)?.id)
            };
            let mut init = Vec::new();
            for container in self.init {
                init.push(create(engine, container)?);
            }
            for container in self.containers {
                let id = create(engine, container)?;
                played.containers.push(id);
            }
            if !options.start {
                played.init_containers = init;
                return Ok(());
            }
            for container in init {
                engine.start_container(&container, StartMode::Detached)?;
                let code = engine.wait_container(&container)?;
                let name = engine.container(&container)?.name().to_string();
                engine.remove_container(&container, true)?;
                if code != 0 {
                    return Err(EngineError::StartFailed(
                        code,
                        format!("init container {name} exited with code {code}"),
                    ));
                }
                played.init_containers.push(container);
            }
            engine.start_pod(&id).map(drop)
        })();
        match made {
            Ok(()) => Ok(played),
            Err(err) => {
                let _ = engine.remove_pod(&id, true, Some(0));
                Err(err)
            }
        }
    }
}

/// The container's `CreateOptions` from its part of the pod spec (mounts are added at run).
fn container_options(
    container: &Container,
    spec: &PodSpec,
    annotations: &BTreeMap<String, String>,
    configmaps: &[ConfigMap],
    restart: &str,
) -> Result<CreateOptions, EngineError> {
    if container.image.is_empty() {
        return Err(invalid("no image given"));
    }
    let annotated = |prefix: &str| {
        annotations
            .get(&format!(
                "io.podman.annotations.{prefix}/{}",
                container.name
            ))
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    };
    let mut options = CreateOptions {
        image: container.image.clone(),
        command: container.args.clone(),
        entrypoint: (!container.command.is_empty())
            .then(|| serde_json::to_string(&container.command).unwrap_or_default()),
        env: environment(container, configmaps)?,
        workdir: container.working_dir.clone().filter(|w| !w.is_empty()),
        tty: container.tty,
        interactive: container.stdin,
        restart: Some(restart.to_string()),
        init: annotated("init"),
        rm: annotated("autoremove") && restart == "no",
        // The pod's annotations are each container's, as Podman gives them.
        annotation: annotations
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect(),
        stop_timeout: spec.termination_grace_period_seconds,
        ..Default::default()
    };
    let pod_context = spec.security_context.clone().unwrap_or_default();
    let context = container.security_context.clone().unwrap_or_default();
    let uid = context.run_as_user.or(pod_context.run_as_user);
    let gid = context.run_as_group.or(pod_context.run_as_group);
    options.user = match (uid, gid) {
        (Some(uid), Some(gid)) => Some(format!("{uid}:{gid}")),
        (Some(uid), None) => Some(uid.to_string()),
        (None, Some(gid)) => Some(format!("0:{gid}")),
        (None, None) => None,
    };
    options.privileged = context.privileged.unwrap_or(false);
    options.read_only = context.read_only_root_filesystem.unwrap_or(false);
    if let Some(capabilities) = &context.capabilities {
        options.cap_add = capabilities.add.clone();
        options.cap_drop = capabilities.drop.clone();
    }
    if context.allow_privilege_escalation == Some(false) {
        options.security_opt.push("no-new-privileges".into());
    }
    if context.proc_mount.as_deref() == Some("Unmasked") {
        options.security_opt.push("unmask=all".into());
    }
    if let Some(resources) = &container.resources {
        if let Some(memory) = resources.limits.get("memory") {
            let bytes = crate::quantity::memory_bytes(&memory.0)
                .ok_or_else(|| invalid(format!("invalid memory limit {:?}", memory.0)))?;
            options.memory = Some(bytes.to_string());
        }
        if let Some(cpu) = resources.limits.get("cpu") {
            options.cpus = Some(
                crate::quantity::cpus(&cpu.0)
                    .ok_or_else(|| invalid(format!("invalid cpu limit {:?}", cpu.0)))?,
            );
        }
    }
    // A readiness probe checks as a liveness probe would when there is none.
    if let Some(probe) = container
        .liveness_probe
        .as_ref()
        .or(container.readiness_probe.as_ref())
    {
        let Some(exec) = &probe.exec else {
            return Err(invalid(
                "only exec liveness probes are supported (httpGet and tcpSocket are not)",
            ));
        };
        let mut test = vec!["CMD".to_string()];
        test.extend(exec.command.iter().cloned());
        options.health_cmd = Some(serde_json::to_string(&test).unwrap_or_default());
        options.health_interval = Some(format!("{}s", probe.period_seconds.unwrap_or(10)));
        options.health_timeout = Some(format!("{}s", probe.timeout_seconds.unwrap_or(1)));
        options.health_retries = Some(probe.failure_threshold.unwrap_or(3));
        options.health_start_period =
            Some(format!("{}s", probe.initial_delay_seconds.unwrap_or(0)));
    }
    Ok(options)
}

/// The ConfigMap or Secret of this name.
fn find<'a>(sources: &'a [ConfigMap], kind: &str, name: &str) -> Option<&'a ConfigMap> {
    sources
        .iter()
        .find(|m| m.kind == kind && m.metadata.name == name)
}

/// A ConfigMap's or Secret's entries, base64 decoded where the kind says so.
fn entries(map: &ConfigMap) -> Result<BTreeMap<String, Vec<u8>>, EngineError> {
    use base64::Engine as _;
    let decode = |key: &str, text: &str| {
        let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| {
                invalid(format!(
                    "{} {:?}: key {key}: invalid base64: {e}",
                    map.kind, map.metadata.name
                ))
            })
    };
    let (text, encoded) = if map.kind == "Secret" {
        (&map.string_data, &map.data)
    } else {
        (&map.data, &map.binary_data)
    };
    let mut out = BTreeMap::new();
    for (key, value) in encoded {
        out.insert(key.clone(), decode(key, value)?);
    }
    for (key, value) in text {
        out.insert(key.clone(), value.clone().into_bytes());
    }
    Ok(out)
}

/// `env` and `envFrom`, resolved: `KEY=VALUE` entries.
fn environment(container: &Container, sources: &[ConfigMap]) -> Result<Vec<String>, EngineError> {
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    let mut env = Vec::new();
    for source in &container.env_from {
        let prefix = source.prefix.as_deref().unwrap_or("");
        for (kind, reference) in [
            ("ConfigMap", &source.config_map_ref),
            ("Secret", &source.secret_ref),
        ] {
            let Some(reference) = reference else {
                continue;
            };
            match find(sources, kind, &reference.name) {
                Some(map) => {
                    for (key, value) in entries(map)? {
                        env.push(format!("{prefix}{key}={}", text(value)));
                    }
                }
                None if reference.optional => {}
                None => return Err(invalid(format!("no {kind} named {:?}", reference.name))),
            }
        }
    }
    for var in &container.env {
        let value = match (&var.value, &var.value_from) {
            (_, Some(from)) => {
                let (kind, reference) = match (&from.config_map_key_ref, &from.secret_key_ref) {
                    (Some(reference), _) => ("ConfigMap", reference),
                    (None, Some(reference)) => ("Secret", reference),
                    (None, None) => {
                        return Err(invalid(format!(
                            "env {}: only configMapKeyRef and secretKeyRef are supported in valueFrom",
                            var.name
                        )));
                    }
                };
                let found = match find(sources, kind, &reference.name) {
                    Some(map) => entries(map)?.remove(&reference.key),
                    None => None,
                };
                match found {
                    Some(value) => text(value),
                    None if reference.optional => continue,
                    None => {
                        return Err(invalid(format!(
                            "env {}: no key {:?} in {kind} {:?}",
                            var.name, reference.key, reference.name
                        )));
                    }
                }
            }
            (Some(value), None) => value.clone(),
            (None, None) => String::new(),
        };
        env.push(format!("{}={value}", var.name));
    }
    Ok(env)
}

/// The `-v` and `--tmpfs` values of a container's volumeMounts; host paths are checked (or
/// made, for the `OrCreate` types), claims and ConfigMaps made into volumes.
fn mounts_of(
    engine: &mut Engine,
    container: &Container,
    spec: &PodSpec,
    configmaps: &[ConfigMap],
    made: &mut Vec<String>,
) -> Result<(Vec<String>, Vec<String>), EngineError> {
    let (mut volumes, mut tmpfs) = (Vec::new(), Vec::new());
    for mount in &container.volume_mounts {
        let context = |message: String| {
            invalid(format!(
                "container {}: volume {}: {message}",
                container.name, mount.name
            ))
        };
        let volume = spec
            .volumes
            .iter()
            .find(|v| v.name == mount.name)
            .ok_or_else(|| context("no volume of that name in the pod".into()))?;
        // Podman takes `/path:z` and `/path:ro` in mountPath.
        let mut parts = mount.mount_path.split(':');
        let path = parts.next().unwrap_or_default();
        let read_only = mount.read_only || parts.any(|o| o == "ro");
        if !path.starts_with('/') {
            return Err(context(format!("mountPath {path:?} is not absolute")));
        }
        let suffix = if read_only { ":ro" } else { "" };
        if let Some(host) = &volume.host_path {
            let mut source = std::path::PathBuf::from(&host.path);
            if let Some(sub) = &mount.sub_path {
                source.push(relative(sub).map_err(context)?);
            }
            host_path(&source, host.kind.as_deref().unwrap_or("")).map_err(context)?;
            volumes.push(format!("{}:{path}{suffix}", source.display()));
        } else if mount.sub_path.is_some() {
            return Err(context("subPath is supported with hostPath only".into()));
        } else if let Some(claim) = &volume.persistent_volume_claim {
            if engine.volume(&claim.claim_name).is_err() {
                engine.create_volume(&VolumeCreate {
                    name: Some(claim.claim_name.clone()),
                    ignore: true,
                    ..Default::default()
                })?;
                made.push(claim.claim_name.clone());
            }
            let suffix = if read_only || claim.read_only {
                ":ro"
            } else {
                ""
            };
            volumes.push(format!("{}:{path}{suffix}", claim.claim_name));
        } else if let Some(empty) = &volume.empty_dir {
            if empty.medium.as_deref() == Some("Memory") {
                tmpfs.push(path.to_string());
            } else {
                volumes.push(path.to_string());
            }
        } else if let Some((kind, name, items, optional)) = data_source(volume) {
            let Some(map) = find(configmaps, kind, name) else {
                if optional {
                    continue;
                }
                return Err(context(format!("no {kind} named {name:?}")));
            };
            let name = data_volume(engine, map, items, made)?;
            volumes.push(format!("{name}:{path}:ro"));
        } else {
            return Err(context(
                "no source skiff supports (hostPath, persistentVolumeClaim, emptyDir, configMap, secret)"
                    .into(),
            ));
        }
    }
    Ok((volumes, tmpfs))
}

/// A path below a volume: relative, without `..`.
fn relative(path: &str) -> Result<&Path, String> {
    let relative = Path::new(path);
    if relative
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        Ok(relative)
    } else {
        Err(format!("path {path:?} must be relative, without '..'"))
    }
}

/// Checks (or makes) a hostPath as its type says.
fn host_path(path: &Path, kind: &str) -> Result<(), String> {
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::metadata(path);
    let shown = path.display();
    let is = |check: fn(&std::fs::FileType) -> bool, what: &str| match &meta {
        Ok(meta) if check(&meta.file_type()) => Ok(()),
        Ok(_) => Err(format!("hostPath {shown} is not a {what}")),
        Err(e) => Err(format!("hostPath {shown}: {e}")),
    };
    match kind {
        "" => Ok(()),
        "Directory" => is(std::fs::FileType::is_dir, "directory"),
        "File" => is(std::fs::FileType::is_file, "file"),
        "Socket" => is(std::fs::FileType::is_socket, "socket"),
        "CharDevice" => is(std::fs::FileType::is_char_device, "character device"),
        "BlockDevice" => is(std::fs::FileType::is_block_device, "block device"),
        "DirectoryOrCreate" if meta.is_err() => {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(path)
                .map_err(|e| format!("creating hostPath {shown}: {e}"))
        }
        "DirectoryOrCreate" => is(std::fs::FileType::is_dir, "directory"),
        "FileOrCreate" if meta.is_err() => std::fs::File::options()
            .create(true)
            .append(true)
            .open(path)
            .map(drop)
            .map_err(|e| format!("creating hostPath {shown}: {e}")),
        "FileOrCreate" => is(std::fs::FileType::is_file, "file"),
        other => Err(format!("invalid hostPath type {other:?}")),
    }
}

/// A volume's ConfigMap or Secret: its kind, name, items and whether it may be missing.
fn data_source(volume: &Volume) -> Option<(&'static str, &str, &[KeyToPath], bool)> {
    if let Some(source) = &volume.config_map {
        return Some(("ConfigMap", &source.name, &source.items, source.optional));
    }
    let source = volume.secret.as_ref()?;
    Some((
        "Secret",
        &source.secret_name,
        &source.items,
        source.optional,
    ))
}

/// A volume named for the ConfigMap or Secret holding its keys as files (all of them, or
/// `items`).
fn data_volume(
    engine: &mut Engine,
    map: &ConfigMap,
    items: &[KeyToPath],
    made: &mut Vec<String>,
) -> Result<String, EngineError> {
    let name = map.metadata.name.clone();
    let volume = match engine.volume(&name) {
        Ok(volume) => volume,
        Err(_) => {
            let volume = engine.create_volume(&VolumeCreate {
                name: Some(name.clone()),
                ignore: true,
                ..Default::default()
            })?;
            made.push(name.clone());
            volume
        }
    };
    let data = entries(map)?;
    let files: Vec<(&str, &str)> = if items.is_empty() {
        data.keys().map(|k| (k.as_str(), k.as_str())).collect()
    } else {
        items
            .iter()
            .map(|i| (i.key.as_str(), i.path.as_str()))
            .collect()
    };
    let root = Path::new(&volume.mountpoint);
    for (key, path) in files {
        let Some(bytes) = data.get(key) else {
            return Err(invalid(format!("no key {key:?} in {} {name:?}", map.kind)));
        };
        let target = root.join(relative(path).map_err(invalid)?);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| invalid(format!("{}: {e}", parent.display())))?;
        }
        std::fs::write(&target, bytes)
            .map_err(|e| invalid(format!("{}: {e}", target.display())))?;
    }
    Ok(name)
}

/// `kube down`: stops and removes the pods the YAML describes (and, with `force`, the volumes
/// of its claims). Pods that do not exist are an error once the others are gone.
pub fn down(engine: &mut Engine, yaml: &str, force: bool) -> Result<DownReport, EngineError> {
    let documents = documents(yaml)?.documents;
    let mut report = DownReport::default();
    let mut first_error = None;
    for document in &documents {
        let Document::Workload { name, .. } = document else {
            continue;
        };
        let done = (|| {
            let id = engine.stop_pod(name, None)?;
            report.stopped.push(id);
            report.removed.push(engine.remove_pod(name, true, Some(0))?);
            Ok::<(), EngineError>(())
        })();
        if let Err(err) = done {
            first_error.get_or_insert(err);
        }
    }
    if force {
        for document in &documents {
            let Document::Claim(claim) = document else {
                continue;
            };
            match engine.remove_volume(&claim.metadata.name, true) {
                Ok(name) => report.volumes.push(name),
                Err(EngineError::NoSuchVolume(_)) => {}
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  MODE: fast
  file.txt: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      hostAliases:
      - ip: 10.0.0.1
        hostnames: [db, cache]
      containers:
      - name: server
        image: busybox
        command: ["httpd"]
        args: ["-f", "-p", "80"]
        env:
        - name: A
          value: "1"
        - name: MODE
          valueFrom:
            configMapKeyRef: {name: settings, key: MODE}
        envFrom:
        - configMapRef: {name: settings}
          prefix: CM_
        ports:
        - containerPort: 80
          hostPort: 8080
        - containerPort: 53
          hostPort: 5353
          protocol: UDP
        resources:
          limits: {memory: 64Mi, cpu: 500m}
        securityContext:
          runAsUser: 1000
          capabilities: {drop: [CAP_NET_RAW]}
        livenessProbe:
          exec: {command: [cat, /ok]}
          periodSeconds: 5
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
"#;

    #[test]
    fn a_deployment_becomes_a_pod_named_for_it() {
        let parsed = documents(YAML).unwrap();
        assert_eq!(parsed.warnings, Vec::<String>::new());
        let docs = parsed.documents;
        assert_eq!(docs.len(), 3);
        let configmaps: Vec<ConfigMap> = docs
            .iter()
            .filter_map(|d| match d {
                Document::Data(m) => Some(m.clone()),
                _ => None,
            })
            .collect();
        let Document::Workload {
            name,
            labels,
            annotations,
            spec,
            job,
        } = &docs[1]
        else {
            panic!("{:?}", docs[1]);
        };
        assert_eq!(name, "web-pod");
        assert!(!job);
        let plan = Plan::new(
            name,
            labels,
            annotations,
            spec,
            *job,
            &configmaps,
            &PlayOptions::default(),
        )
        .unwrap();
        assert_eq!(plan.pod.publish, ["8080:80", "5353:53/udp"]);
        assert_eq!(plan.pod.add_host, ["db:10.0.0.1", "cache:10.0.0.1"]);
        assert_eq!(plan.pod.label, ["app=web"]);
        let (name, options, pull) = &plan.containers[0];
        assert_eq!(name, "web-pod-server");
        assert_eq!(*pull, PullPolicy::Missing);
        assert_eq!(options.entrypoint.as_deref(), Some(r#"["httpd"]"#));
        assert_eq!(options.command, ["-f", "-p", "80"]);
        assert_eq!(
            options.env,
            ["CM_MODE=fast", "CM_file.txt=hello", "A=1", "MODE=fast"]
        );
        assert_eq!(options.memory.as_deref(), Some("67108864"));
        assert_eq!(options.cpus, Some(0.5));
        assert_eq!(options.user.as_deref(), Some("1000"));
        assert_eq!(options.cap_drop, ["CAP_NET_RAW"]);
        assert_eq!(options.restart.as_deref(), Some("always"));
        assert_eq!(
            options.health_cmd.as_deref(),
            Some(r#"["CMD","cat","/ok"]"#)
        );
        assert_eq!(options.health_interval.as_deref(), Some("5s"));
    }

    #[test]
    fn bad_documents_are_named_in_the_error() {
        let err = documents("kind: Pod\nmetadata: {}\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "YAML document 1 (Pod) has no metadata.name"
        );
        let parsed = documents("apiVersion: v1\nkind: Widget\n").unwrap();
        assert_eq!(parsed.skipped, ["Widget"]);
        assert!(
            parsed.warnings[0].contains("this Widget is left out"),
            "{parsed:?}"
        );
        let err = documents("kind: Pod\nmetadata: {name: p}\nspec: {containers: 3}\n").unwrap_err();
        assert!(
            err.to_string().starts_with("YAML document 1 (Pod): "),
            "{err}"
        );
        let err = documents("a: [\n").unwrap_err();
        assert!(err.to_string().starts_with("YAML document 1: "), "{err}");
        assert!(documents("---\n---\n").unwrap().documents.is_empty());
        let err = documents("kind: List\nitems:\n- kind: Pod\n  metadata: {}\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "YAML document 1 (List) item 1 (Pod) has no metadata.name"
        );
    }

    #[test]
    fn missing_configmaps_and_bad_policies_are_refused() {
        let yaml = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    env:\n    - name: X\n      valueFrom: {configMapKeyRef: {name: none, key: k}}\n";
        let Document::Workload { spec, .. } = &documents(yaml).unwrap().documents[0] else {
            panic!()
        };
        let err = Plan::new(
            "p",
            &BTreeMap::new(),
            &BTreeMap::new(),
            spec,
            false,
            &[],
            &PlayOptions::default(),
        )
        .err()
        .unwrap();
        assert_eq!(
            err.to_string(),
            "container c of pod p: env X: no key \"k\" in ConfigMap \"none\""
        );
        let mut spec = spec.clone();
        spec.restart_policy = Some("Sometimes".into());
        assert!(
            Plan::new(
                "p",
                &BTreeMap::new(),
                &BTreeMap::new(),
                &spec,
                false,
                &[],
                &PlayOptions::default()
            )
            .is_err()
        );
    }

    #[test]
    fn fields_skiff_drops_are_named_and_secrets_are_decoded() {
        let yaml = "kind: List\nitems:\n- kind: Secret\n  metadata: {name: s}\n  data: {token: aGk=}\n  stringData: {user: me}\n- kind: Pod\n  metadata: {name: p, namespace: x}\n  spec:\n    schedulerName: default\n    containers:\n    - name: c\n      image: busybox\n      lifecycle: {preStop: {exec: {command: [x]}}}\n      envFrom: [{secretRef: {name: s}}]\n";
        let parsed = documents(yaml).unwrap();
        assert_eq!(
            parsed.warnings,
            [
                "YAML document 1 (List) item 2 (Pod): field spec.containers.0.lifecycle is not supported and is ignored"
            ]
        );
        let Document::Data(secret) = &parsed.documents[0] else {
            panic!("{parsed:?}")
        };
        let Document::Workload { spec, .. } = &parsed.documents[1] else {
            panic!("{parsed:?}")
        };
        assert_eq!(
            environment(&spec.containers[0], std::slice::from_ref(secret)).unwrap(),
            ["token=hi", "user=me"]
        );
        let mut bad = secret.clone();
        bad.data.insert("bad".into(), "%%%".into());
        assert!(
            entries(&bad)
                .unwrap_err()
                .to_string()
                .contains("key bad: invalid base64")
        );
    }

    #[test]
    fn paths_below_volumes_stay_below() {
        assert!(relative("a/b").is_ok());
        assert!(relative("../etc").is_err());
        assert!(relative("/etc").is_err());
        assert!(relative("a/../../b").is_err());
    }
}
