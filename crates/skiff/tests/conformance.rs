//! Podman's behaviour where scripts depend on it (flags, output, exit codes), root and
//! rootless: each test pins one difference that Podman's own system tests found.
use skiff_test::{Mode, TestContext};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

/// `--force` implies `--ignore` for rm and rmi (Podman's rm.go and rmi.go), and for network rm:
/// a missing object is no error, and nothing is printed for it.
#[test]
fn force_removal_of_what_does_not_exist_succeeds() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        for args in [
            &["rm", "-f", "nonexistent"][..],
            &["rm", "--ignore", "nonexistent"][..],
            &["rm", "-t", "0", "--all", "--force", "--ignore"][..],
            &["rmi", "-f", "nonexistent"][..],
            &["rmi", "--ignore", "nonexistent"][..],
            &["network", "rm", "-f", "nonexistent"][..],
        ] {
            let out = ctx.skiff(args);
            assert_eq!(out.ok(), "", "{mode:?} {args:?}: {}", out.stderr);
            assert_eq!(out.stderr, "", "{mode:?} {args:?}");
        }
        ctx.skiff(["rm", "nonexistent"])
            .fails(1, "no such container");
        ctx.skiff(["rmi", "nonexistent"]).fails(1, "nonexistent");
        // Present and missing together: the present one goes, the missing one is skipped.
        let id = ctx.skiff(["create", "busybox", "true"]).ok().to_string();
        assert_eq!(ctx.skiff(["rm", "-f", &id, "nonexistent"]).ok(), id);
    }
}

/// `ps --external` (every Podman test's set-up) and `--noheading` are accepted, and the default
/// table shows published ports in PORTS as `{{.Ports}}` does.
/// containers.conf ($CONTAINERS_CONF) gives resolv.conf's search domains and servers (search
/// first, as Podman writes it), the base of /etc/hosts (the container's own entry left out
/// when that names it) and host.containers.internal; `--dns` still wins.
#[test]
fn containers_conf_shapes_resolv_conf_and_hosts() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let dir = ctx.scratch("conf");
        std::fs::write(
            dir.join("hosts"),
            "172.30.9.9 base1\n172.30.9.10 base2 # note\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("containers.conf"),
            format!(
                "[containers]\ndns_searches = [\"example.com\"]\ndns_servers = [\"1.1.1.1\", \"100.100.100.100\"]\nbase_hosts_file = \"{}\"\nhost_containers_internal_ip = \"172.30.1.5\"\n[engine]\nruntime = \"whatever\"\n",
                dir.join("hosts").display()
            ),
        )
        .unwrap();
        for file in ["hosts", "containers.conf"] {
            ctx.chown(&dir.join(file));
        }
        let conf = dir.join("containers.conf").display().to_string();
        let env = [("CONTAINERS_CONF", conf.as_str())];
        let run = |args: &[&str]| {
            let mut all = vec!["run", "--rm", "--network", "none"];
            all.extend_from_slice(args);
            ctx.skiff_with_env(&env, &all).ok().to_string()
        };
        assert_eq!(
            run(&["busybox", "cat", "/etc/resolv.conf"]),
            "search example.com\nnameserver 1.1.1.1\nnameserver 100.100.100.100"
        );
        assert_eq!(
            run(&[
                "--dns",
                "9.9.9.9",
                "busybox",
                "grep",
                "nameserver",
                "/etc/resolv.conf"
            ]),
            "nameserver 9.9.9.9"
        );
        let hosts = run(&["--add-host", "h3:1.2.3.4", "busybox", "cat", "/etc/hosts"]);
        let lines: Vec<&str> = hosts.lines().collect();
        assert_eq!(lines.len(), 7, "{hosts}");
        assert_eq!(&lines[..2], ["172.30.9.9 base1", "172.30.9.10 base2"]);
        assert!(
            lines.contains(&"172.30.1.5\thost.containers.internal"),
            "{hosts}"
        );
        assert!(lines.contains(&"1.2.3.4\th3"), "{hosts}");
        let named = run(&[
            "--name",
            "base1",
            "--hostname",
            "base1",
            "busybox",
            "cat",
            "/etc/hosts",
        ]);
        assert_eq!(named.lines().count(), 5, "{named}");
        // A file that is not TOML is refused, naming it.
        std::fs::write(dir.join("containers.conf"), "[containers\n").unwrap();
        ctx.skiff_with_env(&env, &["run", "--rm", "busybox", "true"])
            .fails(125, "containers.conf: ");
    }
}

/// `--http-proxy` (on by default) passes the caller's proxy variables in, under `--env`;
/// `--http-proxy=false` does not.
#[test]
fn proxy_variables_follow_http_proxy() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let proxy = [
            ("https_proxy", "http://proxy.invalid:3128"),
            ("NO_PROXY", "localhost"),
        ];
        let env = |extra: &[&str]| {
            let mut args = vec!["run", "--rm"];
            args.extend_from_slice(extra);
            args.extend(["busybox", "sh", "-c", "env | grep -i proxy | sort"]);
            ctx.skiff_with_env(&proxy, &args).ok().to_string()
        };
        assert_eq!(
            env(&[]),
            "NO_PROXY=localhost\nhttps_proxy=http://proxy.invalid:3128"
        );
        assert_eq!(
            env(&["-e", "NO_PROXY=mine"]),
            "NO_PROXY=mine\nhttps_proxy=http://proxy.invalid:3128"
        );
        assert_eq!(env(&["--http-proxy=false"]), "");
    }
}

/// `--runtime-flag` goes to the runtime: the embedded one defines none, so a container cannot
/// start with one (Podman's OCI runtime error, 126) and nothing is left behind.
#[test]
fn runtime_flags_the_runtime_does_not_define_fail_the_start() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        ctx.skiff([
            "--runtime-flag",
            "invalidflag",
            "run",
            "--rm",
            "busybox",
            "true",
        ])
        .fails(126, "flag provided but not defined: --invalidflag");
        assert_eq!(ctx.skiff(["ps", "-a", "-q"]).ok(), "");
    }
}

#[test]
fn ps_takes_podmans_flags_and_shows_ports() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    ctx.skiff([
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        "127.0.0.1::80",
        "busybox",
        "sleep",
        "100",
    ])
    .ok();
    let ports = ctx.skiff(["ps", "--format", "{{.Ports}}"]).ok().to_string();
    assert!(ports.contains("->80/tcp"), "{ports}");
    let table = ctx.skiff(["ps"]).ok().to_string();
    assert!(table.starts_with("CONTAINER ID"), "{table}");
    assert!(table.lines().nth(1).unwrap().contains(&ports), "{table}");
    let bare = ctx
        .skiff(["ps", "--all", "--external", "--noheading"])
        .ok()
        .to_string();
    assert_eq!(bare.lines().count(), 1, "{bare}");
    assert!(bare.ends_with("web"), "{bare}");
    assert_eq!(
        ctx.skiff(["ps", "--all", "--external", "--format", "{{.Names}}"])
            .ok(),
        "web"
    );
}

/// `start --all` starts what is not running and prints full IDs; `--filter` chooses among the
/// given containers (or all); the errors are Podman's.
#[test]
fn start_all_and_filters() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let done = ctx
        .skiff(["run", "-d", "--network", "none", "busybox", "true"])
        .ok()
        .to_string();
    let failed = ctx
        .skiff(["run", "-d", "--network", "none", "busybox", "false"])
        .ok()
        .to_string();
    let running = ctx
        .skiff([
            "run",
            "-d",
            "--restart",
            "always",
            "--network",
            "none",
            "busybox",
            "sleep",
            "100",
        ])
        .ok()
        .to_string();
    ctx.skiff(["wait", &done, &failed]).ok();
    let out = ctx
        .skiff(["start", "--all", "--filter", "exited=0"])
        .ok()
        .to_string();
    assert_eq!(out, done);
    ctx.skiff(["wait", &done]).ok();
    let out = ctx.skiff(["start", "--all"]).ok().to_string();
    assert!(out.contains(&done) && out.contains(&failed), "{out}");
    assert!(
        !out.contains(&running),
        "a running container is not started again: {out}"
    );
    ctx.skiff(["wait", &done, &failed]).ok();
    assert_eq!(
        ctx.skiff(["start", "--filter", "restart-policy=always", &done])
            .ok(),
        ""
    );
    assert_eq!(
        ctx.skiff(["start", "--filter", "restart-policy=none", &done])
            .ok(),
        done
    );
    ctx.skiff(["start", "--filter", "restart-policy=fakepolicy", &done])
        .fails(125, "fakepolicy invalid restart policy");
    ctx.skiff(["start", "--all", "12333"]).fails(
        125,
        "either start all containers or the container(s) provided in the arguments",
    );
}

