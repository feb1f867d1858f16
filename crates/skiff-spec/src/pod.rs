//! What a user asks for when creating a pod (Podman's `pod create` flags; kube play's Pod and
//! compose turn into the same), and the pod's stored spec. [`PodOptions::to_spec`] alone
//! validates them: it makes the pod's spec and the create options of its infra container,
//! which holds the namespaces the members share.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::container::MountSpec;
use crate::create::CreateOptions;
use crate::error::SpecError;
use crate::limits::{LimitOptions, Limits};
use crate::mounts::parse_volume;

/// Pod create options in the words of Podman's flags.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PodOptions {
    pub name: Option<String>,
    /// `-p`: published on the pod (its infra container's network).
    pub publish: Vec<String>,
    pub network: Vec<String>,
    pub ip: Option<String>,
    pub mac_address: Option<String>,
    pub network_alias: Vec<String>,
    /// `--share`: a comma list of cgroup, ipc, net, pid, uts; `+NS` adds to the default
    /// (ipc, net, uts); empty or `none` shares nothing.
    pub share: Option<String>,
    /// `--infra`: whether the pod has an infra container (default: when it shares anything).
    pub infra: Option<bool>,
    pub infra_image: Option<String>,
    /// `--infra-command`: a JSON array or one program.
    pub infra_command: Option<String>,
    pub infra_name: Option<String>,
    /// The pod's hostname (its UTS namespace); the pod's name when not given.
    pub hostname: Option<String>,
    pub add_host: Vec<String>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_option: Vec<String>,
    pub no_hosts: bool,
    pub label: Vec<String>,
    /// `-v`: mounted in every member.
    pub volume: Vec<String>,
    /// `--exit-policy continue|stop`: whether the infra container stops once the last
    /// member has exited.
    pub exit_policy: Option<String>,
    /// `--memory`, `--cpus` and the other cgroup limits of `pod create`: set on the pod's
    /// cgroup, which is its members' parent.
    pub memory: Option<String>,
    pub cpus: Option<f64>,
    /// Of these, `pod create` takes `--memory-swap`, `--cpu-shares`, `--cpuset-cpus`,
    /// `--cpuset-mems`, `--blkio-weight`, `--device-read-bps`,
    /// `--device-write-bps` and `--cgroup-parent` (where the pod's cgroup is made); any other
    /// is refused.
    pub limits: LimitOptions,
    /// `--share-parent`: whether members' cgroups are made below the pod's (default true).
    pub share_parent: Option<bool>,
    /// `--userns`, `--uidmap`, `--gidmap`: the infra container's user namespace, which the
    /// members join.
    pub userns: Option<String>,
    pub uidmap: Vec<String>,
    pub gidmap: Vec<String>,
}

/// A kernel namespace the members of a pod share (through its infra container).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Share {
    Cgroup,
    Ipc,
    Net,
    Pid,
    Uts,
}

impl Share {
    const ALL: [Share; 5] = [
        Share::Cgroup,
        Share::Ipc,
        Share::Net,
        Share::Pid,
        Share::Uts,
    ];
    /// Kubernetes' default, and Podman's.
    pub const DEFAULT: [Share; 3] = [Share::Ipc, Share::Net, Share::Uts];

    pub fn name(self) -> &'static str {
        match self {
            Share::Cgroup => "cgroup",
            Share::Ipc => "ipc",
            Share::Net => "net",
            Share::Pid => "pid",
            Share::Uts => "uts",
        }
    }

    fn parse(word: &str) -> Result<Self, SpecError> {
        Self::ALL
            .into_iter()
            .find(|share| share.name() == word)
            .ok_or_else(|| {
                SpecError::Option(format!(
                    "invalid kernel namespace to share: {word}. Options are: cgroup, ipc, net, pid, uts or none"
                ))
            })
    }

    /// `--share` as Podman reads it.
    pub fn parse_list(value: Option<&str>) -> Result<Vec<Share>, SpecError> {
        let Some(value) = value else {
            return Ok(Self::DEFAULT.to_vec());
        };
        let (mut shares, list) = match value.strip_prefix('+') {
            Some(added) => (Self::DEFAULT.to_vec(), added),
            None => (Vec::new(), value),
        };
        for word in list.split(',').map(str::trim) {
            if word.is_empty() || word == "none" {
                continue;
            }
            let share = Share::parse(word)?;
            if !shares.contains(&share) {
                shares.push(share);
            }
        }
        shares.sort();
        Ok(shares)
    }
}

