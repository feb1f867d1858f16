//! How a project's files become one document, as Compose assembles them: each file read,
//! YAML merge keys applied, interpolated and checked against the specification
//! ([`crate::schema`]); the files it `include`s added (their relative paths made absolute
//! against their own directory) and its services' `extends` resolved; then the files merged
//! in order by Compose's merge rules: mappings key by key, lists such as `ports`, `dns` or
//! `cap_add` appended, `volumes` and `devices` merged by container path, `environment`,
//! `labels` and the like by key (their list form is read as a mapping first).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use yaml_serde::{Mapping, Value};

/// Service keys whose lists are appended when files merge (duplicates dropped).
const APPENDED: &[&str] = &[
    "cap_add",
    "cap_drop",
    "dns",
    "dns_opt",
    "dns_search",
    "env_file",
    "expose",
    "external_links",
    "group_add",
    "links",
    "ports",
    "security_opt",
    "tmpfs",
    "volumes_from",
];

/// Service keys whose list form (`KEY=VALUE`) is read as a mapping.
const ASSIGNMENTS: &[&str] = &["environment", "labels", "annotations", "sysctls"];

/// Reads files with the project's variables; what deserves a warning is collected.
pub struct Reader<'a> {
    pub environment: BTreeMap<String, String>,
    pub warnings: &'a mut Vec<String>,
    /// The files being read, outermost first (an include or extends cycle is an error).
    chain: Vec<PathBuf>,
}

impl<'a> Reader<'a> {
    pub fn new(environment: BTreeMap<String, String>, warnings: &'a mut Vec<String>) -> Self {
        Self {
            environment,
            warnings,
            chain: Vec::new(),
        }
    }

    /// The files merged in order into one document.
    pub fn read_all(&mut self, files: &[PathBuf]) -> Result<Value, String> {
        let mut merged = Value::Null;
        for file in files {
            let value = self.read(file)?;
            merge(&mut merged, value, "");
        }
        Ok(merged)
    }

    /// One file, with what it includes and what its services extend.
    pub fn read(&mut self, file: &Path) -> Result<Value, String> {
        if self.chain.iter().any(|f| f == file) {
            return Err(format!(
                "{}: included or extended in a cycle",
                file.display()
            ));
        }
        let named = |e: &dyn std::fmt::Display| format!("{}: {e}", file.display());
        let text = std::fs::read_to_string(file).map_err(|e| named(&e))?;
        let mut value: Value = yaml_serde::from_str(&text).map_err(|e| named(&e))?;
        if value.is_null() {
            value = Value::Mapping(Mapping::new());
        }
        value.apply_merge().map_err(|e| named(&e))?;
        crate::project::interpolate(&mut value, &self.environment, self.warnings)
            .map_err(|e| named(&e))?;
        coerce(&mut value);
        crate::schema::validate(&value)
            .map_err(|e| format!("validating {}: {e}", file.display()))?;
        normalize(&mut value);
        let dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
        self.chain.push(file.to_path_buf());
        let result = self
            .include(&mut value, &dir)
            .and_then(|()| self.resolve_extends(&mut value, &dir));
        self.chain.pop();
        result.map(|()| value)
    }

    /// Adds the resources of the files `include` names; one it defines again is an error.
    fn include(&mut self, value: &mut Value, dir: &Path) -> Result<(), String> {
        let Some(Value::Sequence(entries)) =
            value.as_mapping_mut().and_then(|m| m.remove("include"))
        else {
            return Ok(());
        };
        for entry in entries {
            let (paths, project_dir, env_files) = match &entry {
                Value::String(path) => (vec![path.clone()], None, Vec::new()),
                Value::Mapping(m) => (
                    strings(m.get("path")),
                    m.get("project_directory")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    strings(m.get("env_file")),
                ),
                _ => return Err("include entries must be a path or a mapping".into()),
            };
            let Some(first) = paths.first() else {
                return Err("include: an entry names no path".into());
            };
            let files: Vec<PathBuf> = paths.iter().map(|p| dir.join(p)).collect();
            let base = match &project_dir {
                Some(d) => dir.join(d),
                None => dir.join(first).parent().unwrap_or(dir).to_path_buf(),
            };
            // The included project's variables: its own .env (or env_file) under ours.
            let env_files: Vec<PathBuf> = env_files.iter().map(|f| dir.join(f)).collect();
            let mut environment =
                crate::project::environment(&base, &env_files).map_err(|e| e.to_string())?;
            for (k, v) in &self.environment {
                environment.entry(k.clone()).or_insert_with(|| v.clone());
            }
            let outer = std::mem::replace(&mut self.environment, environment);
            let included = self.read_all(&files);
            self.environment = outer;
            let mut included = included?;
            absolutize_all(&mut included, &base);
            add_resources(value, included, &files[0])?;
        }
        Ok(())
    }

