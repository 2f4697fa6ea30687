//! Kill -9 and callbacks (the outbox): TIM follows and unfollows from concurrent clients, each
//! cycle ended by SIGKILL of the real binary at a random moment, with the app's webhooks going
//! to a receiver in this test. After the last restart has caught up, every follow or unfollow
//! an acknowledged request made has been called back (at least once), and nothing was called
//! back that no request made: refused requests (an unknown `From_Account`) and refused targets
//! (an account never imported) send nothing. SQLite always; PostgreSQL too when
//! ROSTER_TEST_DATABASE_URL is set.

use crate::common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::routing::post;
use axum::{Json, Router};
use common::process::Server;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use roster_store::test_support::ScratchDatabase;
use serde_json::{json, Value};

const CYCLES: usize = 3;
const KILL_AFTER_MS: std::ops::RangeInclusive<u64> = 100..=600;
const CLIENT_MAX_TIME: Duration = Duration::from_secs(5);
/// How long the last server gets to send what is pending.
const CATCH_UP: Duration = Duration::from_secs(20);

const APP: u64 = 1_400_000_078;
const KEY: &str = "events-durability-key";
const ACCOUNTS: usize = 12;
const CLIENTS: usize = 4;
const ADMIN_TOKEN: &str = "events-durability-admin-token";

/// A follow (`true`) or unfollow of `to` by `from`.
type Event = (bool, String, String);

fn account(i: usize) -> String {
    format!("u{i}")
}

/// Every webhook the receiver got, as events.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Event>>>);

async fn receive(
    State(received): State<Received>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let from = body["From_Account"].as_str().unwrap().to_string();
    let command = query["CallbackCommand"].as_str();
    assert_eq!(body["CallbackCommand"], command);
    let (follow, targets): (bool, Vec<String>) = match command {
        "Follow.CallbackAfterFollowAdd" => (
            true,
            body["FollowList"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["To_Account"].as_str().unwrap().to_string())
                .collect(),
        ),
        "Follow.CallbackAfterFollowDelete" => (
            false,
            serde_json::from_value(body["To_Account"].clone()).unwrap(),
        ),
        other => panic!("unexpected command {other}"),
    };
    let mut received = received.0.lock().unwrap();
    received.extend(targets.into_iter().map(|to| (follow, from.clone(), to)));
    Json(json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}))
}

/// The receiver's URL.
async fn start_receiver(received: Received) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/tim", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/tim", post(receive))
        .with_state(received);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn call(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    body: &Value,
) -> reqwest::Result<Value> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let sig = roster_tim::usersig::sign(APP, KEY.as_bytes(), "admin", now.as_secs() as i64, 3600);
    let url = format!(
        "{base}/v4/{path}?sdkappid={APP}&identifier=admin&usersig={sig}&random=1&contenttype=json"
    );
    http.post(url).json(body).send().await?.json().await
}

/// What a client knows of the edges it writes: those present, and those a request cut by a
/// kill may or may not have changed.
#[derive(Default)]
struct Known {
    state: BTreeSet<(usize, usize)>,
    unsure: BTreeSet<(usize, usize)>,
}

/// What one client's acknowledged requests changed, and what its request cut by the kill may
/// have changed.
#[derive(Default)]
struct Log {
    made: Vec<Event>,
    maybe: Vec<Event>,
}

/// Follows and unfollows from the accounts this client owns, each known to change its edge
/// (the client alone writes them); edges a cut request may have changed are left alone
/// afterwards. Now and then a request that is refused, or names an account never imported.
async fn client(base: String, own: Vec<usize>, seed: u64, mut known: Known) -> (Log, Known) {
    let Known { state, unsure } = &mut known;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut log = Log::default();
    let deadline = Instant::now() + CLIENT_MAX_TIME;
    while Instant::now() < deadline {
        let from = *own.choose(&mut rng).unwrap();
        let follow = rng.gen_bool(0.6);
        let candidates: Vec<usize> = (0..ACCOUNTS)
            .filter(|&to| to != from && !unsure.contains(&(from, to)))
            .filter(|&to| state.contains(&(from, to)) != follow)
            .collect();
        let targets: Vec<usize> = candidates.choose_multiple(&mut rng, 2).copied().collect();
        if targets.is_empty() {
            continue;
        }
        let mut names: Vec<String> = targets.iter().map(|&t| account(t)).collect();
        let from_name = match rng.gen_range(0..10) {
            0 => "nobody".to_string(),
            _ => account(from),
        };
        if follow && rng.gen_bool(0.2) {
            names.push("ghost".into());
        }
        let (path, body) = if follow {
            let items: Vec<Value> = names.iter().map(|n| json!({"To_Account": n})).collect();
            (
                "follow/follow_add",
                json!({"From_Account": from_name, "FollowItem": items}),
            )
        } else {
            (
                "follow/follow_delete",
                json!({"From_Account": from_name, "To_Account": names}),
            )
        };
        let events = targets.iter().map(|&t| (follow, account(from), account(t)));
        let reply = match call(&http, &base, path, &body).await {
            Ok(reply) => reply,
            Err(e) if e.is_connect() => break,
            Err(_) => {
                log.maybe.extend(events);
                unsure.extend(targets.iter().map(|&t| (from, t)));
                break;
            }
        };
        if from_name == "nobody" {
            assert_ne!(reply["ErrorCode"], 0, "{reply}");
            continue;
        }
        assert_eq!(reply["ErrorCode"], 0, "{reply}");
        log.made.extend(events);
        for &t in &targets {
            if follow {
                state.insert((from, t));
            } else {
                state.remove(&(from, t));
            }
        }
    }
    (log, known)
}

