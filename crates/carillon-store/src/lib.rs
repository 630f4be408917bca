//! The storage trait Carillon's service runs on.
//!
//! A backend offers transactions, not business rules: [`Store::write`] runs a closure over a
//! [`Tx`] as one atomic, durable transaction and [`Store::read`] runs one over a consistent
//! snapshot. The service's rules (quotas, uniqueness, idempotency, cascades: `docs/behaviour.md`,
//! "Resources" and "Idempotency") are written once, in the service, as such closures, and hold on
//! every backend.
//!
//! The write path takes closures so that a backend may run many of them inside one physical
//! transaction and answer them all after one fsync (group commit), and may run one again when its
//! database asks for a retry (PostgreSQL serialization failures): closures are `FnMut` and must
//! have no effect outside the `Tx`.

mod records;

pub use records::*;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The database cannot be reached, is full, or is read-only: the request may succeed later.
    Unavailable(String),
    /// A uniqueness rule of the schema refused the write (a concurrent writer got there first).
    Conflict(String),
    /// Anything else; a bug or a corrupt database.
    Internal(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable(m) => write!(f, "store unavailable: {m}"),
            StoreError::Conflict(m) => write!(f, "store conflict: {m}"),
            StoreError::Internal(m) => write!(f, "store failure: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

pub type StoreResult<T> = Result<T, StoreError>;

/// How a transaction closure ended without success: the store failed, or the closure itself
/// chose to abort (and everything it wrote is rolled back). The closure's own error stays with
/// the typed wrappers [`write()`] and [`read()`], which keep it in a slot of their own.
#[derive(Debug)]
pub enum TxAbort {
    Store(StoreError),
    Caller,
}

/// A transaction closure, as backends receive it.
pub type TxFn = Box<dyn FnMut(&mut dyn Tx) -> Result<(), TxAbort> + Send>;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Told of every physical commit of write transactions: how many write transactions it made
/// durable (the group commit's batch; 1 where each transaction commits alone) and how long the
/// commit statement took. It runs on the committing thread before the writers are answered (an
/// answered write has been observed), so it must be quick; a panic in it is ignored. It is how the
/// server's metrics see the store without the store knowing them.
pub type CommitObserver = Arc<dyn Fn(usize, std::time::Duration) + Send + Sync>;

/// A storage backend.
pub trait Store: Send + Sync + 'static {
    /// Runs `f` as one atomic transaction; resolves only once its effects are durable.
    fn write(&self, f: TxFn) -> BoxFuture<'_, Result<(), TxAbort>>;
    /// Runs `f`, a write of at most one statement, as one atomic transaction; resolves only once
    /// its effect is durable. A backend may run that statement on its own, without `BEGIN` and
    /// `COMMIT` (PostgreSQL then commits it with the statement: one round trip instead of two), so
    /// `f` must return an error only where its statement changed nothing (an update that matched
    /// no row), and a second statement may fail with `StoreError::Internal`. The default runs it
    /// as [`Store::write`] does.
    fn write_one(&self, f: TxFn) -> BoxFuture<'_, Result<(), TxAbort>> {
        self.write(f)
    }
    /// Runs `f` over a consistent snapshot; writes through its `Tx` fail.
    fn read(&self, f: TxFn) -> BoxFuture<'_, Result<(), TxAbort>>;
    /// Runs `f`, a read of at most one statement, as [`Store::read`] does. One statement sees one
    /// snapshot by itself, so a backend may run it without `BEGIN` and `COMMIT`; a second
    /// statement may fail with `StoreError::Internal`. The default runs it as [`Store::read`].
    fn read_one(&self, f: TxFn) -> BoxFuture<'_, Result<(), TxAbort>> {
        self.read(f)
    }
    /// Whether the store is usable now (for the health endpoint).
    fn check(&self) -> BoxFuture<'_, StoreResult<()>>;
    /// Finishes pending writes and releases the database. Later calls fail with `Unavailable`.
    fn close(&self) -> BoxFuture<'_, ()>;
    /// A short name for logs: `sqlite` or `postgres`.
    fn kind(&self) -> &'static str;
    /// Tells `observer` of every later commit (see [`CommitObserver`]). Only the first observer
    /// set is kept.
    fn set_commit_observer(&self, observer: CommitObserver);
}

