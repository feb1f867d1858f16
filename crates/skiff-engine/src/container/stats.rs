//! `stats`: a running container's resource use, read from its own cgroup (v1 controllers or
//! v2) and its network namespace, as Podman reports it: CPU, memory against its limit, network
//! and block I/O, PIDs. A sample is a set of counters; CPU percentages are between two samples.
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::store::State;
use crate::engine::Engine;
use crate::error::EngineError;

/// One reading of a container's counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsSample {
    pub id: String,
    pub name: String,
    /// When the container started.
    pub started: Option<DateTime<Utc>>,
    /// When this reading was taken.
    pub taken: DateTime<Utc>,
    /// CPU time used, nanoseconds.
    pub cpu_nanos: u64,
    pub memory_usage: u64,
    /// The memory limit: the container's, else the host's memory.
    pub memory_limit: u64,
    pub pids: u64,
    pub net_input: u64,
    pub net_output: u64,
    pub block_input: u64,
    pub block_output: u64,
}

/// Where a container's cgroup counters are: each v1 controller's directory, or one v2 one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CgroupFiles {
    V1 {
        cpuacct: Option<PathBuf>,
        memory: Option<PathBuf>,
        pids: Option<PathBuf>,
        blkio: Option<PathBuf>,
    },
    V2(PathBuf),
}

impl CgroupFiles {
    /// The counters' directories among the container's cgroups (see `CgroupDirs`).
    pub(crate) fn from_cgroup_file(
        text: &str,
        id: &str,
        base: &Path,
        unified: bool,
    ) -> Option<Self> {
        match super::limits::CgroupDirs::from_cgroup_file(text, id, base, unified)? {
            super::limits::CgroupDirs::V2(dir) => Some(CgroupFiles::V2(dir)),
            super::limits::CgroupDirs::V1(dirs) => {
                let dir = |controller: &str| dirs.get(controller).cloned();
                let (cpuacct, memory) = (dir("cpuacct"), dir("memory"));
                (cpuacct.is_some() || memory.is_some()).then(|| CgroupFiles::V1 {
                    cpuacct,
                    memory,
                    pids: dir("pids"),
                    blkio: dir("blkio"),
                })
            }
        }
    }

