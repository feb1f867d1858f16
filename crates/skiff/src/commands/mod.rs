//! One function per command: parse → engine call → print. No engine logic lives here.
mod build;
mod compose;
mod container;
mod image;
mod kube;
mod mount;
mod network;
mod pod;
mod quadlet;
mod registry;
mod run_options;
mod secret;
mod system;
mod volume;

use anyhow::{Context, Result};
use skiff_engine::{Engine, Scope, StoreOptions};

use crate::cli::{
    Cli, Command, ContainerCommand, ContainerGroupCommand, GenerateCommand, GlobalArgs,
    HealthcheckCommand, ImageCommand, KubeCommand, KubePlayArgs, ManifestCommand, PlayCommand,
    PodCommand, StartArgs, StopArgs, SystemCommand,
};

/// A command that ends with a specific exit code after printing its own errors.
#[derive(Debug)]
pub struct Exit(pub i32);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for Exit {}

pub fn dispatch(cli: Cli) -> Result<i32> {
    let global = cli.global;
    check_global(&global)?;
    if global.noout {
        // What the command prints goes nowhere; errors still go to stderr.
        let null = std::fs::File::options().write(true).open("/dev/null")?;
        nix::unistd::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 1)?;
    }
    match cli.command {
        Command::Version(args) => system::version(&args),
        Command::Unshare(args) => mount::unshare(&global, &args),
        Command::Save(args) => image::save(&open(&global)?, &args),
        Command::Load(args) => image::load(&mut open(&global)?, &args),
        Command::History(args) => image::history(&open(&global)?, &args),
        Command::Pull(args) => registry::pull(&mut open(&global)?, &args),
        Command::Push(args) => registry::push(&open(&global)?, &args),
        Command::Login(args) => registry::login(&open(&global)?, &args),
        Command::Logout(args) => registry::logout(&open(&global)?, &args),
        Command::Search(args) => registry::search(&open(&global)?, &args),
        Command::Manifest(ManifestCommand::Inspect(args)) => {
            registry::manifest_inspect(&open(&global)?, &args)
        }
        Command::Network(command) => network::dispatch(&mut open_for_networks(&global)?, command),
        Command::Volume(command) => volume::dispatch(&mut open(&global)?, command),
        Command::Secret(command) => secret::dispatch(&open(&global)?, command),
        Command::Pod(command) => pod_command(&global, command),
        Command::Generate(GenerateCommand::Systemd(args)) => {
            system::generate_systemd(&open(&global)?, &args)
        }
        Command::Generate(GenerateCommand::Kube(args))
        | Command::Kube(KubeCommand::Generate(args)) => kube::generate(&open(&global)?, &args),
        Command::Kube(KubeCommand::Play(args)) | Command::Play(PlayCommand::Kube(args)) => {
            kube::play(&mut open_for_play(&global, &args)?, &args)
        }
        Command::Kube(KubeCommand::Down(args)) => kube::down(&mut open(&global)?, &args),
        // Files only: no storage is opened.
        Command::Quadlet(command) => quadlet::dispatch(command),
        Command::Compose(args) => compose::dispatch(&global, args),
        // Multi-threaded, as the API service: its actions run in helpers.
        Command::Dashboard(args) => system::dashboard(store_options(&global), &args),
        Command::Healthcheck(HealthcheckCommand::Run(args)) => {
            let mut engine = open_in(&global, Scope::Container(&args.name))?;
            container::healthcheck(&mut engine, &args)
        }
        Command::Events(args) => system::events(&open(&global)?, &args),
        Command::Stats(args) => container::stats(&open(&global)?, &args),
        Command::Info(args) => system::info(&open(&global)?, &args),
        Command::System(SystemCommand::Info(args)) => system::info(&open(&global)?, &args),
        Command::System(SystemCommand::Check(args)) => system::check(&mut open(&global)?, &args),
        // Multi-threaded, in the host's namespaces: its actions run in helpers.
        Command::System(SystemCommand::Service(args)) => {
            system::service(store_options(&global), &args)
        }
        Command::System(SystemCommand::Prune(args)) => {
            system::prune(&mut open_for_networks(&global)?, &args)
        }
        Command::System(SystemCommand::Df(args)) => system::df(&open(&global)?, &args),
        Command::System(SystemCommand::Reset(args)) => {
            system::reset(open_for_networks(&global)?, &args)
        }
        Command::Container(command) => container_command(&global, *command),
        Command::Inspect(args) => system::inspect(&open(&global)?, &args),
        Command::ContainerGroup(command) => match command {
            ContainerGroupCommand::Common(command) => container_command(&global, *command),
            ContainerGroupCommand::Inspect(mut args) => {
                args.kind = "container".into();
                system::inspect(&open(&global)?, &args)
            }
            ContainerGroupCommand::Prune(args) => container::prune(&mut open(&global)?, &args),
            ContainerGroupCommand::Exists(args) => container::exists(&open(&global)?, &args),
        },
        Command::Images(args) => image::list(&open(&global)?, &args),
        Command::Build(args) => build::build(&mut open(&global)?, &args),
        Command::Import(args) => image::import(&mut open(&global)?, &args),
        Command::Tag(args) => image::tag(&mut open(&global)?, &args),
        Command::Untag(args) => image::untag(&mut open(&global)?, &args),
        Command::Rmi(args) => image::remove(&mut open(&global)?, &args),
        Command::Image(command) => match command {
            ImageCommand::Images(args) => image::list(&open(&global)?, &args),
            ImageCommand::Inspect(mut args) => {
                args.kind = "image".into();
                system::inspect(&open(&global)?, &args)
            }
            ImageCommand::Build(args) => build::build(&mut open(&global)?, &args),
            ImageCommand::Import(args) => image::import(&mut open(&global)?, &args),
            ImageCommand::Tag(args) => image::tag(&mut open(&global)?, &args),
            ImageCommand::Untag(args) => image::untag(&mut open(&global)?, &args),
            ImageCommand::Rm(args) => image::remove(&mut open(&global)?, &args),
            ImageCommand::Exists(args) => image::exists(&open(&global)?, &args),
            ImageCommand::Pull(args) => registry::pull(&mut open(&global)?, &args),
            ImageCommand::Push(args) => registry::push(&open(&global)?, &args),
            ImageCommand::Search(args) => registry::search(&open(&global)?, &args),
            ImageCommand::Save(args) => image::save(&open(&global)?, &args),
            ImageCommand::Load(args) => image::load(&mut open(&global)?, &args),
            ImageCommand::History(args) => image::history(&open(&global)?, &args),
            ImageCommand::Prune(args) => image::prune(&mut open(&global)?, &args),
            ImageCommand::Copy(args) => registry::copy(&mut open(&global)?, &args),
            ImageCommand::Mount(args) => mount::image_mount(&open(&global)?, &args),
            ImageCommand::Umount(args) => mount::image_umount(&open(&global)?, &args),
        },
    }
}

