//! Image commands against the real binary, as root and as an unprivileged user.
use skiff_test::{Mode, TestContext};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

#[test]
fn import_list_tag_inspect_and_remove() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let listed = ctx.skiff(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
        let line = listed.ok();
        assert!(
            line.starts_with("localhost/busybox:latest "),
            "{mode:?}: {line}"
        );
        let id = line.split(' ').nth(1).unwrap().to_string();
        assert_eq!(id.len(), 12);

        // The table has Podman's columns.
        let table = ctx.skiff(["images"]);
        assert!(table.ok().starts_with("REPOSITORY"), "{}", table.stdout);
        assert!(table.stdout.contains("IMAGE ID") && table.stdout.contains("SIZE"));

        ctx.skiff([
            "tag",
            "busybox",
            "localhost/box:1",
            "127.0.0.1:5000/busybox:2",
        ])
        .ok();
        let names = ctx.skiff([
            "image",
            "inspect",
            "--format",
            "{{len .RepoTags}} {{.Architecture}} {{.Os}}",
            "box:1",
        ]);
        assert_eq!(names.ok(), "3 amd64 linux");
        let json: serde_json::Value =
            serde_json::from_str(ctx.skiff(["image", "inspect", &id]).ok()).unwrap();
        assert_eq!(json[0]["RootFS"]["Layers"].as_array().unwrap().len(), 1);
        assert!(json[0]["Id"].as_str().unwrap().starts_with(&id));

        // Removing one of several names only untags.
        assert_eq!(
            ctx.skiff(["rmi", "localhost/box:1"]).ok(),
            "Untagged: localhost/box:1"
        );
        ctx.skiff(["untag", "busybox", "127.0.0.1:5000/busybox:2"])
            .ok();
        assert_eq!(ctx.skiff(["images", "-q"]).ok(), id);
        ctx.skiff(["image", "exists", "busybox"]).ok();

        let removed = ctx.skiff(["rmi", "busybox"]);
        assert!(removed.ok().contains("Deleted: "), "{}", removed.stdout);
        assert_eq!(ctx.skiff(["images", "-q"]).ok(), "");
        assert_eq!(ctx.skiff(["image", "exists", "busybox"]).code, 1);
        // The layer went with its last image.
        let layers = std::fs::read_dir(ctx.root().join("storage/layers"))
            .unwrap()
            .count();
        assert_eq!(layers, 0, "{mode:?}");
    }
}

#[test]
fn unknown_images_and_bad_names_fail_with_one_line() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    ctx.skiff(["rmi", "nosuchimage"])
        .fails(1, "nosuchimage: image not known");
    // Not local, so `run` would pull it, but no search registry is configured.
    ctx.skiff(["run", "--rm", "nosuchimage", "true"])
        .fails(125, "short-name \"nosuchimage\"");
    ctx.skiff(["tag", "busybox", "UPPER"])
        .fails(125, "invalid reference format");
    ctx.skiff(["image", "inspect", "nosuch"])
        .fails(125, "no such object");
    ctx.skiff(["import", "/nonexistent.tar", "x"])
        .fails(125, "/nonexistent.tar");
    ctx.skiff([
        "import",
        "-c",
        "FROM x",
        ctx.dir.join("busybox.tar").to_str().unwrap(),
        "x",
    ])
    .fails(125, "invalid --change");
    assert_eq!(ctx.skiff(["images", "-q"]).ok().lines().count(), 1);
}

#[test]
fn import_with_changes_sets_the_config() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let tarball = ctx.dir.join("busybox.tar");
    ctx.skiff([
        "import",
        "-c",
        "CMD [\"echo\", \"from-cmd\"]",
        "-c",
        "ENV GREETING=hi",
        "-c",
        "WORKDIR /tmp",
        tarball.to_str().unwrap(),
        "localhost/configured",
    ])
    .ok();
    assert_eq!(ctx.skiff(["run", "--rm", "configured"]).ok(), "from-cmd");
    assert_eq!(
        ctx.skiff([
            "run",
            "--rm",
            "configured",
            "sh",
            "-c",
            "echo $GREETING $(pwd)"
        ])
        .ok(),
        "hi /tmp"
    );
}

