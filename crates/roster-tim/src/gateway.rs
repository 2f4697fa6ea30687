//! `/v4/<service>/<command>`: the request skeleton every command shares, in the order of spec
//! §1.6 (method, credentials, the app's follow switch, the body), and the paths naming none.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::Method;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{any, MethodRouter};
use axum::Router;
use roster_http::Wire;
use serde_json::{Map, Value};

use crate::app::{App, DIALECT};
use crate::state::{Call, Tim};
use crate::wire::{self, Fail, Fields, Service};

/// Request bodies are small (at most 100 items of 32-byte ids); larger ones are refused
/// before they are buffered.
const MAX_BODY: usize = 1 << 20;

/// What a command does with one call that passed the gateway's checks.
pub(crate) type Handler =
    for<'a> fn(Call<'a>) -> Pin<Box<dyn Future<Output = Result<Response, Fail>> + Send + 'a>>;

/// The route of one command of `service`: the gateway's checks, then `handler`; a failure
/// of either rendered in the service's envelope.
pub(crate) fn command(service: Service, handler: Handler) -> MethodRouter<Arc<Tim>> {
    any(
        move |State(tim): State<Arc<Tim>>, request: Request| async move {
            match tim.call(service, handler, request).await {
                Ok(response) => response,
                Err(fail) => wire::fail(Some(service), &fail),
            }
        },
    )
}

/// Every other path under `/v4` names no command: 60009, whatever the method or credentials.
pub(crate) fn unknown(routes: Router) -> Router {
    routes
        .route("/v4", any(unknown_command))
        .route("/v4/", any(unknown_command))
        .route("/v4/{*command}", any(unknown_command))
}

async fn unknown_command(request: Request) -> Response {
    let path = request.uri().path().to_string();
    wire::fail(None, &Fail::UnknownCommand(path))
}

impl Wire for Tim {
    fn space_of(&self, request: &mut Parts) -> Option<String> {
        let app = self.authenticate(request.uri.query().unwrap_or("")).ok()?;
        Some(format!("{DIALECT}/{}", app.sdkappid))
    }

    fn code_field(&self) -> &'static str {
        "ErrorCode"
    }

    /// HTTP 200 whatever the code, as the REST gateway answers.
    fn error_response(&self, fields: Map<String, Value>, status: Option<StatusCode>) -> Response {
        let code = fields.get("ErrorCode").and_then(Value::as_u64).unwrap_or(0);
        let code = u32::try_from(code).unwrap_or(u32::MAX);
        let mut response = wire::fail_with(code, "fault injected by roster", fields);
        if let Some(status) = status {
            *response.status_mut() = status;
        }
        response
    }

    /// 60002, TIM's HTTP parse error.
    fn http_refusal(&self, status: StatusCode, reason: &str) -> Response {
        let mut fields = Map::new();
        fields.insert("ErrorCode".into(), wire::HTTP_PARSE.into());
        fields.insert("ErrorInfo".into(), reason.into());
        self.error_response(fields, Some(status))
    }
}

impl Tim {
    /// Gateway checks in the order of spec §1.6, then the command.
    async fn call(
        &self,
        service: Service,
        handler: Handler,
        request: Request,
    ) -> Result<Response, Fail> {
        let (parts, body) = request.into_parts();
        // POST per the docs; some clients send GET with the same JSON body.
        if parts.method != Method::POST && parts.method != Method::GET {
            return Err(Fail::Method(parts.method));
        }
        let app = self.authenticate(parts.uri.query().unwrap_or(""))?;
        if service == Service::Follow && !app.follow_enabled {
            return Err(Fail::FollowDisabled);
        }
        let body = read_object(body).await?;
        let call = Call {
            engine: &self.engine,
            app: &app,
            body: Fields::new(&body, service),
        };
        handler(call).await
    }

    /// The app named by `sdkappid`, if `usersig` is a valid UserSig of an admin of it.
    /// Costs no database round trip, and a UserSig verified before costs a lookup.
    fn authenticate(&self, query: &str) -> Result<Arc<App>, Fail> {
        let param = |name: &str| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
                .filter(|value| !value.is_empty())
        };
        let sdkappid = param("sdkappid").ok_or(Fail::MissingSdkAppId)?;
        let app = sdkappid
            .parse::<u64>()
            .ok()
            .and_then(|id| self.apps.get().get(&id).cloned())
            .ok_or_else(|| Fail::UnknownSdkAppId(sdkappid.clone()))?;
        let identifier = param("identifier").ok_or(Fail::MissingIdentifier)?;
        let usersig = param("usersig").unwrap_or_default();
        let now = self.engine.clock.now();
        app.verified_sigs.verify(
            &usersig,
            app.sdkappid,
            &identifier,
            app.secret_key.as_bytes(),
            now,
        )?;
        if !app.admins.contains(&identifier) {
            return Err(Fail::NotAdmin(identifier));
        }
        Ok(app)
    }
}

/// The body as a JSON object, whatever the Content-Type.
async fn read_object(body: Body) -> Result<Map<String, Value>, Fail> {
    let bytes = roster_http::read_body(body, MAX_BODY)
        .await
        .map_err(|e| Fail::BadJson(e.to_string()))?;
    if roster_http::json_holds_nul(&bytes) {
        return Err(Fail::BadJson("request body holds a NUL character".into()));
    }
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Fail::BadJson("request body must be a JSON object".into())),
        Err(e) => Err(Fail::BadJson(format!(
            "request body is not valid JSON: {e}"
        ))),
    }
}
