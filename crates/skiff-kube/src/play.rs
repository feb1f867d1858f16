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
#[derive(Debug, Clone)]
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
}

impl Default for PlayOptions {
    fn default() -> Self {
        Self {
            start: true,
            replace: false,
            network: Vec::new(),
            publish: Vec::new(),
            configmaps: Vec::new(),
        }
    }
}

/// What `kube play` made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlayReport {
    /// Volumes made for claims and ConfigMaps.
    pub volumes: Vec<String>,
    pub pods: Vec<PlayedPod>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlayedPod {
    pub id: String,
    pub containers: Vec<String>,
    /// Init containers that ran to completion (and were removed, as Podman's `once`).
    pub init_containers: Vec<String>,
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
    ConfigMap(ConfigMap),
    Ignored,
}

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::InvalidArgument(message.into())
}

/// The documents of a YAML text, in order.
fn documents(yaml: &str) -> Result<Vec<Document>, EngineError> {
    use serde::Deserialize;
    let mut out = Vec::new();
    for (index, document) in yaml_serde::Deserializer::from_str(yaml).enumerate() {
        let number = index + 1;
        let value = yaml_serde::Value::deserialize(document)
            .map_err(|e| invalid(format!("YAML document {number}: {e}")))?;
        if value.is_null() {
            continue;
        }
        let kind = value
            .get("kind")
            .and_then(|k| k.as_str())
            .ok_or_else(|| invalid(format!("YAML document {number} has no kind")))?
            .to_string();
        let typed = |e: yaml_serde::Error| invalid(format!("YAML document {number} ({kind}): {e}"));
        let name_of = |meta: &ObjectMeta| -> Result<String, EngineError> {
            if meta.name.is_empty() {
                Err(invalid(format!(
                    "YAML document {number} ({kind}) has no metadata.name"
                )))
            } else {
                Ok(meta.name.clone())
            }
        };
        out.push(match kind.as_str() {
            "Pod" => {
                let pod: Pod = yaml_serde::from_value(value).map_err(typed)?;
                Document::Workload {
                    name: name_of(&pod.metadata)?,
                    labels: pod.metadata.labels,
                    annotations: pod.metadata.annotations,
                    spec: pod.spec,
                    job: false,
                }
            }
            "Deployment" | "DaemonSet" | "Job" => {
                let workload: Workload = yaml_serde::from_value(value).map_err(typed)?;
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
                let claim: PersistentVolumeClaim =
                    yaml_serde::from_value(value).map_err(typed)?;
                name_of(&claim.metadata)?;
                Document::Claim(claim)
            }
            "ConfigMap" => {
                let map: ConfigMap = yaml_serde::from_value(value).map_err(typed)?;
                name_of(&map.metadata)?;
                Document::ConfigMap(map)
            }
            "Service" | "Secret" | "Namespace" => Document::Ignored,
            other => {
                return Err(invalid(format!(
                    "invalid YAML kind: {other:?}. [Pod Deployment DaemonSet Job PersistentVolumeClaim ConfigMap] are the only supported Kubernetes Kinds"
                )));
            }
        });
    }
    Ok(out)
}

