//! What COPY and ADD put into a layer: files chosen from the build context (ignore rules
//! applied, never outside it), another stage or image, a heredoc, a URL, or the entries of a
//! local tar archive (ADD) — written as a layer tar under the destination, with the owner,
//! mode and time the instruction asks for. The same writer, without a destination and with
//! times cleared, gives the content digest the build cache keys on.
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use skiff_storage::Digester;

use crate::patterns::{IgnoreRules, is_glob, segment_matches};

/// One thing to copy, named relative to the destination directory (or as the destination
/// itself when `name` is empty).
#[derive(Debug, Clone)]
pub enum Item {
    /// A file, directory or link on the host (context or a mounted image).
    Path { source: PathBuf, name: PathBuf },
    /// Bytes made here: a heredoc, a downloaded URL.
    Bytes {
        name: PathBuf,
        content: Vec<u8>,
        mode: u32,
        mtime: u64,
    },
    /// The entries of a local tar archive, extracted under the destination (ADD).
    Archive { source: PathBuf },
}

/// Owner, mode and time of what is written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Attributes {
    pub uid: u64,
    pub gid: u64,
    /// `--chmod`.
    pub mode: Option<u32>,
    /// `--timestamp`/SOURCE_DATE_EPOCH; `Some(0)` also for the content digest.
    pub mtime: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0:?}: source is outside the build context")]
    Outside(String),
    #[error(
        "{0:?}: no such file or directory in the build context (or excluded by the ignore file)"
    )]
    Missing(String),
    #[error("{0:?}: no source files were specified")]
    NoMatch(String),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> SourceError + '_ {
    move |source| SourceError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Cleans a source as written (`./a/../b`, `/b`) into a path relative to its root, refusing
/// one that climbs out.
pub fn clean_relative(source: &str) -> Result<PathBuf, SourceError> {
    let mut out = PathBuf::new();
    for component in Path::new(source).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => out
                .pop()
                .then_some(())
                .ok_or_else(|| SourceError::Outside(source.to_string()))?,
            _ => {}
        }
    }
    Ok(out)
}

/// What the sources of one COPY/ADD name.
#[derive(Debug, Default)]
pub struct Selection {
    pub items: Vec<Item>,
    /// A directory's contents (or an archive's) are among them: the destination is a directory.
    pub into_directory: bool,
}

/// How sources are chosen.
#[derive(Debug, Default, Clone)]
pub struct SelectOptions {
    /// The ignore file's rules, on paths relative to the root (the context only).
    pub ignore: IgnoreRules,
    /// `--exclude`: on paths relative to the root and to the source directory.
    pub exclude: IgnoreRules,
    /// ADD: local tar archives are unpacked.
    pub extract_archives: bool,
    /// `--parents`: sources keep their path, not only their name.
    pub parents: bool,
}

impl SelectOptions {
    fn excludes(&self, relative: &Path, name: &Path) -> bool {
        self.ignore.excludes(relative)
            || self.exclude.excludes(relative)
            || self.exclude.excludes(name)
    }
    fn has_exceptions(&self) -> bool {
        self.ignore.has_exceptions() || self.exclude.has_exceptions()
    }
}

