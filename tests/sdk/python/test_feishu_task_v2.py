"""Feishu Task v2 through lark-oapi's `client.task.v2`: tasks with members (users and apps,
assignees and followers), client_token idempotency, paging, the error codes roster can
produce, and one task seen through both APIs (v1 followers are v2 followers, v1
collaborators v2 assignees)."""

import json

import lark_oapi as lark
import lark_oapi.api.task.v1 as task_v1
import lark_oapi.api.task.v2 as task_v2

from test_feishu import (
    APP_ID, add_followers, as_user, client, create_task, follower_pages, fresh_token_cache,
    open_id, token_client, user_token,
)

SEED = "feishu.toml"


def member(id, role, type="user"):
    return task_v2.Member.builder().id(id).type(type).role(role).build()


def create(client, summary="Ship v2", members=(), option=None, user_id_type="user_id", **fields):
    builder = task_v2.InputTask.builder().summary(summary).members(list(members))
    for name, value in fields.items():
        getattr(builder, name)(value)
    request = (
        task_v2.CreateTaskRequest.builder().user_id_type(user_id_type)
        .request_body(builder.build()).build()
    )
    return client.task.v2.task.create(request, option or lark.RequestOption())


def get(client, guid, option=None, user_id_type="user_id"):
    request = task_v2.GetTaskRequest.builder().task_guid(guid).user_id_type(user_id_type).build()
    return client.task.v2.task.get(request, option or lark.RequestOption())


def add_members(client, guid, members, client_token=None, option=None):
    body = task_v2.AddMembersTaskRequestBody.builder().members(list(members))
    if client_token:
        body.client_token(client_token)
    request = (
        task_v2.AddMembersTaskRequest.builder().task_guid(guid).user_id_type("user_id")
        .request_body(body.build()).build()
    )
    return client.task.v2.task.add_members(request, option or lark.RequestOption())


def remove_members(client, guid, members, option=None):
    request = (
        task_v2.RemoveMembersTaskRequest.builder().task_guid(guid).user_id_type("user_id")
        .request_body(task_v2.RemoveMembersTaskRequestBody.builder().members(list(members)).build())
        .build()
    )
    return client.task.v2.task.remove_members(request, option or lark.RequestOption())


def members_of(task):
    return sorted((m.role, m.type, m.id) for m in task.members or [])


def ok(response):
    assert response.success(), (response.code, response.msg)
    return response.data


def test_create_with_members_then_get(roster, client):
    made = ok(create(client, members=[member("alice", "assignee"), member("bob", "follower")],
                     description="the notes", extra="anything"))
    task = made.task
    assert len(task.guid) == 36 and task.task_id.startswith("t")
    assert task.summary == "Ship v2" and task.description == "the notes"
    assert task.status == "todo" and task.completed_at == "0" and task.source == 6
    assert (task.creator.type, task.creator.id) == ("app", APP_ID)
    assert members_of(task) == [("assignee", "user", "alice"), ("follower", "user", "bob")]
    assert int(task.created_at) > 10**12  # milliseconds
    fetched = ok(get(client, task.guid)).task
    assert members_of(fetched) == members_of(task)
    by_open_id = ok(get(client, task.guid, user_id_type="open_id")).task
    assert [m.id for m in by_open_id.members] == [open_id(client, "alice"), open_id(client, "bob")]


def test_members_added_and_removed_with_roles(roster, client):
    guid = ok(create(client)).task.guid
    added = ok(add_members(client, guid, [
        member("alice", "assignee"), member("carol", "assignee"), member("alice", "follower"),
        member(APP_ID, "follower", type="app"),
    ])).task
    assert members_of(added) == [
        ("assignee", "user", "alice"), ("assignee", "user", "carol"),
        ("follower", "app", APP_ID), ("follower", "user", "alice"),
    ]
    # Adding members already there changes nothing and is no error.
    assert members_of(ok(add_members(client, guid, [member("alice", "assignee")])).task) == \
        members_of(added)
    removed = ok(remove_members(client, guid, [
        member("alice", "assignee"), member(APP_ID, "follower", type="app"),
        member("dave", "follower"),  # not a follower: ignored
    ])).task
    assert members_of(removed) == [("assignee", "user", "carol"), ("follower", "user", "alice")]


