//! skiff's Docker-compatible REST API (`skiff system service`): the Docker Engine API over
//! a Unix socket or a loopback TCP port, for the docker CLI, docker-compose and docker-py.
//! A thin layer over the engine: reads open the engine in a blocking thread, anything that
//! forks or enters namespaces runs in an action helper (`skiff_engine::action`); errors map
//! to HTTP statuses in one place (`error`), Docker's JSON shapes live in `docker`.
#![deny(unsafe_code)]
#![recursion_limit = "256"]

mod attach;
mod body;
mod build;
mod containers;
mod create;
mod docker;
mod error;
mod events;
mod exec;
mod files;
mod images;
mod networks;
mod pages;
mod pods;
mod routes;
mod service;
mod system;
mod volumes;
mod websocket;

pub use docker::{API_VERSION, MIN_API_VERSION};
pub use error::ApiError;
pub use pages::{Page, Pages};
pub use routes::ApiOptions;
pub use service::{Address, ServiceOptions, default_socket, serve};
