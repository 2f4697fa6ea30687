//! A callback the receiver did not accept is re-sent on the vendor's schedule even when
//! roster is killed (SIGKILL) between two tries: the re-send still to come is stored with the
//! attempt it follows, and the restarted process sends it, with the very same request. WeCom's
//! `change_contact` (three re-sends) to a receiver in this test. SQLite always; PostgreSQL
//! too when ROSTER_TEST_DATABASE_URL is set.

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use common::process::Server;
use roster_store::test_support::ScratchDatabase;
use serde_json::{json, Value};

const CORP: &str = "wwresend";
const SECRET: &str = "resend-secret";
const ADMIN_TOKEN: &str = "resends-admin-token";
/// WeCom re-sends after 1 s; scaled to 3 s, so that roster is killed well before the re-send.
const RETRY_SCALE: &str = "3";
const WAIT: Duration = Duration::from_secs(20);

/// The bodies the receiver got; it answers 503 until told to accept.
#[derive(Clone, Default)]
struct Receiver {
    bodies: Arc<Mutex<Vec<Bytes>>>,
    accepting: Arc<AtomicBool>,
}

async fn receive(State(receiver): State<Receiver>, body: Bytes) -> StatusCode {
    receiver.bodies.lock().unwrap().push(body);
    if receiver.accepting.load(Ordering::SeqCst) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

impl Receiver {
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/wecom", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/wecom", post(receive))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    async fn wait_for(&self, count: usize) -> Vec<Bytes> {
        let deadline = Instant::now() + WAIT;
        loop {
            let bodies = self.bodies.lock().unwrap().clone();
            if bodies.len() >= count {
                return bodies;
            }
            assert!(
                Instant::now() < deadline,
                "{} callbacks, not {count}",
                bodies.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn json(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

async fn deliveries(http: &reqwest::Client, base: &str) -> Vec<Value> {
    let url = format!("{base}/_roster/deliveries");
    let answer = json(http.get(url).bearer_auth(ADMIN_TOKEN)).await;
    answer["deliveries"].as_array().unwrap().clone()
}

roster_store::on_both_backends!(resend_survives_a_kill);

async fn resend_survives_a_kill(scratch: Option<ScratchDatabase>) {
    let database = scratch.as_ref().map(|d| d.url().to_owned());
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("seed.toml"),
        format!(
            "[[wecom.corps]]\ncorp_id = \"{CORP}\"\ncorp_secret = \"{SECRET}\"\n\
             callback_url = \"{url}\"\ncallback_token = \"resend-token\"\n\
             callback_aes_key = \"jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C\"\n\
             users = [{{ id = \"lisi\", name = \"Li Si\" }}]\n\
             tags = [{{ id = 1008, name = \"resend\" }}]\n"
        ),
    )
    .unwrap();
    let log = dir.path().join("roster.log");
    let extra = ["--callback-retry-scale", RETRY_SCALE];
    let start = || Server::start(dir.path(), database.as_deref(), &log, ADMIN_TOKEN, &extra);
    let server = start().await;
    let http = reqwest::Client::new();
    let token = json(http.get(format!(
        "{}/cgi-bin/gettoken?corpid={CORP}&corpsecret={SECRET}",
        server.base
    )))
    .await;
    let token = token["access_token"].as_str().unwrap();
    let add = http
        .post(format!(
            "{}/cgi-bin/tag/addtagusers?access_token={token}",
            server.base
        ))
        .json(&json!({ "tagid": 1008, "userlist": ["lisi"] }));
    let added = json(add).await;
    assert_eq!(added["errcode"], 0, "{added}");

    // The first try was refused and recorded with its re-send to come; then the kill.
    let first = receiver.wait_for(1).await[0].clone();
    let deadline = Instant::now() + WAIT;
    let recorded = loop {
        let recorded = deliveries(&http, &server.base).await;
        if !recorded.is_empty() {
            break recorded;
        }
        assert!(Instant::now() < deadline, "no delivery recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["status"], 503);
    assert!(recorded[0]["resend"]["due_ms"].is_i64(), "{recorded:?}");
    server.kill();
    assert_eq!(
        receiver.bodies.lock().unwrap().len(),
        1,
        "re-sent before the kill"
    );

    // The restarted process sends it, the same bytes, and records it as the second attempt.
    receiver.accepting.store(true, Ordering::SeqCst);
    let server = start().await;
    let bodies = receiver.wait_for(2).await;
    assert_eq!(bodies[1], first);
    let deadline = Instant::now() + WAIT;
    let recorded = loop {
        let recorded = deliveries(&http, &server.base).await;
        if recorded.len() >= 2 {
            break recorded;
        }
        assert!(Instant::now() < deadline, "the re-send was not recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    assert_eq!(
        (&recorded[1]["attempt"], &recorded[1]["status"]),
        (&json!(2), &json!(200))
    );
    assert!(
        recorded.iter().all(|a| a.get("resend").is_none()),
        "{recorded:?}"
    );
    assert_eq!(receiver.bodies.lock().unwrap().len(), 2);
}
