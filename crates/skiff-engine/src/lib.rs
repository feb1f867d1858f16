//! skiff-engine is what skiff does, one method per user action, called alike by the CLI, the
//! REST API, kube play and compose. It owns the container database, ties the image store,
//! layer storage, spec generation and runtime together, and runs the per-container monitor.
#![deny(unsafe_code)]

pub mod action;
mod archive;
mod check;
mod container;
mod containers_conf;
mod copy;
mod disk_usage;
mod engine;
pub mod environment;
mod error;
mod events;
mod hostfiles;
mod image;
mod image_filter;
mod info;
pub mod interrupt;
pub mod log;
pub mod monitor;
mod mounts;
mod names;
pub mod network;
mod notify;
mod options;
mod pod;
mod registry;
mod reset;
pub mod rootless;
pub mod rootless_netns;
mod scope;
mod secret;
mod terminal;
mod volume;

pub use archive::{HistoryEntry, SaveTarget};
pub use check::{CheckOptions, CheckReport};
pub use container::commit::{ChangeKind, CommitOptions};
pub use container::cp::{CopyTarget, CpOptions};
pub use container::exec::ExecOptions;
pub use container::files::{ImageRoot, PathStat};
pub use container::filter::ContainerFilter;
pub use container::health::{HealthOutcome, HealthResult, HealthState};
pub use container::lifecycle::{AttachOptions, Created, StartMode};
pub use container::limits::UpdateOptions;
pub use container::logs::{LogLead, LogOptions, OpenLogs, parse_log_time};
pub use container::report::{ContainerReport, ContainerState};
pub use container::report::{go_time, human_duration};
pub use container::run::NewContainer;
pub use container::stats::{StatsSample, go_duration_text, go_human_size};
pub use container::top::ProcessTable;
pub use copy::CopyOptions;
pub use disk_usage::{ContainerUsage, DiskUsage, ImageUsage, UsageSummary, VolumeUsage};
pub use engine::Engine;
pub use error::{EngineError, ErrorKind};
pub use events::{Event, EventFilter, EventOptions, EventsBackend};
pub use image::{ImageRemoval, ImageReport, human_size};
pub use image_filter::ImageFilter;
pub use info::{InfoReport, VersionReport};
pub use mounts::{ContainerMount, ImageMount};
pub use names::random_id;
pub use network::{ContainerAddress, NetworkReport};
pub use options::{CgroupMode, StoreOptions};
pub use pod::NewPod;
pub use pod::report::{PodFilter, PodMember, PodReport, pod_status};
pub use registry::{PullOptions, PullPolicy, PushOptions, RegistryOptions};
pub use scope::{Opened, Scope};
pub use secret::{SecretCreate, SecretReport};
pub use skiff_image::TransferEvent;
pub use skiff_image::oci_architecture as machine_architecture;
pub use skiff_image::{Change, ChildImage, ImageError, ImportOptions, ManifestFormat};
pub use skiff_network::{
    CreateRequest as NetworkCreateRequest, DEFAULT_NETWORK, Network, NetworkError,
};
pub use skiff_registry::Credentials;
pub use skiff_spec::parse_go_duration;
pub use skiff_spec::{
    ContainerSpec, CreateOptions, LimitOptions, Limits, MountSpec, NetworkAttachment, NetworkMode,
    PodOptions, PortMapping, RestartPolicy, SeccompChoice, environment_entries, parse_memory,
    parse_tmpfs, parse_volume,
};
pub use skiff_spec::{ResolvedUser, normalize_capability, resolve_user};
pub use skiff_storage::LayerInfo;
pub use terminal::parse_detach_keys;
pub use volume::{VolumeCreate, VolumeReport};
/// Whether a signal name or number (`SIGTERM`, `TERM`, `15`) is one the kernel knows.
pub fn valid_signal(name: &str) -> bool {
    skiff_runtime::process::parse_signal(name).is_some()
}
