//! `create` and `run` from create options, the same steps for every front end: validate the
//! options, replace a container of the same name when asked, find or pull the image under the
//! pull policy, register the container; `run` then starts it and removes a `--rm` container
//! whose start failed.
use serde::{Deserialize, Serialize};
use skiff_image::TransferEvent;
use skiff_spec::CreateOptions;

use super::lifecycle::{Created, StartMode};
use crate::engine::Engine;
use crate::error::EngineError;
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
        }
    }
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
        spec.image = self.image_for_run(&new.options.image, new.pull, &pull, progress)?;
        self.create_container(spec, new.name.as_deref())
    }

    /// `run`'s start of the container it created: as `start_container`, and a container
    /// created with `--rm` does not outlive a start that failed.
    pub fn run_created(&mut self, id: &str, mode: StartMode) -> Result<i32, EngineError> {
        let started = self.start_container(id, mode);
        if started.is_err()
            && let Ok(record) = self.containers.lookup(id)
            && record.spec.remove
        {
            let _ = self.remove_container(id, true);
        }
        started
    }
}
