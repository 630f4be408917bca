//! The embedded SQLite store, Carillon's default.
//!
//! - WAL journal with `synchronous=FULL`: a commit is on stable storage before it is answered.
//! - One writer thread owns the only writing connection. It takes every write transaction waiting
//!   in its queue, runs them one after another in one physical transaction, commits once (one
//!   fsync for the whole group) and only then answers each of them: group commit. A closure that
//!   fails after changing rows is undone without touching the others: the physical transaction is
//!   rolled back and the others run again (see `run_group`).
//! - Reads run where they are awaited, on a small pool of read-only connections, each in its own
//!   snapshot transaction. DescribeAppInstanceUserEndpoint's read of one endpoint is answered from
//!   a cache while nothing has been committed since it was read (see `cache`).
//! - An advisory lock on the database file keeps a second server off it, under any path; while the
//!   server runs, the file is its alone (SQLite's `unix-excl` VFS, see [`VFS`]).

mod cache;
mod migrate;
mod tx;

use cache::EndpointCache;
use carillon_store::{BoxFuture, CommitObserver, Store, StoreError, StoreResult, TxAbort, TxFn};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use tokio::sync::oneshot;
use tx::{Prepared, SqliteTx};

/// SQLite as the store uses it, without the store around it: the statements of the two hottest
/// operations, and a connection to an existing database set up as the store sets up its own. For
/// measuring SQLite's own cost beside the store's (`carillon-bench`'s floor); the store never hands
/// out the connections it uses.
pub mod raw {
    pub use crate::tx::{GET_ENDPOINT, UPDATE_ENDPOINT};

    /// The most endpoints the store's cache of Describe's reads holds: a Describe of an endpoint
    /// beyond them runs [`GET_ENDPOINT`].
    pub const ENDPOINT_CACHE_SLOTS: usize = crate::cache::SLOTS;

    /// A connection to the database at `path`, with the settings of the store's writer or, when
    /// `read_only`, of its read connections. Migrations are not applied.
    pub fn connection(path: &std::path::Path, read_only: bool) -> carillon_store::StoreResult<rusqlite::Connection> {
        crate::open_connection(&crate::Location::File(path.to_path_buf()), read_only)
    }
}

/// SQLite's Unix VFS in its exclusive flavour: the first connection takes a POSIX lock on the
/// whole file for the process, and the WAL index lives in the process's memory instead of a
/// shared `-shm` file. The connections of this process share both, so a read transaction takes
/// its WAL read mark without the two `fcntl` system calls the shared flavour makes (about 4 µs of
/// a Describe's 30, measured in BENCHMARKS.md). Another process cannot open the database while
/// the server has it (its SQLite answers "database is locked"); the advisory lock of `take_lock`
/// already keeps a second server off it. Durability is unchanged: the WAL file is what recovery
/// reads, and the index is rebuilt from it on open.
const VFS: &std::ffi::CStr = c"unix-excl";

/// The page cache of each connection, in KiB.
const CACHE_KIB: u32 = 8 * 1024;

/// The most transactions one group commit takes.
const MAX_GROUP: usize = 512;

type Reply = oneshot::Sender<Result<(), TxAbort>>;

enum Job {
    /// A transaction closure; `bool` says whether it may write.
    Run(TxFn, Reply, bool),
    Close(oneshot::Sender<()>),
}

/// Read connections kept open for reuse; more are opened under load and closed after.
const MAX_IDLE_READERS: usize = 8;

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Memory,
}

