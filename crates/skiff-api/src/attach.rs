//! `POST /containers/{id}/attach`: the hijacked connection (HTTP upgraded to a raw stream)
//! carries the container's stdin one way and its output the other, framed as Docker's
//! multiplexed stream unless the container has a terminal. Docker's clients attach before
//! they start: the attach waits here until `start`, which then starts the container attached
//! to it in an action helper whose stdio are socket pairs pumped to and from the connection.
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{CONNECTION, HeaderValue, UPGRADE};
use hyper::upgrade::OnUpgrade;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use skiff_engine::action::{Action, ActionError, Outcome, Running, Streams};
use skiff_engine::{AttachOptions, ContainerState, StartMode, parse_detach_keys};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

use crate::body::{self, Body};
use crate::containers::state_of;
use crate::error::ApiError;
use crate::routes::{Api, Query};
use crate::service::Busy;

/// How often a start attached looks whether its container runs yet.
const START_POLL: Duration = Duration::from_millis(5);

/// A connection being hijacked (its response upgrades it), and what it carries: stdin when
/// asked, output raw for a terminal, else framed.
pub(crate) struct Hijack {
    pub upgrade: OnUpgrade,
    pub stdin: bool,
    pub tty: bool,
    /// The connection speaks WebSocket (a browser's), not raw bytes.
    pub websocket: bool,
    /// Keeps the service from leaving while the stream is open.
    pub busy: Arc<Busy>,
}

/// An attach waiting for its container's start: the connection and the streams it wants.
pub struct PendingAttach {
    hijack: Hijack,
    stdout: bool,
    stderr: bool,
    detach_keys: Vec<u8>,
}

/// Whether the request asks for an upgrade, as a hijacking endpoint needs.
pub(crate) fn check_upgrade(request: &Request<Incoming>) -> Result<(), ApiError> {
    if request.headers().contains_key(UPGRADE) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "this endpoint hijacks the connection: it needs Connection: Upgrade, Upgrade: tcp",
        ))
    }
}

/// `101 Switching Protocols` to a raw stream (a terminal) or Docker's multiplexed one.
pub(crate) fn upgraded(tty: bool) -> Response<Body> {
    let mut response = body::with_type(
        StatusCode::SWITCHING_PROTOCOLS,
        body::empty(),
        if tty {
            "application/vnd.docker.raw-stream"
        } else {
            "application/vnd.docker.multiplexed-stream"
        },
    );
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("tcp"));
    response
}

pub async fn attach(
    api: &Arc<Api>,
    id: &str,
    query: &Query,
    mut request: Request<Incoming>,
    busy: Arc<Busy>,
) -> Result<Response<Body>, ApiError> {
    check_upgrade(&request)?;
    let detach_keys = match query.get("detachKeys") {
        Some(keys) => parse_detach_keys(keys).map_err(ApiError::bad_request)?,
        None => Vec::new(),
    };
    let (id, state, tty) = state_of(api, id).await?;
    let pending = PendingAttach {
        hijack: Hijack {
            upgrade: hyper::upgrade::on(&mut request),
            stdin: query.flag("stdin", false)?,
            tty,
            websocket: false,
            busy,
        },
        stdout: query.flag("stdout", false)?,
        stderr: query.flag("stderr", false)?,
        detach_keys,
    };
    if matches!(state, ContainerState::Running | ContainerState::Paused) {
        let api = api.clone();
        tokio::spawn(async move {
            let _ = attach_running(&api, &id, pending).await;
        });
    } else if let Ok(mut attaches) = api.attaches.lock() {
        attaches.insert(id, pending);
    }
    Ok(upgraded(tty))
}

/// The caller's ends of a helper's streams.
struct Ends {
    stdin: Option<UnixStream>,
    stdout: UnixStream,
    stderr: UnixStream,
}

fn streams(stdin: bool) -> Result<(Streams, Ends), ApiError> {
    let (stdout, our_stdout) = body::socket_pair()?;
    let (stderr, our_stderr) = body::socket_pair()?;
    let (stdin, our_stdin) = if stdin {
        let (theirs, ours) = body::socket_pair()?;
        (theirs, Some(ours))
    } else {
        (Stdio::null(), None)
    };
    Ok((
        Streams {
            stdin,
            stdout,
            stderr,
        },
        Ends {
            stdin: our_stdin,
            stdout: our_stdout,
            stderr: our_stderr,
        },
    ))
}

/// An action running in its helper with its streams pumped to a hijacked connection. The
/// connection closes once its output ended and `reported` is sent or dropped: after the
/// action's outcome is recorded, so a client that asks for it next (exec's exit code)
/// finds it.
pub(crate) struct Pumped {
    pub running: Running,
    pub reported: oneshot::Sender<()>,
}

