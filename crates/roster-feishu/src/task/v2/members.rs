//! A task's members, `{id, type, role}`: users (by the request's `user_id_type`) and apps (by
//! app_id) as `assignee` (Task v1's collaborator) or `follower`. Adding one already there, or
//! removing one that is not, is ignored; the answer is the task with its members.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use roster_core::{
    Applied, Entity, EntityId, Refusal, RemoveEdges, StepId, StoreError, Target, WritePlan,
};
use serde::Deserialize;
use serde_json::Value;

use super::idempotency::{self, Begun};
use super::object::member;
use super::tasks::{answer, apply_then_answer, MEMBERS_PER_REQUEST};
use super::{error, invalid, Code, Op};
use crate::task::endpoint::{Endpoint, Role};
use crate::task::{serve, Access, Call};
use crate::tenants::Feishu;
use crate::wire::{ApiError, QueryParams};

/// Members one remove_members request may name.
const MEMBERS_PER_REMOVAL: usize = 500;

#[derive(Debug, Deserialize)]
pub struct MemberInput {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    role: Option<String>,
}

/// The engine relation of a task member's role.
pub fn task_role(role: Option<&str>) -> Result<Role, ApiError> {
    match role {
        Some("assignee") => Ok(Role::Collaborator),
        Some("follower") => Ok(Role::Follower),
        _ => Err(invalid(
            "members",
            "role is invalid. Only 'assignee', 'follower' are supported",
        )),
    }
}

/// The members named, with their roles as `role_of` reads them, de-duplicated, at most `max`
/// of them: the gateway's unknown-id error for a user id that names no user of the tenant,
/// `1470400` for anything else amiss.
pub async fn resolve<R: Copy + PartialEq>(
    call: &Call,
    members: &[MemberInput],
    max: usize,
    role_of: fn(Option<&str>) -> Result<R, ApiError>,
) -> Result<Vec<(R, EntityId)>, ApiError> {
    let mut users = Vec::new();
    for member in members {
        role_of(member.role.as_deref())?;
        match (member.id.as_deref(), member.kind.as_deref()) {
            (None | Some(""), _) => return Err(invalid("members", "id must not be empty")),
            (Some(id), None | Some("user")) => users.push(id.to_string()),
            (Some(_), Some("app")) => {}
            _ => {
                return Err(invalid(
                    "members",
                    "type is invalid. Only 'user', 'app' are supported",
                ))
            }
        }
    }
    let users = call.users(&users).await?;
    let mut resolved = Vec::new();
    for member in members {
        let id = member.id.as_deref().unwrap_or_default();
        let entity = match member.kind.as_deref() {
            Some("app") => call
                .feishu()
                .app(id)
                .filter(|app| app.tenant.space.id == call.space())
                .map(|app| app.entity)
                .ok_or_else(|| invalid("members", &format!("app '{id}' is not found")))?,
            _ => users[id],
        };
        let pair = (role_of(member.role.as_deref())?, entity);
        if !resolved.contains(&pair) {
            resolved.push(pair);
        }
    }
    if resolved.len() > max {
        return Err(invalid(
            "members",
            &format!("at most {max} members are supported in one request"),
        ));
    }
    Ok(resolved)
}

/// How members are named on the wire: users by the request's `user_id_type`, apps by app_id.
pub struct Names<'a> {
    call: &'a Call,
    users: HashMap<EntityId, String>,
}

impl<'a> Names<'a> {
    /// The names of `entities`, read at once.
    pub async fn of(call: &'a Call, entities: &[EntityId]) -> Result<Self, ApiError> {
        let users = call.user_ids(entities).await?;
        Ok(Names { call, users })
    }

    /// `{id, type, role}` of `entity`; `None` for a user without an id of the requested type.
    pub fn member(&self, entity: EntityId, role: &str) -> Option<Value> {
        match self.call.feishu().app_by_entity(entity) {
            Some(app) => Some(member(&app.app_id, "app", role)),
            None => self.users.get(&entity).map(|id| member(id, "user", role)),
        }
    }
}

/// The steps adding `members` to `task`, one per role, each all or nothing within the role's
/// cap per task.
pub fn add_steps(
    call: &Call,
    plan: &mut WritePlan,
    task: Target,
    members: Vec<(Role, EntityId)>,
) -> Vec<(Role, StepId)> {
    [Role::Collaborator, Role::Follower]
        .into_iter()
        .filter_map(|role| {
            let of_role: Vec<EntityId> = members
                .iter()
                .filter(|(r, _)| *r == role)
                .map(|(_, entity)| *entity)
                .collect();
            (!of_role.is_empty()).then(|| (role, call.add_members(plan, task, role, of_role)))
        })
        .collect()
}

