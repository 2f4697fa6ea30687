//! Feishu's wire conventions: the `{code, msg, data}` envelope, errors with `error.log_id`,
//! the `X-Tt-Logid` header, JSON bodies parsed whatever their Content-Type, repeated query keys.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use rand::Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use tower::ServiceExt;

/// Bodies past this size are refused with a field-validation error, never read whole.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

const CONTENT_TYPE_JSON: &str = "application/json; charset=utf-8";

/// One entry of `error.field_violations`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldViolation {
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub description: String,
}

/// A refusal of one of Feishu's surfaces: an enum whose variants carry their business code,
/// HTTP status and message, so a code is written once, beside its words.
pub trait VendorError {
    fn status(&self) -> StatusCode;
    fn code(&self) -> i64;
    fn msg(&self) -> Cow<'static, str>;
}

/// The open platform gateway's own refusals: tokens, parameters, paths, rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gateway {
    NeedToken,
    /// Neither `t-`, `a-` nor `u-`.
    TokenPrefix,
    TenantTokenInvalid,
    AppTokenInvalid,
    UserTokenInvalid,
    UserTokenExpired,
    /// A user token where the endpoint takes none.
    UserTokenUnsupported,
    /// A parameter of the wrong type, length or value.
    FieldValidation,
    MethodMismatch,
    NotFound,
    RateLimited,
    /// Where an endpoint documents no internal-failure code (see docs/compat.md).
    Internal,
}

impl VendorError for Gateway {
    fn status(&self) -> StatusCode {
        match self {
            Gateway::MethodMismatch => StatusCode::METHOD_NOT_ALLOWED,
            Gateway::NotFound => StatusCode::NOT_FOUND,
            Gateway::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Gateway::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Gateway::NeedToken
            | Gateway::TokenPrefix
            | Gateway::TenantTokenInvalid
            | Gateway::AppTokenInvalid
            | Gateway::UserTokenInvalid
            | Gateway::UserTokenExpired
            | Gateway::UserTokenUnsupported
            | Gateway::FieldValidation => StatusCode::BAD_REQUEST,
        }
    }

    fn code(&self) -> i64 {
        match self {
            Gateway::NeedToken => 99991661,
            Gateway::TokenPrefix => 99991671,
            Gateway::TenantTokenInvalid => 99991663,
            Gateway::AppTokenInvalid => 99991664,
            Gateway::UserTokenInvalid | Gateway::UserTokenUnsupported => 99991668,
            Gateway::UserTokenExpired => 99991677,
            Gateway::FieldValidation => 99992402,
            Gateway::MethodMismatch => 99991301,
            Gateway::NotFound => 99991201,
            Gateway::RateLimited => 99991400,
            Gateway::Internal => 99991500,
        }
    }

    fn msg(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Gateway::NeedToken => "Need a token",
            Gateway::TokenPrefix => "Invalid token: must start with t-/u-",
            Gateway::TenantTokenInvalid => {
                "Invalid access token for authorization. Please make a request with token attached"
            }
            Gateway::AppTokenInvalid => "invalid app token",
            Gateway::UserTokenInvalid => {
                "Invalid access token for authorization. Please make a request with token attached."
            }
            Gateway::UserTokenExpired => "token expire",
            Gateway::UserTokenUnsupported => "user access token not support",
            Gateway::FieldValidation => "field validation failed",
            Gateway::MethodMismatch => "request method doesn't match",
            Gateway::NotFound => "resource not find",
            Gateway::RateLimited => "request trigger frequency limit",
            Gateway::Internal => "internal error",
        })
    }
}

