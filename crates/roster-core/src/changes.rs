//! The change log: every relationship change a plan commits, recorded in the same transaction
//! (an outbox), ordered per space by `seq`. Callbacks are rendered from it and it is the
//! change feed a self-hosting team reads.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dump::EntityRef;
use crate::model::SpaceId;
use crate::plan::WritePlan;
use crate::store::{Store, StoreError};

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    EdgeAdded,
    EdgeRemoved,
    EntityCreated,
    EntityDeleted,
}

impl ChangeOp {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::EdgeAdded => "edge_added",
            ChangeOp::EdgeRemoved => "edge_removed",
            ChangeOp::EntityCreated => "entity_created",
            ChangeOp::EntityDeleted => "entity_deleted",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            ChangeOp::EdgeAdded,
            ChangeOp::EdgeRemoved,
            ChangeOp::EntityCreated,
            ChangeOp::EntityDeleted,
        ]
        .into_iter()
        .find(|op| op.as_str() == text)
    }
}

/// One committed change: an edge `subject --relation--> member` added or removed, or the
/// entity `subject` created or deleted (no relation, no member).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub seq: i64,
    #[serde(skip)]
    pub space: SpaceId,
    /// The same for every change of one plan (a vendor operation).
    pub plan: i64,
    pub at: i64,
    pub op: ChangeOp,
    pub subject: EntityRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<EntityRef>,
    /// What the plan's dialect attached (the operator or app a vendor event names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
}

/// How long the histories are kept: the change log, delivered or abandoned callback attempts,
/// and tombstones of deleted entities. `None` keeps them whole.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention(pub Option<std::time::Duration>);

impl Retention {
    /// The default: a week.
    pub const DEFAULT: Retention = Retention(Some(std::time::Duration::from_secs(7 * 24 * 3600)));

    /// The time (Unix seconds, the engine's clock) before which history goes, at `now`; none
    /// when everything is kept.
    pub fn horizon(self, now: i64) -> Option<i64> {
        self.0
            .map(|kept| now.saturating_sub(i64::try_from(kept.as_secs()).unwrap_or(i64::MAX)))
    }
}

/// The kinds of entity that only remember that something was deleted (a deleted Feishu task's
/// id, so deleting it again answers "already deleted"), as their dialects declare them:
/// housekeeping removes those made before the retention horizon.
#[derive(Clone, Default)]
pub struct Tombstones(std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>);

impl Tombstones {
    pub fn declare(&self, kind: &str) {
        self.0
            .lock()
            .expect("tombstones lock")
            .insert(kind.to_string());
    }

    /// The steps removing the tombstones of `plan`'s space made before `before`; false when
    /// no kind is declared (nothing to do).
    pub fn prune(&self, plan: &mut WritePlan, before: i64) -> bool {
        let kinds = self.0.lock().expect("tombstones lock");
        for kind in kinds.iter() {
            plan.prune(kind, before);
        }
        !kinds.is_empty()
    }
}

/// As the command line takes it: `7d`, `1h30m`, `0` (everything kept).
impl std::fmt::Display for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some(kept) = self.0.filter(|kept| !kept.is_zero()) else {
            return f.write_str("0");
        };
        let mut rest = kept.as_secs();
        for (unit, seconds) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
            if rest >= seconds {
                write!(f, "{}{unit}", rest / seconds)?;
                rest %= seconds;
            }
        }
        Ok(())
    }
}

/// What the change log of a space still holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ChangeSpan {
    /// The changes up to this seq were removed past the horizon (0 when none was).
    pub pruned_through: i64,
    /// The first change kept, if any.
    pub oldest: Option<i64>,
    /// The last change made (0 before the first), kept or not: where to follow it from.
    pub last: i64,
}

impl ChangeSpan {
    /// Whether a reader that has seen the changes through `after` missed some that are gone.
    pub fn lost(&self, after: i64) -> bool {
        after < self.pruned_through
    }

    /// The first seq the log can still give: a reader resumes after the one before it.
    pub fn first_available(&self) -> i64 {
        self.oldest.unwrap_or(self.pruned_through + 1)
    }
}

/// The size of what housekeeping keeps bounded, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryStats {
    pub change_rows: i64,
    /// When the oldest kept change was made (Unix seconds), if any is kept.
    pub oldest_change_at: Option<i64>,
    /// The database's size in bytes (SQLite: its file; PostgreSQL: its database).
    pub database_bytes: i64,
}

/// One attempt to deliver a callback rendered from changes up to `change_seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub id: i64,
    #[serde(skip)]
    pub space: SpaceId,
    pub change_seq: i64,
    /// The vendor's name of what was delivered (`change_contact/update_tag`).
    pub event: String,
    #[serde(default)]
    pub method: CallbackMethod,
    pub url: String,
    /// The request headers roster set, as sent.
    pub headers: Vec<(String, String)>,
    /// The request body as sent.
    pub request: String,
    /// 1 for the first attempt of a delivery.
    pub attempt: u32,
    pub at: i64,
    /// The receiver's status code; none when no answer came (`error` says why).
    pub status: Option<u16>,
    pub response: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The re-send that follows, while one is to come.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resend: Option<Resend>,
}

