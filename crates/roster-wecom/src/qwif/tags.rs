//! `api/tag/*`: tag members (`addTagRef`, `delTagRef`, `searchTagRef`, the seed API) and tags.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{success, Answer, Call, ErrorData, QwifError};
use crate::directory::{Change, Directory, Fault, MemberCounts, MemberIds, NewTag, Tag, TagUpdate};
use crate::request::{id_list, id_text, int};

/// Ids a call named that are no user or department of the corp; each list only when not empty.
#[derive(Debug, Serialize)]
pub(super) struct InvalidIds {
    #[serde(rename = "invalidUserIdList", skip_serializing_if = "Vec::is_empty")]
    users: Vec<String>,
    #[serde(rename = "invalidDeptIdList", skip_serializing_if = "Vec::is_empty")]
    departments: Vec<String>,
}

/// The answer to `addTagRef` and `delTagRef`: the invalid ids, with code "5864" when no id was
/// valid (then nothing changed), else "0".
fn outcome(change: Change) -> Answer<InvalidIds> {
    let all_invalid = change.all_invalid();
    let invalid = InvalidIds {
        users: change.invalid_users,
        departments: change.invalid_departments,
    };
    if all_invalid {
        let mut refused = QwifError::new("5864", "所有人员和部门非法");
        refused.data = ErrorData::Invalid(invalid);
        return Err(refused);
    }
    Ok(success(invalid))
}

/// `POST api/tag/addTagRef.do`, part `data`:
/// `{"wxTagId" | "id", "wxUserIdList": [...], "wxDeptIdList": [...]}`
pub(super) async fn add_refs(call: Call) -> Answer<InvalidIds> {
    let data = call.data()?;
    let tag = data_tag(&call.dir, data).await?;
    outcome(call.dir.add_members(&tag, &member_ids(data)?).await?)
}

/// `POST api/tag/delTagRef.do`, same body as `addTagRef`.
pub(super) async fn remove_refs(call: Call) -> Answer<InvalidIds> {
    let data = call.data()?;
    let tag = data_tag(&call.dir, data).await?;
    outcome(call.dir.remove_members(&tag, &member_ids(data)?).await?)
}

#[derive(Serialize)]
pub(super) struct TagRefs {
    #[serde(rename = "wxUserIdList")]
    users: Vec<String>,
    #[serde(rename = "wxDeptIdList")]
    departments: Vec<String>,
}

/// `GET api/tag/searchTagRef.do?wxTagId=&id=`
pub(super) async fn search_refs(call: Call) -> Answer<TagRefs> {
    let tag = find_tag(
        &call.dir,
        call.params.get("wxTagId").map(str::to_string),
        call.params.get("id").map(str::to_string),
    )
    .await?;
    let members = call.dir.members(&tag).await?;
    Ok(success(TagRefs {
        users: members.users.into_iter().map(|u| u.attrs.userid).collect(),
        departments: members
            .departments
            .iter()
            .map(|d| d.id.to_string())
            .collect(),
    }))
}

/// do1's tag object; every field is a string.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TagInfo {
    id: String,
    wx_tag_id: String,
    tag_name: String,
    show_num: String,
    rang: String,
    status: String,
    user_count: String,
    dept_count: String,
}

impl TagInfo {
    fn of(tag: Tag, counts: MemberCounts) -> Self {
        Self {
            id: tag.attrs.qwif_id,
            wx_tag_id: tag.id.to_string(),
            tag_name: tag.attrs.name,
            show_num: tag.attrs.show_num.to_string(),
            rang: tag.attrs.rang.to_string(),
            status: tag.attrs.status.to_string(),
            user_count: counts.users.to_string(),
            dept_count: counts.departments.to_string(),
        }
    }
}

#[derive(Serialize)]
pub(super) struct OneTag {
    #[serde(rename = "tagInfo")]
    tag_info: TagInfo,
}

async fn one_tag(dir: &Directory, tag: Tag) -> Answer<OneTag> {
    let counts = dir.member_counts(std::slice::from_ref(&tag)).await?;
    Ok(success(OneTag {
        tag_info: TagInfo::of(tag, counts[0]),
    }))
}

