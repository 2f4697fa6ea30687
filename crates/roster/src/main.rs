use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use rand::Rng;
use reqwest::Method;
use roster::client::{events, redeliver, requests, write_atomically, Feed, RequestFilter, Target};
use roster::control::journal::JournalLimits;
use roster::exec::{exec, ExecArgs};
use roster::server::{self, Config};
use roster::tls::TlsSource;
use roster_core::Retention;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "roster",
    version,
    about = "Relationship APIs of Feishu, Tencent Cloud Chat and WeCom, self-hosted"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// List the spaces (Feishu tenants, TIM apps, WeCom corps) of a running roster.
    Spaces {
        #[command(flatten)]
        target: Target,
    },
    /// Return a running roster's spaces (or one) to the state its seed file describes.
    Reset {
        #[command(flatten)]
        target: Target,
        /// Only this space (dialect/key, for example tim/1400000001).
        #[arg(long)]
        space: Option<String>,
    },
    /// Save a running roster's spaces to a file, or load one into it.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Show the requests a running roster answered (newest last), or follow new ones.
    Requests {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        filter: RequestFilter,
        /// Print each request as one line of JSON, with both bodies.
        #[arg(long)]
        json: bool,
        /// Keep printing requests as they arrive.
        #[arg(long, short)]
        follow: bool,
        /// Forget every journaled request instead.
        #[arg(long, conflicts_with_all = ["follow", "json"])]
        clear: bool,
    },
    /// Show the callbacks a running roster delivered: every attempt with the receiver's
    /// answer (oldest first), or follow new ones; with --changes, a space's change feed.
    Events {
        #[command(flatten)]
        target: Target,
        /// Only this space (dialect/key, for example wecom/ww00000000000000).
        #[arg(long)]
        space: Option<String>,
        /// The space's changes instead (every relationship change, oldest first); changes
        /// older than the retention horizon are gone, and roster says which is the oldest kept.
        #[arg(long, requires = "space", conflicts_with = "redeliver")]
        changes: bool,
        /// With --changes: start after this change (a seq).
        #[arg(long, requires = "changes", default_value_t = 0)]
        after: i64,
        /// Print each attempt as one line of JSON, with the request body.
        #[arg(long)]
        json: bool,
        /// Keep printing attempts as they are made.
        #[arg(long, short)]
        follow: bool,
        /// Send the request of this attempt again, as it was, and print the new attempt.
        #[arg(long, conflicts_with = "follow")]
        redeliver: Option<i64>,
    },
    /// List, add or remove a running roster's fault rules.
    #[command(subcommand)]
    Faults(FaultsCommand),
    /// Run a command against a roster of its own (ROSTER_URL, ROSTER_ADMIN_TOKEN and the
    /// seed's credentials in its environment); exits with the command's status.
    Exec(ExecArgs),
    /// Feishu helpers for development and tests.
    #[command(subcommand)]
    Feishu(FeishuCommand),
}

