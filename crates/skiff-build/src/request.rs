//! A build asked by another front end (the REST API) and run in the engine's action helper:
//! the request crosses as JSON ([`BuildRequest`]), progress goes to the helper's stdout.
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use skiff_engine::{
    Engine, EngineError, ErrorKind, ManifestFormat, NetworkMode, PullOptions, PullPolicy,
};

use crate::{BuildError, BuildOptions, Squash, build};

/// What a build is asked, as Docker's `POST /build` asks it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuildRequest {
    /// The context, unpacked by the caller.
    pub context: PathBuf,
    /// The Dockerfile, relative to the context.
    pub file: Option<PathBuf>,
    pub tags: Vec<String>,
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub labels: Vec<(String, String)>,
    pub no_cache: bool,
    /// Pull the base images even when they are here.
    pub pull: bool,
    pub quiet: bool,
    /// `none` for RUN without a network; else the host's, as Docker's default.
    pub network: Option<String>,
}

impl BuildRequest {
    fn options(&self) -> Result<BuildOptions, EngineError> {
        let network = match self.network.as_deref() {
            None | Some("" | "host" | "default" | "bridge") => NetworkMode::Host,
            Some("none") => NetworkMode::None,
            Some(other) => {
                return Err(EngineError::InvalidArgument(format!(
                    "network mode {other:?}: builds support host and none"
                )));
            }
        };
        Ok(BuildOptions {
            context: self.context.clone(),
            file: self.file.as_ref().map(|file| self.context.join(file)),
            tags: self.tags.clone(),
            build_args: self.build_args.clone(),
            target: self.target.clone().filter(|t| !t.is_empty()),
            labels: self.labels.clone(),
            no_cache: self.no_cache,
            layers: true,
            format: ManifestFormat::DockerV2s2,
            pull: if self.pull {
                PullPolicy::Always
            } else {
                PullPolicy::Missing
            },
            pull_options: PullOptions::default(),
            quiet: self.quiet,
            timestamp: None,
            network,
            ignore_file: None,
            squash: Squash::No,
            secrets: BTreeMap::new(),
        })
    }
}

impl BuildRequest {
    /// Runs the build; progress goes to `out`. The image's ID, or the error as the engine
    /// reports it.
    pub fn run(
        &self,
        engine: &mut Engine,
        out: &mut dyn std::io::Write,
    ) -> Result<String, EngineError> {
        build(engine, &self.options()?, out).map_err(|error| match error {
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
