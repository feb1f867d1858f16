//! `kube play --build`: the pods' images built from the directories named after them, as
//! Podman builds them: a directory of the context directory (`--context-dir`, default the
//! YAML file's) named as the image's last path component, holding a Containerfile or
//! Dockerfile. Built when the image is missing, every time with `--build`, never with
//! `--build=false`.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use skiff_build::BuildRequest;
use skiff_engine::{Engine, EngineError};

/// `--build` and `--context-dir`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BuildPolicy {
    /// None: build the images that are missing; true: build all that have a directory;
    /// false: build none.
    pub build: Option<bool>,
    /// Where the images' directories are.
    pub context_dir: PathBuf,
}

/// The directory `image` is built from, when the context directory has one.
fn build_dir(image: &str, context: &Path) -> Option<PathBuf> {
    let last = image.rsplit('/').next()?;
    let last = last.split('@').next()?;
    let name = last.rsplit_once(':').map_or(last, |(name, _)| name);
    if name.is_empty() {
        return None;
    }
    let dir = context.join(name);
    ["Containerfile", "Dockerfile"]
        .iter()
        .any(|file| dir.join(file).is_file())
        .then_some(dir)
}

/// Builds the images the policy says, each once; progress goes to `out`.
pub(crate) fn build_images<'a>(
    engine: &mut Engine,
    images: impl IntoIterator<Item = &'a str>,
    policy: &BuildPolicy,
    out: &mut dyn std::io::Write,
) -> Result<(), EngineError> {
    if policy.build == Some(false) {
        return Ok(());
    }
    let mut seen = BTreeSet::new();
    for image in images {
        if !seen.insert(image) {
            continue;
        }
        let Some(dir) = build_dir(image, &policy.context_dir) else {
            continue;
        };
        if policy.build != Some(true) && engine.image(image).is_ok() {
            continue;
        }
        BuildRequest {
            context: dir,
            tags: vec![image.to_string()],
            ..Default::default()
        }
        .run(engine, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_is_built_from_the_directory_of_its_last_name() {
        let context = std::env::temp_dir().join(format!("skiff-kube-build-{}", std::process::id()));
        std::fs::create_dir_all(context.join("web")).unwrap();
        std::fs::write(context.join("web/Containerfile"), "FROM busybox\n").unwrap();
        std::fs::create_dir_all(context.join("empty")).unwrap();
        assert_eq!(
            build_dir("localhost/web:1.0", &context),
            Some(context.join("web"))
        );
        assert_eq!(build_dir("web", &context), Some(context.join("web")));
        assert_eq!(
            build_dir("registry.example:5000/x/web@sha256:ab", &context),
            Some(context.join("web"))
        );
        assert_eq!(build_dir("empty", &context), None);
        assert_eq!(build_dir("nothing", &context), None);
        let _ = std::fs::remove_dir_all(context);
    }
}
