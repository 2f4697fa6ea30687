//! The `roster` binary's subcommands, run as a user would.

use crate::common;

use std::process::Command;

use common::{TestServer, ADMIN_TOKEN};
use serde_json::{json, Value};

const SEED: &str = r#"
[[feishu.tenants]]
tenant_key = "acme"
[[feishu.tenants.apps]]
app_id = "cli_acme"
app_secret = "acme-secret"
[[feishu.tenants.users]]
user_id = "alice"
name = "Alice"
"#;

fn login_code(url: &str, user_id: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_roster"))
        .args([
            "feishu",
            "login-code",
            "--url",
            url,
            "--admin-token",
            ADMIN_TOKEN,
        ])
        .args(["--app-id", "cli_acme", "--user-id", user_id])
        .output()
        .expect("run roster")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_code_subcommand_gives_a_code_the_oidc_exchange_accepts() {
    let server = TestServer::start(None, SEED).await;
    let url = server.base_url();
    let output = tokio::task::spawn_blocking({
        let url = url.clone();
        move || login_code(&url, "alice")
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    let code = String::from_utf8(output.stdout).unwrap().trim().to_string();

    let client = reqwest::Client::new();
    let token: Value = client
        .post(format!("{url}/open-apis/auth/v3/app_access_token/internal"))
        .json(&json!({ "app_id": "cli_acme", "app_secret": "acme-secret" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let exchange = |code: String| {
        client
            .post(format!("{url}/open-apis/authen/v1/oidc/access_token"))
            .bearer_auth(token["app_access_token"].as_str().unwrap())
            .json(&json!({ "grant_type": "authorization_code", "code": code }))
            .send()
    };
    let tokens: Value = exchange(code.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(tokens["code"], 0, "{tokens}");
    let user_token = tokens["data"]["access_token"].as_str().unwrap();
    let me: Value = client
        .get(format!("{url}/open-apis/authen/v1/user_info"))
        .bearer_auth(user_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["data"]["user_id"], "alice", "{me}");
    // Single use.
    let again: Value = exchange(code).await.unwrap().json().await.unwrap();
    assert_eq!(again["code"], 20003, "{again}");

    // An unknown user is refused with a message and a failing exit status.
    let output = tokio::task::spawn_blocking(move || login_code(&url, "nobody"))
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no such user_id"));
    server.stop().await;
}
