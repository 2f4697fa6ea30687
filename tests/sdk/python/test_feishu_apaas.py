"""aPaaS user tasks and their group chats, driven through lark-oapi (seed feishu_apaas.toml)."""

import json

import lark_oapi as lark
import pytest
from lark_oapi.api.apaas.v1 import (
    CcUserTaskRequest,
    CcUserTaskRequestBody,
    ChatGroupUserTaskRequest,
    ChatGroupUserTaskRequestBody,
    QueryUserTaskRequest,
    QueryUserTaskRequestBody,
    RollbackPointsUserTaskRequest,
    RollbackPointsUserTaskRequestBody,
)
from lark_oapi.api.authen.v1 import (
    CreateOidcAccessTokenRequest,
    CreateOidcAccessTokenRequestBody,
)
from lark_oapi.api.im.v1 import (
    CreateChatRequest,
    CreateChatRequestBody,
    GetChatMembersRequest,
    GetChatRequest,
)

SEED = "feishu_apaas.toml"
ACME = ("cli_apaas0000000001", "acme-secret")
GLOBEX = ("cli_globex000000001", "globex-secret")


def client(roster, app=ACME):
    app_id, secret = app
    return lark.Client.builder().app_id(app_id).app_secret(secret).domain(roster.url).build()


@pytest.fixture(scope="module")
def acme(roster):
    return client(roster)


def kunlun(first, last):
    return [str(1000 + n) for n in range(first, last + 1)]


def query(acme, **fields):
    body = QueryUserTaskRequestBody.builder().kunlun_user_id(fields.pop("kunlun_user_id", "1001"))
    for name, value in fields.items():
        getattr(body, name)(value)
    request = QueryUserTaskRequest.builder().request_body(body.build()).build()
    return acme.apaas.v1.user_task.query(request)


def chat_group(client, task_id="7003", **fields):
    body = ChatGroupUserTaskRequestBody.builder()
    for name, value in fields.items():
        getattr(body, name)(value)
    request = ChatGroupUserTaskRequest.builder().task_id(task_id).request_body(body.build()).build()
    return client.apaas.v1.user_task.chat_group(request)


def member_user_ids(client, chat_id, page_size):
    """Every member of the chat as user_ids, page by page; checks the paging fields."""
    ids, page_token = [], None
    while True:
        request = GetChatMembersRequest.builder().chat_id(chat_id).member_id_type("user_id") \
            .page_size(page_size)
        if page_token:
            request = request.page_token(page_token)
        response = client.im.v1.chat_members.get(request.build())
        assert response.success(), response.msg
        data = response.data
        assert len(data.items) <= page_size
        assert all(item.member_id_type == "user_id" for item in data.items)
        ids += [item.member_id for item in data.items]
        if not data.has_more:
            return ids, data.member_total
        assert data.page_token
        page_token = data.page_token


def assert_invalid(response, field):
    assert response.code == 2320001, response.raw.content
    assert response.msg == "param is invalid"
    # The SDK keeps `error` as the JSON object it came as.
    assert response.error["field_violations"][0]["field"] == field
    assert response.get_log_id() == response.error["log_id"]


def test_query_returns_a_seeded_user_task(acme):
    response = query(acme)
    assert response.success(), response.msg
    assert response.data.count == "2"
    first, second = response.data.tasks
    assert (first.task_id, second.task_id) == ("7003", "7001")
    assert first.task_start_time == "1730300000000"
    assert first.workflow_instance.id == "9002"
    assert first.workflow_instance.status == "in_process"
    assert [(l.language_code, l.text) for l in first.workflow_instance.label] == [("2052", "Leave request")]
    assert (first.initiator.user_id, first.initiator.name) == ("1005", "User 05")
    assert first.summarys[0].file_key.text == "Days"
    assert first.summarys[0].file_value[0].text == "3"


def test_query_pages_by_string_offset_and_limit(acme):
    pages = [query(acme, limit="1", offset=str(offset)) for offset in range(3)]
    assert [p.data.count for p in pages] == ["2", "2", "2"]
    assert [[t.task_id for t in p.data.tasks or []] for p in pages] == [["7003"], ["7001"], []]
    pending = query(acme, type="pending")
    assert [t.task_id for t in pending.data.tasks] == ["7003"]
    assert_invalid(query(acme, limit="ten"), "limit")
    assert_invalid(query(acme, kunlun_user_id="999"), "kunlun_user_id")


def test_chat_group_creates_a_chat_of_the_operator_and_invitees(acme):
    response = chat_group(acme, operator_user_id="1001", invite_user_ids=kunlun(2, 21),
                          chat_name="Leave of u01")
    assert response.success(), response.msg
    chat_id = response.data.chat_id
    assert chat_id.startswith("oc_") and len(chat_id) == 35
    ids, total = member_user_ids(acme, chat_id, page_size=5)
    assert ids == [f"u{n:02d}" for n in range(1, 22)]
    assert total == 21
    chat = acme.im.v1.chat.get(GetChatRequest.builder().chat_id(chat_id).build())
    assert chat.data.name == "Leave of u01"
    assert (chat.data.user_count, chat.data.bot_count) == ("21", "1")
    assert chat.data.owner_id is None


