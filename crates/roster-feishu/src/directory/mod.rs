//! Users and their three ids: `user_id` (per tenant), `open_id` (per app), `union_id` (per
//! developer). Every user id crossing the wire goes through [`IdType`], in both directions.

pub mod table;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use roster_core::{Entity, EntityId, StepId, Store, StoreError, Target, WritePlan};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{Accepting, TenantOnly, TenantOrUser, UserOnly};
use crate::model::{kunlun_id, open_id, union_id, CREATED_USER, KUNLUN_ID, USER};
use crate::profile::{self, contact_user};
use crate::tenants::{App, Feishu, Tenant};
use crate::tokens::random_hex;
use crate::wire::{success, ApiError, ApiResult, JsonBody, QueryParams, VendorError};

/// The vendor's three id kinds (named after their `user_id_type` values).
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdType {
    OpenId,
    UnionId,
    UserId,
}

impl IdType {
    /// The `user_id_type` (or another named) query parameter; `open_id` when absent.
    pub fn from_query(query: &QueryParams, param: &str) -> Result<Self, ApiError> {
        match query.get(param) {
            None | Some("open_id") => Ok(IdType::OpenId),
            Some("union_id") => Ok(IdType::UnionId),
            Some("user_id") => Ok(IdType::UserId),
            Some(other) => Err(ApiError::field_validation(
                param,
                &format!("{param} must be one of open_id, union_id, user_id; got {other:?}"),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            IdType::OpenId => "open_id",
            IdType::UnionId => "union_id",
            IdType::UserId => "user_id",
        }
    }

    /// The alias namespace holding users' ids of this type.
    pub(crate) fn namespace(self, app: &App) -> String {
        match self {
            IdType::OpenId => format!("open_id/{}", app.app_id),
            IdType::UnionId | IdType::UserId => self.name().to_string(),
        }
    }

    /// The gateway's answer when ids of this type do not exist.
    fn unknown_ids(self, ids: &[&str]) -> ApiError {
        let listed = ids.join(",");
        ApiError::from(DirectoryError::NotExisted(self, listed.clone())).with_violation(
            self.name(),
            Some(&listed),
            "not existed",
        )
    }
}

/// The contact API's refusals, and the gateway's of user ids; all HTTP 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryError {
    /// Ids of this type that name no user of the tenant, comma-separated.
    NotExisted(IdType, String),
    /// open_ids of another app of the tenant.
    CrossApp,
    UserIdExists,
    MobileExists,
    EmailExists,
    /// The user of a user token no longer exists.
    UserNotExist,
}

impl VendorError for DirectoryError {
    fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    fn code(&self) -> i64 {
        match self {
            DirectoryError::NotExisted(IdType::OpenId, _) => 99992351,
            DirectoryError::NotExisted(IdType::UnionId, _) => 99992364,
            DirectoryError::NotExisted(IdType::UserId, _) => 99992360,
            DirectoryError::CrossApp => 99992361,
            DirectoryError::UserIdExists => 41012,
            DirectoryError::MobileExists => 41009,
            DirectoryError::EmailExists => 41010,
            DirectoryError::UserNotExist => 20008,
        }
    }

    fn msg(&self) -> Cow<'static, str> {
        match self {
            DirectoryError::NotExisted(id_type, listed) => {
                let ids = match id_type {
                    IdType::OpenId => "open ids",
                    IdType::UnionId => "union ids",
                    IdType::UserId => "ids",
                };
                format!("these {ids} not existed: [{listed}]").into()
            }
            DirectoryError::CrossApp => "open_id cross app".into(),
            DirectoryError::UserIdExists => "user_id already exists".into(),
            DirectoryError::MobileExists => "mobile already exists".into(),
            DirectoryError::EmailExists => "email already exists".into(),
            DirectoryError::UserNotExist => "user not exist".into(),
        }
    }
}

/// The steps of a user's email and mobile aliases, which are unique per tenant.
pub struct ContactSteps {
    pub email: Option<StepId>,
    pub mobile: Option<StepId>,
}

