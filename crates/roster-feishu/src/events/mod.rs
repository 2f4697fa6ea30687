//! Feishu event subscription 2.0, rendered from the change log: Task v1's
//! `task.task.updated_v1` (to the app that created the task) and `task.task.update_tenant_v1`
//! (to every app of the tenant) when a call changes a task's followers or collaborators, and
//! `contact.user.created_v3` (to every app) when a call creates a user, and
//! `im.chat.member.user.added_v1` (to the apps whose bots are in the chat) when a call adds
//! users to a chat, and Task v2's `task.task.update_user_access_v2` (to the apps subscribed for
//! a task's creator or members) when a call creates or deletes a task or changes its members.
//! Each
//! goes to the apps whose subscription has a request URL and the event type, in the v2
//! envelope with the Verification Token, encrypted when the app has an Encrypt Key, and signed
//! in the `X-Lark-*` headers. When delivery starts, each request URL first gets the
//! `url_verification` challenge.

mod crypto;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;
use roster_core::{
    Acceptance, Callback, CallbackMethod, Callbacks, Change, ChangeOp, Entity, ReceiverError,
    ReceiverUpdate, SpaceId,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::model::{
    open_id, union_id, Subscription, APP, CHAT, CHAT_USERS, CHAT_USERS_ADDED, CHAT_USERS_DELETED,
    CREATED_USER, DIALECT, TASK, TASK_CREATOR_APP, TASK_SUBSCRIBERS, TASK_UPDATED,
    TASK_UPDATE_TENANT, TASK_USER_ACCESS, USER, USER_CREATED,
};
use crate::profile::contact_user;
use crate::tenants::{App, Feishu};

/// Feishu waits 3 seconds, then retries 4 times, after 15 s, 5 min, 1 h and 6 h.
const TIMEOUT: Duration = Duration::from_secs(3);
const RETRIES: [u64; 4] = [15, 300, 3600, 21600];

pub(crate) struct FeishuEvents {
    pub feishu: Arc<Feishu>,
    /// Multiplies the waits between retries (tests shorten them).
    pub retry_scale: f64,
}

/// One event for one app (or, with no app, for every subscribed app of the tenant).
struct Event {
    seq: i64,
    at: i64,
    event_type: &'static str,
    /// Only these apps receive it (all subscribed apps when none).
    apps: Option<Vec<String>>,
    body: Box<dyn Fn(&App) -> Value>,
}

/// A receiver as `PUT /_roster/callbacks/feishu/{tenant_key}` takes it: the seed file's keys
/// of one of the tenant's apps (only `app_id` to remove one).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiverKeys {
    app_id: String,
    event_url: Option<String>,
    verification_token: Option<String>,
    encrypt_key: Option<String>,
    events: Option<Vec<String>>,
}