/// The SQLite store. Cheap to clone; all clones share one writer thread.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    /// Physical transactions committed, and write closures answered: their ratio is the group
    /// commit's batching.
    stats: Arc<GroupStats>,
    /// Endpoints read by one-statement reads; the writer counts its commits in it.
    endpoints: Arc<EndpointCache>,
    closed: std::sync::atomic::AtomicBool,
    readers: Mutex<Vec<Connection>>,
    location: Location,
    /// Held for as long as the store is open; its lock keeps other servers away.
    lock: Mutex<Option<File>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database, takes its lock and applies pending migrations.
    pub fn open(location: Location) -> StoreResult<SqliteStore> {
        let lock = match &location {
            Location::File(path) => Some(take_lock(path)?),
            Location::Memory => None,
        };
        let mut conn = open_connection(&location, false)?;
        migrate::apply(&mut conn)?;
        let (tx, rx) = mpsc::channel();
        let stats = Arc::new(GroupStats::default());
        let writer_stats = stats.clone();
        let endpoints = Arc::new(EndpointCache::default());
        let writer_endpoints = endpoints.clone();
        std::thread::Builder::new()
            .name("carillon-sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx, &writer_stats, &writer_endpoints))
            .map_err(|e| StoreError::Internal(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer: Mutex::new(Some(tx)),
                stats,
                endpoints,
                closed: Default::default(),
                readers: Mutex::new(Vec::new()),
                location,
                lock: Mutex::new(lock),
            }),
        })
    }

    fn submit(&self, f: TxFn, writable: bool) -> BoxFuture<'_, Result<(), TxAbort>> {
        let (reply, answer) = oneshot::channel();
        let sent = match self.inner.writer.lock() {
            Ok(guard) => guard.as_ref().map(|w| w.send(Job::Run(f, reply, writable)).is_ok()).unwrap_or(false),
            Err(_) => false,
        };
        Box::pin(async move {
            if !sent {
                return Err(TxAbort::Store(StoreError::Unavailable("the store is closed".into())));
            }
            answer.await.unwrap_or_else(|_| Err(TxAbort::Store(StoreError::Unavailable("the store is closed".into()))))
        })
    }

    /// (physical commits, write transactions committed) since the store opened.
    pub fn group_commit_stats(&self) -> (u64, u64) {
        (self.inner.stats.commits.load(Ordering::Relaxed), self.inner.stats.transactions.load(Ordering::Relaxed))
    }

    /// Runs `f` on a read connection: in a transaction, or, for a read of one statement
    /// (`one`), outside any, where SQLite runs the statement in a read transaction of its own.
    fn read_on_reader(&self, mut f: TxFn, one: bool) -> BoxFuture<'_, Result<(), TxAbort>> {
        if self.inner.location == Location::Memory {
            // One connection holds an in-memory database: reads queue with the writes.
            return self.submit(f, false);
        }
        // A read of a page-cached database takes microseconds: it runs right where it is awaited,
        // which costs far less than handing it to another thread and back.
        Box::pin(async move {
            let conn = self.take_reader().map_err(TxAbort::Store)?;
            if !one {
                run(&conn, "BEGIN").map_err(|e| TxAbort::Store(tx::map_err(e)))?;
            }
            let mut tx = if one { SqliteTx::one_statement(&conn, &self.inner.endpoints) } else { SqliteTx::new(&conn, false) };
            let out = catch_unwind(AssertUnwindSafe(|| f(&mut tx)))
                .unwrap_or_else(|_| Err(TxAbort::Store(StoreError::Internal("a read transaction panicked".into()))));
            // Only a connection whose transaction ended goes back to the pool.
            let ended = if one { conn.is_autocommit() } else { run(&conn, "COMMIT").is_ok() };
            if ended
                && let Ok(mut readers) = self.inner.readers.lock()
                && readers.len() < MAX_IDLE_READERS
            {
                readers.push(conn);
            }
            out
        })
    }

    fn take_reader(&self) -> StoreResult<Connection> {
        if self.inner.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(StoreError::Unavailable("the store is closed".into()));
        }
        if let Some(conn) = self.inner.readers.lock().ok().and_then(|mut r| r.pop()) {
            return Ok(conn);
        }
        open_connection(&self.inner.location, true)
    }
}

