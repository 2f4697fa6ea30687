//! API tests of the WeCom dialects, native (`/cgi-bin/`) and do1 qwif (`/qwcgi/`), against an
//! in-process roster on SQLite and, when ROSTER_TEST_DATABASE_URL is set, on PostgreSQL (the
//! PostgreSQL runs say SKIPPED on stderr otherwise).

use serde_json::{json, Value};

use crate::common;
use common::{ScratchDatabase, TestServer, ADMIN_TOKEN as ADMIN};

const QWIF_TAG: &str = "8d64d38138001380001ad9ab7625";

/// One corp of a test seed; corp `n` has corp id `wwcorp<n>` and matching credentials.
struct CorpSeed {
    n: u32,
    limits: &'static str,
    departments: Vec<(i64, String, i64)>,
    users: Vec<String>,
}

impl CorpSeed {
    fn new(n: u32) -> Self {
        Self {
            n,
            limits: "",
            departments: vec![(1088, "研发".into(), 1), (1090, "后端".into(), 1088)],
            users: ["1086", "zhangsan", "lisi", "wangwu"]
                .map(String::from)
                .into(),
        }
    }

    fn toml(&self) -> String {
        let n = self.n;
        let mut out = format!(
            "[[wecom.corps]]\ncorp_id = \"wwcorp{n}\"\ncorp_secret = \"secret-{n}\"\n\
             qwif_developer_id = \"qwdeveloper{n}\"\nqwif_developer_key = \"key-{n}\"\n"
        );
        if !self.limits.is_empty() {
            out += &format!("limits = {{ {} }}\n", self.limits);
        }
        out += "departments = [\n";
        for (id, name, parent) in &self.departments {
            out += &format!("  {{ id = {id}, name = \"{name}\", parent = {parent} }},\n");
        }
        out += "]\nusers = [\n";
        for id in &self.users {
            let department = if id.starts_with('u') { 1 } else { 1088 };
            out += &format!(
                "  {{ id = \"{id}\", name = \"name-{id}\", departments = [{department}] }},\n"
            );
        }
        out += &format!(
            "]\ntags = [{{ id = 1008, name = \"seed-tag\", qwif_id = \"{QWIF_TAG}\" }}]\n\n"
        );
        out
    }
}

fn seed(corps: &[CorpSeed]) -> String {
    corps.iter().map(CorpSeed::toml).collect()
}

fn standard_seed() -> String {
    seed(&[CorpSeed::new(1)])
}

struct Roster {
    server: TestServer,
    http: reqwest::Client,
    base: String,
}

impl Roster {
    /// On SQLite when `database` is `None`, else on that scratch PostgreSQL database.
    async fn start(database: Option<ScratchDatabase>, seed: &str) -> Self {
        let server = TestServer::start(database, seed).await;
        Self {
            base: server.base_url(),
            server,
            http: reqwest::Client::new(),
        }
    }

    async fn restart(&mut self) {
        self.server.restart().await;
        self.base = self.server.base_url();
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Value {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "business answers are HTTP 200");
        let text = response.text().await.unwrap();
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    }