/// `kube play`: makes (and unless told otherwise starts) what the YAML describes. Everything
/// is checked before anything is made.
pub fn play(
    engine: &mut Engine,
    yaml: &str,
    options: &PlayOptions,
    progress: &(dyn Fn(TransferEvent) + Sync),
) -> Result<PlayReport, EngineError> {
    let documents = documents(yaml)?;
    let mut configmaps: Vec<ConfigMap> = Vec::new();
    for text in &options.configmaps {
        for document in self::documents(text)? {
            match document {
                Document::ConfigMap(map) => configmaps.push(map),
                _ => return Err(invalid("--configmap files may hold only ConfigMaps")),
            }
        }
    }
    configmaps.extend(documents.iter().filter_map(|d| match d {
        Document::ConfigMap(map) => Some(map.clone()),
        _ => None,
    }));
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
            plans.push(Plan::new(
                name,
                labels,
                annotations,
                spec,
                *job,
                &configmaps,
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
        return Err(invalid(
            "YAML file has no Pod, Deployment, DaemonSet, Job or PersistentVolumeClaim",
        ));
    }
    let mut report = PlayReport::default();
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
    // Host paths, claims and ConfigMaps are made ready before any pod is made.
    for plan in &mut plans {
        plan.prepare(engine, &configmaps, &mut report.volumes)?;
    }
    for plan in plans {
        report.pods.push(plan.run(engine, options, progress)?);
    }
    Ok(report)
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
    if let Some(probe) = &container.liveness_probe {
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

fn configmap<'a>(configmaps: &'a [ConfigMap], name: &str) -> Option<&'a ConfigMap> {
    configmaps.iter().find(|m| m.metadata.name == name)
}

/// `env` and `envFrom`, resolved: `KEY=VALUE` entries.
fn environment(
    container: &Container,
    configmaps: &[ConfigMap],
) -> Result<Vec<String>, EngineError> {
    let mut env = Vec::new();
    for source in &container.env_from {
        if source.secret_ref.is_some() {
            return Err(invalid("secrets are not supported (envFrom.secretRef)"));
        }
        let Some(reference) = &source.config_map_ref else {
            continue;
        };
        match configmap(configmaps, &reference.name) {
            Some(map) => {
                let prefix = source.prefix.as_deref().unwrap_or("");
                env.extend(map.data.iter().map(|(k, v)| format!("{prefix}{k}={v}")));
            }
            None if reference.optional => {}
            None => return Err(invalid(format!("no ConfigMap named {:?}", reference.name))),
        }
    }
    for var in &container.env {
        let value = match (&var.value, &var.value_from) {
            (_, Some(from)) => {
                if from.secret_key_ref.is_some() {
                    return Err(invalid(format!(
                        "env {}: secrets are not supported (secretKeyRef)",
                        var.name
                    )));
                }
                let Some(reference) = &from.config_map_key_ref else {
                    return Err(invalid(format!(
                        "env {}: only configMapKeyRef is supported in valueFrom",
                        var.name
                    )));
                };
                match configmap(configmaps, &reference.name)
                    .and_then(|m| m.data.get(&reference.key))
                {
                    Some(value) => value.clone(),
                    None if reference.optional => continue,
                    None => {
                        return Err(invalid(format!(
                            "env {}: no key {:?} in ConfigMap {:?}",
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
        } else if let Some(source) = &volume.config_map {
            let Some(map) = configmap(configmaps, &source.name) else {
                if source.optional {
                    continue;
                }
                return Err(context(format!("no ConfigMap named {:?}", source.name)));
            };
            let name = configmap_volume(engine, map, &source.items, made)?;
            volumes.push(format!("{name}:{path}:ro"));
        } else if volume.secret.is_some() {
            return Err(context("secret volumes are not supported".into()));
        } else {
            return Err(context(
                "no source skiff supports (hostPath, persistentVolumeClaim, emptyDir, configMap)"
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

/// A volume named for the ConfigMap holding its keys as files (all of them, or `items`).
fn configmap_volume(
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
    let files: Vec<(&str, &str)> = if items.is_empty() {
        map.data.keys().map(|k| (k.as_str(), k.as_str())).collect()
    } else {
        items
            .iter()
            .map(|i| (i.key.as_str(), i.path.as_str()))
            .collect()
    };
    let root = Path::new(&volume.mountpoint);
    for (key, path) in files {
        let Some(data) = map.data.get(key) else {
            return Err(invalid(format!("no key {key:?} in ConfigMap {name:?}")));
        };
        let target = root.join(relative(path).map_err(invalid)?);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| invalid(format!("{}: {e}", parent.display())))?;
        }
        std::fs::write(&target, data).map_err(|e| invalid(format!("{}: {e}", target.display())))?;
    }
    Ok(name)
}

/// `kube down`: stops and removes the pods the YAML describes (and, with `force`, the volumes
/// of its claims). Pods that do not exist are an error once the others are gone.
pub fn down(engine: &mut Engine, yaml: &str, force: bool) -> Result<DownReport, EngineError> {
    let documents = documents(yaml)?;
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
        let docs = documents(YAML).unwrap();
        assert_eq!(docs.len(), 3);
        let configmaps: Vec<ConfigMap> = docs
            .iter()
            .filter_map(|d| match d {
                Document::ConfigMap(m) => Some(m.clone()),
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
        let err = documents("apiVersion: v1\nkind: Widget\n").unwrap_err();
        assert!(
            err.to_string().starts_with("invalid YAML kind: \"Widget\""),
            "{err}"
        );
        let err = documents("kind: Pod\nmetadata: {name: p}\nspec: {containers: 3}\n").unwrap_err();
        assert!(
            err.to_string().starts_with("YAML document 1 (Pod): "),
            "{err}"
        );
        let err = documents("a: [\n").unwrap_err();
        assert!(err.to_string().starts_with("YAML document 1: "), "{err}");
        assert!(documents("---\n---\n").unwrap().is_empty());
    }

    #[test]
    fn missing_configmaps_and_bad_policies_are_refused() {
        let yaml = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    env:\n    - name: X\n      valueFrom: {configMapKeyRef: {name: none, key: k}}\n";
        let Document::Workload { spec, .. } = &documents(yaml).unwrap()[0] else {
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
    fn paths_below_volumes_stay_below() {
        assert!(relative("a/b").is_ok());
        assert!(relative("../etc").is_err());
        assert!(relative("/etc").is_err());
        assert!(relative("a/../../b").is_err());
    }
}
