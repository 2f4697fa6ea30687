//! The request journal: vendor requests without their credentials, in bounded memory.

use super::*;

roster_store::on_both_backends!(super::start;
    journal_records_vendor_requests_without_credentials,
);

async fn journal_records_vendor_requests_without_credentials(server: TestServer) {
    let client = Client::of(&server);
    let token = client.wecom_token(CORP, SECRET).await;
    client.tag_add(&token, &["lisi"]).await;
    client
        .wecom(&token, "tag/addtagusers", json!({ "tagid": 9 }))
        .await;
    client.following("UserID_001").await;
    let url = format!(
        "{}/open-apis/auth/v3/tenant_access_token/internal",
        client.base
    );
    let body = json!({ "app_id": "cli_demo00000000001", "app_secret": "demo-app-secret" });
    let feishu = client.http.post(url).json(&body).send().await.unwrap();
    let feishu_log_id = feishu.headers()["x-tt-logid"].to_str().unwrap().to_string();

    let all = journal(&client, "").await;
    let paths: Vec<&str> = all.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "/open-apis/auth/v3/tenant_access_token/internal",
            "/v4/follow/follow_get",
            "/cgi-bin/tag/addtagusers",
            "/cgi-bin/tag/addtagusers",
            "/cgi-bin/gettoken"
        ],
        "newest first"
    );
    assert_eq!(all[0]["log_id"], json!(feishu_log_id));
    assert_eq!(all[1]["space"], json!(format!("tim/{SDKAPPID}")));
    assert_eq!(all[2]["vendor_code"], json!(40068), "{}", all[2]);
    assert_eq!(
        all[3]["request_body"]["text"],
        r#"{"tagid":1008,"userlist":["lisi"]}"#
    );
    let text = serde_json::to_string(&all).unwrap();
    for secret in [SECRET, "demo-app-secret", token.as_str()] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(text.contains("usersig=[redacted]"), "{text}");
    assert!(
        !text.contains("\"t-"),
        "a tenant token is journaled: {text}"
    );

    // Filters, and pages newest first.
    let wecom = journal(&client, &format!("dialect=wecom&space=wecom/{CORP}")).await;
    assert_eq!(wecom.len(), 2);
    assert_eq!(journal(&client, "code=40068").await.len(), 1);
    let first = journal(&client, "limit=2").await;
    let before = first[1]["id"].as_u64().unwrap();
    let next = journal(&client, &format!("limit=2&before={before}")).await;
    assert_eq!(next[0]["path"], "/cgi-bin/tag/addtagusers");
    let (status, _) = client
        .admin(reqwest::Method::GET, "/requests?limit=x", None)
        .await;
    assert_eq!(status, 400);

    // The subcommand prints them, then clears them.
    let output = run(
        vec![
            "requests".into(),
            "--json".into(),
            "--dialect".into(),
            "tim".into(),
        ],
        client.base.clone(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["path"], "/v4/follow/follow_get");
    let output = run(
        vec!["requests".into(), "--clear".into()],
        client.base.clone(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    assert!(journal(&client, "").await.is_empty());
    server.stop().await;
}

/// Under a steady load of large requests, the journal keeps to its byte bound and the
/// server's memory stays flat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_memory_stays_flat_under_load() {
    const BOUND: usize = 1 << 20;
    const BODY: usize = 12 << 10;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("seed.toml"), DEMO).unwrap();
    let bound = BOUND.to_string();
    let server = common::process::Server::start(
        dir.path(),
        None,
        &dir.path().join("server.log"),
        ADMIN_TOKEN,
        &["--journal-entries", "100000", "--journal-bytes", &bound],
    )
    .await;
    let client = std::sync::Arc::new(Client::at(server.base.clone()));
    let token = client.wecom_token(CORP, SECRET).await;
    let url = format!("{}/cgi-bin/user/create?access_token={token}", server.base);
    let load = |requests: usize| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let body = json!({ "userid": "x", "name": "n".repeat(BODY) });
            for _ in 0..requests {
                let answer = client.send(client.http.post(&url).json(&body)).await;
                assert_ne!(answer["errcode"], 0, "a name that long is refused");
            }
        }
    };
    let clients = |requests| futures_join(4, move |_| load(requests));
    clients(150).await;
    let warm = server.rss_kb();
    clients(600).await;
    let after = server.rss_kb();
    let kept = journal(&client, "limit=1000").await.len();
    // 3,000 requests of 12 KiB: unbounded, the journal alone would hold about 36 MiB.
    assert!(
        kept > 10 && kept * BODY <= BOUND + BODY,
        "{kept} entries kept"
    );
    assert!(
        after <= warm + 8 * 1024,
        "RSS grew from {warm} kB to {after} kB under a 1 MiB journal bound"
    );
    server.kill();
}
