//! Container commands.
use std::io::Write;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use skiff_engine::{
    AttachOptions, ChangeKind, ContainerFilter, ContainerState, CopyTarget, Engine, EngineError,
    ErrorKind, ExecOptions, LogOptions, NewContainer, PullPolicy, StartMode,
};

use super::run_options::create_options;
use super::{Exit, for_each};
use crate::cli::{
    AttachArgs, CpArgs, DiffArgs, ExecArgs, ExportArgs, KillArgs, LogsArgs, LogsOptions, NameArg,
    PauseArgs, PortArgs, PruneArgs, PsArgs, RenameArgs, RmArgs, RunArgs, StartArgs, StopArgs,
    TopArgs, UpdateArgs, WaitArgs,
};
use crate::format;

pub fn create(engine: &mut Engine, args: RunArgs) -> Result<i32> {
    let id = create_with_warnings(engine, &args)?;
    println!("{id}");
    Ok(0)
}

fn create_with_warnings(engine: &mut Engine, args: &RunArgs) -> Result<String> {
    if args.kernel_memory.is_some() {
        skiff_engine::warn!(
            "The --kernel-memory flag is no longer supported. This flag is a noop."
        );
    }
    let pull = super::registry::run_pull_options(args)?;
    let new = NewContainer {
        name: args.name.clone(),
        replace: args.replace,
        pull: PullPolicy::parse(args.pull.as_deref().unwrap_or("missing"))?,
        platform: pull.platform,
        registry: pull.registry,
        cidfile: args.cidfile.clone(),
        create_command: std::env::args().collect(),
        ..NewContainer::new(create_options(args))
    };
    let created = engine.create_from(&new, &super::registry::progress_printer(false))?;
    // Podman prints what creating a container warns of as it is, without a log prefix.
    for warning in &created.warnings {
        eprintln!("{warning}");
    }
    Ok(created.id)
}

pub fn run(engine: &mut Engine, args: RunArgs) -> Result<i32> {
    let mode = StartMode::for_run(
        args.detach,
        &args.attach,
        args.interactive,
        detach_keys(&args.detach_keys)?,
    )?;
    let id = create_with_warnings(engine, &args)?;
    let attached_without_output = !args.detach && !mode.shows_output();
    if attached_without_output {
        // Podman's, for a run attached to stdin alone.
        println!("{id}");
    }
    let code = match engine.run_created(&id, mode, args.rmi.then_some(args.image.as_str())) {
        Ok(code) => code,
        // Podman's run: a container whose start failed (a port already taken, say) is 126;
        // bad input found on the way stays 125.
        Err(err @ EngineError::Child(..))
            if !matches!(err.kind(), ErrorKind::InvalidArgument | ErrorKind::NotFound) =>
        {
            eprintln!("Error: {err}");
            return Err(Exit(126).into());
        }
        Err(err) => return Err(err.into()),
    };
    if args.detach {
        println!("{id}");
        return Ok(0);
    }
    Ok(code)
}

pub fn start(engine: &mut Engine, args: &StartArgs) -> Result<i32> {
    if args.attach {
        let [name] = args.containers.as_slice() else {
            bail!("you cannot start and attach multiple containers at once");
        };
        return Ok(engine.start_container(
            name,
            StartMode::attached(args.interactive, detach_keys(&args.detach_keys)?),
        )?);
    }
    if args.all && !args.containers.is_empty() {
        bail!("either start all containers or the container(s) provided in the arguments");
    }
    // Podman's start fails with 125 whatever the runtime said (run passes 126/127 on).
    let start_failure = |_: &anyhow::Error| 125;
    if !args.all && args.filter.is_empty() {
        // Podman prints what was asked for: a name stays a name.
        return Ok(for_each(
            &args.containers,
            |name| {
                engine.start_container(name, StartMode::Detached)?;
                Ok(Some(name.to_string()))
            },
            start_failure,
        ));
    }
    let filter = ContainerFilter::parse(&args.filter)?;
    let chosen: Vec<String> = if args.all {
        engine
            .list_containers_filtered(true, &filter)?
            .into_iter()
            .filter(|c| !c.is_running())
            .map(|c| c.id().to_string())
            .collect()
    } else {
        let mut chosen = Vec::new();
        for name in &args.containers {
            let container = engine.container(name)?;
            if filter.matches(&container) {
                chosen.push(container.id().to_string());
            }
        }
        chosen
    };
    Ok(for_each(
        &chosen,
        |id| {
            engine.start_container(id, StartMode::Detached)?;
            Ok(Some(id.to_string()))
        },
        start_failure,
    ))
}

