//! Named and anonymous volumes against the real binary, root and rootless: Podman's `volume`
//! commands, `-v NAME:/dst` and `-v /dst`, the image's files copied into a new volume, and the
//! exit codes of removal.
use skiff_test::TestContext;

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

fn both(test: impl Fn(&TestContext)) {
    skiff_test::in_both_modes(SKIFF, test);
}

#[test]
fn volume_commands_as_podman() {
    both(|ctx| {
        assert_eq!(
            ctx.skiff(["volume", "create", "--label", "k=v", "data"])
                .ok(),
            "data"
        );
        ctx.skiff(["volume", "create", "data"])
            .fails(125, "volume with name data already exists");
        assert_eq!(
            ctx.skiff(["volume", "create", "--ignore", "data"]).ok(),
            "data"
        );
        ctx.skiff(["volume", "create", "bad/name"])
            .fails(125, "invalid volume name");
        ctx.skiff(["volume", "create", "--driver", "nfs", "x"])
            .fails(125, "only the local driver");
        let anonymous = ctx.skiff(["volume", "create"]).ok().to_string();
        assert_eq!(anonymous.len(), 64, "{anonymous}");
        // By name, as Podman lists them.
        let mut names = [anonymous.as_str(), "data"];
        names.sort();
        assert_eq!(
            ctx.skiff(["volume", "ls"]).ok(),
            format!(
                "DRIVER      VOLUME NAME\nlocal       {}\nlocal       {}",
                names[0], names[1]
            )
        );
        assert_eq!(
            ctx.skiff(["volume", "ls", "--filter", "label=k=v", "-q"])
                .ok(),
            "data"
        );
        let inspected = ctx
            .skiff([
                "volume",
                "inspect",
                "--format",
                "{{.Name}} {{.Driver}} {{.Labels.k}} {{.Scope}} {{.Mountpoint}}",
                "data",
            ])
            .ok()
            .to_string();
        assert!(
            inspected.starts_with("data local v local /")
                && inspected.ends_with("/volumes/data/_data"),
            "{inspected}"
        );
        ctx.skiff(["volume", "exists", "data"]).ok();
        ctx.skiff(["volume", "exists", "nope"]).fails(1, "");
        ctx.skiff(["volume", "inspect", "nope"])
            .fails(125, "no volume with name \"nope\" found: no such volume");
        ctx.skiff(["volume", "rm", "nope"])
            .fails(1, "no such volume");
        assert_eq!(ctx.skiff(["volume", "rm", "-f", "nope"]).ok(), "");
        // In use: 2, unless forced (the container goes first).
        ctx.skiff([
            "create",
            "--name",
            "user",
            "-v",
            "data:/data",
            "busybox",
            "true",
        ])
        .ok();
        ctx.skiff(["volume", "rm", "data"])
            .fails(2, "volume data is being used by the following container(s)");
        assert_eq!(
            ctx.skiff(["volume", "prune", "-f"]).ok(),
            anonymous,
            "prune takes only what no container uses"
        );
        assert_eq!(ctx.skiff(["volume", "rm", "-f", "data"]).ok(), "data");
        assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
        assert_eq!(ctx.skiff(["volume", "ls", "-q"]).ok(), "");
    });
}

