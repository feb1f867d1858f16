//! slirp4netns, the fallback where pasta is missing: the namespace gets `tap0` in
//! 10.0.2.0/24 or the `cidr` asked for (the container .100, gateway .2, DNS forwarder .3),
//! and published ports are added
//! through its API socket. As in Podman, the host's loopback stays out of reach. Forwarded
//! connections keep a remote client's address; those from the host's loopback come from the
//! gateway.
use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use skiff_spec::PortMapping;

use super::Complaint::Last;
use super::Helper;
use crate::error::{NetworkError, system};

const SOCKET_FILE: &str = "slirp4netns.sock";
const LOG_FILE: &str = "slirp4netns.log";
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts slirp4netns for the namespace at `netns` and waits until it has configured it.
pub(super) fn start(
    netns: &Path,
    run_dir: &Path,
    pid_file: &Path,
    ports: &[PortMapping],
    options: &skiff_spec::SlirpOptions,
) -> Result<Vec<String>, NetworkError> {
    let helper = Helper::Slirp4netns;
    let socket = run_dir.join(SOCKET_FILE);
    let _ = fs::remove_file(&socket);
    let log_path = run_dir.join(LOG_FILE);
    let log =
        fs::File::create(&log_path).map_err(system(format!("create {}", log_path.display())))?;
    let (mut ready_read, ready_write) = std::io::pipe().map_err(system("pipe"))?;
    let ready_fd = ready_write.as_raw_fd();
    let mut command = Command::new(helper.program());
    command
        .arg("--configure")
        .arg(format!("--mtu={}", options.mtu.unwrap_or(65520)));
    if !options.allow_host_loopback {
        command.arg("--disable-host-loopback");
    }
    if let Some(cidr) = &options.cidr {
        command.arg(format!("--cidr={cidr}"));
    }
    if options.enable_ipv6 {
        command.arg("--enable-ipv6");
    }
    command
        .args([
            "--enable-sandbox",
            "--enable-seccomp",
            "--netns-type=path",
            "--ready-fd=3",
            "--api-socket",
        ])
        // Relative to the run directory: a socket's path may not exceed 107 bytes.
        .arg(SOCKET_FILE)
        .arg(netns)
        .arg("tap0")
        .current_dir(run_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    // SAFETY: between fork and exec the closure only makes async-signal-safe calls (setsid,
    // dup2, fcntl) on descriptors it owns.
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(move || {
            let _ = nix::unistd::setsid();
            if ready_fd == 3 {
                nix::fcntl::fcntl(
                    3,
                    nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
                )?;
            } else {
                nix::unistd::dup2(ready_fd, 3)?;
            }
            Ok(())
        });
    }
    let child = command.spawn().map_err(|e| {
        helper.error(format!(
            "cannot run slirp4netns ({e}): install the slirp4netns package"
        ))
    })?;
    drop(ready_write);
    fs::write(pid_file, child.id().to_string())
        .map_err(system(format!("write {}", pid_file.display())))?;
    // The helper writes to the ready descriptor once the namespace is configured; an exit
    // closes it unwritten.
    if !wait_ready(&mut ready_read) {
        let stderr = fs::read(&log_path).unwrap_or_default();
        // slirp4netns reports progress first and the failure last.
        return Err(super::complaint(helper, &stderr, Last));
    }
    let dir = fs::File::open(run_dir).map_err(system(format!("open {}", run_dir.display())))?;
    let socket = Path::new("/proc/self/fd")
        .join(dir.as_raw_fd().to_string())
        .join(SOCKET_FILE);
    for port in ports {
        add_forward(&socket, port)?;
    }
    // Its resolver: .3 of the namespace's network.
    Ok(vec![options.address(3).to_string()])
}

/// Whether the helper reported ready within the time allowed (signals aside).
fn wait_ready(ready: &mut std::io::PipeReader) -> bool {
    let deadline = std::time::Instant::now() + READY_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let mut fds = [PollFd::new(ready.as_fd(), PollFlags::POLLIN)];
        match poll(
            &mut fds,
            PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX),
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            Ok(n) if n > 0 => {}
            _ => return false,
        }
        let mut byte = [0u8; 1];
        match ready.read(&mut byte) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Ok(1) => return true,
            _ => return false,
        }
    }
}

/// The API request publishing one port.
fn forward_request(port: &PortMapping) -> String {
    let host_addr = if port.host_ip.is_empty() {
        "0.0.0.0"
    } else {
        &port.host_ip
    };
    serde_json::json!({
        "execute": "add_hostfwd",
        "arguments": {
            "proto": if port.protocol == "udp" { "udp" } else { "tcp" },
            "host_addr": host_addr,
            "host_port": port.host_port,
            "guest_port": port.container_port,
        }
    })
    .to_string()
}

fn add_forward(socket: &Path, port: &PortMapping) -> Result<(), NetworkError> {
    let helper = Helper::Slirp4netns;
    let failed = |e: std::io::Error| helper.error(format!("API socket: {e}"));
    let mut stream = UnixStream::connect(socket).map_err(failed)?;
    stream
        .write_all(forward_request(port).as_bytes())
        .map_err(failed)?;
    stream.shutdown(std::net::Shutdown::Write).map_err(failed)?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).map_err(failed)?;
    let reply: serde_json::Value = serde_json::from_str(&reply).unwrap_or_default();
    if let Some(error) = reply.get("error") {
        let desc = error["desc"].as_str().unwrap_or("refused");
        return Err(helper.error(format!(
            "cannot publish port {}/{}: {desc}",
            port.host_port, port.protocol
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_are_requested_as_slirp4netns_reads_them() {
        let port = PortMapping {
            host_ip: String::new(),
            host_port: 8080,
            container_port: 80,
            protocol: "udp".into(),
        };
        let request: serde_json::Value = serde_json::from_str(&forward_request(&port)).unwrap();
        assert_eq!(request["execute"], "add_hostfwd");
        assert_eq!(request["arguments"]["proto"], "udp");
        assert_eq!(request["arguments"]["host_addr"], "0.0.0.0");
        assert_eq!(request["arguments"]["host_port"], 8080);
        assert_eq!(request["arguments"]["guest_port"], 80);
    }
}
