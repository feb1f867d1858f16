//! Kubernetes YAML against the real binary, root and rootless: what `kube generate` writes
//! passes `kubernetes-validate --strict` (the current Kubernetes release's schemas, from PyPI),
//! `kube play` runs YAML written for a cluster as pods, `kube down` takes them away, and a
//! generated file plays back to the same containers.
use std::process::Command;

use skiff_test::{TestContext, fetch_from_host, free_port};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

fn both(test: impl Fn(&TestContext)) {
    skiff_test::in_both_modes(SKIFF, test);
}

/// Asserts Kubernetes' schemas take every document of `yaml`, with no warning.
#[track_caller]
fn assert_valid(ctx: &TestContext, name: &str, yaml: &str) {
    let file = ctx.scratch("validate").join(format!("{name}.yaml"));
    std::fs::write(&file, yaml).unwrap();
    let output = Command::new(skiff_test::tool("kubernetes-validate"))
        .args(["--strict"])
        .arg(&file)
        .output()
        .expect("run kubernetes-validate (tests/setup.sh installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{name}: {text}\n{yaml}");
    assert!(!text.contains("WARN"), "{name}: {text}\n{yaml}");
    let documents = yaml.matches("\n---\n").count() + 1;
    assert_eq!(
        text.matches(" passed for resource ").count(),
        documents,
        "{text}"
    );
}

/// A YAML file in the context's scratch directory.
fn yaml_file(ctx: &TestContext, name: &str, text: &str) -> String {
    let path = ctx.scratch("yaml").join(name);
    std::fs::write(&path, text).unwrap();
    ctx.chown(&path);
    path.display().to_string()
}

