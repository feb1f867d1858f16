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
const WAIT_POLL: Duration = Duration::from_millis(5);

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
    api: &Arc<Api>,
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
        ..LogOptions::default()
    };
    let (id, _, tty) = state_of(api, id).await?;
    let (sender, body) = body::channel();
    let store = api.store.clone();
    // The answer goes once the log is open: a client that removes the container next (as
    // docker-py's run does) still gets all of it.
    let (opened, is_open) = tokio::sync::oneshot::channel();
    tokio::task::spawn_blocking(move || {
        let engine = match skiff_engine::Engine::open(store) {
            Ok(engine) => engine,
            Err(error) => {
                let _ = opened.send(Err(error));
                return;
            }
        };
        let logs = match engine.open_logs(std::slice::from_ref(&id)) {
            Ok(logs) => {
                let _ = opened.send(Ok(()));
                logs
            }
            Err(error) => {
                let _ = opened.send(Err(error));
                return;
            }
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
        let _ = engine.write_logs(logs, &options, &mut out, &mut err);
    });
    is_open
        .await
        .map_err(|_| ApiError::internal("the log reader ended"))??;
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

/// `GET /containers/{id}/top?ps_args=`: Docker's `ps` options beyond the default are taken
/// as Podman's descriptors (`pid,user,args`).
pub async fn top(api: &Arc<Api>, id: &str, query: &Query) -> Result<Response<Body>, ApiError> {
    let descriptors: Vec<String> = match query.get("ps_args").map(str::trim) {
        None | Some("" | "-ef" | "-e -f" | "aux") => Vec::new(),
        Some(args) => args
            .split([' ', ','])
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect(),
    };
    let outcome = api
        .action(Action::Top {
            container: id.to_string(),
            descriptors,
        })
        .await?;
    let Report::Table { header, rows } = outcome.report else {
        return Err(ApiError::internal("top reported nothing"));
    };
    Ok(body::json(
        StatusCode::OK,
        &json!({"Titles": header, "Processes": rows}),
    ))
}

/// One stats reading, with the host's CPU time taken with it (Docker's clients divide the
/// container's CPU time by the host's between two readings).
#[derive(Clone)]
struct Reading {
    sample: skiff_engine::StatsSample,
    system_nanos: u64,
}

/// Docker's stats object for one reading, with the one before it as `precpu_stats`.
fn stats_json(reading: &Reading, before: Option<&Reading>, cpus: usize) -> serde_json::Value {
    let sample = &reading.sample;
    let cpu = |r: Option<&Reading>| {
        json!({
            "cpu_usage": {
                "total_usage": r.map(|r| r.sample.cpu_nanos).unwrap_or(0),
                "usage_in_kernelmode": 0,
                "usage_in_usermode": 0,
            },
            "system_cpu_usage": r.map(|r| r.system_nanos).unwrap_or(0),
            "online_cpus": cpus,
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        })
    };
    let rfc =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    json!({
        "read": rfc(sample.taken),
        "preread": before
            .map(|b| rfc(b.sample.taken))
            .unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
        "pids_stats": {"current": sample.pids},
        "blkio_stats": {"io_service_bytes_recursive": [
            {"major": 0, "minor": 0, "op": "read", "value": sample.block_input},
            {"major": 0, "minor": 0, "op": "write", "value": sample.block_output},
        ]},
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu(Some(reading)),
        "precpu_stats": cpu(before),
        "memory_stats": {
            "usage": sample.memory_usage,
            "limit": sample.memory_limit,
            "stats": {},
        },
        "name": format!("/{}", sample.name),
        "id": sample.id,
        "networks": {"eth0": {
            "rx_bytes": sample.net_input, "rx_packets": 0, "rx_errors": 0, "rx_dropped": 0,
            "tx_bytes": sample.net_output, "tx_packets": 0, "tx_errors": 0, "tx_dropped": 0,
        }},
    })
}

/// The host's CPU time now in nanoseconds (Docker's `system_cpu_usage`), from /proc/stat.
fn system_nanos() -> u64 {
    let ticks_per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100)
        .max(1) as u64;
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|text| {
            let line = text.lines().next()?;
            Some(
                line.split_whitespace()
                    .skip(1)
                    .filter_map(|v| v.parse::<u64>().ok())
                    .sum::<u64>(),
            )
        })
        .map(|ticks| ticks * (1_000_000_000 / ticks_per_second))
        .unwrap_or(0)
}

