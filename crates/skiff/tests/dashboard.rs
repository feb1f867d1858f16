//! The web dashboard against the real binary and a real browser (headless Chromium), root and
//! rootless: `skiff dashboard` prints the address with its token, refuses requests without
//! it, and its pages show the engine's containers, images, volumes and networks as the API
//! gives them; the page's own requests (cookie-borne token) act on containers.
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use skiff_test::browser::Browser;
use skiff_test::{Access, Mode, Registry, TestContext, free_port};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

/// The dashboard, serving until dropped.
struct Dashboard {
    child: Child,
    url: String,
    port: u16,
}

impl Dashboard {
    fn start(ctx: &TestContext) -> Self {
        let port = free_port();
        let mut child = ctx
            .command(["dashboard", "--no-browser", "--port", &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .expect("start skiff dashboard");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_string();
        assert!(
            url.starts_with(&format!("http://127.0.0.1:{port}/?token=")),
            "{url:?}"
        );
        Self { child, url, port }
    }

    fn token(&self) -> &str {
        self.url.rsplit('=').next().unwrap()
    }

    /// The status and body of a request (`headers` as `Name: value` lines).
    fn request(&self, method: &str, path: &str, headers: &str) -> (u16, String) {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n{headers}Content-Length: 0\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response[9..12].parse().unwrap();
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// The page's DOM once its scripts have run, for the section `tab`.
    fn rendered(&self, ctx: &TestContext, tab: &str) -> String {
        let profile = ctx.scratch(&format!("chromium-{tab}"));
        let output = Command::new("chromium")
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--virtual-time-budget=1500",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--dump-dom")
            .arg(format!("{}#{tab}", self.url))
            .output()
            .expect("chromium (tests/setup.sh installs it)");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        // The whole group: for the test user, runuser and the skiff it runs.
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.child.wait();
    }
}

/// What both tests start from: `webby` running, `idle` created.
fn webby_and_idle(ctx: &TestContext) {
    ctx.skiff([
        "run", "-d", "--init", "--name", "webby", "busybox", "sleep", "1000",
    ])
    .ok();
    ctx.skiff(["create", "--name", "idle", "busybox", "true"])
        .ok();
}

#[test]
fn the_dashboard_shows_and_drives_the_engine_in_a_browser() {
    skiff_test::in_both_modes(SKIFF, |ctx| {
        webby_and_idle(ctx);
        ctx.skiff(["volume", "create", "keepme"]).ok();
        ctx.skiff(["pod", "create", "--name", "shop"]).ok();
        ctx.skiff([
            "run", "-d", "--init", "--pod", "shop", "--name", "shop-web", "busybox", "sleep",
            "1000",
        ])
        .ok();
        ctx.skiff([
            "run",
            "-d",
            "--init",
            "--name",
            "checked",
            "--health-cmd",
            "true",
            "--health-interval",
            "disable",
            "busybox",
            "sleep",
            "1000",
        ])
        .ok();
        ctx.skiff(["healthcheck", "run", "checked"]).ok();
        let dashboard = Dashboard::start(ctx);
        // Nothing without the token: not the page, not the API.
        assert_eq!(dashboard.request("GET", "/", "").0, 401);
        assert_eq!(
            dashboard.request("GET", "/v1.44/containers/json", "").0,
            401
        );
        let (status, body) = dashboard.request(
            "GET",
            "/v1.44/containers/json",
            &format!("Authorization: Bearer {}\r\n", dashboard.token()),
        );
        assert_eq!(status, 200, "{body}");
        // The browser renders what the engine has.
        let containers = dashboard.rendered(ctx, "containers");
        for needle in [
            r#"<tr data-container="webby">"#,
            r#"<tr data-container="idle">"#,
            r#"class="state-running">running"#,
            "<button>Stop</button>",
            "<button>Start</button>",
            r#"<td class="health-healthy">healthy</td>"#,
        ] {
            assert!(
                containers.contains(needle),
                "{needle:?} missing from:\n{containers}"
            );
        }
        // A pod's member says its pod.
        let member = containers
            .split(r#"<tr data-container="shop-web">"#)
            .nth(1)
            .and_then(|rest| rest.split("</tr>").next())
            .unwrap_or_default();
        assert!(member.contains("<td>shop</td>"), "{member}");
        let images = dashboard.rendered(ctx, "images");
        assert!(
            images.contains(r#"data-image="localhost/busybox:latest""#),
            "{images}"
        );
        let volumes = dashboard.rendered(ctx, "volumes");
        assert!(volumes.contains(r#"data-volume="keepme""#), "{volumes}");
        let networks = dashboard.rendered(ctx, "networks");
        assert!(networks.contains("<tr data-network="), "{networks}");
        let overview = dashboard.rendered(ctx, "overview");
        assert!(
            overview.contains("<dt>Containers</dt><dd>5 (4 running"),
            "{overview}"
        );
        let pods = dashboard.rendered(ctx, "pods");
        assert!(
            pods.contains(r#"<tr data-pod="shop"><td>shop</td><td>Running</td>"#)
                && pods.contains(r#"download="shop.yaml">Kubernetes YAML</a>"#),
            "{pods}"
        );
        // Compose projects, grouped by their labels.
        let project = ctx.scratch("dash");
        std::fs::write(
            project.join("compose.yaml"),
            "services:\n  api:\n    image: localhost/busybox\n    init: true\n    command: sleep 1000\n  db:\n    image: localhost/busybox\n    init: true\n    command: sleep 1000\n",
        )
        .unwrap();
        let up = ctx
            .command(["compose", "up", "-d"])
            .current_dir(&project)
            .output()
            .unwrap();
        assert!(
            up.status.success(),
            "{}",
            String::from_utf8_lossy(&up.stderr)
        );
        let compose = dashboard.rendered(ctx, "compose");
        assert!(
            compose.contains(r#"<tr data-project="dash"><td>dash</td><td>api (running), db (running)</td><td>running(2)</td>"#)
                && compose.contains("<button>Stop</button><button>Down</button>"),
            "{compose}"
        );
        // Another site's page cannot act, even with the cookie; the dashboard's own can.
        let evil = "Origin: http://evil.example\r\n";
        let cookie = format!("Cookie: skiff_token={}\r\n", dashboard.token());
        assert_eq!(
            dashboard
                .request(
                    "POST",
                    "/v1.44/containers/idle/start",
                    &format!("{cookie}{evil}")
                )
                .0,
            403
        );
        // The page's requests carry the token in the cookie the page set.
        let ours = format!("{cookie}Origin: http://127.0.0.1:{}\r\n", dashboard.port);
        assert_eq!(
            dashboard
                .request("POST", "/v1.44/containers/idle/start", &ours)
                .0,
            204
        );
        assert_eq!(
            dashboard
                .request("POST", "/v1.44/containers/webby/stop?t=0", &cookie)
                .0,
            204
        );
        let containers = dashboard.rendered(ctx, "containers");
        assert!(
            containers.contains(r#"<tr data-container="webby"><td>webby</td><td>localhost/busybox:latest</td><td class="state-exited">exited</td>"#),
            "{containers}"
        );
        let (status, yaml) =
            dashboard.request("GET", "/v4.0.0/libpod/generate/kube?names=shop", &cookie);
        assert_eq!(status, 200, "{yaml}");
        assert!(
            yaml.contains("kind: Pod\n") && yaml.contains("    name: web\n"),
            "{yaml}"
        );
        let (status, stopped) =
            dashboard.request("POST", "/v4.0.0/libpod/pods/shop/stop?t=0", &cookie);
        assert_eq!(status, 200, "{stopped}");
        assert_eq!(
            ctx.skiff(["pod", "ps", "--format", "{{.Status}}"]).ok(),
            "Exited"
        );
        // The CLI sees what the page did.
        assert_eq!(
            ctx.skiff(["inspect", "--format", "{{.State.Status}}", "webby"])
                .ok(),
            "exited"
        );
    });
}

/// A button of a row, found by its text (the page's own words), clicked as a user would.
fn click(browser: &mut Browser, row: &str, label: &str) {
    browser.wait_for(
        &format!("[...document.querySelectorAll('{row} button')].some((b) => b.textContent === '{label}')"),
        &format!("a {label} button in {row}"),
    );
    browser.eval(&format!(
        "[...document.querySelectorAll('{row} button')].find((b) => b.textContent === '{label}').click()"
    ));
}

#[test]
fn a_user_clicks_through_the_dashboard_and_sees_the_cli_live() {
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    let registry = Registry::start(Access::Open);
    skiff_test::in_both_modes(SKIFF, |ctx| {
        webby_and_idle(ctx);
        let dashboard = Dashboard::start(ctx);
        let mut browser = Browser::open(
            &format!("{}#containers", dashboard.url),
            &ctx.scratch("chromium-clicks"),
        );
        browser.wait_for(
            r#"document.querySelector('tr[data-container="webby"] .state-running')"#,
            "webby running",
        );
        // Started by the CLI, shown by the page without a reload.
        browser.eval("window.notReloaded = true");
        ctx.skiff([
            "run", "-d", "--init", "--name", "late", "busybox", "sleep", "1000",
        ])
        .ok();
        browser.wait_for(
            r#"window.notReloaded && document.querySelector('tr[data-container="late"] .state-running')"#,
            "the container the CLI started",
        );
        // Each running container's CPU and memory, as sparklines from Podman's stats stream
        // (none rootless on a cgroup v1 host, like this one).
        if ctx.mode == Mode::Root
            || std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
        {
            browser.wait_for(
                r#"document.querySelector('tr[data-container="late"] canvas.spark[data-kind="cpu"]').title.startsWith('CPU ')
                   && document.querySelector('tr[data-container="late"] canvas.spark[data-kind="memory"]').title.startsWith('memory ')"#,
                "late's sparklines",
            );
        }
        browser.screenshot(&shots.join(format!("{:?}-containers.png", ctx.mode)));
        // A container made from the page's form: command, environment, a named volume, a
        // published port (a link to where it answers).
        let port = free_port();
        browser.eval(
            &r#"const form = document.querySelector('#create');
               form.querySelector('[name=name]').value = 'formed';
               form.querySelector('[name=command]').value = 'sleep 1000';
               form.querySelector('[name=env]').value = 'GREETING=hi';
               form.querySelector('[name=volumes]').value = 'formdata:/data';
               form.querySelector('[name=ports]').value = '{port}:80';
               form.querySelector('button').click()"#
                .replace("{port}", &port.to_string()),
        );
        browser.wait_for(
            r#"document.querySelector('tr[data-container="formed"] .state-running')"#,
            "the container made from the form",
        );
        assert_eq!(
            browser.eval(r#"document.querySelector('tr[data-container="formed"] a').href"#),
            format!("http://127.0.0.1:{port}/")
        );
        assert_eq!(
            ctx.skiff([
                "inspect",
                "--format",
                "{{.Config.Cmd}} {{range .Config.Env}}{{if eq . \"GREETING=hi\"}}{{.}}{{end}}{{end}} {{range .Mounts}}{{.Name}}:{{.Destination}}{{end}}",
                "formed",
            ])
            .ok(),
            "[sleep 1000] GREETING=hi formdata:/data"
        );
        // A container's details: its logs as they come (searchable), live stats, inspect.
        ctx.skiff([
            "run",
            "-d",
            "--init",
            "--name",
            "talker",
            "busybox",
            "sh",
            "-c",
            "echo hello-from-talker; sleep 2; echo second-line; sleep 1000",
        ])
        .ok();
        click(&mut browser, r#"tr[data-container="talker"]"#, "Details");
        // Stats: live, or (rootless on a cgroup v1 host, like this one) the engine's reason.
        let stats = match ctx.mode {
            Mode::Root => "document.querySelector('#io dt')",
            Mode::Rootless => {
                "document.querySelector('#io dt') || document.querySelector('#message').textContent
                 === 'Stats: stats is not supported in rootless mode without cgroups v2'"
            }
        };
        browser.wait_for(
            &format!(
                r#"document.querySelector('#details').dataset.container === 'talker'
                   && document.querySelector('#logs').textContent.includes('hello-from-talker')
                   && ({stats})"#
            ),
            "talker's logs and stats",
        );
        browser.wait_for(
            "document.querySelector('#logs').textContent.includes('second-line')",
            "a log line written after the details opened",
        );
        assert!(
            browser
                .eval("JSON.parse(document.querySelector('#inspect').textContent).Name")
                .as_str()
                .is_some_and(|name| name.ends_with("talker"))
        );
        browser.eval(
            "document.querySelector('#log-timestamps').click();
             const search = document.querySelector('#log-search');
             search.value = 'second';
             search.dispatchEvent(new Event('input'))",
        );
        assert_eq!(
            browser.eval("document.querySelector('#logs').textContent"),
            "second-line"
        );
        // A shell in the container, typed into as a user types.
        click(&mut browser, "#details", "Open a shell");
        browser.wait_for(
            "document.querySelector('#terminal .xterm-rows').textContent.includes('#')",
            "the shell's prompt",
        );
        browser.type_text("echo $((6*7)) in $(hostname)");
        browser.press_enter();
        let hostname = ctx
            .skiff(["inspect", "--format", "{{.Config.Hostname}}", "talker"])
            .ok()
            .to_string();
        browser.wait_for(
            &format!(
                "document.querySelector('#terminal .xterm-rows').textContent.includes('42 in {hostname}')"
            ),
            "the command's output in the terminal",
        );
        browser.screenshot(&shots.join(format!("{:?}-details.png", ctx.mode)));
        // Stopped by a click: the CLI sees it.
        click(&mut browser, r#"tr[data-container="webby"]"#, "Stop");
        browser.wait_for(
            r#"document.querySelector('tr[data-container="webby"] .state-exited')"#,
            "webby stopped",
        );
        assert_eq!(
            ctx.skiff(["inspect", "--format", "{{.State.Status}}", "webby"])
                .ok(),
            "exited"
        );
        // Removed by a click, once the user confirms.
        click(&mut browser, r#"tr[data-container="idle"]"#, "Remove");
        browser.wait_for(
            r#"!document.querySelector('tr[data-container="idle"]')"#,
            "idle removed",
        );
        assert_eq!(browser.dialogs, ["Remove container idle?"]);
        browser.dialogs.clear();
        assert_eq!(
            ctx.skiff(["ps", "-a", "--format", "{{.Names}}", "--sort", "names"])
                .ok(),
            "formed\nlate\ntalker\nwebby"
        );
        // What the CLI did is in the overview's recent events.
        browser.eval(r#"document.querySelector('nav button[data-tab="overview"]').click()"#);
        browser.wait_for(
            "document.querySelector('#events').innerText.includes('container start late')",
            "the CLI's start in the recent events",
        );
        // A pull from the page: a bar per layer, watched to the end.
        let image = registry.name(&format!("{:?}/dash:1", ctx.mode).to_lowercase());
        ctx.trust_plain_http(&registry.address);
        // Busybox's layer and one more, which the store then lacks.
        ctx.skiff(["commit", "late", "localhost/dash-base"]).ok();
        ctx.skiff(["push", "--tls-verify=false", "localhost/dash-base", &image])
            .ok();
        ctx.skiff(["rmi", "localhost/dash-base"]).ok();
        browser.eval(r#"document.querySelector('nav button[data-tab="images"]').click()"#);
        browser.eval(&format!(
            r#"document.querySelector('#pull input').value = "{image}";
               document.querySelector('#pull button').click()"#
        ));
        browser.wait_for(
            &format!(
                r#"document.querySelector('#message').textContent === "Pulled {image}"
                   && document.querySelector('#images tr[data-image="{image}"]')"#
            ),
            "the pull's end",
        );
        assert_eq!(
            browser.eval(
                "[...document.querySelectorAll('#pull-progress .layer')].map((l) => \
                 [l.dataset.done, l.querySelector('progress').value === l.querySelector('progress').max, \
                 l.querySelector('span').textContent])"
            ),
            serde_json::json!([["", true, "Already exists"], ["", true, "Pull complete"]])
        );
        browser.screenshot(&shots.join(format!("{:?}-pull.png", ctx.mode)));
        assert!(
            ctx.skiff(["images", "--format", "{{.Repository}}:{{.Tag}}"])
                .ok()
                .lines()
                .any(|l| l == image)
        );
        // A build from a Containerfile typed in the page, its log streamed.
        browser.eval(
            r#"document.querySelector('#build-box').open = true;
               document.querySelector('#build input[name=tag]').value = 'localhost/dash-built';
               document.querySelector('#build button').click()"#,
        );
        browser.wait_for(
            r#"document.querySelector('#message').textContent === 'Built localhost/dash-built'
               && document.querySelector('#images tr[data-image="localhost/dash-built:latest"]')"#,
            "the build's end",
        );
        let log = browser.eval("document.querySelector('#build-log').textContent");
        assert!(
            log.as_str()
                .is_some_and(|log| log.contains("RUN echo built > /built")),
            "{log}"
        );
        assert_eq!(
            ctx.skiff(["run", "--rm", "localhost/dash-built", "cat", "/built"])
                .ok(),
            "built"
        );
        // An image's details: its history, tagged and pushed from the page.
        click(
            &mut browser,
            r#"tr[data-image="localhost/dash-built:latest"]"#,
            "Details",
        );
        browser.wait_for(
            r#"document.querySelector('#image-details').dataset.image === 'localhost/dash-built:latest'
               && document.querySelectorAll('#history-rows tr').length >= 2
               && JSON.parse(document.querySelector('#image-inspect').textContent).Id"#,
            "the image's history and inspect",
        );
        let tagged = registry.name(&format!("{:?}/tagged:2", ctx.mode).to_lowercase());
        browser.eval(&format!(
            r#"document.querySelector('#image-tag input').value = "{tagged}";
               document.querySelector('#image-tag button').click()"#
        ));
        browser.wait_for(
            "document.querySelector('#message').textContent === 'Tag: done'",
            "the tag",
        );
        browser.eval(&format!(
            r#"document.querySelector('#image-push input').value = "{tagged}";
               document.querySelector('#image-push button').click()"#
        ));
        browser.wait_for(
            &format!("document.querySelector('#message').textContent === 'Pushed {tagged}'"),
            "the push",
        );
        ctx.skiff(["rmi", &tagged]).ok();
        ctx.skiff(["pull", "-q", &tagged]).ok();
        // Volumes and networks made and pruned from their pages.
        browser.eval(
            r#"document.querySelector('nav button[data-tab="volumes"]').click();
               document.querySelector('#volume-create input').value = 'made-in-page';
               document.querySelector('#volume-create button').click()"#,
        );
        browser.wait_for(
            r#"document.querySelector('tr[data-volume="made-in-page"]')"#,
            "the volume made in the page",
        );
        assert_eq!(
            ctx.skiff(["volume", "ls", "--format", "{{.Name}}"]).ok(),
            "formdata\nmade-in-page"
        );
        click(&mut browser, r#"tr[data-volume="made-in-page"]"#, "Inspect");
        browser.wait_for(
            r#"JSON.parse(document.querySelector('#volumes tr.inspect pre').textContent).Name === 'made-in-page'"#,
            "the volume's inspect",
        );
        browser.eval("document.querySelector('#volume-prune').click()");
        browser.wait_for(
            r#"!document.querySelector('tr[data-volume="made-in-page"]')"#,
            "the pruned volume gone",
        );
        // The volume a container uses stays.
        assert_eq!(ctx.skiff(["volume", "ls", "-q"]).ok(), "formdata");
        assert_eq!(
            browser.dialogs,
            ["Prune volumes: remove every one no container uses?"]
        );
        browser.eval(
            r#"document.querySelector('nav button[data-tab="networks"]').click();
               document.querySelector('#network-create input[name=name]').value = 'pagenet';
               document.querySelector('#network-create button').click()"#,
        );
        browser.wait_for(
            r#"document.querySelector('tr[data-network="pagenet"]')"#,
            "the network made in the page",
        );
        click(&mut browser, r#"tr[data-network="pagenet"]"#, "Inspect");
        browser.wait_for(
            r#"JSON.parse(document.querySelector('#networks tr.inspect pre').textContent).Name === 'pagenet'"#,
            "the network's inspect",
        );
        assert!(
            ctx.skiff(["network", "ls", "--format", "{{.Name}}"])
                .ok()
                .lines()
                .any(|l| l == "pagenet")
        );
        // Kubernetes YAML pasted in the Pods page, played as `kube play` plays it.
        browser.eval(
            r#"document.querySelector('nav button[data-tab="pods"]').click();
               document.querySelector('#play-box').open = true;
               document.querySelector('#play textarea').value = [
                 'apiVersion: v1', 'kind: Pod', 'metadata:', '  name: played', 'spec:',
                 '  containers:', '  - name: web', '    image: localhost/busybox',
                 '    command: [sleep, "1000"]'].join('\n');
               document.querySelector('#play button').click()"#,
        );
        browser.wait_for(
            r#"document.querySelector('#message').textContent === 'Played 1 pod'
               && document.querySelector('tr[data-pod="played"]')
               && document.querySelector('tr[data-pod="played"]').textContent.includes('Running')"#,
            "the played pod running",
        );
        assert_eq!(
            ctx.skiff([
                "ps",
                "--filter",
                "pod=played",
                "--format",
                "{{.Names}} {{.State}}",
            ])
            .ok()
            .lines()
            .filter(|l| !l.contains("infra"))
            .collect::<Vec<_>>(),
            ["played-web running"]
        );
        browser.eval(r#"document.querySelector('nav button[data-tab="overview"]').click()"#);
        let images = ctx.skiff(["images", "-q"]).ok().lines().count();
        browser.wait_for(
            &format!(
                r#"document.querySelector('#disk-rows tr[data-kind="Images"] td:nth-child(2)').textContent === '{images}'"#
            ),
            "the disk use of the images",
        );
        for tab in [
            "overview", "pods", "compose", "images", "volumes", "networks",
        ] {
            browser.eval(&format!(
                r#"document.querySelector('nav button[data-tab="{tab}"]').click()"#
            ));
            browser.wait_for(
                &format!("!document.getElementById('{tab}').hidden"),
                &format!("the {tab} section"),
            );
            browser.screenshot(&shots.join(format!("{:?}-{tab}.png", ctx.mode)));
        }
        // Two containers ticked and removed at once, once the user confirms.
        browser.dialogs.clear();
        browser.eval(r#"document.querySelector('nav button[data-tab="containers"]').click()"#);
        for name in ["talker", "formed"] {
            browser.wait_for(
                &format!(r#"document.querySelector('tr[data-container="{name}"] input')"#),
                &format!("{name}'s row"),
            );
            browser.eval(&format!(
                r#"document.querySelector('tr[data-container="{name}"] input[type=checkbox]').click()"#
            ));
        }
        browser.eval("document.querySelector('#bulk-remove').click()");
        browser.wait_for(
            r#"!document.querySelector('tr[data-container="talker"]')
               && !document.querySelector('tr[data-container="formed"]')"#,
            "the ticked containers removed",
        );
        assert_eq!(browser.dialogs, ["Remove 2 containers?"]);
        assert!(
            !ctx.skiff(["ps", "-a", "--format", "{{.Names}}"])
                .ok()
                .lines()
                .any(|name| name == "talker" || name == "formed")
        );
    });
}