#[async_trait]
impl Callbacks for FeishuEvents {
    fn dialect(&self) -> &'static str {
        DIALECT
    }

    fn receivers(&self, space: SpaceId) -> Vec<Value> {
        self.feishu
            .apps_of(space)
            .iter()
            .filter_map(|app| Some(app.subscription.as_ref()?.keys(&app.app_id)))
            .collect()
    }

    /// A new request URL must answer the `url_verification` challenge first, as the
    /// developer console requires before it saves one.
    async fn update_receiver(
        &self,
        space: SpaceId,
        keys: &Value,
        remove: bool,
        now: i64,
    ) -> Result<ReceiverUpdate, ReceiverError> {
        let keys: ReceiverKeys = serde_json::from_value(keys.clone())
            .map_err(|e| ReceiverError::Invalid(e.to_string()))?;
        let app = self
            .feishu
            .apps_of(space)
            .into_iter()
            .find(|app| app.app_id == keys.app_id)
            .ok_or_else(|| {
                ReceiverError::NotFound(format!("no app {:?} in this tenant", keys.app_id))
            })?;
        let (value, verification) = if remove {
            (None, None)
        } else {
            let subscription = Subscription::from_keys(
                keys.event_url.as_deref(),
                keys.verification_token.as_deref(),
                keys.encrypt_key.as_deref(),
                keys.events.as_deref(),
            )
            .map_err(ReceiverError::Invalid)?
            .ok_or_else(|| ReceiverError::Invalid("event_url is missing".into()))?;
            let challenge = self.challenge(&subscription);
            (Some(json!(subscription)), Some(challenge))
        };
        let store = &*self.feishu.engine.store;
        ReceiverUpdate::of_attr(
            store,
            (space, now),
            (APP, &app.app_id),
            "subscription",
            value,
            verification,
        )
        .await
    }

    fn render(&self, space: SpaceId, changes: &[Change]) -> Vec<Callback> {
        let apps = self.feishu.apps_of(space);
        if apps.iter().all(|app| app.subscription.is_none()) {
            return Vec::new();
        }
        let mut callbacks = Vec::new();
        let events = changes.chunk_by(|a, b| a.plan == b.plan).flat_map(|plan| {
            let mut events = task_events(plan);
            events.extend(task_access_events(plan));
            events.extend(user_events(space, plan));
            events.extend(chat_events(plan));
            events
        });
        for event in events {
            for app in &apps {
                let Some(subscription) = &app.subscription else {
                    continue;
                };
                let addressed = event
                    .apps
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&app.app_id));
                if addressed && subscription.wants(event.event_type) {
                    callbacks.push(self.callback(app, subscription, &event));
                }
            }
        }
        callbacks
    }

    fn handshakes(&self) -> Vec<(SpaceId, Callback)> {
        let mut apps = self.feishu.all_apps();
        apps.sort_by(|a, b| a.app_id.cmp(&b.app_id));
        apps.iter()
            .filter_map(|app| {
                let subscription = app.subscription.as_ref()?;
                Some((app.tenant.space.id, self.challenge(subscription)))
            })
            .collect()
    }
}

impl FeishuEvents {
    fn callback(&self, app: &App, subscription: &Subscription, event: &Event) -> Callback {
        let envelope = json!({
            "schema": "2.0",
            "header": {
                "event_id": random_text(32, 16),
                "event_type": event.event_type,
                "create_time": (event.at * 1000).to_string(),
                "token": subscription.verification_token,
                "app_id": app.app_id,
                "tenant_key": app.tenant.key,
            },
            "event": (event.body)(app),
        });
        self.post(
            subscription,
            event.seq,
            event.event_type,
            &envelope,
            Acceptance::Ok,
        )
    }

    /// The `url_verification` challenge: answered with `{"challenge": <the same>}`.
    fn challenge(&self, subscription: &Subscription) -> Callback {
        let challenge = random_text(36, 36);
        let body = json!({
            "challenge": challenge,
            "token": subscription.verification_token,
            "type": "url_verification",
        });
        let acceptance = Acceptance::Challenge(challenge);
        // Answered within 1 s, and not retried: the console just says the URL failed.
        Callback {
            timeout: Duration::from_secs(1),
            retries: Vec::new(),
            ..self.post(subscription, 0, "url_verification", &body, acceptance)
        }
    }

    /// `plaintext` to the app's request URL: encrypted when it has an Encrypt Key, signed.
    fn post(
        &self,
        subscription: &Subscription,
        seq: i64,
        event_type: &str,
        plaintext: &Value,
        acceptance: Acceptance,
    ) -> Callback {
        let key = subscription.encrypt_key.as_deref().unwrap_or_default();
        let body = match &subscription.encrypt_key {
            Some(key) => json!({ "encrypt": crypto::encrypt(key, &plaintext.to_string()) }),
            None => plaintext.clone(),
        }
        .to_string();
        let timestamp = self.feishu.now().to_string();
        let nonce = random_text(16, 36);
        let signature = crypto::signature(&timestamp, &nonce, key, &body);
        Callback {
            method: CallbackMethod::Post,
            change_seq: seq,
            event: event_type.to_owned(),
            url: subscription.url.clone(),
            headers: vec![
                (
                    "Content-Type".into(),
                    "application/json; charset=utf-8".into(),
                ),
                ("X-Lark-Request-Timestamp".into(), timestamp),
                ("X-Lark-Request-Nonce".into(), nonce),
                ("X-Lark-Signature".into(), signature),
            ],
            body,
            timeout: TIMEOUT,
            retries: RETRIES
                .iter()
                .map(|s| Duration::from_secs(*s).mul_f64(self.retry_scale))
                .collect(),
            acceptance,
        }
    }
}

