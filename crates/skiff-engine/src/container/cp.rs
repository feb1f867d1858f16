//! `cp`: files between the host, a tar stream and containers, by Podman's rules. Each side is
//! first resolved as Podman's `cp` resolves it: a container path relative to the working
//! directory, its symlinks (the last one too) evaluated inside the container; a host path
//! followed on the host. Then [`landing`] decides where the copy goes and under which name,
//! and one tar stream carries it, never following a link out of a container
//! (`skiff_storage::rootcopy`).
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use skiff_storage::beneath::{read_in_root, resolve_in_root};
use skiff_storage::rootcopy::{
    Kind, Unpack, archive_reader, kind_in_root, pack_from_root, unpack_into_root,
};

use super::files::{ContainerRoot, copy_error};
use super::store::{ContainerRecord, State};
use crate::engine::Engine;
use crate::error::{EngineError, IoContext};

/// How `cp` copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CpOptions {
    /// `--archive` (default): copies into a container belong to its user; else they keep the
    /// owners they come with.
    pub chown: bool,
    /// `--pause` (default): the container is frozen while its files change, where it can be.
    pub pause: bool,
    /// `--overwrite`: a directory may replace a non-directory and the other way round.
    pub overwrite: bool,
}

impl Default for CpOptions {
    fn default() -> Self {
        Self {
            chown: true,
            pause: true,
            overwrite: false,
        }
    }
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

/// A container path resolved as Podman's container stat resolves it.
struct ContainerPath {
    root: ContainerRoot,
    /// Inside `root`: symlinks evaluated, with the user's trailing `/` or `/.`.
    target: String,
    /// Whether it is a directory; None when nothing is there.
    is_dir: Option<bool>,
}

/// Where a copy goes: an existing path, or a new name in an existing directory.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Destination {
    /// The existing path, or the directory the new name goes in.
    target: String,
    is_dir: bool,
    /// The copy makes this name in `target` (a missing destination path).
    new_name: Option<String>,
}

impl Engine {
    /// `cp SRC DEST`: either side a host path, a container path or (`-`) a tar stream on
    /// `stdin` or `stdout`.
    pub fn copy(
        &self,
        source: &CopyTarget,
        destination: &CopyTarget,
        stdin: &mut dyn Read,
        stdout: &mut dyn Write,
        options: &CpOptions,
    ) -> Result<(), EngineError> {
        match (source, destination) {
            (
                CopyTarget::Container { container, path },
                CopyTarget::Container {
                    container: to,
                    path: into,
                },
            ) => self.copy_between_containers(container, path, to, into, options),
            (CopyTarget::Container { container, path }, _) => {
                self.copy_from_container(container, path, destination, stdout, options)
            }
            (_, CopyTarget::Container { container, path }) => {
                self.copy_to_container(source, container, path, stdin, options)
            }
            _ => Err(EngineError::InvalidArgument(
                "one of the paths must be a container path: CONTAINER:PATH".into(),
            )),
        }
    }

    /// `cp CONTAINER:SRC DEST` (DEST `-`: a tar stream to `stdout`).
    pub fn copy_from_container(
        &self,
        name_or_id: &str,
        source: &str,
        destination: &CopyTarget,
        stdout: &mut dyn Write,
        options: &CpOptions,
    ) -> Result<(), EngineError> {
        let record = self.record_for_files(name_or_id)?;
        let from = self.container_path(&record, source)?;
        let Some(source_is_dir) = from.is_dir else {
            return Err(not_in_container(source, &record.name));
        };
        let host = match destination {
            CopyTarget::Host(path) => path,
            CopyTarget::Stream => {
                let name = go_base(&from.target);
                return pack_from_root(
                    &from.root.dir,
                    Path::new(&from.target),
                    Path::new(&name),
                    stdout,
                )
                .map_err(|e| copy_error(source, e));
            }
            CopyTarget::Container { container, path } => {
                return self.copy_between_containers(name_or_id, source, container, path, options);
            }
        };
        let destination = host_destination(host)?;
        let (directory, name) = landing(&from.target, source_is_dir, &destination)?;
        let directory_file = File::open(&directory).io("open", &directory)?;
        let how = Unpack {
            owner: Some((
                nix::unistd::getuid().as_raw(),
                nix::unistd::getgid().as_raw(),
            )),
            overwrite: options.overwrite,
            devices: false,
        };
        stream(
            |writer| {
                pack_from_root(
                    &from.root.dir,
                    Path::new(&from.target),
                    Path::new(&name),
                    writer,
                )
            },
            |reader| unpack_into_root(&directory_file, Path::new("/"), reader, how),
            source,
            &host.display().to_string(),
        )
    }

