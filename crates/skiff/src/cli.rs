//! Command-line definitions: Podman's commands and flags. Parsing only; `commands` does the work.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "skiff",
    version,
    about = "Manage pods, containers and images, daemonless and rootless",
    // As Podman's flags: given twice, the last value wins.
    args_override_self = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses this process's command line. `run` (the command whose start-up time matters
    /// most) is parsed by a parser that knows only `run`: building the whole command tree
    /// costs about half a millisecond. What that parser does not accept (help, errors) goes
    /// to the whole one, which says it as always.
    pub fn parse_args() -> Result<Cli, clap::Error> {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        if let Some(cli) = Self::parse_run(&args) {
            return Ok(cli);
        }
        use clap::{CommandFactory, FromArgMatches};
        let mut command = Cli::command();
        if remote_chosen(&args) {
            // As Podman: --remote is offered only while no service is named.
            command = command.mut_arg("remote", |arg| arg.hide(true));
        }
        let matches = command.try_get_matches_from(args)?;
        Cli::from_arg_matches(&matches)
    }

    fn parse_run(args: &[std::ffi::OsString]) -> Option<Cli> {
        use clap::FromArgMatches;
        if subcommand(args)? != "run" {
            return None;
        }
        let run = RunArgs::augment_args(clap::Command::new("run")).args_override_self(true);
        let command = GlobalArgs::augment_args(
            clap::Command::new("skiff")
                .args_override_self(true)
                .subcommand(run),
        );
        let matches = command.try_get_matches_from(args).ok()?;
        Cli::from_arg_matches(&matches).ok()
    }
}

/// Whether a remote service is named: by CONTAINER_HOST, CONTAINER_CONNECTION, --url or
/// --connection.
fn remote_chosen(args: &[std::ffi::OsString]) -> bool {
    use skiff_engine::environment::{CONTAINER_CONNECTION, CONTAINER_HOST, var};
    var(CONTAINER_HOST).is_some()
        || var(CONTAINER_CONNECTION).is_some()
        || args.iter().any(|arg| {
            let arg = arg.to_string_lossy();
            let name = arg.split_once('=').map_or(&*arg, |(name, _)| name);
            name == "--url" || name == "--connection"
        })
}

/// The subcommand's name: the first argument after the global options, if all before it are
/// global options skiff knows.
fn subcommand(args: &[std::ffi::OsString]) -> Option<&str> {
    const WITH_VALUE: [&str; 13] = [
        "--root",
        "--runroot",
        "--storage-driver",
        "--runtime",
        "--log-level",
        "--events-backend",
        "--cgroup-manager",
        "--storage-opt",
        "--runtime-flag",
        "--volumepath",
        "--default-mounts-file",
        "--tmpdir",
        "--connection",
    ];
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let arg = arg.to_str()?;
        if WITH_VALUE.contains(&arg) {
            iter.next()?;
        } else if arg.starts_with("--")
            && WITH_VALUE.contains(&arg.split_once('=').map_or(arg, |(name, _)| name))
        {
        } else if arg.starts_with('-') {
            return None;
        } else {
            return Some(arg);
        }
    }
    None
}

