//! Container root filesystems: an overlay mount of the image's layers under a private upper
//! directory, or a vfs copy where overlay cannot be mounted (Podman's driver names).
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};

use crate::error::{IoContext, StorageError};
use crate::unpack::{OpaqueXattr, get_xattr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Overlay,
    Vfs,
}

impl Driver {
    pub fn parse(name: &str) -> Result<Self, StorageError> {
        match name {
            "overlay" | "overlay2" => Ok(Driver::Overlay),
            "vfs" => Ok(Driver::Vfs),
            other => Err(StorageError::UnknownDriver(other.to_string())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Driver::Overlay => "overlay",
            Driver::Vfs => "vfs",
        }
    }

    /// Overlay if this process can mount it over `scratch` (a directory it may use freely),
    /// else vfs. Needs to run in the user namespace where containers will be mounted.
    pub fn detect(scratch: &Path, opaque: OpaqueXattr) -> Driver {
        let works = probe_overlay(scratch, opaque);
        let _ = fs::remove_dir_all(scratch);
        if works { Driver::Overlay } else { Driver::Vfs }
    }
}

/// Mounts an overlay once over directories below `scratch`, in a child process with a mount
/// namespace of its own: a probe killed between mounting and unmounting leaves nothing
/// mounted (the namespace goes with the child). Runs on the first command of a storage root.
fn probe_overlay(scratch: &Path, opaque: OpaqueXattr) -> bool {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let [lower, upper, work, merged] = ["lower", "diff", "work", "merged"].map(|d| scratch.join(d));
    if [&lower, &upper, &work, &merged]
        .iter()
        .any(|dir| fs::create_dir_all(dir).is_err())
    {
        return false;
    }
    let mut data = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    );
    if opaque == OpaqueXattr::User {
        data.push_str(",userxattr");
    }
    let (Ok(target), Ok(data)) = (
        CString::new(merged.as_os_str().as_bytes()),
        CString::new(data),
    ) else {
        return false;
    };
    // SAFETY: the child only makes system calls on what the parent prepared (nothing in it
    // allocates or takes a lock) and leaves with _exit.
    #[allow(unsafe_code)]
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let mounted = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).is_ok()
                && mount(
                    None::<&str>,
                    "/",
                    None::<&str>,
                    MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                    None::<&str>,
                )
                .is_ok()
                && mount(
                    Some(c"overlay"),
                    target.as_c_str(),
                    Some(c"overlay"),
                    MsFlags::empty(),
                    Some(data.as_c_str()),
                )
                .is_ok();
            // SAFETY: leaving the forked child without running the parent's destructors.
            #[allow(unsafe_code)]
            unsafe {
                libc::_exit(if mounted { 0 } else { 1 })
            }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => matches!(
            nix::sys::wait::waitpid(child, None),
            Ok(nix::sys::wait::WaitStatus::Exited(_, 0))
        ),
        Err(_) => false,
    }
}

/// The directories of one container's root filesystem, below its storage directory.
#[derive(Debug, Clone)]
pub struct RootfsLayout {
    dir: PathBuf,
    driver: Driver,
}

impl RootfsLayout {
    pub fn new(dir: &Path, driver: Driver) -> Self {
        Self {
            dir: dir.to_path_buf(),
            driver,
        }
    }

    pub fn driver(&self) -> Driver {
        self.driver
    }

    /// The directory that holds the container's root filesystem once mounted (or copied).
    pub fn rootfs(&self) -> PathBuf {
        match self.driver {
            Driver::Overlay => self.dir.join("merged"),
            Driver::Vfs => self.dir.join("rootfs"),
        }
    }

