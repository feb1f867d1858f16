//! The engine driven as a multi-threaded server drives it: from eight concurrent tasks of a
//! tokio runtime, through the action helper (`skiff_engine::action`), with sockets as the
//! containers' streams and resizes as messages. Root and rootless; every byte of output and
//! every exit code is checked.
use std::io::Read;
use std::os::fd::OwnedFd;
use std::process::Stdio;
use std::time::Duration;

use skiff_engine::action::{Action, ActionError, Helper, Outcome, Report, Running, Streams};
use skiff_engine::{
    AttachOptions, CreateOptions, ErrorKind, ExecOptions, NewContainer, StartMode, StoreOptions,
};
use skiff_test::{Mode, TestContext};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");
const TASKS: usize = 8;
const PATIENCE: Duration = Duration::from_secs(60);

/// The helper for this context's store, as its user.
fn helper(ctx: &TestContext) -> Helper {
    let store = StoreOptions {
        root: ctx.root(),
        runroot: ctx.runroot(),
        driver: None,
        runtime: String::new(),
        runtime_flags: Vec::new(),
        rootless: ctx.mode == Mode::Rootless,
        volume_path: None,
        events: Default::default(),
    };
    let helper = Helper::new(ctx.binary(), store)
        .env(
            "CONTAINERS_REGISTRIES_CONF",
            &ctx.dir.join("registries.conf").display().to_string(),
        )
        .env(
            "REGISTRY_AUTH_FILE",
            &ctx.dir.join("auth.json").display().to_string(),
        );
    match ctx.mode {
        Mode::Root => helper,
        Mode::Rootless => {
            let (uid, gid) = ctx.owner();
            helper
                .env("HOME", &ctx.dir.display().to_string())
                .env("USER", skiff_test::TEST_USER)
                .env(
                    "XDG_RUNTIME_DIR",
                    &ctx.dir.join("xdg").display().to_string(),
                )
                .as_user(uid, gid)
        }
    }
}

/// The caller's ends of an action's three streams.
struct Ends {
    stdin: UnixStream,
    stdout: UnixStream,
    stderr: UnixStream,
}

/// One socket pair: the helper's end, and ours for the runtime.
fn pair() -> (Stdio, UnixStream) {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    ours.set_nonblocking(true).expect("nonblocking");
    (
        Stdio::from(OwnedFd::from(theirs)),
        UnixStream::from_std(ours).expect("tokio socket"),
    )
}

fn sockets() -> (Streams, Ends) {
    let ((stdin, our_stdin), (stdout, our_stdout), (stderr, our_stderr)) = (pair(), pair(), pair());
    (
        Streams {
            stdin,
            stdout,
            stderr,
        },
        Ends {
            stdin: our_stdin,
            stdout: our_stdout,
            stderr: our_stderr,
        },
    )
}

async fn read_all(mut stream: UnixStream) -> Vec<u8> {
    let mut bytes = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut bytes))
        .await
        .expect("output ends")
        .expect("read output");
    bytes
}

/// Reads until `needle` has been seen; returns everything read.
async fn read_until(stream: &mut UnixStream, needle: &str) -> String {
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    let found = tokio::time::timeout(PATIENCE, async {
        while !String::from_utf8_lossy(&seen).contains(needle) {
            let n = stream.read(&mut chunk).await.expect("read");
            if n == 0 {
                return false;
            }
            seen.extend_from_slice(&chunk[..n]);
        }
        true
    })
    .await;
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert_eq!(found, Ok(true), "{needle:?} never came: {text:?}");
    text
}

async fn finish(running: Running) -> Result<Outcome, ActionError> {
    tokio::task::spawn_blocking(move || running.finish())
        .await
        .expect("join")
}

/// Runs an action with no streams to its report.
async fn call(helper: &Helper, action: Action) -> Result<Report, ActionError> {
    let helper = helper.clone();
    tokio::task::spawn_blocking(move || helper.run(action, Streams::default()))
        .await
        .expect("join")
        .map(|outcome| outcome.report)
}

/// An action with sockets as its streams: writes `input` (then closes stdin) and returns
/// stdout, stderr and the report.
async fn converse(
    helper: &Helper,
    action: Action,
    input: &[u8],
) -> (String, String, Result<Report, ActionError>) {
    let (streams, mut ends) = sockets();
    let running = helper.spawn(action, streams).expect("spawn helper");
    ends.stdin.write_all(input).await.expect("write input");
    drop(ends.stdin);
    let (stdout, stderr, outcome) = tokio::join!(
        read_all(ends.stdout),
        read_all(ends.stderr),
        finish(running)
    );
    (
        String::from_utf8(stdout).expect("utf-8"),
        String::from_utf8(stderr).expect("utf-8"),
        outcome.map(|o| o.report),
    )
}

