//! A bounded load generator for a running roster started with `bench-seed.toml`:
//!
//! ```sh
//! cargo run --release -p roster -- serve --data /tmp/roster-bench \
//!     --seed crates/roster-bench/bench-seed.toml &
//! cargo run --release -p roster-bench --bin load -- --scenario tim-follow
//! ```
//!
//! Each scenario (see [`Scenario`]) first puts what it needs in place (accounts, users, tasks,
//! tags, follows), then sends at most `--requests` calls (and stops after `--seconds`) from
//! `--concurrency` keep-alive connections to loopback, and prints throughput and latency
//! percentiles. `load seed` prints the seed `scripts/bench` starts roster with; `load start-time`
//! times roster's start.

mod api;
mod scenarios;
mod seed;
mod start;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use serde_json::json;

use api::Target;
use scenarios::{Plan, Scenario, Step, Worker};

#[derive(Parser)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Print bench-seed.toml with generated TIM accounts and Feishu users.
    Seed(seed::Args),
    /// Start roster several times on the same data; time each from exec to /healthz 200.
    StartTime(start::Args),
}

#[derive(clap::Args)]
struct RunArgs {
    /// roster's URL; given several times (several processes on one database), requests go
    /// to each in turn, as a round-robin load balancer sends them.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: Vec<String>,
    #[arg(long, value_enum, required = true)]
    scenario: Option<Scenario>,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, default_value_t = 20_000)]
    requests: u64,
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// TIM accounts, Feishu users or WeCom users the scenario draws on.
    #[arg(long, default_value_t = 1000)]
    accounts: u64,
    /// Targets, followers or users per call (tim-follow, tim-follow-near-caps,
    /// feishu-follower-adds, wecom-tag-adds); each has its own default.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    batch: Option<u64>,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
}

/// The latency at quantile `q` of sorted `latencies`.
fn percentile(latencies: &[Duration], q: f64) -> Duration {
    let last = latencies.len().saturating_sub(1);
    let index = ((latencies.len() as f64 * q) as usize).min(last);
    latencies.get(index).copied().unwrap_or_default()
}

#[tokio::main]
async fn run(args: RunArgs) {
    let scenario = args.scenario.expect("clap requires --scenario");
    let plan = Arc::new(Plan {
        scenario,
        accounts: args.accounts,
        batch: args.batch.unwrap_or(scenario.default_batch()),
        requests: args.requests,
        workers: args.concurrency,
        run: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_nanos(),
    });
    let target = Target::connect(&args.url, args.concurrency)
        .await
        .unwrap_or_else(|e| panic!("cannot reach roster at {:?}: {e}", args.url));
    let subjects = scenarios::prepare(&target, &plan).await;

    let target = Arc::new(target);
    let sent = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let workers: Vec<_> = subjects
        .into_iter()
        .enumerate()
        .map(|(index, subjects)| {
            let (target, plan, sent) = (target.clone(), plan.clone(), sent.clone());
            tokio::spawn(async move {
                let mut worker = Worker::new(index, subjects);
                let (mut latencies, mut items, mut failed) = (Vec::new(), 0, 0);
                loop {
                    let call = sent.fetch_add(1, Ordering::Relaxed);
                    if call >= plan.requests || Instant::now() >= deadline {
                        break;
                    }
                    let begun = Instant::now();
                    match scenarios::one_request(&target, &plan, &mut worker, call).await {
                        Step::Done(n) => items += n,
                        Step::Failed => failed += 1,
                        Step::Exhausted => break,
                    }
                    latencies.push(begun.elapsed());
                }
                (latencies, items, failed)
            })
        })
        .collect();
    let (mut latencies, mut items, mut failed) = (Vec::new(), 0, 0);
    for worker in workers {
        let (l, i, f) = worker.await.expect("worker");
        latencies.extend(l);
        items += i;
        failed += f;
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    let calls = latencies.len();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (p50, p99, max) = (
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
    );
    if args.json {
        println!(
            "{}",
            json!({
                "calls": calls, "failed": failed, "items": items, "seconds": seconds,
                "calls_per_s": calls as f64 / seconds, "items_per_s": items as f64 / seconds,
                "p50_ms": ms(p50), "p99_ms": ms(p99), "max_ms": ms(max),
            })
        );
    } else {
        println!(
            "{calls} requests in {seconds:.2}s: {:.0} req/s ({:.0} items/s); latency p50 {p50:.2?}, \
             p99 {p99:.2?}, max {max:.2?}; {failed} failed",
            calls as f64 / seconds,
            items as f64 / seconds,
        );
    }
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Seed(args)) => seed::print(&args),
        Some(Command::StartTime(args)) => start::measure(&args),
        None => run(cli.run),
    }
}