/// Podman's global options: --log-level values are checked (exit 1, Podman's words), --noout
/// silences stdout, and the storage and events options are accepted.
#[test]
fn global_options_as_podman() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let out = ctx.skiff(["--log-level=telepathic", "info"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .starts_with("Log Level \"telepathic\" is not supported"),
        "{}",
        out.stderr
    );
    assert_eq!(ctx.skiff(["--noout", "images"]).ok(), "");
    let debug = ctx.skiff([
        "--log-level=debug",
        "--events-backend=file",
        "--storage-opt=",
        "images",
    ]);
    assert!(debug.ok().contains("localhost/busybox"));
    // Away from a terminal, log lines are logrus's text, as Podman's; each level shows the
    // levels above it and none below.
    let root = format!(
        "level=debug msg=\"Using graph root {}\"",
        ctx.root().display()
    );
    assert!(debug.stderr.contains(&root), "{}", debug.stderr);
    let levels = |args: &[&str]| {
        let out = ctx.skiff(args.iter().copied().chain(["info"]));
        out.ok();
        ["trace", "debug", "info", "warning"]
            .into_iter()
            .filter(|level| out.stderr.contains(&format!(" level={level} msg=")))
            .collect::<Vec<_>>()
    };
    assert_eq!(levels(&["--log-level=trace"]), ["trace", "debug", "info"]);
    assert_eq!(levels(&["--log-level=debug"]), ["debug", "info"]);
    assert_eq!(levels(&["-D"]), ["debug", "info"]);
    assert_eq!(levels(&["--log-level=info"]), ["info"]);
    assert!(levels(&["--log-level=warn"]).is_empty());
    let both = ctx.skiff(["--debug", "--log-level=panic", "info"]);
    assert_eq!(
        (both.code, both.stderr.trim()),
        (1, "Setting --log-level and --debug is not allowed")
    );
    // --remote is offered until a service is named, then it is not; skiff names none itself.
    let remote = |args: &[&str]| ctx.skiff(args.iter().copied()).ok().contains(" --remote ");
    assert!(remote(&["--help"]));
    assert!(!remote(&["--connection", "elsewhere", "--help"]));
    assert!(!remote(&["--url", "unix:///x", "--help"]));
    ctx.skiff(["--connection", "elsewhere", "ps"])
        .fails(125, "skiff runs locally only");
    ctx.skiff(["--events-backend=carrier-pigeon", "images"])
        .fails(125, "carrier-pigeon");
    // A reader gone before skiff prints (`| head`) ends it as SIGPIPE ends Podman: status 141,
    // nothing on stderr (no panic).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = ctx.command(["images"]).stdout(writer).output().unwrap();
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).as_ref()
        ),
        (Some(141), "")
    );
}

/// Image and container templates as Podman's report types print them: `--no-trunc` IDs with
/// `sha256:`, `.CreatedAt` as Go prints a time (JSON: RFC 3339 with `Z`), `.History` as one
/// string, and image inspect's `.ID` beside `.Id`.
#[test]
fn templates_print_podmans_report_fields() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let long = ctx
        .skiff(["images", "--no-trunc", "--format", "{{.ID}}"])
        .ok()
        .to_string();
    assert!(long.starts_with("sha256:") && long.len() == 71, "{long}");
    let short = ctx
        .skiff(["images", "--format", "{{.ID}}"])
        .ok()
        .to_string();
    assert_eq!(short.len(), 12);
    assert_eq!(
        ctx.skiff(["image", "inspect", "--format", "{{.ID}}", "busybox"])
            .ok(),
        &long[7..]
    );
    assert_eq!(
        ctx.skiff(["image", "inspect", "--format", "{{.Id}}", "busybox"])
            .ok(),
        &long[7..]
    );
    assert_eq!(
        ctx.skiff(["images", "--format", "{{.History}}"]).ok(),
        "localhost/busybox:latest"
    );
    let go_time = |text: &str| {
        let parts: Vec<&str> = text.split(' ').collect();
        parts.len() == 4 && parts[2] == "+0000" && parts[3] == "UTC" && parts[0].len() == 10
    };
    let created = ctx
        .skiff(["images", "--format", "{{.CreatedAt}}"])
        .ok()
        .to_string();
    assert!(go_time(&created), "{created}");
    let json: serde_json::Value =
        serde_json::from_str(ctx.skiff(["images", "--format", "json"]).ok()).unwrap();
    let at = json[0]["CreatedAt"].as_str().unwrap();
    assert!(at.ends_with('Z') && at.contains('T'), "{at}");
    ctx.skiff(["create", "--name", "c", "busybox", "true"]).ok();
    let created = ctx
        .skiff(["ps", "-a", "--format", "{{.CreatedAt}}"])
        .ok()
        .to_string();
    assert!(go_time(&created), "{created}");
}

/// Podman's default environment (TERM=xterm, container=ENGINE), --unsetenv and
/// --unsetenv-all; --memory 0 is no limit; --kernel-memory warns; a directory as the command is
/// runc's "exec ... permission denied" (126); a command on a bind mount runs.
#[test]
fn run_environment_and_command_lookup_as_podman() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let run = |extra: &[&str], command: &[&str]| {
            let mut args = vec!["run", "--rm", "--network", "none"];
            args.extend_from_slice(extra);
            args.push("busybox");
            args.extend_from_slice(command);
            ctx.skiff(&args)
        };
        let env = run(&[], &["env"]).ok().to_string();
        assert!(env.lines().any(|l| l == "TERM=xterm"), "{env}");
        assert!(env.lines().any(|l| l.starts_with("container=")), "{env}");
        let env = run(&["--unsetenv", "TERM"], &["env"]).ok().to_string();
        assert!(!env.contains("TERM"), "{env}");
        let env = run(&["--unsetenv-all", "-e", "TERM=abc"], &["/bin/env"])
            .ok()
            .to_string();
        assert!(env.contains("TERM=abc"), "{env}");
        for gone in ["PATH=", "container="] {
            assert!(!env.contains(gone), "{mode:?}: {env}");
        }
        assert_eq!(run(&["--memory", "0"], &["echo", "ok"]).ok(), "ok");
        let out = run(&["--kernel-memory", "100"], &["true"]);
        out.ok();
        assert!(
            out.stderr
                .contains("The --kernel-memory flag is no longer supported")
        );
        let out = run(&[], &["/etc"]);
        let stderr = out.fails(126, "permission denied").to_string();
        assert!(stderr.contains("exec"), "{stderr}");
        run(&[], &["/no/such/command"]).fails(127, "no such file or directory");
        // The program is on a bind mount, which does not exist until the container starts.
        let tools = ctx.scratch("tools");
        std::fs::write(
            tools.join("hello"),
            "#!/bin/sh\necho hello from the mount\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tools.join("hello"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        ctx.chown(&tools.join("hello"));
        let volume = format!("{}:/p", tools.display());
        assert_eq!(
            run(&["-v", &volume], &["/p/hello"]).ok(),
            "hello from the mount"
        );
    }
}

/// `ps --sort` and full IDs in templates with `--no-trunc`; `kill` takes every signal Podman
/// takes (real-time ones too) and refuses others in Podman's words.
#[test]
fn ps_sort_and_kill_signals() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    for name in ["bravo", "alpha", "charlie"] {
        ctx.skiff(["create", "--name", name, "busybox", "true"])
            .ok();
    }
    let names = |sort: &str| {
        ctx.skiff(["ps", "-a", "--sort", sort, "--format", "{{.Names}}"])
            .ok()
            .to_string()
    };
    assert_eq!(names("names"), "alpha\nbravo\ncharlie");
    assert_eq!(names("created"), "bravo\nalpha\ncharlie");
    ctx.skiff(["ps", "--sort", "colour"])
        .fails(125, "invalid option for --sort");
    let full = ctx
        .skiff(["ps", "-a", "--no-trunc", "--format", "{{.ID}}"])
        .ok()
        .to_string();
    assert!(full.lines().all(|id| id.len() == 64), "{full}");

    let id = ctx
        .skiff([
            "run",
            "-d",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            "trap 'echo got64' 64; trap 'echo got37' 37; while :; do sleep 0.1; done",
        ])
        .ok()
        .to_string();
    std::thread::sleep(std::time::Duration::from_millis(300));
    ctx.skiff(["kill", "-s", "64", &id]).ok();
    ctx.skiff(["kill", "-s", "RTMIN+3", &id]).ok();
    let mut logs = String::new();
    for _ in 0..50 {
        logs = ctx.skiff(["logs", &id]).ok().to_string();
        if logs.contains("got64") && logs.contains("got37") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(logs.contains("got64") && logs.contains("got37"), "{logs}");
    for bad in ["0", "bogus"] {
        ctx.skiff(["kill", "-s", bad, &id])
            .fails(125, &format!("invalid signal: {bad}"));
    }
    ctx.skiff(["kill", "-s", "65", &id])
        .fails(125, "valid signals are 1 through 64");
}

/// `build -`: a Containerfile alone on stdin, or a whole context as a tar archive.
#[test]
fn build_reads_a_containerfile_or_a_context_from_stdin() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        ctx.skiff_with_input(
            &["build", "-q", "-t", "alone", "-"],
            b"FROM localhost/busybox\nRUN echo built > /x\nCMD [\"cat\", \"/x\"]\n",
        )
        .ok();
        assert_eq!(
            ctx.skiff(["run", "--rm", "--network", "none", "alone"])
                .ok(),
            "built"
        );
        let mut builder = tar::Builder::new(Vec::new());
        for (name, body) in [
            (
                "Containerfile",
                &b"FROM localhost/busybox\nCOPY a /a\nCMD [\"cat\", \"/a\"]\n"[..],
            ),
            ("a", &b"from the archive\n"[..]),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_cksum();
            builder.append_data(&mut header, name, body).unwrap();
        }
        let archive = builder.into_inner().unwrap();
        ctx.skiff_with_input(&["build", "-q", "-t", "archived", "-"], &archive)
            .ok();
        assert_eq!(
            ctx.skiff(["run", "--rm", "--network", "none", "archived"])
                .ok(),
            "from the archive",
            "{mode:?}"
        );
    }
}

