//! Errors of the image store. "image not known" is its own variant so callers can match on it.
use crate::reference::ReferenceError;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{0}: image not known")]
    NotKnown(String),
    #[error("{0}: more than one image matches; use a longer ID or the full name")]
    Ambiguous(String),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Storage(#[from] skiff_storage::StorageError),
    #[error("image database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("image config: {0}")]
    Config(#[from] serde_json::Error),
    #[error("invalid --change {0:?}: {1}")]
    InvalidChange(String, &'static str),
    #[error(transparent)]
    Registry(#[from] skiff_registry::RegistryError),
    #[error("{0}")]
    Inconsistent(String),
    #[error("{0}")]
    InvalidArchive(String),
    #[error("unknown manifest format {0:?} (expected oci or v2s2)")]
    InvalidFormat(String),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}
