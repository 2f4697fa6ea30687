//! Feishu aPaaS user tasks and IM chats over HTTP, against a real server on SQLite and (when
//! ROSTER_TEST_DATABASE_URL is set) PostgreSQL, seeded with tests/sdk/seeds/feishu_apaas.toml.

mod chats;
mod user_tasks;

use std::path::{Path, PathBuf};

use roster_core::{Direction, EntityFilter, PageRequest, Store};
use serde_json::{json, Value};

use crate::common;
use common::{databases, TestServer, ADMIN_TOKEN};

const ACME: (&str, &str) = ("cli_apaas0000000001", "acme-secret");
const ACME_OTHER_APP: (&str, &str) = ("cli_apaas0000000002", "acme-secret-2");
const GLOBEX: (&str, &str) = ("cli_globex000000001", "globex-secret");
const TINY: (&str, &str) = ("cli_tiny00000000001", "tiny-secret");

/// Entity kinds and relations whose every change a failed request must not make.
const KINDS: &[&str] = &[
    "feishu.chat",
    "feishu.chat_uuid",
    "feishu.apaas.user_task",
    "feishu.apaas.workflow_instance",
];
const RELATIONS: &[&str] = &["im.chat.user", "im.chat.bot", "apaas.assignee", "apaas.cc"];
const ALL: PageRequest = PageRequest {
    after: None,
    limit: 100_000,
    newest_first: false,
};

fn seed_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sdk/seeds/feishu_apaas.toml")
}

struct Server {
    inner: TestServer,
    /// A second view of the server's database, to prove failed requests wrote nothing.
    store: std::sync::Arc<dyn Store>,
    http: reqwest::Client,
    backend: &'static str,
}

/// A response: HTTP status and JSON body.
struct Reply {
    status: u16,
    body: Value,
}

impl Reply {
    fn code(&self) -> i64 {
        self.body["code"].as_i64().unwrap_or(-1)
    }

    /// The first field violation's field.
    fn field(&self) -> &str {
        self.body["error"]["field_violations"][0]["field"]
            .as_str()
            .unwrap_or("")
    }

    fn data(&self) -> &Value {
        assert_eq!(
            (self.status, self.code()),
            (200, 0),
            "expected success: {}",
            self.body
        );
        &self.body["data"]
    }
}

impl Server {
    async fn start(database: Option<common::ScratchDatabase>) -> Self {
        let seed = std::fs::read_to_string(seed_file()).unwrap();
        let inner = TestServer::start(database, &seed).await;
        Server {
            store: inner.store().await,
            backend: inner.backend_name(),
            inner,
            http: reqwest::Client::new(),
        }
    }

    async fn restart(mut self) -> Self {
        self.inner.restart().await;
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.base_url())
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("[{}] not JSON ({status}): {text}", self.backend));
        Reply { status, body }
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> Reply {
        let request = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body);
        self.send(request).await
    }

    async fn delete(&self, token: &str, path: &str, body: Value) -> Reply {
        let request = self
            .http
            .delete(self.url(path))
            .bearer_auth(token)
            .json(&body);
        self.send(request).await
    }

    async fn post_raw(&self, token: &str, path: &str, body: &'static str) -> Reply {
        let request = self.http.post(self.url(path)).bearer_auth(token).body(body);
        self.send(request).await
    }

    async fn get(&self, token: &str, path: &str) -> Reply {
        self.send(self.http.get(self.url(path)).bearer_auth(token))
            .await
    }

    async fn admin(&self, path: &str, body: Value) -> Reply {
        let request = self
            .http
            .post(self.url(&format!("/_roster{path}")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body);
        self.send(request).await
    }

    async fn token(&self, (app_id, secret): (&str, &str)) -> String {
        let reply = self
            .send(
                self.http
                    .post(self.url("/open-apis/auth/v3/tenant_access_token/internal"))
                    .json(&json!({ "app_id": app_id, "app_secret": secret })),
            )
            .await;
        reply.body["tenant_access_token"].as_str().unwrap().into()
    }

    /// A user access token of `user_id` in the app, through a login code and the OIDC exchange.
    async fn user_token(&self, app: (&str, &str), user_id: &str) -> String {
        let code = self
            .admin(
                "/feishu/login_codes",
                json!({ "app_id": app.0, "user_id": user_id }),
            )
            .await;
        let tenant_token = self.token(app).await;
        let reply = self
            .post(
                &tenant_token,
                "/open-apis/authen/v1/oidc/access_token",
                json!({ "grant_type": "authorization_code", "code": code.body["code"] }),
            )
            .await;
        reply.data()["access_token"].as_str().unwrap().into()
    }

    /// Every chat, task and workflow instance with its attributes and members.
    async fn snapshot(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for space in self.store.spaces("feishu").await.unwrap() {
            for kind in KINDS {
                let filter = EntityFilter {
                    space_id: space.id,
                    kind: kind.to_string(),
                    owner: None,
                };
                for entity in self.store.list_entities(&filter, ALL).await.unwrap().items {
                    lines.push(format!(
                        "{} {kind} {} {}",
                        space.key, entity.key, entity.attrs
                    ));
                    for relation in RELATIONS {
                        let edges = self
                            .store
                            .list_edges(space.id, entity.id, relation, Direction::Members, ALL)
                            .await
                            .unwrap();
                        let members: Vec<i64> = edges.items.iter().map(|e| e.member).collect();
                        lines.push(format!("  {relation} {members:?}"));
                    }
                }
            }
        }
        lines
    }

    /// The user_ids of a chat's members, read page by page.
    async fn member_user_ids(&self, token: &str, chat_id: &str, page_size: u32) -> Vec<String> {
        let mut ids = Vec::new();
        let mut page_token = String::new();
        loop {
            let mut path = format!(
                "/open-apis/im/v1/chats/{chat_id}/members?member_id_type=user_id&page_size={page_size}"
            );
            if !page_token.is_empty() {
                path.push_str(&format!("&page_token={page_token}"));
            }
            let reply = self.get(token, &path).await;
            let data = reply.data();
            let items = data["items"].as_array().unwrap();
            assert!(items.len() <= page_size as usize);
            ids.extend(
                items
                    .iter()
                    .map(|i| i["member_id"].as_str().unwrap().to_string()),
            );
            if !data["has_more"].as_bool().unwrap() {
                assert!(data.get("page_token").is_none());
                return ids;
            }
            page_token = data["page_token"].as_str().unwrap().to_string();
            assert!(!page_token.is_empty());
        }
    }
}

/// One server per backend: SQLite, and PostgreSQL when configured.
async fn servers(suite: &str) -> Vec<Server> {
    let mut servers = Vec::new();
    for database in databases(suite).await {
        servers.push(Server::start(database).await);
    }
    servers
}

fn kunlun(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|n| (1000 + n).to_string()).collect()
}

fn user_ids(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|n| format!("u{n:02}")).collect()
}

const CHAT_GROUP: &str = "/open-apis/apaas/v1/user_tasks/7003/chat_group";

const QUERY: &str = "/open-apis/apaas/v1/user_task/query";

fn task_ids(reply: &Reply) -> Vec<String> {
    reply.data()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task_id"].as_str().unwrap().to_string())
        .collect()
}
