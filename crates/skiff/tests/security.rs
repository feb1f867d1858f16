//! Regression tests for the escapes and store corruptions an adversarial review found: each is
//! an input an attacker controls (an archive, a layer, a build context, a container process),
//! and each test fails on the code before its fix.
use std::path::Path;

use skiff_test::{Mode, TestContext};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

fn append(builder: &mut tar::Builder<std::fs::File>, name: &str, body: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_size(body.len() as u64);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    // set_path refuses some hostile names: write the raw bytes as an attacker's tool would.
    let bytes = name.as_bytes();
    header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
    header.set_cksum();
    builder.append(&header, body).unwrap();
}

fn tarball(path: &Path, entries: &[(&str, &[u8])]) {
    let mut builder = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, body) in entries {
        append(&mut builder, name, body);
    }
    builder.finish().unwrap();
}

fn layer_count(ctx: &TestContext) -> usize {
    std::fs::read_dir(ctx.root().join("storage/layers"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A docker-archive whose config names a layer by a path (`sha256:../../..`) made the store
/// treat a host directory as an already stored layer, and a container of it read the host.
#[test]
fn load_refuses_digests_that_are_paths() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode);
        let escape = format!("sha256:{}etc", "../".repeat(24));
        let config = serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "config": {"Cmd": ["cat", "/shadow"]},
            "rootfs": {"type": "layers", "diff_ids": [escape]},
        })
        .to_string();
        let manifest = serde_json::json!([{
            "Config": "config.json", "RepoTags": ["localhost/escape:latest"], "Layers": ["layer.tar"],
        }])
        .to_string();
        let layer_path = ctx.dir.join("layer.tar");
        tarball(&layer_path, &[("hello", b"hi")]);
        let layer = std::fs::read(&layer_path).unwrap();
        let archive = ctx.dir.join("docker-archive.tar");
        tarball(
            &archive,
            &[
                ("manifest.json", manifest.as_bytes()),
                ("config.json", config.as_bytes()),
                ("layer.tar", &layer),
            ],
        );
        ctx.chown(&archive);
        ctx.skiff(["load", "-i", archive.to_str().unwrap()])
            .fails(125, "invalid digest");
        assert_eq!(ctx.skiff(["images", "-q"]).ok(), "", "{mode:?}");

        // The same through an OCI layout: a layer descriptor whose digest is a path.
        let config_digest = sha256_of(config.as_bytes());
        let oci_manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": "sha256:../../../../../../../../etc", "size": 1}],
        })
        .to_string();
        let manifest_digest = sha256_of(oci_manifest.as_bytes());
        let index = serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "digest": manifest_digest, "size": oci_manifest.len()}],
        })
        .to_string();
        let blob = |digest: &str| format!("blobs/sha256/{}", &digest[7..]);
        let oci = ctx.dir.join("oci-archive.tar");
        tarball(
            &oci,
            &[
                ("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#),
                ("index.json", index.as_bytes()),
                (&blob(&manifest_digest), oci_manifest.as_bytes()),
                (&blob(&config_digest), config.as_bytes()),
            ],
        );
        ctx.chown(&oci);
        ctx.skiff(["load", "-i", oci.to_str().unwrap()])
            .fails(125, "invalid digest");
        assert_eq!(ctx.skiff(["images", "-q"]).ok(), "", "{mode:?}");
        assert_eq!(
            layer_count(&ctx),
            0,
            "{mode:?}: a refused archive left a layer"
        );
    }
}

fn sha256_of(bytes: &[u8]) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(bytes)?;
            child.wait_with_output()
        })
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    format!("sha256:{}", text.split_whitespace().next().unwrap())
}

/// A layer holding `.wh...` (a whiteout of `..`) deleted the directory above the layer: every
/// other layer vanished with it.
#[test]
fn whiteouts_of_dot_dot_cannot_remove_other_layers() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let layers_before = layer_count(&ctx);
        for name in [".wh...", ".wh..", "etc/.wh...", ".wh."] {
            let hostile = ctx.dir.join("whiteout.tar");
            tarball(&hostile, &[("etc/hostname", b"x"), (name, b"")]);
            ctx.chown(&hostile);
            ctx.skiff(["import", hostile.to_str().unwrap(), "hostile"])
                .fails(125, "whiteout");
            assert_eq!(layer_count(&ctx), layers_before, "{mode:?} {name}");
            assert_eq!(
                ctx.skiff([
                    "run",
                    "--rm",
                    "--network",
                    "none",
                    "busybox",
                    "echo",
                    "alive"
                ])
                .ok(),
                "alive",
                "{mode:?}: {name} broke the busybox image"
            );
        }
    }
}