    /// CPU nanoseconds, memory use and limit (0: none), PIDs, block bytes read and written.
    pub(crate) fn read(&self) -> (u64, u64, u64, u64, u64, u64) {
        let number = |dir: &Option<PathBuf>, file: &str| {
            dir.as_ref()
                .and_then(|d| std::fs::read_to_string(d.join(file)).ok())
                .and_then(|t| t.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        match self {
            CgroupFiles::V1 {
                cpuacct,
                memory,
                pids,
                blkio,
            } => {
                let inactive = keyed(memory, "memory.stat", "total_inactive_file");
                let usage = number(memory, "memory.usage_in_bytes").saturating_sub(inactive);
                // v1 says "no limit" with a huge number.
                let limit = number(memory, "memory.limit_in_bytes");
                let limit = if limit >= 1 << 62 { 0 } else { limit };
                let (read, write) = blkio_v1(blkio);
                (
                    number(cpuacct, "cpuacct.usage"),
                    usage,
                    limit,
                    number(pids, "pids.current"),
                    read,
                    write,
                )
            }
            CgroupFiles::V2(dir) => {
                let dir = Some(dir.clone());
                let inactive = keyed(&dir, "memory.stat", "inactive_file");
                let usage = number(&dir, "memory.current").saturating_sub(inactive);
                let (read, write) = io_v2(&dir);
                (
                    keyed(&dir, "cpu.stat", "usage_usec") * 1000,
                    usage,
                    number(&dir, "memory.max"),
                    number(&dir, "pids.current"),
                    read,
                    write,
                )
            }
        }
    }
}

/// `KEY VALUE` lines of a cgroup file: the value of `key`.
fn keyed(dir: &Option<PathBuf>, file: &str, key: &str) -> u64 {
    dir.as_ref()
        .and_then(|d| std::fs::read_to_string(d.join(file)).ok())
        .and_then(|text| {
            text.lines().find_map(|line| {
                let (k, v) = line.split_once(' ')?;
                (k == key).then(|| v.trim().parse().ok()).flatten()
            })
        })
        .unwrap_or(0)
}

/// v1 `blkio.throttle.io_service_bytes`: `MAJ:MIN Read N` / `MAJ:MIN Write N` lines.
fn blkio_v1(dir: &Option<PathBuf>) -> (u64, u64) {
    let text = dir
        .as_ref()
        .and_then(|d| std::fs::read_to_string(d.join("blkio.throttle.io_service_bytes")).ok())
        .unwrap_or_default();
    let mut totals = (0, 0);
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [_, op, value] = fields.as_slice() {
            let value: u64 = value.parse().unwrap_or(0);
            match *op {
                "Read" => totals.0 += value,
                "Write" => totals.1 += value,
                _ => {}
            }
        }
    }
    totals
}

/// v2 `io.stat`: `MAJ:MIN rbytes=N wbytes=N ...` lines.
fn io_v2(dir: &Option<PathBuf>) -> (u64, u64) {
    let text = dir
        .as_ref()
        .and_then(|d| std::fs::read_to_string(d.join("io.stat")).ok())
        .unwrap_or_default();
    let mut totals = (0, 0);
    for field in text.split_whitespace() {
        if let Some(n) = field.strip_prefix("rbytes=") {
            totals.0 += n.parse::<u64>().unwrap_or(0);
        } else if let Some(n) = field.strip_prefix("wbytes=") {
            totals.1 += n.parse::<u64>().unwrap_or(0);
        }
    }
    totals
}

/// Bytes received and sent on a network namespace's interfaces but loopback
/// (`/proc/PID/net/dev`).
fn network_io(pid: i32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
    let mut totals = (0, 0);
    for line in text.lines().skip(2) {
        let Some((interface, counters)) = line.split_once(':') else {
            continue;
        };
        if interface.trim() == "lo" {
            continue;
        }
        let fields: Vec<u64> = counters
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        if fields.len() > 8 {
            totals.0 += fields[0];
            totals.1 += fields[8];
        }
    }
    totals
}

/// The host's memory, for containers without a limit.
fn host_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

impl StatsSample {
    /// CPU use between `previous` and this reading, as a percentage of one CPU; since the
    /// start without a previous reading.
    pub fn cpu_percent(&self, previous: Option<&StatsSample>) -> f64 {
        let (cpu, since) = match previous {
            Some(p) => (self.cpu_nanos.saturating_sub(p.cpu_nanos), p.taken),
            None => (self.cpu_nanos, self.started.unwrap_or(self.taken)),
        };
        let wall = (self.taken - since).num_nanoseconds().unwrap_or(0);
        if wall <= 0 {
            return 0.0;
        }
        cpu as f64 / wall as f64 * 100.0
    }

    /// CPU use over the container's whole run.
    pub fn average_cpu_percent(&self) -> f64 {
        self.cpu_percent(None)
    }

    pub fn memory_percent(&self) -> f64 {
        if self.memory_limit == 0 {
            0.0
        } else {
            self.memory_usage as f64 / self.memory_limit as f64 * 100.0
        }
    }
}

/// Go's `units.HumanSize`: decimal units, four significant digits (`36.86kB`).
pub fn go_human_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit + 1 < UNITS.len() {
        size /= 1000.0;
        unit += 1;
    }
    // %.4g: four significant digits, trailing zeros dropped.
    let digits = if size >= 100.0 {
        1
    } else if size >= 10.0 {
        2
    } else {
        3
    };
    let text = format!("{size:.digits$}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{}", UNITS[unit])
}

/// Go's `time.Duration.String()`: `27.443229ms`, `1.5s`, `2m3.5s`, `0s`.
pub fn go_duration_text(nanos: u64) -> String {
    let fraction = |value: u64, scale: u64| {
        let whole = value / scale;
        let rest = value % scale;
        if rest == 0 {
            whole.to_string()
        } else {
            let width = scale.ilog10() as usize;
            let digits = format!("{rest:0width$}");
            format!("{whole}.{}", digits.trim_end_matches('0'))
        }
    };
    match nanos {
        0 => "0s".into(),
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => format!("{}µs", fraction(n, 1_000)),
        n if n < 1_000_000_000 => format!("{}ms", fraction(n, 1_000_000)),
        n => {
            let (hours, rest) = (n / 3_600_000_000_000, n % 3_600_000_000_000);
            let (minutes, rest) = (rest / 60_000_000_000, rest % 60_000_000_000);
            let seconds = format!("{}s", fraction(rest, 1_000_000_000));
            match (hours, minutes) {
                (0, 0) => seconds,
                (0, m) => format!("{m}m{seconds}"),
                (h, m) => format!("{h}h{m}m{seconds}"),
            }
        }
    }
}

