//! The push outbox and the push-failure markers of a state document (`docs/behaviour.md`, "State
//! and seeds" and "Push notifications"): their export, their checks and their insertion.
//!
//! An entry is written as `GET /_carillon/push-outbox` writes it, its `Id` included, and a marker as
//! `GET /_carillon/push-failures` writes it, with the time it was set. A device token appears only as
//! its SHA-256. Entries outlive their channels and messages, so what they name need not exist;
//! only its form is checked.

use super::{check_shape, fault};
use crate::arn::{self, Resource};
use crate::failure::TxResult;
use crate::messaging::push::{self, ENDPOINT_REASONS, MEMBER_REASONS, OUTCOMES};
use carillon_api::messaging::shapes::{GetChannelMessageRequest, PushNotificationConfiguration, PushNotificationType};
use carillon_api::model::Model;
use carillon_api::shapes::{AppInstanceUserEndpointType, EndpointStatusReason};
use carillon_api::{ApiError, Timestamp, printable};
use carillon_store::{PushEntry, PushFailureMarker, PushFailureTarget, PushFilter, StoredEnum, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;

/// Outbox entries read per statement while exporting.
const PAGE: usize = 1_000;

/// An outbox entry, with the members `GET /_carillon/push-outbox` gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PushEntryState {
    pub id: i64,
    pub time: Timestamp,
    pub account_id: String,
    pub region: String,
    pub app_instance_arn: String,
    pub channel_arn: String,
    pub message_id: String,
    pub sender_arn: String,
    pub recipient_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token_sha256: Option<String>,
    pub push_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// What Pinpoint would have been given; it follows from Title, Body, MessageId and ChannelArn.
    pub payload: Value,
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A push-failure marker: on a device token (as its SHA-256) or on a Pinpoint application ARN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PushFailureMarkerState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_arn: Option<String>,
    pub status_reason: String,
    /// When the marker was set; `GET /_carillon/push-failures` leaves it out, and an import of a
    /// marker without it takes the time of the import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_timestamp: Option<Timestamp>,
}

/// The checked outbox and markers, as the store takes them.
#[derive(Debug, Default)]
pub(crate) struct PlannedPush {
    /// Oldest first, with their ids.
    pub(crate) entries: Vec<PushEntry>,
    pub(crate) markers: Vec<PushFailureMarker>,
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal("The service failed to process the request.").with_cause(format!("stored push outbox entry: {e}"))
}

/// Every outbox entry, oldest first, as the control plane writes it.
pub(super) fn export_outbox(tx: &mut dyn Tx) -> TxResult<Vec<PushEntryState>> {
    let mut out = Vec::new();
    let mut after_id = 0;
    loop {
        let page = tx.list_push_entries(&PushFilter { after_id, ..PushFilter::default() }, PAGE)?;
        let full = page.len() == PAGE;
        for e in &page {
            after_id = e.id;
            out.push(serde_json::from_value(push::entry_json(e)).map_err(internal)?);
        }
        if !full {
            return Ok(out);
        }
    }
}

/// Every marker, oldest first, with the time it was set.
pub(super) fn export_markers(tx: &mut dyn Tx) -> TxResult<Vec<PushFailureMarkerState>> {
    let markers = tx.list_push_failures()?;
    Ok(markers
        .into_iter()
        .map(|m| {
            let (device_token_sha256, resource_arn) = match m.target {
                PushFailureTarget::DeviceTokenSha256(h) => (Some(h), None),
                PushFailureTarget::ResourceArn(a) => (None, Some(a)),
            };
            PushFailureMarkerState {
                device_token_sha256,
                resource_arn,
                status_reason: m.status_reason.as_stored().to_string(),
                created_timestamp: Some(Timestamp(m.created_ms)),
            }
        })
        .collect())
}

/// A SHA-256 as the store keeps it: 64 lowercase hexadecimal digits.
fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Checks the outbox and the markers; `now` is the time of a marker that gives none.
pub(super) fn check(
    messaging: &Model,
    entries: Vec<PushEntryState>,
    markers: Vec<PushFailureMarkerState>,
    now: Timestamp,
) -> Result<PlannedPush, ApiError> {
    let mut plan = PlannedPush::default();
    let mut previous = 0;
    for (i, e) in entries.into_iter().enumerate() {
        let entry = check_entry(messaging, &format!("PushOutbox[{i}]"), previous, e)?;
        previous = entry.id;
        plan.entries.push(entry);
    }
    let mut targets = HashSet::new();
    for (i, m) in markers.into_iter().enumerate() {
        let marker = check_marker(&format!("PushFailureMarkers[{i}]"), m, now)?;
        let target = match &marker.target {
            PushFailureTarget::DeviceTokenSha256(h) => (true, h.clone()),
            PushFailureTarget::ResourceArn(a) => (false, a.clone()),
        };
        if !targets.insert(target) {
            return Err(fault(&format!("PushFailureMarkers[{i}]"), "a marker on this target appears twice"));
        }
        plan.markers.push(marker);
    }
    Ok(plan)
}

