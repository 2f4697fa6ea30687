"""WeCom's native API (`/cgi-bin/`) driven by wechatpy 1.8.18, the PyPI release."""

import time

import pytest
from wechatpy.exceptions import WeChatClientException

from roster_harness import PROCESSES
from wecom_clients import Qwif, wecom_client

SEED = "wecom.toml"


def errcode_of(call):
    with pytest.raises(WeChatClientException) as raised:
        call()
    return raised.value.errcode


def test_token_is_fetched_once_and_lives_its_documented_lifetime(roster):
    client = wecom_client(roster)
    assert [t["tagname"] for t in client.tag.list()] == ["sdk-sample", "seed-example"]
    token = client.access_token
    # wechatpy schedules the refresh from expires_in: the documented 7200 s.
    assert 7190 <= client.expires_at - time.time() <= 7200
    other = wecom_client(roster)
    assert [t["tagname"] for t in other.tag.list()] == ["sdk-sample", "seed-example"]
    assert client.access_token == token, "fetched once, then cached"
    assert client.tag.list(), "an earlier token stays valid after a later gettoken"


def test_tag_lifecycle(roster):
    client = wecom_client(roster)
    created = client.tag.create("测试")
    assert created["errcode"] == 0 and created["errmsg"] == "created"
    tag_id = created["tagid"]
    assert isinstance(tag_id, int)
    assert {"tagid": tag_id, "tagname": "测试"} in client.tag.list()

    added = client.tag.add_users(tag_id, ["zhangsan", "x1", "LISI"])
    assert added == {"errcode": 0, "errmsg": "ok", "invalidlist": "x1"}
    members = client.tag.get_users(tag_id)
    assert members == {
        "errcode": 0,
        "errmsg": "ok",
        "tagname": "测试",
        "userlist": [{"userid": "zhangsan", "name": "张三"}, {"userid": "lisi", "name": "李四"}],
        "partylist": [],
    }

    assert client.tag.update(tag_id, "测试2") == {"errcode": 0, "errmsg": "updated"}
    removed = client.tag.delete_users(tag_id, ["zhangsan", "ghost"])
    assert removed == {"errcode": 0, "errmsg": "deleted", "invalidlist": "ghost"}
    assert client.tag.get_users(tag_id)["userlist"] == [{"userid": "lisi", "name": "李四"}]
    assert client.tag.delete(tag_id) == {"errcode": 0, "errmsg": "deleted"}
    assert errcode_of(lambda: client.tag.get_users(tag_id)) == 40068


def test_partial_and_all_invalid_members(roster):
    client = wecom_client(roster)
    tag_id = client.tag.create("parties")["tagid"]
    # wechatpy 1.8.18's add_users sends no partylist; its own transport sends the full body.
    added = client.post(
        "tag/addtagusers",
        data={"tagid": tag_id, "userlist": [1086, "nobody"], "partylist": [1088, 4]},
    )
    assert added == {"errcode": 0, "errmsg": "ok", "invalidlist": "nobody", "invalidparty": [4]}
    assert client.tag.get_users(tag_id)["partylist"] == [1088]
    assert client.tag.get_users(tag_id)["userlist"] == [{"userid": "1086", "name": "甲"}]

    with pytest.raises(WeChatClientException) as raised:
        client.tag.add_users(tag_id, ["nobody", "ghost"])
    assert (raised.value.errcode, raised.value.errmsg) == (40070, "all list invalid ")
    with pytest.raises(WeChatClientException) as raised:
        client.tag.delete_users(tag_id, ["nobody"])
    assert (raised.value.errcode, raised.value.errmsg) == (40031, "all list invalid")
    assert len(client.tag.get_users(tag_id)["userlist"]) == 1


def test_documented_errors(roster):
    client = wecom_client(roster)
    assert errcode_of(lambda: client.tag.create("seed-example")) == 40071
    assert errcode_of(lambda: client.tag.create("x" * 33)) == 40072
    assert errcode_of(lambda: client.tag.get_users(404404)) == 40068
    assert errcode_of(lambda: client.tag.add_users(404404, ["lisi"])) == 40068
    assert errcode_of(lambda: client.tag.add_users(39, [])) == 40063
    assert errcode_of(lambda: client.user.get("nobody")) == 60111

    wrong_secret = wecom_client(roster)
    wrong_secret.secret = "wrong"
    assert errcode_of(wrong_secret.fetch_access_token) == 40001
    wrong_corp = wecom_client(roster)
    wrong_corp.corp_id = "wwnobody"
    assert errcode_of(wrong_corp.fetch_access_token) == 40013

    forged = wecom_client(roster, access_token="forged", auto_retry=False)
    assert errcode_of(forged.tag.list) == 40014
    qwif_token = Qwif(roster).token
    assert errcode_of(wecom_client(roster, access_token=qwif_token, auto_retry=False).tag.list) == 40014


def test_expired_token(roster):
    client = wecom_client(roster)
    token = client.access_token
    try:
        roster.advance_clock(7200)
        stale = wecom_client(roster, access_token=token, auto_retry=False)
        with pytest.raises(WeChatClientException) as raised:
            stale.tag.list()
        assert (raised.value.errcode, raised.value.errmsg) == (42001, "access_token expired")
        # With auto_retry (the default) wechatpy fetches a fresh token and repeats the call.
        retrying = wecom_client(roster, access_token=token)
        assert len(retrying.tag.list()) >= 2
        assert retrying.access_token != token
    finally:
        roster.advance_clock(0)


