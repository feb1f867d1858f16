//! The rootless network namespace: where an unprivileged user's bridge networks live, as in
//! Podman 5. Bridges, veths and firewall rules need a network namespace the user owns, and
//! containers on one network must share it; pasta connects it to the host.
//!
//! Every rootless `skiff` makes a user namespace of its own, and a network namespace belongs
//! to the user namespace that made it, so a shared one needs a shared owner: a small holder
//! process (`skiff __rootless-netns`, Podman's pause process in spirit) makes a user namespace
//! and the network namespace, and stays. A `skiff` that starts a container on a bridge network
//! joins the holder's user namespace instead of making its own, and its monitor enters the
//! holder's network namespace to plug the container in. The holder leaves when no container
//! has been attached for a while; the next start makes a new one.
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use skiff_network::usermode::{self, Helper};
use skiff_runtime::process;
use skiff_storage::lock::FileLock;

use crate::error::{EngineError, IoContext};

/// argv[1] of the holder.
pub const HOLDER_COMMAND: &str = "__rootless-netns";

/// How often the holder looks whether any container is still attached; it leaves after two
/// looks in a row found none.
const IDLE_CHECK: Duration = Duration::from_secs(30);

fn dir(runroot: &Path) -> PathBuf {
    runroot.join("rootless-netns")
}

fn pid_file(runroot: &Path) -> PathBuf {
    dir(runroot).join("holder.pid")
}

/// The resolvers the rootless network namespace reaches (pasta's DNS forward where the host
/// resolves only on its loopback), for the DNS server there.
pub(crate) fn resolv_conf(runroot: &Path) -> PathBuf {
    dir(runroot).join("resolv.conf")
}

fn lock_file(runroot: &Path) -> PathBuf {
    runroot.join("rootless-netns.lock")
}

/// The running holder's PID, if there is one.
fn running_holder(runroot: &Path) -> Option<i32> {
    let text = fs::read_to_string(pid_file(runroot)).ok()?;
    let (pid, start) = text.trim().split_once(' ')?;
    let (pid, start) = (pid.parse().ok()?, start.parse().ok()?);
    process::is_alive(pid, start).then_some(pid)
}

/// Stops the holder, if one runs (`system reset`: nothing is left attached to it).
pub(crate) fn stop_holder(runroot: &Path) {
    if let Some(pid) = running_holder(runroot) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
}

/// The holder of `runroot`'s rootless network namespace, started if there is none. Called
/// by the unprivileged user before it enters any user namespace.
pub fn ensure_holder(runroot: &Path) -> Result<i32, EngineError> {
    fs::create_dir_all(runroot).io("create", runroot)?;
    let _lock = FileLock::exclusive(&lock_file(runroot))?;
    if let Some(pid) = running_holder(runroot) {
        return Ok(pid);
    }
    let exe = std::env::current_exe().io("find", "/proc/self/exe")?;
    let mut child = Command::new(exe)
        .arg(HOLDER_COMMAND)
        .arg(runroot)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Not in the caller's process group: a terminal's ^C is not the holder's.
        .process_group(0)
        .spawn()
        .io("start", "the rootless network namespace holder")?;
    // One line: "ready", or what went wrong.
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    match line.trim() {
        "ready" => running_holder(runroot).ok_or_else(|| {
            EngineError::Rootless("the rootless network namespace holder went away".into())
        }),
        message => {
            let _ = child.wait();
            Err(EngineError::Rootless(format!(
                "rootless network namespace: {}",
                if message.is_empty() {
                    "its holder exited"
                } else {
                    message
                }
            )))
        }
    }
}

/// Joins the holder's user namespace (this process becomes root there).
pub fn join_holder(runroot: &Path) -> Result<(), EngineError> {
    let pid = ensure_holder(runroot)?;
    crate::rootless::join(pid)
}

/// Joins the holder's user namespace if a holder runs; whether it did.
pub fn join_running_holder(runroot: &Path) -> Result<bool, EngineError> {
    match running_holder(runroot) {
        Some(pid) => crate::rootless::join(pid).map(|()| true),
        None => Ok(false),
    }
}

