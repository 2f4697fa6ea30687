//! Scratch databases for test suites (feature `test-support`).

use rand::Rng;
use sqlx::{Connection, Executor};

/// The PostgreSQL server tests should use, from `ROSTER_TEST_DATABASE_URL`; `None` (and a note
/// on stderr) when it is not set, so suites say plainly that they skipped PostgreSQL.
pub fn postgres_url(suite: &str) -> Option<String> {
    match std::env::var("ROSTER_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("SKIPPED {suite} on PostgreSQL: ROSTER_TEST_DATABASE_URL is not set");
            None
        }
    }
}

/// Scratch databases are named `roster_<suite>_<unix seconds>_<random>`; ones older than this
/// are left over from earlier runs and dropped.
const SCRATCH_MAX_AGE_SECS: u64 = 3600;

/// Create a fresh, empty database on the server of `base_url` and return its URL.
pub async fn scratch_postgres(base_url: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = format!("roster_test_{now}_{:08x}", rand::thread_rng().gen::<u32>());
    let mut conn = sqlx::PgConnection::connect(base_url)
        .await
        .expect("connect to ROSTER_TEST_DATABASE_URL");
    drop_stale_scratch_databases(&mut conn, now).await;
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create scratch database");
    let (server, _) = base_url
        .split_once('?')
        .map_or((base_url, ""), |(a, b)| (a, b));
    let server = server.rsplit_once('/').map_or(server, |(s, _)| s);
    format!("{server}/{name}")
}

async fn drop_stale_scratch_databases(conn: &mut sqlx::PgConnection, now: u64) {
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'roster\\_%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for (name,) in names {
        let created = name.split('_').nth(2).and_then(|s| s.parse::<u64>().ok());
        if created.is_some_and(|t| now.saturating_sub(t) > SCRATCH_MAX_AGE_SECS) {
            let _ = conn
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await;
        }
    }
}
