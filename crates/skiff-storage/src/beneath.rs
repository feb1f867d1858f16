//! Paths inside a container's root filesystem, resolved by the kernel as if that directory were
//! `/` (openat2 with RESOLVE_IN_ROOT): a symlink planted in the container, absolute or full of
//! `..`, can never lead a host-side reader or writer out of it (the CVE-2018-15664 class).
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::Path;

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
}
