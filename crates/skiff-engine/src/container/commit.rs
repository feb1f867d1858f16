//! What a container changed (`diff`), and that change kept as a new image (`commit`) or as
//! the layer of a build step. The change is read where the storage driver keeps it: overlay's
//! upper directory, or the vfs copy compared with the image's layers.
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde_json::{Map, Value, json};
use skiff_image::{Change, ChildImage, ManifestFormat, Reference};
use skiff_storage::LayerInfo;
pub use skiff_storage::changes::{Change as PathChange, ChangeKind};
use skiff_storage::changes::{ChangeSource, PackOptions, changes, pack_changes};

use super::store::{ContainerRecord, State};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::image::ImageReport;

/// What skiff itself makes for a container to run (mount points, generated files): `diff`
/// leaves them out, and `commit` keeps them only if the container wrote something into them.
const MADE_BY_ENGINE: &[&str] = &[
    "dev",
    "etc/hostname",
    "etc/hosts",
    "etc/mtab",
    "etc/resolv.conf",
    "proc",
    "run",
    "run/.containerenv",
    "run/secrets",
    "sys",
];

/// `commit`'s choices.
#[derive(Debug, Clone)]
pub struct CommitOptions {
    /// `-c`: Dockerfile instructions applied to the new image's config.
    pub changes: Vec<Change>,
    pub message: Option<String>,
    pub author: Option<String>,
    /// `-p`: freeze the container while its files are read.
    pub pause: bool,
    pub format: ManifestFormat,
}

impl Default for CommitOptions {
    fn default() -> Self {
        Self {
            changes: Vec::new(),
            message: None,
            author: None,
            pause: false,
            format: ManifestFormat::Oci,
        }
    }
}

/// Where a container's changes are on disk.
struct ChangeRoot {
    upper: Option<PathBuf>,
    rootfs: PathBuf,
    layers: Vec<PathBuf>,
}

impl ChangeRoot {
    fn source(&self, engine: &Engine) -> ChangeSource<'_> {
        match &self.upper {
            Some(upper) => ChangeSource::Upper(upper, engine.opaque),
            None => ChangeSource::Copy(&self.rootfs),
        }
    }
}

impl Engine {
    fn change_root(&self, record: &ContainerRecord) -> Result<ChangeRoot, EngineError> {
        let base = self.container_base(record)?;
        if base.directory.is_some() {
            return Err(EngineError::InvalidArgument(format!(
                "container {} changes its --rootfs directory itself: there is no image to compare with",
                record.name
            )));
        }
        let layers = base.layers;
        let layout = self.layout(&record.id, &record.driver);
        Ok(ChangeRoot {
            upper: layout.upper(),
            rootfs: layout.rootfs(),
            layers,
        })
    }

    /// `diff`: what the container changed against its image, sorted by path.
    pub fn container_changes(
        &self,
        name_or_id: &str,
    ) -> Result<Vec<(ChangeKind, String)>, EngineError> {
        let record = self.refresh(self.containers.lookup(name_or_id)?)?;
        let root = self.change_root(&record)?;
        let all = changes(root.source(self), &root.layers);
        let made = |c: &PathChange| MADE_BY_ENGINE.contains(&c.path.to_string_lossy().as_ref());
        // A directory changed only by what skiff put in it (/etc by /etc/mtab) is not the
        // container's doing either.
        let holding_made: HashSet<&Path> = all
            .iter()
            .filter(|c| made(c))
            .filter_map(|c| c.path.parent())
            .collect();
        let only_made_below = |dir: &PathChange| {
            dir.kind == ChangeKind::Changed
                && holding_made.contains(dir.path.as_path())
                && all
                    .iter()
                    .filter(|c| c.path != dir.path && c.path.starts_with(&dir.path))
                    .all(made)
        };
        Ok(all
            .iter()
            .filter(|c| !made(c) && !only_made_below(c))
            .map(|c| (c.kind, format!("/{}", c.path.display())))
            .collect())
    }

