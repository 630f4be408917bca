//! The state document and its import and export (`docs/behaviour.md`, "State and seeds").
//!
//! A state document (`"Format": "carillon-state/1"`) holds every resource with every field the
//! store keeps: ARNs and ids, timestamps, retention and expiration settings, endpoint state, tags
//! in their order, channels with their memberships, moderators and messages ([`channels`]), and
//! each collection in creation order (which is the order lists page through); beside the
//! AppInstances, the push outbox with its ids and the push-failure markers ([`push`]).
//! Idempotency records, the clock, fault rules and the journal are not state.
//!
//! An import is checked whole before anything is written: the document's types, then every
//! resource against the model (Identity's or Messaging's) constraints for the operation that
//! creates it, then the references (a user's ARN under its AppInstance, an admin or a channel
//! member that is a user or bot of it) and the uniqueness of ids. It then replaces all state in one transaction. A seed
//! ([`crate::seed`]) is turned into the same plan and only adds what is missing.

use crate::arn::{self, Resource};
use crate::failure::TxResult;
use crate::service::{OwnerLock, Service, lock};
use crate::tags;
use carillon_api::model::Model;
use carillon_api::shapes::*;
use carillon_api::{ApiError, RequestContext, Timestamp};
use carillon_store::{AdminRecord, AppInstanceRecord, BotRecord, EndpointRecord, ResetCounts, ResetScope, Tx, UserRecord};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;

mod channels;
mod flows;
mod push;

pub use channels::{ActorState, ChannelState, MembershipState, MessageState, ModeratorState};
pub use flows::ChannelFlowState;
pub use push::{PushEntryState, PushFailureMarkerState};

/// The `Format` of the documents this version writes and reads.
pub const FORMAT: &str = "carillon-state/1";

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Records read per statement while exporting.
const PAGE: usize = 1_000;

/// All state, as `GET /_carillon/state` answers and `PUT` takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct StateDocument {
    pub format: String,
    /// When the export was made; ignored on import. The only member two exports of the same
    /// state may differ in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exported_at: Option<Timestamp>,
    #[serde(default)]
    pub app_instances: Vec<AppInstanceState>,
    /// The push outbox, oldest first, each entry with its Id; absent when it is empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub push_outbox: Vec<PushEntryState>,
    /// The push-failure markers, oldest first; absent when there is none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub push_failure_markers: Vec<PushFailureMarkerState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AppInstanceState {
    pub app_instance_arn: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    pub created_timestamp: Timestamp,
    pub last_updated_timestamp: Timestamp,
    /// Absent until retention was first Put.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionState>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub users: Vec<UserState>,
    #[serde(default)]
    pub bots: Vec<BotState>,
    #[serde(default)]
    pub admins: Vec<AdminState>,
    /// Absent in documents written before Messaging: no channel.
    #[serde(default)]
    pub channels: Vec<ChannelState>,
    /// Absent in documents written before channel flows: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channel_flows: Vec<ChannelFlowState>,
    /// The AppInstance's messaging streaming configurations; absent when none is set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub streaming_configurations: Vec<carillon_api::messaging::shapes::StreamingConfiguration>,
}

