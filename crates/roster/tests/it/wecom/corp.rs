//! A corp as a whole: both dialects on one corp, its caps (lowered, the real 30,000, under
//! concurrent writers of both dialects), and its data across a restart.

use super::*;

roster_store::on_both_backends!(
    one_corp_two_dialects,
    caps_with_lowered_limits,
    cap_at_the_real_30000,
    concurrent_adds_from_both_dialects_never_exceed_cap,
    restart_keeps_api_data_and_seed_is_idempotent,
);

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
