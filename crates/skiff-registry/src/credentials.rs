//! Registry credentials in the file format Podman and Docker share:
//! `{"auths": {"registry:port": {"auth": base64("user:password")}}}`. `login` writes the primary
//! file (atomically, mode 0600); lookups also read the fallbacks users already have, such as
//! `~/.docker/config.json`.
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use crate::error::RegistryError;

#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, <redacted>)", self.username)
    }
}

/// The primary credentials file and the read-only fallbacks consulted after it.
#[derive(Debug, Clone)]
pub struct AuthFile {
    pub path: PathBuf,
    pub fallbacks: Vec<PathBuf>,
}

impl AuthFile {
    /// Credentials for `registry`, from the first file that has them.
    pub fn get(&self, registry: &str) -> Result<Option<Credentials>, RegistryError> {
        for path in std::iter::once(&self.path).chain(&self.fallbacks) {
            let document = read_document(path)?;
            // A helper named for this registry (or for every one) answers first, as Docker's.
            let helper = document
                .get("credHelpers")
                .and_then(|h| {
                    h.as_object()?
                        .iter()
                        .find(|(k, _)| registry_of_key(k) == registry)
                })
                .map(|(_, name)| name)
                .or_else(|| document.get("credsStore"))
                .map(|name| {
                    name.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| RegistryError::AuthFile {
                            path: path.display().to_string(),
                            detail: "a credential helper's name is not a string".into(),
                        })
                })
                .transpose()?;
            if let Some(helper) = helper
                && let Some(credentials) = from_helper(path, &helper, registry)?
            {
                return Ok(Some(credentials));
            }
            let auths = auths_of(path, &document)?;
            for (key, entry) in &auths {
                if registry_of_key(key) == registry
                    && let Some(credentials) = decode_entry(path, entry)?
                {
                    return Ok(Some(credentials));
                }
            }
        }
        Ok(None)
    }

    /// Stores credentials for `registry` in the primary file.
    pub fn set(&self, registry: &str, credentials: &Credentials) -> Result<(), RegistryError> {
        let encoded = STANDARD.encode(format!("{}:{}", credentials.username, credentials.password));
        self.update(|auths| {
            auths.insert(registry.to_string(), json!({ "auth": encoded }));
        })
    }

    /// Removes the credentials for `registry` from the primary file; false if it had none.
    pub fn remove(&self, registry: &str) -> Result<bool, RegistryError> {
        let mut removed = false;
        self.update(|auths| {
            let before = auths.len();
            auths.retain(|key, _| registry_of_key(key) != registry);
            removed = auths.len() != before;
        })?;
        Ok(removed)
    }

    /// Removes every credential from the primary file.
    pub fn clear(&self) -> Result<(), RegistryError> {
        self.update(Map::clear)
    }

    fn update(&self, change: impl FnOnce(&mut Map<String, Value>)) -> Result<(), RegistryError> {
        let error = |detail: String| RegistryError::AuthFile {
            path: self.path.display().to_string(),
            detail,
        };
        let mut document = match fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice::<Value>(&bytes)
                .map_err(|e| error(format!("invalid JSON: {e}")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({}),
            Err(e) => return Err(error(e.to_string())),
        };
        let root = document
            .as_object_mut()
            .ok_or_else(|| error("not a JSON object".into()))?;
        let auths = root.entry("auths").or_insert_with(|| json!({}));
        let auths = auths
            .as_object_mut()
            .ok_or_else(|| error("\"auths\" is not an object".into()))?;
        change(auths);
        let bytes = serde_json::to_vec_pretty(&document).map_err(|e| error(e.to_string()))?;
        write_private_atomically(&self.path, &bytes).map_err(|e| error(e.to_string()))
    }
}

/// A credentials file as JSON (an empty object where there is no file).
fn read_document(path: &Path) -> Result<Value, RegistryError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(json!({})),
        Err(e) => {
            return Err(RegistryError::AuthFile {
                path: path.display().to_string(),
                detail: e.to_string(),
            });
        }
    };
    serde_json::from_slice(&bytes).map_err(|e| RegistryError::AuthFile {
        path: path.display().to_string(),
        detail: format!("invalid JSON: {e}"),
    })
}

/// The `auths` object, each entry checked to be an object whose `auth` (if any) is a string:
/// an entry of the wrong type is an error, not an anonymous pull.
fn auths_of(path: &Path, document: &Value) -> Result<Map<String, Value>, RegistryError> {
    let invalid = |detail: String| RegistryError::AuthFile {
        path: path.display().to_string(),
        detail,
    };
    let auths = match document.get("auths") {
        None | Some(Value::Null) => return Ok(Map::new()),
        Some(Value::Object(auths)) => auths,
        Some(_) => return Err(invalid("\"auths\" is not an object".into())),
    };
    for (key, entry) in auths {
        match entry {
            Value::Object(fields) if fields.get("auth").is_none_or(Value::is_string) => {}
            _ => {
                return Err(invalid(format!(
                    "the entry for {key:?} is not an object with a string \"auth\""
                )));
            }
        }
    }
    Ok(auths.clone())
}

