//! How a [`WritePlan`] is applied, once for every backend: each step's checks and outcomes are
//! decided here, over the few set-wise statements a backend offers as [`Tx`]. A batch of
//! members costs a fixed number of statements whatever its size, reciprocal (mutual) edges
//! included.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use roster_core::{
    AddEdges, Applied, ChangeOp, Direction, Entity, EntityId, EntityRef, Outcome, Refusal,
    RemoveEdges, SpaceId, Step, StepId, StepResult, Target, WritePlan,
};

/// How a write transaction holds an entity row it reads. SQLite has one writer, which holds
/// the whole database, and ignores it; PostgreSQL locks the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowLock {
    None,
    /// The transaction deletes the entity.
    Update,
}

/// A counter row: (entity, relation, direction).
pub(crate) type CounterKey<'a> = (EntityId, &'a str, Direction);

/// How a direction is stored.
pub(crate) fn direction_code(direction: Direction) -> i64 {
    match direction {
        Direction::Members => 0,
        Direction::Memberships => 1,
    }
}

/// The statements of an open write transaction. Lists may be of any length: a backend chunks
/// them within its parameter limits.
pub(crate) trait Tx {
    type Error;

    /// Which of `ids` are entities of `space`.
    async fn in_space(
        &mut self,
        space: SpaceId,
        ids: &[EntityId],
        lock: RowLock,
    ) -> Result<HashSet<EntityId>, Self::Error>;
    /// Insert an entity; on an existing key an upsert replaces its attrs (keeping `updated_at`
    /// when they are equal) and a create stores nothing (`None`).
    #[allow(clippy::too_many_arguments)]
    async fn insert_entity(
        &mut self,
        space: SpaceId,
        now: i64,
        kind: &str,
        key: &str,
        attrs: &Value,
        owner: Option<EntityId>,
        upsert: bool,
    ) -> Result<Option<Entity>, Self::Error>;
    /// Replace the attrs of the entity of `space`, only if they equal `expect` when given.
    async fn update_entity(
        &mut self,
        space: SpaceId,
        now: i64,
        id: EntityId,
        attrs: &Value,
        expect: Option<&Value>,
    ) -> Result<Option<Entity>, Self::Error>;
    /// Give `entity` the alias if it is an entity of `space` and the alias is free; then who
    /// has the alias.
    async fn set_alias(
        &mut self,
        space: SpaceId,
        namespace: &str,
        alias: &str,
        entity: EntityId,
    ) -> Result<Option<EntityId>, Self::Error>;
    async fn remove_alias(
        &mut self,
        space: SpaceId,
        namespace: &str,
        alias: &str,
        entity: EntityId,
    ) -> Result<(), Self::Error>;
    /// The entities of `kind` created before `before`.
    async fn created_before(
        &mut self,
        space: SpaceId,
        kind: &str,
        before: i64,
    ) -> Result<Vec<EntityId>, Self::Error>;
    /// Delete every edge the entity (of `space`) is on: (subject, relation, member) of those
    /// deleted.
    async fn delete_edges_of(
        &mut self,
        space: SpaceId,
        id: EntityId,
    ) -> Result<Vec<(EntityId, String, EntityId)>, Self::Error>;
    /// Delete the entities of `space` with their own counters and aliases (their edges are
    /// gone already).
    async fn delete_entities(
        &mut self,
        space: SpaceId,
        ids: &[EntityId],
    ) -> Result<(), Self::Error>;

