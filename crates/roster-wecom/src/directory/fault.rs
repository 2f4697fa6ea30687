use std::borrow::Cow;

use roster_core::StoreError;

/// Why a directory operation was refused, in vendor-neutral terms. Each variant has one WeCom
/// code; the native dialect sends it as `errcode` with an English `errmsg`, the do1 dialect as
/// a string `code` with a Chinese `desc` (do1 publishes no code table of its own; see
/// docs/compat.md).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Fault {
    #[error("tag id missing")]
    TagIdMissing,
    #[error("tag not found")]
    TagNotFound,
    #[error("invalid tag id")]
    TagIdInvalid,
    #[error("tag id already used")]
    TagIdTaken,
    #[error("tag name empty or longer than 32 characters")]
    TagNameInvalid,
    #[error("tag name already used")]
    TagNameTaken,
    #[error("the corp already has {0} tags")]
    TooManyTags(i64),
    #[error("no users and no departments given")]
    NoMembers,
    #[error("more than {0} users in one call")]
    TooManyUsers(i64),
    #[error("more than {0} departments in one call")]
    TooManyDepartments(i64),
    #[error("a tag has at most {0} members")]
    TagFull(i64),
    #[error("department not found")]
    DepartmentNotFound,
    #[error("parent department not found")]
    ParentNotFound,
    #[error("invalid department id")]
    DepartmentIdInvalid,
    #[error("department id or name already used")]
    DepartmentExists,
    #[error("department name empty or longer than 64 characters")]
    DepartmentNameInvalid,
    #[error("department name contains one of \\:*?\"<>|")]
    DepartmentNameIllegal,
    #[error("departments nest at most 15 deep")]
    DepartmentTooDeep,
    #[error("invalid userid")]
    UserIdInvalid,
    #[error("userid already used")]
    UserExists,
    #[error("user not found")]
    UserNotFound,
    #[error("user name empty or longer than 64 characters")]
    UserNameInvalid,
    #[error("a user belongs to 1 to 100 existing departments")]
    UserDepartmentsInvalid,
    #[error("mobile and email both empty")]
    NoMobileOrEmail,
    #[error("invalid mobile")]
    MobileInvalid,
    #[error("invalid email")]
    EmailInvalid,
    #[error("invalid parameter: {0}")]
    InvalidParameter(Cow<'static, str>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Fault {
    pub(crate) fn invalid(detail: impl Into<Cow<'static, str>>) -> Self {
        Fault::InvalidParameter(detail.into())
    }

    pub(crate) fn code(&self) -> i64 {
        match self {
            Fault::TagIdMissing => 41017,
            Fault::TagNotFound | Fault::TagIdInvalid | Fault::TagIdTaken => 40068,
            Fault::TagNameInvalid => 40072,
            Fault::TagNameTaken => 40071,
            Fault::TooManyTags(_) | Fault::TagFull(_) => 45024,
            Fault::NoMembers => 40063,
            Fault::TooManyUsers(_) | Fault::TooManyDepartments(_) => 81014,
            Fault::DepartmentNotFound => 60003,
            Fault::ParentNotFound => 60004,
            Fault::DepartmentIdInvalid => 60123,
            Fault::DepartmentExists => 60008,
            Fault::DepartmentNameInvalid => 60001,
            Fault::DepartmentNameIllegal => 60009,
            Fault::DepartmentTooDeep => 81002,
            Fault::UserIdInvalid => 40003,
            Fault::UserExists => 60102,
            Fault::UserNotFound => 60111,
            Fault::UserNameInvalid => 60112,
            Fault::UserDepartmentsInvalid => 40066,
            Fault::NoMobileOrEmail => 60129,
            Fault::MobileInvalid => 60103,
            Fault::EmailInvalid => 60105,
            Fault::InvalidParameter(_) => 40058,
            Fault::Store(_) => -1,
        }
    }

    /// The native `errmsg`: WeCom's wording where it is known, its lower-case style otherwise.
    pub(crate) fn errmsg(&self) -> String {
        match self {
            Fault::TagIdMissing => "tagid missing".into(),
            Fault::TagNotFound | Fault::TagIdInvalid => "invalid tagid".into(),
            Fault::TagIdTaken => "invalid tagid, tagid exists".into(),
            Fault::TagNameInvalid => "invalid tagname length".into(),
            Fault::TagNameTaken => "tagname exists".into(),
            Fault::TooManyTags(n) => format!("tag count exceeds the limit of {n}"),
            Fault::TagFull(n) => format!("tag member count exceeds the limit of {n}"),
            Fault::NoMembers => "userlist and partylist are both empty".into(),
            Fault::TooManyUsers(n) => format!("too many users in one call, at most {n}"),
            Fault::TooManyDepartments(n) => format!("too many parties in one call, at most {n}"),
            Fault::DepartmentNotFound => "department not found".into(),
            Fault::ParentNotFound => "parent department not found".into(),
            Fault::DepartmentIdInvalid => "invalid department id".into(),
            Fault::DepartmentExists => "department existed".into(),
            Fault::DepartmentNameInvalid => "invalid department name length".into(),
            Fault::DepartmentNameIllegal => "department name contains invalid characters".into(),
            Fault::DepartmentTooDeep => "department depth exceeds 15".into(),
            Fault::UserIdInvalid => "invalid userid".into(),
            Fault::UserExists => "userid existed".into(),
            Fault::UserNotFound => "userid not found".into(),
            Fault::UserNameInvalid => "invalid name".into(),
            Fault::UserDepartmentsInvalid => "invalid department list".into(),
            Fault::NoMobileOrEmail => "mobile and email are both empty".into(),
            Fault::MobileInvalid => "invalid mobile".into(),
            Fault::EmailInvalid => "invalid email".into(),
            Fault::InvalidParameter(detail) => format!("invalid parameter: {detail}"),
            Fault::Store(_) => "system busy".into(),
        }
    }

    /// The do1 `desc`.
    pub(crate) fn desc(&self) -> String {
        match self {
            Fault::TagIdMissing => "缺少标签ID(wxTagId或id)".into(),
            Fault::TagNotFound => "标签不存在".into(),
            Fault::TagIdInvalid => "标签ID不合法".into(),
            Fault::TagIdTaken => "标签ID已存在".into(),
            Fault::TagNameInvalid => "标签名称不能为空且不能超过32个字".into(),
            Fault::TagNameTaken => "标签名称已存在".into(),
            Fault::TooManyTags(n) => format!("标签数量超过上限{n}"),
            Fault::TagFull(n) => format!("标签成员数量超过上限{n}"),
            Fault::NoMembers => "用户和部门账号列表不能同时为空".into(),
            Fault::TooManyUsers(n) => format!("单次最多{n}个用户"),
            Fault::TooManyDepartments(n) => format!("单次最多{n}个部门"),
            Fault::DepartmentNotFound => "部门不存在".into(),
            Fault::ParentNotFound => "父部门不存在".into(),
            Fault::DepartmentIdInvalid => "部门ID不合法".into(),
            Fault::DepartmentExists => "部门已存在".into(),
            Fault::DepartmentNameInvalid => "部门名称不能为空且不能超过64个字".into(),
            Fault::DepartmentNameIllegal => "部门名称含有非法字符".into(),
            Fault::DepartmentTooDeep => "部门最多15层".into(),
            Fault::UserIdInvalid => "用户账号不合法".into(),
            Fault::UserExists => "用户账号已存在".into(),
            Fault::UserNotFound => "用户不存在".into(),
            Fault::UserNameInvalid => "用户姓名不合法".into(),
            Fault::UserDepartmentsInvalid => "部门列表不合法".into(),
            Fault::NoMobileOrEmail => "手机和邮箱不能同时为空".into(),
            Fault::MobileInvalid => "手机号码不合法".into(),
            Fault::EmailInvalid => "邮箱不合法".into(),
            Fault::InvalidParameter(detail) => format!("参数不合法: {detail}"),
            Fault::Store(_) => "系统繁忙".into(),
        }
    }
}
