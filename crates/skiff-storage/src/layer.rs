//! Content-addressed layers: each layer is unpacked once into `layers/<diff-id hex>` and shared by
//! every image that lists it. A layer becomes visible only by an atomic rename of a fully unpacked
//! temporary directory, so a process killed at any point leaves either nothing or a whole layer.
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::digest::Digester;
use crate::error::{IoContext, StorageError};
use crate::unpack::{OpaqueXattr, unpack_layer};

const TEMPORARY_PREFIX: &str = ".tmp-";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// `sha256:<hex>` of the uncompressed tar stream (the OCI diff ID).
    pub diff_id: String,
    /// Bytes of the uncompressed tar stream.
    pub size: u64,
}

pub struct LayerStore {
    dir: PathBuf,
    opaque: OpaqueXattr,
}

impl LayerStore {
    /// Opens (creating if needed) the layer directory `<storage>/layers`.
    pub fn open(storage: &Path, opaque: OpaqueXattr) -> Result<Self, StorageError> {
        let dir = storage.join("layers");
        fs::create_dir_all(&dir).io("create", &dir)?;
        Ok(Self { dir, opaque })
    }

    /// Where the unpacked content of a layer lives.
    pub fn path(&self, diff_id: &str) -> PathBuf {
        self.dir.join(diff_id.trim_start_matches("sha256:"))
    }

    /// Unpacks a layer tarball (plain or gzip, detected from its first bytes) and returns its
    /// diff ID. If the same layer is already stored, the new copy is discarded.
    pub fn apply(&self, reader: impl Read) -> Result<LayerInfo, StorageError> {
        self.remove_stale_temporaries();
        let temporary = self.temporary_path();
        fs::create_dir(&temporary).io("create", &temporary)?;
        let result = self.unpack_into(reader, &temporary);
        let info = match result {
            Ok(info) => info,
            Err(err) => {
                let _ = fs::remove_dir_all(&temporary);
                return Err(err);
            }
        };
        let target = self.path(&info.diff_id);
        if target.exists() {
            let _ = fs::remove_dir_all(&temporary);
        } else if let Err(err) = fs::rename(&temporary, &target) {
            let _ = fs::remove_dir_all(&temporary);
            if !target.exists() {
                return Err(err).io("rename layer into", target);
            }
        }
        Ok(info)
    }

    fn unpack_into(&self, reader: impl Read, dest: &Path) -> Result<LayerInfo, StorageError> {
        let mut buffered = BufReader::with_capacity(256 * 1024, reader);
        let head = buffered.fill_buf().io("read", "layer")?;
        let gzip = head.starts_with(&[0x1f, 0x8b]);
        let plain: Box<dyn Read> = if gzip {
            Box::new(flate2::read::GzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        };
        let mut digester = Digester::new(plain);
        unpack_layer(&mut digester, dest, self.opaque)?;
        // The digest covers the whole stream, including tar's trailing padding.
        io::copy(&mut digester, &mut io::sink()).io("read", "layer")?;
        let (diff_id, size) = digester.finish();
        Ok(LayerInfo { diff_id, size })
    }

    /// Deletes a layer. It is first renamed aside so that a crash never leaves half a layer
    /// under its real name.
    pub fn remove(&self, diff_id: &str) -> Result<(), StorageError> {
        let path = self.path(diff_id);
        if !path.exists() {
            return Ok(());
        }
        let doomed = self.temporary_path();
        fs::rename(&path, &doomed).io("rename", &path)?;
        fs::remove_dir_all(&doomed).io("remove", doomed)
    }

    /// Every stored layer's diff ID.
    pub fn list(&self) -> Result<Vec<String>, StorageError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).io("read", &self.dir)? {
            let entry = entry.io("read", &self.dir)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with(TEMPORARY_PREFIX) {
                out.push(format!("sha256:{name}"));
            }
        }
        Ok(out)
    }

    fn temporary_path(&self) -> PathBuf {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        self.dir.join(format!(
            "{TEMPORARY_PREFIX}{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ))
    }

    /// Removes what killed processes left behind: temporaries whose process is gone.
    fn remove_stale_temporaries(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(TEMPORARY_PREFIX) else {
                continue;
            };
            let pid: i32 = rest
                .split('-')
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            if pid > 0 && !process_alive(pid) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
}

fn process_alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_layer_twice_is_stored_once_with_the_stream_digest() {
        let dir = std::env::temp_dir().join(format!("skiff-layers-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let store = LayerStore::open(&dir, OpaqueXattr::Trusted).unwrap();
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(2);
        header.set_mode(0o644);
        header.set_path("hello").unwrap();
        header.set_cksum();
        builder.append(&header, &b"hi"[..]).unwrap();
        let tar = builder.into_inner().unwrap();
        let first = store.apply(&tar[..]).unwrap();
        let second = store.apply(&tar[..]).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.diff_id, crate::hex_digest(&tar));
        assert_eq!(store.list().unwrap(), vec![first.diff_id.clone()]);
        assert_eq!(
            fs::read(store.path(&first.diff_id).join("hello")).unwrap(),
            b"hi"
        );
        store.remove(&first.diff_id).unwrap();
        assert!(store.list().unwrap().is_empty());
    }
}
