//! `/_ping`, `/version`, `/info`.
use std::sync::Arc;

use hyper::header::{CACHE_CONTROL, HeaderValue, PRAGMA};
use hyper::{Method, Response, StatusCode};
use skiff_engine::VersionReport;

use crate::body::{self, Body};
use crate::docker;
use crate::error::ApiError;
use crate::routes::Api;

pub fn ping(method: &Method) -> Response<Body> {
    let content = if method == Method::HEAD {
        body::empty()
    } else {
        body::full("OK")
    };
    let mut response = body::with_type(StatusCode::OK, content, "text/plain; charset=utf-8");
    let headers = response.headers_mut();
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert("Builder-Version", HeaderValue::from_static("1"));
    response
}

fn kernel() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub async fn version() -> Result<Response<Body>, ApiError> {
    Ok(body::json(
        StatusCode::OK,
        &docker::version(&VersionReport::current(), &kernel()),
    ))
}

pub async fn info(api: &Arc<Api>) -> Result<Response<Body>, ApiError> {
    let (info, images) = api
        .engine(|engine| Ok((engine.info()?, engine.list_images()?.len())))
        .await?;
    Ok(body::json(StatusCode::OK, &docker::info(&info, images)))
}

/// `GET /system/df`: images, containers and volumes with their sizes as the engine knows them.
pub async fn df(api: &Arc<Api>) -> Result<Response<Body>, ApiError> {
    let (images, containers, volumes) = api
        .engine(|engine| {
            let images = engine.list_images()?;
            let containers = engine.list_containers(true)?;
            let mut volumes = Vec::new();
            for volume in engine.list_volumes()? {
                let users = engine.volume_users(&volume.name)?.len();
                volumes.push((volume, users));
            }
            Ok((images, containers, volumes))
        })
        .await?;
    let now = chrono::Utc::now();
    let layers: u64 = images.iter().map(|i| i.image.size).sum();
    let volumes: Vec<_> = volumes
        .iter()
        .map(|(v, users)| {
            let mut volume = crate::volumes::volume_json(v);
            volume["UsageData"] = serde_json::json!({"Size": -1, "RefCount": users});
            volume
        })
        .collect();
    Ok(body::json(
        StatusCode::OK,
        &serde_json::json!({
            "LayersSize": layers,
            "Images": images.iter().map(docker::image_summary).collect::<Vec<_>>(),
            "Containers": containers.iter().map(|c| docker::container_summary(c, now)).collect::<Vec<_>>(),
            "Volumes": volumes,
            "BuildCache": [],
        }),
    ))
}
