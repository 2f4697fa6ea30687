//! IM chats: created, read, members added and removed; chats and tasks across a restart.

use super::*;

const CHATS: &str = "/open-apis/im/v1/chats";

#[tokio::test]
async fn im_chat_members_are_removed_by_the_owner_or_a_bot_manager() {
    for s in servers("feishu_apaas im chat member removal").await {
        let acme = s.token(ACME).await;
        let other = s.token(ACME_OTHER_APP).await;
        let created = s
            .post(
                &acme,
                &format!("{CHATS}?user_id_type=user_id&set_bot_manager=true"),
                json!({ "name": "Ops", "owner_id": "u02", "user_id_list": ["u01", "u03"],
                        "bot_id_list": [ACME_OTHER_APP.0] }),
            )
            .await;
        let chat_id = created.data()["chat_id"].as_str().unwrap().to_string();
        let users = format!("{CHATS}/{chat_id}/members?member_id_type=user_id");
        let bots = format!("{CHATS}/{chat_id}/members?member_id_type=app_id");

        // Refused, changing nothing: a bot that is neither owner nor manager, the owner
        // itself, nobody who is a member, too many ids, no ids.
        for (token, path, ids, code) in [
            (&other, &users, json!(["u01"]), 232014),
            (&acme, &users, json!(["u02"]), 232076),
            (&acme, &users, json!(["zz", "u04"]), 232027),
            (&acme, &users, json!([]), 232027),
            (&acme, &users, json!(vec!["u01"; 51]), 99992402),
            (&acme, &bots, json!(vec![ACME_OTHER_APP.0; 6]), 99992402),
        ] {
            let before = s.snapshot().await;
            let reply = s.delete(token, path, json!({ "id_list": ids })).await;
            assert_eq!(
                (reply.status, reply.code()),
                (400, code),
                "{ids}: {}",
                reply.body
            );
            assert_eq!(before, s.snapshot().await, "{ids} changed data");
        }

        let removed = s
            .delete(&acme, &users, json!({ "id_list": ["u01", "zz"] }))
            .await;
        assert_eq!(removed.data()["invalid_id_list"], json!(["zz"]));
        assert_eq!(s.member_user_ids(&acme, &chat_id, 50).await, ["u02", "u03"]);
        let removed = s
            .delete(&acme, &bots, json!({ "id_list": [ACME_OTHER_APP.0] }))
            .await;
        assert_eq!(removed.data()["invalid_id_list"], json!([]));
        let chat = s.get(&acme, &format!("{CHATS}/{chat_id}")).await;
        assert_eq!(chat.data()["bot_count"], "1");
    }
}

