//! What `compose up`, `down`, `ps`, `logs`, `start`, `stop` and `restart` do to a project's
//! networks, volumes and containers, through the engine as `run` and `network create` do.
//! Progress goes to a callback as Compose prints it (`Container proj-web-1  Started`).
use std::collections::BTreeMap;

use skiff_engine::action::{Action, Helper, Streams};
use skiff_engine::{
    ContainerFilter, ContainerReport, Engine, EngineError, LogLead, LogOptions,
    NetworkCreateRequest, NewContainer, StartMode, TransferEvent, VolumeCreate,
};

use crate::model::Assignments;
use crate::options::{
    HASH_LABEL, NUMBER_LABEL, ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL, config_hash,
};
use crate::project::Project;

/// `compose up` (and `create`) options.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Only these services (and what they depend on, unless `no_deps`); all when empty.
    pub services: Vec<String>,
    /// `--force-recreate`: containers are made anew even when nothing changed.
    pub force_recreate: bool,
    /// `--no-recreate`: existing containers are kept even when their service changed.
    pub no_recreate: bool,
    /// `--no-start`: made, not started.
    pub no_start: bool,
    /// `--no-deps`: the named services alone.
    pub no_deps: bool,
    /// `--remove-orphans`: the project's containers whose service is gone are removed.
    pub remove_orphans: bool,
    /// `--build`: images with a build section are built first.
    pub build: bool,
    /// `--scale SERVICE=N`.
    pub scale: BTreeMap<String, u32>,
    /// `-t`: seconds a container being replaced has to stop.
    pub timeout: Option<u64>,
}

/// `--rmi`: which of the services' images `down` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveImages {
    /// The ones the project built (services without an `image` name of their own).
    Local,
    All,
}

impl RemoveImages {
    pub fn parse(value: &str) -> Result<Self, EngineError> {
        match value {
            "local" => Ok(RemoveImages::Local),
            "all" => Ok(RemoveImages::All),
            other => Err(invalid(format!("--rmi {other:?}: expected local or all"))),
        }
    }
}

/// `compose down` options.
#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    /// `-t`: seconds each container has to stop.
    pub timeout: Option<u64>,
    /// `-v`: the project's named volumes go too.
    pub volumes: bool,
    /// `--rmi`.
    pub rmi: Option<RemoveImages>,
}

/// Where `up` reports: Compose's progress lines, a build's output, a pull's progress.
pub struct UpOutput<'a> {
    pub progress: &'a dyn Fn(&str),
    pub build: &'a mut dyn std::io::Write,
    pub pull: &'a (dyn Fn(TransferEvent) + Sync),
}

impl Project {
    /// What Compose labels a network or volume it makes with: the file's labels, the
    /// project's and the resource's key.
    fn resource_labels(
        &self,
        labels: &Assignments,
        kind: &str,
        key: &str,
    ) -> Vec<(String, String)> {
        let mut labels: Vec<(String, String)> = labels
            .pairs()
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect();
        labels.push((PROJECT_LABEL.into(), self.name.clone()));
        labels.push((format!("com.docker.compose.{kind}"), key.to_string()));
        labels
    }
}

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::InvalidArgument(message.into())
}

/// A container's service, from its label.
pub fn service_of(container: &ContainerReport) -> &str {
    container
        .spec()
        .labels
        .get(SERVICE_LABEL)
        .map_or("", String::as_str)
}

