//! `save`, `load`, `history` and `image prune`: local images as files and as their history.
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use skiff_image::{ArchiveFormat, SaveItem};

use crate::engine::Engine;
use crate::error::{EngineError, IoContext};
use crate::image::ImageReport;

/// Where `save` writes.
pub enum SaveTarget<'a> {
    Path(&'a Path),
    Stdout,
}

/// One row of `history`, newest first.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// The image ID for the newest entry, else None ("<missing>").
    pub id: Option<String>,
    pub created: Option<chrono::DateTime<chrono::Utc>>,
    pub created_by: String,
    pub size: u64,
    pub comment: String,
}

impl Engine {
    pub fn save_images(
        &self,
        names: &[String],
        format: &str,
        target: SaveTarget<'_>,
    ) -> Result<(), EngineError> {
        let format = ArchiveFormat::parse(format)?;
        let mut items = Vec::new();
        for name in names {
            let image = self.images.resolve(name)?;
            // Saved under the name given, if it is one of the image's names.
            let saved_name = skiff_image::Reference::parse(name)
                .ok()
                .map(|r| r.normalized())
                .filter(|n| image.names.contains(n))
                .or_else(|| {
                    image
                        .names
                        .iter()
                        .find(|n| skiff_image::Reference::parse(name).is_ok_and(|r| r.matches(n)))
                        .cloned()
                });
            items.push(SaveItem {
                image,
                name: saved_name,
            });
        }
        match (target, format) {
            (SaveTarget::Stdout, ArchiveFormat::OciDir) => Err(EngineError::InvalidArgument(
                "oci-dir needs a directory: use -o DIR".into(),
            )),
            (SaveTarget::Stdout, _) => {
                let stdout = std::io::stdout().lock();
                Ok(self
                    .images
                    .save(&items, format, std::io::BufWriter::new(stdout))?)
            }
            (SaveTarget::Path(path), format) => {
                // Written under a temporary name and renamed: a failed save leaves nothing.
                let temporary = temporary_beside(path);
                let result = if format == ArchiveFormat::OciDir {
                    self.images
                        .save_dir(&items, &temporary)
                        .map_err(EngineError::from)
                } else {
                    self.save_to_file(&items, format, &temporary)
                };
                if let Err(err) = result {
                    let _ = std::fs::remove_dir_all(&temporary);
                    let _ = std::fs::remove_file(&temporary);
                    return Err(err);
                }
                if format == ArchiveFormat::OciDir && path.is_dir() {
                    let _ = std::fs::remove_dir_all(path);
                }
                std::fs::rename(&temporary, path).io("rename", path)?;
                for item in &items {
                    self.emit_image("save", &item.image.id, &path.display().to_string());
                }
                Ok(())
            }
        }
    }

    fn save_to_file(
        &self,
        items: &[SaveItem],
        format: ArchiveFormat,
        path: &Path,
    ) -> Result<(), EngineError> {
        let file = std::fs::File::create(path).io("create", path)?;
        let mut out = std::io::BufWriter::with_capacity(1024 * 1024, file);
        self.images.save(items, format, &mut out)?;
        out.flush().io("write", path)
    }

    /// `load -i PATH` (or standard input, which is first copied to a file under the storage
    /// root: archives are read twice).
    pub fn load_images(&mut self, input: Option<&Path>) -> Result<Vec<ImageReport>, EngineError> {
        let spooled;
        let path = match input {
            Some(path) => path,
            None => {
                spooled = self
                    .options
                    .root
                    .join(format!("load-{}.tar", std::process::id()));
                let mut file = std::fs::File::create(&spooled).io("create", &spooled)?;
                std::io::copy(&mut std::io::stdin().lock(), &mut file).io("write", &spooled)?;
                &spooled
            }
        };
        let result = self.images.load(path);
        if input.is_none() {
            let _ = std::fs::remove_file(path);
        }
        if result.is_ok() {
            let archive = input.map(|p| p.display().to_string()).unwrap_or_default();
            self.emit_image("loadfromarchive", "", &archive);
        }
        result?
            .into_iter()
            .map(|image| {
                let containers = self.containers.users_of_image(&image.id)?.len();
                Ok(ImageReport { image, containers })
            })
            .collect()
    }

    /// `history IMAGE`: the config's history, newest first, with each layer's size.
    pub fn image_history(&self, name: &str) -> Result<Vec<HistoryEntry>, EngineError> {
        let image = self.images.resolve(name)?;
        let config: Value = serde_json::from_str(image.config_json())?;
        let history = config
            .get("history")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut layers = image.layers.iter();
        let mut entries = Vec::new();
        for item in &history {
            let empty = item
                .get("empty_layer")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let size = if empty {
                0
            } else {
                match layers.next() {
                    Some(diff_id) => self.images.layer_size(diff_id)?.unwrap_or(0),
                    None => 0,
                }
            };
            let text = |key: &str| {
                item.get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            entries.push(HistoryEntry {
                id: None,
                created: item
                    .get("created")
                    .and_then(Value::as_str)
                    .and_then(|c| c.parse().ok()),
                created_by: text("created_by"),
                size,
                comment: text("comment"),
            });
        }
        entries.reverse();
        // Each image made here added one entry: its ancestors name the entries below it.
        let mut current = Some(image);
        for entry in &mut entries {
            let Some(image) = current else { break };
            entry.id = Some(image.id.clone());
            current = self.images.parent_of(&image.id)?;
        }
        Ok(entries)
    }

    /// `image prune`: dangling images (or with `all`, every image) no container uses. Build
    /// steps stay while an image made from them does, as Podman keeps its cache images; a
    /// chain nothing uses any more goes step by step. Returns the removed IDs.
    pub fn prune_images(&mut self, all: bool) -> Result<Vec<String>, EngineError> {
        let mut removed = Vec::new();
        loop {
            let before = removed.len();
            for report in self.list_images()? {
                if report.containers > 0
                    || !(all || report.image.names.is_empty())
                    || (!all && self.is_intermediate(&report)?)
                {
                    continue;
                }
                match self.remove_image_entirely(&report.image.id, false) {
                    Ok(_) => removed.push(report.image.id.clone()),
                    Err(err) if err.is_no_such_image() => {}
                    Err(err) => return Err(err),
                }
            }
            if removed.len() == before {
                return Ok(removed);
            }
        }
    }
}

impl HistoryEntry {
    /// Podman's `history --format json` object.
    pub fn json(&self) -> Value {
        json!({
            "id": self.id.clone().unwrap_or_else(|| "<missing>".into()),
            "created": self.created.map(|c| c.to_rfc3339()),
            "CreatedBy": self.created_by,
            "size": self.size,
            "comment": self.comment,
        })
    }
}

fn temporary_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "archive".into());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}
