//! `create` and `run` from create options, the same steps for every front end: validate the
//! options, replace a container of the same name when asked, find or pull the image under the
//! pull policy, register the container; `run` then starts it and removes a `--rm` container
//! whose start failed.
use serde::{Deserialize, Serialize};
use skiff_image::TransferEvent;
use skiff_spec::CreateOptions;

use super::lifecycle::{Created, StartMode};
use crate::engine::Engine;
use crate::error::{EngineError, IoContext};
use crate::registry::{PullOptions, PullPolicy, RegistryOptions};

/// A container to create: what the user asked for and how to find its image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewContainer {
    pub options: CreateOptions,
    pub name: Option<String>,
    /// `--replace`: remove a container of the same name first.
    #[serde(default)]
    pub replace: bool,
    #[serde(default = "missing")]
    pub pull: PullPolicy,
    /// `--platform` of a pull.
    #[serde(default)]
    pub platform: Option<String>,
    /// How to reach registries (the CLI's flags; other front ends use registries.conf).
    #[serde(skip)]
    pub registry: RegistryOptions,
    /// `--cidfile`: a file that must not exist, given the new container's ID.
    #[serde(default)]
    pub cidfile: Option<std::path::PathBuf>,
    /// The command line that asked for it (the CLI's), kept for `generate systemd --new`.
    #[serde(default)]
    pub create_command: Vec<String>,
}

fn missing() -> PullPolicy {
    PullPolicy::Missing
}

impl NewContainer {
    pub fn new(options: CreateOptions) -> Self {
        Self {
            options,
            name: None,
            replace: false,
            pull: PullPolicy::Missing,
            platform: None,
            registry: RegistryOptions::default(),
            cidfile: None,
            create_command: Vec::new(),
        }
    }
}

/// Creates an ID file (`--cidfile`, `--pod-id-file`) that must not exist yet (Podman's
/// message when it does); `noun` is what the ID is of.
pub(crate) fn claim_id_file(
    path: &std::path::Path,
    noun: &str,
) -> Result<(std::fs::File, std::path::PathBuf), EngineError> {
    match std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => Ok((file, path.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(EngineError::Conflict(format!(
                "{noun} id file exists. Ensure another {noun} is not using it or delete {}",
                path.display()
            )))
        }
        Err(e) => Err(EngineError::InvalidArgument(format!(
            "{}: {e}",
            path.display()
        ))),
    }
}

/// Writes the new object's ID into the claimed file, or removes the file when there is none.
pub(crate) fn fill_id_file(
    claimed: Option<(std::fs::File, std::path::PathBuf)>,
    id: Option<&str>,
) -> Result<(), EngineError> {
    match (claimed, id) {
        (Some((mut file, path)), Some(id)) => {
            use std::io::Write;
            file.write_all(id.as_bytes()).io("write", path)
        }
        (Some((_, path)), None) => {
            let _ = std::fs::remove_file(path);
            Ok(())
        }
        (None, _) => Ok(()),
    }
}

/// `--sdnotify container` under a `Type=notify` unit: the unit's socket is mounted into the
/// container, which tells systemd itself when it is ready.
fn pass_notify_socket(spec: &mut skiff_spec::ContainerSpec) {
    use crate::notify::{CONTAINER_SOCKET, NOTIFY_SOCKET};
    let Some(socket) = crate::environment::var(NOTIFY_SOCKET) else {
        return;
    };
    // An abstract socket cannot be mounted: only skiff's own messages reach it.
    if spec.sdnotify != skiff_spec::SdNotify::Container || !socket.starts_with('/') {
        return;
    }
    spec.mounts.push(skiff_spec::MountSpec::Bind {
        source: socket,
        destination: CONTAINER_SOCKET.into(),
        options: Vec::new(),
    });
    spec.env.push(format!("{NOTIFY_SOCKET}={CONTAINER_SOCKET}"));
}

