//! `/containers/...`: list, create, inspect, the lifecycle, wait, logs, remove.
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::json;
use skiff_engine::action::{Action, Report};
use skiff_engine::{
    ContainerFilter, ContainerState, EngineError, EventFilter, EventOptions, LogOptions, StartMode,
};
use tokio::sync::mpsc;

use crate::body::{self, Body};
use crate::create::CreateRequest;
use crate::docker;
use crate::error::ApiError;
use crate::routes::{Api, Query, json_body, no_content};

/// How often `wait` looks at a container's state.
const WAIT_POLL: Duration = Duration::from_millis(20);

pub async fn list(api: &Arc<Api>, query: &Query) -> Result<Response<Body>, ApiError> {
    let all = query.flag("all", false)?;
    // Docker's clients send -1 for no limit.
    let limit = query
        .number::<i64>("limit")?
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    let filters = query.filters()?;
    let mut containers = api
        .engine(move |engine| {
            let filter = ContainerFilter::parse(&filters)?;
            engine.list_containers_filtered(all || limit.is_some(), &filter)
        })
        .await?;
    // Newest first, as Docker lists them.
    containers.sort_by_key(|c| std::cmp::Reverse(c.created()));
    if let Some(limit) = limit {
        containers.truncate(limit);
    }
    let now = chrono::Utc::now();
    let list: Vec<_> = containers
        .iter()
        .map(|c| docker::container_summary(c, now))
        .collect();
    Ok(body::json(StatusCode::OK, &list))
}

pub async fn create(
    api: &Arc<Api>,
    query: &Query,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let create: CreateRequest = json_body(request.into_body()).await?;
    let container = create.into_new_container(query.get("name").map(str::to_string))?;
    let outcome = api.action(Action::Create { container }).await?;
    let Report::Created { id, mut warnings } = outcome.report else {
        return Err(ApiError::internal("create reported no container"));
    };
    warnings.extend(outcome.warnings);
    Ok(body::json(
        StatusCode::CREATED,
        &json!({"Id": id, "Warnings": warnings}),
    ))
}

pub async fn inspect(api: &Arc<Api>, id: &str) -> Result<Response<Body>, ApiError> {
    let id = id.to_string();
    let container = api.engine(move |engine| engine.container(&id)).await?;
    Ok(body::json(
        StatusCode::OK,
        &docker::container_inspect(&container),
    ))
}

/// The container's full ID and state now.
pub(crate) async fn state_of(
    api: &Api,
    id: &str,
) -> Result<(String, ContainerState, bool), ApiError> {
    let id = id.to_string();
    api.engine(move |engine| {
        let c = engine.container(&id)?;
        Ok((c.id().to_string(), c.state, c.spec().tty))
    })
    .await
}

pub async fn start(api: &Arc<Api>, id: &str) -> Result<Response<Body>, ApiError> {
    let (id, state, _) = state_of(api, id).await?;
    if matches!(state, ContainerState::Running | ContainerState::Paused) {
        return Ok(body::status(StatusCode::NOT_MODIFIED));
    }
    let pending = api
        .attaches
        .lock()
        .map(|mut map| map.remove(&id))
        .ok()
        .flatten();
    match pending {
        Some(pending) => crate::attach::start_attached(api, &id, pending).await?,
        None => {
            api.action(Action::Start {
                container: id,
                mode: StartMode::Detached,
            })
            .await?;
        }
    }
    Ok(no_content())
}

pub async fn stop(api: &Arc<Api>, id: &str, query: &Query) -> Result<Response<Body>, ApiError> {
    let timeout = query.number("t")?;
    let (id, state, _) = state_of(api, id).await?;
    if !matches!(state, ContainerState::Running | ContainerState::Paused) {
        return Ok(body::status(StatusCode::NOT_MODIFIED));
    }
    api.action(Action::Stop {
        container: id,
        timeout,
    })
    .await?;
    Ok(no_content())
}

pub async fn restart(api: &Arc<Api>, id: &str, query: &Query) -> Result<Response<Body>, ApiError> {
    let timeout = query.number("t")?;
    api.action(Action::Restart {
        container: id.to_string(),
        timeout,
    })
    .await?;
    Ok(no_content())
}

