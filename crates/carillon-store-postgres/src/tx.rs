//! [`Tx`] on one pooled PostgreSQL connection inside an open transaction.
//!
//! Every operation is one statement (an insert also sets a savepoint, pipelined with it, so that a
//! uniqueness violation leaves the transaction usable, as it does on SQLite). The first failure
//! that ends the transaction (a serialization failure, a lost connection, a statement error) is
//! kept in [`PgTx::failure`]; later operations return it without reaching the database, and the
//! runner decides from it, not from what the closure returned, whether to retry, roll back or
//! drop the connection.

use crate::text::{Escaped, unescape};
use carillon_store::*;
use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, NoTls, Row, Statement};

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

/// The columns of a push-outbox entry after its id, in the order of [`push_params`].
macro_rules! push_columns {
    () => {
        "time_ms, account_id, region, app_instance_arn, channel_arn, message_id, sender_arn, recipient_arn, \
         endpoint_id, endpoint_type, resource_arn, device_token_sha256, push_type, title, body, outcome, reason"
    };
}

/// The values of [`push_columns`], the two enums already in their stored text.
fn push_params<'p>(e: &'p PushEntry, endpoint_type: &'p Option<&'static str>, push_type: &'p &'static str) -> [&'p (dyn ToSql + Sync); 17] {
    [
        &e.time_ms,
        &e.account_id,
        &e.region,
        &e.app_instance_arn,
        &e.channel_arn,
        &e.message_id,
        &e.sender_arn,
        &e.recipient_arn,
        &e.endpoint_id,
        endpoint_type,
        &e.resource_arn,
        &e.device_token_sha256,
        push_type,
        &e.title,
        &e.body,
        &e.outcome,
        &e.reason,
    ]
}

/// One open connection of the pool, with the statements prepared on it, and the runtime that
/// drives it.
///
/// The runtime is the connection's own, single-threaded: the thread that waits for a statement
/// (`Runtime::block_on`) also writes the request, waits on the socket and reads the answer
/// itself, with no other thread to hand each statement to and back from. Between statements
/// nothing polls the connection; a server that closed it meanwhile is noticed by the next
/// statement (a failure to begin, which another connection retries).
pub(crate) struct Conn {
    pub client: Client,
    stmts: HashMap<&'static str, Statement>,
    /// When the server last answered a request on this connection.
    answered: Cell<Instant>,
    /// Only `None` once dropped.
    rt: Option<Runtime>,
}

impl Conn {
    /// Opens a connection with `config` on `rt`, a current-thread runtime of its own, giving up
    /// after `limit`.
    pub fn open(rt: Runtime, config: &Config, limit: Duration) -> Result<Conn, Failure> {
        let (client, connection) = match rt.block_on(tokio::time::timeout(limit, config.connect(NoTls))) {
            Ok(Ok(both)) => both,
            Ok(Err(e)) => return Err(Failure::Db(e)),
            Err(_) => return Err(Failure::Timeout),
        };
        // Polled only while a statement is waited for, on the waiting thread.
        rt.spawn(async move {
            let _ = connection.await;
        });
        Ok(Conn { client, stmts: HashMap::new(), answered: Cell::new(Instant::now()), rt: Some(rt) })
    }

    /// Whether the server answered on this connection within `within`: so recently that it has
    /// most likely not closed the connection since (it restarted, or ended idle sessions).
    pub fn answered_within(&self, within: Duration) -> bool {
        self.answered.get().elapsed() < within
    }

    /// Runs one request on the connection on the calling (blocking) thread, giving up after
    /// `limit`: a server that stops answering must not hang the caller.
    pub fn wait<T, F>(&self, limit: Duration, fut: F) -> Result<T, Failure>
    where
        F: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let Some(rt) = &self.rt else { unreachable!("the runtime is only taken when dropped") };
        match rt.block_on(tokio::time::timeout(limit, fut)) {
            Ok(Ok(v)) => {
                self.answered.set(Instant::now());
                Ok(v)
            }
            Ok(Err(e)) => Err(Failure::Db(e)),
            Err(_) => Err(Failure::Timeout),
        }
    }

    /// Drops the connection without waiting for anything in flight on it.
    pub fn discard(self) {
        drop(self);
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Closes the socket at once, from any thread, even one that runs async code (where a
        // plain drop of a runtime panics).
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// What ended a transaction attempt early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// A serialization failure or a deadlock: roll back and run the closure again.
    Retry,
    /// The connection is lost, or in an unknown state: drop it.
    Broken,
    /// A statement failed and PostgreSQL aborted the transaction: roll back.
    Statement,
}

/// Why waiting on the database failed.
pub(crate) enum Failure {
    Db(tokio_postgres::Error),
    Timeout,
    /// A transaction's `BEGIN` failed, but the statement sent with it ran, outside any transaction.
    RanOutsideTransaction,
    /// The closure of a one-statement read or write asked for what it cannot do (a second
    /// statement, an insert behind a savepoint); nothing was sent for it.
    NotOneStatement(&'static str),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Failure::Db(e)
    }
}

/// Maps a failure onto the store's errors and says what it means for the transaction.
pub(crate) fn classify(f: &Failure) -> (StoreError, Fault) {
    let e = match f {
        Failure::Timeout => return (StoreError::Unavailable("the database did not answer in time".into()), Fault::Broken),
        Failure::RanOutsideTransaction => {
            let e = "the transaction could not begin, and its first statement may or may not have taken effect";
            return (StoreError::Unavailable(e.into()), Fault::Broken);
        }
        Failure::NotOneStatement(what) => {
            return (StoreError::Internal(format!("a one-statement transaction {what}")), Fault::Statement);
        }
        Failure::Db(e) => e,
    };
    let Some(code) = e.code() else {
        // No SQLSTATE: the socket failed, the connection is closed, or the protocol broke.
        return (StoreError::Unavailable(format!("database connection failed: {e}")), Fault::Broken);
    };
    let text = match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), code.code()),
        None => e.to_string(),
    };
    let class = &code.code()[..2];
    if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED {
        (StoreError::Unavailable(format!("the transaction could not be serialized: {text}")), Fault::Retry)
    } else if *code == SqlState::UNIQUE_VIOLATION {
        (StoreError::Conflict(text), Fault::Statement)
    } else if class == "08" || (class == "57" && *code != SqlState::QUERY_CANCELED) {
        // Connection exceptions; the server shutting down or not accepting connections.
        (StoreError::Unavailable(text), Fault::Broken)
    } else if class == "53"
        || *code == SqlState::QUERY_CANCELED
        || *code == SqlState::LOCK_NOT_AVAILABLE
        || *code == SqlState::READ_ONLY_SQL_TRANSACTION
        || *code == SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT
    {
        // Out of resources, a statement or lock timeout, a read-only server (a standby).
        (StoreError::Unavailable(text), Fault::Statement)
    } else {
        (StoreError::Internal(text), Fault::Statement)
    }
}

/// Reads column `i`; a text comes back unescaped (see [`crate::text`]).
fn get<'r, T: Column<'r>>(row: &'r Row, i: usize) -> StoreResult<T> {
    T::read(row, i).map_err(|e| StoreError::Internal(format!("unexpected column {i}: {e}")))
}

/// A Rust type a column is read as.
trait Column<'r>: Sized {
    fn read(row: &'r Row, i: usize) -> Result<Self, String>;
}

macro_rules! plain_column {
    ($($t:ty),*) => {$(
        impl Column<'_> for $t {
            fn read(row: &Row, i: usize) -> Result<Self, String> {
                row.try_get(i).map_err(|e| e.to_string())
            }
        }
    )*};
}

plain_column!(i64, Option<i64>, i32, Option<i32>, bool, Vec<u8>);

impl Column<'_> for String {
    fn read(row: &Row, i: usize) -> Result<Self, String> {
        Ok(unescape(row.try_get(i).map_err(|e| e.to_string())?).into_owned())
    }
}

impl Column<'_> for Option<String> {
    fn read(row: &Row, i: usize) -> Result<Self, String> {
        Ok(row.try_get::<_, Option<&str>>(i).map_err(|e| e.to_string())?.map(|s| unescape(s).into_owned()))
    }
}

/// Borrowed text, for the store's own words (kinds, enum values): one that would need unescaping
/// is refused rather than read wrong; client text is read as `String`.
impl<'r> Column<'r> for &'r str {
    fn read(row: &'r Row, i: usize) -> Result<Self, String> {
        let text: &str = row.try_get(i).map_err(|e| e.to_string())?;
        match unescape(text) {
            std::borrow::Cow::Borrowed(t) => Ok(t),
            std::borrow::Cow::Owned(_) => Err("an escaped text read as borrowed text".into()),
        }
    }
}

/// Reads column `i` (`table.column`) as one of the model's enums.
fn get_enum<T: StoredEnum>(row: &Row, i: usize, table: &str, column: &str) -> StoreResult<T> {
    decode_enum(table, column, get::<&str>(row, i)?)
}

/// [`get_enum`] of a nullable column.
fn get_opt_enum<T: StoredEnum>(row: &Row, i: usize, table: &str, column: &str) -> StoreResult<Option<T>> {
    get::<Option<String>>(row, i)?.map(|text| decode_enum(table, column, &text)).transpose()
}

/// Every parameter of every statement goes through [`Escaped`]: no text reaches the server
/// unescaped, whichever method binds it.
fn escaped<'p>(params: Params<'p>) -> Vec<Escaped<'p>> {
    params.iter().map(|p| Escaped(*p)).collect()
}

