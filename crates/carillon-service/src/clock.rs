//! The service's clock: system time plus an offset that tests and operators can move forward
//! (through `--clock-offset` or the control plane) to reach expiration times without waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The largest offset either way: 100 years of 365.25 days. Beyond it timestamps would leave the
/// range clients and the arithmetic can hold (docs/behaviour.md, "Expiration").
pub const MAX_OFFSET_SECS: i64 = 3_155_760_000;

/// Why an offset is refused, for the control plane's 400 and the start-up error.
pub fn check_offset_secs(secs: i64) -> Result<i64, String> {
    if secs.checked_abs().is_some_and(|a| a <= MAX_OFFSET_SECS) {
        Ok(secs * 1000)
    } else {
        Err(format!("the clock offset must be between -{MAX_OFFSET_SECS} and {MAX_OFFSET_SECS} seconds (100 years), not {secs}"))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// Milliseconds since the Unix epoch, offset included.
    pub fn now_ms(&self) -> i64 {
        let sys = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        sys.saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    pub fn set_offset_ms(&self, offset: i64) {
        self.offset_ms.store(offset, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_bounded_to_100_years() {
        assert_eq!(check_offset_secs(-MAX_OFFSET_SECS), Ok(-MAX_OFFSET_SECS * 1000));
        for bad in [MAX_OFFSET_SECS + 1, -MAX_OFFSET_SECS - 1, i64::MIN, i64::MAX, 1_000_000_000_000] {
            assert!(check_offset_secs(bad).is_err(), "{bad}");
        }
    }
}
