//! Container lifecycle against the real binary, as root and as an unprivileged user.
use std::time::{Duration, Instant};

use skiff_test::{Mode, TestContext};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

fn both(test: impl Fn(&TestContext)) {
    skiff_test::in_both_modes(SKIFF, test);
}

#[test]
fn run_prints_output_and_returns_the_exit_code() {
    both(|ctx| {
        assert_eq!(
            ctx.skiff(["run", "--rm", "localhost/busybox", "echo", "hello"])
                .ok(),
            "hello"
        );
        let failed = ctx.skiff([
            "run",
            "--rm",
            "localhost/busybox",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ]);
        assert_eq!(
            (failed.code, failed.stdout.as_str(), failed.stderr.as_str()),
            (3, "out\n", "err\n")
        );
        // --rm left nothing behind, by the time `run` returned.
        assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
        assert_no_container_files(ctx);
    });
}

/// No container directory in the graph root, the run root or the runtime's state; and soon
/// after, nothing in the trash the removal moved them to.
fn assert_no_container_files(ctx: &TestContext) {
    let entries = |dir: &std::path::Path| -> Vec<_> {
        std::fs::read_dir(dir)
            .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default()
    };
    for dir in [
        ctx.root().join("containers"),
        ctx.runroot().join("containers"),
        ctx.runroot().join("runtime/embedded"),
    ] {
        let left = entries(&dir);
        assert!(left.is_empty(), "{}: {left:?}", dir.display());
    }
    wait_for(|| {
        entries(&ctx.root().join("trash")).is_empty()
            && entries(&ctx.runroot().join("trash")).is_empty()
    });
}

#[test]
fn a_killed_attached_run_leaves_the_cleanup_to_the_monitor() {
    both(|ctx| {
        let mut client = ctx
            .command(["run", "--rm", "--name", "short", "busybox", "sleep", "2"])
            .spawn()
            .unwrap();
        wait_for(|| ctx.skiff(["ps", "--format", "{{.Names}}"]).stdout.trim() == "short");
        let monitor = ctx
            .skiff(["inspect", "--format", "{{.State.ConmonPid}}", "short"])
            .ok()
            .to_string();
        // The `skiff` that started the container is the monitor's parent while it waits.
        let stat = std::fs::read_to_string(format!("/proc/{monitor}/stat")).unwrap();
        let starter: i32 = stat
            .rsplit(") ")
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        kill(starter, 9);
        let _ = client.wait();
        // The container runs to its end; then the monitor's own cleanup removes it.
        assert_eq!(ctx.skiff(["ps", "--format", "{{.Names}}"]).ok(), "short");
        wait_for(|| ctx.skiff(["ps", "-aq"]).stdout.trim().is_empty());
        assert_no_container_files(ctx);
    });
}

#[test]
fn programs_that_cannot_run_get_podman_exit_codes() {
    both(|ctx| {
        ctx.skiff(["run", "--rm", "busybox", "nosuchcommand"])
            .fails(127, "nosuchcommand");
        ctx.skiff(["run", "--rm", "busybox", "/etc/passwd"])
            .fails(126, "permission denied");
        assert_eq!(
            ctx.skiff(["ps", "-aq"]).ok(),
            "",
            "--rm removes a container that could not start"
        );
        // Nor is its cgroup left (made by the starting skiff ahead of the runtime, as root).
        let id = ctx
            .skiff(["create", "--name", "bad", "busybox", "nosuchcommand"])
            .ok()
            .to_string();
        ctx.skiff(["start", "bad"]).fails(125, "nosuchcommand"); // Podman: start is 125
        let hierarchies = std::fs::read_dir("/sys/fs/cgroup").unwrap();
        for hierarchy in hierarchies.flatten() {
            let cgroup = hierarchy.path().join("skiff").join(&id);
            assert!(!cgroup.exists(), "{} is left", cgroup.display());
        }
    });
}

