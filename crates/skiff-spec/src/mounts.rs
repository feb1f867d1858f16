//! `-v`/`--volume` and `--tmpfs` values, and the mounts every container gets.
use crate::SpecError;
use crate::container::MountSpec;

/// Whether `name` can name a volume (Podman's rule for names).
pub fn valid_volume_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `-v /host:/ctr[:OPTIONS]` (a bind mount), `-v NAME:/ctr[:OPTIONS]` (a named volume, made
/// when missing) or `-v /ctr` (an anonymous volume). Options: ro, rw, z, Z, bind, rbind,
/// nocopy (volumes), nosuid, nodev, noexec and propagations.
pub fn parse_volume(value: &str) -> Result<MountSpec, SpecError> {
    let bad = |why| SpecError::Volume(value.to_string(), why);
    let mut parts = value.splitn(3, ':');
    let first = parts.next().unwrap_or_default();
    let (source, destination, options) = match parts.next() {
        Some(destination) => (Some(first), destination, parts.next().unwrap_or_default()),
        None => (None, first, ""),
    };
    let named = source.filter(|s| !s.starts_with('/'));
    if let Some(name) = named
        && !valid_volume_name(name)
    {
        return Err(bad(
            "a volume name must be letters, digits, '_', '.' or '-', starting with a letter or digit",
        ));
    }
    if !destination.starts_with('/') {
        return Err(bad(
            "the destination must be an absolute path in the container",
        ));
    }
    let volume = source.is_none() || named.is_some();
    let mut parsed = vec!["rbind".to_string()];
    let mut mode = "rw";
    for option in options.split(',').filter(|o| !o.is_empty()) {
        match option {
            "ro" | "rw" => mode = option,
            // SELinux relabelling has no meaning without SELinux; accepted as Podman does.
            "z" | "Z" => {}
            "bind" | "rbind" => parsed[0] = option.to_string(),
            // The image's files are not copied into a new volume.
            "nocopy" | "copy" if volume => parsed.push(option.to_string()),
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
    Ok(match source {
        Some(source) if source.starts_with('/') => MountSpec::Bind {
            source: clean(source),
            destination: clean(destination),
            options: parsed,
        },
        _ => MountSpec::Volume {
            name: named.unwrap_or_default().to_string(),
            destination: clean(destination),
            options: parsed,
            anonymous: named.is_none(),
        },
    })
}

/// `--mount type=bind|volume|tmpfs,source=...,target=...[,ro][,...]`, as Podman reads it
/// (`src`, `dst` and `destination` too; `readonly`/`ro` and `rw`/`readwrite` take an optional
/// `=true|false`).
pub fn parse_mount(value: &str) -> Result<MountSpec, SpecError> {
    let bad = |why: String| SpecError::Option(format!("--mount {value:?}: {why}"));
    let (mut kind, mut source, mut target) = (None, None, None);
    // Unset: read-write, except for images.
    let mut read_only = None;
    let (mut propagation, mut nocopy, mut tmpfs) = (None, false, Vec::new());
    for field in value.split(',').filter(|f| !f.is_empty()) {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (field, None),
        };
        let flag = || match val {
            None | Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(bad(format!("{key}={other}: expected true or false"))),
        };
        match key {
            "type" => kind = val,
            "source" | "src" => source = val,
            "target" | "dst" | "destination" => target = val,
            "ro" | "readonly" => read_only = Some(flag()?),
            "rw" | "readwrite" => read_only = Some(!flag()?),
            "bind-propagation" => propagation = val,
            "volume-nocopy" | "nocopy" => nocopy = flag()?,
            "tmpfs-size" => tmpfs.push(format!("size={}", val.unwrap_or_default())),
            "tmpfs-mode" => tmpfs.push(format!("mode={}", val.unwrap_or_default())),
            "tmpcopyup" | "notmpcopyup" => tmpfs.push(key.to_string()),
            // SELinux relabelling and ownership changes: accepted as Podman does without them.
            "relabel" | "z" | "Z" | "U" | "bind-nonrecursive" | "consistency" => {}
            _ => return Err(bad(format!("unknown option {key:?}"))),
        }
    }
    let target = target.ok_or_else(|| bad("a target is required".into()))?;
    let mode = if read_only == Some(true) { "ro" } else { "rw" };
    Ok(match kind.unwrap_or("volume") {
        "bind" => {
            let source = source.ok_or_else(|| bad("a bind mount needs a source".into()))?;
            if !source.starts_with('/') {
                return Err(bad(
                    "the source of a bind mount must be an absolute path".into()
                ));
            }
            let mut options = vec![mode.to_string()];
            options.extend(propagation.map(str::to_string));
            parse_volume(&format!("{source}:{target}:{}", options.join(",")))?
        }
        "volume" => {
            let mut options = vec![mode.to_string()];
            if nocopy {
                options.push("nocopy".into());
            }
            match source {
                Some(name) => parse_volume(&format!("{name}:{target}:{}", options.join(",")))?,
                None => {
                    if !target.starts_with('/') {
                        return Err(bad("the target must be an absolute path".into()));
                    }
                    options.insert(0, "rbind".into());
                    MountSpec::Volume {
                        name: String::new(),
                        destination: clean(target),
                        options,
                        anonymous: true,
                    }
                }
            }
        }
        "tmpfs" => {
            tmpfs.push(mode.to_string());
            parse_tmpfs(&format!("{target}:{}", tmpfs.join(",")))?
        }
        "image" => {
            let source = source.ok_or_else(|| bad("an image mount needs a source".into()))?;
            if !target.starts_with('/') {
                return Err(bad("the target must be an absolute path".into()));
            }
            MountSpec::Image {
                source: source.to_string(),
                image: String::new(),
                destination: clean(target),
                read_write: read_only == Some(false),
            }
        }
        other => {
            return Err(bad(format!(
                "type {other:?} is not supported (bind, volume, tmpfs, image)"
            )));
        }
    })
}

/// `--tmpfs /dst[:options]`, with Podman's defaults rw,noexec,nosuid,nodev and `tmpcopyup`
/// (the tmpfs starts with what the image has there; `notmpcopyup`: empty).
pub fn parse_tmpfs(value: &str) -> Result<MountSpec, SpecError> {
    let (destination, options) = value.split_once(':').unwrap_or((value, ""));
    if !destination.starts_with('/') {
        return Err(SpecError::Tmpfs(
            value.to_string(),
            "the destination must be an absolute path",
        ));
    }
    let mut parsed: Vec<String> = ["rw", "noexec", "nosuid", "nodev", "tmpcopyup"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for option in options.split(',').filter(|o| !o.is_empty()) {
        if option == "notmpcopyup" {
            parsed.retain(|o| o != "tmpcopyup");
            continue;
        }
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
    fn mount_flags_as_podman() {
        assert_eq!(
            parse_mount("type=bind,src=/h,dst=/c,ro=true,bind-propagation=rslave").unwrap(),
            MountSpec::Bind {
                source: "/h".into(),
                destination: "/c".into(),
                options: vec!["rbind".into(), "rslave".into(), "ro".into()],
            }
        );
        assert!(matches!(
            parse_mount("type=volume,source=data,target=/d,readonly").unwrap(),
            MountSpec::Volume { ref name, anonymous: false, ref options, .. }
                if name == "data" && options.contains(&"ro".to_string())
        ));
        assert!(matches!(
            parse_mount("type=volume,target=/d,volume-nocopy").unwrap(),
            MountSpec::Volume { anonymous: true, ref options, .. }
                if options.contains(&"nocopy".to_string())
        ));
        assert!(matches!(
            parse_mount("type=tmpfs,dst=/t,tmpfs-size=1m").unwrap(),
            MountSpec::Tmpfs { ref options, .. } if options.contains(&"size=1m".to_string())
        ));
        for bad in [
            "type=bind,dst=/c",
            "type=bind,src=rel,dst=/c",
            "type=glob,src=x,dst=/i",
            "type=volume,src=x",
            "type=bind,src=/h,dst=/c,ro=maybe",
            "type=bind,src=/h,dst=/c,color=red",
        ] {
            assert!(parse_mount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn image_mounts_are_read_only_unless_asked() {
        let image = |text: &str| match parse_mount(text).unwrap() {
            MountSpec::Image {
                source,
                destination,
                read_write,
                ..
            } => (source, destination, read_write),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            image("type=image,src=busybox,dst=/img/"),
            ("busybox".into(), "/img".into(), false)
        );
        assert!(image("type=image,source=b,target=/i,rw=true").2);
        assert!(image("type=image,source=b,target=/i,readwrite").2);
        assert!(!image("type=image,source=b,target=/i,rw=false").2);
        assert!(parse_mount("type=image,dst=/i").is_err());
        assert!(parse_mount("type=image,src=b,dst=rel").is_err());
        // Other types stay read-write by default.
        let MountSpec::Bind { options, .. } = parse_mount("type=bind,src=/h,dst=/c").unwrap()
        else {
            panic!()
        };
        assert!(options.contains(&"rw".to_string()), "{options:?}");
    }

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
        assert_eq!(
            parse_volume("named:/data:ro,nocopy").unwrap(),
            MountSpec::Volume {
                name: "named".into(),
                destination: "/data".into(),
                options: vec!["rbind".into(), "nocopy".into(), "ro".into()],
                anonymous: false,
            }
        );
        assert!(matches!(
            parse_volume("/a").unwrap(),
            MountSpec::Volume { anonymous: true, ref name, .. } if name.is_empty()
        ));
        assert!(parse_volume("-bad:/data").is_err());
        assert!(parse_volume("a/b:/data").is_err());
        assert!(parse_volume("/a:/b:nocopy").is_err());
        assert!(parse_volume("rel").is_err());
        assert!(parse_volume("/a:rel").is_err());
        assert!(parse_volume("/a:/b:bogus").is_err());
    }

    #[test]
    fn tmpfs_options_override_defaults() {
        let MountSpec::Tmpfs { options, .. } = parse_tmpfs("/run:exec,size=1m").unwrap() else {
            panic!()
        };
        assert_eq!(
            options,
            vec!["rw", "nosuid", "nodev", "tmpcopyup", "exec", "size=1m"]
        );
        let MountSpec::Tmpfs { options, .. } = parse_tmpfs("/run:notmpcopyup").unwrap() else {
            panic!()
        };
        assert_eq!(options, vec!["rw", "noexec", "nosuid", "nodev"]);
        let MountSpec::Tmpfs { options, .. } =
            parse_mount("type=tmpfs,dst=/t,notmpcopyup").unwrap()
        else {
            panic!()
        };
        assert!(
            !options.iter().any(|o| o.contains("tmpcopyup")),
            "{options:?}"
        );
    }
}
