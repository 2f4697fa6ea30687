"""Feishu through the official Python SDK (lark-oapi), as a user would call it: tokens,
directory, Task v1 with its followers and collaborators, and their error paths."""

import base64
import hashlib
import json

import lark_oapi as lark
import lark_oapi.api.auth.v3 as auth
import lark_oapi.api.authen.v1 as authen
import lark_oapi.api.contact.v3 as contact
import lark_oapi.api.task.v1 as task
import pytest
from lark_oapi.core.exception import AccessTokenException, ObtainAccessTokenException
from lark_oapi.core.token.manager import TokenManager

SEED = "feishu.toml"
APP_ID, APP_SECRET = "cli_acme_tasks", "acme-secret-1"
ORIGIN = task.Origin.builder().platform_i18n_name('{"en_us": "SDK tests"}').build()


@pytest.fixture(autouse=True)
def fresh_token_cache():
    """The SDK caches tenant tokens process-wide by app_id; start each test without them."""
    TokenManager.cache.cache.clear()


def client_of(roster, app_id=APP_ID, app_secret=APP_SECRET, set_token=False):
    return (
        lark.Client.builder().app_id(app_id).app_secret(app_secret)
        .domain(roster.url).enable_set_token(set_token).build()
    )


@pytest.fixture
def client(roster):
    return client_of(roster)


@pytest.fixture
def token_client(roster):
    """A client that sends the token each call passes (user tokens, chosen tenant tokens)."""
    return client_of(roster, set_token=True)


def user_token(roster, client, user_id):
    """Log `user_id` in without a browser: a login code from roster, exchanged by the SDK."""
    status, body = roster.admin("POST", "/feishu/login_codes", {"app_id": APP_ID, "user_id": user_id})
    assert status == 200
    request = authen.CreateOidcAccessTokenRequest.builder().request_body(
        authen.CreateOidcAccessTokenRequestBody.builder()
        .grant_type("authorization_code").code(body["code"]).build()
    ).build()
    response = client.authen.v1.oidc_access_token.create(request)
    assert response.success(), response.msg
    assert response.data.token_type == "Bearer"
    return response.data.access_token


def as_user(token):
    return lark.RequestOption.builder().user_access_token(token).build()


def open_id(client, user_id):
    request = contact.GetUserRequest.builder().user_id(user_id).user_id_type("user_id").build()
    return client.contact.v3.user.get(request).data.user.open_id


def create_task(client, summary="Prepare the report", option=None, **fields):
    builder = task.Task.builder().summary(summary).origin(ORIGIN)
    for name, value in fields.items():
        getattr(builder, name)(value)
    request = task.CreateTaskRequest.builder().user_id_type("open_id").request_body(builder.build()).build()
    response = client.task.v1.task.create(request, option)
    assert response.success(), (response.code, response.msg)
    return response.data.task


def add_followers(client, task_id, ids, user_id_type="open_id", option=None):
    request = (
        task.CreateTaskFollowerRequest.builder().task_id(task_id).user_id_type(user_id_type)
        .request_body(task.Follower.builder().id_list(ids).build()).build()
    )
    return client.task.v1.task_follower.create(request, option or lark.RequestOption())


def add_collaborators(client, task_id, ids, user_id_type="open_id", option=None):
    request = (
        task.CreateTaskCollaboratorRequest.builder().task_id(task_id).user_id_type(user_id_type)
        .request_body(task.Collaborator.builder().id_list(ids).build()).build()
    )
    return client.task.v1.task_collaborator.create(request, option or lark.RequestOption())


def pages(list_page):
    """Every page of a list, following page tokens; `list_page(token)` returns a response."""
    token, result = None, []
    while True:
        response = list_page(token)
        assert response.success(), (response.code, response.msg)
        result.append(response.data)
        if not response.data.has_more:
            return result
        token = response.data.page_token
        assert token


def follower_pages(client, task_id, page_size=1):
    def page(token):
        builder = (
            task.ListTaskFollowerRequest.builder().task_id(task_id)
            .page_size(page_size).user_id_type("user_id")
        )
        if token:
            builder.page_token(token)
        return client.task.v1.task_follower.list(builder.build())

    return [[item.id for item in data.items] for data in pages(page)]


