//! `save` and `load`: images to and from the archive formats Podman and Docker exchange:
//! docker-archive (`manifest.json`, `<id>.json`, one `<diff id>.tar` per layer), oci-archive (an
//! OCI image layout in a tar) and oci-dir (the layout as a directory). An archive is written to a
//! temporary name and renamed, so a failed save leaves nothing; a load checks every layer against
//! its digests before any image is recorded.
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek, Write};
use std::path::{Component, Path, PathBuf};

use serde_json::{Value, json};
use skiff_registry::{Index, Manifest, media_type};
use skiff_storage::{Compression, Expected, LayerBlob};

use crate::error::ImageError;
use crate::reference::{Reference, repository_and_tag};
use crate::store::{Image, ImageStore, NewImage, NewLayer};
use crate::transfer::{ManifestFormat, build_manifest};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    DockerArchive,
    OciArchive,
    OciDir,
}

impl ArchiveFormat {
    pub fn parse(name: &str) -> Result<Self, ImageError> {
        match name {
            "docker-archive" => Ok(ArchiveFormat::DockerArchive),
            "oci-archive" => Ok(ArchiveFormat::OciArchive),
            "oci-dir" => Ok(ArchiveFormat::OciDir),
            other => Err(ImageError::InvalidArchive(format!(
                "unknown format {other:?} (expected docker-archive, oci-archive or oci-dir)"
            ))),
        }
    }
}

/// What `save` writes for one image: the image and the name it is saved under, if any.
pub struct SaveItem {
    pub image: Image,
    pub name: Option<String>,
}

/// Small files of an archive are read whole; layers are streamed in a second pass.
const SMALL_FILE: u64 = 4 * 1024 * 1024;

impl ImageStore {
    /// Writes images to `out` (a tar stream) in a tar format.
    pub fn save(
        &self,
        items: &[SaveItem],
        format: ArchiveFormat,
        out: impl Write,
    ) -> Result<(), ImageError> {
        let mut builder = tar::Builder::new(out);
        match format {
            ArchiveFormat::DockerArchive => self.write_docker_archive(items, &mut builder)?,
            ArchiveFormat::OciArchive | ArchiveFormat::OciDir => {
                let mut sink = TarSink(&mut builder);
                self.write_oci_layout(items, &mut sink)?;
            }
        }
        builder
            .into_inner()
            .and_then(|mut w| w.flush())
            .map_err(|e| io_error("write", "archive", e))?;
        Ok(())
    }

    /// Writes images as an OCI layout directory (`oci-dir`).
    pub fn save_dir(&self, items: &[SaveItem], dir: &Path) -> Result<(), ImageError> {
        fs::create_dir_all(dir.join("blobs/sha256")).map_err(|e| io_error("create", dir, e))?;
        let mut sink = DirSink(dir.to_path_buf());
        self.write_oci_layout(items, &mut sink)
    }

    fn write_docker_archive<W: Write>(
        &self,
        items: &[SaveItem],
        builder: &mut tar::Builder<W>,
    ) -> Result<(), ImageError> {
        let mut manifest = Vec::new();
        let mut repositories: HashMap<String, HashMap<String, String>> = HashMap::new();
        let mut written = Vec::new();
        for item in items {
            let image = &item.image;
            let config_name = format!("{}.json", image.id);
            if !written.contains(&config_name) {
                append_bytes(builder, &config_name, image.config_json().as_bytes())?;
                written.push(config_name.clone());
            }
            let mut layers = Vec::new();
            for diff_id in &image.layers {
                let name = format!("{}.tar", diff_id.trim_start_matches("sha256:"));
                if !written.contains(&name) {
                    let size = match self.layer_size(diff_id)? {
                        Some(size) => size,
                        None => io::copy(&mut self.layers().tar_stream(diff_id)?, &mut io::sink())
                            .map_err(|e| io_error("read", diff_id, e))?,
                    };
                    let stream = self.layers().tar_stream(diff_id)?;
                    append_stream(builder, &name, size, stream)?;
                    written.push(name.clone());
                }
                layers.push(name);
            }
            let tags: Vec<&String> = item.name.iter().collect();
            for tag in &tags {
                let (repository, tag) = repository_and_tag(tag);
                repositories
                    .entry(repository)
                    .or_default()
                    .insert(tag, image.id.clone());
            }
            manifest.push(json!({"Config": config_name, "RepoTags": tags, "Layers": layers}));
        }
        append_bytes(builder, "manifest.json", &serde_json::to_vec(&manifest)?)?;
        append_bytes(builder, "repositories", &serde_json::to_vec(&repositories)?)?;
        Ok(())
    }

