//! The `Engine`: one open session on a storage root. Opening is cheap (two SQLite files and a
//! few directories) because every `skiff` command opens it anew.
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use skiff_image::ImageStore;
use skiff_storage::{Driver, OpaqueXattr, RootfsLayout};

use crate::container::store::ContainerStore;
use crate::error::{EngineError, IoContext};
use crate::options::{CgroupMode, StoreOptions};

pub struct Engine {
    pub(crate) options: StoreOptions,
    pub(crate) images: ImageStore,
    pub(crate) containers: ContainerStore,
    pub(crate) opaque: OpaqueXattr,
    pub(crate) driver: Driver,
    pub(crate) cgroup: CgroupMode,
    /// Where the window size of a terminal this engine proxies comes from.
    pub(crate) window: crate::terminal::WindowSource,
    /// The event log, opened for appending on the first event (a `run` writes five).
    pub(crate) events_log: std::cell::OnceCell<Option<fs::File>>,
}

impl Engine {
    pub fn open(options: StoreOptions) -> Result<Self, EngineError> {
        for dir in [&options.root, &options.runroot] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .io("create", dir)?;
            check_owned(dir)?;
        }
        // Inside a user namespace overlay keeps its metadata in user.* xattrs (mounted with
        // userxattr); real root uses trusted.*.
        let opaque = if options.rootless {
            OpaqueXattr::User
        } else {
            OpaqueXattr::Trusted
        };
        let driver = Self::choose_driver(&options, opaque)?;
        crate::debug!("Using graph driver {}", driver.name());
        crate::debug!("Using graph root {}", options.root.display());
        crate::debug!("Using run root {}", options.runroot.display());
        let mut images = ImageStore::open(&options.root, opaque)?;
        images.limit_layer_size(
            crate::environment::max_layer_size().map_err(EngineError::InvalidArgument)?,
        );
        let containers = ContainerStore::open(&options.root);
        Ok(Self {
            options,
            images,
            containers,
            opaque,
            driver,
            cgroup: CgroupMode::detect(),
            window: Default::default(),
            events_log: Default::default(),
        })
    }

    /// Closes the database connections (and those opened ahead); they open again on first
    /// use. A forked child that goes on using the engine calls this first, so that it opens
    /// connections of its own that hold real locks (see `LazyDatabase::close`).
    pub(crate) fn close_databases(&mut self) {
        skiff_storage::database::close_ahead();
        self.images.close_database();
        self.containers.close_database();
    }

    /// Opens the image and container databases of the storage at `options` now, for the engine
    /// opened later in this process: a rootless `skiff` does this while it waits for the
    /// helpers that map its user namespace. Best effort: the engine opens what is not there.
    pub fn open_databases_ahead(options: &StoreOptions) {
        if options.root.is_dir() {
            ImageStore::open_database_ahead(&options.root);
            ContainerStore::open_database_ahead(&options.root);
        }
    }

    /// `--storage-driver` wins; else the driver this root was first used with; else overlay
    /// where it mounts, vfs where it does not.
    fn choose_driver(options: &StoreOptions, opaque: OpaqueXattr) -> Result<Driver, EngineError> {
        if let Some(name) = &options.driver {
            return Ok(Driver::parse(name)?);
        }
        let recorded = options.root.join("storage.driver");
        if let Ok(name) = fs::read_to_string(&recorded) {
            return Ok(Driver::parse(name.trim())?);
        }
        let driver = Driver::detect(
            &options
                .runroot
                .join(format!("overlay-probe-{}", std::process::id())),
            opaque,
        );
        // Several first commands may race here: each writes its own temporary.
        let temporary = recorded.with_extension(format!("tmp-{}", std::process::id()));
        fs::write(&temporary, driver.name()).io("write", &temporary)?;
        fs::rename(&temporary, &recorded).io("write", &recorded)?;
        Ok(driver)
    }

    pub(crate) fn container_dir(&self, id: &str) -> PathBuf {
        self.options.root.join("containers").join(id)
    }
    /// The store's run-time state directory (`--runroot`).
    pub fn runroot(&self) -> &Path {
        &self.options.runroot
    }

    pub(crate) fn userdata_dir(&self, id: &str) -> PathBuf {
        self.container_dir(id).join("userdata")
    }
    /// The container's log file: its own, or `--log-opt path=`; none when its log driver
    /// writes no file (`none`, `journald`).
    pub(crate) fn log_path(
        &self,
        record: &crate::container::store::ContainerRecord,
    ) -> Option<PathBuf> {
        let log = &record.spec.log;
        log.to_file().then(|| match &log.path {
            Some(path) => PathBuf::from(path),
            None => self.userdata_dir(&record.id).join("ctr.log"),
        })
    }
    pub(crate) fn layout(&self, id: &str, driver: &str) -> RootfsLayout {
        RootfsLayout::new(
            &self.container_dir(id).join("fs"),
            Driver::parse(driver).unwrap_or(self.driver),
        )
    }
    /// Volatile per-container state: bundle, exit file.
    /// The container's cgroup (a spec's cgroupsPath, below each hierarchy's root).
    /// The container's cgroup: below `--cgroup-parent`, else below /skiff.
    pub(crate) fn cgroup_path(spec: &skiff_spec::ContainerSpec, id: &str) -> String {
        match &spec.limits.cgroup_parent {
            Some(parent) => format!("/{}/{id}", parent.trim_matches('/')),
            None => format!("/skiff/{id}"),
        }
    }
    pub(crate) fn run_dir(&self, id: &str) -> PathBuf {
        self.options.runroot.join("containers").join(id)
    }
    /// The monitor's socket for attach clients (see `skiff_monitor::attach`).
    pub(crate) fn attach_socket_path(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("attach")
    }
    pub(crate) fn exit_path(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("exit")
    }
    pub(crate) fn runtime_state_root(&self) -> PathBuf {
        self.options.runroot.join("runtime")
    }
    /// Compiled seccomp filters, shared by container starts and execs.
    pub(crate) fn seccomp_cache(&self) -> PathBuf {
        self.runtime_state_root().join("seccomp-cache")
    }

    /// Whether cgroup limits can be set: always for root; for a rootless user only on a pure
    /// cgroup v2 host where our cgroup was delegated to us.
    pub(crate) fn cgroups_usable(&self) -> bool {
        if !self.options.rootless {
            return true;
        }
        self.cgroup == CgroupMode::Unified && delegated_cgroup().is_some()
    }
}

/// The storage and state directories must be this user's alone: another user who could write
/// there (a /tmp/skiff-run-UID made in advance, say) could change a container's bundle between
/// skiff writing it and the runtime reading it. (Inside a rootless user namespace this user is
/// root, and a directory of another host user shows the overflow ID.)
fn check_owned(dir: &Path) -> Result<(), EngineError> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(dir).io("stat", dir)?;
    if meta.uid() != nix::unistd::geteuid().as_raw() || meta.mode() & 0o022 != 0 {
        return Err(EngineError::InvalidArgument(format!(
            "{} is not owned by the current user, or others may write it: refusing to use it for storage",
            dir.display()
        )));
    }
    Ok(())
}

/// Our own cgroup v2 directory if we may write it (a systemd user session delegates one).
fn delegated_cgroup() -> Option<PathBuf> {
    let text = fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    nix::unistd::access(&dir, nix::unistd::AccessFlags::W_OK)
        .ok()
        .map(|()| dir)
}
