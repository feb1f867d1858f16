//! Interactive containers against the real binary, root and rootless: exec, terminals driven
//! through a real pseudo-terminal, attach and detach.
use std::time::Duration;

use skiff_test::terminal::Terminal;
use skiff_test::{Mode, TestContext};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");
const PATIENCE: Duration = Duration::from_secs(20);

fn both(test: impl Fn(&TestContext)) {
    skiff_test::in_both_modes(SKIFF, test);
}

fn start_box(ctx: &TestContext, name: &str) {
    ctx.skiff(["run", "-d", "--name", name, "busybox", "sleep", "1000"])
        .ok();
}

#[test]
fn exec_runs_in_the_container_with_its_exit_code_user_env_and_workdir() {
    both(|ctx| {
        start_box(ctx, "box");
        // Same PID namespace as the container's sleep, same hostname, same root.
        let seen = ctx.skiff([
            "exec",
            "box",
            "sh",
            "-c",
            "ps -o pid,args | grep -c 'sleep 1000$'; hostname; cat /etc/hostname",
        ]);
        let lines: Vec<&str> = seen.ok().lines().collect();
        assert_eq!(lines[0], "1", "the container's processes are visible");
        assert_eq!(lines[1], lines[2]);
        ctx.skiff(["exec", "box", "sh", "-c", "exit 7"])
            .fails(7, "");
        let env = ctx.skiff([
            "exec",
            "-e",
            "A=1",
            "-u",
            "1000",
            "-w",
            "/tmp",
            "box",
            "sh",
            "-c",
            "id -u; pwd; echo $A $HOME",
        ]);
        assert_eq!(env.ok(), "1000\n/tmp\n1 /home/tester");
        assert_eq!(
            ctx.skiff_with_input(&["exec", "-i", "box", "cat"], b"piped\n")
                .ok(),
            "piped"
        );
        ctx.skiff(["exec", "box", "nosuch"]).fails(127, "nosuch");
        ctx.skiff(["exec", "box", "/etc/passwd"])
            .fails(126, "permission denied");
        ctx.skiff(["exec", "nothere", "true"])
            .fails(125, "no such container");
        ctx.skiff(["stop", "-t", "0", "box"]).ok();
        ctx.skiff(["exec", "box", "true"])
            .fails(125, "can only create exec sessions on running containers");
    });
}

#[test]
fn exec_leaks_no_host_descriptor_or_directory_and_keeps_the_confinement() {
    both(|ctx| {
        start_box(ctx, "box");
        // CVE-2024-21626: only 0, 1 and 2 are open in the new process, and its working
        // directory is the container's.
        // (No pipeline in the shell: its own pipe descriptors would show while ls runs.)
        let fds = ctx.skiff([
            "exec",
            "box",
            "sh",
            "-c",
            "ls /proc/$$/fd; readlink /proc/$$/cwd",
        ]);
        assert_eq!(fds.ok(), "0\n1\n2\n/");
        // The container's capability set, not the caller's; seccomp on; no_new_privs kept.
        let status = ctx.skiff([
            "exec",
            "box",
            "grep",
            "-E",
            "^(CapEff|Seccomp|NoNewPrivs):",
            "/proc/self/status",
        ]);
        let init = ctx.skiff([
            "exec",
            "box",
            "grep",
            "-E",
            "^(CapEff|Seccomp|NoNewPrivs):",
            "/proc/1/status",
        ]);
        assert_eq!(status.ok(), init.ok());
        assert!(status.ok().contains("Seccomp:\t2"), "{}", status.ok());
        let user = ctx.skiff([
            "exec",
            "-u",
            "1000",
            "box",
            "grep",
            "^CapEff:",
            "/proc/self/status",
        ]);
        assert_eq!(user.ok(), "CapEff:\t0000000000000000");
        // A denied system call stays denied in an exec'd process.
        ctx.skiff(["exec", "box", "unshare", "-r", "true"])
            .fails(1, "");
        ctx.skiff(["rm", "-f", "box"]).ok();
    });
}

