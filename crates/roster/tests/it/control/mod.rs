//! The control plane: reset and snapshots, through HTTP and through the `roster` subcommands,
//! on both backends, with changes made through the vendor APIs.

mod exec;
mod faults;
mod journal;
mod receivers;
mod reset;
mod snapshots;

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
