//! The PostgreSQL store: Carillon's [`Store`] on a PostgreSQL database, for several servers
//! sharing one database.
//!
//! # Design
//!
//! - **Driver.** [`tokio_postgres`]. The trait's transaction closures are synchronous
//!   (`FnMut(&mut dyn Tx)`), so each transaction runs on a blocking thread of a small tokio
//!   runtime private to the store, and each connection has a current-thread runtime of its own:
//!   the transaction's thread waits for each statement with `Runtime::block_on`, which writes the
//!   request, waits on the socket and reads the answer on that thread. A transaction crosses
//!   threads twice (to the blocking thread and back), not twice per statement as it would if one
//!   I/O thread drove every connection. This keeps the server's own runtime free of blocking
//!   work, bounds every wait with a client-side timeout (a server that stops answering cannot
//!   hang a request, as it could with the blocking `postgres` crate, whose calls have no
//!   timeout), and makes the store independent of the caller's runtime: its futures only await
//!   tasks of the private runtime, and it may be dropped anywhere (every runtime is shut down in
//!   the background).
//! - **Pool.** A fixed number of connections ([`PostgresOptions::pool_size`], 16 by default): a
//!   semaphore admits that many transactions at once and the others queue, up to
//!   [`PostgresOptions::acquire_timeout`]. Connections are opened lazily and kept idle for reuse;
//!   one that broke (closed by the server, timed out, protocol error) is dropped and a new one is
//!   opened by the next request, so the store recovers by itself when the database comes back.
//!   While the database cannot be reached, requests fail at once with `Unavailable` for half a
//!   second after each failed connect instead of each waiting out its own connect timeout.
//! - **Timeouts.** `connect_timeout` (2 s) and TCP keepalives on every connection, and per session
//!   `statement_timeout` (5 s), `lock_timeout` (2 s) and `idle_in_transaction_session_timeout`;
//!   the client gives up on any statement 1 s after the server should have, and on a connect
//!   attempt (DNS, TCP, startup, authentication) 1 s after `connect_timeout`.
//! - **Writes** run in `READ COMMITTED` transactions: the service takes a transaction-level
//!   advisory lock ([`Tx::lock`], `pg_advisory_xact_lock`) on the owner of every collection whose
//!   rules it checks before writing, so that racing writers on any number of nodes queue for the
//!   owner instead of aborting one another, and each statement after the lock sees every write
//!   committed before it; uniqueness is also backed by UNIQUE constraints. A serialization failure
//!   or deadlock (SQLSTATE 40001, 40P01) is recorded by the [`Tx`] when it happens; after the closure returns, whatever
//!   it returned (its own error, built from the `StoreError`, or even `Ok` after swallowing it),
//!   the transaction is rolled back and the closure runs again, up to
//!   [`PostgresOptions::max_attempts`] times with a short jittered exponential backoff (1 to 64
//!   ms). Inserts run behind a savepoint, so a uniqueness violation (23505, mapped to
//!   `StoreError::Conflict`) leaves the transaction usable, as on SQLite; any other failed
//!   statement aborts the transaction, and later operations in it return the same error.
//! - **Updates** name only the members they change and compute `updated_ms` from the stored
//!   value, in one `UPDATE` statement, which PostgreSQL applies to the newest committed version of
//!   the row: two updates of one resource, on any nodes, never undo each other.
//! - **Text**: TEXT cannot hold U+0000, so every text parameter is escaped and every text column
//!   unescaped (see `text`): every value the model admits round-trips.
//! - **Reads** run in `REPEATABLE READ READ ONLY` transactions (a one-statement read runs in
//!   a transaction of its own, below); writes through their `Tx` fail with
//!   `StoreError::Internal` without reaching the database.
//! - **Round trips.** A transaction's `BEGIN` is sent with its first statement, and an insert's
//!   savepoint with the insert: a write is at least two round trips (the statement, then
//!   `COMMIT`), a read two. A transaction that runs no statement sends nothing.
//!   A one-statement read ([`Store::read_one`]) is one round trip: its statement goes out
//!   without `BEGIN` and runs in PostgreSQL's implicit transaction, one snapshot; if the
//!   connection turns out closed, it runs on another, as a failure to begin does. A
//!   one-statement write ([`Store::write_one`]) is one too: its statement goes out without
//!   `BEGIN`, and PostgreSQL commits it before answering (its implicit transaction, with the
//!   same `READ COMMITTED` rules), on a connection that answered within the last second; on one
//!   idle for longer it goes out with `BEGIN` as above, which finds out, at no risk, whether the
//!   server closed the connection meanwhile. In both a second statement, or an insert, fails
//!   without being sent.
//! - **Errors.** Connection failures, timeouts, a read-only or overloaded server map to
//!   `Unavailable`; unique violations to `Conflict`; the rest to `Internal`. A panic inside a
//!   closure is caught, its transaction rolled back (or its connection dropped), and it answers
//!   `Internal`.
//! - **Cancellation.** Each transaction runs as a task of the private runtime: a caller that
//!   stops waiting (a dropped request future) does not cut it short; it commits or rolls back as
//!   it would have, and its connection goes back to the pool.
//! - **Migrations** run when connecting, under a transaction-level advisory lock (see `migrate`).
//!
//! TLS is not supported yet: connections are made with `NoTls` (`sslmode=require` fails).

