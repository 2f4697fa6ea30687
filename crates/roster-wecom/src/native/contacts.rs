//! `cgi-bin/user/*` and `cgi-bin/department/*`: enough of the contact directory to give tags
//! members.

use serde::Serialize;
use serde_json::Value;

use super::{reply, Answer, Call, Nothing};
use crate::directory::{subtree, Fault, NewDepartment, UserAttrs, ROOT};
use crate::request::{id_text, int};

const MOBILE_MAX_CHARS: usize = 32;
const EMAIL_MAX_CHARS: usize = 64;

/// `POST user/create`
pub(super) async fn create_user(call: Call) -> Answer<Nothing> {
    let body = &call.body;
    let text = |name: &str| body.get(name).and_then(id_text).unwrap_or_default();
    let department = match body.get("department") {
        None | Some(Value::Null) => vec![ROOT],
        Some(Value::Array(ids)) => ids
            .iter()
            .map(int)
            .collect::<Option<_>>()
            .ok_or(Fault::UserDepartmentsInvalid)?,
        Some(one) => vec![int(one).ok_or(Fault::UserDepartmentsInvalid)?],
    };
    let mut user = UserAttrs::new(text("userid"), text("name"), department);
    user.position = text("position");
    user.mobile = text("mobile");
    user.email = text("email");
    user.telephone = text("telephone");
    user.alias = text("alias");
    user.gender = match body.get("gender").map(|g| id_text(g).unwrap_or_default()) {
        None => "0".into(),
        Some(gender) if ["0", "1", "2"].contains(&gender.as_str()) => gender,
        Some(_) => return Err(Fault::invalid("gender must be 1 or 2").into()),
    };
    check_contact(&user)?;
    call.dir.create_users(vec![user]).await?;
    Ok(reply("created", Nothing {}))
}

/// WeCom's rules for a member's contact fields: a mobile or an email, each well-formed.
fn check_contact(user: &UserAttrs) -> Result<(), Fault> {
    if user.mobile.is_empty() && user.email.is_empty() {
        return Err(Fault::NoMobileOrEmail);
    }
    let mobile_ok = user.mobile.chars().count() <= MOBILE_MAX_CHARS
        && user
            .mobile
            .chars()
            .all(|c| c.is_ascii_digit() || c == '+' || c == '-');
    if !mobile_ok {
        return Err(Fault::MobileInvalid);
    }
    let email_ok = user.email.is_empty()
        || (user.email.chars().count() <= EMAIL_MAX_CHARS
            && user.email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.contains('@')
            }));
    if !email_ok {
        return Err(Fault::EmailInvalid);
    }
    Ok(())
}

/// The member as `user/get` shows it.
#[derive(Serialize)]
pub(super) struct UserView {
    userid: String,
    name: String,
    department: Vec<i64>,
    order: Vec<i64>,
    position: String,
    mobile: String,
    gender: String,
    email: String,
    is_leader_in_dept: Vec<i64>,
    direct_leader: Vec<String>,
    avatar: String,
    thumb_avatar: String,
    telephone: String,
    alias: String,
    status: i64,
    address: String,
    main_department: i64,
}

/// `GET user/get?userid=`
pub(super) async fn get_user(call: Call) -> Answer<UserView> {
    let userid = call.params.get("userid").ok_or(Fault::UserNotFound)?;
    let user = call.dir.user(userid).await?.attrs;
    Ok(reply(
        "ok",
        UserView {
            userid: user.userid,
            name: user.name,
            department: user.department,
            order: user.order,
            position: user.position,
            mobile: user.mobile,
            gender: user.gender,
            email: user.email,
            is_leader_in_dept: user.is_leader_in_dept,
            direct_leader: Vec::new(),
            avatar: String::new(),
            thumb_avatar: String::new(),
            telephone: user.telephone,
            alias: user.alias,
            status: user.status,
            address: String::new(),
            main_department: user.main_department,
        },
    ))
}

#[derive(Serialize)]
pub(super) struct CreatedDepartment {
    id: i64,
}

/// `POST department/create {"name", "name_en"?, "parentid", "order"?, "id"?}`
pub(super) async fn create_department(call: Call) -> Answer<CreatedDepartment> {
    let body = &call.body;
    let name = body.get("name").and_then(id_text).unwrap_or_default();
    let parentid = body
        .get("parentid")
        .and_then(int)
        .ok_or(Fault::ParentNotFound)?;
    let mut new = NewDepartment::new(name, parentid);
    new.name_en = body.get("name_en").and_then(id_text).unwrap_or_default();
    new.order = optional_int(body.get("order"), "order")?.unwrap_or(0);
    new.id = match body.get("id") {
        None | Some(Value::Null) => None,
        Some(id) => Some(int(id).ok_or(Fault::DepartmentIdInvalid)?),
    };
    let department = call.dir.create_department(new).await?;
    Ok(reply("created", CreatedDepartment { id: department.id }))
}

fn optional_int(value: Option<&Value>, name: &'static str) -> Result<Option<i64>, Fault> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => int(value)
            .map(Some)
            .ok_or_else(|| Fault::invalid(format!("{name} must be an integer"))),
    }
}

#[derive(Serialize)]
pub(super) struct DepartmentList {
    department: Vec<DepartmentView>,
}

#[derive(Serialize)]
struct DepartmentView {
    id: i64,
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    name_en: String,
    department_leader: Vec<String>,
    parentid: i64,
    order: i64,
}

/// `GET department/list[?id=]`: the department and everything under it; the whole tree
/// without `id`.
pub(super) async fn list_departments(call: Call) -> Answer<DepartmentList> {
    let root = match call.params.get("id") {
        None => ROOT,
        Some(id) => call.dir.department_by_text(id).await?.id,
    };
    let all = call.dir.departments().await?;
    let department = subtree(&all, root)
        .into_iter()
        .map(|d| DepartmentView {
            id: d.id,
            name: d.attrs.name.clone(),
            name_en: d.attrs.name_en.clone(),
            department_leader: d.attrs.leaders.clone(),
            parentid: d.attrs.parentid,
            order: d.attrs.order,
        })
        .collect();
    Ok(reply("ok", DepartmentList { department }))
}