impl Store for SqliteStore {
    fn write(&self, f: TxFn) -> BoxFuture<'_, Result<(), TxAbort>> {
        self.submit(f, true)
    }

    fn read(&self, f: TxFn) -> BoxFuture<'_, Result<(), TxAbort>> {
        self.read_on_reader(f, false)
    }

    fn read_one(&self, f: TxFn) -> BoxFuture<'_, Result<(), TxAbort>> {
        self.read_on_reader(f, true)
    }

    fn check(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let probe: TxFn = Box::new(|tx| tx.token_secret().map(|_| ()).map_err(TxAbort::Store));
            match self.read(probe).await {
                Ok(()) => Ok(()),
                Err(TxAbort::Store(e)) => Err(e),
                Err(TxAbort::Caller) => Err(StoreError::Internal("health probe failed".into())),
            }
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.inner.closed.store(true, std::sync::atomic::Ordering::Release);
            let writer = self.inner.writer.lock().ok().and_then(|mut w| w.take());
            if let Some(writer) = writer {
                let (done, wait) = oneshot::channel();
                if writer.send(Job::Close(done)).is_ok() {
                    let _ = wait.await;
                }
            }
            if let Ok(mut readers) = self.inner.readers.lock() {
                readers.clear();
            }
            if let Ok(mut lock) = self.inner.lock.lock() {
                lock.take();
            }
        })
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn set_commit_observer(&self, observer: CommitObserver) {
        let _ = self.inner.stats.observer.set(observer);
    }
}

/// Locks the database file itself (an advisory `flock`, which SQLite's own POSIX locks do not
/// touch), so that a second server is kept off it under any path: another spelling, a symbolic
/// or a hard link.
fn take_lock(path: &Path) -> StoreResult<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(StoreError::Unavailable(format!("the database {} is in use by another carillon server", path.display())))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Unavailable(format!("cannot lock {}: {e}", path.display()))),
    }
}

fn open_connection(location: &Location, read_only: bool) -> StoreResult<Connection> {
    let conn = match location {
        Location::Memory => Connection::open_in_memory(),
        Location::File(path) => {
            let flags = if read_only {
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
            } else {
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
            };
            Connection::open_with_flags_and_vfs(path, flags, VFS)
        }
    }
    .map_err(|e| StoreError::Unavailable(format!("cannot open the database: {e}")))?;
    conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(tx::map_err)?;
    conn.set_prepared_statement_cache_capacity(128);
    // Plans never depend on the values bound. Without this, SQLite marks a statement whose plan a
    // bound `LIMIT ?n` could change, and binding it again (every execution) re-prepares it: parsed
    // and planned again, about 146,000 instructions each time, on every page read and every
    // member's endpoints read by a push.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(tx::map_err)?;
    if let Location::File(_) = location {
        if !read_only {
            let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(tx::map_err)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::Unavailable(format!("the database cannot use WAL (journal mode {mode})")));
            }
        }
        conn.execute_batch("PRAGMA synchronous=FULL;").map_err(tx::map_err)?;
        // A bigger page cache than SQLite's 2 MB default keeps the interior and hot leaf pages of
        // the indexes of a large database in memory instead of reading them by system call.
        conn.execute_batch(&format!("PRAGMA cache_size=-{};", CACHE_KIB)).map_err(tx::map_err)?;
    }
    if read_only {
        conn.execute_batch("PRAGMA query_only=ON;").map_err(tx::map_err)?;
    }
    Ok(conn)
}

#[derive(Default)]
struct GroupStats {
    commits: AtomicU64,
    transactions: AtomicU64,
    /// Told of each physical commit: the write transactions it made durable, and its duration.
    observer: OnceLock<CommitObserver>,
}

/// Runs one transaction-control statement, prepared once per connection and cached (parsing it
/// again on every call showed in profiles of the hot paths).
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>, stats: &GroupStats, endpoints: &EndpointCache) {
    let prepared = Prepared::new(&conn);
    let mut batch: Vec<GroupJob> = Vec::new();
    let mut closing: Option<oneshot::Sender<()>> = None;
    while closing.is_none() {
        let Ok(first) = rx.recv() else { break };
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Run(f, reply, writable) => batch.push((f, Some(reply), writable)),
                Job::Close(done) => closing = Some(done),
            }
            if closing.is_none() && batch.len() < MAX_GROUP {
                next = rx.try_recv().ok();
            }
        }
        run_group(&prepared, &mut batch, stats, endpoints);
        batch.clear();
    }
    drop(prepared);
    drop(conn);
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