mod migrate;
mod redact;
mod text;
mod tx;

pub use redact::redact;

use carillon_store::{BoxFuture, CommitObserver, Store, StoreError, StoreResult, Tx, TxAbort, TxFn};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio_postgres::Config;
use tx::{Conn, Failure, Fault, PgTx, classify};

/// The advisory lock key of a database's occupancy: "carillon" in ASCII, plus one (the
/// migrations' key is "carillon").
const OCCUPANCY_KEY: i64 = 0x6361_7269_6c6c_6f6f;

/// How a process uses a database (see [`PostgresStore::occupy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occupancy {
    /// A server: others may share it.
    Shared,
    /// An offline tool that replaces the state: no one else may use it meanwhile.
    Sole,
}

/// How long requests fail at once after a connection attempt failed.
const CONNECT_BACKOFF: Duration = Duration::from_millis(500);
/// How much longer than the server's own timeouts the client waits for an answer.
const CLIENT_MARGIN: Duration = Duration::from_secs(1);
/// How long `close` waits for transactions in flight.
const CLOSE_WAIT: Duration = Duration::from_secs(30);

/// Tuning of a [`PostgresStore`]; [`PostgresStore::connect`] uses the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// Connections, and so transactions running at once. Default 16: a transaction mostly waits
    /// for the database (a write, for its commit's flush), and the more commits wait at once, the
    /// more of them one flush of PostgreSQL's WAL makes durable. On two cores, Update at 32
    /// connections went from about 5,000 req/s with 8 to about 6,300 with 16 (and 6,400 with
    /// 32, where Describe fell back); see BENCHMARKS.md.
    pub pool_size: usize,
    /// For each connection attempt, unless the URL sets `connect_timeout`. Default 2 s.
    pub connect_timeout: Duration,
    /// The server's `statement_timeout` for each statement. Default 5 s.
    pub statement_timeout: Duration,
    /// The server's `lock_timeout`. Default 2 s.
    pub lock_timeout: Duration,
    /// The server's `idle_in_transaction_session_timeout`: a transaction whose closure stalls is
    /// ended by the server and its locks freed. Default 60 s.
    pub idle_in_transaction_timeout: Duration,
    /// How long a transaction waits for a free connection. Default 10 s.
    pub acquire_timeout: Duration,
    /// Runs of a write closure when serialization failures repeat. Default 25.
    pub max_attempts: u32,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            pool_size: 16,
            connect_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(2),
            idle_in_transaction_timeout: Duration::from_secs(60),
            acquire_timeout: Duration::from_secs(10),
            max_attempts: 25,
        }
    }
}

/// The PostgreSQL store. Cheap to clone; all clones share one pool.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    /// The connection that holds the database's occupancy lock (see [`PostgresStore::occupy`]).
    occupant: Mutex<Option<Conn>>,
    /// Only here, never in the tasks: the runtime is dropped with the last store handle.
    _runtime: IoRuntime,
}