/// Asks `docker-credential-NAME get` (Docker's credential helper protocol) for the registry's
/// credentials; a helper that is not installed is an error naming it.
fn from_helper(
    path: &Path,
    name: &str,
    registry: &str,
) -> Result<Option<Credentials>, RegistryError> {
    use std::process::{Command, Stdio};
    let program = format!("docker-credential-{name}");
    let failed = |detail: String| RegistryError::AuthFile {
        path: path.display().to_string(),
        detail: format!("credential helper {program}: {detail}"),
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(registry.as_bytes());
    }
    let output = child
        .wait_with_output()
        .map_err(|e| failed(e.to_string()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        // The protocol's answer for a registry the helper has nothing for.
        if text.contains("credentials not found") {
            return Ok(None);
        }
        return Err(failed(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ));
    }
    let answer: Value =
        serde_json::from_str(&text).map_err(|e| failed(format!("invalid answer: {e}")))?;
    match (
        answer.get("Username").and_then(Value::as_str),
        answer.get("Secret").and_then(Value::as_str),
    ) {
        (Some(username), Some(password)) => Ok(Some(Credentials {
            username: username.to_string(),
            password: password.to_string(),
        })),
        _ => Err(failed("the answer lacks Username or Secret".into())),
    }
}

fn decode_entry(path: &Path, entry: &Value) -> Result<Option<Credentials>, RegistryError> {
    let Some(auth) = entry.get("auth").and_then(Value::as_str) else {
        return Ok(None);
    };
    let bad = || RegistryError::AuthFile {
        path: path.display().to_string(),
        detail: "an \"auth\" entry is not base64 of user:password".into(),
    };
    let decoded = STANDARD.decode(auth.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (username, password) = decoded.split_once(':').ok_or_else(bad)?;
    Ok(Some(Credentials {
        username: username.to_string(),
        password: password.to_string(),
    }))
}

/// The registry a credentials key or a `login` argument names: `host`, `host/repo`,
/// `https://host/v2/`, and Docker Hub's `https://index.docker.io/v1/` all reduce to the host
/// (`docker.io` for Docker Hub).
pub fn registry_of_key(key: &str) -> &str {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = key.split('/').next().unwrap_or(key);
    if host == "index.docker.io" || host == "registry-1.docker.io" {
        "docker.io"
    } else {
        host
    }
}

/// Writes a 0600 file by rename, so a crash leaves the old or the new file, never half of one.
fn write_private_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_remove_round_trip_and_fallbacks_are_read() {
        let dir = std::env::temp_dir().join(format!("skiff-auth-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let docker = dir.join("config.json");
        fs::write(
            &docker,
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"ZG9jazpwdw=="}}}"#,
        )
        .unwrap();
        let file = AuthFile {
            path: dir.join("auth.json"),
            fallbacks: vec![docker],
        };
        let creds = Credentials {
            username: "u".into(),
            password: "p:w".into(),
        };
        file.set("127.0.0.1:5001", &creds).unwrap();
        assert_eq!(file.get("127.0.0.1:5001").unwrap(), Some(creds));
        assert_eq!(file.get("docker.io").unwrap().unwrap().username, "dock");
        assert_eq!(file.get("quay.io").unwrap(), None);
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&file.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(file.remove("127.0.0.1:5001").unwrap());
        assert!(!file.remove("127.0.0.1:5001").unwrap());
        assert_eq!(file.get("127.0.0.1:5001").unwrap(), None);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn entries_of_the_wrong_type_and_missing_helpers_are_errors() {
        let dir = std::env::temp_dir().join(format!("skiff-auth-bad-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let file = AuthFile {
            path: dir.join("auth.json"),
            fallbacks: Vec::new(),
        };
        for (text, needle) in [
            (r#"{"auths": []}"#, "\"auths\" is not an object"),
            (r#"{"auths": {"r.io": "x"}}"#, "\"r.io\""),
            (r#"{"auths": {"r.io": {"auth": 5}}}"#, "\"r.io\""),
            (
                r#"{"credHelpers": {"r.io": "skiff-no-such-helper"}}"#,
                "docker-credential-skiff-no-such-helper",
            ),
            (
                r#"{"credsStore": "skiff-no-such-helper"}"#,
                "docker-credential-skiff-no-such-helper",
            ),
        ] {
            fs::write(&file.path, text).unwrap();
            let err = file.get("r.io").unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}

/// A credentials file of any content gives credentials, nothing or an error: never a panic.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[A-Za-z0-9+/=:]{0,16}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map(
                    "(auths|auth|r\\.io|credHelpers|[a-z]{1,3})",
                    inner,
                    0..3
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn any_document_is_read_or_refused(document in json(), raw in prop::collection::vec(any::<u8>(), 0..64)) {
            let dir = std::env::temp_dir().join(format!("skiff-auth-prop-{}", std::process::id()));
            fs::create_dir_all(&dir).unwrap();
            let file = AuthFile { path: dir.join("auth.json"), fallbacks: Vec::new() };
            // Helpers are not run here: the property is about reading the file.
            let mut document = document;
            if let Some(object) = document.as_object_mut() {
                object.remove("credHelpers");
                object.remove("credsStore");
            }
            fs::write(&file.path, document.to_string()).unwrap();
            let _ = file.get("r.io");
            fs::write(&file.path, &raw).unwrap();
            let _ = file.get("r.io");
        }
    }
}
