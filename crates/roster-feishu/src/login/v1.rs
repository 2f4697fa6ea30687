//! `authen/v1`'s code exchange and refresh, OIDC and legacy (whose answers also carry the
//! user's info): an app or tenant token authenticates the app, errors are HTTP 200 with a code.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{redeem, Credential, Issued, Proof, Refused};
use crate::auth::authenticate;
use crate::profile;
use crate::tenants::{App, Feishu};
use crate::tokens::{random_hex, TokenKind};
use crate::wire::{json_response, parse_json, read_body, success};

#[derive(Deserialize)]
struct Request {
    #[serde(default)]
    grant_type: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// A vendor error code and message, answered with HTTP 200.
type CodeError = (i64, &'static str);

fn error((code, msg): CodeError) -> Response {
    json_response(StatusCode::OK, &json!({ "code": code, "msg": msg }))
}

const INVALID_REQUEST: CodeError = (20001, "invalid request");

/// One grant of the v1 endpoints: what it takes, how it fails, what it answers.
pub struct Grant {
    grant_type: &'static str,
    credential: Credential,
    unknown: CodeError,
    expired: CodeError,
    /// The legacy endpoints add the user's info to the token fields.
    legacy: bool,
}

/// `POST /open-apis/authen/v1/oidc/access_token`.
pub const OIDC_CODE: Grant = Grant {
    grant_type: "authorization_code",
    credential: Credential::LoginCode,
    unknown: (20003, "code is invalid"),
    expired: (20004, "code is expired"),
    legacy: false,
};

/// `POST /open-apis/authen/v1/oidc/refresh_access_token`.
pub const OIDC_REFRESH: Grant = Grant {
    grant_type: "refresh_token",
    credential: Credential::RefreshToken,
    unknown: (20026, "refresh token is invalid"),
    expired: (20037, "refresh token is expired"),
    legacy: false,
};

/// `POST /open-apis/authen/v1/access_token`.
pub const LEGACY_CODE: Grant = Grant {
    legacy: true,
    ..OIDC_CODE
};

/// `POST /open-apis/authen/v1/refresh_access_token`.
pub const LEGACY_REFRESH: Grant = Grant {
    legacy: true,
    ..OIDC_REFRESH
};

/// `POST` of one v1 grant: its tokens for the code or refresh token in the body.
pub async fn token(
    grant: &'static Grant,
    State(feishu): State<Arc<Feishu>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    exchange(&feishu, &headers, body, grant).await
}

/// Callers authenticate with an app token (as documented) or a tenant token (as the Node SDK does).
fn caller_app(feishu: &Feishu, headers: &HeaderMap) -> Result<Arc<App>, CodeError> {
    match authenticate(feishu, headers) {
        Ok(caller) if caller.kind != TokenKind::User => Ok(caller.app),
        Err(e) if e.code == 99991663 => Err((20013, "tenant access token invalid")),
        _ => Err((20014, "app access token invalid")),
    }
}

/// Trade a login code or a refresh token (consumed on success only) for a new token pair.
async fn exchange(feishu: &Feishu, headers: &HeaderMap, body: Body, grant: &Grant) -> Response {
    let app = match caller_app(feishu, headers) {
        Ok(app) => app,
        Err(e) => return error(e),
    };
    let Ok(request) = read_body(body)
        .await
        .and_then(|b| parse_json::<Request>(&b))
    else {
        return error(INVALID_REQUEST);
    };
    if request.grant_type.as_deref() != Some(grant.grant_type) {
        return error((20036, "grant_type not supported"));
    }
    let presented = match grant.credential {
        Credential::LoginCode => request.code,
        Credential::RefreshToken => request.refresh_token,
    };
    let Some(presented) = presented.filter(|c| !c.is_empty()) else {
        return error(INVALID_REQUEST);
    };
    // v1 takes neither a PKCE verifier nor a redirect_uri: a PKCE login is v2's or v3's.
    match redeem(feishu, &app, grant.credential, &presented, Proof::default()).await {
        Ok(issued) if grant.legacy => success(legacy_data(&app, &issued)),
        Ok(issued) => success(token_data(&issued)),
        Err(Refused::Unknown | Refused::Pkce | Refused::RedirectUri) => error(grant.unknown),
        Err(Refused::Expired) => error(grant.expired),
        Err(Refused::OtherApp) => error((20024, "app id mismatch")),
        Err(Refused::NoUser) => error((20008, "user not exist")),
        Err(Refused::Store(e)) => crate::wire::ApiError::from(e).into_response(),
    }
}

/// The OIDC token fields.
fn token_data(issued: &Issued) -> Value {
    json!({
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "refresh_expires_in": issued.refresh_expires_in,
        "scope": "",
    })
}

/// The legacy answer: the token fields, the user's info and a session id.
fn legacy_data(app: &App, issued: &Issued) -> Value {
    let mut data = token_data(issued);
    if let (Value::Object(data), Value::Object(info)) =
        (&mut data, profile::user_info(app, &issued.user))
    {
        data.extend(info);
        data.remove("scope");
        data.insert("sid".into(), json!(random_hex(16)));
    }
    data
}
