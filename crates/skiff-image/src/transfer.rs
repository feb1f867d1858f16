//! Images to and from registries. A pull fetches the manifest (choosing one image out of a list
//! for the wanted platform), the config, and every layer the store lacks, in parallel, each
//! streamed once through digest checks into the layer store; the image is recorded only when
//! every layer is in. A push sends each layer's stored stream (compressing plain ones once), the
//! config and a manifest, skipping blobs the registry already has.
use std::fs::File;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::{Value, json};
use skiff_registry::{
    Client, Descriptor, Index, Manifest, Platform, RepositoryRef, media_type, select_manifest,
};
use skiff_storage::{Compression, Expected, LayerBlob};

use crate::error::ImageError;
use crate::reference::Reference;
use crate::store::{Image, ImageStore, NewImage, NewLayer};

/// What a transfer tells the user as it goes, in the order Podman prints it; a pull also
/// says how far each layer is (what Docker's API shows as progress bars).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TransferEvent {
    /// A pull is about to ask the registry for this name.
    Trying(String),
    /// Blobs are about to move (Podman's "Getting image source signatures").
    Started,
    /// A pull will bring this layer (`size` bytes as the registry stores it), before any
    /// of them moves.
    Layer {
        digest: String,
        size: u64,
    },
    /// `current` of a layer's `size` bytes have come (reported every hundredth or so).
    Progress {
        digest: String,
        current: u64,
        size: u64,
    },
    /// A layer moved (`skipped` when the other side had it already).
    Blob {
        digest: String,
        skipped: bool,
    },
    Config {
        digest: String,
    },
    WritingManifest,
}

/// Manifest dialect of a push (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestFormat {
    Oci,
    DockerV2s2,
}

impl ManifestFormat {
    pub fn parse(name: &str) -> Result<Self, ImageError> {
        match name {
            "oci" => Ok(ManifestFormat::Oci),
            "v2s2" | "docker" => Ok(ManifestFormat::DockerV2s2),
            other => Err(ImageError::InvalidFormat(other.to_string())),
        }
    }
}

const PARALLEL_LAYERS: usize = 6;

/// A layer's bytes as they come from the registry, counted into `Progress` events: one each
/// hundredth of the size (or each MiB when the size is unknown), and one at the end.
struct Counted<'a, R> {
    inner: R,
    digest: &'a str,
    size: u64,
    current: u64,
    reported: u64,
    progress: &'a (dyn Fn(TransferEvent) + Sync),
}

impl<R: std::io::Read> std::io::Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.current += read as u64;
        let step = if self.size > 0 {
            (self.size / 100).max(1)
        } else {
            1 << 20
        };
        if self.current - self.reported >= step || (read == 0 && self.current > self.reported) {
            self.reported = self.current;
            (self.progress)(TransferEvent::Progress {
                digest: self.digest.to_string(),
                current: self.current,
                size: self.size.max(self.current),
            });
        }
        Ok(read)
    }
}

impl ImageStore {
    /// Pulls `source` (on the client's registry: the image itself or a mirror of it) and names
    /// the image `reference`.
    pub fn pull(
        &mut self,
        client: &Client,
        source: &Reference,
        reference: &Reference,
        platform: &Platform,
        progress: &(dyn Fn(TransferEvent) + Sync),
    ) -> Result<Image, ImageError> {
        let repository = client.repository(&source.repository);
        let tag = source.tag_or_digest();
        // The name asked for, as Podman says it: a mirror it comes from is transparent.
        progress(TransferEvent::Trying(reference.normalized()));
        // What an earlier pull killed midway left behind goes first.
        self.layers().remove_stale_temporaries();
        let mut fetched = client.manifest(&repository, tag)?;
        if media_type::is_index(&fetched.media_type) {
            let index: Index = serde_json::from_slice(&fetched.bytes).map_err(|e| {
                skiff_registry::RegistryError::InvalidManifest(format!(
                    "invalid manifest list: {e}"
                ))
            })?;
            let chosen = select_manifest(&index, platform)?;
            fetched = client.manifest(&repository, &chosen.digest)?;
        }
        let manifest = Manifest::parse(&fetched.bytes)?;
        progress(TransferEvent::Started);
        let config = client.blob_bytes(&repository, &manifest.config.digest)?;
        let config_json: Value = serde_json::from_slice(&config)?;
        let diff_ids = crate::archive::checked_diff_ids(&config_json)?;
        if diff_ids.len() != manifest.layers.len() {
            return Err(ImageError::Inconsistent(format!(
                "{}: the manifest lists {} layers but the config {}",
                reference.normalized(),
                manifest.layers.len(),
                diff_ids.len()
            )));
        }
        let mut attempts = 0;
        loop {
            let layers =
                self.fetch_layers(client, &repository, &manifest.layers, &diff_ids, progress)?;
            if attempts == 0 {
                progress(TransferEvent::Config {
                    digest: manifest.config.digest.clone(),
                });
                progress(TransferEvent::WritingManifest);
            }
            let image = NewImage {
                parent: None,
                config: String::from_utf8(config.clone())
                    .map_err(|_| ImageError::Inconsistent("image config is not UTF-8".into()))?,
                manifest: String::from_utf8(fetched.bytes.clone())
                    .map_err(|_| ImageError::Inconsistent("manifest is not UTF-8".into()))?,
                created: config_json
                    .get("created")
                    .and_then(Value::as_str)
                    .unwrap_or("1970-01-01T00:00:00Z")
                    .to_string(),
                layers,
            };
            let registered = self.register(image, Some(reference));
            if registered.is_ok() {
                for layer in &manifest.layers {
                    self.record_blob_location(
                        &layer.digest,
                        client.registry(),
                        &repository.repository,
                    )?;
                }
            }
            match registered {
                // A concurrent `rmi` collected a layer this pull had stored but not yet
                // recorded: fetch it again, once.
                Err(ImageError::Storage(skiff_storage::StorageError::LayerUnknown(_)))
                    if attempts == 0 =>
                {
                    attempts += 1;
                }
                other => return other,
            }
        }
    }

