//! Row decoding and the read-side queries (served by the reader pool).

use std::collections::BTreeMap;

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use roster_core::{Edge, Entity, Space, SpaceId, StoreError};

use crate::backend;
use crate::dumps::SpaceRows;

pub(crate) const ENTITY_COLUMNS: &str = entity_columns!();

pub(crate) fn entity(row: &PgRow) -> Result<Entity, StoreError> {
    let attrs: String = row.try_get("attrs").map_err(backend)?;
    Ok(Entity {
        id: row.try_get("id").map_err(backend)?,
        space_id: row.try_get("space_id").map_err(backend)?,
        kind: row.try_get("kind").map_err(backend)?,
        key: row.try_get("key").map_err(backend)?,
        attrs: serde_json::from_str(&attrs).map_err(backend)?,
        owner: row.try_get("owner_id").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
        updated_at: row.try_get("updated_at").map_err(backend)?,
    })
}

pub(crate) fn space(row: &PgRow) -> Result<Space, StoreError> {
    let limits: String = row.try_get("limits").map_err(backend)?;
    let limits: BTreeMap<String, i64> = serde_json::from_str(&limits).map_err(backend)?;
    Ok(Space {
        id: row.try_get("id").map_err(backend)?,
        dialect: row.try_get("dialect").map_err(backend)?,
        key: row.try_get("key").map_err(backend)?,
        limits,
        generation: row.try_get("generation").map_err(backend)?,
    })
}

/// The first four columns: subject_id, member_id, created_at, seq (by position: a page that
/// reads another entity with each edge has a `created_at` of its own).
pub(crate) fn edge(row: &PgRow) -> Result<Edge, StoreError> {
    Ok(Edge {
        subject: row.try_get(0).map_err(backend)?,
        member: row.try_get(1).map_err(backend)?,
        created_at: row.try_get(2).map_err(backend)?,
        seq: row.try_get(3).map_err(backend)?,
    })
}

/// The rows of `space`, read on `conn` (in a transaction that makes the reads one state).
pub(crate) async fn space_rows(
    conn: &mut PgConnection,
    space: SpaceId,
) -> Result<SpaceRows, StoreError> {
    let row = sqlx::query("SELECT id, dialect, key, limits, generation FROM spaces WHERE id = $1")
        .bind(space)
        .fetch_one(&mut *conn)
        .await
        .map_err(backend)?;
    let space = self::space(&row)?;
    let entities = sqlx::query(&format!(
        "SELECT {ENTITY_COLUMNS} FROM entities WHERE space_id = $1 ORDER BY id"
    ))
    .bind(space.id)
    .fetch_all(&mut *conn)
    .await
    .map_err(backend)?
    .iter()
    .map(entity)
    .collect::<Result<_, _>>()?;
    let aliases = sqlx::query_as(
        "SELECT namespace, alias, entity_id FROM aliases WHERE space_id = $1
         ORDER BY namespace COLLATE \"C\", alias COLLATE \"C\"",
    )
    .bind(space.id)
    .fetch_all(&mut *conn)
    .await
    .map_err(backend)?;
    let edges = sqlx::query_as(
        "SELECT e.subject_id, n.name, e.member_id, e.created_at
         FROM edges e JOIN names n ON n.id = e.relation_id
         WHERE e.space_id = $1 ORDER BY e.seq",
    )
    .bind(space.id)
    .fetch_all(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(SpaceRows {
        space,
        entities,
        aliases,
        edges,
    })
}
