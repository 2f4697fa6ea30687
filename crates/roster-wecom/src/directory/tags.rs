use roster_core::{Direction, Entity, EntityId, StoreError};
use serde::{Deserialize, Serialize};

use super::{decode, numeric_key, parse_id, Directory, Fault, Record, TAG};

/// Alias namespaces: tag names are unique in a corp, and do1 addresses a tag by its own id too.
const TAG_NAME: &str = "tag_name";
const QWIF_TAG: &str = "qwif_tag";
/// `corp --tag--> tag`: counts a corp's tags against its limit inside the write transaction.
const CORP_TAG: &str = "tag";
/// WeCom tag ids are non-negative 32-bit ints.
pub(crate) const TAG_ID_MAX: i64 = i32::MAX as i64;
const TAG_NAME_MAX_CHARS: usize = 32;
/// Auto-numbered creates that lose the race for an id try the next one this many times.
const ID_ATTEMPTS: usize = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TagAttrs {
    pub name: String,
    /// do1's `id` of the tag.
    pub qwif_id: String,
    /// do1's sort number, scope and status; WeCom does not show them.
    pub show_num: i64,
    pub rang: i64,
    pub status: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Tag {
    pub entity: EntityId,
    /// WeCom's `tagid`, do1's `wxTagId`.
    pub id: i64,
    pub attrs: TagAttrs,
}

impl Record for Tag {
    const KIND: &'static str = TAG;

    fn not_found() -> Fault {
        Fault::TagNotFound
    }

    fn from_entity(entity: &Entity) -> Result<Self, StoreError> {
        Ok(Self {
            entity: entity.id,
            id: numeric_key(entity)?,
            attrs: decode(entity)?,
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct NewTag {
    /// `None`: one more than the highest tag id of the corp.
    pub id: Option<i64>,
    pub name: String,
    /// `None`: derived from the corp and the tag id.
    pub qwif_id: Option<String>,
    pub show_num: i64,
    pub rang: i64,
    pub status: i64,
}

impl NewTag {
    /// A tag with do1's defaults: sort number 200, shown in the admin console, enabled.
    pub(crate) fn named(name: String) -> Self {
        Self {
            id: None,
            name,
            qwif_id: None,
            show_num: 200,
            rang: 1,
            status: 1,
        }
    }
}

/// Fields to change; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub(crate) struct TagUpdate {
    pub name: Option<String>,
    pub show_num: Option<i64>,
    pub rang: Option<i64>,
    pub status: Option<i64>,
}

impl Directory {
    pub(crate) async fn tag(&self, id: i64) -> Result<Tag, Fault> {
        self.record(&id.to_string()).await
    }

    /// A tag by the text a client sent as its id (WeCom `tagid`, do1 `wxTagId`).
    pub(crate) async fn tag_by_text(&self, id: &str) -> Result<Tag, Fault> {
        let id = parse_id(id, TAG_ID_MAX).ok_or(Fault::TagNotFound)?;
        self.tag(id).await
    }

    pub(crate) async fn tag_by_qwif_id(&self, qwif_id: &str) -> Result<Tag, Fault> {
        self.record_by_alias(QWIF_TAG, qwif_id).await
    }

    /// Every tag of the corp, by tag id.
    pub(crate) async fn tags(&self) -> Result<Vec<Tag>, Fault> {
        let mut tags: Vec<Tag> = self.records().await?;
        tags.sort_by_key(|tag| tag.id);
        Ok(tags)
    }

    pub(crate) async fn create_tag(&self, new: NewTag) -> Result<Tag, Fault> {
        check_tag_name(&new.name)?;
        if new.id.is_some_and(|id| !(0..=TAG_ID_MAX).contains(&id)) {
            return Err(Fault::TagIdInvalid);
        }
        if self.tag_named(&new.name).await?.is_some() {
            return Err(Fault::TagNameTaken);
        }
        let limit = self.corp.limits.tags_per_corp;
        if self.tag_count().await? >= limit {
            return Err(Fault::TooManyTags(limit));
        }
        let mut attempts = 0;
        let tag = loop {
            let id = match new.id {
                Some(id) => id,
                None => self.next_tag_id().await?,
            };
            let key = id.to_string();
            let attrs = TagAttrs {
                name: new.name.clone(),
                qwif_id: new
                    .qwif_id
                    .clone()
                    .unwrap_or_else(|| self.qwif_id(TAG, &key)),
                show_num: new.show_num,
                rang: new.rang,
                status: new.status,
            };
            match self
                .engine
                .store
                .create_entity(self.new_entity(TAG, key, &attrs))
                .await
            {
                Ok(entity) => {
                    break Tag {
                        entity: entity.id,
                        id,
                        attrs,
                    }
                }
                Err(StoreError::Conflict) if new.id.is_none() && attempts < ID_ATTEMPTS => {
                    attempts += 1;
                }
                Err(StoreError::Conflict) => return Err(Fault::TagIdTaken),
                Err(e) => return Err(e.into()),
            }
        };
        // The tag exists now; if its name, do1 id or the corp's tag limit refuses it, undo.
        if let Err(fault) = self.register_tag(&tag).await {
            self.engine.store.delete_entity(tag.entity).await?;
            return Err(fault);
        }
        Ok(tag)
    }

    async fn register_tag(&self, tag: &Tag) -> Result<(), Fault> {
        let store = &self.engine.store;
        let space = self.corp.space;
        match store
            .set_alias(space, TAG_NAME, &tag.attrs.name, tag.entity)
            .await
        {
            Err(StoreError::Conflict) => return Err(Fault::TagNameTaken),
            other => other?,
        }
        match store
            .set_alias(space, QWIF_TAG, &tag.attrs.qwif_id, tag.entity)
            .await
        {
            Err(StoreError::Conflict) => {
                return Err(Fault::invalid(format!(
                    "do1 tag id {} is already used",
                    tag.attrs.qwif_id
                )))
            }
            other => other?,
        }
        let limit = self.corp.limits.tags_per_corp;
        let outcomes = self
            .add_capped(self.corp.entity, CORP_TAG, vec![tag.entity], limit)
            .await?;
        if outcomes.iter().any(|(_, outcome)| outcome.is_full()) {
            return Err(Fault::TooManyTags(limit));
        }
        Ok(())
    }

    pub(crate) async fn update_tag(&self, tag: Tag, update: TagUpdate) -> Result<Tag, Fault> {
        let mut attrs = tag.attrs.clone();
        let renamed_from = match update.name {
            Some(name) if name != attrs.name => {
                check_tag_name(&name)?;
                match self
                    .engine
                    .store
                    .set_alias(self.corp.space, TAG_NAME, &name, tag.entity)
                    .await
                {
                    Err(StoreError::Conflict) => return Err(Fault::TagNameTaken),
                    other => other?,
                }
                Some(std::mem::replace(&mut attrs.name, name))
            }
            _ => None,
        };
        attrs.show_num = update.show_num.unwrap_or(attrs.show_num);
        attrs.rang = update.rang.unwrap_or(attrs.rang);
        attrs.status = update.status.unwrap_or(attrs.status);
        let value = serde_json::to_value(&attrs).expect("tag attrs serialize");
        let store = &self.engine.store;
        match store.update_entity(tag.entity, value, self.now()).await {
            Ok(_) => {}
            Err(e) => {
                // Deleted meanwhile (or the write failed): give the new name back.
                if renamed_from.is_some() {
                    store
                        .remove_alias(self.corp.space, TAG_NAME, &attrs.name, tag.entity)
                        .await?;
                }
                return Err(match e {
                    StoreError::NotFound => Fault::TagNotFound,
                    e => e.into(),
                });
            }
        }
        if let Some(old) = renamed_from {
            store
                .remove_alias(self.corp.space, TAG_NAME, &old, tag.entity)
                .await?;
        }
        Ok(Tag { attrs, ..tag })
    }

    /// Delete the tag with its members, names and place in the corp's count.
    pub(crate) async fn delete_tag(&self, tag: &Tag) -> Result<(), Fault> {
        match self.engine.store.delete_entity(tag.entity).await {
            Err(StoreError::NotFound) => Err(Fault::TagNotFound),
            other => Ok(other?),
        }
    }

    async fn tag_named(&self, name: &str) -> Result<Option<EntityId>, StoreError> {
        let found = self
            .engine
            .store
            .resolve_aliases(self.corp.space, TAG_NAME, &[name.to_string()])
            .await?;
        Ok(found.get(name).copied())
    }

    async fn tag_count(&self) -> Result<i64, StoreError> {
        let entity = self.corp.entity;
        let counts = self
            .engine
            .store
            .counts(&[entity], CORP_TAG, Direction::Members)
            .await?;
        Ok(counts.get(&entity).copied().unwrap_or(0))
    }

    async fn next_tag_id(&self) -> Result<i64, Fault> {
        let highest = self.tags().await?.last().map_or(0, |tag| tag.id);
        if highest >= TAG_ID_MAX {
            return Err(Fault::TagIdInvalid);
        }
        Ok(highest + 1)
    }
}

fn check_tag_name(name: &str) -> Result<(), Fault> {
    let chars = name.chars().count();
    if chars == 0 || chars > TAG_NAME_MAX_CHARS {
        return Err(Fault::TagNameInvalid);
    }
    Ok(())
}