/// A build context holding `link -> /etc` and `COPY link/shadow /x` put the host's /etc/shadow
/// into the image: sources resolve inside the context, as if it were `/`.
#[test]
fn build_context_links_never_read_the_host() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let dir = ctx.scratch("context");
        std::os::unix::fs::symlink("/etc", dir.join("link")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd-link")).unwrap();
        for copy in [
            "COPY link/passwd /x",
            "COPY passwd-link /x",
            "ADD link /x/",
            "COPY l*/passwd /x",
        ] {
            let file = dir.join("Containerfile");
            std::fs::write(&file, format!("FROM localhost/busybox\n{copy}\n")).unwrap();
            ctx.chown(&file);
            let out = ctx.skiff(["build", "-t", "leak", dir.to_str().unwrap()]);
            assert_ne!(out.code, 0, "{mode:?} {copy}: {}", out.stdout);
            assert!(
                out.stderr.contains("no such file") || out.stderr.contains("no source files"),
                "{mode:?} {copy}: {}",
                out.stderr
            );
            assert_eq!(
                ctx.skiff(["image", "exists", "leak"]).code,
                1,
                "{mode:?} {copy}"
            );
        }
        // A link that stays inside the context is followed, as Docker does.
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        std::fs::write(dir.join("etc/passwd"), "context's own\n").unwrap();
        ctx.chown(&dir.join("etc"));
        ctx.chown(&dir.join("etc/passwd"));
        let file = dir.join("Containerfile");
        std::fs::write(&file, "FROM localhost/busybox\nCOPY link/passwd /x\n").unwrap();
        ctx.skiff(["build", "-t", "inside", dir.to_str().unwrap()])
            .ok();
        assert_eq!(
            ctx.skiff(["run", "--rm", "--network", "none", "inside", "cat", "/x"])
                .ok(),
            "context's own",
            "{mode:?}"
        );
    }
}

/// In a default container the v1 hierarchies were bound read-write: container root raised its
/// own pids.max, made cgroups in the host's name=systemd hierarchy and opened release_agent.
#[test]
fn cgroupfs_is_read_only_in_unprivileged_containers() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let script = "for f in /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes \
                      /sys/fs/cgroup/systemd/release_agent /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max; do \
                        [ -e $f ] && { echo 1 > $f && echo WROTE $f; }; done; \
                      for d in /sys/fs/cgroup/systemd/skiff-escape /sys/fs/cgroup/escape; do \
                        mkdir $d 2>/dev/null && echo MADE $d; done; \
                      grep ' /sys/fs/cgroup' /proc/self/mounts | grep -v ' ro,' ; echo done";
        let out = ctx.skiff([
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            script,
        ]);
        assert_eq!(out.ok(), "done", "{mode:?}: {}", out.stderr);
        assert!(!Path::new("/sys/fs/cgroup/systemd/skiff-escape").exists());
    }
}

