//! Where Quadlet files are: the search paths, and `quadlet install`/`rm`.
use std::path::{Path, PathBuf};

use super::{Kind, QuadletFile};

/// Where Quadlet files are looked for, first first: `QUADLET_UNIT_DIRS` (colon-separated)
/// when set, else Podman's search paths and skiff's own.
pub fn search_paths(user: bool) -> Vec<PathBuf> {
    if let Ok(dirs) = std::env::var("QUADLET_UNIT_DIRS")
        && !dirs.is_empty()
    {
        return dirs.split(':').map(PathBuf::from).collect();
    }
    if !user {
        return [
            "/run/containers/systemd",
            "/etc/containers/systemd",
            "/etc/skiff/systemd",
            "/usr/share/containers/systemd",
        ]
        .map(PathBuf::from)
        .to_vec();
    }
    let config = std::env::var("XDG_CONFIG_HOME")
        .ok()
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var("HOME")
                .ok()
                .map(|h| Path::new(&h).join(".config"))
        })
        .unwrap_or_else(|| PathBuf::from("/.config"));
    let uid = nix_uid();
    vec![
        config.join("containers/systemd"),
        config.join("skiff/systemd"),
        PathBuf::from(format!("/etc/containers/systemd/users/{uid}")),
        PathBuf::from("/etc/containers/systemd/users"),
    ]
}

fn nix_uid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(0)
}

/// The Quadlet files of these directories (and their subdirectories), each file name once:
/// the first directory's wins.
pub fn find_files(dirs: &[PathBuf]) -> (Vec<QuadletFile>, Vec<String>) {
    let mut files: Vec<QuadletFile> = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for dir in dirs {
        let mut pending = vec![dir.clone()];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            entries.sort();
            for path in entries {
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                if Kind::from_path(&path).is_none() {
                    continue;
                }
                let name = path
                    .file_name()
                    .map(|n| n.to_os_string())
                    .unwrap_or_default();
                if !seen.insert(name) {
                    continue;
                }
                match QuadletFile::read(&path) {
                    Ok(file) => files.push(file),
                    Err(message) => errors.push(message),
                }
            }
        }
    }
    (files, errors)
}

/// Where `quadlet install` puts files: the first of the search paths users edit.
pub fn install_dir(user: bool) -> PathBuf {
    let paths = search_paths(user);
    if user || std::env::var("QUADLET_UNIT_DIRS").is_ok_and(|d| !d.is_empty()) {
        paths[0].clone()
    } else {
        PathBuf::from("/etc/containers/systemd")
    }
}

/// `quadlet install`: copies the files into the install directory; an installed file of the
/// same name is refused unless `replace`. Nothing is copied if any file is not a Quadlet.
pub fn install(paths: &[PathBuf], user: bool, replace: bool) -> Result<Vec<PathBuf>, String> {
    let dir = install_dir(user);
    let mut plan = Vec::new();
    for path in paths {
        QuadletFile::read(path)?;
        let name = path
            .file_name()
            .ok_or_else(|| format!("{}: not a file", path.display()))?;
        let target = dir.join(name);
        if target.exists() && !replace {
            return Err(format!(
                "a Quadlet named {} is already installed in {}: remove it first or use --replace",
                name.to_string_lossy(),
                dir.display()
            ));
        }
        plan.push((path, target));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut installed = Vec::new();
    for (from, to) in plan {
        std::fs::copy(from, &to).map_err(|e| format!("{}: {e}", to.display()))?;
        installed.push(to);
    }
    Ok(installed)
}

/// `quadlet rm`: removes installed files by name (`web.container`); all or nothing.
pub fn remove(names: &[String], user: bool) -> Result<Vec<PathBuf>, String> {
    let (files, _) = find_files(&search_paths(user));
    let mut paths = Vec::new();
    for name in names {
        let file = files
            .iter()
            .find(|f| f.file_name() == *name)
            .ok_or_else(|| format!("no Quadlet named {name} is installed"))?;
        paths.push(file.path.clone());
    }
    for path in &paths {
        std::fs::remove_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(paths)
}
