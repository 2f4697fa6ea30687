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
//!
//! An edge batch costs two round trips from `BEGIN` to `COMMIT` whatever its size, each one
//! simple-protocol message: `BEGIN`, the space's lock and the batch's locks and facts
//! ([`Tx::lock_batch`]); then its edge, counter and change log writes, which wait in the
//! transaction ([`Pending`]), with `COMMIT` ([`PgTx::end`]). So the change log's turn is held
//! only while the server runs that last message and flushes the commit, never across a round
//! trip. Simple-protocol messages bind no parameters: their values are written into their text,
//! numbers as numbers and strings only through [`text`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;

use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::query_builder::Separated;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use roster_core::{
    Applied, Direction, DumpedEntity, Entity, EntityId, EntityRef, SpaceDump, SpaceId, StoreError,
    WritePlan,
};

use crate::dumps::{self, LoadError, LoadTx, SpaceRows};
use crate::exec::{self, direction_code, Batch, ChangeRow, CounterKey, Facts, RowLock, Tx};
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

/// What a write transaction's body gives back once it ended its transaction (committed or
/// rolled back); on an error, the caller rolls back.
pub(crate) type TxFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'c>>;

/// How a plan's transaction begins: with its space's lock, shared (the first of the lock
/// order), sent with the plan's first statement.
fn begin_plan(space: SpaceId) -> String {
    format!("BEGIN; SELECT pg_advisory_xact_lock_shared({SPACE_LOCK}, {space}::int4) AS locked;\n")
}

/// Apply `plan` in a transaction of its own on `conn` (no transaction open), committed unless
/// a step was refused. The round trips it cost from `BEGIN` to `COMMIT` are counted in
/// `roster_postgres_plan_round_trips`.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    names: &Names,
    plan: &WritePlan,
) -> Result<Result<Applied, StoreError>, sqlx::Error> {
    let mut tx = PgTx::new(conn, names, begin_plan(plan.space));
    let applied = exec::apply(&mut tx, plan).await?;
    let round_trips = tx.end(applied.is_ok()).await?;
    metrics::histogram!("roster_postgres_plan_round_trips").record(f64::from(round_trips));
    Ok(applied.map_err(|(step, refusal)| StoreError::Refused { step, refusal }))
}

/// Load the dumps in a transaction of its own on `conn` (no transaction open), committed
/// unless a dump contradicts itself.
pub(crate) async fn load(
    conn: &mut PgConnection,
    names: &Names,
    dumps: &[SpaceDump],
) -> Result<Result<(), StoreError>, sqlx::Error> {
    let mut tx = PgTx::new(conn, names, "BEGIN;\n".into());
    let loaded = match dumps::load_spaces(&mut tx, dumps).await {
        Ok(()) => Ok(()),
        Err(LoadError::Invalid(why)) => Err(StoreError::InvalidDump(why)),
        Err(LoadError::Read(e)) => Err(e),
        Err(LoadError::Backend(e)) => return Err(e),
    };
    tx.end(loaded.is_ok()).await?;
    Ok(loaded)
}

struct PgTx<'c> {
    conn: &'c mut PgConnection,
    names: &'c Names,
    /// `BEGIN` and what the transaction does first, until it goes out with the first message.
    begin: Option<String>,
    /// Names this transaction interned: their ids are not kept until it commits.
    inserted: HashMap<String, i32>,
    /// The kind and key of the entities the transaction locked (they never change).
    refs: HashMap<EntityId, EntityRef>,
    pending: Pending,
    /// Messages sent from `BEGIN` on (each a round trip).
    round_trips: u32,
}

/// Writes not sent yet: they go before the next statement, in its message when it is a
/// simple-protocol one, or with `COMMIT`.
#[derive(Default)]
struct Pending {
    /// Edge rows, in order (so `seq` follows it).
    edges: Vec<EdgeRow>,
    /// What to add to each counter row (space, entity, relation, direction), in the lock order.
    counters: BTreeMap<(SpaceId, EntityId, i32, i16), i64>,
    /// The change log's rows as VALUES rows, in order, and their space.
    changes: Vec<String>,
    changes_space: SpaceId,
}

/// A pending edge row: (space, subject, relation, member, created at).
type EdgeRow = (SpaceId, EntityId, i32, EntityId, i64);

/// Rows a message writes at most: the server parses a message's statements at once, so a large
/// load goes in several messages.
const ROWS_PER_MESSAGE: usize = 10_000;

