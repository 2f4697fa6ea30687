//! Browsing a space through roster's own routes (what the console shows): counts, search by
//! key or alias, an entity's relations both ways, paged, and its neighbourhood; on both
//! backends, with relationships made through the vendor APIs.

use crate::common;

use common::api::Api;
use common::{Client, ADMIN_TOKEN};
use serde_json::{json, Value};

const CORP: &str = "wwbrowse";
const SECRET: &str = "browse-secret";
const SDKAPPID: u64 = 1400000077;
const TIM_KEY: &str = "browse-tim-key";
const TIM: &str = "/spaces/tim/1400000077";
const WECOM: &str = "/spaces/wecom/wwbrowse";

const SEED: &str = r#"
[[feishu.tenants]]
tenant_key = "browse"
[[feishu.tenants.apps]]
app_id = "cli_browse000000001"
app_secret = "browse-app-secret"
[[feishu.tenants.users]]
user_id = "alice"
name = "Alice"
email = "alice@browse.example"
[[feishu.tenants.users]]
user_id = "bob"
name = "Bob"
email = "bob@browse.example"

[[tim.apps]]
sdkappid = 1400000077
secret_key = "browse-tim-key"
admins = ["administrator"]
accounts = ["a1", "a2", "a3", "b1"]

[[wecom.corps]]
corp_id = "wwbrowse"
corp_secret = "browse-secret"
departments = [{ id = 1, name = "Browse" }]
users = [{ id = "zhangsan", name = "张三" }, { id = "lisi", name = "李四" }]
tags = [{ id = 7, name = "seven" }]
"#;

roster_store::on_both_backends!(
    |database| super::Api::start(database, super::SEED);
    a_space_counts_its_entities_by_kind_and_its_edges,
    search_finds_entities_by_key_or_any_alias_in_sealed_pages,
    relationships_read_both_ways_in_pages,
    the_neighbourhood_is_within_its_hops_and_capped,
);