/// A container's number within its service, from its label.
fn number_of(container: &ContainerReport) -> u32 {
    container
        .spec()
        .labels
        .get(NUMBER_LABEL)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Whether `compose run` made the container.
pub fn is_oneoff(container: &ContainerReport) -> bool {
    container
        .spec()
        .labels
        .get(ONEOFF_LABEL)
        .map(String::as_str)
        == Some("True")
}

impl Project {
    fn label_filter(&self) -> Result<ContainerFilter, EngineError> {
        ContainerFilter::parse(&[format!("label={PROJECT_LABEL}={}", self.name)])
    }

    /// The project's containers (every one, running or not), by name.
    pub fn containers(&self, engine: &Engine) -> Result<Vec<ContainerReport>, EngineError> {
        let mut containers = engine.list_containers_filtered(true, &self.label_filter()?)?;
        containers.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(containers)
    }

    /// The project's containers whose service the files no longer define.
    pub fn orphans(&self, engine: &Engine) -> Result<Vec<ContainerReport>, EngineError> {
        let mut containers = self.containers(engine)?;
        containers.retain(|c| !is_oneoff(c) && !self.all_services.contains(service_of(c)));
        Ok(containers)
    }

    /// The services `up` acts on, in start order.
    fn up_order(&self, options: &UpOptions) -> Result<Vec<String>, EngineError> {
        if options.no_deps && !options.services.is_empty() {
            self.check_services(&options.services)?;
            let all = self.ordered_services(&options.services)?;
            return Ok(all
                .into_iter()
                .filter(|s| options.services.contains(s))
                .collect());
        }
        self.ordered_services(&options.services)
    }

    /// `up`: the networks and volumes the services use, then each service's containers in
    /// dependency order, started once what it depends on is as its condition asks. A
    /// container whose service changed since it was made (its options, or its image) is
    /// made anew; one beyond the service's scale is removed.
    pub fn up(
        &self,
        engine: &mut Engine,
        options: &UpOptions,
        output: &mut UpOutput<'_>,
    ) -> Result<(), EngineError> {
        let progress = output.progress;
        let order = self.up_order(options)?;
        // Every service's options are checked before anything is made.
        let mut planned = Vec::new();
        for name in &order {
            let create = self.create_options(name)?;
            let replicas = self.replicas(name, &options.scale)?;
            self.image_policy(name)?;
            planned.push((name.clone(), create, replicas));
        }
        self.ensure_resources(engine, &order, progress)?;
        if options.remove_orphans {
            for orphan in self.orphans(engine)? {
                self.take_down(engine, &orphan, options.timeout, progress)?;
            }
        }
        // Containers made but not yet started: started together (in parallel) once a service
        // depends on one of them, or at the end.
        let mut pending: Vec<(String, String)> = Vec::new();
        for (name, create, replicas) in planned {
            let image =
                self.prepare_image(engine, &name, options.build, output.build, output.pull)?;
            let dependencies = self.dependencies(&name)?;
            if dependencies
                .iter()
                .any(|(dependency, _)| pending.iter().any(|(service, _)| service == dependency))
            {
                start_pending(engine, &mut pending, progress)?;
            }
            for (dependency, condition) in dependencies {
                if !options.no_start {
                    self.wait_for(engine, &dependency, &condition)?;
                }
            }
            let hash = config_hash(&create);
            // The service's containers as they are now, once for all its replicas.
            let mut current: Vec<ContainerReport> = self
                .service_containers(engine, std::slice::from_ref(&name))?
                .into_iter()
                .filter(|c| !is_oneoff(c))
                .collect();
            for number in 1..=replicas {
                let container = self.replica_name(&name, number);
                let existing = match current.iter().position(|c| c.name() == container) {
                    Some(index) => Some(current.remove(index)),
                    None => {
                        if engine.container(&container).is_ok() {
                            return Err(EngineError::Conflict(format!(
                                "container name {container:?} is already in use by a container that is not this project's"
                            )));
                        }
                        None
                    }
                };
                let changed = existing.as_ref().is_some_and(|report| {
                    report.spec().labels.get(HASH_LABEL) != Some(&hash) || image != report.image().0
                });
                let recreate = existing.is_some()
                    && !options.no_recreate
                    && (options.force_recreate || changed);
                if recreate && let Some(report) = &existing {
                    if report.is_running() {
                        engine.stop_container(&container, options.timeout)?;
                    }
                    engine.remove_container(&container, true)?;
                }
                match existing.filter(|_| !recreate) {
                    Some(report) if report.is_running() => {
                        progress(&format!("Container {container}  Running"));
                        continue;
                    }
                    Some(_) => {}
                    None => {
                        let mut create = create.clone();
                        create.label.push(format!("{NUMBER_LABEL}={number}"));
                        create.label.push(format!("{HASH_LABEL}={hash}"));
                        let new = NewContainer {
                            name: Some(container.clone()),
                            ..NewContainer::new(create)
                        };
                        engine.create_from(&new, output.pull)?;
                        let done = if recreate { "Recreated" } else { "Created" };
                        progress(&format!("Container {container}  {done}"));
                    }
                }
                if !options.no_start {
                    pending.push((name.clone(), container));
                }
            }
            // Scaled down: the highest numbers go.
            for extra in current {
                if number_of(&extra) > replicas {
                    self.take_down(engine, &extra, options.timeout, progress)?;
                }
            }
        }
        start_pending(engine, &mut pending, progress)
    }

    /// Stops (within `timeout`, all at once) and removes containers.
    fn take_down_together(
        &self,
        engine: &mut Engine,
        containers: &[ContainerReport],
        timeout: Option<u64>,
        progress: &dyn Fn(&str),
    ) -> Result<(), EngineError> {
        let running: Vec<&str> = containers
            .iter()
            .filter(|c| c.is_running())
            .map(|c| c.name())
            .collect();
        for (name, result) in running
            .iter()
            .zip(engine.stop_containers(&running, timeout))
        {
            result?;
            progress(&format!("Container {name}  Stopped"));
        }
        for container in containers {
            let name = container.name();
            engine.remove_container(name, true)?;
            progress(&format!("Container {name}  Removed"));
        }
        Ok(())
    }

    /// Stops (within `timeout`) and removes one container.
    fn take_down(
        &self,
        engine: &mut Engine,
        container: &ContainerReport,
        timeout: Option<u64>,
        progress: &dyn Fn(&str),
    ) -> Result<(), EngineError> {
        let name = container.name().to_string();
        if container.is_running() {
            engine.stop_container(&name, timeout)?;
            progress(&format!("Container {name}  Stopped"));
        }
        engine.remove_container(&name, true)?;
        progress(&format!("Container {name}  Removed"));
        Ok(())
    }

    /// Waits for a dependency's condition: started, healthy, or exited with 0.
    fn wait_for(&self, engine: &Engine, service: &str, condition: &str) -> Result<(), EngineError> {
        let container = self.container_name(service);
        match condition {
            "service_started" => Ok(()),
            "service_healthy" => engine
                .wait_container_for(&container, &["healthy".to_string()])
                .map(drop),
            "service_completed_successfully" => {
                let code = engine.wait_container_for(&container, &[])?;
                if code == 0 {
                    Ok(())
                } else {
                    Err(EngineError::StartFailed(
                        code,
                        format!("service {service:?} didn't complete successfully: exit {code}"),
                    ))
                }
            }
            other => Err(invalid(format!(
                "depends_on condition {other:?}: expected service_started, service_healthy or service_completed_successfully"
            ))),
        }
    }

    fn ensure_network(
        &self,
        engine: &Engine,
        key: &str,
        progress: &dyn Fn(&str),
    ) -> Result<(), EngineError> {
        let name = self.network_name(key);
        let definition = self
            .file
            .networks
            .get(key)
            .cloned()
            .flatten()
            .unwrap_or_default();
        if engine.network(&name).is_ok() {
            return Ok(());
        }
        if definition.external {
            return Err(invalid(format!(
                "network {name} declared as external, but could not be found"
            )));
        }
        let labels = self.resource_labels(&definition.labels, "network", key);
        let ipam = definition.ipam.unwrap_or_default();
        engine.create_network(&NetworkCreateRequest {
            name: Some(name.clone()),
            driver: definition.driver.clone(),
            subnets: ipam
                .config
                .iter()
                .filter_map(|c| c.subnet.clone())
                .collect(),
            gateway: ipam.config.iter().find_map(|c| c.gateway.clone()),
            internal: definition.internal,
            labels,
            ..Default::default()
        })?;
        progress(&format!("Network {name}  Created"));
        Ok(())
    }

    /// The networks `services` join and the project's volumes, made where missing, and the
    /// files their mounts expect (before any of their containers is made).
    fn ensure_resources(
        &self,
        engine: &Engine,
        services: &[String],
        progress: &dyn Fn(&str),
    ) -> Result<(), EngineError> {
        let mut networks = Vec::new();
        for name in services {
            for key in self.service_networks(&self.file.services[name]) {
                if !networks.contains(&key) {
                    networks.push(key);
                }
            }
        }
        for key in networks {
            self.ensure_network(engine, &key, progress)?;
        }
        for key in self.file.volumes.keys() {
            self.ensure_volume(engine, key, progress)?;
        }
        self.prepare_host_files()
    }

    fn ensure_volume(
        &self,
        engine: &Engine,
        key: &str,
        progress: &dyn Fn(&str),
    ) -> Result<(), EngineError> {
        let name = self.volume_name(key);
        let definition = self
            .file
            .volumes
            .get(key)
            .cloned()
            .flatten()
            .unwrap_or_default();
        if engine.volume(&name).is_ok() {
            return Ok(());
        }
        if definition.external {
            return Err(invalid(format!("external volume {name:?} not found")));
        }
        let labels: BTreeMap<String, String> = self
            .resource_labels(&definition.labels, "volume", key)
            .into_iter()
            .collect();
        engine.create_volume(&VolumeCreate {
            name: Some(name.clone()),
            driver: definition.driver.clone(),
            labels,
            ignore: true,
            ..Default::default()
        })?;
        progress(&format!("Volume \"{name}\"  Created"));
        Ok(())
    }

    /// `down`: the project's containers (stopped within the timeout), its volumes when
    /// asked, then its networks and, when asked, the services' images. Externals are left
    /// alone. The networks are removed by `helper`, in the namespaces networks need
    /// (rootless bridges live in the rootless network namespace, where containers' storage
    /// cannot be unmounted).
    pub fn down(
        &self,
        engine: &mut Engine,
        helper: &Helper,
        options: &DownOptions,
        progress: &dyn Fn(&str),
    ) -> Result<(), EngineError> {
        let (timeout, volumes) = (options.timeout, options.volumes);
        let mut containers = self.containers(engine)?;
        // A service's depth: the longest chain of services below it. Orphans first, then
        // dependents before what they depend on; those of one depth go down together.
        let mut depth: std::collections::HashMap<String, usize> = Default::default();
        for name in self.ordered_services(&[]).unwrap_or_default() {
            let below = self
                .dependencies(&name)
                .unwrap_or_default()
                .iter()
                .filter_map(|(dependency, _)| depth.get(dependency))
                .max()
                .map_or(0, |d| d + 1);
            depth.insert(name, below);
        }
        let level = |c: &ContainerReport| depth.get(service_of(c)).copied().unwrap_or(usize::MAX);
        containers.sort_by_key(|c| std::cmp::Reverse(level(c)));
        for group in containers.chunk_by(|a, b| level(a) == level(b)) {
            self.take_down_together(engine, group, timeout, progress)?;
        }
        if volumes {
            for volume in engine.list_volumes()? {
                if volume.labels.get(PROJECT_LABEL) == Some(&self.name) {
                    engine.remove_volume(&volume.name, true)?;
                    progress(&format!("Volume {}  Removed", volume.name));
                }
            }
        }
        for report in engine.list_networks()? {
            if report.network.labels.get(PROJECT_LABEL) == Some(&self.name) {
                let name = report.network.name.clone();
                let action = Action::RemoveNetwork {
                    network: name.clone(),
                    force: true,
                };
                helper
                    .run(action, Streams::default())
                    .map_err(|e| EngineError::Child(e.kind, e.message))?;
                progress(&format!("Network {name}  Removed"));
            }
        }
        if let Some(which) = options.rmi {
            let mut images: Vec<String> = Vec::new();
            for (name, service) in &self.file.services {
                if which == RemoveImages::All || service.image.is_none() {
                    images.extend(self.image_name(name));
                }
            }
            images.sort();
            images.dedup();
            for image in images {
                match engine.remove_image(&image, false) {
                    Ok(_) => progress(&format!("Image {image}  Removed")),
                    Err(err) if err.is_no_such_image() => {}
                    Err(err) => return Err(err),
                }
            }
        }
        Ok(())
    }

    /// The containers of these services (all when empty), by name.
    pub fn service_containers(
        &self,
        engine: &Engine,
        services: &[String],
    ) -> Result<Vec<ContainerReport>, EngineError> {
        self.check_services(services)?;
        let mut containers = self.containers(engine)?;
        containers.retain(|c| services.is_empty() || services.iter().any(|s| s == service_of(c)));
        Ok(containers)
    }

    /// `logs`: the services' logs, each line led by its container's name unless `options`
    /// say otherwise.
    pub fn logs(
        &self,
        engine: &Engine,
        services: &[String],
        options: &LogOptions,
        stdout: &mut dyn std::io::Write,
        stderr: &mut dyn std::io::Write,
    ) -> Result<(), EngineError> {
        let names: Vec<String> = self
            .service_containers(engine, services)?
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        if names.is_empty() {
            return Ok(());
        }
        let options = LogOptions {
            names: true,
            lead: match options.lead {
                LogLead::Podman => LogLead::Compose,
                other => other,
            },
            ..options.clone()
        };
        engine.containers_logs(&names, &options, stdout, stderr)
    }
}

/// What `compose start|stop|restart|kill|pause|unpause` does to each of the services'
/// containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceAction {
    Start,
    /// With the seconds a container has to stop.
    Stop(Option<u64>),
    Restart(Option<u64>),
    /// With the signal.
    Kill(String),
    Pause,
    Unpause,
}