/// Runs `f` in a durable write transaction of `store`. An `Err` from `f` rolls back what it wrote.
pub async fn write<R, E, F>(store: &dyn Store, f: F) -> Result<R, E>
where
    R: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnMut(&mut dyn Tx) -> Result<R, E> + Send + 'static,
{
    let slot = Slot::new();
    let out = store.write(slot.wrap(f)).await;
    slot.finish(out)
}

/// Runs `f`, which runs at most one statement, as a durable write of `store` (see
/// [`Store::write_one`]): `f` returns an error only where its statement changed nothing.
pub async fn write_one<R, E, F>(store: &dyn Store, f: F) -> Result<R, E>
where
    R: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnMut(&mut dyn Tx) -> Result<R, E> + Send + 'static,
{
    let slot = Slot::new();
    let out = store.write_one(slot.wrap(f)).await;
    slot.finish(out)
}

/// Runs `f` in a read transaction of `store`.
pub async fn read<R, E, F>(store: &dyn Store, f: F) -> Result<R, E>
where
    R: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnMut(&mut dyn Tx) -> Result<R, E> + Send + 'static,
{
    let slot = Slot::new();
    let out = store.read(slot.wrap(f)).await;
    slot.finish(out)
}

/// Runs `f`, which runs at most one statement, as a read of `store` (see [`Store::read_one`]).
pub async fn read_one<R, E, F>(store: &dyn Store, f: F) -> Result<R, E>
where
    R: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnMut(&mut dyn Tx) -> Result<R, E> + Send + 'static,
{
    let slot = Slot::new();
    let out = store.read_one(slot.wrap(f)).await;
    slot.finish(out)
}

/// Where the typed result of the last run of a transaction closure waits for its caller. A backend
/// may run the closure more than once (a retry, a group that lost its physical transaction): each
/// run overwrites the slot, and the backend's verdict says which outcome stands.
struct Slot<R, E>(Arc<Mutex<Option<Result<R, E>>>>);

impl<R: Send + 'static, E: From<StoreError> + Send + 'static> Slot<R, E> {
    fn new() -> Self {
        Slot(Arc::new(Mutex::new(None)))
    }

    fn wrap<F>(&self, mut f: F) -> TxFn
    where
        F: FnMut(&mut dyn Tx) -> Result<R, E> + Send + 'static,
    {
        let slot = self.0.clone();
        Box::new(move |tx: &mut dyn Tx| {
            let out = f(tx);
            let verdict = if out.is_ok() { Ok(()) } else { Err(TxAbort::Caller) };
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(out);
            verdict
        })
    }

    fn finish(self, out: Result<(), TxAbort>) -> Result<R, E> {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        match (out, kept) {
            (Ok(()), Some(Ok(r))) => Ok(r),
            (Err(TxAbort::Caller), Some(Err(e))) => Err(e),
            (Err(TxAbort::Store(e)), _) => Err(E::from(e)),
            // A backend answered for a run that did not end that way: a bug, not a result.
            _ => Err(E::from(StoreError::Internal("the store answered a transaction with another run's outcome".into()))),
        }
    }
}

/// The operations a transaction offers. Every method acts on the one transaction it belongs to.
/// Lists are seek-based: they return up to `limit` records with `seq > after`, by `seq`.
pub trait Tx {
    /// Serializes this write transaction with every other one that locks the same `key`, on every
    /// node sharing the database, until it ends. A closure that checks a rule over a collection
    /// (a quota, a uniqueness, that a parent still exists) and then writes into it locks the key
    /// of the collection's owner first, and so does every closure that deletes that owner; the
    /// rule then holds however many nodes race. A backend with a single writer may do nothing.
    fn lock(&mut self, key: &str) -> StoreResult<()>;

