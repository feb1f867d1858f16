//! Interactive containers against the real binary, root and rootless: exec, terminals driven
//! through a real pseudo-terminal, attach and detach.
use std::time::Duration;

use skiff_test::terminal::Terminal;
use skiff_test::{Mode, TestContext};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");
const PATIENCE: Duration = Duration::from_secs(20);

fn both(test: impl Fn(&TestContext)) {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        test(&ctx);
    }
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
        let fds = ctx.skiff([
            "exec",
            "box",
            "sh",
            "-c",
            "ls /proc/$$/fd | sort -n | tr '\\n' ' '; readlink /proc/$$/cwd",
        ]);
        assert_eq!(fds.ok(), "0 1 2 /");
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