    /// Makes the root filesystem ready: mounts overlay, or copies the layers for vfs the first
    /// time. `layers` are ordered base first.
    /// An overlay already mounted here (by `skiff mount`, in this mount namespace) is used as
    /// it is: a second overlay on the same upper directory would be undefined behaviour.
    pub fn mount(&self, layers: &[PathBuf], opaque: OpaqueXattr) -> Result<PathBuf, StorageError> {
        let rootfs = self.rootfs();
        match self.driver {
            Driver::Overlay if self.is_mounted() => {}
            Driver::Overlay => {
                let upper = self.dir.join("diff");
                let work = self.dir.join("work");
                for dir in [&upper, &work, &rootfs] {
                    fs::create_dir_all(dir).io("create", dir)?;
                }
                let lower = if layers.is_empty() {
                    // overlay needs a lower directory; an image without layers gets an empty one
                    let empty = self.dir.join("empty");
                    fs::create_dir_all(&empty).io("create", &empty)?;
                    empty.display().to_string()
                } else {
                    layers
                        .iter()
                        .rev()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(":")
                };
                let mut data = format!(
                    "lowerdir={lower},upperdir={},workdir={}",
                    upper.display(),
                    work.display()
                );
                if opaque == OpaqueXattr::User {
                    data.push_str(",userxattr");
                }
                mount(
                    Some("overlay"),
                    &rootfs,
                    Some("overlay"),
                    MsFlags::empty(),
                    Some(data.as_str()),
                )
                .map_err(|source| StorageError::Mount {
                    target: rootfs.clone(),
                    source,
                })?;
            }
            Driver::Vfs => {
                let done = self.dir.join("rootfs.complete");
                if !done.exists() {
                    let building = self.dir.join("rootfs.partial");
                    let _ = fs::remove_dir_all(&building);
                    fs::create_dir_all(&building).io("create", &building)?;
                    for layer in layers {
                        merge_layer(layer, &building, opaque)?;
                    }
                    let _ = fs::remove_dir_all(&rootfs);
                    fs::rename(&building, &rootfs).io("rename", &rootfs)?;
                    fs::write(&done, b"").io("write", &done)?;
                }
            }
        }
        Ok(rootfs)
    }

    /// The overlay upper directory: everything the container changed (overlay only).
    pub fn upper(&self) -> Option<PathBuf> {
        (self.driver == Driver::Overlay).then(|| self.dir.join("diff"))
    }

    /// A read-only view of the container's files that does not disturb a running container:
    /// overlay with its upper directory as the top lower one (mounted at `view`, unmount with
    /// `unmount_view`), or the vfs copy itself.
    pub fn mount_view(
        &self,
        layers: &[PathBuf],
        opaque: OpaqueXattr,
    ) -> Result<PathBuf, StorageError> {
        if self.driver == Driver::Vfs {
            return self.mount(layers, opaque);
        }
        let view = self.dir.join("view");
        let mut lowers = vec![self.dir.join("diff")];
        lowers.extend(layers.iter().rev().cloned());
        self.mount_lowers(&view, lowers, opaque)?;
        Ok(view)
    }

    /// The layers alone, read-only, at `rootfs()` (an image's files, for `skiff image mount`);
    /// for vfs their copy. An existing mount is used as it is.
    pub fn mount_read_only(
        &self,
        layers: &[PathBuf],
        opaque: OpaqueXattr,
    ) -> Result<PathBuf, StorageError> {
        let rootfs = self.rootfs();
        if self.driver == Driver::Vfs || layers.is_empty() {
            return self.mount(layers, opaque);
        }
        if !self.is_mounted() {
            self.mount_lowers(&rootfs, layers.iter().rev().cloned().collect(), opaque)?;
        }
        Ok(rootfs)
    }

    /// A read-only overlay of `lowers` (top first) at `target`. Without an upper directory
    /// overlay wants two lower ones: a single layer gets an empty one below it.
    fn mount_lowers(
        &self,
        target: &Path,
        mut lowers: Vec<PathBuf>,
        opaque: OpaqueXattr,
    ) -> Result<(), StorageError> {
        if lowers.len() == 1 {
            lowers.push(self.dir.join("empty"));
        }
        for dir in lowers.iter().map(PathBuf::as_path).chain([target]) {
            fs::create_dir_all(dir).io("create", dir)?;
        }
        let lower: Vec<String> = lowers.iter().map(|p| p.display().to_string()).collect();
        let mut data = format!("lowerdir={}", lower.join(":"));
        if opaque == OpaqueXattr::User {
            data.push_str(",userxattr");
        }
        mount(
            Some("overlay"),
            target,
            Some("overlay"),
            MsFlags::MS_RDONLY,
            Some(data.as_str()),
        )
        .map_err(|source| StorageError::Mount {
            target: target.to_path_buf(),
            source,
        })
    }

