//! Trailing characters after a JSON body are refused with each dialect's parse error, and
//! nothing is written: vendor routes and roster's own, on the demo seed.

use crate::common;

use common::api::Api;
use serde_json::json;

const TIM_APP: u64 = 1_400_000_000;
const TIM_KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

roster_store::on_both_backends!(
    super::Api::demo;
    trailing_characters_are_refused_and_write_nothing,
);

async fn trailing_characters_are_refused_and_write_nothing(d: Api) {
    // roster's own routes: 400 in roster's envelope.
    for (path, body) in [
        (
            "/_roster/feishu/login_codes",
            r#"{"app_id": "cli_demo00000000001", "user_id": "alice"}}garbage"#,
        ),
        (
            "/_roster/feishu/apaas_user_tasks",
            r#"{"tenant_key": "demo", "task_id": "7002", "label": "L", "initiator": "1001", "assignees": ["1003"]} x"#,
        ),
        ("/_roster/clock", r#"{"offset_seconds": 7200}]"#),
    ] {
        let (status, answer) = d.post(path, Some(common::ADMIN_TOKEN), body).await;
        assert_eq!(status, 400, "{path}: {answer}");
        assert!(answer["error"].is_string(), "{path}: {answer}");
    }
    let clock = d.get("/_roster/clock", Some(common::ADMIN_TOKEN)).await;
    assert_eq!(clock["offset_seconds"], 0);

    // Feishu: the token endpoint's 10003, aPaaS's 2320001.
    let (_, answer) = d
        .post(
            "/open-apis/auth/v3/tenant_access_token/internal",
            None,
            r#"{"app_id": "cli_demo00000000001", "app_secret": "demo-app-secret"}{}"#,
        )
        .await;
    assert_eq!(answer["code"], 10003, "{answer}");
    let tenant = d
        .feishu_token("tenant", "cli_demo00000000001", "demo-app-secret")
        .await;
    let query = "/open-apis/apaas/v1/user_task/query";
    let (status, answer) = d
        .post(query, Some(&tenant), r#"{"kunlun_user_id": "1003"}}"#)
        .await;
    assert_eq!(
        (status, answer["code"].as_i64()),
        (400, Some(2320001)),
        "{answer}"
    );
    // The refused declaration gave user 1003 no task.
    let (_, answer) = d
        .post(query, Some(&tenant), r#"{"kunlun_user_id": "1003"}"#)
        .await;
    assert_eq!(answer["data"]["count"], "0", "{answer}");

    // TIM: 60003, and no follow.
    let tim = |command| d.tim_path(TIM_APP, TIM_KEY, "administrator", command);
    let (_, answer) = d
        .post(
            &tim("follow/follow_add"),
            None,
            r#"{"From_Account": "UserID_001", "FollowItem": [{"To_Account": "UserID_002"}]}}"#,
        )
        .await;
    assert_eq!(answer["ErrorCode"], 60003, "{answer}");
    let check =
        json!({ "From_Account": "UserID_001", "FollowType": 3, "To_Account": ["UserID_002"] });
    let (_, answer) = d
        .post(&tim("follow/follow_check"), None, &check.to_string())
        .await;
    assert_eq!(answer["ResultItem"][0]["FollowType"], 0, "{answer}");

    // do1 qwif: 40058, and the tag keeps its members.
    let before = d
        .demo_qwif("tag/searchTagRef.do", "&wxTagId=1008", "")
        .await;
    let answer = d
        .demo_qwif(
            "tag/addTagRef.do",
            "",
            r#"{"wxTagId": "1008", "wxUserIdList": ["zhangsan"]}x"#,
        )
        .await;
    assert_eq!(answer["code"], "40058", "{answer}");
    assert_eq!(
        d.demo_qwif("tag/searchTagRef.do", "&wxTagId=1008", "")
            .await,
        before
    );
    d.server.stop().await;
}
