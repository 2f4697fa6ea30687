//! `POST /_roster/reset`: every space or one back to the seed's exact state.

use super::*;

roster_store::on_both_backends!(super::start;
    reset_returns_every_space_or_one_to_the_seed,
    reset_leaves_exactly_the_seeds_state,
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
