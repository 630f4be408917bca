//! [`Tx`] on one SQLite connection inside an open transaction.

use crate::cache::EndpointCache;
use carillon_store::*;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, Statement, params};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The statements of one connection, each prepared at its first use and kept for as long as the
/// connection: the writer's, which lives as long as the store. A statement is found by the address
/// and length of its SQL text, which is always a constant; rusqlite's own cache hashes and compares
/// the whole text twice on every use, which showed in profiles of the hot paths.
pub struct Prepared<'c> {
    conn: &'c Connection,
    statements: RefCell<HashMap<(usize, usize), Statement<'c>, BuildHasherDefault<FxHasher>>>,
}

impl<'c> Prepared<'c> {
    pub fn new(conn: &'c Connection) -> Self {
        Prepared { conn, statements: RefCell::default() }
    }

    /// The connection the statements belong to.
    pub fn connection(&self) -> &'c Connection {
        self.conn
    }

    /// Runs `f` on the statement of `sql`, preparing it if this is its first use. rusqlite resets a
    /// statement after each execution; its bound values are cleared here.
    pub fn with<T>(&self, sql: &'static str, f: impl FnOnce(&mut Statement<'c>) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        let mut statements = self.statements.borrow_mut();
        let statement = match statements.entry((sql.as_ptr() as usize, sql.len())) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(self.conn.prepare(sql)?),
        };
        let out = f(statement);
        // As rusqlite's cache does: bound values are not kept until the next use.
        statement.clear_bindings();
        out
    }
}

/// FxHash's step, one multiplication per word: for the statements' (address, length) keys and
/// the endpoint cache's ARNs, where SipHash's protection against chosen collisions buys nothing
/// (a collision costs a comparison, or an entry of the cache). Bytes go in eight at a time, then
/// their count.
#[derive(Default)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
        let mut last = [0u8; 8];
        last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.write_u64(u64::from_le_bytes(last));
        self.write_usize(bytes.len());
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub struct SqliteTx<'t, 'c> {
    conn: &'t Connection,
    writable: bool,
    /// The connection's statements prepared once, where the connection lives as long as they do
    /// (the writer's); `None` takes them from rusqlite's cache instead.
    prepared: Option<&'t Prepared<'c>>,
    /// For a read of one statement, run outside any transaction: whether that statement ran (a
    /// second one fails unrun).
    one: Cell<Option<bool>>,
    /// For a read of one statement: the cache of endpoints it reads through.
    endpoints: Option<&'t EndpointCache>,
}

impl<'t, 'c: 't> SqliteTx<'t, 'c> {
    pub fn new(conn: &'t Connection, writable: bool) -> Self {
        SqliteTx { conn, writable, prepared: None, one: Cell::new(None), endpoints: None }
    }

    /// A read of at most one statement on `conn`, outside any transaction: SQLite runs the
    /// statement in a read transaction of its own, one snapshot. A read of an endpoint goes
    /// through `endpoints`.
    pub fn one_statement(conn: &'t Connection, endpoints: &'t EndpointCache) -> Self {
        SqliteTx { conn, writable: false, prepared: None, one: Cell::new(Some(false)), endpoints: Some(endpoints) }
    }

    /// Counts a statement of a one-statement read: a second one fails unrun.
    fn turn(&self) -> StoreResult<()> {
        match self.one.get() {
            Some(true) => Err(StoreError::Internal("a one-statement read ran a second statement".into())),
            Some(false) => {
                self.one.set(Some(true));
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// A transaction on the connection of `prepared`, whose statements it uses.
    pub fn with_prepared(prepared: &'t Prepared<'c>, writable: bool) -> Self {
        SqliteTx { conn: prepared.conn, writable, prepared: Some(prepared), one: Cell::new(None), endpoints: None }
    }

    /// Runs `f` on the statement of `sql`: the one prepared for this connection, or rusqlite's
    /// cached one.
    fn with<T>(&self, sql: &'static str, f: impl FnOnce(&mut Statement<'_>) -> rusqlite::Result<T>) -> StoreResult<T> {
        self.turn()?;
        self.statement(sql, f)
    }

    /// [`Self::with`] for a statement whose turn was taken already.
    fn statement<T>(&self, sql: &'static str, f: impl FnOnce(&mut Statement<'_>) -> rusqlite::Result<T>) -> StoreResult<T> {
        match self.prepared {
            Some(p) => p.with(sql, f),
            None => self.conn.prepare_cached(sql).and_then(|mut s| f(&mut s)),
        }
        .map_err(map_err)
    }

    /// A statement whose text is built at run time (rare paths): from rusqlite's cache.
    fn exec_text(&self, sql: &str, params: impl rusqlite::Params) -> StoreResult<usize> {
        if !self.writable {
            return Err(StoreError::Internal("write inside a read transaction".into()));
        }
        self.conn.prepare_cached(sql).and_then(|mut s| s.execute(params)).map_err(map_err)
    }

    fn exec(&self, sql: &'static str, params: impl rusqlite::Params) -> StoreResult<usize> {
        if !self.writable {
            return Err(StoreError::Internal("write inside a read transaction".into()));
        }
        self.with(sql, |s| s.execute(params))
    }

    fn one<T>(
        &self,
        sql: &'static str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<Option<T>> {
        self.with(sql, |s| s.query_row(params, f).optional())
    }

    fn many<T>(
        &self,
        sql: &'static str,
        params: impl rusqlite::Params,
        f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<Vec<T>> {
        self.with(sql, |s| s.query_map(params, f)?.collect::<Result<Vec<_>, _>>())
    }

    fn count(&self, sql: &'static str, params: impl rusqlite::Params) -> StoreResult<u64> {
        Ok(self.one(sql, params, |r| r.get::<_, i64>(0))?.unwrap_or(0) as u64)
    }
}

/// Maps SQLite's errors onto the store's: a full, read-only or unreachable database is
/// `Unavailable`, a uniqueness violation `Conflict`, anything else `Internal`.
pub fn map_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::ConstraintViolation
                if matches!(f.extended_code, rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY) =>
            {
                StoreError::Conflict(e.to_string())
            }
            ErrorCode::DiskFull
            | ErrorCode::SystemIoFailure
            | ErrorCode::ReadOnly
            | ErrorCode::CannotOpen
            | ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::OutOfMemory
            | ErrorCode::PermissionDenied
            | ErrorCode::FileLockingProtocolFailed => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Internal(e.to_string()),
        },
        // A column whose text is not a value of the model's enum: the message names it.
        rusqlite::Error::FromSqlConversionFailure(_, _, inner) => StoreError::Internal(inner.to_string()),
        _ => StoreError::Internal(e.to_string()),
    }
}

/// A column's text that the model's enum does not know.
#[derive(Debug)]
struct UnknownValue(String);

impl std::fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnknownValue {}

/// Reads column `i` (`table.column`) as one of the model's enums.
fn enum_col<T: StoredEnum>(r: &Row<'_>, i: usize, table: &str, column: &str) -> rusqlite::Result<T> {
    // Text, the only thing the store writes there, is read in place; anything else is read as a
    // `String`, which words the error it always did.
    let in_place = match r.get_ref(i)? {
        rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t).ok(),
        _ => None,
    };
    let owned: String;
    let text = match in_place {
        Some(text) => text,
        None => {
            owned = r.get(i)?;
            owned.as_str()
        }
    };
    T::from_stored(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            Box::new(UnknownValue(unknown_value(table, column, text))),
        )
    })
}

/// [`enum_col`] of a nullable column.
fn opt_enum_col<T: StoredEnum>(r: &Row<'_>, i: usize, table: &str, column: &str) -> rusqlite::Result<Option<T>> {
    match r.get_ref(i)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        _ => enum_col(r, i, table, column).map(Some),
    }
}

macro_rules! app_instance_cols {
    () => {
        "seq, arn, account, region, name, metadata, created_ms, updated_ms, retention_days, retention_set_ms"
    };
}

fn app_instance(r: &Row<'_>) -> rusqlite::Result<AppInstanceRecord> {
    Ok(AppInstanceRecord {
        seq: r.get(0)?,
        arn: r.get(1)?,
        account: r.get(2)?,
        region: r.get(3)?,
        name: r.get(4)?,
        metadata: r.get(5)?,
        created_ms: r.get(6)?,
        updated_ms: r.get(7)?,
        retention_days: r.get(8)?,
        retention_set_ms: r.get(9)?,
    })
}

macro_rules! user_cols {
    () => {
        "seq, arn, app_instance_arn, user_id, name, metadata, created_ms, updated_ms, expiration_days, expiration_criterion, expires_at_ms"
    };
}

