//! `network` commands.
use anyhow::{Result, bail};
use serde_json::{Value, json};
use skiff_engine::{
    Engine, EngineError, ErrorKind, NetworkAttachment, NetworkCreateRequest, NetworkError,
    NetworkReport,
};

use super::Exit;
use crate::cli::{
    NetworkCommand, NetworkConnectArgs, NetworkCreateArgs, NetworkDisconnectArgs,
    NetworkInspectArgs, NetworkLsArgs, NetworkPruneArgs, NetworkRmArgs,
};
use crate::format;

pub fn dispatch(engine: &mut Engine, command: NetworkCommand) -> Result<i32> {
    match command {
        NetworkCommand::Create(args) => create(engine, &args),
        NetworkCommand::Ls(args) => list(engine, &args),
        NetworkCommand::Inspect(args) => inspect(engine, &args),
        NetworkCommand::Rm(args) => remove(engine, &args),
        NetworkCommand::Exists(args) => match engine.network(&args.name) {
            Ok(_) => Ok(0),
            Err(err) if err.kind() == ErrorKind::NotFound => Err(Exit(1).into()),
            Err(err) => Err(err.into()),
        },
        NetworkCommand::Prune(args) => prune(engine, &args),
        NetworkCommand::Connect(args) => connect(engine, args),
        NetworkCommand::Disconnect(args) => disconnect(engine, &args),
    }
}

fn connect(engine: &mut Engine, args: NetworkConnectArgs) -> Result<i32> {
    let attachment = NetworkAttachment {
        network: args.network,
        ip: args.ip,
        mac: args.mac_address,
        aliases: args.alias,
    };
    engine.connect_network(&args.container, attachment)?;
    Ok(0)
}

/// `-f` is accepted for Podman's sake: a disconnect never waits on anything.
fn disconnect(engine: &mut Engine, args: &NetworkDisconnectArgs) -> Result<i32> {
    engine.disconnect_network(&args.container, &args.network)?;
    Ok(0)
}

fn create(engine: &Engine, args: &NetworkCreateArgs) -> Result<i32> {
    if let Some(option) = args.opt.first() {
        bail!("-o {option:?}: no driver options are supported yet");
    }
    let mut labels = Vec::new();
    for label in &args.label {
        let (key, value) = label.split_once('=').unwrap_or((label, ""));
        labels.push((key.to_string(), value.to_string()));
    }
    if args.ignore
        && let Some(name) = &args.name
        && engine.network(name).is_ok()
    {
        println!("{name}");
        return Ok(0);
    }
    let network = engine.create_network(&NetworkCreateRequest {
        name: args.name.clone(),
        driver: Some(args.driver.clone()),
        subnets: args.subnet.clone(),
        gateway: args.gateway.clone(),
        internal: args.internal,
        ipv6: args.ipv6,
        interface: args.interface_name.clone(),
        labels,
    })?;
    println!("{}", network.name);
    Ok(0)
}

/// The values `network ls --format` templates see (Podman's names).
fn template(report: &NetworkReport) -> Value {
    let n = &report.network;
    let mut value = report.json();
    if let Value::Object(map) = &mut value {
        map.insert("Name".into(), json!(n.name));
        map.insert("ID".into(), json!(&n.id[..12]));
        map.insert("Driver".into(), json!(n.driver));
        map.insert("Labels".into(), json!(n.labels));
        map.insert("Internal".into(), json!(n.internal));
        map.insert("IPv6Enabled".into(), json!(n.ipv6_enabled));
        map.insert("DNSEnabled".into(), json!(n.dns_enabled));
        map.insert("NetworkInterface".into(), json!(n.network_interface));
        map.insert("Created".into(), json!(n.created));
        let subnets: Vec<Value> = n
            .subnets
            .iter()
            .map(|s| json!({"Subnet": s.subnet, "Gateway": s.gateway}))
            .collect();
        map.insert("Subnets".into(), json!(subnets));
    }
    value
}

fn list(engine: &Engine, args: &NetworkLsArgs) -> Result<i32> {
    let mut networks = engine.list_networks()?;
    for filter in &args.filter {
        let (key, value) = filter
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--filter {filter:?}: expected KEY=VALUE"))?;
        match key {
            "name" => networks.retain(|n| n.network.name.contains(value)),
            "id" => networks.retain(|n| n.network.id.starts_with(value)),
            "driver" => networks.retain(|n| n.network.driver == value),
            "label" => {
                let (k, v) = value.split_once('=').unwrap_or((value, ""));
                networks.retain(|n| {
                    n.network
                        .labels
                        .get(k)
                        .is_some_and(|l| v.is_empty() || l == v)
                })
            }
            other => bail!("--filter {other:?}: supported filters are name, id, driver, label"),
        }
    }
    if args.quiet {
        for report in &networks {
            println!("{}", report.network.name);
        }
        return Ok(0);
    }
    if let Some(format) = &args.format {
        let values: Vec<Value> = if format::is_json(format) {
            networks.iter().map(NetworkReport::json).collect()
        } else {
            networks.iter().map(template).collect()
        };
        if let Some(text) = format::formatted(Some(format), &values)? {
            print!("{text}");
        }
        return Ok(0);
    }
    let mut rows = Vec::new();
    if !args.noheading {
        rows.push("NETWORK ID\tNAME\tDRIVER".to_string());
    }
    for report in &networks {
        let n = &report.network;
        let id = if args.no_trunc {
            &n.id[..]
        } else {
            &n.id[..12]
        };
        rows.push(format!("{id}\t{}\t{}", n.name, n.driver));
    }
    println!("{}", format::align(&rows));
    Ok(0)
}

fn inspect(engine: &Engine, args: &NetworkInspectArgs) -> Result<i32> {
    let mut values = Vec::new();
    let mut code = 0;
    for name in &args.networks {
        match engine.network(name) {
            Ok(report) => values.push(report.json()),
            Err(EngineError::Network(err)) => {
                eprintln!("Error: {err}");
                code = 125;
            }
            Err(err) => return Err(err.into()),
        }
    }
    match args.format.as_deref() {
        Some(f) if !format::is_json(f) => {
            let values: Vec<Value> = args
                .networks
                .iter()
                .filter_map(|n| engine.network(n).ok())
                .map(|r| template(&r))
                .collect();
            print!("{}", format::render(f, &values)?);
        }
        _ => println!("{}", format::json(&values)?),
    }
    Ok(code)
}

fn remove(engine: &mut Engine, args: &NetworkRmArgs) -> Result<i32> {
    let mut code = 0;
    for name in &args.networks {
        match engine.remove_network(name, args.force) {
            Ok(name) => println!("{name}"),
            Err(EngineError::Network(NetworkError::NotFound(_))) if args.force => {}
            Err(err) => {
                eprintln!("Error: {err}");
                // Podman's codes: 1 no such network, 2 in use.
                code = match err {
                    EngineError::Network(NetworkError::NotFound(_)) => 1,
                    EngineError::NetworkInUse(_) => 2,
                    _ => 125,
                };
            }
        }
    }
    Ok(code)
}

fn prune(engine: &mut Engine, _args: &NetworkPruneArgs) -> Result<i32> {
    for name in engine.prune_networks()? {
        println!("{name}");
    }
    Ok(0)
}