/// The items for the sources of one COPY/ADD, read below `root` (the context, or an image's
/// files). A directory gives its contents.
pub fn select(
    root: &Path,
    sources: &[String],
    options: &SelectOptions,
) -> Result<Selection, SourceError> {
    let mut items = Vec::new();
    let mut into_directory = false;
    let root_dir = RootDir::open(root)?;
    for source in sources {
        let relative = clean_relative(source)?;
        let matched = if is_glob(source) {
            let mut found = glob(&root_dir, &relative);
            found.retain(|p| !options.excludes(p, p));
            if found.is_empty() {
                return Err(SourceError::NoMatch(source.clone()));
            }
            found
        } else {
            if options.excludes(&relative, &relative) && !relative.as_os_str().is_empty() {
                return Err(SourceError::Missing(source.clone()));
            }
            vec![relative]
        };
        for relative in matched {
            // A link named as a source is followed, as Docker does, but inside the root: the
            // kernel resolves every link on the way as if the root were `/`.
            let real = root_dir
                .resolve(&relative)
                .ok_or_else(|| SourceError::Missing(source.clone()))?;
            let path = root.join(&real);
            // With --parents, the directories above the source come along.
            let mut prefix = PathBuf::new();
            if options.parents {
                into_directory = true;
                for directory in relative.parent().into_iter().flat_map(Path::components) {
                    prefix.push(directory);
                    let known = items
                        .iter()
                        .any(|i| matches!(i, Item::Path { name, .. } if *name == prefix));
                    if !known {
                        let real = root_dir
                            .resolve(&prefix)
                            .ok_or_else(|| SourceError::Missing(source.clone()))?;
                        items.push(Item::Path {
                            source: root.join(real),
                            name: prefix.clone(),
                        });
                    }
                }
            }
            // Links inside a copied directory are kept as links.
            let meta = fs::symlink_metadata(&path).map_err(io_error(&path))?;
            let name = prefix.join(relative.file_name().unwrap_or_default());
            if meta.is_dir() {
                into_directory = true;
                let inside = if options.parents {
                    items.push(Item::Path {
                        source: path.clone(),
                        name: name.clone(),
                    });
                    name
                } else {
                    PathBuf::new()
                };
                walk(root, &real, &inside, options, &mut items)?;
            } else if options.extract_archives && is_archive(&path) {
                into_directory = true;
                items.push(Item::Archive { source: path });
            } else {
                items.push(Item::Path { source: path, name });
            }
        }
    }
    Ok(Selection {
        items,
        into_directory,
    })
}

/// A directory's contents, parents before children, in name order (a stable digest).
fn walk(
    root: &Path,
    relative: &Path,
    name: &Path,
    options: &SelectOptions,
    items: &mut Vec<Item>,
) -> Result<(), SourceError> {
    let dir = root.join(relative);
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .map_err(io_error(&dir))?
        .collect::<Result<_, _>>()
        .map_err(io_error(&dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let child_relative = relative.join(entry.file_name());
        let child_name = name.join(entry.file_name());
        let excluded = options.excludes(&child_relative, &child_name);
        let meta = entry
            .path()
            .symlink_metadata()
            .map_err(io_error(&entry.path()))?;
        if excluded && !(meta.is_dir() && options.has_exceptions()) {
            continue;
        }
        if !excluded {
            items.push(Item::Path {
                source: entry.path(),
                name: child_name.clone(),
            });
        }
        if meta.is_dir() {
            walk(root, &child_relative, &child_name, options, items)?;
        }
    }
    Ok(())
}

/// Paths below `root` matching a glob, segment by segment, in name order. Directories are
/// listed where they really are inside the root, links on the way resolved beneath it.
fn glob(root: &RootDir, pattern: &Path) -> Vec<PathBuf> {
    let segments: Vec<String> = pattern
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let mut found = vec![PathBuf::new()];
    for segment in &segments {
        let mut next = Vec::new();
        for base in &found {
            if !is_glob(segment) {
                let candidate = base.join(segment);
                if root.resolve(&candidate).is_some() {
                    next.push(candidate);
                }
                continue;
            }
            let Some(entries) = root
                .resolve(base)
                .and_then(|real| fs::read_dir(root.path.join(real)).ok())
            else {
                continue;
            };
            let mut names: Vec<String> = entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| segment_matches(segment, n))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| base.join(n)));
        }
        found = next;
    }
    found
}

/// The root sources are read from (the build context, a stage's or an image's files), open.
struct RootDir<'a> {
    path: &'a Path,
    file: File,
    /// Where the root really is (what /proc/self/fd says of it).
    real: PathBuf,
}

impl<'a> RootDir<'a> {
    fn open(path: &'a Path) -> Result<Self, SourceError> {
        let file = File::open(path).map_err(io_error(path))?;
        let real = fd_path(&file).map_err(io_error(path))?;
        Ok(Self { path, file, real })
    }