/// `cp` paths in a container that do not start with `/` start at its working directory; a
/// directory onto a file is Podman's error.
#[test]
fn cp_relative_paths_start_at_the_working_directory() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        ctx.skiff([
            "run",
            "-d",
            "--name",
            "c",
            "--workdir",
            "/tmp",
            "--network",
            "none",
            "busybox",
            "sleep",
            "100",
        ])
        .ok();
        let dir = ctx.scratch("files");
        std::fs::write(dir.join("hostfile"), "from the host\n").unwrap();
        ctx.chown(&dir.join("hostfile"));
        ctx.skiff(["cp", dir.join("hostfile").to_str().unwrap(), "c:."])
            .ok();
        assert_eq!(
            ctx.skiff(["exec", "c", "cat", "/tmp/hostfile"]).ok(),
            "from the host"
        );
        ctx.skiff(["exec", "c", "sh", "-c", "echo in the container > /tmp/made"])
            .ok();
        let out = dir.join("out");
        ctx.skiff(["cp", "c:made", out.to_str().unwrap()]).ok();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "in the container\n",
            "{mode:?}"
        );
        ctx.skiff(["cp", "c:/etc", out.to_str().unwrap()]).fails(
            125,
            "destination must be a directory when copying a directory",
        );
    }
}

/// A --workdir that is neither in the image nor brought by a mount is Podman's 126 error; one
/// that a volume brings works.
#[test]
fn a_missing_workdir_is_refused_unless_a_mount_brings_it() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    ctx.skiff([
        "run",
        "--rm",
        "--workdir",
        "/i/do/not/exist",
        "busybox",
        "pwd",
    ])
    .fails(
        126,
        "workdir \"/i/do/not/exist\" does not exist on container",
    );
    let dir = ctx.scratch("volume");
    std::fs::write(dir.join("content"), "mounted\n").unwrap();
    let volume = format!("{}:/NotOnTheImage", dir.display());
    assert_eq!(
        ctx.skiff([
            "run",
            "--rm",
            "--workdir",
            "/NotOnTheImage",
            "-v",
            &volume,
            "busybox",
            "cat",
            "content"
        ])
        .ok(),
        "mounted"
    );
    let file = format!("{}:/NotOnTheImage/foo", dir.join("content").display());
    assert_eq!(
        ctx.skiff([
            "run",
            "--rm",
            "--workdir",
            "/NotOnTheImage",
            "-v",
            &file,
            "busybox",
            "cat",
            "foo"
        ])
        .ok(),
        "mounted"
    );
    assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
}

/// `--replace` removes a container of the same name (running or not) first.
#[test]
fn replace_takes_the_name_over() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let first = ctx
        .skiff([
            "run",
            "-d",
            "--name",
            "web",
            "--network",
            "none",
            "busybox",
            "sleep",
            "100",
        ])
        .ok()
        .to_string();
    ctx.skiff(["create", "--name", "web", "busybox", "true"])
        .fails(125, "web");
    let second = ctx
        .skiff([
            "run",
            "-d",
            "--replace",
            "--name",
            "web",
            "--network",
            "none",
            "busybox",
            "sleep",
            "100",
        ])
        .ok()
        .to_string();
    assert_ne!(first, second);
    assert_eq!(
        ctx.skiff(["ps", "-a", "--no-trunc", "--format", "{{.ID}}"])
            .ok(),
        second
    );
    ctx.skiff(["create", "--replace", "--name", "fresh", "busybox", "true"])
        .ok();
}

/// `wait` on a container that never ran returns at once (Podman 4: exit code 0), also after a
/// start that failed.
#[test]
fn wait_returns_for_containers_that_never_ran() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    ctx.skiff(["create", "--name", "never", "busybox", "/no/such/command"])
        .ok();
    assert_eq!(ctx.skiff(["wait", "never"]).ok(), "0");
    ctx.skiff(["start", "never"]).fails(125, "/no/such/command");
    let code = ctx.skiff(["wait", "never"]).ok().to_string();
    assert!(code.parse::<i32>().is_ok(), "{code}");
}

/// history's {{.CreatedSince}} and {{.CreatedAt}} as images has them; a tab in a format that is
/// not a table stays a tab; --volumepath shows in info.
#[test]
fn history_fields_tabs_and_volumepath() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let history = ctx
        .skiff([
            "image",
            "history",
            "--format",
            "{{.CreatedSince}}--{{.CreatedAt}}",
            "busybox",
        ])
        .ok()
        .to_string();
    let first = history.lines().next().unwrap();
    assert!(
        first.contains(" ago--") && first.ends_with(" +0000 UTC"),
        "{history}"
    );
    assert_eq!(
        ctx.skiff(["history", "--format", "{{.ID}}\\t{{.ID}}", "busybox"])
            .ok()
            .lines()
            .next()
            .unwrap()
            .split('\t')
            .count(),
        2
    );
    let volumes = ctx.dir.join("volumes-here");
    assert_eq!(
        ctx.skiff([
            "--volumepath",
            volumes.to_str().unwrap(),
            "info",
            "--format",
            "{{.Store.VolumePath}}"
        ])
        .ok(),
        volumes.to_str().unwrap()
    );
}

/// `images --noheading` and `--sort`.
#[test]
fn images_noheading_and_sort() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    ctx.skiff(["tag", "busybox", "zeta:1"]).ok();
    ctx.skiff(["tag", "busybox", "alpha:2"]).ok();
    let names = ctx
        .skiff([
            "images",
            "--sort",
            "repository",
            "--format",
            "{{.Repository}}",
        ])
        .ok()
        .to_string();
    assert_eq!(names, "localhost/alpha\nlocalhost/busybox\nlocalhost/zeta");
    let bare = ctx.skiff(["images", "--noheading"]).ok().to_string();
    assert_eq!(bare.lines().count(), 3, "{bare}");
    assert!(!bare.contains("REPOSITORY"));
    ctx.skiff(["images", "--sort", "colour"])
        .fails(125, "invalid option for --sort");
}

/// `/run/.containerenv` as Podman gives it: empty in a default container, and the engine, the
/// container and its image in a privileged one.
#[test]
fn containerenv_tells_a_process_where_it_runs() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let size = ctx
            .skiff([
                "run",
                "--rm",
                "--network",
                "none",
                "busybox",
                "stat",
                "-c",
                "%s",
                "/run/.containerenv",
            ])
            .ok()
            .to_string();
        assert_eq!(size, "0", "{mode:?}");
        let image_id = ctx
            .skiff(["image", "inspect", "--format", "{{.Id}}", "busybox"])
            .ok()
            .to_string();
        let out = ctx
            .skiff([
                "run", "--rm", "--privileged", "--name", "envtest", "--network", "none", "busybox", "sh", "-c",
                ". /run/.containerenv; echo $engine; echo $name; echo $image; echo $id; echo $imageid; echo $rootless",
            ])
            .ok()
            .to_string();
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("skiff-"), "{out}");
        assert_eq!(lines[1], "envtest");
        assert_eq!(lines[2], "localhost/busybox:latest");
        assert_eq!(lines[3].len(), 64);
        assert_eq!(lines[4], image_id);
        assert_eq!(lines[5], if mode == Mode::Root { "0" } else { "1" });
    }
}

/// `--log-driver` and `--log-opt` as Podman: the driver is kept as given, k8s-file and
/// json-file write the log `logs` reads, none writes nothing and `logs` says so, max-size
/// shows in inspect and caps the file, an unknown driver is Podman's error.
#[test]
fn log_drivers_and_options() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        for driver in ["none", "journald", "k8s-file", "json-file"] {
            let name = format!("c-{driver}");
            let out = ctx.skiff([
                "run",
                "--name",
                &name,
                "--log-driver",
                driver,
                "busybox",
                "echo",
                "said",
            ]);
            assert_eq!(out.ok(), "said", "{mode:?} {driver}");
            let config = ctx
                .skiff([
                    "inspect",
                    "--format",
                    "{{.HostConfig.LogConfig.Type}} {{.HostConfig.LogConfig.Path}}",
                    &name,
                ])
                .ok()
                .to_string();
            match driver {
                "k8s-file" | "json-file" => {
                    let (kind, path) = config.split_once(' ').expect("type and path");
                    assert_eq!(kind, driver);
                    let log = std::fs::read_to_string(path).expect("log file");
                    assert!(log.ends_with(" stdout F said\n"), "{log}");
                    assert_eq!(ctx.skiff(["logs", &name]).ok(), "said");
                }
                "none" => {
                    assert_eq!(config, "none");
                    ctx.skiff(["logs", &name])
                        .fails(125, "this container is using the 'none' log driver");
                }
                _ => assert_eq!(config, "journald"),
            }
        }
        ctx.skiff(["run", "--log-driver=InvalidDriver", "busybox", "true"])
            .fails(125, "invalid log driver: invalid argument");
        ctx.skiff(["run", "--log-opt", "color=1", "busybox", "true"])
            .fails(125, "--log-opt");
        // The log starts over when a record would take it past max-size.
        let path = ctx.scratch("logs").join("capped.log");
        let opt = format!("path={}", path.display());
        let out = ctx.skiff([
            "run",
            "--name",
            "capped",
            "--log-opt",
            "max-size=1.5k",
            "--log-opt",
            &opt,
            "busybox",
            "sh",
            "-c",
            "seq 1 200",
        ]);
        assert!(out.ok().ends_with("200"));
        let log = std::fs::read_to_string(&path).expect("log at path=");
        assert!(
            log.len() <= 1500 && log.ends_with(" stdout F 200\n"),
            "{log}"
        );
        assert_eq!(
            ctx.skiff([
                "inspect",
                "--format",
                "{{.HostConfig.LogConfig.Size}}",
                "capped"
            ])
            .ok(),
            "1.5kB"
        );
    }
}

