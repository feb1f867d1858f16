//! Root filesystems mounted for a user: `skiff mount` (a container's), `skiff image mount` (an
//! image's layers, read-only), and the image mounts of containers (`--mount type=image`).
//!
//! A user's mount is made in the caller's mount namespace (the host's, as root) where the
//! container's own start would make it, so a start uses it as it is. How many users hold it is
//! counted beside it (`RootfsLayout::mount_count`): the last `umount`, or `umount -f`, unmounts
//! it, and a container's start and cleanup leave a held mount alone. A running container's
//! root filesystem lives in its own mount namespace only; `skiff mount` gives it as
//! /proc/PID/root, which is its root with everything mounted in it.
use std::fs;
use std::path::PathBuf;

use skiff_spec::MountSpec;
use skiff_storage::RootfsLayout;
use skiff_storage::lock::FileLock;

use crate::container::store::{ContainerRecord, State};
use crate::engine::Engine;
use crate::error::{EngineError, IoContext};

/// A mounted container, as `skiff mount` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContainerMount {
    pub id: String,
    pub name: String,
    pub path: PathBuf,
}

/// A mounted image, as `skiff image mount` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageMount {
    pub id: String,
    pub repositories: Vec<String>,
    pub path: PathBuf,
}

/// What a container's files stand on.
pub(crate) struct ContainerBase {
    /// Its image's configuration (empty for `--rootfs`).
    pub config: oci_spec::image::ImageConfiguration,
    /// The layers below its own changes, base first.
    pub layers: Vec<PathBuf>,
    /// `--rootfs PATH` (without `:O`): the directory that is its root filesystem itself.
    pub directory: Option<PathBuf>,
}

impl Engine {
    /// A container's image, or its `--rootfs` directory: as the lower layer of its overlay
    /// with `:O`, as its root filesystem itself without.
    pub(crate) fn container_base(
        &self,
        record: &ContainerRecord,
    ) -> Result<ContainerBase, EngineError> {
        if let Some(rootfs) = &record.spec.rootfs {
            let path = PathBuf::from(&rootfs.path);
            return Ok(ContainerBase {
                config: Default::default(),
                layers: if rootfs.overlay {
                    vec![path.clone()]
                } else {
                    Vec::new()
                },
                directory: (!rootfs.overlay).then_some(path),
            });
        }
        let image = self.images.resolve(&record.image_id)?;
        Ok(ContainerBase {
            config: image.config()?,
            layers: self.images.layer_paths(&image)?,
            directory: None,
        })
    }

    /// `mount CTR`: mounts the container's root filesystem for the user (once more if it is
    /// mounted) and says where.
    pub fn mount_container(&self, name: &str) -> Result<ContainerMount, EngineError> {
        self.refuse_rootless_mount("mount")?;
        let record = self.containers.lookup(name)?;
        let _lock = self.container_lock(&record.id)?;
        let record = self.refresh(self.containers.lookup(&record.id)?)?;
        let layout = self.layout(&record.id, &record.driver);
        let base = self.container_base(&record)?;
        if let Some(directory) = base.directory {
            // `--rootfs`: its files are that directory's.
            return Ok(ContainerMount {
                id: record.id.clone(),
                name: record.name.clone(),
                path: directory,
            });
        }
        if !is_running(&record) {
            layout.mount(&base.layers, self.opaque)?;
        }
        layout.set_mount_count(layout.mount_count() + 1)?;
        self.emit_container(&record, "mount", None);
        Ok(self.container_mount(&record, &layout))
    }

    /// `umount CTR`: gives up one user's mount (every one with `force`); the last unmounts.
    /// A running container is left alone, as Podman does. Returns the ID of what was
    /// unmounted.
    pub fn unmount_container(
        &self,
        name: &str,
        force: bool,
    ) -> Result<Option<String>, EngineError> {
        self.refuse_rootless_mount("umount")?;
        let record = self.containers.lookup(name)?;
        let _lock = self.container_lock(&record.id)?;
        let record = self.refresh(self.containers.lookup(&record.id)?)?;
        if is_running(&record) {
            return Ok(None);
        }
        let layout = self.layout(&record.id, &record.driver);
        let left = if force {
            0
        } else {
            layout.mount_count().saturating_sub(1)
        };
        layout.set_mount_count(left)?;
        if left == 0 {
            layout.unmount()?;
        }
        self.emit_container(&record, "unmount", None);
        Ok(Some(record.id))
    }