impl StatsSample {
    /// The values `stats --format` templates and `--format json` see, with Podman's names
    /// (and its `--` for what is zero); `previous` is the last reading of the same container.
    pub fn podman_values(&self, previous: Option<&StatsSample>) -> serde_json::Value {
        let percent = |value: f64| {
            if value == 0.0 || !value.is_finite() {
                "--".to_string()
            } else {
                format!("{value:.2}%")
            }
        };
        let pair = |a: u64, b: u64| {
            if a == 0 && b == 0 {
                "--".to_string()
            } else {
                format!("{} / {}", go_human_size(a), go_human_size(b))
            }
        };
        let up = self
            .started
            .map(|s| (self.taken - s).num_nanoseconds().unwrap_or(0).max(0) as u64)
            .unwrap_or(0);
        serde_json::json!({
            "ID": self.id.chars().take(12).collect::<String>(),
            "Name": self.name,
            "CPUPerc": percent(self.cpu_percent(previous)),
            "AVGCPU": percent(self.average_cpu_percent()),
            "CPU": go_duration_text(self.cpu_nanos),
            "MemUsage": pair(self.memory_usage, self.memory_limit),
            "MemUsageBytes": format!("{} / {}", self.memory_usage, self.memory_limit),
            "MemPerc": percent(self.memory_percent()),
            "NetIO": pair(self.net_input, self.net_output),
            "BlockIO": pair(self.block_input, self.block_output),
            "PIDS": if self.pids == 0 { "--".to_string() } else { self.pids.to_string() },
            "UpTime": go_duration_text(up),
        })
    }

    /// The object `stats --format json` prints for one container, Podman's keys.
    pub fn podman_json(&self, previous: Option<&StatsSample>) -> serde_json::Value {
        let values = self.podman_values(previous);
        serde_json::json!({
            "id": values["ID"],
            "name": values["Name"],
            "cpu_time": values["CPU"],
            "cpu_percent": values["CPUPerc"],
            "avg_cpu": values["AVGCPU"],
            "mem_usage": values["MemUsage"],
            "mem_usage_bytes": values["MemUsageBytes"],
            "mem_percent": values["MemPerc"],
            "net_io": values["NetIO"],
            "block_io": values["BlockIO"],
            "pids": values["PIDS"],
            "up_time": values["UpTime"],
        })
    }
}

impl Engine {
    /// `stats`: a reading of each running container named (all running ones when none are).
    /// Podman's error for a container that is not running.
    pub fn container_stats(&self, names: &[String]) -> Result<Vec<StatsSample>, EngineError> {
        let records = if names.is_empty() {
            let mut running = Vec::new();
            for record in self.containers.list()? {
                let record = self.refresh(record)?;
                if record.state == State::Running {
                    running.push(record);
                }
            }
            running
        } else {
            let mut found = Vec::new();
            for name in names {
                let record = self.refresh(self.containers.lookup(name)?)?;
                if record.state != State::Running {
                    return Err(EngineError::InvalidState(format!(
                        "container {} is not running",
                        record.name
                    )));
                }
                found.push(record);
            }
            found
        };
        if !records.is_empty() && !self.cgroups_usable() {
            return Err(EngineError::InvalidArgument(
                "stats is not supported in rootless mode without cgroups v2".into(),
            ));
        }
        let unified = self.cgroup == crate::options::CgroupMode::Unified;
        let host = host_memory();
        let mut samples = Vec::new();
        for record in records {
            let text =
                std::fs::read_to_string(format!("/proc/{}/cgroup", record.pid)).unwrap_or_default();
            let files = CgroupFiles::from_cgroup_file(
                &text,
                &record.id,
                Path::new("/sys/fs/cgroup"),
                unified,
            );
            let (cpu, usage, limit, pids, block_in, block_out) =
                files.map(|f| f.read()).unwrap_or_default();
            let (net_in, net_out) = network_io(record.pid);
            samples.push(StatsSample {
                id: record.id,
                name: record.name,
                started: record.started_at,
                taken: Utc::now(),
                cpu_nanos: cpu,
                memory_usage: usage,
                memory_limit: if limit == 0 || limit > host {
                    host
                } else {
                    limit
                },
                pids,
                net_input: net_in,
                net_output: net_out,
                block_input: block_in,
                block_output: block_out,
            });
        }
        Ok(samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, file: &str, text: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(file), text).unwrap();
    }

