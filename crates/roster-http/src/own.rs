//! roster's own envelope, `{"error": message}`, for its routes under `/_roster/` and
//! `/healthz`: errors of roster's handlers, of its JSON bodies, and of the router itself.

use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::{read_body, BodyError};

/// The largest body roster's own routes read.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// `{"error": message}` with `status`.
pub fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// A JSON body of type `T`, within [`BODY_LIMIT`] and with nothing after the value; refusals
/// (400, 413) in roster's envelope.
pub struct OwnJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OwnJson<T> {
    type Rejection = Response;

    async fn from_request(request: Request, _: &S) -> Result<Self, Response> {
        let bytes = read_body(request.into_body(), BODY_LIMIT)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge { .. } => error(StatusCode::PAYLOAD_TOO_LARGE, &e.to_string()),
                BodyError::Unreadable(_) => error(StatusCode::BAD_REQUEST, &e.to_string()),
            })?;
        serde_json::from_slice(&bytes).map(OwnJson).map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                &format!("the request body is not the JSON this route takes: {e}"),
            )
        })
    }
}

/// Middleware for roster's own routes: a refusal that is not JSON (the router's own 405, an
/// extractor's plain-text refusal) becomes the envelope, with its status; successes (the
/// Prometheus text of `/metrics`) pass as they are.
pub async fn json_answers(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status().is_success() {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return response;
    }
    let status = response.status();
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed on this route",
        StatusCode::NOT_FOUND => "no such route",
        _ => status.canonical_reason().unwrap_or("refused"),
    };
    error(status, message)
}
