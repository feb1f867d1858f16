//! Which user and network namespaces an action runs in, decided here for every front end.
//!
//! Root works in the host's namespaces. An unprivileged user first becomes root of a user
//! namespace of its own (with its subordinate IDs mapped), except where the action must see
//! what another namespace holds: a running container's (exec, top, cp, `--network
//! container:`), or the rootless network namespace's, where rootless bridge networks live.
//! Entering a user namespace needs a single-threaded process: the CLI opens in-process, a
//! multi-threaded front end runs the action in a helper process (`crate::action`).
use crate::engine::Engine;
use crate::error::EngineError;
use crate::options::StoreOptions;
use skiff_spec::NetworkMode;

/// What an action acts on, as far as namespaces go.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Images, containers' records, anything in the store: a user namespace of our own.
    Store,
    /// Network commands: the rootless network namespace's owner when it runs (its bridges are
    /// there to remove or connect), else a namespace of our own.
    Networks,
    /// Work inside this running container (exec, top, cp): its user namespace.
    Container(&'a str),
    /// Work on two containers (`cp` between them): the user namespace of the first of them
    /// that runs.
    Containers(&'a str, &'a str),
    /// Creating and running a container with these options (its `--network`, and the
    /// container whose namespaces it joins).
    Run(&'a skiff_spec::CreateOptions),
    /// Starting or restarting these existing containers (the first one decides).
    Start(&'a [String]),
    /// Work on a pod's containers (`pod start`, `pod top`): its infra container's namespaces.
    Pod(&'a str),
}

/// An engine opened in the namespaces its scope needs, and what was worth a warning on the way.
pub struct Opened {
    pub engine: Engine,
    pub warnings: Vec<String>,
}

impl Engine {
    /// Enters the namespaces `scope` needs (rootless only) and opens the engine there. The
    /// calling process must be single-threaded when it is unprivileged.
    pub fn open_in(options: StoreOptions, scope: Scope<'_>) -> Result<Opened, EngineError> {
        let mut warnings = Vec::new();
        if nix::unistd::geteuid().is_root() {
            return Ok(Opened {
                engine: Engine::open(options)?,
                warnings,
            });
        }
        match scope {
            Scope::Store => {}
            Scope::Networks => {
                if crate::rootless_netns::join_running_holder(&options.runroot)? {
                    return Engine::open(options).map(|engine| Opened { engine, warnings });
                }
            }
            Scope::Container(name) => return Self::open_joined(options, name),
            Scope::Containers(first, second) => {
                let running = |name: &str| {
                    Engine::open(options.clone())
                        .ok()
                        .and_then(|engine| engine.container_pid(name).ok().flatten())
                        .is_some()
                };
                let joined = if running(first) { first } else { second };
                return Self::open_joined(options, joined);
            }
            Scope::Run(create) => {
                let pod = create.pod.as_deref().filter(|pod| !pod.starts_with("new:"));
                if let Some(infra) = pod.and_then(|pod| Self::infra_of(&options, pod)) {
                    return Self::open_joined(options, &infra);
                }
                if let Some(target) = create.joined_container() {
                    return Self::open_joined(options, target);
                }
                let on_bridge = create
                    .network
                    .iter()
                    .any(|v| matches!(NetworkMode::parse(v), Some(NetworkMode::Bridge(_))));
                if on_bridge {
                    crate::rootless_netns::join_holder(&options.runroot)?;
                    return Engine::open(options).map(|engine| Opened { engine, warnings });
                }
            }
            Scope::Start(names) => {
                let spec = names.first().and_then(|name| {
                    let engine = Engine::open(options.clone()).ok()?;
                    engine
                        .containers
                        .lookup(name)
                        .ok()
                        .map(|record| record.spec)
                });
                if let Some(target) = spec.as_ref().and_then(|spec| spec.joined_container()) {
                    return Self::open_joined(options, target);
                }
                if let Some(NetworkMode::Bridge(_)) = spec.map(|spec| spec.network) {
                    crate::rootless_netns::join_holder(&options.runroot)?;
                    return Engine::open(options).map(|engine| Opened { engine, warnings });
                }
            }
            Scope::Pod(pod) => {
                if let Some(infra) = Self::infra_of(&options, pod) {
                    return Self::open_joined(options, &infra);
                }
            }
        }
        // The databases open while the user namespace is being mapped.
        warnings.extend(crate::rootless::enter_while(|| {
            Engine::open_databases_ahead(&options)
        })?);
        Engine::open(options).map(|engine| Opened { engine, warnings })
    }

    /// The infra container of a pod, if the pod exists and has one.
    fn infra_of(options: &StoreOptions, pod: &str) -> Option<String> {
        let engine = Engine::open(options.clone()).ok()?;
        engine.containers.lookup_pod(pod).ok()?.infra_id
    }

    /// Opens the engine in the user namespace of a running container (a new one of our own
    /// could not enter the container's others). When it is not running, where it will be
    /// started: the rootless network namespace for a bridge network, else a namespace of
    /// our own.
    fn open_joined(options: StoreOptions, container: &str) -> Result<Opened, EngineError> {
        let mut warnings = Vec::new();
        let engine = Engine::open(options)?;
        match engine.container_pid(container) {
            Ok(Some(pid)) => crate::rootless::join(pid)?,
            Ok(None) if matches!(engine.network_mode(container), Ok(NetworkMode::Bridge(_))) => {
                crate::rootless_netns::join_holder(&engine.options.runroot)?
            }
            Ok(None) => warnings.extend(crate::rootless::enter()?),
            // No such container: the action says so.
            Err(_) => {}
        }
        Ok(Opened { engine, warnings })
    }
}
