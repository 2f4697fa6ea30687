//! The statements of a PostgreSQL write transaction ([`Tx`]); what a plan does with them is
//! decided once, in [`crate::exec`]. Write transactions run READ COMMITTED and lock the rows
//! they decide on, so they wait for each other instead of failing serialization.
//!
//! The lock order, the same for every transaction that writes a space's rows:
//! 1. the space ([`SPACE_LOCK`]): shared by every plan, exclusive by a load (a reset, a
//!    snapshot load, a space emptied), which takes the spaces of its dumps in id order;
//! 2. within a plan's step, the entity rows the step names, in one statement, by id;
//! 3. the counter rows the step decides on or changes, in one statement, sorted;
//! 4. the space's change log turn ([`CHANGE_LOG_LOCK`]), last, until the commit.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;

use serde_json::Value;
use sqlx::query_builder::Separated;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use roster_core::{
    Applied, Direction, DumpedEntity, Entity, EntityId, EntityRef, SpaceDump, SpaceId, StoreError,
    WritePlan,
};

use crate::dumps::{self, LoadError, LoadTx, SpaceRows};
use crate::exec::{self, direction_code, Asked, ChangeRow, CounterKey, Facts, RowLock, Tx};
use crate::lookup::{rows_in, Param};
use crate::reads::{self, ENTITY_COLUMNS};

/// The first key of the advisory lock that orders a space's change log ("rost").
const CHANGE_LOG_LOCK: i32 = 0x726f_7374;
/// The first key of the advisory lock on a space ("spce"), the first lock of every write.
/// A lock in the lock manager, not a row lock: its waiters queue in order, so a load waiting
/// for it holds back the plans that come after it (share locks on a row would let them pass
/// it forever). On a distributed PostgreSQL every roster process connects to one coordinator,
/// which holds the advisory locks, as it does the change log's.
const SPACE_LOCK: i32 = 0x7370_6365;

pub(crate) type TxResult<T> = Result<(T, bool), sqlx::Error>;
pub(crate) type TxFuture<'c, T> = Pin<Box<dyn Future<Output = TxResult<T>> + Send + 'c>>;

/// How a plan's transaction begins: with its space's lock, shared (the first of the lock
/// order), in the same round trip.
pub(crate) fn begin_plan(space: SpaceId) -> String {
    format!("BEGIN; SELECT pg_advisory_xact_lock_shared({SPACE_LOCK}, {space}::int4)")
}

/// Apply `plan` inside the transaction [`begin_plan`] opened; a refused plan is not to be
/// committed.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    names: &Names,
    plan: &WritePlan,
) -> TxResult<Result<Applied, StoreError>> {
    let mut tx = PgTx {
        conn,
        names,
        inserted: HashMap::new(),
    };
    Ok(match exec::apply(&mut tx, plan).await? {
        Ok(applied) => (Ok(applied), true),
        Err((step, refusal)) => (Err(StoreError::Refused { step, refusal }), false),
    })
}

/// Load the dumps inside the open transaction; a dump that contradicts itself is not to be
/// committed.
pub(crate) async fn load(
    conn: &mut PgConnection,
    names: &Names,
    dumps: &[SpaceDump],
) -> TxResult<Result<(), StoreError>> {
    let mut tx = PgTx {
        conn,
        names,
        inserted: HashMap::new(),
    };
    match dumps::load_spaces(&mut tx, dumps).await {
        Ok(()) => Ok((Ok(()), true)),
        Err(LoadError::Invalid(why)) => Ok((Err(StoreError::InvalidDump(why)), false)),
        Err(LoadError::Read(e)) => Ok((Err(e), false)),
        Err(LoadError::Backend(e)) => Err(e),
    }
}

struct PgTx<'c> {
    conn: &'c mut PgConnection,
    names: &'c Names,
    /// Names this transaction interned: their ids are not kept until it commits.
    inserted: HashMap<String, i32>,
}

/// The ids of interned names already committed, so a transaction finds them without a
/// statement (they never change once committed).
#[derive(Default)]
pub(crate) struct Names(std::sync::RwLock<HashMap<String, i32>>);

impl Names {
    fn get(&self, name: &str) -> Option<i32> {
        self.0.read().expect("names lock").get(name).copied()
    }

    fn remember(&self, name: &str, id: i32) {
        self.0
            .write()
            .expect("names lock")
            .insert(name.to_string(), id);
    }
}

