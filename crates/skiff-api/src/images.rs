//! `/images/...`: list, inspect, pull, tag, remove.
use std::sync::Arc;

use hyper::{Response, StatusCode};
use serde_json::json;
use skiff_engine::action::{Action, ActionError, Outcome, Report, Streams};
use skiff_engine::{ImageFilter, TransferEvent};

use crate::body::{self, Body};
use crate::docker;
use crate::error::ApiError;
use crate::routes::{Api, Query};

pub async fn list(api: &Arc<Api>, query: &Query) -> Result<Response<Body>, ApiError> {
    let all = query.flag("all", false)?;
    let filters = query.filters()?;
    let images = api
        .engine(move |engine| {
            let filter = ImageFilter::parse(&filters)?;
            let images = filter.apply(engine.list_images()?)?;
            let mut shown = Vec::new();
            for image in images {
                if all || !engine.is_intermediate(&image)? {
                    shown.push(image);
                }
            }
            Ok(shown)
        })
        .await?;
    let list: Vec<_> = images.iter().map(docker::image_summary).collect();
    Ok(body::json(StatusCode::OK, &list))
}

pub async fn inspect(api: &Arc<Api>, name: &str) -> Result<Response<Body>, ApiError> {
    let name = name.to_string();
    let image = api.engine(move |engine| engine.image(&name)).await?;
    Ok(body::json(StatusCode::OK, &docker::image_inspect(&image)))
}

/// `fromImage` with `tag` (a tag or a digest), as one reference.
fn reference(from: &str, tag: &str) -> String {
    let last = from.rsplit('/').next().unwrap_or(from);
    if tag.is_empty() || last.contains(':') || from.contains('@') {
        from.to_string()
    } else if tag.starts_with("sha256:") {
        format!("{from}@{tag}")
    } else {
        format!("{from}:{tag}")
    }
}