    /// `mount` without arguments: the containers a user mounted.
    pub fn mounted_containers(&self) -> Result<Vec<ContainerMount>, EngineError> {
        self.refuse_rootless_mount("mount")?;
        let mut mounted = Vec::new();
        for record in self.containers.list()? {
            let layout = self.layout(&record.id, &record.driver);
            if layout.mount_count() > 0 {
                let record = self.refresh(record)?;
                mounted.push(self.container_mount(&record, &layout));
            }
        }
        Ok(mounted)
    }

    /// Whether a user holds this container's root filesystem mounted: its start and cleanup
    /// then leave the mount as it is.
    pub(crate) fn user_mounted(&self, record: &ContainerRecord) -> bool {
        self.layout(&record.id, &record.driver).mount_count() > 0
    }

    fn container_mount(&self, record: &ContainerRecord, layout: &RootfsLayout) -> ContainerMount {
        let path = match (is_running(record), layout.is_mounted()) {
            (true, false) => PathBuf::from(format!("/proc/{}/root", record.pid)),
            _ => layout.rootfs(),
        };
        ContainerMount {
            id: record.id.clone(),
            name: record.name.clone(),
            path,
        }
    }

    /// `image mount IMAGE`: the image's files, read-only, mounted once more for the user.
    pub fn mount_image(&self, name: &str) -> Result<ImageMount, EngineError> {
        self.refuse_rootless_mount("image mount")?;
        let image = self.images.resolve(name)?;
        let _lock = self.image_mount_lock(&image.id)?;
        let layout = self.image_layout(&image.id);
        let path = layout.mount_read_only(&self.images.layer_paths(&image)?, self.opaque)?;
        layout.set_mount_count(layout.mount_count() + 1)?;
        self.emit_image("mount", &image.id, name);
        Ok(ImageMount {
            id: image.id.clone(),
            repositories: image.names.clone(),
            path,
        })
    }

    /// `image umount IMAGE`: gives up one user's mount (every one with `force`); the last
    /// unmounts. Returns the image's ID when it was mounted.
    pub fn unmount_image(&self, name: &str, force: bool) -> Result<Option<String>, EngineError> {
        self.refuse_rootless_mount("image umount")?;
        let image = self.images.resolve(name)?;
        let _lock = self.image_mount_lock(&image.id)?;
        let layout = self.image_layout(&image.id);
        let count = layout.mount_count();
        if count == 0 && !layout.is_mounted() {
            return Ok(None);
        }
        let left = if force { 0 } else { count.saturating_sub(1) };
        if left == 0 {
            layout.remove()?;
        } else {
            layout.set_mount_count(left)?;
        }
        self.emit_image("unmount", &image.id, name);
        Ok(Some(image.id.clone()))
    }

    /// Before an image is removed: its files a user mounted are unmounted, as Podman's
    /// storage does when it deletes a mounted layer.
    pub(crate) fn release_image_mount(&self, id: &str) -> Result<(), EngineError> {
        let _lock = self.image_mount_lock(id)?;
        let layout = self.image_layout(id);
        if layout.mount_count() == 0 && !layout.is_mounted() {
            return Ok(());
        }
        Ok(layout.remove()?)
    }

