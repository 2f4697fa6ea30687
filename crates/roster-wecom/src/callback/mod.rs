//! WeCom's contact-change callbacks (`change_contact`), rendered from the change log: one
//! `update_tag` per tag whose members a call changed, `create_user` and `create_party` for the
//! users and departments a call created, whether the call came through the native API or
//! do1's wrapper (both write the same directory). Encrypted and signed for the corp's
//! callback URL as WeCom does (path/96466, path/91144).

pub(crate) mod crypto;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;
use roster_core::{
    Acceptance, Callback, CallbackMethod, Callbacks, Change, ChangeOp, Clock, ReceiverError,
    ReceiverUpdate, SpaceId,
};
use serde::Deserialize;
use serde_json::Value;

use crate::corp::{CallbackConfig, LiveCorps, CORP_KEY, CORP_KIND, DIALECT};
use crate::directory::{DEPARTMENT, MEMBER, TAG, USER};
use crypto::AesKey;

/// WeCom waits 5 seconds for an answer, then re-sends, 3 times (path/96466).
const TIMEOUT: Duration = Duration::from_secs(5);
const RESENDS: usize = 3;
/// WeCom does not say how long it waits before a re-send.
const RESEND_AFTER: Duration = Duration::from_secs(1);

/// A receiver as `PUT /_roster/callbacks/wecom/{corp_id}` takes it: the seed file's keys.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiverKeys {
    callback_url: Option<String>,
    callback_token: Option<String>,
    callback_aes_key: Option<String>,
}

pub(crate) struct WecomCallbacks {
    pub corps: Arc<LiveCorps>,
    pub clock: Arc<Clock>,
    /// Multiplies the waits between re-sends (tests shorten them).
    pub retry_scale: f64,
}

#[async_trait]
impl Callbacks for WecomCallbacks {
    fn dialect(&self) -> &'static str {
        DIALECT
    }

    fn receivers(&self, space: SpaceId) -> Vec<Value> {
        let corp = self.corps.by_space(space);
        corp.and_then(|corp| corp.attrs.callback.as_ref().map(CallbackConfig::keys))
            .into_iter()
            .collect()
    }

    /// A new URL is checked first as WeCom's console does when one is saved: a GET with an
    /// encrypted `echostr`, answered with its plaintext within a second (path/90930).
    async fn update_receiver(
        &self,
        space: SpaceId,
        keys: &Value,
        remove: bool,
        now: i64,
    ) -> Result<ReceiverUpdate, ReceiverError> {
        let corp = self
            .corps
            .by_space(space)
            .ok_or_else(|| ReceiverError::NotFound("the corp is not served".into()))?;
        let (value, verification) = if remove {
            (None, None)
        } else {
            let keys: ReceiverKeys = serde_json::from_value(keys.clone())
                .map_err(|e| ReceiverError::Invalid(e.to_string()))?;
            let config = CallbackConfig::from_keys(
                keys.callback_url.as_deref(),
                keys.callback_token.as_deref(),
                keys.callback_aes_key.as_deref(),
            )
            .map_err(ReceiverError::Invalid)?
            .ok_or_else(|| ReceiverError::Invalid("callback_url is missing".into()))?;
            let check = self.url_check(&corp.attrs.corp_id, &config);
            let value = serde_json::to_value(&config).expect("a callback config serializes");
            (Some(value), Some(check))
        };
        let store = &*self.corps.engine().store;
        ReceiverUpdate::of_attr(
            store,
            (space, now),
            (CORP_KIND, CORP_KEY),
            "callback",
            value,
            verification,
        )
        .await
    }

    fn render(&self, space: SpaceId, changes: &[Change]) -> Vec<Callback> {
        let Some(corp) = self.corps.by_space(space) else {
            return Vec::new();
        };
        let Some(config) = &corp.attrs.callback else {
            return Vec::new();
        };
        let key = match AesKey::parse(&config.aes_key) {
            Ok(key) => key,
            Err(why) => {
                tracing::warn!(corp = corp.attrs.corp_id, "callback_aes_key: {why}");
                return Vec::new();
            }
        };
        let corp_id = &corp.attrs.corp_id;
        plans(changes)
            .flat_map(events)
            .map(|event| {
                let xml = event_xml(corp_id, &event);
                let encrypted = key.encrypt(&xml, corp_id);
                let timestamp = self.clock.now().to_string();
                let nonce = rand::thread_rng().gen_range(100_000_000u64..10_000_000_000).to_string();
                let signature = crypto::signature(&config.token, &timestamp, &nonce, &encrypted);
                let query = form_urlencoded::Serializer::new(String::new())
                    .append_pair("msg_signature", &signature)
                    .append_pair("timestamp", &timestamp)
                    .append_pair("nonce", &nonce)
                    .finish();
                let separator = if config.url.contains('?') { '&' } else { '?' };
                Callback {
                    method: CallbackMethod::Post,
                    change_seq: event.seq,
                    event: format!("change_contact/{}", event.change_type),
                    url: format!("{}{separator}{query}", config.url),
                    headers: vec![("Content-Type".into(), "text/xml".into())],
                    body: format!(
                        "<xml><ToUserName>{}</ToUserName><AgentID>{}</AgentID><Encrypt>{}</Encrypt></xml>",
                        cdata(corp_id),
                        cdata(""),
                        cdata(&encrypted)
                    ),
                    timeout: TIMEOUT,
                    retries: vec![RESEND_AFTER.mul_f64(self.retry_scale); RESENDS],
                    acceptance: Acceptance::Ok,
                }
            })
            .collect()
    }
}

