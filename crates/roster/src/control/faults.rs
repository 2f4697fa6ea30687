//! Fault rules: make a vendor misbehave on purpose (delay, a vendor error, a dropped
//! connection) for the requests a rule matches, with a probability and/or for the next N.

use std::sync::Mutex;

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::dialects;

/// A fixed delay, or a random one within bounds, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Delay {
    Fixed(u64),
    Between([u64; 2]),
}

impl Delay {
    fn longest(self) -> u64 {
        match self {
            Delay::Fixed(ms) | Delay::Between([_, ms]) => ms,
        }
    }

    pub fn millis(self) -> u64 {
        match self {
            Delay::Fixed(ms) => ms,
            Delay::Between([low, high]) => rand::thread_rng().gen_range(low..=high),
        }
    }
}

/// A rule as users write it (JSON at run time, `[[faults]]` in the seed file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub dialect: String,
    /// A path; `{name}` segments match any one segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// `dialect/key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<String>,
    /// Fields the request's JSON body must have, with these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<Delay>,
    /// The vendor's body fields to answer with; roster completes that vendor's envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Map<String, Value>>,
    /// The HTTP status of the error answer (the vendor's for that code when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Close the connection without an answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drop: bool,
    /// The chance a matching request is affected (1 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Affect only the next N matching requests, then retire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

impl RuleSpec {
    pub fn validate(&self) -> Result<(), String> {
        if !dialects::wire_names().any(|name| name == self.dialect) {
            let names: Vec<&str> = dialects::wire_names().collect();
            return Err(format!(
                "unknown dialect {:?}; one of {}",
                self.dialect,
                names.join(", ")
            ));
        }
        if self.delay_ms.is_none() && self.error.is_none() && !self.drop {
            return Err("a rule needs an action: delay_ms, error or drop".into());
        }
        if self.drop && self.error.is_some() {
            return Err("a rule either drops the connection or answers an error".into());
        }
        if let Some(Delay::Between([low, high])) = self.delay_ms {
            if low > high {
                return Err("delay_ms [low, high] needs low <= high".into());
            }
        }
        if self.delay_ms.is_some_and(|d| d.longest() > 600_000) {
            return Err("delay_ms is at most 600000 (10 minutes)".into());
        }
        if self.probability.is_some_and(|p| !(p > 0.0 && p <= 1.0)) {
            return Err("probability is in (0, 1]".into());
        }
        if self.count == Some(0) {
            return Err("count is at least 1".into());
        }
        if let Some(status) = self.status {
            if axum::http::StatusCode::from_u16(status).is_err() || status < 200 {
                return Err(format!("status {status} is not an HTTP status"));
            }
        }
        Ok(())
    }

    fn route_matches(&self, path: &str) -> bool {
        let Some(route) = &self.route else {
            return true;
        };
        let (want, got) = (route.trim_end_matches('/'), path.trim_end_matches('/'));
        let (mut want, mut got) = (want.split('/'), got.split('/'));
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some(w), Some(g)) if w == g || (w.starts_with('{') && w.ends_with('}')) => {}
                _ => return false,
            }
        }
    }
}

/// A rule in force.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub id: u64,
    #[serde(flatten)]
    pub spec: RuleSpec,
    /// How many more requests it affects, when counted.
    pub remaining: Option<u64>,
    pub fired: u64,
}

/// What a request is, for matching.
pub struct Request<'a> {
    pub dialect: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub space: Option<&'a str>,
    /// The JSON body, when some rule needs it.
    pub body: Option<&'a Map<String, Value>>,
}

#[derive(Default)]
struct Rules {
    rules: Vec<Rule>,
    next_id: u64,
}

#[derive(Default)]
pub struct Faults(Mutex<Rules>);

impl Faults {
    pub fn add(&self, spec: RuleSpec) -> Result<Rule, String> {
        spec.validate()?;
        let mut rules = self.0.lock().expect("faults lock");
        rules.next_id += 1;
        let rule = Rule {
            id: rules.next_id,
            remaining: spec.count,
            spec,
            fired: 0,
        };
        rules.rules.push(rule.clone());
        Ok(rule)
    }

    pub fn list(&self) -> Vec<Rule> {
        self.0.lock().expect("faults lock").rules.clone()
    }

    pub fn remove(&self, id: u64) -> bool {
        let mut rules = self.0.lock().expect("faults lock");
        let before = rules.rules.len();
        rules.rules.retain(|r| r.id != id);
        rules.rules.len() != before
    }

