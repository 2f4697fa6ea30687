//! The user-task routes under `/open-apis/apaas/v1`, and the admin route that declares tasks.
//! All accept tenant tokens only; all invalid input gets 2320001 naming the field, and is
//! refused before anything is written.

use std::iter;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_core::{all_pages, Direction, Entity, EntityId, StoreError, WritePlan};
use serde::Deserialize;
use serde_json::{json, Value};

use super::tasks::{self, UserTaskSeed, ASSIGNEE, CANCELED, CC, DONE, IN_PROCESS, PENDING};
use super::{invalid, kunlun_users, Body};
use crate::auth::{Accepting, TenantOnly};
use crate::directory::unresolved;
use crate::im::chat::{self, Found, Members, MembershipError};
use crate::im::routes::default_chat_attrs;
use crate::model::{DIALECT, KUNLUN_ID};
use crate::tenants::{Feishu, Tenant};
use crate::wire::{success, ApiError, ApiResult};
use roster_http::own::{error, OwnJson};

/// Invitees per `chat_group` call.
const MAX_INVITEES: usize = 20;
const QUERY_LIMIT_DEFAULT: i64 = 10;
const QUERY_LIMIT_MAX: i64 = 100;

async fn task(feishu: &Feishu, tenant: &Tenant, task_id: &str) -> Result<Entity, ApiError> {
    let task = feishu
        .engine
        .store
        .find_entity(tenant.space.id, tasks::USER_TASK, task_id)
        .await?;
    task.ok_or_else(|| invalid("task_id", Some(task_id), "no such user task"))
}

fn pending(task: Entity) -> Result<Entity, ApiError> {
    if tasks::is_pending(&task) {
        Ok(task)
    } else {
        Err(invalid(
            "task_id",
            Some(&task.key),
            "the task is no longer pending",
        ))
    }
}

/// The users named by kunlun ids, in order; 2320001 on `field` if any is unknown (or none given).
async fn people(
    feishu: &Feishu,
    tenant: &Tenant,
    field: &str,
    ids: &[String],
) -> Result<Vec<EntityId>, ApiError> {
    if ids.is_empty() || ids.iter().any(String::is_empty) {
        return Err(invalid(field, None, "required: kunlun user ids"));
    }
    let found = kunlun_users(&feishu.engine, tenant.space.id, ids).await?;
    let unknown = unresolved(ids, &found);
    if !unknown.is_empty() {
        return Err(invalid(
            field,
            Some(&unknown.join(",")),
            "not a kunlun user id of the tenant",
        ));
    }
    Ok(ids.iter().map(|id| found[id]).collect())
}

async fn person(
    feishu: &Feishu,
    tenant: &Tenant,
    field: &str,
    id: Option<String>,
) -> Result<EntityId, ApiError> {
    let ids: Vec<String> = id.into_iter().collect();
    Ok(people(feishu, tenant, field, &ids).await?[0])
}

/// Which of `users` are assignees of the task.
async fn assignees_among(
    feishu: &Feishu,
    task: &Entity,
    users: &[EntityId],
) -> Result<Vec<EntityId>, ApiError> {
    let edges = feishu
        .engine
        .store
        .edges_among(task.space_id, task.id, ASSIGNEE, users)
        .await?;
    Ok(users
        .iter()
        .copied()
        .filter(|u| edges.contains_key(u))
        .collect())
}

fn required_text(field: &str, value: Option<String>) -> Result<String, ApiError> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| invalid(field, None, "required"))
}

#[derive(Deserialize)]
pub struct Query {
    #[serde(rename = "type")]
    kind: Option<String>,
    source: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    api_ids: Option<Vec<String>>,
    kunlun_user_id: Option<String>,
}

/// A string-encoded integer of the query body, at least `min` and at most `max`.
fn number(
    field: &str,
    value: Option<&str>,
    min: i64,
    max: Option<i64>,
) -> Result<Option<i64>, ApiError> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match v.parse::<i64>() {
        Ok(n) if n >= min && max.is_none_or(|max| n <= max) => Ok(Some(n)),
        _ => {
            let bounds = match max {
                Some(max) => format!("from {min} to {max}"),
                None => format!("of at least {min}"),
            };
            Err(invalid(
                field,
                Some(v),
                &format!("must be a string of an integer {bounds}"),
            ))
        }
    }
}

