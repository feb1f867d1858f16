//! Pods against the real binary, root and rootless: members share the infra container's
//! network, IPC and UTS namespaces (and PID with `--share +pid`), ports are published on the
//! pod, the pod starts, stops and goes as one, and bad input changes nothing.

use skiff_test::{Mode, TestContext, fetch_from_host, free_port};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

fn both(test: impl Fn(&TestContext)) {
    skiff_test::in_both_modes(SKIFF, test);
}

/// A web server answering `hello from NAME` on port 80.
fn server(name: &str) -> String {
    format!("mkdir /www && echo hello from {name} > /www/index.html && exec httpd -f -p 80 -h /www")
}

#[test]
fn members_share_the_pods_network_and_its_published_ports() {
    both(|ctx| {
        let port = free_port().to_string();
        let pod = ctx
            .skiff([
                "pod",
                "create",
                "--name",
                "web",
                "-p",
                &format!("{port}:80"),
            ])
            .ok()
            .to_string();
        assert_eq!(pod.len(), 64, "{pod}");
        // The infra container exists, created, listed by ps -a with its pod.
        let listed = ctx
            .skiff([
                "ps",
                "-a",
                "--format",
                "{{.Names}} {{.PodName}} {{.Status}} {{.IsInfra}}",
            ])
            .ok()
            .to_string();
        assert_eq!(listed, format!("{}-infra web Created true", &pod[..12]));
        assert_eq!(
            ctx.skiff([
                "pod",
                "ps",
                "--format",
                "{{.Name}} {{.Status}} {{.NumberOfContainers}}"
            ])
            .ok(),
            "web Created 1"
        );
        // Running a member starts the infra container first.
        ctx.skiff([
            "run",
            "-d",
            "--pod",
            "web",
            "--name",
            "site",
            "busybox",
            "sh",
            "-c",
            &server("site"),
        ])
        .ok();
        assert_eq!(
            ctx.skiff([
                "pod",
                "ps",
                "--format",
                "{{.Status}} {{.ContainerStatuses}}"
            ])
            .ok(),
            "Running running,running"
        );
        // Members reach each other on localhost, by name, and share the pod's hostname.
        let inside = ctx
            .skiff([
                "run", "--rm", "--pod", "web", "--name", "client", "busybox", "sh", "-c",
                "hostname; for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://site:80/ && break; sleep 0.2; done",
            ])
            .ok()
            .to_string();
        assert_eq!(inside, "web\nhello from site");
        // The port is published on the pod.
        assert_eq!(fetch_from_host(port.parse().unwrap()), "hello from site");
        assert_eq!(
            ctx.skiff(["ps", "--filter", "pod=web", "--format", "{{.Names}}"])
                .ok(),
            format!("site\n{}-infra", &pod[..12])
        );
        let table = ctx.skiff(["ps", "--pod"]).ok().to_string();
        let words = |line: &str| {
            line.split_whitespace()
                .rev()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut lines = table.lines();
        assert_eq!(words(lines.next().unwrap()), "PODNAME ID POD", "{table}");
        assert_eq!(
            words(lines.next().unwrap()),
            format!("web {} site", &pod[..12])
        );
    });
}

#[test]
fn a_pod_starts_stops_and_goes_as_one() {
    both(|ctx| {
        ctx.skiff(["pod", "create", "--name", "p"]).ok();
        ctx.skiff([
            "run", "-d", "--pod", "p", "--name", "a", "busybox", "sleep", "1000",
        ])
        .ok();
        ctx.skiff([
            "create", "--pod", "p", "--name", "b", "busybox", "sleep", "1000",
        ])
        .ok();
        let status = || {
            ctx.skiff(["pod", "ps", "--format", "{{.Status}}"])
                .ok()
                .to_string()
        };
        assert_eq!(status(), "Degraded");
        let infra = ctx
            .skiff(["pod", "inspect", "--format", "{{.InfraContainerID}}", "p"])
            .ok()
            .to_string();
        // The infra container goes with its pod only; a running pod only with --force.
        ctx.skiff(["rm", "-f", &infra])
            .fails(125, "is the infra container of pod");
        ctx.skiff(["pod", "rm", "p"]).fails(125, "as it is running");
        assert_eq!(status(), "Degraded");
        let id = ctx.skiff(["pod", "stop", "-t", "0", "p"]).ok().to_string();
        assert_eq!(id.len(), 64);
        // b never ran: as Podman, some exited and some created is Stopped.
        assert_eq!(status(), "Stopped");
        ctx.skiff(["pod", "start", "p"]).ok();
        assert_eq!(status(), "Running");
        ctx.skiff(["pod", "kill", "p"]).ok();
        assert_eq!(status(), "Exited");
        ctx.skiff(["pod", "kill", "p"])
            .fails(125, "no running containers");
        ctx.skiff(["pod", "restart", "p"]).ok();
        assert_eq!(status(), "Running");
        assert_eq!(ctx.skiff(["pod", "rm", "-f", "-t", "0", "p"]).ok(), id);
        ctx.skiff(["pod", "exists", "p"]).fails(1, "");
        assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
        ctx.skiff(["pod", "rm", "p"])
            .fails(1, "no pod with name or ID p found: no such pod");
        assert_eq!(ctx.skiff(["pod", "rm", "-f", "p"]).ok(), "");
        ctx.skiff(["pod", "start", "p"]).fails(125, "no such pod");
    });
}

#[test]
fn shared_pid_namespace_and_pods_without_infra() {
    both(|ctx| {
        ctx.skiff(["pod", "create", "--name", "pids", "--share", "+pid"])
            .ok();
        ctx.skiff(["run", "-d", "--pod", "pids", "busybox", "sleep", "777"])
            .ok();
        let seen = ctx
            .skiff([
                "run", "--rm", "--pod", "pids", "busybox", "ps", "-o", "args",
            ])
            .ok()
            .to_string();
        assert!(
            seen.contains("sleep 777") && seen.contains("/catatonit -P"),
            "{seen}"
        );
        let top = ctx
            .skiff(["pod", "top", "pids", "pid", "args"])
            .ok()
            .to_string();
        assert!(top.contains("sleep 777"), "{top}");
        assert_eq!(
            ctx.skiff([
                "pod",
                "inspect",
                "--format",
                "{{.SharedNamespaces}}",
                "pids"
            ])
            .ok(),
            "[ipc net pid uts]"
        );
        // Without an infra container nothing is shared: each member has its own namespaces.
        ctx.skiff(["pod", "create", "--name", "loose", "--infra=false"])
            .ok();
        ctx.skiff([
            "run", "--rm", "--pod", "loose", "--name", "m", "busybox", "hostname",
        ])
        .ok();
        assert_eq!(
            ctx.skiff([
                "pod",
                "ps",
                "--filter",
                "name=loose",
                "--format",
                "{{.InfraID}}|{{.NumberOfContainers}}|{{.Status}}"
            ])
            .ok(),
            "|0|Created"
        );
        assert_eq!(
            ctx.skiff(["pod", "prune", "-f"]).ok().lines().count(),
            1,
            "the pod without running containers goes"
        );
        ctx.skiff(["pod", "exists", "pids"]).ok();
    });
}

#[test]
fn bad_pod_input_gets_one_error_and_changes_nothing() {
    both(|ctx| {
        ctx.skiff(["pod", "create", "--share", "net,mnt"])
            .fails(125, "invalid kernel namespace to share: mnt");
        ctx.skiff(["pod", "create", "--infra=false", "-p", "8080:80"])
            .fails(
                125,
                "you must have an infra container to publish port bindings",
            );
        ctx.skiff(["pod", "create", "--name", "bad/name"])
            .fails(125, "invalid");
        ctx.skiff(["pod", "create", "--infra-image", "localhost/nope"])
            .fails(125, "");
        ctx.skiff(["pod", "create", "--memory", "lots"])
            .fails(125, "lots");
        ctx.skiff(["pod", "create", "--cpus", "-1"])
            .fails(125, "invalid --cpus -1");
        ctx.skiff(["pod", "create", "--memory-swap", "1g"])
            .fails(125, "you must provide a memory limit (--memory)");
        ctx.skiff(["pod", "create", "--memory", "64m", "--share-parent=false"])
            .fails(125, "would apply to none of its containers");
        assert_eq!(ctx.skiff(["pod", "ps", "-q"]).ok(), "");
        assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");

        ctx.skiff(["pod", "create", "--name", "p"]).ok();
        // Pods and containers share names, as in Podman.
        ctx.skiff(["pod", "create", "--name", "p"])
            .fails(125, "name \"p\" is in use: pod already exists");
        ctx.skiff(["create", "--name", "p", "busybox", "true"])
            .fails(125, "already in use");
        ctx.skiff(["run", "--pod", "p", "-p", "8080:80", "busybox", "true"])
            .fails(
                125,
                "published or exposed ports must be defined when the pod is created",
            );
        ctx.skiff(["run", "--pod", "p", "--network", "none", "busybox", "true"])
            .fails(125, "networks must be defined when the pod is created");
        ctx.skiff(["run", "--pod", "nope", "busybox", "true"])
            .fails(125, "no pod with name or ID nope found: no such pod");
        assert_eq!(ctx.skiff(["ps", "-aq"]).ok().lines().count(), 1);
        // --pod new:NAME makes the pod, and takes it away again when the member fails.
        ctx.skiff(["run", "--rm", "--pod", "new:fresh", "busybox", "true"])
            .ok();
        ctx.skiff(["pod", "exists", "fresh"]).ok();
        ctx.skiff(["run", "--pod", "new:broken", "localhost/nope", "true"])
            .fails(125, "");
        ctx.skiff(["pod", "exists", "broken"]).fails(1, "");

        // --pod-id-file: claimed once, removed with the pod; --replace swaps a pod.
        let file = ctx.scratch("ids").join("pod.id");
        let path = file.to_str().unwrap();
        let id = ctx
            .skiff(["pod", "create", "--name", "q", "--pod-id-file", path])
            .ok()
            .to_string();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), id);
        ctx.skiff(["pod", "create", "--pod-id-file", path])
            .fails(125, "pod id file exists");
        let replaced = ctx
            .skiff(["pod", "create", "--name", "q", "--replace"])
            .ok()
            .to_string();
        assert_ne!(replaced, id);
        ctx.skiff(["pod", "rm", "--pod-id-file", path])
            .fails(1, "no such pod");
        let json = ctx
            .skiff(["pod", "ps", "--format", "json"])
            .ok()
            .to_string();
        let pods: serde_json::Value = serde_json::from_str(&json).unwrap();
        let names: Vec<&str> = pods
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["q", "fresh", "p"], "{json}");
    });
}