/// A write transaction of a group: its closure, kept until the group ends since it may run again;
/// its reply, taken when it is answered; whether it may write.
type GroupJob = (TxFn, Option<Reply>, bool);

/// Runs a group of write transactions inside one physical transaction and answers them after its
/// commit. If SQLite drops the physical transaction midway (disk full, I/O error), everything run so
/// far is answered with that error and the rest start over in a new transaction.
///
/// The jobs run one after another with no savepoint each: a savepoint's two statements, and its copy
/// of each page a job first touches, cost about 6% of an update. A job that must not keep what it did
/// (it failed, or it only reads) but changed rows is undone with the whole physical transaction: it
/// is rolled back, and every job that had run in it runs again, in order, in a new one. Closures may
/// run more than once (`carillon_store`), and each run overwrites the last one's result. The job
/// undone does not run again, so each undo leaves one job fewer and a group always ends.
fn run_group(prepared: &Prepared<'_>, jobs: &mut [GroupJob], stats: &GroupStats, endpoints: &EndpointCache) {
    let conn = prepared.connection();
    // Transaction control, on statements prepared once for the writer's connection.
    let run = |sql: &'static str| prepared.with(sql, |s| s.execute([]).map(|_| ()));
    let answer = |jobs: &mut [GroupJob], i: usize, out: Result<(), TxAbort>| {
        if let Some(reply) = jobs[i].1.take() {
            let _ = reply.send(out);
        }
    };
    // What is still to run, in order, and what ran in the current physical transaction, with its
    // outcome.
    let mut queue: std::collections::VecDeque<usize> = (0..jobs.len()).collect();
    let mut done: Vec<(usize, Result<(), TxAbort>)> = Vec::with_capacity(jobs.len());
    let mut open = false;
    while let Some(i) = queue.pop_front() {
        if !open {
            if let Err(e) = run("BEGIN IMMEDIATE") {
                answer(jobs, i, Err(TxAbort::Store(tx::map_err(e))));
                continue;
            }
            open = true;
        }
        let before = conn.total_changes();
        let writable = jobs[i].2;
        let f = &mut jobs[i].0;
        let out = catch_unwind(AssertUnwindSafe(|| f(&mut SqliteTx::with_prepared(prepared, writable))))
            .unwrap_or_else(|_| Err(TxAbort::Store(StoreError::Internal("a write transaction panicked".into()))));
        if conn.is_autocommit() {
            // The physical transaction is gone: nothing of this group is committed. A closure that
            // chose its own error keeps it (it wrote nothing that could have survived anyway).
            let lost = |out: Result<(), TxAbort>| match out {
                Err(TxAbort::Caller) => Err(TxAbort::Caller),
                _ => Err(TxAbort::Store(StoreError::Unavailable("the database could not complete the write".into()))),
            };
            for (j, earlier) in std::mem::take(&mut done) {
                answer(jobs, j, lost(earlier));
            }
            answer(jobs, i, lost(out));
            open = false;
            continue;
        }
        if (out.is_ok() && writable) || conn.total_changes() == before {
            // Kept, or nothing of it to undo (a read, or a refusal before any write).
            done.push((i, out));
            continue;
        }
        // It must not keep rows it changed: undo the physical transaction, and run again, first,
        // every job that had run in it. Its own failure stands whatever becomes of the group.
        let _ = run("ROLLBACK");
        open = false;
        answer(jobs, i, out);
        for (j, _) in std::mem::take(&mut done).into_iter().rev() {
            queue.push_front(j);
        }
    }
    if !open {
        return;
    }
    let started = Instant::now();
    // Every commit goes through the cache's count, which makes what it cached stale.
    match endpoints.commits().around(|| run("COMMIT")) {
        Ok(()) => {
            // The commit is on stable storage (WAL, synchronous=FULL): only now is anyone answered.
            let took = started.elapsed();
            let committed = done.iter().filter(|(i, out)| out.is_ok() && jobs[*i].2).count();
            stats.commits.fetch_add(1, Ordering::Relaxed);
            stats.transactions.fetch_add(done.iter().filter(|(_, out)| out.is_ok()).count() as u64, Ordering::Relaxed);
            // Observed before anyone is answered, so that an answered write is always counted;
            // only groups that wrote (reads of an in-memory database queue here too).
            if committed > 0
                && let Some(observe) = stats.observer.get()
            {
                let _ = catch_unwind(AssertUnwindSafe(|| observe(committed, took)));
            }
            for (i, out) in done {
                answer(jobs, i, out);
            }
        }
        Err(e) => {
            let err = tx::map_err(e);
            let _ = run("ROLLBACK");
            for (i, out) in done {
                let out = match out {
                    Err(TxAbort::Caller) => Err(TxAbort::Caller),
                    _ => Err(TxAbort::Store(err.clone())),
                };
                answer(jobs, i, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test fails by panicking
    use super::*;

    /// A group with a write that fails after changing rows: it is undone alone, the jobs before it
    /// run again, and every job is answered with its own outcome.
    #[test]
    fn a_write_that_fails_after_writing_is_undone_alone() {
        use carillon_store::AppInstanceRecord;
        use std::sync::atomic::AtomicUsize;
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open_connection(&Location::File(dir.path().join("group.db")), false).unwrap();
        migrate::apply(&mut conn).unwrap();
        let prepared = Prepared::new(&conn);
        let record = |name: &str| AppInstanceRecord {
            seq: 0,
            arn: format!("arn:aws:chime:us-east-1:111122223333:app-instance/{name}"),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            name: name.into(),
            metadata: None,
            created_ms: 0,
            updated_ms: 0,
            retention_days: None,
            retention_set_ms: None,
        };
        // (what it inserts, whether it then refuses, whether it may write)
        let plan = [(Some("a"), false, true), (Some("b"), true, true), (None, true, true), (Some("c"), false, true), (None, false, false)];
        let runs: Vec<Arc<AtomicUsize>> = plan.iter().map(|_| Arc::default()).collect();
        let mut batch = Vec::new();
        let mut answers = Vec::new();
        for ((insert, refuse, writable), count) in plan.into_iter().zip(&runs) {
            let (count, r) = (count.clone(), insert.map(record));
            let f: TxFn = Box::new(move |tx| {
                count.fetch_add(1, Ordering::Relaxed);
                if let Some(r) = &r {
                    tx.insert_app_instance(r).map_err(TxAbort::Store)?;
                }
                if refuse { Err(TxAbort::Caller) } else { Ok(()) }
            });
            let (reply, answer) = oneshot::channel();
            batch.push((f, Some(reply), writable));
            answers.push(answer);
        }
        run_group(&prepared, &mut batch, &GroupStats::default(), &EndpointCache::default());
        let outcomes: Vec<String> = answers.into_iter().map(|mut a| format!("{:?}", a.try_recv().unwrap())).collect();
        assert_eq!(outcomes, ["Ok(())", "Err(Caller)", "Err(Caller)", "Ok(())", "Ok(())"]);
        let mut names = conn.prepare("SELECT name FROM app_instances ORDER BY name").unwrap();
        let names: Vec<String> = names.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        assert_eq!(names, ["a", "c"]);
        // "a" ran again after "b" was undone; the refusal that wrote nothing was not undone.
        let runs: Vec<usize> = runs.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        assert_eq!(runs, [2, 1, 1, 1, 1]);
    }

    #[test]
    fn a_page_read_again_is_not_prepared_again() {
        let conn = open_connection(&Location::Memory, false).unwrap();
        conn.execute_batch("CREATE TABLE t (k TEXT, seq INTEGER PRIMARY KEY); CREATE INDEX t_k ON t (k, seq);").unwrap();
        let mut page = conn.prepare("SELECT seq FROM t WHERE k = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3").unwrap();
        for limit in [10_i64, 50, 100] {
            page.query_map(rusqlite::params!["a", 0, limit], |r| r.get::<_, i64>(0)).unwrap().for_each(drop);
        }
        assert_eq!(page.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }
}
