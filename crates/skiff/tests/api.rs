//! The REST API (`skiff system service`) driven by the real docker CLI (28.x), root and
//! rootless, each test with its own service on a private socket and storage root: run (with
//! and without a terminal), the lifecycle, ps/inspect/logs, exec, images and pulls from a
//! real registry, and the errors Docker's clients see.
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use skiff_test::terminal::Terminal;
use skiff_test::{Access, Mode, Registry, TestContext};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

/// A service on a socket in the context's directory, stopped when dropped.
struct Service {
    child: Child,
    socket: PathBuf,
}

impl Service {
    fn start(ctx: &TestContext) -> Self {
        let socket = ctx.dir.join("api.sock");
        let child = ctx
            .command([
                "system",
                "service",
                "--time",
                "0",
                &format!("unix://{}", socket.display()),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start skiff system service");
        let deadline = Instant::now() + Duration::from_secs(20);
        while UnixStream::connect(&socket).is_err() {
            assert!(Instant::now() < deadline, "the service never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
        Service { child, socket }
    }

    fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// A docker CLI command against this service.
    fn docker_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("docker");
        command
            .args(args)
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.socket.with_file_name("docker-config"))
            .stdin(Stdio::null());
        command
    }

    fn docker(&self, args: &[&str]) -> Done {
        let output = self
            .docker_command(args)
            .output()
            .expect("run the docker CLI");
        Done::from(output, args)
    }

    fn docker_with_input(&self, args: &[&str], input: &[u8]) -> Done {
        let mut child = self
            .docker_command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the docker CLI");
        child.stdin.take().unwrap().write_all(input).unwrap();
        Done::from(child.wait_with_output().unwrap(), args)
    }

    /// One raw HTTP/1.1 request; the status code and the body. (The body is written by a
    /// thread of its own: the service may answer, and close, before it has read it all.)
    fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut stream = UnixStream::connect(&self.socket).expect("connect");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: skiff\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut writer = stream.try_clone().unwrap();
        let writing = std::thread::spawn(move || {
            let _ = writer.write_all(request.as_bytes());
        });
        let mut text = Vec::new();
        let _ = stream.read_to_end(&mut text);
        let _ = writing.join();
        let text = String::from_utf8_lossy(&text);
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        (status, body.to_string())
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

struct Done {
    code: i32,
    stdout: String,
    stderr: String,
    args: String,
}

impl Done {
    fn from(output: Output, args: &[&str]) -> Self {
        Done {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            args: args.join(" "),
        }
    }

    fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "docker {} failed: {}{}",
            self.args, self.stdout, self.stderr
        );
        self.stdout.trim_end()
    }

    fn fails(&self, code: i32, needle: &str) {
        assert_eq!(
            self.code, code,
            "docker {}: {}{}",
            self.args, self.stdout, self.stderr
        );
        assert!(
            self.stderr.contains(needle),
            "docker {}: wanted {needle:?} in {}",
            self.args,
            self.stderr
        );
    }
}

fn in_both_modes(test: impl Fn(&TestContext, &Service)) {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let service = Service::start(&ctx);
        test(&ctx, &service);
    }
}

#[test]
fn docker_run_streams_output_and_exit_codes() {
    in_both_modes(|ctx, api| {
        let version = api.docker(&["version", "--format", "{{.Server.APIVersion}}"]);
        assert_eq!(version.ok(), "1.44");
        let done = api.docker(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ]);
        assert_eq!(
            (done.code, done.stdout.as_str(), done.stderr.as_str()),
            (3, "out\n", "err\n"),
            "{:?}",
            ctx.mode
        );
        // --rm took the container.
        assert_eq!(api.docker(&["ps", "-aq"]).ok(), "");
        // stdin reaches the container.
        let piped = api.docker_with_input(&["run", "--rm", "-i", "busybox", "cat"], b"typed\n");
        assert_eq!(piped.ok(), "typed");
        // Docker's exit codes for what cannot run and for a missing image.
        api.docker(&["run", "--rm", "busybox", "no-such-program"])
            .fails(127, "executable file not found");
        api.docker(&["run", "--pull", "never", "--rm", "no-such-image"])
            .fails(125, "No such image: no-such-image");
        // Through a real terminal: a tty in the container, and its exit code.
        let mut command = api.docker_command(&[
            "run",
            "-it",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "tty; read line; echo got-$line; exit 7",
        ]);
        command.stdin(Stdio::inherit());
        let mut terminal = Terminal::spawn(command, 30, 100);
        terminal.expect("/dev/pts/", Duration::from_secs(20));
        terminal.send(b"hello\r");
        terminal.expect("got-hello", Duration::from_secs(20));
        assert_eq!(terminal.wait(Duration::from_secs(20)), 7);
    });
}

