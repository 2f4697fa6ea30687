//! Every Feishu route, one table per surface (`/open-apis`, OAuth v3 at the origin root,
//! roster's admin routes): each entry is the route's OpenAPI operation (the `{code, msg, data}`
//! envelope, errors with `error.log_id`, its parameters, body and `data`) and its handler. The
//! router and roster's OpenAPI document are both built from these tables.

use std::sync::Arc;

use axum::{middleware, Router};
use roster_http::openapi::{
    any_of, array, boolean, document, integer, integer_from, object, one_of_values, operation, own,
    string, string_of_media, HttpMethod, Object, OpenApi, Operation, Schema, JSON,
};
use roster_http::Endpoints;

use crate::login::v1::{self, Grant};
use crate::task::{members, tasks, v2, Role};
use crate::tenants::Feishu;
use crate::{admin, apaas, auth, bot, directory, im, login, wire};

/// A table of Feishu routes.
type Table = Endpoints<Arc<Feishu>>;

/// Where the vendor API is served.
const PREFIX: &str = "/open-apis";

/// Tenant, app and user access tokens: `Authorization: Bearer <token>`.
const TOKEN: &str = "feishu_token";

/// `{"code": 0, "msg", "data": data}`.
fn success(data: Schema) -> Schema {
    object()
        .field("code", one_of_values([0]))
        .field("msg", string())
        .field("data", data)
        .into()
}

/// An error: the business code, its message and `error.log_id`.
fn error() -> Schema {
    object()
        .field("code", integer_from(1))
        .field("msg", string())
        .field(
            "error",
            object()
                .field("log_id", string())
                .field("troubleshooter", string())
                .optional(
                    "field_violations",
                    array(
                        object()
                            .field("field", string())
                            .optional("value", string())
                            .field("description", string())
                            .into(),
                    ),
                )
                .into(),
        )
        .into()
}

/// An error answered with HTTP 200 and no `data` (token and v1 login endpoints).
fn code_error() -> Schema {
    object()
        .field("code", integer_from(1))
        .field("msg", string())
        .closed()
        .into()
}

/// A route that answers `data` on success.
fn api(method: HttpMethod, path: &str, summary: &str, data: Schema) -> Operation {
    operation(method, path, summary)
        .secured(TOKEN)
        .answer("200", "success", success(data))
        .answer("default", "refused", error())
}

fn user_id_type(op: Operation) -> Operation {
    op.query(
        "user_id_type",
        one_of_values(["open_id", "union_id", "user_id"]),
        false,
    )
}

fn paged(op: Operation) -> Operation {
    op.query("page_size", integer(), false)
        .query("page_token", string(), false)
}

fn json(op: Operation, body: impl Into<Schema>) -> Operation {
    op.body(JSON, body.into(), true)
}

fn empty() -> Schema {
    object().into()
}