impl Pending {
    fn is_empty(&self) -> bool {
        self.edges.is_empty() && self.counters.is_empty() && self.changes.is_empty()
    }

    /// The statements writing the next [`ROWS_PER_MESSAGE`] rows at most, in order (edges,
    /// counters, then the change log's turn and its rows), taken out of the pending ones.
    fn next_statements(&mut self) -> String {
        let mut sql = String::new();
        let mut room = ROWS_PER_MESSAGE;
        let edges: Vec<String> = self
            .edges
            .drain(..room.min(self.edges.len()))
            .map(|(space, subject, relation, member, now)| {
                format!("({space}, {subject}, {relation}, {member}, {now})")
            })
            .collect();
        room -= edges.len();
        if !edges.is_empty() {
            let _ = write!(
                sql,
                "INSERT INTO edges (space_id, subject_id, relation_id, member_id, created_at)
                 VALUES {};\n",
                edges.join(", ")
            );
        }
        let mut counters = Vec::new();
        while counters.len() < room {
            let Some(((space, entity, relation, direction), n)) = self.counters.pop_first() else {
                break;
            };
            counters.push(format!("({space}, {entity}, {relation}, {direction}, {n})"));
        }
        room -= counters.len();
        if !counters.is_empty() {
            let _ = write!(
                sql,
                "INSERT INTO counters (space_id, entity_id, relation_id, direction, n)
                 VALUES {} ON CONFLICT (space_id, entity_id, relation_id, direction)
                 DO UPDATE SET n = counters.n + excluded.n;\n",
                counters.join(", ")
            );
        }
        let changes: Vec<String> = self.changes.drain(..room.min(self.changes.len())).collect();
        if !changes.is_empty() {
            // The turn before the rows draw their seqs: see `Tx::record_changes`.
            let _ = write!(
                sql,
                "SELECT pg_advisory_xact_lock({CHANGE_LOG_LOCK}, {}::int4) AS locked;
                 INSERT INTO changes (space_id, plan, at, op, subject_kind, subject_key,
                                      relation, member_kind, member_key, context)
                 VALUES {};\n",
                self.changes_space,
                changes.join(", ")
            );
        }
        sql
    }
}

/// `text` as an SQL expression of type text, for the text of a simple-protocol message: its
/// UTF-8 bytes in hex, decoded by the server. Hex digits cannot end the literal they are in,
/// whatever the text holds and whatever `standard_conforming_strings` says.
fn text(text: &str) -> String {
    let mut sql = String::with_capacity(2 * text.len() + 36);
    sql.push_str("convert_from(decode('");
    for byte in text.bytes() {
        let _ = write!(sql, "{byte:02x}");
    }
    sql.push_str("', 'hex'), 'UTF8')");
    sql
}

/// [`text`], or `NULL`.
fn optional_text(value: Option<&str>) -> String {
    value.map_or_else(|| "NULL".to_string(), text)
}
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

impl<'c> PgTx<'c> {
    fn new(conn: &'c mut PgConnection, names: &'c Names, begin: String) -> Self {
        PgTx {
            conn,
            names,
            begin: Some(begin),
            inserted: HashMap::new(),
            refs: HashMap::new(),
            pending: Pending::default(),
            round_trips: 0,
        }
    }

    /// What has to go before the next statement, taken: `BEGIN` if not sent yet, then the
    /// pending writes (up to [`ROWS_PER_MESSAGE`] rows; more are sent on their own first).
    async fn before_next(&mut self) -> Result<String, sqlx::Error> {
        let mut sql = self.begin.take().unwrap_or_default();
        sql += &self.pending.next_statements();
        while !self.pending.is_empty() {
            self.send(&sql).await?;
            sql = self.pending.next_statements();
        }
        Ok(sql)
    }

    /// Send `sql` as one simple-protocol message, counted; the rows of its statements.
    async fn send(&mut self, sql: &str) -> Result<Vec<PgRow>, sqlx::Error> {
        self.round_trips += 1;
        sqlx::Executor::fetch_all(&mut *self.conn, sqlx::raw_sql(sql)).await
    }

    /// Send the simple-protocol statements `sql` (numbers and [`text`] only in their text)
    /// in one message with what has to go before them; the rows of all its statements.
    async fn simple(&mut self, sql: &str) -> Result<Vec<PgRow>, sqlx::Error> {
        let message = self.before_next().await? + sql;
        self.send(&message).await
    }

