//! The channels of a state document, each with its tags, memberships, moderators and messages
//! (`docs/behaviour.md`, "State and seeds"): their export, their checks and their insertion.
//!
//! Members and moderators must be users or bots of the channel's AppInstance that the document
//! holds; a creator, an inviter or a sender may be gone since, so only its form is checked (a user
//! or bot ARN of the same AppInstance).

use super::{CHECK_TOKEN, Counts, PAGE, all, check_shape, check_tag_list, fault, pages, store_tags, tags_of, timestamps};
use crate::arn::{self, Resource};
use crate::failure::TxResult;
use crate::messaging::{channels, messages, preferences};
use carillon_api::messaging::shapes::*;
use carillon_api::model::Model;
use carillon_api::shapes::Tag;
use carillon_api::{ApiError, Timestamp, printable};
use carillon_store::{Actor, ChannelExpiration, ChannelRecord, MembershipRecord, MessageQuery, MessageRecord, ModeratorRecord, Tx};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// A channel with everything the store keeps of it and in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ChannelState {
    pub channel_arn: String,
    pub name: String,
    pub mode: ChannelMode,
    pub privacy: ChannelPrivacy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    pub created_by: ActorState,
    pub created_timestamp: Timestamp,
    pub last_updated_timestamp: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message_timestamp: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_settings: Option<ExpirationSettings>,
    /// When the expiration settings make the sweep delete the channel; when absent, the time
    /// they give from the creation or the last message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_timestamp: Option<Timestamp>,
    /// The channel flow the channel is associated with, one of its AppInstance's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_flow_arn: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub memberships: Vec<MembershipState>,
    #[serde(default)]
    pub moderators: Vec<ModeratorState>,
    #[serde(default)]
    pub messages: Vec<MessageState>,
}

/// A user or bot as an operation saw it: the name is the one it had then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ActorState {
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MembershipState {
    pub member: ActorState,
    pub r#type: ChannelMembershipType,
    pub invited_by: ActorState,
    pub created_timestamp: Timestamp,
    pub last_updated_timestamp: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_marker_timestamp: Option<Timestamp>,
    /// Absent until the member's preferences were first Put.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferences: Option<ChannelMembershipPreferences>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ModeratorState {
    pub moderator: ActorState,
    pub created_by: ActorState,
    pub created_timestamp: Timestamp,
}

/// A stored message; a redacted one has no Content, Metadata, ContentType or MessageAttributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MessageState {
    pub message_id: String,
    pub r#type: ChannelMessageType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_attributes: Option<BTreeMap<String, MessageAttributeValue>>,
    pub sender: ActorState,
    pub created_timestamp: Timestamp,
    pub last_updated_timestamp: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_edited_timestamp: Option<Timestamp>,
    #[serde(default)]
    pub redacted: bool,
}

/// A checked channel, as the records the store takes, in the order they are inserted.
#[derive(Debug)]
pub(crate) struct PlannedChannel {
    pub(crate) record: ChannelRecord,
    /// The flow associated with it.
    pub(crate) flow: Option<String>,
    pub(crate) tags: Vec<carillon_store::Tag>,
    pub(crate) memberships: Vec<MembershipRecord>,
    pub(crate) moderators: Vec<ModeratorRecord>,
    pub(crate) messages: Vec<MessageRecord>,
}

fn internal(what: &str, e: serde_json::Error) -> ApiError {
    ApiError::internal("The service failed to process the request.").with_cause(format!("stored {what}: {e}"))
}

fn actor_state(a: Actor) -> ActorState {
    ActorState { arn: a.arn, name: a.name }
}

fn actor(a: ActorState) -> Actor {
    Actor { arn: a.arn, name: a.name }
}

/// The AppInstance's channels in creation order.
pub(super) fn export(tx: &mut dyn Tx, instance: &str) -> TxResult<Vec<ChannelState>> {
    let channels = all(|after| Ok(tx.list_channels(instance, None, after, PAGE)?), |c| c.seq)?;
    let mut out = Vec::with_capacity(channels.len());
    for c in channels {
        out.push(export_channel(tx, c)?);
    }
    Ok(out)
}

