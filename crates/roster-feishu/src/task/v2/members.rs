//! A task's members, `{id, type, role}`: users (by the request's `user_id_type`) and apps (by
//! app_id) as `assignee` (Task v1's collaborator) or `follower`. Adding one already there, or
//! removing one that is not, is ignored; the answer is the task with its members.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use roster_core::{
    Applied, Entity, EntityId, Refusal, RemoveEdges, StepId, StoreError, Target, WritePlan,
};
use serde::Deserialize;

use super::idempotency::{self, Begun};
use super::naming::{resolve, task_role, MemberInput};
use super::render::{answer, apply_then_answer};
use super::{error, invalid, Code, Op};
use crate::auth::Credentials;
use crate::task::endpoint::{Endpoint, Role};
use crate::task::{serve, Access, Call};
use crate::tenants::Feishu;
use crate::wire::{ApiError, QueryParams};

/// Members one create or add_members request may name, after de-duplication.
pub const MEMBERS_PER_REQUEST: usize = 50;
/// Members one remove_members request may name.
const MEMBERS_PER_REMOVAL: usize = 500;

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
    credentials: Credentials,
    query: QueryParams,
    Path(guid): Path<String>,
    body: Body,
) -> Response {
    let endpoint = Endpoint::V2(Op::AddMembers);
    serve(
        feishu,
        endpoint,
        credentials,
        query,
        move |call| async move {
            let request: MembersRequest = call.body(body).await?;
            let token = request.client_token.as_deref();
            let once = match idempotency::begin(&call, Op::AddMembers, token).await? {
                Begun::Repeat(earlier) => return answer(&call, call.task(&earlier).await?).await,
                Begun::Fresh(once) => once,
            };
            let (task, wanted) =
                prepare(&call, &guid, &request.members, MEMBERS_PER_REQUEST).await?;
            let touched: Vec<EntityId> = wanted.iter().map(|(_, entity)| *entity).collect();
            let mut plan = call.task_plan(&task, &touched).await?;
            let steps = add_steps(&call, &mut plan, task.id.into(), wanted);
            if let Some(once) = &once {
                once.mark(&mut plan, &task.key);
            }
            let result = call.feishu().engine.store.apply(plan).await;
            applied(&call, result, &steps)?;
            answer(&call, call.task(&guid).await?).await
        },
    )
    .await
}

/// `POST /task/v2/tasks/:task_guid/remove_members`.
pub async fn remove(
    State(feishu): State<Arc<Feishu>>,
    credentials: Credentials,
    query: QueryParams,
    Path(guid): Path<String>,
    body: Body,
) -> Response {
    let endpoint = Endpoint::V2(Op::RemoveMembers);
    serve(
        feishu,
        endpoint,
        credentials,
        query,
        move |call| async move {
            let request: MembersRequest = call.body(body).await?;
            let (task, wanted) =
                prepare(&call, &guid, &request.members, MEMBERS_PER_REMOVAL).await?;
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
        },
    )
    .await
}