fn lock_clause(lock: RowLock) -> &'static str {
    match lock {
        RowLock::None => "",
        // Enough to keep the row from being deleted; updates of its attrs go on.
        RowLock::Share => " FOR KEY SHARE",
        RowLock::Update => " FOR UPDATE",
    }
}

/// Rows per multi-row insert, well within PostgreSQL's 65,535 parameters of a statement.
const ROWS_PER_INSERT: usize = 1000;

/// Insert `rows` with `head` (`INSERT INTO table (columns) `), each row of VALUES bound by
/// `bind`, then `tail`: multi-row VALUES, so that Citus routes each statement to the space's
/// shard (it pulls an `INSERT ... SELECT FROM UNNEST` to the coordinator), in the rows' order,
/// [`ROWS_PER_INSERT`] a statement.
async fn insert_values<'a, T>(
    conn: &mut PgConnection,
    head: &str,
    rows: &'a [T],
    tail: &str,
    mut bind: impl FnMut(Separated<'_, 'a, Postgres, &'static str>, &'a T),
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::<Postgres>::new(head);
        insert.push_values(chunk, &mut bind);
        insert.push(tail);
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Counter rows (entity, relation id, direction, n) of `space`, in their order; `conflict`
/// says what a row already there does.
async fn insert_counters(
    conn: &mut PgConnection,
    space: SpaceId,
    rows: &[(EntityId, i32, i16, i64)],
    conflict: &str,
) -> Result<(), sqlx::Error> {
    let head = "INSERT INTO counters (space_id, entity_id, relation_id, direction, n) ";
    let tail = format!(" ON CONFLICT (space_id, entity_id, relation_id, direction) {conflict}");
    insert_values(
        conn,
        head,
        rows,
        &tail,
        |mut row, (entity, relation, direction, n)| {
            row.push_bind(space)
                .push_bind(*entity)
                .push_bind(*relation)
                .push_bind(*direction)
                .push_bind(*n);
        },
    )
    .await
}

impl PgTx<'_> {
    /// The id of an interned name, interning it when new (inside the transaction, so a
    /// rolled-back plan leaves no name behind).
    async fn name(&mut self, name: &str) -> Result<i32, sqlx::Error> {
        if let Some(id) = self.names.get(name) {
            return Ok(id);
        }
        if let Some(id) = self.inserted.get(name) {
            return Ok(*id);
        }
        let select = "SELECT id FROM names WHERE name = $1";
        let known: Option<i32> = sqlx::query_scalar(select)
            .bind(name)
            .fetch_optional(&mut *self.conn)
            .await?;
        if let Some(id) = known {
            // Not inserted by this transaction, so committed: it can be kept.
            self.names.remember(name, id);
            return Ok(id);
        }
        let inserted: Option<i32> = sqlx::query_scalar(
            "INSERT INTO names (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id",
        )
        .bind(name)
        .fetch_optional(&mut *self.conn)
        .await?;
        match inserted {
            Some(id) => {
                self.inserted.insert(name.to_string(), id);
                Ok(id)
            }
            // A concurrent transaction committed it first.
            None => {
                let id = sqlx::query_scalar(select)
                    .bind(name)
                    .fetch_one(&mut *self.conn)
                    .await?;
                self.names.remember(name, id);
                Ok(id)
            }
        }
    }

    /// The ids the one-column query `sql` selects for `ids` (see [`rows_in`]).
    async fn ids(
        &mut self,
        sql: &str,
        fixed: &[Param<'_>],
        ids: &[EntityId],
    ) -> Result<HashSet<EntityId>, sqlx::Error> {
        use sqlx::Row;
        rows_in(self.conn, sql, fixed, ids)
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect()
    }
}

fn entity(row: &sqlx::postgres::PgRow) -> Result<Entity, sqlx::Error> {
    reads::entity(row).map_err(|e| sqlx::Error::Decode(e.into()))
}

