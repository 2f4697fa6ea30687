//! What an operator browses a space with (see `roster_core::browse`), the same on both
//! backends: how rows become counts and relations, and the PostgreSQL statements (SQLite's are
//! in `sqlite::browse`).

use sqlx::postgres::PgRow;
use sqlx::PgPool;

use roster_core::{
    Direction, Entity, EntityId, EntitySearch, NamedEdge, Page, PageRequest, RelationCount,
    SpaceCounts, SpaceId, StoreError,
};

use crate::backend;
use crate::lookup::storable;
use crate::paging::{keyset, paginate};
use crate::reads::{self, ENTITY_COLUMNS};

/// A row of a relation count: relation name, direction code, count.
pub(crate) type RelationRow = (String, i64, i64);

/// (kind, entities) rows and the edges as counts.
pub(crate) fn space_counts(kinds: Vec<(String, i64)>, edges: i64) -> SpaceCounts {
    SpaceCounts {
        kinds: kinds.into_iter().collect(),
        edges,
    }
}

/// Edges of the space ($1 or ?1).
pub(crate) const EDGES: &str = "SELECT COUNT(*) FROM edges WHERE space_id = $1";

pub(crate) fn relation(row: RelationRow) -> Result<RelationCount, StoreError> {
    let (relation, direction, count) = row;
    let direction = match direction {
        0 => Direction::Members,
        1 => Direction::Memberships,
        other => return Err(backend(format!("unknown counter direction {other}"))),
    };
    Ok(RelationCount {
        relation,
        direction,
        count,
    })
}

pub(crate) fn named_edge((subject, relation, member): (EntityId, String, EntityId)) -> NamedEdge {
    NamedEdge {
        subject,
        relation,
        member,
    }
}

pub(crate) async fn counts(pool: &PgPool, space: SpaceId) -> Result<SpaceCounts, StoreError> {
    let kinds = sqlx::query_as(
        "SELECT kind, COUNT(*) FROM entities WHERE space_id = $1 GROUP BY kind ORDER BY kind",
    )
    .bind(space)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    let edges = sqlx::query_scalar(EDGES)
        .bind(space)
        .fetch_one(pool)
        .await
        .map_err(backend)?;
    Ok(space_counts(kinds, edges))
}

pub(crate) async fn search(
    pool: &PgPool,
    search: &EntitySearch,
    page: PageRequest,
) -> Result<Page<Entity>, StoreError> {
    if !storable(&search.prefix) || !search.kind.as_deref().is_none_or(storable) {
        return Ok(paginate(Vec::new(), page.limit, |e: &Entity| e.id));
    }
    let (cmp, order, start) = keyset(page);
    let sql = format!(
        "SELECT {ENTITY_COLUMNS} FROM entities
         WHERE space_id = $1 AND ($2::text IS NULL OR kind = $2) AND id {cmp} $3
           AND ($5 = '' OR left(key, length($5)) = $5
                OR id IN (SELECT entity_id FROM aliases
                          WHERE space_id = $1 AND left(alias, length($5)) = $5))
         ORDER BY id {order} LIMIT $4"
    );
    let rows: Vec<PgRow> = sqlx::query(&sql)
        .bind(search.space_id)
        .bind(search.kind.as_deref())
        .bind(page.after.unwrap_or(start))
        .bind(i64::from(page.limit) + 1)
        .bind(&search.prefix)
        .fetch_all(pool)
        .await
        .map_err(backend)?;
    let items = rows
        .iter()
        .map(reads::entity)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(paginate(items, page.limit, |e| e.id))
}

pub(crate) async fn aliases(
    pool: &PgPool,
    space: SpaceId,
    entity: EntityId,
) -> Result<Vec<(String, String)>, StoreError> {
    sqlx::query_as(
        "SELECT namespace, alias FROM aliases WHERE space_id = $1 AND entity_id = $2
         ORDER BY namespace COLLATE \"C\", alias COLLATE \"C\"",
    )
    .bind(space)
    .bind(entity)
    .fetch_all(pool)
    .await
    .map_err(backend)
}

pub(crate) async fn relations(
    pool: &PgPool,
    space: SpaceId,
    entity: EntityId,
) -> Result<Vec<RelationCount>, StoreError> {
    let rows: Vec<RelationRow> = sqlx::query_as(
        "SELECT n.name, c.direction::bigint, c.n FROM counters c JOIN names n ON n.id = c.relation_id
         WHERE c.space_id = $1 AND c.entity_id = $2 AND c.n > 0
         ORDER BY n.name COLLATE \"C\", c.direction",
    )
    .bind(space)
    .bind(entity)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    rows.into_iter().map(relation).collect()
}

pub(crate) async fn edges_touching(
    pool: &PgPool,
    space: SpaceId,
    entities: &[EntityId],
    limit: u32,
) -> Result<Vec<NamedEdge>, StoreError> {
    let rows: Vec<(EntityId, String, EntityId)> = sqlx::query_as(
        "SELECT e.subject_id, n.name, e.member_id FROM edges e JOIN names n ON n.id = e.relation_id
         WHERE e.space_id = $1 AND (e.subject_id = ANY($2) OR e.member_id = ANY($2))
         ORDER BY e.seq LIMIT $3",
    )
    .bind(space)
    .bind(entities)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    Ok(rows.into_iter().map(named_edge).collect())
}
