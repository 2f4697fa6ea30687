//! `cgi-bin/tag/*`.

use serde::Serialize;
use serde_json::Value;

use super::{reply, Answer, ApiError, Call, Nothing};
use crate::directory::{Change, Fault, MemberIds, NewTag, Tag, TagUpdate};
use crate::request::{id_list, id_text, int};

#[derive(Serialize)]
pub(super) struct Created {
    tagid: i64,
}

/// `POST tag/create {"tagname", "tagid"?}`
pub(super) async fn create(call: Call) -> Answer<Created> {
    let mut new = NewTag::named(tag_name(&call));
    new.id = match call.body.get("tagid") {
        None | Some(Value::Null) => None,
        Some(id) => Some(int(id).ok_or(Fault::TagIdInvalid)?),
    };
    let tag = call.dir.create_tag(new).await?;
    Ok(reply("created", Created { tagid: tag.id }))
}

/// `POST tag/update {"tagid", "tagname"}`
pub(super) async fn update(call: Call) -> Answer<Nothing> {
    let tag = body_tag(&call).await?;
    let update = TagUpdate {
        name: Some(tag_name(&call)),
        ..TagUpdate::default()
    };
    call.dir.update_tag(tag, update).await?;
    Ok(reply("updated", Nothing {}))
}

/// `GET tag/delete?tagid=`
pub(super) async fn delete(call: Call) -> Answer<Nothing> {
    let tag = query_tag(&call).await?;
    call.dir.delete_tag(&tag).await?;
    Ok(reply("deleted", Nothing {}))
}

#[derive(Serialize)]
pub(super) struct TagMembers {
    tagname: String,
    userlist: Vec<UserRef>,
    partylist: Vec<i64>,
}

#[derive(Serialize)]
struct UserRef {
    userid: String,
    name: String,
}

/// `GET tag/get?tagid=`
pub(super) async fn get(call: Call) -> Answer<TagMembers> {
    let tag = query_tag(&call).await?;
    let members = call.dir.members(&tag).await?;
    Ok(reply(
        "ok",
        TagMembers {
            tagname: tag.attrs.name,
            userlist: members
                .users
                .into_iter()
                .map(|user| UserRef {
                    userid: user.attrs.userid,
                    name: user.attrs.name,
                })
                .collect(),
            partylist: members.departments.iter().map(|d| d.id).collect(),
        },
    ))
}

/// Ids of a partial success, each field only when some id was invalid.
#[derive(Serialize)]
pub(super) struct Invalid {
    /// Userids joined by `|`.
    #[serde(skip_serializing_if = "Option::is_none")]
    invalidlist: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    invalidparty: Vec<i64>,
}

impl Invalid {
    fn of(change: Change) -> Self {
        Self {
            invalidlist: (!change.invalid_users.is_empty()).then(|| change.invalid_users.join("|")),
            // Every department id of a native call is an integer (checked by `member_ids`).
            invalidparty: change
                .invalid_departments
                .iter()
                .filter_map(|id| id.parse().ok())
                .collect(),
        }
    }
}

/// `POST tag/addtagusers {"tagid", "userlist", "partylist"}`
pub(super) async fn add_users(call: Call) -> Answer<Invalid> {
    let tag = body_tag(&call).await?;
    let change = call.dir.add_members(&tag, &member_ids(&call)?).await?;
    if change.all_invalid() {
        return Err(ApiError::new(40070, "all list invalid "));
    }
    Ok(reply("ok", Invalid::of(change)))
}

/// `POST tag/deltagusers {"tagid", "userlist", "partylist"}`
pub(super) async fn delete_users(call: Call) -> Answer<Invalid> {
    let tag = body_tag(&call).await?;
    let change = call.dir.remove_members(&tag, &member_ids(&call)?).await?;
    if change.all_invalid() {
        return Err(ApiError::new(40031, "all list invalid"));
    }
    Ok(reply("deleted", Invalid::of(change)))
}

#[derive(Serialize)]
pub(super) struct TagList {
    taglist: Vec<TagRef>,
}

#[derive(Serialize)]
struct TagRef {
    tagid: i64,
    tagname: String,
}

/// `GET tag/list`
pub(super) async fn list(call: Call) -> Answer<TagList> {
    let taglist = call
        .dir
        .tags()
        .await?
        .into_iter()
        .map(|tag| TagRef {
            tagid: tag.id,
            tagname: tag.attrs.name,
        })
        .collect();
    Ok(reply("ok", TagList { taglist }))
}

/// Absent or not text: an empty name, refused as such.
fn tag_name(call: &Call) -> String {
    call.body
        .get("tagname")
        .and_then(id_text)
        .unwrap_or_default()
}

async fn body_tag(call: &Call) -> Result<Tag, Fault> {
    match call.body.get("tagid") {
        None | Some(Value::Null) => Err(Fault::TagIdMissing),
        Some(id) => call.dir.tag_by_text(&id_text(id).unwrap_or_default()).await,
    }
}

async fn query_tag(call: &Call) -> Result<Tag, Fault> {
    let id = call.params.get("tagid").ok_or(Fault::TagIdMissing)?;
    call.dir.tag_by_text(id).await
}

/// `userlist` (userids; numbers are taken as their decimal text) and `partylist` (integers).
fn member_ids(call: &Call) -> Result<MemberIds, Fault> {
    let users = id_list(call.body.get("userlist"))
        .ok_or_else(|| Fault::invalid("userlist must be an array of userids"))?;
    let departments = match call.body.get("partylist") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| int(item).map(|id| id.to_string()))
            .collect::<Option<_>>()
            .ok_or_else(|| Fault::invalid("partylist must be an array of department ids"))?,
        Some(_) => {
            return Err(Fault::invalid(
                "partylist must be an array of department ids",
            ))
        }
    };
    Ok(MemberIds { users, departments })
}
