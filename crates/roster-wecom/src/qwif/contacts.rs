//! `api/deptAPI/*` and `api/userAPI/*`: do1's view of the corp's departments and users.
//! Departments are WeCom's, one to one (the root included); do1 addresses them by its own
//! `id` and shows WeCom's id as `wxId`.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{success, Answer, Call};
use crate::directory::{subtree, Department, Directory, Fault, NewDepartment, User, ROOT};
use crate::request::{id_text, int};

/// do1's department object; ids are strings, `showOrder` a number.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeptInfo {
    id: String,
    department_name: String,
    /// Names from the root down, joined by `->`.
    dept_full_name: String,
    org_id: String,
    /// do1 id of the parent; empty for the root.
    parent_depart: String,
    permission: String,
    show_order: i64,
    wx_id: String,
    wx_parentid: String,
    /// Heads of the department, userids joined by `|` (detail and create answers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    receive_wx_user_id: Option<String>,
}

/// Renders departments with what their ancestors contribute (full name, parent's do1 id).
struct Departments<'a> {
    by_id: HashMap<i64, &'a Department>,
    org_id: &'a str,
}

impl<'a> Departments<'a> {
    fn new(dir: &'a Directory, all: &'a [Department]) -> Self {
        Self {
            by_id: all.iter().map(|d| (d.id, d)).collect(),
            org_id: &dir.corp.attrs.corp_id,
        }
    }