impl Engine {
    /// `create`: the container `new` asks for. Nothing is removed or pulled when the options
    /// are invalid.
    pub fn create_from(
        &mut self,
        new: &NewContainer,
        progress: &(dyn Fn(TransferEvent) + Sync),
    ) -> Result<Created, EngineError> {
        let mut spec = new.options.to_spec(self.default_network_mode())?;
        spec.create_command = new.create_command.clone();
        pass_notify_socket(&mut spec);
        // Claimed before anything is made, so two creates cannot share one.
        let cidfile = match &new.cidfile {
            Some(path) => Some(claim_id_file(path, "container")?),
            None => None,
        };
        let created = self.create_claimed(new, spec, progress);
        fill_id_file(cidfile, created.as_ref().ok().map(|c| c.id.as_str()))?;
        created
    }

    fn create_claimed(
        &mut self,
        new: &NewContainer,
        mut spec: skiff_spec::ContainerSpec,
        progress: &(dyn Fn(TransferEvent) + Sync),
    ) -> Result<Created, EngineError> {
        if new.replace
            && let Some(name) = &new.name
        {
            match self.remove_container(name, true) {
                Ok(_) | Err(EngineError::NoSuchContainer(_)) => {}
                Err(err) => return Err(err),
            }
        }
        let pull = PullOptions {
            registry: new.registry.clone(),
            platform: new.platform.clone(),
        };
        // `--requires`: the containers by ID, which must exist (before any pull).
        for required in &mut spec.requires {
            *required = self.containers.lookup(required)?.id;
        }
        if spec.rootfs.is_none() {
            spec.image = self.image_for_run(&new.options.image, new.pull, &pull, progress)?;
        }
        let Some(pod) = &new.options.pod else {
            return self.create_container_as(spec, new.name.as_deref(), Some(&new.options.image));
        };
        // A pod member: `--pod new:NAME` makes the pod, which goes again if the member fails.
        let mut options = new.options.clone();
        let pod = self.pod_for_member(pod, &mut options)?;
        let made = options.pod != new.options.pod;
        let created = (|| {
            if made {
                let image = std::mem::take(&mut spec.image);
                spec = options.to_spec(self.default_network_mode())?;
                spec.image = image;
                spec.create_command = new.create_command.clone();
            }
            self.join_pod(&mut spec, &pod, &options)?;
            self.create_container_as(spec, new.name.as_deref(), Some(&options.image))
        })();
        if created.is_err() && made {
            let _ = self.remove_pod(&pod.id, true, Some(0));
        }
        created
    }

    /// `run`'s start of the container it created: as `start_container`, and a container
    /// created with `--rm` does not outlive a start that failed. `remove_image` (`--rmi`, with
    /// `--rm` only): once the container is gone, the image as the user named it is removed
    /// (as `rmi` does: one of several names is untagged) unless another container uses it.
    pub fn run_created(
        &mut self,
        id: &str,
        mode: StartMode,
        remove_image: Option<&str>,
    ) -> Result<i32, EngineError> {
        // Looked up only off the start path: before it for --rmi, after a failed start.
        let removed_with_rm = |engine: &Self| {
            engine
                .containers
                .lookup(id)
                .is_ok_and(|record| record.spec.remove)
        };
        if remove_image.is_some() && !removed_with_rm(self) {
            // Refused before it ran: the container made for it goes.
            let _ = self.remove_container(id, true);
            return Err(EngineError::InvalidArgument(
                "the --rmi option does not work without --rm".into(),
            ));
        }
        let attached = matches!(mode, StartMode::Attached { .. });
        let started = self.start_container(id, mode);
        if started.is_err() && removed_with_rm(self) {
            let _ = self.remove_container(id, true);
        }
        if let Some(image) = remove_image
            && (started.is_err() || attached)
        {
            match self.remove_image(image, false) {
                Ok(_) | Err(EngineError::ImageInUse(..) | EngineError::Conflict(_)) => {}
                Err(err) if err.is_no_such_image() => {}
                Err(err) => return Err(err),
            }
        }
        started
    }
}
