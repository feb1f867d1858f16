//! Test tooling for skiff's integration tests: each `TestContext` is an isolated storage root
//! (`--root`/`--runroot` in a fresh directory), usable as root or as the unprivileged user
//! `skiff-test` (made by `tests/setup.sh`), with the busybox test image imported on demand.
//! Tests drive the real `skiff` binary and compare exit code, stdout and stderr.
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

pub mod browser;
mod foreground;
mod registry;
pub mod terminal;
mod token;
pub use foreground::{Foreground, Group};
pub use registry::{Access, Registry};

/// The unprivileged user rootless tests run as.
pub const TEST_USER: &str = "skiff-test";

/// Who runs skiff in a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Root,
    Rootless,
}

impl Mode {
    pub const BOTH: [Mode; 2] = [Mode::Root, Mode::Rootless];
}

/// A TCP port no one listens on now (for `-p` in tests), never one given to another test of
/// this process: the kernel hands the port it just freed to the next caller.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    // Held until a new one is found, so the kernel cannot offer these again meanwhile.
    let mut held = Vec::new();
    loop {
        let listener = std::net::TcpListener::bind("0.0.0.0:0").expect("a free TCP port");
        let port = listener.local_addr().expect("its address").port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
        held.push(listener);
    }
}

/// Runs `test` as root and then rootless, each in a fresh context with the busybox image.
pub fn in_both_modes(binary: &str, test: impl Fn(&TestContext)) {
    for mode in Mode::BOTH {
        test(&TestContext::new(binary, mode).with_busybox());
    }
}

pub struct TestContext {
    pub mode: Mode,
    pub dir: PathBuf,
    binary: PathBuf,
    owner: (u32, u32),
}

/// What a skiff command did.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    fn from(output: Output) -> Self {
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts success and returns stdout trimmed.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self.stdout.trim()
    }

    /// Asserts this exit code and a one-line error naming `needle`; returns stderr.
    #[track_caller]
    pub fn fails(&self, code: i32, needle: &str) -> &str {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(
            self.stderr.contains(needle),
            "stderr should mention {needle:?}: {}",
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "panic: {}", self.stderr);
        assert!(
            !self.stderr.contains("RUST_BACKTRACE"),
            "panic: {}",
            self.stderr
        );
        self.stderr.trim()
    }
}