    pub fn clear(&self) {
        self.0.lock().expect("faults lock").rules.clear();
    }

    /// Whether a rule for this dialect names a space (requests are then matched on theirs).
    pub fn names_spaces(&self, dialect: &str) -> bool {
        let rules = self.0.lock().expect("faults lock");
        rules
            .rules
            .iter()
            .any(|r| r.spec.dialect == dialect && r.spec.space.is_some())
    }

    /// Whether a rule for this dialect looks into bodies (the body is then read first).
    pub fn needs_body(&self, dialect: &str) -> bool {
        let rules = self.0.lock().expect("faults lock");
        rules
            .rules
            .iter()
            .any(|r| r.spec.dialect == dialect && r.spec.body.is_some())
    }

    /// The first rule that matches and fires for `request`, counted; retired once spent.
    pub fn fire(&self, request: &Request) -> Option<Rule> {
        let mut rules = self.0.lock().expect("faults lock");
        let index = rules.rules.iter().position(|r| {
            let spec = &r.spec;
            spec.dialect == request.dialect
                && spec
                    .method
                    .as_ref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(request.method))
                && spec
                    .space
                    .as_ref()
                    .is_none_or(|s| Some(s.as_str()) == request.space)
                && spec.route_matches(request.path)
                && spec.body.as_ref().is_none_or(|want| {
                    request
                        .body
                        .is_some_and(|got| want.iter().all(|(k, v)| got.get(k) == Some(v)))
                })
                && spec
                    .probability
                    .is_none_or(|p| rand::thread_rng().gen_bool(p))
        })?;
        let rule = &mut rules.rules[index];
        rule.fired += 1;
        rule.remaining = rule.remaining.map(|n| n - 1);
        let fired = rule.clone();
        if fired.remaining == Some(0) {
            rules.rules.remove(index);
        }
        Some(fired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(value: Value) -> RuleSpec {
        serde_json::from_value(value).unwrap()
    }

    fn request<'a>(path: &'a str, body: Option<&'a Map<String, Value>>) -> Request<'a> {
        Request {
            dialect: "wecom",
            method: "POST",
            path,
            space: Some("wecom/w1"),
            body,
        }
    }

    #[test]
    fn counted_rules_fire_n_times_then_retire() {
        let faults = Faults::default();
        faults
            .add(spec(
                json!({ "dialect": "wecom", "route": "/cgi-bin/tag/addtagusers",
                              "error": { "errcode": -1 }, "count": 2 }),
            ))
            .unwrap();
        let hit = request("/cgi-bin/tag/addtagusers", None);
        assert_eq!(faults.fire(&hit).unwrap().remaining, Some(1));
        assert!(faults.fire(&request("/cgi-bin/tag/get", None)).is_none());
        assert_eq!(faults.fire(&hit).unwrap().remaining, Some(0));
        assert!(faults.fire(&hit).is_none());
        assert!(faults.list().is_empty());
    }

    #[test]
    fn routes_spaces_and_bodies_narrow_a_rule() {
        let faults = Faults::default();
        faults
            .add(spec(
                json!({ "dialect": "wecom", "route": "/cgi-bin/tag/{action}",
                              "space": "wecom/w1", "body": { "tagid": 1008 }, "drop": true }),
            ))
            .unwrap();
        let body = json!({ "tagid": 1008, "userlist": ["a"] });
        let other = json!({ "tagid": 7 });
        let path = "/cgi-bin/tag/addtagusers";
        assert!(faults.fire(&request(path, body.as_object())).is_some());
        assert!(faults.fire(&request(path, other.as_object())).is_none());
        assert!(faults.fire(&request(path, None)).is_none());
        assert!(faults
            .fire(&request("/cgi-bin/user/get", body.as_object()))
            .is_none());
        assert!(faults.needs_body("wecom") && !faults.needs_body("tim"));
    }

    #[test]
    fn invalid_rules_are_refused() {
        let faults = Faults::default();
        for bad in [
            json!({ "dialect": "nope", "drop": true }),
            json!({ "dialect": "tim" }),
            json!({ "dialect": "tim", "drop": true, "error": {} }),
            json!({ "dialect": "tim", "drop": true, "probability": 0 }),
            json!({ "dialect": "tim", "drop": true, "count": 0 }),
            json!({ "dialect": "tim", "delay_ms": [10, 5] }),
            json!({ "dialect": "tim", "error": {}, "status": 99 }),
        ] {
            assert!(faults.add(spec(bad.clone())).is_err(), "{bad}");
        }
    }
}
