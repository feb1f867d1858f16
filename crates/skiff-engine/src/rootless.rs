//! Rootless sessions: an unprivileged `skiff` makes itself root of a new user namespace whose
//! IDs map to the user's /etc/subuid and /etc/subgid ranges (newuidmap/newgidmap), with its own
//! mount namespace, before it touches storage. Everything after that (layers, overlay mounts,
//! the monitor, the runtime) runs there as Podman's rootless mode does.
use std::fs;
use std::io::{Read, Write};
use std::process::Command;

use nix::sched::{CloneFlags, unshare};
use nix::unistd::{ForkResult, Gid, Uid, getgid, getuid};

use crate::environment::{self, var};
use crate::error::EngineError;

/// A subordinate ID range from /etc/subuid or /etc/subgid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub start: u32,
    pub count: u32,
}

/// Finds the user's ranges in a subid file (`name:start:count` or `uid:start:count`), sorted,
/// with duplicate, overlapping and adjacent ranges merged: a user listed twice (`useradd` adds a
/// range, scripts often add the same one again) would otherwise make newuidmap refuse the map.
pub fn subordinate_ranges(text: &str, name: Option<&str>, id: u32) -> Vec<IdRange> {
    let mut ranges: Vec<(u64, u64)> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.trim().split(':');
            let owner = fields.next()?;
            let start: u32 = fields.next()?.parse().ok()?;
            let count: u32 = fields.next()?.parse().ok()?;
            (count > 0 && (Some(owner) == name || owner == id.to_string()))
                .then_some((u64::from(start), u64::from(start) + u64::from(count)))
        })
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (start, end) in ranges {
        match merged.last_mut() {
            Some((_, last_end)) if start <= *last_end => *last_end = (*last_end).max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
        .into_iter()
        .map(|(start, end)| IdRange {
            start: start as u32,
            count: (end - start).min(u64::from(u32::MAX)) as u32,
        })
        .collect()
}

/// Whether this process already runs as root of a skiff user namespace.
pub fn in_user_namespace() -> bool {
    var(environment::SKIFF_USERNS).is_some() && getuid().is_root()
}

/// Whether this process runs in the namespaces of a `skiff unshare` command.
pub fn in_unshare() -> bool {
    in_user_namespace() && var(environment::SKIFF_UNSHARE).is_some()
}

/// Enters the user and mount namespaces. Call at start-up, before any thread exists.
/// Returns a warning to print when only the user's own ID could be mapped.
pub fn enter() -> Result<Option<String>, EngineError> {
    enter_while(|| {})
}

/// `enter`, doing `work` while the helpers map the new user namespace (~2 ms of setuid
/// programs): this process is in the namespace then, with its own credentials outside but no
/// identity inside, so `work` may open the user's files but not rely on being root.
pub fn enter_while(work: impl FnOnce()) -> Result<Option<String>, EngineError> {
    let (uid, gid) = (getuid().as_raw(), getgid().as_raw());
    let name = var(environment::USER).or_else(|| {
        nix::unistd::User::from_uid(getuid())
            .ok()
            .flatten()
            .map(|u| u.name)
    });
    let uids = subordinate_ranges(
        &fs::read_to_string("/etc/subuid").unwrap_or_default(),
        name.as_deref(),
        uid,
    );
    let gids = subordinate_ranges(
        &fs::read_to_string("/etc/subgid").unwrap_or_default(),
        name.as_deref(),
        gid,
    );
    let warning = (uids.is_empty() || gids.is_empty()).then(|| {
        format!(
            "no subuid/subgid ranges for user {} in /etc/subuid and /etc/subgid: only your own user ID is mapped, images with other owners will fail",
            name.as_deref().unwrap_or("?")
        )
    });

    let (mut ready_read, mut ready_write) =
        std::io::pipe().map_err(|e| EngineError::Rootless(format!("pipe: {e}")))?;
    let (mut done_read, mut done_write) =
        std::io::pipe().map_err(|e| EngineError::Rootless(format!("pipe: {e}")))?;
    let parent = nix::unistd::getpid().as_raw();
    // SAFETY: called at start-up before any thread exists, so the child may run any code.
    #[allow(unsafe_code)]
    match unsafe { nix::unistd::fork() }.map_err(|e| EngineError::Rootless(format!("fork: {e}")))? {
        ForkResult::Child => {
            drop(ready_write);
            drop(done_read);
            let mut byte = [0u8; 1];
            // One byte once the mapping programs run (or failed to), then the outcome.
            let mut running = false;
            let status = if ready_read.read_exact(&mut byte).is_ok() {
                write_maps(parent, uid, gid, &uids, &gids, || {
                    running = true;
                    let _ = done_write.write_all(b"+");
                })
            } else {
                Err("parent went away".to_string())
            };
            let reply = match status {
                Ok(()) => "ok".to_string(),
                Err(e) => e,
            };
            if !running {
                let _ = done_write.write_all(b"+");
            }
            let _ = done_write.write_all(reply.as_bytes());
            // SAFETY: _exit ends the helper without running the parent's destructors twice.
            #[allow(unsafe_code)]
            unsafe {
                libc::_exit(0)
            }
        }
        ForkResult::Parent { child } => {
            drop(ready_read);
            drop(done_write);
            let unshared = unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS);
            let _ = ready_write.write_all(if unshared.is_ok() { b"1" } else { b"0" });
            drop(ready_write);
            // Once the helper has its programs running: on two CPUs, work started earlier
            // would keep the helper from starting the second one.
            let mut running = [0u8; 1];
            if unshared.is_ok() && done_read.read_exact(&mut running).is_ok() {
                work();
            }
            let mut reply = String::new();
            let _ = done_read.read_to_string(&mut reply);
            let _ = nix::sys::wait::waitpid(child, None);
            unshared.map_err(|e| {
                EngineError::Rootless(format!("cannot create a user namespace: {e}"))
            })?;
            if reply != "ok" {
                return Err(EngineError::Rootless(reply));
            }
        }
    }
    become_root()?;
    // Mounts made here must not propagate back to the host's namespace.
    make_mounts_private()
        .map_err(|e| EngineError::Rootless(format!("making mounts private: {e}")))?;
    // SAFETY: still single-threaded at start-up; nothing else reads the environment concurrently.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var(environment::SKIFF_USERNS, "1");
    }
    Ok(warning)
}