    /// `cp SRC CONTAINER:DEST` (SRC `-`: a tar stream, compressed or not, from `stdin`,
    /// extracted into the directory DEST), with the container frozen meanwhile when
    /// `options.pause` asks and it can be.
    pub fn copy_to_container(
        &self,
        source: &CopyTarget,
        name_or_id: &str,
        destination: &str,
        stdin: &mut dyn Read,
        options: &CpOptions,
    ) -> Result<(), EngineError> {
        let record = self.record_for_files(name_or_id)?;
        let host = match source {
            CopyTarget::Host(path) => Some(host_source(path)?),
            CopyTarget::Stream => None,
            CopyTarget::Container { container, path } => {
                return self.copy_between_containers(
                    container,
                    path,
                    name_or_id,
                    destination,
                    options,
                );
            }
        };
        let (into, to) = self.container_destination(&record, destination, host.is_none())?;
        let how = self.unpack_for(&record, &into.root, options);
        self.paused_if(&record, options, || match &host {
            None => {
                let archive = archive_reader(stdin)
                    .map_err(|e| copy_error("stdin", e))?
                    .ok_or_else(|| {
                        EngineError::InvalidArgument(
                            "source must be a (compressed) tar archive when copying from stdin"
                                .into(),
                        )
                    })?;
                unpack_into_root(&into.root.dir, Path::new(&to.target), archive, how)
                    .map_err(|e| copy_error(destination, e))
            }
            Some((path, is_dir)) => {
                let (directory, name) = landing(&path.to_string_lossy(), *is_dir, &to)?;
                stream(
                    |writer| pack_host_path(path, *is_dir, Path::new(&name), writer),
                    |reader| unpack_into_root(&into.root.dir, Path::new(&directory), reader, how),
                    &path.display().to_string(),
                    destination,
                )
            }
        })
    }

    /// `cp CONTAINER:SRC CONTAINER:DEST`: a tar stream from one container into the other, as
    /// `cp` through the host would make it.
    pub fn copy_between_containers(
        &self,
        from: &str,
        source: &str,
        to: &str,
        destination: &str,
        options: &CpOptions,
    ) -> Result<(), EngineError> {
        let from_record = self.record_for_files(from)?;
        let from_path = self.container_path(&from_record, source)?;
        let Some(source_is_dir) = from_path.is_dir else {
            return Err(not_in_container(source, &from_record.name));
        };
        let to_record = self.record_for_files(to)?;
        let (into, to) = self.container_destination(&to_record, destination, false)?;
        let (directory, name) = landing(&from_path.target, source_is_dir, &to)?;
        let how = self.unpack_for(&to_record, &into.root, options);
        self.paused_if(&to_record, options, || {
            stream(
                |writer| {
                    pack_from_root(
                        &from_path.root.dir,
                        Path::new(&from_path.target),
                        Path::new(&name),
                        writer,
                    )
                },
                |reader| unpack_into_root(&into.root.dir, Path::new(&directory), reader, how),
                source,
                destination,
            )
        })
    }

