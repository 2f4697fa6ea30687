//! `POST` and `GET /im/v1/chats`, `GET /im/v1/chats/:chat_id`, `GET`, `POST` and `DELETE
//! /im/v1/chats/:chat_id/members`, `GET /im/v1/chats/:chat_id/members/is_in_chat`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use roster_core::{Direction, Entity, EntityId, PageRequest, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::chat::{self, Found, Members, MembershipError};
use super::ImError;
use crate::auth::{Accepting, Caller, TenantOnly, TenantOrUser};
use crate::directory::{refuse_unknown, render, resolve, resolve_all, unresolved, IdType};
use crate::model::CHAT;
use crate::tenants::{App, Feishu, Tenant};
use crate::tokens::TokenKind;
use crate::wire::{success, ApiError, ApiResult, JsonBody, QueryParams};

/// Users per create or add-members call, and bots per call.
const USERS_PER_CALL: usize = 50;
const BOTS_PER_CALL: usize = 5;
const PAGE_SIZE_DEFAULT: i64 = 20;
const PAGE_SIZE_MAX: i64 = 100;

#[derive(Default, Deserialize, Serialize)]
pub struct I18nNames {
    #[serde(skip_serializing_if = "Option::is_none")]
    zh_cn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    en_us: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja_jp: Option<String>,
}

#[derive(Default, Deserialize)]
pub struct RestrictedMode {
    status: Option<bool>,
    screenshot_has_permission_setting: Option<String>,
    download_has_permission_setting: Option<String>,
    message_has_permission_setting: Option<String>,
}

/// The create fields roster keeps; others (labels, toolkits, ...) are accepted and ignored.
#[derive(Default, Deserialize)]
pub struct CreateChat {
    avatar: Option<String>,
    name: Option<String>,
    description: Option<String>,
    i18n_names: Option<I18nNames>,
    owner_id: Option<String>,
    user_id_list: Option<Vec<String>>,
    bot_id_list: Option<Vec<String>>,
    group_message_type: Option<String>,
    chat_mode: Option<String>,
    chat_type: Option<String>,
    external: Option<bool>,
    join_message_visibility: Option<String>,
    leave_message_visibility: Option<String>,
    membership_approval: Option<String>,
    restricted_mode_setting: Option<RestrictedMode>,
    urgent_setting: Option<String>,
    video_conference_setting: Option<String>,
    edit_permission: Option<String>,
    hide_member_count_setting: Option<String>,
}

const VISIBILITY: &[&str] = &["all_members", "only_owner", "not_anyone"];
const WHO: &[&str] = &["all_members", "only_owner"];
const ALLOWED: &[&str] = &["all_members", "not_anyone"];

/// `value` if it is one of `allowed`, the first of them when absent; 232001 otherwise.
fn choice(field: &str, value: Option<String>, allowed: &[&str]) -> Result<String, ApiError> {
    match value.filter(|v| !v.is_empty()) {
        None => Ok(allowed[0].to_string()),
        Some(v) if allowed.contains(&v.as_str()) => Ok(v),
        Some(v) => Err(ApiError::from(ImError::InvalidParameter).with_violation(
            field,
            Some(&v),
            &format!("must be one of {}", allowed.join(", ")),
        )),
    }
}

fn too_many(field: &str, max: usize) -> ApiError {
    ApiError::field_validation(field, &format!("at most {max} ids per request"))
}

