//! A new process in a running container (`skiff exec`), without an OCI runtime: the container's
//! namespaces are joined through /proc/PID/ns, its cgroups through cgroup.procs, and the
//! container's own security settings (capabilities, no_new_privs, seccomp) are read from its
//! bundle's config.json, so the process is confined exactly as the container's init is.
//!
//! Leaks from the host are closed on purpose (the runc CVE-2024-21626 class): every descriptor
//! above 2 is close-on-exec before the program runs, and the working directory is checked to lie
//! inside the container's root after the mount namespace is joined. The child is not dumpable
//! until it execs, and callers run from a sealed binary (`sealed`: CVE-2019-5736).
use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use libcontainer::syscall::syscall::create_syscall;
use nix::sched::{CloneFlags, setns};
use nix::unistd::{ForkResult, Gid, Uid};
use oci_spec::runtime::{LinuxCapabilities, LinuxNamespaceType, Spec};

/// What to run and as whom.
#[derive(Debug, Clone)]
pub struct ExecProcess {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// Keep the container's capabilities in the effective set even for a non-root user.
    pub privileged: bool,
    /// A new pseudo-terminal from the container's devpts as the process's stdio; its master
    /// end is returned to the caller.
    pub tty: bool,
    /// Inherit this process's stdin (else /dev/null). Output goes to this process's stdout and
    /// stderr when there is no terminal, unless detached.
    pub stdin: bool,
    /// Nobody waits for the process: its stdio is /dev/null (holding the caller's output open
    /// would keep `out=$(skiff exec -d ...)` waiting until the process ends).
    pub detached: bool,
}

/// A started exec'd process: wait for it with waitpid; with a terminal, its master end.
#[derive(Debug)]
pub struct ExecChild {
    pub pid: i32,
    pub terminal: Option<OwnedFd>,
}