#[test]
fn exec_with_a_terminal() {
    both(|ctx| {
        start_box(ctx, "box");
        let mut terminal = Terminal::spawn(ctx.command(["exec", "-it", "box", "sh"]), 30, 100);
        terminal.expect("# ", PATIENCE);
        terminal.send(b"tty; stty size; echo $TERM\r");
        terminal.expect("/dev/pts/", PATIENCE);
        terminal.expect("30 100", PATIENCE);
        terminal.expect("xterm", PATIENCE);
        terminal.send(b"exit 4\r");
        assert_eq!(terminal.wait(PATIENCE), 4);
        ctx.skiff(["rm", "-f", "box"]).ok();
    });
}

#[test]
fn run_it_gives_a_shell_with_job_control_and_its_exit_code() {
    both(|ctx| {
        let mut terminal =
            Terminal::spawn(ctx.command(["run", "-it", "--rm", "busybox", "sh"]), 24, 80);
        terminal.expect("# ", PATIENCE);
        terminal.send(b"echo in-$((6*7))\r");
        terminal.expect("in-42", PATIENCE);
        // Ctrl-C reaches the foreground program, not the shell, and not skiff.
        terminal.send(b"sleep 100; echo after-$((1+1))\r");
        std::thread::sleep(Duration::from_millis(300));
        terminal.send(b"\x03");
        terminal.send(b"echo still-$((2+2))\r");
        terminal.expect("still-4", PATIENCE);
        assert!(!terminal.screen().contains("after-2"));
        terminal.send(b"exit 4\r");
        assert_eq!(terminal.wait(PATIENCE), 4);
        assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "", "--rm removed it");
        // -t without -i: keys are not the container's; Ctrl-C is a signal skiff passes on.
        let mut signalled = Terminal::spawn(
            ctx.command([
                "run",
                "-t",
                "--rm",
                "busybox",
                "sh",
                "-c",
                "trap 'echo got-int; exit 7' INT; echo ready; while true; do sleep 0.1; done",
            ]),
            24,
            80,
        );
        signalled.expect("ready", PATIENCE);
        signalled.send(b"\x03");
        signalled.expect("got-int", PATIENCE);
        assert_eq!(signalled.wait(PATIENCE), 7);
        // Without a terminal, -i passes a pipe through.
        assert_eq!(
            ctx.skiff_with_input(&["run", "-i", "--rm", "busybox", "cat"], b"hi\n")
                .ok(),
            "hi"
        );
    });
}

#[test]
fn attach_detach_and_reattach_with_resize_and_several_clients() {
    both(|ctx| {
        ctx.skiff(["run", "-dit", "--name", "box", "busybox", "sh"])
            .ok();
        let mut first = Terminal::spawn(ctx.command(["attach", "box"]), 24, 80);
        first.send(b"echo one-$((0+1))\r");
        first.expect("one-1", PATIENCE);
        // A second client sees the same session.
        let mut second = Terminal::spawn(ctx.command(["attach", "box"]), 24, 80);
        std::thread::sleep(Duration::from_millis(300));
        first.send(b"echo two-$((1+1))\r");
        second.expect("two-2", PATIENCE);
        // Ctrl-P Ctrl-Q leaves the container running.
        first.send(b"\x10\x11");
        assert_eq!(first.wait(PATIENCE), 0);
        second.send(b"\x10\x11");
        assert_eq!(second.wait(PATIENCE), 0);
        assert!(
            ctx.skiff(["ps", "--format", "{{.Names}} {{.Status}}"])
                .ok()
                .starts_with("box Up")
        );
        // Other detach keys; the window size follows the client's terminal.
        let mut third = Terminal::spawn(
            ctx.command(["attach", "--detach-keys", "ctrl-x", "box"]),
            24,
            80,
        );
        std::thread::sleep(Duration::from_millis(300));
        third.resize(33, 120);
        std::thread::sleep(Duration::from_millis(300));
        third.send(b"stty size\r");
        third.expect("33 120", PATIENCE);
        third.send(b"\x18");
        assert_eq!(third.wait(PATIENCE), 0);
        let mut last = Terminal::spawn(ctx.command(["attach", "box"]), 24, 80);
        std::thread::sleep(Duration::from_millis(300));
        last.send(b"echo three-$((1+2))\r");
        last.expect("three-3", PATIENCE);
        last.send(b"exit 9\r");
        assert_eq!(last.wait(PATIENCE), 9);
        // Everything was logged, attached or not.
        let logs = ctx.skiff(["logs", "box"]);
        assert!(logs.ok().contains("one-1") && logs.ok().contains("three-3"));
        ctx.skiff(["attach", "box"])
            .fails(125, "you can only attach to running containers");
        ctx.skiff(["attach", "--detach-keys", "ctrl-", "box"])
            .fails(125, "invalid detach keys");
    });
}

