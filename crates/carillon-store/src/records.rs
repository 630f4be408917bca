//! What the store keeps. Times are milliseconds since the Unix epoch; `seq` is the creation order
//! the store assigns on insert (ignored by inserts) and the seek key of lists. Columns that hold
//! one of the model's enum values are typed as that enum: a backend reading a value the model does
//! not know answers [`StoreError::Internal`] naming the table, column and value, never a default.

use crate::{StoreError, StoreResult};
pub use carillon_api::shapes::{AllowMessages, AppInstanceUserEndpointType, EndpointStatus, EndpointStatusReason, ExpirationCriterion};

/// A model enum kept in a text column, as its wire value.
pub trait StoredEnum: Copy + Sized {
    /// The text stored.
    fn as_stored(self) -> &'static str;
    /// The value for a stored text, `None` for one the model does not know.
    fn from_stored(text: &str) -> Option<Self>;
}

macro_rules! stored_enum {
    ($($t:ty),*) => {$(
        impl StoredEnum for $t {
            fn as_stored(self) -> &'static str {
                self.as_str()
            }
            fn from_stored(text: &str) -> Option<Self> {
                <$t>::parse(text)
            }
        }
    )*};
}

stored_enum!(AllowMessages, AppInstanceUserEndpointType, EndpointStatus, EndpointStatusReason, ExpirationCriterion);

/// Reads the text of `table.column` as `T`: an unknown value is a corrupt row, reported as such.
pub fn decode_enum<T: StoredEnum>(table: &str, column: &str, text: &str) -> StoreResult<T> {
    T::from_stored(text).ok_or_else(|| StoreError::Internal(unknown_value(table, column, text)))
}

/// The message for a value of `table.column` that the model does not know.
pub fn unknown_value(table: &str, column: &str, text: &str) -> String {
    format!("{table}.{column} holds {text:?}, which is not a value of the model's enum")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppInstanceRecord {
    pub seq: i64,
    pub arn: String,
    pub account: String,
    pub region: String,
    pub name: String,
    pub metadata: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// `Some(None)`-like states are flattened: `retention_set_ms` is set once retention was Put;
    /// `retention_days` is `None` when the Put turned retention off.
    pub retention_days: Option<i32>,
    pub retention_set_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub seq: i64,
    pub arn: String,
    pub app_instance_arn: String,
    pub user_id: String,
    pub name: String,
    pub metadata: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub expiration_days: Option<i32>,
    pub expiration_criterion: Option<ExpirationCriterion>,
    /// When the expiration sweep deletes the user.
    pub expires_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotRecord {
    pub seq: i64,
    pub arn: String,
    pub app_instance_arn: String,
    pub name: Option<String>,
    pub metadata: Option<String>,
    /// The bot's `Configuration` as JSON.
    pub configuration: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRecord {
    pub seq: i64,
    pub app_instance_arn: String,
    /// The promoted user's or bot's ARN.
    pub member_arn: String,
    pub created_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRecord {
    pub seq: i64,
    pub user_arn: String,
    pub endpoint_id: String,
    pub app_instance_arn: String,
    pub name: Option<String>,
    pub endpoint_type: AppInstanceUserEndpointType,
    pub resource_arn: String,
    pub device_token: String,
    pub voip_device_token: Option<String>,
    pub allow_messages: AllowMessages,
    pub status: EndpointStatus,
    pub status_reason: Option<EndpointStatusReason>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// Identifies a Create or Register call by its idempotency token. `operation` is the operation's
/// name as the model spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub account: String,
    pub region: String,
    pub operation: String,
    pub token: String,
}

/// The first answer to a Create or Register, kept for replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// A canonical form of the call's parameters (everything but the token).
    pub fingerprint: String,
    /// The resource the call made; the record goes when it goes.
    pub resource_arn: String,
    pub app_instance_arn: String,
    /// The response body of the first call.
    pub response: String,
    pub created_ms: i64,
}

/// The members an update of an AppInstance names; `None` leaves a member as stored. Backends
/// apply it in one statement, on the row as it is when the statement runs, so concurrent updates
/// of other members are never undone (`docs/behaviour.md`, "Durability and concurrency").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppInstanceUpdate {
    pub name: Option<String>,
    pub metadata: Option<String>,
    pub retention: Option<Retention>,
    /// When set, `updated_ms` becomes the later of this and the stored value plus one.
    pub touched_ms: Option<i64>,
}

/// An AppInstance's retention as a Put sets it: `days` `None` turns retention off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub days: Option<i32>,
    pub set_ms: i64,
}

/// The members an update of a user names (see [`AppInstanceUpdate`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub metadata: Option<String>,
    /// `Some(None)` removes the expiration settings.
    pub expiration: Option<Option<Expiration>>,
    pub touched_ms: Option<i64>,
}

