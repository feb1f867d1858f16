//! `images --filter KEY=VALUE`, as Podman: the same key twice matches either value, different keys
//! must all match. `reference` takes a glob (`busybox`, `*/busybox:1*`) matched against the full
//! name and against the name without its registry.
use std::collections::BTreeMap;

use crate::container::filter::parse_filters;
use crate::error::EngineError;
use crate::image::ImageReport;

#[derive(Debug, Default, Clone)]
pub struct ImageFilter {
    by_key: BTreeMap<String, Vec<String>>,
}

const KEYS: &[&str] = &[
    "id",
    "reference",
    "dangling",
    "label",
    "before",
    "since",
    "after",
    "until",
    "containers",
    "readonly",
];

impl ImageFilter {
    pub fn parse(filters: &[String]) -> Result<Self, EngineError> {
        let mut by_key = parse_filters(filters, KEYS)?;
        // `after` is Podman's other name for `since`.
        if let Some(after) = by_key.remove("after") {
            by_key.entry("since".into()).or_default().extend(after);
        }
        for key in ["dangling", "containers", "readonly"] {
            for value in by_key.get(key).into_iter().flatten() {
                if !matches!(value.as_str(), "true" | "false") {
                    return Err(EngineError::InvalidArgument(format!(
                        "invalid {key} filter {value:?}: expected true or false"
                    )));
                }
            }
        }
        for value in by_key.get("until").into_iter().flatten() {
            crate::container::logs::parse_log_time(value, chrono::Utc::now())?;
        }
        Ok(Self { by_key })
    }

    /// Keeps the images that match; `before`/`since` name images of `all`.
    pub fn apply(&self, all: Vec<ImageReport>) -> Result<Vec<ImageReport>, EngineError> {
        let created_of = |name: &str| -> Result<chrono::DateTime<chrono::Utc>, EngineError> {
            all.iter()
                .find(|i| {
                    i.id().starts_with(name.trim_start_matches("sha256:"))
                        || i.image.names.iter().any(|n| {
                            skiff_image::Reference::parse(name).is_ok_and(|r| r.matches(n))
                        })
                })
                .map(|i| i.image.created)
                .ok_or_else(|| {
                    EngineError::Image(skiff_image::ImageError::NotKnown(name.to_string()))
                })
        };
        let mut bounds = Vec::new();
        for (key, values) in &self.by_key {
            if key == "before" || key == "since" {
                for value in values {
                    bounds.push((key.as_str(), created_of(value)?));
                }
            }
        }
        Ok(all
            .into_iter()
            .filter(|image| {
                self.by_key.iter().all(|(key, values)| match key.as_str() {
                    "before" | "since" => bounds.iter().all(|(kind, at)| {
                        if *kind == "before" {
                            image.image.created < *at
                        } else {
                            image.image.created > *at
                        }
                    }),
                    _ => values.iter().any(|value| matches(image, key, value)),
                })
            })
            .collect())
    }
}

fn matches(image: &ImageReport, key: &str, value: &str) -> bool {
    match key {
        "id" => image.id().starts_with(value.trim_start_matches("sha256:")),
        "dangling" => image.image.names.is_empty() == (value == "true"),
        "containers" => (image.containers > 0) == (value == "true"),
        // No read-only image stores here.
        "readonly" => value == "false",
        "until" => crate::container::logs::parse_log_time(value, chrono::Utc::now())
            .is_ok_and(|until| image.image.created < until),
        "label" => {
            let labels = image
                .image
                .config()
                .ok()
                .and_then(|c| c.config().as_ref().and_then(|c| c.labels().clone()))
                .unwrap_or_default();
            match value.split_once('=') {
                Some((k, v)) => labels.get(k).is_some_and(|l| l == v),
                None => labels.contains_key(value),
            }
        }
        "reference" => image.image.names.iter().any(|name| {
            let without_registry = name.split_once('/').map(|(_, rest)| rest).unwrap_or(name);
            let pattern = if value.contains(':') || value.contains('@') {
                value.to_string()
            } else {
                format!("{value}:*")
            };
            [name.as_str(), without_registry].iter().any(|candidate| {
                glob(&pattern, candidate) || glob(&format!("*/{pattern}"), candidate)
            })
        }),
        _ => false,
    }
}

/// Shell-style glob with `*` and `?` (what Podman's reference filter accepts in practice).
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_the_shell() {
        assert!(glob("busybox:*", "busybox:latest"));
        assert!(glob("*/busybox:*", "localhost/busybox:1"));
        assert!(!glob("busybox:*", "localhost/busybox:1"));
        assert!(glob("b?sy*", "busybox"));
        assert!(!glob("a*b", "acd"));
        assert!(ImageFilter::parse(&["dangling=maybe".into()]).is_err());
        assert!(ImageFilter::parse(&["color=red".into()]).is_err());
    }
}
