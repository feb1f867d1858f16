//! The image store: image records in `images.db` (SQLite, WAL), content in the layer store.
//! An image's ID is the sha256 of its config, as in Podman and Docker.
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use oci_spec::image::ImageConfiguration;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde_json::{Value, json};
use skiff_storage::database::{LazyDatabase, unchanged};
use skiff_storage::lock::FileLock;
use skiff_storage::{LayerStore, OpaqueXattr, hex_digest};

use crate::error::ImageError;
use crate::reference::{Reference, repository_and_tag};

/// A local image as listed and inspected.
#[derive(Debug, Clone)]
pub struct Image {
    /// 64 hex digits (no `sha256:`).
    pub id: String,
    /// Full stored names, e.g. `localhost/busybox:latest`; empty for a dangling image.
    pub names: Vec<String>,
    /// `sha256:<hex>` of the image's manifest.
    pub digest: String,
    pub created: DateTime<Utc>,
    /// Uncompressed bytes of all layers.
    pub size: u64,
    /// Diff IDs, base layer first.
    pub layers: Vec<String>,
    /// Every name the image has had (`images --format {{.History}}`): its names now, then
    /// the ones it lost, most recently held first. Filled by `ImageStore::list` only.
    pub names_history: Vec<String>,
    config: String,
    manifest: String,
}

impl Image {
    pub fn config(&self) -> Result<ImageConfiguration, ImageError> {
        Ok(serde_json::from_str(&self.config)?)
    }
    pub fn config_json(&self) -> &str {
        &self.config
    }
    pub fn manifest_json(&self) -> &str {
        &self.manifest
    }
    /// (REPOSITORY, TAG) pairs for `images`; `<none>` for a dangling image.
    /// The rows `images` shows, as Podman: one per tagged name; a name pinned by a digest
    /// (`repo@sha256:…`, kept from a pull by digest) shows only when the image has no tag,
    /// as `repo <none>`.
    pub fn repository_tags(&self) -> Vec<(String, String)> {
        let tagged: Vec<(String, String)> = self
            .names
            .iter()
            .filter(|n| !n.contains('@'))
            .map(|n| repository_and_tag(n))
            .collect();
        if !tagged.is_empty() {
            return tagged;
        }
        match self.names.first() {
            Some(pinned) => vec![(repository_and_tag(pinned).0, "<none>".into())],
            None => vec![("<none>".into(), "<none>".into())],
        }
    }
}

/// A Dockerfile-style instruction applied to an imported image's config (`import --change`).
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Cmd(Vec<String>),
    Entrypoint(Vec<String>),
    Env(String, String),
    Label(String, String),
    WorkingDir(String),
    User(String),
    Expose(String),
    StopSignal(String),
    Volume(String),
    OnBuild(String),
    /// `SHELL ["sh", "-c"]`.
    Shell(Vec<String>),
    /// `HEALTHCHECK`: the Docker config's `Healthcheck` object (`{"Test": ["NONE"]}` for NONE).
    Healthcheck(Value),
}