    /// Resolves `extends` in every service of this file.
    fn resolve_extends(&mut self, value: &mut Value, dir: &Path) -> Result<(), String> {
        let Some(Value::Mapping(services)) =
            value.as_mapping_mut().and_then(|m| m.get_mut("services"))
        else {
            return Ok(());
        };
        let original = services.clone();
        for name in original.keys().filter_map(Value::as_str) {
            let resolved = self.extended(&original, name, dir, &mut Vec::new())?;
            services.insert(Value::String(name.to_string()), resolved);
        }
        Ok(())
    }

    /// Service `name` of `services` with what it extends merged under it.
    fn extended(
        &mut self,
        services: &Mapping,
        name: &str,
        dir: &Path,
        seen: &mut Vec<String>,
    ) -> Result<Value, String> {
        let service = services
            .get(name)
            .cloned()
            .ok_or_else(|| format!("cannot extend service {name:?}: no such service"))?;
        let Some(extends) = service.get("extends").cloned() else {
            return Ok(service);
        };
        if seen.iter().any(|s| s == name) {
            return Err(format!(
                "circular reference with extends in service {name:?}"
            ));
        }
        seen.push(name.to_string());
        let (base_name, file) = match &extends {
            Value::String(base) => (base.clone(), None),
            Value::Mapping(m) => (
                m.get("service")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("services.{name}.extends names no service"))?
                    .to_string(),
                m.get("file").and_then(Value::as_str).map(|f| dir.join(f)),
            ),
            _ => {
                return Err(format!(
                    "services.{name}.extends must be a service name or a mapping"
                ));
            }
        };
        let base = match file {
            None => self.extended(services, &base_name, dir, seen)?,
            Some(file) => {
                let other = self.read(&file)?;
                let mut base = other
                    .get("services")
                    .and_then(|s| s.get(base_name.as_str()))
                    .cloned()
                    .ok_or_else(|| {
                        format!(
                            "cannot extend service {base_name:?} of {}: no such service",
                            file.display()
                        )
                    })?;
                if let Value::Mapping(base) = &mut base {
                    absolutize(base, file.parent().unwrap_or(dir));
                }
                base
            }
        };
        let mut merged = match base {
            Value::Mapping(base) => Value::Mapping(base),
            _ => Value::Mapping(Mapping::new()),
        };
        let mut own = service;
        if let Value::Mapping(own) = &mut own {
            own.remove("extends");
        }
        merge(&mut merged, own, "service");
        Ok(merged)
    }
}

/// A string or a list of strings.
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Adds an included file's services, networks, volumes, secrets and configs.
fn add_resources(value: &mut Value, included: Value, file: &Path) -> Result<(), String> {
    let (Value::Mapping(target), Value::Mapping(included)) = (value, included) else {
        return Ok(());
    };
    for (section, entries) in included {
        let Value::Mapping(entries) = entries else {
            continue;
        };
        let Some(kind) = section
            .as_str()
            .filter(|s| ["services", "networks", "volumes", "secrets", "configs"].contains(s))
        else {
            continue;
        };
        let kind = kind.to_string();
        let existing = target
            .entry(section)
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        if existing.is_null() {
            *existing = Value::Mapping(Mapping::new());
        }
        let Value::Mapping(existing) = existing else {
            continue;
        };
        for (name, entry) in entries {
            if existing.contains_key(&name) {
                return Err(format!(
                    "imported compose file {} defines conflicting {} {}",
                    file.display(),
                    kind.trim_end_matches('s'),
                    name.as_str().unwrap_or_default()
                ));
            }
            existing.insert(name, entry);
        }
    }
    Ok(())
}

