//! Errors of the runtime backends and the monitor.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{0}")]
    Libcontainer(#[from] libcontainer::error::LibcontainerError),
    #[error("{runtime}: {message}")]
    External { runtime: String, message: String },
    #[error("OCI runtime {0:?} not found (give a name on $PATH or an absolute path)")]
    NotFound(String),
    /// A `--runtime-flag` the runtime does not define (the embedded runtime defines none).
    #[error("OCI runtime error: skiff (embedded runtime): flag provided but not defined: {0}")]
    UnknownFlag(String),
    #[error("{action}: {source}")]
    Io {
        action: String,
        source: std::io::Error,
    },
    #[error("{action}: {source}")]
    Sys {
        action: &'static str,
        source: nix::Error,
    },
}

impl RuntimeError {
    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        RuntimeError::Io {
            action: action.into(),
            source,
        }
    }
}