impl Change {
    /// Parses `CMD ["sh"]`, `CMD sh -c x`, `ENV A=1`, `LABEL k=v`, `WORKDIR /x`, `USER u`,
    /// `EXPOSE 80/tcp`, `STOPSIGNAL SIGTERM`, `ENTRYPOINT ...` (also with `=` after the keyword).
    pub fn parse(input: &str) -> Result<Self, ImageError> {
        let bad = |why| ImageError::InvalidChange(input.to_string(), why);
        let (keyword, rest) = input
            .trim()
            .split_once([' ', '='])
            .ok_or_else(|| bad("expected INSTRUCTION VALUE"))?;
        let rest = rest.trim();
        let command = |rest: &str| -> Result<Vec<String>, ImageError> {
            if rest.starts_with('[') {
                serde_json::from_str(rest).map_err(|_| bad("bad JSON array"))
            } else {
                Ok(vec!["/bin/sh".into(), "-c".into(), rest.to_string()])
            }
        };
        let pair = |rest: &str| -> Result<(String, String), ImageError> {
            let (k, v) = rest
                .split_once('=')
                .or_else(|| rest.split_once(' '))
                .ok_or_else(|| bad("expected KEY=VALUE"))?;
            Ok((k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        };
        Ok(match keyword.to_ascii_uppercase().as_str() {
            "CMD" => Change::Cmd(command(rest)?),
            "ENTRYPOINT" => Change::Entrypoint(command(rest)?),
            "ENV" => {
                let (k, v) = pair(rest)?;
                Change::Env(k, v)
            }
            "LABEL" => {
                let (k, v) = pair(rest)?;
                Change::Label(k, v)
            }
            "WORKDIR" => Change::WorkingDir(rest.to_string()),
            "USER" => Change::User(rest.to_string()),
            "EXPOSE" => Change::Expose(if rest.contains('/') {
                rest.to_string()
            } else {
                format!("{rest}/tcp")
            }),
            "STOPSIGNAL" => Change::StopSignal(rest.to_string()),
            "VOLUME" => Change::Volume(rest.to_string()),
            "ONBUILD" => Change::OnBuild(rest.to_string()),
            _ => {
                return Err(bad(
                    "supported: CMD ENTRYPOINT ENV EXPOSE LABEL ONBUILD STOPSIGNAL USER VOLUME WORKDIR",
                ));
            }
        })
    }

    /// Applies the change to an image config's `config` object (Docker's names: `Cmd`, `Env`, ...).
    pub fn apply(&self, config: &mut serde_json::Map<String, Value>) {
        let set = |config: &mut serde_json::Map<String, Value>, key: &str, value: Value| {
            config.insert(key.to_string(), value);
        };
        match self {
            Change::Cmd(c) => set(config, "Cmd", json!(c)),
            Change::Entrypoint(c) => set(config, "Entrypoint", json!(c)),
            Change::WorkingDir(w) => set(config, "WorkingDir", json!(w)),
            Change::User(u) => set(config, "User", json!(u)),
            Change::StopSignal(s) => set(config, "StopSignal", json!(s)),
            Change::Shell(shell) => set(config, "Shell", json!(shell)),
            Change::Healthcheck(check) => set(config, "Healthcheck", check.clone()),
            Change::OnBuild(trigger) => {
                let triggers = config.entry("OnBuild").or_insert_with(|| json!([]));
                if let Value::Array(list) = triggers {
                    list.push(json!(trigger));
                } else {
                    *triggers = json!([trigger]);
                }
            }
            Change::Env(k, v) => {
                let env = config.entry("Env").or_insert_with(|| json!([]));
                if !env.is_array() {
                    *env = json!([]);
                }
                if let Value::Array(list) = env {
                    list.retain(|e| {
                        e.as_str()
                            .and_then(|e| e.split_once('='))
                            .map(|(key, _)| key)
                            != Some(k)
                    });
                    list.push(json!(format!("{k}={v}")));
                }
            }
            Change::Label(k, v) => {
                let labels = config.entry("Labels").or_insert_with(|| json!({}));
                if !labels.is_object() {
                    *labels = json!({});
                }
                if let Value::Object(map) = labels {
                    map.insert(k.clone(), json!(v));
                }
            }
            Change::Expose(port) => insert_key(config, "ExposedPorts", port),
            Change::Volume(path) => insert_key(config, "Volumes", path),
        }
    }
}

/// Adds `key: {}` to a set-like object of the config (`ExposedPorts`, `Volumes`).
fn insert_key(config: &mut serde_json::Map<String, Value>, set: &str, key: &str) {
    let entries = config.entry(set).or_insert_with(|| json!({}));
    if !entries.is_object() {
        *entries = json!({});
    }
    if let Value::Object(map) = entries {
        map.insert(key.to_string(), json!({}));
    }
}

/// An image about to be recorded: its exact config and manifest bytes and its layers.
pub(crate) struct NewImage {
    /// The image this one was made from on this machine (`commit`, build steps).
    pub parent: Option<String>,
    pub config: String,
    pub manifest: String,
    pub created: String,
    pub layers: Vec<NewLayer>,
}

pub(crate) struct NewLayer {
    pub diff_id: String,
    pub size: u64,
}

#[derive(Debug, Default)]
pub struct ImportOptions {
    pub changes: Vec<Change>,
    pub message: Option<String>,
}

pub struct ImageStore {
    pub(crate) db: LazyDatabase,
    layers: LayerStore,
    lock_path: PathBuf,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    created TEXT NOT NULL,
    size INTEGER NOT NULL,
    config TEXT NOT NULL,
    manifest TEXT NOT NULL,
    layers TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS names (
    name TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS names_history (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    seen INTEGER NOT NULL,
    PRIMARY KEY (image_id, name)
);
CREATE INDEX IF NOT EXISTS names_by_image ON names(image_id);
CREATE TABLE IF NOT EXISTS blob_locations (
    digest TEXT NOT NULL,
    registry TEXT NOT NULL,
    repository TEXT NOT NULL,
    PRIMARY KEY (digest, registry, repository)
);
CREATE TABLE IF NOT EXISTS layer_sizes (
    diff_id TEXT PRIMARY KEY,
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS image_parents (
    image_id TEXT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    parent_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS children_by_parent ON image_parents(parent_id);
CREATE TABLE IF NOT EXISTS build_cache (
    key TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS cache_by_image ON build_cache(image_id);
";

impl ImageStore {
    /// Opens the store under the graph root: `images.db` (on first use) and `storage/layers`.
    pub fn open(root: &Path, opaque: OpaqueXattr) -> Result<Self, ImageError> {
        let layers = LayerStore::open(&root.join("storage"), opaque)?;
        Ok(Self {
            db: Self::database(root),
            layers,
            lock_path: root.join("images.lock"),
        })
    }

    fn database(root: &Path) -> LazyDatabase {
        LazyDatabase::new(root.join("images.db"), SCHEMA, unchanged)
    }

    /// Closes the database connection; it opens again on first use (see
    /// `LazyDatabase::close`).
    pub fn close_database(&mut self) {
        self.db.close();
    }

    /// Opens the database of the store under `root` now, for the store opened later in this
    /// process (see `LazyDatabase::open_ahead`).
    pub fn open_database_ahead(root: &Path) {
        Self::database(root).open_ahead();
    }

    /// Paths of an image's unpacked layers, base first.
    pub fn layer_paths(&self, image: &Image) -> Result<Vec<PathBuf>, ImageError> {
        image
            .layers
            .iter()
            .map(|diff_id| {
                let path = self.layers.path(diff_id)?;
                if path.is_dir() {
                    Ok(path)
                } else {
                    Err(skiff_storage::StorageError::LayerUnknown(diff_id.clone()).into())
                }
            })
            .collect()
    }

    /// Serialises writers of images and layers; held while an image is created or removed so
    /// that a layer is never deleted under an image being registered.
    pub fn write_lock(&self) -> Result<FileLock, ImageError> {
        Ok(FileLock::exclusive(&self.lock_path)?)
    }

    /// `skiff import`: one layer from a rootfs tarball, a fresh config, an optional name.
    pub fn import(
        &mut self,
        tarball: impl Read,
        name: Option<&Reference>,
        options: &ImportOptions,
    ) -> Result<Image, ImageError> {
        // Nothing at all (`import /dev/null`) is no archive: a tar holds at least its end blocks.
        let mut tarball = std::io::BufReader::new(tarball);
        if std::io::BufRead::fill_buf(&mut tarball)
            .map_err(|e| ImageError::InvalidArchive(format!("import: {e}")))?
            .is_empty()
        {
            return Err(ImageError::InvalidArchive(
                "import: the input is empty, not a tar archive".into(),
            ));
        }
        let layer = self.layers.apply(tarball)?;
        let created = Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true);
        let mut container_config = serde_json::Map::new();
        for change in &options.changes {
            change.apply(&mut container_config);
        }
        let config = json!({
            "created": created,
            "architecture": oci_architecture(),
            "os": "linux",
            "config": container_config,
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
            "history": [{
                "created": created,
                "created_by": "/bin/sh -c #(nop) ADD file in /",
                "comment": options.message.clone().unwrap_or_else(|| "imported from tarball".into()),
            }],
        });
        let config = serde_json::to_string(&config)?;
        let config_digest = hex_digest(config.as_bytes());
        let manifest = serde_json::to_string(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": config.len(),
            },
            "layers": [{
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": layer.diff_id,
                "size": layer.size,
            }],
        }))?;
        let layer = NewLayer {
            diff_id: layer.diff_id,
            size: layer.size,
        };
        self.register(
            NewImage {
                parent: None,
                config,
                manifest,
                created,
                layers: vec![layer],
            },
            name,
        )
    }

    /// Records an image whose layers are all in the layer store, and names it. Holds the write
    /// lock, and checks under it that every layer is still there: a concurrent `rmi` may have
    /// collected a layer no image listed yet.
    pub(crate) fn register(
        &mut self,
        image: NewImage,
        name: Option<&Reference>,
    ) -> Result<Image, ImageError> {
        let _lock = self.write_lock()?;
        for layer in &image.layers {
            if !self.layers.contains(&layer.diff_id) {
                return Err(
                    skiff_storage::StorageError::LayerUnknown(layer.diff_id.clone()).into(),
                );
            }
        }
        let id = hex_digest(image.config.as_bytes())
            .trim_start_matches("sha256:")
            .to_string();
        let size: u64 = image.layers.iter().map(|l| l.size).sum();
        let diff_ids: Vec<&str> = image.layers.iter().map(|l| l.diff_id.as_str()).collect();
        let tx = self
            .db
            .get_mut()?
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT OR IGNORE INTO images (id, digest, created, size, config, manifest, layers) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id,
                hex_digest(image.manifest.as_bytes()),
                image.created,
                size as i64,
                image.config,
                image.manifest,
                serde_json::to_string(&diff_ids)?
            ],
        )?;
        if let Some(parent) = &image.parent {
            tx.execute(
                "INSERT OR IGNORE INTO image_parents (image_id, parent_id) VALUES (?1, ?2)",
                params![id, parent],
            )?;
        }
        for layer in &image.layers {
            tx.execute(
                "INSERT OR REPLACE INTO layer_sizes (diff_id, size) VALUES (?1, ?2)",
                params![layer.diff_id, layer.size as i64],
            )?;
        }
        if let Some(name) = name {
            tx.execute(
                "DELETE FROM names WHERE name = ?1 AND image_id != ?2",
                params![name.normalized(), id],
            )?;
            tx.execute(
                "INSERT OR IGNORE INTO names (name, image_id) VALUES (?1, ?2)",
                params![name.normalized(), id],
            )?;
            record_names(&tx, &id)?;
        }
        tx.commit()?;
        self.get(&id)
    }

    /// The uncompressed size of a stored layer, as recorded when it was stored.
    pub fn layer_size(&self, diff_id: &str) -> Result<Option<u64>, ImageError> {
        Ok(self
            .db
            .get()?
            .query_row(
                "SELECT size FROM layer_sizes WHERE diff_id = ?1",
                [diff_id],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map(|s| s as u64))
    }

    /// Remembers that a registry repository holds a blob, so a later push to another
    /// repository of that registry can mount it instead of uploading it.
    pub(crate) fn record_blob_location(
        &self,
        digest: &str,
        registry: &str,
        repository: &str,
    ) -> Result<(), ImageError> {
        self.db.get()?.execute(
            "INSERT OR IGNORE INTO blob_locations (digest, registry, repository) VALUES (?1, ?2, ?3)",
            params![digest, registry, repository],
        )?;
        Ok(())
    }

    /// Repositories of `registry` known to hold a blob.
    pub(crate) fn blob_locations(
        &self,
        digest: &str,
        registry: &str,
    ) -> Result<Vec<String>, ImageError> {
        let mut statement = self
            .db
            .get()?
            .prepare("SELECT repository FROM blob_locations WHERE digest = ?1 AND registry = ?2")?;
        let rows = statement.query_map(params![digest, registry], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// See `LayerStore::limit_unpacked_size`.
    pub fn limit_layer_size(&mut self, bytes: Option<u64>) {
        self.layers.limit_unpacked_size(bytes);
    }

    pub fn layers(&self) -> &LayerStore {
        &self.layers
    }

    /// Every image, newest first.
    pub fn list(&self) -> Result<Vec<Image>, ImageError> {
        let mut statement = self.db.get()?.prepare(
            "SELECT id, digest, created, size, config, manifest, layers FROM images ORDER BY created DESC, id",
        )?;
        let rows = statement.query_map([], read_image_row)?;
        let mut images = rows.collect::<Result<Vec<_>, _>>()?;
        let mut names = self
            .db
            .get()?
            .prepare("SELECT name, image_id FROM names ORDER BY rowid")?;
        for row in names.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (name, image_id) = row?;
            if let Some(image) = images.iter_mut().find(|i| i.id == image_id) {
                image.names.push(name);
            }
        }
        for image in &mut images {
            image.names_history = image.names.clone();
        }
        let conn = self.db.get()?;
        let mut history =
            conn.prepare("SELECT image_id, name FROM names_history ORDER BY seen DESC, name")?;
        for row in
            history.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        {
            let (image_id, name) = row?;
            if let Some(image) = images.iter_mut().find(|i| i.id == image_id)
                && !image.names_history.contains(&name)
            {
                image.names_history.push(name);
            }
        }
        Ok(images)
    }

    fn get(&self, id: &str) -> Result<Image, ImageError> {
        let mut image = self
            .db
            .get()?
            .query_row(
                "SELECT id, digest, created, size, config, manifest, layers FROM images WHERE id = ?1",
                [id],
                read_image_row,
            )
            .optional()?
            .ok_or_else(|| ImageError::NotKnown(id.to_string()))?;
        let mut names = self
            .db
            .get()?
            .prepare("SELECT name FROM names WHERE image_id = ?1 ORDER BY rowid")?;
        image.names = names
            .query_map([id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(image)
    }

    /// Finds an image by full or short name, full ID, or unique ID prefix (`sha256:` optional).
    pub fn resolve(&self, name_or_id: &str) -> Result<Image, ImageError> {
        let hex = name_or_id.strip_prefix("sha256:").unwrap_or(name_or_id);
        if !hex.is_empty()
            && hex.len() <= 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            let mut statement = self
                .db
                .get()?
                .prepare("SELECT id FROM images WHERE id >= ?1 AND id < ?2 LIMIT 2")?;
            let upper = format!("{hex}\u{7f}");
            let ids: Vec<String> = statement
                .query_map([hex, upper.as_str()], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            match ids.as_slice() {
                [one] => return self.get(one),
                [_, _, ..] if name_or_id.len() >= 3 => {
                    return Err(ImageError::Ambiguous(name_or_id.to_string()));
                }
                _ => {}
            }
        }
        let reference = Reference::parse(name_or_id)
            .map_err(|_| ImageError::NotKnown(name_or_id.to_string()))?;
        if let Some(id) = self
            .db
            .get()?
            .query_row(
                "SELECT image_id FROM names WHERE name = ?1",
                [reference.normalized()],
                |r| r.get::<_, String>(0),
            )
            .optional()?
        {
            return self.get(&id);
        }
        let mut statement = self
            .db
            .get()?
            .prepare("SELECT name, image_id FROM names ORDER BY rowid")?;
        let mut matches: Vec<String> = statement
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .filter_map(Result::ok)
            .filter(|(name, _)| reference.matches(name))
            .map(|(_, id)| id)
            .collect();
        matches.dedup();
        match matches.as_slice() {
            [one] => self.get(one),
            [] => Err(ImageError::NotKnown(name_or_id.to_string())),
            _ => Err(ImageError::Ambiguous(name_or_id.to_string())),
        }
    }

    /// Adds a name to an image, taking it from any image that had it.
    /// Gives `image` the name (taken from another image that has it). Names keep the order
    /// they were given in, as Podman lists them: tagging with a name it has changes nothing.
    pub fn tag(&mut self, image: &Image, name: &Reference) -> Result<(), ImageError> {
        let conn = self.db.get()?;
        conn.execute(
            "DELETE FROM names WHERE name = ?1 AND image_id != ?2",
            params![name.normalized(), image.id],
        )?;
        conn.execute(
            "INSERT OR IGNORE INTO names (name, image_id) VALUES (?1, ?2)",
            params![name.normalized(), image.id],
        )?;
        record_names(conn, &image.id)?;
        Ok(())
    }

    /// Removes one name. Returns false if the image did not have it.
    pub fn untag(&mut self, image: &Image, name: &Reference) -> Result<bool, ImageError> {
        let conn = self.db.get()?;
        let changed = conn.execute(
            "DELETE FROM names WHERE name = ?1 AND image_id = ?2",
            params![name.normalized(), image.id],
        )?;
        record_names(conn, &image.id)?;
        Ok(changed > 0)
    }

    /// Deletes an image record and every layer no image uses. The caller holds
    /// `write_lock` and has checked that no container uses the image.
    pub fn remove(&mut self, image: &Image, _lock: &FileLock) -> Result<(), ImageError> {
        let tx = self
            .db
            .get_mut()?
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM names WHERE image_id = ?1", [&image.id])?;
        tx.execute("DELETE FROM names_history WHERE image_id = ?1", [&image.id])?;
        tx.execute("DELETE FROM images WHERE id = ?1", [&image.id])?;
        tx.commit()?;
        self.collect_layers()
    }

    /// Deletes every stored layer no image lists. The caller holds `write_lock`.
    fn collect_layers(&mut self) -> Result<(), ImageError> {
        // Every stored layer no image lists goes, including those of a removal killed earlier.
        let still_used: Vec<String> = self.list()?.into_iter().flat_map(|i| i.layers).collect();
        for diff_id in self.layers.list()? {
            if !still_used.contains(&diff_id) {
                self.layers.remove(&diff_id)?;
                self.db
                    .get()?
                    .execute("DELETE FROM layer_sizes WHERE diff_id = ?1", [&diff_id])?;
            }
        }
        Ok(())
    }
}

/// Notes that the image holds its current names now (see `Image::names_history`).
fn record_names(conn: &rusqlite::Connection, image_id: &str) -> rusqlite::Result<()> {
    let now = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    conn.execute(
        "INSERT INTO names_history (image_id, name, seen) SELECT image_id, name, ?2 FROM names WHERE image_id = ?1 ON CONFLICT (image_id, name) DO UPDATE SET seen = excluded.seen",
        params![image_id, now],
    )?;
    Ok(())
}

fn read_image_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Image> {
    Ok(Image {
        id: row.get(0)?,
        digest: row.get(1)?,
        created: row
            .get::<_, String>(2)?
            .parse()
            .unwrap_or_else(|_| DateTime::<Utc>::from_timestamp(0, 0).unwrap_or_default()),
        size: row.get::<_, i64>(3)? as u64,
        config: row.get(4)?,
        manifest: row.get(5)?,
        layers: Vec::new(),
        names: Vec::new(),
        names_history: Vec::new(),
    })
    .and_then(|mut image| {
        let layers: String = row.get(6)?;
        image.layers = serde_json::from_str(&layers).unwrap_or_default();
        Ok(image)
    })
}

/// GOARCH-style name of this machine, as image configs record it.
pub fn oci_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_pinned_by_digest_show_only_without_tags() {
        let image = |names: &[&str]| Image {
            id: "0".repeat(64),
            names: names.iter().map(|n| n.to_string()).collect(),
            digest: String::new(),
            created: Utc::now(),
            size: 0,
            layers: Vec::new(),
            names_history: Vec::new(),
            config: String::new(),
            manifest: String::new(),
        };
        let pinned = "quay.io/x/y@sha256:abc";
        assert_eq!(
            image(&["quay.io/x/y:1", pinned]).repository_tags(),
            [("quay.io/x/y".to_string(), "1".to_string())]
        );
        assert_eq!(
            image(&[pinned]).repository_tags(),
            [("quay.io/x/y".to_string(), "<none>".to_string())]
        );
        assert_eq!(
            image(&[]).repository_tags(),
            [("<none>".to_string(), "<none>".to_string())]
        );
    }

    #[test]
    fn changes_parse_like_dockerfile_instructions() {
        assert_eq!(
            Change::parse("CMD [\"sh\"]").unwrap(),
            Change::Cmd(vec!["sh".into()])
        );
        assert_eq!(
            Change::parse("CMD=echo hi").unwrap(),
            Change::Cmd(vec!["/bin/sh".into(), "-c".into(), "echo hi".into()])
        );
        assert_eq!(
            Change::parse("ENV A=1").unwrap(),
            Change::Env("A".into(), "1".into())
        );
        assert!(Change::parse("FROM x").is_err());
        assert!(Change::parse("CMD [oops").is_err());
    }
}
