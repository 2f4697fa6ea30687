//! aPaaS's endpoint table: each route's OpenAPI operation and handler.

use crate::apaas;
use crate::openapi::{api, empty, json, Table, PREFIX};
use roster_http::openapi::{array, object, string, HttpMethod, Object, Schema};

/// aPaaS user tasks.
pub fn user_tasks() -> Table {
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
