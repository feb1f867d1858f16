//! Applies one layer tarball to an empty directory, safely.
//!
//! Every entry must land beneath the layer directory: absolute names, `..` components, and
//! entries reached through a symlink (RUSTSEC-2021-0080, CVE-2019-14271 style escapes) are refused
//! with an error naming the entry, never silently skipped. Whiteouts are turned into overlayfs'
//! own form here, once, so a layer can be stacked by overlay as it is and merged by vfs:
//! `.wh.NAME` becomes a 0/0 character device NAME and `.wh..wh..opq` an "opaque" xattr on its
//! directory (`trusted.` for root, `user.` inside a user namespace, mounted with `userxattr`).
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::sys::stat::{Mode, SFlag, mknod};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("layer entry {entry:?}: absolute path refused")]
    Absolute { entry: PathBuf },
    #[error("layer entry {entry:?}: path with \"..\" refused")]
    ParentComponent { entry: PathBuf },
    #[error(
        "layer entry {entry:?}: passes through symlink {through:?}, refused (would escape the layer)"
    )]
    ThroughSymlink { entry: PathBuf, through: PathBuf },
    #[error("layer entry {entry:?}: hard link target {target:?} is outside the layer")]
    HardlinkEscape { entry: PathBuf, target: PathBuf },
    #[error(
        "layer entry {entry:?}: owner {uid}:{gid} is not mapped in this user namespace (potentially insufficient UIDs or GIDs in /etc/subuid and /etc/subgid)"
    )]
    UnmappedOwner { entry: PathBuf, uid: u64, gid: u64 },
    #[error(
        "layer entry {entry:?}: whiteout of {hidden:?} refused (a whiteout names one entry of its directory)"
    )]
    BadWhiteout { entry: PathBuf, hidden: String },
    #[error("layer entry {entry:?}: extended attribute {name}: {reason}")]
    BadXattr {
        entry: PathBuf,
        name: String,
        reason: &'static str,
    },
    #[error("layer entry {entry:?}: {source}")]
    Entry { entry: PathBuf, source: io::Error },
    #[error("reading layer: {0}")]
    Read(#[source] io::Error),
}

/// The xattr name that marks an overlay directory opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpaqueXattr {
    /// `trusted.overlay.opaque`: a root-owned store, mounted by real root.
    Trusted,
    /// `user.overlay.opaque`: a store mounted inside a user namespace with `userxattr`.
    User,
}

impl OpaqueXattr {
    pub fn name(self) -> &'static str {
        match self {
            OpaqueXattr::Trusted => "trusted.overlay.opaque",
            OpaqueXattr::User => "user.overlay.opaque",
        }
    }
}

