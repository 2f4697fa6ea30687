//! The server itself: health, wire details, admin routes, seed file, durability.

use crate::common;

use std::io::{Read, Write};

use common::{TestServer, ADMIN_TOKEN};
use serde_json::{json, Value};

roster_store::on_both_backends!(
    |database| super::TestServer::start(database, super::SEED);
    seed_is_idempotent_and_api_data_survives_restarts,
    open_ids_are_per_app,
);

async fn open_ids_are_per_app(server: TestServer) {
    let client = reqwest::Client::new();
    let base = server.base_url();
    let (mine, other) = (
        tenant_token(&client, &base).await,
        token_of(&client, &base, "cli_acme_other", "acme-secret-2").await,
    );
    let alice_mine = get_user(&client, &base, &mine, "alice").await["data"]["user"].clone();
    let alice_other = get_user(&client, &base, &other, "alice").await["data"]["user"].clone();
    assert_ne!(alice_mine["open_id"], alice_other["open_id"]);
    assert_eq!(alice_mine["union_id"], alice_other["union_id"]);
    let by_open_id = |token: &str, open_id: &Value| {
        client
            .get(format!(
                "{base}/open-apis/contact/v3/users/{}",
                open_id.as_str().unwrap()
            ))
            .bearer_auth(token.to_string())
            .send()
    };
    let found: Value = by_open_id(&mine, &alice_mine["open_id"])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["data"]["user"]["user_id"], "alice");
    // The other app's open_id of the same user: the gateway's "cross app", not "not existed".
    let cross = by_open_id(&mine, &alice_other["open_id"]).await.unwrap();
    assert_eq!(cross.status(), 400);
    let cross: Value = cross.json().await.unwrap();
    assert_eq!(cross["code"], 99992361, "{cross}");
    let unknown: Value = by_open_id(&mine, &json!("ou_00000000000000000000000000000000"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unknown["code"], 99992351, "{unknown}");
    server.stop().await;
}

const SEED: &str = r#"
[[feishu.tenants]]
tenant_key = "acme"
name = "Acme Inc."

[[feishu.tenants.apps]]
app_id = "cli_acme_tasks"
app_secret = "acme-secret-1"

[[feishu.tenants.apps]]
app_id = "cli_acme_other"
app_secret = "acme-secret-2"

[[feishu.tenants.users]]
user_id = "alice"
name = "Alice"
"#;

async fn tenant_token(client: &reqwest::Client, base: &str) -> String {
    token_of(client, base, "cli_acme_tasks", "acme-secret-1").await
}

