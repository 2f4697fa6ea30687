//! Both WeCom dialects as roster's control plane sees them ([`Wire`]): the same corps, each
//! with its own token parameter and envelope.

use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_http::Wire;
use serde_json::{json, Map, Value};

use crate::corp::DIALECT;
use crate::request::Params;
use crate::token::{self, Audience};
use crate::App;

pub(crate) struct WecomWire {
    pub app: App,
    pub audience: Audience,
}

impl Wire for WecomWire {
    fn space_of(&self, request: &mut Parts) -> Option<String> {
        let param = match self.audience {
            Audience::Native => "access_token",
            Audience::Qwif => "token",
        };
        let params = Params::of(&request.uri);
        let (app, now) = (&self.app, self.app.engine.clock.now());
        let space = token::verify(&app.tokens, self.audience, params.get(param)?, now, |s| {
            app.corps.generation(s)
        })
        .ok()?;
        let corp = app.corps.by_space(space)?;
        Some(format!("{DIALECT}/{}", corp.attrs.corp_id))
    }

    fn code_field(&self) -> &'static str {
        match self.audience {
            Audience::Native => "errcode",
            Audience::Qwif => "code",
        }
    }

    /// HTTP 200 whatever the code, as both answer.
    fn error_response(&self, fields: Map<String, Value>, status: Option<StatusCode>) -> Response {
        let mut body = match self.audience {
            Audience::Native => json!({ "errcode": 0, "errmsg": "fault injected by roster" }),
            Audience::Qwif => {
                json!({ "code": "0", "desc": "fault injected by roster", "data": {} })
            }
        };
        body.as_object_mut()
            .expect("the envelope is an object")
            .extend(fields);
        (status.unwrap_or(StatusCode::OK), Json(body)).into_response()
    }

    /// `40058`, invalid parameter, as both answer any malformed request.
    fn http_refusal(&self, status: StatusCode, reason: &str) -> Response {
        let fields = match self.audience {
            Audience::Native => {
                json!({ "errcode": 40058, "errmsg": format!("invalid parameter: {reason}") })
            }
            Audience::Qwif => json!({ "code": "40058", "desc": format!("请求格式错误: {reason}") }),
        };
        let Value::Object(fields) = fields else {
            unreachable!("both are objects")
        };
        self.error_response(fields, Some(status))
    }
}
