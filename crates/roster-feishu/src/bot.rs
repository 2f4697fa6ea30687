//! `GET /open-apis/bot/v3/info`: the calling app's bot, from the seed.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use crate::auth::{Accepting, TenantOnly};
use crate::tenants::Feishu;
use crate::wire::{json_response, ApiResult};

/// `activate_status` 2: installed and enabled in the tenant.
const ENABLED: i64 = 2;

/// The bot of the tenant token's app; its fields stand beside `code` and `msg`, not in `data`.
pub async fn info(State(_): State<Arc<Feishu>>, Accepting(caller): TenantOnly) -> ApiResult {
    let app = &caller.app;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "code": 0,
            "msg": "ok",
            "bot": {
                "activate_status": ENABLED,
                "app_name": app.name,
                "avatar_url": app.avatar_url,
                "ip_white_list": [],
                "open_id": app.open_id(),
            },
        }),
    ))
}