/// Unpacks an uncompressed tar stream into `dest`, which must exist and be empty.
pub fn unpack_layer(
    reader: impl Read,
    dest: &Path,
    opaque: OpaqueXattr,
) -> Result<(), UnpackError> {
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(true);
    archive.set_preserve_ownerships(true);
    archive.set_preserve_mtime(true);
    archive.set_unpack_xattrs(true);
    archive.set_overwrite(true);
    let mut directories = Vec::new();
    for entry in archive.entries().map_err(UnpackError::Read)? {
        let mut entry = entry.map_err(UnpackError::Read)?;
        let name = entry.path().map_err(UnpackError::Read)?.into_owned();
        let relative = checked_relative(&name)?;
        if relative.as_os_str().is_empty() {
            continue; // "./" itself
        }
        check_no_symlink_on_the_way(dest, &relative, &name)?;
        let file_name = relative.file_name().unwrap_or_default();
        let parent = relative.parent().unwrap_or(Path::new(""));
        if file_name == OsStr::new(OPAQUE_MARKER) {
            let dir = dest.join(parent);
            fs::create_dir_all(&dir).map_err(|source| entry_error(&name, source))?;
            set_xattr(&dir, opaque.name(), b"y").map_err(|source| entry_error(&name, source))?;
            continue;
        }
        if let Some(hidden) = file_name
            .as_bytes()
            .strip_prefix(WHITEOUT_PREFIX.as_bytes())
        {
            // `.wh.`, `.wh..` and `.wh...` would name the directory itself or its parent: the
            // removal below must only ever touch one entry of this layer.
            if hidden.is_empty() || hidden == b"." || hidden == b".." || hidden.contains(&b'/') {
                return Err(UnpackError::BadWhiteout {
                    entry: name.clone(),
                    hidden: String::from_utf8_lossy(hidden).into_owned(),
                });
            }
            let target = dest.join(parent).join(OsStr::from_bytes(hidden));
            remove_existing(&target).map_err(|source| entry_error(&name, source))?;
            fs::create_dir_all(dest.join(parent)).map_err(|source| entry_error(&name, source))?;
            mknod(&target, SFlag::S_IFCHR, Mode::empty(), 0)
                .map_err(|errno| entry_error(&name, errno.into()))?;
            continue;
        }
        check_xattrs(&mut entry, &name)?;
        let kind = entry.header().entry_type();
        if kind.is_hard_link() {
            let link = entry
                .link_name()
                .map_err(UnpackError::Read)?
                .ok_or_else(|| entry_error(&name, io::Error::other("hard link without a target")))?
                .into_owned();
            let target = checked_relative(&link).map_err(|_| UnpackError::HardlinkEscape {
                entry: name.clone(),
                target: link.clone(),
            })?;
            check_no_symlink_on_the_way(dest, &target, &name)?;
        }
        if !kind.is_dir() {
            // Replace whatever an earlier entry of this layer left there; never write through it.
            remove_existing(&dest.join(&relative)).map_err(|source| entry_error(&name, source))?;
        }
        let (uid, gid) = (
            entry.header().uid().unwrap_or(0),
            entry.header().gid().unwrap_or(0),
        );
        match entry.unpack_in(dest) {
            Ok(true) => {}
            Ok(false) => {
                return Err(UnpackError::ThroughSymlink {
                    entry: name.clone(),
                    through: relative,
                });
            }
            Err(err) if kind.is_block_special() || kind.is_character_special() => {
                // Device nodes cannot be created inside a user namespace; Podman skips them too.
                if err.kind() != io::ErrorKind::PermissionDenied && !is_eperm(&err) {
                    return Err(entry_error(&name, err));
                }
            }
            // EINVAL from chown: an owner this user namespace does not map. Anything else
            // (an xattr the kernel refuses, say) is said as it is.
            Err(err) if is_einval(&err) && !owner_mapped(uid, gid) => {
                return Err(UnpackError::UnmappedOwner {
                    entry: name,
                    uid,
                    gid,
                });
            }
            Err(err) => return Err(entry_error(&name, err)),
        }
        if kind.is_dir() {
            directories.push((relative, entry.header().mtime().unwrap_or(0)));
        }
    }
    // Entries written below a directory changed its mtime; put back the recorded ones.
    for (relative, mtime) in directories.into_iter().rev() {
        let time = filetime_from(mtime);
        let _ = set_mtime(&dest.join(relative), time);
    }
    Ok(())
}

/// File capabilities must be a whole `vfs_cap_data`: an empty or truncated one is refused by
/// the kernel with EINVAL, which would otherwise read as an ownership problem.
fn check_xattrs<R: Read>(entry: &mut tar::Entry<'_, R>, name: &Path) -> Result<(), UnpackError> {
    let Some(extensions) = entry.pax_extensions().map_err(UnpackError::Read)? else {
        return Ok(());
    };
    for extension in extensions {
        let extension = extension.map_err(UnpackError::Read)?;
        if extension.key_bytes() == b"SCHILY.xattr.security.capability"
            && extension.value_bytes().len() < 4
        {
            return Err(UnpackError::BadXattr {
                entry: name.to_path_buf(),
                name: "security.capability".into(),
                reason: "empty or truncated file capabilities",
            });
        }
    }
    Ok(())
}

