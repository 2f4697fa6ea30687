//! Chats and their members, shared by the IM routes and aPaaS `chat_group`.
//!
//! A chat is an entity keyed by its `oc_` id and owned by the app that created it. Its users are
//! members under [`Members::Users`], its bots (apps) under [`Members::Bots`]. Chat ids carry a
//! tag derived from their tenant, so a chat id of another tenant is recognised as such without
//! looking outside the caller's space.

use std::future::Future;

use roster_core::{
    AddEdges, AddPolicy, Caps, Direction, Entity, EntityId, NewEntity, Outcome, StoreError,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::tenants::{App, Feishu, Tenant};
use crate::tokens::{random_hex, TokenKind};

pub const CHAT: &str = "feishu.chat";
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
    chat: EntityId,
    kind: Members,
    members: &[EntityId],
) -> Result<Vec<(EntityId, Outcome)>, MembershipError> {
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let outcomes = feishu
        .engine
        .store
        .add_edges(AddEdges {
            space_id: tenant.space.id,
            subject: chat,
            relation: kind.relation().into(),
            members: members.to_vec(),
            caps: Caps {
                members_per_subject: Some(kind.cap(tenant)),
                subjects_per_member: None,
            },
            reciprocal: None,
            allow_self: false,
            policy: AddPolicy {
                abort_on_unknown: true,
                abort_on_full: true,
            },
            now: feishu.now(),
        })
        .await?;
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

/// Create a chat owned by `app`, with `users` and `bots` (the app's own bot among them), or
/// nothing at all.
pub async fn create(
    feishu: &Feishu,
    app: &App,
    attrs: Value,
    users: &[EntityId],
    bots: &[EntityId],
) -> Result<Entity, MembershipError> {
    let tenant = &app.tenant;
    let store = &feishu.engine.store;
    let chat = store
        .create_entity(NewEntity {
            space_id: tenant.space.id,
            kind: CHAT.into(),
            key: new_chat_id(tenant),
            attrs,
            owner: Some(app.entity),
            now: feishu.now(),
        })
        .await?;
    let added = async {
        add(feishu, tenant, chat.id, Members::Users, users).await?;
        add(feishu, tenant, chat.id, Members::Bots, bots).await
    }
    .await;
    if let Err(e) = added {
        store.delete_entity(chat.id).await?;
        return Err(e);
    }
    Ok(chat)
}

/// The chat a `uuid` marker names, while the marker is fresh and the chat exists.
async fn marked_chat(
    feishu: &Feishu,
    marker: Option<&Entity>,
    now: i64,
) -> Result<Option<Entity>, StoreError> {
    let chat = marker
        .filter(|m| m.attrs["at"].as_i64().unwrap_or(0) + UUID_TTL > now)
        .and_then(|m| m.attrs["chat"].as_i64());
    match chat {
        Some(id) => feishu.engine.store.entity(id).await,
        None => Ok(None),
    }
}

/// `create` (a [`create`] future, run only when needed), at most once per `uuid`, app and
/// owner within ten hours: a repeat returns the chat the first request made.
pub async fn create_once(
    feishu: &Feishu,
    app: &App,
    uuid: &str,
    owner: Option<EntityId>,
    create: impl Future<Output = Result<Entity, MembershipError>>,
) -> Result<Entity, MembershipError> {
    let store = &feishu.engine.store;
    let space = app.tenant.space.id;
    let key = format!("{}/{}/{uuid}", app.entity, owner.unwrap_or(0));
    let now = feishu.now();
    let marker = store.find_entity(space, CHAT_UUID, &key).await?;
    if let Some(earlier) = marked_chat(feishu, marker.as_ref(), now).await? {
        return Ok(earlier);
    }
    let chat = create.await?;
    let attrs = json!({ "chat": chat.id, "at": now });
    let created = store
        .create_entity(NewEntity {
            space_id: space,
            kind: CHAT_UUID.into(),
            key: key.clone(),
            attrs: attrs.clone(),
            owner: None,
            now,
        })
        .await;
    match created {
        Ok(_) => Ok(chat),
        // A concurrent request with the same uuid made its chat first, or the marker is stale.
        Err(StoreError::Conflict) => {
            let marker = store.find_entity(space, CHAT_UUID, &key).await?;
            match (marked_chat(feishu, marker.as_ref(), now).await?, marker) {
                (Some(theirs), _) => {
                    store.delete_entity(chat.id).await?;
                    Ok(theirs)
                }
                (None, Some(stale)) => {
                    store.update_entity(stale.id, attrs, now).await?;
                    Ok(chat)
                }
                (None, None) => Ok(chat),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether the caller is in the chat: its app's bot for tenant tokens, its user for user tokens.
pub async fn caller_in(
    feishu: &Feishu,
    caller: &Caller,
    chat: EntityId,
) -> Result<bool, StoreError> {
    let (kind, who) = match (caller.kind, caller.user) {
        (TokenKind::User, Some(user)) => (Members::Users, user),
        _ => (Members::Bots, caller.app.entity),
    };
    has(feishu, chat, kind, who).await
}

pub async fn has(
    feishu: &Feishu,
    chat: EntityId,
    kind: Members,
    who: EntityId,
) -> Result<bool, StoreError> {
    Ok(!feishu
        .engine
        .store
        .edges_among(chat, kind.relation(), &[who])
        .await?
        .is_empty())
}

/// How many users and bots the chat has.
pub async fn counts(feishu: &Feishu, chat: EntityId) -> Result<(i64, i64), StoreError> {
    let mut counts = [0; 2];
    for (count, kind) in counts.iter_mut().zip([Members::Users, Members::Bots]) {
        let found = feishu
            .engine
            .store
            .counts(&[chat], kind.relation(), Direction::Members)
            .await?;
        *count = found.get(&chat).copied().unwrap_or(0);
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