    /// Lock the counter rows of entities of `space` (creating missing ones at zero), in the
    /// order given.
    async fn lock_counters(
        &mut self,
        space: SpaceId,
        keys: &[CounterKey<'_>],
    ) -> Result<(), Self::Error>;
    /// Add each (entity, direction, delta) to its counter under `relation` (of an entity of
    /// `space`), creating missing ones; keys are distinct.
    async fn bump_counters(
        &mut self,
        space: SpaceId,
        relation: &str,
        deltas: &[(EntityId, Direction, i64)],
    ) -> Result<(), Self::Error>;
    /// Lock `batch`'s subject and members (those of `space`) against deletion, in id order, then
    /// its counter rows of entities of `space` (creating missing ones at zero), in the order
    /// given; then read which of the subject and members are entities of `space`, and the
    /// facts the batch asks for (empty when it asks for none).
    async fn lock_batch(
        &mut self,
        space: SpaceId,
        batch: &Batch<'_>,
    ) -> Result<(HashSet<EntityId>, Facts), Self::Error>;
    /// Insert the (subject, member) edges, in order (so `seq` follows it).
    async fn insert_edges(
        &mut self,
        space: SpaceId,
        now: i64,
        relation: &str,
        edges: &[(EntityId, EntityId)],
    ) -> Result<(), Self::Error>;
    /// Delete the (subject, member) edges of `space`; those that existed.
    async fn delete_edges(
        &mut self,
        space: SpaceId,
        relation: &str,
        edges: &[(EntityId, EntityId)],
    ) -> Result<Vec<(EntityId, EntityId)>, Self::Error>;

    /// The kind and key of each of `ids` that is an entity of `space`.
    async fn entity_refs(
        &mut self,
        space: SpaceId,
        ids: &[EntityId],
    ) -> Result<HashMap<EntityId, EntityRef>, Self::Error>;
    /// Append the plan's changes to the change log of `space`, in order, after every change
    /// committed before.
    async fn record_changes(
        &mut self,
        space: SpaceId,
        now: i64,
        context: Option<&Value>,
        changes: &[ChangeRow<'_>],
    ) -> Result<(), Self::Error>;
}

/// An edge batch's rows, as [`Tx::lock_batch`] locks and reads them.
pub(crate) struct Batch<'a> {
    pub subject: EntityId,
    /// Distinct.
    pub members: &'a [EntityId],
    /// The counter rows the batch decides on or changes, sorted ([`counter_keys`]).
    pub counters: Vec<CounterKey<'a>>,
    /// What an add decides on; a removal decides on nothing.
    pub asked: Option<Asked<'a>>,
}

/// The facts an edge batch decides on (under its relation), beyond which members are present.
pub(crate) struct Asked<'a> {
    pub relation: &'a str,
    /// The subject's count of members.
    pub subject_members: bool,
    /// Each member's count of subjects.
    pub memberships: bool,
    /// The reciprocal relation, when the batch keeps one: which members have the subject.
    pub reciprocal: Option<&'a str>,
    /// The reciprocal partners of the subject and of each member.
    pub partners: bool,
}

/// What [`Tx::lock_batch`] read: what was not asked is empty.
#[derive(Default)]
pub(crate) struct Facts {
    /// Members the subject has.
    pub present: HashSet<EntityId>,
    /// Members that have the subject.
    pub back: HashSet<EntityId>,
    pub subject_members: i64,
    pub memberships: HashMap<EntityId, i64>,
    pub partners: HashMap<EntityId, i64>,
}

/// A change as the change log stores it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChangeRow<'a> {
    pub op: ChangeOp,
    pub subject: &'a EntityRef,
    pub relation: Option<&'a str>,
    pub member: Option<&'a EntityRef>,
}

/// A change a plan made, by row id until the plan ends.
struct Made {
    op: ChangeOp,
    subject: EntityId,
    relation: Option<String>,
    member: Option<EntityId>,
}

/// The changes a plan makes, and the names of the entities they are about, read before a
/// deleted entity's row goes.
struct ChangeLog {
    space: SpaceId,
    made: Vec<Made>,
    refs: HashMap<EntityId, EntityRef>,
}

impl ChangeLog {
    fn new(space: SpaceId) -> Self {
        ChangeLog {
            space,
            made: Vec::new(),
            refs: HashMap::new(),
        }
    }

    fn edges(&mut self, op: ChangeOp, relation: &str, pairs: &[(EntityId, EntityId)]) {
        self.made.extend(pairs.iter().map(|(subject, member)| Made {
            op,
            subject: *subject,
            relation: Some(relation.to_owned()),
            member: Some(*member),
        }));
    }

    fn entity(&mut self, op: ChangeOp, id: EntityId) {
        self.made.push(Made {
            op,
            subject: id,
            relation: None,
            member: None,
        });
    }

