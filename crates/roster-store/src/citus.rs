//! Citus: when the database has the `citus` extension, roster places its own tables at
//! migration time (docs/scale-out.md): the small shared ones become reference tables (a copy
//! on every node), a space's tables are distributed by `space_id` and colocated, so every
//! statement that names its space runs on one worker. Placing is idempotent: each start
//! places only what is not placed yet, under the migration lock.

use sqlx::PgConnection;

/// Where a table of roster's PostgreSQL schema lives on Citus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// A copy on every node: small, read by every statement, rarely written.
    Reference,
    /// Sharded by `space_id`, colocated with `entities`.
    BySpace,
    /// Left on the coordinator, where every roster process connects.
    Coordinator,
}

/// Every table of the schema, in the order they are placed: reference tables before the
/// distributed tables whose foreign keys point at them, `entities` before those colocated
/// with it. A test checks that the schema has no other table.
pub(crate) const PLACEMENTS: &[(&str, Placement)] = &[
    ("spaces", Placement::Reference),
    ("names", Placement::Reference),
    ("settings", Placement::Reference),
    ("entities", Placement::BySpace),
    ("aliases", Placement::BySpace),
    ("edges", Placement::BySpace),
    ("counters", Placement::BySpace),
    ("changes", Placement::BySpace),
    ("delivery_cursors", Placement::BySpace),
    ("delivery_attempts", Placement::BySpace),
    ("change_horizons", Placement::BySpace),
    ("schema_migrations", Placement::Coordinator),
    ("rate_log", Placement::Coordinator),
    ("holds", Placement::Coordinator),
];

