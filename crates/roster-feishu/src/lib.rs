//! roster's Feishu / Lark Open Platform dialect, served under `/open-apis/`.

mod admin;
mod apaas;
mod auth;
mod bot;
mod control;
mod directory;
mod events;
mod im;
mod login;
mod openapi;
mod profile;
mod seed;
mod task;
mod tenants;
mod tokens;
mod wire;

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use axum::routing::{get, post};
use axum::{middleware, Router};
use roster_core::{Engine, Reload, StoreError, WritePlan};
use roster_http::openapi::OpenApi;
use roster_http::{seed_table, DialectSeed, DialectWire, MountOptions, Mounted};

pub use seed::{Seed, SeedError};

/// The Feishu dialect, as the binary mounts it.
pub struct FeishuDialect;

#[async_trait]
impl roster_http::Dialect for FeishuDialect {
    fn name(&self) -> &'static str {
        tenants::DIALECT
    }

    fn wire_names(&self) -> &'static [&'static str] {
        &[tenants::DIALECT]
    }

    fn seed(&self, text: &str) -> Result<Box<dyn DialectSeed>, roster_http::SeedError> {
        Ok(Box::new(seed_table::<Seed>(text, tenants::DIALECT)?))
    }

    async fn mount(&self, engine: Engine, options: MountOptions) -> Result<Mounted, StoreError> {
        routes(engine, options.retry_scale).await
    }

    fn openapi(&self) -> OpenApi {
        openapi::openapi()
    }
}

/// The limits a tenant's seed may override (see README for each one's vendor default).
pub const LIMITS: &[&str] = &[
    im::chat::CHAT_MEMBERS,
    "task_followers",
    "task_collaborators",
    "task_rate_limit",
    "task_requests_per_second",
    "task_requests_per_minute",
    "task_create_requests_per_minute",
    "task_v2_requests_per_second",
    task::TASKLIST_MEMBERS,
];

/// How often expired login codes, refresh tokens, chat `uuid` and task `client_token` markers
/// are removed.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60);

/// The vendor API, roster-only routes for the admin router (login codes, aPaaS user tasks),
/// the dialect as the control plane sees it and the apps' event subscriptions.
/// `retry_scale` multiplies the waits between event retries.
async fn routes(engine: Engine, retry_scale: f64) -> Result<Mounted, StoreError> {
    let feishu = Arc::new(tenants::Feishu::load(engine.clone()).await?);
    let reload: Arc<dyn Reload> = feishu.clone();
    engine.reloads.register(Arc::downgrade(&reload));
    engine.tombstones.declare(task::DELETED_TASK);
    tokio::spawn(housekeeping(Arc::downgrade(&feishu)));
    let api = Router::new()
        .route(
            "/auth/v3/tenant_access_token/internal",
            post(auth::tenant_access_token),
        )
        .route(
            "/auth/v3/app_access_token/internal",
            post(auth::app_access_token),
        )
        .route(
            "/authen/v1/oidc/access_token",
            login::v1::route(&login::v1::OIDC_CODE),
        )
        .route(
            "/authen/v1/oidc/refresh_access_token",
            login::v1::route(&login::v1::OIDC_REFRESH),
        )
        .route(
            "/authen/v1/access_token",
            login::v1::route(&login::v1::LEGACY_CODE),
        )
        .route(
            "/authen/v1/refresh_access_token",
            login::v1::route(&login::v1::LEGACY_REFRESH),
        )
        .route("/authen/v2/oauth/token", post(login::oauth_token))
        .route("/authen/v1/user_info", get(directory::user_info))
        .route("/contact/v3/users", post(directory::create_user))
        .route("/contact/v3/users/batch", get(directory::batch_get_users))
        .route(
            "/contact/v3/users/batch_get_id",
            post(directory::batch_get_id),
        )
        .route("/contact/v3/users/{user_id}", get(directory::get_user))
        .route("/bot/v3/info", get(bot::info))
        .route(
            "/im/v1/chats",
            get(im::routes::list_chats).post(im::routes::create_chat),
        )
        .route("/im/v1/chats/{chat_id}", get(im::routes::get_chat))
        .route(
            "/im/v1/chats/{chat_id}/members",
            get(im::routes::list_members)
                .post(im::routes::add_members)
                .delete(im::routes::remove_members),
        )
        .route(
            "/im/v1/chats/{chat_id}/members/is_in_chat",
            get(im::routes::is_in_chat),
        )
        .route("/apaas/v1/user_task/query", post(apaas::routes::query))
        .route(
            "/apaas/v1/user_tasks/{task_id}/chat_group",
            post(apaas::routes::chat_group),
        )
        .route("/apaas/v1/user_tasks/{task_id}/cc", post(apaas::routes::cc))
        .route(
            "/apaas/v1/user_tasks/{task_id}/expediting",
            post(apaas::routes::expediting),
        )
        .route(
            "/apaas/v1/user_tasks/{task_id}/rollback",
            post(apaas::routes::rollback),
        )
        .route(
            "/apaas/v1/user_tasks/{task_id}/rollback_points",
            post(apaas::routes::rollback_points),
        )
        .route(
            "/apaas/v1/approval_instances/{approval_instance_id}/cancel",
            post(apaas::routes::cancel),
        )
        .merge(task::routes(feishu.clone()))
        .with_state(feishu.clone());
    let api = wire::slash_tolerant(api).layer(middleware::from_fn(wire::log_id));
    // OAuth v3 lives at the origin root, as on `accounts.feishu.cn`; refusals of the HTTP
    // layer (a wrong method) are Feishu's JSON there too.
    let oauth = Router::new()
        .route("/oauth/v3/token", post(login::oauth_token))
        .with_state(feishu.clone())
        .layer(middleware::from_fn(wire::log_id));
    let admin = Router::new()
        .route("/login_codes", post(admin::login_code))
        .route("/apaas_user_tasks", post(apaas::routes::declare_task))
        .with_state(feishu.clone());
    Ok(Mounted {
        router: Router::new().nest("/open-apis", api).merge(oauth),
        admin: Router::new().nest("/feishu", admin),
        wires: vec![DialectWire {
            name: tenants::DIALECT,
            prefix: "/open-apis/",
            wire: Arc::new(control::FeishuWire(feishu.clone())),
        }],
        callbacks: Arc::new(events::FeishuEvents {
            feishu,
            retry_scale,
        }),
    })
}

/// Remove what has expired, in every tenant, until the routes are dropped.
async fn housekeeping(feishu: Weak<tenants::Feishu>) {
    let mut every = tokio::time::interval(HOUSEKEEPING_EVERY);
    loop {
        every.tick().await;
        let Some(feishu) = feishu.upgrade() else {
            return;
        };
        for space in feishu.spaces() {
            let mut plan = WritePlan::new(space, feishu.now());
            login::prune_expired(&mut plan);
            im::chat::prune_markers(&mut plan);
            task::prune_client_tokens(&mut plan);
            if let Err(e) = feishu.engine.store.apply(plan).await {
                tracing::warn!("feishu housekeeping of space {space}: {e}");
            }
        }
    }
}
