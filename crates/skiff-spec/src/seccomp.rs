//! Seccomp: the default profile (Docker/Podman's allowlist, in their JSON format, with calls that
//! need a capability allowed only when the container has it) and the conversion of such a
//! profile into the OCI `linux.seccomp` section for this machine's architecture.
use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::SpecError;

/// The default profile, in the Docker/Podman profile format (`archMap`, `includes`, `excludes`).
/// Unknown syscalls fail with ENOSYS as in Podman, so programs fall back to older calls;
/// calls gated on a missing capability fail with EPERM. Unlike Podman's, the x86-64 filter
/// leaves out the x32 ABI (off by default in Debian's kernels): its rules cost ~4 ms of
/// filter compilation on every start, and a process using x32 is refused (stricter).
pub const DEFAULT_PROFILE: &str = include_str!("seccomp_default.json");

/// A profile as read: Docker's format (`archMap`, rules with `includes`/`excludes`) or OCI's
/// (`architectures`). Borrowed from the text where it can be: the default profile is converted
/// on every container start.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile<'a> {
    #[serde(borrow)]
    default_action: Option<Cow<'a, str>>,
    default_errno_ret: Option<Value>,
    #[serde(borrow)]
    architectures: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow)]
    arch_map: Option<Vec<ArchEntry<'a>>>,
    #[serde(borrow, default)]
    syscalls: Vec<Rule<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchEntry<'a> {
    #[serde(borrow)]
    architecture: Cow<'a, str>,
    #[serde(borrow, default)]
    sub_architectures: Vec<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    #[serde(borrow, default)]
    names: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    action: Option<Cow<'a, str>>,
    errno_ret: Option<Value>,
    args: Option<Value>,
    #[serde(borrow, default)]
    includes: Condition<'a>,
    #[serde(borrow, default)]
    excludes: Condition<'a>,
}

/// The capabilities and architectures a rule is for (`includes`) or not for (`excludes`).
#[derive(Deserialize, Default)]
struct Condition<'a> {
    #[serde(borrow, default)]
    caps: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    arches: Vec<Cow<'a, str>>,
}

/// Converts a Docker-format or OCI-format profile into the OCI `linux.seccomp` object, keeping
/// the rules that apply to `capabilities` and to this machine's architecture.
pub fn profile_to_oci(profile: &str, capabilities: &[String]) -> Result<Value, SpecError> {
    let profile: Profile =
        serde_json::from_str(profile).map_err(|e| SpecError::Seccomp(e.to_string()))?;
    let default_action = profile
        .default_action
        .ok_or_else(|| SpecError::Seccomp("defaultAction is missing".into()))?;
    let (native, arch_name) = native_architecture();
    let architectures: Vec<Value> = match (profile.architectures, profile.arch_map) {
        (Some(list), _) => list.into_iter().map(|a| json!(a)).collect(),
        (None, Some(map)) => match map.into_iter().find(|entry| entry.architecture == native) {
            Some(entry) => std::iter::once(json!(native))
                .chain(entry.sub_architectures.into_iter().map(|a| json!(a)))
                .collect(),
            None => vec![json!(native)],
        },
        (None, None) => vec![],
    };
    let has = |cap: &Cow<str>| capabilities.iter().any(|c| c == cap);
    let syscalls: Vec<Value> = profile
        .syscalls
        .into_iter()
        .filter(|rule| {
            rule.includes.caps.iter().all(has)
                && (rule.includes.arches.is_empty()
                    || rule.includes.arches.iter().any(|a| a == arch_name))
                && !rule.excludes.caps.iter().any(has)
                && !rule.excludes.arches.iter().any(|a| a == arch_name)
        })
        .filter_map(|rule| {
            let names: Vec<Value> = rule
                .names
                .into_iter()
                .chain(rule.name)
                .map(|n| Value::String(n.into_owned()))
                .collect();
            if names.is_empty() {
                return None;
            }
            let action = rule.action.unwrap_or(Cow::Borrowed("SCMP_ACT_ALLOW"));
            let mut out = json!({"names": names, "action": action});
            for (key, value) in [("errnoRet", rule.errno_ret), ("args", rule.args)] {
                if let Some(value) = value.filter(|v| !v.is_null()) {
                    out[key] = value;
                }
            }
            Some(out)
        })
        .collect();
    let mut out = json!({"defaultAction": default_action, "architectures": architectures, "syscalls": syscalls});
    if let Some(errno) = profile.default_errno_ret {
        out["defaultErrnoRet"] = errno;
    }
    Ok(out)
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
    fn an_oci_profile_keeps_its_architectures_arguments_and_errno() {
        let profile = r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
            "comment": "ignored", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
            {"name": "mkdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}, {"names": []}]}"#;
        let oci = profile_to_oci(profile, &[]).unwrap();
        assert_eq!(oci["architectures"], json!(["SCMP_ARCH_X86_64"]));
        assert_eq!(oci["syscalls"].as_array().unwrap().len(), 2);
        assert_eq!(oci["syscalls"][1]["names"], json!(["mkdir"]));
        assert_eq!(oci["syscalls"][1]["errnoRet"], 1);
        assert_eq!(oci["syscalls"][1]["args"][0]["op"], "SCMP_CMP_EQ");
        assert!(oci.get("defaultErrnoRet").is_none());
    }

    #[test]
    fn a_profile_without_default_action_is_refused() {
        assert!(profile_to_oci("{}", &[]).is_err());
        assert!(profile_to_oci("not json", &[]).is_err());
    }
}
