//! The keys the Compose Specification's JSON schema allows (its `additionalProperties:
//! false` objects) and the shapes of the keys that must be lists or mappings: a file that
//! breaks them is refused with one line naming the file and where in it, as docker compose
//! reports it (`validating FILE: services.web additional properties 'foo' not allowed`).
//! `x-` extension keys are allowed wherever the specification allows them. Keys the
//! specification knows but skiff does not act on are warned of by the loader, not here.
use yaml_serde::{Mapping, Value};

const TOP: &[&str] = &[
    "version", "name", "include", "services", "networks", "volumes", "secrets", "configs", "models",
];

const SERVICE: &[&str] = &[
    "develop",
    "deploy",
    "annotations",
    "attach",
    "build",
    "blkio_config",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_shares",
    "cpu_quota",
    "cpu_period",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpus",
    "cpuset",
    "credential_spec",
    "depends_on",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "label_file",
    "environment",
    "expose",
    "extends",
    "provider",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "isolation",
    "labels",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "network_mode",
    "models",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "post_start",
    "pre_stop",
    "privileged",
    "profiles",
    "pull_policy",
    "pull_refresh_after",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "security_opt",
    "shm_size",
    "secrets",
    "sysctls",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "tmpfs",
    "tty",
    "ulimits",
    "use_api_socket",
    "user",
    "uts",
    "userns_mode",
    "volumes",
    "volumes_from",
    "working_dir",
];

const BUILD: &[&str] = &[
    "context",
    "dockerfile",
    "dockerfile_inline",
    "entitlements",
    "args",
    "ssh",
    "labels",
    "cache_from",
    "cache_to",
    "no_cache",
    "additional_contexts",
    "network",
    "pull",
    "target",
    "shm_size",
    "extra_hosts",
    "isolation",
    "privileged",
    "secrets",
    "tags",
    "ulimits",
    "platforms",
];

const HEALTHCHECK: &[&str] = &[
    "disable",
    "interval",
    "retries",
    "test",
    "timeout",
    "start_period",
    "start_interval",
];

const DEPLOY: &[&str] = &[
    "mode",
    "endpoint_mode",
    "replicas",
    "labels",
    "rollback_config",
    "update_config",
    "resources",
    "restart_policy",
    "placement",
];

const LOGGING: &[&str] = &["driver", "options"];

const LONG_PORT: &[&str] = &[
    "name",
    "mode",
    "host_ip",
    "target",
    "published",
    "protocol",
    "app_protocol",
];

const LONG_VOLUME: &[&str] = &[
    "type",
    "source",
    "target",
    "read_only",
    "consistency",
    "bind",
    "volume",
    "tmpfs",
    "image",
];

const SERVICE_NETWORK: &[&str] = &[
    "aliases",
    "interface_name",
    "ipv4_address",
    "ipv6_address",
    "link_local_ips",
    "mac_address",
    "driver_opts",
    "priority",
    "gw_priority",
];

const DEPENDENCY: &[&str] = &["restart", "required", "condition"];

const NETWORK: &[&str] = &[
    "name",
    "driver",
    "driver_opts",
    "ipam",
    "external",
    "internal",
    "enable_ipv4",
    "enable_ipv6",
    "attachable",
    "labels",
];

const VOLUME: &[&str] = &["name", "driver", "driver_opts", "external", "labels"];

/// Service keys whose value must be a list.
const SERVICE_LISTS: &[&str] = &[
    "cap_add",
    "cap_drop",
    "devices",
    "dns_opt",
    "expose",
    "external_links",
    "group_add",
    "links",
    "ports",
    "profiles",
    "security_opt",
    "volumes",
    "volumes_from",
];

/// Service keys whose value must be a mapping.
const SERVICE_MAPPINGS: &[&str] = &["deploy", "healthcheck", "logging", "ulimits"];

/// Checks one file's contents (after interpolation); the error names the key's place.
pub fn validate(value: &Value) -> Result<(), String> {
    let top = mapping(value, "(root)")?;
    keys(top, TOP, "")?;
    if let Some(services) = top.get("services") {
        for (name, service) in mapping(services, "services")? {
            let name = text(name);
            let at = format!("services.{name}");
            if service.is_null() {
                continue;
            }
            let service = mapping(service, &at)?;
            keys(service, SERVICE, &at)?;
            check_service(service, &at)?;
        }
    }
    for (section, allowed) in [("networks", NETWORK), ("volumes", VOLUME)] {
        if let Some(definitions) = top.get(section) {
            for (name, definition) in mapping(definitions, section)? {
                if !definition.is_null() {
                    let at = format!("{section}.{}", text(name));
                    keys(mapping(definition, &at)?, allowed, &at)?;
                }
            }
        }
    }
    Ok(())
}