/// `POST /images/create?fromImage=...&tag=...`: a pull, answered with Docker's JSON
/// progress lines as the layers come. As Docker, a pull that fails before any layer moves
/// (no such image, no access) is an error status; after that, an error line ends the stream.
pub async fn pull(
    api: &Arc<Api>,
    query: &Query,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<Response<Body>, ApiError> {
    if query.get("fromSrc") == Some("-") {
        return import(api, query, request).await;
    }
    let Some(from) = query.get("fromImage").filter(|f| !f.is_empty()) else {
        return Err(ApiError::bad_request(
            "fromImage (a pull) or fromSrc=- (an import of the body) is required",
        ));
    };
    let name = reference(from, query.get("tag").unwrap_or_default());
    let running = api.helper.spawn(
        Action::Pull {
            reference: name.clone(),
            platform: query
                .get("platform")
                .filter(|p| !p.is_empty())
                .map(str::to_string),
        },
        Streams::default(),
    )?;
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    tokio::task::spawn_blocking(move || {
        let outcome = running.finish_with(|event| {
            let _ = events.send(Pulling::Progress(event));
        });
        let _ = events.send(Pulling::Done(outcome));
    });
    let mut waiting = Vec::new();
    loop {
        match received.recv().await {
            Some(Pulling::Progress(TransferEvent::Started)) => break,
            Some(Pulling::Done(Err(error))) => return Err(error.into()),
            Some(other) => waiting.push(other),
            None => return Err(ApiError::internal("the pull ended without a report")),
        }
    }
    let tag = name
        .rsplit_once(':')
        .map(|(_, tag)| tag)
        .unwrap_or("latest")
        .to_string();
    let from = from.to_string();
    let (sender, body) = body::channel();
    tokio::spawn(async move {
        let first = json!({"status": format!("Pulling from {from}"), "id": tag});
        if sender.send(body::json_line(first)).await.is_err() {
            return;
        }
        let mut waiting = waiting.into_iter();
        while let Some(message) = match waiting.next() {
            Some(message) => Some(message),
            None => received.recv().await,
        } {
            let lines = match message {
                Pulling::Progress(event) => progress_line(&event).into_iter().collect(),
                Pulling::Done(Ok(outcome)) => match outcome.report {
                    Report::Pulled { id } => vec![
                        body::json_line(
                            json!({"status": format!("Digest: {}", docker::image_id(&id))}),
                        ),
                        body::json_line(
                            json!({"status": format!("Status: Downloaded newer image for {name}")}),
                        ),
                    ],
                    _ => vec![body::error_line("pull reported no image")],
                },
                Pulling::Done(Err(error)) => vec![body::error_line(&error.message)],
            };
            for line in lines {
                if sender.send(line).await.is_err() {
                    return;
                }
            }
        }
    });
    Ok(body::with_type(StatusCode::OK, body, "application/json"))
}

/// What the pull's helper says, in order.
enum Pulling {
    Progress(TransferEvent),
    Done(Result<Outcome, ActionError>),
}

/// A pull's event as Docker's progress message about a layer (by its short ID), if it is one.
fn progress_line(event: &TransferEvent) -> Option<bytes::Bytes> {
    let layer = |digest: &str| -> String {
        digest
            .trim_start_matches("sha256:")
            .chars()
            .take(12)
            .collect()
    };
    let message = match event {
        TransferEvent::Layer { digest, .. } => {
            json!({"status": "Pulling fs layer", "progressDetail": {}, "id": layer(digest)})
        }
        TransferEvent::Progress {
            digest,
            current,
            size,
        } => json!({
            "status": "Downloading",
            "progressDetail": {"current": current, "total": size},
            "progress": progress_bar(*current, *size),
            "id": layer(digest),
        }),
        TransferEvent::Blob { digest, skipped } => json!({
            "status": if *skipped { "Already exists" } else { "Pull complete" },
            "progressDetail": {},
            "id": layer(digest),
        }),
        _ => return None,
    };
    Some(body::json_line(message))
}

/// Docker's text bar: `[=====>      ]  1.2MB/3.4MB`.
fn progress_bar(current: u64, total: u64) -> String {
    const WIDTH: u64 = 50;
    let done = (current * WIDTH).checked_div(total).unwrap_or(0).min(WIDTH);
    let mut bar = "=".repeat(done as usize);
    if done < WIDTH {
        bar.push('>');
        bar.push_str(&" ".repeat((WIDTH - done - 1) as usize));
    }
    let size = |bytes| skiff_engine::human_size(bytes).replace(' ', "");
    format!("[{bar}] {}/{}", size(current), size(total))
}

/// `GET /images/{name}/history`: newest first.
pub async fn history(api: &Arc<Api>, name: &str) -> Result<Response<Body>, ApiError> {
    let name = name.to_string();
    let (entries, tags) = api
        .engine(move |engine| {
            Ok((
                engine.image_history(&name)?,
                engine.image(&name)?.image.names,
            ))
        })
        .await?;
    let list: Vec<_> = entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            json!({
                "Id": entry.id.as_deref().map(docker::image_id).unwrap_or_else(|| "<missing>".into()),
                "Created": entry.created.map(|t| t.timestamp()).unwrap_or(0),
                "CreatedBy": entry.created_by,
                "Tags": if i == 0 { tags.clone() } else { Vec::new() },
                "Size": entry.size,
                "Comment": entry.comment,
            })
        })
        .collect();
    Ok(body::json(StatusCode::OK, &list))
}

pub async fn tag(api: &Arc<Api>, name: &str, query: &Query) -> Result<Response<Body>, ApiError> {
    let Some(repo) = query.get("repo").filter(|r| !r.is_empty()) else {
        return Err(ApiError::bad_request("repo is required"));
    };
    let target = reference(repo, query.get("tag").unwrap_or("latest"));
    let source = name.to_string();
    api.engine(move |engine| engine.tag_image(&source, &target))
        .await?;
    Ok(body::status(StatusCode::CREATED))
}

