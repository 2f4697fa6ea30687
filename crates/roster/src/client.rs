//! The `roster` subcommands that steer a running roster through its `/_roster/` routes.

use std::path::Path;

use anyhow::{bail, Context};
use reqwest::{Method, RequestBuilder, Response};

/// Where the running roster is and how to authenticate to its control plane.
#[derive(clap::Args, Clone)]
pub struct Target {
    /// Base URL of the running roster.
    #[arg(long, env = "ROSTER_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    #[arg(long, env = "ROSTER_ADMIN_TOKEN")]
    pub admin_token: String,
}

impl Target {
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        reqwest::Client::new()
            .request(
                method,
                format!("{}/_roster{path}", self.url.trim_end_matches('/')),
            )
            .bearer_auth(&self.admin_token)
    }

    /// Send, and fail with roster's message unless the answer is a success.
    pub async fn send(&self, request: RequestBuilder) -> anyhow::Result<Response> {
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach roster at {}", self.url))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"].as_str().map(String::from))
            .unwrap_or(body);
        bail!("roster answered {status}: {message}")
    }

    pub async fn json(&self, request: RequestBuilder) -> anyhow::Result<serde_json::Value> {
        Ok(self.send(request).await?.json().await?)
    }
}

/// Write `bytes` to `path` through a temporary file in the same directory and a rename, so a
/// failed save never leaves a partial file or destroys the previous one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Filters of `roster requests`, as the journal's query takes them.
#[derive(clap::Args, Clone, Default)]
pub struct RequestFilter {
    /// feishu, tim, wecom or qwif.
    #[arg(long)]
    pub dialect: Option<String>,
    /// dialect/key.
    #[arg(long)]
    pub space: Option<String>,
    /// Requests whose path contains this.
    #[arg(long)]
    pub path: Option<String>,
    /// The vendor code answered (0 for success).
    #[arg(long)]
    pub code: Option<String>,
    /// How many (newest first), at most 1000.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

impl RequestFilter {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = vec![("limit", self.limit.to_string())];
        let optional = [
            ("dialect", &self.dialect),
            ("space", &self.space),
            ("path", &self.path),
            ("code", &self.code),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                query.push((name, value.clone()));
            }
        }
        query
    }
}

/// One journal entry as one line: when, what, how it ended.
fn request_line(entry: &serde_json::Value) -> String {
    let text = |field: &str| match &entry[field] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".into(),
        other => other.to_string(),
    };
    let mut line = format!(
        "{:>6} {} {:<6} {:<6} {} {} code={} {:.1}ms space={}",
        text("id"),
        text("time_ms"),
        text("dialect"),
        text("method"),
        text("path"),
        text("status"),
        text("vendor_code"),
        entry["latency_ms"].as_f64().unwrap_or(0.0),
        text("space"),
    );
    if !entry["fault"].is_null() {
        line += &format!(" fault={}", entry["fault"]);
    }
    line
}

/// `roster requests`: the newest requests, or with `follow` every new one as it arrives.
pub async fn requests(
    target: &Target,
    filter: &RequestFilter,
    json: bool,
    follow: bool,
) -> anyhow::Result<()> {
    let print = |entry: &serde_json::Value| {
        if json {
            println!("{entry}");
        } else {
            println!("{}", request_line(entry));
        }
    };
    let request = target
        .request(Method::GET, "/requests")
        .query(&filter.query());
    let page = target.json(request).await?;
    let entries = page["requests"].as_array().cloned().unwrap_or_default();
    // Oldest first, as a log reads.
    for entry in entries.iter().rev() {
        print(entry);
    }
    if !follow {
        return Ok(());
    }
    let mut last = entries.first().and_then(|e| e["id"].as_u64()).unwrap_or(0);
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let mut query = filter.query();
        query.push(("after", last.to_string()));
        query.retain(|(name, _)| *name != "limit");
        query.push(("limit", "1000".into()));
        let request = target.request(Method::GET, "/requests").query(&query);
        let page = target.json(request).await?;
        for entry in page["requests"].as_array().into_iter().flatten().rev() {
            last = last.max(entry["id"].as_u64().unwrap_or(0));
            print(entry);
        }
    }
}