/// The stored attributes of a new chat: settings validated, defaults filled in.
fn chat_attrs(body: CreateChat, bot_managers: &[String]) -> Result<Value, ApiError> {
    let name = body.name.unwrap_or_default();
    let chat_type = choice("chat_type", body.chat_type, &["private", "public"])?;
    if chat_type == "public" && name.trim().is_empty() {
        return Err(ApiError::from(ImError::PublicChatName).with_violation(
            "name",
            None,
            "required for public chats",
        ));
    }
    let restricted = body.restricted_mode_setting.unwrap_or_default();
    let restricted_choice =
        |field: &str, value| choice(&format!("restricted_mode_setting.{field}"), value, ALLOWED);
    let approval = &["no_approval_required", "approval_required"];
    Ok(json!({
        "name": name,
        "description": body.description.unwrap_or_default(),
        "avatar": body.avatar.unwrap_or_default(),
        "i18n_names": body.i18n_names.unwrap_or_default(),
        "chat_mode": choice("chat_mode", body.chat_mode, &["group"])?,
        "chat_type": chat_type,
        "group_message_type":
            choice("group_message_type", body.group_message_type, &["chat", "thread"])?,
        "external": body.external.unwrap_or(false),
        "join_message_visibility":
            choice("join_message_visibility", body.join_message_visibility, VISIBILITY)?,
        "leave_message_visibility":
            choice("leave_message_visibility", body.leave_message_visibility, VISIBILITY)?,
        "membership_approval": choice("membership_approval", body.membership_approval, approval)?,
        "urgent_setting": choice("urgent_setting", body.urgent_setting, WHO)?,
        "video_conference_setting":
            choice("video_conference_setting", body.video_conference_setting, WHO)?,
        "edit_permission": choice("edit_permission", body.edit_permission, WHO)?,
        "hide_member_count_setting":
            choice("hide_member_count_setting", body.hide_member_count_setting, WHO)?,
        "restricted_mode_setting": {
            "status": restricted.status.unwrap_or(false),
            "screenshot_has_permission_setting": restricted_choice(
                "screenshot_has_permission_setting",
                restricted.screenshot_has_permission_setting,
            )?,
            "download_has_permission_setting": restricted_choice(
                "download_has_permission_setting",
                restricted.download_has_permission_setting,
            )?,
            "message_has_permission_setting": restricted_choice(
                "message_has_permission_setting",
                restricted.message_has_permission_setting,
            )?,
        },
        "bot_managers": bot_managers,
    }))
}

/// The attributes of a chat made with default settings (aPaaS `chat_group`).
pub fn default_chat_attrs(name: &str) -> Result<Value, ApiError> {
    let body = CreateChat {
        name: Some(name.to_string()),
        ..CreateChat::default()
    };
    chat_attrs(body, &[])
}

/// Apps of the tenant by app_id (bots are named by their app_id); `None` for other ids.
fn bot(feishu: &Feishu, tenant: &Tenant, app_id: &str) -> Option<EntityId> {
    feishu
        .app(app_id)
        .filter(|app| app.tenant.key == tenant.key)
        .map(|app| app.entity)
}

fn unavailable_bots(ids: &[&str]) -> ApiError {
    ApiError::from(ImError::UnavailableIds).with_violation(
        "bot_id_list",
        Some(&ids.join(",")),
        "not an app of the tenant",
    )
}

/// `POST /open-apis/im/v1/chats` (tenant token): a chat created by, and with, the app's bot.
pub async fn create_chat(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): TenantOnly,
    query: QueryParams,
    JsonBody(body): JsonBody<CreateChat>,
) -> ApiResult {
    let app = &caller.app;
    let tenant = &app.tenant;
    let id_type = IdType::from_query(&query, "user_id_type")?;
    let set_bot_manager = query.bool("set_bot_manager")?.unwrap_or(false);
    let user_ids = body.user_id_list.clone().unwrap_or_default();
    if user_ids.len() > USERS_PER_CALL {
        return Err(too_many("user_id_list", USERS_PER_CALL));
    }
    let bot_ids = body.bot_id_list.clone().unwrap_or_default();
    if bot_ids.len() > BOTS_PER_CALL {
        return Err(too_many("bot_id_list", BOTS_PER_CALL));
    }
    let owner = match body.owner_id.as_deref().filter(|id| !id.is_empty()) {
        Some(id) => Some(resolve_all(&feishu, app, id_type, &[id.to_string()]).await?[0]),
        None => None,
    };
    let listed = resolve_all(&feishu, app, id_type, &user_ids).await?;
    let members = chat::distinct(owner.into_iter().chain(listed));
    let mut bots = vec![app.entity];
    let unknown: Vec<&str> = bot_ids
        .iter()
        .filter(|id| bot(&feishu, tenant, id).is_none())
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(unavailable_bots(&unknown));
    }
    bots.extend(bot_ids.iter().filter_map(|id| bot(&feishu, tenant, id)));
    let managers = if set_bot_manager && owner.is_some() {
        vec![app.app_id.clone()]
    } else {
        Vec::new()
    };
    let attrs = chat_attrs(body, &managers)?;
    if !chat::fits(tenant, 0, members.len()) {
        return Err(ImError::ChatFull.into());
    }
    let uuid = query.get("uuid");
    if let Some(uuid) = uuid.filter(|uuid| uuid.contains('\0')) {
        return Err(ApiError::from(ImError::InvalidParameter).with_violation(
            "uuid",
            Some(uuid),
            "holds a NUL",
        ));
    }
    let once = uuid.map(|uuid| chat::Once { uuid, owner });
    let chat = chat::create(&feishu, app, attrs, owner, &members, &bots, once)
        .await
        .map_err(membership_error)?;
    let mut data = chat_object(&feishu, app, id_type, &chat).await?;
    data["chat_id"] = json!(chat.key);
    Ok(success(data))
}

