//! OCI runtime backends behind one small trait: create a container from a bundle, start it,
//! delete what the runtime keeps for it. Signals go straight to the container's init process
//! (see `process`), so any later `skiff` can stop a container without the runtime.
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use libcontainer::container::Container;
use libcontainer::container::builder::ContainerBuilder;
use libcontainer::syscall::syscall::SyscallType;

use crate::error::RuntimeError;

/// The container's standard streams.
pub struct ContainerStdio {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// With a terminal (`process.terminal` in the bundle): the socket the runtime sends the
    /// terminal's master end to. The three descriptors above are then not used.
    pub console_socket: Option<PathBuf>,
    /// `--preserve-fds`: this process's descriptors 3 to 3+N-1 are the container's too.
    pub preserve_fds: u32,
}

pub trait OciRuntime {
    /// The runtime's name for `info` and `inspect`.
    fn name(&self) -> String;
    /// Creates the container; returns the PID of its init process (not yet running the user
    /// program). The caller must be single-threaded: runtimes fork.
    fn create(&self, id: &str, bundle: &Path, stdio: ContainerStdio) -> Result<i32, RuntimeError>;
    /// Lets the created container run its program.
    fn start(&self, id: &str) -> Result<(), RuntimeError>;
    /// Forgets a stopped container (runtime state, cgroup). Missing state is not an error.
    fn delete(&self, id: &str) -> Result<(), RuntimeError>;
    /// Where a stopped container's state lives when that directory is all there is to it:
    /// moved away and given to `remove_state` later, it is deleted as `delete` would. None for
    /// runtimes that must be asked to forget the container.
    fn state_dir(&self, _id: &str) -> Option<PathBuf> {
        None
    }
}

