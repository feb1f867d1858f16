//! /etc/hostname, /etc/hosts and /etc/resolv.conf made for a container on the host and
//! bind-mounted into it, as Podman does; and its /etc/passwd with `--hostuser`'s entries.
use std::fs;
use std::path::Path;

use skiff_spec::HostFiles;

use crate::error::{EngineError, IoContext};

/// What goes into a container's /etc/hosts and /etc/resolv.conf.
pub struct HostFilesRequest<'a> {
    pub hostname: &'a str,
    pub name: &'a str,
    pub id: &'a str,
    /// The image as the user named it, and its ID (for a privileged /run/.containerenv).
    pub image: &'a str,
    pub image_id: &'a str,
    pub rootless: bool,
    pub host_network: bool,
    /// The container's own addresses on bridge networks (`IP\tNAMES` lines).
    pub own_entries: String,
    /// Resolvers of its network namespace (its networks' DNS servers, a user-mode stack's
    /// forwarder): the container's, unless `--dns`; none for the host's own.
    pub resolvers: Vec<String>,
    /// Whether those resolvers answer container names (search `dns.podman`).
    pub container_names: bool,
    /// The files of the container whose network namespace this one shares, used as they are.
    pub network_of: Option<std::path::PathBuf>,
    pub spec: &'a skiff_spec::ContainerSpec,
    /// containers.conf's DNS and hosts keys, under the container's own flags.
    pub conf: &'a crate::containers_conf::ContainersConf,
    /// What `host.containers.internal` names, if anything.
    pub host_internal: Option<String>,
}

/// Appends `line` to a hosts file that does not hold it yet.
fn add_hosts_line(hosts: &Path, line: &str) -> Result<(), EngineError> {
    use std::io::Write;
    let present = fs::read_to_string(hosts).io("read", hosts)?;
    if present.lines().any(|l| format!("{l}\n") == line) {
        return Ok(());
    }
    fs::OpenOptions::new()
        .append(true)
        .open(hosts)
        .and_then(|mut file| file.write_all(line.as_bytes()))
        .io("write", hosts)
}

/// Takes `name`'s line (as `write` added it for a container that joined another's network)
/// out of the other's /etc/hosts in `dir`, in place: running containers see the same file.
pub fn forget(dir: &Path, name: &str) {
    let hosts = dir.join("hosts");
    let Ok(present) = fs::read_to_string(&hosts) else {
        return;
    };
    let kept: String = present
        .lines()
        .filter(|l| !(l.starts_with("127.0.0.1\t") && l.split_whitespace().last() == Some(name)))
        .map(|l| format!("{l}\n"))
        .collect();
    if kept != present {
        let _ = fs::write(&hosts, kept);
    }
}

