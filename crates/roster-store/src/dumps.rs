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

/// The statements loading needs beyond a plan's; each takes a whole list at once.
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
    /// Insert the entities (keys distinct, the space empty), in order, with their own
    /// timestamps and no owner; their ids by (kind, key).
    async fn restore_entities(
        &mut self,
        space: SpaceId,
        entities: &[DumpedEntity],
    ) -> Result<HashMap<(String, String), EntityId>, Self::Error>;
    /// Set each (entity, owner).
    async fn set_owners(&mut self, owners: &[(EntityId, EntityId)]) -> Result<(), Self::Error>;
    /// Insert the (namespace, alias, entity) rows (distinct names, the space empty).
    async fn restore_aliases(
        &mut self,
        space: SpaceId,
        aliases: &[(&str, &str, EntityId)],
    ) -> Result<(), Self::Error>;
}

/// Replace the contents of the dump's space (created if missing) with the dump.
pub(crate) async fn load_space<T: LoadTx>(
    tx: &mut T,
    dump: &SpaceDump,
) -> Result<(), LoadError<T::Error>> {
    let invalid = |why: String| LoadError::Invalid(format!("{why} in {}", dump.space));
    let mut keys = HashSet::with_capacity(dump.entities.len());
    if let Some(twice) = dump
        .entities
        .iter()
        .find(|e| !keys.insert((&e.kind, &e.key)))
    {
        return Err(invalid(format!(
            "entity {}/{} appears twice",
            twice.kind, twice.key
        )));
    }
    let limits = serde_json::to_string(&dump.limits).expect("limits serialize");
    let space = tx
        .upsert_space(&dump.space.dialect, &dump.space.key, &limits)
        .await?;
    tx.clear_space(space).await?;
    let ids = tx.restore_entities(space, &dump.entities).await?;
    let id_of = |name: &EntityRef, what: &str| {
        ids.get(&(name.kind.clone(), name.key.clone()))
            .copied()
            .ok_or_else(|| {
                invalid(format!(
                    "{what} names {}/{}, which is not an entity",
                    name.kind, name.key
                ))
            })
    };
    let mut owners = Vec::new();
    for entity in &dump.entities {
        if let Some(owner) = &entity.owner {
            let id = id_of(
                &EntityRef {
                    kind: entity.kind.clone(),
                    key: entity.key.clone(),
                },
                "an entity",
            )?;
            owners.push((id, id_of(owner, "an entity's owner")?));
        }
    }
    tx.set_owners(&owners).await?;
    let mut names = HashSet::with_capacity(dump.aliases.len());
    let mut aliases = Vec::with_capacity(dump.aliases.len());
    for alias in &dump.aliases {
        if !names.insert((&alias.namespace, &alias.alias)) {
            return Err(invalid(format!(
                "alias {}/{} appears twice",
                alias.namespace, alias.alias
            )));
        }
        let entity = id_of(&alias.entity, "an alias")?;
        aliases.push((alias.namespace.as_str(), alias.alias.as_str(), entity));
    }
    tx.restore_aliases(space, &aliases).await?;
    // Runs of edges with one relation and time go in one statement, in order.
    let mut counts: BTreeMap<(&str, Direction), HashMap<EntityId, i64>> = BTreeMap::new();
    let mut run: Vec<(EntityId, EntityId)> = Vec::new();
    let mut seen = HashSet::with_capacity(dump.edges.len());
    for (i, edge) in dump.edges.iter().enumerate() {
        let subject = id_of(&edge.subject, "an edge")?;
        let member = id_of(&edge.member, "an edge")?;
        if !seen.insert((subject, edge.relation.as_str(), member)) {
            return Err(invalid(format!(
                "the {} edge {}/{} -> {}/{} appears twice",
                edge.relation,
                edge.subject.kind,
                edge.subject.key,
                edge.member.kind,
                edge.member.key
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
