//! Push notifications (`docs/behaviour.md`, "Push notifications"): what a PERSISTENT send with a
//! PushNotification decides for each member and endpoint, written to the outbox in the send's own
//! transaction. Nothing is sent anywhere; the outbox and the push-failure markers are read and
//! set through the control plane.

use super::filter_rule::{self, Attributes};
use crate::arn::{self, Resource};
use crate::failure::TxResult;
use crate::service::Service;
use carillon_api::ApiError;
use carillon_api::messaging::shapes::{
    AllowNotifications, ChannelMembershipPreferences, PushNotificationConfiguration, PushNotificationPreferences, PushNotificationType,
};
use carillon_api::shapes::{AllowMessages, AppInstanceUserEndpointType, EndpointStatus, EndpointStatusReason};
use carillon_store::{
    ChannelRecord, EndpointRecord, EndpointUpdate, MembershipRecord, PushEntry, PushFailureMarker, PushFailureTarget, PushFilter,
    StoredEnum, Tx,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The page size of the member and endpoint walks.
const PAGE: usize = 500;

/// The lock every transaction that writes the outbox takes first, so that outbox ids increase in
/// commit order on every node (a reader polling with `after-id` misses nothing).
const OUTBOX_LOCK: &str = "push-outbox";

/// The outcomes of an entry.
pub(crate) const OUTCOMES: [&str; 3] = ["DELIVERED", "SKIPPED", "FAILED"];

/// The reasons of the SKIPPED entries of the member-level checks: such an entry names no endpoint.
pub(crate) const MEMBER_REASONS: [&str; 3] = [PREFERENCE_NONE, FILTER_NO_MATCH, NO_ENDPOINT];
/// The reasons of the SKIPPED entries of the endpoint-level checks. A FAILED entry's reason is the
/// marker's StatusReason.
pub(crate) const ENDPOINT_REASONS: [&str; 3] = [ALLOW_MESSAGES_NONE, ENDPOINT_INACTIVE, VOIP_NOT_SUPPORTED];

const PREFERENCE_NONE: &str = "MEMBERSHIP_PREFERENCE_NONE";
const FILTER_NO_MATCH: &str = "FILTER_RULE_NO_MATCH";
const NO_ENDPOINT: &str = "NO_ENDPOINT";
const ALLOW_MESSAGES_NONE: &str = "ENDPOINT_ALLOW_MESSAGES_NONE";
const ENDPOINT_INACTIVE: &str = "ENDPOINT_INACTIVE";
const VOIP_NOT_SUPPORTED: &str = "VOIP_NOT_SUPPORTED";

/// Takes the outbox lock: every transaction that writes the outbox does, before its first entry.
pub(crate) fn lock_outbox(tx: &mut dyn Tx) -> TxResult<()> {
    tx.lock(OUTBOX_LOCK)?;
    Ok(())
}

/// The SHA-256 of a device token, lowercase hex: the only form a token takes in the outbox and the
/// markers.
pub(crate) fn token_sha256(token: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(token.as_bytes());
    let mut out = String::with_capacity(2 * digest.len());
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

/// The message a push is about.
pub(crate) struct Push<'a> {
    pub channel: &'a ChannelRecord,
    pub message_id: &'a str,
    pub sender_arn: &'a str,
    pub config: &'a PushNotificationConfiguration,
    pub attributes: Option<&'a Attributes>,
    pub now_ms: i64,
}

/// Writes the outbox entries of `push`, one per member (when a member-level check ends it) or per
/// endpoint of a member user, then trims the outbox to its newest `keep` entries. A failing marker
/// on the token or the Pinpoint application turns the endpoint INACTIVE here too.
pub(crate) fn decide(tx: &mut dyn Tx, push: &Push<'_>, keep: u64) -> TxResult<()> {
    lock_outbox(tx)?;
    let mut after = 0;
    loop {
        let page = tx.list_memberships(&push.channel.arn, None, after, PAGE)?;
        for m in &page {
            member(tx, push, m)?;
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = last.seq,
            _ => break,
        }
    }
    tx.trim_push_outbox(keep)?;
    Ok(())
}

/// The entries of one member: none for a bot, one when its preferences stop the push or it has no
/// endpoint, else one per endpoint.
fn member(tx: &mut dyn Tx, push: &Push<'_>, m: &MembershipRecord) -> TxResult<()> {
    if !matches!(arn::resource(&m.member.arn), Some(Resource::User { .. })) {
        return Ok(());
    }
    let entry = blank(push, &m.member.arn);
    // No preferences means ALL.
    let preferences = m.preferences.as_deref().and_then(|json| serde_json::from_str::<ChannelMembershipPreferences>(json).ok());
    match preferences.and_then(|p| p.push_notifications) {
        Some(PushNotificationPreferences { allow_notifications: AllowNotifications::None, .. }) => {
            return skipped(tx, entry, PREFERENCE_NONE);
        }
        Some(PushNotificationPreferences { allow_notifications: AllowNotifications::Filtered, filter_rule })
            if !filter_rule.as_deref().is_some_and(|rule| filter_rule::matches(rule, push.attributes)) =>
        {
            return skipped(tx, entry, FILTER_NO_MATCH);
        }
        _ => {}
    }
    let mut after = 0;
    let mut any = false;
    loop {
        let page = tx.list_endpoints(&m.member.arn, after, PAGE)?;
        for e in &page {
            any = true;
            endpoint(tx, push, entry.clone(), e)?;
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = last.seq,
            _ => break,
        }
    }
    if any { Ok(()) } else { skipped(tx, entry, NO_ENDPOINT) }
}

/// The entry of one endpoint: the endpoint-level checks in order, first failing one wins.
fn endpoint(tx: &mut dyn Tx, push: &Push<'_>, entry: PushEntry, e: &EndpointRecord) -> TxResult<()> {
    let voip = push_type(push.config) == PushNotificationType::Voip;
    let token = match (&e.voip_device_token, voip) {
        (Some(voip_token), true) => voip_token,
        _ => &e.device_token,
    };
    let hash = token_sha256(token);
    let entry = PushEntry {
        endpoint_id: Some(e.endpoint_id.clone()),
        endpoint_type: Some(e.endpoint_type),
        resource_arn: Some(e.resource_arn.clone()),
        device_token_sha256: Some(hash.clone()),
        ..entry
    };
    if e.allow_messages == AllowMessages::None {
        return skipped(tx, entry, ALLOW_MESSAGES_NONE);
    }
    if e.status == EndpointStatus::Inactive {
        return skipped(tx, entry, ENDPOINT_INACTIVE);
    }
    if voip && (e.endpoint_type == AppInstanceUserEndpointType::Gcm || e.voip_device_token.is_none()) {
        return skipped(tx, entry, VOIP_NOT_SUPPORTED);
    }
    if let Some(reason) = tx.push_failure_for(&hash, &e.resource_arn)? {
        let update = EndpointUpdate {
            state: Some((EndpointStatus::Inactive, Some(reason))),
            touched_ms: Some(push.now_ms),
            ..EndpointUpdate::default()
        };
        tx.update_endpoint(&e.user_arn, &e.endpoint_id, &update)?;
        let entry = PushEntry { outcome: "FAILED".into(), reason: Some(reason.as_stored().into()), ..entry };
        tx.insert_push_entry(&entry)?;
        return Ok(());
    }
    tx.insert_push_entry(&PushEntry { outcome: "DELIVERED".into(), reason: None, ..entry })?;
    Ok(())
}

fn skipped(tx: &mut dyn Tx, entry: PushEntry, reason: &str) -> TxResult<()> {
    tx.insert_push_entry(&PushEntry { outcome: "SKIPPED".into(), reason: Some(reason.into()), ..entry })?;
    Ok(())
}

fn push_type(config: &PushNotificationConfiguration) -> PushNotificationType {
    config.r#type.unwrap_or(PushNotificationType::Default)
}

/// The entry for `recipient_arn` before any check: no endpoint yet, no outcome.
fn blank(push: &Push<'_>, recipient_arn: &str) -> PushEntry {
    let (account_id, region) = match arn::parse(&push.channel.arn) {
        Some(a) => (a.account.to_string(), a.region.to_string()),
        None => (String::new(), String::new()),
    };
    PushEntry {
        id: 0,
        time_ms: push.now_ms,
        account_id,
        region,
        app_instance_arn: push.channel.app_instance_arn.clone(),
        channel_arn: push.channel.arn.clone(),
        message_id: push.message_id.to_string(),
        sender_arn: push.sender_arn.to_string(),
        recipient_arn: recipient_arn.to_string(),
        endpoint_id: None,
        endpoint_type: None,
        resource_arn: None,
        device_token_sha256: None,
        push_type: push_type(push.config),
        title: push.config.title.clone(),
        body: push.config.body.clone(),
        outcome: String::new(),
        reason: None,
    }
}

/// An outbox entry as the control plane shows it; members without a value are left out.
pub fn entry_json(e: &PushEntry) -> Value {
    let json_body = json!({"chime.message_id": e.message_id, "chime.channel_arn": e.channel_arn}).to_string();
    let mut payload = serde_json::Map::new();
    if let Some(title) = &e.title {
        payload.insert("pinpoint.notification.title".into(), json!(title));
    }
    if let Some(body) = &e.body {
        payload.insert("pinpoint.notification.body".into(), json!(body));
    }
    payload.insert("pinpoint.jsonBody".into(), json!(json_body));
    let mut v = json!({
        "Id": e.id,
        "Time": e.time_ms as f64 / 1000.0,
        "AccountId": e.account_id,
        "Region": e.region,
        "AppInstanceArn": e.app_instance_arn,
        "ChannelArn": e.channel_arn,
        "MessageId": e.message_id,
        "SenderArn": e.sender_arn,
        "RecipientArn": e.recipient_arn,
        "PushType": e.push_type.as_stored(),
        "Payload": payload,
        "Outcome": e.outcome,
    });
    let optional = [
        ("EndpointId", e.endpoint_id.as_deref()),
        ("EndpointType", e.endpoint_type.map(StoredEnum::as_stored)),
        ("ResourceArn", e.resource_arn.as_deref()),
        ("DeviceTokenSha256", e.device_token_sha256.as_deref()),
        ("Title", e.title.as_deref()),
        ("Body", e.body.as_deref()),
        ("Reason", e.reason.as_deref()),
    ];
    if let Value::Object(members) = &mut v {
        for (k, value) in optional {
            if let Some(value) = value {
                members.insert(k.into(), json!(value));
            }
        }
    }
    v
}

/// A push-failure marker as the control plane shows it: a token only as its SHA-256.
pub fn marker_json(m: &PushFailureMarker) -> Value {
    let reason = m.status_reason.as_stored();
    match &m.target {
        PushFailureTarget::DeviceTokenSha256(h) => json!({"DeviceTokenSha256": h, "StatusReason": reason}),
        PushFailureTarget::ResourceArn(a) => json!({"ResourceArn": a, "StatusReason": reason}),
    }
}

/// The most entries one outbox read answers.
const READ_LIMIT: usize = 1_000_000;

impl Service {
    /// The outbox entries `filter` matches, oldest first, as the control plane shows them.
    pub async fn push_outbox(&self, filter: PushFilter) -> Result<Vec<Value>, ApiError> {
        let rows = self.read(move |tx| Ok(tx.list_push_entries(&filter, READ_LIMIT)?)).await?;
        Ok(rows.iter().map(entry_json).collect())
    }

    /// Deletes the outbox entries `filter` matches. Returns how many.
    pub async fn delete_push_outbox(&self, filter: PushFilter) -> Result<u64, ApiError> {
        self.write(move |tx| Ok(tx.delete_push_entries(&filter)?)).await
    }

    /// Marks a device token (exactly one of the two given) or a Pinpoint application ARN as
    /// failing with `reason`, replacing the reason of a marker already there.
    pub async fn put_push_failure(
        &self,
        device_token: Option<&str>,
        resource_arn: Option<&str>,
        reason: EndpointStatusReason,
    ) -> Result<Value, ApiError> {
        let target = match (device_token, resource_arn) {
            (Some(token), None) => PushFailureTarget::DeviceTokenSha256(token_sha256(token)),
            (None, Some(arn)) => PushFailureTarget::ResourceArn(arn.to_string()),
            _ => return Err(ApiError::bad_request("A push-failure marker names exactly one of DeviceToken and ResourceArn.")),
        };
        let marker = PushFailureMarker { target, status_reason: reason, created_ms: self.clock.now_ms() };
        let shown = marker_json(&marker);
        self.write(move |tx| Ok(tx.put_push_failure(&marker)?)).await?;
        Ok(shown)
    }

    /// Every push-failure marker, oldest first.
    pub async fn push_failures(&self) -> Result<Vec<Value>, ApiError> {
        let rows = self.read(move |tx| Ok(tx.list_push_failures()?)).await?;
        Ok(rows.iter().map(marker_json).collect())
    }

    /// Deletes every push-failure marker. Returns how many.
    pub async fn delete_push_failures(&self) -> Result<u64, ApiError> {
        self.write(move |tx| Ok(tx.delete_push_failures()?)).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_token_is_kept_as_its_sha256_in_lowercase_hex() {
        assert_eq!(super::token_sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(super::token_sha256(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
