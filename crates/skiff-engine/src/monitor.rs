//! Starting a container under its monitor, and the cleanup after it.
//!
//! `skiff` forks; the child (already holding everything it needs) gets a private mount
//! namespace, mounts the root filesystem, has the runtime create and start the container as its
//! own child, records it as running, tells the starting `skiff`, and execs the small
//! `skiff-monitor`, which stays the container's parent. When the container exits, the monitor
//! execs `skiff __cleanup`, which records the exit, unmounts, removes a `--rm` container, and
//! reports the exit code. The mount lives only in that namespace: when the monitor and its
//! container are gone, so is the mount, even after SIGKILL.
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::socket::SockType;
use skiff_monitor::MonitorArgs;
use skiff_monitor::sync::SyncMessage;
use skiff_runtime::socket::{listen_at, receive_terminal};
use skiff_runtime::{ContainerStdio, process, runtime_for};
use skiff_spec::{MountSpec, RuntimeContext, generate};

use crate::container::lifecycle::{StartMode, Starter, find_init_binary};
use crate::container::store::ContainerRecord;
use crate::engine::Engine;
use crate::environment::{self, var};
use crate::error::{EngineError, IoContext};
use crate::hostfiles;
use crate::mounts::ContainerBase;
use crate::options::StoreOptions;

/// argv[1] of the hidden command the monitor execs after the container exits.
pub const CLEANUP_COMMAND: &str = "__cleanup";

