//! Databases made by older rosters migrate with their data, on both backends.

use super::*;

/// A database written by roster before relation names were interned: rows as they were.
const V1_ROWS: &str = "
    INSERT INTO spaces (id, dialect, key, limits) VALUES (1, 'test', 's1', '{}');
    INSERT INTO entities (id, space_id, kind, key, attrs, owner_id, created_at, updated_at)
        VALUES (1, 1, 'user', 'a', '{}', NULL, 1, 1), (2, 1, 'user', 'b', '{}', NULL, 1, 1),
               (3, 1, 'feishu.app', 'cli_a', '{}', NULL, 1, 1),
               (4, 1, 'feishu.chat', 'oc_1', '{\"owner\":2,\"bot_managers\":[3],\"name\":\"x\"}', 3, 1, 1),
               (5, 1, 'feishu.chat', 'oc_2', '{\"owner\":null,\"bot_managers\":[]}', 3, 1, 1),
               (6, 1, 'feishu.apaas.workflow_instance', 'wi', '{\"initiator\":2}', NULL, 1, 1);
    INSERT INTO aliases (space_id, namespace, alias, entity_id) VALUES (1, 'kunlun_id', 'k_b', 2);
    INSERT INTO edges (seq, space_id, subject_id, relation, member_id, created_at)
        VALUES (7, 1, 1, 'follows', 2, 5), (8, 1, 2, 'follows', 1, 6),
               (9, 1, 1, 'mutual', 2, 6), (10, 1, 2, 'mutual', 1, 6);
    INSERT INTO counters (entity_id, relation, direction, n) VALUES
        (1, 'follows', 'members', 1), (1, 'follows', 'memberships', 1),
        (2, 'follows', 'members', 1), (2, 'follows', 'memberships', 1),
        (1, 'mutual', 'members', 1), (1, 'mutual', 'memberships', 1),
        (2, 'mutual', 'members', 1), (2, 'mutual', 'memberships', 1);
";

/// What a migrated database must still say, and that it takes writes after its old rows.
async fn v1_data_survives(store: Arc<dyn Store>) {
    // Attributes that held row ids name entities by key, or through the owner column.
    let rewritten = store.entities(1, &[4, 5, 6]).await.unwrap();
    assert_eq!(rewritten[&4].owner, Some(2));
    assert_eq!(
        rewritten[&4].attrs,
        json!({ "bot_managers": ["cli_a"], "name": "x" })
    );
    assert_eq!(rewritten[&5].owner, Some(3));
    assert_eq!(rewritten[&5].attrs, json!({ "bot_managers": [] }));
    assert_eq!(rewritten[&6].attrs, json!({ "initiator": "k_b" }));
    let page = PageRequest {
        after: None,
        limit: 10,
        newest_first: false,
    };
    let following = store
        .list_edges(1, 1, "follows", Direction::Members, page)
        .await
        .unwrap();
    assert_eq!(
        following.items,
        vec![Edge {
            subject: 1,
            member: 2,
            created_at: 5,
            seq: 7
        }]
    );
    let mutual = store
        .counts(1, &[1, 2], "mutual", Direction::Members)
        .await
        .unwrap();
    assert_eq!(mutual, [(1, 1), (2, 1)].into());
    let mut plan = WritePlan::new(1, 20);
    let c = plan.create("user", "c", json!({}), None);
    let followed = plan.add_edges(AddEdges::new(1, "follows", vec![c.into()]));
    let applied = store.apply(plan).await.unwrap();
    assert_eq!(applied.outcomes(followed)[0].1, Outcome::Added);
    let following = store
        .list_edges(1, 1, "follows", Direction::Members, page)
        .await
        .unwrap();
    assert_eq!(following.items.len(), 2);
    assert!(following.items[1].seq > 10, "{following:?}");
    assert_eq!(
        store
            .counts(1, &[1], "follows", Direction::Members)
            .await
            .unwrap()[&1],
        2
    );
    // A removal through the migrated rows dissolves the mutual pair on both sides.
    let mut plan = WritePlan::new(1, 21);
    plan.remove_edges(RemoveEdges {
        subject: Target::Existing(2),
        relation: "follows".into(),
        members: vec![1],
        reciprocal: Some("mutual".into()),
    });
    store.apply(plan).await.unwrap();
    let mutual = store
        .counts(1, &[1, 2], "mutual", Direction::Members)
        .await
        .unwrap();
    assert_eq!(mutual, [(1, 0), (2, 0)].into());
    store.close().await;
}