impl ServiceAction {
    /// Whether it applies to a container in this state (stopping a stopped container is
    /// nothing to do, as in docker compose).
    fn applies(&self, container: &ContainerReport) -> bool {
        use skiff_engine::ContainerState::*;
        match self {
            ServiceAction::Start => !container.is_running(),
            ServiceAction::Stop(_) | ServiceAction::Kill(_) => container.is_running(),
            ServiceAction::Restart(_) => true,
            ServiceAction::Pause => container.state == Running,
            ServiceAction::Unpause => container.state == Paused,
        }
    }

    /// Compose's word for it done.
    fn done(&self) -> &'static str {
        match self {
            ServiceAction::Start | ServiceAction::Restart(_) => "Started",
            ServiceAction::Stop(_) => "Stopped",
            ServiceAction::Kill(_) => "Killed",
            ServiceAction::Pause => "Paused",
            ServiceAction::Unpause => "Unpaused",
        }
    }
}

impl Project {
    /// Applies `action` to the services' containers (all when empty): started in dependency
    /// order, stopped in the reverse.
    pub fn act(
        &self,
        engine: &mut Engine,
        services: &[String],
        action: &ServiceAction,
        progress: &dyn Fn(&str),
    ) -> Result<(), EngineError> {
        let mut containers = self.service_containers(engine, services)?;
        containers.retain(|c| !is_oneoff(c) && action.applies(c));
        let order = self.ordered_services(&[]).unwrap_or_default();
        containers.sort_by_key(|c| order.iter().position(|s| s == service_of(c)));
        if matches!(action, ServiceAction::Stop(_) | ServiceAction::Kill(_)) {
            containers.reverse();
        }
        for container in containers {
            let name = container.name();
            match action {
                ServiceAction::Start => {
                    engine.start_container(name, StartMode::Detached)?;
                }
                ServiceAction::Stop(timeout) => engine.stop_container(name, *timeout)?,
                ServiceAction::Restart(timeout) => engine.restart_container(name, *timeout)?,
                ServiceAction::Kill(signal) => engine.kill_container(name, signal)?,
                ServiceAction::Pause => drop(engine.pause_container(name)?),
                ServiceAction::Unpause => drop(engine.unpause_container(name)?),
            }
            progress(&format!("Container {name}  {}", action.done()));
        }
        Ok(())
    }