    /// The container's changes as a new layer in the layer store. `timestamp` sets every
    /// entry's time (reproducible builds).
    pub fn container_layer(
        &self,
        name_or_id: &str,
        timestamp: Option<u64>,
    ) -> Result<LayerInfo, EngineError> {
        let record = self.refresh(self.containers.lookup(name_or_id)?)?;
        let root = self.change_root(&record)?;
        let source = root.source(self);
        let base = root.upper.as_ref().unwrap_or(&root.rootfs);
        // Mount points skiff or the container's mounts needed, still empty: not the
        // container's doing. Children come before parents here, so a directory made only to
        // hold such a mount point goes too.
        let mount_points: Vec<PathBuf> = record
            .spec
            .mounts
            .iter()
            .map(|m| PathBuf::from(m.destination().trim_start_matches('/')))
            .collect();
        let all = changes(source, &root.layers);
        let mut made: HashSet<PathBuf> = HashSet::new();
        for change in all.iter().rev() {
            let candidate = change.kind == ChangeKind::Added
                && (MADE_BY_ENGINE.contains(&change.path.to_string_lossy().as_ref())
                    || mount_points.iter().any(|m| m.starts_with(&change.path)));
            if candidate && holds_only(&base.join(&change.path), &change.path, &made) {
                made.insert(change.path.clone());
            }
        }
        let kept: Vec<PathChange> = all
            .into_iter()
            .filter(|c| !made.contains(&c.path))
            .collect();
        let options = PackOptions { timestamp };
        self.store_layer_written(
            &format!("reading the changes of container {}", record.name),
            move |writer| pack_changes(source, &kept, options, writer),
        )
    }

    /// `commit CONTAINER [IMAGE]`: a new image of the container's image plus what the
    /// container changed, with the container's command, environment and labels.
    pub fn commit_container(
        &mut self,
        name_or_id: &str,
        target: Option<&str>,
        options: &CommitOptions,
    ) -> Result<ImageReport, EngineError> {
        let record = self.refresh(self.containers.lookup(name_or_id)?)?;
        let reference = target
            .map(Reference::parse)
            .transpose()
            .map_err(skiff_image::ImageError::from)?;
        if record.spec.rootfs.is_some() {
            return Err(EngineError::InvalidArgument(format!(
                "container {} was created with --rootfs: it has no image to commit on",
                record.name
            )));
        }
        let parent = self.images.resolve(&record.image_id)?;
        let paused = options.pause && record.state == State::Running;
        if paused {
            self.pause_container(&record.id)?;
        }
        let layer = self.container_layer(&record.id, None);
        if paused {
            self.unpause_container(&record.id)?;
        }
        let layer = layer?;
        let mut config = container_config(parent.config_json(), &record);
        for change in &options.changes {
            change.apply(&mut config);
        }
        let child = ChildImage {
            container_config: config,
            created_by: record.spec.command.join(" "),
            comment: options.message.clone(),
            author: options.author.clone(),
            created: Utc::now(),
            format: options.format,
        };
        let image = self
            .images
            .commit(Some(&parent), Some(&layer), &child, reference.as_ref())?;
        Ok(ImageReport {
            image,
            containers: 0,
        })
    }
}

/// Whether `path` is an empty file, or a directory holding nothing but `made` entries.
fn holds_only(path: &Path, relative: &Path, made: &HashSet<PathBuf>) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::read_dir(path).is_ok_and(|entries| {
            entries
                .flatten()
                .all(|e| made.contains(&relative.join(e.file_name())))
        }),
        Ok(meta) => meta.is_file() && meta.len() == 0,
        Err(_) => true,
    }
}

/// The image's config with what the container was created with: its command, environment,
/// working directory, user, labels and stop signal, as `docker commit` keeps them.
fn container_config(image_config: &str, record: &ContainerRecord) -> Map<String, Value> {
    let parsed: Value = serde_json::from_str(image_config).unwrap_or_default();
    let mut config = match parsed.get("config") {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    let spec = &record.spec;
    for entry in &spec.env {
        if let Some((key, value)) = entry.split_once('=') {
            Change::Env(key.into(), value.into()).apply(&mut config);
        }
    }
    if let Some(entrypoint) = &spec.entrypoint {
        config.insert("Entrypoint".into(), json!(entrypoint));
        if spec.command.is_empty() {
            config.remove("Cmd");
        }
    }
    if !spec.command.is_empty() {
        config.insert("Cmd".into(), json!(spec.command));
    }
    if let Some(workdir) = &spec.workdir {
        config.insert("WorkingDir".into(), json!(workdir));
    }
    if let Some(user) = &spec.user {
        config.insert("User".into(), json!(user));
    }
    if let Some(signal) = &spec.stop_signal {
        config.insert("StopSignal".into(), json!(signal));
    }
    for (key, value) in &spec.labels {
        Change::Label(key.clone(), value.clone()).apply(&mut config);
    }
    config
}
