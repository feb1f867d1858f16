//! `image copy SRC DST`: Skopeo's copy built in, between the transports it names —
//! `docker://` (a registry), `containers-storage:` (skiff's own store), `oci:` (an OCI layout
//! directory), `oci-archive:` and `docker-archive:` (tar files). The image passes through the
//! local store; when it was not there before and the destination is elsewhere, it is removed
//! again afterwards.
use std::path::PathBuf;

use skiff_image::TransferEvent;

use crate::archive::SaveTarget;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::image::ImageReport;
use crate::registry::{PullOptions, PushOptions};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    Registry(String),
    Local(String),
    OciDir(PathBuf, Option<String>),
    OciArchive(PathBuf, Option<String>),
    DockerArchive(PathBuf, Option<String>),
}

impl Location {
    fn parse(input: &str) -> Result<Self, EngineError> {
        let (transport, rest) = input
            .split_once(':')
            .ok_or_else(|| unknown_transport(input))?;
        let path_and_name = |rest: &str| -> (PathBuf, Option<String>) {
            match rest.split_once(':') {
                Some((path, name)) if !name.is_empty() => {
                    (PathBuf::from(path), Some(name.to_string()))
                }
                _ => (PathBuf::from(rest), None),
            }
        };
        let location = match transport {
            "docker" => Location::Registry(
                rest.strip_prefix("//")
                    .ok_or_else(|| unknown_transport(input))?
                    .to_string(),
            ),
            "containers-storage" => Location::Local(rest.to_string()),
            "oci" => {
                let (path, name) = path_and_name(rest);
                Location::OciDir(path, name)
            }
            "oci-archive" => {
                let (path, name) = path_and_name(rest);
                Location::OciArchive(path, name)
            }
            "docker-archive" => {
                let (path, name) = path_and_name(rest);
                Location::DockerArchive(path, name)
            }
            _ => return Err(unknown_transport(input)),
        };
        Ok(location)
    }
}

impl Location {
    /// An image name that starts with a transport (`pull docker-archive:x.tar`, `run
    /// oci:/layout`): its location; None for a plain reference. `oci:` takes a path only (so
    /// an image named `oci:1` stays a reference).
    pub(crate) fn with_transport(name: &str) -> Option<Result<Self, EngineError>> {
        let prefixed = [
            "docker://",
            "docker-archive:",
            "oci-archive:",
            "containers-storage:",
        ]
        .iter()
        .any(|p| name.starts_with(p))
            || name.starts_with("oci:/")
            || name.starts_with("oci:.");
        prefixed.then(|| Self::parse(name))
    }
}

fn unknown_transport(input: &str) -> EngineError {
    EngineError::InvalidArgument(format!(
        "{input:?}: expected TRANSPORT:NAME with transport docker://, containers-storage:, oci:, oci-archive: or docker-archive:"
    ))
}

/// Options of `image copy`: each side has its own registry settings.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    pub source: PullOptions,
    pub destination: PushOptions,
}

impl Engine {
    /// Copies an image between transports; returns the ID of the image copied.
    pub fn copy_image(
        &mut self,
        source: &str,
        destination: &str,
        options: &CopyOptions,
        progress: &(dyn Fn(TransferEvent) + Sync),
    ) -> Result<String, EngineError> {
        let source = Location::parse(source)?;
        let destination = Location::parse(destination)?;
        let before: Vec<String> = self
            .list_images()?
            .into_iter()
            .map(|i| i.id().to_string())
            .collect();
        let image = self.fetch(&source, &options.source, progress)?;
        let id = image.id().to_string();
        let result = self.copy_to(&id, &image, &destination, options, progress);
        let temporary = !before.contains(&id) && !matches!(destination, Location::Local(_));
        if temporary {
            let _ = self.remove_image_entirely(&id, false);
        }
        result.map(|()| id)
    }