    /// `compose wait`: blocks until each of the services' containers has stopped; their
    /// names and exit codes.
    pub fn wait(
        &self,
        engine: &Engine,
        services: &[String],
    ) -> Result<Vec<(String, i32)>, EngineError> {
        let mut codes = Vec::new();
        for container in self.service_containers(engine, services)? {
            if !is_oneoff(&container) {
                let code = engine.wait_container(container.name())?;
                codes.push((container.name().to_string(), code));
            }
        }
        Ok(codes)
    }

    /// `compose cp`: a `SERVICE:PATH` argument as the `CONTAINER:PATH` of the service's
    /// container number `index`; a host path or `-` as it is.
    pub fn copy_target(&self, argument: &str, index: u32) -> Result<String, EngineError> {
        match skiff_engine::CopyTarget::parse(argument) {
            skiff_engine::CopyTarget::Container { container, path } => {
                self.check_services(std::slice::from_ref(&container))?;
                Ok(format!("{}:{path}", self.replica_name(&container, index)))
            }
            _ => Ok(argument.to_string()),
        }
    }

    /// The services' stopped containers, which `compose rm` removes.
    pub fn stopped_containers(
        &self,
        engine: &Engine,
        services: &[String],
    ) -> Result<Vec<ContainerReport>, EngineError> {
        let mut containers = self.service_containers(engine, services)?;
        containers.retain(|c| !c.is_running());
        Ok(containers)
    }

