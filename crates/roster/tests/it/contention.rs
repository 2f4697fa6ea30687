//! Resets and snapshot loads while TIM and WeCom clients keep writing the same space: every
//! writer and load takes its locks in one order (README, docs/architecture.md), so none of
//! them deadlocks (on PostgreSQL: `pg_stat_database.deadlocks` of the test's database stays as
//! it was), none waits long, and a reset still leaves exactly the seed's state.

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::api::Api;
use common::{Client, RawDatabase, ADMIN_TOKEN};
use serde_json::{json, Value};

roster_store::on_both_backends!(
    |database| async move { super::Api::start(database, &super::seed()).await };
    resets_and_loads_during_writes_neither_deadlock_nor_wait,
);

const SDKAPPID: u64 = 1400000000;
const TIM_KEY: &str = "contention-tim-secret-key";
const CORP: &str = "wwcontention";
const SECRET: &str = "contention-secret";
const TAG: u64 = 1008;
const ACCOUNTS: usize = 40;
const USERS: usize = 30;
/// Concurrent writers of each dialect.
const TIM_WRITERS: usize = 6;
const WECOM_WRITERS: usize = 3;
/// Resets and loads, alternating, while the writers write.
const LOADS: usize = 16;
/// No call may take longer.
const SLOWEST: Duration = Duration::from_secs(2);

fn seed() -> String {
    let accounts: Vec<String> = (0..ACCOUNTS).map(|i| format!("\"acct{i:02}\"")).collect();
    let users: Vec<String> = (0..USERS)
        .map(|i| format!("{{ id = \"user{i:02}\", name = \"User {i}\", departments = [2] }}"))
        .collect();
    format!(
        r#"
[[tim.apps]]
sdkappid = {SDKAPPID}
secret_key = "{TIM_KEY}"
admins = ["administrator"]
accounts = [{accounts}]

[[wecom.corps]]
corp_id = "{CORP}"
corp_secret = "{SECRET}"
departments = [{{ id = 2, name = "R&D", parent = 1 }}]
users = [{users}]
tags = [{{ id = {TAG}, name = "busy" }}]
"#,
        accounts = accounts.join(", "),
        users = users.join(",\n  "),
    )
}

/// A small deterministic generator, one per writer, so a failing run can be read again.
struct Picks(u64);

impl Picks {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % below as u64) as usize
    }

    /// `n` distinct numbers below `below`.
    fn distinct(&mut self, n: usize, below: usize) -> Vec<usize> {
        let mut chosen = Vec::with_capacity(n);
        while chosen.len() < n {
            let pick = self.next(below);
            if !chosen.contains(&pick) {
                chosen.push(pick);
            }
        }
        chosen
    }
}

/// Send a request and check it answered 200 within [`SLOWEST`]; its JSON.
async fn timed(what: &str, request: reqwest::RequestBuilder) -> Value {
    let started = Instant::now();
    let response = request.send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    let took = started.elapsed();
    assert_eq!(status, 200, "{what}: {body}");
    assert!(took < SLOWEST, "{what} took {took:?}");
    body
}

impl Client {
    async fn admin_post(&self, path: &str, body: String) -> Value {
        let url = format!("{}/_roster{path}", self.base);
        let request = self.http.post(url).bearer_auth(ADMIN_TOKEN).body(body);
        timed(path, request).await
    }

    async fn snapshot(&self) -> String {
        let url = format!("{}/_roster/snapshot", self.base);
        let response = self.http.get(url).bearer_auth(ADMIN_TOKEN).send().await;
        response.unwrap().text().await.unwrap()
    }
}

