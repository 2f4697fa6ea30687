//! One corp's directory (departments, users, tags and tag members) over the engine. Both
//! dialects call this layer, so a change made through one is seen through the other and every
//! rule and limit is enforced once. It speaks in vendor-neutral [`Fault`]s; each dialect
//! renders them in its own envelope.

mod departments;
mod fault;
mod members;
mod tags;
mod users;

use std::sync::Arc;

use roster_core::{Engine, Entity, EntityFilter, NewEntity, PageRequest, StoreError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::corp::Corp;

pub(crate) use departments::{subtree, Department, NewDepartment, ROOT};
pub(crate) use fault::Fault;
pub(crate) use members::{Change, MemberCounts, MemberIds};
pub(crate) use tags::{NewTag, Tag, TagUpdate};
pub(crate) use users::{check_user, User, UserAttrs};

/// Entity kinds of a corp's directory.
const USER: &str = "user";
const DEPARTMENT: &str = "department";
const TAG: &str = "tag";

/// How many rows one read of a list fetches.
const PAGE: u32 = 1000;

/// One corp's directory, for the duration of one call.
#[derive(Clone)]
pub(crate) struct Directory {
    pub engine: Engine,
    pub corp: Arc<Corp>,
}

impl Directory {
    pub(crate) fn new(engine: Engine, corp: Arc<Corp>) -> Self {
        Self { engine, corp }
    }

    fn now(&self) -> i64 {
        self.engine.clock.now()
    }

    fn new_entity(&self, kind: &str, key: String, attrs: &impl Serialize) -> NewEntity {
        NewEntity {
            space_id: self.corp.space,
            kind: kind.into(),
            key,
            attrs: serde_json::to_value(attrs).expect("directory attrs serialize"),
            owner: None,
            now: self.now(),
        }
    }

    async fn find(&self, kind: &str, key: &str) -> Result<Option<Entity>, StoreError> {
        self.engine
            .store
            .find_entity(self.corp.space, kind, key)
            .await
    }

    /// Every entity of a kind, in creation order.
    async fn all(&self, kind: &str) -> Result<Vec<Entity>, StoreError> {
        let filter = EntityFilter {
            space_id: self.corp.space,
            kind: kind.into(),
            owner: None,
        };
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .engine
                .store
                .list_entities(
                    &filter,
                    PageRequest {
                        after,
                        limit: PAGE,
                        newest_first: false,
                    },
                )
                .await?;
            all.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// do1's own id for one of the corp's objects: 32 hex digits, stable for the same object.
    fn qwif_id(&self, kind: &str, key: &str) -> String {
        let digest = Sha256::new()
            .chain_update(self.corp.attrs.corp_id.as_bytes())
            .chain_update([0])
            .chain_update(kind.as_bytes())
            .chain_update([0])
            .chain_update(key.as_bytes())
            .finalize();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn decode<T: DeserializeOwned>(entity: &Entity) -> Result<T, StoreError> {
    serde_json::from_value(entity.attrs.clone()).map_err(|e| {
        StoreError::Backend(format!(
            "{} {}: unreadable attrs: {e}",
            entity.kind, entity.key
        ))
    })
}

/// A decimal id as WeCom and do1 use for tags and departments: digits only, within `max`.
pub(crate) fn parse_id(text: &str, max: i64) -> Option<i64> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|id| *id <= max)
}
