//! A pod's cgroup (`pod create --cpus/--memory/--cgroup-parent`, as Podman's): a directory
//! below the parent (skiff's own by default) holding the pod's limits, and the parent of its
//! members' cgroups, so the limits hold for all of them together. It is made before a member
//! starts (cgroups do not outlive a boot, the pod's record does) and removed with the pod.
use std::path::Path;

use skiff_spec::PodCgroup;

use crate::container::limits::{CgroupSupport, CgroupWrite, cgroup_writes};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::options::CgroupMode;

use super::store::PodRecord;

/// The cgroup file systems' mount point.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// v2 controllers a pod's limits use, enabled for the children of each level down to it.
const V2_CONTROLLERS: [&str; 5] = ["cpu", "cpuset", "io", "memory", "pids"];

impl Engine {
    /// The pod's cgroup path when its members are to be made below it: it has one, and this
    /// host lets this user use cgroups.
    pub(crate) fn pod_cgroup_path(&self, pod: &PodRecord) -> Option<String> {
        let cgroup = pod.spec.cgroup.as_ref()?;
        self.cgroups_usable().then(|| cgroup.path(&pod.id))
    }

    /// A new pod's limits fitted to what this host takes, with Podman's warnings for the rest
    /// (and one when this user may not use cgroups at all).
    pub(crate) fn fit_pod_cgroup(&self, cgroup: &mut PodCgroup) -> Vec<String> {
        if !cgroup.limits_anything() {
            return Vec::new();
        }
        if !self.cgroups_usable() {
            return vec![
                "Resource limits are not supported and ignored on cgroups V1 rootless systems"
                    .to_string(),
            ];
        }
        CgroupSupport::detect(self.cgroup).fit(&mut cgroup.limits, cgroup.memory)
    }

    /// Before a member starts: the pod's cgroup made, with its limits written.
    pub(crate) fn make_pod_cgroup(&self, pod: &PodRecord) -> Result<(), EngineError> {
        let (Some(cgroup), Some(path)) = (&pod.spec.cgroup, self.pod_cgroup_path(pod)) else {
            return Ok(());
        };
        let v2 = self.cgroup == CgroupMode::Unified;
        let writes = cgroup_writes(cgroup.memory, cgroup.cpus, None, &cgroup.limits, v2);
        make_cgroup(Path::new(CGROUP_ROOT), &path, v2, &writes).map_err(|why| {
            EngineError::InvalidArgument(format!("the cgroup of pod {}: {why}", pod.name))
        })
    }

    /// With the pod: its cgroup, once its members' are gone (best effort, as a container's).
    pub(crate) fn remove_pod_cgroup(&self, pod: &PodRecord) {
        if let Some(path) = self.pod_cgroup_path(pod) {
            skiff_runtime::remove_cgroup(Path::new(&path));
        }
    }
}

/// Makes the cgroup `path` below the mount `root` and writes `writes` into it. v1: in the
/// hierarchy of each controller written, and in the cpuset one always (a member's cpuset
/// cgroup below it takes its CPUs and memory nodes from it, so none of the levels may be
/// empty); v2: in the one hierarchy, each level above it giving its children the controllers.
fn make_cgroup(root: &Path, path: &str, v2: bool, writes: &[CgroupWrite]) -> Result<(), String> {
    let relative = Path::new(path.trim_start_matches('/'));
    let io = |what: &str, at: &Path, e: std::io::Error| format!("{what} {}: {e}", at.display());
    let write = |dir: &Path, write: &CgroupWrite| {
        let file = dir.join(write.file);
        std::fs::write(&file, &write.value)
            .map_err(|e| io(&format!("writing {:?} to", write.value), &file, e))
    };
    if v2 {
        let available = std::fs::read_to_string(root.join("cgroup.controllers"))
            .map_err(|e| io("reading", &root.join("cgroup.controllers"), e))?;
        let enable: Vec<String> = V2_CONTROLLERS
            .iter()
            .filter(|c| available.split_whitespace().any(|a| a == **c))
            .map(|c| format!("+{c}"))
            .collect();
        let mut level = root.to_path_buf();
        for component in relative.components() {
            let control = level.join("cgroup.subtree_control");
            std::fs::write(&control, enable.join(" "))
                .map_err(|e| io("enabling controllers in", &control, e))?;
            level.push(component);
            match std::fs::create_dir(&level) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                    return Err(io("creating", &level, e));
                }
                _ => {}
            }
        }
        return writes.iter().try_for_each(|w| write(&level, w));
    }
    let mut controllers: Vec<&str> = writes.iter().map(|w| w.controller).collect();
    controllers.push("cpuset");
    controllers.sort_unstable();
    controllers.dedup();
    for controller in controllers {
        let hierarchy = root.join(controller);
        if !hierarchy.is_dir() {
            continue;
        }
        let dir = hierarchy.join(relative);
        std::fs::create_dir_all(&dir).map_err(|e| io("creating", &dir, e))?;
        if controller == "cpuset" {
            fill_cpuset(&hierarchy, relative).map_err(|e| io("filling", &dir, e))?;
        }
        for w in writes.iter().filter(|w| w.controller == controller) {
            write(&dir, w)?;
        }
    }
    Ok(())
}

