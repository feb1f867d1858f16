//! `info`, `version`, and `inspect` (which looks at containers, then images).
use anyhow::Result;
use serde_json::{Value, json};
use skiff_engine::{Engine, EngineError};

use crate::cli::{FormatArgs, InspectArgs};
use crate::format;

pub fn info(engine: &Engine, args: &FormatArgs) -> Result<i32> {
    let info = engine.info()?.0;
    match args.format.as_deref() {
        Some(f) if format::is_json(f) => println!("{}", format::json(&info)?),
        Some(f) => print!("{}", format::render(f, std::slice::from_ref(&info))?),
        None => print!("{}", format::yaml(&info)),
    }
    Ok(0)
}

pub fn version(args: &FormatArgs) -> Result<i32> {
    let version = json!({
        "Client": {
            "APIVersion": env!("CARGO_PKG_VERSION"),
            "Version": env!("CARGO_PKG_VERSION"),
            "GoVersion": "",
            "GitCommit": "",
            "BuiltTime": "",
            "Built": 0,
            "OsArch": format!("linux/{}", std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64")),
            "Os": "linux",
        }
    });
    match args.format.as_deref() {
        Some(f) if format::is_json(f) => println!("{}", format::json(&version)?),
        Some(f) => print!("{}", format::render(f, std::slice::from_ref(&version))?),
        None => {
            let client = &version["Client"];
            println!("Client:       skiff");
            println!(
                "Version:      {}",
                client["Version"].as_str().unwrap_or_default()
            );
            println!(
                "API Version:  {}",
                client["APIVersion"].as_str().unwrap_or_default()
            );
            println!(
                "OS/Arch:      {}",
                client["OsArch"].as_str().unwrap_or_default()
            );
        }
    }
    Ok(0)
}

pub fn inspect(engine: &Engine, args: &InspectArgs) -> Result<i32> {
    let mut values: Vec<Value> = Vec::new();
    let mut code = 0;
    for name in &args.names {
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
        Some(f) if !format::is_json(f) => print!("{}", format::render(f, &values)?),
        _ => println!("{}", format::json(&values)?),
    }
    Ok(code)
}