/// Joins the user namespace of process `pid` (a running rootless container's), becoming root
/// there. From the host's namespace the user owns it, so this needs no helper; the user's
/// own new namespace could not, as it is no ancestor of the container's. A container with a
/// user namespace of its own (`--userns keep-id`) is in a child of the engine's: that
/// engine namespace is the one joined, as the container's other namespaces are its.
pub fn join(pid: i32) -> Result<(), EngineError> {
    skiff_runtime::process::await_namespaces(pid);
    let path = format!("/proc/{pid}/ns/user");
    let namespace =
        fs::File::open(&path).map_err(|e| EngineError::Rootless(format!("{path}: {e}")))?;
    let namespace = engine_namespace(namespace);
    nix::sched::setns(&namespace, CloneFlags::CLONE_NEWUSER).map_err(|e| {
        EngineError::Rootless(format!("joining the container's user namespace: {e}"))
    })?;
    become_root()?;
    // SAFETY: still single-threaded at start-up; nothing else reads the environment concurrently.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var(environment::SKIFF_USERNS, "1");
    }
    Ok(())
}

/// The outermost user namespace from `namespace` up that is still below this process's own:
/// the engine's namespace of a container's.
fn engine_namespace(mut namespace: fs::File) -> fs::File {
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::os::unix::fs::MetadataExt;
    /// ioctl_ns(2)'s NS_GET_PARENT: `_IO(0xb7, 0x2)`.
    const NS_GET_PARENT: libc::c_ulong = 0xb702;
    let Ok(own) = fs::metadata("/proc/self/ns/user") else {
        return namespace;
    };
    loop {
        // SAFETY: the ioctl takes no argument and returns a new descriptor, or -1.
        #[allow(unsafe_code)]
        let parent = unsafe { libc::ioctl(namespace.as_raw_fd(), NS_GET_PARENT as _) };
        if parent < 0 {
            return namespace;
        }
        // SAFETY: the ioctl returned a descriptor this process now owns.
        #[allow(unsafe_code)]
        let parent = unsafe { fs::File::from_raw_fd(parent) };
        match parent.metadata() {
            Ok(meta) if meta.dev() == own.dev() && meta.ino() == own.ino() => return namespace,
            Ok(_) => namespace = parent,
            Err(_) => return namespace,
        }
    }
}

