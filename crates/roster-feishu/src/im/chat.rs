//! Chats and their members, shared by the IM routes and aPaaS `chat_group`.
//!
//! A chat is a [`CHAT`] entity keyed by its `oc_` id and owned by the app that created it. Its
//! users are members under [`Members::Users`], its bots (apps) under [`Members::Bots`]. Chat
//! ids carry a tag derived from their tenant, so a chat id of another tenant is recognised as
//! such without looking outside the caller's space.

use roster_core::{
    batch_outcomes, AddEdges, AddPolicy, Direction, Entity, EntityId, Outcome, Refusal,
    RemoveEdges, StepId, StoreError, Target, WritePlan,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::model::{CHAT, CHAT_USERS};
use crate::tenants::{App, Feishu, Tenant};
use crate::tokens::{random_hex, TokenKind};

/// Marks which chat a create request's `uuid` made, for de-duplication.
const CHAT_UUID: &str = "feishu.chat_uuid";

/// The tenant limit on users per chat, and its vendor default (a certified tenant's normal group).
pub const CHAT_MEMBERS: &str = "chat_members";
const CHAT_MEMBERS_DEFAULT: i64 = 5000;
/// Bots per chat: a fixed vendor limit.
const BOTS_PER_CHAT: i64 = 15;
/// A repeated `uuid` returns the chat it made for this long.
const UUID_TTL: i64 = 10 * 3600;

/// The two kinds of chat members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Members {
    Users,
    Bots,
}

impl Members {
    pub fn relation(self) -> &'static str {
        match self {
            Members::Users => "im.chat.user",
            Members::Bots => "im.chat.bot",
        }
    }

    fn cap(self, tenant: &Tenant) -> i64 {
        match self {
            Members::Users => tenant.space.limit(CHAT_MEMBERS, CHAT_MEMBERS_DEFAULT),
            Members::Bots => BOTS_PER_CHAT,
        }
    }
}

/// Why members were not added; the batch wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    #[error("some members are not users or apps of the tenant")]
    Unknown,
    #[error("the chat would exceed its member cap")]
    Full,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a chat id names, seen from one tenant.
pub enum Found {
    Chat(Entity),
    /// A chat id of another tenant.
    OtherTenant,
    Unknown,
}

