//! `mount`/`umount` of containers and images, `--mount type=image` and `unshare`, against the
//! real binary: root mounts in the host's namespace; rootless only inside `skiff unshare`.
use skiff_test::{Mode, TestContext};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

fn both(test: impl Fn(&TestContext)) {
    skiff_test::in_both_modes(SKIFF, test);
}

/// `skiff ARGS` as this context's skiff would run it, for a shell inside `skiff unshare`.
fn inner_skiff(ctx: &TestContext) -> String {
    format!(
        "{} --root {} --runroot {}",
        ctx.binary().display(),
        ctx.root().display(),
        ctx.runroot().display()
    )
}

#[test]
fn a_mounted_container_is_shared_with_its_runs_until_the_last_umount() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let id = ctx
        .skiff([
            "create",
            "--name",
            "c",
            "localhost/busybox",
            "cat",
            "/from-host",
        ])
        .ok()
        .to_string();
    let path = ctx.skiff(["mount", "c"]).ok().to_string();
    std::fs::write(format!("{path}/from-host"), "written on the host\n").unwrap();
    // Mounted twice: one umount leaves it mounted.
    assert_eq!(ctx.skiff(["container", "mount", "c"]).ok(), path);
    assert_eq!(
        ctx.skiff(["mount", "--notruncate"]).ok(),
        format!("{id}  {path}")
    );
    assert_eq!(ctx.skiff(["mount"]).ok(), format!("{}  {path}", &id[..12]));
    let listed: serde_json::Value =
        serde_json::from_str(ctx.skiff(["mount", "--format", "json"]).ok()).unwrap();
    assert_eq!(listed[0]["mountpoint"], path.as_str());
    assert_eq!(listed[0]["Names"][0], "c");
    // The container runs on the user's mount and leaves it mounted when it exits.
    assert_eq!(ctx.skiff(["start", "-a", "c"]).ok(), "written on the host");
    assert_eq!(ctx.skiff(["umount", "c"]).ok(), id);
    assert!(std::path::Path::new(&format!("{path}/from-host")).exists());
    assert_eq!(ctx.skiff(["unmount", "c"]).ok(), id);
    assert!(!std::path::Path::new(&format!("{path}/from-host")).exists());
    assert_eq!(ctx.skiff(["mount"]).ok(), "");
    ctx.skiff(["umount", "nosuch"])
        .fails(125, "no container with name or ID \"nosuch\" found");
    ctx.skiff(["mount", "--format", "yaml"])
        .fails(125, "unknown --format argument");
    // Removal takes a mounted container's mount with it.
    ctx.skiff(["mount", "c"]).ok();
    ctx.skiff(["rm", "c"]).ok();
    assert!(!std::path::Path::new(&path).exists());
}

#[test]
fn image_mounts_are_read_only_and_counted() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let image = "localhost/busybox";
    let iid = ctx
        .skiff(["image", "inspect", "--format", "{{.ID}}", image])
        .ok()
        .to_string();
    let path = ctx.skiff(["image", "mount", image]).ok().to_string();
    assert!(std::path::Path::new(&format!("{path}/bin/busybox")).exists());
    assert!(
        std::fs::write(format!("{path}/new"), "x").is_err(),
        "read-only"
    );
    ctx.skiff(["image", "mount", "-a"]).ok();
    assert_eq!(
        ctx.skiff(["image", "mount"]).ok(),
        format!("{image}:latest  {path}")
    );
    assert_eq!(ctx.skiff(["image", "umount", "-f", image]).ok(), iid);
    assert_eq!(ctx.skiff(["image", "umount", image]).ok(), "");
    assert!(!std::path::Path::new(&format!("{path}/bin")).exists());
    ctx.skiff(["image", "umount", "no-such-image"])
        .fails(125, "no-such-image: image not known");

    // --mount type=image: read-only unless rw, and counted as a user of the image while the
    // container runs.
    let mount = format!("type=image,src={image},dst=/image");
    ctx.skiff([
        "run",
        "--rm",
        "--mount",
        &mount,
        image,
        "diff",
        "/bin/busybox",
        "/image/bin/busybox",
    ])
    .ok();
    let denied = ctx.skiff(["run", "--rm", "--mount", &mount, image, "touch", "/image/x"]);
    assert_eq!(denied.code, 1);
    assert!(
        denied.stderr.contains("Read-only file system"),
        "{}",
        denied.stderr
    );
    let writable = format!("{mount},rw=true");
    ctx.skiff([
        "run", "--rm", "--mount", &writable, image, "touch", "/image/x",
    ])
    .ok();
    assert_eq!(ctx.skiff(["image", "umount", image]).ok(), "");
    let cid = ctx
        .skiff(["run", "-d", "--mount", &writable, image, "sleep", "100"])
        .ok()
        .to_string();
    assert_eq!(
        ctx.skiff([
            "inspect",
            "--format",
            "{{(index .Mounts 0).Type}} {{(index .Mounts 0).Source}} {{(index .Mounts 0).RW}}",
            &cid
        ])
        .ok(),
        format!("image {image} true")
    );
    ctx.skiff(["rmi", image])
        .fails(2, "image is in use by a container");
    assert_eq!(ctx.skiff(["image", "umount", image]).ok(), iid);
    ctx.skiff(["exec", &cid, "ls", "/image/bin/busybox"]).ok();
    ctx.skiff(["rm", "-f", "-t", "0", &cid]).ok();
    ctx.skiff(["run", "--rm", "--mount", "type=image,dst=/x", image, "true"])
        .fails(125, "an image mount needs a source");
    ctx.skiff([
        "run",
        "--rm",
        "--mount",
        "type=image,src=nosuch,dst=/x",
        image,
        "true",
    ])
    .fails(125, "nosuch: image not known");

    // Removing a mounted image unmounts it, as Podman's storage does.
    let path = ctx.skiff(["image", "mount", image]).ok().to_string();
    ctx.skiff(["rmi", "-f", &iid]).ok();
    assert!(!std::path::Path::new(&format!("{path}/bin")).exists());
    assert_eq!(ctx.skiff(["image", "mount"]).ok(), "");
}