/// What a receiver must answer for a callback to count as delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Acceptance {
    /// HTTP 200.
    Ok,
    /// HTTP 200 with a JSON body.
    OkJson,
    /// HTTP 200 with a JSON body whose `challenge` is this one.
    Challenge(String),
    /// HTTP 200 with exactly this body.
    Echo(String),
}

impl Acceptance {
    pub fn accepts(&self, status: u16, body: &str) -> bool {
        let json = || serde_json::from_str::<Value>(body).ok();
        status == 200
            && match self {
                Acceptance::Ok => true,
                Acceptance::OkJson => json().is_some(),
                Acceptance::Challenge(challenge) => {
                    json().is_some_and(|answer| answer["challenge"] == challenge.as_str())
                }
                Acceptance::Echo(echo) => body == echo,
            }
    }
}

/// A re-send still to come, for a callback its receiver did not accept: kept with the attempt
/// it follows, so that it survives a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resend {
    /// When it is due (Unix milliseconds, wall time).
    pub due_ms: i64,
    /// The waits before each further re-send, should this one fail too.
    pub then_ms: Vec<u64>,
    pub timeout_ms: u64,
    pub acceptance: Acceptance,
}

/// How a callback is sent: events are POSTed; WeCom checks a URL with a GET.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CallbackMethod {
    #[default]
    Post,
    Get,
}

impl CallbackMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackMethod::Post => "POST",
            CallbackMethod::Get => "GET",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "POST" => Some(CallbackMethod::Post),
            "GET" => Some(CallbackMethod::Get),
            _ => None,
        }
    }
}

/// A vendor callback ready to send, and how the vendor sends it.
#[derive(Clone)]
pub struct Callback {
    pub method: CallbackMethod,
    /// The last change it reports (0 for a handshake, which reports none).
    pub change_seq: i64,
    /// The vendor's name of the event (`change_contact/update_tag`).
    pub event: String,
    /// The receiver's URL with the vendor's query.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The vendor's timeout of one attempt.
    pub timeout: std::time::Duration,
    /// The waits before each re-send after a failed attempt; its length is how many.
    pub retries: Vec<std::time::Duration>,
    /// What the receiver must answer.
    pub acceptance: Acceptance,
}

/// A receiver set or removed at run time: the plan that stores it (its entity's attributes
/// rewritten, only if unchanged since they were read), and the vendor's check of a new URL,
/// which must pass first.
pub struct ReceiverUpdate {
    pub plan: WritePlan,
    pub verification: Option<Callback>,
}

impl ReceiverUpdate {
    /// The update that sets (or, with `None`, removes) attribute `attr` of the entity `kind`
    /// `key` of `space`, where a dialect keeps a receiver.
    pub async fn of_attr(
        store: &dyn Store,
        (space, now): (SpaceId, i64),
        (kind, key): (&str, &str),
        attr: &str,
        value: Option<Value>,
        verification: Option<Callback>,
    ) -> Result<Self, ReceiverError> {
        let entity = store
            .find_entity(space, kind, key)
            .await?
            .ok_or_else(|| ReceiverError::NotFound(format!("no {kind} {key:?} in this space")))?;
        let mut attrs = entity.attrs.clone();
        let Some(fields) = attrs.as_object_mut() else {
            return Err(StoreError::backend(format!("{kind} {key:?} has no attributes")).into());
        };
        match value {
            Some(value) => fields.insert(attr.to_string(), value),
            None => fields.remove(attr),
        };
        let mut plan = WritePlan::new(space, now);
        plan.update_from(&entity, attrs);
        Ok(ReceiverUpdate { plan, verification })
    }
}

/// A receiver URL: absolute, http or https, with a host.
pub fn check_callback_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{url:?} is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with(['/', '?', '#']) || url.chars().any(char::is_whitespace)
    {
        return Err(format!("{url:?} is not a URL with a host"));
    }
    Ok(())
}

/// Why a receiver cannot be set or removed.
#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    /// The keys are not a receiver's (the message says which and why).
    #[error("{0}")]
    Invalid(String),
    /// What the keys name is not in the space.
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a dialect sends when its spaces change.
#[async_trait::async_trait]
pub trait Callbacks: Send + Sync + 'static {
    fn dialect(&self) -> &'static str;
    /// The callbacks `changes` of `space` (consecutive, oldest first, whole plans) call for;
    /// none when the space has no receiver.
    fn render(&self, space: SpaceId, changes: &[Change]) -> Vec<Callback>;
    /// What the vendor sends a receiver URL when it is configured (a verification challenge),
    /// by space: sent once when delivery starts.
    fn handshakes(&self) -> Vec<(SpaceId, Callback)> {
        Vec::new()
    }
    /// The receivers configured in `space`, each as the seed file's keys.
    fn receivers(&self, space: SpaceId) -> Vec<Value>;
    /// Set a receiver of `space` from the seed file's keys, or (`remove`) remove the one
    /// `keys` name; `now` is the plan's time.
    async fn update_receiver(
        &self,
        space: SpaceId,
        keys: &Value,
        remove: bool,
        now: i64,
    ) -> Result<ReceiverUpdate, ReceiverError>;
}
