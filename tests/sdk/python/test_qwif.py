"""do1's qwif wrapper (`/qwcgi/`) driven like do1's own clients: multipart/form-data with one
`data` part holding JSON, `token` and `corpId` in the query. Members it adds are checked
through wechatpy's `tag.get_users` on the native API of the same corp."""

import requests

from wecom_clients import Qwif, corp, wecom_client

SEED = "wecom.toml"

# Seed 004's example requests, byte for byte.
BY_WX_TAG_ID = '{ "wxTagId":"1008", "wxDeptIdList": [ "1088", "1089" ], "wxUserIdList": [ "1086", "1087" ] }'
BY_ID = '{ "id":"1dskmfhsdkljfsdklf32434rfrw", "wxDeptIdList": [ "1088", "1089" ], "wxUserIdList": [ "1086", "1087" ] }'

# Seed 004's example responses.
SUCCESS = '{"code":"0","desc":"成功","data":{}}'
PARTIAL = '{"code":"0","desc":"成功","data":{"invalidUserIdList":["1087"],"invalidDeptIdList":["1089"]}}'
ALL_INVALID = (
    '{"code":"5864","desc":"所有人员和部门非法","data":'
    '{"invalidUserIdList":["1086","1087"],"invalidDeptIdList":["1088","1089"]}}'
)

EMPTY = {}


def refused(response, code):
    body = response.json()
    assert body["code"] == code, body
    assert body["data"] == EMPTY, body
    return body


def test_token(roster):
    answer = Qwif.fetch_token(roster, 1)
    assert answer["code"] == "0" and answer["desc"] == "成功"
    assert answer["data"]["expiresIn"] == 7200
    assert Qwif.fetch_token(roster, 1)["data"]["token"] == answer["data"]["token"]
    for params in [{}, {"developerId": corp(1)["developer_id"]},
                   {"developerId": corp(1)["developer_id"], "developerKey": corp(2)["developer_key"]}]:
        wrong = requests.get(roster.url + "/qwcgi/portal/api/qwsecurity!getToken.action", params=params)
        refused(wrong, "40001")


def test_seed_examples_give_seed_responses(roster):
    for n, expected in [(1, SUCCESS), (2, PARTIAL), (3, ALL_INVALID)]:
        qwif = Qwif(roster, n)
        for data in [BY_WX_TAG_ID, BY_ID]:
            response = qwif.post("tag/addTagRef.do", data)
            assert response.text == expected, (n, data)
            assert isinstance(response.json()["code"], str)

    members = wecom_client(roster, 1).tag.get_users(1008)
    assert [u["userid"] for u in members["userlist"]] == ["1086", "1087"]
    assert members["partylist"] == [1088, 1089]
    members = wecom_client(roster, 2).tag.get_users(1008)
    assert [u["userid"] for u in members["userlist"]] == ["1086"]
    assert members["partylist"] == [1088]
    members = wecom_client(roster, 3).tag.get_users(1008)
    assert members["userlist"] == [] and members["partylist"] == []


def test_sdk_sample_form(roster):
    """The SDK sample: wxTagId "39" with three users and three departments."""
    qwif = Qwif(roster)
    answer = qwif.post("tag/addTagRef.do", {
        "wxTagId": "39", "wxUserIdList": ["123", "zhangsan", "640"], "wxDeptIdList": ["123", "1090", "640"],
    }).json()
    assert answer == {"code": "0", "desc": "成功",
                      "data": {"invalidUserIdList": ["123", "640"], "invalidDeptIdList": ["123", "640"]}}
    refs = qwif.get("tag/searchTagRef.do", wxTagId="39").json()
    assert refs == {"code": "0", "desc": "成功", "data": {"wxUserIdList": ["zhangsan"], "wxDeptIdList": ["1090"]}}


