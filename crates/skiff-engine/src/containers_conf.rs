//! containers.conf, the part skiff reads: the `[containers]` keys for a container's
//! /etc/resolv.conf and /etc/hosts (`dns_servers`, `dns_searches`, `dns_options`,
//! `base_hosts_file`, `host_containers_internal_ip`). $CONTAINERS_CONF alone when set; else
//! /usr/share/containers/containers.conf, /etc/containers/containers.conf and, rootless, the
//! user's ~/.config/containers/containers.conf, a later file's keys over an earlier's, as
//! Podman reads them. Other keys are left to Podman.
use std::path::{Path, PathBuf};

use crate::environment::{self, var};
use crate::error::EngineError;

/// The `[containers]` keys skiff applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct ContainersConf {
    pub dns_servers: Vec<String>,
    pub dns_searches: Vec<String>,
    pub dns_options: Vec<String>,
    /// A hosts file whose entries open every container's /etc/hosts.
    pub base_hosts_file: Option<String>,
    /// The address `host.containers.internal` names in /etc/hosts.
    pub host_containers_internal_ip: Option<String>,
    /// `[engine] events_logfile_path`: where the file events backend writes.
    #[serde(skip)]
    pub events_logfile_path: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct File {
    containers: ContainersConf,
    engine: EngineTable,
}

/// The `[engine]` keys skiff applies.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct EngineTable {
    events_logfile_path: Option<String>,
}

impl ContainersConf {
    /// The files in force for this user, merged.
    pub fn load(rootless: bool) -> Result<Self, EngineError> {
        let files: Vec<PathBuf> = match var(environment::CONTAINERS_CONF) {
            Some(path) => vec![PathBuf::from(path)],
            None => {
                let mut files = vec![
                    PathBuf::from("/usr/share/containers/containers.conf"),
                    PathBuf::from("/etc/containers/containers.conf"),
                ];
                if rootless
                    && let Some(config) = var(environment::XDG_CONFIG_HOME)
                        .map(PathBuf::from)
                        .or_else(|| var(environment::HOME).map(|h| Path::new(&h).join(".config")))
                {
                    files.push(config.join("containers/containers.conf"));
                }
                files
            }
        };
        let mut merged = ContainersConf::default();
        for path in files {
            crate::trace!(
                "Reading configuration file {:?}",
                path.display().to_string()
            );
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            crate::debug!("Merged system config {:?}", path.display().to_string());
            merged.merge(Self::parse(&text).map_err(|why| {
                EngineError::InvalidArgument(format!("{}: {why}", path.display()))
            })?);
        }
        Ok(merged)
    }

    fn parse(text: &str) -> Result<Self, String> {
        let mut conf = toml::from_str::<File>(text)
            .map(|file| ContainersConf {
                events_logfile_path: file.engine.events_logfile_path,
                ..file.containers
            })
            .map_err(|e| e.message().to_string())?;
        // "" is unset; `none` is Podman's word for no base hosts file. (`image`, the image's
        // own /etc/hosts as the base, is not taken: the default base is used.)
        let set =
            |value: Option<String>| value.filter(|v| !matches!(v.as_str(), "" | "none" | "image"));
        conf.base_hosts_file = set(conf.base_hosts_file);
        conf.host_containers_internal_ip = set(conf.host_containers_internal_ip);
        conf.events_logfile_path = conf.events_logfile_path.filter(|p| !p.is_empty());
        Ok(conf)
    }

    /// `later`'s keys over these.
    fn merge(&mut self, later: Self) {
        let lists = [
            (&mut self.dns_servers, later.dns_servers),
            (&mut self.dns_searches, later.dns_searches),
            (&mut self.dns_options, later.dns_options),
        ];
        for (mine, theirs) in lists {
            if !theirs.is_empty() {
                *mine = theirs;
            }
        }
        self.base_hosts_file = later.base_hosts_file.or(self.base_hosts_file.take());
        self.host_containers_internal_ip = later
            .host_containers_internal_ip
            .or(self.host_containers_internal_ip.take());
        self.events_logfile_path = later
            .events_logfile_path
            .or(self.events_logfile_path.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_skiff_applies_are_read_and_later_files_win() {
        let mut conf = ContainersConf::parse(
            "[containers]\ndns_searches = [\"example.com\"]\ndns_servers = [\"1.1.1.1\", \"8.8.8.8\"]\ndefault_ulimits = [\"nofile=1024:1024\"]\n[engine]\nruntime = \"runc\"\nevents_logfile_path = \"/e.log\"\n",
        )
        .unwrap();
        assert_eq!(conf.dns_servers, ["1.1.1.1", "8.8.8.8"]);
        assert_eq!(conf.events_logfile_path.as_deref(), Some("/e.log"));
        conf.merge(
            ContainersConf::parse(
                "[containers]\nbase_hosts_file = \"/h\"\ndns_servers = [\"9.9.9.9\"]\n",
            )
            .unwrap(),
        );
        assert_eq!(conf.dns_servers, ["9.9.9.9"]);
        assert_eq!(conf.dns_searches, ["example.com"]);
        assert_eq!(conf.base_hosts_file.as_deref(), Some("/h"));
        assert!(ContainersConf::parse("[containers]\ndns_servers = 1\n").is_err());
        assert_eq!(
            ContainersConf::parse("").unwrap(),
            ContainersConf::default()
        );
        assert_eq!(
            ContainersConf::parse(
                "[containers]\nbase_hosts_file = \"\"\nhost_containers_internal_ip = \"\"\n"
            )
            .unwrap(),
            ContainersConf::default()
        );
    }
}
