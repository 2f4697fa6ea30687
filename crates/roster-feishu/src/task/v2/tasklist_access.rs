//! Who may do what with a tasklist, and with the tasks in it: the owner manages (deletes),
//! editors and the owner edit (members, tasks), viewers read.

use roster_core::Entity;

use super::{error, Code};
use crate::model::{IN_TASKLIST, TASKLIST};
use crate::task::{Access, Call};
use crate::wire::ApiError;

/// A tasklist member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListRole {
    Editor,
    Viewer,
}

impl ListRole {
    pub fn relation(self) -> &'static str {
        match self {
            ListRole::Editor => "tasklist.editor",
            ListRole::Viewer => "tasklist.viewer",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ListRole::Editor => "editor",
            ListRole::Viewer => "viewer",
        }
    }

    pub fn other(self) -> Self {
        match self {
            ListRole::Editor => ListRole::Viewer,
            ListRole::Viewer => ListRole::Editor,
        }
    }
}

/// The refusal of a tasklist that does not exist (or no longer does).
pub fn no_tasklist() -> ApiError {
    error(Code::TasklistNotFound)
}

/// The refusal of a caller without the access needed.
pub fn no_permission() -> ApiError {
    error(Code::TasklistNoPermission)
}

/// The tasklist `guid`, if the caller has `needed` access to it.
pub async fn tasklist_for(call: &Call, guid: &str, needed: Access) -> Result<Entity, ApiError> {
    let store = &call.feishu().engine.store;
    let list = store
        .find_entity(call.space(), TASKLIST, guid)
        .await?
        .ok_or_else(no_tasklist)?;
    if access(call, &list).await? >= needed {
        Ok(list)
    } else {
        Err(no_permission())
    }
}

/// The owner and editors edit, viewers read.
async fn access(call: &Call, list: &Entity) -> Result<Access, ApiError> {
    let actor = call.actor();
    if list.owner == Some(actor) {
        return Ok(Access::Edit);
    }
    let store = &call.feishu().engine.store;
    for (role, access) in [
        (ListRole::Editor, Access::Edit),
        (ListRole::Viewer, Access::Read),
    ] {
        let edges = store
            .edges_among(call.space(), list.id, role.relation(), &[actor])
            .await?;
        if !edges.is_empty() {
            return Ok(access);
        }
    }
    Ok(Access::None)
}

/// What the caller may do with `task` as an owner, editor or viewer of a tasklist it is in.
pub async fn access_through_tasklists(call: &Call, task: &Entity) -> Result<Access, ApiError> {
    let store = &call.feishu().engine.store;
    let space = call.space();
    let lists = store
        .members_of(space, &[task.id], IN_TASKLIST)
        .await?
        .remove(&task.id)
        .unwrap_or_default();
    if lists.is_empty() {
        return Ok(Access::None);
    }
    let actor = call.actor();
    let owned = store.entities(space, &lists).await?;
    if owned.values().any(|list| list.owner == Some(actor)) {
        return Ok(Access::Edit);
    }
    for (role, access) in [
        (ListRole::Editor, Access::Edit),
        (ListRole::Viewer, Access::Read),
    ] {
        let edges = store
            .edges_within(space, &lists, role.relation(), &[actor])
            .await?;
        if !edges.is_empty() {
            return Ok(access);
        }
    }
    Ok(Access::None)
}
