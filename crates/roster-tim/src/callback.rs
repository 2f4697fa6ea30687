//! Tencent Cloud Chat webhooks after follow and after unfollow (`Follow.CallbackAfterFollowAdd`,
//! `Follow.CallbackAfterFollowDelete`, cloud.tencent.com/document/product/269/118915), rendered
//! from the change log: one per `follow_add` / `follow_delete` call that changed something,
//! listing the accounts it followed or unfollowed.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use roster_core::{
    Acceptance, Callback, CallbackMethod, Callbacks, Change, ChangeOp, ReceiverError,
    ReceiverUpdate, SpaceId,
};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::app::{CallbackConfig, APP_KIND, DIALECT, FOLLOWS};
use crate::state::Tim;

/// The vendor waits 2 seconds for an answer (269/1522).
const TIMEOUT: Duration = Duration::from_secs(2);
const FOLLOW_ADD: &str = "Follow.CallbackAfterFollowAdd";
const FOLLOW_DELETE: &str = "Follow.CallbackAfterFollowDelete";

pub(crate) struct TimCallbacks {
    pub tim: Arc<Tim>,
}

/// A receiver as `PUT /_roster/callbacks/tim/{sdkappid}` takes it: the seed file's keys.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiverKeys {
    callback_url: Option<String>,
    callback_token: Option<String>,
}

#[async_trait]
impl Callbacks for TimCallbacks {
    fn dialect(&self) -> &'static str {
        DIALECT
    }

    fn receivers(&self, space: SpaceId) -> Vec<Value> {
        let apps = self.tim.apps.get();
        apps.values()
            .filter(|app| app.space_id == space)
            .filter_map(|app| app.callback.as_ref().map(CallbackConfig::keys))
            .collect()
    }

    async fn update_receiver(
        &self,
        space: SpaceId,
        keys: &Value,
        remove: bool,
        now: i64,
    ) -> Result<ReceiverUpdate, ReceiverError> {
        let apps = self.tim.apps.get();
        let app = apps
            .values()
            .find(|app| app.space_id == space)
            .ok_or_else(|| ReceiverError::NotFound("the app is not served".into()))?;
        let value = if remove {
            None
        } else {
            let keys: ReceiverKeys = serde_json::from_value(keys.clone())
                .map_err(|e| ReceiverError::Invalid(e.to_string()))?;
            let config = CallbackConfig::from_keys(
                keys.callback_url.as_deref(),
                keys.callback_token.as_deref(),
            )
            .map_err(ReceiverError::Invalid)?
            .ok_or_else(|| ReceiverError::Invalid("callback_url is missing".into()))?;
            Some(serde_json::to_value(config).expect("a callback config serializes"))
        };
        let store = &*self.tim.engine.store;
        let app_key = app.sdkappid.to_string();
        ReceiverUpdate::of_attr(
            store,
            (space, now),
            (APP_KIND, &app_key),
            "callback",
            value,
            None,
        )
        .await
    }

    fn render(&self, space: SpaceId, changes: &[Change]) -> Vec<Callback> {
        let apps = self.tim.apps.get();
        let Some(app) = apps.values().find(|app| app.space_id == space) else {
            return Vec::new();
        };
        let Some(config) = &app.callback else {
            return Vec::new();
        };
        changes
            .chunk_by(|a, b| a.plan == b.plan)
            .flat_map(follows)
            .map(|(seq, command, body)| Callback {
                method: CallbackMethod::Post,
                change_seq: seq,
                event: command.to_owned(),
                url: self.url(app.sdkappid, config, command),
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: body.to_string(),
                timeout: TIMEOUT,
                // "After" callbacks are not re-sent unless the console enables it.
                retries: Vec::new(),
                acceptance: Acceptance::OkJson,
            })
            .collect()
    }
}

impl TimCallbacks {
    /// The callback URL with the vendor's query, signed when the app has a token.
    fn url(&self, sdkappid: u64, config: &CallbackConfig, command: &str) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("SdkAppid", &sdkappid.to_string())
            .append_pair("CallbackCommand", command)
            .append_pair("contenttype", "json")
            .append_pair("ClientIP", "127.0.0.1")
            .append_pair("OptPlatform", "RESTAPI");
        if let Some(token) = &config.token {
            let time = self.tim.engine.clock.now().to_string();
            query
                .append_pair("Sign", &sign(token, &time))
                .append_pair("RequestTime", &time);
        }
        let separator = if config.url.contains('?') { '&' } else { '?' };
        format!("{}{separator}{}", config.url, query.finish())
    }
}

/// `Sign`: the SHA-256 of the token followed by the request time, in lower-case hex
/// (269/32431).
fn sign(token: &str, time: &str) -> String {
    Sha256::digest(format!("{token}{time}"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The webhooks of one plan: (last change, command, body) for each account that followed or
/// unfollowed others.
fn follows(plan: &[Change]) -> Vec<(i64, &'static str, Value)> {
    let (seq, at) = plan.last().map_or((0, 0), |c| (c.seq, c.at));
    let mut added: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut removed: Vec<(&str, Vec<&str>)> = Vec::new();
    for change in plan {
        let (Some(to), Some(FOLLOWS)) = (&change.member, change.relation.as_deref()) else {
            continue;
        };
        let lists = match change.op {
            ChangeOp::EdgeAdded => &mut added,
            ChangeOp::EdgeRemoved => &mut removed,
            _ => continue,
        };
        let from = change.subject.key.as_str();
        match lists.iter_mut().find(|(f, _)| *f == from) {
            Some((_, targets)) => targets.push(&to.key),
            None => lists.push((from, vec![&to.key])),
        }
    }
    let event_time = at * 1000;
    let adds = added.into_iter().map(|(from, targets)| {
        let follow_list: Vec<Value> = targets.iter().map(|t| json!({ "To_Account": t })).collect();
        let body = json!({
            "CallbackCommand": FOLLOW_ADD,
            "From_Account": from,
            "FollowList": follow_list,
            "EventTime": event_time,
        });
        (seq, FOLLOW_ADD, body)
    });
    let deletes = removed.into_iter().map(|(from, targets)| {
        let body = json!({
            "CallbackCommand": FOLLOW_DELETE,
            "From_Account": from,
            "To_Account": targets,
            "EventTime": event_time,
        });
        (seq, FOLLOW_DELETE, body)
    });
    adds.chain(deletes).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_matches_the_vendor_example() {
        // 269/32431: token xxxxyyyy, RequestTime 1669872112.
        assert_eq!(
            sign("xxxxyyyy", "1669872112"),
            "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061"
        );
    }
}