#[test]
fn detached_lifecycle_ps_logs_stop_start_kill_wait_rm() {
    both(|ctx| {
        let started = Instant::now();
        let id = ctx
            .skiff([
                "run",
                "-d",
                "--name",
                "web",
                "busybox",
                "sh",
                "-c",
                "for i in 1 2 3 4 5 6; do echo line $i; done; exec sleep 1000",
            ])
            .ok()
            .to_string();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "-d must return at once"
        );
        assert_eq!(id.len(), 64);
        let listed = ctx.skiff(["ps", "--format", "{{.ID}} {{.Names}} {{.Status}}"]);
        assert!(
            listed.ok().starts_with(&format!("{} web Up", &id[..12])),
            "{}",
            listed.stdout
        );
        assert_eq!(ctx.skiff(["ps", "-q"]).ok(), &id[..12]);
        let json: serde_json::Value =
            serde_json::from_str(ctx.skiff(["ps", "--format", "json"]).ok()).unwrap();
        assert_eq!(json[0]["Id"], id.as_str());
        assert_eq!(json[0]["State"], "running");
        assert_eq!(json[0]["Names"][0], "web");

        wait_for(|| ctx.skiff(["logs", "web"]).stdout.contains("line 6"));
        assert_eq!(
            ctx.skiff(["logs", "--tail", "2", "web"]).ok(),
            "line 5\nline 6"
        );
        let pid: i32 = ctx
            .skiff(["inspect", "--format", "{{.State.Pid}}", "web"])
            .ok()
            .parse()
            .unwrap();
        assert!(pid > 0 && std::path::Path::new(&format!("/proc/{pid}")).exists());

        assert_eq!(ctx.skiff(["stop", "-t", "1", "web"]).ok(), "web");
        assert!(
            std::fs::metadata(format!("/proc/{pid}")).is_err(),
            "container process is gone"
        );
        let status = ctx.skiff(["ps", "-a", "--format", "{{.Status}}"]);
        assert!(status.ok().starts_with("Exited (137)"), "{}", status.stdout);
        assert_eq!(ctx.skiff(["ps", "-q"]).ok(), "");

        assert_eq!(ctx.skiff(["start", "web"]).ok(), "web");
        assert_eq!(
            ctx.skiff(["inspect", "--format", "{{.State.Status}}", "web"])
                .ok(),
            "running"
        );
        assert_eq!(ctx.skiff(["restart", "-t", "0", "web"]).ok(), id);
        assert_eq!(ctx.skiff(["kill", "-s", "KILL", "web"]).ok(), "web");
        assert_eq!(ctx.skiff(["wait", "web"]).ok(), "137");
        ctx.skiff(["rm", "web"]).ok();
        ctx.skiff(["inspect", "web"]).fails(125, "no such object");
    });
}

#[test]
fn logs_follow_streams_until_the_container_exits() {
    both(|ctx| {
        ctx.skiff([
            "run",
            "-d",
            "--name",
            "talker",
            "busybox",
            "sh",
            "-c",
            "for i in 1 2 3 4 5 6 7 8; do echo $i; sleep 0.1; done",
        ])
        .ok();
        let followed = ctx.skiff(["logs", "-f", "--tail", "5", "talker"]);
        let lines: Vec<&str> = followed.ok().lines().collect();
        assert_eq!(lines.last(), Some(&"8"), "{lines:?}");
        assert!(lines.len() >= 5);
        assert_eq!(ctx.skiff(["wait", "talker"]).ok(), "0");
    });
}

#[test]
fn rm_refuses_running_containers_and_force_removes_them() {
    both(|ctx| {
        ctx.skiff(["run", "-d", "--name", "busy", "busybox", "sleep", "1000"])
            .ok();
        ctx.skiff(["rm", "busy"])
            .fails(2, "container state improper");
        ctx.skiff(["rm", "nosuch"]).fails(1, "no such container");
        ctx.skiff(["run", "-d", "busybox", "sleep", "1000"]).ok();
        ctx.skiff(["create", "busybox", "true"]).ok();
        let ids = ctx
            .skiff(["ps", "-aq"])
            .ok()
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>();
        assert_eq!(ids.len(), 3);
        let mut args = vec!["rm".to_string(), "-f".to_string()];
        args.extend(ids);
        ctx.skiff(&args).ok();
        assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
        let left = std::fs::read_dir(ctx.root().join("containers"))
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(left, 0, "container directories were removed");
    });
}

#[test]
fn names_are_unique_and_errors_change_nothing() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    ctx.skiff(["create", "--name", "one", "busybox", "true"])
        .ok();
    ctx.skiff(["create", "--name", "one", "busybox", "true"])
        .fails(125, "already in use");
    ctx.skiff(["create", "--name", "bad name", "busybox", "true"])
        .fails(125, "invalid container name");
    ctx.skiff(["run", "--bogus-flag", "busybox"])
        .fails(125, "--bogus-flag");
    ctx.skiff(["run", "-v", "not/a/name:/x", "busybox", "true"])
        .fails(125, "invalid volume");
    ctx.skiff(["run", "--cap-add", "NOPE", "busybox", "true"])
        .fails(125, "unknown capability");
    ctx.skiff(["run", "--network", "bridge0", "busybox", "true"])
        .fails(
            125,
            "unable to find network with name or ID bridge0: network not found",
        );
    ctx.skiff(["stop", "ghost"]).fails(125, "no such container");
    ctx.skiff(["logs", "ghost"]).fails(125, "no such container");
    assert_eq!(
        ctx.skiff(["ps", "-a", "--format", "{{.Names}}"]).ok(),
        "one"
    );
    ctx.skiff(["container", "exists", "one"]).ok();
    ctx.skiff(["kill", "one"])
        .fails(125, "container state improper");
    let missing = ctx.skiff(["container", "exists", "two"]);
    assert_eq!((missing.code, missing.stderr.as_str()), (1, ""));
}

#[test]
fn create_then_start_and_prune() {
    both(|ctx| {
        let id = ctx
            .skiff(["create", "--name", "later", "busybox", "echo", "created"])
            .ok()
            .to_string();
        assert_eq!(
            ctx.skiff(["ps", "-a", "--format", "{{.Status}}"]).ok(),
            "Created"
        );
        ctx.skiff(["start", "later"]).ok();
        assert_eq!(ctx.skiff(["wait", "later"]).ok(), "0");
        assert_eq!(ctx.skiff(["logs", "later"]).ok(), "created");
        assert_eq!(ctx.skiff(["container", "prune", "-f"]).ok(), id);
        assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
    });
}

