//! roster-core's [`Store`] on SQLite through rusqlite: one file, WAL, `synchronous = FULL`.
//! The writer thread applies whole plans and commits them in groups; reader threads run whole
//! reads (see [`threads`]). Statements are prepared once per connection and bind by position.

mod browse;
mod changes;
mod rows;
mod threads;
mod tx;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::Path;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use roster_core::*;

use crate::dumps::{self, LoadError, SpaceRows};
use crate::exec;
use crate::paging::{edges_only, ends, group_members, keyset, paginate, OtherEnd};
use threads::Threads;
use tx::{json_list, SqliteTx};

/// Reader connections kept open between reads.
const READERS: usize = 4;

/// Ordered migrations; a migration never changes once released.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/sqlite/0002_lean_edges.sql"),
    ),
    (
        3,
        include_str!("../../migrations/sqlite/0003_references_by_key.sql"),
    ),
    (5, include_str!("../../migrations/sqlite/0005_changes.sql")),
    (
        6,
        include_str!("../../migrations/sqlite/0006_space_generation.sql"),
    ),
    (
        7,
        include_str!("../../migrations/sqlite/0007_durable_resends.sql"),
    ),
    (
        11,
        include_str!("../../migrations/sqlite/0011_change_horizons.sql"),
    ),
    (
        12,
        include_str!("../../migrations/sqlite/0012_paged_edges.sql"),
    ),
];

pub(crate) struct SqliteStore {
    threads: Threads,
    /// One process owns a SQLite database: its rates and sections are in memory.
    coordinator: Arc<roster_core::coordination::InMemory>,
}

impl SqliteStore {
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        migrate(&threads::connect(path)?)?;
        Ok(Self {
            threads: Threads::start(path, READERS)?,
            coordinator: Arc::default(),
        })
    }
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let run = || -> rusqlite::Result<()> {
        incremental_vacuum(conn)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)",
        )?;
        for (version, sql) in MIGRATIONS {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            let applied: Option<i64> = conn
                .query_row(
                    "SELECT version FROM schema_migrations WHERE version = ?1",
                    [version],
                    |row| row.get(0),
                )
                .optional()?;
            if applied.is_none() {
                conn.execute_batch(sql)?;
                conn.execute(
                    "INSERT INTO schema_migrations (version) VALUES (?1)",
                    [version],
                )?;
                tracing::info!(version, "applied migration");
            }
            conn.execute_batch("COMMIT")?;
        }
        Ok(())
    };
    run().map_err(StoreError::backend)
}

/// Run with `auto_vacuum = INCREMENTAL`, so housekeeping can give the pages that deletes free
/// back to the file system. Switching takes a VACUUM, even on a new file (WAL mode has already
/// written its header): instant on an empty database; an older one is rebuilt once (atomic: a
/// crash leaves the old file; it needs room for a copy).
fn incremental_vacuum(conn: &Connection) -> rusqlite::Result<()> {
    const INCREMENTAL: i64 = 2;
    let mode: i64 = conn.query_row("PRAGMA auto_vacuum", [], |row| row.get(0))?;
    if mode == INCREMENTAL {
        return Ok(());
    }
    let tables: i64 = conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |row| row.get(0))?;
    if tables > 0 {
        tracing::info!("rebuilding the database once for incremental auto-vacuum (VACUUM)");
    }
    conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")
}

/// The value of a future whose every step is ready: SQLite statements never wait, so the
/// engine's async plan executor runs on the writer thread without a runtime.
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(value) => value,
        Poll::Pending => unreachable!("SQLite statements never wait"),
    }
}

fn entity_page(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    limit: u32,
) -> Result<Page<Entity>, StoreError> {
    let mut statement = conn.prepare_cached(sql).map_err(StoreError::backend)?;
    let items = statement
        .query_map(params, rows::entity)
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(StoreError::backend)?;
    Ok(paginate(items, limit, |e| e.id))
}

