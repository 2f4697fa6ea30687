//! How Task v2 names a task's or tasklist's members on the wire, `{id, type, role}`: users by
//! the request's `user_id_type`, apps by app_id; read from a request ([`resolve`]) and written
//! into an answer ([`Names`]).

use std::collections::HashMap;

use roster_core::EntityId;
use serde::Deserialize;
use serde_json::Value;

use super::invalid;
use super::object::member;
use crate::task::endpoint::Role;
use crate::task::Call;
use crate::wire::ApiError;

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
