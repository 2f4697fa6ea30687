use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use serde_json::Value;

use crate::model::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("an entity with that key already exists")]
    Conflict,
    #[error("not found")]
    NotFound,
    #[error("storage failure: {0}")]
    Backend(String),
}

/// Durable storage of spaces, entities, aliases and edges. Every write is one transaction:
/// a batch is applied whole (or, by its policy, not at all), and counters and caps are checked
/// and updated inside it, so concurrent writers can never push a count past its cap.
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

    /// Insert; `Conflict` if (space, kind, key) exists.
    async fn create_entity(&self, new: NewEntity) -> Result<Entity, StoreError>;
    /// Insert all in one transaction; `Conflict`, and nothing written, if any key exists.
    async fn create_entities(&self, new: Vec<NewEntity>) -> Result<Vec<Entity>, StoreError>;
    /// Insert, or replace the attrs of the existing entity with the same key when they differ.
    async fn upsert_entity(&self, new: NewEntity) -> Result<Entity, StoreError>;
    async fn entity(&self, id: EntityId) -> Result<Option<Entity>, StoreError>;
    async fn entities(&self, ids: &[EntityId]) -> Result<HashMap<EntityId, Entity>, StoreError>;
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
    async fn update_entity(
        &self,
        id: EntityId,
        attrs: Value,
        now: i64,
    ) -> Result<Entity, StoreError>;
    /// Delete the entity with its aliases and every edge it is on, adjusting the counters of
    /// the entities on the other ends.
    async fn delete_entity(&self, id: EntityId) -> Result<(), StoreError>;

    /// Another name for an entity in a namespace (an open_id per app, a numeric tag id, ...).
    async fn set_alias(
        &self,
        space: SpaceId,
        namespace: &str,
        alias: &str,
        entity: EntityId,
    ) -> Result<(), StoreError>;
    /// Drop `alias` if it names `entity` (a renamed entity gives up its old name).
    async fn remove_alias(
        &self,
        space: SpaceId,
        namespace: &str,
        alias: &str,
        entity: EntityId,
    ) -> Result<(), StoreError>;
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

    async fn add_edges(&self, req: AddEdges) -> Result<Vec<(EntityId, Outcome)>, StoreError>;
    async fn remove_edges(&self, req: RemoveEdges) -> Result<Vec<(EntityId, Outcome)>, StoreError>;
    /// Which of `members` are members of `subject`.
    async fn edges_among(
        &self,
        subject: EntityId,
        relation: &str,
        members: &[EntityId],
    ) -> Result<HashMap<EntityId, Edge>, StoreError>;
    /// Which of `subjects` have `member` as a member (keyed by subject).
    async fn memberships_among(
        &self,
        member: EntityId,
        relation: &str,
        subjects: &[EntityId],
    ) -> Result<HashMap<EntityId, Edge>, StoreError>;
    async fn list_edges(
        &self,
        entity: EntityId,
        relation: &str,
        direction: Direction,
        page: PageRequest,
    ) -> Result<Page<Edge>, StoreError>;
    async fn counts(
        &self,
        entities: &[EntityId],
        relation: &str,
        direction: Direction,
    ) -> Result<HashMap<EntityId, i64>, StoreError>;
}