fn user(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        seq: r.get(0)?,
        arn: r.get(1)?,
        app_instance_arn: r.get(2)?,
        user_id: r.get(3)?,
        name: r.get(4)?,
        metadata: r.get(5)?,
        created_ms: r.get(6)?,
        updated_ms: r.get(7)?,
        expiration_days: r.get(8)?,
        expiration_criterion: opt_enum_col(r, 9, "users", "expiration_criterion")?,
        expires_at_ms: r.get(10)?,
    })
}

macro_rules! bot_cols {
    () => {
        "seq, arn, app_instance_arn, name, metadata, configuration, created_ms, updated_ms"
    };
}

fn bot(r: &Row<'_>) -> rusqlite::Result<BotRecord> {
    Ok(BotRecord {
        seq: r.get(0)?,
        arn: r.get(1)?,
        app_instance_arn: r.get(2)?,
        name: r.get(3)?,
        metadata: r.get(4)?,
        configuration: r.get(5)?,
        created_ms: r.get(6)?,
        updated_ms: r.get(7)?,
    })
}

macro_rules! admin_cols {
    () => {
        "seq, app_instance_arn, member_arn, created_ms"
    };
}

fn admin(r: &Row<'_>) -> rusqlite::Result<AdminRecord> {
    Ok(AdminRecord { seq: r.get(0)?, app_instance_arn: r.get(1)?, member_arn: r.get(2)?, created_ms: r.get(3)? })
}

macro_rules! endpoint_cols {
    () => {
        "seq, user_arn, endpoint_id, app_instance_arn, name, endpoint_type, resource_arn, device_token, \
                             voip_device_token, allow_messages, status, status_reason, created_ms, updated_ms"
    };
}

fn endpoint(r: &Row<'_>) -> rusqlite::Result<EndpointRecord> {
    Ok(EndpointRecord {
        seq: r.get(0)?,
        user_arn: r.get(1)?,
        endpoint_id: r.get(2)?,
        app_instance_arn: r.get(3)?,
        name: r.get(4)?,
        endpoint_type: enum_col(r, 5, "endpoints", "endpoint_type")?,
        resource_arn: r.get(6)?,
        device_token: r.get(7)?,
        voip_device_token: r.get(8)?,
        allow_messages: enum_col(r, 9, "endpoints", "allow_messages")?,
        status: enum_col(r, 10, "endpoints", "status")?,
        status_reason: opt_enum_col(r, 11, "endpoints", "status_reason")?,
        created_ms: r.get(12)?,
        updated_ms: r.get(13)?,
    })
}

macro_rules! channel_cols {
    () => {
        "c.seq, c.arn, c.app_instance_arn, c.name, c.mode, c.privacy, c.metadata, c.created_by_arn, c.created_by_name, c.created_ms, \
         c.updated_ms, c.last_message_ms, c.expiration_days, c.expiration_criterion, c.expires_at_ms"
    };
}

/// The channel in the 15 columns of [`channel_cols`] from column `at` on.
fn channel_at(r: &Row<'_>, at: usize) -> rusqlite::Result<ChannelRecord> {
    let days: Option<i32> = r.get(at + 12)?;
    let criterion: Option<ChannelExpirationCriterion> = opt_enum_col(r, at + 13, "channels", "expiration_criterion")?;
    let expires_at_ms: Option<i64> = r.get(at + 14)?;
    let expiration = match (days, criterion, expires_at_ms) {
        (Some(days), Some(criterion), Some(expires_at_ms)) => Some(ChannelExpiration { days, criterion, expires_at_ms }),
        _ => None,
    };
    Ok(ChannelRecord {
        seq: r.get(at)?,
        arn: r.get(at + 1)?,
        app_instance_arn: r.get(at + 2)?,
        name: r.get(at + 3)?,
        mode: enum_col(r, at + 4, "channels", "mode")?,
        privacy: enum_col(r, at + 5, "channels", "privacy")?,
        metadata: r.get(at + 6)?,
        created_by: Actor { arn: r.get(at + 7)?, name: r.get(at + 8)? },
        created_ms: r.get(at + 9)?,
        updated_ms: r.get(at + 10)?,
        last_message_ms: r.get(at + 11)?,
        expiration,
    })
}