fn export_channel(tx: &mut dyn Tx, c: ChannelRecord) -> TxResult<ChannelState> {
    // No type: every membership, DEFAULT and HIDDEN, in creation order.
    let memberships = all(|after| Ok(tx.list_memberships(&c.arn, None, after, PAGE)?), |m| m.seq)?;
    let moderators = all(|after| Ok(tx.list_moderators(&c.arn, after, PAGE)?), |m| m.seq)?;
    // Ascending and unbounded: every message in the order ListChannelMessages gives them.
    let messages = pages(
        None,
        |after| {
            let q = MessageQuery { descending: false, after, not_before_ms: None, not_after_ms: None, limit: PAGE };
            Ok(tx.list_messages(&c.arn, &q)?)
        },
        |m| Some((m.created_ms, m.seq)),
    )?;
    let mut membership_states = Vec::with_capacity(memberships.len());
    for m in memberships {
        let preferences = match &m.preferences {
            Some(json) => Some(serde_json::from_str(json).map_err(|e| internal("membership preferences", e))?),
            None => None,
        };
        membership_states.push(MembershipState {
            member: actor_state(m.member),
            r#type: m.membership_type,
            invited_by: actor_state(m.invited_by),
            created_timestamp: Timestamp(m.created_ms),
            last_updated_timestamp: Timestamp(m.updated_ms),
            read_marker_timestamp: m.read_marker_ms.map(Timestamp),
            preferences,
        });
    }
    let mut message_states = Vec::with_capacity(messages.len());
    for m in messages {
        let message_attributes = match &m.message_attributes {
            Some(json) => Some(serde_json::from_str(json).map_err(|e| internal("message attributes", e))?),
            None => None,
        };
        message_states.push(MessageState {
            message_id: m.message_id,
            r#type: m.message_type,
            content: m.content,
            metadata: m.metadata,
            content_type: m.content_type,
            message_attributes,
            sender: actor_state(m.sender),
            created_timestamp: Timestamp(m.created_ms),
            last_updated_timestamp: Timestamp(m.updated_ms),
            last_edited_timestamp: m.edited_ms.map(Timestamp),
            redacted: m.redacted,
        });
    }
    Ok(ChannelState {
        tags: tags_of(tx, &c.arn)?,
        channel_flow_arn: tx.channel_flow_of(&c.arn)?,
        channel_arn: c.arn,
        name: c.name,
        mode: c.mode,
        privacy: c.privacy,
        metadata: c.metadata,
        created_by: actor_state(c.created_by),
        created_timestamp: Timestamp(c.created_ms),
        last_updated_timestamp: Timestamp(c.updated_ms),
        last_message_timestamp: c.last_message_ms.map(Timestamp),
        expiration_settings: c.expiration.map(|e| ExpirationSettings { expiration_days: e.days, expiration_criterion: e.criterion }),
        expiration_timestamp: c.expiration.map(|e| Timestamp(e.expires_at_ms)),
        memberships: membership_states,
        moderators: moderators
            .into_iter()
            .map(|m| ModeratorState {
                moderator: actor_state(m.moderator),
                created_by: actor_state(m.created_by),
                created_timestamp: Timestamp(m.created_ms),
            })
            .collect(),
        messages: message_states,
    })
}

/// A creator, inviter or sender: a user or bot ARN of the AppInstance (it may be gone since).
fn check_actor(at: &str, what: &str, instance: &str, a: &ActorState) -> Result<(), ApiError> {
    match arn::resource(&a.arn) {
        Some(Resource::User { app_instance_arn, .. } | Resource::Bot { app_instance_arn, .. }) if app_instance_arn == instance => Ok(()),
        _ => Err(fault(at, format!("{what} {:?} is not a user or bot ARN of this AppInstance", printable(&a.arn)))),
    }
}

