//! Directories removed in two steps: renamed into a trash directory on the same file system
//! (one atomic rename, whatever they hold), then deleted when nobody waits for it. A container
//! removed by `run --rm` is gone from the user's view as soon as its directories are in the
//! trash; the monitor's cleanup empties it after the `skiff` that waited has returned. Whatever
//! a killed process leaves in the trash is garbage, and the next emptying removes it.
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{IoContext, StorageError};

pub struct Trash {
    dir: PathBuf,
}

/// One thing in the trash: what `put` called it, and where it is now.
#[derive(Debug, PartialEq, Eq)]
pub struct Discarded {
    pub kind: String,
    pub path: PathBuf,
}

impl Trash {
    /// The trash at `dir`, which must be on the file system of what is put in it.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// Moves the directory at `path` into the trash as a `kind`, a word naming what it is
    /// (the entry is `KIND.NAME.UNIQUE`). A missing `path` is no error. Where it cannot be
    /// moved (another file system), it is removed here and now.
    pub fn put(&self, path: &Path, kind: &str) -> Result<(), StorageError> {
        if let Err(e) = fs::symlink_metadata(path) {
            return if e.kind() == ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e).io("stat", path)
            };
        }
        fs::create_dir_all(&self.dir).io("create", &self.dir)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let unique = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let target = self
            .dir
            .join(format!("{kind}.{name}.{unique}-{}", std::process::id()));
        match fs::rename(path, &target) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) if e.kind() == ErrorKind::CrossesDevices => remove_tree(path),
            Err(e) => Err(e).io("move to the trash", path),
        }
    }

    /// What is in the trash now.
    pub fn contents(&self) -> Vec<Discarded> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let kind = name.split('.').next()?.to_string();
                Some(Discarded {
                    kind,
                    path: entry.path(),
                })
            })
            .collect()
    }
}

/// Removes `path` and everything below it; already gone is fine (another process emptying
/// the same trash may have been first).
pub fn remove_tree(path: &Path) -> Result<(), StorageError> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(e).io("remove", path),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("skiff-trash-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn put_moves_a_tree_away_and_remove_tree_deletes_it() {
        let dir = scratch("put");
        let victim = dir.join("abc");
        fs::create_dir_all(victim.join("deep/er")).unwrap();
        fs::write(victim.join("deep/file"), "x").unwrap();
        let trash = Trash::new(dir.join("trash"));
        trash.put(&victim, "container").unwrap();
        assert!(!victim.exists());
        // Nothing there: nothing to do.
        trash.put(&victim, "container").unwrap();
        let contents = trash.contents();
        assert_eq!(contents.len(), 1);
        assert_eq!(contents[0].kind, "container");
        assert!(contents[0].path.join("deep/file").exists());
        remove_tree(&contents[0].path).unwrap();
        remove_tree(&contents[0].path).unwrap();
        assert!(trash.contents().is_empty());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_same_name_twice_gets_two_entries() {
        let dir = scratch("twice");
        let trash = Trash::new(dir.join("trash"));
        for _ in 0..2 {
            fs::create_dir_all(dir.join("state")).unwrap();
            trash.put(&dir.join("state"), "state").unwrap();
        }
        assert_eq!(trash.contents().len(), 2);
        fs::remove_dir_all(dir).unwrap();
    }
}
