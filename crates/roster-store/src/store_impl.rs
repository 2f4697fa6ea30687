use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::Row;

use roster_core::*;

use crate::lookup::{pair, rows_in, storable, storable_keys, Param};
use crate::paging::{edges_only, ends, group_members, keyset, paginate, OtherEnd};
use crate::reads::{self, ENTITY_COLUMNS};
use crate::{backend, browse, changes, exec, writes, PgStore};

/// The tables whose statistics the planner leans on for a space's reads and writes.
const STATISTICS_TABLES: [&str; 6] = [
    "aliases",
    "changes",
    "counters",
    "delivery_attempts",
    "edges",
    "entities",
];

#[async_trait]
impl Store for PgStore {
    async fn secret(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let fresh = crate::fresh_secret();
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fresh)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        let row = sqlx::query("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        let value: String = row.try_get(0).map_err(backend)?;
        Ok(value.into_bytes())
    }

    async fn ensure_space(
        &self,
        dialect: &str,
        key: &str,
        limits: &BTreeMap<String, i64>,
    ) -> Result<Space, StoreError> {
        let limits = serde_json::to_string(limits).map_err(backend)?;
        let row = sqlx::query(
            "INSERT INTO spaces (dialect, key, limits) VALUES ($1, $2, $3)
             ON CONFLICT (dialect, key) DO UPDATE SET limits = excluded.limits
             RETURNING id, dialect, key, limits, generation",
        )
        .bind(dialect)
        .bind(key)
        .bind(limits)
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        reads::space(&row)
    }

    async fn spaces(&self, dialect: &str) -> Result<Vec<Space>, StoreError> {
        sqlx::query("SELECT id, dialect, key, limits, generation FROM spaces WHERE dialect = $1 ORDER BY id")
            .bind(dialect)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(reads::space)
            .collect()
    }

    async fn apply(&self, plan: WritePlan) -> Result<Applied, StoreError> {
        plan.check().map_err(backend)?;
        let names = self.names.clone();
        let applied = self
            .write(move |conn| {
                let (plan, names) = (plan.clone(), names.clone());
                Box::pin(async move { writes::apply(conn, &names, &plan).await })
            })
            .await
            .and_then(|applied| applied);
        crate::count_write("postgres", &applied);
        applied
    }

