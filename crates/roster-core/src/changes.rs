//! The change log: every relationship change a plan commits, recorded in the same transaction
//! (an outbox), ordered per space by `seq`. Callbacks are rendered from it and it is the
//! change feed a self-hosting team reads.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dump::EntityRef;
use crate::model::SpaceId;

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

/// One attempt to deliver a callback rendered from changes up to `change_seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub id: i64,
    #[serde(skip)]
    pub space: SpaceId,
    pub change_seq: i64,
    /// The vendor's name of what was delivered (`change_contact/update_tag`).
    pub event: String,
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

/// A vendor callback ready to send, and how the vendor sends it.
#[derive(Clone)]
pub struct Callback {
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

/// What a dialect sends when its spaces change.
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
}
