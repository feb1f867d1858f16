//! A service as the `CreateOptions` of its container (the same options `run` takes), and the
//! names Compose gives the project's containers, networks and volumes.
use std::path::Path;

use skiff_engine::{CreateOptions, EngineError};

use crate::model::{Command, DependsOn, Port, Scalar, Service, ServiceNetworks, ServiceVolume};
use crate::project::Project;

/// Labels Compose puts on what it makes, which `down`, `ps` and `docker compose` read.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";
pub const SERVICE_LABEL: &str = "com.docker.compose.service";
const NUMBER_LABEL: &str = "com.docker.compose.container-number";

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::InvalidArgument(message.into())
}

impl Project {
    /// `PROJECT-SERVICE-1`, or the service's `container_name`.
    pub fn container_name(&self, service: &str) -> String {
        self.file
            .services
            .get(service)
            .and_then(|s| s.container_name.clone())
            .unwrap_or_else(|| format!("{}-{service}-1", self.name))
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

    /// The services a service depends on, with the condition to wait for.
    pub fn dependencies(service: &Service) -> Vec<(String, String)> {
        match &service.depends_on {
            None => Vec::new(),
            Some(DependsOn::List(list)) => list
                .iter()
                .map(|s| (s.clone(), "service_started".into()))
                .collect(),
            Some(DependsOn::Map(map)) => map
                .iter()
                .map(|(s, d)| {
                    (
                        s.clone(),
                        d.condition
                            .clone()
                            .unwrap_or_else(|| "service_started".into()),
                    )
                })
                .collect(),
        }
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
            let service = project
                .file
                .services
                .get(name)
                .ok_or_else(|| invalid(format!("no such service: {name}")))?;
            path.push(name.to_string());
            for (dependency, _) in Project::dependencies(service) {
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
        let image = service.image.clone().ok_or_else(|| {
            context("has neither an image nor a build context specified (build is not supported by skiff compose yet)".into())
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
            ..Default::default()
        };
        if let Some(cpus) = &service.cpus {
            options.cpus = Some(
                cpus.text()
                    .parse()
                    .map_err(|_| context(format!("cpus {:?} is not a number", cpus.text())))?,
            );
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
        options.label.extend([
            format!("{PROJECT_LABEL}={}", self.name),
            format!("{SERVICE_LABEL}={name}"),
            format!("{NUMBER_LABEL}=1"),
            "com.docker.compose.oneoff=False".to_string(),
            format!(
                "com.docker.compose.project.working_dir={}",
                self.directory.display()
            ),
            format!(
                "com.docker.compose.project.config_files={}",
                self.files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ]);
        Ok(options)
    }

    fn add_volume(
        &self,
        options: &mut CreateOptions,
        volume: &ServiceVolume,
    ) -> Result<(), String> {
        let (kind, source, target, read_only, extra) = match volume {
            ServiceVolume::Long(long) => (
                long.kind.clone(),
                long.source.clone(),
                long.target.clone(),
                long.read_only,
                String::new(),
            ),
            ServiceVolume::Short(short) => {
                let parts: Vec<&str> = short.splitn(3, ':').collect();
                match parts.as_slice() {
                    [target] => (
                        "volume".into(),
                        None,
                        target.to_string(),
                        false,
                        String::new(),
                    ),
                    [source, target, rest @ ..] => {
                        let bind = source.starts_with(['.', '/', '~']);
                        (
                            if bind { "bind" } else { "volume" }.into(),
                            Some(source.to_string()),
                            target.to_string(),
                            false,
                            rest.first().map(|o| format!(":{o}")).unwrap_or_default(),
                        )
                    }
                    [] => return Err("an empty volume".into()),
                }
            }
        };
        let ro = if read_only { ":ro" } else { "" };
        match (kind.as_str(), source) {
            ("tmpfs", _) => options.tmpfs.push(target),
            ("volume", None) => options.volume.push(target),
            ("volume", Some(source)) => {
                if !self.file.volumes.contains_key(&source) {
                    return Err(format!(
                        "refers to undefined volume {source}: invalid compose project"
                    ));
                }
                options
                    .volume
                    .push(format!("{}:{target}{ro}{extra}", self.volume_name(&source)));
            }
            ("bind", Some(source)) => {
                let path = match source.strip_prefix("~/") {
                    Some(rest) => Path::new(&std::env::var("HOME").unwrap_or_default()).join(rest),
                    None => self
                        .directory
                        .join(source.strip_prefix("./").unwrap_or(&source)),
                };
                options
                    .volume
                    .push(format!("{}:{target}{ro}{extra}", path.display()));
            }
            (other, _) => return Err(format!("volume type {other:?} is not supported")),
        }
        Ok(())
    }

    fn add_networks(
        &self,
        options: &mut CreateOptions,
        name: &str,
        service: &Service,
    ) -> Result<(), String> {
        if let Some(mode) = &service.network_mode {
            options.network.push(match mode.strip_prefix("service:") {
                Some(other) => format!("container:{}", self.container_name(other)),
                None => mode.clone(),
            });
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
        assert_eq!(project.create_options("db").unwrap().network, ["host"]);
        assert_eq!(project.ordered_services(&[]).unwrap(), ["db", "web"]);
        assert_eq!(project.container_name("web"), "proj-web-1");
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
