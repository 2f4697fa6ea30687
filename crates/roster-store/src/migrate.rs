use sqlx::Executor;

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
];

impl PgStore {
    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        // Processes starting at once would race to create the table (a unique violation in
        // the catalog): one at a time.
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(backend)?;
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('roster/migrations', 0))")
            .await
            .map_err(backend)?;
        tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        for (version, sql) in MIGRATIONS {
            let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(backend)?;
            // Several roster processes may start at once against one database.
            tx.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
                .await
                .map_err(backend)?;
            let applied: Option<(i64,)> =
                sqlx::query_as("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?;
            if applied.is_some() {
                continue;
            }
            // The whole file in one simple-protocol round trip: statements and comments as
            // written, no splitting on semicolons.
            sqlx::raw_sql(sql)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            tx.commit().await.map_err(backend)?;
            tracing::info!(version, "applied migration");
        }
        Ok(())
    }
}
