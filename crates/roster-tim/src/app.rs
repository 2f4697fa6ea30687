//! The apps (SDKAppIDs) roster serves, held in memory so a request is authenticated without a
//! database round trip, and read again after a reset or snapshot load.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use roster_core::{Engine, SpaceId, StoreError};
use serde::{Deserialize, Serialize};

use crate::limits::Limits;
use crate::usersig::VerifiedSigs;

/// Spaces of this dialect are keyed by the SDKAppID in decimal.
pub const DIALECT: &str = "tim";
/// One per space: the app's credentials, keyed by the SDKAppID.
pub const APP_KIND: &str = "tim.app";
/// An imported account, keyed by its UserID.
pub const ACCOUNT_KIND: &str = "tim.account";
/// `follower --follows--> followed`.
pub const FOLLOWS: &str = "tim.follows";
/// Kept by the engine on both sides while two accounts follow each other.
pub const MUTUAL: &str = "tim.mutual";

/// What the app entity stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppAttrs {
    pub secret_key: String,
    pub admins: Vec<String>,
    pub follow_enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<CallbackConfig>,
}

/// Where the app's webhooks go (the console's callback URL), and the token of the console's
/// optional callback authentication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallbackConfig {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl CallbackConfig {
    /// From the seed file's keys (`callback_url`, `callback_token`); none without a URL.
    pub fn from_keys(
        url: Option<&str>,
        token: Option<&str>,
    ) -> Result<Option<CallbackConfig>, String> {
        let Some(url) = url else {
            return match token {
                Some(_) => Err("callback_token needs a callback_url".into()),
                None => Ok(None),
            };
        };
        roster_core::check_callback_url(url).map_err(|why| format!("callback_url: {why}"))?;
        if token.is_some_and(|token| token.is_empty() || token.len() > 128) {
            return Err("callback_token is 1 to 128 characters".into());
        }
        Ok(Some(CallbackConfig {
            url: url.to_string(),
            token: token.map(str::to_string),
        }))
    }

    /// As the seed file's keys.
    pub fn keys(&self) -> serde_json::Value {
        let mut keys = serde_json::json!({ "callback_url": self.url });
        if let Some(token) = &self.token {
            keys["callback_token"] = token.as_str().into();
        }
        keys
    }
}

#[derive(Debug)]
pub struct App {
    pub sdkappid: u64,
    pub space_id: SpaceId,
    pub secret_key: String,
    pub admins: HashSet<String>,
    pub follow_enabled: bool,
    pub limits: Limits,
    pub callback: Option<CallbackConfig>,
    /// The admins' UserSigs verified under `secret_key`.
    pub verified_sigs: VerifiedSigs,
}

impl App {
    /// Every app the store knows, by SDKAppID.
    pub async fn load_all(engine: &Engine) -> Result<HashMap<u64, Arc<App>>, StoreError> {
        let mut apps = HashMap::new();
        for space in engine.store.spaces(DIALECT).await? {
            let Some(entity) = engine
                .store
                .find_entity(space.id, APP_KIND, &space.key)
                .await?
            else {
                continue; // retired: no longer in the seed file
            };
            let invalid = |e: serde_json::Error| {
                StoreError::backend(format!("stored TIM app {} is invalid: {e}", space.key))
            };
            let attrs: AppAttrs = serde_json::from_value(entity.attrs).map_err(invalid)?;
            let sdkappid = space
                .key
                .parse()
                .map_err(|e| StoreError::backend(format!("TIM space key {}: {e}", space.key)))?;
            apps.insert(
                sdkappid,
                Arc::new(App {
                    sdkappid,
                    space_id: space.id,
                    secret_key: attrs.secret_key,
                    admins: attrs.admins.into_iter().collect(),
                    follow_enabled: attrs.follow_enabled,
                    limits: Limits::from_map(&space.limits).map_err(invalid)?,
                    callback: attrs.callback,
                    verified_sigs: VerifiedSigs::default(),
                }),
            );
        }
        Ok(apps)
    }
}
