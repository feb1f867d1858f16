//! Quadlet against the real binaries, root and rootless: skiff-quadlet turns `.container`,
//! `.volume` and `.pod` files into services that `systemd-analyze verify` accepts, with the
//! `[Install]` links systemd follows; their Exec lines, run here as systemd would run them
//! (no systemd is PID 1 on these hosts), start the container (telling $NOTIFY_SOCKET it is
//! ready) and take it away; `skiff quadlet` installs, lists, prints and removes files.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use skiff_test::{TestContext, fetch_from_host, free_port};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

/// skiff-quadlet beside the skiff under test (so the services run that skiff).
fn generator(ctx: &TestContext) -> PathBuf {
    ctx.binary().with_file_name("skiff-quadlet")
}

/// Runs a shell line as the context's user, with these variables.
fn shell(ctx: &TestContext, line: &str, env: &[(&str, &str)]) -> Output {
    ctx.user_command("sh", env)
        .arg("-c")
        .arg(line)
        .output()
        .expect("run sh")
}

/// The service's value of `key`, with systemd's specifiers for `unit` expanded.
fn exec_line(text: &str, key: &str, unit: &str, runtime: &Path) -> String {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{key} missing from:\n{text}"));
    line.trim_start_matches('-')
        .replace("%t", &runtime.display().to_string())
        .replace("%N", unit.trim_end_matches(".service"))
        .replace("%n", unit)
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn quadlet_files_become_services_that_run_the_container() {
    skiff_test::in_both_modes(SKIFF, |ctx| {
        let port = free_port();
        let global = format!(
            "GlobalArgs=--root {} --runroot {}",
            ctx.root().display(),
            ctx.runroot().display()
        );
        let units = ctx.scratch("quadlets");
        write(
            &units,
            "web.container",
            &format!(
                "[Unit]\nDescription=A web server\n\n[Container]\n{global}\nImage=busybox\nVolume=data.volume:/www\nPublishPort={port}:80\nEnvironment=GREETING=hello\nExec=sh -c 'echo hello from quadlet > /www/index.html; exec httpd -f -p 80 -h /www'\nSysctl=net.ipv4.ip_forward=1\n\n[Service]\nTimeoutStartSec=60\n\n[Install]\nWantedBy=default.target\n"
            ),
        );
        write(
            &units,
            "data.volume",
            &format!("[Volume]\n{global}\nLabel=made-by=quadlet\n"),
        );
        write(&units, "broken.container", "[Container]\nExec=true\n");
        let dirs = units.display().to_string();
        // -dryrun prints every service; a file that gives none is named, and fails the run.
        let dry = Command::new(generator(ctx))
            .arg("-dryrun")
            .env("QUADLET_UNIT_DIRS", &dirs)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&dry.stdout);
        let stderr = String::from_utf8_lossy(&dry.stderr);
        assert_eq!(dry.status.code(), Some(1), "{stdout}{stderr}");
        assert!(stdout.contains("---web.service---"), "{stdout}");
        assert!(stdout.contains("---data-volume.service---"), "{stdout}");
        assert!(
            stderr.contains("broken.container: no Image key specified"),
            "{stderr}"
        );
        assert!(
            stderr.contains(
                "web.container: key Sysctl in [Container] is not supported by skiff and is ignored"
            ),
            "{stderr}"
        );
        std::fs::remove_file(units.join("broken.container")).unwrap();
        // As systemd runs it: the services, and the link [Install] asks for.
        let out = ctx.scratch("generated");
        let status = Command::new(generator(ctx))
            .arg(&out)
            .env("QUADLET_UNIT_DIRS", &dirs)
            .status()
            .unwrap();
        assert!(status.success());
        let link = std::fs::read_link(out.join("default.target.wants/web.service")).unwrap();
        assert_eq!(link, Path::new("../web.service"));
        let verify = Command::new("systemd-analyze")
            .arg("verify")
            .arg(out.join("data-volume.service"))
            .arg(out.join("web.service"))
            .output()
            .unwrap();
        assert!(
            verify.status.success(),
            "{}",
            String::from_utf8_lossy(&verify.stderr)
        );
        let web = std::fs::read_to_string(out.join("web.service")).unwrap();
        let volume = std::fs::read_to_string(out.join("data-volume.service")).unwrap();
        assert!(web.contains("Requires=data-volume.service\n"), "{web}");
        assert!(web.contains("Type=notify\n"), "{web}");
        // Run the commands as systemd would: the volume's service first, then the container's
        // with systemd's notification socket.
        let runtime = ctx.scratch("runtime");
        let run = |text: &str, key: &str, unit: &str, env: &[(&str, &str)]| {
            let line = exec_line(text, key, unit, &runtime);
            let output = shell(ctx, &line, env);
            assert!(
                output.status.success(),
                "{key} of {unit}: {line}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        run(&volume, "ExecStart", "data-volume.service", &[]);
        assert_eq!(
            ctx.skiff([
                "volume",
                "inspect",
                "--format",
                "{{.Labels}}",
                "systemd-data"
            ])
            .ok(),
            "map[made-by:quadlet]"
        );
        let notify = ctx.scratch("notify").join("web.sock");
        let socket = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&notify, std::fs::Permissions::from_mode(0o666)).unwrap();
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let notify = notify.display().to_string();
        run(
            &web,
            "ExecStart",
            "web.service",
            &[("NOTIFY_SOCKET", &notify)],
        );
        let mut buffer = [0u8; 128];
        let n = socket.recv(&mut buffer).unwrap();
        assert!(
            String::from_utf8_lossy(&buffer[..n]).ends_with("READY=1"),
            "{}",
            String::from_utf8_lossy(&buffer[..n])
        );
        assert_eq!(fetch_from_host(port), "hello from quadlet");
        assert_eq!(
            ctx.skiff(["exec", "systemd-web", "sh", "-c", "echo $GREETING"])
                .ok(),
            "hello"
        );
        run(&web, "ExecStop", "web.service", &[]);
        run(&web, "ExecStopPost", "web.service", &[]);
        ctx.skiff(["container", "exists", "systemd-web"])
            .fails(1, "");
        ctx.skiff(["volume", "exists", "systemd-data"]).ok();
    });
}

#[test]
fn quadlet_commands_install_list_print_and_remove() {
    skiff_test::in_both_modes(SKIFF, |ctx| {
        let installed = ctx.scratch("installed");
        let source = ctx.scratch("source");
        write(
            &source,
            "app.container",
            "[Container]\nImage=busybox\nExec=sleep 100\n",
        );
        write(&source, "notes.txt", "not a quadlet\n");
        let dirs = installed.display().to_string();
        let env = [("QUADLET_UNIT_DIRS", dirs.as_str())];
        let app = source.join("app.container").display().to_string();
        let notes = source.join("notes.txt").display().to_string();
        ctx.skiff_with_env(&env, &["quadlet", "install", &app, &notes])
            .fails(125, "notes.txt: not a Quadlet file");
        assert!(!installed.join("app.container").exists());
        assert_eq!(
            ctx.skiff_with_env(&env, &["quadlet", "install", &app]).ok(),
            installed.join("app.container").display().to_string()
        );
        ctx.skiff_with_env(&env, &["quadlet", "install", &app])
            .fails(125, "already installed");
        ctx.skiff_with_env(&env, &["quadlet", "install", "--replace", &app])
            .ok();
        let list = ctx
            .skiff_with_env(&env, &["quadlet", "list"])
            .ok()
            .to_string();
        assert_eq!(
            list,
            format!(
                "NAME           UNIT NAME    PATH ON DISK\napp.container  app.service  {}",
                installed.join("app.container").display()
            )
        );
        assert_eq!(
            ctx.skiff_with_env(&env, &["quadlet", "list", "--format", "{{.UnitName}}"])
                .ok(),
            "app.service"
        );
        assert!(
            ctx.skiff_with_env(&env, &["quadlet", "print", "app.container"])
                .ok()
                .contains("Exec=sleep 100")
        );
        ctx.skiff_with_env(&env, &["quadlet", "rm", "app.container", "other.container"])
            .fails(125, "no Quadlet named other.container is installed");
        ctx.skiff_with_env(&env, &["quadlet", "rm", "app.container"])
            .ok();
        assert_eq!(
            ctx.skiff_with_env(&env, &["quadlet", "list", "--format", "{{.Name}}"])
                .ok(),
            ""
        );
    });
}