pub async fn kill(api: &Arc<Api>, id: &str, query: &Query) -> Result<Response<Body>, ApiError> {
    let signal = query
        .get("signal")
        .filter(|s| !s.is_empty())
        .unwrap_or("SIGKILL")
        .to_string();
    if !skiff_engine::valid_signal(&signal) {
        return Err(ApiError::bad_request(format!("invalid signal: {signal}")));
    }
    let (id, state, _) = state_of(api, id).await?;
    if !matches!(state, ContainerState::Running | ContainerState::Paused) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("Container {id} is not running"),
        ));
    }
    api.action(Action::Kill {
        container: id,
        signal,
    })
    .await?;
    Ok(no_content())
}

pub async fn pause(api: &Arc<Api>, id: &str, pause: bool) -> Result<Response<Body>, ApiError> {
    let container = id.to_string();
    api.action(if pause {
        Action::Pause { container }
    } else {
        Action::Unpause { container }
    })
    .await?;
    Ok(no_content())
}

pub async fn rename(api: &Arc<Api>, id: &str, query: &Query) -> Result<Response<Body>, ApiError> {
    let Some(name) = query
        .get("name")
        .filter(|n| !n.is_empty())
        .map(str::to_string)
    else {
        return Err(ApiError::bad_request("a new name is required (name=)"));
    };
    let id = id.to_string();
    api.engine(move |engine| engine.rename_container(&id, &name))
        .await?;
    Ok(no_content())
}

pub fn resize(api: &Arc<Api>, id: &str, query: &Query) -> Result<Response<Body>, ApiError> {
    let rows: u16 = query.number("h")?.unwrap_or(0);
    let columns: u16 = query.number("w")?.unwrap_or(0);
    if rows > 0 && columns > 0 {
        api.resizers.resize(id, rows, columns);
    }
    Ok(body::status(StatusCode::OK))
}

/// What a `wait` waits for (Docker's `condition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Condition {
    NotRunning,
    NextExit,
    Removed,
}

pub async fn wait(api: &Arc<Api>, id: &str, query: &Query) -> Result<Response<Body>, ApiError> {
    let condition = match query.get("condition").unwrap_or("not-running") {
        "" | "not-running" => Condition::NotRunning,
        "next-exit" => Condition::NextExit,
        "removed" => Condition::Removed,
        other => {
            return Err(ApiError::bad_request(format!(
                "invalid condition {other:?}: expected not-running, next-exit or removed"
            )));
        }
    };
    let (id, _, _) = state_of(api, id).await?;
    // The headers go now (the client then starts the container), the status when it comes.
    let (sender, body) = body::channel();
    let store = api.store.clone();
    tokio::task::spawn_blocking(move || {
        let result = wait_for(store, &id, condition, &sender);
        let answer = match result {
            Ok(code) => json!({"StatusCode": code, "Error": null}),
            Err(error) => json!({"StatusCode": -1, "Error": {"Message": error.to_string()}}),
        };
        let mut line = answer.to_string();
        line.push('\n');
        let _ = sender.blocking_send(Bytes::from(line));
    });
    Ok(body::with_type(StatusCode::OK, body, "application/json"))
}

/// Polls the container until `condition` holds, or the client went away (`sender` closed).
fn wait_for(
    store: skiff_engine::StoreOptions,
    id: &str,
    condition: Condition,
    sender: &mpsc::Sender<Bytes>,
) -> Result<i32, EngineError> {
    let engine = skiff_engine::Engine::open(store)?;
    let first = engine.container(id)?;
    let first_exit = first.finished_at();
    let mut last_code = None;
    loop {
        let container = match engine.container(id) {
            Ok(container) => container,
            Err(EngineError::NoSuchContainer(_)) if condition == Condition::Removed => {
                return Ok(match last_code {
                    Some(code) => code,
                    None => exit_code_logged(&engine, id).unwrap_or(0),
                });
            }
            Err(error) => return Err(error),
        };
        let stopped = !container.is_running();
        let exited_since = container.finished_at() != first_exit;
        if stopped && exited_since {
            last_code = Some(container.exit_code());
        }
        match condition {
            Condition::NotRunning if stopped => return Ok(container.exit_code()),
            Condition::NextExit if stopped && exited_since => return Ok(container.exit_code()),
            _ => {}
        }
        if sender.is_closed() {
            return Ok(-1);
        }
        std::thread::sleep(WAIT_POLL);
    }
}

