//! `volume`: the engine's volumes, printed as Podman prints them.
use anyhow::{Result, bail};
use serde_json::{Value, json};
use skiff_engine::{Engine, EngineError, VolumeCreate, VolumeReport};

use super::container::removal_code;
use super::{Exit, for_each};
use crate::cli::{
    NameArg, VolumeCommand, VolumeCreateArgs, VolumeInspectArgs, VolumeLsArgs, VolumePruneArgs,
    VolumeRmArgs,
};
use crate::format;

pub fn dispatch(engine: &mut Engine, command: VolumeCommand) -> Result<i32> {
    match command {
        VolumeCommand::Create(args) => create(engine, &args),
        VolumeCommand::Ls(args) => list(engine, &args),
        VolumeCommand::Inspect(args) => inspect(engine, &args),
        VolumeCommand::Rm(args) => remove(engine, &args),
        VolumeCommand::Prune(args) => prune(engine, &args),
        VolumeCommand::Exists(NameArg { name }) => match engine.volume(&name) {
            Ok(_) => Ok(0),
            Err(EngineError::NoSuchVolume(_)) => Err(Exit(1).into()),
            Err(err) => Err(err.into()),
        },
    }
}

/// `KEY=VALUE` pairs (a bare KEY has an empty value).
fn pairs(values: &[String]) -> std::collections::BTreeMap<String, String> {
    values
        .iter()
        .map(|v| {
            let (k, v) = v.split_once('=').unwrap_or((v, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn create(engine: &mut Engine, args: &VolumeCreateArgs) -> Result<i32> {
    let report = engine.create_volume(&VolumeCreate {
        name: args.name.clone(),
        driver: args.driver.clone(),
        labels: pairs(&args.label),
        options: pairs(&args.opt),
        ignore: args.ignore,
        anonymous: false,
    })?;
    println!("{}", report.name);
    Ok(0)
}

/// A volume as Podman's `volume inspect` shows it.
fn json(volume: &VolumeReport) -> Value {
    let mut value = serde_json::to_value(volume).unwrap_or_default();
    for (key, default) in [
        ("UID", json!(0)),
        ("GID", json!(0)),
        ("MountCount", json!(0)),
        ("NeedsChown", json!(false)),
    ] {
        value[key] = default;
    }
    value
}

fn list(engine: &Engine, args: &VolumeLsArgs) -> Result<i32> {
    let mut volumes = engine.list_volumes()?;
    for filter in &args.filter {
        let (key, value) = filter
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--filter {filter:?}: expected KEY=VALUE"))?;
        match key {
            "name" => volumes.retain(|v| v.name.contains(value)),
            "driver" => volumes.retain(|v| v.driver == value),
            "label" => {
                let (k, v) = value.split_once('=').unwrap_or((value, ""));
                volumes.retain(|vol| vol.labels.get(k).is_some_and(|l| v.is_empty() || l == v))
            }
            "dangling" => {
                let dangling = match value {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => bail!("--filter dangling={value:?}: expected true or false"),
                };
                let mut kept = Vec::new();
                for volume in volumes {
                    if engine.volume_users(&volume.name)?.is_empty() == dangling {
                        kept.push(volume);
                    }
                }
                volumes = kept;
            }
            other => {
                bail!("--filter {other:?}: supported filters are name, driver, label, dangling")
            }
        }
    }
    if args.quiet {
        for volume in &volumes {
            println!("{}", volume.name);
        }
        return Ok(0);
    }
    let values: Vec<Value> = volumes.iter().map(json).collect();
    match args.format.as_deref() {
        Some(f) if format::is_json(f) => println!("{}", format::json(&values)?),
        Some(f) => print!("{}", format::render(f, &values)?),
        None if args.noheading => print!("{}", format::render("{{.Driver}}\t{{.Name}}", &values)?),
        None => print!(
            "{}",
            format::table_with_header("DRIVER\tVOLUME NAME", "{{.Driver}}\t{{.Name}}", &values)?
        ),
    }
    Ok(0)
}

fn inspect(engine: &Engine, args: &VolumeInspectArgs) -> Result<i32> {
    let names: Vec<String> = if args.all {
        engine.list_volumes()?.into_iter().map(|v| v.name).collect()
    } else if args.volumes.is_empty() {
        bail!("provide one or more volume names or use --all");
    } else {
        args.volumes.clone()
    };
    super::print_inspected(
        &names,
        |name| engine.volume(name).map(|volume| json(&volume)),
        args.format.as_deref(),
    )
}

fn remove(engine: &mut Engine, args: &VolumeRmArgs) -> Result<i32> {
    let names: Vec<String> = if args.all {
        engine.list_volumes()?.into_iter().map(|v| v.name).collect()
    } else if args.volumes.is_empty() {
        bail!("choose either one or more volumes or all");
    } else {
        args.volumes.clone()
    };
    Ok(for_each(
        &names,
        |name| match engine.remove_volume(name, args.force) {
            Ok(name) => Ok(Some(name)),
            Err(EngineError::NoSuchVolume(_)) if args.force => Ok(None),
            Err(err) => Err(err.into()),
        },
        removal_code,
    ))
}

fn prune(engine: &mut Engine, args: &VolumePruneArgs) -> Result<i32> {
    if !args.force
        && !super::confirm("This will remove all volumes not used by at least one container.")?
    {
        return Ok(0);
    }
    for name in engine.prune_volumes()? {
        println!("{name}");
    }
    Ok(0)
}