    fn created(&mut self, entity: &Entity) {
        self.refs.insert(
            entity.id,
            EntityRef {
                kind: entity.kind.clone(),
                key: entity.key.clone(),
            },
        );
        self.entity(ChangeOp::EntityCreated, entity.id);
    }

    /// Name every entity the changes are about (those still to be named exist: the deleted
    /// ones were named before their rows went), and record the changes.
    async fn record<T: Tx>(mut self, tx: &mut T, plan: &WritePlan) -> Result<(), T::Error> {
        if self.made.is_empty() {
            return Ok(());
        }
        let named: Vec<EntityId> = self
            .made
            .iter()
            .flat_map(|m| std::iter::once(m.subject).chain(m.member))
            .collect();
        self.name(tx, &named).await?;
        let rows: Vec<ChangeRow> = self
            .made
            .iter()
            .map(|m| ChangeRow {
                op: m.op,
                subject: &self.refs[&m.subject],
                relation: m.relation.as_deref(),
                member: m.member.map(|id| &self.refs[&id]),
            })
            .collect();
        tx.record_changes(plan.space, plan.now, plan.context.as_ref(), &rows)
            .await
    }

    /// Read the names of those of `ids` not named yet (before they are deleted, or at the end).
    async fn name<T: Tx>(&mut self, tx: &mut T, ids: &[EntityId]) -> Result<(), T::Error> {
        let unnamed: Vec<EntityId> = ids
            .iter()
            .copied()
            .filter(|id| !self.refs.contains_key(id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if !unnamed.is_empty() {
            let found = tx.entity_refs(self.space, &unnamed).await?;
            self.refs.extend(found);
        }
        Ok(())
    }
}

/// Apply `plan` inside the open transaction, recording the changes it makes in the change log:
/// its results, or the first refused step (the caller then rolls back).
pub(crate) async fn apply<T: Tx>(
    tx: &mut T,
    plan: &WritePlan,
) -> Result<Result<Applied, (StepId, Refusal)>, T::Error> {
    let mut results: Vec<StepResult> = Vec::with_capacity(plan.steps.len());
    let mut log = ChangeLog::new(plan.space);
    for (index, step) in plan.steps.iter().enumerate() {
        let target = |target: &Target| match target {
            Target::Existing(id) => *id,
            // `WritePlan::check` made sure the named step came first and stored an entity.
            Target::Created(step) => match &results[step.0] {
                StepResult::Entity(entity) => entity.id,
                other => unreachable!("{step} names {other:?}, not an entity"),
            },
        };
        let (space, now) = (plan.space, plan.now);
        let done = match step {
            Step::Create {
                kind,
                key,
                attrs,
                owner,
            } => {
                let owner = owner.as_ref().map(target);
                let created = tx
                    .insert_entity(space, now, kind, key, attrs, owner, false)
                    .await?;
                if let Some(entity) = &created {
                    log.created(entity);
                }
                created.map(StepResult::Entity).ok_or(Refusal::KeyTaken)
            }
            Step::Upsert {
                kind,
                key,
                attrs,
                owner,
            } => {
                let owner = owner.as_ref().map(target);
                let stored = tx
                    .insert_entity(space, now, kind, key, attrs, owner, true)
                    .await?;
                Ok(StepResult::Entity(
                    stored.expect("an upsert stores an entity"),
                ))
            }
            Step::Update {
                entity,
                attrs,
                expect,
            } => {
                let id = target(entity);
                match tx
                    .update_entity(space, now, id, attrs, expect.as_ref())
                    .await?
                {
                    Some(entity) => Ok(StepResult::Entity(entity)),
                    None if owned(tx, space, id, RowLock::None).await? => Err(Refusal::Changed),
                    None => Err(Refusal::NotFound),
                }
            }
            Step::Delete { entity } => delete_entity(tx, &mut log, space, target(entity)).await?,
            Step::Prune {
                kind,
                created_before,
            } => {
                for id in tx.created_before(space, kind, *created_before).await? {
                    delete_entity(tx, &mut log, space, id).await?.ok();
                }
                Ok(StepResult::Done)
            }
            Step::SetAlias {
                namespace,
                alias,
                entity,
            } => {
                let entity = target(entity);
                match tx.set_alias(space, namespace, alias, entity).await? {
                    Some(owner) if owner == entity => Ok(StepResult::Done),
                    Some(_) => Err(Refusal::KeyTaken),
                    // Nothing was inserted and nobody has the alias: not an entity of the space.
                    None => Err(Refusal::NotFound),
                }
            }
            Step::RemoveAlias {
                namespace,
                alias,
                entity,
            } => {
                tx.remove_alias(space, namespace, alias, target(entity))
                    .await?;
                Ok(StepResult::Done)
            }
            Step::AddEdges(add) => {
                let members: Vec<EntityId> = add.members.iter().map(target).collect();
                add_edges(tx, &mut log, plan, add, target(&add.subject), &members)
                    .await?
                    .map(StepResult::Outcomes)
            }
            Step::RemoveEdges(remove) => {
                remove_edges(tx, &mut log, space, remove, target(&remove.subject))
                    .await?
                    .map(StepResult::Outcomes)
            }
        };
        match done {
            Ok(result) => results.push(result),
            Err(refusal) => return Ok(Err((StepId(index), refusal))),
        }
    }
    log.record(tx, plan).await?;
    Ok(Ok(Applied { results }))
}

fn distinct(members: &[EntityId]) -> Vec<EntityId> {
    let mut seen = HashSet::new();
    members
        .iter()
        .copied()
        .filter(|m| seen.insert(*m))
        .collect()
}

/// The counter rows a batch between `subject` and `members` decides on or changes, sorted:
/// every transaction locks in this one order, so none waits for another in a cycle.
fn counter_keys<'a>(
    subject: EntityId,
    relation: &'a str,
    mutual: Option<&'a str>,
    members: &[EntityId],
) -> Vec<CounterKey<'a>> {
    let mut keys = vec![(subject, relation, Direction::Members)];
    keys.extend(
        members
            .iter()
            .map(|m| (*m, relation, Direction::Memberships)),
    );
    if let Some(mutual) = mutual {
        for (a, b) in members.iter().map(|m| (subject, *m)) {
            for entity in [a, b] {
                keys.push((entity, mutual, Direction::Members));
                keys.push((entity, mutual, Direction::Memberships));
            }
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

async fn add_edges<T: Tx>(
    tx: &mut T,
    log: &mut ChangeLog,
    plan: &WritePlan,
    add: &AddEdges,
    subject: EntityId,
    members: &[EntityId],
) -> Result<Result<Vec<(EntityId, Outcome)>, Refusal>, T::Error> {
    let relation = add.relation.as_str();
    let mutual = add.reciprocal.as_ref().map(|r| r.relation.as_str());
    let members = distinct(members);
    let batch = Batch {
        subject,
        members: &members,
        counters: counter_keys(subject, relation, mutual, &members),
        asked: Some(Asked {
            relation,
            subject_members: add.caps.members_per_subject.is_some(),
            memberships: add.caps.subjects_per_member.is_some(),
            reciprocal: mutual,
            partners: add
                .reciprocal
                .as_ref()
                .is_some_and(|r| r.max_per_entity.is_some()),
        }),
    };
    let (in_space, facts) = tx.lock_batch(plan.space, &batch).await?;
    if !in_space.contains(&subject) {
        return Ok(Err(Refusal::NotFound));
    }
    let decided = decide(add, subject, &members, &in_space, facts);
    let mut outcomes = decided.outcomes;
    let abort = outcomes.iter().any(|(_, o)| {
        (add.policy.abort_on_unknown && matches!(o, Outcome::UnknownMember | Outcome::SelfEdge))
            || (add.policy.abort_on_full && o.is_full())
    });
    if abort {
        for (_, outcome) in &mut outcomes {
            if *outcome == Outcome::Added {
                *outcome = Outcome::Aborted;
            }
        }
        return Ok(Err(Refusal::Aborted(outcomes)));
    }
    let added: Vec<EntityId> = outcomes
        .iter()
        .filter(|(_, o)| *o == Outcome::Added)
        .map(|(member, _)| *member)
        .collect();
    let pairs: Vec<(EntityId, EntityId)> = added.iter().map(|m| (subject, *m)).collect();
    link_pairs(tx, log, plan, relation, &pairs).await?;
    if let Some(mutual) = mutual {
        let pairs: Vec<(EntityId, EntityId)> = decided
            .mutual
            .iter()
            .flat_map(|m| [(subject, *m), (*m, subject)])
            .collect();
        link_pairs(tx, log, plan, mutual, &pairs).await?;
    }
    Ok(Ok(outcomes))
}

/// What a batch would do, decided on the counts its transaction holds.
struct Decided {
    outcomes: Vec<(EntityId, Outcome)>,
    /// Members that become reciprocal partners of the subject.
    mutual: Vec<EntityId>,
}

/// Each member's outcome, in order, from the facts its transaction read under its locks:
/// members are distinct, so only the subject's own counts change along the batch.
fn decide(
    add: &AddEdges,
    subject: EntityId,
    members: &[EntityId],
    in_space: &HashSet<EntityId>,
    facts: Facts,
) -> Decided {
    let Facts {
        present,
        back: followed_back,
        mut subject_members,
        memberships,
        mut partners,
    } = facts;
    let count = |counts: &HashMap<EntityId, i64>, id: &EntityId| counts.get(id).copied();
    let mutual_cap = add.reciprocal.as_ref().and_then(|r| r.max_per_entity);
    let mut decided = Decided {
        outcomes: Vec::with_capacity(members.len()),
        mutual: Vec::new(),
    };
    for &member in members {
        let full = |cap: Option<i64>, n: Option<i64>| cap.is_some_and(|cap| n.unwrap_or(0) >= cap);
        let outcome = if !in_space.contains(&member) {
            Outcome::UnknownMember
        } else if member == subject && !add.allow_self {
            Outcome::SelfEdge
        } else if present.contains(&member) {
            Outcome::AlreadyPresent
        } else if full(add.caps.members_per_subject, Some(subject_members)) {
            Outcome::SubjectFull
        } else if full(add.caps.subjects_per_member, count(&memberships, &member)) {
            Outcome::MemberFull
        } else if followed_back.contains(&member) && full(mutual_cap, count(&partners, &subject)) {
            Outcome::SubjectReciprocalFull
        } else if followed_back.contains(&member) && full(mutual_cap, count(&partners, &member)) {
            Outcome::MemberReciprocalFull
        } else {
            subject_members += 1;
            if followed_back.contains(&member) {
                *partners.entry(subject).or_default() += 1;
                decided.mutual.push(member);
            }
            Outcome::Added
        };
        decided.outcomes.push((member, outcome));
    }
    decided
}

/// Insert the edges and count them on both ends.
async fn link_pairs<T: Tx>(
    tx: &mut T,
    log: &mut ChangeLog,
    plan: &WritePlan,
    relation: &str,
    pairs: &[(EntityId, EntityId)],
) -> Result<(), T::Error> {
    if pairs.is_empty() {
        return Ok(());
    }
    tx.insert_edges(plan.space, plan.now, relation, pairs)
        .await?;
    log.edges(ChangeOp::EdgeAdded, relation, pairs);
    count_edges(tx, plan.space, relation, pairs, 1, None).await
}

/// Whether `id` is an entity of `space`, locked as `lock` asks.
async fn owned<T: Tx>(
    tx: &mut T,
    space: SpaceId,
    id: EntityId,
    lock: RowLock,
) -> Result<bool, T::Error> {
    Ok(tx.in_space(space, &[id], lock).await?.contains(&id))
}

/// Add `sign` per edge to the counters of both its ends, but those of `except` (an entity
/// being deleted, whose counters go with it).
async fn count_edges<T: Tx>(
    tx: &mut T,
    space: SpaceId,
    relation: &str,
    pairs: &[(EntityId, EntityId)],
    sign: i64,
    except: Option<EntityId>,
) -> Result<(), T::Error> {
    let mut deltas: BTreeMap<(EntityId, Direction), i64> = BTreeMap::new();
    for (subject, member) in pairs {
        for end in [
            (*subject, Direction::Members),
            (*member, Direction::Memberships),
        ] {
            if Some(end.0) != except {
                *deltas.entry(end).or_default() += sign;
            }
        }
    }
    let deltas: Vec<(EntityId, Direction, i64)> = deltas
        .into_iter()
        .map(|((entity, direction), n)| (entity, direction, n))
        .collect();
    if deltas.is_empty() {
        return Ok(());
    }
    tx.bump_counters(space, relation, &deltas).await
}

async fn remove_edges<T: Tx>(
    tx: &mut T,
    log: &mut ChangeLog,
    space: SpaceId,
    remove: &RemoveEdges,
    subject: EntityId,
) -> Result<Result<Vec<(EntityId, Outcome)>, Refusal>, T::Error> {
    let relation = remove.relation.as_str();
    let mutual = remove.reciprocal.as_deref();
    let members = distinct(&remove.members);
    let batch = Batch {
        subject,
        members: &members,
        counters: counter_keys(subject, relation, mutual, &members),
        asked: None,
    };
    if !tx.lock_batch(space, &batch).await?.0.contains(&subject) {
        return Ok(Err(Refusal::NotFound));
    }
    let pairs: Vec<(EntityId, EntityId)> = members.iter().map(|m| (subject, *m)).collect();
    let removed = tx.delete_edges(space, relation, &pairs).await?;
    count_edges(tx, space, relation, &removed, -1, None).await?;
    log.edges(ChangeOp::EdgeRemoved, relation, &removed);
    if let Some(mutual) = mutual {
        let pairs: Vec<(EntityId, EntityId)> = removed
            .iter()
            .flat_map(|(s, m)| [(*s, *m), (*m, *s)])
            .collect();
        let dissolved = tx.delete_edges(space, mutual, &pairs).await?;
        count_edges(tx, space, mutual, &dissolved, -1, None).await?;
        log.edges(ChangeOp::EdgeRemoved, mutual, &dissolved);
    }
    let removed: HashSet<EntityId> = removed.into_iter().map(|(_, m)| m).collect();
    Ok(Ok(members
        .into_iter()
        .map(|m| {
            let outcome = if removed.contains(&m) {
                Outcome::Removed
            } else {
                Outcome::NotPresent
            };
            (m, outcome)
        })
        .collect()))
}

/// Remove an entity and everything that points at it. The other ends lose what the edges
/// this transaction really deletes gave them (an edge a concurrent transaction removed first
/// is not returned, so it is not counted twice).
async fn delete_entity<T: Tx>(
    tx: &mut T,
    log: &mut ChangeLog,
    space: SpaceId,
    id: EntityId,
) -> Result<Result<StepResult, Refusal>, T::Error> {
    if !owned(tx, space, id, RowLock::Update).await? {
        return Ok(Err(Refusal::NotFound));
    }
    let deleted = tx.delete_edges_of(space, id).await?;
    let ends: Vec<EntityId> = deleted
        .iter()
        .flat_map(|(subject, _, member)| [*subject, *member])
        .chain([id])
        .collect();
    log.name(tx, &ends).await?;
    let mut by_relation: BTreeMap<String, Vec<(EntityId, EntityId)>> = BTreeMap::new();
    for (subject, relation, member) in deleted {
        by_relation
            .entry(relation)
            .or_default()
            .push((subject, member));
    }
    // The entity's own counters go with it; only the other ends' are adjusted, locked first
    // in the one sorted order every batch takes them in.
    let mut keys: Vec<CounterKey> = by_relation
        .iter()
        .flat_map(|(relation, pairs)| {
            pairs.iter().flat_map(move |(subject, member)| {
                [
                    (*subject, relation.as_str(), Direction::Members),
                    (*member, relation.as_str(), Direction::Memberships),
                ]
            })
        })
        .filter(|(entity, _, _)| *entity != id)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    if !keys.is_empty() {
        tx.lock_counters(space, &keys).await?;
    }
    for (relation, pairs) in by_relation {
        count_edges(tx, space, &relation, &pairs, -1, Some(id)).await?;
        log.edges(ChangeOp::EdgeRemoved, &relation, &pairs);
    }
    tx.delete_entities(space, &[id]).await?;
    log.entity(ChangeOp::EntityDeleted, id);
    Ok(Ok(StepResult::Done))
}