/// `POST /open-apis/apaas/v1/user_task/query`: a user's tasks, newest first, paged by string
/// `offset`/`limit`, with the total as a string `count`.
pub async fn query(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): TenantOnly,
    Body(body): Body<Query>,
) -> ApiResult {
    let app = caller.app;
    let tenant = &app.tenant;
    let user = person(&feishu, tenant, "kunlun_user_id", body.kunlun_user_id).await?;
    let relation = match body.source.as_deref().filter(|s| !s.is_empty()) {
        None | Some("assignMe") => ASSIGNEE,
        Some("ccMe") => CC,
        Some(other) => return Err(invalid("source", Some(other), "must be assignMe or ccMe")),
    };
    let status = match body.kind.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(kind @ (PENDING | DONE)) => Some(kind),
        Some(other) => return Err(invalid("type", Some(other), "must be pending or done")),
    };
    let limit = number("limit", body.limit.as_deref(), 1, Some(QUERY_LIMIT_MAX))?
        .unwrap_or(QUERY_LIMIT_DEFAULT);
    let offset = number("offset", body.offset.as_deref(), 0, None)?.unwrap_or(0);
    let start = number("start_time", body.start_time.as_deref(), 0, None)?;
    let end = number("end_time", body.end_time.as_deref(), 0, None)?;
    let api_ids = body.api_ids.unwrap_or_default();

    let store = &feishu.engine.store;
    let space = tenant.space.id;
    let edges =
        all_pages(|page| store.list_edges(space, user, relation, Direction::Memberships, page))
            .await?;
    let task_ids: Vec<EntityId> = edges.iter().map(|e| e.subject).collect();
    let found = store.entities(space, &task_ids).await?;
    let instance_ids: Vec<EntityId> = found.values().filter_map(|t| t.owner).collect();
    let instances = store.entities(space, &instance_ids).await?;
    let mut matching: Vec<(&Entity, &Entity)> = found
        .values()
        .filter_map(|task| Some((task, instances.get(&task.owner?)?)))
        .filter(|(task, instance)| {
            let at = tasks::start_time(task);
            status.is_none_or(|s| task.attrs["status"] == s)
                && start.is_none_or(|s| at >= s)
                && end.is_none_or(|e| at <= e)
                && (api_ids.is_empty()
                    || api_ids
                        .iter()
                        .any(|id| instance.attrs["api_id"] == id.as_str()))
        })
        .collect();
    matching.sort_by(|(a, _), (b, _)| {
        (tasks::start_time(b), &b.key).cmp(&(tasks::start_time(a), &a.key))
    });
    let count = matching.len();
    let page: Vec<(&Entity, &Entity)> = matching
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(limit as usize)
        .collect();

    // Initiators are kept by their kunlun id, the id this API shows.
    let initiators: Vec<String> = page
        .iter()
        .filter_map(|(_, i)| i.attrs["initiator"].as_str().map(String::from))
        .collect();
    let initiator_users = store
        .resolve_aliases(tenant.space.id, KUNLUN_ID, &initiators)
        .await?;
    let ids: Vec<EntityId> = initiator_users.values().copied().collect();
    let users = store.entities(tenant.space.id, &ids).await?;
    let items: Vec<Value> = page
        .iter()
        .map(|(task, instance)| {
            let initiator = instance.attrs["initiator"].as_str().unwrap_or_default();
            let user = initiator_users.get(initiator).and_then(|id| users.get(id));
            json!({
                "task_id": task.key,
                "task_start_time": tasks::start_time(task).to_string(),
                "workflow_instance": {
                    "id": instance.key,
                    "label": instance.attrs["label"],
                    "status": instance.attrs["status"],
                },
                "initiator": {
                    "user_id": user.map(|_| initiator),
                    "name": user.map(|u| &u.attrs["name"]),
                },
                "summarys": task.attrs["summaries"],
            })
        })
        .collect();
    Ok(success(
        json!({ "count": count.to_string(), "tasks": items }),
    ))
}

