//! What a container changed against its image (`diff`), and that change written as an OCI layer
//! (`commit`, each step of a build): changed entries as they are, a deletion as `.wh.NAME`, a
//! directory that hides everything below it as `.wh..wh..opq`.
//!
//! With overlay the upper directory is the change; with vfs the container's full copy is
//! compared with its image's layers.
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::unpack::{OpaqueXattr, get_xattr};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// What happened to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    Added,
    Changed,
    Deleted,
}

impl ChangeKind {
    /// `diff`'s letter.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Added => 'A',
            ChangeKind::Changed => 'C',
            ChangeKind::Deleted => 'D',
        }
    }
}

/// One changed path, relative to the root, parents before children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: PathBuf,
    pub kind: ChangeKind,
    /// A directory that replaces (not merges with) the one in the image.
    pub opaque: bool,
}

/// Where a container's changes can be read.
#[derive(Debug, Clone, Copy)]
pub enum ChangeSource<'a> {
    /// overlay: the upper directory.
    Upper(&'a Path, OpaqueXattr),
    /// vfs: the container's full copy of its root.
    Copy(&'a Path),
}

impl ChangeSource<'_> {
    fn base(&self) -> &Path {
        match self {
            ChangeSource::Upper(path, _) | ChangeSource::Copy(path) => path,
        }
    }
}

/// The changes against `layers` (the image's unpacked layers, base first), sorted by path.
pub fn changes(source: ChangeSource<'_>, layers: &[PathBuf]) -> Vec<Change> {
    let mut found = BTreeMap::new();
    match source {
        ChangeSource::Upper(upper, opaque) => {
            upper_changes(upper, Path::new(""), layers, opaque, &mut found)
        }
        ChangeSource::Copy(rootfs) if rootfs.is_dir() => copy_changes(rootfs, layers, &mut found),
        ChangeSource::Copy(_) => {}
    }
    found
        .into_iter()
        .map(|(path, (kind, opaque))| Change { path, kind, opaque })
        .collect()
}

/// Options of a layer written from changes.
#[derive(Debug, Clone, Copy, Default)]
pub struct PackOptions {
    /// Every entry's modification time (`--timestamp`, SOURCE_DATE_EPOCH); else the file's own.
    pub timestamp: Option<u64>,
}

/// Writes `changes` read from `source` as an uncompressed layer tar stream.
pub fn pack_changes(
    source: ChangeSource<'_>,
    changes: &[Change],
    options: PackOptions,
    out: impl Write,
) -> io::Result<()> {
    let base = source.base();
    let mut builder = tar::Builder::new(out);
    for change in changes {
        let name = &change.path;
        if change.kind == ChangeKind::Deleted {
            let file_name = name.file_name().unwrap_or_default().to_string_lossy();
            let whiteout = name.with_file_name(format!("{WHITEOUT_PREFIX}{file_name}"));
            append_marker(&mut builder, &whiteout, options)?;
            continue;
        }
        let path = base.join(name);
        let meta = fs::symlink_metadata(&path)?;
        append_entry(&mut builder, &path, name, &meta, options)?;
        if change.opaque {
            append_marker(&mut builder, &name.join(OPAQUE_MARKER), options)?;
        }
    }
    builder.into_inner()?.flush()
}

fn append_marker<W: Write>(
    builder: &mut tar::Builder<W>,
    name: &Path,
    options: PackOptions,
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_size(0);
    header.set_mtime(options.timestamp.unwrap_or(0));
    builder.append_data(&mut header, name, io::empty())
}

