//! Capabilities: Podman's default set and `--cap-add`/`--cap-drop` arithmetic.

/// Podman's 11 default capabilities (containers.conf `default_capabilities`).
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// Every capability the kernel knows (up to CAP_CHECKPOINT_RESTORE), for `--privileged` and ALL,
/// in the kernel's numbering (index = capability number).
pub const ALL_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// `net_admin`, `NET_ADMIN`, `cap_net_admin` → `CAP_NET_ADMIN`; `all` → `ALL`.
pub fn normalize_capability(name: &str) -> Result<String, crate::SpecError> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(upper);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if ALL_CAPABILITIES.contains(&full.as_str()) {
        Ok(full)
    } else {
        Err(crate::SpecError::Capability(name.to_string()))
    }
}

/// The container's capability set: defaults (or all when privileged), plus adds, minus drops.
pub fn capability_set(
    privileged: bool,
    add: &[String],
    drop: &[String],
) -> Result<Vec<String>, crate::SpecError> {
    let add = add
        .iter()
        .map(|c| normalize_capability(c))
        .collect::<Result<Vec<_>, _>>()?;
    let drop = drop
        .iter()
        .map(|c| normalize_capability(c))
        .collect::<Result<Vec<_>, _>>()?;
    let mut set: Vec<String> = if privileged || add.iter().any(|c| c == "ALL") {
        ALL_CAPABILITIES.iter().map(|c| c.to_string()).collect()
    } else {
        DEFAULT_CAPABILITIES.iter().map(|c| c.to_string()).collect()
    };
    if drop.iter().any(|c| c == "ALL") {
        set.clear();
    }
    for cap in add.into_iter().filter(|c| c != "ALL") {
        if !set.contains(&cap) {
            set.push(cap);
        }
    }
    set.retain(|c| !drop.contains(c));
    Ok(set)
}

/// The capabilities this process may hand on: its bounding set (/proc/self/status CapBnd).
/// A container cannot get more; `--privileged` means "all of these", as in Podman.
pub fn current_bounding_set() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapBnd:").map(|v| v.trim().to_string()))
        })
        .and_then(|hex| u64::from_str_radix(&hex, 16).ok())
        .unwrap_or(u64::MAX)
}

/// Keeps the capabilities whose bit is set in `mask`.
pub fn clamp_to(set: Vec<String>, mask: u64) -> Vec<String> {
    set.into_iter()
        .filter(|cap| {
            ALL_CAPABILITIES
                .iter()
                .position(|c| c == cap)
                .is_none_or(|bit| bit >= 64 || mask & (1 << bit) != 0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_drop_work_on_the_podman_defaults() {
        let set = capability_set(false, &["net_admin".into()], &["CHOWN".into()]).unwrap();
        assert!(set.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!set.contains(&"CAP_CHOWN".to_string()));
        assert_eq!(set.len(), DEFAULT_CAPABILITIES.len());
        assert!(
            capability_set(false, &[], &["all".into()])
                .unwrap()
                .is_empty()
        );
        assert!(capability_set(false, &["bogus".into()], &[]).is_err());
    }

    #[test]
    fn privileged_is_clamped_to_what_we_hold() {
        let all = capability_set(true, &[], &[]).unwrap();
        let without_sys_resource = !(1u64 << 24);
        let clamped = clamp_to(all.clone(), without_sys_resource);
        assert_eq!(clamped.len(), all.len() - 1);
        assert!(!clamped.contains(&"CAP_SYS_RESOURCE".to_string()));
    }
}