roster_store::on_both_backends!(sigkill_loses_no_callback);

async fn sigkill_loses_no_callback(scratch: Option<ScratchDatabase>) {
    let database = scratch.as_ref().map(|d| d.url().to_owned());
    let received = Received::default();
    let url = start_receiver(received.clone()).await;
    let accounts: Vec<String> = (0..ACCOUNTS)
        .map(|i| format!("\"{}\"", account(i)))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("seed.toml"),
        format!(
            "[[tim.apps]]\nsdkappid = {APP}\nsecret_key = \"{KEY}\"\nadmins = [\"admin\"]\n\
             accounts = [{}]\ncallback_url = \"{url}\"\n",
            accounts.join(", ")
        ),
    )
    .unwrap();
    let start = |run: usize| {
        let log = dir.path().join(format!("server-{run}.log"));
        let database = database.clone();
        let dir = dir.path().to_path_buf();
        async move { Server::start(&dir, database.as_deref(), &log, ADMIN_TOKEN, &[]).await }
    };
    let seed: u64 = rand::random();
    eprintln!("events durability: random seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut known: Vec<Known> = (0..CLIENTS).map(|_| Known::default()).collect();
    let (mut made, mut maybe) = (Vec::new(), Vec::new());
    for cycle in 0..CYCLES {
        let server = start(cycle).await;
        let mut clients = tokio::task::JoinSet::new();
        for (c, known) in known.drain(..).enumerate() {
            let own = (0..ACCOUNTS).filter(|i| i % CLIENTS == c).collect();
            clients.spawn(client(server.base.clone(), own, rng.gen(), known));
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(KILL_AFTER_MS))).await;
        server.kill();
        while let Some(done) = clients.join_next().await {
            let (log, state) = done.unwrap();
            made.extend(log.made);
            maybe.extend(log.maybe);
            known.push(state);
        }
    }
    let server = start(CYCLES).await;
    let made: BTreeSet<Event> = made.into_iter().collect();
    let deadline = Instant::now() + CATCH_UP;
    loop {
        let got: BTreeSet<Event> = received.0.lock().unwrap().iter().cloned().collect();
        if made.is_subset(&got) {
            break;
        }
        let missing: Vec<&Event> = made.difference(&got).take(5).collect();
        assert!(
            Instant::now() < deadline,
            "never called back: {missing:?} (of {})",
            made.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // `roster events` lists every attempt, each answered by the receiver.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["events", "--json", "--space", &format!("tim/{APP}")])
        .args(["--url", &server.base, "--admin-token", ADMIN_TOKEN])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let attempts: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(!attempts.is_empty());
    for attempt in &attempts {
        assert_eq!(attempt["status"], 200, "{attempt}");
        assert!(attempt["event"]
            .as_str()
            .unwrap()
            .starts_with("Follow.CallbackAfterFollow"));
    }
    // `roster events --redeliver` sends one again, as it was.
    let first = attempts[0]["id"].to_string();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["events", "--json", "--redeliver", &first])
        .args(["--url", &server.base, "--admin-token", ADMIN_TOKEN])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let again: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (&again["status"], &again["request"]),
        (&json!(200), &attempts[0]["request"])
    );
    server.kill();
    let allowed: BTreeSet<Event> = made.iter().cloned().chain(maybe).collect();
    for event in received.0.lock().unwrap().iter() {
        assert!(
            allowed.contains(event),
            "called back, but no request made it: {event:?}"
        );
    }
    assert!(!made.is_empty(), "no write was acknowledged");
    eprintln!("{} acknowledged changes, all called back", made.len());
}