/// A pod as stored: what its members have in common.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PodSpec {
    pub labels: BTreeMap<String, String>,
    /// The namespaces members join (through the infra container; none without one).
    pub shares: Vec<Share>,
    pub infra: bool,
    pub hostname: Option<String>,
    /// Mounted in every member.
    pub mounts: Vec<MountSpec>,
    /// `--exit-policy stop`: the infra container stops once the last member has exited.
    pub stop_when_empty: bool,
    /// The pod's own cgroup, its members' parent; None when the pod has no limits and no
    /// `--cgroup-parent`, or with `--share-parent=false` (each member's cgroup is its own).
    pub cgroup: Option<PodCgroup>,
}

/// A pod's cgroup: where it is made and the limits it holds for all its members together.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PodCgroup {
    /// `--cgroup-parent`; skiff's own when None.
    pub parent: Option<String>,
    pub memory: Option<i64>,
    pub cpus: Option<f64>,
    pub limits: Limits,
}

impl PodCgroup {
    /// The pod's cgroup path (below each hierarchy's root), as a member's `--cgroup-parent`.
    pub fn path(&self, pod_id: &str) -> String {
        let parent = self.parent.as_deref().unwrap_or("skiff").trim_matches('/');
        format!("/{parent}/pod-{pod_id}")
    }

    /// Whether it holds any limit (a pod with only `--cgroup-parent` holds none).
    pub fn limits_anything(&self) -> bool {
        self.memory.is_some() || self.cpus.is_some() || self.limits.has_cgroup_limits()
    }
}

impl PodSpec {
    pub fn shares(&self, share: Share) -> bool {
        self.infra && self.shares.contains(&share)
    }
}

fn invalid(message: impl Into<String>) -> SpecError {
    SpecError::Option(message.into())
}

impl PodOptions {
    /// Validates the options and makes the pod's spec and, when it has one, its infra
    /// container's create options (the image left empty for the engine's infra image).
    pub fn to_spec(&self, name: &str) -> Result<(PodSpec, Option<CreateOptions>), SpecError> {
        let shares = Share::parse_list(self.share.as_deref())?;
        let infra = self.infra.unwrap_or(!shares.is_empty());
        if !infra {
            if self
                .share
                .as_deref()
                .is_some_and(|s| !s.is_empty() && s != "none")
            {
                return Err(invalid(format!(
                    "cannot set share({}) namespaces without an infra container",
                    self.share.as_deref().unwrap_or_default()
                )));
            }
            if !self.publish.is_empty() {
                return Err(invalid(
                    "you must have an infra container to publish port bindings to the host",
                ));
            }
            if !self.network.is_empty() {
                return Err(invalid("cannot set --network without an infra container"));
            }
        }
        if !self.publish.is_empty() && !shares.contains(&Share::Net) {
            return Err(invalid(
                "cannot publish ports without sharing the network namespace (--share net)",
            ));
        }
        if self.hostname.is_some() && !shares.contains(&Share::Uts) {
            return Err(invalid(
                "--hostname: the pod must share its UTS namespace (--share uts)",
            ));
        }
        let stop_when_empty = match self.exit_policy.as_deref() {
            None | Some("continue") => false,
            Some("stop") => true,
            Some(other) => {
                return Err(invalid(format!(
                    "invalid pod exit policy: \"{other}\": must be one of continue, stop"
                )));
            }
        };
        let cgroup = self.cgroup()?;
        let mut spec = PodSpec {
            stop_when_empty,
            cgroup,
            shares: if infra { shares } else { Vec::new() },
            infra,
            hostname: self.hostname.clone(),
            ..Default::default()
        };
        for label in &self.label {
            let (key, value) = label.split_once('=').unwrap_or((label, ""));
            spec.labels.insert(key.to_string(), value.to_string());
        }
        for volume in &self.volume {
            spec.mounts.push(parse_volume(volume)?);
        }
        if !infra {
            if self.userns.is_some() || !self.uidmap.is_empty() || !self.gidmap.is_empty() {
                return Err(invalid(
                    "cannot set a user namespace without an infra container",
                ));
            }
            return Ok((spec, None));
        }
        let private = Some("private".to_string());
        let options = CreateOptions {
            image: self.infra_image.clone().unwrap_or_default(),
            entrypoint: self.infra_command.clone(),
            network: self.network.clone(),
            ip: self.ip.clone(),
            mac_address: self.mac_address.clone(),
            network_alias: self.network_alias.clone(),
            publish: self.publish.clone(),
            dns: self.dns.clone(),
            dns_search: self.dns_search.clone(),
            dns_option: self.dns_option.clone(),
            add_host: self.add_host.clone(),
            no_hosts: self.no_hosts,
            hostname: spec
                .shares(Share::Uts)
                .then(|| self.hostname.clone().unwrap_or_else(|| name.to_string())),
            pid: private.clone(),
            ipc: private.clone(),
            uts: private,
            userns: self.userns.clone(),
            uidmap: self.uidmap.clone(),
            gidmap: self.gidmap.clone(),
            ..Default::default()
        };
        Ok((spec, Some(options)))
    }

