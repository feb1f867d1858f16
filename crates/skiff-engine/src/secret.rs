//! Secrets, as Podman's `secret` commands and `run --secret`: data kept apart from images and
//! container specs, in `<root>/secrets/<name>/` (`secret.json`, what `secret inspect` shows,
//! and `data`, readable by this user alone). A name is claimed by making its directory (atomic);
//! the record is written to a temporary file and renamed into place, so a secret exists once
//! its record does. A container names the secrets it uses in its spec; at each start they are
//! given to it as read-only files (under /run/secrets by default) or environment variables.
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use skiff_spec::{SecretTarget, SecretUse};

use crate::engine::Engine;
use crate::error::{EngineError, IoContext};

const RECORD: &str = "secret.json";
const DATA: &str = "data";
/// Podman's limit on a secret's size.
const MAX_SIZE: usize = 512_000;

/// What `secret create` asks for.
#[derive(Debug, Clone, Default)]
pub struct SecretCreate {
    pub name: String,
    pub data: Vec<u8>,
    pub labels: std::collections::BTreeMap<String, String>,
    /// `--driver`: only `file`.
    pub driver: Option<String>,
    /// `--replace`: a secret of that name is replaced (its ID kept).
    pub replace: bool,
}

/// A secret as `secret ls` and `secret inspect` show it (never its data).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecretReport {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SecretReport {
    /// The object `secret inspect` prints, as Podman's SecretInfoReport.
    pub fn inspect_json(&self) -> serde_json::Value {
        serde_json::json!({
            "ID": self.id,
            "CreatedAt": self.created_at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            "UpdatedAt": self.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            "Spec": {
                "Name": self.name,
                "Driver": {"Name": self.driver, "Options": {}},
                "Labels": self.labels,
            },
        })
    }
}

/// Podman's rule for a secret's name.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 253
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

impl Engine {
    fn secret_dir(&self) -> PathBuf {
        self.options.root.join("secrets")
    }

