//! Requests to handlers: the API version prefix, the query, the method and path, Docker's
//! headers on every answer, and errors as Docker's JSON. Handlers live by object kind
//! (`containers`, `images`, `system`).
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;
use skiff_engine::action::{Action, Helper, Outcome, Resizer, Streams};
use skiff_engine::{Engine, EngineError, StoreOptions};

use crate::attach::PendingAttach;
use crate::body::{self, Body};
use crate::docker::{API_VERSION, MIN_API_VERSION};
use crate::error::ApiError;
use crate::service::Busy;

/// Request bodies (JSON) larger than this are refused.
const MAX_BODY: usize = 4 << 20;

/// What the API serves: a store, and the `skiff` binary its actions run in.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    pub store: StoreOptions,
    pub program: PathBuf,
    /// Variables the action helpers get (a registries.conf, an auth file).
    pub env: Vec<(String, String)>,
}

/// The service's state: nothing of the containers' own, only the streams it holds open.
pub struct Api {
    pub(crate) store: StoreOptions,
    pub(crate) helper: Helper,
    /// Attach requests waiting for their container's start, by container ID.
    pub(crate) attaches: Mutex<HashMap<String, PendingAttach>>,
    /// Window sizes for the attached sessions and execs running, by container or exec ID.
    pub(crate) resizers: Resizers,
    pub(crate) execs: crate::exec::Execs,
    /// Engines opened by earlier requests, free for the next.
    engines: Mutex<Vec<Engine>>,
}

impl Api {
    pub fn new(options: ApiOptions) -> Self {
        let mut helper = Helper::new(&options.program, options.store.clone());
        for (key, value) in &options.env {
            helper = helper.env(key, value);
        }
        Self {
            store: options.store,
            helper,
            attaches: Mutex::new(HashMap::new()),
            resizers: Resizers::default(),
            execs: Mutex::new(HashMap::new()),
            engines: Mutex::new(Vec::new()),
        }
    }

    /// Runs `work` on an engine in a blocking thread: reads, and writes that need no
    /// namespace (the database only). Engines are kept for the next request (opening one is
    /// most of a small request's cost); each holds no state beyond its database connections.
    pub(crate) async fn engine<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&mut Engine) -> Result<T, EngineError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let api = self.clone();
        tokio::task::spawn_blocking(move || {
            let kept = api
                .engines
                .lock()
                .ok()
                .and_then(|mut engines| engines.pop());
            let mut engine = match kept {
                Some(engine) => engine,
                None => Engine::open(api.store.clone())?,
            };
            let result = work(&mut engine);
            if let Ok(mut engines) = api.engines.lock() {
                engines.push(engine);
            }
            result
        })
        .await
        .map_err(|e| ApiError::internal(format!("engine task: {e}")))?
        .map_err(ApiError::from)
    }

    /// Runs `action` in a helper process (anything that forks, enters namespaces or needs
    /// privileges), with no streams.
    pub(crate) async fn action(&self, action: Action) -> Result<Outcome, ApiError> {
        let helper = self.helper.clone();
        tokio::task::spawn_blocking(move || helper.run(action, Streams::default()))
            .await
            .map_err(|e| ApiError::internal(format!("action task: {e}")))?
            .map_err(ApiError::from)
    }
}

/// The terminals of attached sessions and execs: their helpers' resize handles, and the
/// size a client asked for (a client may ask before the helper runs).
#[derive(Default)]
pub struct Resizers(Mutex<HashMap<String, Terminal>>);

/// One session's terminal: its helper's resize handle, once it runs, and the last size asked.
#[derive(Default)]
struct Terminal {
    resizer: Option<Resizer>,
    size: Option<(u16, u16)>,
}

impl Resizers {
    /// The helper of session `id` runs: it gets the size asked for so far.
    pub fn register(&self, id: &str, mut resizer: Resizer) {
        if let Ok(mut map) = self.0.lock() {
            let terminal = map.entry(id.to_string()).or_default();
            if let Some((rows, columns)) = terminal.size {
                let _ = resizer.resize(rows, columns);
            }
            terminal.resizer = Some(resizer);
        }
    }

    /// The client's terminal of session `id` (or a prefix of it) is now this size.
    pub fn resize(&self, id: &str, rows: u16, columns: u16) {
        if let Ok(mut map) = self.0.lock() {
            let key = map
                .keys()
                .find(|key| key.starts_with(id))
                .cloned()
                .unwrap_or_else(|| id.to_string());
            let terminal = map.entry(key).or_default();
            terminal.size = Some((rows, columns));
            if let Some(resizer) = &mut terminal.resizer {
                let _ = resizer.resize(rows, columns);
            }
        }
    }

    /// Session `id` ended.
    pub fn forget(&self, id: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(id);
        }
    }
}

