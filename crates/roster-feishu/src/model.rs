//! The Feishu dialect's vocabulary, a leaf every other module may use: the kinds, relations and
//! alias namespaces it stores, the event types it sends and what a plan's context tells them,
//! an app's event subscription, and how vendor-looking ids are derived.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const DIALECT: &str = "feishu";

pub const TENANT: &str = "feishu.tenant";
pub const APP: &str = "feishu.app";
pub const USER: &str = "feishu.user";
/// A task, of Task v1 and v2 alike (keyed by its guid, v1's `task_id`).
pub const TASK: &str = "feishu.task";
/// A chat, keyed by its `oc_` id and owned by the user or app that created it.
pub const CHAT: &str = "feishu.chat";
/// A Task v2 tasklist, owned by its creator.
pub const TASKLIST: &str = "feishu.tasklist";
/// A task's tasklists: `task --task.tasklist--> tasklist`.
pub const IN_TASKLIST: &str = "task.tasklist";

/// The alias namespace of aPaaS kunlun ids, and the user attribute holding a seeded one.
pub const KUNLUN_ID: &str = "kunlun_id";

pub const TASK_UPDATED: &str = "task.task.updated_v1";
pub const TASK_UPDATE_TENANT: &str = "task.task.update_tenant_v1";
pub const TASK_USER_ACCESS: &str = "task.task.update_user_access_v2";
pub const USER_CREATED: &str = "contact.user.created_v3";
pub const CHAT_USERS_ADDED: &str = "im.chat.member.user.added_v1";
pub const CHAT_USERS_DELETED: &str = "im.chat.member.user.deleted_v1";
/// The event types roster sends (an app's `events` may name these).
pub const EVENT_TYPES: &[&str] = &[
    TASK_UPDATED,
    TASK_UPDATE_TENANT,
    TASK_USER_ACCESS,
    USER_CREATED,
    CHAT_USERS_ADDED,
    CHAT_USERS_DELETED,
];

/// What a call's plan context says about the task it changed.
pub const TASK_CREATOR_APP: &str = "task_creator_app";
/// What a call's plan context names of the apps subscribed (Task v2's `task_subscription`) for
/// the task's creator or members.
pub const TASK_SUBSCRIBERS: &str = "task_subscribers";
/// What a call's plan context holds of the user it created: its attrs.
pub const CREATED_USER: &str = "created_user";
/// What a call's plan context holds of the users it added to or removed from a chat (see
/// `im::chat`); the value is older than removals, and change-log rows keep it.
pub const CHAT_USERS: &str = "added_users";

/// An app's event subscription (the seed's `event_url`, `verification_token`, `encrypt_key`,
/// `events`), kept in the app's attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub url: String,
    pub verification_token: String,
    pub encrypt_key: Option<String>,
    /// The event types subscribed to; all when none.
    pub events: Option<Vec<String>>,
}

impl Subscription {
    /// From the seed file's keys of an app; none without an `event_url`.
    pub fn from_keys(
        event_url: Option<&str>,
        verification_token: Option<&str>,
        encrypt_key: Option<&str>,
        events: Option<&[String]>,
    ) -> Result<Option<Subscription>, String> {
        let Some(url) = event_url else {
            if verification_token.is_some() || encrypt_key.is_some() || events.is_some() {
                return Err("verification_token, encrypt_key and events need an event_url".into());
            }
            return Ok(None);
        };
        roster_core::check_callback_url(url).map_err(|why| format!("event_url: {why}"))?;
        if let Some(unknown) = events
            .into_iter()
            .flatten()
            .find(|e| !EVENT_TYPES.contains(&e.as_str()))
        {
            return Err(format!(
                "unknown event type {unknown:?}; known: {}",
                EVENT_TYPES.join(", ")
            ));
        }
        Ok(Some(Subscription {
            url: url.to_string(),
            verification_token: verification_token.unwrap_or_default().to_string(),
            encrypt_key: encrypt_key
                .filter(|key| !key.is_empty())
                .map(str::to_string),
            events: events.map(<[String]>::to_vec),
        }))
    }

    /// As the seed file's keys of `app_id`.
    pub fn keys(&self, app_id: &str) -> Value {
        let mut keys = json!({
            "app_id": app_id,
            "event_url": self.url,
            "verification_token": self.verification_token,
        });
        if let Some(key) = &self.encrypt_key {
            keys["encrypt_key"] = key.as_str().into();
        }
        if let Some(events) = &self.events {
            keys["events"] = json!(events);
        }
        keys
    }

    pub fn wants(&self, event_type: &str) -> bool {
        self.events
            .as_ref()
            .is_none_or(|types| types.iter().any(|t| t == event_type))
    }
}

/// The SHA-256 of `parts`, each followed by a NUL: the seed of every derived id.
fn digest(parts: &[&str]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().into()
}

/// A stable vendor-looking id (`ou_` / `on_` + 32 hex) derived from its parts.
pub fn derived_id(prefix: &str, parts: &[&str]) -> String {
    let hex: String = digest(parts)[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{prefix}{hex}")
}

/// A stable 16-digit decimal number derived from `parts`, the shape of aPaaS ids.
pub fn derived_number(parts: &[&str]) -> String {
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest(parts)[..8]);
    let n = u64::from_be_bytes(head);
    (1_000_000_000_000_000 + n % 9_000_000_000_000_000).to_string()
}

/// A user's open_id in one app (per app, as the vendor's).
pub fn open_id(tenant: &str, app_id: &str, user_id: &str) -> String {
    derived_id("ou_", &["user", tenant, app_id, user_id])
}

/// A user's union_id (one per developer: roster's apps are all one developer's).
pub fn union_id(tenant: &str, user_id: &str) -> String {
    derived_id("on_", &["user", tenant, user_id])
}

/// A user's kunlun id: the seeded one, else a stable one derived from the tenant and user_id.
pub fn kunlun_id(tenant_key: &str, user_id: &str, seeded: Option<&str>) -> String {
    match seeded.filter(|k| !k.is_empty()) {
        Some(seeded) => seeded.to_string(),
        None => derived_number(&["kunlun", tenant_key, user_id]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kunlun_ids_are_stable_16_digit_numbers() {
        let id = kunlun_id("acme", "frank", None);
        assert_eq!(id, kunlun_id("acme", "frank", Some("")));
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(id, kunlun_id("globex", "frank", None));
        assert_eq!(kunlun_id("acme", "frank", Some("1001")), "1001");
    }

    #[test]
    fn derived_ids_are_a_prefix_and_32_hex_digits() {
        let id = open_id("acme", "cli_a", "frank");
        assert!(id.starts_with("ou_") && id.len() == 35);
        assert_ne!(id, open_id("acme", "cli_b", "frank"));
        assert_eq!(union_id("acme", "frank"), union_id("acme", "frank"));
    }
}
