//! A service as the `CreateOptions` of its container (the same options `run` takes), and the
//! names Compose gives the project's containers, networks and volumes.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use skiff_engine::{CreateOptions, EngineError};

use crate::model::{
    Command, DependsOn, FileReference, Port, Scalar, Service, ServiceNetworks, ServiceVolume,
    Ulimit,
};
use crate::project::Project;

/// Labels Compose puts on what it makes, which `down`, `ps` and `docker compose` read.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";
pub const SERVICE_LABEL: &str = "com.docker.compose.service";
pub const NUMBER_LABEL: &str = "com.docker.compose.container-number";
/// The hash of what a service's container was made from: `up` remakes it when it changes.
pub const HASH_LABEL: &str = "com.docker.compose.config-hash";
/// Set on `compose run`'s containers, which `up` and `ps` leave alone.
pub const ONEOFF_LABEL: &str = "com.docker.compose.oneoff";
/// The project's files, which `compose ls` shows.
pub const FILES_LABEL: &str = "com.docker.compose.project.config_files";

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::InvalidArgument(message.into())
}

impl Project {
    /// `PROJECT-SERVICE-1`, or the service's `container_name`.
    pub fn container_name(&self, service: &str) -> String {
        self.replica_name(service, 1)
    }

    /// The name of the service's container number `number`: `PROJECT-SERVICE-N`, or the
    /// service's `container_name`.
    pub fn replica_name(&self, service: &str, number: u32) -> String {
        self.file
            .services
            .get(service)
            .and_then(|s| s.container_name.clone())
            .unwrap_or_else(|| format!("{}-{service}-{number}", self.name))
    }

    /// The image a service's containers run: its `image`, else the one its build makes,
    /// named `PROJECT-SERVICE` as docker compose names it.
    pub fn image_name(&self, service: &str) -> Option<String> {
        let definition = self.file.services.get(service)?;
        match (&definition.image, &definition.build) {
            (Some(image), _) => Some(image.clone()),
            (None, Some(_)) => Some(format!("{}-{service}", self.name)),
            (None, None) => None,
        }
    }

    /// How many containers the service runs: `--scale`, else its `scale`, else
    /// `deploy.replicas`, else one.
    pub fn replicas(
        &self,
        service: &str,
        scale: &BTreeMap<String, u32>,
    ) -> Result<u32, EngineError> {
        let definition = self
            .file
            .services
            .get(service)
            .ok_or_else(|| invalid(format!("no such service: {service}")))?;
        let count = scale
            .get(service)
            .copied()
            .or(definition.scale)
            .or(definition.deploy.as_ref().and_then(|d| d.replicas))
            .unwrap_or(1);
        if count > 1 && definition.container_name.is_some() {
            return Err(invalid(format!(
                "service {service:?}: a service with a container_name cannot be scaled to {count} containers"
            )));
        }
        Ok(count)
    }

    /// The engine's name of the project's network `key`.
    pub fn network_name(&self, key: &str) -> String {
        match self.file.networks.get(key).cloned().flatten() {
            Some(network) if network.external => network.name.unwrap_or_else(|| key.to_string()),
            Some(network) => network
                .name
                .unwrap_or_else(|| format!("{}_{key}", self.name)),
            None => format!("{}_{key}", self.name),
        }
    }

    /// The engine's name of the project's volume `key`.
    pub fn volume_name(&self, key: &str) -> String {
        match self.file.volumes.get(key).cloned().flatten() {
            Some(volume) if volume.external => volume.name.unwrap_or_else(|| key.to_string()),
            Some(volume) => volume
                .name
                .unwrap_or_else(|| format!("{}_{key}", self.name)),
            None => format!("{}_{key}", self.name),
        }
    }

    /// The networks (project keys) a service joins: `default` unless it names others or has
    /// a `network_mode`.
    pub fn service_networks(&self, service: &Service) -> Vec<String> {
        if service.network_mode.is_some() {
            return Vec::new();
        }
        match &service.networks {
            None => vec!["default".into()],
            Some(ServiceNetworks::List(list)) => list.clone(),
            Some(ServiceNetworks::Map(map)) => map.keys().cloned().collect(),
        }
    }

