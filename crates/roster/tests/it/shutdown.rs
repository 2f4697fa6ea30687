//! A graceful stop of the real binary (SIGTERM) is not held up by clients: a connection that
//! never sent a byte is closed at once, one that stalls halfway through a request's head once
//! the drain time is up, and the database (with PostgreSQL's LISTEN connection) closes.
//! SQLite always; PostgreSQL too when ROSTER_TEST_DATABASE_URL is set.

use crate::common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::process::Server;
use roster_store::test_support::ScratchDatabase;

/// Far above the server's drain time (10 s), far below the 30 s a supervisor waits before
/// SIGKILL.
const STOP_LIMIT: Duration = Duration::from_secs(25);

roster_store::on_both_backends!(stops_despite_idle_and_stalled_clients);

async fn stops_despite_idle_and_stalled_clients(scratch: Option<ScratchDatabase>) {
    let database = scratch.as_ref().map(|d| d.url().to_owned());
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