/// Give `user` (stored by an earlier step or already) every alias it is found by: its ids in
/// every app of the tenant, its email and mobile for batch_get_id, its aPaaS kunlun id.
pub fn index_user(
    plan: &mut WritePlan,
    tenant: &Tenant,
    user: Target,
    user_id: &str,
    attrs: &Value,
) -> ContactSteps {
    plan.set_alias("user_id", user_id, user);
    plan.set_alias("union_id", union_id(&tenant.key, user_id), user);
    for app_id in &tenant.app_ids {
        let alias = open_id(&tenant.key, app_id, user_id);
        plan.set_alias(format!("open_id/{app_id}"), alias, user);
    }
    let mut contact = |field: &str| {
        let value = attrs[field].as_str().filter(|v| !v.is_empty())?;
        Some(plan.set_alias(field, value, user))
    };
    let steps = ContactSteps {
        email: contact("email"),
        mobile: contact("mobile"),
    };
    let kunlun_id = kunlun_id(&tenant.key, user_id, attrs[KUNLUN_ID].as_str());
    plan.set_alias(KUNLUN_ID, kunlun_id, user);
    steps
}

/// Map wire ids of `id_type` to users; ids that name no user of the tenant are left out.
pub async fn resolve(
    feishu: &Feishu,
    app: &App,
    id_type: IdType,
    ids: &[String],
) -> Result<HashMap<String, EntityId>, ApiError> {
    Ok(feishu
        .engine
        .store
        .resolve_aliases(app.tenant.space.id, &id_type.namespace(app), ids)
        .await?)
}

/// The gateway's refusal of `ids`, which name no user of `app` under `id_type`: open_ids that
/// belong to another app of the tenant are "cross app" (99992361), the rest "not existed".
pub async fn refuse_unknown(feishu: &Feishu, app: &App, id_type: IdType, ids: &[&str]) -> ApiError {
    if id_type == IdType::OpenId {
        let wanted: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
        for other in app.tenant.app_ids.iter().filter(|a| **a != app.app_id) {
            let namespace = format!("open_id/{other}");
            let found = feishu
                .engine
                .store
                .resolve_aliases(app.tenant.space.id, &namespace, &wanted)
                .await;
            match found {
                Ok(found) if !found.is_empty() => {
                    let mut cross: Vec<&str> = found.keys().map(String::as_str).collect();
                    cross.sort_unstable();
                    let listed = cross.join(",");
                    return ApiError::from(DirectoryError::CrossApp).with_violation(
                        "open_id",
                        Some(&listed),
                        "an open_id of another app",
                    );
                }
                Ok(_) => {}
                Err(e) => return e.into(),
            }
        }
    }
    id_type.unknown_ids(ids)
}

/// The ids among `ids` that `found` names no user for.
pub fn unresolved<'a>(ids: &'a [String], found: &HashMap<String, EntityId>) -> Vec<&'a str> {
    ids.iter()
        .filter(|id| !found.contains_key(*id))
        .map(String::as_str)
        .collect()
}

/// Map wire ids of `id_type` to users, in order; the gateway's error if any is unknown.
pub async fn resolve_all(
    feishu: &Feishu,
    app: &App,
    id_type: IdType,
    ids: &[String],
) -> Result<Vec<EntityId>, ApiError> {
    let found = resolve(feishu, app, id_type, ids).await?;
    let missing = unresolved(ids, &found);
    if !missing.is_empty() {
        return Err(refuse_unknown(feishu, app, id_type, &missing).await);
    }
    Ok(ids.iter().map(|id| found[id]).collect())
}

/// Map users to their wire ids of `id_type`.
pub async fn render(
    feishu: &Feishu,
    app: &App,
    id_type: IdType,
    users: &[EntityId],
) -> Result<HashMap<EntityId, String>, ApiError> {
    Ok(feishu
        .engine
        .store
        .aliases_of(app.tenant.space.id, &id_type.namespace(app), users)
        .await?)
}

/// The user fields roster keeps; everything else in a create request is accepted and ignored.
#[derive(Deserialize)]
pub struct CreateUser {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    en_name: Option<String>,
    #[serde(default)]
    nickname: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    mobile: Option<String>,
    #[serde(default)]
    gender: Option<i64>,
    #[serde(default)]
    department_ids: Option<Vec<String>>,
    #[serde(default)]
    employee_type: Option<i64>,
    #[serde(default)]
    job_title: Option<String>,
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    enterprise_email: Option<String>,
    #[serde(default)]
    employee_no: Option<String>,
}

