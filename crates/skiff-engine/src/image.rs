//! Image actions: import, list, tag, untag, remove, inspect.
use std::io::Read;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use skiff_image::{ChildImage, Image, ImportOptions, Reference, repository_and_tag};
use skiff_storage::LayerInfo;

use crate::engine::Engine;
use crate::error::{EngineError, IoContext};

/// One image as `images` and `image inspect` show it.
#[derive(Debug, Clone)]
pub struct ImageReport {
    pub image: Image,
    pub containers: usize,
}

impl ImageReport {
    pub fn id(&self) -> &str {
        &self.image.id
    }

    /// Podman's `images --format json` object.
    pub fn list_json(&self) -> Value {
        let i = &self.image;
        json!({
            "Id": i.id,
            "ParentId": "",
            "RepoTags": i.names,
            "RepoDigests": self.repo_digests(),
            "Size": i.size,
            "SharedSize": 0,
            "VirtualSize": i.size,
            "Labels": self.labels(),
            "Containers": self.containers,
            "Names": i.names,
            "Digest": i.digest,
            "History": i.names,
            "Created": i.created.timestamp(),
            "CreatedAt": i.created.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            "Dangling": i.names.is_empty(),
        })
    }

    /// The values `images --format '{{...}}'` templates see (one row per name): `.ID` is
    /// short, or `sha256:` and the whole ID with `no_trunc`; `.CreatedAt` prints as Go prints a
    /// time; `.History` is the names, as one string.
    pub fn template_rows(&self, now: DateTime<Utc>, no_trunc: bool) -> Vec<Value> {
        self.image
            .repository_tags()
            .into_iter()
            .map(|(repository, tag)| {
                let mut row = self.list_json();
                if let Value::Object(map) = &mut row {
                    let id = if no_trunc {
                        format!("sha256:{}", self.image.id)
                    } else {
                        self.image.id.chars().take(12).collect()
                    };
                    map.insert("ID".into(), json!(id));
                    let history = if self.image.names_history.is_empty() {
                        &self.image.names
                    } else {
                        &self.image.names_history
                    };
                    map.insert("History".into(), json!(history.join(", ")));
                    map.insert("Repository".into(), json!(repository));
                    map.insert("Tag".into(), json!(tag));
                    map.insert(
                        "CreatedSince".into(),
                        json!(format!(
                            "{} ago",
                            crate::container::report::human_duration(now, self.image.created)
                        )),
                    );
                    map.insert(
                        "CreatedAt".into(),
                        json!(crate::container::report::go_time(self.image.created)),
                    );
                    map.insert("Size".into(), json!(human_size(self.image.size)));
                }
                row
            })
            .collect()
    }

    /// `REPOSITORY@DIGEST` for each name.
    fn repo_digests(&self) -> Vec<String> {
        self.image
            .names
            .iter()
            .map(|n| format!("{}@{}", repository_and_tag(n).0, self.image.digest))
            .collect()
    }

    fn labels(&self) -> Value {
        self.image
            .config()
            .ok()
            .and_then(|c| c.config().as_ref().and_then(|c| c.labels().clone()))
            .map(|l| json!(l))
            .unwrap_or(Value::Null)
    }

    /// Podman's `image inspect` object. (Its templates also take `.ID`, the Go field's name:
    /// see `inspect_template`.)
    pub fn inspect_json(&self) -> Value {
        let i = &self.image;
        let config: Value = serde_json::from_str(i.config_json()).unwrap_or(Value::Null);
        json!({
            "Id": i.id,
            "Digest": i.digest,
            "RepoTags": i.names,
            "RepoDigests": self.repo_digests(),
            "Parent": "",
            "Comment": config.pointer("/history/0/comment").cloned().unwrap_or(json!("")),
            "Created": i.created.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            "Config": config.get("config").cloned().unwrap_or(json!({})),
            "Version": "",
            "Author": config.get("author").cloned().unwrap_or(json!("")),
            "Architecture": config.get("architecture").cloned().unwrap_or(json!("")),
            "Os": config.get("os").cloned().unwrap_or(json!("")),
            "Size": i.size,
            "VirtualSize": i.size,
            "GraphDriver": {"Name": "overlay", "Data": {}},
            "RootFS": {"Type": "layers", "Layers": i.layers},
            "Labels": self.labels(),
            "Annotations": {},
            "ManifestType": serde_json::from_str::<Value>(i.manifest_json())
                .ok()
                .and_then(|m| m.get("mediaType").cloned())
                .unwrap_or(json!("application/vnd.oci.image.manifest.v1+json")),
            "User": config.pointer("/config/User").cloned().unwrap_or(json!("")),
            "History": config.get("history").cloned().unwrap_or(json!([])),
            "NamesHistory": i.names,
        })
    }
}

/// Sizes as Podman prints them: "4.86 MB" (decimal units, 3 significant digits).
pub fn human_size(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let digits = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    let text = format!("{value:.digits$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{text} {}", units[unit])
}