/// `rmi` of one of several names only untags it, with or without `--force`; the ID of an image
/// with several names needs `--force`. `images --filter after=` is `since=`, and spaces in a
/// `table` format separate columns.
#[test]
fn rmi_names_and_image_filters_as_podman() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let id = ctx
        .skiff(["inspect", "--format", "{{.Id}}", "busybox"])
        .ok()
        .to_string();
    ctx.skiff(["tag", "busybox", "extra:1"]).ok();
    assert_eq!(
        ctx.skiff(["rmi", "-f", "extra:1"]).ok(),
        "Untagged: localhost/extra:1"
    );
    // untag without names takes them all, the one given included.
    ctx.skiff(["tag", "busybox", "gone:1"]).ok();
    ctx.skiff(["tag", "gone:1", "gone:2"]).ok();
    ctx.skiff(["untag", "gone:1"]).ok();
    ctx.skiff(["image", "exists", &id]).ok();
    ctx.skiff(["image", "exists", "busybox"]).fails(1, "");
    ctx.skiff(["tag", &id, "busybox"]).ok();
    // A short name untags the name it answers to.
    ctx.skiff(["tag", "busybox", "example.com:5000/short"]).ok();
    assert_eq!(
        ctx.skiff(["rmi", "short"]).ok(),
        "Untagged: example.com:5000/short:latest"
    );
    ctx.skiff(["tag", "busybox", "extra:2"]).ok();
    ctx.skiff(["rmi", &id])
        .fails(125, "by ID with more than one tag");
    assert_eq!(
        ctx.skiff(["images", "--noheading", "--filter", &format!("after={id}")])
            .ok(),
        ""
    );
    let table = ctx
        .skiff([
            "images",
            "--sort",
            "repository",
            "--format",
            "table {{.Repository}} {{.Tag}}",
        ])
        .ok()
        .to_string();
    assert_eq!(
        table, "REPOSITORY         TAG\nlocalhost/busybox  latest\nlocalhost/extra    2",
        "{table}"
    );
}

/// `run --tz`, `--cidfile`, `--conmon-pidfile`, `--rmi` and inspect's ImageDigest, as Podman.
#[test]
fn run_time_zone_id_files_and_image_removal() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        // The last --tz wins; `local` is the host's /etc/localtime.
        let out = ctx.skiff([
            "run",
            "--rm",
            "--tz=Iceland",
            "--tz=MST7MDT",
            "busybox",
            "date",
            "-d",
            "@1600000000",
        ]);
        assert_eq!(out.ok(), "Sun Sep 13 06:26:40 MDT 2020");
        ctx.skiff(["run", "--rm", "--tz=No/Such", "busybox", "true"])
            .fails(125, "unknown time zone No/Such");
        ctx.skiff(["run", "--rm", "--tz=../../etc/passwd", "busybox", "true"])
            .fails(125, "not a time zone name");
        // The ID file must not exist; the monitor's PID is what inspect says.
        let dir = ctx.scratch("files");
        let (cidfile, pidfile) = (dir.join("cid"), dir.join("pid"));
        let id = ctx
            .skiff([
                "run",
                "-d",
                "--cidfile",
                cidfile.to_str().unwrap(),
                "--conmon-pidfile",
                pidfile.to_str().unwrap(),
                "busybox",
                "sleep",
                "100",
            ])
            .ok()
            .to_string();
        assert_eq!(std::fs::read_to_string(&cidfile).unwrap(), id);
        let inspected = ctx
            .skiff([
                "inspect",
                "--format",
                "{{.State.ConmonPid}} {{.ImageDigest}}",
                &id,
            ])
            .ok()
            .to_string();
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        assert!(
            inspected.starts_with(&format!("{pid} sha256:")),
            "{inspected}"
        );
        ctx.skiff([
            "run",
            "--cidfile",
            cidfile.to_str().unwrap(),
            "busybox",
            "true",
        ])
        .fails(125, "container id file exists");
        ctx.skiff(["rm", "-f", &id]).ok();
        // --rmi: the image goes with the --rm container, unless another container uses it.
        ctx.skiff(["create", "--name", "base", "busybox", "true"])
            .ok();
        ctx.skiff(["commit", "-q", "base", "single"]).ok();
        ctx.skiff(["rm", "base"]).ok();
        ctx.skiff(["create", "--name", "keeper", "single", "true"])
            .ok();
        ctx.skiff(["run", "--rm", "--rmi", "single", "true"]).ok();
        ctx.skiff(["image", "exists", "single"]).ok();
        ctx.skiff(["rm", "keeper"]).ok();
        ctx.skiff(["run", "--rmi", "single", "true"])
            .fails(125, "the --rmi option does not work without --rm");
        assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
        ctx.skiff(["run", "--rm", "--rmi", "single", "true"]).ok();
        ctx.skiff(["image", "exists", "single"]).fails(1, "");
        // Of an image with several names, only the name given goes.
        ctx.skiff(["tag", "busybox", "spare"]).ok();
        ctx.skiff(["run", "--rm", "--rmi", "spare", "true"]).ok();
        ctx.skiff(["image", "exists", "spare"]).fails(1, "");
        // Only the name given went: the image keeps its other names.
        ctx.skiff(["image", "exists", "busybox"]).ok();
    }
}

/// `logs -f C1 C2`: both followed at once, lines in the order written, each led by its
/// container's short ID (Podman's multi-container logs).
#[test]
fn logs_of_several_containers_interleave() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let start = |name: &str, script: &str| {
            let id = ctx
                .skiff(["run", "-d", "--name", name, "busybox", "sh", "-c", script])
                .ok()
                .to_string();
            id[..12].to_string()
        };
        let one = start("c1", "echo a; sleep 2; echo d");
        let two = start("c2", "sleep 0.3; echo b; sleep 0.3; echo c");
        assert_eq!(
            ctx.skiff(["logs", "-f", "c1", "c2"]).ok(),
            format!("{one} a\n{two} b\n{two} c\n{one} d")
        );
        // One container: no prefix.
        assert_eq!(ctx.skiff(["logs", "c1"]).ok(), "a\nd");
        ctx.skiff(["logs", "c1", "nope"])
            .fails(125, "no container with name or ID \"nope\"");
    }
}

/// `cp CONTAINER:SRC CONTAINER:DEST` as Podman: into a directory under the source's name, or
/// renamed; running or not, either side.
#[test]
fn cp_between_containers() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        ctx.skiff([
            "run",
            "-d",
            "--name",
            "from",
            "busybox",
            "sh",
            "-c",
            "mkdir -p /srv/d && echo one > /srv/d/f && echo top > /srv/t && sleep 1000",
        ])
        .ok();
        ctx.skiff(["run", "-d", "--name", "live", "busybox", "sleep", "1000"])
            .ok();
        ctx.skiff(["create", "--name", "idle", "busybox", "true"])
            .ok();
        // Wait for the source's files.
        for _ in 0..100 {
            if ctx.skiff(["exec", "from", "test", "-e", "/srv/t"]).code == 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // Rootless, two running containers are in two user namespaces: skiff says so.
        let both_running = match mode {
            Mode::Root => vec!["live", "idle"],
            Mode::Rootless => {
                ctx.skiff(["cp", "from:/srv/t", "live:/tmp"])
                    .fails(125, "container live runs in another user namespace");
                vec!["idle"]
            }
        };
        for to in both_running {
            ctx.skiff(["cp", "from:/srv/t", &format!("{to}:/tmp")]).ok();
            ctx.skiff(["cp", "from:/srv/d", &format!("{to}:/tmp/renamed")])
                .ok();
        }
        ctx.skiff(["stop", "-t", "0", "from"]).ok();
        ctx.skiff(["cp", "from:/srv/t", "live:/tmp/t"]).ok();
        ctx.skiff(["cp", "from:/srv/d", "live:/tmp/renamed"]).ok();
        assert_eq!(
            ctx.skiff(["exec", "live", "cat", "/tmp/t", "/tmp/renamed/f"])
                .ok(),
            "top\none"
        );
        ctx.skiff(["cp", "idle:/tmp/renamed/f", "live:/tmp/back"])
            .ok();
        assert_eq!(ctx.skiff(["exec", "live", "cat", "/tmp/back"]).ok(), "one");
        ctx.skiff(["cp", "from:/nope", "live:/tmp"])
            .fails(125, "could not be found on container from");
        ctx.skiff(["rm", "-f", "-t", "0", "from", "live", "idle"])
            .ok();
    }
}

