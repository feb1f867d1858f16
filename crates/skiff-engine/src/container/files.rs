//! A container's files from the host, for `cp` (see `cp`), `stat` and `export`. A running
//! container is reached through its init's root (/proc/PID/root, mounts and all); a stopped
//! one is mounted in this process's private mount namespace. Paths inside the container are
//! always resolved inside it (see `skiff_storage::rootcopy`).
use std::fs::{self, File};
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use skiff_storage::RootfsLayout;
use skiff_storage::rootcopy::pack_root_contents;

use super::store::{ContainerRecord, State};
use crate::engine::Engine;
use crate::error::{EngineError, IoContext};
use skiff_spec::MountSpec;

/// A path in a container, as `stat` sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    /// The Unix mode: type and permission bits.
    pub mode: u32,
    pub mtime: chrono::DateTime<chrono::Utc>,
    /// A symlink's target, else empty.
    pub link_target: String,
}

/// A container's root reachable from this process; unmounted when dropped.
pub(super) struct ContainerRoot {
    pub(super) dir: File,
    layout: Option<RootfsLayout>,
    view: bool,
}

impl Drop for ContainerRoot {
    fn drop(&mut self) {
        if let Some(layout) = &self.layout {
            if self.view {
                layout.unmount_view();
            } else {
                let _ = layout.unmount();
            }
        }
    }
}

/// Moves this process into a mount namespace of its own (once), so that what it mounts is
/// seen by nobody else and vanishes when it exits.
fn private_mount_namespace() -> Result<(), EngineError> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
            .and_then(|()| crate::rootless::make_mounts_private())
            .map_err(|e| format!("private mount namespace: {e}"))
    })
    .clone()
    .map_err(EngineError::InvalidArgument)
}

/// An image's files, mounted read-only for this process alone; unmounted when dropped.
pub struct ImageRoot {
    layout: Option<RootfsLayout>,
    dir: PathBuf,
    path: PathBuf,
}

