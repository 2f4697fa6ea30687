//! Reading requests the way both vendors' servers do: query parameters by name, bodies
//! whatever their Content-Type, ids as JSON strings or numbers.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::http::Uri;
use serde_json::{Map, Value};

/// Largest request body read; 1000 userids of 64 bytes fit many times over.
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Query parameters; the first of repeated names wins, as in WeCom.
#[derive(Debug, Default)]
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    pub(crate) fn of(uri: &Uri) -> Self {
        let mut params = HashMap::new();
        for (name, value) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
            params
                .entry(name.into_owned())
                .or_insert_with(|| value.into_owned());
        }
        Self(params)
    }

    /// The parameter, when present and not empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// The whole body, up to [`BODY_LIMIT`]; the error says why not, for the vendor's error text.
pub(crate) async fn read_body(body: Body) -> Result<Bytes, String> {
    roster_http::read_body(body, BODY_LIMIT)
        .await
        .map_err(|e| e.to_string())
}

/// A JSON object, or `None` when the text is not one (or holds a NUL in a string).
pub(crate) fn json_object(text: &[u8]) -> Option<Map<String, Value>> {
    if roster_http::json_holds_nul(text) {
        return None;
    }
    match serde_json::from_slice(text) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// A JSON number or string as an id's text (numeric userids are coerced to strings).
pub(crate) fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// A list of ids (strings or numbers); absent or `null` is empty, anything else is refused.
pub(crate) fn id_list(value: Option<&Value>) -> Option<Vec<String>> {
    match value {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(id_text).collect(),
        Some(_) => None,
    }
}

/// An integer sent as a JSON number or a decimal string.
pub(crate) fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}