fn container(options: CreateOptions, name: &str) -> NewContainer {
    NewContainer {
        name: Some(name.to_string()),
        ..NewContainer::new(CreateOptions {
            image: "localhost/busybox".into(),
            ..options
        })
    }
}

fn tar_of(name: &str, content: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, name, content)
        .expect("tar entry");
    builder.into_inner().expect("tar")
}

/// The files of a tar archive: (path, content).
fn untar(archive: &[u8]) -> Vec<(String, String)> {
    let mut archive = tar::Archive::new(archive);
    let mut files = Vec::new();
    for entry in archive.entries().expect("tar") {
        let mut entry = entry.expect("tar entry");
        let mut content = String::new();
        entry.read_to_string(&mut content).expect("tar content");
        let path = entry.path().expect("tar path").display().to_string();
        files.push((path, content));
    }
    files
}

fn command(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

/// One task's round: create, start, copy in, exec without and with a terminal, attach with a
/// resize, copy out, remove, run attached; and the errors a caller can match on.
async fn round(helper: Helper, i: usize) {
    let name = format!("box{i}");
    let shell = CreateOptions {
        command: vec!["sh".into()],
        interactive: true,
        tty: true,
        ..Default::default()
    };
    let Ok(Report::Created { id, warnings }) = call(
        &helper,
        Action::Create {
            container: container(shell, &name),
        },
    )
    .await
    else {
        panic!("create {name}")
    };
    assert!(warnings.is_empty(), "{warnings:?}");
    let started = call(
        &helper,
        Action::Start {
            container: name.clone(),
            mode: StartMode::Detached,
        },
    )
    .await;
    assert_eq!(started, Ok(Report::Started { id: id.clone() }));

    // A tar archive on stdin lands in the container.
    let greeting = format!("hello from task {i}\n");
    let copied = converse(
        &helper,
        Action::CopyInto {
            container: name.clone(),
            path: "/tmp".into(),
            options: Default::default(),
        },
        &tar_of("greeting.txt", greeting.as_bytes()),
    )
    .await;
    assert_eq!(copied, (String::new(), String::new(), Ok(Report::Done)));

    // exec without a terminal: stdin, stdout and stderr apart, the exit code.
    let exec = |tty: bool, script: &str| Action::Exec {
        container: name.clone(),
        options: ExecOptions {
            command: command(script),
            interactive: true,
            tty,
            ..Default::default()
        },
    };
    let plain = converse(
        &helper,
        exec(
            false,
            "cat /tmp/greeting.txt; cat; echo to-stderr >&2; exit 7",
        ),
        format!("input {i}\n").as_bytes(),
    )
    .await;
    assert_eq!(
        plain,
        (
            format!("{greeting}input {i}\n"),
            "to-stderr\n".to_string(),
            Ok(Report::Exited { code: 7 })
        )
    );

    // exec with a terminal: the window size comes as a message.
    let (streams, mut ends) = sockets();
    let mut running = helper
        .spawn(
            exec(true, "read line; stty size; echo \"got $line\"; exit 3"),
            streams,
        )
        .expect("spawn exec");
    running.resize(33, 101 + i as u16).expect("resize");
    ends.stdin
        .write_all(format!("line-{i}\n").as_bytes())
        .await
        .unwrap();
    let (output, outcome) = tokio::join!(read_all(ends.stdout), finish(running));
    let output = String::from_utf8_lossy(&output);
    assert!(
        output.contains(&format!("33 {}\r\n", 101 + i))
            && output.contains(&format!("got line-{i}")),
        "{output:?}"
    );
    assert_eq!(outcome.map(|o| o.report), Ok(Report::Exited { code: 3 }));
    drop(ends.stdin);

    // attach to the container's own terminal, resize it, end its shell.
    let (streams, mut ends) = sockets();
    let mut running = helper
        .spawn(
            Action::Attach {
                container: name.clone(),
                options: AttachOptions::default(),
            },
            streams,
        )
        .expect("spawn attach");
    running.resize(40, 90 + i as u16).expect("resize");
    tokio::time::sleep(Duration::from_millis(200)).await;
    ends.stdin
        .write_all(format!("stty size; echo att-$(({i}+100))\r").as_bytes())
        .await
        .unwrap();
    let seen = read_until(&mut ends.stdout, &format!("att-{}", i + 100)).await;
    assert!(seen.contains(&format!("40 {}", 90 + i)), "{seen:?}");
    ends.stdin.write_all(b"exit 5\r").await.unwrap();
    let (_, outcome) = tokio::join!(read_all(ends.stdout), finish(running));
    assert_eq!(outcome.map(|o| o.report), Ok(Report::Exited { code: 5 }));

    // The file comes back out as a tar archive on stdout.
    let (streams, ends) = sockets();
    let running = helper
        .spawn(
            Action::CopyFrom {
                container: name.clone(),
                path: "/tmp/greeting.txt".into(),
            },
            streams,
        )
        .expect("spawn cp");
    let (archive, outcome) = tokio::join!(read_all(ends.stdout), finish(running));
    assert_eq!(outcome.map(|o| o.report), Ok(Report::Done));
    assert_eq!(
        untar(&archive),
        vec![("greeting.txt".to_string(), greeting.clone())]
    );

    let removed = call(
        &helper,
        Action::Remove {
            container: name.clone(),
            force: true,
        },
    )
    .await;
    assert_eq!(removed, Ok(Report::Removed { id }));

    // run, attached without a terminal, removed after.
    let run = Action::Run {
        container: container(
            CreateOptions {
                command: command("cat; echo out; echo err >&2; exit 4"),
                interactive: true,
                rm: true,
                network: vec!["none".into()],
                ..Default::default()
            },
            &format!("run{i}"),
        ),
        mode: StartMode::attached(true, Vec::new()),
        remove_image: false,
    };
    let ran = converse(&helper, run, format!("run {i}\n").as_bytes()).await;
    assert_eq!(
        ran,
        (
            format!("run {i}\nout\n"),
            "err\n".to_string(),
            Ok(Report::Exited { code: 4 })
        )
    );

    // Typed errors: what is gone is not found; bad input names its flag and makes nothing.
    let Err(gone) = call(&helper, exec(false, "true")).await else {
        panic!("exec in a removed container")
    };
    assert_eq!((gone.kind, gone.exit_code), (ErrorKind::NotFound, 125));
    let bad = CreateOptions {
        workdir: Some("relative".into()),
        ..Default::default()
    };
    let Err(invalid) = call(
        &helper,
        Action::Create {
            container: container(bad, &format!("bad{i}")),
        },
    )
    .await
    else {
        panic!("a relative --workdir was accepted")
    };
    assert_eq!(invalid.kind, ErrorKind::InvalidArgument);
    assert!(invalid.message.contains("--workdir"), "{}", invalid.message);
}

fn eight_concurrent_rounds(mode: Mode) {
    let ctx = TestContext::new(SKIFF, mode).with_busybox();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let helper = helper(&ctx);
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| tokio::spawn(round(helper.clone(), i)))
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
    });
    if mode == Mode::Root {
        runtime.block_on(conflicts_cross_from_the_starting_child(&ctx));
    }
    // Nothing is left behind, and the CLI sees the same store.
    assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
}