    /// Where `relative` really is below the root, every symbolic link on the way (the last one
    /// too) resolved by the kernel as if the root were `/` (openat2 RESOLVE_IN_ROOT): in a
    /// context holding `link -> /etc`, `link/shadow` is the context's `etc/shadow`, never the
    /// host's. None when there is nothing there.
    fn resolve(&self, relative: &Path) -> Option<PathBuf> {
        let opened =
            skiff_storage::beneath::open_in_root(&self.file, relative, libc::O_PATH, 0).ok()?;
        let real = fd_path(&opened).ok()?;
        real.strip_prefix(&self.real).ok().map(Path::to_path_buf)
    }
}

fn fd_path(file: &File) -> io::Result<PathBuf> {
    use std::os::fd::AsRawFd;
    fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

/// A tar, gzip or zstd file (ADD extracts those; anything else is copied as it is).
fn is_archive(path: &Path) -> bool {
    let mut head = [0u8; 262];
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    let n = file.read(&mut head).unwrap_or(0);
    let compressed =
        head[..n].starts_with(&[0x1f, 0x8b]) || head[..n].starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    compressed || (n >= 262 && &head[257..262] == b"ustar")
}

/// Writes the items as tar entries below `prefix` (the destination, relative to the root),
/// with `parents` (directories to create first) before them. `file_target`: a single file
/// item is written as `prefix` itself, not below it.
pub fn write_layer(
    out: impl Write,
    items: &[Item],
    prefix: &Path,
    parents: &[PathBuf],
    file_target: bool,
    attributes: Attributes,
) -> io::Result<()> {
    let mut builder = tar::Builder::new(out);
    for parent in parents {
        let mut header = directory_header(attributes);
        header.set_mode(attributes.mode.unwrap_or(0o755));
        builder.append_data(&mut header, parent, io::empty())?;
    }
    for item in items {
        match item {
            Item::Path { source, name } => {
                let target = if file_target {
                    prefix.to_path_buf()
                } else {
                    prefix.join(name)
                };
                append_path(&mut builder, source, &target, attributes)?;
            }
            Item::Bytes {
                name,
                content,
                mode,
                mtime,
            } => {
                let target = if file_target {
                    prefix.to_path_buf()
                } else {
                    prefix.join(name)
                };
                let mut header = tar::Header::new_gnu();
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(content.len() as u64);
                header.set_mode(attributes.mode.unwrap_or(*mode));
                header.set_uid(attributes.uid);
                header.set_gid(attributes.gid);
                header.set_mtime(attributes.mtime.unwrap_or(*mtime));
                builder.append_data(&mut header, &target, &content[..])?;
            }
            Item::Archive { source } => append_archive(&mut builder, source, prefix, attributes)?,
        }
    }
    builder.into_inner()?.flush()
}

/// The digest the cache keys on: the items' names, modes, owners and contents, not times.
pub fn content_digest(items: &[Item], attributes: Attributes) -> io::Result<String> {
    let attributes = Attributes {
        mtime: Some(0),
        ..attributes
    };
    let mut digester = Digester::new(io::sink());
    write_layer(&mut digester, items, Path::new(""), &[], false, attributes)?;
    Ok(digester.finish().0)
}

fn directory_header(attributes: Attributes) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_size(0);
    header.set_uid(attributes.uid);
    header.set_gid(attributes.gid);
    header.set_mtime(attributes.mtime.unwrap_or(0));
    header
}

fn append_path<W: Write>(
    builder: &mut tar::Builder<W>,
    source: &Path,
    target: &Path,
    attributes: Attributes,
) -> io::Result<()> {
    let meta = fs::symlink_metadata(source)?;
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
    header.set_uid(attributes.uid);
    header.set_gid(attributes.gid);
    if let Some(mode) = attributes.mode {
        header.set_mode(mode);
    } else {
        header.set_mode(meta.permissions().mode() & 0o7777);
    }
    header.set_mtime(attributes.mtime.unwrap_or(meta.mtime().max(0) as u64));
    let kind = meta.file_type();
    if kind.is_symlink() {
        builder.append_link(&mut header, target, fs::read_link(source)?)
    } else if kind.is_file() {
        builder.append_data(&mut header, target, File::open(source)?)
    } else {
        header.set_size(0);
        builder.append_data(&mut header, target, io::empty())
    }
}

