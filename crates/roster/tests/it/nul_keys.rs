//! The NUL character in requests, on either backend (PostgreSQL text holds no NUL): a JSON body
//! holding one in a string, and a Feishu query value that would be stored (`uuid`,
//! `client_token`), are refused with the dialect's error and nothing is written; an id
//! anywhere else that holds one names nothing stored (each vendor's "no such ..."). Never a
//! storage failure.

use crate::common;

use common::api::Api;
use common::ADMIN_TOKEN;
use serde_json::{json, Value};

roster_store::on_both_backends!(
    super::Api::demo;
    keys_holding_nul_name_nothing,
    text_holding_nul_is_refused_and_writes_nothing,
);

/// schemathesis on PostgreSQL: an id holding a NUL character (`%00`, `\u0000`) was a storage
/// failure (PostgreSQL text holds no NUL), answered as each vendor's internal error. Such an id
/// names nothing, on either backend: each vendor's "no such user", and empty lists.
async fn keys_holding_nul_name_nothing(d: Api) {
    let token = d
        .feishu_token("tenant", "cli_demo00000000001", "demo-app-secret")
        .await;
    let answer = d
        .get(
            "/open-apis/contact/v3/users/al%00ice?user_id_type=user_id",
            Some(&token),
        )
        .await;
    assert_eq!(answer["code"], 99992360, "{answer}");
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

/// Text holding a NUL in a body (or a Feishu query value kept) is refused where it is read,
/// before anything is looked up or written: Feishu's field validation, TIM's JSON error,
/// WeCom's missing fields with its "wrong json format" warning.
async fn text_holding_nul_is_refused_and_writes_nothing(d: Api) {
    let token = d
        .feishu_token("tenant", "cli_demo00000000001", "demo-app-secret")
        .await;
    let path = "/open-apis/contact/v3/users/batch?user_id_type=user_id&user_ids=al%00ice";
    let answer = d.get(path, Some(&token)).await;
    assert_eq!(answer["code"], 99992360, "{answer}");
    let (status, answer) = d
        .post(
            "/open-apis/contact/v3/users?user_id_type=user_id&client_token=c%00t",
            Some(&token),
            r#"{"user_id": "new", "name": "New", "department_ids": ["0"]}"#,
        )
        .await;
    assert_eq!(
        (status, &answer["code"]),
        (400, &json!(99992402)),
        "{answer}"
    );
    let (status, answer) = d
        .post(
            "/open-apis/contact/v3/users?user_id_type=user_id",
            Some(&token),
            r#"{"user_id": "ne\u0000w", "name": "New", "department_ids": ["0"]}"#,
        )
        .await;
    assert_eq!(
        (status, &answer["code"]),
        (400, &json!(99992402)),
        "{answer}"
    );
    let (status, answer) = d
        .post(
            "/open-apis/im/v1/chats?uuid=u%00u",
            Some(&token),
            r#"{"name": "chat"}"#,
        )
        .await;
    assert_eq!((status, &answer["code"]), (400, &json!(232001)), "{answer}");

    let key = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
    let path = d.tim_path(
        1400000000,
        key,
        "administrator",
        "im_open_login_svc/account_import",
    );
    let (_, answer) = d.post(&path, None, r#"{"UserID": "ne\u0000w"}"#).await;
    assert_eq!(
        (&answer["ActionStatus"], &answer["ErrorCode"]),
        (&json!("FAIL"), &json!(60003)),
        "{answer}"
    );

    let wecom = d
        .get(
            "/cgi-bin/gettoken?corpid=wwroster00demo01&corpsecret=roster-demo-wecom-secret",
            None,
        )
        .await;
    let wecom = wecom["access_token"].as_str().unwrap();
    let (_, answer) = d
        .post(
            &format!("/cgi-bin/tag/create?access_token={wecom}"),
            None,
            r#"{"tagname": "t\u0000g"}"#,
        )
        .await;
    assert_ne!(answer["errcode"], 0, "{answer}");
    assert!(
        answer["errmsg"]
            .as_str()
            .unwrap()
            .ends_with("wrong json format."),
        "{answer}"
    );
    let list = d
        .get(&format!("/cgi-bin/tag/list?access_token={wecom}"), None)
        .await;
    assert_eq!(list["taglist"].as_array().unwrap().len(), 1, "{list}");
    d.server.stop().await;
}
