"""Feishu event subscription 2.0 for Task v1 follower and collaborator changes, received by
lark-oapi 1.7.5's own `EventDispatcherHandler` (the Python SDK's webhook receiver): one app
with an Encrypt Key (decrypted and signature-checked by the SDK), one without (token-checked).
The changes are made through the SDK's task client."""

import json
import time

import lark_oapi as lark
import lark_oapi.api.contact.v3 as contact
import lark_oapi.api.im.v1 as im
import lark_oapi.api.task.v1 as task
import lark_oapi.api.task.v2 as task_v2
import pytest
from lark_oapi.core.model import RawRequest

from callback_receiver import Receiver, roster_with_callbacks
from roster_harness import PROCESSES
from test_feishu import (  # noqa: F401 (fresh_token_cache: the autouse fixture applies here too)
    APP_ID, add_collaborators, add_followers, client_of, create_task, fresh_token_cache, open_id,
)

OTHER_APP = "cli_acme_events"
ENCRYPT_KEY = "roster-encrypt-key"
TOKENS = {APP_ID: "verification-token-1", OTHER_APP: "verification-token-2"}


class LarkApp:
    """An app's request URL: lark-oapi's dispatcher checks and decodes each POST."""

    def __init__(self, app_id, encrypt_key):
        self.app_id = app_id
        received = []
        self.handler = (
            lark.EventDispatcherHandler.builder(encrypt_key, TOKENS[app_id])
            .register_p2_task_task_updated_v1(lambda data: self.put("updated", data))
            .register_p2_task_task_update_tenant_v1(lambda data: self.put("tenant", data))
            .register_p2_contact_user_created_v3(lambda data: self.put("user", data))
            .register_p2_im_chat_member_user_added_v1(lambda data: self.put("chat", data))
            .register_p2_im_chat_member_user_deleted_v1(lambda data: self.put("left", data))
            .register_p2_task_task_update_user_access_v2(lambda data: self.put("access", data))
            .build()
        )
        self.receiver = Receiver(self.accept)
        self.received = received

    def put(self, kind, data):
        self.receiver.received.put((kind, data))

    def accept(self, path, query, headers, body):
        request = RawRequest()
        request.uri = path
        # As lark-oapi's Flask adapter hands them over: Title-Case names.
        request.headers = {name.title(): value for name, value in headers.items()}
        request.body = body
        response = self.handler.do(request)
        return response.status_code, response.content


@pytest.fixture(scope="module")
def apps():
    apps = {APP_ID: LarkApp(APP_ID, ENCRYPT_KEY), OTHER_APP: LarkApp(OTHER_APP, "")}
    yield apps
    for app in apps.values():
        app.receiver.stop()


@pytest.fixture(scope="module")
def roster(apps):
    server = roster_with_callbacks(
        "feishu.toml",
        'app_secret = "acme-secret-1"\n',
        f'event_url = "{apps[APP_ID].receiver.url}"\n'
        f'verification_token = "{TOKENS[APP_ID]}"\n'
        f'encrypt_key = "{ENCRYPT_KEY}"\n'
        "\n[[feishu.tenants.apps]]\n"
        f'app_id = "{OTHER_APP}"\n'
        'app_secret = "acme-secret-2"\n'
        f'event_url = "{apps[OTHER_APP].receiver.url}"\n'
        f'verification_token = "{TOKENS[OTHER_APP]}"\n'
        'events = ["task.task.update_tenant_v1"]\n',
    )
    yield server
    server.stop()


def test_each_request_url_answers_the_url_verification_challenge(apps, roster):
    """Sent when delivery starts, encrypted for the app with a key; the SDK answers it."""
    for _ in range(50):
        status, page = roster.admin("GET", "/deliveries?space=feishu/acme")
        challenges = [d for d in page["deliveries"] if d["event"] == "url_verification"]
        if len(challenges) == 2:
            break
        time.sleep(0.1)
    assert sorted(d["url"] for d in challenges) == sorted(a.receiver.url for a in apps.values())
    for delivery in challenges:
        sent = json.loads(delivery["request"])
        answer = json.loads(delivery["response"])
        assert delivery["status"] == 200 and list(answer) == ["challenge"]
        if delivery["url"] == apps[APP_ID].receiver.url:
            assert list(sent) == ["encrypt"]
        else:
            assert sent == {"challenge": answer["challenge"], "token": TOKENS[OTHER_APP],
                            "type": "url_verification"}


