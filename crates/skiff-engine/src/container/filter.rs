//! `ps --filter KEY=VALUE`, as Podman: the same key given twice matches either value, different
//! keys must all match. Names and IDs match as unanchored patterns (a plain name matches any
//! name containing it, as Podman's regular expressions do for plain words).
use std::collections::BTreeMap;

use super::report::ContainerReport;
use crate::error::EngineError;

/// `KEY=VALUE` filters grouped by key, refusing keys not in `keys`.
pub(crate) fn parse_filters(
    filters: &[String],
    keys: &[&str],
) -> Result<BTreeMap<String, Vec<String>>, EngineError> {
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for filter in filters {
        let (key, value) = filter.split_once('=').ok_or_else(|| {
            EngineError::InvalidArgument(format!("invalid filter {filter:?}: expected KEY=VALUE"))
        })?;
        if !keys.contains(&key) {
            return Err(EngineError::InvalidArgument(format!(
                "invalid filter {key:?}: supported filters are {}",
                keys.join(", ")
            )));
        }
        by_key
            .entry(key.to_string())
            .or_default()
            .push(value.to_string());
    }
    Ok(by_key)
}

/// `label=KEY` or `label=KEY=VALUE` against an object's labels.
pub(crate) fn labels_match(labels: &BTreeMap<String, String>, filter: &str) -> bool {
    match filter.split_once('=') {
        Some((key, value)) => labels.get(key).is_some_and(|l| l == value),
        None => labels.contains_key(filter),
    }
}

#[derive(Debug, Default, Clone)]
pub struct ContainerFilter {
    by_key: BTreeMap<String, Vec<String>>,
}

const KEYS: &[&str] = &[
    "id",
    "name",
    "label",
    "status",
    "exited",
    "ancestor",
    "restart-policy",
    "pod",
];
const RESTART_POLICIES: &[&str] = &["none", "no", "always", "on-failure", "unless-stopped"];
const STATUSES: &[&str] = &[
    "created", "running", "exited", "paused", "stopped", "unknown",
];

impl ContainerFilter {
    /// Parses `--filter` values such as `status=exited`, `label=app=web`, `name=db`.
    pub fn parse(filters: &[String]) -> Result<Self, EngineError> {
        let by_key = parse_filters(filters, KEYS)?;
        for value in by_key.get("status").into_iter().flatten() {
            if !STATUSES.contains(&value.as_str()) {
                return Err(EngineError::InvalidArgument(format!(
                    "invalid status {value:?}: expected one of {}",
                    STATUSES.join(", ")
                )));
            }
        }
        for value in by_key.get("restart-policy").into_iter().flatten() {
            if !RESTART_POLICIES.contains(&value.as_str()) {
                // Podman's words.
                return Err(EngineError::InvalidArgument(format!(
                    "{value} invalid restart policy"
                )));
            }
        }
        for value in by_key.get("exited").into_iter().flatten() {
            if value.parse::<i32>().is_err() {
                return Err(EngineError::InvalidArgument(format!(
                    "invalid exited filter {value:?}: expected an exit code"
                )));
            }
        }
        Ok(Self { by_key })
    }

    /// Whether the filter asks about containers that are not running (so `ps` looks at all).
    pub fn wants_stopped(&self) -> bool {
        self.by_key.contains_key("exited")
            || self
                .by_key
                .get("status")
                .is_some_and(|s| s.iter().any(|s| s != "running"))
    }

    /// Values of one key are alternatives, except labels: every label given must match (as
    /// Podman's MatchLabelFilters and Docker).
    pub fn matches(&self, container: &ContainerReport) -> bool {
        self.by_key.iter().all(|(key, values)| {
            let mut each = values.iter();
            let one = |value: &String| matches_one(container, key, value);
            if key == "label" {
                each.all(one)
            } else {
                each.any(one)
            }
        })
    }
}

fn matches_one(container: &ContainerReport, key: &str, value: &str) -> bool {
    let record = &container.record;
    match key {
        "id" => record.id.starts_with(value),
        "name" => record.name.contains(value),
        "label" => labels_match(&record.spec.labels, value),
        "status" => match value {
            "stopped" => container.state.as_str() == "exited",
            other => container.state.as_str() == other,
        },
        "exited" => container.state.as_str() == "exited" && value.parse() == Ok(record.exit_code),
        "pod" => {
            !value.is_empty()
                && (container.pod_name == value
                    || record
                        .spec
                        .pod
                        .as_deref()
                        .is_some_and(|id| id.starts_with(value)))
        }
        "restart-policy" => {
            let policy = record.spec.restart.name();
            policy == value || (value == "none" && policy == "no")
        }
        "ancestor" => {
            record
                .image_id
                .starts_with(value.trim_start_matches("sha256:"))
                || record.image_name == value
                || record
                    .image_name
                    .split('/')
                    .next_back()
                    .is_some_and(|short| short == value || short.split(':').next() == Some(value))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_filters_are_refused_with_the_key_named() {
        assert!(ContainerFilter::parse(&["status".into()]).is_err());
        let err = ContainerFilter::parse(&["color=red".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("color"), "{err}");
        assert!(ContainerFilter::parse(&["status=sleeping".into()]).is_err());
        assert!(ContainerFilter::parse(&["exited=x".into()]).is_err());
        let err = ContainerFilter::parse(&["restart-policy=fakepolicy".into()]).unwrap_err();
        assert_eq!(err.to_string(), "fakepolicy invalid restart policy");
        let ok = ContainerFilter::parse(&[
            "status=exited".into(),
            "status=created".into(),
            "name=web".into(),
        ])
        .unwrap();
        assert!(ok.wants_stopped());
        assert!(
            !ContainerFilter::parse(&["status=running".into()])
                .unwrap()
                .wants_stopped()
        );
    }
}
