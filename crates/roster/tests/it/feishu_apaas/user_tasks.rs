//! aPaaS user tasks: `chat_group`, `query` with its string paging, and the other user-task
//! operations.

use super::*;

#[tokio::test]
async fn chat_group_creates_a_chat_of_the_operator_and_invitees() {
    for s in servers("feishu_apaas chat_group").await {
        let token = s.token(ACME).await;
        let reply = s
            .post(
                &token,
                CHAT_GROUP,
                json!({ "operator_user_id": "1001", "invite_user_ids": kunlun(2..=21),
                        "chat_name": "Leave of u01" }),
            )
            .await;
        let chat_id = reply.data()["chat_id"].as_str().unwrap().to_string();
        assert!(
            chat_id.starts_with("oc_") && chat_id.len() == 35,
            "{chat_id}"
        );
        assert!(chat_id[3..]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(
            s.member_user_ids(&token, &chat_id, 6).await,
            user_ids(1..=21)
        );

        let chat = s
            .get(&token, &format!("/open-apis/im/v1/chats/{chat_id}"))
            .await;
        let chat = chat.data();
        assert_eq!(chat["name"], "Leave of u01");
        assert_eq!(
            (chat["user_count"].as_str(), chat["bot_count"].as_str()),
            (Some("21"), Some("1"))
        );
        assert!(
            chat.get("owner_id").is_none(),
            "a bot-owned chat shows no owner"
        );
        let first = s
            .get(&token, &format!("/open-apis/im/v1/chats/{chat_id}/members"))
            .await;
        assert_eq!(first.data()["member_total"], 21);
        assert_eq!(first.data()["items"].as_array().unwrap().len(), 20);
        assert_eq!(first.data()["items"][0]["member_id_type"], "open_id");

        // Joining the same chat again adds nobody twice; a new invitee joins at the end.
        let again = json!({ "operator_user_id": "1001", "invite_user_ids": ["1002", "1022"],
                            "chat_id": chat_id });
        for _ in 0..2 {
            let reply = s.post(&token, CHAT_GROUP, again.clone()).await;
            assert_eq!(reply.data()["chat_id"], chat_id.as_str());
        }
        assert_eq!(
            s.member_user_ids(&token, &chat_id, 100).await,
            user_ids(1..=22)
        );

        // Without invitees, only the operator; without chat_name, a chat without a name.
        let alone = s
            .post(&token, CHAT_GROUP, json!({ "operator_user_id": "1005" }))
            .await;
        let alone = alone.data()["chat_id"].as_str().unwrap().to_string();
        assert_eq!(s.member_user_ids(&token, &alone, 20).await, ["u05"]);
        let chat = s
            .get(&token, &format!("/open-apis/im/v1/chats/{alone}"))
            .await;
        assert!(chat.data().get("name").is_none());
    }
}

#[tokio::test]
async fn chat_group_refuses_invalid_input_and_changes_nothing() {
    for s in servers("feishu_apaas chat_group errors").await {
        let acme = s.token(ACME).await;
        let globex = s.token(GLOBEX).await;
        let tiny = s.token(TINY).await;
        let create = async |token: &str, path: &str, body: Value| {
            s.post(token, path, body).await.data()["chat_id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let acme_chat = create(&acme, CHAT_GROUP, json!({ "operator_user_id": "1001" })).await;
        let globex_chat = create(
            &globex,
            "/open-apis/apaas/v1/user_tasks/8001/chat_group",
            json!({ "operator_user_id": "2001" }),
        )
        .await;
        let other_app_chat = create(
            &s.token(ACME_OTHER_APP).await,
            CHAT_GROUP,
            json!({ "operator_user_id": "1001" }),
        )
        .await;
        let tiny_path = "/open-apis/apaas/v1/user_tasks/7301/chat_group";
        let full_tiny_chat = create(
            &tiny,
            tiny_path,
            json!({ "operator_user_id": "3001", "invite_user_ids": ["3002", "3003"] }),
        )
        .await;
        let user_token = s.user_token(ACME, "u01").await;

        let op = |body: Value| {
            let mut full = json!({ "operator_user_id": "1001" });
            full.as_object_mut()
                .unwrap()
                .extend(body.as_object().unwrap().clone());
            full
        };
        let cases: Vec<(&str, &str, &str, Value, &str)> = vec![
            (
                "unknown task",
                &acme,
                "/open-apis/apaas/v1/user_tasks/nope/chat_group",
                op(json!({})),
                "task_id",
            ),
            (
                "task of another tenant",
                &acme,
                "/open-apis/apaas/v1/user_tasks/8001/chat_group",
                op(json!({})),
                "task_id",
            ),
            (
                "no operator",
                &acme,
                CHAT_GROUP,
                json!({ "invite_user_ids": ["1002"] }),
                "operator_user_id",
            ),
            (
                "empty operator",
                &acme,
                CHAT_GROUP,
                json!({ "operator_user_id": "" }),
                "operator_user_id",
            ),
            (
                "unknown operator",
                &acme,
                CHAT_GROUP,
                json!({ "operator_user_id": "999" }),
                "operator_user_id",
            ),
            (
                "operator of another tenant",
                &acme,
                CHAT_GROUP,
                json!({ "operator_user_id": "2001" }),
                "operator_user_id",
            ),
            (
                "operator not a string",
                &acme,
                CHAT_GROUP,
                json!({ "operator_user_id": 1001 }),
                "operator_user_id",
            ),
            (
                "no invitees",
                &acme,
                CHAT_GROUP,
                op(json!({ "invite_user_ids": [] })),
                "invite_user_ids",
            ),
            (
                "21 invitees",
                &acme,
                CHAT_GROUP,
                op(json!({ "invite_user_ids": kunlun(2..=22) })),
                "invite_user_ids",
            ),
            (
                "unknown invitee",
                &acme,
                CHAT_GROUP,
                op(json!({ "invite_user_ids": ["1002", "999"] })),
                "invite_user_ids",
            ),
            (
                "invitee of another tenant",
                &acme,
                CHAT_GROUP,
                op(json!({ "invite_user_ids": ["2001"] })),
                "invite_user_ids",
            ),
            (
                "invitees not a list",
                &acme,
                CHAT_GROUP,
                op(json!({ "invite_user_ids": "1002" })),
                "invite_user_ids",
            ),
            (
                "unknown chat",
                &acme,
                CHAT_GROUP,
                op(json!({ "chat_id": "oc_00000000000000000000000000000000" })),
                "chat_id",
            ),
            (
                "chat of another tenant",
                &acme,
                CHAT_GROUP,
                op(json!({ "chat_id": globex_chat })),
                "chat_id",
            ),
            (
                "chat without the app's bot",
                &acme,
                CHAT_GROUP,
                op(json!({ "chat_id": other_app_chat })),
                "chat_id",
            ),
            (
                "new chat over the size cap",
                &tiny,
                tiny_path,
                json!({ "operator_user_id": "3001", "invite_user_ids": ["3002", "3003", "3004"] }),
                "invite_user_ids",
            ),
            (
                "full chat",
                &tiny,
                tiny_path,
                json!({ "operator_user_id": "3004", "chat_id": full_tiny_chat }),
                "invite_user_ids",
            ),
        ];
        for (case, token, path, body, field) in cases {
            let before = s.snapshot().await;
            let reply = s.post(token, path, body).await;
            assert_eq!(
                (
                    reply.status,
                    reply.code(),
                    reply.field(),
                    reply.body["msg"].as_str()
                ),
                (400, 2320001, field, Some("param is invalid")),
                "[{}] {case}: {}",
                s.backend,
                reply.body
            );
            assert!(reply.body["error"]["log_id"].is_string());
            assert_eq!(
                before,
                s.snapshot().await,
                "[{}] {case} changed data",
                s.backend
            );
        }

        let before = s.snapshot().await;
        let not_json = s.post_raw(&acme, CHAT_GROUP, "{not json").await;
        assert_eq!(
            (not_json.status, not_json.code(), not_json.field()),
            (400, 2320001, "body")
        );
        let user = s.post(&user_token, CHAT_GROUP, op(json!({}))).await;
        assert_eq!((user.status, user.code()), (400, 99991668));
        assert_eq!(user.body["msg"], "user access token not support");
        let none = s
            .send(s.http.post(s.url(CHAT_GROUP)).json(&op(json!({}))))
            .await;
        assert_eq!((none.status, none.code()), (400, 99991661));
        assert_eq!(before, s.snapshot().await);
        // Globex's chat still has only its own member.
        assert_eq!(s.member_user_ids(&globex, &globex_chat, 20).await, ["g01"]);
        let _ = acme_chat;
    }
}

#[tokio::test]
async fn query_returns_a_users_tasks_with_string_paging() {
    for s in servers("feishu_apaas query").await {
        let token = s.token(ACME).await;
        let query = async |body: Value| s.post(&token, QUERY, body).await;

        let all = query(json!({ "kunlun_user_id": "1001" })).await;
        assert_eq!(all.data()["count"], "2");
        assert_eq!(task_ids(&all), ["7003", "7001"], "newest first");
        let task = &all.data()["tasks"][0];
        assert_eq!(task["task_start_time"], "1730300000000");
        assert_eq!(task["workflow_instance"]["id"], "9002");
        assert_eq!(task["workflow_instance"]["status"], "in_process");
        assert_eq!(
            task["workflow_instance"]["label"],
            json!([{ "language_code": "2052", "text": "Leave request" }])
        );
        assert_eq!(
            task["initiator"],
            json!({ "user_id": "1005", "name": "User 05" })
        );
        assert_eq!(
            task["summarys"],
            json!([{ "file_key": { "language_code": "2052", "text": "Days" },
                     "file_value": [{ "language_code": "2052", "text": "3" }] }])
        );

        for (body, count, ids) in [
            (json!({ "limit": "1" }), "2", vec!["7003"]),
            (json!({ "limit": "1", "offset": "1" }), "2", vec!["7001"]),
            (json!({ "offset": "2" }), "2", vec![]),
            (json!({ "type": "pending" }), "1", vec!["7003"]),
            (json!({ "type": "done" }), "1", vec!["7001"]),
            (
                json!({ "source": "assignMe", "api_ids": ["expense"] }),
                "1",
                vec!["7001"],
            ),
            (json!({ "start_time": "1730300000000" }), "1", vec!["7003"]),
            (json!({ "end_time": "1730299999999" }), "1", vec!["7001"]),
            (json!({ "source": "ccMe" }), "0", vec![]),
        ] {
            let mut body = body;
            body["kunlun_user_id"] = json!("1001");
            let reply = query(body.clone()).await;
            assert_eq!(reply.data()["count"], count, "{body}");
            assert_eq!(task_ids(&reply), ids, "{body}");
        }
        let two = query(json!({ "kunlun_user_id": "1004" })).await;
        assert_eq!(task_ids(&two), ["7002"]);

        for (body, field) in [
            (json!({}), "kunlun_user_id"),
            (json!({ "kunlun_user_id": "999" }), "kunlun_user_id"),
            (json!({ "kunlun_user_id": "2001" }), "kunlun_user_id"),
            (json!({ "kunlun_user_id": "1001", "limit": "abc" }), "limit"),
            (json!({ "kunlun_user_id": "1001", "limit": "0" }), "limit"),
            (json!({ "kunlun_user_id": "1001", "limit": "101" }), "limit"),
            (json!({ "kunlun_user_id": "1001", "limit": 10 }), "limit"),
            (
                json!({ "kunlun_user_id": "1001", "offset": "-1" }),
                "offset",
            ),
            (json!({ "kunlun_user_id": "1001", "type": "later" }), "type"),
            (
                json!({ "kunlun_user_id": "1001", "source": "everyone" }),
                "source",
            ),
            (
                json!({ "kunlun_user_id": "1001", "start_time": "yesterday" }),
                "start_time",
            ),
        ] {
            let reply = query(body.clone()).await;
            assert_eq!(
                (reply.status, reply.code(), reply.field()),
                (400, 2320001, field),
                "{body}"
            );
        }
        let globex = s.token(GLOBEX).await;
        let reply = s
            .post(&globex, QUERY, json!({ "kunlun_user_id": "1001" }))
            .await;
        assert_eq!((reply.code(), reply.field()), (2320001, "kunlun_user_id"));
    }
}

#[tokio::test]
async fn user_task_operations_change_what_query_shows() {
    for s in servers("feishu_apaas operations").await {
        let token = s.token(ACME).await;
        // A workflow of two steps: 7101 (u06) is done, 7102 (u07) waits.
        for (task_id, assignee, start, status) in [
            ("7101", "1006", 1_000, "done"),
            ("7102", "1007", 2_000, "pending"),
        ] {
            let reply = s
                .admin(
                    "/feishu/apaas_user_tasks",
                    json!({ "tenant_key": "acme", "task_id": task_id, "label": "Purchase",
                            "activity_label": format!("Step {task_id}"),
                            "workflow_instance_id": "9101", "initiator": "1008",
                            "assignees": [assignee], "start_time": start, "status": status }),
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            assert_eq!(reply.body["workflow_instance_id"], "9101");
        }
        let bad = s
            .admin("/feishu/apaas_user_tasks", json!({ "tenant_key": "acme", "task_id": "x", "label": "L", "initiator": "999", "assignees": ["1001"] }))
            .await;
        assert_eq!(bad.status, 400);
        let bad = s
            .admin(
                "/feishu/apaas_user_tasks",
                json!({ "tenant_key": "nope", "task_id": "x" }),
            )
            .await;
        assert_eq!(bad.status, 404);

        let path = |task: &str, op: &str| format!("/open-apis/apaas/v1/user_tasks/{task}/{op}");
        let pending = async |kunlun_id: &str| {
            let reply = s
                .post(
                    &token,
                    QUERY,
                    json!({ "kunlun_user_id": kunlun_id, "type": "pending" }),
                )
                .await;
            task_ids(&reply)
        };
        assert_eq!(pending("1007").await, ["7102"]);

        // cc: the cc'd users see the task under source=ccMe.
        let cc = s
            .post(
                &token,
                &path("7102", "cc"),
                json!({ "operator_user_id": "1007", "cc_user_ids": ["1009"] }),
            )
            .await;
        cc.data();
        let seen = s
            .post(
                &token,
                QUERY,
                json!({ "kunlun_user_id": "1009", "source": "ccMe" }),
            )
            .await;
        assert_eq!(task_ids(&seen), ["7102"]);

        // Expediting only urges the task's assignees.
        let urged = s
            .post(&token, &path("7102", "expediting"), json!({ "operator_user_id": "1008", "expediting_user_ids": ["1007"], "opinion": "soon" }))
            .await;
        urged.data();

        let points = s
            .post(
                &token,
                &path("7102", "rollback_points"),
                json!({ "operator_user_id": "1007" }),
            )
            .await;
        assert_eq!(
            points.data()["tasks"],
            json!([{ "id": "7101", "is_start": true,
                     "activity_label": [{ "language_code": "2052", "text": "Step 7101" }] }])
        );

        for (op, task, body, field) in [
            (
                "cc",
                "7102",
                json!({ "operator_user_id": "1007" }),
                "cc_user_ids",
            ),
            (
                "cc",
                "7102",
                json!({ "operator_user_id": "1007", "cc_user_ids": ["2001"] }),
                "cc_user_ids",
            ),
            (
                "cc",
                "7101",
                json!({ "operator_user_id": "1006", "cc_user_ids": ["1009"] }),
                "task_id",
            ),
            (
                "cc",
                "nope",
                json!({ "operator_user_id": "1007", "cc_user_ids": ["1009"] }),
                "task_id",
            ),
            (
                "expediting",
                "7102",
                json!({ "operator_user_id": "1008", "expediting_user_ids": ["1009"] }),
                "expediting_user_ids",
            ),
            (
                "expediting",
                "7102",
                json!({ "expediting_user_ids": ["1007"] }),
                "operator_user_id",
            ),
            (
                "rollback_points",
                "7102",
                json!({ "operator_user_id": "999" }),
                "operator_user_id",
            ),
            (
                "rollback",
                "7102",
                json!({ "operator_user_id": "1009", "to_task_id": "7101", "opinion": "x" }),
                "operator_user_id",
            ),
            (
                "rollback",
                "7102",
                json!({ "operator_user_id": "1007", "to_task_id": "7003", "opinion": "x" }),
                "to_task_id",
            ),
            (
                "rollback",
                "7102",
                json!({ "operator_user_id": "1007", "to_task_id": "7101" }),
                "opinion",
            ),
            (
                "rollback",
                "7102",
                json!({ "operator_user_id": "1007", "opinion": "x" }),
                "to_task_id",
            ),
        ] {
            let before = s.snapshot().await;
            let reply = s.post(&token, &path(task, op), body.clone()).await;
            assert_eq!(
                (reply.status, reply.code(), reply.field()),
                (400, 2320001, field),
                "[{}] {op} {body}",
                s.backend
            );
            assert_eq!(before, s.snapshot().await, "{op} {body} changed data");
        }

        // Rollback: the earlier step is pending again, this one is done.
        let back = s
            .post(&token, &path("7102", "rollback"), json!({ "operator_user_id": "1007", "to_task_id": "7101", "opinion": "missing receipt" }))
            .await;
        back.data();
        assert_eq!(pending("1006").await, ["7101"]);
        assert!(pending("1007").await.is_empty());

        // Cancel: only the initiator, with an opinion; then nothing of the instance is pending.
        let cancel = "/open-apis/apaas/v1/approval_instances/9101/cancel";
        for (body, field) in [
            (json!({ "user_id": "1006", "opinion": "no" }), "user_id"),
            (json!({ "user_id": "1008" }), "opinion"),
        ] {
            let reply = s.post(&token, cancel, body).await;
            assert_eq!((reply.code(), reply.field()), (2320001, field));
        }
        let unknown = s
            .post(
                &token,
                "/open-apis/apaas/v1/approval_instances/0/cancel",
                json!({ "user_id": "1008", "opinion": "x" }),
            )
            .await;
        assert_eq!(
            (unknown.code(), unknown.field()),
            (2320001, "approval_instance_id")
        );
        let done = s
            .post(
                &token,
                cancel,
                json!({ "user_id": "1008", "opinion": "not needed" }),
            )
            .await;
        done.data();
        assert!(pending("1006").await.is_empty());
        let shown = s
            .post(&token, QUERY, json!({ "kunlun_user_id": "1006" }))
            .await;
        assert_eq!(
            shown.data()["tasks"][0]["workflow_instance"]["status"],
            "canceled"
        );
        let twice = s
            .post(
                &token,
                cancel,
                json!({ "user_id": "1008", "opinion": "again" }),
            )
            .await;
        assert_eq!(
            (twice.code(), twice.field()),
            (2320001, "approval_instance_id")
        );
    }
}
