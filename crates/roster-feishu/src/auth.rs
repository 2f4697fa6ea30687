//! Auth v3 (tenant and app tokens), and recognising the caller of a request.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use roster_core::secret::secrets_match;
use roster_core::EntityId;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::tenants::{App, Feishu, Tenant};
use crate::tokens::{Claims, TokenError, TokenKind};
use crate::wire::{code_only, json_response, parse_json, read_body, ApiError, Gateway};

/// Who is calling: the app whose token it is, which kind of token, and the user for user tokens.
#[derive(Debug, Clone)]
pub struct Caller {
    pub app: Arc<App>,
    pub kind: TokenKind,
    pub user: Option<EntityId>,
}

impl Caller {
    pub fn tenant(&self) -> &Tenant {
        &self.app.tenant
    }

    /// Refuse token kinds the endpoint does not accept, with the gateway's codes.
    pub fn require(&self, accepted: &[TokenKind]) -> Result<&Self, ApiError> {
        if accepted.contains(&self.kind) {
            return Ok(self);
        }
        Err(match self.kind {
            TokenKind::User => Gateway::UserTokenUnsupported,
            TokenKind::Tenant => Gateway::TenantTokenInvalid,
            TokenKind::App => Gateway::AppTokenInvalid,
        }
        .into())
    }
}

/// What a request's token says: its caller, or the gateway's refusal. A token is checked once
/// per request: by the control plane when it needs the request's space (it leaves this in the
/// request's extensions), else when the handler's arguments are read. As a handler argument
/// (before the body), the token check comes first, as on Feishu: a bad token is reported even
/// when the body is malformed too.
#[derive(Debug, Clone)]
pub struct Credentials(Result<Caller, ApiError>);

impl Credentials {
    /// Check the request's `Authorization: Bearer <token>`.
    pub fn verify(feishu: &Feishu, request: &Parts) -> Self {
        Credentials(authenticate(feishu, &request.headers))
    }

    /// The tenant of a valid token.
    pub fn tenant_key(&self) -> Option<&str> {
        let caller = self.0.as_ref().ok()?;
        Some(&caller.app.tenant.key)
    }

    pub fn caller(self) -> Result<Caller, ApiError> {
        self.0
    }

    /// The request's credentials, as the control plane verified them or verified now.
    fn of(request: &Parts, feishu: &Feishu) -> Self {
        match request.extensions.get::<Credentials>() {
            Some(verified) => verified.clone(),
            None => Credentials::verify(feishu, request),
        }
    }
}

impl FromRequestParts<Arc<Feishu>> for Credentials {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        feishu: &Arc<Feishu>,
    ) -> Result<Self, Infallible> {
        Ok(Credentials::of(parts, feishu))
    }
}

/// A caller whose token is of an accepted kind (a set of `ACCEPTS_*` bits). As a handler
/// argument, the gateway's whole token check (validity and kind) comes before the body.
pub struct Accepting<const KINDS: u8>(pub Caller);

pub const ACCEPTS_TENANT: u8 = 1;
pub const ACCEPTS_USER: u8 = 2;
pub type TenantOnly = Accepting<ACCEPTS_TENANT>;
pub type UserOnly = Accepting<ACCEPTS_USER>;
pub type TenantOrUser = Accepting<{ ACCEPTS_TENANT | ACCEPTS_USER }>;

impl<const KINDS: u8> FromRequestParts<Arc<Feishu>> for Accepting<KINDS> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, feishu: &Arc<Feishu>) -> Result<Self, ApiError> {
        let caller = Credentials::of(parts, feishu).caller()?;
        let accepted: Vec<TokenKind> = [
            (ACCEPTS_TENANT, TokenKind::Tenant),
            (ACCEPTS_USER, TokenKind::User),
        ]
        .into_iter()
        .filter(|(bit, _)| KINDS & bit != 0)
        .map(|(_, kind)| kind)
        .collect();
        caller.require(&accepted)?;
        Ok(Self(caller))
    }
}

