//! One corp's directory (departments, users, tags and tag members) over the engine. Both
//! dialects call this layer, so a change made through one is seen through the other and every
//! rule and limit is enforced once. It speaks in vendor-neutral [`Fault`]s; each dialect
//! renders them in its own envelope.

mod departments;
mod fault;
mod members;
pub(crate) use members::MEMBER;
mod tags;
mod users;

use std::sync::Arc;

use roster_core::{
    all_pages, AddEdges, Engine, Entity, EntityFilter, StepId, StoreError, Target, WritePlan,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::corp::Corp;

pub(crate) use departments::{subtree, Department, NewDepartment, ROOT};
pub(crate) use fault::Fault;
pub(crate) use members::{Change, MemberCounts, MemberIds};
pub(crate) use tags::{NewTag, Tag, TagUpdate};
pub(crate) use users::{check_user, User, UserAttrs};

/// Directory attrs as stored.
fn attrs_value(attrs: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(attrs).expect("directory attrs serialize")
}

/// Entity kinds of a corp's directory.
pub(crate) const USER: &str = "user";
pub(crate) const DEPARTMENT: &str = "department";
pub(crate) const TAG: &str = "tag";

/// A directory object stored as one entity of the corp's space.
trait Record: Sized {
    const KIND: &'static str;
    fn not_found() -> Fault;
    fn from_entity(entity: &Entity) -> Result<Self, StoreError>;
}

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

    async fn find(&self, kind: &str, key: &str) -> Result<Option<Entity>, StoreError> {
        self.engine
            .store
            .find_entity(self.corp.space, kind, key)
            .await
    }

    async fn record<R: Record>(&self, key: &str) -> Result<R, Fault> {
        match self.find(R::KIND, key).await? {
            Some(entity) => Ok(R::from_entity(&entity)?),
            None => Err(R::not_found()),
        }
    }

    /// The record another name (in `namespace`) points at.
    async fn record_by_alias<R: Record>(&self, namespace: &str, alias: &str) -> Result<R, Fault> {
        let store = &self.engine.store;
        let found = store
            .resolve_aliases(self.corp.space, namespace, &[alias.to_string()])
            .await?;
        let id = found.get(alias).ok_or_else(R::not_found)?;
        match store.entity(self.corp.space, *id).await? {
            Some(entity) => Ok(R::from_entity(&entity)?),
            None => Err(R::not_found()),
        }
    }

    /// Every record of a kind, in creation order.
    async fn records<R: Record>(&self) -> Result<Vec<R>, Fault> {
        let all = self.all(R::KIND).await?;
        Ok(all
            .iter()
            .map(R::from_entity)
            .collect::<Result<Vec<_>, _>>()?)
    }

    fn plan(&self) -> WritePlan {
        WritePlan::new(self.corp.space, self.now())
    }

    /// The step adding `members` to `subject` under `relation`; the plan is refused (its
    /// outcomes say `is_full`, see [`batch_outcomes`]) if it would take the subject past `cap`
    /// members.
    fn add_capped(
        plan: &mut WritePlan,
        subject: Target,
        relation: &str,
        members: Vec<Target>,
        cap: i64,
    ) -> StepId {
        let mut add = AddEdges::new(subject, relation, members);
        add.caps.members_per_subject = Some(cap);
        add.policy.abort_on_full = true;
        plan.add_edges(add)
    }

    /// Every entity of a kind, in creation order.
    async fn all(&self, kind: &str) -> Result<Vec<Entity>, StoreError> {
        let filter = EntityFilter {
            space_id: self.corp.space,
            kind: kind.into(),
            owner: None,
        };
        all_pages(|page| self.engine.store.list_entities(&filter, page)).await
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
        StoreError::backend(format!(
            "{} {}: unreadable attrs: {e}",
            entity.kind, entity.key
        ))
    })
}

/// The number a tag or department is keyed by.
fn numeric_key(entity: &Entity) -> Result<i64, StoreError> {
    entity.key.parse().map_err(|_| {
        StoreError::backend(format!(
            "{} key {} is not a number",
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