#[tokio::test]
async fn sqlite_v1_database_migrates_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("roster.db")).unwrap();
    conn.execute_batch(include_str!("../../migrations/sqlite/0001_init.sql"))
        .unwrap();
    conn.execute_batch(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY);
         INSERT INTO schema_migrations VALUES (1);",
    )
    .unwrap();
    conn.execute_batch(V1_ROWS).unwrap();
    drop(conn);
    v1_data_survives(roster_store::open_sqlite_dir(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn postgres_v1_database_migrates_with_its_data() {
    use sqlx::{Connection, Executor};
    let Some(database) = postgres_database("postgres_v1_database_migrates_with_its_data").await
    else {
        return;
    };
    let url = database.url();
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let v1 = include_str!("../../migrations/postgres/0001_init.sql");
    for statement in v1.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        conn.execute(statement).await.unwrap();
    }
    conn.execute("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY)")
        .await
        .unwrap();
    conn.execute("INSERT INTO schema_migrations VALUES (1)")
        .await
        .unwrap();
    // Identity columns take explicit ids only when told to.
    let rows = V1_ROWS
        .replace("INSERT INTO spaces (id, dialect, key, limits)", "INSERT INTO spaces (id, dialect, key, limits) OVERRIDING SYSTEM VALUE")
        .replace(
            "INSERT INTO entities (id, space_id, kind, key, attrs, owner_id, created_at, updated_at)",
            "INSERT INTO entities (id, space_id, kind, key, attrs, owner_id, created_at, updated_at) OVERRIDING SYSTEM VALUE",
        )
        .replace(
            "INSERT INTO edges (seq, space_id, subject_id, relation, member_id, created_at)",
            "INSERT INTO edges (seq, space_id, subject_id, relation, member_id, created_at) OVERRIDING SYSTEM VALUE",
        );
    for statement in rows.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        conn.execute(statement).await.unwrap();
    }
    // Entity ids continue after the explicit ones, as they would have.
    conn.execute("SELECT setval(pg_get_serial_sequence('entities', 'id'), 6)")
        .await
        .unwrap();
    conn.close().await.unwrap();
    v1_data_survives(roster_store::open_postgres(url).await.unwrap()).await;
}

/// Rows written before migration 0010, which turns identity columns into plain sequences: the
/// last row of each table is deleted, so ids must continue past it, not past the rows left.
const BEFORE_PLAIN_SEQUENCES: &str = "
    INSERT INTO spaces (dialect, key) VALUES ('test', 'kept'), ('test', 'gone');
    DELETE FROM spaces WHERE key = 'gone';
    INSERT INTO names (name) VALUES ('follows'), ('gone');
    DELETE FROM names WHERE name = 'gone';
    INSERT INTO entities (space_id, kind, key, attrs, created_at, updated_at)
        VALUES (1, 'user', 'a', '{}', 1, 1), (1, 'user', 'b', '{}', 1, 1),
               (1, 'user', 'gone', '{}', 1, 1);
    DELETE FROM entities WHERE key = 'gone';
    INSERT INTO edges (space_id, subject_id, relation_id, member_id, created_at)
        VALUES (1, 1, 1, 2, 1);
    INSERT INTO changes (space_id, plan, at, op, subject_kind, subject_key, relation,
                         member_kind, member_key)
        VALUES (1, 7, 1, 'edge_added', 'user', 'a', 'follows', 'user', 'b'),
               (1, 8, 1, 'edge_removed', 'user', 'a', 'follows', 'user', 'b');
    DELETE FROM changes WHERE plan = 8;
    INSERT INTO delivery_attempts (space_id, change_seq, event, url, headers, request, attempt,
                                   at, response)
        VALUES (1, 1, 'kept', 'http://127.0.0.1:9/', '[]', '{}', 1, 1, ''),
               (1, 1, 'gone', 'http://127.0.0.1:9/', '[]', '{}', 1, 1, '');
    DELETE FROM delivery_attempts WHERE event = 'gone';
