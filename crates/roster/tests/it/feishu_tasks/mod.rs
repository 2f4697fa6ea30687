//! Feishu Task v1 over HTTP: a real server on 127.0.0.1:0, on SQLite and (when
//! ROSTER_TEST_DATABASE_URL is set) PostgreSQL.

mod members;
mod requests;
mod tasks;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common;
use common::{RawDatabase, TestServer, ADMIN_TOKEN};

const SEED: &str = r#"
[[feishu.tenants]]
tenant_key = "acme"
[[feishu.tenants.apps]]
app_id = "cli_acme"
app_secret = "acme-secret"
[[feishu.tenants.apps]]
app_id = "cli_acme_other"
app_secret = "other-secret"
[[feishu.tenants.users]]
user_id = "alice"
name = "Alice"
[[feishu.tenants.users]]
user_id = "bob"
name = "Bob"
[[feishu.tenants.users]]
user_id = "carol"
name = "Carol"
[[feishu.tenants.users]]
user_id = "dave"
name = "Dave"
[[feishu.tenants.users]]
user_id = "erin"
name = "Erin"
[feishu.tenants.limits]
task_followers = 3
task_collaborators = 2
# These tests send bursts; the rate limits are tested on the tenants below.
task_rate_limit = 0

[[feishu.tenants]]
tenant_key = "globex"
[[feishu.tenants.apps]]
app_id = "cli_globex"
app_secret = "globex-secret"
[[feishu.tenants.users]]
user_id = "alice"
name = "Alice of Globex"

[[feishu.tenants]]
tenant_key = "throttled"
[[feishu.tenants.apps]]
app_id = "cli_throttled"
app_secret = "throttled-secret"
[[feishu.tenants.users]]
user_id = "alice"
name = "Alice"
[feishu.tenants.limits]
task_requests_per_minute = 3
task_create_requests_per_minute = 2

[[feishu.tenants]]
tenant_key = "unthrottled"
[[feishu.tenants.apps]]
app_id = "cli_unthrottled"
app_secret = "unthrottled-secret"
[feishu.tenants.limits]
task_rate_limit = 0
task_requests_per_minute = 1
task_create_requests_per_minute = 1
"#;

struct Server {
    inner: TestServer,
    http: reqwest::Client,
    url: String,
}

impl Server {
    async fn start(database: Option<common::ScratchDatabase>) -> Self {
        let inner = TestServer::start(database, SEED).await;
        Server {
            url: inner.base_url(),
            inner,
            http: reqwest::Client::new(),
        }
    }

    /// Stop gracefully and start again on the same database.
    async fn restart(&mut self) {
        self.inner.restart().await;
        self.url = self.inner.base_url();
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<String>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}/open-apis{path}", self.url));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body = response.json().await.unwrap();
        (status, body)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.send(method, path, token, body.map(|b| b.to_string()))
            .await
    }

    async fn ok(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
        let (status, body) = self.call(method, path, token, body).await;
        assert_eq!(
            (status, body["code"].as_i64()),
            (StatusCode::OK, Some(0)),
            "{body}"
        );
        body["data"].clone()
    }

    /// A `"tenant"` or `"app"` access token of an app.
    async fn access_token(&self, kind: &str, app_id: &str, secret: &str) -> String {
        let body = json!({ "app_id": app_id, "app_secret": secret });
        let path = format!("/auth/v3/{kind}_access_token/internal");
        let (_, answer) = self.call(Method::POST, &path, "", Some(body)).await;
        answer[format!("{kind}_access_token")]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn tenant_token(&self, app_id: &str, secret: &str) -> String {
        self.access_token("tenant", app_id, secret).await
    }

    /// A user access token through the login-code route and the OIDC exchange.
    async fn user_token(&self, app_id: &str, secret: &str, user_id: &str) -> String {
        let code: Value = self
            .http
            .post(format!("{}/_roster/feishu/login_codes", self.url))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({ "app_id": app_id, "user_id": user_id }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let tenant = self.tenant_token(app_id, secret).await;
        let body = json!({ "grant_type": "authorization_code", "code": code["code"] });
        let data = self
            .ok(
                Method::POST,
                "/authen/v1/oidc/access_token",
                &tenant,
                Some(body),
            )
            .await;
        data["access_token"].as_str().unwrap().to_string()
    }

    async fn advance_clock(&self, seconds: i64) {
        let response = self
            .http
            .post(format!("{}/_roster/clock", self.url))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({ "offset_seconds": seconds }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// The wire id of `user_id` of the given type, as `token`'s app sees it.
    async fn id_of(&self, token: &str, user_id: &str, id_type: &str) -> String {
        let data = self
            .ok(
                Method::GET,
                &format!("/contact/v3/users/{user_id}?user_id_type=user_id"),
                token,
                None,
            )
            .await;
        data["user"][id_type].as_str().unwrap().to_string()
    }

    async fn create_task(&self, token: &str, extra: Value) -> String {
        let mut body = json!({
            "summary": "Prepare the report",
            "origin": { "platform_i18n_name": "{\"en_us\": \"Tests\"}" },
        });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let data = self
            .ok(Method::POST, "/task/v1/tasks", token, Some(body))
            .await;
        data["task"]["id"].as_str().unwrap().to_string()
    }

    /// Every member of `role` ("followers"/"collaborators"), as user_ids, paging through.
    async fn members(&self, token: &str, task: &str, role: &str) -> Vec<String> {
        let mut ids = Vec::new();
        let mut page_token = String::new();
        loop {
            let data = self
                .ok(
                    Method::GET,
                    &format!(
                        "/task/v1/tasks/{task}/{role}?user_id_type=user_id&page_size=2&page_token={page_token}"
                    ),
                    token,
                    None,
                )
                .await;
            for item in data["items"].as_array().unwrap() {
                ids.push(item["id"].as_str().unwrap().to_string());
            }
            if data["has_more"] != json!(true) {
                return ids;
            }
            page_token = data["page_token"].as_str().unwrap().to_string();
            assert!(!page_token.is_empty());
        }
    }
}

/// `(status, code)` of a response, for terse assertions.
fn outcome((status, body): &(StatusCode, Value)) -> (u16, i64) {
    (status.as_u16(), body["code"].as_i64().unwrap())
}
