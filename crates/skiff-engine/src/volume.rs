//! Named volumes, beside containers in the engine: `<volume dir>/<name>/volume.json` (what
//! `volume inspect` shows) and `<volume dir>/<name>/_data` (the contents, Podman's layout).
//!
//! A volume exists once its `volume.json` is there: the name is claimed by making the
//! directory (atomic), the record is written to a temporary file and renamed into place, and a
//! directory without a record is a create that died half-way, which a later create of that
//! name takes over. A volume is used by the containers whose specs mount it (the container
//! database is the one truth); anonymous volumes (`-v /dst`) go with their container when it
//! is removed with `-v` or `--rm`. The image's files at the mount point are copied into an
//! empty volume the first time a container starts with it (unless `nocopy`).
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use skiff_spec::{MountSpec, VOLUME_DATA, valid_volume_name};

use crate::engine::Engine;
use crate::error::{EngineError, IoContext};

const RECORD: &str = "volume.json";

/// What `volume create` asks for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeCreate {
    /// None: a random name (64 hex digits, as Podman).
    pub name: Option<String>,
    /// `--driver`: only `local`.
    pub driver: Option<String>,
    /// `--label KEY=VALUE`.
    pub labels: BTreeMap<String, String>,
    /// `--opt KEY=VALUE` (kept; the local driver mounts nothing).
    pub options: BTreeMap<String, String>,
    /// `--ignore`: an existing volume of that name is no error.
    pub ignore: bool,
    /// Made for a container's `-v /dst`: removed with it.
    pub anonymous: bool,
}

/// A volume, as `volume inspect` shows it (Podman's field names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeReport {
    pub name: String,
    pub driver: String,
    pub mountpoint: String,
    pub created_at: DateTime<Utc>,
    pub labels: BTreeMap<String, String>,
    pub scope: String,
    pub options: BTreeMap<String, String>,
    pub anonymous: bool,
    /// The image's files are still to be copied in at the first start that mounts it.
    #[serde(rename = "NeedsCopyUp")]
    pub needs_copy_up: bool,
}

impl Engine {
    pub(crate) fn volume_dir(&self) -> PathBuf {
        self.options
            .volume_path
            .clone()
            .unwrap_or_else(|| self.options.root.join("volumes"))
    }

