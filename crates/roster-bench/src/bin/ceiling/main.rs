//! The raw ceilings of roster's edge writes on SQLite and PostgreSQL, and the on-disk size of
//! its SQLite database.
//!
//! `ceiling write` writes the rows an edge write of roster writes (an `edges` row, and the
//! counters of both ends upserted) with nothing else: no HTTP, no lookups, no cap checks. It
//! uses roster's own schema (its migrations, so the keys and indexes are the same) and
//! its durability (WAL, `synchronous = FULL`), one transaction per call-sized batch:
//! - by default one statement per row, as roster writes edges that keep reciprocal ones (TIM);
//! - with `--multi-row`, multi-row statements, as roster writes other batches (Feishu, WeCom).
//!
//! `ceiling postgres` does the same on a PostgreSQL database (see [`postgres`]).
//!
//! `ceiling postgres-reads` reads what a page or a follow_get_info call of roster reads, in the
//! database roster ran on, one plain statement a call (see [`postgres_reads`]).
//!
//! `ceiling stat` checkpoints a roster database that no process has open and prints its size
//! and edge count.

mod postgres;
mod postgres_reads;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use rusqlite::{params, Connection, TransactionBehavior};
use serde_json::json;

const SCHEMA: [&str; 3] = [
    include_str!("../../../../roster-store/migrations/sqlite/0001_init.sql"),
    include_str!("../../../../roster-store/migrations/sqlite/0002_lean_edges.sql"),
    include_str!("../../../../roster-store/migrations/sqlite/0012_paged_edges.sql"),
];
const PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                       PRAGMA foreign_keys = ON;";
const INSERT_EDGE: &str = "INSERT INTO edges (space_id, subject_id, relation_id, member_id, \
                           seq, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const BUMP: &str = "INSERT INTO counters (entity_id, relation_id, direction, n) \
                    VALUES (?1, ?2, ?3, ?4) ON CONFLICT (entity_id, relation_id, direction) \
                    DO UPDATE SET n = counters.n + excluded.n";
/// Where the next edges' `seq` starts, taken once per batch as roster does.
const NEXT_SEQ: &str = "UPDATE sequences SET value = value + ?1 WHERE name = 'edge_seq' \
                        RETURNING value - ?1 + 1";
/// The interned id of the relation (the only name in a new database) and the direction codes.
const RELATION: i64 = 1;
const MEMBERS: i64 = 0;
const MEMBERSHIPS: i64 = 1;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Time batches of edge writes into a new database.
    Write(WriteArgs),
    /// Time transactions of edge writes, from many connections, into an empty PostgreSQL
    /// database.
    Postgres(postgres::Args),
    /// Time the reads of a page or a follow_get_info call, from many connections, in the
    /// PostgreSQL database roster's scenarios ran on.
    PostgresReads(postgres_reads::Args),
    /// Checkpoint a closed roster database; print its size in bytes and its edges.
    Stat { db: PathBuf },
}

#[derive(clap::Args)]
struct WriteArgs {
    /// The database file to create.
    #[arg(long)]
    db: PathBuf,
    /// Edges per transaction.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    batch: u64,
    /// One multi-row statement per batch instead of one statement per row.
    #[arg(long)]
    multi_row: bool,
    #[arg(long, default_value = "tim.follows")]
    relation: String,
    /// Entities the edges join.
    #[arg(long, default_value_t = 10_000)]
    entities: u64,
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    transactions: u64,
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    seconds: u64,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
}

/// A space and `n` entities (ids 1..=n) in it.
fn populate(conn: &mut Connection, n: u64, relation: &str) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO spaces (dialect, key) VALUES ('bench', 'bench')",
        [],
    )?;
    tx.execute(
        "INSERT INTO names (id, name) VALUES (?1, ?2)",
        params![RELATION, relation],
    )?;
    let mut insert = tx.prepare(
        "INSERT INTO entities (space_id, kind, key, attrs, created_at, updated_at)
         VALUES (1, 'bench', ?1, '{}', 0, 0)",
    )?;
    for i in 0..n {
        insert.execute([i.to_string()])?;
    }
    drop(insert);
    tx.commit()
}

/// Transaction `t`'s subject and members, so that no edge repeats: subjects take turns, and
/// each turn a subject gets the next `batch` entities after it.
fn edges_of(t: u64, batch: u64, entities: u64) -> (i64, Vec<i64>) {
    let subject = t % entities;
    let first = t / entities * batch + 1;
    let members = (first..first + batch)
        .map(|offset| ((subject + offset) % entities + 1) as i64)
        .collect();
    (subject as i64 + 1, members)
}