#[test]
fn container_lifecycle_ps_inspect_logs() {
    in_both_modes(|ctx, api| {
        let id = api
            .docker(&[
                "run",
                "-d",
                "--name",
                "web",
                "-e",
                "A=1",
                "-l",
                "tier=front",
                "busybox",
                "sh",
                "-c",
                "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done",
            ])
            .ok()
            .to_string();
        assert_eq!(id.len(), 64, "{id}");
        let ps = api.docker(&[
            "ps",
            "--filter",
            "label=tier=front",
            "--format",
            "{{.Names}} {{.State}} {{.Label \"tier\"}}",
        ]);
        assert_eq!(ps.ok(), "web running front", "{:?}", ctx.mode);
        // Every label filter must match, as Docker's.
        let both = [
            "ps",
            "-q",
            "--filter",
            "label=tier=front",
            "--filter",
            "label=tier",
        ];
        assert_eq!(api.docker(&both).ok().len(), 12);
        let other = [
            "ps",
            "-q",
            "--filter",
            "label=tier=front",
            "--filter",
            "label=x",
        ];
        assert_eq!(api.docker(&other).ok(), "");
        let inspect = api.docker(&[
            "inspect",
            "--format",
            "{{.Name}} {{.State.Status}} {{.Config.Env}} {{.State.Running}} {{.Id}}",
            "web",
        ]);
        assert_eq!(inspect.ok(), format!("/web running [A=1] true {id}"));
        // stop sends SIGTERM: the trap runs.
        api.docker(&["stop", "web"]).ok();
        assert_eq!(
            api.docker(&[
                "inspect",
                "-f",
                "{{.State.Status}} {{.State.ExitCode}}",
                "web"
            ])
            .ok(),
            "exited 0"
        );
        let logs = api.docker(&["logs", "web"]);
        assert_eq!(logs.ok(), "started\nbye");
        api.docker(&["start", "web"]).ok();
        api.docker(&["restart", "-t", "1", "web"]).ok();
        assert_eq!(api.docker(&["ps", "--format", "{{.Names}}"]).ok(), "web");
        api.docker(&["rename", "web", "front"]).ok();
        api.docker(&["rename", "front", "web"]).ok();
        if ctx.mode == Mode::Root {
            // (Rootless has no freezer on these cgroup v1 hosts, as Podman.)
            api.docker(&["pause", "web"]).ok();
            assert_eq!(
                api.docker(&["inspect", "-f", "{{.State.Status}}", "web"])
                    .ok(),
                "paused"
            );
            api.docker(&["unpause", "web"]).ok();
        }
        // A running container is not removed without -f: Docker's 409.
        api.docker(&["rm", "web"])
            .fails(1, "You cannot remove a running container");
        api.docker(&["kill", "web"]).ok();
        assert_eq!(api.docker(&["wait", "web"]).ok(), "137");
        api.docker(&["kill", "web"]).fails(1, "is not running");
        api.docker(&["rm", "web"]).ok();
        api.docker(&["inspect", "web"]).fails(1, "No such");
        // logs -f follows until the container exits; attach joins one that runs.
        api.docker(&[
            "run",
            "-d",
            "--name",
            "late",
            "busybox",
            "sh",
            "-c",
            "echo early; sleep 1; echo late; exit 2",
        ])
        .ok();
        let attached = api.docker(&["attach", "late"]);
        assert_eq!((attached.code, attached.stdout.as_str()), (2, "late\n"));
        let followed = api.docker(&["logs", "-f", "--tail", "1", "late"]);
        assert_eq!(followed.ok(), "late");
        assert_eq!(api.docker(&["logs", "-t", "late"]).ok().lines().count(), 2);
        api.docker(&["rm", "late"]).ok();
        // Prunes: stopped containers, then images no container uses.
        let stopped = api.docker(&["create", "busybox", "true"]).ok().to_string();
        let pruned = api.docker(&["container", "prune", "-f"]);
        assert!(pruned.ok().contains(&stopped), "{}", pruned.stdout);
        api.docker(&["tag", "busybox", "localhost/spare:1"]).ok();
        let pruned = api.docker(&["image", "prune", "-a", "-f"]);
        assert!(
            pruned.ok().contains("deleted: sha256:"),
            "{}",
            pruned.stdout
        );
        assert_eq!(api.docker(&["images", "-q"]).ok(), "");
        // What the API did, the CLI sees: one store.
        assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
    });
}