    // AppInstances
    fn insert_app_instance(&mut self, r: &AppInstanceRecord) -> StoreResult<()>;
    fn get_app_instance(&mut self, arn: &str) -> StoreResult<Option<AppInstanceRecord>>;
    /// Sets the members `u` names, in one statement on the row as it then is. Returns whether the
    /// AppInstance exists.
    fn update_app_instance(&mut self, arn: &str, u: &AppInstanceUpdate) -> StoreResult<bool>;
    /// Deletes the AppInstance and everything in it: users, bots, admins, endpoints, channels with
    /// their memberships, moderators and messages, channel flows, streaming configurations, tags,
    /// idempotency records. Returns whether it existed.
    fn delete_app_instance(&mut self, arn: &str) -> StoreResult<bool>;
    fn count_app_instances(&mut self, account: &str, region: &str) -> StoreResult<u64>;
    fn list_app_instances(&mut self, account: &str, region: &str, after: i64, limit: usize) -> StoreResult<Vec<AppInstanceRecord>>;
    /// The AppInstances of every account and region, by creation order (for a state export).
    fn list_every_app_instance(&mut self, after: i64, limit: usize) -> StoreResult<Vec<AppInstanceRecord>>;

    // AppInstanceUsers
    fn insert_user(&mut self, r: &UserRecord) -> StoreResult<()>;
    fn get_user(&mut self, arn: &str) -> StoreResult<Option<UserRecord>>;
    /// Sets the members `u` names, in one statement. Returns whether the user exists.
    fn update_user(&mut self, arn: &str, u: &UserUpdate) -> StoreResult<bool>;
    /// Deletes the user with its endpoints, admin role, tags and idempotency records.
    fn delete_user(&mut self, arn: &str) -> StoreResult<bool>;
    fn count_users(&mut self, app_instance_arn: &str) -> StoreResult<u64>;
    fn list_users(&mut self, app_instance_arn: &str, after: i64, limit: usize) -> StoreResult<Vec<UserRecord>>;
    /// ARNs of users whose expiry time is at or before `now_ms`, oldest expiry first.
    fn expired_users(&mut self, now_ms: i64, limit: usize) -> StoreResult<Vec<String>>;

    // AppInstanceBots
    fn insert_bot(&mut self, r: &BotRecord) -> StoreResult<()>;
    fn get_bot(&mut self, arn: &str) -> StoreResult<Option<BotRecord>>;
    /// Sets the members `u` names, in one statement. Returns whether the bot exists.
    fn update_bot(&mut self, arn: &str, u: &BotUpdate) -> StoreResult<bool>;
    /// Deletes the bot with its admin role, tags and idempotency records.
    fn delete_bot(&mut self, arn: &str) -> StoreResult<bool>;
    fn count_bots(&mut self, app_instance_arn: &str) -> StoreResult<u64>;
    fn list_bots(&mut self, app_instance_arn: &str, after: i64, limit: usize) -> StoreResult<Vec<BotRecord>>;

    // AppInstanceAdmins
    fn insert_admin(&mut self, r: &AdminRecord) -> StoreResult<()>;
    fn get_admin(&mut self, app_instance_arn: &str, member_arn: &str) -> StoreResult<Option<AdminRecord>>;
    fn delete_admin(&mut self, app_instance_arn: &str, member_arn: &str) -> StoreResult<bool>;
    fn count_admins(&mut self, app_instance_arn: &str) -> StoreResult<u64>;
    fn list_admins(&mut self, app_instance_arn: &str, after: i64, limit: usize) -> StoreResult<Vec<AdminRecord>>;

    // AppInstanceUserEndpoints
    fn insert_endpoint(&mut self, r: &EndpointRecord) -> StoreResult<()>;
    fn get_endpoint(&mut self, user_arn: &str, endpoint_id: &str) -> StoreResult<Option<EndpointRecord>>;
    /// Sets the members `u` names, in one statement. Returns whether the endpoint exists.
    fn update_endpoint(&mut self, user_arn: &str, endpoint_id: &str, u: &EndpointUpdate) -> StoreResult<bool>;
    fn delete_endpoint(&mut self, user_arn: &str, endpoint_id: &str) -> StoreResult<bool>;
    fn count_endpoints(&mut self, user_arn: &str) -> StoreResult<u64>;
    fn list_endpoints(&mut self, user_arn: &str, after: i64, limit: usize) -> StoreResult<Vec<EndpointRecord>>;
    /// The EndpointId of the user's endpoint with that device token, if any.
    fn endpoint_with_device_token(&mut self, user_arn: &str, device_token: &str) -> StoreResult<Option<String>>;

