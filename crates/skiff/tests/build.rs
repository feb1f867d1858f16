//! `build` and `commit` against the real binary, as root and as an unprivileged user: every
//! RUN goes through the same runtime as `skiff run`, and the cache is checked by what reruns.
use std::path::Path;

use skiff_test::{Mode, TestContext};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

/// A build context owned by the context's user.
fn context(ctx: &TestContext, name: &str, files: &[(&str, &str)]) -> String {
    let dir = ctx.scratch(name);
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        ctx.chown(&path);
        ctx.chown(path.parent().unwrap());
    }
    dir.display().to_string()
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

const APP: &str = r#"FROM localhost/busybox
ENV GREETING="hello there"
RUN echo "first-$GREETING" && echo "$GREETING" > /greeting
COPY app.txt /app/
RUN echo "second-$GREETING" && cat /app/app.txt > /copied
WORKDIR /app
LABEL org.example.stage=final
CMD ["cat", "/greeting", "/copied"]
"#;

#[test]
fn build_runs_each_instruction_and_reruns_only_what_changed() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let dir = context(&ctx, "ctx", &[("Containerfile", APP), ("app.txt", "v1\n")]);

        let first = ctx.skiff(["build", "-t", "app", &dir]);
        let out = first.ok();
        assert!(
            out.contains("STEP 1/8: FROM localhost/busybox"),
            "{mode:?}: {out}"
        );
        assert!(out.contains("STEP 3/8: RUN echo"), "{out}");
        assert!(out.contains("first-hello there"), "{out}");
        assert!(
            out.contains("Successfully tagged localhost/app:latest"),
            "{out}"
        );
        let id = out.lines().last().unwrap().to_string();
        assert_eq!(id.len(), 64, "{out}");
        assert_eq!(
            ctx.skiff(["run", "--rm", "app"]).ok(),
            "hello there\nv1",
            "{mode:?}"
        );
        assert_eq!(ctx.skiff(["run", "--rm", "app", "pwd"]).ok(), "/app");
        let config = ctx.skiff([
            "image",
            "inspect",
            "--format",
            "{{.Config.WorkingDir}} {{index .Config.Labels \"org.example.stage\"}} {{.Config.Cmd}}",
            "app",
        ]);
        assert_eq!(config.ok(), "/app final [cat /greeting /copied]");

        // Unchanged: no RUN runs, the same image comes out.
        let again = ctx.skiff(["build", "-t", "app", &dir]);
        let out = again.ok();
        assert_eq!(count(out, "--> Using cache"), 7, "{out}");
        assert!(
            !out.contains("first-hello") && !out.contains("second-hello"),
            "{out}"
        );
        assert_eq!(out.lines().last().unwrap(), id);

        // One copied file changed: the RUN before the COPY is cached, the one after reruns.
        std::fs::write(Path::new(&dir).join("app.txt"), "v2\n").unwrap();
        let changed = ctx.skiff(["build", "-t", "app", &dir]);
        let out = changed.ok();
        assert!(!out.contains("first-hello"), "{out}");
        assert!(out.contains("second-hello"), "{out}");
        assert_eq!(count(out, "--> Using cache"), 2, "{out}");
        assert_eq!(ctx.skiff(["run", "--rm", "app"]).ok(), "hello there\nv2");

        // --no-cache runs everything again.
        let uncached = ctx.skiff(["build", "--no-cache", "-q", "-t", "app", &dir]);
        let out = uncached.ok();
        assert!(
            out.contains("first-hello") && !out.contains("STEP"),
            "{out}"
        );

        // Build steps are images without names: hidden from `images` unless -a.
        // (Earlier builds' final images stay, without a name, as in Podman.)
        let images = ctx.skiff(["images", "-q"]);
        let shown = images.ok().lines().count();
        let all = ctx.skiff(["images", "-a", "-q"]);
        assert!(all.ok().lines().count() >= shown + 5, "{}", all.stdout);
        let history = ctx.skiff(["history", "--format", "{{.CreatedBy}}", "app"]);
        let out = history.ok();
        assert!(out.lines().next().unwrap().contains("CMD"), "{out}");
        assert!(out.contains("echo \"second-$GREETING\""), "{out}");
        // Every entry names the step image that made it, down to the base image.
        let ids = ctx.skiff(["history", "--format", "{{.ID}}", "app"]);
        assert_eq!(ids.ok().lines().count(), 8, "{}", ids.stdout);
        assert!(!ids.stdout.contains("<missing>"), "{}", ids.stdout);
        // Nothing of the build is left running or stopped.
        assert_eq!(ctx.skiff(["ps", "-a", "-q"]).ok(), "");
        // Pruning keeps the cache of an image that is still there.
        ctx.skiff(["image", "prune", "-f"]).ok();
        let cached = ctx.skiff(["build", "-t", "app", &dir]);
        assert_eq!(
            count(cached.ok(), "--> Using cache"),
            7,
            "{}",
            cached.stdout
        );
    }
}

