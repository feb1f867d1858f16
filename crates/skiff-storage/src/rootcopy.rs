//! Files in and out of a container's root filesystem as tar streams (`cp`), never following a
//! link out of it, even one a process in the container swaps in while the copy runs (the
//! CVE-2018-15664 class): paths given by the user are resolved with RESOLVE_IN_ROOT, and every
//! step of a walk or an extraction is made relative to an already open directory, without
//! following symlinks.
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstatat};

use crate::beneath::open_in_root;

/// What a path inside the root is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Directory,
    Symlink,
    Other,
}

/// The kind of `path` inside `root` (the last component not followed), None if missing.
pub fn kind_in_root(root: &File, path: &Path) -> Option<Kind> {
    stat_in_root(root, path).map(|(stat, _)| kind(&stat))
}

/// What `path` beneath `root` is (not following a last symlink), and a symlink's target.
pub fn stat_in_root(root: &File, path: &Path) -> Option<(FileStat, Option<PathBuf>)> {
    let (parent, name) = split(path);
    let dir = open_in_root(root, &parent, libc::O_PATH | libc::O_DIRECTORY, 0).ok()?;
    let name = name.unwrap_or_else(|| OsString::from("."));
    let stat = fstatat(
        Some(dir.as_raw_fd()),
        name.as_os_str(),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .ok()?;
    let target = (kind(&stat) == Kind::Symlink)
        .then(|| nix::fcntl::readlinkat(Some(dir.as_raw_fd()), name.as_os_str()).ok())
        .flatten()
        .map(PathBuf::from);
    Some((stat, target))
}

fn kind(stat: &FileStat) -> Kind {
    match SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT {
        SFlag::S_IFDIR => Kind::Directory,
        SFlag::S_IFLNK => Kind::Symlink,
        _ => Kind::Other,
    }
}

/// `path` as (its parent, its last name); `/` is (`/`, None).
fn split(path: &Path) -> (PathBuf, Option<OsString>) {
    let normal: PathBuf = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    match normal.file_name() {
        Some(name) => (
            normal.parent().map(Path::to_path_buf).unwrap_or_default(),
            Some(name.to_os_string()),
        ),
        None => (PathBuf::from("/"), None),
    }
}

/// GNU tar's record size: archives it writes end on a multiple of it, and `tar -r` and `tar
/// --delete` rewrite archives in place record by record, misreading one that ends short.
const RECORD: u64 = 10240;

/// A writer that counts what passed, so the archive can be closed on a whole record.
struct Counted<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn tar_builder<W: Write>(out: W) -> tar::Builder<Counted<W>> {
    let mut builder = tar::Builder::new(Counted {
        inner: out,
        written: 0,
    });
    builder.follow_symlinks(false);
    builder
}

/// Ends the archive (its two zero blocks) and pads it to a whole record, as GNU tar does. A
/// reader that stopped at the end of the archive (`cp`'s own unpacker) has all it needs: the
/// padding is no loss to it.
fn finish_records<W: Write>(builder: tar::Builder<Counted<W>>) -> io::Result<()> {
    let mut counted = builder.into_inner()?;
    let pad = (RECORD - counted.written % RECORD) % RECORD;
    match counted
        .inner
        .write_all(&vec![0; pad as usize])
        .and_then(|()| counted.inner.flush())
    {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes `path` (a file, symlink or directory tree inside `root`) as a tar stream named
/// `name` (its last component by default, or `.` for a directory's contents).
pub fn pack_from_root(root: &File, path: &Path, name: &Path, out: impl Write) -> io::Result<()> {
    let (parent, last) = split(path);
    let dir = open_dir(root, &parent)?;
    let last = last.unwrap_or_else(|| OsString::from("."));
    let mut builder = tar_builder(out);
    append(&mut builder, &dir, &last, name)?;
    finish_records(builder)
}

/// Writes everything below `/` of `root` as a tar stream with relative names (`export`).
pub fn pack_root_contents(root: &File, out: impl Write) -> io::Result<()> {
    let dir = open_dir(root, Path::new("/"))?;
    let mut names: Vec<OsString> = std::fs::read_dir(format!("/proc/self/fd/{}", dir.as_raw_fd()))?
        .flatten()
        .map(|e| e.file_name())
        .collect();
    names.sort();
    let mut builder = tar_builder(out);
    for name in names {
        append(&mut builder, &dir, &name, Path::new(&name))?;
    }
    finish_records(builder)
}

fn open_dir(root: &File, path: &Path) -> io::Result<OwnedFd> {
    Ok(open_in_root(root, path, libc::O_RDONLY | libc::O_DIRECTORY, 0)?.into())
}

fn append<W: Write>(
    builder: &mut tar::Builder<W>,
    dir: &OwnedFd,
    name: &OsStr,
    archived: &Path,
) -> io::Result<()> {
    let stat = fstatat(Some(dir.as_raw_fd()), name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
    let mut header = tar::Header::new_gnu();
    header.set_mode(stat.st_mode & 0o7777);
    header.set_uid(u64::from(stat.st_uid));
    header.set_gid(u64::from(stat.st_gid));
    header.set_mtime(stat.st_mtime.max(0) as u64);
    header.set_size(0);
    match SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT {
        SFlag::S_IFDIR => {
            header.set_entry_type(tar::EntryType::Directory);
            builder.append_data(&mut header, archived, io::empty())?;
            let child = owned(openat(
                Some(dir.as_raw_fd()),
                name,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?);
            // Listed through the open directory itself; each name is then opened relative
            // to it without following links.
            let mut names: Vec<OsString> =
                std::fs::read_dir(format!("/proc/self/fd/{}", child.as_raw_fd()))?
                    .flatten()
                    .map(|e| e.file_name())
                    .collect();
            names.sort();
            for entry in names {
                append(builder, &child, &entry, &archived.join(&entry))?;
            }
        }
        SFlag::S_IFREG => {
            let file = File::from(owned(openat(
                Some(dir.as_raw_fd()),
                name,
                OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?));
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(stat.st_size as u64);
            builder.append_data(&mut header, archived, file.take(stat.st_size as u64))?;
        }
        SFlag::S_IFLNK => {
            let target = nix::fcntl::readlinkat(Some(dir.as_raw_fd()), name)?;
            header.set_entry_type(tar::EntryType::Symlink);
            builder.append_link(&mut header, archived, Path::new(&target))?;
        }
        kind @ (SFlag::S_IFCHR | SFlag::S_IFBLK) => {
            header.set_entry_type(if kind == SFlag::S_IFCHR {
                tar::EntryType::Char
            } else {
                tar::EntryType::Block
            });
            header.set_device_major(nix::sys::stat::major(stat.st_rdev) as u32)?;
            header.set_device_minor(nix::sys::stat::minor(stat.st_rdev) as u32)?;
            builder.append_data(&mut header, archived, io::empty())?;
        }
        SFlag::S_IFIFO => {
            header.set_entry_type(tar::EntryType::Fifo);
            builder.append_data(&mut header, archived, io::empty())?;
        }
        // Sockets do not go into archives.
        _ => {}
    }
    Ok(())
}

/// How `unpack_into_root` extracts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unpack {
    /// Who owns each entry (the container's user, as in Podman); None: the IDs the archive
    /// gives (`cp --archive=false`).
    pub owner: Option<(u32, u32)>,
    /// A directory may replace a non-directory and the other way round (`cp --overwrite`);
    /// else that is refused, naming the path. A file always replaces a file.
    pub overwrite: bool,
    /// Device nodes are made; else skipped (a copy to the host, as Podman's).
    pub devices: bool,
}

/// Extracts a tar stream into the directory `dest` inside `root`; entries keep their modes
/// and times. An entry whose path climbs out with `..` or is absolute is refused, naming it.
pub fn unpack_into_root(root: &File, dest: &Path, input: impl Read, how: Unpack) -> io::Result<()> {
    let owner = how.owner;
    let made_by = owner.unwrap_or((0, 0));
    let mut archive = tar::Archive::new(input);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let mut relative = PathBuf::new();
        for component in path.components() {
            match component {
                Component::Normal(part) => relative.push(part),
                Component::CurDir => {}
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("archive entry {} leaves the destination", path.display()),
                    ));
                }
            }
        }
        // `.` itself: the destination directory, which stays as it is.
        if relative.as_os_str().is_empty() {
            continue;
        }
        let target = dest.join(&relative);
        let (parent, name) = split(&target);
        let Some(name) = name else {
            continue;
        };
        let dir = make_dirs(root, &parent, made_by)?;
        let header = entry.header().clone();
        let owner = match owner {
            Some(owner) => owner,
            None => (
                header.uid().unwrap_or(0) as u32,
                header.gid().unwrap_or(0) as u32,
            ),
        };
        let mode = Mode::from_bits_truncate(header.mode().unwrap_or(0o644) & 0o7777);
        let kind = header.entry_type();
        if !how.devices && matches!(kind, tar::EntryType::Char | tar::EntryType::Block) {
            continue;
        }
        let existing = fstatat(
            Some(dir.as_raw_fd()),
            name.as_os_str(),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .ok();
        let existing_dir = existing.as_ref().is_some_and(kind_is_dir);
        match (&existing, kind.is_dir()) {
            (None, _) => {}
            // Directories merge.
            (Some(_), true) if existing_dir => {}
            (Some(_), entry_dir) => {
                if entry_dir != existing_dir && !how.overwrite {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!(
                            "error creating {:?}: {} (--overwrite allows it): file exists",
                            Path::new("/").join(&target),
                            if entry_dir {
                                "a directory would replace a non-directory"
                            } else {
                                "a non-directory would replace a directory"
                            }
                        ),
                    ));
                }
                if existing_dir {
                    remove_tree_at(&dir, &name)?;
                } else {
                    nix::unistd::unlinkat(
                        Some(dir.as_raw_fd()),
                        name.as_os_str(),
                        nix::unistd::UnlinkatFlags::NoRemoveDir,
                    )?;
                }
            }
        }
        match kind {
            tar::EntryType::Directory => {
                if !existing_dir {
                    nix::sys::stat::mkdirat(Some(dir.as_raw_fd()), name.as_os_str(), mode)?;
                }
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut file = File::from(owned(openat(
                    Some(dir.as_raw_fd()),
                    name.as_os_str(),
                    OFlag::O_WRONLY
                        | OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC,
                    mode,
                )?));
                io::copy(&mut entry, &mut file)?;
            }
            tar::EntryType::Symlink => {
                let link = header.link_name()?.unwrap_or_default().into_owned();
                nix::unistd::symlinkat(link.as_os_str(), Some(dir.as_raw_fd()), name.as_os_str())?;
            }
            tar::EntryType::Link => {
                let link = header.link_name()?.unwrap_or_default().into_owned();
                let source = open_in_root(root, &dest.join(&link), libc::O_PATH, 0)?;
                nix::unistd::linkat(
                    Some(source.as_raw_fd()),
                    OsStr::new(""),
                    Some(dir.as_raw_fd()),
                    name.as_os_str(),
                    AtFlags::AT_EMPTY_PATH,
                )?;
                continue;
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let kind = match kind {
                    tar::EntryType::Char => SFlag::S_IFCHR,
                    tar::EntryType::Block => SFlag::S_IFBLK,
                    _ => SFlag::S_IFIFO,
                };
                let device = nix::sys::stat::makedev(
                    u64::from(header.device_major()?.unwrap_or(0)),
                    u64::from(header.device_minor()?.unwrap_or(0)),
                );
                nix::sys::stat::mknodat(
                    Some(dir.as_raw_fd()),
                    name.as_os_str(),
                    kind,
                    mode,
                    device,
                )?;
            }
            // Extended headers and the like carry no file.
            _ => continue,
        }
        finish_entry(&dir, &name, &header, owner, mode, kind)?;
    }
    Ok(())
}