    // Tags
    /// The resource's tags, in the order their keys were first set.
    fn get_tags(&mut self, resource_arn: &str) -> StoreResult<Vec<Tag>>;
    /// Sets each tag, replacing the value of a key already there (which keeps its place).
    fn put_tags(&mut self, resource_arn: &str, app_instance_arn: &str, tags: &[Tag]) -> StoreResult<()>;
    fn delete_tags(&mut self, resource_arn: &str, keys: &[String]) -> StoreResult<()>;

    // Idempotency
    fn get_idempotency(&mut self, key: &IdempotencyKey) -> StoreResult<Option<IdempotencyRecord>>;
    /// Records the answer for `key`, replacing a record already there (one whose resource is gone).
    fn put_idempotency(&mut self, key: &IdempotencyKey, r: &IdempotencyRecord) -> StoreResult<()>;

    // Channels (Chime SDK Messaging). A channel's rows are found only while its AppInstance is
    // visible: the service checks the AppInstance (or a live bearer in it) before it reads them.
    fn insert_channel(&mut self, r: &ChannelRecord) -> StoreResult<()>;
    fn get_channel(&mut self, arn: &str) -> StoreResult<Option<ChannelRecord>>;
    /// Sets the members `u` names, in one statement. Returns whether the channel exists.
    fn update_channel(&mut self, arn: &str, u: &ChannelUpdate) -> StoreResult<bool>;
    /// Deletes the channel with its memberships (preferences and read markers with them),
    /// moderators, messages, tags and idempotency records. Returns whether it existed.
    fn delete_channel(&mut self, arn: &str) -> StoreResult<bool>;
    /// Kept by the database as channels come and go (as the users count), so a quota check costs
    /// the same at ten channels as at ten million.
    fn count_channels(&mut self, app_instance_arn: &str) -> StoreResult<u64>;
    /// The AppInstance's channels by creation order, only those of `privacy` when it is given.
    fn list_channels(
        &mut self,
        app_instance_arn: &str,
        privacy: Option<ChannelPrivacy>,
        after: i64,
        limit: usize,
    ) -> StoreResult<Vec<ChannelRecord>>;
    /// ARNs of channels whose expiry time is at or before `now_ms`, oldest expiry first.
    fn expired_channels(&mut self, now_ms: i64, limit: usize) -> StoreResult<Vec<String>>;

    // Channel memberships
    fn insert_membership(&mut self, r: &MembershipRecord) -> StoreResult<()>;
    fn get_membership(&mut self, channel_arn: &str, member_arn: &str) -> StoreResult<Option<MembershipRecord>>;
    /// Sets the members `u` names, in one statement. Returns whether the membership exists.
    fn update_membership(&mut self, channel_arn: &str, member_arn: &str, u: &MembershipUpdate) -> StoreResult<bool>;
    fn delete_membership(&mut self, channel_arn: &str, member_arn: &str) -> StoreResult<bool>;
    fn count_memberships(&mut self, channel_arn: &str) -> StoreResult<u64>;
    /// How many channels `member_arn` (a user or bot) is a member of.
    fn count_member_channels(&mut self, member_arn: &str) -> StoreResult<u64>;
    /// The channel's memberships by creation order, only those of `membership_type` when given.
    fn list_memberships(
        &mut self,
        channel_arn: &str,
        membership_type: Option<ChannelMembershipType>,
        after: i64,
        limit: usize,
    ) -> StoreResult<Vec<MembershipRecord>>;
    /// The memberships of `member_arn` with their channels, by membership creation order.
    fn list_member_channels(&mut self, member_arn: &str, after: i64, limit: usize) -> StoreResult<Vec<(MembershipRecord, ChannelRecord)>>;
    /// Deletes every membership and moderator role of a user or bot (on its deletion). Returns the
    /// ARNs of the channels it was a member of.
    fn delete_member_everywhere(&mut self, member_arn: &str) -> StoreResult<Vec<String>>;

