//! Start-up (store, migrations, seed), router assembly and the HTTP/1.1 listener.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use roster_core::{Callbacks, Clock, Engine, Retention};
use roster_http::{DialectWire, MountOptions};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use crate::admin;
use crate::callbacks;
use crate::control::faults::Faults;
use crate::control::journal::{Journal, JournalLimits};
use crate::control::observe::observe;
use crate::control::{self, Control, Observer};
use crate::dialects::DIALECTS;
use crate::housekeeping;
use crate::metrics;
use crate::openapi;
use crate::refusals::Refusals;
use crate::seed::Seed;
use crate::snapshot;
use crate::tls::{Tls, TlsSource};

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// SQLite data directory, used when `database` is not a PostgreSQL URL.
    pub data: PathBuf,
    /// A `postgres://` URL; `None` selects the SQLite file in `data`.
    pub database: Option<String>,
    /// Connections to PostgreSQL at most; `None`: `roster_store::default_postgres_pool`.
    pub postgres_pool: Option<u32>,
    /// Seed file; `None` applies the built-in demo seed.
    pub seed: Option<PathBuf>,
    /// A snapshot file loaded after the seed (its spaces replace the seed's).
    pub snapshot: Option<PathBuf>,
    /// How much of the recent traffic the request journal keeps.
    pub journal: JournalLimits,
    pub admin_token: String,
    /// Serve HTTPS instead of HTTP.
    pub tls: Option<TlsSource>,
    /// Multiplies the waits between the re-sends of a failed callback (tests shorten them).
    pub callback_retry_scale: f64,
    /// How long the change log, callback attempts and tombstones are kept.
    pub changes_retention: Retention,
}

/// A server that is accepting connections.
pub struct Running {
    pub addr: SocketAddr,
    pub seed: Arc<Seed>,
    pub tls: Option<Tls>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn base_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Stop accepting, let in-flight requests finish, close the database.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.done.await;
    }

    /// Run until `signal` resolves, then shut down gracefully.
    pub async fn until(self, signal: impl Future<Output = ()>) {
        signal.await;
        tracing::info!("shutting down");
        self.shutdown().await;
    }
}

/// Open the store, migrate, apply the seed, and start listening.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    metrics::install();
    let store = match &config.database {
        Some(url) => roster_store::open(url, config.postgres_pool).await?,
        None => roster_store::open_sqlite_dir(&config.data).await?,
    };
    let mut engine = Engine::new(store.clone(), Arc::new(Clock::default())).await?;
    engine.retention = config.changes_retention;
    let seed = Arc::new(Seed::load(config.seed.as_deref())?);
    {
        // One process at a time applies its seed; the others then read what it wrote.
        let _seeding = engine.coordinator.hold_long(SEEDING).await?;
        seed.apply(&engine).await?;
        engine.coordinator.announce_change().await?;
    }
    let control = Arc::new(Control::new(engine.clone(), seed.clone()));
    if let Some(path) = &config.snapshot {
        let file = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("cannot read snapshot {}: {e}", path.display()))?;
        let loaded = control.load(snapshot::read(&file)?).await?;
        tracing::info!(spaces = ?loaded, "loaded snapshot {}", path.display());
    }
    let (app, wires, dialects) = app(engine.clone(), control, &config, &seed).await?;
    let workers = callbacks::start(engine.clone(), dialects).await?;
    let housekeeping = housekeeping::start(engine.clone());
    let follower = follow_changes(engine).await?;

    let tls = match &config.tls {
        Some(source) => Some(Tls::load(source, &config.data)?),
        None => None,
    };
    let acceptor = tls.as_ref().map(|tls| tls.acceptor.clone());

    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel();
    let done = tokio::spawn(async move {
        serve(listener, app, wires, acceptor, stopped).await;
        if let Some(follower) = follower {
            follower.abort();
        }
        for worker in workers {
            worker.abort();
        }
        housekeeping.abort();
        store.close().await;
    });
    Ok(Running {
        addr,
        seed,
        tls,
        stop: Some(stop),
        done,
    })
}

/// The exclusive section seeding takes, across processes.
const SEEDING: &str = "roster/seeding";

/// Reload the dialects' spaces whenever a roster process on the database announces a change
/// (a seed applied, a reset, a snapshot load); nothing to follow when one process owns it.
async fn follow_changes(engine: Engine) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(mut changes) = engine.coordinator.changes().await? else {
        return Ok(None);
    };
    Ok(Some(tokio::spawn(async move {
        while changes.recv().await.is_some() {
            if let Err(e) = engine.reloads.reload().await {
                tracing::error!("cannot reload the spaces after a change: {e}");
            }
        }
    })))
}

