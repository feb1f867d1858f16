//! The engine's side of the per-container monitor: the hidden `skiff` mode it runs in, and the
//! hooks that prepare the container (in the monitor's short-lived helper) and clean up after it.
//!
//! The monitor gets a private mount namespace, so the container's root filesystem is mounted
//! only there: when the monitor and its container are gone, so is the mount, even after SIGKILL.
use std::fs::File;
use std::os::fd::FromRawFd;
use std::path::{Path, PathBuf};

use skiff_runtime::monitor::{self, MonitorHooks, MonitorOptions};
use skiff_runtime::{ContainerStdio, process, runtime_for};
use skiff_spec::{RuntimeContext, generate, resolve_user};

use crate::container::lifecycle::find_init_binary;
use crate::engine::Engine;
use crate::error::{EngineError, IoContext};
use crate::hostfiles;
use crate::options::StoreOptions;

/// argv[1] that selects monitor mode (not a user command; parsed before the CLI).
pub const MONITOR_COMMAND: &str = "__monitor";

/// Entry point of monitor mode: `skiff __monitor --root R --runroot RR --storage-driver D
/// --runtime X [--rootless] [--attach] [--stdin] ID`, with the sync pipe on fd 3.
pub fn main(args: &[String]) -> i32 {
    let mut options = StoreOptions::defaults(false);
    let (mut attach, mut stdin, mut id) = (false, false, None);
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--root" => options.root = iter.next().map(PathBuf::from).unwrap_or_default(),
            "--runroot" => options.runroot = iter.next().map(PathBuf::from).unwrap_or_default(),
            "--storage-driver" => options.driver = iter.next().cloned(),
            "--runtime" => {
                options.runtime = iter
                    .next()
                    .filter(|r| *r != "skiff")
                    .cloned()
                    .unwrap_or_default()
            }
            "--rootless" => options.rootless = true,
            "--attach" => attach = true,
            "--stdin" => stdin = true,
            other => id = Some(other.to_string()),
        }
    }
    let Some(id) = id else { return 125 };
    // SAFETY: fd 3 is the sync pipe the starting `skiff` put there (dup2 before exec); nothing
    // else in this process owns it.
    #[allow(unsafe_code)]
    let sync = unsafe { File::from_raw_fd(3) };
    if let Err(e) = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).and_then(|()| {
        nix::mount::mount(
            None::<&str>,
            "/",
            None::<&str>,
            nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE,
            None::<&str>,
        )
    }) {
        use std::io::Write;
        let _ = (&sync).write_all(
            skiff_runtime::monitor::sync::SyncMessage::Error(
                125,
                format!("monitor: private mount namespace: {e}"),
            )
            .encode()
            .as_bytes(),
        );
        return 125;
    }
    let userdata = options.root.join("containers").join(&id).join("userdata");
    let exit_path = options.runroot.join("containers").join(&id).join("exit");
    let mut hooks = EngineHooks { options, id };
    let monitor_options = MonitorOptions {
        log_path: userdata.join("ctr.log"),
        exit_path,
        forward_output: attach,
        keep_stdin: stdin,
        sync: Some(sync),
    };
    monitor::run(monitor_options, &mut hooks).unwrap_or(125)
}

struct EngineHooks {
    options: StoreOptions,
    id: String,
}

impl MonitorHooks for EngineHooks {
    fn setup(&mut self, stdio: ContainerStdio) -> Result<i32, (i32, String)> {
        let mut engine = Engine::open(self.options.clone()).map_err(|e| (125, e.to_string()))?;
        let result = engine.create_and_start(&self.id, stdio);
        if let Err((_, _)) = &result
            && let Ok(record) = engine.containers.lookup(&self.id)
        {
            let _ = engine.layout(&record.id, &record.driver).unmount();
            if record.spec.remove {
                let _ = engine.delete_container_files(&record);
            }
        }
        result
    }

    fn cleanup(&mut self, exit_code: i32) {
        if let Ok(engine) = Engine::open(self.options.clone()) {
            let _ = engine.finish(&self.id, exit_code);
        }
    }
}