/// The exit code the event log recorded for the container's last exit (it may have come
/// and gone between two looks).
fn exit_code_logged(engine: &skiff_engine::Engine, id: &str) -> Option<i32> {
    let options = EventOptions {
        filter: EventFilter::parse(&[format!("container={id}"), "event=died".into()]).ok()?,
        ..Default::default()
    };
    let mut code = None;
    engine
        .events(&options, |event| {
            code = event.exit_code.or(code);
            true
        })
        .ok()?;
    code
}

/// A writer that sends what the engine writes to a response body: framed as Docker's
/// multiplexed stream (`stream` 1 or 2), or raw for a terminal's one stream.
pub(crate) struct ChannelWriter {
    pub sender: mpsc::Sender<Bytes>,
    /// None: raw bytes (a terminal).
    pub stream: Option<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let chunk = match self.stream {
            Some(stream) => body::frame(stream, data),
            None => Bytes::copy_from_slice(data),
        };
        self.sender
            .blocking_send(chunk)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A writer that drops what it is given (a stream the client did not ask for).
struct Discard;

impl Write for Discard {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Docker's `since`/`until`: Unix seconds, with an optional fraction.
fn unix_time(text: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    let Some(text) = text.filter(|t| !t.is_empty() && *t != "0") else {
        return Ok(None);
    };
    let seconds: f64 = text.parse().map_err(|_| {
        ApiError::bad_request(format!("invalid time {text:?}: expected Unix seconds"))
    })?;
    Ok(chrono::DateTime::from_timestamp(
        seconds.trunc() as i64,
        (seconds.fract() * 1e9) as u32,
    ))
}

pub async fn logs(api: &Arc<Api>, id: &str, query: &Query) -> Result<Response<Body>, ApiError> {
    let (stdout, stderr) = (query.flag("stdout", false)?, query.flag("stderr", false)?);
    if !stdout && !stderr {
        return Err(ApiError::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let tail = match query.get("tail") {
        None | Some("" | "all") => None,
        Some(text) => Some(text.parse::<usize>().map_err(|_| {
            ApiError::bad_request(format!("invalid tail {text:?}: expected a number or all"))
        })?),
    };
    let options = LogOptions {
        follow: query.flag("follow", false)?,
        tail,
        timestamps: query.flag("timestamps", false)?,
        since: unix_time(query.get("since"))?,
        until: unix_time(query.get("until"))?,
    };
    let (id, _, tty) = state_of(api, id).await?;
    let (sender, body) = body::channel();
    let store = api.store.clone();
    tokio::task::spawn_blocking(move || {
        let Ok(engine) = skiff_engine::Engine::open(store) else {
            return;
        };
        let writer = |wanted: bool, stream: u8| -> Box<dyn Write> {
            if !wanted {
                return Box::new(Discard);
            }
            Box::new(ChannelWriter {
                sender: sender.clone(),
                stream: (!tty).then_some(stream),
            })
        };
        let (mut out, mut err) = (writer(stdout, 1), writer(stderr, 2));
        let _ = engine.container_logs(&id, &options, &mut out, &mut err);
    });
    let content_type = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    Ok(body::with_type(StatusCode::OK, body, content_type))
}

pub async fn remove(api: &Arc<Api>, id: &str, query: &Query) -> Result<Response<Body>, ApiError> {
    let force = query.flag("force", false)?;
    let (id, state, _) = state_of(api, id).await?;
    if !force && matches!(state, ContainerState::Running | ContainerState::Paused) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "You cannot remove a {} container {id}. Stop the container before attempting removal or force remove",
                state.as_str()
            ),
        ));
    }
    api.action(Action::Remove {
        container: id,
        force,
    })
    .await?;
    Ok(no_content())
}
