//! A container's files from the host: `cp` in both directions, `diff`, `export`. A running
//! container is reached through its init's root (/proc/PID/root, mounts and all); a stopped
//! one is mounted in this process's private mount namespace. Paths inside the container are
//! always resolved inside it (see `skiff_storage::rootcopy`).
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use skiff_storage::RootfsLayout;
use skiff_storage::rootcopy::{
    Kind, kind_in_root, pack_from_root, pack_root_contents, unpack_into_root,
};

use super::store::{ContainerRecord, State};
use crate::engine::Engine;
use crate::error::{EngineError, IoContext};

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

/// What `diff` reports for one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    Added,
    Changed,
    Deleted,
}

impl ChangeKind {
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Added => 'A',
            ChangeKind::Changed => 'C',
            ChangeKind::Deleted => 'D',
        }
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

impl Engine {
    /// The container's root: live through its init when it runs (`live`), else mounted here;
    /// without `live`, a read-only view of its own files only (no volumes, no /proc).
    fn container_root(
        &self,
        record: &ContainerRecord,
        live: bool,
    ) -> Result<ContainerRoot, EngineError> {
        if live && record.state == State::Running {
            let path = format!("/proc/{}/root", record.pid);
            let dir = File::open(&path).io("open", &path)?;
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

    fn record_for_files(&self, name_or_id: &str) -> Result<ContainerRecord, EngineError> {
        self.refresh(self.containers.lookup(name_or_id)?)
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
        let root = self.container_root(&record, true)?;
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
                return Err(EngineError::InvalidArgument(format!(
                    "cannot copy directory {source:?} onto the file {}",
                    destination.display()
                )));
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

    /// `cp SRC CONTAINER:DEST` (SRC `-`: a tar stream from `stdin`, extracted into DEST).
    pub fn copy_to_container(
        &self,
        source: &CopyTarget,
        name_or_id: &str,
        destination: &str,
        stdin: &mut dyn Read,
    ) -> Result<(), EngineError> {
        let record = self.record_for_files(name_or_id)?;
        let root = self.container_root(&record, true)?;
        let owner = (0, 0);
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
        let (directory, name) = match existing {
            Some(Kind::Directory) if contents => {
                (destination_path.to_path_buf(), PathBuf::from("."))
            }
            Some(Kind::Directory) => (
                destination_path.to_path_buf(),
                PathBuf::from(last_name(source)),
            ),
            Some(_) if source_meta.is_dir() => {
                return Err(EngineError::InvalidArgument(format!(
                    "cannot copy directory {} onto the file {destination:?}",
                    source.display()
                )));
            }
            None if destination.ends_with('/') => {
                return Err(EngineError::InvalidArgument(format!(
                    "{destination:?}: no such directory in container {}",
                    record.name
                )));
            }
            _ => {
                let parent = destination_path.parent().unwrap_or(Path::new("/"));
                if kind_in_root(&root.dir, parent) != Some(Kind::Directory) {
                    return Err(EngineError::InvalidArgument(format!(
                        "{:?}: no such directory in container {}",
                        parent.display().to_string(),
                        record.name
                    )));
                }
                (
                    parent.to_path_buf(),
                    PathBuf::from(last_name(destination_path)),
                )
            }
        };
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

    /// `diff`: what the container changed against its image, sorted by path.
    pub fn container_changes(
        &self,
        name_or_id: &str,
    ) -> Result<Vec<(ChangeKind, String)>, EngineError> {
        let record = self.record_for_files(name_or_id)?;
        let image = self.images.resolve(&record.image_id)?;
        let layers = self.images.layer_paths(&image)?;
        let layout = self.layout(&record.id, &record.driver);
        let mut changes = BTreeMap::new();
        match layout.upper() {
            Some(upper) => upper_changes(&upper, Path::new(""), &layers, &mut changes),
            None => {
                let rootfs = layout.rootfs();
                if rootfs.is_dir() {
                    copy_changes(&rootfs, &layers, &mut changes);
                }
            }
        }
        // What skiff itself made for the container to run, as Podman leaves out.
        const MADE_BY_ENGINE: &[&str] = &[
            "/dev",
            "/etc/hostname",
            "/etc/hosts",
            "/etc/mtab",
            "/etc/resolv.conf",
            "/proc",
            "/run",
            "/run/.containerenv",
            "/run/secrets",
            "/sys",
        ];
        Ok(changes
            .into_iter()
            .filter(|(path, _)| !MADE_BY_ENGINE.contains(&path.as_str()))
            .map(|(path, kind)| (kind, path))
            .collect())
    }
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

fn is_whiteout(meta: &fs::Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

/// Whether `relative` exists in any image layer.
fn in_lower(layers: &[PathBuf], relative: &Path) -> bool {
    layers
        .iter()
        .any(|layer| fs::symlink_metadata(layer.join(relative)).is_ok_and(|m| !is_whiteout(&m)))
}

/// overlay: everything in the upper directory is a change; a whiteout is a deletion.
fn upper_changes(
    upper: &Path,
    relative: &Path,
    layers: &[PathBuf],
    changes: &mut BTreeMap<String, ChangeKind>,
) {
    let Ok(entries) = fs::read_dir(upper.join(relative)) else {
        return;
    };
    for entry in entries.flatten() {
        let path = relative.join(entry.file_name());
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        let shown = format!("/{}", path.display());
        if is_whiteout(&meta) {
            changes.insert(shown, ChangeKind::Deleted);
            continue;
        }
        let kind = if in_lower(layers, &path) {
            ChangeKind::Changed
        } else {
            ChangeKind::Added
        };
        changes.insert(shown, kind);
        if meta.is_dir() {
            upper_changes(upper, &path, layers, changes);
        }
    }
}

/// vfs: the container's full copy compared with its image's layers.
fn copy_changes(rootfs: &Path, layers: &[PathBuf], changes: &mut BTreeMap<String, ChangeKind>) {
    // The image's files, top layer winning, whiteouts applied.
    let mut image: BTreeMap<PathBuf, fs::Metadata> = BTreeMap::new();
    for layer in layers {
        walk(layer, Path::new(""), &mut |relative, meta| {
            if is_whiteout(meta) {
                image.retain(|p, _| !p.starts_with(relative));
            } else {
                image.insert(relative.to_path_buf(), meta.clone());
            }
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    walk(rootfs, Path::new(""), &mut |relative, meta| {
        seen.insert(relative.to_path_buf());
        let shown = format!("/{}", relative.display());
        match image.get(relative) {
            None => {
                changes.insert(shown, ChangeKind::Added);
            }
            Some(before) => {
                let same = before.file_type() == meta.file_type()
                    && before.mode() == meta.mode()
                    && (meta.is_dir()
                        || (before.size() == meta.size() && before.mtime() == meta.mtime()));
                if !same {
                    changes.insert(shown, ChangeKind::Changed);
                }
            }
        }
    });
    for path in image.keys().filter(|p| !seen.contains(*p)) {
        // Only the top of a deleted tree, as overlay reports it.
        if path
            .parent()
            .is_none_or(|p| p.as_os_str().is_empty() || seen.contains(p))
        {
            changes.insert(format!("/{}", path.display()), ChangeKind::Deleted);
        }
    }
}

fn walk(base: &Path, relative: &Path, visit: &mut dyn FnMut(&Path, &fs::Metadata)) {
    let Ok(entries) = fs::read_dir(base.join(relative)) else {
        return;
    };
    for entry in entries.flatten() {
        let path = relative.join(entry.file_name());
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        visit(&path, &meta);
        if meta.is_dir() {
            walk(base, &path, visit);
        }
    }
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