/// A user's expiration settings and the time they make the sweep delete it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiration {
    pub days: i32,
    pub criterion: ExpirationCriterion,
    pub expires_at_ms: i64,
}

/// The members an update of a bot names (see [`AppInstanceUpdate`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotUpdate {
    pub name: Option<String>,
    pub metadata: Option<String>,
    pub configuration: Option<String>,
    pub touched_ms: Option<i64>,
}

/// The members an update of an endpoint names (see [`AppInstanceUpdate`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointUpdate {
    pub name: Option<String>,
    pub allow_messages: Option<AllowMessages>,
    /// The status and its reason, always set together.
    pub state: Option<(EndpointStatus, Option<EndpointStatusReason>)>,
    pub touched_ms: Option<i64>,
}

/// What a purge removes after its parent's row went (`docs/behaviour.md`, "Resources").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeKind {
    /// Everything in an AppInstance: users, bots, admins, endpoints, channels, memberships,
    /// moderators, messages, tags, idempotency records.
    AppInstance,
    /// A user's endpoints, tags and idempotency records.
    User,
}

impl PurgeKind {
    /// The text stored in the purge queue.
    pub fn as_stored(self) -> &'static str {
        match self {
            PurgeKind::AppInstance => "app-instance",
            PurgeKind::User => "user",
        }
    }

    pub fn from_stored(text: &str) -> Option<PurgeKind> {
        match text {
            "app-instance" => Some(PurgeKind::AppInstance),
            "user" => Some(PurgeKind::User),
            _ => None,
        }
    }
}

/// A purge waiting in the queue: the children of `arn`, whose own row is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeJob {
    pub seq: i64,
    pub kind: PurgeKind,
    pub arn: String,
    /// The AppInstance `arn` is or belongs to (the owner lock of its batches).
    pub app_instance_arn: String,
    pub created_ms: i64,
}

/// What one batch of a purge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeStep {
    pub deleted: u64,
    /// Nothing is left and the purge has left the queue (or was no longer in it).
    pub done: bool,
}

/// What a reset deletes (`docs/behaviour.md`, "Control plane"). `None` everywhere is everything.
/// The scope is read from the AppInstance ARN every stored row carries, so children whose purge
/// is still pending are covered too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResetScope {
    /// Only this AppInstance.
    pub app_instance_arn: Option<String>,
    /// Only AppInstances whose ARN matches this SQL `LIKE` pattern
    /// (`arn:aws:chime:REGION:ACCOUNT:app-instance/%`, `%` for a field not narrowed). The caller
    /// builds it from checked account and region names, which hold no `%` or `_`.
    pub arn_pattern: Option<String>,
}

impl ResetScope {
    /// Everything.
    pub fn all() -> ResetScope {
        ResetScope::default()
    }

    /// The AppInstances of `account` (any when `None`) in `region` (any when `None`). Both must be
    /// checked names: digits for the account, lower-case letters, digits and `-` for the region.
    pub fn account_region(account: Option<&str>, region: Option<&str>) -> ResetScope {
        if account.is_none() && region.is_none() {
            return ResetScope::all();
        }
        let pattern = format!("arn:aws:chime:{}:{}:app-instance/%", region.unwrap_or("%"), account.unwrap_or("%"));
        ResetScope { app_instance_arn: None, arn_pattern: Some(pattern) }
    }

    /// One AppInstance.
    pub fn app_instance(arn: &str) -> ResetScope {
        ResetScope { app_instance_arn: Some(arn.to_string()), arn_pattern: None }
    }
}

/// How many resources a reset deleted, by kind (resources still visible: children whose purge
/// was pending are deleted but not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResetCounts {
    pub app_instances: u64,
    pub users: u64,
    pub bots: u64,
    pub admins: u64,
    pub endpoints: u64,
    pub channels: u64,
    pub memberships: u64,
    pub moderators: u64,
    pub messages: u64,
    pub channel_flows: u64,
    /// One per data type an AppInstance streams.
    pub streaming_configurations: u64,
    pub push_outbox_entries: u64,
    pub push_failure_markers: u64,
}

// ---------------------------------------------------------------------------------------------
// Chime SDK Messaging (`docs/behaviour.md`, "Messaging"). Every row carries the ARN of the
// AppInstance it lives in, so that a purge or a reset of the AppInstance finds it.

pub use carillon_api::messaging::shapes::{
    ChannelMembershipType, ChannelMessageType, ChannelMode, ChannelPrivacy, ExpirationCriterion as ChannelExpirationCriterion,
};