    fn info(&self, department: &Department, with_heads: bool) -> DeptInfo {
        let mut path = vec![department.attrs.name.as_str()];
        let mut current = self.by_id.get(&department.attrs.parentid);
        while let Some(parent) = current.filter(|_| path.len() <= self.by_id.len()) {
            path.push(&parent.attrs.name);
            current = self.by_id.get(&parent.attrs.parentid);
        }
        path.reverse();
        let parent = self.by_id.get(&department.attrs.parentid);
        DeptInfo {
            id: department.attrs.qwif_id.clone(),
            department_name: department.attrs.name.clone(),
            dept_full_name: path.join("->"),
            org_id: self.org_id.to_string(),
            parent_depart: parent.map(|p| p.attrs.qwif_id.clone()).unwrap_or_default(),
            permission: department.attrs.permission.clone(),
            show_order: department.attrs.order,
            wx_id: department.id.to_string(),
            wx_parentid: department.attrs.parentid.to_string(),
            receive_wx_user_id: with_heads.then(|| department.attrs.leaders.join("|")),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeptPage {
    curr_page: i64,
    max_page: i64,
    page_size: i64,
    total_rows: i64,
    page_data: Vec<DeptInfo>,
}

/// `POST api/deptAPI/getAllDept.do`, part `data`: `{"currentPage", "pageSize"}` (default 1
/// and 10). Departments in tree order: parents before children.
pub(super) async fn all_departments(call: Call) -> Answer<DeptPage> {
    let data = call.data_or_empty();
    let page = positive(&data, "currentPage")?.unwrap_or(1);
    let size = positive(&data, "pageSize")?.unwrap_or(10);
    let all = call.dir.departments().await?;
    let ordered = subtree(&all, ROOT);
    let departments = Departments::new(&call.dir, &all);
    let total = ordered.len() as i64;
    let skip = (page - 1).saturating_mul(size);
    let page_data = ordered
        .into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(size).unwrap_or(usize::MAX))
        .map(|d| departments.info(d, false))
        .collect();
    Ok(success(DeptPage {
        curr_page: page,
        max_page: page_count(total, size),
        page_size: size,
        total_rows: total,
        page_data,
    }))
}

/// `ceil(total / size)` for a positive `size`, without overflow for any `size`.
fn page_count(total: i64, size: i64) -> i64 {
    if total == 0 {
        0
    } else {
        (total - 1) / size + 1
    }
}

fn positive(data: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, Fault> {
    match data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match int(value) {
            Some(n) if n >= 1 => Ok(Some(n)),
            _ => Err(Fault::invalid(format!("{name} must be a positive integer"))),
        },
    }
}

#[derive(Serialize)]
pub(super) struct DeptList {
    #[serde(rename = "departmentList")]
    departments: Vec<DeptInfo>,
}

/// `GET api/deptAPI/getDeptByDeptId.do?depaId=<do1 id>|<do1 id>`: ids that name no
/// department are left out.
pub(super) async fn departments_by_id(call: Call) -> Answer<DeptList> {
    let ids = call
        .params
        .get("depaId")
        .ok_or_else(|| Fault::invalid("depaId is missing"))?;
    let all = call.dir.departments().await?;
    let departments = Departments::new(&call.dir, &all);
    let mut found = Vec::new();
    for id in ids.split('|') {
        match call.dir.department_by_qwif_id(id).await {
            Ok(department) => found.push(departments.info(&department, true)),
            Err(Fault::DepartmentNotFound) => {}
            Err(fault) => return Err(fault.into()),
        }
    }
    Ok(success(DeptList { departments: found }))
}

#[derive(Serialize)]
pub(super) struct CreatedDept {
    depart: DeptInfo,
}

/// `POST api/deptAPI/addDepart.do`, part `deptInfo`: `{"departmentName", "parentDepart"
/// (do1 id; empty for the root), "showOrder", "permission", "receiveWxUserId" ("a|b")}`
pub(super) async fn add_department(call: Call) -> Answer<CreatedDept> {
    let info = call.data()?;
    let text = |name: &str| info.get(name).and_then(id_text).unwrap_or_default();
    let parent = match text("parentDepart").as_str() {
        "" => ROOT,
        parent => match call.dir.department_by_qwif_id(parent).await {
            Ok(parent) => parent.id,
            Err(Fault::DepartmentNotFound) => return Err(Fault::ParentNotFound.into()),
            Err(fault) => return Err(fault.into()),
        },
    };
    let mut new = NewDepartment::new(text("departmentName"), parent);
    new.order = match info.get("showOrder") {
        None | Some(Value::Null) => 0,
        Some(order) => int(order).ok_or_else(|| Fault::invalid("showOrder must be an integer"))?,
    };
    new.permission = match text("permission").as_str() {
        "" => "1".into(),
        p @ ("1" | "2" | "3") => p.into(),
        _ => return Err(Fault::invalid("permission must be 1, 2 or 3").into()),
    };
    new.leaders = text("receiveWxUserId")
        .split('|')
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .collect();
    let created = call.dir.create_department(new).await?;
    let all = call.dir.departments().await?;
    let depart = Departments::new(&call.dir, &all).info(&created, true);
    Ok(success(CreatedDept { depart }))
}

/// do1's user object: every field a string; roster keeps no value for the empty ones.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UserInfo {
    user_id: String,
    organ_id: String,
    user_status: String,
    follow_time: String,
    head_pic: String,
    name: String,
    department_id: String,
    position: String,
    mobile: String,
    gender: String,
    tel: String,
    tel2: String,
    email: String,
    qq: String,
    weixin_num: String,
    wx_user_id: String,
    birthday: String,
    entry_time: String,
    attribute: String,
    identity: String,
    nick_name: String,
    sort: String,
    user_no: String,
    is_leader: String,
    address: String,
    lunar_calendar: String,
    remind_type: String,
    mark: String,
}

#[derive(Serialize)]
pub(super) struct UserList {
    list: Vec<UserInfo>,
}

/// `GET api/userAPI/getUserByDepartId.do?departId=<do1 id>`: the users directly in it.
pub(super) async fn users_by_department(call: Call) -> Answer<UserList> {
    let id = call
        .params
        .get("departId")
        .ok_or(Fault::DepartmentNotFound)?;
    let department = call.dir.department_by_qwif_id(id).await?;
    let users = call.dir.users_in_department(department.id).await?;
    let list = users
        .iter()
        .map(|user| user_info(&call.dir, user, &department))
        .collect();
    Ok(success(UserList { list }))
}

fn user_info(dir: &Directory, user: &User, department: &Department) -> UserInfo {
    let attrs = &user.attrs;
    let position = attrs.department.iter().position(|d| *d == department.id);
    let in_department = |values: &[i64]| {
        position
            .and_then(|i| values.get(i))
            .copied()
            .unwrap_or(0)
            .to_string()
    };
    UserInfo {
        user_id: dir.qwif_user_id(user),
        organ_id: dir.corp.attrs.corp_id.clone(),
        user_status: attrs.status.to_string(),
        follow_time: String::new(),
        head_pic: String::new(),
        name: attrs.name.clone(),
        department_id: department.attrs.qwif_id.clone(),
        position: attrs.position.clone(),
        mobile: attrs.mobile.clone(),
        gender: attrs.gender.clone(),
        tel: attrs.telephone.clone(),
        tel2: String::new(),
        email: attrs.email.clone(),
        qq: String::new(),
        weixin_num: String::new(),
        wx_user_id: attrs.userid.clone(),
        birthday: String::new(),
        entry_time: String::new(),
        attribute: String::new(),
        identity: String::new(),
        nick_name: String::new(),
        sort: in_department(&attrs.order),
        user_no: String::new(),
        is_leader: in_department(&attrs.is_leader_in_dept),
        address: String::new(),
        lunar_calendar: String::new(),
        remind_type: String::new(),
        mark: String::new(),
    }
}
