//! Tasklists: an entity owned by its creator, who is its owner (roster has no owner transfer);
//! its members `editor` or `viewer` edges to users and apps, one role each; a task in a
//! tasklist an edge `task --task.tasklist--> tasklist`. The owner manages (deletes), editors
//! and the owner edit (members, tasks), viewers read.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use roster_core::{
    AddEdges, AddPolicy, Direction, Entity, EntityId, PageRequest, RemoveEdges, Target,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::naming::{resolve, MemberInput, Names};
use super::render::{apply_then_answer, render as render_tasks};
use super::tasklist_access::{no_permission, no_tasklist, tasklist_for, ListRole};
use super::{error, invalid, page_size, Code, Op};
use crate::auth::Credentials;
use crate::model::{IN_TASKLIST, TASKLIST};
use crate::task::endpoint::Endpoint;
use crate::task::tasks::new_task_id;
use crate::task::{page_data, serve, Access, Call};
use crate::tenants::Feishu;
use crate::wire::{success, ApiError, ApiResult, QueryParams};

const MAX_NAME_CHARS: usize = 100;
/// The tenant limit on members per tasklist and role, and its default (the vendor documents
/// `1470612`, not the number).
pub const TASKLIST_MEMBERS: &str = "tasklist_members";
const TASKLIST_MEMBERS_DEFAULT: i64 = 500;
/// Members one request may name.
const MEMBERS_PER_REQUEST: usize = 500;
/// The fields a task of a tasklist's task list shows.
const TASK_SUMMARY: &[&str] = &[
    "guid",
    "summary",
    "completed_at",
    "start",
    "due",
    "members",
    "subtask_count",
];

/// A member's role, `viewer` when absent.
fn list_role(role: Option<&str>) -> Result<ListRole, ApiError> {
    match role {
        None | Some("viewer") => Ok(ListRole::Viewer),
        Some("editor") => Ok(ListRole::Editor),
        _ => Err(invalid(
            "members",
            "role is invalid. Only 'editor', 'viewer' are supported",
        )),
    }
}

/// Tasklists as the wire shows them.
async fn render(call: &Call, lists: &[Entity]) -> Result<Vec<Value>, ApiError> {
    let ids: Vec<EntityId> = lists.iter().map(|list| list.id).collect();
    let store = &call.feishu().engine.store;
    let mut editors = store
        .members_of(call.space(), &ids, ListRole::Editor.relation())
        .await?;
    let mut viewers = store
        .members_of(call.space(), &ids, ListRole::Viewer.relation())
        .await?;
    let mut entities: Vec<EntityId> = editors
        .values()
        .chain(viewers.values())
        .flatten()
        .copied()
        .collect();
    entities.extend(lists.iter().filter_map(|list| list.owner));
    let names = Names::of(call, &entities).await?;
    Ok(lists
        .iter()
        .map(|list| {
            let members: Vec<Value> = [
                (ListRole::Editor, editors.remove(&list.id)),
                (ListRole::Viewer, viewers.remove(&list.id)),
            ]
            .into_iter()
            .flat_map(|(role, members)| {
                let names = &names;
                members
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(move |member| names.member(member, role.name()))
            })
            .collect();
            let mut object = json!({
                "guid": list.key,
                "name": list.attrs["name"],
                "members": members,
                "url": format!("https://applink.feishu.cn/client/todo/task_list?guid={}", list.key),
                "created_at": (list.created_at * 1000).to_string(),
                "updated_at": (list.updated_at * 1000).to_string(),
            });
            if let Some(owner) = list.owner {
                if let Some(creator) = names.member(owner, "creator") {
                    object["creator"] = creator;
                }
                if let Some(owner) = names.member(owner, "owner") {
                    object["owner"] = owner;
                }
            }
            object
        })
        .collect())
}

async fn answer_tasklist(call: &Call, list: Entity) -> ApiResult {
    let list = render(call, &[list]).await?.remove(0);
    Ok(success(json!({ "tasklist": list })))
}

