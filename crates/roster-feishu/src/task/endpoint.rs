//! What differs between Task v1 endpoints: the HTTP status and wording of each business code,
//! the internal-failure code, and the rate-limit tier. All of it from the vendor's per-endpoint
//! error tables (the same code can carry another status or message on another endpoint).

use axum::http::StatusCode;

use super::throttle::Tier;
use super::v2;
use crate::wire::ApiError;

/// The two kinds of member a task has, each an engine relation on the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Follower,
    /// An assignee ("执行者").
    Collaborator,
}

impl Role {
    /// The engine relation, and the singular used in JSON keys and paths.
    pub fn relation(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::Collaborator => "collaborator",
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            Role::Follower => "followers",
            Role::Collaborator => "collaborators",
        }
    }

    /// The tenant limit naming the most members of this role one task may have, and its default.
    pub fn cap(self) -> (&'static str, i64) {
        match self {
            // Undocumented; 50 by analogy with collaborators (see docs/compat.md).
            Role::Follower => ("task_followers", 50),
            Role::Collaborator => ("task_collaborators", 50),
        }
    }

    /// An empty id in the request.
    pub fn invalid_id(self) -> Code {
        match self {
            Role::Follower => Code::InvalidFollowerId,
            Role::Collaborator => Code::InvalidCollaboratorId,
        }
    }

    /// The task would have more members than its cap.
    pub fn full(self) -> Code {
        match self {
            Role::Follower => Code::TooManyFollowers,
            Role::Collaborator => Code::TooManyCollaborators,
        }
    }

    /// Every requested user already has the role.
    pub fn all_present(self) -> Code {
        match self {
            Role::Follower => Code::AllFollowers,
            Role::Collaborator => Code::AllCollaborators,
        }
    }

    /// The user to remove does not have the role.
    pub fn not_member(self) -> Code {
        match self {
            Role::Follower => Code::NotFollower,
            Role::Collaborator => Code::NotCollaborator,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Create,
    Get,
    List,
    Patch,
    Delete,
    Complete,
    Uncomplete,
    AddMembers(Role),
    ListMembers(Role),
    RemoveMember(Role),
    BatchRemoveMembers(Role),
    /// A Task v2 endpoint: one error table for all (see [`v2::error`]).
    V2(v2::Op),
}

impl Endpoint {
    pub fn tier(self) -> Tier {
        match self {
            Endpoint::Create | Endpoint::AddMembers(Role::Collaborator) => Tier::Three,
            Endpoint::V2(op) => op.tier(),
            _ => Tier::Four,
        }
    }

    /// The newer doc pages word errors as sentences, the older ones as short phrases; the seed
    /// pages of the follower endpoints mix both.
    fn sentences(self, code: Code) -> bool {
        match self {
            Endpoint::Create | Endpoint::Complete | Endpoint::AddMembers(Role::Collaborator) => {
                true
            }
            Endpoint::AddMembers(Role::Follower) => matches!(code, Code::WrongToken | Code::NoTask),
            Endpoint::ListMembers(Role::Follower) => true,
            _ => false,
        }
    }

    fn status(self, code: Code) -> StatusCode {
        let newer = matches!(
            self,
            Endpoint::Create | Endpoint::Complete | Endpoint::AddMembers(Role::Collaborator)
        );
        match code {
            Code::WrongToken if newer => StatusCode::UNAUTHORIZED,
            Code::WrongToken => StatusCode::FORBIDDEN,
            Code::TooFast if newer => StatusCode::TOO_MANY_REQUESTS,
            Code::NotCollaborator | Code::NotFollower => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The Task v1 business error `code` as this endpoint answers it.
    pub fn error(self, code: Code) -> ApiError {
        let msg = message(code, self.sentences(code));
        let msg = match (self, code) {
            (Endpoint::Patch, Code::Refused) => {
                "be refused to create or update task, perhaps you have no permission"
            }
            _ => msg,
        };
        ApiError::new(self.status(code), code as i64, msg)
    }

    /// Whether the endpoint documents `1470450` (the others are throttled by the gateway).
    pub fn documents_too_fast(self) -> bool {
        !matches!(
            self,
            Endpoint::Get | Endpoint::List | Endpoint::ListMembers(_) | Endpoint::V2(_)
        )
    }

    /// A caller whose token may not call the endpoint (an app access token).
    pub fn wrong_token(self) -> ApiError {
        match self {
            Endpoint::V2(_) => v2::error(v2::Code::NoPermission),
            _ => self.error(Code::WrongToken),
        }
    }

    /// The refusal of a caller without the access needed: Task v2's `1470403`; in Task v1
    /// `1470432` where the endpoint documents it for a caller who may not even see the task,
    /// `1470404` otherwise.
    pub fn no_access(self, sees_task: bool) -> ApiError {
        match self {
            Endpoint::V2(_) => v2::error(v2::Code::NoPermission),
            Endpoint::Get
            | Endpoint::ListMembers(_)
            | Endpoint::Complete
            | Endpoint::Uncomplete
                if !sees_task =>
            {
                self.error(Code::NoPermission)
            }
            _ => self.error(Code::Refused),
        }
    }

    /// The refusal of a task that does not exist (or no longer does).
    pub fn no_task(self) -> ApiError {
        match self {
            Endpoint::V2(_) => v2::error(v2::Code::NotFound),
            _ => self.error(Code::NoTask),
        }
    }

    /// The refusal of a page token that is malformed, edited or from another list.
    pub fn bad_page_token(self) -> ApiError {
        match self {
            Endpoint::V2(_) => v2::invalid("page_token", "page_token is invalid"),
            _ => self.error(Code::BadPageToken),
        }
    }

    /// The endpoint's own answer to a failure of roster itself, if it documents one.
    pub fn internal_failure(self) -> Option<ApiError> {
        let (code, status, msg) = match self {
            Endpoint::Create => (1470600, 500, "Failed to create task."),
            Endpoint::Delete => (1470601, 500, "failed to delete task"),
            Endpoint::Patch => (1470603, 500, "failed to patch task"),
            Endpoint::Complete => (1470604, 500, "Failed to update task completion status."),
            Endpoint::Uncomplete => (1470604, 400, "failed to update task complete status"),
            Endpoint::List => (1470605, 500, "failed to get task list"),
            Endpoint::AddMembers(Role::Follower) => (1470711, 500, "failed to add task followers"),
            Endpoint::AddMembers(Role::Collaborator) => {
                (1470701, 500, "Failed to add task collaborator.")
            }
            Endpoint::RemoveMember(Role::Follower)
            | Endpoint::BatchRemoveMembers(Role::Follower) => {
                (1470712, 500, "failed to remove task follower")
            }
            Endpoint::RemoveMember(Role::Collaborator)
            | Endpoint::BatchRemoveMembers(Role::Collaborator) => {
                (1470702, 500, "failed to remove task collaborator")
            }
            Endpoint::V2(_) => (v2::INTERNAL, 500, v2::SERVER_ERROR),
            Endpoint::Get | Endpoint::ListMembers(_) => return None,
        };
        let status = StatusCode::from_u16(status).expect("valid status");
        Some(ApiError::new(status, code, msg))
    }

    /// Replace roster's generic internal error with the endpoint's documented one, keeping
    /// its cause.
    pub fn settle(self, error: ApiError) -> ApiError {
        match self.internal_failure() {
            Some(documented) if error.is_internal() => ApiError {
                cause: error.cause,
                ..documented
            },
            _ => error,
        }
    }
}

/// Task v1's business codes (the vendor's per-endpoint error tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    WrongToken = 1470403,
    Refused = 1470404,
    InvalidFollowerId = 1470412,
    InvalidCollaboratorId = 1470413,
    InvalidTimezone = 1470414,
    InvalidI18nName = 1470415,
    EmptySummary = 1470416,
    PageSizeTooLarge = 1470421,
    BadPageToken = 1470422,
    MissingTaskId = 1470423,
    UnknownUpdateField = 1470424,
    ForbiddenUpdateField = 1470425,
    NoUpdateField = 1470426,
    TooManyFollowers = 1470428,
    TooManyCollaborators = 1470429,
    AllFollowers = 1470430,
    AllCollaborators = 1470431,
    NoPermission = 1470432,
    Deleted = 1470433,
    InvalidRepeatRule = 1470434,
    BadExtra = 1470435,
    BadOriginUrl = 1470436,
    TooLong = 1470437,
    InvalidCustom = 1470438,
    BadTime = 1470439,
    TooFast = 1470450,
    Busy = 1470451,
    NoTask = 1470602,
    NotCollaborator = 1470700,
    NotFollower = 1470710,
}

/// Task v1's business codes, worded as the newer (`sentences`) or older doc pages do.
fn message(code: Code, sentences: bool) -> &'static str {
    match (code, sentences) {
        (Code::WrongToken, true) => "The identity token is incorrect. It should be either user_access_token or tenant_access_token.",
        (Code::WrongToken, false) => "request forbidden",
        (Code::Refused, true) => "Be refused to update task, possibly due to lack of permission.",
        (Code::Refused, false) => "be refused to create or update task",
        (Code::InvalidFollowerId, _) => "invalid follower id",
        (Code::InvalidCollaboratorId, _) => "invalid collaborator id",
        (Code::InvalidTimezone, true) => "Invalid timezone.",
        (Code::InvalidTimezone, false) => "invalid time zone",
        (Code::InvalidI18nName, true) => "Invalid platform_i18n_name.",
        (Code::InvalidI18nName, false) => "invalid platform_i18n_name",
        (Code::EmptySummary, _) => "Both summary and rich_summary are empty.",
        (Code::PageSizeTooLarge, _) => "page_size exceed 100",
        (Code::BadPageToken, _) => "failed to parse page_token",
        (Code::MissingTaskId, _) => "task id is missing",
        (Code::UnknownUpdateField, _) => "update_fields include unknown field",
        (Code::ForbiddenUpdateField, _) => "update_fields include forbidden field",
        (Code::NoUpdateField, _) => "expected one or more update field",
        (Code::TooManyFollowers, _) => "total follower exceeds limit",
        (Code::TooManyCollaborators, _) => "The total number of collaborators exceeds the maximum number limit.",
        (Code::AllFollowers, _) => "followers existed in task",
        (Code::AllCollaborators, _) => "Users are all collaborators of tasks.",
        (Code::NoPermission, true) => "No permission to get the task.",
        (Code::NoPermission, false) => "have no permission to get task",
        (Code::Deleted, _) => "todo has been deleted",
        (Code::InvalidRepeatRule, true) => "Invalid repeat rule, please check the format.",
        (Code::InvalidRepeatRule, false) => "invalid repeat rule, please check the format",
        (Code::BadExtra, true) => "Failed to decode extra by base64.",
        (Code::BadExtra, false) => "decode extra by base64 failed",
        (Code::BadOriginUrl, true) => "Failed to parse url of origin, should start with http, https or applink.",
        (Code::BadOriginUrl, false) => "failed to parse url of origin, should start with http, https or applink",
        (Code::TooLong, true) => "Summary or description length exceed limit, the maximum length of summary is 256, the maximum length of description is 65536.",
        (Code::TooLong, false) => "summary or description length exceed limit, the maximum length of summary is 256, the maximum length of description is 65536",
        (Code::InvalidCustom, true) => "Invalid custom, please check the format.",
        (Code::InvalidCustom, false) => "invalid custom, please check the format",
        (Code::BadTime, true) => "Failed to get time by timestamp.",
        (Code::BadTime, false) => "failed to get time by timestamp",
        (Code::TooFast, true) => "There are too many requests currently, please try again later.",
        (Code::TooFast, false) => "request too fast",
        (Code::Busy, true) => "Operation requests for the same task are too frequent.",
        (Code::Busy, false) => "request api concurrently",
        (Code::NoTask, true) => "Invalid task id.",
        (Code::NoTask, false) => "task not found",
        (Code::NotCollaborator, _) => "task collaborator not found",
        (Code::NotFollower, _) => "task follower not found",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_words_follow_each_endpoints_table() {
        let follower_add = Endpoint::AddMembers(Role::Follower);
        let wrong = follower_add.error(Code::WrongToken);
        assert_eq!((wrong.status, wrong.msg.as_str()), (StatusCode::FORBIDDEN,
            "The identity token is incorrect. It should be either user_access_token or tenant_access_token."));
        assert_eq!(
            follower_add.error(Code::TooFast).status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(follower_add.error(Code::TooFast).msg, "request too fast");
        assert_eq!(follower_add.error(Code::NoTask).msg, "Invalid task id.");
        assert_eq!(
            Endpoint::Create.error(Code::WrongToken).status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            Endpoint::Complete.error(Code::TooFast).status,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(Endpoint::Get.error(Code::NoTask).msg, "task not found");
        assert_eq!(
            Endpoint::RemoveMember(Role::Follower)
                .error(Code::NotFollower)
                .status,
            StatusCode::NOT_FOUND
        );
        let uncomplete = Endpoint::Uncomplete.internal_failure().unwrap();
        assert_eq!(
            (uncomplete.code, uncomplete.status),
            (1470604, StatusCode::BAD_REQUEST)
        );
        assert!(Endpoint::Get.internal_failure().is_none());
    }
}
