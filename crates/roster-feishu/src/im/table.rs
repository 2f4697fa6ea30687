//! IM's endpoint table: each route's OpenAPI operation and handler.

use crate::im;
use crate::openapi::{api, json, page, paged, user_id_type, Table, PREFIX};
use roster_http::openapi::{
    array, boolean, integer, object, one_of_values, string, HttpMethod, Operation,
};

/// IM chats and their members.
pub fn chats() -> Table {
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
