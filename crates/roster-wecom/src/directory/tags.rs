use roster_core::{Direction, Entity, EntityId, Refusal, Step, StoreError};
use serde::{Deserialize, Serialize};

use super::{attrs_value, decode, numeric_key, parse_id, Directory, Fault, Record, TAG};

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
        // The reads above choose which refusal a caller sees first; the keys below decide races.
        let mut attempts = 0;
        loop {
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
            let mut plan = self.plan();
            let tag = plan.create(TAG, key, attrs_value(&attrs), None);
            let name = plan.set_alias(TAG_NAME, &attrs.name, tag);
            let qwif = plan.set_alias(QWIF_TAG, &attrs.qwif_id, tag);
            let corp = self.corp.entity.into();
            let counted = Self::add_capped(&mut plan, corp, CORP_TAG, vec![tag.into()], limit);
            let e = match self.engine.store.apply(plan).await {
                Ok(applied) => {
                    let entity = applied.entity(tag).id;
                    return Ok(Tag { entity, id, attrs });
                }
                Err(e) => e,
            };
            return Err(match e {
                e if e.refusal_of(tag).is_some() => {
                    if new.id.is_none() && attempts < ID_ATTEMPTS {
                        attempts += 1;
                        continue;
                    }
                    Fault::TagIdTaken
                }
                e if e.refusal_of(name).is_some() => Fault::TagNameTaken,
                e if e.refusal_of(qwif).is_some() => {
                    Fault::invalid(format!("do1 tag id {} is already used", attrs.qwif_id))
                }
                e if e.refusal_of(counted).is_some() => Fault::TooManyTags(limit),
                e => e.into(),
            });
        }
    }

    /// Change a tag's fields; a new name takes the old one's place as the tag's unique name.
    pub(crate) async fn update_tag(&self, mut tag: Tag, update: TagUpdate) -> Result<Tag, Fault> {
        loop {
            let mut attrs = tag.attrs.clone();
            let mut plan = self.plan();
            let renamed = match &update.name {
                Some(name) if *name != attrs.name => {
                    check_tag_name(name)?;
                    let step = plan.set_alias(TAG_NAME, name, tag.entity);
                    plan.remove_alias(TAG_NAME, &attrs.name, tag.entity);
                    attrs.name = name.clone();
                    Some(step)
                }
                _ => None,
            };
            attrs.show_num = update.show_num.unwrap_or(attrs.show_num);
            attrs.rang = update.rang.unwrap_or(attrs.rang);
            attrs.status = update.status.unwrap_or(attrs.status);
            // Only over the attrs it read, so two renames cannot leave a stray name behind.
            let updated = plan.push(Step::Update {
                entity: tag.entity.into(),
                attrs: attrs_value(&attrs),
                expect: Some(attrs_value(&tag.attrs)),
            });
            match self.engine.store.apply(plan).await {
                Ok(_) => return Ok(Tag { attrs, ..tag }),
                Err(e) if renamed.is_some_and(|step| e.refusal_of(step).is_some()) => {
                    return Err(Fault::TagNameTaken)
                }
                Err(e) => match e.refusal_of(updated) {
                    Some(Refusal::Changed) => tag = self.tag(tag.id).await?,
                    Some(_) => return Err(Fault::TagNotFound),
                    None => return Err(e.into()),
                },
            }
        }
    }

    /// Delete the tag with its members, names and place in the corp's count.
    pub(crate) async fn delete_tag(&self, tag: &Tag) -> Result<(), Fault> {
        let mut plan = self.plan();
        plan.delete(tag.entity);
        match self.engine.store.apply(plan).await {
            Ok(_) => Ok(()),
            Err(StoreError::Refused { .. }) => Err(Fault::TagNotFound),
            Err(e) => Err(e.into()),
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
            .counts(self.corp.space, &[entity], CORP_TAG, Direction::Members)
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