/// `cp` resolves paths as Podman does: symlinks inside the container are followed there (a
/// dangling one as a destination names the new file, as a source it is missing), a directory
/// and a file replace each other only with `--overwrite`, a stream must be a (compressed) tar
/// archive, a destination symlink on the host is written through, and copies belong to the
/// container's user.
#[test]
fn cp_follows_podmans_path_rules() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        ctx.skiff([
            "run",
            "-d",
            "--name",
            "box",
            "--user",
            "1000:1001",
            "busybox",
            "sh",
            "-c",
            "mkdir /tmp/d1 /tmp/sub /tmp/dir && ln -s /tmp/nonesuch /tmp/d1/x && ln -s /tmp/other /tmp/d1/y \
             && ln -s .. /tmp/sub/up && ln -s /etc/hostfile /tmp/away && echo in > /tmp/dir/f && touch /tmp/file && sleep 1000",
        ])
        .ok();
        for _ in 0..100 {
            if ctx.skiff(["exec", "box", "test", "-e", "/tmp/file"]).code == 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let dir = ctx.scratch("cp-rules");
        let host = |name: &str| dir.join(name).to_str().unwrap().to_string();
        std::fs::write(dir.join("hostfile"), "from the host\n").unwrap();
        std::fs::create_dir_all(dir.join("hostdir")).unwrap();
        std::fs::write(dir.join("hostdir/inner"), "inner\n").unwrap();
        for path in ["hostfile", "hostdir", "hostdir/inner"] {
            ctx.chown(&dir.join(path));
        }

        // Into a dangling symlink: the file lands where it points; with a trailing slash the
        // missing directory is an error and nothing is made.
        ctx.skiff(["cp", &host("hostfile"), "box:/tmp/d1/x"]).ok();
        assert_eq!(
            ctx.skiff(["exec", "box", "cat", "/tmp/nonesuch"]).ok(),
            "from the host"
        );
        ctx.skiff(["cp", &host("hostfile"), "box:/tmp/d1/y/"]).fails(
            125,
            "Error: \"/tmp/d1/y/\" could not be found on container box: no such file or directory",
        );
        ctx.skiff(["exec", "box", "test", "-e", "/tmp/other"])
            .fails(1, "");
        // A trailing slash asks for a directory, which a file is not.
        ctx.skiff(["cp", &host("hostfile"), "box:/tmp/d1/x/"])
            .fails(125, "could not be found on container box");
        ctx.skiff(["cp", &host("nosuch"), "box:/tmp"]).fails(
            125,
            &format!(
                "Error: \"{}\" could not be found on the host: no such file or directory",
                host("nosuch")
            ),
        );
        // Copies belong to the container's user.
        assert_eq!(
            ctx.skiff(["exec", "box", "stat", "-c", "%u:%g", "/tmp/nonesuch"])
                .ok(),
            "1000:1001"
        );

        // Out of a symlinked directory: what it points to, under the new name.
        ctx.skiff(["cp", "box:/tmp/sub/up", &host("out")]).ok();
        assert_eq!(
            std::fs::read_to_string(dir.join("out/dir/f")).unwrap(),
            "in\n"
        );
        // A link to the host's space is missing inside the container, not the host's file.
        ctx.skiff(["cp", "box:/tmp/away", &host("away")])
            .fails(125, "\"/tmp/away\" could not be found on container box");
        assert!(!dir.join("away").exists());

        // A directory and a file replace each other only when asked.
        ctx.skiff(["cp", &host("hostfile"), "box:/tmp/dir"]).ok();
        std::fs::rename(dir.join("hostfile"), dir.join("dir")).unwrap();
        ctx.skiff(["cp", &host("dir"), "box:/tmp"])
            .fails(125, "error creating \"/tmp/dir\": ");
        assert_eq!(ctx.skiff(["exec", "box", "cat", "/tmp/dir/f"]).ok(), "in");
        ctx.skiff(["cp", "--overwrite", &host("dir"), "box:/tmp"])
            .ok();
        assert_eq!(
            ctx.skiff(["exec", "box", "cat", "/tmp/dir"]).ok(),
            "from the host"
        );
        ctx.skiff(["cp", "box:/tmp/sub", &host("dir")]).fails(
            125,
            "destination must be a directory when copying a directory",
        );

        // A destination symlink on the host is written through; the link stays.
        std::os::unix::fs::symlink(dir.join("dir"), dir.join("link")).unwrap();
        ctx.skiff(["cp", "box:/tmp/file", &host("link")]).ok();
        assert!(
            std::fs::symlink_metadata(dir.join("link"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(dir.join("dir")).unwrap(), "");

        // A stream: gzip'd tar is unpacked; anything else, or a file destination, is refused.
        let mut builder = tar::Builder::new(Vec::new());
        builder.append_dir_all("tree", dir.join("hostdir")).unwrap();
        let archive = builder.into_inner().unwrap();
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gzip, &archive).unwrap();
        ctx.skiff_with_input(&["cp", "-", "box:/tmp"], &gzip.finish().unwrap())
            .ok();
        assert_eq!(
            ctx.skiff(["exec", "box", "cat", "/tmp/tree/inner"]).ok(),
            "inner"
        );
        ctx.skiff_with_input(&["cp", "-", "box:/tmp"], b"not an archive\n")
            .fails(
                125,
                "Error: source must be a (compressed) tar archive when copying from stdin",
            );
        ctx.skiff_with_input(&["cp", "-", "box:/tmp/file"], &archive)
            .fails(
                125,
                "Error: destination must be a directory when copying from stdin",
            );
        ctx.skiff_with_input(&["cp", "-", "box:/tmp/absent"], &archive)
            .fails(
                125,
                "Error: destination must be a directory when copying from stdin",
            );
        ctx.skiff(["rm", "-f", "-t", "0", "box"]).ok();
    }
}

/// `cp --archive=false` keeps the owners the archive gives; the default makes the container's
/// root the owner. `--pause` (default) and `--pause=false` both copy into a running container.
#[test]
fn cp_archive_and_pause() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        ctx.skiff(["run", "-d", "--name", "box", "busybox", "sleep", "1000"])
            .ok();
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o644);
        header.set_uid(1042);
        header.set_gid(1043);
        header.set_cksum();
        builder
            .append_data(&mut header, "owned", &b"abc"[..])
            .unwrap();
        let archive = builder.into_inner().unwrap();
        ctx.skiff_with_input(&["cp", "--archive=false", "-", "box:/tmp"], &archive)
            .ok();
        ctx.skiff_with_input(&["cp", "--pause=false", "-", "box:/root"], &archive)
            .ok();
        assert_eq!(
            ctx.skiff([
                "exec",
                "box",
                "stat",
                "-c",
                "%u:%g",
                "/tmp/owned",
                "/root/owned"
            ])
            .ok(),
            "1042:1043\n0:0"
        );
        ctx.skiff(["rm", "-f", "-t", "0", "box"]).ok();
    }
}

/// `events` with Podman's file backend: what containers and images went through, filtered
/// (one key's values are alternatives), formatted, streamed until `--until`; the none
/// backend cannot be read.
#[test]
fn events_of_containers_and_images() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        ctx.skiff([
            "run", "--rm", "--name", "foo", "--label", "tier=web", "busybox", "sh", "-c", "exit 17",
        ])
        .fails(17, "");
        let id = ctx
            .skiff(["run", "-d", "--name", "bar", "busybox", "true"])
            .ok()
            .to_string();
        ctx.skiff(["wait", "bar"]).ok();
        ctx.skiff(["rm", "bar"]).ok();
        let statuses = ctx
            .skiff([
                "events",
                "--stream=false",
                "--filter",
                "container=foo",
                "--format",
                "{{.Status}}",
            ])
            .ok()
            .to_string();
        assert_eq!(statuses, "create\ninit\nstart\ndied\nremove");
        assert_eq!(
            ctx.skiff([
                "events",
                "--stream=false",
                "--filter=status=died",
                "--filter=container=foo",
                "--format",
                "{{.Attributes.tier}} {{.ContainerExitCode}}",
            ])
            .ok(),
            "web 17"
        );
        let started = ctx
            .skiff([
                "events",
                "--stream=false",
                "-f",
                "container=foo",
                "-f",
                "container=bar",
                "-f",
                "event=start",
            ])
            .ok()
            .to_string();
        let lines: Vec<&str> = started.lines().collect();
        assert_eq!(lines.len(), 2, "{started}");
        assert!(
            lines[0].contains(" container start ") && lines[0].contains("name=foo, tier=web)"),
            "{started}"
        );
        assert!(
            lines[1].contains(&format!(" container start {id} ")),
            "{started}"
        );
        let short = ctx
            .skiff([
                "events",
                "--stream=false",
                "--no-trunc=false",
                "-f",
                "container=bar",
                "-f",
                "event=start",
            ])
            .ok()
            .to_string();
        assert!(
            short.contains(&format!(" {} (image=", &id[..12])),
            "{short}"
        );
        ctx.skiff(["tag", "busybox", "registry.com/extra"]).ok();
        ctx.skiff(["rmi", "registry.com/extra"]).ok();
        assert_eq!(
            ctx.skiff([
                "events",
                "--stream=false",
                "--filter",
                "type=image",
                "--format",
                "{{.Status}}--{{.Name}}",
            ])
            .ok(),
            "tag--registry.com/extra\nuntag--registry.com/extra:latest"
        );
        // Streaming stops at --until.
        let until = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
        let streamed = ctx
            .skiff(["events", "--until", &until, "--filter", "type=image"])
            .ok()
            .to_string();
        assert_eq!(streamed.lines().count(), 2, "{streamed}");
        ctx.skiff(["--events-backend", "none", "events", "--stream=false"])
            .fails(125, "cannot read events with the \"none\" backend");
        ctx.skiff(["events", "--filter", "color=red"])
            .fails(125, "supported filters are");
    }
}

