//! `POST /build`: Docker's legacy builder endpoint. The context (a tar, maybe gzipped) is
//! unpacked into a private directory, the build runs in an action helper through skiff-build,
//! and its output comes back as Docker's JSON stream (`{"stream": ...}` lines, the image's ID
//! as `aux`, an `errorDetail` when it fails).
use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::json;
use skiff_build::{BuildRequest, StreamContext};
use skiff_engine::action::{Action, Report, Streams};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::body::{self, Body};
use crate::docker;
use crate::error::ApiError;
use crate::routes::{Api, Query};

/// A JSON map parameter (`buildargs`, `labels`).
fn map(query: &Query, key: &str) -> Result<BTreeMap<String, String>, ApiError> {
    match query.get(key).filter(|v| !v.is_empty()) {
        None => Ok(BTreeMap::new()),
        Some(text) => serde_json::from_str::<BTreeMap<String, Option<String>>>(text)
            .map(|map| {
                map.into_iter()
                    .filter_map(|(k, v)| v.map(|v| (k, v)))
                    .collect()
            })
            .map_err(|e| ApiError::bad_request(format!("invalid {key} {text:?}: {e}"))),
    }
}

pub async fn build(
    api: &Arc<Api>,
    query: &Query,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let mut build = BuildRequest {
        file: query
            .get("dockerfile")
            .filter(|f| !f.is_empty())
            .map(Into::into),
        tags: query
            .all("t")
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect(),
        build_args: map(query, "buildargs")?,
        target: query.get("target").map(str::to_string),
        labels: map(query, "labels")?.into_iter().collect(),
        no_cache: query.flag("nocache", false)?,
        pull: query
            .flag("pull", false)?
            .then_some(skiff_engine::PullPolicy::Always),
        quiet: query.flag("q", false)?,
        // Docker's "bridge" is its default network, which RUN gets as the host's here.
        network: query
            .get("networkmode")
            .filter(|mode| *mode != "bridge")
            .map(str::to_string),
        ..Default::default()
    };
    // The context: the body, to a file, then unpacked (beneath its directory only).
    let parent = api.store.runroot.join("build-contexts");
    std::fs::create_dir_all(&parent)
        .map_err(|e| ApiError::internal(format!("{}: {e}", parent.display())))?;
    let upload = parent.join(format!("upload-{}", skiff_engine::random_id()));
    let mut file = std::fs::File::create(&upload)
        .map_err(|e| ApiError::internal(format!("{}: {e}", upload.display())))?;
    let mut incoming = request.into_body();
    while let Some(frame) = incoming.frame().await {
        let frame =
            frame.map_err(|e| ApiError::bad_request(format!("reading the context: {e}")))?;
        if let Some(data) = frame.data_ref() {
            // A local file: a short write, off the runtime's async work.
            tokio::task::block_in_place(|| std::io::Write::write_all(&mut file, data))
                .map_err(|e| ApiError::internal(format!("writing the context: {e}")))?;
        }
    }
    drop(file);
    let unpack = upload.clone();
    let context = tokio::task::spawn_blocking(move || {
        let read = std::fs::File::open(&unpack).and_then(|f| StreamContext::read(f, &parent));
        let _ = std::fs::remove_file(&unpack);
        read
    })
    .await
    .map_err(|e| ApiError::internal(format!("context task: {e}")))?
    .map_err(|e| ApiError::bad_request(format!("unpacking the build context: {e}")))?;
    build.context = context.dir().to_path_buf();
    if let Some(file) = context.file() {
        build.file = Some(file.to_path_buf());
    }
    let request = serde_json::to_value(&build)
        .map_err(|e| ApiError::internal(format!("encoding the build: {e}")))?;

    let (stdout, our_stdout) = body::socket_pair()?;
    let (stderr, our_stderr) = body::socket_pair()?;
    let streams = Streams {
        stdin: Stdio::null(),
        stdout,
        stderr,
    };
    let running = api.helper.spawn(Action::Build { request }, streams)?;
    let (sender, body) = body::channel();
    let mut pumps = Vec::new();
    for output in [our_stdout, our_stderr] {
        let sender = sender.clone();
        pumps.push(tokio::spawn(async move {
            let mut lines = BufReader::new(output).lines();
            while let Ok(Some(text)) = lines.next_line().await {
                if sender
                    .send(body::json_line(json!({"stream": format!("{text}\n")})))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }));
    }
    tokio::spawn(async move {
        let outcome = tokio::task::spawn_blocking(move || running.finish()).await;
        // The output's last lines first (its streams end with the helper).
        for pump in pumps {
            let _ = pump.await;
        }
        let last: Vec<Bytes> = match outcome {
            Ok(Ok(outcome)) => match outcome.report {
                // (The build's own output said which tags it gave.)
                Report::Built { id } => vec![
                    body::json_line(json!({"aux": {"ID": docker::image_id(&id)}})),
                    body::json_line(json!({
                        "stream": format!("Successfully built {}\n", &id[..id.len().min(12)])
                    })),
                ],
                _ => vec![body::error_line("the build reported no image")],
            },
            Ok(Err(error)) => vec![body::error_line(&error.message)],
            Err(e) => vec![body::error_line(&format!("build task: {e}"))],
        };
        for chunk in last {
            let _ = sender.send(chunk).await;
        }
        drop(context);
    });
    Ok(body::with_type(StatusCode::OK, body, "application/json"))
}