impl WecomCallbacks {
    /// The GET that checks a URL: `echostr` is a random number encrypted like a message.
    fn url_check(&self, corp_id: &str, config: &CallbackConfig) -> Callback {
        let key = AesKey::parse(&config.aes_key).expect("checked by from_keys");
        let mut rng = rand::thread_rng();
        let echo = rng
            .gen_range(1_000_000_000_000_000u64..10_000_000_000_000_000)
            .to_string();
        let echostr = key.encrypt(&echo, corp_id);
        let timestamp = self.clock.now().to_string();
        let nonce = rng.gen_range(100_000_000u64..10_000_000_000).to_string();
        let signature = crypto::signature(&config.token, &timestamp, &nonce, &echostr);
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("msg_signature", &signature)
            .append_pair("timestamp", &timestamp)
            .append_pair("nonce", &nonce)
            .append_pair("echostr", &echostr)
            .finish();
        let separator = if config.url.contains('?') { '&' } else { '?' };
        Callback {
            method: CallbackMethod::Get,
            change_seq: 0,
            event: "url_verification".into(),
            url: format!("{}{separator}{query}", config.url),
            headers: Vec::new(),
            body: String::new(),
            timeout: Duration::from_secs(1),
            retries: Vec::new(),
            acceptance: Acceptance::Echo(echo),
        }
    }
}

/// The changes of each plan, in order.
fn plans(changes: &[Change]) -> impl Iterator<Item = &[Change]> {
    changes.chunk_by(|a, b| a.plan == b.plan)
}

/// One `change_contact` event.
struct Event {
    /// The last change of its plan.
    seq: i64,
    /// When its plan committed.
    at: i64,
    change_type: &'static str,
    /// The fields after `ChangeType`, in order.
    fields: Vec<(&'static str, String)>,
}

/// The events of one plan.
fn events(plan: &[Change]) -> Vec<Event> {
    let (seq, at) = plan.last().map_or((0, 0), |c| (c.seq, c.at));
    let event = |change_type, fields| Event {
        seq,
        at,
        change_type,
        fields,
    };
    let mut out = Vec::new();
    for change in plan {
        let key = change.subject.key.clone();
        match (change.op, change.subject.kind.as_str()) {
            (ChangeOp::EntityCreated, USER) => {
                out.push(event("create_user", vec![("UserID", key)]))
            }
            (ChangeOp::EntityCreated, DEPARTMENT) => {
                out.push(event("create_party", vec![("Id", key)]))
            }
            _ => {}
        }
    }
    // A tag deleted with its members is not an update of it.
    let deleted = |tag: &str| {
        plan.iter().any(|c| {
            c.op == ChangeOp::EntityDeleted && c.subject.kind == TAG && c.subject.key == tag
        })
    };
    let mut tags: BTreeMap<&str, [Vec<&str>; 4]> = BTreeMap::new();
    for change in plan {
        let (Some(member), Some(MEMBER)) = (&change.member, change.relation.as_deref()) else {
            continue;
        };
        if change.subject.kind != TAG || deleted(&change.subject.key) {
            continue;
        }
        let slot = match (change.op, member.kind.as_str()) {
            (ChangeOp::EdgeAdded, USER) => 0,
            (ChangeOp::EdgeRemoved, USER) => 1,
            (ChangeOp::EdgeAdded, DEPARTMENT) => 2,
            (ChangeOp::EdgeRemoved, DEPARTMENT) => 3,
            _ => continue,
        };
        tags.entry(&change.subject.key).or_default()[slot].push(&member.key);
    }
    for (tag, items) in tags {
        let mut fields = vec![("TagId", tag.to_owned())];
        let names = [
            "AddUserItems",
            "DelUserItems",
            "AddPartyItems",
            "DelPartyItems",
        ];
        for (name, list) in names.into_iter().zip(items) {
            if !list.is_empty() {
                fields.push((name, list.join(",")));
            }
        }
        out.push(event("update_tag", fields));
    }
    out
}

/// The decrypted message (path/96302 to 96304).
fn event_xml(corp_id: &str, event: &Event) -> String {
    let mut xml = format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName>\
         <CreateTime>{}</CreateTime><MsgType>{}</MsgType><Event>{}</Event>\
         <ChangeType>{}</ChangeType>",
        cdata(corp_id),
        cdata("sys"),
        event.at,
        cdata("event"),
        cdata("change_contact"),
        cdata(event.change_type)
    );
    for (name, value) in &event.fields {
        xml.push_str(&format!("<{name}>{}</{name}>", cdata(value)));
    }
    xml.push_str("</xml>");
    xml
}

/// Text as a CDATA section (a `]]>` inside is split across two).
fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}
