//! Podman's event log with its file backend, daemonless: every skiff process that changes a
//! container, image, volume or network appends one JSON object a line to
//! `<runroot>/events/events.log` (one `write` of a whole line in append mode, so concurrent
//! writers never interleave inside a line); `events` reads it back, filters it and, streaming,
//! follows it. `--events-backend none` writes nothing and cannot be read.
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Local, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::{EngineError, IoContext};

/// Where events go (`--events-backend`, containers.conf `events_logger`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventsBackend {
    #[default]
    File,
    None,
}

/// One event, with Podman's field names (the file's lines and `--format` fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "ID", default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(rename = "Image", default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    #[serde(rename = "Name", default)]
    pub name: String,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "Time")]
    pub time: DateTime<Local>,
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Attributes", default)]
    pub attributes: Option<BTreeMap<String, String>>,
    #[serde(
        rename = "ContainerExitCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub exit_code: Option<i32>,
    /// A `health_status` event's status: starting, healthy or unhealthy.
    #[serde(
        rename = "HealthStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub health_status: Option<String>,
}

impl Event {
    pub fn new(kind: &str, status: &str, id: &str, name: &str) -> Self {
        Self {
            id: id.to_string(),
            image: String::new(),
            name: name.to_string(),
            status: status.to_string(),
            time: Local::now(),
            kind: kind.to_string(),
            attributes: None,
            exit_code: None,
            health_status: None,
        }
    }

    /// Podman's line: `TIME TYPE STATUS ID (image=…, name=…, LABELS)` for containers,
    /// `TIME image STATUS ID NAME` for images, `TIME TYPE STATUS NAME` otherwise.
    pub fn human(&self, truncate: bool) -> String {
        let id: String = if truncate {
            self.id.chars().take(12).collect()
        } else {
            self.id.clone()
        };
        let time = go_time(self.time);
        match self.kind.as_str() {
            "container" => {
                let mut line = format!(
                    "{time} container {} {id} (image={}, name={}",
                    self.status, self.image, self.name
                );
                if let Some(status) = &self.health_status {
                    line.push_str(&format!(", health_status={status}"));
                }
                for (key, value) in self.attributes.iter().flatten() {
                    line.push_str(&format!(", {key}={value}"));
                }
                line.push(')');
                line
            }
            "image" => format!("{time} image {} {id} {}", self.status, self.name),
            kind => format!("{time} {kind} {} {}", self.status, self.name),
        }
    }
}

/// Go's default time format, as Podman prints event times:
/// `2022-03-06 11:26:42.723667984 +0200 EET` (trailing zeros of the fraction dropped).
fn go_time(time: DateTime<Local>) -> String {
    let fraction = format!("{:09}", time.timestamp_subsec_nanos());
    let fraction = fraction.trim_end_matches('0');
    let offset = time.format("%z").to_string();
    let zone = if offset == "+0000" {
        "UTC".to_string()
    } else {
        offset.clone()
    };
    let fraction = if fraction.is_empty() {
        String::new()
    } else {
        format!(".{fraction}")
    };
    format!(
        "{}{fraction} {offset} {zone}",
        time.format("%Y-%m-%d %H:%M:%S")
    )
}

/// `events` filters (`--filter KEY=VALUE`): the same key twice matches either value,
/// different keys must all match.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    by_key: BTreeMap<String, Vec<String>>,
}

const FILTER_KEYS: &[&str] = &[
    "container",
    "event",
    "status",
    "image",
    "label",
    "type",
    "volume",
    "network",
];