/// The steps giving `members` their roles on `list` (a member keeps one role; the owner none),
/// each role within its cap.
fn set_roles(
    call: &Call,
    plan: &mut roster_core::WritePlan,
    list: Target,
    owner: Option<EntityId>,
    members: &[(ListRole, EntityId)],
) -> Vec<roster_core::StepId> {
    let cap = call
        .caller
        .tenant()
        .space
        .limit(TASKLIST_MEMBERS, TASKLIST_MEMBERS_DEFAULT);
    let mut steps = Vec::new();
    for role in [ListRole::Editor, ListRole::Viewer] {
        let of_role: Vec<EntityId> = members
            .iter()
            .filter(|(r, member)| *r == role && Some(*member) != owner)
            .map(|(_, member)| *member)
            .collect();
        if of_role.is_empty() {
            continue;
        }
        if matches!(list, Target::Existing(_)) {
            plan.remove_edges(RemoveEdges {
                subject: list,
                relation: role.other().relation().into(),
                members: of_role.clone(),
                reciprocal: None,
            });
        }
        let mut add = AddEdges::new(
            list,
            role.relation(),
            of_role.into_iter().map(Target::from).collect(),
        );
        add.caps.members_per_subject = Some(cap);
        add.policy = AddPolicy {
            abort_on_unknown: true,
            abort_on_full: true,
        };
        steps.push(plan.add_edges(add));
    }
    steps
}

/// A plan's result: a role over its cap is `1470612`.
fn applied(
    call: &Call,
    result: Result<roster_core::Applied, roster_core::StoreError>,
    steps: &[roster_core::StepId],
) -> Result<roster_core::Applied, ApiError> {
    let e = match result {
        Ok(applied) => return Ok(applied),
        Err(e) => e,
    };
    let full = steps.iter().any(|step| {
        matches!(e.refusal_of(*step), Some(roster_core::Refusal::Aborted(outcomes))
            if outcomes.iter().any(|(_, outcome)| outcome.is_full()))
    });
    if full {
        return Err(error(Code::TooManyTasklistMembers));
    }
    Err(call.write_failed(e))
}

/// Members named, each with one role (the first it is named with).
async fn wanted(
    call: &Call,
    members: &[MemberInput],
) -> Result<Vec<(ListRole, EntityId)>, ApiError> {
    let mut wanted = resolve(call, members, MEMBERS_PER_REQUEST, list_role).await?;
    let mut seen = Vec::new();
    wanted.retain(|(_, member)| {
        let first = !seen.contains(member);
        seen.push(*member);
        first
    });
    Ok(wanted)
}

#[derive(Deserialize)]
struct CreateRequest {
    name: Option<String>,
    #[serde(default)]
    members: Vec<MemberInput>,
}

/// `POST /task/v2/tasklists`.
pub async fn create(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    body: Body,
) -> Response {
    let endpoint = Endpoint::V2(Op::TasklistCreate);
    serve(
        feishu,
        endpoint,
        credentials,
        query,
        move |call| async move {
            let request: CreateRequest = call.body(body).await?;
            let name = request.name.unwrap_or_default();
            if name.trim().is_empty() {
                return Err(invalid("name", "must not be empty"));
            }
            if name.chars().count() > MAX_NAME_CHARS {
                return Err(invalid(
                    "name",
                    &format!("length must be at most {MAX_NAME_CHARS}"),
                ));
            }
            let members = wanted(&call, &request.members).await?;
            let mut plan = call.plan();
            let actor = call.actor();
            let list = plan.create(
                TASKLIST,
                new_task_id(),
                json!({ "name": name }),
                Some(actor.into()),
            );
            let steps = set_roles(&call, &mut plan, list.into(), Some(actor), &members);
            let result = call.feishu().engine.store.apply(plan).await;
            let list = applied(&call, result, &steps)?.into_entity(list);
            answer_tasklist(&call, list).await
        },
    )
    .await
}

/// `GET /task/v2/tasklists/:tasklist_guid`.
pub async fn get(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(guid): Path<String>,
) -> Response {
    let endpoint = Endpoint::V2(Op::TasklistGet);
    serve(
        feishu,
        endpoint,
        credentials,
        query,
        move |call| async move {
            answer_tasklist(&call, tasklist_for(&call, &guid, Access::Read).await?).await
        },
    )
    .await
}