    async fn get(&self, path: &str) -> Value {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// A raw body with no Content-Type, as wechatpy sends JSON.
    async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> Value {
        self.send(self.http.post(format!("{}{path}", self.base)).body(body))
            .await
    }

    async fn native_token(&self, n: u32) -> String {
        let answer = self
            .get(&format!(
                "/cgi-bin/gettoken?corpid=wwcorp{n}&corpsecret=secret-{n}"
            ))
            .await;
        assert_eq!(answer["errcode"], 0, "{answer}");
        answer["access_token"].as_str().unwrap().to_string()
    }

    async fn native_get(&self, token: &str, api: &str, query: &str) -> Value {
        self.get(&format!("/cgi-bin/{api}?access_token={token}{query}"))
            .await
    }

    async fn native_post(&self, token: &str, api: &str, body: Value) -> Value {
        self.post(
            &format!("/cgi-bin/{api}?access_token={token}"),
            body.to_string(),
        )
        .await
    }

    async fn qwif_token(&self, n: u32) -> String {
        let answer = self
            .get(&format!(
                "/qwcgi/portal/api/qwsecurity!getToken.action?developerId=qwdeveloper{n}&developerKey=key-{n}"
            ))
            .await;
        assert_eq!(answer["code"], "0", "{answer}");
        answer["data"]["token"].as_str().unwrap().to_string()
    }

    /// A multipart/form-data write with one text part, as do1's clients send it.
    async fn qwif_post(&self, token: &str, n: u32, api: &str, part: &str, data: &str) -> Value {
        let (content_type, body) = multipart(part, data);
        let url = format!(
            "{}/qwcgi/api/{api}?token={token}&corpId=wwcorp{n}",
            self.base
        );
        self.send(
            self.http
                .post(url)
                .header("Content-Type", content_type)
                .body(body),
        )
        .await
    }

    async fn qwif_get(&self, token: &str, n: u32, api: &str, query: &str) -> Value {
        self.get(&format!(
            "/qwcgi/api/{api}?token={token}&corpId=wwcorp{n}{query}"
        ))
        .await
    }

    async fn advance_clock(&self, seconds: i64) {
        let response = self
            .http
            .post(format!("{}/_roster/clock", self.base))
            .bearer_auth(ADMIN)
            .json(&json!({ "offset_seconds": seconds }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    /// A tag's userids and department ids, through the native `tag/get`.
    async fn members(&self, token: &str, tagid: i64) -> (Vec<String>, Vec<i64>) {
        let answer = self
            .native_get(token, "tag/get", &format!("&tagid={tagid}"))
            .await;
        assert_eq!(answer["errcode"], 0, "{answer}");
        let users = answer["userlist"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userid"].as_str().unwrap().to_string())
            .collect();
        let departments = answer["partylist"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_i64().unwrap())
            .collect();
        (users, departments)
    }

    async fn member_count(&self, token: &str, tagid: i64) -> usize {
        let (users, departments) = self.members(token, tagid).await;
        users.len() + departments.len()
    }
}

fn multipart(part: &str, value: &str) -> (String, Vec<u8>) {
    let boundary = "----rosterBoundary7MA4YWxkTrZu0gW";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{part}\"\r\n\r\n{value}\r\n--{boundary}--\r\n"
    );
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

fn ok(answer: &Value) {
    assert_eq!(answer["errcode"], 0, "{answer}");
}

fn errcode(answer: &Value) -> i64 {
    answer["errcode"].as_i64().unwrap()
}

fn code(answer: &Value) -> &str {
    answer["code"]
        .as_str()
        .unwrap_or_else(|| panic!("code is not a string: {answer}"))
}

roster_store::on_both_backends!(
    native_tags,
    native_auth,
    native_users_and_departments,
    native_bad_bodies,
    qwif_seed_examples,
    qwif_refusals_store_nothing,
    qwif_tags_and_departments,
    one_corp_two_dialects,
    caps_with_lowered_limits,
    cap_at_the_real_30000,
    concurrent_adds_from_both_dialects_never_exceed_cap,
    restart_keeps_api_data_and_seed_is_idempotent,
);

async fn native_tags(database: Option<ScratchDatabase>) {
    let r = Roster::start(database, &standard_seed()).await;
    let t = r.native_token(1).await;
    assert_eq!(t, r.native_token(1).await, "same token within its lifetime");

    let created = r
        .native_post(&t, "tag/create", json!({"tagname": "UI"}))
        .await;
    assert_eq!(
        created,
        json!({"errcode": 0, "errmsg": "created", "tagid": 1009})
    );
    let chosen = r
        .native_post(&t, "tag/create", json!({"tagname": "QA", "tagid": 12}))
        .await;
    assert_eq!(chosen["tagid"], 12);
    for (body, expected) in [
        (json!({"tagname": "UI"}), 40071),
        (json!({"tagname": ""}), 40072),
        (json!({"tagname": "x".repeat(33)}), 40072),
        (json!({"tagname": "other", "tagid": 12}), 40068),
        (json!({"tagname": "other", "tagid": -1}), 40068),
        (json!({"tagname": "other", "tagid": "abc"}), 40068),
    ] {
        assert_eq!(
            errcode(&r.native_post(&t, "tag/create", body.clone()).await),
            expected,
            "{body}"
        );
    }
    let taglist = r.native_get(&t, "tag/list", "").await;
    assert_eq!(
        taglist,
        json!({"errcode": 0, "errmsg": "ok", "taglist": [
            {"tagid": 12, "tagname": "QA"},
            {"tagid": 1008, "tagname": "seed-tag"},
            {"tagid": 1009, "tagname": "UI"},
        ]})
    );

    let added = r
        .native_post(
            &t,
            "tag/addtagusers",
            json!({"tagid": 12, "userlist": ["ZhangSan", "nobody", 1086, "ghost"], "partylist": [1088, 4, "77"]}),
        )
        .await;
    assert_eq!(
        added,
        json!({"errcode": 0, "errmsg": "ok", "invalidlist": "nobody|ghost", "invalidparty": [4, 77]}),
        "userids match regardless of case; numeric userids are coerced"
    );
    let again = r
        .native_post(
            &t,
            "tag/addtagusers",
            json!({"tagid": "12", "userlist": ["zhangsan"]}),
        )
        .await;
    assert_eq!(
        again,
        json!({"errcode": 0, "errmsg": "ok"}),
        "re-adding is silent"
    );
    let all_invalid = r
        .native_post(
            &t,
            "tag/addtagusers",
            json!({"tagid": 12, "userlist": ["x"], "partylist": [9]}),
        )
        .await;
    assert_eq!(
        all_invalid,
        json!({"errcode": 40070, "errmsg": "all list invalid "})
    );
    let got = r.native_get(&t, "tag/get", "&tagid=12").await;
    assert_eq!(
        got,
        json!({"errcode": 0, "errmsg": "ok", "tagname": "QA",
               "userlist": [{"userid": "zhangsan", "name": "name-zhangsan"}, {"userid": "1086", "name": "name-1086"}],
               "partylist": [1088]})
    );

    let deleted = r
        .native_post(
            &t,
            "tag/deltagusers",
            json!({"tagid": 12, "userlist": ["1086", "lisi", "nobody"]}),
        )
        .await;
    assert_eq!(
        deleted,
        json!({"errcode": 0, "errmsg": "deleted", "invalidlist": "nobody"}),
        "a user who is no member is not invalid"
    );
    let none = r
        .native_post(
            &t,
            "tag/deltagusers",
            json!({"tagid": 12, "userlist": ["nobody"], "partylist": [5]}),
        )
        .await;
    assert_eq!(
        none,
        json!({"errcode": 40031, "errmsg": "all list invalid"})
    );
    assert_eq!(
        r.members(&t, 12).await,
        (vec!["zhangsan".into()], vec![1088])
    );

    for (api, body, expected) in [
        ("tag/addtagusers", json!({"userlist": ["lisi"]}), 41017),
        (
            "tag/addtagusers",
            json!({"tagid": 999, "userlist": ["lisi"]}),
            40068,
        ),
        ("tag/addtagusers", json!({"tagid": 12}), 40063),
        (
            "tag/addtagusers",
            json!({"tagid": 12, "userlist": [], "partylist": []}),
            40063,
        ),
        (
            "tag/addtagusers",
            json!({"tagid": 12, "userlist": "lisi"}),
            40058,
        ),
        (
            "tag/addtagusers",
            json!({"tagid": 12, "partylist": ["x"]}),
            40058,
        ),
        (
            "tag/deltagusers",
            json!({"tagid": 999, "userlist": ["lisi"]}),
            40068,
        ),
        ("tag/update", json!({"tagid": 12, "tagname": "UI"}), 40071),
        ("tag/update", json!({"tagid": 999, "tagname": "Z"}), 40068),
        ("tag/update", json!({"tagname": "Z"}), 41017),
    ] {
        assert_eq!(
            errcode(&r.native_post(&t, api, body.clone()).await),
            expected,
            "{api} {body}"
        );
    }
    assert_eq!(errcode(&r.native_get(&t, "tag/get", "").await), 41017);
    assert_eq!(
        errcode(&r.native_get(&t, "tag/get", "&tagid=404").await),
        40068
    );
    assert_eq!(
        errcode(&r.native_get(&t, "tag/delete", "&tagid=abc").await),
        40068
    );
    assert_eq!(
        r.members(&t, 12).await,
        (vec!["zhangsan".into()], vec![1088])
    );

    let renamed = r
        .native_post(&t, "tag/update", json!({"tagid": 12, "tagname": "QA team"}))
        .await;
    assert_eq!(renamed, json!({"errcode": 0, "errmsg": "updated"}));
    ok(&r
        .native_post(&t, "tag/create", json!({"tagname": "QA"}))
        .await);
    let deleted = r.native_get(&t, "tag/delete", "&tagid=12").await;
    assert_eq!(deleted, json!({"errcode": 0, "errmsg": "deleted"}));
    assert_eq!(
        errcode(&r.native_get(&t, "tag/get", "&tagid=12").await),
        40068
    );
    ok(&r
        .native_post(&t, "tag/create", json!({"tagname": "QA team", "tagid": 12}))
        .await);
    assert_eq!(
        r.members(&t, 12).await,
        (vec![], vec![]),
        "a deleted tag's members go with it"
    );
}

async fn native_auth(database: Option<ScratchDatabase>) {
    let r = Roster::start(database, &standard_seed()).await;
    for (query, expected, errmsg) in [
        ("", 41004, "corpsecret missing"),
        ("?corpid=wwcorp1", 41004, "corpsecret missing"),
        ("?corpsecret=secret-1", 41002, "corpid missing"),
        (
            "?corpid=wwnope&corpsecret=secret-1",
            40013,
            "invalid corpid",
        ),
        (
            "?corpid=wwcorp1&corpsecret=wrong",
            40001,
            "invalid credential",
        ),
    ] {
        let answer = r.get(&format!("/cgi-bin/gettoken{query}")).await;
        assert_eq!(
            answer,
            json!({"errcode": expected, "errmsg": errmsg}),
            "{query}"
        );
    }
    let token = r
        .get("/cgi-bin/gettoken?corpid=wwcorp1&corpsecret=secret-1")
        .await;
    let expires_in = token["expires_in"].as_i64().unwrap();
    assert_eq!(expires_in, 7200, "{token}");
    let t = token["access_token"].as_str().unwrap();

    assert_eq!(
        r.get("/cgi-bin/tag/list").await,
        json!({"errcode": 41001, "errmsg": "access_token missing"})
    );
    let qwif = r.qwif_token(1).await;
    for bad in ["garbage", qwif.as_str(), &t[..t.len() - 2]] {
        assert_eq!(
            r.native_get(bad, "tag/list", "").await,
            json!({"errcode": 40014, "errmsg": "invalid access_token"})
        );
    }
    // A write with a bad token changes nothing.
    let refused = r
        .native_post("garbage", "tag/create", json!({"tagname": "nope"}))
        .await;
    assert_eq!(errcode(&refused), 40014);

    r.advance_clock(7200).await;
    assert_eq!(
        r.native_get(t, "tag/list", "").await,
        json!({"errcode": 42001, "errmsg": "access_token expired"})
    );
    let fresh = r.native_token(1).await;
    assert_ne!(fresh, t);
    let tags = r.native_get(&fresh, "tag/list", "").await;
    assert_eq!(
        tags["taglist"].as_array().unwrap().len(),
        1,
        "nothing was created"
    );
    r.advance_clock(0).await;

    let unknown = r
        .http
        .get(format!(
            "{}/cgi-bin/message/send?access_token={fresh}",
            r.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["errcode"], 48002);
}

async fn native_users_and_departments(database: Option<ScratchDatabase>) {
    let r = Roster::start(database, &standard_seed()).await;
    let t = r.native_token(1).await;
    let user = json!({"userid": "Zhao.Liu", "name": "赵六", "gender": 0, "department": [1088, 1], "mobile": "13800000000"});
    assert_eq!(
        r.native_post(&t, "user/create", user).await,
        json!({"errcode": 0, "errmsg": "created"})
    );
    let got = r.native_get(&t, "user/get", "&userid=zhao.liu").await;
    assert_eq!(got["userid"], "Zhao.Liu");
    assert_eq!(got["name"], "赵六");
    assert_eq!(got["department"], json!([1088, 1]));
    assert_eq!(got["mobile"], "13800000000");
    assert_eq!(got["main_department"], 1088);
    for (body, expected) in [
        (
            json!({"userid": "ZHAO.LIU", "name": "x", "mobile": "1"}),
            60102,
        ),
        (json!({"userid": "-bad", "name": "x", "mobile": "1"}), 40003),
        (json!({"userid": "a b", "name": "x", "mobile": "1"}), 40003),
        (json!({"name": "x", "mobile": "1"}), 40003),
        (json!({"userid": "ok1", "name": "", "mobile": "1"}), 60112),
        (json!({"userid": "ok1", "name": "x"}), 60129),
        (
            json!({"userid": "ok1", "name": "x", "mobile": "abc"}),
            60103,
        ),
        (
            json!({"userid": "ok1", "name": "x", "email": "nope"}),
            60105,
        ),
        (
            json!({"userid": "ok1", "name": "x", "mobile": "1", "department": [404]}),
            40066,
        ),
        (
            json!({"userid": "ok1", "name": "x", "mobile": "1", "department": "x"}),
            40066,
        ),
    ] {
        assert_eq!(
            errcode(&r.native_post(&t, "user/create", body.clone()).await),
            expected,
            "{body}"
        );
    }
    assert_eq!(
        errcode(&r.native_get(&t, "user/get", "&userid=ok1").await),
        60111
    );
    assert_eq!(errcode(&r.native_get(&t, "user/get", "").await), 60111);

    let created = r
        .native_post(
            &t,
            "department/create",
            json!({"name": "前端", "parentid": 1088, "order": 5}),
        )
        .await;
    assert_eq!(
        created,
        json!({"errcode": 0, "errmsg": "created", "id": 1091})
    );
    let chosen = r
        .native_post(
            &t,
            "department/create",
            json!({"name": "测试", "parentid": 1088, "order": 9, "id": 7}),
        )
        .await;
    assert_eq!(chosen["id"], 7);
    for (body, expected) in [
        (json!({"name": "前端", "parentid": 1088}), 60008),
        (json!({"name": "新", "parentid": 1, "id": 7}), 60008),
        (json!({"name": "新", "parentid": 404}), 60004),
        (json!({"name": "新"}), 60004),
        (json!({"name": "", "parentid": 1}), 60001),
        (json!({"name": "a|b", "parentid": 1}), 60009),
        (json!({"name": "新", "parentid": 1, "id": 1}), 60123),
    ] {
        assert_eq!(
            errcode(&r.native_post(&t, "department/create", body.clone()).await),
            expected,
            "{body}"
        );
    }
    let list = r.native_get(&t, "department/list", "&id=1088").await;
    let ids: Vec<i64> = list["department"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![1088, 7, 1091, 1090],
        "tree order, larger order first"
    );
    assert_eq!(
        list["department"][1],
        json!({"id": 7, "name": "测试", "department_leader": [], "parentid": 1088, "order": 9})
    );
    let whole = r.native_get(&t, "department/list", "").await;
    assert_eq!(whole["department"].as_array().unwrap().len(), 5);
    assert_eq!(whole["department"][0]["id"], 1);
    assert_eq!(whole["department"][0]["parentid"], 0);
    assert_eq!(
        errcode(&r.native_get(&t, "department/list", "&id=404").await),
        60003
    );
}

async fn native_bad_bodies(database: Option<ScratchDatabase>) {
    let r = Roster::start(database, &standard_seed()).await;
    let t = r.native_token(1).await;
    let path = format!("/cgi-bin/tag/create?access_token={t}");
    let broken = r.post(&path, r#"{"tagname": "x""#).await;
    assert_eq!(
        broken,
        json!({"errcode": 40072, "errmsg": "invalid tagname length, Warning: wrong json format."})
    );
    assert_eq!(errcode(&r.post(&path, "[1, 2]").await), 40072);
    assert_eq!(errcode(&r.post(&path, vec![0xffu8, 0xfe]).await), 40072);
    let huge = format!(r#"{{"tagname": "{}"}}"#, "x".repeat(3 * 1024 * 1024));
    assert_eq!(errcode(&r.post(&path, huge).await), 40058);
    let json_typed = r
        .send(
            r.http
                .post(format!("{}{path}", r.base))
                .header("Content-Type", "application/json")
                .body(r#"{"tagname": "typed"}"#),
        )
        .await;
    ok(&json_typed);
    let tags = r.native_get(&t, "tag/list", "").await;
    assert_eq!(
        tags["taglist"].as_array().unwrap().len(),
        2,
        "only the valid create stored"
    );
}

/// The three answers of seed 004 for its own example requests: corp 1 has every member the
/// examples name, corp 2 only `1086` and `1088`, corp 3 none.
async fn qwif_seed_examples(database: Option<ScratchDatabase>) {
    let corp = |n, users: &[&str], departments: &[i64]| {
        let mut c = CorpSeed::new(n);
        c.users = users.iter().map(|u| u.to_string()).collect();
        c.departments = departments
            .iter()
            .map(|d| (*d, format!("部门{d}"), 1))
            .collect();
        c
    };
    let seed = seed(&[
        corp(1, &["1086", "1087"], &[1088, 1089]),
        corp(2, &["1086"], &[1088]),
        corp(3, &[], &[]),
    ]);
    let r = Roster::start(database, &seed).await;
    let by_wx_tag_id = r#"{ "wxTagId":"1008", "wxDeptIdList": [ "1088", "1089" ], "wxUserIdList": [ "1086", "1087" ] }"#;
    let by_id = format!(
        r#"{{ "id":"{QWIF_TAG}", "wxDeptIdList": [ "1088", "1089" ], "wxUserIdList": [ "1086", "1087" ] }}"#
    );
    let expected = [
        r#"{"code":"0","desc":"成功","data":{}}"#,
        r#"{"code":"0","desc":"成功","data":{"invalidUserIdList":["1087"],"invalidDeptIdList":["1089"]}}"#,
        r#"{"code":"5864","desc":"所有人员和部门非法","data":{"invalidUserIdList":["1086","1087"],"invalidDeptIdList":["1088","1089"]}}"#,
    ];
    for (n, expected) in (1..=3).zip(expected) {
        let token = r.qwif_token(n).await;
        for data in [by_wx_tag_id, by_id.as_str()] {
            let (content_type, body) = multipart("data", data);
            let response = r
                .http
                .post(format!(
                    "{}/qwcgi/api/tag/addTagRef.do?token={token}&corpId=wwcorp{n}",
                    r.base
                ))
                .header("Content-Type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(response.text().await.unwrap(), expected, "corp {n}: {data}");
        }
    }
    let native = r.native_token(1).await;
    assert_eq!(
        r.members(&native, 1008).await,
        (vec!["1086".into(), "1087".into()], vec![1088, 1089])
    );
    let native = r.native_token(2).await;
    assert_eq!(
        r.members(&native, 1008).await,
        (vec!["1086".into()], vec![1088])
    );
    let native = r.native_token(3).await;
    assert_eq!(r.members(&native, 1008).await, (vec![], vec![]));
}

async fn qwif_refusals_store_nothing(database: Option<ScratchDatabase>) {
    let r = Roster::start(database, &standard_seed()).await;
    let t = r.qwif_token(1).await;
    let good = r#"{"wxTagId": "1008", "wxUserIdList": ["lisi"]}"#;

    let refused = |answer: Value, expected: &str| {
        assert_eq!(code(&answer), expected, "{answer}");
        assert_eq!(answer["data"], json!({}), "{answer}");
    };
    let url = |token: &str, corp: &str| {
        format!(
            "{}/qwcgi/api/tag/addTagRef.do?token={token}&corpId={corp}",
            r.base
        )
    };
    let post = |url: String, content_type: &str, body: Vec<u8>| {
        r.send(
            r.http
                .post(url)
                .header("Content-Type", content_type)
                .body(body),
        )
    };
    let (form, body) = multipart("data", good);

    refused(
        post(url("garbage", "wwcorp1"), &form, body.clone()).await,
        "40014",
    );
    refused(
        post(
            r.base.clone() + "/qwcgi/api/tag/addTagRef.do?corpId=wwcorp1",
            &form,
            body.clone(),
        )
        .await,
        "41001",
    );
    refused(post(url(&t, "wwcorp2"), &form, body.clone()).await, "40013");
    refused(
        post(
            r.base.clone() + &format!("/qwcgi/api/tag/addTagRef.do?token={t}"),
            &form,
            body.clone(),
        )
        .await,
        "40013",
    );
    let native = r.native_token(1).await;
    refused(
        post(url(&native, "wwcorp1"), &form, body.clone()).await,
        "40014",
    );

    let malformed =
        b"--XX\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n{\"wxTagId\": \"1008\""
            .to_vec();
    refused(
        post(
            url(&t, "wwcorp1"),
            "multipart/form-data; boundary=XX",
            malformed,
        )
        .await,
        "40058",
    );
    refused(
        post(url(&t, "wwcorp1"), "multipart/form-data", body.clone()).await,
        "40058",
    );
    for data in ["not json", "[1]", r#"{wxTagId: "1008"}"#] {
        let (form, body) = multipart("data", data);
        refused(post(url(&t, "wwcorp1"), &form, body).await, "40058");
    }
    let (other_part, other_body) = multipart("payload", good);
    refused(
        post(url(&t, "wwcorp1"), &other_part, other_body).await,
        "40058",
    );
    refused(
        post(
            url(&t, "wwcorp1"),
            "application/json",
            good.as_bytes().to_vec(),
        )
        .await,
        "40058",
    );
    let huge = format!(
        r#"{{"wxTagId": "1008", "wxUserIdList": ["{}"]}}"#,
        "x".repeat(3 * 1024 * 1024)
    );
    let (form, body) = multipart("data", &huge);
    refused(post(url(&t, "wwcorp1"), &form, body).await, "40058");

    for (data, expected) in [
        (r#"{"wxUserIdList": ["lisi"]}"#.to_string(), "41017"),
        (
            r#"{"wxTagId": "", "id": "", "wxUserIdList": ["lisi"]}"#.to_string(),
            "41017",
        ),
        (
            r#"{"wxTagId": "404", "wxUserIdList": ["lisi"]}"#.to_string(),
            "40068",
        ),
        (
            format!(r#"{{"wxTagId": "404", "id": "{QWIF_TAG}", "wxUserIdList": ["lisi"]}}"#),
            "40068",
        ),
        (
            r#"{"id": "nope", "wxUserIdList": ["lisi"]}"#.to_string(),
            "40068",
        ),
        (r#"{"wxTagId": "1008"}"#.to_string(), "40063"),
        (
            r#"{"wxTagId": "1008", "wxUserIdList": [], "wxDeptIdList": []}"#.to_string(),
            "40063",
        ),
        (
            r#"{"wxTagId": "1008", "wxUserIdList": "lisi"}"#.to_string(),
            "40058",
        ),
    ] {
        refused(
            r.qwif_post(&t, 1, "tag/addTagRef.do", "data", &data).await,
            expected,
        );
    }
    refused(
        r.qwif_post(
            &t,
            1,
            "tag/delTagRef.do",
            "data",
            r#"{"wxTagId": "404", "wxUserIdList": ["lisi"]}"#,
        )
        .await,
        "40068",
    );

    let native = r.native_token(1).await;
    assert_eq!(
        r.member_count(&native, 1008).await,
        0,
        "no refusal stored anything"
    );

    // wxTagId wins over id; the id form works when wxTagId is empty.
    let preferred = r#"{"wxTagId": 1008, "id": "nope", "wxUserIdList": ["lisi", 1086]}"#;
    assert_eq!(
        r.qwif_post(&t, 1, "tag/addTagRef.do", "data", preferred)
            .await,
        json!({"code": "0", "desc": "成功", "data": {}})
    );
    let by_id = format!(r#"{{"wxTagId": "", "id": "{QWIF_TAG}", "wxDeptIdList": [1088]}}"#);
    assert_eq!(
        code(&r.qwif_post(&t, 1, "tag/addTagRef.do", "data", &by_id).await),
        "0"
    );
    // Form-urlencoded `data` is accepted too.
    let form = format!(
        "data={}",
        "%7B%22wxTagId%22%3A%221008%22%2C%22wxUserIdList%22%3A%5B%22wangwu%22%5D%7D"
    );
    assert_eq!(
        code(
            &post(
                url(&t, "wwcorp1"),
                "application/x-www-form-urlencoded",
                form.into_bytes()
            )
            .await
        ),
        "0"
    );
    assert_eq!(
        r.members(&native, 1008).await,
        (
            vec!["lisi".into(), "1086".into(), "wangwu".into()],
            vec![1088]
        )
    );

    r.advance_clock(7200).await;
    refused(
        r.qwif_post(&t, 1, "tag/addTagRef.do", "data", good).await,
        "42001",
    );
    r.advance_clock(0).await;

    let refs = r
        .qwif_get(&t, 1, "tag/searchTagRef.do", "&wxTagId=1008")
        .await;
    assert_eq!(
        refs,
        json!({"code": "0", "desc": "成功", "data": {"wxUserIdList": ["lisi", "1086", "wangwu"], "wxDeptIdList": ["1088"]}})
    );
    refused(r.qwif_get(&t, 1, "tag/searchTagRef.do", "").await, "41017");
    refused(
        r.qwif_get(&t, 1, "tag/searchTagRef.do", "&id=nope").await,
        "40068",
    );

    let removed = r
        .qwif_post(&t, 1, "tag/delTagRef.do", "data", &format!(r#"{{"id": "{QWIF_TAG}", "wxUserIdList": ["lisi", "ghost"], "wxDeptIdList": ["1088"]}}"#))
        .await;
    assert_eq!(
        removed,
        json!({"code": "0", "desc": "成功", "data": {"invalidUserIdList": ["ghost"]}})
    );
    let none = r
        .qwif_post(
            &t,
            1,
            "tag/delTagRef.do",
            "data",
            r#"{"wxTagId": "1008", "wxUserIdList": ["ghost"]}"#,
        )
        .await;
    assert_eq!(
        none,
        json!({"code": "5864", "desc": "所有人员和部门非法", "data": {"invalidUserIdList": ["ghost"]}})
    );

    for query in [
        "?developerId=qwdeveloper1",
        "?developerId=qwdeveloper1&developerKey=key-2",
        "",
    ] {
        let answer = r
            .get(&format!(
                "/qwcgi/portal/api/qwsecurity!getToken.action{query}"
            ))
            .await;
        refused(answer, "40001");
    }
    let unknown = r
        .http
        .get(format!(
            "{}/qwcgi/api/tag/getTagInfoByUserId.do?token={t}&corpId=wwcorp1",
            r.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await.unwrap()["code"], "48002");
}

async fn qwif_tags_and_departments(database: Option<ScratchDatabase>) {
    let r = Roster::start(database, &standard_seed()).await;
    let t = r.qwif_token(1).await;
    let added = r
        .qwif_post(
            &t,
            1,
            "tag/addTag.do",
            "data",
            r#"{"tagName":"标签1","showNum":"234","rang":"1","status":"0"}"#,
        )
        .await;
    assert_eq!(code(&added), "0", "{added}");
    let info = &added["data"]["tagInfo"];
    assert_eq!(info["wxTagId"], "1009");
    assert_eq!(
        (
            &info["tagName"],
            &info["showNum"],
            &info["rang"],
            &info["status"],
            &info["userCount"],
            &info["deptCount"]
        ),
        (
            &json!("标签1"),
            &json!("234"),
            &json!("1"),
            &json!("0"),
            &json!("0"),
            &json!("0")
        )
    );
    let id = info["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    for (data, expected) in [
        (r#"{"tagName":"标签1"}"#, "40071"),
        (r#"{"tagName":""}"#, "40072"),
        (r#"{"tagName":"x","rang":"2"}"#, "40058"),
        (r#"{"tagName":"x","status":"7"}"#, "40058"),
        (r#"{"tagName":"x","showNum":"-1"}"#, "40058"),
    ] {
        assert_eq!(
            code(&r.qwif_post(&t, 1, "tag/addTag.do", "data", data).await),
            expected,
            "{data}"
        );
    }
    let refs =
        format!(r#"{{"id":"{id}","wxUserIdList":["lisi","zhangsan"],"wxDeptIdList":["1088"]}}"#);
    assert_eq!(
        code(&r.qwif_post(&t, 1, "tag/addTagRef.do", "data", &refs).await),
        "0"
    );
    let updated = r
        .qwif_post(
            &t,
            1,
            "tag/updateTag.do",
            "data",
            &format!(r#"{{"id":"{id}","tagName":"标签2","showNum":5}}"#),
        )
        .await;
    let info = &updated["data"]["tagInfo"];
    assert_eq!(
        (&info["tagName"], &info["showNum"], &info["status"]),
        (&json!("标签2"), &json!("5"), &json!("0"))
    );
    assert_eq!(
        (&info["userCount"], &info["deptCount"]),
        (&json!("2"), &json!("1"))
    );
    let listed = r.qwif_get(&t, 1, "tag/searchTag.do", "").await;
    let names: Vec<&str> = listed["data"]["tagList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| tag["tagName"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["seed-tag", "标签2"]);
    let native = r.native_token(1).await;
    let tags = r.native_get(&native, "tag/list", "").await;
    assert_eq!(
        tags["taglist"][1],
        json!({"tagid": 1009, "tagname": "标签2"})
    );
    let deleted = r
        .qwif_post(&t, 1, "tag/delTag.do", "data", r#"{"wxTagId":"1009"}"#)
        .await;
    assert_eq!(deleted, json!({"code": "0", "desc": "成功", "data": {}}));
    assert_eq!(
        errcode(&r.native_get(&native, "tag/get", "&tagid=1009").await),
        40068
    );

    let page = r
        .qwif_post(
            &t,
            1,
            "deptAPI/getAllDept.do",
            "data",
            r#"{"currentPage":"2","pageSize":"2"}"#,
        )
        .await;
    let data = &page["data"];
    assert_eq!(
        (
            &data["currPage"],
            &data["maxPage"],
            &data["pageSize"],
            &data["totalRows"]
        ),
        (&json!(2), &json!(2), &json!(2), &json!(3))
    );
    let backend_dept = &data["pageData"][0];
    assert_eq!(backend_dept["wxId"], "1090");
    assert_eq!(backend_dept["wxParentid"], "1088");
    assert_eq!(backend_dept["deptFullName"], "wwcorp1->研发->后端");
    let first = r
        .qwif_post(
            &t,
            1,
            "deptAPI/getAllDept.do",
            "data",
            r#"{"currentPage":1,"pageSize":2}"#,
        )
        .await;
    let rnd = first["data"]["pageData"][1].clone();
    assert_eq!(rnd["wxId"], "1088");
    assert_eq!(backend_dept["parentDepart"], rnd["id"]);
    assert_eq!(
        first["data"]["pageData"][0]["parentDepart"], "",
        "the root has no parent"
    );
    assert_eq!(
        code(
            &r.qwif_post(
                &t,
                1,
                "deptAPI/getAllDept.do",
                "data",
                r#"{"pageSize":"0"}"#
            )
            .await
        ),
        "40058"
    );

    let rnd_id = rnd["id"].as_str().unwrap();
    let created = r
        .qwif_post(
            &t,
            1,
            "deptAPI/addDepart.do",
            "deptInfo",
            &format!(r#"{{"departmentName":"测试","parentDepart":"{rnd_id}","showOrder":"1","permission":"3","receiveWxUserId":"lisi|zhangsan"}}"#),
        )
        .await;
    assert_eq!(code(&created), "0", "{created}");
    let depart = &created["data"]["depart"];
    assert_eq!(
        (
            &depart["departmentName"],
            &depart["wxParentid"],
            &depart["permission"],
            &depart["receiveWxUserId"]
        ),
        (
            &json!("测试"),
            &json!("1088"),
            &json!("3"),
            &json!("lisi|zhangsan")
        )
    );
    let wx_id: i64 = depart["wxId"].as_str().unwrap().parse().unwrap();
    let list = r
        .native_get(&native, "department/list", &format!("&id={wx_id}"))
        .await;
    assert_eq!(
        list["department"][0]["department_leader"],
        json!(["lisi", "zhangsan"])
    );
    for (data, expected) in [
        (
            r#"{"departmentName":"测试","parentDepart":"nope"}"#.to_string(),
            "60004",
        ),
        (
            format!(r#"{{"departmentName":"测试","parentDepart":"{rnd_id}"}}"#),
            "60008",
        ),
        (
            r#"{"departmentName":"x","receiveWxUserId":"ghost"}"#.to_string(),
            "60111",
        ),
    ] {
        assert_eq!(
            code(
                &r.qwif_post(&t, 1, "deptAPI/addDepart.do", "deptInfo", &data)
                    .await
            ),
            expected,
            "{data}"
        );
    }
    let top = r
        .qwif_post(
            &t,
            1,
            "deptAPI/addDepart.do",
            "deptInfo",
            r#"{"departmentName":"顶层"}"#,
        )
        .await;
    assert_eq!(top["data"]["depart"]["wxParentid"], "1");

    let depart_id = depart["id"].as_str().unwrap();
    let detail = r
        .qwif_get(
            &t,
            1,
            "deptAPI/getDeptByDeptId.do",
            &format!("&depaId={rnd_id}|{depart_id}|nope"),
        )
        .await;
    let found = detail["data"]["departmentList"].as_array().unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(found[1]["receiveWxUserId"], "lisi|zhangsan");

    let users = r
        .qwif_get(
            &t,
            1,
            "userAPI/getUserByDepartId.do",
            &format!("&departId={rnd_id}"),
        )
        .await;
    let list = users["data"]["list"].as_array().unwrap();
    let ids: Vec<&str> = list
        .iter()
        .map(|u| u["wxUserId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["1086", "zhangsan", "lisi", "wangwu"]);
    assert_eq!(list[0]["name"], "name-1086");
    assert_eq!(list[0]["departmentId"], rnd_id);
    assert!(list
        .iter()
        .all(|u| u.as_object().unwrap().values().all(Value::is_string)));
    assert_eq!(
        code(
            &r.qwif_get(&t, 1, "userAPI/getUserByDepartId.do", "&departId=nope")
                .await
        ),
        "60003"
    );
}

async fn one_corp_two_dialects(database: Option<ScratchDatabase>) {
    let r = Roster::start(database, &standard_seed()).await;
    let native = r.native_token(1).await;
    let qwif = r.qwif_token(1).await;
    ok(&r
        .native_post(
            &native,
            "tag/addtagusers",
            json!({"tagid": 1008, "userlist": ["zhangsan"], "partylist": [1090]}),
        )
        .await);
    let refs = r
        .qwif_get(&qwif, 1, "tag/searchTagRef.do", &format!("&id={QWIF_TAG}"))
        .await;
    assert_eq!(
        refs["data"],
        json!({"wxUserIdList": ["zhangsan"], "wxDeptIdList": ["1090"]})
    );
    let added = r
        .qwif_post(
            &qwif,
            1,
            "tag/addTagRef.do",
            "data",
            r#"{"wxTagId":"1008","wxUserIdList":["lisi"]}"#,
        )
        .await;
    assert_eq!(code(&added), "0");
    assert_eq!(
        r.members(&native, 1008).await,
        (vec!["zhangsan".into(), "lisi".into()], vec![1090])
    );
    ok(&r
        .native_post(
            &native,
            "tag/deltagusers",
            json!({"tagid": 1008, "userlist": ["zhangsan"]}),
        )
        .await);
    let refs = r
        .qwif_get(&qwif, 1, "tag/searchTagRef.do", "&wxTagId=1008")
        .await;
    assert_eq!(
        refs["data"],
        json!({"wxUserIdList": ["lisi"], "wxDeptIdList": ["1090"]})
    );
    let created = r
        .native_post(&native, "tag/create", json!({"tagname": "from-native"}))
        .await;
    let tags = r.qwif_get(&qwif, 1, "tag/searchTag.do", "").await;
    assert_eq!(
        tags["data"]["tagList"][1]["wxTagId"],
        created["tagid"].to_string()
    );
}

async fn caps_with_lowered_limits(database: Option<ScratchDatabase>) {
    let mut corp = CorpSeed::new(1);
    corp.limits =
        "members_per_tag = 5, tags_per_corp = 3, users_per_call = 3, departments_per_call = 2";
    corp.users.extend((0..8).map(|i| format!("u{i}")));
    let r = Roster::start(database, &seed(&[corp])).await;
    let native = r.native_token(1).await;
    let qwif = r.qwif_token(1).await;

    let too_many_users = json!({"tagid": 1008, "userlist": ["u0", "u1", "u2", "u3"]});
    assert_eq!(
        errcode(
            &r.native_post(&native, "tag/addtagusers", too_many_users)
                .await
        ),
        81014
    );
    let too_many_parties = json!({"tagid": 1008, "partylist": [1, 1088, 1090]});
    assert_eq!(
        errcode(
            &r.native_post(&native, "tag/addtagusers", too_many_parties)
                .await
        ),
        81014
    );
    let refused = r
        .qwif_post(
            &qwif,
            1,
            "tag/addTagRef.do",
            "data",
            r#"{"wxTagId":"1008","wxUserIdList":["u0","u1","u2","u3"]}"#,
        )
        .await;
    assert_eq!(code(&refused), "81014");
    assert_eq!(r.member_count(&native, 1008).await, 0);

    ok(&r
        .native_post(
            &native,
            "tag/addtagusers",
            json!({"tagid": 1008, "userlist": ["u0", "u1", "u2"]}),
        )
        .await);
    let filled = r
        .qwif_post(
            &qwif,
            1,
            "tag/addTagRef.do",
            "data",
            r#"{"wxTagId":"1008","wxUserIdList":["u3"],"wxDeptIdList":["1088"]}"#,
        )
        .await;
    assert_eq!(code(&filled), "0");
    assert_eq!(r.member_count(&native, 1008).await, 5);

    let over = r
        .native_post(
            &native,
            "tag/addtagusers",
            json!({"tagid": 1008, "userlist": ["u4"]}),
        )
        .await;
    assert_eq!(
        over,
        json!({"errcode": 45024, "errmsg": "tag member count exceeds the limit of 5"})
    );
    let over_with_present = json!({"tagid": 1008, "userlist": ["u0", "u5"], "partylist": [1090]});
    assert_eq!(
        errcode(
            &r.native_post(&native, "tag/addtagusers", over_with_present)
                .await
        ),
        45024
    );
    let over = r
        .qwif_post(
            &qwif,
            1,
            "tag/addTagRef.do",
            "data",
            r#"{"wxTagId":"1008","wxDeptIdList":["1090"]}"#,
        )
        .await;
    assert_eq!(code(&over), "45024");
    assert_eq!(
        r.member_count(&native, 1008).await,
        5,
        "refused adds stored nothing"
    );
    let present = r
        .native_post(
            &native,
            "tag/addtagusers",
            json!({"tagid": 1008, "userlist": ["u0", "nobody"]}),
        )
        .await;
    assert_eq!(
        present,
        json!({"errcode": 0, "errmsg": "ok", "invalidlist": "nobody"}),
        "members already in a full tag are fine"
    );

    ok(&r
        .native_post(
            &native,
            "tag/deltagusers",
            json!({"tagid": 1008, "userlist": ["u0"]}),
        )
        .await);
    ok(&r
        .native_post(
            &native,
            "tag/addtagusers",
            json!({"tagid": 1008, "userlist": ["u4"]}),
        )
        .await);
    assert_eq!(r.member_count(&native, 1008).await, 5);

    ok(&r
        .native_post(&native, "tag/create", json!({"tagname": "second"}))
        .await);
    let third = r
        .qwif_post(&qwif, 1, "tag/addTag.do", "data", r#"{"tagName":"third"}"#)
        .await;
    assert_eq!(code(&third), "0");
    let fourth = r
        .native_post(&native, "tag/create", json!({"tagname": "fourth"}))
        .await;
    assert_eq!(
        fourth,
        json!({"errcode": 45024, "errmsg": "tag count exceeds the limit of 3"})
    );
    assert_eq!(
        code(
            &r.qwif_post(&qwif, 1, "tag/addTag.do", "data", r#"{"tagName":"fourth"}"#)
                .await
        ),
        "45024"
    );
    let tags = r.native_get(&native, "tag/list", "").await;
    assert_eq!(tags["taglist"].as_array().unwrap().len(), 3);
    ok(&r.native_get(&native, "tag/delete", "&tagid=1009").await);
    ok(&r
        .native_post(&native, "tag/create", json!({"tagname": "fourth"}))
        .await);
}

async fn cap_at_the_real_30000(database: Option<ScratchDatabase>) {
    const CAP: usize = 30000;
    let mut corp = CorpSeed::new(1);
    corp.users.extend((0..=CAP).map(|i| format!("u{i}")));
    let r = Roster::start(database, &seed(&[corp])).await;
    let native = r.native_token(1).await;
    let qwif = r.qwif_token(1).await;
    for (batch, chunk) in (0..CAP).collect::<Vec<_>>().chunks(1000).enumerate() {
        let ids: Vec<String> = chunk.iter().map(|i| format!("u{i}")).collect();
        if batch % 2 == 0 {
            let answer = r
                .native_post(
                    &native,
                    "tag/addtagusers",
                    json!({"tagid": 1008, "userlist": ids}),
                )
                .await;
            assert_eq!(answer, json!({"errcode": 0, "errmsg": "ok"}));
        } else {
            let data = json!({"wxTagId": "1008", "wxUserIdList": ids}).to_string();
            let answer = r
                .qwif_post(&qwif, 1, "tag/addTagRef.do", "data", &data)
                .await;
            assert_eq!(answer, json!({"code": "0", "desc": "成功", "data": {}}));
        }
    }
    let last = format!("u{CAP}");
    let over = r
        .native_post(
            &native,
            "tag/addtagusers",
            json!({"tagid": 1008, "userlist": [last]}),
        )
        .await;
    assert_eq!(errcode(&over), 45024);
    let over = r
        .qwif_post(
            &qwif,
            1,
            "tag/addTagRef.do",
            "data",
            r#"{"wxTagId":"1008","wxDeptIdList":["1088"]}"#,
        )
        .await;
    assert_eq!(code(&over), "45024");
    let (users, departments) = r.members(&native, 1008).await;
    assert_eq!((users.len(), departments.len()), (CAP, 0));
    assert_eq!(users[0], "u0");
    assert_eq!(users[CAP - 1], format!("u{}", CAP - 1));
}

/// Requests of 5 users each, from both dialects at once, against a cap of 50: exactly 10 are
/// accepted whole, the others refused whole.
async fn concurrent_adds_from_both_dialects_never_exceed_cap(database: Option<ScratchDatabase>) {
    let mut corp = CorpSeed::new(1);
    corp.limits = "members_per_tag = 50";
    corp.users.extend((0..120).map(|i| format!("u{i}")));
    let r = Roster::start(database, &seed(&[corp])).await;
    let r = std::sync::Arc::new(r);
    let native = r.native_token(1).await;
    let qwif = r.qwif_token(1).await;
    let mut tasks = Vec::new();
    for batch in 0..24 {
        let (r, native, qwif) = (r.clone(), native.clone(), qwif.clone());
        tasks.push(tokio::spawn(async move {
            let ids: Vec<String> = (batch * 5..batch * 5 + 5)
                .map(|i| format!("u{i}"))
                .collect();
            if batch % 2 == 0 {
                let answer = r
                    .native_post(
                        &native,
                        "tag/addtagusers",
                        json!({"tagid": 1008, "userlist": ids}),
                    )
                    .await;
                errcode(&answer)
            } else {
                let data = json!({"wxTagId": "1008", "wxUserIdList": ids}).to_string();
                let answer = r
                    .qwif_post(&qwif, 1, "tag/addTagRef.do", "data", &data)
                    .await;
                code(&answer).parse().unwrap()
            }
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        match task.await.unwrap() {
            0 => accepted += 1,
            45024 => {}
            other => panic!("unexpected code {other}"),
        }
    }
    assert_eq!(accepted, 10);
    assert_eq!(r.member_count(&native, 1008).await, 50);
}

async fn restart_keeps_api_data_and_seed_is_idempotent(database: Option<ScratchDatabase>) {
    let mut r = Roster::start(database, &standard_seed()).await;
    let native = r.native_token(1).await;
    let qwif = r.qwif_token(1).await;
    ok(&r
        .native_post(
            &native,
            "tag/update",
            json!({"tagid": 1008, "tagname": "renamed"}),
        )
        .await);
    ok(&r
        .native_post(
            &native,
            "tag/addtagusers",
            json!({"tagid": 1008, "userlist": ["lisi"]}),
        )
        .await);
    ok(&r
        .native_post(&native, "tag/create", json!({"tagname": "api-tag"}))
        .await);
    ok(&r
        .native_post(
            &native,
            "user/create",
            json!({"userid": "api-user", "name": "A", "email": "a@example.com"}),
        )
        .await);
    let before_depts = r.native_get(&native, "department/list", "").await;

    r.restart().await;
    let tags = r.native_get(&native, "tag/list", "").await;
    assert_eq!(
        tags["taglist"],
        json!([{"tagid": 1008, "tagname": "renamed"}, {"tagid": 1009, "tagname": "api-tag"}]),
        "tokens outlive a restart; API changes stay; the seed does not overwrite"
    );
    assert_eq!(
        r.members(&native, 1008).await,
        (vec!["lisi".into()], vec![])
    );
    ok(&r.native_get(&native, "user/get", "&userid=api-user").await);
    assert_eq!(
        r.native_get(&native, "department/list", "").await,
        before_depts
    );
    let refs = r
        .qwif_get(&qwif, 1, "tag/searchTagRef.do", &format!("&id={QWIF_TAG}"))
        .await;
    assert_eq!(refs["data"]["wxUserIdList"], json!(["lisi"]));
    assert_eq!(
        errcode(
            &r.native_post(&native, "tag/create", json!({"tagname": "seed-tag"}))
                .await
        ),
        0,
        "the seeded name was given up by the rename"
    );
}
