//! The contract between a starting `skiff` and the monitor, over a pipe, one line a message:
//! `started <pid>` or `error <exit code> <message>` once the container runs or failed, then
//! `exited <code>` after the container exited and was cleaned up.
use alloc::string::{String, ToString};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncMessage {
    Started(i32),
    Error(i32, String),
    Exited(i32),
}

impl SyncMessage {
    pub fn encode(&self) -> String {
        match self {
            SyncMessage::Started(pid) => alloc::format!("started {pid}\n"),
            SyncMessage::Error(code, message) => {
                alloc::format!("error {code} {}\n", message.replace('\n', " "))
            }
            SyncMessage::Exited(code) => alloc::format!("exited {code}\n"),
        }
    }

    pub fn decode(line: &str) -> Option<Self> {
        let (kind, rest) = line.trim_end().split_once(' ')?;
        match kind {
            "started" => rest.parse().ok().map(SyncMessage::Started),
            "exited" => rest.parse().ok().map(SyncMessage::Exited),
            "error" => {
                let (code, message) = rest.split_once(' ').unwrap_or((rest, ""));
                Some(SyncMessage::Error(code.parse().ok()?, message.to_string()))
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
            SyncMessage::Exited(3),
            SyncMessage::Error(127, "not found\nhere".into()),
        ] {
            let decoded = SyncMessage::decode(&message.encode()).unwrap();
            if let SyncMessage::Error(code, text) = decoded {
                assert_eq!((code, text.as_str()), (127, "not found here"));
            } else {
                assert_eq!(decoded, message);
            }
        }
    }
}
