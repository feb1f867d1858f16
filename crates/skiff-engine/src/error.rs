//! The engine's errors. "No such container", "name already in use", "image not known" are
//! variants callers match on: the CLI maps them to exit codes, the REST API to HTTP codes.
use skiff_image::ImageError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("no container with name or ID \"{0}\" found: no such container")]
    NoSuchContainer(String),
    #[error("no such object: \"{0}\"")]
    NoSuchObject(String),
    /// A path `cp` or the archive endpoints look for, on the host or in a container.
    #[error("{0}")]
    NoSuchPath(String),
    #[error("no volume with name \"{0}\" found: no such volume")]
    NoSuchVolume(String),
    #[error("no pod with name or ID {0} found: no such pod")]
    NoSuchPod(String),
    #[error("no secret with name or id \"{0}\": no such secret")]
    NoSuchSecret(String),
    #[error("adding pod to state: name \"{0}\" is in use: pod already exists")]
    PodExists(String),
    #[error("volume {0} is being used by the following container(s): {1}: volume is being used")]
    VolumeInUse(String, String),
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
        "image used by {1}: image is in use by a container: consider listing external containers and force-removing image"
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
    #[error("container database: {}", database_error(.0))]
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
    /// The request clashes with what exists: a port already published, a network already
    /// connected, dependent containers.
    #[error("{0}")]
    Conflict(String),
    /// What the forked child that starts a container reported, other than a runtime failure
    /// (`StartFailed`): its kind crossed the sync channel with it.
    #[error("{1}")]
    Child(ErrorKind, String),
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

/// What kind of failure an error is: what a caller matches on. The one mapping to Podman's
/// exit codes is [`EngineError::exit_code`], the one to HTTP statuses [`ErrorKind::http_status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// No such container, image, pod, volume or network.
    NotFound,
    /// A name in use, an object in use, a port already published, the wrong state.
    Conflict,
    /// Bad input, naming the flag or field.
    InvalidArgument,
    /// Not allowed: file permissions, registry credentials, user namespaces.
    Permission,
    /// Anything else: the runtime, the kernel, the disk.
    Runtime,
}

impl ErrorKind {
    const ALL: [ErrorKind; 5] = [
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::InvalidArgument,
        ErrorKind::Permission,
        ErrorKind::Runtime,
    ];

    /// The kind's one-word name (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::Permission => "permission",
            ErrorKind::Runtime => "runtime",
        }
    }

    /// The kind named `word`; an unknown word is a runtime failure.
    pub fn from_word(word: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == word)
            .unwrap_or(ErrorKind::Runtime)
    }

    /// The Docker/Podman REST API's status for this kind.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::InvalidArgument => 400,
            ErrorKind::Permission => 403,
            ErrorKind::Runtime => 500,
        }
    }
}

impl EngineError {
    /// "image not known", for exit codes and HTTP 404s.
    pub fn is_no_such_image(&self) -> bool {
        matches!(self, EngineError::Image(ImageError::NotKnown(_)))
    }