def test_one_task_two_apis(roster, client):
    # A follower added through v1 is a v2 follower; removed through v2, it is gone from v1.
    v1_task = create_task(client)
    assert add_followers(client, v1_task.id, ["bob"], "user_id").success()
    seen = ok(get(client, v1_task.id)).task
    assert seen.guid == v1_task.id and seen.summary == v1_task.summary
    assert members_of(seen) == [("follower", "user", "bob")]
    ok(remove_members(client, v1_task.id, [member("bob", "follower")]))
    assert follower_pages(client, v1_task.id, page_size=50) == [[]]

    # A v2 assignee is a v1 collaborator, and a v2 task is a v1 task.
    guid = ok(create(client, members=[member("carol", "assignee")],
                     due=task_v2.Due.builder().timestamp("1700000000000").build())).task.guid
    v1_view = client.task.v1.task.get(
        task_v1.GetTaskRequest.builder().task_id(guid).user_id_type("user_id").build())
    assert v1_view.success(), v1_view.msg
    assert [c.id for c in v1_view.data.task.collaborators] == ["carol"]
    assert v1_view.data.task.due.time == "1700000000"
    collaborators = client.task.v1.task_collaborator.list(
        task_v1.ListTaskCollaboratorRequest.builder().task_id(guid).user_id_type("user_id").build())
    assert [c.id for c in collaborators.data.items] == ["carol"]


def test_client_token_makes_create_and_add_members_idempotent(roster, client):
    first = ok(create(client, client_token="ticket-4711-create")).task
    again = ok(create(client, client_token="ticket-4711-create")).task
    assert again.guid == first.guid
    other = ok(create(client, client_token="ticket-4712-create")).task
    assert other.guid != first.guid

    ok(add_members(client, first.guid, [member("alice", "follower")], client_token="add-alice-0001"))
    ok(remove_members(client, first.guid, [member("alice", "follower")]))
    # A repeat within five minutes answers the task and adds nothing again.
    repeat = ok(add_members(client, first.guid, [member("alice", "follower")],
                            client_token="add-alice-0001")).task
    assert members_of(repeat) == []
    roster.advance_clock(301)
    try:
        expired = ok(add_members(client, first.guid, [member("alice", "follower")],
                                 client_token="add-alice-0001")).task
        assert members_of(expired) == [("follower", "user", "alice")]
    finally:
        roster.advance_clock(0)

    short = create(client, client_token="short")
    assert (short.code, short.raw.status_code) == (1470400, 400)


def test_error_codes(roster, client, token_client):
    guid = ok(create(client)).task.guid
    bad_role = add_members(client, guid, [member("alice", "owner")])
    assert (bad_role.code, bad_role.raw.status_code, bad_role.msg) == (
        1470400, 400,
        "Invalid Param 'members', role is invalid. Only 'assignee', 'follower' are supported.",
    )
    # The seed caps followers at 3 per task (task_followers), one limit for both APIs.
    ok(add_members(client, guid, [member(u, "follower") for u in ("alice", "bob", "carol")]))
    full = add_members(client, guid, [member("dave", "follower")])
    assert (full.code, full.raw.status_code) == (1470611, 400)
    assert members_of(ok(get(client, guid)).task) == [
        ("follower", "user", u) for u in ("alice", "bob", "carol")]
    unknown_user = add_members(client, guid, [member("nobody", "assignee")])
    assert unknown_user.code == 99992360
    missing = get(client, "00000000-0000-4000-8000-000000000000")
    assert (missing.code, missing.raw.status_code) == (1470404, 404)
    empty = create(client, summary="")
    assert (empty.code, empty.msg) == (1470400, "Invalid Param 'summary', must not be empty.")

    # A user sees only tasks they created or are a member of; followers read, assignees edit.
    carol, dave = user_token(roster, client, "carol"), user_token(roster, client, "dave")
    assert ok(get(token_client, guid, as_user(carol))).task.guid == guid
    hidden = get(token_client, guid, as_user(dave))
    assert (hidden.code, hidden.raw.status_code) == (1470403, 403)
    follower_edit = add_members(token_client, guid, [member("dave", "assignee")], option=as_user(carol))
    assert follower_edit.code == 1470403


