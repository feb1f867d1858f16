//! A container's files from the host: `cp` in both directions, `diff`, `export`. A running
//! container is reached through its init's root (/proc/PID/root, mounts and all); a stopped
//! one is mounted in this process's private mount namespace. Paths inside the container are
//! always resolved inside it (see `skiff_storage::rootcopy`).
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use skiff_storage::RootfsLayout;
use skiff_storage::rootcopy::{
    Kind, kind_in_root, pack_from_root, pack_root_contents, unpack_into_root,
};

use super::store::{ContainerRecord, State};
use crate::engine::Engine;
use crate::error::{EngineError, IoContext};
use skiff_spec::MountSpec;

/// How `cp` copies into a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CopyInto {
    /// `--archive` (default): the copies belong to the container's root; else they keep the
    /// owners they come with.
    pub chown: bool,
    /// `--pause` (default): the container is frozen while its files change, where it can be.
    pub pause: bool,
}

impl Default for CopyInto {
    fn default() -> Self {
        Self {
            chown: true,
            pause: true,
        }
    }
}

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

/// One side of `cp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyTarget {
    /// `-`: a tar stream on stdin or stdout.
    Stream,
    Host(PathBuf),
    Container {
        container: String,
        path: String,
    },
}

impl CopyTarget {
    /// Docker's rule: `NAME:PATH` names a container when NAME holds no `/` and the argument
    /// does not start with `/` or `.`.
    pub fn parse(text: &str) -> CopyTarget {
        if text == "-" {
            return CopyTarget::Stream;
        }
        if !text.starts_with('/')
            && !text.starts_with('.')
            && let Some((container, path)) = text.split_once(':')
            && !container.is_empty()
            && !container.contains('/')
        {
            return CopyTarget::Container {
                container: container.to_string(),
                path: path.to_string(),
            };
        }
        CopyTarget::Host(PathBuf::from(text))
    }
}

