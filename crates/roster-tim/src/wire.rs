//! The REST wire format shared by every command: the response envelope, vendor errors, and
//! typed access to the fields of a request body.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

/// REST gateway codes (spec §1.5) the services share.
pub mod code {
    pub const HTTP_PARSE: u32 = 60002;
    pub const BAD_JSON: u32 = 60003;
    pub const MISSING_IDENTIFIER: u32 = 60004;
    pub const UNKNOWN_SDKAPPID: u32 = 60006;
    pub const UNKNOWN_COMMAND: u32 = 60009;
    pub const NEEDS_ADMIN: u32 = 60010;
    pub const MISSING_SDKAPPID: u32 = 60012;
    pub const ACCOUNT_NOT_STRING: u32 = 60015;
}

/// A vendor error: what goes into `ErrorCode` and `ErrorInfo`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {info}")]
pub struct Fail {
    pub code: u32,
    pub info: String,
}

impl Fail {
    pub fn new(code: u32, info: impl Into<String>) -> Self {
        Self {
            code,
            info: info.into(),
        }
    }
}

impl From<crate::usersig::SigError> for Fail {
    fn from(e: crate::usersig::SigError) -> Self {
        Fail::new(e.code(), e.to_string())
    }
}

/// The service a command belongs to: it picks the codes for bad parameters and internal
/// errors, and whether responses carry `ErrorDisplay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `im_open_login_svc`.
    Account,
    /// `follow`.
    Follow,
}

impl Service {
    pub fn bad_param(self, info: impl Into<String>) -> Fail {
        match self {
            Service::Account => Fail::new(70402, info),
            Service::Follow => Fail::new(30001, info),
        }
    }

    pub fn internal(self, error: impl std::fmt::Display) -> Fail {
        tracing::error!("tim: internal error: {error}");
        match self {
            Service::Account => Fail::new(70500, "internal server error, please retry"),
            Service::Follow => Fail::new(30006, "internal server error, please retry"),
        }
    }

    /// The vendor's follow samples carry `ErrorDisplay: ""`; its account samples do not.
    fn error_display(self) -> Option<&'static str> {
        (self == Service::Follow).then_some("")
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Envelope<'a, T> {
    #[serde(flatten)]
    payload: Option<T>,
    action_status: &'static str,
    error_code: u32,
    error_info: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_display: Option<&'static str>,
}

/// No fields (account_import's success payload, a result item without details).
#[derive(Default, Serialize)]
pub struct Nothing {}

/// The per-item results most commands answer with.
#[derive(Serialize)]
pub struct ResultItems<T> {
    #[serde(rename = "ResultItem")]
    pub items: Vec<T>,
}

/// A successful response: `payload`'s fields next to `ActionStatus: "OK"`, `ErrorCode: 0`.
pub fn ok<T: Serialize>(service: Service, payload: T) -> Response {
    render(&Envelope {
        payload: Some(payload),
        action_status: "OK",
        error_code: 0,
        error_info: "",
        error_display: service.error_display(),
    })
}

/// A failed request: HTTP 200 with `ActionStatus: "FAIL"`. `service` is `None` when the path
/// names no known command.
pub fn fail(service: Option<Service>, fail: &Fail) -> Response {
    render(&Envelope::<Nothing> {
        payload: None,
        action_status: "FAIL",
        error_code: fail.code,
        error_info: &fail.info,
        error_display: service.and_then(Service::error_display),
    })
}

/// A failed request whose body also carries `extra` fields (which win over the envelope's).
pub fn fail_with(code: u32, info: &str, extra: Map<String, Value>) -> Response {
    let envelope = Envelope::<Nothing> {
        payload: None,
        action_status: if code == 0 { "OK" } else { "FAIL" },
        error_code: code,
        error_info: info,
        error_display: None,
    };
    let mut body = serde_json::to_value(&envelope).expect("response types serialize");
    body.as_object_mut()
        .expect("the envelope is an object")
        .extend(extra);
    render(&body)
}

fn render<T: Serialize>(envelope: &T) -> Response {
    let body = serde_json::to_vec(envelope).expect("response types serialize");
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// The fields of a JSON object in a request body, read with the vendor's error codes: a
/// missing or malformed field is the service's bad-parameter code, a user id that is not a
/// string is 60015.
#[derive(Clone, Copy)]
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    service: Service,
}

impl<'a> Fields<'a> {
    pub fn new(map: &'a Map<String, Value>, service: Service) -> Self {
        Self { map, service }
    }

    pub fn bad(&self, info: impl Into<String>) -> Fail {
        self.service.bad_param(info)
    }

    /// Whether the field is present (and not null).
    pub fn has(&self, name: &str) -> bool {
        !matches!(self.map.get(name), None | Some(Value::Null))
    }

    /// A required, non-empty user id.
    pub fn account(&self, name: &str) -> Result<&'a str, Fail> {
        match self.optional_account(name)? {
            Some("") => Err(self.bad(format!("{name} is empty"))),
            Some(id) => Ok(id),
            None => Err(self.bad(format!("{name} is required"))),
        }
    }

    pub fn optional_account(&self, name: &str) -> Result<Option<&'a str>, Fail> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(id)) => Ok(Some(id)),
            Some(_) => Err(not_a_string(name)),
        }
    }

    /// A required, non-empty array of user ids, at most `max` of them.
    pub fn account_list(&self, name: &str, max: i64) -> Result<Vec<&'a str>, Fail> {
        self.list(name, max)?
            .iter()
            .map(|id| id.as_str().ok_or_else(|| not_a_string(name)))
            .collect()
    }

    /// A required, non-empty array, at most `max` long.
    pub fn list(&self, name: &str, max: i64) -> Result<&'a [Value], Fail> {
        let list = match self.map.get(name) {
            None | Some(Value::Null) => return Err(self.bad(format!("{name} is required"))),
            Some(Value::Array(list)) => list,
            Some(_) => return Err(self.bad(format!("{name} must be an array"))),
        };
        if list.is_empty() {
            return Err(self.bad(format!("{name} is empty")));
        }
        if list.len() as i64 > max {
            return Err(self.bad(format!(
                "{name} has {} items; at most {max} are allowed per request",
                list.len()
            )));
        }
        Ok(list)
    }

    /// The fields of one object inside the array `list`.
    pub fn item(&self, value: &'a Value, list: &str) -> Result<Fields<'a>, Fail> {
        match value {
            Value::Object(map) => Ok(Fields::new(map, self.service)),
            _ => Err(self.bad(format!("every item of {list} must be an object"))),
        }
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, Fail> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.bad(format!("{name} must be an integer"))),
        }
    }

    pub fn string(&self, name: &str) -> Result<Option<&'a str>, Fail> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.bad(format!("{name} must be a string"))),
        }
    }
}

fn not_a_string(name: &str) -> Fail {
    Fail::new(
        code::ACCOUNT_NOT_STRING,
        format!("{name}: account fields must be strings"),
    )
}
