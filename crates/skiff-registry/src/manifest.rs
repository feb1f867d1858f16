//! Image manifests and manifest lists in their two dialects (Docker schema 2 and OCI), and the
//! choice of one image out of a list for a platform.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::RegistryError;

/// Media types skiff reads and writes.
pub mod media_type {
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

    /// What a pull asks for, best first.
    pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

    pub fn is_index(media_type: &str) -> bool {
        media_type == OCI_INDEX || media_type == DOCKER_LIST
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    #[serde(deserialize_with = "checked_digest")]
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// `linux/arm64/v8` → Platform; arch names as Go spells them.
pub fn parse_platform(input: &str) -> Result<Platform, RegistryError> {
    let parts: Vec<&str> = input.split('/').collect();
    match parts.as_slice() {
        [os, arch] | [os, arch, _] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
            os: os.to_string(),
            architecture: arch.to_string(),
            variant: parts
                .get(2)
                .filter(|v| !v.is_empty())
                .map(|v| v.to_string()),
        }),
        _ => Err(RegistryError::InvalidPlatform(input.to_string())),
    }
}

/// A descriptor's digest as the OCI image spec writes it (`algorithm:encoded`; sha256 and
/// sha512 with their exact lengths of lowercase hex). Digests from a registry or an archive are
/// untrusted: one like `sha256:../../x` is refused while the manifest is read, before it can
/// become part of a URL or a file name.
fn checked_digest<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let digest = String::deserialize(deserializer)?;
    if valid_digest(&digest) {
        Ok(digest)
    } else {
        Err(serde::de::Error::custom(format!(
            "invalid digest {:?}",
            digest.escape_debug().to_string()
        )))
    }
}

fn valid_digest(digest: &str) -> bool {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return false;
    };
    let lower_hex = |len: usize| {
        encoded.len() == len
            && encoded
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match algorithm {
        "sha256" => lower_hex(64),
        "sha512" => lower_hex(128),
        _ => {
            let component = |c: &str| {
                !c.is_empty()
                    && c.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            };
            algorithm.split(['+', '.', '_', '-']).all(component)
                && !encoded.is_empty()
                && encoded
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b))
        }
    }
}

/// An image manifest (Docker schema 2 or OCI).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Manifest {
    pub fn parse(bytes: &[u8]) -> Result<Self, RegistryError> {
        let manifest: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| RegistryError::InvalidManifest(format!("invalid image manifest: {e}")))?;
        if manifest.schema_version != 2 {
            return Err(RegistryError::InvalidManifest(format!(
                "unsupported manifest schema version {}",
                manifest.schema_version
            )));
        }
        Ok(manifest)
    }
}

/// A manifest list / OCI image index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Index {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
}

/// Picks the manifest for `wanted` out of a list: same OS and architecture, and the variant when
/// both sides name one (arm64's `v8` is the default variant).
pub fn select_manifest<'a>(
    index: &'a Index,
    wanted: &Platform,
) -> Result<&'a Descriptor, RegistryError> {
    let normalized = |p: &Platform| -> Option<String> {
        match (p.architecture.as_str(), p.variant.as_deref()) {
            ("arm64", Some("v8")) | ("arm64", None) => None,
            (_, v) => v.map(str::to_string),
        }
    };
    let candidates: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.os == wanted.os && p.architecture == wanted.architecture)
        })
        .collect();
    let exact = candidates.iter().find(|d| {
        let p = d.platform.as_ref().expect("filtered on platform");
        wanted.variant.is_none() || normalized(p) == normalized(wanted)
    });
    exact
        .copied()
        .ok_or_else(|| RegistryError::NoMatchingPlatform {
            wanted: wanted.to_string(),
            available: index
                .manifests
                .iter()
                .filter_map(|d| d.platform.as_ref().map(Platform::to_string))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_with_path_like_digests_are_refused() {
        let with = |digest: &str| {
            format!(
                r#"{{"schemaVersion":2,"config":{{"mediaType":"x","digest":"sha256:{0}","size":1}},
                   "layers":[{{"mediaType":"x","digest":"{digest}","size":1}}]}}"#,
                "a".repeat(64)
            )
        };
        let good = format!("sha256:{}", "0".repeat(64));
        assert!(Manifest::parse(with(&good).as_bytes()).is_ok());
        for bad in [
            "sha256:../../../etc",
            "sha256:/etc",
            "../x",
            "sha256:",
            "sha256:ABC",
            "Sha256:ab",
        ] {
            let err = Manifest::parse(with(bad).as_bytes()).unwrap_err();
            assert!(err.to_string().contains("invalid digest"), "{bad}: {err}");
        }
        assert!(valid_digest(&format!("sha512:{}", "f".repeat(128))));
        assert!(valid_digest(
            "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"
        ));
    }

    fn index() -> Index {
        serde_json::from_str(
            r#"{"schemaVersion":2,"manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1,"platform":{"architecture":"amd64","os":"linux"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","size":1,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc","size":1,"platform":{"architecture":"arm","os":"linux","variant":"v7"}}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn platform_picks_the_matching_entry() {
        let index = index();
        let pick = |p: &str| {
            select_manifest(&index, &parse_platform(p).unwrap()).map(|d| d.digest.clone())
        };
        assert_eq!(
            pick("linux/amd64").unwrap(),
            format!("sha256:{}", "a".repeat(64))
        );
        assert_eq!(
            pick("linux/arm64").unwrap(),
            format!("sha256:{}", "b".repeat(64))
        );
        assert_eq!(
            pick("linux/arm64/v8").unwrap(),
            format!("sha256:{}", "b".repeat(64))
        );
        assert_eq!(
            pick("linux/arm/v7").unwrap(),
            format!("sha256:{}", "c".repeat(64))
        );
        let err = pick("linux/s390x").unwrap_err().to_string();
        assert!(
            err.contains("linux/s390x") && err.contains("linux/arm/v7"),
            "{err}"
        );
        assert!(parse_platform("linux").is_err());
    }
}

/// Whatever a registry or an archive sends, reading it never panics, and a digest that passes
/// can never name a path.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn manifests_and_indexes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = Manifest::parse(&bytes);
            let _ = serde_json::from_slice::<Index>(&bytes);
        }

        #[test]
        fn structured_manifests_never_panic(
            digest in "(sha256|sha512|[a-z+._-]{0,8}):[a-zA-Z0-9=_./-]{0,130}",
            size in any::<u64>(),
            version in any::<u32>(),
        ) {
            let text = serde_json::json!({
                "schemaVersion": version,
                "config": {"mediaType": "x", "digest": digest, "size": size},
                "layers": [{"mediaType": "x", "digest": digest, "size": size}],
            })
            .to_string();
            let _ = Manifest::parse(text.as_bytes());
        }

        #[test]
        fn accepted_digests_are_never_paths(digest in "\\PC{0,140}") {
            if valid_digest(&digest) {
                prop_assert!(!digest.contains('/') && !digest.contains(".."), "{}", digest);
            }
        }

        #[test]
        fn platforms_never_panic(platform in "\\PC{0,40}") {
            let _ = parse_platform(&platform);
        }
    }
}
