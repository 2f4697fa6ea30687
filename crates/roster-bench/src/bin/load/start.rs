//! `load start-time`: start a roster several times on the same data, timing each from exec to
//! its first `/healthz` 200, and stop it with SIGTERM after each.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
    /// The roster command, listening on loopback (`--listen 127.0.0.1:0`).
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

/// How long one start may take before the measurement gives up.
const START_LIMIT: Duration = Duration::from_secs(120);

/// Whether `GET /healthz` on `addr` answers 200.
fn healthy(addr: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut status = [0u8; 12];
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_exact(&mut status).is_ok()
        && &status[9..12] == b"200"
}

/// One start: milliseconds from exec to the first 200.
fn start_once(command: &[String]) -> f64 {
    let begun = Instant::now();
    let mut child = Command::new(&command[0])
        .args(&command[1..])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", command[0]));
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let addr = first
        .strip_prefix("roster listening on http://")
        .unwrap_or_else(|| panic!("roster's first line was {first:?}"))
        .to_string();
    // Keep reading what it prints, so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    while !healthy(&addr) {
        assert!(begun.elapsed() < START_LIMIT, "no /healthz 200 from {addr}");
        std::thread::sleep(Duration::from_millis(1));
    }
    let elapsed = begun.elapsed();
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(stopped.is_ok_and(|s| s.success()), "cannot stop roster");
    child.wait().expect("roster exits");
    elapsed.as_secs_f64() * 1000.0
}

pub fn measure(args: &Args) {
    let runs: Vec<f64> = (0..args.runs).map(|_| start_once(&args.command)).collect();
    let mut sorted = runs.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    if args.json {
        println!("{}", json!({ "runs_ms": runs, "median_ms": median }));
    } else {
        let shown: Vec<String> = runs.iter().map(|ms| format!("{ms:.0}")).collect();
        println!(
            "start to /healthz 200: median {median:.0} ms of {} runs ({} ms)",
            runs.len(),
            shown.join(", ")
        );
    }
}