/// What the transactions running on the blocking threads share.
struct Shared {
    config: Config,
    /// The URL with its password hidden, for messages.
    url: String,
    options: PostgresOptions,
    handle: Handle,
    idle: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
    closed: AtomicBool,
    last_connect_failure: Mutex<Option<(Instant, StoreError)>>,
    /// Told of each committed write transaction (a batch of one) and its commit's duration.
    commit_observer: OnceLock<CommitObserver>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.inner.shared;
        f.debug_struct("PostgresStore").field("url", &s.url).field("options", &s.options).finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/dbname?...`, or the
    /// `key=value` form) with the default [`PostgresOptions`], and applies pending migrations.
    ///
    /// Async: it opens one connection for the migrations, and may wait (up to a minute) for
    /// another server that is migrating the same database. It does not need to be polled by a
    /// tokio runtime (the store brings its own), so it works from `#[tokio::main]` as well as
    /// anywhere else. Fails with `Unavailable` when the database cannot be reached and with
    /// `Internal` for an invalid URL.
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// [`PostgresStore::connect`] with the given options.
    pub async fn connect_with(url: &str, options: PostgresOptions) -> StoreResult<PostgresStore> {
        let redacted = redact(url);
        let mut config: Config = url.parse().map_err(|e| StoreError::Internal(format!("invalid PostgreSQL URL {redacted}: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(options.statement_timeout + CLIENT_MARGIN * 2);
        }
        config.keepalives(true).keepalives_idle(Duration::from_secs(30)).keepalives_interval(Duration::from_secs(5)).keepalives_retries(3);
        if config.get_application_name().is_none() {
            config.application_name("carillon");
        }
        let options = PostgresOptions { pool_size: options.pool_size.max(1), max_attempts: options.max_attempts.max(1), ..options };
        let runtime = IoRuntime::new(options.pool_size)?;
        let shared = Arc::new(Shared {
            config,
            url: redacted,
            handle: runtime.handle(),
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(options.pool_size)),
            closed: AtomicBool::new(false),
            last_connect_failure: Mutex::new(None),
            commit_observer: OnceLock::new(),
            options,
        });
        let store = PostgresStore { inner: Arc::new(Inner { shared: shared.clone(), occupant: Mutex::new(None), _runtime: runtime }) };
        let migrating = shared.clone();
        let migrated = shared.handle.spawn_blocking(move || migrating.migrate()).await;
        match migrated {
            Ok(Ok(())) => Ok(store),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(StoreError::Internal("the migration task failed".into())),
        }
    }

    /// Marks the database as used by this process, on a connection of its own held until the
    /// store closes: `Shared` for a server (any number of servers share a database), `Sole` for an
    /// offline tool that replaces its state, which fails with `Unavailable` while a server or
    /// another tool holds the database. (A PostgreSQL session-level advisory lock: it goes with
    /// the connection, so a crashed process never leaves it behind.)
    pub async fn occupy(&self, how: Occupancy) -> StoreResult<()> {
        let shared = self.inner.shared.clone();
        let task = tokio::task::spawn_blocking(move || -> StoreResult<Conn> {
            let conn = shared.open_now()?;
            let limit = shared.limit();
            let held = match how {
                Occupancy::Shared => {
                    conn.wait(limit, conn.client.execute("SELECT pg_advisory_lock_shared($1)", &[&OCCUPANCY_KEY])).map(|_| true)
                }
                Occupancy::Sole => conn
                    .wait(limit, conn.client.query_one("SELECT pg_try_advisory_lock($1)", &[&OCCUPANCY_KEY]))
                    .map(|row| row.get::<_, bool>(0)),
            };
            match held {
                Ok(true) => Ok(conn),
                Ok(false) => {
                    conn.discard();
                    Err(StoreError::Unavailable("the database is in use by a running Carillon server".into()))
                }
                Err(f) => {
                    conn.discard();
                    Err(classify(&f).0)
                }
            }
        });
        let conn = task.await.map_err(|_| StoreError::Internal("the occupancy task failed".into()))??;
        if let Some(old) = lock(&self.inner.occupant).replace(conn) {
            old.discard();
        }
        Ok(())
    }

    /// The URL the store connects to, its password hidden.
    pub fn url(&self) -> &str {
        &self.inner.shared.url
    }

    /// Runs `f` on a blocking thread of the store's runtime, which waits for a connection, then
    /// drives that connection itself: the request crosses threads once each way.
    fn run(&self, f: TxFn, kind: Kind) -> BoxFuture<'_, Result<(), TxAbort>> {
        let shared = self.inner.shared.clone();
        let queued = Instant::now();
        let job = self.inner.shared.handle.spawn_blocking(move || {
            let permit = shared.permit(queued).map_err(TxAbort::Store)?;
            let out = shared.transaction(f, kind);
            drop(permit);
            out
        });
        Box::pin(async move { job.await.unwrap_or_else(|e| Err(TxAbort::Store(task_failed(e, "a transaction task failed")))) })
    }
}

