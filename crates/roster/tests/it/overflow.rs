//! Numbers at the edges of their types, from requests: answered sensibly, never wrapped.

use crate::common;

use common::api::Api;
use serde_json::{json, Value};

roster_store::on_both_backends!(
    super::Api::demo;
    qwif_pages_of_any_size,
    redelivery_of_any_id,
);

async fn qwif_pages_of_any_size(d: Api) {
    let pages = |data| d.demo_qwif("deptAPI/getAllDept.do", "", data);
    let page = pages(r#"{"currentPage": 1, "pageSize": 9223372036854775807}"#).await;
    assert_eq!(page["code"], "0", "{page}");
    assert_eq!(page["data"]["maxPage"], 1, "{page}");
    assert_eq!(page["data"]["totalRows"], 3, "{page}");
    assert_eq!(page["data"]["pageData"].as_array().unwrap().len(), 3);
    let far =
        pages(r#"{"currentPage": 9223372036854775807, "pageSize": 9223372036854775807}"#).await;
    assert_eq!(far["data"]["pageData"], json!([]), "{far}");
    assert_eq!(far["data"]["maxPage"], 1, "{far}");
    let two = pages(r#"{"pageSize": 2}"#).await;
    assert_eq!(two["data"]["maxPage"], 2, "{two}");
    d.server.stop().await;
}

/// Redelivering an attempt whose id is at either end of i64 (or past them) is the 404 of an
/// unknown attempt, in roster's envelope, and the server goes on answering.
async fn redelivery_of_any_id(d: Api) {
    for id in [i64::MIN.to_string(), i64::MAX.to_string(), "0".into()] {
        let (status, answer) = d
            .admin(&format!("/deliveries/{id}/redeliver"), &json!({}))
            .await;
        assert_eq!(status, 404, "{id}: {answer}");
        assert!(answer["error"].as_str().unwrap().contains(&id), "{answer}");
    }
    let (status, answer) = d
        .admin("/deliveries/-9223372036854775809/redeliver", &json!({}))
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].is_string(), "{answer}");
    assert_eq!(d.get("/healthz", None).await["status"], "ok");
    d.server.stop().await;
}

/// The clock moves at most a century either way; a wild offset is refused and changes nothing,
/// so an expired token cannot verify again by wrapping time around.
#[tokio::test]
async fn clock_offsets_are_bounded() {
    let api = Api::demo(None).await;
    let d = &api;
    let token = d
        .feishu_token("tenant", "cli_demo00000000001", "demo-app-secret")
        .await;
    let user_code = || async {
        let path = "/open-apis/contact/v3/users/alice?user_id_type=user_id";
        d.get(path, Some(&token)).await["code"].as_i64().unwrap()
    };
    let set_clock = |offset: Value| async move {
        d.admin("/clock", &json!({ "offset_seconds": offset }))
            .await
    };
    assert_eq!(user_code().await, 0);
    assert_eq!(set_clock(json!(3 * 3600)).await.0, 200);
    assert_eq!(user_code().await, 99991663);
    for wild in [
        json!(i64::MAX),
        json!(i64::MIN),
        json!(3_200_000_000_i64),
        json!(-3_200_000_000_i64),
    ] {
        let (status, answer) = set_clock(wild.clone()).await;
        assert_eq!(status, 400, "{wild}: {answer}");
        let message = answer["error"].as_str().unwrap();
        assert!(message.contains("offset_seconds"), "{answer}");
        assert_eq!(user_code().await, 99991663, "the token stays expired");
    }
    let century = json!(3_153_600_000_i64);
    let (status, answer) = set_clock(century.clone()).await;
    assert_eq!((status, &answer["offset_seconds"]), (200, &century));
    api.server.stop().await;
}
