//! roster's control plane under `/_roster/`: what an emulator's users steer it with (spaces,
//! reset, snapshots, the request journal, fault rules). Every route needs the admin token
//! (see [`crate::admin`]).

mod browse;
mod changes;
pub mod faults;
pub mod journal;
pub mod observe;
pub mod receivers;
mod reset;

use std::sync::Arc;

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use roster_core::{Engine, SpaceDump, SpaceName, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::dialects;
use crate::seed::Seed;
use crate::snapshot::{self, SnapshotError};
pub use observe::Observer;
pub use reset::Baseline;
use roster_http::own::error;

/// A snapshot upload is read up to this size.
const MAX_SNAPSHOT: usize = 1 << 30;

pub struct Control {
    engine: Engine,
    baseline: Baseline,
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no space {0}; GET /_roster/spaces lists them")]
    UnknownSpace(String),
    #[error("no delivery attempt {0}; GET /_roster/deliveries lists them")]
    UnknownDelivery(i64),
    #[error("no entity of kind {0:?} with key {1:?} in this space")]
    UnknownEntity(String, String),
    #[error("the page token is not one this list gave out")]
    BadPageToken,
    #[error("{0}")]
    BadQuery(String),
    #[error("space names look like dialect/key (for example tim/1400000001), not {0:?}")]
    BadSpaceName(String),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot build the seed's state: {0}")]
    Baseline(String),
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match &self {
            ControlError::UnknownSpace(_)
            | ControlError::UnknownDelivery(_)
            | ControlError::UnknownEntity(..) => StatusCode::NOT_FOUND,
            ControlError::BadSpaceName(_)
            | ControlError::BadPageToken
            | ControlError::BadQuery(_)
            | ControlError::Snapshot(_)
            | ControlError::Store(StoreError::InvalidDump(_)) => StatusCode::BAD_REQUEST,
            ControlError::Store(_) | ControlError::Baseline(_) => {
                tracing::error!("control plane: {self}");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        error(status, &self.to_string())
    }
}

/// The space of `spaces` that `name` names.
fn named<'a>(
    spaces: &'a [roster_core::Space],
    name: &SpaceName,
) -> Result<&'a roster_core::Space, ControlError> {
    spaces
        .iter()
        .find(|s| s.dialect == name.dialect && s.key == name.key)
        .ok_or_else(|| ControlError::UnknownSpace(name.to_string()))
}

pub fn parse_space_name(text: &str) -> Result<SpaceName, ControlError> {
    match text.split_once('/') {
        Some((dialect, key)) if dialects::names().any(|d| d == dialect) && !key.is_empty() => {
            Ok(SpaceName {
                dialect: dialect.into(),
                key: key.into(),
            })
        }
        _ => Err(ControlError::BadSpaceName(text.into())),
    }
}

impl Control {
    pub fn new(engine: Engine, seed: Arc<Seed>) -> Self {
        Self {
            engine,
            baseline: Baseline::new(seed),
        }
    }

    /// Every space the store holds, by name, with its id.
    async fn spaces(&self) -> Result<Vec<roster_core::Space>, ControlError> {
        let mut all = Vec::new();
        for dialect in dialects::names() {
            all.extend(self.engine.store.spaces(dialect).await?);
        }
        Ok(all)
    }

    /// The named space.
    async fn space(&self, name: &SpaceName) -> Result<roster_core::Space, ControlError> {
        named(&self.spaces().await?, name).cloned()
    }

    /// The dumps of the named spaces (all when `names` is empty).
    pub async fn dump(&self, names: &[SpaceName]) -> Result<Vec<SpaceDump>, ControlError> {
        let spaces = self.spaces().await?;
        let chosen: Vec<&roster_core::Space> = if names.is_empty() {
            spaces.iter().collect()
        } else {
            names
                .iter()
                .map(|name| named(&spaces, name))
                .collect::<Result<_, _>>()?
        };
        let mut dumps = Vec::with_capacity(chosen.len());
        for space in chosen {
            dumps.push(self.engine.store.dump_space(space.id).await?);
        }
        Ok(dumps)
    }