/// `POST api/tag/addTag.do`, part `data`: `{"tagName", "showNum"?, "rang"?, "status"?}`
pub(super) async fn add(call: Call) -> Answer<OneTag> {
    let data = call.data()?;
    let mut new = NewTag::named(data.get("tagName").and_then(id_text).unwrap_or_default());
    let settings = tag_settings(data)?;
    new.show_num = settings.show_num.unwrap_or(new.show_num);
    new.rang = settings.rang.unwrap_or(new.rang);
    new.status = settings.status.unwrap_or(new.status);
    let tag = call.dir.create_tag(new).await?;
    one_tag(&call.dir, tag).await
}

/// `POST api/tag/updateTag.do`, part `data`: `{"wxTagId" | "id", "tagName"?, "showNum"?,
/// "rang"?, "status"?}`
pub(super) async fn update(call: Call) -> Answer<OneTag> {
    let data = call.data()?;
    let tag = data_tag(&call.dir, data).await?;
    let mut update = tag_settings(data)?;
    update.name = data.get("tagName").and_then(id_text);
    let tag = call.dir.update_tag(tag, update).await?;
    one_tag(&call.dir, tag).await
}

/// `POST api/tag/delTag.do`, part `data`: `{"wxTagId" | "id"}`
pub(super) async fn delete(call: Call) -> Answer<Map<String, Value>> {
    let tag = data_tag(&call.dir, call.data()?).await?;
    call.dir.delete_tag(&tag).await?;
    Ok(success(Map::new()))
}

#[derive(Serialize)]
pub(super) struct TagList {
    #[serde(rename = "tagList")]
    tags: Vec<TagInfo>,
}

/// `GET api/tag/searchTag.do`: every tag of the corp.
pub(super) async fn search(call: Call) -> Answer<TagList> {
    let tags = call.dir.tags().await?;
    let counts = call.dir.member_counts(&tags).await?;
    Ok(success(TagList {
        tags: tags
            .into_iter()
            .zip(counts)
            .map(|(t, c)| TagInfo::of(t, c))
            .collect(),
    }))
}

/// `showNum` (0 to 2^31-1), `rang` (1, 3 or 5) and `status` (0 or 1), as strings or numbers.
fn tag_settings(data: &Map<String, Value>) -> Result<TagUpdate, Fault> {
    let setting = |name: &'static str, valid: fn(i64) -> bool| match data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match int(value).filter(|v| valid(*v)) {
            Some(v) => Ok(Some(v)),
            None => Err(Fault::invalid(format!("{name} is out of range"))),
        },
    };
    Ok(TagUpdate {
        name: None,
        show_num: setting("showNum", |v| (0..=i64::from(i32::MAX)).contains(&v))?,
        rang: setting("rang", |v| [1, 3, 5].contains(&v))?,
        status: setting("status", |v| [0, 1].contains(&v))?,
    })
}

async fn data_tag(dir: &Directory, data: &Map<String, Value>) -> Result<Tag, Fault> {
    let text = |name| data.get(name).and_then(id_text);
    find_tag(dir, text("wxTagId"), text("id")).await
}

/// The tag named by `wxTagId` when it is not empty, else by do1's `id`.
async fn find_tag(
    dir: &Directory,
    wx_tag_id: Option<String>,
    id: Option<String>,
) -> Result<Tag, Fault> {
    match (
        wx_tag_id.filter(|w| !w.is_empty()),
        id.filter(|i| !i.is_empty()),
    ) {
        (Some(wx_tag_id), _) => dir.tag_by_text(&wx_tag_id).await,
        (None, Some(id)) => dir.tag_by_qwif_id(&id).await,
        (None, None) => Err(Fault::TagIdMissing),
    }
}

fn member_ids(data: &Map<String, Value>) -> Result<MemberIds, Fault> {
    let list = |name: &'static str| {
        id_list(data.get(name)).ok_or_else(|| Fault::invalid(format!("{name} must be an array")))
    };
    Ok(MemberIds {
        users: list("wxUserIdList")?,
        departments: list("wxDeptIdList")?,
    })
}