/// Where the monitor program is: $SKIFF_MONITOR, beside `skiff`, or in ../libexec/skiff.
pub fn monitor_binary() -> Result<PathBuf, EngineError> {
    if let Some(path) = var(environment::SKIFF_MONITOR) {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().io("find", "/proc/self/exe")?;
    let dir = exe.parent().unwrap_or(Path::new("/"));
    [
        dir.join("skiff-monitor"),
        dir.join("../libexec/skiff/skiff-monitor"),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .ok_or_else(|| EngineError::MonitorNotFound(exe.clone()))
}

impl Engine {
    /// Forks the container's monitor. Returns the socket on which it reports (see
    /// `skiff_monitor::sync`). The caller must be single-threaded.
    /// `streams`: which of stdout and stderr an attached start without a terminal copies
    /// to this process's.
    pub(crate) fn launch(
        &mut self,
        record: &ContainerRecord,
        attached: bool,
        stdin: bool,
        streams: (bool, bool),
    ) -> Result<File, EngineError> {
        let monitor = monitor_binary()?;
        let exe = std::env::current_exe().io("find", "/proc/self/exe")?;
        // Read here, so that the child need not open the image database.
        let image = self.container_base(record)?;
        let (ours, monitors) = nix::sys::socket::socketpair(
            nix::sys::socket::AddressFamily::Unix,
            SockType::Stream,
            None,
            nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        )
        .map_err(|source| EngineError::System {
            action: "create the monitor's sync socket".into(),
            source,
        })?;
        // Threads that opened databases ahead are done with (see `settle_ahead`).
        skiff_storage::database::settle_ahead();
        // SAFETY: `skiff` is single-threaded here (no thread is left), so the child may run
        // arbitrary code; it ends in exec or _exit and never returns.
        #[allow(unsafe_code)]
        match unsafe { nix::unistd::fork() }.map_err(|source| EngineError::System {
            action: "fork".into(),
            source,
        })? {
            nix::unistd::ForkResult::Child => {
                // The caller may hold signals for its wait (sig-proxy); not this child.
                let _ = nix::sys::signal::SigSet::all().thread_unblock();
                self.close_databases();
                drop(ours);
                let code = self.become_monitor(
                    record, &image, attached, stdin, streams, monitors, &monitor, &exe,
                );
                // SAFETY: leaving the forked child without running the parent's destructors.
                #[allow(unsafe_code)]
                unsafe {
                    libc::_exit(code)
                }
            }
            nix::unistd::ForkResult::Parent { .. } => {
                drop(monitors);
                Ok(File::from(ours))
            }
        }
    }

    /// In the forked child: set up and start the container, then exec the monitor.
    #[allow(clippy::too_many_arguments)]
    fn become_monitor(
        &mut self,
        record: &ContainerRecord,
        image: &ContainerBase,
        attached: bool,
        stdin: bool,
        (stdout, stderr): (bool, bool),
        sync: OwnedFd,
        monitor: &Path,
        exe: &Path,
    ) -> i32 {
        let report = |message: SyncMessage| {
            let _ = nix::unistd::write(&sync, message.encode().as_bytes());
        };
        let _ = nix::unistd::setsid();
        // Before the runtime runs: an external runtime's init is orphaned when `runc create`
        // exits, and must come to us, not to the host's init.
        // SAFETY: prctl with an integer flag and no pointers.
        #[allow(unsafe_code)]
        unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        }
        // With a terminal, the starting `skiff` attaches through the socket like any client.
        let copies_output = attached && !record.spec.tty;
        if let Ok(null) = File::options().read(true).write(true).open("/dev/null") {
            // What is not attached goes nowhere (the log keeps it).
            let kept = [
                copies_output,
                copies_output && stdout,
                copies_output && stderr,
            ];
            for (fd, kept) in kept.into_iter().enumerate() {
                if !kept {
                    let _ = nix::unistd::dup2(null.as_raw_fd(), fd as i32);
                }
            }
        }
        if let Err(e) = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
            .and_then(|()| crate::rootless::make_mounts_private())
        {
            report(ChildFailure::runtime(125, format!("private mount namespace: {e}")).to_sync());
            return 125;
        }
        let prepared = match self.prepare_stdio(record, attached, stdin) {
            Ok(prepared) => prepared,
            Err(message) => {
                report(ChildFailure::runtime(125, message).to_sync());
                return 125;
            }
        };
        let PreparedStdio {
            container,
            output,
            stdin_writer,
            console,
            attach_socket,
        } = prepared;
        // Rootless ports on bridge networks are listened on here, on the host, before the
        // start enters the rootless network namespace; a forwarder carries them in.
        let listeners = if self.rootless_forwards(record) {
            match crate::rootless_netns::listen(&record.spec.ports) {
                Ok(listeners) => listeners,
                Err(message) => {
                    report(ChildFailure::runtime(125, message).to_sync());
                    return 125;
                }
            }
        } else {
            Vec::new()
        };
        let pid = match self.create_and_start(record, image, container) {
            Ok(pid) => pid,
            Err(failure) => {
                let _ = self.layout(&record.id, &record.driver).unmount();
                self.release_image_volumes(record);
                if record.spec.remove {
                    let _ = self.delete_container_files(record);
                }
                report(failure.to_sync());
                return failure.code;
            }
        };
        let terminal = match console.map(|c| receive_terminal(&c, Duration::from_secs(10))) {
            Some(Ok(master)) => Some(master),
            Some(Err(e)) => {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
                report(ChildFailure::runtime(125, format!("container terminal: {e}")).to_sync());
                return 125;
            }
            None => None,
        };
        if !listeners.is_empty()
            && let Err(message) = self.forward_rootless_ports(record, pid, listeners)
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            report(ChildFailure::runtime(125, message).to_sync());
            return 125;
        }
        // The monitor holds no database open while the container runs.
        self.close_databases();
        // The container has the descriptors it was to keep; the monitor must not hold them
        // (a pipe's writer held here would keep its reader from ever seeing the end).
        for fd in 3..3 + record.spec.preserve_fds as i32 {
            let _ = nix::unistd::close(fd);
        }
        // The log exists once the start is reported: a `logs -f` that follows the start opens
        // it then and keeps all of it even if the container is removed right after it exits.
        if let Some(path) = self.log_path(record) {
            let _ = File::options()
                .create(true)
                .append(true)
                .mode(0o640)
                .open(path);
        }
        // Held by the monitor until it has reported the exit (see `MonitorArgs::hold_fd`).
        let mount_namespace = File::open(format!("/proc/{pid}/ns/mnt"))
            .ok()
            .map(OwnedFd::from);
        report(SyncMessage::Started(pid));
        // The container has its own copies of these mounts.
        let _ = self.layout(&record.id, &record.driver).unmount();
        self.detach_image_volumes(record);
        let (stdout_fd, stderr_fd, stdin_fd) = match (&terminal, &output) {
            (Some(master), _) => (
                inheritable(master),
                -1,
                if record.spec.interactive {
                    inheritable(master)
                } else {
                    -1
                },
            ),
            (None, Some((out, err))) => (
                inheritable(out),
                inheritable(err),
                stdin_writer.as_ref().map_or(-1, inheritable),
            ),
            (None, None) => (-1, -1, -1),
        };
        let args = MonitorArgs {
            pid,
            log: self
                .log_path(record)
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            log_size_max: record.spec.log.max_size.unwrap_or(0).max(0) as u64,
            timeout_seconds: record.spec.timeout.unwrap_or(0),
            exit: self.exit_path(&record.id).display().to_string(),
            stdout_fd,
            stderr_fd,
            stdin_fd,
            terminal: terminal.is_some(),
            socket_fd: inheritable(&attach_socket),
            hold_fd: mount_namespace.as_ref().map_or(-1, inheritable),
            wait_client: attached && terminal.is_some(),
            sync_fd: Some(inheritable(&sync)),
            utc_offset_seconds: chrono::Local::now().offset().local_minus_utc().into(),
            attach: attached && terminal.is_none(),
            health_interval_ms: record
                .spec
                .healthcheck
                .as_ref()
                .map_or(0, |check| check.interval / 1_000_000),
            health: self.healthcheck_command(exe, &record.id),
            cleanup: self.cleanup_command(exe, inheritable(&sync), &record.id),
        };
        // Only returns if the monitor program could not start: then watch the container from here.
        let _ = std::process::Command::new(monitor)
            .arg0("skiff-monitor")
            .args(args.to_args())
            .exec();
        skiff_monitor::run(args)
    }

    /// The container's standard streams and the monitor's ends of them: a terminal (through
    /// the runtime's console socket), or pipes for output and, for a detached `-i`, for input.
    /// `attached && stdin`: this process's own stdin goes to the container as it is.
    fn prepare_stdio(
        &self,
        record: &ContainerRecord,
        attached: bool,
        stdin: bool,
    ) -> Result<PreparedStdio, String> {
        let run_dir = self.run_dir(&record.id);
        let attach_socket = listen_at(&self.attach_socket_path(&record.id), SockType::SeqPacket)
            .map_err(|e| format!("attach socket in {}: {e}", run_dir.display()))?;
        let null = || -> Result<OwnedFd, String> {
            File::options()
                .read(true)
                .write(true)
                .open("/dev/null")
                .map(OwnedFd::from)
                .map_err(|e| format!("open /dev/null: {e}"))
        };
        if record.spec.tty {
            let path = run_dir.join("console.sock");
            let console = listen_at(&path, SockType::Stream)
                .map_err(|e| format!("console socket {}: {e}", path.display()))?;
            return Ok(PreparedStdio {
                container: ContainerStdio {
                    stdin: null()?,
                    stdout: null()?,
                    stderr: null()?,
                    console_socket: Some(path),
                    preserve_fds: record.spec.preserve_fds,
                },
                output: None,
                stdin_writer: None,
                console: Some(console),
                attach_socket,
            });
        }
        let pipe = || {
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
                .map_err(|e| format!("creating pipes: {e}"))
        };
        let (stdout_read, stdout_write) = pipe()?;
        let (stderr_read, stderr_write) = pipe()?;
        let (container_stdin, stdin_writer) = if attached && stdin {
            let own = nix::unistd::dup(0).map_err(|e| format!("dup stdin: {e}"))?;
            // SAFETY: dup returned a new descriptor that nothing else owns.
            #[allow(unsafe_code)]
            (unsafe { OwnedFd::from_raw_fd(own) }, None)
        } else if !attached && record.spec.interactive {
            let (read, write) = pipe()?;
            (read, Some(write))
        } else {
            (null()?, None)
        };
        Ok(PreparedStdio {
            container: ContainerStdio {
                stdin: container_stdin,
                stdout: stdout_write,
                stderr: stderr_write,
                console_socket: None,
                preserve_fds: record.spec.preserve_fds,
            },
            output: Some((stdout_read, stderr_read)),
            stdin_writer,
            console: None,
            attach_socket,
        })
    }

    /// The flags that name this store, for a skiff the monitor starts.
    fn store_flags(&self) -> [String; 6] {
        [
            "--root".into(),
            self.options.root.display().to_string(),
            "--runroot".into(),
            self.options.runroot.display().to_string(),
            "--storage-driver".into(),
            self.driver.name().into(),
        ]
    }

    /// `skiff healthcheck run ID` on this store, as the monitor runs it on the check's interval.
    fn healthcheck_command(&self, exe: &Path, id: &str) -> Vec<String> {
        let mut command = vec![exe.display().to_string()];
        command.extend(self.store_flags());
        command.extend(["healthcheck".into(), "run".into(), id.to_string()]);
        command
    }

    fn cleanup_command(&self, exe: &Path, sync_fd: i32, id: &str) -> Vec<String> {
        let mut command = vec![exe.display().to_string(), CLEANUP_COMMAND.to_string()];
        command.extend(self.store_flags());
        command.extend([
            "--runtime".into(),
            if self.options.runtime.is_empty() {
                "skiff".into()
            } else {
                self.options.runtime.clone()
            },
            "--sync-fd".into(),
            sync_fd.to_string(),
        ]);
        if self.options.rootless {
            command.push("--rootless".into());
        }
        command.push(id.to_string());
        command
    }
}

