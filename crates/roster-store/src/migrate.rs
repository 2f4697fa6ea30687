use sqlx::{Connection, Executor, PgConnection, Postgres};

use crate::{backend, PgStore, StoreError};

/// Ordered migrations; a migration never changes once released.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../migrations/postgres/0002_lean_edges.sql"),
    ),
    (
        3,
        include_str!("../migrations/postgres/0003_references_by_key.sql"),
    ),
    (
        4,
        include_str!("../migrations/postgres/0004_coordination.sql"),
    ),
    (5, include_str!("../migrations/postgres/0005_changes.sql")),
    (
        6,
        include_str!("../migrations/postgres/0006_space_generation.sql"),
    ),
    (
        7,
        include_str!("../migrations/postgres/0007_durable_resends.sql"),
    ),
    (
        8,
        include_str!("../migrations/postgres/0008_distribution_keys.sql"),
    ),
    (
        10,
        include_str!("../migrations/postgres/0010_plain_sequences.sql"),
    ),
    (
        11,
        include_str!("../migrations/postgres/0011_change_horizons.sql"),
    ),
    (
        12,
        include_str!("../migrations/postgres/0012_paged_edges.sql"),
    ),
];

impl PgStore {
    /// Apply every migration not applied yet, then place the tables on Citus when the
    /// database has it.
    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        migrate(&mut conn, i64::MAX).await.map_err(backend)
    }
}

/// Apply the migrations below version `below` not applied yet; with all of them, place the
/// tables on Citus (see [`crate::citus`]).
pub(crate) async fn migrate(conn: &mut PgConnection, below: i64) -> Result<(), sqlx::Error> {
    // Processes starting at once would race to create the table (a unique violation in the
    // catalog): one at a time.
    let mut tx = conn.begin().await?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('roster/migrations', 0))")
        .await?;
    tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
        .await?;
    tx.commit().await?;
    for (version, sql) in MIGRATIONS.iter().filter(|(version, _)| *version < below) {
        let mut tx = locked(conn).await?;
        let applied: Option<(i64,)> =
            sqlx::query_as("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
        if applied.is_some() {
            continue;
        }
        // The whole file in one simple-protocol round trip: statements and comments as
        // written, no splitting on semicolons.
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
            .bind(version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version, "applied migration");
    }
    if below == i64::MAX {
        let mut tx = locked(conn).await?;
        crate::citus::place_tables(&mut tx).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// A transaction holding the migration lock: several roster processes may start at once
/// against one database.
async fn locked(conn: &mut PgConnection) -> Result<sqlx::Transaction<'_, Postgres>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    tx.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
        .await?;
    Ok(tx)
}
