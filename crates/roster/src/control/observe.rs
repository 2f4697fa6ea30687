//! The middleware every vendor request passes: it finds the request's dialect and space, lets
//! a fault rule delay, answer or drop it, and records it in the journal, the access log and
//! the metrics. roster's own routes pass untouched.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::Frame;
use roster_http::DialectWire;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tracing::Instrument;

use super::faults::{self, Faults};
use super::journal::{Entry, Journal, KeptBody};

/// A body a fault rule matches on is read up to this size.
const MAX_MATCHED_BODY: usize = 4 << 20;
/// Answers are JSON and small; one larger than this is journaled as its first bytes only.
const MAX_RESPONSE: usize = 64 << 20;

/// Query parameters whose values are credentials.
const SECRET_PARAMS: [&str; 6] = [
    "usersig",
    "access_token",
    "token",
    "corpsecret",
    "developerkey",
    "app_secret",
];

pub struct Observer {
    pub journal: Journal,
    pub faults: Faults,
    pub wires: Vec<DialectWire>,
}

impl Observer {
    fn wire_of(&self, path: &str) -> Option<&DialectWire> {
        self.wires
            .iter()
            .find(|w| path.starts_with(w.prefix) || path == w.prefix.trim_end_matches('/'))
    }
}

pub async fn observe(
    State(observer): State<Arc<Observer>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(wire) = observer.wire_of(request.uri().path()).cloned() else {
        return next.run(request).await;
    };
    let started = Instant::now();
    let time_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let (mut parts, body) = request.into_parts();
    // The space costs a credential check: only when the journal or a fault rule needs it.
    let space = if observer.journal.is_on() || observer.faults.names_spaces(wire.name) {
        wire.wire.space_of(&mut parts)
    } else {
        None
    };
    // The route's pattern names it (each TIM command has a path of its own).
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".into(), |m| m.as_str().to_string());
    let span = tracing::info_span!(
        "request",
        dialect = wire.name,
        route = %route,
        space = space.as_deref().unwrap_or(""),
        log_id = tracing::field::Empty,
    );
    async move {
        let body_limit = observer.journal.limits().body_bytes;
        // The body: read first when a rule matches on it, else copied as the handler reads it.
        let (body, read, matched_body) = if observer.faults.needs_body(wire.name) {
            let bytes = roster_http::read_body(body, MAX_MATCHED_BODY).await.ok();
            let parsed = bytes
                .as_ref()
                .and_then(|b| serde_json::from_slice::<Map<String, Value>>(b).ok());
            let read = Arc::new(Mutex::new(Captured::default()));
            let bytes = bytes.unwrap_or_default();
            read.lock().expect("captured body").keep(&bytes, body_limit);
            (Body::from(bytes), read, parsed)
        } else if observer.journal.is_on() {
            let read = Arc::new(Mutex::new(Captured::default()));
            let tee = Tee {
                inner: body,
                captured: read.clone(),
                limit: body_limit,
            };
            (Body::new(tee), read, None)
        } else {
            (body, Arc::default(), None)
        };
        let rule = observer.faults.fire(&faults::Request {
            dialect: wire.name,
            method: parts.method.as_str(),
            path: parts.uri.path(),
            space: space.as_deref(),
            body: matched_body.as_ref(),
        });
        if let Some(rule) = &rule {
            metrics::counter!("roster_faults_fired_total", "dialect" => wire.name).increment(1);
            if let Some(delay) = rule.spec.delay_ms {
                tokio::time::sleep(Duration::from_millis(delay.millis())).await;
            }
        }
        let method = parts.method.to_string();
        let path = parts.uri.path().to_string();
        let query = redact_query(parts.uri.query().unwrap_or(""));
        let request_headers = redact_headers(&parts.headers);
        let response = match rule
            .as_ref()
            .filter(|r| r.spec.drop || r.spec.error.is_some())
        {
            // Answered here: the body is read first (into the journal), as a handler would.
            Some(rule) => {
                let _ = roster_http::read_body(body, MAX_MATCHED_BODY).await;
                match &rule.spec.error {
                    Some(fields) => {
                        let status = rule.spec.status.and_then(|s| StatusCode::from_u16(s).ok());
                        wire.wire.error_response(fields.clone(), status)
                    }
                    None => dropped(),
                }
            }
            None => next.run(Request::from_parts(parts, body)).await,
        };
        let dropped_by = rule.as_ref().filter(|r| r.spec.drop).map(|r| r.id);
        let (response, answer) = match dropped_by {
            Some(_) => (response, Bytes::new()),
            None => buffered(response).await,
        };
        let latency = started.elapsed();
        // A dropped connection is journaled with status 0: no answer was sent.
        let status = if dropped_by.is_some() {
            0
        } else {
            response.status().as_u16()
        };
        let vendor_code = top_level_field(&answer, wire.wire.code_field());
        let log_id = wire.wire.log_id(response.headers());
        if let Some(log_id) = &log_id {
            tracing::Span::current().record("log_id", log_id.as_str());
        }
        let code_label = vendor_code.as_ref().map_or_else(String::new, code_text);
        tracing::info!(
            method,
            path,
            status,
            code = code_label,
            latency_ms = latency.as_secs_f64() * 1000.0,
            "answered"
        );
        metrics::counter!("roster_requests_total",
            "dialect" => wire.name, "route" => route.clone(), "code" => code_label)
        .increment(1);
        metrics::histogram!("roster_request_duration_seconds",
            "dialect" => wire.name, "route" => route)
        .record(latency.as_secs_f64());
        if observer.journal.is_on() {
            let request_body = read.lock().expect("captured body").kept(body_limit);
            let response_body = match serde_json::from_slice::<Value>(&answer).ok() {
                Some(value) => {
                    let text = redacted_json(&value).to_string();
                    KeptBody::of(text.as_bytes(), body_limit, text.len())
                }
                None => KeptBody::of(&answer, body_limit, answer.len()),
            };
            observer.journal.record(Entry {
                id: 0,
                time_ms,
                dialect: wire.name.to_string(),
                space,
                method,
                path,
                query,
                request_headers,
                request_body,
                status,
                vendor_code,
                log_id,
                response_body,
                latency_ms: latency.as_secs_f64() * 1000.0,
                fault: rule.map(|r| r.id),
            });
            let (entries, bytes) = observer.journal.size();
            metrics::gauge!("roster_journal_entries").set(entries as f64);
            metrics::gauge!("roster_journal_bytes").set(bytes as f64);
        }
        response
    }
    .instrument(span)
    .await
}