/// A member or moderator: a user or bot of the AppInstance that the document holds.
fn check_member(at: &str, arn: &str, members: &HashSet<String>) -> Result<(), ApiError> {
    if members.contains(arn) { Ok(()) } else { Err(fault(at, format!("{} is not a user or bot of this AppInstance", printable(arn)))) }
}

fn not_negative(at: &str, what: &str, t: Option<Timestamp>) -> Result<Option<i64>, ApiError> {
    match t {
        Some(t) if t.0 < 0 => Err(fault(at, format!("{what} must not be negative"))),
        t => Ok(t.map(|t| t.0)),
    }
}

/// Checks a channel of the AppInstance `instance`, whose users and bots are `members`.
pub(super) fn check(
    model: &Model,
    at: &str,
    instance: &str,
    members: &HashSet<String>,
    flows: &HashSet<String>,
    c: ChannelState,
    arns: &mut HashSet<String>,
) -> Result<PlannedChannel, ApiError> {
    if let Some(flow) = c.channel_flow_arn.as_deref().filter(|f| !flows.contains(*f)) {
        return Err(fault(at, format!("ChannelFlowArn {:?} is no channel flow of this AppInstance", printable(flow))));
    }
    let arn = c.channel_arn;
    let channel_id = match arn::resource(&arn) {
        Some(Resource::Channel { app_instance_arn, channel_id }) if app_instance_arn == instance => channel_id,
        _ => return Err(fault(at, format!("ChannelArn {:?} is not a channel ARN of its AppInstance", printable(&arn)))),
    };
    if !arns.insert(arn.clone()) {
        return Err(fault(at, format!("ChannelArn {arn} appears twice")));
    }
    check_actor(at, "CreatedBy", instance, &c.created_by)?;
    let describe = DescribeChannelRequest { channel_arn: arn.clone(), chime_bearer: c.created_by.arn.clone() };
    check_shape(model, at, "DescribeChannelRequest", &describe)?;
    let request = CreateChannelRequest {
        app_instance_arn: instance.to_string(),
        name: c.name.clone(),
        mode: Some(c.mode),
        privacy: Some(c.privacy),
        metadata: c.metadata.clone(),
        client_request_token: CHECK_TOKEN.into(),
        tags: (!c.tags.is_empty())
            .then(|| c.tags.iter().map(|t| carillon_api::messaging::shapes::Tag { key: t.key.clone(), value: t.value.clone() }).collect()),
        chime_bearer: c.created_by.arn.clone(),
        channel_id: Some(channel_id),
        member_arns: None,
        moderator_arns: None,
        elastic_channel_configuration: None,
        expiration_settings: c.expiration_settings.clone(),
    };
    check_shape(model, at, "CreateChannelRequest", &request)?;
    check_tag_list(at, &c.tags)?;
    let (created_ms, updated_ms) = timestamps(at, c.created_timestamp, c.last_updated_timestamp)?;
    let last_message_ms = not_negative(at, "LastMessageTimestamp", c.last_message_timestamp)?;
    let expiration = match (&c.expiration_settings, c.expiration_timestamp) {
        (None, Some(_)) => return Err(fault(at, "ExpirationTimestamp is given only with ExpirationSettings")),
        (settings, expires) => channels::expiration(settings.as_ref(), created_ms, last_message_ms)
            .map(|e| ChannelExpiration { expires_at_ms: expires.map_or(e.expires_at_ms, |t| t.0), ..e }),
    };
    let mut memberships = Vec::with_capacity(c.memberships.len());
    let mut seen = HashSet::new();
    for (i, m) in c.memberships.into_iter().enumerate() {
        let at = format!("{at}.Memberships[{i}]");
        check_member(&at, &m.member.arn, members)?;
        if !seen.insert(m.member.arn.clone()) {
            return Err(fault(&at, format!("{} is a member of this channel twice", m.member.arn)));
        }
        memberships.push(check_membership(model, &at, instance, &arn, m)?);
    }
    let mut moderators = Vec::with_capacity(c.moderators.len());
    let mut seen = HashSet::new();
    for (i, m) in c.moderators.into_iter().enumerate() {
        let at = format!("{at}.Moderators[{i}]");
        check_member(&at, &m.moderator.arn, members)?;
        if !seen.insert(m.moderator.arn.clone()) {
            return Err(fault(&at, format!("{} is a moderator of this channel twice", m.moderator.arn)));
        }
        check_actor(&at, "CreatedBy", instance, &m.created_by)?;
        let request = CreateChannelModeratorRequest {
            channel_arn: arn.clone(),
            channel_moderator_arn: m.moderator.arn.clone(),
            chime_bearer: m.created_by.arn.clone(),
        };
        check_shape(model, &at, "CreateChannelModeratorRequest", &request)?;
        let created_ms = not_negative(&at, "CreatedTimestamp", Some(m.created_timestamp))?.unwrap_or_default();
        moderators.push(ModeratorRecord {
            seq: 0,
            channel_arn: arn.clone(),
            app_instance_arn: instance.to_string(),
            moderator: actor(m.moderator),
            created_by: actor(m.created_by),
            created_ms,
        });
    }
    let mut messages = Vec::with_capacity(c.messages.len());
    let mut ids = HashSet::new();
    let mut previous_ms = i64::MIN;
    for (i, m) in c.messages.into_iter().enumerate() {
        let at = format!("{at}.Messages[{i}]");
        if !ids.insert(m.message_id.clone()) {
            return Err(fault(&at, format!("MessageId {} appears twice in this channel", printable(&m.message_id))));
        }
        if m.created_timestamp.0 < previous_ms {
            return Err(fault(&at, "messages are listed by CreatedTimestamp, oldest first"));
        }
        previous_ms = m.created_timestamp.0;
        messages.push(check_message(model, &at, instance, &arn, m)?);
    }
    Ok(PlannedChannel {
        flow: c.channel_flow_arn,
        record: ChannelRecord {
            seq: 0,
            arn,
            app_instance_arn: instance.to_string(),
            name: c.name,
            mode: c.mode,
            privacy: c.privacy,
            metadata: c.metadata,
            created_by: actor(c.created_by),
            created_ms,
            updated_ms,
            last_message_ms,
            expiration,
        },
        tags: store_tags(c.tags),
        memberships,
        moderators,
        messages,
    })
}

