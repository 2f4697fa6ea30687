//! A task's followers and collaborators: add (`id` and `id_list`, all or nothing), list (paged),
//! remove one, batch remove. One set of handlers, for the [`Role`] of the route.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use roster_core::{batch_outcomes, Direction, Outcome, PageRequest, RemoveEdges};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map};

use super::endpoint::{Endpoint, Role};
use super::{serve, Access, Call};
use crate::auth::Credentials;
use crate::tenants::Feishu;
use crate::wire::{success, ApiError, QueryParams};

const MAX_PAGE_SIZE: i64 = 50;

#[derive(Deserialize)]
struct AddRequest {
    id: Option<String>,
    id_list: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct BatchRemoveRequest {
    #[serde(default)]
    id_list: Vec<String>,
}

/// `POST /task/v1/tasks/:task_id/{followers,collaborators}`: add the users of `id` and
/// `id_list`, de-duplicated. Nothing is written if any id is invalid or the task would exceed
/// its cap; `1470430`/`1470431` if every one already has the role.
pub async fn add(
    role: Role,
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(task_id): Path<String>,
    body: Body,
) -> Response {
    serve(
        feishu,
        Endpoint::AddMembers(role),
        credentials,
        query,
        move |call| async move {
            let request: AddRequest = call.body(body).await?;
            let ids: Vec<String> = request
                .id
                .iter()
                .chain(request.id_list.iter().flatten())
                .cloned()
                .collect();
            let users = call.users(&ids).await?;
            let task = call.task(&task_id).await?;
            call.require(&task, Access::Edit).await?;
            if ids.is_empty() || ids.iter().any(String::is_empty) {
                return Err(call.error(role.invalid_id()));
            }
            call.try_lock(&task).await?;
            let members: Vec<roster_core::EntityId> = ids.iter().map(|id| users[id]).collect();
            let mut plan = call.task_plan(&task, &members).await?;
            let added = call.add_members(&mut plan, task.id.into(), role, members);
            let applied = call.feishu().engine.store.apply(plan).await;
            let outcomes = batch_outcomes(applied, added).map_err(|e| call.write_failed(e))?;
            if outcomes.iter().any(|(_, outcome)| outcome.is_full()) {
                return Err(call.error(role.full()));
            }
            if outcomes
                .iter()
                .any(|(_, outcome)| *outcome == Outcome::UnknownMember)
            {
                return Err(call.error(role.invalid_id()));
            }
            if outcomes
                .iter()
                .all(|(_, outcome)| *outcome == Outcome::AlreadyPresent)
            {
                return Err(call.error(role.all_present()));
            }
            let mut echo = Map::new();
            if let Some(id) = request.id {
                echo.insert("id".into(), json!(id));
            }
            if let Some(id_list) = request.id_list {
                echo.insert("id_list".into(), json!(id_list));
            }
            Ok(success(json!({ role.relation(): echo })))
        },
    )
    .await
}

/// A page of followers or collaborators, its fields in the order of every other answer
/// (sorted, as serde_json writes a map).
#[derive(Serialize)]
struct MemberPage<'a> {
    has_more: bool,
    items: Vec<MemberId<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_token: Option<String>,
}

#[derive(Serialize)]
struct MemberId<'a> {
    id: &'a str,
}

/// `GET /task/v1/tasks/:task_id/{followers,collaborators}`: in the order they were added,
/// `page_size` at most 50, with a page token sealed for this task's list.
pub async fn list(
    role: Role,
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(task_id): Path<String>,
) -> Response {
    serve(
        feishu,
        Endpoint::ListMembers(role),
        credentials,
        query,
        move |call| async move {
            let over_max = ApiError::field_validation(
                "page_size",
                &format!("page_size must be at most {MAX_PAGE_SIZE}"),
            );
            let limit = call.page_size(MAX_PAGE_SIZE, over_max)?;
            let task = call.task(&task_id).await?;
            call.require(&task, Access::Read).await?;
            let scope = format!("feishu/task/{}/{}", task.id, role.plural());
            let page = call
                .feishu()
                .engine
                .store
                .list_edges_aliases(
                    task.space_id,
                    task.id,
                    role.relation(),
                    Direction::Members,
                    &call.id_type.namespace(&call.caller.app),
                    PageRequest {
                        after: call.page_position(&scope)?,
                        limit,
                        newest_first: false,
                    },
                )
                .await?;
            let items = page
                .items
                .iter()
                .filter_map(|(_, id)| id.as_deref())
                .map(|id| MemberId { id })
                .collect();
            Ok(success(MemberPage {
                has_more: page.next.is_some(),
                items,
                page_token: page.next.map(|next| call.page_token(&scope, next)),
            }))
        },
    )
    .await
}

/// Whether removing `users` needs only read access: a user may always stop following a task.
fn leaving_self(call: &Call, role: Role, users: &[roster_core::EntityId]) -> bool {
    role == Role::Follower
        && !users.is_empty()
        && users.iter().all(|user| Some(*user) == call.caller.user)
}

/// Remove `ids` from the task's `role`; the wire ids of those that had it.
async fn remove_members(
    call: &Call,
    role: Role,
    task_id: &str,
    ids: &[String],
) -> Result<Vec<String>, ApiError> {
    let users = call.users(ids).await?;
    let task = call.task(task_id).await?;
    let named: Vec<_> = users.values().copied().collect();
    let needed = if leaving_self(call, role, &named) {
        Access::Read
    } else {
        Access::Edit
    };
    call.require(&task, needed).await?;
    if ids.iter().any(String::is_empty) {
        return Err(call.error(role.invalid_id()));
    }
    call.try_lock(&task).await?;
    let mut plan = call.task_plan(&task, &named).await?;
    let removal = plan.remove_edges(RemoveEdges {
        subject: task.id.into(),
        relation: role.relation().into(),
        members: ids.iter().map(|id| users[id]).collect(),
        reciprocal: None,
    });
    let applied = call
        .feishu()
        .engine
        .store
        .apply(plan)
        .await
        .map_err(|e| call.write_failed(e))?;
    let outcomes = applied.outcomes(removal);
    let removed: Vec<_> = outcomes
        .iter()
        .filter(|(_, outcome)| *outcome == Outcome::Removed)
        .map(|(user, _)| *user)
        .collect();
    let mut seen = HashSet::new();
    Ok(ids
        .iter()
        .filter(|id| removed.contains(&users[*id]) && seen.insert(id.as_str()))
        .cloned()
        .collect())
}

/// `DELETE /task/v1/tasks/:task_id/{followers,collaborators}/:member_id`.
pub async fn remove(
    role: Role,
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path((task_id, member_id)): Path<(String, String)>,
) -> Response {
    serve(
        feishu,
        Endpoint::RemoveMember(role),
        credentials,
        query,
        move |call| async move {
            let removed =
                remove_members(&call, role, &task_id, std::slice::from_ref(&member_id)).await?;
            if removed.is_empty() {
                return Err(call.error(role.not_member()));
            }
            Ok(success(json!({})))
        },
    )
    .await
}

/// `POST /task/v1/tasks/:task_id/batch_delete_{follower,collaborator}`: remove `id_list`; the
/// answer lists the ids that were removed.
pub async fn batch_remove(
    role: Role,
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(task_id): Path<String>,
    body: Body,
) -> Response {
    serve(
        feishu,
        Endpoint::BatchRemoveMembers(role),
        credentials,
        query,
        move |call| async move {
            let request: BatchRemoveRequest = call.body(body).await?;
            let removed = remove_members(&call, role, &task_id, &request.id_list).await?;
            Ok(success(json!({ role.plural(): removed })))
        },
    )
    .await
}