#[test]
fn run_flags_shape_the_container() {
    both(|ctx| {
        let out = ctx.skiff([
            "run",
            "--rm",
            "-e",
            "A=1",
            "--env",
            "B=two words",
            "-w",
            "/tmp",
            "--hostname",
            "box",
            "busybox",
            "sh",
            "-c",
            "echo $A $B $(pwd) $(hostname)",
        ]);
        assert_eq!(out.ok(), "1 two words /tmp box");
        let env_file = ctx.dir.join("env");
        std::fs::write(&env_file, "# comment\nFROM_FILE=yes\n").unwrap();
        ctx.chown(&env_file);
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "--env-file",
                env_file.to_str().unwrap(),
                "busybox",
                "sh",
                "-c",
                "echo $FROM_FILE"
            ])
            .ok(),
            "yes"
        );
        assert_eq!(
            ctx.skiff(["run", "--rm", "-u", "tester", "busybox", "id", "-u"])
                .ok(),
            "1000"
        );
        assert_eq!(
            ctx.skiff(["run", "--rm", "-u", "1234:10", "busybox", "id"])
                .ok(),
            "uid=1234 gid=10(wheel)"
        );
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "--entrypoint",
                "/bin/echo",
                "busybox",
                "via",
                "entrypoint"
            ])
            .ok(),
            "via entrypoint"
        );
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "-l",
                "team=core",
                "--name",
                "labelled",
                "busybox",
                "true"
            ])
            .code,
            0
        );

        let data = ctx.scratch("data");
        std::fs::write(data.join("in.txt"), "from host").unwrap();
        ctx.chown(&data.join("in.txt"));
        let volume = format!("{}:/data", data.display());
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "-v",
                &volume,
                "busybox",
                "sh",
                "-c",
                "cat /data/in.txt; echo back > /data/out.txt"
            ])
            .ok(),
            "from host"
        );
        assert_eq!(
            std::fs::read_to_string(data.join("out.txt")).unwrap(),
            "back\n"
        );
        let read_only = format!("{}:/data:ro", data.display());
        ctx.skiff([
            "run", "--rm", "-v", &read_only, "busybox", "touch", "/data/x",
        ])
        .fails(1, "Read-only file system");

        ctx.skiff(["run", "--rm", "--read-only", "busybox", "touch", "/x"])
            .fails(1, "Read-only file system");
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "--read-only",
                "--tmpfs",
                "/scratch",
                "busybox",
                "sh",
                "-c",
                "touch /scratch/x && echo ok"
            ])
            .ok(),
            "ok"
        );
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "--network",
                "none",
                "busybox",
                "sh",
                "-c",
                "ls /sys/class/net"
            ])
            .ok(),
            "lo"
        );
    });
}

#[test]
fn defaults_are_as_strict_as_podman() {
    both(|ctx| {
        // 11 capabilities: CapBnd has exactly Podman's default set.
        let caps = ctx.skiff([
            "run",
            "--rm",
            "busybox",
            "grep",
            "CapBnd",
            "/proc/self/status",
        ]);
        assert_eq!(caps.ok(), "CapBnd:\t00000000800405fb");
        let dropped = ctx.skiff([
            "run",
            "--rm",
            "--cap-drop",
            "all",
            "busybox",
            "grep",
            "CapEff",
            "/proc/self/status",
        ]);
        assert_eq!(dropped.ok(), "CapEff:\t0000000000000000");
        let added = ctx.skiff([
            "run",
            "--rm",
            "--cap-add",
            "NET_ADMIN",
            "busybox",
            "grep",
            "CapEff",
            "/proc/self/status",
        ]);
        assert_eq!(added.ok(), "CapEff:\t00000000800415fb");
        // masked paths read empty (those this kernel has), read-only paths refuse writes
        for masked in [
            "/proc/keys",
            "/proc/timer_list",
            "/proc/kcore",
            "/proc/sched_debug",
        ] {
            if std::path::Path::new(masked).exists() {
                let script = format!("wc -c < {masked}");
                assert_eq!(
                    ctx.skiff(["run", "--rm", "busybox", "sh", "-c", &script])
                        .ok(),
                    "0",
                    "{masked}"
                );
            }
        }
        assert_eq!(
            ctx.skiff(["run", "--rm", "busybox", "ls", "/proc/acpi"])
                .ok(),
            "",
            "/proc/acpi is masked"
        );
        assert_ne!(
            ctx.skiff([
                "run",
                "--rm",
                "--privileged",
                "busybox",
                "sh",
                "-c",
                "wc -c < /proc/keys"
            ])
            .ok(),
            "0"
        );
        ctx.skiff([
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo 1 > /proc/sys/kernel/domainname",
        ])
        .fails(1, "Read-only file system");
        // As root, --privileged gives the host's device nodes (no consoles in systemd mode).
        if ctx.mode == Mode::Root && std::path::Path::new("/dev/tty1").exists() {
            let ttys = |systemd: &str| {
                ctx.skiff([
                    "run",
                    "--rm",
                    "--privileged",
                    "--systemd",
                    systemd,
                    "busybox",
                    "sh",
                    "-c",
                    "ls /dev/tty*",
                ])
                .ok()
                .to_string()
            };
            assert!(ttys("false").contains("/dev/tty1"));
            assert_eq!(ttys("always"), "/dev/tty");
        }
        // /etc/mtab lists the container's mounts, and is no change of the container's.
        ctx.skiff([
            "run",
            "--name",
            "mtab",
            "busybox",
            "grep",
            "-q",
            " /proc proc ",
            "/etc/mtab",
        ])
        .ok();
        assert_eq!(ctx.skiff(["diff", "mtab"]).ok(), "");
        ctx.skiff(["rm", "mtab"]).ok();
        // a fresh /dev with the standard nodes, generated /etc files
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "busybox",
                "sh",
                "-c",
                "ls /dev/null /dev/zero /dev/random /dev/urandom /dev/tty /dev/full | wc -l"
            ])
            .ok(),
            "6"
        );
        let hosts = ctx.skiff([
            "run",
            "--rm",
            "--name",
            "named",
            "busybox",
            "cat",
            "/etc/hosts",
        ]);
        assert!(hosts.ok().contains("named"), "{}", hosts.stdout);
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "--hostname",
                "h1",
                "busybox",
                "cat",
                "/etc/hostname"
            ])
            .ok(),
            "h1"
        );
        // not running as the host's init: a private PID namespace
        assert_eq!(
            ctx.skiff(["run", "--rm", "busybox", "sh", "-c", "echo $$"])
                .ok(),
            "1"
        );
    });
}

