//! Content-addressed layers: each layer is unpacked once into `layers/<diff-id hex>` and shared by
//! every image that lists it. A layer becomes visible only by an atomic rename of a fully unpacked
//! temporary directory, so a process killed at any point leaves either nothing or a whole layer.
//!
//! Beside each unpacked layer the store keeps the stream it came from, byte for byte, under
//! `layer-blobs/<diff-id hex>/<blob digest hex>` (gzip or zstd as pulled, plain tar as imported):
//! push, save and the resumption of a killed pull need exactly those bytes, and an unpacked
//! directory cannot reproduce them.
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;

use crate::digest::{Digester, sha256_hex};
use crate::error::{IoContext, StorageError};
use crate::unpack::{OpaqueXattr, unpack_layer};

const TEMPORARY_PREFIX: &str = ".tmp-";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// From the first bytes of a stream.
    pub fn detect(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    pub(crate) fn decoder<'a>(self, reader: impl BufRead + 'a) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Compression::None => Box::new(reader),
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(reader)?),
        })
    }
}

/// One stored stream of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerBlob {
    /// `sha256:<hex>` of the stream as stored (the manifest's layer digest).
    pub digest: String,
    pub size: u64,
    pub compression: Compression,
    pub path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// `sha256:<hex>` of the uncompressed tar stream (the OCI diff ID).
    pub diff_id: String,
    /// Bytes of the uncompressed tar stream.
    pub size: u64,
    /// The stream as it was read.
    pub blob: LayerBlob,
}

/// What a layer stream must turn out to be; a mismatch refuses it and leaves nothing behind.
#[derive(Debug, Default, Clone, Copy)]
pub struct Expected<'a> {
    /// Digest of the stream as read (the manifest's layer digest).
    pub digest: Option<&'a str>,
    /// Digest of the uncompressed tar (the config's diff ID).
    pub diff_id: Option<&'a str>,
}

#[derive(Clone)]
pub struct LayerStore {
    dir: PathBuf,
    blobs: PathBuf,
    opaque: OpaqueXattr,
    /// The most a layer may unpack to (its uncompressed tar stream), if capped.
    max_unpacked: Option<u64>,
}

impl LayerStore {
    /// Opens (creating if needed) `<storage>/layers` and `<storage>/layer-blobs`.
    pub fn open(storage: &Path, opaque: OpaqueXattr) -> Result<Self, StorageError> {
        let dir = storage.join("layers");
        let blobs = storage.join("layer-blobs");
        fs::create_dir_all(&dir).io("create", &dir)?;
        fs::create_dir_all(&blobs).io("create", &blobs)?;
        let store = Self {
            dir,
            blobs,
            opaque,
            max_unpacked: None,
        };
        // Whatever command comes next cleans up after a killed one (two directory reads).
        store.remove_stale_temporaries();
        Ok(store)
    }

    /// Refuses layers whose uncompressed stream is larger than `bytes` (a decompression bomb
    /// stops there, and what it wrote is removed).
    pub fn limit_unpacked_size(&mut self, bytes: Option<u64>) {
        self.max_unpacked = bytes;
    }

    /// Where the unpacked content of a layer lives.
    pub fn path(&self, diff_id: &str) -> Result<PathBuf, StorageError> {
        Ok(self.dir.join(sha256_hex(diff_id)?))
    }

    /// Whether the layer is stored; never for a malformed diff ID.
    pub fn contains(&self, diff_id: &str) -> bool {
        self.path(diff_id).is_ok_and(|path| path.is_dir())
    }

    /// Unpacks a layer tarball (plain, gzip or zstd, detected from its first bytes), keeps the
    /// stream, and returns the layer's identity. If the same layer is already stored, the new
    /// copy is discarded.
    pub fn apply(&self, reader: impl Read) -> Result<LayerInfo, StorageError> {
        self.apply_verified(reader, Expected::default())
    }

