//! `roster exec -- CMD [ARGS]`: run a command against a roster of its own, started on a free
//! port (on temporary data unless told otherwise) and stopped when the command ends.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use rand::Rng;

use crate::control::journal::JournalLimits;
use crate::server::{self, Config};

#[derive(clap::Args)]
pub struct ExecArgs {
    /// Keep the data in this directory (default: a temporary one, removed afterwards).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// PostgreSQL URL (postgres://...) to use instead of SQLite.
    #[arg(long, env = "ROSTER_DATABASE")]
    pub database: Option<String>,
    /// Seed file (TOML); without it the built-in demo seed is applied.
    #[arg(long, env = "ROSTER_SEED")]
    pub seed: Option<PathBuf>,
    /// The command and its arguments.
    #[arg(required = true, last = true)]
    pub command: Vec<String>,
}

/// Start roster, run the command with `ROSTER_URL`, `ROSTER_ADMIN_TOKEN` and the seed's first
/// credentials in its environment, stop roster; the command's exit code.
pub async fn exec(args: ExecArgs) -> anyhow::Result<i32> {
    let scratch = match &args.data {
        Some(_) => None,
        None => Some(tempfile::tempdir().context("cannot create a temporary directory")?),
    };
    let data = match (&args.data, &scratch) {
        (Some(dir), _) => dir.clone(),
        (None, Some(dir)) => dir.path().to_path_buf(),
        (None, None) => unreachable!("a scratch directory exists without --data"),
    };
    let token: [u8; 16] = rand::thread_rng().gen();
    let admin_token: String = token.iter().map(|b| format!("{b:02x}")).collect();
    let running = server::start(Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data,
        database: args.database,
        postgres_pool: None,
        seed: args.seed,
        snapshot: None,
        journal: JournalLimits::default(),
        admin_token: admin_token.clone(),
        tls: None,
        callback_retry_scale: 1.0,
        changes_retention: roster_core::Retention::DEFAULT,
    })
    .await?;
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let status = tokio::process::Command::new(program)
        .args(rest)
        .env("ROSTER_URL", running.base_url())
        .env("ROSTER_ADMIN_TOKEN", &admin_token)
        .envs(running.seed.env())
        .status()
        .await;
    running.shutdown().await;
    let status = status.with_context(|| format!("cannot run {program}"))?;
    Ok(exit_code(status))
}

/// The command's exit code; a command killed by a signal exits as shells report it (128 + n).
fn exit_code(status: std::process::ExitStatus) -> i32 {
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return 128 + signal;
    }
    status.code().unwrap_or(1)
}
