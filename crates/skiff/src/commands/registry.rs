//! Registry commands: pull, push, login, logout, search, manifest inspect, image copy.
use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result, bail};
use skiff_engine::{
    CopyOptions, Credentials, Engine, PullOptions, PushOptions, RegistryOptions, TransferEvent,
};

use crate::cli::{
    CopyArgs, LoginArgs, LogoutArgs, ManifestInspectArgs, PullArgs, PushArgs, RegistryArgs,
    RunArgs, SearchArgs,
};
use crate::format;

pub fn pull(engine: &mut Engine, args: &PullArgs) -> Result<i32> {
    let options = PullOptions {
        registry: registry_options(&args.registry, args.creds.as_deref())?,
        platform: args.platform.platform()?,
    };
    for name in &args.images {
        let report = engine.pull_image(name, &options, &progress_printer(args.quiet))?;
        println!("{}", report.id());
    }
    Ok(0)
}

/// The pull options of run/create, with the policy.
pub fn run_pull_options(args: &RunArgs) -> Result<PullOptions> {
    Ok(PullOptions {
        registry: registry_options(&args.registry, None)?,
        platform: args.platform.platform()?,
    })
}

pub fn push(engine: &Engine, args: &PushArgs) -> Result<i32> {
    let options = PushOptions {
        registry: registry_options(&args.registry, args.creds.as_deref())?,
        format: args.format.clone(),
    };
    let digest = engine.push_image(
        &args.image,
        args.destination.as_deref(),
        &options,
        &progress_printer(args.quiet),
    )?;
    if let Some(path) = &args.digest_file {
        std::fs::write(path, &digest)
            .with_context(|| format!("--digestfile {}", path.display()))?;
    }
    Ok(0)
}

pub fn login(engine: &Engine, args: &LoginArgs) -> Result<i32> {
    let options = registry_options(&args.registry, None)?;
    if args.get_login {
        match engine.stored_login(&args.server, &options)? {
            Some(username) => println!("{username}"),
            None => bail!("not logged into {}", args.server),
        }
        return Ok(0);
    }
    if args.password.is_some() && args.password_stdin {
        bail!("--password and --password-stdin are mutually exclusive");
    }
    let username = match &args.username {
        Some(username) => username.clone(),
        None if !args.password_stdin && std::io::stdin().is_terminal() => {
            prompt("Username: ", true)?
        }
        None => bail!("username is required (-u/--username)"),
    };
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else if let Some(password) = &args.password {
        password.clone()
    } else if std::io::stdin().is_terminal() {
        prompt("Password: ", false)?
    } else {
        bail!("password is required (-p/--password or --password-stdin)");
    };
    if username.is_empty() || password.is_empty() {
        bail!("username and password must not be empty");
    }
    engine.login(&args.server, Credentials { username, password }, &options)?;
    println!("Login Succeeded!");
    Ok(0)
}

pub fn logout(engine: &Engine, args: &LogoutArgs) -> Result<i32> {
    let options = RegistryOptions {
        authfile: args.authfile.clone(),
        ..Default::default()
    };
    match (&args.server, args.all) {
        (_, true) => {
            engine.logout(None, &options)?;
            println!("Removed login credentials for all registries");
        }
        (Some(server), false) => {
            if !engine.logout(Some(server), &options)? {
                bail!("not logged into {server}");
            }
            println!("Removed login credentials for {server}");
        }
        (None, false) => bail!("name a registry to log out of, or use --all"),
    }
    Ok(0)
}

