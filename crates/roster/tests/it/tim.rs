//! Tencent Cloud Chat (TIM) REST through a real in-process server: the follow-graph invariants
//! under concurrent clients (SQLite and, when ROSTER_TEST_DATABASE_URL is set, PostgreSQL),
//! and the seed file's lifecycle.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::common;
use common::{postgres_database, TestServer};

const APP: u64 = 1_400_000_009;
const KEY: &str = "stress-test-key";
const USERS: usize = 8;
const FOLLOWING_CAP: usize = 4;
const FANS_CAP: usize = 5;
const MUTUAL_CAP: usize = 2;

fn seed(apps: &[u64]) -> String {
    let accounts: Vec<String> = (0..USERS).map(|i| format!("\"u{i}\"")).collect();
    apps.iter()
        .map(|app| {
            format!(
                "[[tim.apps]]\nsdkappid = {app}\nsecret_key = \"{KEY}\"\nadmins = [\"admin\"]\n\
                 accounts = [{}]\n[tim.apps.limits]\nfollowing = {FOLLOWING_CAP}\n\
                 fans = {FANS_CAP}\nmutual = {MUTUAL_CAP}\n",
                accounts.join(", ")
            )
        })
        .collect()
}

/// A REST client signing as `admin`.
#[derive(Clone)]
struct Tim {
    client: reqwest::Client,
    base: String,
}

fn tim(server: &TestServer) -> Tim {
    Tim {
        client: reqwest::Client::new(),
        base: server.base_url(),
    }
}

impl Tim {
    async fn call(&self, app: u64, path: &str, body: Value) -> Value {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let sig =
            roster_tim::usersig::sign(app, KEY.as_bytes(), "admin", now.as_secs() as i64, 3600);
        let url = format!(
            "{}/v4/{path}?sdkappid={app}&identifier=admin&usersig={sig}&random=1&contenttype=json",
            self.base
        );
        let response = self.client.post(url).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Everyone in one of `user`'s lists (1 fans, 2 following, 3 mutual), paging through it.
    async fn list(&self, user: &str, follow_type: u8) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let mut cursor = String::new();
        loop {
            let body = json!({"From_Account": user, "FollowType": follow_type,
                              "StartCursor": cursor, "WantNum": 2});
            let reply = self.call(APP, "follow/follow_get", body).await;
            assert_eq!(reply["ErrorCode"], 0, "{reply}");
            for item in reply["FollowItem"].as_array().unwrap() {
                let other = item["To_Account"].as_str().unwrap().to_string();
                assert!(found.insert(other), "listed twice: {reply}");
            }
            cursor = reply["NextCursor"].as_str().unwrap().to_string();
            if cursor.is_empty() {
                return found;
            }
        }
    }
}

fn user(i: usize) -> String {
    format!("u{i}")
}

/// One client: random follows and unfollows among the users; u7 is deleted and re-imported.
async fn client(server: Tim, id: u64) {
    let mut rng = StdRng::seed_from_u64(id);
    for _ in 0..20 {
        let from = user(rng.gen_range(0..USERS));
        let targets: Vec<String> = (0..rng.gen_range(1..=3))
            .map(|_| user(rng.gen_range(0..USERS)))
            .collect();
        let reply = match rng.gen_range(0..10) {
            0 if id == 0 => {
                let body = json!({"DeleteItem": [{"UserID": "u7"}]});
                server
                    .call(APP, "im_open_login_svc/account_delete", body)
                    .await;
                let body = json!({"UserID": "u7"});
                server
                    .call(APP, "im_open_login_svc/account_import", body)
                    .await
            }
            0..=5 => {
                let items: Vec<Value> = targets.iter().map(|t| json!({"To_Account": t})).collect();
                let body = json!({"From_Account": from, "FollowItem": items});
                server.call(APP, "follow/follow_add", body).await
            }
            _ => {
                let body = json!({"From_Account": from, "To_Account": targets});
                server.call(APP, "follow/follow_delete", body).await
            }
        };
        match reply["ErrorCode"].as_u64() {
            Some(0) => {}
            // u7 was deleted between the lookup and the write.
            Some(30003) => assert_eq!(from, "u7", "{reply}"),
            _ => panic!("unexpected reply {reply}"),
        }
        for item in reply["ResultItem"].as_array().into_iter().flatten() {
            let code = item["ResultCode"].as_u64().unwrap();
            assert!(
                matches!(code, 0 | 30001 | 30003 | 32100..=32103),
                "unexpected result {reply}"
            );
        }
    }
}

