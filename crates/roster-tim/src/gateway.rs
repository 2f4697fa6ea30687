//! `/v4/<service>/<command>`: the request line, authentication and dispatch (spec §1).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::Method;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use roster_core::{Engine, Live, Reload, StoreError};
use roster_http::{DialectWire, Mounted, Wire};
use serde_json::{Map, Value};

use crate::app::{App, DIALECT};
use crate::callback::TimCallbacks;
use crate::state::{Call, Tim};
use crate::wire::{self, code, Fail, Fields, Service};
use crate::{accounts, follow};

/// Request bodies are small (at most 100 items of 32-byte ids); larger ones are refused
/// before they are buffered.
const MAX_BODY: usize = 1 << 20;

/// The app's plan or console switch does not include follows (a seed flag here).
const FOLLOW_DISABLED: u32 = 30005;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    AccountImport,
    MultiaccountImport,
    AccountDelete,
    AccountCheck,
    FollowAdd,
    FollowDelete,
    FollowCheck,
    FollowGet,
    FollowGetInfo,
}

impl Command {
    pub(crate) const ALL: [Command; 9] = [
        Command::AccountImport,
        Command::MultiaccountImport,
        Command::AccountDelete,
        Command::AccountCheck,
        Command::FollowAdd,
        Command::FollowDelete,
        Command::FollowCheck,
        Command::FollowGet,
        Command::FollowGetInfo,
    ];

    /// `service/command` after `/v4/`; names are case-sensitive.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Command::AccountImport => "im_open_login_svc/account_import",
            Command::MultiaccountImport => "im_open_login_svc/multiaccount_import",
            Command::AccountDelete => "im_open_login_svc/account_delete",
            Command::AccountCheck => "im_open_login_svc/account_check",
            Command::FollowAdd => "follow/follow_add",
            Command::FollowDelete => "follow/follow_delete",
            Command::FollowCheck => "follow/follow_check",
            Command::FollowGet => "follow/follow_get",
            Command::FollowGetInfo => "follow/follow_get_info",
        }
    }

    fn from_path(path: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|command| command.path() == path)
    }

    fn service(self) -> Service {
        match self {
            Command::AccountImport
            | Command::MultiaccountImport
            | Command::AccountDelete
            | Command::AccountCheck => Service::Account,
            _ => Service::Follow,
        }
    }

    async fn run(self, call: Call<'_>) -> Result<Response, Fail> {
        match self {
            Command::AccountImport => accounts::account_import(call).await,
            Command::MultiaccountImport => accounts::multiaccount_import(call).await,
            Command::AccountDelete => accounts::account_delete(call).await,
            Command::AccountCheck => accounts::account_check(call).await,
            Command::FollowAdd => follow::follow_add(call).await,
            Command::FollowDelete => follow::follow_delete(call).await,
            Command::FollowCheck => follow::follow_check(call).await,
            Command::FollowGet => follow::follow_get(call).await,
            Command::FollowGetInfo => follow::follow_get_info(call).await,
        }
    }
}

/// Everything under `/v4`, the dialect as roster's control plane sees it, and the apps'
/// webhooks.
pub async fn mount(engine: Engine) -> Result<Mounted, StoreError> {
    let apps = Live::new(App::load_all(&engine).await?);
    let tim = Arc::new(Tim {
        engine: engine.clone(),
        apps,
    });
    let reload: Arc<dyn Reload> = tim.clone();
    engine.reloads.register(Arc::downgrade(&reload));
    let wire = DialectWire {
        name: DIALECT,
        prefix: "/v4",
        wire: tim.clone(),
    };
    let callbacks = Arc::new(TimCallbacks { tim: tim.clone() });
    let router = Router::new()
        .route("/v4", any(handle))
        .route("/v4/", any(handle))
        .route("/v4/{*command}", any(handle))
        .with_state(tim);
    Ok(Mounted {
        router,
        admin: Router::new(),
        wires: vec![wire],
        callbacks,
    })
}

impl Wire for Tim {
    fn space_of(&self, request: &mut Parts) -> Option<String> {
        let app = self.authenticate(request.uri.query().unwrap_or("")).ok()?;
        Some(format!("{DIALECT}/{}", app.sdkappid))
    }

    /// One route serves every command: each known command is a route of its own.
    fn route_of(&self, request: &Parts) -> Option<String> {
        let path = request.uri.path();
        Command::from_path(path.strip_prefix("/v4/")?).map(|_| path.to_string())
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
        fields.insert("ErrorCode".into(), code::HTTP_PARSE.into());
        fields.insert("ErrorInfo".into(), reason.into());
        self.error_response(fields, Some(status))
    }
}

async fn handle(State(tim): State<Arc<Tim>>, request: Request) -> Response {
    let path = request.uri().path().strip_prefix("/v4/").unwrap_or("");
    let Some(command) = Command::from_path(path) else {
        let info = format!("no such API: {}", request.uri().path());
        return wire::fail(None, &Fail::new(code::UNKNOWN_COMMAND, info));
    };
    let service = command.service();
    match tim.call(command, request).await {
        Ok(response) => response,
        Err(fail) => wire::fail(Some(service), &fail),
    }
}

impl Tim {
    /// Gateway checks in the order of spec §1.6, then the command.
    async fn call(&self, command: Command, request: Request) -> Result<Response, Fail> {
        let (parts, body) = request.into_parts();
        // POST per the docs; some clients send GET with the same JSON body.
        if parts.method != Method::POST && parts.method != Method::GET {
            return Err(Fail::new(
                code::HTTP_PARSE,
                format!("method {} is not supported; use POST", parts.method),
            ));
        }
        let app = self.authenticate(parts.uri.query().unwrap_or(""))?;
        if command.service() == Service::Follow && !app.follow_enabled {
            return Err(Fail::new(
                FOLLOW_DISABLED,
                "the follow feature is not enabled for this app (seed: follow_enabled = false)",
            ));
        }
        let body = read_object(body).await?;
        let call = Call {
            engine: &self.engine,
            app: &app,
            body: Fields::new(&body, command.service()),
        };
        command.run(call).await
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
        let sdkappid = param("sdkappid")
            .ok_or_else(|| Fail::new(code::MISSING_SDKAPPID, "sdkappid is missing from the URL"))?;
        let app = sdkappid
            .parse::<u64>()
            .ok()
            .and_then(|id| self.apps.get().get(&id).cloned())
            .ok_or_else(|| {
                Fail::new(
                    code::UNKNOWN_SDKAPPID,
                    format!("invalid sdkappid {sdkappid}"),
                )
            })?;
        let identifier = param("identifier").ok_or_else(|| {
            Fail::new(
                code::MISSING_IDENTIFIER,
                "identifier is missing from the URL",
            )
        })?;
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
            return Err(Fail::new(
                code::NEEDS_ADMIN,
                format!(
                    "{identifier} is not an App admin; REST API requests need App admin permission"
                ),
            ));
        }
        Ok(app)
    }
}

/// The body as a JSON object, whatever the Content-Type.
async fn read_object(body: Body) -> Result<Map<String, Value>, Fail> {
    let bytes = roster_http::read_body(body, MAX_BODY)
        .await
        .map_err(|e| Fail::new(code::BAD_JSON, e.to_string()))?;
    if roster_http::json_holds_nul(&bytes) {
        return Err(Fail::new(
            code::BAD_JSON,
            "request body holds a NUL character",
        ));
    }
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Fail::new(
            code::BAD_JSON,
            "request body must be a JSON object",
        )),
        Err(e) => Err(Fail::new(
            code::BAD_JSON,
            format!("request body is not valid JSON: {e}"),
        )),
    }
}