/// Removes `name` in `dir` and everything below it, never following a symlink (std's
/// `remove_dir_all` walks by descriptor, from the open `dir`).
fn remove_tree_at(dir: &OwnedFd, name: &OsStr) -> io::Result<()> {
    std::fs::remove_dir_all(Path::new(&format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name))
}

/// A tar archive, plain or compressed (gzip, zstd), ready to read; None when `input` is no
/// archive (its first header is not a tar header). What was read to tell is not lost.
pub fn archive_reader<'a>(input: impl Read + 'a) -> io::Result<Option<Box<dyn Read + 'a>>> {
    let mut input = io::BufReader::new(input);
    let head = io::BufRead::fill_buf(&mut input)?;
    let compression = crate::layer::Compression::detect(head);
    let mut decoded = compression.decoder(input)?;
    let mut block = vec![0u8; 512];
    let mut filled = 0;
    while filled < block.len() {
        match decoded.read(&mut block[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // A stream that is not what its first bytes claim is no archive either.
            Err(_) => return Ok(None),
        }
    }
    if filled < block.len() || !is_tar_header(&block) {
        return Ok(None);
    }
    Ok(Some(Box::new(io::Cursor::new(block).chain(decoded))))
}

/// Whether `block` is a tar header: its checksum field matches its bytes.
fn is_tar_header(block: &[u8]) -> bool {
    let field = String::from_utf8_lossy(&block[148..156]);
    let Ok(stored) = u32::from_str_radix(field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
    else {
        return false;
    };
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                u32::from(b' ')
            } else {
                u32::from(*b)
            }
        })
        .sum();
    sum == stored
}