def test_tenant_token_fetch(roster, client):
    request = auth.InternalTenantAccessTokenRequest.builder().request_body(
        auth.InternalTenantAccessTokenRequestBody.builder().app_id(APP_ID).app_secret(APP_SECRET).build()
    ).build()
    response = client.auth.v3.tenant_access_token.internal(request)
    assert response.success()
    body = json.loads(response.raw.content)
    assert body["msg"] == "ok"
    assert body["tenant_access_token"].startswith("t-")
    assert 1800 <= body["expire"] <= 7200
    assert response.get_log_id()


def test_wrong_secret_raises_the_sdk_exception(roster):
    wrong = client_of(roster, app_secret="not-the-secret")
    with pytest.raises(ObtainAccessTokenException) as raised:
        wrong.task.v1.task.list(task.ListTaskRequest.builder().build())
    assert raised.value.code == 10014
    assert raised.value.msg == "app secret invalid"


def test_directory_users_by_every_id_type(roster, client):
    user = contact.User.builder().user_id("zoe").name("Zoe").email("zoe@acme.example").build()
    created = client.contact.v3.user.create(
        contact.CreateUserRequest.builder().user_id_type("user_id").request_body(user).build()
    )
    assert created.success(), created.msg
    made = created.data.user
    assert made.open_id.startswith("ou_") and made.union_id.startswith("on_")
    for id_type, value in [("open_id", made.open_id), ("union_id", made.union_id), ("user_id", "zoe")]:
        request = contact.GetUserRequest.builder().user_id(value).user_id_type(id_type).build()
        got = client.contact.v3.user.get(request)
        assert got.success(), (id_type, got.msg)
        assert (got.data.user.user_id, got.data.user.name) == ("zoe", "Zoe")
    unknown = client.contact.v3.user.get(contact.GetUserRequest.builder().user_id("ou_nobody").build())
    assert unknown.code == 99992351


def test_task_lifecycle(roster, client):
    due = task.Due.builder().time(1735689600).timezone("Asia/Shanghai").is_all_day(False).build()
    made = create_task(client, description="Quarterly", due=due, extra="dGVzdA==")
    assert len(made.id) == 36 and made.source == 6
    assert made.complete_time == "0" and made.due.time == "1735689600"
    assert made.creator_id.startswith("ou_")

    get = lambda: client.task.v1.task.get(task.GetTaskRequest.builder().task_id(made.id).build())
    assert get().data.task.summary == "Prepare the report"
    patch = (
        task.PatchTaskRequest.builder().task_id(made.id).request_body(
            task.PatchTaskRequestBody.builder()
            .task(task.Task.builder().summary("Renamed").build()).update_fields(["summary"]).build()
        ).build()
    )
    patched = client.task.v1.task.patch(patch)
    assert patched.success() and patched.data.task.summary == "Renamed"
    assert patched.data.task.description == "Quarterly"

    assert client.task.v1.task.complete(task.CompleteTaskRequest.builder().task_id(made.id).build()).success()
    assert get().data.task.complete_time != "0"
    completed = client.task.v1.task.list(task.ListTaskRequest.builder().task_completed(True).build())
    assert made.id in [t.id for t in completed.data.items]
    uncomplete = task.UncompleteTaskRequest.builder().task_id(made.id).build()
    assert client.task.v1.task.uncomplete(uncomplete).success()
    assert get().data.task.complete_time == "0"
    still_open = client.task.v1.task.list(task.ListTaskRequest.builder().task_completed(False).build())
    assert made.id in [t.id for t in still_open.data.items]

    assert client.task.v1.task.delete(task.DeleteTaskRequest.builder().task_id(made.id).build()).success()
    gone = get()
    assert (gone.code, gone.msg) == (1470602, "task not found")
    again = client.task.v1.task.delete(task.DeleteTaskRequest.builder().task_id(made.id).build())
    assert again.code == 1470433