/// `--runtime`: empty or `skiff`/`youki` embedded means libcontainer; anything else is a binary.
/// `flags` (`--runtime-flag`, `--` added where missing) go before every command of an external
/// runtime; the embedded one takes none, as runc refuses a flag it does not define.
pub fn runtime_for(
    name: &str,
    state_root: &Path,
    flags: &[String],
) -> Result<Box<dyn OciRuntime>, RuntimeError> {
    let flags: Vec<String> = flags
        .iter()
        .map(|f| {
            if f.starts_with('-') {
                f.clone()
            } else {
                format!("--{f}")
            }
        })
        .collect();
    match name {
        _ if is_embedded(name) => match flags.first() {
            Some(flag) => Err(RuntimeError::UnknownFlag(flag.clone())),
            None => Ok(Box::new(EmbeddedRuntime::new(state_root.join("embedded")))),
        },
        other => {
            let binary =
                find_binary(other).ok_or_else(|| RuntimeError::NotFound(other.to_string()))?;
            let state = state_root.join(
                binary
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            Ok(Box::new(
                ExternalRuntime::new(binary, state).with_flags(flags),
            ))
        }
    }
}

/// Whether `name` (a `--runtime` value) selects the embedded libcontainer runtime.
pub fn is_embedded(name: &str) -> bool {
    matches!(name, "" | "skiff" | "embedded")
}

fn find_binary(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let path = PathBuf::from(name);
        return path.is_file().then_some(path);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// youki's libcontainer, in process.
pub struct EmbeddedRuntime {
    state_root: PathBuf,
}

impl EmbeddedRuntime {
    pub fn new(state_root: PathBuf) -> Self {
        Self { state_root }
    }

    /// Compiles the bundle's seccomp profile here, once per profile (cached beside the state),
    /// so the container's init installs it instead of compiling it (~9 ms) on every start.
    /// Best effort: on any failure the init compiles it itself, as before.
    fn precompile_seccomp(&self, bundle: &Path) {
        // Only the seccomp section is read here (the builder reads the whole spec after).
        #[derive(serde::Deserialize)]
        struct Spec {
            linux: Option<Linux>,
        }
        #[derive(serde::Deserialize)]
        struct Linux {
            seccomp: Option<oci_spec::runtime::LinuxSeccomp>,
        }
        let Ok(text) = std::fs::read(bundle.join("config.json")) else {
            return;
        };
        if let Ok(Spec {
            linux: Some(Linux {
                seccomp: Some(seccomp),
            }),
        }) = serde_json::from_slice(&text)
        {
            let cache = self.state_root.with_file_name("seccomp-cache");
            let _ = libcontainer::seccomp::precompile(&seccomp, &cache);
        }
    }

    fn load(&self, id: &str) -> Result<Option<Container>, RuntimeError> {
        let dir = self.state_root.join(id);
        if !dir.exists() {
            return Ok(None);
        }
        Ok(Some(Container::load(dir)?))
    }
}

impl OciRuntime for EmbeddedRuntime {
    fn name(&self) -> String {
        "skiff (libcontainer)".into()
    }

    fn create(&self, id: &str, bundle: &Path, stdio: ContainerStdio) -> Result<i32, RuntimeError> {
        std::fs::create_dir_all(&self.state_root)
            .map_err(|e| RuntimeError::io(format!("create {}", self.state_root.display()), e))?;
        // A monitor killed earlier may have left state behind for this ID.
        let _ = std::fs::remove_dir_all(self.state_root.join(id));
        self.precompile_seccomp(bundle);
        let container = ContainerBuilder::new(id.to_string(), SyscallType::default())
            .with_root_path(&self.state_root)?
            .with_stdin(stdio.stdin)
            .with_stdout(stdio.stdout)
            .with_stderr(stdio.stderr)
            .with_console_socket(stdio.console_socket.as_ref())
            .with_preserved_fds(stdio.preserve_fds as i32)
            .validate_id()?
            .as_init(bundle)
            .with_systemd(false)
            .with_detach(true)
            .build()?;
        container
            .pid()
            .map(|p| p.as_raw())
            .ok_or_else(|| RuntimeError::External {
                runtime: self.name(),
                message: "created container has no PID".into(),
            })
    }

    fn start(&self, id: &str) -> Result<(), RuntimeError> {
        match self.load(id)? {
            Some(mut container) => Ok(container.start()?),
            None => Err(RuntimeError::External {
                runtime: self.name(),
                message: format!("container {id} was not created"),
            }),
        }
    }

    /// What libcontainer's delete would do for a container whose init has exited, without its
    /// cost (it re-reads the mount table through pathrs for each of a dozen controllers, ~3 ms
    /// per container): the kernel already killed the rest of the container's PID namespace, so
    /// only the cgroup directories and the state directory are left to remove.
    fn delete(&self, id: &str) -> Result<(), RuntimeError> {
        remove_state(&self.state_root.join(id))
    }

    fn state_dir(&self, id: &str) -> Option<PathBuf> {
        Some(self.state_root.join(id))
    }
}

/// Removes an embedded runtime's state directory of a stopped container, wherever it was
/// moved (see `OciRuntime::state_dir`), and the cgroup it names.
pub fn remove_state(state: &Path) -> Result<(), RuntimeError> {
    if let Ok(config) = libcontainer::config::YoukiConfig::load(state) {
        remove_cgroup(&config.cgroup_path);
    }
    match std::fs::remove_dir_all(state) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(RuntimeError::io(format!("remove {}", state.display()), e))
        }
        _ => Ok(()),
    }
}

/// Removes a container's cgroup in every hierarchy it may be in (v2, or each v1 controller).
/// Processes that are still exiting keep it busy for a moment: retry briefly.
pub fn remove_cgroup(path: &Path) {
    let relative = path.strip_prefix("/").unwrap_or(path);
    let mut directories = vec![Path::new("/sys/fs/cgroup").join(relative)];
    if let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") {
        directories.extend(hierarchies.flatten().map(|h| h.path().join(relative)));
    }
    for directory in directories {
        for attempt in 0..20 {
            match std::fs::remove_dir(&directory) {
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < 19 => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                _ => break,
            }
        }
    }
}

/// A runc-compatible binary driven through the OCI runtime command line.
pub struct ExternalRuntime {
    binary: PathBuf,
    state_root: PathBuf,
    flags: Vec<String>,
}

impl ExternalRuntime {
    pub fn new(binary: PathBuf, state_root: PathBuf) -> Self {
        Self {
            binary,
            state_root,
            flags: Vec::new(),
        }
    }

    /// Global flags given before every command (`--runtime-flag`).
    pub fn with_flags(mut self, flags: Vec<String>) -> Self {
        self.flags = flags;
        self
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .args(&self.flags)
            .arg("--root")
            .arg(&self.state_root);
        command
    }

