//! One function per command: parse → engine call → print. No engine logic lives here.
mod container;
mod image;
mod run_options;
mod system;

use anyhow::{Context, Result};
use skiff_engine::{Engine, StoreOptions, rootless};

use crate::cli::{Cli, Command, ContainerCommand, GlobalArgs, ImageCommand};

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
    match cli.command {
        Command::Version(args) => system::version(&args),
        Command::Info(args) => system::info(&open(&global)?, &args),
        Command::Run(args) => container::run(&mut open(&global)?, args),
        Command::Create(args) => container::create(&mut open(&global)?, args),
        Command::Start(args) => container::start(&mut open(&global)?, &args),
        Command::Stop(args) => container::stop(&mut open(&global)?, &args),
        Command::Kill(args) => container::kill(&mut open(&global)?, &args),
        Command::Restart(args) => container::restart(&mut open(&global)?, &args),
        Command::Wait(args) => container::wait(&open(&global)?, &args),
        Command::Rm(args) => container::rm(&mut open(&global)?, &args),
        Command::Ps(args) => container::ps(&open(&global)?, &args),
        Command::Logs(args) => container::logs(&open(&global)?, &args),
        Command::Inspect(args) => system::inspect(&open(&global)?, &args),
        Command::Container(command) => match command {
            ContainerCommand::Run(args) => container::run(&mut open(&global)?, args),
            ContainerCommand::Create(args) => container::create(&mut open(&global)?, args),
            ContainerCommand::Start(args) => container::start(&mut open(&global)?, &args),
            ContainerCommand::Stop(args) => container::stop(&mut open(&global)?, &args),
            ContainerCommand::Kill(args) => container::kill(&mut open(&global)?, &args),
            ContainerCommand::Restart(args) => container::restart(&mut open(&global)?, &args),
            ContainerCommand::Wait(args) => container::wait(&open(&global)?, &args),
            ContainerCommand::Rm(args) => container::rm(&mut open(&global)?, &args),
            ContainerCommand::List(args) => container::ps(&open(&global)?, &args),
            ContainerCommand::Logs(args) => container::logs(&open(&global)?, &args),
            ContainerCommand::Inspect(mut args) => {
                args.kind = "container".into();
                system::inspect(&open(&global)?, &args)
            }
            ContainerCommand::Prune(args) => container::prune(&mut open(&global)?, &args),
            ContainerCommand::Exists(args) => container::exists(&open(&global)?, &args),
        },
        Command::Images(args) => image::list(&open(&global)?, &args),
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
            ImageCommand::Import(args) => image::import(&mut open(&global)?, &args),
            ImageCommand::Tag(args) => image::tag(&mut open(&global)?, &args),
            ImageCommand::Untag(args) => image::untag(&mut open(&global)?, &args),
            ImageCommand::Rm(args) => image::remove(&mut open(&global)?, &args),
            ImageCommand::Exists(args) => image::exists(&open(&global)?, &args),
        },
    }
}

/// Opens the engine; an unprivileged user first becomes root of its own user namespace.
fn open(global: &GlobalArgs) -> Result<Engine> {
    let rootless = !nix::unistd::geteuid().is_root() || rootless::in_user_namespace();
    let mut options = StoreOptions::defaults(rootless);
    if !nix::unistd::geteuid().is_root()
        && let Some(warning) = rootless::enter()?
    {
        eprintln!("WARN[0000] {warning}");
    }
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
    Engine::open(options).context("opening storage")
}

/// Runs `action` on each name, printing each failure, as Podman does for many targets.
/// Returns the exit code: 0, or the code of the last failure.
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
                eprintln!(
                    "Error: {}",
                    err.chain()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(": ")
                );
                code = failure_code(&err);
            }
        }
    }
    code
}
