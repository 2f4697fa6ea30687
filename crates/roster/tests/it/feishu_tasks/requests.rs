//! Requests as Task v1 takes them: malformed ones change nothing, trailing slashes, rate limits,
//! one write at a time per task, and the documented codes of internal failures.

use super::*;

roster_store::on_both_backends!(super::Server::start;
    malformed_requests_change_nothing,
    trailing_slashes_reach_the_route,
    rate_limits_per_app_and_endpoint,
    one_write_at_a_time_per_task,
    internal_failures_use_the_documented_codes,
);

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
