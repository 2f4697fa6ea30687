//! Tasks themselves: their lifecycle, the tasks a user token sees, tenants kept apart, and
//! tasks with their followers across a restart.

use super::*;

roster_store::on_both_backends!(super::Server::start;
    task_lifecycle,
    user_tokens_list_related_tasks,
    tenants_are_isolated,
    tasks_and_followers_survive_a_restart,
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