/// systemd's socket activation variables of the starting process, for the container (as
/// Podman passes them: LISTEN_PID becomes 1, the container's init).
fn socket_activation_env() -> Vec<String> {
    let (Ok(fds), Ok(_)) = (std::env::var("LISTEN_FDS"), std::env::var("LISTEN_PID")) else {
        return Vec::new();
    };
    let mut env = vec!["LISTEN_PID=1".to_string(), format!("LISTEN_FDS={fds}")];
    if let Ok(names) = std::env::var("LISTEN_FDNAMES") {
        env.push(format!("LISTEN_FDNAMES={names}"));
    }
    env
}

/// What `prepare_stdio` sets up before the container is created.
struct PreparedStdio {
    container: ContainerStdio,
    /// The read ends of the output pipes (none with a terminal).
    output: Option<(OwnedFd, OwnedFd)>,
    /// The write end of a detached `-i` container's stdin pipe.
    stdin_writer: Option<OwnedFd>,
    /// Where the runtime sends the terminal's master end.
    console: Option<OwnedFd>,
    attach_socket: OwnedFd,
}

/// Clears close-on-exec so the monitor inherits the descriptor; returns its number.
fn inheritable(fd: &OwnedFd) -> i32 {
    let raw = fd.as_raw_fd();
    let _ = nix::fcntl::fcntl(
        raw,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    );
    raw
}

