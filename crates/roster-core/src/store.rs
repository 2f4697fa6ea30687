use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;

use crate::model::*;
use crate::plan::{Applied, Refusal, StepId, WritePlan};
use crate::{
    Change, ChangeSpan, Coordinator, DeliveryAttempt, EntitySearch, HistoryStats, NamedEdge,
    RelationCount, Resend, SpaceCounts, SpaceDump,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A plan's step was refused; nothing of the plan was written.
    #[error("{step} refused: {refusal}")]
    Refused { step: StepId, refusal: Refusal },
    /// A dump given to [`Store::load_spaces`] contradicts itself; nothing was loaded.
    #[error("invalid dump: {0}")]
    InvalidDump(String),
    #[error("storage failure: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn backend(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError::Backend(e.into())
    }

    /// The refusal of `step`, if that is what this error is.
    pub fn refusal_of(&self, step: StepId) -> Option<&Refusal> {
        match self {
            StoreError::Refused { step: s, refusal } if *s == step => Some(refusal),
            _ => None,
        }
    }
}

/// Durable storage of spaces, entities, aliases and edges. Every write is a [`WritePlan`]
/// applied in one transaction, whole or not at all; counters and caps are checked and updated
/// inside it, so concurrent writers can never push a count past its cap.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A named secret, generated on first use and kept for the life of the database.
    async fn secret(&self, name: &str) -> Result<Vec<u8>, StoreError>;

    /// Create the space if missing and set its limit overrides.
    async fn ensure_space(
        &self,
        dialect: &str,
        key: &str,
        limits: &BTreeMap<String, i64>,
    ) -> Result<Space, StoreError>;
    async fn spaces(&self, dialect: &str) -> Result<Vec<Space>, StoreError>;

    /// Apply every step of `plan` in one transaction, or none: the first refused step rolls
    /// the plan back and is reported as [`StoreError::Refused`].
    async fn apply(&self, plan: WritePlan) -> Result<Applied, StoreError>;

    /// The entity `id` of `space` (every read names its space: the distribution column).
    async fn entity(&self, space: SpaceId, id: EntityId) -> Result<Option<Entity>, StoreError> {
        Ok(self.entities(space, &[id]).await?.remove(&id))
    }
    async fn entities(
        &self,
        space: SpaceId,
        ids: &[EntityId],
    ) -> Result<HashMap<EntityId, Entity>, StoreError>;
    async fn find_entity(
        &self,
        space: SpaceId,
        kind: &str,
        key: &str,
    ) -> Result<Option<Entity>, StoreError>;
    /// [`Store::find_entity`] for many keys at once; absent keys are absent from the map.
    async fn find_entities(
        &self,
        space: SpaceId,
        kind: &str,
        keys: &[String],
    ) -> Result<HashMap<String, Entity>, StoreError>;
    /// Entities of one kind in id order (`PageRequest::after` is an entity id).
    async fn list_entities(
        &self,
        filter: &EntityFilter,
        page: PageRequest,
    ) -> Result<Page<Entity>, StoreError>;
    /// Entities of `kind` linked to `member`: owned by it, or having it as a member under one of
    /// `relations`. In id order (`PageRequest::after` is an entity id).
    async fn list_linked(
        &self,
        space: SpaceId,
        kind: &str,
        member: EntityId,
        relations: &[&str],
        page: PageRequest,
    ) -> Result<Page<Entity>, StoreError>;
    async fn resolve_aliases(
        &self,
        space: SpaceId,
        namespace: &str,
        aliases: &[String],
    ) -> Result<HashMap<String, EntityId>, StoreError>;
    async fn aliases_of(
        &self,
        space: SpaceId,
        namespace: &str,
        entities: &[EntityId],
    ) -> Result<HashMap<EntityId, String>, StoreError>;

    /// Which of `members` are members of `subject`.
    async fn edges_among(
        &self,
        space: SpaceId,
        subject: EntityId,
        relation: &str,
        members: &[EntityId],
    ) -> Result<HashMap<EntityId, Edge>, StoreError>;
    /// Which of `subjects` have `member` as a member (keyed by subject).
    async fn memberships_among(
        &self,
        space: SpaceId,
        member: EntityId,
        relation: &str,
        subjects: &[EntityId],
    ) -> Result<HashMap<EntityId, Edge>, StoreError>;
    /// The members of each of `subjects` (of `space`) under `relation`, each in insertion
    /// order, in one read. For relations with small caps (a task's followers), where a whole
    /// list is what a caller renders; page large ones with [`Store::list_edges`].
    async fn members_of(
        &self,
        space: SpaceId,
        subjects: &[EntityId],
        relation: &str,
    ) -> Result<HashMap<EntityId, Vec<EntityId>>, StoreError>;
    /// The (subject, member) edges under `relation` from any of `subjects` to any of
    /// `members` (of `space`), in one read.
    async fn edges_within(
        &self,
        space: SpaceId,
        subjects: &[EntityId],
        relation: &str,
        members: &[EntityId],
    ) -> Result<Vec<(EntityId, EntityId)>, StoreError>;
    async fn list_edges(
        &self,
        space: SpaceId,
        entity: EntityId,
        relation: &str,
        direction: Direction,
        page: PageRequest,
    ) -> Result<Page<Edge>, StoreError>;
    /// A page of [`Store::list_edges`] with the entity at each edge's other end, read with the
    /// edges in one statement.
    async fn list_edges_entities(
        &self,
        space: SpaceId,
        entity: EntityId,
        relation: &str,
        direction: Direction,
        page: PageRequest,
    ) -> Result<Page<(Edge, Entity)>, StoreError>;
    /// A page of [`Store::list_edges`] with the alias in `namespace` of each edge's other end
    /// (none when it has none), read with the edges in one statement.
    async fn list_edges_aliases(
        &self,
        space: SpaceId,
        entity: EntityId,
        relation: &str,
        direction: Direction,
        namespace: &str,
        page: PageRequest,
    ) -> Result<Page<(Edge, Option<String>)>, StoreError>;
    /// The counters of `entities` under each (relation, direction) of `counted`, in one read:
    /// one map per pair, in `counted`'s order, holding every entity (0 where it has no counter).
    async fn counters(
        &self,
        space: SpaceId,
        entities: &[EntityId],
        counted: &[(&str, Direction)],
    ) -> Result<Vec<HashMap<EntityId, i64>>, StoreError>;
    /// [`Store::counters`] under one relation and direction.
    async fn counts(
        &self,
        space: SpaceId,
        entities: &[EntityId],
        relation: &str,
        direction: Direction,
    ) -> Result<HashMap<EntityId, i64>, StoreError> {
        let mut counts = self
            .counters(space, entities, &[(relation, direction)])
            .await?;
        Ok(counts.pop().unwrap_or_default())
    }

    /// Everything `space` holds, read in one consistent snapshot.
    async fn dump_space(&self, space: SpaceId) -> Result<SpaceDump, StoreError>;
    /// In one transaction, replace each dumped space's contents with its dump (entities get
    /// new ids; counters are recounted), creating the spaces that are missing.
    async fn load_spaces(&self, dumps: Vec<SpaceDump>) -> Result<(), StoreError>;

    /// What the roster processes sharing this database agree on beyond stored data (rates,
    /// exclusive sections): in memory when one process owns it.
    fn coordinator(&self) -> Arc<dyn Coordinator>;

    /// Wait for in-flight work and close every connection (SQLite checkpoints its WAL).
    async fn close(&self);

    /// Refresh the planner's statistics of the tables that changed much since they were last
    /// gathered (after a seed, a load, bulk growth), outside any request: the housekeeping
    /// pass calls it. The tables refreshed.
    async fn refresh_statistics(&self) -> Result<Vec<String>, StoreError>;

    /// The changes of `space` after the change `after` (a seq; 0: from the start), oldest
    /// first, at most `limit`.
    async fn changes(
        &self,
        space: SpaceId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError>;
    /// What the change log of `space` still holds: how far retention removed it, its oldest
    /// kept change and its last.
    async fn change_span(&self, space: SpaceId) -> Result<ChangeSpan, StoreError>;
    /// Remove one batch of the oldest changes of `space`, at most `limit` rows in one short
    /// transaction: whole plans made before `before` (Unix seconds) whose callbacks are done
    /// (at or before the delivery cursor, and before any callback still to be re-sent; nothing
    /// before the cursor is set). How many were removed.
    async fn prune_changes(
        &self,
        space: SpaceId,
        before: i64,
        limit: u32,
    ) -> Result<u64, StoreError>;
    /// Remove at most `limit` delivery attempts of `space` made before `before` (Unix
    /// seconds) with no re-send to come (delivered or given up). How many were removed.
    async fn prune_attempts(
        &self,
        space: SpaceId,
        before: i64,
        limit: u32,
    ) -> Result<u64, StoreError>;
    /// Give up to `limit` pages that deletes freed back to the file system (SQLite's
    /// incremental vacuum); how many. PostgreSQL's autovacuum does this on its own: 0.
    async fn reclaim(&self, limit: u32) -> Result<u64, StoreError>;
    /// The size of the change log and of the database.
    async fn history_stats(&self) -> Result<HistoryStats, StoreError>;
    /// The last change of `space` whose callbacks are done; none before the cursor is set.
    async fn delivery_cursor(&self, space: SpaceId) -> Result<Option<i64>, StoreError>;
    /// Move the cursor of `space` from `from` (0 also when it is not set yet) to `to`; false
    /// when it is no longer at `from` (another process moved it).
    async fn advance_delivery_cursor(
        &self,
        space: SpaceId,
        from: i64,
        to: i64,
    ) -> Result<bool, StoreError>;
    /// Record a delivery attempt (its `id` is assigned), in one transaction with ending the
    /// pending re-send of the attempt it `follows`, if any; the id.
    async fn record_attempt(
        &self,
        attempt: &DeliveryAttempt,
        follows: Option<i64>,
    ) -> Result<i64, StoreError>;
    /// The attempts of `space` with a re-send to come.
    async fn pending_resends(&self, space: SpaceId) -> Result<Vec<DeliveryAttempt>, StoreError>;
    /// Replace the re-send of `attempt` (of `space`) with `claimed` if it is still
    /// `expected`: whether this caller now owns it (no other process sends it meanwhile, and
    /// a dropped one is not sent).
    async fn claim_resend(
        &self,
        (space, attempt): (SpaceId, i64),
        expected: &Resend,
        claimed: &Resend,
    ) -> Result<bool, StoreError>;
    /// Cancel every re-send still to come in `space` (its receiver changed).
    async fn drop_resends(&self, space: SpaceId) -> Result<(), StoreError>;
    /// Delivery attempts (of `space`, or of all) with ids after `after`, oldest first.
    async fn attempts(
        &self,
        space: Option<SpaceId>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryAttempt>, StoreError>;

    /// How many entities of each kind `space` holds, and how many edges (for operators: it
    /// counts rows, so its cost grows with the space).
    async fn space_counts(&self, space: SpaceId) -> Result<SpaceCounts, StoreError>;
    /// The entities `search` matches, in id order (`PageRequest::after` is an entity id).
    async fn search_entities(
        &self,
        search: &EntitySearch,
        page: PageRequest,
    ) -> Result<Page<Entity>, StoreError>;
    /// Every alias of `entity`, as (namespace, alias), in that order.
    async fn entity_aliases(
        &self,
        space: SpaceId,
        entity: EntityId,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// The relations `entity` has edges under, from each side it is on, by relation name.
    async fn relations_of(
        &self,
        space: SpaceId,
        entity: EntityId,
    ) -> Result<Vec<RelationCount>, StoreError>;
    /// Edges of `space` with an end among `entities`, oldest first, at most `limit`.
    async fn edges_touching(
        &self,
        space: SpaceId,
        entities: &[EntityId],
        limit: u32,
    ) -> Result<Vec<NamedEdge>, StoreError>;
}
