//! do1's "qwif" wrapper over WeCom (`https://qwif.do1.com.cn/qwcgi/...`): `token` and
//! `corpId` in the query, writes as multipart/form-data with one part holding JSON, and every
//! answer an HTTP 200 with `{"code": "<string>", "desc", "data"}`.

mod contacts;
mod tags;

use std::borrow::Cow;
use std::future::Future;

use axum::body::Body;
use axum::extract::multipart::Multipart;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, MethodRouter};
use axum::{Json, Router};
use roster_http::openapi::{array, integer, object, operation, string, HttpMethod};
use roster_http::Endpoints;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::directory::{Directory, Fault};
use crate::openapi::{dept_info, qwif, qwif_answer, tag_info};
use crate::request::{json_object, read_body, Params};
use crate::token::{self, Audience, Refused};
use crate::App;

/// do1's APIs roster serves, each its OpenAPI operation and handler.
pub(crate) fn endpoints() -> Endpoints<App> {
    let invalid = || {
        object()
            .optional("invalidUserIdList", array(string()))
            .optional("invalidDeptIdList", array(string()))
    };
    let token = operation(
        HttpMethod::Get,
        "/qwcgi/portal/api/qwsecurity!getToken.action",
        "a do1 token",
    )
    .query("developerId", string(), true)
    .query("developerKey", string(), true)
    .answer(
        "200",
        "the token, or do1's error",
        qwif_answer(
            object()
                .field("token", string())
                .field("expiresIn", integer())
                .into(),
        ),
    );
    Endpoints::new("")
        .at_route(token, any(get_token))
        .at_route(
            qwif("tag/addTagRef.do", "add tag members", DATA, invalid()),
            api(DATA, tags::add_refs),
        )
        .at_route(
            qwif("tag/delTagRef.do", "remove tag members", DATA, invalid()),
            api(DATA, tags::remove_refs),
        )
        .at_route(
            qwif(
                "tag/searchTagRef.do",
                "a tag's members",
                NO_BODY,
                object()
                    .field("wxUserIdList", array(string()))
                    .field("wxDeptIdList", array(string())),
            )
            .query("wxTagId", string(), false)
            .query("id", string(), false),
            api(NO_BODY, tags::search_refs),
        )
        .at_route(
            qwif(
                "tag/addTag.do",
                "create a tag",
                DATA,
                object().field("tagInfo", tag_info()),
            ),
            api(DATA, tags::add),
        )
        .at_route(
            qwif("tag/updateTag.do", "change a tag", DATA, object()),
            api(DATA, tags::update),
        )
        .at_route(
            qwif("tag/delTag.do", "delete a tag", DATA, object()),
            api(DATA, tags::delete),
        )
        .at_route(
            qwif(
                "tag/searchTag.do",
                "every tag",
                NO_BODY,
                object().field("tagList", array(tag_info())),
            ),
            api(NO_BODY, tags::search),
        )
        .at_route(
            qwif(
                "deptAPI/getAllDept.do",
                "every department, a page at a time",
                DATA,
                object()
                    .field("currPage", integer())
                    .field("maxPage", integer())
                    .field("pageSize", integer())
                    .field("totalRows", integer())
                    .field("pageData", array(dept_info())),
            ),
            api(DATA, contacts::all_departments),
        )
        .at_route(
            qwif(
                "deptAPI/getDeptByDeptId.do",
                "departments by id",
                NO_BODY,
                object().field("departmentList", array(dept_info())),
            )
            .query("depaId", string(), true),
            api(NO_BODY, contacts::departments_by_id),
        )
        .at_route(
            qwif(
                "deptAPI/addDepart.do",
                "create a department",
                DEPT_INFO,
                object().field("depart", dept_info()),
            ),
            api(DEPT_INFO, contacts::add_department),
        )
        .at_route(
            qwif(
                "userAPI/getUserByDepartId.do",
                "a department's members",
                NO_BODY,
                object().field(
                    "list",
                    array(
                        object()
                            .field("userId", string())
                            .field("name", string())
                            .field("wxUserId", string())
                            .into(),
                    ),
                ),
            )
            .query("departId", string(), true),
            api(NO_BODY, contacts::users_by_department),
        )
}

/// Paths below `/qwcgi/` that no entry serves.
pub(crate) fn unknown(routes: Router) -> Router {
    routes
        .route("/qwcgi/", any(unknown_api))
        .route("/qwcgi/{*path}", any(unknown_api))
}

/// The form part most writes carry their JSON in.
const DATA: Option<&str> = Some("data");
/// The form part of `addDepart.do`.
const DEPT_INFO: Option<&str> = Some("deptInfo");
const NO_BODY: Option<&str> = None;

/// do1's answer, success or not. `code` is always a JSON string.
#[derive(Debug, Serialize)]
struct Envelope<T> {
    code: Cow<'static, str>,
    desc: Cow<'static, str>,
    data: T,
}

fn success<T>(data: T) -> Envelope<T> {
    Envelope {
        code: "0".into(),
        desc: "成功".into(),
        data,
    }
}

/// A refused call; `data` is `{}` unless the refusal reports ids.
type QwifError = Envelope<ErrorData>;

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum ErrorData {
    Empty {},
    Invalid(tags::InvalidIds),
}

impl QwifError {
    fn new(code: &'static str, desc: impl Into<Cow<'static, str>>) -> Self {
        Envelope {
            code: code.into(),
            desc: desc.into(),
            data: ErrorData::Empty {},
        }
    }
}

