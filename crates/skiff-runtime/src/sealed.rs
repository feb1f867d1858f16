//! The running binary, re-executed from a copy that nothing can write through, before this
//! process puts a child into a container's namespaces (the runc CVE-2019-5736 class).
//!
//! Between its fork and its execve, the child of `skiff exec` lives in the container's PID
//! namespace with /proc/PID/exe naming this binary: a process in the container that can open
//! that link holds the host's skiff, and once no skiff runs it can reopen it for writing through
//! /proc/self/fd and replace the binary the next root `skiff` runs. Two defences, as runc has:
//! - the child is not dumpable until it execs (`exec.rs`), so only a process with
//!   CAP_SYS_PTRACE in the host's user namespace may open its /proc entries;
//! - a container that holds CAP_SYS_PTRACE could still, so the process that forks the child
//!   first re-executes itself from a read-only overlayfs mount of its own directory that no
//!   mount namespace holds (opening it for writing fails with EROFS), or, where overlayfs
//!   cannot be mounted, from a sealed memfd copy (F_SEAL_WRITE).
use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const OVERLAYFS_SUPER_MAGIC: libc::c_long = 0x794c_7630;

/// Whether this process already runs from a sealed copy of its binary.
pub fn is_sealed() -> bool {
    let Ok(exe) = File::open("/proc/self/exe") else {
        return false;
    };
    // SAFETY: fcntl on a descriptor this function owns; F_GET_SEALS takes no argument.
    #[allow(unsafe_code)]
    let seals = unsafe { libc::fcntl(exe.as_raw_fd(), libc::F_GET_SEALS) };
    if seals >= 0 && seals & libc::F_SEAL_WRITE != 0 {
        return true;
    }
    match nix::sys::statfs::fstatfs(&exe) {
        Ok(fs) => {
            fs.filesystem_type().0 as libc::c_long == OVERLAYFS_SUPER_MAGIC
                && nix::sys::statvfs::fstatvfs(&exe)
                    .is_ok_and(|v| v.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
        }
        Err(_) => false,
    }
}

/// A descriptor the re-executed process must still hold (the action helper's control socket),
/// or -1.
static KEPT_ACROSS_REEXEC: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// Keeps `fd` open across `reexec_sealed` although it is close-on-exec for every other exec.
pub fn keep_across_reexec(fd: std::os::fd::RawFd) {
    KEPT_ACROSS_REEXEC.store(fd, std::sync::atomic::Ordering::Relaxed);
}

/// Re-executes this process, with the same arguments and environment, from a sealed copy of
/// its binary. Returns only when that was not possible. Check `is_sealed` first.
pub fn reexec_sealed() -> io::Error {
    let copy = match sealed_copy() {
        Ok(copy) => copy,
        Err(error) => return error,
    };
    let argv: Vec<CString> = match std::env::args_os()
        .map(|a| CString::new(a.as_bytes()))
        .collect()
    {
        Ok(argv) => argv,
        Err(error) => return io::Error::new(io::ErrorKind::InvalidInput, error),
    };
    let envp: Vec<CString> = match std::env::vars_os()
        .map(|(k, v)| CString::new([k.as_bytes(), b"=", v.as_bytes()].concat()))
        .collect()
    {
        Ok(envp) => envp,
        Err(error) => return io::Error::new(io::ErrorKind::InvalidInput, error),
    };
    let pointers = |items: &[CString]| -> Vec<*const libc::c_char> {
        items
            .iter()
            .map(|c| c.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect()
    };
    let (argv_pointers, envp_pointers) = (pointers(&argv), pointers(&envp));
    let kept = KEPT_ACROSS_REEXEC.load(std::sync::atomic::Ordering::Relaxed);
    if kept >= 0 {
        // SAFETY: F_SETFD with flags 0 on a descriptor number; no pointers.
        #[allow(unsafe_code)]
        unsafe {
            libc::fcntl(kept, libc::F_SETFD, 0);
        }
    }
    // SAFETY: execveat with a descriptor we own, an empty NUL-terminated path, and
    // NULL-terminated arrays of pointers into CStrings that outlive the call.
    #[allow(unsafe_code)]
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            copy.as_raw_fd(),
            c"".as_ptr(),
            argv_pointers.as_ptr(),
            envp_pointers.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
    }
    io::Error::last_os_error()
}

/// A descriptor of this binary that cannot be written through: on a detached read-only
/// overlayfs mount, else a sealed memfd copy.
pub fn sealed_copy() -> io::Result<OwnedFd> {
    let exe = std::fs::read_link("/proc/self/exe")?;
    overlay_view(&exe).or_else(|_| memfd_copy())
}

/// The binary seen through an overlayfs made only of lower directories (so read-only for
/// good, unlike a bind mount that could be remounted), mounted nowhere.
fn overlay_view(exe: &Path) -> io::Result<OwnedFd> {
    let (Some(dir), Some(name)) = (exe.parent(), exe.file_name()) else {
        return Err(io::Error::other("no directory"));
    };
    // overlayfs wants two lower directories to stay read-only; the second must not overlap the
    // first, and sits below it, so a file of the same name there is never seen.
    let filler = if dir.starts_with("/dev") {
        "/sys/fs"
    } else {
        "/dev"
    };
    let lower = format!("{}:{filler}", escape_lower(dir.as_os_str()));
    let context = fs_call(|| {
        // SAFETY: fsopen with a NUL-terminated name and flags.
        #[allow(unsafe_code)]
        unsafe {
            libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), libc::FSOPEN_CLOEXEC)
        }
    })?;
    fsconfig(
        &context,
        libc::FSCONFIG_SET_STRING,
        Some("lowerdir"),
        Some(&lower),
    )?;
    // xino is of no use here, and on some hosts warns in the kernel log for every mount.
    let _ = fsconfig(
        &context,
        libc::FSCONFIG_SET_STRING,
        Some("xino"),
        Some("off"),
    );
    fsconfig(&context, libc::FSCONFIG_CMD_CREATE, None, None)?;
    let mount = fs_call(|| {
        // SAFETY: fsmount on the configured context descriptor.
        #[allow(unsafe_code)]
        unsafe {
            libc::syscall(
                libc::SYS_fsmount,
                context.as_raw_fd(),
                libc::FSMOUNT_CLOEXEC,
                libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NODEV | libc::MOUNT_ATTR_NOSUID,
            )
        }
    })?;
    let name = CString::new(name.as_bytes())?;
    fs_call(|| {
        // SAFETY: openat relative to the mount's descriptor with a NUL-terminated name.
        #[allow(unsafe_code)]
        unsafe {
            libc::openat(
                mount.as_raw_fd(),
                name.as_ptr(),
                libc::O_PATH | libc::O_CLOEXEC,
            ) as libc::c_long
        }
    })
}