/// What a blocking task that did not finish answers: it panicked, or the store's runtime went.
fn task_failed(e: tokio::task::JoinError, what: &str) -> StoreError {
    if e.is_panic() { StoreError::Internal(what.into()) } else { closed() }
}

impl Store for PostgresStore {
    fn write(&self, f: TxFn) -> BoxFuture<'_, Result<(), TxAbort>> {
        self.run(f, Kind::Write)
    }

    fn write_one(&self, f: TxFn) -> BoxFuture<'_, Result<(), TxAbort>> {
        self.run(f, Kind::WriteOne)
    }

    fn read(&self, f: TxFn) -> BoxFuture<'_, Result<(), TxAbort>> {
        self.run(f, Kind::Read)
    }

    fn read_one(&self, f: TxFn) -> BoxFuture<'_, Result<(), TxAbort>> {
        self.run(f, Kind::ReadOne)
    }

    fn check(&self) -> BoxFuture<'_, StoreResult<()>> {
        let shared = self.inner.shared.clone();
        let queued = Instant::now();
        let job = self.inner.shared.handle.spawn_blocking(move || {
            let permit = shared.permit(queued)?;
            let out = shared.probe();
            drop(permit);
            out
        });
        Box::pin(async move { job.await.unwrap_or_else(|e| Err(task_failed(e, "the health probe failed"))) })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        if let Some(occupant) = lock(&self.inner.occupant).take() {
            occupant.discard();
        }
        let shared = self.inner.shared.clone();
        shared.closed.store(true, Ordering::SeqCst);
        let task = self.inner.shared.handle.spawn(async move {
            // Wait for the transactions in flight: each holds a permit until it is answered.
            let all = u32::try_from(shared.options.pool_size).unwrap_or(u32::MAX);
            let drained = tokio::time::timeout(CLOSE_WAIT, shared.permits.acquire_many(all)).await;
            shared.permits.close();
            drop(drained);
            // Dropping a connection closes its socket; PostgreSQL ends the session, which holds
            // no transaction.
            let idle = std::mem::take(&mut *lock(&shared.idle));
            drop(idle);
        });
        Box::pin(async move {
            let _ = task.await;
        })
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn set_commit_observer(&self, observer: CommitObserver) {
        let _ = self.inner.shared.commit_observer.set(observer);
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("the store is closed".into())
}

/// Locks a mutex whatever a panic elsewhere did: what the store keeps under its locks (idle
/// connections, the last connect failure) stays valid at every step.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a transaction closure may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    /// A read of at most one statement ([`Store::read_one`]).
    ReadOne,
    Write,
    /// A write of at most one statement ([`Store::write_one`]).
    WriteOne,
}

/// How recently a connection must have answered for a one-statement write to go out on it
/// without `BEGIN`. On a connection idle for longer, the `BEGIN` sent with the statement also
/// finds out whether the server still holds the connection (it may have closed it meanwhile):
/// when it does not, nothing ran, and another connection runs the write. A statement sent alone
/// on a connection that turns out closed may or may not have committed, so the write fails.
const ALONE_WITHIN: Duration = Duration::from_secs(1);

/// How one run of a transaction closure ended.
enum Attempt {
    Done(Result<(), TxAbort>),
    /// A serialization failure or deadlock: run the closure again.
    Retry(StoreError),
    /// The connection failed before anything ran on it: try another one.
    Stale(StoreError),
}

