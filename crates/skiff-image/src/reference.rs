//! Image names as users type them and as they are stored: `[registry/]repository[:tag][@digest]`.
//! A name without a registry is stored under `localhost/` as Podman does for local images;
//! lookups by a short name match any registry.

#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format {0:?}: {1}")]
    Invalid(String, &'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `localhost`, `docker.io`, `127.0.0.1:5000`, or None when the user gave a short name.
    pub registry: Option<String>,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Reference {
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let invalid = |why| ReferenceError::Invalid(input.to_string(), why);
        if input.is_empty() {
            return Err(invalid("empty name"));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) => {
                let hex = digest
                    .strip_prefix("sha256:")
                    .ok_or_else(|| invalid("digest must be sha256:<hex>"))?;
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(invalid("digest must be sha256:<64 hex digits>"));
                }
                (rest, Some(digest.to_string()))
            }
            None => (input, None),
        };
        // A tag is after the last ':' that comes after the last '/'.
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag
            && (tag.is_empty()
                || tag.len() > 128
                || !tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                || !tag.as_bytes()[0].is_ascii_alphanumeric() && tag.as_bytes()[0] != b'_')
        {
            return Err(invalid("bad tag"));
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_string()), path.to_string())
            }
            _ => (None, name.to_string()),
        };
        if repository.is_empty()
            || !repository.split('/').all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
                    && part.as_bytes()[0].is_ascii_alphanumeric()
            })
        {
            return Err(invalid("repository name must be lowercase"));
        }
        Ok(Self {
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The name this reference is stored under: registry defaulted to `localhost`, tag to
    /// `latest` (unless a digest pins it).
    pub fn normalized(&self) -> String {
        let registry = self.registry.as_deref().unwrap_or("localhost");
        let mut out = format!("{registry}/{}", self.repository);
        match (&self.tag, &self.digest) {
            (Some(tag), _) => {
                out.push(':');
                out.push_str(tag);
            }
            (None, None) => out.push_str(":latest"),
            (None, Some(_)) => {}
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(digest);
        }
        out
    }

    /// What a registry is asked for: the digest if pinned, else the tag, else `latest`.
    pub fn tag_or_digest(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// Whether a stored full name answers to this (possibly short) reference.
    pub fn matches(&self, stored: &str) -> bool {
        let Ok(other) = Reference::parse(stored) else {
            return false;
        };
        let tag = self.tag.as_deref().or(if self.digest.is_none() {
            Some("latest")
        } else {
            None
        });
        (self.registry.is_none() || self.registry == other.registry)
            && (other.repository == self.repository
                || self.registry.is_none()
                    && other.repository.ends_with(&format!("/{}", self.repository)))
            && (tag.is_none() || other.tag.as_deref() == tag)
            && (self.digest.is_none() || other.digest == self.digest)
    }
}

/// Splits a stored name into the REPOSITORY and TAG columns of `images`.
pub fn repository_and_tag(stored: &str) -> (String, String) {
    // A name pinned by digest (`repo@sha256:…`) has no tag.
    if let Some((repository, _)) = stored.split_once('@') {
        return (repository.to_string(), "<none>".to_string());
    }
    let last_slash = stored.rfind('/').map(|i| i + 1).unwrap_or(0);
    match stored[last_slash..].rfind(':') {
        Some(i) => (
            stored[..last_slash + i].to_string(),
            stored[last_slash + i + 1..].to_string(),
        ),
        None => (stored.to_string(), "<none>".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_stored_under_localhost_latest() {
        assert_eq!(
            Reference::parse("busybox").unwrap().normalized(),
            "localhost/busybox:latest"
        );
        assert_eq!(
            Reference::parse("127.0.0.1:5000/a/b:1.0")
                .unwrap()
                .normalized(),
            "127.0.0.1:5000/a/b:1.0"
        );
        assert_eq!(
            Reference::parse("localhost/busybox")
                .unwrap()
                .registry
                .as_deref(),
            Some("localhost")
        );
    }

    #[test]
    fn short_name_matches_any_registry_but_tag_must_agree() {
        let short = Reference::parse("busybox").unwrap();
        assert!(short.matches("localhost/busybox:latest"));
        assert!(short.matches("docker.io/library/busybox:latest"));
        assert!(!short.matches("localhost/busybox:1"));
        assert!(!short.matches("localhost/notbusybox:latest"));
        let full = Reference::parse("localhost/busybox:1").unwrap();
        assert!(full.matches("localhost/busybox:1"));
        assert!(!full.matches("docker.io/busybox:1"));
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in ["", "UPPER", "a:", "a::b", "a@sha256:12", "/a", "a//b"] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn columns_split_at_the_tag() {
        assert_eq!(
            repository_and_tag("127.0.0.1:5000/busybox@sha256:abc"),
            ("127.0.0.1:5000/busybox".into(), "<none>".into())
        );
        assert_eq!(
            repository_and_tag("127.0.0.1:5000/busybox:1"),
            ("127.0.0.1:5000/busybox".into(), "1".into())
        );
    }
}

/// Any text is a reference or an error, and a reference's stored form reads back as itself.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn references_parse_or_fail_and_round_trip(
            input in "(\\PC{0,40}|([a-z0-9.:-]{1,12}/){0,3}[a-z0-9._-]{1,12}(:[a-zA-Z0-9._-]{0,10})?(@sha256:[0-9a-f]{64})?)"
        ) {
            if let Ok(reference) = Reference::parse(&input) {
                let stored = reference.normalized();
                let again = Reference::parse(&stored);
                prop_assert!(again.is_ok(), "{} -> {}", input, stored);
                prop_assert_eq!(again.unwrap().normalized(), stored.clone());
                let _ = reference.matches(&input);
                let _ = repository_and_tag(&stored);
            }
        }
    }
}