#[test]
fn containers_share_named_volumes_and_get_the_images_files() {
    both(|ctx| {
        // A named volume is made on first use and outlives its container.
        let out = ctx.skiff([
            "run",
            "--rm",
            "-v",
            "shared:/data",
            "busybox",
            "sh",
            "-c",
            "echo kept > /data/file",
        ]);
        out.ok();
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "-v",
                "shared:/data:ro",
                "busybox",
                "cat",
                "/data/file"
            ])
            .ok(),
            "kept"
        );
        ctx.skiff([
            "run",
            "--rm",
            "-v",
            "shared:/data:ro",
            "busybox",
            "touch",
            "/data/new",
        ])
        .fails(1, "Read-only file system");
        // A new volume over a directory of the image starts with the image's files, owners
        // and modes; with nocopy it starts empty.
        let listing = ctx
            .skiff([
                "run",
                "--rm",
                "-v",
                "etc:/etc",
                "busybox",
                "sh",
                "-c",
                "stat -c '%u %a' /etc/passwd",
            ])
            .ok()
            .to_string();
        assert_eq!(listing, "0 644");
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "-v",
                "bare:/etc:nocopy",
                "busybox",
                "ls",
                "-A",
                "/etc"
            ])
            .ok(),
            ""
        );
        // What a container writes over the copied files stays; it is not copied again.
        ctx.skiff([
            "run",
            "--rm",
            "-v",
            "etc:/etc",
            "busybox",
            "rm",
            "/etc/passwd",
        ])
        .ok();
        ctx.skiff([
            "run",
            "--rm",
            "-v",
            "etc:/etc",
            "busybox",
            "test",
            "-e",
            "/etc/passwd",
        ])
        .fails(1, "");
        let mounts = {
            ctx.skiff([
                "create",
                "--name",
                "probe",
                "-v",
                "shared:/data:ro",
                "busybox",
                "true",
            ])
            .ok();
            ctx.skiff([
                "inspect",
                "--format",
                "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} {{.RW}}{{end}}",
                "probe",
            ])
            .ok()
            .to_string()
        };
        assert_eq!(mounts, "volume shared /data false");
        ctx.skiff(["rm", "probe"]).ok();
        // --mount says the same things with keys.
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "--mount",
                "type=volume,source=shared,target=/data,readonly",
                "--mount",
                "type=tmpfs,destination=/scratch",
                "busybox",
                "sh",
                "-c",
                "cat /data/file; touch /scratch/ok && ! touch /data/no 2>/dev/null && echo ro",
            ])
            .ok(),
            "kept\nro"
        );
        ctx.skiff([
            "run",
            "--rm",
            "--mount",
            "type=glob,src=/bin/b*,dst=/i",
            "busybox",
            "true",
        ])
        .fails(125, "not supported");
    });
}

#[test]
fn anonymous_volumes_go_with_rm_v_and_run_rm() {
    both(|ctx| {
        ctx.skiff([
            "run",
            "--name",
            "keeper",
            "-v",
            "/scratch",
            "busybox",
            "sh",
            "-c",
            "echo x > /scratch/x",
        ])
        .ok();
        let name = ctx.skiff(["volume", "ls", "-q"]).ok().to_string();
        assert_eq!(name.len(), 64, "one anonymous volume: {name}");
        // rm without -v keeps it; with -v it goes.
        ctx.skiff([
            "create", "--name", "other", "-v", "/more", "busybox", "true",
        ])
        .ok();
        ctx.skiff(["rm", "other"]).ok();
        assert_eq!(ctx.skiff(["volume", "ls", "-q"]).ok().lines().count(), 2);
        ctx.skiff(["rm", "-v", "keeper"]).ok();
        assert_eq!(ctx.skiff(["volume", "ls", "-q"]).ok().lines().count(), 1);
        ctx.skiff(["volume", "prune", "-f"]).ok();
        // A --rm container's anonymous volumes go with it; named ones stay.
        ctx.skiff([
            "run",
            "--rm",
            "-v",
            "/gone",
            "-v",
            "stays:/stays",
            "busybox",
            "true",
        ])
        .ok();
        assert_eq!(ctx.skiff(["volume", "ls", "-q"]).ok(), "stays");
    });
}