#[derive(Deserialize)]
pub struct ChatGroup {
    operator_user_id: Option<String>,
    invite_user_ids: Option<Vec<String>>,
    chat_id: Option<String>,
    chat_name: Option<String>,
}

/// 2320001 for members that could not be added to a task's chat.
fn chat_group_error(e: MembershipError) -> ApiError {
    match e {
        MembershipError::Full => invalid(
            "invite_user_ids",
            None,
            "the chat would exceed its member limit",
        ),
        MembershipError::Unknown => invalid("invite_user_ids", None, "unknown users"),
        MembershipError::Store(e) => e.into(),
    }
}

/// `POST /open-apis/apaas/v1/user_tasks/:task_id/chat_group`: pull the operator and the
/// invitees into the chat `chat_id`, or into a new chat `chat_name` the app's bot creates.
pub async fn chat_group(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): TenantOnly,
    Path(task_id): Path<String>,
    Body(body): Body<ChatGroup>,
) -> ApiResult {
    let app = caller.app;
    let tenant = &app.tenant;
    task(&feishu, tenant, &task_id).await?;
    let operator = person(&feishu, tenant, "operator_user_id", body.operator_user_id).await?;
    let invitees = match &body.invite_user_ids {
        None => Vec::new(),
        Some(ids) if (1..=MAX_INVITEES).contains(&ids.len()) => {
            people(&feishu, tenant, "invite_user_ids", ids).await?
        }
        Some(_) => {
            return Err(invalid(
                "invite_user_ids",
                None,
                &format!("between 1 and {MAX_INVITEES} kunlun user ids"),
            ))
        }
    };
    let members = chat::distinct(iter::once(operator).chain(invitees));
    let chat = match body.chat_id.filter(|id| !id.is_empty()) {
        Some(chat_id) => {
            let Found::Chat(chat) = chat::find(&feishu, tenant, &chat_id).await? else {
                return Err(invalid(
                    "chat_id",
                    Some(&chat_id),
                    "no such chat in the tenant",
                ));
            };
            if !chat::has(&feishu, &chat, Members::Bots, app.entity).await? {
                return Err(invalid(
                    "chat_id",
                    Some(&chat_id),
                    "the app's bot is not in the chat",
                ));
            }
            chat::add(
                &feishu,
                tenant,
                &chat,
                Members::Users,
                &members,
                Some(operator),
            )
            .await
            .map_err(chat_group_error)?;
            chat
        }
        None => {
            if !chat::fits(tenant, 0, members.len()) {
                return Err(chat_group_error(MembershipError::Full));
            }
            let attrs = default_chat_attrs(&body.chat_name.unwrap_or_default())?;
            chat::create(&feishu, &app, attrs, None, &members, &[app.entity], None)
                .await
                .map_err(chat_group_error)?
        }
    };
    Ok(success(json!({ "chat_id": chat.key })))
}

#[derive(Deserialize)]
pub struct Cc {
    cc_user_ids: Option<Vec<String>>,
    operator_user_id: Option<String>,
}

/// `POST /open-apis/apaas/v1/user_tasks/:task_id/cc`: the users see the task with `source=ccMe`.
pub async fn cc(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): TenantOnly,
    Path(task_id): Path<String>,
    Body(body): Body<Cc>,
) -> ApiResult {
    let app = caller.app;
    let tenant = &app.tenant;
    let task = pending(task(&feishu, tenant, &task_id).await?)?;
    person(&feishu, tenant, "operator_user_id", body.operator_user_id).await?;
    let users = people(
        &feishu,
        tenant,
        "cc_user_ids",
        &body.cc_user_ids.unwrap_or_default(),
    )
    .await?;
    let mut plan = WritePlan::new(tenant.space.id, feishu.now());
    tasks::add_people(&mut plan, task.id.into(), CC, users);
    feishu.engine.store.apply(plan).await?;
    Ok(success(json!({})))
}

#[derive(Deserialize)]
pub struct Expediting {
    operator_user_id: Option<String>,
    expediting_user_ids: Option<Vec<String>>,
}