    async fn dump_space(&self, space: SpaceId) -> Result<SpaceDump, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // One snapshot for the three reads.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let rows = reads::space_rows(&mut tx, space).await?;
        tx.commit().await.map_err(backend)?;
        rows.into_dump()
    }

    async fn load_spaces(&self, dumps: Vec<SpaceDump>) -> Result<(), StoreError> {
        let names = self.names.clone();
        let dumps = std::sync::Arc::new(dumps);
        self.write(move |conn| {
            let (dumps, names) = (dumps.clone(), names.clone());
            Box::pin(async move { writes::load(conn, &names, &dumps).await })
        })
        .await?
    }

    async fn entities(
        &self,
        space: SpaceId,
        ids: &[EntityId],
    ) -> Result<HashMap<EntityId, Entity>, StoreError> {
        let sql = format!(
            "SELECT {ENTITY_COLUMNS} FROM entities WHERE space_id = $1 AND id = ANY({{list}})"
        );
        let rows = self.read_in(&sql, &[Param::Int(space)], ids).await?;
        rows.iter()
            .map(|row| reads::entity(row).map(|e| (e.id, e)))
            .collect()
    }

    async fn find_entity(
        &self,
        space: SpaceId,
        kind: &str,
        key: &str,
    ) -> Result<Option<Entity>, StoreError> {
        if !storable(kind) || !storable(key) {
            return Ok(None);
        }
        sqlx::query(&format!(
            "SELECT {ENTITY_COLUMNS} FROM entities WHERE space_id = $1 AND kind = $2 AND key = $3"
        ))
        .bind(space)
        .bind(kind)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .as_ref()
        .map(reads::entity)
        .transpose()
    }

    async fn find_entities(
        &self,
        space: SpaceId,
        kind: &str,
        keys: &[String],
    ) -> Result<HashMap<String, Entity>, StoreError> {
        let sql = format!(
            "SELECT {ENTITY_COLUMNS} FROM entities WHERE space_id = $1 AND kind = $2 AND key = ANY({{list}})"
        );
        if !storable(kind) {
            return Ok(HashMap::new());
        }
        let fixed = [Param::Int(space), Param::Text(kind)];
        let rows = self.read_in(&sql, &fixed, &storable_keys(keys)).await?;
        rows.iter()
            .map(|row| reads::entity(row).map(|e| (e.key.clone(), e)))
            .collect()
    }

    async fn list_entities(
        &self,
        filter: &EntityFilter,
        page: PageRequest,
    ) -> Result<Page<Entity>, StoreError> {
        let (cmp, order, start) = keyset(page);
        let owner_clause = if filter.owner.is_some() {
            "AND owner_id = $5"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {ENTITY_COLUMNS} FROM entities
             WHERE space_id = $1 AND kind = $2 AND id {cmp} $3 {owner_clause}
             ORDER BY id {order} LIMIT $4"
        );
        let mut query = sqlx::query(&sql)
            .bind(filter.space_id)
            .bind(&filter.kind)
            .bind(page.after.unwrap_or(start))
            .bind(i64::from(page.limit) + 1);
        if let Some(owner) = filter.owner {
            query = query.bind(owner);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(backend)?;
        entity_page(&rows, page.limit)
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
        let sql = format!(
            "SELECT {ENTITY_COLUMNS} FROM entities
             WHERE space_id = $1 AND kind = $2 AND id {cmp} $3
               AND (owner_id = $5 OR id IN (SELECT subject_id FROM edges
                      WHERE space_id = $1 AND member_id = $5 AND relation_id IN
                        (SELECT id FROM names WHERE name = ANY($6))))
             ORDER BY id {order} LIMIT $4"
        );
        let query = sqlx::query(&sql)
            .bind(space)
            .bind(kind)
            .bind(page.after.unwrap_or(start))
            .bind(i64::from(page.limit) + 1)
            .bind(member)
            .bind(relations.to_vec());
        let rows = query.fetch_all(&self.pool).await.map_err(backend)?;
        entity_page(&rows, page.limit)
    }

    async fn resolve_aliases(
        &self,
        space: SpaceId,
        namespace: &str,
        aliases: &[String],
    ) -> Result<HashMap<String, EntityId>, StoreError> {
        let sql = "SELECT alias, entity_id FROM aliases
                   WHERE space_id = $1 AND namespace = $2 AND alias = ANY({list})";
        if !storable(namespace) {
            return Ok(HashMap::new());
        }
        let fixed = [Param::Int(space), Param::Text(namespace)];
        let rows = self.read_in(sql, &fixed, &storable_keys(aliases)).await?;
        rows.iter().map(|row| pair(row).map_err(backend)).collect()
    }

    async fn aliases_of(
        &self,
        space: SpaceId,
        namespace: &str,
        entities: &[EntityId],
    ) -> Result<HashMap<EntityId, String>, StoreError> {
        let sql = "SELECT entity_id, alias FROM aliases
                   WHERE space_id = $1 AND namespace = $2 AND entity_id = ANY({list})";
        let rows = self
            .read_in(sql, &[Param::Int(space), Param::Text(namespace)], entities)
            .await?;
        rows.iter().map(|row| pair(row).map_err(backend)).collect()
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
        let sql = "SELECT subject_id, member_id FROM edges
                   WHERE space_id = $1 AND relation_id = (SELECT id FROM names WHERE name = $2)
                     AND subject_id = ANY({list})
                   ORDER BY subject_id, seq";
        let rows = self
            .read_in(sql, &[Param::Int(space), Param::Text(relation)], subjects)
            .await?;
        let edges = rows
            .iter()
            .map(|row| pair(row).map_err(backend))
            .collect::<Result<Vec<(EntityId, EntityId)>, _>>()?;
        Ok(group_members(edges))
    }

    async fn edges_within(
        &self,
        space: SpaceId,
        subjects: &[EntityId],
        relation: &str,
        members: &[EntityId],
    ) -> Result<Vec<(EntityId, EntityId)>, StoreError> {
        sqlx::query_as(
            "SELECT subject_id, member_id FROM edges
             WHERE space_id = $1 AND subject_id = ANY($2)
               AND relation_id = (SELECT id FROM names WHERE name = $3)
               AND member_id = ANY($4)",
        )
        .bind(space)
        .bind(subjects)
        .bind(relation)
        .bind(members)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)
    }

    async fn list_edges(
        &self,
        space: SpaceId,
        entity: EntityId,
        relation: &str,
        direction: Direction,
        page: PageRequest,
    ) -> Result<Page<Edge>, StoreError> {
        let list = (space, entity, relation, direction, page);
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
        let list = (space, entity, relation, direction, page);
        self.edge_page(list, OtherEnd::Entity, None, reads::entity)
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
        let list = (space, entity, relation, direction, page);
        self.edge_page(list, OtherEnd::Alias, Some(namespace), |row| {
            row.try_get(4).map_err(backend)
        })
        .await
    }

    fn coordinator(&self) -> std::sync::Arc<dyn Coordinator> {
        self.coordinator.clone()
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn refresh_statistics(&self) -> Result<Vec<String>, StoreError> {
        // Autovacuum's rule (50 rows + 10% modified since the last ANALYZE), a little
        // coarser, checked every housekeeping pass instead of once a minute: a freshly seeded
        // or loaded table is analyzed before the planner guesses its way through it.
        let stale: Vec<String> = sqlx::query_scalar(
            "SELECT relname::text FROM pg_stat_user_tables
             WHERE schemaname = current_schema() AND relname = ANY($1)
               AND n_mod_since_analyze >= 500 + 0.2 * n_live_tup
             ORDER BY relname",
        )
        .bind(&STATISTICS_TABLES[..])
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        for table in &stale {
            sqlx::query(&format!("ANALYZE {table}"))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
        }
        Ok(stale)
    }

    async fn changes(
        &self,
        space: SpaceId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError> {
        changes::changes(&self.pool, space, after, limit).await
    }

    async fn delivery_cursor(&self, space: SpaceId) -> Result<Option<i64>, StoreError> {
        changes::delivery_cursor(&self.pool, space).await
    }

    async fn advance_delivery_cursor(
        &self,
        space: SpaceId,
        from: i64,
        to: i64,
    ) -> Result<bool, StoreError> {
        changes::advance_delivery_cursor(&self.pool, space, from, to).await
    }

    async fn record_attempt(
        &self,
        attempt: &DeliveryAttempt,
        follows: Option<i64>,
    ) -> Result<i64, StoreError> {
        changes::record_attempt(&self.pool, attempt, follows).await
    }

    async fn pending_resends(&self, space: SpaceId) -> Result<Vec<DeliveryAttempt>, StoreError> {
        changes::pending_resends(&self.pool, space).await
    }

    async fn claim_resend(
        &self,
        attempt: (SpaceId, i64),
        expected: &Resend,
        claimed: &Resend,
    ) -> Result<bool, StoreError> {
        changes::claim_resend(&self.pool, attempt, expected, claimed).await
    }

    async fn drop_resends(&self, space: SpaceId) -> Result<(), StoreError> {
        changes::drop_resends(&self.pool, space).await
    }

    async fn change_span(&self, space: SpaceId) -> Result<ChangeSpan, StoreError> {
        changes::span(&self.pool, space).await
    }

    async fn prune_changes(
        &self,
        space: SpaceId,
        before: i64,
        limit: u32,
    ) -> Result<u64, StoreError> {
        changes::prune_changes(&self.pool, space, before, limit).await
    }

    async fn prune_attempts(
        &self,
        space: SpaceId,
        before: i64,
        limit: u32,
    ) -> Result<u64, StoreError> {
        changes::prune_attempts(&self.pool, space, before, limit).await
    }

    /// Autovacuum returns what deletes free (docs/architecture.md names its settings).
    async fn reclaim(&self, _limit: u32) -> Result<u64, StoreError> {
        Ok(0)
    }

    async fn history_stats(&self) -> Result<HistoryStats, StoreError> {
        changes::stats(&self.pool).await
    }

    async fn attempts(
        &self,
        space: Option<SpaceId>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        changes::attempts(&self.pool, space, after, limit).await
    }

    async fn counters(
        &self,
        space: SpaceId,
        entities: &[EntityId],
        counted: &[(&str, Direction)],
    ) -> Result<Vec<HashMap<EntityId, i64>>, StoreError> {
        let (relations, directions): (Vec<&str>, Vec<i16>) = counted
            .iter()
            .map(|(relation, direction)| (*relation, exec::direction_code(*direction) as i16))
            .unzip();
        let rows: Vec<(i64, EntityId, i64)> = sqlx::query_as(
            "SELECT k.i, c.entity_id, c.n
             FROM UNNEST($2::text[], $3::smallint[]) WITH ORDINALITY AS k (name, direction, i)
             JOIN names r ON r.name = k.name
             JOIN counters c ON c.space_id = $1 AND c.relation_id = r.id
               AND c.direction = k.direction AND c.entity_id = ANY($4)",
        )
        .bind(space)
        .bind(relations)
        .bind(directions)
        .bind(entities)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let zeros: HashMap<EntityId, i64> = entities.iter().map(|id| (*id, 0)).collect();
        let mut found = vec![zeros; counted.len()];
        for (i, entity, n) in rows {
            found[i as usize - 1].insert(entity, n);
        }
        Ok(found)
    }

    async fn space_counts(&self, space: SpaceId) -> Result<SpaceCounts, StoreError> {
        browse::counts(&self.pool, space).await
    }

    async fn search_entities(
        &self,
        search: &EntitySearch,
        page: PageRequest,
    ) -> Result<Page<Entity>, StoreError> {
        browse::search(&self.pool, search, page).await
    }

    async fn entity_aliases(
        &self,
        space: SpaceId,
        entity: EntityId,
    ) -> Result<Vec<(String, String)>, StoreError> {
        browse::aliases(&self.pool, space, entity).await
    }

    async fn relations_of(
        &self,
        space: SpaceId,
        entity: EntityId,
    ) -> Result<Vec<RelationCount>, StoreError> {
        browse::relations(&self.pool, space, entity).await
    }

    async fn edges_touching(
        &self,
        space: SpaceId,
        entities: &[EntityId],
        limit: u32,
    ) -> Result<Vec<NamedEdge>, StoreError> {
        browse::edges_touching(&self.pool, space, entities, limit).await
    }
}

/// Entity rows fetched with a probe row past `limit`, as a page keyed by entity id.
fn entity_page(rows: &[PgRow], limit: u32) -> Result<Page<Entity>, StoreError> {
    let items = rows
        .iter()
        .map(reads::entity)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(paginate(items, limit, |e| e.id))
}

/// The statement of a page of edges from the side `direction` looks from (`$1`, under
/// relation `$2`, past seq `$3`, `$4` rows, in space `$5`), with what it reads of each edge's
/// other end (an alias's namespace is `$6`). The edges come from an index-only range scan of
/// `edges_by_subject` or `edges_by_member`, each other end by its key.
fn page_statement(direction: Direction, other_end: OtherEnd, page: PageRequest) -> String {
    let (cmp, order, _) = keyset(page);
    let (side, other) = ends(direction);
    let (with, join) = match other_end {
        OtherEnd::Nothing => (String::new(), String::new()),
        OtherEnd::Entity => (
            ", o.id, o.space_id, o.kind, o.key, o.attrs, o.owner_id, o.created_at, o.updated_at"
                .to_string(),
            format!(" JOIN entities o ON o.space_id = e.space_id AND o.id = e.{other}"),
        ),
        OtherEnd::Alias => (
            format!(
                ", (SELECT a.alias FROM aliases a WHERE a.space_id = $5 AND a.entity_id = e.{other}
                     AND a.namespace = $6 LIMIT 1)"
            ),
            String::new(),
        ),
    };
    format!(
        "SELECT e.subject_id, e.member_id, e.created_at AS edge_created_at, e.seq{with}
         FROM edges e{join}
         WHERE e.space_id = $5 AND e.{side} = $1
           AND e.relation_id = (SELECT id FROM names WHERE name = $2) AND e.seq {cmp} $3
         ORDER BY e.seq {order} LIMIT $4"
    )
}

