//! Rootless networking: a user-mode network stack outside the container's namespace carries
//! its traffic over ordinary sockets of the user, so it reaches whatever the user reaches.
//! pasta (Debian's `passt`, Podman 5's default) first, slirp4netns where pasta is missing.
//! Each runs as a daemon of its own, recorded in the container's run directory for `stop`.
mod pasta;
mod slirp;

use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use skiff_spec::PortMapping;

use crate::error::{NetworkError, system};
use crate::setup::{Namespace, new_namespace};

const NETNS_FILE: &str = "netns";
const PID_FILE: &str = "usermode.pid";

/// Which user-mode stack serves a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Helper {
    Pasta,
    Slirp4netns,
}

impl Helper {
    pub fn program(self) -> &'static str {
        match self {
            Helper::Pasta => "pasta",
            Helper::Slirp4netns => "slirp4netns",
        }
    }

    /// Whether the helper's program is installed.
    pub fn available(self) -> bool {
        std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|dir| dir.join(self.program()).is_file())
        })
    }

    fn error(self, message: impl Into<String>) -> NetworkError {
        NetworkError::UserMode {
            helper: self.program(),
            message: message.into(),
        }
    }
}

/// The host's first IPv4 address outside loopback (`hostname -I`'s first), which a container
/// on a user-mode stack reaches the host by: its `host.containers.internal`.
pub fn host_address() -> Option<std::net::Ipv4Addr> {
    nix::ifaddrs::getifaddrs()
        .ok()?
        .filter_map(|a| a.address?.as_sockaddr_in().map(|address| address.ip()))
        .find(|ip| !ip.is_loopback())
}

/// A new namespace served by `helper`, with `ports` forwarded from the host into it.
pub fn create_namespace(
    helper: Helper,
    run_dir: &Path,
    ports: &[PortMapping],
    slirp_options: &skiff_spec::SlirpOptions,
) -> Result<Namespace, NetworkError> {
    let fd = new_namespace(|_, _| Ok(()))?;
    fs::create_dir_all(run_dir).map_err(system(format!("create {}", run_dir.display())))?;
    let netns = bind_namespace(&fd, run_dir)?;
    let pid_file = run_dir.join(PID_FILE);
    let started = match helper {
        Helper::Pasta => pasta::start(&netns, &pid_file, ports).map(|r| (r, None)),
        Helper::Slirp4netns => slirp::start(&netns, run_dir, &pid_file, ports, slirp_options)
            .map(|r| (r, Some(slirp_options.address(100).to_string()))),
    };
    match started {
        Ok((resolvers, address)) => Ok(Namespace {
            fd,
            path: Some(netns),
            attached: Vec::new(),
            resolvers,
            address,
        }),
        Err(e) => {
            stop(run_dir);
            Err(e)
        }
    }
}

/// The helpers, and a rootless runtime, open the namespace by path, and /proc/PID/fd/N of
/// another process is refused to them (pasta, and the container's init, keep fewer
/// capabilities than skiff), so the namespace is bound onto a file. The bind lives in the
/// caller's private mount namespace; the file stays until `stop`, and pasta exits when it is
/// removed.
pub fn bind_namespace(fd: &OwnedFd, run_dir: &Path) -> Result<PathBuf, NetworkError> {
    let netns = run_dir.join(NETNS_FILE);
    fs::write(&netns, b"").map_err(system(format!("create {}", netns.display())))?;
    mount(
        Some(Path::new(&format!("/proc/self/fd/{}", fd.as_raw_fd()))),
        &netns,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| NetworkError::System {
        action: format!("bind the network namespace onto {}", netns.display()),
        source: e.into(),
    })?;
    Ok(netns)
}

/// Stops the helper of a container (it would keep the namespace alive otherwise).
pub fn stop(run_dir: &Path) {
    let pid_file = run_dir.join(PID_FILE);
    if let Some(pid) = fs::read_to_string(&pid_file)
        .ok()
        .and_then(|p| p.trim().parse::<i32>().ok())
        .filter(|p| *p > 1)
    {
        // Only a helper: the PID may have been reused since.
        let ours = fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
            c.split(|b| *b == 0).next().is_some_and(|arg| {
                [Helper::Pasta, Helper::Slirp4netns]
                    .iter()
                    .any(|h| arg.ends_with(h.program().as_bytes()))
            })
        });
        if ours {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
    }
    let _ = fs::remove_file(pid_file);
    unbind_namespace(run_dir);
}

/// Undoes `bind_namespace`. Whatever shares the mount namespace it was made in (a server
/// started by the same process) would keep the container's network namespace, and the
/// host end of its veth, alive otherwise.
pub fn unbind_namespace(run_dir: &Path) {
    let netns = run_dir.join(NETNS_FILE);
    let _ = umount2(&netns, MntFlags::MNT_DETACH);
    let _ = fs::remove_file(netns);
}

/// Which line of a helper's output says what went wrong.
enum Complaint {
    First,
    Last,
}

/// The line of a helper's complaint worth showing, with the cause named when it is the tun
/// device.
fn complaint(helper: Helper, stderr: &[u8], which: Complaint) -> NetworkError {
    let message = String::from_utf8_lossy(stderr);
    // pasta also logs to syslog and complains on stderr when there is none.
    let mut lines = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains("to syslog"));
    let line = match which {
        Complaint::First => lines.next(),
        Complaint::Last => lines.next_back(),
    }
    .unwrap_or("failed to start");
    let hint = if message.contains("/dev/net/tun") || message.contains("tun") {
        " (/dev/net/tun must be readable and writable by the user: mode 0666, as distributions ship it)"
    } else {
        ""
    };
    helper.error(format!("{line}{hint}"))
}