/// Write one batch in its own transaction, as roster does for one call.
fn write_batch(
    conn: &mut Connection,
    args: &WriteArgs,
    subject: i64,
    members: &[i64],
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let n = members.len() as i64;
    let first: i64 = tx
        .prepare_cached(NEXT_SEQ)?
        .query_row([n], |row| row.get(0))?;
    if args.multi_row {
        let rows: Vec<String> = (0..members.len())
            .map(|i| format!("(1, ?1, ?2, ?{}, ?{}, 0)", 2 * i + 3, 2 * i + 4))
            .collect();
        let sql = format!(
            "INSERT INTO edges (space_id, subject_id, relation_id, member_id, seq, created_at) \
             VALUES {}",
            rows.join(", ")
        );
        let seqs: Vec<i64> = (first..first + n).collect();
        let mut values: Vec<&dyn rusqlite::ToSql> = vec![&subject, &RELATION];
        for (member, seq) in members.iter().zip(&seqs) {
            values.push(member);
            values.push(seq);
        }
        tx.prepare_cached(&sql)?.execute(values.as_slice())?;
        let rows: Vec<String> = (0..members.len())
            .map(|i| format!("(?{}, ?1, ?2, 1)", i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO counters (entity_id, relation_id, direction, n) VALUES {}
             ON CONFLICT (entity_id, relation_id, direction)
             DO UPDATE SET n = counters.n + excluded.n",
            rows.join(", ")
        );
        let mut values: Vec<&dyn rusqlite::ToSql> = vec![&RELATION, &MEMBERSHIPS];
        values.extend(members.iter().map(|m| m as &dyn rusqlite::ToSql));
        tx.prepare_cached(&sql)?.execute(values.as_slice())?;
        tx.prepare_cached(BUMP)?
            .execute(params![subject, RELATION, MEMBERS, n])?;
    } else {
        let mut insert = tx.prepare_cached(INSERT_EDGE)?;
        let mut bump = tx.prepare_cached(BUMP)?;
        for (seq, member) in (first..).zip(members) {
            insert.execute(params![1, subject, RELATION, member, seq, 0])?;
            bump.execute(params![subject, RELATION, MEMBERS, 1])?;
            bump.execute(params![member, RELATION, MEMBERSHIPS, 1])?;
        }
    }
    tx.commit()
}

fn write(args: &WriteArgs) -> rusqlite::Result<()> {
    assert!(!args.db.exists(), "{} exists already", args.db.display());
    assert!(args.entities > args.batch, "--entities must exceed --batch");
    let mut conn = Connection::open(&args.db)?;
    conn.execute_batch(PRAGMAS)?;
    for migration in SCHEMA {
        conn.execute_batch(migration)?;
    }
    populate(&mut conn, args.entities, &args.relation)?;
    // Turns before a subject has had every other entity.
    let turns = (args.entities - 1) / args.batch;
    let limit = args.transactions.min(turns * args.entities);
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut latencies = Vec::new();
    while (latencies.len() as u64) < limit && Instant::now() < deadline {
        let (subject, members) = edges_of(latencies.len() as u64, args.batch, args.entities);
        let begun = Instant::now();
        write_batch(&mut conn, args, subject, &members)?;
        latencies.push(begun.elapsed());
    }
    report(args.json, args.batch, "edges", latencies, started.elapsed());
    Ok(())
}

/// Print the throughput and latencies of `latencies.len()` transactions of `batch` items (`unit`:
/// edges, calls) that took `elapsed`: one line of text, or one JSON object.
fn report(json: bool, batch: u64, unit: &str, mut latencies: Vec<Duration>, elapsed: Duration) {
    assert!(!latencies.is_empty(), "no transaction completed");
    let seconds = elapsed.as_secs_f64();
    latencies.sort();
    let ms = |q: f64| {
        let index = ((latencies.len() as f64 * q) as usize).min(latencies.len() - 1);
        latencies[index].as_secs_f64() * 1000.0
    };
    let transactions = latencies.len() as u64;
    let items = transactions * batch;
    if json {
        let mut report = json!({
            "transactions": transactions, "seconds": seconds, "p50_ms": ms(0.5),
            "p99_ms": ms(0.99),
        });
        report[unit] = json!(items);
        report[format!("{unit}_per_s")] = json!(items as f64 / seconds);
        println!("{report}");
    } else {
        println!(
            "{transactions} transactions of {batch} {unit} in {seconds:.2}s: {:.0} {unit}/s; \
             latency p50 {:.2} ms, p99 {:.2} ms",
            items as f64 / seconds,
            ms(0.5),
            ms(0.99),
        );
    }
}

fn stat(db: &PathBuf) -> rusqlite::Result<()> {
    assert!(db.exists(), "no database at {}", db.display());
    let conn = Connection::open(db)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let edges: i64 = conn.query_row("SELECT COUNT(*) FROM edges", [], |row| row.get(0))?;
    drop(conn);
    let bytes = std::fs::metadata(db).expect("database size").len();
    println!("{}", json!({ "bytes": bytes, "edges": edges }));
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    match Cli::parse().command {
        Command::Write(args) => write(&args)?,
        Command::Postgres(args) => postgres::run(&args)?,
        Command::PostgresReads(args) => postgres_reads::run(&args)?,
        Command::Stat { db } => stat(&db)?,
    }
    Ok(())
}
