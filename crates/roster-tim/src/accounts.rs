//! `im_open_login_svc`: account_import, multiaccount_import, account_delete, account_check.

use std::collections::HashMap;
use std::sync::Arc;

use axum::response::Response;
use roster_core::{Engine, Entity, Refusal, SpaceId, StoreError, WritePlan};
use roster_http::openapi::{array, integer, object, one_of_values, string, Object, Schema};
use roster_http::Endpoints;
use serde::Serialize;
use serde_json::{json, Value};

use crate::app::ACCOUNT_KIND;
use crate::gateway;
use crate::openapi::{command, results};
use crate::state::{Call, Tim};
use crate::wire::{self, Fail, Fields, Nothing, ResultItems, Service};

/// `im_open_login_svc`'s commands, each its OpenAPI operation and handler.
pub(crate) fn endpoints() -> Endpoints<Arc<Tim>> {
    let serve = |handler| gateway::command(Service::Account, handler);
    let user_id_list =
        |list| object().field(list, array(object().field("UserID", string()).into()));
    let user_results = |extra: Object| -> Object {
        results(
            extra
                .field("UserID", string())
                .field("ResultCode", integer())
                .field("ResultInfo", string())
                .into(),
        )
    };
    let import = object()
        .optional("UserID", string())
        .optional("Identifier", string())
        .optional("Nick", string())
        .optional("FaceUrl", string());
    let multi_import = object().optional("Accounts", array(string())).optional(
        "AccountList",
        array(
            object()
                .field("UserID", string())
                .optional("Nick", string())
                .optional("FaceUrl", string())
                .into(),
        ),
    );
    let status: Schema = one_of_values(["Imported", "NotImported"]);
    Endpoints::new("")
        .at_route(
            command("/v4/im_open_login_svc/account_import", import, object()),
            serve(|call| Box::pin(account_import(call))),
        )
        .at_route(
            command(
                "/v4/im_open_login_svc/multiaccount_import",
                multi_import,
                object().field("FailAccounts", array(string())),
            ),
            serve(|call| Box::pin(multiaccount_import(call))),
        )
        .at_route(
            command(
                "/v4/im_open_login_svc/account_delete",
                user_id_list("DeleteItem"),
                user_results(object()),
            ),
            serve(|call| Box::pin(account_delete(call))),
        )
        .at_route(
            command(
                "/v4/im_open_login_svc/account_check",
                user_id_list("CheckItem"),
                user_results(object().field("AccountStatus", status)),
            ),
            serve(|call| Box::pin(account_check(call))),
        )
}

const MAX_USER_ID_BYTES: usize = 32;
const MAX_PROFILE_VALUE_BYTES: usize = 500;
const ACCOUNT_NOT_FOUND: u32 = 70107;

/// Optional profile fields of an import; only the ones given change the stored profile.
#[derive(Debug, Default, Clone, Copy)]
pub struct Profile<'a> {
    nick: Option<&'a str>,
    face_url: Option<&'a str>,
}

impl<'a> Profile<'a> {
    fn read(fields: Fields<'a>) -> Result<Self, Fail> {
        let value = |name| match fields.string(name)? {
            Some(value) if value.len() > MAX_PROFILE_VALUE_BYTES => {
                Err(Fail::ProfileValueTooLong {
                    field: name,
                    max: MAX_PROFILE_VALUE_BYTES,
                })
            }
            value => Ok(value),
        };
        Ok(Self {
            nick: value("Nick")?,
            face_url: value("FaceUrl")?,
        })
    }
}

/// Attribute names of an account entity, and the profile tag each is shown as.
const PROFILE_TAGS: [(&str, &str); 2] = [
    ("nick", "Tag_Profile_IM_Nick"),
    ("face_url", "Tag_Profile_IM_Image"),
];
const PROFILE_SEQUENCE: &str = "profile_sequence";

#[derive(Debug, Serialize)]
pub struct ProfileItem<'a> {
    #[serde(rename = "Tag")]
    tag: &'static str,
    #[serde(rename = "Value")]
    value: &'a str,
}

/// The profile tags set on an account, as follow_get shows them.
pub fn profile_items(account: &Entity) -> Vec<ProfileItem<'_>> {
    PROFILE_TAGS
        .iter()
        .filter_map(|(attr, tag)| {
            let value = account.attrs.get(attr)?.as_str()?;
            Some(ProfileItem { tag, value })
        })
        .collect()
}

/// Bumped on every profile change, like the vendor's profile sequence.
pub fn profile_sequence(account: &Entity) -> i64 {
    account.attrs[PROFILE_SEQUENCE].as_i64().unwrap_or(0)
}