/// An AppInstance's retention as last Put: `RetentionDays` absent means it was turned off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RetentionState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<i32>,
    pub set_timestamp: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UserState {
    pub app_instance_user_arn: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    pub created_timestamp: Timestamp,
    pub last_updated_timestamp: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_settings: Option<ExpirationSettings>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub endpoints: Vec<EndpointStateDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct EndpointStateDoc {
    pub endpoint_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub r#type: AppInstanceUserEndpointType,
    pub resource_arn: String,
    pub endpoint_attributes: EndpointAttributes,
    pub allow_messages: AllowMessages,
    pub endpoint_state: EndpointState,
    pub created_timestamp: Timestamp,
    pub last_updated_timestamp: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BotState {
    pub app_instance_bot_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    pub configuration: Configuration,
    pub created_timestamp: Timestamp,
    pub last_updated_timestamp: Timestamp,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AdminState {
    /// The promoted user's or bot's ARN.
    pub arn: String,
    pub created_timestamp: Timestamp,
}

/// How many resources of each kind an import or a seed wrote.
pub type Counts = ResetCounts;

/// A checked document, as the records the store takes, in the order they are inserted.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) instances: Vec<PlannedInstance>,
    pub(crate) push: push::PlannedPush,
}

#[derive(Debug)]
pub(crate) struct PlannedInstance {
    pub(crate) record: AppInstanceRecord,
    pub(crate) tags: Vec<carillon_store::Tag>,
    pub(crate) users: Vec<PlannedUser>,
    pub(crate) bots: Vec<(BotRecord, Vec<carillon_store::Tag>)>,
    pub(crate) admins: Vec<AdminRecord>,
    pub(crate) channels: Vec<channels::PlannedChannel>,
    pub(crate) flows: flows::PlannedFlows,
}

#[derive(Debug)]
pub(crate) struct PlannedUser {
    pub(crate) record: UserRecord,
    pub(crate) tags: Vec<carillon_store::Tag>,
    pub(crate) endpoints: Vec<EndpointRecord>,
}

impl Service {
    /// Every resource, as one document, from one consistent read.
    pub async fn export_state(&self) -> Result<StateDocument, ApiError> {
        let now = self.clock.now_ms();
        let (instances, push_outbox, push_failure_markers) =
            self.read(|tx| Ok((export(tx)?, push::export_outbox(tx)?, push::export_markers(tx)?))).await?;
        Ok(StateDocument {
            format: FORMAT.to_string(),
            exported_at: Some(Timestamp(now)),
            app_instances: instances,
            push_outbox,
            push_failure_markers,
        })
    }

    /// Replaces all state with the document's, in one transaction, once the whole document is
    /// checked: an invalid one is a 400 naming the first fault, and nothing changes. Of the
    /// outbox, the newest `push_outbox_limit` entries are kept, as a send keeps them.
    pub async fn import_state(&self, identity: &Model, messaging: &Model, doc: StateDocument) -> Result<Counts, ApiError> {
        let plan = Arc::new(check(identity, messaging, doc, self.clock.now_ms())?);
        let keep = self.quotas.push_outbox_limit;
        self.write(move |tx| {
            tx.reset(&ResetScope::all())?;
            let mut n = insert(tx, &plan, false)?;
            (n.push_outbox_entries, n.push_failure_markers) = push::insert(tx, &plan.push, keep)?;
            Ok(n)
        })
        .await
    }

    /// Adds each resource of `plan` that does not exist yet, in order, in one transaction;
    /// existing ones are left as they are. Answers how many it created of each kind.
    pub(crate) async fn add_missing(&self, plan: Plan) -> Result<Counts, ApiError> {
        let plan = Arc::new(plan);
        self.write(move |tx| insert(tx, &plan, true)).await
    }
}

fn export(tx: &mut dyn Tx) -> TxResult<Vec<AppInstanceState>> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = tx.list_every_app_instance(after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in page {
            out.push(export_instance(tx, r)?);
        }
    }
    Ok(out)
}

/// Reads every page of a list that seeks on the creation sequence.
fn all<R>(next: impl FnMut(i64) -> TxResult<Vec<R>>, seq: impl Fn(&R) -> i64) -> TxResult<Vec<R>> {
    pages(0, next, seq)
}

/// Reads every page of a seek-based list, from `start`, each page continuing after the
/// `cursor` of the last record of the one before.
fn pages<C, R>(start: C, mut next: impl FnMut(C) -> TxResult<Vec<R>>, cursor: impl Fn(&R) -> C) -> TxResult<Vec<R>> {
    let mut out = Vec::new();
    let mut after = start;
    loop {
        let page = next(after)?;
        let Some(last) = page.last() else { return Ok(out) };
        after = cursor(last);
        let full = page.len() == PAGE;
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
}

fn tags_of(tx: &mut dyn Tx, arn: &str) -> TxResult<Vec<Tag>> {
    Ok(tx.get_tags(arn)?.into_iter().map(|t| Tag { key: t.key, value: t.value }).collect())
}

fn export_instance(tx: &mut dyn Tx, r: AppInstanceRecord) -> TxResult<AppInstanceState> {
    let users = all(|after| Ok(tx.list_users(&r.arn, after, PAGE)?), |u| u.seq)?;
    let mut user_states = Vec::with_capacity(users.len());
    for u in users {
        let endpoints = all(|after| Ok(tx.list_endpoints(&u.arn, after, PAGE)?), |e| e.seq)?;
        user_states.push(UserState {
            tags: tags_of(tx, &u.arn)?,
            endpoints: endpoints.into_iter().map(export_endpoint).collect(),
            expiration_settings: u
                .expiration_days
                .zip(u.expiration_criterion)
                .map(|(expiration_days, expiration_criterion)| ExpirationSettings { expiration_days, expiration_criterion }),
            app_instance_user_arn: u.arn,
            name: u.name,
            metadata: u.metadata,
            created_timestamp: Timestamp(u.created_ms),
            last_updated_timestamp: Timestamp(u.updated_ms),
        });
    }
    let bots = all(|after| Ok(tx.list_bots(&r.arn, after, PAGE)?), |b| b.seq)?;
    let mut bot_states = Vec::with_capacity(bots.len());
    for b in bots {
        let configuration: Configuration = serde_json::from_str(&b.configuration).map_err(|e| {
            ApiError::internal("The service failed to process the request.").with_cause(format!("stored bot configuration: {e}"))
        })?;
        bot_states.push(BotState {
            tags: tags_of(tx, &b.arn)?,
            app_instance_bot_arn: b.arn,
            name: b.name,
            metadata: b.metadata,
            configuration,
            created_timestamp: Timestamp(b.created_ms),
            last_updated_timestamp: Timestamp(b.updated_ms),
        });
    }
    let admins = all(|after| Ok(tx.list_admins(&r.arn, after, PAGE)?), |a| a.seq)?;
    let channels = channels::export(tx, &r.arn)?;
    let channel_flows = flows::export_flows(tx, &r.arn)?;
    let streaming_configurations = flows::export_streaming(tx, &r.arn)?;
    Ok(AppInstanceState {
        tags: tags_of(tx, &r.arn)?,
        retention: r.retention_set_ms.map(|set| RetentionState { retention_days: r.retention_days, set_timestamp: Timestamp(set) }),
        app_instance_arn: r.arn,
        name: r.name,
        metadata: r.metadata,
        created_timestamp: Timestamp(r.created_ms),
        last_updated_timestamp: Timestamp(r.updated_ms),
        users: user_states,
        bots: bot_states,
        admins: admins.into_iter().map(|a| AdminState { arn: a.member_arn, created_timestamp: Timestamp(a.created_ms) }).collect(),
        channels,
        channel_flows,
        streaming_configurations,
    })
}

fn export_endpoint(e: EndpointRecord) -> EndpointStateDoc {
    EndpointStateDoc {
        endpoint_id: e.endpoint_id,
        name: e.name,
        r#type: e.endpoint_type,
        resource_arn: e.resource_arn,
        endpoint_attributes: EndpointAttributes { device_token: e.device_token, voip_device_token: e.voip_device_token },
        allow_messages: e.allow_messages,
        endpoint_state: EndpointState { status: e.status, status_reason: e.status_reason },
        created_timestamp: Timestamp(e.created_ms),
        last_updated_timestamp: Timestamp(e.updated_ms),
    }
}

/// The token the checks put where the model requires a `ClientRequestToken`.
const CHECK_TOKEN: &str = "carillon-state-check";

/// A fault in a document, named by where it is.
fn fault(at: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("{at}: {message}"))
}

/// Checks `value` (a request of the operation that creates the resource) against the model.
fn check_shape<T: Serialize>(model: &Model, at: &str, shape: &str, value: &T) -> Result<(), ApiError> {
    let value = serde_json::to_value(value).map_err(|e| fault(at, e))?;
    carillon_api::validate::validate(model, shape, &value).map_err(|e| fault(at, e.message))
}

fn check_tag_list(at: &str, tags: &[Tag]) -> Result<(), ApiError> {
    tags::check_tags(Some(tags)).map_err(|e| fault(at, e.message))
}

/// Checks a whole document, against the Identity and the Messaging models, and turns it into the
/// records to insert; `now_ms` is the time of a push-failure marker that gives none.
pub(crate) fn check(model: &Model, messaging: &Model, doc: StateDocument, now_ms: i64) -> Result<Plan, ApiError> {
    if doc.format != FORMAT {
        return Err(ApiError::bad_request(format!("Format is {:?}; this server reads {FORMAT:?}.", carillon_api::printable(&doc.format))));
    }
    let mut plan = Plan::default();
    let mut arns = HashSet::new();
    for (i, a) in doc.app_instances.into_iter().enumerate() {
        plan.instances.push(check_instance(model, messaging, &format!("AppInstances[{i}]"), a, &mut arns)?);
    }
    plan.push = push::check(messaging, doc.push_outbox, doc.push_failure_markers, Timestamp(now_ms))?;
    Ok(plan)
}

fn timestamps(at: &str, created: Timestamp, updated: Timestamp) -> Result<(i64, i64), ApiError> {
    if created.0 < 0 || updated.0 < created.0 {
        return Err(fault(at, "CreatedTimestamp must not be negative, nor later than LastUpdatedTimestamp"));
    }
    Ok((created.0, updated.0))
}

fn store_tags(tags: Vec<Tag>) -> Vec<carillon_store::Tag> {
    tags.into_iter().map(|t| carillon_store::Tag { key: t.key, value: t.value }).collect()
}

fn check_instance(
    model: &Model,
    messaging: &Model,
    at: &str,
    a: AppInstanceState,
    arns: &mut HashSet<String>,
) -> Result<PlannedInstance, ApiError> {
    let arn = a.app_instance_arn;
    let Some(Resource::AppInstance { .. }) = arn::resource(&arn) else {
        return Err(fault(at, format!("AppInstanceArn {:?} is not an AppInstance ARN", carillon_api::printable(&arn))));
    };
    let (account, region) = arn::parse(&arn).map(|p| (p.account.to_string(), p.region.to_string())).unwrap_or_default();
    if !arn::is_account(&account) || !arn::is_region(&region) {
        return Err(fault(at, "AppInstanceArn must name an account of 12 digits and a region such as us-east-1"));
    }
    if !arns.insert(arn.clone()) {
        return Err(fault(at, format!("AppInstanceArn {arn} appears twice")));
    }
    check_shape(model, at, "DescribeAppInstanceRequest", &DescribeAppInstanceRequest { app_instance_arn: arn.clone() })?;
    let request = CreateAppInstanceRequest {
        name: a.name.clone(),
        metadata: a.metadata.clone(),
        client_request_token: CHECK_TOKEN.into(),
        tags: (!a.tags.is_empty()).then(|| a.tags.clone()),
    };
    check_shape(model, at, "CreateAppInstanceRequest", &request)?;
    check_tag_list(at, &a.tags)?;
    if let Some(days) = a.retention.as_ref().and_then(|r| r.retention_days) {
        let put = PutAppInstanceRetentionSettingsRequest {
            app_instance_arn: arn.clone(),
            app_instance_retention_settings: AppInstanceRetentionSettings {
                channel_retention_settings: Some(ChannelRetentionSettings { retention_days: Some(days) }),
            },
        };
        check_shape(model, &format!("{at}.Retention"), "PutAppInstanceRetentionSettingsRequest", &put)?;
    }
    let (created_ms, updated_ms) = timestamps(at, a.created_timestamp, a.last_updated_timestamp)?;
    let ctx = RequestContext { account: account.clone(), region: region.clone(), request_id: String::new() };
    let mut users = Vec::with_capacity(a.users.len());
    let mut members = HashSet::new();
    for (i, u) in a.users.into_iter().enumerate() {
        let user = check_user(model, &format!("{at}.Users[{i}]"), &arn, &ctx, u, arns)?;
        members.insert(user.record.arn.clone());
        users.push(user);
    }
    let mut bots = Vec::with_capacity(a.bots.len());
    for (i, b) in a.bots.into_iter().enumerate() {
        let bot = check_bot(model, &format!("{at}.Bots[{i}]"), &arn, b, arns)?;
        members.insert(bot.0.arn.clone());
        bots.push(bot);
    }
    let mut admins = Vec::with_capacity(a.admins.len());
    let mut promoted = HashSet::new();
    for (i, ad) in a.admins.into_iter().enumerate() {
        let at = format!("{at}.Admins[{i}]");
        if !members.contains(&ad.arn) {
            return Err(fault(&at, format!("{} is not a user or bot of this AppInstance", carillon_api::printable(&ad.arn))));
        }
        if !promoted.insert(ad.arn.clone()) {
            return Err(fault(&at, format!("{} is an admin twice", ad.arn)));
        }
        if ad.created_timestamp.0 < 0 {
            return Err(fault(&at, "CreatedTimestamp must not be negative"));
        }
        admins.push(AdminRecord { seq: 0, app_instance_arn: arn.clone(), member_arn: ad.arn, created_ms: ad.created_timestamp.0 });
    }
    let (planned_flows, flow_arns) = flows::check(messaging, at, &arn, a.channel_flows, a.streaming_configurations, arns)?;
    let mut planned_channels = Vec::with_capacity(a.channels.len());
    for (i, c) in a.channels.into_iter().enumerate() {
        planned_channels.push(channels::check(messaging, &format!("{at}.Channels[{i}]"), &arn, &members, &flow_arns, c, arns)?);
    }
    Ok(PlannedInstance {
        record: AppInstanceRecord {
            seq: 0,
            arn,
            account,
            region,
            name: a.name,
            metadata: a.metadata,
            created_ms,
            updated_ms,
            retention_days: a.retention.as_ref().and_then(|r| r.retention_days),
            retention_set_ms: a.retention.map(|r| r.set_timestamp.0),
        },
        tags: store_tags(a.tags),
        users,
        bots,
        admins,
        channels: planned_channels,
        flows: planned_flows,
    })
}

fn check_user(
    model: &Model,
    at: &str,
    instance: &str,
    ctx: &RequestContext,
    u: UserState,
    arns: &mut HashSet<String>,
) -> Result<PlannedUser, ApiError> {
    let arn = u.app_instance_user_arn;
    let user_id = match arn::resource(&arn) {
        Some(Resource::User { app_instance_arn, user_id }) if app_instance_arn == instance => user_id,
        _ => return Err(fault(at, format!("AppInstanceUserArn {:?} is not a user ARN of its AppInstance", carillon_api::printable(&arn)))),
    };
    if !arns.insert(arn.clone()) {
        return Err(fault(at, format!("AppInstanceUserArn {arn} appears twice")));
    }
    let request = CreateAppInstanceUserRequest {
        app_instance_arn: instance.to_string(),
        app_instance_user_id: user_id.clone(),
        name: u.name.clone(),
        metadata: u.metadata.clone(),
        client_request_token: CHECK_TOKEN.into(),
        tags: (!u.tags.is_empty()).then(|| u.tags.clone()),
        expiration_settings: u.expiration_settings.clone(),
    };
    check_shape(model, at, "CreateAppInstanceUserRequest", &request)?;
    check_tag_list(at, &u.tags)?;
    let (created_ms, updated_ms) = timestamps(at, u.created_timestamp, u.last_updated_timestamp)?;
    let mut endpoints = Vec::with_capacity(u.endpoints.len());
    let (mut ids, mut tokens) = (HashSet::new(), HashSet::new());
    for (i, e) in u.endpoints.into_iter().enumerate() {
        let at = format!("{at}.Endpoints[{i}]");
        if !ids.insert(e.endpoint_id.clone()) {
            return Err(fault(&at, format!("EndpointId {} appears twice for this user", carillon_api::printable(&e.endpoint_id))));
        }
        if !tokens.insert(e.endpoint_attributes.device_token.clone()) {
            return Err(fault(&at, "the device token is registered twice for this user"));
        }
        endpoints.push(check_endpoint(model, &at, instance, &arn, ctx, e)?);
    }
    let expiry = u.expiration_settings.as_ref().map(|s| created_ms.saturating_add(i64::from(s.expiration_days).saturating_mul(DAY_MS)));
    Ok(PlannedUser {
        record: UserRecord {
            seq: 0,
            arn,
            app_instance_arn: instance.to_string(),
            user_id,
            name: u.name,
            metadata: u.metadata,
            created_ms,
            updated_ms,
            expiration_days: u.expiration_settings.as_ref().map(|s| s.expiration_days),
            expiration_criterion: u.expiration_settings.as_ref().map(|s| s.expiration_criterion),
            expires_at_ms: expiry,
        },
        tags: store_tags(u.tags),
        endpoints,
    })
}

fn check_endpoint(
    model: &Model,
    at: &str,
    instance: &str,
    user: &str,
    ctx: &RequestContext,
    e: EndpointStateDoc,
) -> Result<EndpointRecord, ApiError> {
    check_shape(
        model,
        at,
        "DescribeAppInstanceUserEndpointRequest",
        &DescribeAppInstanceUserEndpointRequest { app_instance_user_arn: user.to_string(), endpoint_id: e.endpoint_id.clone() },
    )?;
    let request = RegisterAppInstanceUserEndpointRequest {
        app_instance_user_arn: user.to_string(),
        name: e.name.clone(),
        r#type: e.r#type,
        resource_arn: e.resource_arn.clone(),
        endpoint_attributes: e.endpoint_attributes.clone(),
        client_request_token: CHECK_TOKEN.into(),
        allow_messages: Some(e.allow_messages),
    };
    check_shape(model, at, "RegisterAppInstanceUserEndpointRequest", &request)?;
    arn::check_pinpoint_app(ctx, &e.resource_arn).map_err(|err| fault(at, err.message))?;
    if e.r#type == AppInstanceUserEndpointType::Gcm && e.endpoint_attributes.voip_device_token.is_some() {
        return Err(fault(at, "VoipDeviceToken can be given only for APNS and APNS_SANDBOX endpoints"));
    }
    let state = e.endpoint_state;
    if state.status == EndpointStatus::Active && state.status_reason.is_some() {
        return Err(fault(at, "an ACTIVE EndpointState has no StatusReason"));
    }
    let (created_ms, updated_ms) = timestamps(at, e.created_timestamp, e.last_updated_timestamp)?;
    Ok(EndpointRecord {
        seq: 0,
        user_arn: user.to_string(),
        endpoint_id: e.endpoint_id,
        app_instance_arn: instance.to_string(),
        name: e.name,
        endpoint_type: e.r#type,
        resource_arn: e.resource_arn,
        device_token: e.endpoint_attributes.device_token,
        voip_device_token: e.endpoint_attributes.voip_device_token,
        allow_messages: e.allow_messages,
        status: state.status,
        status_reason: state.status_reason,
        created_ms,
        updated_ms,
    })
}