    /// The services service `name` depends on, with the condition to wait for. One the
    /// project lacks (not defined, or of a profile not enabled) is an error unless the
    /// dependency says `required: false`, then it is left out.
    pub fn dependencies(&self, name: &str) -> Result<Vec<(String, String)>, EngineError> {
        let service = self
            .file
            .services
            .get(name)
            .ok_or_else(|| invalid(format!("no such service: {name}")))?;
        let all: Vec<(String, String, bool)> = match &service.depends_on {
            None => Vec::new(),
            Some(DependsOn::List(list)) => list
                .iter()
                .map(|s| (s.clone(), "service_started".into(), true))
                .collect(),
            Some(DependsOn::Map(map)) => map
                .iter()
                .map(|(s, d)| {
                    let condition = d.condition.clone();
                    (
                        s.clone(),
                        condition.unwrap_or_else(|| "service_started".into()),
                        d.required.unwrap_or(true),
                    )
                })
                .collect(),
        };
        let mut present = Vec::new();
        for (dependency, condition, required) in all {
            if self.file.services.contains_key(&dependency) {
                present.push((dependency, condition));
            } else if required {
                return Err(invalid(format!(
                    "service {name:?} depends on undefined service {dependency:?}: invalid compose project"
                )));
            }
        }
        Ok(present)
    }

    /// The services in an order that starts dependencies first (only `wanted` and what they
    /// depend on, when given).
    pub fn ordered_services(&self, wanted: &[String]) -> Result<Vec<String>, EngineError> {
        fn visit(
            project: &Project,
            name: &str,
            path: &mut Vec<String>,
            done: &mut Vec<String>,
        ) -> Result<(), EngineError> {
            if done.iter().any(|d| d == name) {
                return Ok(());
            }
            if path.iter().any(|p| p == name) {
                return Err(invalid(format!(
                    "dependency cycle detected: {} -> {name}",
                    path.join(" -> ")
                )));
            }
            let dependencies = project.dependencies(name)?;
            path.push(name.to_string());
            for (dependency, _) in dependencies {
                visit(project, &dependency, path, done)?;
            }
            path.pop();
            done.push(name.to_string());
            Ok(())
        }
        let roots: Vec<String> = if wanted.is_empty() {
            self.file.services.keys().cloned().collect()
        } else {
            wanted.to_vec()
        };
        let mut done = Vec::new();
        for name in &roots {
            visit(self, name, &mut Vec::new(), &mut done)?;
        }
        Ok(done)
    }

