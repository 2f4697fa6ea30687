//! A bounded load generator for a running roster started with `bench-seed.toml`:
//!
//! ```sh
//! cargo run --release -p roster -- serve --data /tmp/roster-bench \
//!     --seed crates/roster-bench/bench-seed.toml &
//! cargo run --release -p roster-bench --bin load -- --scenario tim-follow
//! ```
//!
//! Each scenario sends at most `--requests` requests (and stops after `--seconds`) from
//! `--concurrency` keep-alive connections to loopback, then prints throughput and latency
//! percentiles. Scenarios:
//! - `tim-follow`: UserSig check, follow_add with caps and mutual upkeep;
//! - `tim-get`: follow_get pages;
//! - `feishu-user`: tenant token check, id translation, one read;
//! - `feishu-followers`: add two followers to a task, then remove them (a task per worker, as
//!   Feishu allows one write at a time per task);
//! - `wecom-tag`: add ten users to a tag, then remove them (a tag per worker).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use serde_json::{json, Value};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, value_enum)]
    scenario: Scenario,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, default_value_t = 20_000)]
    requests: u64,
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Accounts the TIM scenarios follow among.
    #[arg(long, default_value_t = 1000)]
    accounts: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum Scenario {
    TimFollow,
    TimGet,
    FeishuUser,
    FeishuFollowers,
    WecomTag,
}

// The credentials of bench-seed.toml.
const TIM_APP: u64 = 1_400_000_000;
const TIM_KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
const TIM_ADMIN: &str = "administrator";
const FEISHU_APP: (&str, &str) = ("cli_bench0000000001", "bench-app-secret");
const WECOM_CORP: (&str, &str) = ("wwbench000000001", "bench-wecom-secret");
/// Users the WeCom scenario creates and tags.
const WECOM_USERS: u64 = 200;

struct Target {
    client: reqwest::Client,
    url: String,
    tim_query: String,
    feishu_token: String,
    wecom_token: String,
    /// Per worker: its own Feishu task id or WeCom tag id.
    subjects: Vec<String>,
}

impl Target {
    async fn post(&self, path: &str, body: &Value) -> Value {
        self.client
            .post(format!("{}{path}", self.url))
            .json(body)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON body")
    }

    async fn tim(&self, command: &str, body: &Value) -> Value {
        let path = format!("/v4/{command}?{}", self.tim_query);
        self.post(&path, body).await
    }

    async fn feishu(&self, path: &str, body: &Value) -> Value {
        self.client
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.feishu_token)
            .json(body)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON body")
    }

    async fn wecom(&self, api: &str, body: &Value) -> Value {
        let path = format!("/cgi-bin/{api}?access_token={}", self.wecom_token);
        self.post(&path, body).await
    }
}

/// A cheap deterministic pseudo-random sequence per worker (xorshift).
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// One request of `worker`; `round` alternates adding and removing.
async fn one_request(
    target: &Target,
    scenario: Scenario,
    accounts: u64,
    worker: usize,
    round: u64,
    rng: &mut u64,
) -> bool {
    let adding = round.is_multiple_of(2);
    match scenario {
        Scenario::TimFollow => {
            let (from, to) = (next(rng) % accounts, next(rng) % accounts);
            let body = json!({ "From_Account": format!("load_{from}"),
                               "FollowItem": [{ "To_Account": format!("load_{to}") }] });
            target.tim("follow/follow_add", &body).await["ErrorCode"] == 0
        }
        Scenario::TimGet => {
            let body = json!({ "From_Account": format!("load_{}", next(rng) % accounts),
                               "FollowType": 1 + next(rng) % 3, "StartCursor": "", "WantNum": 100 });
            target.tim("follow/follow_get", &body).await["ErrorCode"] == 0
        }
        Scenario::FeishuUser => {
            let response = target
                .client
                .get(format!(
                    "{}/open-apis/contact/v3/users/alice?user_id_type=user_id",
                    target.url
                ))
                .bearer_auth(&target.feishu_token)
                .send()
                .await
                .expect("request");
            response.json::<Value>().await.expect("JSON body")["code"] == 0
        }
        Scenario::FeishuFollowers => {
            let task = &target.subjects[worker];
            let command = if adding {
                "followers"
            } else {
                "batch_delete_follower"
            };
            let path = format!("/open-apis/task/v1/tasks/{task}/{command}?user_id_type=user_id");
            target
                .feishu(&path, &json!({ "id_list": ["alice", "bob"] }))
                .await["code"]
                == 0
        }
        Scenario::WecomTag => {
            let tag: i64 = target.subjects[worker].parse().expect("tag id");
            let first = next(rng) % (WECOM_USERS - 10);
            let users: Vec<String> = (first..first + 10).map(|i| format!("load{i}")).collect();
            let command = if adding { "addtagusers" } else { "deltagusers" };
            let body = json!({ "tagid": tag, "userlist": users });
            target.wecom(&format!("tag/{command}"), &body).await["errcode"] == 0
        }
    }
}