fn refs<'e>(escaped: &'e [Escaped<'_>]) -> Vec<&'e (dyn ToSql + Sync)> {
    escaped.iter().map(|e| e as &(dyn ToSql + Sync)).collect()
}

/// A transaction's `BEGIN` while it is not sent: it goes out with the first statement, both in
/// one round trip.
pub(crate) struct Begin {
    pending: Option<&'static str>,
    /// Whether the transaction failed before it began (its `BEGIN`, or preparing its first
    /// statement, failed): then nothing of it ran.
    failed: bool,
    /// For a one-statement transaction: whether its statement went out (a second one fails
    /// unsent).
    one: Option<bool>,
    /// Whether that statement goes without `BEGIN`: PostgreSQL runs it in a transaction of its
    /// own (and commits a write before answering), in one round trip.
    alone: bool,
    /// Whether that statement, sent alone, surely changed nothing when the connection failed
    /// under it (a read): then nothing of the transaction ran, and another connection may run it.
    rerunnable: bool,
}

impl Begin {
    /// Waits for `fut`, one statement of the transaction; the first one goes out after the
    /// transaction's `BEGIN`. PostgreSQL runs each message of a pipeline on its own, so a `BEGIN`
    /// that failed on a live connection would leave the statement after it to run outside any
    /// transaction: that is [`Failure::RanOutsideTransaction`], and the connection is dropped.
    fn send<T, F>(&mut self, conn: &Conn, limit: Duration, fut: F) -> Result<T, Failure>
    where
        F: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        if let Some(sent) = &mut self.one {
            if *sent {
                return Err(Failure::NotOneStatement("ran a second statement"));
            }
            *sent = true;
        }
        let Some(begin) = self.pending.take() else {
            let out = conn.wait(limit, fut);
            if self.alone
                && self.rerunnable
                && let Err(f) = &out
                && !matches!(f, Failure::Timeout)
                && classify(f).1 == Fault::Broken
            {
                self.failed = true;
            }
            return out;
        };
        let both = async { Ok::<_, tokio_postgres::Error>(tokio::join!(biased; conn.client.batch_execute(begin), fut)) };
        match conn.wait(limit, both)? {
            (Ok(()), out) => out.map_err(Failure::Db),
            (Err(e), out) => {
                if e.code().is_some() && out.is_ok() {
                    return Err(Failure::RanOutsideTransaction);
                }
                self.failed = true;
                Err(Failure::Db(e))
            }
        }
    }
}

pub(crate) struct PgTx<'a> {
    conn: &'a mut Conn,
    limit: Duration,
    writable: bool,
    begin: Begin,
    /// The first failure that ended this transaction attempt.
    pub failure: Option<(StoreError, Fault)>,
}

impl<'a> PgTx<'a> {
    /// A transaction that `begin` opens; it is sent with the first statement.
    pub fn new(conn: &'a mut Conn, limit: Duration, writable: bool, begin: &'static str) -> Self {
        let begin = Begin { pending: Some(begin), failed: false, one: None, alone: false, rerunnable: false };
        PgTx { conn, limit, writable, begin, failure: None }
    }

    /// A transaction of at most one statement (a second one, or an insert, fails without being
    /// sent). `alone`: the statement goes without `BEGIN`, and PostgreSQL runs it in a
    /// transaction of its own, a write committed before it answers; otherwise `begin` opens the
    /// transaction, as in [`PgTx::new`].
    pub fn one_statement(conn: &'a mut Conn, limit: Duration, writable: bool, begin: &'static str, alone: bool) -> Self {
        let begin = Begin { pending: (!alone).then_some(begin), failed: false, one: Some(false), alone, rerunnable: !writable };
        PgTx { conn, limit, writable, begin, failure: None }
    }

    /// Whether the transaction's `BEGIN` went out, so that it must be committed or rolled back.
    pub fn begun(&self) -> bool {
        !self.begin.alone && self.begin.pending.is_none()
    }

    /// Whether the statement of a one-statement transaction went out without `BEGIN`: a write
    /// committed on its own, unless it failed.
    pub fn sent_alone(&self) -> bool {
        self.begin.alone && self.begin.one == Some(true)
    }

    /// Whether the failure came before the transaction began, on a connection that answered: nothing
    /// of it ran, and another connection may run it. (A timeout is never one.)
    pub fn failed_to_begin(&self) -> bool {
        self.begin.failed
    }

    fn alive(&self) -> StoreResult<()> {
        match &self.failure {
            Some((e, _)) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn writing(&self) -> StoreResult<()> {
        if !self.writable {
            return Err(StoreError::Internal("write inside a read transaction".into()));
        }
        self.alive()
    }

    /// Records a failure that ended the transaction and returns its error.
    fn fail(&mut self, f: Failure) -> StoreError {
        let (err, fault) = classify(&f);
        if self.failure.is_none() {
            self.failure = Some((err.clone(), fault));
        }
        err
    }

    fn statement(&mut self, sql: &'static str) -> StoreResult<Statement> {
        if let Some(s) = self.conn.stmts.get(sql) {
            return Ok(s.clone());
        }
        match self.conn.wait(self.limit, self.conn.client.prepare(sql)) {
            Ok(s) => {
                self.conn.stmts.insert(sql, s.clone());
                Ok(s)
            }
            Err(f) => {
                // A connection that hangs says the server hangs: trying another would only wait
                // as long again, so a timeout is not a failure to begin.
                let nothing_sent = self.begin.pending.is_some() || (self.begin.alone && self.begin.one == Some(false));
                self.begin.failed |= nothing_sent && !matches!(f, Failure::Timeout);
                Err(self.fail(f))
            }
        }
    }

    fn query(&mut self, sql: &'static str, params: Params<'_>) -> StoreResult<Vec<Row>> {
        self.alive()?;
        let stmt = self.statement(sql)?;
        let escaped = escaped(params);
        let client = &self.conn.client;
        self.begin.send(self.conn, self.limit, client.query(&stmt, &refs(&escaped))).map_err(|f| self.fail(f))
    }

    fn query_opt(&mut self, sql: &'static str, params: Params<'_>) -> StoreResult<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    fn count(&mut self, sql: &'static str, params: Params<'_>) -> StoreResult<u64> {
        match self.query_opt(sql, params)? {
            Some(row) => Ok(get::<i64>(&row, 0)?.max(0) as u64),
            None => Ok(0),
        }
    }

    fn execute(&mut self, sql: &'static str, params: Params<'_>) -> StoreResult<u64> {
        self.writing()?;
        let stmt = self.statement(sql)?;
        let escaped = escaped(params);
        let client = &self.conn.client;
        self.begin.send(self.conn, self.limit, client.execute(&stmt, &refs(&escaped))).map_err(|f| self.fail(f))
    }

    /// An insert that may break a uniqueness rule: it runs after a savepoint, sent together with
    /// it, and a failure that PostgreSQL lets us recover from rolls back to that savepoint only.
    fn insert(&mut self, sql: &'static str, params: Params<'_>) -> StoreResult<()> {
        self.writing()?;
        if self.begin.one.is_some() {
            // The savepoint an insert runs behind needs a transaction around it.
            return Err(self.fail(Failure::NotOneStatement("cannot insert")));
        }
        let stmt = self.statement(sql)?;
        let client = &self.conn.client;
        let escaped = escaped(params);
        let params = refs(&escaped);
        let params = &params[..];
        let both = async {
            // `biased` polls the savepoint first, so it is sent first: one round trip for both
            // (and for the transaction's `BEGIN` when this is its first statement).
            let (savepoint, insert) = tokio::join!(biased; client.batch_execute("SAVEPOINT carillon_stmt"), client.execute(&stmt, params));
            savepoint?;
            insert
        };
        let failure = match self.begin.send(self.conn, self.limit, both) {
            Ok(_) => return Ok(()),
            Err(f) => f,
        };
        let (err, fault) = classify(&failure);
        if fault != Fault::Statement {
            return Err(self.fail(failure));
        }
        match self.conn.wait(self.limit, self.conn.client.batch_execute("ROLLBACK TO SAVEPOINT carillon_stmt")) {
            Ok(()) => Err(err),
            Err(f) => {
                self.fail(f);
                Err(err)
            }
        }
    }
}

macro_rules! app_instance_cols {
    () => {
        "seq, arn, account, region, name, metadata, created_ms, updated_ms, retention_days, retention_set_ms"
    };
}
fn app_instance(r: &Row) -> StoreResult<AppInstanceRecord> {
    Ok(AppInstanceRecord {
        seq: get(r, 0)?,
        arn: get(r, 1)?,
        account: get(r, 2)?,
        region: get(r, 3)?,
        name: get(r, 4)?,
        metadata: get(r, 5)?,
        created_ms: get(r, 6)?,
        updated_ms: get(r, 7)?,
        retention_days: get(r, 8)?,
        retention_set_ms: get(r, 9)?,
    })
}

macro_rules! user_cols {
    () => {
        "seq, arn, app_instance_arn, user_id, name, metadata, created_ms, updated_ms, expiration_days, expiration_criterion, expires_at_ms"
    };
}
fn user(r: &Row) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        seq: get(r, 0)?,
        arn: get(r, 1)?,
        app_instance_arn: get(r, 2)?,
        user_id: get(r, 3)?,
        name: get(r, 4)?,
        metadata: get(r, 5)?,
        created_ms: get(r, 6)?,
        updated_ms: get(r, 7)?,
        expiration_days: get(r, 8)?,
        expiration_criterion: get_opt_enum(r, 9, "users", "expiration_criterion")?,
        expires_at_ms: get(r, 10)?,
    })
}

macro_rules! bot_cols {
    () => {
        "seq, arn, app_instance_arn, name, metadata, configuration, created_ms, updated_ms"
    };
}
fn bot(r: &Row) -> StoreResult<BotRecord> {
    Ok(BotRecord {
        seq: get(r, 0)?,
        arn: get(r, 1)?,
        app_instance_arn: get(r, 2)?,
        name: get(r, 3)?,
        metadata: get(r, 4)?,
        configuration: get(r, 5)?,
        created_ms: get(r, 6)?,
        updated_ms: get(r, 7)?,
    })
}

macro_rules! admin_cols {
    () => {
        "seq, app_instance_arn, member_arn, created_ms"
    };
}
fn admin(r: &Row) -> StoreResult<AdminRecord> {
    Ok(AdminRecord { seq: get(r, 0)?, app_instance_arn: get(r, 1)?, member_arn: get(r, 2)?, created_ms: get(r, 3)? })
}

macro_rules! endpoint_cols {
    () => {
        "seq, user_arn, endpoint_id, app_instance_arn, name, endpoint_type, resource_arn, device_token, \
         voip_device_token, allow_messages, status, status_reason, created_ms, updated_ms"
    };
}
fn endpoint(r: &Row) -> StoreResult<EndpointRecord> {
    Ok(EndpointRecord {
        seq: get(r, 0)?,
        user_arn: get(r, 1)?,
        endpoint_id: get(r, 2)?,
        app_instance_arn: get(r, 3)?,
        name: get(r, 4)?,
        endpoint_type: get_enum(r, 5, "endpoints", "endpoint_type")?,
        resource_arn: get(r, 6)?,
        device_token: get(r, 7)?,
        voip_device_token: get(r, 8)?,
        allow_messages: get_enum(r, 9, "endpoints", "allow_messages")?,
        status: get_enum(r, 10, "endpoints", "status")?,
        status_reason: get_opt_enum(r, 11, "endpoints", "status_reason")?,
        created_ms: get(r, 12)?,
        updated_ms: get(r, 13)?,
    })
}