/// A Feishu error: HTTP status, business code and message, rendered with the request's log id;
/// for a failure of roster itself, its cause, logged where the error is rendered.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code} {msg}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: i64,
    pub msg: String,
    pub field_violations: Vec<FieldViolation>,
    #[source]
    pub cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl<E: VendorError> From<E> for ApiError {
    fn from(error: E) -> Self {
        Self::new(error.status(), error.code(), error.msg())
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: i64, msg: impl Into<String>) -> Self {
        Self {
            status,
            code,
            msg: msg.into(),
            field_violations: Vec::new(),
            cause: None,
        }
    }

    pub fn with_violation(mut self, field: &str, value: Option<&str>, description: &str) -> Self {
        self.field_violations.push(FieldViolation {
            field: field.to_string(),
            value: value.map(str::to_string),
            description: description.to_string(),
        });
        self
    }

    /// The gateway's answer to a parameter of the wrong type, length or value.
    pub fn field_validation(field: &str, description: &str) -> Self {
        Self::from(Gateway::FieldValidation).with_violation(field, None, description)
    }

    /// roster failed (never a client's fault), under the gateway's generic code; an endpoint
    /// that documents its own replaces it (see `task::endpoint`), keeping the cause.
    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        let mut error = Self::from(Gateway::Internal);
        error.cause = Some(Arc::new(cause));
        error
    }

    pub fn is_internal(&self) -> bool {
        self.cause.is_some()
    }

    /// Logs the cause of a failure of roster itself; done once, where the error is rendered.
    fn log_cause(&self) {
        if let Some(cause) = &self.cause {
            let mut chain = cause.to_string();
            let mut source = cause.source();
            while let Some(next) = source {
                chain.push_str(&format!(": {next}"));
                source = next.source();
            }
            tracing::error!(code = self.code, "internal error: {chain}");
        }
    }

    pub fn body(&self, log_id: &str) -> Value {
        let mut error = json!({
            "log_id": log_id,
            "troubleshooter": format!(
                "排查建议查看(Troubleshooting suggestions): https://open.feishu.cn/search?from=openapi&log_id={log_id}&code={}",
                self.code
            ),
        });
        if !self.field_violations.is_empty() {
            error["field_violations"] = json!(self.field_violations);
        }
        json!({ "code": self.code, "msg": self.msg, "error": error })
    }
}

impl From<roster_core::StoreError> for ApiError {
    fn from(e: roster_core::StoreError) -> Self {
        ApiError::internal(e)
    }
}

/// Rendered by [`log_id`] once the request's log id is known.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// `{"code": 0, "data": data, "msg": "success"}`.
pub fn success<T: Serialize>(data: T) -> Response {
    #[derive(Serialize)]
    struct Success<T> {
        code: u8,
        data: T,
        msg: &'static str,
    }
    let body = Success {
        code: 0,
        data,
        msg: "success",
    };
    json_response(StatusCode::OK, &body)
}

/// A JSON body exactly as given (auth endpoints put their fields at the top level), written
/// straight to bytes.
pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let body = serde_json::to_vec(body).expect("response types serialize");
    (status, [(header::CONTENT_TYPE, CONTENT_TYPE_JSON)], body).into_response()
}

pub type ApiResult = Result<Response, ApiError>;

/// `{"code", "msg"}` with HTTP 200: how the token and v1 login endpoints refuse.
pub fn code_only(code: i64, msg: &str) -> Response {
    json_response(StatusCode::OK, &json!({ "code": code, "msg": msg }))
}

/// The response header carrying the request's log id.
pub const LOG_ID_HEADER: &str = "x-tt-logid";

/// Log ids look like Feishu's: `YYYYMMDDHHMMSS` (UTC) and 20 upper-case hex digits.
pub fn new_log_id() -> String {
    let suffix: u128 = rand::thread_rng().gen();
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (year, month, day) = civil_date(secs.div_euclid(86400));
    let time = secs.rem_euclid(86400);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}{:020X}",
        time / 3600,
        time / 60 % 60,
        time % 60,
        suffix & ((1u128 << 80) - 1)
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Middleware for every Feishu route: assigns the log id, renders errors as Feishu JSON with
/// `error.log_id`, and sets `X-Tt-Logid` and the JSON Content-Type on every response.
pub async fn log_id(request: Request, next: Next) -> Response {
    let log_id = new_log_id();
    let mut response = next.run(request).await;
    if let Some(error) = response.extensions_mut().remove::<ApiError>() {
        error.log_cause();
        // Keep headers the handler set beside the error (the gateway's rate-limit headers).
        let mut headers = std::mem::take(response.headers_mut());
        // The error's own (empty) body is replaced, and its length with it.
        headers.remove(header::CONTENT_LENGTH);
        response = json_response(error.status, &error.body(&log_id));
        response.headers_mut().extend(headers);
    } else if !response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
    {
        // Axum's own rejections (wrong method, ...) are plain text: Feishu answers JSON always.
        let status = response.status();
        response = json_response(status, &gateway_error(status).body(&log_id));
    }
    if let Ok(value) = HeaderValue::from_str(&log_id) {
        response.headers_mut().insert(LOG_ID_HEADER, value);
    }
    response
}

/// The gateway's error for a refusal of the HTTP layer itself, by its status (which it keeps).
pub(crate) fn gateway_error(status: StatusCode) -> ApiError {
    let kind = match status {
        StatusCode::METHOD_NOT_ALLOWED => Gateway::MethodMismatch,
        StatusCode::NOT_FOUND => Gateway::NotFound,
        _ => Gateway::FieldValidation,
    };
    ApiError {
        status,
        ..kind.into()
    }
}

