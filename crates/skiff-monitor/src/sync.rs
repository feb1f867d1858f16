//! The contract between a starting `skiff` and the monitor, over a socket pair, one line a
//! message: `started <pid>` or `error <exit code> <kind> <message>` once the container runs or
//! failed (the kind is the engine's error kind, one word, for callers to match on).
//! When the container has ended the monitor says `ended <code>` and waits a moment for an
//! answer: `done` from a `skiff` still there, which has cleaned up itself (it has the engine
//! open already; a fresh cleanup process would start from nothing) as far as moving files
//! into the trash, which the monitor's cleanup then empties (`EMPTY_TRASH`) while that `skiff`
//! returns; or anything else, the end of the stream or silence, and the monitor's cleanup does
//! it all and then says `exited <code>`.
use alloc::string::{String, ToString};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncMessage {
    Started(i32),
    Error {
        code: i32,
        kind: String,
        message: String,
    },
    Ended(i32),
    Exited(i32),
}

/// The starting `skiff`'s answer to `ended`: it recorded the exit and cleaned up.
pub const CLEANED_UP: &[u8] = b"done\n";

/// What the monitor gives its cleanup program in place of the exit code after `done`.
pub const EMPTY_TRASH: &str = "empty-trash";

impl SyncMessage {
    pub fn encode(&self) -> String {
        match self {
            SyncMessage::Started(pid) => alloc::format!("started {pid}\n"),
            SyncMessage::Error {
                code,
                kind,
                message,
            } => alloc::format!(
                "error {code} {} {}\n",
                kind.replace([' ', '\n'], "_"),
                message.replace('\n', " ")
            ),
            SyncMessage::Ended(code) => alloc::format!("ended {code}\n"),
            SyncMessage::Exited(code) => alloc::format!("exited {code}\n"),
        }
    }

    pub fn decode(line: &str) -> Option<Self> {
        let (kind, rest) = line.trim_end().split_once(' ')?;
        match kind {
            "started" => rest.parse().ok().map(SyncMessage::Started),
            "ended" => rest.parse().ok().map(SyncMessage::Ended),
            "exited" => rest.parse().ok().map(SyncMessage::Exited),
            "error" => {
                let (code, rest) = rest.split_once(' ').unwrap_or((rest, ""));
                let (kind, message) = rest.split_once(' ').unwrap_or((rest, ""));
                Some(SyncMessage::Error {
                    code: code.parse().ok()?,
                    kind: kind.to_string(),
                    message: message.to_string(),
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        for message in [
            SyncMessage::Started(42),
            SyncMessage::Ended(4),
            SyncMessage::Exited(3),
            SyncMessage::Error {
                code: 127,
                kind: "runtime".into(),
                message: "not found\nhere".into(),
            },
        ] {
            let decoded = SyncMessage::decode(&message.encode()).unwrap();
            if let SyncMessage::Error {
                code,
                kind,
                message,
            } = decoded
            {
                assert_eq!(
                    (code, kind.as_str(), message.as_str()),
                    (127, "runtime", "not found here")
                );
            } else {
                assert_eq!(decoded, message);
            }
        }
    }
}