    /// `image mount` without arguments: the images that are mounted.
    pub fn mounted_images(&self) -> Result<Vec<ImageMount>, EngineError> {
        self.refuse_rootless_mount("image mount")?;
        let dir = self.image_mounts_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).io("read", &dir),
        };
        let mut mounted = Vec::new();
        for entry in entries.flatten() {
            let id = entry.file_name().to_string_lossy().into_owned();
            let layout = self.image_layout(&id);
            if layout.mount_count() == 0 {
                continue;
            }
            if let Ok(image) = self.images.resolve(&id) {
                mounted.push(ImageMount {
                    id,
                    repositories: image.names.clone(),
                    path: layout.rootfs(),
                });
            }
        }
        mounted.sort_by(|a, b| a.repositories.cmp(&b.repositories).then(a.id.cmp(&b.id)));
        Ok(mounted)
    }

    /// In the monitor, before the runtime: mounts the container's `--mount type=image` mounts
    /// (in its mount namespace, below its own directory; read-write ones keep their changes
    /// there) and counts each as a user of its image. Returns where they are, in the order
    /// of the spec's mounts.
    pub(crate) fn mount_image_volumes(
        &self,
        record: &ContainerRecord,
    ) -> Result<Vec<PathBuf>, EngineError> {
        let mut paths = Vec::new();
        for (index, (image_id, read_write)) in image_volumes(record).enumerate() {
            let image = self.images.resolve(image_id)?;
            let layers = self.images.layer_paths(&image)?;
            let layout = self.image_volume_layout(record, index);
            paths.push(if read_write {
                layout.mount(&layers, self.opaque)?
            } else {
                layout.mount_read_only(&layers, self.opaque)?
            });
            let _lock = self.image_mount_lock(&image.id)?;
            let counted = self.image_layout(&image.id);
            counted.set_mount_count(counted.mount_count() + 1)?;
        }
        Ok(paths)
    }

    /// Detaches the container's image mounts from this mount namespace (the container keeps
    /// its own): before its directory may go to the trash, and once it started.
    pub(crate) fn detach_image_volumes(&self, record: &ContainerRecord) {
        for index in 0..image_volumes(record).count() {
            let _ = self.image_volume_layout(record, index).unmount();
        }
    }

    /// After the container stopped: its image mounts are detached and no longer count as users
    /// of their images.
    pub(crate) fn release_image_volumes(&self, record: &ContainerRecord) {
        self.detach_image_volumes(record);
        for (image_id, _) in image_volumes(record) {
            let Ok(_lock) = self.image_mount_lock(image_id) else {
                continue;
            };
            let layout = self.image_layout(image_id);
            match layout.mount_count() {
                0 => {}
                1 if !layout.is_mounted() => {
                    let _ = layout.remove();
                }
                count => {
                    let _ = layout.set_mount_count(count - 1);
                }
            }
        }
    }

    /// What `skiff unshare` gives its command, rootless only (Podman's variables, and ours for
    /// the skiff it runs): the command runs in this process's namespaces.
    pub fn unshare_environment(&self) -> Result<Vec<(&'static str, String)>, EngineError> {
        if !self.options.rootless {
            return Err(EngineError::InvalidArgument(
                "please use unshare with rootless".into(),
            ));
        }
        Ok(vec![
            (
                "CONTAINERS_GRAPHROOT",
                self.options.root.display().to_string(),
            ),
            (
                "CONTAINERS_RUNROOT",
                self.options.runroot.display().to_string(),
            ),
            (crate::environment::SKIFF_UNSHARE, "1".to_string()),
        ])
    }

    fn image_volume_layout(&self, record: &ContainerRecord, index: usize) -> RootfsLayout {
        RootfsLayout::new(
            &self
                .container_dir(&record.id)
                .join("image-mounts")
                .join(index.to_string()),
            self.driver,
        )
    }

    fn image_mounts_dir(&self) -> PathBuf {
        self.options.root.join("image-mounts")
    }

    fn image_layout(&self, id: &str) -> RootfsLayout {
        RootfsLayout::new(&self.image_mounts_dir().join(id), self.driver)
    }

    fn image_mount_lock(&self, id: &str) -> Result<FileLock, EngineError> {
        let dir = self.options.runroot.join("locks");
        fs::create_dir_all(&dir).io("create", &dir)?;
        Ok(FileLock::exclusive(&dir.join(format!("image-mount-{id}")))?)
    }

    /// A rootless command runs in a mount namespace of its own that ends with it: a mount
    /// made there would be gone before the user could use it. In `skiff unshare`'s the mount
    /// lasts as long as that command.
    fn refuse_rootless_mount(&self, command: &str) -> Result<(), EngineError> {
        if self.options.rootless && !crate::rootless::in_unshare() {
            return Err(EngineError::InvalidArgument(format!(
                "cannot run command \"skiff {command}\" in rootless mode, must execute `skiff unshare` first"
            )));
        }
        Ok(())
    }
}

fn is_running(record: &ContainerRecord) -> bool {
    record.state == State::Running && record.pid > 0
}

/// The image mounts of a container: image ID and whether they are read-write.
fn image_volumes(record: &ContainerRecord) -> impl Iterator<Item = (&str, bool)> {
    record.spec.mounts.iter().filter_map(|mount| match mount {
        MountSpec::Image {
            image, read_write, ..
        } => Some((image.as_str(), *read_write)),
        _ => None,
    })
}
