//! [`SpaceDump`]s, the same on every backend: built from a space's rows, and loaded inside an
//! open write transaction (the space made to hold exactly the dump, touching only the rows
//! that differ).

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
    /// Reading the space's rows (whose decoding errors are the store's).
    Read(StoreError),
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
            LoadError::Read(e) => e,
            LoadError::Backend(e) => StoreError::backend(e),
        }
    }
}

/// The statements loading needs beyond a plan's; each takes a whole list at once.
pub(crate) trait LoadTx: Tx {
    /// The space's id, created (empty, no overrides) if missing; an existing space's row is
    /// not touched, so not locked, before [`LoadTx::lock_space`].
    async fn space_id(&mut self, dialect: &str, key: &str) -> Result<SpaceId, Self::Error>;
    /// Keep every writer of the space out until the transaction ends (the first lock of the
    /// order every writer keeps, taken exclusively).
    async fn lock_space(&mut self, space: SpaceId) -> Result<(), Self::Error>;
    /// Give the space `limits` (JSON) as its overrides and its generation one higher.
    async fn renew_space(&mut self, space: SpaceId, limits: &str) -> Result<(), Self::Error>;
    /// The space's rows as they stand.
    async fn space_rows(&mut self, space: SpaceId) -> Result<SpaceRows, StoreError>;
    /// Delete every entity, alias, edge and counter of the space.
    async fn clear_space(&mut self, space: SpaceId) -> Result<(), Self::Error>;
    /// Insert the entities (keys free), in order, with their own timestamps and no owner;
    /// their ids by (kind, key).
    async fn restore_entities(
        &mut self,
        space: SpaceId,
        entities: &[&DumpedEntity],
    ) -> Result<HashMap<(String, String), EntityId>, Self::Error>;
    /// Give each entity (of `space`) the attributes and timestamps of its dumped self.
    async fn rewrite_entities(
        &mut self,
        space: SpaceId,
        entities: &[(EntityId, &DumpedEntity)],
    ) -> Result<(), Self::Error>;
    /// Set each (entity, owner) of `space`.
    async fn set_owners(
        &mut self,
        space: SpaceId,
        owners: &[(EntityId, Option<EntityId>)],
    ) -> Result<(), Self::Error>;
    /// Delete the (namespace, alias) names of the space.
    async fn delete_aliases(
        &mut self,
        space: SpaceId,
        names: &[(&str, &str)],
    ) -> Result<(), Self::Error>;
    /// Insert the (namespace, alias, entity) rows (names free).
    async fn restore_aliases(
        &mut self,
        space: SpaceId,
        aliases: &[(&str, &str, EntityId)],
    ) -> Result<(), Self::Error>;
}

/// An entity by kind and key, borrowed.
type Name<'a> = (&'a str, &'a str);
/// An edge by its ends' names: (subject, relation, member, created_at).
type EdgeName<'a> = (Name<'a>, &'a str, Name<'a>, i64);

fn name(entity: &EntityRef) -> Name<'_> {
    (&entity.kind, &entity.key)
}

/// Load the dumps in the open transaction: every space first (created if missing) and locked,
/// in id order, so two loads of the same spaces queue instead of deadlocking; then each.
pub(crate) async fn load_spaces<T: LoadTx>(
    tx: &mut T,
    dumps: &[SpaceDump],
) -> Result<(), LoadError<T::Error>> {
    let mut spaces = Vec::with_capacity(dumps.len());
    for dump in dumps {
        spaces.push(tx.space_id(&dump.space.dialect, &dump.space.key).await?);
    }
    let mut order = spaces.clone();
    order.sort_unstable();
    order.dedup();
    for space in order {
        tx.lock_space(space).await?;
    }
    for (dump, space) in dumps.iter().zip(spaces) {
        load_space(tx, space, dump).await?;
    }
    Ok(())
}

