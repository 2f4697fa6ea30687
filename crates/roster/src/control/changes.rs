//! The change feed and the callback deliveries, as roster's own routes:
//! `GET /_roster/changes?space=dialect/key&after=SEQ&limit=N`, every relationship change of a
//! space in commit order, resumable from the `next` cursor of the last page (410 Gone with the
//! `oldest` kept change when changes after `after` were removed past the retention horizon);
//! and
//! `GET /_roster/deliveries?space=&after=ID&limit=N`, every callback attempt with the
//! receiver's answer; `POST /_roster/deliveries/{id}/redeliver` sends one again;
//! `POST /_roster/housekeeping` sweeps the histories past the retention horizon now.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use roster_core::DeliveryAttempt;

use super::{parse_space_name, Control, ControlError};
use crate::callbacks;
use crate::housekeeping;

/// A page holds at most this many items.
const MAX_LIMIT: u32 = 1000;
const DEFAULT_LIMIT: u32 = 100;
/// How long a redelivery waits for the receiver.
const REDELIVERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FeedQuery {
    space: Option<String>,
    #[serde(default)]
    after: i64,
    limit: Option<u32>,
}

impl FeedQuery {
    fn limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }
}

/// `GET /_roster/changes`: `{"changes": [...], "next": SEQ}`; `next` is the `after` of the
/// following page (the same when there is nothing new yet). When retention removed changes
/// after `after`: 410 `{"error": ..., "oldest": SEQ}`, the first change still kept.
pub(super) async fn list_changes(
    State(control): State<Arc<Control>>,
    Query(query): Query<FeedQuery>,
) -> Result<Response, ControlError> {
    let name = query.space.as_deref().unwrap_or_default();
    let space = control.space(&parse_space_name(name)?).await?;
    let store = &control.engine.store;
    let changes = store.changes(space.id, query.after, query.limit()).await?;
    // Read after the changes: retention only moves forward, so a page read before a span that
    // says nothing after `after` is gone holds no gap.
    let span = store.change_span(space.id).await?;
    if span.lost(query.after) {
        let oldest = span.first_available();
        let error = format!(
            "the changes after {} are gone past the retention horizon (--changes-retention \
             {}); the oldest kept change is {oldest}: resume with after={}",
            query.after,
            control.engine.retention,
            oldest - 1
        );
        let body = json!({ "error": error, "oldest": oldest });
        return Ok((StatusCode::GONE, Json(body)).into_response());
    }
    let next = changes.last().map_or(query.after, |c| c.seq);
    Ok(Json(json!({ "changes": changes, "next": next })).into_response())
}

/// `GET /_roster/deliveries`: `{"deliveries": [...], "next": ID}`, oldest first.
pub(super) async fn list_deliveries(
    State(control): State<Arc<Control>>,
    Query(query): Query<FeedQuery>,
) -> Result<Response, ControlError> {
    let space = match query.space.as_deref() {
        Some(name) => Some(control.space(&parse_space_name(name)?).await?.id),
        None => None,
    };
    let attempts = control
        .engine
        .store
        .attempts(space, query.after, query.limit())
        .await?;
    let next = attempts.last().map_or(query.after, |a| a.id);
    Ok(Json(json!({ "deliveries": attempts, "next": next })).into_response())
}

/// `POST /_roster/deliveries/{id}/redeliver`: send the request of attempt `id` again, exactly as
/// it was (same headers and body), and record it as the next attempt; the new attempt.
pub(super) async fn redeliver(
    State(control): State<Arc<Control>>,
    Path(id): Path<i64>,
) -> Result<Response, ControlError> {
    let store = &control.engine.store;
    // The attempts after `id - 1`; there is none before the smallest id.
    let after = id.checked_sub(1).ok_or(ControlError::UnknownDelivery(id))?;
    let earlier = store.attempts(None, after, 1).await?;
    let Some(earlier) = earlier.into_iter().find(|a| a.id == id) else {
        return Err(ControlError::UnknownDelivery(id));
    };
    let client = reqwest::Client::new();
    let (status, response, error) = callbacks::send(
        &client,
        earlier.method,
        &earlier.url,
        &earlier.headers,
        &earlier.request,
        REDELIVERY_TIMEOUT,
    )
    .await;
    let mut again = DeliveryAttempt {
        attempt: earlier.attempt + 1,
        at: control.engine.clock.now(),
        status,
        response,
        error,
        resend: None,
        ..earlier
    };
    again.id = store.record_attempt(&again, None).await?;
    Ok(Json(json!({ "delivery": again })).into_response())
}

/// `POST /_roster/housekeeping`: sweep the histories now, once a sweep under way ends
/// (housekeeping sweeps every minute);
/// `{"swept": {"changes": N, "attempts": N, "pages": N}}`, what it removed.
pub(super) async fn housekeep(
    State(control): State<Arc<Control>>,
) -> Result<Response, ControlError> {
    let swept = housekeeping::sweep(&control.engine).await?;
    let swept =
        json!({ "changes": swept.changes, "attempts": swept.attempts, "pages": swept.pages });
    Ok(Json(json!({ "swept": swept })).into_response())
}
