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
//! The table holds at most [`SLOTS`] entries in sets of [`WAYS`], allocated at its first use. A key's
//! hash picks its set; within a set the entries stand from the most to the least recently used, and a
//! new entry takes the place of a stale one, else of the least recently used. With one entry a hash
//! (direct-mapped) every two endpoints of the same slot would evict each other for as long as both
//! are read: 2,000 endpoints read at random in 8,192 slots miss about one read in nine that way; in
//! sets of four, about one in three hundred.

use crate::tx::FxHasher;
use carillon_store::EndpointRecord;
use std::hash::Hasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// Entries the cache holds at most (an endpoint record is a few hundred bytes).
pub const SLOTS: usize = 8192;

/// Entries of one set: the endpoints whose hashes pick the same set share them.
pub const WAYS: usize = 4;

const SETS: usize = SLOTS / WAYS;

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

impl Entry {
    fn is(&self, user_arn: &str, endpoint_id: &str) -> bool {
        self.user_arn == user_arn && self.endpoint_id == endpoint_id
    }
}

/// One set of the table: its entries from the most to the least recently used, the empty ones last.
type Set = Mutex<[Option<Box<Entry>>; WAYS]>;

#[derive(Default)]
pub struct EndpointCache {
    commits: CommitCount,
    sets: OnceLock<Box<[Set]>>,
}

impl EndpointCache {
    /// The writer's commit count, which every commit must go through.
    pub fn commits(&self) -> &CommitCount {
        &self.commits
    }

    fn set(&self, user_arn: &str, endpoint_id: &str) -> &Set {
        let sets = self.sets.get_or_init(|| (0..SETS).map(|_| Mutex::new(Default::default())).collect());
        let mut hasher = FxHasher::default();
        hasher.write(user_arn.as_bytes());
        hasher.write(endpoint_id.as_bytes());
        let h = hasher.finish();
        &sets[(h >> 32) as usize % SETS]
    }

    /// The endpoint as the database holds it now (`Some(None)`: it does not exist), if the cache
    /// knows it.
    pub fn get(&self, user_arn: &str, endpoint_id: &str) -> Option<Option<EndpointRecord>> {
        let now = self.commits.now();
        let mut set = self.set(user_arn, endpoint_id).lock().ok()?;
        let at = set.iter().position(|e| e.as_ref().is_some_and(|e| e.count == now && e.is(user_arn, endpoint_id)))?;
        // The entry becomes the set's most recently used.
        set[..=at].rotate_right(1);
        set[0].as_ref().map(|e| e.record.clone())
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
        let Ok(mut set) = self.set(user_arn, endpoint_id).lock() else { return };
        // The place it takes: its own entry's, else an empty or stale one's, else the least
        // recently used one's.
        let at = set
            .iter()
            .position(|e| e.as_ref().is_none_or(|e| e.is(user_arn, endpoint_id)))
            .or_else(|| set.iter().position(|e| e.as_ref().is_some_and(|e| e.count != count)))
            .unwrap_or(WAYS - 1);
        match set[at].as_mut() {
            // Reuse the entry's allocations when it holds the same endpoint.
            Some(entry) if entry.is(user_arn, endpoint_id) => {
                entry.count = count;
                entry.record.clone_from(record);
            }
            _ => {
                set[at] = Some(Box::new(Entry {
                    count,
                    user_arn: user_arn.to_owned(),
                    endpoint_id: endpoint_id.to_owned(),
                    record: record.clone(),
                }))
            }
        }
        set[..=at].rotate_right(1);
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

    /// `n` endpoint ids of user `u` whose entries fall in the same set as `e`'s.
    fn same_set(cache: &EndpointCache, n: usize) -> Vec<String> {
        let home: *const Set = cache.set("u", "e");
        (0..).map(|i| format!("e{i}")).filter(|id| std::ptr::eq(cache.set("u", id), home)).take(n).collect()
    }

    fn keep(cache: &EndpointCache, id: &str) {
        cache.read("u", id, || Ok::<_, ()>(Some(record(id)))).unwrap();
    }

    #[test]
    fn a_full_set_gives_up_its_least_recently_used_entry() {
        let cache = EndpointCache::default();
        let ids = same_set(&cache, WAYS + 2);
        for id in &ids[..WAYS] {
            keep(&cache, id);
        }
        for id in &ids[..WAYS] {
            assert!(cache.get("u", id).is_some(), "{id}: a set holds {WAYS} endpoints");
        }
        // The first one read is used again: the second becomes the least recently used.
        assert!(cache.get("u", &ids[0]).is_some());
        keep(&cache, &ids[WAYS]);
        assert_eq!(cache.get("u", &ids[1]), None, "the least recently used entry gave its place");
        for id in [&ids[0], &ids[2], &ids[WAYS]] {
            assert!(cache.get("u", id).is_some(), "{id} stays");
        }
        // Reading a kept endpoint again updates its entry in place: nothing else is evicted.
        keep(&cache, &ids[0]);
        for id in [&ids[0], &ids[2], &ids[3], &ids[WAYS]] {
            assert!(cache.get("u", id).is_some(), "{id} stays");
        }
        // After a commit every entry is stale, and a new one takes a stale place, not a live one's.
        cache.commits().around(|| ());
        keep(&cache, &ids[WAYS + 1]);
        keep(&cache, &ids[2]);
        assert!(cache.get("u", &ids[WAYS + 1]).is_some() && cache.get("u", &ids[2]).is_some());
    }

    #[test]
    fn two_thousand_endpoints_stay_cached_together() {
        // The bench's standard data: 1,000 users with 2 endpoints each, read in turn.
        let cache = EndpointCache::default();
        let keys: Vec<(String, String)> = (0..1000)
            .flat_map(|u| {
                (0..2).map(move |e| (format!("arn:aws:chime:us-east-1:123456789012:app-instance/a/user/u{u}"), format!("{u}-{e}")))
            })
            .collect();
        for (user, id) in &keys {
            cache.read(user, id, || Ok::<_, ()>(None)).unwrap();
        }
        let cached = keys.iter().filter(|(user, id)| cache.get(user, id).is_some()).count();
        assert!(cached >= 1980, "{cached} of 2,000 endpoints cached");
    }

    #[test]
    fn a_failed_read_keeps_nothing() {
        let cache = EndpointCache::default();
        assert_eq!(cache.read("u", "e", || Err::<Option<EndpointRecord>, _>("broken")), Err("broken"));
        assert_eq!(cache.get("u", "e"), None);
    }
}
