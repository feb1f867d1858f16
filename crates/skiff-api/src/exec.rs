//! `/containers/{id}/exec` and `/exec/{id}/...`: exec instances live in the service (as in
//! Docker's daemon) from their creation until the service leaves; each start runs the
//! command in an action helper, its streams on the hijacked connection.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;
use skiff_engine::ExecOptions;
use skiff_engine::action::{Action, Report};

use crate::attach::{Hijack, check_upgrade, finish_in_background, spawn_pumped, upgraded};
use crate::body::{self, Body};
use crate::containers::state_of;
use crate::error::ApiError;
use crate::routes::{Api, json_body};
use crate::service::Busy;

/// One exec instance.
#[derive(Debug, Clone)]
pub struct ExecRecord {
    container: String,
    options: ExecOptions,
    attach_stdout: bool,
    attach_stderr: bool,
    running: bool,
    exit_code: Option<i32>,
}

/// The service's exec instances, by ID.
pub type Execs = Mutex<HashMap<String, ExecRecord>>;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ExecCreate {
    attach_stdin: bool,
    attach_stdout: bool,
    attach_stderr: bool,
    tty: bool,
    env: Option<Vec<String>>,
    cmd: Option<Vec<String>>,
    privileged: bool,
    user: String,
    working_dir: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ExecStart {
    detach: bool,
}

fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

pub async fn create(
    api: &Arc<Api>,
    container: &str,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let create: ExecCreate = json_body(request.into_body()).await?;
    let command = create.cmd.unwrap_or_default();
    if command.is_empty() {
        return Err(ApiError::bad_request("No exec command specified"));
    }
    let (container, state, _) = state_of(api, container).await?;
    if !matches!(state, skiff_engine::ContainerState::Running) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("Container {container} is not running"),
        ));
    }
    let id = skiff_engine::random_id();
    let record = ExecRecord {
        container,
        options: ExecOptions {
            command,
            env: create.env.unwrap_or_default(),
            user: non_empty(create.user),
            workdir: non_empty(create.working_dir),
            tty: create.tty,
            interactive: create.attach_stdin,
            detach: false,
            privileged: create.privileged,
        },
        attach_stdout: create.attach_stdout,
        attach_stderr: create.attach_stderr,
        running: false,
        exit_code: None,
    };
    if let Ok(mut execs) = api.execs.lock() {
        execs.insert(id.clone(), record);
    }
    Ok(body::json(StatusCode::CREATED, &json!({"Id": id})))
}

fn record(api: &Api, id: &str) -> Result<ExecRecord, ApiError> {
    api.execs
        .lock()
        .ok()
        .and_then(|execs| execs.get(id).cloned())
        .ok_or_else(|| ApiError::not_found(format!("No such exec instance: {id}")))
}

fn update(api: &Api, id: &str, change: impl FnOnce(&mut ExecRecord)) {
    if let Ok(mut execs) = api.execs.lock()
        && let Some(record) = execs.get_mut(id)
    {
        change(record);
    }
}

pub async fn start(
    api: &Arc<Api>,
    id: &str,
    mut request: Request<Incoming>,
    busy: Arc<Busy>,
) -> Result<Response<Body>, ApiError> {
    let exec = unstarted(api, id)?;
    let upgrade = hyper::upgrade::on(&mut request);
    let has_upgrade = check_upgrade(&request).is_ok();
    let start: ExecStart = json_body(request.into_body()).await?;
    let mut options = exec.options.clone();
    update(api, id, |record| record.running = true);
    if start.detach || !(exec.attach_stdout || exec.attach_stderr || options.interactive) {
        options.detach = true;
        let outcome = api
            .action(Action::Exec {
                container: exec.container,
                options,
            })
            .await;
        update(api, id, |record| {
            record.running = false;
            record.exit_code = Some(if outcome.is_ok() { 0 } else { 126 });
        });
        outcome?;
        return Ok(body::status(StatusCode::OK));
    }
    if !has_upgrade {
        update(api, id, |record| record.running = false);
        return Err(ApiError::bad_request(
            "an attached exec start hijacks the connection: it needs Connection: Upgrade, Upgrade: tcp",
        ));
    }
    let tty = options.tty;
    let connection = Connection {
        upgrade,
        websocket: false,
        busy,
    };
    run_hijacked(api, id, exec.container, options, connection);
    Ok(upgraded(tty))
}

