//! Pods: groups of containers that share namespaces through an infra container, as Podman's.
//! A pod is a row beside its members' (`store`); creating one makes its infra container
//! (`infra`), and a member joins the namespaces the pod shares when it is created (here);
//! `lifecycle` starts, stops and removes a pod's containers together, `report` says what
//! `pod ps` and `pod inspect` show, `cgroup` holds the pod's limits for its members.
pub mod cgroup;
pub mod infra;
pub mod lifecycle;
pub mod report;
pub mod store;

use serde::{Deserialize, Serialize};
use skiff_spec::{ContainerSpec, CreateOptions, NamespaceMode, NetworkMode, PodOptions, Share};

use crate::engine::Engine;
use crate::error::EngineError;
use crate::names;
use crate::registry::{PullOptions, PullPolicy};
use store::PodRecord;

/// A pod to create: what the user asked for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewPod {
    pub options: PodOptions,
    /// `--replace`: remove a pod of the same name first.
    #[serde(default)]
    pub replace: bool,
    /// `--pod-id-file`: a file that must not exist, given the new pod's ID.
    #[serde(default)]
    pub pod_id_file: Option<std::path::PathBuf>,
}

impl Engine {
    /// `pod create`: the pod and, unless it has none, its infra container (created, not
    /// started). Nothing is left behind when any part fails.
    pub fn create_pod(&mut self, new: &NewPod) -> Result<String, EngineError> {
        let name = match &new.options.name {
            Some(n) if !names::valid_name(n) => return Err(EngineError::InvalidName(n.clone())),
            Some(n) => n.clone(),
            None => names::random_name(),
        };
        let (mut spec, infra) = new.options.to_spec(&name)?;
        if let Some(cgroup) = &mut spec.cgroup {
            for warning in self.fit_pod_cgroup(cgroup) {
                crate::warn!("{warning}");
            }
        }
        let infra_spec = match &infra {
            Some(options) => Some(self.infra_spec(options)?),
            None => None,
        };
        let id_file = match &new.pod_id_file {
            Some(path) => Some(crate::container::run::claim_id_file(path, "pod")?),
            None => None,
        };
        let created = self.create_pod_claimed(new, name, spec, infra_spec, infra.as_ref());
        crate::container::run::fill_id_file(id_file, created.as_deref().ok())?;
        created
    }

    fn create_pod_claimed(
        &mut self,
        new: &NewPod,
        name: String,
        spec: skiff_spec::PodSpec,
        infra_spec: Option<ContainerSpec>,
        infra: Option<&CreateOptions>,
    ) -> Result<String, EngineError> {
        if new.replace {
            match self.remove_pod(&name, true, Some(0)) {
                Ok(_) | Err(EngineError::NoSuchPod(_)) => {}
                Err(err) => return Err(err),
            }
        }
        let record = PodRecord {
            id: names::random_id(),
            name,
            created: chrono::Utc::now(),
            infra_id: None,
            spec,
        };
        self.containers.insert_pod(&record)?;
        if let Some(mut infra_spec) = infra_spec {
            infra_spec.pod = Some(record.id.clone());
            infra_spec.limits.cgroup_parent = self.pod_cgroup_path(&record);
            let infra_name = new
                .options
                .infra_name
                .clone()
                .unwrap_or_else(|| format!("{}-infra", &record.id[..12]));
            let given = infra.map(|o| o.image.as_str()).filter(|i| !i.is_empty());
            let created = self
                .create_container_as(infra_spec, Some(&infra_name), given)
                .and_then(|created| {
                    self.containers.set_pod_infra(&record.id, &created.id)?;
                    Ok(created)
                });
            if let Err(err) = created {
                let _ = self.containers.delete_pod(&record.id);
                return Err(err);
            }
        }
        self.emit_pod(&record, "create");
        Ok(record.id)
    }