#[test]
fn a_layer_that_escapes_is_refused_and_leaves_nothing() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode);
        // A hostile tarball: a symlink to the outside, then a file written through it.
        let staging = ctx.scratch("hostile");
        std::os::unix::fs::symlink("/tmp", staging.join("escape")).unwrap();
        let tarball = ctx.dir.join("hostile.tar");
        let mut builder = tar_builder(&tarball);
        builder
            .append_path_with_name(staging.join("escape"), "escape")
            .unwrap();
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o644);
        header.set_path("escape/skiff-owned").unwrap();
        header.set_cksum();
        builder.append(&header, &b"bad"[..]).unwrap();
        builder.finish().unwrap();
        ctx.chown(&tarball);
        ctx.skiff(["import", tarball.to_str().unwrap(), "hostile"])
            .fails(125, "escape/skiff-owned");
        assert!(!std::path::Path::new("/tmp/skiff-owned").exists());
        assert_eq!(ctx.skiff(["images", "-q"]).ok(), "");
        let leftovers = std::fs::read_dir(ctx.root().join("storage/layers"))
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(leftovers, 0, "{mode:?}: a refused layer left files behind");
    }
}

fn tar_builder(path: &std::path::Path) -> tar::Builder<std::fs::File> {
    tar::Builder::new(std::fs::File::create(path).unwrap())
}

#[test]
fn save_and_load_in_every_format() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let id = ctx
            .skiff(["image", "inspect", "--format", "{{.Id}}", "busybox"])
            .ok()
            .to_string();
        let out = ctx.scratch("out");
        for format in ["docker-archive", "oci-archive", "oci-dir"] {
            let path = out.join(format);
            let path = path.to_str().unwrap();
            ctx.skiff(["save", "--format", format, "-o", path, "busybox"])
                .ok();
            let fresh = TestContext::new(SKIFF, mode);
            let loaded = fresh.skiff(["load", "-i", path]);
            assert_eq!(
                loaded.ok(),
                "Loaded image: localhost/busybox:latest",
                "{mode:?} {format}"
            );
            assert_eq!(
                fresh
                    .skiff(["image", "inspect", "--format", "{{.Id}}", "busybox"])
                    .ok(),
                id,
                "{mode:?} {format}: the same image"
            );
            assert_eq!(
                fresh.skiff(["run", "--rm", "busybox", "echo", format]).ok(),
                format
            );
            // run and pull read an archive or layout named with its transport.
            let transport = if format == "oci-dir" { "oci" } else { format };
            let reference = format!("{transport}:{path}");
            let fresh = TestContext::new(SKIFF, mode);
            let run = fresh.skiff(["run", "--rm", &reference, "echo", "from", transport]);
            assert_eq!(run.ok(), format!("from {transport}"));
            assert!(
                run.stderr
                    .starts_with("Getting image source signatures\nCopying blob "),
                "{}",
                run.stderr
            );
            assert_eq!(fresh.skiff(["pull", "-q", &reference]).ok(), id);
        }
        // A docker-archive keeps layers as plain tar, named by diff ID.
        let listing = std::process::Command::new("tar")
            .arg("tf")
            .arg(out.join("docker-archive"))
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&listing.stdout);
        assert!(
            listing.contains("manifest.json") && listing.contains(".tar"),
            "{listing}"
        );

        // save to a pipe, gzip'd on the way, load from standard input.
        let mut save = ctx.command(["save", "busybox"]);
        let saved = save.output().unwrap();
        assert!(saved.status.success());
        let mut gzip = std::process::Command::new("gzip")
            .arg("-c")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = gzip.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            input.write_all(&saved.stdout).unwrap();
        });
        let compressed = gzip.wait_with_output().unwrap().stdout;
        writer.join().unwrap();
        let fresh = TestContext::new(SKIFF, mode);
        assert_eq!(
            fresh.skiff_with_input(&["load"], &compressed).ok(),
            "Loaded image: localhost/busybox:latest"
        );
    }
}

#[test]
fn bad_archives_are_refused_and_leave_nothing() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let out = ctx.scratch("out");
    let archive = out.join("busybox.tar");
    ctx.skiff(["save", "-o", archive.to_str().unwrap(), "busybox"])
        .ok();
    // Flip bytes inside the layer: its diff ID no longer matches the config.
    let mut bytes = std::fs::read(&archive).unwrap();
    let marker = b"tester:x:1000";
    let at = bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("the layer holds /etc/passwd");
    bytes[at] = b'T';
    let corrupt = out.join("corrupt.tar");
    std::fs::write(&corrupt, bytes).unwrap();
    let fresh = TestContext::new(SKIFF, Mode::Root);
    fresh
        .skiff(["load", "-i", corrupt.to_str().unwrap()])
        .fails(125, "digest mismatch");
    assert_eq!(fresh.skiff(["images", "-q"]).ok(), "");
    let layers = std::fs::read_dir(fresh.root().join("storage/layers"))
        .unwrap()
        .count();
    assert_eq!(layers, 0, "no layer from a refused archive");

    fresh
        .skiff(["load", "-i", "/etc/passwd"])
        .fails(125, "not a docker-archive or oci-archive");
    fresh
        .skiff(["load", "-i", "/nonexistent.tar"])
        .fails(125, "/nonexistent.tar");
    ctx.skiff(["save", "-o", archive.to_str().unwrap(), "nosuchimage"])
        .fails(125, "image not known");
    ctx.skiff(["save", "--format", "zip", "-o", "/tmp/x.zip", "busybox"])
        .fails(125, "unknown format \"zip\"");
    let missing_dir = out.join("missing/dir/x.tar");
    ctx.skiff(["save", "-o", missing_dir.to_str().unwrap(), "busybox"])
        .fails(125, "missing/dir");
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(left.is_empty(), "no temporaries: {left:?}");
}

