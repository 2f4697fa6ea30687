//! Tasks: create (with members, `client_token`), get, list (the caller's own: "my_tasks",
//! those it is an assignee of), patch (`update_fields`), delete.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use roster_core::{AddEdges, Entity, PageRequest};
use serde::Deserialize;
use serde_json::json;

use super::idempotency::{self, Begun};
use super::members::{self, MEMBERS_PER_REQUEST};
use super::naming::{self, MemberInput};
use super::object::{self, TaskInput};
use super::render::{answer, render};
use super::tasklist_access::tasklist_for;
use super::{invalid, page_size, Op};
use crate::auth::Credentials;
use crate::model::{IN_TASKLIST, TASK};
use crate::task::endpoint::{Endpoint, Role};
use crate::task::tasks::{new_task_id, record_of, DELETED_TASK, SOURCE_APP, SOURCE_USER};
use crate::task::{by_id, page_data, serve, Access};
use crate::tenants::Feishu;
use crate::tokens::TokenKind;
use crate::wire::{success, QueryParams};

#[derive(Deserialize)]
struct CreateRequest {
    #[serde(flatten)]
    task: TaskInput,
    members: Option<Vec<MemberInput>>,
    #[serde(default)]
    tasklists: Vec<TasklistRef>,
    client_token: Option<String>,
}

/// A tasklist a new task goes in (its section is not kept).
#[derive(Deserialize)]
struct TasklistRef {
    tasklist_guid: Option<String>,
}

/// `POST /task/v2/tasks`.
pub async fn create(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    body: Body,
) -> Response {
    let endpoint = Endpoint::V2(Op::Create);
    serve(
        feishu,
        endpoint,
        credentials,
        query,
        move |call| async move {
            let request: CreateRequest = call.body(body).await?;
            let once = match idempotency::begin(&call, Op::Create, request.client_token.as_deref())
                .await?
            {
                Begun::Repeat(guid) => return answer(&call, call.task(&guid).await?).await,
                Begun::Fresh(once) => once,
            };
            let wanted = request.members.unwrap_or_default();
            let wanted =
                naming::resolve(&call, &wanted, MEMBERS_PER_REQUEST, naming::task_role).await?;
            let source = if call.caller.kind == TokenKind::User {
                SOURCE_USER
            } else {
                SOURCE_APP
            };
            let record = object::create(&request.task, source, call.feishu().now())?;
            let mut lists = Vec::new();
            for list in &request.tasklists {
                let list_guid = list.tasklist_guid.as_deref().unwrap_or_default();
                if list_guid.is_empty() {
                    return Err(invalid("tasklists.tasklist_guid", "param is required"));
                }
                lists.push(
                    tasklist_for(&call, list_guid, Access::Edit)
                        .await?
                        .id
                        .into(),
                );
            }
            let mut identities = vec![call.actor()];
            identities.extend(wanted.iter().map(|(_, entity)| *entity));
            let mut plan = call.create_plan(identities).await?;
            let guid = new_task_id();
            let task = plan.create(TASK, &guid, json!(record), Some(call.actor().into()));
            if !lists.is_empty() {
                plan.add_edges(AddEdges::new(task, IN_TASKLIST, lists));
            }
            let steps = members::add_steps(&call, &mut plan, task.into(), wanted);
            if let Some(once) = &once {
                once.mark(&mut plan, &guid);
            }
            let applied = call.feishu().engine.store.apply(plan).await;
            let task = members::applied(&call, applied, &steps)?.into_entity(task);
            answer(&call, task).await
        },
    )
    .await
}

/// `GET /task/v2/tasks/:task_guid`.
pub async fn get(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(guid): Path<String>,
) -> Response {
    serve(
        feishu,
        Endpoint::V2(Op::Get),
        credentials,
        query,
        move |call| async move { answer(&call, call.task_for(&guid, Access::Read).await?).await },
    )
    .await
}

/// `GET /task/v2/tasks` (user tokens only): the tasks the user is an assignee of, in creation
/// order, optionally only the `completed` or open ones.
pub async fn list(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
) -> Response {
    serve(
        feishu,
        Endpoint::V2(Op::List),
        credentials,
        query,
        move |call| async move {
            call.caller.require(&[TokenKind::User])?;
            if call.query.get("type").is_some_and(|t| t != "my_tasks") {
                return Err(invalid("type", "only 'my_tasks' is supported"));
            }
            let limit = page_size(&call)?;
            let completed = call.query.bool("completed")?;
            let user = call.actor();
            let scope = format!("feishu/task/v2/my_tasks/{user}");
            let store = &call.feishu().engine.store;
            let (space, relations) = (call.space(), [Role::Collaborator.relation()]);
            let read = |after, limit| async move {
                let page = PageRequest {
                    after,
                    limit,
                    newest_first: false,
                };
                let page = store
                    .list_linked(space, TASK, user, &relations, page)
                    .await?;
                Ok(by_id(page))
            };
            let keep = |task: &Entity| {
                let done = record_of(task)?.complete_time != 0;
                Ok(completed.is_none_or(|wanted| wanted == done))
            };
            let (items, next) = call.filtered_tasks(&scope, limit, read, keep).await?;
            let data = page_data(render(&call, &items).await?, next);
            Ok(success(data))
        },
    )
    .await
}

#[derive(Deserialize)]
struct PatchRequest {
    task: Option<TaskInput>,
    #[serde(default)]
    update_fields: Vec<String>,
}

/// `PATCH /task/v2/tasks/:task_guid`: set the `update_fields` from `task` (completing a task is
/// setting `completed_at`).
pub async fn patch(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(guid): Path<String>,
    body: Body,
) -> Response {
    serve(
        feishu,
        Endpoint::V2(Op::Patch),
        credentials,
        query,
        move |call| async move {
            let request: PatchRequest = call.body(body).await?;
            call.lock(&call.task_for(&guid, Access::Edit).await?)
                .await?;
            let task = call.task(&guid).await?;
            let mut record = record_of(&task)?;
            let input = request.task.unwrap_or_default();
            let now = call.feishu().now();
            object::update(&mut record, &request.update_fields, &input, now)?;
            let mut plan = call.plan();
            let updated = plan.update(task.id, json!(record));
            let store = &call.feishu().engine.store;
            let applied = store.apply(plan).await.map_err(|e| call.write_failed(e))?;
            answer(&call, applied.into_entity(updated)).await
        },
    )
    .await
}

/// `DELETE /task/v2/tasks/:task_guid`: the task goes with its members; Task v1 then answers
/// its deleted-task code for it.
pub async fn delete(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(guid): Path<String>,
) -> Response {
    serve(
        feishu,
        Endpoint::V2(Op::Delete),
        credentials,
        query,
        move |call| async move {
            let task = call.task_for(&guid, Access::Edit).await?;
            call.lock(&task).await?;
            let mut plan = call.delete_plan(&task).await?;
            plan.upsert(DELETED_TASK, task.key.clone(), json!({}), None);
            plan.delete(task.id);
            let store = &call.feishu().engine.store;
            store.apply(plan).await.map_err(|e| call.write_failed(e))?;
            Ok(success(json!({})))
        },
    )
    .await
}