impl From<Fault> for QwifError {
    fn from(fault: Fault) -> Self {
        if let Fault::Store(e) = &fault {
            tracing::error!("wecom qwif: {e}");
        }
        Envelope {
            code: fault.code().to_string().into(),
            desc: fault.desc().into(),
            data: ErrorData::Empty {},
        }
    }
}

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

/// A business call whose `token` and `corpId` checked out.
struct Call {
    dir: Directory,
    params: Params,
    /// The JSON of the API's form part, when the request has one.
    data: Option<Map<String, Value>>,
}

impl Call {
    /// The form part's JSON, which this API requires.
    fn data(&self) -> Result<&Map<String, Value>, Fault> {
        self.data
            .as_ref()
            .ok_or_else(|| Fault::invalid("the data part is missing"))
    }

    /// The form part's JSON, or an empty object when the API can do without.
    fn data_or_empty(&self) -> Map<String, Value> {
        self.data.clone().unwrap_or_default()
    }
}

type Answer<T> = Result<Envelope<T>, QwifError>;

/// Any method is accepted; `part` names the form part holding the JSON, if the API has one.
fn api<F, Fut, T>(part: Option<&'static str>, handler: F) -> MethodRouter<App>
where
    F: Fn(Call) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Answer<T>> + Send,
    T: Serialize,
{
    any(move |State(app): State<App>, request: Request| {
        let handler = handler.clone();
        async move {
            match open(&app, request, part).await {
                Ok(call) => match handler(call).await {
                    Ok(envelope) => envelope.into_response(),
                    Err(e) => e.into_response(),
                },
                Err(e) => e.into_response(),
            }
        }
    })
}

/// Check `token`, then `corpId` against the token's corp, then read the form part.
async fn open(app: &App, request: Request, part: Option<&str>) -> Result<Call, QwifError> {
    let params = Params::of(request.uri());
    let token = params
        .get("token")
        .ok_or_else(|| QwifError::new("41001", "缺少token参数"))?;
    let now = app.engine.clock.now();
    let corp = match token::verify(&app.tokens, Audience::Qwif, token, now, |space| {
        app.corps.generation(space)
    }) {
        Ok(space) => app.corps.by_space(space),
        Err(Refused::Expired) => return Err(QwifError::new("42001", "token已过期")),
        Err(Refused::Invalid) => None,
    }
    .ok_or_else(|| QwifError::new("40014", "不合法的token"))?
    .clone();
    if params.get("corpId") != Some(corp.attrs.corp_id.as_str()) {
        return Err(QwifError::new("40013", "不合法的corpId"));
    }
    let data = match part {
        Some(part) => read_part(request, part).await?,
        None => None,
    };
    Ok(Call {
        dir: Directory::new(app.engine.clone(), corp),
        params,
        data,
    })
}

/// The JSON in form part `part`, from multipart/form-data (what do1's clients send) or, as a
/// leniency, application/x-www-form-urlencoded. `None` when the request has no such part.
async fn read_part(request: Request, part: &str) -> Result<Option<Map<String, Value>>, QwifError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (head, body) = request.into_parts();
    let body = read_body(body)
        .await
        .map_err(|e| QwifError::from(Fault::invalid(e)))?;
    let text = if content_type.starts_with("multipart/form-data") {
        let malformed = |e: &dyn std::fmt::Display| {
            QwifError::from(Fault::invalid(format!("malformed multipart body: {e}")))
        };
        let request = Request::from_parts(head, Body::from(body));
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| malformed(&e))?;
        // Read every part, so a body broken after the wanted part is refused too.
        let mut found = None;
        while let Some(field) = multipart.next_field().await.map_err(|e| malformed(&e))? {
            let wanted = found.is_none() && field.name() == Some(part);
            let text = field.text().await.map_err(|e| malformed(&e))?;
            if wanted {
                found = Some(text);
            }
        }
        found
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        form_urlencoded::parse(&body)
            .find(|(name, _)| name == part)
            .map(|(_, value)| value.into_owned())
    } else {
        None
    };
    match text {
        None => Ok(None),
        Some(text) => json_object(text.as_bytes())
            .map(Some)
            .ok_or_else(|| QwifError::from(Fault::invalid(format!("{part} is not a JSON object")))),
    }
}

#[derive(Serialize)]
struct Token {
    token: String,
    #[serde(rename = "expiresIn")]
    expires_in: i64,
}

/// `GET /qwcgi/portal/api/qwsecurity!getToken.action?developerId=&developerKey=`
async fn get_token(State(app): State<App>, request: Request) -> Response {
    let params = Params::of(request.uri());
    let corp = match (params.get("developerId"), params.get("developerKey")) {
        (Some(id), Some(key)) => app.corps.by_qwif_login(id, key),
        _ => None,
    };
    let Some(corp) = corp else {
        return QwifError::new("40001", "developerId或developerKey不正确").into_response();
    };
    let issued = token::issue(
        &app.tokens,
        Audience::Qwif,
        (corp.space, corp.generation),
        app.engine.clock.now(),
    );
    success(Token {
        token: issued.token,
        expires_in: issued.expires_in,
    })
    .into_response()
}

/// Paths roster does not serve: HTTP 404 with a do1-shaped body naming the path.
async fn unknown_api(request: Request) -> Response {
    let desc = format!("接口不存在: {}", request.uri().path());
    (StatusCode::NOT_FOUND, QwifError::new("48002", desc)).into_response()
}
