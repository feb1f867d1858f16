//! skiff-compose runs Compose files as `docker compose` v2 does, over the engine API: a
//! `project` is loaded (files found, merged, interpolated), each service becomes the same
//! `CreateOptions` as `run` (`options`), and `lifecycle` brings the project up and down.
#![deny(unsafe_code)]

mod assemble;
mod events;
mod images;
mod lifecycle;
pub mod model;
mod options;
mod project;
mod schema;

pub use events::ServiceEvent;
pub use images::{BuildFlags, ImagePolicy};
pub use lifecycle::{
    DownOptions, ProjectSummary, RemoveImages, RunOverrides, ServiceAction, UpOptions, UpOutput,
    is_oneoff, list_projects, parse_scale, service_of,
};
pub use options::{HASH_LABEL, NUMBER_LABEL, ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL};
pub use project::{Project, ProjectOptions};
