//! skiff: a daemonless, rootless container engine with Podman's command line.
//! `main` alone decides exit codes: 125 for skiff's own errors, 126/127 when the container's
//! program cannot run, otherwise the container's own code.
#![deny(unsafe_code)]

mod cli;
mod commands;
mod format;

fn main() {
    let args = match utf8_arguments() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("Error: {message}");
            std::process::exit(125);
        }
    };
    // What the monitor runs after the container exited: not a user command.
    if args.get(1).map(String::as_str) == Some(skiff_engine::monitor::CLEANUP_COMMAND) {
        std::process::exit(skiff_engine::monitor::cleanup_main(&args[2..]));
    }
    if args.get(1).map(String::as_str) == Some(skiff_engine::rootless_netns::HOLDER_COMMAND) {
        std::process::exit(skiff_engine::rootless_netns::holder_main(&args[2..]));
    }
    if args.get(1).map(String::as_str) == Some(skiff_engine::rootless_netns::FORWARDER_COMMAND) {
        std::process::exit(skiff_engine::rootless_netns::forwarder_main(&args[2..]));
    }
    if args.get(1).map(String::as_str) == Some(skiff_engine::action::ACTION_COMMAND) {
        std::process::exit(skiff_engine::action::action_main(
            &args[2..],
            skiff_engine::action::Runners {
                build: skiff_build::run_request,
                play_kube: skiff_kube::run_request,
            },
        ));
    }
    if args.get(1).map(String::as_str) == Some(skiff_engine::network::DNS_COMMAND) {
        std::process::exit(skiff_engine::network::dns_main(&args[2..]));
    }
    end_quietly_when_output_closes();
    let cli = match cli::Cli::parse_args() {
        Ok(cli) => cli,
        Err(err) => std::process::exit(command_line_error(&err)),
    };
    let code = match commands::dispatch(cli) {
        Ok(code) => code,
        // A bare exit status (`container exists`) has nothing to say.
        Err(err) if err.downcast_ref::<commands::Exit>().is_some() => exit_code(&err),
        Err(err) => {
            eprintln!("Error: {}", commands::one_line(&err));
            exit_code(&err)
        }
    };
    std::process::exit(code);
}

/// A reader that goes away early (`skiff images | head -1`) ends skiff quietly with the status
/// of a process SIGPIPE ended, as it ends Podman; printing to a closed stdout would otherwise
/// panic (Rust ignores SIGPIPE, and a default SIGPIPE would also end an API server whose
/// client hung up).
fn end_quietly_when_output_closes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(128 + libc::SIGPIPE);
        }
        default(info);
    }));
}

/// Prints a command line clap refused as Podman does, and returns the exit code: help and
/// version are no errors; a group without its subcommand prints its help and `Error: missing
/// command 'skiff image COMMAND'`; an unknown subcommand `Error: unrecognized command`.
fn command_line_error(err: &clap::Error) -> i32 {
    use clap::error::{ContextKind, ErrorKind};
    let rendered = err.render().to_string();
    // The command's words, from its usage line: `Usage: skiff image [OPTIONS] <COMMAND>`.
    let path = rendered
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("Usage: "))
        .map(|usage| {
            usage
                .split_whitespace()
                .take_while(|word| !word.starts_with(['[', '<']))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "skiff".to_string());
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            0
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            println!("{}", rendered.trim_end());
            eprintln!("Error: missing command '{path} COMMAND'");
            125
        }
        ErrorKind::InvalidSubcommand => {
            let name = err
                .get(ContextKind::InvalidSubcommand)
                .map(|value| value.to_string())
                .unwrap_or_default();
            eprintln!("Error: unrecognized command `{path} {name}`");
            eprintln!("Try '{path} --help' for more information");
            125
        }
        _ => {
            let _ = err.print();
            125
        }
    }
}

/// The command line, refusing an argument (or a variable skiff reads) that is not UTF-8 with
/// one line naming it: names, images, templates and paths are all text to skiff.
fn utf8_arguments() -> Result<Vec<String>, String> {
    skiff_engine::environment::check_utf8()?;
    std::env::args_os()
        .enumerate()
        .map(|(index, argument)| {
            argument.into_string().map_err(|raw| {
                format!(
                    "argument {index} ({}) is not valid UTF-8",
                    raw.to_string_lossy().escape_debug()
                )
            })
        })
        .collect()
}

fn exit_code(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if let Some(err) = cause.downcast_ref::<skiff_engine::EngineError>() {
            return err.exit_code();
        }
        if let Some(commands::Exit(code)) = cause.downcast_ref() {
            return *code;
        }
    }
    125
}
