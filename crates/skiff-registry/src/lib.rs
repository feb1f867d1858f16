//! skiff-registry speaks the Docker Registry HTTP API v2 (the OCI distribution spec): manifests and
//! blobs up and down, the Docker token protocol and Basic auth, and the credentials file
//! (`auth.json`) that `login` writes and every other command reads. It knows nothing of local
//! storage; skiff-image decides what to fetch and where it goes.
#![deny(unsafe_code)]

mod client;
mod credentials;
mod error;
mod manifest;
mod registries;

pub use client::{Client, ClientOptions, FetchedManifest, RepositoryRef};
pub use credentials::{AuthFile, Credentials, registry_of_key};
pub use error::RegistryError;
pub use manifest::{
    Descriptor, Index, Manifest, Platform, media_type, parse_platform, select_manifest,
};
pub use registries::{Mirror, RegistriesConf, RegistryEntry, ShortName};
