//! pasta: the namespace gets a tap device whose traffic pasta carries over the user's
//! sockets; the host's loopback is reached through the gateway address, and published ports
//! are pasta's own forwards, which keep the real source address of clients (Podman's
//! rootlessport does not: podman#8193).
use std::path::Path;
use std::process::{Command, Stdio};

use skiff_spec::PortMapping;

use super::Complaint::First;
use super::{Helper, complaint};
use crate::error::NetworkError;

/// pasta's `-t`/`-u` value for one mapping: `[ADDR/]HOST:CONTAINER`.
fn forward_spec(port: &PortMapping) -> String {
    let address = if port.host_ip.is_empty() {
        String::new()
    } else {
        format!("{}/", port.host_ip)
    };
    format!("{address}{}:{}", port.host_port, port.container_port)
}

/// Runs pasta for the namespace at `netns`; it returns once the namespace is configured,
/// leaving its daemon behind. The container uses the host's resolvers.
pub(super) fn start(
    netns: &Path,
    pid_file: &Path,
    ports: &[PortMapping],
) -> Result<Vec<String>, NetworkError> {
    let mut command = Command::new(Helper::Pasta.program());
    command
        .args(["--config-net", "--quiet", "--netns"])
        .arg(netns)
        .arg("--pid")
        .arg(pid_file)
        // As root, pasta would switch to nobody, which may not enter the namespace; it
        // stays the caller (root inside a rootless user namespace is the user).
        .arg("--runas")
        .arg(format!(
            "{}:{}",
            nix::unistd::geteuid(),
            nix::unistd::getegid()
        ));
    let (tcp, udp): (Vec<&PortMapping>, Vec<&PortMapping>) =
        ports.iter().partition(|p| p.protocol != "udp");
    for (flag, list) in [("-t", &tcp), ("-u", &udp)] {
        if list.is_empty() {
            command.args([flag, "none"]);
        }
        for port in list {
            command.args([flag, &forward_spec(port)]);
        }
    }
    // Nothing from the container's namespace back to the host's ports unless asked.
    command.args(["-T", "none", "-U", "none"]);
    let output = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| {
            Helper::Pasta.error(format!("cannot run pasta ({e}): install the passt package"))
        })?;
    if !output.status.success() {
        return Err(complaint(Helper::Pasta, &output.stderr, First));
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_are_written_as_pasta_reads_them() {
        let port = |ip: &str| PortMapping {
            host_ip: ip.into(),
            host_port: 8080,
            container_port: 80,
            protocol: "tcp".into(),
        };
        assert_eq!(forward_spec(&port("")), "8080:80");
        assert_eq!(forward_spec(&port("127.0.0.1")), "127.0.0.1/8080:80");
    }
}
