//! A container's files over the API: `archive` (HEAD: stat; GET: a tar of a path; PUT: a tar
//! unpacked at a path), `export`, `changes`. The tar streams pass through an action helper's
//! stdin or stdout.
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Request, Response, StatusCode};
use serde_json::json;
use skiff_engine::action::{Action, Outcome, Report, Streams};
use skiff_engine::{CpOptions, PathStat};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::body::{self, Body};
use crate::containers::state_of;
use crate::error::ApiError;
use crate::routes::{Api, Query};

const STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

/// A Unix mode as Go's os.FileMode, which Docker's clients decode.
fn go_file_mode(mode: u32) -> u32 {
    let permissions = mode & 0o777;
    let kind = match mode & libc::S_IFMT {
        libc::S_IFDIR => 1 << 31,
        libc::S_IFLNK => 1 << 27,
        libc::S_IFIFO => 1 << 25,
        libc::S_IFSOCK => 1 << 24,
        libc::S_IFBLK => 1 << 26,
        libc::S_IFCHR => (1 << 26) | (1 << 21),
        _ => 0,
    };
    let special = [
        (libc::S_ISUID, 1 << 23),
        (libc::S_ISGID, 1 << 22),
        (libc::S_ISVTX, 1 << 20),
    ]
    .iter()
    .filter(|(bit, _)| mode & bit != 0)
    .fold(0, |all, (_, go)| all | go);
    permissions | kind | special
}

fn stat_header(stat: &PathStat) -> Result<HeaderValue, ApiError> {
    let text = json!({
        "name": stat.name,
        "size": stat.size,
        "mode": go_file_mode(stat.mode),
        "mtime": stat.mtime.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "linkTarget": stat.link_target,
    })
    .to_string();
    HeaderValue::from_str(&base64::engine::general_purpose::STANDARD.encode(text))
        .map_err(|e| ApiError::internal(format!("stat header: {e}")))
}

fn required_path(query: &Query) -> Result<String, ApiError> {
    query
        .get("path")
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request("path is required"))
}

/// `HEAD` (`get` false) and `GET /containers/{id}/archive?path=`.
pub async fn archive_get(
    api: &Arc<Api>,
    id: &str,
    query: &Query,
    get: bool,
) -> Result<Response<Body>, ApiError> {
    let path = required_path(query)?;
    let (id, _, _) = state_of(api, id).await?;
    let outcome = api
        .action(Action::StatPath {
            container: id.clone(),
            path: path.clone(),
        })
        .await?;
    let Report::PathStat(stat) = outcome.report else {
        return Err(ApiError::internal("stat reported nothing"));
    };
    let header = stat_header(&stat)?;
    let mut response = if get {
        let action = Action::CopyFrom {
            container: id,
            path,
        };
        body::with_type(StatusCode::OK, streamed(api, action)?, "application/x-tar")
    } else {
        body::status(StatusCode::OK)
    };
    response.headers_mut().insert(STAT_HEADER, header);
    Ok(response)
}

/// `PUT /containers/{id}/archive?path=`: the request's tar unpacked at `path`.
pub async fn archive_put(
    api: &Arc<Api>,
    id: &str,
    query: &Query,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let path = required_path(query)?;
    let keep_owners = query.flag("copyUIDGID", false)?;
    let no_overwrite = query.flag("noOverwriteDirNonDir", false)?;
    let (id, _, _) = state_of(api, id).await?;
    let action = Action::CopyInto {
        container: id,
        path,
        options: CpOptions {
            chown: !keep_owners,
            pause: true,
            overwrite: !no_overwrite,
        },
    };
    with_body_as_stdin(api, action, request.into_body()).await?;
    Ok(body::status(StatusCode::OK))
}

/// Runs `action` with the request's body as its stdin, to its end.
pub(crate) async fn with_body_as_stdin(
    api: &Arc<Api>,
    action: Action,
    mut incoming: Incoming,
) -> Result<Outcome, ApiError> {
    let (theirs, mut ours) = body::socket_pair()?;
    let helper = api.helper.clone();
    let streams = Streams {
        stdin: theirs,
        ..Default::default()
    };
    let running = tokio::task::spawn_blocking(move || helper.spawn(action, streams))
        .await
        .map_err(|e| ApiError::internal(format!("action task: {e}")))??;
    while let Some(frame) = incoming.frame().await {
        let Ok(frame) = frame else { break };
        if let Some(data) = frame.data_ref()
            && ours.write_all(data).await.is_err()
        {
            break;
        }
    }
    drop(ours);
    Ok(tokio::task::spawn_blocking(move || running.finish())
        .await
        .map_err(|e| ApiError::internal(format!("action task: {e}")))??)
}

/// `GET /containers/{id}/export`: the root filesystem as a tar.
pub async fn export(api: &Arc<Api>, id: &str) -> Result<Response<Body>, ApiError> {
    let (id, _, _) = state_of(api, id).await?;
    let body = streamed(api, Action::Export { container: id })?;
    Ok(body::with_type(StatusCode::OK, body, "application/x-tar"))
}

/// A body carrying what `action` writes on its stdout, from a helper started now.
pub(crate) fn streamed(api: &Arc<Api>, action: Action) -> Result<Body, ApiError> {
    let (theirs, mut ours) = body::socket_pair()?;
    let streams = Streams {
        stdout: theirs,
        ..Default::default()
    };
    let running = api.helper.spawn(action, streams)?;
    let (sender, body) = body::channel();
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match ours.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sender
                        .send(Bytes::copy_from_slice(&buffer[..n]))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
        drop(ours);
        let _ = tokio::task::spawn_blocking(move || running.finish()).await;
    });
    Ok(body)
}

/// `GET /containers/{id}/changes`: Docker's kinds, 0 changed, 1 added, 2 deleted.
pub async fn changes(api: &Arc<Api>, id: &str) -> Result<Response<Body>, ApiError> {
    let outcome = api
        .action(Action::Changes {
            container: id.to_string(),
        })
        .await?;
    let Report::Changes { changes } = outcome.report else {
        return Err(ApiError::internal("diff reported nothing"));
    };
    let list: Vec<_> = changes
        .iter()
        .map(|(kind, path)| {
            let kind = match kind.as_str() {
                "A" => 1,
                "D" => 2,
                _ => 0,
            };
            json!({"Path": path, "Kind": kind})
        })
        .collect();
    Ok(body::json(StatusCode::OK, &list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_modes_become_go_file_modes() {
        assert_eq!(go_file_mode(libc::S_IFDIR | 0o755), (1 << 31) | 0o755);
        assert_eq!(go_file_mode(libc::S_IFREG | 0o644), 0o644);
        assert_eq!(go_file_mode(libc::S_IFLNK | 0o777), (1 << 27) | 0o777);
        assert_eq!(
            go_file_mode(libc::S_IFREG | libc::S_ISUID | 0o755),
            (1 << 23) | 0o755
        );
    }
}
