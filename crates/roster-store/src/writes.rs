//! Statements that run inside a write transaction: a [`WritePlan`], step by step.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;

use sqlx::AnyConnection;
use sqlx::Row;

use roster_core::{
    AddEdges, Applied, Direction, Entity, EntityId, Outcome, Refusal, RemoveEdges, SpaceId, Step,
    StepId, StepResult, StoreError, Target, WritePlan,
};

use crate::lookup::{pair, rows_in, Param, CHUNK};
use crate::placeholders;
use crate::reads::{self, ENTITY_COLUMNS};

pub(crate) type TxResult<T> = Result<(T, bool), sqlx::Error>;
pub(crate) type TxFuture<'c, T> = Pin<Box<dyn Future<Output = TxResult<T>> + Send + 'c>>;

/// How a write transaction holds the rows it reads. SQLite has one writer, which holds the
/// whole database; PostgreSQL write transactions run READ COMMITTED and lock what they decide
/// on, so they wait for each other instead of failing serialization and retrying.
#[derive(Debug, Clone, Copy)]
enum RowLock {
    None,
    /// The entity must stay while the transaction adds edges to it.
    Share,
    /// The transaction deletes the entity.
    Update,
}

fn lock_clause(conn: &AnyConnection, lock: RowLock) -> &'static str {
    if conn.backend_name() != "PostgreSQL" {
        return "";
    }
    match lock {
        RowLock::None => "",
        RowLock::Share => " FOR SHARE",
        RowLock::Update => " FOR UPDATE",
    }
}

async fn entity_space(
    conn: &mut AnyConnection,
    id: EntityId,
    lock: RowLock,
) -> Result<Option<SpaceId>, sqlx::Error> {
    let lock = lock_clause(conn, lock);
    sqlx::query(&format!(
        "SELECT space_id FROM entities WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .map(|row| row.try_get(0))
    .transpose()
}

async fn edge_exists(
    conn: &mut AnyConnection,
    subject: EntityId,
    relation: &str,
    member: EntityId,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "SELECT 1 FROM edges WHERE subject_id = $1 AND relation = $2 AND member_id = $3",
    )
    .bind(subject)
    .bind(relation)
    .bind(member)
    .fetch_optional(conn)
    .await?
    .is_some())
}

async fn counter(
    conn: &mut AnyConnection,
    entity: EntityId,
    relation: &str,
    direction: Direction,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT n FROM counters WHERE entity_id = $1 AND relation = $2 AND direction = $3",
    )
    .bind(entity)
    .bind(relation)
    .bind(direction.as_str())
    .fetch_optional(conn)
    .await?;
    row.map_or(Ok(0), |row| row.try_get(0))
}