/// Whether a rootless container can have a cgroup of its own here (pure cgroup v2 with a
/// delegated subtree); on this project's hybrid hosts it cannot.
fn rootless_cgroups() -> bool {
    std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
        && std::fs::read_to_string("/sys/fs/cgroup/cgroup.subtree_control")
            .is_ok_and(|c| c.contains("pids"))
}

#[test]
fn pause_top_rename_port_and_wait_conditions() {
    both(|ctx| {
        ctx.skiff([
            "run",
            "-d",
            "--name",
            "box",
            "busybox",
            "sh",
            "-c",
            "echo early; sleep 1000",
        ])
        .ok();
        let top = ctx.skiff(["top", "box"]);
        let lines: Vec<&str> = top.ok().lines().collect();
        assert!(
            lines[0].starts_with("USER        PID         PPID        %CPU        ELAPSED"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with("root        1           0  "),
            "{}",
            lines[1]
        );
        assert_eq!(lines.len(), 2, "one process: {lines:?}");
        assert!(lines.iter().any(|l| l.ends_with("sleep 1000")));
        let chosen = ctx.skiff(["top", "box", "pid", "comm"]);
        assert_eq!(chosen.ok(), "PID         COMMAND\n1           sleep");
        ctx.skiff(["top", "box", "bogus"])
            .fails(125, "unknown descriptor: bogus");
        // psgo's host and security descriptors.
        let host = ctx.skiff(["top", "box", "hpid,huser,state,seccomp,capeff"]);
        let lines: Vec<&str> = host.ok().lines().collect();
        assert!(
            lines[0].starts_with("HPID        HUSER       STATE       SECCOMP     EFFECTIVE CAPS"),
            "{lines:?}"
        );
        let fields: Vec<&str> = lines[1].split_whitespace().collect();
        assert!(
            std::path::Path::new(&format!("/proc/{}", fields[0])).exists(),
            "a host PID: {fields:?}"
        );
        assert_eq!(
            &fields[2..],
            [
                "S",
                "filter",
                "CHOWN,DAC_OVERRIDE,FOWNER,FSETID,KILL,SETGID,SETUID,SETPCAP,NET_BIND_SERVICE,SYS_CHROOT,SETFCAP"
            ]
        );

        if ctx.mode == Mode::Root || rootless_cgroups() {
            assert_eq!(ctx.skiff(["pause", "box"]).ok(), "box");
            assert_eq!(
                ctx.skiff(["ps", "--format", "{{.Names}} {{.Status}}"]).ok(),
                "box Paused"
            );
            assert_eq!(
                ctx.skiff(["wait", "--condition", "paused", "box"]).ok(),
                "-1"
            );
            ctx.skiff(["exec", "box", "true"])
                .fails(125, "container state improper");
            ctx.skiff(["pause", "box"]).fails(125, "already paused");
            assert_eq!(ctx.skiff(["unpause", "box"]).ok(), "box");
            assert_eq!(ctx.skiff(["exec", "box", "echo", "thawed"]).ok(), "thawed");
        } else {
            ctx.skiff(["pause", "box"])
                .fails(125, "rootless containers need cgroup v2 with delegation");
        }

        ctx.skiff(["rename", "box", "renamed"]).ok();
        assert_eq!(ctx.skiff(["ps", "--format", "{{.Names}}"]).ok(), "renamed");
        ctx.skiff(["run", "-d", "--name", "other", "busybox", "sleep", "1000"])
            .ok();
        ctx.skiff(["rename", "renamed", "other"])
            .fails(125, "already in use");
        ctx.skiff(["rename", "renamed", "bad/name"])
            .fails(125, "bad/name");
        assert_eq!(
            ctx.skiff(["port", "renamed"]).ok(),
            "",
            "no published ports yet"
        );
        ctx.skiff(["port", "nothere"])
            .fails(125, "no such container");

        assert_eq!(
            ctx.skiff(["wait", "--condition", "running", "renamed"])
                .ok(),
            "-1"
        );
        ctx.skiff(["wait", "--condition", "sleeping", "renamed"])
            .fails(125, "invalid condition");
        // logs in a time window
        assert_eq!(
            ctx.skiff(["logs", "--since", "1h", "renamed"]).ok(),
            "early"
        );
        assert_eq!(ctx.skiff(["logs", "--until", "1h", "renamed"]).ok(), "");
        assert_eq!(
            ctx.skiff(["logs", "--since", "2099-01-01T00:00:00Z", "renamed"])
                .ok(),
            ""
        );
        ctx.skiff(["logs", "--since", "yesterday", "renamed"])
            .fails(125, "invalid time");
        ctx.skiff(["rm", "-f", "renamed", "other"]).ok();
        assert_eq!(ctx.skiff(["container", "exists", "renamed"]).code, 1);
    });
}

#[test]
fn restart_policies_are_applied_without_a_daemon() {
    both(|ctx| {
        ctx.skiff([
            "run",
            "-d",
            "--name",
            "failing",
            "--restart",
            "on-failure:2",
            "busybox",
            "sh",
            "-c",
            "echo attempt; exit 3",
        ])
        .ok();
        // Three runs in all: the first and two restarts.
        assert_eq!(ctx.skiff(["wait", "failing"]).ok(), "3");
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let count = ctx.skiff(["inspect", "--format", "{{.RestartCount}}", "failing"]);
            let logs = ctx.skiff(["logs", "failing"]);
            if count.ok() == "2" && logs.ok().lines().count() == 3 {
                let state = ctx.skiff(["inspect", "--format", "{{.State.Status}}", "failing"]);
                if state.ok() == "exited" {
                    break;
                }
            }
            assert!(std::time::Instant::now() < deadline, "{}", logs.ok());
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(800));
        assert_eq!(ctx.skiff(["logs", "failing"]).ok().lines().count(), 3);

        // always: brought back after each exit, until `stop`.
        ctx.skiff([
            "run",
            "-d",
            "--name",
            "looping",
            "--restart",
            "always",
            "busybox",
            "sleep",
            "0.2",
        ])
        .ok();
        let deadline = std::time::Instant::now() + PATIENCE;
        while ctx
            .skiff(["inspect", "--format", "{{.RestartCount}}", "looping"])
            .ok()
            .parse::<u32>()
            .unwrap_or(0)
            < 2
        {
            assert!(std::time::Instant::now() < deadline, "never restarted");
            std::thread::sleep(Duration::from_millis(100));
        }
        ctx.skiff(["stop", "looping"]).ok();
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(
            ctx.skiff(["inspect", "--format", "{{.State.Status}}", "looping"])
                .ok(),
            "exited",
            "a stopped container stays stopped"
        );
        // update --restart changes the policy of an existing container.
        ctx.skiff(["update", "--restart", "on-failure:5", "looping"])
            .ok();
        assert_eq!(
            ctx.skiff([
                "inspect", "--format",
                "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}",
                "looping",
            ])
            .ok(),
            "on-failure 5"
        );
        ctx.skiff(["update", "--restart", "sometimes", "looping"])
            .fails(125, "invalid restart policy");
        ctx.skiff(["run", "--rm", "--restart", "always", "busybox", "true"])
            .fails(125, "conflicts with --restart");
        ctx.skiff(["rm", "-f", "failing", "looping"]).ok();
    });
}

