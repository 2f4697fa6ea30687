//! Rows as the engine's types.

use std::collections::BTreeMap;

use rusqlite::Row;

use roster_core::{Edge, Entity, Space};

/// A JSON column that does not parse is a conversion failure of that column.
fn json<T: serde::de::DeserializeOwned>(row: &Row, column: usize) -> rusqlite::Result<T> {
    let text: String = row.get(column)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, e.into())
    })
}

pub(crate) fn entity(row: &Row) -> rusqlite::Result<Entity> {
    entity_at(row, 0)
}

/// The entity whose columns (`entity_columns!`) start at `first`.
pub(crate) fn entity_at(row: &Row, first: usize) -> rusqlite::Result<Entity> {
    Ok(Entity {
        id: row.get(first)?,
        space_id: row.get(first + 1)?,
        kind: row.get(first + 2)?,
        key: row.get(first + 3)?,
        attrs: json(row, first + 4)?,
        owner: row.get(first + 5)?,
        created_at: row.get(first + 6)?,
        updated_at: row.get(first + 7)?,
    })
}

pub(crate) fn space(row: &Row) -> rusqlite::Result<Space> {
    let limits: BTreeMap<String, i64> = json(row, 3)?;
    Ok(Space {
        id: row.get(0)?,
        dialect: row.get(1)?,
        key: row.get(2)?,
        limits,
        generation: row.get(4)?,
    })
}

/// Columns: subject_id, member_id, created_at, seq.
pub(crate) fn edge(row: &Row) -> rusqlite::Result<Edge> {
    Ok(Edge {
        subject: row.get(0)?,
        member: row.get(1)?,
        created_at: row.get(2)?,
        seq: row.get(3)?,
    })
}
