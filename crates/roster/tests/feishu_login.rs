//! Feishu user logins over HTTP: login codes and refresh tokens redeemed at the v1 endpoints,
//! on SQLite and (when ROSTER_TEST_DATABASE_URL is set) PostgreSQL.

mod common;

use common::api::Api;
use common::ADMIN_TOKEN;
use serde_json::{json, Value};

const SEED: &str = r#"
[[feishu.tenants]]
tenant_key = "acme"
[[feishu.tenants.apps]]
app_id = "cli_acme_a"
app_secret = "secret-a"
[[feishu.tenants.apps]]
app_id = "cli_acme_b"
app_secret = "secret-b"
[[feishu.tenants.users]]
user_id = "alice"
name = "Alice"
"#;

struct Server(Api);

impl Server {
    async fn start(database: Option<String>) -> Self {
        Server(Api::start(database, SEED).await)
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.0.post(path, token, &body.to_string()).await
    }

    async fn app_token(&self, app: &str) -> String {
        let secret = if app == "cli_acme_a" {
            "secret-a"
        } else {
            "secret-b"
        };
        self.0.feishu_token("app", app, secret).await
    }

    async fn login_code(&self, app: &str, extra: Value) -> String {
        let mut body = json!({ "app_id": app, "user_id": "alice" });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (status, answer) = self
            .post("/_roster/feishu/login_codes", Some(ADMIN_TOKEN), body)
            .await;
        assert_eq!(status, 200, "{answer}");
        answer["code"].as_str().unwrap().to_string()
    }

    /// `(code, data)` of a v1 OIDC exchange of `code` by `app`.
    async fn exchange(&self, app: &str, code: &str) -> (i64, Value) {
        let token = self.app_token(app).await;
        let (status, answer) = self
            .post(
                "/open-apis/authen/v1/oidc/access_token",
                Some(&token),
                json!({ "grant_type": "authorization_code", "code": code }),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        (answer["code"].as_i64().unwrap(), answer["data"].clone())
    }

    async fn refresh(&self, app: &str, refresh_token: &str) -> (i64, Value) {
        let token = self.app_token(app).await;
        let (_, answer) = self
            .post(
                "/open-apis/authen/v1/oidc/refresh_access_token",
                Some(&token),
                json!({ "grant_type": "refresh_token", "refresh_token": refresh_token }),
            )
            .await;
        (answer["code"].as_i64().unwrap(), answer["data"].clone())
    }
}

on_both_backends!(
    super::Server::start;
    refused_redemptions_leave_the_credential_to_its_owner,
    racing_redemptions_have_one_winner,
);

async fn refused_redemptions_leave_the_credential_to_its_owner(s: Server) {
    let code = s.login_code("cli_acme_b", json!({})).await;
    // App A presents app B's code: refused, and the code is still B's.
    assert_eq!(s.exchange("cli_acme_a", &code).await.0, 20024);
    let token_a = s.app_token("cli_acme_a").await;
    for malformed in [
        json!({ "grant_type": "refresh_token", "code": code }),
        json!({ "grant_type": "authorization_code" }),
    ] {
        let (_, answer) = s
            .post(
                "/open-apis/authen/v1/oidc/access_token",
                Some(&token_a),
                malformed,
            )
            .await;
        assert!(answer["code"].as_i64().unwrap() > 0, "{answer}");
    }
    let (code_b, data) = s.exchange("cli_acme_b", &code).await;
    assert_eq!(code_b, 0, "{data}");
    // Used once, it is gone.
    assert_eq!(s.exchange("cli_acme_b", &code).await.0, 20003);

    let refresh = data["refresh_token"].as_str().unwrap();
    assert_eq!(s.refresh("cli_acme_a", refresh).await.0, 20024);
    let (refreshed, data) = s.refresh("cli_acme_b", refresh).await;
    assert_eq!(refreshed, 0, "{data}");
    assert_ne!(data["refresh_token"], refresh);
    assert_eq!(s.refresh("cli_acme_b", refresh).await.0, 20026);

    // An expired code is refused as expired, again and again: never consumed.
    let late = s.login_code("cli_acme_a", json!({})).await;
    let (status, _) = s
        .post(
            "/_roster/clock",
            Some(ADMIN_TOKEN),
            json!({ "offset_seconds": 600 }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(s.exchange("cli_acme_a", &late).await.0, 20004);
    assert_eq!(s.exchange("cli_acme_a", &late).await.0, 20004);
    s.0.server.stop().await;
}

async fn racing_redemptions_have_one_winner(s: Server) {
    for _ in 0..5 {
        let code = s.login_code("cli_acme_a", json!({})).await;
        let (first, second) = tokio::join!(
            s.exchange("cli_acme_a", &code),
            s.exchange("cli_acme_a", &code)
        );
        let mut codes = [first.0, second.0];
        codes.sort_unstable();
        assert_eq!(codes, [0, 20003]);
    }
    s.0.server.stop().await;
}