#[test]
fn multi_stage_builds_with_args_heredocs_and_targets() {
    const FILE: &str = r#"# syntax=docker/dockerfile:1
ARG BASE=localhost/busybox
FROM $BASE AS builder
ARG VERSION=1.0
RUN <<EOF
echo "building $VERSION" > /built
echo "heredoc script ran"
EOF
COPY <<-END /etc/app.conf
	version=${VERSION}
	END

FROM localhost/busybox AS broken
RUN echo "broken-$((1+1))" && exit 9

FROM ${BASE}
COPY --from=builder /built /etc/app.conf /out/
ENTRYPOINT ["cat"]
CMD ["/out/built", "/out/app.conf"]
"#;
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let dir = context(&ctx, "ctx", &[("Dockerfile", FILE)]);
        let built = ctx.skiff([
            "build",
            "--build-arg",
            "VERSION=2.5",
            "--build-arg",
            "UNUSED=1",
            "-t",
            "multi",
            &dir,
        ]);
        let out = built.ok();
        assert!(
            out.contains("[1/2] STEP 1/4: FROM $BASE AS builder"),
            "{mode:?}: {out}"
        );
        assert!(out.contains("heredoc script ran"), "{out}");
        // The stage nothing needs is not built.
        assert!(!out.contains("broken-2"), "{out}");
        assert!(
            built.stderr.contains("not consumed: [UNUSED]"),
            "{}",
            built.stderr
        );
        assert_eq!(
            ctx.skiff(["run", "--rm", "multi"]).ok(),
            "building 2.5\nversion=2.5"
        );

        // --target builds that stage; its failing RUN shows its output and exit status.
        let failed = ctx.skiff(["build", "--target", "broken", "-t", "broken", &dir]);
        assert_eq!(failed.code, 9, "{mode:?}: {}", failed.stderr);
        assert!(failed.stdout.contains("broken-2"), "{}", failed.stdout);
        assert!(
            failed
                .stderr
                .contains(r#"building at STEP "RUN echo "broken-$((1+1))" && exit 9": while running runtime: exit status 9"#),
            "{}",
            failed.stderr
        );
        assert_eq!(ctx.skiff(["ps", "-a", "-q"]).ok(), "");
        assert_eq!(ctx.skiff(["image", "exists", "broken"]).code, 1);
    }
}

