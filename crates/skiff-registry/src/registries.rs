//! `registries.conf` (containers-registries.conf(5), version 2), the file Podman users already
//! have: where short names are searched, short-name aliases, and per-registry `insecure`,
//! `blocked` and `mirror` settings.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::RegistryError;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct File {
    #[serde(default)]
    unqualified_search_registries: Option<Vec<String>>,
    #[serde(default)]
    registry: Vec<RegistryEntry>,
    #[serde(default)]
    aliases: BTreeMap<String, String>,
    #[serde(default)]
    short_name_mode: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Mirror {
    pub location: String,
    #[serde(default)]
    pub insecure: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RegistryEntry {
    /// `host[:port][/namespace]`; also accepted as `prefix`.
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub insecure: bool,
    #[serde(default)]
    pub blocked: bool,
    #[serde(default)]
    pub mirror: Vec<Mirror>,
}

/// The merged configuration and the file it came from (named in errors).
#[derive(Debug, Clone, Default)]
pub struct RegistriesConf {
    pub path: PathBuf,
    pub search: Vec<String>,
    pub registries: Vec<RegistryEntry>,
    pub aliases: BTreeMap<String, String>,
}

/// Where a short name leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShortName {
    /// An alias names the one full image.
    Alias(String),
    /// Try each of these full names in order.
    Candidates(Vec<String>),
}

impl RegistriesConf {
    /// Reads `main` (if present) and then every `*.conf` in `drop_in_dir`, later files winning,
    /// as containers/image does.
    pub fn load(main: &Path, drop_in_dir: &Path) -> Result<Self, RegistryError> {
        let mut conf = RegistriesConf {
            path: main.to_path_buf(),
            ..Default::default()
        };
        let mut files = vec![main.to_path_buf()];
        if let Ok(entries) = std::fs::read_dir(drop_in_dir) {
            let mut drop_ins: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "conf"))
                .collect();
            drop_ins.sort();
            files.extend(drop_ins);
        }
        for path in files {
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(RegistryError::RegistriesConf {
                        path: path.display().to_string(),
                        detail: e.to_string(),
                    });
                }
            };
            let file: File = toml::from_str(&text).map_err(|e| RegistryError::RegistriesConf {
                path: path.display().to_string(),
                detail: e.message().to_string(),
            })?;
            let invalid = |detail: String| RegistryError::RegistriesConf {
                path: path.display().to_string(),
                detail,
            };
            if let Some(mode) = &file.short_name_mode
                && !matches!(mode.as_str(), "enforcing" | "permissive" | "disabled")
            {
                return Err(invalid(format!(
                    "invalid short-name-mode {mode:?} (expected enforcing, permissive or disabled)"
                )));
            }
            if file
                .registry
                .iter()
                .any(|e| e.location.is_empty() && e.prefix.as_deref().unwrap_or("").is_empty())
            {
                return Err(invalid(
                    "a [[registry]] table has neither location nor prefix".into(),
                ));
            }
            if let Some(search) = file.unqualified_search_registries {
                conf.search = search;
            }
            for mut entry in file.registry {
                if entry.location.is_empty() {
                    entry.location = entry.prefix.clone().unwrap_or_default();
                }
                conf.registries.retain(|e| e.location != entry.location);
                conf.registries.push(entry);
            }
            conf.aliases.extend(file.aliases);
        }
        Ok(conf)
    }

    /// The `[[registry]]` entry for `registry/repository`: the longest matching location.
    pub fn entry(&self, registry: &str, repository: &str) -> Option<&RegistryEntry> {
        let full = format!("{registry}/{repository}");
        self.registries
            .iter()
            .filter(|e| {
                let location = e.location.trim_end_matches('/');
                full == location
                    || full.starts_with(&format!("{location}/"))
                    || registry == location
            })
            .max_by_key(|e| e.location.len())
    }

    /// Expands a short name (`busybox`, `library/busybox:1`): an alias, else one candidate per
    /// search registry. An error names the file to edit when neither exists.
    pub fn resolve_short_name(&self, short: &str) -> Result<ShortName, RegistryError> {
        let (name, tag) = split_tag(short);
        if let Some(target) = self.aliases.get(name) {
            return Ok(ShortName::Alias(format!("{target}{tag}")));
        }
        if self.search.is_empty() {
            return Err(RegistryError::ShortName {
                name: short.to_string(),
                path: self.path.display().to_string(),
            });
        }
        Ok(ShortName::Candidates(
            self.search.iter().map(|r| format!("{r}/{short}")).collect(),
        ))
    }
}