/// `--pid`, `--ipc`, `--uts`: the host's namespaces, or another container's (which must run
/// and cannot be removed while a container shares them).
#[test]
fn pid_ipc_and_uts_namespaces_are_shared() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(
            ctx.skiff(["run", "--rm", "--uts=host", "busybox", "hostname"])
                .ok(),
            host_name.trim()
        );
        // The host's processes are seen (more than the container's own few).
        let seen = ctx
            .skiff([
                "run",
                "--rm",
                "--pid=host",
                "busybox",
                "sh",
                "-c",
                "ls -d /proc/[0-9]* | wc -l",
            ])
            .ok()
            .to_string();
        assert!(seen.parse::<u32>().unwrap() > 10, "{seen}");
        ctx.skiff([
            "run",
            "-d",
            "--name",
            "first",
            "--hostname",
            "shared",
            "busybox",
            "sleep",
            "1000",
        ])
        .ok();
        let out = ctx
            .skiff([
                "run",
                "--rm",
                "--pid",
                "container:first",
                "--ipc",
                "container:first",
                "--uts",
                "container:first",
                "busybox",
                "sh",
                "-c",
                "hostname; cat /proc/1/cmdline | tr '\\0' ' '",
            ])
            .ok()
            .to_string();
        assert_eq!(out, "shared\nsleep 1000");
        ctx.skiff([
            "create",
            "--name",
            "second",
            "--pid",
            "container:first",
            "busybox",
            "true",
        ])
        .ok();
        assert_eq!(
            ctx.skiff([
                "inspect",
                "--format",
                "{{.HostConfig.PidMode}} {{.HostConfig.UTSMode}}",
                "second"
            ])
            .ok(),
            format!(
                "container:{} private",
                ctx.skiff(["inspect", "--format", "{{.Id}}", "first"]).ok()
            )
        );
        ctx.skiff(["rm", "-f", "first"]).fails(
            125,
            "has dependent containers which must be removed before it: second",
        );
        ctx.skiff(["rm", "second"]).ok();
        ctx.skiff(["rm", "-f", "-t", "0", "first"]).ok();
        ctx.skiff([
            "run",
            "--rm",
            "--uts=host",
            "--hostname",
            "x",
            "busybox",
            "true",
        ])
        .fails(125, "cannot set the hostname");
        ctx.skiff(["run", "--rm", "--pid=bogus", "busybox", "true"])
            .fails(125, "--pid \"bogus\"");
        ctx.skiff(["run", "--rm", "--pid=container:nope", "busybox", "true"])
            .fails(125, "nope");
    }
}

/// inspect's ImageName is the name the container was created from, of the image's names.
#[test]
fn image_name_is_the_one_given() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    ctx.skiff(["tag", "busybox", "example.com/app"]).ok();
    ctx.skiff(["tag", "busybox", "example.com/app:v2"]).ok();
    for (given, shown) in [
        ("example.com/app:v2", "example.com/app:v2"),
        ("example.com/app", "example.com/app:latest"),
        ("busybox", "localhost/busybox:latest"),
    ] {
        let id = ctx.skiff(["create", given, "true"]).ok().to_string();
        assert_eq!(
            ctx.skiff(["inspect", "--format", "{{.ImageName}}", &id])
                .ok(),
            shown
        );
    }
}

/// `run --attach STREAM`: only the streams named reach the terminal (all are logged); attached
/// to stdin alone, run prints the container's ID, as Podman.
#[test]
fn run_attaches_the_streams_named() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let script = "echo out; echo err >&2";
        let out = ctx.skiff([
            "run", "--name", "o", "-a", "stdout", "busybox", "sh", "-c", script,
        ]);
        assert_eq!((out.ok(), out.stderr.as_str()), ("out", ""));
        let err = ctx.skiff(["run", "--rm", "-a", "stderr", "busybox", "sh", "-c", script]);
        assert_eq!((err.ok(), err.stderr.as_str()), ("", "err\n"));
        let logged = ctx.skiff(["logs", "o"]);
        assert_eq!((logged.ok(), logged.stderr.as_str()), ("out", "err\n"));
        let id = ctx
            .skiff([
                "run", "--name", "i", "--attach", "stdin", "busybox", "echo", "hello",
            ])
            .ok()
            .to_string();
        assert_eq!(ctx.skiff(["inspect", "--format", "{{.Id}}", "i"]).ok(), id);
        ctx.skiff(["run", "-a", "bogus", "busybox", "true"])
            .fails(125, "invalid stream \"bogus\" for --attach");
        ctx.skiff(["run", "-d", "-a", "stdout", "busybox", "true"])
            .fails(125, "--attach and --detach cannot be set at the same time");
    }
}

/// `run --timeout N`: the monitor kills the container after N seconds; its exit code is -1
/// (255 from run), as Podman's.
#[test]
fn run_timeout_kills_the_container() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let start = std::time::Instant::now();
        ctx.skiff([
            "run",
            "--name",
            "slow",
            "--timeout",
            "1",
            "busybox",
            "sleep",
            "60",
        ])
        .fails(255, "");
        let took = start.elapsed();
        assert!(took < std::time::Duration::from_secs(30), "{took:?}");
        assert_eq!(
            ctx.skiff([
                "inspect",
                "--format",
                "{{.State.Status}} {{.State.ExitCode}} {{.Config.Timeout}}",
                "slow"
            ])
            .ok(),
            "exited -1 1"
        );
        // Also one that closed its output first.
        ctx.skiff([
            "run",
            "--rm",
            "--timeout",
            "1",
            "busybox",
            "sh",
            "-c",
            "exec >&- 2>&-; sleep 60",
        ])
        .fails(255, "");
        // A container that ends in time keeps its own code.
        ctx.skiff([
            "run",
            "--rm",
            "--timeout",
            "30",
            "busybox",
            "sh",
            "-c",
            "exit 3",
        ])
        .fails(3, "");
    }
}

/// A container's processes start with no signal ignored, as under Podman: skiff (a Rust
/// program) ignores SIGPIPE, and an ignored signal would stay ignored across exec, so a shell
/// in the container could not even trap it (Podman's kill test traps SIGPIPE).
#[test]
fn container_processes_start_with_no_signal_ignored() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "busybox",
                "grep",
                "SigIgn",
                "/proc/self/status"
            ])
            .ok(),
            "SigIgn:\t0000000000000000"
        );
        ctx.skiff(["run", "-d", "--name", "box", "busybox", "sleep", "1000"])
            .ok();
        assert_eq!(
            ctx.skiff(["exec", "box", "grep", "SigIgn", "/proc/self/status"])
                .ok(),
            "SigIgn:\t0000000000000000"
        );
        ctx.skiff(["rm", "-f", "-t", "0", "box"]).ok();
    }
}

/// `images --format {{.History}}`: the names an image has had, its names now first, then the
/// ones it lost, most recently held first (Podman's NamesHistory).
#[test]
fn images_history_keeps_names_the_image_had() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    ctx.skiff(["create", "--name", "c", "busybox", "true"]).ok();
    ctx.skiff(["commit", "-q", "c", "mine"]).ok();
    let history = || {
        ctx.skiff(["images", "mine", "--format", "{{ .History }}"])
            .ok()
            .to_string()
    };
    assert_eq!(history(), "localhost/mine:latest");
    for name in ["one", "two"] {
        ctx.skiff(["tag", "mine", name]).ok();
        ctx.skiff(["rmi", name]).ok();
    }
    assert_eq!(
        history(),
        "localhost/mine:latest, localhost/two:latest, localhost/one:latest"
    );
}

/// `kill -s` as Podman reads it: one leading dash is dropped (`-HUP`, `-1`), numbers past 64
/// and unknown names are refused before any container is looked up.
#[test]
fn kill_signals_with_a_dash_and_out_of_range() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    for (signal, error) in [
        ("-0", "invalid signal: 0"),
        ("-BADSIG", "invalid signal: BADSIG"),
        ("-65", "valid signals are 1 through 64"),
        ("99999999", "valid signals are 1 through 64"),
    ] {
        ctx.skiff(["kill", "-s", signal, "nosuchcontainer"])
            .fails(125, error);
    }
    ctx.skiff([
        "run",
        "-d",
        "--name",
        "trapper",
        "busybox",
        "sh",
        "-c",
        "trap 'echo got HUP' HUP; echo ready; while true; do sleep 0.1; done",
    ])
    .ok();
    for _ in 0..100 {
        if ctx.skiff(["logs", "trapper"]).ok().contains("ready") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // One at a time: a shell runs a trap once for signals that arrive together.
    for (signal, count) in [("-HUP", 1), ("-1", 2)] {
        ctx.skiff(["kill", "-s", signal, "trapper"]).ok();
        let mut logs = String::new();
        for _ in 0..100 {
            logs = ctx.skiff(["logs", "trapper"]).ok().to_string();
            if logs.matches("got HUP").count() == count {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(logs.matches("got HUP").count(), count, "{signal}: {logs}");
    }
    ctx.skiff(["rm", "-f", "-t", "0", "trapper"]).ok();
}

#[test]
fn latest_means_the_container_created_last() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    ctx.skiff(["inspect", "-l"])
        .fails(125, "no containers to inspect: no such container");
    ctx.skiff(["diff", "-l"]).fails(125, "no such container");
    ctx.skiff(["create", "--name", "older", "busybox", "true"])
        .ok();
    ctx.skiff([
        "run",
        "--name",
        "newer",
        "busybox",
        "sh",
        "-c",
        "touch /made; rm /etc/passwd",
    ])
    .ok();
    let diff = ctx.skiff(["diff", "-l", "--format", "json"]);
    let diff: serde_json::Value = serde_json::from_str(diff.ok()).unwrap();
    assert_eq!(diff["added"], serde_json::json!(["/made"]));
    assert_eq!(diff["deleted"], serde_json::json!(["/etc/passwd"]));
    assert_eq!(
        ctx.skiff(["inspect", "-l", "--format", "{{.Name}}"]).ok(),
        "newer"
    );
    ctx.skiff(["diff", "-l", "newer"])
        .fails(125, "--latest and containers cannot be used together");
    // rm -l takes the newest, and the next rm -l the one before it.
    assert_eq!(ctx.skiff(["rm", "-l"]).ok().len(), 64);
    assert_eq!(
        ctx.skiff(["ps", "-a", "--format", "{{.Names}}"]).ok(),
        "older"
    );
    ctx.skiff(["rm", "-l"]).ok();
    ctx.skiff(["rm", "-l"]).fails(125, "no such container");
}

#[test]
fn cp_of_a_directory_to_the_host_keeps_every_file() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    ctx.skiff([
        "run",
        "-d",
        "--name",
        "src",
        "busybox",
        "sh",
        "-c",
        "mkdir -p /srv/subdir; echo zero > /srv/subdir/f0; echo one > /srv/subdir/f1; sleep 1000",
    ])
    .ok();
    let dest = ctx.scratch("dest");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while ctx
        .skiff(["exec", "src", "test", "-e", "/srv/subdir/f1"])
        .code
        != 0
    {
        assert!(std::time::Instant::now() < deadline, "never written");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    ctx.skiff(["cp", "src:/srv", dest.to_str().unwrap()]).ok();
    assert_eq!(
        std::fs::read_to_string(dest.join("srv/subdir/f1")).unwrap(),
        "one\n"
    );
    // To stdout: a tar ending on a whole record, as GNU tar writes one.
    let tar = ctx.command(["cp", "src:/srv", "-"]).output().unwrap();
    assert!(tar.status.success());
    assert_eq!(tar.stdout.len() % 10240, 0, "{}", tar.stdout.len());
    ctx.skiff(["rm", "-f", "-t", "0", "src"]).ok();
}

#[test]
fn a_group_without_its_command_or_with_an_unknown_one_says_so_as_podman() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(SKIFF)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&[]);
    assert_eq!(code, Some(125));
    assert!(stdout.contains("Usage:"), "{stdout}");
    assert_eq!(stderr.trim(), "Error: missing command 'skiff COMMAND'");
    let (code, stdout, stderr) = run(&["image"]);
    assert_eq!(code, Some(125));
    assert!(stdout.contains("Usage: skiff image"), "{stdout}");
    assert_eq!(
        stderr.trim(),
        "Error: missing command 'skiff image COMMAND'"
    );
    let (code, _, stderr) = run(&["image", "nosuch"]);
    assert_eq!(code, Some(125));
    assert_eq!(
        stderr.trim(),
        "Error: unrecognized command `skiff image nosuch`\nTry 'skiff image --help' for more information"
    );
    let (code, stdout, _) = run(&["--help"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("Usage:"), "{stdout}");
}