impl Engine {
    /// In the monitor's helper: root filesystem, host files, OCI bundle, runtime create and
    /// start, then the record says running. Errors carry Podman's exit codes (125/126/127).
    fn create_and_start(&mut self, id: &str, stdio: ContainerStdio) -> Result<i32, (i32, String)> {
        let engine_error = |e: EngineError| (125, e.to_string());
        let record = self.containers.lookup(id).map_err(engine_error)?;
        let image = self
            .images
            .resolve(&record.image_id)
            .map_err(|e| engine_error(e.into()))?;
        let config = image.config().map_err(|e| engine_error(e.into()))?;
        let layers = self
            .images
            .layer_paths(&image)
            .map_err(|e| engine_error(e.into()))?;
        let layout = self.layout(&record.id, &record.driver);
        let rootfs = layout
            .mount(&layers, self.opaque)
            .map_err(|e| engine_error(e.into()))?;

        let spec = &record.spec;
        let hostname = spec.effective_hostname(&record.id);
        let host_network = spec.network == skiff_spec::NetworkMode::Host;
        let host_files = hostfiles::write(
            &self.userdata_dir(&record.id),
            &hostname,
            &record.name,
            host_network,
        )
        .map_err(engine_error)?;
        let image_user = config.config().as_ref().and_then(|c| c.user().clone());
        let user = resolve_user(&rootfs, spec.user.as_deref().or(image_user.as_deref()))
            .map_err(|e| (125, e.to_string()))?;
        let oci = generate(
            spec,
            &config,
            &RuntimeContext {
                id: record.id.clone(),
                rootfs: rootfs.clone(),
                rootless: self.options.rootless,
                cgroups_usable: self.cgroups_usable(),
                cgroup_v2: self.cgroup == crate::options::CgroupMode::Unified,
                cgroups_path: format!("/skiff/{}", record.id),
                host_files,
                user,
                init_binary: find_init_binary(),
                bounding_capabilities: skiff_spec::current_bounding_set(),
            },
        )
        .map_err(|e| (125, e.to_string()))?;
        let args: Vec<String> =
            serde_json::from_value(oci["process"]["args"].clone()).unwrap_or_default();
        let env: Vec<String> =
            serde_json::from_value(oci["process"]["env"].clone()).unwrap_or_default();
        let cwd = oci["process"]["cwd"].as_str().unwrap_or("/").to_string();
        if !spec.init {
            check_executable(&rootfs, &args, &env, &cwd)?;
        }

        let bundle = self.run_dir(&record.id);
        std::fs::create_dir_all(&bundle)
            .map_err(|e| (125, format!("create {}: {e}", bundle.display())))?;
        let config_path = bundle.join("config.json");
        std::fs::write(&config_path, serde_json::to_vec(&oci).unwrap_or_default())
            .io("write", &config_path)
            .map_err(engine_error)?;
        let runtime = runtime_for(&record.runtime, &self.runtime_state_root())
            .map_err(|e| engine_error(e.into()))?;
        let pid = runtime
            .create(&record.id, &bundle, stdio)
            .map_err(|e| (125, format!("{}: {e}", runtime.name())))?;
        if let Err(e) = runtime.start(&record.id) {
            let _ = runtime.delete(&record.id);
            return Err((125, format!("{}: {e}", runtime.name())));
        }
        let monitor = nix::unistd::getppid().as_raw();
        self.containers
            .set_running(
                &record.id,
                pid,
                process::start_time(pid).unwrap_or(0),
                monitor,
                process::start_time(monitor).unwrap_or(0),
            )
            .map_err(engine_error)?;
        Ok(pid)
    }

    /// In the monitor once the container exited: runtime state, mount, record; `--rm` removes.
    fn finish(&self, id: &str, exit_code: i32) -> Result<(), EngineError> {
        let Some(record) = self.containers.get(id)? else {
            return Ok(());
        };
        if let Ok(runtime) = runtime_for(&record.runtime, &self.runtime_state_root()) {
            let _ = runtime.delete(id);
        }
        let _ = self.layout(id, &record.driver).unmount();
        self.containers
            .set_exited(id, record.pid, exit_code, chrono::Utc::now())?;
        if record.spec.remove {
            self.delete_container_files(&record)?;
        }
        Ok(())
    }
}

/// Fails like Podman when the program cannot run: 127 not found, 126 not executable.
fn check_executable(
    rootfs: &Path,
    args: &[String],
    env: &[String],
    cwd: &str,
) -> Result<(), (i32, String)> {
    let Some(program) = args.first() else {
        return Err((125, "no command specified".into()));
    };
    let candidates: Vec<String> = if program.contains('/') {
        if program.starts_with('/') {
            vec![program.clone()]
        } else {
            vec![format!("{}/{program}", cwd.trim_end_matches('/'))]
        }
    } else {
        let path = env
            .iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        path.split(':')
            .filter(|d| !d.is_empty())
            .map(|d| format!("{}/{program}", d.trim_end_matches('/')))
            .collect()
    };
    let mut denied = false;
    for candidate in &candidates {
        if let Some(resolved) = resolve_in_root(rootfs, candidate) {
            use std::os::unix::fs::PermissionsExt;
            match std::fs::metadata(&resolved) {
                Ok(meta) if meta.is_file() && meta.permissions().mode() & 0o111 != 0 => {
                    return Ok(());
                }
                Ok(_) => denied = true,
                Err(_) => {}
            }
        }
    }
    if denied {
        Err((
            126,
            format!("{program}: permission denied: OCI permission denied"),
        ))
    } else if program.contains('/') {
        Err((
            127,
            format!(
                "{program}: no such file or directory: OCI runtime attempted to invoke a command that was not found"
            ),
        ))
    } else {
        Err((
            127,
            format!(
                "executable file `{program}` not found in $PATH: No such file or directory: OCI runtime attempted to invoke a command that was not found"
            ),
        ))
    }
}

/// Resolves `path` as the container will see it: symlinks followed with `root` as `/`.
fn resolve_in_root(root: &Path, path: &str) -> Option<PathBuf> {
    let mut parts: Vec<String> = path
        .split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    parts.reverse();
    let mut resolved: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(part) = parts.pop() {
        match part.as_str() {
            "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let host = root.join(resolved.join("/")).join(&part);
        match std::fs::symlink_metadata(&host) {
            Ok(meta) if meta.file_type().is_symlink() => {
                hops += 1;
                if hops > 40 {
                    return None;
                }
                let target = std::fs::read_link(&host).ok()?;
                let target = target.to_string_lossy();
                if target.starts_with('/') {
                    resolved.clear();
                }
                for piece in target.split('/').filter(|p| !p.is_empty()).rev() {
                    parts.push(piece.to_string());
                }
            }
            Ok(_) => resolved.push(part),
            Err(_) => return None,
        }
    }
    Some(root.join(resolved.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let root = std::env::temp_dir().join(format!("skiff-resolve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::write(root.join("bin/busybox"), b"").unwrap();
        std::os::unix::fs::symlink("/bin/busybox", root.join("bin/sh")).unwrap();
        std::os::unix::fs::symlink("../../../../etc/passwd", root.join("bin/escape")).unwrap();
        assert_eq!(
            resolve_in_root(&root, "/bin/sh"),
            Some(root.join("bin/busybox"))
        );
        // ".." cannot climb above the container's root
        assert_eq!(resolve_in_root(&root, "/bin/escape"), None);
    }
}
