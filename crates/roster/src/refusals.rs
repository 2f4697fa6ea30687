//! hyper answers a request it cannot parse (a URI over 64 KiB: 414; a byte no header may
//! hold: 400; headers past its limit: 431) by itself, before any route runs, with an empty
//! body. [`Refusals`] wraps a connection's stream and rewrites such an answer into the JSON
//! refusal of the dialect the request's path belongs to ([`Wire::http_refusal`]), roster's
//! own envelope elsewhere.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};

use axum::body::HttpBody;
use axum::http::StatusCode;
use axum::response::Response;
use roster_http::{own, DialectWire};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How much of a request's start is kept to find its path's dialect.
const HEAD_KEPT: usize = 64;

pub struct Refusals<S> {
    inner: S,
    wires: Arc<[DialectWire]>,
    /// The start of the request being read, since the last answer began.
    head: Vec<u8>,
    /// An answer has been written since `head` was read: the next bytes start a request.
    answered: bool,
    /// A rewritten refusal still being written, and how much of hyper's it stands for.
    pending: Vec<u8>,
    stands_for: usize,
}

impl<S> Refusals<S> {
    pub fn new(inner: S, wires: Arc<[DialectWire]>) -> Self {
        Refusals {
            inner,
            wires,
            head: Vec::with_capacity(HEAD_KEPT),
            answered: false,
            pending: Vec::new(),
            stands_for: 0,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Refusals<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let read = &buf.filled()[before..];
        if !read.is_empty() {
            if this.answered {
                this.head.clear();
                this.answered = false;
            }
            let room = HEAD_KEPT.saturating_sub(this.head.len());
            this.head.extend_from_slice(&read[..read.len().min(room)]);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Refusals<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.stands_for == 0 {
            if let Some(status) = hypers_own_refusal(buf) {
                tracing::debug!(%status, "rewriting hyper's refusal as JSON");
                this.pending = refusal(&this.wires, status, &this.head);
                this.stands_for = buf.len();
            }
        }
        this.answered = true;
        if this.stands_for == 0 {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        }
        while !this.pending.is_empty() {
            let written = ready!(Pin::new(&mut this.inner).poll_write(cx, &this.pending))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            this.pending.drain(..written);
        }
        Poll::Ready(Ok(std::mem::take(&mut this.stands_for)))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The status of `buf` if it is a whole answer hyper wrote by itself: an error status, an
/// empty body and no Content-Type (every answer of roster's routes has one).
fn hypers_own_refusal(buf: &[u8]) -> Option<StatusCode> {
    let head = buf.strip_suffix(b"\r\n\r\n")?;
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.split("\r\n");
    let code = lines.next()?.strip_prefix("HTTP/1.1 ")?.get(..3)?;
    let status = StatusCode::from_bytes(code.as_bytes()).ok()?;
    let mut empty = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        if name.eq_ignore_ascii_case("content-type") {
            return None;
        }
        if name.eq_ignore_ascii_case("content-length") {
            empty = value.trim() == "0";
        }
    }
    (empty && (status.is_client_error() || status.is_server_error())).then_some(status)
}

/// The whole JSON answer standing for hyper's `status`, for the request that starts `head`.
fn refusal(wires: &[DialectWire], status: StatusCode, head: &[u8]) -> Vec<u8> {
    let reason = match status {
        StatusCode::URI_TOO_LONG => "the request URI is longer than 65534 bytes",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "the request headers are too large",
        _ => "the request line or a header is malformed",
    };
    let path = head.split(|b| *b == b' ').nth(1).unwrap_or_default();
    let response = match wires.iter().find(|w| path.starts_with(w.prefix.as_bytes())) {
        Some(dialect) => dialect.wire.http_refusal(status, reason),
        None => own::error(status, reason),
    };
    serialize(response)
}

/// An answer with a body already in memory (every refusal's), as HTTP/1.1 bytes.
fn serialize(response: Response) -> Vec<u8> {
    let (parts, mut body) = response.into_parts();
    let mut bytes = Vec::new();
    let mut cx = Context::from_waker(Waker::noop());
    while let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut cx) {
        if let Ok(data) = frame.into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    let status = parts.status;
    let mut answer = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_LENGTH {
            answer.push_str(&format!(
                "{}: {}\r\n",
                title_case(name.as_str()),
                value.to_str().unwrap_or("")
            ));
        }
    }
    answer.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        bytes.len()
    ));
    let mut answer = answer.into_bytes();
    answer.extend_from_slice(&bytes);
    answer
}

/// `x-tt-logid` as `X-Tt-Logid`, as hyper writes every other answer's headers.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_empty_error_answers_are_rewritten() {
        let own = b"HTTP/1.1 414 URI Too Long\r\nContent-Length: 0\r\nDate: x\r\n\r\n";
        assert_eq!(hypers_own_refusal(own), Some(StatusCode::URI_TOO_LONG));
        let routed = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(hypers_own_refusal(routed), None);
        let fine = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(hypers_own_refusal(fine), None);
    }

    #[test]
    fn outside_every_dialect_rosters_envelope() {
        let bytes = refusal(&[], StatusCode::URI_TOO_LONG, b"GET /_roster/clock?x");
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{text}");
        assert!(text.contains("Content-Type: application/json"), "{text}");
        let body = text.split("\r\n\r\n").nth(1).unwrap();
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(body["error"].as_str().unwrap().contains("URI"));
        assert_eq!(title_case("x-tt-logid"), "X-Tt-Logid");
    }
}