def test_followers_added_with_id_list_and_listed_across_pages(roster, client):
    made = create_task(client)
    alice, bob = open_id(client, "alice"), open_id(client, "bob")
    added = add_followers(client, made.id, [alice, bob])
    assert added.success(), (added.code, added.msg)
    assert added.data.follower.id_list == [alice, bob]
    assert follower_pages(client, made.id) == [["alice"], ["bob"]]
    assert [f.id for f in client.task.v1.task.get(
        task.GetTaskRequest.builder().task_id(made.id).build()).data.task.followers] == [alice, bob]

    remove_bob = lambda: client.task.v1.task_follower.delete(
        task.DeleteTaskFollowerRequest.builder().task_id(made.id).follower_id("bob").user_id_type("user_id").build()
    )
    assert remove_bob().success()
    missing = remove_bob()
    assert (missing.code, missing.raw.status_code) == (1470710, 404)
    batch = (
        task.BatchDeleteFollowerTaskRequest.builder().task_id(made.id).user_id_type("open_id")
        .request_body(task.Follower.builder().id_list([alice, bob]).build()).build()
    )
    removed = client.task.v1.task.batch_delete_follower(batch)
    assert removed.success() and removed.data.followers == [alice]
    assert follower_pages(client, made.id) == [[]]


def test_collaborators_added_listed_and_removed(roster, client):
    made = create_task(client)
    ids = [open_id(client, u) for u in ("alice", "bob", "carol")]
    assert add_collaborators(client, made.id, ids).success()
    already = add_collaborators(client, made.id, ids[:2])
    assert (already.code, already.msg) == (1470431, "Users are all collaborators of tasks.")

    def page(token):
        builder = task.ListTaskCollaboratorRequest.builder().task_id(made.id).page_size(2)
        if token:
            builder.page_token(token)
        return client.task.v1.task_collaborator.list(builder.build())

    assert [[c.id for c in data.items] for data in pages(page)] == [ids[:2], ids[2:]]
    remove = task.DeleteTaskCollaboratorRequest.builder().task_id(made.id).collaborator_id(ids[0]).build()
    assert client.task.v1.task_collaborator.delete(remove).success()
    assert client.task.v1.task_collaborator.delete(remove).code == 1470700
    batch = (
        task.BatchDeleteCollaboratorTaskRequest.builder().task_id(made.id)
        .request_body(task.Collaborator.builder().id_list(ids).build()).build()
    )
    removed = client.task.v1.task.batch_delete_collaborator(batch)
    assert removed.success() and removed.data.collaborators == ids[1:]


def test_follower_error_codes(roster, client, token_client):
    made = create_task(client)
    alice, bob, carol, dave = (open_id(client, u) for u in ("alice", "bob", "carol", "dave"))
    assert add_followers(client, made.id, [alice, bob]).success()

    existed = add_followers(client, made.id, [bob, alice])
    assert (existed.code, existed.msg) == (1470430, "followers existed in task")
    empty = add_followers(client, made.id, [carol, ""])
    assert (empty.code, empty.msg) == (1470412, "invalid follower id")
    over_cap = add_followers(client, made.id, [carol, dave])
    assert (over_cap.code, over_cap.msg) == (1470428, "total follower exceeds limit")
    unknown_task = add_followers(client, "00000000-0000-4000-8000-000000000000", [carol])
    assert (unknown_task.code, unknown_task.msg) == (1470602, "Invalid task id.")
    # Nothing of the refused requests was written.
    assert follower_pages(client, made.id, page_size=50) == [["alice", "bob"]]

    app_token = json.loads(client.auth.v3.app_access_token.internal(
        auth.InternalAppAccessTokenRequest.builder().request_body(
            auth.InternalAppAccessTokenRequestBody.builder().app_id(APP_ID).app_secret(APP_SECRET).build()
        ).build()
    ).raw.content)["app_access_token"]
    wrong_kind = add_followers(
        token_client, made.id, [carol],
        option=lark.RequestOption.builder().tenant_access_token(app_token).build(),
    )
    assert wrong_kind.code == 1470403
    assert wrong_kind.raw.status_code == 403
    assert wrong_kind.msg.startswith("The identity token is incorrect.")


def test_bad_page_token(roster, client):
    made = create_task(client)
    request = task.ListTaskFollowerRequest.builder().task_id(made.id).page_token("not-a-token").build()
    response = client.task.v1.task_follower.list(request)
    assert (response.code, response.msg) == (1470422, "failed to parse page_token")


