//! What can go wrong talking to a registry, in words that tell the user what to do next.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{registry}: unauthorized: authentication required (run `skiff login {registry}`)")]
    Unauthorized { registry: String },
    #[error("logging into {registry:?}: invalid username/password")]
    LoginFailed { registry: String },
    #[error("{registry}: access denied to {repository}")]
    Denied {
        registry: String,
        repository: String,
    },
    #[error("reading manifest {reference} in {repository}: manifest unknown")]
    ManifestUnknown {
        repository: String,
        reference: String,
    },
    #[error("{repository}: blob {digest} unknown to the registry")]
    BlobUnknown { repository: String, digest: String },
    #[error(
        "{registry}: TLS verification failed: {detail} (use --tls-verify=false for a registry without valid TLS)"
    )]
    Tls { registry: String, detail: String },
    #[error("{registry}: cannot connect: {detail}")]
    Unreachable { registry: String, detail: String },
    #[error("{registry}: {what}: HTTP {status}{message}")]
    Status {
        registry: String,
        what: String,
        status: u16,
        message: String,
    },
    #[error("{what}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("{0}")]
    InvalidManifest(String),
    #[error("no image for platform {wanted} in the manifest list (it has: {available})")]
    NoMatchingPlatform { wanted: String, available: String },
    #[error("invalid platform {0:?}: expected os/arch[/variant]")]
    InvalidPlatform(String),
    #[error("credentials file {path}: {detail}")]
    AuthFile { path: String, detail: String },
    #[error("{path}: {detail}")]
    RegistriesConf { path: String, detail: String },
    #[error(
        "short-name {name:?} did not resolve to an alias and no unqualified-search registries are defined in {path:?}"
    )]
    ShortName { name: String, path: String },
    #[error("registry {0} is blocked in registries.conf")]
    Blocked(String),
    #[error("{registry}: {detail}")]
    Transfer { registry: String, detail: String },
}