/// One delivery attempt as one line: when, what, where, how the receiver answered.
fn delivery_line(attempt: &serde_json::Value) -> String {
    let answer = match (&attempt["status"], attempt["error"].as_str()) {
        (serde_json::Value::Null, Some(error)) => format!("no answer: {error}"),
        (status, _) => format!("{status} {}", attempt["response"].as_str().unwrap_or("")),
    };
    format!(
        "{:>6} {} change={} {} try {} -> {} {}",
        attempt["id"],
        attempt["at"],
        attempt["change_seq"],
        attempt["event"].as_str().unwrap_or("-"),
        attempt["attempt"],
        attempt["url"].as_str().unwrap_or("-"),
        answer.trim_end(),
    )
}

/// `roster events --redeliver ID`: send attempt `ID`'s request again; print the new attempt.
pub async fn redeliver(target: &Target, id: i64, json: bool) -> anyhow::Result<()> {
    let path = format!("/deliveries/{id}/redeliver");
    let answer = target.json(target.request(Method::POST, &path)).await?;
    let attempt = &answer["delivery"];
    if json {
        println!("{attempt}");
    } else {
        println!("{}", delivery_line(attempt));
    }
    Ok(())
}

/// What `roster events` pages through.
#[derive(Debug, Clone, Copy)]
pub enum Feed {
    /// The callback deliveries: every attempt with the receiver's answer.
    Deliveries,
    /// A space's change feed, after this seq (410 past the retention horizon: roster's
    /// message names the oldest change kept).
    Changes { after: i64 },
}

impl Feed {
    fn path_and_items(self) -> (&'static str, &'static str) {
        match self {
            Feed::Deliveries => ("/deliveries", "deliveries"),
            Feed::Changes { .. } => ("/changes", "changes"),
        }
    }

    fn line(self, item: &serde_json::Value) -> String {
        match self {
            Feed::Deliveries => delivery_line(item),
            Feed::Changes { .. } => change_line(item),
        }
    }
}

fn change_line(change: &serde_json::Value) -> String {
    let entity = |e: &serde_json::Value| {
        format!(
            "{}/{}",
            e["kind"].as_str().unwrap_or("-"),
            e["key"].as_str().unwrap_or("-")
        )
    };
    let mut line = format!(
        "{:>6} {} {} {}",
        change["seq"],
        change["at"],
        change["op"].as_str().unwrap_or("-"),
        entity(&change["subject"])
    );
    if let Some(relation) = change["relation"].as_str() {
        line += &format!(" {relation} {}", entity(&change["member"]));
    }
    line
}

/// `roster events`: the callback deliveries or a space's changes (oldest first); with
/// `follow` every new one as it comes.
pub async fn events(
    target: &Target,
    feed: Feed,
    space: Option<&str>,
    json: bool,
    follow: bool,
) -> anyhow::Result<()> {
    let (path, items) = feed.path_and_items();
    let mut after = match feed {
        Feed::Changes { after } => after,
        Feed::Deliveries => 0,
    };
    loop {
        let mut query = vec![("after", after.to_string()), ("limit", "1000".to_string())];
        if let Some(space) = space {
            query.push(("space", space.to_string()));
        }
        let request = target.request(Method::GET, path).query(&query);
        let page = target.json(request).await?;
        let found = page[items].as_array().cloned().unwrap_or_default();
        for item in &found {
            if json {
                println!("{item}");
            } else {
                println!("{}", feed.line(item));
            }
        }
        after = page["next"].as_i64().unwrap_or(after);
        if found.len() < 1000 {
            if !follow {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }
}