#[test]
fn exec_passes_streams_and_exit_codes() {
    in_both_modes(|ctx, api| {
        api.docker(&[
            "run",
            "-d",
            "--name",
            "box",
            "--annotation",
            "org.example/via=api",
            "busybox",
            "sleep",
            "1000",
        ])
        .ok();
        // HostConfig.Annotations (API 1.43) become the container's.
        assert_eq!(
            ctx.skiff([
                "inspect",
                "--format",
                "{{index .Config.Annotations \"org.example/via\"}}",
                "box"
            ])
            .ok(),
            "api"
        );
        let done = api.docker(&["exec", "box", "sh", "-c", "echo in; echo e >&2; exit 4"]);
        assert_eq!(
            (done.code, done.stdout.as_str(), done.stderr.as_str()),
            (4, "in\n", "e\n"),
            "{:?}",
            ctx.mode
        );
        let piped = api.docker_with_input(&["exec", "-i", "box", "cat"], b"through\n");
        assert_eq!(piped.ok(), "through");
        api.docker(&["exec", "-d", "box", "touch", "/made"]).ok();
        let deadline = Instant::now() + Duration::from_secs(10);
        while api.docker(&["exec", "box", "test", "-e", "/made"]).code != 0 {
            assert!(Instant::now() < deadline, "exec -d never ran");
            std::thread::sleep(Duration::from_millis(50));
        }
        // (The size comes as a resize just after the start: skiff does not yet apply the
        // ConsoleSize of the exec's creation, so the command waits for it.)
        let mut command = api.docker_command(&[
            "exec",
            "-it",
            "box",
            "sh",
            "-c",
            "tty; sleep 0.5; stty size; exit 6",
        ]);
        command.stdin(Stdio::inherit());
        let mut terminal = Terminal::spawn(command, 33, 120);
        terminal.expect("/dev/pts/", Duration::from_secs(20));
        terminal.expect("33 120", Duration::from_secs(20));
        assert_eq!(terminal.wait(Duration::from_secs(20)), 6);
        api.docker(&["rm", "-f", "box"]).ok();
    });
}

