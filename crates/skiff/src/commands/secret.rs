//! `secret`: the engine's secrets, printed as Podman prints them (never their data).
use std::io::Read;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use skiff_engine::{Engine, EngineError, SecretCreate, SecretReport, human_duration};

use super::container::removal_code;
use super::{Exit, for_each};
use crate::cli::{
    NameArg, SecretCommand, SecretCreateArgs, SecretInspectArgs, SecretLsArgs, SecretRmArgs,
};
use crate::format;

pub fn dispatch(engine: &Engine, command: SecretCommand) -> Result<i32> {
    match command {
        SecretCommand::Create(args) => create(engine, &args),
        SecretCommand::Ls(args) => list(engine, &args),
        SecretCommand::Inspect(args) => inspect(engine, &args),
        SecretCommand::Rm(args) => remove(engine, &args),
        SecretCommand::Exists(NameArg { name }) => match engine.secret(&name) {
            Ok(_) => Ok(0),
            Err(EngineError::NoSuchSecret(_)) => Err(Exit(1).into()),
            Err(err) => Err(err.into()),
        },
    }
}

fn create(engine: &Engine, args: &SecretCreateArgs) -> Result<i32> {
    let data = if args.env {
        std::env::var(&args.file)
            .with_context(|| format!("environment variable {} is not set", args.file))?
            .into_bytes()
    } else if args.file == "-" {
        let mut data = Vec::new();
        std::io::stdin()
            .read_to_end(&mut data)
            .context("reading the secret from standard input")?;
        data
    } else {
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file))?
    };
    let id = engine.create_secret(&SecretCreate {
        name: args.name.clone(),
        data,
        labels: args
            .label
            .iter()
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap_or((l, ""));
                (k.to_string(), v.to_string())
            })
            .collect(),
        driver: args.driver.clone(),
        replace: args.replace,
    })?;
    println!("{id}");
    Ok(0)
}

/// A secret as `secret ls` templates see it (Podman's SecretInfoReport plus its table fields).
fn row(secret: &SecretReport) -> Value {
    let now = chrono::Utc::now();
    let mut value = secret.inspect_json();
    value["Name"] = json!(secret.name);
    value["Driver"] = json!(secret.driver);
    value["CreatedAt"] = json!(format!("{} ago", human_duration(now, secret.created_at)));
    value["UpdatedAt"] = json!(format!("{} ago", human_duration(now, secret.updated_at)));
    value
}

fn list(engine: &Engine, args: &SecretLsArgs) -> Result<i32> {
    let mut secrets = engine.list_secrets()?;
    for filter in &args.filter {
        match filter.split_once('=') {
            Some(("name", name)) => secrets.retain(|s| s.name.contains(name)),
            Some(("id", id)) => secrets.retain(|s| s.id.starts_with(id)),
            _ => bail!("--filter {filter:?}: supported filters are name and id"),
        }
    }
    if args.quiet {
        for secret in &secrets {
            println!("{}", secret.id);
        }
        return Ok(0);
    }
    let values: Vec<Value> = secrets.iter().map(row).collect();
    const ROW: &str = "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.CreatedAt}}\t{{.UpdatedAt}}";
    match args.format.as_deref() {
        Some(f) if format::is_json(f) => println!("{}", format::json(&values)?),
        Some(f) => print!("{}", format::render(f, &values)?),
        None if args.noheading => print!("{}", format::render(ROW, &values)?),
        None => print!(
            "{}",
            format::table_with_header("ID\tNAME\tDRIVER\tCREATED\tUPDATED", ROW, &values)?
        ),
    }
    Ok(0)
}

fn inspect(engine: &Engine, args: &SecretInspectArgs) -> Result<i32> {
    super::print_inspected(
        &args.secrets,
        |name| engine.secret(name).map(|secret| secret.inspect_json()),
        args.format.as_deref(),
    )
}

fn remove(engine: &Engine, args: &SecretRmArgs) -> Result<i32> {
    let names: Vec<String> = if args.all {
        engine.list_secrets()?.into_iter().map(|s| s.name).collect()
    } else if args.secrets.is_empty() {
        bail!("at least one secret name or ID must be specified");
    } else {
        args.secrets.clone()
    };
    Ok(for_each(
        &names,
        |name| match engine.remove_secret(name) {
            Ok(id) => Ok(Some(id)),
            Err(EngineError::NoSuchSecret(_)) if args.ignore => Ok(None),
            Err(err) => Err(err.into()),
        },
        removal_code,
    ))
}