    fn run(&self, mut command: Command, what: &str) -> Result<(), RuntimeError> {
        let output = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| RuntimeError::io(format!("run {}", self.binary.display()), e))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(RuntimeError::External {
                runtime: self.name(),
                message: format!("{what}: {}", String::from_utf8_lossy(&output.stderr).trim()),
            })
        }
    }
}

/// The last error a runtime logged (runc, crun and youki write JSON lines with `--log-format
/// json`: `{"level":"error","msg":"..."}`).
fn last_error(log: &str) -> Option<String> {
    log.lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|entry| entry["level"] == "error")
        .and_then(|entry| entry["msg"].as_str().map(str::to_string))
}

impl OciRuntime for ExternalRuntime {
    fn name(&self) -> String {
        self.binary.display().to_string()
    }

    fn create(&self, id: &str, bundle: &Path, stdio: ContainerStdio) -> Result<i32, RuntimeError> {
        std::fs::create_dir_all(&self.state_root)
            .map_err(|e| RuntimeError::io(format!("create {}", self.state_root.display()), e))?;
        let _ = self.delete(id);
        let pid_file = bundle.join("runtime.pid");
        // Its errors go to a log of their own: its stderr is the container's.
        let log = bundle.join("runtime.log");
        let _ = std::fs::remove_file(&log);
        let mut command = self.command();
        command
            .arg("--log")
            .arg(&log)
            .args(["--log-format", "json"])
            .arg("create")
            .arg("--bundle")
            .arg(bundle)
            .arg("--pid-file")
            .arg(&pid_file);
        if let Some(socket) = &stdio.console_socket {
            command.arg("--console-socket").arg(socket);
        }
        if stdio.preserve_fds > 0 {
            command
                .arg("--preserve-fds")
                .arg(stdio.preserve_fds.to_string());
        }
        command.arg(id);
        // The runtime hands its own stdio to the container ("pass-through" mode).
        let output = command
            .stdin(Stdio::from(stdio.stdin))
            .stdout(Stdio::from(stdio.stdout))
            .stderr(Stdio::from(
                stdio
                    .stderr
                    .try_clone()
                    .map_err(|e| RuntimeError::io("dup stderr", e))?,
            ))
            .output()
            .map_err(|e| RuntimeError::io(format!("run {}", self.binary.display()), e))?;
        if !output.status.success() {
            let reason = std::fs::read_to_string(&log)
                .ok()
                .and_then(|text| last_error(&text))
                .unwrap_or_else(|| output.status.to_string());
            return Err(RuntimeError::External {
                runtime: self.name(),
                message: format!("create failed: {reason}"),
            });
        }
        let pid = std::fs::read_to_string(&pid_file)
            .map_err(|e| RuntimeError::io(format!("read {}", pid_file.display()), e))?;
        pid.trim().parse().map_err(|_| RuntimeError::External {
            runtime: self.name(),
            message: format!("bad pid file {pid:?}"),
        })
    }

    fn start(&self, id: &str) -> Result<(), RuntimeError> {
        let mut command = self.command();
        command.arg("start").arg(id);
        self.run(command, "start")
    }

    fn delete(&self, id: &str) -> Result<(), RuntimeError> {
        let mut command = self.command();
        command.arg("delete").arg("--force").arg(id);
        let _ = self.run(command, "delete");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_flags_reach_external_runtimes_only() {
        let state = Path::new("/nonexistent-state");
        match runtime_for("", state, &["invalidflag".into()]) {
            Err(RuntimeError::UnknownFlag(flag)) => assert_eq!(flag, "--invalidflag"),
            other => panic!("{:?}", other.map(|r| r.name())),
        }
        assert!(runtime_for("", state, &[]).is_ok());
    }

    #[test]
    fn the_last_logged_error_is_the_reason() {
        let log = concat!(
            "{\"level\":\"info\",\"msg\":\"starting\"}\n",
            "{\"level\":\"error\",\"msg\":\"first\"}\n",
            "not json\n",
            "{\"level\":\"error\",\"msg\":\"exec: \\\"/etc\\\": permission denied\"}\n",
        );
        assert_eq!(
            last_error(log).as_deref(),
            Some("exec: \"/etc\": permission denied")
        );
        assert_eq!(last_error(""), None);
    }
}
