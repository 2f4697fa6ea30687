//! WeCom's native `/cgi-bin/` API: tags, tokens, users and departments, bad bodies.

use super::*;

roster_store::on_both_backends!(
    native_tags,
    native_auth,
    native_users_and_departments,
    native_bad_bodies,
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
