//! Auth v3 (tenant and app tokens), OIDC user tokens, and recognising the caller of a request.

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use roster_core::{EntityId, StoreError, WritePlan};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::tenants::{App, Feishu, Tenant};
use crate::tokens::{random_hex, Claims, TokenError, TokenKind};
use crate::wire::{json_response, parse_json, read_body, success, ApiError, ApiResult};

pub const LOGIN_CODE: &str = "feishu.login_code";
const REFRESH_TOKEN: &str = "feishu.refresh_token";
pub const LOGIN_CODE_TTL: i64 = 300;
const REFRESH_TOKEN_TTL: i64 = 30 * 24 * 3600;
/// How long an expired code or refresh token is still known as expired (20004, 20037) rather
/// than unknown, before housekeeping removes it.
const EXPIRED_KEPT: i64 = 3600;

/// The steps removing the tenant's login codes and refresh tokens expired for a while.
pub fn prune_expired(plan: &mut WritePlan) {
    plan.prune(LOGIN_CODE, plan.now - LOGIN_CODE_TTL - EXPIRED_KEPT);
    plan.prune(REFRESH_TOKEN, plan.now - REFRESH_TOKEN_TTL - EXPIRED_KEPT);
}

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
            TokenKind::User => ApiError::bad_request(99991668, "user access token not support"),
            TokenKind::Tenant => ApiError::bad_request(
                99991663,
                "Invalid access token for authorization. Please make a request with token attached",
            ),
            TokenKind::App => ApiError::bad_request(99991664, "invalid app token"),
        })
    }
}