/// Runs `work` on a thread inside the rootless network namespace, if there is one and this
/// process is in its owner's user namespace; None otherwise.
pub fn inside<T: Send>(runroot: &Path, work: impl FnOnce() -> T + Send) -> Option<T> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| enter(runroot).ok().map(|()| work()))
            .join()
            .ok()
            .flatten()
    })
}

/// Moves the calling thread into the rootless network namespace. For a process already in
/// the holder's user namespace.
pub fn enter(runroot: &Path) -> Result<(), EngineError> {
    let pid = running_holder(runroot).ok_or_else(|| {
        EngineError::Rootless("the rootless network namespace is gone: start again".into())
    })?;
    let path = format!("/proc/{pid}/ns/net");
    let namespace = fs::File::open(&path).io("open", &path)?;
    nix::sched::setns(&namespace, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|source| {
        EngineError::System {
            action: "enter the rootless network namespace".into(),
            source,
        }
    })
}

/// Entry point of `skiff __rootless-netns RUNROOT`: make the namespaces, report "ready" on
/// stdout, stay while containers are attached.
pub fn holder_main(args: &[String]) -> i32 {
    let Some(runroot) = args.first().map(PathBuf::from) else {
        return 125;
    };
    let mut out = std::io::stdout();
    match set_up(&runroot) {
        Ok(()) => {
            let _ = out.write_all(b"ready\n");
        }
        Err(e) => {
            let _ = writeln!(out, "{e}");
            return 125;
        }
    }
    let _ = out.flush();
    // Nothing more to say: the starting `skiff` reads until this line.
    if let Ok(null) = fs::File::options().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 1);
    }
    // SIGTERM and SIGINT end it tidily (pasta goes too), between looks.
    let mut signals = nix::sys::signal::SigSet::empty();
    signals.add(nix::sys::signal::Signal::SIGTERM);
    signals.add(nix::sys::signal::Signal::SIGINT);
    let _ = signals.thread_block();
    let mut idle_looks = 0;
    loop {
        if wait_for_signal(&signals, IDLE_CHECK) {
            let _ = fs::remove_file(pid_file(&runroot));
            usermode::stop(&dir(&runroot));
            return 0;
        }
        idle_looks = if containers_attached() {
            0
        } else {
            idle_looks + 1
        };
        if idle_looks < 2 {
            continue;
        }
        // Under the lock, so that no start finds a holder that is about to leave.
        let Ok(_lock) = FileLock::exclusive(&lock_file(&runroot)) else {
            continue;
        };
        if containers_attached() {
            idle_looks = 0;
            continue;
        }
        let _ = fs::remove_file(pid_file(&runroot));
        usermode::stop(&dir(&runroot));
        return 0;
    }
}

/// Waits up to `timeout` for one of `signals` (blocked); true if one came.
fn wait_for_signal(signals: &nix::sys::signal::SigSet, timeout: Duration) -> bool {
    let timeout = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: 0,
    };
    // SAFETY: a valid signal set and timespec; no siginfo is asked for.
    #[allow(unsafe_code)]
    let signal = unsafe { libc::sigtimedwait(signals.as_ref(), std::ptr::null_mut(), &timeout) };
    signal > 0
}

fn set_up(runroot: &Path) -> Result<(), EngineError> {
    crate::rootless::enter()?;
    // Other processes of the user open /proc/PID/ns/* of this one.
    allow_proc_access();
    let dir = dir(runroot);
    fs::create_dir_all(&dir).io("create", &dir)?;
    let helper = if Helper::Pasta.available() {
        Helper::Pasta
    } else {
        Helper::Slirp4netns
    };
    let namespace = usermode::create_namespace(helper, &dir, &[], &Default::default())?;
    let resolvers = if namespace.resolvers.is_empty() {
        fs::read_to_string("/etc/resolv.conf").unwrap_or_default()
    } else {
        namespace
            .resolvers
            .iter()
            .map(|r| format!("nameserver {r}\n"))
            .collect()
    };
    let path = resolv_conf(runroot);
    fs::write(&path, resolvers).io("write", &path)?;
    nix::sched::setns(&namespace.fd, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|source| {
        EngineError::System {
            action: "enter the rootless network namespace".into(),
            source,
        }
    })?;
    let me = nix::unistd::getpid().as_raw();
    let start = process::start_time(me).unwrap_or(0);
    let path = pid_file(runroot);
    let temporary = path.with_extension("tmp");
    fs::write(&temporary, format!("{me} {start}\n")).io("write", &temporary)?;
    fs::rename(&temporary, &path).io("write", &path)?;
    Ok(())
}

