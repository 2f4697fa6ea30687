//! Feishu Task v1 over HTTP: a real server on 127.0.0.1:0, on SQLite and (when
//! ROSTER_TEST_DATABASE_URL is set) PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common;
use common::{RawDatabase, TestServer, ADMIN_TOKEN};

const SEED: &str = r#"
[[feishu.tenants]]
tenant_key = "acme"
[[feishu.tenants.apps]]
app_id = "cli_acme"
app_secret = "acme-secret"
[[feishu.tenants.apps]]
app_id = "cli_acme_other"
app_secret = "other-secret"
[[feishu.tenants.users]]
user_id = "alice"
name = "Alice"
[[feishu.tenants.users]]
user_id = "bob"
name = "Bob"
[[feishu.tenants.users]]
user_id = "carol"
name = "Carol"
[[feishu.tenants.users]]
user_id = "dave"
name = "Dave"
[[feishu.tenants.users]]
user_id = "erin"
name = "Erin"
[feishu.tenants.limits]
task_followers = 3
task_collaborators = 2
# These tests send bursts; the rate limits are tested on the tenants below.
task_rate_limit = 0

[[feishu.tenants]]
tenant_key = "globex"
[[feishu.tenants.apps]]
app_id = "cli_globex"
app_secret = "globex-secret"
[[feishu.tenants.users]]
user_id = "alice"
name = "Alice of Globex"

[[feishu.tenants]]
tenant_key = "throttled"
[[feishu.tenants.apps]]
app_id = "cli_throttled"
app_secret = "throttled-secret"
[[feishu.tenants.users]]
user_id = "alice"
name = "Alice"
[feishu.tenants.limits]
task_requests_per_minute = 3
task_create_requests_per_minute = 2

[[feishu.tenants]]
tenant_key = "unthrottled"
[[feishu.tenants.apps]]
app_id = "cli_unthrottled"
app_secret = "unthrottled-secret"
[feishu.tenants.limits]
task_rate_limit = 0
task_requests_per_minute = 1
task_create_requests_per_minute = 1
"#;

struct Server {
    inner: TestServer,
    http: reqwest::Client,
    url: String,
}

impl Server {
    async fn start(database: Option<common::ScratchDatabase>) -> Self {
        let inner = TestServer::start(database, SEED).await;
        Server {
            url: inner.base_url(),
            inner,
            http: reqwest::Client::new(),
        }
    }