fn check_service(service: &Mapping, at: &str) -> Result<(), String> {
    for key in SERVICE_LISTS {
        if let Some(value) = service.get(*key)
            && !value.is_sequence()
        {
            return Err(format!("{at}.{key} must be a list"));
        }
    }
    for key in SERVICE_MAPPINGS {
        if let Some(value) = service.get(*key)
            && !value.is_null()
        {
            mapping(value, &format!("{at}.{key}"))?;
        }
    }
    for (key, allowed) in [
        ("healthcheck", HEALTHCHECK),
        ("deploy", DEPLOY),
        ("logging", LOGGING),
    ] {
        if let Some(Value::Mapping(inner)) = service.get(key) {
            keys(inner, allowed, &format!("{at}.{key}"))?;
        }
    }
    if let Some(Value::Mapping(build)) = service.get("build") {
        keys(build, BUILD, &format!("{at}.build"))?;
    }
    for (key, allowed) in [("ports", LONG_PORT), ("volumes", LONG_VOLUME)] {
        if let Some(Value::Sequence(items)) = service.get(key) {
            for (index, item) in items.iter().enumerate() {
                if let Value::Mapping(long) = item {
                    keys(long, allowed, &format!("{at}.{key}.{index}"))?;
                }
            }
        }
    }
    for (key, allowed) in [("networks", SERVICE_NETWORK), ("depends_on", DEPENDENCY)] {
        if let Some(Value::Mapping(entries)) = service.get(key) {
            for (name, entry) in entries {
                if let Value::Mapping(entry) = entry {
                    keys(entry, allowed, &format!("{at}.{key}.{}", text(name)))?;
                }
            }
        }
    }
    Ok(())
}

fn mapping<'a>(value: &'a Value, at: &str) -> Result<&'a Mapping, String> {
    value
        .as_mapping()
        .ok_or_else(|| format!("{at} must be a mapping"))
}

/// Refuses a key outside `allowed` (`x-` keys are extensions, allowed).
fn keys(mapping: &Mapping, allowed: &[&str], at: &str) -> Result<(), String> {
    for key in mapping.keys() {
        let key = text(key);
        if !key.starts_with("x-") && !allowed.contains(&key.as_str()) {
            return Err(if at.is_empty() {
                format!("additional properties '{key}' not allowed")
            } else {
                format!("{at} additional properties '{key}' not allowed")
            });
        }
    }
    Ok(())
}

fn text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => yaml_serde::to_string(other)
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(yaml: &str) -> Result<(), String> {
        validate(&yaml_serde::from_str(yaml).unwrap())
    }

    #[test]
    fn unknown_keys_and_shapes_are_named_where_they_are() {
        assert!(check("services:\n  web:\n    image: x\n    x-note: 1\nx-top: 2\n").is_ok());
        assert_eq!(
            check("services:\n  web:\n    image: x\n    imgae: y\n").unwrap_err(),
            "services.web additional properties 'imgae' not allowed"
        );
        assert_eq!(
            check("services: {}\nservice: {}\n").unwrap_err(),
            "additional properties 'service' not allowed"
        );
        assert_eq!(
            check("services:\n  web:\n    ports: 80\n").unwrap_err(),
            "services.web.ports must be a list"
        );
        assert_eq!(
            check("services:\n  web:\n    ports: [{target: 80, publish: 8080}]\n").unwrap_err(),
            "services.web.ports.0 additional properties 'publish' not allowed"
        );
        assert_eq!(
            check(
                "services:\n  web:\n    depends_on: {db: {condition: service_started, wait: 1}}\n"
            )
            .unwrap_err(),
            "services.web.depends_on.db additional properties 'wait' not allowed"
        );
        assert_eq!(
            check("services:\n  web: 3\n").unwrap_err(),
            "services.web must be a mapping"
        );
        assert_eq!(
            check("services: {}\nvolumes:\n  data: {drivr: local}\n").unwrap_err(),
            "volumes.data additional properties 'drivr' not allowed"
        );
    }
}