impl TestContext {
    /// A fresh storage root. `binary` is the skiff under test (`env!("CARGO_BIN_EXE_skiff")`).
    pub fn new(binary: &str, mode: Mode) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let base = std::env::var_os("SKIFF_TEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp/skiff-tests"));
        let dir = base.join(format!(
            "{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create test dir");
        set_mode(&base, 0o755);
        set_mode(&dir, 0o755);
        let owner = match mode {
            Mode::Root => (0, 0),
            Mode::Rootless => {
                let owner = user_ids(TEST_USER).unwrap_or_else(|| {
                    panic!("user {TEST_USER} does not exist: run tests/setup.sh (as root) before the tests")
                });
                chown(&dir, owner);
                owner
            }
        };
        TestContext {
            mode,
            dir,
            binary: shared_binary(binary),
            owner,
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.join("root")
    }
    /// The user and group skiff runs as in this context.
    pub fn owner(&self) -> (u32, u32) {
        self.owner
    }
    pub fn runroot(&self) -> PathBuf {
        self.dir.join("run")
    }

    /// A command for `skiff --root … --runroot … ARGS` as this context's user.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command_with_env(&[], args)
    }

    /// Like `command`, with extra environment variables for skiff. (runuser resets USER and
    /// HOME for the target user, so they are passed through `env` after it.)
    pub fn command_with_env<I, S>(&self, env: &[(&str, &str)], args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        // Registry settings stay inside the test's directory unless the test says otherwise.
        let auth_file = self.dir.join("auth.json").display().to_string();
        let registries_conf = self.dir.join("registries.conf").display().to_string();
        let defaults = [
            ("REGISTRY_AUTH_FILE", auth_file.as_str()),
            ("CONTAINERS_REGISTRIES_CONF", registries_conf.as_str()),
        ];
        let env: Vec<(&str, &str)> = defaults
            .iter()
            .copied()
            .filter(|(k, _)| !env.iter().any(|(key, _)| key == k))
            .chain(env.iter().copied().filter(|(_, v)| !v.is_empty()))
            .collect();
        let mut command = self.user_command(&self.binary, &env);
        command
            .arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot())
            .args(args);
        command.stdin(Stdio::null());
        command
    }

    /// `program` run as the context's user: as it is for root; through runuser for the test
    /// user, with its HOME, USER and XDG_RUNTIME_DIR (runuser resets them), then `env`.
    pub fn user_command(&self, program: impl AsRef<OsStr>, env: &[(&str, &str)]) -> Command {
        match self.mode {
            Mode::Root => {
                let mut c = Command::new(program);
                c.envs(env.iter().copied());
                c
            }
            Mode::Rootless => {
                let mut c = Command::new("runuser");
                c.args(["-u", TEST_USER, "--", "env"]);
                c.arg(format!("HOME={}", self.dir.display()));
                c.arg(format!("USER={TEST_USER}"));
                c.arg(format!(
                    "XDG_RUNTIME_DIR={}",
                    self.dir.join("xdg").display()
                ));
                c.args(env.iter().map(|(k, v)| format!("{k}={v}")));
                c.arg(program);
                c
            }
        }
    }

    pub fn skiff<I, S>(&self, args: I) -> Outcome
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Outcome::from(self.command(args).output().expect("run skiff"))
    }

    /// Runs skiff with extra environment variables.
    pub fn skiff_with_env(&self, env: &[(&str, &str)], args: &[&str]) -> Outcome {
        Outcome::from(
            self.command_with_env(env, args)
                .output()
                .expect("run skiff"),
        )
    }

    /// Runs skiff with `input` on its standard input.
    pub fn skiff_with_input(&self, args: &[&str], input: &[u8]) -> Outcome {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run skiff");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
        Outcome::from(child.wait_with_output().expect("wait skiff"))
    }

    /// Imports the busybox test image as `localhost/busybox`.
    pub fn with_busybox(self) -> Self {
        let tarball = busybox_tarball();
        let copy = self.dir.join("busybox.tar");
        std::fs::copy(tarball, &copy).expect("copy test image");
        chown(&copy, self.owner);
        self.skiff([
            "import".as_ref(),
            copy.as_os_str(),
            "localhost/busybox".as_ref(),
        ])
        .ok();
        self
    }

    /// Runs skiff from copies of its binaries that only this context uses, owned by the
    /// context's user (as a user's own install in ~/bin would be): no other test's skiff keeps
    /// them busy, so whether a container could write them shows.
    pub fn with_private_binary(mut self) -> Self {
        let dir = self.dir.join("bin");
        std::fs::create_dir_all(&dir).expect("create bin dir");
        set_mode(&dir, 0o755);
        for name in ["skiff", "skiff-monitor"] {
            let to = dir.join(name);
            std::fs::copy(self.binary.with_file_name(name), &to).expect("copy binary");
            set_mode(&to, 0o755);
            chown(&to, self.owner);
        }
        self.binary = dir.join("skiff");
        self
    }

    /// The skiff binary this context runs.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// A directory the context's user may write, for bind mounts and files.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::create_dir_all(&path).expect("create scratch dir");
        chown(&path, self.owner);
        path
    }

    pub fn chown(&self, path: &Path) {
        chown(path, self.owner);
    }

    /// This context's registries.conf says the registry at `address` (a test registry on
    /// loopback) speaks plain HTTP.
    pub fn trust_plain_http(&self, address: &str) {
        std::fs::write(
            self.dir.join("registries.conf"),
            format!("[[registry]]\nlocation = \"{address}\"\ninsecure = true\n"),
        )
        .expect("write registries.conf");
    }
}

