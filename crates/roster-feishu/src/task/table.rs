//! Task v1's endpoint table: each route's OpenAPI operation and handler.

use super::{members, tasks, Role};
use crate::openapi::{api, empty, json, page, paged, user_id_type, Table, PREFIX};
use roster_http::openapi::{
    any_of, array, boolean, integer, object, string, string_of_media, HttpMethod, Object, Schema,
    JSON,
};

fn task_input() -> Object {
    let due = object()
        .optional("time", any_of([string(), integer()]))
        .optional("timezone", string())
        .optional("is_all_day", boolean());
    object()
        .optional("summary", string())
        .optional("description", string())
        .optional("extra", string())
        .optional("due", due.into())
        .optional("can_edit", boolean())
        .optional("custom", string())
        .optional("collaborator_ids", array(string()))
        .optional("follower_ids", array(string()))
        .optional("repeat_rule", string())
        .optional("rich_summary", string())
        .optional("rich_description", string())
}

/// Where a task comes from: required when it is created.
fn origin() -> Schema {
    let href = object()
        .optional("url", string())
        .optional("title", string());
    object()
        .field("platform_i18n_name", string_of_media(JSON))
        .optional("href", href.into())
        .into()
}

fn task() -> Schema {
    object()
        .field("id", string())
        .field("summary", string())
        .into()
}

/// Task v1. A task's followers and collaborators have the same routes, each handler told its
/// role.
pub fn tasks() -> Table {
    use HttpMethod::{Delete, Get, Patch, Post};
    let tasks = "/task/v1/tasks";
    let one = format!("{tasks}/{{task_id}}");
    let task_data = || object().field("task", task()).into();
    let create = |path: &str, summary: &str| {
        json(
            user_id_type(api(Post, path, summary, task_data())),
            task_input().field("origin", origin()),
        )
    };
    let list = |path: &str, summary: &str| {
        user_id_type(paged(api(Get, path, summary, page("items", task()))))
            .query("start_create_time", string(), false)
            .query("end_create_time", string(), false)
            .query("task_completed", boolean(), false)
    };
    let patch = |path: &str, summary: &str| {
        json(
            user_id_type(api(Patch, path, summary, task_data())),
            object()
                .optional("task", task_input().optional("origin", origin()).into())
                .optional("update_fields", array(string())),
        )
    };
    // The SDKs send an empty task_id as `/tasks/`: every method is served there too.
    let slashed = format!("{tasks}/");
    let mut table = Table::new(PREFIX)
        .at(create(tasks, "create a task"), tasks::create)
        .at(create(&slashed, "create a task"), tasks::create)
        .at(list(tasks, "list tasks"), tasks::list)
        .at(list(&slashed, "list tasks"), tasks::list)
        .at(
            patch(&slashed, "patch a task without its id (refused)"),
            tasks::patch_without_id,
        )
        .at(
            user_id_type(api(Get, &one, "get a task", task_data())).path("task_id"),
            tasks::get,
        )
        .at(patch(&one, "patch a task").path("task_id"), tasks::patch)
        .at(
            api(Delete, &one, "delete a task", empty()).path("task_id"),
            tasks::delete,
        )
        .at(
            api(Post, &format!("{one}/complete"), "complete a task", empty()).path("task_id"),
            tasks::complete,
        )
        .at(
            api(Post, &format!("{one}/uncomplete"), "reopen a task", empty()).path("task_id"),
            tasks::uncomplete,
        );
    for role in [Role::Follower, Role::Collaborator] {
        let (one_role, many) = (role.relation(), role.plural());
        let member = || object().field("id", string()).into();
        table = table
            .at(
                json(
                    user_id_type(api(
                        Post,
                        &format!("{one}/{many}"),
                        &format!("add {many}"),
                        object()
                            .field(
                                one_role,
                                object()
                                    .optional("id", string())
                                    .optional("id_list", array(string()))
                                    .into(),
                            )
                            .into(),
                    ))
                    .path("task_id"),
                    object()
                        .optional("id", string())
                        .optional("id_list", array(string())),
                ),
                move |state, headers, query, path, body| {
                    members::add(role, state, headers, query, path, body)
                },
            )
            .at(
                user_id_type(paged(api(
                    Get,
                    &format!("{one}/{many}"),
                    &format!("list {many}"),
                    page("items", member()),
                )))
                .path("task_id"),
                move |state, headers, query, path| members::list(role, state, headers, query, path),
            )
            .at(
                user_id_type(api(
                    Delete,
                    &format!("{one}/{many}/{{member_id}}"),
                    &format!("remove a {one_role}"),
                    empty(),
                ))
                .path("task_id")
                .path("member_id"),
                move |state, headers, query, path| {
                    members::remove(role, state, headers, query, path)
                },
            )
            .at(
                json(
                    user_id_type(api(
                        Post,
                        &format!("{one}/batch_delete_{one_role}"),
                        &format!("remove {many}"),
                        object().field(many, array(string())).into(),
                    ))
                    .path("task_id"),
                    object().optional("id_list", array(string())),
                ),
                move |state, headers, query, path, body| {
                    members::batch_remove(role, state, headers, query, path, body)
                },
            );
    }
    table
}