    /// As `apply`, refusing the stream unless it has the expected digests. Nothing becomes visible
    /// before both are checked.
    pub fn apply_verified(
        &self,
        reader: impl Read,
        expected: Expected<'_>,
    ) -> Result<LayerInfo, StorageError> {
        self.remove_stale_temporaries();
        let temporary = self.temporary_path(&self.dir);
        let temporary_blob = self.temporary_path(&self.blobs);
        let result = fs::create_dir(&temporary)
            .io("create", &temporary)
            .and_then(|()| self.unpack_into(reader, &temporary, &temporary_blob))
            .and_then(|info| check(&info, expected).map(|()| info));
        let mut info = match result {
            Ok(info) => info,
            Err(err) => {
                let _ = fs::remove_dir_all(&temporary);
                let _ = fs::remove_file(&temporary_blob);
                return Err(err);
            }
        };
        // The blob first: a crash between the two renames leaves a stored blob that the next
        // pull unpacks instead of downloading, never a layer without its stream.
        info.blob.path = self.keep_blob(&info.diff_id, &info.blob.digest, &temporary_blob)?;
        let target = self.path(&info.diff_id)?;
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

    /// Reads the stream in this thread (hashing it and keeping a copy as the blob) while a second
    /// thread decompresses, hashes and unpacks it: on a pull, download and unpack overlap.
    fn unpack_into(
        &self,
        mut reader: impl Read,
        dest: &Path,
        blob_path: &Path,
    ) -> Result<LayerInfo, StorageError> {
        let blob_file = File::create(blob_path).io("create", blob_path)?;
        let mut blob = Digester::new(io::BufWriter::with_capacity(1024 * 1024, blob_file));
        let (sender, receiver) = mpsc::sync_channel::<io::Result<Vec<u8>>>(PIPELINE_DEPTH);
        let (opaque, limit) = (self.opaque, self.max_unpacked);
        let (read, unpacked) = std::thread::scope(|scope| {
            let unpacker = scope
                .spawn(move || unpack_stream(ChannelReader::new(receiver), dest, opaque, limit));
            let read = loop {
                let mut chunk = vec![0u8; PIPELINE_CHUNK];
                let n = match reader.read(&mut chunk) {
                    Ok(0) => break Ok(()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => break Err(e),
                };
                chunk.truncate(n);
                if let Err(e) = blob.write_all(&chunk) {
                    break Err(e);
                }
                // A closed channel means the unpacker failed; its error is the one to report.
                if sender.send(Ok(chunk)).is_err() {
                    break Ok(());
                }
            };
            if let Err(e) = &read {
                let _ = sender.send(Err(io::Error::new(e.kind(), e.to_string())));
            }
            drop(sender);
            let unpacked = unpacker.join().unwrap_or_else(|_| {
                Err(StorageError::Io {
                    action: "unpack",
                    path: dest.to_path_buf(),
                    source: io::Error::other("the unpacking thread panicked"),
                })
            });
            (read, unpacked)
        });
        let (diff_id, size, compression) = unpacked?;
        read.io("read", "layer")?;
        let (digest, blob_size) = blob
            .finish_with(|file| file.into_inner().map_err(|e| e.into_error()))
            .io("write", blob_path)?;
        Ok(LayerInfo {
            diff_id,
            size,
            blob: LayerBlob {
                digest,
                size: blob_size,
                compression,
                path: blob_path.to_path_buf(),
            },
        })
    }

    fn keep_blob(
        &self,
        diff_id: &str,
        digest: &str,
        temporary: &Path,
    ) -> Result<PathBuf, StorageError> {
        let dir = self.blobs.join(sha256_hex(diff_id)?);
        fs::create_dir_all(&dir).io("create", &dir)?;
        let target = dir.join(sha256_hex(digest)?);
        if target.exists() {
            let _ = fs::remove_file(temporary);
        } else {
            fs::rename(temporary, &target).io("rename blob into", &target)?;
        }
        Ok(target)
    }

    /// Every stored stream of a layer.
    pub fn blobs(&self, diff_id: &str) -> Result<Vec<LayerBlob>, StorageError> {
        let dir = self.blobs.join(sha256_hex(diff_id)?);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).io("read", dir),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.io("read", &dir)?;
            let path = entry.path();
            let mut head = [0u8; 4];
            let mut file = File::open(&path).io("open", &path)?;
            let n = file.read(&mut head).io("read", &path)?;
            out.push(LayerBlob {
                digest: format!("sha256:{}", entry.file_name().to_string_lossy()),
                size: entry.metadata().io("stat", &path)?.len(),
                compression: Compression::detect(&head[..n]),
                path,
            });
        }
        out.sort_by(|a, b| a.digest.cmp(&b.digest));
        Ok(out)
    }

    /// The stored stream with this digest, if any.
    pub fn blob(&self, diff_id: &str, digest: &str) -> Option<LayerBlob> {
        self.blobs(diff_id)
            .ok()?
            .into_iter()
            .find(|b| b.digest == digest)
    }

