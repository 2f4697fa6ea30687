//! The housekeeping pass: work the server does for its database in the background, never
//! inside a request. Each pass refreshes the planner's statistics of the tables that changed
//! much (after a seed, a load, bulk growth).

use std::sync::Arc;
use std::time::Duration;

use roster_core::Store;

/// How often a pass runs.
const EVERY: Duration = Duration::from_secs(2);

/// Run a pass every [`EVERY`] until the task is aborted.
pub fn start(store: Arc<dyn Store>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store.refresh_statistics().await {
                Ok(tables) if tables.is_empty() => {}
                Ok(tables) => tracing::debug!(?tables, "statistics refreshed"),
                Err(e) => tracing::warn!("housekeeping: cannot refresh statistics: {e}"),
            }
        }
    })
}