/// Joins the namespaces and cgroups of the container whose init is `pid`, configured by its
/// bundle's `config`, and runs `process` there. The caller must be single-threaded.
/// Errors before the program runs carry Podman's exit code (126 cannot run, 127 not found).
pub fn exec(
    pid: i32,
    config: &Spec,
    seccomp_cache: &Path,
    join_cgroups: bool,
    process: &ExecProcess,
) -> Result<ExecChild, (i32, String)> {
    let internal = |message: String| (125, message);
    let linux = config.linux().clone().unwrap_or_default();
    let namespaces = open_namespaces(pid, &linux).map_err(internal)?;
    let cgroups = if join_cgroups {
        cgroup_procs_files(pid)
    } else {
        Vec::new()
    };
    let seccomp = linux.seccomp().clone();
    if let Some(seccomp) = &seccomp {
        // A cached compiled filter: the child installs it without compiling.
        let _ = libcontainer::seccomp::precompile(seccomp, seccomp_cache);
    }
    let oci_process = config.process().clone().unwrap_or_default();
    let capabilities = capabilities_for(oci_process.capabilities().clone(), process);
    let no_new_privileges = oci_process.no_new_privileges().unwrap_or(false);
    let argv = cstrings(&process.args).map_err(internal)?;
    let envp = cstrings(&process.env).map_err(internal)?;
    let search_path = process
        .env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .to_string();
    let null = File::options()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| internal(format!("open /dev/null: {e}")))?;
    let (error_read, error_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| internal(format!("pipe: {e}")))?;
    let (terminal_parent, terminal_child) = nix::sys::socket::socketpair(
        nix::sys::socket::AddressFamily::Unix,
        nix::sys::socket::SockType::Stream,
        None,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| internal(format!("socketpair: {e}")))?;
    // The PID namespace applies to children: join it here, fork into it, and come back after
    // the fork, so this process's later children (a restart after a healthcheck) are not
    // born into a namespace that dies with the container.
    let mut own_pid_namespace = None;
    if let Some((_, fd)) = namespaces
        .iter()
        .find(|(kind, _)| *kind == CloneFlags::CLONE_NEWPID)
    {
        own_pid_namespace = File::open("/proc/self/ns/pid_for_children").ok();
        setns(fd, CloneFlags::CLONE_NEWPID)
            .map_err(|e| internal(format!("join the container's PID namespace: {e}")))?;
    }
    // The child is born in the container's PID namespace and runs this binary until it execs:
    // not dumpable, its /proc entries (exe above all) are closed to the container's processes
    // (see `sealed`). execve makes the program dumpable again as usual.
    nix::sys::prctl::set_dumpable(false)
        .map_err(|e| internal(format!("prctl(PR_SET_DUMPABLE): {e}")))?;
    // SAFETY: the caller is single-threaded; the child only runs the code below and ends in
    // execve or _exit.
    #[allow(unsafe_code)]
    let forked = unsafe { nix::unistd::fork() };
    if !matches!(forked, Ok(ForkResult::Child)) {
        let _ = nix::sys::prctl::set_dumpable(true);
        if let Some(own) = &own_pid_namespace {
            let _ = setns(own, CloneFlags::CLONE_NEWPID);
        }
    }
    match forked.map_err(|e| internal(format!("fork: {e}")))? {
        ForkResult::Child => {
            drop(error_read);
            drop(terminal_parent);
            let child = ChildSetup {
                namespaces: &namespaces,
                cgroups: &cgroups,
                process,
                capabilities: &capabilities,
                no_new_privileges,
                seccomp: seccomp.as_ref(),
                null: null.as_fd(),
                terminal_socket: terminal_child.as_fd(),
            };
            let (code, message) = match child.run() {
                Ok(()) => exec_program(&argv, &envp, &search_path),
                Err(failure) => failure,
            };
            let mut report = File::from(error_write);
            let _ = report.write_all(format!("{code} {message}").as_bytes());
            // SAFETY: leaving the forked child without running the parent's destructors.
            #[allow(unsafe_code)]
            unsafe {
                libc::_exit(code)
            }
        }
        ForkResult::Parent { child } => {
            drop(error_write);
            drop(terminal_child);
            let terminal = if process.tty {
                receive_fd(terminal_parent.as_raw_fd())
            } else {
                None
            };
            let mut report = String::new();
            let _ = File::from(error_read).read_to_string(&mut report);
            if !report.is_empty() {
                let _ = nix::sys::wait::waitpid(child, None);
                let (code, message) = report.split_once(' ').unwrap_or(("125", &report));
                return Err((code.parse().unwrap_or(125), message.to_string()));
            }
            Ok(ExecChild {
                pid: child.as_raw(),
                terminal,
            })
        }
    }
}