/// Make the dump's space (locked) hold exactly the dump, and raise its generation. Rows that already match stay as they are, with their ids; the rest are
/// deleted, rewritten or inserted, and counters move by the edges that went and came. New
/// entities and edges take ids and seqs after the kept ones, so when the dump wants one
/// before a kept one, the space (for an entity) or its edges (for an edge) are loaded afresh
/// instead: order is always the dump's.
async fn load_space<T: LoadTx>(
    tx: &mut T,
    space: SpaceId,
    dump: &SpaceDump,
) -> Result<(), LoadError<T::Error>> {
    let invalid = |why: String| LoadError::Invalid(format!("{why} in {}", dump.space));
    let wanted = index_entities(dump).map_err(invalid)?;
    let limits = serde_json::to_string(&dump.limits).expect("limits serialize");
    tx.renew_space(space, &limits).await?;
    let mut current = tx.space_rows(space).await.map_err(LoadError::Read)?;
    if !keeps_order(
        current
            .entities
            .iter()
            .map(|e| (e.kind.as_str(), e.key.as_str())),
        dump.entities
            .iter()
            .map(|e| (e.kind.as_str(), e.key.as_str())),
        |n| wanted.contains_key(n),
    ) {
        tx.clear_space(space).await?;
        current.entities.clear();
        current.aliases.clear();
        current.edges.clear();
    }
    let current_names: HashMap<EntityId, Name> = current
        .entities
        .iter()
        .map(|e| (e.id, (e.kind.as_str(), e.key.as_str())))
        .collect();
    let current_by_name: HashMap<Name, &Entity> = current
        .entities
        .iter()
        .map(|e| ((e.kind.as_str(), e.key.as_str()), e))
        .collect();
    let named = |id: &EntityId| {
        current_names.get(id).copied().ok_or_else(|| {
            LoadError::Read(StoreError::backend(format!(
                "row {id} of {} names an entity of another space",
                dump.space
            )))
        })
    };
    let stale: HashSet<EntityId> = current
        .entities
        .iter()
        .filter(|e| !wanted.contains_key(&(e.kind.as_str(), e.key.as_str())))
        .map(|e| e.id)
        .collect();

    // Edges: those to remove (by ids) and those to add (by names, in the dump's order).
    let mut dumped_edges = Vec::with_capacity(dump.edges.len());
    let mut dumped_set = HashSet::with_capacity(dump.edges.len());
    // An edge is keyed without its time: the same one twice is a contradiction at any times.
    let mut keys = HashSet::with_capacity(dump.edges.len());
    for edge in &dump.edges {
        let named_edge = (
            name(&edge.subject),
            edge.relation.as_str(),
            name(&edge.member),
            edge.created_at,
        );
        dumped_set.insert(named_edge);
        if !keys.insert((named_edge.0, named_edge.1, named_edge.2)) {
            return Err(invalid(format!(
                "the {} edge {}/{} -> {}/{} appears twice",
                edge.relation,
                edge.subject.kind,
                edge.subject.key,
                edge.member.kind,
                edge.member.key
            )));
        }
        dumped_edges.push(named_edge);
    }
    let mut current_edges: Vec<(EdgeName, EntityId, EntityId)> =
        Vec::with_capacity(current.edges.len());
    for (subject, relation, member, created_at) in &current.edges {
        let edge = (
            named(subject)?,
            relation.as_str(),
            named(member)?,
            *created_at,
        );
        current_edges.push((edge, *subject, *member));
    }
    let edges_keep_order = keeps_order(
        current_edges.iter().map(|(edge, _, _)| *edge),
        dumped_edges.iter().copied(),
        |edge| dumped_set.contains(edge),
    );
    let (removed, added): (Vec<_>, &[EdgeName]) = if edges_keep_order {
        let removed: Vec<_> = current_edges
            .iter()
            .filter(|(edge, _, _)| !dumped_set.contains(edge))
            .collect();
        let kept = current_edges.len() - removed.len();
        (removed, &dumped_edges[kept..])
    } else {
        (current_edges.iter().collect(), &dumped_edges)
    };
    let mut deltas: BTreeMap<&str, BTreeMap<(EntityId, Direction), i64>> = BTreeMap::new();
    let mut by_relation: BTreeMap<&str, Vec<(EntityId, EntityId)>> = BTreeMap::new();
    for ((_, relation, _, _), subject, member) in removed {
        by_relation
            .entry(relation)
            .or_default()
            .push((*subject, *member));
        for (end, direction) in [
            (subject, Direction::Members),
            (member, Direction::Memberships),
        ] {
            if !stale.contains(end) {
                *deltas
                    .entry(relation)
                    .or_default()
                    .entry((*end, direction))
                    .or_default() -= 1;
            }
        }
    }
    for (relation, pairs) in by_relation {
        tx.delete_edges(space, relation, &pairs).await?;
    }

    // Aliases: by name, each naming its entity by kind and key.
    let mut dumped_aliases = HashMap::with_capacity(dump.aliases.len());
    for alias in &dump.aliases {
        let key = (alias.namespace.as_str(), alias.alias.as_str());
        if dumped_aliases.insert(key, name(&alias.entity)).is_some() {
            return Err(invalid(format!(
                "alias {}/{} appears twice",
                alias.namespace, alias.alias
            )));
        }
    }
    let mut gone_aliases = Vec::new();
    let mut standing = HashSet::with_capacity(current.aliases.len());
    for (namespace, alias, entity) in &current.aliases {
        let key = (namespace.as_str(), alias.as_str());
        if dumped_aliases.get(&key) == Some(&named(entity)?) {
            standing.insert(key);
        } else {
            gone_aliases.push(key);
        }
    }
    tx.delete_aliases(space, &gone_aliases).await?;

    // Entities.
    let stale: Vec<EntityId> = stale.into_iter().collect();
    tx.delete_entities(space, &stale).await?;
    let mut rewritten = Vec::new();
    let mut new = Vec::new();
    for entity in &dump.entities {
        match current_by_name.get(&(entity.kind.as_str(), entity.key.as_str())) {
            Some(row) => {
                if row.attrs != entity.attrs
                    || row.created_at != entity.created_at
                    || row.updated_at != entity.updated_at
                {
                    rewritten.push((row.id, entity));
                }
            }
            None => new.push(entity),
        }
    }
    tx.rewrite_entities(space, &rewritten).await?;
    let new_ids = if new.is_empty() {
        HashMap::new()
    } else {
        tx.restore_entities(space, &new).await?
    };
    let id_of = |entity: Name, what: &str| {
        current_by_name
            .get(&entity)
            .map(|row| row.id)
            .or_else(|| {
                new_ids
                    .get(&(entity.0.to_string(), entity.1.to_string()))
                    .copied()
            })
            .ok_or_else(|| {
                invalid(format!(
                    "{what} names {}/{}, which is not an entity",
                    entity.0, entity.1
                ))
            })
    };
    let mut owners = Vec::new();
    for entity in &dump.entities {
        let this = (entity.kind.as_str(), entity.key.as_str());
        let owner = match &entity.owner {
            Some(owner) => Some(id_of(name(owner), "an entity's owner")?),
            None => None,
        };
        let had = current_by_name.get(&this).and_then(|row| row.owner);
        if owner != had {
            owners.push((id_of(this, "an entity")?, owner));
        }
    }
    tx.set_owners(space, &owners).await?;
    let mut aliases = Vec::new();
    for alias in &dump.aliases {
        let key = (alias.namespace.as_str(), alias.alias.as_str());
        if !standing.contains(&key) {
            aliases.push((key.0, key.1, id_of(name(&alias.entity), "an alias")?));
        }
    }
    tx.restore_aliases(space, &aliases).await?;

    // Runs of added edges with one relation and time go in one statement, in order.
    let mut run: Vec<(EntityId, EntityId)> = Vec::new();
    for (i, (subject, relation, member, created_at)) in added.iter().enumerate() {
        let subject = id_of(*subject, "an edge")?;
        let member = id_of(*member, "an edge")?;
        run.push((subject, member));
        for (end, direction) in [
            (subject, Direction::Members),
            (member, Direction::Memberships),
        ] {
            *deltas
                .entry(relation)
                .or_default()
                .entry((end, direction))
                .or_default() += 1;
        }
        let next = added.get(i + 1);
        if next.is_none_or(|(_, r, _, at)| r != relation || at != created_at) {
            tx.insert_edges(space, *created_at, relation, &run).await?;
            run.clear();
        }
    }
    for (relation, by_end) in deltas {
        let deltas: Vec<(EntityId, Direction, i64)> = by_end
            .into_iter()
            .filter(|(_, n)| *n != 0)
            .map(|((entity, direction), n)| (entity, direction, n))
            .collect();
        if !deltas.is_empty() {
            tx.bump_counters(space, relation, &deltas).await?;
        }
    }
    Ok(())
}

