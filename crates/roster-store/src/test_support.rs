//! Scratch databases for test suites (feature `test-support`).
//!
//! A test run touches only what it made: each scratch database is marked at creation (a
//! comment, [`SCRATCH_MARK`]) and dropped when its [`ScratchDatabase`] is dropped, also when
//! the test panics. A run that is killed leaves its marked databases behind; the next run's
//! sweep drops marked ones older than an hour. No database is ever dropped for its name alone.

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

/// The start of the comment every test harness (this one, and the Python and Node SDK
/// harnesses) puts on the databases it creates, followed by the creation time in Unix seconds.
pub const SCRATCH_MARK: &str = "roster scratch database, created at ";

/// Marked scratch databases older than this are left over from a killed run and swept.
const SCRATCH_MAX_AGE_SECS: u64 = 3600;

/// A fresh, empty database on a test server, dropped with this value.
#[derive(Debug)]
pub struct ScratchDatabase {
    /// The URL of the server's database we connected to first, to drop this one from.
    maintenance: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ScratchDatabase {
    /// Drops the database (ending its connections). Runs on its own thread and runtime, so a
    /// test dropping it inside its own runtime is not blocked by that runtime.
    fn drop(&mut self) {
        let (maintenance, name) = (self.maintenance.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&maintenance).await?;
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                conn.close().await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("could not drop scratch database {}: {error}", self.name);
        }
    }
}

/// A scratch PostgreSQL database on ROSTER_TEST_DATABASE_URL's server, or `None` (said on
/// stderr, naming `suite`) when it is not set.
pub async fn postgres_database(suite: &str) -> Option<ScratchDatabase> {
    Some(scratch_postgres(&postgres_url(suite)?).await)
}

/// One test per backend for each named `async fn(fixture)` of the calling module: modules
/// `sqlite_backend` and `postgres_backend`, the latter skipped (said on stderr) when
/// ROSTER_TEST_DATABASE_URL is not set. `$start` makes the fixture from an
/// `Option<ScratchDatabase>` (`None` is SQLite); without it the test takes that option itself.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $crate::on_both_backends!(::std::future::ready; $($name),*);
    };
    ($start:expr; $($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(($start)(None).await).await } )*
        }
        mod postgres_backend {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   let database =
                       $crate::test_support::postgres_database(stringify!($name)).await;
                   if let Some(database) = database {
                       super::$name(($start)(Some(database)).await).await
                   }
               } )*
        }
    };
}

/// Create a fresh, empty, marked database on the server of `base_url`.
pub async fn scratch_postgres(base_url: &str) -> ScratchDatabase {
    let now = unix_now();
    let name = format!("roster_test_{now}_{:08x}", rand::thread_rng().gen::<u32>());
    let mut conn = sqlx::PgConnection::connect(base_url)
        .await
        .expect("connect to ROSTER_TEST_DATABASE_URL");
    sweep_killed_runs(&mut conn, now).await;
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create scratch database");
    conn.execute(format!("COMMENT ON DATABASE {name} IS '{SCRATCH_MARK}{now}'").as_str())
        .await
        .expect("mark scratch database");
    conn.close().await.ok();
    let (server, _) = base_url.split_once('?').unwrap_or((base_url, ""));
    let server = server.rsplit_once('/').map_or(server, |(s, _)| s);
    ScratchDatabase {
        maintenance: base_url.to_owned(),
        url: format!("{server}/{name}"),
        name,
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Drop the marked scratch databases that a killed run left, and nothing else.
async fn sweep_killed_runs(conn: &mut sqlx::PgConnection, now: u64) {
    let marked: Vec<(String, String)> = sqlx::query_as(
        "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database
         WHERE starts_with(shobj_description(oid, 'pg_database'), $1)",
    )
    .bind(SCRATCH_MARK)
    .fetch_all(&mut *conn)
    .await
    .unwrap_or_default();
    for (name, mark) in marked {
        let created = mark[SCRATCH_MARK.len()..].parse::<u64>().ok();
        if created.is_some_and(|t| now.saturating_sub(t) > SCRATCH_MAX_AGE_SECS) {
            let _ = conn
                .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                .await;
        }
    }
}

/// Apply roster's PostgreSQL migrations below version `below` to the database of `url`, as
/// an older roster left it (a test then adds rows and opens the store, which applies the rest).
pub async fn migrate_postgres_below(url: &str, below: i64) {
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to the scratch database");
    crate::migrate::migrate(&mut conn, below)
        .await
        .expect("apply the older migrations");
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn database_exists(conn: &mut sqlx::PgConnection, name: &str) -> bool {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(conn)
            .await
            .unwrap()
    }

    /// A user's database named like a scratch one survives the sweep; a marked one from a
    /// killed run an hour ago does not; a scratch database is gone once dropped.
    #[tokio::test]
    async fn a_run_drops_only_what_test_runs_made() {
        let Some(base) = postgres_url("a_run_drops_only_what_test_runs_made") else {
            return;
        };
        let mut conn = sqlx::PgConnection::connect(&base).await.unwrap();
        let tag = rand::thread_rng().gen::<u32>();
        let users = format!("roster_eu_1_{tag:08x}");
        let killed = format!("roster_test_1_{tag:08x}");
        let long_ago = unix_now() - 2 * SCRATCH_MAX_AGE_SECS;
        conn.execute(format!("CREATE DATABASE {users}").as_str())
            .await
            .unwrap();
        conn.execute(format!("CREATE DATABASE {killed}").as_str())
            .await
            .unwrap();
        conn.execute(
            format!("COMMENT ON DATABASE {killed} IS '{SCRATCH_MARK}{long_ago}'").as_str(),
        )
        .await
        .unwrap();

        let scratch = scratch_postgres(&base).await;
        let name = scratch.name.clone();
        assert!(
            database_exists(&mut conn, &users).await,
            "a user's database"
        );
        assert!(!database_exists(&mut conn, &killed).await, "a killed run's");
        assert!(database_exists(&mut conn, &name).await);
        drop(scratch);
        assert!(
            !database_exists(&mut conn, &name).await,
            "dropped with its value"
        );

        conn.execute(format!("DROP DATABASE {users} WITH (FORCE)").as_str())
            .await
            .unwrap();
    }
}