    /// `compose rm`: removes these containers, with `volumes` their anonymous volumes.
    pub fn remove(
        &self,
        engine: &mut Engine,
        containers: &[ContainerReport],
        volumes: bool,
        progress: &dyn Fn(&str),
    ) -> Result<(), EngineError> {
        for container in containers {
            engine.remove_container_and_volumes(container.name(), true, volumes)?;
            progress(&format!("Container {}  Removed", container.name()));
        }
        Ok(())
    }
}

/// One line of `compose ls`: a project with containers here.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProjectSummary {
    #[serde(rename = "Name")]
    pub name: String,
    /// `running(2), exited(1)`, as docker compose counts.
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "ConfigFiles")]
    pub config_files: String,
}

/// `compose ls`: the projects that have containers (running ones only unless `all`).
pub fn list_projects(engine: &Engine, all: bool) -> Result<Vec<ProjectSummary>, EngineError> {
    let filter = ContainerFilter::parse(&[format!("label={PROJECT_LABEL}")])?;
    let mut projects: BTreeMap<String, (BTreeMap<String, usize>, String)> = BTreeMap::new();
    for container in engine.list_containers_filtered(true, &filter)? {
        let labels = &container.spec().labels;
        let Some(project) = labels.get(PROJECT_LABEL) else {
            continue;
        };
        let entry = projects.entry(project.clone()).or_default();
        *entry
            .0
            .entry(container.state.as_str().to_string())
            .or_default() += 1;
        if let Some(files) = labels.get(crate::options::FILES_LABEL) {
            entry.1 = files.clone();
        }
    }
    Ok(projects
        .into_iter()
        .filter(|(_, (states, _))| all || states.contains_key("running"))
        .map(|(name, (states, config_files))| ProjectSummary {
            name,
            status: states
                .iter()
                .map(|(state, n)| format!("{state}({n})"))
                .collect::<Vec<_>>()
                .join(", "),
            config_files,
        })
        .collect())
}