def patch(client, guid, update_fields, option=None, **fields):
    builder = task_v2.InputTask.builder()
    for name, value in fields.items():
        getattr(builder, name)(value)
    request = (
        task_v2.PatchTaskRequest.builder().task_guid(guid).user_id_type("user_id")
        .request_body(task_v2.PatchTaskRequestBody.builder().task(builder.build())
                      .update_fields(update_fields).build()).build()
    )
    return client.task.v2.task.patch(request, option or lark.RequestOption())


def test_patch_complete_and_delete(roster, client):
    guid = ok(create(client, description="keep me")).task.guid
    renamed = ok(patch(client, guid, ["summary"], summary="Renamed", description="ignored")).task
    assert (renamed.summary, renamed.description) == ("Renamed", "keep me")
    cleared = patch(client, guid, ["summary"])
    assert (cleared.code, cleared.msg) == (1470400, "Invalid Param 'summary', must not be empty.")
    done = ok(patch(client, guid, ["completed_at"], completed_at=1700000000000)).task
    assert (done.status, done.completed_at) == ("done", "1700000000000")
    again = patch(client, guid, ["completed_at"], completed_at=1700000001000)
    assert (again.code, again.msg) == (1470400, "cannot set non-zero completed_at for a completed task")
    reopened = ok(patch(client, guid, ["completed_at"], completed_at=0)).task
    assert reopened.status == "todo"

    deleted = client.task.v2.task.delete(task_v2.DeleteTaskRequest.builder().task_guid(guid).build())
    assert deleted.success(), deleted.msg
    assert get(client, guid).code == 1470404
    again = client.task.v2.task.delete(task_v2.DeleteTaskRequest.builder().task_guid(guid).build())
    assert again.code == 1470404
    v1_view = client.task.v1.task.get(task_v1.GetTaskRequest.builder().task_id(guid).build())
    assert v1_view.code == 1470602


def list_pages(client, option, page_size, completed=None):
    token, guids = None, []
    while True:
        builder = task_v2.ListTaskRequest.builder().page_size(page_size).user_id_type("user_id")
        if completed is not None:
            builder.completed(completed)
        if token:
            builder.page_token(token)
        data = ok(client.task.v2.task.list(builder.build(), option))
        guids.append([t.guid for t in data.items])
        if not data.has_more:
            return guids
        token = data.page_token


def test_list_my_tasks_in_pages(roster, client, token_client):
    bob = user_token(roster, client, "bob")
    before = sum(list_pages(token_client, as_user(bob), 100), [])
    made = [ok(create(client, f"Bob's {n}", [member("bob", "assignee")])).task.guid for n in range(3)]
    ok(create(client, "Bob follows", [member("bob", "follower")]))
    pages = list_pages(token_client, as_user(bob), 1)
    assert sum(pages, []) == before + made and all(len(p) == 1 for p in pages)
    ok(patch(client, made[1], ["completed_at"], completed_at=1700000000000))
    assert sum(list_pages(token_client, as_user(bob), 2, completed=True), []) == [made[1]]
    assert made[1] not in sum(list_pages(token_client, as_user(bob), 2, completed=False), [])

    tenant = client.task.v2.task.list(task_v2.ListTaskRequest.builder().build())
    assert tenant.code == 99991663
    bad_size = token_client.task.v2.task.list(
        task_v2.ListTaskRequest.builder().page_size(101).build(), as_user(bob))
    assert bad_size.code == 1470400
    bad_token = token_client.task.v2.task.list(
        task_v2.ListTaskRequest.builder().page_token("not-a-token").build(), as_user(bob))
    assert bad_token.code == 1470400