/// `GET /exec/{id}/ws` (skiff's; Docker has WebSocket only for attach): starts the exec with
/// its streams on a WebSocket, as a browser's terminal needs them.
pub async fn start_websocket(
    api: &Arc<Api>,
    id: &str,
    mut request: Request<Incoming>,
    busy: Arc<Busy>,
) -> Result<Response<Body>, ApiError> {
    let exec = unstarted(api, id)?;
    let accepted = crate::websocket::accept(&request)?;
    let options = exec.options.clone();
    update(api, id, |record| record.running = true);
    let connection = Connection {
        upgrade: hyper::upgrade::on(&mut request),
        websocket: true,
        busy,
    };
    run_hijacked(api, id, exec.container, options, connection);
    Ok(accepted)
}

/// The exec instance `id`, if it has not been started: an exec runs once.
fn unstarted(api: &Api, id: &str) -> Result<ExecRecord, ApiError> {
    let exec = record(api, id)?;
    if exec.running || exec.exit_code.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("exec {id} has already been started"),
        ));
    }
    Ok(exec)
}

/// The connection an attached exec runs on, once it is upgraded.
struct Connection {
    upgrade: hyper::upgrade::OnUpgrade,
    websocket: bool,
    busy: Arc<Busy>,
}

/// Runs the exec on the connection once it is upgraded (this answer sent), recording its
/// exit code.
fn run_hijacked(
    api: &Arc<Api>,
    id: &str,
    container: String,
    options: ExecOptions,
    connection: Connection,
) {
    let hijack = Hijack {
        upgrade: connection.upgrade,
        stdin: options.interactive,
        tty: options.tty,
        websocket: connection.websocket,
        busy: connection.busy,
    };
    let action = Action::Exec { container, options };
    let api = api.clone();
    let id = id.to_string();
    tokio::spawn(async move {
        let pumped = match spawn_pumped(&api, action, hijack).await {
            Ok(pumped) => pumped,
            Err(_) => {
                update(&api, &id, |record| {
                    record.running = false;
                    record.exit_code = Some(126);
                });
                return;
            }
        };
        let (api_done, id_done) = (api.clone(), id.clone());
        finish_in_background(&api, &id, pumped, move |outcome| {
            let code = match outcome {
                Ok(outcome) => match outcome.report {
                    Report::Exited { code } => code,
                    _ => 0,
                },
                Err(error) => error.exit_code,
            };
            update(&api_done, &id_done, |record| {
                record.running = false;
                record.exit_code = Some(code);
            });
        });
    });
}

pub async fn inspect(api: &Arc<Api>, id: &str) -> Result<Response<Body>, ApiError> {
    let exec = record(api, id)?;
    let options = &exec.options;
    Ok(body::json(
        StatusCode::OK,
        &json!({
            "ID": id,
            "Running": exec.running,
            "ExitCode": exec.exit_code,
            "ProcessConfig": {
                "tty": options.tty,
                "entrypoint": options.command.first(),
                "arguments": options.command.iter().skip(1).collect::<Vec<_>>(),
                "privileged": options.privileged,
                "user": options.user.clone().unwrap_or_default(),
            },
            "OpenStdin": options.interactive,
            "OpenStderr": exec.attach_stderr,
            "OpenStdout": exec.attach_stdout,
            "CanRemove": false,
            "ContainerID": exec.container,
            "DetachKeys": "",
            "Pid": 0,
        }),
    ))
}