async fn token_of(client: &reqwest::Client, base: &str, app_id: &str, secret: &str) -> String {
    let body: Value = client
        .post(format!(
            "{base}/open-apis/auth/v3/tenant_access_token/internal"
        ))
        .json(&json!({ "app_id": app_id, "app_secret": secret }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["tenant_access_token"].as_str().unwrap().to_string()
}

async fn get_user(client: &reqwest::Client, base: &str, token: &str, user_id: &str) -> Value {
    client
        .get(format!(
            "{base}/open-apis/contact/v3/users/{user_id}?user_id_type=user_id"
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn seed_is_idempotent_and_api_data_survives_restarts(mut server: TestServer) {
    let client = reqwest::Client::new();
    let base = server.base_url();
    let token = tenant_token(&client, &base).await;
    let created: Value = client
        .post(format!(
            "{base}/open-apis/contact/v3/users?user_id_type=user_id"
        ))
        .bearer_auth(&token)
        .json(&json!({ "user_id": "dave", "name": "Dave", "email": "dave@acme.example" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["code"], 0, "{created}");
    let alice = get_user(&client, &base, &token, "alice").await;

    // Same seed again: nothing changes, API-made data stays, tokens stay valid.
    server.restart().await;
    let base = server.base_url();
    assert_eq!(
        get_user(&client, &base, &token, "alice").await["data"],
        alice["data"]
    );
    let dave = get_user(&client, &base, &token, "dave").await;
    assert_eq!(dave["data"]["user"]["name"], "Dave");
    assert_eq!(
        dave["data"]["user"]["open_id"],
        created["data"]["user"]["open_id"]
    );
    server.stop().await;
}

#[tokio::test]
async fn health_and_title_case_headers_on_the_wire() {
    let server = TestServer::start(None, roster::seed::DEMO).await;
    // Read the raw response: header names must be written Title-Case for the Python SDK.
    let addr = server.running().addr;
    let raw = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /open-apis/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        raw
    })
    .await
    .unwrap();
    assert!(raw.starts_with("HTTP/1.1 404"), "{raw}");
    assert!(
        raw.contains("\r\nContent-Type: application/json; charset=utf-8\r\n"),
        "{raw}"
    );
    assert!(raw.contains("\r\nX-Tt-Logid: "), "{raw}");
    assert!(raw.contains(r#""code":99991201"#), "{raw}");

    let health = reqwest::get(format!("{}/healthz", server.base_url()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let unknown = reqwest::get(format!("{}/nowhere", server.base_url()))
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        unknown.json::<Value>().await.unwrap()["error"],
        "no such route"
    );
    server.stop().await;
}

#[tokio::test]
async fn feishu_gateway_token_errors() {
    let server = TestServer::start(None, roster::seed::DEMO).await;
    let client = reqwest::Client::new();
    let url = format!(
        "{}/open-apis/contact/v3/users/alice?user_id_type=user_id",
        server.base_url()
    );
    for (authorization, code) in [
        (None, 99991661),
        (Some("Bearer"), 99991661),
        (Some("Bearer "), 99991661),
        (Some("Bearer x-123"), 99991671),
        (Some("Bearer t-00"), 99991663),
        (Some("Bearer a-00"), 99991664),
        (Some("Bearer u-00"), 99991668),
    ] {
        let mut request = client.get(&url);
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 400, "{authorization:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], code, "{authorization:?}: {body}");
        assert!(body["error"]["log_id"].is_string());
    }
    // The token is checked before the body is read, whatever the route family.
    for path in [
        "/open-apis/contact/v3/users",
        "/open-apis/im/v1/chats",
        "/open-apis/apaas/v1/user_task/query",
        "/open-apis/task/v1/tasks",
    ] {
        let response = client
            .post(format!("{}{path}", server.base_url()))
            .header("Authorization", "Bearer t-00")
            .body("{ not json")
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], 99991663, "{path}: {body}");
    }
    // So is the token's kind: a user token on tenant-only routes, whatever the body.
    let user_token = demo_user_token(&client, &server.base_url()).await;
    for path in [
        "/open-apis/contact/v3/users",
        "/open-apis/im/v1/chats",
        "/open-apis/apaas/v1/user_task/query",
    ] {
        let body: Value = client
            .post(format!("{}{path}", server.base_url()))
            .bearer_auth(&user_token)
            .body("{ not json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["code"], 99991668, "{path}: {body}");
        assert_eq!(
            body["msg"], "user access token not support",
            "{path}: {body}"
        );
    }
    server.stop().await;
}

/// A user access token of the demo seed's alice, through a login code and the OIDC exchange.
async fn demo_user_token(client: &reqwest::Client, base: &str) -> String {
    let code: Value = client
        .post(format!("{base}/_roster/feishu/login_codes"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({ "app_id": "cli_demo00000000001", "user_id": "alice" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let app = token_of(client, base, "cli_demo00000000001", "demo-app-secret").await;
    let tokens: Value = client
        .post(format!("{base}/open-apis/authen/v1/oidc/access_token"))
        .bearer_auth(app)
        .json(&json!({ "grant_type": "authorization_code", "code": code["code"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["data"]["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn admin_routes_need_the_admin_token() {
    let server = TestServer::start(None, roster::seed::DEMO).await;
    let client = reqwest::Client::new();
    let clock = format!("{}/_roster/clock", server.base_url());
    let denied = client
        .post(&clock)
        .json(&json!({"offset_seconds": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    let wrong = client
        .get(&clock)
        .bearer_auth("not-it")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let moved: Value = client
        .post(&clock)
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"offset_seconds": 3600}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(moved["offset_seconds"], 3600);
    let bad = client
        .post(&clock)
        .bearer_auth(ADMIN_TOKEN)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    server.stop().await;
}

#[tokio::test]
async fn a_bad_seed_file_stops_start_up_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for (seed, expected) in [
        ("[unknown]\nx = 1", "unknown field `unknown`"),
        ("[[feishu.tenants]]\ntenant_key = \"a\"\n[feishu.tenants.limits]\nnope = 1", "unknown limit"),
        (
            "[[feishu.tenants]]\ntenant_key = \"a\"\n[[feishu.tenants.apps]]\napp_id = \"x\"\napp_secret = \"s\"\n\
             [[feishu.tenants]]\ntenant_key = \"b\"\n[[feishu.tenants.apps]]\napp_id = \"x\"\napp_secret = \"s\"",
            "declared twice",
        ),
    ] {
        let path = dir.path().join("seed.toml");
        std::fs::write(&path, seed).unwrap();
        let error = match roster::server::start(roster::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data: dir.path().join("data"),
            database: None,
            postgres_pool: None,
            seed: Some(path),
            snapshot: None,
            journal: Default::default(),
            admin_token: ADMIN_TOKEN.into(),
            tls: None,
            callback_retry_scale: 1.0,
            changes_retention: roster_core::Retention::DEFAULT,
        })
        .await
        {
            Ok(_) => panic!("seed {seed:?} was accepted"),
            Err(e) => format!("{e:#}"),
        };
        assert!(error.contains(expected), "{error}");
    }
}
