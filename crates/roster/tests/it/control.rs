//! The control plane: reset and snapshots, through HTTP and through the `roster` subcommands,
//! on both backends, with changes made through the vendor APIs.

use crate::common;

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

    /// Add users to the demo tag through the native API.
    async fn tag_add(&self, token: &str, users: &[&str]) -> Value {
        let body = json!({ "tagid": 1008, "userlist": users });
        self.wecom(token, "tag/addtagusers", body).await
    }

    async fn follow(&self, from: &str, to: &[&str]) -> Value {
        let items: Vec<Value> = to.iter().map(|t| json!({ "To_Account": t })).collect();
        let body = json!({ "From_Account": from, "FollowItem": items });
        self.tim("follow/follow_add", body).await
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

async fn start(database: Option<common::ScratchDatabase>) -> TestServer {
    TestServer::start(database, DEMO).await
}

roster_store::on_both_backends!(super::start;
    reset_returns_every_space_or_one_to_the_seed,
    reset_leaves_exactly_the_seeds_state,
    callback_receivers_are_set_and_removed_at_run_time,
    snapshot_saves_and_loads_through_the_subcommands,
    journal_records_vendor_requests_without_credentials,
    fault_rules_answer_as_the_vendor_delay_and_drop,
);

async fn reset_returns_every_space_or_one_to_the_seed(server: TestServer) {
    let client = Client::of(&server);
    let token = client.wecom_token(CORP, SECRET).await;
    let seeded = client.tag_members(&token).await;
    let added = client.tag_add(&token, &["lisi", "wangwu"]).await;
    assert_eq!(added["errcode"], 0, "{added}");
    let created = client
        .wecom(
            &token,
            "user/create",
            json!({ "userid": "newbie", "name": "New", "department": [1], "mobile": "13800000000" }),
        )
        .await;
    assert_eq!(created["errcode"], 0, "{created}");
    let followed = client.follow("UserID_001", &["UserID_002"]).await;
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
    let (status, answer) = client
        .admin(reqwest::Method::DELETE, "/spaces/tim/1", None)
        .await;
    assert_eq!(status, 404, "{answer}");
    let (status, answer) = client
        .admin(reqwest::Method::DELETE, "/spaces/nope/1", None)
        .await;
    assert_eq!(status, 400, "{answer}");
    server.stop().await;
}

/// A reset leaves what a snapshot sees (every entity, alias and edge, in order) as the seed
/// left it: after changes it can append to, after changes it cannot (a seeded account
/// deleted) and after none; a snapshot load leaves exactly its file, also when an edge must
/// go back before one that stayed.
async fn reset_leaves_exactly_the_seeds_state(server: TestServer) {
    let client = Client::of(&server);
    let reset = || client.admin(reqwest::Method::POST, "/reset", None);
    let snapshot = || async {
        let url = format!("{}/_roster/snapshot", client.base);
        let response = client.http.get(url).bearer_auth(ADMIN_TOKEN).send().await;
        response.unwrap().text().await.unwrap()
    };
    assert_eq!(reset().await.0, 200);
    let seeded = snapshot().await;

    // Appended: new members, a new user, a follow.
    let token = client.wecom_token(CORP, SECRET).await;
    assert_eq!(client.tag_add(&token, &["lisi"]).await["errcode"], 0);
    let user =
        json!({ "userid": "newbie", "name": "New", "department": [2], "mobile": "13800000001" });
    assert_eq!(
        client.wecom(&token, "user/create", user).await["errcode"],
        0
    );
    assert_eq!(
        client.follow("UserID_001", &["UserID_002"]).await["ErrorCode"],
        0
    );
    assert_ne!(snapshot().await, seeded);
    assert_eq!(reset().await.0, 200);
    assert_eq!(snapshot().await, seeded);

    // Out of order: a seeded account deleted (the new ones would come after it).
    let deleted = json!({ "DeleteItem": [{ "UserID": "UserID_001" }] });
    let answer = client
        .tim("im_open_login_svc/account_delete", deleted)
        .await;
    assert_eq!(answer["ErrorCode"], 0, "{answer}");
    assert_eq!(reset().await.0, 200);
    assert_eq!(snapshot().await, seeded);

    // A snapshot loads as exactly its file too, here with an edge to put back before one
    // that stayed.
    let token = client.wecom_token(CORP, SECRET).await;
    client.tag_add(&token, &["lisi"]).await;
    client.tag_add(&token, &["wangwu"]).await;
    let saved = snapshot().await;
    let body = json!({ "tagid": 1008, "userlist": ["lisi"] });
    assert_eq!(
        client.wecom(&token, "tag/deltagusers", body).await["errcode"],
        0
    );
    client.tag_add(&token, &["lisi"]).await;
    let url = format!("{}/_roster/snapshot", client.base);
    let request = client
        .http
        .post(url)
        .bearer_auth(ADMIN_TOKEN)
        .body(saved.clone());
    assert_eq!(request.send().await.unwrap().status(), 200);
    assert_eq!(snapshot().await, saved);

    // The same edge twice, at two times, is a file that contradicts itself: refused whole.
    let edge = saved.lines().find(|l| l.starts_with(r#"{"edge""#)).unwrap();
    let mut twice: Value = serde_json::from_str(edge).unwrap();
    twice["edge"]["created_at"] = json!(twice["edge"]["created_at"].as_i64().unwrap() + 1);
    let contradicting = saved.replacen(edge, &format!("{edge}\n{twice}"), 1);
    let url = format!("{}/_roster/snapshot", client.base);
    let request = client
        .http
        .post(url)
        .bearer_auth(ADMIN_TOKEN)
        .body(contradicting);
    let refused = request.send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let answer: Value = refused.json().await.unwrap();
    assert!(
        answer["error"].as_str().unwrap().contains("appears twice"),
        "{answer}"
    );
    assert_eq!(snapshot().await, saved);

    assert_eq!(reset().await.0, 200);
    assert_eq!(snapshot().await, seeded);

    // Nothing changed.
    assert_eq!(reset().await.0, 200);
    assert_eq!(snapshot().await, seeded);
    assert_eq!(server.raw_database().await.wrong_counters().await, 0);
    server.stop().await;
}

/// A callback URL in this test: it records each request (method, path and query, body) and
/// answers 200 with `answer`.
#[derive(Clone, Default)]
struct Receiver {
    requests: std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>>,
}

impl Receiver {
    async fn start(&self, answer: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let requests = self.requests.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::any(
                move |method: axum::http::Method, uri: axum::http::Uri, body: String| {
                    let requests = requests.clone();
                    async move {
                        let request = (method.to_string(), uri.to_string(), body);
                        requests.lock().unwrap().push(request);
                        answer
                    }
                },
            ),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    fn requests(&self) -> Vec<(String, String, String)> {
        self.requests.lock().unwrap().clone()
    }

    /// The requests once there are `count` of them.
    async fn wait_for(&self, count: usize) -> Vec<(String, String, String)> {
        for _ in 0..500 {
            if self.requests().len() >= count {
                return self.requests();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("{:?}, not {count} requests", self.requests());
    }
}

/// `/_roster/callbacks`: a TIM receiver set, used and removed without a restart; keys that are
/// not a receiver's, and URLs that fail the vendor's check (WeCom's echostr GET, Feishu's
/// challenge), are refused with nothing changed.
async fn callback_receivers_are_set_and_removed_at_run_time(server: TestServer) {
    let client = Client::of(&server);
    let tim_space = format!("/callbacks/tim/{SDKAPPID}");
    let (status, answer) = client.admin(reqwest::Method::GET, "/callbacks", None).await;
    assert_eq!((status, answer), (200, json!({ "receivers": [] })));

    let receiver = Receiver::default();
    let url = receiver
        .start(r#"{"ActionStatus":"OK","ErrorCode":0}"#)
        .await;
    let keys = json!({ "callback_url": url });
    let (status, answer) = client
        .admin(reqwest::Method::PUT, &tim_space, Some(keys.clone()))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["receivers"], json!([keys]));
    assert_eq!(
        client.follow("UserID_001", &["UserID_002"]).await["ErrorCode"],
        0
    );
    let (_, hook, body) = receiver.wait_for(1).await.remove(0);
    assert!(
        hook.contains("CallbackCommand=Follow.CallbackAfterFollowAdd"),
        "{hook}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["From_Account"],
        "UserID_001"
    );

    // Refused, and nothing changed.
    for (keys, status) in [
        (json!({ "callback_url": "ftp://example.com/" }), 400),
        (json!({ "callback_url": url, "extra": 1 }), 400),
        (json!({ "callback_token": "t" }), 400),
        (json!(["not", "an", "object"]), 400),
    ] {
        let answer = client
            .admin(reqwest::Method::PUT, &tim_space, Some(keys.clone()))
            .await;
        assert_eq!(answer.0, status, "{keys}: {answer:?}");
        assert!(answer.1["error"].is_string(), "{answer:?}");
    }
    let (status, _) = client
        .admin(
            reqwest::Method::PUT,
            "/callbacks/tim/1",
            Some(json!({ "callback_url": url })),
        )
        .await;
    assert_eq!(status, 404);
    let (_, answer) = client.admin(reqwest::Method::GET, &tim_space, None).await;
    assert_eq!(answer["receivers"], json!([{ "callback_url": url }]));

    // Removed: the next follow calls nothing back.
    let (status, answer) = client
        .admin(reqwest::Method::DELETE, &tim_space, None)
        .await;
    assert_eq!((status, &answer["receivers"]), (200, &json!([])));
    assert_eq!(
        client.follow("UserID_001", &["UserID_003"]).await["ErrorCode"],
        0
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(receiver.requests().len(), 1);

    // WeCom checks a new URL with a GET whose echostr it must decrypt; Feishu with a
    // challenge to echo. This receiver answers neither: refused, nothing stored.
    let wrong = Receiver::default();
    let url = wrong.start("not the plaintext").await;
    let wecom = json!({
        "callback_url": url,
        "callback_token": "token1",
        "callback_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    });
    let path = format!("/callbacks/wecom/{CORP}");
    let (status, answer) = client.admin(reqwest::Method::PUT, &path, Some(wecom)).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("not the plaintext"),
        "{answer}"
    );
    let (method, query, _) = wrong.wait_for(1).await.remove(0);
    assert_eq!(method, "GET");
    for field in ["msg_signature=", "timestamp=", "nonce=", "echostr="] {
        assert!(query.contains(field), "{query}");
    }
    let feishu = json!({ "app_id": "cli_demo00000000001", "event_url": url });
    let (status, answer) = client
        .admin(reqwest::Method::PUT, "/callbacks/feishu/demo", Some(feishu))
        .await;
    assert_eq!(status, 400, "{answer}");
    let (method, _, body) = wrong.wait_for(2).await.remove(1);
    assert_eq!(method, "POST");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["type"],
        "url_verification"
    );
    let (_, answer) = client.admin(reqwest::Method::GET, "/callbacks", None).await;
    assert_eq!(answer, json!({ "receivers": [] }));
    let (_, deliveries) = client
        .admin(reqwest::Method::GET, "/deliveries", None)
        .await;
    let checks: Vec<&Value> = deliveries["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["event"] == "url_verification")
        .collect();
    assert_eq!(checks.len(), 2, "{deliveries}");
    assert_eq!(checks[0]["method"], "GET");
    server.stop().await;
}

async fn snapshot_saves_and_loads_through_the_subcommands(server: TestServer) {
    let client = Client::of(&server);
    let token = client.wecom_token(CORP, SECRET).await;
    client.tag_add(&token, &["lisi"]).await;
    client.follow("UserID_001", &["UserID_002"]).await;
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
    // One space alone, or two.
    let tim_only = dir.path().join("tim.jsonl");
    let output = run(
        vec![
            "snapshot".into(),
            "save".into(),
            tim_only.display().to_string(),
            "--space".into(),
            format!("tim/{SDKAPPID}"),
        ],
        client.base.clone(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let spaces: Vec<Value> = std::fs::read_to_string(&tim_only)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("{\"space\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(spaces.len(), 1);
    assert_eq!(spaces[0]["space"]["key"], SDKAPPID.to_string());
    let two = format!("/snapshot?space=tim/{SDKAPPID}&space=wecom/{CORP}");
    let response = client
        .http
        .get(format!("{}/_roster{two}", client.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert_eq!(
        text.lines().filter(|l| l.starts_with("{\"space\"")).count(),
        2
    );
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

async fn journal(client: &Client, query: &str) -> Vec<Value> {
    let (status, page) = client
        .admin(reqwest::Method::GET, &format!("/requests?{query}"), None)
        .await;
    assert_eq!(status, 200, "{page}");
    page["requests"].as_array().unwrap().clone()
}

async fn add_fault(client: &Client, rule: Value) -> u64 {
    let (status, answer) = client
        .admin(reqwest::Method::POST, "/faults", Some(rule))
        .await;
    assert_eq!(status, 201, "{answer}");
    answer["faults"][0]["id"].as_u64().unwrap()
}

async fn journal_records_vendor_requests_without_credentials(server: TestServer) {
    let client = Client::of(&server);
    let token = client.wecom_token(CORP, SECRET).await;
    client.tag_add(&token, &["lisi"]).await;
    client
        .wecom(&token, "tag/addtagusers", json!({ "tagid": 9 }))
        .await;
    client.following("UserID_001").await;
    let url = format!(
        "{}/open-apis/auth/v3/tenant_access_token/internal",
        client.base
    );
    let body = json!({ "app_id": "cli_demo00000000001", "app_secret": "demo-app-secret" });
    let feishu = client.http.post(url).json(&body).send().await.unwrap();
    let feishu_log_id = feishu.headers()["x-tt-logid"].to_str().unwrap().to_string();

    let all = journal(&client, "").await;
    let paths: Vec<&str> = all.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "/open-apis/auth/v3/tenant_access_token/internal",
            "/v4/follow/follow_get",
            "/cgi-bin/tag/addtagusers",
            "/cgi-bin/tag/addtagusers",
            "/cgi-bin/gettoken"
        ],
        "newest first"
    );
    assert_eq!(all[0]["log_id"], json!(feishu_log_id));
    assert_eq!(all[1]["space"], json!(format!("tim/{SDKAPPID}")));
    assert_eq!(all[2]["vendor_code"], json!(40068), "{}", all[2]);
    assert_eq!(
        all[3]["request_body"]["text"],
        r#"{"tagid":1008,"userlist":["lisi"]}"#
    );
    let text = serde_json::to_string(&all).unwrap();
    for secret in [SECRET, "demo-app-secret", token.as_str()] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(text.contains("usersig=[redacted]"), "{text}");
    assert!(
        !text.contains("\"t-"),
        "a tenant token is journaled: {text}"
    );

    // Filters, and pages newest first.
    let wecom = journal(&client, &format!("dialect=wecom&space=wecom/{CORP}")).await;
    assert_eq!(wecom.len(), 2);
    assert_eq!(journal(&client, "code=40068").await.len(), 1);
    let first = journal(&client, "limit=2").await;
    let before = first[1]["id"].as_u64().unwrap();
    let next = journal(&client, &format!("limit=2&before={before}")).await;
    assert_eq!(next[0]["path"], "/cgi-bin/tag/addtagusers");
    let (status, _) = client
        .admin(reqwest::Method::GET, "/requests?limit=x", None)
        .await;
    assert_eq!(status, 400);

    // The subcommand prints them, then clears them.
    let output = run(
        vec![
            "requests".into(),
            "--json".into(),
            "--dialect".into(),
            "tim".into(),
        ],
        client.base.clone(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["path"], "/v4/follow/follow_get");
    let output = run(
        vec!["requests".into(), "--clear".into()],
        client.base.clone(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    assert!(journal(&client, "").await.is_empty());
    server.stop().await;
}

async fn fault_rules_answer_as_the_vendor_delay_and_drop(server: TestServer) {
    let client = Client::of(&server);
    let token = client.wecom_token(CORP, SECRET).await;
    let rule = add_fault(
        &client,
        json!({ "dialect": "wecom", "route": "/cgi-bin/tag/{action}",
        "method": "post", "body": { "tagid": 1008 }, "error": { "errcode": 45009 }, "count": 1 }),
    )
    .await;
    let other_tag = client
        .wecom(&token, "tag/addtagusers", json!({ "tagid": 9 }))
        .await;
    assert_eq!(
        other_tag["errcode"], 40068,
        "the body does not match: {other_tag}"
    );
    let faulted = client.tag_add(&token, &["lisi"]).await;
    assert_eq!(
        faulted,
        json!({ "errcode": 45009, "errmsg": "fault injected by roster" })
    );
    assert_eq!(
        client.tag_members(&token).await,
        Vec::<String>::new(),
        "nothing was written"
    );
    let added = client.tag_add(&token, &["lisi"]).await;
    assert_eq!(added["errcode"], 0, "the rule retired after one: {added}");
    let entries = journal(&client, "path=addtagusers&limit=2").await;
    assert_eq!(
        (entries[1]["fault"].as_u64(), entries[0]["fault"].as_u64()),
        (Some(rule), None)
    );
    assert_eq!(
        entries[1]["request_body"]["text"],
        r#"{"tagid":1008,"userlist":["lisi"]}"#
    );

    // Each vendor's envelope and status: TIM answers 200 FAIL, Feishu 429 for its rate limit.
    add_fault(
        &client,
        json!({ "dialect": "tim", "route": "/v4/follow/follow_get",
        "error": { "ErrorCode": 90001, "ErrorInfo": "busy" }, "count": 1 }),
    )
    .await;
    let tim = client
        .tim(
            "follow/follow_get",
            json!({ "From_Account": "UserID_001", "FollowType": 2 }),
        )
        .await;
    assert_eq!(tim["ActionStatus"], "FAIL");
    assert_eq!(
        (tim["ErrorCode"].as_i64(), tim["ErrorInfo"].as_str()),
        (Some(90001), Some("busy"))
    );
    add_fault(
        &client,
        json!({ "dialect": "feishu", "error": { "code": 99991400,
        "msg": "request trigger frequency limit" }, "count": 1 }),
    )
    .await;
    let url = format!(
        "{}/open-apis/auth/v3/tenant_access_token/internal",
        client.base
    );
    let body = json!({ "app_id": "cli_demo00000000001", "app_secret": "demo-app-secret" });
    let limited = client.http.post(url).json(&body).send().await.unwrap();
    assert_eq!(limited.status(), 429);
    let log_id = limited.headers()["x-tt-logid"]
        .to_str()
        .unwrap()
        .to_string();
    let limited: Value = limited.json().await.unwrap();
    assert_eq!(limited["code"], 99991400);
    assert_eq!(limited["error"]["log_id"], json!(log_id));

    // A delay holds the answer back; a dropped connection gets no answer at all.
    add_fault(
        &client,
        json!({ "dialect": "qwif", "delay_ms": 300, "count": 1 }),
    )
    .await;
    let started = std::time::Instant::now();
    let url = format!(
        "{}/qwcgi/portal/api/qwsecurity!getToken.action",
        client.base
    );
    let delayed = client.send(client.http.get(&url)).await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert!(delayed["code"].is_string(), "{delayed}");
    let dropped = add_fault(
        &client,
        json!({ "dialect": "wecom", "drop": true, "count": 1 }),
    )
    .await;
    let url = format!("{}/cgi-bin/tag/list?access_token={token}", client.base);
    assert!(
        client.http.get(&url).send().await.is_err(),
        "the connection was dropped"
    );
    let entry = &journal(&client, "limit=1").await[0];
    assert_eq!(
        (entry["status"].as_u64(), entry["fault"].as_u64()),
        (Some(0), Some(dropped))
    );

    // Through the subcommand: add, list, remove; invalid rules are refused whole.
    let rule_json = r#"{"dialect":"tim","drop":true,"probability":0.5}"#;
    let output = run(
        vec!["faults".into(), "add".into(), rule_json.into()],
        client.base.clone(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let id = String::from_utf8(output.stdout).unwrap().trim().to_string();
    let output = run(vec!["faults".into(), "list".into()], client.base.clone()).await;
    assert!(String::from_utf8(output.stdout)
        .unwrap()
        .contains("\"probability\":0.5"));
    let output = run(
        vec!["faults".into(), "remove".into(), id.clone()],
        client.base.clone(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let output = run(
        vec!["faults".into(), "remove".into(), id],
        client.base.clone(),
    )
    .await;
    assert!(!output.status.success(), "already removed");
    let (status, answer) = client
        .admin(
            reqwest::Method::POST,
            "/faults",
            Some(json!([
                { "dialect": "tim", "drop": true },
                { "dialect": "tim" }
            ])),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    let (_, listed) = client.admin(reqwest::Method::GET, "/faults", None).await;
    assert_eq!(listed["faults"], json!([]));
    server.stop().await;
}

/// The demo seed with one fault rule.
async fn start_with_a_seed_fault(database: Option<common::ScratchDatabase>) -> TestServer {
    let seed = format!(
        "{DEMO}\n[[faults]]\ndialect = \"wecom\"\nroute = \"/cgi-bin/gettoken\"\nerror = {{ errcode = -1, errmsg = \"system busy\" }}\ncount = 1\n"
    );
    TestServer::start(database, &seed).await
}

mod seeded_faults {
    use super::*;
    roster_store::on_both_backends!(super::start_with_a_seed_fault; seed_fault_rules_metrics_and_readiness);
}

async fn seed_fault_rules_metrics_and_readiness(server: TestServer) {
    let backend = server.backend_name();
    let client = Client::of(&server);
    let url = format!(
        "{}/cgi-bin/gettoken?corpid={CORP}&corpsecret={SECRET}",
        client.base
    );
    assert_eq!(client.send(client.http.get(&url)).await["errcode"], -1);
    assert_eq!(client.send(client.http.get(&url)).await["errcode"], 0);
    let ready = client
        .http
        .get(format!("{}/readyz", client.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let metrics = client.metrics().await;
    assert!(
        metrics.contains(
            r#"roster_requests_total{dialect="wecom",route="/cgi-bin/gettoken",code="-1"}"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("roster_request_duration_seconds"),
        "{metrics}"
    );
    assert!(metrics.contains("roster_faults_fired_total"), "{metrics}");
    let writes = format!(r#"roster_store_writes_total{{backend="{backend}",outcome="applied"}}"#);
    assert!(metrics.contains(&writes), "{metrics}");
    if backend == "sqlite" {
        assert!(
            metrics.contains("roster_sqlite_commit_batch_size"),
            "{metrics}"
        );
    }
    server.stop().await;
    let bad = format!("{DEMO}\n[[faults]]\ndialect = \"wecom\"\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.toml");
    std::fs::write(&path, bad).unwrap();
    let error = roster::seed::Seed::load(Some(&path)).unwrap_err();
    assert!(error.to_string().contains("needs an action"), "{error}");
}

/// `roster exec` starts a roster of its own for the command and exits with its status, on
/// temporary SQLite data or on the given PostgreSQL database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_runs_a_command_against_its_own_roster() {
    exec_runs_a_command(None).await;
    if let Some(database) = common::postgres_database("exec_runs_a_command").await {
        exec_runs_a_command(Some(database.url().to_owned())).await;
    }
}

async fn exec_runs_a_command(database: Option<String>) {
    let roster = env!("CARGO_BIN_EXE_roster");
    let script = format!(
        "test -n \"$ROSTER_WECOM_CORP_ID\" && test -n \"$ROSTER_FEISHU_APP_SECRET\" && \
         test -n \"$ROSTER_TIM_SECRET_KEY\" && {roster} spaces && exit 7"
    );
    let output = tokio::task::spawn_blocking(move || {
        let database = database.map(|url| vec!["--database".to_string(), url]);
        Command::new(env!("CARGO_BIN_EXE_roster"))
            .arg("exec")
            .args(database.unwrap_or_default())
            .args(["--", "sh", "-c", &script])
            .env_remove("ROSTER_URL")
            .env_remove("ROSTER_ADMIN_TOKEN")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(7), "{output:?}");
    let spaces = String::from_utf8(output.stdout).unwrap();
    assert!(spaces.contains(&format!("wecom/{CORP}")), "{spaces}");
    assert!(spaces.contains(&format!("tim/{SDKAPPID}")), "{spaces}");
}

/// Under a steady load of large requests, the journal keeps to its byte bound and the
/// server's memory stays flat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_memory_stays_flat_under_load() {
    const BOUND: usize = 1 << 20;
    const BODY: usize = 12 << 10;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("seed.toml"), DEMO).unwrap();
    let bound = BOUND.to_string();
    let server = common::process::Server::start(
        dir.path(),
        None,
        &dir.path().join("server.log"),
        ADMIN_TOKEN,
        &["--journal-entries", "100000", "--journal-bytes", &bound],
    )
    .await;
    let client = std::sync::Arc::new(Client::at(server.base.clone()));
    let token = client.wecom_token(CORP, SECRET).await;
    let url = format!("{}/cgi-bin/user/create?access_token={token}", server.base);
    let load = |requests: usize| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let body = json!({ "userid": "x", "name": "n".repeat(BODY) });
            for _ in 0..requests {
                let answer = client.send(client.http.post(&url).json(&body)).await;
                assert_ne!(answer["errcode"], 0, "a name that long is refused");
            }
        }
    };
    let clients = |requests| futures_join(4, move |_| load(requests));
    clients(150).await;
    let warm = server.rss_kb();
    clients(600).await;
    let after = server.rss_kb();
    let kept = journal(&client, "limit=1000").await.len();
    // 3,000 requests of 12 KiB: unbounded, the journal alone would hold about 36 MiB.
    assert!(
        kept > 10 && kept * BODY <= BOUND + BODY,
        "{kept} entries kept"
    );
    assert!(
        after <= warm + 8 * 1024,
        "RSS grew from {warm} kB to {after} kB under a 1 MiB journal bound"
    );
    server.kill();
}

/// Run `n` futures made by `make` concurrently, to completion.
async fn futures_join<F, Fut>(n: usize, make: F)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(make(i))).collect();
    for task in tasks {
        task.await.unwrap();
    }
}
