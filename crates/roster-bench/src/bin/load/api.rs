//! The running roster as the load generator calls it: one keep-alive client and the
//! credentials of `bench-seed.toml`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::RequestBuilder;
use serde::Deserialize;
use serde_json::{json, Value};

const TIM_KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
const TIM_ADMIN: &str = "administrator";
const FEISHU_APP: (&str, &str) = ("cli_bench0000000001", "bench-app-secret");
const WECOM_CORP: (&str, &str) = ("wwbench000000001", "bench-wecom-secret");

/// The TIM apps of `bench-seed.toml`.
#[derive(Clone, Copy)]
pub enum TimApp {
    Main,
    /// Its accounts may follow only [`NEAR_CAP`] others.
    NearCaps,
}

impl TimApp {
    fn sdkappid(self) -> u64 {
        match self {
            TimApp::Main => 1_400_000_000,
            TimApp::NearCaps => 1_400_000_001,
        }
    }
}

/// `limits.following` of [`TimApp::NearCaps`].
pub const NEAR_CAP: u64 = 20;

/// The result code of any dialect's answer (none, as from `/healthz`, is success); the rest
/// of the body is skipped unparsed.
#[derive(Deserialize)]
struct Code {
    #[serde(default, alias = "ErrorCode", alias = "errcode")]
    code: i64,
}

pub struct Target {
    client: reqwest::Client,
    /// roster's processes, each sent the next request in turn.
    urls: Vec<String>,
    next: AtomicUsize,
    /// Query strings with an admin UserSig, per [`TimApp`].
    tim_queries: [String; 2],
    feishu_token: String,
    wecom_token: String,
}

impl Target {
    /// Sign TIM admin UserSigs and fetch the Feishu and WeCom access tokens.
    pub async fn connect(urls: &[String], connections: usize) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(connections)
            .timeout(Duration::from_secs(30))
            .build()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        let tim_query = |app: TimApp| {
            let id = app.sdkappid();
            let sig = roster_tim::usersig::sign(id, TIM_KEY.as_bytes(), TIM_ADMIN, now, 86_400);
            format!("sdkappid={id}&identifier={TIM_ADMIN}&usersig={sig}&random=1&contenttype=json")
        };
        let mut target = Self {
            client,
            urls: urls
                .iter()
                .map(|url| url.trim_end_matches('/').to_string())
                .collect(),
            next: AtomicUsize::new(0),
            tim_queries: [tim_query(TimApp::Main), tim_query(TimApp::NearCaps)],
            feishu_token: String::new(),
            wecom_token: String::new(),
        };
        let credentials = json!({ "app_id": FEISHU_APP.0, "app_secret": FEISHU_APP.1 });
        let path = "/open-apis/auth/v3/tenant_access_token/internal";
        let feishu = json(target.post(path, &credentials)).await?;
        target.feishu_token = feishu["tenant_access_token"]
            .as_str()
            .unwrap_or_default()
            .into();
        let (corp, secret) = WECOM_CORP;
        let path = format!("/cgi-bin/gettoken?corpid={corp}&corpsecret={secret}");
        let wecom = json(target.get(&path)).await?;
        target.wecom_token = wecom["access_token"].as_str().unwrap_or_default().into();
        Ok(target)
    }

    /// The URL of `path` on the next process.
    fn url(&self, path: &str) -> String {
        let next = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}{path}", self.urls[next % self.urls.len()])
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.url(path))
    }

    pub fn post(&self, path: &str, body: &Value) -> RequestBuilder {
        self.client.post(self.url(path)).json(body)
    }

    pub fn tim(&self, app: TimApp, command: &str, body: &Value) -> RequestBuilder {
        let query = &self.tim_queries[app as usize];
        self.post(&format!("/v4/{command}?{query}"), body)
    }

    pub fn feishu_get(&self, path: &str) -> RequestBuilder {
        self.get(path).bearer_auth(&self.feishu_token)
    }

    pub fn feishu(&self, path: &str, body: &Value) -> RequestBuilder {
        self.post(path, body).bearer_auth(&self.feishu_token)
    }

    pub fn wecom(&self, api: &str, body: &Value) -> RequestBuilder {
        let path = format!("/cgi-bin/{api}?access_token={}", self.wecom_token);
        self.post(&path, body)
    }
}

/// The whole JSON answer.
pub async fn json(request: RequestBuilder) -> Result<Value, reqwest::Error> {
    request.send().await?.json().await
}

/// Whether the call succeeded: a 2xx status and a JSON answer with result code 0. Only the
/// code is parsed, so the load generator spends little of the machine's CPU on answers.
pub async fn ok(request: RequestBuilder) -> bool {
    let Ok(response) = request.send().await else {
        return false;
    };
    if !response.status().is_success() {
        return false;
    }
    let Ok(body) = response.bytes().await else {
        return false;
    };
    serde_json::from_slice::<Code>(&body).is_ok_and(|c| c.code == 0)
}