/// Whether any container is plugged into a bridge here (a veth's host end).
fn containers_attached() -> bool {
    // /proc/self/net is this process's network namespace (sysfs would be the host's).
    fs::read_to_string("/proc/self/net/dev")
        .map(|links| links.lines().any(|l| l.trim_start().starts_with("veth")))
        .unwrap_or(true)
}

/// Lets the user's other processes open this one's /proc/PID/ns and /proc/PID/fd entries:
/// becoming root of a user namespace changed its IDs, which made it undumpable.
fn allow_proc_access() {
    // SAFETY: prctl with integer arguments.
    #[allow(unsafe_code)]
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
    }
}

/// argv[1] of a rootless container's port forwarder.
pub const FORWARDER_COMMAND: &str = "__forward";

const FORWARDER_PID_FILE: &str = "forwarder.pid";

/// A published port's socket on the host, and the container's port it leads to.
pub(crate) struct Listener {
    socket: std::os::fd::OwnedFd,
    udp: bool,
    container_port: u16,
}

/// In the monitor, on the host before it enters the rootless network namespace: the sockets
/// of a rootless container's published ports on a bridge network (as Podman 5's
/// rootlessport: pasta cannot add forwards to the shared namespace's running instance).
pub(crate) fn listen(ports: &[skiff_spec::PortMapping]) -> Result<Vec<Listener>, String> {
    ports
        .iter()
        .map(|port| {
            let address = if port.host_ip.is_empty() {
                "0.0.0.0"
            } else {
                port.host_ip.as_str()
            };
            let udp = port.protocol == "udp";
            let socket = if udp {
                std::net::UdpSocket::bind((address, port.host_port)).map(std::os::fd::OwnedFd::from)
            } else {
                std::net::TcpListener::bind((address, port.host_port))
                    .map(std::os::fd::OwnedFd::from)
            };
            socket
                .map(|socket| Listener {
                    socket,
                    udp,
                    container_port: port.container_port,
                })
                .map_err(|e| {
                    format!(
                        "cannot listen on the {} port {address}:{}: {e}",
                        port.protocol.to_uppercase(),
                        port.host_port
                    )
                })
        })
        .collect()
}

/// In the monitor, inside the rootless network namespace once the container runs: starts
/// `skiff __forward`, which carries what reaches the listeners to the container's `address`;
/// its PID goes into `run_dir` for `stop_forwarder`.
pub(crate) fn start_forwarder(
    run_dir: &Path,
    container_pid: i32,
    address: std::net::Ipv4Addr,
    listeners: Vec<Listener>,
) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("/proc/self/exe: {e}"))?;
    let mut command = Command::new(exe);
    command
        .arg(FORWARDER_COMMAND)
        .arg(container_pid.to_string());
    for listener in &listeners {
        let fd = std::os::fd::AsRawFd::as_raw_fd(&listener.socket);
        // Inherited by the forwarder; this process closes its copies right after.
        let _ = nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        );
        let protocol = if listener.udp { "udp" } else { "tcp" };
        command.arg(format!(
            "{fd}={protocol}:{address}:{}",
            listener.container_port
        ));
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("port forwarder: {e}"))?;
    drop(listeners);
    let path = run_dir.join(FORWARDER_PID_FILE);
    fs::write(&path, child.id().to_string()).map_err(|e| format!("{}: {e}", path.display()))
}