def test_a_tasks_json_is_the_vendors(roster, client):
    guid = ok(create(client, members=[member("alice", "assignee")],
                     start=task_v2.Start.builder().timestamp("1699990000000").build(),
                     due=task_v2.Due.builder().timestamp("1700000000999").is_all_day(False).build()
                     )).task.guid
    raw = get(client, guid).raw
    body = json.loads(raw.content)
    task = body["data"]["task"]
    assert task["due"] == {"timestamp": "1700000000000", "is_all_day": False}
    assert task["start"] == {"timestamp": "1699990000000", "is_all_day": False}
    assert task["url"].endswith(f"guid={guid}&suite_entity_num={task['task_id']}")
    assert task["members"] == [{"id": "alice", "type": "user", "role": "assignee"}]


def tasklist_request(kind, guid=None, body=None, **params):
    """A tasklist request of lark-oapi's `kind` (e.g. `GetTasklistRequest`), by user_id."""
    builder = getattr(task_v2, kind).builder()
    if hasattr(builder, "user_id_type"):
        builder.user_id_type("user_id")
    if guid:
        builder.tasklist_guid(guid)
    for name, value in params.items():
        getattr(builder, name)(value)
    if body is not None:
        builder.request_body(body)
    return builder.build()


def tasklist_members(tasklist):
    return sorted((m.role, m.type, m.id) for m in tasklist.members or [])


def in_tasklist(client, guid, tasklist_guid, add=True, option=None):
    kind, body = (
        (task_v2.AddTasklistTaskRequest, task_v2.AddTasklistTaskRequestBody) if add
        else (task_v2.RemoveTasklistTaskRequest, task_v2.RemoveTasklistTaskRequestBody)
    )
    request = (
        kind.builder().task_guid(guid).user_id_type("user_id")
        .request_body(body.builder().tasklist_guid(tasklist_guid).build()).build()
    )
    call = client.task.v2.task.add_tasklist if add else client.task.v2.task.remove_tasklist
    return call(request, option or lark.RequestOption())


