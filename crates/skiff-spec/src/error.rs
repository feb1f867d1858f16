//! Errors in what the user asked for, named so the user can fix the flag.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("invalid volume {0:?}: {1}")]
    Volume(String, &'static str),
    #[error("invalid port mapping {0:?}: {1}")]
    Port(String, &'static str),
    #[error("invalid tmpfs {0:?}: {1}")]
    Tmpfs(String, &'static str),
    #[error("unknown capability {0:?}")]
    Capability(String),
    #[error("unable to find user {0}: no matching entries in passwd file")]
    UnknownUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    UnknownGroup(String),
    #[error("seccomp profile: {0}")]
    Seccomp(String),
    #[error("invalid env {0:?}: {1}")]
    Env(String, &'static str),
    #[error("invalid restart policy {0:?}: {1}")]
    RestartPolicy(String, &'static str),
    /// A create option or spec field that is wrong; the message names it.
    #[error("{0}")]
    Option(String),
    #[error("invalid OCI config: {0}")]
    Oci(#[from] serde_json::Error),
}