    /// Replace the dumped spaces' contents in one transaction, then let every dialect read
    /// its spaces again (the tokens of the spaces' earlier generation stop working), in this
    /// process at once and in the others on the database as they hear of it.
    pub async fn load(&self, dumps: Vec<SpaceDump>) -> Result<Vec<String>, ControlError> {
        let names = dumps.iter().map(|d| d.space.to_string()).collect();
        self.engine.store.load_spaces(dumps).await?;
        self.engine.reloads.reload().await?;
        self.engine.coordinator.announce_change().await?;
        Ok(names)
    }

    /// Delete everything the named space holds, in one transaction: it is served no more
    /// (until a seed declares it again).
    pub async fn empty(&self, name: SpaceName) -> Result<Vec<String>, ControlError> {
        let space = self.space(&name).await?;
        self.load(vec![SpaceDump {
            limits: space.limits.clone(),
            space: name,
            entities: Vec::new(),
            aliases: Vec::new(),
            edges: Vec::new(),
        }])
        .await
    }

    /// Return the named space (every space of the seed when `None`) to the seed's state.
    pub async fn reset(&self, only: Option<SpaceName>) -> Result<Vec<String>, ControlError> {
        let baseline = self.baseline.dumps().await?;
        let dumps = match only {
            None => baseline.to_vec(),
            Some(name) => vec![baseline
                .iter()
                .find(|d| d.space == name)
                .cloned()
                .ok_or_else(|| ControlError::UnknownSpace(format!("{name} in the seed")))?],
        };
        self.load(dumps).await
    }
}

pub fn router(control: Arc<Control>, observer: Arc<Observer>) -> Router {
    let steering = Router::new()
        .route("/spaces", get(list_spaces))
        .route(
            "/spaces/{dialect}/{key}",
            get(browse::space_summary).delete(empty_space),
        )
        .route(
            "/spaces/{dialect}/{key}/entities",
            get(browse::search_entities),
        )
        .route("/spaces/{dialect}/{key}/entity", get(browse::entity))
        .route("/spaces/{dialect}/{key}/edges", get(browse::edges))
        .route("/spaces/{dialect}/{key}/graph", get(browse::graph))
        .route("/reset", post(reset))
        .route("/snapshot", get(export).post(import))
        .route("/changes", get(changes::list_changes))
        .route("/deliveries", get(changes::list_deliveries))
        .route("/deliveries/{id}/redeliver", post(changes::redeliver))
        .route("/housekeeping", post(changes::housekeep))
        .with_state(control);
    let observing = Router::new()
        .route("/requests", get(list_requests).delete(clear_requests))
        .route(
            "/faults",
            get(list_faults).post(add_faults).delete(clear_faults),
        )
        .route("/faults/{id}", delete(remove_fault))
        .with_state(observer);
    steering.merge(observing)
}

/// `GET /_roster/requests?dialect=&space=&path=&code=&since_ms=&until_ms=&after=&before=&limit=`
async fn list_requests(
    State(observer): State<Arc<Observer>>,
    query: Result<Query<journal::Filter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    match query {
        Ok(Query(filter)) => Json(observer.journal.query(&filter)).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, &e.body_text()),
    }
}

async fn clear_requests(State(observer): State<Arc<Observer>>) -> Response {
    observer.journal.clear();
    Json(json!({ "cleared": true })).into_response()
}

async fn list_faults(State(observer): State<Arc<Observer>>) -> Response {
    Json(json!({ "faults": observer.faults.list() })).into_response()
}