#[test]
fn seccomp_is_enforced() {
    both(|ctx| {
        // The default profile denies unshare without CAP_SYS_ADMIN, even though creating a
        // user namespace needs no capability: only seccomp can refuse it.
        ctx.skiff(["run", "--rm", "busybox", "unshare", "-U", "true"])
            .fails(1, "Operation not permitted");
        ctx.skiff([
            "run",
            "--rm",
            "--security-opt",
            "seccomp=unconfined",
            "busybox",
            "unshare",
            "-U",
            "true",
        ])
        .ok();
        // A custom profile denying mkdir: the call fails only when the profile is loaded.
        let profile = ctx.dir.join("deny-mkdir.json");
        std::fs::write(&profile, r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#).unwrap();
        ctx.chown(&profile);
        let opt = format!("seccomp={}", profile.display());
        ctx.skiff([
            "run",
            "--rm",
            "--security-opt",
            &opt,
            "busybox",
            "mkdir",
            "/tmp/d",
        ])
        .fails(1, "Operation not permitted");
        ctx.skiff(["run", "--rm", "busybox", "mkdir", "/tmp/d"])
            .ok();
        // The default profile was compiled once and cached; the denial above came from the
        // cached program (an earlier run in this context compiled it).
        let cache = ctx.runroot().join("runtime/seccomp-cache");
        let compiled = std::fs::read_dir(&cache)
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "bpf"))
            .count();
        assert_eq!(
            compiled, 2,
            "one program for the default profile, one for the custom one"
        );
        let no_new_privileges = ctx.skiff([
            "run",
            "--rm",
            "--security-opt",
            "no-new-privileges",
            "busybox",
            "grep",
            "NoNewPrivs",
            "/proc/self/status",
        ]);
        assert_eq!(no_new_privileges.ok(), "NoNewPrivs:\t1");
        ctx.skiff([
            "run",
            "--rm",
            "--security-opt",
            "seccomp=/nonexistent.json",
            "busybox",
            "true",
        ])
        .fails(125, "/nonexistent.json");
    });
}

#[test]
fn stdin_is_passed_with_interactive() {
    both(|ctx| {
        let out =
            ctx.skiff_with_input(&["run", "-i", "--rm", "busybox", "cat"], b"hi from stdin\n");
        assert_eq!(out.ok(), "hi from stdin");
        let closed = ctx.skiff_with_input(&["run", "--rm", "busybox", "cat"], b"ignored\n");
        assert_eq!(
            closed.ok(),
            "",
            "without -i the container's stdin is /dev/null"
        );
    });
}

#[test]
fn stop_signal_and_timeout_are_honoured() {
    both(|ctx| {
        // The shell traps TERM and exits 7: stop must use the given signal and return fast.
        ctx.skiff([
            "run",
            "-d",
            "--name",
            "trap",
            "--stop-signal",
            "USR1",
            "busybox",
            "sh",
            "-c",
            "trap 'exit 7' USR1; while true; do sleep 0.1; done",
        ])
        .ok();
        std::thread::sleep(Duration::from_millis(300));
        let started = Instant::now();
        ctx.skiff(["stop", "-t", "10", "trap"]).ok();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(
            ctx.skiff(["inspect", "--format", "{{.State.ExitCode}}", "trap"])
                .ok(),
            "7"
        );
    });
}