/// ADD of a local archive: its entries, below the destination.
fn append_archive<W: Write>(
    builder: &mut tar::Builder<W>,
    source: &Path,
    prefix: &Path,
    attributes: Attributes,
) -> io::Result<()> {
    let file = io::BufReader::new(File::open(source)?);
    let mut reader: Box<dyn Read> = {
        let mut file = file;
        let head = io::BufRead::fill_buf(&mut file)?.to_vec();
        if head.starts_with(&[0x1f, 0x8b]) {
            Box::new(flate2::bufread::MultiGzDecoder::new(file))
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Box::new(zstd::stream::read::Decoder::with_buffer(file)?)
        } else {
            Box::new(file)
        }
    };
    let mut archive = tar::Archive::new(&mut reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.into_owned();
        let relative =
            clean_relative(&name.to_string_lossy()).map_err(|e| io::Error::other(e.to_string()))?;
        if relative.as_os_str().is_empty() {
            continue;
        }
        let mut header = entry.header().clone();
        if let Some(time) = attributes.mtime {
            header.set_mtime(time);
        }
        let target = prefix.join(&relative);
        match header.entry_type() {
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let link = entry.link_name()?.unwrap_or_default().into_owned();
                let link = if header.entry_type() == tar::EntryType::Link {
                    prefix.join(
                        clean_relative(&link.to_string_lossy())
                            .map_err(|e| io::Error::other(e.to_string()))?,
                    )
                } else {
                    link
                };
                builder.append_link(&mut header, &target, link)?;
            }
            _ => builder.append_data(&mut header, &target, &mut entry)?,
        }
    }
    Ok(())
}

/// Follows the symbolic links of `path` inside `root` (never out of it): where the path
/// really is in the image, relative to its root.
pub fn resolve_in_root(root: &Path, path: &Path) -> PathBuf {
    let mut resolved = PathBuf::new();
    let mut pending: Vec<PathBuf> = path
        .components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(PathBuf::from(p)),
            Component::ParentDir => Some(PathBuf::from("..")),
            _ => None,
        })
        .collect();
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        if part == Path::new("..") {
            resolved.pop();
            continue;
        }
        let candidate = resolved.join(&part);
        match fs::read_link(root.join(&candidate)) {
            Ok(target) if hops < 40 => {
                hops += 1;
                if target.is_absolute() {
                    resolved = PathBuf::new();
                }
                for c in target.components().rev() {
                    match c {
                        Component::Normal(p) => pending.push(PathBuf::from(p)),
                        Component::ParentDir => pending.push(PathBuf::from("..")),
                        _ => {}
                    }
                }
            }
            _ => resolved = candidate,
        }
    }
    resolved
}