#[test]
fn force_removing_the_infra_image_takes_its_pods() {
    both(|ctx| {
        ctx.skiff([
            "create", "--pod", "new:p", "--name", "member", "busybox", "true",
        ])
        .ok();
        let image = ctx
            .skiff([
                "ps",
                "-a",
                "--filter",
                "name=infra",
                "--format",
                "{{.Image}}",
            ])
            .ok()
            .to_string();
        assert!(image.starts_with("localhost/podman-pause:"), "{image}");
        ctx.skiff(["rmi", &image])
            .fails(2, "image is in use by a container");
        let removed = ctx.skiff(["rmi", "-f", &image]).ok().to_string();
        assert!(
            removed.starts_with(&format!("Untagged: {image}\nDeleted: ")),
            "{removed}"
        );
        assert_eq!(ctx.skiff(["pod", "ps", "-q"]).ok(), "");
        assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
        ctx.skiff(["image", "exists", "busybox"]).ok();
    });
}

#[test]
fn pod_stats_lists_each_running_member() {
    let ctx = TestContext::new(SKIFF, skiff_test::Mode::Root).with_busybox();
    let pod = ctx
        .skiff(["pod", "create", "--name", "st"])
        .ok()
        .to_string();
    ctx.skiff([
        "run", "-d", "--pod", "st", "--name", "m", "busybox", "sleep", "100",
    ])
    .ok();
    let rows = ctx
        .skiff([
            "pod",
            "stats",
            "--no-stream",
            "--format",
            "{{.Pod}} {{.Name}} {{.PIDS}}",
            "st",
        ])
        .ok()
        .to_string();
    let mut rows: Vec<&str> = rows.lines().collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            format!("{} {}-infra 1", &pod[..12], &pod[..12]),
            format!("{} m 1", &pod[..12])
        ]
    );
    let table = ctx.skiff(["pod", "stats", "--no-stream"]).ok().to_string();
    assert!(
        table.starts_with("POD           CID           NAME"),
        "{table}"
    );
    ctx.skiff(["pod", "stats", "--no-stream", "nope"])
        .fails(125, "no such pod");
}