impl EventFilter {
    pub fn parse(filters: &[String]) -> Result<Self, EngineError> {
        let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for filter in filters {
            let (key, value) = filter.split_once('=').ok_or_else(|| {
                EngineError::InvalidArgument(format!("--filter {filter:?}: expected KEY=VALUE"))
            })?;
            if !FILTER_KEYS.contains(&key) {
                return Err(EngineError::InvalidArgument(format!(
                    "--filter {key:?}: supported filters are {}",
                    FILTER_KEYS.join(", ")
                )));
            }
            // `status` is Podman's other name for `event`.
            let key = if key == "status" { "event" } else { key };
            by_key
                .entry(key.to_string())
                .or_default()
                .push(value.to_string());
        }
        Ok(Self { by_key })
    }

    fn matches(&self, event: &Event) -> bool {
        self.by_key.iter().all(|(key, values)| {
            values.iter().any(|value| match key.as_str() {
                "container" => {
                    event.kind == "container"
                        && (event.name == *value || event.id.starts_with(value.as_str()))
                }
                "event" => event.status == *value,
                "image" => {
                    event.image == *value
                        || (event.kind == "image"
                            && (event.name == *value || event.id.starts_with(value.as_str())))
                }
                "label" => {
                    let (k, v) = value.split_once('=').unwrap_or((value, ""));
                    event
                        .attributes
                        .as_ref()
                        .and_then(|a| a.get(k))
                        .is_some_and(|found| v.is_empty() || found == v)
                }
                "type" => event.kind == *value,
                "volume" => event.kind == "volume" && event.name == *value,
                "network" => event.kind == "network" && event.name == *value,
                _ => false,
            })
        })
    }
}

/// What `events` reads.
#[derive(Debug, Clone, Default)]
pub struct EventOptions {
    pub filter: EventFilter,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Follow the log for new events (until `until`, if given).
    pub stream: bool,
}

impl Engine {
    /// The event log: containers.conf's `events_logfile_path`, else Podman's place in the
    /// run root.
    fn events_path(&self) -> PathBuf {
        crate::containers_conf::ContainersConf::load(self.options.rootless)
            .ok()
            .and_then(|conf| conf.events_logfile_path)
            .map(PathBuf::from)
            .unwrap_or_else(|| self.options.runroot.join("events").join("events.log"))
    }

