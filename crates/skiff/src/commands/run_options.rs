//! `run`/`create` flags → the engine's `ContainerSpec`.
use anyhow::{Context, Result, bail};
use skiff_engine::{
    ContainerSpec, NetworkMode, PortMapping, RestartPolicy, SeccompChoice, parse_tmpfs,
    parse_volume,
};

use crate::cli::RunArgs;

pub fn container_spec(args: &RunArgs, default_network: NetworkMode) -> Result<ContainerSpec> {
    let env = environment(&args.process.env_file, &args.process.env)?;
    let mut spec = ContainerSpec {
        image: args.image.clone(),
        command: args.command.clone(),
        entrypoint: args.entrypoint.as_ref().map(|e| entrypoint(e)),
        env,
        workdir: args.process.workdir.clone(),
        user: args.process.user.clone(),
        hostname: args.hostname.clone(),
        read_only: args.read_only,
        cap_add: args
            .cap_add
            .iter()
            .flat_map(|c| c.split(','))
            .map(str::to_string)
            .collect(),
        cap_drop: args
            .cap_drop
            .iter()
            .flat_map(|c| c.split(','))
            .map(str::to_string)
            .collect(),
        privileged: args.privileged,
        init: args.init,
        stop_signal: args.stop_signal.clone(),
        stop_timeout: args.stop_timeout,
        remove: args.rm,
        interactive: args.interactive,
        tty: args.tty,
        pids_limit: args.pids_limit,
        // --memory 0 is no limit, as Podman.
        memory: args
            .memory
            .as_deref()
            .map(parse_memory)
            .transpose()?
            .filter(|bytes| *bytes != 0),
        unset_env: args.unsetenv.clone(),
        unset_env_all: args.unsetenv_all,
        cpus: args.cpus,
        restart: args
            .restart
            .as_deref()
            .map(RestartPolicy::parse)
            .transpose()?
            .unwrap_or_default(),
        ..Default::default()
    };
    if let Some(workdir) = &spec.workdir
        && !workdir.starts_with('/')
    {
        bail!("--workdir {workdir:?}: must be an absolute path");
    }
    for cap in spec.cap_add.iter().chain(&spec.cap_drop) {
        skiff_engine::normalize_capability(cap)?;
    }
    for volume in &args.volume {
        spec.mounts.push(parse_volume(volume)?);
    }
    for tmpfs in &args.tmpfs {
        spec.mounts.push(parse_tmpfs(tmpfs)?);
    }
    spec.network = network_mode(args, default_network)?;
    for publish in &args.publish {
        spec.ports.extend(PortMapping::parse(publish)?);
    }
    spec.publish_all = args.publish_all;
    for server in &args.dns {
        if server.parse::<std::net::IpAddr>().is_err() {
            bail!("--dns {server:?}: not an IP address");
        }
    }
    spec.dns_servers = args.dns.clone();
    spec.dns_search = args.dns_search.clone();
    spec.dns_options = args.dns_option.clone();
    for host in &args.add_host {
        match host.split_once([':', '=']) {
            Some((name, ip)) if !name.is_empty() && ip.parse::<std::net::IpAddr>().is_ok() => {}
            _ => bail!("--add-host {host:?}: expected HOST:IP"),
        }
    }
    spec.extra_hosts = args.add_host.clone();
    spec.no_hosts = args.no_hosts;
    for label in &args.label {
        let (key, value) = label.split_once('=').unwrap_or((label, ""));
        spec.labels.insert(key.to_string(), value.to_string());
    }
    for option in &args.security_opt {
        match option.split_once(['=', ':']) {
            Some(("seccomp", "unconfined")) => spec.seccomp = SeccompChoice::Unconfined,
            Some(("seccomp", path)) => {
                let profile = std::fs::read_to_string(path)
                    .with_context(|| format!("--security-opt seccomp={path}"))?;
                skiff_engine::check_seccomp_profile(&profile)
                    .with_context(|| format!("--security-opt seccomp={path}"))?;
                spec.seccomp = SeccompChoice::Profile(profile);
            }
            None if option == "no-new-privileges" => spec.no_new_privileges = true,
            Some(("no-new-privileges", value)) => spec.no_new_privileges = value != "false",
            Some((kind @ ("unmask" | "mask"), paths)) => {
                for path in paths.split(':') {
                    let absolute = path.starts_with('/') || (kind == "unmask" && path == "ALL");
                    if !absolute {
                        bail!("--security-opt {option:?}: {path:?} is not an absolute path");
                    }
                    let list = if kind == "mask" {
                        &mut spec.mask
                    } else {
                        &mut spec.unmask
                    };
                    list.push(path.to_string());
                }
            }
            // No SELinux or AppArmor here: accepted so scripts written for Podman keep working.
            Some(("label", _)) | Some(("apparmor", _)) => {}
            _ => bail!(
                "--security-opt {option:?}: supported options are seccomp=unconfined|PATH, no-new-privileges, unmask=..., mask=..., label=..., apparmor=..."
            ),
        }
    }
    Ok(spec)
}