def test_refusals_store_nothing(roster):
    qwif = Qwif(roster)
    good = {"wxTagId": "39", "wxUserIdList": ["lisi"]}
    before = wecom_client(roster).tag.get_users(39)

    refused(Qwif(roster, token="garbage").post("tag/addTagRef.do", good), "40014")
    native_token = wecom_client(roster).access_token
    refused(Qwif(roster, token=native_token).post("tag/addTagRef.do", good), "40014")
    other_corp = Qwif(roster)
    other_corp.corp_id = "wwsdkcorp2"
    refused(other_corp.post("tag/addTagRef.do", good), "40013")
    url = qwif.base + "/api/tag/addTagRef.do"
    refused(requests.post(url, params={"corpId": qwif.corp_id}, files={"data": (None, "{}")}), "41001")
    refused(requests.post(url, params={"token": qwif.token}, files={"data": (None, "{}")}), "40013")

    broken = b'--XX\r\nContent-Disposition: form-data; name="data"\r\n\r\n{"wxTagId": "39"'
    refused(requests.post(url, params=qwif.params(), data=broken,
                          headers={"Content-Type": "multipart/form-data; boundary=XX"}), "40058")
    refused(requests.post(url, params=qwif.params(), data=b"{}",
                          headers={"Content-Type": "multipart/form-data"}), "40058")
    for data in ["not json", "[1, 2]", '{wxTagId: "39"}']:
        refused(qwif.post("tag/addTagRef.do", data), "40058")
    refused(qwif.post("tag/addTagRef.do", good, part="payload"), "40058")
    refused(qwif.post("tag/addTagRef.do", {"wxTagId": "39"}), "40063")
    refused(qwif.post("tag/addTagRef.do", {"wxUserIdList": ["lisi"]}), "41017")
    refused(qwif.post("tag/addTagRef.do", {"wxTagId": "404", "wxUserIdList": ["lisi"]}), "40068")
    refused(qwif.post("tag/addTagRef.do", {"id": "nope", "wxUserIdList": ["lisi"]}), "40068")

    assert wecom_client(roster).tag.get_users(39) == before


def test_expired_token(roster):
    qwif = Qwif(roster)
    try:
        roster.advance_clock(7200)
        refused(qwif.get("tag/searchTagRef.do", wxTagId="39"), "42001")
    finally:
        roster.advance_clock(0)


def test_delete_and_search_refs(roster):
    qwif = Qwif(roster)
    qwif.post("tag/addTagRef.do", {"wxTagId": "39", "wxUserIdList": ["wangwu"]})
    removed = qwif.post("tag/delTagRef.do", {"wxTagId": "39", "wxUserIdList": ["wangwu", "ghost"]})
    assert removed.json() == {"code": "0", "desc": "成功", "data": {"invalidUserIdList": ["ghost"]}}
    none = qwif.post("tag/delTagRef.do", {"wxTagId": "39", "wxUserIdList": ["ghost"], "wxDeptIdList": ["9"]})
    assert none.json() == {"code": "5864", "desc": "所有人员和部门非法",
                           "data": {"invalidUserIdList": ["ghost"], "invalidDeptIdList": ["9"]}}
    users = [u["userid"] for u in wecom_client(roster).tag.get_users(39)["userlist"]]
    assert "wangwu" not in users


def test_tags(roster):
    qwif = Qwif(roster)
    added = qwif.post("tag/addTag.do", {"tagName": "标签1", "showNum": "234", "rang": "1", "status": "0"}).json()
    assert added["code"] == "0"
    info = added["data"]["tagInfo"]
    assert {k: info[k] for k in ["tagName", "showNum", "rang", "status", "userCount", "deptCount"]} == {
        "tagName": "标签1", "showNum": "234", "rang": "1", "status": "0", "userCount": "0", "deptCount": "0",
    }
    assert all(isinstance(value, str) for value in info.values())
    assert {"tagid": int(info["wxTagId"]), "tagname": "标签1"} in wecom_client(roster).tag.list()
    refused(qwif.post("tag/addTag.do", {"tagName": "标签1"}), "40071")

    qwif.post("tag/addTagRef.do", {"id": info["id"], "wxUserIdList": ["lisi"], "wxDeptIdList": ["1089"]})
    updated = qwif.post("tag/updateTag.do", {"id": info["id"], "tagName": "标签2"}).json()["data"]["tagInfo"]
    assert (updated["tagName"], updated["userCount"], updated["deptCount"]) == ("标签2", "1", "1")
    listed = qwif.get("tag/searchTag.do").json()["data"]["tagList"]
    assert "标签2" in [tag["tagName"] for tag in listed]
    assert qwif.post("tag/delTag.do", {"wxTagId": info["wxTagId"]}).json() == {"code": "0", "desc": "成功", "data": {}}
    refused(qwif.get("tag/searchTagRef.do", id=info["id"]), "40068")