async fn bump(
    conn: &mut AnyConnection,
    entity: EntityId,
    relation: &str,
    direction: Direction,
    delta: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO counters (entity_id, relation, direction, n) VALUES ($1, $2, $3, $4)
         ON CONFLICT (entity_id, relation, direction) DO UPDATE SET n = counters.n + excluded.n",
    )
    .bind(entity)
    .bind(relation)
    .bind(direction.as_str())
    .bind(delta)
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_edge(
    conn: &mut AnyConnection,
    space: SpaceId,
    subject: EntityId,
    relation: &str,
    member: EntityId,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO edges (space_id, subject_id, relation, member_id, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(space)
    .bind(subject)
    .bind(relation)
    .bind(member)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    bump(conn, subject, relation, Direction::Members, 1).await?;
    bump(conn, member, relation, Direction::Memberships, 1).await
}

async fn delete_edge(
    conn: &mut AnyConnection,
    subject: EntityId,
    relation: &str,
    member: EntityId,
) -> Result<bool, sqlx::Error> {
    let deleted =
        sqlx::query("DELETE FROM edges WHERE subject_id = $1 AND relation = $2 AND member_id = $3")
            .bind(subject)
            .bind(relation)
            .bind(member)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            > 0;
    if deleted {
        bump(conn, subject, relation, Direction::Members, -1).await?;
        bump(conn, member, relation, Direction::Memberships, -1).await?;
    }
    Ok(deleted)
}

/// On PostgreSQL, lock the counter rows an edge batch decides on or changes (creating missing
/// ones at zero), all in one order, so batches that touch one entity take turns (caps and
/// mutual edges are decided on current counts) and never deadlock each other.
async fn lock_counters(
    conn: &mut AnyConnection,
    subject: EntityId,
    relation: &str,
    mutual: Option<&str>,
    members: &[EntityId],
) -> Result<(), sqlx::Error> {
    if lock_clause(conn, RowLock::Update).is_empty() {
        return Ok(());
    }
    let (of_members, of_memberships) =
        (Direction::Members.as_str(), Direction::Memberships.as_str());
    let mut keys = vec![(subject, relation, of_members)];
    keys.extend(members.iter().map(|m| (*m, relation, of_memberships)));
    if let Some(mutual) = mutual {
        keys.push((subject, mutual, of_members));
        keys.extend(members.iter().map(|m| (*m, mutual, of_members)));
    }
    keys.sort_unstable();
    keys.dedup();
    for chunk in keys.chunks(CHUNK) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                format!(
                    "(${}::bigint, ${}::text, ${}::text)",
                    3 * i + 1,
                    3 * i + 2,
                    3 * i + 3
                )
            })
            .collect();
        let rows = rows.join(", ");
        for sql in [
            format!(
                "INSERT INTO counters (entity_id, relation, direction, n)
                 SELECT k.*, 0 FROM (VALUES {rows}) AS k
                 ON CONFLICT (entity_id, relation, direction) DO NOTHING"
            ),
            format!(
                "SELECT 1 FROM counters WHERE (entity_id, relation, direction) IN (VALUES {rows})
                 ORDER BY entity_id, relation, direction FOR UPDATE"
            ),
        ] {
            let mut query = sqlx::query(&sql);
            for (entity, relation, direction) in chunk {
                query = query.bind(*entity).bind(*relation).bind(*direction);
            }
            query.execute(&mut *conn).await?;
        }
    }
    Ok(())
}

fn distinct(members: &[EntityId]) -> Vec<EntityId> {
    let mut seen = HashSet::new();
    members
        .iter()
        .copied()
        .filter(|m| seen.insert(*m))
        .collect()
}

async fn add_one(
    conn: &mut AnyConnection,
    req: &Batch<'_>,
    member: EntityId,
) -> Result<Outcome, sqlx::Error> {
    let relation = req.relation.as_str();
    if entity_space(conn, member, RowLock::Share).await? != Some(req.space_id) {
        return Ok(Outcome::UnknownMember);
    }
    if member == req.subject && !req.allow_self {
        return Ok(Outcome::SelfEdge);
    }
    if edge_exists(conn, req.subject, relation, member).await? {
        return Ok(Outcome::AlreadyPresent);
    }
    if let Some(cap) = req.caps.members_per_subject {
        if counter(conn, req.subject, relation, Direction::Members).await? >= cap {
            return Ok(Outcome::SubjectFull);
        }
    }
    if let Some(cap) = req.caps.subjects_per_member {
        if counter(conn, member, relation, Direction::Memberships).await? >= cap {
            return Ok(Outcome::MemberFull);
        }
    }
    if let Some(reciprocal) = &req.reciprocal {
        if edge_exists(conn, member, relation, req.subject).await? {
            let mutual = reciprocal.relation.as_str();
            if let Some(cap) = reciprocal.max_per_entity {
                if counter(conn, req.subject, mutual, Direction::Members).await? >= cap {
                    return Ok(Outcome::SubjectReciprocalFull);
                }
                if counter(conn, member, mutual, Direction::Members).await? >= cap {
                    return Ok(Outcome::MemberReciprocalFull);
                }
            }
            insert_edge(conn, req.space_id, req.subject, mutual, member, req.now).await?;
            insert_edge(conn, req.space_id, member, mutual, req.subject, req.now).await?;
        }
    }
    insert_edge(conn, req.space_id, req.subject, relation, member, req.now).await?;
    Ok(Outcome::Added)
}

