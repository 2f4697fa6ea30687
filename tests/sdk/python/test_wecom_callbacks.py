"""WeCom contact-change callbacks (`change_contact`), received with wechatpy 1.8.18's own
WeCom crypto (`wechatpy.enterprise.crypto.WeChatCrypto`): every event is checked against its
msg_signature, decrypted with the EncodingAESKey and its corp id checked by wechatpy, as an
app's callback URL does. The changes are made through wechatpy's client (native API) and
do1's qwif wrapper."""

import os
import time

import pytest
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException, WeChatClientException

from callback_receiver import Receiver, roster_with_callbacks
from roster_harness import PROCESSES
from wecom_clients import Qwif, corp, wecom_client

TOKEN = "callback-token-1"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


class WeComApp:
    """An app's callback URL: wechatpy checks and decrypts each POST, and answers the URL
    check (a GET) with the decrypted `echostr`. `fail_next` answers the next N deliveries with
    500 (after decrypting them), as a broken receiver would."""

    def __init__(self, token=TOKEN):
        self.crypto = WeChatCrypto(token, AES_KEY, corp(1)["corp_id"])
        self.fail_next = 0
        self.receiver = Receiver(self.accept)

    def accept(self, path, query, headers, body):
        if body is None:
            try:
                echo = self.crypto.check_signature(
                    query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"]
                )
            except InvalidSignatureException:
                return 403, b"bad signature"
            return 200, echo.encode() if isinstance(echo, str) else echo
        xml = self.crypto.decrypt_message(
            body, query["msg_signature"], query["timestamp"], query["nonce"]
        )
        if self.fail_next:
            self.fail_next -= 1
            return 500, b"busy"
        message = parse_message(xml)
        self.receiver.received.put(message._data)
        return 200, b""


@pytest.fixture(scope="module")
def app():
    app = WeComApp()
    yield app
    app.receiver.stop()


@pytest.fixture(scope="module")
def roster(app):
    os.environ["ROSTER_CALLBACK_RETRY_SCALE"] = "0.01"
    server = roster_with_callbacks(
        "wecom.toml",
        'qwif_developer_key = "c2RrLWRldmVsb3Blci1rZXktMQ=="\n',
        f'callback_url = "{app.receiver.url}"\n'
        f'callback_token = "{TOKEN}"\n'
        f'callback_aes_key = "{AES_KEY}"\n',
    )
    yield server
    server.stop()


def test_seeded_state_sends_nothing(app, roster):
    assert app.receiver.quiet(0.5)


def test_tag_members_added_and_removed(app, roster):
    client = wecom_client(roster)
    tag_id = client.tag.create("callbacks")["tagid"]
    client.tag.add_users(tag_id, ["zhangsan", "lisi", "ghost"])
    event = app.receiver.next()
    assert event["ToUserName"] == corp(1)["corp_id"]
    assert (event["FromUserName"], event["MsgType"], event["Event"]) == (
        "sys", "event", "change_contact")
    assert event["ChangeType"] == "update_tag"
    assert event["TagId"] == str(tag_id)
    assert event["AddUserItems"] == "zhangsan,lisi"
    assert "DelUserItems" not in event and "AddPartyItems" not in event
    assert abs(int(event["CreateTime"]) - time.time()) < 60

    client.post("tag/addtagusers", data={"tagid": tag_id, "partylist": [1088, 4]})
    parties = app.receiver.next()
    assert parties.get("AddPartyItems") == "1088", str(parties)[-300:]
    client.tag.delete_users(tag_id, ["zhangsan"])
    removed = app.receiver.next()
    assert (removed["TagId"], removed["DelUserItems"]) == (str(tag_id), "zhangsan")
    assert "AddUserItems" not in removed


def test_refused_and_unchanged_writes_send_nothing(app, roster):
    client = wecom_client(roster)
    tag_id = client.tag.create("quiet")["tagid"]
    with pytest.raises(WeChatClientException):
        client.tag.add_users(tag_id, ["nobody", "ghost"])
    client.tag.add_users(tag_id, ["wangwu"])
    assert app.receiver.next()["AddUserItems"] == "wangwu"
    client.tag.add_users(tag_id, ["wangwu"])  # already a member: no change
    assert app.receiver.quiet()


def test_members_added_through_qwif(app, roster):
    qwif = Qwif(roster)
    answer = qwif.post("tag/addTagRef.do", {"wxTagId": "39", "wxUserIdList": ["1087"],
                                            "wxDeptIdList": ["1089"]}).json()
    assert answer["code"] == "0"
    event = app.receiver.next()
    assert (event["ChangeType"], event["TagId"]) == ("update_tag", "39")
    assert (event["AddUserItems"], event["AddPartyItems"]) == ("1087", "1089")


