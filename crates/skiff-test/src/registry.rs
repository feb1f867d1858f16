//! A real registry for tests: Debian's `docker-registry` (distribution v2) on 127.0.0.1 with a
//! port of its own, plain, behind htpasswd Basic auth, or behind a bearer-token issuer (Docker's
//! token protocol, see `token.rs`), storing into a temporary directory. Stopped and removed when
//! dropped.
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Registry {
    /// `127.0.0.1:PORT`.
    pub address: String,
    pub dir: PathBuf,
    child: Child,
    _issuer: Option<crate::token::TokenIssuer>,
}

/// How the registry lets clients in.
pub enum Access<'a> {
    Open,
    /// htpasswd Basic auth with one user.
    Password {
        user: &'a str,
        password: &'a str,
    },
    /// Bearer tokens from a token issuer that knows one user.
    Token {
        user: &'a str,
        password: &'a str,
    },
}

impl Registry {
    pub fn start(access: Access<'_>) -> Self {
        Self::start_with(access, false)
    }

    /// A registry serving HTTPS with a certificate from a test CA (`ca_certificate()`).
    pub fn start_tls() -> Self {
        Self::start_with(Access::Open, true)
    }

    /// The test CA that signed a TLS registry's certificate.
    pub fn ca_certificate(&self) -> PathBuf {
        self.dir.join("tls/ca.crt")
    }

    fn start_with(access: Access<'_>, tls: bool) -> Self {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "skiff-registry-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create registry dir");
        let mut issuer = None;
        let auth = match access {
            Access::Open => String::new(),
            Access::Token { user, password } => {
                let started = crate::token::TokenIssuer::start(&dir, user, password);
                let auth = format!(
                    "auth:\n  token:\n    realm: http://{}/token\n    service: skiff-registry\n    issuer: {}\n    rootcertbundle: {}\n",
                    started.address,
                    crate::token::ISSUER,
                    started.certificate.display()
                );
                issuer = Some(started);
                auth
            }
            Access::Password { user, password } => {
                let output = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .output()
                    .expect("run htpasswd (apache2-utils; tests/setup.sh installs it)");
                assert!(output.status.success(), "htpasswd failed");
                std::fs::write(dir.join("htpasswd"), output.stdout).expect("write htpasswd");
                format!(
                    "auth:\n  htpasswd:\n    realm: skiff-test\n    path: {}\n",
                    dir.join("htpasswd").display()
                )
            }
        };
        let tls = if tls {
            let dir = dir.join("tls");
            make_certificates(&dir);
            format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                dir.join("server.crt").display(),
                dir.join("server.key").display()
            )
        } else {
            String::new()
        };
        // A port the kernel just handed out; retried if another process takes it first.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("pick a port")
                .port();
            let address = format!("127.0.0.1:{port}");
            let config = dir.join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {address}\n{tls}{auth}",
                    dir.join("data").display()
                ),
            )
            .expect("write registry config");
            // The registry reads REGISTRY_* variables as configuration (REGISTRY_AUTH_FILE would
            // select an unknown auth backend): keep skiff's out of its environment.
            let mut child = Command::new("docker-registry")
                .env_remove("REGISTRY_AUTH_FILE")
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(
                    std::fs::File::create(dir.join("registry.log")).expect("registry log"),
                ))
                .spawn()
                .expect("run docker-registry (tests/setup.sh installs it)");
            if wait_for_port(&address, &mut child) {
                return Registry {
                    address,
                    dir,
                    child,
                    _issuer: issuer,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "docker-registry did not start: {}",
            std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default()
        );
    }

    /// `127.0.0.1:PORT/NAME`.
    pub fn name(&self, name: &str) -> String {
        format!("{}/{name}", self.address)
    }

    /// Where the registry keeps a blob's bytes (to corrupt them in a test).
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

/// A CA and a server certificate for 127.0.0.1 signed by it, with the openssl command line.
fn make_certificates(dir: &Path) {
    std::fs::create_dir_all(dir).expect("create tls dir");
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .expect("write extensions");
    let steps: [Vec<&str>; 3] = [
        [
            &["req", "-x509", "-days", "1", "-subj", "/CN=skiff-test-ca"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.crt"],
        ]
        .concat(),
        [
            &["req", "-subj", "/CN=127.0.0.1"][..],
            &ec,
            &["-keyout", "server.key", "-out", "server.csr"],
        ]
        .concat(),
        vec![
            "x509",
            "-req",
            "-days",
            "1",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ],
    ];
    for args in steps {
        let output = Command::new("openssl")
            .args(&args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn wait_for_port(address: &str, child: &mut Child) -> bool {
    let socket: SocketAddr = address.parse().expect("address");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&socket, Duration::from_millis(100)).is_ok() {
            return true;
        }
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