/// A failure found by the forked child that starts a container keeps its kind: a host port
/// another container publishes is a conflict (HTTP 409), not a runtime failure.
async fn conflicts_cross_from_the_starting_child(ctx: &TestContext) {
    let helper = helper(ctx);
    let web = |name: &str| Action::Run {
        container: container(
            CreateOptions {
                command: vec!["sleep".into(), "1000".into()],
                publish: vec!["127.0.0.1:41873:80".into()],
                ..Default::default()
            },
            name,
        ),
        mode: StartMode::Detached,
        remove_image: false,
    };
    assert!(matches!(
        call(&helper, web("web1")).await,
        Ok(Report::Started { .. })
    ));
    let Err(taken) = call(&helper, web("web2")).await else {
        panic!("a published port was published twice")
    };
    assert_eq!((taken.kind, taken.exit_code), (ErrorKind::Conflict, 125));
    assert!(taken.message.contains("41873"), "{}", taken.message);
    for name in ["web1", "web2"] {
        let removed = call(
            &helper,
            Action::Remove {
                container: name.into(),
                force: true,
            },
        )
        .await;
        assert!(matches!(removed, Ok(Report::Removed { .. })), "{removed:?}");
    }
}

#[test]
fn a_multi_threaded_caller_drives_containers_as_root() {
    eight_concurrent_rounds(Mode::Root);
}

#[test]
fn a_multi_threaded_caller_drives_containers_rootless() {
    eight_concurrent_rounds(Mode::Rootless);
}

/// The helper started by hand (no control socket on descriptor 3) says so and writes nothing
/// where descriptor 3 happens to point.
#[test]
fn the_helper_refuses_to_run_without_its_control_socket() {
    let ctx = TestContext::new(SKIFF, Mode::Root);
    let file = ctx.dir.join("fd3");
    std::fs::write(&file, "kept").unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec {} __action '{{}}' 3>>{}",
            ctx.binary().display(),
            file.display()
        ))
        .output()
        .expect("run the helper");
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("control socket on descriptor 3"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "kept");
}
