//! Errors as the API answers them: Docker's `{"message": "..."}` with the status of the
//! engine's error kind (mapped once, by `ErrorKind::http_status`).
use hyper::StatusCode;
use skiff_engine::action::ActionError;
use skiff_engine::{EngineError, ErrorKind};

/// A failed request: its HTTP status and Docker's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400: a malformed request (bad JSON, a bad parameter).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    fn of_kind(kind: ErrorKind, message: String) -> Self {
        let status =
            StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // Docker's words for a missing image, which its clients show.
        let message = match message.strip_suffix(": image not known") {
            Some(name) => format!("No such image: {name}"),
            None => message,
        };
        Self { status, message }
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> Self {
        Self::of_kind(error.kind(), error.to_string())
    }
}

impl From<ActionError> for ApiError {
    fn from(error: ActionError) -> Self {
        // Docker's clients tell a program that cannot run (their exit codes 127 and 126) by
        // these words in the message.
        let message = match error.exit_code {
            127 if !error.message.contains("executable file not found") => {
                format!("{}: executable file not found", error.message)
            }
            126 if !error.message.contains("permission denied") => {
                format!("{}: permission denied", error.message)
            }
            _ => error.message,
        };
        Self::of_kind(error.kind, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_map_to_their_kinds_status() {
        let missing = ApiError::from(EngineError::NoSuchContainer("web".into()));
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let conflict = ApiError::from(EngineError::Conflict("busy".into()));
        assert_eq!(conflict.status, StatusCode::CONFLICT);
        let bad = ApiError::from(EngineError::InvalidArgument("--memory: bad".into()));
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad.message, "--memory: bad");
        let image = ApiError::from(EngineError::Image(skiff_engine::ImageError::NotKnown(
            "busybox".into(),
        )));
        assert_eq!(image.status, StatusCode::NOT_FOUND);
        assert_eq!(image.message, "No such image: busybox");
    }
}
