//! `/volumes/...`: list, inspect, create, remove, prune.
use std::collections::BTreeMap;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use skiff_engine::action::{Action, Report};
use skiff_engine::{VolumeCreate, VolumeReport};

use crate::body::{self, Body};
use crate::error::ApiError;
use crate::routes::{Api, Query, json_body, no_content};

/// Docker's Volume object.
pub(crate) fn volume_json(v: &VolumeReport) -> Value {
    json!({
        "Name": v.name,
        "Driver": v.driver,
        "Mountpoint": v.mountpoint,
        "CreatedAt": v.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "Labels": v.labels,
        "Scope": "local",
        "Options": v.options,
    })
}

/// Docker's volume filters: name (substring), label, driver, dangling.
fn matches(v: &VolumeReport, filters: &[(String, String)], users: usize) -> Result<bool, ApiError> {
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (key, value) in filters {
        by_key.entry(key).or_default().push(value);
    }
    for (key, values) in by_key {
        let pass = values.iter().any(|value| match key {
            "name" => v.name.contains(value),
            "driver" => v.driver == *value,
            "label" => match value.split_once('=') {
                Some((k, val)) => v.labels.get(k).is_some_and(|x| x == val),
                None => v.labels.contains_key(*value),
            },
            "dangling" => matches!(*value, "true" | "1") == (users == 0),
            _ => false,
        });
        if !["name", "driver", "label", "dangling"].contains(&key) {
            return Err(ApiError::bad_request(format!("invalid filter {key:?}")));
        }
        if !pass {
            return Ok(false);
        }
    }
    Ok(true)
}

pub async fn list(api: &Arc<Api>, query: &Query) -> Result<Response<Body>, ApiError> {
    let filters: Vec<(String, String)> = query
        .filters()?
        .into_iter()
        .map(|f| match f.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (f, String::new()),
        })
        .collect();
    let volumes = api
        .engine(|engine| {
            let mut out = Vec::new();
            for volume in engine.list_volumes()? {
                let users = engine.volume_users(&volume.name)?.len();
                out.push((volume, users));
            }
            Ok(out)
        })
        .await?;
    let mut list = Vec::new();
    for (volume, users) in &volumes {
        if matches(volume, &filters, *users)? {
            list.push(volume_json(volume));
        }
    }
    Ok(body::json(
        StatusCode::OK,
        &json!({"Volumes": list, "Warnings": []}),
    ))
}

pub async fn inspect(api: &Arc<Api>, name: &str) -> Result<Response<Body>, ApiError> {
    let name = name.to_string();
    let volume = api.engine(move |engine| engine.volume(&name)).await?;
    Ok(body::json(StatusCode::OK, &volume_json(&volume)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    name: String,
    driver: String,
    driver_opts: Option<BTreeMap<String, String>>,
    labels: Option<BTreeMap<String, String>>,
}

pub async fn create(
    api: &Arc<Api>,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let create: CreateBody = json_body(request.into_body()).await?;
    let request = VolumeCreate {
        name: (!create.name.is_empty()).then_some(create.name),
        driver: (!create.driver.is_empty()).then_some(create.driver),
        labels: create.labels.unwrap_or_default(),
        options: create.driver_opts.unwrap_or_default(),
        // Docker answers with the volume that exists.
        ignore: true,
        anonymous: false,
    };
    let volume = api
        .engine(move |engine| engine.create_volume(&request))
        .await?;
    Ok(body::json(StatusCode::CREATED, &volume_json(&volume)))
}

pub async fn remove(api: &Arc<Api>, name: &str, query: &Query) -> Result<Response<Body>, ApiError> {
    api.action(Action::RemoveVolume {
        volume: name.to_string(),
        force: query.flag("force", false)?,
    })
    .await?;
    Ok(no_content())
}

pub async fn prune(api: &Arc<Api>) -> Result<Response<Body>, ApiError> {
    let outcome = api.action(Action::PruneVolumes).await?;
    let Report::Pruned { names } = outcome.report else {
        return Err(ApiError::internal("volume prune reported nothing"));
    };
    Ok(body::json(
        StatusCode::OK,
        &json!({"VolumesDeleted": names, "SpaceReclaimed": 0}),
    ))
}