/// A plan's result: a role's cap reached is `1470610` (assignees) or `1470611` (followers).
pub fn applied(
    call: &Call,
    result: Result<Applied, StoreError>,
    steps: &[(Role, StepId)],
) -> Result<Applied, ApiError> {
    let e = match result {
        Ok(applied) => return Ok(applied),
        Err(e) => e,
    };
    for (role, step) in steps {
        if let Some(Refusal::Aborted(outcomes)) = e.refusal_of(*step) {
            if outcomes.iter().any(|(_, outcome)| outcome.is_full()) {
                return Err(error(match role {
                    Role::Collaborator => Code::TooManyAssignees,
                    Role::Follower => Code::TooManyFollowers,
                }));
            }
        }
    }
    Err(call.write_failed(e))
}

#[derive(Deserialize)]
struct MembersRequest {
    #[serde(default)]
    members: Vec<MemberInput>,
    client_token: Option<String>,
}

/// The task `guid` whose members change, locked for the change, with the members named.
async fn prepare(
    call: &Call,
    guid: &str,
    members: &[MemberInput],
    max: usize,
) -> Result<(Entity, Vec<(Role, EntityId)>), ApiError> {
    if members.is_empty() {
        return Err(invalid("members", "must not be empty"));
    }
    let wanted = resolve(call, members, max, task_role).await?;
    let task = call.task_for(guid, Access::Edit).await?;
    call.lock(&task).await?;
    Ok((task, wanted))
}

/// `POST /task/v2/tasks/:task_guid/add_members`.
pub async fn add(
    State(feishu): State<Arc<Feishu>>,
    headers: HeaderMap,
    query: QueryParams,
    Path(guid): Path<String>,
    body: Body,
) -> Response {
    let endpoint = Endpoint::V2(Op::AddMembers);
    serve(feishu, endpoint, &headers, query, move |call| async move {
        let request: MembersRequest = call.body(body).await?;
        let token = request.client_token.as_deref();
        let once = match idempotency::begin(&call, Op::AddMembers, token).await? {
            Begun::Repeat(earlier) => return answer(&call, call.task(&earlier).await?).await,
            Begun::Fresh(once) => once,
        };
        let (task, wanted) = prepare(&call, &guid, &request.members, MEMBERS_PER_REQUEST).await?;
        let touched: Vec<EntityId> = wanted.iter().map(|(_, entity)| *entity).collect();
        let mut plan = call.task_plan(&task, &touched).await?;
        let steps = add_steps(&call, &mut plan, task.id.into(), wanted);
        if let Some(once) = &once {
            once.mark(&mut plan, &task.key);
        }
        let result = call.feishu().engine.store.apply(plan).await;
        applied(&call, result, &steps)?;
        answer(&call, call.task(&guid).await?).await
    })
    .await
}

/// `POST /task/v2/tasks/:task_guid/remove_members`.
pub async fn remove(
    State(feishu): State<Arc<Feishu>>,
    headers: HeaderMap,
    query: QueryParams,
    Path(guid): Path<String>,
    body: Body,
) -> Response {
    let endpoint = Endpoint::V2(Op::RemoveMembers);
    serve(feishu, endpoint, &headers, query, move |call| async move {
        let request: MembersRequest = call.body(body).await?;
        let (task, wanted) = prepare(&call, &guid, &request.members, MEMBERS_PER_REMOVAL).await?;
        let touched: Vec<EntityId> = wanted.iter().map(|(_, entity)| *entity).collect();
        let mut plan = call.task_plan(&task, &touched).await?;
        for role in [Role::Collaborator, Role::Follower] {
            let members: Vec<EntityId> = wanted
                .iter()
                .filter(|(r, _)| *r == role)
                .map(|(_, entity)| *entity)
                .collect();
            if !members.is_empty() {
                plan.remove_edges(RemoveEdges {
                    subject: task.id.into(),
                    relation: role.relation().into(),
                    members,
                    reciprocal: None,
                });
            }
        }
        apply_then_answer(&call, plan, &guid).await
    })
    .await
}
