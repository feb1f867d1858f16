//! What `compose up`, `down`, `ps`, `logs`, `start`, `stop` and `restart` do to a project's
//! networks, volumes and containers, through the engine as `run` and `network create` do.
//! Progress goes to a callback as Compose prints it (`Container proj-web-1  Started`).
use std::collections::BTreeMap;

use skiff_engine::action::{Action, Helper, Streams};
use skiff_engine::{
    ContainerFilter, ContainerReport, Engine, EngineError, LogOptions, NetworkCreateRequest,
    NewContainer, StartMode, VolumeCreate,
};

use crate::model::Assignments;
use crate::options::{PROJECT_LABEL, SERVICE_LABEL};
use crate::project::Project;

/// `compose up` options.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Only these services (and what they depend on); all when empty.
    pub services: Vec<String>,
    /// `--force-recreate`: containers are made anew even when they exist.
    pub force_recreate: bool,
    /// `--no-start`: made, not started.
    pub no_start: bool,
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

impl Project {
    fn label_filter(&self) -> Result<ContainerFilter, EngineError> {
        ContainerFilter::parse(&[format!("label={PROJECT_LABEL}={}", self.name)])
    }

    /// The project's containers (every one, running or not), by service.
    pub fn containers(&self, engine: &Engine) -> Result<Vec<ContainerReport>, EngineError> {
        let mut containers = engine.list_containers_filtered(true, &self.label_filter()?)?;
        containers.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(containers)
    }

    /// `up`: the networks and volumes the services use, then each service's container in
    /// dependency order, started once what it depends on is as its condition asks.
    pub fn up(
        &self,
        engine: &mut Engine,
        options: &UpOptions,
        progress: &dyn Fn(&str),
    ) -> Result<(), EngineError> {
        let order = self.ordered_services(&options.services)?;
        // Every service's options are checked before anything is made.
        let mut planned = Vec::new();
        for name in &order {
            planned.push((name.clone(), self.create_options(name)?));
        }
        let mut networks = Vec::new();
        for name in &order {
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
        for (name, create) in planned {
            for (dependency, condition) in Project::dependencies(&self.file.services[&name]) {
                if !options.no_start {
                    self.wait_for(engine, &dependency, &condition)?;
                }
            }
            let container = self.container_name(&name);
            let existing = engine.container(&container).ok();
            let recreate = options.force_recreate && existing.is_some();
            if recreate {
                engine.remove_container(&container, true)?;
                progress(&format!("Container {container}  Removed"));
            }
            match existing.filter(|_| !recreate) {
                Some(report) if report.spec().labels.get(PROJECT_LABEL) != Some(&self.name) => {
                    return Err(EngineError::Conflict(format!(
                        "container name {container:?} is already in use by a container that is not this project's"
                    )));
                }
                Some(report) if report.is_running() => {
                    progress(&format!("Container {container}  Running"));
                    continue;
                }
                Some(_) => {}
                None => {
                    let new = NewContainer {
                        name: Some(container.clone()),
                        ..NewContainer::new(create)
                    };
                    engine.create_from(&new, &|_| {})?;
                    progress(&format!("Container {container}  Created"));
                }
            }
            if !options.no_start {
                engine.start_container(&container, StartMode::Detached)?;
                progress(&format!("Container {container}  Started"));
            }
        }
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

    /// `down`: the project's containers (stopped with `timeout`), with `volumes` its volumes,
    /// then its networks. Externals are left alone. The networks are removed by `helper`, in
    /// the namespaces networks need (rootless bridges live in the rootless network namespace,
    /// where containers' storage cannot be unmounted).
    pub fn down(
        &self,
        engine: &mut Engine,
        helper: &Helper,
        timeout: Option<u64>,
        volumes: bool,
        progress: &dyn Fn(&str),
    ) -> Result<(), EngineError> {
        let mut containers = self.containers(engine)?;
        // Dependents first: the reverse of the start order, then any orphans.
        let order = self.ordered_services(&[]).unwrap_or_default();
        containers.sort_by_key(|c| {
            let service = c
                .spec()
                .labels
                .get(SERVICE_LABEL)
                .cloned()
                .unwrap_or_default();
            std::cmp::Reverse(order.iter().position(|s| *s == service))
        });
        for container in containers {
            let name = container.name().to_string();
            if container.is_running() {
                engine.stop_container(&name, timeout)?;
                progress(&format!("Container {name}  Stopped"));
            }
            engine.remove_container(&name, true)?;
            progress(&format!("Container {name}  Removed"));
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
        Ok(())
    }

    /// The containers of these services (all when empty), by name.
    pub fn service_containers(
        &self,
        engine: &Engine,
        services: &[String],
    ) -> Result<Vec<ContainerReport>, EngineError> {
        for service in services {
            if !self.file.services.contains_key(service) {
                return Err(invalid(format!("no such service: {service}")));
            }
        }
        let mut containers = self.containers(engine)?;
        containers.retain(|c| {
            services.is_empty()
                || c.spec()
                    .labels
                    .get(SERVICE_LABEL)
                    .is_some_and(|s| services.contains(s))
        });
        Ok(containers)
    }

    /// `logs`: the services' logs, each line led by its container's name.
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
            ..options.clone()
        };
        engine.containers_logs(&names, &options, stdout, stderr)
    }
}
