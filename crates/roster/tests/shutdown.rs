//! A graceful stop of the real binary (SIGTERM) is not held up by clients: a connection that
//! never sent a byte is closed at once, one that stalls halfway through a request's head once
//! the drain time is up, and the database (with PostgreSQL's LISTEN connection) closes.
//! SQLite always; PostgreSQL too when ROSTER_TEST_DATABASE_URL is set.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::process::Server;
use roster_store::test_support::{postgres_url, scratch_postgres};

/// Far above the server's drain time (10 s), far below the 30 s a supervisor waits before
/// SIGKILL.
const STOP_LIMIT: Duration = Duration::from_secs(25);

async fn stops_despite_idle_and_stalled_clients(database: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("seed.toml"), "").unwrap();
    let log = dir.path().join("roster.log");
    let server = Server::start(dir.path(), database.as_deref(), &log, "stop-token", &[]).await;
    let address = server.base.trim_start_matches("http://").to_string();
    let _silent = TcpStream::connect(&address).unwrap();
    let mut stalled = TcpStream::connect(&address).unwrap();
    stalled
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: roster\r\n")
        .unwrap();
    // Both connections are in the server's hands before it is told to stop.
    server.wait_healthy().await;

    let took = server.terminate(STOP_LIMIT);
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        took.is_some(),
        "roster did not stop within {STOP_LIMIT:?}:\n{log}"
    );
    assert!(!log.contains("ERROR"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_stops_despite_idle_and_stalled_clients() {
    stops_despite_idle_and_stalled_clients(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stops_despite_idle_and_stalled_clients() {
    let Some(base) = postgres_url("shutdown stops_despite_idle_and_stalled_clients") else {
        return;
    };
    let database = scratch_postgres(&base).await;
    stops_despite_idle_and_stalled_clients(Some(database.url().to_owned())).await;
}
