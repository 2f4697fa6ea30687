//! `client_token`: a request repeated with the same token by the same caller to the same
//! endpoint within five minutes of its success answers the task it made or changed and writes
//! nothing; one arriving while the first still runs is refused with `1470422`. A failed
//! request leaves no mark, so its token is new again at once.

use roster_core::{Entity, WritePlan};
use serde_json::json;

use super::{error, invalid, Code, Op};
use crate::model::DIALECT;
use crate::task::Call;
use crate::wire::ApiError;

/// Marks the task a `client_token` request made or changed.
const MARKER: &str = "feishu.task.client_token";
/// How long a successful request's token answers repeats, in seconds.
const TTL: i64 = 300;
const TOKEN_CHARS: std::ops::RangeInclusive<usize> = 10..=100;

/// A request with a `client_token` that is not a repeat: [`Once::mark`] its plan.
pub struct Once {
    key: String,
    stale: Option<Entity>,
}

pub enum Begun {
    /// No token, or a new one.
    Fresh(Option<Once>),
    /// A repeat: the guid of the task the first request made or changed.
    Repeat(String),
}

/// Check the request's token and hold it until the answer is ready.
pub async fn begin(call: &Call, op: Op, token: Option<&str>) -> Result<Begun, ApiError> {
    let Some(token) = token else {
        return Ok(Begun::Fresh(None));
    };
    if !TOKEN_CHARS.contains(&token.chars().count()) {
        return Err(invalid("client_token", "length must be between 10 and 100"));
    }
    let key = format!("{op:?}/{}/{}/{token}", call.caller.app.entity, call.actor());
    let feishu = call.feishu();
    let section = format!("{DIALECT}/{}/client_token/{key}", call.caller.tenant().key);
    let hold = feishu
        .engine
        .coordinator
        .try_hold(&section)
        .await?
        .ok_or_else(|| error(Code::ConcurrentToken))?;
    call.keep(hold);
    let marker = feishu
        .engine
        .store
        .find_entity(call.space(), MARKER, &key)
        .await?;
    let now = feishu.now();
    let earlier = marker
        .as_ref()
        .filter(|m| m.attrs["at"].as_i64().unwrap_or(0) + TTL > now)
        .and_then(|m| m.attrs["guid"].as_str());
    Ok(match earlier {
        Some(guid) => Begun::Repeat(guid.to_string()),
        None => Begun::Fresh(Some(Once { key, stale: marker })),
    })
}

impl Once {
    /// The step marking the task `guid` as this token's answer.
    pub fn mark(&self, plan: &mut WritePlan, guid: &str) {
        let attrs = json!({ "guid": guid, "at": plan.now });
        match &self.stale {
            Some(stale) => plan.update_from(stale, attrs),
            None => plan.create(MARKER, &self.key, attrs, None),
        };
    }
}

/// The step removing marks that answer nothing any more.
pub fn prune_markers(plan: &mut WritePlan) {
    plan.prune(MARKER, plan.now - TTL);
}