fn check_entry(messaging: &Model, at: &str, previous: i64, e: PushEntryState) -> Result<PushEntry, ApiError> {
    let member = |name: &str| format!("{at}.{name}");
    if e.id <= previous {
        return Err(fault(&member("Id"), "ids are positive and increase strictly, oldest first"));
    }
    if e.time.0 < 0 {
        return Err(fault(&member("Time"), "must not be negative"));
    }
    let Some(Resource::AppInstance { .. }) = arn::resource(&e.app_instance_arn) else {
        return Err(fault(&member("AppInstanceArn"), format!("{:?} is not an AppInstance ARN", printable(&e.app_instance_arn))));
    };
    let (account, region) = arn::parse(&e.app_instance_arn).map(|p| (p.account, p.region)).unwrap_or_default();
    if e.account_id != account {
        return Err(fault(&member("AccountId"), "is not the account of AppInstanceArn"));
    }
    if e.region != region {
        return Err(fault(&member("Region"), "is not the region of AppInstanceArn"));
    }
    match arn::resource(&e.channel_arn) {
        Some(Resource::Channel { app_instance_arn, .. }) if app_instance_arn == e.app_instance_arn => {}
        _ => return Err(fault(&member("ChannelArn"), format!("{:?} is not a channel ARN of AppInstanceArn", printable(&e.channel_arn)))),
    }
    match arn::resource(&e.sender_arn) {
        Some(Resource::User { app_instance_arn, .. } | Resource::Bot { app_instance_arn, .. })
            if app_instance_arn == e.app_instance_arn => {}
        _ => {
            let shown = printable(&e.sender_arn);
            return Err(fault(&member("SenderArn"), format!("{shown:?} is not a user or bot ARN of AppInstanceArn")));
        }
    }
    match arn::resource(&e.recipient_arn) {
        Some(Resource::User { app_instance_arn, .. }) if app_instance_arn == e.app_instance_arn => {}
        _ => {
            let shown = printable(&e.recipient_arn);
            return Err(fault(&member("RecipientArn"), format!("{shown:?} is not a user ARN of AppInstanceArn (bots get no entry)")));
        }
    }
    let get = GetChannelMessageRequest {
        channel_arn: e.channel_arn.clone(),
        message_id: e.message_id.clone(),
        chime_bearer: e.sender_arn.clone(),
        sub_channel_id: None,
    };
    check_shape(messaging, at, "GetChannelMessageRequest", &get)?;
    let Some(push_type) = PushNotificationType::parse(&e.push_type) else {
        return Err(fault(&member("PushType"), format!("{:?} is not DEFAULT or VOIP", printable(&e.push_type))));
    };
    let config = PushNotificationConfiguration { title: e.title.clone(), body: e.body.clone(), r#type: Some(push_type) };
    check_shape(messaging, at, "PushNotificationConfiguration", &config)?;
    let endpoint_type = match &e.endpoint_type {
        Some(t) => match AppInstanceUserEndpointType::parse(t) {
            Some(t) => Some(t),
            None => return Err(fault(&member("EndpointType"), format!("{:?} is not APNS, APNS_SANDBOX or GCM", printable(t)))),
        },
        None => None,
    };
    if e.device_token_sha256.as_deref().is_some_and(|hash| !is_sha256_hex(hash)) {
        return Err(fault(&member("DeviceTokenSha256"), "is a SHA-256 as 64 lowercase hexadecimal digits, never a raw token"));
    }
    if e.endpoint_id.as_deref().is_some_and(str::is_empty) || e.resource_arn.as_deref().is_some_and(str::is_empty) {
        return Err(fault(at, "EndpointId and ResourceArn are not empty"));
    }
    let names_endpoint = [e.endpoint_id.is_some(), endpoint_type.is_some(), e.resource_arn.is_some(), e.device_token_sha256.is_some()];
    let names_endpoint = match names_endpoint {
        [true, true, true, true] => true,
        [false, false, false, false] => false,
        _ => return Err(fault(at, "EndpointId, EndpointType, ResourceArn and DeviceTokenSha256 are given together or not at all")),
    };
    if !OUTCOMES.contains(&e.outcome.as_str()) {
        return Err(fault(&member("Outcome"), format!("{:?} is not one of {}", printable(&e.outcome), OUTCOMES.join(", "))));
    }
    // Which reasons go with the outcome, and whether the entry then names an endpoint.
    let reason = e.reason.as_deref();
    let endpoint_expected = match (e.outcome.as_str(), reason) {
        ("DELIVERED", None) => true,
        ("DELIVERED", Some(_)) => return Err(fault(&member("Reason"), "a DELIVERED entry has no Reason")),
        ("SKIPPED", Some(r)) if MEMBER_REASONS.contains(&r) => false,
        ("SKIPPED", Some(r)) if ENDPOINT_REASONS.contains(&r) => true,
        ("FAILED", Some(r)) if EndpointStatusReason::parse(r).is_some() => true,
        (outcome, r) => {
            let shown = r.map_or_else(|| "none".to_string(), |r| format!("{:?}", printable(r)));
            return Err(fault(&member("Reason"), format!("{shown} is not a reason of a {outcome} entry")));
        }
    };
    if names_endpoint != endpoint_expected {
        let why =
            if endpoint_expected { "an entry with this outcome names its endpoint" } else { "an entry of this reason names no endpoint" };
        return Err(fault(at, why));
    }
    let record = PushEntry {
        id: e.id,
        time_ms: e.time.0,
        account_id: e.account_id,
        region: e.region,
        app_instance_arn: e.app_instance_arn,
        channel_arn: e.channel_arn,
        message_id: e.message_id,
        sender_arn: e.sender_arn,
        recipient_arn: e.recipient_arn,
        endpoint_id: e.endpoint_id,
        endpoint_type,
        resource_arn: e.resource_arn,
        device_token_sha256: e.device_token_sha256,
        push_type,
        title: e.title,
        body: e.body,
        outcome: e.outcome,
        reason: e.reason,
    };
    if push::entry_json(&record).get("Payload") != Some(&e.payload) {
        return Err(fault(&member("Payload"), "is not the payload of Title, Body, MessageId and ChannelArn"));
    }
    Ok(record)
}

fn check_marker(at: &str, m: PushFailureMarkerState, now: Timestamp) -> Result<PushFailureMarker, ApiError> {
    let target = match (m.device_token_sha256, m.resource_arn) {
        (Some(hash), None) if is_sha256_hex(&hash) => PushFailureTarget::DeviceTokenSha256(hash),
        (Some(_), None) => {
            return Err(fault(&format!("{at}.DeviceTokenSha256"), "is a SHA-256 as 64 lowercase hexadecimal digits, never a raw token"));
        }
        (None, Some(arn)) if !arn.is_empty() => PushFailureTarget::ResourceArn(arn),
        (None, Some(_)) => return Err(fault(&format!("{at}.ResourceArn"), "is empty")),
        _ => return Err(fault(at, "a marker names exactly one of DeviceTokenSha256 and ResourceArn")),
    };
    let Some(status_reason) = EndpointStatusReason::parse(&m.status_reason) else {
        let shown = printable(&m.status_reason);
        return Err(fault(&format!("{at}.StatusReason"), format!("{shown:?} is not INVALID_DEVICE_TOKEN or INVALID_PINPOINT_ARN")));
    };
    let created = m.created_timestamp.unwrap_or(now);
    if created.0 < 0 {
        return Err(fault(&format!("{at}.CreatedTimestamp"), "must not be negative"));
    }
    Ok(PushFailureMarker { target, status_reason, created_ms: created.0 })
}

/// Writes the markers, then the newest `keep` entries under their ids, after the outbox lock that
/// every writer of the outbox takes (so that ids keep increasing in commit order). Answers how
/// many of each it wrote.
pub(super) fn insert(tx: &mut dyn Tx, plan: &PlannedPush, keep: u64) -> TxResult<(u64, u64)> {
    for m in &plan.markers {
        tx.put_push_failure(m)?;
    }
    let kept = plan.entries.len().min(usize::try_from(keep).unwrap_or(usize::MAX));
    let newest = &plan.entries[plan.entries.len() - kept..];
    if !newest.is_empty() {
        push::lock_outbox(tx)?;
    }
    for e in newest {
        tx.insert_push_entry_with_id(e)?;
    }
    Ok((newest.len() as u64, plan.markers.len() as u64))
}
