//! `pause`/`unpause` through the container's cgroup freezer: `freezer.state` on cgroup v1,
//! `cgroup.freeze` on v2. The freezer is the truth about "paused"; nothing else records it.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::store::State;
use crate::engine::Engine;
use crate::error::{EngineError, IoContext};

/// A container's freezer control.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Freezer {
    /// cgroup v1: the freezer hierarchy's directory.
    V1(PathBuf),
    /// cgroup v2: the container's cgroup directory.
    V2(PathBuf),
}

impl Freezer {
    /// The freezer of the cgroup process `pid` is in, if that cgroup is the container's own
    /// (its path ends with the container ID): a rootless container left in the user's session
    /// cgroup must never freeze the session.
    fn of(pid: i32, id: &str) -> Option<Freezer> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        Self::from_cgroup_file(&text, id, Path::new("/sys/fs/cgroup"))
    }

    fn from_cgroup_file(text: &str, id: &str, base: &Path) -> Option<Freezer> {
        let own = |path: &str| path.trim_end_matches('/').ends_with(id);
        let mut unified = None;
        for line in text.lines() {
            let mut fields = line.splitn(3, ':');
            let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            let relative = path.trim_start_matches('/');
            if controllers.split(',').any(|c| c == "freezer") && own(path) {
                return Some(Freezer::V1(base.join("freezer").join(relative)));
            }
            if controllers.is_empty() && own(path) {
                unified = Some(relative.to_string());
            }
        }
        let relative = unified?;
        [base.to_path_buf(), base.join("unified")]
            .into_iter()
            .map(|root| root.join(&relative))
            .find(|dir| dir.join("cgroup.freeze").exists())
            .map(Freezer::V2)
    }

    fn set(&self, frozen: bool) -> std::io::Result<()> {
        match self {
            Freezer::V1(dir) => std::fs::write(
                dir.join("freezer.state"),
                if frozen { "FROZEN" } else { "THAWED" },
            ),
            Freezer::V2(dir) => {
                std::fs::write(dir.join("cgroup.freeze"), if frozen { "1" } else { "0" })
            }
        }
    }

    fn is_frozen(&self) -> bool {
        match self {
            Freezer::V1(dir) => std::fs::read_to_string(dir.join("freezer.state"))
                .is_ok_and(|s| s.trim() == "FROZEN"),
            Freezer::V2(dir) => std::fs::read_to_string(dir.join("cgroup.events"))
                .is_ok_and(|s| s.lines().any(|l| l == "frozen 1")),
        }
    }

    /// Sets the state and waits until the kernel has finished the transition.
    fn change(&self, frozen: bool) -> std::io::Result<()> {
        self.set(frozen)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.is_frozen() != frozen {
            if Instant::now() > deadline {
                return Err(std::io::Error::other("the freezer did not settle"));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }
}

impl Engine {
    /// Whether a running container's processes are frozen.
    pub(crate) fn is_paused(&self, id: &str, pid: i32) -> bool {
        Freezer::of(pid, id).is_some_and(|f| f.is_frozen())
    }

    /// `pause`: freezes every process of a running container.
    pub fn pause_container(&self, name_or_id: &str) -> Result<String, EngineError> {
        self.set_frozen(name_or_id, true)
    }

    /// `unpause`: thaws a paused container.
    pub fn unpause_container(&self, name_or_id: &str) -> Result<String, EngineError> {
        self.set_frozen(name_or_id, false)
    }

    fn set_frozen(&self, name_or_id: &str, frozen: bool) -> Result<String, EngineError> {
        let record = self.refresh(self.containers.lookup(name_or_id)?)?;
        let verb = if frozen { "pause" } else { "unpause" };
        if record.state != State::Running {
            return Err(EngineError::InvalidState(format!(
                "\"{}\" is not running, can't {verb}",
                record.id
            )));
        }
        let freezer = Freezer::of(record.pid, &record.id).ok_or_else(|| {
            EngineError::InvalidArgument(format!(
                "{verb}: container {} has no cgroup of its own (rootless containers need cgroup v2 with delegation to be paused)",
                record.name
            ))
        })?;
        if freezer.is_frozen() == frozen {
            return Err(EngineError::InvalidState(format!(
                "\"{}\" is {}",
                record.id,
                if frozen {
                    "already paused"
                } else {
                    "not paused"
                }
            )));
        }
        let path = match &freezer {
            Freezer::V1(dir) | Freezer::V2(dir) => dir.clone(),
        };
        freezer.change(frozen).io(verb, &path)?;
        Ok(record.id)
    }

    /// Runs `work` with a running container frozen, where it has a freezer and is not frozen
    /// already (then it runs as it is, as Podman's `cp --pause` on rootless cgroup v1).
    pub(crate) fn frozen_while<T>(&self, id: &str, pid: i32, work: impl FnOnce() -> T) -> T {
        while_frozen(id, pid, work)
    }

    /// Thaws a container if it is frozen (before signals that must reach it).
    pub(crate) fn thaw(&self, id: &str, pid: i32) {
        if let Some(freezer) = Freezer::of(pid, id)
            && freezer.is_frozen()
        {
            let _ = freezer.change(false);
        }
    }
}

/// Runs `work` with the container frozen where it can be (a container without a freezer of
/// its own, rootless on cgroup v1, runs on).
pub(crate) fn while_frozen<T>(id: &str, pid: i32, work: impl FnOnce() -> T) -> T {
    let frozen = Freezer::of(pid, id)
        .filter(|f| pid > 0 && !f.is_frozen())
        .filter(|f| f.change(true).is_ok());
    let result = work();
    if let Some(freezer) = frozen {
        let _ = freezer.change(false);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_containers_own_cgroup_is_a_freezer() {
        let base = Path::new("/sys/fs/cgroup");
        let v1 = "12:freezer:/skiff/abc\n11:cpu,cpuacct:/skiff/abc\n0::/user.slice\n";
        assert_eq!(
            Freezer::from_cgroup_file(v1, "abc", base),
            Some(Freezer::V1(base.join("freezer/skiff/abc")))
        );
        // A rootless container in the user's session: never.
        let session = "12:freezer:/user.slice/session-1.scope\n0::/user.slice/session-1.scope\n";
        assert_eq!(Freezer::from_cgroup_file(session, "abc", base), None);
    }
}
