//! The raw PostgreSQL ceiling of roster's reads: the rows a Feishu follower page, a TIM
//! follow_get page and a TIM follow_get_info call read, read in the bench's own database
//! (after `scripts/bench`'s PostgreSQL scenarios put them there) by one plain statement per
//! call, with the ids of relation names known beforehand, from `--connections` connections of
//! the same driver (sqlx, statements prepared once per connection), one call at a time each.
//! Nothing is written.

use std::time::{Duration, Instant};

use clap::ValueEnum;
use sqlx::{Connection, PgConnection};

#[derive(clap::Args)]
pub struct Args {
    /// The postgres:// URL of the database `scripts/bench` ran roster's scenarios on.
    #[arg(long)]
    url: String,
    #[arg(long, value_enum)]
    read: Read,
    /// Connections reading at once, one call at a time each.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    connections: u32,
    /// TIM accounts (`load_0`..) follow_get_info draws on, as the load generator's `--accounts`.
    #[arg(long, default_value_t = 10_000)]
    accounts: u64,
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    seconds: u64,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
}

/// The calls of the load generator's scenarios of the same names.
#[derive(Clone, Copy, ValueEnum)]
enum Read {
    /// The first page (50) of a task's followers, as user_ids: one of the 20 newest tasks of
    /// the `bench` tenant with 50 followers or more.
    FeishuPage,
    /// The first page (100) of the accounts `load_0`..`load_89` follow, newest first, with
    /// each one's key, profile and follow time.
    TimPage,
    /// The fan, following and mutual counts of one account, asked by another.
    TimGetInfo,
}

/// The TIM accounts whose pages `tim-page` reads (`PAGE_READERS` of the load generator).
const PAGE_READERS: u64 = 90;

/// A task (`$1`, `$2`: space and key) and its first 51 followers' user_ids (a page of 50 and
/// the probe row), relation `$3`: the task's row read with its edges.
const FEISHU_PAGE: &str = "SELECT t.id, t.owner_id, p.seq, p.alias
    FROM entities t LEFT JOIN LATERAL (
        SELECT e.seq, (SELECT a.alias FROM aliases a WHERE a.space_id = e.space_id
                         AND a.entity_id = e.member_id AND a.namespace = 'user_id') AS alias
        FROM edges e WHERE e.space_id = t.space_id AND e.subject_id = t.id
          AND e.relation_id = $3 AND e.seq > 0
        ORDER BY e.seq LIMIT 51) p ON true
    WHERE t.space_id = $1 AND t.kind = 'feishu.task' AND t.key = $2";

/// An account (`$1`, `$2`) and the newest 101 accounts it follows (relation `$3`), each with
/// its key, attributes and follow time.
const TIM_PAGE: &str = "SELECT f.id, p.seq, p.created_at, p.key, p.attrs
    FROM entities f LEFT JOIN LATERAL (
        SELECT e.seq, e.created_at, o.key, o.attrs
        FROM edges e JOIN entities o ON o.space_id = e.space_id AND o.id = e.member_id
        WHERE e.space_id = f.space_id AND e.subject_id = f.id AND e.relation_id = $3
          AND e.seq < 9223372036854775807
        ORDER BY e.seq DESC LIMIT 101) p ON true
    WHERE f.space_id = $1 AND f.kind = 'tim.account' AND f.key = $2";

/// The accounts `$2` (the caller and its target) and the target's (`$3`) counters under
/// relations `$4` (follows, both directions) and `$5` (mutual, members).
const TIM_GET_INFO: &str = "SELECT a.key, c.relation_id, c.direction, c.n
    FROM entities a LEFT JOIN counters c ON c.space_id = a.space_id AND c.entity_id = a.id
        AND a.key = $3 AND (c.relation_id = $4 OR (c.relation_id = $5 AND c.direction = 0))
    WHERE a.space_id = $1 AND a.kind = 'tim.account' AND a.key = ANY($2)";

