//! The housekeeping pass: work the server does for its database in the background, never
//! inside a request. Each pass refreshes the planner's statistics of the tables that changed
//! much (after a seed, a load, bulk growth). At start and then every minute it also sweeps the
//! histories that grow with use: it removes what is older than the retention horizon (changes
//! whose callbacks are done, delivered or abandoned callback attempts, tombstones), a batch per short
//! transaction so writers never wait long, then gives the freed pages back to the file system
//! (SQLite; PostgreSQL's autovacuum does it there) and records the sizes as metrics. Of several
//! processes on one database, one sweeps at a time. Tombstones of deleted entities (the kinds
//! the dialects declared in `Engine::tombstones`) go past the same horizon.

use std::time::{Duration, Instant};

use roster_core::{Engine, StoreError, WritePlan};

use crate::dialects;

/// How often a pass runs.
const EVERY: Duration = Duration::from_secs(2);
/// How often a pass sweeps the histories.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Rows one transaction removes at most.
const BATCH: u32 = 1000;
/// Pages one transaction gives back at most (4 MiB of 4 KiB pages).
const PAGES: u32 = 1024;
/// The exclusive section a sweep takes, across processes.
const SECTION: &str = "roster/housekeeping";

/// What one sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub changes: u64,
    pub attempts: u64,
    pub pages: u64,
}

/// Run a pass every [`EVERY`], with a sweep at the first and then every [`SWEEP_EVERY`],
/// until the task is aborted.
pub fn start(engine: Engine) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut swept_at: Option<Instant> = None;
        loop {
            ticks.tick().await;
            match engine.store.refresh_statistics().await {
                Ok(tables) if tables.is_empty() => {}
                Ok(tables) => tracing::debug!(?tables, "statistics refreshed"),
                Err(e) => tracing::warn!("housekeeping: cannot refresh statistics: {e}"),
            }
            if swept_at.is_some_and(|at| at.elapsed() < SWEEP_EVERY) {
                continue;
            }
            swept_at = Some(Instant::now());
            match sweep_unless_busy(&engine).await {
                Ok(Some(swept)) if swept != Swept::default() => {
                    tracing::info!(?swept, "housekeeping: histories swept")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("housekeeping: cannot sweep the histories: {e}"),
            }
        }
    })
}

/// Sweep the histories now, once no other sweep (of this process or another) is running.
pub async fn sweep(engine: &Engine) -> Result<Swept, StoreError> {
    let _section = engine.coordinator.hold_long(SECTION).await?;
    sweep_held(engine).await
}

/// Sweep the histories, unless a sweep is running (`None`: that one does the work).
async fn sweep_unless_busy(engine: &Engine) -> Result<Option<Swept>, StoreError> {
    let Some(_section) = engine.coordinator.try_hold_long(SECTION).await? else {
        return Ok(None);
    };
    sweep_held(engine).await.map(Some)
}

/// The sweep, its section held.
async fn sweep_held(engine: &Engine) -> Result<Swept, StoreError> {
    let store = &engine.store;
    let mut swept = Swept::default();
    if let Some(before) = engine.retention.horizon(engine.clock.now()) {
        for dialect in dialects::names() {
            for space in store.spaces(dialect).await? {
                swept.changes += batches(|| store.prune_changes(space.id, before, BATCH)).await?;
                swept.attempts += batches(|| store.prune_attempts(space.id, before, BATCH)).await?;
                let mut plan = WritePlan::new(space.id, engine.clock.now());
                if engine.tombstones.prune(&mut plan, before) {
                    store.apply(plan).await?;
                }
            }
        }
    }
    swept.pages = batches(|| store.reclaim(PAGES)).await?;
    metrics::counter!("roster_history_pruned_total", "what" => "changes").increment(swept.changes);
    metrics::counter!("roster_history_pruned_total", "what" => "attempts")
        .increment(swept.attempts);
    let stats = store.history_stats().await?;
    metrics::gauge!("roster_change_log_rows").set(stats.change_rows as f64);
    metrics::gauge!("roster_change_log_oldest_age_seconds").set(
        stats
            .oldest_change_at
            .map_or(0.0, |at| (engine.clock.now() - at).max(0) as f64),
    );
    metrics::gauge!("roster_database_bytes").set(stats.database_bytes as f64);
    Ok(swept)
}

/// Run `batch` until it removes nothing more; the total. Each batch is its own transaction,
/// and the sweep yields between them so that writers go first.
async fn batches<F, Fut>(mut batch: F) -> Result<u64, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, StoreError>>,
{
    let mut total = 0;
    loop {
        let done = batch().await?;
        total += done;
        if done == 0 {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}