fn targets(engine: &Engine, all: bool, names: &[String]) -> Result<Vec<String>> {
    if all {
        return Ok(engine
            .list_containers(false)?
            .into_iter()
            .map(|c| c.id().to_string())
            .collect());
    }
    if names.is_empty() {
        bail!("you must provide at least one container name or ID");
    }
    Ok(names.to_vec())
}

/// The containers named, with the IDs in `--cidfile` files (a missing file skipped with
/// `ignore`, as Podman).
fn with_cidfiles(
    mut names: Vec<String>,
    files: &[std::path::PathBuf],
    ignore: bool,
) -> Result<Vec<String>> {
    for file in files {
        match std::fs::read_to_string(file) {
            Ok(id) => names.push(id.trim().to_string()),
            Err(e) if ignore && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => bail!("reading CIDFile {}: {e}", file.display()),
        }
    }
    Ok(names)
}

pub fn stop(engine: &mut Engine, args: &StopArgs) -> Result<i32> {
    let names = if args.cidfile.is_empty() {
        targets(engine, args.all, &args.containers)?
    } else {
        with_cidfiles(args.containers.clone(), &args.cidfile, args.ignore)?
    };
    // All at once, as Podman stops them.
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut results = engine.stop_containers(&all, args.time).into_iter();
    Ok(for_each(
        &names,
        |name| match results.next().unwrap_or(Ok(())) {
            Ok(()) => Ok(Some(name.to_string())),
            Err(EngineError::NoSuchContainer(_)) if args.ignore => Ok(None),
            Err(err) => Err(err.into()),
        },
        code_for,
    ))
}

pub fn restart(engine: &mut Engine, args: &StopArgs) -> Result<i32> {
    let names = targets(engine, args.all, &args.containers)?;
    Ok(for_each(
        &names,
        |name| {
            engine.restart_container(name, args.time)?;
            Ok(Some(engine.container(name)?.id().to_string()))
        },
        code_for,
    ))
}

pub fn kill(engine: &mut Engine, args: &KillArgs) -> Result<i32> {
    let names = targets(engine, args.all, &args.containers)?;
    Ok(for_each(
        &names,
        |name| {
            engine.kill_container(name, &args.signal)?;
            Ok(Some(name.to_string()))
        },
        code_for,
    ))
}

pub fn wait(engine: &Engine, args: &WaitArgs) -> Result<i32> {
    Ok(for_each(
        &args.containers,
        |name| {
            Ok(Some(
                engine
                    .wait_container_for(name, &args.condition)?
                    .to_string(),
            ))
        },
        code_for,
    ))
}

pub fn pause(engine: &Engine, args: &PauseArgs, freeze: bool) -> Result<i32> {
    let names = if args.all {
        let wanted = if freeze {
            ContainerState::Running
        } else {
            ContainerState::Paused
        };
        engine
            .list_containers(false)?
            .into_iter()
            .filter(|c| c.state == wanted)
            .map(|c| c.id().to_string())
            .collect()
    } else if args.containers.is_empty() {
        bail!("you must provide at least one container name or ID");
    } else {
        args.containers.clone()
    };
    Ok(for_each(
        &names,
        |name| {
            if freeze {
                engine.pause_container(name)?;
            } else {
                engine.unpause_container(name)?;
            }
            Ok(Some(name.to_string()))
        },
        code_for,
    ))
}