fn check_membership(model: &Model, at: &str, instance: &str, channel: &str, m: MembershipState) -> Result<MembershipRecord, ApiError> {
    check_actor(at, "InvitedBy", instance, &m.invited_by)?;
    let request = CreateChannelMembershipRequest {
        channel_arn: channel.to_string(),
        member_arn: m.member.arn.clone(),
        r#type: m.r#type,
        chime_bearer: m.invited_by.arn.clone(),
        sub_channel_id: None,
    };
    check_shape(model, at, "CreateChannelMembershipRequest", &request)?;
    let (created_ms, updated_ms) = timestamps(at, m.created_timestamp, m.last_updated_timestamp)?;
    let read_marker_ms = not_negative(at, "ReadMarkerTimestamp", m.read_marker_timestamp)?;
    let preferences = match m.preferences {
        Some(p) => {
            let put = PutChannelMembershipPreferencesRequest {
                channel_arn: channel.to_string(),
                member_arn: m.member.arn.clone(),
                chime_bearer: m.member.arn.clone(),
                preferences: p,
            };
            check_shape(model, at, "PutChannelMembershipPreferencesRequest", &put)?;
            preferences::check(&put.preferences).map_err(|e| fault(at, e.message))?;
            Some(serde_json::to_string(&put.preferences).map_err(|e| fault(at, e))?)
        }
        None => None,
    };
    Ok(MembershipRecord {
        seq: 0,
        channel_arn: channel.to_string(),
        app_instance_arn: instance.to_string(),
        member: actor(m.member),
        membership_type: m.r#type,
        invited_by: actor(m.invited_by),
        created_ms,
        updated_ms,
        read_marker_ms,
        preferences,
    })
}