/// The container's namespaces, opened from its init process, except those this process is
/// already in (the host network, or a rootless user namespace joined earlier). A user
/// namespace of the container's own late: its network namespace may be one its parent owns,
/// which cannot be joined from inside it. Mount last: joining it changes what /proc means.
fn open_namespaces(
    pid: i32,
    linux: &oci_spec::runtime::Linux,
) -> Result<Vec<(CloneFlags, OwnedFd)>, String> {
    let order = [
        (LinuxNamespaceType::Pid, "pid", CloneFlags::CLONE_NEWPID),
        (LinuxNamespaceType::Ipc, "ipc", CloneFlags::CLONE_NEWIPC),
        (LinuxNamespaceType::Uts, "uts", CloneFlags::CLONE_NEWUTS),
        (LinuxNamespaceType::Network, "net", CloneFlags::CLONE_NEWNET),
        (
            LinuxNamespaceType::Cgroup,
            "cgroup",
            CloneFlags::CLONE_NEWCGROUP,
        ),
        (LinuxNamespaceType::User, "user", CloneFlags::CLONE_NEWUSER),
        (LinuxNamespaceType::Mount, "mnt", CloneFlags::CLONE_NEWNS),
    ];
    crate::process::await_namespaces(pid);
    let wanted = linux.namespaces().clone().unwrap_or_default();
    let mut opened = Vec::new();
    for (kind, name, flag) in order {
        if !wanted.iter().any(|n| n.typ() == kind) {
            continue;
        }
        let theirs = format!("/proc/{pid}/ns/{name}");
        let same = match (
            std::fs::read_link(&theirs),
            std::fs::read_link(format!("/proc/self/ns/{name}")),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same {
            continue;
        }
        let file = File::open(&theirs).map_err(|e| format!("open {theirs}: {e}"))?;
        opened.push((flag, OwnedFd::from(file)));
    }
    Ok(opened)
}

/// The cgroup.procs files of every hierarchy the container's init is in, as the host sees
/// them (cgroup v1 controllers, a named hierarchy, the v2 unified one).
fn cgroup_procs_files(pid: i32) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/cgroup")) else {
        return Vec::new();
    };
    let unified = if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        PathBuf::from("/sys/fs/cgroup")
    } else {
        PathBuf::from("/sys/fs/cgroup/unified")
    };
    text.lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ':');
            let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            let relative = path.trim_start_matches('/');
            let base = match controllers {
                "" => unified.clone(),
                named => Path::new("/sys/fs/cgroup").join(named.trim_start_matches("name=")),
            };
            Some(base.join(relative).join("cgroup.procs"))
        })
        .filter(|p| p.exists())
        .collect()
}

/// Podman's rule: a non-root user gets the container's capabilities only as its bounding set.
fn capabilities_for(
    configured: Option<LinuxCapabilities>,
    process: &ExecProcess,
) -> LinuxCapabilities {
    let mut capabilities = configured.unwrap_or_default();
    let bounding = capabilities.bounding().clone().unwrap_or_default();
    let effective = if process.uid == 0 || process.privileged {
        bounding.clone()
    } else {
        Default::default()
    };
    capabilities.set_effective(Some(effective.clone()));
    capabilities.set_permitted(Some(effective));
    capabilities.set_inheritable(Some(Default::default()));
    capabilities.set_ambient(Some(Default::default()));
    capabilities
}

fn cstrings(items: &[String]) -> Result<Vec<CString>, String> {
    items
        .iter()
        .map(|s| CString::new(s.as_str()).map_err(|_| format!("{s:?} holds a NUL byte")))
        .collect()
}

/// Everything the forked child does before its program runs.
struct ChildSetup<'a> {
    namespaces: &'a [(CloneFlags, OwnedFd)],
    cgroups: &'a [PathBuf],
    process: &'a ExecProcess,
    capabilities: &'a LinuxCapabilities,
    no_new_privileges: bool,
    seccomp: Option<&'a oci_spec::runtime::LinuxSeccomp>,
    null: std::os::fd::BorrowedFd<'a>,
    terminal_socket: std::os::fd::BorrowedFd<'a>,
}