    fn write_oci_layout(
        &self,
        items: &[SaveItem],
        sink: &mut dyn BlobSink,
    ) -> Result<(), ImageError> {
        sink.file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        let mut entries = Vec::new();
        for item in items {
            let image = &item.image;
            let blobs = image
                .layers
                .iter()
                .enumerate()
                .map(|(index, diff_id)| self.oci_layer_blob(image, index, diff_id))
                .collect::<Result<Vec<_>, _>>()?;
            for blob in &blobs {
                let file = File::open(&blob.path).map_err(|e| io_error("open", &blob.path, e))?;
                sink.blob(&blob.digest, blob.size, Box::new(BufReader::new(file)))?;
            }
            let config = image.config_json().as_bytes();
            let config_digest = skiff_storage::hex_digest(config);
            sink.blob(&config_digest, config.len() as u64, Box::new(config))?;
            let stored = Manifest::parse(image.manifest_json().as_bytes()).ok();
            let unchanged = stored.as_ref().is_some_and(|m| {
                m.media_type.as_deref().unwrap_or(media_type::OCI_MANIFEST)
                    == media_type::OCI_MANIFEST
                    && m.config.digest == config_digest
                    && m.layers.len() == blobs.len()
                    && m.layers
                        .iter()
                        .zip(&blobs)
                        .all(|(d, b)| d.digest == b.digest)
            });
            let manifest = if unchanged {
                image.manifest_json().as_bytes().to_vec()
            } else {
                build_manifest(ManifestFormat::Oci, &config_digest, config.len(), &blobs)?.1
            };
            let manifest_digest = skiff_storage::hex_digest(&manifest);
            sink.blob(
                &manifest_digest,
                manifest.len() as u64,
                Box::new(&manifest[..]),
            )?;
            let mut entry = json!({
                "mediaType": media_type::OCI_MANIFEST,
                "digest": manifest_digest,
                "size": manifest.len(),
            });
            if let Some(name) = &item.name {
                entry["annotations"] = json!({
                    "org.opencontainers.image.ref.name": name,
                    "io.containerd.image.name": name,
                });
            }
            entries.push(entry);
        }
        let index = json!({"schemaVersion": 2, "manifests": entries});
        sink.file("index.json", &serde_json::to_vec(&index)?)
    }

    /// The stream an OCI layout gets for a layer: the one the stored manifest names if stored,
    /// else any stored stream.
    fn oci_layer_blob(
        &self,
        image: &Image,
        index: usize,
        diff_id: &str,
    ) -> Result<LayerBlob, ImageError> {
        let named = Manifest::parse(image.manifest_json().as_bytes())
            .ok()
            .and_then(|m| m.layers.get(index).map(|d| d.digest.clone()))
            .and_then(|digest| self.layers().blob(diff_id, &digest));
        match named {
            Some(blob) => Ok(blob),
            None => self
                .layers()
                .blobs(diff_id)?
                .into_iter()
                .min_by_key(|b| b.compression == Compression::None)
                .ok_or_else(|| {
                    skiff_storage::StorageError::LayerStreamMissing(diff_id.to_string()).into()
                }),
        }
    }