/// Eight hex digits naming the tenant inside its chat ids.
fn tenant_tag(tenant_key: &str) -> String {
    let digest = Sha256::digest(format!("chat\0{tenant_key}"));
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// `oc_` + 32 hex digits: the tenant's tag and 24 random ones.
fn new_chat_id(tenant: &Tenant) -> String {
    format!("oc_{}{}", tenant_tag(&tenant.key), random_hex(12))
}

pub async fn find(feishu: &Feishu, tenant: &Tenant, chat_id: &str) -> Result<Found, StoreError> {
    let store = &feishu.engine.store;
    if let Some(chat) = store.find_entity(tenant.space.id, CHAT, chat_id).await? {
        return Ok(Found::Chat(chat));
    }
    let tag = chat_id.strip_prefix("oc_").and_then(|hex| hex.get(..8));
    let foreign = tag.is_some_and(|tag| {
        feishu
            .apps()
            .iter()
            .any(|app| app.tenant.key != tenant.key && tenant_tag(&app.tenant.key) == tag)
    });
    Ok(if foreign {
        Found::OtherTenant
    } else {
        Found::Unknown
    })
}

/// Add members in one batch: all of them, or (unknown member, cap reached) none.
pub async fn add(
    feishu: &Feishu,
    tenant: &Tenant,
    chat: &Entity,
    kind: Members,
    members: &[EntityId],
    operator: Option<EntityId>,
) -> Result<Vec<(EntityId, Outcome)>, MembershipError> {
    let mut plan = members_plan(feishu, tenant, chat, kind, members, operator).await?;
    let Some(step) = add_step(&mut plan, tenant, chat.id.into(), kind, members) else {
        return Ok(Vec::new());
    };
    let applied = feishu.engine.store.apply(plan).await;
    membership(batch_outcomes(applied, step)?)
}

/// Remove members in one batch; those that were members (and are no more).
pub async fn remove(
    feishu: &Feishu,
    tenant: &Tenant,
    chat: &Entity,
    kind: Members,
    members: &[EntityId],
    operator: Option<EntityId>,
) -> Result<Vec<EntityId>, StoreError> {
    let mut plan = members_plan(feishu, tenant, chat, kind, members, operator).await?;
    let step = plan.remove_edges(RemoveEdges {
        subject: chat.id.into(),
        relation: kind.relation().into(),
        members: members.to_vec(),
        reciprocal: None,
    });
    let applied = feishu.engine.store.apply(plan).await?;
    Ok(applied
        .outcomes(step)
        .iter()
        .filter(|(_, outcome)| *outcome == Outcome::Removed)
        .map(|(member, _)| *member)
        .collect())
}

/// A plan changing `chat`'s members, with what its events will tell of the users.
async fn members_plan(
    feishu: &Feishu,
    tenant: &Tenant,
    chat: &Entity,
    kind: Members,
    members: &[EntityId],
    operator: Option<EntityId>,
) -> Result<WritePlan, StoreError> {
    let mut plan = WritePlan::new(tenant.space.id, feishu.now());
    if kind == Members::Users {
        plan.context = changed_users(feishu, tenant, chat, members, operator).await?;
    }
    Ok(plan)
}

/// What `im.chat.member.user.added_v1` and `deleted_v1` tell of users added to or removed
/// from `chat`: the chat's name, the bots in it (the apps that receive it), the users' names
/// and the operator. Read only when an app of the tenant subscribes to events.
async fn changed_users(
    feishu: &Feishu,
    tenant: &Tenant,
    chat: &Entity,
    users: &[EntityId],
    operator: Option<EntityId>,
) -> Result<Option<Value>, StoreError> {
    let apps = feishu.apps_of(tenant.space.id);
    if apps.iter().all(|app| app.subscription.is_none()) {
        return Ok(None);
    }
    let store = &feishu.engine.store;
    let bots = store
        .members_of(tenant.space.id, &[chat.id], Members::Bots.relation())
        .await?
        .remove(&chat.id)
        .unwrap_or_default();
    let bots: Vec<String> = bots
        .iter()
        .filter_map(|bot| feishu.app_by_entity(*bot).map(|app| app.app_id.clone()))
        .collect();
    let mut named: Vec<EntityId> = users.to_vec();
    named.extend(operator);
    let entities = store.entities(tenant.space.id, &named).await?;
    let names: serde_json::Map<String, Value> = users
        .iter()
        .filter_map(|id| entities.get(id))
        .map(|user| (user.key.clone(), user.attrs["name"].clone()))
        .collect();
    Ok(Some(json!({ CHAT_USERS: {
        "chat_name": chat.attrs["name"],
        "i18n_names": chat.attrs["i18n_names"],
        "bots": bots,
        "names": names,
        "operator": operator.and_then(|id| entities.get(&id)).map(|user| user.key.clone()),
    }})))
}

/// The step adding `members` to a chat, all or none; `None` when there are none to add.
fn add_step(
    plan: &mut WritePlan,
    tenant: &Tenant,
    chat: Target,
    kind: Members,
    members: &[EntityId],
) -> Option<StepId> {
    if members.is_empty() {
        return None;
    }
    let members = members.iter().copied().map(Target::from).collect();
    let mut add = AddEdges::new(chat, kind.relation(), members);
    add.caps.members_per_subject = Some(kind.cap(tenant));
    add.policy = AddPolicy {
        abort_on_unknown: true,
        abort_on_full: true,
    };
    Some(plan.add_edges(add))
}

/// A batch's outcomes, or why it wrote nothing.
fn membership(
    outcomes: Vec<(EntityId, Outcome)>,
) -> Result<Vec<(EntityId, Outcome)>, MembershipError> {
    if outcomes
        .iter()
        .any(|(_, o)| matches!(o, Outcome::UnknownMember | Outcome::SelfEdge))
    {
        return Err(MembershipError::Unknown);
    }
    if outcomes.iter().any(|(_, o)| o.is_full()) {
        return Err(MembershipError::Full);
    }
    Ok(outcomes)
}

/// Whether there is room for `more` users besides the chat's current ones.
pub fn fits(tenant: &Tenant, current: i64, more: usize) -> bool {
    current.saturating_add(more as i64) <= Members::Users.cap(tenant)
}

/// The step removing `uuid` markers that no longer de-duplicate anything.
pub fn prune_markers(plan: &mut WritePlan) {
    plan.prune(CHAT_UUID, plan.now - UUID_TTL);
}

/// Makes a chat create request idempotent: a repeat with the same `uuid`, app and owner within
/// ten hours returns the chat the first request made.
pub struct Once<'a> {
    pub uuid: &'a str,
    pub owner: Option<EntityId>,
}

