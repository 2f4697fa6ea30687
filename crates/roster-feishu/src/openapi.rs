//! The Feishu routes in roster's OpenAPI document: the `{code, msg, data}` envelope, errors with
//! `error.log_id`, and each endpoint's parameters, body and `data`.

use roster_http::openapi::{
    any_of, array, boolean, document, integer, integer_from, object, one_of_values, operation, own,
    string, string_of_media, HttpMethod, Object, OpenApi, Operation, Schema, JSON,
};

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

/// A route under `/open-apis` that answers `data` on success.
fn api(method: HttpMethod, path: &str, summary: &str, data: Schema) -> Operation {
    operation(method, &format!("/open-apis{path}"), summary)
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

fn task_routes() -> Vec<Operation> {
    use HttpMethod::{Delete, Get, Patch, Post};
    let tasks = "/task/v1/tasks";
    let one = format!("{tasks}/{{task_id}}");
    let task_data = || object().field("task", task()).into();
    let mut ops = vec![
        json(
            user_id_type(api(Post, tasks, "create a task", task_data())),
            task_input().field("origin", origin()),
        ),
        user_id_type(paged(api(Get, tasks, "list tasks", page("items", task()))))
            .query("start_create_time", string(), false)
            .query("end_create_time", string(), false)
            .query("task_completed", boolean(), false),
        user_id_type(api(Get, &one, "get a task", task_data())).path("task_id"),
        json(
            user_id_type(api(Patch, &one, "patch a task", task_data())).path("task_id"),
            object()
                .optional("task", task_input().optional("origin", origin()).into())
                .optional("update_fields", array(string())),
        ),
        api(Delete, &one, "delete a task", empty()).path("task_id"),
        api(Post, &format!("{one}/complete"), "complete a task", empty()).path("task_id"),
        api(Post, &format!("{one}/uncomplete"), "reopen a task", empty()).path("task_id"),
    ];
    for (one_role, many) in [("follower", "followers"), ("collaborator", "collaborators")] {
        let member = || object().field("id", string()).into();
        ops.push(json(
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
        ));
        ops.push(
            user_id_type(paged(api(
                Get,
                &format!("{one}/{many}"),
                &format!("list {many}"),
                page("items", member()),
            )))
            .path("task_id"),
        );
        ops.push(
            user_id_type(api(
                Delete,
                &format!("{one}/{many}/{{member_id}}"),
                &format!("remove a {one_role}"),
                empty(),
            ))
            .path("task_id")
            .path("member_id"),
        );
        ops.push(json(
            user_id_type(api(
                Post,
                &format!("{one}/batch_delete_{one_role}"),
                &format!("remove {many}"),
                object().field(many, array(string())).into(),
            ))
            .path("task_id"),
            object().optional("id_list", array(string())),
        ));
    }
    ops
}

fn contact_user() -> Schema {
    object()
        .field("name", string())
        .optional("user_id", string())
        .optional("open_id", string())
        .optional("union_id", string())
        .into()
}

fn directory_routes() -> Vec<Operation> {
    use HttpMethod::{Get, Post};
    let user = || object().field("user", contact_user()).into();
    vec![
        api(
            Get,
            "/authen/v1/user_info",
            "the user of a user access token",
            object()
                .strings(&[
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
                ])
                .into(),
        ),
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
        user_id_type(api(
            Get,
            "/contact/v3/users/batch",
            "get users",
            object().field("items", array(contact_user())).into(),
        ))
        .query("user_ids", array(string()), true),
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
        user_id_type(api(
            Get,
            "/contact/v3/users/{user_id}",
            "get a user",
            user(),
        ))
        .path("user_id"),
    ]
}

fn chat_routes() -> Vec<Operation> {
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
    vec![
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
        user_id_type(api(Get, chat, "get a chat", object().into())).path("chat_id"),
        api(
            Get,
            &format!("{members}/is_in_chat"),
            "whether the caller is in a chat",
            object().field("is_in_chat", boolean()).into(),
        )
        .path("chat_id"),
        member_id_type(paged(api(
            Get,
            members,
            "list a chat's members",
            page("items", object().into()),
        )))
        .path("chat_id"),
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
    ]
}

fn apaas_routes() -> Vec<Operation> {
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
    vec![
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
        user_task(
            "chat_group",
            "a user task's group chat",
            object().field("chat_id", string()).into(),
            operator()
                .optional("invite_user_ids", array(string()))
                .optional("chat_id", string())
                .optional("chat_name", string()),
        ),
        user_task(
            "cc",
            "copy a user task",
            empty(),
            operator()
                .optional("cc_user_ids", array(string()))
                .optional("cc_reason", string()),
        ),
        user_task(
            "expediting",
            "expedite a user task",
            empty(),
            operator()
                .optional("expediting_user_ids", array(string()))
                .optional("opinion", string()),
        ),
        user_task(
            "rollback",
            "roll a user task back",
            empty(),
            operator()
                .optional("to_activity_id", string())
                .optional("opinion", string()),
        ),
        user_task(
            "rollback_points",
            "where a user task may roll back to",
            object().field("tasks", array(object().into())).into(),
            operator(),
        ),
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
    ]
}

fn login_routes() -> Vec<Operation> {
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
            operation(Post, &format!("/open-apis{path}"), summary).answer(
                "200",
                "a token, or an error",
                any_of([issued.into(), code_error()]),
            ),
            credentials(),
        )
    };
    let v1 = |path: &str, summary: &str, body: Object| {
        json(
            operation(Post, &format!("/open-apis{path}"), summary)
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
    let oauth = |path: &str, summary: &str| {
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
            operation(Post, path, summary)
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
    };
    vec![
        token(
            "/auth/v3/tenant_access_token/internal",
            "a tenant access token",
            &["tenant_access_token"],
        ),
        token(
            "/auth/v3/app_access_token/internal",
            "an app access token",
            &["app_access_token", "tenant_access_token"],
        ),
        v1(
            "/authen/v1/oidc/access_token",
            "a user access token for a login code (OIDC)",
            code_grant(),
        ),
        v1(
            "/authen/v1/oidc/refresh_access_token",
            "refresh a user access token (OIDC)",
            refresh_grant(),
        ),
        v1(
            "/authen/v1/access_token",
            "a user access token for a login code (legacy)",
            code_grant(),
        ),
        v1(
            "/authen/v1/refresh_access_token",
            "refresh a user access token (legacy)",
            refresh_grant(),
        ),
        oauth(
            "/open-apis/authen/v2/oauth/token",
            "OAuth 2 token endpoint (v2)",
        ),
        oauth("/oauth/v3/token", "OAuth 2 token endpoint (v3)"),
    ]
}

/// roster's own Feishu routes (admin token).
fn admin_routes() -> Vec<Operation> {
    use HttpMethod::Post;
    vec![
        own(
            Post,
            "/_roster/feishu/login_codes",
            "mint a login code for a user",
        )
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
        own(
            Post,
            "/_roster/feishu/apaas_user_tasks",
            "declare an aPaaS user task",
        )
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
    ]
}

/// `GET /bot/v3/info`: the bot's fields beside `code` and `msg`.
fn bot_routes() -> Vec<Operation> {
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
    vec![
        operation(HttpMethod::Get, "/open-apis/bot/v3/info", "the app's bot")
            .secured(TOKEN)
            .answer("200", "the bot", info.into())
            .answer("default", "refused", error()),
    ]
}

/// Every Feishu route roster serves (each also answers with a trailing slash).
pub fn openapi() -> OpenApi {
    let ops = login_routes()
        .into_iter()
        .chain(directory_routes())
        .chain(bot_routes())
        .chain(chat_routes())
        .chain(apaas_routes())
        .chain(task_routes())
        .chain(admin_routes());
    document("feishu", &[TOKEN], ops)
}
