//! The change log's horizon: a WeCom tag's 1,000 members added and removed 50 times with a
//! one-second retention leave only recent changes, a cursor from the start gets 410 with the
//! oldest kept change, a callback still to be re-sent (another corp's) keeps its change, and
//! the database ends within twice the size of the same data written without churn. SQLite
//! always; PostgreSQL too when ROSTER_TEST_DATABASE_URL is set.

use crate::common;

use std::time::Duration;

use axum::http::StatusCode;
use axum::Router;
use common::{databases, Client, ScratchDatabase, TestServer, ADMIN_TOKEN};
use roster_core::Retention;
use serde_json::{json, Value};

const CHURNED: &str = "wwchurn";
const PENDING: &str = "wwpending";
const SECRET: &str = "churn-secret";
const USERS: usize = 1000;
const ROUNDS: usize = 50;
/// Rounds between two housekeeping passes during the churn.
const PASS_EVERY: usize = 10;

fn seed(receiver: &str) -> String {
    let users: Vec<String> = (0..USERS)
        .map(|i| format!("{{ id = \"u{i}\", name = \"User {i}\" }}"))
        .collect();
    format!(
        "[[wecom.corps]]\ncorp_id = \"{CHURNED}\"\ncorp_secret = \"{SECRET}\"\n\
         users = [{}]\ntags = [{{ id = 1, name = \"churn\" }}]\n\
         [[wecom.corps]]\ncorp_id = \"{PENDING}\"\ncorp_secret = \"{SECRET}\"\n\
         callback_url = \"{receiver}\"\ncallback_token = \"pending-token\"\n\
         callback_aes_key = \"jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C\"\n\
         users = [{{ id = \"lisi\", name = \"Li Si\" }}]\n\
         tags = [{{ id = 1, name = \"pending\" }}]\n",
        users.join(", ")
    )
}

/// A receiver that never accepts: every callback to it stays to be re-sent.
async fn refusing_receiver() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/wecom", listener.local_addr().unwrap());
    let app = Router::new().fallback(|| async { StatusCode::SERVICE_UNAVAILABLE });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

struct Admin<'a>(&'a Client);

impl Admin<'_> {
    async fn get(&self, path: &str) -> (u16, Value) {
        let url = format!("{}/_roster{path}", self.0.base);
        let response = self
            .0
            .http
            .get(url)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn housekeeping(&self) -> Value {
        let url = format!("{}/_roster/housekeeping", self.0.base);
        let request = self.0.http.post(url).bearer_auth(ADMIN_TOKEN);
        let answer = self.0.send(request).await;
        answer["swept"].clone()
    }
}

/// Add (or remove) every user of the churned corp to its tag, in one call.
async fn tag_users(client: &Client, token: &str, add: bool) {
    let userlist: Vec<String> = (0..USERS).map(|i| format!("u{i}")).collect();
    let api = if add {
        "tag/addtagusers"
    } else {
        "tag/deltagusers"
    };
    let answer = client
        .wecom(token, api, json!({ "tagid": 1, "userlist": userlist }))
        .await;
    assert_eq!(answer["errcode"], 0, "{answer}");
}

/// Where the database's pages stand once what deletes freed is given back: housekeeping
/// does it on SQLite; on PostgreSQL, autovacuum (done here at once).
async fn settle(server: &TestServer) {
    if server.backend_name() == "postgres" {
        server.raw_database().await.execute("VACUUM").await;
    }
}

