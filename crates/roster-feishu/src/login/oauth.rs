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

/// One of the documented error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OauthError(i64);

const MISSING_PARAMETER: OauthError = OauthError(20001);
const BAD_SECRET: OauthError = OauthError(20002);
const UNSUPPORTED_GRANT: OauthError = OauthError(20036);
const NO_SUCH_APP: OauthError = OauthError(20048);
const MALFORMED: OauthError = OauthError(20063);
const TWO_AUTH_METHODS: OauthError = OauthError(20070);

impl OauthError {
    /// The code's RFC 6749 `error` and the documented description.
    fn meaning(self) -> (&'static str, &'static str) {
        match self.0 {
            20001 => ("invalid_request", "The request is missing a required parameter."),
            20002 => ("invalid_client", "The client secret is invalid."),
            20003 => ("invalid_grant", "The authorization code is not found. Please note that an authorization code can only be used once."),
            20004 => ("invalid_grant", "The authorization code has expired."),
            20008 => ("invalid_grant", "The user does not exist."),
            20024 => ("invalid_grant", "The provided authorization code or refresh token does not match the provided client ID."),
            20026 => ("invalid_grant", "The refresh token passed is invalid. Please check the value."),
            20036 => ("unsupported_grant_type", "The specified grant_type is not supported."),
            20037 => ("invalid_grant", "The refresh token passed has expired. Please generate a new one."),
            20048 => ("invalid_client", "The specified app does not exist."),
            20049 => ("invalid_grant", "PKCE code challenge failed."),
            20063 => ("invalid_request", "The request is malformed. Please check your request."),
            20070 => ("invalid_request", "Multiple authentication methods were provided. Please only use one to proceed."),
            20071 => ("invalid_grant", "The provided redirect URI does not match the one used during authorization."),
            _ => ("server_error", "An unexpected server error occurred. Please retry your request."),
        }
    }

    fn into_response(self) -> Response {
        let (error, description) = self.meaning();
        let status = if error == "server_error" {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::BAD_REQUEST
        };
        json_response(
            status,
            &json!({ "code": self.0, "error": error, "error_description": description }),
        )
    }

    /// A refused redemption, as the code or refresh-token page documents it.
    fn refused(refused: &Refused, credential: Credential) -> Self {
        OauthError(match (refused, credential) {
            (Refused::Unknown, Credential::LoginCode) => 20003,
            (Refused::Expired, Credential::LoginCode) => 20004,
            (Refused::Unknown, Credential::RefreshToken) => 20026,
            (Refused::Expired, Credential::RefreshToken) => 20037,
            (Refused::OtherApp, _) => 20024,
            (Refused::NoUser, _) => 20008,
            (Refused::Pkce, _) => 20049,
            (Refused::RedirectUri, _) => 20071,
            (Refused::Store(e), _) => {
                tracing::error!("oauth token: {e}");
                20050
            }
        })
    }
}

/// `POST /open-apis/authen/v2/oauth/token` and `POST /oauth/v3/token`.
pub async fn token(State(feishu): State<Arc<Feishu>>, headers: HeaderMap, body: Body) -> Response {
    match exchange(&feishu, &headers, body).await {
        Ok(response) | Err(response) => response,
    }
}

async fn exchange(feishu: &Feishu, headers: &HeaderMap, body: Body) -> Result<Response, Response> {
    let bytes = read_body(body)
        .await
        .map_err(|_| MALFORMED.into_response())?;
    let request = parse(headers, &bytes).ok_or_else(|| MALFORMED.into_response())?;
    let app = client(feishu, headers, &request).map_err(OauthError::into_response)?;
    let credential = match request.grant_type.as_deref() {
        Some("authorization_code") => Credential::LoginCode,
        Some("refresh_token") => Credential::RefreshToken,
        None | Some("") => return Err(MISSING_PARAMETER.into_response()),
        Some(_) => return Err(UNSUPPORTED_GRANT.into_response()),
    };
    let presented = match credential {
        Credential::LoginCode => request.code.as_deref(),
        Credential::RefreshToken => request.refresh_token.as_deref(),
    };
    let presented = presented
        .filter(|v| !v.is_empty())
        .ok_or_else(|| MISSING_PARAMETER.into_response())?;
    let proof = Proof {
        code_verifier: request.code_verifier.as_deref(),
        redirect_uri: Some(request.redirect_uri.as_deref().unwrap_or("")),
    };
    let issued = redeem(feishu, &app, credential, presented, proof)
        .await
        .map_err(|e| OauthError::refused(&e, credential).into_response())?;
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
        (Some(_), true) => return Err(TWO_AUTH_METHODS),
        (Some(pair), false) => pair,
        (None, _) => (
            request.client_id.clone().unwrap_or_default(),
            request.client_secret.clone().unwrap_or_default(),
        ),
    };
    if id.is_empty() || secret.is_empty() {
        return Err(MISSING_PARAMETER);
    }
    let app = feishu.app(&id).ok_or(NO_SUCH_APP)?;
    if !secrets_match(secret.as_bytes(), app.secret.as_bytes()) {
        return Err(BAD_SECRET);
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
