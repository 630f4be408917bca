//! What the store keeps. Times are milliseconds since the Unix epoch; `seq` is the creation order
//! the store assigns on insert (ignored by inserts) and the seek key of lists.

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
    pub expiration_criterion: Option<String>,
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
    pub endpoint_type: String,
    pub resource_arn: String,
    pub device_token: String,
    pub voip_device_token: Option<String>,
    pub allow_messages: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// Identifies a Create or Register call by its ClientRequestToken.
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
