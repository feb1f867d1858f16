//! nftables rules, through the `nft` program (one batch per change): each network has a table
//! of its own (masquerade out of its subnet; an internal network is cut off from everything
//! but itself), and each container with published ports has one (DNAT from the host's
//! addresses, loopback included). Removing a network or a container's ports is deleting its
//! table, so nothing is left behind however a run ended.
//!
//! Where `nft` is missing, or `SKIFF_FIREWALL_DRIVER=iptables` says so, the same rules go into
//! iptables chains of the same names (see `iptables`), one per table and family, jumped to
//! from the built-in chains.
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::{Command, Stdio};

use skiff_spec::PortMapping;

use crate::config::Network;
use crate::error::NetworkError;

/// `SKIFF_FIREWALL_DRIVER`: `nftables` or `iptables` (netavark's two), else the first found.
pub const DRIVER_VARIABLE: &str = "SKIFF_FIREWALL_DRIVER";

fn use_iptables() -> bool {
    match std::env::var(DRIVER_VARIABLE).as_deref() {
        Ok("iptables") => true,
        Ok("nftables") => false,
        _ => !on_path("nft") && on_path("iptables"),
    }
}

fn on_path(program: &str) -> bool {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin"]
        .iter()
        .any(|dir| std::path::Path::new(dir).join(program).is_file())
}

fn run_nft(script: &str) -> Result<(), NetworkError> {
    run_program("nft", &["-f", "-"], Some(script))
}

/// Runs a firewall program, with `input` on its stdin; fails with its first line of complaint.
fn run_program(program: &str, args: &[&str], input: Option<&str>) -> Result<(), NetworkError> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            NetworkError::Firewall(format!(
                "cannot run {program} ({e}): install nftables (or iptables)"
            ))
        })?;
    if let (Some(mut stdin), Some(input)) = (child.stdin.take(), input) {
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| NetworkError::Firewall(e.to_string()))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| NetworkError::Firewall(e.to_string()))?;
    if output.status.success() {
        return Ok(());
    }
    let message = String::from_utf8_lossy(&output.stderr);
    Err(NetworkError::Firewall(format!(
        "{program}: {}",
        message.lines().next().unwrap_or("failed")
    )))
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
    if use_iptables() {
        let mut families = vec![(iptables::V4, subnet.to_string())];
        if let Some((subnet6, _)) = network.subnet6() {
            families.push((iptables::V6, subnet6.to_string()));
        }
        return iptables::apply_network(&network.table(), bridge, network.internal, &families);
    }
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
    remove_rules(&network.table())
}

