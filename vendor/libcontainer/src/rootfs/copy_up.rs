//! skiff patch: the `tmpcopyup` mount option (runc and crun have it; Podman sets it on every
//! tmpfs unless `notmpcopyup`): a new tmpfs starts with what the container's root filesystem
//! holds at its destination. The copy goes from the directory the tmpfs will cover into the
//! tmpfs's own detached mount, before it is attached, through descriptors only: no path is
//! looked up again, so nothing in the container can redirect it.
use std::fs::File;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use std::ffi::{CStr, CString};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat};
use nix::sys::stat::{
    FchmodatFlags, FileStat, Mode, SFlag, UtimensatFlags, fchmodat, fstatat, mkdirat, mknodat,
    utimensat,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, fchownat, symlinkat};

pub const OPTION: &str = "tmpcopyup";
pub const DISABLE: &str = "notmpcopyup";

/// Copies the contents of directory `from` into directory `to` (owners, modes, times, links
/// as links, device nodes as nodes).
pub fn copy_up(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> Result<(), Errno> {
    let source = open_dir(from.as_raw_fd(), c".")?;
    let target = open_dir(to.as_raw_fd(), c".")?;
    copy_contents(&source, &target)
}

fn open_dir(dir: RawFd, name: &CStr) -> Result<OwnedFd, Errno> {
    let fd = openat(
        Some(dir),
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    // SAFETY: the kernel just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn copy_contents(source: &OwnedFd, target: &OwnedFd) -> Result<(), Errno> {
    let mut listing = Dir::openat(
        Some(source.as_raw_fd()),
        c".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut names: Vec<CString> = Vec::new();
    for entry in listing.iter() {
        let name = entry?.file_name().to_owned();
        if name.to_bytes() != b"." && name.to_bytes() != b".." {
            names.push(name);
        }
    }
    for name in names {
        let (src, dst) = (source.as_raw_fd(), target.as_raw_fd());
        let stat = fstatat(Some(src), name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW)?;
        let mode = Mode::from_bits_truncate(stat.st_mode & 0o7777);
        match SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT {
            SFlag::S_IFDIR => {
                mkdirat(Some(dst), name.as_c_str(), Mode::from_bits_truncate(0o700))?;
                let inner_source = open_dir(src, &name)?;
                let inner_target = open_dir(dst, &name)?;
                copy_contents(&inner_source, &inner_target)?;
            }
            SFlag::S_IFREG => {
                let from = openat(
                    Some(src),
                    name.as_c_str(),
                    OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )?;
                let to = openat(
                    Some(dst),
                    name.as_c_str(),
                    OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )?;
                // SAFETY: both descriptors were just opened here and are owned by these files.
                let (mut from, mut to) = unsafe { (File::from_raw_fd(from), File::from_raw_fd(to)) };
                std::io::copy(&mut from, &mut to).map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
            }
            SFlag::S_IFLNK => {
                let link = readlinkat(Some(src), name.as_c_str())?;
                symlinkat(link.as_os_str(), Some(dst), name.as_c_str())?;
            }
            kind => {
                mknodat(Some(dst), name.as_c_str(), kind, mode, stat.st_rdev)?;
            }
        }
        finish(dst, &name, &stat, mode)?;
    }
    Ok(())
}

/// Owner, mode (after the owner: chown clears set-ID bits) and times of a copied entry.
fn finish(dir: RawFd, name: &CStr, stat: &FileStat, mode: Mode) -> Result<(), Errno> {
    fchownat(
        Some(dir),
        name,
        Some(Uid::from_raw(stat.st_uid)),
        Some(Gid::from_raw(stat.st_gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )?;
    let link = SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK;
    if !link {
        fchmodat(Some(dir), name, mode, FchmodatFlags::FollowSymlink)?;
    }
    utimensat(
        Some(dir),
        name,
        &TimeSpec::new(stat.st_atime, stat.st_atime_nsec),
        &TimeSpec::new(stat.st_mtime, stat.st_mtime_nsec),
        UtimensatFlags::NoFollowSymlink,
    )
}
