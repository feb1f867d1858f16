//! WebSocket (RFC 6455), as a browser's terminal speaks it: the handshake's answer, and a
//! bridge that carries a byte stream over the upgraded connection as binary messages, so the
//! pumps that serve Docker's hijacked connections serve a browser unchanged.
use base64::Engine as _;
use hyper::body::Incoming;
use hyper::header::{CONNECTION, HeaderValue, UPGRADE};
use hyper::{Request, Response, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;

use crate::body::{self, Body};
use crate::error::ApiError;

/// RFC 6455's key suffix.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// The largest message taken from a client: keystrokes and pastes, never more.
const MAX_MESSAGE: u64 = 1 << 20;

const CONTINUATION: u8 = 0;
const TEXT: u8 = 1;
const BINARY: u8 = 2;
const CLOSE: u8 = 8;
const PING: u8 = 9;

/// Whether the request is a WebSocket handshake.
pub fn is_handshake(request: &Request<Incoming>) -> bool {
    request
        .headers()
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The `101 Switching Protocols` that completes a WebSocket handshake.
pub fn accept(request: &Request<Incoming>) -> Result<Response<Body>, ApiError> {
    if !is_handshake(request) {
        return Err(ApiError::bad_request(
            "this endpoint speaks WebSocket: it needs Upgrade: websocket",
        ));
    }
    let key = request
        .headers()
        .get("sec-websocket-key")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::bad_request("a WebSocket handshake needs Sec-WebSocket-Key"))?;
    let mut response = body::status(StatusCode::SWITCHING_PROTOCOLS);
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    let accepted = HeaderValue::from_str(&accept_key(key))
        .map_err(|_| ApiError::bad_request("invalid Sec-WebSocket-Key"))?;
    headers.insert("Sec-WebSocket-Accept", accepted);
    Ok(response)
}

fn accept_key(key: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{}{GUID}", key.trim()).as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// A stream whose bytes travel over the WebSocket `connection`: what is written to it goes
/// out as binary messages; the payloads of the client's text and binary messages are read
/// from it. Pings are answered; a close from the client, or the end of what is written, closes.
pub fn bridge<T>(connection: T) -> DuplexStream
where
    T: AsyncRead + AsyncWrite + Send + 'static,
{
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (mut socket_in, mut socket_out) = tokio::io::split(connection);
    let (mut bytes_in, mut bytes_out) = tokio::io::split(ours);
    let (frames, mut outgoing) = mpsc::channel::<Vec<u8>>(64);
    // One writer: data, pongs and the close go out in order.
    tokio::spawn(async move {
        while let Some(frame) = outgoing.recv().await {
            if socket_out.write_all(&frame).await.is_err() {
                break;
            }
            if frame.first() == Some(&(0x80 | CLOSE)) {
                break;
            }
        }
        let _ = socket_out.shutdown().await;
    });
    let replies = frames.clone();
    tokio::spawn(async move {
        while let Ok(Some((opcode, payload))) = read_frame(&mut socket_in).await {
            match opcode {
                TEXT | BINARY | CONTINUATION if bytes_out.write_all(&payload).await.is_err() => {
                    break;
                }
                PING => {
                    let _ = replies.send(frame(0xA, &payload)).await;
                }
                CLOSE => break,
                _ => {}
            }
        }
        // The client is gone or closed: its input ends, and the close is answered.
        let _ = bytes_out.shutdown().await;
        let _ = replies.send(frame(CLOSE, &[])).await;
    });
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 32 * 1024];
        loop {
            match bytes_in.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if frames.send(frame(BINARY, &buffer[..n])).await.is_err() {
                        return;
                    }
                }
            }
        }
        let _ = frames.send(frame(CLOSE, &[])).await;
    });
    theirs
}

/// One frame from the client: its opcode and unmasked payload; None at the end of the
/// connection.
async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 2];
    if reader.read_exact(&mut head).await.is_err() {
        return Ok(None);
    }
    let opcode = head[0] & 0x0f;
    let masked = head[1] & 0x80 != 0;
    let length = match head[1] & 0x7f {
        126 => u64::from(reader.read_u16().await?),
        127 => reader.read_u64().await?,
        short => u64::from(short),
    };
    if length > MAX_MESSAGE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "WebSocket message too large",
        ));
    }
    let mut mask = [0u8; 4];
    if masked {
        reader.read_exact(&mut mask).await?;
    }
    let mut payload = vec![0u8; length as usize];
    reader.read_exact(&mut payload).await?;
    if masked {
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= mask[i % 4];
        }
    }
    Ok(Some((opcode, payload)))
}

/// A whole, unmasked frame (a server's).
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => frame.push(n as u8),
        n if n <= usize::from(u16::MAX) => {
            frame.push(126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(payload);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_key_is_rfc_6455s() {
        // The example of RFC 6455, section 1.3.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[tokio::test]
    async fn frames_are_read_unmasked_and_written_whole() {
        let long = vec![7u8; 300];
        let mut masked = vec![0x82, 0x80 | 126, 1, 44, 1, 2, 3, 4];
        masked.extend(
            long.iter()
                .enumerate()
                .map(|(i, b)| b ^ [1, 2, 3, 4][i % 4]),
        );
        let mut reader = &masked[..];
        assert_eq!(
            read_frame(&mut reader).await.unwrap(),
            Some((BINARY, long.clone()))
        );
        assert_eq!(read_frame(&mut reader).await.unwrap(), None);
        let written = frame(BINARY, &long);
        assert_eq!(&written[..4], &[0x82, 126, 1, 44]);
        assert_eq!(frame(CLOSE, &[]), vec![0x88, 0]);
    }

    #[tokio::test]
    async fn the_bridge_carries_bytes_both_ways_and_answers_pings() {
        let (client, server) = tokio::io::duplex(4096);
        let mut stream = bridge(server);
        let (mut client_in, mut client_out) = tokio::io::split(client);
        // A masked text message "ls\n", then a ping.
        let mut message = vec![0x81, 0x83, 9, 9, 9, 9];
        message.extend(b"ls\n".iter().map(|b| b ^ 9));
        message.extend([0x89, 0x80, 0, 0, 0, 0]);
        client_out.write_all(&message).await.unwrap();
        let mut typed = [0u8; 3];
        stream.read_exact(&mut typed).await.unwrap();
        assert_eq!(&typed, b"ls\n");
        let mut pong = [0u8; 2];
        client_in.read_exact(&mut pong).await.unwrap();
        assert_eq!(pong, [0x8A, 0]);
        stream.write_all(b"out").await.unwrap();
        let mut data = [0u8; 5];
        client_in.read_exact(&mut data).await.unwrap();
        assert_eq!(&data, b"\x82\x03out");
        // The end of the stream closes the connection.
        drop(stream);
        let mut close = [0u8; 2];
        client_in.read_exact(&mut close).await.unwrap();
        assert_eq!(close, [0x88, 0]);
    }
}
