"""Task v2's own event, `task.task.update_user_access_v2`, received by lark-oapi's
`EventDispatcherHandler`: an identity subscribes its app through
`client.task.v2.task_v2.task_subscription` (a user token for the user's tasks, a tenant token
for the app's), and the app's request URL then hears, with the vendor's commit types, of each
task that identity created, is an assignee of or follows being created, deleted or given
other assignees or followers."""

import lark_oapi as lark
import lark_oapi.api.task.v2 as task_v2
import pytest

from callback_receiver import roster_with_callbacks
from test_feishu import (  # noqa: F401 (fresh_token_cache: the autouse fixture applies here too)
    APP_ID, client_of, fresh_token_cache, user_token,
)
from test_feishu_events import ENCRYPT_KEY, TOKENS, LarkApp
from test_feishu_task_v2 import add_members, create, member, remove_members


class AccessEvents:
    """The app's request URL, as lark-oapi's dispatcher decodes it (encrypted, signed)."""

    def __init__(self):
        self.app = LarkApp(APP_ID, ENCRYPT_KEY)

    def next(self):
        kind, data = self.app.receiver.next()
        assert (kind, data.header.event_type) == ("access", "task.task.update_user_access_v2")
        return data.event.task_guid, data.event.event_types

    def quiet(self, seconds):
        return self.app.receiver.quiet(seconds)


@pytest.fixture(scope="module")
def app():
    events = AccessEvents()
    yield events
    events.app.receiver.stop()


@pytest.fixture(scope="module")
def roster(app):
    server = roster_with_callbacks(
        "feishu.toml",
        'app_secret = "acme-secret-1"\n',
        f'event_url = "{app.app.receiver.url}"\n'
        f'verification_token = "{TOKENS[APP_ID]}"\n'
        f'encrypt_key = "{ENCRYPT_KEY}"\n'
        'events = ["task.task.update_user_access_v2"]\n',
    )
    yield server
    server.stop()


def subscribe(client, option=None):
    request = task_v2.TaskSubscriptionTaskV2Request.builder().user_id_type("user_id").build()
    response = client.task.v2.task_v2.task_subscription(request, option or lark.RequestOption())
    assert response.success(), (response.code, response.msg)


def ok(response):
    assert response.success(), (response.code, response.msg)
    return response.data.task


def test_a_subscribed_user_hears_of_the_tasks_it_is_on(app, roster):
    client = client_of(roster)
    alice = lark.RequestOption.builder().user_access_token(user_token(roster, client, "alice")).build()
    before = ok(create(client, "Before", [member("alice", "follower")]))
    assert app.quiet(0.5)

    as_alice = client_of(roster, set_token=True)
    subscribe(as_alice, alice)
    subscribe(as_alice, alice)  # again: nothing changes
    ok(add_members(client, before.guid, [member("carol", "assignee")]))
    assert app.next() == (before.guid, ["task_assignees_update"])
    ok(remove_members(client, before.guid, [member("alice", "follower")]))
    assert app.next() == (before.guid, ["task_followers_update"])
    # alice is on it no more
    ok(add_members(client, before.guid, [member("dave", "follower")]))
    assert app.quiet(0.5)

    made = ok(create(client, "Made", [member("alice", "assignee"), member("bob", "follower")]))
    assert app.next() == (made.guid, ["task_create"])
    ok(create(client, "Not hers", [member("bob", "follower")]))
    assert app.quiet(0.5)

    deleted = client.task.v2.task.delete(
        task_v2.DeleteTaskRequest.builder().task_guid(made.guid).build())
    assert deleted.success(), deleted.msg
    assert app.next() == (made.guid, ["task_deleted"])
    assert app.quiet(0.5)


def test_an_app_subscribed_with_its_tenant_token_hears_of_its_own_tasks(app, roster):
    client = client_of(roster)
    subscribe(client)
    made = ok(create(client, "The app's"))
    assert app.next() == (made.guid, ["task_create"])
    assert app.quiet(0.5)
