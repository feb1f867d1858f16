//! `info`, `version`, and `inspect` (which looks at containers, then images).
use anyhow::{Result, bail};
use serde_json::{Value, json};
use skiff_engine::{Engine, EngineError, EventFilter, EventOptions};

use crate::cli::{
    EventsArgs, FormatArgs, InspectArgs, SystemCheckArgs, SystemDfArgs, SystemPruneArgs,
    SystemResetArgs,
};
use crate::format;

pub fn info(engine: &Engine, args: &FormatArgs) -> Result<i32> {
    let info = serde_json::to_value(engine.info()?)?;
    match args.format.as_deref() {
        Some(f) if format::is_json(f) => println!("{}", format::json(&info)?),
        // Templates name Podman's Go fields (`{{.Host.OCIRuntime.Name}}`), JSON its keys.
        Some(f) => print!(
            "{}",
            format::render(f, std::slice::from_ref(&format::go_field_names(&info)))?
        ),
        None => print!("{}", format::yaml(&info)),
    }
    Ok(0)
}

/// `system check`: Podman's report, then an error when damage is left.
pub fn check(engine: &mut Engine, args: &SystemCheckArgs) -> Result<i32> {
    let max_age = skiff_engine::parse_go_duration(&args.max).ok_or_else(|| {
        anyhow::anyhow!(
            "invalid --max {:?}: expected a duration such as 24h",
            args.max
        )
    })?;
    let options = skiff_engine::CheckOptions {
        quick: args.quick,
        repair: args.repair || args.force,
        force: args.force,
        max_age,
    };
    let report = engine.check_storage(&options)?;
    print_check_report(&report);
    if !report.errors() {
        return Ok(0);
    }
    if !options.repair {
        anyhow::bail!("damage detected in local storage");
    }
    let recheck = skiff_engine::CheckOptions {
        repair: false,
        force: false,
        ..options
    };
    if engine.check_storage(&recheck)?.errors() {
        anyhow::bail!("damage in local storage still present after repair attempt");
    }
    Ok(0)
}

fn print_check_report(report: &skiff_engine::CheckReport) {
    let damaged = |kind: &str, found: &std::collections::BTreeMap<String, Vec<String>>| {
        for (what, problems) in found {
            println!("Damaged {kind}{what}:");
            for problem in problems {
                println!("  * {problem}");
            }
        }
    };
    let deleted = |kind: &str, removed: &[String]| {
        for what in removed {
            println!("Deleted damaged {kind}{what}");
        }
    };
    damaged("layer ", &report.layers);
    deleted("layer: ", &report.removed_layers);
    damaged("image ", &report.images);
    deleted("image: ", &report.removed_images);
    damaged("container ", &report.containers);
    deleted("container: ", &report.removed_containers);
    damaged("", &report.other);
    deleted("", &report.removed_other);
}

/// `system prune`: pods without running containers, stopped containers, unused networks,
/// with `--volumes` unused volumes, and dangling (or, with -a, unused) images; then what that
/// gave back, as Podman counts it.
pub fn prune(engine: &mut Engine, args: &SystemPruneArgs) -> Result<i32> {
    if !args.force {
        let volumes = if args.volumes {
            "\n\t- all volumes not used by at least one container"
        } else {
            ""
        };
        let (images, cache) = if args.all {
            (
                "all images without at least one container associated with them",
                "all build cache",
            )
        } else {
            ("all dangling images", "all dangling build cache")
        };
        if !super::confirm(&format!(
            "This command removes:\n\t- all stopped containers\n\t- all networks not used by at least one container{volumes}\n\t- {images}\n\t- {cache}\n"
        ))? {
            return Ok(0);
        }
    }
    let before = engine.disk_usage()?;
    let pods = engine.prune_pods()?;
    let containers = engine.prune_containers()?;
    let networks = engine.prune_networks()?;
    let volumes = if args.volumes {
        engine.prune_volumes()?
    } else {
        Vec::new()
    };
    let images = engine.prune_images(args.all)?;
    let reclaimed = before.reclaimed_by(&containers, &volumes, &images);
    for (title, removed) in [
        ("Deleted Pods", pods),
        ("Deleted Containers", containers),
        ("Deleted Networks", networks),
        ("Deleted Volumes", volumes),
        ("Deleted Images", images),
    ] {
        if !removed.is_empty() {
            println!("{title}");
            for item in removed {
                println!("{item}");
            }
        }
    }
    println!(
        "Total reclaimed space: {}",
        skiff_engine::go_human_size(reclaimed)
    );
    Ok(0)
}

