//! Facts about host processes that survive the death of whoever started them: is PID n still the
//! process we started (its start time must match), and signals to it.
use nix::sys::signal::Signal;

/// The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), which
/// tells a live process from a later one that reused its PID.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    after.split(' ').nth(19)?.parse().ok()
}

/// How long a container's init that has just started may keep its /proc entries closed.
const EXEC_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Waits (at most two seconds) until the namespaces of `pid`, a container's init that has
/// just started, can be opened. The runtime leaves its processes not dumpable (their memory
/// came from a process started outside the user namespace) until the init execs the
/// container's program, and until then /proc/PID/ns/* are closed to a rootless engine:
/// a pod member started right after its infra, or an exec right after a start, would fail
/// with EACCES. Returns at once when they open, or when there is no such process.
pub fn await_namespaces(pid: i32) {
    let deadline = std::time::Instant::now() + EXEC_WAIT;
    let path = format!("/proc/{pid}/ns/net");
    while let Err(e) = std::fs::read_link(&path) {
        if e.kind() != std::io::ErrorKind::PermissionDenied || std::time::Instant::now() > deadline
        {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Whether `pid` is the very process that started at `started` (and is not a zombie).
pub fn is_alive(pid: i32, started: u64) -> bool {
    if pid <= 0 {
        return false;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(close) = stat.rfind(')') else {
        return false;
    };
    let mut fields = stat[close + 2..].split(' ');
    let state = fields.next().unwrap_or("Z");
    state != "Z" && state != "X" && start_time(pid) == Some(started)
}

/// Sends signal number `signal` to `pid` if it is still the process that started at `started`.
pub fn signal(pid: i32, started: u64, signal: i32) -> Result<bool, nix::Error> {
    if !is_alive(pid, started) {
        return Ok(false);
    }
    // SAFETY: kill(2) with plain integers; no memory is involved.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(pid, signal) };
    if rc == 0 {
        Ok(true)
    } else {
        Err(nix::Error::last())
    }
}

/// Parses `KILL`, `SIGKILL`, `sigterm`, `9`, and the real-time signals (`RTMIN+3`,
/// `SIGRTMAX-1`, `64`) into a signal number, as Podman takes them. 0 is no signal.
pub fn parse_signal(name: &str) -> Option<i32> {
    let (rt_min, rt_max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    if let Ok(number) = name.parse::<i32>() {
        return (1..=rt_max).contains(&number).then_some(number);
    }
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    let real_time = |base: i32, rest: &str| -> Option<i32> {
        let number = match rest.chars().next() {
            None => base,
            Some('+') => base + rest[1..].parse::<i32>().ok()?,
            Some('-') => base - rest[1..].parse::<i32>().ok()?,
            Some(_) => return None,
        };
        (rt_min..=rt_max).contains(&number).then_some(number)
    };
    if let Some(rest) = bare.strip_prefix("RTMIN") {
        return real_time(rt_min, rest);
    }
    if let Some(rest) = bare.strip_prefix("RTMAX") {
        return real_time(rt_max, rest);
    }
    format!("SIG{bare}")
        .parse::<Signal>()
        .ok()
        .map(|s| s as i32)
}

/// Moves this process into the cgroup it is already in, to take the kernel's cgroup
/// migration lock. Without the `favordynmods` mount option, the first task migration after a
/// quiet moment waits for an RCU grace period (~8 ms here, up to 40 ms under load), and every
/// migration in the grace period that follows is free. A process that would otherwise only
/// wait while a container is set up primes it every few milliseconds: the runtime's own
/// migration of the container's first process then costs little. Best effort.
pub struct CgroupPrimer {
    procs: std::path::PathBuf,
    pid: String,
}

impl CgroupPrimer {
    /// The cgroup.procs file of one hierarchy this process is in (the lock is global): a v1
    /// controller, else cgroup v2. None where there is none to write.
    pub fn new() -> Option<Self> {
        let procs = own_cgroups().into_iter().find_map(|(base, path)| {
            let procs = base.join(path.trim_start_matches('/')).join("cgroup.procs");
            procs.exists().then_some(procs)
        })?;
        Some(Self {
            procs,
            pid: std::process::id().to_string(),
        })
    }

    pub fn prime(&self) {
        let _ = std::fs::write(&self.procs, &self.pid);
    }
}

/// Makes the directories of cgroup `path` (absolute, as a spec's cgroupsPath) in each cgroup
/// v1 hierarchy, so that the runtime finds them made and only moves its process in. A starting
/// `skiff` does this while its child prepares the container, on the other CPU. Best effort:
/// the runtime makes what is missing.
pub fn make_v1_cgroup(path: &str) {
    for (base, _) in own_cgroups() {
        if base != std::path::Path::new("/sys/fs/cgroup") {
            let _ = std::fs::create_dir_all(base.join(path.trim_start_matches('/')));
        }
    }
}

/// The hierarchies this process is in: (mount point, own path in it); v1 controllers (named
/// hierarchies left out) and the v2 hierarchy when it is mounted at /sys/fs/cgroup.
fn own_cgroups() -> Vec<(std::path::PathBuf, String)> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    own.lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ':');
            let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            let base = if controllers.is_empty() {
                std::path::Path::new("/sys/fs/cgroup/cgroup.controllers")
                    .exists()
                    .then(|| std::path::PathBuf::from("/sys/fs/cgroup"))?
            } else if controllers.starts_with("name=") {
                return None;
            } else {
                std::path::Path::new("/sys/fs/cgroup").join(controllers)
            };
            Some((base, path.to_string()))
        })
        .collect()
}

/// Sets every ignored signal back to its default action and returns which ones were ignored.
/// A container's processes start as under any shell: Rust ignores SIGPIPE in its programs, a
/// shell running skiff in the background ignores SIGINT and SIGQUIT, and an ignored signal
/// stays ignored across exec (a shell in the container then cannot even trap it).
/// Async-signal-safe: fit for a forked child before exec.
pub fn reset_ignored_signals() -> u64 {
    let mut ignored = 0u64;
    for signal in 1..=64 {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        let is_ignored = action_of(signal) == Some(libc::SIG_IGN);
        if is_ignored {
            set_action(signal, libc::SIG_DFL);
            ignored |= 1 << (signal - 1);
        }
    }
    ignored
}

/// Runs `work` (which starts a container's processes) with no signal ignored (see
/// `reset_ignored_signals`), then ignores again what was ignored.
pub fn default_signals_while<T>(work: impl FnOnce() -> T) -> T {
    let ignored = reset_ignored_signals();
    let result = work();
    for signal in 1..=64 {
        if ignored & (1 << (signal - 1)) != 0 {
            set_action(signal, libc::SIG_IGN);
        }
    }
    result
}

/// `struct sigaction` as the kernel's rt_sigaction takes it.
#[repr(C)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// A signal's current handler, read with the raw system call (see `set_action`).
fn action_of(signal: i32) -> Option<libc::sighandler_t> {
    let mut old = KernelSigaction {
        handler: 0,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: rt_sigaction with no new action, writing the current one into `old`, and the
    // kernel's signal set size (8 bytes).
    #[allow(unsafe_code)]
    let done = unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            signal,
            std::ptr::null::<KernelSigaction>(),
            &mut old as *mut KernelSigaction,
            8usize,
        )
    } == 0;
    done.then_some(old.handler)
}

