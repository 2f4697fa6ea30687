//! roster's Feishu / Lark Open Platform dialect, served under `/open-apis/`.

mod admin;
mod apaas;
mod auth;
mod bot;
mod control;
mod directory;
mod endpoints;
mod events;
mod im;
mod login;
mod model;
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
use roster_core::{Engine, Reload, StoreError, WritePlan};
use roster_http::openapi::OpenApi;
use roster_http::{seed_table, DialectSeed, DialectWire, MountOptions, Mounted};

pub use seed::{Seed, SeedError};

/// The Feishu dialect, as the binary mounts it.
pub struct FeishuDialect;

#[async_trait]
impl roster_http::Dialect for FeishuDialect {
    fn name(&self) -> &'static str {
        model::DIALECT
    }

    fn wire_names(&self) -> &'static [&'static str] {
        &[model::DIALECT]
    }

    fn seed(&self, text: &str) -> Result<Box<dyn DialectSeed>, roster_http::SeedError> {
        Ok(Box::new(seed_table::<Seed>(text, model::DIALECT)?))
    }

    async fn mount(&self, engine: Engine, options: MountOptions) -> Result<Mounted, StoreError> {
        routes(engine, options.retry_scale).await
    }

    fn openapi(&self) -> OpenApi {
        endpoints::openapi()
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
    Ok(Mounted {
        router: endpoints::router(feishu.clone()),
        admin: endpoints::admin_router(feishu.clone()),
        wires: vec![DialectWire {
            name: model::DIALECT,
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