/// One entry with its owner, mode and time, without following a symbolic link.
fn append_entry<W: Write>(
    builder: &mut tar::Builder<W>,
    path: &Path,
    name: &Path,
    meta: &fs::Metadata,
    options: PackOptions,
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
    if let Some(time) = options.timestamp {
        header.set_mtime(time);
    }
    let kind = meta.file_type();
    if kind.is_symlink() {
        let target = fs::read_link(path)?;
        builder.append_link(&mut header, name, target)
    } else if kind.is_file() {
        builder.append_data(&mut header, name, File::open(path)?)
    } else {
        // Directories, devices and fifos: the header is the whole entry.
        header.set_size(0);
        builder.append_data(&mut header, name, io::empty())
    }
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
    opaque: OpaqueXattr,
    found: &mut BTreeMap<PathBuf, (ChangeKind, bool)>,
) {
    let Ok(entries) = fs::read_dir(upper.join(relative)) else {
        return;
    };
    for entry in entries.flatten() {
        let path = relative.join(entry.file_name());
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        if is_whiteout(&meta) {
            found.insert(path, (ChangeKind::Deleted, false));
            continue;
        }
        let kind = if in_lower(layers, &path) {
            ChangeKind::Changed
        } else {
            ChangeKind::Added
        };
        let is_opaque = meta.is_dir()
            && kind == ChangeKind::Changed
            && get_xattr(&entry.path(), opaque.name()).as_deref() == Some(b"y");
        found.insert(path.clone(), (kind, is_opaque));
        if meta.is_dir() {
            upper_changes(upper, &path, layers, opaque, found);
        }
    }
}

/// vfs: the container's full copy compared with its image's layers.
fn copy_changes(
    rootfs: &Path,
    layers: &[PathBuf],
    found: &mut BTreeMap<PathBuf, (ChangeKind, bool)>,
) {
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
    let mut seen = BTreeSet::new();
    walk(rootfs, Path::new(""), &mut |relative, meta| {
        seen.insert(relative.to_path_buf());
        match image.get(relative) {
            None => {
                found.insert(relative.to_path_buf(), (ChangeKind::Added, false));
            }
            Some(before) => {
                let same = before.file_type() == meta.file_type()
                    && before.mode() == meta.mode()
                    && before.uid() == meta.uid()
                    && before.gid() == meta.gid()
                    && (meta.is_dir()
                        || (before.size() == meta.size()
                            && before.mtime() == meta.mtime()
                            && before.mtime_nsec() == meta.mtime_nsec()));
                if !same {
                    found.insert(relative.to_path_buf(), (ChangeKind::Changed, false));
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
            found.insert(path.clone(), (ChangeKind::Deleted, false));
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
    use crate::unpack::unpack_layer;

    fn tempdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("skiff-changes-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_copy_compared_with_its_layers_packs_into_a_layer_that_replays_it() {
        let dir = tempdir("vfs");
        let layer = dir.join("layer");
        fs::create_dir_all(layer.join("etc/sub")).unwrap();
        fs::write(layer.join("etc/keep"), "same").unwrap();
        fs::write(layer.join("etc/gone"), "x").unwrap();
        fs::write(layer.join("etc/sub/file"), "x").unwrap();
        let rootfs = dir.join("rootfs");
        fs::create_dir_all(rootfs.join("etc")).unwrap();
        fs::copy(layer.join("etc/keep"), rootfs.join("etc/keep")).unwrap();
        let mtime = fs::metadata(layer.join("etc/keep"))
            .unwrap()
            .modified()
            .unwrap();
        File::options()
            .write(true)
            .open(rootfs.join("etc/keep"))
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        fs::write(rootfs.join("etc/new"), "new").unwrap();

        let found = changes(ChangeSource::Copy(&rootfs), &[layer]);
        let listed: Vec<(char, String)> = found
            .iter()
            .map(|c| (c.kind.letter(), c.path.display().to_string()))
            .collect();
        assert_eq!(
            listed,
            [
                ('D', "etc/gone".to_string()),
                ('A', "etc/new".to_string()),
                ('D', "etc/sub".to_string()),
            ]
        );

        let mut tar = Vec::new();
        let options = PackOptions { timestamp: Some(7) };
        pack_changes(ChangeSource::Copy(&rootfs), &found, options, &mut tar).unwrap();
        let mut names = Vec::new();
        for entry in tar::Archive::new(&tar[..]).entries().unwrap() {
            let entry = entry.unwrap();
            assert_eq!(entry.header().mtime().unwrap(), 7);
            names.push(entry.path().unwrap().display().to_string());
        }
        assert_eq!(names, ["etc/.wh.gone", "etc/new", "etc/.wh.sub"]);

        // The stream is a layer the store can unpack: whiteouts become overlay's.
        let unpacked = dir.join("unpacked");
        fs::create_dir(&unpacked).unwrap();
        unpack_layer(&tar[..], &unpacked, OpaqueXattr::User).unwrap();
        assert_eq!(fs::read_to_string(unpacked.join("etc/new")).unwrap(), "new");
        let _ = fs::remove_dir_all(&dir);
    }
}