/// Entry point of `skiff __cleanup --root R --runroot RR --storage-driver D --runtime X
/// [--rootless] --sync-fd N ID CODE`: what happens after the container exited. With
/// `EMPTY_TRASH` for CODE, after the starting `skiff` did the rest: the trash.
pub fn cleanup_main(args: &[String]) -> i32 {
    let mut options = StoreOptions::defaults(false);
    let mut sync_fd = None;
    let mut positional = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--root" => options.root = iter.next().map(PathBuf::from).unwrap_or_default(),
            "--runroot" => options.runroot = iter.next().map(PathBuf::from).unwrap_or_default(),
            "--storage-driver" => options.driver = iter.next().cloned(),
            "--runtime" => {
                options.runtime = iter
                    .next()
                    .filter(|r| *r != "skiff")
                    .cloned()
                    .unwrap_or_default()
            }
            "--rootless" => options.rootless = true,
            "--sync-fd" => sync_fd = iter.next().and_then(|f| f.parse::<i32>().ok()),
            other => positional.push(other.to_string()),
        }
    }
    let [id, code] = positional.as_slice() else {
        return 125;
    };
    // After a handover only the trash is left to empty.
    if code == skiff_monitor::sync::EMPTY_TRASH {
        Engine::empty_trash_of(&options);
        return 0;
    }
    let code: i32 = code.parse().unwrap_or(255);
    let mut engine = Engine::open(options).ok();
    let restart = engine
        .as_ref()
        .and_then(|engine| engine.finish(id, code).ok())
        .unwrap_or(false);
    if let Some(fd) = sync_fd {
        // SAFETY: the monitor handed this descriptor to us for the final report.
        #[allow(unsafe_code)]
        let mut sync = unsafe { File::from_raw_fd(fd) };
        let _ = sync.write_all(SyncMessage::Exited(code).encode().as_bytes());
    }
    if let Some(engine) = &engine {
        engine.empty_trash();
    }
    if restart && let Some(engine) = engine.as_mut() {
        engine.restart_by_policy(id);
    }
    code
}