pub fn top(engine: &Engine, args: &TopArgs) -> Result<i32> {
    print!(
        "{}",
        engine
            .top_container(&args.container, &args.descriptors)?
            .render()
    );
    Ok(0)
}

pub fn rename(engine: &mut Engine, args: &RenameArgs) -> Result<i32> {
    engine.rename_container(&args.container, &args.name)?;
    Ok(0)
}

pub fn port(engine: &Engine, args: &PortArgs) -> Result<i32> {
    let containers = match (&args.container, args.all) {
        (Some(_), true) => bail!("--all and a container name cannot be given together"),
        (Some(name), false) => vec![name.clone()],
        (None, true) => engine
            .list_containers(false)?
            .into_iter()
            .map(|c| c.id().to_string())
            .collect(),
        (None, false) => bail!("you must provide a container name or ID, or --all"),
    };
    // `PORT[/PROTO]`: only that port's host addresses, as Podman prints them.
    let wanted = args.port.as_deref().map(|port| {
        if port.contains('/') {
            port.to_string()
        } else {
            format!("{port}/tcp")
        }
    });
    let mut found = false;
    for name in containers {
        for line in engine.container_ports(&name)? {
            match &wanted {
                None => println!("{line}"),
                Some(wanted) => {
                    if let Some(host) = line.strip_prefix(&format!("{wanted} -> ")) {
                        println!("{host}");
                        found = true;
                    }
                }
            }
        }
    }
    if let Some(wanted) = wanted
        && !found
    {
        bail!("failed to find published port {wanted:?}");
    }
    Ok(0)
}

pub fn rm(engine: &mut Engine, args: &RmArgs) -> Result<i32> {
    let names = if !args.cidfile.is_empty() {
        with_cidfiles(
            args.containers.clone(),
            &args.cidfile,
            args.ignore || args.force,
        )?
    } else if args.all {
        engine
            .list_containers(true)?
            .into_iter()
            .map(|c| c.id().to_string())
            .collect()
    } else if args.latest {
        if !args.containers.is_empty() {
            bail!("--latest and containers cannot be used together");
        }
        vec![engine.latest_container()?]
    } else if args.containers.is_empty() {
        bail!("you must provide at least one name or id");
    } else {
        args.containers.clone()
    };
    Ok(for_each(
        &names,
        |name| match engine.remove_container_and_volumes(name, args.force, args.volumes) {
            Ok(id) => Ok(Some(id)),
            // Podman: --force implies --ignore.
            Err(EngineError::NoSuchContainer(_)) if args.ignore || args.force => Ok(None),
            Err(err) => Err(err.into()),
        },
        removal_code,
    ))
}

/// Exit codes of commands over many containers: the engine's mapping, 125 for others.
pub(super) fn code_for(err: &anyhow::Error) -> i32 {
    err.downcast_ref::<EngineError>()
        .map_or(125, EngineError::exit_code)
}

/// Exit codes of `rm` and `rmi`: 1 no such object, 2 in use or running (the engine's mapping).
pub(super) fn removal_code(err: &anyhow::Error) -> i32 {
    err.downcast_ref::<EngineError>()
        .map_or(125, EngineError::removal_exit_code)
}

