//! nftables rules, through the `nft` program (one batch per change): each network has a table
//! of its own (masquerade out of its subnet; an internal network is cut off from everything
//! but itself), and each container with published ports has one (DNAT from the host's
//! addresses, loopback included). Removing a network or a container's ports is deleting its
//! table, so nothing is left behind however a run ended.
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::{Command, Stdio};

use skiff_spec::PortMapping;

use crate::config::Network;
use crate::error::NetworkError;

fn run_nft(script: &str) -> Result<(), NetworkError> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| NetworkError::Firewall(format!("cannot run nft ({e}): install nftables")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| NetworkError::Firewall(e.to_string()))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| NetworkError::Firewall(e.to_string()))?;
    if output.status.success() {
        Ok(())
    } else {
        let message = String::from_utf8_lossy(&output.stderr);
        Err(NetworkError::Firewall(
            message.lines().next().unwrap_or("failed").to_string(),
        ))
    }
}

/// Deletes a table of `family` (`ip`, `ip6`) if it is there (`add` first makes the delete
/// never fail).
fn delete_table(family: &str, table: &str) -> String {
    format!("add table {family} {table}\ndelete table {family} {table}\n")
}

fn replace_table(family: &str, table: &str, body: &str) -> String {
    format!(
        "{}table {family} {table} {{\n{body}}}\n",
        delete_table(family, table)
    )
}

/// The network's own rules: NAT to the outside, or isolation when internal. The IPv6 side
/// (a table of the same name in the `ip6` family) follows the same rules.
pub fn apply_network(network: &Network) -> Result<(), NetworkError> {
    let (subnet, _) = network.subnet()?;
    let bridge = &network.network_interface;
    let body = |family: &str, subnet: &str| {
        if network.internal {
            format!(
                "  chain forward {{\n    type filter hook forward priority filter; policy accept;\n    \
                 iifname \"{bridge}\" oifname != \"{bridge}\" drop\n    \
                 oifname \"{bridge}\" iifname != \"{bridge}\" drop\n  }}\n"
            )
        } else {
            format!(
                "  chain postrouting {{\n    type nat hook postrouting priority srcnat; policy accept;\n    \
                 {family} saddr {subnet} {family} daddr != {subnet} masquerade\n  }}\n  \
                 chain forward {{\n    type filter hook forward priority filter; policy accept;\n    \
                 iifname \"{bridge}\" accept\n    oifname \"{bridge}\" ct state related,established accept\n  }}\n"
            )
        }
    };
    let table = network.table();
    let mut script = replace_table("ip", &table, &body("ip", &subnet.to_string()));
    match network.subnet6() {
        Some((subnet6, _)) => script.push_str(&replace_table(
            "ip6",
            &table,
            &body("ip6", &subnet6.to_string()),
        )),
        None => script.push_str(&delete_table("ip6", &table)),
    }
    run_nft(&script)
}

pub fn remove_network(network: &Network) -> Result<(), NetworkError> {
    let table = network.table();
    run_nft(&format!(
        "{}{}",
        delete_table("ip", &table),
        delete_table("ip6", &table)
    ))
}

fn container_table(container: &str) -> String {
    format!("skiff_ctr_{}", &container[..container.len().min(12)])
}

/// DNAT of the published ports to the container's address, and to its IPv6 address on a
/// network with IPv6 (an `ip6` table of the same name). A port without a host address is
/// published on both families; IPv6 has no route_localnet, so `::1` is not forwarded (as with
/// netavark).
pub fn apply_ports(
    container: &str,
    address: Ipv4Addr,
    address6: Option<Ipv6Addr>,
    ports: &[PortMapping],
) -> Result<(), NetworkError> {
    let rules = |family: &str, target: &str| {
        let mut rules = String::new();
        for port in ports {
            let destination = match port.host_ip.as_str() {
                "" => "fib daddr type local".to_string(),
                ip if ip.contains(':') != (family == "ip6") => continue,
                ip => format!("{family} daddr {ip}"),
            };
            rules.push_str(&format!(
                "    {destination} {} dport {} dnat to {target}:{}\n",
                port.protocol, port.host_port, port.container_port
            ));
        }
        rules
    };
    let chains = |rules: &str| {
        format!(
            "  chain prerouting {{\n    type nat hook prerouting priority dstnat; policy accept;\n{rules}  }}\n  \
             chain output {{\n    type nat hook output priority -100; policy accept;\n{rules}  }}\n"
        )
    };
    let table = container_table(container);
    let body = format!(
        "{}  chain postrouting {{\n    type nat hook postrouting priority srcnat; policy accept;\n    \
         ip saddr 127.0.0.0/8 ip daddr {address} masquerade\n  }}\n",
        chains(&rules("ip", &address.to_string()))
    );
    let mut script = replace_table("ip", &table, &body);
    match address6 {
        Some(address6) => script.push_str(&replace_table(
            "ip6",
            &table,
            &chains(&rules("ip6", &format!("[{address6}]"))),
        )),
        None => script.push_str(&delete_table("ip6", &table)),
    }
    run_nft(&script)
}

pub fn remove_ports(container: &str) -> Result<(), NetworkError> {
    let table = container_table(container);
    run_nft(&format!(
        "{}{}",
        delete_table("ip", &table),
        delete_table("ip6", &table)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_replaced_whole() {
        let script = replace_table("ip", "skiff_net_x", "  chain c {}\n");
        assert!(script.starts_with("add table ip skiff_net_x\ndelete table ip skiff_net_x\n"));
        assert!(script.ends_with("table ip skiff_net_x {\n  chain c {}\n}\n"));
        assert_eq!(
            container_table("0123456789abcdef"),
            "skiff_ctr_0123456789ab"
        );
    }
}