def test_follower_changes_reach_the_creator_and_the_tenant(apps, roster):
    client = client_of(roster)
    made = create_task(client)
    alice, bob = open_id(client, "alice"), open_id(client, "bob")
    assert add_followers(client, made.id, [alice, bob]).success()

    creator = apps[APP_ID].receiver
    events = [creator.next(), creator.next()]
    by_kind = {kind: data for kind, data in events}
    updated = by_kind["updated"]
    assert updated.header.event_type == "task.task.updated_v1"
    assert (updated.header.app_id, updated.header.tenant_key) == (APP_ID, "acme")
    assert (updated.event.task_id, updated.event.obj_type) == (made.id, 3)
    tenant = by_kind["tenant"]
    assert (tenant.event.task_id, tenant.event.object_type, tenant.event.event_type) == (
        made.id, "follower", "create")
    assert [u.open_id for u in tenant.event.user_id_list.user_id_list] == [alice, bob]

    # The other app subscribed to tenant-wide changes only, and sees its own open_ids.
    kind, other = apps[OTHER_APP].receiver.next()
    assert kind == "tenant" and other.header.app_id == OTHER_APP
    assert other.header.token == TOKENS[OTHER_APP]
    other_ids = [u.open_id for u in other.event.user_id_list.user_id_list]
    assert len(other_ids) == 2 and alice not in other_ids
    assert apps[OTHER_APP].receiver.quiet(0.5)


def test_removed_followers_and_added_collaborators(apps, roster):
    client = client_of(roster)
    made = create_task(client)
    carol = open_id(client, "carol")
    assert add_collaborators(client, made.id, [carol]).success()
    events = dict([apps[APP_ID].receiver.next(), apps[APP_ID].receiver.next()])
    assert events["updated"].event.obj_type == 2
    assert events["tenant"].event.object_type == "collaborator"
    apps[OTHER_APP].receiver.next()

    assert add_followers(client, made.id, [carol]).success()
    for receiver in (apps[APP_ID].receiver, apps[APP_ID].receiver, apps[OTHER_APP].receiver):
        receiver.next()
    removed = client.task.v1.task_follower.delete(
        task.DeleteTaskFollowerRequest.builder().task_id(made.id).follower_id(carol)
        .user_id_type("open_id").build())
    assert removed.success()
    events = dict([apps[APP_ID].receiver.next(), apps[APP_ID].receiver.next()])
    assert events["updated"].event.obj_type == 3
    assert (events["tenant"].event.event_type,
            [u.open_id for u in events["tenant"].event.user_id_list.user_id_list]) == ("delete", [carol])
    apps[OTHER_APP].receiver.next()


def test_refused_calls_send_nothing(apps, roster):
    client = client_of(roster)
    made = create_task(client)
    for receiver in (apps[APP_ID].receiver, apps[OTHER_APP].receiver):
        assert receiver.quiet(0.3)
    alice = open_id(client, "alice")
    assert add_followers(client, made.id, [alice]).success()
    for receiver in (apps[APP_ID].receiver, apps[APP_ID].receiver, apps[OTHER_APP].receiver):
        receiver.next()
    assert add_followers(client, made.id, [alice]).code == 1470430  # already a follower
    assert add_followers(client, made.id, ["ou_nobody"]).code != 0
    for receiver in (apps[APP_ID].receiver, apps[OTHER_APP].receiver):
        assert receiver.quiet(0.5)


