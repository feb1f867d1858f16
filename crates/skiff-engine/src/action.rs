//! The action helper: how a multi-threaded process (the REST API server, kube play, compose,
//! healthchecks) runs a container action. The engine forks, enters user namespaces and joins
//! containers, none of which a multi-threaded process may do, so such a caller spawns
//! `skiff __action REQUEST` (a plain spawn, safe from any thread) with the streams it chooses
//! (sockets or pipes) as the helper's stdin, stdout and stderr, and a control socket as its
//! descriptor 3. The helper opens the engine in the namespaces the action needs
//! ([`Engine::open_in`], as the CLI does) and makes the same engine call the CLI makes.
//!
//! This file is the whole contract between the two processes:
//! - the request is one JSON [`Request`] in the helper's argument list (so a re-execution from
//!   a sealed copy, see `skiff_runtime::sealed`, keeps it);
//! - the caller writes [`Control`] lines (JSON) on the control socket: window resizes of the
//!   terminal it proxies;
//! - the helper writes [`Event`] lines: warnings and a pull's progress as they come, then
//!   exactly one `Done` with a [`Report`] or an [`ActionError`] (a typed error: kind, message,
//!   Podman's exit code).
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::container::commit::CommitOptions;
use crate::container::cp::{CopyTarget, CpOptions};
use crate::container::exec::ExecOptions;
use crate::container::lifecycle::{AttachOptions, StartMode};
use crate::container::logs::LogOptions;
use crate::container::run::NewContainer;
use crate::engine::Engine;
use crate::error::{EngineError, ErrorKind};
use crate::options::StoreOptions;
use crate::scope::Scope;
use crate::terminal::WindowSource;

/// The hidden command that runs one action: `skiff __action REQUEST`.
pub const ACTION_COMMAND: &str = "__action";
/// The helper's control socket.
const CONTROL_FD: RawFd = 3;

/// What the helper is asked to do, on which store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub store: StoreOptions,
    pub action: Action,
}