async fn invariants_hold_under_concurrent_clients(server: TestServer) {
    let tim = tim(&server);
    let mut clients = tokio::task::JoinSet::new();
    // Enough writers at once to contend for the same counter rows (PostgreSQL locks them).
    for id in 0..32 {
        clients.spawn(client(tim.clone(), id));
    }
    while let Some(finished) = clients.join_next().await {
        finished.unwrap();
    }

    let users: Vec<String> = (0..USERS).map(user).collect();
    let mut following = BTreeMap::new();
    let mut fans = BTreeMap::new();
    let mut mutual = BTreeMap::new();
    for u in &users {
        following.insert(u.clone(), tim.list(u, 2).await);
        fans.insert(u.clone(), tim.list(u, 1).await);
        mutual.insert(u.clone(), tim.list(u, 3).await);
    }
    let body = json!({"From_Account": "u0", "To_Account": users});
    let info = tim.call(APP, "follow/follow_get_info", body).await;
    let mut edges = 0;
    for item in info["FollowInfo"].as_array().unwrap() {
        let u = item["To_Account"].as_str().unwrap();
        assert_eq!(item["ResultCode"], 0);
        // Counters equal the edges they count.
        assert_eq!(item["FollowingCount"], following[u].len(), "{u}");
        assert_eq!(item["FollowerCount"], fans[u].len(), "{u}");
        assert_eq!(item["MutualFollowingCount"], mutual[u].len(), "{u}");
        // No cap exceeded.
        assert!(following[u].len() <= FOLLOWING_CAP, "{u}");
        assert!(fans[u].len() <= FANS_CAP, "{u}");
        assert!(mutual[u].len() <= MUTUAL_CAP, "{u}");
        edges += following[u].len();
        for v in &users {
            // Both ends agree on every follow; mutual is symmetric and exactly both directions.
            assert_eq!(following[u].contains(v), fans[v].contains(u), "{u} -> {v}");
            let both = following[u].contains(v) && following[v].contains(u);
            assert_eq!(mutual[u].contains(v), both, "{u} <-> {v}");
            assert_eq!(mutual[u].contains(v), mutual[v].contains(u), "{u} <-> {v}");
        }
    }
    assert!(edges > 0, "the clients made no follows at all");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invariants_hold_under_concurrent_clients_on_sqlite() {
    invariants_hold_under_concurrent_clients(TestServer::start(None, &seed(&[APP])).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invariants_hold_under_concurrent_clients_on_postgres() {
    let Some(database) = postgres_database("tim invariants_hold_under_concurrent_clients").await
    else {
        return;
    };
    let database = Some(database);
    invariants_hold_under_concurrent_clients(TestServer::start(database, &seed(&[APP])).await)
        .await;
}

#[tokio::test]
async fn seed_changes_apply_at_every_start_and_keep_data() {
    const RETIRED: u64 = 1_400_000_010;
    let follow = json!({"From_Account": "u1", "FollowItem": [{"To_Account": "u2"}]});
    let info = json!({"From_Account": "u1", "To_Account": ["u1"]});
    let following = |reply: Value| reply["FollowInfo"][0]["FollowingCount"].clone();
    let mut server = TestServer::start(None, &seed(&[APP, RETIRED])).await;
    for app in [APP, RETIRED] {
        let reply = tim(&server)
            .call(app, "follow/follow_add", follow.clone())
            .await;
        assert_eq!(reply["ErrorCode"], 0, "{reply}");
    }

    // A seed without RETIRED leaves it as it is: another process may serve it.
    server.restart_with_seed(Some(&seed(&[APP]))).await.unwrap();
    let client = tim(&server);
    let reply = client
        .call(RETIRED, "follow/follow_get_info", info.clone())
        .await;
    assert_eq!(following(reply), 1);

    // Emptied through the control plane, it stops answering; APP keeps its follows.
    let emptied = reqwest::Client::new()
        .delete(format!(
            "{}/_roster/spaces/tim/{RETIRED}",
            server.base_url()
        ))
        .bearer_auth(common::ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(emptied.status(), 200);
    let reply = client
        .call(RETIRED, "follow/follow_get_info", info.clone())
        .await;
    assert_eq!(reply["ErrorCode"], 60006, "{reply}");
    let reply = client
        .call(APP, "follow/follow_get_info", info.clone())
        .await;
    assert_eq!(following(reply), 1);

    // Back in the seed, it answers again, its data gone.
    server
        .restart_with_seed(Some(&seed(&[APP, RETIRED])))
        .await
        .unwrap();
    let reply = tim(&server)
        .call(RETIRED, "follow/follow_get_info", info)
        .await;
    assert_eq!(following(reply), 0);

    // An invalid seed stops the start with a message naming the app.
    let bad = seed(&[APP]).replace("following = 4", "following = -1");
    let error = server.restart_with_seed(Some(&bad)).await.err().unwrap();
    assert!(error.to_string().contains("1400000009"), "{error}");
}

/// The changes of the app's space, oldest first.
async fn changes(server: &TestServer) -> Vec<Value> {
    let reply: Value = reqwest::Client::new()
        .get(format!(
            "{}/_roster/changes?space=tim/{APP}&limit=1000",
            server.base_url()
        ))
        .bearer_auth(common::ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["changes"].as_array().unwrap().clone()
}

/// `multiaccount_import` and `account_delete` are each one operation: the accounts they change
/// change together (one plan in the change log), invalid items are reported per item, and an
/// account named twice is one account.
#[tokio::test]
async fn account_batches_are_one_operation_each() {
    let server = TestServer::start(None, &seed(&[APP])).await;
    let client = tim(&server);
    let before = changes(&server).await.len();
    let long = "x".repeat(50);
    let reply = client
        .call(
            APP,
            "im_open_login_svc/multiaccount_import",
            json!({"AccountList": [
                {"UserID": "n1", "Nick": "first"},
                {"UserID": long},
                {"UserID": "n2"},
                {"UserID": "n1", "Nick": "second"},
            ]}),
        )
        .await;
    assert_eq!(reply["ErrorCode"], 0, "{reply}");
    assert_eq!(reply["FailAccounts"], json!([long]));
    let created = changes(&server).await.split_off(before);
    assert_eq!(created.len(), 2, "n1 and n2: {created:?}");
    assert_eq!(created[0]["plan"], created[1]["plan"], "one operation");

    let follow = json!({"From_Account": "n1", "FollowItem": [{"To_Account": "n2"}]});
    let reply = client.call(APP, "follow/follow_add", follow).await;
    assert_eq!(reply["ErrorCode"], 0, "{reply}");
    let before = changes(&server).await.len();
    let reply = client
        .call(
            APP,
            "im_open_login_svc/account_delete",
            json!({"DeleteItem": [{"UserID": "n1"}, {"UserID": "nobody"}, {"UserID": "n2"}]}),
        )
        .await;
    let codes: Vec<&Value> = reply["ResultItem"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| &item["ResultCode"])
        .collect();
    assert_eq!(codes, [&json!(0), &json!(70107), &json!(0)], "{reply}");
    let deleted = changes(&server).await.split_off(before);
    assert!(
        deleted.len() >= 3,
        "two accounts and their follow: {deleted:?}"
    );
    assert!(
        deleted.iter().all(|c| c["plan"] == deleted[0]["plan"]),
        "one operation"
    );
    let reply = client
        .call(
            APP,
            "im_open_login_svc/account_check",
            json!({"CheckItem": [{"UserID": "n1"}, {"UserID": "n2"}]}),
        )
        .await;
    let statuses: Vec<&Value> = reply["ResultItem"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| &item["AccountStatus"])
        .collect();
    assert_eq!(
        statuses,
        [&json!("NotImported"), &json!("NotImported")],
        "{reply}"
    );
    server.stop().await;
}
