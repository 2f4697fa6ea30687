use roster_core::{Entity, Refusal, StoreError};
use serde::{Deserialize, Serialize};

use super::{attrs_value, decode, Directory, Fault, Record, DEPARTMENT, USER};

const USERID_MAX_BYTES: usize = 64;
const NAME_MAX_CHARS: usize = 64;
const DEPARTMENTS_PER_USER: usize = 100;

/// A member of the corp, in WeCom's terms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct UserAttrs {
    pub userid: String,
    pub name: String,
    pub department: Vec<i64>,
    /// Sort value in each of `department`, same order.
    pub order: Vec<i64>,
    pub position: String,
    pub mobile: String,
    /// `"0"` unset, `"1"` male, `"2"` female.
    pub gender: String,
    pub email: String,
    pub telephone: String,
    pub alias: String,
    /// 1 or 0 for each of `department`, same order.
    pub is_leader_in_dept: Vec<i64>,
    pub main_department: i64,
    /// 1 active.
    pub status: i64,
}

impl UserAttrs {
    /// A user with only what the seed gives; the rest takes WeCom's defaults.
    pub(crate) fn new(userid: String, name: String, department: Vec<i64>) -> Self {
        Self {
            order: vec![0; department.len()],
            is_leader_in_dept: vec![0; department.len()],
            main_department: department.first().copied().unwrap_or(super::ROOT),
            gender: "0".into(),
            status: 1,
            userid,
            name,
            department,
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub attrs: UserAttrs,
}

impl Record for User {
    const KIND: &'static str = USER;

    fn not_found() -> Fault {
        Fault::UserNotFound
    }

    fn from_entity(entity: &Entity) -> Result<Self, StoreError> {
        Ok(Self {
            attrs: decode(entity)?,
        })
    }
}

/// WeCom userids are unique regardless of case, so users are keyed by the lower-cased id.
pub(crate) fn user_key(userid: &str) -> String {
    userid.to_lowercase()
}

impl Directory {
    pub(crate) async fn user(&self, userid: &str) -> Result<User, Fault> {
        self.record(&user_key(userid)).await
    }

    /// Create users, all or none: `UserExists` if any userid is taken.
    pub(crate) async fn create_users(&self, users: Vec<UserAttrs>) -> Result<(), Fault> {
        let mut departments: Vec<String> = Vec::new();
        for user in &users {
            check_user(user)?;
            departments.extend(user.department.iter().map(i64::to_string));
        }
        departments.sort();
        departments.dedup();
        let found = self
            .engine
            .store
            .find_entities(self.corp.space, DEPARTMENT, &departments)
            .await?;
        if found.len() != departments.len() {
            return Err(Fault::UserDepartmentsInvalid);
        }
        let mut plan = self.plan();
        for user in &users {
            plan.create(USER, user_key(&user.userid), attrs_value(user), None);
        }
        match self.engine.store.apply(plan).await {
            Ok(_) => Ok(()),
            Err(StoreError::Refused {
                refusal: Refusal::KeyTaken,
                ..
            }) => Err(Fault::UserExists),
            Err(e) => Err(e.into()),
        }
    }

    /// The users directly in a department, in creation order.
    pub(crate) async fn users_in_department(&self, department: i64) -> Result<Vec<User>, Fault> {
        let mut users: Vec<User> = self.records().await?;
        users.retain(|user| user.attrs.department.contains(&department));
        Ok(users)
    }

    /// do1's own id of the user.
    pub(crate) fn qwif_user_id(&self, user: &User) -> String {
        self.qwif_id(USER, &user_key(&user.attrs.userid))
    }

    /// Which of these userids name no user of the corp.
    pub(crate) async fn unknown_users(&self, userids: &[String]) -> Result<Vec<String>, Fault> {
        let keys: Vec<String> = userids.iter().map(|id| user_key(id)).collect();
        let found = self
            .engine
            .store
            .find_entities(self.corp.space, USER, &keys)
            .await?;
        Ok(userids
            .iter()
            .zip(&keys)
            .filter(|(_, key)| !found.contains_key(*key))
            .map(|(id, _)| id.clone())
            .collect())
    }
}

/// WeCom's rules for a new user: a userid of 1 to 64 bytes of letters, digits and `_-@.`,
/// starting with a letter or digit; a name of 1 to 64 characters; 1 to 100 departments.
pub(crate) fn check_user(user: &UserAttrs) -> Result<(), Fault> {
    let id = user.userid.as_bytes();
    let valid_id = !id.is_empty()
        && id.len() <= USERID_MAX_BYTES
        && id[0].is_ascii_alphanumeric()
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"_-@.".contains(b));
    if !valid_id {
        return Err(Fault::UserIdInvalid);
    }
    let name = user.name.chars().count();
    if name == 0 || name > NAME_MAX_CHARS {
        return Err(Fault::UserNameInvalid);
    }
    let mut departments = user.department.clone();
    departments.sort_unstable();
    departments.dedup();
    if departments.is_empty()
        || departments.len() != user.department.len()
        || departments.len() > DEPARTMENTS_PER_USER
    {
        return Err(Fault::UserDepartmentsInvalid);
    }
    Ok(())
}