/// `POST /open-apis/apaas/v1/user_tasks/:task_id/expediting`: a reminder to the task's
/// assignees; roster checks it and has nothing to store.
pub async fn expediting(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): TenantOnly,
    Path(task_id): Path<String>,
    Body(body): Body<Expediting>,
) -> ApiResult {
    let app = caller.app;
    let tenant = &app.tenant;
    let task = pending(task(&feishu, tenant, &task_id).await?)?;
    person(&feishu, tenant, "operator_user_id", body.operator_user_id).await?;
    let ids = body.expediting_user_ids.unwrap_or_default();
    let users = people(&feishu, tenant, "expediting_user_ids", &ids).await?;
    let assignees = assignees_among(&feishu, &task, &users).await?;
    let others: Vec<&str> = ids
        .iter()
        .zip(&users)
        .filter(|(_, u)| !assignees.contains(u))
        .map(|(id, _)| id.as_str())
        .collect();
    if !others.is_empty() {
        return Err(invalid(
            "expediting_user_ids",
            Some(&others.join(",")),
            "not an assignee of the task",
        ));
    }
    Ok(success(json!({})))
}

#[derive(Deserialize)]
pub struct Operator {
    operator_user_id: Option<String>,
}

/// The tasks of the task's workflow instance that started before it: where it can go back to.
async fn rollback_targets(
    feishu: &Feishu,
    tenant: &Tenant,
    task: &Entity,
) -> Result<Vec<(Entity, bool)>, ApiError> {
    let Some(instance) = task.owner else {
        return Ok(Vec::new());
    };
    let siblings = tasks::instance_tasks(&feishu.engine, tenant.space.id, instance).await?;
    let first = siblings.first().map(|t| t.id);
    Ok(siblings
        .into_iter()
        .filter(|t| t.id != task.id && tasks::start_time(t) < tasks::start_time(task))
        .map(|t| {
            let is_start = Some(t.id) == first;
            (t, is_start)
        })
        .collect())
}

/// `POST /open-apis/apaas/v1/user_tasks/:task_id/rollback_points`.
pub async fn rollback_points(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): TenantOnly,
    Path(task_id): Path<String>,
    Body(body): Body<Operator>,
) -> ApiResult {
    let app = caller.app;
    let tenant = &app.tenant;
    let task = task(&feishu, tenant, &task_id).await?;
    person(&feishu, tenant, "operator_user_id", body.operator_user_id).await?;
    let points: Vec<Value> = rollback_targets(&feishu, tenant, &task)
        .await?
        .into_iter()
        .map(|(t, is_start)| {
            json!({ "id": t.key, "activity_label": t.attrs["activity_label"], "is_start": is_start })
        })
        .collect();
    Ok(success(json!({ "tasks": points })))
}

#[derive(Deserialize)]
pub struct Rollback {
    operator_user_id: Option<String>,
    to_task_id: Option<String>,
    opinion: Option<String>,
}

fn with_status(task: &Entity, status: &str) -> Value {
    let mut attrs = task.attrs.clone();
    attrs["status"] = json!(status);
    attrs
}

