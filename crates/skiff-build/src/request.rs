//! What a build is asked, by any front end (the CLI, the REST API, compose, kube play), and the
//! one place that checks it and turns it into [`BuildOptions`]. A request from a server crosses
//! to the engine's action helper as JSON; progress goes to the helper's stdout.
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use skiff_engine::{
    Engine, EngineError, ErrorKind, ManifestFormat, NetworkMode, PullOptions, PullPolicy,
    RegistryOptions, environment,
};

use crate::{BuildError, BuildOptions, Squash, build};

/// What a build is asked: Podman's `build` flags, and what Docker's `POST /build` asks.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BuildRequest {
    /// The context directory (unpacked by the caller when it came as an archive).
    pub context: PathBuf,
    /// The Containerfile, relative to the context (an absolute path stays as it is; `-` is
    /// this process's stdin).
    pub file: Option<PathBuf>,
    pub tags: Vec<String>,
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub labels: Vec<(String, String)>,
    pub no_cache: bool,
    /// `--pull`; None pulls a base image only when it is missing.
    pub pull: Option<PullPolicy>,
    pub quiet: bool,
    /// `--network` of RUN: the host's by default, as Docker's and Buildah's.
    pub network: Option<String>,
    /// `--layers`; None keeps them (as Podman), unless the build squashes.
    pub layers: Option<bool>,
    /// `--format oci|docker`; None is Docker's manifest, as Docker's API builds.
    pub format: Option<String>,
    /// `--platform os/arch[/variant]` of the base images.
    pub platform: Option<String>,
    /// `--timestamp`: created time and every new file's time.
    pub timestamp: Option<i64>,
    /// `--ignorefile`.
    pub ignore_file: Option<PathBuf>,
    pub squash: Squash,
    /// `--secret id=ID,src=PATH` as given.
    pub secrets: Vec<String>,
    /// How to reach registries; the caller's own (credentials never cross as JSON).
    #[serde(skip)]
    pub registry: RegistryOptions,
}

/// `--build-arg` and compose's `args`: an argument without a value takes this process's
/// environment's, and is left out when the environment has none.
pub fn build_args(
    pairs: impl IntoIterator<Item = (String, Option<String>)>,
) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .filter_map(|(key, value)| match value {
            Some(value) => Some((key, value)),
            None => std::env::var(&key).ok().map(|value| (key, value)),
        })
        .collect()
}

/// `--timestamp`, else SOURCE_DATE_EPOCH from this process's environment, as Buildah reads it.
pub fn timestamp_or_source_date_epoch(timestamp: Option<i64>) -> Result<Option<i64>, EngineError> {
    if timestamp.is_some() {
        return Ok(timestamp);
    }
    environment::var(environment::SOURCE_DATE_EPOCH)
        .map(|value| {
            value.parse::<i64>().map_err(|_| {
                EngineError::InvalidArgument(format!(
                    "SOURCE_DATE_EPOCH={value:?}: not a number of seconds"
                ))
            })
        })
        .transpose()
}

/// `--secret id=ID,src=PATH[,type=file]`: the ID and its file, which must exist.
fn secret(spec: &str) -> Result<(String, PathBuf), EngineError> {
    let invalid = |why: &str| EngineError::InvalidArgument(format!("--secret {spec:?}: {why}"));
    let mut id = None;
    let mut source = None;
    for part in spec.split(',') {
        match part.split_once('=') {
            Some(("id", value)) => id = Some(value.to_string()),
            Some(("src" | "source", value)) => source = Some(PathBuf::from(value)),
            Some(("type", "file")) => {}
            _ => return Err(invalid("expected id=ID,src=PATH")),
        }
    }
    let (Some(id), Some(source)) = (id, source) else {
        return Err(invalid("expected id=ID,src=PATH"));
    };
    if !source.is_file() {
        return Err(invalid(&format!("{} is not a file", source.display())));
    }
    Ok((id, source))
}

impl BuildRequest {
    /// Checks the request and makes the executor's options.
    pub fn options(&self) -> Result<BuildOptions, EngineError> {
        if !self.context.is_dir() {
            return Err(EngineError::InvalidArgument(format!(
                "{}: the build context must be a directory",
                self.context.display()
            )));
        }
        let network = match self.network.as_deref() {
            None | Some("" | "host" | "default") => NetworkMode::Host,
            Some(other) => NetworkMode::parse(other).ok_or_else(|| {
                EngineError::InvalidArgument(format!("--network {other:?}: not a network mode"))
            })?,
        };
        let secrets = self
            .secrets
            .iter()
            .map(|spec| secret(spec))
            .collect::<Result<_, _>>()?;
        Ok(BuildOptions {
            context: self.context.clone(),
            file: self
                .file
                .as_ref()
                .map(|file| match file.as_os_str() == "-" {
                    true => file.clone(),
                    false => self.context.join(file),
                }),
            tags: self.tags.clone(),
            build_args: self.build_args.clone(),
            target: self.target.clone().filter(|t| !t.is_empty()),
            labels: self.labels.clone(),
            no_cache: self.no_cache,
            // Squashing keeps no step images, as in Podman.
            layers: self.layers.unwrap_or(true) && self.squash == Squash::No,
            format: match &self.format {
                Some(format) => ManifestFormat::parse(format)?,
                None => ManifestFormat::DockerV2s2,
            },
            pull: self.pull.unwrap_or(PullPolicy::Missing),
            pull_options: PullOptions {
                registry: self.registry.clone(),
                platform: self.platform.clone(),
            },
            quiet: self.quiet,
            timestamp: self.timestamp,
            network,
            ignore_file: self.ignore_file.clone(),
            squash: self.squash,
            secrets,
        })
    }

