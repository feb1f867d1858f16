//! A Compose project loaded as `docker compose` loads one: the files (`-f`, `COMPOSE_FILE`, or
//! `compose.yaml` and its older names looked up from the working directory upwards), merged in
//! order, YAML merge keys applied, `${VAR}` interpolated from the environment and the project's
//! `.env`, profiles applied, and the project's name.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use skiff_engine::EngineError;

use crate::assemble::Reader;
use crate::model::ComposeFile;

/// The files Compose looks for, in its order of preference.
pub const FILE_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// `docker compose` global options, in its words.
#[derive(Debug, Clone, Default)]
pub struct ProjectOptions {
    /// `-f`: the files, in order (later ones override earlier ones).
    pub files: Vec<PathBuf>,
    /// `-p`.
    pub name: Option<String>,
    /// `--project-directory`.
    pub directory: Option<PathBuf>,
    /// `--env-file` (in place of the project's `.env`).
    pub env_files: Vec<PathBuf>,
    /// `--profile`.
    pub profiles: Vec<String>,
    /// Where relative paths and the file lookup start (the working directory).
    pub working_dir: PathBuf,
    /// Where secrets and configs given by value (`environment`, `content`) are written for
    /// the containers to mount: the engine's run directory (default: the system's temporary
    /// directory).
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    pub directory: PathBuf,
    pub files: Vec<PathBuf>,
    pub file: ComposeFile,
    /// Every service the files define, the ones of profiles not enabled too (their
    /// containers are not orphans).
    pub all_services: BTreeSet<String>,
    /// Where this project's secrets and configs given by value are written.
    pub state_dir: PathBuf,
    /// Unset variables, keys skiff does not act on: each names where.
    pub warnings: Vec<String>,
}

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::InvalidArgument(message.into())
}

/// Keys of a Compose file that change nothing for skiff (the obsolete `version`, extension
/// fields, and keys only a swarm or a build reads).
fn benign(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    path == "version"
        || last.starts_with("x-")
        || path.starts_with("x-")
        || path.contains(".deploy.")
}

impl Project {
    pub fn load(options: &ProjectOptions) -> Result<Self, EngineError> {
        let files = if !options.files.is_empty() {
            options
                .files
                .iter()
                .map(|f| options.working_dir.join(f))
                .collect()
        } else if let Some(list) = std::env::var("COMPOSE_FILE").ok().filter(|v| !v.is_empty()) {
            list.split(':')
                .map(|f| options.working_dir.join(f))
                .collect()
        } else {
            vec![find_file(&options.working_dir)?]
        };
        let directory = match &options.directory {
            Some(dir) => options.working_dir.join(dir),
            None => files[0]
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| options.working_dir.clone()),
        };
        let environment = environment(&directory, &options.env_files)?;
        let mut warnings = Vec::new();
        let merged = Reader::new(environment, &mut warnings)
            .read_all(&files)
            .map_err(invalid)?;
        let mut ignored = Vec::new();
        let mut file: ComposeFile =
            serde_ignored::deserialize(merged, |path| ignored.push(path.to_string()))
                .map_err(|e: yaml_serde::Error| invalid(format!("{}: {e}", files[0].display())))?;
        for path in ignored.into_iter().filter(|p| !benign(p)) {
            warnings.push(format!("{path}: not supported by skiff compose, ignored"));
        }
        let profiles: Vec<String> = if options.profiles.is_empty() {
            std::env::var("COMPOSE_PROFILES")
                .unwrap_or_default()
                .split(',')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect()
        } else {
            options.profiles.clone()
        };
        let all_services = file.services.keys().cloned().collect();
        file.services.retain(|_, service| {
            service.profiles.is_empty() || service.profiles.iter().any(|p| profiles.contains(p))
        });
        let name = options
            .name
            .clone()
            .or_else(|| {
                std::env::var("COMPOSE_PROJECT_NAME")
                    .ok()
                    .filter(|v| !v.is_empty())
            })
            .or_else(|| file.name.clone())
            .unwrap_or_else(|| {
                directory
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
        let name = normalize_name(&name)
            .ok_or_else(|| invalid(format!("invalid project name {name:?}: use lowercase letters, digits, dashes and underscores, starting with a letter or digit")))?;
        if file.services.is_empty() {
            return Err(invalid("no service selected: the project has no services"));
        }
        Ok(Self {
            state_dir: options
                .state_dir
                .clone()
                .unwrap_or_else(std::env::temp_dir)
                .join("compose")
                .join(&name),
            name,
            directory,
            files,
            file,
            all_services,
            warnings,
        })
    }
}

/// The nearest Compose file from `dir` upwards.
fn find_file(dir: &Path) -> Result<PathBuf, EngineError> {
    let mut current = Some(dir);
    while let Some(dir) = current {
        for name in FILE_NAMES {
            let path = dir.join(name);
            if path.is_file() {
                return Ok(path);
            }
        }
        current = dir.parent();
    }
    Err(invalid(
        "no configuration file provided: not found (compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml)",
    ))
}

/// Compose's project name: lowercase, letters, digits, `-` and `_`, a letter or digit first.
fn normalize_name(name: &str) -> Option<String> {
    let name: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    name.starts_with(|c: char| c.is_ascii_alphanumeric())
        .then_some(name)
}

/// The variables interpolation sees: the `.env` file's (or `--env-file`'s), with the process's
/// own taking precedence.
pub(crate) fn environment(
    dir: &Path,
    env_files: &[PathBuf],
) -> Result<BTreeMap<String, String>, EngineError> {
    let mut variables = BTreeMap::new();
    let files: Vec<PathBuf> = if env_files.is_empty() {
        vec![dir.join(".env")]
    } else {
        env_files.to_vec()
    };
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && env_files.is_empty() => continue,
            Err(e) => return Err(invalid(format!("{}: {e}", file.display()))),
        };
        variables.extend(parse_env_file(&text));
    }
    variables.extend(std::env::vars());
    Ok(variables)
}

