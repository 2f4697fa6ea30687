//! How a user is rendered: the contact v3 user object and the authen v1 user info, each with
//! every field the vendor documents, in the vendor's types. Fields roster keeps no value for
//! are their type's empty value (`""`, `[]`, `false`), never missing: strictly typed clients
//! require them.

use roster_core::Entity;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::model::{open_id, union_id};
use crate::tenants::App;

/// The user attributes roster keeps (seed file or `contact/v3/users` create).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Profile {
    name: String,
    en_name: String,
    nickname: String,
    email: String,
    enterprise_email: String,
    mobile: String,
    avatar_url: String,
    employee_no: String,
    gender: i64,
    department_ids: Vec<String>,
    employee_type: Option<i64>,
    job_title: String,
    city: String,
    country: String,
}

impl Profile {
    fn of(user: &Entity) -> Self {
        // Attributes of another shape (never written by roster) read as empty.
        serde_json::from_value(user.attrs.clone()).unwrap_or_default()
    }
}

/// The user's three ids as `app` sees them.
fn ids(app: &App, user: &Entity) -> (String, String, String) {
    let tenant = &app.tenant.key;
    (
        user.key.clone(),
        open_id(tenant, &app.app_id, &user.key),
        union_id(tenant, &user.key),
    )
}

/// The contact v3 user object (`GET /contact/v3/users/:id`, `batch`, create).
pub fn contact_user(app: &App, user: &Entity) -> Value {
    let p = Profile::of(user);
    let (user_id, open_id, union_id) = ids(app, user);
    json!({
        "union_id": union_id,
        "user_id": user_id,
        "open_id": open_id,
        "name": p.name,
        "en_name": p.en_name,
        "nickname": p.nickname,
        "email": p.email,
        "enterprise_email": p.enterprise_email,
        "mobile": p.mobile,
        "mobile_visible": true,
        "gender": p.gender,
        "avatar": {
            "avatar_72": p.avatar_url,
            "avatar_240": p.avatar_url,
            "avatar_640": p.avatar_url,
            "avatar_origin": p.avatar_url,
        },
        "status": {
            "is_frozen": false,
            "is_resigned": false,
            "is_activated": true,
            "is_exited": false,
            "is_unjoin": false,
        },
        "department_ids": p.department_ids,
        "leader_user_id": "",
        "city": p.city,
        "country": p.country,
        "work_station": "",
        "join_time": user.created_at,
        "is_tenant_manager": false,
        "employee_no": p.employee_no,
        "employee_type": p.employee_type.unwrap_or(1),
        "orders": [],
        "custom_attrs": [],
        "job_title": p.job_title,
        "geo": "",
        "job_level_id": "",
        "job_family_id": "",
        "assign_info": [],
        "department_path": [],
        "dotted_line_leader_user_ids": [],
    })
}

/// The authen v1 user info (`GET /authen/v1/user_info`; also in the legacy token answers).
pub fn user_info(app: &App, user: &Entity) -> Value {
    let p = Profile::of(user);
    let (user_id, open_id, union_id) = ids(app, user);
    json!({
        "name": p.name,
        "en_name": p.en_name,
        "avatar_url": p.avatar_url,
        "avatar_thumb": p.avatar_url,
        "avatar_middle": p.avatar_url,
        "avatar_big": p.avatar_url,
        "open_id": open_id,
        "union_id": union_id,
        "email": p.email,
        "enterprise_email": p.enterprise_email,
        "user_id": user_id,
        "mobile": p.mobile,
        "tenant_key": app.tenant.key,
        "employee_no": p.employee_no,
    })
}
