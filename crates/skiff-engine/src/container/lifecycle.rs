//! Container actions, one method per user command. Each takes the engine (one process's view of
//! the store) and leaves the database consistent if the process dies at any point.
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nix::sys::signal::Signal;
use nix::sys::socket::SockType;
use oci_spec::image::ImageConfiguration;
use skiff_monitor::exit_file::ExitRecord;
use skiff_monitor::sync::{CLEANED_UP, SyncMessage};
use skiff_runtime::process;
use skiff_runtime::socket::connect_to;
use skiff_spec::{ContainerSpec, MountSpec};
use skiff_storage::lock::FileLock;
use skiff_storage::trash::Trash;

use super::filter::ContainerFilter;
use super::report::{ContainerReport, ReportPaths};
use super::store::{ContainerRecord, State};
use crate::engine::Engine;
use crate::error::{EngineError, IoContext};
use crate::names;
use crate::terminal::{Ending, Peer, RawTerminal, SignalProxy, proxy};

/// How `start` and `run` wait.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartMode {
    /// Return as soon as the container runs (`-d`, `start`).
    Detached,
    /// Stream output to this process's stdout and stderr and return the exit code. With a
    /// terminal, typing `detach_keys` leaves the container running and returns 0. Without a
    /// terminal, `stdout`/`stderr` false leave that stream out (`run --attach`); it is logged.
    Attached {
        stdin: bool,
        detach_keys: Vec<u8>,
        #[serde(default = "attached_by_default")]
        stdout: bool,
        #[serde(default = "attached_by_default")]
        stderr: bool,
        /// A signal this process receives kills the container (a build's RUN step: its
        /// program as PID 1 would ignore SIGTERM, so the build could not be stopped) instead
        /// of being passed on to it.
        #[serde(default)]
        kill_on_signal: bool,
    },
}

fn attached_by_default() -> bool {
    true
}

impl StartMode {
    /// `run [-d] [-a STREAM]...`: detached, attached to every stream, or to the ones named
    /// (stdin, stdout, stderr; Podman's error for any other).
    pub fn for_run(
        detach: bool,
        attach: &[String],
        interactive: bool,
        detach_keys: Vec<u8>,
    ) -> Result<Self, EngineError> {
        if attach.is_empty() {
            return Ok(if detach {
                StartMode::Detached
            } else {
                StartMode::attached(interactive, detach_keys)
            });
        }
        if detach {
            return Err(EngineError::InvalidArgument(
                "--attach and --detach cannot be set at the same time".into(),
            ));
        }
        let mut streams = [false; 3];
        for stream in attach {
            match stream.to_ascii_lowercase().as_str() {
                "stdin" => streams[0] = true,
                "stdout" => streams[1] = true,
                "stderr" => streams[2] = true,
                _ => {
                    return Err(EngineError::InvalidArgument(format!(
                        "invalid stream {stream:?} for --attach - must be one of stdin, stdout, or stderr: invalid argument"
                    )));
                }
            }
        }
        Ok(StartMode::Attached {
            stdin: streams[0] && interactive,
            detach_keys,
            stdout: streams[1],
            stderr: streams[2],
            kill_on_signal: false,
        })
    }

    /// Whether any output stream is attached (else `run` prints the ID, as Podman).
    pub fn shows_output(&self) -> bool {
        matches!(self, StartMode::Attached { stdout, stderr, .. } if *stdout || *stderr)
    }

    /// Attached with both output streams.
    pub fn attached(stdin: bool, detach_keys: Vec<u8>) -> Self {
        StartMode::Attached {
            stdin,
            detach_keys,
            stdout: true,
            stderr: true,
            kill_on_signal: false,
        }
    }

    /// Attached to the output, the container killed when this process is signalled (a
    /// build's RUN step).
    pub fn step() -> Self {
        StartMode::Attached {
            stdin: false,
            detach_keys: Vec::new(),
            stdout: true,
            stderr: true,
            kill_on_signal: true,
        }
    }
}

/// Who starts a container: the user (the restart count starts again), or the restart policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Starter {
    User,
    RestartPolicy,
}

/// `attach`'s choices.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct AttachOptions {
    /// Do not pass this process's stdin on.
    pub no_stdin: bool,
    /// Parsed `--detach-keys` (see `parse_detach_keys`); empty: no detaching.
    pub detach_keys: Vec<u8>,
    /// Pass the signals this process receives on to the container (`--sig-proxy`).
    pub sig_proxy: bool,
}

/// A new container, and what the user should know about it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Created {
    pub id: String,
    pub warnings: Vec<String>,
}

/// Grace period after SIGKILL for the monitor to record the exit.
const KILL_GRACE: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(5);
/// What the runtime's state of a removed container is called in the trash.
const RUNTIME_STATE: &str = "state";

/// The trash of the graph root and of the run root (see `skiff_storage::trash`).
pub(crate) fn trashes(options: &crate::options::StoreOptions) -> (Trash, Trash) {
    (
        Trash::new(options.root.join("trash")),
        Trash::new(options.runroot.join("trash")),
    )
}

impl Engine {
    /// `create`: registers a container (one transaction). The root filesystem and the OCI
    /// bundle are made when it starts.
    pub fn create_container(
        &mut self,
        spec: ContainerSpec,
        name: Option<&str>,
    ) -> Result<Created, EngineError> {
        self.create_container_as(spec, name, None)
    }