/// How long between two stats readings.
const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// `GET /containers/{id}/stats?stream=&one-shot=`: a reading each second (or one, with the
/// one a second before it as `precpu_stats` unless `one-shot`).
pub async fn stats(api: &Arc<Api>, id: &str, query: &Query) -> Result<Response<Body>, ApiError> {
    let stream = query.flag("stream", true)?;
    let one_shot = query.flag("one-shot", false)?;
    let name = id.to_string();
    let read = move |api: Arc<Api>| {
        let name = name.clone();
        async move {
            api.engine(move |engine| {
                let sample = engine.container_stats(&[name])?.pop();
                Ok(sample.map(|sample| Reading {
                    sample,
                    system_nanos: system_nanos(),
                }))
            })
            .await
        }
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let first = read(api.clone())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("No such container: {id}")))?;
    if !stream {
        let (before, sample) = if one_shot {
            (None, first)
        } else {
            tokio::time::sleep(STATS_INTERVAL).await;
            let second = read(api.clone()).await?.unwrap_or_else(|| first.clone());
            (Some(first), second)
        };
        return Ok(body::json(
            StatusCode::OK,
            &stats_json(&sample, before.as_ref(), cpus),
        ));
    }
    let (sender, body) = body::channel();
    let api = api.clone();
    tokio::spawn(async move {
        let mut before: Option<Reading> = None;
        let mut sample = Some(first);
        while let Some(now) = sample {
            let mut line = stats_json(&now, before.as_ref(), cpus).to_string();
            line.push('\n');
            if sender.send(Bytes::from(line)).await.is_err() {
                return;
            }
            before = Some(now);
            tokio::time::sleep(STATS_INTERVAL).await;
            sample = read(api.clone()).await.ok().flatten();
        }
    });
    Ok(body::with_type(StatusCode::OK, body, "application/json"))
}

/// `POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=`.
pub async fn commit(api: &Arc<Api>, query: &Query) -> Result<Response<Body>, ApiError> {
    let Some(container) = query.get("container").filter(|c| !c.is_empty()) else {
        return Err(ApiError::bad_request("container is required"));
    };
    let image = query.get("repo").filter(|r| !r.is_empty()).map(|repo| {
        match query.get("tag").filter(|t| !t.is_empty()) {
            Some(tag) => format!("{repo}:{tag}"),
            None => repo.to_string(),
        }
    });
    let outcome = api
        .action(Action::Commit {
            container: container.to_string(),
            image,
            changes: query.all("changes"),
            message: query
                .get("comment")
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            author: query
                .get("author")
                .filter(|a| !a.is_empty())
                .map(str::to_string),
            pause: query.flag("pause", true)?,
        })
        .await?;
    let Report::Committed { id } = outcome.report else {
        return Err(ApiError::internal("commit reported no image"));
    };
    Ok(body::json(
        StatusCode::CREATED,
        &json!({"Id": docker::image_id(&id)}),
    ))
}

/// `POST /containers/prune`: every container that is not running.
pub async fn prune(api: &Arc<Api>) -> Result<Response<Body>, ApiError> {
    let outcome = api.action(Action::PruneContainers).await?;
    let Report::Pruned { names } = outcome.report else {
        return Err(ApiError::internal("container prune reported nothing"));
    };
    Ok(body::json(
        StatusCode::OK,
        &json!({"ContainersDeleted": names, "SpaceReclaimed": 0}),
    ))
}

/// `GET /libpod/containers/stats?stream=&interval=&containers=`: Podman's readings of every
/// running container (or those named), each `interval` seconds (default 5) while streamed:
/// `{"Error": null, "Stats": [...]}` with CPU as a percentage since the previous reading.
pub async fn libpod_stats(api: &Arc<Api>, query: &Query) -> Result<Response<Body>, ApiError> {
    let stream = query.flag("stream", true)?;
    let interval = Duration::from_secs(query.number::<u64>("interval")?.unwrap_or(5).max(1));
    let names = query.all("containers");
    let read = move |api: Arc<Api>, names: Vec<String>| async move {
        api.engine(move |engine| engine.container_stats(&names))
            .await
    };
    let first = read(api.clone(), names.clone()).await?;
    let message = |now: &[skiff_engine::StatsSample], before: &[skiff_engine::StatsSample]| {
        let stats: Vec<serde_json::Value> = now
            .iter()
            .map(|sample| {
                let previous = before.iter().find(|b| b.id == sample.id);
                json!({
                    "ContainerID": sample.id,
                    "Name": sample.name,
                    "CPU": sample.cpu_percent(previous),
                    "CPUNano": sample.cpu_nanos,
                    "MemUsage": sample.memory_usage,
                    "MemLimit": sample.memory_limit,
                    "MemPerc": sample.memory_percent(),
                    "NetInput": sample.net_input,
                    "NetOutput": sample.net_output,
                    "BlockInput": sample.block_input,
                    "BlockOutput": sample.block_output,
                    "PIDs": sample.pids,
                })
            })
            .collect();
        json!({"Error": null, "Stats": stats})
    };
    if !stream {
        return Ok(body::json(StatusCode::OK, &message(&first, &[])));
    }
    let (sender, body) = body::channel();
    let api = api.clone();
    tokio::spawn(async move {
        let mut before = Vec::new();
        let mut now = first;
        loop {
            let mut line = message(&now, &before).to_string();
            line.push('\n');
            if sender.send(Bytes::from(line)).await.is_err() {
                return;
            }
            tokio::time::sleep(interval).await;
            let Ok(next) = read(api.clone(), names.clone()).await else {
                return;
            };
            before = std::mem::replace(&mut now, next);
        }
    });
    Ok(body::with_type(StatusCode::OK, body, "application/json"))
}