macro_rules! channel_cols {
    () => {
        "c.seq, c.arn, c.app_instance_arn, c.name, c.mode, c.privacy, c.metadata, c.created_by_arn, c.created_by_name, c.created_ms, \
         c.updated_ms, c.last_message_ms, c.expiration_days, c.expiration_criterion, c.expires_at_ms"
    };
}
/// The channel in the 15 columns of [`channel_cols`] from column `at` on.
fn channel_at(r: &Row, at: usize) -> StoreResult<ChannelRecord> {
    let days: Option<i32> = get(r, at + 12)?;
    let criterion: Option<ChannelExpirationCriterion> = get_opt_enum(r, at + 13, "channels", "expiration_criterion")?;
    let expires_at_ms: Option<i64> = get(r, at + 14)?;
    let expiration = match (days, criterion, expires_at_ms) {
        (Some(days), Some(criterion), Some(expires_at_ms)) => Some(ChannelExpiration { days, criterion, expires_at_ms }),
        _ => None,
    };
    Ok(ChannelRecord {
        seq: get(r, at)?,
        arn: get(r, at + 1)?,
        app_instance_arn: get(r, at + 2)?,
        name: get(r, at + 3)?,
        mode: get_enum(r, at + 4, "channels", "mode")?,
        privacy: get_enum(r, at + 5, "channels", "privacy")?,
        metadata: get(r, at + 6)?,
        created_by: Actor { arn: get(r, at + 7)?, name: get(r, at + 8)? },
        created_ms: get(r, at + 9)?,
        updated_ms: get(r, at + 10)?,
        last_message_ms: get(r, at + 11)?,
        expiration,
    })
}
fn channel(r: &Row) -> StoreResult<ChannelRecord> {
    channel_at(r, 0)
}

macro_rules! membership_cols {
    () => {
        "m.seq, m.channel_arn, m.app_instance_arn, m.member_arn, m.member_name, m.membership_type, m.invited_by_arn, \
         m.invited_by_name, m.created_ms, m.updated_ms, m.read_marker_ms, m.preferences"
    };
}
/// The number of columns of [`membership_cols`].
const MEMBERSHIP_COLS: usize = 12;
fn membership(r: &Row) -> StoreResult<MembershipRecord> {
    Ok(MembershipRecord {
        seq: get(r, 0)?,
        channel_arn: get(r, 1)?,
        app_instance_arn: get(r, 2)?,
        member: Actor { arn: get(r, 3)?, name: get(r, 4)? },
        membership_type: get_enum(r, 5, "channel_memberships", "membership_type")?,
        invited_by: Actor { arn: get(r, 6)?, name: get(r, 7)? },
        created_ms: get(r, 8)?,
        updated_ms: get(r, 9)?,
        read_marker_ms: get(r, 10)?,
        preferences: get(r, 11)?,
    })
}

macro_rules! moderator_cols {
    () => {
        "seq, channel_arn, app_instance_arn, moderator_arn, moderator_name, created_by_arn, created_by_name, created_ms"
    };
}
fn moderator(r: &Row) -> StoreResult<ModeratorRecord> {
    Ok(ModeratorRecord {
        seq: get(r, 0)?,
        channel_arn: get(r, 1)?,
        app_instance_arn: get(r, 2)?,
        moderator: Actor { arn: get(r, 3)?, name: get(r, 4)? },
        created_by: Actor { arn: get(r, 5)?, name: get(r, 6)? },
        created_ms: get(r, 7)?,
    })
}

macro_rules! message_cols {
    () => {
        "seq, channel_arn, app_instance_arn, message_id, message_type, content, metadata, content_type, message_attributes, \
         sender_arn, sender_name, created_ms, updated_ms, edited_ms, redacted"
    };
}
fn message(r: &Row) -> StoreResult<MessageRecord> {
    Ok(MessageRecord {
        seq: get(r, 0)?,
        channel_arn: get(r, 1)?,
        app_instance_arn: get(r, 2)?,
        message_id: get(r, 3)?,
        message_type: get_enum(r, 4, "channel_messages", "message_type")?,
        content: get(r, 5)?,
        metadata: get(r, 6)?,
        content_type: get(r, 7)?,
        message_attributes: get(r, 8)?,
        sender: Actor { arn: get(r, 9)?, name: get(r, 10)? },
        created_ms: get(r, 11)?,
        updated_ms: get(r, 12)?,
        edited_ms: get(r, 13)?,
        redacted: get(r, 14)?,
    })
}

macro_rules! channel_flow_cols {
    () => {
        "seq, arn, app_instance_arn, name, processors, created_ms, updated_ms"
    };
}
fn channel_flow(r: &Row) -> StoreResult<ChannelFlowRecord> {
    Ok(ChannelFlowRecord {
        seq: get(r, 0)?,
        arn: get(r, 1)?,
        app_instance_arn: get(r, 2)?,
        name: get(r, 3)?,
        processors: get(r, 4)?,
        created_ms: get(r, 5)?,
        updated_ms: get(r, 6)?,
    })
}

// Rows whose parent is gone wait for their purge and are never found (`docs/behaviour.md`,
// "Resources"): these conditions say a row is still alive.
macro_rules! user_alive {
    () => {
        "EXISTS (SELECT 1 FROM app_instances a WHERE a.arn = users.app_instance_arn)"
    };
}
macro_rules! bot_alive {
    () => {
        "EXISTS (SELECT 1 FROM app_instances a WHERE a.arn = bots.app_instance_arn)"
    };
}
/// A Messaging row (of `table`) whose AppInstance is still there.
macro_rules! instance_alive {
    ($table:literal) => {
        concat!("EXISTS (SELECT 1 FROM app_instances a WHERE a.arn = ", $table, ".app_instance_arn)")
    };
}
macro_rules! endpoint_alive {
    () => {
        "EXISTS (SELECT 1 FROM users u WHERE u.arn = endpoints.user_arn) \
         AND EXISTS (SELECT 1 FROM app_instances a WHERE a.arn = endpoints.app_instance_arn)"
    };
}

/// One table a purge empties: (delete up to $2 rows whose column is $1, count up to $2 of them).
macro_rules! purged {
    ($table:literal, $key:literal, $column:literal) => {
        (
            concat!(
                "DELETE FROM ",
                $table,
                " WHERE ",
                $key,
                " = ANY(ARRAY(SELECT ",
                $key,
                " FROM ",
                $table,
                " WHERE ",
                $column,
                " = $1 LIMIT $2))"
            ),
            concat!("SELECT COUNT(*) FROM (SELECT 1 FROM ", $table, " WHERE ", $column, " = $1 LIMIT $2) c"),
        )
    };
}

/// The tables a purge of `kind` empties, in order.
fn purged_tables(kind: PurgeKind) -> &'static [(&'static str, &'static str)] {
    const APP_INSTANCE: &[(&str, &str)] = &[
        purged!("channel_messages", "seq", "app_instance_arn"),
        purged!("channel_memberships", "seq", "app_instance_arn"),
        purged!("channel_moderators", "seq", "app_instance_arn"),
        purged!("channels", "seq", "app_instance_arn"),
        purged!("channel_flows", "seq", "app_instance_arn"),
        purged!("streaming_configurations", "seq", "app_instance_arn"),
        purged!("endpoints", "seq", "app_instance_arn"),
        purged!("tags", "seq", "app_instance_arn"),
        purged!("idempotency", "ctid", "app_instance_arn"),
        purged!("admins", "seq", "app_instance_arn"),
        purged!("users", "seq", "app_instance_arn"),
        purged!("bots", "seq", "app_instance_arn"),
    ];
    const USER: &[(&str, &str)] =
        &[purged!("endpoints", "seq", "user_arn"), purged!("tags", "seq", "resource_arn"), purged!("idempotency", "ctid", "resource_arn")];
    match kind {
        PurgeKind::AppInstance => APP_INSTANCE,
        PurgeKind::User => USER,
    }
}

fn purge_kind(text: &str) -> StoreResult<PurgeKind> {
    PurgeKind::from_stored(text).ok_or_else(|| StoreError::Internal(format!("purges.kind holds {text:?}")))
}

impl PgTx<'_> {
    /// Finishes at once every purge queued for `arn`, before a resource of that ARN is made again.
    fn settle(&mut self, arn: &str) -> StoreResult<()> {
        let queued = self.query("SELECT seq FROM purges WHERE arn = $1", &[&arn])?;
        for row in queued {
            self.purge_batch(get(&row, 0)?, usize::MAX)?;
        }
        Ok(())
    }
}

macro_rules! push_entry_cols {
    () => {
        "id, time_ms, account_id, region, app_instance_arn, channel_arn, message_id, sender_arn, recipient_arn, endpoint_id, \
         endpoint_type, resource_arn, device_token_sha256, push_type, title, body, outcome, reason"
    };
}

fn push_entry(r: &Row) -> StoreResult<PushEntry> {
    Ok(PushEntry {
        id: get(r, 0)?,
        time_ms: get(r, 1)?,
        account_id: get(r, 2)?,
        region: get(r, 3)?,
        app_instance_arn: get(r, 4)?,
        channel_arn: get(r, 5)?,
        message_id: get(r, 6)?,
        sender_arn: get(r, 7)?,
        recipient_arn: get(r, 8)?,
        endpoint_id: get(r, 9)?,
        endpoint_type: get_opt_enum(r, 10, "push_outbox", "endpoint_type")?,
        resource_arn: get(r, 11)?,
        device_token_sha256: get(r, 12)?,
        push_type: get_enum(r, 13, "push_outbox", "push_type")?,
        title: get(r, 14)?,
        body: get(r, 15)?,
        outcome: get(r, 16)?,
        reason: get(r, 17)?,
    })
}

/// A marker's target as its two columns.
fn marker_target(t: &PushFailureTarget) -> (&'static str, &str) {
    match t {
        PushFailureTarget::DeviceTokenSha256(h) => ("DEVICE_TOKEN", h),
        PushFailureTarget::ResourceArn(a) => ("RESOURCE_ARN", a),
    }
}

