//! `system check [--quick] [--repair] [--force]` and `system prune [-a]`, as root and rootless:
//! damage made by hand (what a crash or a killed skiff leaves) is found, named and repaired.
use skiff_test::{Mode, TestContext};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

fn busybox_layer(ctx: &TestContext) -> String {
    ctx.skiff([
        "image",
        "inspect",
        "--format",
        "{{index .RootFS.Layers 0}}",
        "busybox",
    ])
    .ok()
    .trim_start_matches("sha256:")
    .to_string()
}

#[test]
fn check_finds_and_repairs_what_a_crash_leaves() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        assert_eq!(ctx.skiff(["system", "check"]).ok(), "", "{mode:?}");

        // A container directory without a record, and a lease of a container that is gone.
        let orphan = ctx.root().join("containers/0123456789ab");
        std::fs::create_dir_all(orphan.join("userdata")).unwrap();
        for dir in [
            ctx.root().join("containers"),
            orphan.clone(),
            orphan.join("userdata"),
        ] {
            ctx.chown(&dir);
        }
        let networks = rusqlite::Connection::open(ctx.root().join("networks.db")).unwrap();
        networks
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS leases (network TEXT NOT NULL, address TEXT NOT NULL,
                   container TEXT NOT NULL, names TEXT NOT NULL DEFAULT '', PRIMARY KEY (network, address));
                 INSERT INTO leases VALUES ('podman', '10.88.250.250', 'feedfacefeedface', '');",
            )
            .unwrap();
        drop(networks);
        let out = ctx.skiff(["system", "check"]);
        let stderr = out
            .fails(125, "damage detected in local storage")
            .to_string();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            out.stdout.contains("Damaged container 0123456789ab:"),
            "{}",
            out.stdout
        );
        assert!(
            out.stdout.contains("network leases of feedfacefeedface"),
            "{}",
            out.stdout
        );

        let repaired = ctx.skiff(["system", "check", "--repair"]);
        let stdout = repaired.ok();
        assert!(
            stdout.contains("Deleted damaged container: 0123456789ab"),
            "{stdout}"
        );
        assert!(!orphan.exists(), "{mode:?}");
        assert_eq!(ctx.skiff(["system", "check"]).ok(), "", "{mode:?}");
        assert_eq!(
            ctx.skiff(["run", "--rm", "--network", "none", "busybox", "echo", "ok"])
                .ok(),
            "ok"
        );
    }
}

/// A running container whose record vanished (deleted by hand, or a crash between writes)
/// leaves its monitor and its process: the check names the monitor, the repair ends both.
#[test]
fn monitors_of_containers_without_a_record_are_ended() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let id = ctx
            .skiff(["run", "-d", "--network", "none", "busybox", "sleep", "1000"])
            .ok()
            .to_string();
        let pid: i32 = ctx
            .skiff(["inspect", "--format", "{{.State.Pid}}", &id])
            .ok()
            .parse()
            .unwrap();
        let db = rusqlite::Connection::open(ctx.root().join("containers.db")).unwrap();
        db.execute("DELETE FROM containers WHERE id = ?1", [&id])
            .unwrap();
        drop(db);
        let out = ctx.skiff(["system", "check"]);
        out.fails(125, "damage detected");
        assert!(
            out.stdout.contains(&format!("of container {id}")),
            "{}",
            out.stdout
        );
        ctx.skiff(["system", "check", "--repair"]).ok();
        for _ in 0..100 {
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "{mode:?}"
        );
        assert_eq!(ctx.skiff(["system", "check"]).ok(), "", "{mode:?}");
    }
}

