//! Healthchecks as a container holds them: `--health-*` flags or the image's HEALTHCHECK,
//! in Docker's form (a test command, durations in nanoseconds, retries), and what to do when
//! the container turns unhealthy (`--health-on-failure`).
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::SpecError;

/// A container's healthcheck, as Docker's config and Podman's inspect hold it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct HealthCheck {
    /// `["CMD", PROGRAM, ARGS...]` or `["CMD-SHELL", COMMAND]`.
    pub test: Vec<String>,
    /// Nanoseconds between checks; 0: no timer (`--health-interval disable`), checks run only
    /// when asked (`healthcheck run`).
    pub interval: u64,
    /// Nanoseconds a check may take.
    pub timeout: u64,
    /// Nanoseconds after the start during which failures do not count.
    pub start_period: u64,
    /// Consecutive failures that make the container unhealthy.
    pub retries: u32,
}

/// `--health-on-failure`: what happens to a container that turned unhealthy.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HealthAction {
    #[default]
    None,
    Kill,
    Restart,
    Stop,
}

impl HealthAction {
    pub fn parse(value: &str) -> Result<Self, SpecError> {
        match value {
            "none" | "" => Ok(HealthAction::None),
            "kill" => Ok(HealthAction::Kill),
            "restart" => Ok(HealthAction::Restart),
            "stop" => Ok(HealthAction::Stop),
            _ => Err(SpecError::Option(format!(
                "invalid on-failure action \"{value}\" for health check: supported actions are none, kill, restart and stop"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HealthAction::None => "none",
            HealthAction::Kill => "kill",
            HealthAction::Restart => "restart",
            HealthAction::Stop => "stop",
        }
    }
}

impl HealthCheck {
    /// The argv a check runs (`CMD-SHELL` through /bin/sh -c); None for `NONE`.
    pub fn command(&self) -> Option<Vec<String>> {
        match self.test.split_first() {
            Some((kind, rest)) if kind == "CMD" && !rest.is_empty() => Some(rest.to_vec()),
            Some((kind, rest)) if kind == "CMD-SHELL" && !rest.is_empty() => {
                Some(vec!["/bin/sh".into(), "-c".into(), rest.join(" ")])
            }
            _ => None,
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_nanos(self.timeout)
    }

    /// `--health-cmd` and its companions, with Podman's defaults (30s, 3 retries, 30s, 0s)
    /// and its limits.
    pub fn from_flags(
        cmd: &str,
        interval: Option<&str>,
        retries: Option<u32>,
        timeout: Option<&str>,
        start_period: Option<&str>,
    ) -> Result<Self, SpecError> {
        let invalid = |m: String| SpecError::Option(m);
        let test = if cmd.trim_start().starts_with('[') {
            let test: Vec<String> = serde_json::from_str(cmd)
                .map_err(|_| invalid(format!("--health-cmd {cmd:?}: not a JSON array")))?;
            if !matches!(
                test.first().map(String::as_str),
                Some("CMD" | "CMD-SHELL" | "NONE")
            ) {
                return Err(invalid(
                    "--health-cmd: a JSON array must start with CMD, CMD-SHELL or NONE".into(),
                ));
            }
            test
        } else if cmd.is_empty() {
            return Err(invalid("--health-cmd: must not be empty".into()));
        } else {
            vec!["CMD-SHELL".to_string(), cmd.to_string()]
        };
        let duration = |flag: &str, value: Option<&str>, default: &str| {
            let value = value.unwrap_or(default);
            parse_go_duration(value)
                .map(|d| d.as_nanos() as u64)
                .ok_or_else(|| invalid(format!("invalid --{flag} {value:?}: not a duration")))
        };
        let interval = match interval {
            Some("disable") => 0,
            other => duration("health-interval", other, "30s")?,
        };
        let timeout = duration("health-timeout", timeout, "30s")?;
        let start_period = duration("health-start-period", start_period, "0s")?;
        let second = 1_000_000_000;
        if interval != 0 && interval < second {
            return Err(invalid(
                "healthcheck-interval must be at least 1 second".into(),
            ));
        }
        if timeout < second {
            return Err(invalid(
                "healthcheck-timeout must be at least 1 second".into(),
            ));
        }
        let retries = retries.unwrap_or(3);
        if retries < 1 {
            return Err(invalid("healthcheck-retries must be greater than 0".into()));
        }
        Ok(HealthCheck {
            test,
            interval,
            timeout,
            start_period,
            retries,
        })
    }

    /// The image's HEALTHCHECK, from the `Healthcheck` object of its config (Docker's form),
    /// with Docker's defaults for what it leaves out; None without one or for `NONE`.
    pub fn from_image(config: &serde_json::Value) -> Option<Self> {
        let check = config.get("Healthcheck")?;
        let test: Vec<String> = serde_json::from_value(check.get("Test")?.clone()).ok()?;
        let nanos = |key: &str, default: u64| {
            check
                .get(key)
                .and_then(serde_json::Value::as_u64)
                .filter(|n| *n > 0)
                .unwrap_or(default)
        };
        let check = HealthCheck {
            test,
            interval: nanos("Interval", 30_000_000_000),
            timeout: nanos("Timeout", 30_000_000_000),
            start_period: nanos("StartPeriod", 0),
            retries: nanos("Retries", 3) as u32,
        };
        check.command().map(|_| check)
    }
}

/// `1h2m3.5s`, `300ms`, `10m`, `0`: Go's time.ParseDuration units (ns, us, ms, s, m, h).
/// None for anything else, a duration too large included.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * seconds;
        rest = &rest[unit_end..];
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_make_docker_healthchecks_with_podman_defaults() {
        let check = HealthCheck::from_flags("/healthcheck", Some("1s"), None, None, None).unwrap();
        assert_eq!(check.test, ["CMD-SHELL", "/healthcheck"]);
        assert_eq!((check.interval, check.retries), (1_000_000_000, 3));
        assert_eq!(check.timeout, 30_000_000_000);
        assert_eq!(check.command().unwrap(), ["/bin/sh", "-c", "/healthcheck"]);
        let check =
            HealthCheck::from_flags("[\"CMD\",\"true\"]", Some("disable"), Some(1), None, None)
                .unwrap();
        assert_eq!(
            (check.command().unwrap(), check.interval),
            (vec!["true".into()], 0)
        );
        assert!(HealthCheck::from_flags("x", Some("10ms"), None, None, None).is_err());
        assert!(HealthCheck::from_flags("x", None, Some(0), None, None).is_err());
        assert!(HealthCheck::from_flags("[\"true\"]", None, None, None, None).is_err());
        assert!(HealthAction::parse("explode").is_err());
    }

    #[test]
    fn image_healthchecks_read_as_docker_writes_them() {
        let config = serde_json::json!({"Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000u64}});
        let check = HealthCheck::from_image(&config).unwrap();
        assert_eq!((check.interval, check.retries), (5_000_000_000, 3));
        let none = serde_json::json!({"Healthcheck": {"Test": ["NONE"]}});
        assert!(HealthCheck::from_image(&none).is_none());
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("300ms"), Some(Duration::from_millis(300)));
        assert_eq!(parse_go_duration("x"), None);
    }
}
