//! The service: where it listens (a Unix socket, a loopback TCP port, or a socket systemd
//! passed), the connections it serves, and when it leaves (idle for `--time` seconds).
use std::convert::Infallible;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Notify;

use crate::routes::{self, Api};

/// How `skiff system service` runs.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    pub api: crate::routes::ApiOptions,
    /// Where to listen: `unix:///path`, `unix:path`, `tcp://HOST:PORT`, or a path. None:
    /// a socket passed by systemd, else the default socket.
    pub address: Option<String>,
    /// Leave after this long without a connection; None: serve until killed.
    pub idle: Option<Duration>,
    /// A web front end served beside the API (and the token then required of every request).
    pub pages: Option<Arc<crate::pages::Pages>>,
    /// A line printed on stdout once the service listens (the address to open).
    pub announce: Option<String>,
}

/// Where the service listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Unix(PathBuf),
    Tcp(String),
}

impl Address {
    /// Podman's URIs: `unix:///run/x.sock`, `unix:x.sock`, `tcp://127.0.0.1:8080`, `tcp:H:P`,
    /// or a bare path.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(rest) = text.strip_prefix("unix:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(format!("{text:?}: no socket path"));
            }
            return Ok(Address::Unix(PathBuf::from(path)));
        }
        if let Some(rest) = text.strip_prefix("tcp:") {
            let host = rest
                .strip_prefix("//")
                .unwrap_or(rest)
                .trim_end_matches('/');
            return match host.rsplit_once(':') {
                Some((_, port)) if port.parse::<u16>().is_ok() => Ok(Address::Tcp(host.into())),
                _ => Err(format!("{text:?}: expected tcp://HOST:PORT")),
            };
        }
        if text.contains("://") {
            return Err(format!(
                "{text:?}: unsupported scheme (expected unix:// or tcp://)"
            ));
        }
        Ok(Address::Unix(PathBuf::from(text)))
    }

    /// Whether only this machine can reach it.
    pub fn is_local(&self) -> bool {
        match self {
            Address::Unix(_) => true,
            Address::Tcp(host) => host
                .parse::<SocketAddr>()
                .map(|a| a.ip().is_loopback())
                .unwrap_or_else(|_| host.starts_with("localhost:")),
        }
    }
}

/// The socket systemd passed (`LISTEN_FDS`, for this process), if any.
fn passed_socket() -> Option<RawFd> {
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    let count: u32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    (pid == std::process::id() && count >= 1).then_some(3)
}

enum Listener {
    Unix(UnixListener),
    Tcp(TcpListener),
}

impl Listener {
    fn bind(address: &Address) -> std::io::Result<Self> {
        match address {
            Address::Unix(path) => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                remove_stale_socket(path)?;
                Ok(Listener::Unix(UnixListener::bind(path)?))
            }
            Address::Tcp(host) => {
                let listener = std::net::TcpListener::bind(host)?;
                listener.set_nonblocking(true)?;
                Ok(Listener::Tcp(TcpListener::from_std(listener)?))
            }
        }
    }

    /// The listening socket descriptor `fd`, Unix or TCP.
    fn from_fd(fd: RawFd) -> std::io::Result<Self> {
        let unix = matches!(
            nix::sys::socket::getsockname::<nix::sys::socket::UnixAddr>(fd),
            Ok(address) if address.path().is_some() || address.as_abstract().is_some()
        );
        // SAFETY: systemd passed `fd` to this process as a listening socket it owns from now
        // on (LISTEN_FDS for our PID); nothing else in this process uses it.
        #[allow(unsafe_code)]
        let listener = if unix {
            let std = unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) };
            std.set_nonblocking(true)?;
            Listener::Unix(UnixListener::from_std(std)?)
        } else {
            let std = unsafe { std::net::TcpListener::from_raw_fd(fd) };
            std.set_nonblocking(true)?;
            Listener::Tcp(TcpListener::from_std(std)?)
        };
        Ok(listener)
    }
}

/// A socket file left by a service that is gone is replaced; one that answers is in use.
fn remove_stale_socket(path: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            format!("{}: a service already listens there", path.display()),
        ));
    }
    std::fs::remove_file(path)
}

/// Counts open connections; the service is idle when there are none.
#[derive(Default)]
struct Activity {
    open: AtomicUsize,
    changed: Notify,
}

/// Held for as long as a connection (or a hijacked stream) is open.
pub(crate) struct Busy(Arc<Activity>);