impl Tx for PgTx<'_> {
    type Error = sqlx::Error;

    async fn in_space(
        &mut self,
        space: SpaceId,
        ids: &[EntityId],
        lock: RowLock,
    ) -> Result<HashSet<EntityId>, sqlx::Error> {
        let lock = lock_clause(lock);
        // Locked in id order (the lock order).
        let sql = format!(
            "SELECT id FROM entities WHERE space_id = $1 AND id = ANY({{list}}) ORDER BY id{lock}"
        );
        self.ids(&sql, &[Param::Int(space)], ids).await
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
        .bind(space)
        .bind(kind)
        .bind(key)
        .bind(attrs.to_string())
        .bind(owner)
        .bind(now)
        .fetch_optional(&mut *self.conn)
        .await?;
        row.as_ref().map(entity).transpose()
    }

    async fn update_entity(
        &mut self,
        space: SpaceId,
        now: i64,
        id: EntityId,
        attrs: &Value,
        expect: Option<&Value>,
    ) -> Result<Option<Entity>, sqlx::Error> {
        let expected = expect.map(Value::to_string);
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
            .bind(space)
            .bind(attrs.to_string())
            .bind(now);
        if let Some(expected) = expected {
            update = update.bind(expected);
        }
        let row = update.fetch_optional(&mut *self.conn).await?;
        row.as_ref().map(entity).transpose()
    }

    async fn set_alias(
        &mut self,
        space: SpaceId,
        namespace: &str,
        alias: &str,
        entity: EntityId,
    ) -> Result<Option<EntityId>, sqlx::Error> {
        sqlx::query(
            "INSERT INTO aliases (space_id, namespace, alias, entity_id)
             SELECT space_id, $2, $3, id FROM entities WHERE id = $4 AND space_id = $1
             ON CONFLICT (space_id, namespace, alias) DO NOTHING",
        )
        .bind(space)
        .bind(namespace)
        .bind(alias)
        .bind(entity)
        .execute(&mut *self.conn)
        .await?;
        sqlx::query_scalar(
            "SELECT entity_id FROM aliases WHERE space_id = $1 AND namespace = $2 AND alias = $3",
        )
        .bind(space)
        .bind(namespace)
        .bind(alias)
        .fetch_optional(&mut *self.conn)
        .await
    }

    async fn remove_alias(
        &mut self,
        space: SpaceId,
        namespace: &str,
        alias: &str,
        entity: EntityId,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "DELETE FROM aliases
             WHERE space_id = $1 AND namespace = $2 AND alias = $3 AND entity_id = $4",
        )
        .bind(space)
        .bind(namespace)
        .bind(alias)
        .bind(entity)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    async fn created_before(
        &mut self,
        space: SpaceId,
        kind: &str,
        before: i64,
    ) -> Result<Vec<EntityId>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT id FROM entities WHERE space_id = $1 AND kind = $2 AND created_at < $3",
        )
        .bind(space)
        .bind(kind)
        .bind(before)
        .fetch_all(&mut *self.conn)
        .await
    }

    async fn delete_edges_of(
        &mut self,
        space: SpaceId,
        id: EntityId,
    ) -> Result<Vec<(EntityId, String, EntityId)>, sqlx::Error> {
        sqlx::query_as(
            "DELETE FROM edges WHERE space_id = $1 AND (subject_id = $2 OR member_id = $2)
             RETURNING subject_id, (SELECT name FROM names WHERE id = relation_id), member_id",
        )
        .bind(space)
        .bind(id)
        .fetch_all(&mut *self.conn)
        .await
    }

    async fn delete_entities(
        &mut self,
        space: SpaceId,
        ids: &[EntityId],
    ) -> Result<(), sqlx::Error> {
        if ids.is_empty() {
            return Ok(());
        }
        for sql in [
            "DELETE FROM counters WHERE space_id = $1 AND entity_id = ANY($2)",
            "DELETE FROM aliases WHERE space_id = $1 AND entity_id = ANY($2)",
            "DELETE FROM entities WHERE space_id = $1 AND id = ANY($2)",
        ] {
            sqlx::query(sql)
                .bind(space)
                .bind(ids)
                .execute(&mut *self.conn)
                .await?;
        }
        Ok(())
    }

    async fn lock_counters(
        &mut self,
        space: SpaceId,
        keys: &[CounterKey<'_>],
    ) -> Result<(), sqlx::Error> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut rows = Vec::with_capacity(keys.len());
        for (entity, relation, direction) in keys {
            let relation = self.name(relation).await?;
            rows.push((*entity, relation, direction_code(*direction) as i16, 0));
        }
        rows.sort_unstable();
        // One statement creates the missing rows and locks the others (an ON CONFLICT DO
        // UPDATE locks every conflicting row, also those its WHERE leaves unchanged), in the
        // order of its rows, the keys' order: every transaction locks counters in this order.
        let conflict = "DO UPDATE SET n = counters.n WHERE false";
        insert_counters(self.conn, space, &rows, conflict).await
    }

    async fn bump_counters(
        &mut self,
        space: SpaceId,
        relation: &str,
        deltas: &[(EntityId, Direction, i64)],
    ) -> Result<(), sqlx::Error> {
        if deltas.is_empty() {
            return Ok(());
        }
        let relation = self.name(relation).await?;
        let rows: Vec<_> = deltas
            .iter()
            .map(|(entity, direction, n)| {
                (*entity, relation, direction_code(*direction) as i16, *n)
            })
            .collect();
        let conflict = "DO UPDATE SET n = counters.n + excluded.n";
        insert_counters(self.conn, space, &rows, conflict).await
    }

    /// Every fact in one statement: each part reads only when asked (`$n` flags).
    async fn facts(
        &mut self,
        space: SpaceId,
        subject: EntityId,
        members: &[EntityId],
        asked: &Asked<'_>,
    ) -> Result<Facts, sqlx::Error> {
        use sqlx::Row;
        let relation = self.name(asked.relation).await?;
        let mutual = match asked.reciprocal {
            Some(mutual) => self.name(mutual).await?,
            None => 0,
        };
        let rows = sqlx::query(
            "SELECT 0::smallint, member_id, 0::bigint FROM edges
             WHERE space_id = $1 AND subject_id = $2 AND relation_id = $3 AND member_id = ANY($4)
             UNION ALL
             SELECT 1::smallint, subject_id, 0::bigint FROM edges
             WHERE $5 AND space_id = $1 AND member_id = $2 AND relation_id = $3
               AND subject_id = ANY($4)
             UNION ALL
             SELECT 2::smallint, entity_id, n FROM counters
             WHERE $6 AND space_id = $1 AND entity_id = $2 AND relation_id = $3 AND direction = 0
             UNION ALL
             SELECT 3::smallint, entity_id, n FROM counters
             WHERE $7 AND space_id = $1 AND relation_id = $3 AND direction = 1
               AND entity_id = ANY($4)
             UNION ALL
             SELECT 4::smallint, entity_id, n FROM counters
             WHERE $8 AND space_id = $1 AND relation_id = $9 AND direction = 0
               AND (entity_id = ANY($4) OR entity_id = $2)",
        )
        .bind(space)
        .bind(subject)
        .bind(relation)
        .bind(members)
        .bind(asked.reciprocal.is_some())
        .bind(asked.subject_members)
        .bind(asked.memberships)
        .bind(asked.reciprocal.is_some() && asked.partners)
        .bind(mutual)
        .fetch_all(&mut *self.conn)
        .await?;
        let mut facts = Facts::default();
        for row in rows {
            let (fact, id, n): (i16, EntityId, i64) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            match fact {
                0 => {
                    facts.present.insert(id);
                }
                1 => {
                    facts.back.insert(id);
                }
                2 => facts.subject_members = n,
                3 => {
                    facts.memberships.insert(id, n);
                }
                _ => {
                    facts.partners.insert(id, n);
                }
            }
        }
        Ok(facts)
    }

    async fn insert_edges(
        &mut self,
        space: SpaceId,
        now: i64,
        relation: &str,
        edges: &[(EntityId, EntityId)],
    ) -> Result<(), sqlx::Error> {
        if edges.is_empty() {
            return Ok(());
        }
        let relation = self.name(relation).await?;
        // `seq` comes from its sequence, row by row in the list's order.
        let head = "INSERT INTO edges (space_id, subject_id, relation_id, member_id, created_at) ";
        insert_values(self.conn, head, edges, "", |mut row, (subject, member)| {
            row.push_bind(space)
                .push_bind(*subject)
                .push_bind(relation)
                .push_bind(*member)
                .push_bind(now);
        })
        .await
    }

    async fn delete_edges(
        &mut self,
        space: SpaceId,
        relation: &str,
        edges: &[(EntityId, EntityId)],
    ) -> Result<Vec<(EntityId, EntityId)>, sqlx::Error> {
        let (subjects, members): (Vec<EntityId>, Vec<EntityId>) = edges.iter().copied().unzip();
        sqlx::query_as(
            "DELETE FROM edges WHERE space_id = $1
               AND relation_id = (SELECT id FROM names WHERE name = $2)
               AND (subject_id, member_id) IN (SELECT * FROM UNNEST($3::bigint[], $4::bigint[]))
             RETURNING subject_id, member_id",
        )
        .bind(space)
        .bind(relation)
        .bind(subjects)
        .bind(members)
        .fetch_all(&mut *self.conn)
        .await
    }

    async fn entity_refs(
        &mut self,
        space: SpaceId,
        ids: &[EntityId],
    ) -> Result<HashMap<EntityId, EntityRef>, sqlx::Error> {
        let rows: Vec<(EntityId, String, String)> = sqlx::query_as(
            "SELECT id, kind, key FROM entities WHERE space_id = $1 AND id = ANY($2)",
        )
        .bind(space)
        .bind(ids)
        .fetch_all(&mut *self.conn)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, key)| (id, EntityRef { kind, key }))
            .collect())
    }

    async fn record_changes(
        &mut self,
        space: SpaceId,
        now: i64,
        context: Option<&Value>,
        changes: &[ChangeRow<'_>],
    ) -> Result<(), sqlx::Error> {
        if changes.is_empty() {
            return Ok(());
        }
        // Writers of one space take their seqs in turn and hold the turn until they commit,
        // so seq order is commit order within a space and a reader past a seq misses nothing.
        // The turn is taken before the rows draw their seqs, in its own statement: on Citus
        // the coordinator, where every process connects, holds it and draws the seqs, and
        // the insert goes to the space's shard alone. (Two-key advisory locks do not overlap
        // single-key ones.)
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2::int4)")
            .bind(CHANGE_LOG_LOCK)
            .bind(space)
            .execute(&mut *self.conn)
            .await?;
        let (plan, context) = (rand::random::<i64>(), context.map(Value::to_string));
        let head = "INSERT INTO changes (space_id, plan, at, op, subject_kind, subject_key,
                                          relation, member_kind, member_key, context) ";
        insert_values(self.conn, head, changes, "", |mut row, change| {
            row.push_bind(space)
                .push_bind(plan)
                .push_bind(now)
                .push_bind(change.op.as_str())
                .push_bind(change.subject.kind.as_str())
                .push_bind(change.subject.key.as_str())
                .push_bind(change.relation)
                .push_bind(change.member.map(|m| m.kind.as_str()))
                .push_bind(change.member.map(|m| m.key.as_str()))
                .push_bind(context.clone());
        })
        .await
    }
}