    /// A container path as Podman's `cp` resolves it: relative to the working directory, in the
    /// volume or bind mount it falls in when the container is not running, its symlinks
    /// evaluated inside.
    fn container_path(
        &self,
        record: &ContainerRecord,
        given: &str,
    ) -> Result<ContainerPath, EngineError> {
        let (root, path) =
            self.container_root_at(record, &self.in_working_directory(record, given))?;
        let resolved = resolve_in_root(&root.dir, Path::new(&path)).map_err(|e| {
            EngineError::NoSuchPath(format!(
                "{given:?} could not be found on container {}: {}",
                record.name,
                errno_text(&e)
            ))
        })?;
        let is_dir = resolved
            .exists
            .then(|| kind_in_root(&root.dir, &resolved.path) == Some(Kind::Directory))
            // `PATH/` asks for a directory: a file there is not found (ENOTDIR).
            .filter(|is_dir| *is_dir || !given.ends_with('/'));
        Ok(ContainerPath {
            root,
            target: preserve_base(given, &resolved.path.to_string_lossy()),
            is_dir,
        })
    }

    /// Where a copy into the container goes: the path when it exists, else a new name in its
    /// parent directory, which must exist. A stream (`from_stream`) goes into an existing
    /// directory only.
    fn container_destination(
        &self,
        record: &ContainerRecord,
        given: &str,
        from_stream: bool,
    ) -> Result<(ContainerPath, Destination), EngineError> {
        let path = self.container_path(record, given)?;
        let not_a_directory = || {
            EngineError::InvalidArgument(
                "destination must be a directory when copying from stdin".into(),
            )
        };
        if let Some(is_dir) = path.is_dir {
            if from_stream && !is_dir {
                return Err(not_a_directory());
            }
            let destination = Destination {
                target: path.target.clone(),
                is_dir,
                new_name: None,
            };
            return Ok((path, destination));
        }
        if given.ends_with('/') {
            return Err(not_in_container(given, &record.name));
        }
        if from_stream {
            return Err(not_a_directory());
        }
        let parent = go_dir(&path.target);
        if kind_in_root(&path.root.dir, Path::new(&parent)) != Some(Kind::Directory) {
            return Err(not_in_container(given, &record.name));
        }
        let destination = Destination {
            new_name: Some(go_base(&path.target)),
            target: parent,
            is_dir: true,
        };
        Ok((path, destination))
    }

    /// How copies into a container are made: owned by its user (`--archive`, as Podman), its
    /// devices made.
    fn unpack_for(
        &self,
        record: &ContainerRecord,
        root: &ContainerRoot,
        options: &CpOptions,
    ) -> Unpack {
        let owner = options.chown.then(|| {
            let image_user = self
                .images
                .resolve(&record.image_id)
                .ok()
                .and_then(|image| image.config().ok())
                .and_then(|config| config.config().as_ref().and_then(|c| c.user().clone()));
            skiff_spec::resolve_user_with(
                |relative| read_in_root(&root.dir, Path::new(relative)),
                record.spec.user.as_deref().or(image_user.as_deref()),
            )
            .map(|user| (user.uid, user.gid))
            .unwrap_or((0, 0))
        });
        Unpack {
            owner,
            overwrite: options.overwrite,
            devices: true,
        }
    }

    fn paused_if<T>(
        &self,
        record: &ContainerRecord,
        options: &CpOptions,
        work: impl FnOnce() -> T,
    ) -> T {
        if options.pause && record.state == State::Running {
            return self.frozen_while(&record.id, record.pid, work);
        }
        work()
    }
}

/// Where a copy lands, by Podman's rules: the directory to extract into and the name the copy
/// takes there (`.`: a directory's contents). Into an existing directory a copy keeps its own
/// name (`SRC/.`: its contents go); over an existing file or as a new name it is renamed.
fn landing(
    source_target: &str,
    source_is_dir: bool,
    destination: &Destination,
) -> Result<(String, String), EngineError> {
    let mut source_target = source_target.to_string();
    // `DIR/.` to a new name: the directory itself, renamed, is the new directory.
    if destination.new_name.is_some() && source_is_dir && source_target.ends_with('.') {
        source_target = go_dir(&source_target);
    }
    if source_is_dir && !destination.is_dir {
        return Err(EngineError::InvalidArgument(
            "destination must be a directory when copying a directory".into(),
        ));
    }
    let name = match &destination.new_name {
        Some(name) => name.clone(),
        None if !source_is_dir && !destination.is_dir => go_base(&destination.target),
        None => go_base(&source_target),
    };
    let directory = if destination.is_dir {
        destination.target.clone()
    } else {
        go_dir(&destination.target)
    };
    Ok((directory, name))
}

