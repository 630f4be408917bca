//! The AWS rate profile (`--throttle aws`): token buckets per account, one over all Identity
//! APIs and one per operation that AWS documents a lower rate for. An excess request is a 429
//! ThrottledClientException. Off by default.

use carillon_api::Operation;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Requests per second over all operations, per account.
const ACCOUNT_RATE: f64 = 50.0;

/// AWS's documented rate of an operation, where it is lower than the account's.
pub fn operation_rate(op: Operation) -> Option<f64> {
    use Operation::*;
    match op {
        CreateAppInstance | UpdateAppInstance | DeleteAppInstance => Some(5.0),
        CreateAppInstanceUser | UpdateAppInstanceUser | DeleteAppInstanceUser | ListAppInstances | ListAppInstanceUsers => Some(10.0),
        DescribeAppInstance | DescribeAppInstanceUser => Some(20.0),
        _ => None,
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self, rate: f64, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(rate);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Default)]
pub struct Throttle {
    buckets: Mutex<HashMap<(String, Option<Operation>), Bucket>>,
}

impl Throttle {
    /// Whether `account` may call `op` now; takes a token from each bucket that applies.
    pub fn admit(&self, account: &str, op: Operation) -> bool {
        self.admit_at(account, op, Instant::now())
    }

    fn admit_at(&self, account: &str, op: Operation, now: Instant) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else { return true };
        if buckets.len() > 100_000 {
            buckets.retain(|_, b| now.saturating_duration_since(b.at).as_secs() < 60);
        }
        let mut check = |key: Option<Operation>, rate: f64| {
            buckets.entry((account.to_string(), key)).or_insert(Bucket { tokens: rate, at: now }).take(rate, now)
        };
        if let Some(rate) = operation_rate(op)
            && !check(Some(op), rate)
        {
            return false;
        }
        check(None, ACCOUNT_RATE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn five_per_second_for_create_app_instance_then_refills() {
        let t = Throttle::default();
        let now = Instant::now();
        let admitted = (0..10).filter(|_| t.admit_at("111122223333", Operation::CreateAppInstance, now)).count();
        assert_eq!(admitted, 5);
        assert!(t.admit_at("999999999999", Operation::CreateAppInstance, now), "per account");
        assert!(t.admit_at("111122223333", Operation::CreateAppInstance, now + Duration::from_millis(250)));
    }

    #[test]
    fn fifty_per_second_over_all_operations() {
        let t = Throttle::default();
        let now = Instant::now();
        let admitted = (0..80).filter(|_| t.admit_at("111122223333", Operation::DescribeAppInstanceUserEndpoint, now)).count();
        assert_eq!(admitted, 50);
    }
}