#[test]
fn exit_policy_stop_stops_the_pod_with_its_last_member() {
    both(|ctx| {
        ctx.skiff(["pod", "create", "--name", "job", "--exit-policy", "stop"])
            .ok();
        assert_eq!(
            ctx.skiff(["pod", "inspect", "--format", "{{.ExitPolicy}}", "job"])
                .ok(),
            "stop"
        );
        ctx.skiff(["run", "--pod", "job", "busybox", "true"]).ok();
        let mut status = String::new();
        for _ in 0..50 {
            status = ctx
                .skiff(["pod", "ps", "--format", "{{.Status}}"])
                .ok()
                .to_string();
            if status == "Exited" {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert_eq!(status, "Exited");
        ctx.skiff(["pod", "create", "--exit-policy", "maybe"])
            .fails(125, "invalid pod exit policy: \"maybe\"");
    });
}

/// The pod's cgroup file `v1` (in the controller's hierarchy) or `v2` as the host has them.
fn pod_cgroup_file(path: &str, controller: &str, v1: &str, v2: &str) -> std::path::PathBuf {
    let root = std::path::Path::new("/sys/fs/cgroup");
    let relative = path.trim_start_matches('/');
    if root.join("cgroup.controllers").exists() {
        root.join(relative).join(v2)
    } else {
        root.join(controller).join(relative).join(v1)
    }
}

#[test]
fn pod_limits_hold_for_all_its_members_together() {
    let ctx = TestContext::new(SKIFF, skiff_test::Mode::Root).with_busybox();
    let pod = ctx
        .skiff([
            "pod",
            "create",
            "--name",
            "limited",
            "--memory",
            "32m",
            "--memory-swap",
            "32m",
            "--cpus",
            "0.5",
        ])
        .ok()
        .to_string();
    let path = format!("/skiff/pod-{pod}");
    let inspect = ctx.skiff(["pod", "inspect", "limited"]).ok().to_string();
    let json: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    let json = if json.is_array() { &json[0] } else { &json };
    assert_eq!(json["CgroupPath"], path.as_str(), "{inspect}");
    assert_eq!(json["CgroupParent"], "/skiff", "{inspect}");
    assert_eq!(json["CreateCgroup"], true, "{inspect}");
    assert_eq!(json["memory_limit"], 32 << 20, "{inspect}");
    assert_eq!(json["cpu_quota"], 50_000, "{inspect}");
    // A member's cgroup is below the pod's, which holds the limits.
    let own = ctx
        .skiff([
            "run",
            "--rm",
            "--pod",
            "limited",
            "--cgroupns",
            "host",
            "busybox",
            "cat",
            "/proc/self/cgroup",
        ])
        .ok()
        .to_string();
    assert!(own.contains(&format!("{path}/")), "{own}");
    let memory = pod_cgroup_file(&path, "memory", "memory.limit_in_bytes", "memory.max");
    assert_eq!(
        std::fs::read_to_string(&memory).unwrap().trim(),
        (32 << 20).to_string()
    );
    let cpu = pod_cgroup_file(&path, "cpu", "cpu.cfs_quota_us", "cpu.max");
    assert!(
        std::fs::read_to_string(&cpu).unwrap().starts_with("50000"),
        "{}",
        cpu.display()
    );
    // A member with a looser limit of its own is held to the pod's: the pod's cgroup is
    // where the OOM killer ends it.
    let hog = ctx.skiff([
        "run",
        "--pod",
        "limited",
        "--name",
        "hog",
        "--memory",
        "256m",
        "--memory-swap",
        "256m",
        "busybox",
        "tail",
        "/dev/zero",
    ]);
    assert_eq!(hog.code, 137, "{hog:?}");
    // The pod's limit is the one it ran into: v1 records the pod's peak, v2 counts `max`
    // events.
    let hits = pod_cgroup_file(
        &path,
        "memory",
        "memory.max_usage_in_bytes",
        "memory.events",
    );
    let hits = std::fs::read_to_string(&hits).unwrap();
    match hits.lines().find_map(|l| l.strip_prefix("max ")) {
        Some(events) => assert!(events.trim() != "0", "{hits}"),
        None => assert_eq!(hits.trim(), (32 << 20).to_string()),
    }
    // The pod's cgroup goes with the pod.
    ctx.skiff(["pod", "rm", "-f", "-t", "0", "limited"]).ok();
    assert!(!memory.parent().unwrap().exists(), "{}", memory.display());
}

#[test]
fn rootless_pod_limits_are_refused_with_podmans_warning_where_cgroups_are_not_delegated() {
    let ctx = TestContext::new(SKIFF, skiff_test::Mode::Rootless).with_busybox();
    if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        return; // a pure v2 host may delegate cgroups to the user
    }
    let out = ctx.skiff(["pod", "create", "--name", "p", "--memory", "32m"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains(
            "Resource limits are not supported and ignored on cgroups V1 rootless systems"
        ),
        "{out:?}"
    );
    assert_eq!(
        ctx.skiff(["run", "--rm", "--pod", "p", "busybox", "echo", "member"])
            .ok(),
        "member"
    );
}

/// `pod create --userns keep-id` (rootless): the infra container gets the user namespace and
/// every member joins it, running as the user, reaching the others on localhost; a member
/// may not ask for a user namespace of its own then. `kube play --userns` gives its pods the
/// same. Root is refused, and nothing is left behind.
#[test]
fn pods_share_a_keep_id_user_namespace() {
    both(|ctx| {
        if ctx.mode == Mode::Root {
            ctx.skiff(["pod", "create", "--userns=keep-id", "--name", "kept"])
                .fails(125, "keep-id is only supported in rootless mode");
            assert_eq!(ctx.skiff(["pod", "ps", "-q"]).ok(), "");
            assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
            return;
        }
        let uid = ctx.owner().0.to_string();
        ctx.skiff(["pod", "create", "--userns=keep-id", "--name", "kept"])
            .ok();
        ctx.skiff([
            "run",
            "-d",
            "--pod",
            "kept",
            "--name",
            "web",
            "localhost/busybox",
            "sh",
            "-c",
            "echo served > /tmp/index.html; exec httpd -f -p 8080 -h /tmp",
        ])
        .ok();
        let member = ctx.skiff([
            "run", "--rm", "--pod", "kept", "localhost/busybox", "sh", "-c",
            "id -u; for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://127.0.0.1:8080/ && break; sleep 0.2; done",
        ]);
        assert_eq!(member.ok(), format!("{uid}\nserved"));
        assert_eq!(
            ctx.skiff(["exec", "web", "id", "-u"]).ok(),
            uid,
            "exec runs as the user too"
        );
        ctx.skiff([
            "run",
            "--rm",
            "--pod",
            "kept",
            "--userns=keep-id",
            "localhost/busybox",
            "true",
        ])
        .fails(
            125,
            "cannot be set when joining a pod with a user namespace",
        );
        ctx.skiff(["pod", "rm", "-f", "-t", "0", "kept"]).ok();
        let yaml = ctx.scratch("kube").join("pod.yaml");
        std::fs::write(
            &yaml,
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: played\nspec:\n  restartPolicy: Never\n  containers:\n  - name: who\n    image: localhost/busybox\n    command: [id, -u]\n",
        )
        .unwrap();
        ctx.chown(&yaml);
        let yaml = yaml.display().to_string();
        ctx.skiff(["kube", "play", "--userns=keep-id", &yaml]).ok();
        assert_eq!(ctx.skiff(["wait", "played-who"]).ok(), "0");
        assert_eq!(ctx.skiff(["logs", "played-who"]).ok(), uid);
        ctx.skiff(["kube", "down", &yaml]).ok();
    });
}