/// What every call needs: the space and the relations' ids, and the keys calls draw on.
struct Setup {
    space: i64,
    relations: Vec<i32>,
    keys: Vec<String>,
}

async fn setup(conn: &mut PgConnection, args: &Args) -> Result<Setup, sqlx::Error> {
    let (dialect, space_key, relations): (&str, &str, &[&str]) = match args.read {
        Read::FeishuPage => ("feishu", "bench", &["follower"]),
        Read::TimPage => ("tim", "1400000000", &["tim.follows"]),
        Read::TimGetInfo => ("tim", "1400000000", &["tim.follows", "tim.mutual"]),
    };
    let space: i64 = sqlx::query_scalar("SELECT id FROM spaces WHERE dialect = $1 AND key = $2")
        .bind(dialect)
        .bind(space_key)
        .fetch_one(&mut *conn)
        .await?;
    let mut ids = Vec::new();
    for name in relations {
        let id: i32 = sqlx::query_scalar("SELECT id FROM names WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *conn)
            .await?;
        ids.push(id);
    }
    let keys = match args.read {
        Read::FeishuPage => {
            sqlx::query_scalar(
                "SELECT t.key FROM entities t JOIN counters c ON c.space_id = t.space_id
                   AND c.entity_id = t.id AND c.relation_id = $2 AND c.direction = 0
                 WHERE t.space_id = $1 AND t.kind = 'feishu.task' AND c.n >= 50
                 ORDER BY t.id DESC LIMIT 20",
            )
            .bind(space)
            .bind(ids[0])
            .fetch_all(&mut *conn)
            .await?
        }
        Read::TimPage => (0..PAGE_READERS).map(|i| format!("load_{i}")).collect(),
        Read::TimGetInfo => (0..args.accounts).map(|i| format!("load_{i}")).collect(),
    };
    assert!(
        !keys.is_empty(),
        "no task with 50 followers: run the load's feishu-page first"
    );
    Ok(Setup {
        space,
        relations: ids,
        keys,
    })
}

/// One call, reading from the keys with the pseudo-random number `r`; the rows it read.
async fn call(
    conn: &mut PgConnection,
    setup: &Setup,
    read: Read,
    r: u64,
) -> Result<usize, sqlx::Error> {
    let keys = &setup.keys;
    let key = &keys[(r % keys.len() as u64) as usize];
    let rows = match read {
        Read::FeishuPage | Read::TimPage => {
            let page = if let Read::FeishuPage = read {
                FEISHU_PAGE
            } else {
                TIM_PAGE
            };
            sqlx::query(page)
                .bind(setup.space)
                .bind(key)
                .bind(setup.relations[0])
                .fetch_all(&mut *conn)
                .await?
        }
        Read::TimGetInfo => {
            let target = &keys[((r >> 20) % keys.len() as u64) as usize];
            sqlx::query(TIM_GET_INFO)
                .bind(setup.space)
                .bind(vec![key.as_str(), target.as_str()])
                .bind(target)
                .bind(setup.relations[0])
                .bind(setup.relations[1])
                .fetch_all(&mut *conn)
                .await?
        }
    };
    Ok(rows.len())
}

pub fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(measure(args))
}

async fn measure(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut first = PgConnection::connect(&args.url).await?;
    let setup = std::sync::Arc::new(setup(&mut first, args).await?);
    first.close().await?;
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..args.connections {
        let (url, setup, read) = (args.url.clone(), setup.clone(), args.read);
        workers.push(tokio::spawn(async move {
            let mut conn = PgConnection::connect(&url).await?;
            let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (u64::from(worker) + 1);
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                // xorshift, as the load generator draws its keys.
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let begun = Instant::now();
                let rows = call(&mut conn, &setup, read, rng).await?;
                assert!(rows > 0, "a call read nothing");
                latencies.push(begun.elapsed());
            }
            conn.close().await?;
            Ok::<_, sqlx::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await??);
    }
    super::report(args.json, 1, "calls", latencies, started.elapsed());
    Ok(())
}
