//! Errors of the layer store and of container root filesystems.
use std::path::PathBuf;

use crate::unpack::UnpackError;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(transparent)]
    Unpack(#[from] UnpackError),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("mount {target}: {source}")]
    Mount { target: PathBuf, source: nix::Error },
    #[error("unknown storage driver {0:?} (expected overlay or vfs)")]
    UnknownDriver(String),
    #[error("{what} digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        what: &'static str,
        expected: String,
        actual: String,
    },
    #[error(
        "layer {0} has no stored tar stream (it was stored before skiff kept them): pull or import it again"
    )]
    LayerStreamMissing(String),
    #[error("invalid digest {0:?}: expected sha256: and 64 lowercase hex digits")]
    InvalidDigest(String),
    #[error("the layer unpacks to more than {0} bytes, the maximum set by SKIFF_MAX_LAYER_SIZE")]
    LayerTooLarge(u64),
    #[error("layer {0} is not in the store")]
    LayerUnknown(String),
}

pub(crate) trait IoContext<T> {
    fn io(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T, StorageError>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn io(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T, StorageError> {
        self.map_err(|source| StorageError::Io {
            action,
            path: path.into(),
            source,
        })
    }
}
