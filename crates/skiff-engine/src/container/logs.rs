//! `logs`: the monitor's k8s-file log read back, optionally followed, limited to the last
//! lines or to a time window.
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::time::Duration;

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};
use skiff_monitor::log::{LogRecord, Stream, parse_record};
use skiff_spec::parse_go_duration;

use super::store::State;
use crate::engine::Engine;
use crate::error::{EngineError, IoContext};

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LogOptions {
    pub follow: bool,
    pub tail: Option<usize>,
    pub timestamps: bool,
    /// Only lines logged at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only lines logged before this time.
    pub until: Option<DateTime<Utc>>,
    /// Several containers: lines led by the container's name (else its short ID).
    pub names: bool,
    /// Several containers: each one's lead in a color of its own (ANSI).
    pub color: bool,
    /// What leads each line.
    pub lead: LogLead,
    /// Following several containers: done once the first of them has stopped (and its log
    /// has been read to the end), as `compose up --abort-on-container-exit` needs.
    pub until_first_exit: bool,
    /// Following: done once the user interrupts (see [`crate::interrupt`]), as compose's
    /// attached `up` stops its containers on Ctrl-C.
    pub until_interrupted: bool,
}

impl LogOptions {
    fn shows(&self, time: &str) -> bool {
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        let Ok(time) = DateTime::parse_from_rfc3339(time) else {
            return true;
        };
        let time = time.with_timezone(&Utc);
        self.since.is_none_or(|since| time >= since) && self.until.is_none_or(|until| time < until)
    }
}

/// What leads a log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LogLead {
    /// Podman's: with several containers, the container's name (`names`) or short ID.
    #[default]
    Podman,
    /// docker compose's: the container's name padded to the longest and `|`, for one
    /// container too.
    Compose,
    /// Nothing (`compose logs --no-log-prefix`).
    Nothing,
}

/// Podman's `--since`/`--until` values: RFC 3339 (with or without zone, fraction or time),
/// a Unix time in seconds, or a Go duration (`10m`, `1h30m`, `2.5s`) back from `now`.
pub fn parse_log_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, EngineError> {
    let bad = || {
        EngineError::InvalidArgument(format!(
            "invalid time {text:?}: use RFC 3339 (2006-01-02T15:04:05Z), a Unix time, or a duration such as 10m"
        ))
    };
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Local
                .from_local_datetime(&naive)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(bad);
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let midnight = date.and_hms_opt(0, 0, 0).ok_or_else(bad)?;
        return Local
            .from_local_datetime(&midnight)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(bad);
    }
    if let Ok(seconds) = text.parse::<f64>() {
        let nanos = (seconds * 1e9) as i64;
        return Ok(DateTime::<Utc>::from_timestamp_nanos(nanos));
    }
    let duration = parse_go_duration(text).ok_or_else(bad)?;
    let duration = chrono::Duration::from_std(duration).map_err(|_| bad())?;
    Ok(now - duration)
}

/// One container's log being read: where the last read stopped, and what it holds back.
/// Container logs opened for reading (see [`Engine::open_logs`]).
pub struct OpenLogs(Vec<LogReader>);

struct LogReader {
    id: String,
    name: String,
    path: std::path::PathBuf,
    file: Option<File>,
    offset: u64,
    pending: Vec<u8>,
    first: bool,
    done: bool,
}

impl LogReader {
    /// The complete records written since the last read (the first read keeps `tail`).
    fn read(&mut self, options: &LogOptions) -> Result<Vec<LogRecord>, EngineError> {
        if self.file.is_none() {
            self.file = File::open(&self.path).ok();
        }
        let Some(file) = self.file.as_mut() else {
            return Ok(Vec::new());
        };
        file.seek(SeekFrom::Start(self.offset))
            .io("read", &self.path)?;
        let mut chunk = Vec::new();
        file.read_to_end(&mut chunk).io("read", &self.path)?;
        self.offset += chunk.len() as u64;
        self.pending.extend_from_slice(&chunk);
        let complete = self
            .pending
            .iter()
            .rposition(|b| *b == b'\n')
            .map(|i| i + 1)
            .unwrap_or(0);
        let records: Vec<LogRecord> = self.pending[..complete]
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .filter_map(parse_record)
            .collect();
        self.pending.drain(..complete);
        let skip = match (std::mem::take(&mut self.first), options.tail) {
            (true, Some(tail)) => records.len().saturating_sub(tail),
            _ => 0,
        };
        Ok(records
            .into_iter()
            .skip(skip)
            .filter(|r| options.shows(&r.time))
            .collect())
    }
}

impl Engine {
    /// `logs`: copies the container's log records to `stdout`/`stderr`.
    pub fn container_logs(
        &self,
        name_or_id: &str,
        options: &LogOptions,
        stdout: &mut dyn Write,
        stderr: &mut dyn Write,
    ) -> Result<(), EngineError> {
        self.containers_logs(&[name_or_id.to_string()], options, stdout, stderr)
    }

    /// `logs C1 C2 ...`: the records of several containers in the order they were written,
    /// each line led by its container's short ID (as Podman), followed together with `follow`
    /// until every one has exited.
    pub fn containers_logs(
        &self,
        names: &[String],
        options: &LogOptions,
        stdout: &mut dyn Write,
        stderr: &mut dyn Write,
    ) -> Result<(), EngineError> {
        let logs = self.open_logs(names)?;
        self.write_logs(logs, options, stdout, stderr)
    }