pub fn ps(engine: &Engine, args: &PsArgs) -> Result<i32> {
    let filter = ContainerFilter::parse(&args.filter)?;
    let mut containers = engine.list_containers_filtered(args.all || args.latest, &filter)?;
    if args.latest {
        containers.truncate(1);
    }
    let now = Utc::now();
    if let Some(key) = &args.sort {
        sort_containers(&mut containers, key, now)?;
    }
    if args.quiet {
        for c in &containers {
            println!(
                "{}",
                if args.no_trunc {
                    c.id().to_string()
                } else {
                    c.id().chars().take(12).collect()
                }
            );
        }
        return Ok(0);
    }
    if let Some(format) = &args.format {
        let values: Vec<_> = if format::is_json(format) {
            containers.iter().map(|c| c.ps_json(now)).collect()
        } else {
            containers
                .iter()
                .map(|c| {
                    let mut value = c.ps_template(now);
                    if args.no_trunc {
                        value["ID"] = serde_json::json!(c.id());
                        value["Pod"] = serde_json::json!(c.pod().unwrap_or_default());
                    }
                    value
                })
                .collect()
        };
        print!(
            "{}",
            format::formatted(Some(format), &values)?.unwrap_or_default()
        );
        return Ok(0);
    }
    let mut rows = Vec::new();
    if !args.noheading {
        let pods = if args.pod { "\tPOD ID\tPODNAME" } else { "" };
        rows.push(format!(
            "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES{pods}"
        ));
    }
    for c in &containers {
        let view = c.ps_template(now);
        let id = if args.no_trunc {
            c.id().to_string()
        } else {
            c.id().chars().take(12).collect()
        };
        let mut command = view["Command"].as_str().unwrap_or_default().to_string();
        if !args.no_trunc && command.chars().count() > 17 {
            command = format!("{}...", command.chars().take(17).collect::<String>());
        }
        rows.push(format!(
            "{id}\t{}\t{command}\t{}\t{}\t{}\t{}",
            view["Image"].as_str().unwrap_or_default(),
            view["CreatedHuman"].as_str().unwrap_or_default(),
            view["Status"].as_str().unwrap_or_default(),
            view["Ports"].as_str().unwrap_or_default(),
            c.name()
        ));
        if args.pod
            && let Some(row) = rows.last_mut()
        {
            row.push_str(&format!(
                "\t{}\t{}",
                view["Pod"].as_str().unwrap_or_default(),
                view["PodName"].as_str().unwrap_or_default()
            ));
        }
    }
    if !rows.is_empty() {
        println!("{}", format::align(&rows));
    }
    Ok(0)
}