    /// The connection for the next extended-protocol statement, counted, once what has to go
    /// before it went, in a message of its own.
    async fn ready(&mut self) -> Result<&mut PgConnection, sqlx::Error> {
        let before = self.before_next().await?;
        if !before.is_empty() {
            self.send(&before).await?;
        }
        self.round_trips += 1;
        Ok(&mut *self.conn)
    }

    /// Commit (`commit`, with the pending writes in the same message) or roll back the
    /// transaction, if it began; the round trips it cost.
    async fn end(mut self, commit: bool) -> Result<u32, sqlx::Error> {
        if self.begin.is_none() {
            if commit {
                self.simple("COMMIT").await?;
            } else {
                self.send("ROLLBACK").await?;
            }
        }
        Ok(self.round_trips)
    }

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
            .fetch_optional(self.ready().await?)
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
        .fetch_optional(self.ready().await?)
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
                    .fetch_one(self.ready().await?)
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
        rows_in(self.ready().await?, sql, fixed, ids)
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
        .fetch_optional(self.ready().await?)
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
        let row = update.fetch_optional(self.ready().await?).await?;
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
        .execute(self.ready().await?)
        .await?;
        sqlx::query_scalar(
            "SELECT entity_id FROM aliases WHERE space_id = $1 AND namespace = $2 AND alias = $3",
        )
        .bind(space)
        .bind(namespace)
        .bind(alias)
        .fetch_optional(self.ready().await?)
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
        .execute(self.ready().await?)
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
        .fetch_all(self.ready().await?)
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
        .fetch_all(self.ready().await?)
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
                .execute(self.ready().await?)
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
        insert_counters(self.ready().await?, space, &rows, conflict).await
    }

    /// Pending until the next statement.
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
        for (entity, direction, n) in deltas {
            let key = (space, *entity, relation, direction_code(*direction) as i16);
            *self.pending.counters.entry(key).or_default() += n;
        }
        Ok(())
    }

    /// One message of three statements (after `BEGIN` and the space's lock, or the pending
    /// writes, when they have to go first), each seeing what those before it locked and
    /// committed (a statement's snapshot is taken when it starts): the ends, locked in id
    /// order; their counter rows, created and locked in the keys' order; then every fact
    /// the batch asks for (`true` flags), read under those locks. Its values are numbers
    /// only.
    async fn lock_batch(
        &mut self,
        space: SpaceId,
        batch: &Batch<'_>,
    ) -> Result<(HashSet<EntityId>, Facts), sqlx::Error> {
        use sqlx::Row;
        let mut counters = Vec::with_capacity(batch.counters.len());
        for (entity, relation, direction) in &batch.counters {
            let relation = self.name(relation).await?;
            counters.push((*entity, relation, direction_code(*direction)));
        }
        counters.sort_unstable();
        let asked = match &batch.asked {
            Some(asked) => Some((
                asked,
                self.name(asked.relation).await?,
                match asked.reciprocal {
                    Some(mutual) => self.name(mutual).await?,
                    None => 0,
                },
            )),
            None => None,
        };
        let members = numbers(batch.members);
        let mut ends = batch.members.to_vec();
        ends.push(batch.subject);
        let mut sql = format!(
            "SELECT id, kind, key FROM entities WHERE space_id = {space} AND id = ANY({ends})
             ORDER BY id FOR KEY SHARE;",
            ends = numbers(&ends)
        );
        if !counters.is_empty() {
            let keys: Vec<String> = counters
                .iter()
                .map(|(entity, relation, direction)| format!("({entity}, {relation}, {direction})"))
                .collect();
            sql += &format!(
                "INSERT INTO counters (space_id, entity_id, relation_id, direction, n)
                 SELECT space_id, id, k.relation, k.direction, 0
                 FROM entities JOIN (VALUES {keys}) AS k (entity, relation, direction)
                   ON id = k.entity
                 WHERE space_id = {space}
                 ORDER BY id, k.relation, k.direction
                 ON CONFLICT (space_id, entity_id, relation_id, direction)
                 DO UPDATE SET n = counters.n WHERE false;",
                keys = keys.join(", ")
            );
        }
        if let Some((asked, relation, mutual)) = asked {
            let subject = batch.subject;
            let back = asked.reciprocal.is_some();
            let (subject_members, memberships) = (asked.subject_members, asked.memberships);
            let partners = back && asked.partners;
            sql += &format!(
                "SELECT 0::smallint AS fact, member_id AS id, 0::bigint AS n FROM edges
                 WHERE space_id = {space} AND subject_id = {subject} AND relation_id = {relation}
                   AND member_id = ANY({members})
                 UNION ALL
                 SELECT 1::smallint, subject_id, 0::bigint FROM edges
                 WHERE {back} AND space_id = {space} AND member_id = {subject}
                   AND relation_id = {relation} AND subject_id = ANY({members})
                 UNION ALL
                 SELECT 2::smallint, entity_id, n FROM counters
                 WHERE {subject_members} AND space_id = {space} AND entity_id = {subject}
                   AND relation_id = {relation} AND direction = 0
                 UNION ALL
                 SELECT 3::smallint, entity_id, n FROM counters
                 WHERE {memberships} AND space_id = {space} AND relation_id = {relation}
                   AND direction = 1 AND entity_id = ANY({members})
                 UNION ALL
                 SELECT 4::smallint, entity_id, n FROM counters
                 WHERE {partners} AND space_id = {space} AND relation_id = {mutual}
                   AND direction = 0 AND (entity_id = ANY({members}) OR entity_id = {subject})"
            );
        }
        let rows = self.simple(&sql).await?;
        let (mut in_space, mut facts) = (HashSet::new(), Facts::default());
        for row in rows {
            if row.try_column("locked").is_ok() {
                // The space's lock, when the message begins the transaction.
                continue;
            }
            let id: EntityId = row.try_get("id")?;
            if row.try_column("kind").is_ok() {
                let (kind, key) = (row.try_get("kind")?, row.try_get("key")?);
                self.refs.insert(id, EntityRef { kind, key });
                in_space.insert(id);
                continue;
            }
            let n: i64 = row.try_get("n")?;
            match row.try_get::<i16, _>("fact")? {
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
        Ok((in_space, facts))
    }

    /// Pending until the next statement.
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
        self.pending.edges.extend(
            edges
                .iter()
                .map(|(subject, member)| (space, *subject, relation, *member, now)),
        );
        Ok(())
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
        .fetch_all(self.ready().await?)
        .await
    }

    /// Those the transaction locked are known already.
    async fn entity_refs(
        &mut self,
        space: SpaceId,
        ids: &[EntityId],
    ) -> Result<HashMap<EntityId, EntityRef>, sqlx::Error> {
        let unknown: Vec<EntityId> = ids
            .iter()
            .copied()
            .filter(|id| !self.refs.contains_key(id))
            .collect();
        if !unknown.is_empty() {
            let rows: Vec<(EntityId, String, String)> = sqlx::query_as(
                "SELECT id, kind, key FROM entities WHERE space_id = $1 AND id = ANY($2)",
            )
            .bind(space)
            .bind(&unknown)
            .fetch_all(self.ready().await?)
            .await?;
            self.refs.extend(
                rows.into_iter()
                    .map(|(id, kind, key)| (id, EntityRef { kind, key })),
            );
        }
        Ok(ids
            .iter()
            .filter_map(|id| Some((*id, self.refs.get(id)?.clone())))
            .collect())
    }

    /// Pending until the transaction's end (a plan records its changes last), where they go
    /// in the message that commits, after its edge and counter writes: the space's change log
    /// turn, then the change rows. Writers of one space take their seqs in turn and hold the
    /// turn until they commit, so seq order is commit order within a space and a reader past a
    /// seq misses nothing; the turn is the transaction's last lock, held while the server runs
    /// the rest of that message. (Two-key advisory locks do not overlap single-key ones.)
    async fn record_changes(
        &mut self,
        space: SpaceId,
        now: i64,
        context: Option<&Value>,
        changes: &[ChangeRow<'_>],
    ) -> Result<(), sqlx::Error> {
        let plan = rand::random::<i64>();
        let context = optional_text(context.map(Value::to_string).as_deref());
        self.pending.changes_space = space;
        self.pending.changes.extend(changes.iter().map(|change| {
            format!(
                "({space}, {plan}, {now}, {}, {}, {}, {}, {}, {}, {context})",
                text(change.op.as_str()),
                text(&change.subject.kind),
                text(&change.subject.key),
                optional_text(change.relation),
                optional_text(change.member.map(|m| m.kind.as_str())),
                optional_text(change.member.map(|m| m.key.as_str())),
            )
        }));
        Ok(())
    }
}

/// `ids` as an array literal.
fn numbers(ids: &[EntityId]) -> String {
    let ids: Vec<String> = ids.iter().map(EntityId::to_string).collect();
    format!("ARRAY[{}]::bigint[]", ids.join(","))
}

impl LoadTx for PgTx<'_> {
    async fn space_id(&mut self, dialect: &str, key: &str) -> Result<SpaceId, sqlx::Error> {
        let select = "SELECT id FROM spaces WHERE dialect = $1 AND key = $2";
        let found = sqlx::query_scalar(select)
            .bind(dialect)
            .bind(key)
            .fetch_optional(self.ready().await?)
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
        .fetch_optional(self.ready().await?)
        .await?;
        match inserted {
            Some(id) => Ok(id),
            // A concurrent load created it first.
            None => {
                sqlx::query_scalar(select)
                    .bind(dialect)
                    .bind(key)
                    .fetch_one(self.ready().await?)
                    .await
            }
        }
    }

    async fn lock_space(&mut self, space: SpaceId) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2::int4)")
            .bind(SPACE_LOCK)
            .bind(space)
            .execute(self.ready().await?)
            .await?;
        Ok(())
    }

    async fn renew_space(&mut self, space: SpaceId, limits: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE spaces SET limits = $2, generation = generation + 1 WHERE id = $1")
            .bind(space)
            .bind(limits)
            .execute(self.ready().await?)
            .await?;
        Ok(())
    }

    async fn space_rows(&mut self, space: SpaceId) -> Result<SpaceRows, StoreError> {
        reads::space_rows(self.ready().await.map_err(crate::backend)?, space).await
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
                .execute(self.ready().await?)
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
        .fetch_all(self.ready().await?)
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
        .execute(self.ready().await?)
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
        .execute(self.ready().await?)
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
        .execute(self.ready().await?)
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
        .execute(self.ready().await?)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use roster_core::{AddEdges, Caps, Outcome, Reciprocal, SpaceId, StepId, Store, WritePlan};
    use serde_json::json;

    use super::{begin_plan, text, PgTx};
    use crate::exec;
    use crate::test_support::ScratchDatabase;

    /// An edge batch with caps and mutual follows costs two round trips from `BEGIN` to
    /// `COMMIT` (the budget is three), whatever its size, once its names are known.
    #[tokio::test]
    async fn an_edge_batch_is_two_round_trips() {
        let suite = "an_edge_batch_is_two_round_trips";
        let Some((_database, store, space)) = store_with_space(suite, 4).await else {
            return;
        };
        let follow = |subject, members: &[i64]| {
            let mut add = AddEdges::new(
                subject,
                "follow",
                members.iter().map(|&m| m.into()).collect(),
            );
            add.caps = Caps {
                members_per_subject: Some(5000),
                subjects_per_member: Some(5000),
            };
            add.reciprocal = Some(Reciprocal {
                relation: "friend".into(),
                max_per_entity: Some(5000),
            });
            add
        };
        let mut plan = WritePlan::new(space, 1);
        let steps: Vec<StepId> = (0..1001)
            .map(|i| plan.create("acct", format!("a{i}"), json!({}), None))
            .collect();
        let applied = store.apply(plan).await.unwrap();
        let ids: Vec<i64> = steps.iter().map(|s| applied.entity(*s).id).collect();
        let (subject, members) = (ids[0], &ids[1..]);
        // Half the members follow the subject already: the batch makes them friends.
        for &member in members.iter().step_by(2) {
            let mut plan = WritePlan::new(space, 2);
            plan.push(roster_core::Step::AddEdges(follow(member, &[subject])));
            store.apply(plan).await.unwrap();
        }
        for size in [1, 20, 1000] {
            let mut plan = WritePlan::new(space, 3);
            plan.push(roster_core::Step::AddEdges(follow(
                subject,
                &members[..size],
            )));
            let mut conn = store.pool.acquire().await.unwrap();
            let mut tx = PgTx::new(&mut conn, &store.names, begin_plan(space));
            let applied = exec::apply(&mut tx, &plan).await.unwrap().unwrap();
            assert_eq!(tx.end(true).await.unwrap(), 2, "a batch of {size}");
            let outcomes = applied.outcomes(StepId(0));
            assert!(outcomes
                .iter()
                .all(|(_, o)| *o == Outcome::Added || *o == Outcome::AlreadyPresent));
        }
        let counts = store
            .counts(space, &[subject], "friend", roster_core::Direction::Members)
            .await
            .unwrap();
        assert_eq!(counts[&subject], 500);
        store.pool.close().await;
    }

    /// Whatever a string holds, [`text`] makes an expression the server reads back as that
    /// string, never as more SQL.
    #[tokio::test]
    async fn text_is_read_back_as_written() {
        let Some(base) = crate::test_support::postgres_url("text_is_read_back_as_written") else {
            return;
        };
        let database = crate::test_support::scratch_postgres(&base).await;
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(database.url())
            .await
            .unwrap();
        for written in [
            "",
            "plain",
            "it's",
            "'); DROP TABLE names; --",
            "back\\slash \\' and \\x41",
            "$$ dollar $tag$",
            "\u{7ee7}\u{7eed} \u{1f600} caf\u{e9}",
            "line\nbreak\ttab",
        ] {
            let sql = format!("SELECT {} AS t", text(written));
            let rows = sqlx::Executor::fetch_all(&mut conn, sqlx::raw_sql(&sql))
                .await
                .unwrap();
            assert_eq!(rows.len(), 1, "{written:?}");
            let read: String = sqlx::Row::get(&rows[0], "t");
            assert_eq!(read, written);
        }
    }

    /// A store on a scratch database with a pool of `pool` connections, and a space in it.
    async fn store_with_space(
        suite: &str,
        pool: u32,
    ) -> Option<(ScratchDatabase, crate::PgStore, SpaceId)> {
        let base = crate::test_support::postgres_url(suite)?;
        let database = crate::test_support::scratch_postgres(&base).await;
        let store = crate::PgStore::open_postgres(database.url(), pool)
            .await
            .unwrap();
        let space = store
            .ensure_space("test", "s1", &BTreeMap::new())
            .await
            .unwrap()
            .id;
        Some((database, store, space))
    }

    /// When the message that commits fails, nothing of the transaction stays, and the
    /// connection goes back to the pool usable.
    #[tokio::test]
    async fn a_failed_commit_rolls_back() {
        let Some((_database, store, space)) =
            store_with_space("a_failed_commit_rolls_back", 1).await
        else {
            return;
        };
        let names = store.names.clone();
        let failed = store
            .write(move |conn| {
                let names = names.clone();
                Box::pin(async move {
                    let mut tx = PgTx::new(conn, &names, begin_plan(space));
                    let created = exec::Tx::insert_entity(
                        &mut tx,
                        space,
                        1,
                        "acct",
                        "rolled-back",
                        &json!({}),
                        None,
                        false,
                    )
                    .await?
                    .expect("a new key");
                    // The same edge twice: its key fails the message that commits.
                    let edge = (created.id, created.id);
                    exec::Tx::insert_edges(&mut tx, space, 1, "follow", &[edge, edge]).await?;
                    tx.end(true).await.map(|_| ())
                })
            })
            .await;
        let error = failed.unwrap_err().to_string();
        assert!(error.contains("duplicate key"), "{error}");
        // The pool's one connection is not left inside the failed transaction.
        let found = store
            .find_entity(space, "acct", "rolled-back")
            .await
            .unwrap();
        assert!(found.is_none());
        let mut plan = WritePlan::new(space, 2);
        plan.create("acct", "after", json!({}), None);
        store.apply(plan).await.unwrap();
        let found = store.find_entity(space, "acct", "after").await.unwrap();
        assert!(found.is_some());
        store.pool.close().await;
    }

    /// A write dropped in the middle of its transaction (its call cancelled) leaves no
    /// transaction open on a pooled connection: its rows and locks go with it.
    #[tokio::test]
    async fn a_cancelled_write_rolls_back() {
        let Some((_database, store, space)) =
            store_with_space("a_cancelled_write_rolls_back", 1).await
        else {
            return;
        };
        let names = store.names.clone();
        let cancelled = tokio::time::timeout(
            Duration::from_millis(500),
            store.write(move |conn| {
                let names = names.clone();
                Box::pin(async move {
                    let mut tx = PgTx::new(conn, &names, begin_plan(space));
                    exec::Tx::insert_entity(
                        &mut tx,
                        space,
                        1,
                        "acct",
                        "cancelled",
                        &json!({}),
                        None,
                        false,
                    )
                    .await?;
                    std::future::pending::<()>().await;
                    tx.end(true).await.map(|_| ())
                })
            }),
        )
        .await;
        assert!(cancelled.is_err(), "the write never ends by itself");
        // The key is free and nothing is locked: the same create succeeds at once.
        let mut plan = WritePlan::new(space, 2);
        let created = plan.create("acct", "cancelled", json!({}), None);
        let applied = tokio::time::timeout(Duration::from_secs(10), store.apply(plan))
            .await
            .expect("no lock of the cancelled write is held")
            .unwrap();
        assert_eq!(applied.entity(created).key, "cancelled");
        store.pool.close().await;
    }
}
