//! The REST wire format shared by every command: the response envelope, vendor errors, and
//! typed access to the fields of a request body.

use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use roster_core::StoreError;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::usersig::SigError;

/// The REST gateway's code for a request it cannot parse (spec §1.5).
pub const HTTP_PARSE: u32 = 60002;

/// A vendor error: its `ErrorCode` ([`Fail::code`]) and its `ErrorInfo` (the message). The
/// gateway answers each with HTTP 200, in the envelope of the command's service.
#[derive(Debug, thiserror::Error)]
pub enum Fail {
    #[error("method {0} is not supported; use POST")]
    Method(Method),
    /// The body is unreadable, not JSON, not an object, or holds a NUL.
    #[error("{0}")]
    BadJson(String),
    #[error("identifier is missing from the URL")]
    MissingIdentifier,
    #[error("invalid sdkappid {0}")]
    UnknownSdkAppId(String),
    #[error("no such API: {0}")]
    UnknownCommand(String),
    #[error("{0} is not an App admin; REST API requests need App admin permission")]
    NotAdmin(String),
    #[error("sdkappid is missing from the URL")]
    MissingSdkAppId,
    #[error("{0}: account fields must be strings")]
    AccountNotString(String),
    #[error(transparent)]
    UserSig(#[from] SigError),
    /// The app's plan or console switch does not include follows (a seed flag here).
    #[error("the follow feature is not enabled for this app (seed: follow_enabled = false)")]
    FollowDisabled,
    #[error("{field} is longer than {max} bytes")]
    ProfileValueTooLong { field: &'static str, max: usize },
    #[error("account {0} does not exist; import it first")]
    AccountNotFound(String),
    /// A missing or malformed field: the service's bad-parameter code.
    #[error("{info}")]
    BadParameter { service: Service, info: String },
    /// The store failed: the service's internal-error code; the cause is logged where the
    /// answer is rendered.
    #[error("internal server error, please retry")]
    Internal {
        service: Service,
        #[source]
        cause: StoreError,
    },
}

impl Fail {
    pub fn code(&self) -> u32 {
        match self {
            Fail::Method(_) => HTTP_PARSE,
            Fail::BadJson(_) => 60003,
            Fail::MissingIdentifier => 60004,
            Fail::UnknownSdkAppId(_) => 60006,
            Fail::UnknownCommand(_) => 60009,
            Fail::NotAdmin(_) => 60010,
            Fail::MissingSdkAppId => 60012,
            Fail::AccountNotString(_) => 60015,
            Fail::UserSig(e) => e.code(),
            Fail::FollowDisabled => 30005,
            Fail::ProfileValueTooLong { .. } => 40601,
            Fail::AccountNotFound(_) => 30003,
            Fail::BadParameter { service, .. } => match service {
                Service::Account => 70402,
                Service::Follow => 30001,
            },
            Fail::Internal { service, .. } => match service {
                Service::Account => 70500,
                Service::Follow => 30006,
            },
        }
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
        Fail::BadParameter {
            service: self,
            info: info.into(),
        }
    }

    pub fn internal(self, cause: StoreError) -> Fail {
        Fail::Internal {
            service: self,
            cause,
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
/// names no known command. An internal error's cause is logged here.
pub fn fail(service: Option<Service>, fail: &Fail) -> Response {
    if let Fail::Internal { cause, .. } = fail {
        tracing::error!("tim: internal error: {cause}");
    }
    render(&Envelope::<Nothing> {
        payload: None,
        action_status: "FAIL",
        error_code: fail.code(),
        error_info: &fail.to_string(),
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
    Fail::AccountNotString(name.to_string())
}