/// While `skiff exec` entered a container and before it exec'd the command, its /proc/PID/exe
/// was the host's skiff: a container process could open it and, once no skiff ran, reopen it
/// for writing (runc CVE-2019-5736). Watched from inside during 50 execs, in a default
/// container and in one holding CAP_SYS_PTRACE, the binary is never writable and never changes.
#[test]
fn exec_never_exposes_a_writable_skiff_binary() {
    const WATCHER: &str = r#"
        : > /tmp/log
        holders=""
        while [ ! -e /tmp/stop ]; do
          for p in /proc/[0-9]*; do
            l=$(readlink $p/exe 2>/dev/null) || continue
            case "$l" in /bin/busybox|"") continue;; esac
            echo "seen $l" >> /tmp/log
            if (exec 3>>"$p/exe") 2>/dev/null; then echo "WRITABLE $l" >> /tmp/log; fi
            # Hold a handle (a failed redirection ends only the background command).
            sleep 1000 < "$p/exe" 2>/dev/null &
            holders="$holders $!"
          done
        done
        # Every skiff has left (the one that made /tmp/stop too): reopen what was held for
        # writing, as the attack does.
        sleep 2
        for h in $holders; do
          if (exec 6>>/proc/$h/fd/0) 2>/dev/null; then echo "REOPENED" >> /tmp/log; fi
          kill $h 2>/dev/null
        done
        echo finished >> /tmp/log
    "#;
    for mode in Mode::BOTH {
        for extra in [&[][..], &["--cap-add", "SYS_PTRACE"][..]] {
            let ctx = TestContext::new(SKIFF, mode)
                .with_busybox()
                .with_private_binary();
            let before = std::fs::read(ctx.binary()).unwrap();
            let mut args = vec!["run", "-d", "--name", "target", "--network", "none"];
            args.extend_from_slice(extra);
            args.extend(["busybox", "sleep", "1000"]);
            ctx.skiff(&args).ok();
            ctx.skiff(["exec", "-d", "target", "sh", "-c", WATCHER])
                .ok();
            for _ in 0..50 {
                assert_eq!(
                    ctx.skiff(["exec", "target", "echo", "ok"]).ok(),
                    "ok",
                    "{mode:?}"
                );
            }
            // From here on no skiff of this context runs (one would keep its binary busy and
            // hide a writable handle): the log is read through the container's root.
            let pid = ctx
                .skiff(["inspect", "--format", "{{.State.Pid}}", "target"])
                .ok()
                .to_string();
            ctx.skiff(["exec", "target", "touch", "/tmp/stop"]).ok();
            let log_path = format!("/proc/{pid}/root/tmp/log");
            let mut log = String::new();
            // The watcher ends its round first (slow while the machine is busy).
            for _ in 0..600 {
                log = std::fs::read_to_string(&log_path).unwrap_or_default();
                if log.contains("finished") {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            assert!(log.contains("finished"), "{mode:?} {extra:?}: {log}");
            assert!(
                !log.contains("WRITABLE") && !log.contains("REOPENED"),
                "{mode:?} {extra:?}: {log}"
            );
            assert!(
                std::fs::read(ctx.binary()).unwrap() == before,
                "{mode:?}: the binary changed"
            );
        }
    }
}

/// Arguments that are not UTF-8 aborted with "called `Result::unwrap()` on an `Err`" (exit
/// 134), and some templates panicked or overflowed the stack inside the template engine.
#[test]
fn bad_text_gets_one_error_line_never_a_panic() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let bad = OsStr::from_bytes(b"\xff\xfe");
    for args in [
        vec![OsStr::new("run"), bad],
        vec![
            OsStr::new("run"),
            OsStr::new("--name"),
            bad,
            OsStr::new("busybox"),
        ],
        vec![OsStr::new("ps"), OsStr::new("--format"), bad],
    ] {
        let out = ctx.command(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {stderr}");
        assert!(stderr.contains("is not valid UTF-8"), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
    let out = ctx
        .command(["images"])
        .env("SKIFF_ROOT", bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SKIFF_ROOT"));
    ctx.skiff([
        "run",
        "-d",
        "--name",
        "one",
        "--network",
        "none",
        "busybox",
        "sleep",
        "100",
    ])
    .ok();
    let deep_parentheses = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
    let deep_ranges = format!("{}x{}", "{{range .}}".repeat(3000), "{{end}}".repeat(3000));
    for template in [
        r#"{{ printf "%70000d" 1 }}"#,
        &deep_parentheses,
        &deep_ranges,
    ] {
        let out = ctx.skiff(["ps", "--format", template]);
        out.fails(125, "template");
        assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    }
}

/// Without XDG_RUNTIME_DIR every unprivileged user got /tmp/skiff-run-0 (the ID inside the
/// user namespace), so the second user was refused: it is the real UID's, as Podman's.
#[test]
fn runtime_directory_without_xdg_is_the_users_own() {
    let ctx = TestContext::new(SKIFF, Mode::Rootless).with_busybox();
    let uid = std::process::Command::new("id")
        .args(["-u", skiff_test::TEST_USER])
        .output()
        .unwrap();
    let uid = String::from_utf8_lossy(&uid.stdout).trim().to_string();
    let expected = format!("/tmp/skiff-run-{uid}");
    let _ = std::fs::remove_dir_all(&expected);
    let out = std::process::Command::new("runuser")
        .args([
            "-u",
            skiff_test::TEST_USER,
            "--",
            "env",
            "-u",
            "XDG_RUNTIME_DIR",
        ])
        .arg(format!("HOME={}", ctx.dir.display()))
        .arg(ctx.binary())
        .arg("--root")
        .arg(ctx.root())
        .args(["run", "--rm", "--network", "none", "busybox", "echo", "hi"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "hi",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&expected).expect("the runtime directory is the user's UID's");
    assert_eq!(meta.uid().to_string(), uid);
}

/// Two storage roots both leased 10.88.0.2 on the shared podman0 bridge: addresses on a host
/// bridge are unique host-wide, whoever leased them.
#[test]
fn two_storage_roots_never_share_an_address() {
    let first = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let second = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let mut seen = Vec::new();
    for (index, ctx) in [&first, &second, &first, &second].into_iter().enumerate() {
        let name = format!("c{index}");
        ctx.skiff(["run", "-d", "--name", &name, "busybox", "sleep", "1000"])
            .ok();
        let address = ctx
            .skiff([
                "inspect",
                "--format",
                "{{.NetworkSettings.IPAddress}}",
                &name,
            ])
            .ok()
            .to_string();
        assert!(address.starts_with("10.88."), "{address}");
        assert!(
            !seen.contains(&address),
            "{address} handed out twice: {seen:?}"
        );
        seen.push(address);
    }
}

/// Inputs Podman refuses were accepted: each is now one error line, exit 125, and nothing is
/// created.
#[test]
fn inputs_podman_refuses_are_refused_and_change_nothing() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        for (args, needle) in [
            (
                &["run", "--rm", "--cpus", "999", "busybox", "true"][..],
                "range of CPUs",
            ),
            (
                &["run", "--rm", "--cpus", "inf", "busybox", "true"][..],
                "range of CPUs",
            ),
            (
                &["create", "-m", "99999999999999999t", "busybox"][..],
                "too large",
            ),
            (
                &["create", "--platform", "linux/amd64/v1/x", "busybox"][..],
                "invalid platform",
            ),
            (&["import", "/dev/null", "empty"][..], "empty"),
        ] {
            ctx.skiff(args).fails(125, needle);
        }
        assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "", "{mode:?}");
        assert_eq!(
            ctx.skiff(["images", "-q"]).ok().lines().count(),
            1,
            "{mode:?}"
        );

        let dir = ctx.scratch("context");
        for (containerfile, needle) in [
            (
                "FROM localhost/busybox\nEXPOSE 99999\n",
                "invalid containerPort: 99999",
            ),
            (
                "FROM localhost/busybox\nEXPOSE abc\n",
                "invalid containerPort: abc",
            ),
            (
                "FROM localhost/busybox\nSTOPSIGNAL bogus\n",
                "invalid signal: bogus",
            ),
            (
                "FROM localhost/busybox\nENV FOO\n",
                "must have two arguments",
            ),
            (
                "FROM b AS a\nRUN true\nFROM a AS b\nRUN true\n",
                "circular dependency",
            ),
        ] {
            let file = dir.join("Containerfile");
            std::fs::write(&file, containerfile).unwrap();
            ctx.chown(&file);
            ctx.skiff(["build", "-t", "refused", dir.to_str().unwrap()])
                .fails(125, needle);
            assert_eq!(ctx.skiff(["image", "exists", "refused"]).code, 1);
        }

        let conf = ctx.dir.join("registries.conf");
        for (text, needle) in [
            ("short-name-mode = \"sometimes\"\n", "short-name-mode"),
            (
                "[[registry]]\ninsecure = true\n",
                "neither location nor prefix",
            ),
        ] {
            std::fs::write(&conf, text).unwrap();
            ctx.skiff(["pull", "busybox"]).fails(125, needle);
        }
        let _ = std::fs::remove_file(&conf);
    }
}

/// A layer larger than the disk stops with one error when the disk is full, and nothing it
/// wrote stays; temporaries of a killed import go with the next command.
#[test]
fn a_full_disk_stops_the_unpack_cleanly() {
    let ctx = TestContext::new(SKIFF, Mode::Root);
    let root = ctx.root();
    std::fs::create_dir_all(&root).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs"])
        .arg(&root)
        .status()
        .unwrap();
    assert!(mounted.success());
    /// Unmounted before the context removes its directory, also when an assertion fails.
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.0)
                .status();
        }
    }
    let _unmount = Unmount(root.clone());
    let big = ctx.dir.join("big.tar");
    {
        let mut builder = tar::Builder::new(std::fs::File::create(&big).unwrap());
        let mut header = tar::Header::new_gnu();
        let body = vec![7u8; 40 << 20];
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_path("big").unwrap();
        header.set_cksum();
        builder.append(&header, &body[..]).unwrap();
        builder.finish().unwrap();
    }
    let out = ctx.skiff(["import", big.to_str().unwrap(), "big"]);
    let stderr = out.fails(125, "No space left on device").to_string();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let leftovers: Vec<_> = ["storage/layers", "storage/layer-blobs"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).unwrap().flatten())
        .map(|e| e.file_name())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(ctx.skiff(["images", "-q"]).ok(), "");
    // What a killed import leaves (a temporary named by a PID that is gone) goes next time.
    let stale = root.join("storage/layers/.tmp-999999999-1-0");
    std::fs::create_dir_all(stale.join("usr")).unwrap();
    ctx.skiff(["images"]).ok();
    assert!(!stale.exists());
}