pub async fn remove(api: &Arc<Api>, name: &str, query: &Query) -> Result<Response<Body>, ApiError> {
    let outcome = api
        .action(Action::RemoveImage {
            image: name.to_string(),
            force: query.flag("force", false)?,
        })
        .await?;
    let Report::ImageRemoved { untagged, deleted } = outcome.report else {
        return Err(ApiError::internal("rmi reported nothing removed"));
    };
    let mut list: Vec<_> = untagged.iter().map(|u| json!({"Untagged": u})).collect();
    list.extend(
        deleted
            .iter()
            .map(|d| json!({"Deleted": docker::image_id(d)})),
    );
    Ok(body::json(StatusCode::OK, &list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_image_and_tag_make_one_reference() {
        assert_eq!(reference("busybox", "latest"), "busybox:latest");
        assert_eq!(reference("busybox", ""), "busybox");
        assert_eq!(reference("localhost:5000/a", "v1"), "localhost:5000/a:v1");
        assert_eq!(reference("a:v2", "latest"), "a:v2");
        assert_eq!(reference("a", "sha256:00"), "a@sha256:00");
    }

    #[test]
    fn pull_progress_is_dockers_per_layer_messages() {
        let digest = "sha256:0123456789abcdef0123".to_string();
        let line = |event| {
            let bytes = progress_line(&event).unwrap();
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
        };
        let downloading = line(TransferEvent::Progress {
            digest: digest.clone(),
            current: 1_500_000,
            size: 3_000_000,
        });
        assert_eq!(downloading["id"], "0123456789ab");
        assert_eq!(downloading["status"], "Downloading");
        assert_eq!(
            downloading["progressDetail"],
            json!({"current": 1_500_000, "total": 3_000_000})
        );
        assert_eq!(
            downloading["progress"],
            format!("[{}>{}] 1.5MB/3MB", "=".repeat(25), " ".repeat(24))
        );
        assert_eq!(
            line(TransferEvent::Blob {
                digest,
                skipped: true
            })["status"],
            "Already exists"
        );
        assert_eq!(progress_bar(0, 0), format!("[>{}] 0B/0B", " ".repeat(49)));
        assert!(progress_line(&TransferEvent::Started).is_none());
    }
}

/// `POST /images/prune`: dangling images, or (`dangling=false`) every image no container uses.
pub async fn prune(api: &Arc<Api>, query: &Query) -> Result<Response<Body>, ApiError> {
    let mut all = false;
    for filter in query.filters()? {
        match filter.split_once('=') {
            Some(("dangling", value)) => all = matches!(value, "false" | "0"),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "invalid filter {filter:?}: only dangling is supported"
                )));
            }
        }
    }
    let outcome = api.action(Action::PruneImages { all }).await?;
    let Report::Pruned { names } = outcome.report else {
        return Err(ApiError::internal("image prune reported nothing"));
    };
    let deleted: Vec<_> = names
        .iter()
        .map(|id| json!({"Deleted": docker::image_id(id)}))
        .collect();
    Ok(body::json(
        StatusCode::OK,
        &json!({"ImagesDeleted": deleted, "SpaceReclaimed": 0}),
    ))
}

/// Docker's `X-Registry-Auth`: base64url JSON with `username` and `password`.
fn registry_auth(header: Option<&hyper::header::HeaderValue>) -> Option<(String, String)> {
    use base64::Engine as _;
    let text = header?.to_str().ok()?.trim();
    let bytes = base64::engine::general_purpose::URL_SAFE
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(text))
        .ok()?;
    let auth: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let user = auth.get("username")?.as_str()?.to_string();
    let password = auth.get("password")?.as_str()?.to_string();
    (!user.is_empty()).then_some((user, password))
}