/// `--annotation KEY=VALUE` reaches the OCI configuration the runtime gets and `inspect`'s
/// Config.Annotations; one without `=` is refused as Podman refuses it, making nothing.
#[test]
fn annotations_reach_the_runtime_and_inspect() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    ctx.skiff(["run", "--annotation", "novalue", "busybox", "true"])
        .fails(125, "annotations must be formatted KEY=VALUE");
    assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
    let id = ctx
        .skiff([
            "run",
            "-d",
            "--annotation",
            "org.example/a=b",
            "--annotation",
            "c=d=e",
            "busybox",
            "sleep",
            "100",
        ])
        .ok()
        .to_string();
    assert_eq!(
        ctx.skiff([
            "inspect",
            "--format",
            "{{index .Config.Annotations \"org.example/a\"}} {{index .Config.Annotations \"c\"}}",
            &id
        ])
        .ok(),
        "b d=e"
    );
    let config = ctx
        .runroot()
        .join("containers")
        .join(&id)
        .join("config.json");
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    assert_eq!(config["annotations"]["org.example/a"], "b", "{config}");
    assert_eq!(config["annotations"]["c"], "d=e", "{config}");
    ctx.skiff(["rm", "-f", "-t", "0", &id]).ok();
}

/// `--group-add`: numbers and the image's group names join the process's groups (exec's too);
/// `keep-groups` stands alone, as in Podman; an unknown name fails the start with Podman's words.
#[test]
fn group_add_gives_the_process_more_groups() {
    skiff_test::in_both_modes(SKIFF, |ctx| {
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "--group-add",
                "457",
                "--group-add",
                "wheel",
                "busybox",
                "id",
                "-G"
            ])
            .ok(),
            "0 10 457"
        );
        ctx.skiff([
            "run",
            "--rm",
            "--group-add",
            "keep-groups",
            "--group-add",
            "457",
            "busybox",
            "true",
        ])
        .fails(
            125,
            "the '--group-add keep-groups' option is not allowed with any other --group-add options",
        );
        let out = ctx.skiff(["run", "--rm", "--group-add", "nosuch", "busybox", "true"]);
        assert!(
            out.stderr
                .contains("unable to find group nosuch: no matching entries in group file"),
            "{out:?}"
        );
        assert_ne!(out.code, 0);
        let id = ctx
            .skiff([
                "run",
                "-d",
                "--user",
                "tester",
                "--group-add",
                "tty",
                "busybox",
                "sleep",
                "100",
            ])
            .ok()
            .to_string();
        assert_eq!(ctx.skiff(["exec", &id, "id", "-G"]).ok(), "1000 5 10");
        assert_eq!(
            ctx.skiff(["exec", "--user", "root", &id, "id", "-G"]).ok(),
            "0 5"
        );
        ctx.skiff(["rm", "-f", "-t", "0", &id]).ok();
    });
}

/// `--preserve-fds N`: the caller's descriptors 3.. reach the container; one the caller was
/// not given is refused, as Podman refuses it.
#[test]
fn preserve_fds_passes_the_callers_descriptors() {
    skiff_test::in_both_modes(SKIFF, |ctx| {
        let file = ctx.scratch("fds").join("tempfile");
        std::fs::write(&file, "passed along\n").unwrap();
        ctx.chown(&file);
        let script = format!("exec 4<{} 3</dev/null; exec \"$@\"", file.display());
        let run = |extra: &[&str]| {
            let mut args: Vec<&str> = vec!["run", "--rm", "-i"];
            args.extend_from_slice(extra);
            args.extend_from_slice(&["busybox", "sh", "-c", "cat <&4"]);
            let command = ctx.command(["--version"]);
            // The same command line, through a shell that opens descriptors 3 and 4.
            let program = command.get_program().to_os_string();
            let prefix: Vec<std::ffi::OsString> =
                command.get_args().map(|a| a.to_os_string()).collect();
            let prefix = &prefix[..prefix.len() - 1];
            let mut shell = std::process::Command::new("sh");
            shell
                .arg("-c")
                .arg(&script)
                .arg("sh")
                .arg(&program)
                .args(prefix)
                .args(&args);
            for (key, value) in command.get_envs() {
                match value {
                    Some(value) => shell.env(key, value),
                    None => shell.env_remove(key),
                };
            }
            shell.output().unwrap()
        };
        let out = run(&["--preserve-fds=2"]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "passed along\n",
            "{out:?}"
        );
        // Without the flag the container has no descriptor 4.
        let out = run(&[]);
        assert!(!out.status.success(), "{out:?}");
        let out = ctx.skiff(["run", "--rm", "--preserve-fds=1", "busybox", "true"]);
        out.fails(125, "file descriptor 3 is not available");
    });
}