def test_departments_and_users(roster):
    qwif = Qwif(roster)
    page = qwif.post("deptAPI/getAllDept.do", {"currentPage": "1", "pageSize": "10"}).json()["data"]
    assert (page["currPage"], page["maxPage"], page["pageSize"], page["totalRows"]) == (1, 1, 10, 4)
    by_wx_id = {d["wxId"]: d for d in page["pageData"]}
    assert by_wx_id["1090"]["deptFullName"] == "SDK Corp->研发->后端"
    assert by_wx_id["1090"]["parentDepart"] == by_wx_id["1088"]["id"]
    assert by_wx_id["1"]["parentDepart"] == ""

    created = qwif.post("deptAPI/addDepart.do", part="deptInfo", data={
        "departmentName": "测试部", "parentDepart": by_wx_id["1088"]["id"], "showOrder": "1",
        "permission": "3", "receiveWxUserId": "zhangsan|lisi",
    }).json()
    assert created["code"] == "0", created
    depart = created["data"]["depart"]
    assert (depart["wxParentid"], depart["receiveWxUserId"]) == ("1088", "zhangsan|lisi")
    native = wecom_client(roster).department.get(int(depart["wxId"]))
    assert native[0]["department_leader"] == ["zhangsan", "lisi"]

    detail = qwif.get("deptAPI/getDeptByDeptId.do", depaId=f"{depart['id']}|{by_wx_id['1088']['id']}").json()
    assert [d["wxId"] for d in detail["data"]["departmentList"]] == [depart["wxId"], "1088"]

    users = qwif.get("userAPI/getUserByDepartId.do", departId=by_wx_id["1088"]["id"]).json()["data"]["list"]
    assert [u["wxUserId"] for u in users] == ["1086", "zhangsan"]
    assert users[1]["name"] == "张三"
    refused(qwif.get("userAPI/getUserByDepartId.do", departId="nope"), "60003")


def test_cap(roster):
    """Corp 4 allows 4 members per tag: a call that would pass the cap is refused whole."""
    qwif = Qwif(roster, 4)
    assert qwif.post("tag/addTagRef.do", {"wxTagId": "1", "wxUserIdList": ["u1", "u2"], "wxDeptIdList": ["2"]}).text == SUCCESS
    over = qwif.post("tag/addTagRef.do", {"wxTagId": "1", "wxUserIdList": ["u3"], "wxDeptIdList": ["3"]})
    refused(over, "45024")
    refs = qwif.get("tag/searchTagRef.do", wxTagId="1").json()["data"]
    assert refs == {"wxUserIdList": ["u1", "u2"], "wxDeptIdList": ["2"]}
    refused(qwif.post("tag/addTagRef.do", {"wxTagId": "1", "wxUserIdList": ["u1", "u2", "u3", "u4"]}), "81014")
    assert qwif.post("tag/addTagRef.do", {"wxTagId": "1", "wxUserIdList": ["u3"]}).text == SUCCESS
    refused(qwif.post("tag/addTagRef.do", {"wxTagId": "1", "wxUserIdList": ["u4"]}), "45024")
    assert len(wecom_client(roster, 4).tag.get_users(1)["userlist"]) == 3


def test_unknown_path(roster):
    qwif = Qwif(roster)
    response = requests.get(qwif.base + "/api/tag/getTagInfoByUserId.do", params=qwif.params())
    assert response.status_code == 404
    assert response.json()["code"] == "48002"
