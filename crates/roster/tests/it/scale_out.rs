//! Three roster processes on one PostgreSQL database behave as one server: their seeds apply
//! one at a time, tokens of one are accepted by all, rate limits and caps hold across them,
//! a reset made through one reaches the others, and killing one under load loses no
//! acknowledged write. Runs when ROSTER_TEST_DATABASE_URL is set.

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::process::Server;
use common::Client;
use serde_json::{json, Value};

const PROCESSES: usize = 3;
const ADMIN_TOKEN: &str = "scale-out-admin-token";
const APP_ID: &str = "cli_scale0000000001";
const APP_SECRET: &str = "scale-secret";
const SDKAPPID: u64 = 1400000000;
const TIM_KEY: &str = "scale-out-tim-key";
const CORP: &str = "wwscaleout";
const CORP_SECRET: &str = "scale-corp-secret";
const PER_MINUTE: usize = 20;
const FOLLOWING_CAP: usize = 4;
const ACCOUNTS: usize = 12;

fn seed() -> String {
    let accounts: Vec<String> = (0..ACCOUNTS).map(|i| format!("\"a{i}\"")).collect();
    format!(
        r#"
[[feishu.tenants]]
tenant_key = "scale"
[[feishu.tenants.apps]]
app_id = "{APP_ID}"
app_secret = "{APP_SECRET}"
[[feishu.tenants.users]]
user_id = "alice"
name = "Alice"
[feishu.tenants.limits]
task_requests_per_second = 1000
task_requests_per_minute = {PER_MINUTE}

[[tim.apps]]
sdkappid = {SDKAPPID}
secret_key = "{TIM_KEY}"
admins = ["admin"]
accounts = [{accounts}]
limits = {{ following = {FOLLOWING_CAP} }}

[[wecom.corps]]
corp_id = "{CORP}"
corp_secret = "{CORP_SECRET}"
departments = [{{ id = 1, name = "Scale" }}]
users = [{{ id = "zhangsan", name = "Zhang", departments = [1] }}]
tags = [{{ id = 1008, name = "scale" }}]
"#,
        accounts = accounts.join(", ")
    )
}

struct Cluster {
    servers: Vec<Server>,
    clients: Vec<Arc<Client>>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Three processes started at once on one fresh database, each with the same seed.
    async fn start(database: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("seed.toml"), seed()).unwrap();
        let starts = (0..PROCESSES).map(|i| {
            let log = dir.path().join(format!("server-{i}.log"));
            let path = dir.path().to_path_buf();
            let database = database.to_string();
            async move { Server::start(&path, Some(&database), &log, ADMIN_TOKEN, &[]).await }
        });
        let servers = concurrently(starts).await;
        let clients = servers
            .iter()
            .map(|s| Arc::new(Client::at(s.base.clone())))
            .collect();
        Self {
            servers,
            clients,
            _dir: dir,
        }
    }

    fn client(&self, i: usize) -> Arc<Client> {
        self.clients[i % self.clients.len()].clone()
    }
}

/// Run every future at once, each on its own task; their outputs in order.
async fn concurrently<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(tasks.len());
    for task in tasks {
        outputs.push(task.await.unwrap());
    }
    outputs
}

impl Client {
    async fn tenant_token(&self) -> String {
        let url = format!(
            "{}/open-apis/auth/v3/tenant_access_token/internal",
            self.base
        );
        let body = json!({ "app_id": APP_ID, "app_secret": APP_SECRET });
        let answer = self.send(self.http.post(url).json(&body)).await;
        answer["tenant_access_token"].as_str().unwrap().to_string()
    }

    async fn feishu(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}/open-apis{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn try_tim(&self, path: &str, body: Value) -> Result<Value, reqwest::Error> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let sig = roster_tim::usersig::sign(SDKAPPID, TIM_KEY.as_bytes(), "admin", now, 3600);
        let url = format!(
            "{}/v4/{path}?sdkappid={SDKAPPID}&identifier=admin&usersig={sig}&random=1&contenttype=json",
            self.base
        );
        self.http.post(url).json(&body).send().await?.json().await
    }

