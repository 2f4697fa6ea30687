//! What differs between Task v1 endpoints: the HTTP status and wording of each business code,
//! the internal-failure code, and the rate-limit tier. All of it from the vendor's per-endpoint
//! error tables (the same code can carry another status or message on another endpoint).

use axum::http::StatusCode;

use super::v2;
use crate::wire::{ApiError, INTERNAL_ERROR};

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
    pub fn invalid_id(self) -> i64 {
        match self {
            Role::Follower => 1470412,
            Role::Collaborator => 1470413,
        }
    }

    /// The task would have more members than its cap.
    pub fn full(self) -> i64 {
        match self {
            Role::Follower => 1470428,
            Role::Collaborator => 1470429,
        }
    }

    /// Every requested user already has the role.
    pub fn all_present(self) -> i64 {
        match self {
            Role::Follower => 1470430,
            Role::Collaborator => 1470431,
        }
    }

    /// The user to remove does not have the role.
    pub fn not_member(self) -> i64 {
        match self {
            Role::Follower => 1470710,
            Role::Collaborator => 1470700,
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

/// Which of Feishu's rate-limit tiers an endpoint is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// 100 requests a minute.
    Three,
    /// 1000 requests a minute and 50 a second.
    Four,
    /// 10 requests a second (Task v2's reads and writes of one task).
    TenPerSecond,
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
    fn sentences(self, code: i64) -> bool {
        match self {
            Endpoint::Create | Endpoint::Complete | Endpoint::AddMembers(Role::Collaborator) => {
                true
            }
            Endpoint::AddMembers(Role::Follower) => matches!(code, 1470403 | 1470602),
            Endpoint::ListMembers(Role::Follower) => true,
            _ => false,
        }
    }

    fn status(self, code: i64) -> StatusCode {
        let newer = matches!(
            self,
            Endpoint::Create | Endpoint::Complete | Endpoint::AddMembers(Role::Collaborator)
        );
        match code {
            1470403 if newer => StatusCode::UNAUTHORIZED,
            1470403 => StatusCode::FORBIDDEN,
            1470450 if newer => StatusCode::TOO_MANY_REQUESTS,
            1470700 | 1470710 => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The business error `code` as this endpoint answers it.
    pub fn error(self, code: i64) -> ApiError {
        if let Endpoint::V2(_) = self {
            return v2::error(code);
        }
        let msg = message(code, self.sentences(code));
        let msg = match (self, code) {
            (Endpoint::Patch, 1470404) => {
                "be refused to create or update task, perhaps you have no permission"
            }
            _ => msg,
        };
        ApiError::new(self.status(code), code, msg)
    }

    /// Whether the endpoint documents `1470450` (the others are throttled by the gateway).
    pub fn documents_too_fast(self) -> bool {
        !matches!(
            self,
            Endpoint::Get | Endpoint::List | Endpoint::ListMembers(_) | Endpoint::V2(_)
        )
    }

    /// The code refusing a caller without the access needed: Task v2's `1470403`; in Task v1
    /// `1470432` where the endpoint documents it for a caller who may not even see the task,
    /// `1470404` otherwise.
    pub fn no_access(self, sees_task: bool) -> i64 {
        match self {
            Endpoint::V2(_) => 1470403,
            Endpoint::Get
            | Endpoint::ListMembers(_)
            | Endpoint::Complete
            | Endpoint::Uncomplete
                if !sees_task =>
            {
                1470432
            }
            _ => 1470404,
        }
    }

    /// The code of a task that does not exist (or no longer does).
    pub fn no_task(self) -> i64 {
        match self {
            Endpoint::V2(_) => 1470404,
            _ => 1470602,
        }
    }

    /// The refusal of a page token that is malformed, edited or from another list.
    pub fn bad_page_token(self) -> ApiError {
        match self {
            Endpoint::V2(_) => v2::invalid("page_token", "page_token is invalid"),
            _ => self.error(1470422),
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
            Endpoint::V2(_) => (1470500, 500, v2::SERVER_ERROR),
            Endpoint::Get | Endpoint::ListMembers(_) => return None,
        };
        let status = StatusCode::from_u16(status).expect("valid status");
        Some(ApiError::new(status, code, msg))
    }

    /// Replace roster's generic internal error with the endpoint's documented one.
    pub fn settle(self, error: ApiError) -> ApiError {
        match self.internal_failure() {
            Some(documented) if error.code == INTERNAL_ERROR => documented,
            _ => error,
        }
    }
}

/// Task v1's business codes, worded as the newer (`sentences`) or older doc pages do.
fn message(code: i64, sentences: bool) -> &'static str {
    match (code, sentences) {
        (1470403, true) => "The identity token is incorrect. It should be either user_access_token or tenant_access_token.",
        (1470403, false) => "request forbidden",
        (1470404, true) => "Be refused to update task, possibly due to lack of permission.",
        (1470404, false) => "be refused to create or update task",
        (1470412, _) => "invalid follower id",
        (1470413, _) => "invalid collaborator id",
        (1470414, true) => "Invalid timezone.",
        (1470414, false) => "invalid time zone",
        (1470415, true) => "Invalid platform_i18n_name.",
        (1470415, false) => "invalid platform_i18n_name",
        (1470416, _) => "Both summary and rich_summary are empty.",
        (1470421, _) => "page_size exceed 100",
        (1470422, _) => "failed to parse page_token",
        (1470423, _) => "task id is missing",
        (1470424, _) => "update_fields include unknown field",
        (1470425, _) => "update_fields include forbidden field",
        (1470426, _) => "expected one or more update field",
        (1470428, _) => "total follower exceeds limit",
        (1470429, _) => "The total number of collaborators exceeds the maximum number limit.",
        (1470430, _) => "followers existed in task",
        (1470431, _) => "Users are all collaborators of tasks.",
        (1470432, true) => "No permission to get the task.",
        (1470432, false) => "have no permission to get task",
        (1470433, _) => "todo has been deleted",
        (1470434, true) => "Invalid repeat rule, please check the format.",
        (1470434, false) => "invalid repeat rule, please check the format",
        (1470435, true) => "Failed to decode extra by base64.",
        (1470435, false) => "decode extra by base64 failed",
        (1470436, true) => "Failed to parse url of origin, should start with http, https or applink.",
        (1470436, false) => "failed to parse url of origin, should start with http, https or applink",
        (1470437, true) => "Summary or description length exceed limit, the maximum length of summary is 256, the maximum length of description is 65536.",
        (1470437, false) => "summary or description length exceed limit, the maximum length of summary is 256, the maximum length of description is 65536",
        (1470438, true) => "Invalid custom, please check the format.",
        (1470438, false) => "invalid custom, please check the format",
        (1470439, true) => "Failed to get time by timestamp.",
        (1470439, false) => "failed to get time by timestamp",
        (1470450, true) => "There are too many requests currently, please try again later.",
        (1470450, false) => "request too fast",
        (1470451, true) => "Operation requests for the same task are too frequent.",
        (1470451, false) => "request api concurrently",
        (1470602, true) => "Invalid task id.",
        (1470602, false) => "task not found",
        (1470700, _) => "task collaborator not found",
        (1470710, _) => "task follower not found",
        _ => unreachable!("task error code {code} has no message"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_words_follow_each_endpoints_table() {
        let follower_add = Endpoint::AddMembers(Role::Follower);
        let wrong = follower_add.error(1470403);
        assert_eq!((wrong.status, wrong.msg.as_str()), (StatusCode::FORBIDDEN,
            "The identity token is incorrect. It should be either user_access_token or tenant_access_token."));
        assert_eq!(follower_add.error(1470450).status, StatusCode::BAD_REQUEST);
        assert_eq!(follower_add.error(1470450).msg, "request too fast");
        assert_eq!(follower_add.error(1470602).msg, "Invalid task id.");
        assert_eq!(
            Endpoint::Create.error(1470403).status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            Endpoint::Complete.error(1470450).status,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(Endpoint::Get.error(1470602).msg, "task not found");
        assert_eq!(
            Endpoint::RemoveMember(Role::Follower).error(1470710).status,
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
