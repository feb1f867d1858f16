//! Names as Kubernetes accepts them: objects are DNS subdomains, containers and volumes DNS
//! labels, label keys and values of their own grammar. skiff's names (which may hold `_` and
//! capitals) are mapped onto these so that a cluster takes what `kube generate` writes.

/// Lowercase letters, digits and `-` (and `.` where `dots`), trimmed of leading and trailing
/// non-alphanumerics, at most `limit` long.
fn dns(name: &str, dots: bool, limit: usize) -> String {
    let mapped: String = name
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-') => c,
            '.' if dots => '.',
            _ => '-',
        })
        .collect();
    let trimmed: String = mapped
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .chars()
        .take(limit)
        .collect();
    let trimmed = trimmed.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() {
        "unnamed".to_string()
    } else {
        trimmed.to_string()
    }
}

/// A Pod's, Service's or claim's name: a DNS subdomain.
pub fn object_name(name: &str) -> String {
    dns(name, true, 253)
}

/// A container's or volume's name within a pod: a DNS label.
pub fn label_name(name: &str) -> String {
    dns(name, false, 63)
}

/// A path as a volume's name: `/home/me/data` is `home-me-data`.
pub fn path_name(path: &str) -> String {
    dns(path, false, 50)
}

/// A label value made of a name (at most 63 characters, alphanumerics at both ends).
pub fn label_value(name: &str) -> String {
    let value: String = name.chars().take(63).collect();
    value
        .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

fn valid_segment(text: &str, limit: usize) -> bool {
    !text.is_empty()
        && text.len() <= limit
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.ends_with(|c: char| c.is_ascii_alphanumeric())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Whether Kubernetes takes this label: a key `[prefix/]name` and a value of at most 63
/// alphanumerics, `-`, `_` and `.` (or empty).
pub fn valid_label(key: &str, value: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        p.len() <= 253
            && p.split('.').all(|part| {
                valid_segment(part, 63) && !part.contains('_') && part == part.to_lowercase()
            })
    });
    prefix_ok && valid_segment(name, 63) && (value.is_empty() || valid_segment(value, 63))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_what_kubernetes_accepts() {
        assert_eq!(object_name("My_Pod"), "my-pod");
        assert_eq!(object_name("web.example"), "web.example");
        assert_eq!(label_name("web.example"), "web-example");
        assert_eq!(label_name(&"a".repeat(80)).len(), 63);
        assert_eq!(label_name("__"), "unnamed");
        assert_eq!(path_name("/home/me/data"), "home-me-data");
        assert_eq!(label_value(&format!("{}-", "b".repeat(62))), "b".repeat(62));
    }

    #[test]
    fn labels_follow_kubernetes_grammar() {
        assert!(valid_label("app", "web"));
        assert!(valid_label("example.com/tier", ""));
        assert!(valid_label("io.podman/x_y", "a.b-c"));
        assert!(!valid_label("bad key", "v"));
        assert!(!valid_label("app", "has space"));
        assert!(!valid_label("Upper_Case.com/x", "v"));
        assert!(!valid_label("app", &"v".repeat(64)));
    }
}