#[test]
fn rootless_mounts_need_unshare() {
    let ctx = TestContext::new(SKIFF, Mode::Rootless).with_busybox();
    ctx.skiff(["create", "--name", "c", "localhost/busybox", "true"])
        .ok();
    ctx.skiff(["mount", "c"])
        .fails(125, "must execute `skiff unshare` first");
    let skiff = inner_skiff(&ctx);
    let script = format!(
        "id -u; p=$({skiff} mount c) && ls \"$p/bin/busybox\" && {skiff} umount c >/dev/null && echo \"$CONTAINERS_GRAPHROOT\""
    );
    let inside = ctx.skiff(["unshare", "sh", "-c", &script]).ok().to_string();
    let lines: Vec<&str> = inside.lines().collect();
    assert_eq!(lines[0], "0", "root of the user namespace: {inside}");
    assert!(lines[1].ends_with("/bin/busybox"), "{inside}");
    assert_eq!(lines[2], ctx.root().display().to_string());
    assert_eq!(ctx.skiff(["unshare", "sh", "-c", "exit 3"]).code, 3);
    ctx.skiff(["unshare", "no-such-program"]).fails(
        125,
        "\"no-such-program\": executable file not found in $PATH",
    );
}

#[test]
fn unshare_is_for_rootless_users() {
    both(|ctx| {
        if ctx.mode == Mode::Root {
            ctx.skiff(["unshare", "true"])
                .fails(125, "please use unshare with rootless");
        } else {
            ctx.skiff(["unshare", "true"]).ok();
        }
    });
}

/// A tmpfs starts with what the image has at its destination (Podman's `tmpcopyup`, on by
/// default), owners and modes kept; `notmpcopyup` starts it empty. What `cp` put into a created
/// container's tmpfs destination is there once it runs.
#[test]
fn tmpfs_mounts_start_with_the_images_files() {
    both(|ctx| {
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "--tmpfs",
                "/etc",
                "busybox",
                "sh",
                "-c",
                "grep -c ^root: /etc/passwd; stat -c %a /etc/passwd; touch /etc/new && echo writable"
            ])
            .ok(),
            "1\n644\nwritable"
        );
        ctx.skiff([
            "run",
            "--rm",
            "--mount",
            "type=tmpfs,dst=/etc,notmpcopyup",
            "busybox",
            "test",
            "-e",
            "/etc/passwd",
        ])
        .fails(1, "");
        let dir = ctx.scratch("copyup");
        std::fs::write(dir.join("file"), "copied before start\n").unwrap();
        ctx.chown(&dir.join("file"));
        ctx.skiff([
            "create", "--name", "c", "--tmpfs", "/tmp", "busybox", "sleep", "100",
        ])
        .ok();
        ctx.skiff(["cp", dir.join("file").to_str().unwrap(), "c:/tmp"])
            .ok();
        ctx.skiff(["start", "c"]).ok();
        assert_eq!(
            ctx.skiff(["exec", "c", "cat", "/tmp/file"]).ok(),
            "copied before start"
        );
        ctx.skiff(["rm", "-f", "-t", "0", "c"]).ok();
    });
}
