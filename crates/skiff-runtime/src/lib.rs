//! skiff-runtime runs OCI bundles: an `OciRuntime` backend creates and starts the container
//! (youki's libcontainer in process by default, or any runc-compatible binary), and `process`
//! tells whether a container's process is still the one that was started.
#![deny(unsafe_code)]

mod backend;
mod error;
pub mod exec;
pub mod process;
pub mod sealed;
pub mod socket;

pub use backend::{
    ContainerStdio, EmbeddedRuntime, ExternalRuntime, OciRuntime, is_embedded, remove_cgroup,
    remove_state, runtime_for,
};
pub use error::RuntimeError;