fn become_root() -> Result<(), EngineError> {
    nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
        .and_then(|()| nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0)))
        .map_err(|e| EngineError::Rootless(format!("becoming root in the user namespace: {e}")))?;
    let _ = nix::unistd::setgroups(&[]);
    Ok(())
}

/// Maps the user namespace of `pid`; `running` is called once the mapping is under way (the
/// helper programs started).
fn write_maps(
    pid: i32,
    uid: u32,
    gid: u32,
    uids: &[IdRange],
    gids: &[IdRange],
    running: impl FnOnce(),
) -> Result<(), String> {
    if uids.is_empty() || gids.is_empty() {
        running();
        // Without subordinate ranges only our own IDs can be mapped, and that needs no helper.
        fs::write(format!("/proc/{pid}/uid_map"), format!("0 {uid} 1\n"))
            .map_err(|e| format!("uid_map: {e}"))?;
        fs::write(format!("/proc/{pid}/setgroups"), "deny")
            .map_err(|e| format!("setgroups: {e}"))?;
        fs::write(format!("/proc/{pid}/gid_map"), format!("0 {gid} 1\n"))
            .map_err(|e| format!("gid_map: {e}"))?;
        return Ok(());
    }
    // Both helpers run at once: each is a setuid exec of ~1.5 ms.
    let mut children = Vec::new();
    for (tool, own, ranges) in [("newuidmap", uid, uids), ("newgidmap", gid, gids)] {
        let mut args = vec![pid.to_string(), "0".into(), own.to_string(), "1".into()];
        let mut inside = 1u32;
        for range in ranges {
            args.extend([
                inside.to_string(),
                range.start.to_string(),
                range.count.to_string(),
            ]);
            inside += range.count;
        }
        let child = Command::new(system_binary(tool))
            .args(&args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("{tool}: {e} (install the uidmap package)"))?;
        children.push((tool, args, child));
    }
    running();
    for (tool, args, child) in children {
        let output = child
            .wait_with_output()
            .map_err(|e| format!("{tool}: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "{tool} {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
    }
    Ok(())
}

/// Makes every mount of this (new) mount namespace private, so nothing mounted here propagates
/// to the namespace it was copied from.
pub(crate) fn make_mounts_private() -> nix::Result<()> {
    use nix::mount::{MsFlags, mount};
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
}

/// The setuid helper from the system's directories, not from whatever the caller's PATH offers.
fn system_binary(name: &str) -> std::path::PathBuf {
    ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"]
        .iter()
        .map(|dir| std::path::Path::new(dir).join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| name.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_match_by_name_or_uid() {
        let text = "alice:100000:65536\n1001:200000:1000\nbob:300000:10\n";
        assert_eq!(
            subordinate_ranges(text, Some("alice"), 1000),
            vec![IdRange {
                start: 100000,
                count: 65536
            }]
        );
        assert_eq!(
            subordinate_ranges(text, Some("carol"), 1001),
            vec![IdRange {
                start: 200000,
                count: 1000
            }]
        );
        assert!(subordinate_ranges(text, Some("dave"), 5).is_empty());
    }

    #[test]
    fn duplicate_and_overlapping_ranges_are_merged() {
        let range = |start, count| IdRange { start, count };
        let text = "alice:100000:65536\nalice:100000:65536\n1000:150000:65536\nalice:300000:10\nalice:300010:5\nalice:5:0\n";
        assert_eq!(
            subordinate_ranges(text, Some("alice"), 1000),
            vec![range(100000, 115536), range(300000, 15)]
        );
    }
}