#[test]
fn copy_rules_ignore_files_owners_and_reproducible_times() {
    const FILE: &str = "FROM localhost/busybox\n\
        COPY --chown=1000:1001 --chmod=0640 src/ /dst/\n\
        COPY *.md /docs/\n\
        ADD archive.tar /unpacked/\n\
        COPY one /single\n\
        COPY --parents src/keep.txt /p/\n\
        COPY --exclude=b.md *.md /ex/\n\
        RUN ls -ln /dst /docs /unpacked /single/only.txt /p/src/keep.txt /ex | awk '{print $1, $3, $4, $NF}' > /listing\n\
        WORKDIR /made/here\n";
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let dir = context(
        &ctx,
        "ctx",
        &[
            ("Containerfile", FILE),
            ("src/keep.txt", "keep"),
            ("src/skip.log", "skip"),
            ("a.md", "a"),
            ("b.md", "b"),
            ("one/only.txt", "only"),
            (".dockerignore", "**/*.log\n"),
        ],
    );
    // A tar for ADD to unpack.
    let archive = Path::new(&dir).join("archive.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&archive).unwrap());
    let mut header = tar::Header::new_gnu();
    header.set_size(5);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_cksum();
    builder
        .append_data(&mut header, "inner/file", &b"inner"[..])
        .unwrap();
    builder.finish().unwrap();

    let built = ctx.skiff(["build", "--timestamp", "0", "-t", "files", &dir]);
    built.ok();
    let listing = ctx.skiff(["run", "--rm", "files", "cat", "/listing"]);
    let out = listing.ok();
    assert!(out.contains("-rw-r----- 1000 1001 keep.txt"), "{out}");
    assert!(!out.contains("skip.log"), "{out}");
    assert!(out.contains("a.md") && out.contains("b.md"), "{out}");
    assert!(out.contains("inner"), "{out}");
    // A directory's contents go into the destination, made a directory.
    assert!(out.contains("/single/only.txt"), "{out}");
    assert!(out.contains("/p/src/keep.txt"), "{out}");
    assert_eq!(
        ctx.skiff(["run", "--rm", "files", "ls", "/ex"]).ok(),
        "a.md",
        "--exclude"
    );
    assert_eq!(
        ctx.skiff(["run", "--rm", "files", "pwd"]).ok(),
        "/made/here"
    );
    let created = ctx.skiff(["image", "inspect", "--format", "{{.Created}}", "files"]);
    assert!(created.ok().starts_with("1970-01-01"), "{}", created.stdout);

    // With a fixed time, a build from scratch makes the very same image again.
    let first = ctx.skiff(["build", "-q", "--no-cache", "--timestamp", "7", &dir]);
    let second = ctx.skiff(["build", "-q", "--no-cache", "--timestamp", "7", &dir]);
    assert_eq!(first.ok(), second.ok());

    // Errors name the file, the line and the instruction; nothing is made.
    let bad = context(
        &ctx,
        "bad",
        &[("Containerfile", "FROM localhost/busybox\n\nRUNN x\n")],
    );
    let failed = ctx.skiff(["build", "-t", "bad", &bad]);
    failed.fails(125, "Containerfile:3: unknown instruction: RUNN");
    let missing = context(
        &ctx,
        "missing",
        &[("Containerfile", "FROM localhost/busybox\nCOPY nothere /x\n")],
    );
    ctx.skiff(["build", &missing])
        .fails(125, "Containerfile:2: COPY: \"nothere\": no such file");
    let outside = context(
        &ctx,
        "outside",
        &[(
            "Containerfile",
            "FROM localhost/busybox\nCOPY ../ctx/a.md /x\n",
        )],
    );
    ctx.skiff(["build", &outside])
        .fails(125, "outside the build context");
    ctx.skiff(["image", "exists", "bad"]).fails(1, "");
}

#[test]
fn squashed_builds_and_a_containerfile_on_stdin() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let dir = context(&ctx, "ctx", &[("Containerfile", APP), ("app.txt", "v1\n")]);
    let layers = |image: &str| {
        ctx.skiff([
            "image",
            "inspect",
            "--format",
            "{{len .RootFS.Layers}}",
            image,
        ])
        .ok()
        .to_string()
    };
    ctx.skiff(["build", "-q", "-t", "layered", &dir]).ok();
    assert_eq!(
        layers("layered"),
        "4",
        "busybox, two RUNs, COPY (/app exists by WORKDIR)"
    );
    ctx.skiff(["build", "-q", "--squash", "-t", "squashed", &dir])
        .ok();
    assert_eq!(layers("squashed"), "2");
    ctx.skiff(["build", "-q", "--squash-all", "-t", "one", &dir])
        .ok();
    assert_eq!(layers("one"), "1");
    for image in ["squashed", "one"] {
        assert_eq!(ctx.skiff(["run", "--rm", image]).ok(), "hello there\nv1");
        assert_eq!(ctx.skiff(["run", "--rm", image, "pwd"]).ok(), "/app");
    }
    // What RUN deleted from the base stays deleted in the squashed layer.
    let deleting = "FROM localhost/busybox\nRUN rm /bin/ls && echo x > /x\n";
    let built = ctx.skiff_with_input(
        &["build", "-q", "--squash", "-t", "deleted", "-f", "-", &dir],
        deleting.as_bytes(),
    );
    built.ok();
    assert_eq!(
        ctx.skiff([
            "run",
            "--rm",
            "deleted",
            "sh",
            "-c",
            "test -e /bin/ls || cat /x"
        ])
        .ok(),
        "x"
    );
}