#[tokio::test]
async fn im_chats_create_read_and_add_members() {
    for s in servers("feishu_apaas im chats").await {
        let acme = s.token(ACME).await;
        let created = s
            .post(
                &acme,
                &format!("{CHATS}?user_id_type=user_id&uuid=req-1&set_bot_manager=True"),
                json!({ "name": "Ops", "owner_id": "u02", "user_id_list": ["u01", "u03", "u01"] }),
            )
            .await;
        let data = created.data().clone();
        let chat_id = data["chat_id"].as_str().unwrap().to_string();
        assert_eq!(
            (data["owner_id"].as_str(), data["owner_id_type"].as_str()),
            (Some("u02"), Some("user_id"))
        );
        assert_eq!(data["chat_type"], "private");
        assert_eq!(data["tenant_key"], "acme");
        assert_eq!(
            s.member_user_ids(&acme, &chat_id, 2).await,
            ["u02", "u01", "u03"]
        );

        // The same uuid makes no second chat.
        let repeat = s
            .post(
                &acme,
                &format!("{CHATS}?user_id_type=user_id&uuid=req-1"),
                json!({ "name": "Ops", "owner_id": "u02" }),
            )
            .await;
        assert_eq!(repeat.data()["chat_id"], chat_id.as_str());
        let chat = s
            .get(&acme, &format!("{CHATS}/{chat_id}?user_id_type=user_id"))
            .await;
        assert_eq!(chat.data()["bot_manager_id_list"], json!([ACME.0]));
        assert_eq!(chat.data()["user_count"], "3");

        // Add members: unknown ids are refused, or listed with succeed_type=1.
        let members = format!("{CHATS}/{chat_id}/members?member_id_type=user_id");
        let strict = s
            .post(&acme, &members, json!({ "id_list": ["u04", "zz"] }))
            .await;
        assert_eq!((strict.status, strict.code()), (400, 99992360));
        let lenient = s
            .post(
                &acme,
                &format!("{members}&succeed_type=1"),
                json!({ "id_list": ["u04", "zz", "u01"] }),
            )
            .await;
        assert_eq!(lenient.data()["not_existed_id_list"], json!(["zz"]));
        assert_eq!(
            s.member_user_ids(&acme, &chat_id, 50).await,
            ["u02", "u01", "u03", "u04"]
        );
        let bots = s
            .post(
                &acme,
                &format!("{CHATS}/{chat_id}/members?member_id_type=app_id"),
                json!({ "id_list": [ACME_OTHER_APP.0] }),
            )
            .await;
        bots.data();
        let chat = s.get(&acme, &format!("{CHATS}/{chat_id}")).await;
        assert_eq!(
            (
                chat.data()["user_count"].as_str(),
                chat.data()["bot_count"].as_str()
            ),
            (Some("4"), Some("2"))
        );

        for (path, body, code) in [
            (members.clone(), json!({ "id_list": [] }), 232027),
            (
                members.clone(),
                json!({ "id_list": user_ids(1..=25).into_iter().chain(user_ids(1..=25)).chain(["u01".into()]).collect::<Vec<_>>() }),
                99992402,
            ),
            (
                format!("{members}&succeed_type=1"),
                json!({ "id_list": ["zz"] }),
                232027,
            ),
            (
                format!("{members}&succeed_type=7"),
                json!({ "id_list": ["u05"] }),
                99992402,
            ),
            (
                format!("{CHATS}/{chat_id}/members?member_id_type=app_id"),
                json!({ "id_list": [GLOBEX.0] }),
                232043,
            ),
            (
                format!("{CHATS}/oc_00000000000000000000000000000000/members"),
                json!({ "id_list": ["u05"] }),
                232006,
            ),
            (
                format!("{CHATS}?user_id_type=user_id"),
                json!({ "user_id_list": ["nobody"] }),
                99992360,
            ),
            (CHATS.to_string(), json!({ "chat_type": "public" }), 232042),
            (CHATS.to_string(), json!({ "chat_type": "secret" }), 232001),
            (
                CHATS.to_string(),
                json!({ "user_id_list": vec!["x"; 51] }),
                99992402,
            ),
        ] {
            let before = s.snapshot().await;
            let reply = s.post(&acme, &path, body.clone()).await;
            assert_eq!(
                (reply.status, reply.code()),
                (400, code),
                "{path} {body}: {}",
                reply.body
            );
            assert_eq!(before, s.snapshot().await, "{path} {body} changed data");
        }

        for (path, code) in [
            (format!("{members}&page_size=0"), 99992402),
            (format!("{members}&page_size=101"), 99992402),
            (format!("{members}&page_token=forged"), 232001),
            (
                format!("{CHATS}/oc_00000000000000000000000000000000"),
                232006,
            ),
        ] {
            let reply = s.get(&acme, &path).await;
            assert_eq!((reply.status, reply.code()), (400, code), "{path}");
        }
        // A page token of one chat does not page another.
        let page = s.get(&acme, &format!("{members}&page_size=1")).await;
        let token = page.data()["page_token"].as_str().unwrap().to_string();
        let other = s.post(&acme, CHATS, json!({ "user_id_list": [] })).await;
        let other = other.data()["chat_id"].as_str().unwrap().to_string();
        let foreign_token = s
            .get(
                &acme,
                &format!("{CHATS}/{other}/members?page_token={token}"),
            )
            .await;
        assert_eq!(foreign_token.code(), 232001);

        // Tenants and apps: another tenant's chat, a chat without the caller's bot.
        let globex = s.token(GLOBEX).await;
        for path in [
            format!("{CHATS}/{chat_id}"),
            format!("{CHATS}/{chat_id}/members"),
        ] {
            let reply = s.get(&globex, &path).await;
            assert_eq!((reply.status, reply.code()), (400, 232010), "{path}");
        }
        let stranger = s.token(ACME_OTHER_APP).await;
        let own = s
            .post(&stranger, CHATS, json!({ "name": "Other app" }))
            .await;
        let own = own.data()["chat_id"].as_str().unwrap().to_string();
        let not_in = s.get(&acme, &format!("{CHATS}/{own}/members")).await;
        assert_eq!((not_in.status, not_in.code()), (400, 232011));
        let summary = s.get(&acme, &format!("{CHATS}/{own}")).await;
        assert_eq!(summary.data()["name"], "Other app");
        assert!(
            summary.data().get("chat_mode").is_none(),
            "non-members see only a summary"
        );

        // A user token reads the chats its user is in.
        let u01 = s.user_token(ACME, "u01").await;
        assert_eq!(s.member_user_ids(&u01, &chat_id, 10).await.len(), 4);
        let outsider = s.user_token(ACME, "u09").await;
        assert_eq!(
            s.get(&outsider, &format!("{CHATS}/{chat_id}/members"))
                .await
                .code(),
            232011
        );
        let by_user = s.post(&u01, CHATS, json!({})).await;
        assert_eq!(by_user.code(), 99991668);

        // The size cap of tenant tiny.
        let tiny = s.token(TINY).await;
        let over = s
            .post(
                &tiny,
                &format!("{CHATS}?user_id_type=user_id"),
                json!({ "user_id_list": ["t1", "t2", "t3", "t4"] }),
            )
            .await;
        assert_eq!((over.status, over.code()), (400, 232013));
        let three = s
            .post(
                &tiny,
                &format!("{CHATS}?user_id_type=user_id"),
                json!({ "user_id_list": ["t1", "t2", "t3"] }),
            )
            .await;
        let three = three.data()["chat_id"].as_str().unwrap().to_string();
        let before = s.snapshot().await;
        let full = s
            .post(
                &tiny,
                &format!("{CHATS}/{three}/members?member_id_type=user_id"),
                json!({ "id_list": ["t4"] }),
            )
            .await;
        assert_eq!((full.status, full.code()), (400, 232013));
        assert_eq!(before, s.snapshot().await);
    }
}