    /// Runs the build; progress goes to `out`. The image's ID, or the build's own error (a
    /// failing RUN keeps its exit status, which the CLI returns as Podman does).
    pub fn build(
        &self,
        engine: &mut Engine,
        out: &mut dyn std::io::Write,
    ) -> Result<String, BuildError> {
        build(engine, &self.options()?, out)
    }

    /// Runs the build; progress goes to `out`. The image's ID, or the error as the engine
    /// reports it.
    pub fn run(
        &self,
        engine: &mut Engine,
        out: &mut dyn std::io::Write,
    ) -> Result<String, EngineError> {
        self.build(engine, out).map_err(|error| match error {
            BuildError::Engine(error) => error,
            BuildError::RunFailed { .. } | BuildError::Read { .. } => {
                EngineError::Child(ErrorKind::Runtime, error.to_string())
            }
            other => EngineError::Child(ErrorKind::InvalidArgument, other.to_string()),
        })
    }
}

/// The action helper's build ([`skiff_engine::action::BuildRunner`]).
pub fn run_request(
    engine: &mut Engine,
    request: &serde_json::Value,
) -> Result<String, EngineError> {
    let request: BuildRequest = serde_json::from_value(request.clone())
        .map_err(|e| EngineError::InvalidArgument(format!("invalid build request: {e}")))?;
    request.run(engine, &mut std::io::stdout())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("skiff-build-request-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_request_becomes_options_with_podmans_defaults() {
        let request = BuildRequest {
            context: context(),
            file: Some("sub/Containerfile".into()),
            target: Some(String::new()),
            ..Default::default()
        };
        let options = request.options().unwrap();
        assert_eq!(options.file, Some(context().join("sub/Containerfile")));
        assert_eq!(options.target, None);
        assert!(options.layers);
        assert_eq!(options.pull, PullPolicy::Missing);
        assert_eq!(options.network, NetworkMode::Host);
        let squashed = BuildRequest {
            context: context(),
            squash: Squash::New,
            layers: Some(true),
            file: Some("/abs/Containerfile".into()),
            ..Default::default()
        }
        .options()
        .unwrap();
        assert!(!squashed.layers, "squashing keeps no step images");
        assert_eq!(squashed.file, Some(PathBuf::from("/abs/Containerfile")));
    }

    #[test]
    fn bad_requests_name_what_is_wrong() {
        let error = |request: BuildRequest| request.options().unwrap_err().to_string();
        let missing = BuildRequest {
            context: "/nonexistent/context".into(),
            ..Default::default()
        };
        assert!(error(missing).contains("/nonexistent/context: the build context must be"));
        let network = BuildRequest {
            context: context(),
            network: Some("no-such-mode:x".into()),
            ..Default::default()
        };
        assert!(error(network).contains("--network \"no-such-mode:x\": not a network mode"));
        let secret = BuildRequest {
            context: context(),
            secrets: vec!["id=a".into()],
            ..Default::default()
        };
        assert!(error(secret).contains("expected id=ID,src=PATH"));
        let absent = BuildRequest {
            context: context(),
            secrets: vec!["id=a,src=/nonexistent/secret".into()],
            ..Default::default()
        };
        assert!(error(absent).contains("/nonexistent/secret is not a file"));
        let format = BuildRequest {
            context: context(),
            format: Some("zip".into()),
            ..Default::default()
        };
        assert!(error(format).contains("zip"));
    }

    #[test]
    fn a_secret_names_its_file() {
        let file = context().join("secret");
        std::fs::write(&file, "s").unwrap();
        let spec = format!("type=file,id=token,src={}", file.display());
        assert_eq!(secret(&spec).unwrap(), ("token".to_string(), file));
    }

    #[test]
    fn build_args_without_values_come_from_the_environment() {
        let args = build_args([
            ("A".to_string(), Some("1".to_string())),
            ("PATH".to_string(), None),
            ("SKIFF_SURELY_UNSET_ARG".to_string(), None),
        ]);
        assert_eq!(args["A"], "1");
        assert_eq!(args["PATH"], std::env::var("PATH").unwrap());
        assert!(!args.contains_key("SKIFF_SURELY_UNSET_ARG"));
    }
}