pub fn search(engine: &Engine, args: &SearchArgs) -> Result<i32> {
    let options = registry_options(&args.registry, None)?;
    if args.list_tags {
        let mut tags = engine.list_tags(&args.term, &options)?;
        if let Some(limit) = args.limit {
            tags.truncate(limit);
        }
        let rows: Vec<serde_json::Value> = tags
            .iter()
            .map(|tag| serde_json::json!({"Name": args.term, "Tag": tag}))
            .collect();
        match format::formatted(args.format.as_deref(), &rows)? {
            Some(text) => print!("{text}"),
            None => print!(
                "{}",
                format::table_with_header("NAME\tTAG", "{{.Name}}\t{{.Tag}}", &rows)?
            ),
        }
        return Ok(0);
    }
    let mut names = engine.search(&args.term, &options)?;
    if let Some(limit) = args.limit {
        names.truncate(limit);
    }
    let rows: Vec<serde_json::Value> = names
        .iter()
        .map(|name| {
            serde_json::json!({
                "Index": name.split('/').next().unwrap_or_default(),
                "Name": name,
                "Description": "",
                "Stars": 0,
                "Official": "",
                "Automated": "",
                "Tag": "",
            })
        })
        .collect();
    match format::formatted(args.format.as_deref(), &rows)? {
        Some(text) => print!("{text}"),
        None => {
            println!("NAME{:<36}DESCRIPTION", "");
            for name in &names {
                println!("{name:<40}");
            }
        }
    }
    Ok(0)
}

pub fn copy(engine: &mut Engine, args: &CopyArgs) -> Result<i32> {
    let side = |tls_verify| RegistryOptions {
        tls_verify,
        authfile: args.authfile.clone(),
        ..Default::default()
    };
    let options = CopyOptions {
        source: PullOptions {
            registry: side(args.src_tls_verify),
            platform: None,
        },
        destination: PushOptions {
            registry: side(args.dest_tls_verify),
            format: args.format.clone(),
        },
    };
    engine.copy_image(
        &args.source,
        &args.destination,
        &options,
        &progress_printer(args.quiet),
    )?;
    Ok(0)
}

pub fn manifest_inspect(engine: &Engine, args: &ManifestInspectArgs) -> Result<i32> {
    let options = registry_options(&args.registry, None)?;
    let bytes = engine.remote_manifest(&args.image, &options)?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).context("the registry sent a manifest that is not JSON")?;
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(0)
}

pub(super) fn registry_options(
    args: &RegistryArgs,
    creds: Option<&str>,
) -> Result<RegistryOptions> {
    let credentials = creds
        .map(|creds| {
            let (username, password) = match creds.split_once(':') {
                Some((u, p)) => (u.to_string(), p.to_string()),
                None => (creds.to_string(), prompt("Password: ", false)?),
            };
            if username.is_empty() {
                bail!("--creds {creds:?}: the username is empty");
            }
            Ok(Credentials { username, password })
        })
        .transpose()?;
    Ok(RegistryOptions {
        tls_verify: args.tls_verify,
        authfile: args.authfile.clone(),
        credentials,
        cert_dir: args.cert_dir.clone(),
    })
}

/// Prints transfer progress to stderr the way Podman does (nothing with --quiet).
pub fn progress_printer(quiet: bool) -> impl Fn(TransferEvent) + Sync {
    move |event| {
        if quiet {
            return;
        }
        let line = match event {
            TransferEvent::Trying(name) => format!("Trying to pull {name}..."),
            TransferEvent::Started => "Getting image source signatures".to_string(),
            TransferEvent::Blob { digest, skipped } => format!(
                "Copying blob {} {}",
                short(&digest, 12),
                if skipped {
                    "skipped: already exists"
                } else {
                    "done"
                }
            ),
            TransferEvent::Config { digest } => {
                format!("Copying config {} done", short(&digest, 10))
            }
            TransferEvent::WritingManifest => "Writing manifest to image destination".to_string(),
            // Podman's lines without a terminal: no byte counts.
            TransferEvent::Layer { .. } | TransferEvent::Progress { .. } => return,
        };
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{line}");
    }
}

fn short(digest: &str, length: usize) -> String {
    digest
        .trim_start_matches("sha256:")
        .chars()
        .take(length)
        .collect()
}

/// Asks on the terminal; a password is read with echo off.
fn prompt(question: &str, echo: bool) -> Result<String> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    eprint!("{question}");
    let stdin = std::io::stdin();
    let saved = if echo { None } else { tcgetattr(&stdin).ok() };
    if let Some(saved) = &saved {
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &quiet);
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(saved) = &saved {
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, saved);
        eprintln!();
    }
    read.context("reading from the terminal")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