/// A failure of the forked child as it crosses the sync channel (`skiff_monitor::sync`):
/// Podman's exit code, the error's kind, the message.
#[derive(Debug)]
struct ChildFailure {
    code: i32,
    kind: crate::error::ErrorKind,
    message: String,
}

impl ChildFailure {
    fn runtime(code: i32, message: String) -> Self {
        Self {
            code,
            kind: crate::error::ErrorKind::Runtime,
            message,
        }
    }

    fn to_sync(&self) -> SyncMessage {
        SyncMessage::Error {
            code: self.code,
            kind: self.kind.as_str().to_string(),
            message: self.message.clone(),
        }
    }
}

impl From<EngineError> for ChildFailure {
    fn from(error: EngineError) -> Self {
        Self {
            code: error.exit_code(),
            kind: error.kind(),
            message: error.to_string(),
        }
    }
}

/// A runtime failure with Podman's exit code (126 not executable, 127 not found, 125).
impl From<(i32, String)> for ChildFailure {
    fn from((code, message): (i32, String)) -> Self {
        Self::runtime(code, message)
    }
}

impl Engine {
    /// In the forked child: root filesystem, host files, OCI bundle, runtime create and
    /// start, then the record says running. Errors carry Podman's exit codes (125/126/127).
    fn create_and_start(
        &mut self,
        record: &ContainerRecord,
        image: &ContainerBase,
        stdio: ContainerStdio,
    ) -> Result<i32, ChildFailure> {
        let engine_error = ChildFailure::from;
        let layout = self.layout(&record.id, &record.driver);
        let rootfs = match &image.directory {
            Some(directory) => directory.clone(),
            None => layout
                .mount(&image.layers, self.opaque)
                .map_err(|e| engine_error(e.into()))?,
        };
        let image_mounts = self.mount_image_volumes(record).map_err(engine_error)?;
        // Before the runtime: the network namespace it will join. Whatever fails from here
        // on gives back the leases and forwards it took.
        let namespace = self.setup_network(record).map_err(engine_error)?;
        let result = self.start_in_namespace(
            record,
            &image.config,
            (&rootfs, image_mounts),
            namespace.as_ref(),
            stdio,
        );
        if result.is_err() {
            let _ = self.release_network(record);
        }
        // The container holds its namespace now; this descriptor need not live on in the
        // monitor.
        drop(namespace);
        result
    }

