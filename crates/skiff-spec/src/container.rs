//! The intermediate container spec, stored with each container.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ContainerSpec {
    /// The image as the user named it.
    pub image: String,
    /// Arguments after the image; empty means the image's Cmd.
    pub command: Vec<String>,
    /// `--entrypoint`; `Some(vec![])` clears the image's entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=value` from `-e` and `--env-file`, in order; later wins.
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub mounts: Vec<MountSpec>,
    pub read_only: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub seccomp: SeccompChoice,
    pub no_new_privileges: bool,
    pub network: NetworkMode,
    pub labels: BTreeMap<String, String>,
    pub init: bool,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<u64>,
    /// `--rm`: remove when the container exits.
    pub remove: bool,
    /// `-i`: keep stdin open.
    pub interactive: bool,
    pub tty: bool,
    /// `--pids-limit`; None means Podman's default 2048, 0 or -1 unlimited.
    pub pids_limit: Option<i64>,
    /// `--memory` in bytes.
    pub memory: Option<i64>,
    /// `--cpus`.
    pub cpus: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum MountSpec {
    Bind {
        source: String,
        destination: String,
        options: Vec<String>,
    },
    Tmpfs {
        destination: String,
        options: Vec<String>,
    },
}

impl MountSpec {
    pub fn destination(&self) -> &str {
        match self {
            MountSpec::Bind { destination, .. } | MountSpec::Tmpfs { destination, .. } => {
                destination
            }
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum SeccompChoice {
    #[default]
    Default,
    Unconfined,
    /// The profile's JSON, read when the container was created.
    Profile(String),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// A private network namespace with loopback only (until bridge networks land, also the default).
    #[default]
    None,
    Host,
}

impl NetworkMode {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "none" | "private" | "bridge" | "default" => Some(NetworkMode::None),
            "host" => Some(NetworkMode::Host),
            _ => None,
        }
    }
    pub fn name(&self) -> &'static str {
        match self {
            NetworkMode::None => "none",
            NetworkMode::Host => "host",
        }
    }
}
