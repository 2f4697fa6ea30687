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
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::directory::{Directory, Fault};
use crate::request::{json_object, read_body, Params};
use crate::token::{self, Audience, Refused};
use crate::App;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/cgi-bin/gettoken", any(get_token))
        .route("/cgi-bin/tag/create", api(Input::JsonBody, tags::create))
        .route("/cgi-bin/tag/update", api(Input::JsonBody, tags::update))
        .route("/cgi-bin/tag/delete", api(Input::Query, tags::delete))
        .route("/cgi-bin/tag/get", api(Input::Query, tags::get))
        .route(
            "/cgi-bin/tag/addtagusers",
            api(Input::JsonBody, tags::add_users),
        )
        .route(
            "/cgi-bin/tag/deltagusers",
            api(Input::JsonBody, tags::delete_users),
        )
        .route("/cgi-bin/tag/list", api(Input::Query, tags::list))
        .route(
            "/cgi-bin/user/create",
            api(Input::JsonBody, contacts::create_user),
        )
        .route("/cgi-bin/user/get", api(Input::Query, contacts::get_user))
        .route(
            "/cgi-bin/department/create",
            api(Input::JsonBody, contacts::create_department),
        )
        .route(
            "/cgi-bin/department/list",
            api(Input::Query, contacts::list_departments),
        )
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