    /// Appends `event` to the log. Best effort: an action that succeeded is not failed by
    /// its event.
    pub(crate) fn emit(&self, event: Event) {
        if self.options.events == EventsBackend::None {
            return;
        }
        let Ok(mut line) = serde_json::to_vec(&event) else {
            return;
        };
        line.push(b'\n');
        let log = self.events_log.get_or_init(|| {
            let path = self.events_path();
            let open = || OpenOptions::new().append(true).create(true).open(&path);
            match open() {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let _ = fs::create_dir_all(path.parent().unwrap_or(&path));
                    open().ok()
                }
                other => other.ok(),
            }
        });
        if let Some(mut file) = log.as_ref() {
            let _ = file.write_all(&line);
        }
    }

    /// A container event with Podman's attributes: its image and name, and its labels.
    pub(crate) fn emit_container(
        &self,
        record: &crate::container::store::ContainerRecord,
        status: &str,
        exit_code: Option<i32>,
    ) {
        let mut event = Event::new("container", status, &record.id, &record.name);
        event.image = record.image_name.clone();
        event.attributes = Some(record.spec.labels.clone().into_iter().collect());
        event.exit_code = exit_code;
        self.emit(event);
    }

    /// A pod event.
    pub(crate) fn emit_pod(&self, pod: &crate::pod::store::PodRecord, status: &str) {
        self.emit(Event::new("pod", status, &pod.id, &pod.name));
    }

    /// An image event: `name` is what the action named (a tag, a destination, an archive).
    pub(crate) fn emit_image(&self, status: &str, id: &str, name: &str) {
        self.emit(Event::new("image", status, id, name));
    }

    /// `events`: the log's events that pass `options`, to `each`, oldest first; streaming,
    /// then those that come, until `until` or until `each` returns false.
    pub fn events(
        &self,
        options: &EventOptions,
        each: impl FnMut(&Event) -> bool,
    ) -> Result<(), EngineError> {
        self.events_while(options, || true, each)
    }

    /// `events`, streaming only while `wanted` says so (looked at between reads of the log:
    /// a server's client that went away ends the stream even when no event comes).
    pub fn events_while(
        &self,
        options: &EventOptions,
        wanted: impl Fn() -> bool,
        mut each: impl FnMut(&Event) -> bool,
    ) -> Result<(), EngineError> {
        if self.options.events == EventsBackend::None {
            return Err(EngineError::InvalidArgument(
                "cannot read events with the \"none\" backend".into(),
            ));
        }
        let path = self.events_path();
        let mut offset = 0u64;
        let mut pending = String::new();
        loop {
            if let Ok(mut file) = File::open(&path) {
                file.seek(SeekFrom::Start(offset)).io("read", &path)?;
                let mut reader = BufReader::new(file);
                loop {
                    let mut line = String::new();
                    let n = reader.read_line(&mut line).io("read", &path)?;
                    if n == 0 {
                        break;
                    }
                    offset += n as u64;
                    if !line.ends_with('\n') {
                        // A line still being written: read it whole next time.
                        pending.push_str(&line);
                        continue;
                    }
                    let line = std::mem::take(&mut pending) + &line;
                    let Ok(event) = serde_json::from_str::<Event>(&line) else {
                        continue;
                    };
                    let time = event.time.with_timezone(&Utc);
                    if options.until.is_some_and(|until| time > until) {
                        if options.stream {
                            continue;
                        }
                        return Ok(());
                    }
                    if options.since.is_some_and(|since| time < since)
                        || !options.filter.matches(&event)
                    {
                        continue;
                    }
                    if !each(&event) {
                        return Ok(());
                    }
                }
            }
            let done = options.until.is_some_and(|until| Utc::now() > until);
            if !options.stream || done || !wanted() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, status: &str, name: &str) -> Event {
        let mut event = Event::new(kind, status, "0123456789abcdef0123", name);
        event.image = "quay.io/x:1".into();
        event.attributes = Some(BTreeMap::from([("tier".into(), "web".into())]));
        event
    }

    #[test]
    fn lines_print_as_podman() {
        let start = event("container", "start", "web");
        let line = start.human(true);
        assert!(
            line.ends_with(" container start 0123456789ab (image=quay.io/x:1, name=web, tier=web)"),
            "{line}"
        );
        let tag = event("image", "tag", "registry.com/y:latest");
        assert!(
            tag.human(false)
                .ends_with(" image tag 0123456789abcdef0123 registry.com/y:latest"),
            "{}",
            tag.human(false)
        );
        let back: Event = serde_json::from_str(&serde_json::to_string(&start).unwrap()).unwrap();
        assert_eq!(back, start);
    }

    #[test]
    fn filters_of_one_key_are_alternatives_of_several_all_apply() {
        let filter = |f: &[&str]| {
            EventFilter::parse(&f.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
        };
        let start = event("container", "start", "web");
        assert!(filter(&["container=web", "container=db", "event=start"]).matches(&start));
        assert!(!filter(&["container=web", "event=died"]).matches(&start));
        assert!(filter(&["status=start", "label=tier=web", "type=container"]).matches(&start));
        assert!(filter(&["container=0123"]).matches(&start));
        assert!(!filter(&["type=image"]).matches(&start));
        assert!(EventFilter::parse(&["color=red".into()]).is_err());
    }

    #[test]
    fn go_times_drop_trailing_zeros() {
        let time = DateTime::parse_from_rfc3339("2022-03-06T11:26:42.723600000+00:00")
            .unwrap()
            .with_timezone(&Local);
        let text = go_time(time);
        assert!(text.contains(".7236 "), "{text}");
        let whole = DateTime::parse_from_rfc3339("2022-03-06T11:26:42Z")
            .unwrap()
            .with_timezone(&Local);
        assert!(!go_time(whole).contains('.'), "{}", go_time(whole));
    }
}