#[test]
fn images_pull_tag_and_remove() {
    let registry = Registry::start(Access::Open);
    in_both_modes(|ctx, api| {
        let name = registry.name(&format!("{:?}/api-busybox:1", ctx.mode).to_lowercase());
        ctx.trust_plain_http(&registry.address);
        ctx.skiff(["push", "--tls-verify=false", "busybox", &name])
            .ok();
        let pulled = api.docker(&["pull", &name]);
        let pulled = pulled.ok();
        assert!(
            pulled.contains(&format!("Downloaded newer image for {name}")),
            "{pulled}"
        );
        // Each layer's progress, as Docker streams it: busybox's layer is here already.
        let layer_lines = |status: &str| {
            pulled
                .lines()
                .filter(|l| {
                    l.strip_suffix(&format!(": {status}")).is_some_and(|id| {
                        id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit())
                    })
                })
                .count()
        };
        assert_eq!(
            (
                layer_lines("Already exists"),
                layer_lines("Pulling fs layer")
            ),
            (1, 0),
            "{pulled}"
        );
        api.docker(&["tag", &name, "localhost/retagged:v2"]).ok();
        let images = api.docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
        let images = images.ok();
        for wanted in [
            name.as_str(),
            "localhost/retagged:v2",
            "localhost/busybox:latest",
        ] {
            assert!(images.lines().any(|l| l == wanted), "{wanted} in {images}");
        }
        let id = api
            .docker(&[
                "image",
                "inspect",
                "--format",
                "{{.Id}}",
                "localhost/retagged:v2",
            ])
            .ok()
            .to_string();
        assert!(id.starts_with("sha256:"), "{id}");
        let removed = api.docker(&["rmi", "localhost/retagged:v2"]);
        assert_eq!(removed.ok(), "Untagged: localhost/retagged:v2");
        api.docker(&["rmi", "localhost/retagged:v2"])
            .fails(1, "No such image");
        assert_eq!(
            api.docker(&["run", "--rm", &name, "echo", "pulled"]).ok(),
            "pulled"
        );
        // save, then load what was removed; export, then import.
        let archive = ctx.scratch("archives").join("saved.tar");
        api.docker(&["save", "-o", archive.to_str().unwrap(), &name])
            .ok();
        api.docker(&["rmi", &name]).ok();
        let loaded = api.docker(&["load", "-i", archive.to_str().unwrap()]);
        let loaded = loaded.ok();
        assert!(
            loaded.lines().any(|l| l == format!("Loaded image: {name}")),
            "{loaded}"
        );
        api.docker(&["run", "--name", "exported", &name, "true"])
            .ok();
        let imported = Command::new("sh")
            .arg("-c")
            .arg("docker export exported | docker import - localhost/imported:1")
            .env("DOCKER_HOST", api.host())
            .output()
            .unwrap();
        assert!(imported.status.success(), "{imported:?}");
        assert_eq!(
            api.docker(&["run", "--rm", "localhost/imported:1", "echo", "imported"])
                .ok(),
            "imported"
        );
        let df = api.docker(&["system", "df", "--format", "{{.Type}} {{.TotalCount}}"]);
        let df = df.ok();
        assert!(df.lines().any(|l| l == "Containers 1"), "{df}");
        api.docker(&["rm", "exported"]).ok();
    });
}

#[test]
fn bad_requests_get_docker_json_errors() {
    let ctx = TestContext::new(SKIFF, Mode::Root);
    let api = Service::start(&ctx);
    let (status, body) = api.request("GET", "/_ping", "");
    assert_eq!((status, body.as_str()), (200, "OK"));
    let (status, body) = api.request("POST", "/v1.44/containers/create", "{not json");
    assert_eq!(status, 400, "{body}");
    assert!(body.starts_with("{\"message\":\"invalid JSON"), "{body}");
    let (status, body) = api.request("GET", "/v1.99/containers/json", "");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("is too new"), "{body}");
    let (status, body) = api.request("GET", "/v1.44/no/such/endpoint", "");
    assert_eq!(
        (status, body.trim()),
        (404, "{\"message\":\"page not found\"}")
    );
    let (status, body) = api.request("GET", "/v1.44/services", "");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("This node is not a swarm manager"), "{body}");
    let (status, _) = api.request("GET", "/v1.44/containers/json?all=maybe", "");
    assert_eq!(status, 400);
    let (status, body) = api.request("GET", "/v1.44/containers/nosuch/json", "");
    assert_eq!(status, 404, "{body}");
    let (status, body) = api.request(
        "POST",
        "/v1.44/containers/create",
        &format!("{{\"Image\":\"x\",\"Env\":[\"{}\"]}}", "a".repeat(5 << 20)),
    );
    assert_eq!(
        status,
        400,
        "a body over the cap: {}",
        &body[..body.len().min(200)]
    );
}