impl PgStore {
    /// One page of the edges of `entity` under `relation` (from the side `direction` looks
    /// from) in one statement, with `other_end` of each decoded by `decode`; `extra` is `$6`.
    async fn edge_page<T>(
        &self,
        (space, entity, relation, direction, page): (
            SpaceId,
            EntityId,
            &str,
            Direction,
            PageRequest,
        ),
        other_end: OtherEnd,
        extra: Option<&str>,
        decode: impl Fn(&PgRow) -> Result<T, StoreError>,
    ) -> Result<Page<(Edge, T)>, StoreError> {
        let (_, _, start) = keyset(page);
        let sql = page_statement(direction, other_end, page);
        let mut query = sqlx::query(&sql)
            .bind(entity)
            .bind(relation)
            .bind(page.after.unwrap_or(start))
            .bind(i64::from(page.limit) + 1)
            .bind(space);
        if let Some(extra) = extra {
            query = query.bind(extra);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(backend)?;
        let items = rows
            .iter()
            .map(|row| Ok((reads::edge(row)?, decode(row)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(paginate(items, page.limit, |(edge, _)| edge.seq))
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
             WHERE space_id = $1 AND {side} = $2
               AND relation_id = (SELECT id FROM names WHERE name = $3)
               AND {other_side} = ANY({{list}})"
        );
        let fixed = [Param::Int(space), Param::Int(entity), Param::Text(relation)];
        let rows = self.read_in(&sql, &fixed, others).await?;
        let edges = rows
            .iter()
            .map(reads::edge)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(crate::by_other_end(edges, direction))
    }

    /// [`rows_in`] on a reader connection.
    async fn read_in<V>(
        &self,
        sql: &str,
        fixed: &[Param<'_>],
        list: &[V],
    ) -> Result<Vec<PgRow>, StoreError>
    where
        V: for<'q> sqlx::Encode<'q, sqlx::Postgres>
            + sqlx::Type<sqlx::Postgres>
            + sqlx::postgres::PgHasArrayType
            + Clone
            + Send
            + 'static,
    {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        rows_in(&mut conn, sql, fixed, list).await.map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of edges is one index-only range scan from either end; the other end is one
    /// seek by its key (an alias from the entities' alias index alone). The planner is kept
    /// from scans and bitmaps, which it takes on a table this small, so the plan shows what
    /// the indexes allow.
    #[tokio::test]
    async fn a_page_of_edges_is_one_index_only_scan() {
        let suite = "a_page_of_edges_is_one_index_only_scan";
        let Some(base) = crate::test_support::postgres_url(suite) else {
            return;
        };
        let database = crate::test_support::scratch_postgres(&base).await;
        let store = PgStore::open_postgres(database.url(), 4).await.unwrap();
        let mut conn = store.pool.acquire().await.unwrap();
        sqlx::raw_sql("SET enable_seqscan = off; SET enable_bitmapscan = off")
            .execute(&mut *conn)
            .await
            .unwrap();
        for newest_first in [false, true] {
            let page = PageRequest {
                after: None,
                limit: 10,
                newest_first,
            };
            for (direction, index) in [
                (Direction::Members, "edges_by_subject"),
                (Direction::Memberships, "edges_by_member"),
            ] {
                for (other_end, other) in [
                    (OtherEnd::Nothing, None),
                    (
                        OtherEnd::Entity,
                        Some("Index Scan using entities_pkey on entities o"),
                    ),
                    (
                        OtherEnd::Alias,
                        Some("Index Only Scan using aliases_by_entity on aliases a"),
                    ),
                ] {
                    let explain = format!(
                        "EXPLAIN (COSTS OFF) {}",
                        page_statement(direction, other_end, page)
                    );
                    let mut query = sqlx::query_scalar(&explain)
                        .bind(1_i64)
                        .bind("r")
                        .bind(0_i64)
                        .bind(11_i64)
                        .bind(1_i64);
                    if let OtherEnd::Alias = other_end {
                        query = query.bind("open_id/app1");
                    }
                    let plan: Vec<String> = query.fetch_all(&mut *conn).await.unwrap();
                    let plan = plan.join("\n");
                    let mut scans: Vec<String> = plan
                        .lines()
                        .filter_map(|line| line.split("->").last())
                        .map(|step| step.trim().replace(" Backward", ""))
                        .filter(|step| step.contains(" Scan "))
                        .collect();
                    scans.sort();
                    let mut want = vec![
                        format!("Index Only Scan using {index} on edges e"),
                        "Index Scan using names_name_key on names".to_string(),
                    ];
                    want.extend(other.map(str::to_string));
                    want.sort();
                    assert_eq!(scans, want, "{plan}");
                    assert!(!plan.contains("Sort"), "{plan}");
                }
            }
        }
        drop(conn);
        store.pool.close().await;
    }
}
