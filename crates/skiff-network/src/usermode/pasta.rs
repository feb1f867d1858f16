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
    // A host whose only resolvers are on its loopback (systemd-resolved's 127.0.0.53) has
    // none the container could reach: pasta answers on an address of its own instead and
    // forwards to them, as Podman 5 does.
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let resolvers = if loopback_resolvers_only(&host_resolv) {
        command.args(["--dns-forward", DNS_FORWARD]);
        vec![DNS_FORWARD.to_string()]
    } else {
        Vec::new()
    };
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
    Ok(resolvers)
}

/// Where pasta answers DNS for the container when it must forward (Podman 5's address).
const DNS_FORWARD: &str = "169.254.1.1";

/// Whether every nameserver in `resolv_conf` is a loopback address (and there is one).
fn loopback_resolvers_only(resolv_conf: &str) -> bool {
    let servers: Vec<std::net::IpAddr> = resolv_conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    !servers.is_empty() && servers.iter().all(|a| a.is_loopback())
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

    #[test]
    fn dns_is_forwarded_only_when_the_host_resolves_on_its_loopback() {
        assert!(loopback_resolvers_only(
            "nameserver 127.0.0.53\noptions edns0\n"
        ));
        assert!(loopback_resolvers_only("nameserver ::1\n"));
        assert!(!loopback_resolvers_only(
            "nameserver 127.0.0.53\nnameserver 10.0.0.2\n"
        ));
        assert!(!loopback_resolvers_only("nameserver 192.0.2.53\n"));
        assert!(!loopback_resolvers_only("search example.org\n"));
    }
}