#[test]
fn damaged_images_are_removed_and_their_containers_only_with_force() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        ctx.skiff(["create", "--name", "user", "busybox", "true"])
            .ok();
        let layer = busybox_layer(&ctx);
        // The layer's content changed on disk: only the slow check reads it.
        let blobs = ctx.root().join("storage/layer-blobs").join(&layer);
        let blob = std::fs::read_dir(&blobs)
            .unwrap()
            .flatten()
            .next()
            .unwrap()
            .path();
        let mut bytes = std::fs::read(&blob).unwrap();
        let at = bytes.len() / 2;
        bytes[at] ^= 0xff;
        std::fs::write(&blob, bytes).unwrap();
        assert_eq!(
            ctx.skiff(["system", "check", "--quick"]).ok(),
            "",
            "{mode:?}"
        );
        let out = ctx.skiff(["system", "check"]);
        out.fails(125, "damage detected");
        assert!(out.stdout.contains("holds content of"), "{}", out.stdout);

        // In use by a container: --repair leaves both, and says the damage is still there.
        ctx.skiff(["system", "check", "--repair"])
            .fails(125, "still present after repair");
        assert_eq!(ctx.skiff(["image", "exists", "busybox"]).code, 0);
        // --force removes the container, then the image.
        let out = ctx.skiff(["system", "check", "--force"]);
        let stdout = out.ok();
        assert!(stdout.contains("Deleted damaged image:"), "{stdout}");
        assert_eq!(ctx.skiff(["image", "exists", "busybox"]).code, 1);
        assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "", "{mode:?}");
        assert_eq!(ctx.skiff(["system", "check"]).ok(), "", "{mode:?}");
    }
}

#[test]
fn an_image_whose_layer_is_gone_is_damaged() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let layer = busybox_layer(&ctx);
    std::fs::remove_dir_all(ctx.root().join("storage/layers").join(&layer)).unwrap();
    let out = ctx.skiff(["system", "check", "--quick"]);
    out.fails(125, "damage detected");
    assert!(out.stdout.contains("is not in the store"), "{}", out.stdout);
    ctx.skiff(["system", "check", "-r", "-q"]).ok();
    assert_eq!(ctx.skiff(["images", "-q"]).ok(), "");
    ctx.skiff(["system", "check", "--max", "soon"])
        .fails(125, "invalid --max");
}

#[test]
fn system_prune_removes_what_nothing_uses() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        ctx.skiff(["tag", "busybox", "spare"]).ok();
        let stopped = ctx
            .skiff(["create", "--network", "none", "busybox", "true"])
            .ok()
            .to_string();
        ctx.skiff([
            "run",
            "-d",
            "--name",
            "keep",
            "--network",
            "none",
            "busybox",
            "sleep",
            "100",
        ])
        .ok();
        let out = ctx.skiff(["system", "prune", "-f"]);
        let stdout = out.ok();
        assert!(
            stdout.contains("Deleted Containers") && stdout.contains(&stopped),
            "{stdout}"
        );
        assert_eq!(
            ctx.skiff(["ps", "-a", "--format", "{{.Names}}"]).ok(),
            "keep"
        );
        // The image is used by `keep`: even -a keeps it.
        ctx.skiff(["system", "prune", "-a", "-f"]).ok();
        assert_eq!(
            ctx.skiff(["image", "exists", "busybox"]).code,
            0,
            "{mode:?}"
        );
        ctx.skiff(["rm", "-f", "keep"]).ok();
        let stdout = ctx
            .skiff(["system", "prune", "--all", "--force"])
            .ok()
            .to_string();
        assert!(stdout.contains("Deleted Images"), "{stdout}");
        assert_eq!(ctx.skiff(["images", "-q"]).ok(), "", "{mode:?}");
        // Without --force it asks, and a "no" removes nothing.
        ctx.skiff([
            "import",
            ctx.dir.join("busybox.tar").to_str().unwrap(),
            "busybox",
        ])
        .ok();
        let kept = ctx.skiff(["create", "busybox", "true"]).ok().to_string();
        let out = ctx.skiff_with_input(&["system", "prune"], b"n\n");
        assert!(out.stdout.contains("Are you sure"), "{}", out.stdout);
        assert_eq!(ctx.skiff(["ps", "-aq", "--no-trunc"]).ok(), kept);
    }
}

