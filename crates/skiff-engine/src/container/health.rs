//! Healthchecks without systemd: `healthcheck run` (by a user, or by the container's monitor on
//! the check's interval) runs the check in the container, keeps Podman's state (starting,
//! healthy, unhealthy; the failing streak; the last results with their output) in a file
//! beside the container's, and applies `--health-on-failure` once the container is unhealthy.
use std::fs;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use skiff_spec::{HealthAction, HealthCheck};
use skiff_storage::lock::FileLock;

use super::exec::ExecOptions;
use super::store::{ContainerRecord, State};
use crate::engine::Engine;
use crate::error::{EngineError, IoContext};

/// Results kept, as Podman keeps them.
const KEPT_RESULTS: usize = 5;
/// Output kept of one check, as Podman's limit.
const MAX_OUTPUT: usize = 500;

/// One check's result (Podman's HealthCheckLog).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct HealthResult {
    #[serde(rename = "Start")]
    pub start: String,
    #[serde(rename = "End")]
    pub end: String,
    #[serde(rename = "ExitCode")]
    pub exit_code: i32,
    #[serde(rename = "Output")]
    pub output: String,
}

/// A container's health (Podman's HealthCheckResults, `inspect .State.Health`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HealthState {
    /// `starting`, `healthy` or `unhealthy`.
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "FailingStreak")]
    pub failing_streak: u32,
    #[serde(rename = "Log")]
    pub log: Vec<HealthResult>,
}

impl Default for HealthState {
    fn default() -> Self {
        Self {
            status: "starting".into(),
            failing_streak: 0,
            log: Vec::new(),
        }
    }
}

impl HealthState {
    /// The state after a check that ended with `result`, `counted` unless it failed within
    /// the start period.
    fn record(&mut self, check: &HealthCheck, result: HealthResult, counted: bool) {
        if result.exit_code == 0 {
            self.failing_streak = 0;
            self.status = "healthy".into();
        } else if counted {
            self.failing_streak += 1;
            if self.failing_streak >= check.retries {
                self.status = "unhealthy".into();
            }
        }
        self.log.push(result);
        let excess = self.log.len().saturating_sub(KEPT_RESULTS);
        self.log.drain(..excess);
    }
}

/// What one `healthcheck run` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthOutcome {
    pub healthy: bool,
    pub state: HealthState,
}

impl Engine {
    fn health_path(&self, id: &str) -> PathBuf {
        self.userdata_dir(id).join("healthcheck.json")
    }

    /// The container's health, if it has a healthcheck.
    pub(crate) fn health_state(&self, record: &ContainerRecord) -> Option<HealthState> {
        record.spec.healthcheck.as_ref()?;
        Some(
            fs::read(self.health_path(&record.id))
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                .unwrap_or_default(),
        )
    }

    fn write_health(&self, id: &str, state: &HealthState) -> Result<(), EngineError> {
        let path = self.health_path(id);
        let partial = path.with_extension("json.partial");
        fs::write(&partial, serde_json::to_vec(state)?).io("write", &partial)?;
        fs::rename(&partial, &path).io("write", &path)
    }

    /// At each start: `starting` again, the results kept.
    pub(crate) fn reset_health(&self, record: &ContainerRecord) -> Result<(), EngineError> {
        if let Some(mut state) = self.health_state(record) {
            state.status = "starting".into();
            state.failing_streak = 0;
            self.write_health(&record.id, &state)?;
        }
        Ok(())
    }

