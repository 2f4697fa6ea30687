//! [`SpaceDump`]s, the same on every backend: built from a space's rows, and loaded inside an
//! open write transaction (the space's contents replaced by the dump's, ids assigned afresh,
//! counters recounted).

use std::collections::{BTreeMap, HashMap, HashSet};

use roster_core::{
    Direction, DumpBuilder, DumpedEntity, Entity, EntityId, EntityRef, Space, SpaceDump, SpaceId,
    SpaceName, StoreError,
};

/// The rows of one space, read in one snapshot: entities in id order, aliases as (namespace,
/// alias, entity) in (namespace, alias) order, edges as (subject, relation, member,
/// created_at) in insertion order.
pub(crate) struct SpaceRows {
    pub space: Space,
    pub entities: Vec<Entity>,
    pub aliases: Vec<(String, String, EntityId)>,
    pub edges: Vec<(EntityId, String, EntityId, i64)>,
}

impl SpaceRows {
    pub(crate) fn into_dump(self) -> Result<SpaceDump, StoreError> {
        let name = SpaceName {
            dialect: self.space.dialect,
            key: self.space.key,
        };
        let mut dump = DumpBuilder::new(name, self.space.limits, self.entities);
        let dangling = |e: roster_core::DanglingReference| StoreError::backend(e);
        for (namespace, alias, entity) in self.aliases {
            dump.alias(namespace, alias, entity).map_err(dangling)?;
        }
        for (subject, relation, member, created_at) in self.edges {
            dump.edge(subject, relation, member, created_at)
                .map_err(dangling)?;
        }
        Ok(dump.finish())
    }
}

use crate::exec::Tx;

/// What can go wrong loading: a dump that contradicts itself, or the database.
pub(crate) enum LoadError<E> {
    Invalid(String),
    Backend(E),
}

impl<E> From<E> for LoadError<E> {
    fn from(e: E) -> Self {
        LoadError::Backend(e)
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<LoadError<E>> for StoreError {
    fn from(e: LoadError<E>) -> Self {
        match e {
            LoadError::Invalid(why) => StoreError::InvalidDump(why),
            LoadError::Backend(e) => StoreError::backend(e),
        }
    }
}

/// The statements loading needs beyond a plan's.
pub(crate) trait LoadTx: Tx {
    /// The space's id, created if missing, with `limits` (JSON) as its overrides.
    async fn upsert_space(
        &mut self,
        dialect: &str,
        key: &str,
        limits: &str,
    ) -> Result<SpaceId, Self::Error>;
    /// Delete every entity, alias, edge and counter of the space.
    async fn clear_space(&mut self, space: SpaceId) -> Result<(), Self::Error>;
    /// Insert the entity with its own timestamps; `None` if its key is taken.
    async fn restore_entity(
        &mut self,
        space: SpaceId,
        entity: &DumpedEntity,
        owner: Option<EntityId>,
    ) -> Result<Option<EntityId>, Self::Error>;
}

/// Replace the contents of the dump's space (created if missing) with the dump.
pub(crate) async fn load_space<T: LoadTx>(
    tx: &mut T,
    dump: &SpaceDump,
) -> Result<(), LoadError<T::Error>> {
    let limits = serde_json::to_string(&dump.limits).expect("limits serialize");
    let space = tx
        .upsert_space(&dump.space.dialect, &dump.space.key, &limits)
        .await?;
    tx.clear_space(space).await?;
    let mut ids: HashMap<&EntityRef, EntityId> = HashMap::with_capacity(dump.entities.len());
    let refs: Vec<EntityRef> = dump
        .entities
        .iter()
        .map(|e| EntityRef {
            kind: e.kind.clone(),
            key: e.key.clone(),
        })
        .collect();
    let id_of = |ids: &HashMap<&EntityRef, EntityId>, name: &EntityRef, what: &str| {
        ids.get(name).copied().ok_or_else(|| {
            LoadError::Invalid(format!(
                "{what} names {}/{}, which is not an earlier entity of {}",
                name.kind, name.key, dump.space
            ))
        })
    };
    for (entity, name) in dump.entities.iter().zip(&refs) {
        let owner = match &entity.owner {
            Some(owner) => Some(id_of(&ids, owner, "an entity's owner")?),
            None => None,
        };
        let id = tx
            .restore_entity(space, entity, owner)
            .await?
            .ok_or_else(|| {
                LoadError::Invalid(format!(
                    "entity {}/{} appears twice in {}",
                    name.kind, name.key, dump.space
                ))
            })?;
        ids.insert(name, id);
    }
    for alias in &dump.aliases {
        let entity = id_of(&ids, &alias.entity, "an alias")?;
        if tx
            .set_alias(space, &alias.namespace, &alias.alias, entity)
            .await?
            != Some(entity)
        {
            return Err(LoadError::Invalid(format!(
                "alias {}/{} appears twice in {}",
                alias.namespace, alias.alias, dump.space
            )));
        }
    }
    // Runs of edges with one relation and time go in one statement, in order.
    let mut counts: BTreeMap<(&str, Direction), HashMap<EntityId, i64>> = BTreeMap::new();
    let mut run: Vec<(EntityId, EntityId)> = Vec::new();
    let mut seen = HashSet::with_capacity(dump.edges.len());
    for (i, edge) in dump.edges.iter().enumerate() {
        let subject = id_of(&ids, &edge.subject, "an edge")?;
        let member = id_of(&ids, &edge.member, "an edge")?;
        if !seen.insert((subject, edge.relation.as_str(), member)) {
            return Err(LoadError::Invalid(format!(
                "the {} edge {}/{} -> {}/{} appears twice in {}",
                edge.relation,
                edge.subject.kind,
                edge.subject.key,
                edge.member.kind,
                edge.member.key,
                dump.space
            )));
        }
        run.push((subject, member));
        let relation = edge.relation.as_str();
        *counts
            .entry((relation, Direction::Members))
            .or_default()
            .entry(subject)
            .or_default() += 1;
        *counts
            .entry((relation, Direction::Memberships))
            .or_default()
            .entry(member)
            .or_default() += 1;
        let next = dump.edges.get(i + 1);
        if next.is_none_or(|n| n.relation != edge.relation || n.created_at != edge.created_at) {
            tx.insert_edges(space, edge.created_at, relation, &run)
                .await?;
            run.clear();
        }
    }
    for ((relation, direction), by_entity) in counts {
        let mut deltas: Vec<(EntityId, i64)> = by_entity.into_iter().collect();
        deltas.sort_unstable();
        tx.bump_counters(relation, direction, &deltas).await?;
    }
    Ok(())
}
