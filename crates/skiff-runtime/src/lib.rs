//! skiff-runtime runs OCI bundles and watches them: an `OciRuntime` backend creates and starts
//! the container (youki's libcontainer in process by default, or any runc-compatible binary),
//! and the monitor, the container's parent for its whole life, reaps it, writes its logs in
//! Podman's k8s-file format and records its exit code in an exit file.
#![deny(unsafe_code)]

mod backend;
mod error;
pub mod exit_file;
pub mod monitor;
pub mod process;

pub use backend::{ContainerStdio, EmbeddedRuntime, ExternalRuntime, OciRuntime, runtime_for};
pub use error::RuntimeError;