/// Podman's run flags for what a container is given: `--volumes-from` (the source's mode, or
/// the one asked for), `--env-host`, `--label-file`, `--expose` published by `-P`, `--umask`,
/// `--pidfile`, `--init-path`, and `--arch`/`--os` beside `--platform`.
#[test]
fn run_flags_for_what_the_container_gets() {
    skiff_test::in_both_modes(SKIFF, |ctx| {
        let host = ctx.scratch("shared");
        ctx.chown(&host);
        let bind = format!("{}:/host", host.display());
        ctx.skiff([
            "create",
            "--name",
            "src",
            "-v",
            "data:/data",
            "-v",
            &bind,
            "busybox",
            "true",
        ])
        .ok();
        ctx.skiff([
            "run",
            "--rm",
            "-v",
            "data:/data",
            "busybox",
            "sh",
            "-c",
            "echo kept > /data/f",
        ])
        .ok();
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "--volumes-from",
                "src",
                "busybox",
                "cat",
                "/data/f"
            ])
            .ok(),
            "kept"
        );
        ctx.skiff([
            "run",
            "--rm",
            "--volumes-from",
            "src",
            "busybox",
            "touch",
            "/host/made",
        ])
        .ok();
        assert!(host.join("made").exists());
        ctx.skiff([
            "run",
            "--rm",
            "--volumes-from",
            "src:ro",
            "busybox",
            "touch",
            "/data/g",
        ])
        .fails(1, "Read-only file system");
        ctx.skiff(["run", "--rm", "--volumes-from", "nosuch", "busybox", "true"])
            .fails(125, "no container with name or ID \"nosuch\" found");
        ctx.skiff([
            "run",
            "--rm",
            "--volumes-from",
            "src:bogus",
            "busybox",
            "true",
        ])
        .fails(125, "invalid options \"bogus\" for --volumes-from");

        let env = ctx.skiff_with_env(
            &[("SKIFF_FROM_HOST", "host value")],
            &[
                "run",
                "--rm",
                "--env-host",
                "busybox",
                "sh",
                "-c",
                "echo $SKIFF_FROM_HOST",
            ],
        );
        assert_eq!(env.ok(), "host value");

        let labels = ctx.scratch("labels").join("file");
        std::fs::write(&labels, "# a comment\nteam=storage\n\nlone\n").unwrap();
        ctx.chown(&labels);
        let id = ctx
            .skiff([
                "create",
                "--label-file",
                labels.to_str().unwrap(),
                "--label",
                "team=net",
                "--expose",
                "7000-7001",
                "-P",
                "--umask",
                "0077",
                "busybox",
                "sh",
                "-c",
                "umask",
            ])
            .ok()
            .to_string();
        assert_eq!(
            ctx.skiff([
                "inspect",
                "--format",
                "{{index .Config.Labels \"team\"}}:{{index .Config.Labels \"lone\"}}: {{.Config.Umask}}",
                &id
            ])
            .ok(),
            "net:: 0077"
        );
        ctx.skiff(["start", "-a", &id]).ok();
        assert_eq!(ctx.skiff(["logs", &id]).ok(), "0077");
        let ports = ctx.skiff(["port", &id]).ok().to_string();
        assert!(
            ports.contains("7000/tcp -> ") && ports.contains("7001/tcp -> "),
            "{ports}"
        );
        ctx.skiff(["create", "--expose", "http", "busybox", "true"])
            .fails(125, "invalid port format for --expose: http");
        ctx.skiff(["create", "--umask", "9", "busybox", "true"])
            .fails(125, "invalid umask string 9");

        let pidfile = ctx.scratch("pids").join("pid");
        let pidfile = pidfile.to_str().unwrap();
        let id = ctx
            .skiff(["run", "-d", "--pidfile", pidfile, "busybox", "sleep", "100"])
            .ok()
            .to_string();
        let pid = std::fs::read_to_string(pidfile).unwrap();
        assert_eq!(
            ctx.skiff(["inspect", "--format", "{{.State.Pid}} {{.PidFile}}", &id])
                .ok(),
            format!("{pid} {pidfile}")
        );
        ctx.skiff(["rm", "-f", "-t", "0", &id]).ok();

        ctx.skiff([
            "run",
            "--rm",
            "--init",
            "--init-path",
            "/nonexistent/init",
            "busybox",
            "true",
        ])
        .fails(125, "--init-path /nonexistent/init: no such file");
        // --read-only leaves /run, /tmp and /var/tmp writable (tmpfs) unless told otherwise.
        ctx.skiff([
            "run",
            "--rm",
            "--read-only",
            "busybox",
            "touch",
            "/run/a",
            "/tmp/b",
            "/var/tmp/c",
        ])
        .ok();
        ctx.skiff([
            "run",
            "--rm",
            "--read-only",
            "--read-only-tmpfs=false",
            "busybox",
            "touch",
            "/tmp/b",
        ])
        .fails(1, "Read-only file system");
        ctx.skiff([
            "create",
            "--platform",
            "linux/amd64",
            "--arch",
            "arm64",
            "busybox",
        ])
        .fails(
            125,
            "--platform option can not be specified with --arch or --os",
        );
    });
}

/// `--personality LINUX32` is the process's execution domain; `--seccomp-policy image` takes
/// the profile in the image's io.containers.seccomp.profile label (default: skiff's own).
#[test]
fn personality_and_the_images_seccomp_profile() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    if std::env::consts::ARCH == "x86_64" {
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "--personality",
                "LINUX32",
                "busybox",
                "uname",
                "-m"
            ])
            .ok(),
            "i686"
        );
    }
    ctx.skiff(["run", "--rm", "--personality", "BSD", "busybox", "true"])
        .fails(125, "invalid personality \"BSD\"");
    let profile = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#;
    let containerfile =
        format!("FROM localhost/busybox\nLABEL io.containers.seccomp.profile='{profile}'\n");
    ctx.skiff_with_input(
        &["build", "-q", "-t", "strict", "-"],
        containerfile.as_bytes(),
    )
    .ok();
    ctx.skiff(["run", "--rm", "strict", "mkdir", "/made"]).ok();
    ctx.skiff([
        "run",
        "--rm",
        "--seccomp-policy",
        "image",
        "strict",
        "mkdir",
        "/made",
    ])
    .fails(1, "Operation not permitted");
    ctx.skiff([
        "run",
        "--rm",
        "--seccomp-policy",
        "newest",
        "strict",
        "true",
    ])
    .fails(
        125,
        "invalid seccomp policy \"newest\": valid policies are [\"default\" \"image\"]",
    );
}

/// `secret create|ls|inspect|rm|exists` and `run --secret`: the data reaches the container as
/// a read-only file (mode and path as asked) or a variable, never `inspect`; a secret in use
/// stays; bad names and unknown secrets get one error line.
#[test]
fn secrets_are_kept_apart_and_given_to_containers() {
    skiff_test::in_both_modes(SKIFF, |ctx| {
        let id = ctx
            .skiff_with_input(&["secret", "create", "db-pass", "-"], b"s3cret")
            .ok()
            .to_string();
        assert_eq!(id.len(), 25, "{id}");
        ctx.skiff_with_input(&["secret", "create", "db-pass", "-"], b"other")
            .fails(125, "db-pass: secret name in use");
        ctx.skiff_with_input(&["secret", "create", "bad/name", "-"], b"x")
            .fails(125, "invalid secret name");
        assert_eq!(
            ctx.skiff(["secret", "ls", "--format", "{{.ID}} {{.Name}} {{.Driver}}"])
                .ok(),
            format!("{id} db-pass file")
        );
        let inspect = ctx.skiff(["secret", "inspect", "db-pass"]).ok().to_string();
        assert!(!inspect.contains("s3cret"), "{inspect}");
        let json: serde_json::Value = serde_json::from_str(&inspect).unwrap();
        assert_eq!(json[0]["Spec"]["Name"], "db-pass", "{inspect}");
        assert_eq!(json[0]["ID"], id.as_str(), "{inspect}");

        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "--secret",
                "db-pass",
                "busybox",
                "cat",
                "/run/secrets/db-pass"
            ])
            .ok(),
            "s3cret"
        );
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "--secret",
                "db-pass,type=env,target=PASS",
                "busybox",
                "sh",
                "-c",
                "echo $PASS"
            ])
            .ok(),
            "s3cret"
        );
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "--secret",
                "db-pass,target=/etc/pw,mode=0400",
                "busybox",
                "stat",
                "-c",
                "%a",
                "/etc/pw"
            ])
            .ok(),
            "400"
        );
        let write = ctx.skiff([
            "run",
            "--rm",
            "--secret",
            "db-pass",
            "busybox",
            "sh",
            "-c",
            "echo x > /run/secrets/db-pass",
        ]);
        assert!(
            write.code != 0 && write.stderr.contains("Read-only file system"),
            "{write:?}"
        );
        let user = ctx
            .skiff(["create", "--secret", "db-pass", "busybox", "true"])
            .ok()
            .to_string();
        ctx.skiff(["secret", "rm", "db-pass"])
            .fails(125, "secret db-pass is in use by container");
        ctx.skiff(["run", "--rm", "--secret", "nope", "busybox", "true"])
            .fails(125, "no secret with name or id \"nope\": no such secret");
        ctx.skiff([
            "run",
            "--rm",
            "--secret",
            "db-pass,type=file",
            "busybox",
            "true",
        ])
        .fails(125, "type \"file\": mount or env");
        ctx.skiff(["rm", &user]).ok();
        assert_eq!(ctx.skiff(["secret", "rm", "db-pass"]).ok(), id);
        ctx.skiff(["secret", "exists", "db-pass"]).fails(1, "");
        ctx.skiff(["secret", "rm", "db-pass"])
            .fails(1, "no such secret");
        ctx.skiff(["secret", "rm", "--ignore", "db-pass"]).ok();
    });
}

/// containers.conf's `[engine] events_logfile_path` is where events are written and read.
#[test]
fn events_go_where_containers_conf_says() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let dir = ctx.scratch("conf");
    let log = dir.join("events.log");
    let conf = dir.join("containers.conf");
    std::fs::write(
        &conf,
        format!("[engine]\nevents_logfile_path = \"{}\"\n", log.display()),
    )
    .unwrap();
    let conf = conf.to_str().unwrap();
    ctx.skiff_with_env(
        &[("CONTAINERS_CONF", conf)],
        &["run", "--rm", "--name", "logged", "busybox", "true"],
    )
    .ok();
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(written.contains("\"Name\":\"logged\""), "{written}");
    assert_eq!(
        ctx.skiff_with_env(
            &[("CONTAINERS_CONF", conf)],
            &[
                "events",
                "--stream=false",
                "--filter",
                "event=remove",
                "--format",
                "{{.Name}}"
            ],
        )
        .ok(),
        "logged"
    );
}

/// `--hostuser`: the host's passwd entry of that user (by name or UID) joins the image's in
/// the container's /etc/passwd; an unknown user is refused at create.
#[test]
fn hostuser_adds_the_hosts_passwd_entry() {
    skiff_test::in_both_modes(SKIFF, |ctx| {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
        let entry = passwd
            .lines()
            .find(|l| l.starts_with("skiff-test:"))
            .unwrap();
        let uid = entry.split(':').nth(2).unwrap();
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "--hostuser",
                uid,
                "busybox",
                "sh",
                "-c",
                "grep ^skiff-test: /etc/passwd; grep -c ^tester: /etc/passwd"
            ])
            .ok(),
            format!("{entry}\n1")
        );
        ctx.skiff([
            "run",
            "--rm",
            "--hostuser",
            "no-such-user-here",
            "busybox",
            "true",
        ])
        .fails(
            125,
            "--hostuser no-such-user-here: no such user in the host's /etc/passwd",
        );
    });
}
