//! `authen/v1`'s code exchange and refresh, OIDC and legacy (whose answers also carry the
//! user's info): an app or tenant token authenticates the app, errors are HTTP 200 with a code.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use roster_core::StoreError;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{redeem, Credential, Issued, Proof, Refused};
use crate::auth::Credentials;
use crate::profile;
use crate::tenants::{App, Feishu};
use crate::tokens::{random_hex, TokenKind};
use crate::wire::{code_only, parse_json, read_body, success, ApiError, Gateway, VendorError};

#[derive(Deserialize)]
struct Request {
    #[serde(default)]
    grant_type: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// Why a v1 exchange was refused, answered with HTTP 200 (a failure of roster itself is the
/// gateway's internal error).
#[derive(Debug, thiserror::Error)]
enum V1Error {
    #[error("invalid request")]
    InvalidRequest,
    #[error("code is invalid")]
    CodeInvalid,
    #[error("code is expired")]
    CodeExpired,
    #[error("refresh token is invalid")]
    RefreshTokenInvalid,
    #[error("refresh token is expired")]
    RefreshTokenExpired,
    #[error("tenant access token invalid")]
    TenantTokenInvalid,
    #[error("app access token invalid")]
    AppTokenInvalid,
    #[error("grant_type not supported")]
    GrantTypeUnsupported,
    #[error("app id mismatch")]
    AppIdMismatch,
    #[error("user not exist")]
    UserNotExist,
    #[error(transparent)]
    Store(StoreError),
}

impl V1Error {
    fn code(&self) -> i64 {
        match self {
            V1Error::InvalidRequest => 20001,
            V1Error::CodeInvalid => 20003,
            V1Error::CodeExpired => 20004,
            V1Error::RefreshTokenInvalid => 20026,
            V1Error::RefreshTokenExpired => 20037,
            V1Error::TenantTokenInvalid => 20013,
            V1Error::AppTokenInvalid => 20014,
            V1Error::GrantTypeUnsupported => 20036,
            V1Error::AppIdMismatch => 20024,
            V1Error::UserNotExist => 20008,
            V1Error::Store(_) => Gateway::Internal.code(),
        }
    }

    /// A refused redemption of `credential`.
    fn refused(refused: Refused, credential: Credential) -> Self {
        use Credential::{LoginCode, RefreshToken};
        match (refused, credential) {
            (Refused::Unknown | Refused::Pkce | Refused::RedirectUri, LoginCode) => {
                V1Error::CodeInvalid
            }
            (Refused::Unknown | Refused::Pkce | Refused::RedirectUri, RefreshToken) => {
                V1Error::RefreshTokenInvalid
            }
            (Refused::Expired, LoginCode) => V1Error::CodeExpired,
            (Refused::Expired, RefreshToken) => V1Error::RefreshTokenExpired,
            (Refused::OtherApp, _) => V1Error::AppIdMismatch,
            (Refused::NoUser, _) => V1Error::UserNotExist,
            (Refused::Store(e), _) => V1Error::Store(e),
        }
    }

    fn into_response(self) -> Response {
        match self {
            V1Error::Store(e) => ApiError::from(e).into_response(),
            refused => code_only(refused.code(), &refused.to_string()),
        }
    }
}

/// One grant of the v1 endpoints: what it takes, how it fails, what it answers.
pub struct Grant {
    grant_type: &'static str,
    credential: Credential,
    /// The legacy endpoints add the user's info to the token fields.
    legacy: bool,
}

/// `POST /open-apis/authen/v1/oidc/access_token`.
pub const OIDC_CODE: Grant = Grant {
    grant_type: "authorization_code",
    credential: Credential::LoginCode,
    legacy: false,
};

/// `POST /open-apis/authen/v1/oidc/refresh_access_token`.
pub const OIDC_REFRESH: Grant = Grant {
    grant_type: "refresh_token",
    credential: Credential::RefreshToken,
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
    credentials: Credentials,
    body: Body,
) -> Response {
    match exchange(&feishu, credentials, body, grant).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// Callers authenticate with an app token (as documented) or a tenant token (as the Node SDK does).
fn caller_app(credentials: Credentials) -> Result<Arc<App>, V1Error> {
    match credentials.caller() {
        Ok(caller) if caller.kind != TokenKind::User => Ok(caller.app),
        Err(e) if e.code == Gateway::TenantTokenInvalid.code() => Err(V1Error::TenantTokenInvalid),
        _ => Err(V1Error::AppTokenInvalid),
    }
}

/// Trade a login code or a refresh token (consumed on success only) for a new token pair.
async fn exchange(
    feishu: &Feishu,
    credentials: Credentials,
    body: Body,
    grant: &Grant,
) -> Result<Response, V1Error> {
    let app = caller_app(credentials)?;
    let request = read_body(body)
        .await
        .and_then(|b| parse_json::<Request>(&b))
        .map_err(|_| V1Error::InvalidRequest)?;
    if request.grant_type.as_deref() != Some(grant.grant_type) {
        return Err(V1Error::GrantTypeUnsupported);
    }
    let presented = match grant.credential {
        Credential::LoginCode => request.code,
        Credential::RefreshToken => request.refresh_token,
    };
    let presented = presented
        .filter(|c| !c.is_empty())
        .ok_or(V1Error::InvalidRequest)?;
    // v1 takes neither a PKCE verifier nor a redirect_uri: a PKCE login is v2's or v3's.
    let issued = redeem(feishu, &app, grant.credential, &presented, Proof::default())
        .await
        .map_err(|refused| V1Error::refused(refused, grant.credential))?;
    Ok(if grant.legacy {
        success(legacy_data(&app, &issued))
    } else {
        success(token_data(&issued))
    })
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
