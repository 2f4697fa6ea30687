//! The `[feishu]` table of the seed file.

use std::collections::{BTreeMap, HashSet};

use roster_core::{seeded, Engine, StoreError, WritePlan};
use serde::Deserialize;
use serde_json::json;

use crate::apaas::tasks::{declare, DeclareError, UserTaskSeed};
use crate::directory::index_user;
use crate::model::{kunlun_id, Subscription, APP, DIALECT, KUNLUN_ID, TENANT, USER};
use crate::tenants::{all_entities, Tenant};
use crate::LIMITS;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub tenants: Vec<TenantSeed>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSeed {
    pub tenant_key: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub apps: Vec<AppSeed>,
    #[serde(default)]
    pub users: Vec<UserSeed>,
    /// Overrides of vendor limits, by name (see README).
    #[serde(default)]
    pub limits: BTreeMap<String, i64>,
    #[serde(default)]
    pub apaas_user_tasks: Vec<UserTaskSeed>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSeed {
    pub app_id: String,
    pub app_secret: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Its bot's avatar, as `bot/v3/info` shows it.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// The app's event subscription: its request URL, Verification Token, optional Encrypt
    /// Key and the event types it subscribes to (all when absent).
    #[serde(default)]
    pub event_url: Option<String>,
    #[serde(default)]
    pub verification_token: Option<String>,
    #[serde(default)]
    pub encrypt_key: Option<String>,
    #[serde(default)]
    pub events: Option<Vec<String>>,
}

impl AppSeed {
    fn subscription(&self) -> Result<Option<Subscription>, String> {
        Subscription::from_keys(
            self.event_url.as_deref(),
            self.verification_token.as_deref(),
            self.encrypt_key.as_deref(),
            self.events.as_deref(),
        )
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSeed {
    /// The tenant-scoped id; open_id (per app) and union_id are derived from it, stably.
    pub user_id: String,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub mobile: Option<String>,
    #[serde(default)]
    pub en_name: Option<String>,
    /// One URL for every avatar size.
    #[serde(default)]
    pub avatar_url: Option<String>,
    #[serde(default)]
    pub enterprise_email: Option<String>,
    #[serde(default)]
    pub employee_no: Option<String>,
    /// The aPaaS user id; a stable one is derived when absent.
    #[serde(default)]
    pub kunlun_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("feishu seed: {0}")]
    Invalid(String),
    #[error("feishu seed, tenant {tenant}: {source}")]
    UserTask {
        tenant: String,
        source: DeclareError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn first_repeat<'a>(mut ids: impl Iterator<Item = &'a String>) -> Option<&'a String> {
    let mut seen = HashSet::new();
    ids.find(|id| !seen.insert(*id))
}

impl Seed {
    fn validate(&self) -> Result<(), SeedError> {
        let mut app_ids = HashSet::new();
        let mut tenant_keys = HashSet::new();
        for tenant in &self.tenants {
            let invalid = |why: String| Err(SeedError::Invalid(why));
            if tenant.tenant_key.is_empty() || !tenant_keys.insert(&tenant.tenant_key) {
                return invalid(format!(
                    "tenant_key {:?} is empty or repeated",
                    tenant.tenant_key
                ));
            }
            for app in &tenant.apps {
                if app.app_id.is_empty() || app.app_secret.is_empty() {
                    return invalid(format!(
                        "an app of tenant {} lacks app_id or app_secret",
                        tenant.tenant_key
                    ));
                }
                if !app_ids.insert(&app.app_id) {
                    return invalid(format!("app_id {} is declared twice", app.app_id));
                }
                if let Err(why) = app.subscription() {
                    return invalid(format!("app {}: {why}", app.app_id));
                }
            }
            if let Some(user) = tenant.users.iter().find(|u| u.user_id.is_empty()) {
                return invalid(format!(
                    "user {:?} of tenant {} has an empty user_id",
                    user.name, tenant.tenant_key
                ));
            }
            let repeats = [
                (
                    "user task",
                    first_repeat(tenant.apaas_user_tasks.iter().map(|t| &t.task_id)),
                ),
                (
                    "kunlun_id",
                    first_repeat(tenant.users.iter().filter_map(|u| u.kunlun_id.as_ref())),
                ),
            ];
            if let Some((what, id)) = repeats.into_iter().find_map(|(w, id)| Some((w, id?))) {
                return invalid(format!(
                    "{what} {id:?} appears twice in tenant {}",
                    tenant.tenant_key
                ));
            }
            if let Some(name) = tenant.limits.keys().find(|n| !LIMITS.contains(&n.as_str())) {
                return invalid(format!(
                    "unknown limit {name:?} for tenant {}; known limits: {}",
                    tenant.tenant_key,
                    LIMITS.join(", ")
                ));
            }
        }
        Ok(())
    }

    pub async fn apply(&self, engine: &Engine) -> Result<(), SeedError> {
        self.validate()?;
        let now = engine.clock.now();
        for seed in &self.tenants {
            let space = engine
                .store
                .ensure_space(DIALECT, &seed.tenant_key, &seed.limits)
                .await?;
            let fingerprint = seeded::fingerprint(seed);
            if seeded::is_seeded(engine, space.id, &fingerprint).await? {
                continue;
            }
            let name = seed.name.clone().unwrap_or_else(|| seed.tenant_key.clone());
            let mut plan = WritePlan::new(space.id, now);
            plan.upsert(TENANT, &seed.tenant_key, json!({ "name": name }), None);
            let apps_before: Vec<String> = all_entities(engine, space.id, APP)
                .await?
                .into_iter()
                .map(|app| app.key)
                .collect();
            let mut app_ids = apps_before.clone();
            for app in &seed.apps {
                let mut attrs = json!({ "secret": app.app_secret, "name": app.name });
                if let Some(avatar_url) = &app.avatar_url {
                    attrs["avatar_url"] = json!(avatar_url);
                }
                if let Ok(Some(subscription)) = app.subscription() {
                    attrs["subscription"] = json!(subscription);
                }
                plan.upsert(APP, &app.app_id, attrs, None);
                if !app_ids.contains(&app.app_id) {
                    app_ids.push(app.app_id.clone());
                }
            }
            let tenant = Tenant {
                key: seed.tenant_key.clone(),
                app_ids,
                space: space.clone(),
            };
            if tenant.app_ids.len() != apps_before.len() {
                // Users made through the API before this app existed get their open_id in it.
                for user in all_entities(engine, space.id, USER).await? {
                    index_user(&mut plan, &tenant, user.id.into(), &user.key, &user.attrs);
                }
            }
            let keys: Vec<String> = seed.users.iter().map(|u| u.user_id.clone()).collect();
            let mut existing = engine.store.find_entities(space.id, USER, &keys).await?;
            for user in &seed.users {
                let mut attrs = existing
                    .remove(&user.user_id)
                    .map_or_else(|| json!({}), |e| e.attrs);
                attrs["name"] = json!(user.name);
                attrs["email"] = json!(user.email.clone().unwrap_or_default());
                attrs["mobile"] = json!(user.mobile.clone().unwrap_or_default());
                for (key, value) in [
                    ("en_name", &user.en_name),
                    ("avatar_url", &user.avatar_url),
                    ("enterprise_email", &user.enterprise_email),
                    ("employee_no", &user.employee_no),
                ] {
                    attrs[key] = json!(value.clone().unwrap_or_default());
                }
                if let Some(kunlun_id) = &user.kunlun_id {
                    attrs[KUNLUN_ID] = json!(kunlun_id);
                }
                let stored = plan.upsert(USER, &user.user_id, attrs.clone(), None);
                index_user(&mut plan, &tenant, stored.into(), &user.user_id, &attrs);
            }
            engine.store.apply(plan).await?;
            for task in &seed.apaas_user_tasks {
                declare(engine, &space, task)
                    .await
                    .map_err(|source| SeedError::UserTask {
                        tenant: seed.tenant_key.clone(),
                        source,
                    })?;
            }
            // Last: a start that dies before this applies the seed again.
            let mut plan = WritePlan::new(space.id, now);
            seeded::record_seeded(&mut plan, &fingerprint);
            engine.store.apply(plan).await?;
        }
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
        let Some((tenant, app)) = self.tenants.iter().find_map(|t| Some((t, t.apps.first()?)))
        else {
            return Vec::new();
        };
        vec![
            ("ROSTER_FEISHU_TENANT_KEY", tenant.tenant_key.clone()),
            ("ROSTER_FEISHU_APP_ID", app.app_id.clone()),
            ("ROSTER_FEISHU_APP_SECRET", app.app_secret.clone()),
        ]
    }

    fn describe(&self, base_url: &str) -> Vec<String> {
        let mut lines = Vec::new();
        for tenant in &self.tenants {
            let users: Vec<&str> = tenant.users.iter().map(|u| u.user_id.as_str()).collect();
            for app in &tenant.apps {
                lines.push(format!(
                    "Feishu: tenant {} app_id={} app_secret={} users (user_id): {} -- SDK domain: {base_url}",
                    tenant.tenant_key,
                    app.app_id,
                    app.app_secret,
                    users.join(", ")
                ));
            }
            let kunlun_ids: Vec<String> = tenant
                .users
                .iter()
                .map(|u| {
                    let id = kunlun_id(&tenant.tenant_key, &u.user_id, u.kunlun_id.as_deref());
                    format!("{}={id}", u.user_id)
                })
                .collect();
            if !kunlun_ids.is_empty() {
                lines.push(format!(
                    "Feishu: tenant {} aPaaS kunlun ids (user_id=kunlun_id): {}",
                    tenant.tenant_key,
                    kunlun_ids.join(", ")
                ));
            }
        }
        lines
    }
}
