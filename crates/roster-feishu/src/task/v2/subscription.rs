//! `POST /task/v2/task_v2/task_subscription`: the calling identity (the user of a user token, or
//! the app of a tenant token) subscribes its app to `task.task.update_user_access_v2` for the
//! tasks it created, is an assignee of or follows. A subscription is an entity keyed by the app
//! and the identity, so it survives snapshots and resets as its kind and key.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use roster_core::{EntityFilter, EntityId, PageRequest};
use serde_json::json;

use super::Op;
use crate::auth::Credentials;
use crate::model::APP;
use crate::task::endpoint::Endpoint;
use crate::task::{serve, Call};
use crate::tenants::Feishu;
use crate::wire::{success, ApiError, QueryParams};

pub const SUBSCRIPTION: &str = "feishu.task_subscription";

/// The subscription key of `app_id` for the entity `kind`/`key`.
fn key(app_id: &str, kind: &str, identity: &str) -> String {
    format!("{app_id}/{kind}/{identity}")
}

/// The caller's user was deleted after its token was issued (the endpoint answers `1470500`).
#[derive(Debug, thiserror::Error)]
#[error("the caller's user no longer exists")]
struct CallerGone;

/// `POST /task/v2/task_v2/task_subscription`; subscribing again changes nothing.
pub async fn subscribe(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
) -> Response {
    let endpoint = Endpoint::V2(Op::TaskSubscription);
    serve(
        feishu,
        endpoint,
        credentials,
        query,
        move |call| async move {
            let actor = call.actor();
            let Some((kind, identity)) = named(&call, &[actor]).await?.pop() else {
                return Err(ApiError::internal(CallerGone));
            };
            let mut plan = call.plan();
            let key = key(&call.caller.app.app_id, &kind, &identity);
            plan.upsert(SUBSCRIPTION, key, json!({}), Some(actor.into()));
            let store = &call.feishu().engine.store;
            store.apply(plan).await.map_err(|e| call.write_failed(e))?;
            Ok(success(json!({})))
        },
    )
    .await
}

/// The kind and key of each of `identities` (apps from memory, users from the store).
async fn named(call: &Call, identities: &[EntityId]) -> Result<Vec<(String, String)>, ApiError> {
    let feishu = call.feishu();
    let mut named = Vec::new();
    let mut users = Vec::new();
    for id in identities {
        match feishu.app_by_entity(*id) {
            Some(app) => named.push((APP.to_owned(), app.app_id.clone())),
            None => users.push(*id),
        }
    }
    let store = &feishu.engine.store;
    for entity in store.entities(call.space(), &users).await?.into_values() {
        named.push((entity.kind, entity.key));
    }
    Ok(named)
}

/// Whether any identity of the caller's space has subscribed.
pub async fn any(call: &Call) -> Result<bool, ApiError> {
    let filter = EntityFilter {
        space_id: call.space(),
        kind: SUBSCRIPTION.to_owned(),
        owner: None,
    };
    let page = PageRequest {
        after: None,
        limit: 1,
        newest_first: false,
    };
    let store = &call.feishu().engine.store;
    Ok(!store.list_entities(&filter, page).await?.items.is_empty())
}

/// The apps (by app_id, sorted) subscribed for any of `identities` (users and apps).
pub async fn subscribers(call: &Call, identities: &[EntityId]) -> Result<Vec<String>, ApiError> {
    let apps = call.feishu().apps_of(call.space());
    let named = named(call, identities).await?;
    let keys: Vec<String> = apps
        .iter()
        .flat_map(|app| {
            named
                .iter()
                .map(|(kind, identity)| key(&app.app_id, kind, identity))
        })
        .collect();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let store = &call.feishu().engine.store;
    let found = store
        .find_entities(call.space(), SUBSCRIPTION, &keys)
        .await?;
    Ok(apps
        .iter()
        .filter(|app| {
            let prefix = format!("{}/", app.app_id);
            found.keys().any(|key| key.starts_with(&prefix))
        })
        .map(|app| app.app_id.clone())
        .collect())
}
