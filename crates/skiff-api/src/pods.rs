//! Podman's libpod endpoints for pods (`/libpod/pods/...`) and `generate kube`: what Podman's
//! own clients and the dashboard use, where the Docker API has no pods.
use std::sync::Arc;

use hyper::{Response, StatusCode};
use serde_json::Value;
use skiff_engine::PodFilter;
use skiff_engine::action::{Action, Report};

use crate::body::{self, Body};
use crate::error::ApiError;
use crate::routes::{Api, Query, text_body};

/// `GET /libpod/pods/json`: Podman's ListPodsReport for each pod.
pub async fn list(api: &Arc<Api>, query: &Query) -> Result<Response<Body>, ApiError> {
    let filter = PodFilter::parse(&query.filters()?)?;
    let pods: Vec<Value> = api
        .engine(move |engine| {
            Ok(engine
                .list_pods(&filter)?
                .iter()
                .map(|p| p.ps_json())
                .collect())
        })
        .await?;
    Ok(body::json(StatusCode::OK, &pods))
}

/// `POST /libpod/pods/{name}/start|stop`, `DELETE /libpod/pods/{name}`: Podman's report
/// (the pod's ID and no errors).
pub async fn act(api: &Arc<Api>, action: Action) -> Result<Response<Body>, ApiError> {
    let outcome = api.action(action).await?;
    let Report::Named { id, .. } = outcome.report else {
        return Err(ApiError::internal("the pod action reported nothing"));
    };
    Ok(body::json(
        StatusCode::OK,
        &serde_json::json!({ "Id": id, "Errs": [] }),
    ))
}

/// `POST /libpod/pods/{name}/start`.
pub async fn start(api: &Arc<Api>, name: &str) -> Result<Response<Body>, ApiError> {
    act(api, Action::StartPod { pod: name.into() }).await
}

/// `POST /libpod/pods/{name}/stop?t=N`.
pub async fn stop(api: &Arc<Api>, name: &str, query: &Query) -> Result<Response<Body>, ApiError> {
    let timeout = query.number::<u64>("t")?;
    act(
        api,
        Action::StopPod {
            pod: name.into(),
            timeout,
        },
    )
    .await
}

/// `DELETE /libpod/pods/{name}?force=true`.
pub async fn remove(api: &Arc<Api>, name: &str, query: &Query) -> Result<Response<Body>, ApiError> {
    let force = query.flag("force", false)?;
    act(
        api,
        Action::RemovePod {
            pod: name.into(),
            force,
        },
    )
    .await
}

/// `GET /libpod/generate/kube?names=N&service=true&type=pod|deployment|daemonset`: the YAML.
pub async fn generate_kube(api: &Arc<Api>, query: &Query) -> Result<Response<Body>, ApiError> {
    let names = query.all("names");
    if names.is_empty() {
        return Err(ApiError::bad_request(
            "names: at least one container, pod or volume",
        ));
    }
    let options = skiff_kube::GenerateOptions {
        service: query.flag("service", false)?,
        kind: skiff_kube::WorkloadKind::parse(query.get("type").unwrap_or("pod"))?,
        replicas: query.number("replicas")?,
    };
    let yaml = api
        .engine(move |engine| skiff_kube::generate(engine, &names, &options))
        .await?;
    Ok(body::with_type(
        StatusCode::OK,
        body::full(yaml),
        "text/vnd.yaml; charset=utf-8",
    ))
}

/// `POST /libpod/play/kube` (Podman 4's `/libpod/kube/play` too): the body's Kubernetes YAML
/// played as `kube play` plays it (`network`, `start`, `replace`, `publishPorts`); Podman's
/// report of the pods, their containers and the volumes made.
pub async fn play_kube(
    api: &Arc<Api>,
    query: &Query,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<Response<Body>, ApiError> {
    let options = skiff_kube::PlayOptions {
        start: query.flag("start", true)?,
        replace: query.flag("replace", false)?,
        network: query.all("network"),
        publish: query.all("publishPorts"),
        // Nothing is built from the service's own directory.
        build: skiff_kube::BuildPolicy {
            build: Some(false),
            ..Default::default()
        },
        ..Default::default()
    };
    let pods = skiff_engine::CreateOptions {
        network: options.network.clone(),
        ..Default::default()
    };
    let yaml = text_body(request.into_body()).await?;
    let request = serde_json::to_value(skiff_kube::PlayRequest { yaml, options })
        .map_err(|e| ApiError::internal(format!("encoding the play: {e}")))?;
    let outcome = api.action(Action::PlayKube { request, pods }).await?;
    let Report::Played { made } = outcome.report else {
        return Err(ApiError::internal("kube play reported nothing"));
    };
    let report: skiff_kube::PlayReport = serde_json::from_value(made)
        .map_err(|e| ApiError::internal(format!("the play's report: {e}")))?;
    let pods: Vec<Value> = report
        .pods
        .iter()
        .map(|pod| {
            serde_json::json!({
                "ID": pod.id,
                "Containers": pod.containers,
                "InitContainers": pod.init_containers,
                "Logs": [],
                "ContainerErrors": [],
            })
        })
        .collect();
    let volumes: Vec<Value> = report
        .volumes
        .iter()
        .map(|name| serde_json::json!({ "Name": name }))
        .collect();
    Ok(body::json(
        StatusCode::OK,
        &serde_json::json!({
            "Pods": pods,
            "Volumes": volumes,
            "RmReport": [],
            "StopReport": [],
            "Secrets": [],
            "ServiceContainerID": "",
        }),
    ))
}
