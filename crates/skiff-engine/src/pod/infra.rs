//! The infra image: what a pod's infra container runs when the user names no image. As
//! Podman's `localhost/podman-pause`, it is made here from the host's catatonit (a static
//! binary) the first time a pod needs it, with no registry.
use std::path::Path;

use skiff_image::{Change, ImportOptions};
use skiff_storage::lock::FileLock;

use crate::container::lifecycle::{CATATONIT_PATHS, first_file};
use crate::engine::Engine;
use crate::error::{EngineError, IoContext};

/// Podman's name for its infra image, so scripts that look for it find it.
pub const INFRA_IMAGE_REPOSITORY: &str = "localhost/podman-pause";

/// A layer holding `/catatonit`.
fn layer_with(binary: &Path) -> Result<Vec<u8>, EngineError> {
    let data = std::fs::read(binary).io("read", binary)?;
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o755);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    builder
        .append_data(&mut header, "catatonit", data.as_slice())
        .and_then(|()| builder.into_inner())
        .io("pack", binary)
}

impl Engine {
    /// The infra image's name, made now if it does not exist: named as Podman names its own,
    /// for this skiff's version and build (`version --format '{{.Server.Version}}-{{.Server.Built}}'`).
    pub(crate) fn infra_image(&mut self) -> Result<String, EngineError> {
        let version = crate::info::VersionReport::current();
        let name = format!(
            "{INFRA_IMAGE_REPOSITORY}:{}-{}",
            version.version, version.built
        );
        if self.images.resolve(&name).is_ok() {
            return Ok(name);
        }
        let catatonit = first_file(CATATONIT_PATHS).ok_or_else(|| {
            EngineError::InvalidArgument(
                "the infra container needs catatonit: install it, or give --infra-image".into(),
            )
        })?;
        if self.images.resolve(&name).is_ok() {
            return Ok(name);
        }
        // One process makes it; the others find it made.
        let _lock = FileLock::exclusive(&self.options.root.join("infra-image.lock"))?;
        if self.images.resolve(&name).is_ok() {
            return Ok(name);
        }
        let layer = layer_with(&catatonit)?;
        let options = ImportOptions {
            changes: vec![Change::Entrypoint(vec!["/catatonit".into(), "-P".into()])],
            message: Some("skiff's pod infra image".into()),
        };
        self.import_image(layer.as_slice(), Some(&name), &options)?;
        Ok(name)
    }
}