/// Place every table not placed yet, when the database has the `citus` extension. Runs in
/// the caller's transaction, which holds the migration lock.
pub(crate) async fn place_tables(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let citus: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")
            .fetch_one(&mut *conn)
            .await?;
    if !citus {
        return Ok(());
    }
    // By default a table with a foreign key to a new reference table becomes a Citus local
    // table (entities → spaces), which then cannot be distributed; roster distributes it itself.
    sqlx::query("SET LOCAL citus.enable_local_reference_table_foreign_keys = off")
        .execute(&mut *conn)
        .await?;
    for &(table, placement) in PLACEMENTS {
        let current: Option<Placement> = sqlx::query_scalar(
            "SELECT CASE WHEN partmethod = 'h' THEN 'by-space'
                         WHEN repmodel = 't' THEN 'reference' ELSE 'local' END
             FROM pg_dist_partition WHERE logicalrelid = $1::regclass",
        )
        .bind(table)
        .fetch_optional(&mut *conn)
        .await?
        .map(|kind: String| match kind.as_str() {
            "by-space" => Placement::BySpace,
            "reference" => Placement::Reference,
            _ => Placement::Coordinator,
        });
        if placement == Placement::Coordinator || current == Some(placement) {
            continue;
        }
        let statement = match (placement, table) {
            (Placement::Reference, _) => "SELECT create_reference_table($1::regclass)",
            (_, "entities") => "SELECT create_distributed_table($1::regclass, 'space_id')",
            _ => {
                "SELECT create_distributed_table($1::regclass, 'space_id',
                                                 colocate_with => 'entities')"
            }
        };
        sqlx::query(statement)
            .bind(table)
            .execute(&mut *conn)
            .await?;
        tracing::info!(table, ?placement, "placed on Citus");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Placement, PLACEMENTS};

    #[tokio::test]
    async fn every_table_of_the_schema_is_placed() {
        let suite = "every_table_of_the_schema_is_placed";
        let Some(base) = crate::test_support::postgres_url(suite) else {
            return;
        };
        let database = crate::test_support::scratch_postgres(&base).await;
        let store = crate::PgStore::open_postgres(database.url(), 4)
            .await
            .unwrap();
        let mut tables: Vec<String> = sqlx::query_scalar(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        tables.sort();
        let mut placed: Vec<&str> = PLACEMENTS.iter().map(|(table, _)| *table).collect();
        placed.sort_unstable();
        assert_eq!(tables, placed);
        store.pool.close().await;
    }

    /// Statements that span spaces on purpose (roster's own admin reads); Citus runs them on
    /// every shard.
    const FAN_OUTS: &[(&str, &str)] = &[
        (
            "($1::bigint IS NULL OR space_id = $1)",
            "GET /_roster/deliveries without a space, and a redelivery found by attempt id alone",
        ),
        (
            "SELECT COUNT(*), MIN(at) FROM changes",
            "housekeeping's size of the whole change log, for metrics",
        ),
    ];

    /// Inserts that Citus pulls to the coordinator.
    const PULLED: &[(&str, &str)] = &[
        (
            "SELECT c.* FROM turn",
            "a plan's changes, joined with the change log's turn so that they draw their seqs \
             after it; the coordinator holds the turn and draws the seqs",
        ),
        (
            "SELECT $1, kind, key, attrs, created_at, updated_at",
            "a snapshot load or reset restoring a space's entities, once per load",
        ),
        (
            "SELECT $1, namespace, alias, entity_id",
            "a snapshot load or reset restoring a space's aliases, once per load",
        ),
    ];

    /// Every PostgreSQL statement on a space's tables names its space: a read, update or
    /// delete filters each of those tables by `space_id = $n`, an insert gives `space_id`
    /// a value; so Citus routes each to the one shard of its space.
    #[test]
    fn every_statement_on_a_space_table_names_its_space() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue; // the SQLite backend (src/sqlite/) is never distributed
            }
            let source = std::fs::read_to_string(&path).unwrap();
            let code = source.split("\n#[cfg(test)]").next().unwrap();
            for literal in string_literals(code) {
                let sql = literal.split_whitespace().collect::<Vec<_>>().join(" ");
                if let Some(why) = unrouted(&sql) {
                    let allowed = FAN_OUTS.iter().chain(PULLED);
                    let fan_out = allowed.into_iter().any(|(text, _)| sql.contains(text));
                    assert!(fan_out, "{}: {why}:\n{sql}", path.display());
                }
                checked += usize::from(touches_space_table(&sql));
            }
        }
        assert!(
            checked > 50,
            "found only {checked} statements on a space's tables"
        );
    }

    #[test]
    fn the_statement_check_finds_statements_without_their_space() {
        for sql in [
            "SELECT id FROM entities WHERE id = $1",
            "SELECT 1 FROM entities WHERE space_id = $1 AND id IN (SELECT subject_id FROM edges)",
            "DELETE FROM aliases WHERE entity_id = $1",
            "UPDATE counters SET n = 0 WHERE space_id > $1",
            "INSERT INTO edges (subject_id, member_id) VALUES ($1, $2)",
            "SELECT seq FROM changes WHERE ($1::bigint IS NULL OR space_id = $1)",
            "SELECT id FROM entities WHERE space_id = {subject}",
            "SELECT 1 FROM edges e JOIN entities o ON o.id = e.member_id WHERE e.space_id = $1",
            "INSERT INTO edges (space_id, subject_id) SELECT $1, s FROM UNNEST($2::bigint[]) AS u (s)",
        ] {
            assert!(unrouted(sql).is_some(), "{sql}");
        }
        for sql in [
            "SELECT e.id FROM entities e JOIN names n ON n.id = e.kind WHERE e.space_id = $1",
            "SELECT 1 FROM edges e JOIN entities o ON o.space_id = e.space_id AND o.id = e.member_id \
             WHERE e.space_id = $1",
            "INSERT INTO counters (space_id, entity_id, n) ",
            "INSERT INTO changes (space_id, op) VALUES ($1, $2), ($1, $3)",
            "INSERT INTO aliases (space_id, alias) SELECT space_id, $2 FROM entities \
             WHERE space_id = $1 AND id = $3",
            "SELECT name FROM names WHERE id = $1",
            "SELECT id FROM entities WHERE space_id = {space} AND id = ANY({ends})",
        ] {
            assert_eq!(unrouted(sql), None, "{sql}");
        }
        let source = r##"let a = "x \"q\" y"; // "not a literal"
            let b = r#"raw "one""#; let c = '"'; let d: &'static str = "z";"##;
        assert_eq!(
            string_literals(source),
            [r#"x \"q\" y"#, r#"raw "one""#, "z"]
        );
    }

    fn space_tables() -> impl Iterator<Item = &'static str> {
        PLACEMENTS
            .iter()
            .filter(|(_, placement)| *placement == Placement::BySpace)
            .map(|(table, _)| *table)
    }

    /// The words of `sql` (identifiers, keywords, `$n` parameters and single symbols).
    fn words(sql: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word = String::new();
        for c in sql.chars() {
            if c.is_alphanumeric() || c == '_' || c == '$' {
                word.push(c);
                continue;
            }
            words.extend((!word.is_empty()).then(|| std::mem::take(&mut word)));
            if !c.is_whitespace() {
                words.push(c.to_string());
            }
        }
        words.extend((!word.is_empty()).then_some(word));
        words
    }

    fn touches_space_table(sql: &str) -> bool {
        let words = words(sql);
        words.windows(2).any(|w| {
            ["FROM", "JOIN", "INTO", "UPDATE"].contains(&w[0].as_str())
                && space_tables().any(|t| t == w[1])
        })
    }

    /// Why `sql` would not be routed to one space's shard, if it would not.
    fn unrouted(sql: &str) -> Option<String> {
        let words = words(sql);
        let (mut tables, mut filters) = (0, 0);
        for (i, w) in words.iter().enumerate() {
            let next = words.get(i + 1).map(String::as_str).unwrap_or_default();
            let is_space_table = space_tables().any(|t| t == next);
            match w.as_str() {
                "INTO" if is_space_table => {
                    let columns = words[i + 2..].iter().take_while(|w| *w != ")");
                    if !columns.clone().any(|c| c == "space_id") {
                        return Some(format!("an insert into {next} without its space_id"));
                    }
                    // After the columns: VALUES (or nothing: a builder adds them), or a
                    // SELECT of its source's own space_id (a colocated insert); Citus pulls
                    // any other INSERT ... SELECT to the coordinator.
                    let mut after = words[i + 2..].iter().skip_while(|w| *w != ")").skip(1);
                    if after.next().is_some_and(|w| w == "SELECT")
                        && after.next().is_none_or(|w| w != "space_id")
                    {
                        return Some(format!(
                            "an INSERT ... SELECT into {next} not from its shard"
                        ));
                    }
                }
                "FROM" | "JOIN" | "UPDATE" if is_space_table => tables += 1,
                // `space_id = $n` (or `{space}`, the space written into a simple-protocol
                // statement), or `alias.space_id = $n`, not an alternative to another test;
                // or a join on the space (`o.space_id = e.space_id`), colocated.
                "space_id"
                    if words.get(i + 1..i + 3).is_some_and(|n| {
                        n[0] == "="
                            && (n[1].starts_with('$')
                                || words.get(i + 2..i + 4) == Some(&["{".into(), "space".into()])
                                || words.get(i + 3..i + 5) == Some(&[".".into(), w.clone()]))
                    }) && !(i >= 2 && words[i - 1] == "." && words[i - 3] == "OR"
                        || i >= 1 && words[i - 1] == "OR") =>
                {
                    filters += 1
                }
                _ => {}
            }
        }
        (filters < tables).then(|| {
            format!("{tables} reads of a space's tables but {filters} `space_id = $n` filters")
        })
    }

    /// The string literals of Rust `source` (plain and raw, contents as written).
    fn string_literals(source: &str) -> Vec<&str> {
        let (bytes, mut found, mut i) = (source.as_bytes(), Vec::new(), 0);
        while i < bytes.len() {
            let rest = &source[i..];
            if rest.starts_with("//") {
                i += rest.find('\n').unwrap_or(rest.len());
            } else if rest.starts_with("'\"'") {
                i += 3;
            } else if let Some(raw) = rest.strip_prefix('r').filter(|r| {
                let hashes = r.len() - r.trim_start_matches('#').len();
                r[hashes..].starts_with('"') && (i == 0 || !is_ident(bytes[i - 1]))
            }) {
                let hashes = raw.len() - raw.trim_start_matches('#').len();
                let close = format!("\"{}", "#".repeat(hashes));
                let start = i + 1 + hashes + 1;
                let end = start + source[start..].find(&close).expect("a closed raw string");
                found.push(&source[start..end]);
                i = end + close.len();
            } else if bytes[i] == b'"' {
                let start = i + 1;
                let mut end = start;
                while bytes[end] != b'"' {
                    end += if bytes[end] == b'\\' { 2 } else { 1 };
                }
                found.push(&source[start..end]);
                i = end + 1;
            } else {
                i += 1;
            }
        }
        found
    }

    fn is_ident(byte: u8) -> bool {
        byte.is_ascii_alphanumeric() || byte == b'_'
    }
}