/// `name:tag` → (`name`, `:tag`); digests stay with the tag part.
fn split_tag(short: &str) -> (&str, &str) {
    let cut = short
        .find('@')
        .or_else(|| short.rfind(':').filter(|&i| !short[i..].contains('/')))
        .unwrap_or(short.len());
    (&short[..cut], &short[cut..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_modes_and_entries_without_location_are_refused() {
        let dir = std::env::temp_dir().join(format!("skiff-regconf-bad-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("registries.conf");
        for (text, needle) in [
            ("short-name-mode = \"sometimes\"\n", "short-name-mode"),
            (
                "[[registry]]\ninsecure = true\n",
                "neither location nor prefix",
            ),
        ] {
            std::fs::write(&file, text).unwrap();
            let err = RegistriesConf::load(&file, &dir.join("d"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(needle) && err.contains("registries.conf"),
                "{err}"
            );
        }
        std::fs::write(&file, "short-name-mode = \"enforcing\"\n").unwrap();
        assert!(RegistriesConf::load(&file, &dir.join("d")).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn search_aliases_and_entries_merge_from_drop_ins() {
        let dir = std::env::temp_dir().join(format!("skiff-regconf-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("d")).unwrap();
        std::fs::write(
            dir.join("registries.conf"),
            r#"
unqualified-search-registries = ["docker.io"]
[[registry]]
location = "127.0.0.1:5000"
insecure = true
[aliases]
"fedora" = "registry.fedoraproject.org/fedora"
"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("d/10-local.conf"),
            r#"
unqualified-search-registries = ["127.0.0.1:5000", "quay.io"]
[[registry]]
location = "127.0.0.1:5000/private"
blocked = true
"#,
        )
        .unwrap();
        let conf = RegistriesConf::load(&dir.join("registries.conf"), &dir.join("d")).unwrap();
        assert_eq!(
            conf.resolve_short_name("busybox:1").unwrap(),
            ShortName::Candidates(vec![
                "127.0.0.1:5000/busybox:1".into(),
                "quay.io/busybox:1".into()
            ])
        );
        assert_eq!(
            conf.resolve_short_name("fedora:39").unwrap(),
            ShortName::Alias("registry.fedoraproject.org/fedora:39".into())
        );
        assert!(conf.entry("127.0.0.1:5000", "app").unwrap().insecure);
        assert!(conf.entry("127.0.0.1:5000", "private/x").unwrap().blocked);
        assert!(conf.entry("quay.io", "x").is_none());
        std::fs::write(
            dir.join("d/20-bad.conf"),
            "unqualified-search-registries = 3",
        )
        .unwrap();
        let err = RegistriesConf::load(&dir.join("registries.conf"), &dir.join("d"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("20-bad.conf"), "{err}");
        let empty = RegistriesConf::default();
        assert!(empty.resolve_short_name("busybox").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// A registries.conf of any content is read or refused with an error, never a panic.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_file_is_read_or_refused(
            text in "(\\[\\[registry\\]\\]\n|location = \"[a-z./:]{0,12}\"\n|prefix = \"[a-z./*]{0,8}\"\n|short-name-mode = \"[a-z]{0,10}\"\n|unqualified-search-registries = \\[\"[a-z.]{0,8}\"\\]\n|\\[aliases\\]\n|\"[a-z]{1,5}\" = \"[a-z./]{0,10}\"\n|\\PC{0,12}\n){0,8}",
            short in "\\PC{0,30}",
        ) {
            let dir = std::env::temp_dir().join(format!("skiff-regconf-prop-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join("registries.conf");
            std::fs::write(&file, &text).unwrap();
            if let Ok(conf) = RegistriesConf::load(&file, &dir.join("d")) {
                let _ = conf.resolve_short_name(&short);
                let _ = conf.entry(&short, &short);
            }
        }
    }
}