/// Sets a signal's action to SIG_DFL or SIG_IGN with the raw system call: glibc's wrappers
/// refuse the two real-time signals it keeps for itself (32 and 33), which a parent may still
/// have left ignored.
fn set_action(signal: i32, handler: libc::sighandler_t) {
    let action = KernelSigaction {
        handler,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: rt_sigaction with a kernel-layout action that outlives the call, no old action,
    // and the kernel's signal set size (8 bytes).
    #[allow(unsafe_code)]
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            signal,
            &action as *const KernelSigaction,
            std::ptr::null_mut::<KernelSigaction>(),
            8usize,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_signals_parse() {
        let me = std::process::id() as i32;
        let started = start_time(me).unwrap();
        assert!(is_alive(me, started));
        assert!(!is_alive(me, started + 1));
        assert_eq!(parse_signal("kill"), Some(Signal::SIGKILL as i32));
        assert_eq!(parse_signal("SIGTERM"), Some(Signal::SIGTERM as i32));
        assert_eq!(parse_signal("9"), Some(9));
        assert_eq!(parse_signal("64"), Some(64));
        assert_eq!(parse_signal("RTMIN+3"), Some(libc::SIGRTMIN() + 3));
        assert_eq!(parse_signal("SIGRTMAX-1"), Some(libc::SIGRTMAX() - 1));
        for bad in ["bogus", "0", "65", "-1", "RTMIN+99", "RTMAXX"] {
            assert_eq!(parse_signal(bad), None, "{bad}");
        }
    }
}