#[test]
fn info_and_version() {
    let ctx = TestContext::new(SKIFF, Mode::Root);
    let info: serde_json::Value =
        serde_json::from_str(ctx.skiff(["info", "--format", "json"]).ok()).unwrap();
    assert_eq!(info["store"]["graphRoot"], ctx.root().to_str().unwrap());
    assert!(ctx.skiff(["info"]).ok().contains("graphDriverName"));
    // Templates name Podman's Go fields, JSON its keys (what Podman's helpers read).
    assert_eq!(
        ctx.skiff([
            "info",
            "--format",
            "{{.Host.OCIRuntime.Name}} {{.Store.RunRoot}} {{.Store.GraphOptions}} {{.Host.Security.Rootless}} {{.Store.ImageStore.Number}}"
        ])
        .ok(),
        format!("skiff {} map[] false 0", ctx.runroot().display())
    );
    assert!(
        matches!(info["host"]["cgroupVersion"].as_str(), Some("v1" | "v2")),
        "{info}"
    );
    assert!(
        info["host"]["conmon"]["path"]
            .as_str()
            .unwrap()
            .ends_with("skiff-monitor")
    );
    assert_eq!(
        ctx.skiff(["version", "--format", "{{.Server.Version}}"])
            .ok(),
        env!("CARGO_PKG_VERSION")
    );
    assert!(ctx.skiff(["version"]).ok().contains("Version:"));
    assert_eq!(
        ctx.skiff(["version", "--format", "{{.Client.Os}}"]).ok(),
        "linux"
    );
}

fn wait_for(mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "condition not met in 10s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn init_runs_as_pid_one_and_reaps() {
    both(|ctx| {
        let out = ctx.skiff([
            "run",
            "--rm",
            "--init",
            "busybox",
            "sh",
            "-c",
            "cat /proc/1/comm; echo $$",
        ]);
        let lines: Vec<&str> = out.ok().lines().collect();
        assert_eq!(lines, vec!["podman-init", "2"]);
    });
}

#[test]
fn an_external_oci_runtime_can_run_containers() {
    // runc is installed by tests/setup.sh; rootless runc on cgroup v1 is covered by Podman's own
    // use of it, so root is what is checked here.
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let out = ctx.skiff([
        "--runtime",
        "runc",
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo via runc; exit 4",
    ]);
    assert_eq!((out.code, out.stdout.as_str()), (4, "via runc\n"));
    ctx.skiff([
        "--runtime",
        "runc",
        "run",
        "-d",
        "--name",
        "r",
        "busybox",
        "sleep",
        "100",
    ])
    .ok();
    assert_eq!(
        ctx.skiff(["ps", "--format", "{{.Names}} {{.State}}"]).ok(),
        "r running"
    );
    ctx.skiff(["rm", "-f", "r"]).ok();
    ctx.skiff([
        "--runtime",
        "/nonexistent/runtime",
        "run",
        "busybox",
        "true",
    ])
    .fails(125, "/nonexistent/runtime");
    assert_eq!(
        ctx.skiff(["ps", "-aq"]).ok(),
        "",
        "a bad runtime is refused before anything is created"
    );
}