/// A copy of the binary in memory, sealed against every change.
fn memfd_copy() -> io::Result<OwnedFd> {
    let create = |flags: libc::c_uint| {
        fs_call(|| {
            // SAFETY: memfd_create with a NUL-terminated name and flags.
            #[allow(unsafe_code)]
            unsafe {
                libc::memfd_create(c"skiff-sealed".as_ptr(), flags) as libc::c_long
            }
        })
    };
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // MFD_EXEC where the kernel knows it (vm.memfd_noexec may otherwise forbid executing it).
    let memfd = create(flags | libc::MFD_EXEC).or_else(|_| create(flags))?;
    let mut copy = File::from(memfd);
    io::copy(&mut File::open("/proc/self/exe")?, &mut copy)?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on a descriptor we own.
    #[allow(unsafe_code)]
    if unsafe { libc::fcntl(copy.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(OwnedFd::from(copy))
}

fn fsconfig(
    context: &OwnedFd,
    command: libc::c_uint,
    key: Option<&str>,
    value: Option<&str>,
) -> io::Result<()> {
    let key = key.map(CString::new).transpose()?;
    let value = value.map(CString::new).transpose()?;
    let pointer = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: fsconfig with NUL-terminated strings (or NULL) that outlive the call.
    #[allow(unsafe_code)]
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            context.as_raw_fd(),
            command,
            pointer(&key),
            pointer(&value),
            0,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Runs a call that returns a new descriptor or -1.
fn fs_call(call: impl FnOnce() -> libc::c_long) -> io::Result<OwnedFd> {
    let fd = call();
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    #[allow(unsafe_code)]
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// overlayfs separates lower directories by `:` and options by `,`; a backslash escapes.
fn escape_lower(path: &OsStr) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        if matches!(c, ':' | ',' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whichever way the copy is made, nothing can write it: opening for writing fails
    /// (overlayfs: EROFS), or writing does (a sealed memfd: EPERM).
    fn assert_unwritable(copy: &OwnedFd) {
        use std::io::{Read, Write};
        let path = format!("/proc/self/fd/{}", copy.as_raw_fd());
        match std::fs::OpenOptions::new().write(true).open(&path) {
            Ok(mut file) => {
                let error = file.write_all(b"x").unwrap_err();
                assert_eq!(error.raw_os_error(), Some(libc::EPERM), "{error}");
            }
            Err(error) => assert_eq!(error.raw_os_error(), Some(libc::EROFS), "{error}"),
        }
        let mut head = [0u8; 4];
        File::open(&path).unwrap().read_exact(&mut head).unwrap();
        assert_eq!(&head, b"\x7fELF");
    }

    #[test]
    fn sealed_copies_cannot_be_written() {
        let memfd = memfd_copy().unwrap();
        assert_unwritable(&memfd);
        if nix::unistd::geteuid().is_root() {
            let exe = std::fs::read_link("/proc/self/exe").unwrap();
            let overlay = overlay_view(&exe).unwrap();
            assert_unwritable(&overlay);
        }
        assert!(!is_sealed(), "a test binary runs from the build tree");
    }

    #[test]
    fn lower_directories_are_escaped() {
        assert_eq!(escape_lower(OsStr::new("/a:b,c\\d")), "/a\\:b\\,c\\\\d");
    }
}