/// A request's decoded query string.
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(text: Option<&str>) -> Self {
        Query(
            text.unwrap_or_default()
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(key), decode(value))
                })
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value given for `key`.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A boolean parameter: Go's strconv.ParseBool words, absent is `default`.
    pub fn flag(&self, key: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(key) {
            None => Ok(default),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
            Some("" | "0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(false),
            Some(other) => Err(ApiError::bad_request(format!(
                "invalid value {other:?} for query parameter {key:?}: expected a boolean"
            ))),
        }
    }

    /// A number parameter.
    pub fn number<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, ApiError> {
        match self.get(key).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "invalid value {text:?} for query parameter {key:?}: expected a number"
                ))
            }),
        }
    }

    /// Docker's `filters` (JSON: `{"key": ["value"]}`, or the old `{"key": {"value": true}}`)
    /// as the engine's `key=value` filters.
    pub fn filters(&self) -> Result<Vec<String>, ApiError> {
        let Some(text) = self.get("filters").filter(|t| !t.is_empty()) else {
            return Ok(Vec::new());
        };
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("invalid filters {text:?}: {e}")))?;
        let serde_json::Value::Object(map) = value else {
            return Err(ApiError::bad_request(format!(
                "invalid filters {text:?}: expected a JSON object"
            )));
        };
        let mut out = Vec::new();
        for (key, values) in map {
            match values {
                serde_json::Value::Array(list) => {
                    for value in list {
                        match value.as_str() {
                            Some(value) => out.push(format!("{key}={value}")),
                            None => {
                                return Err(ApiError::bad_request(format!(
                                    "invalid filter {key:?}: values must be strings"
                                )));
                            }
                        }
                    }
                }
                serde_json::Value::Object(set) => {
                    out.extend(
                        set.into_iter()
                            .filter(|(_, on)| on.as_bool() == Some(true))
                            .map(|(value, _)| format!("{key}={value}")),
                    );
                }
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "invalid filter {key:?}: expected a list of values"
                    )));
                }
            }
        }
        Ok(out)
    }
}

/// Percent-decoding of a query component (`+` is a space).
fn decode(text: &str) -> String {
    percent_decode(text, true)
}

/// Percent-decoding; in a query `+` is a space, in a path it is itself.
fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A request body, at most [`MAX_BODY`] bytes.
async fn body_bytes(body: Incoming) -> Result<Bytes, ApiError> {
    Ok(http_body_util::Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))?
        .to_bytes())
}

/// A text request body (YAML), at most [`MAX_BODY`] bytes.
pub async fn text_body(body: Incoming) -> Result<String, ApiError> {
    String::from_utf8(body_bytes(body).await?.to_vec())
        .map_err(|_| ApiError::bad_request("the request body is not UTF-8 text"))
}

/// Reads a JSON request body (at most [`MAX_BODY`] bytes); an empty body is `{}`.
pub async fn json_body<T: serde::de::DeserializeOwned>(body: Incoming) -> Result<T, ApiError> {
    let bytes = body_bytes(body).await?;
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
        Bytes::from_static(b"{}")
    } else {
        bytes
    };
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON in the request body: {e}")))
}

/// `/v1.41/containers/json` → (`Some("1.41")`, `/containers/json`).
fn split_version(path: &str) -> (Option<&str>, &str) {
    let Some(rest) = path.strip_prefix("/v") else {
        return (None, path);
    };
    // Podman's own API (`/v4.0.0/libpod/...`) is versioned apart from Docker's.
    if let Some(i) = rest.find("/libpod/")
        && rest[..i].bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        return (None, &rest[i..]);
    }
    let (version, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let numeric = version.split_once('.').is_some_and(|(major, minor)| {
        !major.is_empty()
            && !minor.is_empty()
            && major.bytes().all(|b| b.is_ascii_digit())
            && minor.bytes().all(|b| b.is_ascii_digit())
    });
    if numeric {
        (Some(version), tail)
    } else {
        (None, path)
    }
}

fn version_number(version: &str) -> (u32, u32) {
    let (major, minor) = version.split_once('.').unwrap_or((version, "0"));
    (major.parse().unwrap_or(0), minor.parse().unwrap_or(0))
}

/// Answers one request.
pub async fn handle(api: Arc<Api>, request: Request<Incoming>, busy: Arc<Busy>) -> Response<Body> {
    let mut response = match route(&api, request, busy).await {
        Ok(response) => response,
        Err(error) => body::json(error.status, &json!({"message": error.message})),
    };
    let headers = response.headers_mut();
    headers.insert("Api-Version", HeaderValue::from_static(API_VERSION));
    headers.insert("Docker-Experimental", HeaderValue::from_static("false"));
    headers.insert("Ostype", HeaderValue::from_static("linux"));
    headers.insert(
        "Server",
        HeaderValue::from_static(concat!("skiff/", env!("CARGO_PKG_VERSION"), " (linux)")),
    );
    response
}

