//! `pod`: the engine's pods, printed as Podman prints them.
use anyhow::{Result, bail};
use chrono::Utc;
use serde_json::Value;
use skiff_engine::{Engine, EngineError, NewPod, PodFilter, PodOptions, PodReport};

use super::container::{logs_of, removal_code};
use super::{Exit, for_each};
use crate::cli::{
    NameArg, PodCommand, PodCreateArgs, PodInspectArgs, PodKillArgs, PodPsArgs, PodRmArgs,
    PodStopArgs, PodTargets, VolumePruneArgs,
};
use crate::format;

pub fn dispatch(engine: &mut Engine, command: PodCommand) -> Result<i32> {
    match command {
        PodCommand::Create(args) => create(engine, *args),
        PodCommand::Start(targets) => each_pod(engine, &targets, false, |e, pod| e.start_pod(pod)),
        PodCommand::Stop(PodStopArgs {
            targets,
            ignore,
            time,
        }) => each_pod(engine, &targets, ignore, |e, pod| e.stop_pod(pod, time)),
        PodCommand::Restart(targets) => {
            each_pod(engine, &targets, false, |e, pod| e.restart_pod(pod))
        }
        PodCommand::Kill(PodKillArgs { targets, signal }) => {
            each_pod(engine, &targets, false, |e, pod| e.kill_pod(pod, &signal))
        }
        PodCommand::Pause(targets) => {
            each_pod(engine, &targets, false, |e, pod| e.freeze_pod(pod, true))
        }
        PodCommand::Unpause(targets) => {
            each_pod(engine, &targets, false, |e, pod| e.freeze_pod(pod, false))
        }
        PodCommand::Rm(args) => remove(engine, &args),
        PodCommand::Prune(args) => prune(engine, &args),
        PodCommand::Ps(args) => list(engine, &args),
        PodCommand::Inspect(args) => inspect(engine, &args),
        PodCommand::Exists(NameArg { name }) => {
            if engine.pod_exists(&name)? {
                Ok(0)
            } else {
                Err(Exit(1).into())
            }
        }
        PodCommand::Top(args) => {
            print!("{}", engine.top_pod(&args.pod, &args.descriptors)?.render());
            Ok(0)
        }
        PodCommand::Stats(args) => stats(engine, &args),
        PodCommand::Logs(args) => {
            let containers = engine.pod_containers(&args.pod, args.container.as_deref(), false)?;
            logs_of(engine, &containers, &args.logs)
        }
    }
}

fn create(engine: &mut Engine, args: PodCreateArgs) -> Result<i32> {
    if args.name.is_some() && args.pod_name.is_some() {
        bail!("cannot specify --name and NAME at the same time");
    }
    let new = NewPod {
        options: PodOptions {
            name: args.name.or(args.pod_name),
            publish: args.publish,
            network: args.network,
            ip: args.ip,
            mac_address: args.mac_address,
            network_alias: args.network_alias,
            share: args.share,
            infra: args.infra,
            infra_image: args.infra_image,
            infra_command: args.infra_command,
            infra_name: args.infra_name,
            hostname: args.hostname,
            add_host: args.add_host,
            dns: args.dns,
            dns_search: args.dns_search,
            dns_option: args.dns_option,
            no_hosts: args.no_hosts,
            label: args.label,
            volume: args.volume,
            exit_policy: args.exit_policy,
            memory: args.resources.memory.clone(),
            cpus: args.resources.cpus,
            limits: args.resources.options(),
            share_parent: args.resources.share_parent,
            userns: args.user_namespace.userns,
            uidmap: args.user_namespace.uidmap,
            gidmap: args.user_namespace.gidmap,
        },
        replace: args.replace,
        pod_id_file: args.pod_id_file,
    };
    println!("{}", engine.create_pod(&new)?);
    Ok(0)
}

/// The pods a command names: all of them, the latest, or those given.
fn targets(engine: &Engine, targets: &PodTargets) -> Result<Vec<String>> {
    if targets.all || targets.latest {
        if !targets.pods.is_empty() {
            bail!("--all and --latest cannot be used with pod names");
        }
        let mut pods: Vec<String> = engine
            .list_pods(&PodFilter::default())?
            .iter()
            .map(|p| p.id().to_string())
            .collect();
        if targets.latest {
            pods.truncate(1);
        }
        return Ok(pods);
    }
    if targets.pods.is_empty() {
        bail!("you must provide at least one name or id");
    }
    Ok(targets.pods.clone())
}