/// Create a chat owned by `owner` (by `app`'s bot when `None`), with `users` and `bots` (the
/// app's own bot among them), or nothing at all; with `once`, at most once per uuid.
pub async fn create(
    feishu: &Feishu,
    app: &App,
    attrs: Value,
    owner: Option<EntityId>,
    users: &[EntityId],
    bots: &[EntityId],
    once: Option<Once<'_>>,
) -> Result<Entity, MembershipError> {
    let tenant = &app.tenant;
    let store = &feishu.engine.store;
    let space = tenant.space.id;
    let marker_key = once.map(|once| {
        let owner = once.owner.unwrap_or(0);
        format!("{}/{owner}/{}", app.entity, once.uuid)
    });
    // A second round only after losing a race for the uuid marker: it then finds the winner's.
    for _ in 0..2 {
        let now = feishu.now();
        let marker = match &marker_key {
            Some(key) => store.find_entity(space, CHAT_UUID, key).await?,
            None => None,
        };
        if let Some(earlier) = marked_chat(feishu, tenant, marker.as_ref(), now).await? {
            return Ok(earlier);
        }
        let mut plan = WritePlan::new(space, now);
        let chat_id = new_chat_id(tenant);
        let owner = owner.unwrap_or(app.entity);
        let chat = plan.create(CHAT, &chat_id, attrs.clone(), Some(owner.into()));
        let batches = [
            add_step(&mut plan, tenant, chat.into(), Members::Users, users),
            add_step(&mut plan, tenant, chat.into(), Members::Bots, bots),
        ];
        let marked = marker_key.as_ref().map(|key| {
            let attrs = json!({ "chat_id": chat_id, "at": now });
            match &marker {
                Some(stale) => plan.update_from(stale, attrs),
                None => plan.create(CHAT_UUID, key, attrs, None),
            }
        });
        let e = match store.apply(plan).await {
            Ok(applied) => return Ok(applied.into_entity(chat)),
            Err(e) => e,
        };
        if marked.is_some_and(|step| e.refusal_of(step).is_some()) {
            continue;
        }
        for step in batches.into_iter().flatten() {
            if let Some(Refusal::Aborted(outcomes)) = e.refusal_of(step) {
                membership(outcomes.clone())?;
            }
        }
        return Err(e.into());
    }
    Err(StoreError::backend("the chat uuid marker keeps changing").into())
}

/// The chat a `uuid` marker names, while the marker is fresh and the chat exists.
async fn marked_chat(
    feishu: &Feishu,
    tenant: &Tenant,
    marker: Option<&Entity>,
    now: i64,
) -> Result<Option<Entity>, StoreError> {
    let chat_id = marker
        .filter(|m| m.attrs["at"].as_i64().unwrap_or(0) + UUID_TTL > now)
        .and_then(|m| m.attrs["chat_id"].as_str());
    match chat_id {
        Some(chat_id) => {
            let store = &feishu.engine.store;
            store.find_entity(tenant.space.id, CHAT, chat_id).await
        }
        None => Ok(None),
    }
}

/// Whether the caller is in the chat: its app's bot for tenant tokens, its user for user tokens.
pub async fn caller_in(
    feishu: &Feishu,
    caller: &Caller,
    chat: &Entity,
) -> Result<bool, StoreError> {
    let (kind, who) = caller_as_member(caller);
    has(feishu, chat, kind, who).await
}

/// Who the caller is among chat members: its user with a user token, else its app's bot.
pub fn caller_as_member(caller: &Caller) -> (Members, EntityId) {
    match (caller.kind, caller.user) {
        (TokenKind::User, Some(user)) => (Members::Users, user),
        _ => (Members::Bots, caller.app.entity),
    }
}

pub async fn has(
    feishu: &Feishu,
    chat: &Entity,
    kind: Members,
    who: EntityId,
) -> Result<bool, StoreError> {
    Ok(!feishu
        .engine
        .store
        .edges_among(chat.space_id, chat.id, kind.relation(), &[who])
        .await?
        .is_empty())
}

/// How many users and bots the chat has.
pub async fn counts(feishu: &Feishu, chat: &Entity) -> Result<(i64, i64), StoreError> {
    let mut counts = [0; 2];
    for (count, kind) in counts.iter_mut().zip([Members::Users, Members::Bots]) {
        let found = feishu
            .engine
            .store
            .counts(
                chat.space_id,
                &[chat.id],
                kind.relation(),
                Direction::Members,
            )
            .await?;
        *count = found.get(&chat.id).copied().unwrap_or(0);
    }
    Ok((counts[0], counts[1]))
}

/// `ids` without repeats, in first-seen order.
pub fn distinct(ids: impl IntoIterator<Item = EntityId>) -> Vec<EntityId> {
    let mut seen = std::collections::HashSet::new();
    ids.into_iter().filter(|id| seen.insert(*id)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_tags_are_eight_hex_digits_per_tenant() {
        let tag = tenant_tag("acme");
        assert_eq!(tag.len(), 8);
        assert!(tag
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(tag, tenant_tag("acme"));
        assert_ne!(tag, tenant_tag("globex"));
    }

    #[test]
    fn distinct_keeps_first_seen_order() {
        assert_eq!(distinct([3, 1, 3, 2, 1]), [3, 1, 2]);
    }
}
