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