    /// A gzip stream of the layer for a registry, compressed once from the stored tar and kept.
    pub fn gzip_blob(&self, diff_id: &str) -> Result<LayerBlob, StorageError> {
        let blobs = self.blobs(diff_id)?;
        if let Some(gzip) = blobs.iter().find(|b| b.compression == Compression::Gzip) {
            return Ok(gzip.clone());
        }
        let temporary = self.temporary_path(&self.blobs);
        let result = (|| {
            let mut plain = self.tar_stream(diff_id)?;
            let file = File::create(&temporary).io("create", &temporary)?;
            let mut gzip = flate2::write::GzEncoder::new(
                Digester::new(io::BufWriter::with_capacity(1024 * 1024, file)),
                flate2::Compression::fast(),
            );
            io::copy(&mut plain, &mut gzip).io("compress", &temporary)?;
            let compressed = gzip.finish().io("write", &temporary)?;
            let (digest, _) = compressed
                .finish_with(|file| file.into_inner().map_err(|e| e.into_error()))
                .io("write", &temporary)?;
            Ok::<_, StorageError>(digest)
        })();
        let digest = match result {
            Ok(digest) => digest,
            Err(err) => {
                let _ = fs::remove_file(&temporary);
                return Err(err);
            }
        };
        let path = self.keep_blob(diff_id, &digest, &temporary)?;
        let size = fs::metadata(&path).io("stat", &path)?.len();
        Ok(LayerBlob {
            digest,
            size,
            compression: Compression::Gzip,
            path,
        })
    }

    /// The layer's uncompressed tar stream, decoded from whichever blob is stored.
    pub fn tar_stream(&self, diff_id: &str) -> Result<Box<dyn Read + Send>, StorageError> {
        let blob = self
            .blobs(diff_id)?
            .into_iter()
            .min_by_key(|b| b.compression != Compression::None)
            .ok_or_else(|| StorageError::LayerStreamMissing(diff_id.to_string()))?;
        let file =
            BufReader::with_capacity(256 * 1024, File::open(&blob.path).io("open", &blob.path)?);
        Ok(match blob.compression {
            Compression::None => Box::new(file),
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(file)),
            Compression::Zstd => {
                Box::new(zstd::stream::read::Decoder::with_buffer(file).io("read", &blob.path)?)
            }
        })
    }

    /// Deletes a layer and its streams. The layer is first renamed aside so that a crash never
    /// leaves half a layer under its real name.
    pub fn remove(&self, diff_id: &str) -> Result<(), StorageError> {
        let path = self.path(diff_id)?;
        if path.exists() {
            let doomed = self.temporary_path(&self.dir);
            fs::rename(&path, &doomed).io("rename", &path)?;
            fs::remove_dir_all(&doomed).io("remove", doomed)?;
        }
        let blobs = self.blobs.join(sha256_hex(diff_id)?);
        match fs::remove_dir_all(&blobs) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e).io("remove", blobs),
            _ => Ok(()),
        }
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

    fn temporary_path(&self, dir: &Path) -> PathBuf {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        dir.join(format!(
            "{TEMPORARY_PREFIX}{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ))
    }

    /// Removes what killed processes left behind: temporaries whose process is gone.
    pub fn remove_stale_temporaries(&self) {
        for dir in [&self.dir, &self.blobs] {
            let Ok(entries) = fs::read_dir(dir) else {
                continue;
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
                    let path = entry.path();
                    if path.is_dir() {
                        let _ = fs::remove_dir_all(path);
                    } else {
                        let _ = fs::remove_file(path);
                    }
                }
            }
        }
    }
}

/// Decompresses (detected from the first bytes), hashes and unpacks a layer stream, then reads
/// what follows the tar to the end so that the caller's digest covers the whole stream.
fn unpack_stream(
    input: impl Read,
    dest: &Path,
    opaque: OpaqueXattr,
    limit: Option<u64>,
) -> Result<(String, u64, Compression), StorageError> {
    let mut buffered = BufReader::with_capacity(256 * 1024, input);
    let head = buffered.fill_buf().io("read", "layer")?;
    let compression = Compression::detect(head);
    let decoder = compression.decoder(&mut buffered).io("read", "layer")?;
    let mut plain = Digester::new(Capped {
        inner: decoder,
        left: limit.unwrap_or(u64::MAX),
        limit,
    });
    unpack_layer(&mut plain, dest, opaque).map_err(|e| match limit {
        // The tar reader says "unexpected end" or names an entry: the cap is the reason.
        Some(limit) if plain_exhausted(&plain) => StorageError::LayerTooLarge(limit),
        _ => e.into(),
    })?;
    // The diff ID covers the whole tar stream, including its trailing padding.
    io::copy(&mut plain, &mut io::sink()).map_err(|e| match limit {
        Some(limit) if plain_exhausted(&plain) => StorageError::LayerTooLarge(limit),
        _ => StorageError::Io {
            action: "read",
            path: "layer".into(),
            source: e,
        },
    })?;
    let (diff_id, size) = plain.finish();
    io::copy(&mut buffered, &mut io::sink()).io("read", "layer")?;
    Ok((diff_id, size, compression))
}