#[test]
fn cp_diff_and_export_stay_inside_the_container() {
    both(|ctx| {
        ctx.skiff([
            "run",
            "-d",
            "--name",
            "box",
            "busybox",
            "sh",
            "-c",
            "echo container-secret > /etc/shadow; rm /etc/group; ln -s / /tmp/rootlink; \
             ln -s /etc/shadow /tmp/shadowlink; exec sleep 1000",
        ])
        .ok();
        let deadline = std::time::Instant::now() + PATIENCE;
        while ctx
            .skiff(["exec", "box", "test", "-L", "/tmp/shadowlink"])
            .code
            != 0
        {
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(50));
        }
        let local = ctx.scratch("cp");
        std::fs::write(local.join("file"), "from-host\n").unwrap();
        std::fs::create_dir_all(local.join("tree/sub")).unwrap();
        std::fs::write(local.join("tree/sub/leaf"), "leaf\n").unwrap();
        ctx.chown(&local);
        let local_path = |name: &str| local.join(name).display().to_string();

        // host → container: into a directory, onto a new name, a whole tree
        ctx.skiff(["cp", &local_path("file"), "box:/tmp/"]).ok();
        ctx.skiff(["cp", &local_path("file"), "box:/renamed"]).ok();
        ctx.skiff(["cp", &local_path("tree"), "box:/tmp"]).ok();
        assert_eq!(
            ctx.skiff([
                "exec",
                "box",
                "cat",
                "/tmp/file",
                "/renamed",
                "/tmp/tree/sub/leaf"
            ])
            .ok(),
            "from-host\nfrom-host\nleaf"
        );
        assert_eq!(
            ctx.skiff(["exec", "box", "stat", "-c", "%u:%g", "/tmp/file"])
                .ok(),
            "0:0",
            "owned by the container's root"
        );
        // container → host: a file, a directory tree, a tar stream on stdout
        ctx.skiff(["cp", "box:/etc/passwd", &local_path("passwd")])
            .ok();
        assert!(
            std::fs::read_to_string(local.join("passwd"))
                .unwrap()
                .starts_with("root:")
        );
        ctx.skiff(["cp", "box:/tmp/tree", &local_path("back")]).ok();
        assert_eq!(
            std::fs::read_to_string(local.join("back/sub/leaf")).unwrap(),
            "leaf\n"
        );
        let stream = ctx.skiff(["cp", "box:/etc/hostname", "-"]);
        assert_eq!(stream.code, 0, "{}", stream.stderr);
        assert_eq!(
            &stream.stdout.as_bytes()[..8],
            b"hostname",
            "a tar entry named hostname"
        );

        // CVE-2018-15664: links planted in the container resolve inside it.
        ctx.skiff(["cp", "box:/tmp/rootlink/etc/shadow", &local_path("shadow")])
            .ok();
        assert_eq!(
            std::fs::read_to_string(local.join("shadow")).unwrap(),
            "container-secret\n",
            "the container's /etc/shadow, never the host's"
        );
        let link = ctx.skiff(["cp", "box:/tmp/shadowlink", "-"]);
        assert!(
            !link.stdout.contains("root:") && link.stdout.contains("container-secret"),
            "followed inside the container, never to the host's file"
        );
        let marker = format!("skiff-cp-escape-{}", std::process::id());
        std::fs::write(local.join(&marker), "x").unwrap();
        ctx.skiff(["cp", &local_path(&marker), "box:/tmp/rootlink/etc/"])
            .ok();
        assert!(
            !std::path::Path::new("/etc").join(&marker).exists(),
            "wrote to the host's /etc"
        );
        ctx.skiff(["exec", "box", "test", "-f", &format!("/etc/{marker}")])
            .ok();

        // errors
        ctx.skiff(["cp", "box:/nothing", &local_path("x")])
            .fails(125, "could not be found on container box");
        ctx.skiff(["cp", &local_path("file"), "box:/no/such/dir/"])
            .fails(125, "\"/no/such/dir/\" could not be found on container box");
        ctx.skiff(["cp", &local_path("file"), "nothere:/tmp"])
            .fails(125, "no such container");

        // diff: what the container changed, without what skiff made for it
        let diff = ctx.skiff(["diff", "box"]);
        let lines: Vec<&str> = diff.ok().lines().collect();
        for expected in [
            "C /etc",
            "D /etc/group",
            "A /renamed",
            "A /tmp/file",
            "A /etc/shadow",
        ] {
            assert!(
                lines.contains(&expected),
                "{expected} missing from {lines:?}"
            );
        }
        assert!(!lines.contains(&"A /etc/hostname"), "{lines:?}");
        assert!(
            ctx.skiff(["diff", "--format", "json", "box"])
                .ok()
                .contains("\"deleted\"")
        );

        // export: the container's files, not /proc; running or stopped
        let tarball = local_path("box.tar");
        ctx.skiff(["export", "-o", &tarball, "box"]).ok();
        let listed = std::process::Command::new("tar")
            .args(["-tf", &tarball])
            .output()
            .unwrap();
        let names = String::from_utf8_lossy(&listed.stdout).into_owned();
        assert!(names.lines().any(|l| l == "renamed"), "{names}");
        assert!(!names.lines().any(|l| l.starts_with("proc/")));
        ctx.skiff(["stop", "-t", "0", "box"]).ok();
        ctx.skiff(["cp", &local_path("file"), "box:/after-stop"])
            .ok();
        ctx.skiff(["export", "-o", &tarball, "box"]).ok();
        let listed = std::process::Command::new("tar")
            .args(["-tf", &tarball])
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&listed.stdout)
                .lines()
                .any(|l| l == "after-stop")
        );
        ctx.skiff(["export", "-o", &local_path("none.tar"), "nothere"])
            .fails(125, "no such container");
        assert!(!local.join("none.tar").exists(), "nothing half-written");
        ctx.skiff(["rm", "box"]).ok();
    });
}