def test_tasklists_members_and_tasks(roster, client, token_client):
    lists = client.task.v2.tasklist
    made = ok(lists.create(tasklist_request(
        "CreateTasklistRequest",
        body=task_v2.InputTasklist.builder().name("Launch")
        .members([member("bob", "editor"), member("carol", "viewer")]).build(),
    ))).tasklist
    assert made.name == "Launch" and len(made.guid) == 36
    assert (made.owner.type, made.owner.id, made.owner.role) == ("app", APP_ID, "owner")
    assert tasklist_members(made) == [("editor", "user", "bob"), ("viewer", "user", "carol")]
    assert ok(lists.get(tasklist_request("GetTasklistRequest", made.guid))).tasklist.guid == made.guid
    listed = ok(lists.list(tasklist_request("ListTasklistRequest", page_size=100)))
    assert made.guid in [t.guid for t in listed.items]

    # One role per member: naming carol an editor moves her; the seed caps a role at 3.
    body = task_v2.AddMembersTasklistRequestBody.builder().members([member("carol", "editor")]).build()
    moved = ok(lists.add_members(tasklist_request("AddMembersTasklistRequest", made.guid, body)))
    assert tasklist_members(moved.tasklist) == [("editor", "user", "bob"), ("editor", "user", "carol")]
    body = task_v2.AddMembersTasklistRequestBody.builder().members(
        [member("alice", "editor"), member("dave", "editor")]).build()
    full = lists.add_members(tasklist_request("AddMembersTasklistRequest", made.guid, body))
    assert (full.code, full.raw.status_code) == (1470612, 400)
    body = task_v2.AddMembersTasklistRequestBody.builder().members([member("dave", "owner")]).build()
    assert lists.add_members(tasklist_request("AddMembersTasklistRequest", made.guid, body)).code == 1470400
    body = task_v2.AddMembersTasklistRequestBody.builder().members([member("dave", "viewer")]).build()
    ok(lists.add_members(tasklist_request("AddMembersTasklistRequest", made.guid, body)))
    body = task_v2.RemoveMembersTasklistRequestBody.builder().members([member("carol", "editor")]).build()
    removed = ok(lists.remove_members(tasklist_request("RemoveMembersTasklistRequest", made.guid, body)))
    assert tasklist_members(removed.tasklist) == [("editor", "user", "bob"), ("viewer", "user", "dave")]

    # Tasks in the tasklist: its members read them (viewers) or edit them (editors).
    guids = [ok(create(client, f"Launch step {n}")).task.guid for n in range(3)]
    for guid in guids:
        added = ok(in_tasklist(client, guid, made.guid)).task
        assert [t.tasklist_guid for t in added.tasklists] == [made.guid]
    ok(patch(client, guids[0], ["completed_at"], completed_at=1700000000000))
    tasks = ok(lists.tasks(tasklist_request("TasksTasklistRequest", made.guid, page_size=2)))
    assert [t.guid for t in tasks.items] == guids[:2] and tasks.has_more
    rest = ok(lists.tasks(tasklist_request("TasksTasklistRequest", made.guid, page_token=tasks.page_token)))
    assert [t.guid for t in rest.items] == guids[2:] and not rest.has_more
    open_ones = ok(lists.tasks(tasklist_request("TasksTasklistRequest", made.guid, completed=False)))
    assert [t.guid for t in open_ones.items] == guids[1:]

    bob, dave, carol = (user_token(roster, client, u) for u in ("bob", "dave", "carol"))
    assert ok(get(token_client, guids[1], as_user(dave))).task.guid == guids[1]
    assert patch(token_client, guids[1], ["summary"], as_user(dave), summary="x").code == 1470403
    assert ok(patch(token_client, guids[1], ["summary"], as_user(bob), summary="By Bob")).task.summary == "By Bob"
    assert get(token_client, guids[1], as_user(carol)).code == 1470403
    of_task = client.task.v2.task.tasklists(
        task_v2.TasklistsTaskRequest.builder().task_guid(guids[1]).build())
    assert [t.tasklist_guid for t in ok(of_task).tasklists] == [made.guid]
    ok(in_tasklist(client, guids[2], made.guid, add=False))
    assert not ok(get(client, guids[2])).task.tasklists

    # A task created straight into the tasklist; a tasklist that does not exist is 1470404.
    info = lambda guid: task_v2.TaskInTasklistInfo.builder().tasklist_guid(guid).build()
    direct = ok(create(client, "Launch step 4", tasklists=[info(made.guid)])).task
    assert [t.tasklist_guid for t in direct.tasklists] == [made.guid]
    missing = create(client, "Nowhere", tasklists=[info("00000000-0000-4000-8000-000000000000")])
    assert (missing.code, missing.raw.status_code) == (1470404, 404)

    # Only the owner deletes; the tasks stay.
    by_editor = token_client.task.v2.tasklist.delete(
        tasklist_request("DeleteTasklistRequest", made.guid), as_user(bob))
    assert (by_editor.code, by_editor.raw.status_code) == (1470403, 403)
    deleted = lists.delete(tasklist_request("DeleteTasklistRequest", made.guid))
    assert deleted.success(), (deleted.code, deleted.msg)
    gone = lists.get(tasklist_request("GetTasklistRequest", made.guid))
    assert (gone.code, gone.raw.status_code) == (1470404, 404)
    assert ok(get(client, guids[0])).task.guid == guids[0]