/// `cp` into a container that is not running lands in the volume its path falls in (the
/// deepest of nested ones), as it would once the container runs; nothing else is touched.
#[test]
fn cp_reaches_the_volumes_of_a_stopped_container() {
    both(|ctx| {
        ctx.skiff([
            "create",
            "--name",
            "box",
            "-v",
            "outer:/srv",
            "-v",
            "inner:/srv/in",
            "busybox",
            "true",
        ])
        .ok();
        let file = ctx.scratch("src").join("note");
        std::fs::write(&file, "in the inner volume\n").unwrap();
        ctx.chown(&file);
        ctx.skiff(["cp", file.to_str().unwrap(), "box:/srv/in"])
            .ok();
        let mountpoint = |name: &str| {
            ctx.skiff(["volume", "inspect", "--format", "{{.Mountpoint}}", name])
                .ok()
                .to_string()
        };
        assert_eq!(
            std::fs::read_to_string(format!("{}/note", mountpoint("inner"))).unwrap(),
            "in the inner volume\n"
        );
        let outer: Vec<_> = std::fs::read_dir(mountpoint("outer")).unwrap().collect();
        assert!(outer.is_empty(), "the outer volume stays empty: {outer:?}");
        // And back out of it, while the container still has not run.
        let copied = ctx
            .command(["cp", "box:/srv/in/note", "-"])
            .output()
            .expect("cp out");
        assert!(copied.status.success());
        let mut archive = tar::Archive::new(copied.stdout.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["note"]);
    });
}

/// An image's VOLUME becomes an anonymous volume filled from the image (gone with `--rm`), a
/// tmpfs with `--image-volume tmpfs`, or nothing with `ignore`; the container's own mount at
/// that path wins.
#[test]
fn image_volumes_are_anonymous_volumes_unless_told_otherwise() {
    both(|ctx| {
        ctx.skiff_with_input(
            &["build", "-q", "-t", "withvol", "-"],
            b"FROM localhost/busybox\nRUN mkdir /data && echo from the image > /data/seed\nVOLUME /data\n",
        )
        .ok();
        let id = ctx
            .skiff(["create", "withvol", "cat", "/data/seed"])
            .ok()
            .to_string();
        let volume = ctx
            .skiff([
                "inspect",
                "--format",
                "{{range .Mounts}}{{.Type}} {{.Destination}} {{.Name}}{{end}}",
                &id,
            ])
            .ok()
            .to_string();
        let name = volume
            .strip_prefix("volume /data ")
            .unwrap_or_else(|| panic!("{volume}"))
            .to_string();
        ctx.skiff(["start", "-a", &id]).ok();
        assert_eq!(ctx.skiff(["logs", &id]).ok(), "from the image");
        assert_eq!(ctx.skiff(["volume", "ls", "-q"]).ok(), name);
        ctx.skiff(["rm", "-v", &id]).ok();
        assert_eq!(ctx.skiff(["volume", "ls", "-q"]).ok(), "");
        ctx.skiff([
            "run",
            "--rm",
            "withvol",
            "sh",
            "-c",
            "grep -q ' /data ' /proc/mounts",
        ])
        .ok();
        assert_eq!(ctx.skiff(["volume", "ls", "-q"]).ok(), "");
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "--image-volume",
                "tmpfs",
                "withvol",
                "sh",
                "-c",
                "grep ' /data ' /proc/mounts | cut -d' ' -f3; ls /data"
            ])
            .ok(),
            // As Podman's, the tmpfs starts with the image's files (tmpcopyup).
            "tmpfs\nseed"
        );
        assert_eq!(
            ctx.skiff([
                "run",
                "--rm",
                "--image-volume",
                "ignore",
                "withvol",
                "sh",
                "-c",
                "grep -c ' /data ' /proc/mounts; cat /data/seed"
            ])
            .stdout,
            "0\nfrom the image\n"
        );
        ctx.skiff(["run", "--rm", "-v", "named:/data", "withvol", "true"])
            .ok();
        assert_eq!(ctx.skiff(["volume", "ls", "-q"]).ok(), "named");
        ctx.skiff(["create", "--image-volume", "copy", "withvol"])
            .fails(
                125,
                "invalid image-volume type \"copy\". Pick one of bind, tmpfs, or ignore",
            );
    });
}