    fn start_in_namespace(
        &mut self,
        record: &ContainerRecord,
        config: &oci_spec::image::ImageConfiguration,
        (rootfs, image_mounts): (&Path, Vec<PathBuf>),
        namespace: Option<&skiff_network::Namespace>,
        stdio: ContainerStdio,
    ) -> Result<i32, ChildFailure> {
        let engine_error = ChildFailure::from;
        // Its secrets: files bound read-only where asked, variables added to its own.
        let secrets = self
            .secret_files(&record.id, &record.spec.secrets)
            .map_err(engine_error)?;
        // `--hostuser`: its /etc/passwd with those users' entries.
        let passwd = hostfiles::passwd_with_host_users(
            &self.userdata_dir(&record.id),
            rootfs,
            &record.spec.hostuser,
        )
        .map_err(engine_error)?;
        let with_extras;
        // The user is looked up in the /etc/passwd the container gets.
        let (passwd, passwd_text) = passwd.unzip();
        let spec = if secrets.files.is_empty() && secrets.env.is_empty() && passwd.is_none() {
            &record.spec
        } else {
            let mut spec = record.spec.clone();
            let bind =
                |source: std::path::PathBuf, destination: String, mode: &str| MountSpec::Bind {
                    source: source.display().to_string(),
                    destination,
                    options: vec!["rbind".into(), mode.into()],
                };
            for (source, destination) in secrets.files {
                spec.mounts.push(bind(source, destination, "ro"));
            }
            if let Some(passwd) = passwd {
                spec.mounts.push(bind(passwd, "/etc/passwd".into(), "rw"));
            }
            spec.env.extend(secrets.env);
            with_extras = spec;
            &with_extras
        };
        // In another container's UTS namespace (a pod's), that one's hostname.
        let hostname = match &spec.uts {
            skiff_spec::NamespaceMode::Container(other) => {
                std::fs::read_to_string(self.userdata_dir(other).join("hostname"))
                    .map(|h| h.trim().to_string())
                    .unwrap_or_else(|_| spec.effective_hostname(&record.id))
            }
            _ => spec.effective_hostname(&record.id),
        };
        let host_network = spec.network == skiff_spec::NetworkMode::Host;
        let own_entries = namespace
            .map(|n| {
                let mut entries =
                    crate::network::hosts_entries(&n.attached, &hostname, &record.name);
                if let Some(address) = &n.address {
                    entries.push_str(&format!("{address}\t{hostname} {}\n", record.name));
                }
                entries
            })
            .unwrap_or_default();
        let conf = crate::containers_conf::ContainersConf::load(self.options.rootless)
            .map_err(engine_error)?;
        // containers.conf's address, else, on a user-mode stack, the host's own.
        let host_internal = conf.host_containers_internal_ip.clone().or_else(|| {
            namespace
                .filter(|n| n.address.is_some())
                .and_then(|_| skiff_network::usermode::host_address())
                .map(|ip| ip.to_string())
        });
        let host_files = hostfiles::write(
            &self.userdata_dir(&record.id),
            &hostfiles::HostFilesRequest {
                hostname: &hostname,
                name: &record.name,
                id: &record.id,
                image: &record.image_name,
                image_id: &record.image_id,
                rootless: self.options.rootless,
                host_network,
                own_entries,
                resolvers: namespace.map(|n| n.resolvers.clone()).unwrap_or_default(),
                container_names: namespace
                    .is_some_and(|n| n.attached.iter().any(|a| a.network.dns_enabled)),
                network_of: match &spec.network {
                    skiff_spec::NetworkMode::Container(id) => Some(self.userdata_dir(id)),
                    _ => None,
                },
                spec,
                conf: &conf,
                host_internal,
            },
        )
        .map_err(engine_error)?;
        let image_user = config.config().as_ref().and_then(|c| c.user().clone());
        let mut user = skiff_spec::resolve_user_with(
            |relative| match (&passwd_text, relative) {
                (Some(passwd), "etc/passwd") => passwd.clone(),
                _ => skiff_spec::read_container_file(rootfs, relative),
            },
            spec.user.as_deref().or(image_user.as_deref()),
        )
        .map_err(|e| engine_error(e.into()))?;
        skiff_spec::add_groups_in(rootfs, &mut user, &spec.group_add)
            .map_err(|e| engine_error(e.into()))?;
        self.copy_up_volumes(&spec.mounts, rootfs)
            .map_err(engine_error)?;
        crate::hostfiles::link_mtab(rootfs).map_err(engine_error)?;
        let oci = generate(
            spec,
            config,
            &RuntimeContext {
                id: record.id.clone(),
                rootfs: rootfs.to_path_buf(),
                volume_dir: self.volume_dir(),
                joined_pid: self.joined_namespaces_pid(spec).map_err(engine_error)?,
                rootless: self.options.rootless,
                cgroups_usable: self.cgroups_usable(),
                cgroup_v2: self.cgroup == crate::options::CgroupMode::Unified,
                cgroups_path: Engine::cgroup_path(&record.spec, &record.id),
                host_files,
                user,
                init_binary: find_init_binary(spec.init_path.as_deref()),
                bounding_capabilities: skiff_spec::current_bounding_set(),
                network_namespace: namespace.map(crate::network::namespace_path),
                extra_env: socket_activation_env(),
                image_mounts,
            },
        )
        .map_err(|e| (125, e.to_string()))?;
        let process = oci.process().clone().unwrap_or_default();
        let args = process.args().clone().unwrap_or_default();
        let env = process.env().clone().unwrap_or_default();
        let cwd = process.cwd().display().to_string();
        // A --workdir must exist (Podman does not make it); the image's own is the image's.
        if spec.workdir.is_some() {
            check_working_directory(rootfs, &spec.mounts, &cwd, &record.id)?;
        }
        if !spec.init {
            check_executable(rootfs, &spec.mounts, &args, &env, &cwd)?;
        }

        let bundle = self.run_dir(&record.id);
        std::fs::create_dir_all(&bundle)
            .map_err(|e| (125, format!("create {}: {e}", bundle.display())))?;
        let config_path = bundle.join("config.json");
        let config = serde_json::to_vec(&oci).map_err(|e| (125, format!("OCI config: {e}")))?;
        std::fs::write(&config_path, config)
            .io("write", &config_path)
            .map_err(engine_error)?;
        let runtime = runtime_for(
            &record.runtime,
            &self.runtime_state_root(),
            &self.options.runtime_flags,
        )
        .map_err(|e| engine_error(e.into()))?;
        let pid = process::default_signals_while(|| runtime.create(&record.id, &bundle, stdio))
            .map_err(|e| (125, format!("{}: {e}", runtime.name())))?;
        if let Err(e) = runtime.start(&record.id) {
            let _ = runtime.delete(&record.id);
            return Err(ChildFailure::runtime(
                125,
                format!("{}: {e}", runtime.name()),
            ));
        }
        // This process becomes the monitor (same PID across the exec).
        let monitor = nix::unistd::getpid().as_raw();
        self.containers
            .set_running(
                &record.id,
                pid,
                process::start_time(pid).unwrap_or(0),
                monitor,
                process::start_time(monitor).unwrap_or(0),
            )
            .map_err(engine_error)?;
        Ok(pid)
    }

