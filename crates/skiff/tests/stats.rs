//! `stats` against the real binary: a container of known memory use read back from its
//! cgroup within 10%, Podman's columns and JSON keys, and its errors. Rootless where cgroups
//! are delegated (cgroup v2); elsewhere Podman's error.

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

#[test]
fn stats_reads_a_containers_use_from_its_cgroup() {
    skiff_test::in_both_modes(SKIFF, |ctx| {
        // 20 MiB in a tmpfs file: memory the container's cgroup is charged for.
        ctx.skiff([
            "run", "-d", "--name", "hog", "--memory", "64m", "busybox", "sh", "-c",
            "dd if=/dev/zero of=/dev/shm/fill bs=1M count=20 2>/dev/null; touch /dev/shm/done; sleep 1000",
        ])
        .ok();
        for _ in 0..50 {
            if ctx
                .skiff(["exec", "hog", "test", "-e", "/dev/shm/done"])
                .code
                == 0
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let json = ctx.skiff(["stats", "--no-stream", "--format", "json", "hog"]);
        if json.code != 0 {
            // Rootless without delegated cgroups (these hosts: cgroup v1), as Podman.
            json.fails(
                125,
                "stats is not supported in rootless mode without cgroups v2",
            );
            return;
        }
        let stats: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        let hog = &stats[0];
        assert_eq!(hog["name"], "hog", "{stats}");
        let bytes = hog["mem_usage_bytes"].as_str().unwrap();
        let (usage, limit) = bytes.split_once(" / ").unwrap();
        let (usage, limit): (f64, u64) = (usage.parse().unwrap(), limit.parse().unwrap());
        assert_eq!(limit, 64 << 20, "{stats}");
        let expected = (20u64 << 20) as f64;
        assert!(
            (usage - expected).abs() / expected < 0.10,
            "memory use {usage} is not within 10% of {expected}: {stats}"
        );
        assert_eq!(hog["pids"], "1", "{stats}");
        let table = ctx.skiff(["stats", "--no-stream"]).ok().to_string();
        let header: Vec<&str> = table
            .lines()
            .next()
            .unwrap()
            .split("  ")
            .filter(|c| !c.is_empty())
            .map(str::trim)
            .collect();
        assert_eq!(
            header,
            [
                "ID",
                "NAME",
                "CPU %",
                "MEM USAGE / LIMIT",
                "MEM %",
                "NET IO",
                "BLOCK IO",
                "PIDS",
                "CPU TIME",
                "AVG CPU %"
            ]
        );
        assert_eq!(
            ctx.skiff([
                "stats",
                "--no-stream",
                "--format",
                "{{.Name}} {{.MemPerc}}",
                "hog"
            ])
            .ok()
            .split_whitespace()
            .next(),
            Some("hog")
        );
        ctx.skiff(["create", "--name", "idle", "busybox", "true"])
            .ok();
        ctx.skiff(["stats", "--no-stream", "idle"])
            .fails(125, "container idle is not running");
        ctx.skiff(["stats", "--no-stream", "nope"])
            .fails(125, "no such container");
    });
}
