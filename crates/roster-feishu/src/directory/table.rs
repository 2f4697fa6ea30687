//! The contact directory's endpoint table: each route's OpenAPI operation and handler.

use crate::directory;
use crate::openapi::{api, json, user_id_type, Table, PREFIX};
use roster_http::openapi::{array, boolean, object, one_of_values, string, HttpMethod, Schema};

fn contact_user() -> Schema {
    object()
        .field("name", string())
        .optional("user_id", string())
        .optional("open_id", string())
        .optional("union_id", string())
        .into()
}

/// Users and the contact directory.
pub fn users() -> Table {
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