/// A reader that fails once more than its limit has passed through.
struct Capped<R> {
    inner: R,
    left: u64,
    limit: Option<u64>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        match self.left.checked_sub(n as u64) {
            Some(left) => {
                self.left = left;
                Ok(n)
            }
            None => {
                self.left = 0;
                self.limit = None;
                Err(io::Error::other(
                    "the layer is larger than the configured maximum",
                ))
            }
        }
    }
}

/// Whether the cap stopped the stream (it forgets its limit when it does).
fn plain_exhausted<R>(plain: &Digester<Capped<R>>) -> bool {
    plain.inner().limit.is_none() && plain.inner().left == 0
}

/// Chunks in flight between the reading and the unpacking thread.
const PIPELINE_DEPTH: usize = 32;
const PIPELINE_CHUNK: usize = 128 * 1024;

/// The receiving end of the pipeline as a `Read`.
struct ChannelReader {
    receiver: mpsc::Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    offset: usize,
}

impl ChannelReader {
    fn new(receiver: mpsc::Receiver<io::Result<Vec<u8>>>) -> Self {
        Self {
            receiver,
            chunk: Vec::new(),
            offset: 0,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.offset == self.chunk.len() {
            match self.receiver.recv() {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.offset = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(mpsc::RecvError) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.offset);
        buf[..n].copy_from_slice(&self.chunk[self.offset..self.offset + n]);
        self.offset += n;
        Ok(n)
    }
}

fn check(info: &LayerInfo, expected: Expected<'_>) -> Result<(), StorageError> {
    for (what, expected, actual) in [
        ("layer", expected.digest, &info.blob.digest),
        ("layer content (diff ID)", expected.diff_id, &info.diff_id),
    ] {
        if let Some(expected) = expected
            && expected != actual
        {
            return Err(StorageError::DigestMismatch {
                what,
                expected: expected.to_string(),
                actual: actual.clone(),
            });
        }
    }
    Ok(())
}

/// Whether a process exists (one of another user, EPERM, does: a rootless user's temporaries
/// are named by host PIDs that may now be anyone's).
fn process_alive(pid: i32) -> bool {
    !matches!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
        Err(nix::errno::Errno::ESRCH)
    )
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
        assert_eq!(first.blob.digest, first.diff_id);
        let mut copy = Vec::new();
        store
            .tar_stream(&first.diff_id)
            .unwrap()
            .read_to_end(&mut copy)
            .unwrap();
        assert_eq!(copy, tar);
        let gzip = store.gzip_blob(&first.diff_id).unwrap();
        assert_eq!(gzip.compression, Compression::Gzip);
        assert_eq!(
            gzip.digest,
            crate::hex_digest(&fs::read(&gzip.path).unwrap())
        );
        // The gzip stream unpacks to the same layer and is accepted with its digests.
        let again = store
            .apply_verified(
                File::open(&gzip.path).unwrap(),
                Expected {
                    digest: Some(&gzip.digest),
                    diff_id: Some(&first.diff_id),
                },
            )
            .unwrap();
        assert_eq!(again.diff_id, first.diff_id);
        let wrong = store.apply_verified(
            &tar[..],
            Expected {
                digest: Some(&gzip.digest),
                diff_id: None,
            },
        );
        assert!(
            matches!(wrong, Err(StorageError::DigestMismatch { .. })),
            "{wrong:?}"
        );
        assert_eq!(store.blobs(&first.diff_id).unwrap().len(), 2);
        // zstd layers (OCI's tar+zstd) unpack to the same content, the stream kept as it came.
        let zstd_stream = zstd::stream::encode_all(&tar[..], 3).unwrap();
        let zstd_layer = store
            .apply_verified(
                &zstd_stream[..],
                Expected {
                    digest: Some(&crate::hex_digest(&zstd_stream)),
                    diff_id: Some(&first.diff_id),
                },
            )
            .unwrap();
        assert_eq!(zstd_layer.blob.compression, Compression::Zstd);
        assert_eq!(store.blobs(&first.diff_id).unwrap().len(), 3);
        assert_eq!(first.diff_id, crate::hex_digest(&tar));
        assert_eq!(store.list().unwrap(), vec![first.diff_id.clone()]);
        assert_eq!(
            fs::read(store.path(&first.diff_id).unwrap().join("hello")).unwrap(),
            b"hi"
        );
        store.remove(&first.diff_id).unwrap();
        assert!(store.list().unwrap().is_empty());
    }
}