stored_enum!(ChannelMembershipType, ChannelMessageType, ChannelMode, ChannelPrivacy, ChannelExpirationCriterion);

/// An `{Arn, Name}` pair as an operation saw it (CreatedBy, InvitedBy, Sender, Member, Moderator):
/// the name is the one the user or bot had then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub arn: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRecord {
    pub seq: i64,
    pub arn: String,
    pub app_instance_arn: String,
    pub name: String,
    pub mode: ChannelMode,
    pub privacy: ChannelPrivacy,
    pub metadata: Option<String>,
    pub created_by: Actor,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// The last PERSISTENT send's time; never moves back.
    pub last_message_ms: Option<i64>,
    pub expiration: Option<ChannelExpiration>,
}

/// A channel's expiration settings and the time they make the sweep delete it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelExpiration {
    pub days: i32,
    pub criterion: ChannelExpirationCriterion,
    pub expires_at_ms: i64,
}

/// The members an update of a channel names (see [`AppInstanceUpdate`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelUpdate {
    pub name: Option<String>,
    pub mode: Option<ChannelMode>,
    /// `Some(None)` removes the metadata.
    pub metadata: Option<Option<String>>,
    /// `Some(None)` removes the expiration settings.
    pub expiration: Option<Option<ChannelExpiration>>,
    /// Becomes the later of this and the stored value (a send).
    pub last_message_ms: Option<i64>,
    pub touched_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRecord {
    pub seq: i64,
    pub channel_arn: String,
    pub app_instance_arn: String,
    pub member: Actor,
    pub membership_type: ChannelMembershipType,
    pub invited_by: Actor,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// The member's last UpdateChannelReadMarker.
    pub read_marker_ms: Option<i64>,
    /// The member's `Preferences` as JSON, once Put.
    pub preferences: Option<String>,
}

/// The members an update of a membership names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MembershipUpdate {
    pub read_marker_ms: Option<i64>,
    pub preferences: Option<String>,
    pub touched_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeratorRecord {
    pub seq: i64,
    pub channel_arn: String,
    pub app_instance_arn: String,
    pub moderator: Actor,
    pub created_by: Actor,
    pub created_ms: i64,
}

/// A stored (PERSISTENT) channel message. A deleted message has no row; a redacted one keeps its
/// row with its content members gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    pub seq: i64,
    pub channel_arn: String,
    pub app_instance_arn: String,
    pub message_id: String,
    pub message_type: ChannelMessageType,
    pub content: Option<String>,
    pub metadata: Option<String>,
    pub content_type: Option<String>,
    /// The `MessageAttributes` map as JSON.
    pub message_attributes: Option<String>,
    pub sender: Actor,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub edited_ms: Option<i64>,
    pub redacted: bool,
}

/// The members an update of a message names. A redaction sets `redacted` and clears every content
/// member in the same statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageUpdate {
    pub content: Option<String>,
    pub metadata: Option<String>,
    pub content_type: Option<String>,
    pub edited_ms: Option<i64>,
    pub redact: bool,
    pub touched_ms: Option<i64>,
}

/// A page of a channel's messages: newest first when `descending`, ties by send order (`seq`).
/// `after` is the `(created_ms, seq)` of the last message of the previous page; the time bounds
/// are inclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageQuery {
    pub descending: bool,
    pub after: Option<(i64, i64)>,
    pub not_before_ms: Option<i64>,
    pub not_after_ms: Option<i64>,
    pub limit: usize,
}

impl MessageQuery {
    /// The inclusive `(created_ms, seq)` range the page is taken from, with the time bounds and
    /// `after` folded in: `None` when it is empty. A backend seeks on the index of `(created_ms,
    /// seq)` with these two bounds alone, so that a page deep in a channel costs one seek.
    pub fn range(&self) -> Option<((i64, i64), (i64, i64))> {
        let mut low = (self.not_before_ms.unwrap_or(i64::MIN), i64::MIN);
        let mut high = (self.not_after_ms.unwrap_or(i64::MAX), i64::MAX);
        match self.after {
            Some(after) if self.descending => high = high.min(just_before(after)?),
            Some(after) => low = low.max(just_after(after)?),
            None => {}
        }
        (low <= high).then_some((low, high))
    }
}

// ---------------------------------------------------------------------------------------------
// Push notifications (`docs/behaviour.md`, "Push notifications"): the outbox of push decisions and
// the push-failure markers. Both are shared by every node through the database.

pub use carillon_api::messaging::shapes::PushNotificationType;

stored_enum!(PushNotificationType);