/// One container action. Streams are the helper's stdio: what the container reads comes from
/// its stdin, what it writes goes to its stdout and stderr (one stream with a terminal).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// `create`: reports `Created`.
    Create {
        container: NewContainer,
    },
    /// `run`: create and start; attached unless `mode` is detached. Reports `Exited` (attached)
    /// or `Started`.
    Run {
        container: NewContainer,
        mode: StartMode,
        /// `--rmi`: remove the image after the `--rm` container, unless another uses it.
        #[serde(default)]
        remove_image: bool,
    },
    /// `start`: reports `Started`, or `Exited` when attached.
    Start {
        container: String,
        mode: StartMode,
    },
    Stop {
        container: String,
        timeout: Option<u64>,
    },
    Kill {
        container: String,
        signal: String,
    },
    /// `restart`: stop (with this timeout) and start detached.
    Restart {
        container: String,
        timeout: Option<u64>,
    },
    Pause {
        container: String,
    },
    Unpause {
        container: String,
    },
    /// `exec`: reports `Exited` with the process's code.
    Exec {
        container: String,
        options: ExecOptions,
    },
    /// `attach`: reports `Exited` (0 when detached by the keys).
    Attach {
        container: String,
        options: AttachOptions,
    },
    /// `cp - CONTAINER:PATH`: a tar archive on stdin is unpacked at `path`.
    CopyInto {
        container: String,
        path: String,
        #[serde(default)]
        options: CpOptions,
    },
    /// `cp CONTAINER:PATH -`: a tar archive of `path` on stdout.
    CopyFrom {
        container: String,
        path: String,
    },
    /// What a path in the container is: reports `PathStat`.
    StatPath {
        container: String,
        path: String,
    },
    /// `top`: reports `Table`.
    Top {
        container: String,
        descriptors: Vec<String>,
    },
    /// `diff`: reports `Changes`.
    Changes {
        container: String,
    },
    /// `export`: a tar archive of the root filesystem on stdout.
    Export {
        container: String,
    },
    /// `logs`: the log on stdout and stderr.
    Logs {
        container: String,
        options: LogOptions,
    },
    /// `wait`: reports `Exited`.
    Wait {
        container: String,
    },
    /// `rm`: reports `Removed`.
    Remove {
        container: String,
        force: bool,
    },
    /// `pull`: reports `Pulled` with the image's ID.
    Pull {
        reference: String,
        #[serde(default)]
        platform: Option<String>,
    },
    /// `push`: reports `Pushed` with the manifest's digest.
    Push {
        image: String,
        destination: Option<String>,
        /// User and password for the registry (else the stored login, if any).
        #[serde(default)]
        credentials: Option<(String, String)>,
    },
    /// `login`: checks the credentials with the registry and stores them.
    Login {
        registry: String,
        username: String,
        password: String,
    },
    /// `save`: a docker-archive of the images on stdout.
    Save {
        images: Vec<String>,
    },
    /// `load`: an archive on stdin; reports `Loaded` with the images' names (or IDs).
    Load,
    /// `import`: a root filesystem tar on stdin; reports `Built` with the image's ID.
    Import {
        name: Option<String>,
        #[serde(default)]
        changes: Vec<String>,
        #[serde(default)]
        message: Option<String>,
    },
    /// `rmi`: reports `ImageRemoved`.
    RemoveImage {
        image: String,
        force: bool,
    },
    /// `network create`: reports `Named`.
    CreateNetwork {
        request: skiff_network::CreateRequest,
    },
    /// `network rm`: reports `Named`.
    RemoveNetwork {
        network: String,
        force: bool,
    },
    ConnectNetwork {
        container: String,
        attachment: skiff_spec::NetworkAttachment,
    },
    DisconnectNetwork {
        container: String,
        network: String,
    },
    /// `network prune`: reports `Pruned`.
    PruneNetworks,
    /// `container prune`: reports `Pruned`.
    PruneContainers,
    /// `image prune [-a]`: reports `Pruned`.
    PruneImages {
        all: bool,
    },
    /// `volume rm`: reports `Named`.
    RemoveVolume {
        volume: String,
        force: bool,
    },
    /// `volume prune`: reports `Pruned`.
    PruneVolumes,
    /// `pod start`: reports `Named` with the pod's ID.
    StartPod {
        pod: String,
    },
    /// `pod stop`: reports `Named`.
    StopPod {
        pod: String,
        timeout: Option<u64>,
    },
    /// `pod rm`: reports `Named`.
    RemovePod {
        pod: String,
        force: bool,
    },
    /// `build`: reports `Built`. `request` is skiff-build's (it stands on the engine, so the
    /// engine cannot call it): the binary passes the [`Runners`] that run it.
    Build {
        request: serde_json::Value,
    },
    /// `kube play`: reports `Played`. `request` is skiff-kube's, as a build's is skiff-build's;
    /// `pods` holds its `--network`: the pods are made where their network is, as a run's
    /// container is.
    PlayKube {
        request: serde_json::Value,
        #[serde(default)]
        pods: skiff_spec::CreateOptions,
    },
    /// `commit`: reports `Committed`.
    Commit {
        container: String,
        image: Option<String>,
        #[serde(default)]
        changes: Vec<String>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        author: Option<String>,
        /// Frozen while committed, where it can be (Docker's default).
        #[serde(default)]
        pause: bool,
    },
}

/// What an action did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "report", rename_all = "snake_case")]
pub enum Report {
    Created {
        id: String,
        warnings: Vec<String>,
    },
    Started {
        id: String,
    },
    Exited {
        code: i32,
    },
    Removed {
        id: String,
    },
    Committed {
        id: String,
    },
    Pulled {
        id: String,
    },
    Built {
        id: String,
    },
    Pushed {
        digest: String,
    },
    Loaded {
        names: Vec<String>,
    },
    /// A network or volume made or removed: its name, and its ID where it has one.
    Named {
        name: String,
        id: String,
    },
    PathStat(crate::PathStat),
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// What changed: `A`, `C` or `D` and the path.
    Changes {
        changes: Vec<(String, String)>,
    },
    /// What a prune removed.
    Pruned {
        names: Vec<String>,
    },
    ImageRemoved {
        untagged: Vec<String>,
        deleted: Option<String>,
    },
    /// What `kube play` made: skiff-kube's report.
    Played {
        made: serde_json::Value,
    },
    Done,
}