#[test]
fn generated_yaml_passes_kubernetes_validation() {
    both(|ctx| {
        let data = ctx.scratch("data");
        ctx.skiff(["volume", "create", "--label", "tier=db", "dbdata"])
            .ok();
        ctx.skiff([
            "pod", "create", "--name", "Web_Pod", "-p", "18080:80", "--label", "team=a",
        ])
        .ok();
        ctx.skiff([
            "create",
            "--pod",
            "Web_Pod",
            "--name",
            "server",
            "--cap-drop",
            "fowner",
            "--cap-add",
            "net_admin",
            "-e",
            "MODE=fast",
            "-v",
            "dbdata:/var/lib/db",
            "-v",
            &format!("{}:/srv:ro", data.display()),
            "--tmpfs",
            "/run/cache",
            "-w",
            "/srv",
            "-u",
            "1000:1000",
            "--read-only",
            "--health-cmd",
            "test -d /srv",
            "--health-interval",
            "30s",
            "--restart",
            "on-failure",
            "busybox",
            "httpd",
            "-f",
        ])
        .ok();
        ctx.skiff([
            "create", "--pod", "Web_Pod", "--name", "side", "busybox", "top",
        ])
        .ok();
        let pod = ctx.skiff(["kube", "generate", "Web_Pod"]).ok().to_string();
        assert!(pod.starts_with("# Save the output of this file"), "{pod}");
        assert_valid(ctx, "pod", &pod);
        for needle in [
            "kind: Pod",
            "name: web-pod\n",
            "app: web-pod",
            "team: a",
            "- containerPort: 80\n      hostPort: 18080",
            "claimName: dbdata",
            "readOnlyRootFilesystem: true",
            "runAsUser: 1000",
            "restartPolicy: OnFailure",
            "- CAP_NET_ADMIN",
            "- CAP_FOWNER",
            "medium: Memory",
            "workingDir: /srv",
            "value: fast",
            "- /bin/sh\n        - -c\n        - test -d /srv",
            "periodSeconds: 30",
        ] {
            assert!(pod.contains(needle), "{needle:?} missing from:\n{pod}");
        }
        // The image has no entrypoint: the command is `command`, as Podman writes it.
        assert!(pod.contains("command:\n    - httpd\n    - -f"), "{pod}");
        let with_service = ctx
            .skiff(["kube", "generate", "-s", "Web_Pod", "dbdata"])
            .ok()
            .to_string();
        assert!(with_service.contains("kind: Service"), "{with_service}");
        assert!(with_service.contains("type: NodePort"), "{with_service}");
        assert!(
            with_service.contains("kind: PersistentVolumeClaim"),
            "{with_service}"
        );
        assert_valid(ctx, "service", &with_service);
        let deployment = ctx
            .skiff([
                "kube",
                "generate",
                "-t",
                "deployment",
                "--replicas",
                "3",
                "Web_Pod",
            ])
            .ok()
            .to_string();
        assert!(deployment.contains("kind: Deployment"), "{deployment}");
        assert!(
            deployment.contains("name: web-pod-deployment"),
            "{deployment}"
        );
        assert!(deployment.contains("replicas: 3"), "{deployment}");
        assert_valid(ctx, "deployment", &deployment);
        let daemonset = ctx
            .skiff(["generate", "kube", "--type", "daemonset", "Web_Pod"])
            .ok()
            .to_string();
        assert!(daemonset.contains("kind: DaemonSet"), "{daemonset}");
        assert_valid(ctx, "daemonset", &daemonset);
        // A standalone container: a pod named for it.
        ctx.skiff([
            "create", "--name", "solo", "-p", "18081:81", "busybox", "sleep", "9",
        ])
        .ok();
        let solo = ctx.skiff(["kube", "generate", "solo"]).ok().to_string();
        assert!(solo.contains("name: solo-pod"), "{solo}");
        assert!(solo.contains("hostPort: 18081"), "{solo}");
        assert_valid(ctx, "solo", &solo);
        // -f writes a new file only.
        let out = ctx.scratch("out").join("pod.yaml");
        let out_text = out.display().to_string();
        ctx.skiff(["kube", "generate", "-f", &out_text, "solo"])
            .ok();
        assert!(std::fs::read_to_string(&out).unwrap().contains("solo-pod"));
        ctx.skiff(["kube", "generate", "-f", &out_text, "solo"])
            .fails(125, "file exists");
        // Bad input: one line, Podman's code, nothing written.
        ctx.skiff(["kube", "generate", "nothing-here"])
            .fails(125, "nothing-here");
        ctx.skiff(["kube", "generate", "-t", "job", "solo"])
            .fails(125, "invalid type given");
        ctx.skiff(["kube", "generate", "Web_Pod", "solo"])
            .fails(125, "cannot generate pods and containers at the same time");
        ctx.skiff(["pod", "create", "--name", "empty"]).ok();
        ctx.skiff(["kube", "generate", "empty"])
            .fails(125, "pod empty only has an infra container");
    });
}

const APP: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  GREETING: hello from a configmap
  app.conf: |
    mode=fast
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
type: Opaque
data:
  password: c2VjcmV0
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: appdata
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
---
apiVersion: v1
kind: Pod
metadata:
  name: test_pod
  labels:
    app: test
spec:
  restartPolicy: Never
  initContainers:
  - name: prepare
    image: busybox
    command: [sh, -c, "echo prepared > /data/init"]
    volumeMounts:
    - name: data
      mountPath: /data
  containers:
  - name: test
    image: busybox
    command: [sh, -c]
    args: ["echo $GREETING $EXTRA > /data/out; cat /config/app.conf >> /data/out; cat /host/in >> /data/out; echo $PASSWORD $(cat /creds/password) >> /data/out; trap 'exit 0' TERM; while :; do sleep 1; done"]
    env:
    - name: GREETING
      valueFrom:
        configMapKeyRef: {name: settings, key: GREETING}
    - name: EXTRA
      value: "and more"
    - name: PASSWORD
      valueFrom:
        secretKeyRef: {name: creds, key: password}
    readinessProbe:
      exec:
        command: [test, -f, /data/out]
      periodSeconds: 60
    terminationMessagePath: /dev/termination-log
    lifecycle:
      preStop:
        exec:
          command: [sh, -c, "true"]
    workingDir: /data
    volumeMounts:
    - name: data
      mountPath: /data
    - name: config
      mountPath: /config
    - name: host
      mountPath: /host:z
    - name: creds
      mountPath: /creds
  volumes:
  - name: creds
    secret:
      secretName: creds
  - name: data
    persistentVolumeClaim:
      claimName: appdata
  - name: config
    configMap:
      name: settings
  - name: host
    hostPath:
      path: HOSTDIR
      type: Directory
