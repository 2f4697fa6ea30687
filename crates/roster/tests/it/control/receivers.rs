//! Callback receivers set and removed at run time through `/_roster/callbacks`.

use super::*;

roster_store::on_both_backends!(super::start;
    callback_receivers_are_set_and_removed_at_run_time,
);

/// A callback URL in this test: it records each request (method, path and query, body) and
/// answers 200 with `answer`.
#[derive(Clone, Default)]
struct Receiver {
    requests: std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>>,
}

impl Receiver {
    async fn start(&self, answer: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let requests = self.requests.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::any(
                move |method: axum::http::Method, uri: axum::http::Uri, body: String| {
                    let requests = requests.clone();
                    async move {
                        let request = (method.to_string(), uri.to_string(), body);
                        requests.lock().unwrap().push(request);
                        answer
                    }
                },
            ),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    fn requests(&self) -> Vec<(String, String, String)> {
        self.requests.lock().unwrap().clone()
    }

    /// The requests once there are `count` of them.
    async fn wait_for(&self, count: usize) -> Vec<(String, String, String)> {
        for _ in 0..500 {
            if self.requests().len() >= count {
                return self.requests();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("{:?}, not {count} requests", self.requests());
    }
}

/// `/_roster/callbacks`: a TIM receiver set, used and removed without a restart; keys that are
/// not a receiver's, and URLs that fail the vendor's check (WeCom's echostr GET, Feishu's
/// challenge), are refused with nothing changed.
async fn callback_receivers_are_set_and_removed_at_run_time(server: TestServer) {
    let client = Client::of(&server);
    let tim_space = format!("/callbacks/tim/{SDKAPPID}");
    let (status, answer) = client.admin(reqwest::Method::GET, "/callbacks", None).await;
    assert_eq!((status, answer), (200, json!({ "receivers": [] })));

    let receiver = Receiver::default();
    let url = receiver
        .start(r#"{"ActionStatus":"OK","ErrorCode":0}"#)
        .await;
    let keys = json!({ "callback_url": url });
    let (status, answer) = client
        .admin(reqwest::Method::PUT, &tim_space, Some(keys.clone()))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["receivers"], json!([keys]));
    assert_eq!(
        client.follow("UserID_001", &["UserID_002"]).await["ErrorCode"],
        0
    );
    let (_, hook, body) = receiver.wait_for(1).await.remove(0);
    assert!(
        hook.contains("CallbackCommand=Follow.CallbackAfterFollowAdd"),
        "{hook}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["From_Account"],
        "UserID_001"
    );

    // Refused, and nothing changed.
    for (keys, status) in [
        (json!({ "callback_url": "ftp://example.com/" }), 400),
        (json!({ "callback_url": url, "extra": 1 }), 400),
        (json!({ "callback_token": "t" }), 400),
        (json!(["not", "an", "object"]), 400),
    ] {
        let answer = client
            .admin(reqwest::Method::PUT, &tim_space, Some(keys.clone()))
            .await;
        assert_eq!(answer.0, status, "{keys}: {answer:?}");
        assert!(answer.1["error"].is_string(), "{answer:?}");
    }
    let (status, _) = client
        .admin(
            reqwest::Method::PUT,
            "/callbacks/tim/1",
            Some(json!({ "callback_url": url })),
        )
        .await;
    assert_eq!(status, 404);
    let (_, answer) = client.admin(reqwest::Method::GET, &tim_space, None).await;
    assert_eq!(answer["receivers"], json!([{ "callback_url": url }]));

    // Removed: the next follow calls nothing back.
    let (status, answer) = client
        .admin(reqwest::Method::DELETE, &tim_space, None)
        .await;
    assert_eq!((status, &answer["receivers"]), (200, &json!([])));
    assert_eq!(
        client.follow("UserID_001", &["UserID_003"]).await["ErrorCode"],
        0
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(receiver.requests().len(), 1);

    // WeCom checks a new URL with a GET whose echostr it must decrypt; Feishu with a
    // challenge to echo. This receiver answers neither: refused, nothing stored.
    let wrong = Receiver::default();
    let url = wrong.start("not the plaintext").await;
    let wecom = json!({
        "callback_url": url,
        "callback_token": "token1",
        "callback_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    });
    let path = format!("/callbacks/wecom/{CORP}");
    let (status, answer) = client.admin(reqwest::Method::PUT, &path, Some(wecom)).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("not the plaintext"),
        "{answer}"
    );
    let (method, query, _) = wrong.wait_for(1).await.remove(0);
    assert_eq!(method, "GET");
    for field in ["msg_signature=", "timestamp=", "nonce=", "echostr="] {
        assert!(query.contains(field), "{query}");
    }
    let feishu = json!({ "app_id": "cli_demo00000000001", "event_url": url });
    let (status, answer) = client
        .admin(reqwest::Method::PUT, "/callbacks/feishu/demo", Some(feishu))
        .await;
    assert_eq!(status, 400, "{answer}");
    let (method, _, body) = wrong.wait_for(2).await.remove(1);
    assert_eq!(method, "POST");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["type"],
        "url_verification"
    );
    let (_, answer) = client.admin(reqwest::Method::GET, "/callbacks", None).await;
    assert_eq!(answer, json!({ "receivers": [] }));
    let (_, deliveries) = client
        .admin(reqwest::Method::GET, "/deliveries", None)
        .await;
    let checks: Vec<&Value> = deliveries["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["event"] == "url_verification")
        .collect();
    assert_eq!(checks.len(), 2, "{deliveries}");
    assert_eq!(checks[0]["method"], "GET");
    server.stop().await;
}