/// `POST /images/{name}/push?tag=`: the push's outcome as Docker's JSON lines; a failure is
/// an `errorDetail` line, as Docker sends it once the answer has begun.
pub async fn push(
    api: &Arc<Api>,
    name: &str,
    query: &Query,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<Response<Body>, ApiError> {
    let tag = query.get("tag").filter(|t| !t.is_empty());
    let image = match tag {
        Some(tag) => format!("{name}:{tag}"),
        None => name.to_string(),
    };
    let credentials = registry_auth(request.headers().get("X-Registry-Auth"));
    let outcome = api
        .action(Action::Push {
            image: image.clone(),
            destination: None,
            credentials,
        })
        .await;
    let tag = tag.unwrap_or("latest");
    let lines = match outcome {
        Ok(outcome) => match outcome.report {
            Report::Pushed { digest } => vec![
                json!({"status": format!("The push refers to repository [{name}]")}),
                json!({"status": format!("{tag}: digest: {digest} size: 0")}),
                json!({"progressDetail": {}, "aux": {"Tag": tag, "Digest": digest, "Size": 0}}),
            ],
            _ => return Err(ApiError::internal("push reported no digest")),
        },
        Err(error) => {
            vec![json!({"errorDetail": {"message": error.message}, "error": error.message})]
        }
    };
    let text: String = lines.iter().map(|line| format!("{line}\r\n")).collect();
    Ok(body::with_type(
        StatusCode::OK,
        body::full(text),
        "application/json",
    ))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct AuthBody {
    username: String,
    password: String,
    serveraddress: String,
}

/// `POST /auth`: checks credentials with the registry (`docker login`).
pub async fn auth(
    api: &Arc<Api>,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<Response<Body>, ApiError> {
    let auth: AuthBody = crate::routes::json_body(request.into_body()).await?;
    if auth.serveraddress.is_empty() || auth.username.is_empty() {
        return Err(ApiError::bad_request(
            "username and serveraddress are required",
        ));
    }
    let registry = auth
        .serveraddress
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .trim_end_matches("/v1")
        .to_string();
    api.action(Action::Login {
        registry,
        username: auth.username,
        password: auth.password,
    })
    .await
    // Docker answers a refused login with 401.
    .map_err(|error| match error.status {
        StatusCode::FORBIDDEN => ApiError::new(StatusCode::UNAUTHORIZED, error.message),
        _ => error,
    })?;
    Ok(body::json(
        StatusCode::OK,
        &json!({"Status": "Login Succeeded", "IdentityToken": ""}),
    ))
}

/// `POST /images/create?fromSrc=-&repo=&tag=&message=&changes=`: `docker import`.
async fn import(
    api: &Arc<Api>,
    query: &Query,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<Response<Body>, ApiError> {
    let name = query
        .get("repo")
        .filter(|r| !r.is_empty())
        .map(|repo| reference(repo, query.get("tag").unwrap_or_default()));
    let action = Action::Import {
        name,
        changes: query.all("changes"),
        message: query
            .get("message")
            .filter(|m| !m.is_empty())
            .map(str::to_string),
    };
    let outcome = crate::files::with_body_as_stdin(api, action, request.into_body()).await?;
    let Report::Built { id } = outcome.report else {
        return Err(ApiError::internal("import reported no image"));
    };
    Ok(body::with_type(
        StatusCode::OK,
        body::full(format!("{}\r\n", json!({"status": docker::image_id(&id)}))),
        "application/json",
    ))
}

/// `GET /images/{name}/get` and `GET /images/get?names=...`: a docker-archive.
pub fn save(api: &Arc<Api>, names: Vec<String>) -> Result<Response<Body>, ApiError> {
    if names.is_empty() {
        return Err(ApiError::bad_request("no image named (names=)"));
    }
    let body = crate::files::streamed(api, Action::Save { images: names })?;
    Ok(body::with_type(StatusCode::OK, body, "application/x-tar"))
}

/// `POST /images/load`: a docker- or oci-archive in the body.
pub async fn load(
    api: &Arc<Api>,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<Response<Body>, ApiError> {
    let outcome = crate::files::with_body_as_stdin(api, Action::Load, request.into_body()).await?;
    let Report::Loaded { names } = outcome.report else {
        return Err(ApiError::internal("load reported no image"));
    };
    let text: String = names
        .iter()
        .map(|name| {
            let word = if name.contains(':') && !name.starts_with("sha256:") && name.len() != 64 {
                "Loaded image"
            } else {
                "Loaded image ID"
            };
            format!("{}\r\n", json!({"stream": format!("{word}: {name}\n")}))
        })
        .collect();
    Ok(body::with_type(
        StatusCode::OK,
        body::full(text),
        "application/json",
    ))
}

/// `GET /images/search?term=&limit=`: repositories of the registries searched.
pub async fn search(api: &Arc<Api>, query: &Query) -> Result<Response<Body>, ApiError> {
    let Some(term) = query
        .get("term")
        .filter(|t| !t.is_empty())
        .map(str::to_string)
    else {
        return Err(ApiError::bad_request("term is required"));
    };
    let limit: Option<usize> = query.number("limit")?;
    let mut names = api
        .engine(move |engine| engine.search(&term, &Default::default()))
        .await?;
    if let Some(limit) = limit.filter(|l| *l > 0) {
        names.truncate(limit);
    }
    let list: Vec<_> = names
        .iter()
        .map(|name| {
            json!({"name": name, "description": "", "star_count": 0, "is_official": false, "is_automated": false})
        })
        .collect();
    Ok(body::json(StatusCode::OK, &list))
}