/// A host source: followed if a symlink, as Podman's `cp` reads it; with whether it is a
/// directory.
fn host_source(given: &Path) -> Result<(PathBuf, bool), EngineError> {
    let meta = fs::metadata(given).map_err(|e| not_on_host(given, &e))?;
    Ok((absolute(given), meta.is_dir()))
}

/// Where a copy to the host goes: the path when it exists (a directory or a regular file),
/// else a new name in its parent directory.
fn host_destination(given: &Path) -> Result<Destination, EngineError> {
    let text = given.to_string_lossy();
    let path = absolute(given);
    match fs::metadata(given) {
        // Through a symlink to where it points: the link itself stays.
        Ok(meta) if meta.is_dir() || meta.is_file() => Ok(Destination {
            target: fs::canonicalize(given)
                .unwrap_or(path)
                .to_string_lossy()
                .into_owned(),
            is_dir: meta.is_dir(),
            new_name: None,
        }),
        Ok(_) => Err(EngineError::InvalidArgument(format!(
            "invalid destination: {:?} must be a directory or a regular file",
            path.to_string_lossy()
        ))),
        Err(e) if text.ends_with('/') => Err(not_on_host(given, &e)),
        Err(e) => {
            let parent = go_dir(&path.to_string_lossy());
            if !Path::new(&parent).is_dir() {
                return Err(not_on_host(given, &e));
            }
            Ok(Destination {
                new_name: Some(go_base(&text)),
                target: parent,
                is_dir: true,
            })
        }
    }
}

/// A host path or tree as a tar stream named `name` (`.`: a directory's contents); a symlink
/// given as the source is followed, the links inside are copied as links.
fn pack_host_path(path: &Path, is_dir: bool, name: &Path, out: impl Write) -> io::Result<()> {
    let real = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    if is_dir {
        builder.append_dir_all(name, &real)?;
    } else {
        let mut file = File::open(&real)?;
        builder.append_file(name, &mut file)?;
    }
    builder.into_inner()?.flush()
}

/// Packs on one thread and unpacks on this one through a pipe; the first failure wins.
fn stream(
    pack: impl FnOnce(io::PipeWriter) -> io::Result<()> + Send,
    unpack: impl FnOnce(io::PipeReader) -> io::Result<()>,
    source: &str,
    destination: &str,
) -> Result<(), EngineError> {
    let (reader, writer) = io::pipe().io("create", "pipe")?;
    std::thread::scope(|scope| {
        let packing = scope.spawn(move || pack(writer));
        let unpacked = unpack(reader).map_err(|e| copy_error(destination, e));
        let packed = packing
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the packing thread failed")));
        match (unpacked, packed) {
            (Err(e), _) => Err(e),
            (Ok(()), Err(e)) => Err(copy_error(source, e)),
            (Ok(()), Ok(())) => Ok(()),
        }
    })
}

/// `path` made absolute against the working directory, keeping a trailing `/` or `/.` (they
/// decide what a copy means).
fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    PathBuf::from(format!("{}/{}", cwd.display(), path.display()))
}

/// `resolved` with the trailing `/` or `/.` of `original` (Podman's PreserveBasePath).
fn preserve_base(original: &str, resolved: &str) -> String {
    if resolved.ends_with('/') {
        resolved.to_string()
    } else if original.ends_with("/.") {
        format!("{resolved}/.")
    } else if original.ends_with('/') {
        format!("{resolved}/")
    } else {
        resolved.to_string()
    }
}

