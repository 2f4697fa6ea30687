//! The Feishu dialect as roster's control plane sees it ([`Wire`]).

use std::sync::Arc;

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use roster_http::Wire;
use serde_json::{Map, Value};

use crate::auth::Credentials;
use crate::model::DIALECT;
use crate::tenants::Feishu;
use crate::wire::{
    gateway_error, json_response, new_log_id, ApiError, Gateway, VendorError, LOG_ID_HEADER,
};

pub struct FeishuWire(pub Arc<Feishu>);

impl Wire for FeishuWire {
    /// The caller, verified here, is left to the handler (see [`Credentials`]).
    fn space_of(&self, request: &mut Parts) -> Option<String> {
        let verified = Credentials::verify(&self.0, request);
        let space = verified.tenant_key().map(|key| format!("{DIALECT}/{key}"));
        request.extensions.insert(verified);
        space
    }

    fn code_field(&self) -> &'static str {
        "code"
    }

    fn log_id(&self, headers: &HeaderMap) -> Option<String> {
        let value = headers.get(LOG_ID_HEADER)?.to_str().ok()?;
        Some(value.to_string())
    }

    fn error_response(&self, fields: Map<String, Value>, status: Option<StatusCode>) -> Response {
        let code = fields.get("code").and_then(Value::as_i64).unwrap_or(0);
        let status = status.unwrap_or(match code {
            0 => StatusCode::OK,
            code if code == Gateway::RateLimited.code() => Gateway::RateLimited.status(),
            _ => StatusCode::BAD_REQUEST,
        });
        let msg = fields
            .get("msg")
            .and_then(Value::as_str)
            .unwrap_or("fault injected by roster");
        let log_id = new_log_id();
        let mut body = ApiError::new(status, code, msg).body(&log_id);
        body.as_object_mut()
            .expect("an error body is an object")
            .extend(fields);
        let mut response = json_response(status, &body);
        if let Ok(value) = HeaderValue::from_str(&log_id) {
            response.headers_mut().insert(LOG_ID_HEADER, value);
        }
        response
    }

    /// The gateway's code for the status (`99992402` for a malformed request).
    fn http_refusal(&self, status: StatusCode, reason: &str) -> Response {
        let error = gateway_error(status);
        tracing::debug!("feishu: refused by the HTTP layer: {reason}");
        let mut fields = Map::new();
        fields.insert("code".into(), error.code.into());
        fields.insert("msg".into(), error.msg.into());
        self.error_response(fields, Some(status))
    }
}
