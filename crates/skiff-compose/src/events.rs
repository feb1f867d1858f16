//! `compose events`: the engine's events of the project's containers, each with its
//! service, as `docker compose events` streams them.
use std::collections::BTreeMap;

use serde::Serialize;
use skiff_engine::{Engine, EngineError, EventFilter, EventOptions};

use crate::options::{PROJECT_LABEL, SERVICE_LABEL};
use crate::project::Project;

/// One event, in `docker compose events --json`'s shape.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceEvent {
    /// Local time, microseconds (`2006-01-02T15:04:05.000000`).
    pub time: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub action: String,
    pub id: String,
    pub service: String,
    pub attributes: BTreeMap<String, String>,
}

impl ServiceEvent {
    /// docker compose's text line: `TIME container ACTION ID (name=..., image=...)`.
    pub fn line(&self) -> String {
        let attributes: Vec<String> = self
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!(
            "{} {} {} {} ({})",
            self.time,
            self.kind,
            self.action,
            self.id,
            attributes.join(", ")
        )
    }
}

impl Project {
    /// Streams the events of the services' containers (all when none is named) until
    /// `each` returns false.
    pub fn events(
        &self,
        engine: &Engine,
        services: &[String],
        mut each: impl FnMut(&ServiceEvent) -> bool,
    ) -> Result<(), EngineError> {
        self.check_services(services)?;
        let options = EventOptions {
            filter: EventFilter::parse(&[
                "type=container".to_string(),
                format!("label={PROJECT_LABEL}={}", self.name),
            ])?,
            stream: true,
            ..Default::default()
        };
        engine.events(&options, |event| {
            let labels = event.attributes.clone().unwrap_or_default();
            let service = labels.get(SERVICE_LABEL).cloned().unwrap_or_default();
            if !services.is_empty() && !services.contains(&service) {
                return true;
            }
            // Compose shows a container's name and image, not its labels.
            let mut attributes = BTreeMap::from([("name".to_string(), event.name.clone())]);
            if !event.image.is_empty() {
                attributes.insert("image".into(), event.image.clone());
            }
            each(&ServiceEvent {
                time: event.time.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
                kind: event.kind.clone(),
                action: event.status.clone(),
                id: event.id.clone(),
                service,
                attributes,
            })
        })
    }
}
