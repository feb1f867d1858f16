//! `top`: the processes of a running container, read from /proc as Podman's psgo does, with
//! its descriptors (`pid user args`...) and its column names. PIDs are the container's own and
//! user names come from the container's /etc/passwd and /etc/group.
use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use chrono::Utc;
use skiff_storage::beneath::read_in_root;

use super::store::State;
use crate::engine::Engine;
use crate::error::EngineError;

/// `top`'s default descriptors, as in Podman.
pub const DEFAULT_DESCRIPTORS: &[&str] = &[
    "user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args",
];

const DESCRIPTORS: &[(&str, &str)] = &[
    ("args", "COMMAND"),
    ("capamb", "AMBIENT CAPS"),
    ("capbnd", "BOUNDING CAPS"),
    ("capeff", "EFFECTIVE CAPS"),
    ("capinh", "INHERITED CAPS"),
    ("capprm", "PERMITTED CAPS"),
    ("comm", "COMMAND"),
    ("etime", "ELAPSED"),
    ("gid", "GID"),
    ("group", "GROUP"),
    ("hgroup", "HGROUP"),
    ("hpid", "HPID"),
    ("huser", "HUSER"),
    ("label", "LABEL"),
    ("nice", "NI"),
    ("pcpu", "%CPU"),
    ("pgid", "PGID"),
    ("pid", "PID"),
    ("ppid", "PPID"),
    ("rgroup", "RGROUP"),
    ("rss", "RSS"),
    ("ruser", "RUSER"),
    ("seccomp", "SECCOMP"),
    ("state", "STATE"),
    ("stime", "STIME"),
    ("time", "TIME"),
    ("tty", "TTY"),
    ("uid", "UID"),
    ("user", "USER"),
    ("vsz", "VSZ"),
];

/// `top`'s output: a header and one row per process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl ProcessTable {
    /// Columns as Go's tabwriter lays them out for Podman (at least 12 wide, 2 apart).
    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths = vec![0usize; columns];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (index, cell) in row.iter().enumerate() {
                widths[index] = widths[index].max(cell.chars().count() + 2).max(12);
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (index, cell) in row.iter().enumerate() {
                if index + 1 == columns {
                    out.push_str(cell);
                } else {
                    out.push_str(&format!("{cell:<width$}", width = widths[index]));
                }
            }
            out.push('\n');
        }
        out
    }
}

/// What /proc says about one process.
struct Process {
    host_pid: i32,
    pid: i32,
    ppid: i32,
    pgid: i32,
    tty: i32,
    cpu_ticks: u64,
    nice: i64,
    start_ticks: u64,
    vsz_kib: u64,
    rss_kib: u64,
    uids: (u32, u32),
    gids: (u32, u32),
    /// `R`, `S`, `D`, `Z`...
    state: String,
    /// CapAmb, CapBnd, CapEff, CapInh, CapPrm.
    capabilities: [u64; 5],
    /// 0 disabled, 1 strict, 2 filter.
    seccomp: u8,
    comm: String,
    args: String,
}