impl ChildSetup<'_> {
    fn run(&self) -> Result<(), (i32, String)> {
        let fail = |what: &str, e: &dyn std::fmt::Display| (125, format!("{what}: {e}"));
        for procs in self.cgroups {
            // Best effort where the cgroup is not ours to write (rootless without delegation).
            if let Err(e) = std::fs::write(procs, b"0")
                && e.kind() != std::io::ErrorKind::PermissionDenied
            {
                return Err(fail(&format!("join cgroup {}", procs.display()), &e));
            }
        }
        for (flag, fd) in self.namespaces {
            if *flag == CloneFlags::CLONE_NEWPID {
                continue;
            }
            setns(fd, *flag).map_err(|e| fail(&format!("join namespace {flag:?}"), &e))?;
        }
        let cwd = &self.process.cwd;
        nix::unistd::chdir(cwd.as_str()).map_err(|e| {
            (
                127,
                format!(
                    "chdir to `{cwd}`: {}: OCI runtime attempted to invoke a command that was not found",
                    e.desc()
                ),
            )
        })?;
        // A working directory outside the container's root reads as "(unreachable)/...".
        match nix::unistd::getcwd() {
            Ok(path) if path.starts_with("/") => {}
            _ => {
                return Err((
                    125,
                    format!("working directory {cwd} is outside the container"),
                ));
            }
        }
        self.stdio()?;
        let syscall = create_syscall();
        // Only the user's own groups: none of the caller's may leak in.
        let groups: Vec<Gid> = self
            .process
            .additional_gids
            .iter()
            .map(|g| Gid::from_raw(*g))
            .collect();
        syscall
            .set_groups(&groups)
            .map_err(|e| fail("setgroups", &e))?;
        // Without no_new_privs, the filter must go in while CAP_SYS_ADMIN is still held.
        if !self.no_new_privileges
            && let Some(seccomp) = self.seccomp
        {
            libcontainer::seccomp::initialize_seccomp(seccomp).map_err(|e| fail("seccomp", &e))?;
        }
        syscall
            .set_id(
                Uid::from_raw(self.process.uid),
                Gid::from_raw(self.process.gid),
            )
            .map_err(|e| fail("set user", &e))?;
        libcontainer::capabilities::drop_privileges(self.capabilities, syscall.as_ref())
            .map_err(|e| fail("capabilities", &e))?;
        if self.no_new_privileges {
            nix::sys::prctl::set_no_new_privs().map_err(|e| fail("no_new_privs", &e))?;
            if let Some(seccomp) = self.seccomp {
                libcontainer::seccomp::initialize_seccomp(seccomp)
                    .map_err(|e| fail("seccomp", &e))?;
            }
        }
        close_inherited_descriptors();
        Ok(())
    }

    /// A terminal from the container's own devpts, or /dev/null for a closed stdin.
    fn stdio(&self) -> Result<(), (i32, String)> {
        let fail = |what: &str, e: nix::Error| (125, format!("{what}: {e}"));
        if self.process.tty {
            use nix::fcntl::OFlag;
            let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY)
                .map_err(|e| fail("open /dev/ptmx in the container", e))?;
            nix::pty::grantpt(&master).map_err(|e| fail("grantpt", e))?;
            nix::pty::unlockpt(&master).map_err(|e| fail("unlockpt", e))?;
            let name = nix::pty::ptsname_r(&master).map_err(|e| fail("ptsname", e))?;
            let slave = nix::fcntl::open(
                name.as_str(),
                OFlag::O_RDWR | OFlag::O_NOCTTY,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(|e| fail(&format!("open {name}"), e))?;
            send_fd(self.terminal_socket.as_raw_fd(), master.as_raw_fd())
                .map_err(|e| fail("send the terminal", e))?;
            nix::unistd::setsid().map_err(|e| fail("setsid", e))?;
            // SAFETY: TIOCSCTTY on a terminal descriptor this process owns.
            #[allow(unsafe_code)]
            if unsafe { libc::ioctl(slave, libc::TIOCSCTTY, 0) } < 0 {
                return Err(fail("set the controlling terminal", nix::Error::last()));
            }
            for target in 0..3 {
                nix::unistd::dup2(slave, target).map_err(|e| fail("dup2", e))?;
            }
        } else if self.process.detached {
            for target in 0..3 {
                nix::unistd::dup2(self.null.as_raw_fd(), target).map_err(|e| fail("dup2", e))?;
            }
        } else if !self.process.stdin {
            nix::unistd::dup2(self.null.as_raw_fd(), 0).map_err(|e| fail("dup2", e))?;
        }
        Ok(())
    }
}

/// Every descriptor above stderr closes when the program starts (the error pipe included, so
/// the parent learns of a successful exec by its end).
fn close_inherited_descriptors() {
    // SAFETY: close_range with integer arguments; CLOSE_RANGE_CLOEXEC only sets a flag.
    #[allow(unsafe_code)]
    let done = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    } == 0;
    if done {
        return;
    }
    if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
        let fds: Vec<RawFd> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .filter(|fd| *fd > 2)
            .collect();
        for fd in fds {
            let _ = nix::fcntl::fcntl(
                fd,
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            );
        }
    }
}

