//! `quadlet list|print|install|rm`: the Quadlet files systemd's generator turns into
//! services (skiff-systemd's `quadlet`), as Podman's `quadlet` commands show them.
use anyhow::{Result, bail};
use serde_json::{Value, json};
use skiff_systemd::quadlet;

use crate::cli::QuadletCommand;
use crate::format;

pub fn dispatch(command: QuadletCommand) -> Result<i32> {
    let user = !nix::unistd::geteuid().is_root();
    match command {
        QuadletCommand::List(args) => {
            let (files, errors) = quadlet::find_files(&quadlet::search_paths(user));
            for error in errors {
                skiff_engine::warn!("{error}");
            }
            let values: Vec<Value> = files
                .iter()
                .map(|file| {
                    json!({
                        "Name": file.file_name(),
                        "UnitName": file.service_name(),
                        "Path": file.path.display().to_string(),
                    })
                })
                .collect();
            format::print_formatted(
                args.format.as_deref(),
                "NAME\tUNIT NAME\tPATH ON DISK",
                "{{.Name}}\t{{.UnitName}}\t{{.Path}}",
                &values,
            )?;
        }
        QuadletCommand::Print(args) => {
            let (files, _) = quadlet::find_files(&quadlet::search_paths(user));
            let Some(file) = files.iter().find(|f| f.file_name() == args.name) else {
                bail!("no Quadlet named {} is installed", args.name);
            };
            print!("{}", std::fs::read_to_string(&file.path)?);
        }
        QuadletCommand::Install(args) => {
            let installed =
                quadlet::install(&args.files, user, args.replace).map_err(anyhow::Error::msg)?;
            for path in installed {
                println!("{}", path.display());
            }
            reload_systemd(user);
        }
        QuadletCommand::Rm(args) => {
            let removed = quadlet::remove(&args.names, user).map_err(anyhow::Error::msg)?;
            for path in removed {
                println!("{}", path.display());
            }
            reload_systemd(user);
        }
    }
    Ok(0)
}

/// Where systemd runs, it regenerates the services now (as `systemctl daemon-reload`).
fn reload_systemd(user: bool) {
    if !std::path::Path::new("/run/systemd/system").exists() {
        return;
    }
    let mut command = std::process::Command::new("systemctl");
    if user {
        command.arg("--user");
    }
    if !command
        .arg("daemon-reload")
        .status()
        .is_ok_and(|s| s.success())
    {
        skiff_engine::warn!("systemctl daemon-reload failed: run it to load the changed services");
    }
}
