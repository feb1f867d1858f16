//! Paths inside a container's root filesystem, resolved by the kernel as if that directory were
//! `/` (openat2 with RESOLVE_IN_ROOT): a symlink planted in the container, absolute or full of
//! `..`, can never lead a host-side reader or writer out of it (the CVE-2018-15664 class).
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::{Component, Path, PathBuf};

/// Opens `path` (absolute or relative, read as inside `root`) beneath the directory `root`.
/// `flags` are open(2) flags; O_CLOEXEC is always added. Magic links (/proc/self/...) are
/// refused too.
pub fn open_in_root(root: &File, path: &Path, flags: i32, mode: u32) -> io::Result<File> {
    use std::os::unix::ffi::OsStrExt;
    let relative = path.as_os_str().as_bytes();
    let relative = if relative.iter().all(|b| *b == b'/') {
        &b"."[..]
    } else {
        relative
    };
    let path = std::ffi::CString::new(relative)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path holds a NUL byte"))?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: if flags & (libc::O_CREAT | libc::O_TMPFILE) != 0 {
            u64::from(mode)
        } else {
            0
        },
        resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    loop {
        // SAFETY: openat2 with a valid directory descriptor, a NUL-terminated path and an
        // `open_how` of the size passed.
        #[allow(unsafe_code)]
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd >= 0 {
            // SAFETY: the kernel returned a new descriptor that nothing else owns.
            #[allow(unsafe_code)]
            return Ok(unsafe { File::from_raw_fd(fd as i32) });
        }
        let error = io::Error::last_os_error();
        // EAGAIN: a concurrent rename raced the lookup; the kernel asks for a retry.
        if error.raw_os_error() != Some(libc::EAGAIN) {
            return Err(error);
        }
    }
}

/// Reads a small text file of the container (at most 4 MiB); empty when it cannot be read.
pub fn read_in_root(root: &File, path: &Path) -> String {
    use std::io::Read;
    let mut text = String::new();
    if let Ok(file) = open_in_root(root, path, libc::O_RDONLY, 0) {
        let _ = file.take(4 << 20).read_to_string(&mut text);
    }
    text
}

/// A path inside a root with its symlinks evaluated there, the last one too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Absolute inside the root, without symlinks, `.` or `..`.
    pub path: PathBuf,
    /// Whether the path exists; when not, the part from the first missing component on is
    /// taken as written (with `..` applied).
    pub exists: bool,
}

/// Evaluates every symlink of `path` inside `root`, as a process chrooted there would (an
/// absolute target starts again at the root, `..` stops at it), and says whether it exists:
/// the path `cp` names in messages and renames by (a dangling last symlink resolves to where
/// it points). More than 40 links give ELOOP, as the kernel does.
pub fn resolve_in_root(root: &File, path: &Path) -> io::Result<Resolved> {
    fn parts(path: &Path) -> Vec<OsString> {
        path.components()
            .filter_map(|c| match c {
                Component::Normal(name) => Some(name.to_os_string()),
                Component::ParentDir => Some(OsString::from("..")),
                _ => None,
            })
            .collect()
    }
    let mut resolved = PathBuf::from("/");
    let mut pending = parts(path);
    pending.reverse();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let parent = open_in_root(root, &resolved, libc::O_PATH | libc::O_DIRECTORY, 0)?;
        let stat = nix::sys::stat::fstatat(
            Some(parent.as_raw_fd()),
            part.as_os_str(),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        );
        match stat {
            Ok(stat) if stat.st_mode & libc::S_IFMT == libc::S_IFLNK => {
                links += 1;
                if links > 40 {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = nix::fcntl::readlinkat(Some(parent.as_raw_fd()), part.as_os_str())?;
                let target = Path::new(&target);
                if target.is_absolute() {
                    resolved = PathBuf::from("/");
                }
                pending.extend(parts(target).into_iter().rev());
            }
            Ok(_) => resolved.push(part),
            Err(nix::Error::ENOENT | nix::Error::ENOTDIR) => {
                resolved.push(part);
                while let Some(part) = pending.pop() {
                    if part == ".." {
                        resolved.pop();
                    } else {
                        resolved.push(part);
                    }
                }
                return Ok(Resolved {
                    path: resolved,
                    exists: false,
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Resolved {
        path: resolved,
        exists: true,
    })
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_IN_ROOT: u64 = 0x10;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_cannot_leave_the_root() {
        let base = std::env::temp_dir().join(format!("skiff-beneath-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("root/etc")).unwrap();
        std::fs::write(base.join("secret"), "host").unwrap();
        std::fs::write(base.join("root/secret"), "container").unwrap();
        std::os::unix::fs::symlink("/secret", base.join("root/etc/abs")).unwrap();
        std::os::unix::fs::symlink("../../../../secret", base.join("root/etc/rel")).unwrap();
        let root = File::open(base.join("root")).unwrap();
        assert_eq!(read_in_root(&root, Path::new("/etc/abs")), "container");
        assert_eq!(read_in_root(&root, Path::new("etc/rel")), "container");
        assert_eq!(read_in_root(&root, Path::new("/../secret")), "container");
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn resolving_follows_links_inside_the_root_only() {
        let base =
            std::env::temp_dir().join(format!("skiff-beneath-resolve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("root/tmp/sub")).unwrap();
        std::os::unix::fs::symlink("..", base.join("root/tmp/sub/up")).unwrap();
        std::os::unix::fs::symlink("/../../etc", base.join("root/tmp/abs")).unwrap();
        std::os::unix::fs::symlink("/tmp/nonesuch", base.join("root/tmp/dangling")).unwrap();
        std::os::unix::fs::symlink("loop", base.join("root/tmp/loop")).unwrap();
        let root = File::open(base.join("root")).unwrap();
        let resolve = |p: &str| resolve_in_root(&root, Path::new(p)).unwrap();
        let found = |p: &str| Resolved {
            path: PathBuf::from(p),
            exists: true,
        };
        assert_eq!(resolve("/tmp/sub/up"), found("/tmp"));
        assert_eq!(resolve("tmp/sub/up/sub/./"), found("/tmp/sub"));
        assert_eq!(resolve("/"), found("/"));
        assert_eq!(resolve("/../.."), found("/"));
        // Out of the root is back at its top: /etc, which does not exist there.
        let etc = resolve("/tmp/abs/passwd");
        assert_eq!(
            (etc.path.as_path(), etc.exists),
            (Path::new("/etc/passwd"), false)
        );
        let dangling = resolve("/tmp/dangling");
        assert_eq!(
            (dangling.path.as_path(), dangling.exists),
            (Path::new("/tmp/nonesuch"), false)
        );
        let missing = resolve("/tmp/no/such/../file");
        assert_eq!(
            (missing.path.as_path(), missing.exists),
            (Path::new("/tmp/no/file"), false)
        );
        assert_eq!(
            resolve_in_root(&root, Path::new("/tmp/loop"))
                .unwrap_err()
                .raw_os_error(),
            Some(libc::ELOOP)
        );
        let _ = std::fs::remove_dir_all(&base);
    }
}
