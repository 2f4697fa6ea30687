//! The `[tim]` table of the seed file: apps with their credentials, admins, accounts and limits.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use roster_core::{seeded, Engine, StoreError, WritePlan};
use serde::Deserialize;
use serde_json::json;

use crate::accounts::{self, user_id_problem};
use crate::app::{AppAttrs, CallbackConfig, ACCOUNT_KIND, APP_KIND, DIALECT};
use crate::limits::Limits;
use crate::usersig;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub apps: Vec<AppSeed>,
}

/// One `[[tim.apps]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSeed {
    pub sdkappid: u64,
    /// The console's key: HMAC key of every UserSig of this app (used as-is, not hex-decoded).
    pub secret_key: String,
    /// UserIDs allowed to call the REST API; imported as accounts too.
    pub admins: Vec<String>,
    /// UserIDs imported at start.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// `false` answers every follow command with 30005, like an app without the feature.
    #[serde(default = "enabled")]
    pub follow_enabled: bool,
    #[serde(default)]
    pub limits: Limits,
    /// Where the app's webhooks (after follow, after unfollow) go.
    pub callback_url: Option<String>,
    /// The token of the optional callback authentication (`Sign`, `RequestTime`).
    pub callback_token: Option<String>,
}

fn enabled() -> bool {
    true
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("[[tim.apps]] sdkappid {sdkappid}: {problem}")]
    Invalid { sdkappid: u64, problem: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How long the UserSigs printed at start stay valid: the vendor libraries' default.
const PRINTED_SIG_VALIDITY: i64 = 180 * 86400;

impl Seed {
    /// Create or update every app, its admins and accounts. Idempotent; accounts and follows
    /// made through the API stay. Apps the seed does not declare are left alone: another roster
    /// process on the database may serve them (`DELETE /_roster/spaces/...` removes one).
    pub async fn apply(&self, engine: &Engine) -> Result<(), SeedError> {
        let mut seen = HashSet::new();
        for app in &self.apps {
            if !seen.insert(app.sdkappid) {
                return Err(app.invalid("listed twice"));
            }
            app.check()?;
        }
        for app in &self.apps {
            app.apply(engine).await?;
        }
        Ok(())
    }
}

impl AppSeed {
    fn invalid(&self, problem: impl Into<String>) -> SeedError {
        SeedError::Invalid {
            sdkappid: self.sdkappid,
            problem: problem.into(),
        }
    }

    fn callback(&self) -> Result<Option<CallbackConfig>, String> {
        CallbackConfig::from_keys(self.callback_url.as_deref(), self.callback_token.as_deref())
    }

    fn check(&self) -> Result<(), SeedError> {
        if self.secret_key.is_empty() {
            return Err(self.invalid("secret_key is empty"));
        }
        if self.admins.is_empty() {
            return Err(self.invalid("needs at least one admin"));
        }
        for user_id in self.admins.iter().chain(&self.accounts) {
            if let Some(problem) = user_id_problem(user_id) {
                return Err(self.invalid(problem));
            }
        }
        self.callback().map_err(|why| self.invalid(why))?;
        match self.limits.problem() {
            Some(problem) => Err(self.invalid(problem)),
            None => Ok(()),
        }
    }

    async fn apply(&self, engine: &Engine) -> Result<(), SeedError> {
        let key = self.sdkappid.to_string();
        let space = engine
            .store
            .ensure_space(DIALECT, &key, &self.limits.to_map())
            .await?;
        let fingerprint = seeded::fingerprint(self);
        if seeded::is_seeded(engine, space.id, &fingerprint).await? {
            return Ok(());
        }
        let attrs = AppAttrs {
            secret_key: self.secret_key.clone(),
            admins: self.admins.clone(),
            follow_enabled: self.follow_enabled,
            callback: self.callback().map_err(|why| self.invalid(why))?,
        };
        let mut plan = WritePlan::new(space.id, engine.clock.now());
        let attrs = serde_json::to_value(attrs).expect("app attrs serialize");
        plan.upsert(APP_KIND, key, attrs, None);
        let user_ids: Vec<&str> = self
            .admins
            .iter()
            .chain(&self.accounts)
            .map(String::as_str)
            .collect();
        let existing = accounts::find(engine, space.id, &user_ids).await?;
        for user_id in user_ids {
            if !existing.contains_key(user_id) {
                plan.create(ACCOUNT_KIND, user_id, json!({}), None);
            }
        }
        seeded::record_seeded(&mut plan, &fingerprint);
        engine.store.apply(plan).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl roster_http::DialectSeed for Seed {
    async fn apply(&self, engine: &Engine) -> Result<(), roster_http::SeedError> {
        Ok(Seed::apply(self, engine).await?)
    }

    /// The first app's credentials, as environment variables for `roster exec`.
    fn env(&self) -> Vec<(&'static str, String)> {
        let Some(app) = self.apps.first() else {
            return Vec::new();
        };
        let mut env = vec![
            ("ROSTER_TIM_SDKAPPID", app.sdkappid.to_string()),
            ("ROSTER_TIM_SECRET_KEY", app.secret_key.clone()),
        ];
        if let Some(admin) = app.admins.first() {
            env.push(("ROSTER_TIM_ADMIN", admin.clone()));
        }
        env
    }

    /// Lines telling a newcomer how to call this dialect on `base_url`.
    fn describe(&self, base_url: &str) -> Vec<String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mut lines = Vec::new();
        for app in &self.apps {
            let Some(admin) = app.admins.first() else {
                continue;
            };
            let sig = usersig::sign(
                app.sdkappid,
                app.secret_key.as_bytes(),
                admin,
                now,
                PRINTED_SIG_VALIDITY,
            );
            lines.push(format!(
                "TIM app {} (admin {admin}; UserSig below valid 180 days, mint more with secret_key):",
                app.sdkappid
            ));
            lines.push(format!(
                "  curl -s -d '{{\"CheckItem\":[{{\"UserID\":\"{admin}\"}}]}}' '{base_url}/v4/im_open_login_svc/account_check?sdkappid={}&identifier={admin}&usersig={sig}&random=99999999&contenttype=json'",
                app.sdkappid
            ));
        }
        lines
    }
}