fn kind_is_dir(stat: &FileStat) -> bool {
    SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR
}

/// Owner, mode and modification time of an extracted entry.
fn finish_entry(
    dir: &OwnedFd,
    name: &OsStr,
    header: &tar::Header,
    owner: (u32, u32),
    mode: Mode,
    kind: tar::EntryType,
) -> io::Result<()> {
    let symlink = kind == tar::EntryType::Symlink;
    nix::unistd::fchownat(
        Some(dir.as_raw_fd()),
        name,
        Some(nix::unistd::Uid::from_raw(owner.0)),
        Some(nix::unistd::Gid::from_raw(owner.1)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )?;
    if !symlink {
        // After chown, which clears set-ID bits.
        nix::sys::stat::fchmodat(
            Some(dir.as_raw_fd()),
            name,
            mode,
            nix::sys::stat::FchmodatFlags::FollowSymlink,
        )?;
    }
    let mtime = nix::sys::time::TimeSpec::new(header.mtime().unwrap_or(0) as i64, 0);
    nix::sys::stat::utimensat(
        Some(dir.as_raw_fd()),
        name,
        &mtime,
        &mtime,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )?;
    Ok(())
}

/// Opens directory `path` inside `root`, creating missing components (owned by `owner`).
fn make_dirs(root: &File, path: &Path, owner: (u32, u32)) -> io::Result<OwnedFd> {
    match open_dir(root, path) {
        Ok(dir) => return Ok(dir),
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        Err(_) => {}
    }
    let (parent, name) = split(path);
    let Some(name) = name else {
        return open_dir(root, path);
    };
    let parent_dir = make_dirs(root, &parent, owner)?;
    match nix::sys::stat::mkdirat(
        Some(parent_dir.as_raw_fd()),
        name.as_os_str(),
        Mode::from_bits_truncate(0o755),
    ) {
        Ok(()) => {
            nix::unistd::fchownat(
                Some(parent_dir.as_raw_fd()),
                name.as_os_str(),
                Some(nix::unistd::Uid::from_raw(owner.0)),
                Some(nix::unistd::Gid::from_raw(owner.1)),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )?;
        }
        Err(nix::Error::EEXIST) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(owned(openat(
        Some(parent_dir.as_raw_fd()),
        name.as_os_str(),
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?))
}

fn owned(fd: i32) -> OwnedFd {
    // SAFETY: only called with a descriptor the kernel just returned, owned by nothing else.
    #[allow(unsafe_code)]
    unsafe {
        OwnedFd::from_raw_fd(fd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("skiff-rootcopy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn archives_end_on_a_whole_record_as_gnu_tar_writes_them() {
        let base = scratch("records");
        let root_dir = base.join("root");
        std::fs::create_dir_all(root_dir.join("tmp")).unwrap();
        std::fs::write(root_dir.join("tmp/empty"), "").unwrap();
        std::fs::write(root_dir.join("file"), "x".repeat(700)).unwrap();
        let root = File::open(&root_dir).unwrap();
        let mut tar = Vec::new();
        pack_root_contents(&root, &mut tar).unwrap();
        assert_eq!(tar.len() % RECORD as usize, 0, "{}", tar.len());
        let mut archive = tar::Archive::new(tar.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["file", "tmp", "tmp/empty"]);
        let mut one = Vec::new();
        pack_from_root(&root, Path::new("/file"), Path::new("file"), &mut one).unwrap();
        assert_eq!(one.len(), RECORD as usize);
    }

    #[test]
    fn round_trip_inside_the_root_and_no_escape() {
        let base = scratch("trip");
        let root_dir = base.join("root");
        std::fs::create_dir_all(root_dir.join("etc/sub")).unwrap();
        std::fs::write(root_dir.join("etc/sub/file"), "data").unwrap();
        std::os::unix::fs::symlink("/etc/shadow", root_dir.join("etc/link")).unwrap();
        std::fs::write(base.join("outside"), "host").unwrap();
        // A symlink planted to the host's file: reading it reads the container's own path.
        std::os::unix::fs::symlink("/../../outside", root_dir.join("escape")).unwrap();
        let root = File::open(&root_dir).unwrap();
        let mut tar = Vec::new();
        pack_from_root(&root, Path::new("/etc"), Path::new("etc"), &mut tar).unwrap();
        let uid = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        std::fs::create_dir_all(root_dir.join("copy")).unwrap();
        let how = Unpack {
            owner: Some((uid, gid)),
            ..Unpack::default()
        };
        unpack_into_root(&root, Path::new("/copy"), tar.as_slice(), how).unwrap();
        assert_eq!(
            std::fs::read_to_string(root_dir.join("copy/etc/sub/file")).unwrap(),
            "data"
        );
        assert_eq!(
            std::fs::read_link(root_dir.join("copy/etc/link")).unwrap(),
            Path::new("/etc/shadow")
        );
        // Writing through the planted link lands inside the root.
        let mut single = Vec::new();
        {
            let mut builder = tar::Builder::new(&mut single);
            let mut header = tar::Header::new_gnu();
            header.set_size(3);
            header.set_mode(0o644);
            builder
                .append_data(&mut header, "escape", &b"bad"[..])
                .unwrap();
            builder.finish().unwrap();
        }
        unpack_into_root(&root, Path::new("/"), single.as_slice(), how).unwrap();
        assert_eq!(
            std::fs::read_to_string(base.join("outside")).unwrap(),
            "host"
        );
        assert_eq!(
            kind_in_root(&root, Path::new("/etc")),
            Some(Kind::Directory)
        );
        assert_eq!(
            kind_in_root(&root, Path::new("/etc/link")),
            Some(Kind::Symlink)
        );
        assert_eq!(kind_in_root(&root, Path::new("/nothing")), None);
        let _ = std::fs::remove_dir_all(&base);
    }

    fn one_entry(name: &str, directory: bool) -> Vec<u8> {
        let mut tar = Vec::new();
        let mut builder = tar::Builder::new(&mut tar);
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o755);
        if directory {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            builder.append_data(&mut header, name, io::empty()).unwrap();
        } else {
            header.set_size(3);
            builder.append_data(&mut header, name, &b"new"[..]).unwrap();
        }
        builder.into_inner().unwrap();
        tar
    }

    #[test]
    fn a_directory_and_a_file_replace_each_other_only_when_asked() {
        let base = scratch("overwrite");
        std::fs::create_dir_all(base.join("tmp/dir/sub")).unwrap();
        std::fs::write(base.join("tmp/dir/sub/file"), "old").unwrap();
        std::fs::write(base.join("tmp/file"), "old").unwrap();
        let root = File::open(&base).unwrap();
        let uid = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        let keep = Unpack {
            owner: Some((uid, gid)),
            ..Unpack::default()
        };
        let refused = unpack_into_root(
            &root,
            Path::new("/tmp"),
            one_entry("dir", false).as_slice(),
            keep,
        )
        .unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::AlreadyExists);
        assert!(
            refused
                .to_string()
                .starts_with("error creating \"/tmp/dir\": ")
                && refused.to_string().ends_with(": file exists"),
            "{refused}"
        );
        let refused = unpack_into_root(
            &root,
            Path::new("/tmp"),
            one_entry("file", true).as_slice(),
            keep,
        )
        .unwrap_err();
        assert!(refused.to_string().contains("\"/tmp/file\""), "{refused}");
        assert_eq!(
            std::fs::read_to_string(base.join("tmp/file")).unwrap(),
            "old"
        );
        // A file over a file is replaced without asking.
        unpack_into_root(
            &root,
            Path::new("/tmp"),
            one_entry("file", false).as_slice(),
            keep,
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(base.join("tmp/file")).unwrap(),
            "new"
        );
        let overwrite = Unpack {
            overwrite: true,
            ..keep
        };
        unpack_into_root(
            &root,
            Path::new("/tmp"),
            one_entry("dir", false).as_slice(),
            overwrite,
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(base.join("tmp/dir")).unwrap(),
            "new"
        );
        unpack_into_root(
            &root,
            Path::new("/tmp"),
            one_entry("file", true).as_slice(),
            overwrite,
        )
        .unwrap();
        assert!(base.join("tmp/file").is_dir());
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn archives_are_told_from_other_input_compressed_or_not() {
        let tar = one_entry("file", false);
        let read_all = |input: &[u8]| -> Option<Vec<u8>> {
            let mut reader = archive_reader(input).unwrap()?;
            let mut out = Vec::new();
            reader.read_to_end(&mut out).unwrap();
            Some(out)
        };
        assert_eq!(read_all(&tar).as_deref(), Some(tar.as_slice()));
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(&tar).unwrap();
        assert_eq!(
            read_all(&gzip.finish().unwrap()).as_deref(),
            Some(tar.as_slice())
        );
        let zstd = zstd::stream::encode_all(tar.as_slice(), 1).unwrap();
        assert_eq!(read_all(&zstd).as_deref(), Some(tar.as_slice()));
        assert_eq!(read_all(b"just some text\n".repeat(100).as_slice()), None);
        assert_eq!(read_all(b""), None);
        assert_eq!(read_all(&[0u8; 1024]), None);
    }
}