fn page(items_key: &str, item: Schema) -> Schema {
    object()
        .field(items_key, array(item))
        .field("has_more", boolean())
        .optional("page_token", string())
        .into()
}

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
fn tasks() -> Table {
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
fn tasks_v2() -> Table {
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
fn tasklists() -> Table {
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

fn contact_user() -> Schema {
    object()
        .field("name", string())
        .optional("user_id", string())
        .optional("open_id", string())
        .optional("union_id", string())
        .into()
}

/// Users and the contact directory.
fn directory() -> Table {
    use HttpMethod::{Get, Post};
    let user = || object().field("user", contact_user()).into();
    let user_info = object().strings(&[
        "name",
        "en_name",
        "avatar_url",
        "avatar_thumb",
        "avatar_middle",
        "avatar_big",
        "open_id",
        "union_id",
        "email",
        "enterprise_email",
        "user_id",
        "mobile",
        "tenant_key",
        "employee_no",
    ]);
    Table::new(PREFIX)
        .at(
            api(
                Get,
                "/authen/v1/user_info",
                "the user of a user access token",
                user_info.into(),
            ),
            directory::user_info,
        )
        .at(
            json(
                user_id_type(api(Post, "/contact/v3/users", "create a user", user())),
                object()
                    .optional("user_id", string())
                    .optional("name", string())
                    .optional("en_name", string())
                    .optional("email", string())
                    .optional("mobile", string()),
            )
            .query(
                "department_id_type",
                one_of_values(["department_id", "open_department_id"]),
                false,
            )
            .query("client_token", string(), false),
            directory::create_user,
        )
        .at(
            user_id_type(api(
                Get,
                "/contact/v3/users/batch",
                "get users",
                object().field("items", array(contact_user())).into(),
            ))
            .query("user_ids", array(string()), true),
            directory::batch_get_users,
        )
        .at(
            json(
                user_id_type(api(
                    Post,
                    "/contact/v3/users/batch_get_id",
                    "user ids by email or mobile",
                    object().field("user_list", array(object().into())).into(),
                )),
                object()
                    .optional("emails", array(string()))
                    .optional("mobiles", array(string()))
                    .optional("include_resigned", boolean()),
            ),
            directory::batch_get_id,
        )
        .at(
            user_id_type(api(
                Get,
                "/contact/v3/users/{user_id}",
                "get a user",
                user(),
            ))
            .path("user_id"),
            directory::get_user,
        )
}

/// IM chats and their members.
fn chats() -> Table {
    use HttpMethod::{Delete, Get, Post};
    let chat = "/im/v1/chats/{chat_id}";
    let members = "/im/v1/chats/{chat_id}/members";
    let member_id_type = |op: Operation| {
        op.query(
            "member_id_type",
            one_of_values(["open_id", "union_id", "user_id", "app_id"]),
            false,
        )
    };
    let create = object()
        .optional("avatar", string())
        .optional("name", string())
        .optional("description", string())
        .optional("owner_id", string())
        .optional("user_id_list", array(string()))
        .optional("bot_id_list", array(string()))
        .optional("chat_mode", string())
        .optional("chat_type", string())
        .optional("external", boolean());
    Table::new(PREFIX)
        .at(
            json(
                user_id_type(api(
                    Post,
                    "/im/v1/chats",
                    "create a chat",
                    object().field("chat_id", string()).into(),
                ))
                .query("set_bot_manager", boolean(), false)
                .query("uuid", string(), false),
                create,
            ),
            im::routes::create_chat,
        )
        .at(
            user_id_type(paged(api(
                Get,
                "/im/v1/chats",
                "list the chats the caller is in",
                page("items", object().field("chat_id", string()).into()),
            )))
            .query(
                "sort_type",
                one_of_values(["ByCreateTimeAsc", "ByActiveTimeDesc"]),
                false,
            ),
            im::routes::list_chats,
        )
        .at(
            user_id_type(api(Get, chat, "get a chat", object().into())).path("chat_id"),
            im::routes::get_chat,
        )
        .at(
            api(
                Get,
                &format!("{members}/is_in_chat"),
                "whether the caller is in a chat",
                object().field("is_in_chat", boolean()).into(),
            )
            .path("chat_id"),
            im::routes::is_in_chat,
        )
        .at(
            member_id_type(paged(api(
                Get,
                members,
                "list a chat's members",
                page("items", object().into()),
            )))
            .path("chat_id"),
            im::routes::list_members,
        )
        .at(
            json(
                member_id_type(api(
                    Post,
                    members,
                    "add members to a chat",
                    object()
                        .field("invalid_id_list", array(string()))
                        .field("not_existed_id_list", array(string()))
                        .field("pending_approval_id_list", array(string()))
                        .into(),
                ))
                .path("chat_id")
                .query("succeed_type", integer(), false),
                object().optional("id_list", array(string())),
            ),
            im::routes::add_members,
        )
        .at(
            json(
                member_id_type(api(
                    Delete,
                    members,
                    "remove members from a chat",
                    object().field("invalid_id_list", array(string())).into(),
                ))
                .path("chat_id"),
                object().optional("id_list", array(string())),
            ),
            im::routes::remove_members,
        )
}

/// aPaaS user tasks.
fn apaas() -> Table {
    use HttpMethod::Post;
    let user_task = |name: &str, summary: &str, data: Schema, body: Object| {
        json(
            api(
                Post,
                &format!("/apaas/v1/user_tasks/{{task_id}}/{name}"),
                summary,
                data,
            )
            .path("task_id"),
            body,
        )
    };
    let operator = || object().optional("operator_user_id", string());
    Table::new(PREFIX)
        .at(
            json(
                api(
                    Post,
                    "/apaas/v1/user_task/query",
                    "query user tasks",
                    object()
                        .field("count", string())
                        .field("tasks", array(object().into()))
                        .into(),
                ),
                object()
                    .optional("type", string())
                    .optional("source", string())
                    .optional("limit", string())
                    .optional("offset", string())
                    .optional("start_time", string())
                    .optional("end_time", string())
                    .optional("api_ids", array(string()))
                    .optional("kunlun_user_id", string()),
            ),
            apaas::routes::query,
        )
        .at(
            user_task(
                "chat_group",
                "a user task's group chat",
                object().field("chat_id", string()).into(),
                operator()
                    .optional("invite_user_ids", array(string()))
                    .optional("chat_id", string())
                    .optional("chat_name", string()),
            ),
            apaas::routes::chat_group,
        )
        .at(
            user_task(
                "cc",
                "copy a user task",
                empty(),
                operator()
                    .optional("cc_user_ids", array(string()))
                    .optional("cc_reason", string()),
            ),
            apaas::routes::cc,
        )
        .at(
            user_task(
                "expediting",
                "expedite a user task",
                empty(),
                operator()
                    .optional("expediting_user_ids", array(string()))
                    .optional("opinion", string()),
            ),
            apaas::routes::expediting,
        )
        .at(
            user_task(
                "rollback",
                "roll a user task back",
                empty(),
                operator()
                    .optional("to_activity_id", string())
                    .optional("opinion", string()),
            ),
            apaas::routes::rollback,
        )
        .at(
            user_task(
                "rollback_points",
                "where a user task may roll back to",
                object().field("tasks", array(object().into())).into(),
                operator(),
            ),
            apaas::routes::rollback_points,
        )
        .at(
            json(
                api(
                    Post,
                    "/apaas/v1/approval_instances/{approval_instance_id}/cancel",
                    "cancel an approval instance",
                    empty(),
                )
                .path("approval_instance_id"),
                operator().optional("opinion", string()),
            ),
            apaas::routes::cancel,
        )
}

/// Tokens: the app's and tenant's, and the user's after a login (v1, v2 and v3 of OAuth).
fn login() -> Table {
    use HttpMethod::Post;
    let credentials = || {
        object()
            .field("app_id", string())
            .field("app_secret", string())
    };
    let token = |path: &str, summary: &str, fields: &[&str]| {
        let issued = object()
            .strings(fields)
            .field("code", one_of_values([0]))
            .field("msg", string())
            .field("expire", integer());
        json(
            operation(Post, path, summary).answer(
                "200",
                "a token, or an error",
                any_of([issued.into(), code_error()]),
            ),
            credentials(),
        )
    };
    let v1 = |path: &str, summary: &str, body: Object| {
        json(
            operation(Post, path, summary)
                .secured(TOKEN)
                .answer(
                    "200",
                    "the user's tokens, or an error",
                    any_of([success(object().into()), code_error()]),
                )
                .answer("default", "refused", error()),
            body,
        )
    };
    let code_grant = || {
        object()
            .field("grant_type", string())
            .field("code", string())
    };
    let refresh_grant = || {
        object()
            .field("grant_type", string())
            .field("refresh_token", string())
    };
    let grant = |grant: &'static Grant| {
        move |state, credentials, body| v1::token(grant, state, credentials, body)
    };
    Table::new(PREFIX)
        .at(
            token(
                "/auth/v3/tenant_access_token/internal",
                "a tenant access token",
                &["tenant_access_token"],
            ),
            auth::tenant_access_token,
        )
        .at(
            token(
                "/auth/v3/app_access_token/internal",
                "an app access token",
                &["app_access_token", "tenant_access_token"],
            ),
            auth::app_access_token,
        )
        .at(
            v1(
                "/authen/v1/oidc/access_token",
                "a user access token for a login code (OIDC)",
                code_grant(),
            ),
            grant(&v1::OIDC_CODE),
        )
        .at(
            v1(
                "/authen/v1/oidc/refresh_access_token",
                "refresh a user access token (OIDC)",
                refresh_grant(),
            ),
            grant(&v1::OIDC_REFRESH),
        )
        .at(
            v1(
                "/authen/v1/access_token",
                "a user access token for a login code (legacy)",
                code_grant(),
            ),
            grant(&v1::LEGACY_CODE),
        )
        .at(
            v1(
                "/authen/v1/refresh_access_token",
                "refresh a user access token (legacy)",
                refresh_grant(),
            ),
            grant(&v1::LEGACY_REFRESH),
        )
        .at(
            oauth_token("/authen/v2/oauth/token", "OAuth 2 token endpoint (v2)"),
            login::oauth_token,
        )
}

/// OAuth v3, at the origin root as on `accounts.feishu.cn`.
fn oauth() -> Table {
    Table::new("").at(
        oauth_token("/oauth/v3/token", "OAuth 2 token endpoint (v3)"),
        login::oauth_token,
    )
}

/// An OAuth 2 token endpoint (RFC 6749).
fn oauth_token(path: &str, summary: &str) -> Operation {
    let issued = object()
        .field("code", one_of_values([0]))
        .field("access_token", string())
        .field("expires_in", integer())
        .field("refresh_token", string())
        .field("refresh_token_expires_in", integer())
        .field("token_type", string())
        .field("scope", string());
    let refused = object()
        .field("code", integer_from(1))
        .field("error", string())
        .field("error_description", string());
    json(
        operation(HttpMethod::Post, path, summary)
            .answer("200", "the user's tokens", issued.into())
            .answer("default", "refused (RFC 6749)", refused.into()),
        object()
            .field("grant_type", string())
            .optional("client_id", string())
            .optional("client_secret", string())
            .optional("code", string())
            .optional("redirect_uri", string())
            .optional("code_verifier", string())
            .optional("refresh_token", string())
            .optional("scope", string()),
    )
}

/// The bot of the tenant token's app: its fields beside `code` and `msg`.
fn bot() -> Table {
    let bot = object()
        .field("activate_status", integer())
        .field("app_name", string())
        .field("avatar_url", string())
        .field("ip_white_list", array(string()))
        .field("open_id", string());
    let info = object()
        .field("code", one_of_values([0]))
        .field("msg", string())
        .field("bot", bot.into());
    Table::new(PREFIX).at(
        operation(HttpMethod::Get, "/bot/v3/info", "the app's bot")
            .secured(TOKEN)
            .answer("200", "the bot", info.into())
            .answer("default", "refused", error()),
        bot::info,
    )
}

/// roster's own Feishu routes (admin token).
fn admin() -> Table {
    use HttpMethod::Post;
    Endpoints::admin("/feishu")
        .at(
            own(Post, "/login_codes", "mint a login code for a user")
                .body(
                    JSON,
                    object()
                        .field("app_id", string())
                        .field("user_id", string())
                        .optional("code_challenge", string())
                        .optional("code_challenge_method", string())
                        .optional("redirect_uri", string())
                        .into(),
                    true,
                )
                .answer(
                    "200",
                    "the code",
                    object()
                        .field("code", string())
                        .field("expires_in", integer())
                        .into(),
                ),
            admin::login_code,
        )
        .at(
            own(Post, "/apaas_user_tasks", "declare an aPaaS user task")
                .body(
                    JSON,
                    object()
                        .field("tenant_key", string())
                        .field("task_id", string())
                        .optional("label", string())
                        .optional("initiator", string())
                        .optional("assignees", array(string()))
                        .optional("cc", array(string()))
                        .optional("workflow_instance_id", string())
                        .optional("activity_label", string())
                        .into(),
                    true,
                )
                .answer(
                    "200",
                    "the task",
                    object()
                        .field("task_id", string())
                        .field("workflow_instance_id", string())
                        .into(),
                ),
            apaas::routes::declare_task,
        )
}

/// The vendor API, below `/open-apis`.
fn open_apis() -> Table {
    login()
        .merge(directory())
        .merge(bot())
        .merge(chats())
        .merge(apaas())
        .merge(tasks())
        .merge(tasks_v2())
        .merge(tasklists())
}

/// Every Feishu route roster serves (each below `/open-apis` also answers with a trailing
/// slash).
pub fn openapi() -> OpenApi {
    let ops = open_apis()
        .operations()
        .chain(oauth().operations())
        .chain(admin().operations());
    document("feishu", &[TOKEN], ops)
}

/// The vendor's routes on `feishu`; refusals of the HTTP layer (a wrong method) are Feishu's
/// JSON on every one.
pub fn router(feishu: Arc<Feishu>) -> Router {
    let api = open_apis().router(feishu.clone(), |api| {
        wire::slash_tolerant(api).layer(middleware::from_fn(wire::log_id))
    });
    let oauth = oauth().router(feishu, |oauth| {
        oauth.layer(middleware::from_fn(wire::log_id))
    });
    api.merge(oauth)
}

/// roster's own Feishu routes on `feishu`, for the admin router.
pub fn admin_router(feishu: Arc<Feishu>) -> Router {
    admin().router(feishu, std::convert::identity)
}