#[test]
fn history_and_image_prune() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let history = ctx.skiff(["history", "busybox"]);
        let text = history.ok();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        for column in ["ID", "CREATED", "CREATED BY", "SIZE", "COMMENT"] {
            assert!(header.contains(column), "{header}");
        }
        let row = lines.next().unwrap();
        assert!(
            row.contains("imported from tarball") && row.contains("MB"),
            "{row}"
        );
        let size = ctx.skiff(["history", "--format", "{{.Size}}", "-H=false", "busybox"]);
        assert!(size.ok().parse::<u64>().unwrap() > 1_000_000);
        // Not human: Go's RFC 3339, to the second (Z in UTC), as Podman prints it.
        let created = ctx
            .skiff([
                "history",
                "--format",
                "{{.Created}}",
                "--human=false",
                "busybox",
            ])
            .ok()
            .to_string();
        let (date, zone) = created.split_at(19);
        assert!(
            chrono::NaiveDateTime::parse_from_str(date, "%Y-%m-%dT%H:%M:%S").is_ok()
                && (zone == "Z" || (zone.len() == 6 && zone.starts_with(['+', '-']))),
            "{created}"
        );

        // A dangling image (no name) and a second named one.
        let tarball = ctx.dir.join("busybox.tar");
        let dangling = ctx
            .skiff(["import", "-c", "ENV X=1", tarball.to_str().unwrap()])
            .ok()
            .to_string();
        ctx.skiff([
            "import",
            "-c",
            "ENV X=2",
            tarball.to_str().unwrap(),
            "unused",
        ])
        .ok();
        ctx.skiff(["create", "--name", "user", "busybox", "true"])
            .ok();
        assert_eq!(ctx.skiff(["image", "prune", "-f"]).ok(), dangling);
        assert_eq!(ctx.skiff(["images", "-q"]).ok().lines().count(), 2);
        let pruned = ctx.skiff(["image", "prune", "-a", "-f"]);
        assert_eq!(pruned.ok().lines().count(), 1, "only the unused image");
        assert_eq!(
            ctx.skiff(["images", "--format", "{{.Repository}}"]).ok(),
            "localhost/busybox"
        );
    }
}

#[test]
fn images_filter_like_podman() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let tarball = ctx.dir.join("busybox.tar");
    let tarball = tarball.to_str().unwrap();
    let dangling = ctx.skiff(["import", "-c", "ENV A=1", tarball]).ok()[..12].to_string();
    ctx.skiff([
        "import",
        "-c",
        "LABEL tier=web",
        tarball,
        "127.0.0.1:5000/team/web:2",
    ])
    .ok();
    let names = |filter: &str| {
        ctx.skiff([
            "images",
            "--filter",
            filter,
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ])
        .ok()
        .to_string()
    };
    assert_eq!(names("dangling=true"), "<none>:<none>");
    assert_eq!(names("reference=busybox"), "localhost/busybox:latest");
    assert_eq!(names("reference=team/*"), "127.0.0.1:5000/team/web:2");
    assert_eq!(names("label=tier=web"), "127.0.0.1:5000/team/web:2");
    assert_eq!(names("label=tier"), "127.0.0.1:5000/team/web:2");
    assert_eq!(names("since=busybox").lines().count(), 2);
    assert_eq!(names("before=busybox"), "");
    let quiet = ctx.skiff(["images", "-q", "--filter", "dangling=true"]);
    assert_eq!(quiet.ok(), dangling);
    ctx.skiff(["images", "--filter", "color=red"])
        .fails(125, "invalid filter \"color\"");
    ctx.skiff(["images", "--filter", "since=nosuch"])
        .fails(125, "image not known");
}
