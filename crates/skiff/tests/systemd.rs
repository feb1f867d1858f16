//! `generate systemd` against the real binary: units that `systemd-analyze verify` accepts,
//! Podman's restart-policy translation, `--new` units whose commands really run the container
//! and take it away, pods, and Podman's errors. (No systemd runs these hosts' services: the
//! unit's commands are run here as systemd would run them.)
use std::process::Command;

use skiff_test::{Mode, TestContext};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

/// The unit's value of `key`, its continuation lines joined.
fn directive(unit: &str, key: &str) -> Option<String> {
    let joined = unit.replace(" \\\n\t", " ");
    joined
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{key}=")))
        .map(str::to_string)
}

fn verify(ctx: &TestContext, name: &str, unit: &str) {
    let dir = ctx.scratch("units");
    let path = dir.join(name);
    std::fs::write(&path, unit).unwrap();
    // Units name Podman's man page as their documentation; whether man finds it on this
    // machine says nothing of the unit.
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("systemd-analyze (from the systemd package, installed by tests/setup.sh)");
    assert!(
        out.status.success(),
        "systemd-analyze verify {name}: {}\n{unit}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn units_for_existing_containers_and_new_ones() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let id = ctx
        .skiff(["create", "--restart=always", "busybox", "true"])
        .ok()
        .to_string();
    let out = ctx.skiff(["generate", "systemd", &id]);
    assert!(
        // A log line, as Podman's away from a terminal: the quotes in its message escaped.
        out.stderr.contains(&format!(
            "level=warning msg=\"Container {id} has restart policy \\\"always\\\" which can lead to issues on shutdown"
        )),
        "{}",
        out.stderr
    );
    let unit = out.ok().to_string();
    assert!(
        unit.starts_with(&format!("# container-{id}.service\n")),
        "{unit}"
    );
    assert_eq!(
        directive(&unit, "ExecStart").unwrap(),
        format!("{} start {id}", ctx.binary().display())
    );
    assert_eq!(directive(&unit, "Type").as_deref(), Some("forking"));
    verify(&ctx, "existing.service", &unit);

    // Podman's translation of the container's restart policy, for --new.
    for (restart, expected, burst) in [
        ("always", "always", None),
        ("unless-stopped", "always", None),
        ("on-failure:42", "on-failure", Some("42")),
    ] {
        let name = format!("r-{}", restart.replace(':', "-"));
        ctx.skiff([
            "create",
            "--restart",
            restart,
            "--name",
            &name,
            "busybox",
            "true",
        ])
        .ok();
        let unit = ctx
            .skiff(["generate", "systemd", "--new", &name])
            .ok()
            .to_string();
        assert_eq!(
            directive(&unit, "Restart").as_deref(),
            Some(expected),
            "{unit}"
        );
        assert_eq!(directive(&unit, "StartLimitBurst").as_deref(), burst);
    }
    let unit = ctx
        .skiff([
            "generate",
            "systemd",
            "--new",
            "--restart-policy=on-failure",
            "r-always",
        ])
        .ok()
        .to_string();
    assert_eq!(directive(&unit, "Restart").as_deref(), Some("on-failure"));

    // Errors as Podman's.
    ctx.skiff([
        "generate",
        "systemd",
        "--new=false",
        "--template",
        "-n",
        "r-always",
    ])
    .fails(125, "--template cannot be set");
    ctx.skiff(["generate", "systemd", "--restart-policy=sometimes", &id])
        .fails(125, "sometimes is not a valid restart policy");
    ctx.skiff(["generate", "systemd", "nope"])
        .fails(125, "nope does not refer to a container or pod");
    ctx.skiff(["pod", "create", "--name", "p"]).ok();
    ctx.skiff([
        "create", "--pod", "p", "--name", "member", "busybox", "sleep", "100",
    ])
    .ok();
    ctx.skiff(["generate", "systemd", "--new", "--template", "-n", "p"])
        .fails(125, "--template is not supported for pods");
    let units = ctx
        .skiff(["generate", "systemd", "-n", "p"])
        .ok()
        .to_string();
    assert!(units.starts_with("# pod-p.service\n"), "{units}");
    assert!(
        units.contains("Wants=container-member.service\n"),
        "{units}"
    );
    assert!(units.contains("BindsTo=pod-p.service\n"), "{units}");
    assert_eq!(
        directive(&units, "ExecStart").unwrap(),
        format!("{} pod start p", ctx.binary().display())
    );
}

#[test]
fn a_new_unit_runs_the_container_and_takes_it_away() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    ctx.skiff([
        "create",
        "--name",
        "svc",
        "--label",
        "app=web",
        "busybox",
        "sh",
        "-c",
        "echo \"ready now\"; sleep 1000",
    ])
    .ok();
    let unit = ctx
        .skiff(["generate", "systemd", "--new", "--name", "svc"])
        .ok()
        .to_string();
    verify(&ctx, "svc.service", &unit);
    assert_eq!(directive(&unit, "Type").as_deref(), Some("notify"));
    assert_eq!(directive(&unit, "NotifyAccess").as_deref(), Some("all"));
    ctx.skiff(["rm", "svc"]).ok();
    // systemd's end of the notifications.
    let (notified, notify_path) = notify_socket(&ctx, "svc.sock");
    // As systemd would: %t is the runtime directory, %n the unit's name.
    let runtime = ctx.scratch("runtime");
    let expand = |key: &str| {
        directive(&unit, key)
            .unwrap()
            .replace("%t", runtime.to_str().unwrap())
            .replace("%n", "svc.service")
    };
    let run = |key: &str| {
        let status = Command::new("sh")
            .arg("-c")
            .arg(expand(key))
            .env("NOTIFY_SOCKET", &notify_path)
            .status()
            .unwrap();
        assert!(status.success(), "{key} failed: {}", expand(key));
    };
    run("ExecStartPre");
    run("ExecStart");
    assert_eq!(
        ctx.skiff(["ps", "--format", "{{.Names}} {{.Labels.app}}"])
            .ok(),
        "svc web"
    );
    let monitor = ctx
        .skiff(["inspect", "--format", "{{.State.ConmonPid}}", "svc"])
        .ok()
        .to_string();
    assert_eq!(received(&notified), format!("MAINPID={monitor}\nREADY=1"));
    for _ in 0..50 {
        if ctx.skiff(["logs", "svc"]).ok() == "ready now" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(ctx.skiff(["logs", "svc"]).ok(), "ready now");
    // A restart of the unit replaces the container.
    run("ExecStartPre");
    run("ExecStart");
    assert_eq!(ctx.skiff(["ps", "-a", "-q"]).ok().lines().count(), 1);
    run("ExecStop");
    run("ExecStopPost");
    assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
    // Stopping again finds nothing, and says nothing.
    run("ExecStop");
    run("ExecStopPost");
}

#[test]
fn systemd_mode_and_socket_activation_reach_the_container() {
    skiff_test::in_both_modes(SKIFF, |ctx| {
        let out = ctx
            .skiff([
                "run",
                "--name",
                "sd",
                "--systemd=always",
                "busybox",
                "sh",
                "-c",
                "env | grep container_uuid; grep -c ' /run tmpfs' /proc/mounts",
            ])
            .ok()
            .to_string();
        let id = ctx
            .skiff(["inspect", "--format", "{{.ID}}", "sd"])
            .ok()
            .to_string();
        assert_eq!(out, format!("container_uuid={}\n1", &id[..32]));
        assert_eq!(
            ctx.skiff(["inspect", "--format", "{{.Config.StopSignal}}", "sd"])
                .ok(),
            "SIGRTMIN+3"
        );
        ctx.skiff(["run", "--systemd=maybe", "busybox", "true"])
            .fails(125, "--systemd \"maybe\": expected true, false or always");
        // systemd's socket activation variables pass on, LISTEN_PID the container's init.
        let env = ctx.skiff_with_env(
            &[
                ("LISTEN_PID", "100"),
                ("LISTEN_FDS", "1"),
                ("LISTEN_FDNAMES", "web"),
            ],
            &[
                "run",
                "--rm",
                "busybox",
                "sh",
                "-c",
                "env | grep ^LISTEN_ | sort",
            ],
        );
        assert_eq!(env.ok(), "LISTEN_FDNAMES=web\nLISTEN_FDS=1\nLISTEN_PID=1");
    });
}

/// A datagram socket the unit's `$NOTIFY_SOCKET` names, writable by the context's user.
fn notify_socket(ctx: &TestContext, name: &str) -> (std::os::unix::net::UnixDatagram, String) {
    use std::os::unix::fs::PermissionsExt;
    let path = ctx.scratch("notify").join(name);
    let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    (socket, path.display().to_string())
}

fn received(socket: &std::os::unix::net::UnixDatagram) -> String {
    let mut buffer = [0u8; 256];
    let n = socket.recv(&mut buffer).expect("a notification");
    String::from_utf8_lossy(&buffer[..n]).into_owned()
}

#[test]
fn sdnotify_tells_the_unit_which_process_to_watch_and_when_it_is_ready() {
    skiff_test::in_both_modes(SKIFF, |ctx| {
        let monitor_of = |name: &str| {
            ctx.skiff(["inspect", "--format", "{{.State.ConmonPid}}", name])
                .ok()
                .to_string()
        };
        // conmon: skiff says where the container runs and that it is ready.
        let (socket, path) = notify_socket(ctx, "conmon.sock");
        ctx.skiff_with_env(
            &[("NOTIFY_SOCKET", &path)],
            &[
                "run",
                "-d",
                "--sdnotify=conmon",
                "--name",
                "a",
                "busybox",
                "sleep",
                "100",
            ],
        )
        .ok();
        assert_eq!(
            received(&socket),
            format!("MAINPID={}\nREADY=1", monitor_of("a"))
        );
        // container: the socket is the container's to tell; skiff names the process only.
        let (socket, path) = notify_socket(ctx, "container.sock");
        ctx.skiff_with_env(
            &[("NOTIFY_SOCKET", &path)],
            &[
                "run",
                "-d",
                "--name",
                "b",
                "busybox",
                "sh",
                "-c",
                "test -S $NOTIFY_SOCKET && echo $NOTIFY_SOCKET; sleep 100",
            ],
        )
        .ok();
        assert_eq!(received(&socket), format!("MAINPID={}", monitor_of("b")));
        let mut logs = String::new();
        for _ in 0..50 {
            logs = ctx.skiff(["logs", "b"]).ok().to_string();
            if !logs.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert_eq!(logs, "/run/notify/notify.sock");
        // ignore: nothing is sent.
        let (socket, path) = notify_socket(ctx, "ignore.sock");
        ctx.skiff_with_env(
            &[("NOTIFY_SOCKET", &path)],
            &[
                "run",
                "-d",
                "--sdnotify=ignore",
                "--name",
                "c",
                "busybox",
                "true",
            ],
        )
        .ok();
        socket
            .set_read_timeout(Some(std::time::Duration::from_millis(300)))
            .unwrap();
        assert!(socket.recv(&mut [0u8; 16]).is_err());
        ctx.skiff(["run", "--rm", "--sdnotify=sometimes", "busybox", "true"])
            .fails(125, "--sdnotify \"sometimes\"");
        ctx.skiff(["rm", "-f", "-t", "0", "a", "b", "c"]).ok();
    });
}