/// An AddEdges step with its targets resolved.
struct Batch<'a> {
    space_id: SpaceId,
    subject: EntityId,
    relation: &'a String,
    caps: roster_core::Caps,
    reciprocal: &'a Option<roster_core::Reciprocal>,
    allow_self: bool,
    now: i64,
}

async fn add_edges(
    conn: &mut AnyConnection,
    plan: &WritePlan,
    add: &AddEdges,
    subject: EntityId,
    members: &[EntityId],
) -> Result<Result<Vec<(EntityId, Outcome)>, Refusal>, sqlx::Error> {
    if entity_space(conn, subject, RowLock::Share).await? != Some(plan.space) {
        return Ok(Err(Refusal::NotFound));
    }
    let req = Batch {
        space_id: plan.space,
        subject,
        relation: &add.relation,
        caps: add.caps,
        reciprocal: &add.reciprocal,
        allow_self: add.allow_self,
        now: plan.now,
    };
    let members = distinct(members);
    let mutual = req.reciprocal.as_ref().map(|r| r.relation.as_str());
    lock_counters(conn, subject, &add.relation, mutual, &members).await?;
    let mut outcomes = if req.reciprocal.is_some() {
        // A reciprocal edge depends on the edges written before it: one member at a time.
        let mut outcomes = Vec::with_capacity(members.len());
        for member in members {
            outcomes.push((member, add_one(conn, &req, member).await?));
        }
        outcomes
    } else {
        plan_batch(conn, &req, &members).await?
    };
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
    if req.reciprocal.is_none() {
        let added: Vec<EntityId> = outcomes
            .iter()
            .filter(|(_, o)| *o == Outcome::Added)
            .map(|(member, _)| *member)
            .collect();
        write_batch(conn, &req, &added).await?;
    }
    Ok(Ok(outcomes))
}

/// The outcome of each member of a batch without reciprocal edges, decided with a few
/// set-wise reads instead of several statements per member (a WeCom call adds 1000).
async fn plan_batch(
    conn: &mut AnyConnection,
    req: &Batch<'_>,
    members: &[EntityId],
) -> Result<Vec<(EntityId, Outcome)>, sqlx::Error> {
    let relation = req.relation.as_str();
    let lock = lock_clause(conn, RowLock::Share);
    let in_space = select_ids(
        conn,
        &format!("SELECT id FROM entities WHERE space_id = $1 AND id IN ({{list}}){lock}"),
        &[Param::Int(req.space_id)],
        members,
    )
    .await?;
    let present = select_ids(
        conn,
        "SELECT member_id FROM edges WHERE subject_id = $1 AND relation = $2 AND member_id IN ({list})",
        &[Param::Int(req.subject), Param::Text(relation)],
        members,
    )
    .await?;
    let mut members_of_subject = match req.caps.members_per_subject {
        Some(_) => counter(conn, req.subject, relation, Direction::Members).await?,
        None => 0,
    };
    let mut memberships = HashMap::new();
    if req.caps.subjects_per_member.is_some() {
        let sql = "SELECT entity_id, n FROM counters
                   WHERE relation = $1 AND direction = $2 AND entity_id IN ({list})";
        let fixed = [
            Param::Text(relation),
            Param::Text(Direction::Memberships.as_str()),
        ];
        for row in rows_in(conn, sql, &fixed, members).await? {
            let (member, n): (EntityId, i64) = pair(&row)?;
            memberships.insert(member, n);
        }
    }
    let mut outcomes = Vec::with_capacity(members.len());
    for &member in members {
        let outcome = if !in_space.contains(&member) {
            Outcome::UnknownMember
        } else if member == req.subject && !req.allow_self {
            Outcome::SelfEdge
        } else if present.contains(&member) {
            Outcome::AlreadyPresent
        } else if req
            .caps
            .members_per_subject
            .is_some_and(|cap| members_of_subject >= cap)
        {
            Outcome::SubjectFull
        } else if req
            .caps
            .subjects_per_member
            .is_some_and(|cap| memberships.get(&member).copied().unwrap_or(0) >= cap)
        {
            Outcome::MemberFull
        } else {
            members_of_subject += 1;
            Outcome::Added
        };
        outcomes.push((member, outcome));
    }
    Ok(outcomes)
}