    /// The image at `source`, in the local store: pulled, loaded from an archive or layout
    /// (with a pull's progress), or already there.
    pub(crate) fn fetch(
        &mut self,
        source: &Location,
        options: &PullOptions,
        progress: &(dyn Fn(TransferEvent) + Sync),
    ) -> Result<ImageReport, EngineError> {
        let (path, name) = match source {
            Location::Local(name) => return self.image(name),
            Location::Registry(name) => return self.pull_image(name, options, progress),
            Location::OciDir(path, name)
            | Location::OciArchive(path, name)
            | Location::DockerArchive(path, name) => (path, name),
        };
        progress(TransferEvent::Started);
        let loaded = self.load_images(Some(path))?;
        let chosen = match name {
            Some(name) => loaded.into_iter().find(|i| {
                skiff_image::Reference::parse(name)
                    .is_ok_and(|r| i.image.names.iter().any(|n| r.matches(n)))
            }),
            None => loaded.into_iter().next(),
        };
        let image = chosen.ok_or_else(|| {
            EngineError::InvalidArgument(format!(
                "{}: no image{} in the archive",
                path.display(),
                name.as_ref()
                    .map(|n| format!(" named {n}"))
                    .unwrap_or_default()
            ))
        })?;
        for layer in &image.image.layers {
            progress(TransferEvent::Blob {
                digest: layer.clone(),
                skipped: false,
            });
        }
        progress(TransferEvent::Config {
            digest: image.id().to_string(),
        });
        progress(TransferEvent::WritingManifest);
        Ok(image)
    }

    fn copy_to(
        &mut self,
        id: &str,
        image: &crate::image::ImageReport,
        destination: &Location,
        options: &CopyOptions,
        progress: &(dyn Fn(TransferEvent) + Sync),
    ) -> Result<(), EngineError> {
        // Archives record a name: the one asked for, else the image's own.
        let name_for = |name: &Option<String>| -> String {
            name.clone()
                .or_else(|| image.image.names.first().cloned())
                .unwrap_or_else(|| id.to_string())
        };
        match destination {
            Location::Local(name) => self.tag_image(id, name),
            Location::Registry(name) => self
                .push_image(id, Some(name), &options.destination, progress)
                .map(drop),
            Location::OciDir(path, name) => {
                self.save_named(id, name_for(name), "oci-dir", SaveTarget::Path(path))
            }
            Location::OciArchive(path, name) => {
                self.save_named(id, name_for(name), "oci-archive", SaveTarget::Path(path))
            }
            Location::DockerArchive(path, name) => {
                self.save_named(id, name_for(name), "docker-archive", SaveTarget::Path(path))
            }
        }
    }

    /// Saves one image under `name`, tagging it so first when the name is new to it.
    fn save_named(
        &mut self,
        id: &str,
        name: String,
        format: &str,
        target: SaveTarget<'_>,
    ) -> Result<(), EngineError> {
        let name = &name;
        let image = self.image(id)?;
        let is_reference = skiff_image::Reference::parse(name).is_ok() && name != id;
        let added =
            is_reference
                && !image.image.names.iter().any(|n| {
                    skiff_image::Reference::parse(name).is_ok_and(|r| r.normalized() == *n)
                });
        if added {
            self.tag_image(id, name)?;
        }
        let result = self.save_images(std::slice::from_ref(name), format, target);
        if added {
            let _ = self.untag_image(id, name);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports_parse_like_skopeo() {
        assert_eq!(
            Location::parse("docker://127.0.0.1:5000/a:1").unwrap(),
            Location::Registry("127.0.0.1:5000/a:1".into())
        );
        assert_eq!(
            Location::parse("oci:/tmp/layout:app:1").unwrap(),
            Location::OciDir("/tmp/layout".into(), Some("app:1".into()))
        );
        assert_eq!(
            Location::parse("docker-archive:/tmp/a.tar").unwrap(),
            Location::DockerArchive("/tmp/a.tar".into(), None)
        );
        assert!(Location::parse("busybox").is_err());
        assert!(Location::parse("dir:/tmp/x").is_err());
        assert!(Location::parse("docker:busybox").is_err());
        assert!(Location::with_transport("busybox").is_none());
        assert!(Location::with_transport("oci:1").is_none());
        assert!(Location::with_transport("localhost:5000/a").is_none());
        assert_eq!(
            Location::with_transport("oci:/tmp/layout").map(Result::unwrap),
            Some(Location::OciDir("/tmp/layout".into(), None))
        );
        assert_eq!(
            Location::with_transport("docker://busybox").map(Result::unwrap),
            Some(Location::Registry("busybox".into()))
        );
    }
}
