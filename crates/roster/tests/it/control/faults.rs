//! Fault rules, from the admin routes and the seed file: answers as the vendor's, delays and
//! drops, with their metrics.

use super::*;

roster_store::on_both_backends!(super::start;
    fault_rules_answer_as_the_vendor_delay_and_drop,
);

async fn fault_rules_answer_as_the_vendor_delay_and_drop(server: TestServer) {
    let client = Client::of(&server);
    let token = client.wecom_token(CORP, SECRET).await;
    let rule = add_fault(
        &client,
        json!({ "dialect": "wecom", "route": "/cgi-bin/tag/{action}",
        "method": "post", "body": { "tagid": 1008 }, "error": { "errcode": 45009 }, "count": 1 }),
    )
    .await;
    let other_tag = client
        .wecom(&token, "tag/addtagusers", json!({ "tagid": 9 }))
        .await;
    assert_eq!(
        other_tag["errcode"], 40068,
        "the body does not match: {other_tag}"
    );
    let faulted = client.tag_add(&token, &["lisi"]).await;
    assert_eq!(
        faulted,
        json!({ "errcode": 45009, "errmsg": "fault injected by roster" })
    );
    assert_eq!(
        client.tag_members(&token).await,
        Vec::<String>::new(),
        "nothing was written"
    );
    let added = client.tag_add(&token, &["lisi"]).await;
    assert_eq!(added["errcode"], 0, "the rule retired after one: {added}");
    let entries = journal(&client, "path=addtagusers&limit=2").await;
    assert_eq!(
        (entries[1]["fault"].as_u64(), entries[0]["fault"].as_u64()),
        (Some(rule), None)
    );
    assert_eq!(
        entries[1]["request_body"]["text"],
        r#"{"tagid":1008,"userlist":["lisi"]}"#
    );

    // Each vendor's envelope and status: TIM answers 200 FAIL, Feishu 429 for its rate limit.
    add_fault(
        &client,
        json!({ "dialect": "tim", "route": "/v4/follow/follow_get",
        "error": { "ErrorCode": 90001, "ErrorInfo": "busy" }, "count": 1 }),
    )
    .await;
    let tim = client
        .tim(
            "follow/follow_get",
            json!({ "From_Account": "UserID_001", "FollowType": 2 }),
        )
        .await;
    assert_eq!(tim["ActionStatus"], "FAIL");
    assert_eq!(
        (tim["ErrorCode"].as_i64(), tim["ErrorInfo"].as_str()),
        (Some(90001), Some("busy"))
    );
    add_fault(
        &client,
        json!({ "dialect": "feishu", "error": { "code": 99991400,
        "msg": "request trigger frequency limit" }, "count": 1 }),
    )
    .await;
    let url = format!(
        "{}/open-apis/auth/v3/tenant_access_token/internal",
        client.base
    );
    let body = json!({ "app_id": "cli_demo00000000001", "app_secret": "demo-app-secret" });
    let limited = client.http.post(url).json(&body).send().await.unwrap();
    assert_eq!(limited.status(), 429);
    let log_id = limited.headers()["x-tt-logid"]
        .to_str()
        .unwrap()
        .to_string();
    let limited: Value = limited.json().await.unwrap();
    assert_eq!(limited["code"], 99991400);
    assert_eq!(limited["error"]["log_id"], json!(log_id));

    // A delay holds the answer back; a dropped connection gets no answer at all.
    add_fault(
        &client,
        json!({ "dialect": "qwif", "delay_ms": 300, "count": 1 }),
    )
    .await;
    let started = std::time::Instant::now();
    let url = format!(
        "{}/qwcgi/portal/api/qwsecurity!getToken.action",
        client.base
    );
    let delayed = client.send(client.http.get(&url)).await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert!(delayed["code"].is_string(), "{delayed}");
    let dropped = add_fault(
        &client,
        json!({ "dialect": "wecom", "drop": true, "count": 1 }),
    )
    .await;
    let url = format!("{}/cgi-bin/tag/list?access_token={token}", client.base);
    assert!(
        client.http.get(&url).send().await.is_err(),
        "the connection was dropped"
    );
    let entry = &journal(&client, "limit=1").await[0];
    assert_eq!(
        (entry["status"].as_u64(), entry["fault"].as_u64()),
        (Some(0), Some(dropped))
    );

    // Through the subcommand: add, list, remove; invalid rules are refused whole.
    let rule_json = r#"{"dialect":"tim","drop":true,"probability":0.5}"#;
    let output = run(
        vec!["faults".into(), "add".into(), rule_json.into()],
        client.base.clone(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let id = String::from_utf8(output.stdout).unwrap().trim().to_string();
    let output = run(vec!["faults".into(), "list".into()], client.base.clone()).await;
    assert!(String::from_utf8(output.stdout)
        .unwrap()
        .contains("\"probability\":0.5"));
    let output = run(
        vec!["faults".into(), "remove".into(), id.clone()],
        client.base.clone(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let output = run(
        vec!["faults".into(), "remove".into(), id],
        client.base.clone(),
    )
    .await;
    assert!(!output.status.success(), "already removed");
    let (status, answer) = client
        .admin(
            reqwest::Method::POST,
            "/faults",
            Some(json!([
                { "dialect": "tim", "drop": true },
                { "dialect": "tim" }
            ])),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    let (_, listed) = client.admin(reqwest::Method::GET, "/faults", None).await;
    assert_eq!(listed["faults"], json!([]));
    server.stop().await;
}

/// The demo seed with one fault rule.
async fn start_with_a_seed_fault(database: Option<common::ScratchDatabase>) -> TestServer {
    let seed = format!(
        "{DEMO}\n[[faults]]\ndialect = \"wecom\"\nroute = \"/cgi-bin/gettoken\"\nerror = {{ errcode = -1, errmsg = \"system busy\" }}\ncount = 1\n"
    );
    TestServer::start(database, &seed).await
}

mod seeded_faults {
    use super::*;
    roster_store::on_both_backends!(super::start_with_a_seed_fault; seed_fault_rules_metrics_and_readiness);
}

async fn seed_fault_rules_metrics_and_readiness(server: TestServer) {
    let backend = server.backend_name();
    let client = Client::of(&server);
    let url = format!(
        "{}/cgi-bin/gettoken?corpid={CORP}&corpsecret={SECRET}",
        client.base
    );
    assert_eq!(client.send(client.http.get(&url)).await["errcode"], -1);
    assert_eq!(client.send(client.http.get(&url)).await["errcode"], 0);
    let ready = client
        .http
        .get(format!("{}/readyz", client.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let metrics = client.metrics().await;
    assert!(
        metrics.contains(
            r#"roster_requests_total{dialect="wecom",route="/cgi-bin/gettoken",code="-1"}"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("roster_request_duration_seconds"),
        "{metrics}"
    );
    assert!(metrics.contains("roster_faults_fired_total"), "{metrics}");
    let writes = format!(r#"roster_store_writes_total{{backend="{backend}",outcome="applied"}}"#);
    assert!(metrics.contains(&writes), "{metrics}");
    if backend == "sqlite" {
        assert!(
            metrics.contains("roster_sqlite_commit_batch_size"),
            "{metrics}"
        );
    }
    server.stop().await;
    let bad = format!("{DEMO}\n[[faults]]\ndialect = \"wecom\"\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.toml");
    std::fs::write(&path, bad).unwrap();
    let error = roster::seed::Seed::load(Some(&path)).unwrap_err();
    assert!(error.to_string().contains("needs an action"), "{error}");
}
