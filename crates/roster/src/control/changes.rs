//! The change feed and the callback deliveries, as roster's own routes:
//! `GET /_roster/changes?space=dialect/key&after=SEQ&limit=N`, every relationship change of a
//! space in commit order, resumable from the `next` cursor of the last page; and
//! `GET /_roster/deliveries?space=&after=ID&limit=N`, every callback attempt with the
//! receiver's answer.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{parse_space_name, Control, ControlError};

/// A page holds at most this many items.
const MAX_LIMIT: u32 = 1000;
const DEFAULT_LIMIT: u32 = 100;

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
/// following page (the same when there is nothing new yet).
pub(super) async fn list_changes(
    State(control): State<Arc<Control>>,
    Query(query): Query<FeedQuery>,
) -> Result<Response, ControlError> {
    let name = query.space.as_deref().unwrap_or_default();
    let space = control.space(&parse_space_name(name)?).await?;
    let changes = control
        .engine
        .store
        .changes(space.id, query.after, query.limit())
        .await?;
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
