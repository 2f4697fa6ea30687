//! A bounded load generator for a running roster started with the demo seed:
//!
//! ```sh
//! cargo run --release -p roster -- serve --data /tmp/roster-bench &
//! cargo run --release -p roster --example load -- --scenario tim-follow
//! ```
//!
//! Each scenario sends at most `--requests` requests (and stops after `--seconds`) from
//! `--concurrency` keep-alive connections to loopback, then prints throughput and latency
//! percentiles. Scenarios: `tim-follow` (UserSig check, follow_add with caps and mutual upkeep),
//! `tim-get` (follow_get pages), `feishu-user` (tenant token check, id translation, one read).

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
}

// The demo seed's credentials (crates/roster/demo-seed.toml).
const TIM_APP: u64 = 1_400_000_000;
const TIM_KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
const TIM_ADMIN: &str = "administrator";
const FEISHU_APP: (&str, &str) = ("cli_demo00000000001", "demo-app-secret");

struct Target {
    client: reqwest::Client,
    url: String,
    tim_query: String,
    feishu_token: String,
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
}

/// A cheap deterministic pseudo-random sequence per worker (xorshift).
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

async fn one_request(target: &Target, scenario: Scenario, accounts: u64, rng: &mut u64) -> bool {
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
    }
}

async fn prepare(target: &Target, scenario: Scenario, accounts: u64) {
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
    prepare(&target, args.scenario, args.accounts).await;

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
                while sent.fetch_add(1, Ordering::Relaxed) < limit && Instant::now() < deadline {
                    let begun = Instant::now();
                    if !one_request(&target, scenario, accounts, &mut rng).await {
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
