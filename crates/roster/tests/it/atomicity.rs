//! One vendor operation is one transaction: a refused create stores nothing, and concurrent
//! requests for one unique key have exactly one winner (the key decides, not a read before).

use crate::common;

use std::collections::HashSet;

use common::{Client, TestServer};
use serde_json::{json, Value};

roster_store::on_both_backends!(
    |database| super::TestServer::start(database, super::SEED);
    duplicate_mobile_or_email_stores_nothing,
    concurrent_feishu_creates_of_one_user_id_have_one_winner,
    concurrent_creates_with_one_client_token_make_one_user,
    concurrent_wecom_departments_of_one_name_have_one_winner,
    concurrent_wecom_tags_of_one_name_have_one_winner,
);

const SEED: &str = r#"
[[feishu.tenants]]
tenant_key = "acme"

[[feishu.tenants.apps]]
app_id = "cli_acme_tasks"
app_secret = "acme-secret-1"

[[feishu.tenants.users]]
user_id = "alice"
name = "Alice"
email = "alice@acme.example"
mobile = "+8613800000001"

[[wecom.corps]]
corp_id = "wwatomic"
corp_secret = "atomic-secret"
departments = [{ id = 2, name = "R&D", parent = 1 }]
users = [{ id = "zhangsan", name = "Zhang San", departments = [2] }]
"#;

/// Concurrent requests per race.
const RACERS: usize = 16;

impl Client {
    async fn feishu_token(&self) -> String {
        let url = format!(
            "{}/open-apis/auth/v3/tenant_access_token/internal",
            self.base
        );
        let body = json!({ "app_id": "cli_acme_tasks", "app_secret": "acme-secret-1" });
        let answer = self.send(self.http.post(url).json(&body)).await;
        answer["tenant_access_token"].as_str().unwrap().to_string()
    }

    async fn create_user(&self, token: &str, query: &str, body: Value) -> Value {
        let url = format!(
            "{}/open-apis/contact/v3/users?user_id_type=user_id{query}",
            self.base
        );
        self.send(self.http.post(url).bearer_auth(token).json(&body))
            .await
    }

    /// The user ids `batch_get_id` finds for these emails and mobiles.
    async fn find_users(&self, token: &str, emails: &[&str], mobiles: &[&str]) -> Value {
        let url = format!(
            "{}/open-apis/contact/v3/users/batch_get_id?user_id_type=user_id",
            self.base
        );
        let body = json!({ "emails": emails, "mobiles": mobiles });
        let answer = self
            .send(self.http.post(url).bearer_auth(token).json(&body))
            .await;
        assert_eq!(answer["code"], 0, "{answer}");
        answer["data"]["user_list"].clone()
    }

    async fn get_user(&self, token: &str, user_id: &str) -> Value {
        let url = format!(
            "{}/open-apis/contact/v3/users/{user_id}?user_id_type=user_id",
            self.base
        );
        self.send(self.http.get(url).bearer_auth(token)).await
    }

    async fn wecom_get(&self, token: &str, api: &str, query: &str) -> Value {
        let url = format!("{}/cgi-bin/{api}?access_token={token}{query}", self.base);
        self.send(self.http.get(url)).await
    }
}

/// Run `RACERS` copies of `request` at once; their answers.
async fn race<F, Fut>(request: F) -> Vec<Value>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Value> + Send + 'static,
{
    let handles: Vec<_> = (0..RACERS).map(|i| tokio::spawn(request(i))).collect();
    let mut answers = Vec::with_capacity(RACERS);
    for handle in handles {
        answers.push(handle.await.unwrap());
    }
    answers
}

fn codes(answers: &[Value], field: &str) -> Vec<i64> {
    answers.iter().map(|a| a[field].as_i64().unwrap()).collect()
}

