//! `build`: flags into build options; the work is skiff-build's.
use anyhow::{Context, Result};
use skiff_build::{BuildError, BuildRequest, Squash};
use skiff_engine::{Engine, PullPolicy};

use super::image::write_iidfile;
use super::registry::registry_options;
use crate::cli::BuildArgs;

pub fn build(engine: &mut Engine, args: &BuildArgs) -> Result<i32> {
    // `build -`: the context (a tar archive) or the Containerfile alone comes on stdin.
    let streamed = if args.context.as_os_str() == "-" {
        Some(
            skiff_build::StreamContext::read(std::io::stdin().lock(), &std::env::temp_dir())
                .context("read the build context from stdin")?,
        )
    } else {
        None
    };
    let context = streamed
        .as_ref()
        .map_or(args.context.clone(), |s| s.dir().to_path_buf());
    let file = match streamed.as_ref().and_then(|s| s.file()) {
        Some(file) => Some(file.to_path_buf()),
        None => args.file.clone(),
    };
    // -f is relative to here, not to the context (`-f -`: the Containerfile on stdin).
    let file = file
        .map(|f| match f.as_os_str() == "-" {
            true => Ok(f),
            false => std::path::absolute(f),
        })
        .transpose()?;
    let request = BuildRequest {
        context,
        file,
        tags: args.tag.clone(),
        build_args: skiff_build::build_args(args.build_arg.iter().map(|entry| {
            match entry.split_once('=') {
                Some((key, value)) => (key.to_string(), Some(value.to_string())),
                None => (entry.clone(), None),
            }
        })),
        target: args.target.clone(),
        labels: args
            .label
            .iter()
            .map(|label| {
                let (key, value) = label.split_once('=').unwrap_or((label, ""));
                (key.to_string(), value.to_string())
            })
            .collect(),
        no_cache: args.no_cache,
        pull: Some(if args.pull_always {
            PullPolicy::Always
        } else if args.pull_never {
            PullPolicy::Never
        } else {
            PullPolicy::parse(args.pull.as_deref().unwrap_or("missing"))?
        }),
        quiet: args.quiet,
        network: args.network.clone(),
        layers: args.layers,
        format: Some(args.format.clone()),
        platform: args.platform.clone(),
        timestamp: skiff_build::timestamp_or_source_date_epoch(args.timestamp)?,
        ignore_file: args.ignorefile.clone(),
        squash: match (args.squash_all, args.squash) {
            (true, _) => Squash::All,
            (false, true) => Squash::New,
            _ => Squash::No,
        },
        secrets: args.secret.clone(),
        registry: registry_options(&args.registry, None)?,
    };
    let mut stdout = std::io::stdout();
    match request.build(engine, &mut stdout) {
        Ok(id) => {
            write_iidfile(args.iidfile.as_deref(), &id)?;
            Ok(0)
        }
        // A failing RUN: its own exit status, as Podman returns it.
        Err(err @ BuildError::RunFailed { code, .. }) => {
            eprintln!("Error: {err}");
            Ok(code)
        }
        Err(err) => Err(err.into()),
    }
}