    /// The container's options for `service`.
    pub fn create_options(&self, name: &str) -> Result<CreateOptions, EngineError> {
        let service = self
            .file
            .services
            .get(name)
            .ok_or_else(|| invalid(format!("no such service: {name}")))?;
        let context = |message: String| invalid(format!("service {name:?}: {message}"));
        let image = self.image_name(name).ok_or_else(|| {
            context(
                "has neither an image nor a build context specified: invalid compose project"
                    .into(),
            )
        })?;
        let mut options = CreateOptions {
            image,
            command: match &service.command {
                Some(command) => words(command).map_err(context)?,
                None => Vec::new(),
            },
            entrypoint: match &service.entrypoint {
                Some(entrypoint) => Some(
                    serde_json::to_string(&words(entrypoint).map_err(context)?).unwrap_or_default(),
                ),
                None => None,
            },
            workdir: service.working_dir.clone(),
            user: service.user.as_ref().map(|u| u.text()),
            hostname: service.hostname.clone(),
            init: service.init,
            tty: service.tty,
            interactive: service.stdin_open,
            read_only: service.read_only,
            privileged: service.privileged,
            cap_add: service.cap_add.clone(),
            cap_drop: service.cap_drop.clone(),
            dns: service.dns.items(),
            tmpfs: service.tmpfs.items(),
            restart: service.restart.clone(),
            stop_signal: service.stop_signal.clone(),
            memory: service.mem_limit.as_ref().map(|m| m.text()),
            pids_limit: service.pids_limit,
            ipc: service.ipc.as_deref().map(|m| self.joined_mode(m)),
            pid: service.pid.as_deref().map(|m| self.joined_mode(m)),
            uts: service.uts.as_deref().map(|m| self.joined_mode(m)),
            userns: service.userns_mode.clone(),
            ..Default::default()
        };
        let deploy = service.deploy.clone().unwrap_or_default();
        let resources = deploy.resources.unwrap_or_default();
        let limits = resources.limits.unwrap_or_default();
        let reservations = resources.reservations.unwrap_or_default();
        if let Some(cpus) = service.cpus.as_ref().or(limits.cpus.as_ref()) {
            options.cpus = Some(
                cpus.text()
                    .parse()
                    .map_err(|_| context(format!("cpus {:?} is not a number", cpus.text())))?,
            );
        }
        if options.memory.is_none() {
            options.memory = limits.memory.as_ref().map(Scalar::text);
        }
        options.pids_limit = options.pids_limit.or(limits.pids);
        options.limits.memory_reservation = service
            .mem_reservation
            .as_ref()
            .or(reservations.memory.as_ref())
            .map(Scalar::text);
        options.limits.memory_swap = service.memswap_limit.as_ref().map(Scalar::text);
        options.limits.memory_swappiness = service.mem_swappiness;
        options.limits.oom_score_adj = service.oom_score_adj;
        options.limits.cpu_shares = service.cpu_shares;
        options.limits.cpuset_cpus = service.cpuset.clone();
        options.limits.shm_size = service.shm_size.as_ref().map(Scalar::text);
        options.limits.device = service.devices.clone();
        for (key, value) in service.sysctls.pairs() {
            options
                .limits
                .sysctl
                .push(format!("{key}={}", value.unwrap_or_default()));
        }
        for (limit, value) in &service.ulimits {
            options.limits.ulimit.push(match value {
                Ulimit::Single(both) => format!("{limit}={both}:{both}"),
                Ulimit::Pair { soft, hard } => format!("{limit}={soft}:{hard}"),
            });
        }
        options.dns_search = service.dns_search.items();
        options.dns_option = service.dns_opt.clone();
        options.security_opt = service.security_opt.clone();
        options.mac_address = service.mac_address.clone();
        if let Some(logging) = &service.logging {
            options.log_driver = logging.driver.clone();
            options.log_opt = logging
                .options
                .iter()
                .map(|(k, v)| format!("{k}={}", v.text()))
                .collect();
        }
        if options.restart.is_none()
            && let Some(policy) = &deploy.restart_policy
        {
            options.restart = match (policy.condition.as_deref(), policy.max_attempts) {
                (Some("none"), _) => Some("no".into()),
                (Some("on-failure"), Some(max)) => Some(format!("on-failure:{max}")),
                (Some("on-failure"), None) => Some("on-failure".into()),
                (Some("any") | None, _) => Some("always".into()),
                (Some(other), _) => {
                    return Err(context(format!(
                        "deploy.restart_policy.condition {other:?}: expected none, on-failure or any"
                    )));
                }
            };
        }
        if let Some(grace) = &service.stop_grace_period {
            let duration = skiff_engine::parse_go_duration(grace)
                .ok_or_else(|| context(format!("stop_grace_period {grace:?} is not a duration")))?;
            options.stop_timeout = Some(duration.as_secs());
        }
        for (key, value) in service.environment.pairs() {
            options.env.push(match value {
                Some(value) => format!("{key}={value}"),
                None => key,
            });
        }
        options.env_file = service
            .env_file
            .items()
            .iter()
            .map(|f| self.directory.join(f))
            .collect();
        for (host, ip) in service.extra_hosts.pairs() {
            // The list form is `host:ip` (or `host=ip`); the map form host: ip.
            let entry = match ip {
                Some(ip) => format!("{host}:{ip}"),
                None => host,
            };
            options.add_host.push(entry.replacen('=', ":", 1));
        }
        for port in &service.ports {
            options.publish.push(match port {
                Port::Short(short) => short.text(),
                Port::Long(long) => {
                    let host = match (&long.host_ip, &long.published) {
                        (Some(ip), Some(published)) => format!("{ip}:{}:", published.text()),
                        (Some(ip), None) => format!("{ip}::"),
                        (None, Some(published)) => format!("{}:", published.text()),
                        (None, None) => String::new(),
                    };
                    let protocol = long
                        .protocol
                        .as_deref()
                        .map(|p| format!("/{p}"))
                        .unwrap_or_default();
                    format!("{host}{}{protocol}", long.target)
                }
            });
        }
        for volume in &service.volumes {
            self.add_volume(&mut options, volume).map_err(context)?;
        }
        for (kind, references) in [("secret", &service.secrets), ("config", &service.configs)] {
            for reference in references {
                if kind == "secret"
                    && let Some(secret) = self.external_secret(reference)
                {
                    options.secret.push(secret);
                    continue;
                }
                let mount = self.file_object_mount(kind, reference).map_err(context)?;
                options.volume.push(mount);
            }
        }
        self.add_networks(&mut options, name, service)
            .map_err(context)?;
        if let Some(check) = &service.healthcheck {
            if check.disable {
                options.no_healthcheck = true;
            } else if let Some(test) = &check.test {
                options.health_cmd = Some(match test {
                    Command::Text(text) => text.clone(),
                    Command::Other(scalar) => scalar.text(),
                    Command::List(list) => {
                        let list: Vec<String> = list.iter().map(Scalar::text).collect();
                        if list.first().is_some_and(|f| f == "NONE") {
                            options.no_healthcheck = true;
                            String::new()
                        } else {
                            serde_json::to_string(&list).unwrap_or_default()
                        }
                    }
                })
                .filter(|c| !c.is_empty());
                options.health_interval = check.interval.clone();
                options.health_timeout = check.timeout.clone();
                options.health_retries = check.retries;
                options.health_start_period = check.start_period.clone();
            }
        }
        for (key, value) in service.labels.pairs() {
            options
                .label
                .push(format!("{key}={}", value.unwrap_or_default()));
        }
        options.group_add = service.group_add.iter().map(Scalar::text).collect();
        for (key, value) in service.annotations.pairs() {
            options
                .annotation
                .push(format!("{key}={}", value.unwrap_or_default()));
        }
        options.label.extend([
            format!("{PROJECT_LABEL}={}", self.name),
            format!("{SERVICE_LABEL}={name}"),
            format!("{ONEOFF_LABEL}=False"),
            format!(
                "com.docker.compose.project.working_dir={}",
                self.directory.display()
            ),
            format!(
                "{FILES_LABEL}={}",
                self.files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ]);
        Ok(options)
    }

    /// The host file of secret or config `name`: its `file`, else the one `up` writes
    /// with its value ([`Project::prepare_host_files`]).
    pub fn file_object_path(&self, kind: &str, name: &str) -> Result<PathBuf, String> {
        let definitions = if kind == "secret" {
            &self.file.secrets
        } else {
            &self.file.configs
        };
        let definition = definitions
            .get(name)
            .ok_or_else(|| format!("refers to undefined {kind} {name}: invalid compose project"))?;
        if definition.external {
            return Err(format!(
                "{kind} {name} is external: skiff has no {kind} store, use a file"
            ));
        }
        match (
            &definition.file,
            &definition.environment,
            &definition.content,
        ) {
            (Some(file), _, _) => Ok(self.directory.join(file.strip_prefix("./").unwrap_or(file))),
            (None, Some(_), _) | (None, None, Some(_)) => {
                Ok(self.state_dir.join(format!("{kind}s")).join(name))
            }
            (None, None, None) => Err(format!(
                "{kind} {name} has neither a file, an environment variable nor content"
            )),
        }
    }

    /// A secret marked `external`: one of the engine's (`skiff secret create`), as `--secret`
    /// gives it, at the target, owner and mode the reference asks for.
    fn external_secret(&self, reference: &FileReference) -> Option<String> {
        let (key, target) = reference.parts();
        let definition = self.file.secrets.get(key).filter(|d| d.external)?;
        let mut secret = definition.name.clone().unwrap_or_else(|| key.to_string());
        if let Some(target) = target {
            secret.push_str(&format!(",target={target}"));
        }
        if let FileReference::Long(long) = reference {
            for (option, value) in [("uid", &long.uid), ("gid", &long.gid)] {
                if let Some(value) = value {
                    secret.push_str(&format!(",{option}={}", value.text()));
                }
            }
            // Compose writes the mode in octal; YAML may have read it as a number.
            match &long.mode {
                Some(Scalar::Integer(mode)) => secret.push_str(&format!(",mode={mode:o}")),
                Some(mode) => secret.push_str(&format!(",mode={}", mode.text())),
                None => {}
            }
        }
        Some(secret)
    }

    /// The read-only bind mount of a service's secret (at /run/secrets/NAME) or config (at
    /// /NAME), or where the reference says.
    fn file_object_mount(&self, kind: &str, reference: &FileReference) -> Result<String, String> {
        let (name, target) = reference.parts();
        let source = self.file_object_path(kind, name)?;
        let target = match (kind, target) {
            (_, Some(target)) if target.starts_with('/') => target.to_string(),
            ("secret", Some(target)) => format!("/run/secrets/{target}"),
            ("secret", None) => format!("/run/secrets/{name}"),
            (_, Some(target)) => format!("/{target}"),
            (_, None) => format!("/{name}"),
        };
        Ok(format!("{}:{target}:ro", source.display()))
    }

    /// What the services' mounts expect on the host before their containers are made: the
    /// missing bind mount sources made (directories), and the secrets and configs given by
    /// value (an environment variable's, or inline content) written, readable by their
    /// owner only.
    pub fn prepare_host_files(&self) -> Result<(), EngineError> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        for path in self.bind_sources_to_create() {
            if std::fs::symlink_metadata(&path).is_err() {
                std::fs::create_dir_all(&path).map_err(|source| EngineError::Io {
                    action: "creating",
                    path: path.clone(),
                    source,
                })?;
            }
        }
        for (kind, definitions) in [
            ("secret", &self.file.secrets),
            ("config", &self.file.configs),
        ] {
            for (name, definition) in definitions {
                let value = match (
                    &definition.file,
                    &definition.environment,
                    &definition.content,
                ) {
                    (None, Some(variable), _) => std::env::var(variable).map_err(|_| {
                        invalid(format!(
                            "{kind} {name}: environment variable {variable} is not set"
                        ))
                    })?,
                    (None, None, Some(content)) => content.clone(),
                    _ => continue,
                };
                let dir = self.state_dir.join(format!("{kind}s"));
                let path = dir.join(name);
                let io = |source| EngineError::Io {
                    action: "writing",
                    path: path.clone(),
                    source,
                };
                std::fs::create_dir_all(&dir).map_err(io)?;
                let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o400)
                    .open(&path)
                    .or_else(|_| {
                        // A read-only file from an earlier `up` is replaced.
                        let _ = std::fs::remove_file(&path);
                        std::fs::OpenOptions::new()
                            .write(true)
                            .create_new(true)
                            .mode(0o400)
                            .open(&path)
                    })
                    .map_err(io)?;
                std::io::Write::write_all(&mut file, value.as_bytes()).map_err(io)?;
            }
        }
        Ok(())
    }

    fn add_volume(
        &self,
        options: &mut CreateOptions,
        volume: &ServiceVolume,
    ) -> Result<(), String> {
        // (type, source, target, mount options)
        let (kind, source, target, mut flags) = match volume {
            ServiceVolume::Long(long) => {
                let mut flags = Vec::new();
                if long.read_only {
                    flags.push("ro".to_string());
                }
                if long.volume.as_ref().is_some_and(|v| v.nocopy) {
                    flags.push("nocopy".into());
                }
                flags.extend(long.bind.as_ref().and_then(|b| b.propagation.clone()));
                if let Some(tmpfs) = &long.tmpfs {
                    flags.extend(tmpfs.size.as_ref().map(|s| format!("size={}", s.text())));
                    flags.extend(tmpfs.mode.as_ref().map(|m| format!("mode={}", m.text())));
                }
                (
                    long.kind.clone(),
                    long.source.clone(),
                    long.target.clone(),
                    flags,
                )
            }
            ServiceVolume::Short(short) => {
                let parts: Vec<&str> = short.splitn(3, ':').collect();
                match parts.as_slice() {
                    [target] => ("volume".into(), None, target.to_string(), Vec::new()),
                    [source, target, rest @ ..] => {
                        let bind = source.starts_with(['.', '/', '~']);
                        (
                            if bind { "bind" } else { "volume" }.into(),
                            Some(source.to_string()),
                            target.to_string(),
                            rest.iter().map(|o| o.to_string()).collect(),
                        )
                    }
                    [] => return Err("an empty volume".into()),
                }
            }
        };
        let with = |head: String, flags: &[String]| match flags {
            [] => head,
            flags => format!("{head}:{}", flags.join(",")),
        };
        match (kind.as_str(), source) {
            ("tmpfs", _) => options.tmpfs.push(with(target, &flags)),
            ("volume", None) => options.volume.push(target),
            ("volume", Some(source)) => {
                if !self.file.volumes.contains_key(&source) {
                    return Err(format!(
                        "refers to undefined volume {source}: invalid compose project"
                    ));
                }
                let head = format!("{}:{target}", self.volume_name(&source));
                options.volume.push(with(head, &flags));
            }
            ("bind", Some(source)) => {
                let path = self.bind_source(&source);
                flags.retain(|f| f != "nocopy");
                options
                    .volume
                    .push(with(format!("{}:{target}", path.display()), &flags));
            }
            (other, _) => return Err(format!("volume type {other:?} is not supported")),
        }
        Ok(())
    }

    /// A bind mount's source on the host: `~/` in the home directory, relative paths in the
    /// project's directory.
    fn bind_source(&self, source: &str) -> PathBuf {
        match source.strip_prefix("~/") {
            Some(rest) => Path::new(&std::env::var("HOME").unwrap_or_default()).join(rest),
            None => self
                .directory
                .join(source.strip_prefix("./").unwrap_or(source)),
        }
    }

    /// The bind mount sources `up` makes when they are missing, as docker compose does: those
    /// of the short form, and of the long form with `bind.create_host_path`.
    fn bind_sources_to_create(&self) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        for service in self.file.services.values() {
            for volume in &service.volumes {
                match volume {
                    ServiceVolume::Short(short) => {
                        if let Some((source, _)) = short.split_once(':')
                            && source.starts_with(['.', '/', '~'])
                        {
                            paths.push(self.bind_source(source));
                        }
                    }
                    ServiceVolume::Long(long) if long.kind == "bind" => {
                        let create = long.bind.as_ref().and_then(|b| b.create_host_path);
                        if let (Some(source), Some(true)) = (&long.source, create) {
                            paths.push(self.bind_source(source));
                        }
                    }
                    ServiceVolume::Long(_) => {}
                }
            }
        }
        paths
    }

    /// A namespace mode of Compose's: `service:NAME` is that service's container's.
    fn joined_mode(&self, mode: &str) -> String {
        match mode.strip_prefix("service:") {
            Some(other) => format!("container:{}", self.container_name(other)),
            None => mode.to_string(),
        }
    }

    fn add_networks(
        &self,
        options: &mut CreateOptions,
        name: &str,
        service: &Service,
    ) -> Result<(), String> {
        if let Some(mode) = &service.network_mode {
            options.network.push(self.joined_mode(mode));
            return Ok(());
        }
        for key in self.service_networks(service) {
            if key != "default" && !self.file.networks.contains_key(&key) {
                return Err(format!(
                    "refers to undefined network {key}: invalid compose project"
                ));
            }
            let mut aliases = vec![name.to_string()];
            let mut ip = None;
            if let Some(ServiceNetworks::Map(map)) = &service.networks
                && let Some(Some(settings)) = map.get(&key)
            {
                aliases.extend(settings.aliases.iter().cloned());
                ip = settings.ipv4_address.clone();
            }
            let mut value = format!(
                "{}:{}",
                self.network_name(&key),
                aliases
                    .iter()
                    .map(|a| format!("alias={a}"))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            if let Some(ip) = ip {
                value.push_str(&format!(",ip={ip}"));
            }
            options.network.push(value);
        }
        Ok(())
    }
}