fn membership_error(e: MembershipError) -> ApiError {
    match e {
        MembershipError::Full => ImError::ChatFull.into(),
        MembershipError::Unknown => ImError::UnavailableIds.into(),
        MembershipError::Store(e) => e.into(),
    }
}

/// What anyone may see of a chat: its avatar and name (absent when it has none).
fn summary(chat: &Entity) -> Value {
    let mut object = json!({ "avatar": chat.attrs["avatar"] });
    if let Some(name) = chat.attrs["name"].as_str().filter(|n| !n.is_empty()) {
        object["name"] = json!(name);
    }
    object
}

/// The chat object of create and get responses, user ids rendered as `id_type`.
async fn chat_object(
    feishu: &Feishu,
    app: &App,
    id_type: IdType,
    chat: &Entity,
) -> Result<Value, ApiError> {
    let attrs = &chat.attrs;
    let mut object = summary(chat);
    for (field, value) in [
        ("add_member_permission", "all_members"),
        ("share_card_permission", "allowed"),
        ("at_all_permission", "all_members"),
        ("moderation_permission", "all_members"),
        ("chat_tag", "inner"),
    ] {
        object[field] = json!(value);
    }
    object["tenant_key"] = json!(app.tenant.key);
    for field in [
        "description",
        "i18n_names",
        "chat_mode",
        "chat_type",
        "group_message_type",
        "external",
        "join_message_visibility",
        "leave_message_visibility",
        "membership_approval",
        "urgent_setting",
        "video_conference_setting",
        "edit_permission",
        "hide_member_count_setting",
        "restricted_mode_setting",
    ] {
        object[field] = attrs[field].clone();
    }
    // A chat owned by a bot (an app, which has no user id) shows no owner.
    if let Some(owner) = chat.owner {
        if let Some(id) = render(feishu, app, id_type, &[owner]).await?.remove(&owner) {
            object["owner_id"] = json!(id);
            object["owner_id_type"] = json!(id_type.name());
        }
    }
    Ok(object)
}

/// The chat `chat_id` names in the caller's tenant, or the vendor's error for it.
async fn chat_of(feishu: &Feishu, caller: &Caller, chat_id: &str) -> Result<Entity, ApiError> {
    match chat::find(feishu, caller.tenant(), chat_id).await? {
        Found::Chat(chat) => Ok(chat),
        Found::OtherTenant => Err(ImError::OtherTenant.into()),
        Found::Unknown => Err(ApiError::from(ImError::InvalidChatId).with_violation(
            "chat_id",
            Some(chat_id),
            "no such chat",
        )),
    }
}

/// The chat `chat_id` names, if the caller is in it.
async fn joined_chat(feishu: &Feishu, caller: &Caller, chat_id: &str) -> Result<Entity, ApiError> {
    let chat = chat_of(feishu, caller, chat_id).await?;
    if chat::caller_in(feishu, caller, &chat).await? {
        Ok(chat)
    } else {
        Err(ImError::NotInChat.into())
    }
}