/// One top-level field of a JSON object, read without building the rest of it.
fn top_level_field(body: &[u8], name: &str) -> Option<Value> {
    let fields: HashMap<String, &RawValue> = serde_json::from_slice(body).ok()?;
    serde_json::from_str(fields.get(name)?.get()).ok()
}

fn code_text(code: &Value) -> String {
    match code {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The answer with its body read, and the body.
async fn buffered(response: Response) -> (Response, Bytes) {
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, MAX_RESPONSE).await {
        Ok(bytes) => (
            Response::from_parts(parts, Body::from(bytes.clone())),
            bytes,
        ),
        Err(e) => {
            tracing::error!("cannot read an answer to journal it: {e}");
            (Response::from_parts(parts, Body::empty()), Bytes::new())
        }
    }
}

/// An answer whose body fails at once: the server closes the connection without a response.
fn dropped() -> Response {
    Response::new(Body::new(Failing))
}

struct Failing;

impl HttpBody for Failing {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::other(
            "connection dropped by a fault rule",
        ))))
    }
}

/// The first bytes of a request body, as the handler read them, and its whole size.
#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    seen: usize,
}

impl Captured {
    fn keep(&mut self, data: &[u8], limit: usize) {
        self.seen += data.len();
        let room = limit.saturating_sub(self.bytes.len());
        self.bytes.extend_from_slice(&data[..data.len().min(room)]);
    }

    fn kept(&self, limit: usize) -> KeptBody {
        match serde_json::from_slice::<Value>(&self.bytes) {
            Ok(value) if self.seen == self.bytes.len() => {
                let text = redacted_json(&value).to_string();
                KeptBody::of(text.as_bytes(), limit, text.len())
            }
            _ => KeptBody::of(&self.bytes, limit, self.seen),
        }
    }
}

/// A request body that copies what passes through it.
struct Tee {
    inner: Body,
    captured: Arc<Mutex<Captured>>,
    limit: usize,
}

impl HttpBody for Tee {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                let limit = self.limit;
                self.captured
                    .lock()
                    .expect("captured body")
                    .keep(data, limit);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("secret")
        || key.contains("password")
        || key == "usersig"
        || key == "code_verifier"
        || (key.ends_with("token") && !key.ends_with("page_token"))
}

/// `value` with the values of credential fields replaced, at any depth.
fn redacted_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(k) && !v.is_object() && !v.is_array() {
                        Value::String("[redacted]".into())
                    } else {
                        redacted_json(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redacted_json).collect()),
        other => other.clone(),
    }
}

fn redact_query(query: &str) -> String {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| {
            let secret = SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str());
            let v = if secret { "[redacted]".into() } else { v };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn redact_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = if name == "authorization" || name == "cookie" {
                "[redacted]".to_string()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.to_string(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credentials_are_redacted_everywhere() {
        let body = json!({ "app_secret": "s", "data": { "tenant_access_token": "t-1",
                           "page_token": "p", "items": [{ "refresh_token": "r" }] } });
        assert_eq!(
            redacted_json(&body),
            json!({ "app_secret": "[redacted]", "data": { "tenant_access_token": "[redacted]",
                    "page_token": "p", "items": [{ "refresh_token": "[redacted]" }] } })
        );
        assert_eq!(
            redact_query("sdkappid=1&usersig=abc&identifier=admin"),
            "sdkappid=1&usersig=[redacted]&identifier=admin"
        );
    }
}
