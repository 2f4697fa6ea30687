//! do1's qwif `/qwcgi/` API: the seed's examples, refusals that store nothing, tags and
//! departments.

use super::*;

roster_store::on_both_backends!(
    qwif_seed_examples,
    qwif_refusals_store_nothing,
    qwif_tags_and_departments,
);

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
