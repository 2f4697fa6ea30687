//! Tasks: create, get, list, patch, delete, complete, uncomplete.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use roster_core::{
    Entity, EntityFilter, EntityId, Page, PageRequest, Refusal, StoreError, WritePlan,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::endpoint::{Code, Endpoint, Role};
use super::fields::{Extras, Fields, Record, Rendering, TaskInput, NOT_UPDATABLE, UPDATABLE};
use super::{by_id, page_data, serve, Access, Call};
use crate::auth::Credentials;
use crate::directory::IdType;
use crate::model::TASK;
use crate::tenants::Feishu;
use crate::tokens::TokenKind;
use crate::wire::{success, ApiError, ApiResult, QueryParams};

/// What remains of a deleted task: its id, so deleting it again answers `1470433` (a
/// tombstone: removed past the retention horizon).
pub const DELETED_TASK: &str = "feishu.task.deleted";
const MAX_LIST_PAGE_SIZE: i64 = 100;
/// `source` of a task created with a tenant token, and with a user token.
pub(super) const SOURCE_APP: i64 = 6;
pub(super) const SOURCE_USER: i64 = 7;

/// A fresh task id: a lowercase version-4 UUID, as Feishu's.
pub(super) fn new_task_id() -> String {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

pub(super) fn record_of(task: &Entity) -> Result<Record, ApiError> {
    serde_json::from_value(task.attrs.clone()).map_err(ApiError::internal)
}

/// Tasks as the wire shows them, every user id of the request's `user_id_type`.
async fn render(
    call: &Call,
    tasks: &[Entity],
    with_can_edit: bool,
) -> Result<Vec<Value>, ApiError> {
    let mut parts = Vec::with_capacity(tasks.len());
    let mut users = Vec::new();
    let ids: Vec<EntityId> = tasks.iter().map(|task| task.id).collect();
    let mut followers_of = call.members_of(&ids, Role::Follower).await?;
    let mut collaborators_of = call.members_of(&ids, Role::Collaborator).await?;
    for task in tasks {
        let record = record_of(task)?;
        let followers = followers_of.remove(&task.id).unwrap_or_default();
        let collaborators = collaborators_of.remove(&task.id).unwrap_or_default();
        users.extend(&followers);
        users.extend(&collaborators);
        if record.source == SOURCE_USER {
            users.extend(task.owner);
        }
        parts.push((record, followers, collaborators));
    }
    let ids = call.user_ids(&users).await?;
    let wire = |users: &[EntityId]| -> Vec<String> {
        users.iter().filter_map(|u| ids.get(u).cloned()).collect()
    };
    Ok(tasks
        .iter()
        .zip(parts)
        .map(|(task, (record, followers, collaborators))| {
            let creator_id = creator_id(call, task, &record, &ids);
            record.render(
                task,
                Rendering {
                    creator_id,
                    followers: wire(&followers),
                    collaborators: wire(&collaborators),
                    with_can_edit,
                },
            )
        })
        .collect())
}

/// The creator's id: a user's of the requested type; for a task an app made with its tenant
/// token, the app's own open_id (apps have no user_id or union_id).
fn creator_id(
    call: &Call,
    task: &Entity,
    record: &Record,
    user_ids: &HashMap<EntityId, String>,
) -> Option<String> {
    let owner = task.owner?;
    if record.source == SOURCE_USER {
        return user_ids.get(&owner).cloned();
    }
    (call.id_type == IdType::OpenId)
        .then(|| call.feishu().app_by_entity(owner).map(|app| app.open_id()))
        .flatten()
}

/// `POST /task/v1/tasks`.
pub async fn create(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    body: Body,
) -> Response {
    serve(
        feishu,
        Endpoint::Create,
        credentials,
        query,
        move |call| async move {
            let input: TaskInput = call.body(body).await?;
            let members = [
                (
                    Role::Follower,
                    input.follower_ids.clone().unwrap_or_default(),
                ),
                (
                    Role::Collaborator,
                    input.collaborator_ids.clone().unwrap_or_default(),
                ),
            ];
            let mut users = Vec::new();
            for (_, ids) in &members {
                users.push(call.users(ids).await?);
            }
            let fields = Fields::create(&input, call.endpoint)?;
            for ((role, ids), found) in members.iter().zip(&users) {
                if ids.iter().any(String::is_empty) {
                    return Err(call.error(role.invalid_id()));
                }
                if found.len() as i64 > call.cap(*role) {
                    return Err(call.error(role.full()));
                }
            }
            let source = if call.caller.kind == TokenKind::User {
                SOURCE_USER
            } else {
                SOURCE_APP
            };
            let record = Record {
                fields,
                source,
                complete_time: 0,
                extras: Extras::default(),
            };
            let mut identities = vec![call.actor()];
            identities.extend(users.iter().flat_map(|found| found.values().copied()));
            let mut plan = call.create_plan(identities).await?;
            let task = plan.create(
                TASK,
                new_task_id(),
                json!(record),
                Some(call.actor().into()),
            );
            for ((role, ids), found) in members.iter().zip(&users) {
                if !ids.is_empty() {
                    let members = ids.iter().map(|id| found[id]).collect();
                    call.add_members(&mut plan, task.into(), *role, members);
                }
            }
            let task = call
                .feishu()
                .engine
                .store
                .apply(plan)
                .await?
                .into_entity(task);
            let task = render(&call, &[task], false).await?.remove(0);
            Ok(success(json!({ "task": task })))
        },
    )
    .await
}

/// `GET /task/v1/tasks/:task_id`.
pub async fn get(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(task_id): Path<String>,
) -> Response {
    serve(
        feishu,
        Endpoint::Get,
        credentials,
        query,
        move |call| async move {
            let task = call.task(&task_id).await?;
            call.require(&task, Access::Read).await?;
            let task = render(&call, &[task], true).await?.remove(0);
            Ok(success(json!({ "task": task })))
        },
    )
    .await
}

/// The next tasks of the caller's list: those its app created (tenant token), or those its
/// user created, follows or collaborates on (user token); in creation order.
async fn list_page(call: &Call, after: Option<i64>, limit: u32) -> Result<Page<Entity>, ApiError> {
    let store = &call.feishu().engine.store;
    let page = PageRequest {
        after,
        limit,
        newest_first: false,
    };
    Ok(match call.caller.user {
        None => {
            let filter = EntityFilter {
                space_id: call.space(),
                kind: TASK.into(),
                owner: Some(call.actor()),
            };
            store.list_entities(&filter, page).await?
        }
        Some(user) => {
            let relations = [Role::Follower.relation(), Role::Collaborator.relation()];
            store
                .list_linked(call.space(), TASK, user, &relations, page)
                .await?
        }
    })
}

/// `GET /task/v1/tasks`, filtered by `start_create_time`, `end_create_time` (Unix seconds,
/// inclusive) and `task_completed`.
pub async fn list(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
) -> Response {
    serve(
        feishu,
        Endpoint::List,
        credentials,
        query,
        move |call| async move {
            let limit = call.page_size(MAX_LIST_PAGE_SIZE, call.error(Code::PageSizeTooLarge))?;
            let start = call.query.int("start_create_time")?.unwrap_or(i64::MIN);
            let end = call.query.int("end_create_time")?.unwrap_or(i64::MAX);
            let completed = call.query.bool("task_completed")?;
            let scope = format!("feishu/tasks/{}", call.actor());
            let keep = |task: &Entity| {
                let done = record_of(task)?.complete_time != 0;
                Ok((start..=end).contains(&task.created_at)
                    && completed.is_none_or(|wanted| wanted == done))
            };
            let read = |after, limit| {
                let call = &call;
                async move { Ok(by_id(list_page(call, after, limit).await?)) }
            };
            let (items, next) = call.filtered_tasks(&scope, limit, read, keep).await?;
            let data = page_data(render(&call, &items, true).await?, next);
            Ok(success(data))
        },
    )
    .await
}

#[derive(Deserialize)]
struct PatchRequest {
    task: Option<TaskInput>,
    update_fields: Option<Vec<String>>,
}

/// `PATCH /task/v1/tasks/:task_id`: set the `update_fields` from `task`. Waits for a write in
/// progress on the task rather than failing (the endpoint documents no `1470451`).
pub async fn patch(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(task_id): Path<String>,
    body: Body,
) -> Response {
    serve(
        feishu,
        Endpoint::Patch,
        credentials,
        query,
        move |call| async move {
            let request: PatchRequest = call.body(body).await?;
            let names = request.update_fields.unwrap_or_default();
            if names.is_empty() {
                return Err(call.error(Code::NoUpdateField));
            }
            let known = |name: &String| {
                UPDATABLE.contains(&name.as_str()) || NOT_UPDATABLE.contains(&name.as_str())
            };
            if !names.iter().all(known) {
                return Err(call.error(Code::UnknownUpdateField));
            }
            if names
                .iter()
                .any(|name| NOT_UPDATABLE.contains(&name.as_str()))
            {
                return Err(call.error(Code::ForbiddenUpdateField));
            }
            let task = call.task(&task_id).await?;
            call.require(&task, Access::Edit).await?;
            call.lock(&task).await?;
            let task = call.task(&task_id).await?;
            let mut record = record_of(&task)?;
            record
                .fields
                .update(&names, &request.task.unwrap_or_default(), call.endpoint)?;
            let mut plan = call.plan();
            let updated = plan.update(task.id, json!(record));
            let task = call
                .feishu()
                .engine
                .store
                .apply(plan)
                .await
                .map_err(|e| call.write_failed(e))?
                .into_entity(updated);
            let task = render(&call, &[task], false).await?.remove(0);
            Ok(success(json!({ "task": task })))
        },
    )
    .await
}

/// `PATCH /task/v1/tasks/` (an empty task_id): `1470423`.
pub async fn patch_without_id(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
) -> Response {
    serve(
        feishu,
        Endpoint::Patch,
        credentials,
        query,
        |call| async move { Err(call.error(Code::MissingTaskId)) },
    )
    .await
}

/// `DELETE /task/v1/tasks/:task_id`: the task goes with its followers and collaborators.
pub async fn delete(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(task_id): Path<String>,
) -> Response {
    serve(
        feishu,
        Endpoint::Delete,
        credentials,
        query,
        move |call| async move {
            let store = &call.feishu().engine.store;
            let task = match store.find_entity(call.space(), TASK, &task_id).await? {
                Some(task) => task,
                None => {
                    let deleted = store
                        .find_entity(call.space(), DELETED_TASK, &task_id)
                        .await?;
                    return Err(call.error(if deleted.is_some() {
                        Code::Deleted
                    } else {
                        Code::NoTask
                    }));
                }
            };
            call.require(&task, Access::Edit).await?;
            call.try_lock(&task).await?;
            let mut plan = call.delete_plan(&task).await?;
            plan.upsert(DELETED_TASK, task.key.clone(), json!({}), None);
            plan.delete(task.id);
            match store.apply(plan).await {
                Ok(_) => Ok(success(json!({}))),
                // Deleted by a concurrent request.
                Err(StoreError::Refused {
                    refusal: Refusal::NotFound,
                    ..
                }) => Err(call.error(Code::Deleted)),
                Err(e) => Err(e.into()),
            }
        },
    )
    .await
}

/// Complete (`complete_time` = now, kept if already complete) or reopen (`"0"`) a task.
async fn set_completion(call: Call, task_id: String, complete: bool) -> ApiResult {
    let task = call.task(&task_id).await?;
    call.require(&task, Access::Edit).await?;
    call.try_lock(&task).await?;
    let task = call.task(&task_id).await?;
    let mut record = record_of(&task)?;
    let now = call.feishu().now();
    record.complete_time = match (complete, record.complete_time) {
        (false, _) => 0,
        (true, 0) => now,
        (true, earlier) => earlier,
    };
    let mut plan = WritePlan::new(call.space(), now);
    plan.update(task.id, json!(record));
    call.feishu()
        .engine
        .store
        .apply(plan)
        .await
        .map_err(|e| call.write_failed(e))?;
    Ok(success(json!({})))
}

/// `POST /task/v1/tasks/:task_id/complete`.
pub async fn complete(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(task_id): Path<String>,
) -> Response {
    serve(
        feishu,
        Endpoint::Complete,
        credentials,
        query,
        move |call| set_completion(call, task_id, true),
    )
    .await
}

/// `POST /task/v1/tasks/:task_id/uncomplete`.
pub async fn uncomplete(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(task_id): Path<String>,
) -> Response {
    serve(
        feishu,
        Endpoint::Uncomplete,
        credentials,
        query,
        move |call| set_completion(call, task_id, false),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_are_v4_uuids() {
        let id = new_task_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(id
            .chars()
            .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)));
        assert_ne!(id, new_task_id());
    }
}
