//! roster-only routes (mounted under `/_roster/feishu`, behind the admin token).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::login::{mint_login_code, LOGIN_CODE_TTL};
use crate::tenants::{Feishu, USER};
use crate::wire::parse_json;

#[derive(Deserialize)]
struct LoginCodeRequest {
    app_id: String,
    /// The tenant-scoped user_id of the user who "logs in".
    user_id: String,
}

pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// `POST /_roster/feishu/login_codes {"app_id", "user_id"}`: the code a browser login would
/// give the app, to exchange at `/open-apis/authen/v1/oidc/access_token`.
pub async fn login_code(State(feishu): State<Arc<Feishu>>, body: axum::body::Bytes) -> Response {
    let Ok(request) = parse_json::<LoginCodeRequest>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected {\"app_id\": ..., \"user_id\": ...}",
        );
    };
    let Some(app) = feishu.app(&request.app_id) else {
        return error(StatusCode::NOT_FOUND, "no such app_id");
    };
    let user = feishu
        .engine
        .store
        .find_entity(app.tenant.space.id, USER, &request.user_id)
        .await;
    match user {
        Ok(Some(user)) => match mint_login_code(&feishu, &app, user.id).await {
            Ok(code) => Json(json!({ "code": code, "expires_in": LOGIN_CODE_TTL })).into_response(),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        },
        Ok(None) => error(StatusCode::NOT_FOUND, "no such user_id in the app's tenant"),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