#[test]
fn networks_volumes_and_events() {
    in_both_modes(|ctx, api| {
        let since = api.docker(&["version", "--format", "{{.Server.Version}}"]);
        since.ok();
        let start = chrono_now();
        // Bridges are the host's, shared by every store: this test's are its own.
        let bridge = format!("skiffapi{}", ctx.mode as u8);
        let subnet = format!("10.89.{}.0/24", 77 + ctx.mode as u8);
        api.docker(&[
            "network",
            "create",
            "--subnet",
            &subnet,
            "-o",
            &format!("com.docker.network.bridge.name={bridge}"),
            "appnet",
        ])
        .ok();
        api.docker(&["network", "create", "appnet"])
            .fails(1, "already");
        api.docker(&["volume", "create", "--label", "k=v", "vol1"])
            .ok();
        assert_eq!(
            api.docker(&[
                "volume",
                "ls",
                "--filter",
                "label=k=v",
                "--format",
                "{{.Name}}"
            ])
            .ok(),
            "vol1"
        );
        // A file written through the volume, served by a container named on the network.
        api.docker(&[
            "run",
            "--rm",
            "-v",
            "vol1:/data",
            "busybox",
            "sh",
            "-c",
            "echo stored > /data/x",
        ])
        .ok();
        api.docker(&[
            "run",
            "-d",
            "--name",
            "server",
            "--network",
            "appnet",
            "--network-alias",
            "files",
            "-v",
            "vol1:/data",
            "busybox",
            "httpd",
            "-f",
            "-p",
            "8080",
            "-h",
            "/data",
        ])
        .ok();
        let fetched = api.docker(&[
            "run", "--rm", "--network", "appnet", "busybox", "sh", "-c",
            "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://files:8080/x && exit 0; sleep 0.3; done; exit 1",
        ]);
        assert_eq!(fetched.ok(), "stored", "{:?}", ctx.mode);
        let inspected = api.docker(&[
            "network",
            "inspect",
            "appnet",
            "--format",
            "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
        ]);
        assert_eq!(inspected.ok(), subnet);
        let members = api.docker(&[
            "network",
            "inspect",
            "appnet",
            "--format",
            "{{range .Containers}}{{.Name}}{{end}}",
        ]);
        assert_eq!(members.ok(), "server");
        api.docker(&["network", "rm", "appnet"])
            .fails(1, "\"appnet\" has associated containers");
        api.docker(&["volume", "rm", "vol1"]).fails(1, "vol1");
        api.docker(&["rm", "-f", "server"]).ok();
        api.docker(&["network", "rm", "appnet"]).ok();
        api.docker(&["volume", "rm", "vol1"]).ok();
        assert_eq!(api.docker(&["volume", "ls", "-q"]).ok(), "");
        assert!(!api.docker(&["network", "ls"]).ok().contains("appnet"));
        api.docker(&["network", "inspect", "appnet"])
            .fails(1, "appnet");
        // The events of what happened, ended by --until.
        let until = chrono_now();
        let events = api.docker(&[
            "events",
            "--since",
            &start,
            "--until",
            &until,
            "--filter",
            "container=server",
            "--format",
            "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
        ]);
        let events = events.ok();
        for wanted in [
            "container create server",
            "container start server",
            "container die server",
            "container remove server",
        ] {
            assert!(
                events.lines().any(|l| l == wanted),
                "{wanted:?} in {events}"
            );
        }
    });
}

/// Now, as Unix seconds with a fraction (the docker CLI's --since/--until).
fn chrono_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{}.{:09}", now.as_secs(), now.subsec_nanos())
}