/// `system reset`: everything stored goes, after a confirmation unless `--force`.
pub fn reset(engine: Engine, args: &SystemResetArgs) -> Result<i32> {
    if !args.force
        && !super::confirm(
            "This will remove:\n        - all containers\n        - all pods\n        - all images\n        - all networks\n        - all build cache\n        - all volumes",
        )?
    {
        return Ok(0);
    }
    engine.reset()?;
    Ok(0)
}

/// `system df`: Podman's summary table (or `--format`), or with `-v` every image, container
/// and volume.
pub fn df(engine: &Engine, args: &SystemDfArgs) -> Result<i32> {
    if args.format.is_some() && args.verbose {
        bail!("cannot combine --format and --verbose flags");
    }
    let usage = engine.disk_usage()?;
    let size = |bytes: u64| skiff_engine::go_human_size(bytes);
    if args.verbose {
        let now = chrono::Utc::now();
        let ago = |time| skiff_engine::human_duration(now, time);
        let mut images = vec![
            "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS"
                .to_string(),
        ];
        images.extend(usage.images.iter().map(|i| {
            format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                i.repository,
                i.tag,
                &i.image_id[..12.min(i.image_id.len())],
                ago(i.created),
                size(i.size),
                size(i.shared_size),
                size(i.unique_size),
                i.containers
            )
        }));
        let mut containers = vec![
            "CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES".to_string(),
        ];
        containers.extend(usage.containers.iter().map(|c| {
            format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                &c.container_id[..12.min(c.container_id.len())],
                &c.image[..12.min(c.image.len())],
                c.command.join(" "),
                c.local_volumes,
                size(c.rw_size),
                ago(c.created),
                c.status,
                c.names
            )
        }));
        let mut volumes = vec!["VOLUME NAME\tLINKS\tSIZE".to_string()];
        volumes.extend(
            usage
                .volumes
                .iter()
                .map(|v| format!("{}\t{}\t{}", v.volume_name, v.links, size(v.size))),
        );
        println!("Images space usage:\n\n{}", format::align(&images));
        println!(
            "\nContainers space usage:\n\n{}",
            format::align(&containers)
        );
        println!(
            "\nLocal Volumes space usage:\n\n{}",
            format::align(&volumes)
        );
        return Ok(0);
    }
    let rows: Vec<Value> = usage
        .summary()
        .iter()
        .map(|s| {
            let percent = if s.size > 0 {
                (s.reclaimable as f64 / s.size as f64 * 100.0).round() as u64
            } else {
                0
            };
            json!({
                "Type": s.kind,
                "Total": s.total,
                "TotalCount": s.total,
                "Active": s.active,
                "RawSize": s.size,
                "RawReclaimable": s.reclaimable,
                "Size": size(s.size),
                "Reclaimable": format!("{} ({percent}%)", size(s.reclaimable)),
            })
        })
        .collect();
    match args.format.as_deref() {
        Some(f) if format::is_json(f) => println!("{}", format::json(&rows)?),
        Some(f) => print!("{}", format::render(f, &rows)?),
        None => {
            let mut lines = vec!["TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE".to_string()];
            lines.extend(rows.iter().map(|r| {
                format!(
                    "{}\t{}\t{}\t{}\t{}",
                    r["Type"].as_str().unwrap_or_default(),
                    r["Total"],
                    r["Active"],
                    r["Size"].as_str().unwrap_or_default(),
                    r["Reclaimable"].as_str().unwrap_or_default()
                )
            }));
            println!("{}", format::align(&lines));
        }
    }
    Ok(0)
}

