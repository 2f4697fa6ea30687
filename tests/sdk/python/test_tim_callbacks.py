"""Tencent Cloud Chat webhooks after follow and after unfollow, received by a handler that
follows the vendor's callback protocol (269/1522, 269/32431): it checks `SdkAppid`, recomputes
`Sign` from the token and `RequestTime`, refuses stale requests, reads the body by
`CallbackCommand` and answers `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`. The
follows are made through the REST API with UserSigs minted by `tls-sig-api-v2`."""

import hashlib
import json
import time

import pytest

from callback_receiver import Receiver, roster_with_callbacks
from test_tim import MAIN, MAIN_KEY, Tim

TOKEN = "tim-callback-token"
OK = json.dumps({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}).encode()


class TimApp:
    def __init__(self):
        self.receiver = Receiver(self.accept)

    def accept(self, path, query, headers, body):
        if query.get("SdkAppid") != str(MAIN):
            return 403, b"wrong SdkAppid"
        expected = hashlib.sha256((TOKEN + query["RequestTime"]).encode()).hexdigest()
        if query.get("Sign") != expected or abs(time.time() - int(query["RequestTime"])) > 60:
            return 403, b"bad signature"
        event = json.loads(body)
        assert event["CallbackCommand"] == query["CallbackCommand"]
        self.receiver.received.put((query, event))
        return 200, OK


@pytest.fixture(scope="module")
def app():
    app = TimApp()
    yield app
    app.receiver.stop()


@pytest.fixture(scope="module")
def roster(app):
    server = roster_with_callbacks(
        "tim.toml",
        'admins = ["administrator"]\n',
        f'callback_url = "{app.receiver.url}"\ncallback_token = "{TOKEN}"\n',
    )
    yield server
    server.stop()


def test_after_follow_and_unfollow(app, roster):
    tim = Tim(roster.url, MAIN, MAIN_KEY)
    before = time.time()
    assert tim.follow("UserID_001", "UserID_002", "UserID_003", "nobody")[:2] == [
        ("UserID_002", 0), ("UserID_003", 0)]
    query, event = app.receiver.next()
    assert {k: query[k] for k in ("CallbackCommand", "contenttype", "OptPlatform")} == {
        "CallbackCommand": "Follow.CallbackAfterFollowAdd", "contenttype": "json",
        "OptPlatform": "RESTAPI"}
    assert event["From_Account"] == "UserID_001"
    assert event["FollowList"] == [{"To_Account": "UserID_002"}, {"To_Account": "UserID_003"}]
    assert abs(event["EventTime"] / 1000 - before) < 60

    reply = tim.post("follow/follow_delete", {"From_Account": "UserID_001",
                                              "To_Account": ["UserID_002", "UserID_004"]})
    assert reply["ActionStatus"] == "OK"
    query, event = app.receiver.next()
    assert query["CallbackCommand"] == "Follow.CallbackAfterFollowDelete"
    assert (event["From_Account"], event["To_Account"]) == ("UserID_001", ["UserID_002"])


def test_nothing_changed_sends_nothing(app, roster):
    tim = Tim(roster.url, MAIN, MAIN_KEY)
    tim.follow("UserID_001", "UserID_003")  # already followed
    assert app.receiver.quiet()


def test_deliveries_record_the_answer(app, roster):
    tim = Tim(roster.url, MAIN, MAIN_KEY)
    tim.follow("UserID_004", "UserID_005")
    app.receiver.next()
    for _ in range(50):
        status, page = roster.admin("GET", f"/deliveries?space=tim/{MAIN}&limit=1000")
        last = page["deliveries"][-1]
        if json.loads(last["request"])["From_Account"] == "UserID_004":
            break
        time.sleep(0.1)
    assert (last["event"], last["status"], last["attempt"]) == (
        "Follow.CallbackAfterFollowAdd", 200, 1)
    assert json.loads(last["response"]) == json.loads(OK)