    /// After the container exited: runtime state, mount, record; `--rm` removes, as far as the
    /// trash (emptied after this by the monitor's cleanup). Returns whether the restart policy
    /// wants the container started again. Runs in the monitor's cleanup, or in the attached
    /// `skiff` the monitor handed it to (the mount is then in the monitor's namespace, which
    /// goes with the monitor).
    pub(crate) fn finish(&self, id: &str, exit_code: i32) -> Result<bool, EngineError> {
        let _lock = self.container_lock(id)?;
        let Some(record) = self.containers.get(id)? else {
            return Ok(false);
        };
        // A root filesystem a user mounted stays mounted for them.
        if !self.user_mounted(&record) {
            let _ = self.layout(id, &record.driver).unmount();
        }
        self.release_image_volumes(&record);
        let network = self.release_network(&record);
        if let skiff_spec::NetworkMode::Container(other) = &record.spec.network {
            hostfiles::forget(&self.userdata_dir(other), &record.name);
        }
        // Before the runtime's state (and the cgroup) goes: whether the kernel's OOM killer
        // ended it, for inspect's State.OOMKilled and an `oom` event, as Podman.
        let oom_killed = exit_code == 137 && self.oom_kills(&record) > 0;
        let marker = self
            .userdata_dir(id)
            .join(super::container::limits::OOM_KILLED);
        if oom_killed {
            let _ = std::fs::write(&marker, b"");
            self.emit_container(&record, "oom", None);
        } else {
            let _ = std::fs::remove_file(&marker);
        }
        self.containers
            .set_exited(id, record.pid, exit_code, chrono::Utc::now())?;
        self.emit_container(&record, "died", Some(exit_code));
        self.stop_emptied_pod(&record);
        network?;
        // Into the trash, which the monitor's cleanup empties after this (see `empty_trash`).
        if record.spec.remove {
            self.retire_container(&record)?;
            self.emit_container(&record, "remove", None);
        } else {
            let _ = self.retire_runtime_state(&record);
        }
        Ok(!record.spec.remove
            && record.spec.restart.restarts(
                exit_code,
                record.restart_count,
                record.stopped_by_user,
            ))
    }

