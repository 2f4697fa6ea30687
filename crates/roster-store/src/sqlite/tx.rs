//! The statements of a write transaction on SQLite ([`Tx`]). Lists travel as one JSON array
//! parameter (`json_each`), so every statement has one text and stays prepared.

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use roster_core::{Direction, DumpedEntity, Entity, EntityId, EntityRef, SpaceId, StoreError};

use super::rows::entity;
use crate::dumps::{LoadTx, SpaceRows};
use crate::exec::{direction_code, Asked, Batch, ChangeRow, CounterKey, Facts, RowLock, Tx};

pub(crate) struct SqliteTx<'c>(pub &'c Connection);

/// A list as the JSON text `json_each` reads.
pub(crate) fn json_list<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).expect("a list of ids serializes")
}

impl SqliteTx<'_> {
    /// The counts of `entities` of `space` (absent: zero).
    async fn counters(
        &mut self,
        _space: SpaceId,
        entities: &[EntityId],
        relation: &str,
        direction: Direction,
    ) -> Result<HashMap<EntityId, i64>, rusqlite::Error> {
        let mut statement = self.0.prepare_cached(
            "SELECT entity_id, n FROM counters
             WHERE relation_id = (SELECT id FROM names WHERE name = ?1) AND direction = ?2
               AND entity_id IN (SELECT value FROM json_each(?3))",
        )?;
        let counts = statement.query_map(
            params![relation, direction_code(direction), json_list(entities)],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        counts.collect()
    }

    /// Which of `others` have an edge with `entity` (of `space`) under `relation`, `entity` on
    /// the side `direction` looks from.
    async fn linked(
        &mut self,
        space: SpaceId,
        entity: EntityId,
        relation: &str,
        direction: Direction,
        others: &[EntityId],
    ) -> Result<HashSet<EntityId>, rusqlite::Error> {
        let sql = match direction {
            Direction::Members => {
                "SELECT member_id FROM edges WHERE space_id = ?1 AND subject_id = ?2
                   AND relation_id = (SELECT id FROM names WHERE name = ?3)
                   AND member_id IN (SELECT value FROM json_each(?4))"
            }
            Direction::Memberships => {
                "SELECT subject_id FROM edges WHERE space_id = ?1 AND member_id = ?2
                   AND relation_id = (SELECT id FROM names WHERE name = ?3)
                   AND subject_id IN (SELECT value FROM json_each(?4))"
            }
        };
        self.ids(sql, params![space, entity, relation, json_list(others)])
    }

    /// The id of an interned name, interning it when new (inside the transaction, so a
    /// rolled-back plan leaves no name behind).
    fn name(&self, name: &str) -> rusqlite::Result<i64> {
        let known = self
            .0
            .prepare_cached("SELECT id FROM names WHERE name = ?1")?
            .query_row([name], |row| row.get(0))
            .optional()?;
        match known {
            Some(id) => Ok(id),
            None => self
                .0
                .prepare_cached("INSERT INTO names (name) VALUES (?1) RETURNING id")?
                .query_row([name], |row| row.get(0)),
        }
    }

    /// (SQLite's counters are keyed by entity alone: a space is never distributed here.)
    /// What a batch decides on, a statement per fact.
    async fn facts(
        &mut self,
        space: SpaceId,
        subject: EntityId,
        members: &[EntityId],
        asked: &Asked<'_>,
    ) -> Result<Facts, rusqlite::Error> {
        let relation = asked.relation;
        let mut facts = Facts {
            present: self
                .linked(space, subject, relation, Direction::Members, members)
                .await?,
            ..Facts::default()
        };
        if asked.subject_members {
            facts.subject_members = self
                .counters(space, &[subject], relation, Direction::Members)
                .await?
                .remove(&subject)
                .unwrap_or(0);
        }
        if asked.memberships {
            facts.memberships = self
                .counters(space, members, relation, Direction::Memberships)
                .await?;
        }
        if let Some(mutual) = asked.reciprocal {
            facts.back = self
                .linked(space, subject, relation, Direction::Memberships, members)
                .await?;
            if asked.partners {
                let mut ids = members.to_vec();
                ids.push(subject);
                facts.partners = self
                    .counters(space, &ids, mutual, Direction::Members)
                    .await?;
            }
        }
        Ok(facts)
    }

    fn ids(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<HashSet<EntityId>> {
        let mut statement = self.0.prepare_cached(sql)?;
        let rows = statement.query_map(params, |row| row.get(0))?;
        rows.collect()
    }
}

impl Tx for SqliteTx<'_> {
    type Error = rusqlite::Error;

    async fn in_space(
        &mut self,
        space: SpaceId,
        ids: &[EntityId],
        _lock: RowLock,
    ) -> Result<HashSet<EntityId>, rusqlite::Error> {
        // `+space_id`: look the ids up by key, never scan the space's entities for them.
        self.ids(
            "SELECT id FROM entities
             WHERE id IN (SELECT value FROM json_each(?2)) AND +space_id = ?1",
            params![space, json_list(ids)],
        )
    }

    async fn insert_entity(
        &mut self,
        space: SpaceId,
        now: i64,
        kind: &str,
        key: &str,
        attrs: &Value,
        owner: Option<EntityId>,
        upsert: bool,
    ) -> Result<Option<Entity>, rusqlite::Error> {
        let sql = if upsert {
            concat!(
                "INSERT INTO entities (space_id, kind, key, attrs, owner_id, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
                 ON CONFLICT (space_id, kind, key) DO UPDATE SET attrs = excluded.attrs,
                     updated_at = CASE WHEN entities.attrs = excluded.attrs
                                  THEN entities.updated_at ELSE excluded.updated_at END
                 RETURNING ",
                entity_columns!()
            )
        } else {
            concat!(
                "INSERT INTO entities (space_id, kind, key, attrs, owner_id, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
                 ON CONFLICT (space_id, kind, key) DO NOTHING RETURNING ",
                entity_columns!()
            )
        };
        self.0
            .prepare_cached(sql)?
            .query_row(
                params![space, kind, key, attrs.to_string(), owner, now],
                entity,
            )
            .optional()
    }

    async fn update_entity(
        &mut self,
        space: SpaceId,
        now: i64,
        id: EntityId,
        attrs: &Value,
        expect: Option<&Value>,
    ) -> Result<Option<Entity>, rusqlite::Error> {
        // `?5 IS NULL`: no expectation.
        self.0
            .prepare_cached(concat!(
                "UPDATE entities SET attrs = ?3, updated_at = ?4
                 WHERE id = ?1 AND space_id = ?2 AND (?5 IS NULL OR attrs = ?5) RETURNING ",
                entity_columns!()
            ))?
            .query_row(
                params![
                    id,
                    space,
                    attrs.to_string(),
                    now,
                    expect.map(Value::to_string)
                ],
                entity,
            )
            .optional()
    }

    async fn set_alias(
        &mut self,
        space: SpaceId,
        namespace: &str,
        alias: &str,
        entity: EntityId,
    ) -> Result<Option<EntityId>, rusqlite::Error> {
        self.0
            .prepare_cached(
                "INSERT INTO aliases (space_id, namespace, alias, entity_id)
                 SELECT ?1, ?2, ?3, id FROM entities WHERE id = ?4 AND space_id = ?1
                 ON CONFLICT (space_id, namespace, alias) DO NOTHING",
            )?
            .execute(params![space, namespace, alias, entity])?;
        self.0
            .prepare_cached(
                "SELECT entity_id FROM aliases
                 WHERE space_id = ?1 AND namespace = ?2 AND alias = ?3",
            )?
            .query_row(params![space, namespace, alias], |row| row.get(0))
            .optional()
    }

    async fn remove_alias(
        &mut self,
        space: SpaceId,
        namespace: &str,
        alias: &str,
        entity: EntityId,
    ) -> Result<(), rusqlite::Error> {
        self.0
            .prepare_cached(
                "DELETE FROM aliases
                 WHERE space_id = ?1 AND namespace = ?2 AND alias = ?3 AND entity_id = ?4",
            )?
            .execute(params![space, namespace, alias, entity])?;
        Ok(())
    }

    async fn created_before(
        &mut self,
        space: SpaceId,
        kind: &str,
        before: i64,
    ) -> Result<Vec<EntityId>, rusqlite::Error> {
        let mut statement = self.0.prepare_cached(
            "SELECT id FROM entities WHERE space_id = ?1 AND kind = ?2 AND created_at < ?3",
        )?;
        let ids = statement.query_map(params![space, kind, before], |row| row.get(0))?;
        ids.collect()
    }

    async fn delete_edges_of(
        &mut self,
        space: SpaceId,
        id: EntityId,
    ) -> Result<Vec<(EntityId, String, EntityId)>, rusqlite::Error> {
        let mut edges = Vec::new();
        for sql in DELETE_EDGES_OF {
            let mut statement = self.0.prepare_cached(sql)?;
            let deleted = statement.query_map([space, id], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?;
            for edge in deleted {
                edges.push(edge?);
            }
        }
        Ok(edges)
    }

    async fn delete_entities(
        &mut self,
        space: SpaceId,
        ids: &[EntityId],
    ) -> Result<(), rusqlite::Error> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = json_list(ids);
        self.0
            .prepare_cached(
                "DELETE FROM counters WHERE entity_id IN (SELECT value FROM json_each(?1))",
            )?
            .execute([&ids])?;
        for sql in [
            "DELETE FROM aliases WHERE +space_id = ?1
               AND entity_id IN (SELECT value FROM json_each(?2))",
            "DELETE FROM entities WHERE id IN (SELECT value FROM json_each(?2)) AND +space_id = ?1",
        ] {
            self.0.prepare_cached(sql)?.execute(params![space, ids])?;
        }
        Ok(())
    }

    /// SQLite's one writer holds the whole database: nothing to lock.
    async fn lock_counters(
        &mut self,
        _space: SpaceId,
        _keys: &[CounterKey<'_>],
    ) -> Result<(), rusqlite::Error> {
        Ok(())
    }

    /// No locks: one writer holds the whole database.
    async fn lock_batch(
        &mut self,
        space: SpaceId,
        batch: &Batch<'_>,
    ) -> Result<(HashSet<EntityId>, Facts), rusqlite::Error> {
        let mut ends = batch.members.to_vec();
        ends.push(batch.subject);
        let in_space = self.in_space(space, &ends, RowLock::None).await?;
        let facts = match &batch.asked {
            Some(asked) => {
                self.facts(space, batch.subject, batch.members, asked)
                    .await?
            }
            None => Facts::default(),
        };
        Ok((in_space, facts))
    }
    async fn bump_counters(
        &mut self,
        _space: SpaceId,
        relation: &str,
        deltas: &[(EntityId, Direction, i64)],
    ) -> Result<(), rusqlite::Error> {
        if deltas.is_empty() {
            return Ok(());
        }
        let relation = self.name(relation)?;
        let rows: Vec<(EntityId, i64, i64)> = deltas
            .iter()
            .map(|(entity, direction, n)| (*entity, direction_code(*direction), *n))
            .collect();
        // `WHERE true` keeps SQLite from reading ON CONFLICT as a join constraint.
        self.0
            .prepare_cached(
                "INSERT INTO counters (entity_id, relation_id, direction, n)
                 SELECT value ->> 0, ?1, value ->> 1, value ->> 2 FROM json_each(?2) WHERE true
                 ON CONFLICT (entity_id, relation_id, direction) DO UPDATE SET n = n + excluded.n",
            )?
            .execute(params![relation, json_list(&rows)])?;
        Ok(())
    }

    async fn insert_edges(
        &mut self,
        space: SpaceId,
        now: i64,
        relation: &str,
        edges: &[(EntityId, EntityId)],
    ) -> Result<(), rusqlite::Error> {
        let relation = self.name(relation)?;
        let last: i64 = self
            .0
            .prepare_cached(
                "UPDATE sequences SET value = value + ?1 WHERE name = 'edge_seq' RETURNING value",
            )?
            .query_row([edges.len() as i64], |row| row.get(0))?;
        // `key` is the position in the list: seq follows it.
        self.0
            .prepare_cached(
                "INSERT INTO edges (space_id, subject_id, relation_id, member_id, seq, created_at)
                 SELECT ?1, value ->> 0, ?2, value ->> 1, ?3 + key, ?4 FROM json_each(?5)",
            )?
            .execute(params![
                space,
                relation,
                last - edges.len() as i64 + 1,
                now,
                json_list(edges)
            ])?;
        Ok(())
    }

    async fn delete_edges(
        &mut self,
        space: SpaceId,
        relation: &str,
        edges: &[(EntityId, EntityId)],
    ) -> Result<Vec<(EntityId, EntityId)>, rusqlite::Error> {
        let mut statement = self.0.prepare_cached(
            "DELETE FROM edges WHERE space_id = ?1
               AND relation_id = (SELECT id FROM names WHERE name = ?2)
               AND (subject_id, member_id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?3))
             RETURNING subject_id, member_id",
        )?;
        let deleted = statement.query_map(params![space, relation, json_list(edges)], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
        deleted.collect()
    }

    async fn entity_refs(
        &mut self,
        space: SpaceId,
        ids: &[EntityId],
    ) -> Result<HashMap<EntityId, EntityRef>, rusqlite::Error> {
        let mut statement = self.0.prepare_cached(
            "SELECT id, kind, key FROM entities
             WHERE id IN (SELECT value FROM json_each(?2)) AND +space_id = ?1",
        )?;
        let rows = statement.query_map(params![space, json_list(ids)], |row| {
            Ok((
                row.get(0)?,
                EntityRef {
                    kind: row.get(1)?,
                    key: row.get(2)?,
                },
            ))
        })?;
        rows.collect()
    }

    async fn record_changes(
        &mut self,
        space: SpaceId,
        now: i64,
        context: Option<&Value>,
        changes: &[ChangeRow<'_>],
    ) -> Result<(), rusqlite::Error> {
        // One writer: seq order is commit order.
        let rows: Vec<_> = changes
            .iter()
            .map(|c| {
                (
                    c.op.as_str(),
                    &c.subject.kind,
                    &c.subject.key,
                    c.relation,
                    c.member.map(|m| &m.kind),
                    c.member.map(|m| &m.key),
                )
            })
            .collect();
        self.0
            .prepare_cached(
                "INSERT INTO changes (space_id, plan, at, op, subject_kind, subject_key, relation,
                                      member_kind, member_key, context)
                 SELECT ?1, ?5, ?2, value ->> 0, value ->> 1, value ->> 2, value ->> 3,
                        value ->> 4, value ->> 5, ?3
                 FROM json_each(?4) ORDER BY key",
            )?
            .execute(params![
                space,
                now,
                context.map(Value::to_string),
                json_list(&rows),
                rand::random::<i64>()
            ])?;
        Ok(())
    }
}

impl LoadTx for SqliteTx<'_> {
    async fn space_id(&mut self, dialect: &str, key: &str) -> Result<SpaceId, rusqlite::Error> {
        self.0
            .prepare_cached(
                "INSERT INTO spaces (dialect, key, limits) VALUES (?1, ?2, '{}')
                 ON CONFLICT (dialect, key) DO NOTHING",
            )?
            .execute(params![dialect, key])?;
        self.0
            .prepare_cached("SELECT id FROM spaces WHERE dialect = ?1 AND key = ?2")?
            .query_row(params![dialect, key], |row| row.get(0))
    }

    /// SQLite's one writer holds the whole database: nothing to lock.
    async fn lock_space(&mut self, _space: SpaceId) -> Result<(), rusqlite::Error> {
        Ok(())
    }

    async fn renew_space(&mut self, space: SpaceId, limits: &str) -> Result<(), rusqlite::Error> {
        self.0
            .prepare_cached(
                "UPDATE spaces SET limits = ?2, generation = generation + 1 WHERE id = ?1",
            )?
            .execute(params![space, limits])?;
        Ok(())
    }

    async fn space_rows(&mut self, space: SpaceId) -> Result<SpaceRows, StoreError> {
        super::space_rows(self.0, space)
    }

    async fn clear_space(&mut self, space: SpaceId) -> Result<(), rusqlite::Error> {
        for sql in [
            "DELETE FROM counters WHERE entity_id IN (SELECT id FROM entities WHERE space_id = ?1)",
            "DELETE FROM edges WHERE space_id = ?1",
            "DELETE FROM aliases WHERE space_id = ?1",
            "DELETE FROM entities WHERE space_id = ?1",
        ] {
            self.0.prepare_cached(sql)?.execute([space])?;
        }
        Ok(())
    }

    async fn restore_entities(
        &mut self,
        space: SpaceId,
        entities: &[&DumpedEntity],
    ) -> Result<HashMap<(String, String), EntityId>, rusqlite::Error> {
        let rows: Vec<(&str, &str, String, i64, i64)> = entities
            .iter()
            .map(|e| {
                (
                    e.kind.as_str(),
                    e.key.as_str(),
                    e.attrs.to_string(),
                    e.created_at,
                    e.updated_at,
                )
            })
            .collect();
        // `key` is the position in the list: ids follow the list's order.
        let mut statement = self.0.prepare_cached(
            "INSERT INTO entities (space_id, kind, key, attrs, created_at, updated_at)
             SELECT ?1, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4
             FROM json_each(?2) ORDER BY key
             RETURNING kind, key, id",
        )?;
        let ids = statement.query_map(params![space, json_list(&rows)], |row| {
            Ok(((row.get(0)?, row.get(1)?), row.get(2)?))
        })?;
        ids.collect()
    }

    async fn rewrite_entities(
        &mut self,
        _space: SpaceId,
        entities: &[(EntityId, &DumpedEntity)],
    ) -> Result<(), rusqlite::Error> {
        if entities.is_empty() {
            return Ok(());
        }
        let rows: Vec<(EntityId, String, i64, i64)> = entities
            .iter()
            .map(|(id, e)| (*id, e.attrs.to_string(), e.created_at, e.updated_at))
            .collect();
        self.0
            .prepare_cached(
                "UPDATE entities SET attrs = value ->> 1, created_at = value ->> 2,
                     updated_at = value ->> 3
                 FROM json_each(?1) WHERE entities.id = value ->> 0",
            )?
            .execute([json_list(&rows)])?;
        Ok(())
    }

    async fn set_owners(
        &mut self,
        _space: SpaceId,
        owners: &[(EntityId, Option<EntityId>)],
    ) -> Result<(), rusqlite::Error> {
        if owners.is_empty() {
            return Ok(());
        }
        self.0
            .prepare_cached(
                "UPDATE entities SET owner_id = value ->> 1
                 FROM json_each(?1) WHERE entities.id = value ->> 0",
            )?
            .execute([json_list(owners)])?;
        Ok(())
    }

    async fn delete_aliases(
        &mut self,
        space: SpaceId,
        names: &[(&str, &str)],
    ) -> Result<(), rusqlite::Error> {
        if names.is_empty() {
            return Ok(());
        }
        self.0
            .prepare_cached(
                "DELETE FROM aliases WHERE space_id = ?1
                   AND (namespace, alias) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?2))",
            )?
            .execute(params![space, json_list(names)])?;
        Ok(())
    }

    async fn restore_aliases(
        &mut self,
        space: SpaceId,
        aliases: &[(&str, &str, EntityId)],
    ) -> Result<(), rusqlite::Error> {
        if aliases.is_empty() {
            return Ok(());
        }
        self.0
            .prepare_cached(
                "INSERT INTO aliases (space_id, namespace, alias, entity_id)
                 SELECT ?1, value ->> 0, value ->> 1, value ->> 2 FROM json_each(?2)",
            )?
            .execute(params![space, json_list(aliases)])?;
        Ok(())
    }
}

/// An entity's edges, deleted from each end in turn: SQLite plans `subject_id = ?2 OR
/// member_id = ?2` as a scan of the space's edges, where each end alone is a range of one index.
pub(super) const DELETE_EDGES_OF: [&str; 2] = [
    "DELETE FROM edges WHERE space_id = ?1 AND subject_id = ?2
     RETURNING subject_id, (SELECT name FROM names WHERE id = relation_id), member_id",
    "DELETE FROM edges WHERE space_id = ?1 AND member_id = ?2
     RETURNING subject_id, (SELECT name FROM names WHERE id = relation_id), member_id",
];