fn push_failure(r: &Row) -> StoreResult<PushFailureMarker> {
    let target: String = get(r, 1)?;
    let target = match get::<&str>(r, 0)? {
        "DEVICE_TOKEN" => PushFailureTarget::DeviceTokenSha256(target),
        "RESOURCE_ARN" => PushFailureTarget::ResourceArn(target),
        other => return Err(StoreError::Internal(unknown_value("push_failure_markers", "target_kind", other))),
    };
    Ok(PushFailureMarker { target, status_reason: get_enum(r, 2, "push_failure_markers", "status_reason")?, created_ms: get(r, 3)? })
}

/// The outbox filter as a WHERE clause on `$1`-`$4`.
macro_rules! push_filter {
    () => {
        "($1::text IS NULL OR channel_arn = $1::text) AND ($2::text IS NULL OR recipient_arn = $2::text) \
         AND ($3::text IS NULL OR message_id = $3::text) AND id > $4"
    };
}

fn limit(n: usize) -> i64 {
    n.min(i64::MAX as usize) as i64
}

fn all<T>(rows: Vec<Row>, f: fn(&Row) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(f).collect()
}

impl Tx for PgTx<'_> {
    fn insert_app_instance(&mut self, r: &AppInstanceRecord) -> StoreResult<()> {
        self.settle(&r.arn)?;
        self.insert(
            "INSERT INTO app_instances (arn, account, region, name, metadata, created_ms, updated_ms, retention_days, retention_set_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[&r.arn, &r.account, &r.region, &r.name, &r.metadata, &r.created_ms, &r.updated_ms, &r.retention_days, &r.retention_set_ms],
        )
    }

    fn get_app_instance(&mut self, arn: &str) -> StoreResult<Option<AppInstanceRecord>> {
        self.query_opt(concat!("SELECT ", app_instance_cols!(), " FROM app_instances WHERE arn = $1"), &[&arn])?
            .as_ref()
            .map(app_instance)
            .transpose()
    }

    fn update_app_instance(&mut self, arn: &str, u: &AppInstanceUpdate) -> StoreResult<bool> {
        let retention = u.retention.as_ref();
        let (set_ms, days) = (retention.map(|r| r.set_ms), retention.and_then(|r| r.days));
        Ok(self.execute(
            "UPDATE app_instances SET name = COALESCE($2, name), metadata = COALESCE($3, metadata), \
             retention_days = CASE WHEN $4::bigint IS NULL THEN retention_days ELSE $5 END, \
             retention_set_ms = COALESCE($4, retention_set_ms), \
             updated_ms = CASE WHEN $6::bigint IS NULL THEN updated_ms ELSE GREATEST($6, updated_ms + 1) END WHERE arn = $1",
            &[&arn, &u.name, &u.metadata, &set_ms, &days, &u.touched_ms],
        )? > 0)
    }

    fn delete_app_instance(&mut self, arn: &str) -> StoreResult<bool> {
        self.execute("DELETE FROM channel_messages WHERE app_instance_arn = $1", &[&arn])?;
        self.execute("DELETE FROM channel_memberships WHERE app_instance_arn = $1", &[&arn])?;
        self.execute("DELETE FROM channel_moderators WHERE app_instance_arn = $1", &[&arn])?;
        self.execute("DELETE FROM channels WHERE app_instance_arn = $1", &[&arn])?;
        self.execute("DELETE FROM channel_flows WHERE app_instance_arn = $1", &[&arn])?;
        self.execute("DELETE FROM streaming_configurations WHERE app_instance_arn = $1", &[&arn])?;
        self.execute("DELETE FROM endpoints WHERE app_instance_arn = $1", &[&arn])?;
        self.execute("DELETE FROM admins WHERE app_instance_arn = $1", &[&arn])?;
        self.execute("DELETE FROM tags WHERE app_instance_arn = $1", &[&arn])?;
        self.execute("DELETE FROM idempotency WHERE app_instance_arn = $1", &[&arn])?;
        self.execute("DELETE FROM users WHERE app_instance_arn = $1", &[&arn])?;
        self.execute("DELETE FROM bots WHERE app_instance_arn = $1", &[&arn])?;
        Ok(self.execute("DELETE FROM app_instances WHERE arn = $1", &[&arn])? > 0)
    }

    fn count_app_instances(&mut self, account: &str, region: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM app_instances WHERE account = $1 AND region = $2", &[&account, &region])
    }

    fn list_app_instances(&mut self, account: &str, region: &str, after: i64, n: usize) -> StoreResult<Vec<AppInstanceRecord>> {
        let rows = self.query(
            concat!(
                "SELECT ",
                app_instance_cols!(),
                " FROM app_instances WHERE account = $1 AND region = $2 AND seq > $3 ORDER BY seq LIMIT $4"
            ),
            &[&account, &region, &after, &limit(n)],
        )?;
        all(rows, app_instance)
    }

    fn list_every_app_instance(&mut self, after: i64, n: usize) -> StoreResult<Vec<AppInstanceRecord>> {
        let rows = self.query(
            concat!("SELECT ", app_instance_cols!(), " FROM app_instances WHERE seq > $1 ORDER BY seq LIMIT $2"),
            &[&after, &limit(n)],
        )?;
        all(rows, app_instance)
    }

    fn insert_user(&mut self, r: &UserRecord) -> StoreResult<()> {
        self.settle(&r.arn)?;
        let criterion = r.expiration_criterion.map(StoredEnum::as_stored);
        self.insert(
            "INSERT INTO users (arn, app_instance_arn, user_id, name, metadata, created_ms, updated_ms, expiration_days, \
             expiration_criterion, expires_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &r.arn,
                &r.app_instance_arn,
                &r.user_id,
                &r.name,
                &r.metadata,
                &r.created_ms,
                &r.updated_ms,
                &r.expiration_days,
                &criterion,
                &r.expires_at_ms,
            ],
        )
    }

    fn get_user(&mut self, arn: &str) -> StoreResult<Option<UserRecord>> {
        self.query_opt(concat!("SELECT ", user_cols!(), " FROM users WHERE arn = $1 AND ", user_alive!()), &[&arn])?
            .as_ref()
            .map(user)
            .transpose()
    }

    fn update_user(&mut self, arn: &str, u: &UserUpdate) -> StoreResult<bool> {
        let e = u.expiration.flatten();
        let (named, days, criterion, at) =
            (u.expiration.is_some(), e.map(|e| e.days), e.map(|e| e.criterion.as_stored()), e.map(|e| e.expires_at_ms));
        Ok(self.execute(
            "UPDATE users SET name = COALESCE($2, name), metadata = COALESCE($3, metadata), \
             expiration_days = CASE WHEN $4::boolean THEN $5 ELSE expiration_days END, \
             expiration_criterion = CASE WHEN $4::boolean THEN $6 ELSE expiration_criterion END, \
             expires_at_ms = CASE WHEN $4::boolean THEN $7 ELSE expires_at_ms END, \
             updated_ms = CASE WHEN $8::bigint IS NULL THEN updated_ms ELSE GREATEST($8, updated_ms + 1) END WHERE arn = $1 AND \
             EXISTS (SELECT 1 FROM app_instances a WHERE a.arn = users.app_instance_arn)",
            &[&arn, &u.name, &u.metadata, &named, &days, &criterion, &at, &u.touched_ms],
        )? > 0)
    }

    fn delete_user(&mut self, arn: &str) -> StoreResult<bool> {
        self.execute("DELETE FROM endpoints WHERE user_arn = $1", &[&arn])?;
        self.execute("DELETE FROM admins WHERE member_arn = $1", &[&arn])?;
        self.execute("DELETE FROM tags WHERE resource_arn = $1", &[&arn])?;
        self.execute("DELETE FROM idempotency WHERE resource_arn = $1", &[&arn])?;
        Ok(self.execute(concat!("DELETE FROM users WHERE arn = $1 AND ", user_alive!()), &[&arn])? > 0)
    }

    fn count_users(&mut self, app_instance_arn: &str) -> StoreResult<u64> {
        // Kept by a trigger (migration 0004): one lookup, however many users there are.
        self.count("SELECT n FROM user_counts WHERE app_instance_arn = $1", &[&app_instance_arn])
    }

    fn list_users(&mut self, app_instance_arn: &str, after: i64, n: usize) -> StoreResult<Vec<UserRecord>> {
        let rows = self.query(
            concat!("SELECT ", user_cols!(), " FROM users WHERE app_instance_arn = $1 AND seq > $2 ORDER BY seq LIMIT $3"),
            &[&app_instance_arn, &after, &limit(n)],
        )?;
        all(rows, user)
    }

    fn expired_users(&mut self, now_ms: i64, n: usize) -> StoreResult<Vec<String>> {
        let rows = self.query(
            concat!(
                "SELECT arn FROM users WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= $1 AND ",
                user_alive!(),
                " ORDER BY expires_at_ms, seq LIMIT $2"
            ),
            &[&now_ms, &limit(n)],
        )?;
        rows.iter().map(|r| get(r, 0)).collect()
    }

    fn insert_bot(&mut self, r: &BotRecord) -> StoreResult<()> {
        self.insert(
            "INSERT INTO bots (arn, app_instance_arn, name, metadata, configuration, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&r.arn, &r.app_instance_arn, &r.name, &r.metadata, &r.configuration, &r.created_ms, &r.updated_ms],
        )
    }

    fn get_bot(&mut self, arn: &str) -> StoreResult<Option<BotRecord>> {
        self.query_opt(concat!("SELECT ", bot_cols!(), " FROM bots WHERE arn = $1 AND ", bot_alive!()), &[&arn])?
            .as_ref()
            .map(bot)
            .transpose()
    }

    fn update_bot(&mut self, arn: &str, u: &BotUpdate) -> StoreResult<bool> {
        Ok(self.execute(
            "UPDATE bots SET name = COALESCE($2, name), metadata = COALESCE($3, metadata), configuration = COALESCE($4, configuration), \
             updated_ms = CASE WHEN $5::bigint IS NULL THEN updated_ms ELSE GREATEST($5, updated_ms + 1) END WHERE arn = $1 AND \
             EXISTS (SELECT 1 FROM app_instances a WHERE a.arn = bots.app_instance_arn)",
            &[&arn, &u.name, &u.metadata, &u.configuration, &u.touched_ms],
        )? > 0)
    }

    fn delete_bot(&mut self, arn: &str) -> StoreResult<bool> {
        self.execute("DELETE FROM admins WHERE member_arn = $1", &[&arn])?;
        self.execute("DELETE FROM tags WHERE resource_arn = $1", &[&arn])?;
        self.execute("DELETE FROM idempotency WHERE resource_arn = $1", &[&arn])?;
        Ok(self.execute(concat!("DELETE FROM bots WHERE arn = $1 AND ", bot_alive!()), &[&arn])? > 0)
    }

    fn count_bots(&mut self, app_instance_arn: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM bots WHERE app_instance_arn = $1", &[&app_instance_arn])
    }

    fn list_bots(&mut self, app_instance_arn: &str, after: i64, n: usize) -> StoreResult<Vec<BotRecord>> {
        let rows = self.query(
            concat!("SELECT ", bot_cols!(), " FROM bots WHERE app_instance_arn = $1 AND seq > $2 ORDER BY seq LIMIT $3"),
            &[&app_instance_arn, &after, &limit(n)],
        )?;
        all(rows, bot)
    }

    fn insert_admin(&mut self, r: &AdminRecord) -> StoreResult<()> {
        self.insert(
            "INSERT INTO admins (app_instance_arn, member_arn, created_ms) VALUES ($1, $2, $3)",
            &[&r.app_instance_arn, &r.member_arn, &r.created_ms],
        )
    }

    fn get_admin(&mut self, app_instance_arn: &str, member_arn: &str) -> StoreResult<Option<AdminRecord>> {
        self.query_opt(
            concat!("SELECT ", admin_cols!(), " FROM admins WHERE app_instance_arn = $1 AND member_arn = $2"),
            &[&app_instance_arn, &member_arn],
        )?
        .as_ref()
        .map(admin)
        .transpose()
    }

    fn delete_admin(&mut self, app_instance_arn: &str, member_arn: &str) -> StoreResult<bool> {
        Ok(self.execute("DELETE FROM admins WHERE app_instance_arn = $1 AND member_arn = $2", &[&app_instance_arn, &member_arn])? > 0)
    }

    fn count_admins(&mut self, app_instance_arn: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM admins WHERE app_instance_arn = $1", &[&app_instance_arn])
    }

    fn list_admins(&mut self, app_instance_arn: &str, after: i64, n: usize) -> StoreResult<Vec<AdminRecord>> {
        let rows = self.query(
            concat!("SELECT ", admin_cols!(), " FROM admins WHERE app_instance_arn = $1 AND seq > $2 ORDER BY seq LIMIT $3"),
            &[&app_instance_arn, &after, &limit(n)],
        )?;
        all(rows, admin)
    }

    fn insert_endpoint(&mut self, r: &EndpointRecord) -> StoreResult<()> {
        let (kind, allow, status, reason) =
            (r.endpoint_type.as_stored(), r.allow_messages.as_stored(), r.status.as_stored(), r.status_reason.map(StoredEnum::as_stored));
        self.insert(
            "INSERT INTO endpoints (user_arn, endpoint_id, app_instance_arn, name, endpoint_type, resource_arn, device_token, \
             voip_device_token, allow_messages, status, status_reason, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &[
                &r.user_arn,
                &r.endpoint_id,
                &r.app_instance_arn,
                &r.name,
                &kind,
                &r.resource_arn,
                &r.device_token,
                &r.voip_device_token,
                &allow,
                &status,
                &reason,
                &r.created_ms,
                &r.updated_ms,
            ],
        )
    }

    fn get_endpoint(&mut self, user_arn: &str, endpoint_id: &str) -> StoreResult<Option<EndpointRecord>> {
        self.query_opt(
            concat!("SELECT ", endpoint_cols!(), " FROM endpoints WHERE user_arn = $1 AND endpoint_id = $2 AND ", endpoint_alive!()),
            &[&user_arn, &endpoint_id],
        )?
        .as_ref()
        .map(endpoint)
        .transpose()
    }

    fn update_endpoint(&mut self, user_arn: &str, endpoint_id: &str, u: &EndpointUpdate) -> StoreResult<bool> {
        let allow = u.allow_messages.map(StoredEnum::as_stored);
        let (status, reason) = (u.state.map(|(s, _)| s.as_stored()), u.state.and_then(|(_, r)| r).map(StoredEnum::as_stored));
        Ok(self.execute(
            "UPDATE endpoints SET name = COALESCE($3, name), allow_messages = COALESCE($4, allow_messages), \
             status = COALESCE($5, status), status_reason = CASE WHEN $5::text IS NULL THEN status_reason ELSE $6 END, \
             updated_ms = CASE WHEN $7::bigint IS NULL THEN updated_ms ELSE GREATEST($7, updated_ms + 1) END \
             WHERE user_arn = $1 AND endpoint_id = $2 AND EXISTS (SELECT 1 FROM users u WHERE u.arn = endpoints.user_arn) \
             AND EXISTS (SELECT 1 FROM app_instances a WHERE a.arn = endpoints.app_instance_arn)",
            &[&user_arn, &endpoint_id, &u.name, &allow, &status, &reason, &u.touched_ms],
        )? > 0)
    }

    fn delete_endpoint(&mut self, user_arn: &str, endpoint_id: &str) -> StoreResult<bool> {
        Ok(self.execute(
            concat!("DELETE FROM endpoints WHERE user_arn = $1 AND endpoint_id = $2 AND ", endpoint_alive!()),
            &[&user_arn, &endpoint_id],
        )? > 0)
    }

    fn count_endpoints(&mut self, user_arn: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM endpoints WHERE user_arn = $1", &[&user_arn])
    }

    fn list_endpoints(&mut self, user_arn: &str, after: i64, n: usize) -> StoreResult<Vec<EndpointRecord>> {
        let rows = self.query(
            concat!("SELECT ", endpoint_cols!(), " FROM endpoints WHERE user_arn = $1 AND seq > $2 ORDER BY seq LIMIT $3"),
            &[&user_arn, &after, &limit(n)],
        )?;
        all(rows, endpoint)
    }

    fn endpoint_with_device_token(&mut self, user_arn: &str, device_token: &str) -> StoreResult<Option<String>> {
        self.query_opt("SELECT endpoint_id FROM endpoints WHERE user_arn = $1 AND device_token = $2", &[&user_arn, &device_token])?
            .as_ref()
            .map(|r| get(r, 0))
            .transpose()
    }

    fn get_tags(&mut self, resource_arn: &str) -> StoreResult<Vec<Tag>> {
        let rows = self.query("SELECT key, value FROM tags WHERE resource_arn = $1 ORDER BY seq", &[&resource_arn])?;
        rows.iter().map(|r| Ok(Tag { key: get(r, 0)?, value: get(r, 1)? })).collect()
    }

    fn put_tags(&mut self, resource_arn: &str, app_instance_arn: &str, tags: &[Tag]) -> StoreResult<()> {
        for t in tags {
            self.execute(
                "INSERT INTO tags (resource_arn, app_instance_arn, key, value) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value",
                &[&resource_arn, &app_instance_arn, &t.key, &t.value],
            )?;
        }
        Ok(())
    }

    fn delete_tags(&mut self, resource_arn: &str, keys: &[String]) -> StoreResult<()> {
        if keys.is_empty() {
            return Ok(());
        }
        self.execute("DELETE FROM tags WHERE resource_arn = $1 AND key = ANY($2)", &[&resource_arn, &keys])?;
        Ok(())
    }

    fn get_idempotency(&mut self, key: &IdempotencyKey) -> StoreResult<Option<IdempotencyRecord>> {
        self.query_opt(
            "SELECT fingerprint, resource_arn, app_instance_arn, response, created_ms FROM idempotency \
             WHERE account = $1 AND region = $2 AND operation = $3 AND token = $4",
            &[&key.account, &key.region, &key.operation, &key.token],
        )?
        .as_ref()
        .map(|r| {
            Ok(IdempotencyRecord {
                fingerprint: get(r, 0)?,
                resource_arn: get(r, 1)?,
                app_instance_arn: get(r, 2)?,
                response: get(r, 3)?,
                created_ms: get(r, 4)?,
            })
        })
        .transpose()
    }

    fn put_idempotency(&mut self, key: &IdempotencyKey, r: &IdempotencyRecord) -> StoreResult<()> {
        self.execute(
            "INSERT INTO idempotency (account, region, operation, token, fingerprint, resource_arn, app_instance_arn, response, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (account, region, operation, token) DO UPDATE SET fingerprint = excluded.fingerprint, \
             resource_arn = excluded.resource_arn, app_instance_arn = excluded.app_instance_arn, response = excluded.response, \
             created_ms = excluded.created_ms",
            &[&key.account, &key.region, &key.operation, &key.token, &r.fingerprint, &r.resource_arn, &r.app_instance_arn, &r.response, &r.created_ms],
        )?;
        Ok(())
    }

    fn insert_channel(&mut self, r: &ChannelRecord) -> StoreResult<()> {
        let e = r.expiration.as_ref();
        let (mode, privacy) = (r.mode.as_stored(), r.privacy.as_stored());
        let (days, criterion, expires_at_ms) = (e.map(|e| e.days), e.map(|e| e.criterion.as_stored()), e.map(|e| e.expires_at_ms));
        self.insert(
            "INSERT INTO channels (arn, app_instance_arn, name, mode, privacy, metadata, created_by_arn, created_by_name, created_ms, \
             updated_ms, last_message_ms, expiration_days, expiration_criterion, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            &[
                &r.arn,
                &r.app_instance_arn,
                &r.name,
                &mode,
                &privacy,
                &r.metadata,
                &r.created_by.arn,
                &r.created_by.name,
                &r.created_ms,
                &r.updated_ms,
                &r.last_message_ms,
                &days,
                &criterion,
                &expires_at_ms,
            ],
        )
    }

    fn get_channel(&mut self, arn: &str) -> StoreResult<Option<ChannelRecord>> {
        self.query_opt(concat!("SELECT ", channel_cols!(), " FROM channels c WHERE c.arn = $1"), &[&arn])?.as_ref().map(channel).transpose()
    }

    fn update_channel(&mut self, arn: &str, u: &ChannelUpdate) -> StoreResult<bool> {
        let e = u.expiration.flatten();
        let mode = u.mode.map(StoredEnum::as_stored);
        let (set_metadata, metadata) = (u.metadata.is_some(), u.metadata.as_ref().and_then(|m| m.as_deref()));
        let set_expiration = u.expiration.is_some();
        let (days, criterion, expires_at_ms) = (e.map(|e| e.days), e.map(|e| e.criterion.as_stored()), e.map(|e| e.expires_at_ms));
        Ok(self.execute(
            "UPDATE channels SET name = COALESCE($2, name), mode = COALESCE($3, mode), \
             metadata = CASE WHEN $4 THEN $5 ELSE metadata END, \
             expiration_days = CASE WHEN $6 THEN $7 ELSE expiration_days END, \
             expiration_criterion = CASE WHEN $6 THEN $8 ELSE expiration_criterion END, \
             expires_at_ms = CASE WHEN $6 THEN $9 ELSE expires_at_ms END, \
             last_message_ms = GREATEST($10::bigint, last_message_ms), \
             updated_ms = CASE WHEN $11::bigint IS NULL THEN updated_ms ELSE GREATEST($11, updated_ms + 1) END WHERE arn = $1",
            &[
                &arn,
                &u.name,
                &mode,
                &set_metadata,
                &metadata,
                &set_expiration,
                &days,
                &criterion,
                &expires_at_ms,
                &u.last_message_ms,
                &u.touched_ms,
            ],
        )? > 0)
    }

    fn delete_channel(&mut self, arn: &str) -> StoreResult<bool> {
        self.execute("DELETE FROM channel_messages WHERE channel_arn = $1", &[&arn])?;
        self.execute("DELETE FROM channel_memberships WHERE channel_arn = $1", &[&arn])?;
        self.execute("DELETE FROM channel_moderators WHERE channel_arn = $1", &[&arn])?;
        self.execute("DELETE FROM tags WHERE resource_arn = $1", &[&arn])?;
        self.execute("DELETE FROM idempotency WHERE resource_arn = $1", &[&arn])?;
        Ok(self.execute("DELETE FROM channels WHERE arn = $1", &[&arn])? > 0)
    }

    fn count_channels(&mut self, app_instance_arn: &str) -> StoreResult<u64> {
        // Kept by a trigger (migration 0005): one lookup, however many channels there are.
        self.count("SELECT n FROM channel_counts WHERE app_instance_arn = $1", &[&app_instance_arn])
    }

    fn list_channels(
        &mut self,
        app_instance_arn: &str,
        privacy: Option<ChannelPrivacy>,
        after: i64,
        n: usize,
    ) -> StoreResult<Vec<ChannelRecord>> {
        let rows = match privacy {
            None => self.query(
                concat!(
                    "SELECT ",
                    channel_cols!(),
                    " FROM channels c WHERE c.app_instance_arn = $1 AND c.seq > $2 ORDER BY c.seq LIMIT $3"
                ),
                &[&app_instance_arn, &after, &limit(n)],
            )?,
            Some(p) => self.query(
                concat!(
                    "SELECT ",
                    channel_cols!(),
                    " FROM channels c WHERE c.app_instance_arn = $1 AND c.privacy = $2 AND c.seq > $3 ORDER BY c.seq LIMIT $4"
                ),
                &[&app_instance_arn, &p.as_stored(), &after, &limit(n)],
            )?,
        };
        all(rows, channel)
    }

    fn expired_channels(&mut self, now_ms: i64, n: usize) -> StoreResult<Vec<String>> {
        let rows = self.query(
            concat!(
                "SELECT c.arn FROM channels c WHERE c.expires_at_ms IS NOT NULL AND c.expires_at_ms <= $1 AND ",
                instance_alive!("c"),
                " ORDER BY c.expires_at_ms, c.seq LIMIT $2"
            ),
            &[&now_ms, &limit(n)],
        )?;
        rows.iter().map(|r| get(r, 0)).collect()
    }

    fn insert_membership(&mut self, r: &MembershipRecord) -> StoreResult<()> {
        let kind = r.membership_type.as_stored();
        self.insert(
            "INSERT INTO channel_memberships (channel_arn, app_instance_arn, member_arn, member_name, membership_type, invited_by_arn, \
             invited_by_name, created_ms, updated_ms, read_marker_ms, preferences) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &r.channel_arn,
                &r.app_instance_arn,
                &r.member.arn,
                &r.member.name,
                &kind,
                &r.invited_by.arn,
                &r.invited_by.name,
                &r.created_ms,
                &r.updated_ms,
                &r.read_marker_ms,
                &r.preferences,
            ],
        )
    }

    fn get_membership(&mut self, channel_arn: &str, member_arn: &str) -> StoreResult<Option<MembershipRecord>> {
        self.query_opt(
            concat!("SELECT ", membership_cols!(), " FROM channel_memberships m WHERE m.channel_arn = $1 AND m.member_arn = $2"),
            &[&channel_arn, &member_arn],
        )?
        .as_ref()
        .map(membership)
        .transpose()
    }

    fn update_membership(&mut self, channel_arn: &str, member_arn: &str, u: &MembershipUpdate) -> StoreResult<bool> {
        Ok(self.execute(
            "UPDATE channel_memberships SET read_marker_ms = COALESCE($3, read_marker_ms), preferences = COALESCE($4, preferences), \
             updated_ms = CASE WHEN $5::bigint IS NULL THEN updated_ms ELSE GREATEST($5, updated_ms + 1) END \
             WHERE channel_arn = $1 AND member_arn = $2",
            &[&channel_arn, &member_arn, &u.read_marker_ms, &u.preferences, &u.touched_ms],
        )? > 0)
    }

    fn delete_membership(&mut self, channel_arn: &str, member_arn: &str) -> StoreResult<bool> {
        Ok(self.execute("DELETE FROM channel_memberships WHERE channel_arn = $1 AND member_arn = $2", &[&channel_arn, &member_arn])? > 0)
    }

    fn count_memberships(&mut self, channel_arn: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM channel_memberships WHERE channel_arn = $1", &[&channel_arn])
    }

    fn count_member_channels(&mut self, member_arn: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM channel_memberships WHERE member_arn = $1", &[&member_arn])
    }

    fn list_memberships(
        &mut self,
        channel_arn: &str,
        membership_type: Option<ChannelMembershipType>,
        after: i64,
        n: usize,
    ) -> StoreResult<Vec<MembershipRecord>> {
        let rows = match membership_type {
            None => self.query(
                concat!(
                    "SELECT ",
                    membership_cols!(),
                    " FROM channel_memberships m WHERE m.channel_arn = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3"
                ),
                &[&channel_arn, &after, &limit(n)],
            )?,
            Some(t) => self.query(
                concat!(
                    "SELECT ",
                    membership_cols!(),
                    " FROM channel_memberships m WHERE m.channel_arn = $1 AND m.membership_type = $2 AND m.seq > $3 ORDER BY m.seq LIMIT $4"
                ),
                &[&channel_arn, &t.as_stored(), &after, &limit(n)],
            )?,
        };
        all(rows, membership)
    }

    fn list_member_channels(&mut self, member_arn: &str, after: i64, n: usize) -> StoreResult<Vec<(MembershipRecord, ChannelRecord)>> {
        let rows = self.query(
            concat!(
                "SELECT ",
                membership_cols!(),
                ", ",
                channel_cols!(),
                " FROM channel_memberships m JOIN channels c ON c.arn = m.channel_arn \
                 WHERE m.member_arn = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3"
            ),
            &[&member_arn, &after, &limit(n)],
        )?;
        rows.iter().map(|r| Ok((membership(r)?, channel_at(r, MEMBERSHIP_COLS)?))).collect()
    }

    fn delete_member_everywhere(&mut self, member_arn: &str) -> StoreResult<Vec<String>> {
        self.writing()?;
        let rows = self.query(
            "WITH d AS (DELETE FROM channel_memberships WHERE member_arn = $1 RETURNING seq, channel_arn) \
             SELECT channel_arn FROM d ORDER BY seq",
            &[&member_arn],
        )?;
        let channels = rows.iter().map(|r| get(r, 0)).collect::<StoreResult<Vec<String>>>()?;
        self.execute("DELETE FROM channel_moderators WHERE moderator_arn = $1", &[&member_arn])?;
        Ok(channels)
    }

    fn insert_moderator(&mut self, r: &ModeratorRecord) -> StoreResult<()> {
        self.insert(
            "INSERT INTO channel_moderators (channel_arn, app_instance_arn, moderator_arn, moderator_name, created_by_arn, created_by_name, \
             created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&r.channel_arn, &r.app_instance_arn, &r.moderator.arn, &r.moderator.name, &r.created_by.arn, &r.created_by.name, &r.created_ms],
        )
    }

    fn get_moderator(&mut self, channel_arn: &str, moderator_arn: &str) -> StoreResult<Option<ModeratorRecord>> {
        self.query_opt(
            concat!("SELECT ", moderator_cols!(), " FROM channel_moderators WHERE channel_arn = $1 AND moderator_arn = $2"),
            &[&channel_arn, &moderator_arn],
        )?
        .as_ref()
        .map(moderator)
        .transpose()
    }

    fn delete_moderator(&mut self, channel_arn: &str, moderator_arn: &str) -> StoreResult<bool> {
        Ok(self.execute("DELETE FROM channel_moderators WHERE channel_arn = $1 AND moderator_arn = $2", &[&channel_arn, &moderator_arn])?
            > 0)
    }

    fn count_moderators(&mut self, channel_arn: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM channel_moderators WHERE channel_arn = $1", &[&channel_arn])
    }

    fn list_moderators(&mut self, channel_arn: &str, after: i64, n: usize) -> StoreResult<Vec<ModeratorRecord>> {
        let rows = self.query(
            concat!("SELECT ", moderator_cols!(), " FROM channel_moderators WHERE channel_arn = $1 AND seq > $2 ORDER BY seq LIMIT $3"),
            &[&channel_arn, &after, &limit(n)],
        )?;
        all(rows, moderator)
    }

    fn insert_message(&mut self, r: &MessageRecord) -> StoreResult<()> {
        let kind = r.message_type.as_stored();
        self.insert(
            "INSERT INTO channel_messages (channel_arn, app_instance_arn, message_id, message_type, content, metadata, content_type, \
             message_attributes, sender_arn, sender_name, created_ms, updated_ms, edited_ms, redacted) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            &[
                &r.channel_arn,
                &r.app_instance_arn,
                &r.message_id,
                &kind,
                &r.content,
                &r.metadata,
                &r.content_type,
                &r.message_attributes,
                &r.sender.arn,
                &r.sender.name,
                &r.created_ms,
                &r.updated_ms,
                &r.edited_ms,
                &r.redacted,
            ],
        )
    }

    fn get_message(&mut self, channel_arn: &str, message_id: &str) -> StoreResult<Option<MessageRecord>> {
        self.query_opt(
            concat!("SELECT ", message_cols!(), " FROM channel_messages WHERE channel_arn = $1 AND message_id = $2"),
            &[&channel_arn, &message_id],
        )?
        .as_ref()
        .map(message)
        .transpose()
    }

    fn update_message(&mut self, channel_arn: &str, message_id: &str, u: &MessageUpdate) -> StoreResult<bool> {
        // A redaction clears every content member in the same statement that marks it.
        Ok(self.execute(
            "UPDATE channel_messages SET content = CASE WHEN $3 THEN NULL ELSE COALESCE($4, content) END, \
             metadata = CASE WHEN $3 THEN NULL ELSE COALESCE($5, metadata) END, \
             content_type = CASE WHEN $3 THEN NULL ELSE COALESCE($6, content_type) END, \
             message_attributes = CASE WHEN $3 THEN NULL ELSE message_attributes END, \
             redacted = redacted OR $3, edited_ms = COALESCE($7, edited_ms), \
             updated_ms = CASE WHEN $8::bigint IS NULL THEN updated_ms ELSE GREATEST($8, updated_ms + 1) END \
             WHERE channel_arn = $1 AND message_id = $2",
            &[&channel_arn, &message_id, &u.redact, &u.content, &u.metadata, &u.content_type, &u.edited_ms, &u.touched_ms],
        )? > 0)
    }

    fn delete_message(&mut self, channel_arn: &str, message_id: &str) -> StoreResult<bool> {
        Ok(self.execute("DELETE FROM channel_messages WHERE channel_arn = $1 AND message_id = $2", &[&channel_arn, &message_id])? > 0)
    }

    fn list_messages(&mut self, channel_arn: &str, q: &MessageQuery) -> StoreResult<Vec<MessageRecord>> {
        let Some(((low_ms, low_seq), (high_ms, high_seq))) = q.range() else { return Ok(Vec::new()) };
        let n = limit(q.limit);
        let p: Params<'_> = &[&channel_arn, &low_ms, &low_seq, &high_ms, &high_seq, &n];
        // One seek on the index (channel_arn, created_ms, seq), between the bounds of the query's range.
        let rows = if q.descending {
            self.query(
                concat!(
                    "SELECT ",
                    message_cols!(),
                    " FROM channel_messages WHERE channel_arn = $1 AND (created_ms, seq) >= ($2, $3) \
                     AND (created_ms, seq) <= ($4, $5) ORDER BY created_ms DESC, seq DESC LIMIT $6"
                ),
                p,
            )?
        } else {
            self.query(
                concat!(
                    "SELECT ",
                    message_cols!(),
                    " FROM channel_messages WHERE channel_arn = $1 AND (created_ms, seq) >= ($2, $3) \
                     AND (created_ms, seq) <= ($4, $5) ORDER BY created_ms, seq LIMIT $6"
                ),
                p,
            )?
        };
        all(rows, message)
    }

    fn delete_messages_before(&mut self, app_instance_arn: &str, before_ms: i64, n: usize) -> StoreResult<u64> {
        self.execute(
            "DELETE FROM channel_messages WHERE seq = ANY(ARRAY(SELECT seq FROM channel_messages \
             WHERE app_instance_arn = $1 AND created_ms < $2 ORDER BY created_ms LIMIT $3))",
            &[&app_instance_arn, &before_ms, &limit(n)],
        )
    }

    fn insert_push_entry(&mut self, e: &PushEntry) -> StoreResult<()> {
        let (endpoint_type, push_type) = (e.endpoint_type.map(StoredEnum::as_stored), e.push_type.as_stored());
        self.execute(
            concat!(
                "INSERT INTO push_outbox (",
                push_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
            ),
            &push_params(e, &endpoint_type, &push_type),
        )?;
        Ok(())
    }

    fn insert_push_entry_with_id(&mut self, e: &PushEntry) -> StoreResult<()> {
        let (endpoint_type, push_type) = (e.endpoint_type.map(StoredEnum::as_stored), e.push_type.as_stored());
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&e.id];
        params.extend(push_params(e, &endpoint_type, &push_type));
        // The id column is GENERATED ALWAYS: an explicit id must override it.
        self.insert(
            concat!(
                "INSERT INTO push_outbox (id, ",
                push_columns!(),
                ") OVERRIDING SYSTEM VALUE \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
            ),
            &params,
        )?;
        // An explicit id leaves the sequence where it was: move it to the id, never back (the
        // value nextval takes here is skipped, a gap and no more).
        self.query(
            "SELECT setval(pg_get_serial_sequence('push_outbox', 'id'), \
             GREATEST($1::BIGINT, nextval(pg_get_serial_sequence('push_outbox', 'id'))))",
            &[&e.id],
        )?;
        Ok(())
    }

    fn trim_push_outbox(&mut self, keep: u64) -> StoreResult<u64> {
        // The count is an index-only scan; the cut is then found from the old end, over the excess
        // only, rather than by stepping back over the `keep` newest entries.
        let entries = self.count("SELECT COUNT(*) FROM push_outbox", &[])?;
        let Some(excess) = entries.checked_sub(keep).filter(|n| *n > 0) else { return Ok(0) };
        let skip = (excess - 1).min(i64::MAX as u64) as i64;
        self.execute("DELETE FROM push_outbox WHERE id <= (SELECT id FROM push_outbox ORDER BY id LIMIT 1 OFFSET $1)", &[&skip])
    }

    fn list_push_entries(&mut self, f: &PushFilter, n: usize) -> StoreResult<Vec<PushEntry>> {
        let rows = self.query(
            concat!("SELECT ", push_entry_cols!(), " FROM push_outbox WHERE ", push_filter!(), " ORDER BY id LIMIT $5"),
            &[&f.channel_arn, &f.recipient_arn, &f.message_id, &f.after_id, &limit(n)],
        )?;
        all(rows, push_entry)
    }

    fn delete_push_entries(&mut self, f: &PushFilter) -> StoreResult<u64> {
        self.execute(
            concat!("DELETE FROM push_outbox WHERE ", push_filter!()),
            &[&f.channel_arn, &f.recipient_arn, &f.message_id, &f.after_id],
        )
    }

    fn put_push_failure(&mut self, m: &PushFailureMarker) -> StoreResult<()> {
        let (kind, target) = marker_target(&m.target);
        let reason = m.status_reason.as_stored();
        self.execute(
            "INSERT INTO push_failure_markers (target_kind, target, status_reason, created_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (target_kind, target) DO UPDATE SET status_reason = excluded.status_reason",
            &[&kind, &target, &reason, &m.created_ms],
        )?;
        Ok(())
    }

    fn list_push_failures(&mut self) -> StoreResult<Vec<PushFailureMarker>> {
        let rows = self.query("SELECT target_kind, target, status_reason, created_ms FROM push_failure_markers ORDER BY seq", &[])?;
        all(rows, push_failure)
    }

    fn delete_push_failures(&mut self) -> StoreResult<u64> {
        self.execute("DELETE FROM push_failure_markers", &[])
    }

    fn push_failure_for(&mut self, device_token_sha256: &str, resource_arn: &str) -> StoreResult<Option<EndpointStatusReason>> {
        self.query_opt(
            "SELECT status_reason FROM push_failure_markers WHERE (target_kind = 'DEVICE_TOKEN' AND target = $1) \
             OR (target_kind = 'RESOURCE_ARN' AND target = $2) ORDER BY target_kind LIMIT 1",
            &[&device_token_sha256, &resource_arn],
        )?
        .as_ref()
        .map(|r| get_enum(r, 0, "push_failure_markers", "status_reason"))
        .transpose()
    }

    fn heartbeat(&mut self, now_ms: i64) -> StoreResult<()> {
        let value = now_ms.to_be_bytes().to_vec();
        self.execute(
            "INSERT INTO meta (key, value) VALUES ('heartbeat', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&value],
        )?;
        Ok(())
    }

    fn lock(&mut self, key: &str) -> StoreResult<()> {
        self.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&key])?;
        Ok(())
    }

    fn token_secret(&mut self) -> StoreResult<Vec<u8>> {
        match self.query_opt("SELECT value FROM meta WHERE key = 'token_secret'", &[])? {
            Some(row) => get(&row, 0),
            None => Err(StoreError::Internal("the database has no token secret".into())),
        }
    }

    fn count_children(&mut self, kind: PurgeKind, arn: &str, cap: u64) -> StoreResult<u64> {
        let cap_param = cap.min(i64::MAX as u64) as i64;
        let mut total = 0;
        for (_, count) in purged_tables(kind) {
            total += self.count(count, &[&arn, &cap_param])?;
            if total >= cap {
                break;
            }
        }
        Ok(total.min(cap))
    }

    fn detach(&mut self, kind: PurgeKind, arn: &str, now_ms: i64) -> StoreResult<bool> {
        // One statement: the row goes and its purge is queued, or nothing happens.
        let sql = match kind {
            PurgeKind::AppInstance => {
                "WITH d AS (DELETE FROM app_instances WHERE arn = $1 RETURNING arn) \
                 INSERT INTO purges (kind, arn, app_instance_arn, created_ms) SELECT $2, arn, arn, $3 FROM d"
            }
            PurgeKind::User => concat!(
                "WITH d AS (DELETE FROM users WHERE arn = $1 AND ",
                user_alive!(),
                " RETURNING arn, app_instance_arn), \
                 r AS (DELETE FROM admins WHERE member_arn IN (SELECT arn FROM d)) \
                 INSERT INTO purges (kind, arn, app_instance_arn, created_ms) SELECT $2, arn, app_instance_arn, $3 FROM d"
            ),
        };
        Ok(self.execute(sql, &[&arn, &kind.as_stored(), &now_ms])? > 0)
    }

    fn pending_purges(&mut self, n: usize) -> StoreResult<Vec<PurgeJob>> {
        let rows = self.query("SELECT seq, kind, arn, app_instance_arn, created_ms FROM purges ORDER BY seq LIMIT $1", &[&limit(n)])?;
        rows.iter()
            .map(|r| {
                Ok(PurgeJob {
                    seq: get(r, 0)?,
                    kind: purge_kind(get(r, 1)?)?,
                    arn: get(r, 2)?,
                    app_instance_arn: get(r, 3)?,
                    created_ms: get(r, 4)?,
                })
            })
            .collect()
    }

    fn purge_batch(&mut self, seq: i64, n: usize) -> StoreResult<PurgeStep> {
        self.writing()?;
        // The queue row stays locked until this transaction ends: batches of one purge on several
        // nodes run one after the other, each seeing what the last one left.
        let Some(row) = self.query_opt("SELECT kind, arn FROM purges WHERE seq = $1 FOR UPDATE", &[&seq])? else {
            return Ok(PurgeStep { deleted: 0, done: true });
        };
        let (kind, arn): (PurgeKind, String) = (purge_kind(get(&row, 0)?)?, get(&row, 1)?);
        let mut left = limit(n);
        for (delete, _) in purged_tables(kind) {
            left -= self.execute(delete, &[&arn, &left])? as i64;
            if left <= 0 {
                return Ok(PurgeStep { deleted: limit(n) as u64, done: false });
            }
        }
        self.execute("DELETE FROM purges WHERE seq = $1", &[&seq])?;
        Ok(PurgeStep { deleted: (limit(n) - left) as u64, done: true })
    }
    fn reset(&mut self, scope: &ResetScope) -> StoreResult<ResetCounts> {
        macro_rules! in_scope {
            ($col:literal) => {
                concat!("($1::text IS NULL OR ", $col, " = $1::text) AND ($2::text IS NULL OR ", $col, " LIKE $2::text)")
            };
        }
        let arn = scope.app_instance_arn.as_deref();
        let pattern = scope.arn_pattern.as_deref();
        let p: Params<'_> = &[&arn, &pattern];
        let counts = ResetCounts {
            app_instances: self.count(concat!("SELECT COUNT(*) FROM app_instances WHERE ", in_scope!("arn")), p)?,
            users: self.count(concat!("SELECT COUNT(*) FROM users WHERE ", in_scope!("app_instance_arn"), " AND ", user_alive!()), p)?,
            bots: self.count(concat!("SELECT COUNT(*) FROM bots WHERE ", in_scope!("app_instance_arn"), " AND ", bot_alive!()), p)?,
            admins: self.count(
                concat!(
                    "SELECT COUNT(*) FROM admins WHERE ",
                    in_scope!("app_instance_arn"),
                    " AND EXISTS (SELECT 1 FROM app_instances a WHERE a.arn = admins.app_instance_arn)"
                ),
                p,
            )?,
            endpoints: self
                .count(concat!("SELECT COUNT(*) FROM endpoints WHERE ", in_scope!("app_instance_arn"), " AND ", endpoint_alive!()), p)?,
            channels: self.count(
                concat!("SELECT COUNT(*) FROM channels c WHERE ", in_scope!("c.app_instance_arn"), " AND ", instance_alive!("c")),
                p,
            )?,
            memberships: self.count(
                concat!(
                    "SELECT COUNT(*) FROM channel_memberships WHERE ",
                    in_scope!("app_instance_arn"),
                    " AND ",
                    instance_alive!("channel_memberships")
                ),
                p,
            )?,
            moderators: self.count(
                concat!(
                    "SELECT COUNT(*) FROM channel_moderators WHERE ",
                    in_scope!("app_instance_arn"),
                    " AND ",
                    instance_alive!("channel_moderators")
                ),
                p,
            )?,
            messages: self.count(
                concat!(
                    "SELECT COUNT(*) FROM channel_messages WHERE ",
                    in_scope!("app_instance_arn"),
                    " AND ",
                    instance_alive!("channel_messages")
                ),
                p,
            )?,
            channel_flows: self.count(
                concat!(
                    "SELECT COUNT(*) FROM channel_flows WHERE ",
                    in_scope!("app_instance_arn"),
                    " AND ",
                    instance_alive!("channel_flows")
                ),
                p,
            )?,
            streaming_configurations: self.count(
                concat!(
                    "SELECT COUNT(*) FROM streaming_configurations WHERE ",
                    in_scope!("app_instance_arn"),
                    " AND ",
                    instance_alive!("streaming_configurations")
                ),
                p,
            )?,
            push_outbox_entries: self.count(concat!("SELECT COUNT(*) FROM push_outbox WHERE ", in_scope!("app_instance_arn")), p)?,
            push_failure_markers: 0,
        };
        // Markers belong to no AppInstance: only a reset of everything removes them.
        let counts = if *scope == ResetScope::all() {
            ResetCounts { push_failure_markers: self.execute("DELETE FROM push_failure_markers", &[])?, ..counts }
        } else {
            counts
        };
        self.execute(concat!("DELETE FROM push_outbox WHERE ", in_scope!("app_instance_arn")), p)?;
        self.execute(concat!("DELETE FROM channel_messages WHERE ", in_scope!("app_instance_arn")), p)?;
        self.execute(concat!("DELETE FROM channel_flows WHERE ", in_scope!("app_instance_arn")), p)?;
        self.execute(concat!("DELETE FROM streaming_configurations WHERE ", in_scope!("app_instance_arn")), p)?;
        self.execute(concat!("DELETE FROM channel_memberships WHERE ", in_scope!("app_instance_arn")), p)?;
        self.execute(concat!("DELETE FROM channel_moderators WHERE ", in_scope!("app_instance_arn")), p)?;
        self.execute(concat!("DELETE FROM channels WHERE ", in_scope!("app_instance_arn")), p)?;
        self.execute(concat!("DELETE FROM endpoints WHERE ", in_scope!("app_instance_arn")), p)?;
        self.execute(concat!("DELETE FROM admins WHERE ", in_scope!("app_instance_arn")), p)?;
        self.execute(concat!("DELETE FROM tags WHERE ", in_scope!("app_instance_arn")), p)?;
        self.execute(concat!("DELETE FROM idempotency WHERE ", in_scope!("app_instance_arn")), p)?;
        self.execute(concat!("DELETE FROM users WHERE ", in_scope!("app_instance_arn")), p)?;
        self.execute(concat!("DELETE FROM bots WHERE ", in_scope!("app_instance_arn")), p)?;
        self.execute(concat!("DELETE FROM purges WHERE ", in_scope!("app_instance_arn")), p)?;
        self.execute(concat!("DELETE FROM app_instances WHERE ", in_scope!("arn")), p)?;
        Ok(counts)
    }

    fn insert_channel_flow(&mut self, r: &ChannelFlowRecord) -> StoreResult<()> {
        self.insert(
            "INSERT INTO channel_flows (arn, app_instance_arn, name, processors, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&r.arn, &r.app_instance_arn, &r.name, &r.processors, &r.created_ms, &r.updated_ms],
        )
    }

    fn get_channel_flow(&mut self, arn: &str) -> StoreResult<Option<ChannelFlowRecord>> {
        self.query_opt(concat!("SELECT ", channel_flow_cols!(), " FROM channel_flows WHERE arn = $1"), &[&arn])?
            .as_ref()
            .map(channel_flow)
            .transpose()
    }

    fn update_channel_flow(&mut self, arn: &str, name: &str, processors: &str, touched_ms: i64) -> StoreResult<bool> {
        Ok(self.execute(
            "UPDATE channel_flows SET name = $2, processors = $3, updated_ms = GREATEST($4, updated_ms + 1) WHERE arn = $1",
            &[&arn, &name, &processors, &touched_ms],
        )? > 0)
    }

    fn delete_channel_flow(&mut self, arn: &str) -> StoreResult<bool> {
        self.execute("DELETE FROM tags WHERE resource_arn = $1", &[&arn])?;
        self.execute("DELETE FROM idempotency WHERE resource_arn = $1", &[&arn])?;
        Ok(self.execute("DELETE FROM channel_flows WHERE arn = $1", &[&arn])? > 0)
    }

    fn list_channel_flows(&mut self, app_instance_arn: &str, after: i64, n: usize) -> StoreResult<Vec<ChannelFlowRecord>> {
        let rows = self.query(
            concat!("SELECT ", channel_flow_cols!(), " FROM channel_flows WHERE app_instance_arn = $1 AND seq > $2 ORDER BY seq LIMIT $3"),
            &[&app_instance_arn, &after, &limit(n)],
        )?;
        all(rows, channel_flow)
    }

    fn set_channel_flow(&mut self, channel_arn: &str, flow_arn: Option<&str>) -> StoreResult<bool> {
        Ok(self.execute("UPDATE channels SET channel_flow_arn = $2 WHERE arn = $1", &[&channel_arn, &flow_arn])? > 0)
    }

    fn channel_flow_of(&mut self, channel_arn: &str) -> StoreResult<Option<String>> {
        match self.query_opt("SELECT channel_flow_arn FROM channels WHERE arn = $1", &[&channel_arn])? {
            Some(row) => get(&row, 0),
            None => Ok(None),
        }
    }

    fn list_flow_channels(&mut self, flow_arn: &str, after: i64, n: usize) -> StoreResult<Vec<ChannelRecord>> {
        let rows = self.query(
            concat!("SELECT ", channel_cols!(), " FROM channels c WHERE c.channel_flow_arn = $1 AND c.seq > $2 ORDER BY c.seq LIMIT $3"),
            &[&flow_arn, &after, &limit(n)],
        )?;
        all(rows, channel)
    }

    fn put_streaming_configurations(&mut self, app_instance_arn: &str, configs: &[StreamingConfigRecord]) -> StoreResult<()> {
        self.execute("DELETE FROM streaming_configurations WHERE app_instance_arn = $1", &[&app_instance_arn])?;
        for c in configs {
            let data_type = c.data_type.as_stored();
            self.execute(
                "INSERT INTO streaming_configurations (app_instance_arn, data_type, resource_arn) VALUES ($1, $2, $3)",
                &[&app_instance_arn, &data_type, &c.resource_arn],
            )?;
        }
        Ok(())
    }

    fn get_streaming_configurations(&mut self, app_instance_arn: &str) -> StoreResult<Vec<StreamingConfigRecord>> {
        let rows = self.query(
            "SELECT data_type, resource_arn FROM streaming_configurations WHERE app_instance_arn = $1 ORDER BY seq",
            &[&app_instance_arn],
        )?;
        all(rows, |r| {
            Ok(StreamingConfigRecord { data_type: get_enum(r, 0, "streaming_configurations", "data_type")?, resource_arn: get(r, 1)? })
        })
    }

    fn delete_streaming_configurations(&mut self, app_instance_arn: &str) -> StoreResult<u64> {
        self.execute("DELETE FROM streaming_configurations WHERE app_instance_arn = $1", &[&app_instance_arn])
    }
}