/// Runs `action` on each pod named, printing its ID; `ignore` skips pods that do not exist.
fn each_pod(
    engine: &mut Engine,
    names: &PodTargets,
    ignore: bool,
    mut action: impl FnMut(&mut Engine, &str) -> Result<String, EngineError>,
) -> Result<i32> {
    let names = targets(engine, names)?;
    Ok(for_each(
        &names,
        |name| match action(engine, name) {
            Ok(id) => Ok(Some(id)),
            Err(EngineError::NoSuchPod(_)) if ignore => Ok(None),
            Err(err) => Err(err.into()),
        },
        |err| {
            err.downcast_ref::<EngineError>()
                .map_or(125, EngineError::exit_code)
        },
    ))
}

fn remove(engine: &mut Engine, args: &PodRmArgs) -> Result<i32> {
    if args.time.is_some() && !args.force {
        bail!("--force option must be specified to use the --time option");
    }
    let t = &args.targets;
    let names = if t.pods.is_empty() && !t.all && !t.latest && !args.pod_id_file.is_empty() {
        Vec::new()
    } else {
        targets(engine, t)?
    };
    // Podman: --force implies --ignore.
    let ignore = args.ignore || args.force;
    let remove =
        |engine: &mut Engine, name: &str| match engine.remove_pod(name, args.force, args.time) {
            Ok(id) => Ok(Some(id)),
            Err(EngineError::NoSuchPod(_)) if ignore => Ok(None),
            Err(err) => Err(err.into()),
        };
    let mut code = for_each(&names, |name| remove(engine, name), removal_code);
    for file in &args.pod_id_file {
        let removed = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("reading pod ID file {}: {e}", file.display()))
            .and_then(|id| remove(engine, id.trim()));
        match removed {
            Ok(id) => {
                if let Some(id) = id {
                    println!("{id}");
                }
                let _ = std::fs::remove_file(file);
            }
            Err(err) => {
                eprintln!("Error: {}", super::one_line(&err));
                code = removal_code(&err);
            }
        }
    }
    Ok(code)
}

fn prune(engine: &mut Engine, args: &VolumePruneArgs) -> Result<i32> {
    if !args.force && !super::confirm("This will remove all stopped/exited pods..")? {
        return Ok(0);
    }
    for id in engine.prune_pods()? {
        println!("{id}");
    }
    Ok(0)
}

/// `pod ps --sort`: Podman's keys (created: newest first).
fn sort_pods(pods: &mut [PodReport], key: &str) -> Result<()> {
    match key {
        "created" => pods.sort_by_key(|p| std::cmp::Reverse(p.created())),
        "id" => pods.sort_by(|a, b| a.id().cmp(b.id())),
        "name" => pods.sort_by(|a, b| a.name().cmp(b.name())),
        "number" => pods.sort_by_key(|p| p.members.len()),
        "status" => pods.sort_by(|a, b| a.status().cmp(b.status())),
        _ => bail!("invalid option for --sort, options are: created, id, name, number, or status"),
    }
    Ok(())
}

fn list(engine: &Engine, args: &PodPsArgs) -> Result<i32> {
    if args.quiet && args.format.is_some() {
        bail!("quiet and format cannot be used together");
    }
    let mut pods = engine.list_pods(&PodFilter::parse(&args.filter)?)?;
    sort_pods(&mut pods, &args.sort)?;
    if args.latest {
        pods.sort_by_key(|p| std::cmp::Reverse(p.created()));
        pods.truncate(1);
    }
    if args.quiet {
        for pod in &pods {
            let id = pod.id();
            println!("{}", if args.no_trunc { id } else { &id[..12] });
        }
        return Ok(0);
    }
    let now = Utc::now();
    if let Some(f) = args.format.as_deref().filter(|f| format::is_json(f)) {
        let values: Vec<Value> = pods.iter().map(PodReport::ps_json).collect();
        print!(
            "{}",
            format::formatted(Some(f), &values)?.unwrap_or_default()
        );
        return Ok(0);
    }
    let values: Vec<Value> = pods
        .iter()
        .map(|p| p.ps_template(now, args.no_trunc))
        .collect();
    if let Some(f) = &args.format {
        print!(
            "{}",
            format::formatted(Some(f), &values)?.unwrap_or_default()
        );
        return Ok(0);
    }
    let mut columns = vec![
        ("POD ID", "{{.ID}}"),
        ("NAME", "{{.Name}}"),
        ("STATUS", "{{.Status}}"),
        ("CREATED", "{{.Created}}"),
        ("INFRA ID", "{{.InfraID}}"),
    ];
    if args.ctr_ids {
        columns.push(("IDS", "{{.ContainerIds}}"));
    }
    if args.ctr_names {
        columns.push(("NAMES", "{{.ContainerNames}}"));
    }
    if args.ctr_status {
        columns.push(("STATUS", "{{.ContainerStatuses}}"));
    }
    if !(args.ctr_ids || args.ctr_names || args.ctr_status) {
        columns.push(("# OF CONTAINERS", "{{.NumberOfContainers}}"));
    }
    let header: Vec<&str> = columns.iter().map(|(h, _)| *h).collect();
    let body: Vec<&str> = columns.iter().map(|(_, b)| *b).collect();
    let body = body.join("\t");
    if args.noheading {
        print!("{}", format::render(&body, &values)?);
    } else {
        print!(
            "{}",
            format::table_with_header(&header.join("\t"), &body, &values)?
        );
    }
    Ok(0)
}