def test_expired_tenant_token(roster, client, token_client):
    token = json.loads(client.auth.v3.tenant_access_token.internal(
        auth.InternalTenantAccessTokenRequest.builder().request_body(
            auth.InternalTenantAccessTokenRequestBody.builder().app_id(APP_ID).app_secret(APP_SECRET).build()
        ).build()
    ).raw.content)["tenant_access_token"]
    option = lark.RequestOption.builder().tenant_access_token(token).build()
    request = task.ListTaskRequest.builder().build()
    assert token_client.task.v1.task.list(request, option).success()
    roster.advance_clock(7200)
    try:
        expired = token_client.task.v1.task.list(request, option)
        assert expired.code == 99991663
        # A fresh token works again.
        assert client.task.v1.task.list(request).success()
    finally:
        roster.advance_clock(0)


def test_user_tokens(roster, client, token_client):
    alice, dave, carol = (user_token(roster, client, u) for u in ("alice", "dave", "carol"))
    mine = create_task(token_client, "Alice's", option=as_user(alice))
    assert mine.source == 7 and mine.creator_id == open_id(client, "alice")
    assert add_followers(token_client, mine.id, ["dave"], "user_id", option=as_user(alice)).success()
    # A user token lists the tasks related to its user.
    listed = token_client.task.v1.task.list(task.ListTaskRequest.builder().build(), as_user(dave))
    assert [t.id for t in listed.data.items] == [mine.id]

    # A follower may not add collaborators; a stranger may not even see the task.
    refused = add_collaborators(token_client, mine.id, ["carol"], "user_id", option=as_user(dave))
    assert refused.code == 1470404
    hidden = token_client.task.v1.task.get(task.GetTaskRequest.builder().task_id(mine.id).build(), as_user(carol))
    assert (hidden.code, hidden.msg) == (1470432, "have no permission to get task")
    # The app did not create it either.
    assert client.task.v1.task.get(task.GetTaskRequest.builder().task_id(mine.id).build()).code == 1470432


def fields_of(response):
    """The raw JSON `data` of an SDK response."""
    return json.loads(response.raw.content)["data"]


def assert_typed(answer, model, skip=()):
    """Every field the SDK's model declares is in the answer, with the model's type."""
    for field, kind in model._types.items():
        if field in skip:
            continue
        assert field in answer, f"{model.__name__}.{field} is missing"
        # A nested model is a JSON object; `List[...]` a list; bool is not an int here.
        expected = dict if hasattr(kind, "_types") else getattr(kind, "__origin__", kind)
        value = answer[field]
        assert isinstance(value, expected) and not (expected is int and isinstance(value, bool)), (
            field, value)


def test_user_objects_are_complete(roster, client, token_client):
    alice = user_token(roster, client, "alice")
    info = token_client.authen.v1.user_info.get(authen.GetUserInfoRequest.builder().build(), as_user(alice))
    assert info.success(), info.msg
    assert_typed(fields_of(info), authen.GetUserInfoResponseBody)
    assert (info.data.en_name, info.data.enterprise_email, info.data.employee_no) == (
        "Alice Liddell", "alice@corp.acme.example", "E-0001")
    avatar = "https://avatars.acme.example/alice.png"
    assert {info.data.avatar_url, info.data.avatar_thumb, info.data.avatar_middle,
            info.data.avatar_big} == {avatar}
    assert info.data.tenant_key == "acme"

    # contact v3: every field the user get and batch document (the request-only ones aside).
    request_only = {"avatar_key", "positions", "idp_type", "time_zone", "description",
                    "need_send_notification", "notification_option", "is_frozen",
                    "subscription_ids"}
    got = client.contact.v3.user.get(
        contact.GetUserRequest.builder().user_id("alice").user_id_type("user_id").build())
    user = fields_of(got)["user"]
    assert_typed(user, contact.User, skip=request_only)
    assert_typed(user["avatar"], contact.AvatarInfo)
    assert_typed(user["status"], contact.UserStatus)
    assert (user["en_name"], user["employee_no"], user["avatar"]["avatar_240"]) == (
        "Alice Liddell", "E-0001", avatar)
    batch = client.contact.v3.user.batch(
        contact.BatchUserRequest.builder().user_ids(["alice", "bob"]).user_id_type("user_id").build())
    assert batch.success(), batch.msg
    bob = fields_of(batch)["items"][1]
    assert_typed(bob, contact.User, skip=request_only)
    assert (bob["en_name"], bob["avatar"]["avatar_72"], bob["employee_no"]) == ("", "", "")


