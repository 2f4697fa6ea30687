//! What roster's control plane (request journal, fault injection) needs to know of a dialect
//! without running its handlers: which space a request is for, how its answers carry the
//! vendor's code, and how the vendor would render an error (also one of the HTTP layer).

use std::sync::Arc;

use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};

pub trait Wire: Send + Sync {
    /// The space (`dialect/key`) the request's credentials name, read from memory only;
    /// `None` when they name none (a bad token, a token request). A dialect may leave what it
    /// verified in the request's extensions, so that its handler does not verify it again.
    fn space_of(&self, request: &mut Parts) -> Option<String>;

    /// The top-level field of an answer's JSON body holding the vendor's result code (`0` or
    /// `"0"` on success).
    fn code_field(&self) -> &'static str;

    /// The vendor's request id of an answer, if the vendor sends one.
    fn log_id(&self, _headers: &HeaderMap) -> Option<String> {
        None
    }

    /// An error answer carrying `fields` (the vendor's body fields, such as its code and
    /// message) in this dialect's envelope, the rest completed as the vendor would; `status`
    /// overrides the vendor's HTTP status for it.
    fn error_response(&self, fields: Map<String, Value>, status: Option<StatusCode>) -> Response;

    /// The answer to a request roster's HTTP layer refused before any route ran (a URI too
    /// long, a byte no header may hold), with `status`, in this dialect's envelope.
    fn http_refusal(&self, status: StatusCode, reason: &str) -> Response;
}

/// A dialect's wire, and the requests it serves.
#[derive(Clone)]
pub struct DialectWire {
    /// `feishu`, `tim`, `wecom`, `qwif`: how the journal and fault rules name it.
    pub name: &'static str,
    /// Every path of the dialect starts with this.
    pub prefix: &'static str,
    pub wire: Arc<dyn Wire>,
}
