//! Where skiff keeps things and how it runs them: Podman's defaults for root and rootless.
use std::path::PathBuf;

use crate::environment::{self, var};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    /// cgroup v2 alone at /sys/fs/cgroup.
    Unified,
    /// v1 controllers (with or without an empty v2 at /sys/fs/cgroup/unified).
    Legacy,
}

impl CgroupMode {
    pub fn detect() -> Self {
        match nix::sys::statfs::statfs("/sys/fs/cgroup") {
            Ok(fs) if fs.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC => {
                CgroupMode::Unified
            }
            _ => CgroupMode::Legacy,
        }
    }
    pub fn version(self) -> &'static str {
        match self {
            CgroupMode::Unified => "v2",
            CgroupMode::Legacy => "v1",
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoreOptions {
    pub root: PathBuf,
    pub runroot: PathBuf,
    /// `overlay` or `vfs`; None picks overlay where it mounts.
    pub driver: Option<String>,
    /// Empty for the embedded runtime, else a runtime name or path.
    pub runtime: String,
    /// `--runtime-flag`: global flags for the runtime.
    #[serde(default)]
    pub runtime_flags: Vec<String>,
    pub rootless: bool,
    /// `--volumepath`: where volumes live (default `<root>/volumes`).
    pub volume_path: Option<PathBuf>,
    /// `--events-backend`: the event log (`file`), or none.
    #[serde(default)]
    pub events: crate::events::EventsBackend,
}

impl StoreOptions {
    /// The defaults for this process: rootless for an unprivileged user, and for root of a
    /// user namespace skiff entered.
    pub fn for_this_process() -> Self {
        let rootless = !nix::unistd::geteuid().is_root() || crate::rootless::in_user_namespace();
        Self::defaults(rootless)
    }

    /// Defaults: /var/lib/skiff and /run/skiff for root; XDG directories for a user.
    /// `rootless` is decided by the caller before entering the user namespace.
    pub fn defaults(rootless: bool) -> Self {
        let (root, runroot) = if rootless {
            // The user's ID on the host, also inside skiff's user namespace (where it is 0 and
            // /tmp/skiff-run-0 would be every user's).
            let uid = host_uid(
                &std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default(),
                nix::unistd::getuid().as_raw(),
            );
            let data = var(environment::XDG_DATA_HOME)
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(var(environment::HOME).unwrap_or_else(|| "/".into()))
                        .join(".local/share")
                });
            let run = var(environment::XDG_RUNTIME_DIR)
                .map(|d| PathBuf::from(d).join("skiff"))
                .unwrap_or_else(|| PathBuf::from(format!("/tmp/skiff-run-{uid}")));
            (data.join("skiff"), run)
        } else {
            (PathBuf::from("/var/lib/skiff"), PathBuf::from("/run/skiff"))
        };
        Self {
            root: var(environment::SKIFF_ROOT)
                .map(PathBuf::from)
                .unwrap_or(root),
            runroot: var(environment::SKIFF_RUNROOT)
                .map(PathBuf::from)
                .unwrap_or(runroot),
            driver: var(environment::SKIFF_STORAGE_DRIVER),
            runtime: var(environment::SKIFF_RUNTIME).unwrap_or_default(),
            runtime_flags: Vec::new(),
            rootless,
            volume_path: None,
            events: Default::default(),
        }
    }
}

/// The host's ID for `uid` of this user namespace, from its `uid_map` (`inside outside count`
/// lines); `uid` itself where no line maps it.
fn host_uid(uid_map: &str, uid: u32) -> u32 {
    let uid = u64::from(uid);
    id_map_ranges(uid_map)
        .into_iter()
        .find_map(|(inside, outside, count)| {
            (inside <= uid && uid < inside + count).then(|| outside + uid - inside)
        })
        .unwrap_or(uid) as u32
}

/// The `inside outside count` lines of a `/proc/PID/uid_map` or `gid_map`.
pub(crate) fn id_map_ranges(map: &str) -> Vec<(u64, u64, u64)> {
    map.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace().map(|f| f.parse::<u64>().ok());
            Some((fields.next()??, fields.next()??, fields.next()??))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::host_uid;

    #[test]
    fn host_uid_reads_the_user_namespace_map() {
        let skiff_userns = "         0       1000          1\n         1     300000      65536\n";
        assert_eq!(host_uid(skiff_userns, 0), 1000);
        assert_eq!(host_uid(skiff_userns, 5), 300004);
        assert_eq!(host_uid("0 0 4294967295\n", 1234), 1234);
        assert_eq!(host_uid("", 1234), 1234);
    }
}