pub fn version(args: &FormatArgs) -> Result<i32> {
    let client = serde_json::to_value(skiff_engine::VersionReport::current())?;
    let version = json!({ "Client": client });
    match args.format.as_deref() {
        Some(f) if format::is_json(f) => println!("{}", format::json(&version)?),
        // Daemonless, the engine is this program: `{{.Server.Version}}` is the client's.
        Some(f) => {
            let both = json!({ "Client": client, "Server": client });
            print!("{}", format::render(f, std::slice::from_ref(&both))?)
        }
        None => {
            let field = |key: &str| client[key].as_str().unwrap_or_default().to_string();
            println!("Client:       skiff");
            println!("Version:      {}", field("Version"));
            println!("API Version:  {}", field("APIVersion"));
            println!("Go Version:   {}", field("GoVersion"));
            println!("Built:        Thu Jan  1 00:00:00 1970");
            println!("OS/Arch:      {}", field("OsArch"));
        }
    }
    Ok(0)
}

pub fn inspect(engine: &Engine, args: &InspectArgs) -> Result<i32> {
    let mut values: Vec<Value> = Vec::new();
    let mut code = 0;
    let latest: Vec<String> = if args.latest {
        match engine.latest_container() {
            Ok(id) => vec![id],
            Err(skiff_engine::EngineError::NoSuchContainer(_)) => {
                anyhow::bail!("no containers to inspect: no such container")
            }
            Err(error) => return Err(error.into()),
        }
    } else {
        Vec::new()
    };
    for name in args.names.iter().chain(&latest) {
        let container = match args.kind.as_str() {
            "container" | "all" => match engine.container(name) {
                Ok(c) => Some(c.inspect_json()),
                Err(EngineError::NoSuchContainer(_)) => None,
                Err(e) => return Err(e.into()),
            },
            "image" => None,
            other => anyhow::bail!("invalid --type {other:?}: expected container, image or all"),
        };
        let found = match container {
            Some(c) => Some(c),
            None if args.kind != "container" => engine.image(name).ok().map(|i| i.inspect_json()),
            None => None,
        };
        match found {
            Some(v) => values.push(v),
            None => {
                eprintln!("Error: {}", EngineError::NoSuchObject(name.clone()));
                code = 125;
            }
        }
    }
    match args.format.as_deref() {
        Some(f) if !format::is_json(f) => {
            // Podman's inspect structs name the ID field `ID` (JSON `Id`): both resolve.
            let values: Vec<Value> = values
                .into_iter()
                .map(|mut value| {
                    if let Some(id) = value.get("Id").cloned() {
                        value["ID"] = id;
                    }
                    value
                })
                .collect();
            print!("{}", format::render(f, &values)?)
        }
        _ => println!("{}", format::json(&values)?),
    }
    Ok(code)
}

/// `events`: the event log, as Podman prints it (one line an event, or `--format`).
pub fn events(engine: &Engine, args: &EventsArgs) -> Result<i32> {
    let time = super::time_option;
    let options = EventOptions {
        filter: EventFilter::parse(&args.filter)?,
        since: time(&args.since)?,
        until: time(&args.until)?,
        stream: args.stream,
    };
    let mut stdout = std::io::stdout().lock();
    let mut failure = None;
    engine.events(&options, |event| {
        let line = match args.format.as_deref() {
            Some(f) if format::is_json(f) => format::json(event).map(|j| format!("{j}\n")),
            Some(f) => serde_json::to_value(event)
                .map_err(anyhow::Error::from)
                .and_then(|value| format::render(f, &[value])),
            None => Ok(format!("{}\n", event.human(!args.no_trunc))),
        };
        match line {
            Ok(line) => {
                use std::io::Write;
                // A reader that went away ends the stream.
                stdout.write_all(line.as_bytes()).is_ok() && stdout.flush().is_ok()
            }
            Err(err) => {
                failure = Some(err);
                false
            }
        }
    })?;
    failure.map_or(Ok(0), Err)
}