def test_users_and_departments(roster):
    client = wecom_client(roster)
    created = client.user.create("zhaoliu", "赵六", department=[1088], mobile="13800000000")
    assert created == {"errcode": 0, "errmsg": "created"}
    user = client.user.get("zhaoliu")
    assert (user["userid"], user["name"], user["department"], user["mobile"]) == (
        "zhaoliu", "赵六", [1088], "13800000000"
    )
    assert errcode_of(lambda: client.user.create("ZhaoLiu", "x", mobile="1")) == 60102
    assert errcode_of(lambda: client.user.create("nocontact", "x")) == 60129

    department = client.department.create("前端", parent_id=1088, order=3)
    assert department["errcode"] == 0 and department["errmsg"] == "created"
    tree = client.department.get(1088)
    assert [d["id"] for d in tree] == [1088, department["id"], 1090]
    assert tree[1] == {
        "id": department["id"], "name": "前端", "department_leader": [], "parentid": 1088, "order": 3,
    }
    assert errcode_of(lambda: client.department.create("前端", parent_id=1088)) == 60008
    assert errcode_of(lambda: client.department.create("新", parent_id=404)) == 60004
    assert client.department.get()[0]["id"] == 1


def test_limits_refuse_the_whole_call_and_store_nothing(roster):
    """Corp 4: at most 4 members per tag, 3 users and 2 departments per call, 2 tags."""
    client = wecom_client(roster, 4)
    assert client.tag.add_users(1, ["u1", "u2", "u3"]) == {"errcode": 0, "errmsg": "ok"}
    assert errcode_of(lambda: client.tag.add_users(1, ["u1", "u2", "u3", "u4"])) == 81014
    too_many_parties = {"tagid": 1, "partylist": [1, 2, 3]}
    assert errcode_of(lambda: client.post("tag/addtagusers", data=too_many_parties)) == 81014
    over = {"tagid": 1, "userlist": ["u4"], "partylist": [2]}
    with pytest.raises(WeChatClientException) as raised:
        client.post("tag/addtagusers", data=over)
    assert (raised.value.errcode, raised.value.errmsg) == (
        45024, "tag member count exceeds the limit of 4"
    )
    assert [u["userid"] for u in client.tag.get_users(1)["userlist"]] == ["u1", "u2", "u3"]
    assert client.tag.get_users(1)["partylist"] == []

    assert client.tag.add_users(1, ["u4", "u1"]) == {"errcode": 0, "errmsg": "ok"}
    assert errcode_of(lambda: client.tag.add_users(1, ["u5"])) == 45024
    assert client.tag.add_users(1, ["u1"]) == {"errcode": 0, "errmsg": "ok"}, "present members pass"
    assert len(client.tag.get_users(1)["userlist"]) == 4

    client.tag.create("second")
    assert errcode_of(lambda: client.tag.create("third")) == 45024
    assert [t["tagname"] for t in client.tag.list()] == ["capped", "second"]


def test_members_added_through_qwif_are_seen_by_wechatpy(roster):
    client = wecom_client(roster)
    tag_id = client.tag.create("cross")["tagid"]
    added = Qwif(roster).post(
        "tag/addTagRef.do",
        {"wxTagId": str(tag_id), "wxUserIdList": ["wangwu"], "wxDeptIdList": ["1090"]},
    )
    assert added.json() == {"code": "0", "desc": "成功", "data": {}}
    members = client.tag.get_users(tag_id)
    assert members["userlist"] == [{"userid": "wangwu", "name": "王五"}]
    assert members["partylist"] == [1090]
    client.tag.add_users(tag_id, ["lisi"])
    refs = Qwif(roster).get("tag/searchTagRef.do", wxTagId=str(tag_id)).json()
    assert refs["data"] == {"wxUserIdList": ["wangwu", "lisi"], "wxDeptIdList": ["1090"]}


@pytest.mark.skipif(PROCESSES > 1, reason="each process keeps its own journal")
def test_fault_rules_make_wechatpy_see_vendor_errors_and_retry(roster):
    client = wecom_client(roster)
    assert len(client.tag.list()) >= 2
    status, added = roster.admin("POST", "/faults", {
        "dialect": "wecom", "route": "/cgi-bin/tag/list",
        "error": {"errcode": 42001, "errmsg": "access_token expired"}, "count": 1,
    })
    assert status == 201
    rule = added["faults"][0]["id"]
    roster.admin("DELETE", "/requests")
    # wechatpy answers 42001 by fetching a token and repeating the call: it succeeds.
    assert len(client.tag.list()) >= 2
    status, page = roster.admin("GET", "/requests?dialect=wecom")
    seen = [(r["path"], r["vendor_code"], r["fault"]) for r in reversed(page["requests"])]
    assert seen == [
        ("/cgi-bin/tag/list", 42001, rule),
        ("/cgi-bin/gettoken", 0, None),
        ("/cgi-bin/tag/list", 0, None),
    ]
    # -1 (system busy) is not retried: the caller sees the vendor's error.
    roster.admin("POST", "/faults", {
        "dialect": "wecom", "route": "/cgi-bin/tag/list",
        "error": {"errcode": -1, "errmsg": "system busy"}, "count": 1,
    })
    assert errcode_of(client.tag.list) == -1
    assert len(client.tag.list()) >= 2