/// `length` random digits of base `radix` (16: hex; 36: digits and lower-case letters).
fn random_text(length: usize, radix: u32) -> String {
    let mut rng = rand::thread_rng();
    (0..length)
        .map(|_| char::from_digit(rng.gen_range(0..radix), radix).expect("a digit of the radix"))
        .collect()
}

/// Task v2's `task.task.update_user_access_v2` for each task a plan created, deleted or changed
/// the assignees or followers of, to the apps its context names as subscribed, with the
/// vendor's commit types (attribute changes are not in the change log, so the `*_update` types
/// other than members are not sent).
fn task_access_events(plan: &[Change]) -> Vec<Event> {
    let Some(apps) = plan
        .first()
        .and_then(|c| c.context.as_ref())
        .and_then(|context| context.get(TASK_SUBSCRIBERS))
        .and_then(|apps| serde_json::from_value::<Vec<String>>(apps.clone()).ok())
    else {
        return Vec::new();
    };
    let (seq, at) = plan.last().map_or((0, 0), |c| (c.seq, c.at));
    // task guid -> commit types, in the vendor's words
    let mut changed: BTreeMap<&str, Vec<&'static str>> = BTreeMap::new();
    for change in plan {
        let commit = match (
            change.op,
            change.subject.kind.as_str(),
            change.relation.as_deref(),
        ) {
            (ChangeOp::EntityCreated, TASK, _) => "task_create",
            (ChangeOp::EntityDeleted, TASK, _) => "task_deleted",
            (ChangeOp::EdgeAdded | ChangeOp::EdgeRemoved, TASK, Some("collaborator")) => {
                "task_assignees_update"
            }
            (ChangeOp::EdgeAdded | ChangeOp::EdgeRemoved, TASK, Some("follower")) => {
                "task_followers_update"
            }
            _ => continue,
        };
        let commits = changed.entry(change.subject.key.as_str()).or_default();
        if !commits.contains(&commit) {
            commits.push(commit);
        }
    }
    // A task created or deleted with its members is that one change.
    for commits in changed.values_mut() {
        if let Some(whole) = commits
            .iter()
            .find(|c| matches!(**c, "task_create" | "task_deleted"))
        {
            *commits = vec![*whole];
        }
    }
    changed
        .into_iter()
        .map(|(guid, commits)| {
            let guid = guid.to_owned();
            Event {
                seq,
                at,
                event_type: TASK_USER_ACCESS,
                apps: Some(apps.clone()),
                body: Box::new(move |_| json!({ "task_guid": guid, "event_types": commits })),
            }
        })
        .collect()
}

/// `contact.user.created_v3` for the user a plan created through the contact API (its
/// context holds the user's attrs), rendered for each app as the contact API renders it.
fn user_events(space: SpaceId, plan: &[Change]) -> Option<Event> {
    let created = plan
        .iter()
        .find(|c| c.op == ChangeOp::EntityCreated && c.subject.kind == USER)?;
    let attrs = plan.first()?.context.as_ref()?.get(CREATED_USER)?.clone();
    let user = Entity {
        id: 0,
        space_id: space,
        kind: USER.to_owned(),
        key: created.subject.key.clone(),
        attrs,
        owner: None,
        created_at: created.at,
        updated_at: created.at,
    };
    Some(Event {
        seq: plan.last()?.seq,
        at: created.at,
        event_type: USER_CREATED,
        apps: None,
        body: Box::new(move |app| json!({ "object": contact_user(app, &user) })),
    })
}

