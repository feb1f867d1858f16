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
    /// `--restart`: what the monitor's cleanup does when the container exits.
    pub restart: RestartPolicy,
}

/// `--restart no|on-failure[:N]|always|unless-stopped`, applied after each exit by the
/// container's own cleanup (there is no daemon). Without a daemon, `always` and
/// `unless-stopped` behave alike: neither restarts a container the user stopped.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    #[default]
    No,
    /// At most this many restarts (0: no limit) after non-zero exits.
    OnFailure(u32),
    Always,
    UnlessStopped,
}

impl RestartPolicy {
    pub fn parse(text: &str) -> Result<Self, crate::SpecError> {
        let bad = |why| crate::SpecError::RestartPolicy(text.to_string(), why);
        let (name, retries) = match text.split_once(':') {
            Some((name, retries)) => (name, Some(retries)),
            None => (text, None),
        };
        let policy = match name {
            "" | "no" => RestartPolicy::No,
            "on-failure" => RestartPolicy::OnFailure(match retries {
                Some(n) => n
                    .parse()
                    .map_err(|_| bad("the retry count must be a non-negative number"))?,
                None => 0,
            }),
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            _ => return Err(bad("expected no, on-failure[:N], always or unless-stopped")),
        };
        if retries.is_some() && !matches!(policy, RestartPolicy::OnFailure(_)) {
            return Err(bad("a retry count is only valid with on-failure"));
        }
        Ok(policy)
    }

    /// Podman's name (`inspect`'s HostConfig.RestartPolicy.Name).
    pub fn name(self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::OnFailure(_) => "on-failure",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
        }
    }

    pub fn max_retries(self) -> u32 {
        match self {
            RestartPolicy::OnFailure(n) => n,
            _ => 0,
        }
    }

    /// Whether a container that exited with `code`, after `restarts` restarts so far, runs
    /// again. Never after the user stopped it.
    pub fn restarts(self, code: i32, restarts: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match self {
            RestartPolicy::No => false,
            RestartPolicy::OnFailure(max) => code != 0 && (max == 0 || restarts < max),
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
        }
    }
}

#[cfg(test)]
mod restart_tests {
    use super::RestartPolicy;

    #[test]
    fn policies_parse_and_decide_like_podman() {
        assert_eq!(
            RestartPolicy::parse("on-failure:3").unwrap(),
            RestartPolicy::OnFailure(3)
        );
        assert_eq!(
            RestartPolicy::parse("always").unwrap(),
            RestartPolicy::Always
        );
        assert!(RestartPolicy::parse("always:2").is_err());
        assert!(RestartPolicy::parse("sometimes").is_err());
        assert!(RestartPolicy::parse("on-failure:x").is_err());
        let policy = RestartPolicy::OnFailure(2);
        assert!(policy.restarts(1, 1, false));
        assert!(!policy.restarts(1, 2, false));
        assert!(!policy.restarts(0, 0, false));
        assert!(RestartPolicy::Always.restarts(0, 100, false));
        assert!(!RestartPolicy::Always.restarts(1, 0, true));
    }
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
