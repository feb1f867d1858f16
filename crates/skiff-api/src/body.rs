//! Response bodies: whole (JSON, text) or streamed from a channel (logs, events, pulls).
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::{Body as HttpBody, Frame};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;
use tokio::sync::mpsc;

pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// How many chunks a streaming body buffers before its producer waits.
const CHANNEL_DEPTH: usize = 64;

pub fn empty() -> Body {
    http_body_util::Empty::new().boxed_unsync()
}

pub fn full(bytes: impl Into<Bytes>) -> Body {
    http_body_util::Full::new(bytes.into()).boxed_unsync()
}

/// A response with `status` and no body.
pub fn status(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(empty());
    *response.status_mut() = status;
    response
}

/// `value` as a JSON response.
pub fn json(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    let mut text = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    text.push(b'\n');
    with_type(status, full(text), "application/json")
}

pub fn with_type(status: StatusCode, body: Body, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// One message of Docker's progress streams (pull, push, build): JSON and a CRLF.
pub fn json_line(value: serde_json::Value) -> Bytes {
    let mut text = value.to_string();
    text.push_str("\r\n");
    Bytes::from(text)
}

/// The message that ends a progress stream in failure, once its status went out as 200.
pub fn error_line(message: &str) -> Bytes {
    json_line(serde_json::json!({"errorDetail": {"message": message}, "error": message}))
}

/// A body whose chunks a task sends; it ends when the sender is dropped. A send fails once
/// the client went away: the producer stops then.
pub fn channel() -> (mpsc::Sender<Bytes>, Body) {
    let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
    (sender, ChannelBody { receiver }.boxed_unsync())
}

struct ChannelBody {
    receiver: mpsc::Receiver<Bytes>,
}

impl HttpBody for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.receiver
            .poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}

/// A socket pair for a helper's stdio: the helper's end, and ours for the runtime.
pub fn socket_pair() -> Result<(std::process::Stdio, tokio::net::UnixStream), crate::ApiError> {
    let fail = |e: std::io::Error| crate::ApiError::internal(format!("socket pair: {e}"));
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(fail)?;
    ours.set_nonblocking(true).map_err(fail)?;
    Ok((
        std::process::Stdio::from(std::os::fd::OwnedFd::from(theirs)),
        tokio::net::UnixStream::from_std(ours).map_err(fail)?,
    ))
}

/// Docker's multiplexed stream: each chunk behind an 8-byte header naming its stream (0
/// stdin, 1 stdout, 2 stderr) and its length, big-endian.
pub fn frame(stream: u8, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(8 + data.len());
    out.extend_from_slice(&[stream, 0, 0, 0]);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_stream_and_big_endian_length() {
        assert_eq!(
            frame(2, b"oops\n").as_ref(),
            b"\x02\x00\x00\x00\x00\x00\x00\x05oops\n"
        );
        assert_eq!(frame(1, &[]).as_ref(), b"\x01\x00\x00\x00\x00\x00\x00\x00");
    }
}