fn check_message(model: &Model, at: &str, instance: &str, channel: &str, m: MessageState) -> Result<MessageRecord, ApiError> {
    check_actor(at, "Sender", instance, &m.sender)?;
    let get = GetChannelMessageRequest {
        channel_arn: channel.to_string(),
        message_id: m.message_id.clone(),
        chime_bearer: m.sender.arn.clone(),
        sub_channel_id: None,
    };
    check_shape(model, at, "GetChannelMessageRequest", &get)?;
    if m.redacted {
        if m.content.is_some() || m.metadata.is_some() || m.content_type.is_some() || m.message_attributes.is_some() {
            return Err(fault(at, "a redacted message has no Content, Metadata, ContentType or MessageAttributes"));
        }
    } else {
        let Some(content) = &m.content else {
            return Err(fault(at, "Content is required unless the message is redacted"));
        };
        let send = SendChannelMessageRequest {
            channel_arn: channel.to_string(),
            content: content.clone(),
            r#type: m.r#type,
            persistence: ChannelMessagePersistenceType::Persistent,
            metadata: m.metadata.clone(),
            client_request_token: CHECK_TOKEN.into(),
            chime_bearer: m.sender.arn.clone(),
            push_notification: None,
            message_attributes: m.message_attributes.clone(),
            sub_channel_id: None,
            content_type: m.content_type.clone(),
            target: None,
        };
        check_shape(model, at, "SendChannelMessageRequest", &send)?;
        messages::check_sizes(m.r#type, content, m.metadata.as_deref(), m.message_attributes.is_some())
            .map_err(|e| fault(at, e.message))?;
        messages::check_attributes(m.message_attributes.as_ref()).map_err(|e| fault(at, e.message))?;
    }
    let (created_ms, updated_ms) = timestamps(at, m.created_timestamp, m.last_updated_timestamp)?;
    let edited_ms = not_negative(at, "LastEditedTimestamp", m.last_edited_timestamp)?;
    if edited_ms.is_some_and(|e| e < created_ms || e > updated_ms) {
        return Err(fault(at, "LastEditedTimestamp must lie between CreatedTimestamp and LastUpdatedTimestamp"));
    }
    let message_attributes = match &m.message_attributes {
        Some(a) => Some(serde_json::to_string(a).map_err(|e| fault(at, e))?),
        None => None,
    };
    Ok(MessageRecord {
        seq: 0,
        channel_arn: channel.to_string(),
        app_instance_arn: instance.to_string(),
        message_id: m.message_id,
        message_type: m.r#type,
        content: m.content,
        metadata: m.metadata,
        content_type: m.content_type,
        message_attributes,
        sender: actor(m.sender),
        created_ms,
        updated_ms,
        edited_ms,
        redacted: m.redacted,
    })
}

/// Writes a channel and what is in it (see `super::insert`), counting what it wrote in `n`.
pub(super) fn insert(tx: &mut dyn Tx, c: &PlannedChannel, only_missing: bool, n: &mut Counts) -> TxResult<()> {
    let r = &c.record;
    if !only_missing || tx.get_channel(&r.arn)?.is_none() {
        tx.insert_channel(r)?;
        if let Some(flow) = &c.flow {
            tx.set_channel_flow(&r.arn, Some(flow))?;
        }
        tx.put_tags(&r.arn, &r.app_instance_arn, &c.tags)?;
        n.channels += 1;
    }
    for m in &c.memberships {
        if !only_missing || tx.get_membership(&m.channel_arn, &m.member.arn)?.is_none() {
            tx.insert_membership(m)?;
            n.memberships += 1;
        }
    }
    for m in &c.moderators {
        if !only_missing || tx.get_moderator(&m.channel_arn, &m.moderator.arn)?.is_none() {
            tx.insert_moderator(m)?;
            n.moderators += 1;
        }
    }
    for m in &c.messages {
        if !only_missing || tx.get_message(&m.channel_arn, &m.message_id)?.is_none() {
            tx.insert_message(m)?;
            n.messages += 1;
        }
    }
    Ok(())
}