    /// Loads every image of a docker-archive or oci-archive file (plain or gzip) or an OCI
    /// layout directory. Returns the loaded images with the names they were given.
    pub fn load(&mut self, path: &Path) -> Result<Vec<Image>, ImageError> {
        let source: Box<dyn ArchiveSource> = if path.is_dir() {
            Box::new(DirSource(path.to_path_buf()))
        } else {
            Box::new(TarSource(path.to_path_buf()))
        };
        let small = source.small_files()?;
        let plans = if small.contains_key("manifest.json") {
            plan_docker_archive(&small)?
        } else if small.contains_key("index.json") {
            plan_oci_layout(&small)?
        } else {
            return Err(ImageError::InvalidArchive(format!(
                "{}: neither a docker-archive (manifest.json) nor an OCI layout (index.json)",
                path.display()
            )));
        };
        // Every layer any image needs and the store lacks, by archive entry name.
        let mut wanted: HashMap<String, (Option<String>, String)> = HashMap::new();
        for plan in &plans {
            for layer in &plan.layers {
                if !self.layers().contains(&layer.diff_id) {
                    wanted.insert(
                        layer.entry.clone(),
                        (layer.digest.clone(), layer.diff_id.clone()),
                    );
                }
            }
        }
        let mut sizes: HashMap<String, u64> = HashMap::new();
        if !wanted.is_empty() {
            source.each_entry(&mut |name, reader| {
                if let Some((digest, diff_id)) = wanted.remove(name) {
                    let info = self.layers().apply_verified(
                        reader,
                        Expected {
                            digest: digest.as_deref(),
                            diff_id: Some(&diff_id),
                        },
                    )?;
                    sizes.insert(info.diff_id, info.size);
                }
                Ok(())
            })?;
        }
        if let Some(missing) = wanted.keys().next() {
            return Err(ImageError::InvalidArchive(format!(
                "the archive lacks layer {missing}"
            )));
        }
        let mut loaded = Vec::new();
        for plan in plans {
            let mut layers = Vec::new();
            for layer in &plan.layers {
                let size = match sizes.get(&layer.diff_id) {
                    Some(size) => *size,
                    None => self.layer_size(&layer.diff_id)?.unwrap_or(0),
                };
                layers.push(NewLayer {
                    diff_id: layer.diff_id.clone(),
                    size,
                });
            }
            let blobs: Vec<LayerBlob> = plan
                .layers
                .iter()
                .map(|l| {
                    l.digest
                        .as_deref()
                        .and_then(|d| self.layers().blob(&l.diff_id, d))
                        .or_else(|| self.layers().blobs(&l.diff_id).ok()?.into_iter().next())
                        .ok_or_else(|| {
                            skiff_storage::StorageError::LayerStreamMissing(l.diff_id.clone())
                                .into()
                        })
                })
                .collect::<Result<_, ImageError>>()?;
            let config_digest = skiff_storage::hex_digest(plan.config.as_bytes());
            let manifest = match plan.manifest {
                Some(manifest) => manifest,
                None => String::from_utf8(
                    build_manifest(
                        ManifestFormat::Oci,
                        &config_digest,
                        plan.config.len(),
                        &blobs,
                    )?
                    .1,
                )
                .map_err(|_| ImageError::Inconsistent("manifest is not UTF-8".into()))?,
            };
            let created = serde_json::from_str::<Value>(&plan.config)?
                .get("created")
                .and_then(Value::as_str)
                .unwrap_or("1970-01-01T00:00:00Z")
                .to_string();
            let mut names = plan.names.iter().filter_map(|n| Reference::parse(n).ok());
            let first = names.next();
            let mut image = self.register(
                NewImage {
                    parent: None,
                    config: plan.config,
                    manifest,
                    created,
                    layers,
                },
                first.as_ref(),
            )?;
            for name in names {
                self.tag(&image, &name)?;
                image.names.push(name.normalized());
            }
            loaded.push(image);
        }
        Ok(loaded)
    }
}

/// One image to load: its config, its manifest if the archive has one, names, layers.
struct LoadPlan {
    config: String,
    manifest: Option<String>,
    names: Vec<String>,
    layers: Vec<PlannedLayer>,
}

struct PlannedLayer {
    /// Archive entry holding the layer.
    entry: String,
    /// Digest of the entry's bytes, when the archive states it (OCI layouts do).
    digest: Option<String>,
    diff_id: String,
}

fn text(small: &HashMap<String, Vec<u8>>, name: &str) -> Result<String, ImageError> {
    let bytes = small
        .get(name)
        .ok_or_else(|| ImageError::InvalidArchive(format!("the archive lacks {name}")))?;
    String::from_utf8(bytes.clone())
        .map_err(|_| ImageError::InvalidArchive(format!("{name} is not UTF-8")))
}