/// `GET /task/v2/tasklists`: the tasklists the caller owns or is a member of, in creation
/// order.
pub async fn list(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
) -> Response {
    let endpoint = Endpoint::V2(Op::TasklistList);
    serve(
        feishu,
        endpoint,
        credentials,
        query,
        move |call| async move {
            let limit = page_size(&call)?;
            let actor = call.actor();
            let scope = format!("feishu/task/v2/tasklists/{actor}");
            let relations = [ListRole::Editor.relation(), ListRole::Viewer.relation()];
            let page = PageRequest {
                after: call.page_position(&scope)?,
                limit,
                newest_first: false,
            };
            let store = &call.feishu().engine.store;
            let page = store
                .list_linked(call.space(), TASKLIST, actor, &relations, page)
                .await?;
            let next = page.next.map(|position| call.page_token(&scope, position));
            Ok(success(page_data(render(&call, &page.items).await?, next)))
        },
    )
    .await
}

/// `DELETE /task/v2/tasklists/:tasklist_guid`: the owner's only; its tasks stay.
pub async fn delete(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(guid): Path<String>,
) -> Response {
    let endpoint = Endpoint::V2(Op::TasklistDelete);
    serve(
        feishu,
        endpoint,
        credentials,
        query,
        move |call| async move {
            let list = tasklist_for(&call, &guid, Access::Read).await?;
            if list.owner != Some(call.actor()) {
                return Err(no_permission());
            }
            let mut plan = call.plan();
            plan.delete(list.id);
            match call.feishu().engine.store.apply(plan).await {
                Ok(_) => Ok(success(json!({}))),
                // Deleted by a concurrent request.
                Err(roster_core::StoreError::Refused {
                    refusal: roster_core::Refusal::NotFound,
                    ..
                }) => Err(no_tasklist()),
                Err(e) => Err(e.into()),
            }
        },
    )
    .await
}

#[derive(Deserialize)]
struct MembersRequest {
    #[serde(default)]
    members: Vec<MemberInput>,
}

/// The tasklist `guid`, editable by the caller, and the members the request names.
async fn member_change(
    call: &Call,
    guid: &str,
    body: Body,
) -> Result<(Entity, Vec<(ListRole, EntityId)>), ApiError> {
    let request: MembersRequest = call.body(body).await?;
    if request.members.is_empty() {
        return Err(invalid("members", "must not be empty"));
    }
    let members = wanted(call, &request.members).await?;
    Ok((tasklist_for(call, guid, Access::Edit).await?, members))
}

/// `POST /task/v2/tasklists/:tasklist_guid/add_members`: a member named with another role
/// than it has changes role.
pub async fn add_members(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(guid): Path<String>,
    body: Body,
) -> Response {
    let endpoint = Endpoint::V2(Op::TasklistAddMembers);
    serve(
        feishu,
        endpoint,
        credentials,
        query,
        move |call| async move {
            let (list, members) = member_change(&call, &guid, body).await?;
            let mut plan = call.plan();
            let steps = set_roles(&call, &mut plan, list.id.into(), list.owner, &members);
            let result = call.feishu().engine.store.apply(plan).await;
            applied(&call, result, &steps)?;
            answer_tasklist(&call, tasklist_for(&call, &guid, Access::None).await?).await
        },
    )
    .await
}

/// `POST /task/v2/tasklists/:tasklist_guid/remove_members`: whatever role they have.
pub async fn remove_members(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(guid): Path<String>,
    body: Body,
) -> Response {
    let endpoint = Endpoint::V2(Op::TasklistRemoveMembers);
    serve(
        feishu,
        endpoint,
        credentials,
        query,
        move |call| async move {
            let (list, members) = member_change(&call, &guid, body).await?;
            let members: Vec<EntityId> = members.into_iter().map(|(_, member)| member).collect();
            let mut plan = call.plan();
            for role in [ListRole::Editor, ListRole::Viewer] {
                plan.remove_edges(RemoveEdges {
                    subject: list.id.into(),
                    relation: role.relation().into(),
                    members: members.clone(),
                    reciprocal: None,
                });
            }
            let store = &call.feishu().engine.store;
            store.apply(plan).await.map_err(|e| call.write_failed(e))?;
            answer_tasklist(&call, tasklist_for(&call, &guid, Access::None).await?).await
        },
    )
    .await
}