/// Podman's global options with a fixed set of values; a remote service is not skiff's.
fn check_global(global: &GlobalArgs) -> Result<()> {
    use skiff_engine::log::{LEVEL_NAMES, Level};
    // Podman's own words and exit code, without the "Error:" prefix.
    if global.debug && global.log_level.is_some() {
        eprintln!("Setting --log-level and --debug is not allowed");
        return Err(Exit(1).into());
    }
    let level = match (&global.log_level, global.debug) {
        (_, true) => Level::Debug,
        (None, false) => Level::Warn,
        (Some(name), false) => match Level::parse(name) {
            Some(level) => level,
            None => {
                eprintln!(
                    "Log Level {name:?} is not supported, choose from: {}",
                    LEVEL_NAMES.join(", ")
                );
                return Err(Exit(1).into());
            }
        },
    };
    skiff_engine::log::set_level(level);
    skiff_engine::info!("skiff filtering at log level {}", level.name());
    if skiff_engine::log::enabled(Level::Debug) {
        let args: Vec<String> = std::env::args().collect();
        skiff_engine::debug!("Called {}", args.join(" "));
    }
    if let Some(backend) = &global.events_backend
        && !matches!(backend.as_str(), "file" | "journald" | "none")
    {
        anyhow::bail!("invalid events backend {backend:?}: expected file, journald or none");
    }
    if let Some(manager) = &global.cgroup_manager
        && !matches!(manager.as_str(), "cgroupfs" | "systemd")
    {
        anyhow::bail!("invalid cgroup manager {manager:?}: expected cgroupfs or systemd");
    }
    if global.remote || global.url.is_some() || global.connection.is_some() {
        anyhow::bail!(
            "skiff runs locally only: --remote, --url and --connection name a service it does not use"
        );
    }
    Ok(())
}