    /// Brings every listed layer into the layer store: skipped when present, unpacked from a
    /// stored stream left by an interrupted pull, else downloaded. Up to PARALLEL_LAYERS at once.
    fn fetch_layers(
        &self,
        client: &Client,
        repository: &RepositoryRef,
        descriptors: &[Descriptor],
        diff_ids: &[String],
        progress: &(dyn Fn(TransferEvent) + Sync),
    ) -> Result<Vec<NewLayer>, ImageError> {
        let store = self.layers();
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let results: Mutex<Vec<Option<Result<NewLayer, ImageError>>>> =
            Mutex::new((0..descriptors.len()).map(|_| None).collect());
        // The sizes of the layers here already. What is here is said first, then what will
        // come (as Docker says it).
        let present: Vec<Option<u64>> = diff_ids
            .iter()
            .map(|d| {
                self.layer_size(d)
                    .ok()
                    .flatten()
                    .filter(|_| store.contains(d))
            })
            .collect();
        for (descriptor, present) in descriptors.iter().zip(&present) {
            let digest = descriptor.digest.clone();
            progress(match present {
                Some(_) => TransferEvent::Blob {
                    digest,
                    skipped: true,
                },
                None => TransferEvent::Layer {
                    digest,
                    size: descriptor.size,
                },
            });
        }
        let work = || {
            loop {
                if failed.load(Ordering::Relaxed) {
                    return;
                }
                let index = next.fetch_add(1, Ordering::Relaxed);
                let (Some(descriptor), Some(diff_id)) =
                    (descriptors.get(index), diff_ids.get(index))
                else {
                    return;
                };
                let result = (|| {
                    if let Some(size) = present[index] {
                        return Ok(NewLayer {
                            diff_id: diff_id.clone(),
                            size,
                        });
                    }
                    if descriptor.urls.is_some() {
                        return Err(ImageError::Inconsistent(format!(
                            "layer {} is a foreign layer, which skiff does not fetch",
                            descriptor.digest
                        )));
                    }
                    let expected = Expected {
                        digest: Some(&descriptor.digest),
                        diff_id: Some(diff_id),
                    };
                    let info = match store.blob(diff_id, &descriptor.digest) {
                        Some(blob) => store.apply_verified(
                            File::open(&blob.path).map_err(|source| ImageError::Io {
                                action: "open",
                                path: blob.path.clone(),
                                source,
                            })?,
                            expected,
                        )?,
                        None => store.apply_verified(
                            Counted {
                                inner: client.blob(repository, &descriptor.digest)?,
                                digest: &descriptor.digest,
                                size: descriptor.size,
                                current: 0,
                                reported: 0,
                                progress,
                            },
                            expected,
                        )?,
                    };
                    progress(TransferEvent::Blob {
                        digest: descriptor.digest.clone(),
                        skipped: false,
                    });
                    Ok(NewLayer {
                        diff_id: info.diff_id,
                        size: info.size,
                    })
                })();
                // After a failure no new layer starts; the others finish what they hold.
                if result.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                results.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(result);
            }
        };
        std::thread::scope(|scope| {
            for _ in 0..PARALLEL_LAYERS.min(descriptors.len()).max(1) {
                scope.spawn(work);
            }
        });
        let mut layers = Vec::with_capacity(descriptors.len());
        for result in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
            match result {
                Some(Ok(layer)) => layers.push(layer),
                Some(Err(err)) => return Err(err),
                None => {}
            }
        }
        if layers.len() != descriptors.len() {
            return Err(ImageError::Inconsistent("a layer was not fetched".into()));
        }
        Ok(layers)
    }

    /// Pushes an image to `destination` (a full name on the client's registry) and returns the
    /// digest of the manifest the registry now holds. `format` None keeps the stored dialect.
    pub fn push(
        &self,
        image: &Image,
        client: &Client,
        destination: &Reference,
        format: Option<ManifestFormat>,
        progress: &(dyn Fn(TransferEvent) + Sync),
    ) -> Result<String, ImageError> {
        let repository = client.repository(&destination.repository);
        let stored: Option<Manifest> = Manifest::parse(image.manifest_json().as_bytes()).ok();
        let stored_format = match stored.as_ref().and_then(|m| m.media_type.as_deref()) {
            Some(media_type::DOCKER_MANIFEST) => ManifestFormat::DockerV2s2,
            _ => ManifestFormat::Oci,
        };
        let format = format.unwrap_or(stored_format);
        progress(TransferEvent::Started);
        let mut blobs = Vec::with_capacity(image.layers.len());
        for (index, diff_id) in image.layers.iter().enumerate() {
            // The stream the stored manifest names, when it is compressed; else gzip.
            let original = stored
                .as_ref()
                .and_then(|m| m.layers.get(index))
                .and_then(|d| self.layers().blob(diff_id, &d.digest))
                .filter(|b| match format {
                    ManifestFormat::Oci => b.compression != Compression::None,
                    ManifestFormat::DockerV2s2 => b.compression == Compression::Gzip,
                });
            let blob = match original {
                Some(blob) => blob,
                None => self.layers().gzip_blob(diff_id)?,
            };
            blobs.push(blob);
        }
        for blob in &blobs {
            let sources: Vec<String> = self
                .blob_locations(&blob.digest, client.registry())?
                .into_iter()
                .filter(|r| *r != repository.repository)
                .collect();
            let skipped = self.push_blob(client, &repository, blob, &sources)?;
            self.record_blob_location(&blob.digest, client.registry(), &repository.repository)?;
            progress(TransferEvent::Blob {
                digest: blob.digest.clone(),
                skipped,
            });
        }
        let config_digest = skiff_storage::hex_digest(image.config_json().as_bytes());
        if !client.blob_exists(&repository, &config_digest)? {
            client.upload_blob(
                &repository,
                &config_digest,
                image.config_json().as_bytes(),
                &|_| {},
            )?;
        }
        progress(TransferEvent::Config {
            digest: config_digest.clone(),
        });
        progress(TransferEvent::WritingManifest);
        let unchanged = format == stored_format
            && stored.as_ref().is_some_and(|m| {
                m.layers.len() == blobs.len()
                    && m.layers
                        .iter()
                        .zip(&blobs)
                        .all(|(d, b)| d.digest == b.digest)
                    && m.config.digest == config_digest
            });
        let (manifest_type, bytes) = if unchanged {
            let bytes = image.manifest_json().as_bytes().to_vec();
            let media_type = match format {
                ManifestFormat::Oci => media_type::OCI_MANIFEST,
                ManifestFormat::DockerV2s2 => media_type::DOCKER_MANIFEST,
            };
            (media_type, bytes)
        } else {
            build_manifest(format, &config_digest, image.config_json().len(), &blobs)?
        };
        let tag = destination
            .tag
            .as_deref()
            .unwrap_or(destination.tag_or_digest());
        Ok(client.put_manifest(&repository, tag, manifest_type, bytes)?)
    }

    /// Sends one layer blob unless the registry has it; true when it was skipped.
    fn push_blob(
        &self,
        client: &Client,
        repository: &RepositoryRef,
        blob: &LayerBlob,
        mount_sources: &[String],
    ) -> Result<bool, ImageError> {
        if client.blob_exists(repository, &blob.digest)? {
            return Ok(true);
        }
        for source in mount_sources {
            if client.mount_blob(repository, &blob.digest, source)? {
                return Ok(true);
            }
        }
        let file = File::open(&blob.path).map_err(|source| ImageError::Io {
            action: "open",
            path: blob.path.clone(),
            source,
        })?;
        client.upload_blob(
            repository,
            &blob.digest,
            std::io::BufReader::with_capacity(1024 * 1024, file),
            &|_| {},
        )?;
        Ok(false)
    }
}

