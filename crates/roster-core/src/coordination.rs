//! What every roster process on one database must agree on beyond stored data: how many
//! requests a key made recently (vendor rate limits) and who holds a short exclusive section
//! (one write at a time per task). In memory when one process owns the database (SQLite); in
//! the database when several share it (PostgreSQL), so N processes allow what one would.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::StoreError;

/// A full window: its limit, and the milliseconds until a request leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub limit: i64,
    pub reset_ms: i64,
}

/// At most `limit` requests in any `length_ms` (a sliding window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub length_ms: i64,
    pub limit: i64,
}

/// How a section is let go.
#[async_trait]
pub trait Release: Send {
    /// Let go, and return once others can take the section.
    async fn release(self: Box<Self>);
}

/// What an in-memory section holds: letting go is dropping it.
struct Dropped<T>(T);

#[async_trait]
impl<T: Send> Release for Dropped<T> {
    async fn release(self: Box<Self>) {}
}

/// An exclusive section. [`Hold::release`] lets go and returns once others can take it;
/// dropping it lets go too, possibly in the background.
pub struct Hold(Box<dyn Release>);

impl Hold {
    pub fn new(release: impl Release + 'static) -> Self {
        Self(Box::new(release))
    }

    /// A section let go by dropping `guard`.
    pub fn guard(guard: impl Send + 'static) -> Self {
        Self::new(Dropped(guard))
    }

    pub async fn release(self) {
        self.0.release().await;
    }
}

#[async_trait]
pub trait Coordinator: Send + Sync {
    /// Count one request under `key` at `now_ms`, unless one of `windows` is full (refused
    /// requests do not count).
    async fn admit(
        &self,
        key: &str,
        windows: &[Window],
        now_ms: i64,
    ) -> Result<Result<(), Throttled>, StoreError>;

    /// `key`'s exclusive section, or `None` while another holds it.
    async fn try_hold(&self, key: &str) -> Result<Option<Hold>, StoreError>;

    /// `key`'s exclusive section for as long as it takes (no lease), once whoever holds it
    /// lets go: held on this process's connection, so it ends when dropped or when the process
    /// dies.
    async fn hold_long(&self, key: &str) -> Result<Hold, StoreError>;

    /// [`Coordinator::hold_long`] if no one holds it now, else `None` at once (waiting holds
    /// no connection).
    async fn try_hold_long(&self, key: &str) -> Result<Option<Hold>, StoreError>;

    /// Tell every roster process on the database that spaces, credentials or limits changed.
    async fn announce_change(&self) -> Result<(), StoreError>;

    /// A message for each change a process announces (this one's included), from now on;
    /// `None` when one process owns the database.
    async fn changes(&self) -> Result<Option<mpsc::Receiver<()>>, StoreError>;

    /// `key`'s exclusive section, once whoever holds it lets go.
    async fn hold(&self, key: &str) -> Result<Hold, StoreError> {
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(hold) = self.try_hold(key).await? {
                return Ok(hold);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

/// `Throttled` if the window ending at `now_ms` holds `limit` of the requests of `log` (their
/// times, ascending).
fn check_window(log: &VecDeque<i64>, window: Window, now_ms: i64) -> Result<(), Throttled> {
    let first_inside = log.partition_point(|&t| t <= now_ms - window.length_ms);
    if (log.len() - first_inside) as i64 >= window.limit {
        let oldest = log.get(first_inside).copied().unwrap_or(now_ms);
        return Err(Throttled {
            limit: window.limit,
            reset_ms: oldest + window.length_ms - now_ms,
        });
    }
    Ok(())
}

/// The coordinator of a database one process owns.
#[derive(Default)]
pub struct InMemory {
    logs: Mutex<HashMap<String, VecDeque<i64>>>,
    holds: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

#[async_trait]
impl Coordinator for InMemory {
    async fn admit(
        &self,
        key: &str,
        windows: &[Window],
        now_ms: i64,
    ) -> Result<Result<(), Throttled>, StoreError> {
        let longest = windows.iter().map(|w| w.length_ms).max().unwrap_or(0);
        let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        let log = logs.entry(key.to_string()).or_default();
        while log.front().is_some_and(|&t| t <= now_ms - longest) {
            log.pop_front();
        }
        for window in windows {
            if let Err(full) = check_window(log, *window, now_ms) {
                return Ok(Err(full));
            }
        }
        log.push_back(now_ms);
        Ok(Ok(()))
    }

    async fn hold_long(&self, key: &str) -> Result<Hold, StoreError> {
        self.hold(key).await
    }

    async fn try_hold_long(&self, key: &str) -> Result<Option<Hold>, StoreError> {
        self.try_hold(key).await
    }

    async fn announce_change(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn changes(&self) -> Result<Option<mpsc::Receiver<()>>, StoreError> {
        Ok(None)
    }

    async fn try_hold(&self, key: &str) -> Result<Option<Hold>, StoreError> {
        let lock = {
            let mut holds = self.holds.lock().unwrap_or_else(PoisonError::into_inner);
            // A lock lives in the map only while someone holds or awaits it.
            holds.retain(|_, lock| Arc::strong_count(lock) > 1);
            holds.entry(key.to_string()).or_default().clone()
        };
        Ok(lock.try_lock_owned().ok().map(Hold::guard))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOWS: [Window; 2] = [
        Window {
            length_ms: 1000,
            limit: 2,
        },
        Window {
            length_ms: 60_000,
            limit: 3,
        },
    ];

    #[tokio::test]
    async fn windows_slide() {
        let memory = InMemory::default();
        let admit = |key: &'static str, now| {
            let memory = &memory;
            async move { memory.admit(key, &WINDOWS, now).await.unwrap() }
        };
        assert_eq!(admit("a", 0).await, Ok(()));
        assert_eq!(admit("a", 10).await, Ok(()));
        // A third request within the same second is refused until the first leaves it.
        let full = Throttled {
            limit: 2,
            reset_ms: 500,
        };
        assert_eq!(admit("a", 500).await, Err(full));
        assert_eq!(admit("a", 1000).await, Ok(()));
        // The minute holds three.
        let full = Throttled {
            limit: 3,
            reset_ms: 30_000,
        };
        assert_eq!(admit("a", 30_000).await, Err(full));
        assert_eq!(admit("a", 60_000).await, Ok(()));
        // Keys count separately.
        assert_eq!(admit("b", 60_001).await, Ok(()));
    }

    #[tokio::test]
    async fn one_holder_at_a_time() {
        let memory = InMemory::default();
        let held = memory.try_hold("t7").await.unwrap().expect("free");
        assert!(memory.try_hold("t7").await.unwrap().is_none());
        assert!(memory.try_hold("t8").await.unwrap().is_some());
        drop(held);
        let again = memory.hold("t7").await.unwrap();
        drop(again);
        // Idle locks leave the map.
        drop(memory.try_hold("t9").await.unwrap());
        drop(memory.try_hold("t10").await.unwrap());
        assert_eq!(memory.holds.lock().unwrap().len(), 1);
    }
}
