//! `build`: flags into build options; the work is skiff-build's.
use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use skiff_build::{BuildError, BuildOptions, Squash};
use skiff_engine::{Engine, ManifestFormat, NetworkMode, PullOptions, PullPolicy, environment};

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
    if !context.is_dir() {
        bail!(
            "{}: the build context must be a directory",
            args.context.display()
        );
    }
    let mut build_args = BTreeMap::new();
    for entry in &args.build_arg {
        match entry.split_once('=') {
            Some((key, value)) => build_args.insert(key.to_string(), value.to_string()),
            // `--build-arg NAME`: the value from this environment, if it has one.
            None => match std::env::var(entry) {
                Ok(value) => build_args.insert(entry.clone(), value),
                Err(_) => continue,
            },
        };
    }
    let mut labels = Vec::new();
    for label in &args.label {
        let (key, value) = label.split_once('=').unwrap_or((label, ""));
        labels.push((key.to_string(), value.to_string()));
    }
    let pull = if args.pull_always {
        PullPolicy::Always
    } else if args.pull_never {
        PullPolicy::Never
    } else {
        PullPolicy::parse(args.pull.as_deref().unwrap_or("missing"))?
    };
    let timestamp = match args.timestamp {
        Some(t) => Some(t),
        None => environment::var(environment::SOURCE_DATE_EPOCH)
            .map(|v| {
                v.parse::<i64>()
                    .with_context(|| format!("SOURCE_DATE_EPOCH={v:?}: not a number of seconds"))
            })
            .transpose()?,
    };
    let mut secrets = BTreeMap::new();
    for secret in &args.secret {
        let mut id = None;
        let mut source = None;
        for part in secret.split(',') {
            match part.split_once('=') {
                Some(("id", value)) => id = Some(value.to_string()),
                Some(("src" | "source", value)) => source = Some(std::path::PathBuf::from(value)),
                Some(("type", "file")) => {}
                _ => bail!("--secret {secret:?}: expected id=ID,src=PATH"),
            }
        }
        let (Some(id), Some(source)) = (id, source) else {
            bail!("--secret {secret:?}: expected id=ID,src=PATH");
        };
        if !source.is_file() {
            bail!("--secret {secret:?}: {} is not a file", source.display());
        }
        secrets.insert(id, source);
    }
    let squash = match (args.squash_all, args.squash) {
        (true, _) => Squash::All,
        (false, true) => Squash::New,
        _ => Squash::No,
    };
    let network = match args.network.as_deref() {
        None | Some("host") | Some("default") => NetworkMode::Host,
        Some(name) => NetworkMode::parse(name)
            .with_context(|| format!("--network {name:?}: build supports host and none"))?,
    };
    let options = BuildOptions {
        context,
        file,
        tags: args.tag.clone(),
        build_args,
        target: args.target.clone(),
        labels,
        no_cache: args.no_cache,
        // Squashing keeps no step images, as in Podman.
        layers: args.layers.unwrap_or(true) && squash == Squash::No,
        format: ManifestFormat::parse(&args.format)?,
        pull,
        pull_options: PullOptions {
            registry: registry_options(&args.registry, None)?,
            platform: args.platform.clone(),
        },
        quiet: args.quiet,
        timestamp,
        network,
        ignore_file: args.ignorefile.clone(),
        squash,
        secrets,
    };
    let mut stdout = std::io::stdout();
    match skiff_build::build(engine, &options, &mut stdout) {
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
