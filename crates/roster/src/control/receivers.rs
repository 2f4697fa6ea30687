//! Callback receivers set and removed at run time (`/_roster/callbacks`), with the seed file's
//! keys: each dialect says where it keeps one and how the vendor checks a new URL. The check
//! is sent (and recorded as a delivery) before anything is stored; then every process reloads.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use roster_core::{Callbacks, Engine, ReceiverError, ReceiverUpdate, Space, StoreError};
use serde_json::{json, Value};

use super::ControlError;
use crate::callbacks::{self, Delivery};
use roster_http::own::error;

struct Receivers {
    engine: Engine,
    dialects: Vec<Arc<dyn Callbacks>>,
    client: reqwest::Client,
}

pub fn router(engine: Engine, dialects: Vec<Arc<dyn Callbacks>>) -> Router {
    let receivers = Receivers {
        engine,
        dialects,
        client: reqwest::Client::new(),
    };
    Router::new()
        .route("/callbacks", get(list))
        .route(
            "/callbacks/{dialect}/{key}",
            get(one).put(set).delete(remove),
        )
        .with_state(Arc::new(receivers))
}

impl Receivers {
    fn dialect(&self, name: &str) -> Result<&dyn Callbacks, ControlError> {
        self.dialects
            .iter()
            .find(|d| d.dialect() == name)
            .map(|d| &**d)
            .ok_or_else(|| ControlError::BadSpaceName(name.to_string()))
    }

    async fn space(&self, dialect: &str, key: &str) -> Result<Space, ControlError> {
        let spaces = self.engine.store.spaces(dialect).await?;
        spaces
            .into_iter()
            .find(|s| s.key == key)
            .ok_or_else(|| ControlError::UnknownSpace(format!("{dialect}/{key}")))
    }

    /// What `space` has now, as its answer.
    fn answer(&self, dialect: &dyn Callbacks, space: &Space) -> Response {
        let receivers = dialect.receivers(space.id);
        Json(json!({ "space": format!("{}/{}", space.dialect, space.key), "receivers": receivers }))
            .into_response()
    }

    /// Check what a new receiver needs checked, store the update, and have every process
    /// read its spaces again.
    async fn apply(&self, space: &Space, update: ReceiverUpdate) -> Result<(), Response> {
        if let Some(check) = &update.verification {
            let tried = callbacks::try_once(
                &self.engine,
                &self.client,
                space,
                &Delivery::from(check),
                (1, None),
                &[],
            )
            .await;
            let (record, accepted) = tried.map_err(|e| ControlError::from(e).into_response())?;
            if !accepted {
                let answer = match (record.status, &record.error) {
                    (Some(status), _) => format!("it answered {status} {:?}", record.response),
                    (None, Some(why)) => format!("no answer: {why}"),
                    (None, None) => "no answer".into(),
                };
                let why = format!(
                    "the URL did not pass the vendor's check ({}): {answer}; nothing changed",
                    check.event
                );
                return Err(error(StatusCode::BAD_REQUEST, &why));
            }
        }
        let store = &self.engine.store;
        match store.apply(update.plan).await {
            // Re-sends still to come were for the receiver as it was.
            Ok(_) => store
                .drop_resends(space.id)
                .await
                .map_err(|e| ControlError::from(e).into_response())?,
            Err(StoreError::Refused { .. }) => {
                let why = "the receiver changed meanwhile; nothing changed, try again";
                return Err(error(StatusCode::CONFLICT, why));
            }
            Err(e) => return Err(ControlError::from(e).into_response()),
        }
        let reloaded = async {
            self.engine.reloads.reload().await?;
            self.engine.coordinator.announce_change().await
        };
        reloaded
            .await
            .map_err(|e| ControlError::from(e).into_response())
    }
}

fn refused(e: ReceiverError) -> Response {
    match e {
        ReceiverError::Invalid(why) => error(StatusCode::BAD_REQUEST, &why),
        ReceiverError::NotFound(why) => error(StatusCode::NOT_FOUND, &why),
        ReceiverError::Store(e) => ControlError::from(e).into_response(),
    }
}

/// `GET /_roster/callbacks`: every space's receivers.
async fn list(State(receivers): State<Arc<Receivers>>) -> Result<Response, ControlError> {
    let mut all = Vec::new();
    for dialect in &receivers.dialects {
        for space in receivers.engine.store.spaces(dialect.dialect()).await? {
            for keys in dialect.receivers(space.id) {
                let name = format!("{}/{}", space.dialect, space.key);
                all.push(json!({ "space": name, "receiver": keys }));
            }
        }
    }
    Ok(Json(json!({ "receivers": all })).into_response())
}

/// `GET /_roster/callbacks/{dialect}/{key}`: the space's receivers.
async fn one(
    State(receivers): State<Arc<Receivers>>,
    Path((dialect, key)): Path<(String, String)>,
) -> Result<Response, ControlError> {
    let callbacks = receivers.dialect(&dialect)?;
    let space = receivers.space(&dialect, &key).await?;
    Ok(receivers.answer(callbacks, &space))
}

/// `PUT /_roster/callbacks/{dialect}/{key}` with the seed file's keys of a receiver.
async fn set(
    State(receivers): State<Arc<Receivers>>,
    Path((dialect, key)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ControlError> {
    let callbacks = receivers.dialect(&dialect)?;
    let space = receivers.space(&dialect, &key).await?;
    let keys: Value = match serde_json::from_slice(&body) {
        Ok(keys @ Value::Object(_)) => keys,
        _ => {
            let why = "expected a JSON object of the seed file's receiver keys";
            return Ok(error(StatusCode::BAD_REQUEST, why));
        }
    };
    let now = receivers.engine.clock.now();
    let update = match callbacks.update_receiver(space.id, &keys, false, now).await {
        Ok(update) => update,
        Err(e) => return Ok(refused(e)),
    };
    Ok(match receivers.apply(&space, update).await {
        Ok(()) => receivers.answer(callbacks, &space),
        Err(refusal) => refusal,
    })
}

/// `DELETE /_roster/callbacks/{dialect}/{key}` (Feishu: `?app_id=`): no more callbacks.
async fn remove(
    State(receivers): State<Arc<Receivers>>,
    Path((dialect, key)): Path<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, ControlError> {
    let callbacks = receivers.dialect(&dialect)?;
    let space = receivers.space(&dialect, &key).await?;
    let now = receivers.engine.clock.now();
    let keys = json!(query);
    let update = match callbacks.update_receiver(space.id, &keys, true, now).await {
        Ok(update) => update,
        Err(e) => return Ok(refused(e)),
    };
    Ok(match receivers.apply(&space, update).await {
        Ok(()) => receivers.answer(callbacks, &space),
        Err(refusal) => refusal,
    })
}