/// Everything `space` holds, as rows (inside the caller's read transaction).
fn space_rows(conn: &Connection, space: SpaceId) -> Result<SpaceRows, StoreError> {
    let space = conn
        .query_row(
            "SELECT id, dialect, key, limits, generation FROM spaces WHERE id = ?1",
            [space],
            rows::space,
        )
        .map_err(StoreError::backend)?;
    let entities = collect(
        conn,
        concat!(
            "SELECT ",
            entity_columns!(),
            " FROM entities WHERE space_id = ?1 ORDER BY id"
        ),
        [space.id],
        rows::entity,
    )?;
    let aliases = collect(
        conn,
        "SELECT namespace, alias, entity_id FROM aliases WHERE space_id = ?1
         ORDER BY namespace, alias",
        [space.id],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )?;
    let edges = collect(
        conn,
        "SELECT e.subject_id, n.name, e.member_id, e.created_at
         FROM edges e JOIN names n ON n.id = e.relation_id
         WHERE e.space_id = ?1 ORDER BY e.seq",
        [space.id],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
    )?;
    Ok(SpaceRows {
        space,
        entities,
        aliases,
        edges,
    })
}

/// The rows of a read, collected, with the error kept as the cause.
fn collect<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    row: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let read = || -> rusqlite::Result<Vec<T>> {
        let mut statement = conn.prepare_cached(sql)?;
        let rows = statement.query_map(params, row)?;
        rows.collect()
    };
    read().map_err(StoreError::backend)
}