    /// Starts an exited container again for its restart policy, after Docker's back-off (100 ms
    /// doubling per restart, at most 10 s). A `stop` or `rm` meanwhile wins.
    fn restart_by_policy(&mut self, id: &str) {
        let restarts = self
            .containers
            .get(id)
            .ok()
            .flatten()
            .map_or(0, |r| r.restart_count);
        let delay = Duration::from_millis(100 << restarts.min(7)).min(Duration::from_secs(10));
        std::thread::sleep(delay);
        let _ = self.start_container_as(id, StartMode::Detached, Starter::RestartPolicy);
    }
}
/// The working directory must be in the image, or come with a mount (it is a mount's
/// destination, below one, or above one, which the runtime makes): Podman does not create it.
fn check_working_directory(
    rootfs: &Path,
    mounts: &[MountSpec],
    cwd: &str,
    id: &str,
) -> Result<(), (i32, String)> {
    let from_mount = mounts.iter().any(|mount| {
        let destination = Path::new(mount.destination());
        Path::new(cwd).starts_with(destination) || destination.starts_with(cwd)
    });
    let in_image = resolve_in_root(rootfs, cwd).is_some_and(|path| path.is_dir());
    if from_mount || in_image {
        Ok(())
    } else {
        Err((
            126,
            format!("workdir {cwd:?} does not exist on container {id}"),
        ))
    }
}

/// Fails like Podman when the program cannot run: 127 not found, 126 not executable.
fn check_executable(
    rootfs: &Path,
    mounts: &[MountSpec],
    args: &[String],
    env: &[String],
    cwd: &str,
) -> Result<(), (i32, String)> {
    let Some(program) = args.first() else {
        return Err((125, "no command specified".into()));
    };
    let candidates: Vec<String> = if program.contains('/') {
        if program.starts_with('/') {
            vec![program.clone()]
        } else {
            vec![format!("{}/{program}", cwd.trim_end_matches('/'))]
        }
    } else {
        let path = env
            .iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        path.split(':')
            .filter(|d| !d.is_empty())
            .map(|d| format!("{}/{program}", d.trim_end_matches('/')))
            .collect()
    };
    let mut denied = false;
    for candidate in &candidates {
        // A program on a bind mount is looked for where the mount comes from: the mounts
        // are not made yet.
        let mounted = mounts.iter().find_map(|mount| match mount {
            MountSpec::Bind {
                source,
                destination,
                ..
            } => Path::new(candidate)
                .strip_prefix(destination)
                .ok()
                .map(|rest| Path::new(source).join(rest)),
            _ => None,
        });
        if let Some(resolved) = mounted.or_else(|| resolve_in_root(rootfs, candidate)) {
            use std::os::unix::fs::PermissionsExt;
            match std::fs::metadata(&resolved) {
                Ok(meta) if meta.is_file() && meta.permissions().mode() & 0o111 != 0 => {
                    return Ok(());
                }
                Ok(_) => denied = true,
                Err(_) => {}
            }
        }
    }
    Err(skiff_runtime::exec::command_failure(program, denied))
}

/// Resolves `path` as the container will see it: symlinks followed with `root` as `/`.
pub(crate) fn resolve_in_root(root: &Path, path: &str) -> Option<PathBuf> {
    let mut parts: Vec<String> = path
        .split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    parts.reverse();
    let mut resolved: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(part) = parts.pop() {
        match part.as_str() {
            "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let host = root.join(resolved.join("/")).join(&part);
        match std::fs::symlink_metadata(&host) {
            Ok(meta) if meta.file_type().is_symlink() => {
                hops += 1;
                if hops > 40 {
                    return None;
                }
                let target = std::fs::read_link(&host).ok()?;
                let target = target.to_string_lossy();
                if target.starts_with('/') {
                    resolved.clear();
                }
                for piece in target.split('/').filter(|p| !p.is_empty()).rev() {
                    parts.push(piece.to_string());
                }
            }
            Ok(_) => resolved.push(part),
            Err(_) => return None,
        }
    }
    Some(root.join(resolved.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let root = std::env::temp_dir().join(format!("skiff-resolve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::write(root.join("bin/busybox"), b"").unwrap();
        std::os::unix::fs::symlink("/bin/busybox", root.join("bin/sh")).unwrap();
        std::os::unix::fs::symlink("../../../../etc/passwd", root.join("bin/escape")).unwrap();
        assert_eq!(
            resolve_in_root(&root, "/bin/sh"),
            Some(root.join("bin/busybox"))
        );
        // ".." cannot climb above the container's root
        assert_eq!(resolve_in_root(&root, "/bin/escape"), None);
    }
}
