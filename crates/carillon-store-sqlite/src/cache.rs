//! Endpoint records read by one-statement reads, each kept until the next commit.
//!
//! DescribeAppInstanceUserEndpoint reads one endpoint by one statement. Its answer is cached here,
//! keyed by user ARN and EndpointId, and a later read of the same endpoint takes it from the cache
//! instead of descending two B-trees, for as long as nothing has been committed since: every commit
//! of the writer, whatever it wrote, makes every entry stale. Coarse, so that it can only be right:
//! no write has to know which entries it touches (a deleted user hides its endpoints, a purge
//! removes them, a state import replaces everything).
//!
//! The writer counts its commits in [`CommitCount`], like a sequence lock: the count is odd while a
//! commit is under way and even otherwise. A read caches what it found only when the count was the
//! same even number before and after its statement: no commit was under way or happened while it
//! read, so what it found is the database as of that count. An entry answers a read only while the
//! count still is that number, so a read answered from the cache sees exactly what a statement run
//! at that instant would see, and a write is answered only after the count has moved past it.
//!
//! The table is direct-mapped (one slot a hash, a newer entry replaces an older one), bounded at
//! [`SLOTS`] entries, and allocated at its first use.

use crate::tx::FxHasher;
use carillon_store::EndpointRecord;
use std::hash::Hasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// Entries the cache holds at most (an endpoint record is a few hundred bytes).
pub const SLOTS: usize = 8192;

/// The writer's commits, counted twice each: once as one starts, once as it ends.
#[derive(Default)]
pub struct CommitCount(AtomicU64);

impl CommitCount {
    /// Runs `commit`, with the count odd while it runs.
    pub fn around<T>(&self, commit: impl FnOnce() -> T) -> T {
        self.0.fetch_add(1, Ordering::SeqCst);
        let out = commit();
        self.0.fetch_add(1, Ordering::SeqCst);
        out
    }

    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

struct Entry {
    count: u64,
    user_arn: String,
    endpoint_id: String,
    record: Option<EndpointRecord>,
}

/// One slot of the table: empty, or the last endpoint kept there.
type Slot = Mutex<Option<Box<Entry>>>;

#[derive(Default)]
pub struct EndpointCache {
    commits: CommitCount,
    slots: OnceLock<Box<[Slot]>>,
}

impl EndpointCache {
    /// The writer's commit count, which every commit must go through.
    pub fn commits(&self) -> &CommitCount {
        &self.commits
    }

    fn slot(&self, user_arn: &str, endpoint_id: &str) -> &Slot {
        let slots = self.slots.get_or_init(|| (0..SLOTS).map(|_| Mutex::new(None)).collect());
        let mut hasher = FxHasher::default();
        hasher.write(user_arn.as_bytes());
        hasher.write(endpoint_id.as_bytes());
        let h = hasher.finish();
        &slots[(h >> 32) as usize % SLOTS]
    }

    /// The endpoint as the database holds it now (`Some(None)`: it does not exist), if the cache
    /// knows it.
    pub fn get(&self, user_arn: &str, endpoint_id: &str) -> Option<Option<EndpointRecord>> {
        let now = self.commits.now();
        let slot = self.slot(user_arn, endpoint_id).lock().ok()?;
        let entry = slot.as_ref()?;
        (entry.count == now && entry.user_arn == user_arn && entry.endpoint_id == endpoint_id).then(|| entry.record.clone())
    }

    /// Reads the endpoint with `read` (one statement on a read connection), and keeps what it found
    /// when no commit was under way or happened meanwhile.
    pub fn read<E>(
        &self,
        user_arn: &str,
        endpoint_id: &str,
        read: impl FnOnce() -> Result<Option<EndpointRecord>, E>,
    ) -> Result<Option<EndpointRecord>, E> {
        let before = self.commits.now();
        let found = read()?;
        if before.is_multiple_of(2) && self.commits.now() == before {
            self.keep(before, user_arn, endpoint_id, &found);
        }
        Ok(found)
    }

    fn keep(&self, count: u64, user_arn: &str, endpoint_id: &str, record: &Option<EndpointRecord>) {
        let Ok(mut slot) = self.slot(user_arn, endpoint_id).lock() else { return };
        match slot.as_mut() {
            // Reuse the entry's allocations when it holds the same endpoint.
            Some(entry) if entry.user_arn == user_arn && entry.endpoint_id == endpoint_id => {
                entry.count = count;
                entry.record.clone_from(record);
            }
            _ => {
                *slot = Some(Box::new(Entry {
                    count,
                    user_arn: user_arn.to_owned(),
                    endpoint_id: endpoint_id.to_owned(),
                    record: record.clone(),
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test fails by panicking
    use super::*;
    use carillon_store::{AllowMessages, AppInstanceUserEndpointType, EndpointStatus};

    fn record(name: &str) -> EndpointRecord {
        EndpointRecord {
            seq: 1,
            user_arn: "u".into(),
            endpoint_id: "e".into(),
            app_instance_arn: "a".into(),
            name: Some(name.into()),
            endpoint_type: AppInstanceUserEndpointType::Apns,
            resource_arn: "r".into(),
            device_token: "t".into(),
            voip_device_token: None,
            allow_messages: AllowMessages::All,
            status: EndpointStatus::Active,
            status_reason: None,
            created_ms: 0,
            updated_ms: 0,
        }
    }

    fn read(cache: &EndpointCache, name: &str) -> Option<EndpointRecord> {
        cache.read("u", "e", || Ok::<_, ()>(Some(record(name)))).unwrap()
    }

    #[test]
    fn an_entry_answers_until_the_next_commit() {
        let cache = EndpointCache::default();
        assert_eq!(cache.get("u", "e"), None);
        read(&cache, "one");
        assert_eq!(cache.get("u", "e"), Some(Some(record("one"))));
        assert_eq!(cache.get("u", "other"), None);
        cache.commits().around(|| ());
        assert_eq!(cache.get("u", "e"), None, "a commit makes every entry stale");
        cache.read("u", "e", || Ok::<_, ()>(None)).unwrap();
        assert_eq!(cache.get("u", "e"), Some(None), "an endpoint that does not exist is known too");
    }

    #[test]
    fn a_read_during_a_commit_is_not_kept() {
        let cache = EndpointCache::default();
        // The commit starts before the read and ends after it.
        cache.commits().around(|| read(&cache, "during"));
        assert_eq!(cache.get("u", "e"), None);
        // A commit that starts and ends while the statement runs.
        cache.read("u", "e", || Ok::<_, ()>(cache.commits().around(|| Some(record("across"))))).unwrap();
        assert_eq!(cache.get("u", "e"), None);
        // A commit that starts while the statement runs: the count is odd when the read ends.
        let inside = std::cell::Cell::new(false);
        let commits = &cache.commits().0;
        cache
            .read("u", "e", || {
                commits.fetch_add(1, Ordering::SeqCst);
                inside.set(true);
                Ok::<_, ()>(Some(record("starting")))
            })
            .unwrap();
        assert!(inside.get());
        assert_eq!(cache.get("u", "e"), None);
        commits.fetch_add(1, Ordering::SeqCst);
        assert_eq!(cache.get("u", "e"), None);
        read(&cache, "after");
        assert_eq!(cache.get("u", "e"), Some(Some(record("after"))));
    }

    #[test]
    fn a_failed_read_keeps_nothing() {
        let cache = EndpointCache::default();
        assert_eq!(cache.read("u", "e", || Err::<Option<EndpointRecord>, _>("broken")), Err("broken"));
        assert_eq!(cache.get("u", "e"), None);
    }
}