#[test]
fn logs_keep_binary_output_byte_for_byte() {
    both(|ctx| {
        // Every byte value, newlines and carriage returns included, and no final newline.
        let script = "i=0; while [ $i -lt 256 ]; do printf \"\\\\$(printf %o $i)\"; i=$((i+1)); done; \
                      printf 'tail-without-newline'";
        let direct = ctx
            .command(["run", "--name", "bin", "busybox", "sh", "-c", script])
            .output()
            .unwrap();
        assert_eq!(direct.status.code(), Some(0));
        assert_eq!(direct.stdout.len(), 256 + 20);
        let logged = ctx.command(["logs", "bin"]).output().unwrap();
        assert_eq!(
            logged.stdout, direct.stdout,
            "logs give back exactly what was written"
        );
        ctx.skiff(["rm", "bin"]).ok();
    });
}

#[test]
fn input_the_container_does_not_read_never_stalls_its_output() {
    use std::io::Write;
    both(|ctx| {
        ctx.skiff([
            "run",
            "-di",
            "--name",
            "deaf",
            "busybox",
            "sh",
            "-c",
            "while true; do echo tick; sleep 0.05; done",
        ])
        .ok();
        let mut attached = ctx
            .command(["attach", "deaf"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Far more than a pipe holds, and never read by the container (written from a
        // thread: with a stalled monitor the write itself would never end).
        let mut input = attached.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = input.write_all(&vec![b'x'; 512 * 1024]);
        });
        std::thread::sleep(Duration::from_millis(500));
        let before = ctx.skiff(["logs", "deaf"]).ok().lines().count();
        std::thread::sleep(Duration::from_millis(800));
        let after = ctx.skiff(["logs", "deaf"]).ok().lines().count();
        assert!(
            after > before + 3,
            "output stalled: {before} then {after} lines"
        );
        let _ = attached.kill();
        let _ = attached.wait();
        ctx.skiff(["rm", "-f", "deaf"]).ok();
    });
}