pub fn write(dir: &Path, request: &HostFilesRequest<'_>) -> Result<HostFiles, EngineError> {
    let HostFilesRequest {
        hostname,
        name,
        host_network,
        ..
    } = *request;
    let spec = request.spec;
    fs::create_dir_all(dir).io("create", dir)?;
    let files = HostFiles {
        hostname: dir.join("hostname"),
        hosts: dir.join("hosts"),
        resolv_conf: dir.join("resolv.conf"),
        containerenv: dir.join(".containerenv"),
    };
    fs::write(&files.hostname, format!("{hostname}\n")).io("write", &files.hostname)?;
    // Podman's file: empty, or for a privileged container (which can see the host anyway)
    // the engine, the container and its image, as shell assignments.
    let containerenv = if spec.privileged {
        format!(
            "engine=\"skiff-{}\"\nname=\"{name}\"\nid=\"{}\"\nimage=\"{}\"\nimageid=\"{}\"\nrootless={}\n",
            env!("CARGO_PKG_VERSION"),
            request.id,
            request.image,
            request.image_id,
            u8::from(request.rootless)
        )
    } else {
        String::new()
    };
    fs::write(&files.containerenv, containerenv).io("write", &files.containerenv)?;
    if let Some(other) = &request.network_of {
        // As Podman: the other container's files are this one's too, and it adds its names
        // to that /etc/hosts (127.0.0.1: they share the namespace), so pod members find each
        // other by name.
        let files = HostFiles {
            hosts: other.join("hosts"),
            resolv_conf: other.join("resolv.conf"),
            ..files
        };
        let names = if spec.uts == skiff_spec::NamespaceMode::Private {
            format!("{hostname} {name}")
        } else {
            name.to_string()
        };
        add_hosts_line(&files.hosts, &format!("127.0.0.1\t{names}\n"))?;
        return Ok(files);
    }
    let conf = request.conf;
    let mut hosts = if host_network {
        fs::read_to_string("/etc/hosts").unwrap_or_default()
    } else {
        // containers.conf's base_hosts_file first (its entries, comments dropped); the
        // container's own names unless that file names them already, as Podman.
        let base: String = conf
            .base_hosts_file
            .as_deref()
            .map(|path| fs::read_to_string(path).io("read", path))
            .transpose()?
            .unwrap_or_default()
            .lines()
            .map(|l| l.split('#').next().unwrap_or_default().trim())
            .filter(|l| !l.is_empty())
            .map(|l| format!("{l}\n"))
            .collect();
        let named = |n: &str| {
            base.lines()
                .any(|l| l.split_whitespace().skip(1).any(|word| word == n))
        };
        let own = if named(hostname) || named(name) {
            String::new()
        } else if request.own_entries.is_empty() {
            format!("127.0.1.1\t{hostname} {name}\n")
        } else {
            request.own_entries.clone()
        };
        format!(
            "{base}127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4\n::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6\n{own}"
        )
    };
    if let Some(ip) = &request.host_internal
        && !host_network
    {
        hosts.push_str(&format!("{ip}\thost.containers.internal\n"));
    }
    // --add-host NAME:IP (also NAME=IP)
    for entry in &spec.extra_hosts {
        if let Some((host, ip)) = entry.split_once([':', '=']) {
            hosts.push_str(&format!("{ip}\t{host}\n"));
        }
    }
    fs::write(&files.hosts, hosts).io("write", &files.hosts)?;
    let host_resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    // The container's flags, else containers.conf's, else its networks', else the host's.
    let or_conf =
        |own: &[String], conf: &[String]| if own.is_empty() { conf } else { own }.to_vec();
    let mut servers = or_conf(&spec.dns_servers, &conf.dns_servers);
    let mut search = or_conf(&spec.dns_search, &conf.dns_searches);
    let options = or_conf(&spec.dns_options, &conf.dns_options);
    if servers.is_empty() && !request.resolvers.is_empty() {
        servers = request.resolvers.clone();
        // The network's DNS server answers container names and forwards the rest.
        if search.is_empty() && request.container_names {
            search.push(skiff_network::dns::SEARCH_DOMAIN.to_string());
            search.extend(
                host_resolv
                    .lines()
                    .filter_map(|l| l.trim().strip_prefix("search"))
                    .flat_map(|l| l.split_whitespace().map(str::to_string)),
            );
        }
    }
    // As Podman writes it: search, then the nameservers, then options.
    let mut resolv = String::new();
    if !search.is_empty() {
        resolv.push_str(&format!("search {}\n", search.join(" ")));
    }
    let mut kept_options = Vec::new();
    for line in host_resolv.lines() {
        let trimmed = line.trim_start();
        let replaced = (trimmed.starts_with("nameserver") && !servers.is_empty())
            // `domain` and `search` exclude each other (the last one counts).
            || ((trimmed.starts_with("search") || trimmed.starts_with("domain"))
                && !search.is_empty())
            || (trimmed.starts_with("options") && !options.is_empty());
        // A loopback resolver of the host is unreachable from a private network namespace.
        let unreachable = !host_network && trimmed.starts_with("nameserver 127.");
        if replaced || unreachable {
            continue;
        }
        if trimmed.starts_with("options") {
            kept_options.push(line);
        } else {
            resolv.push_str(line);
            resolv.push('\n');
        }
    }
    for server in &servers {
        resolv.push_str(&format!("nameserver {server}\n"));
    }
    for line in kept_options {
        resolv.push_str(line);
        resolv.push('\n');
    }
    if !options.is_empty() {
        resolv.push_str(&format!("options {}\n", options.join(" ")));
    }
    fs::write(&files.resolv_conf, resolv).io("write", &files.resolv_conf)?;
    Ok(files)
}
/// Makes /etc/mtab a link to /proc/mounts where the image has /etc but no mtab, as Podman
/// does (tools that read it, `mount` and `df` among them, find the container's mounts). Made
/// through the root's descriptor: a planted /etc link cannot lead it out.
pub(crate) fn link_mtab(rootfs: &Path) -> Result<(), EngineError> {
    use std::os::fd::AsRawFd;
    let root = fs::File::open(rootfs).io("open", rootfs)?;
    let Ok(etc) = skiff_storage::beneath::open_in_root(
        &root,
        Path::new("/etc"),
        libc::O_PATH | libc::O_DIRECTORY,
        0,
    ) else {
        return Ok(());
    };
    match nix::unistd::symlinkat("/proc/mounts", Some(etc.as_raw_fd()), "mtab") {
        Ok(()) | Err(nix::Error::EEXIST) => Ok(()),
        // A read-only root filesystem keeps what the image has.
        Err(nix::Error::EROFS) => Ok(()),
        Err(source) => Err(EngineError::System {
            action: format!("link {}/etc/mtab", rootfs.display()),
            source,
        }),
    }
}

