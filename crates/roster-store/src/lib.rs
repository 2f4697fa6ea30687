//! roster-core's [`Store`] on SQL: SQLite (embedded, one file, WAL) through rusqlite, and
//! PostgreSQL through sqlx. What a write plan does is decided once ([`exec`]); each backend
//! offers the statements.

/// The columns a row of `entities` is read with, in the order both backends decode them.
macro_rules! entity_columns {
    () => {
        "id, space_id, kind, key, attrs, owner_id, created_at, updated_at"
    };
}

mod browse;
mod changes;
mod citus;
mod coordination;
mod dumps;
mod exec;
mod lookup;
mod migrate;
mod paging;
mod reads;
mod sqlite;
mod store_impl;
mod writes;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool, Postgres};

use roster_core::StoreError;

pub use roster_core::Store;

/// Open (creating if needed) `roster.db` inside `dir`.
pub async fn open_sqlite_dir(dir: &Path) -> Result<Arc<dyn Store>, StoreError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| backend(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join("roster.db");
    let store = tokio::task::spawn_blocking(move || sqlite::SqliteStore::open(&path))
        .await
        .map_err(backend)??;
    Ok(Arc::new(store))
}

/// PostgreSQL with a pool of [`default_postgres_pool`] connections.
pub async fn open_postgres(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(
        PgStore::open_postgres(url, default_postgres_pool()).await?,
    ))
}

/// How many connections a PostgreSQL store keeps at most unless told: four per core, at
/// least 16. A write holds its connection from `BEGIN` to `COMMIT`, mostly waiting for the
/// server, so several per core keep the server's cores and its group commits busy.
pub fn default_postgres_pool() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    (4 * cores).max(16)
}

/// `postgres://` and `postgresql://` URLs select PostgreSQL, with a pool of `postgres_pool`
/// connections (`None`: [`default_postgres_pool`]); anything else is a SQLite data directory.
pub async fn open(
    database: &str,
    postgres_pool: Option<u32>,
) -> Result<Arc<dyn Store>, StoreError> {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        let pool = postgres_pool.unwrap_or_else(default_postgres_pool);
        Ok(Arc::new(PgStore::open_postgres(database, pool).await?))
    } else {
        open_sqlite_dir(Path::new(database)).await
    }
}

/// How long a pooled PostgreSQL connection may sit idle and still be handed out unchecked.
const PING_AFTER_IDLE: Duration = Duration::from_secs(5);

/// The Store on PostgreSQL: READ COMMITTED write transactions that lock the entity and counter
/// rows an edge batch decides on, in one order, so caps and reciprocal edges stay exact under
/// concurrent writers and several roster processes without serialization failures.
pub(crate) struct PgStore {
    pool: PgPool,
    names: Arc<writes::Names>,
    coordinator: Arc<coordination::PgCoordinator>,
}

impl PgStore {
    async fn open_postgres(url: &str, pool: u32) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(pool.max(1))
            .acquire_timeout(Duration::from_secs(30))
            // sqlx pings every connection it hands out, a round trip as long as a page's
            // statement; one in use within the last seconds is taken as alive (a broken one
            // fails its statement and is dropped), one idle longer is pinged first.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect(url)
            .await
            .map_err(backend)?;
        // Shown from the start, not only after a first retry.
        metrics::counter!("roster_postgres_write_retries_total").increment(0);
        let store = Self {
            coordinator: Arc::new(coordination::PgCoordinator { pool: pool.clone() }),
            pool,
            names: Arc::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Run `body`, a write transaction that begins and ends itself, on a pooled connection,
    /// retrying when the database reports a conflict with a concurrent transaction. When
    /// `body` fails, its transaction is rolled back before the connection goes back to the
    /// pool; when it is dropped unfinished (its call was cancelled), the connection is closed,
    /// which rolls back.
    async fn write<T, F>(&self, body: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> Fn(&'c mut PgConnection) -> writes::TxFuture<'c, T> + Send + Sync + 'static,
    {
        const MAX_ATTEMPTS: u32 = 50;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let waiting = std::time::Instant::now();
            let result = match self.pool.acquire().await {
                Ok(conn) => {
                    metrics::histogram!("roster_postgres_pool_wait_seconds")
                        .record(waiting.elapsed().as_secs_f64());
                    let mut conn = Held(Some(conn));
                    let result = body(conn.connection()).await;
                    if result.is_ok() || rollback(conn.connection()).await.is_ok() {
                        conn.release();
                    }
                    result
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(value) => return Ok(value),
                Err(e) if is_conflict(&e) && attempt < MAX_ATTEMPTS => {
                    tracing::debug!(attempt, "write conflict, retrying: {e}");
                    metrics::counter!("roster_postgres_write_retries_total").increment(1);
                    tokio::time::sleep(Duration::from_millis(u64::from(attempt.min(20)))).await;
                }
                Err(e) => return Err(backend(e)),
            }
        }
    }
}

/// A pooled connection a write transaction may be open on: dropped, it is closed (the server
/// rolls the transaction back) instead of going back to the pool, unless released.
struct Held(Option<PoolConnection<Postgres>>);

impl Held {
    fn connection(&mut self) -> &mut PgConnection {
        self.0.as_mut().expect("held until released")
    }

    /// Back to the pool: no transaction is open on it.
    fn release(mut self) {
        self.0.take();
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(conn) = &mut self.0 {
            conn.close_on_drop();
        }
    }
}

/// Roll back what a failed write transaction left open (a `WARNING` only if nothing is).
async fn rollback(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::Executor::execute(conn, sqlx::raw_sql("ROLLBACK")).await?;
    Ok(())
}

fn is_conflict(e: &sqlx::Error) -> bool {
    match e {
        // 40001 serialization_failure, 40P01 deadlock_detected. Keys are inserted ON CONFLICT
        // DO NOTHING under the rows' locks, so a unique violation is a bug to report at once.
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("40001" | "40P01")),
        _ => false,
    }
}

/// Count a plan's end in `roster_store_writes_total{backend, outcome}`.
fn count_write<T>(backend: &'static str, result: &Result<T, StoreError>) {
    let outcome = match result {
        Ok(_) => "applied",
        Err(StoreError::Refused { .. }) => "refused",
        Err(_) => "failed",
    };
    metrics::counter!("roster_store_writes_total", "backend" => backend, "outcome" => outcome)
        .increment(1);
}

/// A new random secret: 32 bytes as hex.
fn fresh_secret() -> String {
    (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

/// The edges keyed by their end opposite `entity`, which is on the side `direction` looks from.
fn by_other_end(
    edges: impl IntoIterator<Item = roster_core::Edge>,
    direction: roster_core::Direction,
) -> std::collections::HashMap<roster_core::EntityId, roster_core::Edge> {
    use roster_core::Direction;
    edges
        .into_iter()
        .map(|edge| match direction {
            Direction::Members => (edge.member, edge),
            Direction::Memberships => (edge.subject, edge),
        })
        .collect()
}

fn backend(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::backend(e)
}

#[cfg(feature = "test-support")]
pub mod test_support;