async fn duplicate_mobile_or_email_stores_nothing(server: TestServer) {
    let client = Client::of(&server);
    let token = client.feishu_token().await;
    for (field, value, code) in [
        ("mobile", "+8613800000001", 41009),
        ("email", "alice@acme.example", 41010),
    ] {
        let user_id = format!("dup-{field}");
        let body = json!({
            "user_id": user_id,
            "name": "Copycat",
            field: value,
            // A fresh value of the other field: it must not be taken by the refused user.
            "email": if field == "email" { value.to_string() } else { format!("{user_id}@acme.example") },
        });
        let answer = client.create_user(&token, "", body).await;
        assert_eq!(answer["code"], code, "{answer}");
        assert_eq!(answer["msg"], format!("{field} already exists"), "{answer}");
        assert_eq!(
            answer["error"]["field_violations"][0]["field"], field,
            "{answer}"
        );
        // Nothing of the refused user exists: not its id, not its other aliases.
        let missing = client.get_user(&token, &user_id).await;
        assert_eq!(missing["code"], 99992360, "{missing}");
        let other_email = format!("{user_id}@acme.example");
        let found = client.find_users(&token, &[&other_email], &[]).await;
        assert!(found[0]["user_id"].is_null(), "{found}");
        // The rightful owner keeps its mobile and email.
        let found = client
            .find_users(&token, &["alice@acme.example"], &["+8613800000001"])
            .await;
        assert_eq!(found[0]["user_id"], "alice", "{found}");
        assert_eq!(found[1]["user_id"], "alice", "{found}");
        // And the same request with its own values now succeeds: no half-made leftovers.
        let retry = json!({ "user_id": user_id, "name": "Copycat", field: format!("new-{value}") });
        let answer = client.create_user(&token, "", retry).await;
        assert_eq!(answer["code"], 0, "{answer}");
    }
    server.stop().await;
}

async fn concurrent_feishu_creates_of_one_user_id_have_one_winner(server: TestServer) {
    let client = std::sync::Arc::new(Client::of(&server));
    let token = client.feishu_token().await;
    let answers = race(|i| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            let body = json!({ "user_id": "racer", "name": format!("Racer {i}") });
            client.create_user(&token, "", body).await
        }
    })
    .await;
    let codes = codes(&answers, "code");
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    assert_eq!(
        codes.iter().filter(|c| **c == 41012).count(),
        RACERS - 1,
        "{codes:?}"
    );
    // The stored user is the winner's, not overwritten by a loser.
    let winner = answers.iter().find(|a| a["code"] == 0).unwrap();
    let stored = client.get_user(&token, "racer").await;
    assert_eq!(
        stored["data"]["user"]["name"], winner["data"]["user"]["name"],
        "{stored}"
    );
    server.stop().await;
}

async fn concurrent_creates_with_one_client_token_make_one_user(server: TestServer) {
    let client = std::sync::Arc::new(Client::of(&server));
    let token = client.feishu_token().await;
    let answers = race(|i| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            // No user_id: each request would make a user of its own without the token.
            let body = json!({ "name": format!("Retry {i}") });
            client
                .create_user(&token, "&client_token=retry-1", body)
                .await
        }
    })
    .await;
    assert!(
        codes(&answers, "code").iter().all(|c| *c == 0),
        "{answers:?}"
    );
    let users: HashSet<&str> = answers
        .iter()
        .map(|a| a["data"]["user"]["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(users.len(), 1, "{users:?}");
    // Exactly one user was stored: every name but the winner's is unknown.
    let mut stored = 0;
    for i in 0..RACERS {
        let user = users.iter().next().unwrap();
        let found = client.get_user(&token, user).await;
        stored += usize::from(found["data"]["user"]["name"] == format!("Retry {i}"));
    }
    assert_eq!(stored, 1);
    server.stop().await;
}

async fn concurrent_wecom_departments_of_one_name_have_one_winner(server: TestServer) {
    let client = std::sync::Arc::new(Client::of(&server));
    let token = client.wecom_token("wwatomic", "atomic-secret").await;
    let answers = race(|_| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            let body = json!({ "name": "QA", "parentid": 2 });
            client.wecom(&token, "department/create", body).await
        }
    })
    .await;
    let codes = codes(&answers, "errcode");
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    assert_eq!(
        codes.iter().filter(|c| **c == 60008).count(),
        RACERS - 1,
        "{codes:?}"
    );
    let list = client.wecom_get(&token, "department/list", "&id=2").await;
    let named_qa = list["department"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["name"] == "QA")
        .count();
    assert_eq!(named_qa, 1, "{list}");
    server.stop().await;
}

async fn concurrent_wecom_tags_of_one_name_have_one_winner(server: TestServer) {
    let client = std::sync::Arc::new(Client::of(&server));
    let token = client.wecom_token("wwatomic", "atomic-secret").await;
    let answers = race(|i| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            // Distinct ids, one name: only the name's key can refuse them.
            let body = json!({ "tagname": "On call", "tagid": 100 + i });
            client.wecom(&token, "tag/create", body).await
        }
    })
    .await;
    let codes = codes(&answers, "errcode");
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    assert_eq!(
        codes.iter().filter(|c| **c == 40071).count(),
        RACERS - 1,
        "{codes:?}"
    );
    let list = client.wecom_get(&token, "tag/list", "").await;
    assert_eq!(list["taglist"].as_array().unwrap().len(), 1, "{list}");
    server.stop().await;
}