/// What `compose run` changes in a service's container.
#[derive(Debug, Clone, Default)]
pub struct RunOverrides {
    /// The command in place of the service's, when given.
    pub command: Vec<String>,
    pub entrypoint: Option<String>,
    pub env: Vec<String>,
    pub labels: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    /// `-p`: published in place of the service's ports.
    pub publish: Vec<String>,
    /// `--service-ports`: the service's ports stay published.
    pub service_ports: bool,
    pub volumes: Vec<String>,
    pub name: Option<String>,
    pub rm: bool,
    pub tty: bool,
    pub interactive: bool,
}

impl Project {
    /// `compose run`: the name and options of a one-off container of `service`. As docker
    /// compose: named `PROJECT-SERVICE-run-ID`, labelled one-off, no restart policy, and no
    /// published ports unless asked.
    pub fn run_options(
        &self,
        service: &str,
        overrides: &RunOverrides,
    ) -> Result<(String, skiff_engine::CreateOptions), EngineError> {
        let mut options = self.create_options(service)?;
        if !overrides.command.is_empty() {
            options.command = overrides.command.clone();
        }
        if overrides.entrypoint.is_some() {
            options.entrypoint = overrides.entrypoint.clone();
        }
        if !overrides.service_ports {
            options.publish.clear();
        }
        options.publish.extend(overrides.publish.iter().cloned());
        options.env.extend(overrides.env.iter().cloned());
        options.volume.extend(overrides.volumes.iter().cloned());
        options.user = overrides.user.clone().or(options.user);
        options.workdir = overrides.workdir.clone().or(options.workdir);
        options.restart = None;
        options.rm = overrides.rm;
        options.tty = overrides.tty;
        options.interactive = overrides.interactive;
        let oneoff = format!("{ONEOFF_LABEL}=");
        options.label.retain(|l| !l.starts_with(&oneoff));
        options.label.push(format!("{ONEOFF_LABEL}=True"));
        options.label.extend(overrides.labels.iter().cloned());
        let name = overrides.name.clone().unwrap_or_else(|| {
            let id = skiff_engine::random_id();
            format!("{}-{service}-run-{}", self.name, &id[..12])
        });
        Ok((name, options))
    }

