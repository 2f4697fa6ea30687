//! The OAuth token endpoint, RFC 6749 style: `POST /open-apis/authen/v2/oauth/token` and its
//! successor `POST /oauth/v3/token` (served at the origin root, as `accounts.feishu.cn` does;
//! the SDKs' `access_token` clients post there). The app authenticates with `client_id` and
//! `client_secret` in the body or with HTTP Basic; bodies are JSON or form-encoded; fields sit
//! at the top level and errors are `{"code", "error", "error_description"}` with HTTP 400.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use roster_core::secret::secrets_match;
use roster_core::StoreError;
use serde::Deserialize;
use serde_json::json;

use super::{redeem, Credential, Proof, Refused};
use crate::tenants::{App, Feishu};
use crate::wire::{json_response, parse_json, read_body};

#[derive(Debug, Deserialize)]
struct Request {
    #[serde(default)]
    grant_type: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    redirect_uri: Option<String>,
    #[serde(default)]
    code_verifier: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

/// The documented refusals, each with its code, RFC 6749 `error` and description; a failure
/// of roster itself is `server_error`, logged where it is answered.
#[derive(Debug, thiserror::Error)]
enum OauthError {
    #[error("The request is missing a required parameter.")]
    MissingParameter,
    #[error("The client secret is invalid.")]
    BadSecret,
    #[error("The authorization code is not found. Please note that an authorization code can only be used once.")]
    CodeNotFound,
    #[error("The authorization code has expired.")]
    CodeExpired,
    #[error("The user does not exist.")]
    NoUser,
    #[error(
        "The provided authorization code or refresh token does not match the provided client ID."
    )]
    OtherClient,
    #[error("The refresh token passed is invalid. Please check the value.")]
    RefreshTokenInvalid,
    #[error("The specified grant_type is not supported.")]
    UnsupportedGrant,
    #[error("The refresh token passed has expired. Please generate a new one.")]
    RefreshTokenExpired,
    #[error("The specified app does not exist.")]
    NoSuchApp,
    #[error("PKCE code challenge failed.")]
    Pkce,
    #[error("The request is malformed. Please check your request.")]
    Malformed,
    #[error("Multiple authentication methods were provided. Please only use one to proceed.")]
    TwoAuthMethods,
    #[error("The provided redirect URI does not match the one used during authorization.")]
    RedirectUri,
    #[error("An unexpected server error occurred. Please retry your request.")]
    Server(#[source] StoreError),
}

impl OauthError {
    fn code(&self) -> i64 {
        match self {
            OauthError::MissingParameter => 20001,
            OauthError::BadSecret => 20002,
            OauthError::CodeNotFound => 20003,
            OauthError::CodeExpired => 20004,
            OauthError::NoUser => 20008,
            OauthError::OtherClient => 20024,
            OauthError::RefreshTokenInvalid => 20026,
            OauthError::UnsupportedGrant => 20036,
            OauthError::RefreshTokenExpired => 20037,
            OauthError::NoSuchApp => 20048,
            OauthError::Pkce => 20049,
            OauthError::Server(_) => 20050,
            OauthError::Malformed => 20063,
            OauthError::TwoAuthMethods => 20070,
            OauthError::RedirectUri => 20071,
        }
    }