    #[test]
    fn v1_counters_come_from_each_controller() {
        let base = std::env::temp_dir().join(format!("skiff-stats-v1-{}", std::process::id()));
        let text = "12:cpu,cpuacct:/skiff/abc\n9:memory:/skiff/abc\n5:pids:/skiff/abc\n3:blkio:/skiff/abc\n0::/user.slice\n";
        let files = CgroupFiles::from_cgroup_file(text, "abc", &base, false).unwrap();
        write(
            &base.join("cpu,cpuacct/skiff/abc"),
            "cpuacct.usage",
            "1500\n",
        );
        let memory = base.join("memory/skiff/abc");
        write(&memory, "memory.usage_in_bytes", "3000\n");
        write(
            &memory,
            "memory.stat",
            "cache 5\ntotal_inactive_file 1000\n",
        );
        write(&memory, "memory.limit_in_bytes", "9223372036854771712\n");
        write(&base.join("pids/skiff/abc"), "pids.current", "2\n");
        write(
            &base.join("blkio/skiff/abc"),
            "blkio.throttle.io_service_bytes",
            "8:0 Read 4096\n8:0 Write 512\n8:0 Total 4608\nTotal 4608\n",
        );
        assert_eq!(files.read(), (1500, 2000, 0, 2, 4096, 512));
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn v2_counters_come_from_the_one_cgroup() {
        let base = std::env::temp_dir().join(format!("skiff-stats-v2-{}", std::process::id()));
        let text = "0::/skiff/abc\n";
        let files = CgroupFiles::from_cgroup_file(text, "abc", &base, true).unwrap();
        assert_eq!(files, CgroupFiles::V2(base.join("skiff/abc")));
        let dir = base.join("skiff/abc");
        write(&dir, "cpu.stat", "usage_usec 7\nuser_usec 5\n");
        write(&dir, "memory.current", "8192\n");
        write(&dir, "memory.stat", "anon 4096\ninactive_file 4096\n");
        write(&dir, "memory.max", "max\n");
        write(&dir, "pids.current", "3\n");
        write(
            &dir,
            "io.stat",
            "8:0 rbytes=100 wbytes=20 rios=1 wios=1\n8:16 rbytes=1 wbytes=2\n",
        );
        assert_eq!(files.read(), (7000, 4096, 0, 3, 101, 22));
        let _ = std::fs::remove_dir_all(&base);
        // A session cgroup is never the container's.
        assert!(
            CgroupFiles::from_cgroup_file("0::/user.slice/session-1.scope\n", "abc", &base, true)
                .is_none()
        );
    }

    #[test]
    fn sizes_and_durations_print_as_go_does() {
        assert_eq!(go_human_size(0), "0B");
        assert_eq!(go_human_size(36_864), "36.86kB");
        assert_eq!(go_human_size(33_510_000_000), "33.51GB");
        assert_eq!(go_human_size(2_000_000), "2MB");
        assert_eq!(go_human_size(123_456_789), "123.5MB");
        assert_eq!(go_duration_text(27_443_229), "27.443229ms");
        assert_eq!(go_duration_text(1_500_000_000), "1.5s");
        assert_eq!(go_duration_text(123_500_000_000), "2m3.5s");
        assert_eq!(go_duration_text(0), "0s");
    }

    #[test]
    fn cpu_percent_is_between_two_readings() {
        let start = Utc::now();
        let first = StatsSample {
            started: Some(start),
            taken: start + chrono::Duration::seconds(2),
            cpu_nanos: 1_000_000_000,
            ..Default::default()
        };
        assert!((first.cpu_percent(None) - 50.0).abs() < 1e-9);
        let second = StatsSample {
            taken: first.taken + chrono::Duration::seconds(1),
            cpu_nanos: 1_250_000_000,
            ..first.clone()
        };
        assert!((second.cpu_percent(Some(&first)) - 25.0).abs() < 1e-9);
        let memory = StatsSample {
            memory_usage: 25,
            memory_limit: 100,
            ..Default::default()
        };
        assert_eq!(memory.memory_percent(), 25.0);
    }
}
