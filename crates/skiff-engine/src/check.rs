//! `system check`: what a crash, a killed `skiff` or a bug left inconsistent in the store, and
//! with `repair` its removal, as Podman 5's `system check` does: images whose layers or config
//! are gone or whose layer content no longer matches its diff ID (the slow check), layers no
//! image uses (older than `max_age`, so a pull in progress is left alone), containers whose
//! image is gone, container directories without a record, leases of containers that do not
//! exist, and mounts below the store that no running container holds.
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use skiff_storage::Digester;

use crate::container::store::State;
use crate::engine::Engine;
use crate::error::EngineError;

#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Skip the slow checks (layer contents against their diff IDs).
    pub quick: bool,
    /// Remove damaged images (unless containers use them), unused old layers, orphaned files,
    /// leases and mounts.
    pub repair: bool,
    /// Also remove containers that use damaged images, and then those images.
    pub force: bool,
    /// Layers no image uses are damage once older than this (a pull may be in progress).
    pub max_age: Duration,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            quick: false,
            repair: false,
            force: false,
            max_age: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// What was found (damage by object, each with its reasons) and what was removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub layers: BTreeMap<String, Vec<String>>,
    pub removed_layers: Vec<String>,
    pub images: BTreeMap<String, Vec<String>>,
    pub removed_images: Vec<String>,
    pub containers: BTreeMap<String, Vec<String>>,
    pub removed_containers: Vec<String>,
    /// Leases and mounts, by what they are.
    pub other: BTreeMap<String, Vec<String>>,
    pub removed_other: Vec<String>,
}

impl CheckReport {
    /// Whether anything is (or was) damaged.
    pub fn errors(&self) -> bool {
        !(self.layers.is_empty()
            && self.images.is_empty()
            && self.containers.is_empty()
            && self.other.is_empty())
    }
}

impl Engine {
    /// `system check [--quick] [--repair] [--force] [--max AGE]`.
    pub fn check_storage(&mut self, options: &CheckOptions) -> Result<CheckReport, EngineError> {
        let mut report = CheckReport::default();
        // Monitors first: a live one still writes into the container's directories.
        self.check_monitors(options, &mut report)?;
        self.check_images_and_layers(options, &mut report)?;
        self.check_container_files(options, &mut report)?;
        self.check_leases(options, &mut report)?;
        self.check_mounts(options, &mut report)?;
        Ok(report)
    }

    fn check_images_and_layers(
        &mut self,
        options: &CheckOptions,
        report: &mut CheckReport,
    ) -> Result<(), EngineError> {
        let lock = self.images.write_lock()?;
        let images = self.images.list()?;
        let stored: BTreeSet<String> = self.images.layers().list()?.into_iter().collect();
        let mut verified: BTreeMap<String, Option<String>> = BTreeMap::new();
        for image in &images {
            let mut problems = Vec::new();
            if let Err(e) = image.config() {
                problems.push(format!("image configuration cannot be read: {e}"));
            }
            for diff_id in &image.layers {
                if !stored.contains(diff_id) {
                    problems.push(format!("layer {diff_id} is not in the store"));
                } else if !options.quick {
                    let problem = verified
                        .entry(diff_id.clone())
                        .or_insert_with(|| self.verify_layer(diff_id).err());
                    problems.extend(problem.clone());
                }
            }
            if !problems.is_empty() {
                report.images.insert(image.id.clone(), problems);
            }
        }
        let used: BTreeSet<&String> = images.iter().flat_map(|i| &i.layers).collect();
        let now = SystemTime::now();
        for diff_id in stored.iter().filter(|d| !used.contains(d)) {
            let age = self
                .images
                .layers()
                .path(diff_id)
                .ok()
                .and_then(|p| fs::metadata(p).ok()?.modified().ok())
                .and_then(|t| now.duration_since(t).ok())
                .unwrap_or_default();
            if age >= options.max_age {
                report.layers.insert(
                    diff_id.clone(),
                    vec!["layer is not used by any image".into()],
                );
                if options.repair {
                    self.images.layers().remove(diff_id)?;
                    report.removed_layers.push(diff_id.clone());
                }
            }
        }
        drop(lock);
        if !options.repair {
            return Ok(());
        }
        for image in images.iter().filter(|i| report.images.contains_key(&i.id)) {
            let users = self.containers.users_of_image(&image.id)?;
            if !users.is_empty() && !options.force {
                continue;
            }
            for user in users {
                self.remove_container(&user, true)?;
                report.removed_containers.push(user);
            }
            let lock = self.images.write_lock()?;
            self.images.remove(image, &lock)?;
            report.removed_images.push(image.id.clone());
        }
        Ok(())
    }

