//! `exec`: a new process in a running container. No monitor and no runtime binary: this process
//! joins the container (see `skiff_runtime::exec`) and waits for its child, so an exec costs a
//! fork and a few setns calls.
use std::fs::File;
use std::path::Path;

use skiff_runtime::exec::{ExecProcess, exec};
use skiff_spec::resolve_user_with;
use skiff_storage::beneath::read_in_root;

use super::store::State;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::terminal::{Peer, RawTerminal, proxy};

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ExecOptions {
    pub command: Vec<String>,
    /// `KEY=VALUE`, or `KEY` to pass this process's value on.
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub tty: bool,
    pub interactive: bool,
    /// Start the process and return at once.
    pub detach: bool,
    pub privileged: bool,
}

impl Engine {
    /// Runs a command in the container; returns its exit code (128+n when killed by signal n).
    /// The caller must be single-threaded.
    pub fn exec_container(
        &self,
        name_or_id: &str,
        options: &ExecOptions,
    ) -> Result<i32, EngineError> {
        let child = self.start_exec(name_or_id, options)?;
        if options.detach {
            return Ok(0);
        }
        let pid = nix::unistd::Pid::from_raw(child.pid);
        if let Some(terminal) = child.terminal {
            let _raw = RawTerminal::enter();
            proxy(
                &Peer::Terminal(terminal),
                options.interactive,
                &[],
                None,
                self.window,
            );
        }
        Ok(super::lifecycle::wait_child(pid))
    }

    /// Starts a command in the container with this process's stdio; its PID, for the caller
    /// to wait for (healthchecks).
    pub(crate) fn exec_started(
        &self,
        name_or_id: &str,
        options: &ExecOptions,
    ) -> Result<i32, EngineError> {
        Ok(self.start_exec(name_or_id, options)?.pid)
    }

    fn start_exec(
        &self,
        name_or_id: &str,
        options: &ExecOptions,
    ) -> Result<skiff_runtime::exec::ExecChild, EngineError> {
        if options.command.is_empty() {
            return Err(EngineError::InvalidArgument(
                "exec requires at least one command".into(),
            ));
        }
        if let Some(workdir) = &options.workdir
            && !workdir.starts_with('/')
        {
            return Err(EngineError::InvalidArgument(format!(
                "--workdir {workdir:?}: must be an absolute path"
            )));
        }
        let record = self.refresh(self.containers.lookup(name_or_id)?)?;
        if record.state != State::Running || self.is_paused(&record.id, record.pid) {
            return Err(EngineError::InvalidState(
                "can only create exec sessions on running containers".into(),
            ));
        }
        let bundle = self.run_dir(&record.id);
        // Read once: the user, environment and directory here, the confinement in the runtime.
        let config = oci_spec::runtime::Spec::load(bundle.join("config.json")).map_err(|_| {
            EngineError::InvalidState(format!(
                "container {} has no runtime configuration",
                record.name
            ))
        })?;
        let process = config.process().clone().unwrap_or_default();
        if may_read_undumpable(&process)
            && !self.options.rootless
            && !skiff_runtime::sealed::is_sealed()
        {
            // A process in this container may open /proc/PID/exe of our child although it is
            // not dumpable: run from a copy it cannot write through (`skiff_runtime::sealed`).
            // The new image starts this command over; where no copy can be made, refuse.
            let error = skiff_runtime::sealed::reexec_sealed();
            return Err(EngineError::StartFailed(
                125,
                format!(
                    "run from a sealed copy of skiff before joining {}: {error}",
                    record.name
                ),
            ));
        }
        let mut env = process.env().clone().unwrap_or_default();
        let (mut uid, mut gid) = (process.user().uid(), process.user().gid());
        let mut additional_gids = process.user().additional_gids().clone().unwrap_or_default();
        if let Some(user) = &options.user {
            let root = File::open(format!("/proc/{}/root", record.pid)).map_err(|e| {
                EngineError::InvalidState(format!("container {}: {e}", record.name))
            })?;
            let read = |relative: &str| read_in_root(&root, Path::new(relative));
            let mut resolved = resolve_user_with(read, Some(user))?;
            skiff_spec::add_groups(&mut resolved, &record.spec.group_add, read)?;
            (uid, gid, additional_gids) = (resolved.uid, resolved.gid, resolved.additional_gids);
            set_env(&mut env, &format!("HOME={}", resolved.home));
        }
        if options.tty {
            set_env(&mut env, "TERM=xterm");
        }
        for item in &options.env {
            match item.split_once('=') {
                Some(_) => set_env(&mut env, item),
                None => {
                    if let Ok(value) = std::env::var(item) {
                        set_env(&mut env, &format!("{item}={value}"));
                    }
                }
            }
        }
        let request = ExecProcess {
            args: options.command.clone(),
            env,
            cwd: options
                .workdir
                .clone()
                .unwrap_or_else(|| process.cwd().display().to_string()),
            uid,
            gid,
            additional_gids,
            privileged: options.privileged,
            tty: options.tty,
            stdin: options.interactive,
            detached: options.detach,
        };
        let join_cgroups = !self.options.rootless || self.cgroups_usable();
        exec(
            record.pid,
            &config,
            &self.seccomp_cache(),
            join_cgroups,
            &request,
        )
        .map_err(|(code, message)| EngineError::StartFailed(code, message))
    }
}

/// Whether the container's processes hold CAP_SYS_PTRACE, and so could open the /proc entries
/// of a process that is not dumpable (rootless, theirs is only their user namespace's, which
/// does not own skiff's memory: not dumpable is enough there).
fn may_read_undumpable(process: &oci_spec::runtime::Process) -> bool {
    process.capabilities().as_ref().is_some_and(|c| {
        c.bounding()
            .as_ref()
            .is_some_and(|set| set.contains(&oci_spec::runtime::Capability::SysPtrace))
    })
}

/// Sets `KEY=VALUE` in an environment list, replacing an earlier value of KEY.
fn set_env(env: &mut Vec<String>, item: &str) {
    let key = item.split('=').next().unwrap_or(item);
    env.retain(|e| e.split('=').next() != Some(key));
    env.push(item.to_string());
}