async fn server(
    database: Option<ScratchDatabase>,
    receiver: &str,
    retention: Retention,
) -> TestServer {
    TestServer::start_with(database, &seed(receiver), |config| {
        config.changes_retention = retention;
        // The refused callback's re-send stays to come for the whole test.
        config.callback_retry_scale = 1000.0;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_leaves_a_flat_log_and_a_clear_answer_past_its_horizon() {
    let receiver = refusing_receiver().await;
    let mut bases = databases("retention_churn").await.into_iter();
    let mut fresh_bases = databases("retention_fresh").await.into_iter();
    while let (Some(database), Some(fresh)) = (bases.next(), fresh_bases.next()) {
        let one_second = Retention(Some(Duration::from_secs(1)));
        let churned = server(database, &receiver, one_second).await;
        let without_churn = server(fresh, &receiver, Retention::DEFAULT).await;
        churn(&churned, &without_churn).await;
        churned.stop().await;
        without_churn.stop().await;
    }
}

async fn churn(churned: &TestServer, without_churn: &TestServer) {
    let backend = churned.backend_name();
    let client = Client::of(churned);
    let admin = Admin(&client);

    // A callback of the other corp that its receiver refused: to be re-sent, much later.
    let pending_token = client.wecom_token(PENDING, SECRET).await;
    let added = client
        .wecom(
            &pending_token,
            "tag/addtagusers",
            json!({ "tagid": 1, "userlist": ["lisi"] }),
        )
        .await;
    assert_eq!(added["errcode"], 0, "{added}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let pending = loop {
        let (_, answer) = admin
            .get(&format!("/deliveries?space=wecom/{PENDING}"))
            .await;
        let attempts = answer["deliveries"].as_array().unwrap().clone();
        if let Some(attempt) = attempts.iter().find(|a| a["change_seq"].as_i64() > Some(0)) {
            break attempt.clone();
        }
        assert!(std::time::Instant::now() < deadline, "no callback attempt");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(pending["resend"].is_object(), "{pending}");

    let token = client.wecom_token(CHURNED, SECRET).await;
    for round in 1..=ROUNDS {
        tag_users(&client, &token, true).await;
        tag_users(&client, &token, false).await;
        if round % PASS_EVERY == 0 {
            tokio::time::sleep(Duration::from_millis(1100)).await;
            admin.housekeeping().await;
            settle(churned).await;
        }
    }
    let (_, churn_end) = admin.get(&format!("/spaces/wecom/{CHURNED}")).await;
    let churn_end = churn_end["last_change"].as_i64().unwrap();
    assert!(
        churn_end >= (2 * USERS * ROUNDS) as i64,
        "{backend}: {churn_end}"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // The data both databases end with: the tag's 1,000 members.
    tag_users(&client, &token, true).await;
    admin.housekeeping().await;
    settle(churned).await;

    // Only the last call's changes (if still within the second) are kept.
    let (status, summary) = admin.get(&format!("/spaces/wecom/{CHURNED}")).await;
    assert_eq!(status, 200);
    let oldest = summary["oldest_change"].as_i64();
    assert!(
        oldest.is_none_or(|oldest| oldest > churn_end),
        "{backend}: {summary}"
    );
    let last = summary["last_change"].as_i64().unwrap();
    assert_eq!(last, churn_end + USERS as i64, "{backend}: {summary}");

    // A cursor from the start is told where the log now begins, not handed a gap.
    let (status, gone) = admin
        .get(&format!("/changes?space=wecom/{CHURNED}&after=0"))
        .await;
    assert_eq!(status, 410, "{backend}: {gone}");
    let first = gone["oldest"].as_i64().unwrap();
    assert_eq!(Some(first), oldest.or(Some(last + 1)), "{backend}: {gone}");
    assert!(
        gone["error"].as_str().unwrap().contains("retention"),
        "{gone}"
    );
    // `roster events --changes` says so too, and lists the changes from where it says.
    let cli = |after: i64| {
        std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
            .args([
                "events",
                "--changes",
                "--space",
                &format!("wecom/{CHURNED}"),
            ])
            .args(["--after", &after.to_string(), "--json"])
            .args(["--url", &client.base, "--admin-token", ADMIN_TOKEN])
            .output()
            .unwrap()
    };
    let output = cli(0);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{output:?}");
    assert!(
        said.contains("410") && said.contains(&format!("oldest kept change is {first}")),
        "{said}"
    );
    let output = cli(first - 1);
    assert!(output.status.success(), "{output:?}");
    // Resumed where it says, the feed answers.
    let (status, page) = admin
        .get(&format!(
            "/changes?space=wecom/{CHURNED}&after={}",
            first - 1
        ))
        .await;
    assert_eq!(status, 200, "{backend}: {page}");
    let kept = page["changes"].as_array().unwrap();
    assert!(
        kept.len() <= USERS,
        "{backend}: {} changes kept",
        kept.len()
    );

    // The change whose callback is still to be re-sent, and its attempt, survived (the
    // seed's changes before it did not).
    let pending_seq = pending["change_seq"].as_i64().unwrap();
    let after = pending_seq - 1;
    let (status, page) = admin
        .get(&format!("/changes?space=wecom/{PENDING}&after={after}"))
        .await;
    assert_eq!(status, 200, "{backend}: {page}");
    assert_eq!(page["changes"][0]["seq"], pending_seq, "{backend}: {page}");
    let (_, answer) = admin
        .get(&format!("/deliveries?space=wecom/{PENDING}"))
        .await;
    let still = answer["deliveries"].as_array().unwrap();
    assert!(
        still
            .iter()
            .any(|a| a["id"] == pending["id"] && a["resend"].is_object()),
        "{answer}"
    );

    // Disk: within twice the same data written once.
    let fresh = Client::of(without_churn);
    let fresh_token = fresh.wecom_token(CHURNED, SECRET).await;
    tag_users(&fresh, &fresh_token, true).await;
    settle(without_churn).await;
    let (churned_bytes, fresh_bytes) = (
        churned.database_bytes().await,
        without_churn.database_bytes().await,
    );
    eprintln!("{backend}: {churned_bytes} bytes after churn, {fresh_bytes} without");
    assert!(
        churned_bytes <= 2 * fresh_bytes,
        "{backend}: {churned_bytes} > 2 x {fresh_bytes}"
    );

    // The metrics say what is kept.
    let metrics = client.metrics().await;
    for name in [
        "roster_change_log_rows",
        "roster_change_log_oldest_age_seconds",
        "roster_history_pruned_total",
        "roster_database_bytes",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
}