/// `POST /open-apis/contact/v3/users` (tenant token). `client_token` makes retries idempotent.
pub async fn create_user(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): TenantOnly,
    query: QueryParams,
    JsonBody(body): JsonBody<CreateUser>,
) -> ApiResult {
    IdType::from_query(&query, "user_id_type")?;
    let tenant = caller.tenant();
    let store = &feishu.engine.store;
    let client_token = query.get("client_token");
    if client_token.is_some_and(|token| token.contains('\0')) {
        return Err(ApiError::field_validation(
            "client_token",
            "holds a NUL character",
        ));
    }
    if let Some(user) = earlier_user(store, tenant, client_token).await? {
        return Ok(success(json!({ "user": contact_user(&caller.app, &user) })));
    }
    let name = body.name.unwrap_or_default();
    if name.trim().is_empty() || name.chars().count() > 64 {
        return Err(ApiError::field_validation(
            "name",
            "name is required, at most 64 characters",
        ));
    }
    let user_id = body
        .user_id
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| random_hex(4));
    let attrs = json!({
        "name": name,
        "en_name": body.en_name.unwrap_or_default(),
        "nickname": body.nickname.unwrap_or_default(),
        "email": body.email.unwrap_or_default(),
        "mobile": body.mobile.unwrap_or_default(),
        "gender": body.gender.unwrap_or(0),
        "department_ids": body.department_ids.unwrap_or_default(),
        "employee_type": body.employee_type.unwrap_or(1),
        "job_title": body.job_title.unwrap_or_default(),
        "city": body.city.unwrap_or_default(),
        "country": body.country.unwrap_or_default(),
        "enterprise_email": body.enterprise_email.unwrap_or_default(),
        "employee_no": body.employee_no.unwrap_or_default(),
    });
    let mut plan = WritePlan::new(tenant.space.id, feishu.engine.clock.now());
    // The user as created, for the `contact.user.created_v3` event.
    plan.context = Some(json!({ CREATED_USER: attrs }));
    let user = plan.create(USER, &user_id, attrs.clone(), None);
    let contact = index_user(&mut plan, tenant, user.into(), &user_id, &attrs);
    if let Some(token) = client_token {
        plan.set_alias("client_token", token, user);
    }
    let refused = |step: Option<StepId>, e: &StoreError| {
        step.is_some_and(|step| e.refusal_of(step).is_some())
    };
    let e = match store.apply(plan).await {
        Ok(applied) => {
            let user = applied.into_entity(user);
            return Ok(success(json!({ "user": contact_user(&caller.app, &user) })));
        }
        Err(e) => e,
    };
    // A concurrent request with the same client_token created its user first.
    if let Some(user) = earlier_user(store, tenant, client_token).await? {
        return Ok(success(json!({ "user": contact_user(&caller.app, &user) })));
    }
    match e {
        e if refused(Some(user), &e) => Err(already_exists(
            DirectoryError::UserIdExists,
            "user_id",
            &user_id,
        )),
        e if refused(contact.mobile, &e) => {
            let mobile = attrs["mobile"].as_str().unwrap_or_default();
            Err(already_exists(
                DirectoryError::MobileExists,
                "mobile",
                mobile,
            ))
        }
        e if refused(contact.email, &e) => {
            let email = attrs["email"].as_str().unwrap_or_default();
            Err(already_exists(DirectoryError::EmailExists, "email", email))
        }
        e => Err(e.into()),
    }
}

/// The user an earlier create with this `client_token` made.
async fn earlier_user(
    store: &Arc<dyn Store>,
    tenant: &Tenant,
    token: Option<&str>,
) -> Result<Option<Entity>, StoreError> {
    let Some(token) = token else {
        return Ok(None);
    };
    let earlier = store
        .resolve_aliases(tenant.space.id, "client_token", &[token.to_string()])
        .await?;
    match earlier.get(token) {
        Some(id) => store.entity(tenant.space.id, *id).await,
        None => Ok(None),
    }
}