#[test]
fn system_df_counts_what_is_stored_and_what_could_go() {
    skiff_test::in_both_modes(SKIFF, |ctx| {
        ctx.skiff([
            "run",
            "--name",
            "writer",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            "head -c 2000000 /dev/zero > /big",
        ])
        .ok();
        ctx.skiff(["volume", "create", "data"]).ok();
        ctx.skiff([
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            "data:/d",
            "busybox",
            "sh",
            "-c",
            "head -c 300000 /dev/zero > /d/f",
        ])
        .ok();
        let summary = ctx.skiff(["system", "df"]).ok().to_string();
        let lines: Vec<&str> = summary.lines().collect();
        assert_eq!(
            lines[0], "TYPE           TOTAL       ACTIVE      SIZE        RECLAIMABLE",
            "{summary}"
        );
        assert!(
            lines[1].starts_with("Images         1           1 "),
            "{summary}"
        );
        // The stopped container's 2 MB can go; the unused volume's 300 kB too.
        assert!(
            lines[2].starts_with("Containers     1           0           2MB         2MB (100%)"),
            "{summary}"
        );
        assert!(
            lines[3].starts_with("Local Volumes  1           0           300kB       300kB (100%)"),
            "{summary}"
        );
        let json: serde_json::Value =
            serde_json::from_str(ctx.skiff(["system", "df", "--format", "json"]).ok()).unwrap();
        // The file, and the /etc/mtab link skiff made (as Podman does) to "/proc/mounts".
        assert_eq!(json[1]["RawSize"], 2_000_000 + "/proc/mounts".len());
        assert_eq!(json[2]["RawReclaimable"], 300_000);
        assert_eq!(
            ctx.skiff(["system", "df", "--format", "{{.Type}}: {{.Total}}"])
                .ok(),
            "Images: 1\nContainers: 1\nLocal Volumes: 1"
        );
        let verbose = ctx.skiff(["system", "df", "-v"]).ok().to_string();
        assert!(
            verbose.starts_with("Images space usage:\n\nREPOSITORY "),
            "{verbose}"
        );
        assert!(
            verbose.contains("\nContainers space usage:\n\nCONTAINER ID  IMAGE "),
            "{verbose}"
        );
        assert!(verbose.contains("\nLocal Volumes space usage:\n\nVOLUME NAME  LINKS       SIZE\ndata         0           300kB"), "{verbose}");
        ctx.skiff(["system", "df", "-v", "--format", "json"])
            .fails(125, "cannot combine --format and --verbose flags");

        // prune --volumes gives back the container's and the volume's bytes.
        let pruned = ctx
            .skiff(["system", "prune", "-f", "--volumes"])
            .ok()
            .to_string();
        assert!(pruned.contains("Deleted Volumes\ndata"), "{pruned}");
        assert!(pruned.ends_with("Total reclaimed space: 2.3MB"), "{pruned}");
        assert_eq!(ctx.skiff(["volume", "ls", "-q"]).ok(), "");
    });
}

#[test]
fn system_reset_removes_everything_stored() {
    skiff_test::in_both_modes(SKIFF, |ctx| {
        ctx.skiff(["run", "-d", "--name", "busy", "busybox", "sleep", "100"])
            .ok();
        ctx.skiff(["pod", "create", "--name", "pod"]).ok();
        ctx.skiff(["volume", "create", "data"]).ok();
        ctx.skiff(["network", "create", "resetnet"]).ok();
        // "no" keeps everything.
        let out = ctx.skiff_with_input(&["system", "reset"], b"n\n");
        assert!(
            out.stdout.contains("WARNING! This will remove:"),
            "{}",
            out.stdout
        );
        assert_eq!(ctx.skiff(["ps", "-q"]).ok().lines().count(), 1);
        ctx.skiff(["system", "reset", "--force"]).ok();
        assert!(!ctx.root().exists(), "{} is left", ctx.root().display());
        assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
        assert_eq!(ctx.skiff(["images", "-q"]).ok(), "");
        assert_eq!(ctx.skiff(["pod", "ps", "-q"]).ok(), "");
        assert_eq!(ctx.skiff(["volume", "ls", "-q"]).ok(), "");
        assert_eq!(
            ctx.skiff(["network", "ls", "--format", "{{.Name}}"]).ok(),
            "podman"
        );
    });
}