/// A failed action, typed: what a caller matches on and what it tells the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ActionError {
    pub kind: ErrorKind,
    pub message: String,
    /// Podman's exit code for this failure (125, or 126/127 when the program cannot run).
    pub exit_code: i32,
}

impl From<&EngineError> for ActionError {
    fn from(error: &EngineError) -> Self {
        Self {
            kind: error.kind(),
            message: error.to_string(),
            exit_code: error.exit_code(),
        }
    }
}

impl ActionError {
    fn runtime(message: String) -> Self {
        Self {
            kind: ErrorKind::Runtime,
            message,
            exit_code: 125,
        }
    }
}

/// A line the caller writes on the control socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// The terminal the caller shows is now this size.
    Resize { rows: u16, columns: u16 },
}

/// A line the helper writes on the control socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Warning(String),
    /// How far a pull is (see [`Running::finish_with`]).
    Progress(crate::TransferEvent),
    Done(Result<Report, ActionError>),
}

/// The window size in one control line, if it is a resize.
pub(crate) fn window_size_of(line: &[u8]) -> Option<(u16, u16)> {
    match serde_json::from_slice(line).ok()? {
        Control::Resize { rows, columns } => Some((rows, columns)),
    }
}

impl Action {
    /// The namespaces this action needs (see `crate::scope`).
    fn scope(&self) -> Scope<'_> {
        match self {
            Action::Create { container } | Action::Run { container, .. } => {
                Scope::Run(&container.options)
            }
            Action::PlayKube { pods, .. } => Scope::Run(pods),
            Action::Start { container, .. } | Action::Restart { container, .. } => {
                Scope::Start(std::slice::from_ref(container))
            }
            Action::Exec { container, .. }
            | Action::CopyInto { container, .. }
            | Action::CopyFrom { container, .. }
            | Action::StatPath { container, .. }
            | Action::Top { container, .. } => Scope::Container(container),
            Action::CreateNetwork { .. }
            | Action::RemoveNetwork { .. }
            | Action::ConnectNetwork { .. }
            | Action::DisconnectNetwork { .. }
            | Action::PruneNetworks => Scope::Networks,
            Action::StartPod { pod } => Scope::Pod(pod),
            _ => Scope::Store,
        }
    }

    fn run(&self, engine: &mut Engine, runners: Runners) -> Result<Report, EngineError> {
        let exited = |code| Report::Exited { code };
        Ok(match self {
            Action::Build { request } => Report::Built {
                id: (runners.build)(engine, request)?,
            },
            Action::PlayKube { request, .. } => Report::Played {
                made: (runners.play_kube)(engine, request)?,
            },
            Action::Create { container } => {
                let created = engine.create_from(container, &|_| {})?;
                Report::Created {
                    id: created.id,
                    warnings: created.warnings,
                }
            }
            Action::Run {
                container,
                mode,
                remove_image,
            } => {
                let created = engine.create_from(container, &|_| {})?;
                for warning in created.warnings {
                    send(&Event::Warning(warning));
                }
                let image = remove_image.then_some(container.options.image.as_str());
                let code = engine.run_created(&created.id, mode.clone(), image)?;
                match mode {
                    StartMode::Detached => Report::Started { id: created.id },
                    StartMode::Attached { .. } => exited(code),
                }
            }
            Action::Start { container, mode } => {
                let code = engine.start_container(container, mode.clone())?;
                match mode {
                    StartMode::Detached => Report::Started {
                        id: engine.container(container)?.id().to_string(),
                    },
                    StartMode::Attached { .. } => exited(code),
                }
            }
            Action::Stop { container, timeout } => {
                engine.stop_container(container, *timeout)?;
                Report::Done
            }
            Action::Kill { container, signal } => {
                engine.kill_container(container, signal)?;
                Report::Done
            }
            Action::Restart { container, timeout } => {
                engine.restart_container(container, *timeout)?;
                Report::Done
            }
            Action::Pause { container } => {
                engine.pause_container(container)?;
                Report::Done
            }
            Action::Unpause { container } => {
                engine.unpause_container(container)?;
                Report::Done
            }
            Action::Pull {
                reference,
                platform,
            } => {
                let options = crate::registry::PullOptions {
                    platform: platform.clone(),
                    ..Default::default()
                };
                let image = engine
                    .pull_image(reference, &options, &|event| send(&Event::Progress(event)))?;
                Report::Pulled {
                    id: image.id().to_string(),
                }
            }
            Action::Push {
                image,
                destination,
                credentials,
            } => {
                let options = crate::registry::PushOptions {
                    registry: crate::registry::RegistryOptions {
                        credentials: credentials.clone().map(|(username, password)| {
                            skiff_registry::Credentials { username, password }
                        }),
                        ..Default::default()
                    },
                    format: None,
                };
                Report::Pushed {
                    digest: engine.push_image(image, destination.as_deref(), &options, &|_| {})?,
                }
            }
            Action::Login {
                registry,
                username,
                password,
            } => {
                let credentials = skiff_registry::Credentials {
                    username: username.clone(),
                    password: password.clone(),
                };
                engine.login(registry, credentials, &Default::default())?;
                Report::Done
            }
            Action::Save { images } => {
                engine.save_images(images, "docker-archive", crate::SaveTarget::Stdout)?;
                Report::Done
            }
            Action::Load => Report::Loaded {
                names: engine
                    .load_images(None)?
                    .iter()
                    .flat_map(|image| match image.image.names.is_empty() {
                        true => vec![image.id().to_string()],
                        false => image.image.names.clone(),
                    })
                    .collect(),
            },
            Action::Import {
                name,
                changes,
                message,
            } => {
                let options = skiff_image::ImportOptions {
                    changes: changes
                        .iter()
                        .map(|c| skiff_image::Change::parse(c))
                        .collect::<Result<_, _>>()?,
                    message: message.clone(),
                };
                let stdin = std::io::stdin();
                let image = engine.import_image(stdin.lock(), name.as_deref(), &options)?;
                Report::Built {
                    id: image.id().to_string(),
                }
            }
            Action::RemoveImage { image, force } => {
                let removal = engine.remove_image(image, *force)?;
                Report::ImageRemoved {
                    untagged: removal.untagged,
                    deleted: removal.deleted,
                }
            }
            Action::StatPath { container, path } => {
                Report::PathStat(engine.stat_container_path(container, path)?)
            }
            Action::Top {
                container,
                descriptors,
            } => {
                let table = engine.top_container(container, descriptors)?;
                Report::Table {
                    header: table.header,
                    rows: table.rows,
                }
            }
            Action::Changes { container } => Report::Changes {
                changes: engine
                    .container_changes(container)?
                    .into_iter()
                    .map(|(kind, path)| (kind.letter().to_string(), path))
                    .collect(),
            },
            Action::CreateNetwork { request } => {
                let network = engine.create_network(request)?;
                Report::Named {
                    name: network.name,
                    id: network.id,
                }
            }
            Action::RemoveNetwork { network, force } => {
                let name = engine.remove_network(network, *force)?;
                Report::Named {
                    id: String::new(),
                    name,
                }
            }
            Action::ConnectNetwork {
                container,
                attachment,
            } => {
                engine.connect_network(container, attachment.clone())?;
                Report::Done
            }
            Action::DisconnectNetwork { container, network } => {
                engine.disconnect_network(container, network)?;
                Report::Done
            }
            Action::PruneNetworks => Report::Pruned {
                names: engine.prune_networks()?,
            },
            Action::StartPod { pod } => Report::Named {
                name: pod.clone(),
                id: engine.start_pod(pod)?,
            },
            Action::StopPod { pod, timeout } => Report::Named {
                name: pod.clone(),
                id: engine.stop_pod(pod, *timeout)?,
            },
            Action::RemovePod { pod, force } => Report::Named {
                name: pod.clone(),
                id: engine.remove_pod(pod, *force, None)?,
            },
            Action::RemoveVolume { volume, force } => {
                let name = engine.remove_volume(volume, *force)?;
                Report::Named {
                    id: String::new(),
                    name,
                }
            }
            Action::PruneContainers => Report::Pruned {
                names: engine.prune_containers()?,
            },
            Action::PruneImages { all } => Report::Pruned {
                names: engine.prune_images(*all)?,
            },
            Action::PruneVolumes => Report::Pruned {
                names: engine.prune_volumes()?,
            },
            Action::Exec { container, options } => {
                exited(engine.exec_container(container, options)?)
            }
            Action::Attach { container, options } => {
                exited(engine.attach_container(container, options)?)
            }
            Action::CopyInto {
                container,
                path,
                options,
            } => {
                let stdin = std::io::stdin();
                engine.copy_to_container(
                    &CopyTarget::Stream,
                    container,
                    path,
                    &mut stdin.lock(),
                    options,
                )?;
                Report::Done
            }
            Action::CopyFrom { container, path } => {
                let mut stdout = std::io::stdout().lock();
                engine.copy_from_container(
                    container,
                    path,
                    &CopyTarget::Stream,
                    &mut stdout,
                    &CpOptions::default(),
                )?;
                let _ = stdout.flush();
                Report::Done
            }
            Action::Export { container } => {
                let mut stdout = std::io::stdout().lock();
                engine.export_container(container, &mut stdout)?;
                let _ = stdout.flush();
                Report::Done
            }
            Action::Logs { container, options } => {
                let (mut stdout, mut stderr) = (std::io::stdout().lock(), std::io::stderr().lock());
                engine.container_logs(container, options, &mut stdout, &mut stderr)?;
                let _ = stdout.flush();
                Report::Done
            }
            Action::Wait { container } => exited(engine.wait_container(container)?),
            Action::Remove { container, force } => Report::Removed {
                id: engine.remove_container(container, *force)?,
            },
            Action::Commit {
                container,
                image,
                changes,
                message,
                author,
                pause,
            } => {
                let options = CommitOptions {
                    changes: changes
                        .iter()
                        .map(|c| skiff_image::Change::parse(c))
                        .collect::<Result<_, _>>()?,
                    message: message.clone(),
                    author: author.clone(),
                    ..Default::default()
                };
                let (id, pid) = match *pause {
                    true => {
                        let target = engine.container(container)?;
                        (target.id().to_string(), target.pid())
                    }
                    false => (String::new(), 0),
                };
                let report = crate::container::freezer::while_frozen(&id, pid, || {
                    engine.commit_container(container, image.as_deref(), &options)
                })?;
                Report::Committed {
                    id: report.id().to_string(),
                }
            }
        })
    }
}