async fn app(
    engine: Engine,
    control: Arc<Control>,
    config: &Config,
    seed: &Seed,
) -> anyhow::Result<(Router, Arc<[DialectWire]>, Vec<Arc<dyn Callbacks>>)> {
    let options = MountOptions {
        retry_scale: config.callback_retry_scale,
    };
    let (mut served, mut admin_routes) = (Router::new(), Router::new());
    let (mut wires, mut dialects) = (Vec::new(), Vec::<Arc<dyn Callbacks>>::new());
    for dialect in DIALECTS {
        let mounted = dialect.mount(engine.clone(), options).await?;
        served = served.merge(mounted.router);
        admin_routes = admin_routes.merge(mounted.admin);
        wires.extend(mounted.wires);
        dialects.push(mounted.callbacks);
    }
    let observer = Arc::new(Observer {
        journal: Journal::new(config.journal),
        faults: Faults::default(),
        wires,
    });
    let refusals: Arc<[DialectWire]> = observer.wires.clone().into();
    for rule in &seed.faults {
        observer
            .faults
            .add(rule.clone())
            .map_err(|why| anyhow::anyhow!("fault rule of the seed: {why}"))?;
    }
    let openapi = openapi::document_of(DIALECTS.map(|dialect| dialect.openapi()));
    let admin_token: Arc<str> = config.admin_token.clone().into();
    let admin = Router::new()
        .merge(admin::router(engine.clock.clone()))
        .merge(control::router(control, observer.clone()))
        .merge(control::receivers::router(engine.clone(), dialects.clone()))
        .merge(admin_routes)
        .layer(middleware::from_fn_with_state(
            admin_token,
            admin::require_token,
        ))
        // The console's page holds no data; its script calls the routes above with the token.
        .nest("/console", roster_console::router())
        // The document needs no token either: tools fetch it before they know any.
        .route("/openapi.json", get(openapi::serve(&openapi)));
    // roster's own routes refuse in roster's envelope.
    let own = Router::new()
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/readyz", get(readyz).with_state(engine))
        .route("/metrics", get(metrics::render))
        .nest("/_roster", admin)
        .layer(middleware::from_fn(roster_http::own::json_answers));
    let router = Router::new()
        .merge(own)
        .merge(served)
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                Json(json!({ "error": "no such route" })),
            )
                .into_response()
        })
        .layer(middleware::from_fn_with_state(observer, observe))
        .layer(middleware::from_fn(roster_http::drain_unread));
    Ok((router, refusals, dialects))
}

/// Ready once the database answers: for orchestrators and load balancers.
async fn readyz(State(engine): State<Engine>) -> Response {
    match engine.store.spaces(DIALECTS[0].name()).await {
        Ok(_) => Json(json!({ "status": "ready" })).into_response(),
        Err(e) => {
            tracing::warn!("not ready: {e}");
            let body = json!({ "status": "unavailable", "error": e.to_string() });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// How long a client may take to finish its TLS handshake.
const TLS_HANDSHAKE: Duration = Duration::from_secs(10);
/// How long a connection may wait for a request's head to arrive in full (hyper counts an idle
/// keep-alive connection as waiting for the next head): nginx's default keep-alive timeout,
/// so that neither a client that stalls mid-head nor one that went away holds a connection.
const HEAD_READ: Duration = Duration::from_secs(75);
/// The largest request head (request line and headers) accepted; a larger one gets 431. Set
/// explicitly: without it hyper refuses only a head that outgrows its read buffer before it
/// is complete, so whether a head of this size passed depended on how it arrived.
const HEAD_MAX: usize = 400 * 1024;
/// How long a shutdown waits for the requests in flight. Under the 30 s most supervisors
/// (systemd, Kubernetes, test harnesses) give a process between SIGTERM and SIGKILL.
const DRAIN: Duration = Duration::from_secs(10);

/// HTTP/1.1 (over TLS when `tls` is given) with Title-Case response header names: the Python
/// SDKs look headers up case-sensitively (`Content-Type`, `X-Tt-Logid`).
async fn serve(
    listener: TcpListener,
    app: Router,
    wires: Arc<[DialectWire]>,
    tls: Option<TlsAcceptor>,
    mut stop: oneshot::Receiver<()>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let (app, wires, watcher) = (app.clone(), wires.clone(), graceful.watcher());
                match tls.clone() {
                    None => {
                        tokio::spawn(serve_connection(stream, app, wires, watcher));
                    }
                    Some(tls) => {
                        tokio::spawn(async move {
                            match tokio::time::timeout(TLS_HANDSHAKE, tls.accept(stream)).await {
                                Ok(Ok(stream)) => serve_connection(stream, app, wires, watcher).await,
                                Ok(Err(e)) => tracing::debug!("TLS handshake failed: {e}"),
                                Err(_) => tracing::debug!("TLS handshake timed out"),
                            }
                        });
                    }
                }
            }
            _ = &mut stop => break,
        }
    }
    drop(listener);
    let connections = graceful.count();
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            connections,
            "connections still busy after {DRAIN:?}; closing them"
        );
    }
}

/// One connection; hyper's own refusals on it are rewritten in the dialects' envelopes.
async fn serve_connection<I>(io: I, app: Router, wires: Arc<[DialectWire]>, watcher: Watcher)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = hyper::server::conn::http1::Builder::new()
        .title_case_headers(true)
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_READ)
        .max_header_size(HEAD_MAX)
        .serve_connection(
            TokioIo::new(Refusals::new(io, wires)),
            TowerToHyperService::new(app),
        );
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!("connection closed with error: {e}");
    }
}