/// The directories of `path` (relative to the root) that the image lacks, outermost first.
pub fn missing_parents(root: &Path, path: &Path) -> Vec<PathBuf> {
    let mut missing = Vec::new();
    let mut current = PathBuf::new();
    for component in path.components() {
        current.push(component);
        if !root.join(&current).is_dir() {
            missing.push(current.clone());
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("skiff-sources-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                Item::Path { name, .. } | Item::Bytes { name, .. } => name.display().to_string(),
                Item::Archive { source } => source.display().to_string(),
            })
            .collect()
    }

    #[test]
    fn sources_are_chosen_like_docker() {
        let root = tempdir("select");
        fs::create_dir_all(root.join("src/sub")).unwrap();
        fs::write(root.join("src/a.txt"), "a").unwrap();
        fs::write(root.join("src/sub/b.txt"), "b").unwrap();
        fs::write(root.join("src/skip.log"), "x").unwrap();
        fs::write(root.join("top.txt"), "t").unwrap();
        let options = SelectOptions {
            ignore: IgnoreRules::parse("**/*.log\n"),
            ..SelectOptions::default()
        };
        let selection = select(&root, &["src".into()], &options).unwrap();
        assert_eq!(names(&selection.items), ["a.txt", "sub", "sub/b.txt"]);
        assert!(selection.into_directory);
        let selection = select(&root, &["*.txt".into(), "./src/a.txt".into()], &options).unwrap();
        assert!(!selection.into_directory);
        let items = selection.items;
        assert_eq!(names(&items), ["top.txt", "a.txt"]);
        assert!(matches!(
            select(&root, &["../etc/passwd".into()], &options),
            Err(SourceError::Outside(_))
        ));
        assert!(matches!(
            select(&root, &["src/skip.log".into()], &options),
            Err(SourceError::Missing(_))
        ));
        assert!(matches!(
            select(&root, &["*.none".into()], &options),
            Err(SourceError::NoMatch(_))
        ));

        // --parents keeps the path; --exclude leaves out matches inside the source.
        let with_parents = SelectOptions {
            parents: true,
            exclude: IgnoreRules::parse("**/b.txt\n"),
            ..options.clone()
        };
        let selection = select(
            &root,
            &["src/sub".into(), "src/a.txt".into()],
            &with_parents,
        )
        .unwrap();
        assert_eq!(names(&selection.items), ["src", "src/sub", "src/a.txt"]);

        // The digest follows content, not times.
        let attributes = Attributes::default();
        let before = content_digest(&items, attributes).unwrap();
        File::options()
            .write(true)
            .open(root.join("top.txt"))
            .unwrap()
            .set_modified(std::time::SystemTime::UNIX_EPOCH)
            .unwrap();
        assert_eq!(content_digest(&items, attributes).unwrap(), before);
        fs::write(root.join("top.txt"), "changed").unwrap();
        assert_ne!(content_digest(&items, attributes).unwrap(), before);
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn context_links_never_lead_out_of_the_context() {
        let root = tempdir("context-links");
        let outside = tempdir("context-links-outside");
        fs::write(outside.join("shadow"), "host secret").unwrap();
        fs::create_dir_all(root.join("real")).unwrap();
        fs::write(root.join("real/file"), "inside").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        std::os::unix::fs::symlink(outside.join("shadow"), root.join("file-link")).unwrap();
        std::os::unix::fs::symlink("../../../..", root.join("up")).unwrap();
        std::os::unix::fs::symlink("/real", root.join("absolute")).unwrap();
        let options = SelectOptions::default();
        for source in [
            "link/shadow",
            "file-link",
            "link",
            "up/etc/passwd",
            "link/*",
            "l*/shadow",
        ] {
            let result = select(&root, &[source.to_string()], &options);
            assert!(
                matches!(
                    result,
                    Err(SourceError::Missing(_) | SourceError::NoMatch(_))
                ),
                "{source}: {result:?}"
            );
        }
        // An absolute link is read inside the context, as if the context were `/`.
        let selection = select(&root, &["absolute/file".into()], &options).unwrap();
        match &selection.items[..] {
            [Item::Path { source, name }] => {
                assert_eq!(fs::read_to_string(source).unwrap(), "inside");
                assert_eq!(name, Path::new("file"));
            }
            other => panic!("{other:?}"),
        }
        let selection = select(&root, &["up".into()], &options).unwrap();
        assert!(names(&selection.items).contains(&"real/file".to_string()));
        let _ = fs::remove_dir_all(&root);
        let _ = fs::remove_dir_all(&outside);
    }

    #[test]
    fn links_resolve_inside_the_root() {
        let root = tempdir("resolve");
        fs::create_dir_all(root.join("usr/lib")).unwrap();
        std::os::unix::fs::symlink("usr/lib", root.join("lib")).unwrap();
        std::os::unix::fs::symlink("/../../..", root.join("escape")).unwrap();
        assert_eq!(
            resolve_in_root(&root, Path::new("/lib/x")),
            Path::new("usr/lib/x")
        );
        assert_eq!(
            resolve_in_root(&root, Path::new("/escape/etc")),
            Path::new("etc")
        );
        assert_eq!(
            missing_parents(&root, Path::new("usr/lib/a/b")),
            [PathBuf::from("usr/lib/a"), PathBuf::from("usr/lib/a/b")]
        );
        let _ = fs::remove_dir_all(&root);
    }
}
