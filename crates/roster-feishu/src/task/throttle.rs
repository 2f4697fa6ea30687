//! Request-rate limits per app and endpoint (1470450): the vendor's windows, counted by the
//! engine's coordinator, so every roster process on one database counts together.

use roster_core::{Space, Window};

/// Which of Feishu's rate-limit tiers an endpoint is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// 100 requests a minute.
    Three,
    /// 1000 requests a minute and 50 a second.
    Four,
    /// 10 requests a second (Task v2's reads and writes of one task).
    TenPerSecond,
}

/// How many requests one app may make to one endpoint in each window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    per_second: Option<i64>,
    per_minute: i64,
}

impl Rates {
    /// The tenant's rates for an endpoint of `tier`, or `None` when its seed switches rate
    /// limiting off.
    pub fn of(space: &Space, tier: Tier) -> Option<Self> {
        if space.limit("task_rate_limit", 1) == 0 {
            return None;
        }
        Some(match tier {
            Tier::Three => Rates {
                per_second: None,
                per_minute: space.limit("task_create_requests_per_minute", 100),
            },
            Tier::Four => Rates {
                per_second: Some(space.limit("task_requests_per_second", 50)),
                per_minute: space.limit("task_requests_per_minute", 1000),
            },
            Tier::TenPerSecond => {
                let per_second = space.limit("task_v2_requests_per_second", 10);
                Rates {
                    per_second: Some(per_second),
                    per_minute: per_second.saturating_mul(60),
                }
            }
        })
    }
}

impl Rates {
    /// The sliding windows a request is counted in.
    pub fn windows(self) -> Vec<Window> {
        let second = self.per_second.map(|limit| Window {
            length_ms: 1000,
            limit,
        });
        let minute = Window {
            length_ms: 60_000,
            limit: self.per_minute,
        };
        second.into_iter().chain([minute]).collect()
    }
}