/// Whether this process's user namespace maps both IDs (always, outside any namespace).
fn owner_mapped(uid: u64, gid: u64) -> bool {
    let mapped = |file: &str, id: u64| {
        fs::read_to_string(file).map_or(true, |map| {
            map.lines().any(|line| {
                let fields: Vec<u64> = line
                    .split_whitespace()
                    .filter_map(|f| f.parse().ok())
                    .collect();
                matches!(fields.as_slice(), [inside, _, count] if *inside <= id && id < inside + count)
            })
        })
    };
    mapped("/proc/self/uid_map", uid) && mapped("/proc/self/gid_map", gid)
}

fn entry_error(name: &Path, source: io::Error) -> UnpackError {
    UnpackError::Entry {
        entry: name.to_path_buf(),
        source,
    }
}

fn is_eperm(err: &io::Error) -> bool {
    chain_errno(err) == Some(libc::EPERM)
}

fn is_einval(err: &io::Error) -> bool {
    chain_errno(err) == Some(libc::EINVAL)
}

/// tar wraps io errors in io errors with a message; find the OS code underneath.
fn chain_errno(err: &io::Error) -> Option<i32> {
    if let Some(code) = err.raw_os_error() {
        return Some(code);
    }
    let mut source = err
        .get_ref()
        .map(|e| e as &(dyn std::error::Error + 'static));
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<io::Error>()
            && let Some(code) = io.raw_os_error()
        {
            return Some(code);
        }
        source = e.source();
    }
    None
}

/// The entry name as a clean relative path, or the reason it is refused.
fn checked_relative(name: &Path) -> Result<PathBuf, UnpackError> {
    let mut out = PathBuf::new();
    for component in name.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(UnpackError::ParentComponent {
                    entry: name.to_path_buf(),
                });
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(UnpackError::Absolute {
                    entry: name.to_path_buf(),
                });
            }
        }
    }
    Ok(out)
}

/// Refuses an entry whose parent directories include a symlink made by an earlier entry.
fn check_no_symlink_on_the_way(
    dest: &Path,
    relative: &Path,
    name: &Path,
) -> Result<(), UnpackError> {
    let mut path = dest.to_path_buf();
    let mut components = relative.components().peekable();
    while let Some(component) = components.next() {
        if components.peek().is_none() {
            break; // the leaf itself may be a symlink: it is replaced, not followed
        }
        path.push(component);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(UnpackError::ThroughSymlink {
                    entry: name.to_path_buf(),
                    through: path.strip_prefix(dest).unwrap_or(&path).to_path_buf(),
                });
            }
            Ok(_) => {}
            Err(_) => break, // not created yet: nothing below can be a symlink either
        }
    }
    Ok(())
}

fn remove_existing(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}

fn filetime_from(seconds: u64) -> nix::sys::time::TimeSpec {
    nix::sys::time::TimeSpec::new(seconds as i64, 0)
}