/// `GET /open-apis/im/v1/chats/:chat_id`: the full chat for its members; for others only its
/// name, avatar, member counts and status, as the vendor documents.
pub async fn get_chat(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): TenantOrUser,
    query: QueryParams,
    Path(chat_id): Path<String>,
) -> ApiResult {
    let id_type = IdType::from_query(&query, "user_id_type")?;
    let chat = chat_of(&feishu, &caller, &chat_id).await?;
    let (users, bots) = chat::counts(&feishu, &chat).await?;
    let mut data = if chat::caller_in(&feishu, &caller, &chat).await? {
        let mut full = chat_object(&feishu, &caller.app, id_type, &chat).await?;
        full["user_manager_id_list"] = json!([]);
        full["bot_manager_id_list"] = chat.attrs["bot_managers"].clone();
        full
    } else {
        summary(&chat)
    };
    data["user_count"] = json!(users.to_string());
    data["bot_count"] = json!(bots.to_string());
    data["chat_status"] = json!("normal");
    Ok(success(data))
}

fn page_scope(chat: &Entity) -> String {
    format!("feishu/im/chat_members/{}", chat.id)
}

/// `page_size`: 20 when absent, 1 to 100.
fn page_size(query: &QueryParams) -> Result<u32, ApiError> {
    let page_size = query.int("page_size")?.unwrap_or(PAGE_SIZE_DEFAULT);
    if !(1..=PAGE_SIZE_MAX).contains(&page_size) {
        return Err(ApiError::field_validation(
            "page_size",
            &format!("page_size must be between 1 and {PAGE_SIZE_MAX}"),
        ));
    }
    Ok(page_size as u32)
}

/// Where a list resumes: the position sealed in `page_token` for the list named `scope`.
fn page_token(feishu: &Feishu, query: &QueryParams, scope: &str) -> Result<Option<i64>, ApiError> {
    query
        .get("page_token")
        .map(|token| {
            feishu.engine.cursors.open(scope, token).ok_or_else(|| {
                ApiError::from(ImError::InvalidParameter).with_violation(
                    "page_token",
                    Some(token),
                    "invalid page_token",
                )
            })
        })
        .transpose()
}

/// `GET /open-apis/im/v1/chats`: the group chats the caller is in (its app's bot with a tenant
/// token, its user with a user token), by creation time: oldest first, or newest first with
/// `sort_type=ByActiveTimeDesc` (a chat's last activity is its creation: roster carries no
/// messages). `user_id_type` renders the owners.
pub async fn list_chats(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): TenantOrUser,
    query: QueryParams,
) -> ApiResult {
    let id_type = IdType::from_query(&query, "user_id_type")?;
    let newest_first = match query.get("sort_type") {
        None | Some("ByCreateTimeAsc") => false,
        Some("ByActiveTimeDesc") => true,
        Some(other) => {
            return Err(ApiError::from(ImError::InvalidParameter).with_violation(
                "sort_type",
                Some(other),
                "must be ByCreateTimeAsc or ByActiveTimeDesc",
            ))
        }
    };
    let limit = page_size(&query)?;
    let (side, member) = chat::caller_as_member(&caller);
    let scope = format!("feishu/im/chats/{member}/{newest_first}");
    let after = page_token(&feishu, &query, &scope)?;
    let space = caller.tenant().space.id;
    let page = feishu
        .engine
        .store
        .list_linked(
            space,
            CHAT,
            member,
            &[side.relation()],
            PageRequest {
                after,
                limit,
                newest_first,
            },
        )
        .await?;
    let owners: Vec<EntityId> = page.items.iter().filter_map(|chat| chat.owner).collect();
    let owner_ids = render(&feishu, &caller.app, id_type, &owners).await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|chat| {
            let mut item = summary(chat);
            item["chat_id"] = json!(chat.key);
            item["description"] = chat.attrs["description"].clone();
            // A chat owned by a bot (an app, which has no user id) shows no owner.
            if let Some(id) = chat.owner.and_then(|owner| owner_ids.get(&owner)) {
                item["owner_id"] = json!(id);
                item["owner_id_type"] = json!(id_type.name());
            }
            item["external"] = chat.attrs["external"].clone();
            item["tenant_key"] = json!(caller.tenant().key);
            item["chat_status"] = json!("normal");
            item
        })
        .collect();
    let mut data = json!({ "items": items, "has_more": page.next.is_some() });
    if let Some(next) = page.next {
        data["page_token"] = json!(feishu.engine.cursors.seal(&scope, next));
    }
    Ok(success(data))
}

