//! Log lines on stderr, as Podman writes them (logrus's text format), filtered by the global
//! `--log-level`: `WARN[0000] message` on a terminal, `time="..." level=warning msg="..."`
//! elsewhere. Warnings show by default; `--log-level debug` shows what skiff is doing.
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

/// Logrus's levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    Panic = 0,
    Fatal,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// The names `--log-level` accepts, as Podman lists them.
pub const LEVEL_NAMES: [&str; 8] = [
    "trace", "debug", "info", "warn", "warning", "error", "fatal", "panic",
];

static LEVEL: AtomicU8 = AtomicU8::new(Level::Warn as u8);

impl Level {
    pub fn parse(name: &str) -> Option<Level> {
        Some(match name {
            "trace" => Level::Trace,
            "debug" => Level::Debug,
            "info" => Level::Info,
            "warn" | "warning" => Level::Warn,
            "error" => Level::Error,
            "fatal" => Level::Fatal,
            "panic" => Level::Panic,
            _ => return None,
        })
    }

    /// The name in a `level=` field.
    pub fn name(self) -> &'static str {
        match self {
            Level::Panic => "panic",
            Level::Fatal => "fatal",
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        }
    }

    /// The four letters a terminal line starts with.
    fn short(self) -> &'static str {
        match self {
            Level::Panic => "PANI",
            Level::Fatal => "FATA",
            Level::Error => "ERRO",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBU",
            Level::Trace => "TRAC",
        }
    }
}

/// Shows lines at `level` and above from now on (the process's `--log-level`, set at its
/// start, from when a terminal line counts its seconds).
pub fn set_level(level: Level) {
    started();
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether a line at `level` is shown.
pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// When this process started logging: a terminal line counts seconds from it, as logrus does.
fn started() -> Instant {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// Writes one line at `level`, when that level is shown.
pub fn log(level: Level, message: std::fmt::Arguments) {
    if !enabled(level) {
        return;
    }
    let message = message.to_string();
    let stderr = std::io::stderr();
    let line = if stderr.is_terminal() {
        format!(
            "{}[{:04}] {message}\n",
            level.short(),
            started().elapsed().as_secs()
        )
    } else {
        text_line(
            &chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            level,
            &message,
        )
    };
    // One write per line, so lines of several processes do not interleave.
    let _ = stderr.lock().write_all(line.as_bytes());
}

/// Logrus's text format away from a terminal.
fn text_line(time: &str, level: Level, message: &str) -> String {
    format!(
        "time=\"{time}\" level={} msg={}\n",
        level.name(),
        quoted(message)
    )
}

/// A value as logrus writes it: bare when it is one plain word, else in Go's quotes.
fn quoted(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c));
    if plain {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `warn!("...", args)`: a line at warning level (shown unless `--log-level` is above it).
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Warn, format_args!($($arg)*)) };
}

/// `info!("...", args)`: a line at info level.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Info, format_args!($($arg)*)) };
}

/// `debug!("...", args)`: a line at debug level; its arguments are formatted only when shown.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Debug, format_args!($($arg)*)) };
}

/// `trace!("...", args)`: a line at trace level.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Trace, format_args!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_podman_accepts_is_a_level() {
        for name in LEVEL_NAMES {
            assert!(Level::parse(name).is_some(), "{name}");
        }
        assert_eq!(Level::parse("telepathic"), None);
        assert_eq!(Level::parse("warn"), Level::parse("warning"));
        assert!(Level::Debug > Level::Info && Level::Warn > Level::Error);
    }

    #[test]
    fn lines_away_from_a_terminal_are_logrus_text() {
        assert_eq!(
            text_line("2026-12-07T21:14:11Z", Level::Warn, "a \"quoted\" word"),
            "time=\"2026-12-07T21:14:11Z\" level=warning msg=\"a \\\"quoted\\\" word\"\n"
        );
        assert_eq!(
            text_line("T", Level::Debug, "plain"),
            "time=\"T\" level=debug msg=plain\n"
        );
        assert_eq!(quoted(""), "\"\"");
        assert_eq!(quoted("two\nlines\\"), "\"two\\nlines\\\\\"");
    }

    #[test]
    fn the_level_filters_what_is_shown() {
        // The process-wide level: this test alone changes it.
        set_level(Level::Info);
        assert!(enabled(Level::Warn) && enabled(Level::Info) && !enabled(Level::Debug));
        set_level(Level::Trace);
        assert!(enabled(Level::Trace));
        set_level(Level::Warn);
        assert!(!enabled(Level::Info));
    }
}
