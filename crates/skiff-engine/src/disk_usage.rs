//! What the store holds and what removing unused things would give back: `system df`, with
//! Podman's accounting (an image's unique size is its layers no other image has; a
//! container's size is what it changed; a volume is reclaimable when no container mounts it).
use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;
use skiff_spec::MountSpec;

use crate::engine::Engine;
use crate::error::EngineError;

/// One name of an image (an image with two tags is two of these, as in Podman).
#[derive(Debug, Clone, Serialize)]
pub struct ImageUsage {
    pub repository: String,
    pub tag: String,
    pub image_id: String,
    pub created: DateTime<Utc>,
    pub size: u64,
    pub shared_size: u64,
    pub unique_size: u64,
    /// Containers made from it.
    pub containers: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContainerUsage {
    pub container_id: String,
    pub image: String,
    pub command: Vec<String>,
    /// Named volumes it mounts.
    pub local_volumes: usize,
    /// Bytes it changed (its overlay upper directory; for vfs its whole copy).
    pub rw_size: u64,
    pub created: DateTime<Utc>,
    /// created, running or exited.
    pub status: String,
    pub names: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct VolumeUsage {
    pub volume_name: String,
    /// Containers that mount it.
    pub links: usize,
    pub size: u64,
    pub reclaimable_size: u64,
}

/// `system df`: every image name, container and volume with its sizes.
#[derive(Debug, Clone, Serialize)]
pub struct DiskUsage {
    /// Bytes of all layers, each counted once.
    pub images_size: u64,
    pub images: Vec<ImageUsage>,
    pub containers: Vec<ContainerUsage>,
    pub volumes: Vec<VolumeUsage>,
}

/// One line of `system df`: images, containers or local volumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageSummary {
    pub kind: &'static str,
    pub total: usize,
    pub active: usize,
    pub size: u64,
    pub reclaimable: u64,
}

impl DiskUsage {
    /// Podman's three summary lines: an image is active with a container, and only the unique
    /// size of active images stays; a running container is active and a stopped one's size is
    /// reclaimable; a volume's links count as active.
    pub fn summary(&self) -> [UsageSummary; 3] {
        let mut seen = HashSet::new();
        let (mut active_images, mut used) = (0, 0);
        for image in &self.images {
            if seen.insert(&image.image_id) && image.containers > 0 {
                active_images += 1;
                used += image.unique_size;
            }
        }
        let running = self.containers.iter().filter(|c| c.status == "running");
        let container_size: u64 = self.containers.iter().map(|c| c.rw_size).sum();
        let running_size: u64 = running.clone().map(|c| c.rw_size).sum();
        [
            UsageSummary {
                kind: "Images",
                total: self.images.len(),
                active: active_images,
                size: self.images_size,
                reclaimable: self.images_size.saturating_sub(used),
            },
            UsageSummary {
                kind: "Containers",
                total: self.containers.len(),
                active: running.count(),
                size: container_size,
                reclaimable: container_size - running_size,
            },
            UsageSummary {
                kind: "Local Volumes",
                total: self.volumes.len(),
                active: self.volumes.iter().map(|v| v.links).sum(),
                size: self.volumes.iter().map(|v| v.size).sum(),
                reclaimable: self.volumes.iter().map(|v| v.reclaimable_size).sum(),
            },
        ]
    }
}

impl DiskUsage {
    /// What removing these containers, volumes and images gives back, by this account made
    /// before: their sizes (an image's unique size).
    pub fn reclaimed_by(
        &self,
        containers: &[String],
        volumes: &[String],
        images: &[String],
    ) -> u64 {
        let removed =
            |list: &[String], id: &str| list.iter().any(|r| id.starts_with(r.as_str()) || r == id);
        let mut seen = HashSet::new();
        let images: u64 = self
            .images
            .iter()
            .filter(|i| removed(images, &i.image_id) && seen.insert(&i.image_id))
            .map(|i| i.unique_size)
            .sum();
        let containers: u64 = self
            .containers
            .iter()
            .filter(|c| removed(containers, &c.container_id))
            .map(|c| c.rw_size)
            .sum();
        let volumes: u64 = self
            .volumes
            .iter()
            .filter(|v| volumes.contains(&v.volume_name))
            .map(|v| v.size)
            .sum();
        images + containers + volumes
    }
}

impl Engine {
    /// `system df`.
    pub fn disk_usage(&self) -> Result<DiskUsage, EngineError> {
        let images = self.images.list()?;
        let records: Vec<_> = self
            .containers
            .list()?
            .into_iter()
            .map(|record| self.refresh(record))
            .collect::<Result<_, _>>()?;
        let mut layer_users: HashMap<&str, usize> = HashMap::new();
        for image in &images {
            let distinct: HashSet<&str> = image.layers.iter().map(String::as_str).collect();
            for layer in distinct {
                *layer_users.entry(layer).or_default() += 1;
            }
        }
        let layer_size =
            |diff_id: &str| -> u64 { self.images.layer_size(diff_id).ok().flatten().unwrap_or(0) };
        let images_size = layer_users.keys().map(|layer| layer_size(layer)).sum();
        let mut image_rows = Vec::new();
        for image in &images {
            let distinct: HashSet<&str> = image.layers.iter().map(String::as_str).collect();
            let size: u64 = distinct.iter().map(|layer| layer_size(layer)).sum();
            let unique: u64 = distinct
                .iter()
                .filter(|layer| layer_users.get(*layer) == Some(&1))
                .map(|layer| layer_size(layer))
                .sum();
            let containers = records.iter().filter(|r| r.image_id == image.id).count();
            for (repository, tag) in image.repository_tags() {
                image_rows.push(ImageUsage {
                    repository,
                    tag,
                    image_id: image.id.clone(),
                    created: image.created,
                    size,
                    shared_size: size - unique,
                    unique_size: unique,
                    containers,
                });
            }
        }
        let mut configs = HashMap::new();
        let mut containers = Vec::new();
        for record in records {
            let layout = self.layout(&record.id, &record.driver);
            let changed = layout.upper().unwrap_or_else(|| layout.rootfs());
            let local_volumes = record
                .spec
                .mounts
                .iter()
                .filter(|m| matches!(m, MountSpec::Volume { .. }))
                .count();
            let status = record.state.as_str().to_string();
            let report = self.report(record, &mut configs)?;
            containers.push(ContainerUsage {
                container_id: report.record.id.clone(),
                image: report.record.image_id.clone(),
                command: report.command.clone(),
                local_volumes,
                rw_size: tree_size(&changed),
                created: report.record.created,
                status,
                names: report.record.name.clone(),
            });
        }
        let mut volumes = Vec::new();
        for volume in self.list_volumes()? {
            let links = self.volume_users(&volume.name)?.len();
            let size = tree_size(Path::new(&volume.mountpoint));
            volumes.push(VolumeUsage {
                volume_name: volume.name,
                links,
                size,
                reclaimable_size: if links == 0 { size } else { 0 },
            });
        }
        Ok(DiskUsage {
            images_size,
            images: image_rows,
            containers,
            volumes,
        })
    }
}

/// The bytes of the files below `path` (a file with several links once), as `du -b` counts
/// them without directories; nothing for a missing path.
pub(crate) fn tree_size(path: &Path) -> u64 {
    fn walk(path: &Path, seen: &mut HashSet<(u64, u64)>) -> u64 {
        let Ok(meta) = fs::symlink_metadata(path) else {
            return 0;
        };
        if meta.is_dir() {
            return fs::read_dir(path)
                .map(|entries| {
                    entries
                        .flatten()
                        .map(|entry| walk(&entry.path(), seen))
                        .sum()
                })
                .unwrap_or(0);
        }
        if meta.nlink() > 1 && !seen.insert((meta.dev(), meta.ino())) {
            return 0;
        }
        meta.len()
    }
    walk(path, &mut HashSet::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_counts_files_once() {
        let dir = std::env::temp_dir().join(format!("skiff-tree-size-{}", std::process::id()));
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("a"), vec![0u8; 1000]).unwrap();
        fs::write(dir.join("sub/b"), vec![0u8; 24]).unwrap();
        fs::hard_link(dir.join("a"), dir.join("sub/a-again")).unwrap();
        std::os::unix::fs::symlink("a", dir.join("link")).unwrap();
        assert_eq!(tree_size(&dir), 1000 + 24 + 1);
        assert_eq!(tree_size(&dir.join("missing")), 0);
        fs::remove_dir_all(&dir).unwrap();
    }

    fn usage(containers: Vec<ContainerUsage>) -> DiskUsage {
        let image = |id: &str, tag: &str, unique, users| ImageUsage {
            repository: "r".into(),
            tag: tag.into(),
            image_id: id.into(),
            created: Utc::now(),
            size: 100,
            shared_size: 100 - unique,
            unique_size: unique,
            containers: users,
        };
        DiskUsage {
            images_size: 160,
            // Image a has two names and one container; b none.
            images: vec![
                image("a", "1", 60, 1),
                image("a", "2", 60, 1),
                image("b", "1", 0, 0),
            ],
            containers,
            volumes: vec![
                VolumeUsage {
                    volume_name: "used".into(),
                    links: 2,
                    size: 10,
                    reclaimable_size: 0,
                },
                VolumeUsage {
                    volume_name: "free".into(),
                    links: 0,
                    size: 5,
                    reclaimable_size: 5,
                },
            ],
        }
    }

    #[test]
    fn the_summary_adds_up_as_podman_does() {
        let container = |status: &str, size| ContainerUsage {
            container_id: "c".into(),
            image: "a".into(),
            command: vec![],
            local_volumes: 0,
            rw_size: size,
            created: Utc::now(),
            status: status.into(),
            names: "n".into(),
        };
        let [images, containers, volumes] =
            usage(vec![container("running", 7), container("exited", 3)]).summary();
        assert_eq!((images.total, images.active), (3, 1));
        assert_eq!((images.size, images.reclaimable), (160, 100));
        assert_eq!((containers.total, containers.active), (2, 1));
        assert_eq!((containers.size, containers.reclaimable), (10, 3));
        assert_eq!((volumes.total, volumes.active), (2, 2));
        assert_eq!((volumes.size, volumes.reclaimable), (15, 5));
    }
}