impl Shared {
    /// A connection's permit, for a transaction queued at `queued`: it waits at most
    /// `acquire_timeout` from then, on the calling (blocking) thread.
    fn permit(&self, queued: Instant) -> StoreResult<OwnedSemaphorePermit> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(closed());
        }
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(TryAcquireError::Closed) => return Err(closed()),
            Err(TryAcquireError::NoPermits) => {
                let left = self.options.acquire_timeout.saturating_sub(queued.elapsed());
                match self.handle.block_on(tokio::time::timeout(left, self.permits.clone().acquire_owned())) {
                    Ok(Ok(p)) => p,
                    Ok(Err(_)) => return Err(closed()),
                    Err(_) => {
                        return Err(StoreError::Unavailable(format!(
                            "all {} database connections stayed busy for {:?}",
                            self.options.pool_size, self.options.acquire_timeout
                        )));
                    }
                }
            }
        };
        if self.closed.load(Ordering::SeqCst) {
            return Err(closed());
        }
        Ok(permit)
    }

    /// The longest wait for one statement.
    fn limit(&self) -> Duration {
        self.options.statement_timeout.max(self.options.lock_timeout) + CLIENT_MARGIN
    }

    fn migrate(&self) -> StoreResult<()> {
        let conn = self.open_now()?;
        match migrate::apply(&conn) {
            Ok(()) => {
                self.checkin(conn);
                Ok(())
            }
            Err(e) => {
                conn.discard();
                Err(e)
            }
        }
    }

    /// An idle connection (and `false`), or a new one (and `true`).
    fn checkout(&self) -> StoreResult<(Conn, bool)> {
        loop {
            let next = lock(&self.idle).pop();
            match next {
                Some(conn) if conn.client.is_closed() => conn.discard(),
                Some(conn) => return Ok((conn, false)),
                None => break,
            }
        }
        if let Some((at, e)) = lock(&self.last_connect_failure).as_ref()
            && at.elapsed() < CONNECT_BACKOFF
        {
            return Err(e.clone());
        }
        let opened = self.open_now();
        *lock(&self.last_connect_failure) = opened.as_ref().err().map(|e| (Instant::now(), e.clone()));
        opened.map(|conn| (conn, true))
    }

    fn checkin(&self, conn: Conn) {
        if conn.client.is_closed() || self.closed.load(Ordering::SeqCst) {
            return;
        }
        lock(&self.idle).push(conn);
    }

    /// Opens a connection and sets its session's timeouts.
    fn open_now(&self) -> StoreResult<Conn> {
        let unavailable = |f: Failure| {
            let why = match f {
                Failure::Timeout => "timed out".to_string(),
                // Only a transaction's first statement can fail so; connecting runs none.
                Failure::RanOutsideTransaction | Failure::NotOneStatement(_) => classify(&f).0.to_string(),
                Failure::Db(e) => match e.as_db_error() {
                    Some(db) => format!("{} ({})", db.message(), db.code().code()),
                    None => e.to_string(),
                },
            };
            // The driver's text names no password, but nothing that reaches a log may: hide any.
            StoreError::Unavailable(format!("cannot connect to {}: {}", self.url, redact(&why)))
        };
        let limit = self.config.get_connect_timeout().copied().unwrap_or(self.options.connect_timeout) + CLIENT_MARGIN;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Internal(format!("cannot start a connection's runtime: {e}")))?;
        let conn = Conn::open(rt, &self.config, limit).map_err(unavailable)?;
        let settings = format!(
            "SET statement_timeout = {}; SET lock_timeout = {}; SET idle_in_transaction_session_timeout = {};",
            self.options.statement_timeout.as_millis(),
            self.options.lock_timeout.as_millis(),
            self.options.idle_in_transaction_timeout.as_millis()
        );
        match conn.wait(limit, conn.client.batch_execute(&settings)) {
            Ok(()) => Ok(conn),
            Err(f) => {
                conn.discard();
                Err(unavailable(f))
            }
        }
    }

    fn rollback(&self, conn: Conn) -> Option<Conn> {
        match conn.wait(self.limit(), conn.client.batch_execute("ROLLBACK")) {
            Ok(()) => Some(conn),
            Err(_) => {
                conn.discard();
                None
            }
        }
    }

    /// Runs `f` as one transaction, again after each serialization failure, on a connection that
    /// has not failed before it began.
    fn transaction(&self, mut f: TxFn, kind: Kind) -> Result<(), TxAbort> {
        let mut attempts = 0;
        let mut stale = 0;
        loop {
            let (conn, fresh) = self.checkout().map_err(TxAbort::Store)?;
            let (outcome, conn) = self.attempt(conn, &mut f, kind);
            if let Some(conn) = conn {
                self.checkin(conn);
            }
            match outcome {
                Attempt::Done(out) => return out,
                Attempt::Stale(e) => {
                    // An idle connection the server closed (it restarted, or ended idle sessions):
                    // nothing ran, so another connection may try.
                    stale += 1;
                    if fresh || stale > self.options.pool_size {
                        return Err(TxAbort::Store(e));
                    }
                }
                Attempt::Retry(e) => {
                    attempts += 1;
                    if attempts >= self.options.max_attempts {
                        return Err(TxAbort::Store(StoreError::Unavailable(format!("gave up after {attempts} attempts: {e}"))));
                    }
                    std::thread::sleep(backoff(attempts));
                }
            }
        }
    }

    /// One run of `f` on `conn`; gives the connection back unless it must be dropped. The
    /// transaction's `BEGIN` goes out with its first statement, in one round trip; a closure that
    /// runs no statement begins and commits nothing.
    fn attempt(&self, mut conn: Conn, f: &mut TxFn, kind: Kind) -> (Attempt, Option<Conn>) {
        let limit = self.limit();
        let writable = matches!(kind, Kind::Write | Kind::WriteOne);
        let begin = if writable { "BEGIN ISOLATION LEVEL READ COMMITTED" } else { "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" };
        let mut tx = match kind {
            Kind::WriteOne => {
                let alone = conn.answered_within(ALONE_WITHIN);
                PgTx::one_statement(&mut conn, limit, true, begin, alone)
            }
            // A read sent alone that meets a closed connection changed nothing: it goes to
            // another connection, as a failure to begin does.
            Kind::ReadOne => PgTx::one_statement(&mut conn, limit, false, begin, true),
            Kind::Read | Kind::Write => PgTx::new(&mut conn, limit, writable, begin),
        };
        let started = Instant::now();
        let ran = catch_unwind(AssertUnwindSafe(|| f(&mut tx as &mut dyn Tx)));
        let (failure, begun, failed_to_begin, sent_alone) = (tx.failure.take(), tx.begun(), tx.failed_to_begin(), tx.sent_alone());
        let rollback = |conn: Conn| if begun { self.rollback(conn) } else { Some(conn) };
        if failed_to_begin && let Some((e, fault)) = failure {
            // Nothing of the transaction ran, whatever the closure made of the error.
            return match fault {
                // An idle connection the server closed (a hung one is no such failure: see
                // `PgTx::failed_to_begin`).
                Fault::Broken => {
                    conn.discard();
                    (Attempt::Stale(e), None)
                }
                Fault::Retry => (Attempt::Retry(e), rollback(conn)),
                Fault::Statement => (Attempt::Done(Err(TxAbort::Store(e))), rollback(conn)),
            };
        }
        let out = match ran {
            Ok(out) => out,
            Err(_) => {
                let what = if writable { "a write transaction panicked" } else { "a read transaction panicked" };
                return (Attempt::Done(Err(TxAbort::Store(StoreError::Internal(what.into())))), rollback(conn));
            }
        };
        // The closure's own error wins over the store error it may have been built from.
        let keep_caller = |out: Result<(), TxAbort>, e: StoreError| match out {
            Err(TxAbort::Caller) => Err(TxAbort::Caller),
            _ => Err(TxAbort::Store(e)),
        };
        match failure {
            Some((e, Fault::Retry)) => (Attempt::Retry(e), rollback(conn)),
            Some((e, Fault::Broken)) => {
                conn.discard();
                let e = if sent_alone { StoreError::Unavailable(format!("the write may or may not have happened: {e}")) } else { e };
                (Attempt::Done(keep_caller(out, e)), None)
            }
            Some((e, Fault::Statement)) => (Attempt::Done(keep_caller(out, e)), rollback(conn)),
            None => match out {
                Err(abort) => (Attempt::Done(Err(abort)), rollback(conn)),
                Ok(value) if !begun => {
                    // A statement sent alone committed with its answer.
                    if sent_alone
                        && writable
                        && let Some(observe) = self.commit_observer.get()
                    {
                        let _ = catch_unwind(AssertUnwindSafe(|| observe(1, started.elapsed())));
                    }
                    (Attempt::Done(Ok(value)), Some(conn))
                }
                Ok(value) => match (Instant::now(), conn.wait(limit, conn.client.batch_execute("COMMIT"))) {
                    (started, Ok(())) => {
                        // Each write transaction commits alone: a batch of one.
                        if writable && let Some(observe) = self.commit_observer.get() {
                            // The write is durable whatever the observer does.
                            let _ = catch_unwind(AssertUnwindSafe(|| observe(1, started.elapsed())));
                        }
                        (Attempt::Done(Ok(value)), Some(conn))
                    }
                    (_, Err(failure)) => match classify(&failure) {
                        (e, Fault::Retry) => (Attempt::Retry(e), rollback(conn)),
                        (e, Fault::Broken) => {
                            conn.discard();
                            let e = StoreError::Unavailable(format!("the commit may or may not have happened: {e}"));
                            (Attempt::Done(Err(TxAbort::Store(e))), None)
                        }
                        (e, Fault::Statement) => (Attempt::Done(Err(TxAbort::Store(e))), rollback(conn)),
                    },
                },
            },
        }
    }

    /// `check`: one trivial query, on an idle connection or a new one.
    fn probe(&self) -> StoreResult<()> {
        let mut stale = 0;
        loop {
            let (conn, fresh) = self.checkout()?;
            match conn.wait(self.limit(), conn.client.batch_execute("SELECT 1")) {
                Ok(()) => {
                    self.checkin(conn);
                    return Ok(());
                }
                Err(failure) => {
                    let (e, fault) = classify(&failure);
                    if fault != Fault::Broken {
                        self.checkin(conn);
                        return Err(e);
                    }
                    conn.discard();
                    stale += 1;
                    if fresh || stale > self.options.pool_size || matches!(failure, Failure::Timeout) {
                        return Err(e);
                    }
                }
            }
        }
    }
}

