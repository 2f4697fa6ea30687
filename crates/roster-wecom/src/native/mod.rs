//! WeCom's own server API (`https://qyapi.weixin.qq.com/cgi-bin/...`): `access_token` in the
//! query, JSON bodies whatever their Content-Type, and every answer an HTTP 200 with
//! `errcode` / `errmsg`.

mod contacts;
mod tags;

use std::future::Future;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, MethodRouter};
use axum::{Json, Router};
use roster_core::secret::secrets_match;
use roster_http::openapi::{
    any_of, array, integer, object, one_of_values, operation, string, HttpMethod,
};
use roster_http::Endpoints;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::directory::{Directory, Fault};
use crate::openapi::{invalid, native, native_fail, native_json, tag_members};
use crate::request::{json_object, read_body, Params};
use crate::token::{self, Audience, Refused};
use crate::App;

/// WeCom's APIs roster serves, each its OpenAPI operation and handler.
pub(crate) fn endpoints() -> Endpoints<App> {
    use HttpMethod::Get;
    let tag_get = object()
        .field("tagname", string())
        .field(
            "userlist",
            array(
                object()
                    .field("userid", string())
                    .field("name", string())
                    .into(),
            ),
        )
        .field("partylist", array(integer()));
    let department = object()
        .field("id", integer())
        .field("name", string())
        .optional("name_en", string())
        .field("department_leader", array(string()))
        .field("parentid", integer())
        .field("order", integer());
    let user = object()
        .field("userid", string())
        .field("name", string())
        .field("department", array(integer()))
        .field("order", array(integer()))
        .field("position", string())
        .field("mobile", string())
        .field("gender", string())
        .field("email", string())
        .field("is_leader_in_dept", array(integer()))
        .field("direct_leader", array(string()))
        .field("status", integer())
        .field("main_department", integer());
    let token = operation(Get, "/cgi-bin/gettoken", "an access token")
        .query("corpid", string(), true)
        .query("corpsecret", string(), true)
        .answer(
            "200",
            "the token, or WeCom's error",
            any_of([
                object()
                    .field("errcode", one_of_values([0]))
                    .field("errmsg", string())
                    .field("access_token", string())
                    .field("expires_in", integer())
                    .into(),
                native_fail(),
            ]),
        );
    Endpoints::new("")
        .at_route(token, any(get_token))
        .at_route(
            native_json(
                "tag/create",
                "create a tag",
                object()
                    .field("tagname", string())
                    .optional("tagid", integer()),
                object().field("tagid", integer()),
            ),
            api(Input::JsonBody, tags::create),
        )
        .at_route(
            native_json(
                "tag/update",
                "rename a tag",
                object()
                    .field("tagid", integer())
                    .field("tagname", string()),
                object(),
            ),
            api(Input::JsonBody, tags::update),
        )
        .at_route(
            native(Get, "tag/delete", "delete a tag", object()).query("tagid", integer(), true),
            api(Input::Query, tags::delete),
        )
        .at_route(
            native(Get, "tag/get", "a tag's members", tag_get).query("tagid", integer(), true),
            api(Input::Query, tags::get),
        )
        .at_route(
            native_json(
                "tag/addtagusers",
                "add tag members",
                tag_members(),
                invalid(),
            ),
            api(Input::JsonBody, tags::add_users),
        )
        .at_route(
            native_json(
                "tag/deltagusers",
                "remove tag members",
                tag_members(),
                invalid(),
            ),
            api(Input::JsonBody, tags::delete_users),
        )
        .at_route(
            native(
                Get,
                "tag/list",
                "every tag",
                object().field(
                    "taglist",
                    array(
                        object()
                            .field("tagid", integer())
                            .field("tagname", string())
                            .into(),
                    ),
                ),
            ),
            api(Input::Query, tags::list),
        )
        .at_route(
            native_json(
                "user/create",
                "create a member",
                object()
                    .field("userid", string())
                    .field("name", string())
                    .optional("department", array(integer()))
                    .optional("position", string())
                    .optional("mobile", string())
                    .optional("email", string())
                    .optional("gender", string()),
                object(),
            ),
            api(Input::JsonBody, contacts::create_user),
        )
        .at_route(
            native(Get, "user/get", "a member", user).query("userid", string(), true),
            api(Input::Query, contacts::get_user),
        )
        .at_route(
            native_json(
                "department/create",
                "create a department",
                object()
                    .field("name", string())
                    .field("parentid", integer())
                    .optional("name_en", string())
                    .optional("order", integer())
                    .optional("id", integer()),
                object().field("id", integer()),
            ),
            api(Input::JsonBody, contacts::create_department),
        )
        .at_route(
            native(
                Get,
                "department/list",
                "a department and everything under it",
                object().field("department", array(department.into())),
            )
            .query("id", integer(), false),
            api(Input::Query, contacts::list_departments),
        )
}

/// Paths below `/cgi-bin/` that no entry serves.
pub(crate) fn unknown(routes: Router) -> Router {
    routes
        .route("/cgi-bin/", any(unknown_api))
        .route("/cgi-bin/{*path}", any(unknown_api))
}

