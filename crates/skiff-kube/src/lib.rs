//! skiff-kube translates between Kubernetes YAML and skiff's pods, containers and volumes, as
//! Podman's `kube generate`, `kube play` and `kube down` do, over the engine API: `generate`
//! reads the engine's reports, `play` turns YAML into the same pod and create options the CLI
//! gives (`objects` holds the Kubernetes fields both sides use).
#![deny(unsafe_code)]

mod build;
pub mod generate;
mod names;
pub mod objects;
pub mod play;
mod quantity;

pub use build::BuildPolicy;
pub use generate::{GenerateOptions, WorkloadKind, generate};
pub use play::{
    DownReport, PlayOptions, PlayReport, PlayRequest, PlayedPod, down, play, run_request, wait,
};
