//! Every environment variable skiff reads, in one place.

/// Base directory for a rootless user's storage (default `~/.local/share`).
pub const XDG_DATA_HOME: &str = "XDG_DATA_HOME";
/// Base directory for a rootless user's runtime state.
pub const XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";
pub const HOME: &str = "HOME";
/// Overrides the graph root, like `--root`.
pub const SKIFF_ROOT: &str = "SKIFF_ROOT";
/// Overrides the runtime state directory, like `--runroot`.
pub const SKIFF_RUNROOT: &str = "SKIFF_RUNROOT";
/// Overrides the storage driver, like `--storage-driver`.
pub const SKIFF_STORAGE_DRIVER: &str = "SKIFF_STORAGE_DRIVER";
/// Overrides the OCI runtime, like `--runtime`.
pub const SKIFF_RUNTIME: &str = "SKIFF_RUNTIME";
/// Set by skiff itself once it runs inside its rootless user namespace.
pub const SKIFF_USERNS: &str = "_SKIFF_USERNS";
/// Set by `skiff unshare` for its command: a skiff run there keeps its mounts in that
/// command's namespaces (`skiff mount` works rootless).
pub const SKIFF_UNSHARE: &str = "_SKIFF_UNSHARE";
/// Path of the `skiff-monitor` program (default: beside `skiff`, or ../libexec/skiff).
pub const SKIFF_MONITOR: &str = "SKIFF_MONITOR";
/// The invoking user's name, for /etc/subuid lookups when inside the user namespace.
pub const USER: &str = "USER";

/// The most one layer may unpack to (`10G`, `512m`, bytes): larger ones are refused and
/// removed (decompression bombs). Unset: no cap, as Podman.
pub const SKIFF_MAX_LAYER_SIZE: &str = "SKIFF_MAX_LAYER_SIZE";

/// `SKIFF_MAX_LAYER_SIZE` in bytes (k, m, g, t: powers of 1024), if set.
pub fn max_layer_size() -> Result<Option<u64>, String> {
    let Some(text) = var(SKIFF_MAX_LAYER_SIZE) else {
        return Ok(None);
    };
    let lower = text.trim().to_ascii_lowercase();
    let digits = lower.trim_end_matches(['b', 'k', 'm', 'g', 't']);
    let unit = &lower[digits.len()..];
    let multiplier: u64 = match unit.trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => 0,
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .filter(|n| *n > 0)
        .map(Some)
        .ok_or_else(|| {
            format!("{SKIFF_MAX_LAYER_SIZE}={text:?}: expected a size such as 10G or 512m")
        })
}

/// Every variable above.
const ALL: [&str; 18] = [
    SKIFF_MAX_LAYER_SIZE,
    XDG_DATA_HOME,
    XDG_RUNTIME_DIR,
    HOME,
    SKIFF_ROOT,
    SKIFF_RUNROOT,
    SKIFF_STORAGE_DRIVER,
    SKIFF_RUNTIME,
    SKIFF_USERNS,
    SKIFF_UNSHARE,
    SKIFF_MONITOR,
    USER,
    XDG_CONFIG_HOME,
    REGISTRY_AUTH_FILE,
    DOCKER_CONFIG,
    CONTAINERS_REGISTRIES_CONF,
    CONTAINERS_CONF,
    SOURCE_DATE_EPOCH,
];

/// Refuses a variable skiff reads whose value is not UTF-8, naming it: `var` would otherwise
/// take it as unset and quietly use a default (another storage root, say).
pub fn check_utf8() -> Result<(), String> {
    match ALL
        .iter()
        .find(|name| matches!(std::env::var(name), Err(std::env::VarError::NotUnicode(_))))
    {
        Some(name) => Err(format!("environment variable {name} is not valid UTF-8")),
        None => Ok(()),
    }
}

pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}
/// Base directory for a user's configuration (default `~/.config`).
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// The credentials file, like `--authfile` (Podman's name).
pub const REGISTRY_AUTH_FILE: &str = "REGISTRY_AUTH_FILE";
/// Docker's configuration directory; its config.json is read for credentials.
pub const DOCKER_CONFIG: &str = "DOCKER_CONFIG";
/// Replaces registries.conf (Podman's name).
pub const CONTAINERS_REGISTRIES_CONF: &str = "CONTAINERS_REGISTRIES_CONF";
/// Replaces containers.conf (Podman's name).
pub const CONTAINERS_CONF: &str = "CONTAINERS_CONF";
/// A remote Podman service's URL (Podman's name); skiff runs locally only.
pub const CONTAINER_HOST: &str = "CONTAINER_HOST";
/// A named remote Podman connection (Podman's name); skiff runs locally only.
pub const CONTAINER_CONNECTION: &str = "CONTAINER_CONNECTION";
/// Reproducible builds: the created time of built images and of the files they add.
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";