#[test]
fn resource_limits_apply_as_root_and_warn_rootless_without_cgroups() {
    both(|ctx| {
        let out = ctx.skiff([
            "run",
            "--rm",
            "--pids-limit",
            "64",
            "--memory",
            "64m",
            "busybox",
            "true",
        ]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let expect_warning = ctx.mode == Mode::Rootless
            && !std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
        assert_eq!(
            out.stderr.contains("Resource limits are not supported"),
            expect_warning,
            "{}",
            out.stderr
        );
        if ctx.mode == Mode::Root {
            // The limit is applied in the container's cgroup (v1 pids controller here, or v2).
            let limit = ctx.skiff([
                "run",
                "--rm",
                "--pids-limit",
                "64",
                "busybox",
                "sh",
                "-c",
                "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max",
            ]);
            assert_eq!(limit.ok(), "64");
        }
    });
}

#[test]
fn a_killed_monitor_does_not_make_ps_lie() {
    both(|ctx| {
        ctx.skiff(["run", "-d", "--name", "orphan", "busybox", "sleep", "1000"])
            .ok();
        let inspect = ctx.skiff([
            "inspect",
            "--format",
            "{{.State.Pid}} {{.State.ConmonPid}}",
            "orphan",
        ]);
        let pids: Vec<i32> = inspect
            .ok()
            .split(' ')
            .map(|p| p.parse().unwrap())
            .collect();
        kill(pids[1], 9);
        std::thread::sleep(Duration::from_millis(100));
        // The container still runs: ps says so.
        assert_eq!(ctx.skiff(["ps", "--format", "{{.State}}"]).ok(), "running");
        kill(pids[0], 9);
        wait_for(|| {
            ctx.skiff(["ps", "-a", "--format", "{{.State}}"])
                .stdout
                .trim()
                == "exited"
        });
        let id = ctx
            .skiff(["inspect", "--format", "{{.Id}}", "orphan"])
            .ok()
            .to_string();
        ctx.skiff(["rm", "orphan"]).ok();
        // With nobody left to clean up after the exit, rm removes the runtime's state too.
        assert!(!ctx.runroot().join("runtime/embedded").join(&id).exists());
        if ctx.mode == Mode::Root && std::path::Path::new("/sys/fs/cgroup/pids").is_dir() {
            assert!(
                !std::path::Path::new("/sys/fs/cgroup/pids/skiff")
                    .join(&id)
                    .exists()
            );
        }
    });
}

fn kill(pid: i32, signal: i32) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn output_without_a_final_newline_is_not_lost() {
    both(|ctx| {
        let out = ctx.skiff(["run", "--rm", "busybox", "printf", "no newline"]);
        assert_eq!(out.stdout, "no newline");
        ctx.skiff(["run", "--name", "partial", "busybox", "printf", "partial"])
            .ok();
        assert_eq!(ctx.skiff(["logs", "partial"]).stdout, "partial");
    });
}

#[test]
fn the_vfs_driver_runs_containers_too() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode);
        let with_vfs = |args: &[&str]| {
            let mut all = vec!["--storage-driver", "vfs"];
            all.extend_from_slice(args);
            ctx.skiff(&all)
        };
        let tarball = skiff_test::busybox_tarball();
        let copy = ctx.dir.join("image.tar");
        std::fs::copy(tarball, &copy).unwrap();
        ctx.chown(&copy);
        with_vfs(&["import", copy.to_str().unwrap(), "busybox"]).ok();
        assert_eq!(
            with_vfs(&["info", "--format", "{{.Store.GraphDriverName}}"]).ok(),
            "vfs"
        );
        with_vfs(&[
            "run",
            "--name",
            "v",
            "busybox",
            "sh",
            "-c",
            "echo changed > /etc/motd; rm /bin/vi",
        ])
        .ok();
        // The container's changes live in its own copy, not in the image.
        assert!(ctx.root().join("containers").read_dir().unwrap().count() == 1);
        with_vfs(&["start", "v"]).ok();
        with_vfs(&["wait", "v"]).ok();
        assert_eq!(
            with_vfs(&[
                "run",
                "--rm",
                "busybox",
                "sh",
                "-c",
                "test -e /bin/vi && test ! -e /etc/motd && echo pristine"
            ])
            .ok(),
            "pristine"
        );
        with_vfs(&["rm", "v"]).ok();
    }
}

#[test]
fn host_network_pull_never_and_stop_timeout() {
    both(|ctx| {
        // The same network namespace as the host's (interfaces come and go as other tests
        // run, so counting them would race).
        let host_namespace = std::fs::read_link("/proc/self/ns/net").unwrap();
        let seen = ctx.skiff([
            "run",
            "--rm",
            "--network",
            "host",
            "busybox",
            "readlink",
            "/proc/self/ns/net",
        ]);
        assert_eq!(seen.ok(), host_namespace.to_string_lossy());
        assert_eq!(
            ctx.skiff(["run", "--rm", "--pull", "never", "busybox", "true"])
                .code,
            0
        );
        ctx.skiff(["run", "--rm", "--pull", "never", "localhost/absent", "true"])
            .fails(125, "image not known");
        // `always` goes to a registry even when the image is local; none is configured here.
        ctx.skiff(["run", "--rm", "--pull", "always", "busybox", "true"])
            .fails(125, "short-name \"busybox\"");
        // --stop-timeout is the default for stop: the shell ignores TERM as PID 1, so stop must
        // fall back to KILL after about a second, not ten.
        ctx.skiff([
            "run",
            "-d",
            "--name",
            "slow",
            "--stop-timeout",
            "1",
            "busybox",
            "sleep",
            "1000",
        ])
        .ok();
        let started = Instant::now();
        ctx.skiff(["stop", "slow"]).ok();
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(6),
            "{took:?}"
        );
    });
}

#[test]
fn a_user_without_subordinate_ids_is_warned_and_foreign_owners_fail_clearly() {
    let ctx = TestContext::new(SKIFF, Mode::Rootless);
    let copy = ctx.dir.join("image.tar");
    std::fs::copy(skiff_test::busybox_tarball(), &copy).unwrap();
    ctx.chown(&copy);
    // USER names nobody in /etc/subuid and the uid is not listed numerically either.
    let mut command = ctx.command_with_env(
        &[("USER", "no-such-subuid-user")],
        ["import", copy.to_str().unwrap(), "busybox"],
    );
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("no subuid/subgid ranges"), "{stderr}");
    assert!(
        stderr.contains("home/tester") && stderr.contains("not mapped"),
        "{stderr}"
    );
}