/// A small gzip stream that unpacks to far more than the disk holds: with SKIFF_MAX_LAYER_SIZE
/// the unpack stops at the cap, says so in one line, and leaves nothing.
#[test]
fn layers_above_the_configured_size_are_refused() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode);
        let bomb = ctx.dir.join("bomb.tar.gz");
        let zeros = ctx.dir.join("zeros");
        std::fs::write(&zeros, vec![0u8; 64 << 20]).unwrap();
        let made = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "tar -C {} -cf - zeros | gzip -1 > {}",
                ctx.dir.display(),
                bomb.display()
            ))
            .status()
            .unwrap();
        assert!(made.success());
        std::fs::remove_file(&zeros).unwrap();
        ctx.chown(&bomb);
        let out = ctx.skiff_with_env(
            &[("SKIFF_MAX_LAYER_SIZE", "16m")],
            &["import", bomb.to_str().unwrap(), "bomb"],
        );
        let stderr = out
            .fails(125, "unpacks to more than 16777216 bytes")
            .to_string();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert_eq!(ctx.skiff(["images", "-q"]).ok(), "", "{mode:?}");
        let layers = std::fs::read_dir(ctx.root().join("storage/layers"))
            .unwrap()
            .count();
        assert_eq!(layers, 0, "{mode:?}");
        ctx.skiff_with_env(&[("SKIFF_MAX_LAYER_SIZE", "lots")], &["images"])
            .fails(125, "SKIFF_MAX_LAYER_SIZE");
        // Under the cap, the same layer is fine.
        ctx.skiff_with_env(
            &[("SKIFF_MAX_LAYER_SIZE", "1g")],
            &["import", bomb.to_str().unwrap(), "fine"],
        )
        .ok();
    }
}

