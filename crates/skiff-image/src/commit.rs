//! Images made on this machine from another one: `commit`, and every step of a build. A child
//! keeps its parent's layers and config and adds at most one layer and one history entry; the
//! parent is remembered, so that build steps (images without a name that another image was made
//! from) stay out of `images` unless `-a` is asked for, as in Podman.
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value, json};
use skiff_storage::{Compression, LayerBlob, LayerInfo, hex_digest};

use crate::error::ImageError;
use crate::reference::Reference;
use crate::store::{Image, ImageStore, NewImage, NewLayer, oci_architecture};
use crate::transfer::{ManifestFormat, build_manifest};

/// How a child image is described.
#[derive(Debug, Clone)]
pub struct ChildImage {
    /// The config's `config` object (`Cmd`, `Env`, `Labels`, ...), complete.
    pub container_config: Map<String, Value>,
    /// The history entry: what made this image (`/bin/sh -c #(nop) ENV A=1`, `RUN ...`).
    pub created_by: String,
    pub comment: Option<String>,
    pub author: Option<String>,
    pub created: DateTime<Utc>,
    pub format: ManifestFormat,
}

impl ImageStore {
    /// Records a child of `parent` (None: `FROM scratch`) with an optional new top layer,
    /// already in the layer store.
    pub fn commit(
        &mut self,
        parent: Option<&Image>,
        layer: Option<&LayerInfo>,
        child: &ChildImage,
        name: Option<&Reference>,
    ) -> Result<Image, ImageError> {
        let created = child.created.to_rfc3339_opts(SecondsFormat::Nanos, true);
        let mut config: Map<String, Value> = match parent {
            Some(parent) => serde_json::from_str(parent.config_json())?,
            None => Map::new(),
        };
        config
            .entry("architecture")
            .or_insert_with(|| json!(oci_architecture()));
        config.entry("os").or_insert_with(|| json!("linux"));
        config.insert("created".into(), json!(created));
        config.insert(
            "config".into(),
            Value::Object(child.container_config.clone()),
        );
        match &child.author {
            Some(author) => config.insert("author".into(), json!(author)),
            None => config.remove("author"),
        };
        let mut diff_ids: Vec<String> = parent.map(|p| p.layers.clone()).unwrap_or_default();
        if let Some(layer) = layer {
            diff_ids.push(layer.diff_id.clone());
        }
        config.insert(
            "rootfs".into(),
            json!({"type": "layers", "diff_ids": diff_ids}),
        );
        let mut entry = json!({"created": created, "created_by": child.created_by});
        if let Some(comment) = &child.comment {
            entry["comment"] = json!(comment);
        }
        if let Some(author) = &child.author {
            entry["author"] = json!(author);
        }
        if layer.is_none() {
            entry["empty_layer"] = json!(true);
        }
        let history = config.entry("history").or_insert_with(|| json!([]));
        if !history.is_array() {
            *history = json!([]);
        }
        if let Value::Array(history) = history {
            history.push(entry);
        }
        let config = serde_json::to_string(&config)?;

        let blobs = self.layer_blobs(parent, layer, &diff_ids)?;
        let (_, manifest) = build_manifest(
            child.format,
            &hex_digest(config.as_bytes()),
            config.len(),
            &blobs,
        )?;
        let mut layers = Vec::with_capacity(diff_ids.len());
        for diff_id in diff_ids {
            let size = match layer.filter(|l| l.diff_id == diff_id) {
                Some(new) => new.size,
                None => self.layer_size(&diff_id)?.unwrap_or(0),
            };
            layers.push(NewLayer { diff_id, size });
        }
        self.register(
            NewImage {
                parent: parent.map(|p| p.id.clone()),
                config,
                manifest: String::from_utf8(manifest)
                    .map_err(|_| ImageError::Inconsistent("manifest is not UTF-8".into()))?,
                created,
                layers,
            },
            name,
        )
    }

    /// For each layer, the stored stream the manifest names: the parent's own choice where it
    /// has one, else any stream kept for the layer.
    fn layer_blobs(
        &self,
        parent: Option<&Image>,
        layer: Option<&LayerInfo>,
        diff_ids: &[String],
    ) -> Result<Vec<LayerBlob>, ImageError> {
        let parent_manifest: Option<Value> =
            parent.and_then(|p| serde_json::from_str(p.manifest_json()).ok());
        let mut blobs = Vec::with_capacity(diff_ids.len());
        for (index, diff_id) in diff_ids.iter().enumerate() {
            if let Some(new) = layer.filter(|l| &l.diff_id == diff_id) {
                blobs.push(new.blob.clone());
                continue;
            }
            let named = parent_manifest
                .as_ref()
                .and_then(|m| m["layers"][index]["digest"].as_str())
                .and_then(|digest| self.layers().blob(diff_id, digest));
            let blob = match named {
                Some(blob) => blob,
                None => self
                    .layers()
                    .blobs(diff_id)?
                    .into_iter()
                    .min_by_key(|b| b.compression == Compression::None)
                    .ok_or_else(|| {
                        skiff_storage::StorageError::LayerStreamMissing(diff_id.clone())
                    })?,
            };
            blobs.push(blob);
        }
        Ok(blobs)
    }

    /// Whether an image has no name and another image was made from it: a build step.
    pub fn is_intermediate(&self, image: &Image) -> Result<bool, ImageError> {
        if !image.names.is_empty() {
            return Ok(false);
        }
        Ok(self
            .db
            .get()?
            .query_row(
                "SELECT 1 FROM image_parents WHERE parent_id = ?1 LIMIT 1",
                [&image.id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// The image this one was made from here, while it still exists.
    pub fn parent_of(&self, image_id: &str) -> Result<Option<Image>, ImageError> {
        let parent: Option<String> = self
            .db
            .get()?
            .query_row(
                "SELECT parent_id FROM image_parents WHERE image_id = ?1",
                [image_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(parent.and_then(|id| self.resolve(&id).ok()))
    }

    /// The image a build step with this cache key made before, if it is still there.
    pub fn cached_step(&self, key: &str) -> Result<Option<Image>, ImageError> {
        let id: Option<String> = self
            .db
            .get()?
            .query_row(
                "SELECT image_id FROM build_cache WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?;
        match id {
            Some(id) => match self.resolve(&id) {
                Ok(image) if self.layer_paths(&image).is_ok() => Ok(Some(image)),
                _ => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// Remembers the image a build step made, under the step's cache key.
    pub fn remember_step(&self, key: &str, image: &Image) -> Result<(), ImageError> {
        self.db.get()?.execute(
            "INSERT OR REPLACE INTO build_cache (key, image_id) VALUES (?1, ?2)",
            params![key, image.id],
        )?;
        Ok(())
    }
}