    /// `secret create`: returns the new secret's ID.
    pub fn create_secret(&self, request: &SecretCreate) -> Result<String, EngineError> {
        if let Some(driver) = request.driver.as_deref().filter(|d| *d != "file") {
            return Err(EngineError::InvalidArgument(format!(
                "secret driver {driver:?} is not supported: only the file driver is"
            )));
        }
        if !valid_name(&request.name) {
            return Err(EngineError::InvalidArgument(format!(
                "secret name {:?} must be 1 to 253 characters of letters, digits, '_', '.' or '-', starting with a letter or digit: invalid secret name",
                request.name
            )));
        }
        if request.data.is_empty() || request.data.len() >= MAX_SIZE {
            return Err(EngineError::InvalidArgument(format!(
                "secret data must be larger than 0 and less than {MAX_SIZE} bytes"
            )));
        }
        let base = self.secret_dir();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&base)
            .io("create", &base)?;
        let dir = base.join(&request.name);
        let now = Utc::now();
        let mut report = SecretReport {
            id: crate::names::random_id()[..25].to_string(),
            name: request.name.clone(),
            driver: "file".into(),
            labels: request.labels.clone(),
            created_at: now,
            updated_at: now,
        };
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                match self.secret(&request.name) {
                    Ok(existing) if request.replace => {
                        report.id = existing.id;
                        report.created_at = existing.created_at;
                    }
                    Ok(_) => {
                        return Err(EngineError::Conflict(format!(
                            "{}: secret name in use",
                            request.name
                        )));
                    }
                    // A create or remove that died half-way: this create starts it over.
                    Err(_) => {}
                }
            }
            Err(e) => return Err(e).io("create", &dir),
        }
        write_private(&dir.join(DATA), &request.data)?;
        let record = serde_json::to_vec_pretty(&report)?;
        write_private(&dir.join(RECORD), &record)?;
        Ok(report.id)
    }

    /// Every secret, oldest first.
    pub fn list_secrets(&self) -> Result<Vec<SecretReport>, EngineError> {
        let mut secrets = Vec::new();
        let Ok(entries) = fs::read_dir(self.secret_dir()) else {
            return Ok(secrets);
        };
        for entry in entries.flatten() {
            if let Some(report) = read_record(&entry.path()) {
                secrets.push(report);
            }
        }
        secrets.sort_by_key(|s| s.created_at);
        Ok(secrets)
    }

    /// A secret by name, full ID or unique ID prefix.
    pub fn secret(&self, name_or_id: &str) -> Result<SecretReport, EngineError> {
        if valid_name(name_or_id)
            && let Some(report) = read_record(&self.secret_dir().join(name_or_id))
        {
            return Ok(report);
        }
        let found: Vec<SecretReport> = self
            .list_secrets()?
            .into_iter()
            .filter(|s| !name_or_id.is_empty() && s.id.starts_with(name_or_id))
            .collect();
        match found.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(EngineError::NoSuchSecret(name_or_id.to_string())),
        }
    }

    /// `secret rm`: refused while a container uses it (as Podman). Returns its ID.
    pub fn remove_secret(&self, name_or_id: &str) -> Result<String, EngineError> {
        let secret = self.secret(name_or_id)?;
        for container in self.containers.list()? {
            if container.spec.secrets.iter().any(|s| s.name == secret.name) {
                return Err(EngineError::Conflict(format!(
                    "secret {} is in use by container {}",
                    secret.name, container.name
                )));
            }
        }
        let dir = self.secret_dir().join(&secret.name);
        fs::remove_file(dir.join(RECORD)).io("remove", dir.join(RECORD))?;
        fs::remove_dir_all(&dir).io("remove", &dir)?;
        Ok(secret.id)
    }

    /// At create: each `--secret` names a secret that exists.
    pub(crate) fn check_secrets(&self, uses: &[SecretUse]) -> Result<(), EngineError> {
        for secret in uses {
            self.secret(&secret.name)?;
        }
        Ok(())
    }

    /// At start, in the starting child: the container's secrets as files under its userdata
    /// directory (each with the mode and owner asked for) to bind read-only at their targets,
    /// and as `NAME=VALUE` environment entries.
    pub(crate) fn secret_files(
        &self,
        id: &str,
        uses: &[SecretUse],
    ) -> Result<GivenSecrets, EngineError> {
        let mut given = GivenSecrets::default();
        if uses.is_empty() {
            return Ok(given);
        }
        let dir = self.userdata_dir(id).join("secrets");
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .io("create", &dir)?;
        for secret in uses {
            let data_path = self.secret_dir().join(&secret.name).join(DATA);
            let data =
                fs::read(&data_path).map_err(|_| EngineError::NoSuchSecret(secret.name.clone()))?;
            match &secret.target {
                SecretTarget::Env(variable) => {
                    given
                        .env
                        .push(format!("{variable}={}", String::from_utf8_lossy(&data)));
                }
                SecretTarget::File(destination) => {
                    let path = dir.join(&secret.name);
                    let _ = fs::remove_file(&path);
                    write_private(&path, &data)?;
                    fs::set_permissions(&path, fs::Permissions::from_mode(secret.mode))
                        .io("chmod", &path)?;
                    if secret.uid != 0 || secret.gid != 0 {
                        std::os::unix::fs::chown(&path, Some(secret.uid), Some(secret.gid))
                            .io("chown", &path)?;
                    }
                    given.files.push((path, destination.clone()));
                }
            }
        }
        Ok(given)
    }
}

/// A container's secrets at a start: (host file, path in the container) pairs to bind, and
/// environment entries.
#[derive(Debug, Default)]
pub(crate) struct GivenSecrets {
    pub files: Vec<(PathBuf, String)>,
    pub env: Vec<String>,
}

fn read_record(dir: &Path) -> Option<SecretReport> {
    serde_json::from_slice(&fs::read(dir.join(RECORD)).ok()?).ok()
}

/// Writes a file only this user may read, through a temporary file renamed into place.
fn write_private(path: &Path, data: &[u8]) -> Result<(), EngineError> {
    let temporary = path.with_extension("tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .io("create", &temporary)?;
    file.write_all(data).io("write", &temporary)?;
    fs::rename(&temporary, path).io("rename", path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_podman() {
        assert!(valid_name("db-password.v1"));
        assert!(valid_name("a"));
        assert!(!valid_name(""));
        assert!(!valid_name("-x"));
        assert!(!valid_name("a/b"));
        assert!(!valid_name(&"a".repeat(254)));
    }
}
