//! `GET /events`: the engine's event log as Docker's JSON messages, streamed until `until`
//! or until the client goes away.
use std::sync::Arc;

use bytes::Bytes;
use hyper::{Response, StatusCode};
use serde_json::{Value, json};
use skiff_engine::{Event, EventFilter, EventOptions};

use crate::body::{self, Body};
use crate::error::ApiError;
use crate::routes::{Api, Query};

/// Podman's status words where Docker's differ.
fn docker_action(kind: &str, status: &str) -> String {
    match (kind, status) {
        ("container", "died") => "die".into(),
        ("image", "remove") => "delete".into(),
        ("volume" | "network", "remove") => "destroy".into(),
        _ => status.to_string(),
    }
}

/// Docker's words in a filter, as the engine's.
fn engine_filter(filter: String) -> String {
    match filter.split_once('=') {
        Some(("event" | "status", "die")) => "event=died".into(),
        Some(("event" | "status", "destroy" | "delete")) => "event=remove".into(),
        _ => filter,
    }
}

/// One Docker events message.
pub fn message(event: &Event) -> Value {
    let action = docker_action(&event.kind, &event.status);
    let mut attributes = event.attributes.clone().unwrap_or_default();
    if !event.name.is_empty() {
        attributes.insert("name".into(), event.name.clone());
    }
    if !event.image.is_empty() {
        attributes.insert("image".into(), event.image.clone());
    }
    if let Some(code) = event.exit_code {
        attributes.insert("exitCode".into(), code.to_string());
    }
    let id = if event.id.is_empty() {
        &event.name
    } else {
        &event.id
    };
    let nanos = event.time.timestamp_nanos_opt().unwrap_or(0);
    let mut message = json!({
        "Type": event.kind,
        "Action": action,
        "Actor": {"ID": id, "Attributes": attributes},
        "scope": "local",
        "time": event.time.timestamp(),
        "timeNano": nanos,
    });
    if event.kind == "container" {
        message["status"] = json!(action);
        message["id"] = json!(id);
        message["from"] = json!(event.image);
    }
    message
}

/// Docker's `since`/`until`: Unix seconds (with a fraction), or a time the engine parses.
fn time(text: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    skiff_engine::parse_log_time(text, chrono::Utc::now())
        .map(Some)
        .map_err(|e| ApiError::bad_request(format!("invalid time {text:?}: {e}")))
}

pub async fn events(api: &Arc<Api>, query: &Query) -> Result<Response<Body>, ApiError> {
    let filters: Vec<String> = query.filters()?.into_iter().map(engine_filter).collect();
    let filter = EventFilter::parse(&filters).map_err(ApiError::from)?;
    let options = EventOptions {
        filter,
        // Without `since`, Docker shows what happens from now on.
        since: Some(time(query.get("since"))?.unwrap_or_else(chrono::Utc::now)),
        until: time(query.get("until"))?,
        stream: true,
    };
    let (sender, body) = body::channel();
    let store = api.store.clone();
    tokio::task::spawn_blocking(move || {
        let Ok(engine) = skiff_engine::Engine::open(store) else {
            return;
        };
        let _ = engine.events_while(
            &options,
            || !sender.is_closed(),
            |event| {
                let mut line = message(event).to_string();
                line.push('\n');
                sender.blocking_send(Bytes::from(line)).is_ok()
            },
        );
    });
    Ok(body::with_type(StatusCode::OK, body, "application/json"))
}