impl Engine {
    pub fn import_image(
        &mut self,
        tarball: impl Read,
        name: Option<&str>,
        options: &ImportOptions,
    ) -> Result<ImageReport, EngineError> {
        let reference = name
            .map(Reference::parse)
            .transpose()
            .map_err(skiff_image::ImageError::from)?;
        let image = self.images.import(tarball, reference.as_ref(), options)?;
        Ok(ImageReport {
            image,
            containers: 0,
        })
    }

    /// Records a child image of `parent` (None: from scratch) with an optional new top layer
    /// (from `store_layer_written` or `container_layer`).
    pub fn commit_image(
        &mut self,
        parent: Option<&str>,
        layer: Option<&LayerInfo>,
        child: &ChildImage,
        name: Option<&str>,
    ) -> Result<ImageReport, EngineError> {
        let reference = name
            .map(Reference::parse)
            .transpose()
            .map_err(skiff_image::ImageError::from)?;
        let parent = parent.map(|p| self.images.resolve(p)).transpose()?;
        let image = self
            .images
            .commit(parent.as_ref(), layer, child, reference.as_ref())?;
        Ok(ImageReport {
            image,
            containers: 0,
        })
    }

    /// `build --squash`: one image of `base`'s layers and a single layer holding everything
    /// `image` has on top of them (all layers when `base` is None).
    pub fn squash_image(
        &mut self,
        image: &str,
        base: Option<&str>,
        child: &ChildImage,
        timestamp: Option<u64>,
    ) -> Result<ImageReport, EngineError> {
        use skiff_storage::changes::{ChangeSource, PackOptions, changes, pack_changes};
        let base_layers = match base {
            Some(base) => self.image_layer_paths(base)?,
            None => Vec::new(),
        };
        let view = self.image_root(image)?;
        let source = ChangeSource::Copy(view.path());
        let found = changes(source, &base_layers);
        let options = PackOptions { timestamp };
        let layer = self.store_layer_written(&format!("squashing {image}"), move |writer| {
            pack_changes(source, &found, options, writer)
        })?;
        drop(view);
        self.commit_image(base, Some(&layer), child, None)
    }

    /// Stores the layer tar that `write` produces on another thread, streamed into the layer
    /// store as it is written. `what` names the layer in errors.
    pub fn store_layer_written(
        &self,
        what: &str,
        write: impl FnOnce(std::io::PipeWriter) -> std::io::Result<()> + Send,
    ) -> Result<LayerInfo, EngineError> {
        let (reader, writer) = std::io::pipe().io("create", "pipe")?;
        std::thread::scope(|scope| {
            let writing = scope.spawn(move || write(writer));
            let stored = self.images.layers().apply(reader);
            let written = writing
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the layer writer stopped")));
            match (stored, written) {
                (_, Err(e)) => Err(EngineError::InvalidArgument(format!("{what}: {e}"))),
                (Err(e), Ok(())) => Err(e.into()),
                (Ok(layer), Ok(())) => Ok(layer),
            }
        })
    }

    /// The unpacked layers of an image, base first (read-only: to look at its files).
    pub fn image_layer_paths(&self, name_or_id: &str) -> Result<Vec<PathBuf>, EngineError> {
        let image = self.images.resolve(name_or_id)?;
        Ok(self.images.layer_paths(&image)?)
    }

    /// The image a build step with this cache key made, if it is still there.
    pub fn cached_build_step(&self, key: &str) -> Result<Option<ImageReport>, EngineError> {
        Ok(self.images.cached_step(key)?.map(|image| ImageReport {
            image,
            containers: 0,
        }))
    }

    /// Remembers the image a build step made under its cache key.
    pub fn remember_build_step(&self, key: &str, image_id: &str) -> Result<(), EngineError> {
        let image = self.images.resolve(image_id)?;
        Ok(self.images.remember_step(key, &image)?)
    }

    /// The persistent directory of a build's `RUN --mount=type=cache,id=ID`.
    pub fn build_cache_dir(&self, id: &str) -> Result<PathBuf, EngineError> {
        let name = skiff_storage::hex_digest(id.as_bytes());
        let dir = self
            .options
            .root
            .join("build-cache")
            .join(name.trim_start_matches("sha256:"));
        std::fs::create_dir_all(&dir).io("create", &dir)?;
        Ok(dir)
    }

    /// Whether an image is a build step: no name, and another image was made from it.
    /// `images` shows those only with `-a`.
    pub fn is_intermediate(&self, image: &ImageReport) -> Result<bool, EngineError> {
        Ok(self.images.is_intermediate(&image.image)?)
    }

    /// Every image, build steps included.
    pub fn list_images(&self) -> Result<Vec<ImageReport>, EngineError> {
        self.images
            .list()?
            .into_iter()
            .map(|image| {
                let containers = self.containers.users_of_image(&image.id)?.len();
                Ok(ImageReport { image, containers })
            })
            .collect()
    }

    pub fn image(&self, name_or_id: &str) -> Result<ImageReport, EngineError> {
        let image = self.images.resolve(name_or_id)?;
        let containers = self.containers.users_of_image(&image.id)?.len();
        Ok(ImageReport { image, containers })
    }

