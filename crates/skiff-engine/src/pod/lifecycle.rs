//! A pod's containers started, stopped, signalled, frozen and removed together, as Podman
//! does: the infra container starts first and stops last, and a pod goes with its members.
use crate::container::lifecycle::StartMode;
use crate::container::store::{ContainerRecord, State};
use crate::engine::Engine;
use crate::error::EngineError;

use super::store::PodRecord;

/// The pod's members without its infra container, oldest first, and the infra container.
type Members = (Vec<ContainerRecord>, Option<ContainerRecord>);

impl Engine {
    fn members(&self, pod: &PodRecord) -> Result<Members, EngineError> {
        let (infra, members): (Vec<_>, Vec<_>) = self
            .containers
            .pod_members(&pod.id)?
            .into_iter()
            .partition(|c| pod.infra_id.as_deref() == Some(c.id.as_str()));
        Ok((members, infra.into_iter().next()))
    }

    /// Runs `action` on each container, going on after a failure; the first error.
    fn each_container(
        &mut self,
        containers: impl IntoIterator<Item = ContainerRecord>,
        mut action: impl FnMut(&mut Self, &ContainerRecord) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        let mut first = None;
        for container in containers {
            if let Err(err) = action(self, &container) {
                first.get_or_insert(err);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// `pod start`: the infra container, then every member that is not running.
    pub fn start_pod(&mut self, name_or_id: &str) -> Result<String, EngineError> {
        let pod = self.containers.lookup_pod(name_or_id)?;
        let (members, infra) = self.members(&pod)?;
        if let Some(infra) = &infra {
            self.start_container(&infra.id, StartMode::Detached)?;
        }
        // The members all at once (see `start_containers`).
        let ids: Vec<&str> = members.iter().map(|c| c.id.as_str()).collect();
        let started = ids
            .iter()
            .zip(self.start_containers(&ids))
            .find_map(|(id, result)| result.err().map(|err| (id, err)))
            .map_or(Ok(()), |(id, err)| {
                Err(EngineError::StartFailed(
                    err.exit_code(),
                    format!("starting container {id}: {err}"),
                ))
            });
        self.emit_pod(&pod, "start");
        started.map(|()| pod.id)
    }

    /// `pod stop`: every member, then the infra container.
    pub fn stop_pod(
        &mut self,
        name_or_id: &str,
        timeout: Option<u64>,
    ) -> Result<String, EngineError> {
        let pod = self.containers.lookup_pod(name_or_id)?;
        self.stop_members(&pod, timeout)?;
        self.emit_pod(&pod, "stop");
        Ok(pod.id)
    }

    fn stop_members(&mut self, pod: &PodRecord, timeout: Option<u64>) -> Result<(), EngineError> {
        let (members, infra) = self.members(pod)?;
        // The members all at once, then the infra container.
        let ids: Vec<&str> = members.iter().rev().map(|c| c.id.as_str()).collect();
        let mut first = self
            .stop_containers(&ids, timeout)
            .into_iter()
            .find_map(Result::err);
        if let Some(infra) = infra
            && let Err(err) = self.stop_container(&infra.id, timeout)
        {
            first.get_or_insert(err);
        }
        first.map_or(Ok(()), Err)
    }

    /// After a member exited: a pod created with `--exit-policy stop` whose members have all
    /// exited has its infra container stopped too (best effort: the member's exit stands).
    pub(crate) fn stop_emptied_pod(&self, member: &ContainerRecord) {
        let Some(pod) = member
            .spec
            .pod
            .as_deref()
            .and_then(|id| self.containers.pod(id).ok().flatten())
        else {
            return;
        };
        let Some(infra) = pod.infra_id.as_deref().filter(|_| pod.spec.stop_when_empty) else {
            return;
        };
        if infra == member.id {
            return;
        }
        let Ok((members, _)) = self.members(&pod) else {
            return;
        };
        let running = members
            .into_iter()
            .any(|c| c.id != member.id && self.refresh(c).is_ok_and(|c| c.state == State::Running));
        if let (false, Ok(record)) = (running, self.containers.lookup(infra))
            && record.state == State::Running
            && record.pid > 0
        {
            // The infra container (catatonit) ends on SIGTERM; its own cleanup records it.
            let _ = self.containers.set_stopped_by_user(&record.id);
            let _ = skiff_runtime::process::signal(
                record.pid,
                record.pid_start,
                nix::sys::signal::Signal::SIGTERM as i32,
            );
        }
    }

    /// `pod restart`: stopped, then started.
    pub fn restart_pod(&mut self, name_or_id: &str) -> Result<String, EngineError> {
        let id = self.stop_pod(name_or_id, None)?;
        self.start_pod(&id)
    }

    /// `pod kill`: the signal to every running container of the pod.
    pub fn kill_pod(&mut self, name_or_id: &str, signal: &str) -> Result<String, EngineError> {
        // A bad signal is refused before the pod is looked for, as Podman does.
        crate::container::lifecycle::kill_signal(signal)?;
        let pod = self.containers.lookup_pod(name_or_id)?;
        let (members, infra) = self.members(&pod)?;
        let running: Vec<ContainerRecord> = members
            .into_iter()
            .chain(infra)
            .map(|c| self.refresh(c))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|c| c.state == State::Running)
            .collect();
        if running.is_empty() {
            return Err(EngineError::InvalidState(format!(
                "pod {} has no running containers",
                pod.id
            )));
        }
        self.each_container(running, |engine, c| engine.kill_container(&c.id, signal))?;
        self.emit_pod(&pod, "kill");
        Ok(pod.id)
    }

    /// `pod pause` (`frozen`) and `pod unpause`: every running container of the pod.
    pub fn freeze_pod(&mut self, name_or_id: &str, frozen: bool) -> Result<String, EngineError> {
        let pod = self.containers.lookup_pod(name_or_id)?;
        let (members, infra) = self.members(&pod)?;
        let mut running = Vec::new();
        for container in members.into_iter().chain(infra) {
            let container = self.refresh(container)?;
            if container.state == State::Running
                && self.is_paused(&container.id, container.pid) != frozen
            {
                running.push(container);
            }
        }
        self.each_container(running, |engine, c| {
            if frozen {
                engine.pause_container(&c.id).map(drop)
            } else {
                engine.unpause_container(&c.id).map(drop)
            }
        })?;
        self.emit_pod(&pod, if frozen { "pause" } else { "unpause" });
        Ok(pod.id)
    }

    /// `pod rm`: the pod and its containers; running members only with `force` (stopped
    /// first, with `timeout`).
    pub fn remove_pod(
        &mut self,
        name_or_id: &str,
        force: bool,
        timeout: Option<u64>,
    ) -> Result<String, EngineError> {
        let pod = self.containers.lookup_pod(name_or_id)?;
        let (members, infra) = self.members(&pod)?;
        // A running infra container is no reason to refuse (Podman's checkReadyForRemoval).
        if !force {
            for container in members.iter().cloned() {
                let container = self.refresh(container)?;
                if container.state == State::Running {
                    return Err(EngineError::Conflict(format!(
                        "pod {} has containers that are not ready to be removed: cannot remove container {} as it is running - running or paused containers cannot be removed without force: container state improper",
                        pod.id, container.id
                    )));
                }
            }
        } else {
            self.stop_members(&pod, timeout)?;
        }
        self.each_container(members.into_iter().rev().chain(infra), |engine, c| {
            engine
                .remove_container_as(&c.id, true, false, true)
                .map(drop)
        })?;
        if !self.containers.delete_pod(&pod.id)? {
            return Err(EngineError::Conflict(format!(
                "pod {}: a container joined it while it was being removed",
                pod.id
            )));
        }
        self.remove_pod_cgroup(&pod);
        self.emit_pod(&pod, "remove");
        Ok(pod.id)
    }

    /// `pod prune`: every pod none of whose containers runs.
    pub fn prune_pods(&mut self) -> Result<Vec<String>, EngineError> {
        let mut removed = Vec::new();
        for pod in self.containers.list_pods()? {
            let mut running = false;
            for container in self.containers.pod_members(&pod.id)? {
                running |= self.refresh(container)?.state == State::Running;
            }
            if !running {
                removed.push(self.remove_pod(&pod.id, false, None)?);
            }
        }
        Ok(removed)
    }

    pub fn pod_exists(&self, name_or_id: &str) -> Result<bool, EngineError> {
        match self.containers.lookup_pod(name_or_id) {
            Ok(_) => Ok(true),
            Err(EngineError::NoSuchPod(_)) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// The IDs of the pod's containers, oldest first (`pod logs`, `pod top`); with
    /// `container`, that member alone, which must belong to the pod.
    pub fn pod_containers(
        &self,
        name_or_id: &str,
        container: Option<&str>,
        with_infra: bool,
    ) -> Result<Vec<String>, EngineError> {
        let pod = self.containers.lookup_pod(name_or_id)?;
        let (members, infra) = self.members(&pod)?;
        if let Some(name) = container {
            let found = self.containers.lookup(name)?;
            if found.spec.pod.as_deref() != Some(pod.id.as_str()) {
                return Err(EngineError::InvalidArgument(format!(
                    "container {name} is not in pod {name_or_id}"
                )));
            }
            return Ok(vec![found.id]);
        }
        Ok(infra
            .filter(|_| with_infra)
            .into_iter()
            .chain(members)
            .map(|c| c.id)
            .collect())
    }
}