#[derive(Subcommand)]
enum FaultsCommand {
    /// The rules in force.
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Add a rule (JSON), for example
    /// '{"dialect":"wecom","route":"/cgi-bin/tag/addtagusers","error":{"errcode":-1},"count":1}'.
    Add {
        #[command(flatten)]
        target: Target,
        rule: String,
    },
    /// Remove one rule, or every rule with --all.
    Remove {
        #[command(flatten)]
        target: Target,
        #[arg(required_unless_present = "all")]
        id: Option<u64>,
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand)]
enum SnapshotCommand {
    /// Write the spaces (all, or those named) to FILE, replacing it only once complete.
    Save {
        #[command(flatten)]
        target: Target,
        file: PathBuf,
        /// Only this space (dialect/key); repeatable.
        #[arg(long)]
        space: Vec<String>,
    },
    /// Load FILE: each space in it replaces that space's contents, in one transaction.
    Load {
        #[command(flatten)]
        target: Target,
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum FeishuCommand {
    /// Print a login code for a user, as the browser login would give the app; exchange it at
    /// /open-apis/authen/v1/oidc/access_token for a user_access_token.
    LoginCode {
        /// Base URL of the running roster.
        #[arg(long, env = "ROSTER_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, env = "ROSTER_ADMIN_TOKEN")]
        admin_token: String,
        #[arg(long)]
        app_id: String,
        /// The user's tenant-scoped user_id.
        #[arg(long)]
        user_id: String,
        /// PKCE: the code then needs this challenge's verifier at the OAuth v2/v3 endpoint.
        #[arg(long)]
        code_challenge: Option<String>,
        /// `S256` or `plain` (the default).
        #[arg(long, requires = "code_challenge")]
        code_challenge_method: Option<String>,
        /// The OAuth v2/v3 exchange must then name the same redirect_uri.
        #[arg(long)]
        redirect_uri: Option<String>,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, env = "ROSTER_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory of the SQLite database (created if missing).
    #[arg(long, env = "ROSTER_DATA", default_value = "./data")]
    data: PathBuf,
    /// PostgreSQL URL (postgres://...); when set, used instead of SQLite.
    #[arg(long, env = "ROSTER_DATABASE")]
    database: Option<String>,
    /// Connections to PostgreSQL at most (default: four per core, at least 16).
    #[arg(long, env = "ROSTER_POSTGRES_POOL", value_parser = clap::value_parser!(u32).range(1..))]
    postgres_pool: Option<u32>,
    /// Seed file (TOML); without it the built-in demo seed is applied.
    #[arg(long, env = "ROSTER_SEED")]
    seed: Option<PathBuf>,
    /// Bearer token for roster's own /_roster/ routes; a random one is printed when unset.
    #[arg(long, env = "ROSTER_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// A snapshot file to load after the seed (its spaces replace the seed's).
    #[arg(long, env = "ROSTER_SNAPSHOT")]
    snapshot: Option<PathBuf>,
    /// Requests the journal keeps at most (0 turns it off).
    #[arg(long, env = "ROSTER_JOURNAL_ENTRIES", default_value_t = JournalLimits::default().entries)]
    journal_entries: usize,
    /// Bytes the journal keeps at most.
    #[arg(long, env = "ROSTER_JOURNAL_BYTES", default_value_t = JournalLimits::default().bytes)]
    journal_bytes: usize,
    /// Each journaled body is kept up to this many bytes.
    #[arg(long, env = "ROSTER_JOURNAL_BODY_BYTES", default_value_t = JournalLimits::default().body_bytes)]
    journal_body_bytes: usize,
    /// Serve HTTPS with a certificate made once in DATA/tls for localhost, 127.0.0.1 and the
    /// vendors' hosts (open.feishu.cn, console.tim.qq.com, qyapi.weixin.qq.com, ...).
    #[arg(long, env = "ROSTER_TLS")]
    tls: bool,
    /// Serve HTTPS with this PEM certificate chain instead (with --tls-key).
    #[arg(long, env = "ROSTER_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "ROSTER_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Multiplies the vendors' waits between re-sends of a failed callback (0.01 in tests).
    #[arg(long, env = "ROSTER_CALLBACK_RETRY_SCALE", default_value_t = 1.0)]
    callback_retry_scale: f64,
    /// How long the change log is kept (30m, 12h, 7d, ...; 0 keeps everything), and with it
    /// delivered or abandoned callback attempts and tombstones of deleted entities.
    #[arg(long, env = "ROSTER_CHANGES_RETENTION", default_value = "7d", value_parser = parse_retention)]
    changes_retention: Retention,
}

/// A retention: `0`, or a duration of at least a second (humantime: `90s`, `12h`, `7d`).
fn parse_retention(text: &str) -> Result<Retention, String> {
    if text.trim() == "0" {
        return Ok(Retention(None));
    }
    let kept = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if kept < std::time::Duration::from_secs(1) {
        return Err("keep at least 1s, or 0 to keep everything".into());
    }
    Ok(Retention(Some(std::time::Duration::from_secs(
        kept.as_secs(),
    ))))
}

impl ServeArgs {
    fn tls(&self) -> Option<TlsSource> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsSource::Files {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => self.tls.then_some(TlsSource::Generated),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Only a server logs every request; the client commands and exec's command speak alone.
    let default_filter = match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("ROSTER_LOG")
                .unwrap_or_else(|_| EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Spaces { target } => {
            let answer = target.json(target.request(Method::GET, "/spaces")).await?;
            for space in answer["spaces"].as_array().into_iter().flatten() {
                println!("{}", space["space"].as_str().unwrap_or_default());
            }
            Ok(())
        }
        Command::Reset { target, space } => {
            let body = serde_json::json!({ "space": space });
            let answer = target
                .json(target.request(Method::POST, "/reset").json(&body))
                .await?;
            println!("reset: {}", answer["reset"]);
            Ok(())
        }
        Command::Requests {
            target,
            filter,
            json,
            follow,
            clear,
        } => {
            if clear {
                target
                    .send(target.request(Method::DELETE, "/requests"))
                    .await?;
                return Ok(());
            }
            requests(&target, &filter, json, follow).await
        }
        Command::Events {
            target,
            json,
            redeliver: Some(id),
            ..
        } => redeliver(&target, id, json).await,
        Command::Events {
            target,
            space,
            changes,
            after,
            json,
            follow,
            redeliver: None,
        } => {
            let feed = if changes {
                Feed::Changes { after }
            } else {
                Feed::Deliveries
            };
            events(&target, feed, space.as_deref(), json, follow).await
        }
        Command::Faults(FaultsCommand::List { target }) => {
            let answer = target.json(target.request(Method::GET, "/faults")).await?;
            for rule in answer["faults"].as_array().into_iter().flatten() {
                println!("{rule}");
            }
            Ok(())
        }
        Command::Faults(FaultsCommand::Add { target, rule }) => {
            let rule: serde_json::Value = serde_json::from_str(&rule)
                .map_err(|e| anyhow::anyhow!("the rule is not JSON: {e}"))?;
            let request = target.request(Method::POST, "/faults").json(&rule);
            let answer = target.json(request).await?;
            for rule in answer["faults"].as_array().into_iter().flatten() {
                println!("{}", rule["id"]);
            }
            Ok(())
        }
        Command::Faults(FaultsCommand::Remove { target, id, all }) => {
            let path = match (all, id) {
                (true, _) | (false, None) => "/faults".to_string(),
                (false, Some(id)) => format!("/faults/{id}"),
            };
            target.send(target.request(Method::DELETE, &path)).await?;
            Ok(())
        }
        Command::Exec(args) => {
            let code = exec(args).await?;
            std::process::exit(code);
        }
        Command::Snapshot(SnapshotCommand::Save {
            target,
            file,
            space,
        }) => {
            let query: Vec<(&str, &String)> = space.iter().map(|s| ("space", s)).collect();
            let request = target.request(Method::GET, "/snapshot").query(&query);
            let bytes = target.send(request).await?.bytes().await?;
            write_atomically(&file, &bytes)?;
            println!("saved {}", file.display());
            Ok(())
        }
        Command::Snapshot(SnapshotCommand::Load { target, file }) => {
            let bytes = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let answer = target
                .json(target.request(Method::POST, "/snapshot").body(bytes))
                .await?;
            println!("loaded: {}", answer["loaded"]);
            Ok(())
        }
        Command::Feishu(FeishuCommand::LoginCode {
            url,
            admin_token,
            app_id,
            user_id,
            code_challenge,
            code_challenge_method,
            redirect_uri,
        }) => {
            let request = serde_json::json!({
                "app_id": app_id,
                "user_id": user_id,
                "code_challenge": code_challenge,
                "code_challenge_method": code_challenge_method,
                "redirect_uri": redirect_uri,
            });
            let response = reqwest::Client::new()
                .post(format!(
                    "{}/_roster/feishu/login_codes",
                    url.trim_end_matches('/')
                ))
                .bearer_auth(admin_token)
                .json(&request)
                .send()
                .await?;
            let status = response.status();
            let body: serde_json::Value = response.json().await?;
            match body["code"].as_str() {
                Some(code) if status.is_success() => println!("{code}"),
                _ => anyhow::bail!("roster answered {status}: {body}"),
            }
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let tls = args.tls();
    let admin_token = args.admin_token.unwrap_or_else(|| {
        let bytes: [u8; 16] = rand::thread_rng().gen();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    });
    let running = server::start(Config {
        listen: args.listen,
        data: args.data,
        database: args.database,
        postgres_pool: args.postgres_pool,
        seed: args.seed,
        snapshot: args.snapshot,
        journal: JournalLimits {
            entries: args.journal_entries,
            bytes: args.journal_bytes,
            body_bytes: args.journal_body_bytes,
        },
        admin_token: admin_token.clone(),
        tls,
        callback_retry_scale: args.callback_retry_scale,
        changes_retention: args.changes_retention,
    })
    .await?;
    let base = running.base_url();
    // The first stdout line is machine-readable: test harnesses wait for it.
    println!("roster listening on {base}");
    println!("admin token (for {base}/_roster/...): {admin_token}");
    if let Some(tls) = &running.tls {
        for line in tls.describe(&base, running.addr.port()) {
            println!("{line}");
        }
    }
    for line in running.seed.describe(&base) {
        println!("{line}");
    }
    running.until(shutdown_signal()).await;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("install SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
