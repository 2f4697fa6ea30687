//! roster's Feishu / Lark Open Platform dialect, served under `/open-apis/`.

mod admin;
mod auth;
mod directory;
mod seed;
mod task;
mod tenants;
mod tokens;
mod wire;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::{middleware, Router};
use roster_core::{Engine, StoreError};

pub use seed::{Seed, SeedError};

/// The limits a tenant's seed may override (see README for each one's vendor default).
pub const LIMITS: &[&str] = &[
    "task_followers",
    "task_collaborators",
    "task_rate_limit",
    "task_requests_per_second",
    "task_requests_per_minute",
    "task_create_requests_per_minute",
];

/// The dialect's routes: the vendor API, and roster-only routes for the admin router.
pub struct Routes {
    pub api: Router,
    pub admin: Router,
}

pub async fn routes(engine: Engine) -> Result<Routes, StoreError> {
    let feishu = Arc::new(tenants::Feishu::load(engine).await?);
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
            post(auth::oidc_access_token),
        )
        .route(
            "/authen/v1/oidc/refresh_access_token",
            post(auth::oidc_refresh_access_token),
        )
        .route("/authen/v1/user_info", get(directory::user_info))
        .route("/contact/v3/users", post(directory::create_user))
        .route("/contact/v3/users/batch", get(directory::batch_get_users))
        .route(
            "/contact/v3/users/batch_get_id",
            post(directory::batch_get_id),
        )
        .route("/contact/v3/users/{user_id}", get(directory::get_user))
        .merge(task::routes(feishu.clone()))
        .fallback(wire::not_found)
        .layer(middleware::from_fn(wire::log_id))
        .with_state(feishu.clone());
    let admin = Router::new()
        .route("/login_codes", post(admin::login_code))
        .with_state(feishu);
    Ok(Routes {
        api: Router::new().nest("/open-apis", api),
        admin: Router::new().nest("/feishu", admin),
    })
}
