//! skiff-build turns a Containerfile/Dockerfile and a context directory into an image: its own
//! parser (heredocs included), Docker's variable and quoting rules, ignore files, and an
//! executor that runs each step through the engine with a layer cache.
#![deny(unsafe_code)]

mod context;
pub mod dockerfile;
mod executor;
pub mod patterns;
mod request;
pub mod sources;
pub mod words;

pub use context::StreamContext;
pub use executor::{BuildError, BuildOptions, Squash, build};
pub use request::{BuildRequest, build_args, run_request, timestamp_or_source_date_epoch};
