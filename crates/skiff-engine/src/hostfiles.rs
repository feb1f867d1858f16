//! /etc/hostname, /etc/hosts and /etc/resolv.conf made for a container on the host and
//! bind-mounted into it, as Podman does.
use std::fs;
use std::path::Path;

use skiff_spec::HostFiles;

use crate::error::{EngineError, IoContext};

pub fn write(
    dir: &Path,
    hostname: &str,
    name: &str,
    host_network: bool,
) -> Result<HostFiles, EngineError> {
    fs::create_dir_all(dir).io("create", dir)?;
    let files = HostFiles {
        hostname: dir.join("hostname"),
        hosts: dir.join("hosts"),
        resolv_conf: dir.join("resolv.conf"),
    };
    fs::write(&files.hostname, format!("{hostname}\n")).io("write", &files.hostname)?;
    let hosts = if host_network {
        fs::read_to_string("/etc/hosts").unwrap_or_default()
    } else {
        format!(
            "127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4\n::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6\n127.0.1.1\t{hostname} {name}\n"
        )
    };
    fs::write(&files.hosts, hosts).io("write", &files.hosts)?;
    let resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    // A loopback resolver of the host is unreachable from a private network namespace.
    let resolv: String = if host_network {
        resolv
    } else {
        resolv
            .lines()
            .filter(|l| !l.trim_start().starts_with("nameserver 127."))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    fs::write(&files.resolv_conf, resolv).io("write", &files.resolv_conf)?;
    Ok(files)
}