    /// `create_container`, the image shown as the name `given` (the reference the user typed)
    /// answers to, as Podman's ImageName, rather than the image's first name.
    pub(crate) fn create_container_as(
        &mut self,
        mut spec: ContainerSpec,
        name: Option<&str>,
        given: Option<&str>,
    ) -> Result<Created, EngineError> {
        spec.validate()?;
        self.resolve_user_namespace(&mut spec)?;
        let generated = name.is_none();
        let name = match name {
            Some(n) if !names::valid_name(n) => {
                return Err(EngineError::InvalidName(n.to_string()));
            }
            Some(n) => n.to_string(),
            None => names::random_name(),
        };
        for mount in &spec.mounts {
            if let MountSpec::Bind { source, .. } = mount
                && fs::metadata(source).is_err()
            {
                return Err(EngineError::InvalidArgument(format!(
                    "statfs {source}: no such file or directory"
                )));
            }
        }
        if spec.init && find_init_binary(spec.init_path.as_deref()).is_none() {
            return Err(EngineError::InvalidArgument(match &spec.init_path {
                Some(path) => format!("--init-path {path}: no such file"),
                None => "--init: no init binary found (install catatonit or tini)".into(),
            }));
        }
        if let Some(cpus) = spec.cpus {
            let available = std::thread::available_parallelism().map_or(1, |n| n.get());
            if !cpus.is_finite() || cpus < 0.01 || cpus > available as f64 {
                return Err(EngineError::InvalidArgument(format!(
                    "--cpus {cpus}: range of CPUs is from 0.01 to {available}.00, as there are only {available} CPUs available"
                )));
            }
        }
        if let Some(signal) = &spec.stop_signal {
            // Podman parses it as `kill -s` does, with its errors.
            kill_signal(signal)?;
        }
        // The container database opens on the other CPU while this thread reads the image's.
        self.containers.open_ahead_in_background();
        // Hold the image store shared, so `rmi` cannot remove the image under this create.
        let _lock = FileLock::shared(&self.options.root.join("images.lock"))?;
        // `--rootfs`: a directory, with no image (nor its configuration) behind it.
        let image = match &spec.rootfs {
            Some(rootfs) => {
                if !Path::new(&rootfs.path).is_dir() {
                    return Err(EngineError::InvalidArgument(format!(
                        "--rootfs {}: no such directory",
                        rootfs.path
                    )));
                }
                None
            }
            None => Some(self.images.resolve(&spec.image)?),
        };
        let config = match &image {
            Some(image) => image.config()?,
            None => Default::default(),
        };
        let config_json = image.as_ref().map_or("", |image| image.config_json());
        for mount in &mut spec.mounts {
            if let MountSpec::Image { source, image, .. } = mount {
                image.clone_from(&self.images.resolve(source)?.id);
            }
        }
        self.add_volumes_from(&mut spec)?;
        self.add_image_volumes(&mut spec, &config)?;
        self.check_secrets(&spec.secrets)?;
        for user in &spec.hostuser {
            crate::hostfiles::host_passwd_entry(user)?;
        }
        if spec.seccomp_from_image && spec.seccomp == skiff_spec::SeccompChoice::Default {
            // `--seccomp-policy image`: the profile the image carries, if it has one.
            let label = config
                .config()
                .as_ref()
                .and_then(|c| c.labels().as_ref())
                .and_then(|labels| labels.get(SECCOMP_LABEL));
            if let Some(profile) = label {
                skiff_spec::profile_to_oci(profile, &[]).map_err(|e| {
                    EngineError::InvalidArgument(format!("{SECCOMP_LABEL} of {}: {e}", spec.image))
                })?;
                spec.seccomp = skiff_spec::SeccompChoice::Profile(profile.clone());
            }
        }
        if spec.healthcheck.is_none()
            && !spec.no_healthcheck
            && config_json.contains("\"Healthcheck\"")
        {
            let raw: serde_json::Value = serde_json::from_str(config_json).unwrap_or_default();
            spec.healthcheck = raw
                .get("config")
                .and_then(skiff_spec::HealthCheck::from_image);
        }
        if spec.health_on_failure != skiff_spec::HealthAction::None && spec.healthcheck.is_none() {
            return Err(EngineError::InvalidArgument(format!(
                "cannot set on-failure action to {} without a health check",
                spec.health_on_failure.name()
            )));
        }
        let args = spec.process_args(&config);
        if args.is_empty() {
            return Err(EngineError::InvalidArgument(
                "no command or entrypoint provided, and no CMD or ENTRYPOINT from image".into(),
            ));
        }
        spec.systemd_active = spec.systemd.active_for(&args);
        if spec.systemd_active {
            // As Podman's systemd mode: tmpfs where systemd writes, its stop signal.
            for destination in ["/run", "/run/lock", "/tmp", "/var/log/journal"] {
                if !spec.mounts.iter().any(|m| m.destination() == destination) {
                    spec.mounts.push(skiff_spec::parse_tmpfs(&format!(
                        "{destination}:rw,exec,suid,dev"
                    ))?);
                }
            }
            spec.stop_signal.get_or_insert_with(|| "SIGRTMIN+3".into());
        }
        let mut warnings = Vec::new();
        // Only a container with limits looks at the host's cgroup files (a create without any
        // is on `run`'s path).
        if (spec.memory.is_some() || spec.limits.has_cgroup_limits()) && self.cgroups_usable() {
            let support = super::limits::CgroupSupport::detect(self.cgroup);
            warnings.extend(support.fit(&mut spec.limits, spec.memory));
        }
        super::limits::check_process_limits(&mut spec.limits)?;
        if (!spec.ports.is_empty() || spec.publish_all)
            && !matches!(
                spec.network,
                skiff_spec::NetworkMode::Bridge(_)
                    | skiff_spec::NetworkMode::Pasta
                    | skiff_spec::NetworkMode::Slirp4netns
            )
        {
            // Podman's wording: host, none and another container's network forward no ports.
            spec.ports.clear();
            spec.publish_all = false;
            warnings.push(
                "Port mappings have been discarded as one of the Host, Container, Pod, and None network modes are in use"
                    .to_string(),
            );
        }
        self.prepare_network(&mut spec, &config)?;
        self.resolve_joined_namespaces(&mut spec)?;
        if spec.stop_signal.is_none() {
            spec.stop_signal = config
                .config()
                .as_ref()
                .and_then(|c| c.stop_signal().clone());
        }
        skiff_runtime::runtime_for(
            &self.options.runtime,
            &self.runtime_state_root(),
            &self.options.runtime_flags,
        )?;
        if (spec.memory.is_some() || spec.cpus.is_some() || spec.pids_limit.is_some())
            && !self.cgroups_usable()
        {
            // Podman's wording: such hosts cannot delegate cgroups to a user.
            warnings.push(
                "Resource limits are not supported and ignored on cgroups V1 rootless systems"
                    .to_string(),
            );
        }
        // Last before the record: volumes the container names are made, anonymous ones named.
        let mut spec = spec;
        self.prepare_volumes(&mut spec.mounts)?;
        let record = ContainerRecord {
            id: names::random_id(),
            name,
            image_id: image.as_ref().map(|i| i.id.clone()).unwrap_or_default(),
            image_name: match &image {
                Some(image) => given
                    .and_then(|g| skiff_image::Reference::parse(g).ok())
                    .and_then(|r| crate::image::name_answering(&image.names, &r))
                    .or_else(|| image.names.first().cloned())
                    .unwrap_or_else(|| spec.image.clone()),
                None => String::new(),
            },
            created: Utc::now(),
            spec,
            driver: self.driver.name().to_string(),
            runtime: self.options.runtime.clone(),
            state: State::Created,
            pid: 0,
            pid_start: 0,
            monitor_pid: 0,
            monitor_start: 0,
            exit_code: 0,
            started_at: None,
            finished_at: None,
            restart_count: 0,
            stopped_by_user: false,
        };
        let mut record = record;
        let mut attempts = 0;
        let inserted = loop {
            match self.containers.insert(&record) {
                // A generated name that happens to be taken: pick another, as Podman does.
                Err(EngineError::NameInUse(..)) if generated && attempts < 20 => {
                    attempts += 1;
                    record.name = names::random_name();
                }
                result => break result,
            }
        };
        if let Err(err) = inserted {
            self.remove_anonymous_volumes(&record.spec.mounts);
            return Err(err);
        }
        self.emit_container(&record, "create", None);
        crate::debug!("Created container {} ({})", record.id, record.name);
        Ok(Created {
            id: record.id,
            warnings,
        })
    }