#[test]
fn ps_filters_select_containers_like_podman() {
    both(|ctx| {
        ctx.skiff([
            "run", "-d", "--name", "web1", "-l", "app=web", "busybox", "sleep", "1000",
        ])
        .ok();
        ctx.skiff(["run", "--name", "failed", "busybox", "sh", "-c", "exit 2"]);
        ctx.skiff(["create", "--name", "fresh", "-l", "app", "busybox", "true"])
            .ok();
        let names = |filters: &[&str]| {
            let mut args = vec!["ps", "--format", "{{.Names}}"];
            for filter in filters {
                args.extend(["--filter", filter]);
            }
            let out = ctx.skiff(&args);
            let mut names: Vec<String> = out.ok().lines().map(str::to_string).collect();
            names.sort();
            names.join(" ")
        };
        assert_eq!(
            names(&["status=exited"]),
            "failed",
            "a status filter implies --all"
        );
        assert_eq!(names(&["status=exited", "status=created"]), "failed fresh");
        assert_eq!(names(&["exited=2"]), "failed");
        assert_eq!(names(&["label=app=web"]), "web1");
        assert_eq!(names(&["label=app", "status=created"]), "fresh");
        assert_eq!(names(&["name=web"]), "web1");
        assert_eq!(names(&["ancestor=busybox", "status=running"]), "web1");
        ctx.skiff(["ps", "--filter", "color=red"])
            .fails(125, "color");
        ctx.skiff(["rm", "-f", "web1"]).ok();
    });
}

/// `--userns keep-id` (rootless): the user's own IDs are the same inside, the process runs as
/// them with the user's passwd entry, the user's bind-mounted files are theirs inside, and
/// exec and a restart keep all that; root is refused as by Podman. `--uidmap` maps as given
/// (root: host IDs; rootless: those of skiff's namespace); maps that leave the image's owner
/// out, as nomap does, are refused with the reason.
#[test]
fn userns_keep_id_and_id_maps() {
    both(|ctx| {
        let run = |args: &[&str]| {
            let mut all = vec!["run", "--rm"];
            all.extend_from_slice(args);
            ctx.skiff(all)
        };
        ctx.skiff([
            "run",
            "--rm",
            "--userns=keep-id",
            "--uidmap=0:0:1",
            "localhost/busybox",
        ])
        .fails(125, "--userns and --uidmap/--gidmap are mutually exclusive");
        run(&["--userns=sideways", "localhost/busybox", "true"]).fails(125, "sideways");
        if ctx.mode == Mode::Root {
            run(&["--userns=keep-id", "localhost/busybox", "id"])
                .fails(125, "keep-id is only supported in rootless mode");
            run(&["--userns=nomap", "localhost/busybox", "id"])
                .fails(125, "nomap is only supported in rootless mode");
            // Root stays root (the image's owner); the rest are host IDs 100000 and up.
            let mapped = run(&[
                "--uidmap=0:0:1",
                "--uidmap=1:100000:65536",
                "localhost/busybox",
                "sh",
                "-c",
                "cat /proc/self/uid_map /proc/self/gid_map; touch /etc/written && echo written",
            ]);
            let words: Vec<&str> = mapped.ok().split_whitespace().collect();
            assert_eq!(
                words,
                [
                    "0", "0", "1", "1", "100000", "65536", "0", "0", "1", "1", "100000", "65536",
                    "written"
                ]
            );
            return;
        }
        let (uid, gid) = ctx.owner();
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
        let entry: Vec<&str> = passwd
            .lines()
            .map(|line| line.split(':').collect::<Vec<_>>())
            .find(|fields| fields[2] == uid.to_string())
            .expect("the test user's passwd entry");
        let mine = ctx.scratch("mine");
        std::fs::write(mine.join("file"), "ours\n").unwrap();
        ctx.chown(&mine.join("file"));
        let volume = format!("{}:/mine", mine.display());
        let inside = run(&[
            "--userns=keep-id",
            "-v",
            &volume,
            "localhost/busybox",
            "sh",
            "-c",
            "id -u; id -g; whoami; echo $HOME; stat -c %u /mine/file; echo more >> /mine/file; touch /tmp/t && echo tmp",
        ]);
        assert_eq!(
            inside.ok(),
            format!("{uid}\n{gid}\n{}\n{}\n{uid}\ntmp", entry[0], entry[5])
        );
        assert_eq!(
            std::fs::read_to_string(mine.join("file")).unwrap(),
            "ours\nmore\n"
        );
        // keep-id:uid=,gid= puts the user's own IDs elsewhere inside; the rest surround them.
        let maps = run(&[
            "--userns=keep-id:uid=200,gid=210",
            "localhost/busybox",
            "sh",
            "-c",
            "id -u; id -g; cat /proc/self/uid_map",
        ]);
        let words: Vec<&str> = maps.ok().split_whitespace().collect();
        assert_eq!(words[..8], ["200", "210", "0", "1", "200", "200", "0", "1"]);
        let id = ctx
            .skiff([
                "run",
                "-d",
                "--userns=keep-id",
                "localhost/busybox",
                "sleep",
                "60",
            ])
            .ok()
            .to_string();
        let exec_id = |args: &[&str]| {
            let mut all = vec!["exec"];
            all.extend_from_slice(args);
            all.extend_from_slice(&[&id, "id", "-u"]);
            ctx.skiff(all).ok().to_string()
        };
        assert_eq!(exec_id(&[]), uid.to_string());
        assert_eq!(exec_id(&["-u", "0"]), "0");
        assert_eq!(
            ctx.skiff(["inspect", "--format", "{{.HostConfig.UsernsMode}}", &id])
                .ok(),
            "keep-id"
        );
        ctx.skiff(["restart", "-t", "0", &id]).ok();
        assert_eq!(exec_id(&[]), uid.to_string());
        ctx.skiff(["rm", "-f", "-t", "0", &id]).ok();
        run(&["--userns=nomap", "localhost/busybox", "id"])
            .fails(125, "skiff does not copy images with shifted owners");
        run(&["--uidmap=0:1:5000", "localhost/busybox", "id"]).fails(125, "without HOST_ID 0");
        // With HOST_ID 0: the user is root inside, the next 5000 IDs follow.
        let mapped = run(&[
            "--uidmap=0:0:1",
            "--uidmap=1:1:5000",
            "localhost/busybox",
            "cat",
            "/proc/self/uid_map",
        ]);
        let words: Vec<&str> = mapped.ok().split_whitespace().collect();
        assert_eq!(words, ["0", "0", "1", "1", "1", "5000"]);
    });
}