fn container_command(global: &GlobalArgs, command: ContainerCommand) -> Result<i32> {
    let copied: (String, Option<String>);
    let created: skiff_engine::CreateOptions;
    let scope = match &command {
        ContainerCommand::Exec(args) => Scope::Container(&args.container),
        ContainerCommand::Top(args) => Scope::Container(&args.container),
        ContainerCommand::Cp(args) => {
            copied = container::cp_containers(args)?;
            match &copied {
                (one, None) => Scope::Container(one),
                (from, Some(to)) => Scope::Containers(from, to),
            }
        }
        ContainerCommand::Run(args) => {
            created = run_options::create_options(args);
            Scope::Run(&created)
        }
        ContainerCommand::Start(StartArgs { containers, .. })
        | ContainerCommand::Restart(StopArgs { containers, .. }) => Scope::Start(containers),
        _ => Scope::Store,
    };
    let mut engine = open_in(global, scope)?;
    match command {
        ContainerCommand::Run(args) => container::run(&mut engine, args),
        ContainerCommand::Create(args) => container::create(&mut engine, args),
        ContainerCommand::Start(args) => container::start(&mut engine, &args),
        ContainerCommand::Stop(args) => container::stop(&mut engine, &args),
        ContainerCommand::Kill(args) => container::kill(&mut engine, &args),
        ContainerCommand::Restart(args) => container::restart(&mut engine, &args),
        ContainerCommand::Wait(args) => container::wait(&engine, &args),
        ContainerCommand::Rm(args) => container::rm(&mut engine, &args),
        ContainerCommand::Ps(args) => container::ps(&engine, &args),
        ContainerCommand::Logs(args) => container::logs(&engine, &args),
        ContainerCommand::Exec(args) => container::exec(&engine, &args),
        ContainerCommand::Top(args) => container::top(&engine, &args),
        ContainerCommand::Cp(args) => container::cp(&engine, &args),
        ContainerCommand::Diff(args) => container::diff(&engine, &args),
        ContainerCommand::Export(args) => container::export(&engine, &args),
        ContainerCommand::Commit(args) => image::commit(&mut engine, &args),
        ContainerCommand::Pause(args) => container::pause(&engine, &args, true),
        ContainerCommand::Unpause(args) => container::pause(&engine, &args, false),
        ContainerCommand::Rename(args) => container::rename(&mut engine, &args),
        ContainerCommand::Port(args) => container::port(&engine, &args),
        ContainerCommand::Update(args) => container::update(&engine, &args),
        ContainerCommand::Attach(args) => container::attach(&engine, &args),
        ContainerCommand::Mount(args) => mount::mount(&engine, &args),
        ContainerCommand::Umount(args) => mount::umount(&engine, &args),
    }
}

fn pod_command(global: &GlobalArgs, command: PodCommand) -> Result<i32> {
    let created: skiff_engine::CreateOptions;
    let scope = match &command {
        PodCommand::Create(args) => {
            // Where creating its infra container on these networks needs to be.
            created = skiff_engine::CreateOptions {
                network: args.network.clone(),
                ..Default::default()
            };
            Scope::Run(&created)
        }
        PodCommand::Start(targets) | PodCommand::Restart(targets) => match targets.pods.first() {
            Some(pod) => Scope::Pod(pod),
            None => Scope::Store,
        },
        PodCommand::Top(args) => Scope::Pod(&args.pod),
        _ => Scope::Store,
    };
    pod::dispatch(&mut open_in(global, scope)?, command)
}