/// Accounts, users, and a task or tag per worker, as the scenario needs.
async fn prepare(target: &mut Target, scenario: Scenario, accounts: u64, workers: usize, run: i64) {
    if let Scenario::FeishuFollowers = scenario {
        for worker in 0..workers {
            let task = json!({ "summary": format!("load {worker}"),
                               "origin": { "platform_i18n_name": "{\"en_us\":\"load\"}" } });
            let reply = target.feishu("/open-apis/task/v1/tasks", &task).await;
            let id = reply["data"]["task"]["id"].as_str();
            target
                .subjects
                .push(id.unwrap_or_else(|| panic!("task create: {reply}")).into());
        }
    }
    if let Scenario::WecomTag = scenario {
        for i in 0..WECOM_USERS {
            let user = json!({ "userid": format!("load{i}"), "name": format!("load {i}"),
                               "department": [1], "email": format!("load{i}@bench.example") });
            // Already there from an earlier run is fine (60102).
            target.wecom("user/create", &user).await;
        }
        for worker in 0..workers {
            // Tag names are unique per corp: name them after this run.
            let tag = json!({ "tagname": format!("load-{run}-{worker}") });
            let reply = target.wecom("tag/create", &tag).await;
            let id = reply["tagid"].as_i64();
            target.subjects.push(
                id.unwrap_or_else(|| panic!("tag create: {reply}"))
                    .to_string(),
            );
        }
    }
    if matches!(scenario, Scenario::TimFollow | Scenario::TimGet) {
        let ids: Vec<String> = (0..accounts).map(|i| format!("load_{i}")).collect();
        for chunk in ids.chunks(100) {
            let reply = target
                .tim(
                    "im_open_login_svc/multiaccount_import",
                    &json!({ "Accounts": chunk }),
                )
                .await;
            assert_eq!(reply["ErrorCode"], 0, "import failed: {reply}");
        }
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .expect("HTTP client");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let sig = roster_tim::usersig::sign(TIM_APP, TIM_KEY.as_bytes(), TIM_ADMIN, now, 86_400);
    let mut target = Target {
        client,
        url: args.url.trim_end_matches('/').to_string(),
        tim_query: format!(
            "sdkappid={TIM_APP}&identifier={TIM_ADMIN}&usersig={sig}&random=1&contenttype=json"
        ),
        feishu_token: String::new(),
        wecom_token: String::new(),
        subjects: Vec::new(),
    };
    let token = target
        .post(
            "/open-apis/auth/v3/tenant_access_token/internal",
            &json!({ "app_id": FEISHU_APP.0, "app_secret": FEISHU_APP.1 }),
        )
        .await;
    target.feishu_token = token["tenant_access_token"]
        .as_str()
        .unwrap_or_default()
        .into();
    let wecom: Value = target
        .client
        .get(format!(
            "{}/cgi-bin/gettoken?corpid={}&corpsecret={}",
            target.url, WECOM_CORP.0, WECOM_CORP.1
        ))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON body");
    target.wecom_token = wecom["access_token"].as_str().unwrap_or_default().into();
    prepare(
        &mut target,
        args.scenario,
        args.accounts,
        args.concurrency,
        now,
    )
    .await;

    let target = Arc::new(target);
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..args.concurrency)
        .map(|worker| {
            let (target, sent, failed) = (target.clone(), sent.clone(), failed.clone());
            let (scenario, accounts, limit) = (args.scenario, args.accounts, args.requests);
            tokio::spawn(async move {
                let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (worker as u64 + 1);
                let mut latencies = Vec::new();
                let mut round = 0;
                while sent.fetch_add(1, Ordering::Relaxed) < limit && Instant::now() < deadline {
                    let begun = Instant::now();
                    let ok =
                        one_request(&target, scenario, accounts, worker, round, &mut rng).await;
                    round += 1;
                    if !ok {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    latencies.push(begun.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.expect("worker"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{} requests in {:.2?}: {:.0} req/s; latency p50 {:.2?}, p99 {:.2?}, max {:.2?}; {} failed",
        latencies.len(),
        elapsed,
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(0.50),
        percentile(0.99),
        percentile(1.0),
        failed.load(Ordering::Relaxed),
    );
}