    // Channel moderators
    fn insert_moderator(&mut self, r: &ModeratorRecord) -> StoreResult<()>;
    fn get_moderator(&mut self, channel_arn: &str, moderator_arn: &str) -> StoreResult<Option<ModeratorRecord>>;
    fn delete_moderator(&mut self, channel_arn: &str, moderator_arn: &str) -> StoreResult<bool>;
    fn count_moderators(&mut self, channel_arn: &str) -> StoreResult<u64>;
    fn list_moderators(&mut self, channel_arn: &str, after: i64, limit: usize) -> StoreResult<Vec<ModeratorRecord>>;

    // Channel messages
    fn insert_message(&mut self, r: &MessageRecord) -> StoreResult<()>;
    fn get_message(&mut self, channel_arn: &str, message_id: &str) -> StoreResult<Option<MessageRecord>>;
    /// Applies `u` in one statement. Returns whether the message exists.
    fn update_message(&mut self, channel_arn: &str, message_id: &str, u: &MessageUpdate) -> StoreResult<bool>;
    fn delete_message(&mut self, channel_arn: &str, message_id: &str) -> StoreResult<bool>;
    /// A page of the channel's messages (see [`MessageQuery`]).
    fn list_messages(&mut self, channel_arn: &str, q: &MessageQuery) -> StoreResult<Vec<MessageRecord>>;
    /// Deletes up to `limit` messages of channels of the AppInstance created before `before_ms`
    /// (retention). Returns how many.
    fn delete_messages_before(&mut self, app_instance_arn: &str, before_ms: i64, limit: usize) -> StoreResult<u64>;

    // Push notifications: the outbox and the failure markers (`docs/behaviour.md`, "Push
    // notifications"). They belong to no AppInstance's lifetime: deleting a channel or an
    // AppInstance keeps its entries; a reset of its scope removes them.
    /// Appends `e` to the outbox under a new id, greater than every id given before.
    fn insert_push_entry(&mut self, e: &PushEntry) -> StoreResult<()>;
    /// Inserts `e` under its own id `e.id` (a state import restores the outbox with its ids) and
    /// moves the id sequence so that every id [`insert_push_entry`](Tx::insert_push_entry) gives
    /// later is greater than `e.id`; the sequence never moves back. An id already in the outbox is
    /// a conflict.
    fn insert_push_entry_with_id(&mut self, e: &PushEntry) -> StoreResult<()>;
    /// Deletes all but the newest `keep` outbox entries. Returns how many it deleted.
    fn trim_push_outbox(&mut self, keep: u64) -> StoreResult<u64>;
    /// The outbox entries `f` matches, oldest first, at most `limit`.
    fn list_push_entries(&mut self, f: &PushFilter, limit: usize) -> StoreResult<Vec<PushEntry>>;
    /// Deletes the outbox entries `f` matches. Returns how many.
    fn delete_push_entries(&mut self, f: &PushFilter) -> StoreResult<u64>;
    /// Sets the marker of `m.target`, replacing the reason of one already there.
    fn put_push_failure(&mut self, m: &PushFailureMarker) -> StoreResult<()>;
    /// Every marker, oldest first.
    fn list_push_failures(&mut self) -> StoreResult<Vec<PushFailureMarker>>;
    /// Deletes every marker. Returns how many.
    fn delete_push_failures(&mut self) -> StoreResult<u64>;
    /// The reason of the marker on the device token whose SHA-256 is `device_token_sha256`, else
    /// of the one on `resource_arn`.
    fn push_failure_for(&mut self, device_token_sha256: &str, resource_arn: &str) -> StoreResult<Option<EndpointStatusReason>>;

    /// Writes a heartbeat: a real, durable write of no meaning, with which the health check
    /// finds out whether writes work again after they failed.
    fn heartbeat(&mut self, now_ms: i64) -> StoreResult<()>;

    // Server-wide values
    /// The secret that signs pagination tokens, made once per database and shared by every node.
    fn token_secret(&mut self) -> StoreResult<Vec<u8>>;