/// The config's layer diff IDs, each checked to be a digest before it can name a layer.
fn diff_ids(config: &str) -> Result<Vec<String>, ImageError> {
    checked_diff_ids(&serde_json::from_str(config)?)
}

/// As `diff_ids`, from a parsed config.
pub(crate) fn checked_diff_ids(config: &Value) -> Result<Vec<String>, ImageError> {
    let ids = strings_at(config, "/rootfs/diff_ids");
    for id in &ids {
        skiff_storage::sha256_hex(id)?;
    }
    Ok(ids)
}

/// The strings of a JSON array at `pointer` (none when absent).
pub(crate) fn strings_at(value: &Value, pointer: &str) -> Vec<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn plan_docker_archive(small: &HashMap<String, Vec<u8>>) -> Result<Vec<LoadPlan>, ImageError> {
    let manifest: Value = serde_json::from_slice(&small["manifest.json"])
        .map_err(|e| ImageError::InvalidArchive(format!("manifest.json: {e}")))?;
    let entries = manifest
        .as_array()
        .ok_or_else(|| ImageError::InvalidArchive("manifest.json is not a list".into()))?;
    let mut plans = Vec::new();
    for entry in entries {
        let config_name = entry.get("Config").and_then(Value::as_str).ok_or_else(|| {
            ImageError::InvalidArchive("manifest.json: an entry lacks Config".into())
        })?;
        let config = text(small, &normalize(config_name)?)?;
        let ids = diff_ids(&config)?;
        let layer_names = strings_at(entry, "/Layers");
        if layer_names.len() != ids.len() {
            return Err(ImageError::InvalidArchive(format!(
                "{config_name}: {} layers listed but {} in the config",
                layer_names.len(),
                ids.len()
            )));
        }
        let layers = layer_names
            .iter()
            .zip(ids)
            .map(|(name, diff_id)| {
                Ok(PlannedLayer {
                    entry: normalize(name)?,
                    digest: None,
                    diff_id,
                })
            })
            .collect::<Result<_, ImageError>>()?;
        let names = strings_at(entry, "/RepoTags");
        plans.push(LoadPlan {
            config,
            manifest: None,
            names,
            layers,
        });
    }
    Ok(plans)
}

fn plan_oci_layout(small: &HashMap<String, Vec<u8>>) -> Result<Vec<LoadPlan>, ImageError> {
    let index: Index = serde_json::from_slice(&small["index.json"])
        .map_err(|e| ImageError::InvalidArchive(format!("index.json: {e}")))?;
    let blob = |digest: &str| -> Result<Vec<u8>, ImageError> {
        let name = format!("blobs/sha256/{}", skiff_storage::sha256_hex(digest)?);
        let bytes = small
            .get(&name)
            .ok_or_else(|| ImageError::InvalidArchive(format!("the layout lacks {name}")))?;
        let actual = skiff_storage::hex_digest(bytes);
        if actual != digest {
            return Err(ImageError::InvalidArchive(format!(
                "{name}: digest mismatch (got {actual})"
            )));
        }
        Ok(bytes.clone())
    };
    let mut plans = Vec::new();
    for descriptor in &index.manifests {
        if media_type::is_index(&descriptor.media_type) {
            return Err(ImageError::InvalidArchive(
                "nested image indexes in an OCI layout are not supported".into(),
            ));
        }
        let manifest_bytes = blob(&descriptor.digest)?;
        let manifest = Manifest::parse(&manifest_bytes)?;
        let config = String::from_utf8(blob(&manifest.config.digest)?)
            .map_err(|_| ImageError::InvalidArchive("image config is not UTF-8".into()))?;
        let ids = diff_ids(&config)?;
        if ids.len() != manifest.layers.len() {
            return Err(ImageError::InvalidArchive(format!(
                "{}: {} layers in the manifest but {} in the config",
                descriptor.digest,
                manifest.layers.len(),
                ids.len()
            )));
        }
        let layers = manifest
            .layers
            .iter()
            .zip(ids)
            .map(|(layer, diff_id)| {
                Ok(PlannedLayer {
                    entry: format!("blobs/sha256/{}", skiff_storage::sha256_hex(&layer.digest)?),
                    digest: Some(layer.digest.clone()),
                    diff_id,
                })
            })
            .collect::<Result<_, ImageError>>()?;
        let annotations = descriptor.annotations.clone().unwrap_or_default();
        let names = annotations
            .get("io.containerd.image.name")
            .or_else(|| annotations.get("org.opencontainers.image.ref.name"))
            .filter(|n| Reference::parse(n).is_ok())
            .cloned()
            .into_iter()
            .collect();
        plans.push(LoadPlan {
            config,
            manifest: String::from_utf8(manifest_bytes).ok(),
            names,
            layers,
        });
    }
    Ok(plans)
}

