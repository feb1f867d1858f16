//! Seccomp: the default profile (Docker/Podman's allowlist, in their JSON format, with calls that
//! need a capability allowed only when the container has it) and the conversion of such a
//! profile into the OCI `linux.seccomp` section for this machine's architecture.
use serde_json::{Value, json};

use crate::SpecError;

/// The default profile, in the Docker/Podman profile format (`archMap`, `includes`, `excludes`).
/// Unknown syscalls fail with ENOSYS as in Podman, so programs fall back to older calls;
/// calls gated on a missing capability fail with EPERM. Unlike Podman's, the x86-64 filter
/// leaves out the x32 ABI (off by default in Debian's kernels): its rules cost ~4 ms of
/// filter compilation on every start, and a process using x32 is refused (stricter).
pub const DEFAULT_PROFILE: &str = include_str!("seccomp_default.json");

/// Converts a Docker-format or OCI-format profile into the OCI `linux.seccomp` object, keeping
/// the rules that apply to `capabilities` and to this machine's architecture.
pub fn profile_to_oci(profile: &str, capabilities: &[String]) -> Result<Value, SpecError> {
    let profile: Value =
        serde_json::from_str(profile).map_err(|e| SpecError::Seccomp(e.to_string()))?;
    let default_action = profile
        .get("defaultAction")
        .and_then(Value::as_str)
        .ok_or_else(|| SpecError::Seccomp("defaultAction is missing".into()))?;
    let (native, arch_name) = native_architecture();
    let architectures: Vec<Value> = match (profile.get("architectures"), profile.get("archMap")) {
        (Some(list @ Value::Array(_)), _) => list.as_array().cloned().unwrap_or_default(),
        (_, Some(Value::Array(map))) => map
            .iter()
            .find(|entry| entry.get("architecture").and_then(Value::as_str) == Some(native))
            .map(|entry| {
                let mut list = vec![json!(native)];
                if let Some(Value::Array(sub)) = entry.get("subArchitectures") {
                    list.extend(sub.iter().cloned());
                }
                list
            })
            .unwrap_or_else(|| vec![json!(native)]),
        _ => vec![],
    };
    let mut syscalls = Vec::new();
    for rule in profile
        .get("syscalls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !applies(rule, capabilities, arch_name) {
            continue;
        }
        let mut names: Vec<Value> = rule
            .get("names")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if let Some(name) = rule.get("name") {
            names.push(name.clone());
        }
        if names.is_empty() {
            continue;
        }
        let mut out = json!({"names": names, "action": rule.get("action").cloned().unwrap_or(json!("SCMP_ACT_ALLOW"))});
        for key in ["errnoRet", "args"] {
            if let Some(value) = rule.get(key).filter(|v| !v.is_null()) {
                out[key] = value.clone();
            }
        }
        syscalls.push(out);
    }
    let mut out = json!({"defaultAction": default_action, "architectures": architectures, "syscalls": syscalls});
    if let Some(errno) = profile.get("defaultErrnoRet") {
        out["defaultErrnoRet"] = errno.clone();
    }
    Ok(out)
}

fn applies(rule: &Value, capabilities: &[String], arch: &str) -> bool {
    let list = |section: &str, key: &str| -> Vec<String> {
        rule.get(section)
            .and_then(|s| s.get(key))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let has = |cap: &String| capabilities.contains(cap);
    let included_caps = list("includes", "caps");
    let included_arches = list("includes", "arches");
    let excluded_caps = list("excludes", "caps");
    let excluded_arches = list("excludes", "arches");
    included_caps.iter().all(has)
        && (included_arches.is_empty() || included_arches.iter().any(|a| a == arch))
        && !excluded_caps.iter().any(has)
        && !excluded_arches.iter().any(|a| a == arch)
}

/// (libseccomp name, Go-style name) of this machine.
fn native_architecture() -> (&'static str, &'static str) {
    match std::env::consts::ARCH {
        "aarch64" => ("SCMP_ARCH_AARCH64", "arm64"),
        "x86" => ("SCMP_ARCH_X86", "x86"),
        _ => ("SCMP_ARCH_X86_64", "amd64"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(seccomp: &Value, action: &str) -> Vec<String> {
        seccomp["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == action && r.get("args").is_none())
            .flat_map(|r| {
                r["names"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_str().unwrap().to_string())
            })
            .collect()
    }

    #[test]
    fn default_profile_allows_unshare_only_with_sys_admin() {
        let plain = profile_to_oci(DEFAULT_PROFILE, &["CAP_CHOWN".into()]).unwrap();
        assert!(!names(&plain, "SCMP_ACT_ALLOW").contains(&"unshare".into()));
        assert!(names(&plain, "SCMP_ACT_ERRNO").contains(&"unshare".into()));
        assert!(names(&plain, "SCMP_ACT_ALLOW").contains(&"read".into()));
        let admin = profile_to_oci(DEFAULT_PROFILE, &["CAP_SYS_ADMIN".into()]).unwrap();
        assert!(names(&admin, "SCMP_ACT_ALLOW").contains(&"unshare".into()));
        assert_eq!(plain["defaultErrnoRet"], 38);
        assert!(!plain["architectures"].as_array().unwrap().is_empty());
    }

    #[test]
    fn a_profile_without_default_action_is_refused() {
        assert!(profile_to_oci("{}", &[]).is_err());
        assert!(profile_to_oci("not json", &[]).is_err());
    }
}