/// A container's root reachable from this process; unmounted when dropped.
struct ContainerRoot {
    dir: File,
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
        let image = self.images.resolve(&record.image_id)?;
        let layers = self.images.layer_paths(&image)?;
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
    fn container_root_at(
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

    fn record_for_files(&self, name_or_id: &str) -> Result<ContainerRecord, EngineError> {
        self.refresh(self.containers.lookup(name_or_id)?)
    }

    /// A container path as `cp` takes it: a relative one starts at the container's working
    /// directory (`--workdir`, else the image's), as in Podman.
    fn in_working_directory(&self, record: &ContainerRecord, path: &str) -> String {
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

    /// `cp CONTAINER:SRC DEST` (DEST `-`: a tar stream to `stdout`).
    pub fn copy_from_container(
        &self,
        name_or_id: &str,
        source: &str,
        destination: &CopyTarget,
        stdout: &mut dyn Write,
    ) -> Result<(), EngineError> {
        let record = self.record_for_files(name_or_id)?;
        let (root, source) =
            self.container_root_at(&record, &self.in_working_directory(&record, source))?;
        let source = &source;
        let source_path = Path::new(source);
        let Some(kind) = kind_in_root(&root.dir, source_path) else {
            return Err(EngineError::InvalidArgument(format!(
                "{source:?} could not be found on container {}: no such file or directory",
                record.name
            )));
        };
        let contents = source.ends_with("/.");
        let base = last_name(source_path);
        let destination = match destination {
            CopyTarget::Stream => {
                return pack_from_root(&root.dir, source_path, Path::new(&base), stdout)
                    .map_err(|e| copy_error(source, e));
            }
            CopyTarget::Host(path) => path,
            CopyTarget::Container { .. } => {
                return Err(EngineError::InvalidArgument(
                    "copying between containers is not supported".into(),
                ));
            }
        };
        let existing = fs::metadata(destination).ok();
        let (directory, name) = match (&existing, kind) {
            (Some(meta), Kind::Directory) if !meta.is_dir() => {
                return Err(EngineError::InvalidArgument(
                    "destination must be a directory when copying a directory".into(),
                ));
            }
            (Some(meta), _) if meta.is_dir() && contents => (destination.clone(), ".".into()),
            (Some(meta), _) if meta.is_dir() => (destination.clone(), base),
            _ if destination.as_os_str().to_string_lossy().ends_with('/') => {
                return Err(EngineError::InvalidArgument(format!(
                    "{}: no such directory",
                    destination.display()
                )));
            }
            _ => {
                let parent = destination
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
                    .to_path_buf();
                if !parent.is_dir() {
                    return Err(EngineError::InvalidArgument(format!(
                        "{}: no such directory",
                        parent.display()
                    )));
                }
                (parent, last_name(destination))
            }
        };
        let (reader, writer) = std::io::pipe().io("create", "pipe")?;
        let mut failure = None;
        std::thread::scope(|scope| {
            let root_dir = &root.dir;
            let packing = scope
                .spawn(move || pack_from_root(root_dir, source_path, Path::new(&name), writer));
            let mut archive = tar::Archive::new(reader);
            archive.set_preserve_permissions(true);
            archive.set_preserve_mtime(true);
            if let Err(e) = archive.unpack(&directory) {
                failure = Some(copy_error(&destination.display().to_string(), e));
            }
            drop(archive);
            if let Ok(Err(e)) = packing.join() {
                failure.get_or_insert(copy_error(source, e));
            }
        });
        failure.map_or(Ok(()), Err)
    }

    /// `cp SRC CONTAINER:DEST` (SRC `-`: a tar stream from `stdin`, extracted into DEST),
    /// with the container frozen meanwhile when `options.pause` asks and it can be.
    pub fn copy_to_container(
        &self,
        source: &CopyTarget,
        name_or_id: &str,
        destination: &str,
        stdin: &mut dyn Read,
        options: &CopyInto,
    ) -> Result<(), EngineError> {
        let record = self.record_for_files(name_or_id)?;
        if options.pause && record.state == State::Running {
            return self.frozen_while(&record.id, record.pid, || {
                self.copy_into(source, &record, destination, stdin, options)
            });
        }
        self.copy_into(source, &record, destination, stdin, options)
    }

    fn copy_into(
        &self,
        source: &CopyTarget,
        record: &ContainerRecord,
        destination: &str,
        stdin: &mut dyn Read,
        options: &CopyInto,
    ) -> Result<(), EngineError> {
        let record = record.clone();
        let (root, destination) =
            self.container_root_at(&record, &self.in_working_directory(&record, destination))?;
        // The container's root, or (`--archive=false`) the owners the archive gives.
        let owner = options.chown.then_some((0, 0));
        let destination = &destination;
        let destination_path = Path::new(destination);
        let existing = kind_in_root(&root.dir, destination_path);
        let source = match source {
            CopyTarget::Stream => {
                if existing != Some(Kind::Directory) {
                    return Err(EngineError::InvalidArgument(format!(
                        "{destination:?} is not a directory in container {}",
                        record.name
                    )));
                }
                return unpack_into_root(&root.dir, destination_path, stdin, owner)
                    .map_err(|e| copy_error(destination, e));
            }
            CopyTarget::Host(path) => path,
            CopyTarget::Container { .. } => {
                return Err(EngineError::InvalidArgument(
                    "copying between containers is not supported".into(),
                ));
            }
        };
        let source_meta = fs::symlink_metadata(source)
            .map_err(|e| EngineError::InvalidArgument(format!("{}: {e}", source.display())))?;
        let contents = source.as_os_str().to_string_lossy().ends_with("/.");
        let (directory, name) = landing(
            &root.dir,
            &record.name,
            destination,
            existing,
            source_meta.is_dir(),
            contents,
            &last_name(source),
        )?;
        let (reader, writer) = std::io::pipe().io("create", "pipe")?;
        let mut failure = None;
        std::thread::scope(|scope| {
            let packing = scope.spawn(move || -> std::io::Result<()> {
                let mut builder = tar::Builder::new(writer);
                builder.follow_symlinks(false);
                if source_meta.is_dir() {
                    builder.append_dir_all(&name, source)?;
                } else {
                    builder.append_path_with_name(source, &name)?;
                }
                builder.into_inner()?.flush()
            });
            if let Err(e) = unpack_into_root(&root.dir, &directory, reader, owner) {
                failure = Some(copy_error(destination, e));
            }
            if let Ok(Err(e)) = packing.join() {
                failure.get_or_insert(copy_error(&source.display().to_string(), e));
            }
        });
        failure.map_or(Ok(()), Err)
    }

    /// `cp CONTAINER:SRC CONTAINER:DEST`: a tar stream from one container into the other,
    /// as `cp` from and to the host would make it.
    pub fn copy_between_containers(
        &self,
        from: &str,
        source: &str,
        to: &str,
        destination: &str,
    ) -> Result<(), EngineError> {
        let from_record = self.record_for_files(from)?;
        let (from_root, source) = self.container_root_at(
            &from_record,
            &self.in_working_directory(&from_record, source),
        )?;
        let source_path = Path::new(&source);
        let Some(kind) = kind_in_root(&from_root.dir, source_path) else {
            return Err(EngineError::InvalidArgument(format!(
                "{source:?} could not be found on container {}: no such file or directory",
                from_record.name
            )));
        };
        let to_record = self.record_for_files(to)?;
        let (to_root, destination) = self.container_root_at(
            &to_record,
            &self.in_working_directory(&to_record, destination),
        )?;
        let existing = kind_in_root(&to_root.dir, Path::new(&destination));
        let (directory, name) = landing(
            &to_root.dir,
            &to_record.name,
            &destination,
            existing,
            kind == Kind::Directory,
            source.ends_with("/."),
            &last_name(source_path),
        )?;
        let (reader, writer) = std::io::pipe().io("create", "pipe")?;
        let mut failure = None;
        std::thread::scope(|scope| {
            let from_dir = &from_root.dir;
            let packing = scope.spawn(move || pack_from_root(from_dir, source_path, &name, writer));
            if let Err(e) = unpack_into_root(&to_root.dir, &directory, reader, Some((0, 0))) {
                failure = Some(copy_error(&destination, e));
            }
            if let Ok(Err(e)) = packing.join() {
                failure.get_or_insert(copy_error(&source, e));
            }
        });
        failure.map_or(Ok(()), Err)
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

/// Where a copy into a container lands: the directory to extract into and the name of the
/// copied entry. An existing directory takes the source under its own name (or its contents,
/// for `SRC/.`); anything else names the copy, in a parent that must exist.
fn landing(
    root: &File,
    container: &str,
    destination: &str,
    existing: Option<Kind>,
    source_is_dir: bool,
    contents: bool,
    source_name: &str,
) -> Result<(PathBuf, PathBuf), EngineError> {
    let destination_path = Path::new(destination);
    Ok(match existing {
        Some(Kind::Directory) if contents => (destination_path.to_path_buf(), PathBuf::from(".")),
        Some(Kind::Directory) => (destination_path.to_path_buf(), PathBuf::from(source_name)),
        Some(_) if source_is_dir => {
            return Err(EngineError::InvalidArgument(
                "destination must be a directory when copying a directory".into(),
            ));
        }
        None if destination.ends_with('/') => {
            return Err(EngineError::InvalidArgument(format!(
                "{destination:?}: no such directory in container {container}"
            )));
        }
        _ => {
            let parent = destination_path.parent().unwrap_or(Path::new("/"));
            if kind_in_root(root, parent) != Some(Kind::Directory) {
                return Err(EngineError::InvalidArgument(format!(
                    "{:?}: no such directory in container {container}",
                    parent.display().to_string(),
                )));
            }
            (
                parent.to_path_buf(),
                PathBuf::from(last_name(destination_path)),
            )
        }
    })
}

fn copy_error(what: &str, e: std::io::Error) -> EngineError {
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
    fn copy_targets_parse_like_docker() {
        assert_eq!(CopyTarget::parse("-"), CopyTarget::Stream);
        assert_eq!(
            CopyTarget::parse("box:/etc/hostname"),
            CopyTarget::Container {
                container: "box".into(),
                path: "/etc/hostname".into()
            }
        );
        assert_eq!(CopyTarget::parse("./a:b"), CopyTarget::Host("./a:b".into()));
        assert_eq!(
            CopyTarget::parse("/tmp/x:y"),
            CopyTarget::Host("/tmp/x:y".into())
        );
        assert_eq!(
            CopyTarget::parse("dir/f:y"),
            CopyTarget::Host("dir/f:y".into())
        );
        assert_eq!(CopyTarget::parse("file"), CopyTarget::Host("file".into()));
    }

    #[test]
    fn last_names() {
        assert_eq!(last_name(Path::new("/etc/")), "etc");
        assert_eq!(last_name(Path::new("/etc/.")), "etc");
        assert_eq!(last_name(Path::new("/")), ".");
    }
}