/// The last element of a path as Go's `filepath.Base` gives it (`.` for `DIR/.`, the name
/// before trailing slashes), except that `/` is `.` too: what a copy of it archives is the
/// contents.
fn go_base(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return ".".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// All but the last element, cleaned (Go's `filepath.Dir`).
fn go_dir(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    let parent = match trimmed.rsplit_once('/') {
        Some(("", _)) => "/",
        Some((parent, _)) => parent,
        None if path.starts_with('/') => "/",
        None => ".",
    };
    let mut clean = PathBuf::new();
    for component in Path::new(parent).components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    match clean.to_string_lossy().into_owned() {
        empty if empty.is_empty() => ".".into(),
        clean => clean,
    }
}

fn not_in_container(given: &str, container: &str) -> EngineError {
    EngineError::NoSuchPath(format!(
        "{given:?} could not be found on container {container}: no such file or directory"
    ))
}

fn not_on_host(given: &Path, error: &io::Error) -> EngineError {
    EngineError::NoSuchPath(format!(
        "{:?} could not be found on the host: {}",
        given.to_string_lossy(),
        errno_text(error)
    ))
}

/// An I/O error as Go prints a system call's: "no such file or directory".
fn errno_text(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(code) => {
            let text = nix::errno::Errno::from_raw(code).desc();
            let mut chars = text.chars();
            chars
                .next()
                .map(|first| first.to_lowercase().chain(chars).collect())
                .unwrap_or_default()
        }
        None => error.to_string(),
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
    fn paths_split_as_go_splits_them() {
        assert_eq!(go_base("/tmp/."), ".");
        assert_eq!(go_base("/tmp/"), "tmp");
        assert_eq!(go_base("/"), ".");
        assert_eq!(go_base("file"), "file");
        assert_eq!(go_dir("/tmp/."), "/tmp");
        assert_eq!(go_dir("/tmp/x/"), "/tmp");
        assert_eq!(go_dir("/tmp"), "/");
        assert_eq!(go_dir("file"), ".");
        assert_eq!(preserve_base("/a/link/.", "/b"), "/b/.");
        assert_eq!(preserve_base("/a/link/", "/b"), "/b/");
        assert_eq!(preserve_base("/.", "/"), "/");
        assert_eq!(preserve_base("x", "/srv/x"), "/srv/x");
    }

    fn existing(target: &str, is_dir: bool) -> Destination {
        Destination {
            target: target.into(),
            is_dir,
            new_name: None,
        }
    }

    fn new(parent: &str, name: &str) -> Destination {
        Destination {
            target: parent.into(),
            is_dir: true,
            new_name: Some(name.into()),
        }
    }

    #[test]
    fn copies_land_where_podman_puts_them() {
        let land = |source: &str, dir: bool, destination: &Destination| {
            landing(source, dir, destination).map_err(|e| e.to_string())
        };
        let pair = |d: &str, n: &str| Ok((d.to_string(), n.to_string()));
        // Into a directory under its own name, or its contents with DIR/. .
        assert_eq!(
            land("/tmp/file", false, &existing("/srv", true)),
            pair("/srv", "file")
        );
        assert_eq!(
            land("/tmp/dir", true, &existing("/srv", true)),
            pair("/srv", "dir")
        );
        assert_eq!(
            land("/tmp/dir/.", true, &existing("/srv", true)),
            pair("/srv", ".")
        );
        // Over a file, or as a new name: renamed.
        assert_eq!(
            land("/tmp/file", false, &existing("/srv/f", false)),
            pair("/srv", "f")
        );
        assert_eq!(
            land("/tmp/file", false, &new("/srv", "copy")),
            pair("/srv", "copy")
        );
        assert_eq!(
            land("/tmp/dir", true, &new("/srv", "copy")),
            pair("/srv", "copy")
        );
        assert_eq!(
            land("/tmp/dir/.", true, &new("/srv", "copy")),
            pair("/srv", "copy")
        );
        assert_eq!(
            land("/tmp/dir", true, &existing("/srv/f", false)),
            Err("destination must be a directory when copying a directory".into())
        );
    }
}