/// `./a/b` → `a/b`; refuses `..` and absolute names.
fn normalize(name: &str) -> Result<String, ImageError> {
    let mut parts = Vec::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => {
                return Err(ImageError::InvalidArchive(format!(
                    "archive entry {name:?} points outside the archive"
                )));
            }
        }
    }
    Ok(parts.join("/"))
}

/// Where an OCI layout goes: into a tar or a directory.
trait BlobSink {
    fn file(&mut self, name: &str, bytes: &[u8]) -> Result<(), ImageError>;
    fn blob(
        &mut self,
        digest: &str,
        size: u64,
        reader: Box<dyn Read + '_>,
    ) -> Result<(), ImageError>;
}

struct TarSink<'a, W: Write>(&'a mut tar::Builder<W>);

impl<W: Write> BlobSink for TarSink<'_, W> {
    fn file(&mut self, name: &str, bytes: &[u8]) -> Result<(), ImageError> {
        append_bytes(self.0, name, bytes)
    }
    fn blob(
        &mut self,
        digest: &str,
        size: u64,
        reader: Box<dyn Read + '_>,
    ) -> Result<(), ImageError> {
        let name = format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"));
        append_stream(self.0, &name, size, reader)
    }
}

struct DirSink(PathBuf);

impl BlobSink for DirSink {
    fn file(&mut self, name: &str, bytes: &[u8]) -> Result<(), ImageError> {
        let path = self.0.join(name);
        fs::write(&path, bytes).map_err(|e| io_error("write", &path, e))
    }
    fn blob(
        &mut self,
        digest: &str,
        _size: u64,
        mut reader: Box<dyn Read + '_>,
    ) -> Result<(), ImageError> {
        let path = self
            .0
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"));
        let mut file = File::create(&path).map_err(|e| io_error("create", &path, e))?;
        io::copy(&mut reader, &mut file).map_err(|e| io_error("write", &path, e))?;
        Ok(())
    }
}

fn header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    header
}

fn append_bytes<W: Write>(
    builder: &mut tar::Builder<W>,
    name: &str,
    bytes: &[u8],
) -> Result<(), ImageError> {
    let mut header = header(bytes.len() as u64);
    builder
        .append_data(&mut header, name, bytes)
        .map_err(|e| io_error("write", name, e))
}

/// Appends an entry whose size is known in advance; a stream of another length is an error
/// rather than a corrupt archive.
fn append_stream<W: Write>(
    builder: &mut tar::Builder<W>,
    name: &str,
    size: u64,
    reader: impl Read,
) -> Result<(), ImageError> {
    let mut header = header(size);
    let mut counted = Counted {
        inner: reader,
        count: 0,
    };
    builder
        .append_data(&mut header, name, (&mut counted).take(size))
        .map_err(|e| io_error("write", name, e))?;
    if counted.count != size
        || counted
            .inner
            .read(&mut [0u8; 1])
            .map_err(|e| io_error("read", name, e))?
            != 0
    {
        return Err(ImageError::Inconsistent(format!(
            "{name}: the stored layer is not {size} bytes long"
        )));
    }
    Ok(())
}

struct Counted<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// An archive read in two passes: small files first, then the layers streamed.
trait ArchiveSource {
    fn small_files(&self) -> Result<HashMap<String, Vec<u8>>, ImageError>;
    fn each_entry(
        &self,
        visit: &mut dyn FnMut(&str, &mut dyn Read) -> Result<(), ImageError>,
    ) -> Result<(), ImageError>;
}

struct TarSource(PathBuf);

