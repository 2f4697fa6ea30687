//! `GET /open-apis/bot/v3/info`: the calling app's bot, from the seed.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use roster_http::openapi::{array, integer, object, one_of_values, operation, string, HttpMethod};
use serde_json::json;

use crate::auth::{Accepting, TenantOnly};
use crate::openapi::{error, Table, PREFIX, TOKEN};
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

/// The bot of the tenant token's app: its fields beside `code` and `msg`.
pub fn table() -> Table {
    let bot = object()
        .field("activate_status", integer())
        .field("app_name", string())
        .field("avatar_url", string())
        .field("ip_white_list", array(string()))
        .field("open_id", string());
    let answer = object()
        .field("code", one_of_values([0]))
        .field("msg", string())
        .field("bot", bot.into());
    Table::new(PREFIX).at(
        operation(HttpMethod::Get, "/bot/v3/info", "the app's bot")
            .secured(TOKEN)
            .answer("200", "the bot", answer.into())
            .answer("default", "refused", error()),
        info,
    )
}