fn set_mtime(path: &Path, time: nix::sys::time::TimeSpec) -> nix::Result<()> {
    nix::sys::stat::utimensat(
        None,
        path,
        &time,
        &time,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
}

pub(crate) fn set_xattr(path: &Path, name: &str, value: &[u8]) -> io::Result<()> {
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let name = std::ffi::CString::new(name).map_err(io::Error::other)?;
    // SAFETY: both strings are NUL-terminated and live across the call; value is a valid slice.
    #[allow(unsafe_code)]
    let rc = unsafe {
        libc::lsetxattr(
            path.as_ptr(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

pub(crate) fn get_xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let name = std::ffi::CString::new(name).ok()?;
    let mut buf = [0u8; 16];
    // SAFETY: the buffer is valid for its length; strings are NUL-terminated.
    #[allow(unsafe_code)]
    let n = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    (n >= 0).then(|| buf[..n as usize].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        build(&mut builder);
        builder.into_inner().unwrap()
    }

    fn file(builder: &mut tar::Builder<Vec<u8>>, name: &str, body: &[u8]) {
        let mut header = tar::Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // set_path refuses "..", so write the raw name as a hostile archive would
        let bytes = name.as_bytes();
        header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        header.set_cksum();
        builder.append(&header, body).unwrap();
    }

    fn link(builder: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, name: &str, target: &str) {
        let mut header = tar::Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(0);
        header.set_mode(0o777);
        header.set_entry_type(kind);
        header.set_path(name).unwrap();
        let bytes = target.as_bytes();
        header.as_old_mut().linkname[..bytes.len()].copy_from_slice(bytes);
        header.set_cksum();
        builder.append(&header, io::empty()).unwrap();
    }

    fn tempdir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("skiff-unpack-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn parent_component_is_refused_with_the_entry_name() {
        let dir = tempdir("dotdot");
        let tar = tar_with(|b| file(b, "../evil", b"x"));
        let err = unpack_layer(&tar[..], &dir.join("layer"), OpaqueXattr::Trusted).unwrap_err();
        assert!(err.to_string().contains("../evil"), "{err}");
        assert!(!dir.join("evil").exists());
    }

    #[test]
    fn absolute_path_is_refused() {
        let dir = tempdir("abs");
        let tar = tar_with(|b| file(b, "/etc/evil", b"x"));
        let err = unpack_layer(&tar[..], &dir, OpaqueXattr::Trusted).unwrap_err();
        assert!(matches!(err, UnpackError::Absolute { .. }), "{err}");
    }

    #[test]
    fn write_through_symlink_is_refused() {
        let dir = tempdir("symlink");
        let outside = tempdir("symlink-outside");
        let tar = tar_with(|b| {
            link(
                b,
                tar::EntryType::Symlink,
                "escape",
                outside.to_str().unwrap(),
            );
            file(b, "escape/owned", b"x");
        });
        let err = unpack_layer(&tar[..], &dir, OpaqueXattr::Trusted).unwrap_err();
        assert!(matches!(err, UnpackError::ThroughSymlink { .. }), "{err}");
        assert!(!outside.join("owned").exists());
    }

    #[test]
    fn hardlink_outside_is_refused() {
        let dir = tempdir("hardlink");
        let tar = tar_with(|b| link(b, tar::EntryType::Link, "passwd", "../../etc/passwd"));
        let err = unpack_layer(&tar[..], &dir, OpaqueXattr::Trusted).unwrap_err();
        assert!(matches!(err, UnpackError::HardlinkEscape { .. }), "{err}");
    }

    #[test]
    fn files_dirs_and_links_unpack() {
        let dir = tempdir("ok");
        let tar = tar_with(|b| {
            file(b, "etc/hostname", b"box\n");
            link(b, tar::EntryType::Symlink, "etc/alias", "hostname");
            link(b, tar::EntryType::Link, "etc/hard", "etc/hostname");
        });
        unpack_layer(&tar[..], &dir, OpaqueXattr::Trusted).unwrap();
        assert_eq!(fs::read(dir.join("etc/alias")).unwrap(), b"box\n");
        assert_eq!(fs::read(dir.join("etc/hard")).unwrap(), b"box\n");
    }

    #[test]
    fn whiteouts_of_dot_and_dot_dot_are_refused_and_touch_nothing() {
        let dir = tempdir("bad-whiteout");
        let layer = dir.join("layer");
        let sibling = dir.join("sibling");
        fs::create_dir_all(&sibling).unwrap();
        fs::write(sibling.join("keep"), b"x").unwrap();
        for name in [".wh...", ".wh..", ".wh.", "etc/.wh...", "etc/.wh.."] {
            let _ = fs::remove_dir_all(&layer);
            fs::create_dir_all(&layer).unwrap();
            let tar = tar_with(|b| {
                file(b, "etc/hostname", b"box");
                file(b, name, b"");
            });
            let err = unpack_layer(&tar[..], &layer, OpaqueXattr::Trusted).unwrap_err();
            assert!(
                matches!(err, UnpackError::BadWhiteout { .. }),
                "{name}: {err}"
            );
            assert!(err.to_string().contains(name), "{err}");
            assert!(
                layer.join("etc/hostname").exists(),
                "{name} removed the layer's own files"
            );
            assert!(
                sibling.join("keep").exists(),
                "{name} removed outside the layer"
            );
        }
    }

    #[test]
    fn empty_file_capabilities_are_named_not_taken_for_an_owner_problem() {
        let dir = tempdir("empty-capability");
        let tar = tar_with(|b| {
            b.append_pax_extensions([("SCHILY.xattr.security.capability", &b""[..])])
                .unwrap();
            file(b, "bin/ping", b"x");
        });
        let err = unpack_layer(&tar[..], &dir, OpaqueXattr::Trusted).unwrap_err();
        assert!(matches!(err, UnpackError::BadXattr { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("bin/ping") && text.contains("security.capability"),
            "{text}"
        );
    }

    #[test]
    fn whiteouts_become_overlay_whiteouts() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let dir = tempdir("whiteout");
        let tar = tar_with(|b| {
            file(b, "etc/.wh.gone", b"");
            file(b, "var/.wh..wh..opq", b"");
        });
        unpack_layer(&tar[..], &dir, OpaqueXattr::Trusted).unwrap();
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let meta = fs::symlink_metadata(dir.join("etc/gone")).unwrap();
        assert!(meta.file_type().is_char_device());
        assert_eq!(meta.rdev(), 0);
        assert_eq!(
            get_xattr(&dir.join("var"), "trusted.overlay.opaque").as_deref(),
            Some(&b"y"[..])
        );
    }
}

/// No layer, however hostile, makes the unpack panic or write outside its directory.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("..".to_string()),
            Just(".".to_string()),
            Just("".to_string()),
            Just(".wh..wh..opq".to_string()),
            Just("etc".to_string()),
            "\\.wh\\.[.a-z]{0,3}",
            "[a-z.]{1,4}",
        ]
    }

    fn path() -> impl Strategy<Value = String> {
        (any::<bool>(), prop::collection::vec(segment(), 1..4)).prop_map(|(absolute, parts)| {
            format!("{}{}", if absolute { "/" } else { "" }, parts.join("/"))
        })
    }

    #[derive(Debug, Clone)]
    struct Entry {
        name: String,
        kind: u8,
        target: String,
    }

    fn entry() -> impl Strategy<Value = Entry> {
        (path(), 0u8..4, path()).prop_map(|(name, kind, target)| Entry { name, kind, target })
    }

    fn archive(entries: &[Entry]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for entry in entries {
            let mut header = tar::Header::new_gnu();
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            header.set_mode(0o755);
            let (kind, body): (tar::EntryType, &[u8]) = match entry.kind {
                0 => (tar::EntryType::Regular, b"x"),
                1 => (tar::EntryType::Directory, b""),
                2 => (tar::EntryType::Symlink, b""),
                _ => (tar::EntryType::Link, b""),
            };
            header.set_entry_type(kind);
            header.set_size(body.len() as u64);
            let name = entry.name.as_bytes();
            let target = entry.target.as_bytes();
            if name.len() > 99 || target.len() > 99 {
                continue;
            }
            header.as_old_mut().name[..name.len()].copy_from_slice(name);
            header.as_old_mut().linkname[..target.len()].copy_from_slice(target);
            header.set_cksum();
            builder.append(&header, body).unwrap();
        }
        builder.into_inner().unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn hostile_layers_stay_inside(entries in prop::collection::vec(entry(), 1..8)) {
            static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let sandbox = std::env::temp_dir().join(format!(
                "skiff-unpack-prop-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&sandbox);
            let dest = sandbox.join("layer");
            fs::create_dir_all(&dest).unwrap();
            fs::write(sandbox.join("sentinel"), b"keep").unwrap();
            let _ = unpack_layer(&archive(&entries)[..], &dest, OpaqueXattr::User);
            let mut outside: Vec<String> = fs::read_dir(&sandbox)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            outside.sort();
            prop_assert_eq!(outside, vec!["layer".to_string(), "sentinel".to_string()]);
            prop_assert_eq!(fs::read(sandbox.join("sentinel")).unwrap(), b"keep");
            let _ = fs::remove_dir_all(&sandbox);
        }

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
            let dest = std::env::temp_dir().join(format!("skiff-unpack-bytes-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dest);
            fs::create_dir_all(&dest).unwrap();
            let _ = unpack_layer(&bytes[..], &dest, OpaqueXattr::User);
        }
    }
}
