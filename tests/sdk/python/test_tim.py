"""Tencent Cloud Chat (TIM) REST against roster, with UserSigs minted by PyPI `tls-sig-api-v2`.

The client builds URLs the way the vendor's REST clients do (string formatting, UserSig raw)
and posts JSON with `requests`.
"""

import json
import random

import pytest
import requests
import TLSSigAPIv2

SEED = "tim.toml"

MAIN = 1400000000
MAIN_KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
OTHER = 1400000001
OTHER_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
LIMITED = 1400000002
LIMITED_KEY = "limited-app-secret-key"


def sig(sdkappid, key, identifier, expire=86400):
    return TLSSigAPIv2.TLSSigAPIv2(sdkappid, key).gen_sig(identifier, expire)


class Tim:
    """A REST client of one app, signing as its admin."""

    def __init__(self, base, sdkappid, key, admin="administrator"):
        self.base, self.sdkappid, self.key, self.admin = base, sdkappid, key, admin

    def url(self, path, usersig=None, identifier=None, sdkappid=None):
        identifier = identifier or self.admin
        usersig = usersig if usersig is not None else sig(self.sdkappid, self.key, identifier)
        sdkappid = sdkappid or self.sdkappid
        return (f"{self.base}/v4/{path}?sdkappid={sdkappid}&identifier={identifier}"
                f"&usersig={usersig}&random={random.randint(0, 4294967295)}&contenttype=json")

    def post(self, path, body, **auth):
        return self.send("POST", path, json.dumps(body), **auth)

    def send(self, method, path, data, headers=None, **auth):
        response = requests.request(method, self.url(path, **auth), data=data, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    # Commands used by many tests.
    def import_accounts(self, *ids):
        reply = self.post("im_open_login_svc/multiaccount_import", {"Accounts": list(ids)})
        assert reply["FailAccounts"] == [], reply
        return list(ids)

    def follow(self, src, *targets):
        reply = self.post("follow/follow_add", {
            "From_Account": src, "FollowItem": [{"To_Account": t} for t in targets]})
        assert reply["ActionStatus"] == "OK", reply
        return [(i["To_Account"], i["ResultCode"]) for i in reply["ResultItem"]]

    def unfollow(self, src, *targets):
        reply = self.post("follow/follow_delete", {"From_Account": src, "To_Account": list(targets)})
        assert reply["ActionStatus"] == "OK", reply
        return [(i["To_Account"], i["ResultCode"]) for i in reply["ResultItem"]]

    def info(self, *ids):
        reply = self.post("follow/follow_get_info", {"From_Account": ids[0], "To_Account": list(ids)})
        assert reply["ErrorCode"] == 0, reply
        return {i["To_Account"]: (i["FollowerCount"], i["FollowingCount"], i["MutualFollowingCount"])
                for i in reply["FollowInfo"]}

    def check(self, src, *targets):
        reply = self.post("follow/follow_check", {"From_Account": src, "To_Account": list(targets)})
        assert reply["ErrorCode"] == 0, reply
        return {i["To_Account"]: i["FollowType"] for i in reply["ResultItem"]}

    def listing(self, user, follow_type, want=None, cursor=""):
        body = {"From_Account": user, "FollowType": follow_type, "StartCursor": cursor}
        if want is not None:
            body["WantNum"] = want
        return self.post("follow/follow_get", body)

    def whole_list(self, user, follow_type, want=None):
        ids, cursor = [], ""
        while True:
            reply = self.listing(user, follow_type, want, cursor)
            assert reply["ErrorCode"] == 0, reply
            ids += [i["To_Account"] for i in reply["FollowItem"]]
            cursor = reply["NextCursor"]
            if cursor == "":
                return ids


@pytest.fixture(scope="module")
def tim(roster):
    return Tim(roster.url, MAIN, MAIN_KEY)


@pytest.fixture(scope="module")
def limited(roster):
    return Tim(roster.url, LIMITED, LIMITED_KEY, admin="admin")


def fail(reply, code):
    assert reply["ActionStatus"] == "FAIL", reply
    assert reply["ErrorCode"] == code, reply
    assert reply["ErrorInfo"], reply


def test_seed_example_request_and_response(tim):
    reply = tim.post("follow/follow_add", {
        "From_Account": "UserID_001",
        "FollowItem": [{"To_Account": "UserID_002"}, {"To_Account": "UserID_003"}]})
    assert reply == {
        "ResultItem": [
            {"To_Account": "UserID_002", "ResultCode": 0, "ResultInfo": ""},
            {"To_Account": "UserID_003", "ResultCode": 0, "ResultInfo": ""}],
        "ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "ErrorDisplay": ""}
    assert tim.info("UserID_001", "UserID_002") == {"UserID_001": (0, 2, 0), "UserID_002": (1, 0, 0)}


def test_usersig_errors_leave_data_unchanged(tim, roster):
    a, b = tim.import_accounts("sig_a", "sig_b")
    body = {"From_Account": a, "FollowItem": [{"To_Account": b}]}
    forged = sig(MAIN, OTHER_KEY, "administrator")  # right app id, wrong key
    fail(tim.post("follow/follow_add", body, usersig=forged), 70009)
    other_app = sig(OTHER, OTHER_KEY, "administrator")
    fail(tim.post("follow/follow_add", body, usersig=other_app), 70014)
    fail(tim.post("follow/follow_add", body, usersig=forged[:-8] + "AAAAAAAA"), 70003)
    fail(tim.post("follow/follow_add", body, usersig="not*a*usersig"), 70003)
    fail(tim.post("follow/follow_add", body, usersig=""), 70002)
    someone_else = sig(MAIN, MAIN_KEY, "UserID_001")
    fail(tim.post("follow/follow_add", body, usersig=someone_else), 70013)
    # A valid UserSig of an account that is not an admin.
    fail(tim.post("follow/follow_add", body, identifier="UserID_001", usersig=someone_else), 60010)
    fail(tim.post("follow/follow_add", body, sdkappid=1499999999), 60006)
    missing = requests.post(f"{tim.base}/v4/follow/follow_add?identifier=administrator"
                            f"&usersig={sig(MAIN, MAIN_KEY, 'administrator')}", data=json.dumps(body))
    fail(missing.json(), 60012)
    no_identifier = requests.post(f"{tim.base}/v4/follow/follow_add?sdkappid={MAIN}"
                                  f"&usersig={sig(MAIN, MAIN_KEY, 'administrator')}", data=json.dumps(body))
    fail(no_identifier.json(), 60004)

    short_lived = sig(MAIN, MAIN_KEY, "administrator", expire=60)
    assert tim.post("im_open_login_svc/account_check", {"CheckItem": [{"UserID": a}]},
                    usersig=short_lived)["ErrorCode"] == 0
    roster.advance_clock(61)
    try:
        fail(tim.post("follow/follow_add", body, usersig=short_lived), 70001)
    finally:
        roster.advance_clock(0)
    assert tim.info(a, b) == {a: (0, 0, 0), b: (0, 0, 0)}
    assert tim.follow(a, b) == [(b, 0)]


def test_follow_add_per_target_results(tim):
    a, b, c = tim.import_accounts("add_a", "add_b", "add_c")
    assert tim.follow(a, b, "no_such_user", a, b, c) == [
        (b, 0), ("no_such_user", 30003), (a, 30001), (b, 0), (c, 0)]
    assert tim.info(a, b, c) == {a: (0, 2, 0), b: (1, 0, 0), c: (1, 0, 0)}
    assert tim.whole_list(a, 2) == [c, b]


def test_whole_request_errors_write_nothing(tim):
    a, *others = tim.import_accounts(*[f"big_{i}" for i in range(22)])
    too_many = {"From_Account": a, "FollowItem": [{"To_Account": t} for t in others[:21]]}
    fail(tim.post("follow/follow_add", too_many), 30001)
    fail(tim.post("follow/follow_add", {"From_Account": "ghost", "FollowItem": [{"To_Account": a}]}), 30003)
    fail(tim.post("follow/follow_add", {"From_Account": a}), 30001)
    fail(tim.post("follow/follow_add", {"From_Account": a, "FollowItem": []}), 30001)
    fail(tim.post("follow/follow_add", {"From_Account": a, "FollowItem": [{"To_Account": 7}]}), 60015)
    fail(tim.post("follow/follow_add", {"From_Account": a, "FollowItem": [{"To": others[0]}]}), 30001)
    fail(tim.post("follow/follow_delete", {"From_Account": a, "To_Account": others[:21]}), 30001)
    fail(tim.post("follow/follow_get_info", {"From_Account": a, "To_Account": others[:21]}), 30001)
    fail(tim.post("follow/follow_check", {"From_Account": a, "To_Account": others * 5}), 30001)
    assert tim.info(a) == {a: (0, 0, 0)}
    assert [code for _, code in tim.follow(a, *others[:20])] == [0] * 20
    assert tim.info(a) == {a: (0, 20, 0)}


def test_refollow_keeps_the_original_follow_time(tim, roster):
    a, b = tim.import_accounts("time_a", "time_b")
    tim.follow(a, b)
    first = tim.listing(a, 2)["FollowItem"][0]["FollowTime"]
    roster.advance_clock(3600)
    try:
        assert tim.follow(a, b) == [(b, 0)]
        assert tim.listing(a, 2)["FollowItem"][0]["FollowTime"] == first
        assert tim.info(b) == {b: (1, 0, 0)}
        tim.unfollow(a, b)
        tim.follow(a, b)
        assert tim.listing(a, 2)["FollowItem"][0]["FollowTime"] >= first + 3600
    finally:
        roster.advance_clock(0)


def test_follow_delete_check_and_mutual(tim):
    a, b, c, d = tim.import_accounts("m_a", "m_b", "m_c", "m_d")
    tim.follow(a, b, c)
    tim.follow(b, a)
    tim.follow(d, a)
    assert tim.check(a, a, b, c, d, "nobody") == {a: 0, b: 3, c: 2, d: 1, "nobody": 0}
    reply = tim.post("follow/follow_check", {"From_Account": a, "To_Account": ["nobody"]})
    assert reply["ResultItem"][0]["ResultCode"] == 30003
    assert tim.info(a, b) == {a: (2, 2, 1), b: (1, 1, 1)}
    assert tim.whole_list(a, 3) == [b] and tim.whole_list(b, 3) == [a]
    assert tim.whole_list(a, 1) == [d, b]
    # Unfollowing dissolves the mutual follow on both sides; unfollowing again is a success.
    assert tim.unfollow(b, a, c, "nobody") == [(a, 0), (c, 0), ("nobody", 30003)]
    assert tim.check(a, b) == {b: 2}
    assert tim.info(a, b) == {a: (1, 2, 0), b: (1, 0, 0)}
    assert tim.whole_list(a, 3) == []


def test_follow_get_pages_stay_stable_while_the_graph_changes(tim):
    star, *fans = tim.import_accounts(*[f"page_{i:02}" for i in range(26)])
    for fan in fans:
        tim.follow(fan, star)
    newest_first = list(reversed(fans))
    first = tim.listing(star, 1, want=10)
    assert [i["To_Account"] for i in first["FollowItem"]] == newest_first[:10]
    assert first["NextCursor"] != ""
    item = first["FollowItem"][0]
    assert set(item) == {"To_Account", "FollowTime", "ProfileItem", "profile_sequence"}
    # A new fan (newer than the cursor) and an unseen fan leaving do not shift the pages.
    late = tim.import_accounts("page_late")[0]
    tim.follow(late, star)
    tim.unfollow(newest_first[15], star)
    second = tim.listing(star, 1, want=10, cursor=first["NextCursor"])
    assert [i["To_Account"] for i in second["FollowItem"]] == newest_first[10:15] + newest_first[16:21]
    third = tim.listing(star, 1, want=10, cursor=second["NextCursor"])
    assert [i["To_Account"] for i in third["FollowItem"]] == newest_first[21:]
    assert third["NextCursor"] == ""
    # Default page size is 100, so one page holds everything.
    everything = tim.listing(star, 1)
    assert len(everything["FollowItem"]) == 25 and everything["NextCursor"] == ""
    no_cursor = tim.post("follow/follow_get", {"From_Account": star, "FollowType": 1, "WantNum": 0})
    assert no_cursor["FollowItem"] == everything["FollowItem"]
    # Cursors belong to one list.
    fail(tim.listing(star, 2, want=10, cursor=first["NextCursor"]), 30001)
    fail(tim.listing(fans[0], 1, want=10, cursor=first["NextCursor"]), 30001)
    fail(tim.listing(star, 1, want=10, cursor="garbage"), 30001)
    fail(tim.listing(star, 4), 30001)
    fail(tim.listing(star, 1, want=-1), 30001)
    fail(tim.post("follow/follow_get", {"From_Account": star, "StartCursor": ""}), 30001)


def test_follow_get_shows_profiles(tim):
    a, b = "prof_a", "prof_b"
    assert tim.post("im_open_login_svc/account_import", {"UserID": a})["ErrorCode"] == 0
    reply = tim.post("im_open_login_svc/account_import",
                     {"UserID": b, "Nick": "Bob", "FaceUrl": "https://example.com/b.png"})
    assert reply == {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}
    tim.follow(a, b)
    item = tim.listing(a, 2)["FollowItem"][0]
    assert item["ProfileItem"] == [{"Tag": "Tag_Profile_IM_Nick", "Value": "Bob"},
                                   {"Tag": "Tag_Profile_IM_Image", "Value": "https://example.com/b.png"}]
    assert item["profile_sequence"] == 1
    tim.post("im_open_login_svc/multiaccount_import", {"AccountList": [{"UserID": b, "Nick": "Robert"}]})
    item = tim.listing(a, 2)["FollowItem"][0]
    assert item["ProfileItem"][0] == {"Tag": "Tag_Profile_IM_Nick", "Value": "Robert"}
    assert item["profile_sequence"] == 2


def test_limits_from_the_seed(limited):
    a, b, c, d, e = "a", "b", "c", "d", "e"
    assert limited.follow(a, b, c, d) == [(b, 0), (c, 0), (d, 32100)]
    assert limited.info(a) == {a: (0, 2, 0)}
    limited.follow(c, b)
    limited.follow(d, b)
    assert limited.follow(e, b) == [(b, 32101)]
    assert limited.follow(b, a) == [(a, 0)]  # mutual a <-> b: b's one mutual follow
    assert limited.follow(b, c) == [(c, 32102)]
    assert limited.follow(d, a) == [(a, 0)]
    assert limited.follow(a, d) == [(d, 32100)]
    limited.unfollow(a, c)
    assert limited.follow(a, d) == [(d, 32102)]
    limited.unfollow(b, a)
    assert limited.follow(c, a) == [(a, 0)]
    assert limited.follow(a, c) == [(c, 0)]  # mutual a <-> c
    assert limited.follow(b, c) == [(c, 32103)]
    fail(limited.post("follow/follow_add", {
        "From_Account": e, "FollowItem": [{"To_Account": x} for x in (a, b, c, d, a)]}), 30001)
    # follow_get page size: default 2, clamped to 3.
    assert len(limited.listing(b, 1)["FollowItem"]) == 2
    assert len(limited.listing(b, 1, want=50)["FollowItem"]) == 3
    assert limited.whole_list(b, 1) == [d, c, a]
    fail(limited.post("im_open_login_svc/account_check",
                      {"CheckItem": [{"UserID": x} for x in (a, b, c, d)]}), 70402)


def test_accounts(tim):
    assert tim.post("im_open_login_svc/account_import", {"Identifier": "legacy_1"})["ErrorCode"] == 0
    assert tim.post("im_open_login_svc/account_import", {"UserID": "acct_1"})["ErrorCode"] == 0
    assert tim.post("im_open_login_svc/account_import", {"UserID": "acct_1"})["ErrorCode"] == 0
    fail(tim.post("im_open_login_svc/account_import", {}), 70402)
    fail(tim.post("im_open_login_svc/account_import", {"UserID": "x" * 33}), 70402)
    fail(tim.post("im_open_login_svc/account_import", {"UserID": 5}), 60015)
    fail(tim.post("im_open_login_svc/account_import", {"UserID": "acct_2", "Nick": "n" * 501}), 40601)
    reply = tim.post("im_open_login_svc/multiaccount_import",
                     {"AccountList": [{"UserID": "acct_2", "Nick": "Two"}, {"UserID": "y" * 33}]})
    assert reply == {"FailAccounts": ["y" * 33], "ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}
    fail(tim.post("im_open_login_svc/multiaccount_import",
                  {"Accounts": [f"many_{i}" for i in range(101)]}), 70402)
    fail(tim.post("im_open_login_svc/multiaccount_import", {"Accounts": [], "AccountList": []}), 70402)
    reply = tim.post("im_open_login_svc/account_check", {"CheckItem": [
        {"UserID": "legacy_1"}, {"UserID": "acct_2"}, {"UserID": "many_0"}, {"UserID": "y" * 33}]})
    assert [(i["UserID"], i["ResultCode"], i["AccountStatus"]) for i in reply["ResultItem"]] == [
        ("legacy_1", 0, "Imported"), ("acct_2", 0, "Imported"),
        ("many_0", 0, "NotImported"), ("y" * 33, 0, "NotImported")]
    fail(tim.post("im_open_login_svc/account_check", {"CheckItem": [{"Nope": 1}]}), 70402)


def test_account_delete_removes_follows_and_keeps_counts_exact(tim):
    a, b, c = tim.import_accounts("del_a", "del_b", "del_c")
    tim.follow(a, b, c)
    tim.follow(b, a, c)
    tim.follow(c, a)
    assert tim.info(a, b, c) == {a: (2, 2, 2), b: (1, 2, 1), c: (2, 1, 1)}
    reply = tim.post("im_open_login_svc/account_delete",
                     {"DeleteItem": [{"UserID": a}, {"UserID": "never_imported"}]})
    assert reply == {"ResultItem": [
        {"ResultCode": 0, "ResultInfo": "", "UserID": a},
        {"ResultCode": 70107, "ResultInfo": "Err_TLS_PT_Open_Login_Account_Not_Exist",
         "UserID": "never_imported"}], "ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}
    assert tim.info(b, c, a) == {b: (0, 1, 0), c: (1, 0, 0), a: (0, 0, 0)}
    assert tim.check(b, a, c) == {a: 0, c: 2}
    assert tim.whole_list(c, 1) == [b]
    fail(tim.post("follow/follow_add", {"From_Account": a, "FollowItem": [{"To_Account": b}]}), 30003)
    # Imported again, it starts with no follows.
    tim.import_accounts(a)
    assert tim.info(a) == {a: (0, 0, 0)}


def test_gateway_conventions(tim):
    body = json.dumps({"CheckItem": [{"UserID": "UserID_001"}]})
    # Any Content-Type, or none; GET with a body like POST.
    for method, headers in [("POST", {"Content-Type": "text/plain"}), ("POST", None), ("GET", None)]:
        reply = tim.send(method, "im_open_login_svc/account_check", body, headers=headers)
        assert reply["ResultItem"][0]["AccountStatus"] == "Imported"
    response = requests.post(tim.url("follow/follow_get_info"), data="{")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    fail(response.json(), 60003)
    assert response.json()["ErrorDisplay"] == ""
    fail(tim.send("POST", "follow/follow_add", ""), 60003)
    fail(tim.send("POST", "follow/follow_add", "[1, 2]"), 60003)
    fail(tim.send("POST", "follow/follow_add", "x" * (2 << 20)), 60003)
    fail(tim.send("PUT", "follow/follow_add", "{}"), 60002)
    for path in ["follow/follow_nothing", "nosuchsvc/follow_add", "follow", "follow/follow_add/extra",
                 "FOLLOW/follow_add"]:
        reply = tim.post(path, {})
        fail(reply, 60009)
        assert "ErrorDisplay" not in reply
    # Account responses carry no ErrorDisplay, follow responses do.
    assert "ErrorDisplay" not in tim.post("im_open_login_svc/account_check", {})


def test_follow_feature_switched_off(roster):
    other = Tim(roster.url, OTHER, OTHER_KEY)
    fail(other.post("follow/follow_add", {
        "From_Account": "UserID_001", "FollowItem": [{"To_Account": "UserID_002"}]}), 30005)
    reply = other.post("im_open_login_svc/account_check", {"CheckItem": [{"UserID": "UserID_001"}]})
    assert reply["ResultItem"][0]["AccountStatus"] == "Imported"


def test_follows_survive_a_restart(tim, roster):
    a, b = tim.import_accounts("restart_a", "restart_b")
    tim.follow(a, b)
    tim.follow(b, a)
    roster.restart()
    tim.base = roster.url
    assert tim.info(a, b) == {a: (1, 1, 1), b: (1, 1, 1)}
    assert tim.check(a, b) == {b: 3}
