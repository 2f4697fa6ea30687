//! Tasks as Task v2 answers them.

use roster_core::{Entity, EntityId, WritePlan};
use serde_json::{json, Value};

use super::naming::Names;
use super::object;
use crate::model::IN_TASKLIST;
use crate::task::endpoint::Role;
use crate::task::tasks::record_of;
use crate::task::Call;
use crate::wire::{success, ApiError, ApiResult};

/// Tasks as the wire shows them: members (assignees, then followers), the creator and the
/// tasklists they are in.
pub async fn render(call: &Call, tasks: &[Entity]) -> Result<Vec<Value>, ApiError> {
    let ids: Vec<EntityId> = tasks.iter().map(|task| task.id).collect();
    let mut assignees = call.members_of(&ids, Role::Collaborator).await?;
    let mut followers = call.members_of(&ids, Role::Follower).await?;
    let store = &call.feishu().engine.store;
    let mut lists = store.members_of(call.space(), &ids, IN_TASKLIST).await?;
    let list_ids: Vec<EntityId> = lists.values().flatten().copied().collect();
    let list_keys = store.entities(call.space(), &list_ids).await?;
    let mut parts = Vec::with_capacity(tasks.len());
    let mut entities = Vec::new();
    for task in tasks {
        let task_assignees = assignees.remove(&task.id).unwrap_or_default();
        let task_followers = followers.remove(&task.id).unwrap_or_default();
        entities.extend(&task_assignees);
        entities.extend(&task_followers);
        entities.extend(task.owner);
        let task_lists = lists.remove(&task.id).unwrap_or_default();
        parts.push((record_of(task)?, task_assignees, task_followers, task_lists));
    }
    let names = Names::of(call, &entities).await?;
    Ok(tasks
        .iter()
        .zip(parts)
        .map(
            |(task, (record, task_assignees, task_followers, task_lists))| {
                let members = task_assignees
                    .iter()
                    .filter_map(|e| names.member(*e, "assignee"))
                    .chain(
                        task_followers
                            .iter()
                            .filter_map(|e| names.member(*e, "follower")),
                    )
                    .collect();
                let creator = task.owner.and_then(|owner| names.member(owner, "creator"));
                let in_lists = task_lists
                    .iter()
                    .filter_map(|list| list_keys.get(list))
                    .map(|list| json!({ "tasklist_guid": list.key, "section_guid": "" }))
                    .collect();
                object::render(task, &record, creator, members, in_lists)
            },
        )
        .collect())
}

/// `{"task": ...}` for one task.
pub async fn answer(call: &Call, task: Entity) -> ApiResult {
    let task = render(call, &[task]).await?.remove(0);
    Ok(success(json!({ "task": task })))
}

/// Apply a plan changing the task `guid`, then answer the task as it is.
pub async fn apply_then_answer(call: &Call, plan: WritePlan, guid: &str) -> ApiResult {
    let store = &call.feishu().engine.store;
    store.apply(plan).await.map_err(|e| call.write_failed(e))?;
    answer(call, call.task(guid).await?).await
}
