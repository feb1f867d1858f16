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
