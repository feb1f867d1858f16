//! `mount`/`umount` of containers and images, and `unshare`, where a rootless user's mounts
//! last.
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde_json::json;
use skiff_engine::{ContainerMount, Engine, ImageMount, Scope};

use super::{for_each, open_in};
use crate::cli::{GlobalArgs, ImageMountArgs, ImageUmountArgs, MountArgs, UmountArgs, UnshareArgs};
use crate::format;

pub fn mount(engine: &Engine, args: &MountArgs) -> Result<i32> {
    if args.latest && !args.containers.is_empty() {
        bail!("--latest and containers cannot be used together");
    }
    let names = if args.all {
        engine
            .list_containers(false)?
            .into_iter()
            .map(|c| c.id().to_string())
            .collect()
    } else if args.latest {
        vec![engine.latest_container()?]
    } else {
        args.containers.clone()
    };
    if !names.is_empty() || args.all {
        return Ok(for_each(
            &names,
            |name| {
                Ok(Some(
                    engine.mount_container(name)?.path.display().to_string(),
                ))
            },
            super::container::code_for,
        ));
    }
    let mounted = engine.mounted_containers()?;
    match args.format.as_deref() {
        Some(f) if format::is_json(f) => {
            let reports: Vec<_> = mounted
                .iter()
                .map(|m| json!({"id": m.id, "Names": [m.name], "mountpoint": m.path}))
                .collect();
            println!("{}", format::json_indented(&reports, b" ")?);
        }
        Some(other) => bail!("unknown --format argument: {other:?}"),
        None => print_table(mounted.iter().map(|m: &ContainerMount| {
            let id = if args.no_trunc {
                &m.id
            } else {
                &m.id[..12.min(m.id.len())]
            };
            format!("{id}\t{}", m.path.display())
        })),
    }
    Ok(0)
}

pub fn umount(engine: &Engine, args: &UmountArgs) -> Result<i32> {
    if args.latest && !args.containers.is_empty() {
        bail!("--latest and containers cannot be used together");
    }
    let names = if args.all {
        engine
            .mounted_containers()?
            .into_iter()
            .map(|m| m.id)
            .collect()
    } else if args.latest {
        vec![engine.latest_container()?]
    } else if args.containers.is_empty() {
        bail!("you must provide at least one container name or ID");
    } else {
        args.containers.clone()
    };
    Ok(for_each(
        &names,
        |name| Ok(engine.unmount_container(name, args.force)?),
        super::container::code_for,
    ))
}

pub fn image_mount(engine: &Engine, args: &ImageMountArgs) -> Result<i32> {
    if args.all && !args.images.is_empty() {
        bail!("when using the --all switch, you may not pass any image names or IDs");
    }
    let names: Vec<String> = if args.all {
        engine
            .list_images()?
            .iter()
            .map(|i| i.id().to_string())
            .collect()
    } else {
        args.images.clone()
    };
    let mounted = if names.is_empty() {
        engine.mounted_images()?
    } else {
        names
            .iter()
            .map(|name| engine.mount_image(name))
            .collect::<Result<Vec<_>, _>>()?
    };
    if names.len() == 1 && args.format.is_none() && !args.all {
        println!("{}", mounted[0].path.display());
        return Ok(0);
    }
    match args.format.as_deref() {
        Some(f) if format::is_json(f) => {
            let reports: Vec<_> = mounted
                .iter()
                .map(|m| {
                    json!({"id": m.id, "Names": [m.repositories.first().unwrap_or(&m.id)], "Repositories": m.repositories, "mountpoint": m.path})
                })
                .collect();
            println!("{}", format::json_indented(&reports, b" ")?);
        }
        Some(other) => bail!("unknown --format argument: {other:?}"),
        None => print_table(mounted.iter().map(|m: &ImageMount| {
            let name = m.repositories.first().unwrap_or(&m.id);
            format!("{name}\t{}", m.path.display())
        })),
    }
    Ok(0)
}

pub fn image_umount(engine: &Engine, args: &ImageUmountArgs) -> Result<i32> {
    if args.all && !args.images.is_empty() {
        bail!("when using the --all switch, you may not pass any image names or IDs");
    }
    let names: Vec<String> = if args.all {
        engine.mounted_images()?.into_iter().map(|m| m.id).collect()
    } else if args.images.is_empty() {
        bail!("image name or ID must be specified");
    } else {
        args.images.clone()
    };
    Ok(for_each(
        &names,
        |name| Ok(engine.unmount_image(name, args.force || args.all)?),
        super::container::code_for,
    ))
}

/// `unshare [COMMAND...]`: the command runs in the user (and mount) namespace skiff's
/// rootless commands use, and its exit code is ours.
pub fn unshare(global: &GlobalArgs, args: &UnshareArgs) -> Result<i32> {
    let scope = if args.rootless_netns {
        Scope::Networks
    } else {
        Scope::Store
    };
    let engine = open_in(global, scope)?;
    let environment = engine.unshare_environment()?;
    let command = if args.command.is_empty() {
        vec![std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into())]
    } else {
        args.command.clone()
    };
    let Some(program) = find_program(&command[0]) else {
        bail!("exec: {:?}: executable file not found in $PATH", command[0]);
    };
    let status = std::process::Command::new(program)
        .arg0(&command[0])
        .args(&command[1..])
        .envs(environment)
        .status()
        .with_context(|| command[0].clone())?;
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}

/// `program` as a shell finds it: a path as it is, else the first executable file of that
/// name in $PATH (directories this user cannot read are passed over).
fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// Podman's mount tables: two tab-separated columns, aligned.
fn print_table(rows: impl Iterator<Item = String>) {
    let rows: Vec<String> = rows.collect();
    if !rows.is_empty() {
        println!("{}", format::align(&rows));
    }
}
