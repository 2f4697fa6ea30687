//! Statements that run inside a write transaction.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;

use sqlx::AnyConnection;
use sqlx::Row;

use roster_core::{
    AddEdges, Direction, Entity, EntityId, NewEntity, Outcome, RemoveEdges, SpaceId,
};

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
pub(crate) async fn create_entities(
    conn: &mut AnyConnection,
    new: &[NewEntity],
) -> TxResult<Vec<Entity>> {
    let mut created = Vec::with_capacity(new.len());
    for entity in new {
        let id: EntityId = sqlx::query(
            "INSERT INTO entities (space_id, kind, key, attrs, owner_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(entity.space_id)
        .bind(&entity.kind)
        .bind(&entity.key)
        .bind(entity.attrs.to_string())
        .bind(entity.owner)
        .bind(entity.now)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
        created.push(Entity {
            id,
            space_id: entity.space_id,
            kind: entity.kind.clone(),
            key: entity.key.clone(),
            attrs: entity.attrs.clone(),
            owner: entity.owner,
            created_at: entity.now,
            updated_at: entity.now,
        });
    }
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
    let mut outcomes = Vec::with_capacity(req.members.len());
    for member in distinct(&req.members) {
        outcomes.push((member, add_one(conn, req, member).await?));
    }
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
    }
    Ok((outcomes, !abort))
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