/// Writes one event on the control socket (best effort: a caller that went away has no use
/// for it). A line at a time: a pull's layers report from several threads.
fn send(event: &Event) {
    static ONE_LINE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let Ok(mut line) = serde_json::to_vec(event) else {
        return;
    };
    line.push(b'\n');
    let _turn = ONE_LINE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // SAFETY: the control socket is this process's descriptor 3 for its whole life; the
    // ManuallyDrop keeps this borrowed view from closing it.
    #[allow(unsafe_code)]
    let mut control = std::mem::ManuallyDrop::new(unsafe { UnixStream::from_raw_fd(CONTROL_FD) });
    let _ = control.write_all(&line);
}

/// What runs the requests of the crates that stand on the engine (so it cannot call them):
/// the binary passes them.
#[derive(Clone, Copy)]
pub struct Runners {
    /// A build request (skiff-build's), its progress on stdout; returns the image's ID.
    pub build: fn(&mut Engine, &serde_json::Value) -> Result<String, EngineError>,
    /// A `kube play` request (skiff-kube's); returns its report.
    pub play_kube: fn(&mut Engine, &serde_json::Value) -> Result<serde_json::Value, EngineError>,
}

/// The helper's `main`: runs the request in `args[0]` (builds and plays with `runners`) and
/// reports on the control socket. Returns the process's exit code (the report on the socket
/// is what counts).
pub fn action_main(args: &[String], runners: Runners) -> i32 {
    // Started by hand, descriptor 3 is not a control socket (or not open): nothing to say on.
    let is_socket = nix::sys::stat::fstat(CONTROL_FD).is_ok_and(|stat| {
        nix::sys::stat::SFlag::from_bits_truncate(stat.st_mode) & nix::sys::stat::SFlag::S_IFMT
            == nix::sys::stat::SFlag::S_IFSOCK
    });
    if !is_socket {
        eprintln!(
            "Error: {ACTION_COMMAND} is skiff's action helper: it needs its control socket on descriptor 3 (see skiff_engine::action::Helper)"
        );
        return 125;
    }
    // Not for the monitor or anything else this process starts; kept across a re-execution
    // from a sealed copy, which must report here too.
    let _ = nix::fcntl::fcntl(
        CONTROL_FD,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
    skiff_runtime::sealed::keep_across_reexec(CONTROL_FD);
    let result = serve(
        args.first().map(String::as_str).unwrap_or_default(),
        runners,
    );
    let code = match &result {
        Ok(Report::Exited { code }) => *code,
        Ok(_) => 0,
        Err(error) => error.exit_code,
    };
    send(&Event::Done(result));
    code
}

fn serve(request: &str, runners: Runners) -> Result<Report, ActionError> {
    let request: Request = serde_json::from_str(request).map_err(|e| ActionError {
        kind: ErrorKind::InvalidArgument,
        message: format!("invalid action request: {e}"),
        exit_code: 125,
    })?;
    let opened = Engine::open_in(request.store, request.action.scope())
        .map_err(|e| ActionError::from(&e))?;
    for warning in opened.warnings {
        send(&Event::Warning(warning));
    }
    let mut engine = opened.engine;
    engine.window = WindowSource::Messages(CONTROL_FD);
    request
        .action
        .run(&mut engine, runners)
        .map_err(|e| ActionError::from(&e))
}

/// The caller's side: runs actions in helper processes. Safe to use from any thread.
#[derive(Debug, Clone)]
pub struct Helper {
    program: PathBuf,
    store: StoreOptions,
    env: Vec<(String, String)>,
    user: Option<(u32, u32)>,
}

/// The three streams an action's helper gets.
pub struct Streams {
    pub stdin: Stdio,
    pub stdout: Stdio,
    pub stderr: Stdio,
}

impl Default for Streams {
    /// Nothing in, output discarded.
    fn default() -> Self {
        Self {
            stdin: Stdio::null(),
            stdout: Stdio::null(),
            stderr: Stdio::null(),
        }
    }
}

/// What a finished action reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub report: Report,
    pub warnings: Vec<String>,
}