/// `POST /open-apis/apaas/v1/user_tasks/:task_id/rollback`: an assignee sends the workflow back
/// to an earlier task, which is pending again; this one is done.
pub async fn rollback(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): TenantOnly,
    Path(task_id): Path<String>,
    Body(body): Body<Rollback>,
) -> ApiResult {
    let app = caller.app;
    let tenant = &app.tenant;
    let task = pending(task(&feishu, tenant, &task_id).await?)?;
    let operator = person(&feishu, tenant, "operator_user_id", body.operator_user_id).await?;
    if assignees_among(&feishu, &task, &[operator])
        .await?
        .is_empty()
    {
        return Err(invalid(
            "operator_user_id",
            None,
            "only an assignee can roll the task back",
        ));
    }
    let to = required_text("to_task_id", body.to_task_id)?;
    required_text("opinion", body.opinion)?;
    let target = rollback_targets(&feishu, tenant, &task)
        .await?
        .into_iter()
        .map(|(t, _)| t)
        .find(|t| t.key == to)
        .ok_or_else(|| invalid("to_task_id", Some(&to), "not a rollback point of the task"))?;
    let mut plan = WritePlan::new(tenant.space.id, feishu.now());
    plan.update_from(&target, with_status(&target, PENDING));
    plan.update_from(&task, with_status(&task, DONE));
    match feishu.engine.store.apply(plan).await {
        Ok(_) => Ok(success(json!({}))),
        // Another operation moved the workflow meanwhile: the task is no longer as read.
        Err(StoreError::Refused { .. }) => Err(invalid(
            "task_id",
            Some(&task.key),
            "the task is no longer pending",
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct Cancel {
    user_id: Option<String>,
    opinion: Option<String>,
}

/// `POST /open-apis/apaas/v1/approval_instances/:approval_instance_id/cancel`: the initiator
/// withdraws the workflow instance; its pending tasks are done.
pub async fn cancel(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): TenantOnly,
    Path(instance_id): Path<String>,
    Body(body): Body<Cancel>,
) -> ApiResult {
    let app = caller.app;
    let tenant = &app.tenant;
    let store = &feishu.engine.store;
    let instance = store
        .find_entity(tenant.space.id, tasks::WORKFLOW_INSTANCE, &instance_id)
        .await?
        .ok_or_else(|| {
            invalid(
                "approval_instance_id",
                Some(&instance_id),
                "no such approval instance",
            )
        })?;
    if instance.attrs["status"] != IN_PROCESS {
        return Err(invalid(
            "approval_instance_id",
            Some(&instance_id),
            "the instance is no longer in process",
        ));
    }
    // An unknown user is refused as such before the initiator check.
    person(&feishu, tenant, "user_id", body.user_id.clone()).await?;
    if body.user_id.as_deref() != instance.attrs["initiator"].as_str() {
        return Err(invalid(
            "user_id",
            None,
            "only the initiator can cancel the instance",
        ));
    }
    required_text("opinion", body.opinion)?;
    let mut plan = WritePlan::new(tenant.space.id, feishu.now());
    for task in tasks::instance_tasks(&feishu.engine, tenant.space.id, instance.id).await? {
        if tasks::is_pending(&task) {
            plan.update_from(&task, with_status(&task, DONE));
        }
    }
    plan.update_from(&instance, with_status(&instance, CANCELED));
    match store.apply(plan).await {
        Ok(_) => Ok(success(json!({}))),
        // The instance or one of its tasks moved meanwhile: the instance is no longer as read.
        Err(StoreError::Refused { .. }) => Err(invalid(
            "approval_instance_id",
            Some(&instance_id),
            "the instance changed meanwhile; try again",
        )),
        Err(e) => Err(e.into()),
    }
}

/// `POST /_roster/feishu/apaas_user_tasks {"tenant_key", ...one seed-file task}`: declare a user
/// task (or update a declared one) as an approval flow would create it.
pub async fn declare_task(
    State(feishu): State<Arc<Feishu>>,
    OwnJson(mut request): OwnJson<Value>,
) -> Response {
    let tenant_key = request
        .as_object_mut()
        .and_then(|o| o.remove("tenant_key"))
        .and_then(|k| k.as_str().map(str::to_string));
    let Some(tenant_key) = tenant_key else {
        return error(StatusCode::BAD_REQUEST, "tenant_key is required");
    };
    let engine = &feishu.engine;
    let space = match engine.store.spaces(DIALECT).await {
        Ok(spaces) => spaces.into_iter().find(|s| s.key == tenant_key),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let Some(space) = space else {
        return error(StatusCode::NOT_FOUND, "no such tenant_key");
    };
    let seed: UserTaskSeed = match serde_json::from_value(request) {
        Ok(seed) => seed,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    match tasks::declare(engine, &space, &seed).await {
        Ok(task) => Json(json!({
            "task_id": task.key,
            "workflow_instance_id": seed.instance_id(&tenant_key),
        }))
        .into_response(),
        Err(e @ tasks::DeclareError::Invalid { .. }) => {
            error(StatusCode::BAD_REQUEST, &e.to_string())
        }
        Err(tasks::DeclareError::Store(e)) => {
            error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
        }
    }
}