    /// The infra container's spec: its options, and the infra image unless the user named one.
    fn infra_spec(&mut self, options: &CreateOptions) -> Result<ContainerSpec, EngineError> {
        let mut spec = options.to_spec(self.default_network_mode())?;
        spec.image = if options.image.is_empty() {
            self.infra_image()?
        } else {
            self.image_for_run(
                &options.image,
                PullPolicy::Missing,
                &PullOptions::default(),
                &|_| {},
            )?
        };
        Ok(spec)
    }

    /// The pod a new container joins: `new:NAME` makes it (taking the container's ports and
    /// network, which belong to a pod's infra container), else it must exist.
    pub(crate) fn pod_for_member(
        &mut self,
        pod: &str,
        options: &mut CreateOptions,
    ) -> Result<PodRecord, EngineError> {
        if let Some(name) = pod.strip_prefix("new:") {
            let new = NewPod {
                options: PodOptions {
                    name: Some(name.to_string()),
                    publish: std::mem::take(&mut options.publish),
                    network: std::mem::take(&mut options.network),
                    ..Default::default()
                },
                ..Default::default()
            };
            let id = self.create_pod(&new)?;
            options.pod = Some(id.clone());
            return self.containers.lookup_pod(&id);
        }
        self.containers.lookup_pod(pod)
    }

    /// Makes `spec` a member of `pod`: the namespaces the pod shares are its infra
    /// container's, and the pod's volumes are mounted. Ports and networks belong to the pod.
    pub(crate) fn join_pod(
        &self,
        spec: &mut ContainerSpec,
        pod: &PodRecord,
        options: &CreateOptions,
    ) -> Result<(), EngineError> {
        let shared = |share| pod.spec.shares(share);
        if let Some(infra) = &pod.infra_id {
            if shared(Share::Net) {
                if !options.publish.is_empty() || options.publish_all {
                    return Err(EngineError::InvalidArgument(
                        "invalid config provided: published or exposed ports must be defined when the pod is created: network cannot be configured when it is shared with a pod".into(),
                    ));
                }
                if !options.network.is_empty() {
                    return Err(EngineError::InvalidArgument(
                        "invalid config provided: networks must be defined when the pod is created: network cannot be configured when it is shared with a pod".into(),
                    ));
                }
                spec.network = NetworkMode::Container(infra.clone());
            }
            for (share, mode, given) in [
                (Share::Ipc, &mut spec.ipc, &options.ipc),
                (Share::Uts, &mut spec.uts, &options.uts),
                (Share::Pid, &mut spec.pid, &options.pid),
            ] {
                if shared(share) && given.is_none() {
                    *mode = NamespaceMode::Container(infra.clone());
                }
            }
            // A pod whose infra container has a user namespace of its own: its members join it.
            let infra_spec = self.containers.lookup(infra)?.spec;
            if !infra_spec.uid_map.is_empty() {
                if options.userns.is_some()
                    || !options.uidmap.is_empty()
                    || !options.gidmap.is_empty()
                {
                    return Err(EngineError::InvalidArgument(
                        "invalid config provided: --userns, --uidmap and --gidmap cannot be set when joining a pod with a user namespace: the pod's is used".into(),
                    ));
                }
                spec.userns = skiff_spec::UserNamespace::Container(infra.clone());
            }
            if shared(Share::Uts) && spec.hostname.is_some() {
                return Err(EngineError::InvalidArgument(
                    "invalid config provided: cannot set hostname when joining the pod UTS namespace".into(),
                ));
            }
        }
        // Below the pod's cgroup, unless the member names a parent of its own.
        if spec.limits.cgroup_parent.is_none() {
            spec.limits.cgroup_parent = self.pod_cgroup_path(pod);
        }
        for mount in &pod.spec.mounts {
            if !spec
                .mounts
                .iter()
                .any(|m| m.destination() == mount.destination())
            {
                spec.mounts.push(mount.clone());
            }
        }
        spec.pod = Some(pod.id.clone());
        Ok(())
    }
}