/// execvpe: the program is looked up on the container's PATH. Returns only on failure, with
/// Podman's exit code and message.
fn exec_program(argv: &[CString], envp: &[CString], search_path: &str) -> (i32, String) {
    let Some(program) = argv.first() else {
        return (125, "no command given".into());
    };
    let name = program.to_string_lossy().into_owned();
    let candidates: Vec<String> = if name.contains('/') {
        vec![name.clone()]
    } else {
        search_path
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| format!("{}/{name}", d.trim_end_matches('/')))
            .collect()
    };
    // The program starts with no signal ignored (see `reset_ignored_signals`).
    crate::process::reset_ignored_signals();
    let mut denied = false;
    for candidate in candidates {
        let Ok(path) = CString::new(candidate) else {
            continue;
        };
        match nix::unistd::execve(&path, argv, envp) {
            Err(nix::Error::EACCES) => denied = true,
            Err(_) => {}
        }
    }
    command_failure(&name, denied)
}

/// Podman's exit code and words (as runc says them) for a command that cannot run: 126 when
/// it exists but may not be executed, 127 when it is not there.
pub fn command_failure(program: &str, denied: bool) -> (i32, String) {
    if denied {
        (
            126,
            format!("exec: \"{program}\": permission denied: OCI permission denied"),
        )
    } else if program.contains('/') {
        (
            127,
            format!(
                "{program}: no such file or directory: OCI runtime attempted to invoke a command that was not found"
            ),
        )
    } else {
        (
            127,
            format!(
                "executable file `{program}` not found in $PATH: No such file or directory: OCI runtime attempted to invoke a command that was not found"
            ),
        )
    }
}

fn send_fd(socket: RawFd, fd: RawFd) -> Result<(), nix::Error> {
    use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
    let fds = [fd];
    let data = [std::io::IoSlice::new(b"t")];
    sendmsg::<()>(
        socket,
        &data,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map(|_| ())
}

/// Receives one descriptor sent with SCM_RIGHTS (None if the sender went away first).
pub fn receive_fd(socket: RawFd) -> Option<OwnedFd> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    let mut byte = [0u8; 1];
    let mut data = [std::io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let message = recvmsg::<()>(
        socket,
        &mut data,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .ok()?;
    for control in message.cmsgs().ok()? {
        if let ControlMessageOwned::ScmRights(fds) = control
            && let Some(fd) = fds.first()
        {
            // SAFETY: the kernel just installed this descriptor for us; nothing else owns it.
            #[allow(unsafe_code)]
            return Some(unsafe { OwnedFd::from_raw_fd(*fd) });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(uid: u32, privileged: bool) -> ExecProcess {
        ExecProcess {
            args: vec!["true".into()],
            env: Vec::new(),
            cwd: "/".into(),
            uid,
            gid: uid,
            additional_gids: Vec::new(),
            privileged,
            tty: false,
            stdin: false,
            detached: false,
        }
    }

    #[test]
    fn non_root_users_keep_capabilities_only_as_bounding_set() {
        use oci_spec::runtime::Capability;
        let mut configured = LinuxCapabilities::default();
        configured.set_bounding(Some([Capability::Chown, Capability::Kill].into()));
        let root = capabilities_for(Some(configured.clone()), &process(0, false));
        assert_eq!(root.effective().as_ref().map(|s| s.len()), Some(2));
        let user = capabilities_for(Some(configured.clone()), &process(1000, false));
        assert_eq!(user.effective().as_ref().map(|s| s.len()), Some(0));
        assert_eq!(user.bounding().as_ref().map(|s| s.len()), Some(2));
        let privileged = capabilities_for(Some(configured), &process(1000, true));
        assert_eq!(privileged.permitted().as_ref().map(|s| s.len()), Some(2));
    }
}