/// Unknown paths under `/open-apis/`.
pub async fn not_found() -> ApiError {
    Gateway::NotFound.into()
}

/// `routes`, where a path that ends in `/` and that no route serves is served as the path
/// without that slash (as Feishu's gateway does: `.../tenant_access_token/internal/`), and
/// any other unknown path gets [`not_found`].
pub fn slash_tolerant(routes: Router) -> Router {
    let strict = routes.clone().fallback(not_found);
    routes.fallback_service(tower::service_fn(move |mut request: Request| {
        if let Some(uri) = without_trailing_slash(request.uri()) {
            *request.uri_mut() = uri;
        }
        strict.clone().oneshot(request)
    }))
}

/// The URI with one trailing `/` of its path removed (query kept); `None` for `/` itself.
fn without_trailing_slash(uri: &Uri) -> Option<Uri> {
    let path = uri.path().strip_suffix('/').filter(|p| !p.is_empty())?;
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    Uri::from_parts(parts).ok()
}

/// A JSON request body of type `T`, read whatever the Content-Type (the Python SDK sends none
/// on token requests). Type errors name the offending field, as Feishu's gateway does.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _: &S) -> Result<Self, ApiError> {
        let bytes = read_body(request.into_body()).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

pub async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    roster_http::read_body(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ApiError::field_validation(
                "body",
                &format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
            )
        })
}

/// A JSON object; an empty body reads as `{}`; anything but white space after the object is
/// malformed (nothing is written for `{...}}garbage`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    // Feishu's bodies are objects; serde would read a struct from an array, by position.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::field_validation(
            "body",
            "the request body must be a JSON object",
        ));
    }
    if roster_http::json_holds_nul(bytes) {
        return Err(ApiError::field_validation(
            "body",
            "a string in the request body holds a NUL character",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let malformed = e.inner().is_syntax() || e.inner().is_eof();
        let field = if path == "." || malformed {
            "body"
        } else {
            path.as_str()
        };
        ApiError::field_validation(field, &e.inner().to_string())
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::field_validation("body", &e.to_string()))?;
    Ok(value)
}

/// Query parameters, keeping repeated keys (`a=1&a=2`) as SDKs send arrays.
#[derive(Debug, Default)]
pub struct QueryParams(HashMap<String, Vec<String>>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut params: HashMap<String, Vec<String>> = HashMap::new();
        for (key, value) in form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
            params
                .entry(key.into_owned())
                .or_default()
                .push(value.into_owned());
        }
        Ok(Self(params))
    }
}

impl QueryParams {
    /// The first value of `name`; an empty value counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .and_then(|values| values.first())
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn all(&self, name: &str) -> &[String] {
        self.0.get(name).map_or(&[], Vec::as_slice)
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::field_validation(name, &format!("{name} must be an integer"))
                })
            })
            .transpose()
    }

    /// Booleans as the SDKs send them: `true`/`false`, and Python's `True`/`False`.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.get(name)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(ApiError::field_validation(
                    name,
                    &format!("{name} must be a boolean"),
                )),
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(20_146), (2025, 2, 27));
        assert_eq!(civil_date(-1), (1969, 12, 31));
    }

    #[test]
    fn log_ids_are_34_upper_hex_characters() {
        let id = new_log_id();
        assert_eq!(id.len(), 34);
        assert!(id
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
    }

    #[test]
    fn one_trailing_slash_comes_off_and_the_query_stays() {
        let strip =
            |uri: &str| without_trailing_slash(&uri.parse().unwrap()).map(|u| u.to_string());
        assert_eq!(strip("/a/b/?x=1").as_deref(), Some("/a/b?x=1"));
        assert_eq!(strip("/a//").as_deref(), Some("/a/"));
        assert_eq!(strip("/a/b"), None);
        assert_eq!(strip("/"), None);
    }

    #[test]
    fn json_errors_name_the_field() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Body {
            id_list: Vec<String>,
        }
        let error = parse_json::<Body>(br#"{"id_list": "x"}"#).unwrap_err();
        assert_eq!(error.code, 99992402);
        assert_eq!(error.field_violations[0].field, "id_list");
        assert!(parse_json::<Body>(b"not json").is_err());
        let trailing = parse_json::<Body>(br#"{"id_list":["erin"]}}garbage"#).unwrap_err();
        assert_eq!(trailing.field_violations[0].field, "body");
        assert!(parse_json::<Body>(b"{\"id_list\": []} \n").is_ok());
        let positional = parse_json::<Body>(br#"[["erin"]]"#).unwrap_err();
        assert_eq!(positional.field_violations[0].field, "body");
    }
}