/// Follow and unfollow random accounts, 10 at a call, until told to stop; `paths` the signed
/// path of each command.
async fn tim_writer(client: Client, paths: [String; 2], seed: u64, stop: Arc<AtomicBool>) {
    let mut picks = Picks(seed);
    while !stop.load(Ordering::Relaxed) {
        let picked = picks.distinct(11, ACCOUNTS);
        let from = format!("acct{:02}", picked[0]);
        let to: Vec<String> = picked[1..].iter().map(|i| format!("acct{i:02}")).collect();
        let (path, body) = if picks.next(3) == 0 {
            (&paths[1], json!({ "From_Account": from, "To_Account": to }))
        } else {
            let items: Vec<Value> = to.iter().map(|t| json!({ "To_Account": t })).collect();
            (
                &paths[0],
                json!({ "From_Account": from, "FollowItem": items }),
            )
        };
        let url = format!("{}{path}", client.base);
        let answer = timed(path, client.http.post(url).json(&body)).await;
        assert_eq!(answer["ErrorCode"], 0, "{path}: {answer}");
    }
}

/// Add and remove random users of the tag, 8 at a call, until told to stop; a token that a
/// reset ended (40014) is fetched again.
async fn wecom_writer(client: Client, seed: u64, stop: Arc<AtomicBool>) {
    let mut picks = Picks(seed);
    let mut token = client.wecom_token(CORP, SECRET).await;
    while !stop.load(Ordering::Relaxed) {
        let users: Vec<String> = picks
            .distinct(8, USERS)
            .iter()
            .map(|i| format!("user{i:02}"))
            .collect();
        let api = if picks.next(3) == 0 {
            "tag/deltagusers"
        } else {
            "tag/addtagusers"
        };
        let url = format!("{}/cgi-bin/{api}?access_token={token}", client.base);
        let body = json!({ "tagid": TAG, "userlist": users });
        let answer = timed(api, client.http.post(url).json(&body)).await;
        match answer["errcode"].as_i64() {
            Some(0) => {}
            Some(40014) => token = client.wecom_token(CORP, SECRET).await,
            _ => panic!("{api}: {answer}"),
        }
    }
}

/// Deadlocks PostgreSQL counted in the server's database (none on SQLite). A backend reports
/// its counts when it ends, so roster's connections are ended first (its pool opens new ones).
async fn deadlocks(database: &mut RawDatabase) -> i64 {
    match database {
        RawDatabase::Postgres(_) => {
            database
                .execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                )
                .await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let sql = "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()";
            database.number(sql).await
        }
        RawDatabase::Sqlite(_) => 0,
    }
}

async fn resets_and_loads_during_writes_neither_deadlock_nor_wait(api: Api) {
    let paths = ["follow/follow_add", "follow/follow_delete"]
        .map(|command| api.tim_path(SDKAPPID, TIM_KEY, "administrator", command));
    let server = api.server;
    let client = Client::of(&server);
    let mut database = server.raw_database().await;
    let before = deadlocks(&mut database).await;
    client.admin_post("/reset", String::new()).await;
    let seeded = client.snapshot().await;

    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..TIM_WRITERS {
        let client = Client::of(&server);
        writers.spawn(tim_writer(
            client,
            paths.clone(),
            i as u64 + 1,
            stop.clone(),
        ));
    }
    for i in 0..WECOM_WRITERS {
        let client = Client::of(&server);
        writers.spawn(wecom_writer(client, i as u64 + 100, stop.clone()));
    }
    for i in 0..LOADS {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if i % 2 == 0 {
            client.admin_post("/reset", String::new()).await;
        } else {
            client.admin_post("/snapshot", seeded.clone()).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }

    assert_eq!(database.wrong_counters().await, 0);
    client.admin_post("/reset", String::new()).await;
    assert_eq!(client.snapshot().await, seeded);
    assert_eq!(deadlocks(&mut database).await, before);
    if server.backend_name() == "postgres" {
        let metrics = client.metrics().await;
        for name in [
            "roster_postgres_pool_wait_seconds",
            "roster_postgres_write_retries_total",
            "roster_postgres_plan_round_trips",
        ] {
            assert!(metrics.contains(name), "{name} missing from /metrics");
        }
    }
    server.stop().await;
}
