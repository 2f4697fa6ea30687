//! roster-core's [`Coordinator`] in PostgreSQL, for several roster processes on one database:
//! a log of recent requests per key (sliding windows, as the in-memory one) and leases on
//! exclusive sections. One statement per call; nothing is held between calls.

use std::time::Duration;

use async_trait::async_trait;
use roster_core::coordination::Release;
use roster_core::{wall_ms, Coordinator, Hold, StoreError, Throttled, Window};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::mpsc;

use crate::backend;

/// The channel configuration changes are announced on.
const CHANGES: &str = "roster_config";

/// A section whose holder vanished (a killed process) is free again after this long.
const LEASE: Duration = Duration::from_secs(30);

pub(crate) struct PgCoordinator {
    pub(crate) pool: PgPool,
}

#[async_trait]
impl Coordinator for PgCoordinator {
    /// Concurrent calls of one key may each see room for one more: a window may then hold a
    /// few more than its limit (as many as calls raced), never more than that.
    async fn admit(
        &self,
        key: &str,
        windows: &[Window],
        now_ms: i64,
    ) -> Result<Result<(), Throttled>, StoreError> {
        let lengths: Vec<i64> = windows.iter().map(|w| w.length_ms).collect();
        let limits: Vec<i64> = windows.iter().map(|w| w.limit).collect();
        let longest = lengths.iter().copied().max().unwrap_or(0);
        let full: Option<(i64, i64)> = sqlx::query_as(
            "WITH windows AS (
                 SELECT * FROM UNNEST($2::bigint[], $3::bigint[]) AS w (length_ms, lim)
             ), counted AS (
                 SELECT w.length_ms, w.lim, count(r.at_ms) AS n, min(r.at_ms) AS oldest
                 FROM windows w
                 LEFT JOIN rate_log r ON r.key = $1 AND r.at_ms > $4 - w.length_ms
                 GROUP BY w.length_ms, w.lim
             ), full_window AS (
                 SELECT lim, oldest + length_ms - $4 AS reset_ms FROM counted
                 WHERE n >= lim ORDER BY length_ms LIMIT 1
             ), forgotten AS (
                 DELETE FROM rate_log WHERE key = $1 AND at_ms <= $4 - $5
             ), counted_in AS (
                 INSERT INTO rate_log (key, at_ms)
                 SELECT $1, $4 WHERE NOT EXISTS (SELECT 1 FROM full_window)
             )
             SELECT lim, reset_ms FROM full_window",
        )
        .bind(key)
        .bind(&lengths)
        .bind(&limits)
        .bind(now_ms)
        .bind(longest)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        Ok(match full {
            Some((limit, reset_ms)) => Err(Throttled { limit, reset_ms }),
            None => Ok(()),
        })
    }

    /// A transaction-scoped advisory lock, in a transaction kept open by the hold.
    async fn hold_long(&self, key: &str) -> Result<Hold, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        Ok(Hold::guard(tx))
    }

    async fn try_hold_long(&self, key: &str) -> Result<Option<Hold>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let taken: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(key)
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
        Ok(taken.then(|| Hold::guard(tx)))
    }

    async fn announce_change(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(CHANGES)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Listens on its own connection; after the connection was lost and made again (when
    /// announcements may have been missed) it reports a change too.
    async fn changes(&self) -> Result<Option<mpsc::Receiver<()>>, StoreError> {
        let mut listener = PgListener::connect_with(&self.pool)
            .await
            .map_err(backend)?;
        listener.listen(CHANGES).await.map_err(backend)?;
        let (changed, changes) = mpsc::channel(1);
        // Ends when nobody takes the changes any more or the pool closes, handing its
        // connection back so that closing the pool does not wait for it.
        tokio::spawn(async move {
            loop {
                let received = tokio::select! {
                    received = listener.try_recv() => received,
                    () = changed.closed() => return,
                };
                match received {
                    // A full channel already says "changed": nothing is lost by not waiting.
                    Ok(_) => {
                        if let Err(mpsc::error::TrySendError::Closed(())) = changed.try_send(()) {
                            return;
                        }
                    }
                    Err(sqlx::Error::PoolClosed) => return,
                    Err(e) => {
                        tracing::warn!("listening for configuration changes: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Some(changes))
    }

    async fn try_hold(&self, key: &str) -> Result<Option<Hold>, StoreError> {
        let holder = format!("{:032x}", rand::random::<u128>());
        let now = wall_ms();
        let taken: Option<String> = sqlx::query_scalar(
            "INSERT INTO holds (key, holder, expires_ms) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET holder = excluded.holder,
                 expires_ms = excluded.expires_ms
             WHERE holds.expires_ms < $4
             RETURNING holder",
        )
        .bind(key)
        .bind(&holder)
        .bind(now + LEASE.as_millis() as i64)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        Ok(taken.map(|_| {
            Hold::new(Lease {
                pool: self.pool.clone(),
                key: key.to_string(),
                holder,
            })
        }))
    }
}

/// A lease: ended by [`Release::release`], or in the background when dropped.
struct Lease {
    pool: PgPool,
    key: String,
    holder: String,
}

impl Lease {
    fn end(&mut self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (pool, key, holder) = (
            self.pool.clone(),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.holder),
        );
        async move {
            if key.is_empty() {
                return; // already ended
            }
            let ended = sqlx::query("DELETE FROM holds WHERE key = $1 AND holder = $2")
                .bind(&key)
                .bind(&holder)
                .execute(&pool)
                .await;
            if let Err(e) = ended {
                tracing::warn!("cannot release {key} (it frees itself after its lease): {e}");
            }
        }
    }
}

#[async_trait]
impl Release for Lease {
    /// On a task of its own: a caller that stops waiting (a dropped request) still ends it.
    async fn release(mut self: Box<Self>) {
        let _ = tokio::spawn(self.end()).await;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if !self.key.is_empty() {
            tokio::spawn(self.end());
        }
    }
}
