//! Task v2's endpoint tables (tasks, tasklists): each route's OpenAPI operation and handler.

use crate::openapi::{api, empty, json, page, paged, user_id_type, Table, PREFIX};
use crate::task::v2;
use roster_http::openapi::{
    any_of, array, boolean, integer, object, string, HttpMethod, Object, Schema,
};

/// Task v2's task object (the fields every answer has).
fn task_v2() -> Schema {
    object()
        .strings(&["guid", "summary", "status", "created_at", "updated_at"])
        .field("members", array(member_v2()))
        .into()
}

/// A Task v2 member: a user or an app, as an assignee or a follower.
fn member_v2() -> Schema {
    object()
        .field("id", string())
        .optional("type", string())
        .field("role", string())
        .into()
}

fn task_v2_input() -> Object {
    let moment = || {
        object()
            .optional("timestamp", any_of([string(), integer()]))
            .optional("is_all_day", boolean())
            .into()
    };
    object()
        .optional("summary", string())
        .optional("description", string())
        .optional("due", moment())
        .optional("start", moment())
        .optional("extra", string())
        .optional("completed_at", any_of([string(), integer()]))
        .optional("repeat_rule", string())
        .optional("mode", integer())
        .optional("is_milestone", boolean())
}

/// Task v2: the same tasks by `guid`, members as `[{id, type, role}]`.
pub fn tasks() -> Table {
    use HttpMethod::{Delete, Get, Patch, Post};
    let tasks = "/task/v2/tasks";
    let one = format!("{tasks}/{{task_guid}}");
    let task_data = || object().field("task", task_v2()).into();
    let members = || {
        object()
            .optional("members", array(member_v2()))
            .optional("client_token", string())
    };
    let change_members = |path: &str, summary: &str| {
        json(
            user_id_type(api(Post, path, summary, task_data())).path("task_guid"),
            members(),
        )
    };
    Table::new(PREFIX)
        .at(
            json(
                user_id_type(api(Post, tasks, "create a task (v2)", task_data())),
                task_v2_input()
                    .optional("members", array(member_v2()))
                    .optional(
                        "tasklists",
                        array(object().optional("tasklist_guid", string()).into()),
                    )
                    .optional("client_token", string()),
            ),
            v2::tasks::create,
        )
        .at(
            user_id_type(paged(api(
                Get,
                tasks,
                "list the caller's tasks (v2)",
                page("items", task_v2()),
            )))
            .query("type", string(), false)
            .query("completed", boolean(), false),
            v2::tasks::list,
        )
        .at(
            user_id_type(api(Get, &one, "get a task (v2)", task_data())).path("task_guid"),
            v2::tasks::get,
        )
        .at(
            json(
                user_id_type(api(Patch, &one, "patch a task (v2)", task_data())).path("task_guid"),
                object()
                    .optional("task", task_v2_input().into())
                    .optional("update_fields", array(string())),
            ),
            v2::tasks::patch,
        )
        .at(
            api(Delete, &one, "delete a task (v2)", empty()).path("task_guid"),
            v2::tasks::delete,
        )
        .at(
            change_members(&format!("{one}/add_members"), "add a task's members (v2)"),
            v2::members::add,
        )
        .at(
            change_members(
                &format!("{one}/remove_members"),
                "remove a task's members (v2)",
            ),
            v2::members::remove,
        )
        .at(
            user_id_type(api(
                Post,
                "/task/v2/task_v2/task_subscription",
                "subscribe the caller to task.task.update_user_access_v2",
                empty(),
            )),
            v2::subscription::subscribe,
        )
}

/// A Task v2 tasklist (the fields every answer has).
fn tasklist() -> Schema {
    object()
        .strings(&["guid", "name", "created_at", "updated_at"])
        .field("members", array(member_v2()))
        .into()
}

/// Task v2 tasklists, and the tasklists of a task.
pub fn tasklists() -> Table {
    use HttpMethod::{Delete, Get, Post};
    let lists = "/task/v2/tasklists";
    let one = format!("{lists}/{{tasklist_guid}}");
    let task = "/task/v2/tasks/{task_guid}";
    let list_data = || object().field("tasklist", tasklist()).into();
    let members = || object().optional("members", array(member_v2()));
    let in_tasklist = |path: &str, summary: &str| {
        json(
            user_id_type(api(
                Post,
                path,
                summary,
                object().field("task", task_v2()).into(),
            ))
            .path("task_guid"),
            object().optional("tasklist_guid", string()),
        )
    };
    Table::new(PREFIX)
        .at(
            json(
                user_id_type(api(Post, lists, "create a tasklist", list_data())),
                members().optional("name", string()),
            ),
            v2::tasklists::create,
        )
        .at(
            user_id_type(paged(api(
                Get,
                lists,
                "the caller's tasklists",
                page("items", tasklist()),
            ))),
            v2::tasklists::list,
        )
        .at(
            user_id_type(api(Get, &one, "get a tasklist", list_data())).path("tasklist_guid"),
            v2::tasklists::get,
        )
        .at(
            api(Delete, &one, "delete a tasklist", empty()).path("tasklist_guid"),
            v2::tasklists::delete,
        )
        .at(
            json(
                user_id_type(api(
                    Post,
                    &format!("{one}/add_members"),
                    "add a tasklist's members",
                    list_data(),
                ))
                .path("tasklist_guid"),
                members(),
            ),
            v2::tasklists::add_members,
        )
        .at(
            json(
                user_id_type(api(
                    Post,
                    &format!("{one}/remove_members"),
                    "remove a tasklist's members",
                    list_data(),
                ))
                .path("tasklist_guid"),
                members(),
            ),
            v2::tasklists::remove_members,
        )
        .at(
            user_id_type(paged(api(
                Get,
                &format!("{one}/tasks"),
                "the tasks of a tasklist",
                page("items", object().into()),
            )))
            .path("tasklist_guid")
            .query("completed", boolean(), false)
            .query("created_from", string(), false)
            .query("created_to", string(), false),
            v2::tasklists::tasks,
        )
        .at(
            in_tasklist(&format!("{task}/add_tasklist"), "add a task to a tasklist"),
            v2::tasklists::add_tasklist,
        )
        .at(
            in_tasklist(
                &format!("{task}/remove_tasklist"),
                "remove a task from a tasklist",
            ),
            v2::tasklists::remove_tasklist,
        )
        .at(
            api(
                Get,
                &format!("{task}/tasklists"),
                "a task's tasklists",
                object().field("tasklists", array(object().into())).into(),
            )
            .path("task_guid"),
            v2::tasklists::of_task,
        )
}