    /// Whether the layer's stored stream still holds the content its diff ID names.
    fn verify_layer(&self, diff_id: &str) -> Result<(), String> {
        let stream = self
            .images
            .layers()
            .tar_stream(diff_id)
            .map_err(|e| e.to_string())?;
        let mut digester = Digester::new(io::sink());
        io::copy(&mut { stream }, &mut digester)
            .map_err(|e| format!("layer {diff_id} cannot be read: {e}"))?;
        let (actual, _) = digester.finish();
        if actual == diff_id {
            Ok(())
        } else {
            Err(format!("layer {diff_id} holds content of {actual}"))
        }
    }

    fn check_container_files(
        &mut self,
        options: &CheckOptions,
        report: &mut CheckReport,
    ) -> Result<(), EngineError> {
        let records = self.containers.list()?;
        let images: BTreeSet<String> = self.images.list()?.into_iter().map(|i| i.id).collect();
        for record in &records {
            if !images.contains(&record.image_id) {
                report.containers.insert(
                    record.id.clone(),
                    vec![format!("image {} is not in the store", record.image_id)],
                );
                if options.repair && options.force {
                    self.remove_container(&record.id, true)?;
                    report.removed_containers.push(record.id.clone());
                }
            }
        }
        let known: BTreeSet<&String> = records.iter().map(|r| &r.id).collect();
        let (root_trash, run_trash) = crate::container::lifecycle::trashes(&self.options);
        for (base, trash) in [
            (self.options.root.join("containers"), &root_trash),
            (self.options.runroot.join("containers"), &run_trash),
        ] {
            for id in directory_names(&base) {
                if known.contains(&id) {
                    continue;
                }
                report
                    .containers
                    .entry(id.clone())
                    .or_default()
                    .push(format!(
                        "{} has no container record",
                        base.join(&id).display()
                    ));
                if options.repair {
                    trash.put(&base.join(&id), "container")?;
                    if !report.removed_containers.contains(&id) {
                        report.removed_containers.push(id);
                    }
                }
            }
        }
        self.empty_trash();
        Ok(())
    }

    fn check_leases(
        &mut self,
        options: &CheckOptions,
        report: &mut CheckReport,
    ) -> Result<(), EngineError> {
        let known: BTreeSet<String> = self.containers.list()?.into_iter().map(|r| r.id).collect();
        let mut store = self.network_store()?;
        for holder in store.leaseholders()? {
            if known.contains(&holder) {
                continue;
            }
            let what = format!("network leases of {holder}");
            report
                .other
                .insert(what.clone(), vec!["the container does not exist".into()]);
            if options.repair {
                skiff_network::release(&mut store, &holder, !self.options.rootless)?;
                report.removed_other.push(what);
            }
        }
        Ok(())
    }

    fn check_mounts(
        &mut self,
        options: &CheckOptions,
        report: &mut CheckReport,
    ) -> Result<(), EngineError> {
        let running: Vec<PathBuf> = self
            .containers
            .list()?
            .into_iter()
            .filter(|r| r.state == State::Running)
            .flat_map(|r| [self.container_dir(&r.id), self.run_dir(&r.id)])
            .collect();
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let stale: Vec<PathBuf> = mount_points(&mountinfo)
            .into_iter()
            .filter(|m| {
                (m.starts_with(&self.options.root) || m.starts_with(&self.options.runroot))
                    && m != &self.options.root
                    && m != &self.options.runroot
                    && !running.iter().any(|dir| m.starts_with(dir))
            })
            .collect();
        // Deepest first, so a mount below another goes before it.
        for mount in stale.into_iter().rev() {
            let what = format!("mount {}", mount.display());
            report
                .other
                .insert(what.clone(), vec!["no running container holds it".into()]);
            if options.repair {
                nix::mount::umount2(&mount, nix::mount::MntFlags::MNT_DETACH).map_err(|e| {
                    EngineError::InvalidState(format!("unmount {}: {e}", mount.display()))
                })?;
                report.removed_other.push(what);
            }
        }
        Ok(())
    }
}