/// Serves one HTTP response with `body` on 127.0.0.1; returns the port.
fn serve_once(body: &'static str) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn run_mounts_secrets_caches_and_add_urls() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let port = serve_once("downloaded body");
    let file = format!(
        "FROM localhost/busybox\n\
         ADD http://127.0.0.1:{port}/files/data.txt /web/\n\
         RUN --mount=type=secret,id=token cat /run/secrets/token > /seen-secret\n\
         RUN --mount=type=cache,target=/cache echo run >> /cache/log && wc -l < /cache/log > /cache-count\n\
         RUN --mount=type=bind,source=.,target=/ctx cat /ctx/input.txt > /from-context\n"
    );
    let dir = context(
        &ctx,
        "ctx",
        &[("Containerfile", &file), ("input.txt", "in context")],
    );
    let secret = ctx.scratch("secrets").join("token");
    std::fs::write(&secret, "s3cret").unwrap();
    let secret_flag = format!("id=token,src={}", secret.display());
    ctx.skiff([
        "build",
        "-q",
        "--secret",
        &secret_flag,
        "-t",
        "mounts",
        &dir,
    ])
    .ok();
    let show = |command: &str| {
        ctx.skiff(["run", "--rm", "mounts", "sh", "-c", command])
            .ok()
            .to_string()
    };
    assert_eq!(show("cat /web/data.txt"), "downloaded body");
    assert_eq!(show("stat -c %a /web/data.txt"), "600");
    assert_eq!(show("cat /seen-secret"), "s3cret");
    // The secret's mount point is not part of the image.
    assert_eq!(show("test -e /run/secrets/token || echo absent"), "absent");
    assert_eq!(show("cat /from-context"), "in context");
    assert_eq!(show("cat /cache-count"), "1");
    // The cache directory outlives the build: a rebuild from scratch sees the first run.
    let port = serve_once("downloaded body");
    let file = file.replace(
        &format!(
            "127.0.0.1:{}",
            file.split("127.0.0.1:")
                .nth(1)
                .unwrap()
                .split('/')
                .next()
                .unwrap()
        ),
        &format!("127.0.0.1:{port}"),
    );
    std::fs::write(Path::new(&dir).join("Containerfile"), file).unwrap();
    ctx.skiff([
        "build",
        "-q",
        "--no-cache",
        "--secret",
        &secret_flag,
        "-t",
        "mounts",
        &dir,
    ])
    .ok();
    assert_eq!(show("cat /cache-count"), "2");
    // A required secret that was not given is an error naming it.
    let needs = context(
        &ctx,
        "needs",
        &[(
            "Containerfile",
            "FROM localhost/busybox\nRUN --mount=type=secret,id=key,required=true true\n",
        )],
    );
    ctx.skiff(["build", &needs])
        .fails(125, "secret \"key\" is required");
}

#[test]
fn commit_keeps_changes_command_and_message() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        ctx.skiff([
            "run",
            "--name",
            "box",
            "-e",
            "FROM_RUN=1",
            "localhost/busybox",
            "sh",
            "-c",
            "echo changed > /new && rm /bin/ls",
        ])
        .ok();
        let committed = ctx.skiff([
            "commit",
            "-q",
            "-m",
            "my snapshot",
            "-a",
            "someone",
            "-c",
            "CMD [\"cat\", \"/new\"]",
            "-c",
            "LABEL snap=yes",
            "box",
            "localhost/box:snap",
        ]);
        let id = committed.ok().to_string();
        assert_eq!(id.len(), 64, "{mode:?}: {}", committed.stderr);
        assert_eq!(ctx.skiff(["run", "--rm", "box:snap"]).ok(), "changed");
        // The deletion stays, and so does the container's environment.
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "box:snap",
                "sh",
                "-c",
                "test -e /bin/ls || echo gone $FROM_RUN"
            ])
            .ok(),
            "gone 1"
        );
        let inspect = ctx.skiff([
            "image",
            "inspect",
            "--format",
            "{{.Author}} {{index .Config.Labels \"snap\"}} {{len .RootFS.Layers}}",
            "box:snap",
        ]);
        assert_eq!(inspect.ok(), "someone yes 2");
        let history = ctx.skiff(["history", "--format", "{{.Comment}}", "box:snap"]);
        assert_eq!(history.ok().lines().next(), Some("my snapshot"));
        ctx.skiff(["commit", "nosuch", "x"]).fails(125, "nosuch");
        ctx.skiff(["commit", "-c", "FROM x", "box", "y"])
            .fails(125, "invalid --change");
    }
}

/// SIGTERM stops a build in a RUN step at once (the step's program, PID 1 of its container,
/// would ignore the signal), and the step's container goes with it.
#[test]
fn a_signal_stops_a_build_in_a_run_step() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let dir = context(
            &ctx,
            "slow",
            &[(
                "Containerfile",
                "FROM localhost/busybox\nRUN echo started && sleep 60\n",
            )],
        );
        let mut build = ctx
            .command(["build", "-t", "slow", &dir])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(build.stdout.take().unwrap());
        let mut line = String::new();
        // The step's own output (the STEP line names it too).
        while line.trim_end() != "started" {
            line.clear();
            let read = std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
            assert!(read > 0, "the build ended before its RUN step ran");
        }
        let signalled = std::time::Instant::now();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(build.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let status = build.wait().unwrap();
        assert!(
            signalled.elapsed() < std::time::Duration::from_secs(20),
            "{mode:?}: the build ran on for {:?}",
            signalled.elapsed()
        );
        assert!(!status.success());
        assert_eq!(
            ctx.skiff(["ps", "-a", "--external", "--format", "{{.ID}} {{.Status}}"])
                .ok(),
            ""
        );
    }
}
