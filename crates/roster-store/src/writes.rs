//! Statements that run inside a write transaction.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;

use sqlx::AnyConnection;
use sqlx::Row;

use roster_core::{
    AddEdges, Direction, Entity, EntityId, NewEntity, Outcome, RemoveEdges, SpaceId,
};

use crate::lookup::{pair, rows_in, Param, CHUNK};

pub(crate) type TxResult<T> = Result<(T, bool), sqlx::Error>;
pub(crate) type TxFuture<'c, T> = Pin<Box<dyn Future<Output = TxResult<T>> + Send + 'c>>;

pub(crate) async fn entity_space(
    conn: &mut AnyConnection,
    id: EntityId,
) -> Result<Option<SpaceId>, sqlx::Error> {
    sqlx::query("SELECT space_id FROM entities WHERE id = $1")
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

/// Insert every entity or, on the first existing key, none (the transaction is not committed).
/// Rows go in as multi-row inserts, in order, so ids follow the input.
pub(crate) async fn create_entities(
    conn: &mut AnyConnection,
    new: &[NewEntity],
) -> TxResult<Vec<Entity>> {
    let mut ids = HashMap::with_capacity(new.len());
    for chunk in new.chunks(CHUNK) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = i * 6;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6,
                    p + 6
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO entities (space_id, kind, key, attrs, owner_id, created_at, updated_at)
             VALUES {} RETURNING id, space_id, kind, key",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for entity in chunk {
            query = query
                .bind(entity.space_id)
                .bind(&entity.kind)
                .bind(&entity.key)
                .bind(entity.attrs.to_string())
                .bind(entity.owner)
                .bind(entity.now);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let at: (SpaceId, String, String) = (row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
            ids.insert(at, row.try_get::<EntityId, _>(0)?);
        }
    }
    let created = new
        .iter()
        .map(|entity| Entity {
            id: ids[&(entity.space_id, entity.kind.clone(), entity.key.clone())],
            space_id: entity.space_id,
            kind: entity.kind.clone(),
            key: entity.key.clone(),
            attrs: entity.attrs.clone(),
            owner: entity.owner,
            created_at: entity.now,
            updated_at: entity.now,
        })
        .collect();
    Ok((created, true))
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
    req: &AddEdges,
    member: EntityId,
) -> Result<Outcome, sqlx::Error> {
    let relation = req.relation.as_str();
    if entity_space(conn, member).await? != Some(req.space_id) {
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

pub(crate) async fn add_edges(
    conn: &mut AnyConnection,
    req: &AddEdges,
) -> TxResult<Vec<(EntityId, Outcome)>> {
    if entity_space(conn, req.subject).await? != Some(req.space_id) {
        return Err(sqlx::Error::RowNotFound);
    }
    let members = distinct(&req.members);
    let mut outcomes = if req.reciprocal.is_some() {
        // A reciprocal edge depends on the edges written before it: one member at a time.
        let mut outcomes = Vec::with_capacity(members.len());
        for member in members {
            outcomes.push((member, add_one(conn, req, member).await?));
        }
        outcomes
    } else {
        plan_batch(conn, req, &members).await?
    };
    let abort = outcomes.iter().any(|(_, o)| {
        (req.policy.abort_on_unknown && matches!(o, Outcome::UnknownMember | Outcome::SelfEdge))
            || (req.policy.abort_on_full && o.is_full())
    });
    if abort {
        for (_, outcome) in &mut outcomes {
            if *outcome == Outcome::Added {
                *outcome = Outcome::Aborted;
            }
        }
    } else if req.reciprocal.is_none() {
        let added: Vec<EntityId> = outcomes
            .iter()
            .filter(|(_, o)| *o == Outcome::Added)
            .map(|(member, _)| *member)
            .collect();
        write_batch(conn, req, &added).await?;
    }
    Ok((outcomes, !abort))
}

/// The outcome of each member of a batch without reciprocal edges, decided with a few
/// set-wise reads instead of several statements per member (a WeCom call adds 1000).
async fn plan_batch(
    conn: &mut AnyConnection,
    req: &AddEdges,
    members: &[EntityId],
) -> Result<Vec<(EntityId, Outcome)>, sqlx::Error> {
    let relation = req.relation.as_str();
    let in_space = select_ids(
        conn,
        "SELECT id FROM entities WHERE space_id = $1 AND id IN ({list})",
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
    req: &AddEdges,
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

pub(crate) async fn remove_edges(
    conn: &mut AnyConnection,
    req: &RemoveEdges,
) -> TxResult<Vec<(EntityId, Outcome)>> {
    if entity_space(conn, req.subject).await? != Some(req.space_id) {
        return Err(sqlx::Error::RowNotFound);
    }
    let mut outcomes = Vec::with_capacity(req.members.len());
    for member in distinct(&req.members) {
        let outcome = if delete_edge(conn, req.subject, &req.relation, member).await? {
            if let Some(mutual) = &req.reciprocal {
                delete_edge(conn, req.subject, mutual, member).await?;
                delete_edge(conn, member, mutual, req.subject).await?;
            }
            Outcome::Removed
        } else {
            Outcome::NotPresent
        };
        outcomes.push((member, outcome));
    }
    Ok((outcomes, true))
}

/// Remove an entity and everything that points at it, set-wise (a tag may have 30000 members).
pub(crate) async fn delete_entity(conn: &mut AnyConnection, id: EntityId) -> TxResult<()> {
    if entity_space(conn, id).await?.is_none() {
        return Err(sqlx::Error::RowNotFound);
    }
    // The other ends of its edges lose one membership / one member each.
    for (counted_side, other_side, direction) in [
        ("member_id", "subject_id", Direction::Memberships),
        ("subject_id", "member_id", Direction::Members),
    ] {
        let sql = format!(
            "UPDATE counters SET n = n - (
                 SELECT COUNT(*) FROM edges e
                 WHERE e.{other_side} = $1 AND e.{counted_side} = counters.entity_id
                   AND e.relation = counters.relation)
             WHERE direction = $2 AND entity_id <> $1 AND entity_id IN (
                 SELECT {counted_side} FROM edges WHERE {other_side} = $1)"
        );
        sqlx::query(&sql)
            .bind(id)
            .bind(direction.as_str())
            .execute(&mut *conn)
            .await?;
    }
    for sql in [
        "DELETE FROM edges WHERE subject_id = $1 OR member_id = $1",
        "DELETE FROM counters WHERE entity_id = $1",
        "DELETE FROM aliases WHERE entity_id = $1",
        "DELETE FROM entities WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *conn).await?;
    }
    Ok(((), true))
}
