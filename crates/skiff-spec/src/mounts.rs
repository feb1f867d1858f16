//! `-v`/`--volume` and `--tmpfs` values, and the mounts every container gets.
use crate::SpecError;
use crate::container::MountSpec;

/// `-v /host:/ctr[:ro|rw|z|Z|...]`. Only bind mounts of absolute host paths for now.
pub fn parse_volume(value: &str) -> Result<MountSpec, SpecError> {
    let bad = |why| SpecError::Volume(value.to_string(), why);
    let mut parts = value.splitn(3, ':');
    let source = parts.next().unwrap_or_default();
    let destination = parts
        .next()
        .ok_or_else(|| bad("expected SOURCE:DESTINATION[:OPTIONS]"))?;
    let options = parts.next().unwrap_or_default();
    if !source.starts_with('/') {
        return Err(bad(
            "named volumes are not supported yet; the source must be an absolute host path",
        ));
    }
    if !destination.starts_with('/') {
        return Err(bad(
            "the destination must be an absolute path in the container",
        ));
    }
    let mut parsed = vec!["rbind".to_string()];
    let mut mode = "rw";
    for option in options.split(',').filter(|o| !o.is_empty()) {
        match option {
            "ro" | "rw" => mode = option,
            // SELinux relabelling has no meaning without SELinux; accepted as Podman does.
            "z" | "Z" => {}
            "bind" | "rbind" => parsed[0] = option.to_string(),
            "nosuid" | "suid" | "nodev" | "dev" | "noexec" | "exec" | "private" | "rprivate"
            | "shared" | "rshared" | "slave" | "rslave" => parsed.push(option.to_string()),
            _ => {
                return Err(bad(
                    "unknown option (expected ro, rw, z, Z, bind, rbind, nosuid, nodev, noexec, or a propagation)",
                ));
            }
        }
    }
    parsed.push(mode.to_string());
    Ok(MountSpec::Bind {
        source: clean(source),
        destination: clean(destination),
        options: parsed,
    })
}

/// `--tmpfs /dst[:options]`, with Podman's defaults rw,noexec,nosuid,nodev.
pub fn parse_tmpfs(value: &str) -> Result<MountSpec, SpecError> {
    let (destination, options) = value.split_once(':').unwrap_or((value, ""));
    if !destination.starts_with('/') {
        return Err(SpecError::Tmpfs(
            value.to_string(),
            "the destination must be an absolute path",
        ));
    }
    let mut parsed: Vec<String> = ["rw", "noexec", "nosuid", "nodev"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for option in options.split(',').filter(|o| !o.is_empty()) {
        let key = option.split('=').next().unwrap_or_default();
        let opposite = match key {
            "ro" => Some("rw"),
            "rw" => Some("ro"),
            "exec" => Some("noexec"),
            "suid" => Some("nosuid"),
            "dev" => Some("nodev"),
            _ => None,
        };
        if let Some(opposite) = opposite {
            parsed.retain(|o| o != opposite);
        }
        if !parsed.iter().any(|o| o == option) {
            parsed.push(option.to_string());
        }
    }
    Ok(MountSpec::Tmpfs {
        destination: clean(destination),
        options: parsed,
    })
}

fn clean(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.to_string()
    }
}

/// Podman's masked paths: bind-mounted over with /dev/null or an empty read-only tmpfs.
pub const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/interrupts",
    "/sys/firmware",
    "/sys/fs/selinux",
    "/sys/dev/block",
    "/sys/devices/virtual/powercap",
];

/// Podman's read-only paths.
pub const READONLY_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_options() {
        let MountSpec::Bind {
            source,
            destination,
            options,
        } = parse_volume("/tmp/x/:/data:ro,z").unwrap()
        else {
            panic!()
        };
        assert_eq!((source.as_str(), destination.as_str()), ("/tmp/x", "/data"));
        assert_eq!(options, vec!["rbind", "ro"]);
        assert!(parse_volume("named:/data").is_err());
        assert!(parse_volume("/a").is_err());
        assert!(parse_volume("/a:rel").is_err());
        assert!(parse_volume("/a:/b:bogus").is_err());
    }

    #[test]
    fn tmpfs_options_override_defaults() {
        let MountSpec::Tmpfs { options, .. } = parse_tmpfs("/run:exec,size=1m").unwrap() else {
            panic!()
        };
        assert_eq!(options, vec!["rw", "nosuid", "nodev", "exec", "size=1m"]);
    }
}