    pub fn kind(&self) -> ErrorKind {
        use skiff_network::NetworkError as N;
        use skiff_registry::RegistryError as R;
        match self {
            EngineError::NoSuchContainer(_)
            | EngineError::NoSuchObject(_)
            | EngineError::NoSuchPath(_)
            | EngineError::NoSuchVolume(_)
            | EngineError::NoSuchSecret(_)
            | EngineError::NoSuchPod(_) => ErrorKind::NotFound,
            EngineError::NameInUse(..)
            | EngineError::PodExists(_)
            | EngineError::ContainerRunning(..)
            | EngineError::ImageInUse(..)
            | EngineError::NetworkInUse(_)
            | EngineError::VolumeInUse(..)
            | EngineError::InvalidState(_)
            | EngineError::Conflict(_) => ErrorKind::Conflict,
            EngineError::InvalidName(_)
            | EngineError::InvalidArgument(_)
            | EngineError::Spec(_) => ErrorKind::InvalidArgument,
            EngineError::Rootless(_) => ErrorKind::Permission,
            EngineError::Child(kind, _) => *kind,
            EngineError::Io { source, .. }
                if source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                ErrorKind::Permission
            }
            EngineError::Network(error) => match error {
                N::NotFound(_) => ErrorKind::NotFound,
                N::Exists(_) | N::SubnetInUse(..) | N::AddressInUse(..) | N::DefaultNetwork(_) => {
                    ErrorKind::Conflict
                }
                N::InvalidName(_)
                | N::InvalidSubnet(_)
                | N::InvalidGateway(_)
                | N::Driver(_)
                | N::AddressOutside(..)
                | N::InvalidPort(..) => ErrorKind::InvalidArgument,
                _ => ErrorKind::Runtime,
            },
            EngineError::Image(error) => match error {
                ImageError::NotKnown(_) => ErrorKind::NotFound,
                ImageError::Ambiguous(_)
                | ImageError::Reference(_)
                | ImageError::InvalidChange(..)
                | ImageError::InvalidFormat(_) => ErrorKind::InvalidArgument,
                ImageError::Registry(R::ManifestUnknown { .. }) => ErrorKind::NotFound,
                ImageError::Registry(
                    R::Unauthorized { .. } | R::LoginFailed { .. } | R::Denied { .. },
                ) => ErrorKind::Permission,
                ImageError::Registry(R::InvalidPlatform(_) | R::NoMatchingPlatform { .. }) => {
                    ErrorKind::InvalidArgument
                }
                _ => ErrorKind::Runtime,
            },
            _ => ErrorKind::Runtime,
        }
    }

    /// The error a forked child reported on the sync channel.
    pub(crate) fn from_child(code: i32, kind: &str, message: String) -> Self {
        match ErrorKind::from_word(kind) {
            ErrorKind::Runtime => EngineError::StartFailed(code, message),
            kind => EngineError::Child(kind, message),
        }
    }

    /// Podman's exit code for a command that failed with this error: the code a container's
    /// program could not start with (126 not executable, 127 not found), else 125.
    pub fn exit_code(&self) -> i32 {
        match self {
            EngineError::StartFailed(code, _) => *code,
            // Podman's OCI runtime error: the runtime refused the command.
            EngineError::Runtime(skiff_runtime::RuntimeError::UnknownFlag(_)) => 126,
            _ => 125,
        }
    }

    /// The exit code of Podman's commands that remove or test for objects (`rm`, `rmi`,
    /// `exists`): 1 when the object does not exist, 2 when it is running or used by a
    /// container (Podman's ErrCtrStateInvalid and ErrImageUsedByContainer), else 125: other
    /// conflicts, such as dependent containers, keep 125 as in Podman.
    pub fn removal_exit_code(&self) -> i32 {
        match self {
            _ if self.kind() == ErrorKind::NotFound => 1,
            EngineError::ContainerRunning(..)
            | EngineError::InvalidState(_)
            | EngineError::ImageInUse(..)
            | EngineError::VolumeInUse(..) => 2,
            _ => self.exit_code(),
        }
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

/// SQLite's words, with its extended result code where it has one: "attempt to write a
/// readonly database" alone does not say which of its several causes it was.
fn database_error(error: &rusqlite::Error) -> String {
    match error {
        // An extended code is the primary one (its low byte) and more.
        rusqlite::Error::SqliteFailure(failure, _) if failure.extended_code > 0xff => {
            format!("{error} (SQLite code {})", failure.extended_code)
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_errors_name_sqlites_extended_code() {
        let moved = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY_DBMOVED),
            None,
        );
        let text = EngineError::Database(moved).to_string();
        assert!(
            text.starts_with("container database: ") && text.ends_with("(SQLite code 1032)"),
            "{text}"
        );
        let plain = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        );
        assert!(
            !EngineError::Database(plain)
                .to_string()
                .contains("SQLite code")
        );
    }

    #[test]
    fn kinds_map_once_to_exit_codes_and_http_statuses() {
        let cases: Vec<(EngineError, ErrorKind, i32, i32, u16)> = vec![
            (
                EngineError::NoSuchContainer("c".into()),
                ErrorKind::NotFound,
                125,
                1,
                404,
            ),
            (
                EngineError::Image(ImageError::NotKnown("i".into())),
                ErrorKind::NotFound,
                125,
                1,
                404,
            ),
            (
                EngineError::Network(skiff_network::NetworkError::NotFound("n".into())),
                ErrorKind::NotFound,
                125,
                1,
                404,
            ),
            (
                EngineError::NameInUse("a".into(), "b".into()),
                ErrorKind::Conflict,
                125,
                125,
                409,
            ),
            (
                EngineError::ContainerRunning("a".into(), "running"),
                ErrorKind::Conflict,
                125,
                2,
                409,
            ),
            (
                EngineError::ImageInUse("a".into(), "b".into()),
                ErrorKind::Conflict,
                125,
                2,
                409,
            ),
            (
                EngineError::Conflict("dependent containers".into()),
                ErrorKind::Conflict,
                125,
                125,
                409,
            ),
            (
                EngineError::InvalidArgument("--x".into()),
                ErrorKind::InvalidArgument,
                125,
                125,
                400,
            ),
            (
                EngineError::Rootless("no subuid".into()),
                ErrorKind::Permission,
                125,
                125,
                403,
            ),
            (
                EngineError::StartFailed(127, "nope".into()),
                ErrorKind::Runtime,
                127,
                127,
                500,
            ),
            (
                EngineError::Io {
                    action: "open",
                    path: "/x".into(),
                    source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
                },
                ErrorKind::Permission,
                125,
                125,
                403,
            ),
        ];
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_word(kind.as_str()), kind);
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
            let child = EngineError::from_child(125, kind.as_str(), "m".into());
            assert_eq!(child.kind(), kind);
            assert_eq!(child.exit_code(), 125);
        }
        assert!(matches!(
            EngineError::from_child(127, "runtime", "m".into()),
            EngineError::StartFailed(127, _)
        ));
        for (error, kind, exit, removal, status) in cases {
            assert_eq!(error.kind(), kind, "{error}");
            assert_eq!(error.exit_code(), exit, "{error}");
            assert_eq!(error.removal_exit_code(), removal, "{error}");
            assert_eq!(error.kind().http_status(), status, "{error}");
        }
    }
}