    /// Stop gracefully and start again on the same database.
    async fn restart(&mut self) {
        self.inner.restart().await;
        self.url = self.inner.base_url();
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<String>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}/open-apis{path}", self.url));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body = response.json().await.unwrap();
        (status, body)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.send(method, path, token, body.map(|b| b.to_string()))
            .await
    }

    async fn ok(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
        let (status, body) = self.call(method, path, token, body).await;
        assert_eq!(
            (status, body["code"].as_i64()),
            (StatusCode::OK, Some(0)),
            "{body}"
        );
        body["data"].clone()
    }

    /// A `"tenant"` or `"app"` access token of an app.
    async fn access_token(&self, kind: &str, app_id: &str, secret: &str) -> String {
        let body = json!({ "app_id": app_id, "app_secret": secret });
        let path = format!("/auth/v3/{kind}_access_token/internal");
        let (_, answer) = self.call(Method::POST, &path, "", Some(body)).await;
        answer[format!("{kind}_access_token")]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn tenant_token(&self, app_id: &str, secret: &str) -> String {
        self.access_token("tenant", app_id, secret).await
    }

    /// A user access token through the login-code route and the OIDC exchange.
    async fn user_token(&self, app_id: &str, secret: &str, user_id: &str) -> String {
        let code: Value = self
            .http
            .post(format!("{}/_roster/feishu/login_codes", self.url))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({ "app_id": app_id, "user_id": user_id }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let tenant = self.tenant_token(app_id, secret).await;
        let body = json!({ "grant_type": "authorization_code", "code": code["code"] });
        let data = self
            .ok(
                Method::POST,
                "/authen/v1/oidc/access_token",
                &tenant,
                Some(body),
            )
            .await;
        data["access_token"].as_str().unwrap().to_string()
    }

    async fn advance_clock(&self, seconds: i64) {
        let response = self
            .http
            .post(format!("{}/_roster/clock", self.url))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({ "offset_seconds": seconds }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// The wire id of `user_id` of the given type, as `token`'s app sees it.
    async fn id_of(&self, token: &str, user_id: &str, id_type: &str) -> String {
        let data = self
            .ok(
                Method::GET,
                &format!("/contact/v3/users/{user_id}?user_id_type=user_id"),
                token,
                None,
            )
            .await;
        data["user"][id_type].as_str().unwrap().to_string()
    }

    async fn create_task(&self, token: &str, extra: Value) -> String {
        let mut body = json!({
            "summary": "Prepare the report",
            "origin": { "platform_i18n_name": "{\"en_us\": \"Tests\"}" },
        });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let data = self
            .ok(Method::POST, "/task/v1/tasks", token, Some(body))
            .await;
        data["task"]["id"].as_str().unwrap().to_string()
    }

    /// Every member of `role` ("followers"/"collaborators"), as user_ids, paging through.
    async fn members(&self, token: &str, task: &str, role: &str) -> Vec<String> {
        let mut ids = Vec::new();
        let mut page_token = String::new();
        loop {
            let data = self
                .ok(
                    Method::GET,
                    &format!(
                        "/task/v1/tasks/{task}/{role}?user_id_type=user_id&page_size=2&page_token={page_token}"
                    ),
                    token,
                    None,
                )
                .await;
            for item in data["items"].as_array().unwrap() {
                ids.push(item["id"].as_str().unwrap().to_string());
            }
            if data["has_more"] != json!(true) {
                return ids;
            }
            page_token = data["page_token"].as_str().unwrap().to_string();
            assert!(!page_token.is_empty());
        }
    }
}

/// `(status, code)` of a response, for terse assertions.
fn outcome((status, body): &(StatusCode, Value)) -> (u16, i64) {
    (status.as_u16(), body["code"].as_i64().unwrap())
}

roster_store::on_both_backends!(
    super::Server::start;
    task_lifecycle,
    followers_are_added_all_or_nothing,
    followers_page_with_sealed_tokens,
    collaborators_and_who_may_do_what,
    user_tokens_list_related_tasks,
    tenants_are_isolated,
    malformed_requests_change_nothing,
    trailing_slashes_reach_the_route,
    tasks_and_followers_survive_a_restart,
    rate_limits_per_app_and_endpoint,
    one_write_at_a_time_per_task,
    internal_failures_use_the_documented_codes,
);

async fn task_lifecycle(s: Server) {
    let token = s.tenant_token("cli_acme", "acme-secret").await;
    let alice = s.id_of(&token, "alice", "open_id").await;
    let body = json!({
        "summary": "Prepare the report",
        "description": "Quarterly",
        "extra": "dGVzdA==",
        "due": { "time": "1735689600", "timezone": "Europe/Berlin", "is_all_day": false },
        "origin": {
            "platform_i18n_name": "{\"zh_cn\": \"测试\", \"en_us\": \"Tests\"}",
            "href": { "url": "https://example.com/t/1", "title": "Ticket 1" }
        },
        "can_edit": true,
        "custom": "",
        "follower_ids": [alice],
        "repeat_rule": "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO",
    });
    let created = s
        .ok(Method::POST, "/task/v1/tasks", &token, Some(body))
        .await["task"]
        .clone();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36);
    assert_eq!(created["complete_time"], "0");
    assert_eq!(created["source"], 6);
    assert!(created["create_time"].is_string() && created["update_time"].is_string());
    assert_eq!(
        created["due"],
        json!({ "time": "1735689600", "timezone": "Europe/Berlin", "is_all_day": false })
    );
    assert_eq!(created["followers"], json!([{ "id": alice }]));
    assert!(
        created.get("can_edit").is_none(),
        "create answers without can_edit"
    );
    let app_open_id = created["creator_id"].as_str().unwrap();
    assert!(app_open_id.starts_with("ou_"));
    assert_ne!(app_open_id, alice);

    let got = s
        .ok(Method::GET, &format!("/task/v1/tasks/{id}"), &token, None)
        .await["task"]
        .clone();
    assert_eq!(got["can_edit"], true);
    assert_eq!(got["creator_id"], app_open_id);
    let by_user_id = s
        .ok(
            Method::GET,
            &format!("/task/v1/tasks/{id}?user_id_type=user_id"),
            &token,
            None,
        )
        .await["task"]
        .clone();
    assert!(
        by_user_id.get("creator_id").is_none(),
        "apps have no user_id"
    );
    assert_eq!(by_user_id["followers"], json!([{ "id": "alice" }]));

    // Patch: only the documented fields, each with its code.
    let patch = |fields: Value, task: Value| Some(json!({ "update_fields": fields, "task": task }));
    let path = format!("/task/v1/tasks/{id}");
    let patched = s
        .ok(
            Method::PATCH,
            &path,
            &token,
            patch(json!(["summary", "due"]), json!({ "summary": "Renamed" })),
        )
        .await["task"]
        .clone();
    assert_eq!(patched["summary"], "Renamed");
    assert_eq!(patched["description"], "Quarterly");
    assert!(
        patched.get("due").is_none(),
        "a named field absent from task is cleared"
    );
    for (fields, task, code) in [
        (json!([]), json!({}), 1470426),
        (json!(["summary", "colour"]), json!({}), 1470424),
        (json!(["source"]), json!({}), 1470425),
        (json!(["due"]), json!({ "due": { "time": "x" } }), 1470439),
        (
            json!(["due"]),
            json!({ "due": { "time": "1", "timezone": "Mars/Olympus" } }),
            1470414,
        ),
        (json!(["extra"]), json!({ "extra": "***" }), 1470435),
        (
            json!(["summary"]),
            json!({ "summary": "x".repeat(257) }),
            1470437,
        ),
    ] {
        let answer = s
            .call(Method::PATCH, &path, &token, patch(fields, task))
            .await;
        assert_eq!(outcome(&answer), (400, code), "{}", answer.1);
    }
    let answer = s
        .call(
            Method::PATCH,
            "/task/v1/tasks/",
            &token,
            patch(json!(["summary"]), json!({})),
        )
        .await;
    assert_eq!(outcome(&answer), (400, 1470423));

    // Complete and reopen.
    s.ok(
        Method::POST,
        &format!("/task/v1/tasks/{id}/complete"),
        &token,
        Some(json!({})),
    )
    .await;
    let done = s.ok(Method::GET, &path, &token, None).await["task"].clone();
    assert_ne!(done["complete_time"], "0");
    let completed = s
        .ok(
            Method::GET,
            "/task/v1/tasks?task_completed=True",
            &token,
            None,
        )
        .await;
    assert_eq!(completed["items"].as_array().unwrap().len(), 1);
    let open = s
        .ok(
            Method::GET,
            "/task/v1/tasks?task_completed=false",
            &token,
            None,
        )
        .await;
    assert_eq!(open["items"], json!([]));
    assert_eq!(open["has_more"], false);
    assert!(open.get("page_token").is_none());
    s.ok(
        Method::POST,
        &format!("/task/v1/tasks/{id}/uncomplete"),
        &token,
        None,
    )
    .await;
    let reopened = s.ok(Method::GET, &path, &token, None).await["task"].clone();
    assert_eq!(reopened["complete_time"], "0");

    // Create-time filters are inclusive Unix seconds.
    let created_at: i64 = done["create_time"].as_str().unwrap().parse().unwrap();
    for (query, expected) in [
        (
            format!("start_create_time={created_at}&end_create_time={created_at}"),
            1,
        ),
        (format!("start_create_time={}", created_at + 1), 0),
        (format!("end_create_time={}", created_at - 1), 0),
    ] {
        let data = s
            .ok(
                Method::GET,
                &format!("/task/v1/tasks?{query}"),
                &token,
                None,
            )
            .await;
        assert_eq!(data["items"].as_array().unwrap().len(), expected, "{query}");
    }

    // Delete, then it is gone; deleting again is 1470433.
    s.ok(Method::DELETE, &path, &token, Some(json!({}))).await;
    assert_eq!(
        outcome(&s.call(Method::GET, &path, &token, None).await),
        (400, 1470602)
    );
    assert_eq!(
        outcome(&s.call(Method::DELETE, &path, &token, None).await),
        (400, 1470433)
    );
    let unknown = "/task/v1/tasks/00000000-0000-4000-8000-000000000000";
    assert_eq!(
        outcome(&s.call(Method::DELETE, unknown, &token, None).await),
        (400, 1470602)
    );
    let list = s.ok(Method::GET, "/task/v1/tasks", &token, None).await;
    assert_eq!(list["items"], json!([]));

    // Past the retention horizon (7 days) housekeeping removes the deleted task's tombstone:
    // deleting it again is then as for a task that never was.
    s.advance_clock(8 * 24 * 3600).await;
    let swept = s
        .http
        .post(format!("{}/_roster/housekeeping", s.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(swept.status(), StatusCode::OK);
    let token = s.tenant_token("cli_acme", "acme-secret").await;
    assert_eq!(
        outcome(&s.call(Method::DELETE, &path, &token, None).await),
        (400, 1470602)
    );
    s.advance_clock(0).await;
}

async fn followers_are_added_all_or_nothing(s: Server) {
    let token = s.tenant_token("cli_acme", "acme-secret").await;
    let task = s.create_task(&token, json!({})).await;
    let followers = format!("/task/v1/tasks/{task}/followers?user_id_type=user_id");
    let add = |body: Value| s.call(Method::POST, &followers, &token, Some(body));

    // `id` and `id_list` together, duplicates folded; the answer echoes the request.
    let (status, body) = add(json!({ "id": "alice", "id_list": ["bob", "alice"] })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"],
        json!({ "follower": { "id": "alice", "id_list": ["bob", "alice"] } })
    );
    assert_eq!(
        s.members(&token, &task, "followers").await,
        ["alice", "bob"]
    );

    for (request, expected) in [
        // All of them already follow.
        (json!({ "id_list": ["bob", "alice"] }), (400, 1470430)),
        // An empty id, even beside a valid one.
        (json!({ "id_list": ["carol", ""] }), (400, 1470412)),
        (json!({}), (400, 1470412)),
        // Unknown ids are refused by the gateway, listing them.
        (json!({ "id_list": ["carol", "nobody"] }), (400, 99992360)),
        // Two more would make four: over the tenant's cap of three.
        (json!({ "id_list": ["carol", "dave"] }), (400, 1470428)),
    ] {
        let answer = add(request.clone()).await;
        assert_eq!(outcome(&answer), expected, "{request}: {}", answer.1);
    }
    assert_eq!(
        s.members(&token, &task, "followers").await,
        ["alice", "bob"]
    );

    // One already there and one new: the new one is added.
    add(json!({ "id_list": ["alice", "carol"] })).await;
    assert_eq!(
        s.members(&token, &task, "followers").await,
        ["alice", "bob", "carol"]
    );
    assert_eq!(outcome(&add(json!({ "id": "dave" })).await), (400, 1470428));

    // Ids of every type, in and out.
    let bob_union = s.id_of(&token, "bob", "union_id").await;
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/task/v1/tasks/{task}/batch_delete_follower?user_id_type=union_id"),
            &token,
            Some(json!({ "id_list": [bob_union, bob_union, s.id_of(&token, "dave", "union_id").await] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"], json!({ "followers": [bob_union] }));
    let carol_open = s.id_of(&token, "carol", "open_id").await;
    s.ok(
        Method::DELETE,
        &format!("/task/v1/tasks/{task}/followers/{carol_open}"),
        &token,
        None,
    )
    .await;
    let again = s
        .call(
            Method::DELETE,
            &format!("/task/v1/tasks/{task}/followers/{carol_open}"),
            &token,
            None,
        )
        .await;
    assert_eq!(outcome(&again), (404, 1470710));
    assert_eq!(s.members(&token, &task, "followers").await, ["alice"]);
}

async fn followers_page_with_sealed_tokens(s: Server) {
    let s = &s;
    let token = s.tenant_token("cli_acme", "acme-secret").await;
    let task = s
        .create_task(
            &token,
            json!({ "follower_ids": [
            s.id_of(&token, "alice", "open_id").await,
            s.id_of(&token, "bob", "open_id").await,
            s.id_of(&token, "carol", "open_id").await,
        ] }),
        )
        .await;
    let other = s.create_task(&token, json!({})).await;
    let page = |task: &str, query: &str| {
        let path = format!("/task/v1/tasks/{task}/followers?user_id_type=user_id&{query}");
        let token = token.clone();
        async move { s.call(Method::GET, &path, &token, None).await }
    };
    let (_, first) = page(&task, "page_size=1").await;
    assert_eq!(first["data"]["items"], json!([{ "id": "alice" }]));
    assert_eq!(first["data"]["has_more"], true);
    let next = first["data"]["page_token"].as_str().unwrap().to_string();
    let (_, second) = page(&task, &format!("page_size=1&page_token={next}")).await;
    assert_eq!(second["data"]["items"], json!([{ "id": "bob" }]));
    let (_, all) = page(&task, "page_size=50").await;
    assert_eq!(all["data"]["items"].as_array().unwrap().len(), 3);
    assert_eq!(all["data"]["has_more"], false);
    assert!(all["data"].get("page_token").is_none());

    // Tokens are opaque and bound to their list.
    let mut edited = next.clone().into_bytes();
    edited[0] = if edited[0] == b'A' { b'B' } else { b'A' };
    let edited = String::from_utf8(edited).unwrap();
    for query in [
        format!("page_token={edited}"),
        "page_token=garbage".to_string(),
        "page_token=%00%ff".to_string(),
    ] {
        assert_eq!(
            outcome(&page(&task, &query).await),
            (400, 1470422),
            "{query}"
        );
    }
    assert_eq!(
        outcome(&page(&other, &format!("page_token={next}")).await),
        (400, 1470422)
    );
    let collaborators = s
        .call(
            Method::GET,
            &format!("/task/v1/tasks/{task}/collaborators?page_token={next}"),
            &token,
            None,
        )
        .await;
    assert_eq!(outcome(&collaborators), (400, 1470422));
    assert_eq!(outcome(&page(&task, "page_size=51").await), (400, 99992402));
    assert_eq!(
        outcome(&page(&task, "page_size=two").await),
        (400, 99992402)
    );
    let tasks_page = s
        .call(
            Method::GET,
            &format!("/task/v1/tasks?page_token={next}"),
            &token,
            None,
        )
        .await;
    assert_eq!(outcome(&tasks_page), (400, 1470422));
    let too_big = s
        .call(Method::GET, "/task/v1/tasks?page_size=101", &token, None)
        .await;
    assert_eq!(outcome(&too_big), (400, 1470421));

    // The task list pages too, each page's token resuming after it.
    let mut seen = Vec::new();
    let mut query = "page_size=1".to_string();
    loop {
        let data = s
            .ok(
                Method::GET,
                &format!("/task/v1/tasks?{query}"),
                &token,
                None,
            )
            .await;
        seen.extend(
            data["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].clone()),
        );
        if data["has_more"] == false {
            break;
        }
        query = format!(
            "page_size=1&page_token={}",
            data["page_token"].as_str().unwrap()
        );
    }
    assert_eq!(seen, [json!(task), json!(other)]);
}

async fn collaborators_and_who_may_do_what(s: Server) {
    let s = &s;
    let tenant = s.tenant_token("cli_acme", "acme-secret").await;
    let alice = s.user_token("cli_acme", "acme-secret", "alice").await;
    let bob = s.user_token("cli_acme", "acme-secret", "bob").await;
    let carol = s.user_token("cli_acme", "acme-secret", "carol").await;
    let dave = s.user_token("cli_acme", "acme-secret", "dave").await;
    // Alice creates a task with her user token; Bob follows it, Carol collaborates.
    let task = s.create_task(&alice, json!({})).await;
    let base = format!("/task/v1/tasks/{task}");
    let created = s
        .ok(
            Method::GET,
            &format!("{base}?user_id_type=user_id"),
            &alice,
            None,
        )
        .await["task"]
        .clone();
    assert_eq!(
        (created["source"].clone(), created["creator_id"].clone()),
        (json!(7), json!("alice"))
    );
    let by_user_id = |path: &str| format!("{base}/{path}?user_id_type=user_id");
    s.ok(
        Method::POST,
        &by_user_id("followers"),
        &alice,
        Some(json!({ "id": "bob" })),
    )
    .await;
    s.ok(
        Method::POST,
        &by_user_id("collaborators"),
        &alice,
        Some(json!({ "id_list": ["carol"] })),
    )
    .await;

    // A follower reads but may not change the task.
    s.ok(Method::GET, &base, &bob, None).await;
    for (method, path, body) in [
        (
            Method::POST,
            by_user_id("collaborators"),
            json!({ "id": "dave" }),
        ),
        (
            Method::POST,
            by_user_id("followers"),
            json!({ "id": "dave" }),
        ),
        (
            Method::PATCH,
            base.clone(),
            json!({ "update_fields": ["summary"], "task": { "summary": "x" } }),
        ),
        (Method::POST, format!("{base}/complete"), json!({})),
        (Method::DELETE, base.clone(), json!({})),
    ] {
        let answer = s.call(method, &path, &bob, Some(body)).await;
        assert_eq!(outcome(&answer).1, 1470404, "{path}: {}", answer.1);
    }
    // A user with no part in the task may not even see it.
    assert_eq!(
        outcome(&s.call(Method::GET, &base, &dave, None).await),
        (400, 1470432)
    );
    let members = s
        .call(Method::GET, &by_user_id("followers"), &dave, None)
        .await;
    assert_eq!(outcome(&members), (400, 1470432));
    let complete = s
        .call(Method::POST, &format!("{base}/complete"), &dave, None)
        .await;
    assert_eq!(outcome(&complete), (400, 1470432));
    let patch = json!({ "update_fields": ["summary"], "task": { "summary": "x" } });
    let answer = s
        .call(Method::PATCH, &base, &dave, Some(patch.clone()))
        .await;
    assert_eq!(outcome(&answer), (400, 1470404));
    // Nor may the app: the task is Alice's.
    assert_eq!(
        outcome(&s.call(Method::GET, &base, &tenant, None).await),
        (400, 1470432)
    );

    // A collaborator edits, and adds collaborators up to the tenant's cap of two.
    s.ok(Method::PATCH, &base, &carol, Some(patch)).await;
    let collaborators = by_user_id("collaborators");
    let add = |body: Value| s.call(Method::POST, &collaborators, &carol, Some(body));
    assert_eq!(
        outcome(&add(json!({ "id": "carol" })).await),
        (400, 1470431)
    );
    assert_eq!(
        outcome(&add(json!({ "id_list": ["dave", "erin"] })).await),
        (400, 1470429)
    );
    assert_eq!(
        outcome(&add(json!({ "id_list": [""] })).await),
        (400, 1470413)
    );
    s.ok(
        Method::POST,
        &by_user_id("collaborators"),
        &carol,
        Some(json!({ "id": "dave" })),
    )
    .await;
    assert_eq!(
        s.members(&alice, &task, "collaborators").await,
        ["carol", "dave"]
    );
    let removed = s
        .ok(
            Method::POST,
            &format!("{base}/batch_delete_collaborator?user_id_type=user_id"),
            &alice,
            Some(json!({ "id_list": ["dave", "erin"] })),
        )
        .await;
    assert_eq!(removed, json!({ "collaborators": ["dave"] }));
    let gone = s
        .call(
            Method::DELETE,
            &by_user_id("collaborators/dave"),
            &alice,
            None,
        )
        .await;
    assert_eq!(outcome(&gone), (404, 1470700));

    // A follower may always stop following, but not remove others.
    s.ok(
        Method::POST,
        &by_user_id("followers"),
        &alice,
        Some(json!({ "id": "erin" })),
    )
    .await;
    let others = s
        .call(Method::DELETE, &by_user_id("followers/erin"), &bob, None)
        .await;
    assert_eq!(outcome(&others), (400, 1470404));
    s.ok(Method::DELETE, &by_user_id("followers/bob"), &bob, None)
        .await;
    assert_eq!(s.members(&alice, &task, "followers").await, ["erin"]);

    // The app token acts as the app: wrong kind of token for Task v1.
    let app = s.access_token("app", "cli_acme", "acme-secret").await;
    for (method, path, status) in [
        (Method::GET, base.clone(), 403),
        (Method::POST, "/task/v1/tasks".to_string(), 401),
        (Method::POST, format!("{base}/complete"), 401),
        (Method::POST, by_user_id("collaborators"), 401),
        (Method::POST, by_user_id("followers"), 403),
        (Method::GET, by_user_id("followers"), 403),
    ] {
        let answer = s.call(method, &path, &app, Some(json!({}))).await;
        assert_eq!(outcome(&answer), (status, 1470403), "{path}");
    }
}

async fn user_tokens_list_related_tasks(s: Server) {
    let tenant = s.tenant_token("cli_acme", "acme-secret").await;
    let other_app = s.tenant_token("cli_acme_other", "other-secret").await;
    let alice = s.user_token("cli_acme", "acme-secret", "alice").await;
    let bob = s.user_token("cli_acme", "acme-secret", "bob").await;
    let by_alice = s.create_task(&alice, json!({})).await;
    let alice_open = s.id_of(&tenant, "alice", "open_id").await;
    let followed = s
        .create_task(&tenant, json!({ "follower_ids": [alice_open] }))
        .await;
    let assigned = s
        .create_task(&tenant, json!({ "collaborator_ids": [alice_open] }))
        .await;
    let unrelated = s.create_task(&tenant, json!({})).await;
    async fn listed(s: &Server, token: &str) -> Vec<String> {
        let data = s.ok(Method::GET, "/task/v1/tasks", token, None).await;
        data["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    }
    assert_eq!(
        listed(&s, &alice).await,
        [by_alice, followed.clone(), assigned.clone()]
    );
    assert_eq!(listed(&s, &bob).await, Vec::<String>::new());
    // A tenant token lists what its app created, not the tenant's tasks.
    assert_eq!(
        listed(&s, &tenant).await,
        [followed.clone(), assigned, unrelated]
    );
    assert_eq!(listed(&s, &other_app).await, Vec::<String>::new());
    let foreign_app = s
        .call(
            Method::GET,
            &format!("/task/v1/tasks/{followed}"),
            &other_app,
            None,
        )
        .await;
    assert_eq!(outcome(&foreign_app), (400, 1470432));
    // Open ids are per app: the same user under the other app's token.
    let other_open = s.id_of(&other_app, "alice", "open_id").await;
    assert_ne!(other_open, alice_open);
}

async fn tenants_are_isolated(s: Server) {
    let acme = s.tenant_token("cli_acme", "acme-secret").await;
    let globex = s.tenant_token("cli_globex", "globex-secret").await;
    let globex_alice = s.user_token("cli_globex", "globex-secret", "alice").await;
    let task = s
        .create_task(
            &acme,
            json!({ "follower_ids": [s.id_of(&acme, "alice", "open_id").await] }),
        )
        .await;
    let base = format!("/task/v1/tasks/{task}");
    let globex_alice_id = s.id_of(&globex, "alice", "open_id").await;
    for token in [&globex, &globex_alice] {
        for (method, path, body) in [
            (Method::GET, base.clone(), None),
            (
                Method::PATCH,
                base.clone(),
                Some(json!({ "update_fields": ["summary"], "task": { "summary": "x" } })),
            ),
            (Method::POST, format!("{base}/complete"), None),
            (Method::POST, format!("{base}/uncomplete"), None),
            (Method::GET, format!("{base}/followers"), None),
            (
                Method::POST,
                format!("{base}/followers"),
                Some(json!({ "id": globex_alice_id })),
            ),
            (
                Method::POST,
                format!("{base}/batch_delete_follower"),
                Some(json!({ "id_list": [globex_alice_id] })),
            ),
            (Method::GET, format!("{base}/collaborators"), None),
            (
                Method::POST,
                format!("{base}/collaborators"),
                Some(json!({ "id": globex_alice_id })),
            ),
            (Method::DELETE, base.clone(), None),
        ] {
            let answer = s.call(method, &path, token, body).await;
            assert_eq!(outcome(&answer), (400, 1470602), "{path}: {}", answer.1);
        }
        let listed = s.ok(Method::GET, "/task/v1/tasks", token, None).await;
        assert_eq!(listed["items"], json!([]));
    }
    // An acme user's open_id means nothing in globex.
    let acme_bob = s.id_of(&acme, "bob", "open_id").await;
    let globex_task = s.create_task(&globex, json!({})).await;
    let answer = s
        .call(
            Method::POST,
            &format!("/task/v1/tasks/{globex_task}/followers"),
            &globex,
            Some(json!({ "id": acme_bob })),
        )
        .await;
    assert_eq!(outcome(&answer), (400, 99992351));
    let still = s.ok(Method::GET, &base, &acme, None).await["task"].clone();
    assert_eq!(still["summary"], "Prepare the report");
    assert_eq!(still["complete_time"], "0");
    assert_eq!(still["followers"].as_array().unwrap().len(), 1);
}

async fn malformed_requests_change_nothing(s: Server) {
    let token = s.tenant_token("cli_acme", "acme-secret").await;
    let app = s.access_token("app", "cli_acme", "acme-secret").await;
    let alice = s.id_of(&token, "alice", "open_id").await;
    let task = s
        .create_task(&token, json!({ "follower_ids": [alice] }))
        .await;
    let base = format!("/task/v1/tasks/{task}");
    let snapshot = || async {
        let got = s.ok(Method::GET, &base, &token, None).await;
        let list = s.ok(Method::GET, "/task/v1/tasks", &token, None).await;
        (got, list, s.members(&token, &task, "followers").await)
    };
    let before = snapshot().await;
    let huge = format!("{{\"id_list\": [\"{}\"]}}", "x".repeat(5 * 1024 * 1024));
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('0') { '1' } else { '0' });
    let long_id = "f".repeat(10_000);
    let cases: Vec<(Method, String, &str, Option<String>)> = vec![
        (Method::POST, format!("{base}/followers"), &token, Some(r#"{"id_list": "alice"}"#.into())),
        (Method::POST, format!("{base}/followers"), &token, Some(r#"{"id": 5}"#.into())),
        (Method::POST, format!("{base}/followers"), &token, Some(r#"{"id_list": [null]}"#.into())),
        (Method::POST, format!("{base}/followers"), &token, Some("not json".into())),
        (Method::POST, format!("{base}/followers"), &token, Some("[]".into())),
        (Method::POST, format!("{base}/followers"), &token, Some(huge)),
        (Method::POST, format!("{base}/followers"), &token, Some(r#"{"id_list": ["ou_0000"]}"#.into())),
        (Method::POST, format!("{base}/followers"), &token, Some(r#"{"id_list": [""]}"#.into())),
        (Method::POST, format!("{base}/followers?user_id_type=email"), &token, Some("{}".into())),
        (Method::POST, format!("{base}/followers"), "", Some("{}".into())),
        (Method::POST, format!("{base}/followers"), "x-garbage", Some("{}".into())),
        (Method::POST, format!("{base}/followers"), &tampered, Some("{}".into())),
        (Method::POST, format!("{base}/followers"), &app, Some("{}".into())),
        (Method::POST, format!("/task/v1/tasks/{long_id}/followers"), &token, Some("{}".into())),
        (Method::POST, "/task/v1/tasks/%E2%9C%93/followers".into(), &token, Some("{}".into())),
        (Method::POST, format!("{base}/batch_delete_follower"), &token, Some(r#"{"id_list": [1, 2]}"#.into())),
        (Method::POST, format!("{base}/batch_delete_follower"), &token, Some(r#"{"id_list": ["ou_nope"]}"#.into())),
        (Method::DELETE, format!("{base}/followers/ou_nope"), &token, None),
        (Method::POST, format!("{base}/collaborators"), &token, Some(r#"{"id_list": {"a": 1}}"#.into())),
        (Method::PATCH, base.clone(), &token, Some(r#"{"update_fields": "summary"}"#.into())),
        (Method::PATCH, base.clone(), &token, Some(r#"{"update_fields": ["summary"], "task": {"summary": 5}}"#.into())),
        (Method::PATCH, base.clone(), &token, Some(r#"{"update_fields": ["summary"], "task": []}"#.into())),
        (Method::PATCH, base.clone(), &token, Some(r#"{"update_fields": ["due"], "task": {"due": {"time": [1]}}}"#.into())),
        (Method::PATCH, base.clone(), &token, Some(r#"{"update_fields": ["due"], "task": {"due": {"time": "-5"}}}"#.into())),
        (Method::PATCH, base.clone(), &token, Some(r#"{"update_fields": ["followers"], "task": {}}"#.into())),
        (Method::POST, "/task/v1/tasks".into(), &token, Some(r#"{"summary": 5}"#.into())),
        (Method::POST, "/task/v1/tasks".into(), &token, Some(r#"{"summary": "s"}"#.into())),
        (Method::POST, "/task/v1/tasks".into(), &token, Some(r#"{"summary": "s", "origin": "x"}"#.into())),
        (Method::POST, "/task/v1/tasks".into(), &token, Some(r#"{"summary": "", "origin": {"platform_i18n_name": "{\"en_us\": \"x\"}"}}"#.into())),
        (Method::POST, "/task/v1/tasks".into(), &token, Some(r#"{"summary": "s", "origin": {"platform_i18n_name": "{\"en_us\": \"x\"}"}, "follower_ids": ["ou_nope"]}"#.into())),
        (Method::POST, "/task/v1/tasks".into(), &token, Some(r#"{"summary": "s", "origin": {"platform_i18n_name": "{\"en_us\": \"x\"}"}, "follower_ids": [""]}"#.into())),
        (Method::POST, "/task/v1/tasks".into(), &token, Some(r#"{"summary": "s", "origin": {"platform_i18n_name": "{}"}}"#.into())),
        (Method::POST, "/task/v1/tasks".into(), &token, Some(r#"{"summary": "s", "origin": {"platform_i18n_name": "{\"en_us\": \"x\"}", "href": {"url": "javascript:x"}}}"#.into())),
        (Method::POST, "/task/v1/tasks".into(), &token, Some(r#"{"summary": "s", "origin": {"platform_i18n_name": "{\"en_us\": \"x\"}"}, "custom": "[]"}"#.into())),
        (Method::POST, "/task/v1/tasks".into(), &token, Some(r#"{"summary": "s", "origin": {"platform_i18n_name": "{\"en_us\": \"x\"}"}, "repeat_rule": "EVERY DAY"}"#.into())),
        (Method::GET, "/task/v1/tasks?start_create_time=yesterday".into(), &token, None),
        (Method::GET, "/task/v1/tasks?task_completed=maybe".into(), &token, None),
        (Method::GET, "/task/v1/tasks?page_size=-1".into(), &token, None),
        (Method::GET, format!("{base}/followers?page_token=%FF"), &token, None),
        (Method::POST, format!("{base}/complete"), &app, None),
        (Method::PUT, base.clone(), &token, Some("{}".into())),
        // Trailing characters after the JSON value.
        (Method::POST, format!("{base}/followers"), &token, Some(r#"{"id_list":["erin"]}}garbage"#.into())),
        (Method::POST, format!("{base}/followers"), &token, Some(r#"{"id_list":["erin"]} {}"#.into())),
        (Method::POST, format!("{base}/collaborators"), &token, Some(r#"{"id_list":["erin"]}x"#.into())),
        (Method::POST, format!("{base}/batch_delete_follower"), &token, Some(format!(r#"{{"id_list":["{alice}"]}}]"#))),
        (Method::PATCH, base.clone(), &token, Some(r#"{"update_fields": ["summary"], "task": {"summary": "x"}},"#.into())),
        (Method::POST, "/task/v1/tasks".into(), &token, Some(r#"{"summary": "s", "origin": {"platform_i18n_name": "{\"en_us\": \"x\"}"}}}"#.into())),
    ];
    for (method, path, token, body) in cases {
        let (status, answer) = s.send(method.clone(), &path, token, body).await;
        let shown: String = path.chars().take(80).collect();
        assert!(
            status.is_client_error(),
            "{method} {shown}: {status} {answer}"
        );
        assert!(
            answer["code"].as_i64().unwrap() > 0,
            "{method} {shown}: {answer}"
        );
        assert!(answer["error"]["log_id"].is_string());
    }
    assert_eq!(snapshot().await, before);
}

/// Feishu's gateway serves every path with one trailing slash as without it.
async fn trailing_slashes_reach_the_route(s: Server) {
    let credentials = json!({ "app_id": "cli_acme", "app_secret": "acme-secret" });
    let (_, answer) = s
        .call(
            Method::POST,
            "/auth/v3/tenant_access_token/internal/",
            "",
            Some(credentials.clone()),
        )
        .await;
    let token = answer["tenant_access_token"].as_str().unwrap().to_string();
    let (_, answer) = s
        .call(
            Method::POST,
            "/auth/v3/app_access_token/internal/",
            "",
            Some(credentials),
        )
        .await;
    assert!(answer["app_access_token"].is_string(), "{answer}");
    let origin = json!({ "platform_i18n_name": "{\"en_us\": \"Tests\"}" });
    let created = s
        .ok(
            Method::POST,
            "/task/v1/tasks/?user_id_type=user_id",
            &token,
            Some(json!({ "summary": "s", "origin": origin, "follower_ids": ["bob"] })),
        )
        .await;
    let task = created["task"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["task"]["followers"][0]["id"], "bob");
    s.ok(
        Method::POST,
        &format!("/task/v1/tasks/{task}/followers/?user_id_type=user_id"),
        &token,
        Some(json!({ "id_list": ["carol"] })),
    )
    .await;
    assert_eq!(
        s.members(&token, &task, "followers").await,
        ["bob", "carol"]
    );
    let listed = s.ok(Method::GET, "/task/v1/tasks/", &token, None).await;
    assert_eq!(listed["items"][0]["id"], task.as_str());
    let user = s
        .ok(
            Method::GET,
            "/contact/v3/users/alice/?user_id_type=user_id",
            &token,
            None,
        )
        .await;
    assert_eq!(user["user"]["name"], "Alice");
    // One slash comes off, not two; unknown paths stay unknown; the method still matters.
    for (method, path, status, code) in [
        (
            Method::POST,
            format!("/task/v1/tasks/{task}/followers//"),
            404,
            99991201,
        ),
        (Method::POST, "/task/v1/nothing/".to_string(), 404, 99991201),
        (
            Method::PUT,
            format!("/task/v1/tasks/{task}/"),
            405,
            99991301,
        ),
    ] {
        let answer = s.call(method, &path, &token, Some(json!({}))).await;
        assert_eq!(outcome(&answer), (status, code), "{path}: {}", answer.1);
    }
    // `PATCH /tasks/` is the SDKs' empty task id, not `/tasks`.
    let answer = s
        .call(Method::PATCH, "/task/v1/tasks/", &token, Some(json!({})))
        .await;
    assert_eq!(outcome(&answer).1, 1470423, "{}", answer.1);
}

async fn tasks_and_followers_survive_a_restart(mut s: Server) {
    let token = s.tenant_token("cli_acme", "acme-secret").await;
    let alice = s.user_token("cli_acme", "acme-secret", "alice").await;
    let mut tasks = Vec::new();
    for i in 0..3 {
        let open_ids = [
            s.id_of(&token, "alice", "open_id").await,
            s.id_of(&token, "bob", "open_id").await,
        ];
        let id = s
            .create_task(
                &token,
                json!({ "summary": format!("task {i}"), "follower_ids": &open_ids[..=i.min(1)] }),
            )
            .await;
        tasks.push(id);
    }
    s.ok(
        Method::POST,
        &format!(
            "/task/v1/tasks/{}/collaborators?user_id_type=user_id",
            tasks[2]
        ),
        &token,
        Some(json!({ "id": "carol" })),
    )
    .await;
    s.ok(
        Method::POST,
        &format!("/task/v1/tasks/{}/complete", tasks[1]),
        &token,
        None,
    )
    .await;
    let list = s
        .ok(Method::GET, "/task/v1/tasks?page_size=2", &token, None)
        .await;
    let page_token = list["page_token"].as_str().unwrap().to_string();
    let before = s.ok(Method::GET, "/task/v1/tasks", &token, None).await;
    let alice_before = s.ok(Method::GET, "/task/v1/tasks", &alice, None).await;

    s.restart().await;
    // Tokens and page tokens issued before the restart still hold.
    assert_eq!(
        s.ok(Method::GET, "/task/v1/tasks", &token, None).await,
        before
    );
    assert_eq!(
        s.ok(Method::GET, "/task/v1/tasks", &alice, None).await,
        alice_before
    );
    let rest = s
        .ok(
            Method::GET,
            &format!("/task/v1/tasks?page_size=2&page_token={page_token}"),
            &token,
            None,
        )
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        s.members(&token, &tasks[2], "followers").await,
        ["alice", "bob"]
    );
    assert_eq!(
        s.members(&token, &tasks[2], "collaborators").await,
        ["carol"]
    );
    assert_eq!(s.members(&token, &tasks[0], "followers").await, ["alice"]);
}

async fn rate_limits_per_app_and_endpoint(s: Server) {
    let token = s.tenant_token("cli_throttled", "throttled-secret").await;
    // Tier-3 create: two a minute in this tenant, then 1470450 with HTTP 429.
    let task = s.create_task(&token, json!({})).await;
    s.create_task(&token, json!({})).await;
    let refused = s
        .call(Method::POST, "/task/v1/tasks", &token, Some(json!({})))
        .await;
    assert_eq!(outcome(&refused), (429, 1470450));
    assert_eq!(
        refused.1["msg"],
        "There are too many requests currently, please try again later."
    );

    // Tier 4: three a minute per endpoint. Get documents no 1470450: the gateway answers.
    let get = format!("/task/v1/tasks/{task}");
    for _ in 0..3 {
        s.ok(Method::GET, &get, &token, None).await;
    }
    let response = s
        .http
        .get(format!("{}/open-apis{get}", s.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["x-ogw-ratelimit-limit"], "3");
    let reset: i64 = response.headers()["x-ogw-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&reset));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 99991400);
    // Other endpoints count separately; the follower endpoint answers 1470450 with HTTP 400.
    let followers = format!("/task/v1/tasks/{task}/followers?user_id_type=user_id");
    s.ok(
        Method::POST,
        &followers,
        &token,
        Some(json!({ "id": "alice" })),
    )
    .await;
    for _ in 0..2 {
        let answer = s
            .call(
                Method::POST,
                &followers,
                &token,
                Some(json!({ "id": "alice" })),
            )
            .await;
        assert_eq!(outcome(&answer), (400, 1470430));
    }
    let answer = s
        .call(
            Method::POST,
            &followers,
            &token,
            Some(json!({ "id": "alice" })),
        )
        .await;
    assert_eq!(outcome(&answer), (400, 1470450));
    assert_eq!(answer.1["msg"], "request too fast");
    // A minute later the windows are free again.
    s.advance_clock(61).await;
    let token = s.tenant_token("cli_throttled", "throttled-secret").await;
    s.ok(Method::GET, &get, &token, None).await;
    s.create_task(&token, json!({})).await;

    // A tenant with rate limiting switched off is never throttled, whatever its numbers.
    let free = s
        .tenant_token("cli_unthrottled", "unthrottled-secret")
        .await;
    let task = s.create_task(&free, json!({})).await;
    for _ in 0..5 {
        s.create_task(&free, json!({})).await;
        s.ok(Method::GET, &format!("/task/v1/tasks/{task}"), &free, None)
            .await;
    }
}

/// Hold the database's write lock from outside roster, so a write roster starts waits inside
/// its transaction while holding the task's write lock.
async fn block_writes(s: &Server) -> RawDatabase {
    let mut blocker = s.inner.raw_database().await;
    match blocker {
        RawDatabase::Postgres(_) => {
            blocker.execute("BEGIN").await;
            blocker.execute("LOCK TABLE edges IN EXCLUSIVE MODE").await;
        }
        RawDatabase::Sqlite(_) => blocker.execute("BEGIN IMMEDIATE").await,
    }
    blocker
}

async fn one_write_at_a_time_per_task(s: Server) {
    let token = s.tenant_token("cli_acme", "acme-secret").await;
    let task = s.create_task(&token, json!({})).await;
    let other = s.create_task(&token, json!({})).await;
    let add = |task: &str, user: &str| {
        let request = s
            .http
            .post(format!(
                "{}/open-apis/task/v1/tasks/{task}/followers?user_id_type=user_id",
                s.url
            ))
            .bearer_auth(&token)
            .json(&json!({ "id": user }));
        tokio::spawn(async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        })
    };
    let mut blocker = block_writes(&s).await;
    let mut first = add(&task, "alice");
    let mut second = add(&task, "bob");
    // One of the two holds the task while it waits for the database; the other is refused.
    let (refused, mut pending) = tokio::select! {
        done = &mut first => (done.unwrap(), second),
        done = &mut second => (done.unwrap(), first),
    };
    assert_eq!(outcome(&refused), (400, 1470451), "{}", refused.1);
    assert_eq!(refused.1["msg"], "request api concurrently");
    // Reads and writes on other tasks are not held up by the task's lock.
    s.ok(Method::GET, &format!("/task/v1/tasks/{task}"), &token, None)
        .await;
    let elsewhere = add(&other, "carol");
    blocker.execute("ROLLBACK").await;
    let (status, body) = (&mut pending).await.unwrap();
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::OK, json!(0)),
        "{body}"
    );
    assert_eq!(elsewhere.await.unwrap().0, StatusCode::OK);
    let added = body["data"]["follower"]["id"].as_str().unwrap().to_string();
    assert_eq!(s.members(&token, &task, "followers").await, [added]);
    // With the lock released the task takes writes again.
    let after = add(&task, "dave").await.unwrap();
    assert_eq!(after.0, StatusCode::OK);
}

async fn internal_failures_use_the_documented_codes(s: Server) {
    let token = s.tenant_token("cli_acme", "acme-secret").await;
    let task = s.create_task(&token, json!({})).await;
    let mut db = s.inner.raw_database().await;
    db.execute("ALTER TABLE edges RENAME TO edges_away").await;
    let followers = format!("/task/v1/tasks/{task}/followers?user_id_type=user_id");
    let answer = s
        .call(
            Method::POST,
            &followers,
            &token,
            Some(json!({ "id": "alice" })),
        )
        .await;
    assert_eq!(outcome(&answer), (500, 1470711));
    assert_eq!(answer.1["msg"], "failed to add task followers");
    let answer = s
        .call(
            Method::POST,
            &format!("/task/v1/tasks/{task}/batch_delete_collaborator?user_id_type=user_id"),
            &token,
            Some(json!({ "id_list": ["alice"] })),
        )
        .await;
    assert_eq!(outcome(&answer), (500, 1470702));
    // Endpoints that document no such code answer the generic one.
    let answer = s.call(Method::GET, &followers, &token, None).await;
    assert_eq!(outcome(&answer), (500, 99991500));
    db.execute("ALTER TABLE edges_away RENAME TO edges").await;
    // The failure was roster's, not the request's: the same request now succeeds.
    s.ok(
        Method::POST,
        &followers,
        &token,
        Some(json!({ "id": "alice" })),
    )
    .await;
    assert_eq!(s.members(&token, &task, "followers").await, ["alice"]);
}