/// Ends a container's port forwarder, so that its ports are free when the container is gone.
pub(crate) fn stop_forwarder(run_dir: &Path) {
    let path = run_dir.join(FORWARDER_PID_FILE);
    if let Some(pid) = fs::read_to_string(&path)
        .ok()
        .and_then(|p| p.trim().parse::<i32>().ok())
        .filter(|p| *p > 1)
    {
        // Only the forwarder: the PID may have been reused since.
        let ours = fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| c.split(|b| *b == 0).nth(1) == Some(FORWARDER_COMMAND.as_bytes()));
        if ours {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    let _ = fs::remove_file(path);
}

/// Entry point of `skiff __forward CONTAINER_PID FD=PROTOCOL:ADDRESS:PORT...`: what reaches
/// each listener is carried to ADDRESS:PORT until the container is gone.
pub fn forwarder_main(args: &[String]) -> i32 {
    let Some(container) = args.first().and_then(|p| p.parse::<i32>().ok()) else {
        return 125;
    };
    let started = process::start_time(container).unwrap_or(0);
    for spec in &args[1..] {
        let Some((fd, forward)) = spec.split_once('=') else {
            return 125;
        };
        let Some((protocol, target)) = forward.split_once(':') else {
            return 125;
        };
        let (Ok(fd), Ok(target)) = (fd.parse::<i32>(), target.parse::<std::net::SocketAddr>())
        else {
            return 125;
        };
        // SAFETY: the monitor handed this socket to us by number, and nothing else in this
        // process owns it.
        #[allow(unsafe_code)]
        let socket = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        if protocol == "udp" {
            let socket = std::net::UdpSocket::from(socket);
            std::thread::spawn(move || relay_datagrams(&socket, target));
        } else {
            let listener = std::net::TcpListener::from(socket);
            std::thread::spawn(move || {
                for client in listener.incoming().flatten() {
                    std::thread::spawn(move || carry(client, target));
                }
            });
        }
    }
    while process::is_alive(container, started) {
        std::thread::sleep(Duration::from_millis(200));
    }
    0
}

/// How long a UDP client's flow lasts without a datagram back from the container.
const UDP_FLOW_IDLE: Duration = Duration::from_secs(60);

/// Datagrams from each client go out of a socket of that client's own, so that the
/// container's answers find their way back; they are sent to the client from the published
/// port.
fn relay_datagrams(published: &std::net::UdpSocket, target: std::net::SocketAddr) {
    let flows: Flows = Flows::default();
    let mut buffer = vec![0u8; 65536];
    while let Ok((n, client)) = published.recv_from(&mut buffer) {
        let mut table = flows.lock().unwrap_or_else(|e| e.into_inner());
        let flow = match table.entry(client) {
            std::collections::hash_map::Entry::Occupied(flow) => flow.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                match open_flow(published, target, client, &flows) {
                    Some(flow) => slot.insert(flow),
                    None => continue,
                }
            }
        };
        let _ = flow.send(&buffer[..n]);
    }
}

/// The UDP flows of a published port, by client.
type Flows = std::sync::Arc<
    std::sync::Mutex<std::collections::HashMap<std::net::SocketAddr, std::net::UdpSocket>>,
>;

/// A socket to the container for one client, with a thread that sends the answers back
/// from the published port until the flow is idle (then it leaves `flows`).
fn open_flow(
    published: &std::net::UdpSocket,
    target: std::net::SocketAddr,
    client: std::net::SocketAddr,
    flows: &Flows,
) -> Option<std::net::UdpSocket> {
    let flow = std::net::UdpSocket::bind(("0.0.0.0", 0)).ok()?;
    flow.connect(target).ok()?;
    let (answers, back) = (flow.try_clone().ok()?, published.try_clone().ok()?);
    let _ = answers.set_read_timeout(Some(UDP_FLOW_IDLE));
    let flows = std::sync::Arc::clone(flows);
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; 65536];
        while let Ok(n) = answers.recv(&mut buffer) {
            let _ = back.send_to(&buffer[..n], client);
        }
        flows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&client);
    });
    Some(flow)
}

/// Copies both ways between a client and the container until both sides are done.
fn carry(client: std::net::TcpStream, target: std::net::SocketAddr) {
    let Ok(upstream) = std::net::TcpStream::connect(target) else {
        return;
    };
    let (Ok(mut client_reader), Ok(mut upstream_writer)) =
        (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    let inbound = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_reader, &mut upstream_writer);
        let _ = upstream_writer.shutdown(std::net::Shutdown::Write);
    });
    let (mut upstream_reader, mut client_writer) = (upstream, client);
    let _ = std::io::copy(&mut upstream_reader, &mut client_writer);
    let _ = client_writer.shutdown(std::net::Shutdown::Write);
    let _ = inbound.join();
}