    /// The logs of these containers, opened now: what they hold stays readable even if the
    /// containers go (`--rm`) before [`Engine::write_logs`] reads them.
    pub fn open_logs(&self, names: &[String]) -> Result<OpenLogs, EngineError> {
        let mut readers = Vec::new();
        for name in names {
            let record = self.containers.lookup(name)?;
            let Some(path) = self.log_path(&record) else {
                return Err(EngineError::InvalidArgument(match record.spec.log.driver() {
                    "none" => "this container is using the 'none' log driver, cannot read logs: this container is not logging output".to_string(),
                    driver => format!("this container is using the '{driver}' log driver: skiff reads only k8s-file logs"),
                }));
            };
            readers.push(LogReader {
                id: record.id,
                name: record.name,
                file: File::open(&path).ok(),
                path,
                offset: 0,
                pending: Vec::new(),
                first: true,
                done: false,
            });
        }
        Ok(OpenLogs(readers))
    }

    /// Writes opened logs (`containers_logs`).
    pub fn write_logs(
        &self,
        logs: OpenLogs,
        options: &LogOptions,
        stdout: &mut dyn Write,
        stderr: &mut dyn Write,
    ) -> Result<(), EngineError> {
        let mut readers = logs.0;
        let several = match options.lead {
            LogLead::Podman => readers.len() > 1,
            LogLead::Compose => true,
            LogLead::Nothing => false,
        };
        let width = readers.iter().map(|r| r.name.len()).max().unwrap_or(0);
        loop {
            let mut round = Vec::new();
            let mut exits = Vec::new();
            for (index, reader) in readers.iter_mut().enumerate() {
                if reader.done {
                    continue;
                }
                // Looked at before the read: until its monitor (and the cleanup it becomes)
                // has gone, output may still be on its way to the log; after, a read has all.
                let (running, exit_code) = match options.follow {
                    true => match self.containers.get(&reader.id)? {
                        Some(current) => {
                            let current = self.refresh(current)?;
                            let running = current.state == State::Running
                                || (current.monitor_pid > 0
                                    && skiff_runtime::process::is_alive(
                                        current.monitor_pid,
                                        current.monitor_start,
                                    ));
                            (running, Some(current.exit_code))
                        }
                        None => (false, None),
                    },
                    false => (false, None),
                };
                let records = reader.read(options)?;
                let idle = records.is_empty();
                round.extend(records.into_iter().map(|r| (index, r)));
                if !options.follow {
                    reader.done = true;
                    continue;
                }
                // Once it has stopped and nothing more came, this container's log is done
                // (docker compose says so, with the exit code).
                if !running && idle {
                    reader.done = true;
                    if let (LogLead::Compose, Some(code)) = (options.lead, exit_code) {
                        exits.push(format!("{} exited with code {code}", reader.name));
                    }
                }
            }
            // RFC 3339 times of one host sort as text.
            round.sort_by(|a, b| a.1.time.cmp(&b.1.time));
            for (index, record) in round {
                let out: &mut dyn Write = match record.stream {
                    Stream::Stdout => &mut *stdout,
                    Stream::Stderr => &mut *stderr,
                };
                if several {
                    let reader = &readers[index];
                    let lead = if options.lead == LogLead::Compose {
                        &format!("{:<width$}  |", reader.name)
                    } else if options.names {
                        &reader.name
                    } else {
                        &reader.id[..12]
                    };
                    if options.color {
                        // Podman's palette order: green, yellow, blue, magenta, cyan, red.
                        const COLORS: [u8; 6] = [32, 33, 34, 35, 36, 31];
                        let color = COLORS[index % COLORS.len()];
                        let _ = write!(out, "\x1b[{color}m{lead}\x1b[0m ");
                    } else {
                        let _ = write!(out, "{lead} ");
                    }
                }
                if options.timestamps {
                    let _ = write!(out, "{} ", record.time);
                }
                let _ = out.write_all(&record.message);
                if !record.partial {
                    let _ = out.write_all(b"\n");
                }
                let _ = out.flush();
            }
            for line in exits {
                let _ = writeln!(stdout, "{line}");
            }
            if readers.iter().all(|r| r.done)
                || (options.follow && options.until_first_exit && readers.iter().any(|r| r.done))
                || (options.until_interrupted && crate::interrupt::interrupted())
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_times_parse_like_podman() {
        let now = DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let at = |text: &str| parse_log_time(text, now).unwrap().to_rfc3339();
        assert_eq!(at("2026-11-24T09:00:00Z"), "2026-11-24T09:00:00+00:00");
        assert_eq!(
            at("2026-11-24T09:00:00.5+01:00"),
            "2026-11-24T08:00:00.500+00:00"
        );
        assert_eq!(at("10m"), "2026-11-24T09:50:00+00:00");
        assert_eq!(at("1h30m"), "2026-11-24T08:30:00+00:00");
        assert_eq!(at("1795521600"), "2026-11-24T12:00:00+00:00");
        assert!(parse_log_time("yesterday", now).is_err());
        assert!(parse_log_time("10x", now).is_err());
        assert!(parse_log_time("99999999999999999999999h", now).is_err());
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("30"), None);
    }

    #[test]
    fn the_window_keeps_since_and_drops_until() {
        let options = LogOptions {
            since: Some(parse_log_time("2026-11-24T09:00:00Z", Utc::now()).unwrap()),
            until: Some(parse_log_time("2026-11-24T10:00:00Z", Utc::now()).unwrap()),
            ..Default::default()
        };
        assert!(options.shows("2026-11-24T09:00:00.000000000+00:00"));
        assert!(options.shows("2026-11-24T10:30:00.000000000+01:00"));
        assert!(!options.shows("2026-11-24T10:00:00.000000000+00:00"));
        assert!(!options.shows("2026-11-24T08:59:59.999999999+00:00"));
    }
}
