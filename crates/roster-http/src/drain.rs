//! Unread request bodies are read to their end before the answer goes out, so a client that
//! sends its whole body before reading (Python's `http.client`) reads the answer instead of a
//! broken pipe, also when a handler refuses early (a bad token, an unknown command).

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use crate::read_body;

/// The request body, handed to the handler through a shared handle so that what it leaves
/// unread is still here afterwards.
struct Shared(Arc<Mutex<Body>>);

impl HttpBody for Shared {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let mut body = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        Pin::new(&mut *body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        let body = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let body = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        body.size_hint()
    }
}

/// Middleware: run the handler, then read and drop whatever of the body it did not read (up
/// to the drain limit past which [`read_body`] stops too), then answer.
pub async fn drain_unread(request: Request, next: Next) -> Response {
    if request.body().is_end_stream() {
        // Nothing to drain (no body, or an empty one): no wrapper either.
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let shared = Arc::new(Mutex::new(body));
    let request = Request::from_parts(parts, Body::new(Shared(shared.clone())));
    let response = next.run(request).await;
    // The handler is done with the request; a body it passed on elsewhere is left alone.
    if let Ok(body) = Arc::try_unwrap(shared) {
        let body = body.into_inner().unwrap_or_else(PoisonError::into_inner);
        if !body.is_end_stream() {
            // Only the draining matters, not what the rest of the body was.
            let _ = read_body(body, 0).await;
        }
    }
    response
}
