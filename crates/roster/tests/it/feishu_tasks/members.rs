//! Followers and collaborators: added all or nothing, paged with sealed tokens, and who may do
//! what.

use super::*;

roster_store::on_both_backends!(super::Server::start;
    followers_are_added_all_or_nothing,
    followers_page_with_sealed_tokens,
    collaborators_and_who_may_do_what,
);

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