pub(crate) fn build_manifest(
    format: ManifestFormat,
    config_digest: &str,
    config_size: usize,
    blobs: &[LayerBlob],
) -> Result<(&'static str, Vec<u8>), ImageError> {
    let (manifest_type, config_type) = match format {
        ManifestFormat::Oci => (media_type::OCI_MANIFEST, media_type::OCI_CONFIG),
        ManifestFormat::DockerV2s2 => (media_type::DOCKER_MANIFEST, media_type::DOCKER_CONFIG),
    };
    let layers: Vec<Value> = blobs
        .iter()
        .map(|b| {
            let layer_type = match (format, b.compression) {
                (ManifestFormat::DockerV2s2, _) => media_type::DOCKER_LAYER_GZIP,
                (ManifestFormat::Oci, Compression::Gzip) => media_type::OCI_LAYER_GZIP,
                (ManifestFormat::Oci, Compression::Zstd) => media_type::OCI_LAYER_ZSTD,
                (ManifestFormat::Oci, Compression::None) => media_type::OCI_LAYER,
            };
            json!({"mediaType": layer_type, "digest": b.digest, "size": b.size})
        })
        .collect();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {"mediaType": config_type, "digest": config_digest, "size": config_size},
        "layers": layers,
    });
    Ok((manifest_type, serde_json::to_vec(&manifest)?))
}