def test_task_v2_member_changes_send_the_task_events(apps, roster):
    """Task v2 members are Task v1's edges: adding and removing them sends the same events."""
    client = client_of(roster)
    made = client.task.v2.task.create(
        task_v2.CreateTaskRequest.builder().request_body(
            task_v2.InputTask.builder().summary("Through v2").build()).build())
    assert made.success(), made.msg
    guid = made.data.task.guid
    carol, dave = open_id(client, "carol"), open_id(client, "dave")

    def member(id, role):
        return task_v2.Member.builder().id(id).type("user").role(role).build()

    added = client.task.v2.task.add_members(
        task_v2.AddMembersTaskRequest.builder().task_guid(guid).request_body(
            task_v2.AddMembersTaskRequestBody.builder()
            .members([member(carol, "assignee"), member(dave, "follower")]).build()).build())
    assert added.success(), added.msg
    events = [apps[APP_ID].receiver.next() for _ in range(4)]
    assert sorted(data.event.obj_type for kind, data in events if kind == "updated") == [2, 3]
    tenant = {data.event.object_type: data.event for kind, data in events if kind == "tenant"}
    assert {k: (e.task_id, e.event_type, [u.open_id for u in e.user_id_list.user_id_list])
            for k, e in tenant.items()} == {
        "collaborator": (guid, "create", [carol]), "follower": (guid, "create", [dave])}
    for _ in range(2):
        apps[OTHER_APP].receiver.next()

    removed = client.task.v2.task.remove_members(
        task_v2.RemoveMembersTaskRequest.builder().task_guid(guid).request_body(
            task_v2.RemoveMembersTaskRequestBody.builder().members([member(dave, "follower")]).build()
        ).build())
    assert removed.success(), removed.msg
    events = dict([apps[APP_ID].receiver.next(), apps[APP_ID].receiver.next()])
    assert events["updated"].event.obj_type == 3
    assert (events["tenant"].event.event_type, events["tenant"].event.object_type) == ("delete", "follower")
    apps[OTHER_APP].receiver.next()
    for receiver in (apps[APP_ID].receiver, apps[OTHER_APP].receiver):
        assert receiver.quiet(0.3)


def test_users_created_through_the_contact_api(apps, roster):
    client = client_of(roster)
    user = contact.User.builder().user_id("yara").name("Yara").email("yara@acme.example").build()
    created = client.contact.v3.user.create(
        contact.CreateUserRequest.builder().user_id_type("user_id").request_body(user).build())
    assert created.success(), created.msg
    kind, data = apps[APP_ID].receiver.next()
    assert (kind, data.header.event_type) == ("user", "contact.user.created_v3")
    made = data.event.object
    assert (made.user_id, made.open_id, made.union_id) == (
        "yara", created.data.user.open_id, created.data.user.union_id)
    assert (made.name, made.email) == ("Yara", "yara@acme.example")
    # The other app subscribed to task events only.
    assert apps[OTHER_APP].receiver.quiet(0.5)


def test_users_added_to_a_chat_reach_its_bots(apps, roster):
    client = client_of(roster)
    created = client.im.v1.chat.create(
        im.CreateChatRequest.builder().user_id_type("user_id").request_body(
            im.CreateChatRequestBody.builder().name("Launch").user_id_list(["alice"]).build()
        ).build())
    assert created.success(), created.msg
    chat_id = created.data.chat_id
    added = client.im.v1.chat_members.create(
        im.CreateChatMembersRequest.builder().chat_id(chat_id).member_id_type("user_id")
        .request_body(im.CreateChatMembersRequestBody.builder().id_list(["bob", "carol"]).build())
        .build())
    assert added.success(), added.msg
    kind, data = apps[APP_ID].receiver.next()
    assert (kind, data.header.event_type) == ("chat", "im.chat.member.user.added_v1")
    event = data.event
    assert (event.chat_id, event.name, event.external) == (chat_id, "Launch", False)
    assert [(u.name, u.user_id.user_id, u.user_id.open_id) for u in event.users] == [
        ("Bob", "bob", open_id(client, "bob")), ("Carol", "carol", open_id(client, "carol"))]
    # The other app's bot is not in the chat (and it subscribed to task events only).
    assert apps[OTHER_APP].receiver.quiet(0.5)