    /// `healthcheck run`: runs the container's check once, records it, and applies the
    /// on-failure action when the container is (now) unhealthy.
    pub fn run_healthcheck(&mut self, name_or_id: &str) -> Result<HealthOutcome, EngineError> {
        let record = self.refresh(self.containers.lookup(name_or_id)?)?;
        let Some(check) = record.spec.healthcheck.clone() else {
            return Err(EngineError::InvalidArgument(format!(
                "container {} has no defined healthcheck",
                record.name
            )));
        };
        if record.state != State::Running {
            return Err(EngineError::InvalidState(format!(
                "container {} is not running",
                record.name
            )));
        }
        let run_dir = self.run_dir(&record.id);
        // One check of a container at a time; their results in order.
        let _lock = FileLock::exclusive(&run_dir.join("healthcheck.lock"))?;
        let started = Utc::now();
        let (exit_code, output) = self.check_once(&record, &check, &run_dir)?;
        let result = HealthResult {
            start: started.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            end: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            exit_code,
            output,
        };
        let counted = record.started_at.is_none_or(|at| {
            (started - at).to_std().unwrap_or_default() >= Duration::from_nanos(check.start_period)
        });
        let mut state = self.health_state(&record).unwrap_or_default();
        let before = state.status.clone();
        state.record(&check, result, counted);
        self.write_health(&record.id, &state)?;
        if state.status != before || exit_code != 0 {
            self.emit_health(&record, &state.status);
        }
        if state.status == "unhealthy" {
            self.on_unhealthy(&record)?;
        }
        Ok(HealthOutcome {
            healthy: exit_code == 0,
            state,
        })
    }

    /// Runs the check in the container with its output in a file; its exit code and output
    /// (a check past its timeout is killed and fails). The check is started from a child
    /// process: joining the container's PID namespace for it would leave this process unable
    /// to start anything once the container is gone (an on-failure restart).
    fn check_once(
        &mut self,
        record: &ContainerRecord,
        check: &HealthCheck,
        run_dir: &std::path::Path,
    ) -> Result<(i32, String), EngineError> {
        let out_path = run_dir.join("healthcheck.out");
        let code_path = run_dir.join("healthcheck.code");
        let out = fs::File::create(&out_path).io("create", &out_path)?;
        let _ = fs::remove_file(&code_path);
        let options = ExecOptions {
            command: check.command().unwrap_or_default(),
            ..Default::default()
        };
        // SAFETY: the caller is single-threaded (as for exec); the child ends in _exit.
        #[allow(unsafe_code)]
        let forked = unsafe { nix::unistd::fork() }.map_err(|source| EngineError::System {
            action: "fork for the healthcheck".into(),
            source,
        })?;
        if let nix::unistd::ForkResult::Child = forked {
            self.close_databases();
            // The check's stdout and stderr are the file: the exec'd process inherits them.
            let started = with_output_to(&out, || self.exec_started(&record.id, &options));
            let result = match started {
                Ok(pid) => match wait_with_timeout(pid, check.timeout()) {
                    (_, true) => "timeout".to_string(),
                    (code, false) => code.to_string(),
                },
                // It could not run (not found, not executable): a failed check.
                Err(EngineError::StartFailed(code, message)) => format!("{code} {message}"),
                Err(err) => format!("error {err}"),
            };
            let _ = fs::write(&code_path, result);
            // SAFETY: leaving the child without the parent's destructors.
            #[allow(unsafe_code)]
            unsafe {
                libc::_exit(0)
            };
        }
        let _ = super::lifecycle::wait_child(match forked {
            nix::unistd::ForkResult::Parent { child } => child,
            nix::unistd::ForkResult::Child => unreachable!("the child has exited"),
        });
        let result = fs::read_to_string(&code_path).unwrap_or_default();
        let mut output = String::new();
        let _ = fs::File::open(&out_path).and_then(|mut f| f.read_to_string(&mut output));
        let _ = fs::remove_file(&out_path);
        let _ = fs::remove_file(&code_path);
        let (first, rest) = result.split_once(' ').unwrap_or((&result, ""));
        match (first, first.parse::<i32>()) {
            ("timeout", _) => Ok((1, "Healthcheck command timed out".into())),
            ("error", _) => Err(EngineError::InvalidState(rest.to_string())),
            (_, Ok(code)) if !rest.is_empty() => Ok((code, truncate(rest.to_string()))),
            (_, Ok(code)) => Ok((code, truncate(output.trim_end_matches('\n').to_string()))),
            _ => Err(EngineError::InvalidState(format!(
                "the healthcheck of {} did not finish",
                record.name
            ))),
        }
    }