    /// `compose run` up to the start: the service's dependencies brought up (unless
    /// `no_deps`), its image made ready, then its one-off container created. Returns the
    /// container's ID.
    pub fn create_oneoff(
        &self,
        engine: &mut Engine,
        service: &str,
        overrides: &RunOverrides,
        no_deps: bool,
        build: bool,
        output: &mut UpOutput<'_>,
    ) -> Result<String, EngineError> {
        self.check_services(&[service.to_string()])?;
        let dependencies = self.dependencies_of(service)?;
        if !no_deps && !dependencies.is_empty() {
            let options = UpOptions {
                services: dependencies,
                no_recreate: true,
                build,
                ..Default::default()
            };
            self.up(engine, &options, output)?;
        }
        let (name, options) = self.run_options(service, overrides)?;
        self.prepare_image(engine, service, build, output.build, output.pull)?;
        // As docker compose's run: the service's networks and the volumes, made if missing.
        self.ensure_resources(engine, &[service.to_string()], output.progress)?;
        let new = NewContainer {
            name: Some(name),
            ..NewContainer::new(options)
        };
        Ok(engine.create_from(&new, output.pull)?.id)
    }

    /// The services `service` depends on (and theirs), which `compose run` brings up first.
    pub fn dependencies_of(&self, service: &str) -> Result<Vec<String>, EngineError> {
        let mut order = self.ordered_services(&[service.to_string()])?;
        order.retain(|s| s != service);
        Ok(order)
    }
}

/// `--scale SERVICE=N` values.
pub fn parse_scale(values: &[String]) -> Result<BTreeMap<String, u32>, EngineError> {
    values
        .iter()
        .map(|value| {
            value
                .split_once('=')
                .and_then(|(service, n)| Some((service.to_string(), n.parse().ok()?)))
                .ok_or_else(|| invalid(format!("--scale {value:?}: expected SERVICE=NUMBER")))
        })
        .collect()
}

impl Project {
    /// `up --wait`: waits until the services' containers run, and are healthy where they
    /// have a healthcheck; a container that exits instead is an error.
    pub fn wait_ready(&self, engine: &Engine, services: &[String]) -> Result<(), EngineError> {
        for container in self.service_containers(engine, services)? {
            if is_oneoff(&container) {
                continue;
            }
            let name = container.name();
            if container.spec().healthcheck.is_some() {
                engine.wait_container_for(name, &["healthy".to_string(), "stopped".to_string()])?;
            }
            let now = engine.container(name)?;
            if !now.is_running() {
                return Err(EngineError::StartFailed(
                    1,
                    format!("container {name} exited ({})", now.exit_code()),
                ));
            }
            if container.spec().healthcheck.is_some()
                && now.health.as_ref().map(|h| h.status.as_str()) != Some("healthy")
            {
                return Err(EngineError::StartFailed(
                    1,
                    format!("container {name} is unhealthy"),
                ));
            }
        }
        Ok(())
    }
}

/// Starts the containers `up` made (service, container), all at once: each monitor sets its
/// container up while the next is launched. The first failure is the error; the others
/// still start.
fn start_pending(
    engine: &mut Engine,
    pending: &mut Vec<(String, String)>,
    progress: &dyn Fn(&str),
) -> Result<(), EngineError> {
    let names: Vec<&str> = pending.iter().map(|(_, c)| c.as_str()).collect();
    let results = engine.start_containers(&names);
    let mut first_error = None;
    for ((_, container), result) in pending.iter().zip(results) {
        match result {
            Ok(_) => progress(&format!("Container {container}  Started")),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    pending.clear();
    first_error.map_or(Ok(()), Err)
}
