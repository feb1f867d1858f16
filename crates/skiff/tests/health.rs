//! Healthchecks without systemd, root and rootless: `healthcheck run`, the checks the monitor
//! runs on their interval, Podman's health state in inspect and ps, and the on-failure actions.
use std::time::{Duration, Instant};

use skiff_test::TestContext;

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

fn both(test: impl Fn(&TestContext)) {
    skiff_test::in_both_modes(SKIFF, test);
}

/// Fails once /uh-oh exists, saying so on stdout and stderr.
const CHECK: &str = "if test -e /uh-oh; then echo uh-oh; echo on stderr >&2; exit 1; fi; echo good";

fn inspect(ctx: &TestContext, name: &str, format: &str) -> String {
    ctx.skiff(["inspect", "--format", format, name])
        .ok()
        .to_string()
}

/// Polls until `done` holds, for at most `limit`.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn the_monitor_runs_checks_and_kills_an_unhealthy_container() {
    both(|ctx| {
        ctx.skiff([
            "run",
            "-d",
            "--name",
            "web",
            "--health-cmd",
            CHECK,
            "--health-interval",
            "1s",
            "--health-retries",
            "2",
            "--health-on-failure",
            "kill",
            "busybox",
            "sleep",
            "1000",
        ])
        .ok();
        assert_eq!(
            inspect(ctx, "web", "{{.Config.HealthcheckOnFailureAction}}"),
            "kill"
        );
        assert_eq!(ctx.skiff(["healthcheck", "run", "web"]).ok(), "");
        assert_eq!(
            inspect(
                ctx,
                "web",
                "{{.State.Health.Status}} {{.State.Health.FailingStreak}}"
            ),
            "healthy 0"
        );
        let status = ctx
            .skiff(["ps", "--format", "{{.Status}}"])
            .ok()
            .to_string();
        assert!(status.ends_with("(healthy)"), "{status}");
        ctx.skiff(["exec", "web", "touch", "/uh-oh"]).ok();
        // Two failed checks on the monitor's 1 s timer: unhealthy, then killed.
        let waited = ctx.skiff([
            "wait",
            "--condition",
            "unhealthy",
            "--condition",
            "exited",
            "web",
        ]);
        assert!(["-1", "137"].contains(&waited.ok()), "{}", waited.stdout);
        assert!(
            eventually(Duration::from_secs(8), || inspect(
                ctx,
                "web",
                "{{.State.Status}}"
            ) == "exited"),
            "the unhealthy container was not killed"
        );
        let health = inspect(ctx, "web", "{{json .State.Healthcheck}}");
        let health: serde_json::Value = serde_json::from_str(&health).unwrap();
        assert_eq!(health["Status"], "unhealthy", "{health}");
        assert!(health["FailingStreak"].as_u64().unwrap() >= 2, "{health}");
        let last = health["Log"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["ExitCode"], 1);
        assert_eq!(last["Output"], "uh-oh\non stderr");
        let events = ctx
            .skiff([
                "events",
                "--stream=false",
                "--filter",
                "event=health_status",
            ])
            .ok()
            .to_string();
        assert!(events.contains("health_status=unhealthy"), "{events}");
    });
}

#[test]
fn healthcheck_run_applies_on_failure_actions() {
    both(|ctx| {
        ctx.skiff([
            "run",
            "-d",
            "--name",
            "r",
            "--health-cmd",
            CHECK,
            "--health-retries",
            "1",
            "--health-on-failure",
            "restart",
            "busybox",
            "sh",
            "-c",
            "rm -f /uh-oh; sleep 1000",
        ])
        .ok();
        let started = inspect(ctx, "r", "{{.State.StartedAt}}");
        ctx.skiff(["exec", "r", "touch", "/uh-oh"]).ok();
        let outcome = ctx.skiff(["healthcheck", "run", "r"]);
        assert_eq!((outcome.code, outcome.stdout.trim()), (1, "unhealthy"));
        // Restarted: running again, and the check passes (the start removed /uh-oh).
        assert_eq!(inspect(ctx, "r", "{{.State.Status}}"), "running");
        assert_ne!(inspect(ctx, "r", "{{.State.StartedAt}}"), started);
        assert!(eventually(Duration::from_secs(5), || {
            ctx.skiff(["healthcheck", "run", "r"]).code == 0
        }));

        ctx.skiff([
            "run",
            "-d",
            "--name",
            "s",
            "--health-cmd",
            "false",
            "--health-retries",
            "1",
            "--health-on-failure",
            "stop",
            "busybox",
            "sleep",
            "1000",
        ])
        .ok();
        assert_eq!(ctx.skiff(["healthcheck", "run", "s"]).code, 1);
        assert_eq!(inspect(ctx, "s", "{{.State.Status}}"), "exited");
    });
}

#[test]
fn bad_healthcheck_input_gets_podmans_errors() {
    both(|ctx| {
        ctx.skiff(["create", "--health-on-failure=kill", "busybox", "true"])
            .fails(
                125,
                "cannot set on-failure action to kill without a health check",
            );
        ctx.skiff([
            "create",
            "--health-cmd",
            "true",
            "--health-on-failure=explode",
            "busybox",
            "true",
        ])
        .fails(125, "invalid on-failure action");
        ctx.skiff([
            "create",
            "--health-cmd",
            "true",
            "--health-interval",
            "10ms",
            "busybox",
            "true",
        ])
        .fails(125, "healthcheck-interval must be at least 1 second");
        ctx.skiff([
            "create",
            "--health-cmd",
            "true",
            "--no-healthcheck",
            "busybox",
            "true",
        ])
        .fails(125, "--no-healthcheck");
        assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
        ctx.skiff(["run", "-d", "--name", "plain", "busybox", "sleep", "100"])
            .ok();
        ctx.skiff(["healthcheck", "run", "plain"])
            .fails(125, "has no defined healthcheck");
        ctx.skiff([
            "create",
            "--name",
            "idle",
            "--health-cmd",
            "true",
            "busybox",
            "true",
        ])
        .ok();
        ctx.skiff(["healthcheck", "run", "idle"])
            .fails(125, "is not running");
        ctx.skiff(["healthcheck", "run", "nope"])
            .fails(125, "no such container");
    });
}