/// `--hostuser`: the host's /etc/passwd line of a user, by name or UID.
pub(crate) fn host_passwd_entry(user: &str) -> Result<String, EngineError> {
    let passwd = fs::read_to_string("/etc/passwd").io("read", "/etc/passwd")?;
    passwd_entry(&passwd, user).ok_or_else(|| {
        EngineError::InvalidArgument(format!(
            "--hostuser {user}: no such user in the host's /etc/passwd"
        ))
    })
}

fn passwd_entry(passwd: &str, user: &str) -> Option<String> {
    passwd
        .lines()
        .find(|line| {
            let mut fields = line.split(':');
            let name = fields.next();
            let uid = fields.nth(1);
            name == Some(user) || uid == Some(user)
        })
        .map(str::to_string)
}

/// The container's /etc/passwd with the `--hostuser` entries it lacks, written to `userdata`
/// (to bind over the image's): where, and its text. None without `--hostuser`.
pub(crate) fn passwd_with_host_users(
    userdata: &Path,
    rootfs: &Path,
    users: &[String],
) -> Result<Option<(std::path::PathBuf, String)>, EngineError> {
    if users.is_empty() {
        return Ok(None);
    }
    let mut passwd = skiff_spec::read_container_file(rootfs, "etc/passwd");
    for user in users {
        let entry = host_passwd_entry(user)?;
        let name = entry.split(':').next().unwrap_or_default();
        if passwd_entry(&passwd, name).is_none() {
            if !passwd.is_empty() && !passwd.ends_with('\n') {
                passwd.push('\n');
            }
            passwd.push_str(&entry);
            passwd.push('\n');
        }
    }
    let path = userdata.join("passwd");
    fs::write(&path, &passwd).io("write", &path)?;
    Ok(Some((path, passwd)))
}

#[cfg(test)]
mod tests {
    use super::passwd_entry;

    #[test]
    fn host_users_are_found_by_name_or_uid() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000::/home/web:/bin/sh\n";
        assert_eq!(
            passwd_entry(passwd, "web").as_deref(),
            Some("web:x:1000:1000::/home/web:/bin/sh")
        );
        assert_eq!(
            passwd_entry(passwd, "1000").as_deref(),
            Some("web:x:1000:1000::/home/web:/bin/sh")
        );
        assert!(passwd_entry(passwd, "x").is_none());
    }
}