#[test]
fn docker_compose_runs_a_project() {
    in_both_modes(|ctx, api| {
        let project = ctx.scratch("project");
        let port = skiff_test::free_port();
        std::fs::write(
            project.join("docker-compose.yml"),
            format!(
                r#"version: "3.8"
services:
  db:
    image: busybox
    command: sh -c 'mkdir -p /data; echo from-db > /data/x; httpd -f -p 8080 -h /data'
    volumes:
      - dbdata:/data
  web:
    image: busybox
    command: sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://db:8080/x && break; sleep 0.5; done; sleep 1000'
    ports:
      - "{port}:80"
    depends_on:
      - db
  app:
    build: ./app
    image: localhost/proj-app
volumes:
  dbdata:
"#
            ),
        )
        .unwrap();
        let app = project.join("app");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::write(
            app.join("Dockerfile"),
            "FROM busybox\nRUN echo built-by-compose > /built\nCMD cat /built; sleep 1000\n",
        )
        .unwrap();
        let compose = |args: &[&str]| {
            let output = Command::new("docker-compose")
                .args(["-p", "proj"])
                .args(args)
                .current_dir(&project)
                .env("DOCKER_HOST", api.host())
                .stdin(Stdio::null())
                .output()
                .expect("run docker-compose");
            Done::from(output, args)
        };
        compose(&["up", "-d"]).ok();
        let ps = compose(&["ps"]);
        let ps = ps.ok();
        assert!(
            ps.contains("proj_db_1") && ps.contains("proj_web_1"),
            "{ps}"
        );
        assert!(ps.contains(&format!("0.0.0.0:{port}->80/tcp")), "{ps}");
        assert_eq!(ps.lines().filter(|l| l.contains(" Up ")).count(), 3, "{ps}");
        // Service names resolve between services on the project's network.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let logs = compose(&["logs", "--no-color", "web"]);
            if logs.ok().contains("from-db") {
                break;
            }
            assert!(Instant::now() < deadline, "{:?}: {}", ctx.mode, logs.stdout);
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(
            compose(&["exec", "-T", "db", "cat", "/data/x"]).ok(),
            "from-db"
        );
        // The service built from its Dockerfile runs what was built.
        assert_eq!(
            compose(&["exec", "-T", "app", "cat", "/built"]).ok(),
            "built-by-compose"
        );
        compose(&["down", "-v", "-t", "1"]).ok();
        assert_eq!(api.docker(&["ps", "-aq"]).ok(), "");
        assert_eq!(api.docker(&["volume", "ls", "-q"]).ok(), "");
        assert!(!api.docker(&["network", "ls"]).ok().contains("proj_default"));
    });
}

#[test]
fn files_top_stats_and_commit() {
    in_both_modes(|ctx, api| {
        api.docker(&[
            "run",
            "-d",
            "--name",
            "f",
            "busybox",
            "sh",
            "-c",
            "echo hi > /hello; mkdir -p /dir; echo a > /dir/a; touch /ready; sleep 1000",
        ])
        .ok();
        let deadline = Instant::now() + Duration::from_secs(10);
        while api.docker(&["exec", "f", "test", "-e", "/ready"]).code != 0 {
            assert!(Instant::now() < deadline, "the container never got ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = ctx.scratch("out");
        // Out of the container: a file, a directory; into it: a file.
        let file = out.join("hello");
        api.docker(&["cp", "f:/hello", file.to_str().unwrap()]).ok();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "hi\n");
        let dir = out.join("dir");
        api.docker(&["cp", "f:/dir", dir.to_str().unwrap()]).ok();
        assert_eq!(std::fs::read_to_string(dir.join("a")).unwrap(), "a\n");
        let upload = out.join("up.txt");
        std::fs::write(&upload, "uploaded\n").unwrap();
        api.docker(&["cp", upload.to_str().unwrap(), "f:/up.txt"])
            .ok();
        assert_eq!(
            api.docker(&["exec", "f", "cat", "/up.txt"]).ok(),
            "uploaded"
        );
        api.docker(&["cp", "f:/no-such-file", out.to_str().unwrap()])
            .fails(1, "Could not find the file /no-such-file");
        let diff = api.docker(&["diff", "f"]);
        let diff = diff.ok();
        for wanted in ["A /hello", "A /dir/a", "A /up.txt"] {
            assert!(diff.lines().any(|l| l == wanted), "{wanted} in {diff}");
        }
        let top = api.docker(&["top", "f"]);
        assert!(
            top.ok().contains("sleep 1000"),
            "{:?}: {}",
            ctx.mode,
            top.stdout
        );
        let exported = Command::new("sh")
            .arg("-c")
            .arg("docker export f | tar t")
            .env("DOCKER_HOST", api.host())
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&exported.stdout);
        assert!(listing.lines().any(|l| l == "hello"), "{listing}");
        let stats = api.docker(&[
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}} {{.PIDs}}",
            "f",
        ]);
        match ctx.mode {
            Mode::Root => assert_eq!(stats.ok(), "f 1"),
            // No cgroups for a user on these cgroup v1 hosts, as Podman.
            Mode::Rootless => stats.fails(1, "cgroups v2"),
        }
        let id = api
            .docker(&["commit", "-c", "ENV MARK=1", "f", "localhost/committed:v1"])
            .ok()
            .to_string();
        assert!(id.starts_with("sha256:"), "{id}");
        assert_eq!(
            api.docker(&[
                "run",
                "--rm",
                "localhost/committed:v1",
                "sh",
                "-c",
                "cat /hello; echo $MARK"
            ])
            .ok(),
            "hi\n1"
        );
        let history = api.docker(&[
            "history",
            "--format",
            "{{.CreatedBy}}",
            "localhost/committed:v1",
        ]);
        assert_eq!(history.ok().lines().count(), 2, "{}", history.stdout);
        api.docker(&["rm", "-f", "f"]).ok();
    });
}

