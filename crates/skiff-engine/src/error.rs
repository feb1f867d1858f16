//! The engine's errors. "No such container", "name already in use", "image not known" are
//! variants callers match on: the CLI maps them to exit codes, the REST API to HTTP codes.
use skiff_image::ImageError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("no container with name or ID \"{0}\" found: no such container")]
    NoSuchContainer(String),
    #[error("no such object: \"{0}\"")]
    NoSuchObject(String),
    #[error(
        "the container name \"{0}\" is already in use by {1}. You have to remove that container to be able to reuse that name: that name is already in use"
    )]
    NameInUse(String, String),
    #[error("invalid container name {0:?}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")]
    InvalidName(String),
    #[error(
        "cannot remove container {0} as it is {1} - running or paused containers cannot be removed without force: container state improper"
    )]
    ContainerRunning(String, &'static str),
    #[error(
        "image used by {1}: image is in use by a container: consider listing external containers and force-removing image {0}"
    )]
    ImageInUse(String, String),
    #[error("{0}")]
    Image(#[from] ImageError),
    #[error("{0}")]
    Spec(#[from] skiff_spec::SpecError),
    #[error("{0}")]
    Storage(#[from] skiff_storage::StorageError),
    #[error("{0}")]
    Network(#[from] skiff_network::NetworkError),
    #[error(
        "\"{0}\" has associated containers with it. Use -f to forcibly delete containers and pods: network is being used"
    )]
    NetworkInUse(String),
    #[error("{0}")]
    Runtime(#[from] skiff_runtime::RuntimeError),
    #[error("container database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// The container could not start; carries the exit code to report (125, 126, 127).
    #[error("{1}")]
    StartFailed(i32, String),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("rootless: {0}")]
    Rootless(String),
    #[error("{0}")]
    InvalidArgument(String),
    /// The container is not in a state that allows the action (Podman: "container state improper").
    #[error("{0}: container state improper")]
    InvalidState(String),
    #[error("{action}: {source}")]
    System { action: String, source: nix::Error },
    #[error(
        "skiff-monitor not found beside {0} or in ../libexec/skiff (install it with install.sh)"
    )]
    MonitorNotFound(std::path::PathBuf),
    /// Cleanup goes on after an error and reports every one it met.
    #[error("{}", .0.join("; "))]
    Cleanup(Vec<String>),
}

impl EngineError {
    /// "image not known", for exit codes and HTTP 404s.
    pub fn is_no_such_image(&self) -> bool {
        matches!(self, EngineError::Image(ImageError::NotKnown(_)))
    }
}

pub(crate) trait IoContext<T> {
    fn io(
        self,
        action: &'static str,
        path: impl Into<std::path::PathBuf>,
    ) -> Result<T, EngineError>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn io(
        self,
        action: &'static str,
        path: impl Into<std::path::PathBuf>,
    ) -> Result<T, EngineError> {
        self.map_err(|source| EngineError::Io {
            action,
            path: path.into(),
            source,
        })
    }
}