/// Every service's relative paths made absolute against `dir`.
fn absolutize_all(value: &mut Value, dir: &Path) {
    if let Some(Value::Mapping(services)) = value.get_mut("services") {
        for service in services.values_mut() {
            if let Value::Mapping(service) = service {
                absolutize(service, dir);
            }
        }
    }
}

/// A service's relative paths (build context, env files, bind mount sources) made absolute
/// against `dir`, the directory of the file that wrote them.
fn absolutize(service: &mut Mapping, dir: &Path) {
    let join = |path: &str| -> String {
        if path.starts_with('/') || path.starts_with('~') || path.contains("://") {
            path.to_string()
        } else if path == "." {
            dir.display().to_string()
        } else {
            dir.join(path.strip_prefix("./").unwrap_or(path))
                .display()
                .to_string()
        }
    };
    match service.get_mut("build") {
        Some(Value::String(context)) => *context = join(context),
        Some(Value::Mapping(build)) => {
            let context = build
                .get("context")
                .and_then(Value::as_str)
                .unwrap_or(".")
                .to_string();
            build.insert("context".into(), Value::String(join(&context)));
        }
        _ => {}
    }
    match service.get_mut("env_file") {
        Some(Value::String(file)) => *file = join(file),
        Some(Value::Sequence(files)) => {
            for file in files {
                if let Value::String(f) = file {
                    *f = join(f);
                }
            }
        }
        _ => {}
    }
    if let Some(Value::Sequence(volumes)) = service.get_mut("volumes") {
        for volume in volumes {
            match volume {
                Value::String(short) if short.starts_with('.') => {
                    let (source, rest) = short.split_once(':').unwrap_or((short.as_str(), ""));
                    *short = format!("{}:{rest}", join(source));
                }
                Value::Mapping(long)
                    if long.get("type").and_then(Value::as_str) == Some("bind") =>
                {
                    if let Some(Value::String(source)) = long.get_mut("source") {
                        *source = join(source);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Service keys the specification types as numbers, which interpolation leaves as text
/// (`scale: ${SCALE}`).
const NUMBERS: &[&str] = &[
    "scale",
    "pids_limit",
    "oom_score_adj",
    "mem_swappiness",
    "cpu_shares",
];

/// Service keys the specification types as booleans.
const BOOLEANS: &[&str] = &["init", "tty", "stdin_open", "read_only", "privileged"];

/// Numbers and booleans written as text (interpolated, or quoted) read as the
/// specification types them, as docker compose casts them.
fn coerce(value: &mut Value) {
    fn number(value: &mut Value) {
        if let Value::String(text) = value
            && let Ok(n) = text.trim().parse::<i64>()
        {
            *value = Value::Number(n.into());
        }
    }
    fn boolean(value: &mut Value) {
        if let Value::String(text) = value {
            match text.trim() {
                "true" | "True" | "TRUE" => *value = Value::Bool(true),
                "false" | "False" | "FALSE" => *value = Value::Bool(false),
                _ => {}
            }
        }
    }
    let Some(Value::Mapping(services)) = value.get_mut("services") else {
        return;
    };
    for service in services.values_mut() {
        let Value::Mapping(service) = service else {
            continue;
        };
        for key in NUMBERS {
            service.get_mut(*key).map(number);
        }
        for key in BOOLEANS {
            service.get_mut(*key).map(boolean);
        }
        if let Some(replicas) = service
            .get_mut("deploy")
            .and_then(|d| d.get_mut("replicas"))
        {
            number(replicas);
        }
        if let Some(retries) = service
            .get_mut("healthcheck")
            .and_then(|h| h.get_mut("retries"))
        {
            number(retries);
        }
        if let Some(Value::Sequence(ports)) = service.get_mut("ports") {
            for port in ports.iter_mut().filter_map(|p| p.get_mut("target")) {
                number(port);
            }
        }
    }
}

/// The list form of `environment`, `labels` and the like read as a mapping (`KEY` alone:
/// null), so that files merge them key by key.
fn normalize(value: &mut Value) {
    let Some(Value::Mapping(services)) = value.get_mut("services") else {
        return;
    };
    for service in services.values_mut() {
        let Value::Mapping(service) = service else {
            continue;
        };
        for key in ASSIGNMENTS {
            if let Some(list @ Value::Sequence(_)) = service.get_mut(*key) {
                *list = as_mapping(list);
            }
        }
        if let Some(Value::Mapping(build)) = service.get_mut("build") {
            for key in ["args", "labels"] {
                if let Some(list @ Value::Sequence(_)) = build.get_mut(key) {
                    *list = as_mapping(list);
                }
            }
        }
    }
}

fn as_mapping(list: &Value) -> Value {
    let mut map = Mapping::new();
    for item in list.as_sequence().into_iter().flatten() {
        let text = match item {
            Value::String(s) => s.clone(),
            other => yaml_serde::to_string(other)
                .unwrap_or_default()
                .trim()
                .to_string(),
        };
        match text.split_once('=') {
            Some((k, v)) => map.insert(k.into(), Value::String(v.to_string())),
            None => map.insert(text.into(), Value::Null),
        };
    }
    Value::Mapping(map)
}

/// Merges a later document into an earlier one. `context` says where: "" at the top,
/// "services" in the services mapping, "service" in one service.
fn merge(base: &mut Value, later: Value, context: &str) {
    match (base, later) {
        (Value::Mapping(base), Value::Mapping(later)) => {
            for (key, value) in later {
                let name = key.as_str().unwrap_or_default().to_string();
                match base.get_mut(&key) {
                    Some(existing) => {
                        let inner = match (context, name.as_str()) {
                            ("", "services") => "services",
                            ("services", _) => "service",
                            _ => "",
                        };
                        if context == "service" {
                            merge_service_key(existing, value, &name);
                        } else {
                            merge(existing, value, inner);
                        }
                    }
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, later) => *base = later,
    }
}

/// One key of a service, merged by Compose's rule for it.
fn merge_service_key(existing: &mut Value, later: Value, key: &str) {
    match (existing, later) {
        (Value::Sequence(base), Value::Sequence(later)) if APPENDED.contains(&key) => {
            for item in later {
                if !base.contains(&item) {
                    base.push(item);
                }
            }
        }
        // By the path in the container: a later mount of the same path replaces it.
        (Value::Sequence(base), Value::Sequence(later)) if key == "volumes" || key == "devices" => {
            for item in later {
                let target = mount_target(&item);
                match base
                    .iter_mut()
                    .find(|b| target.is_some() && mount_target(b) == target)
                {
                    Some(slot) => *slot = item,
                    None => base.push(item),
                }
            }
        }
        (existing @ Value::Mapping(_), later @ Value::Mapping(_)) => merge(existing, later, ""),
        (existing, later) => *existing = later,
    }
}

/// The container path of a `volumes` or `devices` entry.
fn mount_target(item: &Value) -> Option<String> {
    match item {
        Value::String(short) => {
            let parts: Vec<&str> = short.split(':').collect();
            Some(match parts.as_slice() {
                [one] => one.to_string(),
                [_, target, ..] => target.to_string(),
                [] => return None,
            })
        }
        Value::Mapping(long) => long
            .get("target")
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("skiff-assemble-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    fn read(files: &[PathBuf]) -> Result<Value, String> {
        let mut warnings = Vec::new();
        Reader::new(BTreeMap::new(), &mut warnings).read_all(files)
    }

    fn at<'v>(value: &'v Value, path: &str) -> &'v Value {
        path.split('.')
            .fold(value, |v, key| match key.parse::<usize>() {
                Ok(index) => &v[index],
                Err(_) => &v[key],
            })
    }

    #[test]
    fn interpolated_numbers_and_booleans_are_typed() {
        let d = dir(
            "coerce",
            &[(
                "compose.yaml",
                "services:\n  web:\n    scale: '${N}'\n    init: '${YES}'\n    deploy: {replicas: '3'}\n    ports: [{target: '80'}]\n    image: '${N}'\n",
            )],
        );
        let mut warnings = Vec::new();
        let environment = BTreeMap::from([
            ("N".to_string(), "2".to_string()),
            ("YES".into(), "true".into()),
        ]);
        let v = Reader::new(environment, &mut warnings)
            .read_all(&[d.join("compose.yaml")])
            .unwrap();
        assert_eq!(at(&v, "services.web.scale").as_i64(), Some(2));
        assert_eq!(at(&v, "services.web.init").as_bool(), Some(true));
        assert_eq!(at(&v, "services.web.deploy.replicas").as_i64(), Some(3));
        assert_eq!(at(&v, "services.web.ports.0.target").as_i64(), Some(80));
        // An image named by a number stays text.
        assert_eq!(at(&v, "services.web.image").as_str(), Some("2"));
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn later_files_merge_by_compose_rules() {
        let d = dir(
            "merge",
            &[
                (
                    "a.yaml",
                    "services:\n  web:\n    image: a\n    command: [a]\n    ports: ['80']\n    environment: [A=1, B=2]\n    volumes: ['./data:/data', 'logs:/logs']\n",
                ),
                (
                    "b.yaml",
                    "services:\n  web:\n    command: [b]\n    ports: ['443', '80']\n    environment: {B: 3}\n    volumes: ['other:/data']\n",
                ),
            ],
        );
        let v = read(&[d.join("a.yaml"), d.join("b.yaml")]).unwrap();
        let web = at(&v, "services.web");
        assert_eq!(yaml_serde::to_string(&web["command"]).unwrap(), "- b\n");
        assert_eq!(
            yaml_serde::to_string(&web["ports"]).unwrap(),
            "- '80'\n- '443'\n"
        );
        assert_eq!(
            yaml_serde::to_string(&web["environment"]).unwrap(),
            "A: '1'\nB: 3\n"
        );
        assert_eq!(
            yaml_serde::to_string(&web["volumes"]).unwrap(),
            "- other:/data\n- logs:/logs\n"
        );
    }

    #[test]
    fn extends_and_include_bring_services_with_their_own_paths() {
        let d = dir(
            "extends",
            &[
                (
                    "compose.yaml",
                    "include: [lib/db.yaml]\nservices:\n  base:\n    image: busybox\n    environment: {A: 1}\n  web:\n    extends: base\n    environment: {B: 2}\n  api:\n    extends: {file: common/svc.yaml, service: svc}\n    command: [api]\n",
                ),
                (
                    "common/svc.yaml",
                    "services:\n  svc:\n    build: ./ctx\n    env_file: svc.env\n    volumes: ['./state:/state']\n",
                ),
                (
                    "lib/db.yaml",
                    "services:\n  db:\n    build: .\nvolumes:\n  data: {}\n",
                ),
            ],
        );
        let v = read(&[d.join("compose.yaml")]).unwrap();
        assert_eq!(at(&v, "services.web.image").as_str(), Some("busybox"));
        assert_eq!(
            yaml_serde::to_string(at(&v, "services.web.environment")).unwrap(),
            "A: 1\nB: 2\n"
        );
        assert!(at(&v, "services.web.extends").is_null());
        let common = d.join("common");
        assert_eq!(
            at(&v, "services.api.build").as_str(),
            Some(common.join("ctx").to_str().unwrap())
        );
        assert_eq!(
            at(&v, "services.api.env_file").as_str(),
            Some(common.join("svc.env").to_str().unwrap())
        );
        assert_eq!(
            at(&v, "services.api.volumes.0").as_str().unwrap(),
            format!("{}:/state", common.join("state").display())
        );
        assert_eq!(
            at(&v, "services.db.build").as_str(),
            Some(d.join("lib").to_str().unwrap())
        );
        assert!(at(&v, "volumes.data").is_mapping());

        let bad = dir(
            "conflict",
            &[
                (
                    "compose.yaml",
                    "include: [other.yaml]\nservices:\n  db: {image: x}\n",
                ),
                ("other.yaml", "services:\n  db: {image: y}\n"),
                (
                    "loop.yaml",
                    "services:\n  a: {extends: b}\n  b: {extends: a}\n",
                ),
            ],
        );
        let error = read(&[bad.join("compose.yaml")]).unwrap_err();
        assert!(error.contains("defines conflicting service db"), "{error}");
        let error = read(&[bad.join("loop.yaml")]).unwrap_err();
        assert!(error.contains("circular reference"), "{error}");
        let _ = std::fs::remove_dir_all(d);
        let _ = std::fs::remove_dir_all(bad);
    }
}
