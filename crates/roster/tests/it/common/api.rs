//! A client of a [`TestServer`] speaking every dialect the way the tests need it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::{ScratchDatabase, TestServer, ADMIN_TOKEN};

/// The demo seed's do1 developer credentials, as a query string.
const DEMO_QWIF_CREDENTIALS: &str = "developerId=qw00000000000000000000000000000001&developerKey=cm9zdGVyLWRlbW8tZG8xLWRldmVsb3Blci1rZXk%3D";

pub struct Api {
    pub server: TestServer,
    pub http: reqwest::Client,
    pub url: String,
}

impl Api {
    pub async fn start(database: Option<ScratchDatabase>, seed: &str) -> Self {
        let server = TestServer::start(database, seed).await;
        Api {
            url: server.base_url(),
            server,
            http: reqwest::Client::new(),
        }
    }

    /// On the built-in demo seed.
    pub async fn demo(database: Option<ScratchDatabase>) -> Self {
        Self::start(database, roster::seed::DEMO).await
    }

    /// `(status, JSON body)` of a POST of `body`, as JSON, with an optional bearer token.
    pub async fn post(&self, path: &str, bearer: Option<&str>, body: &str) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// A POST to roster's own `/_roster{path}` with the admin token.
    pub async fn admin(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post(
            &format!("/_roster{path}"),
            Some(ADMIN_TOKEN),
            &body.to_string(),
        )
        .await
    }

    /// A GET with an optional bearer token.
    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Value {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap().json().await.unwrap()
    }

    /// A Feishu `"tenant"` or `"app"` access token.
    pub async fn feishu_token(&self, kind: &str, app_id: &str, secret: &str) -> String {
        let body = serde_json::json!({ "app_id": app_id, "app_secret": secret });
        let (_, answer) = self
            .post(
                &format!("/open-apis/auth/v3/{kind}_access_token/internal"),
                None,
                &body.to_string(),
            )
            .await;
        answer[format!("{kind}_access_token")]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The path and query of a TIM command called as `admin` of `app`, signed with `key`.
    pub fn tim_path(&self, app: u64, key: &str, admin: &str, command: &str) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let sig = roster_tim::usersig::sign(app, key.as_bytes(), admin, now.as_secs() as i64, 3600);
        format!("/v4/{command}?sdkappid={app}&identifier={admin}&usersig={sig}&random=1&contenttype=json")
    }

    /// A do1 qwif call on the demo corp: `query` after the token, `data` as the form field.
    pub async fn demo_qwif(&self, api: &str, query: &str, data: &str) -> Value {
        let token = self
            .get(
                &format!("/qwcgi/portal/api/qwsecurity!getToken.action?{DEMO_QWIF_CREDENTIALS}"),
                None,
            )
            .await;
        let token = token["data"]["token"].as_str().unwrap();
        self.http
            .post(format!(
                "{}/qwcgi/api/{api}?token={token}&corpId=wwroster00demo01{query}",
                self.url
            ))
            .form(&[("data", data)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}