impl ImageRoot {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ImageRoot {
    fn drop(&mut self) {
        if let Some(layout) = &self.layout {
            layout.unmount_view();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Engine {
    /// An image's files to read (a build's COPY --from, the owner names of --chown).
    pub fn image_root(&self, name_or_id: &str) -> Result<ImageRoot, EngineError> {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let image = self.images.resolve(name_or_id)?;
        let layers = self.images.layer_paths(&image)?;
        let dir = self.options.runroot.join("image-views").join(format!(
            "{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        fs::create_dir_all(&dir).io("create", &dir)?;
        if layers.is_empty() {
            return Ok(ImageRoot {
                layout: None,
                path: dir.clone(),
                dir,
            });
        }
        private_mount_namespace()?;
        let layout = RootfsLayout::new(&dir, self.driver);
        match layout.mount_view(&layers, self.opaque) {
            Ok(path) => Ok(ImageRoot {
                layout: Some(layout),
                dir,
                path,
            }),
            Err(err) => {
                let _ = fs::remove_dir_all(&dir);
                Err(err.into())
            }
        }
    }

    /// The container's root: live through its init when it runs (`live`), else mounted here;
    /// without `live`, a read-only view of its own files only (no volumes, no /proc).
    fn container_root(
        &self,
        record: &ContainerRecord,
        live: bool,
    ) -> Result<ContainerRoot, EngineError> {
        if live && record.state == State::Running {
            let path = format!("/proc/{}/root", record.pid);
            let dir = match File::open(&path) {
                Err(e)
                    if e.kind() == std::io::ErrorKind::PermissionDenied
                        && self.options.rootless =>
                {
                    // Each running rootless container has a user namespace of its own; this
                    // process can be in only one of them.
                    return Err(EngineError::InvalidArgument(format!(
                        "container {} runs in another user namespace: copy through the host (cp CONTAINER:SRC - | cp - {}:DEST)",
                        record.name, record.name
                    )));
                }
                opened => opened.io("open", &path)?,
            };
            return Ok(ContainerRoot {
                dir,
                layout: None,
                view: false,
            });
        }
        let base = self.container_base(record)?;
        if let Some(directory) = &base.directory {
            // `--rootfs`: the directory itself.
            return Ok(ContainerRoot {
                dir: File::open(directory).io("open", directory)?,
                layout: None,
                view: false,
            });
        }
        let layers = base.layers;
        let layout = self.layout(&record.id, &record.driver);
        private_mount_namespace()?;
        let running = record.state == State::Running;
        let path = if running {
            layout.mount_view(&layers, self.opaque)?
        } else {
            layout.mount(&layers, self.opaque)?
        };
        let dir = File::open(&path).io("open", &path)?;
        Ok(ContainerRoot {
            dir,
            layout: Some(layout),
            view: running,
        })
    }

    /// The root `cp` works in for `path` and the path inside it: a running container's live
    /// root; for one that is not running, the volume or bind mount `path` falls in (the
    /// deepest, as a runtime would stack them), else its own mounted files.
    pub(super) fn container_root_at(
        &self,
        record: &ContainerRecord,
        path: &str,
    ) -> Result<(ContainerRoot, String), EngineError> {
        let mut root = self.container_root(record, true)?;
        if record.state == State::Running {
            return Ok((root, path.to_string()));
        }
        let within = |destination: &str| -> Option<String> {
            let rest = Path::new(path).strip_prefix(destination).ok()?;
            Some(format!("/{}", rest.display()))
        };
        let deepest = record
            .spec
            .mounts
            .iter()
            .filter_map(|mount| {
                let source = match mount {
                    MountSpec::Bind { source, .. } => PathBuf::from(source),
                    MountSpec::Volume { name, .. } => {
                        self.volume_dir().join(name).join(skiff_spec::VOLUME_DATA)
                    }
                    MountSpec::Tmpfs { .. } | MountSpec::Image { .. } => return None,
                };
                let rest = within(mount.destination())?;
                Some((mount.destination().len(), source, rest))
            })
            .max_by_key(|(depth, ..)| *depth);
        match deepest {
            Some((_, source, rest)) if source.is_dir() => {
                root.dir = File::open(&source).io("open", &source)?;
                Ok((root, rest))
            }
            _ => Ok((root, path.to_string())),
        }
    }

    pub(super) fn record_for_files(
        &self,
        name_or_id: &str,
    ) -> Result<ContainerRecord, EngineError> {
        self.refresh(self.containers.lookup(name_or_id)?)
    }

    /// A container path as `cp` takes it: a relative one starts at the container's working
    /// directory (`--workdir`, else the image's), as in Podman.
    pub(super) fn in_working_directory(&self, record: &ContainerRecord, path: &str) -> String {
        if path.starts_with('/') {
            return path.to_string();
        }
        let workdir = record.spec.workdir.clone().or_else(|| {
            let config = self.images.resolve(&record.image_id).ok()?.config().ok()?;
            config.config().as_ref()?.working_dir().clone()
        });
        let workdir = workdir
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".into());
        format!("{}/{path}", workdir.trim_end_matches('/'))
    }

    /// What a path in the container is (`cp`'s stat, the API's archive HEAD), not following
    /// a last symlink.
    pub fn stat_container_path(
        &self,
        name_or_id: &str,
        path: &str,
    ) -> Result<PathStat, EngineError> {
        let record = self.record_for_files(name_or_id)?;
        let (root, path) =
            self.container_root_at(&record, &self.in_working_directory(&record, path))?;
        let Some((stat, target)) =
            skiff_storage::rootcopy::stat_in_root(&root.dir, Path::new(&path))
        else {
            return Err(EngineError::NoSuchObject(format!(
                "Could not find the file {path} in container {}",
                record.name
            )));
        };
        Ok(PathStat {
            name: last_name(Path::new(&path)),
            size: stat.st_size,
            mode: stat.st_mode,
            mtime: chrono::DateTime::from_timestamp(stat.st_mtime, stat.st_mtime_nsec as u32)
                .unwrap_or_default(),
            link_target: target
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default(),
        })
    }

    /// `export`: the container's files (not its volumes) as a tar stream.
    pub fn export_container(
        &self,
        name_or_id: &str,
        out: &mut dyn Write,
    ) -> Result<(), EngineError> {
        let record = self.record_for_files(name_or_id)?;
        let root = self.container_root(&record, false)?;
        pack_root_contents(&root.dir, out).map_err(|e| copy_error(&record.name, e))
    }
}

pub(super) fn copy_error(what: &str, e: std::io::Error) -> EngineError {
    EngineError::InvalidArgument(format!("copying {what}: {e}"))
}

/// The last component of a path, or `/`'s own name `.`.
fn last_name(path: &Path) -> String {
    path.components()
        .rev()
        .find_map(|c| match c {
            Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
            _ => None,
        })
        .unwrap_or_else(|| ".".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_names() {
        assert_eq!(last_name(Path::new("/etc/")), "etc");
        assert_eq!(last_name(Path::new("/etc/.")), "etc");
        assert_eq!(last_name(Path::new("/")), ".");
    }
}