def test_chat_group_joins_an_existing_chat_once(acme):
    created = acme.im.v1.chat.create(
        CreateChatRequest.builder().user_id_type("user_id").request_body(
            CreateChatRequestBody.builder().name("Existing").user_id_list(["u10"]).build()
        ).build()
    )
    assert created.success(), created.msg
    chat_id = created.data.chat_id
    for _ in range(2):
        joined = chat_group(acme, operator_user_id="1001", invite_user_ids=["1002"], chat_id=chat_id)
        assert joined.success(), joined.msg
        assert joined.data.chat_id == chat_id
        assert member_user_ids(acme, chat_id, page_size=2) == (["u10", "u01", "u02"], 3)


@pytest.fixture(scope="module")
def globex_chat(roster):
    response = chat_group(client(roster, GLOBEX), task_id="8001", operator_user_id="2001")
    assert response.success(), response.msg
    return response.data.chat_id


@pytest.fixture(scope="module")
def acme_chat(acme):
    response = chat_group(acme, operator_user_id="1011", invite_user_ids=["1012"])
    assert response.success(), response.msg
    return response.data.chat_id


CASES = [
    ("unknown task", "nope", {"operator_user_id": "1001"}, "task_id"),
    ("task of another tenant", "8001", {"operator_user_id": "1001"}, "task_id"),
    ("no operator", "7003", {"invite_user_ids": ["1002"]}, "operator_user_id"),
    ("unknown operator", "7003", {"operator_user_id": "999"}, "operator_user_id"),
    ("operator of another tenant", "7003", {"operator_user_id": "2001"}, "operator_user_id"),
    ("no invitees", "7003", {"operator_user_id": "1001", "invite_user_ids": []}, "invite_user_ids"),
    ("21 invitees", "7003", {"operator_user_id": "1001", "invite_user_ids": kunlun(2, 22)},
     "invite_user_ids"),
    ("unknown invitee", "7003", {"operator_user_id": "1001", "invite_user_ids": ["1002", "999"]},
     "invite_user_ids"),
    ("invitee of another tenant", "7003", {"operator_user_id": "1001", "invite_user_ids": ["2001"]},
     "invite_user_ids"),
    ("unknown chat", "7003", {"operator_user_id": "1001",
                              "chat_id": "oc_00000000000000000000000000000000"}, "chat_id"),
]


@pytest.mark.parametrize("case,task_id,fields,field", CASES, ids=[c[0] for c in CASES])
def test_chat_group_refuses_invalid_input(acme, acme_chat, case, task_id, fields, field):
    fields = dict(fields)
    if "chat_id" not in fields:
        fields["chat_id"] = acme_chat  # so any write would show in its members
    assert_invalid(chat_group(acme, task_id, **fields), field)
    assert member_user_ids(acme, acme_chat, page_size=20) == (["u11", "u12"], 2)


def test_chat_group_refuses_a_chat_of_another_tenant(roster, acme, globex_chat):
    response = chat_group(acme, operator_user_id="1001", chat_id=globex_chat)
    assert_invalid(response, "chat_id")
    assert member_user_ids(client(roster, GLOBEX), globex_chat, page_size=20) == (["g01"], 1)


def test_chat_group_refuses_user_tokens(roster, acme):
    status, body = roster.admin("POST", "/feishu/login_codes", {"app_id": ACME[0], "user_id": "u01"})
    assert status == 200
    exchanged = acme.authen.v1.oidc_access_token.create(
        CreateOidcAccessTokenRequest.builder().request_body(
            CreateOidcAccessTokenRequestBody.builder().grant_type("authorization_code")
            .code(body["code"]).build()
        ).build()
    )
    assert exchanged.success(), exchanged.msg
    request = lark.BaseRequest.builder().http_method(lark.HttpMethod.POST) \
        .uri("/open-apis/apaas/v1/user_tasks/7003/chat_group") \
        .token_types({lark.AccessTokenType.USER}) \
        .body({"operator_user_id": "1001"}).build()
    option = lark.RequestOption.builder().user_access_token(exchanged.data.access_token).build()
    as_user = lark.Client.builder().app_id(ACME[0]).app_secret(ACME[1]).domain(roster.url) \
        .enable_set_token(True).build()
    response = as_user.request(request, option)
    assert response.code == 99991668
    assert json.loads(response.raw.content)["msg"] == "user access token not support"


def test_cc_shows_the_task_to_the_cc_users(acme):
    cc = acme.apaas.v1.user_task.cc(
        CcUserTaskRequest.builder().task_id("7002").request_body(
            CcUserTaskRequestBody.builder().operator_user_id("1003").cc_user_ids(["1020"]).build()
        ).build()
    )
    assert cc.success(), cc.msg
    seen = query(acme, kunlun_user_id="1020", source="ccMe")
    assert [t.task_id for t in seen.data.tasks] == ["7002"]
    points = acme.apaas.v1.user_task.rollback_points(
        RollbackPointsUserTaskRequest.builder().task_id("7002").request_body(
            RollbackPointsUserTaskRequestBody.builder().operator_user_id("1003").build()
        ).build()
    )
    assert [(t.id, t.is_start) for t in points.data.tasks] == [("7001", True)]
    assert points.data.tasks[0].activity_label[0].text == "Manager approval"