/// `im.chat.member.user.added_v1` for the users a call added to a chat, `deleted_v1` for those
/// it removed (its context names the bots in the chat, which receive it, and what the event
/// tells of the chat and users).
fn chat_events(plan: &[Change]) -> Option<Event> {
    let added = plan.first()?.context.as_ref()?.get(CHAT_USERS)?.clone();
    let change = plan.iter().find(|c| {
        matches!(c.op, ChangeOp::EdgeAdded | ChangeOp::EdgeRemoved) && c.subject.kind == CHAT
    })?;
    let event_type = match change.op {
        ChangeOp::EdgeAdded => CHAT_USERS_ADDED,
        _ => CHAT_USERS_DELETED,
    };
    let users: Vec<String> = plan
        .iter()
        .filter(|c| c.op == change.op && c.subject.kind == CHAT)
        .filter_map(|c| c.member.as_ref().filter(|m| m.kind == USER))
        .map(|m| m.key.clone())
        .collect();
    let chat_id = change.subject.key.clone();
    let bots = serde_json::from_value(added["bots"].clone()).ok()?;
    Some(Event {
        seq: plan.last()?.seq,
        at: change.at,
        event_type,
        apps: Some(bots),
        body: Box::new(move |app| {
            let tenant = &app.tenant.key;
            let ids = |user: &str| {
                json!({
                    "union_id": union_id(tenant, user),
                    "user_id": user,
                    "open_id": open_id(tenant, &app.app_id, user),
                })
            };
            let operator = match added["operator"].as_str() {
                Some(user) => ids(user),
                None => json!({ "union_id": "", "user_id": "", "open_id": "" }),
            };
            let users: Vec<Value> = users
                .iter()
                .map(|user| {
                    json!({
                        "name": added["names"][user.as_str()].as_str().unwrap_or_default(),
                        "tenant_key": tenant,
                        "user_id": ids(user),
                    })
                })
                .collect();
            json!({
                "chat_id": chat_id,
                "operator_id": operator,
                "external": false,
                "operator_tenant_key": tenant,
                "users": users,
                "name": added["chat_name"].as_str().unwrap_or_default(),
                "i18n_names": added["i18n_names"],
            })
        }),
    })
}

/// The Task v1 events of one plan: per task and role whose members it changed, one
/// `task.task.updated_v1` for the task's creator app, and one `task.task.update_tenant_v1`
/// per role and direction, listing the users.
fn task_events(plan: &[Change]) -> Vec<Event> {
    let (seq, at) = plan.last().map_or((0, 0), |c| (c.seq, c.at));
    let creator = plan
        .first()
        .and_then(|c| c.context.as_ref())
        .and_then(|context| context[TASK_CREATOR_APP].as_str())
        .map(str::to_owned);
    // (task, role, added) -> users
    let mut changed: BTreeMap<(&str, &'static str, bool), Vec<String>> = BTreeMap::new();
    for change in plan {
        let role = match change.relation.as_deref() {
            Some("follower") => "follower",
            Some("collaborator") => "collaborator",
            _ => continue,
        };
        let Some(user) = change.member.as_ref().filter(|m| m.kind == USER) else {
            continue;
        };
        let added = match change.op {
            ChangeOp::EdgeAdded => true,
            ChangeOp::EdgeRemoved => false,
            _ => continue,
        };
        changed
            .entry((change.subject.key.as_str(), role, added))
            .or_default()
            .push(user.key.clone());
    }
    let mut events = Vec::new();
    let mut updated: Vec<(&str, &str)> = Vec::new();
    for ((task, role, added), users) in changed {
        if !updated.contains(&(task, role)) {
            updated.push((task, role));
            let obj_type = if role == "follower" { 3 } else { 2 };
            let task_id = task.to_owned();
            events.push(Event {
                seq,
                at,
                event_type: TASK_UPDATED,
                apps: Some(creator.iter().cloned().collect()),
                body: Box::new(move |_| json!({ "task_id": task_id, "obj_type": obj_type })),
            });
        }
        let task_id = task.to_owned();
        events.push(Event {
            seq,
            at,
            event_type: TASK_UPDATE_TENANT,
            apps: None,
            body: Box::new(move |app| {
                let ids: Vec<Value> = users
                    .iter()
                    .map(|user| {
                        let open_id = open_id(&app.tenant.key, &app.app_id, user);
                        json!({ "union_id": "", "user_id": "", "open_id": open_id })
                    })
                    .collect();
                json!({
                    "user_id_list": { "user_id_list": ids },
                    "task_id": task_id,
                    "object_type": role,
                    "event_type": if added { "create" } else { "delete" },
                })
            }),
        });
    }
    events
}
