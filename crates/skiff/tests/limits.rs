//! Resource limits against the real binary: what `run` asks is read back from the container's
//! own cgroup files (v1 or v2, as the host has them), its rlimits, /dev/shm and sysctls;
//! `update` changes a running container's cgroup; bad values get Podman's errors.
use skiff_test::{Mode, TestContext};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

/// Prints, inside the container, the cgroup values named v1-style, from the v1 or v2 files.
const READ_LIMITS: &str = r#"
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
  echo "memory $(cat /sys/fs/cgroup/memory.max)"
  echo "reservation $(cat /sys/fs/cgroup/memory.low)"
  echo "cpu $(cat /sys/fs/cgroup/cpu.max)"
  echo "pids $(cat /sys/fs/cgroup/pids.max)"
else
  echo "memory $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
  echo "reservation $(cat /sys/fs/cgroup/memory/memory.soft_limit_in_bytes)"
  echo "cpu $(cat /sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"
  echo "pids $(cat /sys/fs/cgroup/pids/pids.max)"
fi
"#;

#[test]
fn limits_reach_the_containers_cgroup_and_update_changes_them() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let out = ctx
        .skiff([
            "run",
            "--rm",
            "--memory",
            "64m",
            "--memory-reservation",
            "32m",
            "--cpu-period",
            "50000",
            "--cpu-quota",
            "25000",
            "--pids-limit",
            "50",
            "--cpu-shares",
            "512",
            "--cpuset-cpus",
            "0",
            "busybox",
            "sh",
            "-c",
            READ_LIMITS,
        ])
        .ok()
        .to_string();
    assert!(out.contains("memory 67108864"), "{out}");
    assert!(out.contains("reservation 33554432"), "{out}");
    assert!(out.contains("cpu 25000 50000"), "{out}");
    assert!(out.contains("pids 50"), "{out}");

    let id = ctx
        .skiff([
            "run", "-d", "--memory", "64m", "--cpus", "0.5", "busybox", "sleep", "100",
        ])
        .ok()
        .to_string();
    assert_eq!(
        ctx.skiff([
            "update",
            "--memory",
            "128m",
            "--memory-reservation",
            "16m",
            "--cpus",
            "1",
            "--pids-limit",
            "77",
            &id
        ])
        .ok(),
        id
    );
    let out = ctx
        .skiff(["exec", &id, "sh", "-c", READ_LIMITS])
        .ok()
        .to_string();
    assert!(out.contains("memory 134217728"), "{out}");
    assert!(out.contains("reservation 16777216"), "{out}");
    assert!(out.contains("cpu 100000 100000"), "{out}");
    assert!(out.contains("pids 77"), "{out}");
    // The spec keeps them: inspect shows them, a restart applies them.
    assert_eq!(
        ctx.skiff([
            "inspect",
            "--format",
            "{{.HostConfig.Memory}} {{.HostConfig.MemoryReservation}} {{.HostConfig.PidsLimit}}",
            &id
        ])
        .ok(),
        "134217728 16777216 77"
    );
    ctx.skiff(["update", "--cpus", "1", "--cpu-period", "1000", &id])
        .fails(
            125,
            "--cpus and --cpu-period/--cpu-quota cannot be set together",
        );
    ctx.skiff(["update", &id]).fails(125, "nothing to update");
    ctx.skiff(["rm", "-f", "-t", "0", &id]).ok();
}

#[test]
fn process_limits_shm_and_sysctls_apply_rootless_too() {
    skiff_test::in_both_modes(SKIFF, |ctx| {
        let out = ctx
            .skiff([
                "run", "--rm", "--ulimit", "nofile=512:1024", "--shm-size", "128m", "--sysctl",
                "kernel.shmmax=123456789", "--sysctl", "net.ipv4.ip_unprivileged_port_start=80",
                "--oom-score-adj", "300", "busybox", "sh", "-c",
                "ulimit -n; ulimit -Hn; grep ' /dev/shm ' /proc/mounts; cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/self/oom_score_adj",
            ])
            .ok()
            .to_string();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "512", "{out}");
        assert_eq!(lines[1], "1024", "{out}");
        assert!(lines[2].contains("size=131072k"), "{out}");
        assert_eq!(&lines[3..], ["123456789", "80", "300"], "{out}");
        let id = ctx
            .skiff([
                "create",
                "--ulimit",
                "nproc=100",
                "--shm-size",
                "1m",
                "--oom-score-adj",
                "200",
                "busybox",
                "true",
            ])
            .ok()
            .to_string();
        assert_eq!(
            ctx.skiff(["inspect", "--format", "{{.HostConfig.ShmSize}} {{.HostConfig.OomScoreAdj}} {{(index .HostConfig.Ulimits 0).Name}}", &id])
                .ok(),
            "1048576 200 RLIMIT_NPROC"
        );
        // A hard limit above this host's own cannot be given without CAP_SYS_RESOURCE.
        let too_high = ctx.skiff([
            "run",
            "--rm",
            "--ulimit",
            "nofile=1024:unlimited",
            "busybox",
            "true",
        ]);
        assert!(
            too_high.code == 0 || too_high.stderr.contains("only CAP_SYS_RESOURCE may raise"),
            "{too_high:?}"
        );
    });
}

