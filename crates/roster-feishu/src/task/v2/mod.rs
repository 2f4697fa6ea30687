//! Task v2 (`/open-apis/task/v2`): the same tasks as Task v1 under their `guid` (Task v1's
//! `task_id`), with the same edges: a v2 `assignee` is a v1 collaborator, a v2 `follower` a v1
//! follower. Requests run through Task v1's [`Call`](super::Call) (authentication, rates,
//! access, write sections); what differs is the wire: one error table for every endpoint
//! (`1470400` with the reason in `msg`, `1470403`, `1470404`, `1470500`), millisecond
//! timestamps as strings, `members: [{id, type, role}]` and `client_token` idempotency.

mod idempotency;
pub mod members;
mod naming;
mod object;
mod render;
pub mod subscription;
pub mod table;
mod tasklist_access;
pub mod tasklists;
pub mod tasks;

use axum::http::StatusCode;

use super::throttle::Tier;
use super::Call;
use crate::wire::ApiError;

pub use idempotency::prune_markers;
pub use tasklist_access::access_through_tasklists;
pub use tasklists::TASKLIST_MEMBERS;

/// The Task v2 endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Create,
    Get,
    List,
    Patch,
    Delete,
    AddMembers,
    RemoveMembers,
    AddTasklist,
    RemoveTasklist,
    Tasklists,
    TasklistCreate,
    TasklistGet,
    TasklistList,
    TasklistDelete,
    TasklistAddMembers,
    TasklistRemoveMembers,
    TasklistTasks,
    TaskSubscription,
}

const DEFAULT_PAGE_SIZE: i64 = 50;
const MAX_PAGE_SIZE: i64 = 100;

/// The code of a parameter refused, its reason in `msg`.
pub const INVALID: i64 = 1470400;

/// The code of an internal failure, and its words.
pub const INTERNAL: i64 = 1470500;
pub const SERVER_ERROR: &str = "Server error.";

impl Op {
    /// The documented rates: 10 a second for one task's reads and writes, 100 a minute for a
    /// task's member changes, 1000 a minute and 50 a second for the rest.
    pub fn tier(self) -> Tier {
        match self {
            Op::AddMembers | Op::RemoveMembers => Tier::Three,
            Op::Create | Op::Get | Op::Patch | Op::Delete => Tier::TenPerSecond,
            _ => Tier::Four,
        }
    }
}

/// Task v2's business codes (one table for every endpoint); `1470400`'s reason comes from
/// [`invalid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// `completed_at` set on a task already completed (a `1470400` of its own words).
    AlreadyCompleted,
    NoPermission,
    TasklistNoPermission,
    NotFound,
    TasklistNotFound,
    ConcurrentToken,
    TooManyAssignees,
    TooManyFollowers,
    TooManyTasklistMembers,
}

/// A Task v2 business error with its documented status and words.
pub fn error(code: Code) -> ApiError {
    let (status, number, msg) = match code {
        Code::AlreadyCompleted => (
            StatusCode::BAD_REQUEST,
            INVALID,
            "cannot set non-zero completed_at for a completed task",
        ),
        Code::NoPermission => (
            StatusCode::FORBIDDEN,
            1470403,
            "No permission to access the task.",
        ),
        Code::TasklistNoPermission => (
            StatusCode::FORBIDDEN,
            1470403,
            "No permission to access the tasklist.",
        ),
        Code::NotFound => (
            StatusCode::NOT_FOUND,
            1470404,
            "Task data does not exist or has been deleted.",
        ),
        Code::TasklistNotFound => (
            StatusCode::NOT_FOUND,
            1470404,
            "The tasklist does not exist or has been deleted.",
        ),
        Code::ConcurrentToken => (
            StatusCode::INTERNAL_SERVER_ERROR,
            1470422,
            "Using the same client_token concurrently calling api",
        ),
        Code::TooManyAssignees => (
            StatusCode::BAD_REQUEST,
            1470610,
            "The number of task assignees exceeds the maximum limit.",
        ),
        Code::TooManyFollowers => (
            StatusCode::BAD_REQUEST,
            1470611,
            "The number of task followers exceeds the maximum limit.",
        ),
        Code::TooManyTasklistMembers => (
            StatusCode::BAD_REQUEST,
            1470612,
            "The number of tasklist members exceeds the limit.",
        ),
    };
    ApiError::new(status, number, msg)
}

/// `1470400` for the request parameter `param`, worded as the vendor's overview shows:
/// `Invalid Param 'summary', must not be empty.`
pub fn invalid(param: &str, reason: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        INVALID,
        format!("Invalid Param '{param}', {reason}."),
    )
}

/// `page_size`: 1 to 100, 50 when absent.
pub fn page_size(call: &Call) -> Result<u32, ApiError> {
    match call.query.int("page_size")? {
        None => Ok(DEFAULT_PAGE_SIZE as u32),
        Some(size) if (1..=MAX_PAGE_SIZE).contains(&size) => Ok(size as u32),
        Some(_) => Err(invalid(
            "page_size",
            &format!("must be between 1 and {MAX_PAGE_SIZE}"),
        )),
    }
}