fn inspect(engine: &Engine, args: &PodInspectArgs) -> Result<i32> {
    let names = match (&args.pods[..], args.latest) {
        ([], true) => engine
            .list_pods(&PodFilter::default())?
            .first()
            .map(|p| vec![p.id().to_string()])
            .unwrap_or_default(),
        ([], false) => bail!("you must provide the name or id of a pod"),
        (names, _) => names.to_vec(),
    };
    let mut values = Vec::new();
    let mut code = 0;
    for name in &names {
        match engine.pod(name) {
            Ok(pod) => values.push(pod.inspect_json()),
            Err(err @ EngineError::NoSuchPod(_)) => {
                eprintln!("Error: {err}");
                code = 125;
            }
            Err(err) => return Err(err.into()),
        }
    }
    match args.format.as_deref() {
        Some(f) if !format::is_json(f) => print!("{}", format::render(f, &values)?),
        // Podman 4 prints one pod as an object, several as a list.
        _ if values.len() == 1 => println!("{}", format::json(&values[0])?),
        _ if !values.is_empty() => println!("{}", format::json(&values)?),
        _ => {}
    }
    Ok(code)
}

/// `pod stats`: each running container of the pods, with its pod, as Podman's table or JSON.
fn stats(engine: &Engine, args: &crate::cli::PodStatsArgs) -> Result<i32> {
    use std::io::IsTerminal;
    let pods: Vec<String> = if args.pods.is_empty() {
        engine
            .list_pods(&PodFilter::default())?
            .iter()
            .map(|p| p.id().to_string())
            .collect()
    } else {
        args.pods.clone()
    };
    let terminal = std::io::stdout().is_terminal() && !args.no_reset && !args.no_stream;
    let mut previous: Vec<skiff_engine::StatsSample> = Vec::new();
    loop {
        let mut values = Vec::new();
        let mut samples = Vec::new();
        for pod in &pods {
            let report = engine.pod(pod)?;
            let mut running = Vec::new();
            for id in engine.pod_containers(pod, None, true)? {
                if engine.container_pid(&id)?.is_some() {
                    running.push(id);
                }
            }
            for sample in engine.container_stats(&running)? {
                let before = previous.iter().find(|p| p.id == sample.id);
                let mut value = sample.podman_values(before);
                value["Pod"] = report.id()[..12].into();
                value["CID"] = value["ID"].clone();
                value["CPU"] = value["CPUPerc"].clone();
                value["Mem"] = value["MemPerc"].clone();
                values.push(value);
                samples.push(sample);
            }
        }
        let out = match args.format.as_deref() {
            Some(f) if format::is_json(f) => format!("{}\n", format::json(&values)?),
            Some(f) => format::render(f, &values)?,
            None => format::table_with_header(
                "POD\tCID\tNAME\tCPU %\tMEM USAGE/ LIMIT\tMEM %\tNET IO\tBLOCK IO\tPIDS",
                "{{.Pod}}\t{{.CID}}\t{{.Name}}\t{{.CPU}}\t{{.MemUsage}}\t{{.Mem}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDS}}",
                &values,
            )?,
        };
        super::print_sample(&out, terminal)?;
        if args.no_stream {
            return Ok(0);
        }
        previous = samples;
        std::thread::sleep(std::time::Duration::from_secs(5));
    }
}
