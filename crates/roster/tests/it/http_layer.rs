//! What roster answers below the routes, driven over raw TCP: requests hyper cannot parse,
//! wrong methods on roster's own routes, bodies past a limit or malformed, and clients that
//! write their whole body before reading. Every answer is JSON in the envelope of the dialect
//! the path belongs to, and is read, not reset.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::api::Api;
use common::ADMIN_TOKEN;
use serde_json::Value;

/// A raw exchange: the whole request written first (as Python's `http.client` does), then
/// the whole answer read. Panics if writing fails (a reset before the answer).
async fn exchange(api: &Api, request: Vec<u8>) -> (u16, String, Value) {
    let addr = api.server.running().addr;
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(&request)
            .expect("the whole request is written");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("the answer is read");
        let text = String::from_utf8_lossy(&answer).to_string();
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
        let status = head[9..12].parse().unwrap();
        let body = body.trim();
        // A chunked body: the JSON is on the chunk's line.
        let json = body.lines().find(|l| l.starts_with('{')).unwrap_or(body);
        let value =
            serde_json::from_str(json).unwrap_or_else(|e| panic!("not JSON ({e}): {head}\n{body}"));
        (status, head.to_string(), value)
    })
    .await
    .unwrap()
}

fn request(method: &str, target: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: roster\r\nConnection: close\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    if !headers.iter().any(|h| h.starts_with("Transfer-Encoding")) {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

#[tokio::test]
async fn unparsable_requests_get_the_dialects_json() {
    let api = Api::demo(None).await;
    let long = "a".repeat(70_000);
    for (path, check) in [
        ("/open-apis/contact/v3/users", "code"),
        ("/v4/follow/follow_add", "ErrorCode"),
        ("/cgi-bin/tag/get", "errcode"),
        ("/qwcgi/api/tag/searchTag.do", "code"),
        ("/_roster/clock", "error"),
    ] {
        let target = format!("{path}?q={long}");
        let (status, head, body) = exchange(&api, request("GET", &target, &[], b"")).await;
        assert_eq!(status, 414, "{path}: {body}");
        assert!(head.contains("application/json"), "{head}");
        assert!(!body[check].is_null(), "{path}: {body}");
    }
    let (status, head, body) = exchange(
        &api,
        request(
            "GET",
            "/open-apis/authen/v1/user_info",
            &["X-Bad: a\x01b"],
            b"",
        ),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (400, Some(99992402)),
        "{body}"
    );
    assert!(head.contains("X-Tt-Logid"), "{head}");
    let big = format!("X-Big: {}", "b".repeat(500_000));
    let (status, _, body) = exchange(&api, request("GET", "/cgi-bin/tag/list", &[&big], b"")).await;
    assert_eq!(
        (status, body["errcode"].as_i64()),
        (431, Some(40058)),
        "{body}"
    );
    let (status, _, body) = exchange(&api, b"HELLO THERE\r\n\r\n".to_vec()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].is_string(), "{body}");
    let (status, _, body) = exchange(
        &api,
        request("POST", "/v4/follow/follow_add", &["X-Bad: \x7f"], b"{}"),
    )
    .await;
    assert_eq!(
        (status, body["ErrorCode"].as_i64()),
        (400, Some(60002)),
        "{body}"
    );
    api.server.stop().await;
}

#[tokio::test]
async fn roster_routes_refuse_in_rosters_envelope() {
    let api = Api::demo(None).await;
    let bearer = format!("Authorization: Bearer {ADMIN_TOKEN}");
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (request("PUT", "/_roster/clock", &[&bearer], b"{}"), 405),
        (request("POST", "/healthz", &[], b""), 405),
        (
            request("DELETE", "/_roster/feishu/login_codes", &[&bearer], b""),
            405,
        ),
        (
            request(
                "POST",
                "/_roster/clock",
                &[&bearer],
                &vec![b' '; 2 * 1024 * 1024],
            ),
            413,
        ),
        (
            request(
                "POST",
                "/_roster/clock",
                &[&bearer, "Transfer-Encoding: chunked"],
                b"zz\r\nnot a chunk\r\n0\r\n\r\n",
            ),
            400,
        ),
    ];
    for (request, expected) in cases {
        let shown = String::from_utf8_lossy(&request[..40]).to_string();
        let (status, head, body) = exchange(&api, request).await;
        assert_eq!(status, expected, "{shown}: {body}");
        assert!(head.contains("application/json"), "{shown}: {head}");
        assert!(body["error"].is_string(), "{shown}: {body}");
    }
    api.server.stop().await;
}

/// Bodies a handler refuses without reading are read anyway, so a client still writing gets
/// the answer: a bad token, an unknown TIM command, a handler that takes no body. (20 MiB:
/// loopback socket buffers here swallow a few MiB, which would hide the reset.)
#[tokio::test]
async fn unread_bodies_are_drained_before_the_answer() {
    let api = Api::demo(None).await;
    let tenant = api
        .feishu_token("tenant", "cli_demo00000000001", "demo-app-secret")
        .await;
    let body = format!("{{\"id_list\": [\"{}\"]}}", "x".repeat(20 * 1024 * 1024));
    let json = "Content-Type: application/json";
    let (status, _, answer) = exchange(
        &api,
        request(
            "POST",
            "/open-apis/task/v1/tasks/1/followers",
            &[json, "Authorization: Bearer t-forged"],
            body.as_bytes(),
        ),
    )
    .await;
    assert_eq!(
        (status, answer["code"].as_i64()),
        (400, Some(99991663)),
        "{answer}"
    );
    let (_, _, answer) = exchange(
        &api,
        request(
            "POST",
            "/v4/nothing/here?sdkappid=1",
            &[json],
            body.as_bytes(),
        ),
    )
    .await;
    assert_eq!(answer["ErrorCode"], 60009, "{answer}");
    let bearer = format!("Authorization: Bearer {tenant}");
    let (_, _, answer) = exchange(
        &api,
        request(
            "GET",
            "/open-apis/authen/v1/user_info",
            &[json, &bearer],
            body.as_bytes(),
        ),
    )
    .await;
    assert_eq!(
        answer["code"], 99991663,
        "a tenant token on user_info: {answer}"
    );
    let (_, _, answer) = exchange(
        &api,
        request(
            "POST",
            "/cgi-bin/tag/get?access_token=nope",
            &[json],
            body.as_bytes(),
        ),
    )
    .await;
    assert!(answer["errcode"].as_i64().unwrap() > 0, "{answer}");
    api.server.stop().await;
}