pub fn user_id_problem(id: &str) -> Option<String> {
    if id.is_empty() {
        Some("UserID is empty".into())
    } else if id.len() > MAX_USER_ID_BYTES {
        Some(format!(
            "UserID {id} is longer than {MAX_USER_ID_BYTES} bytes"
        ))
    } else {
        None
    }
}

/// Create the accounts that are missing and apply the profile fields given (in order, when an
/// account is named twice), in one plan. Idempotent. The profile sequence counts changes, so
/// a concurrent import of one of these accounts makes this one read them again rather than
/// overwrite it.
pub async fn import(
    engine: &Engine,
    space_id: SpaceId,
    accounts: &[(&str, Profile<'_>)],
) -> Result<(), StoreError> {
    let user_ids: Vec<&str> = accounts.iter().map(|(user_id, _)| *user_id).collect();
    loop {
        let existing = find(engine, space_id, &user_ids).await?;
        // Each account's attributes after the request, and whether they changed.
        let mut imported: Vec<(&str, Value, bool)> = Vec::new();
        for (user_id, profile) in accounts {
            let at = match imported.iter().position(|(id, _, _)| id == user_id) {
                Some(at) => at,
                None => {
                    let attrs = existing
                        .get(*user_id)
                        .map_or_else(|| json!({}), |account| account.attrs.clone());
                    imported.push((user_id, attrs, false));
                    imported.len() - 1
                }
            };
            let (_, attrs, changed) = &mut imported[at];
            let mut changed_now = false;
            for ((attr, _), value) in PROFILE_TAGS.iter().zip([profile.nick, profile.face_url]) {
                if let Some(value) = value {
                    changed_now |= attrs[attr] != value;
                    attrs[attr] = Value::from(value);
                }
            }
            if changed_now {
                let sequence = attrs[PROFILE_SEQUENCE].as_i64().unwrap_or(0) + 1;
                attrs[PROFILE_SEQUENCE] = Value::from(sequence);
            }
            *changed |= changed_now;
        }
        let mut plan = WritePlan::new(space_id, engine.clock.now());
        for (user_id, attrs, changed) in imported {
            match existing.get(user_id) {
                Some(_) if !changed => {}
                Some(account) => {
                    plan.update_from(account, attrs);
                }
                None => {
                    plan.create(ACCOUNT_KIND, user_id, attrs, None);
                }
            }
        }
        if plan.steps.is_empty() {
            return Ok(());
        }
        match engine.store.apply(plan).await {
            Err(StoreError::Refused {
                refusal: Refusal::KeyTaken | Refusal::Changed,
                ..
            }) => continue,
            other => return other.map(drop),
        }
    }
}

/// The imported accounts among `user_ids`, by UserID.
pub async fn find(
    engine: &Engine,
    space_id: SpaceId,
    user_ids: &[&str],
) -> Result<HashMap<String, Entity>, StoreError> {
    let keys: Vec<String> = user_ids.iter().map(|id| id.to_string()).collect();
    engine
        .store
        .find_entities(space_id, ACCOUNT_KIND, &keys)
        .await
}

pub async fn account_import(call: Call<'_>) -> Result<Response, Fail> {
    let body = call.body;
    // Older docs and clients send `Identifier`.
    let user_id = match body.optional_account("UserID")? {
        Some(id) => id,
        None => body
            .optional_account("Identifier")?
            .ok_or_else(|| body.bad("UserID is required"))?,
    };
    if let Some(problem) = user_id_problem(user_id) {
        return Err(body.bad(problem));
    }
    let profile = Profile::read(body)?;
    import(call.engine, call.app.space_id, &[(user_id, profile)])
        .await
        .map_err(|e| Service::Account.internal(e))?;
    Ok(wire::ok(Service::Account, Nothing {}))
}

#[derive(Serialize)]
struct MultiImported<'a> {
    #[serde(rename = "FailAccounts")]
    fail_accounts: Vec<&'a str>,
}

/// Old format `Accounts: [id]` or new `AccountList: [{UserID, Nick, FaceUrl}]`. Malformed
/// requests fail whole; an account that cannot be imported is listed in `FailAccounts`.
pub async fn multiaccount_import(call: Call<'_>) -> Result<Response, Fail> {
    let body = call.body;
    let max = call.app.limits.multiaccount_import_items;
    let requested: Vec<(&str, Result<Profile, Fail>)> =
        match (body.has("Accounts"), body.has("AccountList")) {
            (true, true) => return Err(body.bad("send either Accounts or AccountList, not both")),
            (false, false) => return Err(body.bad("AccountList is required")),
            (true, false) => body
                .account_list("Accounts", max)?
                .into_iter()
                .map(|id| (id, Ok(Profile::default())))
                .collect(),
            (false, true) => body
                .list("AccountList", max)?
                .iter()
                .map(|item| {
                    let item = body.item(item, "AccountList")?;
                    let id = item
                        .optional_account("UserID")?
                        .ok_or_else(|| body.bad("every item of AccountList needs a UserID"))?;
                    Ok((id, Profile::read(item)))
                })
                .collect::<Result<_, Fail>>()?,
        };
    let mut fail_accounts = Vec::new();
    let mut valid = Vec::new();
    for (id, profile) in requested {
        match (user_id_problem(id), profile) {
            (None, Ok(profile)) => valid.push((id, profile)),
            _ => fail_accounts.push(id),
        }
    }
    // The valid accounts are imported together: all of them, or (a storage failure) none,
    // then each listed as failed.
    if let Err(e) = import(call.engine, call.app.space_id, &valid).await {
        tracing::error!("tim: importing {} accounts: {e}", valid.len());
        fail_accounts.extend(valid.iter().map(|(id, _)| *id));
    }
    Ok(wire::ok(Service::Account, MultiImported { fail_accounts }))
}

/// The UserIDs of a `[{"UserID": ...}]` list.
fn user_ids<'a>(body: Fields<'a>, list: &str, max: i64) -> Result<Vec<&'a str>, Fail> {
    body.list(list, max)?
        .iter()
        .map(|item| body.item(item, list)?.account("UserID"))
        .collect()
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteResult<'a> {
    result_code: u32,
    result_info: &'static str,
    #[serde(rename = "UserID")]
    user_id: &'a str,
}

