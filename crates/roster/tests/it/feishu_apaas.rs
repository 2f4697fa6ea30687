//! Feishu aPaaS user tasks and IM chats over HTTP, against a real server on SQLite and (when
//! ROSTER_TEST_DATABASE_URL is set) PostgreSQL, seeded with tests/sdk/seeds/feishu_apaas.toml.

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

#[tokio::test]
async fn chat_group_creates_a_chat_of_the_operator_and_invitees() {
    for s in servers("feishu_apaas chat_group").await {
        let token = s.token(ACME).await;
        let reply = s
            .post(
                &token,
                CHAT_GROUP,
                json!({ "operator_user_id": "1001", "invite_user_ids": kunlun(2..=21),
                        "chat_name": "Leave of u01" }),
            )
            .await;
        let chat_id = reply.data()["chat_id"].as_str().unwrap().to_string();
        assert!(
            chat_id.starts_with("oc_") && chat_id.len() == 35,
            "{chat_id}"
        );
        assert!(chat_id[3..]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(
            s.member_user_ids(&token, &chat_id, 6).await,
            user_ids(1..=21)
        );

        let chat = s
            .get(&token, &format!("/open-apis/im/v1/chats/{chat_id}"))
            .await;
        let chat = chat.data();
        assert_eq!(chat["name"], "Leave of u01");
        assert_eq!(
            (chat["user_count"].as_str(), chat["bot_count"].as_str()),
            (Some("21"), Some("1"))
        );
        assert!(
            chat.get("owner_id").is_none(),
            "a bot-owned chat shows no owner"
        );
        let first = s
            .get(&token, &format!("/open-apis/im/v1/chats/{chat_id}/members"))
            .await;
        assert_eq!(first.data()["member_total"], 21);
        assert_eq!(first.data()["items"].as_array().unwrap().len(), 20);
        assert_eq!(first.data()["items"][0]["member_id_type"], "open_id");

        // Joining the same chat again adds nobody twice; a new invitee joins at the end.
        let again = json!({ "operator_user_id": "1001", "invite_user_ids": ["1002", "1022"],
                            "chat_id": chat_id });
        for _ in 0..2 {
            let reply = s.post(&token, CHAT_GROUP, again.clone()).await;
            assert_eq!(reply.data()["chat_id"], chat_id.as_str());
        }
        assert_eq!(
            s.member_user_ids(&token, &chat_id, 100).await,
            user_ids(1..=22)
        );

        // Without invitees, only the operator; without chat_name, a chat without a name.
        let alone = s
            .post(&token, CHAT_GROUP, json!({ "operator_user_id": "1005" }))
            .await;
        let alone = alone.data()["chat_id"].as_str().unwrap().to_string();
        assert_eq!(s.member_user_ids(&token, &alone, 20).await, ["u05"]);
        let chat = s
            .get(&token, &format!("/open-apis/im/v1/chats/{alone}"))
            .await;
        assert!(chat.data().get("name").is_none());
    }
}

#[tokio::test]
async fn chat_group_refuses_invalid_input_and_changes_nothing() {
    for s in servers("feishu_apaas chat_group errors").await {
        let acme = s.token(ACME).await;
        let globex = s.token(GLOBEX).await;
        let tiny = s.token(TINY).await;
        let create = async |token: &str, path: &str, body: Value| {
            s.post(token, path, body).await.data()["chat_id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let acme_chat = create(&acme, CHAT_GROUP, json!({ "operator_user_id": "1001" })).await;
        let globex_chat = create(
            &globex,
            "/open-apis/apaas/v1/user_tasks/8001/chat_group",
            json!({ "operator_user_id": "2001" }),
        )
        .await;
        let other_app_chat = create(
            &s.token(ACME_OTHER_APP).await,
            CHAT_GROUP,
            json!({ "operator_user_id": "1001" }),
        )
        .await;
        let tiny_path = "/open-apis/apaas/v1/user_tasks/7301/chat_group";
        let full_tiny_chat = create(
            &tiny,
            tiny_path,
            json!({ "operator_user_id": "3001", "invite_user_ids": ["3002", "3003"] }),
        )
        .await;
        let user_token = s.user_token(ACME, "u01").await;

        let op = |body: Value| {
            let mut full = json!({ "operator_user_id": "1001" });
            full.as_object_mut()
                .unwrap()
                .extend(body.as_object().unwrap().clone());
            full
        };
        let cases: Vec<(&str, &str, &str, Value, &str)> = vec![
            (
                "unknown task",
                &acme,
                "/open-apis/apaas/v1/user_tasks/nope/chat_group",
                op(json!({})),
                "task_id",
            ),
            (
                "task of another tenant",
                &acme,
                "/open-apis/apaas/v1/user_tasks/8001/chat_group",
                op(json!({})),
                "task_id",
            ),
            (
                "no operator",
                &acme,
                CHAT_GROUP,
                json!({ "invite_user_ids": ["1002"] }),
                "operator_user_id",
            ),
            (
                "empty operator",
                &acme,
                CHAT_GROUP,
                json!({ "operator_user_id": "" }),
                "operator_user_id",
            ),
            (
                "unknown operator",
                &acme,
                CHAT_GROUP,
                json!({ "operator_user_id": "999" }),
                "operator_user_id",
            ),
            (
                "operator of another tenant",
                &acme,
                CHAT_GROUP,
                json!({ "operator_user_id": "2001" }),
                "operator_user_id",
            ),
            (
                "operator not a string",
                &acme,
                CHAT_GROUP,
                json!({ "operator_user_id": 1001 }),
                "operator_user_id",
            ),
            (
                "no invitees",
                &acme,
                CHAT_GROUP,
                op(json!({ "invite_user_ids": [] })),
                "invite_user_ids",
            ),
            (
                "21 invitees",
                &acme,
                CHAT_GROUP,
                op(json!({ "invite_user_ids": kunlun(2..=22) })),
                "invite_user_ids",
            ),
            (
                "unknown invitee",
                &acme,
                CHAT_GROUP,
                op(json!({ "invite_user_ids": ["1002", "999"] })),
                "invite_user_ids",
            ),
            (
                "invitee of another tenant",
                &acme,
                CHAT_GROUP,
                op(json!({ "invite_user_ids": ["2001"] })),
                "invite_user_ids",
            ),
            (
                "invitees not a list",
                &acme,
                CHAT_GROUP,
                op(json!({ "invite_user_ids": "1002" })),
                "invite_user_ids",
            ),
            (
                "unknown chat",
                &acme,
                CHAT_GROUP,
                op(json!({ "chat_id": "oc_00000000000000000000000000000000" })),
                "chat_id",
            ),
            (
                "chat of another tenant",
                &acme,
                CHAT_GROUP,
                op(json!({ "chat_id": globex_chat })),
                "chat_id",
            ),
            (
                "chat without the app's bot",
                &acme,
                CHAT_GROUP,
                op(json!({ "chat_id": other_app_chat })),
                "chat_id",
            ),
            (
                "new chat over the size cap",
                &tiny,
                tiny_path,
                json!({ "operator_user_id": "3001", "invite_user_ids": ["3002", "3003", "3004"] }),
                "invite_user_ids",
            ),
            (
                "full chat",
                &tiny,
                tiny_path,
                json!({ "operator_user_id": "3004", "chat_id": full_tiny_chat }),
                "invite_user_ids",
            ),
        ];
        for (case, token, path, body, field) in cases {
            let before = s.snapshot().await;
            let reply = s.post(token, path, body).await;
            assert_eq!(
                (
                    reply.status,
                    reply.code(),
                    reply.field(),
                    reply.body["msg"].as_str()
                ),
                (400, 2320001, field, Some("param is invalid")),
                "[{}] {case}: {}",
                s.backend,
                reply.body
            );
            assert!(reply.body["error"]["log_id"].is_string());
            assert_eq!(
                before,
                s.snapshot().await,
                "[{}] {case} changed data",
                s.backend
            );
        }

        let before = s.snapshot().await;
        let not_json = s.post_raw(&acme, CHAT_GROUP, "{not json").await;
        assert_eq!(
            (not_json.status, not_json.code(), not_json.field()),
            (400, 2320001, "body")
        );
        let user = s.post(&user_token, CHAT_GROUP, op(json!({}))).await;
        assert_eq!((user.status, user.code()), (400, 99991668));
        assert_eq!(user.body["msg"], "user access token not support");
        let none = s
            .send(s.http.post(s.url(CHAT_GROUP)).json(&op(json!({}))))
            .await;
        assert_eq!((none.status, none.code()), (400, 99991661));
        assert_eq!(before, s.snapshot().await);
        // Globex's chat still has only its own member.
        assert_eq!(s.member_user_ids(&globex, &globex_chat, 20).await, ["g01"]);
        let _ = acme_chat;
    }
}

const QUERY: &str = "/open-apis/apaas/v1/user_task/query";

fn task_ids(reply: &Reply) -> Vec<String> {
    reply.data()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn query_returns_a_users_tasks_with_string_paging() {
    for s in servers("feishu_apaas query").await {
        let token = s.token(ACME).await;
        let query = async |body: Value| s.post(&token, QUERY, body).await;

        let all = query(json!({ "kunlun_user_id": "1001" })).await;
        assert_eq!(all.data()["count"], "2");
        assert_eq!(task_ids(&all), ["7003", "7001"], "newest first");
        let task = &all.data()["tasks"][0];
        assert_eq!(task["task_start_time"], "1730300000000");
        assert_eq!(task["workflow_instance"]["id"], "9002");
        assert_eq!(task["workflow_instance"]["status"], "in_process");
        assert_eq!(
            task["workflow_instance"]["label"],
            json!([{ "language_code": "2052", "text": "Leave request" }])
        );
        assert_eq!(
            task["initiator"],
            json!({ "user_id": "1005", "name": "User 05" })
        );
        assert_eq!(
            task["summarys"],
            json!([{ "file_key": { "language_code": "2052", "text": "Days" },
                     "file_value": [{ "language_code": "2052", "text": "3" }] }])
        );

        for (body, count, ids) in [
            (json!({ "limit": "1" }), "2", vec!["7003"]),
            (json!({ "limit": "1", "offset": "1" }), "2", vec!["7001"]),
            (json!({ "offset": "2" }), "2", vec![]),
            (json!({ "type": "pending" }), "1", vec!["7003"]),
            (json!({ "type": "done" }), "1", vec!["7001"]),
            (
                json!({ "source": "assignMe", "api_ids": ["expense"] }),
                "1",
                vec!["7001"],
            ),
            (json!({ "start_time": "1730300000000" }), "1", vec!["7003"]),
            (json!({ "end_time": "1730299999999" }), "1", vec!["7001"]),
            (json!({ "source": "ccMe" }), "0", vec![]),
        ] {
            let mut body = body;
            body["kunlun_user_id"] = json!("1001");
            let reply = query(body.clone()).await;
            assert_eq!(reply.data()["count"], count, "{body}");
            assert_eq!(task_ids(&reply), ids, "{body}");
        }
        let two = query(json!({ "kunlun_user_id": "1004" })).await;
        assert_eq!(task_ids(&two), ["7002"]);

        for (body, field) in [
            (json!({}), "kunlun_user_id"),
            (json!({ "kunlun_user_id": "999" }), "kunlun_user_id"),
            (json!({ "kunlun_user_id": "2001" }), "kunlun_user_id"),
            (json!({ "kunlun_user_id": "1001", "limit": "abc" }), "limit"),
            (json!({ "kunlun_user_id": "1001", "limit": "0" }), "limit"),
            (json!({ "kunlun_user_id": "1001", "limit": "101" }), "limit"),
            (json!({ "kunlun_user_id": "1001", "limit": 10 }), "limit"),
            (
                json!({ "kunlun_user_id": "1001", "offset": "-1" }),
                "offset",
            ),
            (json!({ "kunlun_user_id": "1001", "type": "later" }), "type"),
            (
                json!({ "kunlun_user_id": "1001", "source": "everyone" }),
                "source",
            ),
            (
                json!({ "kunlun_user_id": "1001", "start_time": "yesterday" }),
                "start_time",
            ),
        ] {
            let reply = query(body.clone()).await;
            assert_eq!(
                (reply.status, reply.code(), reply.field()),
                (400, 2320001, field),
                "{body}"
            );
        }
        let globex = s.token(GLOBEX).await;
        let reply = s
            .post(&globex, QUERY, json!({ "kunlun_user_id": "1001" }))
            .await;
        assert_eq!((reply.code(), reply.field()), (2320001, "kunlun_user_id"));
    }
}

#[tokio::test]
async fn user_task_operations_change_what_query_shows() {
    for s in servers("feishu_apaas operations").await {
        let token = s.token(ACME).await;
        // A workflow of two steps: 7101 (u06) is done, 7102 (u07) waits.
        for (task_id, assignee, start, status) in [
            ("7101", "1006", 1_000, "done"),
            ("7102", "1007", 2_000, "pending"),
        ] {
            let reply = s
                .admin(
                    "/feishu/apaas_user_tasks",
                    json!({ "tenant_key": "acme", "task_id": task_id, "label": "Purchase",
                            "activity_label": format!("Step {task_id}"),
                            "workflow_instance_id": "9101", "initiator": "1008",
                            "assignees": [assignee], "start_time": start, "status": status }),
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            assert_eq!(reply.body["workflow_instance_id"], "9101");
        }
        let bad = s
            .admin("/feishu/apaas_user_tasks", json!({ "tenant_key": "acme", "task_id": "x", "label": "L", "initiator": "999", "assignees": ["1001"] }))
            .await;
        assert_eq!(bad.status, 400);
        let bad = s
            .admin(
                "/feishu/apaas_user_tasks",
                json!({ "tenant_key": "nope", "task_id": "x" }),
            )
            .await;
        assert_eq!(bad.status, 404);

        let path = |task: &str, op: &str| format!("/open-apis/apaas/v1/user_tasks/{task}/{op}");
        let pending = async |kunlun_id: &str| {
            let reply = s
                .post(
                    &token,
                    QUERY,
                    json!({ "kunlun_user_id": kunlun_id, "type": "pending" }),
                )
                .await;
            task_ids(&reply)
        };
        assert_eq!(pending("1007").await, ["7102"]);

        // cc: the cc'd users see the task under source=ccMe.
        let cc = s
            .post(
                &token,
                &path("7102", "cc"),
                json!({ "operator_user_id": "1007", "cc_user_ids": ["1009"] }),
            )
            .await;
        cc.data();
        let seen = s
            .post(
                &token,
                QUERY,
                json!({ "kunlun_user_id": "1009", "source": "ccMe" }),
            )
            .await;
        assert_eq!(task_ids(&seen), ["7102"]);

        // Expediting only urges the task's assignees.
        let urged = s
            .post(&token, &path("7102", "expediting"), json!({ "operator_user_id": "1008", "expediting_user_ids": ["1007"], "opinion": "soon" }))
            .await;
        urged.data();

        let points = s
            .post(
                &token,
                &path("7102", "rollback_points"),
                json!({ "operator_user_id": "1007" }),
            )
            .await;
        assert_eq!(
            points.data()["tasks"],
            json!([{ "id": "7101", "is_start": true,
                     "activity_label": [{ "language_code": "2052", "text": "Step 7101" }] }])
        );

        for (op, task, body, field) in [
            (
                "cc",
                "7102",
                json!({ "operator_user_id": "1007" }),
                "cc_user_ids",
            ),
            (
                "cc",
                "7102",
                json!({ "operator_user_id": "1007", "cc_user_ids": ["2001"] }),
                "cc_user_ids",
            ),
            (
                "cc",
                "7101",
                json!({ "operator_user_id": "1006", "cc_user_ids": ["1009"] }),
                "task_id",
            ),
            (
                "cc",
                "nope",
                json!({ "operator_user_id": "1007", "cc_user_ids": ["1009"] }),
                "task_id",
            ),
            (
                "expediting",
                "7102",
                json!({ "operator_user_id": "1008", "expediting_user_ids": ["1009"] }),
                "expediting_user_ids",
            ),
            (
                "expediting",
                "7102",
                json!({ "expediting_user_ids": ["1007"] }),
                "operator_user_id",
            ),
            (
                "rollback_points",
                "7102",
                json!({ "operator_user_id": "999" }),
                "operator_user_id",
            ),
            (
                "rollback",
                "7102",
                json!({ "operator_user_id": "1009", "to_task_id": "7101", "opinion": "x" }),
                "operator_user_id",
            ),
            (
                "rollback",
                "7102",
                json!({ "operator_user_id": "1007", "to_task_id": "7003", "opinion": "x" }),
                "to_task_id",
            ),
            (
                "rollback",
                "7102",
                json!({ "operator_user_id": "1007", "to_task_id": "7101" }),
                "opinion",
            ),
            (
                "rollback",
                "7102",
                json!({ "operator_user_id": "1007", "opinion": "x" }),
                "to_task_id",
            ),
        ] {
            let before = s.snapshot().await;
            let reply = s.post(&token, &path(task, op), body.clone()).await;
            assert_eq!(
                (reply.status, reply.code(), reply.field()),
                (400, 2320001, field),
                "[{}] {op} {body}",
                s.backend
            );
            assert_eq!(before, s.snapshot().await, "{op} {body} changed data");
        }

        // Rollback: the earlier step is pending again, this one is done.
        let back = s
            .post(&token, &path("7102", "rollback"), json!({ "operator_user_id": "1007", "to_task_id": "7101", "opinion": "missing receipt" }))
            .await;
        back.data();
        assert_eq!(pending("1006").await, ["7101"]);
        assert!(pending("1007").await.is_empty());

        // Cancel: only the initiator, with an opinion; then nothing of the instance is pending.
        let cancel = "/open-apis/apaas/v1/approval_instances/9101/cancel";
        for (body, field) in [
            (json!({ "user_id": "1006", "opinion": "no" }), "user_id"),
            (json!({ "user_id": "1008" }), "opinion"),
        ] {
            let reply = s.post(&token, cancel, body).await;
            assert_eq!((reply.code(), reply.field()), (2320001, field));
        }
        let unknown = s
            .post(
                &token,
                "/open-apis/apaas/v1/approval_instances/0/cancel",
                json!({ "user_id": "1008", "opinion": "x" }),
            )
            .await;
        assert_eq!(
            (unknown.code(), unknown.field()),
            (2320001, "approval_instance_id")
        );
        let done = s
            .post(
                &token,
                cancel,
                json!({ "user_id": "1008", "opinion": "not needed" }),
            )
            .await;
        done.data();
        assert!(pending("1006").await.is_empty());
        let shown = s
            .post(&token, QUERY, json!({ "kunlun_user_id": "1006" }))
            .await;
        assert_eq!(
            shown.data()["tasks"][0]["workflow_instance"]["status"],
            "canceled"
        );
        let twice = s
            .post(
                &token,
                cancel,
                json!({ "user_id": "1008", "opinion": "again" }),
            )
            .await;
        assert_eq!(
            (twice.code(), twice.field()),
            (2320001, "approval_instance_id")
        );
    }
}

const CHATS: &str = "/open-apis/im/v1/chats";

#[tokio::test]
async fn im_chat_members_are_removed_by_the_owner_or_a_bot_manager() {
    for s in servers("feishu_apaas im chat member removal").await {
        let acme = s.token(ACME).await;
        let other = s.token(ACME_OTHER_APP).await;
        let created = s
            .post(
                &acme,
                &format!("{CHATS}?user_id_type=user_id&set_bot_manager=true"),
                json!({ "name": "Ops", "owner_id": "u02", "user_id_list": ["u01", "u03"],
                        "bot_id_list": [ACME_OTHER_APP.0] }),
            )
            .await;
        let chat_id = created.data()["chat_id"].as_str().unwrap().to_string();
        let users = format!("{CHATS}/{chat_id}/members?member_id_type=user_id");
        let bots = format!("{CHATS}/{chat_id}/members?member_id_type=app_id");

        // Refused, changing nothing: a bot that is neither owner nor manager, the owner
        // itself, nobody who is a member, too many ids, no ids.
        for (token, path, ids, code) in [
            (&other, &users, json!(["u01"]), 232014),
            (&acme, &users, json!(["u02"]), 232076),
            (&acme, &users, json!(["zz", "u04"]), 232027),
            (&acme, &users, json!([]), 232027),
            (&acme, &users, json!(vec!["u01"; 51]), 99992402),
            (&acme, &bots, json!(vec![ACME_OTHER_APP.0; 6]), 99992402),
        ] {
            let before = s.snapshot().await;
            let reply = s.delete(token, path, json!({ "id_list": ids })).await;
            assert_eq!(
                (reply.status, reply.code()),
                (400, code),
                "{ids}: {}",
                reply.body
            );
            assert_eq!(before, s.snapshot().await, "{ids} changed data");
        }

        let removed = s
            .delete(&acme, &users, json!({ "id_list": ["u01", "zz"] }))
            .await;
        assert_eq!(removed.data()["invalid_id_list"], json!(["zz"]));
        assert_eq!(s.member_user_ids(&acme, &chat_id, 50).await, ["u02", "u03"]);
        let removed = s
            .delete(&acme, &bots, json!({ "id_list": [ACME_OTHER_APP.0] }))
            .await;
        assert_eq!(removed.data()["invalid_id_list"], json!([]));
        let chat = s.get(&acme, &format!("{CHATS}/{chat_id}")).await;
        assert_eq!(chat.data()["bot_count"], "1");
    }
}

#[tokio::test]
async fn im_chats_create_read_and_add_members() {
    for s in servers("feishu_apaas im chats").await {
        let acme = s.token(ACME).await;
        let created = s
            .post(
                &acme,
                &format!("{CHATS}?user_id_type=user_id&uuid=req-1&set_bot_manager=True"),
                json!({ "name": "Ops", "owner_id": "u02", "user_id_list": ["u01", "u03", "u01"] }),
            )
            .await;
        let data = created.data().clone();
        let chat_id = data["chat_id"].as_str().unwrap().to_string();
        assert_eq!(
            (data["owner_id"].as_str(), data["owner_id_type"].as_str()),
            (Some("u02"), Some("user_id"))
        );
        assert_eq!(data["chat_type"], "private");
        assert_eq!(data["tenant_key"], "acme");
        assert_eq!(
            s.member_user_ids(&acme, &chat_id, 2).await,
            ["u02", "u01", "u03"]
        );

        // The same uuid makes no second chat.
        let repeat = s
            .post(
                &acme,
                &format!("{CHATS}?user_id_type=user_id&uuid=req-1"),
                json!({ "name": "Ops", "owner_id": "u02" }),
            )
            .await;
        assert_eq!(repeat.data()["chat_id"], chat_id.as_str());
        let chat = s
            .get(&acme, &format!("{CHATS}/{chat_id}?user_id_type=user_id"))
            .await;
        assert_eq!(chat.data()["bot_manager_id_list"], json!([ACME.0]));
        assert_eq!(chat.data()["user_count"], "3");

        // Add members: unknown ids are refused, or listed with succeed_type=1.
        let members = format!("{CHATS}/{chat_id}/members?member_id_type=user_id");
        let strict = s
            .post(&acme, &members, json!({ "id_list": ["u04", "zz"] }))
            .await;
        assert_eq!((strict.status, strict.code()), (400, 99992360));
        let lenient = s
            .post(
                &acme,
                &format!("{members}&succeed_type=1"),
                json!({ "id_list": ["u04", "zz", "u01"] }),
            )
            .await;
        assert_eq!(lenient.data()["not_existed_id_list"], json!(["zz"]));
        assert_eq!(
            s.member_user_ids(&acme, &chat_id, 50).await,
            ["u02", "u01", "u03", "u04"]
        );
        let bots = s
            .post(
                &acme,
                &format!("{CHATS}/{chat_id}/members?member_id_type=app_id"),
                json!({ "id_list": [ACME_OTHER_APP.0] }),
            )
            .await;
        bots.data();
        let chat = s.get(&acme, &format!("{CHATS}/{chat_id}")).await;
        assert_eq!(
            (
                chat.data()["user_count"].as_str(),
                chat.data()["bot_count"].as_str()
            ),
            (Some("4"), Some("2"))
        );

        for (path, body, code) in [
            (members.clone(), json!({ "id_list": [] }), 232027),
            (
                members.clone(),
                json!({ "id_list": user_ids(1..=25).into_iter().chain(user_ids(1..=25)).chain(["u01".into()]).collect::<Vec<_>>() }),
                99992402,
            ),
            (
                format!("{members}&succeed_type=1"),
                json!({ "id_list": ["zz"] }),
                232027,
            ),
            (
                format!("{members}&succeed_type=7"),
                json!({ "id_list": ["u05"] }),
                99992402,
            ),
            (
                format!("{CHATS}/{chat_id}/members?member_id_type=app_id"),
                json!({ "id_list": [GLOBEX.0] }),
                232043,
            ),
            (
                format!("{CHATS}/oc_00000000000000000000000000000000/members"),
                json!({ "id_list": ["u05"] }),
                232006,
            ),
            (
                format!("{CHATS}?user_id_type=user_id"),
                json!({ "user_id_list": ["nobody"] }),
                99992360,
            ),
            (CHATS.to_string(), json!({ "chat_type": "public" }), 232042),
            (CHATS.to_string(), json!({ "chat_type": "secret" }), 232001),
            (
                CHATS.to_string(),
                json!({ "user_id_list": vec!["x"; 51] }),
                99992402,
            ),
        ] {
            let before = s.snapshot().await;
            let reply = s.post(&acme, &path, body.clone()).await;
            assert_eq!(
                (reply.status, reply.code()),
                (400, code),
                "{path} {body}: {}",
                reply.body
            );
            assert_eq!(before, s.snapshot().await, "{path} {body} changed data");
        }

        for (path, code) in [
            (format!("{members}&page_size=0"), 99992402),
            (format!("{members}&page_size=101"), 99992402),
            (format!("{members}&page_token=forged"), 232001),
            (
                format!("{CHATS}/oc_00000000000000000000000000000000"),
                232006,
            ),
        ] {
            let reply = s.get(&acme, &path).await;
            assert_eq!((reply.status, reply.code()), (400, code), "{path}");
        }
        // A page token of one chat does not page another.
        let page = s.get(&acme, &format!("{members}&page_size=1")).await;
        let token = page.data()["page_token"].as_str().unwrap().to_string();
        let other = s.post(&acme, CHATS, json!({ "user_id_list": [] })).await;
        let other = other.data()["chat_id"].as_str().unwrap().to_string();
        let foreign_token = s
            .get(
                &acme,
                &format!("{CHATS}/{other}/members?page_token={token}"),
            )
            .await;
        assert_eq!(foreign_token.code(), 232001);

        // Tenants and apps: another tenant's chat, a chat without the caller's bot.
        let globex = s.token(GLOBEX).await;
        for path in [
            format!("{CHATS}/{chat_id}"),
            format!("{CHATS}/{chat_id}/members"),
        ] {
            let reply = s.get(&globex, &path).await;
            assert_eq!((reply.status, reply.code()), (400, 232010), "{path}");
        }
        let stranger = s.token(ACME_OTHER_APP).await;
        let own = s
            .post(&stranger, CHATS, json!({ "name": "Other app" }))
            .await;
        let own = own.data()["chat_id"].as_str().unwrap().to_string();
        let not_in = s.get(&acme, &format!("{CHATS}/{own}/members")).await;
        assert_eq!((not_in.status, not_in.code()), (400, 232011));
        let summary = s.get(&acme, &format!("{CHATS}/{own}")).await;
        assert_eq!(summary.data()["name"], "Other app");
        assert!(
            summary.data().get("chat_mode").is_none(),
            "non-members see only a summary"
        );

        // A user token reads the chats its user is in.
        let u01 = s.user_token(ACME, "u01").await;
        assert_eq!(s.member_user_ids(&u01, &chat_id, 10).await.len(), 4);
        let outsider = s.user_token(ACME, "u09").await;
        assert_eq!(
            s.get(&outsider, &format!("{CHATS}/{chat_id}/members"))
                .await
                .code(),
            232011
        );
        let by_user = s.post(&u01, CHATS, json!({})).await;
        assert_eq!(by_user.code(), 99991668);

        // The size cap of tenant tiny.
        let tiny = s.token(TINY).await;
        let over = s
            .post(
                &tiny,
                &format!("{CHATS}?user_id_type=user_id"),
                json!({ "user_id_list": ["t1", "t2", "t3", "t4"] }),
            )
            .await;
        assert_eq!((over.status, over.code()), (400, 232013));
        let three = s
            .post(
                &tiny,
                &format!("{CHATS}?user_id_type=user_id"),
                json!({ "user_id_list": ["t1", "t2", "t3"] }),
            )
            .await;
        let three = three.data()["chat_id"].as_str().unwrap().to_string();
        let before = s.snapshot().await;
        let full = s
            .post(
                &tiny,
                &format!("{CHATS}/{three}/members?member_id_type=user_id"),
                json!({ "id_list": ["t4"] }),
            )
            .await;
        assert_eq!((full.status, full.code()), (400, 232013));
        assert_eq!(before, s.snapshot().await);
    }
}

#[tokio::test]
async fn chats_and_tasks_survive_a_restart() {
    for s in servers("feishu_apaas restart").await {
        let token = s.token(ACME).await;
        let chat = s
            .post(
                &token,
                CHAT_GROUP,
                json!({ "operator_user_id": "1001", "invite_user_ids": ["1002", "1003"] }),
            )
            .await;
        let chat_id = chat.data()["chat_id"].as_str().unwrap().to_string();
        s.post(
            &token,
            "/open-apis/apaas/v1/user_tasks/7002/cc",
            json!({ "operator_user_id": "1003", "cc_user_ids": ["1010"] }),
        )
        .await
        .data();
        // frank has no kunlun_id in the seed: roster derives one and prints it at start.
        let described = s.inner.running().seed.describe("");
        let frank = described
            .iter()
            .find_map(|line| line.split("frank=").nth(1))
            .map(|rest| rest.split(',').next().unwrap().trim().to_string())
            .unwrap();
        assert_eq!(frank.len(), 16);
        assert!(frank.chars().all(|c| c.is_ascii_digit()));

        let s = s.restart().await;
        let token = s.token(ACME).await;
        assert_eq!(
            s.member_user_ids(&token, &chat_id, 2).await,
            user_ids(1..=3)
        );
        let seen = s
            .post(
                &token,
                QUERY,
                json!({ "kunlun_user_id": "1010", "source": "ccMe" }),
            )
            .await;
        assert_eq!(task_ids(&seen), ["7002"]);
        let join = s
            .post(
                &token,
                CHAT_GROUP,
                json!({ "operator_user_id": frank, "chat_id": chat_id }),
            )
            .await;
        join.data();
        let members = s.member_user_ids(&token, &chat_id, 100).await;
        assert_eq!(members.last().map(String::as_str), Some("frank"));
        // Re-applying the seed at start kept the tasks' state and added nothing twice.
        let all = s
            .post(&token, QUERY, json!({ "kunlun_user_id": "1001" }))
            .await;
        assert_eq!(all.data()["count"], "2");
        let contact = s
            .get(
                &token,
                "/open-apis/contact/v3/users/u01?user_id_type=user_id",
            )
            .await;
        assert!(
            contact.data()["user"].get("kunlun_id").is_none(),
            "kunlun ids are not contact fields"
        );
    }
}
