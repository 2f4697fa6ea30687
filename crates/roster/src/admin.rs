//! roster's own routes under `/_roster/`: not part of any vendor API. They need the admin
//! token (`Authorization: Bearer <token>`), because they can move time and mint logins.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use roster_core::secret::secrets_match;
use roster_core::Clock;
use roster_http::own::{error, OwnJson};
use serde::Deserialize;
use serde_json::json;

pub fn router(clock: Arc<Clock>) -> Router {
    Router::new()
        .route("/clock", get(get_clock).post(set_clock))
        .with_state(clock)
}

/// Refuse requests that do not carry the admin token.
pub async fn require_token(
    State(token): State<Arc<str>>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if presented.is_some_and(|p| secrets_match(p.as_bytes(), token.as_bytes())) {
        next.run(request).await
    } else {
        error(StatusCode::UNAUTHORIZED, "admin token required")
    }
}

async fn get_clock(State(clock): State<Arc<Clock>>) -> Json<serde_json::Value> {
    Json(json!({ "now": clock.now(), "offset_seconds": clock.offset_seconds() }))
}

#[derive(Deserialize)]
struct SetClock {
    offset_seconds: i64,
}

/// Move roster's clock: tokens, codes and signatures expire as if that much time had passed.
async fn set_clock(State(clock): State<Arc<Clock>>, OwnJson(set): OwnJson<SetClock>) -> Response {
    match clock.set_offset_seconds(set.offset_seconds) {
        Ok(()) => get_clock(State(clock)).await.into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}
