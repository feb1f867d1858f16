//! `kube generate|play|down`, and their old names `generate kube` and `play kube`: read the
//! file, call skiff-kube, print what it made as Podman does.
use std::io::{Read, Write};

use anyhow::{Context, Result};
use skiff_engine::Engine;
use skiff_kube::{BuildPolicy, GenerateOptions, PlayOptions, WorkloadKind};

use crate::cli::{KubeDownArgs, KubeGenerateArgs, KubePlayArgs};

/// A YAML file's text, or standard input's for `-`.
fn read_yaml(path: &str) -> Result<String> {
    if path == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading YAML from standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {path}"))
}

pub fn generate(engine: &Engine, args: &KubeGenerateArgs) -> Result<i32> {
    let options = GenerateOptions {
        service: args.service,
        kind: WorkloadKind::parse(&args.kind)?,
        replicas: args.replicas,
    };
    let yaml = skiff_kube::generate(engine, &args.targets, &options)?;
    let Some(path) = &args.filename else {
        print!("{yaml}");
        return Ok(0);
    };
    // A new file only, as Podman: nothing of the user's is overwritten.
    let mut file = match std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            anyhow::bail!(
                "cannot write to {:?}; file exists",
                path.display().to_string()
            )
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    };
    file.write_all(yaml.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(0)
}

pub fn play(engine: &mut Engine, args: &KubePlayArgs) -> Result<i32> {
    let yaml = read_yaml(&args.file)?;
    if args.down {
        return print_down(engine, &yaml, false);
    }
    let configmaps = args
        .configmap
        .iter()
        .map(|path| {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let options = PlayOptions {
        start: args.start,
        replace: args.replace,
        network: args.network.clone(),
        publish: args.publish.clone(),
        configmaps,
        build: BuildPolicy {
            build: args.build,
            context_dir: match &args.context_dir {
                Some(dir) => dir.clone(),
                None if args.file == "-" => std::env::current_dir()?,
                None => std::path::Path::new(&args.file)
                    .parent()
                    .map(std::path::Path::to_path_buf)
                    .unwrap_or_default(),
            },
        },
        annotations: args.annotation.clone(),
        userns: args.userns.clone(),
    };
    let progress = super::registry::progress_printer(args.quiet);
    // --wait: Ctrl-C ends the wait, and the play is taken down (a second ends skiff at once).
    let interrupts = args.wait.then(skiff_engine::interrupt::Interrupts::catch);
    let report = skiff_kube::play(engine, &yaml, &options, &progress)?;
    for warning in &report.warnings {
        skiff_engine::warn!("{warning}");
    }
    if !report.volumes.is_empty() {
        println!("Volumes:");
        for volume in &report.volumes {
            println!("{volume}");
        }
    }
    for pod in &report.pods {
        println!("Pod:\n{}", pod.id);
        match pod.containers.len() {
            0 => {}
            1 => println!("Container:"),
            _ => println!("Containers:"),
        }
        for container in &pod.containers {
            println!("{container}");
        }
        println!();
    }
    if interrupts.is_some() {
        skiff_kube::wait(engine, &report)?;
        // What the play made goes, its volumes too, as Podman's --wait does.
        return print_down(engine, &yaml, true);
    }
    Ok(0)
}

pub fn down(engine: &mut Engine, args: &KubeDownArgs) -> Result<i32> {
    let yaml = read_yaml(&args.file)?;
    print_down(engine, &yaml, args.force)
}

fn print_down(engine: &mut Engine, yaml: &str, force: bool) -> Result<i32> {
    let report = skiff_kube::down(engine, yaml, force)?;
    for (title, names) in [
        ("Pods stopped:", &report.stopped),
        ("Pods removed:", &report.removed),
        ("Volumes removed:", &report.volumes),
    ] {
        if !names.is_empty() {
            println!("{title}");
            for name in names {
                println!("{name}");
            }
        }
    }
    Ok(0)
}