    /// RFC 6749's `error`.
    fn error(&self) -> &'static str {
        match self {
            OauthError::MissingParameter | OauthError::Malformed | OauthError::TwoAuthMethods => {
                "invalid_request"
            }
            OauthError::BadSecret | OauthError::NoSuchApp => "invalid_client",
            OauthError::UnsupportedGrant => "unsupported_grant_type",
            OauthError::Server(_) => "server_error",
            OauthError::CodeNotFound
            | OauthError::CodeExpired
            | OauthError::NoUser
            | OauthError::OtherClient
            | OauthError::RefreshTokenInvalid
            | OauthError::RefreshTokenExpired
            | OauthError::Pkce
            | OauthError::RedirectUri => "invalid_grant",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            OauthError::Server(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn into_response(self) -> Response {
        if let OauthError::Server(e) = &self {
            tracing::error!(code = self.code(), "oauth token: {e}");
        }
        json_response(
            self.status(),
            &json!({
                "code": self.code(),
                "error": self.error(),
                "error_description": self.to_string(),
            }),
        )
    }

    /// A refused redemption, as the code or refresh-token page documents it.
    fn refused(refused: Refused, credential: Credential) -> Self {
        match (refused, credential) {
            (Refused::Unknown, Credential::LoginCode) => OauthError::CodeNotFound,
            (Refused::Expired, Credential::LoginCode) => OauthError::CodeExpired,
            (Refused::Unknown, Credential::RefreshToken) => OauthError::RefreshTokenInvalid,
            (Refused::Expired, Credential::RefreshToken) => OauthError::RefreshTokenExpired,
            (Refused::OtherApp, _) => OauthError::OtherClient,
            (Refused::NoUser, _) => OauthError::NoUser,
            (Refused::Pkce, _) => OauthError::Pkce,
            (Refused::RedirectUri, _) => OauthError::RedirectUri,
            (Refused::Store(e), _) => OauthError::Server(e),
        }
    }
}

/// `POST /open-apis/authen/v2/oauth/token` and `POST /oauth/v3/token`.
pub async fn token(State(feishu): State<Arc<Feishu>>, headers: HeaderMap, body: Body) -> Response {
    match exchange(&feishu, &headers, body).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn exchange(
    feishu: &Feishu,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, OauthError> {
    let bytes = read_body(body).await.map_err(|_| OauthError::Malformed)?;
    let request = parse(headers, &bytes).ok_or(OauthError::Malformed)?;
    let app = client(feishu, headers, &request)?;
    let credential = match request.grant_type.as_deref() {
        Some("authorization_code") => Credential::LoginCode,
        Some("refresh_token") => Credential::RefreshToken,
        None | Some("") => return Err(OauthError::MissingParameter),
        Some(_) => return Err(OauthError::UnsupportedGrant),
    };
    let presented = match credential {
        Credential::LoginCode => request.code.as_deref(),
        Credential::RefreshToken => request.refresh_token.as_deref(),
    };
    let presented = presented
        .filter(|v| !v.is_empty())
        .ok_or(OauthError::MissingParameter)?;
    let proof = Proof {
        code_verifier: request.code_verifier.as_deref(),
        redirect_uri: Some(request.redirect_uri.as_deref().unwrap_or("")),
    };
    let issued = redeem(feishu, &app, credential, presented, proof)
        .await
        .map_err(|refused| OauthError::refused(refused, credential))?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "code": 0,
            "access_token": issued.access_token,
            "expires_in": issued.expires_in,
            "refresh_token": issued.refresh_token,
            "refresh_token_expires_in": issued.refresh_expires_in,
            "token_type": "Bearer",
            "scope": request.scope.unwrap_or_default(),
        }),
    ))
}

/// The request, JSON (as documented) or form-encoded (as RFC 6749 clients send it).
fn parse(headers: &HeaderMap, bytes: &[u8]) -> Option<Request> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form {
        serde_urlencoded::from_bytes(bytes).ok()
    } else {
        parse_json(bytes).ok()
    }
}

/// The app, authenticated by `client_id`/`client_secret` or HTTP Basic (not both).
fn client(feishu: &Feishu, headers: &HeaderMap, request: &Request) -> Result<Arc<App>, OauthError> {
    let basic = basic_credentials(headers);
    let in_body = request
        .client_secret
        .as_deref()
        .is_some_and(|s| !s.is_empty());
    let (id, secret) = match (basic, in_body) {
        (Some(_), true) => return Err(OauthError::TwoAuthMethods),
        (Some(pair), false) => pair,
        (None, _) => (
            request.client_id.clone().unwrap_or_default(),
            request.client_secret.clone().unwrap_or_default(),
        ),
    };
    if id.is_empty() || secret.is_empty() {
        return Err(OauthError::MissingParameter);
    }
    let app = feishu.app(&id).ok_or(OauthError::NoSuchApp)?;
    if !secrets_match(secret.as_bytes(), app.secret.as_bytes()) {
        return Err(OauthError::BadSecret);
    }
    Ok(app.clone())
}

/// `Authorization: Basic base64(client_id:client_secret)`, form-decoded as RFC 6749 says.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}