/// Opens the engine in the namespaces the engine decides for `scope`.
fn open_in(global: &GlobalArgs, scope: Scope) -> Result<Engine> {
    let opened = Engine::open_in(store_options(global), scope).context("opening storage")?;
    for warning in &opened.warnings {
        skiff_engine::warn!("{warning}");
    }
    Ok(opened.engine)
}

/// Opens the engine for commands on the store.
fn open(global: &GlobalArgs) -> Result<Engine> {
    open_in(global, Scope::Store)
}

/// Opens the engine for `kube play`: where its pods' network is (`--network`).
fn open_for_play(global: &GlobalArgs, args: &KubePlayArgs) -> Result<Engine> {
    let network = skiff_engine::CreateOptions {
        network: args.network.clone(),
        ..Default::default()
    };
    if args.down {
        return open(global);
    }
    open_in(global, Scope::Run(&network))
}

/// Opens the engine for network commands.
fn open_for_networks(global: &GlobalArgs) -> Result<Engine> {
    open_in(global, Scope::Networks)
}

/// The storage options of the global flags.
fn store_options(global: &GlobalArgs) -> StoreOptions {
    let mut options = StoreOptions::for_this_process();
    if let Some(root) = &global.root {
        options.root = root.clone();
    }
    if let Some(runroot) = &global.runroot {
        options.runroot = runroot.clone();
    }
    if let Some(driver) = &global.storage_driver {
        options.driver = Some(driver.clone());
    }
    if let Some(runtime) = &global.runtime {
        options.runtime = runtime.clone();
    }
    options.runtime_flags = global.runtime_flag.clone();
    if let Some(volumes) = &global.volumepath {
        options.volume_path = Some(volumes.clone());
    }
    if global.events_backend.as_deref() == Some("none") {
        options.events = skiff_engine::EventsBackend::None;
    }
    options
}

/// Podman's prune prompt: `WARNING! WHAT` and a y/N question; true when the answer is yes.
fn confirm(what: &str) -> Result<bool> {
    use std::io::Write;
    print!("WARNING! {what}\nAre you sure you want to continue? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// One sample of `stats`/`pod stats`: with `redraw`, the terminal is cleared first, so the
/// table is redrawn in place as Podman's live table.
fn print_sample(text: &str, redraw: bool) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if redraw {
        write!(stdout, "\x1b[2J\x1b[H")?;
    }
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// `--since`/`--until` of logs and events: Podman's time values, relative to now.
fn time_option(value: &Option<String>) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    let now = chrono::Utc::now();
    Ok(value
        .as_deref()
        .map(|v| skiff_engine::parse_log_time(v, now))
        .transpose()?)
}

/// The error and its causes on one line, as Podman prints them.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ").replace('\n', " ")
}

/// Runs `action` on each name, printing each failure, as Podman does for many targets.
/// Returns the exit code: 0, or the code of the last failure.
/// `inspect` of volumes, secrets...: each object `lookup` finds, as JSON or through the
/// template; one that is not there is an error line and exit status 125 after the others.
fn print_inspected(
    names: &[String],
    lookup: impl Fn(&str) -> Result<serde_json::Value, skiff_engine::EngineError>,
    template: Option<&str>,
) -> Result<i32> {
    let mut values = Vec::new();
    let mut code = 0;
    for name in names {
        match lookup(name) {
            Ok(value) => values.push(value),
            Err(err) if err.kind() == skiff_engine::ErrorKind::NotFound => {
                eprintln!("Error: {err}");
                code = 125;
            }
            Err(err) => return Err(err.into()),
        }
    }
    match template {
        Some(f) if !crate::format::is_json(f) => print!("{}", crate::format::render(f, &values)?),
        _ => println!("{}", crate::format::json(&values)?),
    }
    Ok(code)
}

fn for_each(
    names: &[String],
    mut action: impl FnMut(&str) -> Result<Option<String>>,
    failure_code: impl Fn(&anyhow::Error) -> i32,
) -> i32 {
    let mut code = 0;
    for name in names {
        match action(name) {
            Ok(Some(line)) => println!("{line}"),
            Ok(None) => {}
            Err(err) => {
                eprintln!("Error: {}", one_line(&err));
                code = failure_code(&err);
            }
        }
    }
    code
}