/// `generate systemd`: the units printed (or written with --files, their paths printed).
pub fn generate_systemd(engine: &Engine, args: &crate::cli::GenerateSystemdArgs) -> Result<i32> {
    let options = skiff_systemd::UnitOptions {
        use_name: args.name,
        new: args.new,
        restart_policy: args.restart_policy.clone(),
        restart_sec: args.restart_sec,
        stop_timeout: args.time,
        start_timeout: args.start_timeout,
        container_prefix: args.container_prefix.clone(),
        pod_prefix: args.pod_prefix.clone(),
        separator: args.separator.clone(),
        no_header: args.no_header,
        template: args.template,
        env: args.env.clone(),
        wants: args.wants.clone(),
        after: args.after.clone(),
        requires: args.requires.clone(),
        executable: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "/usr/local/bin/skiff".into()),
    };
    let generated = skiff_systemd::generate(engine, &args.target, &options)?;
    for warning in &generated.warnings {
        skiff_engine::warn!("{warning}");
    }
    let suffix = if args.template {
        "@.service"
    } else {
        ".service"
    };
    if args.files {
        let dir = std::env::current_dir()?;
        let mut paths = serde_json::Map::new();
        for unit in &generated.units {
            let path = dir.join(format!("{}{suffix}", unit.name));
            std::fs::write(&path, &unit.text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            paths.insert(unit.name.clone(), path.display().to_string().into());
        }
        match args.format.as_deref() {
            Some(f) if format::is_json(f) => println!("{}", format::json(&paths)?),
            _ => {
                for path in paths.values() {
                    println!("{}", path.as_str().unwrap_or_default());
                }
            }
        }
        return Ok(0);
    }
    match args.format.as_deref() {
        Some(f) if format::is_json(f) => {
            let units: serde_json::Map<String, serde_json::Value> = generated
                .units
                .iter()
                .map(|u| (u.name.clone(), u.text.clone().into()))
                .collect();
            println!("{}", format::json(&units)?);
        }
        Some(other) => anyhow::bail!("--format {other:?}: only json is supported"),
        None => {
            let texts: Vec<&str> = generated.units.iter().map(|u| u.text.as_str()).collect();
            print!("{}", texts.join("\n"));
        }
    }
    Ok(0)
}

/// `system service`: the REST API until it has been idle for `--time` seconds.
/// `dashboard`: the API service on a TCP address with the dashboard's pages, behind a token
/// printed in the address to open.
pub fn dashboard(
    store: skiff_engine::StoreOptions,
    args: &crate::cli::DashboardArgs,
) -> Result<i32> {
    let token = skiff_dashboard::new_token()?;
    let address = if args.address.contains(':') {
        format!("[{}]:{}", args.address, args.port)
    } else {
        format!("{}:{}", args.address, args.port)
    };
    let url = format!("http://{address}/?token={token}");
    let desktop = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
    if !args.no_browser && desktop {
        // Once the service answers there.
        let (url, address) = (url.clone(), address.clone());
        std::thread::spawn(move || {
            for _ in 0..100 {
                if std::net::TcpStream::connect(&address).is_ok() {
                    let _ = std::process::Command::new("xdg-open")
                        .arg(&url)
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null())
                        .spawn();
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
    }
    skiff_api::serve(skiff_api::ServiceOptions {
        api: skiff_api::ApiOptions {
            store,
            program: std::env::current_exe()?,
            env: Vec::new(),
        },
        address: Some(format!("tcp://{address}")),
        idle: None,
        pages: Some(std::sync::Arc::new(skiff_dashboard::pages(token))),
        announce: Some(url),
    })
    .map_err(anyhow::Error::msg)?;
    Ok(0)
}

pub fn service(
    store: skiff_engine::StoreOptions,
    args: &crate::cli::SystemServiceArgs,
) -> Result<i32> {
    let program = std::env::current_exe()?;
    skiff_api::serve(skiff_api::ServiceOptions {
        api: skiff_api::ApiOptions {
            store,
            program,
            env: Vec::new(),
        },
        address: args.uri.clone(),
        idle: (args.time > 0).then(|| std::time::Duration::from_secs(args.time)),
        pages: None,
        announce: None,
    })
    .map_err(anyhow::Error::msg)?;
    Ok(0)
}
