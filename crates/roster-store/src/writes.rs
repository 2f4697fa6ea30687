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
//! An edge batch costs two statements after `BEGIN` whatever its size (then `COMMIT`): one
//! message of three statements locks its rows and reads what it decides on
//! ([`Tx::lock_batch`]); its edge and counter writes wait in the transaction ([`Pending`]) and go
//! in one statement with the change log, after its turn ([`Tx::record_changes`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;

use serde_json::Value;
use sqlx::postgres::PgArguments;
use sqlx::query_builder::Separated;
use sqlx::{Arguments, PgConnection, Postgres, QueryBuilder};

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

pub(crate) type TxResult<T> = Result<(T, bool), sqlx::Error>;
pub(crate) type TxFuture<'c, T> = Pin<Box<dyn Future<Output = TxResult<T>> + Send + 'c>>;

/// How a plan's transaction begins: with its space's lock, shared (the first of the lock
/// order), in the same round trip.
pub(crate) fn begin_plan(space: SpaceId) -> String {
    format!("BEGIN; SELECT pg_advisory_xact_lock_shared({SPACE_LOCK}, {space}::int4)")
}

/// Apply `plan` inside the transaction [`begin_plan`] opened; a refused plan is not to be
/// committed. The statements it sent after `BEGIN` are counted in
/// `roster_postgres_plan_statements`.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    names: &Names,
    plan: &WritePlan,
) -> TxResult<Result<Applied, StoreError>> {
    let mut tx = PgTx::new(conn, names);
    let applied = exec::apply(&mut tx, plan).await?;
    tx.flush().await?;
    metrics::histogram!("roster_postgres_plan_statements").record(f64::from(tx.statements));
    Ok(match applied {
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
    let mut tx = PgTx::new(conn, names);
    match dumps::load_spaces(&mut tx, dumps).await {
        Ok(()) => tx.flush().await.map(|()| (Ok(()), true)),
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
    /// The kind and key of the entities the transaction locked (they never change).
    refs: HashMap<EntityId, EntityRef>,
    pending: Pending,
    /// Statements sent since `BEGIN` (each a round trip).
    statements: u32,
}

/// Edge and counter writes not sent yet: they go with the change log's statement, or before
/// any other statement (which may read them).
#[derive(Default)]
struct Pending {
    /// In order (so `seq` follows it).
    edges: Vec<EdgeRow>,
    /// What to add to each counter row (space, entity, relation, direction), in the lock order.
    counters: BTreeMap<(SpaceId, EntityId, i32, i16), i64>,
}

/// Rows (of at most 10 values) a statement writes, within PostgreSQL's 65,535 parameters.
const ROWS_PER_STATEMENT: usize = 6_500;

/// A pending edge row: (space, subject, relation, member, created at).
type EdgeRow = (SpaceId, EntityId, i32, EntityId, i64);
/// A pending counter row: (space, entity, relation, direction) and what to add.
type CounterRow = ((SpaceId, EntityId, i32, i16), i64);

/// A statement's text and its arguments, built together: each value bound is named by the
/// placeholder [`Statement::bind`] returns.
struct Statement {
    sql: String,
    arguments: PgArguments,
}

impl Statement {
    fn new(sql: &str) -> Self {
        Statement {
            sql: sql.to_string(),
            arguments: PgArguments::default(),
        }
    }

    async fn execute(self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query_with(&self.sql, self.arguments)
            .execute(conn)
            .await?;
        Ok(())
    }

    fn bind<'q, T>(&mut self, value: T) -> Result<String, sqlx::Error>
    where
        T: sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres> + 'q,
    {
        self.arguments.add(value).map_err(sqlx::Error::Encode)?;
        Ok(format!("${}", self.arguments.len()))
    }

    /// The edge and counter writes as data-modifying CTEs (`WITH` them) of the statement.
    fn pending(
        &mut self,
        edges: &[EdgeRow],
        counters: &[CounterRow],
    ) -> Result<Vec<String>, sqlx::Error> {
        let mut ctes = Vec::new();
        if !edges.is_empty() {
            let mut rows = Vec::with_capacity(edges.len());
            for (space, subject, relation, member, now) in edges {
                rows.push(row([
                    self.bind(*space),
                    self.bind(*subject),
                    self.bind(*relation),
                    self.bind(*member),
                    self.bind(*now),
                ])?);
            }
            ctes.push(format!(
                "added AS (INSERT INTO edges (space_id, subject_id, relation_id, member_id,
                                              created_at) VALUES {})",
                rows.join(", ")
            ));
        }
        if !counters.is_empty() {
            let mut rows = Vec::with_capacity(counters.len());
            for ((space, entity, relation, direction), n) in counters {
                rows.push(row([
                    self.bind(*space),
                    self.bind(*entity),
                    self.bind(*relation),
                    self.bind(*direction),
                    self.bind(*n),
                ])?);
            }
            ctes.push(format!(
                "counted AS (INSERT INTO counters (space_id, entity_id, relation_id, direction, n)
                             VALUES {} ON CONFLICT (space_id, entity_id, relation_id, direction)
                             DO UPDATE SET n = counters.n + excluded.n)",
                rows.join(", ")
            ));
        }
        Ok(ctes)
    }
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

/// A row of VALUES of the placeholders `values` bound.
fn row<const N: usize>(values: [Result<String, sqlx::Error>; N]) -> Result<String, sqlx::Error> {
    let values: Vec<String> = values.into_iter().collect::<Result<_, _>>()?;
    Ok(format!("({})", values.join(", ")))
}

impl<'c> PgTx<'c> {
    fn new(conn: &'c mut PgConnection, names: &'c Names) -> Self {
        PgTx {
            conn,
            names,
            inserted: HashMap::new(),
            refs: HashMap::new(),
            pending: Pending::default(),
            statements: 0,
        }
    }

    /// The connection for the next statement, counted, once the pending writes went before it.
    async fn ready(&mut self) -> Result<&mut PgConnection, sqlx::Error> {
        self.flush().await?;
        self.statements += 1;
        Ok(&mut *self.conn)
    }

    /// Send the pending writes: one statement, or one per [`ROWS_PER_STATEMENT`] rows of
    /// each table.
    async fn flush(&mut self) -> Result<(), sqlx::Error> {
        let pending = std::mem::take(&mut self.pending);
        let counters: Vec<_> = pending.counters.into_iter().collect();
        let parts: Vec<(&[EdgeRow], &[CounterRow])> =
            if pending.edges.len() + counters.len() <= ROWS_PER_STATEMENT {
                vec![(&pending.edges, &counters)]
            } else {
                let edges = pending
                    .edges
                    .chunks(ROWS_PER_STATEMENT)
                    .map(|e| (e, &[][..]));
                edges
                    .chain(counters.chunks(ROWS_PER_STATEMENT).map(|c| (&[][..], c)))
                    .collect()
            };
        for (edges, counters) in parts {
            if edges.is_empty() && counters.is_empty() {
                continue;
            }
            let mut statement = Statement::new("");
            let ctes = statement.pending(edges, counters)?;
            statement.sql = format!("WITH {} SELECT 1", ctes.join(", "));
            self.statements += 1;
            statement.execute(self.conn).await?;
        }
        Ok(())
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

    /// One message of three statements, each seeing what those before it locked and
    /// committed (a statement's snapshot is taken when it starts): the ends, locked in id
    /// order; their counter rows, created and locked in the keys' order; then every fact
    /// the batch asks for (`true` flags), read under those locks. Its values are numbers
    /// only, written into its text: a simple-protocol message, which may hold several
    /// statements, binds none.
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
        let rows = sqlx::Executor::fetch_all(self.ready().await?, sqlx::raw_sql(&sql)).await?;
        let (mut in_space, mut facts) = (HashSet::new(), Facts::default());
        for row in rows {
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

    /// One statement: the pending edge and counter writes, then the space's change log turn,
    /// then the changes. Writers of one space take their seqs in turn and hold the turn until
    /// they commit, so seq order is commit order within a space and a reader past a seq
    /// misses nothing. The rows draw their seqs only once the turn is taken (they are joined
    /// with it); it is the transaction's last lock. (Two-key advisory locks do not overlap
    /// single-key ones.)
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
        let (plan, context) = (rand::random::<i64>(), context.map(Value::to_string));
        let pending = self.pending.edges.len() + self.pending.counters.len();
        if pending + changes.len() > ROWS_PER_STATEMENT {
            self.flush().await?;
        }
        for chunk in changes.chunks(ROWS_PER_STATEMENT) {
            let mut statement = Statement::new("");
            let turn = [statement.bind(CHANGE_LOG_LOCK)?, statement.bind(space)?];
            let mut rows = Vec::with_capacity(chunk.len());
            for change in chunk {
                rows.push(row([
                    statement.bind(space),
                    statement.bind(plan),
                    statement.bind(now),
                    statement.bind(change.op.as_str()),
                    statement.bind(change.subject.kind.as_str()),
                    statement.bind(change.subject.key.as_str()),
                    statement.bind(change.relation),
                    statement.bind(change.member.map(|m| m.kind.as_str())),
                    statement.bind(change.member.map(|m| m.key.as_str())),
                    statement.bind(context.as_deref()),
                ])?);
            }
            let pending = std::mem::take(&mut self.pending);
            let counters: Vec<_> = pending.counters.into_iter().collect();
            let mut ctes = vec![format!(
                "turn AS (SELECT pg_advisory_xact_lock({}, {}::int4))",
                turn[0], turn[1]
            )];
            ctes.extend(statement.pending(&pending.edges, &counters)?);
            statement.sql = format!(
                "WITH {ctes}
                 INSERT INTO changes (space_id, plan, at, op, subject_kind, subject_key,
                                      relation, member_kind, member_key, context)
                 SELECT c.* FROM turn,
                     (VALUES {rows}) AS c (space_id, plan, at, op, subject_kind, subject_key,
                                            relation, member_kind, member_key, context)",
                ctes = ctes.join(", "),
                rows = rows.join(", ")
            );
            self.statements += 1;
            statement.execute(self.conn).await?;
        }
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
        reads::space_rows(self.conn, space).await
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

    use roster_core::{AddEdges, Caps, Outcome, Reciprocal, StepId, Store, WritePlan};
    use serde_json::json;
    use sqlx::Connection;

    use super::{begin_plan, PgTx};
    use crate::exec;

    /// An edge batch with caps and mutual follows is two statements after `BEGIN` (three
    /// round trips with it), whatever its size, once its names are known.
    #[tokio::test]
    async fn an_edge_batch_is_two_statements_after_begin() {
        let suite = "an_edge_batch_is_two_statements_after_begin";
        let Some(base) = crate::test_support::postgres_url(suite) else {
            return;
        };
        let database = crate::test_support::scratch_postgres(&base).await;
        let store = crate::PgStore::open_postgres(database.url(), 4)
            .await
            .unwrap();
        let space = store
            .ensure_space("test", "s1", &BTreeMap::new())
            .await
            .unwrap()
            .id;
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
            let mut transaction = conn.begin_with(begin_plan(space)).await.unwrap();
            let mut tx = PgTx::new(&mut transaction, &store.names);
            let applied = exec::apply(&mut tx, &plan).await.unwrap().unwrap();
            tx.flush().await.unwrap();
            assert_eq!(tx.statements, 2, "a batch of {size}");
            transaction.commit().await.unwrap();
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
}