async fn route(
    api: &Arc<Api>,
    request: Request<Incoming>,
    busy: Arc<Busy>,
) -> Result<Response<Body>, ApiError> {
    let path = request.uri().path().to_string();
    let (version, path) = split_version(&path);
    if let Some(version) = version {
        let asked = version_number(version);
        if asked > version_number(API_VERSION) {
            return Err(ApiError::bad_request(format!(
                "client version {version} is too new. Maximum supported API version is {API_VERSION}"
            )));
        }
        if asked < version_number(MIN_API_VERSION) {
            return Err(ApiError::bad_request(format!(
                "client version {version} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
            )));
        }
    }
    let query = Query::parse(request.uri().query());
    // Each segment decoded, as Docker decodes them (`sha256%3A...` is `sha256:...`).
    let decoded: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(|segment| percent_decode(segment, false))
        .collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let method = request.method().clone();
    use crate::{
        containers as c, exec as e, files as f, images as i, networks as n, system as s,
        volumes as v,
    };
    match (&method, segments.as_slice()) {
        (&Method::GET, ["libpod", "pods", "json"]) => crate::pods::list(api, &query).await,
        (&Method::GET, ["libpod", "containers", "stats"]) => c::libpod_stats(api, &query).await,
        (&Method::POST, ["libpod", "pods", name, "start"]) => crate::pods::start(api, name).await,
        (&Method::POST, ["libpod", "pods", name, "stop"]) => {
            crate::pods::stop(api, name, &query).await
        }
        (&Method::DELETE, ["libpod", "pods", name]) => crate::pods::remove(api, name, &query).await,
        (&Method::POST, ["libpod", "play", "kube"] | ["libpod", "kube", "play"]) => {
            crate::pods::play_kube(api, &query, request).await
        }
        (&Method::GET, ["libpod", "generate", "kube"]) => {
            crate::pods::generate_kube(api, &query).await
        }
        (&Method::GET | &Method::HEAD, ["_ping"]) => Ok(s::ping(&method)),
        (&Method::GET, ["version"]) => s::version().await,
        (&Method::GET, ["info"]) => s::info(api).await,
        (&Method::GET, ["containers", "json"]) => c::list(api, &query).await,
        (&Method::POST, ["containers", "create"]) => c::create(api, &query, request).await,
        (&Method::GET, ["containers", id, "json"]) => c::inspect(api, id).await,
        (&Method::POST, ["containers", id, "start"]) => c::start(api, id).await,
        (&Method::POST, ["containers", id, "stop"]) => c::stop(api, id, &query).await,
        (&Method::POST, ["containers", id, "restart"]) => c::restart(api, id, &query).await,
        (&Method::POST, ["containers", id, "kill"]) => c::kill(api, id, &query).await,
        (&Method::POST, ["containers", id, "pause"]) => c::pause(api, id, true).await,
        (&Method::POST, ["containers", id, "unpause"]) => c::pause(api, id, false).await,
        (&Method::POST, ["containers", id, "rename"]) => c::rename(api, id, &query).await,
        (&Method::POST, ["containers", id, "wait"]) => c::wait(api, id, &query).await,
        (&Method::POST, ["containers", id, "resize"]) => c::resize(api, id, &query),
        (&Method::POST, ["containers", id, "attach"]) => {
            crate::attach::attach(api, id, &query, request, busy).await
        }
        (&Method::GET, ["containers", id, "logs"]) => c::logs(api, id, &query).await,
        (&Method::POST, ["containers", id, "exec"]) => e::create(api, id, request).await,
        (&Method::POST, ["exec", id, "start"]) => e::start(api, id, request, busy).await,
        (&Method::GET, ["exec", id, "ws"]) => e::start_websocket(api, id, request, busy).await,
        (&Method::POST, ["exec", id, "resize"]) => c::resize(api, id, &query),
        (&Method::GET, ["exec", id, "json"]) => e::inspect(api, id).await,
        (&Method::DELETE, ["containers", id]) => c::remove(api, id, &query).await,
        (&Method::GET, ["containers", id, "top"]) => c::top(api, id, &query).await,
        (&Method::GET, ["containers", id, "stats"]) => c::stats(api, id, &query).await,
        (&Method::GET, ["containers", id, "changes"]) => f::changes(api, id).await,
        (&Method::GET, ["containers", id, "export"]) => f::export(api, id).await,
        (&Method::HEAD, ["containers", id, "archive"]) => {
            f::archive_get(api, id, &query, false).await
        }
        (&Method::GET, ["containers", id, "archive"]) => {
            f::archive_get(api, id, &query, true).await
        }
        (&Method::PUT, ["containers", id, "archive"]) => {
            f::archive_put(api, id, &query, request).await
        }
        (&Method::POST, ["commit"]) => c::commit(api, &query).await,
        (&Method::POST, ["containers", "prune"]) => c::prune(api).await,
        (&Method::POST, ["images", "prune"]) => i::prune(api, &query).await,
        (&Method::POST, ["auth"]) => i::auth(api, request).await,
        (&Method::POST, ["images", name @ .., "push"]) if !name.is_empty() => {
            i::push(api, &name.join("/"), &query, request).await
        }
        (&Method::POST, ["build"]) => crate::build::build(api, &query, request).await,
        (&Method::GET, ["images", name @ .., "history"]) if !name.is_empty() => {
            i::history(api, &name.join("/")).await
        }
        (&Method::GET, ["events"]) => crate::events::events(api, &query).await,
        (&Method::GET, ["networks"]) => n::list(api, &query).await,
        (&Method::POST, ["networks", "create"]) => n::create(api, request).await,
        (&Method::POST, ["networks", "prune"]) => n::prune(api).await,
        (&Method::GET, ["networks", name]) => n::inspect(api, name).await,
        (&Method::DELETE, ["networks", name]) => n::remove(api, name).await,
        (&Method::POST, ["networks", name, "connect"]) => {
            n::connect(api, name, request, true).await
        }
        (&Method::POST, ["networks", name, "disconnect"]) => {
            n::connect(api, name, request, false).await
        }
        (&Method::GET, ["volumes"]) => v::list(api, &query).await,
        (&Method::POST, ["volumes", "create"]) => v::create(api, request).await,
        (&Method::POST, ["volumes", "prune"]) => v::prune(api).await,
        (&Method::GET, ["volumes", name]) => v::inspect(api, name).await,
        (&Method::DELETE, ["volumes", name]) => v::remove(api, name, &query).await,
        (&Method::GET, ["images", "json"]) => i::list(api, &query).await,
        (&Method::POST, ["images", "create"]) => i::pull(api, &query, request).await,
        (&Method::POST, ["images", "load"]) => i::load(api, request).await,
        (&Method::GET, ["images", "get"]) => i::save(api, query.all("names")),
        (&Method::GET, ["images", "search"]) => i::search(api, &query).await,
        (&Method::GET, ["system", "df"]) => s::df(api).await,
        (&Method::GET, ["images", name @ .., "get"]) if !name.is_empty() => {
            i::save(api, vec![name.join("/")])
        }
        (&Method::GET, ["images", name @ .., "json"]) if !name.is_empty() => {
            i::inspect(api, &name.join("/")).await
        }
        (&Method::POST, ["images", name @ .., "tag"]) if !name.is_empty() => {
            i::tag(api, &name.join("/"), &query).await
        }
        (&Method::DELETE, ["images", name @ ..]) if !name.is_empty() => {
            i::remove(api, &name.join("/"), &query).await
        }
        // No Swarm here: Docker's answer without one.
        (
            _,
            [
                "swarm" | "services" | "nodes" | "tasks" | "secrets" | "configs",
                ..,
            ],
        ) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.",
        )),
        _ => Err(ApiError::not_found("page not found")),
    }
}