#[test]
fn bad_limits_get_podmans_errors() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    for (args, error) in [
        (
            &["--memory-swappiness", "101"][..],
            "valid memory swappiness range is 0-100",
        ),
        (&["--memory-swap", "1g"], "when setting --memory-swap"),
        (
            &["--memory", "64m", "--memory-swap", "32m"],
            "minimum memoryswap limit should be larger than memory limit",
        ),
        (
            &["--memory", "64m", "--memory-reservation", "128m"],
            "can not be less than memory reservation",
        ),
        (
            &["--oom-score-adj", "1001"],
            "range for oom score adj is [-1000, 1000]",
        ),
        (
            &["--cpus", "1", "--cpu-quota", "5000"],
            "cannot be set together",
        ),
        (
            &["--cpu-quota", "10"],
            "CPU cfs quota can not be less than 1ms",
        ),
        (
            &["--cpuset-cpus", "1-0"],
            "invalid value \"1-0\" for --cpuset-cpus",
        ),
        (&["--blkio-weight", "5"], "range is from 10 to 1000"),
        (
            &["--device-read-bps", "/etc/passwd:1m"],
            "/etc/passwd is not a device",
        ),
        (
            &["--ulimit", "nofile=10:5"],
            "soft limit must be less than or equal to hard limit",
        ),
        (&["--ulimit", "files=10"], "invalid ulimit type: files"),
        (
            &["--sysctl", "kernel.hostname=x"],
            "sysctl \"kernel.hostname\" is not allowed",
        ),
        (
            &["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"],
            "not allowed in the hosts network namespace",
        ),
        (
            &["--shm-size", "lots"],
            "invalid size \"lots\" for --shm-size",
        ),
        (&["--cgroupns", "shared"], "expected host or private"),
        (
            &["--cgroups", "disabled", "--memory", "64m"],
            "cannot set resource limits with --cgroups=disabled",
        ),
    ] {
        let mut full = vec!["create"];
        full.extend_from_slice(args);
        full.extend(["busybox", "true"]);
        ctx.skiff(&full).fails(125, error);
    }
    assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "", "nothing was created");
}

#[test]
fn a_cgroup_parent_and_cgroup_namespace_are_the_containers() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let parent = format!("skiff-test-parent-{}", std::process::id());
    // The parent is the user's to remove, as with Podman: this test removes it.
    struct RemoveParent(String);
    impl Drop for RemoveParent {
        fn drop(&mut self) {
            for hierarchy in std::fs::read_dir("/sys/fs/cgroup")
                .into_iter()
                .flatten()
                .flatten()
            {
                let _ = std::fs::remove_dir(hierarchy.path().join(&self.0));
            }
        }
    }
    let _remove = RemoveParent(parent.clone());
    let out = ctx
        .skiff([
            "run",
            "--rm",
            "--cgroup-parent",
            &parent,
            "--cgroupns",
            "host",
            "--memory",
            "64m",
            "busybox",
            "cat",
            "/proc/self/cgroup",
        ])
        .ok()
        .to_string();
    assert!(out.contains(&format!("/{parent}/")), "{out}");
    let private = ctx
        .skiff([
            "run",
            "--rm",
            "--cgroupns",
            "private",
            "busybox",
            "cat",
            "/proc/self/cgroup",
        ])
        .ok()
        .to_string();
    assert!(
        !private.contains("skiff"),
        "a private cgroup namespace hides the path: {private}"
    );
}

#[test]
fn an_oom_kill_is_recorded() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    // tail keeps the one endless line of /dev/zero in memory.
    let out = ctx.skiff([
        "run",
        "--name",
        "hog",
        "--memory",
        "16m",
        "--memory-swap",
        "16m",
        "busybox",
        "tail",
        "/dev/zero",
    ]);
    assert_eq!(out.code, 137, "{out:?}");
    assert_eq!(
        ctx.skiff([
            "inspect",
            "--format",
            "{{.State.OOMKilled}} {{.State.ExitCode}}",
            "hog"
        ])
        .ok(),
        "true 137"
    );
    assert_eq!(
        ctx.skiff([
            "events",
            "--stream=false",
            "--filter",
            "event=oom",
            "--format",
            "{{.Name}}"
        ])
        .ok(),
        "hog"
    );
    // A run that ends otherwise is not an OOM kill.
    let id = ctx
        .skiff(["run", "-d", "busybox", "sleep", "100"])
        .ok()
        .to_string();
    ctx.skiff(["kill", &id]).ok();
    ctx.skiff(["wait", &id]).ok();
    assert_eq!(
        ctx.skiff(["inspect", "--format", "{{.State.OOMKilled}}", &id])
            .ok(),
        "false"
    );
}

#[test]
fn host_devices_reach_the_container_root_and_rootless() {
    skiff_test::in_both_modes(SKIFF, |ctx| {
        let out = ctx
            .skiff([
                "run",
                "--rm",
                "--device",
                "/dev/null:/dev/nothing",
                "--device-cgroup-rule",
                "c 7:* rmw",
                "busybox",
                "sh",
                "-c",
                "ls -l /dev/nothing | cut -c1; echo x > /dev/nothing && echo written",
            ])
            .ok()
            .to_string();
        assert_eq!(out, "c\nwritten", "{:?}", ctx.mode);
        ctx.skiff(["run", "--rm", "--device", "/etc/passwd", "busybox", "true"])
            .fails(125, "/etc/passwd is not a device");
        ctx.skiff([
            "run",
            "--rm",
            "--device-cgroup-rule",
            "b 7:2",
            "busybox",
            "true",
        ])
        .fails(
            125,
            "invalid device cgroup rule requires type, major:Minor, and access rules",
        );
    });
}