/// `--security-opt unmask=` opens default masked and read-only paths (cgroupfs too, as
/// Podman), `mask=` adds some; without them every default stays.
#[test]
fn unmask_and_mask_as_podman() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let mounts = |extra: &[&str]| {
        let mut args = vec!["run", "--rm", "--network", "none"];
        args.extend_from_slice(extra);
        args.extend(["busybox", "cat", "/proc/self/mountinfo"]);
        ctx.skiff(&args).ok().to_string()
    };
    let mounted = |text: &str, path: &str| text.lines().any(|l| l.split(' ').nth(4) == Some(path));
    let default = mounts(&[]);
    assert!(
        mounted(&default, "/proc/keys") && mounted(&default, "/proc/sys"),
        "{default}"
    );
    let open = mounts(&["--security-opt", "unmask=/proc/keys:/proc/sys"]);
    assert!(
        !mounted(&open, "/proc/keys") && !mounted(&open, "/proc/sys"),
        "{open}"
    );
    assert!(mounted(&open, "/proc/timer_list"), "{open}");
    let glob = mounts(&["--security-opt", "unmask=/proc/*"]);
    assert!(
        !mounted(&glob, "/proc/timer_list") && mounted(&glob, "/sys/firmware"),
        "{glob}"
    );
    let all = mounts(&[
        "--security-opt",
        "unmask=ALL",
        "--security-opt",
        "mask=/proc/uptime",
    ]);
    assert!(
        !mounted(&all, "/proc/keys") && !mounted(&all, "/sys/firmware"),
        "{all}"
    );
    assert!(
        mounted(&all, "/proc/uptime") && !mounted(&default, "/proc/uptime"),
        "{all}"
    );
    let cgroup = all
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/sys/fs/cgroup"))
        .unwrap_or_default()
        .to_string();
    assert!(cgroup.contains(" rw,"), "{cgroup}");
    ctx.skiff([
        "run",
        "--rm",
        "--security-opt",
        "mask=relative",
        "busybox",
        "true",
    ])
    .fails(125, "not an absolute path");
}