"#;

#[test]
fn play_runs_the_yaml_and_down_takes_it_away() {
    both(|ctx| {
        let host = ctx.scratch("host");
        std::fs::write(host.join("in"), "from the host\n").unwrap();
        ctx.chown(&host.join("in"));
        let yaml = APP.replace("HOSTDIR", &host.display().to_string());
        let file = yaml_file(ctx, "app.yaml", &yaml);
        let playing = ctx.skiff(["kube", "play", &file]);
        let played = playing.ok().to_string();
        // What a cluster would do and skiff does not is named, once.
        // Away from a terminal, in logrus's text format as Podman's.
        let warning = playing.stderr.trim();
        assert!(
            warning.starts_with("time=\"")
                && warning.ends_with(
                    " level=warning msg=\"YAML document 4 (Pod): field spec.containers.0.lifecycle is not supported and is ignored\""
                )
                && warning.lines().count() == 1,
            "{warning}"
        );
        let lines: Vec<&str> = played.lines().collect();
        assert_eq!(
            lines[..5],
            ["Volumes:", "appdata", "settings", "creds", "Pod:"],
            "{played}"
        );
        assert_eq!(lines[6], "Container:", "{played}");
        assert_eq!(lines.len(), 8, "{played}");
        let pod = lines[5];
        assert_eq!(
            ctx.skiff(["pod", "inspect", "--format", "{{.Name}}", pod])
                .ok(),
            "test_pod"
        );
        // The init container ran first and is gone; the container runs with all it was given.
        let mut out = String::new();
        for _ in 0..100 {
            out = ctx
                .skiff(["exec", "test_pod-test", "cat", "/data/out", "/data/init"])
                .stdout;
            if out.contains("prepared") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert_eq!(
            out,
            "hello from a configmap and more\nmode=fast\nfrom the host\nsecret secret\nprepared\n"
        );
        assert_eq!(
            ctx.skiff([
                "ps",
                "-a",
                "--filter",
                &format!("pod={pod}"),
                "--format",
                "{{.Names}} {{.State}}"
            ])
            .ok()
            .lines()
            .filter(|l| !l.contains("-infra "))
            .collect::<Vec<_>>(),
            ["test_pod-test running"]
        );
        assert_eq!(ctx.skiff(["exec", "test_pod-test", "pwd"]).ok(), "/data");
        // Again: the pod exists (Podman's words and code); --replace makes it anew.
        ctx.skiff(["kube", "play", &file])
            .fails(125, "is in use: pod already exists");
        ctx.skiff(["kube", "play", "--replace", "--start=false", &file])
            .ok();
        assert_eq!(
            ctx.skiff(["inspect", "--format", "{{.State.Status}}", "test_pod-test"])
                .ok(),
            "created"
        );
        // Down: the pod and its containers go, the claim's volume stays unless --force.
        let down = ctx.skiff(["kube", "down", &file]).ok().to_string();
        assert!(down.starts_with("Pods stopped:\n"), "{down}");
        assert!(down.contains("Pods removed:\n"), "{down}");
        ctx.skiff(["pod", "exists", "test_pod"]).fails(1, "");
        ctx.skiff(["container", "exists", "test_pod-test"])
            .fails(1, "");
        ctx.skiff(["volume", "exists", "appdata"]).ok();
        ctx.skiff(["kube", "play", "--start=false", &file]).ok();
        let down = ctx
            .skiff(["play", "kube", "--down", &file])
            .ok()
            .to_string();
        assert!(down.contains("Pods removed:"), "{down}");
        ctx.skiff_with_input(&["kube", "play", "--start=false", "-"], yaml.as_bytes())
            .ok();
        let down = ctx
            .skiff_with_input(&["kube", "down", "--force", "-"], yaml.as_bytes())
            .ok()
            .to_string();
        assert!(down.ends_with("Volumes removed:\nappdata"), "{down}");
        ctx.skiff(["volume", "exists", "appdata"]).fails(1, "");
    });
}

#[test]
fn a_pod_made_by_run_comes_back_the_same_from_its_yaml() {
    both(|ctx| {
        let port = free_port();
        ctx.skiff(["pod", "create", "--name", "rt", "-p", &format!("{port}:80")])
            .ok();
        ctx.skiff([
            "run",
            "-d",
            "--pod",
            "rt",
            "--name",
            "web",
            "--init",
            "-v",
            "rtdata:/www",
            "-e",
            "GREETING=hi",
            "--memory",
            "64m",
            "--stop-timeout",
            "3",
            "busybox",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/www",
        ])
        .ok();
        ctx.skiff([
            "exec",
            "web",
            "sh",
            "-c",
            "echo $GREETING from the volume > /www/index.html",
        ])
        .ok();
        assert_eq!(fetch_from_host(port), "hi from the volume");
        let inspect = |name: &str| {
            ctx.skiff([
                "inspect",
                "--format",
                "{{.HostConfig.Memory}} {{.Config.StopTimeout}} {{.HostConfig.Init}}",
                name,
            ])
            .ok()
            .to_string()
        };
        let before = inspect("web");
        let yaml = ctx.scratch("rt").join("rt.yaml").display().to_string();
        ctx.skiff(["kube", "generate", "rt", "-f", &yaml]).ok();
        // The YAML names the pod: down takes away the one run made, play brings it back.
        ctx.skiff(["kube", "down", &yaml]).ok();
        ctx.skiff(["container", "exists", "web"]).fails(1, "");
        ctx.skiff(["kube", "play", &yaml]).ok();
        assert_eq!(fetch_from_host(port), "hi from the volume");
        assert_eq!(
            ctx.skiff(["exec", "rt-web", "sh", "-c", "echo $GREETING"])
                .ok(),
            "hi"
        );
        assert_eq!(inspect("rt-web"), before);
        ctx.skiff(["kube", "down", &yaml]).ok();
    });
}

#[test]
fn a_generated_pod_plays_back_and_deployments_become_pods() {
    both(|ctx| {
        ctx.skiff([
            "create",
            "--pod",
            "new:pod1",
            "--restart=no",
            "--name",
            "test1",
            "busybox",
            "touch",
            "/testrw",
        ])
        .ok();
        ctx.skiff([
            "create",
            "--pod",
            "pod1",
            "--read-only",
            "--restart=no",
            "--name",
            "test2",
            "busybox",
            "touch",
            "/testro",
        ])
        .ok();
        let out = ctx.scratch("gen").join("pod1.yaml").display().to_string();
        ctx.skiff(["kube", "generate", "pod1", "-f", &out]).ok();
        ctx.skiff(["kube", "play", "--replace", &out]).ok();
        assert_eq!(ctx.skiff(["wait", "pod1-test1", "pod1-test2"]).ok(), "0\n1");
        assert_eq!(
            ctx.skiff([
                "inspect",
                "--format",
                "{{.HostConfig.ReadonlyRootfs}}",
                "pod1-test1",
                "pod1-test2"
            ])
            .ok(),
            "false\ntrue"
        );
        // Generated again from the played pod, the names stay what they were.
        let again = ctx.skiff(["kube", "generate", "pod1"]).ok().to_string();
        assert!(again.contains("name: test1\n"), "{again}");
        ctx.skiff(["kube", "down", &out]).ok();
        let deployment = yaml_file(
            ctx,
            "deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: main\n        image: busybox\n        command: [sh, -c, \"trap 'exit 0' TERM; while :; do sleep 1; done\"]\n",
        );
        ctx.skiff(["kube", "play", &deployment]).ok();
        assert_eq!(
            ctx.skiff(["inspect", "--format", "{{.State.Status}}", "web-pod-main"])
                .ok(),
            "running"
        );
        ctx.skiff(["kube", "down", &deployment]).ok();
        ctx.skiff(["pod", "exists", "web-pod"]).fails(1, "");
    });
}

#[test]
fn bad_yaml_gets_one_clear_error_and_changes_nothing() {
    let ctx = TestContext::new(SKIFF, skiff_test::Mode::Root).with_busybox();
    let cases = [
        ("syntax", "kind: Pod\nmetadata: [\n", "YAML document 1"),
        (
            "kind",
            "apiVersion: v1\nkind: Widget\n",
            "invalid YAML kind: \"Widget\"",
        ),
        (
            "noname",
            "kind: Pod\nspec: {containers: []}\n",
            "has no metadata.name",
        ),
        (
            "noimage",
            "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n",
            "container c of pod p: no image given",
        ),
        (
            "volume",
            "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    volumeMounts:\n    - {name: v, mountPath: /v}\n",
            "volume v: no volume of that name in the pod",
        ),
        (
            "hostpath",
            "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    volumeMounts:\n    - {name: v, mountPath: /v}\n  volumes:\n  - name: v\n    hostPath: {path: /does/not/exist, type: Directory}\n",
            "hostPath /does/not/exist",
        ),
        (
            "secret",
            "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    env:\n    - name: X\n      valueFrom: {secretKeyRef: {name: s, key: k}}\n",
            "no key \"k\" in Secret \"s\"",
        ),
    ];
    for (name, yaml, needle) in cases {
        let file = yaml_file(&ctx, &format!("{name}.yaml"), yaml);
        let err = ctx
            .skiff(["kube", "play", &file])
            .fails(125, needle)
            .to_string();
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
    }
    ctx.skiff(["kube", "play", "/no/such/file.yaml"])
        .fails(125, "/no/such/file.yaml");
    ctx.skiff([
        "kube",
        "down",
        &yaml_file(
            &ctx,
            "gone.yaml",
            "kind: Pod\nmetadata: {name: gone}\nspec: {containers: [{name: c, image: busybox}]}\n",
        ),
    ])
    .fails(125, "no pod with name or ID gone found");
    assert_eq!(ctx.skiff(["pod", "ps", "-q"]).ok(), "");
    assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
    assert_eq!(ctx.skiff(["volume", "ls", "-q"]).ok(), "");
}

#[test]
fn play_builds_images_from_the_directories_named_after_them() {
    both(|ctx| {
        let dir = ctx.scratch("built");
        std::fs::create_dir_all(dir.join("kubeweb")).unwrap();
        std::fs::write(
            dir.join("kubeweb/Containerfile"),
            "FROM localhost/busybox\nRUN echo built > /built\n",
        )
        .unwrap();
        let yaml = dir.join("pod.yaml");
        std::fs::write(
            &yaml,
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: built\nspec:\n  restartPolicy: Never\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: web\n    image: localhost/kubeweb:latest\n    command: [cat, /built]\n",
        )
        .unwrap();
        let yaml = yaml.display().to_string();
        // --build=false: no build, and the image is nowhere to pull from.
        let refused = ctx.skiff(["kube", "play", "--build=false", &yaml]);
        assert_ne!(refused.code, 0, "{refused:?}");
        assert_eq!(ctx.skiff(["pod", "ps", "-q"]).ok(), "");
        // Missing: built from ./kubeweb, then run.
        let played = ctx.skiff(["kube", "play", &yaml]);
        assert_eq!(played.code, 0, "{played:?}");
        assert!(
            played.stdout.contains("STEP 2/2: RUN echo built > /built"),
            "{played:?}"
        );
        ctx.skiff(["wait", "built-web"]).ok();
        assert_eq!(ctx.skiff(["logs", "built-web"]).ok(), "built");
        // Present: played again as it is, unless --build says build anyway.
        let again = ctx.skiff(["kube", "play", "--replace", &yaml]);
        assert!(!again.stdout.contains("STEP"), "{again:?}");
        let context = dir.display().to_string();
        let rebuilt = ctx.skiff([
            "kube",
            "play",
            "--replace",
            "--build",
            "--context-dir",
            &context,
            &yaml,
        ]);
        assert_eq!(rebuilt.code, 0, "{rebuilt:?}");
        assert!(
            rebuilt.stdout.contains("STEP 1/2: FROM localhost/busybox"),
            "{rebuilt:?}"
        );
        ctx.skiff(["kube", "down", &yaml]).ok();
    });
}

#[test]
fn the_pods_annotations_and_play_annotation_reach_each_container() {
    let ctx = TestContext::new(SKIFF, skiff_test::Mode::Root).with_busybox();
    let file = yaml_file(
        &ctx,
        "annotated.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: annotated\n  annotations:\n    org.example/team: storage\n    org.example/env: yaml\nspec:\n  containers:\n  - name: c\n    image: localhost/busybox\n    command: [sleep, '100']\n",
    );
    ctx.skiff(["kube", "play", "--annotation", "novalue", &file])
        .fails(125, "annotation \"novalue\" must include an '=' sign");
    ctx.skiff(["pod", "exists", "annotated"]).fails(1, "");
    ctx.skiff([
        "kube",
        "play",
        "--start=false",
        "--annotation",
        "org.example/env=flag",
        &file,
    ])
    .ok();
    assert_eq!(
        ctx.skiff([
            "inspect",
            "--format",
            "{{index .Config.Annotations \"org.example/team\"}} {{index .Config.Annotations \"org.example/env\"}}",
            "annotated-c"
        ])
        .ok(),
        "storage flag"
    );
}

#[test]
fn play_wait_runs_until_the_containers_exit_or_ctrl_c_then_takes_it_down() {
    let ctx = TestContext::new(SKIFF, skiff_test::Mode::Root).with_busybox();
    let pod = |name: &str, command: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  restartPolicy: Never\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: c\n    image: localhost/busybox\n    command: [sh, -c, '{command}']\n"
        )
    };
    // The containers end by themselves: play returns, and what it made is gone.
    let file = yaml_file(&ctx, "brief.yaml", &pod("brief", "sleep 1"));
    let out = ctx
        .skiff(["kube", "play", "--wait", &file])
        .ok()
        .to_string();
    assert!(out.contains("Pods removed:"), "{out}");
    ctx.skiff(["pod", "exists", "brief"]).fails(1, "");
    // Ctrl-C ends the wait the same way.
    let file = yaml_file(&ctx, "long.yaml", &pod("long", "echo up; exec sleep 1000"));
    let play = skiff_test::Foreground::spawn(ctx.command(["kube", "play", "-w", &file]));
    play.expect_line("Container:");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while ctx
        .skiff(["inspect", "--format", "{{.State.Status}}", "long-c"])
        .stdout
        .trim()
        != "running"
    {
        assert!(std::time::Instant::now() < deadline, "the pod never ran");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (code, out, stderr) = play.interrupt();
    assert_eq!(code, Some(0), "{out}\n{stderr}");
    assert!(out.contains("Pods removed:"), "{out}\n{stderr}");
    ctx.skiff(["pod", "exists", "long"]).fails(1, "");
}