def test_users_removed_from_a_chat_reach_its_bots(apps, roster):
    client = client_of(roster)
    created = client.im.v1.chat.create(
        im.CreateChatRequest.builder().user_id_type("user_id").request_body(
            im.CreateChatRequestBody.builder().name("Retro").user_id_list(["alice", "bob"])
            .build()
        ).build())
    assert created.success(), created.msg
    chat_id = created.data.chat_id

    def delete(ids, id_type="user_id"):
        return client.im.v1.chat_members.delete(
            im.DeleteChatMembersRequest.builder().chat_id(chat_id).member_id_type(id_type)
            .request_body(im.DeleteChatMembersRequestBody.builder().id_list(ids).build())
            .build())

    removed = delete(["bob", "nobody"])
    assert removed.success(), removed.msg
    assert removed.data.invalid_id_list == ["nobody"]
    kind, data = apps[APP_ID].receiver.next()
    assert (kind, data.header.event_type) == ("left", "im.chat.member.user.deleted_v1")
    assert (data.event.chat_id, data.event.name) == (chat_id, "Retro")
    assert [(u.name, u.user_id.user_id) for u in data.event.users] == [("Bob", "bob")]

    # The bot owns the chat: it cannot be removed; nobody valid is refused; nothing is sent.
    owner = delete([APP_ID], "app_id")
    assert (owner.code, owner.msg) == (232076, "Can't kick chat owner.")
    again = delete(["bob"])
    assert again.code == 232027
    assert apps[APP_ID].receiver.quiet(0.5) and apps[OTHER_APP].receiver.quiet(0.1)


def test_deliveries_are_encrypted_for_an_app_with_a_key(roster):
    status, page = roster.admin("GET", "/deliveries?space=feishu/acme&limit=1000")
    assert status == 200
    events = [d for d in page["deliveries"] if d["event"] != "url_verification"]
    bodies = {d["url"]: json.loads(d["request"]) for d in events}
    assert all(d["status"] == 200 for d in events)
    encrypted = [b for b in bodies.values() if list(b) == ["encrypt"]]
    plain = [b for b in bodies.values() if b.get("schema") == "2.0"]
    assert len(encrypted) == 1 and len(plain) == 1


def test_a_request_url_set_at_run_time_answers_the_challenge_first(apps, roster):
    """PUT /_roster/callbacks: roster sends the url_verification challenge before it saves a
    request URL, as the developer console does; lark-oapi's dispatcher answers it, and the
    app's events go there from then on. A URL whose dispatcher expects another Verification
    Token fails the challenge: refused, and nothing changes."""
    moved = LarkApp(OTHER_APP, "")
    try:
        keys = {"app_id": OTHER_APP, "event_url": moved.receiver.url,
                "verification_token": TOKENS[OTHER_APP], "events": ["task.task.update_tenant_v1"]}
        status, answer = roster.admin("PUT", "/callbacks/feishu/acme", keys)
        assert status == 200, answer
        assert keys in answer["receivers"]
        path, query, headers, body = moved.receiver.requests[0]
        assert json.loads(body)["type"] == "url_verification"
        if PROCESSES > 1:
            time.sleep(1)  # the other processes hear of it within a second
        client = client_of(roster)
        made = create_task(client)
        assert add_followers(client, made.id, [open_id(client, "alice")]).success()
        kind, data = moved.receiver.next()
        assert (kind, data.header.app_id, data.event.task_id) == ("tenant", OTHER_APP, made.id)
        assert apps[OTHER_APP].receiver.quiet(0.5)

        status, answer = roster.admin(
            "PUT", "/callbacks/feishu/acme", dict(keys, verification_token="not-the-token"))
        assert status == 400, answer
        status, answer = roster.admin("GET", "/callbacks/feishu/acme")
        assert keys in answer["receivers"]
    finally:
        moved.receiver.stop()

