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

/// Create a fresh, empty database on the server of `base_url` and return its URL.
pub async fn scratch_postgres(base_url: &str) -> String {
    sqlx::any::install_default_drivers();
    let name = format!("roster_test_{:016x}", rand::thread_rng().gen::<u64>());
    let mut conn = sqlx::AnyConnection::connect(base_url)
        .await
        .expect("connect to ROSTER_TEST_DATABASE_URL");
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create scratch database");
    let (server, _) = base_url
        .split_once('?')
        .map_or((base_url, ""), |(a, b)| (a, b));
    let server = server.rsplit_once('/').map_or(server, |(s, _)| s);
    format!("{server}/{name}")
}