/// A random pause before the next run of a closure: between half and all of 2^attempt ms,
/// capped at 64 ms.
fn backoff(attempt: u32) -> Duration {
    let cap_us = (1u64 << attempt.clamp(1, 6)) * 1000;
    let jitter = getrandom::u64().unwrap_or(0) % (cap_us / 2 + 1);
    Duration::from_micros(cap_us / 2 + jitter)
}

/// The store's private runtime, shut down in the background when the store goes (which may be
/// inside another runtime, where a plain drop of a runtime panics).
struct IoRuntime(Option<Runtime>);

impl IoRuntime {
    fn new(pool_size: usize) -> StoreResult<IoRuntime> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(pool_size + 1)
            .thread_name("carillon-postgres")
            .enable_all()
            .build()
            .map(|rt| IoRuntime(Some(rt)))
            .map_err(|e| StoreError::Internal(format!("cannot start the PostgreSQL runtime: {e}")))
    }

    fn handle(&self) -> Handle {
        match &self.0 {
            Some(rt) => rt.handle().clone(),
            None => unreachable!("the runtime is only taken when dropped"),
        }
    }
}

impl Drop for IoRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_errors_hide_the_password() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        // Nothing listens on port 1: connecting fails, fast, and its error hides the password.
        let started = Instant::now();
        let err = rt.block_on(PostgresStore::connect("postgres://carillon:hunter2@127.0.0.1:1/db")).unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        assert!(!format!("{err:?} {err}").contains("hunter2"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let bad = rt.block_on(PostgresStore::connect("postgres://carillon:hunter2@127.0.0.1:1/db?nonsense=1")).unwrap_err();
        assert!(matches!(bad, StoreError::Internal(_)), "{bad:?}");
        assert!(!format!("{bad:?}").contains("hunter2"), "{bad}");
        let kv = rt.block_on(PostgresStore::connect("host=127.0.0.1 port=1 user=carillon password='hunter2' dbname=db")).unwrap_err();
        assert!(matches!(kv, StoreError::Unavailable(_)), "{kv:?}");
        assert!(!format!("{kv:?} {kv}").contains("hunter2"), "{kv}");
    }

    #[test]
    fn silent_servers_fail_within_the_connect_timeout() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        // A listener that never accepts: the kernel completes the TCP handshake, then nothing
        // answers the startup message.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let options = PostgresOptions { connect_timeout: Duration::from_millis(500), ..PostgresOptions::default() };
        let started = Instant::now();
        let err = rt.block_on(PostgresStore::connect_with(&format!("postgres://u:pw@127.0.0.1:{port}/db"), options)).unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(4), "took {:?}", started.elapsed());
        drop(silent);
    }

    #[test]
    fn backoff_stays_small() {
        for attempt in 0..40 {
            let d = backoff(attempt);
            assert!(d >= Duration::from_micros(1000) && d <= Duration::from_millis(64), "{attempt}: {d:?}");
        }
    }
}
