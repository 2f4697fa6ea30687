//! roster-only routes (mounted under `/_roster/feishu`, behind the admin token).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_http::openapi::{array, integer, object, own, string, HttpMethod, JSON};
use roster_http::own::{error, OwnJson};
use roster_http::Endpoints;
use serde::Deserialize;
use serde_json::json;

use crate::apaas;
use crate::login::{mint_login_code, Challenge, Started, LOGIN_CODE_TTL};
use crate::model::USER;
use crate::openapi::Table;
use crate::tenants::Feishu;

#[derive(Deserialize)]
pub struct LoginCodeRequest {
    app_id: String,
    /// The tenant-scoped user_id of the user who "logs in".
    user_id: String,
    /// PKCE (RFC 7636), as the app would pass to the authorize page; the v2/v3 token
    /// endpoints then require the verifier.
    #[serde(default)]
    code_challenge: Option<String>,
    #[serde(default)]
    code_challenge_method: Option<String>,
    /// The v2/v3 token endpoints then require the same `redirect_uri`.
    #[serde(default)]
    redirect_uri: Option<String>,
}

/// `POST /_roster/feishu/login_codes {"app_id", "user_id", "code_challenge"?,
/// "code_challenge_method"?, "redirect_uri"?}`: the code a browser login would give the app,
/// to exchange at any of the token endpoints.
pub async fn login_code(
    State(feishu): State<Arc<Feishu>>,
    OwnJson(request): OwnJson<LoginCodeRequest>,
) -> Response {
    let challenge = match request.code_challenge {
        Some(challenge) => {
            match Challenge::new(challenge, request.code_challenge_method.as_deref()) {
                Ok(challenge) => Some(challenge),
                Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
            }
        }
        None => None,
    };
    let started = Started {
        challenge,
        redirect_uri: request.redirect_uri,
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
        Ok(Some(user)) => match mint_login_code(&feishu, &app, user.id, started).await {
            Ok(code) => Json(json!({ "code": code, "expires_in": LOGIN_CODE_TTL })).into_response(),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        },
        Ok(None) => error(StatusCode::NOT_FOUND, "no such user_id in the app's tenant"),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// roster's own Feishu routes (admin token).
pub fn table() -> Table {
    use HttpMethod::Post;
    Endpoints::admin("/feishu")
        .at(
            own(Post, "/login_codes", "mint a login code for a user")
                .body(
                    JSON,
                    object()
                        .field("app_id", string())
                        .field("user_id", string())
                        .optional("code_challenge", string())
                        .optional("code_challenge_method", string())
                        .optional("redirect_uri", string())
                        .into(),
                    true,
                )
                .answer(
                    "200",
                    "the code",
                    object()
                        .field("code", string())
                        .field("expires_in", integer())
                        .into(),
                ),
            login_code,
        )
        .at(
            own(Post, "/apaas_user_tasks", "declare an aPaaS user task")
                .body(
                    JSON,
                    object()
                        .field("tenant_key", string())
                        .field("task_id", string())
                        .optional("label", string())
                        .optional("initiator", string())
                        .optional("assignees", array(string()))
                        .optional("cc", array(string()))
                        .optional("workflow_instance_id", string())
                        .optional("activity_label", string())
                        .into(),
                    true,
                )
                .answer(
                    "200",
                    "the task",
                    object()
                        .field("task_id", string())
                        .field("workflow_instance_id", string())
                        .into(),
                ),
            apaas::routes::declare_task,
        )
}