impl Drop for TestContext {
    fn drop(&mut self) {
        if std::thread::panicking() && std::env::var_os("SKIFF_TEST_KEEP").is_some() {
            return;
        }
        // Stop whatever a failed test left running, then remove the storage root.
        let _ = self
            .command(["pod", "rm", "-a", "-f", "-t", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self
            .command(["rm", "-a", "-f"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // Bridges are the host's: a network the test made goes with it.
        let _ = self
            .command(["network", "prune", "-f"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if self.mode == Mode::Rootless {
            // The rootless network namespace's holder (and its pasta) leave on SIGTERM.
            if let Some(pid) =
                std::fs::read_to_string(self.runroot().join("rootless-netns/holder.pid"))
                    .ok()
                    .and_then(|text| text.split(' ').next()?.parse::<i32>().ok())
            {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
            // Rootless storage holds files owned by subordinate IDs; remove them from inside.
            let _ = self
                .command(["rmi", "-a", "-f"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A program of the tools tests/setup.sh installs from PyPI (/opt/skiff-tools), else the
/// one on the PATH.
pub fn tool(name: &str) -> PathBuf {
    let installed = Path::new("/opt/skiff-tools/bin").join(name);
    if installed.exists() {
        installed
    } else {
        PathBuf::from(name)
    }
}

/// The body of `GET /` on the host's loopback at `port`, once a server answers there.
pub fn fetch_from_host(port: u16) -> String {
    for _ in 0..50 {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let _ = std::io::Write::write_all(&mut stream, b"GET / HTTP/1.0\r\n\r\n");
            let mut response = String::new();
            let _ = std::io::Read::read_to_string(&mut stream, &mut response);
            if let Some((_, body)) = response.split_once("\r\n\r\n") {
                return body.trim().to_string();
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    String::new()
}

/// The test image's root filesystem, made once by the repository's script and shared by
/// every test process (named for the script's text, so a changed script makes a new one).
pub fn busybox_tarball() -> &'static Path {
    static TARBALL: OnceLock<PathBuf> = OnceLock::new();
    TARBALL.get_or_init(|| {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/image/make-busybox-rootfs.sh");
        let text = std::fs::read(&script).expect("read make-busybox-rootfs.sh");
        let out = std::env::temp_dir().join(format!("skiff-busybox-{:016x}.tar", digest(&text)));
        if out.exists() {
            return out;
        }
        let partial = out.with_extension(format!("{}.partial", std::process::id()));
        let status = Command::new("sh")
            .arg(&script)
            .arg(&partial)
            .status()
            .expect("run make-busybox-rootfs.sh");
        assert!(
            status.success(),
            "making the busybox test image failed (is busybox-static installed?)"
        );
        set_mode(&partial, 0o644);
        std::fs::rename(&partial, &out).expect("place the busybox tarball");
        out
    })
}

/// A stable 64-bit digest (FNV-1a) naming shared test files.
fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The binaries (skiff and skiff-monitor beside it) copied where every user can run them:
/// the build tree may not be readable by the test user. One copy per build, shared by the
/// test processes; copies of older builds are removed after a day.
fn shared_binary(binary: &str) -> PathBuf {
    static COPY: OnceLock<PathBuf> = OnceLock::new();
    COPY.get_or_init(|| {
        use std::os::unix::fs::MetadataExt;
        let source = Path::new(binary);
        // skiff and skiff-monitor must be there; the generator is built with skiff's own
        // tests only.
        let names: Vec<&str> = ["skiff", "skiff-monitor", "skiff-quadlet"]
            .into_iter()
            .filter(|name| *name != "skiff-quadlet" || source.with_file_name(name).exists())
            .collect();
        let stamp = |name: &str| {
            let meta = std::fs::metadata(source.with_file_name(name))
                .unwrap_or_else(|e| panic!("{name} beside {binary}: {e}"));
            format!("{}.{}.{}", meta.size(), meta.mtime(), meta.mtime_nsec())
        };
        let parent = std::env::temp_dir().join("skiff-bin");
        std::fs::create_dir_all(&parent).expect("create bin dir");
        set_mode(&parent, 0o755);
        let build = format!(
            "{:016x}",
            digest(
                names
                    .iter()
                    .map(|name| stamp(name))
                    .collect::<Vec<_>>()
                    .join("/")
                    .as_bytes()
            )
        );
        let dir = parent.join(&build);
        if !dir.join("skiff").exists() {
            let partial = parent.join(format!("{build}.{}.partial", std::process::id()));
            std::fs::create_dir_all(&partial).expect("create bin dir");
            set_mode(&partial, 0o755);
            for name in &names {
                let from = source.with_file_name(name);
                let to = partial.join(name);
                std::fs::copy(&from, &to)
                    .unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
                set_mode(&to, 0o755);
            }
            // Another test process may have placed the same build first.
            if std::fs::rename(&partial, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&partial);
            }
        }
        let day = std::time::Duration::from_secs(24 * 60 * 60);
        for entry in std::fs::read_dir(&parent).into_iter().flatten().flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > day);
            if old && entry.file_name() != build.as_str() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        dir.join("skiff")
    })
    .clone()
}

/// (uid, gid) of a user from /etc/passwd.
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.first() != Some(&name) {
            return None;
        }
        Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?))
    })
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

fn chown(path: &Path, (uid, gid): (u32, u32)) {
    let _ = std::os::unix::fs::chown(path, Some(uid), Some(gid));
}