/// v1 makes a cpuset cgroup with no CPUs and no memory nodes: each level down to `relative`
/// gets its parent's, where it has none (as the runtime does for a container's).
fn fill_cpuset(hierarchy: &Path, relative: &Path) -> std::io::Result<()> {
    let mut level = hierarchy.to_path_buf();
    for component in relative.components() {
        let parent = level.clone();
        level.push(component);
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let own = std::fs::read_to_string(level.join(file))?;
            if own.trim().is_empty() {
                std::fs::write(
                    level.join(file),
                    std::fs::read_to_string(parent.join(file))?,
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_spec::{LimitOptions, PodOptions};

    fn pod_writes(v2: bool) -> Vec<CgroupWrite> {
        let options = PodOptions {
            memory: Some("64m".into()),
            cpus: Some(1.5),
            limits: LimitOptions {
                cpuset_cpus: Some("0".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let cgroup = options.to_spec("p").unwrap().0.cgroup.unwrap();
        cgroup_writes(cgroup.memory, cgroup.cpus, None, &cgroup.limits, v2)
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    /// A fresh directory standing in for /sys/fs/cgroup.
    fn fake_root(name: &str) -> std::path::PathBuf {
        let root =
            std::env::temp_dir().join(format!("skiff-pod-cgroup-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        root
    }

    #[test]
    fn a_v2_pod_cgroup_gets_its_controllers_from_every_level_above() {
        let root = &fake_root("v2");
        std::fs::write(
            root.join("cgroup.controllers"),
            "cpuset cpu io memory pids\n",
        )
        .unwrap();
        make_cgroup(root, "/skiff/pod-1", true, &pod_writes(true)).unwrap();
        for level in [root.to_path_buf(), root.join("skiff")] {
            assert_eq!(
                read(&level.join("cgroup.subtree_control")),
                "+cpu +cpuset +io +memory +pids"
            );
        }
        let pod = root.join("skiff/pod-1");
        assert_eq!(read(&pod.join("memory.max")), "67108864");
        assert_eq!(read(&pod.join("cpu.max")), "150000 100000");
        assert_eq!(read(&pod.join("cpuset.cpus")), "0");
        // Made again (a second member's start): the same, no error.
        make_cgroup(root, "/skiff/pod-1", true, &pod_writes(true)).unwrap();
    }

    #[test]
    fn a_v2_host_lacking_a_controller_is_not_asked_for_it() {
        let root = &fake_root("v2-lacking");
        std::fs::write(root.join("cgroup.controllers"), "memory pids\n").unwrap();
        let memory_only: Vec<CgroupWrite> = pod_writes(true)
            .into_iter()
            .filter(|w| w.controller == "memory")
            .collect();
        make_cgroup(root, "/p/pod-2", true, &memory_only).unwrap();
        assert_eq!(read(&root.join("cgroup.subtree_control")), "+memory +pids");
        assert_eq!(read(&root.join("p/pod-2/memory.max")), "67108864");
    }

    #[test]
    fn a_v1_pod_cgroup_is_made_in_each_controllers_hierarchy_and_cpuset_filled() {
        let root = &fake_root("v1");
        for hierarchy in ["memory", "cpu", "cpuset", "pids"] {
            std::fs::create_dir(root.join(hierarchy)).unwrap();
        }
        std::fs::write(root.join("cpuset/cpuset.cpus"), "0-1\n").unwrap();
        std::fs::write(root.join("cpuset/cpuset.mems"), "0\n").unwrap();
        // A real cpuset hierarchy makes the files (empty) in every new directory.
        for level in ["cpuset/skiff", "cpuset/skiff/pod-3"] {
            std::fs::create_dir(root.join(level)).unwrap();
            std::fs::write(root.join(level).join("cpuset.cpus"), "\n").unwrap();
            std::fs::write(root.join(level).join("cpuset.mems"), "").unwrap();
        }
        make_cgroup(root, "/skiff/pod-3", false, &pod_writes(false)).unwrap();
        assert_eq!(read(&root.join("cpuset/skiff/cpuset.cpus")), "0-1\n");
        assert_eq!(read(&root.join("cpuset/skiff/pod-3/cpuset.cpus")), "0");
        assert_eq!(read(&root.join("cpuset/skiff/pod-3/cpuset.mems")), "0\n");
        let memory = root.join("memory/skiff/pod-3");
        assert_eq!(read(&memory.join("memory.limit_in_bytes")), "67108864");
        let cpu = root.join("cpu/skiff/pod-3");
        assert_eq!(read(&cpu.join("cpu.cfs_quota_us")), "150000");
        assert_eq!(read(&cpu.join("cpu.cfs_period_us")), "100000");
        // No pids limit asked for: that hierarchy is left alone.
        assert!(!root.join("pids/skiff").exists());
    }
}