/// Which of `ids` the one-column query `sql` selects (see [`rows_in`]).
async fn select_ids(
    conn: &mut AnyConnection,
    sql: &str,
    fixed: &[Param<'_>],
    ids: &[EntityId],
) -> Result<HashSet<EntityId>, sqlx::Error> {
    rows_in(conn, sql, fixed, ids)
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect()
}

/// Insert the planned edges (in order, so `seq` follows the batch) and count them.
async fn write_batch(
    conn: &mut AnyConnection,
    req: &Batch<'_>,
    added: &[EntityId],
) -> Result<(), sqlx::Error> {
    if added.is_empty() {
        return Ok(());
    }
    let relation = req.relation.as_str();
    for chunk in added.chunks(CHUNK) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, $2, $3, ${}, $4)", i + 5))
            .collect();
        let sql = format!(
            "INSERT INTO edges (space_id, subject_id, relation, member_id, created_at) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql)
            .bind(req.space_id)
            .bind(req.subject)
            .bind(relation)
            .bind(req.now);
        for member in chunk {
            query = query.bind(*member);
        }
        query.execute(&mut *conn).await?;

        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, $1, $2, 1)", i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO counters (entity_id, relation, direction, n) VALUES {}
             ON CONFLICT (entity_id, relation, direction) DO UPDATE SET n = counters.n + excluded.n",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql)
            .bind(relation)
            .bind(Direction::Memberships.as_str());
        for member in chunk {
            query = query.bind(*member);
        }
        query.execute(&mut *conn).await?;
    }
    bump(
        conn,
        req.subject,
        relation,
        Direction::Members,
        added.len() as i64,
    )
    .await
}

async fn remove_edges(
    conn: &mut AnyConnection,
    space: SpaceId,
    remove: &RemoveEdges,
    subject: EntityId,
) -> Result<Result<Vec<(EntityId, Outcome)>, Refusal>, sqlx::Error> {
    if entity_space(conn, subject, RowLock::Share).await? != Some(space) {
        return Ok(Err(Refusal::NotFound));
    }
    let members = distinct(&remove.members);
    let mutual = remove.reciprocal.as_deref();
    lock_counters(conn, subject, &remove.relation, mutual, &members).await?;
    let mut outcomes = Vec::with_capacity(members.len());
    for member in members {
        let outcome = if delete_edge(conn, subject, &remove.relation, member).await? {
            if let Some(mutual) = &remove.reciprocal {
                delete_edge(conn, subject, mutual, member).await?;
                delete_edge(conn, member, mutual, subject).await?;
            }
            Outcome::Removed
        } else {
            Outcome::NotPresent
        };
        outcomes.push((member, outcome));
    }
    Ok(Ok(outcomes))
}