/// `ps --sort KEY`: Podman's keys, ascending (created: oldest first).
fn sort_containers(
    containers: &mut [skiff_engine::ContainerReport],
    key: &str,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    let text = |c: &skiff_engine::ContainerReport, field: &str| {
        c.ps_template(now)[field]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    match key {
        "created" | "runningfor" => containers.sort_by_key(|c| c.created()),
        "id" => containers.sort_by(|a, b| a.id().cmp(b.id())),
        "names" => containers.sort_by(|a, b| a.name().cmp(b.name())),
        "image" => containers.sort_by_cached_key(|c| text(c, "Image")),
        "command" => containers.sort_by_cached_key(|c| text(c, "Command")),
        "status" => containers.sort_by_cached_key(|c| text(c, "Status")),
        other => bail!(
            "invalid option for --sort {other:?}: options are command, created, id, image, names, runningfor or status"
        ),
    }
    if key == "runningfor" {
        containers.reverse();
    }
    Ok(())
}

pub fn logs(engine: &Engine, args: &LogsArgs) -> Result<i32> {
    logs_of(engine, &args.containers, &args.options)
}

/// The logs of `containers` (`logs`, `pod logs`).
pub fn logs_of(engine: &Engine, containers: &[String], args: &LogsOptions) -> Result<i32> {
    let time = super::time_option;
    let options = LogOptions {
        follow: args.follow,
        tail: args.tail.filter(|t| *t >= 0).map(|t| t as usize),
        timestamps: args.timestamps,
        since: time(&args.since)?,
        until: time(&args.until)?,
        names: args.names,
        color: args.color,
        ..Default::default()
    };
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    engine.containers_logs(containers, &options, &mut stdout.lock(), &mut stderr.lock())?;
    Ok(0)
}

pub fn prune(engine: &mut Engine, args: &PruneArgs) -> Result<i32> {
    if !args.force && !super::confirm("This will remove all non running containers.")? {
        return Ok(0);
    }
    for id in engine.prune_containers()? {
        println!("{id}");
    }
    Ok(0)
}

/// `stats`: Podman's table (redrawn in place on a terminal, a table per sample elsewhere), a
/// template, or JSON; every `--interval` seconds until interrupted, or once with --no-stream.
pub fn stats(engine: &Engine, args: &crate::cli::StatsArgs) -> Result<i32> {
    use std::io::IsTerminal;
    if args.interval == 0 {
        bail!("stats: --interval must be at least 1 second");
    }
    let mut names = args.containers.clone();
    if args.latest {
        names = vec![engine.latest_container()?];
    }
    let terminal = std::io::stdout().is_terminal() && !args.no_reset;
    let mut previous: Vec<skiff_engine::StatsSample> = Vec::new();
    loop {
        let samples = engine.container_stats(&names)?;
        let values: Vec<serde_json::Value> = samples
            .iter()
            .map(|sample| {
                let before = previous.iter().find(|p| p.id == sample.id);
                let mut value = sample.podman_values(before);
                if args.no_trunc {
                    value["ID"] = serde_json::json!(sample.id);
                }
                value
            })
            .collect();
        let mut out = String::new();
        match args.format.as_deref() {
            Some(f) if format::is_json(f) => {
                let json: Vec<serde_json::Value> = samples
                    .iter()
                    .map(|s| s.podman_json(previous.iter().find(|p| p.id == s.id)))
                    .collect();
                out = format!("{}\n", format::json(&json)?);
            }
            Some(f) => out.push_str(&format::render(f, &values)?),
            None => out.push_str(&format::table_with_header(
                "ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET IO\tBLOCK IO\tPIDS\tCPU TIME\tAVG CPU %",
                "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDS}}\t{{.CPU}}\t{{.AVGCPU}}",
                &values,
            )?),
        }
        super::print_sample(&out, terminal && !args.no_stream)?;
        if args.no_stream {
            return Ok(0);
        }
        previous = samples;
        std::thread::sleep(std::time::Duration::from_secs(args.interval));
    }
}

/// `healthcheck run`: nothing and 0 when healthy, `unhealthy` and 1 when not, as Podman.
pub fn healthcheck(engine: &mut Engine, args: &NameArg) -> Result<i32> {
    if engine.run_healthcheck(&args.name)?.healthy {
        Ok(0)
    } else {
        println!("unhealthy");
        Ok(1)
    }
}

pub fn exists(engine: &Engine, args: &NameArg) -> Result<i32> {
    if engine.container_exists(&args.name)? {
        Ok(0)
    } else {
        Err(Exit(1).into())
    }
}

pub fn exec(engine: &Engine, args: &ExecArgs) -> Result<i32> {
    if let Some(keys) = &args.detach_keys {
        detach_keys(keys)?;
    }
    let options = ExecOptions {
        command: args.command.clone(),
        env: skiff_engine::environment_entries(&args.process.env_file, &args.process.env)?,
        user: args.process.user.clone(),
        workdir: args.process.workdir.clone(),
        tty: args.tty,
        interactive: args.interactive,
        detach: args.detach,
        privileged: args.privileged,
    };
    Ok(engine.exec_container(&args.container, &options)?)
}

pub fn attach(engine: &Engine, args: &AttachArgs) -> Result<i32> {
    let options = AttachOptions {
        no_stdin: args.no_stdin,
        detach_keys: detach_keys(&args.detach_keys)?,
        sig_proxy: args.sig_proxy,
    };
    Ok(engine.attach_container(&args.container, &options)?)
}

fn detach_keys(text: &str) -> Result<Vec<u8>> {
    skiff_engine::parse_detach_keys(text).map_err(anyhow::Error::msg)
}

pub fn update(engine: &Engine, args: &UpdateArgs) -> Result<i32> {
    let update = skiff_engine::UpdateOptions {
        memory: args.memory.clone(),
        cpus: args.cpus,
        pids_limit: args.pids_limit,
        limits: args.resources.options(),
        restart: args.restart.clone(),
    };
    if update == skiff_engine::UpdateOptions::default() {
        bail!("nothing to update: give a resource limit or --restart");
    }
    println!("{}", engine.update_container(&args.container, &update)?);
    Ok(0)
}

/// The containers `cp` works on: one side or both name one.
pub fn cp_containers(args: &CpArgs) -> Result<(String, Option<String>)> {
    match (
        CopyTarget::parse(&args.source),
        CopyTarget::parse(&args.destination),
    ) {
        (CopyTarget::Container { container, .. }, CopyTarget::Container { container: to, .. }) => {
            Ok((container, Some(to)))
        }
        (CopyTarget::Container { container, .. }, _)
        | (_, CopyTarget::Container { container, .. }) => Ok((container, None)),
        _ => bail!("one of the paths must be a container path: CONTAINER:PATH"),
    }
}

pub fn cp(engine: &Engine, args: &CpArgs) -> Result<i32> {
    let options = skiff_engine::CpOptions {
        chown: args.archive,
        pause: args.pause,
        overwrite: args.overwrite,
    };
    let mut stdout = std::io::stdout().lock();
    engine.copy(
        &CopyTarget::parse(&args.source),
        &CopyTarget::parse(&args.destination),
        &mut std::io::stdin().lock(),
        &mut stdout,
        &options,
    )?;
    stdout.flush()?;
    Ok(0)
}

pub fn diff(engine: &Engine, args: &DiffArgs) -> Result<i32> {
    let container = match (&args.container, args.latest) {
        (Some(container), false) => container.clone(),
        (None, true) => engine.latest_container()?,
        _ => bail!("--latest and containers cannot be used together"),
    };
    let changes = engine.container_changes(&container)?;
    match args.format.as_deref() {
        Some(f) if format::is_json(f) => {
            let mut grouped = serde_json::Map::new();
            for (kind, name) in [
                (ChangeKind::Changed, "changed"),
                (ChangeKind::Added, "added"),
                (ChangeKind::Deleted, "deleted"),
            ] {
                let paths: Vec<&String> = changes
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, p)| p)
                    .collect();
                if !paths.is_empty() {
                    grouped.insert(name.into(), serde_json::json!(paths));
                }
            }
            println!("{}", format::json(&grouped)?);
        }
        Some(other) => bail!("--format {other:?}: only json is supported"),
        None => {
            for (kind, path) in changes {
                println!("{} {path}", kind.letter());
            }
        }
    }
    Ok(0)
}

pub fn export(engine: &Engine, args: &ExportArgs) -> Result<i32> {
    use std::io::IsTerminal;
    match &args.output {
        Some(path) => {
            // Written beside the target and renamed: a failed export leaves nothing behind.
            let temporary = path.with_file_name(format!(
                ".{}.skiff-export-{}",
                path.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default(),
                std::process::id()
            ));
            let result = (|| -> Result<()> {
                let mut file = std::io::BufWriter::new(
                    std::fs::File::create(&temporary)
                        .with_context(|| format!("creating {}", path.display()))?,
                );
                engine.export_container(&args.container, &mut file)?;
                file.into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("writing {}", path.display()))?;
                std::fs::rename(&temporary, path)
                    .with_context(|| format!("writing {}", path.display()))?;
                Ok(())
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&temporary);
            }
            result?;
        }
        None => {
            if std::io::stdout().is_terminal() {
                bail!("refusing to export to terminal. Use -o flag or redirect");
            }
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            engine.export_container(&args.container, &mut out)?;
            out.flush()?;
        }
    }
    Ok(0)
}
