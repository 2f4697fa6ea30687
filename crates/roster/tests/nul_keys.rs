//! Ids holding a NUL character name nothing stored, on either backend (PostgreSQL text holds no
//! NUL): each vendor's "no such ..." answer, never a storage failure.

mod common;

use common::api::Api;
use common::ADMIN_TOKEN;
use serde_json::{json, Value};

on_both_backends!(
    super::Api::demo;
    keys_holding_nul_name_nothing,
);

/// schemathesis on PostgreSQL: an id holding a NUL character (`%00`, `\u0000`) was a storage
/// failure (PostgreSQL text holds no NUL), answered as each vendor's internal error. Such an id
/// names nothing, on either backend: each vendor's "no such user", and empty lists.
async fn keys_holding_nul_name_nothing(d: Api) {
    let token = d
        .feishu_token("tenant", "cli_demo00000000001", "demo-app-secret")
        .await;
    let path = "/open-apis/contact/v3/users/batch?user_id_type=user_id&user_ids=al%00ice";
    let answer = d.get(path, Some(&token)).await;
    assert_eq!(answer["code"], 99992360, "{answer}");
    let (status, answer) = d
        .post(
            "/open-apis/contact/v3/users/batch_get_id",
            Some(&token),
            r#"{"emails": ["a\u0000@example.com"]}"#,
        )
        .await;
    assert_eq!((status, &answer["code"]), (200, &json!(0)), "{answer}");
    let wecom = d
        .get(
            "/cgi-bin/gettoken?corpid=wwroster00demo01&corpsecret=roster-demo-wecom-secret",
            None,
        )
        .await;
    let wecom = wecom["access_token"].as_str().unwrap();
    let answer = d
        .get(
            &format!("/cgi-bin/user/get?access_token={wecom}&userid=zhang%00san"),
            None,
        )
        .await;
    assert_eq!(answer["errcode"], 60111, "{answer}");
    let key = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
    let path = d.tim_path(1400000000, key, "administrator", "follow/follow_check");
    let body = r#"{"From_Account": "administrator", "To_Account": ["a\u0000b"]}"#;
    let (_, answer) = d.post(&path, None, body).await;
    assert_eq!(answer["ActionStatus"], "OK", "{answer}");
    assert_eq!(answer["ResultItem"][0]["ResultCode"], 30003, "{answer}");
    let answer = d
        .demo_qwif("deptAPI/getDeptByDeptId.do", "&depaId=1%00", "{}")
        .await;
    assert_eq!(answer["data"]["departmentList"], json!([]), "{answer}");
    let answer = d
        .http
        .get(format!(
            "{}/_roster/spaces/feishu/demo/entities?q=al%00",
            d.url
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(answer["entities"], json!([]), "{answer}");
    d.server.stop().await;
}