impl Busy {
    fn new(activity: &Arc<Activity>) -> Self {
        activity.open.fetch_add(1, Ordering::SeqCst);
        activity.changed.notify_waiters();
        Busy(activity.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }
}

/// Waits until nothing was open for `idle`.
async fn idle_for(activity: &Activity, idle: Duration) {
    loop {
        let changed = activity.changed.notified();
        if activity.open.load(Ordering::SeqCst) == 0 {
            if tokio::time::timeout(idle, changed).await.is_err()
                && activity.open.load(Ordering::SeqCst) == 0
            {
                return;
            }
        } else {
            changed.await;
        }
    }
}

/// The default socket: `/run/skiff/skiff.sock` for root, `$XDG_RUNTIME_DIR/skiff/skiff.sock`
/// for a user.
pub fn default_socket(rootless: bool) -> PathBuf {
    let base = if rootless {
        std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(format!("/run/user/{}", nix::unistd::getuid())))
    } else {
        PathBuf::from("/run")
    };
    base.join("skiff").join("skiff.sock")
}

/// Runs the service until it has been idle for `options.idle`. Errors are the one line the
/// user sees.
pub fn serve(options: ServiceOptions) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the service: {e}"))?;
    runtime.block_on(run(options))
}

async fn run(options: ServiceOptions) -> Result<(), String> {
    let listener = match (&options.address, passed_socket()) {
        (None, Some(fd)) => {
            Listener::from_fd(fd).map_err(|e| format!("the socket systemd passed: {e}"))?
        }
        (address, _) => {
            let address = match address {
                Some(text) => Address::parse(text)?,
                None => Address::Unix(default_socket(options.api.store.rootless)),
            };
            if !address.is_local() {
                skiff_engine::warn!(
                    "the API listens on {address:?}, reachable from other machines: whoever reaches it controls this host's containers"
                );
            }
            Listener::bind(&address).map_err(|e| format!("listening on {address:?}: {e}"))?
        }
    };
    if let Some(line) = &options.announce {
        use std::io::Write;
        println!("{line}");
        let _ = std::io::stdout().flush();
    }
    let api = Arc::new(Api::new(options.api));
    let activity = Arc::new(Activity::default());
    let idle = async {
        match options.idle {
            Some(idle) => idle_for(&activity, idle).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(idle);
    loop {
        tokio::select! {
            _ = &mut idle => return Ok(()),
            accepted = accept(&listener) => match accepted {
                Ok(stream) => {
                    let busy = Busy::new(&activity);
                    tokio::spawn(serve_connection(api.clone(), options.pages.clone(), stream, busy));
                }
                Err(e) => skiff_engine::warn!("accepting a connection: {e}"),
            },
        }
    }
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

async fn accept(listener: &Listener) -> std::io::Result<Box<dyn Stream>> {
    Ok(match listener {
        Listener::Unix(l) => Box::new(l.accept().await?.0),
        Listener::Tcp(l) => Box::new(l.accept().await?.0),
    })
}

async fn serve_connection(
    api: Arc<Api>,
    pages: Option<Arc<crate::pages::Pages>>,
    stream: Box<dyn Stream>,
    busy: Busy,
) {
    let busy = Arc::new(busy);
    let service = service_fn(move |request| {
        let api = api.clone();
        let busy = busy.clone();
        let answered = pages.as_ref().and_then(|pages| pages.answer(&request));
        async move {
            Ok::<_, Infallible>(match answered {
                Some(response) => response,
                None => routes::handle(api, request, busy).await,
            })
        }
    });
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_as_podman_takes_them() {
        let unix = |p: &str| Ok(Address::Unix(PathBuf::from(p)));
        assert_eq!(Address::parse("unix:///run/s.sock"), unix("/run/s.sock"));
        assert_eq!(Address::parse("unix:s.sock"), unix("s.sock"));
        assert_eq!(Address::parse("/tmp/x.sock"), unix("/tmp/x.sock"));
        assert_eq!(
            Address::parse("tcp://127.0.0.1:8080"),
            Ok(Address::Tcp("127.0.0.1:8080".into()))
        );
        assert!(Address::parse("tcp://127.0.0.1").is_err());
        assert!(Address::parse("http://x").is_err());
        assert!(Address::parse("unix://").is_err());
        assert!(Address::parse("tcp://127.0.0.1:1").unwrap().is_local());
        assert!(!Address::parse("tcp://0.0.0.0:1").unwrap().is_local());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn idle_means_nothing_open_for_the_whole_time() {
        let activity = Arc::new(Activity::default());
        let busy = Busy::new(&activity);
        let waiting = tokio::spawn({
            let activity = activity.clone();
            async move { idle_for(&activity, Duration::from_millis(100)).await }
        });
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(!waiting.is_finished(), "idle while a connection is open");
        drop(busy);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(waiting.is_finished());
    }
}
