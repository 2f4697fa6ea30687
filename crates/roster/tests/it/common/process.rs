//! The real `roster` binary as a child process, for tests that kill it or measure it.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A `roster serve` process; killed (SIGKILL) when dropped, so a failing test leaves none.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// `roster serve` on the seed file `dir/seed.toml`, data in `dir/data`, stderr to `log`,
    /// with `extra` arguments.
    pub async fn start(
        dir: &Path,
        database: Option<&str>,
        log: &Path,
        admin_token: &str,
        extra: &[&str],
    ) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_roster"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.join("data"))
            .arg("--seed")
            .arg(dir.join("seed.toml"))
            .args(["--admin-token", admin_token])
            .args(extra)
            .env("ROSTER_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap());
        if let Some(url) = database {
            command.args(["--database", url]);
        }
        let mut child = command.spawn().expect("run roster serve");
        // Read the first stdout line on a thread, which then drains the rest so the server
        // never blocks on a full pipe.
        let stdout = child.stdout.take().unwrap();
        let (first_line, line) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut lines = std::io::BufReader::new(stdout).lines();
            let _ = first_line.send(lines.next());
            lines.for_each(drop);
        });
        let line = match tokio::time::timeout(START_TIMEOUT, line).await {
            Ok(Ok(Some(Ok(line)))) => line,
            _ => {
                let _ = child.kill();
                panic!(
                    "roster did not start: {}",
                    std::fs::read_to_string(log).unwrap()
                );
            }
        };
        let base = line
            .strip_prefix("roster listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        let server = Self { child, base };
        server.wait_healthy().await;
        server
    }

    pub async fn wait_healthy(&self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let response = http.get(format!("{}/healthz", self.base)).send().await;
            if response.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(Instant::now() < deadline, "/healthz never answered 200");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: no graceful shutdown, no flush, whatever is in flight.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL roster");
        self.child.wait().unwrap();
    }

    /// SIGTERM, as an operator or a supervisor stops a server; how long it took to exit, if
    /// it did within `limit` (else it is killed).
    pub fn terminate(mut self, limit: Duration) -> Option<Duration> {
        let sent = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        while sent.elapsed() < limit {
            if self.child.try_wait().expect("wait for roster").is_some() {
                return Some(sent.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The resident memory of the process, in kB (Linux).
    pub fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
