//! Request-rate limits per app and endpoint (1470450), and one write at a time per task
//! (1470451). Both are held in memory, per roster process.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use roster_core::{EntityId, Space};
use tokio::sync::OwnedMutexGuard;

use super::endpoint::{Endpoint, Tier};

/// A full window: its limit, and the milliseconds until a request leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub limit: i64,
    pub reset_ms: i64,
}

/// How many requests one app may make to one endpoint in each window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    per_second: Option<i64>,
    per_minute: i64,
}

impl Rates {
    /// The tenant's rates for an endpoint, or `None` when its seed switches rate limiting off.
    pub fn of(space: &Space, endpoint: Endpoint) -> Option<Self> {
        if space.limit("task_rate_limit", 1) == 0 {
            return None;
        }
        Some(match endpoint.tier() {
            Tier::Three => Rates {
                per_second: None,
                per_minute: space.limit("task_create_requests_per_minute", 100),
            },
            Tier::Four => Rates {
                per_second: Some(space.limit("task_requests_per_second", 50)),
                per_minute: space.limit("task_requests_per_minute", 1000),
            },
        })
    }
}

/// Sliding-window request logs: at most `limit` requests in any window of the given length.
#[derive(Default)]
pub struct RateLimiter {
    logs: Mutex<HashMap<(EntityId, Endpoint), Logs>>,
}

#[derive(Default)]
struct Logs {
    second: VecDeque<i64>,
    minute: VecDeque<i64>,
}

/// Forget the requests of `log` older than `window_ms`; `Throttled` if `limit` remain.
fn check(
    log: &mut VecDeque<i64>,
    window_ms: i64,
    limit: i64,
    now_ms: i64,
) -> Result<(), Throttled> {
    while log.front().is_some_and(|&t| t <= now_ms - window_ms) {
        log.pop_front();
    }
    if log.len() as i64 >= limit {
        let oldest = log.front().copied().unwrap_or(now_ms);
        return Err(Throttled {
            limit,
            reset_ms: oldest + window_ms - now_ms,
        });
    }
    Ok(())
}

impl RateLimiter {
    /// Count a request of `app` to `endpoint` at `now_ms`, unless a window is full. Refused
    /// requests do not count.
    pub fn admit(
        &self,
        app: EntityId,
        endpoint: Endpoint,
        rates: Rates,
        now_ms: i64,
    ) -> Result<(), Throttled> {
        let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        let log = logs.entry((app, endpoint)).or_default();
        if let Some(per_second) = rates.per_second {
            check(&mut log.second, 1000, per_second, now_ms)?;
        }
        check(&mut log.minute, 60_000, rates.per_minute, now_ms)?;
        if rates.per_second.is_some() {
            log.second.push_back(now_ms);
        }
        log.minute.push_back(now_ms);
        Ok(())
    }
}

/// One write at a time per task. A lock lives in the map only while someone holds or awaits it.
#[derive(Default)]
pub struct TaskLocks {
    locks: Mutex<HashMap<EntityId, Arc<tokio::sync::Mutex<()>>>>,
}

impl TaskLocks {
    fn lock_of(&self, task: EntityId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        locks.entry(task).or_default().clone()
    }

    /// The task's write lock, or `None` when another write holds it.
    pub fn try_write(&self, task: EntityId) -> Option<OwnedMutexGuard<()>> {
        self.lock_of(task).try_lock_owned().ok()
    }

    /// The task's write lock, once the write holding it is done.
    pub async fn write(&self, task: EntityId) -> OwnedMutexGuard<()> {
        self.lock_of(task).lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATES: Rates = Rates {
        per_second: Some(2),
        per_minute: 3,
    };

    #[test]
    fn windows_slide() {
        let limiter = RateLimiter::default();
        let admit = |now| limiter.admit(1, Endpoint::Get, RATES, now);
        assert_eq!(admit(0), Ok(()));
        assert_eq!(admit(10), Ok(()));
        // A third request within the same second is refused until the first leaves it.
        assert_eq!(
            admit(500),
            Err(Throttled {
                limit: 2,
                reset_ms: 500
            })
        );
        assert_eq!(admit(1000), Ok(()));
        // The minute holds three.
        assert_eq!(
            admit(30_000),
            Err(Throttled {
                limit: 3,
                reset_ms: 30_000
            })
        );
        assert_eq!(admit(60_000), Ok(()));
        // Apps and endpoints count separately.
        assert_eq!(limiter.admit(2, Endpoint::Get, RATES, 60_001), Ok(()));
        assert_eq!(limiter.admit(1, Endpoint::List, RATES, 60_001), Ok(()));
    }

    #[test]
    fn one_write_at_a_time_per_task() {
        let locks = TaskLocks::default();
        let held = locks.try_write(7).expect("free");
        assert!(locks.try_write(7).is_none());
        assert!(locks.try_write(8).is_some());
        drop(held);
        drop(locks.try_write(7).expect("free again"));
        // Idle locks are dropped from the map.
        drop(locks.try_write(9));
        assert_eq!(locks.locks.lock().unwrap().len(), 1);
    }
}