/// Deletes the rules of a network or a container (`table`), both families.
fn remove_rules(table: &str) -> Result<(), NetworkError> {
    if use_iptables() {
        return iptables::remove(table);
    }
    run_nft(&format!(
        "{}{}",
        delete_table("ip", table),
        delete_table("ip6", table)
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
    if use_iptables() {
        return iptables::apply_ports(&table, address, address6, ports);
    }
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
    remove_rules(&container_table(container))
}

/// The iptables side: per table name, chains of that name in the `nat` and `filter` tables
/// (and a `_post` one for the loopback masquerade of published ports), filled in one
/// `iptables-restore --noflush` batch (declaring a chain there empties it) and jumped to from
/// the built-in chains. Removal unhooks and deletes whichever of them exist.
mod iptables {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use skiff_spec::PortMapping;

    use super::run_program as run;
    use crate::error::NetworkError;

    /// One address family's programs.
    #[derive(Clone, Copy)]
    pub struct Family {
        command: &'static str,
        restore: &'static str,
        ipv6: bool,
    }

    pub const V4: Family = Family {
        command: "iptables",
        restore: "iptables-restore",
        ipv6: false,
    };
    pub const V6: Family = Family {
        command: "ip6tables",
        restore: "ip6tables-restore",
        ipv6: true,
    };

    /// Fills the chains (`rules`: table, chain, rules) and hooks them in (`hooks`: table,
    /// built-in chain, chain, whether at the top).
    fn install(
        family: Family,
        rules: &[(&str, &str, Vec<String>)],
        hooks: &[(&str, &str, &str, bool)],
    ) -> Result<(), NetworkError> {
        let mut batch = String::new();
        for (table, chain, lines) in rules {
            batch.push_str(&format!("*{table}\n:{chain} - [0:0]\n"));
            for line in lines {
                batch.push_str(&format!("-A {chain} {line}\n"));
            }
            batch.push_str("COMMIT\n");
        }
        run(family.restore, &["-w", "--noflush"], Some(&batch))?;
        for (table, builtin, chain, top) in hooks {
            let jump = ["-w", "-t", table, "-C", builtin, "-j", chain];
            if run(family.command, &jump, None).is_err() {
                let position = if *top { "-I" } else { "-A" };
                run(
                    family.command,
                    &["-w", "-t", table, position, builtin, "-j", chain],
                    None,
                )?;
            }
        }
        Ok(())
    }

    pub fn apply_network(
        name: &str,
        bridge: &str,
        internal: bool,
        families: &[(Family, String)],
    ) -> Result<(), NetworkError> {
        // A network without IPv6 (now) has no ip6tables chains.
        if families.len() == 1 {
            let _ = remove_family(V6, name);
        }
        for (family, subnet) in families {
            let forward = if internal {
                vec![
                    format!("-i {bridge} ! -o {bridge} -j DROP"),
                    format!("-o {bridge} ! -i {bridge} -j DROP"),
                ]
            } else {
                vec![
                    format!("-i {bridge} -j ACCEPT"),
                    format!("-o {bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"),
                ]
            };
            let mut rules = vec![("filter", name, forward)];
            let mut hooks = vec![("filter", "FORWARD", name, true)];
            if !internal {
                rules.push((
                    "nat",
                    name,
                    vec![format!("-s {subnet} ! -d {subnet} -j MASQUERADE")],
                ));
                hooks.push(("nat", "POSTROUTING", name, false));
            }
            install(*family, &rules, &hooks)?;
        }
        Ok(())
    }

    pub fn apply_ports(
        name: &str,
        address: Ipv4Addr,
        address6: Option<Ipv6Addr>,
        ports: &[PortMapping],
    ) -> Result<(), NetworkError> {
        let post = format!("{name}_post");
        let mut targets = vec![(V4, address.to_string())];
        match address6 {
            Some(address6) => targets.push((V6, format!("[{address6}]"))),
            None => {
                let _ = remove_family(V6, name);
            }
        }
        for (family, target) in targets {
            let dnat: Vec<String> = ports
                .iter()
                .filter_map(|port| {
                    let destination = match port.host_ip.as_str() {
                        "" => "-m addrtype --dst-type LOCAL".to_string(),
                        ip if ip.contains(':') != family.ipv6 => return None,
                        ip => format!("-d {ip}"),
                    };
                    Some(format!(
                        "{destination} -p {0} -m {0} --dport {1} -j DNAT --to-destination {target}:{2}",
                        port.protocol, port.host_port, port.container_port
                    ))
                })
                .collect();
            let mut rules = vec![("nat", name, dnat)];
            let mut hooks = vec![
                ("nat", "PREROUTING", name, false),
                ("nat", "OUTPUT", name, false),
            ];
            if !family.ipv6 {
                rules.push((
                    "nat",
                    post.as_str(),
                    vec![format!("-s 127.0.0.0/8 -d {address} -j MASQUERADE")],
                ));
                hooks.push(("nat", "POSTROUTING", post.as_str(), false));
            }
            install(family, &rules, &hooks)?;
        }
        Ok(())
    }

    /// Unhooks and deletes every chain of `name` (whichever exist), both families.
    pub fn remove(name: &str) -> Result<(), NetworkError> {
        let v4 = remove_family(V4, name);
        let v6 = remove_family(V6, name);
        v4.and(v6)
    }

    fn remove_family(family: Family, name: &str) -> Result<(), NetworkError> {
        let post = format!("{name}_post");
        const HOOKS: [(&str, &str); 4] = [
            ("filter", "FORWARD"),
            ("nat", "POSTROUTING"),
            ("nat", "PREROUTING"),
            ("nat", "OUTPUT"),
        ];
        for chain in [name, post.as_str()] {
            for (table, builtin) in HOOKS {
                while run(
                    family.command,
                    &["-w", "-t", table, "-D", builtin, "-j", chain],
                    None,
                )
                .is_ok()
                {}
            }
            for table in ["filter", "nat"] {
                let exists = run(
                    family.command,
                    &["-w", "-t", table, "-L", chain, "-n"],
                    None,
                );
                if exists.is_ok() {
                    run(family.command, &["-w", "-t", table, "-F", chain], None)?;
                    run(family.command, &["-w", "-t", table, "-X", chain], None)?;
                }
            }
        }
        Ok(())
    }
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