/// `KEY=VALUE` lines (`#` comments, `export `, quotes around the value).
pub fn parse_env_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|line| {
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (key, value) = line.split_once('=')?;
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            Some((key.trim().to_string(), value.to_string()))
        })
        .collect()
}

/// Interpolates every string of the document (keys are left as they are).
pub(crate) fn interpolate(
    value: &mut yaml_serde::Value,
    variables: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    match value {
        yaml_serde::Value::String(text) => *text = substitute(text, variables, warnings)?,
        yaml_serde::Value::Sequence(items) => {
            for item in items {
                interpolate(item, variables, warnings)?;
            }
        }
        yaml_serde::Value::Mapping(map) => {
            for (_, item) in map.iter_mut() {
                interpolate(item, variables, warnings)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
/// `${VAR?error}`, `${VAR:+other}`, `${VAR+other}`, as Compose reads them.
pub fn substitute(
    text: &str,
    variables: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        if let Some(body) = rest.strip_prefix('{') {
            let end = closing_brace(body)
                .ok_or_else(|| format!("invalid interpolation format for {text:?}: missing }}"))?;
            out.push_str(&expand(&body[..end], variables, warnings)?);
            rest = &body[end + 1..];
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            out.push('$');
            continue;
        }
        out.push_str(&expand(&rest[..end], variables, warnings)?);
        rest = &rest[end..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Where the `}` closing a `${` is, nested `${...}` skipped.
fn closing_brace(body: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = body.as_bytes();
    for (index, byte) in bytes.iter().enumerate() {
        match byte {
            b'{' if index > 0 && bytes[index - 1] == b'$' => depth += 1,
            b'}' if depth == 0 => return Some(index),
            b'}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn expand(
    expression: &str,
    variables: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<String, String> {
    let split = expression
        .find([':', '-', '?', '+'])
        .unwrap_or(expression.len());
    let (name, operator) = expression.split_at(split);
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "invalid interpolation format for ${{{expression}}}"
        ));
    }
    let value = variables.get(name);
    let set = value.is_some();
    let non_empty = value.is_some_and(|v| !v.is_empty());
    let (strict, operator) = match operator.strip_prefix(':') {
        Some(rest) => (true, rest),
        None => (false, operator),
    };
    let present = if strict { non_empty } else { set };
    let mut chars = operator.chars();
    let kind = chars.next();
    let argument = chars.as_str();
    match kind {
        None => match value {
            Some(value) => Ok(value.clone()),
            None => {
                warnings.push(format!(
                    "The {name:?} variable is not set. Defaulting to a blank string."
                ));
                Ok(String::new())
            }
        },
        Some('-') if present => Ok(value.cloned().unwrap_or_default()),
        Some('-') => substitute(argument, variables, warnings),
        Some('?') if present => Ok(value.cloned().unwrap_or_default()),
        Some('?') => Err(format!(
            "required variable {name} is missing a value: {argument}"
        )),
        Some('+') if present => substitute(argument, variables, warnings),
        Some('+') => Ok(String::new()),
        _ => Err(format!(
            "invalid interpolation format for ${{{expression}}}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_reads_as_compose_does() {
        let variables = BTreeMap::from([
            ("SET".to_string(), "yes".to_string()),
            ("EMPTY".to_string(), String::new()),
        ]);
        let mut warnings = Vec::new();
        let mut sub = |text: &str| substitute(text, &variables, &mut warnings);
        assert_eq!(sub("$SET ${SET} $$SET").unwrap(), "yes yes $SET");
        assert_eq!(sub("${EMPTY:-d} ${EMPTY-d} ${UNSET-d}").unwrap(), "d  d");
        assert_eq!(sub("${SET:+alt} ${UNSET+alt}.").unwrap(), "alt .");
        assert_eq!(sub("${UNSET:-${SET}}").unwrap(), "yes");
        assert!(
            sub("${UNSET:?needed here}")
                .unwrap_err()
                .contains("needed here")
        );
        assert!(sub("${SET").is_err());
        assert_eq!(sub("cost: 5$").unwrap(), "cost: 5$");
        assert_eq!(sub("$UNSET").unwrap(), "");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn env_files_and_names() {
        assert_eq!(
            parse_env_file("# c\nA=1\nexport B=\"two words\"\nC='x'\nbad line\n"),
            [
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), "two words".to_string()),
                ("C".to_string(), "x".to_string())
            ]
        );
        assert_eq!(normalize_name("My.Project").as_deref(), Some("myproject"));
        assert_eq!(normalize_name("_x"), None);
    }
}