";

#[tokio::test]
async fn postgres_plain_sequences_migration_keeps_rows_and_ids() {
    use sqlx::Connection;
    let Some(database) =
        postgres_database("postgres_plain_sequences_migration_keeps_rows_and_ids").await
    else {
        return;
    };
    let url = database.url();
    roster_store::test_support::migrate_postgres_below(url, 10).await;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(BEFORE_PLAIN_SEQUENCES)
        .execute(&mut conn)
        .await
        .unwrap();

    let store = roster_store::open_postgres(url).await.unwrap();
    let identities: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.columns
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(identities, 0, "no identity column is left");
    // The rows kept their ids.
    let spaces = store.spaces("test").await.unwrap();
    assert_eq!(
        spaces
            .iter()
            .map(|s| (s.id, s.key.as_str()))
            .collect::<Vec<_>>(),
        [(1, "kept")]
    );
    let users = store.entities(1, &[1, 2]).await.unwrap();
    assert_eq!((users[&1].key.as_str(), users[&2].key.as_str()), ("a", "b"));
    let follows = store.edges_among(1, 1, "follows", &[2]).await.unwrap();
    assert_eq!(follows[&2].seq, 1);
    let changes = store.changes(1, 0, 10).await.unwrap();
    assert_eq!(
        changes.iter().map(|c| (c.seq, c.plan)).collect::<Vec<_>>(),
        [(1, 7)]
    );
    let attempts = store.attempts(Some(1), 0, 10).await.unwrap();
    assert_eq!(
        attempts
            .iter()
            .map(|a| (a.id, a.event.as_str()))
            .collect::<Vec<_>>(),
        [(1, "kept")]
    );

    // New rows take the ids after the last ones ever given, deleted or not.
    let space = store
        .ensure_space("test", "new", &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(space.id, 3);
    let mut plan = WritePlan::new(1, 2);
    let c = plan.create("user", "c", json!({}), None);
    plan.push(Step::AddEdges(AddEdges::new(
        Target::Created(c),
        "likes",
        targets(&[1]),
    )));
    let applied = store.apply(plan).await.unwrap();
    assert_eq!(applied.entity(c).id, 4);
    let likes: i32 = sqlx::query_scalar("SELECT id FROM names WHERE name = 'likes'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(likes, 3);
    let changes = store.changes(1, 1, 10).await.unwrap();
    assert!(
        !changes.is_empty() && changes.iter().all(|c| c.seq > 2),
        "{changes:?}"
    );
    let mut attempt = attempts[0].clone();
    attempt.event = "new".into();
    assert_eq!(store.record_attempt(&attempt, None).await.unwrap(), 3);
    conn.close().await.unwrap();
    store.close().await;
}

/// A database made before incremental auto-vacuum is rebuilt once with it, its data kept.
#[tokio::test]
async fn sqlite_takes_up_incremental_auto_vacuum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE older (x); INSERT INTO older VALUES (42);",
        )
        .unwrap();
        let mode: i64 = conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, 0);
    }
    let store = roster_store::open_sqlite_dir(dir.path()).await.unwrap();
    store.close().await;
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: i64 = conn
        .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, 2, "INCREMENTAL");
    let kept: i64 = conn
        .query_row("SELECT x FROM older", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 42);
}