/// Deletes the accounts with all their follows, in both directions, in one plan: the ones
/// that exist when it commits (one deleted meanwhile makes it read them again).
async fn delete(
    engine: &Engine,
    space_id: SpaceId,
    user_ids: &[&str],
) -> Result<HashMap<String, Entity>, StoreError> {
    loop {
        let found = find(engine, space_id, user_ids).await?;
        let mut plan = WritePlan::new(space_id, engine.clock.now());
        // In id order, so concurrent batches lock the accounts in one order (the lock order).
        let mut ids: Vec<_> = found.values().map(|account| account.id).collect();
        ids.sort_unstable();
        for id in ids {
            plan.delete(id);
        }
        match engine.store.apply(plan).await {
            Err(StoreError::Refused {
                refusal: Refusal::NotFound,
                ..
            }) => continue,
            other => return other.map(|_| found),
        }
    }
}

pub async fn account_delete(call: Call<'_>) -> Result<Response, Fail> {
    let ids = user_ids(
        call.body,
        "DeleteItem",
        call.app.limits.account_delete_items,
    )?;
    // A storage failure fails every item, each with the vendor's internal error.
    let deleted = delete(call.engine, call.app.space_id, &ids)
        .await
        .map_err(|e| {
            tracing::error!("tim: deleting {} accounts: {e}", ids.len());
            Service::Account.internal(e).code()
        });
    let mut results = Vec::with_capacity(ids.len());
    for user_id in ids {
        let (result_code, result_info) = match &deleted {
            Ok(found) if found.contains_key(user_id) => (0, ""),
            Ok(_) => (ACCOUNT_NOT_FOUND, "Err_TLS_PT_Open_Login_Account_Not_Exist"),
            Err(code) => (*code, "internal server error, please retry"),
        };
        results.push(DeleteResult {
            result_code,
            result_info,
            user_id,
        });
    }
    Ok(wire::ok(Service::Account, ResultItems { items: results }))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CheckResult<'a> {
    #[serde(rename = "UserID")]
    user_id: &'a str,
    result_code: u32,
    result_info: &'static str,
    account_status: &'static str,
}

pub async fn account_check(call: Call<'_>) -> Result<Response, Fail> {
    let ids = user_ids(call.body, "CheckItem", call.app.limits.account_check_items)?;
    let found = find(call.engine, call.app.space_id, &ids)
        .await
        .map_err(|e| Service::Account.internal(e))?;
    let results = ids
        .into_iter()
        .map(|user_id| CheckResult {
            user_id,
            result_code: 0,
            result_info: "",
            account_status: if found.contains_key(user_id) {
                "Imported"
            } else {
                "NotImported"
            },
        })
        .collect();
    Ok(wire::ok(Service::Account, ResultItems { items: results }))
}
