//! roster-core's [`Store`] on SQL: SQLite (embedded, one file, WAL) and PostgreSQL.
//!
//! Both backends run the same queries through sqlx's `Any` driver; only the migrations, the
//! connection set-up and the transaction discipline differ (see [`Backend`]).

mod exec;
mod group;
mod lookup;
mod migrate;
mod reads;
mod store_impl;
mod writes;

use std::path::Path;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyConnection;
use sqlx::{AnyPool, Executor};

use roster_core::StoreError;

pub use roster_core::Store;

/// Which SQL engine is behind the pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One writer connection (SQLite allows one writer at a time anyway; queueing in the pool is
    /// cheaper than lock retries) and several reader connections in WAL mode.
    Sqlite,
    /// READ COMMITTED write transactions that lock the entity and counter rows an edge batch
    /// decides on, in one order, so caps and reciprocal edges stay exact under concurrent
    /// writers and several roster processes without serialization failures.
    Postgres,
}

pub struct SqlStore {
    backend: Backend,
    writer: AnyPool,
    reader: AnyPool,
    /// SQLite's write transactions, batched under one COMMIT.
    group: Option<group::GroupCommit>,
}

const SQLITE_PRAGMAS: [&str; 4] = [
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
];

impl SqlStore {
    /// Open (creating if needed) `roster.db` inside `dir`.
    pub async fn open_sqlite_dir(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| backend(format!("cannot create {}: {e}", dir.display())))?;
        Self::open_sqlite_file(&dir.join("roster.db")).await
    }

    pub async fn open_sqlite_file(path: &Path) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let pool = |max| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(30))
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        for pragma in SQLITE_PRAGMAS {
                            conn.execute(pragma).await?;
                        }
                        Ok(())
                    })
                })
                .connect(&url)
        };
        let writer = pool(1).await.map_err(backend)?;
        let store = Self {
            backend: Backend::Sqlite,
            group: Some(group::GroupCommit::start(writer.clone())),
            writer,
            reader: pool(4).await.map_err(backend)?,
        };
        store.migrate().await?;
        Ok(store)
    }

    pub async fn open_postgres(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await
            .map_err(backend)?;
        let store = Self {
            backend: Backend::Postgres,
            writer: pool.clone(),
            reader: pool,
            group: None,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// `postgres://` and `postgresql://` URLs select PostgreSQL; anything else is a SQLite
    /// data directory.
    pub async fn open(database: &str) -> Result<Self, StoreError> {
        if database.starts_with("postgres://") || database.starts_with("postgresql://") {
            Self::open_postgres(database).await
        } else {
            Self::open_sqlite_dir(Path::new(database)).await
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Wait for in-flight work and close every connection (SQLite checkpoints its WAL).
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    /// Run `body` in a write transaction (on SQLite, in the next group commit), retrying when
    /// the database reports a conflict with a concurrent transaction. The body returns its
    /// value and whether to commit.
    async fn write<T, F>(&self, body: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> Fn(&'c mut AnyConnection) -> writes::TxFuture<'c, T> + Send + Sync + 'static,
    {
        if let Some(group) = &self.group {
            return group.write(body).await;
        }
        const MAX_ATTEMPTS: u32 = 50;
        let mut attempt = 0;
        loop {
            attempt += 1;
            // READ COMMITTED: edge batches lock the rows they decide on (see writes.rs).
            let mut tx = self.writer.begin().await.map_err(backend)?;
            let result = match body(&mut tx).await {
                Ok((value, true)) => tx.commit().await.map(|_| value),
                Ok((value, false)) => tx.rollback().await.map(|_| value),
                Err(e) => Err(e),
            };
            match result {
                Ok(value) => return Ok(value),
                Err(e) if is_conflict(&e) && attempt < MAX_ATTEMPTS => {
                    tracing::debug!(attempt, "write conflict, retrying: {e}");
                    tokio::time::sleep(Duration::from_millis(u64::from(attempt.min(20)))).await;
                }
                Err(e) => return Err(backend(e)),
            }
        }
    }
}

fn is_conflict(e: &sqlx::Error) -> bool {
    match e {
        // 40001 serialization_failure, 40P01 deadlock_detected (PostgreSQL); 5/517 SQLITE_BUSY.
        // 23505 unique_violation: a concurrent transaction inserted a row this one could not
        // see (reciprocal edges are inserted without a read first); on retry the write sees it.
        sqlx::Error::Database(db) => {
            matches!(
                db.code().as_deref(),
                Some("40001" | "40P01" | "23505" | "5" | "517")
            )
        }
        _ => false,
    }
}

fn backend(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::backend(e)
}

/// `$start, $start+1, ...` for `n` values (both backends accept numbered placeholders).
fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(feature = "test-support")]
pub mod test_support;