fn check_bot(
    model: &Model,
    at: &str,
    instance: &str,
    b: BotState,
    arns: &mut HashSet<String>,
) -> Result<(BotRecord, Vec<carillon_store::Tag>), ApiError> {
    let arn = b.app_instance_bot_arn;
    match arn::resource(&arn) {
        Some(Resource::Bot { app_instance_arn, .. }) if app_instance_arn == instance => {}
        _ => return Err(fault(at, format!("AppInstanceBotArn {:?} is not a bot ARN of its AppInstance", carillon_api::printable(&arn)))),
    }
    if !arns.insert(arn.clone()) {
        return Err(fault(at, format!("AppInstanceBotArn {arn} appears twice")));
    }
    check_shape(model, at, "DescribeAppInstanceBotRequest", &DescribeAppInstanceBotRequest { app_instance_bot_arn: arn.clone() })?;
    let request = CreateAppInstanceBotRequest {
        app_instance_arn: instance.to_string(),
        name: b.name.clone(),
        metadata: b.metadata.clone(),
        client_request_token: CHECK_TOKEN.into(),
        tags: (!b.tags.is_empty()).then(|| b.tags.clone()),
        configuration: b.configuration.clone(),
    };
    check_shape(model, at, "CreateAppInstanceBotRequest", &request)?;
    check_tag_list(at, &b.tags)?;
    let (created_ms, updated_ms) = timestamps(at, b.created_timestamp, b.last_updated_timestamp)?;
    let configuration = crate::bots::configuration_json(&b.configuration)?;
    let record = BotRecord {
        seq: 0,
        arn,
        app_instance_arn: instance.to_string(),
        name: b.name,
        metadata: b.metadata,
        configuration,
        created_ms,
        updated_ms,
    };
    Ok((record, store_tags(b.tags)))
}

