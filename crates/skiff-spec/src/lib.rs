//! skiff-spec holds `ContainerSpec`, the intermediate form every front end (CLI flags, the REST
//! API, kube YAML, compose files) produces, and turns it into an OCI runtime `config.json` with
//! defaults as strict as Podman's: its capabilities, masked and read-only paths, seccomp profile.
#![deny(unsafe_code)]

mod capabilities;
mod container;
mod create;
mod error;
mod health;
mod limits;
mod mounts;
mod oci;
mod pod;
mod seccomp;
mod user;
mod userns;

pub use capabilities::{
    ALL_CAPABILITIES, DEFAULT_CAPABILITIES, capability_set, current_bounding_set,
    normalize_capability,
};
pub use container::{
    ContainerSpec, ExternalRootfs, ImageVolumes, LogConfig, MountSpec, NamespaceMode,
    NetworkAttachment, NetworkMode, PortMapping, RestartPolicy, SdNotify, SeccompChoice,
    SecretTarget, SecretUse, SlirpOptions, SystemdMode,
};
pub use create::{CreateOptions, environment_entries, parse_memory};
pub use error::SpecError;
pub use health::{HealthAction, HealthCheck, parse_go_duration};
pub use limits::{DeviceLimit, LimitOptions, Limits, Ulimit, parse_bytes, parse_id_list};
pub use mounts::{parse_mount, parse_tmpfs, parse_volume, valid_volume_name};
pub use oci::{HostFiles, RuntimeContext, VOLUME_DATA, annotations, generate};
pub use pod::{PodCgroup, PodOptions, PodSpec, Share};
pub use seccomp::{DEFAULT_PROFILE, profile_to_oci};
pub use user::{
    KEEP_GROUPS, ResolvedUser, add_groups, add_groups_in, read_container_file, resolve_user,
    resolve_user_with,
};
pub use userns::{IdMapping, UserNamespace, maps_id, own_id_maps};
