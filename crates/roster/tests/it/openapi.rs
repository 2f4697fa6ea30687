//! `GET /_roster/openapi.json`: the OpenAPI 3.1 document of every route, served without the
//! admin token, naming only routes roster serves. (tests/sdk/python/fuzz_openapi.py runs
//! schemathesis against it.)

use crate::common;

use common::api::Api;
use reqwest::Method;
use serde_json::Value;

roster_store::on_both_backends!(
    super::Api::demo;
    the_document_names_every_dialect_and_only_served_routes,
);

/// Whether `answer` is the refusal of a path nobody serves, in whichever envelope.
fn unrouted(status: u16, answer: &Value) -> bool {
    status == 405
        || answer["error"] == "no such route"
        || answer["code"] == 99991201
        || answer["ErrorCode"] == 60009
        || answer["errcode"] == 48002
        || answer["code"] == "48002"
}

async fn the_document_names_every_dialect_and_only_served_routes(d: Api) {
    let response = d
        .http
        .get(format!("{}/_roster/openapi.json", d.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "no admin token needed");
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for served in [
        "/open-apis/task/v1/tasks/{task_id}/followers",
        "/open-apis/apaas/v1/user_tasks/{task_id}/chat_group",
        "/oauth/v3/token",
        "/v4/follow/follow_add",
        "/v4/im_open_login_svc/account_check",
        "/cgi-bin/tag/addtagusers",
        "/qwcgi/api/tag/addTagRef.do",
        "/_roster/reset",
        "/_roster/feishu/login_codes",
        "/_roster/openapi.json",
        "/_roster/console",
        "/healthz",
    ] {
        assert!(paths.contains_key(served), "{served} is described");
    }
    let mut operations = 0;
    for (path, item) in paths {
        let target = path.replace(['{', '}'], "");
        for (method, operation) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            assert!(operation["responses"].is_object(), "{method} {path}");
            let response = d
                .http
                .request(method.clone(), format!("{}{target}", d.url))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            // Text answers: the metrics and the console's files.
            if path == "/metrics" || path.starts_with("/_roster/console") {
                assert_eq!(status, 200, "{method} {path}");
                continue;
            }
            let answer: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"));
            assert!(!unrouted(status, &answer), "{method} {path}: {answer}");
            operations += 1;
        }
    }
    assert!(operations > 80, "{operations} operations");
    d.server.stop().await;
}
