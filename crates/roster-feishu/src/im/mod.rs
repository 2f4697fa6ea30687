//! IM chats (`/open-apis/im/v1/chats`): a chat is an entity of its tenant's space, its users
//! and bots are edges of the engine.

pub mod chat;
pub mod routes;

use crate::wire::ApiError;

/// An IM error code and the message of the vendor's tables; all are HTTP 400.
pub type ImError = (i64, &'static str);

pub const INVALID_PARAMETER: ImError = (
    232001,
    "Your request contains an invalid request parameter.",
);
pub const INVALID_CHAT_ID: ImError = (232006, "Your request specifies a chat_id which is invalid.");
pub const OTHER_TENANT: ImError = (232010, "Operator and chat can NOT be in different tenants.");
pub const NOT_IN_CHAT: ImError = (232011, "Operator can NOT be out of the chat.");
pub const NO_PERMISSION: ImError = (
    232014,
    "The token used in the request does NOT have the permissions necessary to complete the request.",
);
pub const CHAT_FULL: ImError = (
    232013,
    "You have reached the limit of maximum number of members a chat can have.",
);
pub const NO_VALID_MEMBERS: ImError = (
    232027,
    "There are no valid members in the ID list specified in your request.",
);
pub const PUBLIC_CHAT_NAME: ImError = (232042, "Public group chat's name should not be empty.");
pub const UNAVAILABLE_IDS: ImError = (232043, "Your request contains unavailable ids.");
pub const OWNER_STAYS: ImError = (232076, "Can't kick chat owner.");

pub fn error((code, msg): ImError) -> ApiError {
    ApiError::bad_request(code, msg)
}
