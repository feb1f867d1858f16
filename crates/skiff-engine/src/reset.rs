//! `system reset`: everything skiff stored goes, as after a fresh install. What runs is
//! stopped first, then pods, containers, images, volumes and networks are removed through
//! their own removals (so their leases, forwards, bridges and host-wide claims are given back),
//! and last the storage directories themselves.
use std::fs;
use std::path::Path;

use crate::engine::Engine;
use crate::error::EngineError;

impl Engine {
    /// Removes every pod, container, image, volume and network but the default one, then the
    /// store's directories. Goes on past a failure and reports every failure at the end; a
    /// second reset finishes what the first could not.
    pub fn reset(mut self) -> Result<(), EngineError> {
        let mut errors = Vec::new();
        let mut note = |result: Result<String, EngineError>| match result {
            Ok(_) | Err(EngineError::NoSuchContainer(_) | EngineError::NoSuchPod(_)) => {}
            Err(e) => errors.push(e.to_string()),
        };
        for pod in self.containers.list_pods()? {
            note(self.remove_pod(&pod.id, true, Some(0)));
        }
        for record in self.containers.list()? {
            note(self.remove_container_and_volumes(&record.id, true, true));
        }
        if !self.options.rootless || crate::rootless::in_unshare() {
            for mounted in self.mounted_images()? {
                note(
                    self.unmount_image(&mounted.id, true)
                        .map(Option::unwrap_or_default),
                );
            }
        }
        for image in self.images.list()? {
            note(
                self.remove_image_entirely(&image.id, true)
                    .map(|_| String::new()),
            );
        }
        for volume in self.list_volumes()? {
            note(self.remove_volume(&volume.name, true));
        }
        for network in self.list_networks()? {
            if network.network.name != skiff_network::DEFAULT_NETWORK {
                note(self.remove_network(&network.network.name, true));
            }
        }
        if !errors.is_empty() {
            return Err(EngineError::Cleanup(errors));
        }
        crate::rootless_netns::stop_holder(&self.options.runroot);
        let volumes = self.volume_dir();
        let options = self.options.clone();
        drop(self);
        for dir in [&volumes, &options.root, &options.runroot] {
            remove_tree(dir)?;
        }
        Ok(())
    }
}

/// Removes a directory and everything below it; gone already is fine.
fn remove_tree(dir: &Path) -> Result<(), EngineError> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(EngineError::Cleanup(vec![format!(
                "removing {}: {e}",
                dir.display()
            )]))
        }
        _ => Ok(()),
    }
}
