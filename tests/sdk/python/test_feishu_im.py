"""What Feishu bots call first: their own bot (bot/v3/info), the chats they are in, and
whether they are in one, driven through lark-oapi (seed feishu_apaas.toml)."""

import json

import lark_oapi as lark
import pytest
from lark_oapi.api.im.v1 import (
    CreateChatRequest,
    CreateChatRequestBody,
    IsInChatChatMembersRequest,
    ListChatRequest,
)

from test_feishu_apaas import ACME, GLOBEX, client

SEED = "feishu_apaas.toml"
SECOND_APP = ("cli_apaas0000000002", "acme-secret-2")


@pytest.fixture(scope="module")
def acme(roster):
    return client(roster)


@pytest.fixture(scope="module")
def chats(acme):
    """Three chats the first app's bot made, in creation order; u01 owns the second."""
    made = []
    for name, owner in [("First", None), ("Second", "u01"), ("Third", None)]:
        body = CreateChatRequestBody.builder().name(name).user_id_list(["u02"])
        if owner:
            body = body.owner_id(owner)
        response = acme.im.v1.chat.create(
            CreateChatRequest.builder().user_id_type("user_id").request_body(body.build()).build()
        )
        assert response.success(), response.msg
        made.append(response.data.chat_id)
    return made


def bot_info(client):
    request = lark.BaseRequest.builder().http_method(lark.HttpMethod.GET) \
        .uri("/open-apis/bot/v3/info").token_types({lark.AccessTokenType.TENANT}).build()
    response = client.request(request)
    return json.loads(response.raw.content)


def test_bot_info_names_the_apps_bot(roster, acme):
    answer = bot_info(acme)
    assert answer["code"] == 0 and answer["msg"] == "ok", answer
    bot = answer["bot"]
    assert bot["app_name"] == "Acme Assistant"
    assert bot["avatar_url"] == "https://avatars.acme.example/assistant.png"
    assert bot["activate_status"] == 2 and bot["ip_white_list"] == []
    assert bot["open_id"].startswith("ou_") and len(bot["open_id"]) == 35
    second = bot_info(client(roster, SECOND_APP))["bot"]
    assert second["app_name"] == SECOND_APP[0], "an app without a seeded name shows its app_id"
    assert second["open_id"] != bot["open_id"]


def listed(client, page_size, **options):
    """Every chat of the list as (chat_id, name, owner_id), page by page."""
    seen, token = [], None
    while True:
        request = ListChatRequest.builder().page_size(page_size)
        for name, value in options.items():
            request = getattr(request, name)(value)
        if token:
            request = request.page_token(token)
        response = client.im.v1.chat.list(request.build())
        assert response.success(), response.msg
        data = response.data
        assert len(data.items) <= page_size
        for item in data.items:
            assert item.tenant_key == "acme" and item.chat_status == "normal"
            assert item.external is False and item.description == ""
            seen.append((item.chat_id, item.name, item.owner_id))
        if not data.has_more:
            assert not data.page_token
            return seen
        token = data.page_token


def test_chat_list_pages_the_bots_chats(roster, acme, chats):
    oldest_first = listed(acme, page_size=2, user_id_type="user_id")
    assert [chat for chat, _, _ in oldest_first] == chats
    assert [(name, owner) for _, name, owner in oldest_first] == [
        ("First", None), ("Second", "u01"), ("Third", None)]
    newest_first = listed(acme, page_size=1, sort_type="ByActiveTimeDesc")
    assert [chat for chat, _, _ in newest_first] == chats[::-1]
    assert listed(client(roster, SECOND_APP), page_size=20) == [], "its bot is in none of them"


def test_chat_list_refuses_bad_paging(acme, chats):
    first = acme.im.v1.chat.list(ListChatRequest.builder().page_size(1).build())
    assert first.success() and first.data.has_more
    # A page token of one order is not one of the other.
    other_order = acme.im.v1.chat.list(ListChatRequest.builder().page_size(1)
                                       .sort_type("ByActiveTimeDesc")
                                       .page_token(first.data.page_token).build())
    assert other_order.code == 232001, other_order.msg
    for page_size in (0, 101):
        response = acme.im.v1.chat.list(ListChatRequest.builder().page_size(page_size).build())
        assert response.code == 99992402, response.msg
    bad_sort = acme.im.v1.chat.list(ListChatRequest.builder().sort_type("ByName").build())
    assert bad_sort.code == 232001, bad_sort.msg


def is_in_chat(client, chat_id):
    return client.im.v1.chat_members.is_in_chat(
        IsInChatChatMembersRequest.builder().chat_id(chat_id).build())


def test_is_in_chat(roster, acme, chats):
    answer = is_in_chat(acme, chats[0])
    assert answer.success(), answer.msg
    assert answer.data.is_in_chat is True
    answer = is_in_chat(client(roster, SECOND_APP), chats[0])
    assert answer.success() and answer.data.is_in_chat is False
    assert is_in_chat(client(roster, GLOBEX), chats[0]).code == 232010
    assert is_in_chat(acme, "oc_00000000000000000000000000000000").code == 232006