impl Process {
    fn read(host_pid: i32) -> Option<Process> {
        let stat = std::fs::read_to_string(format!("/proc/{host_pid}/stat")).ok()?;
        let open = stat.find('(')?;
        let close = stat.rfind(')')?;
        let comm = stat[open + 1..close].to_string();
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        let field = |n: usize| {
            fields
                .get(n - 3)
                .and_then(|f| f.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let status = std::fs::read_to_string(format!("/proc/{host_pid}/status")).ok()?;
        let ids = |key: &str| {
            let values: Vec<u32> = status
                .lines()
                .find_map(|l| l.strip_prefix(key))?
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            Some((*values.first()?, *values.get(1)?))
        };
        // NSpid: the PID in each namespace, innermost last.
        let pid = status
            .lines()
            .find_map(|l| l.strip_prefix("NSpid:"))
            .and_then(|v| v.split_whitespace().last()?.parse().ok())
            .unwrap_or(host_pid);
        let cmdline = std::fs::read(format!("/proc/{host_pid}/cmdline")).unwrap_or_default();
        let args = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let page_kib = 4;
        let value = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        let mask = |key: &str| u64::from_str_radix(&value(key), 16).unwrap_or(0);
        Some(Process {
            host_pid,
            pid,
            ppid: field(4) as i32,
            pgid: field(5) as i32,
            tty: field(7) as i32,
            cpu_ticks: (field(14) + field(15)) as u64,
            nice: field(19),
            start_ticks: field(22) as u64,
            vsz_kib: field(23) as u64 / 1024,
            rss_kib: field(24) as u64 * page_kib,
            uids: ids("Uid:")?,
            gids: ids("Gid:")?,
            state: fields.first().map(|f| f.to_string()).unwrap_or_default(),
            capabilities: ["CapAmb:", "CapBnd:", "CapEff:", "CapInh:", "CapPrm:"].map(mask),
            seccomp: value("Seccomp:").parse().unwrap_or(0),
            args: if args.is_empty() {
                format!("[{comm}]")
            } else {
                args
            },
            comm,
        })
    }
}

impl Engine {
    /// The processes of a running container, with the given descriptors (none: the default).
    pub fn top_container(
        &self,
        name_or_id: &str,
        descriptors: &[String],
    ) -> Result<ProcessTable, EngineError> {
        let descriptors: Vec<String> = if descriptors.is_empty() {
            DEFAULT_DESCRIPTORS.iter().map(|d| d.to_string()).collect()
        } else {
            // Podman accepts `pid,user` as well as `pid user`.
            descriptors
                .iter()
                .flat_map(|d| d.split(','))
                .filter(|d| !d.is_empty())
                .map(str::to_string)
                .collect()
        };
        let mut header = Vec::new();
        for descriptor in &descriptors {
            let Some((_, name)) = DESCRIPTORS.iter().find(|(d, _)| d == descriptor) else {
                return Err(EngineError::InvalidArgument(format!(
                    "unknown descriptor: {descriptor} (known: {})",
                    DESCRIPTORS
                        .iter()
                        .map(|(d, _)| *d)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            header.push(name.to_string());
        }
        let record = self.refresh(self.containers.lookup(name_or_id)?)?;
        if record.state != State::Running {
            return Err(EngineError::InvalidState(format!(
                "top can only be used on running containers: {} is {}",
                record.name,
                record.state.as_str()
            )));
        }
        let namespace = std::fs::read_link(format!("/proc/{}/ns/pid", record.pid))
            .map_err(|e| EngineError::InvalidState(format!("container {}: {e}", record.name)))?;
        let mut processes: Vec<Process> = std::fs::read_dir("/proc")
            .map_err(|e| EngineError::InvalidState(format!("/proc: {e}")))?
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                std::fs::read_link(format!("/proc/{pid}/ns/pid")).is_ok_and(|ns| ns == namespace)
            })
            .filter_map(Process::read)
            .collect();
        processes.sort_by_key(|p| p.pid);
        // Parents as the container sees them; the init's parent is outside: 0.
        let in_container: HashMap<i32, i32> =
            processes.iter().map(|p| (p.host_pid, p.pid)).collect();
        for process in &mut processes {
            process.ppid = in_container.get(&process.ppid).copied().unwrap_or(0);
        }
        let names = Names::of_container(record.pid);
        let host_names = Names::of_host();
        let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .unwrap_or(100) as f64;
        let boot = boot_time();
        let now = Utc::now().timestamp_millis() as f64 / 1000.0;
        let rows = processes
            .iter()
            .map(|p| {
                let started = boot + p.start_ticks as f64 / ticks;
                let elapsed = (now - started).max(0.0);
                let cpu = p.cpu_ticks as f64 / ticks;
                descriptors
                    .iter()
                    .map(|d| match d.as_str() {
                        "args" => p.args.clone(),
                        "capamb" => capability_names(p.capabilities[0]),
                        "capbnd" => capability_names(p.capabilities[1]),
                        "capeff" => capability_names(p.capabilities[2]),
                        "capinh" => capability_names(p.capabilities[3]),
                        "capprm" => capability_names(p.capabilities[4]),
                        "comm" => p.comm.clone(),
                        "hgroup" => host_names.group(p.gids.1),
                        "hpid" => p.host_pid.to_string(),
                        "huser" => host_names.user(p.uids.1),
                        "label" => process_label(p.host_pid),
                        "seccomp" => ["disabled", "strict", "filter"]
                            .get(usize::from(p.seccomp))
                            .unwrap_or(&"?")
                            .to_string(),
                        "state" => p.state.clone(),
                        // Go's time.Time.String(), in UTC.
                        "stime" => chrono::DateTime::from_timestamp(started as i64, 0)
                            .map(|t| t.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string())
                            .unwrap_or_default(),
                        "etime" => go_duration(elapsed),
                        "gid" => p.gids.1.to_string(),
                        "group" => names.group(p.gids.1),
                        "nice" => p.nice.to_string(),
                        "pcpu" => format!(
                            "{:.3}",
                            if elapsed > 0.0 {
                                cpu / elapsed * 100.0
                            } else {
                                0.0
                            }
                        ),
                        "pgid" => p.pgid.to_string(),
                        "pid" => p.pid.to_string(),
                        "ppid" => p.ppid.to_string(),
                        "rgroup" => names.group(p.gids.0),
                        "rss" => p.rss_kib.to_string(),
                        "ruser" => names.user(p.uids.0),
                        "time" => go_duration(cpu.floor()),
                        "tty" => tty_name(p.tty),
                        "uid" => p.uids.1.to_string(),
                        "user" => names.user(p.uids.1),
                        "vsz" => p.vsz_kib.to_string(),
                        _ => String::new(),
                    })
                    .collect()
            })
            .collect();
        Ok(ProcessTable { header, rows })
    }
}

/// User and group names from the container's own files.
struct Names {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

impl Names {
    fn of_container(pid: i32) -> Names {
        Self::in_root(File::open(format!("/proc/{pid}/root")).ok())
    }

    /// The host's users and groups (`huser`, `hgroup`).
    fn of_host() -> Names {
        Self::in_root(File::open("/").ok())
    }

    fn in_root(root: Option<File>) -> Names {
        let table = |path: &str| -> HashMap<u32, String> {
            let Some(root) = &root else {
                return HashMap::new();
            };
            read_in_root(root, Path::new(path))
                .lines()
                .filter_map(|line| {
                    let fields: Vec<&str> = line.split(':').collect();
                    Some((fields.get(2)?.parse().ok()?, fields.first()?.to_string()))
                })
                .collect()
        };
        Names {
            users: table("/etc/passwd"),
            groups: table("/etc/group"),
        }
    }
    fn user(&self, uid: u32) -> String {
        self.users
            .get(&uid)
            .cloned()
            .unwrap_or_else(|| uid.to_string())
    }
    fn group(&self, gid: u32) -> String {
        self.groups
            .get(&gid)
            .cloned()
            .unwrap_or_else(|| gid.to_string())
    }
}

/// A capability set as psgo names it: `full`, `none`, or the names (`CHOWN,KILL`).
fn capability_names(mask: u64) -> String {
    let known = skiff_spec::ALL_CAPABILITIES;
    let full = (1u64 << known.len()) - 1;
    if mask & full == full {
        return "full".into();
    }
    let names: Vec<&str> = known
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1 << bit) != 0)
        .map(|(_, name)| name.trim_start_matches("CAP_"))
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(",")
    }
}

/// The process's security label (SELinux, AppArmor); `-` without one.
fn process_label(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/attr/current"))
        .map(|l| l.trim_end_matches(['\0', '\n']).to_string())
        .ok()
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "-".into())
}

fn boot_time() -> f64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

/// `pts/0`, or `?` without a terminal (tty_nr: major in bits 8-15, minor in 0-7 and 20-31).
fn tty_name(tty_nr: i32) -> String {
    if tty_nr == 0 {
        return "?".into();
    }
    let major = (tty_nr >> 8) & 0xfff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    match major {
        136..=143 => format!("pts/{}", minor + (major - 136) * 256),
        4 => format!("tty{minor}"),
        _ => "?".into(),
    }
}

/// Go's Duration.String for whole or fractional seconds: `0s`, `1.5s`, `2m3s`, `1h0m5s`.
fn go_duration(seconds: f64) -> String {
    if seconds <= 0.0 {
        return "0s".into();
    }
    let whole = seconds.trunc() as u64;
    let (hours, minutes) = (whole / 3600, (whole % 3600) / 60);
    let rest = seconds - (hours * 3600 + minutes * 60) as f64;
    let secs = format!("{rest:.9}");
    let secs = secs.trim_end_matches('0').trim_end_matches('.');
    match (hours, minutes) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m{secs}s"),
        (h, m) => format!("{h}h{m}m{secs}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        assert_eq!(go_duration(0.0), "0s");
        assert_eq!(go_duration(1.5), "1.5s");
        assert_eq!(go_duration(123.0), "2m3s");
        assert_eq!(go_duration(3605.25), "1h0m5.25s");
    }

    #[test]
    fn terminals_are_named() {
        assert_eq!(tty_name(0), "?");
        assert_eq!(tty_name(136 << 8), "pts/0");
        assert_eq!(tty_name((136 << 8) | 5), "pts/5");
    }

    #[test]
    fn tables_align_like_tabwriter() {
        let table = ProcessTable {
            header: vec!["PID".into(), "COMMAND".into()],
            rows: vec![vec!["1".into(), "sleep 1000".into()]],
        };
        assert_eq!(
            table.render(),
            "PID         COMMAND\n1           sleep 1000\n"
        );
    }

    #[test]
    fn capability_sets_are_named_as_psgo_names_them() {
        assert_eq!(capability_names(0), "none");
        assert_eq!(capability_names(u64::MAX), "full");
        assert_eq!(capability_names(0b1 | 1 << 5), "CHOWN,KILL");
    }
}
