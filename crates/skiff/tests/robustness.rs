//! Many `skiff` processes at once, and `skiff` killed at any point: storage stays consistent.
use std::process::Stdio;
use std::time::Duration;

use skiff_test::{Mode, TestContext};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

/// Storage agrees with itself: every container directory has a record, the database is sound.
fn assert_consistent(ctx: &TestContext) {
    let listed: Vec<String> = ctx
        .skiff(["ps", "-a", "--no-trunc", "-q"])
        .ok()
        .lines()
        .map(str::to_string)
        .collect();
    let dirs: Vec<String> = std::fs::read_dir(ctx.root().join("containers"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    for dir in &dirs {
        assert!(
            listed.contains(dir),
            "container directory {dir} has no record"
        );
    }
    for database in ["containers.db", "images.db"] {
        let db = rusqlite::Connection::open(ctx.root().join(database)).unwrap();
        let check: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "{database}");
    }
}

#[test]
fn twenty_parallel_runs_and_removals() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let runs: Vec<_> = (0..20)
            .map(|i| {
                ctx.command([
                    "run",
                    "-d",
                    "--name",
                    &format!("c{i}"),
                    "busybox",
                    "sleep",
                    "1000",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
            })
            .collect();
        for run in runs {
            let out = run.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{mode:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(ctx.skiff(["ps", "-q"]).ok().lines().count(), 20, "{mode:?}");
        let removals: Vec<_> = (0..20)
            .map(|i| {
                ctx.command(["rm", "-f", &format!("c{i}")])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for removal in removals {
            let out = removal.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{mode:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "", "{mode:?}");
        assert_consistent(&ctx);
    }
}

#[test]
fn sigkill_at_random_points_leaves_storage_usable() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let tarball = ctx.dir.join("busybox.tar");
    let mut seed = std::process::id() as u64 ^ 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..50 {
        let args: Vec<String> = match round % 3 {
            0 => vec![
                "run".into(),
                "-d".into(),
                "busybox".into(),
                "sleep".into(),
                "1000".into(),
            ],
            1 => vec!["rm".into(), "-a".into(), "-f".into()],
            _ => vec![
                "import".into(),
                tarball.display().to_string(),
                format!("localhost/crash{}", round % 4),
            ],
        };
        let mut child = ctx
            .command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(next() % 60_000));
        let _ = child.kill();
        let _ = child.wait();
    }
    // Every command still works, and what is listed is what is stored.
    assert_consistent(&ctx);
    assert_eq!(
        ctx.skiff(["run", "--rm", "busybox", "echo", "alive"]).ok(),
        "alive"
    );
    ctx.skiff(["rm", "-a", "-f"]).ok();
    assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
    ctx.skiff(["import", tarball.to_str().unwrap(), "localhost/after"])
        .ok();
    let images = ctx.skiff(["images", "--format", "{{.Repository}}"]);
    assert!(images.ok().contains("localhost/after"));
    // Temporary layer directories of killed imports were cleaned up by the next import.
    let temporaries = std::fs::read_dir(ctx.root().join("storage/layers"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .count();
    assert_eq!(temporaries, 0);
    for image in ctx.skiff(["images", "-q"]).ok().lines() {
        ctx.skiff(["rmi", "-f", image]).ok();
    }
    assert_consistent(&ctx);
}

/// Regression: generated names collided after a few dozen containers and `create` failed with
/// "name already in use"; a taken generated name is now replaced, as in Podman.
#[test]
fn generated_names_never_make_create_fail() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    for _ in 0..120 {
        ctx.skiff(["create", "busybox", "true"]).ok();
    }
    let names = ctx.skiff(["ps", "-a", "--format", "{{.Names}}"]);
    let mut names: Vec<&str> = names.ok().lines().collect();
    assert_eq!(names.len(), 120);
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 120, "names are unique");
}

/// Concurrent `start`s of one container start it once; the others find it running.
#[test]
fn concurrent_starts_of_one_container_start_it_once() {
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        ctx.skiff(["create", "--name", "once", "busybox", "sleep", "4321"])
            .ok();
        let starts: Vec<_> = (0..4)
            .map(|_| {
                ctx.command(["start", "once"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for start in starts {
            let out = start.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{mode:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // A duration no other test uses: every such process on the machine is this container's.
        let sleepers = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| {
                std::fs::read_to_string(e.path().join("cmdline"))
                    .is_ok_and(|c| c == "sleep\u{0}4321\u{0}")
            })
            .count();
        assert_eq!(sleepers, 1, "{mode:?}: one container process");
        ctx.skiff(["stop", "-t", "0", "once"]).ok();
        assert_eq!(
            ctx.skiff(["inspect", "--format", "{{.State.Status}}", "once"])
                .ok(),
            "exited"
        );
    }
}

/// A run root someone else made (a /tmp/skiff-run-UID created in advance) is refused.
#[test]
fn storage_owned_by_someone_else_is_refused() {
    let ctx = TestContext::new(SKIFF, Mode::Rootless);
    // Made by root, before the user's first skiff: the user must not trust it.
    let foreign = ctx.dir.join("foreign-run");
    std::fs::create_dir_all(&foreign).unwrap();
    let out = ctx.skiff(["--runroot", foreign.to_str().unwrap(), "ps"]);
    out.fails(125, "not owned by the current user");
    // A directory the user owns but others may write is refused too.
    let shared = ctx.scratch("shared-run");
    std::fs::set_permissions(&shared, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    ctx.skiff(["--runroot", shared.to_str().unwrap(), "ps"])
        .fails(125, "others may write");
}

/// A pull killed at any moment: the store holds the image whole or not at all, and the next pull
/// finishes it, fetching only what is missing.
#[test]
fn pull_killed_at_any_point_leaves_a_consistent_store() {
    use skiff_test::{Access, Registry};
    let registry = Registry::start(Access::Open);
    let source = TestContext::new(SKIFF, Mode::Root);
    // Two incompressible layers' worth of data, so the pull takes long enough to be interrupted.
    let tree = source.scratch("tree");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "head -c 24000000 /dev/urandom > {0}/big && tar -C {0} -cf {0}/../big.tar big",
            tree.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let tarball = source.dir.join("big.tar");
    source
        .skiff(["import", tarball.to_str().unwrap(), "localhost/big"])
        .ok();
    let name = registry.name("big:1");
    source
        .skiff(["push", "--tls-verify=false", "localhost/big", &name])
        .ok();
    let id = source
        .skiff(["image", "inspect", "--format", "{{.Id}}", "localhost/big"])
        .ok()
        .to_string();

    let ctx = TestContext::new(SKIFF, Mode::Root);
    for delay in [5, 20, 40, 80, 160] {
        let mut child = ctx
            .command(["pull", "-q", "--tls-verify=false", &name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        assert_consistent(&ctx);
        let images = ctx.skiff(["images", "-q", "--no-trunc"]).ok().to_string();
        assert!(
            images.is_empty() || images == format!("sha256:{id}"),
            "after a kill at {delay} ms: {images:?}"
        );
        if !images.is_empty() {
            ctx.skiff(["rmi", "-a", "-f"]).ok();
        }
    }
    ctx.skiff(["pull", "-q", "--tls-verify=false", &name]).ok();
    let layers: Vec<String> = std::fs::read_dir(ctx.root().join("storage/layers"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(layers.len(), 1, "one whole layer, no leftovers: {layers:?}");
    let big = ctx
        .root()
        .join("storage/layers")
        .join(&layers[0])
        .join("big");
    assert_eq!(std::fs::metadata(big).unwrap().len(), 24_000_000);
}
