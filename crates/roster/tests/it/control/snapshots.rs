//! Snapshots saved and loaded through HTTP and the subcommands, and moved between backends.

use super::*;

roster_store::on_both_backends!(super::start;
    snapshot_saves_and_loads_through_the_subcommands,
);

async fn snapshot_saves_and_loads_through_the_subcommands(server: TestServer) {
    let client = Client::of(&server);
    let token = client.wecom_token(CORP, SECRET).await;
    client.tag_add(&token, &["lisi"]).await;
    client.follow("UserID_001", &["UserID_002"]).await;
    let members = client.tag_members(&token).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.jsonl");
    let file_arg = file.display().to_string();
    let output = run(
        vec!["snapshot".into(), "save".into(), file_arg.clone()],
        client.base.clone(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let saved = std::fs::read(&file).unwrap();

    // Changed afterwards, then loaded back: exactly the saved state, saved again identically.
    client
        .wecom(
            &token,
            "tag/deltagusers",
            json!({ "tagid": 1008, "userlist": members }),
        )
        .await;
    client
        .tim(
            "follow/follow_delete",
            json!({ "From_Account": "UserID_001", "To_Account": ["UserID_002"] }),
        )
        .await;
    let output = run(
        vec!["snapshot".into(), "load".into(), file_arg.clone()],
        client.base.clone(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let token = client.wecom_token(CORP, SECRET).await;
    assert_eq!(client.tag_members(&token).await, members);
    assert_eq!(client.following("UserID_001").await, 1);
    let again = dir.path().join("again.jsonl");
    let output = run(
        vec![
            "snapshot".into(),
            "save".into(),
            again.display().to_string(),
        ],
        client.base.clone(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    assert_eq!(std::fs::read(&again).unwrap(), saved);

    // A file of a newer format is refused whole, with a clear message, and nothing changes.
    let newer = dir.path().join("newer.jsonl");
    std::fs::write(&newer, "{\"format\":\"roster-snapshot\",\"version\":99}\n").unwrap();
    let output = run(
        vec![
            "snapshot".into(),
            "load".into(),
            newer.display().to_string(),
        ],
        client.base.clone(),
    )
    .await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("version 99 is newer"), "{stderr}");
    // A file that contradicts itself (a member no entity of the file names) loads nothing.
    let text = String::from_utf8(saved.clone()).unwrap();
    let broken = text.replacen("\"key\":\"UserID_002\"}", "\"key\":\"nobody\"}", 1);
    assert_ne!(broken, text);
    let (status, answer) = {
        let response = client
            .http
            .post(format!("{}/_roster/snapshot", client.base))
            .bearer_auth(ADMIN_TOKEN)
            .body(broken)
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 400, "{answer}");
    assert_eq!(client.following("UserID_001").await, 1);
    // One space alone, or two.
    let tim_only = dir.path().join("tim.jsonl");
    let output = run(
        vec![
            "snapshot".into(),
            "save".into(),
            tim_only.display().to_string(),
            "--space".into(),
            format!("tim/{SDKAPPID}"),
        ],
        client.base.clone(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let spaces: Vec<Value> = std::fs::read_to_string(&tim_only)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("{\"space\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(spaces.len(), 1);
    assert_eq!(spaces[0]["space"]["key"], SDKAPPID.to_string());
    let two = format!("/snapshot?space=tim/{SDKAPPID}&space=wecom/{CORP}");
    let response = client
        .http
        .get(format!("{}/_roster{two}", client.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert_eq!(
        text.lines().filter(|l| l.starts_with("{\"space\"")).count(),
        2
    );
    // A save that cannot be written leaves the previous file as it was.
    let output = run(
        vec![
            "snapshot".into(),
            "save".into(),
            file_arg.clone(),
            "--space".into(),
            "tim/1".into(),
        ],
        client.base.clone(),
    )
    .await;
    assert!(!output.status.success());
    assert_eq!(std::fs::read(&file).unwrap(), saved);
    server.stop().await;
}

/// A database built on SQLite moves to PostgreSQL through a snapshot file, unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_moves_from_sqlite_to_postgres_and_back_identically() {
    let Some(database) = common::postgres_database("snapshot_moves_from_sqlite_to_postgres").await
    else {
        return;
    };
    let sqlite = start(None).await;
    let client = Client::of(&sqlite);
    let token = client.wecom_token(CORP, SECRET).await;
    client
        .wecom(
            &token,
            "tag/addtagusers",
            json!({ "tagid": 1008, "userlist": ["lisi"], "partylist": [2] }),
        )
        .await;
    client
        .tim(
            "follow/follow_add",
            json!({ "From_Account": "UserID_001", "FollowItem": [{ "To_Account": "UserID_002" }, { "To_Account": "UserID_003" }] }),
        )
        .await;
    client
        .tim(
            "follow/follow_add",
            json!({ "From_Account": "UserID_002", "FollowItem": [{ "To_Account": "UserID_001" }] }),
        )
        .await;
    let (status, _) = client.admin(reqwest::Method::GET, "/spaces", None).await;
    assert_eq!(status, 200);
    let export = |base: String| async move {
        reqwest::Client::new()
            .get(format!("{base}/_roster/snapshot"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
    };
    let from_sqlite = export(client.base.clone()).await;
    sqlite.stop().await;

    let postgres = start(Some(database)).await;
    let pg = Client::of(&postgres);
    let (status, answer) = {
        let response = pg
            .http
            .post(format!("{}/_roster/snapshot", pg.base))
            .bearer_auth(ADMIN_TOKEN)
            .body(from_sqlite.clone())
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 200, "{answer}");
    assert_eq!(export(pg.base.clone()).await, from_sqlite);
    assert_eq!(pg.following("UserID_001").await, 2);
    let token = pg.wecom_token(CORP, SECRET).await;
    assert_eq!(pg.tag_members(&token).await, ["lisi"].map(String::from));
    postgres.stop().await;
}