/// A GET of roster's own `/_roster{path}` with the admin token: (status, body).
async fn get_admin(api: &Api, path: &str) -> (u16, Value) {
    let response = api
        .http
        .get(format!("{}/_roster{path}", api.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// The body of a GET that must succeed.
async fn ok(api: &Api, path: &str) -> Value {
    let (status, body) = get_admin(api, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn follow(api: &Api, from: &str, to: &[&str]) {
    let items: Vec<Value> = to.iter().map(|t| json!({ "To_Account": t })).collect();
    let body = json!({ "From_Account": from, "FollowItem": items });
    let path = api.tim_path(SDKAPPID, TIM_KEY, "administrator", "follow/follow_add");
    let (_, answer) = api.post(&path, None, &body.to_string()).await;
    assert_eq!(answer["ErrorCode"], 0, "{answer}");
}

async fn tag_users(api: &Api, users: &[&str]) {
    let client = Client::at(api.url.clone());
    let token = client.wecom_token(CORP, SECRET).await;
    let body = json!({ "tagid": 7, "userlist": users });
    let answer = client.wecom(&token, "tag/addtagusers", body).await;
    assert_eq!(answer["errcode"], 0, "{answer}");
}

fn keys(list: &Value, field: &str) -> Vec<String> {
    list[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let entity = item.get("entity").unwrap_or(item);
            entity["key"].as_str().unwrap().to_string()
        })
        .collect()
}

async fn a_space_counts_its_entities_by_kind_and_its_edges(api: Api) {
    let before = ok(&api, WECOM).await;
    assert_eq!(before["space"], "wecom/wwbrowse");
    assert_eq!(before["counts"]["kinds"]["user"], 2, "{before}");
    assert_eq!(before["counts"]["kinds"]["tag"], 1, "{before}");
    assert_eq!(before["counts"]["kinds"]["department"], 1, "{before}");
    tag_users(&api, &["zhangsan", "lisi"]).await;
    let after = ok(&api, WECOM).await;
    let edges = |v: &Value| v["counts"]["edges"].as_i64().unwrap();
    assert_eq!(edges(&after), edges(&before) + 2, "{after}");
    // The change log moved by the two edges: following it from there sees nothing older.
    let (last_before, last_after) = (
        before["last_change"].as_i64(),
        after["last_change"].as_i64(),
    );
    assert_eq!(last_after, last_before.map(|seq| seq + 2), "{after}");
    let changes = ok(
        &api,
        &format!(
            "/changes?space=wecom/wwbrowse&after={}",
            last_after.unwrap()
        ),
    )
    .await;
    assert_eq!(changes["changes"], json!([]));

    let tim = ok(&api, TIM).await;
    // The four accounts and the administrator.
    assert_eq!(tim["counts"]["kinds"]["tim.account"], 5, "{tim}");
    assert_eq!(tim["counts"]["edges"], 0, "{tim}");

    let (status, body) = get_admin(&api, "/spaces/tim/1").await;
    assert_eq!((status, body["error"].is_string()), (404, true), "{body}");
}

async fn search_finds_entities_by_key_or_any_alias_in_sealed_pages(api: Api) {
    let feishu = "/spaces/feishu/browse/entities";
    let by_email = ok(&api, &format!("{feishu}?q=bob%40browse")).await;
    assert_eq!(keys(&by_email, "entities"), ["bob"], "{by_email}");
    let by_key = ok(&api, &format!("{feishu}?q=ali&kind=feishu.user")).await;
    assert_eq!(keys(&by_key, "entities"), ["alice"], "{by_key}");
    let other_kind = ok(&api, &format!("{feishu}?q=ali&kind=feishu.app")).await;
    assert_eq!(keys(&other_kind, "entities"), Vec::<String>::new());

    // Every account, one per page, in creation order; each page token resumes after the last.
    let mut seen = Vec::new();
    let mut path = format!("{TIM}/entities?kind=tim.account&limit=1");
    loop {
        let page = ok(&api, &path).await;
        seen.extend(keys(&page, "entities"));
        match page["next_page"].as_str() {
            Some(token) => path = format!("{TIM}/entities?kind=tim.account&limit=1&page={token}"),
            None => break,
        }
    }
    assert_eq!(seen, ["administrator", "a1", "a2", "a3", "b1"]);
    let first = ok(&api, &format!("{TIM}/entities?q=a&limit=2")).await;
    assert_eq!(keys(&first, "entities"), ["administrator", "a1"]);
    let token = first["next_page"].as_str().unwrap();
    // A token belongs to its list: another search refuses it, and so does an edited one.
    let (status, _) = get_admin(&api, &format!("{TIM}/entities?q=b&limit=2&page={token}")).await;
    assert_eq!(status, 400);
    let edited = format!("A{}", &token[1..]);
    let edited = if edited == token {
        format!("B{}", &token[1..])
    } else {
        edited
    };
    let (status, _) = get_admin(&api, &format!("{TIM}/entities?q=a&limit=2&page={edited}")).await;
    assert_eq!(status, 400);
}

async fn relationships_read_both_ways_in_pages(api: Api) {
    follow(&api, "a1", &["a2", "a3"]).await;
    follow(&api, "a2", &["a1"]).await;
    let a1 = ok(&api, &format!("{TIM}/entity?kind=tim.account&key=a1")).await;
    assert_eq!(a1["entity"]["key"], "a1");
    let relations: Vec<(String, String, i64)> = a1["relations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["relation"].as_str().unwrap().into(),
                r["direction"].as_str().unwrap().into(),
                r["count"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("tim.follows", "members", 2),
        ("tim.follows", "memberships", 1),
        ("tim.mutual", "members", 1),
        ("tim.mutual", "memberships", 1),
    ];
    let expected: Vec<(String, String, i64)> = expected
        .iter()
        .map(|(r, d, n)| (r.to_string(), d.to_string(), *n))
        .collect();
    assert_eq!(relations, expected, "{a1}");

    let follows = format!("{TIM}/edges?kind=tim.account&key=a1&relation=tim.follows");
    let first = ok(&api, &format!("{follows}&direction=members&limit=1")).await;
    assert_eq!(keys(&first, "edges"), ["a2"]);
    let token = first["next_page"].as_str().unwrap();
    let second = ok(
        &api,
        &format!("{follows}&direction=members&limit=1&page={token}"),
    )
    .await;
    assert_eq!(keys(&second, "edges"), ["a3"]);
    assert!(second["next_page"].is_null(), "{second}");
    let fans = ok(&api, &format!("{follows}&direction=memberships")).await;
    assert_eq!(keys(&fans, "edges"), ["a2"]);
    // A token of a1's follows pages nothing else.
    let (status, _) = get_admin(
        &api,
        &format!("{follows}&direction=memberships&page={token}"),
    )
    .await;
    assert_eq!(status, 400);

    tag_users(&api, &["lisi"]).await;
    let tag_members = ok(
        &api,
        &format!("{WECOM}/edges?kind=tag&key=7&relation=member&direction=members"),
    )
    .await;
    assert_eq!(keys(&tag_members, "edges"), ["lisi"], "{tag_members}");
    let lisi_tags = ok(
        &api,
        &format!("{WECOM}/edges?kind=user&key=lisi&relation=member&direction=memberships"),
    )
    .await;
    assert_eq!(keys(&lisi_tags, "edges"), ["7"], "{lisi_tags}");

    let (status, _) = get_admin(&api, &format!("{TIM}/entity?kind=tim.account&key=nobody")).await;
    assert_eq!(status, 404);
    let (status, _) = get_admin(&api, &format!("{follows}&direction=sideways")).await;
    assert_eq!(status, 400);
}

async fn the_neighbourhood_is_within_its_hops_and_capped(api: Api) {
    follow(&api, "a1", &["a2"]).await;
    follow(&api, "a2", &["a3"]).await;
    let graph = |hops: u8| format!("{TIM}/graph?kind=tim.account&key=a1&hops={hops}");
    let one = ok(&api, &graph(1)).await;
    let nodes = |g: &Value| -> Vec<(String, u64)> {
        g["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["key"].as_str().unwrap().into(),
                    n["hop"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(nodes(&one), [("a1".into(), 0), ("a2".into(), 1)], "{one}");
    assert_eq!(
        one["edges"],
        json!([{ "from": 0, "to": 1, "relation": "tim.follows" }])
    );
    assert_eq!(one["truncated"], false);
    let two = ok(&api, &graph(2)).await;
    assert_eq!(
        nodes(&two),
        [("a1".into(), 0), ("a2".into(), 1), ("a3".into(), 2)],
        "{two}"
    );
    let (status, _) = get_admin(&api, &graph(3)).await;
    assert_eq!(status, 400);

    // A tag of more members than a neighbourhood holds: capped, and said so.
    let client = Client::at(api.url.clone());
    let token = client.wecom_token(CORP, SECRET).await;
    let users: Vec<String> = (0..90).map(|i| format!("u{i:02}")).collect();
    for user in &users {
        let body = json!({
            "userid": user,
            "name": user,
            "department": [1],
            "email": format!("{user}@browse.example"),
        });
        let answer = client.wecom(&token, "user/create", body).await;
        assert_eq!(answer["errcode"], 0, "{answer}");
    }
    for batch in users.chunks(30) {
        let batch: Vec<&str> = batch.iter().map(String::as_str).collect();
        tag_users(&api, &batch).await;
    }
    let big = ok(&api, &format!("{WECOM}/graph?kind=tag&key=7&hops=1")).await;
    assert_eq!(big["nodes"].as_array().unwrap().len(), 80, "{big}");
    assert_eq!(big["truncated"], true);
    assert_eq!(big["edges"].as_array().unwrap().len(), 79);
}