def login_code(roster, user_id, **started):
    status, body = roster.admin(
        "POST", "/feishu/login_codes", {"app_id": APP_ID, "user_id": user_id, **started})
    assert status == 200, body
    return body["code"]


def test_legacy_v1_login_carries_the_user(roster, client):
    request = authen.CreateAccessTokenRequest.builder().request_body(
        authen.CreateAccessTokenRequestBody.builder()
        .grant_type("authorization_code").code(login_code(roster, "alice")).build()
    ).build()
    response = client.authen.v1.access_token.create(request)
    assert response.success(), response.msg
    assert_typed(fields_of(response), authen.CreateAccessTokenResponseBody)
    assert (response.data.user_id, response.data.en_name, response.data.token_type) == (
        "alice", "Alice Liddell", "Bearer")
    refresh = authen.CreateRefreshAccessTokenRequest.builder().request_body(
        authen.CreateRefreshAccessTokenRequestBody.builder()
        .grant_type("refresh_token").refresh_token(response.data.refresh_token).build()
    ).build()
    refreshed = client.authen.v1.refresh_access_token.create(refresh)
    assert refreshed.success(), refreshed.msg
    assert_typed(fields_of(refreshed), authen.CreateRefreshAccessTokenResponseBody)
    assert refreshed.data.refresh_token != response.data.refresh_token
    again = client.authen.v1.refresh_access_token.create(refresh)
    assert again.code == 20026


def test_oauth_v3_with_pkce(roster):
    oauth = (
        lark.Client.builder().app_id(APP_ID).app_secret(APP_SECRET)
        .domain(roster.url).oauth_base_url(roster.url).build()
    )
    verifier = "roster-pkce-verifier-" + "x" * 30
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code = login_code(roster, "bob", code_challenge=challenge, code_challenge_method="S256",
                      redirect_uri="https://app.acme.example/callback")
    with pytest.raises(AccessTokenException) as refused:
        oauth.access_token.retrieve_by_authorization_code(
            code, redirect_uri="https://app.acme.example/callback", code_verifier="y" * 43)
    assert (refused.value.code, refused.value.error) == (20049, "invalid_grant")
    with pytest.raises(AccessTokenException) as refused:
        oauth.access_token.retrieve_by_authorization_code(
            code, redirect_uri="https://elsewhere.example/", code_verifier=verifier)
    assert refused.value.code == 20071
    # The refusals left the code to its rightful redemption.
    token = oauth.access_token.retrieve_by_authorization_code(
        code, redirect_uri="https://app.acme.example/callback", code_verifier=verifier)
    assert token.token_type == "Bearer" and token.expires_in > 0
    info = client_of(roster, set_token=True).authen.v1.user_info.get(
        authen.GetUserInfoRequest.builder().build(), as_user(token.access_token))
    assert info.data.user_id == "bob"
    refreshed = oauth.access_token.refresh(token.refresh_token)
    assert refreshed.access_token and refreshed.refresh_token != token.refresh_token
    with pytest.raises(AccessTokenException) as reused:
        oauth.access_token.refresh(token.refresh_token)
    assert reused.value.code == 20026
    wrong = (
        lark.Client.builder().app_id(APP_ID).app_secret("not-it")
        .domain(roster.url).oauth_base_url(roster.url).build()
    )
    with pytest.raises(AccessTokenException) as bad_secret:
        wrong.access_token.refresh(refreshed.refresh_token)
    assert (bad_secret.value.status_code, bad_secret.value.code, bad_secret.value.error) == (
        400, 20002, "invalid_client")


def test_tenant_isolation(roster, client):
    made = create_task(client)
    globex = client_of(roster, "cli_globex_tasks", "globex-secret-1")
    foreign = globex.task.v1.task.get(task.GetTaskRequest.builder().task_id(made.id).build())
    assert foreign.code == 1470602
    listed = globex.task.v1.task.list(task.ListTaskRequest.builder().build())
    assert listed.success() and not listed.data.items


def test_followers_survive_a_restart(roster, client):
    made = create_task(client)
    assert add_followers(client, made.id, ["alice", "bob"], "user_id").success()
    roster.restart()
    # The restarted server listens on a new port; its data, and the tokens it issued, remain.
    assert follower_pages(client_of(roster), made.id) == [["alice"], ["bob"]]
