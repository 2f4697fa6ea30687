//! The control plane: reset and snapshots, through HTTP and through the `roster` subcommands,
//! on both backends, with changes made through the vendor APIs.

mod common;

use std::process::Command;

use common::{Client, TestServer, ADMIN_TOKEN};
use roster::seed::DEMO;
use serde_json::{json, Value};

const CORP: &str = "wwroster00demo01";
const SECRET: &str = "roster-demo-wecom-secret";
const SDKAPPID: u64 = 1400000000;
const TIM_KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

impl Client {
    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}/_roster{path}", self.base))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn tag_members(&self, token: &str) -> Vec<String> {
        let url = format!(
            "{}/cgi-bin/tag/get?access_token={token}&tagid=1008",
            self.base
        );
        let answer = self.send(self.http.get(url)).await;
        let mut ids: Vec<String> = answer["userlist"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userid"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    }

    async fn tim(&self, path: &str, body: Value) -> Value {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let sig =
            roster_tim::usersig::sign(SDKAPPID, TIM_KEY.as_bytes(), "administrator", now, 3600);
        let url = format!(
            "{}/v4/{path}?sdkappid={SDKAPPID}&identifier=administrator&usersig={sig}&random=1&contenttype=json",
            self.base
        );
        self.send(self.http.post(url).json(&body)).await
    }

    async fn following(&self, account: &str) -> usize {
        let answer = self
            .tim(
                "follow/follow_get",
                json!({ "From_Account": account, "FollowType": 2, "StartCursor": "", "WantNum": 100 }),
            )
            .await;
        answer["FollowItem"].as_array().map_or(0, Vec::len)
    }
}

fn roster_command(args: &[&str], url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(args)
        .env("ROSTER_URL", url)
        .env("ROSTER_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .expect("run roster")
}

async fn run(args: Vec<String>, url: String) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        roster_command(&args, &url)
    })
    .await
    .unwrap()
}

async fn start(database: Option<String>) -> TestServer {
    TestServer::start(database, DEMO).await
}

on_both_backends!(super::start;
    reset_returns_every_space_or_one_to_the_seed,
    snapshot_saves_and_loads_through_the_subcommands,
);