    /// `start`: runs the container under a new monitor process. Detached, returns the
    /// container's PID; attached, its exit code.
    pub fn start_container(
        &mut self,
        name_or_id: &str,
        mode: StartMode,
    ) -> Result<i32, EngineError> {
        self.start_container_as(name_or_id, mode, Starter::User)
    }

    pub(crate) fn start_container_as(
        &mut self,
        name_or_id: &str,
        mode: StartMode,
        starter: Starter,
    ) -> Result<i32, EngineError> {
        let attached = matches!(mode, StartMode::Attached { .. });
        let (stdin, detach_keys, streams, kill_on_signal) = match &mode {
            StartMode::Attached {
                stdin,
                detach_keys,
                stdout,
                stderr,
                kill_on_signal,
            } => (
                *stdin,
                detach_keys.clone(),
                (*stdout, *stderr),
                *kill_on_signal,
            ),
            StartMode::Detached => (false, Vec::new(), (false, false), false),
        };
        let mut launched = match self.launch_start(name_or_id, starter, attached, stdin, streams)? {
            Launch::Done(pid) => return Ok(pid),
            Launch::Started(launched) => launched,
        };
        // The signal proxy `launch_start` installed, now told what a signal does.
        let early_proxy = launched
            .early_proxy
            .take()
            .map(|p| p.killing(kill_on_signal));
        let (pid, mut sync, record) = self.await_start(launched)?;
        if !attached {
            return Ok(pid);
        }
        if record.spec.tty {
            // The monitor holds the output until this client is there.
            let socket = connect_to(&self.attach_socket_path(&record.id), SockType::SeqPacket)
                .io("attach to", self.attach_socket_path(&record.id))?;
            // Without -i, keys are not the container's: Ctrl-C reaches this process as a
            // signal and is passed on, as Podman's sig-proxy does.
            let ending = {
                let _raw = stdin.then(RawTerminal::enter);
                let signals = (!stdin).then(SignalProxy::install).flatten();
                proxy(
                    &Peer::Monitor(socket),
                    stdin,
                    &detach_keys,
                    signals.as_ref().map(|s| (s, pid)),
                    self.window,
                )
            };
            if ending == Ending::Detached {
                return Ok(0);
            }
        }
        let proxy =
            early_proxy.or_else(|| SignalProxy::install().map(|p| p.killing(kill_on_signal)));
        let mut result = None;
        while let Some(message) = sync.next(proxy.as_ref().map(|p| (p, pid))) {
            match message {
                // Cleaning up here saves the wait for a fresh cleanup process.
                SyncMessage::Ended(code) if matches!(self.finish(&record.id, code), Ok(false)) => {
                    let _ = sync.channel.write_all(CLEANED_UP);
                    result = Some(code);
                    break;
                }
                SyncMessage::Ended(_) => {
                    let _ = sync.channel.write_all(b"cleanup\n");
                }
                SyncMessage::Exited(code) => result = Some(code),
                _ => {}
            }
        }
        reap_children();
        match result {
            Some(code) => Ok(code),
            None => {
                // The monitor died: report what is known.
                let record = self.refresh(self.containers.lookup(&record.id)?)?;
                Ok(record.exit_code)
            }
        }
    }

    /// The first half of a start: checks, then the monitor is forked and sets the container
    /// up on its own while this process goes on (`await_start` waits for it). Several
    /// launched at once start in parallel (`start_containers`).
    fn launch_start(
        &mut self,
        name_or_id: &str,
        starter: Starter,
        attached: bool,
        stdin: bool,
        streams: (bool, bool),
    ) -> Result<Launch, EngineError> {
        let id = self.containers.lookup(name_or_id)?.id;
        // One start at a time, and not while a previous run's cleanup is still going.
        let lock = self.container_lock(&id)?;
        let record = self.refresh(self.containers.lookup(&id)?)?;
        if record.state == State::Running {
            return match attached {
                false => Ok(Launch::Done(record.pid)),
                true => Err(EngineError::InvalidState(format!(
                    "container {} is already running",
                    record.name
                ))),
            };
        }
        // A pod member: the pod's cgroup is made and its infra container runs first, as in
        // Podman.
        if let Some(pod) = &record.spec.pod
            && let Some(pod) = self.containers.pod(pod)?
        {
            self.make_pod_cgroup(&pod)?;
            if let Some(infra) = pod.infra_id
                && infra != record.id
                && self.container_pid(&infra)?.is_none()
            {
                self.start_container_as(&infra, StartMode::Detached, Starter::User)?;
            }
        }
        // `--requires`: the containers this one needs run first, as in Podman.
        for required in &record.spec.requires {
            if self.container_pid(required)?.is_none() {
                self.start_container_as(required, StartMode::Detached, Starter::User)?;
            }
        }
        match starter {
            // Only when there is something to reset: an ordinary start writes nothing here.
            Starter::User if record.stopped_by_user || record.restart_count > 0 => {
                self.containers.started_by_user(&record.id)?
            }
            Starter::User => {}
            Starter::RestartPolicy => {
                if record.stopped_by_user {
                    return Ok(Launch::Done(0));
                }
                self.containers.count_restart(&record.id)?;
            }
        }
        check_preserved_fds(record.spec.preserve_fds)?;
        let run_dir = self.run_dir(&record.id);
        fs::create_dir_all(&run_dir).io("create", &run_dir)?;
        let _ = fs::remove_file(self.exit_path(&record.id));
        fs::create_dir_all(self.userdata_dir(&record.id))
            .io("create", self.userdata_dir(&record.id))?;
        if record.spec.healthcheck.is_some() {
            self.reset_health(&record)?;
        }

        // Without a terminal, signals wait for the container from before it exists: one that
        // came between its start and this process's wait would otherwise end this process
        // and leave the container behind. (The launched child unblocks them.)
        let early_proxy = (attached && !record.spec.tty)
            .then(SignalProxy::install)
            .flatten();
        crate::debug!(
            "Starting container {} with OCI runtime {:?}",
            record.id,
            record.runtime
        );
        let mut sync = SyncReader {
            channel: self.launch(&record, attached, stdin, streams)?,
            buffer: Vec::new(),
            primer: None,
        };
        // While the child sets the container up, this process has time on the other CPU.
        // The embedded runtime on cgroup v1 moves its single-threaded process into the
        // container's cgroups without the kernel's migration lock (vendor/libcgroups): make
        // the cgroup directories for it. Elsewhere keep that lock warm (see `CgroupPrimer`),
        // so the runtime's move does not wait for an RCU grace period.
        let cgroup = Engine::cgroup_path(&record.spec, &record.id);
        let lockless_move = skiff_runtime::is_embedded(&record.runtime)
            && self.cgroup == crate::options::CgroupMode::Legacy;
        if self.cgroups_usable() && lockless_move {
            process::make_v1_cgroup(&cgroup);
        } else if self.cgroups_usable() {
            sync.primer = process::CgroupPrimer::new();
            if let Some(primer) = &sync.primer {
                primer.prime();
            }
        }
        Ok(Launch::Started(Box::new(Launched {
            lock,
            record,
            sync,
            cgroup,
            early_proxy,
        })))
    }