/// `--rootfs PATH`: a directory of the host's is the container's root filesystem, changed in
/// place; with `PATH:O` the changes go to an overlay that goes with the container. Removing
/// either leaves the directory; commit and diff say why they cannot; a relative or missing
/// path is refused.
#[test]
fn rootfs_runs_a_directory_of_the_hosts() {
    both(|ctx| {
        let rootfs = ctx.scratch("rootfs");
        let tarball = ctx.dir.join("rootfs.tar");
        std::fs::copy(skiff_test::busybox_tarball(), &tarball).unwrap();
        ctx.chown(&tarball);
        let unpacked = ctx
            .user_command("tar", &[])
            .arg("-xf")
            .arg(&tarball)
            .arg("-C")
            .arg(&rootfs)
            .status()
            .unwrap();
        assert!(unpacked.success());
        let path = rootfs.display().to_string();
        let overlay = format!("{path}:O");
        assert_eq!(
            ctx.skiff([
                "run",
                "--name",
                "inplace",
                "--rootfs",
                &path,
                "sh",
                "-c",
                "id -u; echo here > /marker"
            ])
            .ok(),
            "0"
        );
        assert_eq!(
            std::fs::read_to_string(rootfs.join("marker")).unwrap(),
            "here\n"
        );
        assert_eq!(
            ctx.skiff([
                "inspect",
                "--format",
                "{{.Rootfs}}|{{.ImageName}}",
                "inplace"
            ])
            .ok(),
            format!("{path}|")
        );
        assert_eq!(
            ctx.skiff([
                "run",
                "--name",
                "layered",
                "--rootfs",
                &overlay,
                "sh",
                "-c",
                "cat /marker; echo mine > /own"
            ])
            .ok(),
            "here"
        );
        assert!(
            !rootfs.join("own").exists(),
            "the overlay keeps its changes"
        );
        assert_eq!(ctx.skiff(["start", "-a", "layered"]).ok(), "here");
        // Another container's overlay is its own.
        ctx.skiff(["run", "--rm", "--rootfs", &overlay, "cat", "/own"])
            .fails(1, "can't open '/own'");
        ctx.skiff(["commit", "layered", "nope"])
            .fails(125, "created with --rootfs");
        ctx.skiff(["diff", "inplace"])
            .fails(125, "changes its --rootfs directory itself");
        ctx.skiff(["rm", "inplace", "layered"]).ok();
        assert!(rootfs.join("bin/busybox").exists() && rootfs.join("marker").exists());
        ctx.skiff(["run", "--rm", "--rootfs", "relative/dir", "true"])
            .fails(125, "must be an absolute path");
        ctx.skiff(["run", "--rm", "--rootfs", "/nonexistent/rootfs", "true"])
            .fails(125, "--rootfs /nonexistent/rootfs: no such directory");
        ctx.skiff(["run", "--rm", "--rootfs", &path])
            .fails(125, "no command or entrypoint provided");
    });
}

/// `stop A B` tells every container before it waits for any, as Podman stops them: here A
/// exits on its own only once B has had its stop signal, so a stop that waited for A first
/// would have to kill it.
#[test]
fn stop_signals_all_containers_before_waiting() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let shared = ctx.scratch("shared");
    let volume = format!("{}:/shared", shared.display());
    let run = |name: &str, script: &str| {
        ctx.skiff([
            "run",
            "-d",
            "--name",
            name,
            "-v",
            &volume,
            "localhost/busybox",
            "sh",
            "-c",
            script,
        ])
        .ok();
    };
    run(
        "a",
        "trap 'until [ -e /shared/b ]; do sleep 0.1; done; exit 0' TERM; while :; do sleep 0.1; done",
    );
    run(
        "b",
        "trap 'touch /shared/b; exit 0' TERM; while :; do sleep 0.1; done",
    );
    // Both traps are set once the shells loop.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(ctx.skiff(["stop", "-t", "20", "a", "b"]).ok(), "a\nb");
    assert_eq!(
        ctx.skiff(["inspect", "--format", "{{.State.ExitCode}}", "a", "b"])
            .ok(),
        "0\n0"
    );
}
