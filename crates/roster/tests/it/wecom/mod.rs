//! API tests of the WeCom dialects, native (`/cgi-bin/`) and do1 qwif (`/qwcgi/`), against an
//! in-process roster on SQLite and, when ROSTER_TEST_DATABASE_URL is set, on PostgreSQL (the
//! PostgreSQL runs say SKIPPED on stderr otherwise).

mod corp;
mod native;
mod qwif;

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