/// The dump's entities by (kind, key), each once, after checking that every owner, alias
/// and edge names one of them.
fn index_entities(dump: &SpaceDump) -> Result<HashMap<Name<'_>, &DumpedEntity>, String> {
    let mut wanted = HashMap::with_capacity(dump.entities.len());
    for entity in &dump.entities {
        if wanted
            .insert((entity.kind.as_str(), entity.key.as_str()), entity)
            .is_some()
        {
            return Err(format!(
                "entity {}/{} appears twice",
                entity.kind, entity.key
            ));
        }
    }
    let references = dump
        .entities
        .iter()
        .filter_map(|e| e.owner.as_ref().map(|owner| ("an entity's owner", owner)))
        .chain(dump.aliases.iter().map(|a| ("an alias", &a.entity)))
        .chain(
            dump.edges
                .iter()
                .flat_map(|e| [("an edge", &e.subject), ("an edge", &e.member)]),
        );
    for (what, entity) in references {
        if !wanted.contains_key(&name(entity)) {
            return Err(format!(
                "{what} names {}/{}, which is not an entity",
                entity.kind, entity.key
            ));
        }
    }
    Ok(wanted)
}

/// Whether appending what `wanted` lacks to what `current` keeps (those `kept` says stay, in
/// their order) gives `wanted`: the kept ones are `wanted`'s first, in the same order.
fn keeps_order<T: PartialEq>(
    current: impl Iterator<Item = T>,
    wanted: impl Iterator<Item = T>,
    kept: impl Fn(&T) -> bool,
) -> bool {
    let mut wanted = wanted;
    current
        .filter(|item| kept(item))
        .all(|item| wanted.next().is_some_and(|w| w == item))
}

#[cfg(test)]
mod tests {
    use super::keeps_order;

    fn keeps(current: &[u8], wanted: &[u8]) -> bool {
        keeps_order(current.iter(), wanted.iter(), |x| wanted.contains(x))
    }

    #[test]
    fn kept_rows_must_be_the_wanted_ones_first_in_their_order() {
        assert!(keeps(&[], &[1, 2]));
        assert!(keeps(&[1, 2], &[1, 2]));
        assert!(
            keeps(&[1, 2, 9], &[1, 2, 3]),
            "stale rows go, new ones come after"
        );
        assert!(keeps(&[1, 9, 2], &[1, 2, 3]));
        assert!(!keeps(&[2, 1], &[1, 2]), "kept out of order");
        assert!(!keeps(&[1, 3], &[1, 2, 3]), "2 would come after 3");
        assert!(!keeps(&[2], &[1, 2]), "1 would come after 2");
    }
}
