use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall clock with an adjustable offset, so tests (and users) can move time forward to see
/// tokens and signatures expire without waiting.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

/// Real Unix milliseconds, for what runs on real time (timers, leases), never moved by a
/// [`Clock`] offset.
pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        wall_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Unix seconds.
    pub fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    pub fn offset_seconds(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed) / 1000
    }

    /// Move the clock `seconds` ahead of real time (behind when negative), at most
    /// [`MAX_OFFSET_SECONDS`] either way, so no time computed from it can overflow.
    pub fn set_offset_seconds(&self, seconds: i64) -> Result<(), OffsetOutOfRange> {
        if seconds.unsigned_abs() > MAX_OFFSET_SECONDS.unsigned_abs() {
            return Err(OffsetOutOfRange(seconds));
        }
        self.offset_ms.store(seconds * 1000, Ordering::Relaxed);
        Ok(())
    }
}

/// How far the clock may be moved either way: 100 years.
pub const MAX_OFFSET_SECONDS: i64 = 100 * 365 * 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("offset_seconds {0} is out of range: at most {MAX_OFFSET_SECONDS} seconds (100 years) either way")]
pub struct OffsetOutOfRange(pub i64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_bounded_to_a_century_either_way() {
        let clock = Clock::default();
        let before = clock.now();
        clock.set_offset_seconds(MAX_OFFSET_SECONDS).unwrap();
        assert!(clock.now() >= before + MAX_OFFSET_SECONDS);
        clock.set_offset_seconds(-MAX_OFFSET_SECONDS).unwrap();
        assert_eq!(clock.offset_seconds(), -MAX_OFFSET_SECONDS);
        for wild in [
            MAX_OFFSET_SECONDS + 1,
            i64::MAX,
            i64::MIN,
            -MAX_OFFSET_SECONDS - 1,
        ] {
            assert_eq!(clock.set_offset_seconds(wild), Err(OffsetOutOfRange(wild)));
        }
        assert_eq!(clock.offset_seconds(), -MAX_OFFSET_SECONDS);
    }
}