/// `POST /_roster/faults` with one rule, or a list of rules (added all or none).
async fn add_faults(State(observer): State<Arc<Observer>>, body: axum::body::Bytes) -> Response {
    let specs = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(items)) => items,
        Ok(one) => vec![one],
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("expected a JSON rule: {e}"),
            )
        }
    };
    let specs: Vec<faults::RuleSpec> = match specs.into_iter().map(serde_json::from_value).collect()
    {
        Ok(specs) => specs,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid rule: {e}")),
    };
    if let Some(why) = specs.iter().find_map(|s| s.validate().err()) {
        return error(StatusCode::BAD_REQUEST, &why);
    }
    let added: Vec<faults::Rule> = specs
        .into_iter()
        .filter_map(|spec| observer.faults.add(spec).ok())
        .collect();
    (StatusCode::CREATED, Json(json!({ "faults": added }))).into_response()
}

async fn clear_faults(State(observer): State<Arc<Observer>>) -> Response {
    observer.faults.clear();
    Json(json!({ "cleared": true })).into_response()
}

async fn remove_fault(State(observer): State<Arc<Observer>>, Path(id): Path<String>) -> Response {
    match id.parse().ok().filter(|id| observer.faults.remove(*id)) {
        Some(_) => Json(json!({ "removed": id })).into_response(),
        None => error(StatusCode::NOT_FOUND, &format!("no fault rule {id}")),
    }
}

async fn list_spaces(State(control): State<Arc<Control>>) -> Result<Response, ControlError> {
    let spaces: Vec<_> = control
        .spaces()
        .await?
        .into_iter()
        .map(|s| {
            json!({
                "space": format!("{}/{}", s.dialect, s.key),
                "dialect": s.dialect,
                "key": s.key,
                "limits": s.limits,
            })
        })
        .collect();
    Ok(Json(json!({ "spaces": spaces })).into_response())
}

/// `DELETE /_roster/spaces/{dialect}/{key}`: the space's contents, credentials included.
async fn empty_space(
    State(control): State<Arc<Control>>,
    Path((dialect, key)): Path<(String, String)>,
) -> Result<Response, ControlError> {
    let emptied = control
        .empty(parse_space_name(&format!("{dialect}/{key}"))?)
        .await?;
    Ok(Json(json!({ "emptied": emptied })).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    space: Option<String>,
}

/// `POST /_roster/reset` with an optional `{"space": "dialect/key"}`.
async fn reset(
    State(control): State<Arc<Control>>,
    body: axum::body::Bytes,
) -> Result<Response, ControlError> {
    let request: ResetRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ResetRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(e) => {
                let why = format!("expected {{\"space\": \"dialect/key\"}} or no body: {e}");
                return Ok(error(StatusCode::BAD_REQUEST, &why));
            }
        }
    };
    let only = request.space.as_deref().map(parse_space_name).transpose()?;
    let reset = control.reset(only).await?;
    Ok(Json(json!({ "reset": reset })).into_response())
}

/// `GET /_roster/snapshot[?space=dialect/key...]` (`space` repeatable): the snapshot file.
async fn export(
    State(control): State<Arc<Control>>,
    RawQuery(query): RawQuery,
) -> Result<Response, ControlError> {
    let mut names = Vec::new();
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if name != "space" {
            let why = format!("unknown parameter {name:?}; the only one is space=dialect/key");
            return Ok(error(StatusCode::BAD_REQUEST, &why));
        }
        names.push(parse_space_name(&value)?);
    }
    let file = snapshot::write(&control.dump(&names).await?);
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], file).into_response())
}

/// `POST /_roster/snapshot` with a snapshot file: its spaces replace theirs, in one transaction.
async fn import(
    State(control): State<Arc<Control>>,
    body: axum::body::Body,
) -> Result<Response, ControlError> {
    let bytes = match roster_http::read_body(body, MAX_SNAPSHOT).await {
        Ok(bytes) => bytes,
        Err(e) => return Ok(error(StatusCode::PAYLOAD_TOO_LARGE, &e.to_string())),
    };
    let loaded = control.load(snapshot::read(&bytes)?).await?;
    Ok(Json(json!({ "loaded": loaded })).into_response())
}