/// One decision of the push outbox: what a push of a message to one member (and, past the
/// member-level checks, one of its endpoints) came to. A raw device token is never stored, only
/// its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEntry {
    /// Given by the store on insert, increasing; ignored by [`Tx::insert_push_entry`](crate::Tx),
    /// kept by [`Tx::insert_push_entry_with_id`](crate::Tx).
    pub id: i64,
    pub time_ms: i64,
    pub account_id: String,
    pub region: String,
    pub app_instance_arn: String,
    pub channel_arn: String,
    pub message_id: String,
    pub sender_arn: String,
    pub recipient_arn: String,
    pub endpoint_id: Option<String>,
    pub endpoint_type: Option<AppInstanceUserEndpointType>,
    pub resource_arn: Option<String>,
    /// Lowercase hex.
    pub device_token_sha256: Option<String>,
    pub push_type: PushNotificationType,
    pub title: Option<String>,
    pub body: Option<String>,
    /// `DELIVERED`, `SKIPPED` or `FAILED`.
    pub outcome: String,
    pub reason: Option<String>,
}

/// Which outbox entries an operation addresses: those with `id > after_id` matching every filter
/// given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushFilter {
    pub channel_arn: Option<String>,
    pub recipient_arn: Option<String>,
    pub message_id: Option<String>,
    pub after_id: i64,
}

/// What a push-failure marker makes fail: a device token (kept as its SHA-256, lowercase hex) or
/// a Pinpoint application ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushFailureTarget {
    DeviceTokenSha256(String),
    ResourceArn(String),
}

/// A push-failure marker: pushes to its target fail with its reason until it is deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushFailureMarker {
    pub target: PushFailureTarget,
    pub status_reason: EndpointStatusReason,
    pub created_ms: i64,
}

/// The greatest `(created_ms, seq)` below `at`, if any.
fn just_before((ms, seq): (i64, i64)) -> Option<(i64, i64)> {
    match seq.checked_sub(1) {
        Some(seq) => Some((ms, seq)),
        None => Some((ms.checked_sub(1)?, i64::MAX)),
    }
}

/// The least `(created_ms, seq)` above `at`, if any.
fn just_after((ms, seq): (i64, i64)) -> Option<(i64, i64)> {
    match seq.checked_add(1) {
        Some(seq) => Some((ms, seq)),
        None => Some((ms.checked_add(1)?, i64::MIN)),
    }
}

// ---------------------------------------------------------------------------------------------
// Channel flows and streaming configurations (`docs/behaviour.md`, "Messaging"): configuration
// only, stored and returned, never invoked.

pub use carillon_api::messaging::shapes::MessagingDataType;

stored_enum!(MessagingDataType);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelFlowRecord {
    pub seq: i64,
    pub arn: String,
    pub app_instance_arn: String,
    pub name: String,
    /// The `Processors` list as JSON, as the last Create or Update gave it.
    pub processors: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// Where an AppInstance streams one kind of its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamingConfigRecord {
    pub data_type: MessagingDataType,
    pub resource_arn: String,
}

#[cfg(test)]
mod tests {
    use super::MessageQuery;

    #[test]
    fn message_ranges_fold_after_and_time_bounds() {
        let q = |descending, after, not_before_ms, not_after_ms| MessageQuery { descending, after, not_before_ms, not_after_ms, limit: 1 };
        let (min, max) = (i64::MIN, i64::MAX);
        assert_eq!(q(true, None, None, None).range(), Some(((min, min), (max, max))));
        assert_eq!(q(false, None, Some(5), Some(9)).range(), Some(((5, min), (9, max))));
        assert_eq!(q(true, Some((7, 3)), Some(5), Some(9)).range(), Some(((5, min), (7, 2))), "after is exclusive");
        assert_eq!(q(false, Some((7, 3)), Some(5), Some(9)).range(), Some(((7, 4), (9, max))));
        assert_eq!(q(true, Some((12, 3)), Some(5), Some(9)).range(), Some(((5, min), (9, max))), "the tighter bound wins");
        assert_eq!(q(false, Some((1, 3)), Some(5), Some(9)).range(), Some(((5, min), (9, max))));
        assert_eq!(q(true, Some((7, min)), None, None).range(), Some(((min, min), (6, max))));
        assert_eq!(q(false, Some((7, max)), None, None).range(), Some(((8, min), (max, max))));
        assert_eq!(q(true, Some((min, min)), None, None).range(), None, "nothing before the first");
        assert_eq!(q(false, Some((max, max)), None, None).range(), None);
        assert_eq!(q(false, Some((9, max)), Some(5), Some(9)).range(), None, "past the time bound");
        assert_eq!(q(false, None, Some(10), Some(9)).range(), None, "reversed bounds");
    }
}
