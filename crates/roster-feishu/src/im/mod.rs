//! IM chats (`/open-apis/im/v1/chats`): a chat is an entity of its tenant's space, its users
//! and bots are edges of the engine.

pub mod chat;
pub mod routes;
pub mod table;

use std::borrow::Cow;

use axum::http::StatusCode;

use crate::wire::VendorError;

/// The IM errors roster answers, with the messages of the vendor's tables; all HTTP 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImError {
    InvalidParameter,
    InvalidChatId,
    OtherTenant,
    NotInChat,
    ChatFull,
    NoPermission,
    NoValidMembers,
    PublicChatName,
    UnavailableIds,
    OwnerStays,
}

impl VendorError for ImError {
    fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    fn code(&self) -> i64 {
        match self {
            ImError::InvalidParameter => 232001,
            ImError::InvalidChatId => 232006,
            ImError::OtherTenant => 232010,
            ImError::NotInChat => 232011,
            ImError::ChatFull => 232013,
            ImError::NoPermission => 232014,
            ImError::NoValidMembers => 232027,
            ImError::PublicChatName => 232042,
            ImError::UnavailableIds => 232043,
            ImError::OwnerStays => 232076,
        }
    }

    fn msg(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            ImError::InvalidParameter => "Your request contains an invalid request parameter.",
            ImError::InvalidChatId => "Your request specifies a chat_id which is invalid.",
            ImError::OtherTenant => "Operator and chat can NOT be in different tenants.",
            ImError::NotInChat => "Operator can NOT be out of the chat.",
            ImError::ChatFull => {
                "You have reached the limit of maximum number of members a chat can have."
            }
            ImError::NoPermission => {
                "The token used in the request does NOT have the permissions necessary to complete the request."
            }
            ImError::NoValidMembers => {
                "There are no valid members in the ID list specified in your request."
            }
            ImError::PublicChatName => "Public group chat's name should not be empty.",
            ImError::UnavailableIds => "Your request contains unavailable ids.",
            ImError::OwnerStays => "Can't kick chat owner.",
        })
    }
}