    pub fn tag_image(&mut self, source: &str, target: &str) -> Result<(), EngineError> {
        let image = self.images.resolve(source)?;
        let reference = Reference::parse(target).map_err(skiff_image::ImageError::from)?;
        self.images.tag(&image, &reference)?;
        self.emit_image("tag", &image.id, target);
        Ok(())
    }

    pub fn untag_image(&mut self, source: &str, target: &str) -> Result<(), EngineError> {
        let image = self.images.resolve(source)?;
        let reference = Reference::parse(target).map_err(skiff_image::ImageError::from)?;
        if !self.images.untag(&image, &reference)? {
            return Err(EngineError::InvalidArgument(format!(
                "{target}: tag not known"
            )));
        }
        self.emit_image("untag", &image.id, &reference.normalized());
        Ok(())
    }

    /// `rmi NAME|ID`: a name of an image with other names is untagged, with or without
    /// `force`; an image's last name or its ID removes the image and its unshared layers (an ID
    /// of an image with several names only with `force`, as Podman). With `force`, containers
    /// using the image are removed first.
    pub fn remove_image(
        &mut self,
        name_or_id: &str,
        force: bool,
    ) -> Result<ImageRemoval, EngineError> {
        let image = self.images.resolve(name_or_id)?;
        let by_id = image
            .id
            .starts_with(name_or_id.trim_start_matches("sha256:"));
        // The name the user meant: the exact one, else the one a short name answers to.
        // A digest-pinned name only as the image has it (`pull NAME@DIGEST` gave it).
        let by_name = Reference::parse(name_or_id)
            .ok()
            .filter(|_| !by_id)
            .and_then(|r| match r.digest {
                Some(_) => {
                    let exact = r.normalized();
                    image.names.iter().find(|n| **n == exact).cloned()
                }
                None => name_answering(&image.names, &r),
            });
        match &by_name {
            Some(name) if image.names.len() > 1 => {
                let _lock = self.images.write_lock()?;
                let reference = Reference::parse(name).map_err(skiff_image::ImageError::from)?;
                self.images.untag(&image, &reference)?;
                self.emit_image("untag", &image.id, name);
                Ok(ImageRemoval {
                    untagged: vec![name.clone()],
                    deleted: None,
                })
            }
            None if image.names.len() > 1 && !force => Err(EngineError::Conflict(format!(
                "unable to delete image {:?} by ID with more than one tag ({}): please force removal",
                image.id,
                image.names.join(", ")
            ))),
            _ => self.remove_image_entirely(&image.id, force),
        }
    }

    /// Removes an image whatever names it has (`rmi --all`, and images skiff made itself).
    /// With `force`, containers using the image are removed first.
    pub fn remove_image_entirely(
        &mut self,
        id: &str,
        force: bool,
    ) -> Result<ImageRemoval, EngineError> {
        let lock = self.images.write_lock()?;
        let image = self.images.resolve(id)?;
        let users = self.containers.users_of_image(&image.id)?;
        if !users.is_empty() {
            if !force {
                return Err(EngineError::ImageInUse(image.id.clone(), users.join(", ")));
            }
            drop(lock);
            for user in users {
                // An infra container goes with its pod, as in Podman; an earlier one's pod may
                // have taken this one already.
                let pod = self.containers.get(&user)?.and_then(|c| c.spec.pod);
                let infra_of = match pod {
                    Some(pod) => self
                        .containers
                        .pod(&pod)?
                        .filter(|p| p.infra_id.as_deref() == Some(user.as_str())),
                    None => None,
                };
                let removed = match infra_of {
                    Some(pod) => self.remove_pod(&pod.id, true, Some(0)).map(drop),
                    None => self.remove_container(&user, true).map(drop),
                };
                match removed {
                    Ok(()) | Err(EngineError::NoSuchContainer(_) | EngineError::NoSuchPod(_)) => {}
                    Err(err) => return Err(err),
                }
            }
            return self.remove_image_entirely(&image.id, false);
        }
        // A user's mount of its files (`image mount`) goes with it.
        self.release_image_mount(&image.id)?;
        self.images.remove(&image, &lock)?;
        for name in &image.names {
            self.emit_image("untag", &image.id, name);
        }
        self.emit_image("remove", &image.id, &image.id);
        Ok(ImageRemoval {
            untagged: image.names.clone(),
            deleted: Some(image.id.clone()),
        })
    }
}

/// Of an image's names, the one `reference` means: the exact one, else the one a short name
/// answers to.
pub(crate) fn name_answering(names: &[String], reference: &Reference) -> Option<String> {
    let exact = reference.normalized();
    names
        .iter()
        .find(|n| **n == exact)
        .or_else(|| names.iter().find(|n| reference.matches(n)))
        .cloned()
}

/// What `remove_image` did: the names it took off, and the image it deleted (none when it
/// only untagged one of several names). Docker's API reports the same two things.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageRemoval {
    pub untagged: Vec<String>,
    pub deleted: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_like_podman() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1_234_567), "1.23 MB");
        assert_eq!(human_size(2_000_000), "2 MB");
        assert_eq!(human_size(123_456_789), "123 MB");
    }
}