/// `204 No Content`, what most actions answer.
pub fn no_content() -> Response<Body> {
    body::status(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_prefix_paths() {
        assert_eq!(
            split_version("/v1.41/containers/json"),
            (Some("1.41"), "/containers/json")
        );
        assert_eq!(split_version("/_ping"), (None, "/_ping"));
        assert_eq!(split_version("/volumes/x"), (None, "/volumes/x"));
        assert_eq!(split_version("/v1.44"), (Some("1.44"), "/"));
        assert!(version_number("1.9") < version_number("1.24"));
    }

    #[test]
    fn queries_decode_and_filters_become_engine_filters() {
        let q = Query::parse(Some(
            "all=1&filters=%7B%22status%22%3A%5B%22exited%22%5D%2C%22label%22%3A%7B%22a%3Db%22%3Atrue%7D%7D&name=a+b",
        ));
        assert!(q.flag("all", false).unwrap());
        assert!(!q.flag("size", false).unwrap());
        assert_eq!(q.get("name"), Some("a b"));
        assert_eq!(q.filters().unwrap(), ["status=exited", "label=a=b"]);
        assert!(Query::parse(Some("all=maybe")).flag("all", false).is_err());
        assert!(Query::parse(Some("filters=%5B1%5D")).filters().is_err());
        assert!(Query::parse(Some("t=x")).number::<u64>("t").is_err());
        assert_eq!(decode("100%"), "100%");
        // Paths decode too, with `+` as itself.
        assert_eq!(percent_decode("sha256%3Aab+c", false), "sha256:ab+c");
        assert_eq!(decode("%zz"), "%zz");
    }
}