/// An action running in its helper.
pub struct Running {
    child: Child,
    control: UnixStream,
}

impl Helper {
    /// Actions on the store `store`, run by `program` (the `skiff` binary).
    pub fn new(program: impl Into<PathBuf>, store: StoreOptions) -> Self {
        Self {
            program: program.into(),
            store,
            env: Vec::new(),
            user: None,
        }
    }

    /// Sets a variable in the helpers' environment (`HOME`, `XDG_RUNTIME_DIR` of a user).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Runs the helpers as this user and group: a root process acting for an unprivileged
    /// user, whose store `store` then is.
    pub fn as_user(mut self, uid: u32, gid: u32) -> Self {
        self.user = Some((uid, gid));
        self
    }

    /// Starts `action` with `streams` as its stdio.
    pub fn spawn(&self, action: Action, streams: Streams) -> Result<Running, ActionError> {
        let request = serde_json::to_string(&Request {
            store: self.store.clone(),
            action,
        })
        .map_err(|e| ActionError::runtime(format!("encoding the action: {e}")))?;
        let (control, theirs) = UnixStream::pair()
            .map_err(|e| ActionError::runtime(format!("creating a control socket: {e}")))?;
        let theirs_fd = theirs.as_raw_fd();
        let mut command = Command::new(&self.program);
        command
            .arg(ACTION_COMMAND)
            .arg(request)
            .stdin(streams.stdin)
            .stdout(streams.stdout)
            .stderr(streams.stderr)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some((uid, gid)) = self.user {
            command.uid(uid).gid(gid);
        }
        // SAFETY: between fork and exec the child only calls dup2 and fcntl, which are
        // async-signal-safe, on a descriptor it inherited.
        #[allow(unsafe_code)]
        unsafe {
            command.pre_exec(move || {
                if theirs_fd == CONTROL_FD {
                    // dup2 onto itself would leave close-on-exec set.
                    if libc::fcntl(CONTROL_FD, libc::F_SETFD, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                } else if libc::dup2(theirs_fd, CONTROL_FD) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().map_err(|e| {
            ActionError::runtime(format!("running {}: {e}", self.program.display()))
        })?;
        drop(theirs);
        Ok(Running { child, control })
    }

    /// Runs `action` to its end.
    pub fn run(&self, action: Action, streams: Streams) -> Result<Outcome, ActionError> {
        self.spawn(action, streams)?.finish()
    }
}

/// Passes window sizes to a running action's helper, from another thread than the one that
/// waits for it.
pub struct Resizer(UnixStream);

impl Resizer {
    /// Tells the helper the caller's terminal has a new size.
    pub fn resize(&mut self, rows: u16, columns: u16) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(&Control::Resize { rows, columns })?;
        line.push(b'\n');
        self.0.write_all(&line)
    }
}

impl Running {
    /// Tells the helper the caller's terminal has a new size.
    pub fn resize(&mut self, rows: u16, columns: u16) -> std::io::Result<()> {
        Resizer(self.control.try_clone()?).resize(rows, columns)
    }

    /// A handle that passes resizes while [`Running::finish`] waits.
    pub fn resizer(&self) -> std::io::Result<Resizer> {
        self.control.try_clone().map(Resizer)
    }

    /// The helper's process ID.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the action's report.
    pub fn finish(self) -> Result<Outcome, ActionError> {
        self.finish_with(|_| {})
    }

    /// Waits for the action's report, handing each progress event to `progress` as it comes.
    pub fn finish_with(
        mut self,
        mut progress: impl FnMut(crate::TransferEvent),
    ) -> Result<Outcome, ActionError> {
        let mut warnings = Vec::new();
        let mut done = None;
        let reader = BufReader::new(&self.control);
        for line in reader.lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str::<Event>(&line) {
                Ok(Event::Warning(warning)) => warnings.push(warning),
                Ok(Event::Progress(event)) => progress(event),
                Ok(Event::Done(result)) => {
                    done = Some(result);
                    break;
                }
                Err(_) => {}
            }
        }
        let status = self.child.wait();
        match done {
            Some(result) => result.map(|report| Outcome { report, warnings }),
            None => Err(ActionError::runtime(format!(
                "the action helper ended without a report ({})",
                match status {
                    Ok(status) => status.to_string(),
                    Err(e) => e.to_string(),
                }
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_lines_carry_window_sizes() {
        let mut line = serde_json::to_vec(&Control::Resize {
            rows: 40,
            columns: 120,
        })
        .unwrap();
        assert_eq!(window_size_of(&line), Some((40, 120)));
        line.push(b'\n');
        assert_eq!(window_size_of(&line), Some((40, 120)));
        assert_eq!(window_size_of(b"{\"resize\":{\"rows\":1}}"), None);
        assert_eq!(window_size_of(b"garbage"), None);
    }

    #[test]
    fn errors_cross_as_kind_message_and_exit_code() {
        let error = ActionError::from(&EngineError::NoSuchContainer("web".into()));
        let text = serde_json::to_string(&Event::Done(Err(error.clone()))).unwrap();
        let Event::Done(Err(back)) = serde_json::from_str(&text).unwrap() else {
            panic!("{text}")
        };
        assert_eq!(back, error);
        assert_eq!(back.kind, ErrorKind::NotFound);
        assert_eq!(back.exit_code, 125);
        let done: Event =
            serde_json::from_str(r#"{"done":{"Ok":{"report":"exited","code":3}}}"#).unwrap();
        assert!(matches!(done, Event::Done(Ok(Report::Exited { code: 3 }))));
    }
}