impl TarSource {
    /// The tar stream, decompressed if the file is gzip or zstd.
    fn open(&self) -> Result<Box<dyn Read>, ImageError> {
        let mut file = File::open(&self.0).map_err(|e| io_error("open", &self.0, e))?;
        let mut head = [0u8; 4];
        let n = file
            .read(&mut head)
            .map_err(|e| io_error("read", &self.0, e))?;
        file.rewind().map_err(|e| io_error("read", &self.0, e))?;
        let buffered = BufReader::with_capacity(256 * 1024, file);
        Ok(match Compression::detect(&head[..n]) {
            Compression::None => Box::new(buffered),
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
            Compression::Zstd => Box::new(
                zstd::stream::read::Decoder::with_buffer(buffered)
                    .map_err(|e| io_error("read", &self.0, e))?,
            ),
        })
    }

    fn entries(
        &self,
        visit: &mut dyn FnMut(&EntryInfo, &mut dyn Read) -> Result<(), ImageError>,
    ) -> Result<(), ImageError> {
        let mut archive = tar::Archive::new(self.open()?);
        // tar's own message quotes the bytes it choked on: name the file instead.
        let bad = |_: io::Error| {
            ImageError::InvalidArchive(format!(
                "{}: not a docker-archive or oci-archive (tar) file",
                self.0.display()
            ))
        };
        for entry in archive.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            let raw = entry.path().map_err(bad)?.to_string_lossy().into_owned();
            let info = EntryInfo {
                name: normalize(&raw)?,
                kind: entry.header().entry_type(),
                size: entry.size(),
                link: entry
                    .link_name()
                    .ok()
                    .flatten()
                    .map(|l| l.to_string_lossy().into_owned()),
            };
            visit(&info, &mut entry)?;
        }
        Ok(())
    }
}

/// What the first pass needs to know of a tar entry.
struct EntryInfo {
    name: String,
    kind: tar::EntryType,
    size: u64,
    link: Option<String>,
}

impl ArchiveSource for TarSource {
    fn small_files(&self) -> Result<HashMap<String, Vec<u8>>, ImageError> {
        let mut files = HashMap::new();
        let mut links = Vec::new();
        self.entries(&mut |entry, reader| {
            if entry.kind.is_file() && entry.size <= SMALL_FILE {
                let mut bytes = Vec::with_capacity(entry.size as usize);
                reader
                    .read_to_end(&mut bytes)
                    .map_err(|e| io_error("read", &entry.name, e))?;
                files.insert(entry.name.clone(), bytes);
            } else if entry.kind.is_symlink() || entry.kind.is_hard_link() {
                links.push((
                    entry.name.clone(),
                    entry.link.clone().unwrap_or_default(),
                    entry.kind.is_symlink(),
                ));
            }
            Ok(())
        })?;
        // Docker's older archives link repeated files; resolve them within the archive.
        for (name, target, symbolic) in links {
            let target = if symbolic {
                let parent = Path::new(&name).parent().unwrap_or(Path::new(""));
                resolve_within(parent, &target)?
            } else {
                normalize(&target)?
            };
            if let Some(bytes) = files.get(&target).cloned() {
                files.insert(name, bytes);
            }
        }
        Ok(files)
    }

    fn each_entry(
        &self,
        visit: &mut dyn FnMut(&str, &mut dyn Read) -> Result<(), ImageError>,
    ) -> Result<(), ImageError> {
        self.entries(&mut |entry, reader| {
            if entry.kind.is_file() {
                visit(&entry.name, reader)?;
            }
            Ok(())
        })
    }
}

/// `a/../b` relative to `parent`, refusing to leave the archive.
fn resolve_within(parent: &Path, target: &str) -> Result<String, ImageError> {
    let mut parts: Vec<String> = parent
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    for component in Path::new(target).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir if parts.pop().is_some() => {}
            _ => {
                return Err(ImageError::InvalidArchive(format!(
                    "archive link to {target:?} points outside the archive"
                )));
            }
        }
    }
    Ok(parts.join("/"))
}

struct DirSource(PathBuf);