/// Remove an entity and everything that points at it, set-wise (a tag may have 30000 members).
async fn delete_entity(
    conn: &mut AnyConnection,
    space: SpaceId,
    id: EntityId,
) -> Result<Result<StepResult, Refusal>, sqlx::Error> {
    if entity_space(conn, id, RowLock::Update).await? != Some(space) {
        return Ok(Err(Refusal::NotFound));
    }
    // The other ends lose what the edges this statement really deletes gave them (an edge a
    // concurrent transaction removed first is not returned, so it is not counted twice).
    let deleted: Vec<(EntityId, String, EntityId)> = sqlx::query_as(
        "DELETE FROM edges WHERE subject_id = $1 OR member_id = $1
         RETURNING subject_id, relation, member_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut lost: BTreeMap<(String, Direction, i64), Vec<EntityId>> = BTreeMap::new();
    let mut per_counter: BTreeMap<(EntityId, String, Direction), i64> = BTreeMap::new();
    for (subject, relation, member) in deleted {
        if subject != id {
            *per_counter
                .entry((subject, relation.clone(), Direction::Members))
                .or_default() += 1;
        }
        if member != id {
            *per_counter
                .entry((member, relation, Direction::Memberships))
                .or_default() += 1;
        }
    }
    for ((entity, relation, direction), n) in per_counter {
        lost.entry((relation, direction, n))
            .or_default()
            .push(entity);
    }
    for ((relation, direction, n), entities) in lost {
        for chunk in entities.chunks(CHUNK) {
            let sql = format!(
                "UPDATE counters SET n = n - $1
                 WHERE relation = $2 AND direction = $3 AND entity_id IN ({})",
                placeholders(4, chunk.len())
            );
            let mut query = sqlx::query(&sql)
                .bind(n)
                .bind(&relation)
                .bind(direction.as_str());
            for entity in chunk {
                query = query.bind(*entity);
            }
            query.execute(&mut *conn).await?;
        }
    }
    for sql in [
        "DELETE FROM counters WHERE entity_id = $1",
        "DELETE FROM aliases WHERE entity_id = $1",
        "DELETE FROM entities WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *conn).await?;
    }
    Ok(Ok(StepResult::Done))
}

/// Apply `plan` inside the open transaction. A refused step ends it with the refusal and
/// "do not commit"; the caller rolls back.
pub(crate) async fn apply(
    conn: &mut AnyConnection,
    plan: &WritePlan,
) -> TxResult<Result<Applied, StoreError>> {
    let mut results: Vec<StepResult> = Vec::with_capacity(plan.steps.len());
    for (index, step) in plan.steps.iter().enumerate() {
        let target = |target: &Target| match target {
            Target::Existing(id) => *id,
            // `WritePlan::check` made sure the named step came first and stored an entity.
            Target::Created(step) => match &results[step.0] {
                StepResult::Entity(entity) => entity.id,
                other => unreachable!("{step} names {other:?}, not an entity"),
            },
        };
        let done = match step {
            Step::Create {
                kind,
                key,
                attrs,
                owner,
            } => {
                let owner = owner.as_ref().map(target);
                insert_entity(conn, plan, kind, key, attrs, owner, false)
                    .await?
                    .map(StepResult::Entity)
                    .ok_or(Refusal::KeyTaken)
            }
            Step::Upsert {
                kind,
                key,
                attrs,
                owner,
            } => {
                let owner = owner.as_ref().map(target);
                let stored = insert_entity(conn, plan, kind, key, attrs, owner, true).await?;
                Ok(StepResult::Entity(stored.ok_or(sqlx::Error::RowNotFound)?))
            }
            Step::Update {
                entity,
                attrs,
                expect,
            } => update_entity(conn, plan, target(entity), attrs, expect.as_ref()).await?,
            Step::Delete { entity } => delete_entity(conn, plan.space, target(entity)).await?,
            Step::Prune {
                kind,
                created_before,
            } => {
                let expired: Vec<EntityId> = sqlx::query_scalar(
                    "SELECT id FROM entities WHERE space_id = $1 AND kind = $2 AND created_at < $3",
                )
                .bind(plan.space)
                .bind(kind)
                .bind(*created_before)
                .fetch_all(&mut *conn)
                .await?;
                for id in expired {
                    delete_entity(conn, plan.space, id).await?.ok();
                }
                Ok(StepResult::Done)
            }
            Step::SetAlias {
                namespace,
                alias,
                entity,
            } => set_alias(conn, plan.space, namespace, alias, target(entity)).await?,
            Step::RemoveAlias {
                namespace,
                alias,
                entity,
            } => {
                sqlx::query(
                    "DELETE FROM aliases
                     WHERE space_id = $1 AND namespace = $2 AND alias = $3 AND entity_id = $4",
                )
                .bind(plan.space)
                .bind(namespace)
                .bind(alias)
                .bind(target(entity))
                .execute(&mut *conn)
                .await?;
                Ok(StepResult::Done)
            }
            Step::AddEdges(add) => {
                let members: Vec<EntityId> = add.members.iter().map(target).collect();
                add_edges(conn, plan, add, target(&add.subject), &members)
                    .await?
                    .map(StepResult::Outcomes)
            }
            Step::RemoveEdges(remove) => {
                remove_edges(conn, plan.space, remove, target(&remove.subject))
                    .await?
                    .map(StepResult::Outcomes)
            }
        };
        match done {
            Ok(result) => results.push(result),
            Err(refusal) => {
                let step = StepId(index);
                return Ok((Err(StoreError::Refused { step, refusal }), false));
            }
        }
    }
    Ok((Ok(Applied { results }), true))
}

/// Insert an entity; on an existing key, an upsert replaces its attrs (its `updated_at` only if
/// they differ), a create finds nothing (`None`). The key's unique index, not a read before,
/// decides a race.
async fn insert_entity(
    conn: &mut AnyConnection,
    plan: &WritePlan,
    kind: &str,
    key: &str,
    attrs: &serde_json::Value,
    owner: Option<EntityId>,
    upsert: bool,
) -> Result<Option<Entity>, sqlx::Error> {
    let on_conflict = if upsert {
        "DO UPDATE SET attrs = excluded.attrs,
             updated_at = CASE WHEN entities.attrs = excluded.attrs
                          THEN entities.updated_at ELSE excluded.updated_at END"
    } else {
        "DO NOTHING"
    };
    let row = sqlx::query(&format!(
        "INSERT INTO entities (space_id, kind, key, attrs, owner_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (space_id, kind, key) {on_conflict} RETURNING {ENTITY_COLUMNS}"
    ))
    .bind(plan.space)
    .bind(kind)
    .bind(key)
    .bind(attrs.to_string())
    .bind(owner)
    .bind(plan.now)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(entity).transpose()
}

async fn update_entity(
    conn: &mut AnyConnection,
    plan: &WritePlan,
    id: EntityId,
    attrs: &serde_json::Value,
    expect: Option<&serde_json::Value>,
) -> Result<Result<StepResult, Refusal>, sqlx::Error> {
    let expected = expect.map(|value| value.to_string());
    let condition = if expected.is_some() {
        "AND attrs = $5"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE entities SET attrs = $3, updated_at = $4 WHERE id = $1 AND space_id = $2 \
         {condition} RETURNING {ENTITY_COLUMNS}"
    );
    let mut update = sqlx::query(&sql)
        .bind(id)
        .bind(plan.space)
        .bind(attrs.to_string())
        .bind(plan.now);
    if let Some(expected) = expected {
        update = update.bind(expected);
    }
    if let Some(row) = update.fetch_optional(&mut *conn).await? {
        return Ok(Ok(StepResult::Entity(entity(&row)?)));
    }
    Ok(Err(
        if entity_space(conn, id, RowLock::None).await? == Some(plan.space) {
            Refusal::Changed
        } else {
            Refusal::NotFound
        },
    ))
}

/// Give `entity` (of the plan's space) a name in `namespace`; the alias key decides a race.
async fn set_alias(
    conn: &mut AnyConnection,
    space: SpaceId,
    namespace: &str,
    alias: &str,
    entity: EntityId,
) -> Result<Result<StepResult, Refusal>, sqlx::Error> {
    sqlx::query(
        "INSERT INTO aliases (space_id, namespace, alias, entity_id)
         SELECT $1, $2, $3, id FROM entities WHERE id = $4 AND space_id = $1
         ON CONFLICT (space_id, namespace, alias) DO NOTHING",
    )
    .bind(space)
    .bind(namespace)
    .bind(alias)
    .bind(entity)
    .execute(&mut *conn)
    .await?;
    let owner: Option<EntityId> = sqlx::query_scalar(
        "SELECT entity_id FROM aliases WHERE space_id = $1 AND namespace = $2 AND alias = $3",
    )
    .bind(space)
    .bind(namespace)
    .bind(alias)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match owner {
        Some(owner) if owner == entity => Ok(StepResult::Done),
        Some(_) => Err(Refusal::KeyTaken),
        // Nothing was inserted and nobody has the alias: the entity is not in the space.
        None => Err(Refusal::NotFound),
    })
}

fn entity(row: &sqlx::any::AnyRow) -> Result<Entity, sqlx::Error> {
    reads::entity(row).map_err(|e| sqlx::Error::Decode(e.into()))
}