#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// Path to the graph root directory where images and containers are stored
    #[arg(long, global = true, value_name = "PATH")]
    pub root: Option<PathBuf>,
    /// Path to the runtime state directory
    #[arg(long, global = true, value_name = "PATH")]
    pub runroot: Option<PathBuf>,
    /// Storage driver: overlay or vfs
    #[arg(long = "storage-driver", global = true, value_name = "NAME")]
    pub storage_driver: Option<String>,
    /// OCI runtime: a name on $PATH (runc, crun, youki) or a path; default is skiff's embedded runtime
    #[arg(long, global = true, value_name = "NAME|PATH")]
    pub runtime: Option<String>,
    /// Log messages at and above this level: trace, debug, info, warn, warning, error, fatal
    /// or panic (default warn)
    #[arg(long = "log-level", global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Docker compatibility: --log-level=debug
    #[arg(short = 'D', long, global = true)]
    pub debug: bool,
    /// Do not print to stdout
    #[arg(long, global = true)]
    pub noout: bool,
    /// Events backend: file (the event log skiff writes), journald (taken as file: no journald here) or none
    #[arg(long = "events-backend", global = true, value_name = "BACKEND")]
    pub events_backend: Option<String>,
    /// Cgroup manager: cgroupfs (skiff's) or systemd
    #[arg(long = "cgroup-manager", global = true, value_name = "MANAGER")]
    pub cgroup_manager: Option<String>,
    /// Storage driver option (accepted; skiff's drivers take none)
    #[arg(long = "storage-opt", global = true, value_name = "OPTION")]
    pub storage_opt: Vec<String>,
    /// Add global flags for the container runtime (skiff's embedded runtime takes none)
    #[arg(long = "runtime-flag", global = true, value_name = "FLAG")]
    pub runtime_flag: Vec<String>,
    /// Volume directory (skiff keeps volumes under the graph root)
    #[arg(long, global = true, value_name = "PATH")]
    pub volumepath: Option<PathBuf>,
    /// Path to the default mounts file (accepted)
    #[arg(
        long = "default-mounts-file",
        global = true,
        value_name = "PATH",
        hide = true
    )]
    pub default_mounts_file: Option<PathBuf>,
    /// Temporary directory for state (accepted)
    #[arg(long, global = true, value_name = "PATH")]
    pub tmpdir: Option<PathBuf>,
    /// URL of a remote skiff/Podman service (skiff runs locally only)
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,
    /// Access a remote service (skiff runs locally only)
    #[arg(long, global = true)]
    pub remote: bool,
    /// Connection to a remote service (skiff runs locally only)
    #[arg(long, global = true, value_name = "NAME")]
    pub connection: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Container commands, also under `skiff container`
    #[command(flatten)]
    Container(Box<ContainerCommand>),
    /// Display the configuration of containers or images
    Inspect(InspectArgs),
    /// Manage containers
    #[command(subcommand, name = "container")]
    ContainerGroup(ContainerGroupCommand),
    /// List images in local storage
    Images(ImagesArgs),
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Build an image using instructions from Containerfiles
    Build(BuildArgs),
    /// Import a tarball to create a filesystem image
    Import(ImportArgs),
    /// Add an additional name to a local image
    Tag(TagArgs),
    /// Remove a name from a local image
    Untag(UntagArgs),
    /// Remove one or more images from local storage
    Rmi(RmiArgs),
    /// Save images to an archive
    Save(SaveArgs),
    /// Load images from an archive
    Load(LoadArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Pull an image from a registry
    Pull(PullArgs),
    /// Push an image to a registry
    Push(PushArgs),
    /// Log in to a container registry
    Login(LoginArgs),
    /// Log out of a container registry
    Logout(LogoutArgs),
    /// Search a registry for an image
    Search(SearchArgs),
    /// Inspect manifests and manifest lists
    #[command(subcommand)]
    Manifest(ManifestCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(NetworkCommand),
    /// Manage volumes
    #[command(subcommand)]
    Volume(VolumeCommand),
    /// Manage secrets
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Manage pods
    #[command(subcommand)]
    Pod(PodCommand),
    /// Manage healthchecks of containers
    #[command(subcommand)]
    Healthcheck(HealthcheckCommand),
    /// Generate structured data (systemd units, Kubernetes YAML) from containers and pods
    #[command(subcommand)]
    Generate(GenerateCommand),
    /// Play containers, pods or volumes from Kubernetes YAML, and generate it
    #[command(subcommand)]
    Kube(KubeCommand),
    /// Play containers, pods or volumes from a structured file
    #[command(subcommand)]
    Play(PlayCommand),
    /// Manage Quadlet files, which systemd's generator turns into services
    #[command(subcommand)]
    Quadlet(QuadletCommand),
    /// Run multi-container applications from Compose files
    Compose(ComposeArgs),
    /// Serve the web dashboard (containers, images, volumes, networks) until interrupted
    Dashboard(DashboardArgs),
    /// Show events of containers, images, volumes and networks
    Events(EventsArgs),
    /// Display a live stream of container resource usage statistics
    Stats(StatsArgs),
    /// Display system information
    Info(FormatArgs),
    /// Manage skiff: check and repair storage, prune, information
    #[command(subcommand)]
    System(SystemCommand),
    /// Display the skiff version information
    Version(FormatArgs),
    /// Run a command in a modified user namespace
    Unshare(UnshareArgs),
}

/// Commands that work both as `skiff VERB` and `skiff container VERB`.
#[derive(Subcommand, Debug)]
pub enum ContainerCommand {
    /// Run a command in a new container
    Run(RunArgs),
    /// Create but do not start a container
    Create(RunArgs),
    /// Start one or more containers
    Start(StartArgs),
    /// Stop one or more containers
    Stop(StopArgs),
    /// Kill one or more running containers with a signal
    Kill(KillArgs),
    /// Restart one or more containers
    Restart(StopArgs),
    /// Block on one or more containers and print their exit codes
    Wait(WaitArgs),
    /// Remove one or more containers
    Rm(RmArgs),
    /// List containers
    #[command(alias = "list", alias = "ls")]
    Ps(PsArgs),
    /// Fetch the logs of a container
    Logs(LogsArgs),
    /// Run a process in a running container
    Exec(ExecArgs),
    /// Attach to a running container
    Attach(AttachArgs),
    /// Pause all the processes in one or more containers
    Pause(PauseArgs),
    /// Unpause the processes in one or more containers
    Unpause(PauseArgs),
    /// Display the running processes of a container
    Top(TopArgs),
    /// Rename an existing container
    Rename(RenameArgs),
    /// List port mappings for a container
    Port(PortArgs),
    /// Update the configuration of a container
    Update(UpdateArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(CpArgs),
    /// Inspect changes to the container's file systems
    Diff(DiffArgs),
    /// Export a container's filesystem contents as a tar archive
    Export(ExportArgs),
    /// Create new image based on the changed container
    Commit(CommitArgs),
    /// Mount a working container's root filesystem
    Mount(MountArgs),
    /// Unmount working container's root filesystem
    #[command(alias = "unmount")]
    Umount(UmountArgs),
}

#[derive(Args, Debug)]
pub struct MountArgs {
    /// Mount all containers
    #[arg(short, long)]
    pub all: bool,
    /// Print the mounted containers in specified format (json)
    #[arg(long)]
    pub format: Option<String>,
    /// Do not truncate output
    #[arg(long = "no-trunc", alias = "notruncate")]
    pub no_trunc: bool,
    /// Act on the latest container skiff is aware of
    #[arg(short, long)]
    pub latest: bool,
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct UmountArgs {
    /// Unmount all of the currently mounted containers
    #[arg(short, long)]
    pub all: bool,
    /// Force the complete unmount of the specified mounted containers
    #[arg(short, long)]
    pub force: bool,
    /// Act on the latest container skiff is aware of
    #[arg(short, long)]
    pub latest: bool,
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ImageMountArgs {
    /// Mount all images
    #[arg(short, long)]
    pub all: bool,
    /// Print the mounted images in specified format (json)
    #[arg(long)]
    pub format: Option<String>,
    pub images: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ImageUmountArgs {
    /// Unmount all of the currently mounted images
    #[arg(short, long)]
    pub all: bool,
    /// Force the complete unmount of the specified mounted images
    #[arg(short, long)]
    pub force: bool,
    pub images: Vec<String>,
}

#[derive(Args, Debug)]
pub struct UnshareArgs {
    /// Join the rootless network namespace used for bridge networks
    #[arg(long = "rootless-netns")]
    pub rootless_netns: bool,
    /// The command to run (default: $SHELL)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `skiff container ...`
#[derive(Subcommand, Debug)]
pub enum ContainerGroupCommand {
    #[command(flatten)]
    Common(Box<ContainerCommand>),
    /// Display the configuration of containers
    Inspect(InspectArgs),
    /// Remove all stopped containers
    Prune(PruneArgs),
    /// Check if a container exists in local storage (exit code 0 or 1)
    Exists(NameArg),
}

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    #[command(alias = "ls", alias = "list")]
    Images(ImagesArgs),
    Inspect(InspectArgs),
    Build(BuildArgs),
    Import(ImportArgs),
    Tag(TagArgs),
    Untag(UntagArgs),
    #[command(alias = "remove")]
    Rm(RmiArgs),
    /// Check if an image exists in local storage (exit code 0 or 1)
    Exists(NameArg),
    Pull(PullArgs),
    Push(PushArgs),
    Search(SearchArgs),
    Save(SaveArgs),
    Load(LoadArgs),
    History(HistoryArgs),
    /// Remove unused images
    Prune(ImagePruneArgs),
    /// Copy an image between transports: docker://, containers-storage:, oci:, oci-archive:, docker-archive:
    Copy(CopyArgs),
    /// Mount an image's root filesystem
    Mount(ImageMountArgs),
    /// Unmount an image's root filesystem
    #[command(alias = "unmount")]
    Umount(ImageUmountArgs),
}

#[derive(Args, Debug)]
pub struct CopyArgs {
    /// Path of the authentication file
    #[arg(long, value_name = "PATH")]
    pub authfile: Option<PathBuf>,
    /// Require HTTPS and verify certificates when reading from a registry
    #[arg(long = "src-tls-verify", value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub src_tls_verify: Option<bool>,
    /// Require HTTPS and verify certificates when writing to a registry
    #[arg(long = "dest-tls-verify", value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub dest_tls_verify: Option<bool>,
    /// Manifest type (oci or v2s2) when writing to a registry
    #[arg(short, long)]
    pub format: Option<String>,
    /// Suppress output information
    #[arg(short, long)]
    pub quiet: bool,
    pub source: String,
    pub destination: String,
}

#[derive(Args, Debug)]
pub struct SaveArgs {
    /// Write to a specified file (default: stdout, which must be redirected)
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Save image to docker-archive, oci-archive or oci-dir
    #[arg(long, default_value = "docker-archive")]
    pub format: String,
    /// Interpret additional arguments as images not tags and create a multi-image-archive
    #[arg(short, long = "multi-image-archive")]
    pub multi_image_archive: bool,
    /// Suppress the output
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Read from specified archive file (default: stdin)
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// Suppress the output
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Display sizes and dates in human readable format
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub human: bool,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Display the numeric IDs only
    #[arg(short, long)]
    pub quiet: bool,
    /// Change the output to JSON or a Go template
    #[arg(long)]
    pub format: Option<String>,
    pub image: String,
}

#[derive(Args, Debug)]
pub struct ImagePruneArgs {
    /// Remove all images not in use by containers, not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Subcommand, Debug)]
pub enum ManifestCommand {
    /// Display the manifest or manifest list of an image in a registry
    Inspect(ManifestInspectArgs),
}

/// Flags every command that talks to a registry shares.
#[derive(Args, Debug, Clone, Default)]
pub struct RegistryArgs {
    /// Require HTTPS and verify certificates when contacting registries
    #[arg(long = "tls-verify", value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub tls_verify: Option<bool>,
    /// Path of the authentication file
    #[arg(long, value_name = "PATH")]
    pub authfile: Option<PathBuf>,
    /// Use certificates at PATH (*.crt) to connect to the registry
    #[arg(long = "cert-dir", value_name = "PATH")]
    pub cert_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PullArgs {
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Use USERNAME[:PASSWORD] for accessing the registry
    #[arg(long, value_name = "USERNAME[:PASSWORD]")]
    pub creds: Option<String>,
    /// Suppress output information when pulling images
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub platform: PlatformArgs,
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// Which of an image's platforms to take (`pull`, `run`, `create`).
#[derive(Args, Debug, Default, Clone)]
pub struct PlatformArgs {
    /// Specify the platform for selecting the image (os/arch[/variant])
    #[arg(long)]
    pub platform: Option<String>,
    /// Use ARCH instead of the architecture of the machine for choosing images
    #[arg(long)]
    pub arch: Option<String>,
    /// Use OS instead of the running OS for choosing images
    #[arg(long)]
    pub os: Option<String>,
    /// Use VARIANT instead of the running architecture variant for choosing images
    #[arg(long)]
    pub variant: Option<String>,
}

impl PlatformArgs {
    /// The flags as one `os/arch[/variant]` (None: this machine's).
    pub fn platform(&self) -> Result<Option<String>, skiff_engine::EngineError> {
        skiff_engine::PullOptions::platform_of(
            self.platform.as_deref(),
            self.os.as_deref(),
            self.arch.as_deref(),
            self.variant.as_deref(),
        )
    }
}

#[derive(Args, Debug)]
pub struct PushArgs {
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Use USERNAME[:PASSWORD] for accessing the registry
    #[arg(long, value_name = "USERNAME[:PASSWORD]")]
    pub creds: Option<String>,
    /// Manifest type (oci or v2s2) to use when pushing
    #[arg(short, long)]
    pub format: Option<String>,
    /// Write the digest of the pushed image to the specified file
    #[arg(long = "digestfile", value_name = "PATH")]
    pub digest_file: Option<PathBuf>,
    /// Suppress output information when pushing images
    #[arg(short, long)]
    pub quiet: bool,
    pub image: String,
    pub destination: Option<String>,
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Username for registry
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password for registry
    #[arg(short, long)]
    pub password: Option<String>,
    /// Take the password from stdin
    #[arg(long = "password-stdin")]
    pub password_stdin: bool,
    /// Return the current login user for the registry
    #[arg(long = "get-login")]
    pub get_login: bool,
    pub server: String,
}

#[derive(Args, Debug)]
pub struct LogoutArgs {
    /// Path of the authentication file
    #[arg(long, value_name = "PATH")]
    pub authfile: Option<PathBuf>,
    /// Remove the cached credentials for all registries in the auth file
    #[arg(short, long)]
    pub all: bool,
    pub server: Option<String>,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Limit the number of results
    #[arg(long)]
    pub limit: Option<usize>,
    /// Change the output format to JSON or a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// List the tags of the repository
    #[arg(long = "list-tags")]
    pub list_tags: bool,
    pub term: String,
}

#[derive(Args, Debug)]
pub struct ManifestInspectArgs {
    #[command(flatten)]
    pub registry: RegistryArgs,
    pub image: String,
}

#[derive(Args, Debug, Clone)]
#[command(trailing_var_arg = true)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short, long)]
    pub detach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", default_value = "ctrl-p,ctrl-q")]
    pub detach_keys: String,
    /// Restart policy to apply when a container exits (no, on-failure[:N], always, unless-stopped)
    #[arg(long)]
    pub restart: Option<String>,
    /// Remove container when it exits
    #[arg(long)]
    pub rm: bool,
    /// The first argument is not an image but the container's root filesystem, a directory
    /// (PATH[:O]: its changes go to an overlay the container keeps)
    #[arg(long)]
    pub rootfs: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub process: ProcessArgs,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Set container hostname
    #[arg(long)]
    pub hostname: Option<String>,
    /// Bind mount a volume into the container
    #[arg(short, long = "volume", value_name = "SRC:DST[:OPTS]")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount (type=bind|volume|tmpfs,source=...,target=...,ro)
    #[arg(long, value_name = "MOUNT")]
    pub mount: Vec<String>,
    /// Mount a temporary filesystem
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Make the container's root filesystem read-only
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Add capabilities to the container
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop capabilities from the container
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Give extended privileges to the container
    #[arg(long)]
    pub privileged: bool,
    /// Security options: seccomp=unconfined|PATH, no-new-privileges
    #[arg(long = "security-opt")]
    pub security_opt: Vec<String>,
    /// Connect the container to networks: NAME[,NAME...], bridge, none or host
    #[arg(long, visible_alias = "net")]
    pub network: Vec<String>,
    /// Specify a static IPv4 address for the container
    #[arg(long)]
    pub ip: Option<String>,
    /// Container MAC address (e.g. 92:d0:c6:0a:29:33)
    #[arg(long = "mac-address")]
    pub mac_address: Option<String>,
    /// Add a network-scoped alias for the container
    #[arg(long = "network-alias")]
    pub network_alias: Vec<String>,
    /// Publish a container's port, or a range of ports, to the host
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports on the host interfaces
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Set custom DNS servers
    #[arg(long)]
    pub dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search")]
    pub dns_search: Vec<String>,
    /// Set custom DNS options
    #[arg(long = "dns-option", visible_alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host")]
    pub add_host: Vec<String>,
    /// Do not create /etc/hosts within the container, instead use the version from the image
    #[arg(long = "no-hosts")]
    pub no_hosts: bool,
    /// Pull image policy: always, missing, never or newer
    #[arg(long)]
    pub pull: Option<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub platform: PlatformArgs,
    /// Set metadata on the container
    #[arg(short, long = "label", value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Add an annotation to the container (passed through to the OCI runtime)
    #[arg(long, value_name = "KEY=VALUE")]
    pub annotation: Vec<String>,
    /// Add additional groups to the primary container process. 'keep-groups' allows container processes to use supplementary groups
    #[arg(long = "group-add", value_name = "GROUP")]
    pub group_add: Vec<String>,
    /// Pass a number of additional file descriptors into the container
    #[arg(long = "preserve-fds", value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Mount volumes from the specified container(s) (CONTAINER[:ro|rw])
    #[arg(long = "volumes-from", value_name = "CONTAINER[:OPTIONS]")]
    pub volumes_from: Vec<String>,
    /// Use all current host environment variables in container
    #[arg(long = "env-host")]
    pub env_host: bool,
    /// Read in a line delimited file of labels
    #[arg(long = "label-file", value_name = "FILE")]
    pub label_file: Vec<std::path::PathBuf>,
    /// Expose a port or a range of ports
    #[arg(long, value_name = "PORT")]
    pub expose: Vec<String>,
    /// Set umask in container
    #[arg(long)]
    pub umask: Option<String>,
    /// Write the container process ID to the file
    #[arg(long)]
    pub pidfile: Option<String>,
    /// Path to the container-init binary
    #[arg(long = "init-path", value_name = "PATH")]
    pub init_path: Option<String>,
    /// When running --read-only containers mount read-write tmpfs on /run, /tmp and /var/tmp
    #[arg(long = "read-only-tmpfs", num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub read_only_tmpfs: Option<bool>,
    /// How to handle the builtin image volumes (bind, tmpfs, ignore)
    #[arg(long = "image-volume", value_name = "MODE")]
    pub image_volume: Option<String>,
    /// Configure execution domain using personality (e.g., LINUX/LINUX32)
    #[arg(long)]
    pub personality: Option<String>,
    /// Add secret to container (NAME[,type=mount|env][,target=T][,uid=,gid=,mode=])
    #[arg(long, value_name = "SECRET")]
    pub secret: Vec<String>,
    /// Host user account to add to /etc/passwd within container
    #[arg(long, value_name = "NAME|UID")]
    pub hostuser: Vec<String>,
    /// Policy for selecting a seccomp profile (default, image)
    #[arg(long = "seccomp-policy", value_name = "POLICY")]
    pub seccomp_policy: Option<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Signal to stop a container
    #[arg(long = "stop-signal")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long = "stop-timeout")]
    pub stop_timeout: Option<u64>,
    /// Tune container pids limit (-1 for unlimited)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Memory limit (format: <number>[<unit>], where unit = b, k, m or g)
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Number of CPUs
    #[arg(long)]
    pub cpus: Option<f64>,
    #[command(flatten)]
    pub resources: ResourceArgs,
    /// Disable OOM Killer
    #[arg(long = "oom-kill-disable")]
    pub oom_kill_disable: bool,
    /// Tune the host's OOM preferences (-1000 to 1000)
    #[arg(long = "oom-score-adj", allow_hyphen_values = true)]
    pub oom_score_adj: Option<i64>,
    /// Ulimit options (NAME=SOFT[:HARD], or host)
    #[arg(long, value_name = "NAME=SOFT[:HARD]")]
    pub ulimit: Vec<String>,
    /// Add a host device to the container (HOST[:CONTAINER][:PERMISSIONS])
    #[arg(long, value_name = "HOST[:CONTAINER][:PERMISSIONS]")]
    pub device: Vec<String>,
    /// Add a rule to the cgroup allowed devices list ('TYPE MAJOR:MINOR ACCESS')
    #[arg(long = "device-cgroup-rule")]
    pub device_cgroup_rule: Vec<String>,
    /// Size of /dev/shm (format: <number>[<unit>], where unit = b, k, m or g)
    #[arg(long = "shm-size", value_name = "SIZE")]
    pub shm_size: Option<String>,
    /// Sysctl options (NAME=VALUE)
    #[arg(long)]
    pub sysctl: Vec<String>,
    /// Optional parent cgroup for the container
    #[arg(long = "cgroup-parent", value_name = "PATH")]
    pub cgroup_parent: Option<String>,
    /// cgroup namespace to use (host or private)
    #[arg(long)]
    pub cgroupns: Option<String>,
    /// Control container cgroup configuration ("enabled"|"disabled"|"no-conmon"|"split")
    #[arg(long)]
    pub cgroups: Option<String>,
    /// Image to run
    pub image: String,
    /// Command and its arguments
    #[arg(allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// Unset a default or image environment variable
    #[arg(long = "unsetenv", value_name = "NAME")]
    pub unsetenv: Vec<String>,
    /// Unset all default and image environment variables
    #[arg(long = "unsetenv-all")]
    pub unsetenv_all: bool,
    /// Set proxy environment variables in the container based on the host proxy vars
    #[arg(long = "http-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub http_proxy: bool,
    /// Kernel memory limit (no longer supported by the kernel: ignored with a warning)
    #[arg(long = "kernel-memory", value_name = "SIZE", hide = true)]
    pub kernel_memory: Option<String>,
    /// Logging driver for the container (k8s-file, json-file, journald, none)
    #[arg(long = "log-driver", value_name = "DRIVER")]
    pub log_driver: Option<String>,
    /// Logging driver options (path=PATH, max-size=SIZE, tag=TAG)
    #[arg(long = "log-opt", value_name = "OPTION")]
    pub log_opt: Vec<String>,
    /// Remove the image once the container is removed (with --rm), unless another uses it
    #[arg(long)]
    pub rmi: bool,
    /// Kill the container after this many seconds (its exit code is then -1)
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Attach to STDIN, STDOUT or STDERR (repeatable; default all)
    #[arg(short = 'a', long, value_name = "STREAM")]
    pub attach: Vec<String>,
    /// PID namespace: host, private or container:NAME
    #[arg(long, value_name = "MODE", overrides_with = "pid")]
    pub pid: Option<String>,
    /// IPC namespace: host, private, shareable, none or container:NAME
    #[arg(long, value_name = "MODE", overrides_with = "ipc")]
    pub ipc: Option<String>,
    /// UTS namespace: host, private or container:NAME
    #[arg(long, value_name = "MODE", overrides_with = "uts")]
    pub uts: Option<String>,
    #[command(flatten)]
    pub user_namespace: UserNamespaceArgs,
    /// Write the container ID to the file (which must not exist)
    #[arg(long, value_name = "FILE")]
    pub cidfile: Option<std::path::PathBuf>,
    /// Write the PID of the container's monitor to the file at each start
    #[arg(long = "conmon-pidfile", value_name = "FILE")]
    pub conmon_pidfile: Option<String>,
    /// Set the time zone in the container (a zone name, or local for the host's)
    #[arg(long = "tz", value_name = "TIMEZONE", overrides_with = "tz")]
    pub tz: Option<String>,
    /// If a container with the same name exists, replace it
    #[arg(long)]
    pub replace: bool,
    /// Run the container in an existing pod (NAME or ID), or in a new one (new:NAME)
    #[arg(long, value_name = "POD", overrides_with = "pod")]
    pub pod: Option<String>,
    /// The command of a healthcheck (for /bin/sh -c, or a JSON array)
    #[arg(long = "health-cmd", value_name = "COMMAND")]
    pub health_cmd: Option<String>,
    /// Time between healthchecks (a duration, or disable)
    #[arg(long = "health-interval", value_name = "INTERVAL")]
    pub health_interval: Option<String>,
    /// Consecutive failures that make the container unhealthy
    #[arg(long = "health-retries", value_name = "RETRIES")]
    pub health_retries: Option<u32>,
    /// Time a healthcheck may take
    #[arg(long = "health-timeout", value_name = "TIMEOUT")]
    pub health_timeout: Option<String>,
    /// Time after the start during which failed healthchecks do not count
    #[arg(long = "health-start-period", value_name = "PERIOD")]
    pub health_start_period: Option<String>,
    /// What to do when the container turns unhealthy: none, kill, restart or stop
    #[arg(long = "health-on-failure", value_name = "ACTION")]
    pub health_on_failure: Option<String>,
    /// Disable any healthcheck, the image's included
    #[arg(long = "no-healthcheck")]
    pub no_healthcheck: bool,
    /// Run in systemd mode: true (when the command is systemd or init), false or always
    #[arg(long, value_name = "MODE")]
    pub systemd: Option<String>,
    /// Who notifies systemd's $NOTIFY_SOCKET: container (default), conmon or ignore
    #[arg(long, value_name = "container|conmon|ignore")]
    pub sdnotify: Option<String>,
    /// Containers to start before this one (a comma list)
    #[arg(long, value_delimiter = ',', value_name = "CONTAINER")]
    pub requires: Vec<String>,
}

#[derive(Args, Debug)]
pub struct StartArgs {
    /// Attach container's STDOUT and STDERR
    #[arg(short, long)]
    pub attach: bool,
    /// Keep STDIN open
    #[arg(short, long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", default_value = "ctrl-p,ctrl-q")]
    pub detach_keys: String,
    /// Start all containers that are not running
    #[arg(long)]
    pub all: bool,
    /// Start only the containers that match: id, name, label, status, exited, ancestor,
    /// restart-policy (KEY=VALUE)
    #[arg(short, long = "filter", value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    #[arg(required_unless_present = "all")]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct AttachArgs {
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", default_value = "ctrl-p,ctrl-q")]
    pub detach_keys: String,
    /// Proxy received signals to the container (with a terminal and stdin, keys are the signals)
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub sig_proxy: bool,
    pub container: String,
}

#[derive(Args, Debug)]
pub struct StopArgs {
    /// Seconds to wait before killing the container
    #[arg(short = 't', long = "time", visible_alias = "timeout")]
    pub time: Option<u64>,
    /// Act on all running containers
    #[arg(short, long)]
    pub all: bool,
    /// Ignore errors when a specified container (or --cidfile) is missing
    #[arg(short, long)]
    pub ignore: bool,
    /// Read the container ID from the file
    #[arg(long = "cidfile", value_name = "FILE")]
    pub cidfile: Vec<std::path::PathBuf>,
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Signal to send to the container (a leading dash is allowed: -HUP, -1)
    #[arg(short, long, default_value = "KILL", allow_hyphen_values = true)]
    pub signal: String,
    /// Act on all running containers
    #[arg(short, long)]
    pub all: bool,
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct NamesArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct NameArg {
    pub name: String,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Force removal of a running container (implies --ignore)
    #[arg(short, long)]
    pub force: bool,
    /// Remove all containers
    #[arg(short, long)]
    pub all: bool,
    /// Ignore errors when a specified container is missing
    #[arg(short, long)]
    pub ignore: bool,
    /// Seconds to wait before forcibly stopping (accepted for compatibility)
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
    /// Remove the anonymous volumes of the container
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Read the container ID from the file
    #[arg(long = "cidfile", value_name = "FILE")]
    pub cidfile: Vec<std::path::PathBuf>,
    /// Act on the latest container skiff is aware of
    #[arg(short, long, conflicts_with = "all")]
    pub latest: bool,
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PsArgs {
    /// Show all the containers, default is only running containers
    #[arg(short, long)]
    pub all: bool,
    /// Print the numeric IDs of the containers only
    #[arg(short, long)]
    pub quiet: bool,
    /// Display the extended information
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Pretty-print containers to JSON or using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Print only the last created container
    #[arg(short, long)]
    pub latest: bool,
    /// Filter output: id, name, label, status, exited, ancestor (KEY=VALUE)
    #[arg(short, long = "filter", value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    /// Show containers in storage not controlled by skiff (there are none: skiff's storage
    /// holds only its own)
    #[arg(long)]
    pub external: bool,
    /// Do not print headers
    #[arg(long)]
    pub noheading: bool,
    /// Sort by command, created, id, image, names, runningfor or status
    #[arg(long)]
    pub sort: Option<String>,
    /// Show the pod ID and name of each container
    #[arg(short, long)]
    pub pod: bool,
}

#[derive(Args, Debug)]
pub struct LogsArgs {
    #[command(flatten)]
    pub options: LogsOptions,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct LogsOptions {
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Output the specified number of LINES at the end of the logs
    #[arg(long)]
    pub tail: Option<i64>,
    /// Output the timestamps in the log
    #[arg(short, long)]
    pub timestamps: bool,
    /// Show logs since TIMESTAMP (RFC 3339, Unix time, or a duration such as 10m)
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs until TIMESTAMP
    #[arg(long)]
    pub until: Option<String>,
    /// Lead each line with its container's name, not its short ID (several containers)
    #[arg(short, long)]
    pub names: bool,
    /// Output the containers with different colors in the log
    #[arg(long)]
    pub color: bool,
}

#[derive(Args, Debug)]
pub struct WaitArgs {
    /// Condition to wait on (created, running, paused, exited, stopped, removing)
    #[arg(long)]
    pub condition: Vec<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PauseArgs {
    /// Act on all running (pause) or paused (unpause) containers
    #[arg(short, long)]
    pub all: bool,
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct TopArgs {
    pub container: String,
    /// Format descriptors: user pid ppid pcpu etime tty time args comm uid gid group ...
    pub descriptors: Vec<String>,
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// Restart policy to apply when a container exits (no, on-failure[:N], always, unless-stopped)
    #[arg(long)]
    pub restart: Option<String>,
    /// Memory limit (format: <number>[<unit>], where unit = b, k, m or g)
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Number of CPUs
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Tune container pids limit (-1 for unlimited)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    #[command(flatten)]
    pub resources: ResourceArgs,
    pub container: String,
}

/// Resource limits `run`, `create` and `update` take (Podman's flags).
#[derive(Args, Debug, Default, Clone)]
pub struct ResourceArgs {
    /// Memory soft limit (format: <number>[<unit>], where unit = b, k, m or g)
    #[arg(long = "memory-reservation", value_name = "SIZE")]
    pub memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "SIZE", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Tune container memory swappiness (0 to 100, or -1 for system default)
    #[arg(long = "memory-swappiness", allow_hyphen_values = true)]
    pub memory_swappiness: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares")]
    pub cpu_shares: Option<u64>,
    /// Limit the CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    /// Limit the CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes (MEMs) in which to allow execution (0-3, 0,1). Only effective on NUMA systems
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Block IO weight (relative weight) accepts a weight value between 10 and 1000
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u64>,
    /// Block IO weight (relative device weight, format: DEVICE_NAME:WEIGHT)
    #[arg(long = "blkio-weight-device", value_name = "DEVICE_NAME:WEIGHT")]
    pub blkio_weight_device: Vec<String>,
    /// Limit read rate (bytes per second) from a device (e.g. --device-read-bps=/dev/sda:1mb)
    #[arg(long = "device-read-bps", value_name = "DEVICE:RATE")]
    pub device_read_bps: Vec<String>,
    /// Limit write rate (bytes per second) to a device (e.g. --device-write-bps=/dev/sda:1mb)
    #[arg(long = "device-write-bps", value_name = "DEVICE:RATE")]
    pub device_write_bps: Vec<String>,
    /// Limit read rate (IO per second) from a device (e.g. --device-read-iops=/dev/sda:1000)
    #[arg(long = "device-read-iops", value_name = "DEVICE:RATE")]
    pub device_read_iops: Vec<String>,
    /// Limit write rate (IO per second) to a device (e.g. --device-write-iops=/dev/sda:1000)
    #[arg(long = "device-write-iops", value_name = "DEVICE:RATE")]
    pub device_write_iops: Vec<String>,
}

impl ResourceArgs {
    /// The flags as the engine's options (the ones only `run` takes left unset).
    pub fn options(&self) -> skiff_engine::LimitOptions {
        skiff_engine::LimitOptions {
            memory_reservation: self.memory_reservation.clone(),
            memory_swap: self.memory_swap.clone(),
            memory_swappiness: self.memory_swappiness,
            cpu_shares: self.cpu_shares,
            cpu_period: self.cpu_period,
            cpu_quota: self.cpu_quota,
            cpuset_cpus: self.cpuset_cpus.clone(),
            cpuset_mems: self.cpuset_mems.clone(),
            blkio_weight: self.blkio_weight,
            blkio_weight_device: self.blkio_weight_device.clone(),
            device_read_bps: self.device_read_bps.clone(),
            device_write_bps: self.device_write_bps.clone(),
            device_read_iops: self.device_read_iops.clone(),
            device_write_iops: self.device_write_iops.clone(),
            ..Default::default()
        }
    }
}

#[derive(Args, Debug)]
pub struct CpArgs {
    /// Chown copied files to the primary uid/gid of the destination container (false: keep the owners of the source)
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub archive: bool,
    /// Pause the container while copying into it (where it can be frozen)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub pause: bool,
    /// Allow to overwrite directories with non-directories and vice versa
    #[arg(long)]
    pub overwrite: bool,
    /// SRC: a local path, `-` (a tar stream on stdin) or CONTAINER:PATH
    pub source: String,
    /// DEST: a local path, `-` (a tar stream on stdout) or CONTAINER:PATH
    pub destination: String,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// Change the output format (json)
    #[arg(long)]
    pub format: Option<String>,
    /// Act on the latest container skiff is aware of
    #[arg(short, long)]
    pub latest: bool,
    #[arg(required_unless_present = "latest")]
    pub container: Option<String>,
}

#[derive(Args, Debug)]
pub struct CommitArgs {
    /// Set the author for the image committed
    #[arg(short, long)]
    pub author: Option<String>,
    /// Apply the following possible instructions to the created image (default []): CMD | ENTRYPOINT | ENV | EXPOSE | LABEL | ONBUILD | STOPSIGNAL | USER | VOLUME | WORKDIR
    #[arg(short, long)]
    pub change: Vec<String>,
    /// Format of the image manifest and metadata
    #[arg(short, long, default_value = "oci")]
    pub format: String,
    /// Write the image ID to the file
    #[arg(long)]
    pub iidfile: Option<PathBuf>,
    /// Set commit message for imported image
    #[arg(short, long)]
    pub message: Option<String>,
    /// Pause container during commit
    #[arg(short, long, num_args = 0..=1, default_missing_value = "true")]
    pub pause: Option<bool>,
    /// Suppress output
    #[arg(short, long)]
    pub quiet: bool,
    pub container: String,
    pub image: Option<String>,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Write to a specified file (default: stdout, which must be redirected)
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    pub container: String,
}

#[derive(Args, Debug)]
pub struct RenameArgs {
    pub container: String,
    pub name: String,
}

#[derive(Args, Debug)]
pub struct PortArgs {
    /// Display port information for all containers
    #[arg(short, long)]
    pub all: bool,
    pub container: Option<String>,
    /// PRIVATE_PORT[/PROTO]
    pub port: Option<String>,
}

/// The process flags `run`, `create` and `exec` share.
#[derive(Args, Debug, Clone)]
pub struct ProcessArgs {
    /// Set environment variables in container
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long)]
    pub user: Option<String>,
}

#[derive(Args, Debug)]
#[command(trailing_var_arg = true)]
pub struct ExecArgs {
    /// Run the exec session in detached mode (backgrounded)
    #[arg(short, long)]
    pub detach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    #[command(flatten)]
    pub process: ProcessArgs,
    /// Give the process extended privileges
    #[arg(long)]
    pub privileged: bool,
    /// Override the key sequence for detaching (accepted; an exec session ends with its client)
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    pub container: String,
    /// Command and its arguments
    #[arg(required = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format the output using the given Go template or json
    #[arg(short, long)]
    pub format: Option<String>,
    /// Specify inspect-object type: container, image or all
    #[arg(short = 't', long = "type", default_value = "all")]
    pub kind: String,
    /// Inspect the latest container created
    #[arg(short, long)]
    pub latest: bool,
    #[arg(required_unless_present = "latest")]
    pub names: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum SystemCommand {
    /// Check storage consistency (and repair it)
    Check(SystemCheckArgs),
    /// Remove all unused pods, containers, images, networks, and volume data
    Prune(SystemPruneArgs),
    /// Show skiff disk usage
    Df(SystemDfArgs),
    /// Reset skiff storage back to initial state
    Reset(SystemResetArgs),
    /// Display system information
    Info(FormatArgs),
    /// Run the API service (Docker's Engine API)
    Service(SystemServiceArgs),
}

#[derive(Args, Debug)]
pub struct SystemServiceArgs {
    /// Time until the service session expires in seconds. Use 0 to disable the timeout
    #[arg(short, long, default_value_t = 5)]
    pub time: u64,
    /// Where to listen: unix:///path, tcp://127.0.0.1:PORT (default: the socket systemd
    /// passed, else /run/skiff/skiff.sock, or $XDG_RUNTIME_DIR/skiff/skiff.sock rootless)
    pub uri: Option<String>,
}

#[derive(Args, Debug)]
pub struct SystemCheckArgs {
    /// Skip time-consuming checks
    #[arg(short, long)]
    pub quick: bool,
    /// Remove inconsistent images
    #[arg(short, long)]
    pub repair: bool,
    /// Remove inconsistent images and containers
    #[arg(short, long)]
    pub force: bool,
    /// Maximum allowed age of unreferenced layers
    #[arg(short, long, default_value = "24h")]
    pub max: String,
}

#[derive(Args, Debug)]
pub struct SystemPruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Prune volumes not used by at least one container
    #[arg(long)]
    pub volumes: bool,
}

#[derive(Args, Debug)]
pub struct SystemDfArgs {
    /// Show detailed information on disk usage
    #[arg(short, long)]
    pub verbose: bool,
    /// Pretty-print the summary using a Go template, or json
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct SystemResetArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ImagesArgs {
    /// Show all images
    #[arg(short, long)]
    pub all: bool,
    /// Display only image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Filter output based on conditions given (dangling, label, reference, before, since, id)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Change the output format to JSON or a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Do not print column headings
    #[arg(short, long)]
    pub noheading: bool,
    /// Sort by created, id, repository, size or tag
    #[arg(long)]
    pub sort: Option<String>,
    /// Optional image name to list
    pub name: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum NetworkCommand {
    /// Create a network
    Create(NetworkCreateArgs),
    /// List networks
    #[command(alias = "list")]
    Ls(NetworkLsArgs),
    /// Display the network configuration for one or more networks
    Inspect(NetworkInspectArgs),
    /// Remove networks
    #[command(alias = "remove")]
    Rm(NetworkRmArgs),
    /// Check if a network exists (exit code 0 or 1)
    Exists(NameArg),
    /// Remove all unused networks
    Prune(NetworkPruneArgs),
    /// Add a container to a network
    Connect(NetworkConnectArgs),
    /// Disconnect a container from a network
    Disconnect(NetworkDisconnectArgs),
}

#[derive(Args, Debug)]
pub struct NetworkConnectArgs {
    /// Network scoped alias for the container
    #[arg(long)]
    pub alias: Vec<String>,
    /// Static IP address for the container on this network
    #[arg(long)]
    pub ip: Option<String>,
    /// Static MAC address for the container on this network
    #[arg(long = "mac-address")]
    pub mac_address: Option<String>,
    pub network: String,
    pub container: String,
}

#[derive(Args, Debug)]
pub struct NetworkDisconnectArgs {
    /// Force the container to disconnect from the network
    #[arg(short, long)]
    pub force: bool,
    pub network: String,
    pub container: String,
}

#[derive(Args, Debug)]
pub struct NetworkCreateArgs {
    /// Driver to manage the network
    #[arg(short, long, default_value = "bridge")]
    pub driver: String,
    /// Subnet in CIDR format
    #[arg(long)]
    pub subnet: Vec<String>,
    /// IPv4 gateway for the subnet
    #[arg(long)]
    pub gateway: Option<String>,
    /// Restrict external access from this network
    #[arg(long)]
    pub internal: bool,
    /// Enable IPv6 networking
    #[arg(long)]
    pub ipv6: bool,
    /// Interface name which is used by the driver
    #[arg(long = "interface-name")]
    pub interface_name: Option<String>,
    /// Set metadata on a network
    #[arg(long)]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short, long)]
    pub opt: Vec<String>,
    /// Disable the network's DNS plugin
    #[arg(long = "disable-dns")]
    pub disable_dns: bool,
    /// Do not fail when the network already exists
    #[arg(long = "ignore")]
    pub ignore: bool,
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct NetworkLsArgs {
    /// Display only the network names
    #[arg(short, long)]
    pub quiet: bool,
    /// Pretty-print networks to JSON or using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Provide filter values (name=, driver=, label=)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Do not truncate the network ID
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Do not print headers
    #[arg(long)]
    pub noheading: bool,
}

#[derive(Args, Debug)]
pub struct NetworkInspectArgs {
    /// Pretty-print network to JSON or using a Go template
    #[arg(short, long)]
    pub format: Option<String>,
    #[arg(required = true)]
    pub networks: Vec<String>,
}

#[derive(Args, Debug)]
pub struct NetworkRmArgs {
    /// Remove any containers using the network (and ignore networks that do not exist)
    #[arg(short, long)]
    pub force: bool,
    /// Seconds to wait for containers to stop before killing them (accepted, as for rm)
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
    #[arg(required = true)]
    pub networks: Vec<String>,
}

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Filter output (container=, event=, image=, label=, type=, volume=, network=)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format the output using a Go template or json
    #[arg(long)]
    pub format: Option<String>,
    /// Show all events created since TIMESTAMP
    #[arg(long)]
    pub since: Option<String>,
    /// Show all events created until TIMESTAMP
    #[arg(long)]
    pub until: Option<String>,
    /// Stream new events (false: print the existing ones and exit)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub stream: bool,
    /// Do not truncate IDs
    #[arg(long = "no-trunc", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub no_trunc: bool,
}

#[derive(Subcommand, Debug)]
pub enum SecretCommand {
    /// Create a new secret
    Create(SecretCreateArgs),
    /// List secrets
    #[command(alias = "list")]
    Ls(SecretLsArgs),
    /// Inspect a secret
    Inspect(SecretInspectArgs),
    /// Remove one or more secrets
    #[command(alias = "remove")]
    Rm(SecretRmArgs),
    /// Check if a secret exists (exit code 0 or 1)
    Exists(NameArg),
}

#[derive(Args, Debug)]
pub struct SecretCreateArgs {
    /// Specify secret driver (only file)
    #[arg(short, long)]
    pub driver: Option<String>,
    /// Read secret data from the environment variable named by the second argument
    #[arg(long)]
    pub env: bool,
    /// Add labels to the secret (KEY=VALUE)
    #[arg(short, long)]
    pub label: Vec<String>,
    /// If a secret with the same name exists, replace it
    #[arg(long)]
    pub replace: bool,
    pub name: String,
    /// A file, - for standard input, or with --env a variable's name
    pub file: String,
}

#[derive(Args, Debug)]
pub struct SecretLsArgs {
    /// Format volume output using Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Do not print headers
    #[arg(short, long)]
    pub noheading: bool,
    /// Print secret IDs only
    #[arg(short, long)]
    pub quiet: bool,
    /// Filter secret output (name=, id=)
    #[arg(short, long)]
    pub filter: Vec<String>,
}

#[derive(Args, Debug)]
pub struct SecretInspectArgs {
    /// Format secret output using Go template
    #[arg(short, long)]
    pub format: Option<String>,
    #[arg(required = true)]
    pub secrets: Vec<String>,
}

#[derive(Args, Debug)]
pub struct SecretRmArgs {
    /// Remove all secrets
    #[arg(short, long)]
    pub all: bool,
    /// Ignore errors when a specified secret is missing
    #[arg(short, long)]
    pub ignore: bool,
    pub secrets: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum VolumeCommand {
    /// Create a new volume
    Create(VolumeCreateArgs),
    /// List volumes
    #[command(alias = "list")]
    Ls(VolumeLsArgs),
    /// Display detailed information on one or more volumes
    Inspect(VolumeInspectArgs),
    /// Remove one or more volumes
    #[command(alias = "remove")]
    Rm(VolumeRmArgs),
    /// Remove all unused volumes
    Prune(VolumePruneArgs),
    /// Check if a volume exists (exit code 0 or 1)
    Exists(NameArg),
}

#[derive(Args, Debug)]
pub struct VolumeCreateArgs {
    /// Volume driver (only local)
    #[arg(short, long)]
    pub driver: Option<String>,
    /// Set metadata for a volume (KEY=VALUE)
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Set driver specific options (KEY=VALUE)
    #[arg(short, long)]
    pub opt: Vec<String>,
    /// Do not fail if the volume already exists
    #[arg(long)]
    pub ignore: bool,
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct VolumeLsArgs {
    /// Print only the volume names
    #[arg(short, long)]
    pub quiet: bool,
    /// Format volume output using JSON or a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Filter volume output (name=, label=, driver=, dangling=)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Do not print headers
    #[arg(short = 'n', long)]
    pub noheading: bool,
}

#[derive(Args, Debug)]
pub struct VolumeInspectArgs {
    /// Format volume output using JSON or a Go template
    #[arg(short, long)]
    pub format: Option<String>,
    /// Inspect all volumes
    #[arg(short, long)]
    pub all: bool,
    pub volumes: Vec<String>,
}

#[derive(Args, Debug)]
pub struct VolumeRmArgs {
    /// Remove the containers using the volume first (and ignore volumes that do not exist)
    #[arg(short, long)]
    pub force: bool,
    /// Remove all volumes
    #[arg(short, long)]
    pub all: bool,
    /// Seconds to wait for containers to stop (accepted, as for rm)
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
    pub volumes: Vec<String>,
}

#[derive(Args, Debug)]
pub struct VolumePruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct NetworkPruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Tagged name to apply to the built image
    #[arg(short, long = "tag")]
    pub tag: Vec<String>,
    /// Pathname or URL of a Dockerfile
    #[arg(short, long)]
    pub file: Option<PathBuf>,
    /// Argument=value to supply to the builder
    #[arg(long = "build-arg", value_name = "ARG=VALUE")]
    pub build_arg: Vec<String>,
    /// Set the target build stage to build
    #[arg(long)]
    pub target: Option<String>,
    /// Set metadata for an image (default [])
    #[arg(long)]
    pub label: Vec<String>,
    /// Do not use existing cached images for the container build
    #[arg(long = "no-cache")]
    pub no_cache: bool,
    /// Use intermediate images as a cache (default true)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub layers: Option<bool>,
    /// Refrain from announcing build instructions and image read/write progress
    #[arg(short, long)]
    pub quiet: bool,
    /// Format of the built image's manifest and metadata (oci or docker)
    #[arg(long, default_value = "oci")]
    pub format: String,
    /// Pull image policy: always, missing, never or newer (--pull alone: always)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "always")]
    pub pull: Option<String>,
    /// Always pull the base images
    #[arg(long = "pull-always", hide = true)]
    pub pull_always: bool,
    /// Never pull the base images
    #[arg(long = "pull-never", hide = true)]
    pub pull_never: bool,
    /// Write the image ID to the file
    #[arg(long)]
    pub iidfile: Option<PathBuf>,
    /// Set created timestamp to the specified epoch seconds; also the time of new files
    #[arg(long)]
    pub timestamp: Option<i64>,
    /// Network mode for RUN instructions (host or none)
    #[arg(long)]
    pub network: Option<String>,
    /// Path to an alternate .containerignore file
    #[arg(long)]
    pub ignorefile: Option<PathBuf>,
    /// Secret file for RUN --mount=type=secret (id=ID,src=PATH)
    #[arg(long)]
    pub secret: Vec<String>,
    /// Squash the layers the build adds into one (implies --layers=false)
    #[arg(long)]
    pub squash: bool,
    /// Squash all of the image's layers, base included, into one
    #[arg(long = "squash-all")]
    pub squash_all: bool,
    /// Set the platform of the base images
    #[arg(long)]
    pub platform: Option<String>,
    /// Remove intermediate containers after a successful build (always done)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", hide = true)]
    pub rm: Option<bool>,
    /// Always remove intermediate containers (always done)
    #[arg(long = "force-rm", value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", hide = true)]
    pub force_rm: Option<bool>,
    /// The build context directory
    #[arg(default_value = ".")]
    pub context: PathBuf,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Apply the following possible instructions to the created image: CMD | ENTRYPOINT | ENV | EXPOSE | LABEL | STOPSIGNAL | USER | WORKDIR
    #[arg(short, long)]
    pub change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short, long)]
    pub message: Option<String>,
    /// Suppress output
    #[arg(short, long)]
    pub quiet: bool,
    /// Tarball path, or - for standard input
    pub path: String,
    pub reference: Option<String>,
}

#[derive(Args, Debug)]
pub struct TagArgs {
    pub image: String,
    #[arg(required = true)]
    pub targets: Vec<String>,
}

#[derive(Args, Debug)]
pub struct UntagArgs {
    pub image: String,
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmiArgs {
    /// Remove all images
    #[arg(short, long)]
    pub all: bool,
    /// Force removal of the image and any containers using it (implies --ignore)
    #[arg(short, long)]
    pub force: bool,
    /// Ignore errors if a specified image does not exist
    #[arg(short, long)]
    pub ignore: bool,
    pub images: Vec<String>,
}

#[derive(Args, Debug)]
pub struct FormatArgs {
    /// Change the output format to JSON or a Go template
    #[arg(short, long)]
    pub format: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap's own check of the whole tree (two options with one short name, say): in release
    /// builds a conflict would only show as a wrong parse.
    #[test]
    fn the_command_tree_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    fn both(line: &str) -> (Option<String>, String) {
        let args: Vec<std::ffi::OsString> = line.split(' ').map(Into::into).collect();
        let fast = Cli::parse_run(&args).map(|cli| format!("{cli:?}"));
        let full = format!("{:?}", Cli::try_parse_from(&args).map_err(|e| e.kind()));
        (fast, full)
    }

    #[test]
    fn run_parses_alone_as_in_the_whole_tree() {
        for line in [
            "skiff run --rm busybox true",
            "skiff --root /r --runroot=/rr run -d --name web -e A=1 -e B=2 -p 80:80 busybox sleep 9",
            "skiff run -it --rm --network none -v /a:/b:ro --memory 10m busybox sh -c 'exit 3'",
            "skiff run --rm --name x --name y busybox echo -n hi --rm",
        ] {
            let (fast, full) = both(line);
            assert_eq!(fast.map(|f| format!("Ok({f})")), Some(full), "{line}");
        }
    }

    #[test]
    fn what_run_alone_does_not_take_goes_to_the_whole_tree() {
        for line in [
            "skiff run --help",
            "skiff run --bogus busybox",
            "skiff run",
            "skiff --bogus run busybox",
            "skiff ps -a",
            "skiff container run busybox",
        ] {
            assert_eq!(both(line).0, None, "{line}");
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum PodCommand {
    /// Create a new empty pod
    Create(Box<PodCreateArgs>),
    /// Start one or more pods
    Start(PodTargets),
    /// Stop one or more pods
    Stop(PodStopArgs),
    /// Restart one or more pods
    Restart(PodTargets),
    /// Send the specified signal or SIGKILL to containers in pod
    Kill(PodKillArgs),
    /// Pause one or more pods
    Pause(PodTargets),
    /// Unpause one or more pods
    Unpause(PodTargets),
    /// Remove one or more pods
    Rm(PodRmArgs),
    /// Remove all stopped pods and their containers
    Prune(VolumePruneArgs),
    /// List pods
    #[command(alias = "ls", alias = "list")]
    Ps(PodPsArgs),
    /// Display a pod configuration
    Inspect(PodInspectArgs),
    /// Check if a pod exists in local storage (exit code 0 or 1)
    Exists(NameArg),
    /// Display the running processes of containers in a pod
    Top(PodTopArgs),
    /// Fetch logs for pod with one or more containers
    Logs(PodLogsArgs),
    /// Display a live stream of resource usage statistics for the containers in pods
    Stats(PodStatsArgs),
}

#[derive(Args, Debug)]
pub struct PodStatsArgs {
    /// Provide stats for all pods (the default without names)
    #[arg(short, long)]
    pub all: bool,
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// Do not reset the terminal between samples
    #[arg(long = "no-reset")]
    pub no_reset: bool,
    /// Pretty-print pod statistics to JSON or using a Go template
    #[arg(long)]
    pub format: Option<String>,
    pub pods: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PodCreateArgs {
    /// Assign a name to the pod
    #[arg(short, long)]
    pub name: Option<String>,
    /// Publish a container's port, or range of ports, to the host
    #[arg(short, long, value_name = "PORT")]
    pub publish: Vec<String>,
    /// Connect the pod to a network
    #[arg(long = "network", alias = "net", value_name = "MODE")]
    pub network: Vec<String>,
    /// Specify a static IPv4 address for the pod
    #[arg(long)]
    pub ip: Option<String>,
    /// Specify a static MAC address for the pod
    #[arg(long = "mac-address")]
    pub mac_address: Option<String>,
    /// Add a network-scoped alias for the pod
    #[arg(long = "network-alias")]
    pub network_alias: Vec<String>,
    /// A comma-separated list of kernel namespaces to share (cgroup, ipc, net, pid, uts, none)
    #[arg(long)]
    pub share: Option<String>,
    /// Create an infra container associated with the pod to share namespaces with
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub infra: Option<bool>,
    /// The image to use as the infra container's
    #[arg(long = "infra-image")]
    pub infra_image: Option<String>,
    /// The command to run on the infra container when the pod is started
    #[arg(long = "infra-command")]
    pub infra_command: Option<String>,
    /// The name used as infra container name
    #[arg(long = "infra-name")]
    pub infra_name: Option<String>,
    /// Set the pod's hostname
    #[arg(long)]
    pub hostname: Option<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host")]
    pub add_host: Vec<String>,
    /// Set custom DNS servers
    #[arg(long)]
    pub dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search")]
    pub dns_search: Vec<String>,
    /// Set custom DNS options
    #[arg(long = "dns-option", alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Do not create /etc/hosts for the pod
    #[arg(long = "no-hosts")]
    pub no_hosts: bool,
    /// Set metadata on the pod (KEY=VALUE)
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Bind mount a volume into every container of the pod
    #[arg(short, long)]
    pub volume: Vec<String>,
    /// Write the pod ID to the file
    #[arg(long = "pod-id-file")]
    pub pod_id_file: Option<std::path::PathBuf>,
    /// What happens when the pod's last container exits: continue, or stop (the infra too)
    #[arg(long = "exit-policy", value_name = "POLICY")]
    pub exit_policy: Option<String>,
    /// If a pod with the same name exists, replace it
    #[arg(long)]
    pub replace: bool,
    #[command(flatten)]
    pub resources: PodResourceArgs,
    #[command(flatten)]
    pub user_namespace: UserNamespaceArgs,
    /// The pod's name (as --name)
    #[arg(value_name = "NAME")]
    pub pod_name: Option<String>,
}

/// `--userns`, `--uidmap` and `--gidmap` of `run`, `create` and `pod create`.
#[derive(Args, Debug, Clone, Default)]
pub struct UserNamespaceArgs {
    /// User namespace: host, keep-id[:uid=UID,gid=GID] (your IDs are the same inside; rootless),
    /// nomap or container:NAME
    #[arg(long, value_name = "MODE", overrides_with = "userns")]
    pub userns: Option<String>,
    /// A user namespace mapping container UIDs: CONTAINER_ID:HOST_ID:SIZE (rootless: IDs of
    /// skiff's user namespace, where you are 0)
    #[arg(long, value_name = "MAP")]
    pub uidmap: Vec<String>,
    /// A user namespace mapping container GIDs: CONTAINER_ID:HOST_ID:SIZE
    #[arg(long, value_name = "MAP")]
    pub gidmap: Vec<String>,
}

/// The limits of a pod's cgroup, which all its containers share (Podman's `pod create` flags;
/// the engine refuses the container-only ones among `ResourceArgs`).
#[derive(Args, Debug)]
pub struct PodResourceArgs {
    /// Memory limit (format: <number>[<unit>], where unit = b, k, m or g)
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Number of CPUs
    #[arg(long, allow_hyphen_values = true)]
    pub cpus: Option<f64>,
    #[command(flatten)]
    pub limits: ResourceArgs,
    /// Optional parent cgroup for the pod
    #[arg(long = "cgroup-parent")]
    pub cgroup_parent: Option<String>,
    /// Set the pod's cgroup as the cgroup parent for all containers joining the pod
    #[arg(long = "share-parent", num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub share_parent: Option<bool>,
}

impl PodResourceArgs {
    /// The flags as the pod's limit options.
    pub fn options(&self) -> skiff_engine::LimitOptions {
        skiff_engine::LimitOptions {
            cgroup_parent: self.cgroup_parent.clone(),
            ..self.limits.options()
        }
    }
}

#[derive(Args, Debug)]
pub struct PodTargets {
    /// Act on all pods
    #[arg(short, long)]
    pub all: bool,
    /// Act on the latest pod
    #[arg(short, long)]
    pub latest: bool,
    pub pods: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PodStopArgs {
    #[command(flatten)]
    pub targets: PodTargets,
    /// Ignore errors when a specified pod is missing
    #[arg(short, long)]
    pub ignore: bool,
    /// Seconds to wait for the pod to stop before killing its containers
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
}

#[derive(Args, Debug)]
pub struct PodKillArgs {
    #[command(flatten)]
    pub targets: PodTargets,
    /// Signal to send to the containers in the pod
    #[arg(short, long, default_value = "KILL", allow_hyphen_values = true)]
    pub signal: String,
}

#[derive(Args, Debug)]
pub struct PodRmArgs {
    #[command(flatten)]
    pub targets: PodTargets,
    /// Stop and remove running pods (implies --ignore)
    #[arg(short, long)]
    pub force: bool,
    /// Ignore errors when a specified pod is missing
    #[arg(short, long)]
    pub ignore: bool,
    /// Seconds to wait for the pod to stop before killing its containers (with --force)
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
    /// Read the pod ID from the file (which is removed with the pod)
    #[arg(long = "pod-id-file")]
    pub pod_id_file: Vec<std::path::PathBuf>,
}

#[derive(Args, Debug)]
pub struct PodPsArgs {
    /// Display the container names
    #[arg(long = "ctr-names")]
    pub ctr_names: bool,
    /// Display the container IDs
    #[arg(long = "ctr-ids")]
    pub ctr_ids: bool,
    /// Display the container status
    #[arg(long = "ctr-status")]
    pub ctr_status: bool,
    /// Filter output based on conditions given (KEY=VALUE)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Pretty-print pods to JSON or using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Do not print headers
    #[arg(short = 'n', long)]
    pub noheading: bool,
    /// Do not truncate pod and container IDs
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Print the IDs of the pods only
    #[arg(short, long)]
    pub quiet: bool,
    /// Sort output by created, id, name, number or status
    #[arg(long, default_value = "created")]
    pub sort: String,
    /// Show the latest pod only
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Args, Debug)]
pub struct PodInspectArgs {
    /// Format the output using a Go template or json
    #[arg(short, long)]
    pub format: Option<String>,
    /// Inspect the latest pod
    #[arg(short, long)]
    pub latest: bool,
    pub pods: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PodTopArgs {
    /// Act on the latest pod
    #[arg(short, long)]
    pub latest: bool,
    pub pod: String,
    /// ps descriptors (as `top`)
    pub descriptors: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PodLogsArgs {
    /// Filter logs by container name or ID which belongs to the pod
    #[arg(short, long)]
    pub container: Option<String>,
    #[command(flatten)]
    pub logs: LogsOptions,
    pub pod: String,
}

#[derive(Subcommand, Debug)]
pub enum HealthcheckCommand {
    /// Run the healthcheck of a container
    Run(NameArg),
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Show all containers (the running ones: stopped ones use nothing)
    #[arg(short, long)]
    pub all: bool,
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// Do not reset the terminal between samples
    #[arg(long = "no-reset")]
    pub no_reset: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Pretty-print container statistics to JSON or using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Time in seconds between stats reports
    #[arg(short, long, default_value_t = 5)]
    pub interval: u64,
    /// Act on the latest container
    #[arg(short, long)]
    pub latest: bool,
    pub containers: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum GenerateCommand {
    /// Generate systemd units for a container or a pod
    Systemd(Box<GenerateSystemdArgs>),
    /// Generate Kubernetes YAML from containers, pods or volumes
    #[command(override_usage = "skiff generate kube [options] {CONTAINER...|POD...|VOLUME...}")]
    Kube(KubeGenerateArgs),
}
#[derive(Subcommand, Debug)]
pub enum KubeCommand {
    /// Generate Kubernetes YAML from containers, pods or volumes
    #[command(override_usage = "skiff kube generate [options] {CONTAINER...|POD...|VOLUME...}")]
    Generate(KubeGenerateArgs),
    /// Play a pod or volume from a Kubernetes YAML file
    #[command(override_usage = "skiff kube play [options] KUBEFILE|-")]
    Play(KubePlayArgs),
    /// Remove the pods a Kubernetes YAML file made
    #[command(override_usage = "skiff kube down [options] KUBEFILE|-")]
    Down(KubeDownArgs),
}

/// `play kube`: kube play's old name, as Podman keeps it.
#[derive(Subcommand, Debug)]
pub enum PlayCommand {
    /// Play a pod or volume from a Kubernetes YAML file
    #[command(override_usage = "skiff play kube [options] KUBEFILE|-")]
    Kube(KubePlayArgs),
}

#[derive(Args, Debug)]
pub struct KubeGenerateArgs {
    /// Write output to the specified path
    #[arg(short, long)]
    pub filename: Option<PathBuf>,
    /// Generate YAML for a Kubernetes service object
    #[arg(short, long)]
    pub service: bool,
    /// Generate YAML for the given Kubernetes kind: pod, deployment or daemonset
    #[arg(short = 't', long = "type", default_value = "pod")]
    pub kind: String,
    /// Set the replica number for Deployment kind
    #[arg(short, long)]
    pub replicas: Option<u32>,
    #[arg(required = true, value_name = "CONTAINER|POD|VOLUME")]
    pub targets: Vec<String>,
}

#[derive(Args, Debug)]
pub struct KubePlayArgs {
    /// Start the pod after creating it
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub start: bool,
    /// Delete and recreate pods and containers that already exist
    #[arg(long)]
    pub replace: bool,
    /// Stop and remove the pods the file made (kube down)
    #[arg(long)]
    pub down: bool,
    /// Connect the pods to this network (host, none, NAME)
    #[arg(long)]
    pub network: Vec<String>,
    /// Publish a container's port, or a range of ports, to the host
    #[arg(long)]
    pub publish: Vec<String>,
    /// YAML files holding ConfigMaps the pods use (a comma list)
    #[arg(long, value_delimiter = ',')]
    pub configmap: Vec<PathBuf>,
    /// Suppress output information when pulling images
    #[arg(short, long)]
    pub quiet: bool,
    /// Build all images in a YAML (given Containerfiles); --build=false builds none
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub build: Option<bool>,
    /// Path to top level of context directory (default: the YAML file's directory)
    #[arg(long = "context-dir")]
    pub context_dir: Option<PathBuf>,
    /// Run the pods in the foreground until their containers exit or Ctrl-C, then take down what the file made
    #[arg(short, long)]
    pub wait: bool,
    /// Add an annotation to the containers or pods (KEY=VALUE)
    #[arg(long, value_name = "KEY=VALUE")]
    pub annotation: Vec<String>,
    /// Every pod's user namespace: host or keep-id[:uid=UID,gid=GID] (rootless)
    #[arg(long, value_name = "MODE")]
    pub userns: Option<String>,
    /// The YAML file, or - for standard input
    #[arg(value_name = "KUBEFILE")]
    pub file: String,
}

#[derive(Args, Debug)]
pub struct KubeDownArgs {
    /// Also remove the volumes of the file's PersistentVolumeClaims
    #[arg(long)]
    pub force: bool,
    /// The YAML file, or - for standard input
    #[arg(value_name = "KUBEFILE")]
    pub file: String,
}

#[derive(Args, Debug)]
pub struct GenerateSystemdArgs {
    /// Use container/pod names instead of IDs
    #[arg(short, long)]
    pub name: bool,
    /// Create a new container or pod instead of starting an existing one
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set, default_value_t = false)]
    pub new: bool,
    /// Generate .service files instead of printing to stdout
    #[arg(short, long)]
    pub files: bool,
    /// Print the units as JSON (json)
    #[arg(long)]
    pub format: Option<String>,
    /// systemd restart-policy (no, on-success, on-failure, on-abnormal, on-watchdog, on-abort, always)
    #[arg(long = "restart-policy")]
    pub restart_policy: Option<String>,
    /// systemd restart-sec
    #[arg(long = "restart-sec")]
    pub restart_sec: Option<u64>,
    /// Stop timeout override
    #[arg(short = 't', long = "time", alias = "stop-timeout")]
    pub time: Option<u64>,
    /// Start timeout override
    #[arg(long = "start-timeout")]
    pub start_timeout: Option<u64>,
    /// Systemd unit name prefix for containers
    #[arg(long = "container-prefix")]
    pub container_prefix: Option<String>,
    /// Systemd unit name prefix for pods
    #[arg(long = "pod-prefix")]
    pub pod_prefix: Option<String>,
    /// Systemd unit name separator between name/id and prefix
    #[arg(long)]
    pub separator: Option<String>,
    /// Skip header generation
    #[arg(long = "no-header")]
    pub no_header: bool,
    /// Make it a template file and use %i and %I specifiers (with --new)
    #[arg(long)]
    pub template: bool,
    /// Environment variables for the systemd unit files (KEY=VALUE, or KEY for this process's)
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Add (weak) requirement dependencies to the generated unit file
    #[arg(long)]
    pub wants: Vec<String>,
    /// Add dependencies order to the generated unit file
    #[arg(long)]
    pub after: Vec<String>,
    /// Similar to wants, but declares stronger requirement dependencies
    #[arg(long)]
    pub requires: Vec<String>,
    pub target: String,
}

#[derive(Subcommand, Debug)]
pub enum QuadletCommand {
    /// List the installed Quadlets
    #[command(alias = "ls")]
    List(QuadletListArgs),
    /// Print the contents of an installed Quadlet
    Print(QuadletPrintArgs),
    /// Install Quadlet files (.container, .volume, .network, .pod, .kube, .image, .build)
    Install(QuadletInstallArgs),
    /// Remove installed Quadlets
    Rm(QuadletRmArgs),
}

#[derive(Args, Debug)]
pub struct QuadletListArgs {
    /// Pretty-print output to JSON or using a Go template
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct QuadletPrintArgs {
    /// The Quadlet's file name, e.g. web.container
    pub name: String,
}

#[derive(Args, Debug)]
pub struct QuadletInstallArgs {
    /// Replace an installed Quadlet of the same name
    #[arg(long)]
    pub replace: bool,
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct QuadletRmArgs {
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeArgs {
    /// Compose configuration files (later ones override earlier ones)
    #[arg(short, long = "file")]
    pub file: Vec<PathBuf>,
    /// Project name
    #[arg(short, long = "project-name")]
    pub project_name: Option<String>,
    /// Alternate working directory (default: the first file's directory)
    #[arg(long = "project-directory")]
    pub project_directory: Option<PathBuf>,
    /// Alternate environment file (default: .env in the project directory)
    #[arg(long = "env-file")]
    pub env_file: Vec<PathBuf>,
    /// Enable services of this profile
    #[arg(long)]
    pub profile: Vec<String>,
    #[command(subcommand)]
    pub command: ComposeCommand,
}

#[derive(Subcommand, Debug)]
pub enum ComposeCommand {
    /// Create and start the project's containers
    Up(ComposeUpArgs),
    /// Stop and remove the project's containers and networks
    Down(ComposeDownArgs),
    /// List the project's containers
    Ps(ComposePsArgs),
    /// View output from the project's containers
    Logs(ComposeLogsArgs),
    /// Parse, resolve and render the Compose file in canonical format
    Config(ComposeConfigArgs),
    /// Start the services' existing containers
    Start(ComposeServicesArgs),
    /// Stop the services' containers
    Stop(ComposeStopArgs),
    /// Restart the services' containers
    Restart(ComposeStopArgs),
    /// Execute a command in a service's running container
    Exec(ComposeExecArgs),
    /// Build or rebuild the services' images
    Build(ComposeBuildArgs),
    /// Pull the services' images
    Pull(ComposePullArgs),
    /// Push the services' built images to their registries
    Push(ComposeServicesArgs),
    /// Create the services' containers without starting them
    Create(ComposeCreateArgs),
    /// Remove the services' stopped containers
    Rm(ComposeRmArgs),
    /// Force the services' containers to stop
    Kill(ComposeKillArgs),
    /// Pause the services' containers
    Pause(ComposeServicesArgs),
    /// Unpause the services' containers
    Unpause(ComposeServicesArgs),
    /// Display the running processes of the services' containers
    Top(ComposeServicesArgs),
    /// Print the public port for a port binding
    Port(ComposePortArgs),
    /// List the images the project's containers use
    Images(ComposeImagesArgs),
    /// List running compose projects
    Ls(ComposeLsArgs),
    /// Run a one-off command in a new container of a service
    Run(ComposeRunArgs),
    /// Receive real time events from the project's containers
    Events(ComposeEventsArgs),
    /// Scale services (SERVICE=NUM ...)
    Scale(ComposeScaleArgs),
    /// Block until the services' containers stop, printing their exit codes
    Wait(ComposeWaitArgs),
    /// Show the compose version information
    Version(ComposeVersionArgs),
    /// Copy files between a service's container and the local filesystem
    Cp(ComposeCpArgs),
}

#[derive(Args, Debug)]
pub struct ComposeCpArgs {
    /// Index of the container if the service has multiple replicas
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    /// Archive mode (copy all uid/gid information)
    #[arg(short, long)]
    pub archive: bool,
    /// SRC: SERVICE:PATH, a local path, or - (a tar stream on stdin)
    pub source: String,
    /// DEST: SERVICE:PATH, a local path, or - (a tar stream on stdout)
    pub destination: String,
}

#[derive(Args, Debug)]
pub struct ComposeScaleArgs {
    /// Don't start linked services
    #[arg(long = "no-deps")]
    pub no_deps: bool,
    #[arg(required = true, value_name = "SERVICE=REPLICAS")]
    pub scale: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeWaitArgs {
    /// Drops the project when the first container stops
    #[arg(long = "down-project")]
    pub down_project: bool,
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeVersionArgs {
    /// Shows only the version number
    #[arg(long)]
    pub short: bool,
    /// Format the output: pretty (default) or json
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct ComposeEventsArgs {
    /// Output events as a stream of json objects
    #[arg(long)]
    pub json: bool,
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeBuildArgs {
    /// Do not use cache when building the image
    #[arg(long = "no-cache")]
    pub no_cache: bool,
    /// Always attempt to pull a newer version of the image
    #[arg(long)]
    pub pull: bool,
    /// Don't print anything to STDOUT
    #[arg(short, long)]
    pub quiet: bool,
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposePullArgs {
    /// Pull what it can and ignores images with pull failures
    #[arg(long = "ignore-pull-failures")]
    pub ignore_pull_failures: bool,
    /// Pull without printing progress information
    #[arg(short, long)]
    pub quiet: bool,
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeCreateArgs {
    /// Build images before starting containers
    #[arg(long)]
    pub build: bool,
    /// Recreate containers even if their configuration and image haven't changed
    #[arg(long = "force-recreate")]
    pub force_recreate: bool,
    /// If containers already exist, don't recreate them
    #[arg(long = "no-recreate", conflicts_with = "force_recreate")]
    pub no_recreate: bool,
    /// Scale SERVICE to NUM instances (SERVICE=NUM)
    #[arg(long)]
    pub scale: Vec<String>,
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeRmArgs {
    /// Don't ask to confirm removal
    #[arg(short, long)]
    pub force: bool,
    /// Stop the containers, if required, before removing
    #[arg(short, long)]
    pub stop: bool,
    /// Remove any anonymous volumes attached to containers
    #[arg(short, long)]
    pub volumes: bool,
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeKillArgs {
    /// SIGNAL to send to the container
    #[arg(short, long, default_value = "SIGKILL")]
    pub signal: String,
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposePortArgs {
    /// tcp or udp
    #[arg(long, default_value = "tcp")]
    pub protocol: String,
    /// Index of the container if the service has multiple replicas
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    pub service: String,
    #[arg(value_name = "PRIVATE_PORT")]
    pub port: u16,
}

#[derive(Args, Debug)]
pub struct ComposeImagesArgs {
    /// Only display IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Format the output: table (default) or json
    #[arg(long)]
    pub format: Option<String>,
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeLsArgs {
    /// Show all stopped Compose projects
    #[arg(short, long)]
    pub all: bool,
    /// Only display project names
    #[arg(short, long)]
    pub quiet: bool,
    /// Format the output: table (default), json, or a Go template
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
#[command(trailing_var_arg = true)]
pub struct ComposeRunArgs {
    /// Run container in background and print container ID
    #[arg(short, long)]
    pub detach: bool,
    /// Automatically remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Add or override a label
    #[arg(short, long = "label")]
    pub label: Vec<String>,
    /// Override the entrypoint of the image
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Don't start linked services
    #[arg(long = "no-deps")]
    pub no_deps: bool,
    /// Disable pseudo-TTY allocation (default: auto-detected)
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Run as specified username or uid
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Publish a container's port(s) to the host
    #[arg(short, long)]
    pub publish: Vec<String>,
    /// Run command with the service's ports enabled and mapped to the host
    #[arg(long = "service-ports")]
    pub service_ports: bool,
    /// Bind mount a volume
    #[arg(short, long)]
    pub volume: Vec<String>,
    /// Build the image before starting the container
    #[arg(long)]
    pub build: bool,
    pub service: String,
    /// Command and its arguments
    #[arg(allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
#[command(trailing_var_arg = true)]
pub struct ComposeExecArgs {
    /// Detached mode: run the command in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Disable pseudo-TTY allocation (by default one is allocated when stdin is a terminal)
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Set environment variables
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Run the command as this user
    #[arg(short, long)]
    pub user: Option<String>,
    /// Path to workdir directory for this command
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Give extended privileges to the process
    #[arg(long)]
    pub privileged: bool,
    pub service: String,
    /// Command and its arguments
    #[arg(required = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeUpArgs {
    /// Detached mode: run the containers in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Recreate containers even if they exist
    #[arg(long = "force-recreate")]
    pub force_recreate: bool,
    /// Don't start the services after creating them
    #[arg(long = "no-start")]
    pub no_start: bool,
    /// If containers already exist, don't recreate them
    #[arg(long = "no-recreate", conflicts_with = "force_recreate")]
    pub no_recreate: bool,
    /// Don't start linked services
    #[arg(long = "no-deps")]
    pub no_deps: bool,
    /// Remove containers for services not defined in the Compose file
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
    /// Build images before starting containers
    #[arg(long)]
    pub build: bool,
    /// Scale SERVICE to NUM instances (SERVICE=NUM)
    #[arg(long)]
    pub scale: Vec<String>,
    /// Seconds containers have to stop when they are replaced or brought down
    #[arg(short, long)]
    pub timeout: Option<u64>,
    /// Wait for services to be running|healthy (implies detached mode)
    #[arg(long)]
    pub wait: bool,
    /// Stops all containers if any container was stopped (attached mode)
    #[arg(long = "abort-on-container-exit", conflicts_with = "detach")]
    pub abort_on_container_exit: bool,
    /// Return the exit code of the selected service container (implies --abort-on-container-exit)
    #[arg(long = "exit-code-from", conflicts_with = "detach")]
    pub exit_code_from: Option<String>,
    /// Don't print prefix in logs
    #[arg(long = "no-log-prefix")]
    pub no_log_prefix: bool,
    /// Produce monochrome output
    #[arg(long = "no-color")]
    pub no_color: bool,
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeDownArgs {
    /// Remove named volumes declared in the volumes section
    #[arg(short, long)]
    pub volumes: bool,
    /// Shutdown timeout in seconds
    #[arg(short, long)]
    pub timeout: Option<u64>,
    /// Remove images used by services: "local" removes only images that don't have a custom tag, "all" every one
    #[arg(long, value_parser = ["local", "all"])]
    pub rmi: Option<String>,
    /// Remove containers for services not defined in the Compose file (down always does)
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
}

#[derive(Args, Debug)]
pub struct ComposePsArgs {
    /// Show all stopped containers too
    #[arg(short, long)]
    pub all: bool,
    /// Only display IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Display services
    #[arg(long)]
    pub services: bool,
    /// Format the output: table (default), json, or a Go template
    #[arg(long)]
    pub format: Option<String>,
    #[arg(value_name = "SERVICE")]
    pub only: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeLogsArgs {
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long)]
    pub tail: Option<usize>,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Don't print prefix in logs
    #[arg(long = "no-log-prefix")]
    pub no_log_prefix: bool,
    /// Produce monochrome output
    #[arg(long = "no-color")]
    pub no_color: bool,
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeConfigArgs {
    /// Print the service names, one per line
    #[arg(long)]
    pub services: bool,
    /// Print the volume names, one per line
    #[arg(long)]
    pub volumes: bool,
    /// Only validate the configuration, don't print anything
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct ComposeServicesArgs {
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeStopArgs {
    /// Shutdown timeout in seconds
    #[arg(short, long)]
    pub timeout: Option<u64>,
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct DashboardArgs {
    /// Address to listen on (a non-loopback address is reachable by others: mind the token)
    #[arg(long, default_value = "127.0.0.1")]
    pub address: String,
    /// Port to listen on
    #[arg(long, default_value_t = 9090)]
    pub port: u16,
    /// Do not open the address in a browser
    #[arg(long = "no-browser")]
    pub no_browser: bool,
}
