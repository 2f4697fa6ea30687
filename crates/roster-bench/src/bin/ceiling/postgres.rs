//! The raw PostgreSQL ceiling of roster's edge writes: what the database does with the rows
//! roster writes for one call that adds `--batch` edges (the `edges` rows, the counters of
//! both ends upserted, one `changes` row per edge), with nothing else: no HTTP, no lookups, no
//! cap checks, no locks beyond the rows'. roster's own schema (roster-store migrates the
//! database), PostgreSQL's default durability (`synchronous_commit` on), one transaction per
//! call from each of `--connections` connections: BEGIN, one statement, COMMIT. It runs in a
//! database of its own, created on the server of `--url` and dropped at the end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, Executor, PgPool};

#[derive(clap::Args)]
pub struct Args {
    /// A postgres:// URL of a database on the server to measure (not written to: the ceiling
    /// creates a database of its own beside it, and drops it).
    #[arg(long)]
    url: String,
    /// Edges per transaction.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    batch: u64,
    #[arg(long, default_value = "tim.follows")]
    relation: String,
    /// Entities the edges join.
    #[arg(long, default_value_t = 10_000)]
    entities: u64,
    /// Connections writing at once, one transaction at a time each.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    connections: u32,
    /// Also take the space's change log turn before the change rows, as roster does (its
    /// commits in one space take turns).
    #[arg(long)]
    ordered: bool,
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    seconds: u64,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
}

/// The rows of one call, in one statement: edges in the batch's order, counters in key order
/// (so concurrent transactions lock them in one order), change rows.
const WRITE: &str = "WITH e AS (
    INSERT INTO edges (space_id, subject_id, relation_id, member_id, created_at)
    SELECT $1, $2, $3, m, $5 FROM UNNEST($4::bigint[]) WITH ORDINALITY AS e (m, i) ORDER BY i
), c AS (
    INSERT INTO counters (space_id, entity_id, relation_id, direction, n)
    SELECT $1, k.entity, $3, k.direction, k.n
    FROM UNNEST($6::bigint[], $7::smallint[], $8::bigint[]) AS k (entity, direction, n)
    ORDER BY k.entity, k.direction
    ON CONFLICT (space_id, entity_id, relation_id, direction)
    DO UPDATE SET n = counters.n + excluded.n
)
INSERT INTO changes (space_id, plan, at, op, subject_kind, subject_key, relation, member_kind,
                     member_key)
SELECT $1, $9, $5, 'edge_added', 'bench', $10, $11, 'bench', k
FROM UNNEST($12::text[]) WITH ORDINALITY AS c (k, i) ORDER BY i";

/// The first key of roster's change log lock (`CHANGE_LOG_LOCK` in roster-store).
const CHANGE_LOG_LOCK: i32 = 0x726f_7374;

/// The space, the relation and the entities (in key order) of a populated database.
struct Populated {
    space: i64,
    relation: i32,
    ids: Vec<i64>,
}

async fn populate(pool: &PgPool, args: &Args) -> Result<Populated, sqlx::Error> {
    let space: i64 = sqlx::query_scalar(
        "INSERT INTO spaces (dialect, key) VALUES ('bench', 'bench') RETURNING id",
    )
    .fetch_one(pool)
    .await?;
    let relation: i32 = sqlx::query_scalar("INSERT INTO names (name) VALUES ($1) RETURNING id")
        .bind(&args.relation)
        .fetch_one(pool)
        .await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO entities (space_id, kind, key, attrs, created_at, updated_at)
         SELECT $1, 'bench', i::text, '{}', 0, 0 FROM generate_series(1, $2) AS i ORDER BY i
         RETURNING id",
    )
    .bind(space)
    .bind(args.entities as i64)
    .fetch_all(pool)
    .await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(Populated {
        space,
        relation,
        ids,
    })
}

/// Write transaction `t` (see [`super::edges_of`]).
async fn write_batch(
    pool: &PgPool,
    args: &Args,
    db: &Populated,
    t: u64,
) -> Result<(), sqlx::Error> {
    let (subject, members) = super::edges_of(t, args.batch, args.entities);
    let id = |n: i64| db.ids[n as usize - 1];
    let subject = id(subject);
    let members: Vec<i64> = members.into_iter().map(id).collect();
    let mut entities = vec![subject];
    let mut directions = vec![0i16];
    let mut deltas = vec![members.len() as i64];
    for member in &members {
        entities.push(*member);
        directions.push(1);
        deltas.push(1);
    }
    let keys: Vec<String> = members.iter().map(i64::to_string).collect();
    let mut tx = pool.begin().await?;
    if args.ordered {
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2::int4)")
            .bind(CHANGE_LOG_LOCK)
            .bind(db.space)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(WRITE)
        .bind(db.space)
        .bind(subject)
        .bind(db.relation)
        .bind(&members)
        .bind(0i64)
        .bind(&entities)
        .bind(&directions)
        .bind(&deltas)
        .bind(rand_plan(t))
        .bind(subject.to_string())
        .bind(&args.relation)
        .bind(&keys)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// A plan number for transaction `t` (roster draws a random one; any will do).
fn rand_plan(t: u64) -> i64 {
    t.wrapping_mul(0x9E37_79B9_7F4A_7C15) as i64
}

pub fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    assert!(args.entities > args.batch, "--entities must exceed --batch");
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let name = format!("roster_ceiling_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&args.url).await?;
        admin.execute(&*format!("CREATE DATABASE {name}")).await?;
        let url = format!("{}/{name}", server_of(&args.url));
        let measured = measure(args, &url).await;
        admin
            .execute(&*format!("DROP DATABASE {name} WITH (FORCE)"))
            .await?;
        measured
    })
}

/// The URL of the server a database URL names (without the database and query).
fn server_of(url: &str) -> &str {
    let url = url.split_once('?').map_or(url, |(url, _)| url);
    url.rsplit_once('/').map_or(url, |(server, _)| server)
}

async fn measure(args: &Args, url: &str) -> Result<(), Box<dyn std::error::Error>> {
    // roster's schema, by roster's own migrations.
    roster_store::open_postgres(url).await?.close().await;
    let pool = PgPoolOptions::new()
        .max_connections(args.connections)
        .connect(url)
        .await?;
    let db = Arc::new(populate(&pool, args).await?);
    let turns = (args.entities - 1) / args.batch;
    let limit = turns * args.entities;
    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let (pool, db, next) = (pool.clone(), db.clone(), next.clone());
        workers.push(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = next.fetch_add(1, Ordering::Relaxed);
                if t >= limit {
                    break;
                }
                let begun = Instant::now();
                write_batch(&pool, args, &db, t).await?;
                latencies.push(begun.elapsed());
            }
            Ok::<_, sqlx::Error>(latencies)
        });
    }
    let mut latencies = Vec::new();
    for done in futures_util::future::join_all(workers).await {
        latencies.extend(done?);
    }
    let elapsed = started.elapsed();
    pool.close().await;
    super::report(args.json, args.batch, "edges", latencies, elapsed);
    Ok(())
}