/// Spawns `action` in a helper with socket pairs for stdio, pumped to the hijacked
/// connection.
pub(crate) async fn spawn_pumped(
    api: &Api,
    action: Action,
    hijack: Hijack,
) -> Result<Pumped, ApiError> {
    let upgraded = hijack
        .upgrade
        .await
        .map_err(|e| ApiError::internal(format!("hijacking the connection: {e}")))?;
    let (streams, ends) = streams(hijack.stdin)?;
    let helper = api.helper.clone();
    let running = tokio::task::spawn_blocking(move || helper.spawn(action, streams))
        .await
        .map_err(|e| ApiError::internal(format!("action task: {e}")))??;
    let (reported, recorded) = oneshot::channel();
    let connection = TokioIo::new(upgraded);
    if hijack.websocket {
        let stream = crate::websocket::bridge(connection);
        tokio::spawn(pump(stream, ends, hijack.tty, recorded, hijack.busy));
    } else {
        tokio::spawn(pump(connection, ends, hijack.tty, recorded, hijack.busy));
    }
    Ok(Pumped { running, reported })
}

/// Attaches to a container that runs.
async fn attach_running(api: &Arc<Api>, id: &str, pending: PendingAttach) -> Result<(), ApiError> {
    let action = Action::Attach {
        container: id.to_string(),
        options: AttachOptions {
            no_stdin: !pending.hijack.stdin,
            detach_keys: pending.detach_keys,
            sig_proxy: false,
        },
    };
    let pumped = spawn_pumped(api, action, pending.hijack).await?;
    finish_in_background(api, id, pumped, |_| {});
    Ok(())
}

/// Starts a created container attached to `pending`; returns once it runs (or ran), with
/// the start's error if it could not.
pub async fn start_attached(
    api: &Arc<Api>,
    id: &str,
    pending: PendingAttach,
) -> Result<(), ApiError> {
    let action = Action::Start {
        container: id.to_string(),
        mode: StartMode::Attached {
            stdin: pending.hijack.stdin,
            detach_keys: pending.detach_keys,
            stdout: pending.stdout,
            stderr: pending.stderr,
            kill_on_signal: false,
        },
    };
    let Pumped { running, reported } = spawn_pumped(api, action, pending.hijack).await?;
    if let Ok(resizer) = running.resizer() {
        api.resizers.register(id, resizer);
    }
    let mut finished = tokio::task::spawn_blocking(move || running.finish());
    loop {
        tokio::select! {
            done = &mut finished => {
                api.resizers.forget(id);
                return match done {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(error)) => Err(error.into()),
                    Err(e) => Err(ApiError::internal(format!("action task: {e}"))),
                };
            }
            _ = tokio::time::sleep(START_POLL) => {
                // Gone (`--rm`) says nothing: a failed start removes it too; the helper's
                // report decides then.
                let started = matches!(
                    state_of(api, id).await,
                    Ok((_, ContainerState::Running | ContainerState::Paused | ContainerState::Exited, _))
                );
                if started {
                    let api = api.clone();
                    let id = id.to_string();
                    tokio::spawn(async move {
                        let _ = finished.await;
                        api.resizers.forget(&id);
                        drop(reported);
                    });
                    return Ok(());
                }
            }
        }
    }
}

/// Waits for `running` to finish in the background (its resizer kept under `id` until then),
/// then calls `done` with its outcome.
pub(crate) fn finish_in_background(
    api: &Arc<Api>,
    id: &str,
    pumped: Pumped,
    done: impl FnOnce(Result<Outcome, ActionError>) + Send + 'static,
) {
    let Pumped { running, reported } = pumped;
    if let Ok(resizer) = running.resizer() {
        api.resizers.register(id, resizer);
    }
    let api = api.clone();
    let id = id.to_string();
    tokio::spawn(async move {
        let outcome = tokio::task::spawn_blocking(move || running.finish()).await;
        api.resizers.forget(&id);
        if let Ok(outcome) = outcome {
            done(outcome);
        }
        drop(reported);
    });
}

/// Copies the connection's input to the helper's stdin, and the helper's stdout and stderr
/// (framed unless `tty`) to the connection, until the helper's output ends and its outcome
/// is `recorded`.
async fn pump<T>(
    connection: T,
    ends: Ends,
    tty: bool,
    recorded: oneshot::Receiver<()>,
    busy: Arc<Busy>,
) where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(connection);
    let input = ends.stdin.map(|mut stdin| {
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut reader, &mut stdin).await;
            let _ = stdin.shutdown().await;
        })
    });
    let (sender, mut chunks) = mpsc::channel::<Bytes>(64);
    for (mut output, stream) in [(ends.stdout, 1u8), (ends.stderr, 2u8)] {
        let sender = sender.clone();
        tokio::spawn(async move {
            let mut buffer = vec![0u8; 32 * 1024];
            loop {
                let n = match output.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let chunk = if tty {
                    Bytes::copy_from_slice(&buffer[..n])
                } else {
                    body::frame(stream, &buffer[..n])
                };
                if sender.send(chunk).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(sender);
    while let Some(chunk) = chunks.recv().await {
        if writer.write_all(&chunk).await.is_err() {
            break;
        }
    }
    let _ = recorded.await;
    let _ = writer.shutdown().await;
    if let Some(input) = input {
        input.abort();
    }
    drop(busy);
}