    /// Whether an overlay is mounted at `rootfs()` in this mount namespace (vfs: never).
    pub fn is_mounted(&self) -> bool {
        self.driver == Driver::Overlay
            && match (fs::metadata(self.rootfs()), fs::metadata(&self.dir)) {
                (Ok(rootfs), Ok(dir)) => rootfs.dev() != dir.dev(),
                _ => false,
            }
    }

    /// How many users mounted this root filesystem (`skiff mount`, `skiff image mount`, running
    /// containers' image mounts), kept beside it so every process sees it. The caller holds
    /// the lock of what owns the layout.
    pub fn mount_count(&self) -> u32 {
        fs::read_to_string(self.dir.join(MOUNT_COUNT))
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Records the number of users; zero removes the record.
    pub fn set_mount_count(&self, count: u32) -> Result<(), StorageError> {
        let path = self.dir.join(MOUNT_COUNT);
        if count == 0 {
            return match fs::remove_file(&path) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                    Err(err).io("remove", &path)
                }
                _ => Ok(()),
            };
        }
        fs::create_dir_all(&self.dir).io("create", &self.dir)?;
        let partial = self.dir.join(format!("{MOUNT_COUNT}.partial"));
        fs::write(&partial, count.to_string()).io("write", &partial)?;
        fs::rename(&partial, &path).io("rename", &path)
    }

    /// Undoes `mount_view`.
    pub fn unmount_view(&self) {
        if self.driver == Driver::Overlay {
            let _ = umount2(&self.dir.join("view"), MntFlags::MNT_DETACH);
        }
    }

    /// Undoes `mount` (nothing to do for vfs). Not mounted is not an error.
    pub fn unmount(&self) -> Result<(), StorageError> {
        if self.driver == Driver::Overlay {
            let rootfs = self.rootfs();
            match umount2(&rootfs, MntFlags::MNT_DETACH) {
                Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
                // A mount namespace this process may not change (a rootless process in the
                // rootless network namespace's): it holds none of this layout's mounts unless
                // a user mounted it (a container's own mount lives in the container's
                // namespace and goes with it).
                Err(nix::Error::EPERM) if self.mount_count() == 0 => {}
                Err(source) => {
                    return Err(StorageError::Mount {
                        target: rootfs,
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    /// Removes every directory of this container's root filesystem.
    pub fn remove(&self) -> Result<(), StorageError> {
        self.unmount()?;
        match fs::remove_dir_all(&self.dir) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                Err(err).io("remove", &self.dir)
            }
            _ => Ok(()),
        }
    }
}

/// The file beside a root filesystem that counts its users.
const MOUNT_COUNT: &str = "mountcount";

/// Copies one layer on top of `dest`, applying its whiteouts (vfs driver).
fn merge_layer(layer: &Path, dest: &Path, opaque: OpaqueXattr) -> Result<(), StorageError> {
    for entry in fs::read_dir(layer).io("read", layer)? {
        let entry = entry.io("read", layer)?;
        let source = entry.path();
        let target = dest.join(entry.file_name());
        let meta = fs::symlink_metadata(&source).io("stat", &source)?;
        let kind = meta.file_type();
        if kind.is_char_device() && meta.rdev() == 0 {
            remove_any(&target)?; // whiteout
            continue;
        }
        if kind.is_dir() {
            let is_opaque = get_xattr(&source, opaque.name()).as_deref() == Some(b"y");
            match fs::symlink_metadata(&target) {
                Ok(existing) if existing.is_dir() && !is_opaque => {}
                Ok(_) => {
                    remove_any(&target)?;
                    fs::create_dir(&target).io("create", &target)?;
                }
                Err(_) => fs::create_dir(&target).io("create", &target)?,
            }
            merge_layer(&source, &target, opaque)?;
            copy_metadata(&meta, &target)?;
            continue;
        }
        remove_any(&target)?;
        if kind.is_symlink() {
            let link = fs::read_link(&source).io("read link", &source)?;
            std::os::unix::fs::symlink(&link, &target).io("create symlink", &target)?;
        } else if kind.is_file() {
            fs::copy(&source, &target).io("copy", &target)?;
        } else {
            let kind_flag = if kind.is_char_device() {
                nix::sys::stat::SFlag::S_IFCHR
            } else if kind.is_block_device() {
                nix::sys::stat::SFlag::S_IFBLK
            } else if kind.is_fifo() {
                nix::sys::stat::SFlag::S_IFIFO
            } else {
                continue; // sockets are not content
            };
            let mode = nix::sys::stat::Mode::from_bits_truncate(meta.mode());
            nix::sys::stat::mknod(&target, kind_flag, mode, meta.rdev())
                .map_err(std::io::Error::from)
                .io("create node", &target)?;
        }
        copy_metadata(&meta, &target)?;
    }
    Ok(())
}

fn copy_metadata(meta: &fs::Metadata, target: &Path) -> Result<(), StorageError> {
    let uid = Some(nix::unistd::Uid::from_raw(meta.uid()));
    let gid = Some(nix::unistd::Gid::from_raw(meta.gid()));
    nix::unistd::fchownat(
        None,
        target,
        uid,
        gid,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(std::io::Error::from)
    .io("chown", target)?;
    if !meta.file_type().is_symlink() {
        fs::set_permissions(target, fs::Permissions::from_mode(meta.mode() & 0o7777))
            .io("chmod", target)?;
    }
    Ok(())
}

fn remove_any(path: &Path) -> Result<(), StorageError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path).io("remove", path),
        Ok(_) => fs::remove_file(path).io("remove", path),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_counts_are_kept_beside_the_layout() {
        let dir = std::env::temp_dir().join(format!("skiff-count-{}", std::process::id()));
        let layout = RootfsLayout::new(&dir, Driver::Overlay);
        assert_eq!(layout.mount_count(), 0);
        layout.set_mount_count(2).unwrap();
        assert_eq!(layout.mount_count(), 2);
        assert!(
            !layout.is_mounted(),
            "nothing is mounted at {}",
            layout.rootfs().display()
        );
        layout.set_mount_count(0).unwrap();
        assert_eq!(layout.mount_count(), 0);
        assert!(!dir.join(MOUNT_COUNT).exists());
        layout.set_mount_count(0).unwrap();
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_overlay_probe_mounts_nothing_here() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let scratch = std::env::temp_dir().join(format!("skiff-probe-{}", std::process::id()));
        // This machine mounts overlay on its temporary directory, as root.
        assert_eq!(
            Driver::detect(&scratch, OpaqueXattr::Trusted),
            Driver::Overlay
        );
        assert!(!scratch.exists());
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(!mounts.contains(scratch.to_str().unwrap()), "{mounts}");
    }

    #[test]
    fn vfs_merges_layers_with_whiteouts_and_opaque_directories() {
        if !nix::unistd::geteuid().is_root() {
            return; // whiteouts are character devices
        }
        let base = std::env::temp_dir().join(format!("skiff-vfs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let (lower, upper) = (base.join("lower"), base.join("upper"));
        fs::create_dir_all(lower.join("etc/keep")).unwrap();
        fs::create_dir_all(lower.join("opaque")).unwrap();
        fs::write(lower.join("etc/gone"), "x").unwrap();
        fs::write(lower.join("etc/keep/file"), "kept").unwrap();
        fs::write(lower.join("opaque/old"), "old").unwrap();
        fs::create_dir_all(upper.join("etc")).unwrap();
        fs::create_dir_all(upper.join("opaque")).unwrap();
        nix::sys::stat::mknod(
            &upper.join("etc/gone"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::empty(),
            0,
        )
        .unwrap();
        crate::unpack::set_xattr(&upper.join("opaque"), OpaqueXattr::Trusted.name(), b"y").unwrap();
        fs::write(upper.join("opaque/new"), "new").unwrap();
        let layout = RootfsLayout::new(&base.join("container"), Driver::Vfs);
        let rootfs = layout.mount(&[lower, upper], OpaqueXattr::Trusted).unwrap();
        assert!(!rootfs.join("etc/gone").exists());
        assert_eq!(
            fs::read_to_string(rootfs.join("etc/keep/file")).unwrap(),
            "kept"
        );
        assert!(!rootfs.join("opaque/old").exists());
        assert_eq!(
            fs::read_to_string(rootfs.join("opaque/new")).unwrap(),
            "new"
        );
        layout.remove().unwrap();
        let _ = fs::remove_dir_all(&base);
    }
}