#[async_trait]
impl Store for SqliteStore {
    async fn secret(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let name = name.to_string();
        let fresh = crate::fresh_secret();
        self.threads
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                    params![name, fresh],
                )
                .and_then(|_| {
                    conn.query_row("SELECT value FROM settings WHERE name = ?1", [&name], |row| {
                        row.get::<_, String>(0)
                    })
                })
                .map(|value| (value.into_bytes(), true))
                .map_err(StoreError::backend)
            })
            .await
    }

    async fn ensure_space(
        &self,
        dialect: &str,
        key: &str,
        limits: &BTreeMap<String, i64>,
    ) -> Result<Space, StoreError> {
        let (dialect, key) = (dialect.to_string(), key.to_string());
        let limits = serde_json::to_string(limits).map_err(StoreError::backend)?;
        self.threads
            .write(move |conn| {
                conn.query_row(
                    "INSERT INTO spaces (dialect, key, limits) VALUES (?1, ?2, ?3)
                     ON CONFLICT (dialect, key) DO UPDATE SET limits = excluded.limits
                     RETURNING id, dialect, key, limits, generation",
                    params![dialect, key, limits],
                    rows::space,
                )
                .map(|space| (space, true))
                .map_err(StoreError::backend)
            })
            .await
    }

    async fn spaces(&self, dialect: &str) -> Result<Vec<Space>, StoreError> {
        let dialect = dialect.to_string();
        self.threads
            .read(move |conn| {
                collect(
                    conn,
                    "SELECT id, dialect, key, limits, generation FROM spaces WHERE dialect = ?1 ORDER BY id",
                    [dialect],
                    rows::space,
                )
            })
            .await
    }

    async fn apply(&self, plan: WritePlan) -> Result<Applied, StoreError> {
        plan.check().map_err(StoreError::backend)?;
        let applied = self
            .threads
            .write(
                move |conn| match ready(exec::apply(&mut SqliteTx(conn), &plan)) {
                    Ok(Ok(applied)) => Ok((Ok(applied), true)),
                    Ok(Err((step, refusal))) => {
                        Ok((Err(StoreError::Refused { step, refusal }), false))
                    }
                    Err(e) => Err(StoreError::backend(e)),
                },
            )
            .await
            .and_then(|applied| applied);
        crate::count_write("sqlite", &applied);
        applied
    }

    async fn entities(
        &self,
        space: SpaceId,
        ids: &[EntityId],
    ) -> Result<HashMap<EntityId, Entity>, StoreError> {
        let ids = json_list(ids);
        let found = self
            .threads
            .read(move |conn| {
                collect(
                    conn,
                    concat!(
                        "SELECT ",
                        entity_columns!(),
                        // `+space_id`: by key, never a scan of the space (see `in_space`).
                        " FROM entities WHERE id IN (SELECT value FROM json_each(?2))",
                        " AND +space_id = ?1"
                    ),
                    params![space, ids],
                    rows::entity,
                )
            })
            .await?;
        Ok(found.into_iter().map(|e| (e.id, e)).collect())
    }

    async fn find_entity(
        &self,
        space: SpaceId,
        kind: &str,
        key: &str,
    ) -> Result<Option<Entity>, StoreError> {
        let (kind, key) = (kind.to_string(), key.to_string());
        self.threads
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(concat!(
                        "SELECT ",
                        entity_columns!(),
                        " FROM entities WHERE space_id = ?1 AND kind = ?2 AND key = ?3"
                    ))
                    .map_err(StoreError::backend)?;
                statement
                    .query_row(params![space, kind, key], rows::entity)
                    .optional()
                    .map_err(StoreError::backend)
            })
            .await
    }

    async fn find_entities(
        &self,
        space: SpaceId,
        kind: &str,
        keys: &[String],
    ) -> Result<HashMap<String, Entity>, StoreError> {
        let (kind, keys) = (kind.to_string(), json_list(keys));
        let found = self
            .threads
            .read(move |conn| {
                collect(
                    conn,
                    concat!(
                        "SELECT ",
                        entity_columns!(),
                        " FROM entities WHERE space_id = ?1 AND kind = ?2
                           AND key IN (SELECT value FROM json_each(?3))"
                    ),
                    params![space, kind, keys],
                    rows::entity,
                )
            })
            .await?;
        Ok(found.into_iter().map(|e| (e.key.clone(), e)).collect())
    }

    async fn list_entities(
        &self,
        filter: &EntityFilter,
        page: PageRequest,
    ) -> Result<Page<Entity>, StoreError> {
        let (cmp, order, start) = keyset(page);
        let filter = filter.clone();
        let sql = format!(
            "SELECT {} FROM entities
             WHERE space_id = ?1 AND kind = ?2 AND id {cmp} ?3 AND (?5 IS NULL OR owner_id = ?5)
             ORDER BY id {order} LIMIT ?4",
            entity_columns!()
        );
        self.threads
            .read(move |conn| {
                let after = page.after.unwrap_or(start);
                let probe = i64::from(page.limit) + 1;
                let params = params![filter.space_id, filter.kind, after, probe, filter.owner];
                entity_page(conn, &sql, params, page.limit)
            })
            .await
    }

    async fn list_linked(
        &self,
        space: SpaceId,
        kind: &str,
        member: EntityId,
        relations: &[&str],
        page: PageRequest,
    ) -> Result<Page<Entity>, StoreError> {
        let (cmp, order, start) = keyset(page);
        let (kind, relations) = (kind.to_string(), json_list(relations));
        let sql = format!(
            "SELECT {} FROM entities
             WHERE space_id = ?1 AND kind = ?2 AND id {cmp} ?3
               AND (owner_id = ?5 OR id IN (SELECT subject_id FROM edges
                      WHERE space_id = ?1 AND member_id = ?5 AND relation_id IN
                        (SELECT id FROM names WHERE name IN (SELECT value FROM json_each(?6)))))
             ORDER BY id {order} LIMIT ?4",
            entity_columns!()
        );
        self.threads
            .read(move |conn| {
                let after = page.after.unwrap_or(start);
                let probe = i64::from(page.limit) + 1;
                let params = params![space, kind, after, probe, member, relations];
                entity_page(conn, &sql, params, page.limit)
            })
            .await
    }

    async fn resolve_aliases(
        &self,
        space: SpaceId,
        namespace: &str,
        aliases: &[String],
    ) -> Result<HashMap<String, EntityId>, StoreError> {
        let (namespace, aliases) = (namespace.to_string(), json_list(aliases));
        let found = self
            .threads
            .read(move |conn| {
                collect(
                    conn,
                    "SELECT alias, entity_id FROM aliases WHERE space_id = ?1 AND namespace = ?2
                       AND alias IN (SELECT value FROM json_each(?3))",
                    params![space, namespace, aliases],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
            })
            .await?;
        Ok(found.into_iter().collect())
    }

    async fn aliases_of(
        &self,
        space: SpaceId,
        namespace: &str,
        entities: &[EntityId],
    ) -> Result<HashMap<EntityId, String>, StoreError> {
        let (namespace, entities) = (namespace.to_string(), json_list(entities));
        let found = self
            .threads
            .read(move |conn| {
                collect(
                    conn,
                    // `+space_id`: by the entities' index, not a scan of the namespace.
                    "SELECT entity_id, alias FROM aliases
                     WHERE entity_id IN (SELECT value FROM json_each(?3)) AND namespace = ?2
                       AND +space_id = ?1",
                    params![space, namespace, entities],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
            })
            .await?;
        Ok(found.into_iter().collect())
    }

    async fn edges_among(
        &self,
        space: SpaceId,
        subject: EntityId,
        relation: &str,
        members: &[EntityId],
    ) -> Result<HashMap<EntityId, Edge>, StoreError> {
        self.edges_between(space, subject, relation, Direction::Members, members)
            .await
    }

    async fn memberships_among(
        &self,
        space: SpaceId,
        member: EntityId,
        relation: &str,
        subjects: &[EntityId],
    ) -> Result<HashMap<EntityId, Edge>, StoreError> {
        self.edges_between(space, member, relation, Direction::Memberships, subjects)
            .await
    }

    async fn members_of(
        &self,
        space: SpaceId,
        subjects: &[EntityId],
        relation: &str,
    ) -> Result<HashMap<EntityId, Vec<EntityId>>, StoreError> {
        let (subjects, relation) = (json_list(subjects), relation.to_string());
        let edges: Vec<(EntityId, EntityId)> = self
            .threads
            .read(move |conn| {
                collect(
                    conn,
                    "SELECT subject_id, member_id FROM edges
                     WHERE space_id = ?1 AND subject_id IN (SELECT value FROM json_each(?2))
                       AND relation_id = (SELECT id FROM names WHERE name = ?3)
                     ORDER BY subject_id, seq",
                    params![space, subjects, relation],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
            })
            .await?;
        Ok(group_members(edges))
    }

    async fn edges_within(
        &self,
        space: SpaceId,
        subjects: &[EntityId],
        relation: &str,
        members: &[EntityId],
    ) -> Result<Vec<(EntityId, EntityId)>, StoreError> {
        let (subjects, relation, members) = (
            json_list(subjects),
            relation.to_string(),
            json_list(members),
        );
        self.threads
            .read(move |conn| {
                collect(
                    conn,
                    "SELECT subject_id, member_id FROM edges
                     WHERE space_id = ?1 AND subject_id IN (SELECT value FROM json_each(?2))
                       AND relation_id = (SELECT id FROM names WHERE name = ?3)
                       AND member_id IN (SELECT value FROM json_each(?4))",
                    params![space, subjects, relation, members],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
            })
            .await
    }

    async fn list_edges(
        &self,
        space: SpaceId,
        entity: EntityId,
        relation: &str,
        direction: Direction,
        page: PageRequest,
    ) -> Result<Page<Edge>, StoreError> {
        let list = EdgeList::new(space, entity, relation, direction, page);
        Ok(edges_only(
            self.edge_page(list, OtherEnd::Nothing, None, |_| Ok(()))
                .await?,
        ))
    }

    async fn list_edges_entities(
        &self,
        space: SpaceId,
        entity: EntityId,
        relation: &str,
        direction: Direction,
        page: PageRequest,
    ) -> Result<Page<(Edge, Entity)>, StoreError> {
        let list = EdgeList::new(space, entity, relation, direction, page);
        self.edge_page(list, OtherEnd::Entity, None, |row| rows::entity_at(row, 4))
            .await
    }

    async fn list_edges_aliases(
        &self,
        space: SpaceId,
        entity: EntityId,
        relation: &str,
        direction: Direction,
        namespace: &str,
        page: PageRequest,
    ) -> Result<Page<(Edge, Option<String>)>, StoreError> {
        let list = EdgeList::new(space, entity, relation, direction, page);
        let namespace = Some(namespace.to_string());
        self.edge_page(list, OtherEnd::Alias, namespace, |row| row.get(4))
            .await
    }

    /// (SQLite's counters are keyed by entity alone: a space is never distributed here.)
    async fn counters(
        &self,
        _space: SpaceId,
        entities: &[EntityId],
        counted: &[(&str, Direction)],
    ) -> Result<Vec<HashMap<EntityId, i64>>, StoreError> {
        let pairs: Vec<(&str, i64)> = counted
            .iter()
            .map(|(relation, direction)| (*relation, exec::direction_code(*direction)))
            .collect();
        let (pairs, ids) = (json_list(&pairs), json_list(entities));
        let rows: Vec<(i64, EntityId, i64)> = self
            .threads
            .read(move |conn| {
                collect(
                    conn,
                    "SELECT k.key, c.entity_id, c.n FROM json_each(?1) k
                     JOIN names r ON r.name = k.value ->> 0
                     JOIN counters c ON c.relation_id = r.id AND c.direction = k.value ->> 1
                       AND c.entity_id IN (SELECT value FROM json_each(?2))",
                    params![pairs, ids],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
            })
            .await?;
        let zeros: HashMap<EntityId, i64> = entities.iter().map(|id| (*id, 0)).collect();
        let mut found = vec![zeros; counted.len()];
        for (i, entity, n) in rows {
            found[i as usize].insert(entity, n);
        }
        Ok(found)
    }

    async fn dump_space(&self, space: SpaceId) -> Result<SpaceDump, StoreError> {
        self.threads
            .read_long(move |conn| {
                // One read transaction: the three reads see one state of the database.
                conn.execute_batch("BEGIN").map_err(StoreError::backend)?;
                let rows = space_rows(conn, space);
                conn.execute_batch("COMMIT").map_err(StoreError::backend)?;
                rows?.into_dump()
            })
            .await
    }

    async fn load_spaces(&self, dumps: Vec<SpaceDump>) -> Result<(), StoreError> {
        self.threads
            .write(move |conn| {
                let mut tx = SqliteTx(conn);
                match ready(dumps::load_spaces(&mut tx, &dumps)) {
                    Ok(()) => Ok((Ok(()), true)),
                    Err(LoadError::Invalid(why)) => Ok((Err(StoreError::InvalidDump(why)), false)),
                    Err(LoadError::Read(e)) => Err(e),
                    Err(LoadError::Backend(e)) => Err(StoreError::backend(e)),
                }
            })
            .await?
    }

    fn coordinator(&self) -> Arc<dyn Coordinator> {
        self.coordinator.clone()
    }

    async fn close(&self) {
        self.threads.close().await;
    }

    /// SQLite plans roster's statements by their indexes alone (no `sqlite_stat1` is kept).
    async fn refresh_statistics(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    async fn changes(
        &self,
        space: SpaceId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError> {
        self.threads
            .read(move |conn| changes::changes(conn, space, after, limit))
            .await
    }

    async fn delivery_cursor(&self, space: SpaceId) -> Result<Option<i64>, StoreError> {
        self.threads
            .read(move |conn| changes::delivery_cursor(conn, space))
            .await
    }

    async fn advance_delivery_cursor(
        &self,
        space: SpaceId,
        from: i64,
        to: i64,
    ) -> Result<bool, StoreError> {
        self.threads
            .write_kept(move |conn| changes::advance_delivery_cursor(conn, space, from, to))
            .await
    }

    async fn record_attempt(
        &self,
        attempt: &DeliveryAttempt,
        follows: Option<i64>,
    ) -> Result<i64, StoreError> {
        let attempt = attempt.clone();
        self.threads
            .write_kept(move |conn| changes::record_attempt(conn, &attempt, follows))
            .await
    }

    async fn pending_resends(&self, space: SpaceId) -> Result<Vec<DeliveryAttempt>, StoreError> {
        self.threads
            .read(move |conn| changes::pending_resends(conn, space))
            .await
    }

    async fn claim_resend(
        &self,
        (_, attempt): (SpaceId, i64),
        expected: &Resend,
        claimed: &Resend,
    ) -> Result<bool, StoreError> {
        let (expected, claimed) = (expected.clone(), claimed.clone());
        self.threads
            .write_kept(move |conn| changes::claim_resend(conn, attempt, &expected, &claimed))
            .await
    }

    async fn drop_resends(&self, space: SpaceId) -> Result<(), StoreError> {
        self.threads
            .write_kept(move |conn| changes::drop_resends(conn, space))
            .await
    }

    async fn change_span(&self, space: SpaceId) -> Result<ChangeSpan, StoreError> {
        self.threads
            .read(move |conn| changes::span(conn, space))
            .await
    }

    async fn prune_changes(
        &self,
        space: SpaceId,
        before: i64,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.threads
            .write_kept(move |conn| changes::prune_changes(conn, space, before, limit))
            .await
    }

    async fn prune_attempts(
        &self,
        space: SpaceId,
        before: i64,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.threads
            .write_kept(move |conn| changes::prune_attempts(conn, space, before, limit))
            .await
    }

    async fn reclaim(&self, limit: u32) -> Result<u64, StoreError> {
        self.threads
            .write_kept(move |conn| changes::reclaim(conn, limit))
            .await
    }

    async fn history_stats(&self) -> Result<HistoryStats, StoreError> {
        self.threads.read(changes::stats).await
    }

    async fn attempts(
        &self,
        space: Option<SpaceId>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        self.threads
            .read(move |conn| changes::attempts(conn, space, after, limit))
            .await
    }

    async fn space_counts(&self, space: SpaceId) -> Result<SpaceCounts, StoreError> {
        self.threads
            .read_long(move |conn| browse::counts(conn, space))
            .await
    }

    async fn search_entities(
        &self,
        search: &EntitySearch,
        page: PageRequest,
    ) -> Result<Page<Entity>, StoreError> {
        let search = search.clone();
        self.threads
            .read_long(move |conn| browse::search(conn, &search, page))
            .await
    }

    async fn entity_aliases(
        &self,
        space: SpaceId,
        entity: EntityId,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.threads
            .read(move |conn| browse::aliases(conn, space, entity))
            .await
    }

    /// (SQLite's counters are keyed by entity alone: a space is never distributed here.)
    async fn relations_of(
        &self,
        _space: SpaceId,
        entity: EntityId,
    ) -> Result<Vec<RelationCount>, StoreError> {
        self.threads
            .read(move |conn| browse::relations(conn, entity))
            .await
    }

    async fn edges_touching(
        &self,
        space: SpaceId,
        entities: &[EntityId],
        limit: u32,
    ) -> Result<Vec<NamedEdge>, StoreError> {
        let entities = entities.to_vec();
        self.threads
            .read(move |conn| browse::edges_touching(conn, space, &entities, limit))
            .await
    }
}

/// One page of the edges of `entity` under `relation`, from the side `direction` looks from.
struct EdgeList {
    space: SpaceId,
    entity: EntityId,
    relation: String,
    side: &'static str,
    other: &'static str,
    page: PageRequest,
}

impl EdgeList {
    fn new(
        space: SpaceId,
        entity: EntityId,
        relation: &str,
        direction: Direction,
        page: PageRequest,
    ) -> Self {
        let (side, other) = ends(direction);
        Self {
            space,
            entity,
            relation: relation.to_string(),
            side,
            other,
            page,
        }
    }
}

/// The statement of a page of edges from `side` (`?1`, under relation `?2`, past seq `?3`,
/// `?4` rows, in space `?5`), with what it reads of each `other` end (an alias's namespace is
/// `?6`). The edges come from one range scan of their key (from the subject) or of
/// `edges_by_member`, each other end by its id.
fn page_statement(side: &str, other: &str, other_end: OtherEnd, page: PageRequest) -> String {
    let (cmp, order, _) = keyset(page);
    let (with, join) = match other_end {
        OtherEnd::Nothing => (String::new(), String::new()),
        OtherEnd::Entity => (
            ", o.id, o.space_id, o.kind, o.key, o.attrs, o.owner_id, o.created_at, o.updated_at"
                .to_string(),
            // CROSS JOIN: the edges' range outside, each other end by its id inside.
            format!(" CROSS JOIN entities o ON o.id = e.{other}"),
        ),
        // `+space_id`: by the entities' index, not a scan of the namespace.
        OtherEnd::Alias => (
            format!(
                ", (SELECT a.alias FROM aliases a WHERE a.entity_id = e.{other}
                     AND a.namespace = ?6 AND +a.space_id = ?5 LIMIT 1)"
            ),
            String::new(),
        ),
    };
    format!(
        "SELECT e.subject_id, e.member_id, e.created_at, e.seq{with} FROM edges e{join}
         WHERE e.space_id = ?5 AND e.{side} = ?1
           AND e.relation_id = (SELECT id FROM names WHERE name = ?2) AND e.seq {cmp} ?3
         ORDER BY e.seq {order} LIMIT ?4"
    )
}

impl SqliteStore {
    /// The page `list` in one statement, with `other_end` of each edge decoded by `decode`;
    /// `extra` is `?6`.
    async fn edge_page<T>(
        &self,
        list: EdgeList,
        other_end: OtherEnd,
        extra: Option<String>,
        decode: impl Fn(&rusqlite::Row) -> rusqlite::Result<T>,
    ) -> Result<Page<(Edge, T)>, StoreError> {
        let (_, _, start) = keyset(list.page);
        let sql = page_statement(list.side, list.other, other_end, list.page);
        let after = list.page.after.unwrap_or(start);
        let probe = i64::from(list.page.limit) + 1;
        let (entity, relation, space) = (list.entity, list.relation, list.space);
        let row = |row: &rusqlite::Row| Ok((rows::edge(row)?, decode(row)?));
        let items = self
            .threads
            .read(|conn| match extra {
                None => collect(
                    conn,
                    &sql,
                    params![entity, relation, after, probe, space],
                    row,
                ),
                Some(extra) => collect(
                    conn,
                    &sql,
                    params![entity, relation, after, probe, space, extra],
                    row,
                ),
            })
            .await?;
        Ok(paginate(items, list.page.limit, |(edge, _)| edge.seq))
    }

    /// The edges between `entity` and each of `others`, with `entity` on the side `direction`
    /// looks from; keyed by the other end.
    async fn edges_between(
        &self,
        space: SpaceId,
        entity: EntityId,
        relation: &str,
        direction: Direction,
        others: &[EntityId],
    ) -> Result<HashMap<EntityId, Edge>, StoreError> {
        let (side, other_side) = ends(direction);
        let sql = format!(
            "SELECT subject_id, member_id, created_at, seq FROM edges
             WHERE space_id = ?4 AND {side} = ?1
               AND relation_id = (SELECT id FROM names WHERE name = ?2)
               AND {other_side} IN (SELECT value FROM json_each(?3))"
        );
        let (relation, others) = (relation.to_string(), json_list(others));
        let read = move |conn: &Connection| {
            collect(
                conn,
                &sql,
                params![entity, relation, others, space],
                rows::edge,
            )
        };
        let edges = self.threads.read(read).await?;
        Ok(crate::by_other_end(edges, direction))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `EXPLAIN QUERY PLAN`'s searches and scans of `sql`, its parameters unbound.
    fn plan(conn: &Connection, sql: &str) -> Vec<String> {
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let unbound = vec![rusqlite::types::Null; statement.parameter_count()];
        let steps = statement
            .query_map(rusqlite::params_from_iter(unbound), |row| row.get(3))
            .unwrap();
        let steps: Vec<String> = steps.collect::<Result<_, _>>().unwrap();
        steps
            .into_iter()
            .filter(|step| !step.contains("SUBQUERY"))
            .collect()
    }

    /// Deleting an entity's edges reads only its edges, from each end.
    #[test]
    fn an_entitys_edges_are_deleted_by_index() {
        let dir = tempfile::tempdir().unwrap();
        let conn = threads::connect(&dir.path().join("roster.db")).unwrap();
        migrate(&conn).unwrap();
        let plans: Vec<Vec<String>> = tx::DELETE_EDGES_OF
            .iter()
            .map(|sql| plan(&conn, sql))
            .collect();
        let names = "SEARCH names USING INTEGER PRIMARY KEY (rowid=?)";
        assert_eq!(
            plans,
            [
                [
                    "SEARCH edges USING COVERING INDEX edges_by_ends (space_id=? AND subject_id=?)",
                    names,
                ],
                [
                    "SEARCH edges USING COVERING INDEX edges_by_member (space_id=? AND member_id=?)",
                    names,
                ],
            ]
        );
    }

    /// A page of edges is one range scan of an index that holds every column it reads of the
    /// edges, from either end; the other end is one seek by its id (an alias from the
    /// entities' alias index alone).
    #[test]
    fn a_page_of_edges_is_one_range_scan() {
        let dir = tempfile::tempdir().unwrap();
        let conn = threads::connect(&dir.path().join("roster.db")).unwrap();
        migrate(&conn).unwrap();
        for newest_first in [false, true] {
            let page = PageRequest {
                after: None,
                limit: 10,
                newest_first,
            };
            let cmp = if newest_first { "<" } else { ">" };
            for (direction, edges) in [
                (
                    Direction::Members,
                    "PRIMARY KEY (space_id=? AND subject_id=? AND relation_id=? AND seq",
                ),
                (
                    Direction::Memberships,
                    "COVERING INDEX edges_by_member (space_id=? AND member_id=? AND relation_id=? \
                     AND seq",
                ),
            ] {
                let edges = format!("SEARCH e USING {edges}{cmp}?)");
                let names = "SEARCH names USING COVERING INDEX sqlite_autoindex_names_1 (name=?)";
                let (side, other) = ends(direction);
                for (other_end, want) in [
                    (OtherEnd::Nothing, vec![edges.as_str(), names]),
                    (
                        OtherEnd::Entity,
                        vec![
                            edges.as_str(),
                            names,
                            "SEARCH o USING INTEGER PRIMARY KEY (rowid=?)",
                        ],
                    ),
                    (
                        OtherEnd::Alias,
                        vec![
                            edges.as_str(),
                            names,
                            "SEARCH a USING COVERING INDEX aliases_by_entity \
                             (entity_id=? AND namespace=?)",
                        ],
                    ),
                ] {
                    let sql = page_statement(side, other, other_end, page);
                    assert_eq!(plan(&conn, &sql), want, "{direction:?} {other_end:?}");
                }
            }
        }
    }

    /// Migration 12 re-keys the edges (and re-indexes the aliases) keeping every row.
    #[test]
    fn paged_edges_migration_keeps_every_edge() {
        let dir = tempfile::tempdir().unwrap();
        let conn = threads::connect(&dir.path().join("roster.db")).unwrap();
        conn.execute_batch("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY)")
            .unwrap();
        for (version, sql) in MIGRATIONS.iter().filter(|(version, _)| *version < 12) {
            conn.execute_batch(sql).unwrap();
            conn.execute("INSERT INTO schema_migrations VALUES (?1)", [version])
                .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO spaces (id, dialect, key) VALUES (1, 'test', 's');
             INSERT INTO entities (id, space_id, kind, key, attrs, created_at, updated_at)
                 VALUES (1, 1, 'k', 'a', '{}', 0, 0), (2, 1, 'k', 'b', '{}', 0, 0);
             INSERT INTO aliases VALUES (1, 'n', 'x', 1), (1, 'n', 'y', 2);
             INSERT INTO edges VALUES (1, 1, 3, 2, 7, 100), (1, 2, 3, 1, 5, 101),
                                      (1, 1, 4, 2, 6, 102);",
        )
        .unwrap();
        // Every edge and alias column, as text.
        let rows = |conn: &Connection| -> Vec<String> {
            let edges = "SELECT format('%d %d %d %d %d %d', space_id, subject_id, relation_id,
                                member_id, seq, created_at) FROM edges ORDER BY seq";
            let aliases = "SELECT format('%d %s %s %d', space_id, namespace, alias, entity_id)
                           FROM aliases ORDER BY alias";
            [edges, aliases]
                .into_iter()
                .flat_map(|sql| collect(conn, sql, [], |row| row.get(0)).unwrap())
                .collect()
        };
        let before = rows(&conn);
        assert_eq!(before.len(), 5);
        migrate(&conn).unwrap();
        let after = rows(&conn);
        assert_eq!(after, before);
        let duplicate = conn.execute(
            "INSERT INTO edges (space_id, subject_id, relation_id, member_id, seq, created_at)
             VALUES (1, 1, 3, 2, 8, 103)",
            [],
        );
        assert!(duplicate.is_err(), "an edge stays unique by its two ends");
    }
}