/// The caller of a business API, from `Authorization: Bearer <token>`.
fn authenticate(feishu: &Feishu, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim())
        // `Bearer ` with an empty token arrives as `Bearer`: trailing spaces do not survive.
        .map(|v| v.strip_prefix("Bearer").map_or(v, str::trim_start))
        .unwrap_or("");
    if token.is_empty() {
        return Err(Gateway::NeedToken.into());
    }
    let kind = [TokenKind::Tenant, TokenKind::App, TokenKind::User]
        .into_iter()
        .find(|k| token.starts_with(k.prefix()))
        .ok_or(Gateway::TokenPrefix)?;
    let invalid = match kind {
        TokenKind::Tenant => Gateway::TenantTokenInvalid,
        TokenKind::App => Gateway::AppTokenInvalid,
        TokenKind::User => Gateway::UserTokenInvalid,
    };
    let claims = match Claims::open(&feishu.engine.token_key, token, feishu.now()) {
        Ok(claims) => claims,
        Err(TokenError::Expired) if kind == TokenKind::User => {
            return Err(Gateway::UserTokenExpired.into())
        }
        Err(_) => return Err(invalid.into()),
    };
    let app = feishu
        .app_by_entity(claims.app)
        .filter(|app| app.issuer() == (claims.app, claims.generation))
        .ok_or(invalid)?
        .clone();
    Ok(Caller {
        app,
        kind,
        user: claims.user,
    })
}

#[derive(Deserialize)]
struct AppCredentials {
    #[serde(default)]
    app_id: Value,
    #[serde(default)]
    app_secret: Value,
}

/// Token endpoints answer HTTP 200 whatever happens, with the fields at the top level.
fn token_reply(body: Value) -> Response {
    json_response(StatusCode::OK, &body)
}

/// Why a token endpoint refused the app's credentials (answered with HTTP 200).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CredentialsError {
    InvalidParam,
    NoSuchApp,
    BadSecret,
}

impl CredentialsError {
    fn code(self) -> i64 {
        match self {
            CredentialsError::InvalidParam => 10003,
            CredentialsError::NoSuchApp | CredentialsError::BadSecret => 10014,
        }
    }

    fn msg(self) -> &'static str {
        match self {
            CredentialsError::InvalidParam => "invalid param",
            CredentialsError::NoSuchApp => "app id not exists",
            CredentialsError::BadSecret => "app secret invalid",
        }
    }

    fn into_response(self) -> Response {
        code_only(self.code(), self.msg())
    }
}

/// The app named by a token request.
async fn app_of_request(
    feishu: &Feishu,
    body: axum::body::Body,
) -> Result<Arc<App>, CredentialsError> {
    use CredentialsError::{BadSecret, InvalidParam, NoSuchApp};
    let bytes = read_body(body).await.map_err(|_| InvalidParam)?;
    let credentials: AppCredentials = parse_json(&bytes).map_err(|_| InvalidParam)?;
    let (Some(app_id), Some(secret)) =
        (credentials.app_id.as_str(), credentials.app_secret.as_str())
    else {
        return Err(InvalidParam);
    };
    if app_id.is_empty() || secret.is_empty() {
        return Err(InvalidParam);
    }
    let app = feishu.app(app_id).ok_or(NoSuchApp)?;
    if !secrets_match(secret.as_bytes(), app.secret.as_bytes()) {
        return Err(BadSecret);
    }
    Ok(app.clone())
}

pub async fn tenant_access_token(
    State(feishu): State<Arc<Feishu>>,
    body: axum::body::Body,
) -> Response {
    match app_of_request(&feishu, body).await {
        Err(e) => e.into_response(),
        Ok(app) => {
            let (claims, expire) = Claims::for_app(TokenKind::Tenant, app.issuer(), feishu.now());
            token_reply(json!({
                "code": 0,
                "msg": "ok",
                "tenant_access_token": claims.seal(&feishu.engine.token_key),
                "expire": expire,
            }))
        }
    }
}

pub async fn app_access_token(
    State(feishu): State<Arc<Feishu>>,
    body: axum::body::Body,
) -> Response {
    match app_of_request(&feishu, body).await {
        Err(e) => e.into_response(),
        Ok(app) => {
            let now = feishu.now();
            let key = &feishu.engine.token_key;
            let (app_token, expire) = Claims::for_app(TokenKind::App, app.issuer(), now);
            let (tenant_token, _) = Claims::for_app(TokenKind::Tenant, app.issuer(), now);
            token_reply(json!({
                "code": 0,
                "msg": "ok",
                "app_access_token": app_token.seal(key),
                "tenant_access_token": tenant_token.seal(key),
                "expire": expire,
            }))
        }
    }
}