    /// The second half of a start: waits for the monitor to say the container runs, then
    /// what a start leaves (pidfiles, events). The container's PID, and its sync channel and
    /// record for an attached start.
    fn await_start(
        &mut self,
        launched: Box<Launched>,
    ) -> Result<(i32, SyncReader, ContainerRecord), EngineError> {
        let Launched {
            lock,
            record,
            mut sync,
            cgroup,
            early_proxy: _,
        } = *launched;
        let failed = || {
            reap_children();
            skiff_runtime::remove_cgroup(std::path::Path::new(&cgroup));
        };
        let pid = match sync.next(None) {
            Some(SyncMessage::Started(pid)) => pid,
            Some(SyncMessage::Error {
                code,
                kind,
                message,
            }) => {
                failed();
                return Err(EngineError::from_child(code, &kind, message));
            }
            _ => {
                failed();
                return Err(EngineError::StartFailed(
                    125,
                    format!(
                        "container {}: the monitor exited before the container started",
                        record.name
                    ),
                ));
            }
        };
        // The monitor's PID, looked up only for those who are told it (off the plain start).
        let notify = crate::environment::var(crate::notify::NOTIFY_SOCKET)
            .filter(|_| record.spec.sdnotify != skiff_spec::SdNotify::Ignore);
        if let Some(path) = &record.spec.pidfile {
            fs::write(path, pid.to_string()).io("write", path)?;
        }
        if record.spec.conmon_pidfile.is_some() || notify.is_some() {
            let monitor = self.containers.lookup(&record.id)?.monitor_pid;
            if let Some(path) = &record.spec.conmon_pidfile {
                fs::write(path, monitor.to_string()).io("write", path)?;
            }
            if let Some(socket) = notify {
                notify_unit(&socket, record.spec.sdnotify, monitor);
            }
        }
        self.emit_container(&record, "init", None);
        self.emit_container(&record, "start", None);
        // The cleanup after the container's exit takes this lock: let go of it now.
        drop(lock);
        Ok((pid, sync, record))
    }

    /// `start` of several containers, detached, in parallel: each monitor is launched before
    /// any is waited for. A result per container, in order.
    pub fn start_containers(&mut self, names: &[&str]) -> Vec<Result<i32, EngineError>> {
        let launched: Vec<Result<Launch, EngineError>> = names
            .iter()
            .map(|name| self.launch_start(name, Starter::User, false, false, (false, false)))
            .collect();
        launched
            .into_iter()
            .map(|launch| match launch? {
                Launch::Done(pid) => Ok(pid),
                Launch::Started(launched) => self.await_start(launched).map(|(pid, ..)| pid),
            })
            .collect()
    }

    /// `attach`: joins this process's stdio to a running container's (through its monitor)
    /// until the container exits (its exit code) or the detach keys are typed (0).
    pub fn attach_container(
        &self,
        name_or_id: &str,
        options: &AttachOptions,
    ) -> Result<i32, EngineError> {
        let record = self.refresh(self.containers.lookup(name_or_id)?)?;
        if record.state != State::Running {
            return Err(EngineError::InvalidState(
                "you can only attach to running containers".into(),
            ));
        }
        let path = self.attach_socket_path(&record.id);
        let socket = connect_to(&path, SockType::SeqPacket).io("attach to", &path)?;
        let keys_to_container = record.spec.interactive && !options.no_stdin;
        let ending = {
            let _raw = (record.spec.tty && keys_to_container).then(RawTerminal::enter);
            let signals = (options.sig_proxy && !(record.spec.tty && keys_to_container))
                .then(SignalProxy::install)
                .flatten();
            proxy(
                &Peer::Monitor(socket),
                keys_to_container,
                &options.detach_keys,
                signals.as_ref().map(|s| (s, record.pid)),
                self.window,
            )
        };
        match ending {
            Ending::Detached => Ok(0),
            Ending::Closed => self.wait_container(&record.id),
        }
    }

    /// Brings a record up to date with the truth on the host: an exit file written by the
    /// monitor, or a container process that is gone while its monitor died too.
    pub(crate) fn refresh(&self, record: ContainerRecord) -> Result<ContainerRecord, EngineError> {
        if record.state != State::Running {
            return Ok(record);
        }
        if let Some(exit) = fs::read_to_string(self.exit_path(&record.id))
            .ok()
            .and_then(|text| ExitRecord::decode(&text))
        {
            let finished = DateTime::<Utc>::from_timestamp_nanos(exit.finished_unix_nanos);
            self.containers
                .set_exited(&record.id, record.pid, exit.code, finished)?;
        } else if !process::is_alive(record.pid, record.pid_start)
            && !process::is_alive(record.monitor_pid, record.monitor_start)
        {
            // Both the container and its monitor are gone and nobody recorded an exit code,
            // nor gave back what its network held.
            self.containers
                .set_exited(&record.id, record.pid, 255, Utc::now())?;
            let _ = self.release_network(&record);
        } else {
            return Ok(record);
        }
        Ok(self.containers.get(&record.id)?.unwrap_or(record))
    }