/// What `up` compares to decide whether a service's container must be made anew: the
/// options it was made from and the contents of the env files they read.
pub fn config_hash(options: &CreateOptions) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(serde_json::to_vec(options).unwrap_or_default());
    for file in &options.env_file {
        hasher.update(std::fs::read(file).unwrap_or_default());
    }
    format!("{:x}", hasher.finalize())
}

/// A command's words: a list as it is, a string split as a shell would split it.
fn words(command: &Command) -> Result<Vec<String>, String> {
    match command {
        Command::List(list) => Ok(list.iter().map(Scalar::text).collect()),
        Command::Text(text) => split_shell(text),
        Command::Other(scalar) => Ok(vec![scalar.text()]),
    }
}

/// POSIX shell word splitting with quotes and backslashes, no expansion.
fn split_shell(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(done) = word.take() {
                    words.push(done);
                }
            }
            '\'' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => current.push(c),
                        None => return Err(format!("unterminated quote in {text:?}")),
                    }
                }
            }
            '"' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => current.push(c),
                            Some(c) => {
                                current.push('\\');
                                current.push(c);
                            }
                            None => return Err(format!("unterminated quote in {text:?}")),
                        },
                        Some(c) => current.push(c),
                        None => return Err(format!("unterminated quote in {text:?}")),
                    }
                }
            }
            '\\' => {
                if let Some(next) = chars.next() {
                    word.get_or_insert_with(String::new).push(next);
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(done) = word {
        words.push(done);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ComposeFile;

    fn project(yaml: &str) -> Project {
        Project {
            name: "proj".into(),
            directory: "/srv/proj".into(),
            files: vec!["/srv/proj/compose.yaml".into()],
            file: yaml_serde::from_str::<ComposeFile>(yaml).unwrap(),
            all_services: Default::default(),
            state_dir: "/run/skiff/compose/proj".into(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn a_service_becomes_run_options() {
        let project = project(
            r#"
services:
  web:
    image: busybox
    command: sh -c "echo 'a b'; sleep 1"
    environment: {A: 1, B: null, C: "x y"}
    ports: ["8080:80", {target: 53, published: 5353, protocol: udp}]
    volumes: [data:/data:ro, ./site:/www, /scratch, {type: tmpfs, target: /run}]
    networks:
      back:
        aliases: [api]
    extra_hosts: ["db:10.0.0.2"]
    stop_grace_period: 1m30s
    healthcheck: {test: [CMD, true], interval: 5s}
    depends_on: {db: {condition: service_healthy}}
  db:
    image: busybox
    network_mode: host
    ipc: service:web
    pid: host
    uts: container:other
    userns_mode: keep-id
volumes: {data: {}}
networks: {back: {}}
"#,
        );
        let options = project.create_options("web").unwrap();
        assert_eq!(options.command, ["sh", "-c", "echo 'a b'; sleep 1"]);
        assert_eq!(options.env, ["A=1", "B", "C=x y"]);
        assert_eq!(options.publish, ["8080:80", "5353:53/udp"]);
        assert_eq!(
            options.volume,
            ["proj_data:/data:ro", "/srv/proj/site:/www", "/scratch"]
        );
        assert_eq!(options.tmpfs, ["/run"]);
        assert_eq!(options.network, ["proj_back:alias=web,alias=api"]);
        assert_eq!(options.add_host, ["db:10.0.0.2"]);
        assert_eq!(options.stop_timeout, Some(90));
        assert_eq!(options.health_cmd.as_deref(), Some(r#"["CMD","true"]"#));
        assert!(
            options
                .label
                .contains(&"com.docker.compose.service=web".to_string())
        );
        let db = project.create_options("db").unwrap();
        assert_eq!(db.network, ["host"]);
        assert_eq!(
            (db.ipc.as_deref(), db.pid.as_deref(), db.uts.as_deref()),
            (
                Some("container:proj-web-1"),
                Some("host"),
                Some("container:other")
            )
        );
        assert_eq!(db.userns.as_deref(), Some("keep-id"));
        assert_eq!(project.ordered_services(&[]).unwrap(), ["db", "web"]);
        assert_eq!(project.container_name("web"), "proj-web-1");
    }

    #[test]
    fn long_form_mounts_keep_their_options() {
        let long = project(
            "services:\n  a:\n    image: x\n    volumes:\n    - {type: volume, source: d, target: /d, read_only: true, volume: {nocopy: true}}\n    - {type: bind, source: ./s, target: /s, bind: {propagation: rslave, create_host_path: true}}\n    - {type: tmpfs, target: /t, tmpfs: {size: 1m, mode: 1777}}\n    - ./made:/m\nvolumes: {d: {}}\n",
        );
        let options = long.create_options("a").unwrap();
        assert_eq!(
            options.volume,
            [
                "proj_d:/d:ro,nocopy",
                "/srv/proj/s:/s:rslave",
                "/srv/proj/made:/m"
            ]
        );
        assert_eq!(options.tmpfs, ["/t:size=1m,mode=1777"]);
        assert_eq!(
            long.bind_sources_to_create(),
            [
                PathBuf::from("/srv/proj/s"),
                PathBuf::from("/srv/proj/made")
            ]
        );
    }

    #[test]
    fn deploy_limits_and_kernel_settings_become_run_options() {
        let project = project(
            r#"
services:
  api:
    build: {context: app}
    deploy:
      replicas: 3
      resources: {limits: {cpus: "0.5", memory: 64m, pids: 20}, reservations: {memory: 32m}}
      restart_policy: {condition: on-failure, max_attempts: 2}
    ulimits: {nofile: {soft: 100, hard: 200}, nproc: 50}
    sysctls: {net.core.somaxconn: 1024}
    shm_size: 16m
    dns_search: [example.test]
    logging: {driver: k8s-file, options: {max-size: 1m}}
  one:
    image: busybox
    container_name: only
    scale: 2
"#,
        );
        let options = project.create_options("api").unwrap();
        assert_eq!(options.image, "proj-api");
        assert_eq!(options.cpus, Some(0.5));
        assert_eq!(options.memory.as_deref(), Some("64m"));
        assert_eq!(options.pids_limit, Some(20));
        assert_eq!(options.limits.memory_reservation.as_deref(), Some("32m"));
        assert_eq!(options.restart.as_deref(), Some("on-failure:2"));
        assert_eq!(options.limits.ulimit, ["nofile=100:200", "nproc=50:50"]);
        assert_eq!(options.limits.sysctl, ["net.core.somaxconn=1024"]);
        assert_eq!(options.limits.shm_size.as_deref(), Some("16m"));
        assert_eq!(options.dns_search, ["example.test"]);
        assert_eq!(options.log_opt, ["max-size=1m"]);
        let scale = crate::lifecycle::parse_scale(&["one=1".into()]).unwrap();
        assert_eq!(project.replicas("api", &scale).unwrap(), 3);
        assert_eq!(project.replicas("one", &scale).unwrap(), 1);
        assert!(project.replicas("one", &BTreeMap::new()).is_err());
        assert!(crate::lifecycle::parse_scale(&["one".into()]).is_err());
        // The hash follows the options: a changed command is a changed container.
        let mut changed = options.clone();
        assert_eq!(config_hash(&options), config_hash(&changed));
        changed.command = vec!["true".into()];
        assert_ne!(config_hash(&options), config_hash(&changed));
    }

    #[test]
    fn bad_projects_are_named() {
        let cycle = project(
            "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n",
        );
        assert!(
            cycle
                .ordered_services(&[])
                .unwrap_err()
                .to_string()
                .contains("dependency cycle"),
        );
        let missing = project("services:\n  a: {image: x, depends_on: [b]}\n");
        assert_eq!(
            missing.ordered_services(&[]).unwrap_err().to_string(),
            "service \"a\" depends on undefined service \"b\": invalid compose project"
        );
        let optional = project(
            "services:\n  a: {image: x, depends_on: {b: {condition: service_started, required: false}}}\n",
        );
        assert_eq!(optional.ordered_services(&[]).unwrap(), ["a"]);
        let undefined = project("services:\n  a: {image: x, volumes: ['nope:/x']}\n");
        assert_eq!(
            undefined.create_options("a").unwrap_err().to_string(),
            "service \"a\": refers to undefined volume nope: invalid compose project"
        );
        let no_image = project("services:\n  a: {command: true}\n");
        assert!(no_image.create_options("a").is_err());
        assert_eq!(
            split_shell(r#"a "b c" 'd e' f\ g "h\"i""#).unwrap(),
            ["a", "b c", "d e", "f g", "h\"i"]
        );
        assert!(split_shell("'open").is_err());
    }
}