def test_users_and_departments_created(app, roster):
    client = wecom_client(roster)
    client.user.create("zhouqi", "周七", department=[1088], mobile="13800000007")
    event = app.receiver.next()
    assert (event["ChangeType"], event["UserID"]) == ("create_user", "zhouqi")
    department = client.department.create("测试部", parent_id=1088)
    event = app.receiver.next()
    assert (event["ChangeType"], event["Id"]) == ("create_party", str(department["id"]))


def test_failed_deliveries_are_resent_and_recorded(app, roster):
    client = wecom_client(roster)
    app.fail_next = 2
    client.tag.add_users(39, ["wangwu"])
    event = app.receiver.next()
    assert (event["TagId"], event["AddUserItems"]) == ("39", "wangwu")
    # The receiver has the event before roster has its answer: wait for the record.
    for _ in range(50):
        status, page = roster.admin("GET", "/deliveries?space=wecom/wwsdkcorp1&limit=1000")
        assert status == 200
        last = page["deliveries"][-1]
        if last["status"] == 200:
            break
        time.sleep(0.1)
    attempts = [d for d in page["deliveries"] if d["change_seq"] == last["change_seq"]]
    assert [(a["attempt"], a["status"], a["response"]) for a in attempts] == [
        (1, 500, "busy"), (2, 500, "busy"), (3, 200, "")]
    assert attempts[0]["event"] == "change_contact/update_tag"
    assert attempts[0]["url"].startswith(app.receiver.url + "?msg_signature=")


def test_redeliver_sends_the_same_request_again(app, roster):
    status, page = roster.admin("GET", "/deliveries?space=wecom/wwsdkcorp1&limit=1000")
    last = page["deliveries"][-1]
    status, answer = roster.admin("POST", f"/deliveries/{last['id']}/redeliver")
    assert status == 200
    again = answer["delivery"]
    assert (again["status"], again["attempt"], again["id"] > last["id"]) == (
        200, last["attempt"] + 1, True)
    assert (again["request"], again["headers"]) == (last["request"], last["headers"])
    event = app.receiver.next()
    assert (event["TagId"], event["AddUserItems"]) == ("39", "wangwu")
    assert roster.admin("POST", "/deliveries/999999/redeliver")[0] == 404


def test_change_feed_pages_every_change(roster):
    status, first = roster.admin("GET", "/changes?space=wecom/wwsdkcorp1&limit=2")
    assert status == 200 and len(first["changes"]) == 2
    status, rest = roster.admin("GET", f"/changes?space=wecom/wwsdkcorp1&after={first['next']}&limit=1000")
    seqs = [c["seq"] for c in first["changes"] + rest["changes"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    added = [c for c in rest["changes"] if c["op"] == "edge_added" and c["relation"] == "member"
             and c["subject"] == {"kind": "tag", "key": "39"}]
    assert {"kind": "user", "key": "wangwu"} in [c["member"] for c in added]
    status, again = roster.admin("GET", f"/changes?space=wecom/wwsdkcorp1&after={rest['next']}")
    assert again == {"changes": [], "next": rest["next"]}


def test_a_callback_url_set_at_run_time_passes_the_echostr_check(roster):
    """PUT /_roster/callbacks: roster first checks the URL as WeCom's console does when one is
    saved (a GET whose echostr wechatpy decrypts and echoes); from then on the callbacks go
    there. A URL that fails the check (another token) is refused and nothing changes."""
    corp_id = corp(1)["corp_id"]
    moved = WeComApp()
    wrong = WeComApp(token="another-token")
    try:
        keys = {"callback_url": moved.receiver.url, "callback_token": TOKEN,
                "callback_aes_key": AES_KEY}
        status, answer = roster.admin("PUT", f"/callbacks/wecom/{corp_id}", keys)
        assert (status, answer["receivers"]) == (200, [keys]), answer
        path, query, headers, body = moved.receiver.requests[0]
        assert body is None and set(query) == {"msg_signature", "timestamp", "nonce", "echostr"}
        if PROCESSES > 1:
            time.sleep(1)  # the other processes hear of it within a second
        client = wecom_client(roster)
        tag_id = client.tag.create("moved")["tagid"]
        client.tag.add_users(tag_id, ["lisi"])
        event = moved.receiver.next()
        assert (event["ChangeType"], event["TagId"], event["AddUserItems"]) == (
            "update_tag", str(tag_id), "lisi")

        refused = dict(keys, callback_url=wrong.receiver.url)
        status, answer = roster.admin("PUT", f"/callbacks/wecom/{corp_id}", refused)
        assert status == 400 and "403" in answer["error"], answer
        status, answer = roster.admin("GET", f"/callbacks/wecom/{corp_id}")
        assert answer["receivers"] == [keys]
    finally:
        moved.receiver.stop()
        wrong.receiver.stop()