#[test]
fn docker_py_drives_containers_images_networks() {
    in_both_modes(|ctx, api| {
        let script = r#"
import sys, docker
client = docker.DockerClient(base_url=sys.argv[1])
assert client.ping()
out = client.containers.run("busybox", ["sh", "-c", "echo from-py"], remove=True)
assert out == b"from-py\n", out
# Limits a Docker client sets reach the container as the flags would.
out = client.containers.run("busybox", ["sh", "-c", "ulimit -n; cat /proc/sys/kernel/shmmax"],
                            ulimits=[docker.types.Ulimit(name="nofile", soft=512, hard=1024)],
                            sysctls={"kernel.shmmax": "7654321"}, shm_size="8m", remove=True)
assert out == b"512\n7654321\n", out
network = client.networks.create("pynet")
volume = client.volumes.create("pyvol")
c = client.containers.run("busybox", ["sleep", "1000"], detach=True, name="pyc",
                          network="pynet", volumes={"pyvol": {"bind": "/v", "mode": "rw"}},
                          labels={"made-by": "docker-py"})
c.reload()
assert c.status == "running", c.status
code, output = c.exec_run(["sh", "-c", "echo x > /v/f; cat /v/f; exit 3"])
assert (code, output) == (3, b"x\n"), (code, output)
assert [x.name for x in client.containers.list(filters={"label": "made-by=docker-py"})] == ["pyc"]
assert "pyc" in [x.name for x in client.networks.get("pynet").containers]
c.stop(timeout=1)
assert c.wait()["StatusCode"] == 137
assert c.logs() == b""
c.remove()
network.remove()
volume.remove()
assert "busybox" in " ".join(t for i in client.images.list() for t in i.tags)
try:
    client.containers.get("pyc")
    raise SystemExit("removed container still there")
except docker.errors.NotFound:
    pass
print("ok")
"#;
        let output = Command::new("python3")
            .args(["-c", script, &api.host()])
            .output()
            .expect("python3");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "ok",
            "{:?}: {}",
            ctx.mode,
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

#[test]
fn docker_build_of_a_multi_stage_dockerfile() {
    in_both_modes(|ctx, api| {
        let dir = ctx.scratch("context");
        std::fs::write(
            dir.join("Dockerfile"),
            "FROM busybox AS first\nARG WHO=nobody\nRUN echo \"built by $WHO\" > /made\n\
             FROM busybox\nCOPY --from=first /made /made\nCOPY hello.txt /hello.txt\n\
             LABEL stage=final\nCMD [\"cat\", \"/made\", \"/hello.txt\"]\n",
        )
        .unwrap();
        std::fs::write(dir.join("hello.txt"), "hello file\n").unwrap();
        std::fs::write(
            dir.join("Failing"),
            "FROM busybox\nRUN echo failing; exit 3\n",
        )
        .unwrap();
        let build = |args: &[&str]| {
            let mut command = api.docker_command(&["build"]);
            command.args(args).env("DOCKER_BUILDKIT", "0");
            Done::from(command.output().expect("docker build"), args)
        };
        let context = dir.to_str().unwrap();
        let built = build(&[
            "-t",
            "localhost/built:1",
            "--build-arg",
            "WHO=docker",
            context,
        ]);
        assert!(
            built.ok().contains("Successfully tagged localhost/built:1"),
            "{:?}: {}",
            ctx.mode,
            built.stdout
        );
        assert_eq!(
            api.docker(&["run", "--rm", "localhost/built:1"]).ok(),
            "built by docker\nhello file"
        );
        assert_eq!(
            api.docker(&[
                "image",
                "inspect",
                "-f",
                "{{.Config.Labels.stage}}",
                "localhost/built:1"
            ])
            .ok(),
            "final"
        );
        let failing = dir.join("Failing");
        let failed = build(&["-f", failing.to_str().unwrap(), context]);
        assert_eq!(failed.code, 1, "{}{}", failed.stdout, failed.stderr);
        assert!(failed.stdout.contains("failing"), "{}", failed.stdout);
        assert!(failed.stderr.contains("exit status 3"), "{}", failed.stderr);
    });
}

#[test]
fn socket_activation_and_the_shipped_units() {
    // The units install.sh installs pass systemd's own checks (with this build's binary).
    let units = std::env::temp_dir().join(format!("skiff-units-{}", std::process::id()));
    std::fs::create_dir_all(&units).unwrap();
    let bindir = std::path::Path::new(SKIFF).parent().unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contrib/systemd");
    for unit in ["skiff.socket", "skiff.service"] {
        let text = std::fs::read_to_string(source.join(unit)).unwrap();
        std::fs::write(
            units.join(unit),
            text.replace("@BINDIR@", &bindir.display().to_string()),
        )
        .unwrap();
    }
    let verified = Command::new("systemd-analyze")
        .arg("verify")
        .args(["skiff.socket", "skiff.service"].map(|u| units.join(u)))
        .output()
        .expect("systemd-analyze");
    assert!(
        verified.status.success() && verified.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let _ = std::fs::remove_dir_all(&units);

    // A socket systemd passes (LISTEN_FDS, as systemd-socket-activate does) is served.
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let socket = ctx.dir.join("activated.sock");
    let mut activator = Command::new("systemd-socket-activate")
        .arg("-l")
        .arg(&socket)
        .args([SKIFF, "--root"])
        .arg(ctx.root())
        .arg("--runroot")
        .arg(ctx.runroot())
        .args(["system", "service", "--time", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("systemd-socket-activate");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "no socket");
        std::thread::sleep(Duration::from_millis(20));
    }
    let version = Command::new("docker")
        .args(["version", "--format", "{{.Server.APIVersion}}"])
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .output()
        .unwrap();
    let _ = activator.kill();
    let _ = activator.wait();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        "1.44",
        "{}",
        String::from_utf8_lossy(&version.stderr)
    );
}

#[test]
fn docker_login_push_and_pull_with_a_password() {
    let registry = Registry::start(Access::Password {
        user: "alice",
        password: "s3cret",
    });
    in_both_modes(|ctx, api| {
        ctx.trust_plain_http(&registry.address);
        let name = registry.name(&format!("{:?}/pushed:1", ctx.mode).to_lowercase());
        api.docker(&["tag", "busybox", &name]).ok();
        api.docker(&["push", &name])
            .fails(1, &format!("login {}", registry.address));
        api.docker(&["login", "-u", "alice", "-p", "wrong", &registry.address])
            .fails(1, "invalid username/password");
        let login = api.docker(&["login", "-u", "alice", "-p", "s3cret", &registry.address]);
        assert!(login.ok().contains("Login Succeeded"), "{}", login.stdout);
        let pushed = api.docker(&["push", &name]);
        assert!(pushed.ok().contains("digest: sha256:"), "{}", pushed.stdout);
        api.docker(&["rmi", &name]).ok();
        let pulled = api.docker(&["pull", &name]);
        assert!(
            pulled.ok().contains("Downloaded newer image"),
            "{}",
            pulled.stdout
        );
    });
}