/// `KEY=value` as given; a bare `KEY` takes the host's value (and is skipped when unset).
/// `--env-file` files, then `-e` entries, as `KEY=VALUE` (a bare `KEY` takes this process's value
/// and is dropped when unset, as in Podman).
/// `--network` (repeatable, comma lists) with `--ip`, `--mac-address` and `--network-alias`
/// for the first network; without it, the engine's default.
fn network_mode(args: &RunArgs, default_network: NetworkMode) -> Result<NetworkMode> {
    let mut mode = None;
    for value in &args.network {
        let parsed = NetworkMode::parse(value).with_context(|| {
            format!("--network {value:?}: expected none, host, bridge or network names")
        })?;
        mode = Some(match (mode, parsed) {
            (None, parsed) => parsed,
            (Some(NetworkMode::Bridge(mut first)), NetworkMode::Bridge(more)) => {
                first.extend(more);
                NetworkMode::Bridge(first)
            }
            _ => bail!("--network none and host cannot be combined with other networks"),
        });
    }
    let mut mode = mode.unwrap_or(default_network);
    let fixed = args.ip.is_some() || args.mac_address.is_some() || !args.network_alias.is_empty();
    match &mut mode {
        NetworkMode::Bridge(networks) => {
            if let Some(first) = networks.first_mut() {
                first.ip = args.ip.clone();
                first.mac = args.mac_address.clone();
                first.aliases = args.network_alias.clone();
            }
        }
        _ if fixed => bail!("--ip, --mac-address and --network-alias need a bridge network"),
        _ => {}
    }
    Ok(mode)
}

pub fn environment(files: &[std::path::PathBuf], entries: &[String]) -> Result<Vec<String>> {
    let mut env = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("--env-file {}", file.display()))?;
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            env.extend(env_entry(line)?);
        }
    }
    for entry in entries {
        env.extend(env_entry(entry)?);
    }
    Ok(env)
}

fn env_entry(entry: &str) -> Result<Option<String>> {
    if entry.starts_with('=') || entry.is_empty() {
        bail!("invalid environment variable {entry:?}: the name is empty");
    }
    Ok(match entry.split_once('=') {
        Some(_) => Some(entry.to_string()),
        None => std::env::var(entry).ok().map(|v| format!("{entry}={v}")),
    })
}

/// `--entrypoint '["a","b"]'` (JSON) or `--entrypoint a` (one program).
fn entrypoint(value: &str) -> Vec<String> {
    if value.is_empty() {
        return Vec::new();
    }
    serde_json::from_str::<Vec<String>>(value).unwrap_or_else(|_| vec![value.to_string()])
}

/// `64m`, `1g`, `512k`, `1024` (bytes) with 1024-based units, as Podman.
pub fn parse_memory(value: &str) -> Result<i64> {
    let lower = value.trim().to_ascii_lowercase();
    let (number, unit) = lower.trim_end_matches('b').split_at(
        lower
            .trim_end_matches('b')
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(lower.trim_end_matches('b').len()),
    );
    let multiplier: i64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => {
            bail!("invalid memory size {value:?}: use a number with an optional unit b, k, m or g")
        }
    };
    let number: f64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("invalid memory size {value:?}"))?;
    let bytes = number * multiplier as f64;
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        bail!("invalid memory size {value:?}: too large");
    }
    let bytes = bytes as i64;
    if bytes != 0 && bytes < 6 * 1024 * 1024 {
        bail!("invalid memory size {value:?}: minimum memory limit allowed is 6MB");
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units_are_binary() {
        assert_eq!(parse_memory("64m").unwrap(), 64 << 20);
        assert_eq!(parse_memory("1g").unwrap(), 1 << 30);
        assert_eq!(parse_memory("1GB").unwrap(), 1 << 30);
        assert!(parse_memory("12x").is_err());
        assert!(parse_memory("1k").is_err());
        assert!(parse_memory("99999999999999999t").is_err());
    }

    #[test]
    fn entrypoints_accept_json_or_a_word() {
        assert_eq!(entrypoint("[\"/bin/sh\",\"-c\"]"), vec!["/bin/sh", "-c"]);
        assert_eq!(entrypoint("/bin/echo"), vec!["/bin/echo"]);
        assert!(entrypoint("").is_empty());
    }
}