    /// `volume create`.
    pub fn create_volume(&self, request: &VolumeCreate) -> Result<VolumeReport, EngineError> {
        if let Some(driver) = &request.driver
            && driver != "local"
        {
            return Err(EngineError::InvalidArgument(format!(
                "volume driver {driver:?} is not supported: only the local driver is"
            )));
        }
        let name = match &request.name {
            Some(name) if !valid_volume_name(name) => {
                return Err(EngineError::InvalidArgument(format!(
                    "invalid volume name {name:?}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"
                )));
            }
            Some(name) => name.clone(),
            None => crate::names::random_id(),
        };
        let base = self.volume_dir();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&base)
            .io("create", &base)?;
        let dir = base.join(&name);
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if let Ok(existing) = self.volume(&name) {
                    if request.ignore {
                        return Ok(existing);
                    }
                    return Err(EngineError::Conflict(format!(
                        "volume with name {name} already exists: volume already exists"
                    )));
                }
                // A create or remove that died half-way: this create starts the volume over.
                let stale = dir.join(VOLUME_DATA);
                if stale.exists() {
                    fs::remove_dir_all(&stale).io("remove", &stale)?;
                }
            }
            Err(e) => return Err(e).io("create", &dir),
        }
        let data = dir.join(VOLUME_DATA);
        match fs::DirBuilder::new().mode(0o755).create(&data) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).io("create", &data),
        }
        let report = VolumeReport {
            name: name.clone(),
            driver: "local".into(),
            mountpoint: data.display().to_string(),
            created_at: Utc::now(),
            labels: request.labels.clone(),
            scope: "local".into(),
            options: request.options.clone(),
            anonymous: request.anonymous,
            needs_copy_up: true,
        };
        write_record(&dir, &report)?;
        Ok(report)
    }

    /// `volume inspect NAME`.
    pub fn volume(&self, name: &str) -> Result<VolumeReport, EngineError> {
        if !valid_volume_name(name) {
            return Err(EngineError::NoSuchVolume(name.to_string()));
        }
        let path = self.volume_dir().join(name).join(RECORD);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(EngineError::NoSuchVolume(name.to_string()));
            }
            Err(e) => return Err(e).io("read", &path),
        };
        Ok(serde_json::from_str(&text)?)
    }

    /// `volume ls`: every volume, by name.
    pub fn list_volumes(&self) -> Result<Vec<VolumeReport>, EngineError> {
        let base = self.volume_dir();
        let entries = match fs::read_dir(&base) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).io("read", &base),
        };
        let mut volumes: Vec<VolumeReport> = entries
            .flatten()
            .filter_map(|entry| self.volume(&entry.file_name().to_string_lossy()).ok())
            .collect();
        volumes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(volumes)
    }

    /// The IDs of the containers that mount volume `name`.
    pub fn volume_users(&self, name: &str) -> Result<Vec<String>, EngineError> {
        Ok(self
            .containers
            .list()?
            .into_iter()
            .filter(|record| {
                record
                    .spec
                    .mounts
                    .iter()
                    .any(|m| matches!(m, MountSpec::Volume { name: n, .. } if n == name))
            })
            .map(|record| record.id)
            .collect())
    }

    /// `volume rm`: with `force`, the containers using it go first.
    pub fn remove_volume(&mut self, name: &str, force: bool) -> Result<String, EngineError> {
        let volume = self.volume(name)?;
        let users = self.volume_users(&volume.name)?;
        if !users.is_empty() {
            if !force {
                return Err(EngineError::VolumeInUse(volume.name, users.join(", ")));
            }
            for user in users {
                self.remove_container(&user, true)?;
            }
        }
        self.delete_volume(&volume.name)?;
        Ok(volume.name)
    }

    /// `volume prune`: every volume no container uses.
    pub fn prune_volumes(&mut self) -> Result<Vec<String>, EngineError> {
        let mut removed = Vec::new();
        for volume in self.list_volumes()? {
            if self.volume_users(&volume.name)?.is_empty() {
                self.delete_volume(&volume.name)?;
                removed.push(volume.name);
            }
        }
        Ok(removed)
    }

    /// Removes a volume's record first (it is gone from then on), then its files.
    fn delete_volume(&self, name: &str) -> Result<(), EngineError> {
        let dir = self.volume_dir().join(name);
        let record = dir.join(RECORD);
        fs::remove_file(&record).io("remove", &record)?;
        fs::remove_dir_all(&dir).io("remove", &dir)
    }

    /// At create: names anonymous volumes and makes the named ones that do not exist yet.
    pub(crate) fn prepare_volumes(&self, mounts: &mut [MountSpec]) -> Result<(), EngineError> {
        for mount in mounts {
            let MountSpec::Volume {
                name, anonymous, ..
            } = mount
            else {
                continue;
            };
            if *anonymous {
                *name = self
                    .create_volume(&VolumeCreate {
                        anonymous: true,
                        ..Default::default()
                    })?
                    .name;
            } else if let Err(EngineError::NoSuchVolume(_)) = self.volume(name) {
                self.create_volume(&VolumeCreate {
                    name: Some(name.clone()),
                    ignore: true,
                    ..Default::default()
                })?;
            }
        }
        Ok(())
    }

    /// At create, `--volumes-from CTR[:ro|rw]`: that container's volumes and bind mounts, in
    /// the mode given or their own, where the new container mounts nothing itself (its own
    /// mounts win, as in Podman). An anonymous volume stays until its last user goes.
    pub(crate) fn add_volumes_from(
        &self,
        spec: &mut skiff_spec::ContainerSpec,
    ) -> Result<(), EngineError> {
        for source in spec.volumes_from.clone() {
            let (name, mode) = source.split_once(':').unwrap_or((&source, ""));
            let record = self.containers.lookup(name)?;
            let forced = mode
                .split(',')
                .rfind(|option| matches!(*option, "ro" | "rw"));
            for mount in &record.spec.mounts {
                let mut mount = mount.clone();
                let (MountSpec::Bind { options, .. } | MountSpec::Volume { options, .. }) =
                    &mut mount
                else {
                    continue;
                };
                if let Some(forced) = forced {
                    options.retain(|o| o != "ro" && o != "rw");
                    options.push(forced.to_string());
                }
                if !spec
                    .mounts
                    .iter()
                    .any(|m| m.destination() == mount.destination())
                {
                    spec.mounts.push(mount);
                }
            }
        }
        Ok(())
    }

    /// At create, the image's VOLUME paths as `--image-volume` asks: an anonymous volume each
    /// (filled from the image at the first start, gone with the container's `--rm` or `rm -v`),
    /// a tmpfs, or nothing; where the container mounts nothing itself.
    pub(crate) fn add_image_volumes(
        &self,
        spec: &mut skiff_spec::ContainerSpec,
        image: &oci_spec::image::ImageConfiguration,
    ) -> Result<(), EngineError> {
        let Some(paths) = image.config().as_ref().and_then(|c| c.volumes().clone()) else {
            return Ok(());
        };
        for path in paths {
            let path = match path.trim_end_matches('/') {
                "" => "/",
                trimmed => trimmed,
            };
            if spec.mounts.iter().any(|m| m.destination() == path) {
                continue;
            }
            spec.mounts.push(match spec.image_volume {
                skiff_spec::ImageVolumes::Anonymous => skiff_spec::parse_volume(path)?,
                skiff_spec::ImageVolumes::Tmpfs => skiff_spec::parse_tmpfs(path)?,
                skiff_spec::ImageVolumes::Ignore => continue,
            });
        }
        Ok(())
    }

    /// The anonymous volumes of a removed container (`rm -v`, `--rm`), unless another
    /// container uses them too.
    pub(crate) fn remove_anonymous_volumes(&self, mounts: &[MountSpec]) {
        for mount in mounts {
            if let MountSpec::Volume {
                name,
                anonymous: true,
                ..
            } = mount
                && self.volume_users(name).is_ok_and(|users| users.is_empty())
            {
                let _ = self.delete_volume(name);
            }
        }
    }

    /// Before a container starts (in the starting child, its root filesystem mounted): the
    /// image's files at each volume's mount point are copied into a volume that has never
    /// been mounted and is empty, keeping owners and modes (as Podman's copy-up).
    pub(crate) fn copy_up_volumes(
        &self,
        mounts: &[MountSpec],
        rootfs: &Path,
    ) -> Result<(), EngineError> {
        for mount in mounts {
            let MountSpec::Volume {
                name,
                destination,
                options,
                ..
            } = mount
            else {
                continue;
            };
            let mut volume = self.volume(name)?;
            if !volume.needs_copy_up {
                continue;
            }
            let data = PathBuf::from(&volume.mountpoint);
            let empty = fs::read_dir(&data)
                .map(|mut entries| entries.next().is_none())
                .unwrap_or(false);
            if empty && !options.iter().any(|o| o == "nocopy") {
                let source = crate::monitor::resolve_in_root(rootfs, destination);
                if let Some(source) = source.filter(|s| s.is_dir()) {
                    copy_tree(&source, &data).io("copy into volume", &data)?;
                    // The volume's root takes the mount point's owner and mode.
                    let meta = fs::symlink_metadata(&source).io("stat", &source)?;
                    std::os::unix::fs::lchown(&data, Some(meta.uid()), Some(meta.gid()))
                        .io("chown", &data)?;
                    fs::set_permissions(&data, fs::Permissions::from_mode(meta.mode() & 0o7777))
                        .io("chmod", &data)?;
                }
            }
            volume.needs_copy_up = false;
            write_record(&self.volume_dir().join(name), &volume)?;
        }
        Ok(())
    }
}

/// Writes a volume's record whole or not at all.
fn write_record(dir: &Path, report: &VolumeReport) -> Result<(), EngineError> {
    let path = dir.join(RECORD);
    let temporary = dir.join(format!(".{RECORD}.{}", std::process::id()));
    let mut file = fs::File::create(&temporary).io("create", &temporary)?;
    file.write_all(&serde_json::to_vec_pretty(report)?)
        .and_then(|()| file.sync_all())
        .io("write", &temporary)?;
    fs::rename(&temporary, &path).io("rename", &path)
}

/// Copies a directory tree (not following links) with owners, modes and times of files.
/// The source is an image's files in a container that has not started: nothing changes it.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let meta = fs::symlink_metadata(&source)?;
        let kind = meta.file_type();
        if kind.is_dir() {
            fs::create_dir(&target)?;
            copy_tree(&source, &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&source)?, &target)?;
        } else if kind.is_file() {
            fs::copy(&source, &target)?;
        } else {
            // Devices, pipes and sockets are not volume contents.
            continue;
        }
        std::os::unix::fs::lchown(&target, Some(meta.uid()), Some(meta.gid()))?;
        if !kind.is_symlink() {
            fs::set_permissions(&target, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        }
    }
    Ok(())
}