/// A refused call. WeCom answers HTTP 200 and clients branch on `errcode`.
#[derive(Debug)]
struct ApiError {
    code: i64,
    message: String,
}

impl ApiError {
    fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<Fault> for ApiError {
    fn from(fault: Fault) -> Self {
        if let Fault::Store(e) = &fault {
            tracing::error!("wecom: {e}");
        }
        Self::new(fault.code(), fault.errmsg())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        Json(json!({ "errcode": self.code, "errmsg": self.message })).into_response()
    }
}

/// A successful answer: `errcode` 0, WeCom's `errmsg` for the API, then the API's fields.
#[derive(Serialize)]
struct Reply<T> {
    errcode: i64,
    errmsg: &'static str,
    #[serde(flatten)]
    body: T,
}

fn reply<T>(errmsg: &'static str, body: T) -> Reply<T> {
    Reply {
        errcode: 0,
        errmsg,
        body,
    }
}

/// The body of an answer that has no fields besides `errcode` and `errmsg`.
#[derive(Serialize)]
struct Nothing {}

/// A business call whose `access_token` checked out.
struct Call {
    dir: Directory,
    params: Params,
    /// The JSON body of a POST API; empty for GET APIs and for bodies that are not a JSON
    /// object (WeCom then parses what it can and adds a warning to `errmsg`).
    body: Map<String, Value>,
}

type Answer<T> = Result<Reply<T>, ApiError>;

/// Where an API takes its input besides the query.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Input {
    Query,
    JsonBody,
}

/// Any method is accepted: WeCom keys its APIs by path.
fn api<F, Fut, T>(input: Input, handler: F) -> MethodRouter<App>
where
    F: Fn(Call) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Answer<T>> + Send,
    T: Serialize,
{
    any(move |State(app): State<App>, request: Request| {
        let handler = handler.clone();
        async move {
            let (call, malformed) = match open(&app, request, input).await {
                Ok(opened) => opened,
                Err(e) => return e.into_response(),
            };
            match handler(call).await {
                Ok(reply) => Json(reply).into_response(),
                Err(mut e) => {
                    if malformed {
                        e.message.push_str(", Warning: wrong json format.");
                    }
                    e.into_response()
                }
            }
        }
    })
}

/// Check the `access_token` before anything else (as WeCom does), then read the body.
async fn open(app: &App, request: Request, input: Input) -> Result<(Call, bool), ApiError> {
    let params = Params::of(request.uri());
    let token = params
        .get("access_token")
        .ok_or_else(|| ApiError::new(41001, "access_token missing"))?;
    let now = app.engine.clock.now();
    let corp = match token::verify(&app.tokens, Audience::Native, token, now, |space| {
        app.corps.generation(space)
    }) {
        Ok(space) => app.corps.by_space(space),
        Err(Refused::Expired) => return Err(ApiError::new(42001, "access_token expired")),
        Err(Refused::Invalid) => None,
    }
    .ok_or_else(|| ApiError::new(40014, "invalid access_token"))?;
    let dir = Directory::new(app.engine.clone(), corp.clone());
    if input == Input::Query {
        let call = Call {
            dir,
            params,
            body: Map::new(),
        };
        return Ok((call, false));
    }
    let bytes = read_body(request.into_body())
        .await
        .map_err(|e| ApiError::from(Fault::invalid(e)))?;
    let (body, malformed) = match json_object(&bytes) {
        Some(body) => (body, false),
        None => (Map::new(), true),
    };
    Ok((Call { dir, params, body }, malformed))
}

#[derive(Serialize)]
struct Token {
    access_token: String,
    expires_in: i64,
}

/// `GET /cgi-bin/gettoken?corpid=&corpsecret=`. The secret is checked for presence first, as
/// WeCom does.
async fn get_token(State(app): State<App>, request: Request) -> Response {
    let params = Params::of(request.uri());
    let answer = (|| {
        let secret = params
            .get("corpsecret")
            .ok_or_else(|| ApiError::new(41004, "corpsecret missing"))?;
        let corp_id = params
            .get("corpid")
            .ok_or_else(|| ApiError::new(41002, "corpid missing"))?;
        let corp = app
            .corps
            .by_corp_id(corp_id)
            .ok_or_else(|| ApiError::new(40013, "invalid corpid"))?;
        if !secrets_match(secret.as_bytes(), corp.attrs.corp_secret.as_bytes()) {
            return Err(ApiError::new(40001, "invalid credential"));
        }
        let issued = token::issue(
            &app.tokens,
            Audience::Native,
            (corp.space, corp.generation),
            app.engine.clock.now(),
        );
        Ok(reply(
            "ok",
            Token {
                access_token: issued.token,
                expires_in: issued.expires_in,
            },
        ))
    })();
    match answer {
        Ok(reply) => Json(reply).into_response(),
        Err(e) => e.into_response(),
    }
}

/// WeCom answers paths it does not serve with HTTP 404; roster adds a WeCom-shaped body
/// naming the path.
async fn unknown_api(request: Request) -> Response {
    let message = format!(
        "api forbidden: roster does not serve {}",
        request.uri().path()
    );
    (StatusCode::NOT_FOUND, ApiError::new(48002, message)).into_response()
}