impl Engine {
    /// Monitors of this store whose container has no record (its record was deleted while it
    /// ran, by a crash or by hand): the repair kills the container, and its monitor ends.
    fn check_monitors(
        &mut self,
        options: &CheckOptions,
        report: &mut CheckReport,
    ) -> Result<(), EngineError> {
        let known: BTreeSet<String> = self.containers.list()?.into_iter().map(|r| r.id).collect();
        let Ok(processes) = fs::read_dir("/proc") else {
            return Ok(());
        };
        for process in processes.flatten() {
            let Ok(monitor) = process.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(cmdline) = fs::read(process.path().join("cmdline")) else {
                continue;
            };
            let Some(found) = MonitorLine::parse(&cmdline) else {
                continue;
            };
            if Path::new(&found.root) != self.options.root || known.contains(&found.container) {
                continue;
            }
            let what = format!("monitor {monitor} of container {}", found.container);
            report
                .other
                .insert(what.clone(), vec!["the container has no record".into()]);
            if options.repair {
                use nix::sys::signal::{Signal, kill};
                use nix::unistd::Pid;
                let _ = kill(Pid::from_raw(found.container_pid), Signal::SIGKILL);
                let _ = kill(Pid::from_raw(monitor), Signal::SIGKILL);
                // Gone (or a zombie, whose command line is empty) before the files are looked at.
                for _ in 0..200 {
                    if fs::read(process.path().join("cmdline")).map_or(true, |c| c.is_empty()) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                report.removed_other.push(what);
            }
        }
        Ok(())
    }
}

/// What a monitor's command line says of its container (see `monitor.rs`, which writes it):
/// `skiff-monitor --pid PID ... -- skiff __cleanup --root ROOT ... ID`.
#[derive(Debug, PartialEq, Eq)]
struct MonitorLine {
    container_pid: i32,
    root: String,
    container: String,
}

impl MonitorLine {
    fn parse(cmdline: &[u8]) -> Option<Self> {
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let program = args.first()?;
        if !program.ends_with("skiff-monitor") {
            return None;
        }
        let after = |flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .cloned()
        };
        Some(Self {
            container_pid: after("--pid")?.parse().ok()?,
            root: after("--root")?,
            container: args.last()?.clone(),
        })
    }
}

fn directory_names(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The mount points of a mountinfo text, in mount order (octal escapes decoded).
fn mount_points(mountinfo: &str) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|escaped| {
            let mut out = Vec::new();
            let bytes = escaped.as_bytes();
            let mut index = 0;
            while index < bytes.len() {
                let octal = bytes.get(index + 1..index + 4);
                match octal.and_then(|o| u8::from_str_radix(std::str::from_utf8(o).ok()?, 8).ok()) {
                    Some(byte) if bytes[index] == b'\\' => {
                        out.push(byte);
                        index += 4;
                    }
                    _ => {
                        out.push(bytes[index]);
                        index += 1;
                    }
                }
            }
            use std::os::unix::ffi::OsStringExt;
            PathBuf::from(std::ffi::OsString::from_vec(out))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_command_lines_name_their_container() {
        let line = b"skiff-monitor\0--pid\x00611\0--log\0/r/x.log\0--\0/usr/bin/skiff\0__cleanup\0--root\0/var/lib/skiff\0--runroot\0/run/skiff\0abc123\0";
        assert_eq!(
            MonitorLine::parse(line),
            Some(MonitorLine {
                container_pid: 611,
                root: "/var/lib/skiff".into(),
                container: "abc123".into()
            })
        );
        assert_eq!(MonitorLine::parse(b"sleep\x00100\0"), None);
    }

    #[test]
    fn mount_points_are_read_with_their_escapes() {
        let text = "36 35 98:0 / /mnt/a\\040b rw - ext3 /dev/root rw\n\
                    37 35 0:5 / /var/lib/skiff/containers/x/merged rw - overlay overlay rw\n";
        assert_eq!(
            mount_points(text),
            [
                PathBuf::from("/mnt/a b"),
                PathBuf::from("/var/lib/skiff/containers/x/merged")
            ]
        );
    }
}
