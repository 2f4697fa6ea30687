//! What an operator browses a space with, on SQLite (see [`crate::browse`]).

use rusqlite::{params, Connection};

use roster_core::{
    Entity, EntityId, EntitySearch, NamedEdge, Page, PageRequest, RelationCount, SpaceCounts,
    SpaceId, StoreError,
};

use super::{collect, entity_page, tx::json_list};
use crate::browse::{named_edge, relation, space_counts, RelationRow, EDGES};
use crate::paging::keyset;

pub(super) fn counts(conn: &Connection, space: SpaceId) -> Result<SpaceCounts, StoreError> {
    let kinds = collect(
        conn,
        "SELECT kind, COUNT(*) FROM entities WHERE space_id = ?1 GROUP BY kind ORDER BY kind",
        [space],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    // SQLite reads `$1` as a numbered parameter too.
    let edges = conn
        .prepare_cached(EDGES)
        .and_then(|mut s| s.query_row([space], |row| row.get(0)))
        .map_err(StoreError::backend)?;
    Ok(space_counts(kinds, edges))
}

pub(super) fn search(
    conn: &Connection,
    search: &EntitySearch,
    page: PageRequest,
) -> Result<Page<Entity>, StoreError> {
    let (cmp, order, start) = keyset(page);
    let sql = format!(
        "SELECT {} FROM entities
         WHERE space_id = ?1 AND (?2 IS NULL OR kind = ?2) AND id {cmp} ?3
           AND (?5 = '' OR substr(key, 1, length(?5)) = ?5
                OR id IN (SELECT entity_id FROM aliases
                          WHERE space_id = ?1 AND substr(alias, 1, length(?5)) = ?5))
         ORDER BY id {order} LIMIT ?4",
        entity_columns!()
    );
    let params = params![
        search.space_id,
        search.kind,
        page.after.unwrap_or(start),
        i64::from(page.limit) + 1,
        search.prefix
    ];
    entity_page(conn, &sql, params, page.limit)
}

pub(super) fn aliases(
    conn: &Connection,
    space: SpaceId,
    entity: EntityId,
) -> Result<Vec<(String, String)>, StoreError> {
    collect(
        conn,
        "SELECT namespace, alias FROM aliases WHERE space_id = ?1 AND entity_id = ?2
         ORDER BY namespace, alias",
        params![space, entity],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
}

pub(super) fn relations(
    conn: &Connection,
    entity: EntityId,
) -> Result<Vec<RelationCount>, StoreError> {
    let rows: Vec<RelationRow> = collect(
        conn,
        "SELECT n.name, c.direction, c.n FROM counters c JOIN names n ON n.id = c.relation_id
         WHERE c.entity_id = ?1 AND c.n > 0 ORDER BY n.name, c.direction",
        [entity],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )?;
    rows.into_iter().map(relation).collect()
}

pub(super) fn edges_touching(
    conn: &Connection,
    space: SpaceId,
    entities: &[EntityId],
    limit: u32,
) -> Result<Vec<NamedEdge>, StoreError> {
    let rows = collect(
        conn,
        "SELECT e.subject_id, n.name, e.member_id FROM edges e JOIN names n ON n.id = e.relation_id
         WHERE e.space_id = ?1 AND (e.subject_id IN (SELECT value FROM json_each(?2))
                                    OR e.member_id IN (SELECT value FROM json_each(?2)))
         ORDER BY e.seq LIMIT ?3",
        params![space, json_list(entities), limit],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )?;
    Ok(rows.into_iter().map(named_edge).collect())
}