/// `GET /task/v2/tasklists/:tasklist_guid/tasks`: in the order they were added, filtered by
/// `completed` and `created_from`/`created_to` (ms, inclusive).
pub async fn tasks(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(guid): Path<String>,
) -> Response {
    let endpoint = Endpoint::V2(Op::TasklistTasks);
    serve(
        feishu,
        endpoint,
        credentials,
        query,
        move |call| async move {
            let limit = page_size(&call)?;
            let completed = call.query.bool("completed")?;
            let from = call.query.int("created_from")?.unwrap_or(i64::MIN);
            let to = call.query.int("created_to")?.unwrap_or(i64::MAX);
            let list = tasklist_for(&call, &guid, Access::Read).await?;
            let scope = format!("feishu/task/v2/tasklist/{}/tasks", list.id);
            let store = &call.feishu().engine.store;
            let (space, list_id) = (call.space(), list.id);
            let read = |after, limit| async move {
                let page = PageRequest {
                    after,
                    limit,
                    newest_first: false,
                };
                let page = store
                    .list_edges_entities(space, list_id, IN_TASKLIST, Direction::Memberships, page)
                    .await?;
                Ok(roster_core::Page {
                    items: page
                        .items
                        .into_iter()
                        .map(|(edge, task)| (edge.seq, task))
                        .collect(),
                    next: page.next,
                })
            };
            let keep = |task: &Entity| {
                let done = crate::task::tasks::record_of(task)?.complete_time != 0;
                let created_ms = task.created_at.saturating_mul(1000);
                Ok((from..=to).contains(&created_ms)
                    && completed.is_none_or(|wanted| wanted == done))
            };
            let (items, next) = call.filtered_tasks(&scope, limit, read, keep).await?;
            let items = render_tasks(&call, &items)
                .await?
                .into_iter()
                .map(|task| {
                    let mut summary = json!({});
                    for field in TASK_SUMMARY {
                        if let Some(value) = task.get(*field) {
                            summary[*field] = value.clone();
                        }
                    }
                    summary
                })
                .collect();
            Ok(success(page_data(items, next)))
        },
    )
    .await
}

#[derive(Deserialize)]
struct TasklistRequest {
    tasklist_guid: Option<String>,
}

/// The task `guid` and the tasklist of the request, both editable by the caller.
async fn task_and_tasklist(
    call: &Call,
    guid: &str,
    body: Body,
) -> Result<(Entity, Entity), ApiError> {
    let request: TasklistRequest = call.body(body).await?;
    let list_guid = request
        .tasklist_guid
        .filter(|g| !g.is_empty())
        .ok_or_else(|| invalid("tasklist_guid", "param is required"))?;
    let task = call.task_for(guid, Access::Edit).await?;
    let list = tasklist_for(call, &list_guid, Access::Edit).await?;
    Ok((task, list))
}

/// `POST /task/v2/tasks/:task_guid/add_tasklist`.
pub async fn add_tasklist(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(guid): Path<String>,
    body: Body,
) -> Response {
    let endpoint = Endpoint::V2(Op::AddTasklist);
    serve(
        feishu,
        endpoint,
        credentials,
        query,
        move |call| async move {
            let (task, list) = task_and_tasklist(&call, &guid, body).await?;
            let mut plan = call.plan();
            plan.add_edges(AddEdges::new(task.id, IN_TASKLIST, vec![list.id.into()]));
            apply_then_answer(&call, plan, &guid).await
        },
    )
    .await
}

/// `POST /task/v2/tasks/:task_guid/remove_tasklist`.
pub async fn remove_tasklist(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(guid): Path<String>,
    body: Body,
) -> Response {
    let endpoint = Endpoint::V2(Op::RemoveTasklist);
    serve(
        feishu,
        endpoint,
        credentials,
        query,
        move |call| async move {
            let (task, list) = task_and_tasklist(&call, &guid, body).await?;
            let mut plan = call.plan();
            plan.remove_edges(RemoveEdges {
                subject: task.id.into(),
                relation: IN_TASKLIST.into(),
                members: vec![list.id],
                reciprocal: None,
            });
            apply_then_answer(&call, plan, &guid).await
        },
    )
    .await
}

/// `GET /task/v2/tasks/:task_guid/tasklists`.
pub async fn of_task(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(guid): Path<String>,
) -> Response {
    let endpoint = Endpoint::V2(Op::Tasklists);
    serve(
        feishu,
        endpoint,
        credentials,
        query,
        move |call| async move {
            let task = call.task_for(&guid, Access::Read).await?;
            let rendered = render_tasks(&call, &[task]).await?.remove(0);
            Ok(success(json!({ "tasklists": rendered["tasklists"] })))
        },
    )
    .await
}