impl LoadTx for PgTx<'_> {
    async fn space_id(&mut self, dialect: &str, key: &str) -> Result<SpaceId, sqlx::Error> {
        let select = "SELECT id FROM spaces WHERE dialect = $1 AND key = $2";
        let found = sqlx::query_scalar(select)
            .bind(dialect)
            .bind(key)
            .fetch_optional(&mut *self.conn)
            .await?;
        if let Some(id) = found {
            return Ok(id);
        }
        let inserted = sqlx::query_scalar(
            "INSERT INTO spaces (dialect, key, limits) VALUES ($1, $2, '{}')
             ON CONFLICT (dialect, key) DO NOTHING RETURNING id",
        )
        .bind(dialect)
        .bind(key)
        .fetch_optional(&mut *self.conn)
        .await?;
        match inserted {
            Some(id) => Ok(id),
            // A concurrent load created it first.
            None => {
                sqlx::query_scalar(select)
                    .bind(dialect)
                    .bind(key)
                    .fetch_one(&mut *self.conn)
                    .await
            }
        }
    }

    async fn lock_space(&mut self, space: SpaceId) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2::int4)")
            .bind(SPACE_LOCK)
            .bind(space)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    async fn renew_space(&mut self, space: SpaceId, limits: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE spaces SET limits = $2, generation = generation + 1 WHERE id = $1")
            .bind(space)
            .bind(limits)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    async fn space_rows(&mut self, space: SpaceId) -> Result<SpaceRows, StoreError> {
        crate::store_impl::space_rows(self.conn, space).await
    }

    async fn clear_space(&mut self, space: SpaceId) -> Result<(), sqlx::Error> {
        for sql in [
            "DELETE FROM counters WHERE space_id = $1",
            "DELETE FROM edges WHERE space_id = $1",
            "DELETE FROM aliases WHERE space_id = $1",
            "DELETE FROM entities WHERE space_id = $1",
        ] {
            sqlx::query(sql)
                .bind(space)
                .execute(&mut *self.conn)
                .await?;
        }
        Ok(())
    }

    async fn restore_entities(
        &mut self,
        space: SpaceId,
        entities: &[&DumpedEntity],
    ) -> Result<HashMap<(String, String), EntityId>, sqlx::Error> {
        let kinds: Vec<&str> = entities.iter().map(|e| e.kind.as_str()).collect();
        let keys: Vec<&str> = entities.iter().map(|e| e.key.as_str()).collect();
        let attrs: Vec<String> = entities.iter().map(|e| e.attrs.to_string()).collect();
        let created: Vec<i64> = entities.iter().map(|e| e.created_at).collect();
        let updated: Vec<i64> = entities.iter().map(|e| e.updated_at).collect();
        let ids: Vec<(String, String, EntityId)> = sqlx::query_as(
            "INSERT INTO entities (space_id, kind, key, attrs, created_at, updated_at)
             SELECT $1, kind, key, attrs, created_at, updated_at
             FROM UNNEST($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
                 WITH ORDINALITY AS e (kind, key, attrs, created_at, updated_at, position)
             ORDER BY position
             RETURNING kind, key, id",
        )
        .bind(space)
        .bind(&kinds)
        .bind(&keys)
        .bind(&attrs)
        .bind(&created)
        .bind(&updated)
        .fetch_all(&mut *self.conn)
        .await?;
        Ok(ids
            .into_iter()
            .map(|(kind, key, id)| ((kind, key), id))
            .collect())
    }

    async fn rewrite_entities(
        &mut self,
        space: SpaceId,
        entities: &[(EntityId, &DumpedEntity)],
    ) -> Result<(), sqlx::Error> {
        if entities.is_empty() {
            return Ok(());
        }
        let ids: Vec<EntityId> = entities.iter().map(|(id, _)| *id).collect();
        let attrs: Vec<String> = entities.iter().map(|(_, e)| e.attrs.to_string()).collect();
        let created: Vec<i64> = entities.iter().map(|(_, e)| e.created_at).collect();
        let updated: Vec<i64> = entities.iter().map(|(_, e)| e.updated_at).collect();
        sqlx::query(
            "UPDATE entities e SET attrs = r.attrs, created_at = r.created_at,
                 updated_at = r.updated_at
             FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bigint[])
                 AS r (id, attrs, created_at, updated_at)
             WHERE e.space_id = $5 AND e.id = r.id",
        )
        .bind(&ids)
        .bind(&attrs)
        .bind(&created)
        .bind(&updated)
        .bind(space)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    async fn set_owners(
        &mut self,
        space: SpaceId,
        owners: &[(EntityId, Option<EntityId>)],
    ) -> Result<(), sqlx::Error> {
        if owners.is_empty() {
            return Ok(());
        }
        let (ids, owner_ids): (Vec<EntityId>, Vec<Option<EntityId>>) =
            owners.iter().copied().unzip();
        sqlx::query(
            "UPDATE entities e SET owner_id = o.owner_id
             FROM UNNEST($1::bigint[], $2::bigint[]) AS o (id, owner_id)
             WHERE e.space_id = $3 AND e.id = o.id",
        )
        .bind(&ids)
        .bind(&owner_ids)
        .bind(space)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    async fn delete_aliases(
        &mut self,
        space: SpaceId,
        names: &[(&str, &str)],
    ) -> Result<(), sqlx::Error> {
        if names.is_empty() {
            return Ok(());
        }
        let (namespaces, aliases): (Vec<&str>, Vec<&str>) = names.iter().copied().unzip();
        sqlx::query(
            "DELETE FROM aliases a USING UNNEST($2::text[], $3::text[]) AS d (namespace, alias)
             WHERE a.space_id = $1 AND a.namespace = d.namespace AND a.alias = d.alias",
        )
        .bind(space)
        .bind(&namespaces)
        .bind(&aliases)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    async fn restore_aliases(
        &mut self,
        space: SpaceId,
        aliases: &[(&str, &str, EntityId)],
    ) -> Result<(), sqlx::Error> {
        if aliases.is_empty() {
            return Ok(());
        }
        let namespaces: Vec<&str> = aliases.iter().map(|a| a.0).collect();
        let names: Vec<&str> = aliases.iter().map(|a| a.1).collect();
        let entities: Vec<EntityId> = aliases.iter().map(|a| a.2).collect();
        sqlx::query(
            "INSERT INTO aliases (space_id, namespace, alias, entity_id)
             SELECT $1, namespace, alias, entity_id
             FROM UNNEST($2::text[], $3::text[], $4::bigint[]) AS a (namespace, alias, entity_id)",
        )
        .bind(space)
        .bind(&namespaces)
        .bind(&names)
        .bind(&entities)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }
}