impl ArchiveSource for DirSource {
    fn small_files(&self) -> Result<HashMap<String, Vec<u8>>, ImageError> {
        let mut files = HashMap::new();
        for name in ["index.json", "oci-layout", "manifest.json"] {
            if let Ok(bytes) = fs::read(self.0.join(name)) {
                files.insert(name.to_string(), bytes);
            }
        }
        let blobs = self.0.join("blobs/sha256");
        if let Ok(entries) = fs::read_dir(&blobs) {
            for entry in entries.flatten() {
                let metadata = entry
                    .metadata()
                    .map_err(|e| io_error("stat", entry.path(), e))?;
                if metadata.is_file() && metadata.len() <= SMALL_FILE {
                    let bytes =
                        fs::read(entry.path()).map_err(|e| io_error("read", entry.path(), e))?;
                    files.insert(
                        format!("blobs/sha256/{}", entry.file_name().to_string_lossy()),
                        bytes,
                    );
                }
            }
        }
        Ok(files)
    }

    fn each_entry(
        &self,
        visit: &mut dyn FnMut(&str, &mut dyn Read) -> Result<(), ImageError>,
    ) -> Result<(), ImageError> {
        let blobs = self.0.join("blobs/sha256");
        let entries = fs::read_dir(&blobs).map_err(|e| io_error("read", &blobs, e))?;
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                let mut file = BufReader::new(
                    File::open(entry.path()).map_err(|e| io_error("open", entry.path(), e))?,
                );
                visit(
                    &format!("blobs/sha256/{}", entry.file_name().to_string_lossy()),
                    &mut file,
                )?;
            }
        }
        Ok(())
    }
}

fn io_error(action: &'static str, path: impl AsRef<Path>, source: io::Error) -> ImageError {
    ImageError::Io {
        action,
        path: path.as_ref().to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_stay_inside() {
        assert_eq!(normalize("./a/b.tar").unwrap(), "a/b.tar");
        assert!(normalize("../x").is_err());
        assert!(normalize("/etc/passwd").is_err());
        assert_eq!(
            resolve_within(Path::new("abc"), "../def/layer.tar").unwrap(),
            "def/layer.tar"
        );
        assert!(resolve_within(Path::new("abc"), "../../x").is_err());
    }
}

/// Whatever an archive's manifest.json, index.json and configs say, planning its load never
/// panics, and every layer it plans is named by a checked digest.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("config.json".to_string()),
            Just("layer.tar".to_string()),
            Just("../etc".to_string()),
            Just("/etc/passwd".to_string()),
            "[a-z./]{0,12}",
        ]
    }

    fn diff_id() -> impl Strategy<Value = String> {
        prop_oneof![
            "sha256:[0-9a-f]{64}",
            "sha256:(\\.\\./){1,4}[a-z]{1,5}",
            "\\PC{0,20}",
        ]
    }

    proptest! {
        #[test]
        fn docker_archive_plans_are_checked(
            config_name in name(),
            layers in prop::collection::vec(name(), 0..3),
            ids in prop::collection::vec(diff_id(), 0..3),
            tags in prop::collection::vec("\\PC{0,12}", 0..2),
            garbage in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let config = serde_json::json!({"rootfs": {"type": "layers", "diff_ids": ids}}).to_string();
            let manifest = serde_json::json!([{"Config": config_name, "Layers": layers, "RepoTags": tags}]).to_string();
            let mut small = HashMap::new();
            small.insert("manifest.json".to_string(), manifest.into_bytes());
            small.insert("config.json".to_string(), config.into_bytes());
            if let Ok(plans) = plan_docker_archive(&small) {
                for layer in plans.iter().flat_map(|p| &p.layers) {
                    prop_assert!(skiff_storage::sha256_hex(&layer.diff_id).is_ok());
                    let entry = Path::new(&layer.entry);
                    prop_assert!(!entry.is_absolute(), "{}", layer.entry);
                    prop_assert!(
                        !entry.components().any(|c| c == Component::ParentDir),
                        "{}",
                        layer.entry
                    );
                }
            }
            small.insert("manifest.json".to_string(), garbage.clone());
            let _ = plan_docker_archive(&small);
            small.insert("index.json".to_string(), garbage);
            let _ = plan_oci_layout(&small);
        }
    }
}