/// As a handler argument (before the body), the gateway's token check comes first, as on Feishu:
/// a bad token is reported even when the body is malformed too.
impl FromRequestParts<Arc<Feishu>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, feishu: &Arc<Feishu>) -> Result<Self, ApiError> {
        authenticate(feishu, &parts.headers)
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
        let caller = authenticate(feishu, &parts.headers)?;
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
pub fn authenticate(feishu: &Feishu, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim())
        // `Bearer ` with an empty token arrives as `Bearer`: trailing spaces do not survive.
        .map(|v| v.strip_prefix("Bearer").map_or(v, str::trim_start))
        .unwrap_or("");
    if token.is_empty() {
        return Err(ApiError::bad_request(99991661, "Need a token"));
    }
    let kind = [TokenKind::Tenant, TokenKind::App, TokenKind::User]
        .into_iter()
        .find(|k| token.starts_with(k.prefix()))
        .ok_or_else(|| ApiError::bad_request(99991671, "Invalid token: must start with t-/u-"))?;
    let invalid = || match kind {
        TokenKind::Tenant => ApiError::bad_request(
            99991663,
            "Invalid access token for authorization. Please make a request with token attached",
        ),
        TokenKind::App => ApiError::bad_request(99991664, "invalid app token"),
        TokenKind::User => ApiError::bad_request(
            99991668,
            "Invalid access token for authorization. Please make a request with token attached.",
        ),
    };
    let claims = match Claims::open(&feishu.engine.token_key, token, feishu.now()) {
        Ok(claims) => claims,
        Err(TokenError::Expired) if kind == TokenKind::User => {
            return Err(ApiError::bad_request(99991677, "token expire"))
        }
        Err(_) => return Err(invalid()),
    };
    let app = feishu
        .app_by_entity(claims.app)
        .ok_or_else(invalid)?
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

fn token_error(code: i64, msg: &str) -> Response {
    token_reply(json!({ "code": code, "msg": msg }))
}

/// A vendor error code and message, for endpoints that answer errors with HTTP 200.
type CodeError = (i64, &'static str);

const INVALID_PARAM: CodeError = (10003, "invalid param");

/// The app named by a token request, or the vendor's 10003 / 10014 answer.
async fn app_of_request(feishu: &Feishu, body: axum::body::Body) -> Result<Arc<App>, CodeError> {
    let bytes = read_body(body).await.map_err(|_| INVALID_PARAM)?;
    let credentials: AppCredentials = parse_json(&bytes).map_err(|_| INVALID_PARAM)?;
    let (Some(app_id), Some(secret)) =
        (credentials.app_id.as_str(), credentials.app_secret.as_str())
    else {
        return Err(INVALID_PARAM);
    };
    if app_id.is_empty() || secret.is_empty() {
        return Err(INVALID_PARAM);
    }
    let app = feishu.app(app_id).ok_or((10014, "app id not exists"))?;
    if app.secret != secret {
        return Err((10014, "app secret invalid"));
    }
    Ok(app.clone())
}

pub async fn tenant_access_token(
    State(feishu): State<Arc<Feishu>>,
    body: axum::body::Body,
) -> Response {
    match app_of_request(&feishu, body).await {
        Err((code, msg)) => token_error(code, msg),
        Ok(app) => {
            let (claims, expire) = Claims::for_app(TokenKind::Tenant, app.entity, feishu.now());
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
        Err((code, msg)) => token_error(code, msg),
        Ok(app) => {
            let now = feishu.now();
            let key = &feishu.engine.token_key;
            let (app_token, expire) = Claims::for_app(TokenKind::App, app.entity, now);
            let (tenant_token, _) = Claims::for_app(TokenKind::Tenant, app.entity, now);
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

/// A single-use login code for `user` in `app`, as the browser login would hand to the app.
pub async fn mint_login_code(
    feishu: &Feishu,
    app: &App,
    user: EntityId,
) -> Result<String, StoreError> {
    let code = random_hex(16);
    let now = feishu.now();
    let mut plan = WritePlan::new(app.tenant.space.id, now);
    let attrs = json!({ "app": app.entity, "user": user, "expires_at": now + LOGIN_CODE_TTL });
    plan.create(LOGIN_CODE, &code, attrs, Some(user.into()));
    feishu.engine.store.apply(plan).await?;
    Ok(code)
}

#[derive(Deserialize)]
struct OidcRequest {
    #[serde(default)]
    grant_type: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// OIDC errors are HTTP 200 with a code, like the token endpoints (but in the `data` envelope).
fn oidc_error(code: i64, msg: &str) -> Response {
    json_response(StatusCode::OK, &json!({ "code": code, "msg": msg }))
}

/// Callers authenticate with an app token (as documented) or a tenant token (as the Node SDK does).
fn oidc_caller(feishu: &Feishu, headers: &HeaderMap) -> Result<Arc<App>, CodeError> {
    match authenticate(feishu, headers) {
        Ok(caller) if caller.kind != TokenKind::User => Ok(caller.app),
        Err(e) if e.code == 99991663 => Err((20013, "tenant access token invalid")),
        _ => Err((20014, "app access token invalid")),
    }
}

/// Consume a single-use code or refresh token: `None` if unknown or already used.
async fn consume(
    feishu: &Feishu,
    app: &App,
    kind: &str,
    key: &str,
) -> Result<Option<Value>, ApiError> {
    let store = &feishu.engine.store;
    let Some(entity) = store.find_entity(app.tenant.space.id, kind, key).await? else {
        return Ok(None);
    };
    let mut plan = WritePlan::new(app.tenant.space.id, feishu.now());
    plan.delete(entity.id);
    match store.apply(plan).await {
        Ok(_) => Ok(Some(entity.attrs)),
        // Another request consumed it first.
        Err(StoreError::Refused { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn issue_user_tokens(feishu: &Feishu, app: &App, user: EntityId) -> ApiResult {
    let now = feishu.now();
    let access = Claims::for_user(app.entity, user, now);
    let refresh = format!("ur-{}", random_hex(20));
    let mut plan = WritePlan::new(app.tenant.space.id, now);
    let attrs = json!({ "app": app.entity, "user": user, "expires_at": now + REFRESH_TOKEN_TTL });
    plan.create(REFRESH_TOKEN, &refresh, attrs, Some(user.into()));
    feishu.engine.store.apply(plan).await?;
    Ok(success(json!({
        "access_token": access.seal(&feishu.engine.token_key),
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": access.expires_at - now,
        "refresh_expires_in": REFRESH_TOKEN_TTL,
        "scope": "",
    })))
}

/// The user a code or refresh token was issued for, if it is this app's and still valid.
fn grant_user(attrs: &Value, app: &App, now: i64) -> Result<EntityId, CodeError> {
    if attrs["app"].as_i64() != Some(app.entity) {
        return Err((20024, "app id mismatch"));
    }
    if attrs["expires_at"].as_i64().unwrap_or(0) <= now {
        return Err((0, "expired"));
    }
    attrs["user"].as_i64().ok_or((20008, "user not exist"))
}

/// The two OIDC grants: what they consume and how they fail.
struct Grant {
    grant_type: &'static str,
    /// The entity kind of the single-use credential it consumes.
    consumes: &'static str,
    unknown: CodeError,
    expired: CodeError,
}

const AUTHORIZATION_CODE: Grant = Grant {
    grant_type: "authorization_code",
    consumes: LOGIN_CODE,
    unknown: (20003, "code is invalid"),
    expired: (20004, "code is expired"),
};

const REFRESH: Grant = Grant {
    grant_type: "refresh_token",
    consumes: REFRESH_TOKEN,
    unknown: (20026, "refresh token is invalid"),
    expired: (20037, "refresh token is expired"),
};

pub async fn oidc_access_token(
    State(feishu): State<Arc<Feishu>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    exchange(&feishu, &headers, body, &AUTHORIZATION_CODE).await
}

pub async fn oidc_refresh_access_token(
    State(feishu): State<Arc<Feishu>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    exchange(&feishu, &headers, body, &REFRESH).await
}

/// Trade a login code or a refresh token (consumed, single-use) for a new user token pair.
async fn exchange(
    feishu: &Feishu,
    headers: &HeaderMap,
    body: axum::body::Body,
    grant: &Grant,
) -> Response {
    let app = match oidc_caller(feishu, headers) {
        Ok(app) => app,
        Err((code, msg)) => return oidc_error(code, msg),
    };
    let Ok(request) = read_body(body)
        .await
        .and_then(|b| parse_json::<OidcRequest>(&b))
    else {
        return oidc_error(20001, "invalid request");
    };
    if request.grant_type.as_deref() != Some(grant.grant_type) {
        return oidc_error(20036, "grant_type not supported");
    }
    let credential = match grant.consumes {
        LOGIN_CODE => request.code,
        _ => request.refresh_token,
    };
    let Some(credential) = credential.filter(|c| !c.is_empty()) else {
        return oidc_error(20001, "invalid request");
    };
    let attrs = match consume(feishu, &app, grant.consumes, &credential).await {
        Ok(Some(attrs)) => attrs,
        Ok(None) => return oidc_error(grant.unknown.0, grant.unknown.1),
        Err(e) => return e.into_response(),
    };
    match grant_user(&attrs, &app, feishu.now()) {
        Ok(user) => issue_user_tokens(feishu, &app, user)
            .await
            .unwrap_or_else(IntoResponse::into_response),
        Err((0, _)) => oidc_error(grant.expired.0, grant.expired.1),
        Err((code, msg)) => oidc_error(code, msg),
    }
}
