//! `/networks/...`: list, inspect, create, remove, connect, disconnect, prune.
use std::collections::BTreeMap;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use skiff_engine::action::{Action, Report};
use skiff_engine::{NetworkCreateRequest, NetworkReport};

use crate::body::{self, Body};
use crate::error::ApiError;
use crate::routes::{Api, Query, json_body, no_content};

/// Docker's NetworkResource; `containers` (ID → endpoint) only for inspect.
fn network_json(report: &NetworkReport, containers: Map<String, Value>) -> Value {
    let n = &report.network;
    json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created,
        "Scope": "local",
        "Driver": n.driver,
        "EnableIPv6": n.ipv6_enabled,
        "IPAM": {
            "Driver": "default",
            "Options": n.ipam_options,
            "Config": n.subnets.iter().map(|s| json!({"Subnet": s.subnet, "Gateway": s.gateway})).collect::<Vec<_>>(),
        },
        "Internal": n.internal,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": containers,
        "Options": n.options,
        "Labels": n.labels,
    })
}

/// Docker's name for the default network is `bridge`.
fn engine_name(name: &str) -> &str {
    if name == "bridge" {
        skiff_engine::DEFAULT_NETWORK
    } else {
        name
    }
}

pub async fn list(api: &Arc<Api>, query: &Query) -> Result<Response<Body>, ApiError> {
    let filters = query.filters()?;
    let networks = api.engine(|engine| engine.list_networks()).await?;
    let mut list = Vec::new();
    for report in &networks {
        if matches_filters(report, &filters)? {
            list.push(network_json(report, Map::new()));
        }
    }
    Ok(body::json(StatusCode::OK, &list))
}

/// Docker's network filters: name (substring), id (prefix), label, driver, type.
fn matches_filters(report: &NetworkReport, filters: &[String]) -> Result<bool, ApiError> {
    let n = &report.network;
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for filter in filters {
        let (key, value) = filter.split_once('=').unwrap_or((filter, ""));
        by_key.entry(key).or_default().push(value);
    }
    for (key, values) in by_key {
        let any = |test: &dyn Fn(&str) -> bool| values.iter().any(|v| test(v));
        let pass = match key {
            "name" => any(&|v| n.name.contains(v)),
            "id" => any(&|v| n.id.starts_with(v)),
            "driver" => any(&|v| n.driver == v),
            "type" => any(&|v| {
                v == "custom" && n.name != skiff_engine::DEFAULT_NETWORK
                    || v == "builtin" && n.name == skiff_engine::DEFAULT_NETWORK
            }),
            "label" => any(&|v| match v.split_once('=') {
                Some((k, val)) => n.labels.get(k).is_some_and(|x| x == val),
                None => n.labels.contains_key(v),
            }),
            "dangling" | "scope" => true,
            other => {
                return Err(ApiError::bad_request(format!("invalid filter {other:?}")));
            }
        };
        if !pass {
            return Ok(false);
        }
    }
    Ok(true)
}

pub async fn inspect(api: &Arc<Api>, name: &str) -> Result<Response<Body>, ApiError> {
    let name = engine_name(name).to_string();
    let (report, containers) = api
        .engine(move |engine| {
            let report = engine.network(&name)?;
            let mut containers = Map::new();
            for member in &report.containers {
                if let Ok(c) = engine.container(member) {
                    let address = c.addresses.iter().find(|a| a.network == report.network.name);
                    containers.insert(
                        c.id().to_string(),
                        json!({
                            "Name": c.name(),
                            "EndpointID": "",
                            "MacAddress": address.map(|a| a.mac.clone()).unwrap_or_default(),
                            "IPv4Address": address.map(|a| format!("{}/{}", a.address, a.prefix)).unwrap_or_default(),
                            "IPv6Address": "",
                        }),
                    );
                }
            }
            Ok((report, containers))
        })
        .await?;
    Ok(body::json(
        StatusCode::OK,
        &network_json(&report, containers),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    name: String,
    driver: String,
    internal: bool,
    #[serde(rename = "EnableIPv6")]
    enable_ipv6: Option<bool>,
    #[serde(rename = "IPAM")]
    ipam: Option<Ipam>,
    labels: Option<BTreeMap<String, String>>,
    options: Option<BTreeMap<String, String>>,
}

/// Docker's driver option naming the bridge interface.
const BRIDGE_NAME: &str = "com.docker.network.bridge.name";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Ipam {
    config: Option<Vec<IpamConfig>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct IpamConfig {
    subnet: String,
    gateway: String,
}

pub async fn create(
    api: &Arc<Api>,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let create: CreateBody = json_body(request.into_body()).await?;
    if create.name.is_empty() {
        return Err(ApiError::bad_request("network name is required"));
    }
    let configs = create.ipam.and_then(|i| i.config).unwrap_or_default();
    let request = NetworkCreateRequest {
        name: Some(create.name),
        driver: (!create.driver.is_empty()).then_some(create.driver),
        subnets: configs
            .iter()
            .filter(|c| !c.subnet.is_empty())
            .map(|c| c.subnet.clone())
            .collect(),
        gateway: configs
            .iter()
            .find(|c| !c.gateway.is_empty())
            .map(|c| c.gateway.clone()),
        internal: create.internal,
        ipv6: create.enable_ipv6.unwrap_or(false),
        interface: create
            .options
            .as_ref()
            .and_then(|options| options.get(BRIDGE_NAME))
            .filter(|name| !name.is_empty())
            .cloned(),
        labels: create.labels.unwrap_or_default().into_iter().collect(),
    };
    let outcome = api.action(Action::CreateNetwork { request }).await?;
    let Report::Named { id, .. } = outcome.report else {
        return Err(ApiError::internal("network create reported no network"));
    };
    Ok(body::json(
        StatusCode::CREATED,
        &json!({"Id": id, "Warning": ""}),
    ))
}

pub async fn remove(api: &Arc<Api>, name: &str) -> Result<Response<Body>, ApiError> {
    api.action(Action::RemoveNetwork {
        network: engine_name(name).to_string(),
        force: false,
    })
    .await?;
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ConnectBody {
    container: String,
    endpoint_config: Option<crate::create::EndpointConfig>,
    force: bool,
}

pub async fn connect(
    api: &Arc<Api>,
    name: &str,
    request: Request<Incoming>,
    connect: bool,
) -> Result<Response<Body>, ApiError> {
    let body: ConnectBody = json_body(request.into_body()).await?;
    if body.container.is_empty() {
        return Err(ApiError::bad_request("container is required"));
    }
    let network = engine_name(name).to_string();
    let action = if connect {
        let endpoint = body.endpoint_config.unwrap_or_default();
        Action::ConnectNetwork {
            container: body.container,
            attachment: skiff_engine::NetworkAttachment {
                network,
                ip: endpoint
                    .ipam_config
                    .map(|c| c.ipv4_address)
                    .filter(|ip| !ip.is_empty()),
                mac: None,
                aliases: endpoint.aliases.unwrap_or_default(),
            },
        }
    } else {
        let _ = body.force;
        Action::DisconnectNetwork {
            container: body.container,
            network,
        }
    };
    api.action(action).await?;
    Ok(body::status(StatusCode::OK))
}

pub async fn prune(api: &Arc<Api>) -> Result<Response<Body>, ApiError> {
    let outcome = api.action(Action::PruneNetworks).await?;
    let Report::Pruned { names } = outcome.report else {
        return Err(ApiError::internal("network prune reported nothing"));
    };
    Ok(body::json(
        StatusCode::OK,
        &json!({"NetworksDeleted": names}),
    ))
}