    async fn followed_ids(&self, account: &str) -> Vec<String> {
        let body =
            json!({ "From_Account": account, "FollowType": 2, "StartCursor": "", "WantNum": 100 });
        let answer = self.try_tim("follow/follow_get", body).await.unwrap();
        assert_eq!(answer["ErrorCode"], 0, "{answer}");
        let mut ids: Vec<String> = answer["FollowItem"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["To_Account"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_processes_on_one_database_behave_as_one_server() {
    let Some(database) = common::postgres_database("three_processes_behave_as_one").await else {
        return;
    };
    let cluster = Cluster::start(database.url()).await;

    // Tokens minted by one process are accepted by all.
    let token = cluster.client(0).tenant_token().await;
    let (status, created) = cluster
        .client(1)
        .feishu(
            reqwest::Method::POST,
            "/task/v1/tasks",
            &token,
            Some(json!({ "summary": "s", "origin": { "platform_i18n_name": "{\"en_us\": \"Tests\"}" } })),
        )
        .await;
    assert_eq!((status, &created["code"]), (200, &json!(0)), "{created}");
    let task = created["data"]["task"]["id"].as_str().unwrap().to_string();
    let wecom_token = cluster.client(2).wecom_token(CORP, CORP_SECRET).await;
    let tag = cluster
        .client(0)
        .wecom(&wecom_token, "tag/get", json!({}))
        .await;
    assert_ne!(tag["errcode"], 40014, "{tag}");

    // The app's per-minute rate holds across the processes (within the racers' tolerance).
    let get = format!("/task/v1/tasks/{task}");
    let admitted = concurrently((0..3 * PER_MINUTE).map(|i| {
        let (client, token, get) = (cluster.client(i), token.clone(), get.clone());
        async move {
            client
                .feishu(reqwest::Method::GET, &get, &token, None)
                .await
                .0
                == 200
        }
    }))
    .await
    .into_iter()
    .filter(|ok| *ok)
    .count();
    assert!(
        (PER_MINUTE..=PER_MINUTE + PROCESSES).contains(&admitted),
        "{admitted} of {} admitted under a limit of {PER_MINUTE} a minute",
        3 * PER_MINUTE
    );

    // Caps hold under a storm of follows through every process.
    let storm = concurrently((0..ACCOUNTS).map(|target| {
        let client = cluster.client(target);
        let to = json!([{ "To_Account": format!("a{target}") }]);
        async move {
            let body = json!({ "From_Account": "a0", "FollowItem": to });
            client.try_tim("follow/follow_add", body).await.unwrap()
        }
    }))
    .await;
    let acknowledged = storm
        .iter()
        .filter(|answer| answer["ResultItem"][0]["ResultCode"] == 0)
        .count();
    let following = cluster.client(2).followed_ids("a0").await;
    assert_eq!(following.len(), acknowledged);
    assert!(following.len() <= FOLLOWING_CAP, "{following:?}");

    // A reset made through one process reaches the others within a second.
    let reset = cluster
        .client(0)
        .http
        .post(format!("{}/_roster/reset", cluster.client(0).base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({ "space": format!("tim/{SDKAPPID}") }))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(1);
    for i in 0..PROCESSES {
        assert!(cluster.client(i).followed_ids("a0").await.is_empty());
    }
    let reset = cluster
        .client(1)
        .http
        .post(format!("{}/_roster/reset", cluster.client(1).base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({ "space": format!("wecom/{CORP}") }))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    loop {
        // The corp's generation went up: every process refuses the earlier token.
        let answers = concurrently((0..PROCESSES).map(|i| {
            let (client, token) = (cluster.client(i), wecom_token.clone());
            async move {
                client
                    .wecom(&token, "tag/get", json!({ "tagid": 1008 }))
                    .await["errcode"]
                    .clone()
            }
        }))
        .await;
        if answers.iter().all(|code| *code == 40014) {
            break;
        }
        assert!(
            Instant::now() < deadline + Duration::from_secs(1),
            "{answers:?} a second after the reset"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Killing one process under load loses no acknowledged write.
    let mut servers = cluster.servers;
    let victim = servers.pop().unwrap();
    let victim_client = Arc::new(Client::at(victim.base.clone()));
    let writers: Vec<_> = (0..ACCOUNTS)
        .map(|from| {
            let clients = [cluster.clients[0].clone(), cluster.clients[1].clone(), victim_client.clone()];
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for (n, to) in (0..ACCOUNTS).filter(|to| *to != from).take(FOLLOWING_CAP).enumerate() {
                    let body = json!({ "From_Account": format!("a{from}"), "FollowItem": [{ "To_Account": format!("a{to}") }] });
                    if let Ok(answer) = clients[(from + n) % 3].try_tim("follow/follow_add", body).await {
                        if answer["ResultItem"][0]["ResultCode"] == 0 {
                            acknowledged.push(format!("a{to}"));
                        }
                    }
                }
                (format!("a{from}"), acknowledged)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(30)).await;
    victim.kill();
    for writer in writers {
        let (from, acknowledged) = writer.await.unwrap();
        let stored = cluster.clients[0].followed_ids(&from).await;
        for to in acknowledged {
            assert!(
                stored.contains(&to),
                "{from} -> {to} was acknowledged, then lost"
            );
        }
    }
    drop(servers);
}