    /// A report; `configs` keeps image configs already parsed (many containers share one image).
    pub(crate) fn report(
        &self,
        record: ContainerRecord,
        configs: &mut HashMap<String, Option<ImageConfiguration>>,
    ) -> Result<ContainerReport, EngineError> {
        let config = configs.entry(record.image_id.clone()).or_insert_with(|| {
            self.images
                .resolve(&record.image_id)
                .and_then(|i| i.config())
                .ok()
        });
        let command = match config {
            Some(config) => record.spec.process_args(config),
            None => record.spec.command.clone(),
        };
        let paths = ReportPaths {
            rootfs: self
                .layout(&record.id, &record.driver)
                .rootfs()
                .display()
                .to_string(),
            userdata: self.userdata_dir(&record.id).display().to_string(),
            log: self
                .log_path(&record)
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            // Filled for `inspect` alone (see `container`): `ps` lists many.
            volumes: String::new(),
        };
        let paused = record.state == State::Running && self.is_paused(&record.id, record.pid);
        let pod = match &record.spec.pod {
            Some(pod) => self.containers.pod(pod)?,
            None => None,
        };
        let health = self.health_state(&record);
        let mut report = ContainerReport::new(record, paused, command, paths);
        report.health = health;
        if let Some(pod) = pod {
            report.is_infra = pod.infra_id.as_deref() == Some(report.id());
            report.pod_name = pod.name;
        }
        Ok(report)
    }

    pub fn list_containers(&self, all: bool) -> Result<Vec<ContainerReport>, EngineError> {
        self.list_containers_filtered(all, &ContainerFilter::default())
    }

    /// `ps --filter`: a filter about stopped containers implies `--all`, as in Docker.
    /// Podman's `--latest`: the container created last.
    pub fn latest_container(&self) -> Result<String, EngineError> {
        self.containers
            .list()?
            .into_iter()
            .max_by_key(|record| record.created)
            .map(|record| record.id)
            .ok_or_else(|| EngineError::NoSuchContainer("the latest container".into()))
    }

    pub fn list_containers_filtered(
        &self,
        all: bool,
        filter: &ContainerFilter,
    ) -> Result<Vec<ContainerReport>, EngineError> {
        let all = all || filter.wants_stopped();
        let mut out = Vec::new();
        let mut configs = HashMap::new();
        for record in self.containers.list()? {
            let record = self.refresh(record)?;
            if all || record.state == State::Running {
                let report = self.report(record, &mut configs)?;
                if filter.matches(&report) {
                    out.push(report);
                }
            }
        }
        Ok(out)
    }

    pub fn container(&self, name_or_id: &str) -> Result<ContainerReport, EngineError> {
        let record = self.refresh(self.containers.lookup(name_or_id)?)?;
        let mut report = self.report(record, &mut HashMap::new())?;
        if report.is_running() {
            report.addresses = self.container_addresses(&report.record)?;
        }
        report.paths.volumes = self.volume_dir().display().to_string();
        report.image_digest = self
            .images
            .resolve(&report.record.image_id)
            .map(|image| image.digest)
            .unwrap_or_default();
        Ok(report)
    }

    /// The PID of the container's init if it is running.
    pub fn container_pid(&self, name_or_id: &str) -> Result<Option<i32>, EngineError> {
        let record = self.refresh(self.containers.lookup(name_or_id)?)?;
        Ok((record.state == State::Running).then_some(record.pid))
    }

    /// The container's `--network` mode (`container:ID` names the other by ID).
    /// At create: `--pid/--ipc/--uts container:NAME` held as the other container's ID.
    pub(crate) fn resolve_joined_namespaces(
        &self,
        spec: &mut ContainerSpec,
    ) -> Result<(), EngineError> {
        for mode in [&mut spec.pid, &mut spec.ipc, &mut spec.uts] {
            if let skiff_spec::NamespaceMode::Container(name) = mode {
                *name = self.containers.lookup(name)?.id;
            }
        }
        Ok(())
    }

    /// At start: the init PID of the container whose PID, IPC or UTS namespaces this one
    /// joins, which must be running.
    pub(crate) fn joined_namespaces_pid(
        &self,
        spec: &ContainerSpec,
    ) -> Result<Option<i32>, EngineError> {
        let joined = [&spec.pid, &spec.ipc, &spec.uts]
            .into_iter()
            .find_map(|mode| match mode {
                skiff_spec::NamespaceMode::Container(id) => Some(id),
                _ => None,
            })
            .or(match &spec.userns {
                skiff_spec::UserNamespace::Container(id) => Some(id),
                _ => None,
            });
        let Some(id) = joined else {
            return Ok(None);
        };
        let target = self.refresh(self.containers.lookup(id)?)?;
        if target.state != State::Running {
            return Err(EngineError::InvalidState(format!(
                "cannot join the namespaces of container {}: it is not running",
                target.name
            )));
        }
        Ok(Some(target.pid))
    }

    pub fn network_mode(&self, name_or_id: &str) -> Result<skiff_spec::NetworkMode, EngineError> {
        Ok(self.containers.lookup(name_or_id)?.spec.network)
    }