fn channel(r: &Row<'_>) -> rusqlite::Result<ChannelRecord> {
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

fn membership(r: &Row<'_>) -> rusqlite::Result<MembershipRecord> {
    Ok(MembershipRecord {
        seq: r.get(0)?,
        channel_arn: r.get(1)?,
        app_instance_arn: r.get(2)?,
        member: Actor { arn: r.get(3)?, name: r.get(4)? },
        membership_type: enum_col(r, 5, "channel_memberships", "membership_type")?,
        invited_by: Actor { arn: r.get(6)?, name: r.get(7)? },
        created_ms: r.get(8)?,
        updated_ms: r.get(9)?,
        read_marker_ms: r.get(10)?,
        preferences: r.get(11)?,
    })
}

macro_rules! moderator_cols {
    () => {
        "seq, channel_arn, app_instance_arn, moderator_arn, moderator_name, created_by_arn, created_by_name, created_ms"
    };
}

fn moderator(r: &Row<'_>) -> rusqlite::Result<ModeratorRecord> {
    Ok(ModeratorRecord {
        seq: r.get(0)?,
        channel_arn: r.get(1)?,
        app_instance_arn: r.get(2)?,
        moderator: Actor { arn: r.get(3)?, name: r.get(4)? },
        created_by: Actor { arn: r.get(5)?, name: r.get(6)? },
        created_ms: r.get(7)?,
    })
}

macro_rules! message_cols {
    () => {
        "seq, channel_arn, app_instance_arn, message_id, message_type, content, metadata, content_type, message_attributes, \
         sender_arn, sender_name, created_ms, updated_ms, edited_ms, redacted"
    };
}

fn message(r: &Row<'_>) -> rusqlite::Result<MessageRecord> {
    Ok(MessageRecord {
        seq: r.get(0)?,
        channel_arn: r.get(1)?,
        app_instance_arn: r.get(2)?,
        message_id: r.get(3)?,
        message_type: enum_col(r, 4, "channel_messages", "message_type")?,
        content: r.get(5)?,
        metadata: r.get(6)?,
        content_type: r.get(7)?,
        message_attributes: r.get(8)?,
        sender: Actor { arn: r.get(9)?, name: r.get(10)? },
        created_ms: r.get(11)?,
        updated_ms: r.get(12)?,
        edited_ms: r.get(13)?,
        redacted: r.get(14)?,
    })
}

macro_rules! channel_flow_cols {
    () => {
        "seq, arn, app_instance_arn, name, processors, created_ms, updated_ms"
    };
}
fn channel_flow(r: &Row<'_>) -> rusqlite::Result<ChannelFlowRecord> {
    Ok(ChannelFlowRecord {
        seq: r.get(0)?,
        arn: r.get(1)?,
        app_instance_arn: r.get(2)?,
        name: r.get(3)?,
        processors: r.get(4)?,
        created_ms: r.get(5)?,
        updated_ms: r.get(6)?,
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
/// An endpoint is alive when its user and AppInstance are. Only a queued purge leaves an endpoint
/// without them (a delete removes the parent and queues the purge in one transaction, and the
/// purge's last batch removes its queue entry), so with no purge queued, which the first term reads
/// once per statement from the small `purges` table, the two lookups per row are skipped.
macro_rules! endpoint_alive {
    () => {
        "(NOT EXISTS (SELECT 1 FROM purges) \
          OR (EXISTS (SELECT 1 FROM users u WHERE u.arn = endpoints.user_arn) \
              AND EXISTS (SELECT 1 FROM app_instances a WHERE a.arn = endpoints.app_instance_arn)))"
    };
}

/// The statement of [`Tx::get_endpoint`], DescribeAppInstanceUserEndpoint's read: user ARN, EndpointId.
pub const GET_ENDPOINT: &str =
    concat!("SELECT ", endpoint_cols!(), " FROM endpoints WHERE user_arn = ?1 AND endpoint_id = ?2 AND ", endpoint_alive!());

/// The statement of [`Tx::update_endpoint`], UpdateAppInstanceUserEndpoint's write: user ARN,
/// EndpointId, then Name, AllowMessages, the state and its reason (each NULL to keep it), and the
/// time of the update in milliseconds.
pub const UPDATE_ENDPOINT: &str = concat!(
    "UPDATE endpoints SET name = COALESCE(?3, name), allow_messages = COALESCE(?4, allow_messages), \
     status = COALESCE(?5, status), status_reason = CASE WHEN ?5 IS NULL THEN status_reason ELSE ?6 END, \
     updated_ms = CASE WHEN ?7 IS NULL THEN updated_ms ELSE MAX(?7, updated_ms + 1) END \
     WHERE user_arn = ?1 AND endpoint_id = ?2 AND ",
    endpoint_alive!()
);

/// The tables a purge of `kind` empties, in order, each with its row key and the column that names
/// the purged resource.
fn purged_tables(kind: PurgeKind) -> &'static [(&'static str, &'static str, &'static str)] {
    match kind {
        PurgeKind::AppInstance => &[
            ("channel_messages", "seq", "app_instance_arn"),
            ("channel_memberships", "seq", "app_instance_arn"),
            ("channel_moderators", "seq", "app_instance_arn"),
            ("channels", "seq", "app_instance_arn"),
            ("channel_flows", "seq", "app_instance_arn"),
            ("streaming_configurations", "seq", "app_instance_arn"),
            ("endpoints", "seq", "app_instance_arn"),
            ("tags", "seq", "app_instance_arn"),
            ("idempotency", "rowid", "app_instance_arn"),
            ("admins", "seq", "app_instance_arn"),
            ("users", "seq", "app_instance_arn"),
            ("bots", "seq", "app_instance_arn"),
        ],
        PurgeKind::User => &[("endpoints", "seq", "user_arn"), ("tags", "seq", "resource_arn"), ("idempotency", "rowid", "resource_arn")],
    }
}

macro_rules! push_entry_cols {
    () => {
        "id, time_ms, account_id, region, app_instance_arn, channel_arn, message_id, sender_arn, recipient_arn, endpoint_id, \
         endpoint_type, resource_arn, device_token_sha256, push_type, title, body, outcome, reason"
    };
}

fn push_entry(r: &Row<'_>) -> rusqlite::Result<PushEntry> {
    Ok(PushEntry {
        id: r.get(0)?,
        time_ms: r.get(1)?,
        account_id: r.get(2)?,
        region: r.get(3)?,
        app_instance_arn: r.get(4)?,
        channel_arn: r.get(5)?,
        message_id: r.get(6)?,
        sender_arn: r.get(7)?,
        recipient_arn: r.get(8)?,
        endpoint_id: r.get(9)?,
        endpoint_type: opt_enum_col(r, 10, "push_outbox", "endpoint_type")?,
        resource_arn: r.get(11)?,
        device_token_sha256: r.get(12)?,
        push_type: enum_col(r, 13, "push_outbox", "push_type")?,
        title: r.get(14)?,
        body: r.get(15)?,
        outcome: r.get(16)?,
        reason: r.get(17)?,
    })
}

/// A marker's target as its two columns.
fn marker_target(t: &PushFailureTarget) -> (&'static str, &str) {
    match t {
        PushFailureTarget::DeviceTokenSha256(h) => ("DEVICE_TOKEN", h),
        PushFailureTarget::ResourceArn(a) => ("RESOURCE_ARN", a),
    }
}

fn push_failure(r: &Row<'_>) -> rusqlite::Result<PushFailureMarker> {
    let kind: String = r.get(0)?;
    let target: String = r.get(1)?;
    let target = match kind.as_str() {
        "DEVICE_TOKEN" => PushFailureTarget::DeviceTokenSha256(target),
        "RESOURCE_ARN" => PushFailureTarget::ResourceArn(target),
        other => {
            return Err(rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                Box::new(UnknownValue(unknown_value("push_failure_markers", "target_kind", other))),
            ));
        }
    };
    Ok(PushFailureMarker { target, status_reason: enum_col(r, 2, "push_failure_markers", "status_reason")?, created_ms: r.get(3)? })
}

/// The outbox filter as a WHERE clause on `?1`-`?4`.
const PUSH_FILTER: &str = "(?1 IS NULL OR channel_arn = ?1) AND (?2 IS NULL OR recipient_arn = ?2) \
     AND (?3 IS NULL OR message_id = ?3) AND id > ?4";

impl SqliteTx<'_, '_> {
    /// Appends an outbox entry under `id`, or under the next id when `None`. AUTOINCREMENT keeps the
    /// largest id the table ever held, an explicit one included, and gives the next id above it.
    fn push_entry_insert(&mut self, id: Option<i64>, e: &PushEntry) -> StoreResult<()> {
        self.exec(
            "INSERT INTO push_outbox (id, time_ms, account_id, region, app_instance_arn, channel_arn, message_id, sender_arn, \
             recipient_arn, endpoint_id, endpoint_type, resource_arn, device_token_sha256, push_type, title, body, outcome, reason) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            params![
                id,
                e.time_ms,
                e.account_id,
                e.region,
                e.app_instance_arn,
                e.channel_arn,
                e.message_id,
                e.sender_arn,
                e.recipient_arn,
                e.endpoint_id,
                e.endpoint_type.map(StoredEnum::as_stored),
                e.resource_arn,
                e.device_token_sha256,
                e.push_type.as_stored(),
                e.title,
                e.body,
                e.outcome,
                e.reason
            ],
        )?;
        Ok(())
    }

    /// Finishes at once every purge queued for `arn`, before a resource of that ARN is made again.
    fn settle(&mut self, arn: &str) -> StoreResult<()> {
        let queued: Vec<i64> = self.many("SELECT seq FROM purges WHERE arn = ?1", [arn], |r| r.get(0))?;
        for seq in queued {
            self.purge_batch(seq, usize::MAX)?;
        }
        Ok(())
    }
}

fn limit(n: usize) -> i64 {
    n.min(i64::MAX as usize) as i64
}

impl Tx for SqliteTx<'_, '_> {
    fn lock(&mut self, _key: &str) -> StoreResult<()> {
        // One writer thread runs every write transaction: they are serialized already.
        Ok(())
    }

    fn insert_app_instance(&mut self, r: &AppInstanceRecord) -> StoreResult<()> {
        self.settle(&r.arn)?;
        self.exec(
            "INSERT INTO app_instances (arn, account, region, name, metadata, created_ms, updated_ms, retention_days, retention_set_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![r.arn, r.account, r.region, r.name, r.metadata, r.created_ms, r.updated_ms, r.retention_days, r.retention_set_ms],
        )?;
        Ok(())
    }

    fn get_app_instance(&mut self, arn: &str) -> StoreResult<Option<AppInstanceRecord>> {
        self.one(concat!("SELECT ", app_instance_cols!(), " FROM app_instances WHERE arn = ?1"), [arn], app_instance)
    }

    fn update_app_instance(&mut self, arn: &str, u: &AppInstanceUpdate) -> StoreResult<bool> {
        let retention = u.retention.as_ref();
        Ok(self.exec(
            "UPDATE app_instances SET name = COALESCE(?2, name), metadata = COALESCE(?3, metadata), \
             retention_days = CASE WHEN ?4 IS NULL THEN retention_days ELSE ?5 END, retention_set_ms = COALESCE(?4, retention_set_ms), \
             updated_ms = CASE WHEN ?6 IS NULL THEN updated_ms ELSE MAX(?6, updated_ms + 1) END WHERE arn = ?1",
            params![arn, u.name, u.metadata, retention.map(|r| r.set_ms), retention.and_then(|r| r.days), u.touched_ms],
        )? > 0)
    }

    fn delete_app_instance(&mut self, arn: &str) -> StoreResult<bool> {
        self.exec("DELETE FROM channel_messages WHERE app_instance_arn = ?1", [arn])?;
        self.exec("DELETE FROM channel_memberships WHERE app_instance_arn = ?1", [arn])?;
        self.exec("DELETE FROM channel_moderators WHERE app_instance_arn = ?1", [arn])?;
        self.exec("DELETE FROM channels WHERE app_instance_arn = ?1", [arn])?;
        self.exec("DELETE FROM channel_flows WHERE app_instance_arn = ?1", [arn])?;
        self.exec("DELETE FROM streaming_configurations WHERE app_instance_arn = ?1", [arn])?;
        self.exec("DELETE FROM endpoints WHERE app_instance_arn = ?1", [arn])?;
        self.exec("DELETE FROM admins WHERE app_instance_arn = ?1", [arn])?;
        self.exec("DELETE FROM tags WHERE app_instance_arn = ?1", [arn])?;
        self.exec("DELETE FROM idempotency WHERE app_instance_arn = ?1", [arn])?;
        self.exec("DELETE FROM users WHERE app_instance_arn = ?1", [arn])?;
        self.exec("DELETE FROM bots WHERE app_instance_arn = ?1", [arn])?;
        Ok(self.exec("DELETE FROM app_instances WHERE arn = ?1", [arn])? > 0)
    }