async fn reset_returns_every_space_or_one_to_the_seed(server: TestServer) {
    let client = Client::of(&server);
    let token = client.wecom_token(CORP, SECRET).await;
    let seeded = client.tag_members(&token).await;
    let added = client
        .wecom(
            &token,
            "tag/addtagusers",
            json!({ "tagid": 1008, "userlist": ["lisi", "wangwu"] }),
        )
        .await;
    assert_eq!(added["errcode"], 0, "{added}");
    let created = client
        .wecom(
            &token,
            "user/create",
            json!({ "userid": "newbie", "name": "New", "department": [1], "mobile": "13800000000" }),
        )
        .await;
    assert_eq!(created["errcode"], 0, "{created}");
    let followed = client
        .tim(
            "follow/follow_add",
            json!({ "From_Account": "UserID_001", "FollowItem": [{ "To_Account": "UserID_002" }] }),
        )
        .await;
    assert_eq!(followed["ErrorCode"], 0, "{followed}");

    // One space: the WeCom corp returns to its seed; the TIM follow stays.
    let (status, answer) = client
        .admin(
            reqwest::Method::POST,
            "/reset",
            Some(json!({ "space": format!("wecom/{CORP}") })),
        )
        .await;
    assert_eq!(
        (status, &answer["reset"]),
        (200, &json!([format!("wecom/{CORP}")]))
    );
    // The token of the corp's earlier credentials stops working, as after a secret change.
    let stale = client.wecom(&token, "tag/get", json!({})).await;
    assert_eq!(stale["errcode"], 40014, "{stale}");
    let token = client.wecom_token(CORP, SECRET).await;
    assert_eq!(client.tag_members(&token).await, seeded);
    let url = format!(
        "{}/cgi-bin/user/get?access_token={token}&userid=newbie",
        client.base
    );
    assert_eq!(client.send(client.http.get(url)).await["errcode"], 60111);
    assert_eq!(client.following("UserID_001").await, 1);

    // Everything, through the subcommand; Feishu tenant tokens issued before stop working.
    let feishu_user = |token: String| {
        let url = format!(
            "{}/open-apis/contact/v3/users/alice?user_id_type=user_id",
            client.base
        );
        client.send(client.http.get(url).bearer_auth(token))
    };
    let tenant_token = client
        .send(
            client
                .http
                .post(format!(
                    "{}/open-apis/auth/v3/tenant_access_token/internal",
                    client.base
                ))
                .json(&json!({ "app_id": "cli_demo00000000001", "app_secret": "demo-app-secret" })),
        )
        .await["tenant_access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(feishu_user(tenant_token.clone()).await["code"], 0);
    let output = run(vec!["reset".into()], client.base.clone()).await;
    assert!(output.status.success(), "{output:?}");
    assert_eq!(client.following("UserID_001").await, 0);
    assert_eq!(feishu_user(tenant_token).await["code"], 99991663);

    // Names that are not spaces of the seed are refused, with roster's JSON.
    let (status, answer) = client
        .admin(
            reqwest::Method::POST,
            "/reset",
            Some(json!({ "space": "tim/1" })),
        )
        .await;
    assert_eq!(status, 404, "{answer}");
    let (status, answer) = client
        .admin(
            reqwest::Method::POST,
            "/reset",
            Some(json!({ "space": "nonsense" })),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("dialect/key"));
    server.stop().await;
}

async fn snapshot_saves_and_loads_through_the_subcommands(server: TestServer) {
    let client = Client::of(&server);
    let token = client.wecom_token(CORP, SECRET).await;
    client
        .wecom(
            &token,
            "tag/addtagusers",
            json!({ "tagid": 1008, "userlist": ["lisi"] }),
        )
        .await;
    client
        .tim(
            "follow/follow_add",
            json!({ "From_Account": "UserID_001", "FollowItem": [{ "To_Account": "UserID_002" }] }),
        )
        .await;
    let members = client.tag_members(&token).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.jsonl");
    let file_arg = file.display().to_string();
    let output = run(
        vec!["snapshot".into(), "save".into(), file_arg.clone()],
        client.base.clone(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let saved = std::fs::read(&file).unwrap();

    // Changed afterwards, then loaded back: exactly the saved state, saved again identically.
    client
        .wecom(
            &token,
            "tag/deltagusers",
            json!({ "tagid": 1008, "userlist": members }),
        )
        .await;
    client
        .tim(
            "follow/follow_delete",
            json!({ "From_Account": "UserID_001", "To_Account": ["UserID_002"] }),
        )
        .await;
    let output = run(
        vec!["snapshot".into(), "load".into(), file_arg.clone()],
        client.base.clone(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let token = client.wecom_token(CORP, SECRET).await;
    assert_eq!(client.tag_members(&token).await, members);
    assert_eq!(client.following("UserID_001").await, 1);
    let again = dir.path().join("again.jsonl");
    let output = run(
        vec![
            "snapshot".into(),
            "save".into(),
            again.display().to_string(),
        ],
        client.base.clone(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    assert_eq!(std::fs::read(&again).unwrap(), saved);

    // A file of a newer format is refused whole, with a clear message, and nothing changes.
    let newer = dir.path().join("newer.jsonl");
    std::fs::write(&newer, "{\"format\":\"roster-snapshot\",\"version\":99}\n").unwrap();
    let output = run(
        vec![
            "snapshot".into(),
            "load".into(),
            newer.display().to_string(),
        ],
        client.base.clone(),
    )
    .await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("version 99 is newer"), "{stderr}");
    // A file that contradicts itself (a member no entity of the file names) loads nothing.
    let text = String::from_utf8(saved.clone()).unwrap();
    let broken = text.replacen("\"key\":\"UserID_002\"}", "\"key\":\"nobody\"}", 1);
    assert_ne!(broken, text);
    let (status, answer) = {
        let response = client
            .http
            .post(format!("{}/_roster/snapshot", client.base))
            .bearer_auth(ADMIN_TOKEN)
            .body(broken)
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 400, "{answer}");
    assert_eq!(client.following("UserID_001").await, 1);
    // A save that cannot be written leaves the previous file as it was.
    let output = run(
        vec![
            "snapshot".into(),
            "save".into(),
            file_arg.clone(),
            "--space".into(),
            "tim/1".into(),
        ],
        client.base.clone(),
    )
    .await;
    assert!(!output.status.success());
    assert_eq!(std::fs::read(&file).unwrap(), saved);
    server.stop().await;
}

/// A database built on SQLite moves to PostgreSQL through a snapshot file, unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_moves_from_sqlite_to_postgres_and_back_identically() {
    let Some(database) = common::postgres_database("snapshot_moves_from_sqlite_to_postgres").await
    else {
        return;
    };
    let sqlite = start(None).await;
    let client = Client::of(&sqlite);
    let token = client.wecom_token(CORP, SECRET).await;
    client
        .wecom(
            &token,
            "tag/addtagusers",
            json!({ "tagid": 1008, "userlist": ["lisi"], "partylist": [2] }),
        )
        .await;
    client
        .tim(
            "follow/follow_add",
            json!({ "From_Account": "UserID_001", "FollowItem": [{ "To_Account": "UserID_002" }, { "To_Account": "UserID_003" }] }),
        )
        .await;
    client
        .tim(
            "follow/follow_add",
            json!({ "From_Account": "UserID_002", "FollowItem": [{ "To_Account": "UserID_001" }] }),
        )
        .await;
    let (status, _) = client.admin(reqwest::Method::GET, "/spaces", None).await;
    assert_eq!(status, 200);
    let export = |base: String| async move {
        reqwest::Client::new()
            .get(format!("{base}/_roster/snapshot"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
    };
    let from_sqlite = export(client.base.clone()).await;
    sqlite.stop().await;

    let postgres = start(Some(database)).await;
    let pg = Client::of(&postgres);
    let (status, answer) = {
        let response = pg
            .http
            .post(format!("{}/_roster/snapshot", pg.base))
            .bearer_auth(ADMIN_TOKEN)
            .body(from_sqlite.clone())
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 200, "{answer}");
    assert_eq!(export(pg.base.clone()).await, from_sqlite);
    assert_eq!(pg.following("UserID_001").await, 2);
    let token = pg.wecom_token(CORP, SECRET).await;
    assert_eq!(pg.tag_members(&token).await, ["lisi"].map(String::from));
    postgres.stop().await;
}