/// `<field> already exists`, naming the field.
fn already_exists(error: DirectoryError, field: &str, value: &str) -> ApiError {
    ApiError::from(error).with_violation(field, Some(value), "already exists")
}

/// `GET /open-apis/contact/v3/users/:user_id`.
pub async fn get_user(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): TenantOrUser,
    query: QueryParams,
    Path(id): Path<String>,
) -> ApiResult {
    let id_type = IdType::from_query(&query, "user_id_type")?;
    let found = resolve(&feishu, &caller.app, id_type, std::slice::from_ref(&id)).await?;
    let user = match found.get(&id) {
        Some(entity) => {
            let space = caller.tenant().space.id;
            feishu.engine.store.entity(space, *entity).await?
        }
        None => None,
    };
    let Some(user) = user else {
        return Err(refuse_unknown(&feishu, &caller.app, id_type, &[&id]).await);
    };
    Ok(success(json!({ "user": contact_user(&caller.app, &user) })))
}

/// `GET /open-apis/contact/v3/users/batch?user_ids=..&user_ids=..` (at most 50).
pub async fn batch_get_users(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): TenantOrUser,
    query: QueryParams,
) -> ApiResult {
    let id_type = IdType::from_query(&query, "user_id_type")?;
    let ids = query.all("user_ids");
    if ids.is_empty() || ids.len() > 50 {
        return Err(ApiError::field_validation(
            "user_ids",
            "between 1 and 50 user_ids",
        ));
    }
    let entities = resolve_all(&feishu, &caller.app, id_type, ids).await?;
    let space = caller.tenant().space.id;
    let users = feishu.engine.store.entities(space, &entities).await?;
    let items: Vec<Value> = entities
        .iter()
        .filter_map(|id| users.get(id))
        .map(|user| contact_user(&caller.app, user))
        .collect();
    Ok(success(json!({ "items": items })))
}

#[derive(Deserialize)]
pub struct BatchGetId {
    #[serde(default)]
    emails: Vec<String>,
    #[serde(default)]
    mobiles: Vec<String>,
}

/// `POST /open-apis/contact/v3/users/batch_get_id`: user ids by email and mobile (50 each).
pub async fn batch_get_id(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): TenantOnly,
    query: QueryParams,
    JsonBody(body): JsonBody<BatchGetId>,
) -> ApiResult {
    let id_type = IdType::from_query(&query, "user_id_type")?;
    for (field, values) in [("emails", &body.emails), ("mobiles", &body.mobiles)] {
        if values.len() > 50 {
            return Err(ApiError::field_validation(field, "at most 50 items"));
        }
    }
    let store = &feishu.engine.store;
    let space = caller.tenant().space.id;
    let by_email = store.resolve_aliases(space, "email", &body.emails).await?;
    let by_mobile = store
        .resolve_aliases(space, "mobile", &body.mobiles)
        .await?;
    let users: Vec<EntityId> = by_email
        .values()
        .chain(by_mobile.values())
        .copied()
        .collect();
    let ids = render(&feishu, &caller.app, id_type, &users).await?;
    let entry = |field: &str, value: &String, user: Option<&EntityId>| {
        let mut entry = json!({ field: value });
        if let Some(id) = user.and_then(|u| ids.get(u)) {
            entry["user_id"] = json!(id);
        }
        entry
    };
    let list: Vec<Value> = body
        .emails
        .iter()
        .map(|e| entry("email", e, by_email.get(e)))
        .chain(
            body.mobiles
                .iter()
                .map(|m| entry("mobile", m, by_mobile.get(m))),
        )
        .collect();
    Ok(success(json!({ "user_list": list })))
}

/// `GET /open-apis/authen/v1/user_info`: the user a user access token belongs to.
pub async fn user_info(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): UserOnly,
) -> ApiResult {
    let user = match caller.user {
        Some(id) => {
            let space = caller.tenant().space.id;
            feishu.engine.store.entity(space, id).await?
        }
        None => None,
    }
    .ok_or(DirectoryError::UserNotExist)?;
    Ok(success(profile::user_info(&caller.app, &user)))
}