    fn count_app_instances(&mut self, account: &str, region: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM app_instances WHERE account = ?1 AND region = ?2", [account, region])
    }

    fn list_app_instances(&mut self, account: &str, region: &str, after: i64, n: usize) -> StoreResult<Vec<AppInstanceRecord>> {
        self.many(
            concat!(
                "SELECT ",
                app_instance_cols!(),
                " FROM app_instances WHERE account = ?1 AND region = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4"
            ),
            params![account, region, after, limit(n)],
            app_instance,
        )
    }

    fn list_every_app_instance(&mut self, after: i64, n: usize) -> StoreResult<Vec<AppInstanceRecord>> {
        self.many(
            concat!("SELECT ", app_instance_cols!(), " FROM app_instances WHERE seq > ?1 ORDER BY seq LIMIT ?2"),
            params![after, limit(n)],
            app_instance,
        )
    }

    fn insert_user(&mut self, r: &UserRecord) -> StoreResult<()> {
        self.settle(&r.arn)?;
        self.exec(
            "INSERT INTO users (arn, app_instance_arn, user_id, name, metadata, created_ms, updated_ms, expiration_days, \
             expiration_criterion, expires_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                r.arn,
                r.app_instance_arn,
                r.user_id,
                r.name,
                r.metadata,
                r.created_ms,
                r.updated_ms,
                r.expiration_days,
                r.expiration_criterion.map(StoredEnum::as_stored),
                r.expires_at_ms
            ],
        )?;
        Ok(())
    }

    fn get_user(&mut self, arn: &str) -> StoreResult<Option<UserRecord>> {
        self.one(concat!("SELECT ", user_cols!(), " FROM users WHERE arn = ?1 AND ", user_alive!()), [arn], user)
    }

    fn update_user(&mut self, arn: &str, u: &UserUpdate) -> StoreResult<bool> {
        let e = u.expiration.flatten();
        Ok(self.exec(
            "UPDATE users SET name = COALESCE(?2, name), metadata = COALESCE(?3, metadata), \
             expiration_days = CASE WHEN ?4 THEN ?5 ELSE expiration_days END, \
             expiration_criterion = CASE WHEN ?4 THEN ?6 ELSE expiration_criterion END, \
             expires_at_ms = CASE WHEN ?4 THEN ?7 ELSE expires_at_ms END, \
             updated_ms = CASE WHEN ?8 IS NULL THEN updated_ms ELSE MAX(?8, updated_ms + 1) END WHERE arn = ?1 AND \
             EXISTS (SELECT 1 FROM app_instances a WHERE a.arn = users.app_instance_arn)",
            params![
                arn,
                u.name,
                u.metadata,
                u.expiration.is_some(),
                e.map(|e| e.days),
                e.map(|e| e.criterion.as_stored()),
                e.map(|e| e.expires_at_ms),
                u.touched_ms
            ],
        )? > 0)
    }

    fn delete_user(&mut self, arn: &str) -> StoreResult<bool> {
        self.exec("DELETE FROM endpoints WHERE user_arn = ?1", [arn])?;
        self.exec("DELETE FROM admins WHERE member_arn = ?1", [arn])?;
        self.exec("DELETE FROM tags WHERE resource_arn = ?1", [arn])?;
        self.exec("DELETE FROM idempotency WHERE resource_arn = ?1", [arn])?;
        Ok(self.exec(concat!("DELETE FROM users WHERE arn = ?1 AND ", user_alive!()), [arn])? > 0)
    }

    fn count_users(&mut self, app_instance_arn: &str) -> StoreResult<u64> {
        // Kept by triggers (migration 0003): one lookup, however many users there are.
        self.count("SELECT n FROM user_counts WHERE app_instance_arn = ?1", [app_instance_arn])
    }

    fn list_users(&mut self, app_instance_arn: &str, after: i64, n: usize) -> StoreResult<Vec<UserRecord>> {
        self.many(
            concat!("SELECT ", user_cols!(), " FROM users WHERE app_instance_arn = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"),
            params![app_instance_arn, after, limit(n)],
            user,
        )
    }

    fn expired_users(&mut self, now_ms: i64, n: usize) -> StoreResult<Vec<String>> {
        self.many(
            concat!(
                "SELECT arn FROM users WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= ?1 AND ",
                user_alive!(),
                " ORDER BY expires_at_ms, seq LIMIT ?2"
            ),
            params![now_ms, limit(n)],
            |r| r.get(0),
        )
    }

    fn insert_bot(&mut self, r: &BotRecord) -> StoreResult<()> {
        self.exec(
            "INSERT INTO bots (arn, app_instance_arn, name, metadata, configuration, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![r.arn, r.app_instance_arn, r.name, r.metadata, r.configuration, r.created_ms, r.updated_ms],
        )?;
        Ok(())
    }

    fn get_bot(&mut self, arn: &str) -> StoreResult<Option<BotRecord>> {
        self.one(concat!("SELECT ", bot_cols!(), " FROM bots WHERE arn = ?1 AND ", bot_alive!()), [arn], bot)
    }

    fn update_bot(&mut self, arn: &str, u: &BotUpdate) -> StoreResult<bool> {
        Ok(self.exec(
            "UPDATE bots SET name = COALESCE(?2, name), metadata = COALESCE(?3, metadata), configuration = COALESCE(?4, configuration), \
             updated_ms = CASE WHEN ?5 IS NULL THEN updated_ms ELSE MAX(?5, updated_ms + 1) END WHERE arn = ?1 AND \
             EXISTS (SELECT 1 FROM app_instances a WHERE a.arn = bots.app_instance_arn)",
            params![arn, u.name, u.metadata, u.configuration, u.touched_ms],
        )? > 0)
    }

    fn delete_bot(&mut self, arn: &str) -> StoreResult<bool> {
        self.exec("DELETE FROM admins WHERE member_arn = ?1", [arn])?;
        self.exec("DELETE FROM tags WHERE resource_arn = ?1", [arn])?;
        self.exec("DELETE FROM idempotency WHERE resource_arn = ?1", [arn])?;
        Ok(self.exec(concat!("DELETE FROM bots WHERE arn = ?1 AND ", bot_alive!()), [arn])? > 0)
    }

    fn count_bots(&mut self, app_instance_arn: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM bots WHERE app_instance_arn = ?1", [app_instance_arn])
    }

    fn list_bots(&mut self, app_instance_arn: &str, after: i64, n: usize) -> StoreResult<Vec<BotRecord>> {
        self.many(
            concat!("SELECT ", bot_cols!(), " FROM bots WHERE app_instance_arn = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"),
            params![app_instance_arn, after, limit(n)],
            bot,
        )
    }

    fn insert_admin(&mut self, r: &AdminRecord) -> StoreResult<()> {
        self.exec(
            "INSERT INTO admins (app_instance_arn, member_arn, created_ms) VALUES (?1, ?2, ?3)",
            params![r.app_instance_arn, r.member_arn, r.created_ms],
        )?;
        Ok(())
    }

    fn get_admin(&mut self, app_instance_arn: &str, member_arn: &str) -> StoreResult<Option<AdminRecord>> {
        self.one(
            concat!("SELECT ", admin_cols!(), " FROM admins WHERE app_instance_arn = ?1 AND member_arn = ?2"),
            [app_instance_arn, member_arn],
            admin,
        )
    }

    fn delete_admin(&mut self, app_instance_arn: &str, member_arn: &str) -> StoreResult<bool> {
        Ok(self.exec("DELETE FROM admins WHERE app_instance_arn = ?1 AND member_arn = ?2", [app_instance_arn, member_arn])? > 0)
    }

    fn count_admins(&mut self, app_instance_arn: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM admins WHERE app_instance_arn = ?1", [app_instance_arn])
    }

    fn list_admins(&mut self, app_instance_arn: &str, after: i64, n: usize) -> StoreResult<Vec<AdminRecord>> {
        self.many(
            concat!("SELECT ", admin_cols!(), " FROM admins WHERE app_instance_arn = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"),
            params![app_instance_arn, after, limit(n)],
            admin,
        )
    }

    fn insert_endpoint(&mut self, r: &EndpointRecord) -> StoreResult<()> {
        self.exec(
            "INSERT INTO endpoints (user_arn, endpoint_id, app_instance_arn, name, endpoint_type, resource_arn, device_token, \
             voip_device_token, allow_messages, status, status_reason, created_ms, updated_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                r.user_arn,
                r.endpoint_id,
                r.app_instance_arn,
                r.name,
                r.endpoint_type.as_stored(),
                r.resource_arn,
                r.device_token,
                r.voip_device_token,
                r.allow_messages.as_stored(),
                r.status.as_stored(),
                r.status_reason.map(StoredEnum::as_stored),
                r.created_ms,
                r.updated_ms
            ],
        )?;
        Ok(())
    }

    fn get_endpoint(&mut self, user_arn: &str, endpoint_id: &str) -> StoreResult<Option<EndpointRecord>> {
        let Some(cache) = self.endpoints else { return self.one(GET_ENDPOINT, [user_arn, endpoint_id], endpoint) };
        // The statement's turn is taken whether the cache answers or not: it is the read's one.
        self.turn()?;
        if let Some(known) = cache.get(user_arn, endpoint_id) {
            return Ok(known);
        }
        cache.read(user_arn, endpoint_id, || self.statement(GET_ENDPOINT, |s| s.query_row([user_arn, endpoint_id], endpoint).optional()))
    }

    fn update_endpoint(&mut self, user_arn: &str, endpoint_id: &str, u: &EndpointUpdate) -> StoreResult<bool> {
        Ok(self.exec(
            UPDATE_ENDPOINT,
            params![
                user_arn,
                endpoint_id,
                u.name,
                u.allow_messages.map(StoredEnum::as_stored),
                u.state.map(|(s, _)| s.as_stored()),
                u.state.and_then(|(_, r)| r).map(StoredEnum::as_stored),
                u.touched_ms
            ],
        )? > 0)
    }

    fn delete_endpoint(&mut self, user_arn: &str, endpoint_id: &str) -> StoreResult<bool> {
        Ok(self.exec(
            concat!("DELETE FROM endpoints WHERE user_arn = ?1 AND endpoint_id = ?2 AND ", endpoint_alive!()),
            [user_arn, endpoint_id],
        )? > 0)
    }

    fn count_endpoints(&mut self, user_arn: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM endpoints WHERE user_arn = ?1", [user_arn])
    }

    fn list_endpoints(&mut self, user_arn: &str, after: i64, n: usize) -> StoreResult<Vec<EndpointRecord>> {
        self.many(
            concat!("SELECT ", endpoint_cols!(), " FROM endpoints WHERE user_arn = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"),
            params![user_arn, after, limit(n)],
            endpoint,
        )
    }

    fn endpoint_with_device_token(&mut self, user_arn: &str, device_token: &str) -> StoreResult<Option<String>> {
        self.one("SELECT endpoint_id FROM endpoints WHERE user_arn = ?1 AND device_token = ?2", [user_arn, device_token], |r| r.get(0))
    }

    fn get_tags(&mut self, resource_arn: &str) -> StoreResult<Vec<Tag>> {
        self.many("SELECT key, value FROM tags WHERE resource_arn = ?1 ORDER BY seq", [resource_arn], |r| {
            Ok(Tag { key: r.get(0)?, value: r.get(1)? })
        })
    }

    fn put_tags(&mut self, resource_arn: &str, app_instance_arn: &str, tags: &[Tag]) -> StoreResult<()> {
        for t in tags {
            self.exec(
                "INSERT INTO tags (resource_arn, app_instance_arn, key, value) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value",
                params![resource_arn, app_instance_arn, t.key, t.value],
            )?;
        }
        Ok(())
    }

    fn delete_tags(&mut self, resource_arn: &str, keys: &[String]) -> StoreResult<()> {
        for k in keys {
            self.exec("DELETE FROM tags WHERE resource_arn = ?1 AND key = ?2", [resource_arn, k.as_str()])?;
        }
        Ok(())
    }

    fn get_idempotency(&mut self, key: &IdempotencyKey) -> StoreResult<Option<IdempotencyRecord>> {
        self.one(
            "SELECT fingerprint, resource_arn, app_instance_arn, response, created_ms FROM idempotency \
             WHERE account = ?1 AND region = ?2 AND operation = ?3 AND token = ?4",
            params![key.account, key.region, key.operation, key.token],
            |r| {
                Ok(IdempotencyRecord {
                    fingerprint: r.get(0)?,
                    resource_arn: r.get(1)?,
                    app_instance_arn: r.get(2)?,
                    response: r.get(3)?,
                    created_ms: r.get(4)?,
                })
            },
        )
    }

    fn put_idempotency(&mut self, key: &IdempotencyKey, r: &IdempotencyRecord) -> StoreResult<()> {
        self.exec(
            "INSERT INTO idempotency (account, region, operation, token, fingerprint, resource_arn, app_instance_arn, response, created_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT (account, region, operation, token) DO UPDATE SET fingerprint = excluded.fingerprint, \
             resource_arn = excluded.resource_arn, app_instance_arn = excluded.app_instance_arn, response = excluded.response, \
             created_ms = excluded.created_ms",
            params![key.account, key.region, key.operation, key.token, r.fingerprint, r.resource_arn, r.app_instance_arn, r.response, r.created_ms],
        )?;
        Ok(())
    }

    fn insert_channel(&mut self, r: &ChannelRecord) -> StoreResult<()> {
        let e = r.expiration.as_ref();
        self.exec(
            "INSERT INTO channels (arn, app_instance_arn, name, mode, privacy, metadata, created_by_arn, created_by_name, created_ms, \
             updated_ms, last_message_ms, expiration_days, expiration_criterion, expires_at_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                r.arn,
                r.app_instance_arn,
                r.name,
                r.mode.as_stored(),
                r.privacy.as_stored(),
                r.metadata,
                r.created_by.arn,
                r.created_by.name,
                r.created_ms,
                r.updated_ms,
                r.last_message_ms,
                e.map(|e| e.days),
                e.map(|e| e.criterion.as_stored()),
                e.map(|e| e.expires_at_ms)
            ],
        )?;
        Ok(())
    }

    fn get_channel(&mut self, arn: &str) -> StoreResult<Option<ChannelRecord>> {
        self.one(concat!("SELECT ", channel_cols!(), " FROM channels c WHERE c.arn = ?1"), [arn], channel)
    }

    fn update_channel(&mut self, arn: &str, u: &ChannelUpdate) -> StoreResult<bool> {
        let e = u.expiration.flatten();
        Ok(self.exec(
            "UPDATE channels SET name = COALESCE(?2, name), mode = COALESCE(?3, mode), \
             metadata = CASE WHEN ?4 THEN ?5 ELSE metadata END, \
             expiration_days = CASE WHEN ?6 THEN ?7 ELSE expiration_days END, \
             expiration_criterion = CASE WHEN ?6 THEN ?8 ELSE expiration_criterion END, \
             expires_at_ms = CASE WHEN ?6 THEN ?9 ELSE expires_at_ms END, \
             last_message_ms = CASE WHEN ?10 IS NULL THEN last_message_ms ELSE MAX(?10, COALESCE(last_message_ms, ?10)) END, \
             updated_ms = CASE WHEN ?11 IS NULL THEN updated_ms ELSE MAX(?11, updated_ms + 1) END WHERE arn = ?1",
            params![
                arn,
                u.name,
                u.mode.map(StoredEnum::as_stored),
                u.metadata.is_some(),
                u.metadata.as_ref().and_then(|m| m.as_deref()),
                u.expiration.is_some(),
                e.map(|e| e.days),
                e.map(|e| e.criterion.as_stored()),
                e.map(|e| e.expires_at_ms),
                u.last_message_ms,
                u.touched_ms
            ],
        )? > 0)
    }

    fn delete_channel(&mut self, arn: &str) -> StoreResult<bool> {
        self.exec("DELETE FROM channel_messages WHERE channel_arn = ?1", [arn])?;
        self.exec("DELETE FROM channel_memberships WHERE channel_arn = ?1", [arn])?;
        self.exec("DELETE FROM channel_moderators WHERE channel_arn = ?1", [arn])?;
        self.exec("DELETE FROM tags WHERE resource_arn = ?1", [arn])?;
        self.exec("DELETE FROM idempotency WHERE resource_arn = ?1", [arn])?;
        Ok(self.exec("DELETE FROM channels WHERE arn = ?1", [arn])? > 0)
    }

    fn count_channels(&mut self, app_instance_arn: &str) -> StoreResult<u64> {
        // Kept by triggers (migration 0004): one lookup, however many channels there are.
        self.count("SELECT n FROM channel_counts WHERE app_instance_arn = ?1", [app_instance_arn])
    }

    fn list_channels(
        &mut self,
        app_instance_arn: &str,
        privacy: Option<ChannelPrivacy>,
        after: i64,
        n: usize,
    ) -> StoreResult<Vec<ChannelRecord>> {
        match privacy {
            None => self.many(
                concat!(
                    "SELECT ",
                    channel_cols!(),
                    " FROM channels c WHERE c.app_instance_arn = ?1 AND c.seq > ?2 ORDER BY c.seq LIMIT ?3"
                ),
                params![app_instance_arn, after, limit(n)],
                channel,
            ),
            Some(p) => self.many(
                concat!(
                    "SELECT ",
                    channel_cols!(),
                    " FROM channels c WHERE c.app_instance_arn = ?1 AND c.privacy = ?2 AND c.seq > ?3 ORDER BY c.seq LIMIT ?4"
                ),
                params![app_instance_arn, p.as_stored(), after, limit(n)],
                channel,
            ),
        }
    }

    fn expired_channels(&mut self, now_ms: i64, n: usize) -> StoreResult<Vec<String>> {
        self.many(
            concat!(
                "SELECT c.arn FROM channels c WHERE c.expires_at_ms IS NOT NULL AND c.expires_at_ms <= ?1 AND ",
                instance_alive!("c"),
                " ORDER BY c.expires_at_ms, c.seq LIMIT ?2"
            ),
            params![now_ms, limit(n)],
            |r| r.get(0),
        )
    }

    fn insert_membership(&mut self, r: &MembershipRecord) -> StoreResult<()> {
        self.exec(
            "INSERT INTO channel_memberships (channel_arn, app_instance_arn, member_arn, member_name, membership_type, invited_by_arn, \
             invited_by_name, created_ms, updated_ms, read_marker_ms, preferences) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                r.channel_arn,
                r.app_instance_arn,
                r.member.arn,
                r.member.name,
                r.membership_type.as_stored(),
                r.invited_by.arn,
                r.invited_by.name,
                r.created_ms,
                r.updated_ms,
                r.read_marker_ms,
                r.preferences
            ],
        )?;
        Ok(())
    }

    fn get_membership(&mut self, channel_arn: &str, member_arn: &str) -> StoreResult<Option<MembershipRecord>> {
        self.one(
            concat!("SELECT ", membership_cols!(), " FROM channel_memberships m WHERE m.channel_arn = ?1 AND m.member_arn = ?2"),
            [channel_arn, member_arn],
            membership,
        )
    }

    fn update_membership(&mut self, channel_arn: &str, member_arn: &str, u: &MembershipUpdate) -> StoreResult<bool> {
        Ok(self.exec(
            "UPDATE channel_memberships SET read_marker_ms = COALESCE(?3, read_marker_ms), preferences = COALESCE(?4, preferences), \
             updated_ms = CASE WHEN ?5 IS NULL THEN updated_ms ELSE MAX(?5, updated_ms + 1) END \
             WHERE channel_arn = ?1 AND member_arn = ?2",
            params![channel_arn, member_arn, u.read_marker_ms, u.preferences, u.touched_ms],
        )? > 0)
    }

    fn delete_membership(&mut self, channel_arn: &str, member_arn: &str) -> StoreResult<bool> {
        Ok(self.exec("DELETE FROM channel_memberships WHERE channel_arn = ?1 AND member_arn = ?2", [channel_arn, member_arn])? > 0)
    }

    fn count_memberships(&mut self, channel_arn: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM channel_memberships WHERE channel_arn = ?1", [channel_arn])
    }

    fn count_member_channels(&mut self, member_arn: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM channel_memberships WHERE member_arn = ?1", [member_arn])
    }

    fn list_memberships(
        &mut self,
        channel_arn: &str,
        membership_type: Option<ChannelMembershipType>,
        after: i64,
        n: usize,
    ) -> StoreResult<Vec<MembershipRecord>> {
        match membership_type {
            None => self.many(
                concat!(
                    "SELECT ",
                    membership_cols!(),
                    " FROM channel_memberships m WHERE m.channel_arn = ?1 AND m.seq > ?2 ORDER BY m.seq LIMIT ?3"
                ),
                params![channel_arn, after, limit(n)],
                membership,
            ),
            Some(t) => self.many(
                concat!(
                    "SELECT ",
                    membership_cols!(),
                    " FROM channel_memberships m WHERE m.channel_arn = ?1 AND m.membership_type = ?2 AND m.seq > ?3 ORDER BY m.seq LIMIT ?4"
                ),
                params![channel_arn, t.as_stored(), after, limit(n)],
                membership,
            ),
        }
    }

    fn list_member_channels(&mut self, member_arn: &str, after: i64, n: usize) -> StoreResult<Vec<(MembershipRecord, ChannelRecord)>> {
        self.many(
            concat!(
                "SELECT ",
                membership_cols!(),
                ", ",
                channel_cols!(),
                " FROM channel_memberships m JOIN channels c ON c.arn = m.channel_arn \
                 WHERE m.member_arn = ?1 AND m.seq > ?2 ORDER BY m.seq LIMIT ?3"
            ),
            params![member_arn, after, limit(n)],
            |r| Ok((membership(r)?, channel_at(r, MEMBERSHIP_COLS)?)),
        )
    }

    fn delete_member_everywhere(&mut self, member_arn: &str) -> StoreResult<Vec<String>> {
        let channels =
            self.many("SELECT channel_arn FROM channel_memberships WHERE member_arn = ?1 ORDER BY seq", [member_arn], |r| r.get(0))?;
        self.exec("DELETE FROM channel_memberships WHERE member_arn = ?1", [member_arn])?;
        self.exec("DELETE FROM channel_moderators WHERE moderator_arn = ?1", [member_arn])?;
        Ok(channels)
    }

    fn insert_moderator(&mut self, r: &ModeratorRecord) -> StoreResult<()> {
        self.exec(
            "INSERT INTO channel_moderators (channel_arn, app_instance_arn, moderator_arn, moderator_name, created_by_arn, created_by_name, \
             created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![r.channel_arn, r.app_instance_arn, r.moderator.arn, r.moderator.name, r.created_by.arn, r.created_by.name, r.created_ms],
        )?;
        Ok(())
    }

    fn get_moderator(&mut self, channel_arn: &str, moderator_arn: &str) -> StoreResult<Option<ModeratorRecord>> {
        self.one(
            concat!("SELECT ", moderator_cols!(), " FROM channel_moderators WHERE channel_arn = ?1 AND moderator_arn = ?2"),
            [channel_arn, moderator_arn],
            moderator,
        )
    }

    fn delete_moderator(&mut self, channel_arn: &str, moderator_arn: &str) -> StoreResult<bool> {
        Ok(self.exec("DELETE FROM channel_moderators WHERE channel_arn = ?1 AND moderator_arn = ?2", [channel_arn, moderator_arn])? > 0)
    }

    fn count_moderators(&mut self, channel_arn: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM channel_moderators WHERE channel_arn = ?1", [channel_arn])
    }

    fn list_moderators(&mut self, channel_arn: &str, after: i64, n: usize) -> StoreResult<Vec<ModeratorRecord>> {
        self.many(
            concat!("SELECT ", moderator_cols!(), " FROM channel_moderators WHERE channel_arn = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"),
            params![channel_arn, after, limit(n)],
            moderator,
        )
    }

    fn insert_message(&mut self, r: &MessageRecord) -> StoreResult<()> {
        self.exec(
            "INSERT INTO channel_messages (channel_arn, app_instance_arn, message_id, message_type, content, metadata, content_type, \
             message_attributes, sender_arn, sender_name, created_ms, updated_ms, edited_ms, redacted) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                r.channel_arn,
                r.app_instance_arn,
                r.message_id,
                r.message_type.as_stored(),
                r.content,
                r.metadata,
                r.content_type,
                r.message_attributes,
                r.sender.arn,
                r.sender.name,
                r.created_ms,
                r.updated_ms,
                r.edited_ms,
                r.redacted
            ],
        )?;
        Ok(())
    }

    fn get_message(&mut self, channel_arn: &str, message_id: &str) -> StoreResult<Option<MessageRecord>> {
        self.one(
            concat!("SELECT ", message_cols!(), " FROM channel_messages WHERE channel_arn = ?1 AND message_id = ?2"),
            [channel_arn, message_id],
            message,
        )
    }

    fn update_message(&mut self, channel_arn: &str, message_id: &str, u: &MessageUpdate) -> StoreResult<bool> {
        // A redaction clears every content member in the same statement that marks it.
        Ok(self.exec(
            "UPDATE channel_messages SET content = CASE WHEN ?3 THEN NULL ELSE COALESCE(?4, content) END, \
             metadata = CASE WHEN ?3 THEN NULL ELSE COALESCE(?5, metadata) END, \
             content_type = CASE WHEN ?3 THEN NULL ELSE COALESCE(?6, content_type) END, \
             message_attributes = CASE WHEN ?3 THEN NULL ELSE message_attributes END, \
             redacted = CASE WHEN ?3 THEN 1 ELSE redacted END, edited_ms = COALESCE(?7, edited_ms), \
             updated_ms = CASE WHEN ?8 IS NULL THEN updated_ms ELSE MAX(?8, updated_ms + 1) END \
             WHERE channel_arn = ?1 AND message_id = ?2",
            params![channel_arn, message_id, u.redact, u.content, u.metadata, u.content_type, u.edited_ms, u.touched_ms],
        )? > 0)
    }

    fn delete_message(&mut self, channel_arn: &str, message_id: &str) -> StoreResult<bool> {
        Ok(self.exec("DELETE FROM channel_messages WHERE channel_arn = ?1 AND message_id = ?2", [channel_arn, message_id])? > 0)
    }

    fn list_messages(&mut self, channel_arn: &str, q: &MessageQuery) -> StoreResult<Vec<MessageRecord>> {
        let Some(((low_ms, low_seq), (high_ms, high_seq))) = q.range() else { return Ok(Vec::new()) };
        let n = limit(q.limit);
        let p = params![channel_arn, low_ms, low_seq, high_ms, high_seq, n];
        // One seek on the index (channel_arn, created_ms, seq), between the bounds of the query's range.
        if q.descending {
            self.many(
                concat!(
                    "SELECT ",
                    message_cols!(),
                    " FROM channel_messages WHERE channel_arn = ?1 AND (created_ms, seq) >= (?2, ?3) \
                     AND (created_ms, seq) <= (?4, ?5) ORDER BY created_ms DESC, seq DESC LIMIT ?6"
                ),
                p,
                message,
            )
        } else {
            self.many(
                concat!(
                    "SELECT ",
                    message_cols!(),
                    " FROM channel_messages WHERE channel_arn = ?1 AND (created_ms, seq) >= (?2, ?3) \
                     AND (created_ms, seq) <= (?4, ?5) ORDER BY created_ms, seq LIMIT ?6"
                ),
                p,
                message,
            )
        }
    }

    fn delete_messages_before(&mut self, app_instance_arn: &str, before_ms: i64, n: usize) -> StoreResult<u64> {
        Ok(self.exec(
            "DELETE FROM channel_messages WHERE seq IN \
             (SELECT seq FROM channel_messages WHERE app_instance_arn = ?1 AND created_ms < ?2 ORDER BY created_ms LIMIT ?3)",
            params![app_instance_arn, before_ms, limit(n)],
        )? as u64)
    }

    fn insert_push_entry(&mut self, e: &PushEntry) -> StoreResult<()> {
        self.push_entry_insert(None, e)
    }

    fn insert_push_entry_with_id(&mut self, e: &PushEntry) -> StoreResult<()> {
        self.push_entry_insert(Some(e.id), e)
    }

    fn trim_push_outbox(&mut self, keep: u64) -> StoreResult<u64> {
        // Stepping back over the `keep` newest entries to find the cut cost every send the whole
        // outbox, row by row. Counting costs a walk over the pages of the smallest index (SQLite adds
        // up a page's cells at once); the cut is then found from the old end, over the excess only.
        let entries = self.count("SELECT COUNT(*) FROM push_outbox", [])?;
        let Some(excess) = entries.checked_sub(keep).filter(|n| *n > 0) else { return Ok(0) };
        let skip = (excess - 1).min(i64::MAX as u64) as i64;
        Ok(self.exec("DELETE FROM push_outbox WHERE id <= (SELECT id FROM push_outbox ORDER BY id LIMIT 1 OFFSET ?1)", [skip])? as u64)
    }

    fn list_push_entries(&mut self, f: &PushFilter, n: usize) -> StoreResult<Vec<PushEntry>> {
        let sql = format!("SELECT {} FROM push_outbox WHERE {PUSH_FILTER} ORDER BY id LIMIT ?5", push_entry_cols!());
        self.turn()?;
        let mut stmt = self.conn.prepare_cached(&sql).map_err(map_err)?;
        let rows =
            stmt.query_map(params![f.channel_arn, f.recipient_arn, f.message_id, f.after_id, limit(n)], push_entry).map_err(map_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(map_err)
    }

    fn delete_push_entries(&mut self, f: &PushFilter) -> StoreResult<u64> {
        let sql = format!("DELETE FROM push_outbox WHERE {PUSH_FILTER}");
        Ok(self.exec_text(&sql, params![f.channel_arn, f.recipient_arn, f.message_id, f.after_id])? as u64)
    }

    fn put_push_failure(&mut self, m: &PushFailureMarker) -> StoreResult<()> {
        let (kind, target) = marker_target(&m.target);
        self.exec(
            "INSERT INTO push_failure_markers (target_kind, target, status_reason, created_ms) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (target_kind, target) DO UPDATE SET status_reason = excluded.status_reason",
            params![kind, target, m.status_reason.as_stored(), m.created_ms],
        )?;
        Ok(())
    }

    fn list_push_failures(&mut self) -> StoreResult<Vec<PushFailureMarker>> {
        self.many("SELECT target_kind, target, status_reason, created_ms FROM push_failure_markers ORDER BY seq", [], push_failure)
    }

    fn delete_push_failures(&mut self) -> StoreResult<u64> {
        Ok(self.exec("DELETE FROM push_failure_markers", [])? as u64)
    }

    fn push_failure_for(&mut self, device_token_sha256: &str, resource_arn: &str) -> StoreResult<Option<EndpointStatusReason>> {
        let text = self.one(
            "SELECT status_reason FROM push_failure_markers WHERE (target_kind = 'DEVICE_TOKEN' AND target = ?1) \
             OR (target_kind = 'RESOURCE_ARN' AND target = ?2) ORDER BY target_kind LIMIT 1",
            [device_token_sha256, resource_arn],
            |r| r.get::<_, String>(0),
        )?;
        text.map(|t| decode_enum("push_failure_markers", "status_reason", &t)).transpose()
    }

    fn heartbeat(&mut self, now_ms: i64) -> StoreResult<()> {
        self.exec(
            "INSERT INTO meta (key, value) VALUES ('heartbeat', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [now_ms.to_be_bytes().to_vec()],
        )?;
        Ok(())
    }

    fn token_secret(&mut self) -> StoreResult<Vec<u8>> {
        self.one("SELECT value FROM meta WHERE key = 'token_secret'", [], |r| r.get(0))?
            .ok_or_else(|| StoreError::Internal("the database has no token secret".into()))
    }

    fn count_children(&mut self, kind: PurgeKind, arn: &str, cap: u64) -> StoreResult<u64> {
        let mut total = 0;
        for (table, _, column) in purged_tables(kind) {
            let sql = format!("SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {column} = ?1 LIMIT ?2)");
            self.turn()?;
            let mut stmt = self.conn.prepare_cached(&sql).map_err(map_err)?;
            let n = stmt.query_row(params![arn, cap.min(i64::MAX as u64) as i64], |r| r.get::<_, i64>(0)).optional().map_err(map_err)?;
            total += n.unwrap_or(0) as u64;
            if total >= cap {
                break;
            }
        }
        Ok(total.min(cap))
    }

    fn detach(&mut self, kind: PurgeKind, arn: &str, now_ms: i64) -> StoreResult<bool> {
        let app_instance_arn = match kind {
            PurgeKind::AppInstance => {
                if self.exec("DELETE FROM app_instances WHERE arn = ?1", [arn])? == 0 {
                    return Ok(false);
                }
                arn.to_string()
            }
            PurgeKind::User => {
                let sql = concat!("SELECT app_instance_arn FROM users WHERE arn = ?1 AND ", user_alive!());
                let Some(instance) = self.one(sql, [arn], |r| r.get::<_, String>(0))? else { return Ok(false) };
                self.exec("DELETE FROM users WHERE arn = ?1", [arn])?;
                self.exec("DELETE FROM admins WHERE member_arn = ?1", [arn])?;
                instance
            }
        };
        self.exec(
            "INSERT INTO purges (kind, arn, app_instance_arn, created_ms) VALUES (?1, ?2, ?3, ?4)",
            params![kind.as_stored(), arn, app_instance_arn, now_ms],
        )?;
        Ok(true)
    }

    fn pending_purges(&mut self, n: usize) -> StoreResult<Vec<PurgeJob>> {
        let rows: Vec<(i64, String, String, String, i64)> =
            self.many("SELECT seq, kind, arn, app_instance_arn, created_ms FROM purges ORDER BY seq LIMIT ?1", [limit(n)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
        rows.into_iter()
            .map(|(seq, kind, arn, app_instance_arn, created_ms)| {
                let kind = PurgeKind::from_stored(&kind).ok_or_else(|| StoreError::Internal(format!("purges.kind holds {kind:?}")))?;
                Ok(PurgeJob { seq, kind, arn, app_instance_arn, created_ms })
            })
            .collect()
    }

    fn purge_batch(&mut self, seq: i64, n: usize) -> StoreResult<PurgeStep> {
        let Some((kind, arn)) =
            self.one("SELECT kind, arn FROM purges WHERE seq = ?1", [seq], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        else {
            return Ok(PurgeStep { deleted: 0, done: true });
        };
        let kind = PurgeKind::from_stored(&kind).ok_or_else(|| StoreError::Internal(format!("purges.kind holds {kind:?}")))?;
        let mut left = limit(n);
        for (table, key, column) in purged_tables(kind) {
            let sql = format!("DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {column} = ?1 LIMIT ?2)");
            left -= self.exec_text(&sql, params![arn, left])? as i64;
            if left <= 0 {
                return Ok(PurgeStep { deleted: n as u64, done: false });
            }
        }
        self.exec("DELETE FROM purges WHERE seq = ?1", [seq])?;
        Ok(PurgeStep { deleted: (limit(n) - left) as u64, done: true })
    }
    fn reset(&mut self, scope: &ResetScope) -> StoreResult<ResetCounts> {
        macro_rules! in_scope {
            ($col:literal) => {
                concat!("(?1 IS NULL OR ", $col, " = ?1) AND (?2 IS NULL OR ", $col, " LIKE ?2)")
            };
        }
        let p = params![scope.app_instance_arn, scope.arn_pattern];
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
            ResetCounts { push_failure_markers: self.exec("DELETE FROM push_failure_markers", [])? as u64, ..counts }
        } else {
            counts
        };
        self.exec(concat!("DELETE FROM push_outbox WHERE ", in_scope!("app_instance_arn")), p)?;
        self.exec(concat!("DELETE FROM channel_messages WHERE ", in_scope!("app_instance_arn")), p)?;
        self.exec(concat!("DELETE FROM channel_flows WHERE ", in_scope!("app_instance_arn")), p)?;
        self.exec(concat!("DELETE FROM streaming_configurations WHERE ", in_scope!("app_instance_arn")), p)?;
        self.exec(concat!("DELETE FROM channel_memberships WHERE ", in_scope!("app_instance_arn")), p)?;
        self.exec(concat!("DELETE FROM channel_moderators WHERE ", in_scope!("app_instance_arn")), p)?;
        self.exec(concat!("DELETE FROM channels WHERE ", in_scope!("app_instance_arn")), p)?;
        self.exec(concat!("DELETE FROM endpoints WHERE ", in_scope!("app_instance_arn")), p)?;
        self.exec(concat!("DELETE FROM admins WHERE ", in_scope!("app_instance_arn")), p)?;
        self.exec(concat!("DELETE FROM tags WHERE ", in_scope!("app_instance_arn")), p)?;
        self.exec(concat!("DELETE FROM idempotency WHERE ", in_scope!("app_instance_arn")), p)?;
        self.exec(concat!("DELETE FROM users WHERE ", in_scope!("app_instance_arn")), p)?;
        self.exec(concat!("DELETE FROM bots WHERE ", in_scope!("app_instance_arn")), p)?;
        self.exec(concat!("DELETE FROM purges WHERE ", in_scope!("app_instance_arn")), p)?;
        self.exec(concat!("DELETE FROM app_instances WHERE ", in_scope!("arn")), p)?;
        Ok(counts)
    }

    fn insert_channel_flow(&mut self, r: &ChannelFlowRecord) -> StoreResult<()> {
        self.exec(
            "INSERT INTO channel_flows (arn, app_instance_arn, name, processors, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![r.arn, r.app_instance_arn, r.name, r.processors, r.created_ms, r.updated_ms],
        )?;
        Ok(())
    }

    fn get_channel_flow(&mut self, arn: &str) -> StoreResult<Option<ChannelFlowRecord>> {
        self.one(concat!("SELECT ", channel_flow_cols!(), " FROM channel_flows WHERE arn = ?1"), [arn], channel_flow)
    }

    fn update_channel_flow(&mut self, arn: &str, name: &str, processors: &str, touched_ms: i64) -> StoreResult<bool> {
        Ok(self.exec(
            "UPDATE channel_flows SET name = ?2, processors = ?3, updated_ms = MAX(?4, updated_ms + 1) WHERE arn = ?1",
            params![arn, name, processors, touched_ms],
        )? > 0)
    }

    fn delete_channel_flow(&mut self, arn: &str) -> StoreResult<bool> {
        self.exec("DELETE FROM tags WHERE resource_arn = ?1", [arn])?;
        self.exec("DELETE FROM idempotency WHERE resource_arn = ?1", [arn])?;
        Ok(self.exec("DELETE FROM channel_flows WHERE arn = ?1", [arn])? > 0)
    }

    fn list_channel_flows(&mut self, app_instance_arn: &str, after: i64, n: usize) -> StoreResult<Vec<ChannelFlowRecord>> {
        self.many(
            concat!("SELECT ", channel_flow_cols!(), " FROM channel_flows WHERE app_instance_arn = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"),
            params![app_instance_arn, after, limit(n)],
            channel_flow,
        )
    }

    fn set_channel_flow(&mut self, channel_arn: &str, flow_arn: Option<&str>) -> StoreResult<bool> {
        Ok(self.exec("UPDATE channels SET channel_flow_arn = ?2 WHERE arn = ?1", params![channel_arn, flow_arn])? > 0)
    }

    fn channel_flow_of(&mut self, channel_arn: &str) -> StoreResult<Option<String>> {
        Ok(self.one("SELECT channel_flow_arn FROM channels WHERE arn = ?1", [channel_arn], |r| r.get(0))?.flatten())
    }

    fn list_flow_channels(&mut self, flow_arn: &str, after: i64, n: usize) -> StoreResult<Vec<ChannelRecord>> {
        self.many(
            concat!("SELECT ", channel_cols!(), " FROM channels c WHERE c.channel_flow_arn = ?1 AND c.seq > ?2 ORDER BY c.seq LIMIT ?3"),
            params![flow_arn, after, limit(n)],
            channel,
        )
    }

    fn put_streaming_configurations(&mut self, app_instance_arn: &str, configs: &[StreamingConfigRecord]) -> StoreResult<()> {
        self.exec("DELETE FROM streaming_configurations WHERE app_instance_arn = ?1", [app_instance_arn])?;
        for c in configs {
            self.exec(
                "INSERT INTO streaming_configurations (app_instance_arn, data_type, resource_arn) VALUES (?1, ?2, ?3)",
                params![app_instance_arn, c.data_type.as_stored(), c.resource_arn],
            )?;
        }
        Ok(())
    }

    fn get_streaming_configurations(&mut self, app_instance_arn: &str) -> StoreResult<Vec<StreamingConfigRecord>> {
        self.many(
            "SELECT data_type, resource_arn FROM streaming_configurations WHERE app_instance_arn = ?1 ORDER BY seq",
            [app_instance_arn],
            |r| Ok(StreamingConfigRecord { data_type: enum_col(r, 0, "streaming_configurations", "data_type")?, resource_arn: r.get(1)? }),
        )
    }

    fn delete_streaming_configurations(&mut self, app_instance_arn: &str) -> StoreResult<u64> {
        Ok(self.exec("DELETE FROM streaming_configurations WHERE app_instance_arn = ?1", [app_instance_arn])? as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An enum column is read in place when it is text; what is no value of the enum, or no text,
    /// fails with the message it always had.
    #[test]
    fn enum_columns_read_their_text_and_name_a_bad_value() {
        let conn = Connection::open_in_memory().unwrap();
        let read = |sql: &str| conn.query_row(sql, [], |r| enum_col::<AllowMessages>(r, 0, "endpoints", "allow_messages"));
        assert_eq!(read("SELECT 'ALL'").unwrap(), AllowMessages::All);
        assert_eq!(read("SELECT 'NONE'").unwrap(), AllowMessages::None);
        let e = map_err(read("SELECT 'SOME'").unwrap_err());
        assert_eq!(e, StoreError::Internal(unknown_value("endpoints", "allow_messages", "SOME")));
        let as_string = conn.query_row("SELECT 5", [], |r| r.get::<_, String>(0)).unwrap_err().to_string();
        assert_eq!(map_err(read("SELECT 5").unwrap_err()), StoreError::Internal(as_string));
        let absent = conn.query_row("SELECT NULL", [], |r| opt_enum_col::<AllowMessages>(r, 0, "endpoints", "allow_messages"));
        assert_eq!(absent.unwrap(), None);
    }
}
