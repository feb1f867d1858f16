//! `compose`: a Compose project loaded by skiff-compose, brought up and down through the
//! engine, its state printed as `docker compose` prints it.
use anyhow::Result;
use serde_json::{Value, json};
use skiff_compose::{Project, ProjectOptions, SERVICE_LABEL, UpOptions};
use skiff_engine::action::Helper;
use skiff_engine::{CreateOptions, Engine, LogOptions, Scope, StartMode};

use crate::cli::{ComposeArgs, ComposeCommand, ComposeExecArgs, ExecArgs, GlobalArgs, ProcessArgs};
use crate::format;

pub fn dispatch(global: &GlobalArgs, args: ComposeArgs) -> Result<i32> {
    let project = Project::load(&ProjectOptions {
        files: args.file.clone(),
        name: args.project_name.clone(),
        directory: args.project_directory.clone(),
        env_files: args.env_file.clone(),
        profiles: args.profile.clone(),
        working_dir: std::env::current_dir()?,
    })?;
    for warning in &project.warnings {
        eprintln!("WARN[0000] {warning}");
    }
    if let ComposeCommand::Config(config) = &args.command {
        return print_config(&project, config);
    }
    // Where the project's containers run: its first network (rootless bridges live in the
    // rootless network namespace).
    let network = project
        .file
        .services
        .values()
        .flat_map(|s| project.service_networks(s))
        .next()
        .map(|key| project.network_name(&key));
    let scope = CreateOptions {
        network: network.into_iter().collect(),
        ..Default::default()
    };
    if let ComposeCommand::Exec(exec) = &args.command {
        return exec_in(global, &project, exec);
    }
    // Containers are started where their network is, and stopped and removed in a user
    // namespace of our own (where their storage can be unmounted).
    let scope = match &args.command {
        ComposeCommand::Up(_) | ComposeCommand::Start(_) | ComposeCommand::Restart(_) => {
            Scope::Run(&scope)
        }
        _ => Scope::Store,
    };
    let mut engine = super::open_in(global, scope)?;
    let progress = |line: &str| eprintln!(" {line}");
    match args.command {
        ComposeCommand::Up(up) => {
            let options = UpOptions {
                services: up.services.clone(),
                force_recreate: up.force_recreate,
                no_start: up.no_start,
            };
            project.up(&mut engine, &options, &progress)?;
            if !up.detach && !up.no_start {
                // Attached: the services' output until every container has exited.
                let options = LogOptions {
                    follow: true,
                    ..Default::default()
                };
                let (out, err) = (std::io::stdout(), std::io::stderr());
                project.logs(
                    &engine,
                    &up.services,
                    &options,
                    &mut out.lock(),
                    &mut err.lock(),
                )?;
            }
        }
        ComposeCommand::Down(down) => {
            let helper = Helper::new(std::env::current_exe()?, super::store_options(global));
            project.down(&mut engine, &helper, down.timeout, down.volumes, &progress)?
        }
        ComposeCommand::Ps(ps) => return print_ps(&project, &engine, &ps),
        ComposeCommand::Logs(logs) => {
            let options = LogOptions {
                follow: logs.follow,
                tail: logs.tail,
                timestamps: logs.timestamps,
                ..Default::default()
            };
            let (out, err) = (std::io::stdout(), std::io::stderr());
            project.logs(
                &engine,
                &logs.services,
                &options,
                &mut out.lock(),
                &mut err.lock(),
            )?;
        }
        ComposeCommand::Start(start) => {
            for container in project.service_containers(&engine, &start.services)? {
                engine.start_container(container.name(), StartMode::Detached)?;
                progress(&format!("Container {}  Started", container.name()));
            }
        }
        ComposeCommand::Stop(stop) => {
            for container in project.service_containers(&engine, &stop.services)? {
                engine.stop_container(container.name(), stop.timeout)?;
                progress(&format!("Container {}  Stopped", container.name()));
            }
        }
        ComposeCommand::Restart(restart) => {
            for container in project.service_containers(&engine, &restart.services)? {
                engine.restart_container(container.name(), restart.timeout)?;
                progress(&format!("Container {}  Started", container.name()));
            }
        }
        ComposeCommand::Config(_) | ComposeCommand::Exec(_) => {}
    }
    Ok(0)
}

/// `compose exec SERVICE CMD`: `exec` in the service's container, with a terminal when this
/// one has one (unless -T), as docker compose does.
fn exec_in(global: &GlobalArgs, project: &Project, args: &ComposeExecArgs) -> Result<i32> {
    use std::io::IsTerminal;
    if !project.file.services.contains_key(&args.service) {
        anyhow::bail!("no such service: {}", args.service);
    }
    let container = project.container_name(&args.service);
    let engine = super::open_in(global, Scope::Container(&container))?;
    let terminal = !args.no_tty && !args.detach && std::io::stdin().is_terminal();
    let exec = ExecArgs {
        detach: args.detach,
        interactive: !args.detach,
        tty: terminal,
        process: ProcessArgs {
            env: args.env.clone(),
            env_file: Vec::new(),
            workdir: args.workdir.clone(),
            user: args.user.clone(),
        },
        privileged: args.privileged,
        detach_keys: None,
        container,
        command: args.command.clone(),
    };
    super::container::exec(&engine, &exec)
}

fn print_config(project: &Project, args: &crate::cli::ComposeConfigArgs) -> Result<i32> {
    if args.quiet {
        return Ok(0);
    }
    if args.services {
        for name in project.file.services.keys() {
            println!("{name}");
        }
    } else if args.volumes {
        for name in project.file.volumes.keys() {
            println!("{name}");
        }
    } else {
        let mut file = project.file.clone();
        file.name = Some(project.name.clone());
        print!("{}", yaml_text(&file)?);
    }
    Ok(0)
}

fn yaml_text(file: &skiff_compose::model::ComposeFile) -> Result<String> {
    Ok(serde_json::to_value(file).map(|v| format::yaml(&v))?)
}

fn print_ps(project: &Project, engine: &Engine, args: &crate::cli::ComposePsArgs) -> Result<i32> {
    if args.services {
        for name in project.file.services.keys() {
            println!("{name}");
        }
        return Ok(0);
    }
    let mut containers = project.service_containers(engine, &args.only)?;
    if !args.all {
        containers.retain(|c| c.is_running());
    }
    if args.quiet {
        for container in &containers {
            println!("{}", container.id());
        }
        return Ok(0);
    }
    let now = chrono::Utc::now();
    let values: Vec<Value> = containers
        .iter()
        .map(|c| {
            let spec = c.spec();
            let command: Vec<String> = spec
                .entrypoint
                .clone()
                .unwrap_or_default()
                .into_iter()
                .chain(spec.command.clone())
                .collect();
            json!({
                "ID": c.id(),
                "Name": c.name(),
                "Image": c.image().1,
                "Command": format!("\"{}\"", command.join(" ")),
                "Project": project.name,
                "Service": spec.labels.get(SERVICE_LABEL).cloned().unwrap_or_default(),
                "Created": c.created().timestamp(),
                "State": if c.is_running() { "running" } else { "exited" },
                "Status": c.status(now),
                "Ports": c.ports_text(),
            })
        })
        .collect();
    format::print_formatted(
        args.format.as_deref(),
        "NAME\tIMAGE\tCOMMAND\tSERVICE\tSTATUS\tPORTS",
        "{{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.Status}}\t{{.Ports}}",
        &values,
    )?;
    Ok(0)
}