    // Large deletes (`docs/behaviour.md`, "Resources"). While a purge is pending its rows are
    // still stored but never found: a user or bot whose AppInstance is gone, and an endpoint whose
    // user or AppInstance is gone, read (get, update, delete, the expiry list) as absent. Inserting
    // a user or AppInstance whose ARN has a purge pending first finishes that purge, so that none
    // of the old children comes back under the new resource.
    /// Up to `cap` of the rows a purge of `arn` would delete (to tell a cheap cascade from one to
    /// leave to the background).
    fn count_children(&mut self, kind: PurgeKind, arn: &str, cap: u64) -> StoreResult<u64>;
    /// Deletes the AppInstance's row, or the user's row and admin role, and queues the purge of
    /// what remains of it, in this transaction. Returns whether it existed (and was visible).
    fn detach(&mut self, kind: PurgeKind, arn: &str, now_ms: i64) -> StoreResult<bool>;
    /// Queued purges, oldest first.
    fn pending_purges(&mut self, limit: usize) -> StoreResult<Vec<PurgeJob>>;
    /// Deletes up to `limit` rows of the purge `seq`; the call that finds fewer left also removes
    /// the purge from the queue. A purge no longer queued is done.
    fn purge_batch(&mut self, seq: i64, limit: usize) -> StoreResult<PurgeStep>;

    /// Deletes every AppInstance in `scope` with everything stored under it (users, bots, admins,
    /// endpoints, channels, memberships, moderators, messages, tags, idempotency records, pending
    /// purges, push outbox entries; push-failure markers only when `scope` is everything), in this
    /// transaction. Returns how
    /// many visible resources of each kind it deleted.
    fn reset(&mut self, scope: &ResetScope) -> StoreResult<ResetCounts>;

    // Channel flows and streaming configurations (configuration only). A flow's rows, as a
    // channel's, are found only while its AppInstance is visible: the service checks it first.
    fn insert_channel_flow(&mut self, r: &ChannelFlowRecord) -> StoreResult<()>;
    fn get_channel_flow(&mut self, arn: &str) -> StoreResult<Option<ChannelFlowRecord>>;
    /// Sets the flow's name and processors (JSON) and moves its LastUpdatedTimestamp. Returns
    /// whether the flow exists.
    fn update_channel_flow(&mut self, arn: &str, name: &str, processors: &str, touched_ms: i64) -> StoreResult<bool>;
    /// Deletes the flow with its tags and idempotency records (the service first checks that no
    /// channel uses it). Returns whether it existed.
    fn delete_channel_flow(&mut self, arn: &str) -> StoreResult<bool>;
    /// The AppInstance's flows by creation order.
    fn list_channel_flows(&mut self, app_instance_arn: &str, after: i64, limit: usize) -> StoreResult<Vec<ChannelFlowRecord>>;
    /// Associates the channel with the flow `flow_arn`, or with none. Returns whether the channel
    /// exists.
    fn set_channel_flow(&mut self, channel_arn: &str, flow_arn: Option<&str>) -> StoreResult<bool>;
    /// The ARN of the flow the channel is associated with, if any.
    fn channel_flow_of(&mut self, channel_arn: &str) -> StoreResult<Option<String>>;
    /// The channels associated with the flow, by channel creation order.
    fn list_flow_channels(&mut self, flow_arn: &str, after: i64, limit: usize) -> StoreResult<Vec<ChannelRecord>>;
    /// Replaces the AppInstance's streaming configurations with `configs` (one per data type).
    fn put_streaming_configurations(&mut self, app_instance_arn: &str, configs: &[StreamingConfigRecord]) -> StoreResult<()>;
    /// The AppInstance's streaming configurations, in the order they were put.
    fn get_streaming_configurations(&mut self, app_instance_arn: &str) -> StoreResult<Vec<StreamingConfigRecord>>;
    /// Deletes the AppInstance's streaming configurations. Returns how many there were.
    fn delete_streaming_configurations(&mut self, app_instance_arn: &str) -> StoreResult<u64>;
}
