//! The words Feishu's endpoint tables describe their routes in: the `{code, msg, data}`
//! envelope, errors with `error.log_id`, the token scheme, paging and `user_id_type`.

use std::sync::Arc;

use roster_http::openapi::{
    array, boolean, integer, integer_from, object, one_of_values, operation, string, HttpMethod,
    Operation, Schema, JSON,
};
use roster_http::Endpoints;

use crate::tenants::Feishu;

/// A table of Feishu routes.
pub type Table = Endpoints<Arc<Feishu>>;

/// Where the vendor API is served.
pub const PREFIX: &str = "/open-apis";

/// Tenant, app and user access tokens: `Authorization: Bearer <token>`.
pub const TOKEN: &str = "feishu_token";

/// `{"code": 0, "msg", "data": data}`.
pub fn success(data: Schema) -> Schema {
    object()
        .field("code", one_of_values([0]))
        .field("msg", string())
        .field("data", data)
        .into()
}

/// An error: the business code, its message and `error.log_id`.
pub fn error() -> Schema {
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
pub fn code_error() -> Schema {
    object()
        .field("code", integer_from(1))
        .field("msg", string())
        .closed()
        .into()
}

/// A route that answers `data` on success.
pub fn api(method: HttpMethod, path: &str, summary: &str, data: Schema) -> Operation {
    operation(method, path, summary)
        .secured(TOKEN)
        .answer("200", "success", success(data))
        .answer("default", "refused", error())
}

pub fn user_id_type(op: Operation) -> Operation {
    op.query(
        "user_id_type",
        one_of_values(["open_id", "union_id", "user_id"]),
        false,
    )
}

pub fn paged(op: Operation) -> Operation {
    op.query("page_size", integer(), false)
        .query("page_token", string(), false)
}

pub fn json(op: Operation, body: impl Into<Schema>) -> Operation {
    op.body(JSON, body.into(), true)
}

pub fn empty() -> Schema {
    object().into()
}

pub fn page(items_key: &str, item: Schema) -> Schema {
    object()
        .field(items_key, array(item))
        .field("has_more", boolean())
        .optional("page_token", string())
        .into()
}
