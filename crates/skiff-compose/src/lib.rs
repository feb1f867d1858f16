//! skiff-compose runs Compose files as `docker compose` v2 does, over the engine API: a
//! `project` is loaded (files found, merged, interpolated), each service becomes the same
//! `CreateOptions` as `run` (`options`), and `lifecycle` brings the project up and down.
#![deny(unsafe_code)]

mod lifecycle;
pub mod model;
mod options;
mod project;

pub use lifecycle::UpOptions;
pub use options::{PROJECT_LABEL, SERVICE_LABEL};
pub use project::{Project, ProjectOptions};
