//! User logins: single-use login codes (minted by roster's admin route, as a browser login
//! would hand them to the app) and refresh tokens, redeemed for user access tokens.
//!
//! A code or refresh token is consumed only by its own successful redemption: every check
//! (whose it is, whether it expired) comes first, and the consumption and the new refresh
//! token are one plan, so of two racing redemptions exactly one wins and a refused one
//! leaves the credential to its rightful owner.

mod oauth;
mod pkce;
pub mod table;
pub mod v1;

use roster_core::{Entity, EntityId, StoreError, WritePlan};
use serde_json::{json, Value};

use crate::tenants::{App, Feishu};
use crate::tokens::{random_hex, Claims};

pub use oauth::token as oauth_token;
pub use pkce::Challenge;

pub const LOGIN_CODE: &str = "feishu.login_code";
const REFRESH_TOKEN: &str = "feishu.refresh_token";
pub const LOGIN_CODE_TTL: i64 = 300;
const REFRESH_TOKEN_TTL: i64 = 30 * 24 * 3600;
/// How long an expired code or refresh token is still known as expired (20004, 20037) rather
/// than unknown, before housekeeping removes it.
const EXPIRED_KEPT: i64 = 3600;
const REDIRECT_URI: &str = "redirect_uri";
/// A credential names its app by key and its user as its owner, never by row id, so it moves
/// with its space between databases.
const APP_ID: &str = "app_id";

/// The steps removing the tenant's login codes and refresh tokens expired for a while.
pub fn prune_expired(plan: &mut WritePlan) {
    plan.prune(LOGIN_CODE, plan.now - LOGIN_CODE_TTL - EXPIRED_KEPT);
    plan.prune(REFRESH_TOKEN, plan.now - REFRESH_TOKEN_TTL - EXPIRED_KEPT);
}

/// How a login was started, which its code's redemption must match.
#[derive(Debug, Default)]
pub struct Started {
    /// PKCE: the code is redeemed only with the verifier of this challenge.
    pub challenge: Option<Challenge>,
    /// The redemption must name the same `redirect_uri` (where the endpoint takes one).
    pub redirect_uri: Option<String>,
}

/// A single-use login code for `user` in `app`, as the browser login would hand to the app.
pub async fn mint_login_code(
    feishu: &Feishu,
    app: &App,
    user: EntityId,
    started: Started,
) -> Result<String, StoreError> {
    let code = random_hex(16);
    let now = feishu.now();
    let mut plan = WritePlan::new(app.tenant.space.id, now);
    let mut attrs = json!({ APP_ID: app.app_id, "expires_at": now + LOGIN_CODE_TTL });
    if let Some(challenge) = started.challenge {
        attrs[pkce::ATTR] = challenge.to_attr();
    }
    if let Some(uri) = started.redirect_uri {
        attrs[REDIRECT_URI] = json!(uri);
    }
    plan.create(LOGIN_CODE, &code, attrs, Some(user.into()));
    feishu.engine.store.apply(plan).await?;
    Ok(code)
}

/// What a redemption presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    LoginCode,
    RefreshToken,
}

impl Credential {
    fn kind(self) -> &'static str {
        match self {
            Credential::LoginCode => LOGIN_CODE,
            Credential::RefreshToken => REFRESH_TOKEN,
        }
    }
}

/// Why a redemption was refused; the credential is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("unknown or already used")]
    Unknown,
    #[error("expired")]
    Expired,
    #[error("issued to another app")]
    OtherApp,
    #[error("the user no longer exists")]
    NoUser,
    #[error("the PKCE code verifier is missing or does not match")]
    Pkce,
    #[error("the redirect_uri is not the login's")]
    RedirectUri,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new user token pair, and whose it is.
pub struct Issued {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: String,
    pub refresh_expires_in: i64,
    pub user: Entity,
}

/// What a code's redemption presents beside the code.
#[derive(Debug, Default, Clone, Copy)]
pub struct Proof<'a> {
    /// PKCE's `code_verifier`; required for a code minted with a challenge.
    pub code_verifier: Option<&'a str>,
    /// The `redirect_uri` named; `None` where the endpoint takes none (v1).
    pub redirect_uri: Option<&'a str>,
}

/// Redeem `value`, a credential of `app`, for a new token pair: the credential is consumed
/// in the same plan that stores the new refresh token.
pub async fn redeem(
    feishu: &Feishu,
    app: &App,
    credential: Credential,
    value: &str,
    proof: Proof<'_>,
) -> Result<Issued, Refused> {
    let store = &feishu.engine.store;
    let space = app.tenant.space.id;
    let grant = store
        .find_entity(space, credential.kind(), value)
        .await?
        .ok_or(Refused::Unknown)?;
    let now = feishu.now();
    check(&grant.attrs, app, now)?;
    if credential == Credential::LoginCode {
        check_proof(&grant.attrs, proof)?;
    }
    let user = match grant.owner {
        Some(user) => store.entity(space, user).await?,
        None => None,
    }
    .ok_or(Refused::NoUser)?;

    let access = Claims::for_user(app.issuer(), user.id, now);
    let refresh = format!("ur-{}", random_hex(20));
    let mut plan = WritePlan::new(space, now);
    let consumed = plan.delete(grant.id);
    let attrs = json!({ APP_ID: app.app_id, "expires_at": now + REFRESH_TOKEN_TTL });
    plan.create(REFRESH_TOKEN, &refresh, attrs, Some(user.id.into()));
    match store.apply(plan).await {
        Ok(_) => {}
        // Another redemption consumed it first.
        Err(e) if e.refusal_of(consumed).is_some() => return Err(Refused::Unknown),
        Err(e) => return Err(e.into()),
    }
    Ok(Issued {
        access_token: access.seal(&feishu.engine.token_key),
        expires_in: access.expires_at - now,
        refresh_token: refresh,
        refresh_expires_in: REFRESH_TOKEN_TTL,
        user,
    })
}

/// Whether a code or refresh token is this app's and still valid. (Its user is its owner.)
fn check(attrs: &Value, app: &App, now: i64) -> Result<(), Refused> {
    // Credentials stored before they named their app by key name it by row id.
    let issued_to_app = match attrs[APP_ID].as_str() {
        Some(app_id) => app_id == app.app_id,
        None => attrs["app"].as_i64() == Some(app.entity),
    };
    if !issued_to_app {
        return Err(Refused::OtherApp);
    }
    if attrs["expires_at"].as_i64().unwrap_or(0) <= now {
        return Err(Refused::Expired);
    }
    Ok(())
}

/// A code minted with a PKCE challenge needs its verifier; one minted with a redirect_uri
/// needs the same one, where the endpoint takes one.
fn check_proof(attrs: &Value, proof: Proof<'_>) -> Result<(), Refused> {
    if let Some(challenge) = Challenge::from_attr(&attrs[pkce::ATTR]) {
        if !proof.code_verifier.is_some_and(|v| challenge.verifies(v)) {
            return Err(Refused::Pkce);
        }
    }
    match (attrs[REDIRECT_URI].as_str(), proof.redirect_uri) {
        (Some(expected), Some(named)) if expected != named => Err(Refused::RedirectUri),
        _ => Ok(()),
    }
}