#[tokio::test]
async fn chats_and_tasks_survive_a_restart() {
    for s in servers("feishu_apaas restart").await {
        let token = s.token(ACME).await;
        let chat = s
            .post(
                &token,
                CHAT_GROUP,
                json!({ "operator_user_id": "1001", "invite_user_ids": ["1002", "1003"] }),
            )
            .await;
        let chat_id = chat.data()["chat_id"].as_str().unwrap().to_string();
        s.post(
            &token,
            "/open-apis/apaas/v1/user_tasks/7002/cc",
            json!({ "operator_user_id": "1003", "cc_user_ids": ["1010"] }),
        )
        .await
        .data();
        // frank has no kunlun_id in the seed: roster derives one and prints it at start.
        let described = s.inner.running().seed.describe("");
        let frank = described
            .iter()
            .find_map(|line| line.split("frank=").nth(1))
            .map(|rest| rest.split(',').next().unwrap().trim().to_string())
            .unwrap();
        assert_eq!(frank.len(), 16);
        assert!(frank.chars().all(|c| c.is_ascii_digit()));

        let s = s.restart().await;
        let token = s.token(ACME).await;
        assert_eq!(
            s.member_user_ids(&token, &chat_id, 2).await,
            user_ids(1..=3)
        );
        let seen = s
            .post(
                &token,
                QUERY,
                json!({ "kunlun_user_id": "1010", "source": "ccMe" }),
            )
            .await;
        assert_eq!(task_ids(&seen), ["7002"]);
        let join = s
            .post(
                &token,
                CHAT_GROUP,
                json!({ "operator_user_id": frank, "chat_id": chat_id }),
            )
            .await;
        join.data();
        let members = s.member_user_ids(&token, &chat_id, 100).await;
        assert_eq!(members.last().map(String::as_str), Some("frank"));
        // Re-applying the seed at start kept the tasks' state and added nothing twice.
        let all = s
            .post(&token, QUERY, json!({ "kunlun_user_id": "1001" }))
            .await;
        assert_eq!(all.data()["count"], "2");
        let contact = s
            .get(
                &token,
                "/open-apis/contact/v3/users/u01?user_id_type=user_id",
            )
            .await;
        assert!(
            contact.data()["user"].get("kunlun_id").is_none(),
            "kunlun ids are not contact fields"
        );
    }
}