    /// `--health-on-failure`, for a container that is unhealthy.
    fn on_unhealthy(&mut self, record: &ContainerRecord) -> Result<(), EngineError> {
        match record.spec.health_on_failure {
            HealthAction::None => Ok(()),
            HealthAction::Kill => self.kill_container(&record.id, "KILL"),
            HealthAction::Stop => self.stop_container(&record.id, None),
            HealthAction::Restart => self.restart_container(&record.id, None),
        }
    }

    fn emit_health(&self, record: &ContainerRecord, status: &str) {
        let mut event =
            crate::events::Event::new("container", "health_status", &record.id, &record.name);
        event.image = record.image_name.clone();
        event.health_status = Some(status.to_string());
        self.emit(event);
    }
}

/// Runs `work` with this process's stdout and stderr pointing at `file` (stdin at
/// /dev/null), then puts them back.
fn with_output_to<T>(file: &fs::File, work: impl FnOnce() -> T) -> T {
    let saved: Vec<Option<i32>> = (0..3).map(|fd| nix::unistd::dup(fd).ok()).collect();
    let null = fs::File::open("/dev/null").ok();
    if let Some(null) = &null {
        let _ = nix::unistd::dup2(null.as_raw_fd(), 0);
    }
    let _ = nix::unistd::dup2(file.as_raw_fd(), 1);
    let _ = nix::unistd::dup2(file.as_raw_fd(), 2);
    let result = work();
    for (fd, copy) in saved.into_iter().enumerate() {
        if let Some(copy) = copy {
            let _ = nix::unistd::dup2(copy, fd as i32);
            let _ = nix::unistd::close(copy);
        }
    }
    result
}

/// The child's exit code, or SIGKILL and `true` once `timeout` passed.
fn wait_with_timeout(pid: i32, timeout: Duration) -> (i32, bool) {
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    let pid = nix::unistd::Pid::from_raw(pid);
    let deadline = Instant::now() + timeout;
    // Short checks end within a millisecond or two: look often at first.
    let mut pause = Duration::from_micros(100);
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => return (code, false),
            Ok(WaitStatus::Signaled(_, signal, _)) => return (128 + signal as i32, false),
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return (1, false),
        }
        if Instant::now() >= deadline {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = waitpid(pid, None);
            return (1, true);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(5));
    }
}

fn truncate(mut output: String) -> String {
    if output.len() > MAX_OUTPUT {
        let mut end = MAX_OUTPUT;
        while !output.is_char_boundary(end) {
            end -= 1;
        }
        output.truncate(end);
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(code: i32) -> HealthResult {
        HealthResult {
            exit_code: code,
            ..Default::default()
        }
    }

    #[test]
    fn a_streak_of_failures_makes_a_container_unhealthy() {
        let check = HealthCheck {
            retries: 2,
            ..Default::default()
        };
        let mut state = HealthState::default();
        state.record(&check, result(1), false);
        assert_eq!(
            (state.status.as_str(), state.failing_streak),
            ("starting", 0)
        );
        state.record(&check, result(0), true);
        assert_eq!(state.status, "healthy");
        state.record(&check, result(1), true);
        assert_eq!(
            (state.status.as_str(), state.failing_streak),
            ("healthy", 1)
        );
        state.record(&check, result(1), true);
        assert_eq!(
            (state.status.as_str(), state.failing_streak),
            ("unhealthy", 2)
        );
        for _ in 0..10 {
            state.record(&check, result(0), true);
        }
        assert_eq!(state.log.len(), KEPT_RESULTS);
        assert_eq!(
            (state.status.as_str(), state.failing_streak),
            ("healthy", 0)
        );
    }
}