    /// The pod's cgroup, checked as a container's limits are; the flags `pod create` lacks
    /// are refused (their values would be silently lost).
    fn cgroup(&self) -> Result<Option<PodCgroup>, SpecError> {
        let pod_flags = LimitOptions {
            memory_swap: self.limits.memory_swap.clone(),
            cpu_shares: self.limits.cpu_shares,
            cpuset_cpus: self.limits.cpuset_cpus.clone(),
            cpuset_mems: self.limits.cpuset_mems.clone(),
            blkio_weight: self.limits.blkio_weight,
            device_read_bps: self.limits.device_read_bps.clone(),
            device_write_bps: self.limits.device_write_bps.clone(),
            cgroup_parent: self.limits.cgroup_parent.clone(),
            ..Default::default()
        };
        if pod_flags != self.limits {
            return Err(invalid(
                "a pod takes only the limits --memory, --memory-swap, --cpus, --cpu-shares, --cpuset-cpus, --cpuset-mems, --blkio-weight, --device-read-bps, --device-write-bps and --cgroup-parent",
            ));
        }
        let memory = self
            .memory
            .as_deref()
            .map(crate::create::parse_memory)
            .transpose()?
            .filter(|bytes| *bytes != 0);
        let cpus = match self.cpus {
            Some(cpus) if cpus < 0.0 || !cpus.is_finite() => {
                return Err(invalid(format!(
                    "invalid --cpus {cpus}: must be a positive number"
                )));
            }
            cpus => cpus.filter(|c| *c > 0.0),
        };
        let limits = self.limits.to_limits(memory, cpus, false, false)?;
        let cgroup = PodCgroup {
            parent: limits.cgroup_parent.clone(),
            memory,
            cpus,
            limits,
        };
        if self.share_parent == Some(false) {
            if cgroup.limits_anything() {
                return Err(invalid(
                    "--share-parent=false: the pod's resource limits would apply to none of its containers",
                ));
            }
            return Ok(None);
        }
        Ok((cgroup.parent.is_some() || cgroup.limits_anything()).then_some(cgroup))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_lists_read_as_podman() {
        assert_eq!(Share::parse_list(None).unwrap(), Share::DEFAULT.to_vec());
        assert_eq!(
            Share::parse_list(Some("+pid")).unwrap(),
            vec![Share::Ipc, Share::Net, Share::Pid, Share::Uts]
        );
        assert_eq!(Share::parse_list(Some("net")).unwrap(), vec![Share::Net]);
        assert!(Share::parse_list(Some("none")).unwrap().is_empty());
        assert!(Share::parse_list(Some("")).unwrap().is_empty());
        let err = Share::parse_list(Some("net,mnt")).unwrap_err().to_string();
        assert!(
            err.contains("invalid kernel namespace to share: mnt"),
            "{err}"
        );
    }

    #[test]
    fn the_pods_user_namespace_is_its_infra_containers() {
        let options = PodOptions {
            userns: Some("keep-id".into()),
            ..Default::default()
        };
        let (_, infra) = options.to_spec("p").unwrap();
        assert_eq!(infra.unwrap().userns.as_deref(), Some("keep-id"));
        let without = PodOptions {
            infra: Some(false),
            uidmap: vec!["0:0:1".into()],
            ..Default::default()
        };
        assert!(
            without
                .to_spec("p")
                .unwrap_err()
                .to_string()
                .contains("without an infra container")
        );
    }

    #[test]
    fn a_pod_without_infra_shares_nothing_and_publishes_nothing() {
        let options = PodOptions {
            infra: Some(false),
            ..Default::default()
        };
        let (spec, infra) = options.to_spec("p").unwrap();
        assert!(!spec.infra && spec.shares.is_empty() && infra.is_none());
        let options = PodOptions {
            infra: Some(false),
            publish: vec!["8080:80".into()],
            ..Default::default()
        };
        assert!(options.to_spec("p").is_err());
        let options = PodOptions {
            share: Some("none".into()),
            ..Default::default()
        };
        assert!(options.to_spec("p").unwrap().1.is_none());
    }

    #[test]
    fn the_infra_container_holds_the_network_and_hostname() {
        let options = PodOptions {
            publish: vec!["8080:80".into()],
            label: vec!["a=b".into()],
            ..Default::default()
        };
        let (spec, infra) = options.to_spec("web").unwrap();
        let infra = infra.unwrap();
        assert_eq!(infra.publish, vec!["8080:80"]);
        assert_eq!(infra.hostname.as_deref(), Some("web"));
        assert_eq!(spec.labels.get("a").map(String::as_str), Some("b"));
        assert!(spec.shares(Share::Net) && !spec.shares(Share::Pid));
        let options = PodOptions {
            share: Some("ipc".into()),
            publish: vec!["8080:80".into()],
            ..Default::default()
        };
        assert!(options.to_spec("p").is_err());
    }

    #[test]
    fn pod_limits_make_a_cgroup_for_the_members() {
        let options = PodOptions {
            memory: Some("64m".into()),
            cpus: Some(0.5),
            limits: LimitOptions {
                cpuset_cpus: Some("0".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let cgroup = options.to_spec("p").unwrap().0.cgroup.unwrap();
        assert_eq!(cgroup.memory, Some(64 << 20));
        assert_eq!(cgroup.cpus, Some(0.5));
        assert_eq!(cgroup.limits.cpuset_cpus.as_deref(), Some("0"));
        assert_eq!(cgroup.path("abc"), "/skiff/pod-abc");
        let parent = PodOptions {
            limits: LimitOptions {
                cgroup_parent: Some("/mine/".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let cgroup = parent.to_spec("p").unwrap().0.cgroup.unwrap();
        assert!(!cgroup.limits_anything());
        assert_eq!(cgroup.path("abc"), "/mine/pod-abc");
        // Without limits or a parent the members' cgroups are their own, as before.
        assert!(
            PodOptions::default()
                .to_spec("p")
                .unwrap()
                .0
                .cgroup
                .is_none()
        );
    }

    #[test]
    fn pod_limits_are_checked_as_a_containers_are() {
        let bad = |options: PodOptions| options.to_spec("p").unwrap_err().to_string();
        let err = bad(PodOptions {
            memory: Some("lots".into()),
            ..Default::default()
        });
        assert!(err.contains("lots"), "{err}");
        let err = bad(PodOptions {
            cpus: Some(-1.0),
            ..Default::default()
        });
        assert!(err.contains("--cpus"), "{err}");
        let err = bad(PodOptions {
            limits: LimitOptions {
                memory_swap: Some("1g".into()),
                ..Default::default()
            },
            ..Default::default()
        });
        assert!(err.contains("--memory"), "{err}");
        // A limit `pod create` has no flag for is refused, never dropped.
        let err = bad(PodOptions {
            limits: LimitOptions {
                ulimit: vec!["nofile=10".into()],
                ..Default::default()
            },
            ..Default::default()
        });
        assert!(err.contains("a pod takes only"), "{err}");
        let err = bad(PodOptions {
            memory: Some("64m".into()),
            share_parent: Some(false),
            ..Default::default()
        });
        assert!(err.contains("--share-parent=false"), "{err}");
    }
}
