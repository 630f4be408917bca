//! The AWS rate profile (`--throttle aws`): token buckets per account, one over all Identity
//! APIs and one per operation that AWS documents a lower rate for. An excess request is a 429
//! ThrottledClientException. Off by default.

use carillon_api::{Operation, ServedOperation};
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
    fn full(rate: f64, now: Instant) -> Bucket {
        Bucket { tokens: rate, at: now }
    }

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

/// One account's buckets: the one over all operations and those of the slower operations it called.
struct Account {
    all: Bucket,
    operations: Vec<(Operation, Bucket)>,
}

/// The most accounts whose buckets are kept: memory stays bounded whatever the number of access
/// keys seen (docs/behaviour.md, "Limits").
pub const MAX_ACCOUNTS: usize = 20_000;

/// Accounts in two generations, each at most half of `MAX_ACCOUNTS`: an account is found in the
/// current one, or moved up from the previous one; when the current one is full it becomes the
/// previous one and the old previous one is dropped. Accounts not seen for a whole generation
/// lose their buckets (and start again full, as a new account would). Every request costs O(1),
/// nothing is ever scanned.
#[derive(Default)]
struct Generations {
    current: HashMap<String, Account>,
    previous: HashMap<String, Account>,
}

#[derive(Default)]
pub struct Throttle {
    buckets: Mutex<Generations>,
}

impl Throttle {
    /// Whether `account` may call `op` now; takes a token from each bucket that applies.
    /// Messaging's rates are per AppInstance, channel and user (`docs/behaviour.md`, "Messaging"),
    /// not yet applied: its operations are admitted without taking Identity's tokens.
    pub fn admit(&self, account: &str, op: ServedOperation) -> bool {
        match op {
            ServedOperation::Identity(op) => self.admit_at(account, op, Instant::now()),
            ServedOperation::Messaging(_) => true,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.lock().map(|g| g.current.len() + g.previous.len()).unwrap_or(0)
    }

    fn admit_at(&self, account: &str, op: Operation, now: Instant) -> bool {
        let mut retired = None;
        let admitted = {
            let Ok(mut g) = self.buckets.lock() else { return true };
            let g = &mut *g;
            if !g.current.contains_key(account) {
                let entry = g.previous.remove(account).unwrap_or(Account { all: Bucket::full(ACCOUNT_RATE, now), operations: Vec::new() });
                if g.current.len() >= MAX_ACCOUNTS / 2 {
                    retired = Some(std::mem::replace(&mut g.previous, std::mem::take(&mut g.current)));
                }
                g.current.insert(account.to_string(), entry);
            }
            match g.current.get_mut(account) {
                Some(a) => a.admit(op, now),
                None => true,
            }
        };
        // The retired generation is freed outside the lock.
        drop(retired);
        admitted
    }
}

impl Account {
    fn admit(&mut self, op: Operation, now: Instant) -> bool {
        if let Some(rate) = operation_rate(op) {
            if !self.operations.iter().any(|(o, _)| *o == op) {
                self.operations.push((op, Bucket::full(rate, now)));
            }
            if let Some((_, bucket)) = self.operations.iter_mut().find(|(o, _)| *o == op)
                && !bucket.take(rate, now)
            {
                return false;
            }
        }
        self.all.take(ACCOUNT_RATE, now)
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

    #[test]
    fn buckets_stay_bounded_and_cheap_after_100000_accounts() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..100_000u64 {
            t.admit_at(&format!("{i:012}"), Operation::DescribeAppInstanceUserEndpoint, now);
        }
        let entries = t.len();
        // Throughput of one account afterwards (printed, not asserted: wall-clock is no verdict).
        let started = Instant::now();
        let mut n = 0u32;
        while started.elapsed() < Duration::from_millis(300) {
            t.admit_at("111122223333", Operation::DescribeAppInstanceUserEndpoint, now + Duration::from_secs(1));
            n += 1;
        }
        println!("after 100,000 accounts: {entries} buckets, {:.0} admits/s", f64::from(n) / started.elapsed().as_secs_f64());
        assert!(entries <= MAX_ACCOUNTS, "{entries} buckets kept");
        // An account that keeps calling keeps its bucket: it is still throttled.
        let admitted = (0..80).filter(|_| t.admit_at("999988887777", Operation::DescribeAppInstanceUserEndpoint, now)).count();
        for i in 0..(3 * MAX_ACCOUNTS as u64) {
            t.admit_at(&format!("{:012}", 500_000 + i), Operation::DescribeAppInstanceUserEndpoint, now);
            if i % 1000 == 0 {
                assert!(!t.admit_at("999988887777", Operation::DescribeAppInstanceUserEndpoint, now), "still throttled at {i}");
            }
        }
        assert_eq!(admitted, 50);
        assert!(t.len() <= MAX_ACCOUNTS);
    }
}