/// `GET /open-apis/im/v1/chats/:chat_id/members/is_in_chat`: whether the caller (its app's
/// bot, or its user with a user token) is in the chat.
pub async fn is_in_chat(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): TenantOrUser,
    Path(chat_id): Path<String>,
) -> ApiResult {
    let chat = chat_of(&feishu, &caller, &chat_id).await?;
    let is_in_chat = chat::caller_in(&feishu, &caller, &chat).await?;
    Ok(success(json!({ "is_in_chat": is_in_chat })))
}

/// `GET /open-apis/im/v1/chats/:chat_id/members`: the chat's users (never its bots) in the
/// order they joined.
pub async fn list_members(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): TenantOrUser,
    query: QueryParams,
    Path(chat_id): Path<String>,
) -> ApiResult {
    let id_type = IdType::from_query(&query, "member_id_type")?;
    let page_size = page_size(&query)?;
    let chat = joined_chat(&feishu, &caller, &chat_id).await?;
    let cursors = &feishu.engine.cursors;
    let after = page_token(&feishu, &query, &page_scope(&chat))?;
    let store = &feishu.engine.store;
    let relation = Members::Users.relation();
    let page = store
        .list_edges(
            chat.space_id,
            chat.id,
            relation,
            Direction::Members,
            PageRequest {
                after,
                limit: page_size,
                newest_first: false,
            },
        )
        .await?;
    let members: Vec<EntityId> = page.items.iter().map(|e| e.member).collect();
    let ids = render(&feishu, &caller.app, id_type, &members).await?;
    let users = store.entities(chat.space_id, &members).await?;
    let tenant_key = &caller.tenant().key;
    let items: Vec<Value> = members
        .iter()
        .map(|m| {
            json!({
                "member_id_type": id_type.name(),
                "member_id": ids.get(m),
                "name": users.get(m).map(|u| &u.attrs["name"]),
                "tenant_key": tenant_key,
            })
        })
        .collect();
    let (total, _) = chat::counts(&feishu, &chat).await?;
    let mut data =
        json!({ "items": items, "has_more": page.next.is_some(), "member_total": total });
    if let Some(next) = page.next {
        data["page_token"] = json!(cursors.seal(&page_scope(&chat), next));
    }
    Ok(success(data))
}

#[derive(Deserialize)]
pub struct AddMembers {
    id_list: Option<Vec<String>>,
}

/// `member_id_type`: `app_id` names bots; the other types name users.
fn member_ids(query: &QueryParams) -> Result<(Option<IdType>, Members), ApiError> {
    Ok(match query.get("member_id_type") {
        Some("app_id") => (None, Members::Bots),
        _ => (
            Some(IdType::from_query(query, "member_id_type")?),
            Members::Users,
        ),
    })
}

/// The request's ids: at least one, at most a call's worth of `side`.
fn id_list(body: AddMembers, side: Members) -> Result<Vec<String>, ApiError> {
    let ids = body.id_list.unwrap_or_default();
    if ids.is_empty() {
        return Err(ImError::NoValidMembers.into());
    }
    let per_call = match side {
        Members::Users => USERS_PER_CALL,
        Members::Bots => BOTS_PER_CALL,
    };
    if ids.len() > per_call {
        return Err(too_many("id_list", per_call));
    }
    Ok(ids)
}

/// The entities `ids` name: users by `id_type`, or bots by app_id when it is none.
async fn found_members(
    feishu: &Feishu,
    caller: &Caller,
    id_type: Option<IdType>,
    ids: &[String],
) -> Result<HashMap<String, EntityId>, ApiError> {
    Ok(match id_type {
        Some(id_type) => resolve(feishu, &caller.app, id_type, ids).await?,
        None => ids
            .iter()
            .filter_map(|id| bot(feishu, caller.tenant(), id).map(|b| (id.clone(), b)))
            .collect(),
    })
}