/// Writes a plan. With `only_missing`, a resource that exists is left as it is (with its tags and,
/// for an endpoint, one whose device token the user already registered); else the store is
/// expected to be empty. Answers how many resources of each kind were written.
fn insert(tx: &mut dyn Tx, plan: &Plan, only_missing: bool) -> TxResult<Counts> {
    let mut n = Counts::default();
    for a in &plan.instances {
        let r = &a.record;
        if only_missing {
            lock(tx, OwnerLock::AccountRegion { account: &r.account, region: &r.region })?;
            lock(tx, OwnerLock::AppInstance(&r.arn))?;
        }
        if !only_missing || tx.get_app_instance(&r.arn)?.is_none() {
            tx.insert_app_instance(r)?;
            tx.put_tags(&r.arn, &r.arn, &a.tags)?;
            n.app_instances += 1;
        }
        for u in &a.users {
            if !only_missing || tx.get_user(&u.record.arn)?.is_none() {
                tx.insert_user(&u.record)?;
                tx.put_tags(&u.record.arn, &r.arn, &u.tags)?;
                n.users += 1;
            }
            for e in &u.endpoints {
                let exists = only_missing
                    && (tx.get_endpoint(&e.user_arn, &e.endpoint_id)?.is_some()
                        || tx.endpoint_with_device_token(&e.user_arn, &e.device_token)?.is_some());
                if !exists {
                    tx.insert_endpoint(e)?;
                    n.endpoints += 1;
                }
            }
        }
        for (b, tags) in &a.bots {
            if !only_missing || tx.get_bot(&b.arn)?.is_none() {
                tx.insert_bot(b)?;
                tx.put_tags(&b.arn, &r.arn, tags)?;
                n.bots += 1;
            }
        }
        for ad in &a.admins {
            if !only_missing || tx.get_admin(&ad.app_instance_arn, &ad.member_arn)?.is_none() {
                tx.insert_admin(ad)?;
                n.admins += 1;
            }
        }
        flows::insert(tx, &r.arn, &a.flows, only_missing, &mut n)?;
        for c in &a.channels {
            channels::insert(tx, c, only_missing, &mut n)?;
        }
    }
    Ok(n)
}