    pub fn container_exists(&self, name_or_id: &str) -> Result<bool, EngineError> {
        match self.containers.lookup(name_or_id) {
            Ok(_) => Ok(true),
            Err(EngineError::NoSuchContainer(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `kill`: sends a signal to the container's init process.
    pub fn kill_container(&mut self, name_or_id: &str, signal: &str) -> Result<(), EngineError> {
        let signal = kill_signal(signal)?;
        let record = self.refresh(self.containers.lookup(name_or_id)?)?;
        if record.state != State::Running {
            return Err(EngineError::InvalidState(format!(
                "can only kill running containers. {} is in state {}",
                record.id,
                record.state.as_str()
            )));
        }
        process::signal(record.pid, record.pid_start, signal).map_err(|source| {
            EngineError::System {
                action: format!("kill {}", record.name),
                source,
            }
        })?;
        // A frozen container receives the signal once it thaws.
        self.thaw(&record.id, record.pid);
        self.emit_container(&record, "kill", None);
        Ok(())
    }

    /// `stop`: the stop signal, then SIGKILL after the timeout; returns once the exit is recorded.
    pub fn stop_container(
        &mut self,
        name_or_id: &str,
        timeout: Option<u64>,
    ) -> Result<(), EngineError> {
        let mut results = self.stop_containers(&[name_or_id], timeout);
        results.pop().unwrap_or(Ok(()))
    }

    /// `stop` of several containers at once, as Podman's: each gets its stop signal before
    /// any is waited for, and SIGKILL once its own timeout is over. A result per container,
    /// in order.
    pub fn stop_containers(
        &mut self,
        names: &[&str],
        timeout: Option<u64>,
    ) -> Vec<Result<(), EngineError>> {
        let signalled: Vec<Result<Option<(ContainerRecord, Instant)>, EngineError>> = names
            .iter()
            .map(|name| self.signal_stop(name, timeout))
            .collect();
        signalled
            .into_iter()
            .map(|signalled| {
                let Some((record, deadline)) = signalled? else {
                    return Ok(());
                };
                let left = deadline.saturating_duration_since(Instant::now());
                if left > Duration::ZERO && self.wait_stopped(&record, left)? {
                    return Ok(());
                }
                let _ = process::signal(record.pid, record.pid_start, Signal::SIGKILL as i32);
                self.thaw(&record.id, record.pid);
                self.wait_stopped(&record, KILL_GRACE)?;
                Ok(())
            })
            .collect()
    }

    /// The first half of a stop: the container is told (its stop signal, or SIGKILL with no
    /// time to stop). The record and when its time is over, if it runs.
    fn signal_stop(
        &mut self,
        name_or_id: &str,
        timeout: Option<u64>,
    ) -> Result<Option<(ContainerRecord, Instant)>, EngineError> {
        let record = self.refresh(self.containers.lookup(name_or_id)?)?;
        // Before any signal, and even when it already exited (its restart may be pending):
        // the restart policy must not bring it back.
        self.containers.set_stopped_by_user(&record.id)?;
        if record.state != State::Running {
            return Ok(None);
        }
        let signal = record
            .spec
            .stop_signal
            .as_deref()
            .and_then(process::parse_signal)
            .unwrap_or(Signal::SIGTERM as i32);
        let timeout = Duration::from_secs(timeout.or(record.spec.stop_timeout).unwrap_or(10));
        self.emit_container(&record, "stop", None);
        let signal = if timeout > Duration::ZERO {
            signal
        } else {
            Signal::SIGKILL as i32
        };
        let _ = process::signal(record.pid, record.pid_start, signal);
        self.thaw(&record.id, record.pid);
        Ok(Some((record, Instant::now() + timeout)))
    }

    /// Waits until the container's exit is recorded and its monitor has finished cleaning up.
    fn wait_stopped(
        &self,
        record: &ContainerRecord,
        timeout: Duration,
    ) -> Result<bool, EngineError> {
        let deadline = Instant::now() + timeout;
        loop {
            let container_gone = !process::is_alive(record.pid, record.pid_start);
            let monitor_gone = !process::is_alive(record.monitor_pid, record.monitor_start);
            if container_gone && monitor_gone {
                self.refresh(record.clone())?;
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(POLL);
        }
    }

    /// `rename`: a new name, running or not.
    pub fn rename_container(&mut self, name_or_id: &str, name: &str) -> Result<(), EngineError> {
        if !names::valid_name(name) {
            return Err(EngineError::InvalidName(name.to_string()));
        }
        let id = self.containers.lookup(name_or_id)?.id;
        self.containers.rename(&id, name)
    }

    /// `port`: the container's published ports as `80/tcp -> 0.0.0.0:8080` lines. Only
    /// `--network none|host` exist so far, and neither publishes ports.
    /// `port`: `80/tcp -> 0.0.0.0:8080` for each published port.
    pub fn container_ports(&self, name_or_id: &str) -> Result<Vec<String>, EngineError> {
        let record = self.containers.lookup(name_or_id)?;
        Ok(record
            .spec
            .ports
            .iter()
            .map(|p| {
                let ip = if p.host_ip.is_empty() {
                    "0.0.0.0"
                } else {
                    &p.host_ip
                };
                format!(
                    "{}/{} -> {ip}:{}",
                    p.container_port, p.protocol, p.host_port
                )
            })
            .collect())
    }

    /// `wait --condition`: blocks until the container is in one of `conditions` (Podman's
    /// names: created/configured, running, paused, exited/stopped, removing); returns its exit
    /// code when it stopped, else -1 as Podman does. A removed container counts as removing.
    pub fn wait_container_for(
        &self,
        name_or_id: &str,
        conditions: &[String],
    ) -> Result<i32, EngineError> {
        const KNOWN: &[&str] = &[
            "configured",
            "created",
            "exited",
            "healthy",
            "paused",
            "removing",
            "running",
            "stopped",
            "unhealthy",
        ];
        if let Some(bad) = conditions.iter().find(|c| !KNOWN.contains(&c.as_str())) {
            return Err(EngineError::InvalidArgument(format!(
                "invalid condition {bad:?}: expected one of {}",
                KNOWN.join(", ")
            )));
        }
        if conditions.is_empty() {
            return self.wait_container(name_or_id);
        }
        let wanted = |state: &str| {
            conditions.iter().any(|c| match c.as_str() {
                "configured" => state == "created",
                "stopped" => state == "exited",
                other => other == state,
            })
        };
        let id = self.containers.lookup(name_or_id)?.id;
        loop {
            let Some(record) = self.containers.get(&id)? else {
                if wanted("removing") {
                    return Ok(-1);
                }
                return Err(EngineError::NoSuchContainer(name_or_id.to_string()));
            };
            let record = self.refresh(record)?;
            let report = self.report(record, &mut HashMap::new())?;
            let state = report.state.as_str();
            // `healthy`/`unhealthy`: the healthcheck's verdict, while it runs.
            let health = report.health.as_ref().map(|h| h.status.as_str());
            if health.is_some_and(|h| report.is_running() && wanted(h)) {
                return Ok(-1);
            }
            if wanted(state) {
                return Ok(if state == "exited" {
                    report.record.exit_code
                } else {
                    -1
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `wait`: blocks until the container is not running; returns its exit code.
    pub fn wait_container(&self, name_or_id: &str) -> Result<i32, EngineError> {
        let id = self.containers.lookup(name_or_id)?.id;
        loop {
            let Some(record) = self.containers.get(&id)? else {
                return Err(EngineError::NoSuchContainer(name_or_id.to_string()));
            };
            let record = self.refresh(record)?;
            // As Podman 4's WaitForExit: whatever is not running has its exit code now (0 for
            // a container that never ran).
            if record.state != State::Running {
                return Ok(record.exit_code);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn restart_container(
        &mut self,
        name_or_id: &str,
        timeout: Option<u64>,
    ) -> Result<(), EngineError> {
        self.stop_container(name_or_id, timeout)?;
        self.start_container(name_or_id, StartMode::Detached)?;
        Ok(())
    }

    /// `rm`: deletes a container that is not running (`force` kills it first).
    pub fn remove_container(
        &mut self,
        name_or_id: &str,
        force: bool,
    ) -> Result<String, EngineError> {
        self.remove_container_and_volumes(name_or_id, force, false)
    }

    /// `rm [-v]`: with `volumes`, the container's anonymous volumes go too (as they always
    /// do for a `--rm` container).
    pub fn remove_container_and_volumes(
        &mut self,
        name_or_id: &str,
        force: bool,
        volumes: bool,
    ) -> Result<String, EngineError> {
        self.remove_container_as(name_or_id, force, volumes, false)
    }

    /// `remove_container_and_volumes`; a pod's infra container only as part of removing the
    /// pod (`with_pod`).
    pub(crate) fn remove_container_as(
        &mut self,
        name_or_id: &str,
        force: bool,
        volumes: bool,
        with_pod: bool,
    ) -> Result<String, EngineError> {
        let record = self.refresh(self.containers.lookup(name_or_id)?)?;
        if !with_pod
            && let Some(pod) = &record.spec.pod
            && let Some(pod) = self.containers.pod(pod)?
            && pod.infra_id.as_deref() == Some(record.id.as_str())
        {
            return Err(EngineError::Conflict(format!(
                "container {} is the infra container of pod {} and cannot be removed without removing the pod",
                record.id, pod.id
            )));
        }
        let dependents: Vec<String> = self
            .containers
            .list()?
            .into_iter()
            .filter(|c| c.id != record.id && c.spec.joined_container() == Some(record.id.as_str()))
            .map(|c| c.name)
            .collect();
        if !dependents.is_empty() {
            return Err(EngineError::Conflict(format!(
                "container {} has dependent containers which must be removed before it: {}",
                record.id,
                dependents.join(", ")
            )));
        }
        if record.state == State::Running {
            if !force {
                return Err(EngineError::ContainerRunning(record.id.clone(), "running"));
            }
            self.containers.set_stopped_by_user(&record.id)?;
            let _ = process::signal(record.pid, record.pid_start, Signal::SIGKILL as i32);
            self.thaw(&record.id, record.pid);
            self.wait_stopped(&record, KILL_GRACE)?;
        }
        let _lock = self.container_lock(&record.id)?;
        self.delete_container_files(&record)?;
        self.emit_container(&record, "remove", None);
        if volumes {
            self.remove_anonymous_volumes(&record.spec.mounts);
        }
        Ok(record.id)
    }

    /// Removes the files first and the record last: a process killed half-way leaves a listed
    /// container that the next `rm` finishes, never files that nothing refers to.
    /// Removes a stopped container and deletes its files.
    pub(crate) fn delete_container_files(
        &self,
        record: &ContainerRecord,
    ) -> Result<(), EngineError> {
        self.retire_container(record)?;
        self.empty_trash();
        Ok(())
    }

    /// Removes a stopped container: its record, and its files as far as moving them into the
    /// trash, which `empty_trash` deletes. After an error the record stays, for `rm` to retry.
    pub(crate) fn retire_container(&self, record: &ContainerRecord) -> Result<(), EngineError> {
        let mut errors = Vec::new();
        // Normally the cleanup after exit did this; not if the monitor was killed.
        if let Err(e) = self.retire_runtime_state(record) {
            errors.push(e.to_string());
        }
        // Unmounted first, a user's mount too: the trash must not hold a mounted root
        // filesystem.
        self.detach_image_volumes(record);
        match self.layout(&record.id, &record.driver).unmount() {
            Ok(()) => {
                let (root_trash, run_trash) = trashes(&self.options);
                for (dir, trash) in [
                    (self.container_dir(&record.id), &root_trash),
                    (self.run_dir(&record.id), &run_trash),
                ] {
                    if let Err(e) = trash.put(&dir, "container") {
                        errors.push(e.to_string());
                    }
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
        if !errors.is_empty() {
            return Err(EngineError::Cleanup(errors));
        }
        self.containers.delete(&record.id)?;
        // The caller holds this lock; a waiter that gets it next finds the container gone.
        let _ = fs::remove_file(self.lock_path(&record.id));
        if record.spec.remove {
            self.remove_anonymous_volumes(&record.spec.mounts);
        }
        Ok(())
    }

    /// A stopped container's runtime state (and cgroup): into the trash where the runtime
    /// allows it, else the runtime forgets the container now.
    pub(crate) fn retire_runtime_state(&self, record: &ContainerRecord) -> Result<(), EngineError> {
        // Cleanup runs whatever flags this command was given.
        let runtime = skiff_runtime::runtime_for(&record.runtime, &self.runtime_state_root(), &[])?;
        match runtime.state_dir(&record.id) {
            Some(state) => Ok(trashes(&self.options).1.put(&state, RUNTIME_STATE)?),
            None => Ok(runtime.delete(&record.id)?),
        }
    }

    /// Deletes what removed containers left in the trash. Best effort: what cannot go now
    /// (a cgroup still busy) stays for the next time.
    pub(crate) fn empty_trash(&self) {
        Self::empty_trash_of(&self.options);
    }

    /// `empty_trash` for the storage at `options`, without opening it (which would make its
    /// directories again if they are gone).
    pub(crate) fn empty_trash_of(options: &crate::options::StoreOptions) {
        let (root_trash, run_trash) = trashes(options);
        for discarded in root_trash
            .contents()
            .into_iter()
            .chain(run_trash.contents())
        {
            let _ = if discarded.kind == RUNTIME_STATE {
                skiff_runtime::remove_state(&discarded.path).map_err(EngineError::from)
            } else {
                skiff_storage::trash::remove_tree(&discarded.path).map_err(EngineError::from)
            };
        }
    }

    fn lock_path(&self, id: &str) -> PathBuf {
        self.options.runroot.join("locks").join(id)
    }

    /// Serialises start, cleanup and removal of one container across `skiff` processes.
    pub(crate) fn container_lock(&self, id: &str) -> Result<FileLock, EngineError> {
        let path = self.lock_path(id);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).io("create", dir)?;
        }
        Ok(FileLock::exclusive(&path)?)
    }

    /// `container prune`: removes every container that is not running.
    pub fn prune_containers(&mut self) -> Result<Vec<String>, EngineError> {
        let mut removed = Vec::new();
        let records = self
            .containers
            .list()?
            .into_iter()
            .map(|r| self.refresh(r))
            .collect::<Result<Vec<_>, _>>()?;
        // A stopped container whose namespaces a running one shares stays.
        let shared: Vec<String> = records
            .iter()
            .filter(|r| r.state == State::Running)
            .filter_map(|r| r.spec.joined_container().map(str::to_string))
            .collect();
        // Infra containers go with their pods.
        let infra: Vec<String> = self
            .containers
            .list_pods()?
            .into_iter()
            .filter_map(|pod| pod.infra_id)
            .collect();
        for record in records {
            let needed = shared.contains(&record.id) || infra.contains(&record.id);
            if record.state != State::Running && !needed {
                let _lock = self.container_lock(&record.id)?;
                self.delete_container_files(&record)?;
                removed.push(record.id);
            }
        }
        Ok(removed)
    }
}

/// The signal `kill -s` names: Podman strips one leading dash (`kill -s -HUP`), and names the
/// signal without it when it is not one.
pub(crate) fn kill_signal(signal: &str) -> Result<i32, EngineError> {
    let signal = signal.strip_prefix('-').unwrap_or(signal);
    if signal.parse::<i64>().is_ok_and(|n| n > 64) {
        return Err(EngineError::InvalidArgument(
            "valid signals are 1 through 64".into(),
        ));
    }
    process::parse_signal(signal)
        .ok_or_else(|| EngineError::InvalidArgument(format!("invalid signal: {signal}")))
}

/// `--sdnotify` under a `Type=notify` unit (`$NOTIFY_SOCKET`): the unit watches the
/// monitor (MAINPID), and with `conmon` hears from skiff that the container runs (READY=1);
/// with `container` the container says so itself. A unit that cannot be told is no reason to
/// fail the start: systemd times it out and says why.
fn notify_unit(socket: &str, mode: skiff_spec::SdNotify, monitor: i32) {
    let message = match mode {
        skiff_spec::SdNotify::Ignore => return,
        skiff_spec::SdNotify::Container => format!("MAINPID={monitor}"),
        skiff_spec::SdNotify::Conmon => format!("MAINPID={monitor}\nREADY=1"),
    };
    let _ = crate::notify::send(socket, &message);
}

/// Where distributions install catatonit (Podman's init, and its pods' infra program).
pub(crate) const CATATONIT_PATHS: &[&str] = &[
    "/usr/libexec/podman/catatonit",
    "/usr/libexec/catatonit/catatonit",
    "/usr/bin/catatonit",
    "/usr/local/bin/catatonit",
];

/// The image label `--seccomp-policy image` takes a seccomp profile from (Podman's).
const SECCOMP_LABEL: &str = "io.containers.seccomp.profile";

/// `--preserve-fds N`: descriptors 3 to 3+N-1 must be ones this process was given (open and
/// inherited, never one of its own, which are all close-on-exec), as Podman checks.
fn check_preserved_fds(count: u32) -> Result<(), EngineError> {
    for fd in 3..3 + count as i32 {
        let inherited = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD)
            .is_ok_and(|flags| flags & libc::FD_CLOEXEC == 0);
        if !inherited {
            return Err(EngineError::InvalidArgument(format!(
                "file descriptor {fd} is not available - the preserve-fds option requires that all file descriptors must be passed"
            )));
        }
    }
    Ok(())
}

/// The first of `paths` that is a file.
pub(crate) fn first_file(paths: &[&str]) -> Option<PathBuf> {
    paths.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// The init binary `--init` runs: `--init-path`, else Podman's catatonit or tini on the host.
pub(crate) fn find_init_binary(given: Option<&str>) -> Option<PathBuf> {
    if let Some(path) = given {
        return first_file(&[path]);
    }
    first_file(CATATONIT_PATHS).or_else(|| first_file(&["/usr/bin/tini-static", "/usr/bin/tini"]))
}

/// Waits for a child of this process, passing on the signals a user sends; its exit code, or
/// 128+n when signal n killed it.
pub(crate) fn wait_child(pid: nix::unistd::Pid) -> i32 {
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    let proxy = SignalProxy::install();
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => return code,
            Ok(WaitStatus::Signaled(_, signal, _)) => return 128 + signal as i32,
            Ok(_) => {}
            Err(nix::Error::EINTR) => continue,
            Err(_) => return 255,
        }
        match &proxy {
            Some(proxy) => {
                // Wake for a forwarded signal or every few milliseconds to look again.
                let mut fds = [nix::poll::PollFd::new(
                    std::os::fd::AsFd::as_fd(&proxy.signal_fd),
                    nix::poll::PollFlags::POLLIN,
                )];
                let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(2u8));
                proxy.forward(pid.as_raw());
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// Collects the forked monitor if it already exited (a detached one outlives us and is
/// adopted by init or the nearest subreaper).
fn reap_children() {
    while let Ok(status) = nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG))
    {
        if status == nix::sys::wait::WaitStatus::StillAlive {
            break;
        }
    }
}

/// What `launch_start` did: nothing more to do (the PID, or 0), or a monitor launched.
enum Launch {
    Done(i32),
    Started(Box<Launched>),
}

/// A container whose monitor is setting it up (see `launch_start`).
struct Launched {
    lock: FileLock,
    record: ContainerRecord,
    sync: SyncReader,
    cgroup: String,
    /// Installed before the launch for an attached start without a terminal.
    early_proxy: Option<SignalProxy>,
}

/// Reads the monitor's messages (see `skiff_monitor::sync`), forwarding signals to the
/// container while it waits.
struct SyncReader {
    channel: File,
    buffer: Vec<u8>,
    /// Until the first message: primes the cgroup migration lock every few milliseconds.
    primer: Option<process::CgroupPrimer>,
}

impl SyncReader {
    fn next(&mut self, proxy: Option<(&SignalProxy, i32)>) -> Option<SyncMessage> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::AsFd;
        loop {
            if let Some(newline) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=newline).collect();
                self.primer = None;
                if let Some(message) = SyncMessage::decode(&String::from_utf8_lossy(&line)) {
                    return Some(message);
                }
                continue;
            }
            let mut fds = vec![PollFd::new(self.channel.as_fd(), PollFlags::POLLIN)];
            if let Some((proxy, _)) = proxy {
                fds.push(PollFd::new(proxy.signal_fd.as_fd(), PollFlags::POLLIN));
            }
            let timeout = if self.primer.is_some() {
                PollTimeout::from(3u8)
            } else {
                PollTimeout::NONE
            };
            match poll(&mut fds, timeout) {
                Err(nix::Error::EINTR) => continue,
                Err(_) => return None,
                Ok(0) => {
                    drop(fds);
                    if let Some(primer) = &self.primer {
                        primer.prime();
                    }
                    continue;
                }
                Ok(_) => {}
            }
            let ready =
                |f: Option<&PollFd>| f.and_then(|f| f.revents()).is_some_and(|r| !r.is_empty());
            let (readable, signalled) = (ready(fds.first()), ready(fds.get(1)));
            drop(fds);
            if let (true, Some((proxy, pid))) = (signalled, proxy) {
                proxy.forward(pid);
            }
            if !readable {
                continue;
            }
            let mut chunk = [0u8; 256];
            match nix::unistd::read(self.channel.as_raw_fd(), &mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(nix::Error::EAGAIN) | Err(nix::Error::EINTR) => {}
                Err(_) => return None,
            }
        }
    }
}
