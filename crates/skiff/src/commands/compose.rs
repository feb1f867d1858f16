//! `compose`: a Compose project loaded by skiff-compose, acted on through the engine, its
//! state printed as `docker compose` prints it.
use anyhow::Result;
use serde_json::{Value, json};
use skiff_compose::{
    BuildFlags, DownOptions, Project, ProjectOptions, RemoveImages, RunOverrides, SERVICE_LABEL,
    ServiceAction, UpOptions, UpOutput, is_oneoff, list_projects, parse_scale,
};
use skiff_engine::action::Helper;
use skiff_engine::{
    CreateOptions, Engine, LogLead, LogOptions, PushOptions, Scope, StartMode, human_size,
};

use crate::cli::{
    ComposeArgs, ComposeCommand, ComposeCpArgs, ComposeExecArgs, ComposeImagesArgs, ComposeLsArgs,
    ComposeRmArgs, ComposeRunArgs, ComposeUpArgs, CpArgs, ExecArgs, GlobalArgs, ProcessArgs,
};
use crate::format;

pub fn dispatch(global: &GlobalArgs, args: ComposeArgs) -> Result<i32> {
    // Every project this store has: no file is read.
    if let ComposeCommand::Ls(ls) = &args.command {
        return print_projects(&super::open(global)?, ls);
    }
    if let ComposeCommand::Version(version) = &args.command {
        let number = env!("CARGO_PKG_VERSION");
        match (version.short, version.format.as_deref()) {
            (true, _) => println!("{number}"),
            (false, Some("json")) => println!("{}", json!({ "version": number })),
            _ => println!("skiff compose version {number}"),
        }
        return Ok(0);
    }
    let project = Project::load(&ProjectOptions {
        files: args.file.clone(),
        name: args.project_name.clone(),
        directory: args.project_directory.clone(),
        env_files: args.env_file.clone(),
        profiles: args.profile.clone(),
        working_dir: std::env::current_dir()?,
        state_dir: Some(super::store_options(global).runroot),
    })?;
    for warning in &project.warnings {
        skiff_engine::warn!("{warning}");
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
    match &args.command {
        ComposeCommand::Exec(exec) => return exec_in(global, &project, exec),
        ComposeCommand::Cp(cp) => return copy(global, &project, cp),
        ComposeCommand::Top(top) => return print_top(global, &project, &top.services),
        _ => {}
    }
    // Containers are made and started where their network is, and stopped and removed in a
    // user namespace of our own (where their storage can be unmounted).
    let scope = match &args.command {
        ComposeCommand::Up(_)
        | ComposeCommand::Scale(_)
        | ComposeCommand::Create(_)
        | ComposeCommand::Run(_)
        | ComposeCommand::Start(_)
        | ComposeCommand::Restart(_) => Scope::Run(&scope),
        _ => Scope::Store,
    };
    let mut engine = super::open_in(global, scope)?;
    let progress = |line: &str| eprintln!(" {line}");
    let action = |services: &[String], action: ServiceAction, engine: &mut Engine| {
        project.act(engine, services, &action, &progress)
    };
    match args.command {
        ComposeCommand::Up(up) => return up_project(&project, &mut engine, &up),
        ComposeCommand::Create(create) => {
            let options = UpOptions {
                services: create.services,
                force_recreate: create.force_recreate,
                no_recreate: create.no_recreate,
                no_start: true,
                build: create.build,
                scale: parse_scale(&create.scale)?,
                ..Default::default()
            };
            up_with_output(&project, &mut engine, &options)?;
        }
        ComposeCommand::Down(down) => {
            let helper = Helper::new(std::env::current_exe()?, super::store_options(global));
            let options = DownOptions {
                timeout: down.timeout,
                volumes: down.volumes,
                rmi: down.rmi.as_deref().map(RemoveImages::parse).transpose()?,
            };
            project.down(&mut engine, &helper, &options, &progress)?
        }
        ComposeCommand::Ps(ps) => return print_ps(&project, &engine, &ps),
        ComposeCommand::Logs(logs) => {
            let options = LogOptions {
                follow: logs.follow,
                tail: logs.tail,
                timestamps: logs.timestamps,
                ..log_layout(logs.no_log_prefix, logs.no_color)
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
        ComposeCommand::Start(start) => action(&start.services, ServiceAction::Start, &mut engine)?,
        ComposeCommand::Stop(stop) => action(
            &stop.services,
            ServiceAction::Stop(stop.timeout),
            &mut engine,
        )?,
        ComposeCommand::Restart(restart) => action(
            &restart.services,
            ServiceAction::Restart(restart.timeout),
            &mut engine,
        )?,
        ComposeCommand::Kill(kill) => action(
            &kill.services,
            ServiceAction::Kill(kill.signal),
            &mut engine,
        )?,
        ComposeCommand::Pause(pause) => action(&pause.services, ServiceAction::Pause, &mut engine)?,
        ComposeCommand::Unpause(unpause) => {
            action(&unpause.services, ServiceAction::Unpause, &mut engine)?
        }
        ComposeCommand::Rm(rm) => return remove(&project, &mut engine, &rm),
        ComposeCommand::Build(build) => {
            let flags = BuildFlags {
                no_cache: build.no_cache,
                pull: build.pull,
                quiet: build.quiet,
            };
            let mut out = std::io::stdout();
            for service in project.built_services(&build.services)? {
                project.build_service(&mut engine, &service, &flags, &mut out)?;
            }
        }
        ComposeCommand::Pull(pull) => {
            let printer = super::registry::progress_printer(pull.quiet);
            project.pull(
                &mut engine,
                &pull.services,
                pull.ignore_pull_failures,
                &printer,
                &progress,
            )?;
        }
        ComposeCommand::Push(push) => {
            let printer = super::registry::progress_printer(false);
            let options = PushOptions::default();
            project.push(&engine, &push.services, &options, &printer, &progress)?;
        }
        ComposeCommand::Images(images) => return print_images(&project, &engine, &images),
        ComposeCommand::Port(port) => {
            let container = project.replica_name(&port.service, port.index);
            project.check_services(std::slice::from_ref(&port.service))?;
            let wanted = format!("{}/{} -> ", port.port, port.protocol);
            match engine
                .container_ports(&container)?
                .iter()
                .find_map(|line| line.strip_prefix(&wanted))
            {
                Some(host) => println!("{host}"),
                None => anyhow::bail!(
                    "no port {}/{} for container {container}",
                    port.port,
                    port.protocol
                ),
            }
        }
        ComposeCommand::Run(run) => return run_oneoff(&project, &mut engine, &run),
        ComposeCommand::Scale(scaling) => {
            let scale = parse_scale(&scaling.scale)?;
            let options = UpOptions {
                services: scale.keys().cloned().collect(),
                no_recreate: true,
                no_deps: scaling.no_deps,
                scale,
                ..Default::default()
            };
            up_with_output(&project, &mut engine, &options)?;
        }
        ComposeCommand::Wait(wait) => {
            for (name, code) in project.wait(&engine, &wait.services)? {
                println!("{name} {code}");
            }
            if wait.down_project {
                let helper = Helper::new(std::env::current_exe()?, super::store_options(global));
                project.down(&mut engine, &helper, &DownOptions::default(), &progress)?;
            }
        }
        ComposeCommand::Events(events) => {
            use std::io::Write;
            let mut out = std::io::stdout();
            project.events(&engine, &events.services, |event| {
                let line = if events.json {
                    serde_json::to_string(event).unwrap_or_default()
                } else {
                    event.line()
                };
                writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
            })?;
        }
        ComposeCommand::Config(_)
        | ComposeCommand::Exec(_)
        | ComposeCommand::Top(_)
        | ComposeCommand::Ls(_)
        | ComposeCommand::Version(_)
        | ComposeCommand::Cp(_) => {}
    }
    Ok(0)
}

/// Runs `work` with Compose's progress on stderr, a build's and a pull's too.
fn with_output<T>(work: impl FnOnce(&mut UpOutput<'_>) -> T) -> T {
    let printer = super::registry::progress_printer(false);
    let mut build = std::io::stderr();
    let progress = |line: &str| eprintln!(" {line}");
    work(&mut UpOutput {
        progress: &progress,
        build: &mut build,
        pull: &printer,
    })
}

/// `up` or `create`.
fn up_with_output(project: &Project, engine: &mut Engine, options: &UpOptions) -> Result<()> {
    Ok(with_output(|output| project.up(engine, options, output))?)
}

/// `compose up`: detached, waiting for readiness, or attached to the services' output
/// (until they have all exited, or the first one with --abort-on-container-exit).
fn up_project(project: &Project, engine: &mut Engine, up: &ComposeUpArgs) -> Result<i32> {
    if !up.remove_orphans {
        let orphans: Vec<String> = project
            .orphans(engine)?
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        if !orphans.is_empty() {
            skiff_engine::warn!(
                "Found orphan containers ([{}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
                orphans.join(" ")
            );
        }
    }
    let options = UpOptions {
        services: up.services.clone(),
        force_recreate: up.force_recreate,
        no_recreate: up.no_recreate,
        no_start: up.no_start,
        no_deps: up.no_deps,
        remove_orphans: up.remove_orphans,
        build: up.build,
        scale: parse_scale(&up.scale)?,
        timeout: up.timeout,
    };
    up_with_output(project, engine, &options)?;
    if up.no_start {
        return Ok(0);
    }
    if up.wait {
        project.wait_ready(engine, &up.services)?;
        return Ok(0);
    }
    if up.detach {
        return Ok(0);
    }
    let abort = up.abort_on_container_exit || up.exit_code_from.is_some();
    let attached: Vec<String> = project
        .service_containers(engine, &up.services)?
        .iter()
        .filter(|c| !is_oneoff(c))
        .map(|c| c.name().to_string())
        .collect();
    println!("Attaching to {}", attached.join(", "));
    // Ctrl-C stops the project's containers, as docker compose's does; a second ends skiff.
    let interrupts = skiff_engine::interrupt::Interrupts::catch();
    let options = LogOptions {
        follow: true,
        until_first_exit: abort,
        until_interrupted: true,
        ..log_layout(up.no_log_prefix, up.no_color)
    };
    let (out, err) = (std::io::stdout(), std::io::stderr());
    project.logs(
        engine,
        &up.services,
        &options,
        &mut out.lock(),
        &mut err.lock(),
    )?;
    let code = if interrupts.received().is_some() {
        eprintln!("Gracefully stopping... (press Ctrl+C again to force)");
        Some(130)
    } else if !abort {
        return Ok(0);
    } else {
        eprintln!("Aborting on container exit...");
        exit_code_of(project, engine, up)?
    };
    let progress = |line: &str| eprintln!(" {line}");
    project.act(
        engine,
        &up.services,
        &ServiceAction::Stop(up.timeout),
        &progress,
    )?;
    Ok(code.unwrap_or(0))
}

/// `--abort-on-container-exit`: the code of `--exit-code-from`'s container, else of the
/// first that stopped.
fn exit_code_of(project: &Project, engine: &mut Engine, up: &ComposeUpArgs) -> Result<Option<i32>> {
    let containers = project.service_containers(engine, &up.services)?;
    Ok(match &up.exit_code_from {
        Some(service) => {
            project.check_services(std::slice::from_ref(service))?;
            let name = project.container_name(service);
            containers
                .iter()
                .find(|c| c.name() == name)
                .map(|c| c.exit_code())
        }
        None => containers
            .iter()
            .filter(|c| !c.is_running())
            .max_by_key(|c| c.finished_at())
            .map(|c| c.exit_code()),
    })
}

/// docker compose's log lines: led by the container's name (colored in a terminal).
fn log_layout(no_prefix: bool, no_color: bool) -> LogOptions {
    use std::io::IsTerminal;
    LogOptions {
        lead: if no_prefix {
            LogLead::Nothing
        } else {
            LogLead::Compose
        },
        color: !no_color && std::io::stdout().is_terminal(),
        ..Default::default()
    }
}

/// `compose rm`: the services' stopped containers (stopped first with -s), after a
/// question unless -f.
fn remove(project: &Project, engine: &mut Engine, args: &ComposeRmArgs) -> Result<i32> {
    let progress = |line: &str| eprintln!(" {line}");
    if args.stop {
        project.act(
            engine,
            &args.services,
            &ServiceAction::Stop(None),
            &progress,
        )?;
    }
    let containers = project.stopped_containers(engine, &args.services)?;
    if containers.is_empty() {
        eprintln!("No stopped containers");
        return Ok(0);
    }
    if !args.force {
        use std::io::Write;
        let names: Vec<&str> = containers.iter().map(|c| c.name()).collect();
        eprint!(
            "Going to remove {}\n? Are you sure? (y/N) ",
            names.join(", ")
        );
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(0);
        }
    }
    project.remove(engine, &containers, args.volumes, &progress)?;
    Ok(0)
}

/// `compose run`: a one-off container of the service, run as `skiff run` runs one.
fn run_oneoff(project: &Project, engine: &mut Engine, args: &ComposeRunArgs) -> Result<i32> {
    use std::io::IsTerminal;
    let overrides = RunOverrides {
        command: args.command.clone(),
        entrypoint: args.entrypoint.clone(),
        env: args.env.clone(),
        labels: args.label.clone(),
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        publish: args.publish.clone(),
        service_ports: args.service_ports,
        volumes: args.volume.clone(),
        name: args.name.clone(),
        rm: args.rm,
        tty: !args.no_tty && !args.detach && std::io::stdin().is_terminal(),
        interactive: !args.detach,
    };
    let id = with_output(|output| {
        project.create_oneoff(
            engine,
            &args.service,
            &overrides,
            args.no_deps,
            args.build,
            output,
        )
    })?;
    // Docker's detach keys, ctrl-p,ctrl-q.
    let mode = StartMode::for_run(args.detach, &[], !args.detach, vec![0x10, 0x11])?;
    let code = engine.run_created(&id, mode, None)?;
    if args.detach {
        println!("{id}");
    }
    Ok(code)
}

/// `compose exec SERVICE CMD`: `exec` in the service's container, with a terminal when this
/// one has one (unless -T), as docker compose does.
fn exec_in(global: &GlobalArgs, project: &Project, args: &ComposeExecArgs) -> Result<i32> {
    use std::io::IsTerminal;
    project.check_services(std::slice::from_ref(&args.service))?;
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

/// `compose cp`: `cp` with service paths standing for their containers'.
fn copy(global: &GlobalArgs, project: &Project, args: &ComposeCpArgs) -> Result<i32> {
    // Docker's cp chowns to the destination's user unless -a keeps the source's owners:
    // Podman's --archive=true and false.
    let cp = CpArgs {
        archive: !args.archive,
        pause: true,
        overwrite: false,
        source: project.copy_target(&args.source, args.index)?,
        destination: project.copy_target(&args.destination, args.index)?,
    };
    let engine = match super::container::cp_containers(&cp)? {
        (one, None) => super::open_in(global, Scope::Container(&one))?,
        (from, Some(to)) => super::open_in(global, Scope::Containers(&from, &to))?,
    };
    super::container::cp(&engine, &cp)
}

/// `compose top`: each running container's processes, under its name. The engine is
/// opened in the user namespace of the first service's container (rootless containers
/// share the one of their user).
fn print_top(global: &GlobalArgs, project: &Project, services: &[String]) -> Result<i32> {
    let first = match services.first() {
        Some(service) => service.clone(),
        None => project.ordered_services(&[])?.remove(0),
    };
    let engine = super::open_in(global, Scope::Container(&project.container_name(&first)))?;
    let mut running = project.service_containers(&engine, services)?;
    running.retain(|c| c.is_running());
    for container in &running {
        println!("{}", container.name());
        print!("{}", engine.top_container(container.id(), &[])?.render());
        println!();
    }
    Ok(0)
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
                "State": c.state.as_str(),
                "Status": c.status(now),
                "ExitCode": c.exit_code(),
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

/// `compose images`: each container's image, as docker compose lists them.
fn print_images(project: &Project, engine: &Engine, args: &ComposeImagesArgs) -> Result<i32> {
    let containers = project.service_containers(engine, &args.services)?;
    if args.quiet {
        let mut ids: Vec<&str> = containers.iter().map(|c| c.image().0).collect();
        ids.dedup();
        for id in ids {
            println!("{id}");
        }
        return Ok(0);
    }
    let mut values = Vec::new();
    for container in &containers {
        let (id, name) = container.image();
        // `registry/repo:tag`: the tag after the last colon that follows the last slash.
        let (repository, tag) = match name.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, tag),
            _ => (name, "latest"),
        };
        let size = engine.image(id).map(|i| i.image.size).unwrap_or(0);
        values.push(json!({
            "ContainerName": container.name(),
            "Repository": repository,
            "Tag": tag,
            "ID": id,
            "ShortID": &id[..id.len().min(12)],
            "Size": size,
            "HumanSize": human_size(size),
        }));
    }
    format::print_formatted(
        args.format.as_deref(),
        "CONTAINER\tREPOSITORY\tTAG\tIMAGE ID\tSIZE",
        "{{.ContainerName}}\t{{.Repository}}\t{{.Tag}}\t{{.ShortID}}\t{{.HumanSize}}",
        &values,
    )?;
    Ok(0)
}

/// `compose ls`.
fn print_projects(engine: &Engine, args: &ComposeLsArgs) -> Result<i32> {
    let projects = list_projects(engine, args.all)?;
    if args.quiet {
        for project in &projects {
            println!("{}", project.name);
        }
        return Ok(0);
    }
    let values: Vec<Value> = projects
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    format::print_formatted(
        args.format.as_deref(),
        "NAME\tSTATUS\tCONFIG FILES",
        "{{.Name}}\t{{.Status}}\t{{.ConfigFiles}}",
        &values,
    )?;
    Ok(0)
}