/// `POST /open-apis/im/v1/chats/:chat_id/members`: users (by `member_id_type`) or bots
/// (`member_id_type=app_id`). `succeed_type=1` adds the ids that exist and lists the others.
pub async fn add_members(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): TenantOrUser,
    query: QueryParams,
    Path(chat_id): Path<String>,
    JsonBody(body): JsonBody<AddMembers>,
) -> ApiResult {
    let (id_type, side) = member_ids(&query)?;
    let lenient = match query.int("succeed_type")?.unwrap_or(0) {
        0 | 2 => false,
        1 => true,
        _ => {
            return Err(ApiError::field_validation(
                "succeed_type",
                "succeed_type must be 0, 1 or 2",
            ))
        }
    };
    let ids = id_list(body, side)?;
    let chat = joined_chat(&feishu, &caller, &chat_id).await?;
    let tenant = caller.tenant();
    let found = found_members(&feishu, &caller, id_type, &ids).await?;
    let missing = unresolved(&ids, &found);
    if !missing.is_empty() && !lenient {
        return Err(match id_type {
            Some(id_type) => refuse_unknown(&feishu, &caller.app, id_type, &missing).await,
            None => unavailable_bots(&missing),
        });
    }
    let members = chat::distinct(ids.iter().filter_map(|id| found.get(id).copied()));
    if members.is_empty() {
        return Err(ImError::NoValidMembers.into());
    }
    chat::add(&feishu, tenant, &chat, side, &members, caller.user)
        .await
        .map_err(membership_error)?;
    Ok(success(json!({
        "invalid_id_list": [],
        "not_existed_id_list": missing,
        "pending_approval_id_list": [],
    })))
}

/// `DELETE /open-apis/im/v1/chats/:chat_id/members`: users (by `member_id_type`) or bots
/// (`member_id_type=app_id`) out of the chat, by its owner or one of its bot managers; never
/// the owner. Ids that name no member come back in `invalid_id_list`; when none does, 232027.
pub async fn remove_members(
    State(feishu): State<Arc<Feishu>>,
    Accepting(caller): TenantOrUser,
    query: QueryParams,
    Path(chat_id): Path<String>,
    JsonBody(body): JsonBody<AddMembers>,
) -> ApiResult {
    let (id_type, side) = member_ids(&query)?;
    let ids = id_list(body, side)?;
    let chat = chat_of(&feishu, &caller, &chat_id).await?;
    let operator = match caller.user {
        Some(user) if caller.kind == TokenKind::User => user,
        _ => caller.app.entity,
    };
    let bot_manager = caller.kind != TokenKind::User
        && chat.attrs["bot_managers"]
            .as_array()
            .is_some_and(|ids| ids.iter().any(|id| id == caller.app.app_id.as_str()));
    if chat.owner != Some(operator) && !bot_manager {
        return Err(ImError::NoPermission.into());
    }
    let tenant = caller.tenant();
    let found = found_members(&feishu, &caller, id_type, &ids).await?;
    let members = chat::distinct(ids.iter().filter_map(|id| found.get(id).copied()));
    if chat.owner.is_some_and(|owner| members.contains(&owner)) {
        return Err(ImError::OwnerStays.into());
    }
    if members.is_empty() {
        return Err(ImError::NoValidMembers.into());
    }
    let removed = match chat::remove(&feishu, tenant, &chat, side, &members, caller.user).await {
        Ok(removed) => removed,
        // The chat was deleted meanwhile.
        Err(StoreError::Refused { .. }) => return Err(ImError::InvalidChatId.into()),
        Err(e) => return Err(e.into()),
    };
    if removed.is_empty() {
        return Err(ImError::NoValidMembers.into());
    }
    let invalid: Vec<&String> = ids
        .iter()
        .filter(|id| {
            found
                .get(*id)
                .is_none_or(|member| !removed.contains(member))
        })
        .collect();
    Ok(success(json!({ "invalid_id_list": invalid })))
}
