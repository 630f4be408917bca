//! Channel messages: send, get, update, redact, delete, list (`docs/behaviour.md`, "Messaging").
//! NON_PERSISTENT messages are never stored.

use super::access::{self, Action, Subject};
use super::push::{self, Push};
use super::{identity, no_sub_channel, retention};
use crate::failure::TxResult;
use crate::pagination::list_page;
use crate::service::{OwnerLock, Service, lock};
use crate::{arn, idempotency};
use carillon_api::messaging::Operation;
use carillon_api::messaging::shapes::*;
use carillon_api::{ApiError, RequestContext, Timestamp};
use carillon_store::{ChannelExpirationCriterion, ChannelRecord, ChannelUpdate, MessageQuery, MessageRecord, MessageUpdate, Tx};
use std::collections::BTreeMap;

const STANDARD_CONTENT_BYTES: usize = 4096;
const CONTROL_CONTENT_BYTES: usize = 30;
const METADATA_CHARS: usize = 1024;
const ATTRIBUTES_BYTES: usize = 1024;

pub(crate) type Attributes = BTreeMap<String, MessageAttributeValue>;

fn internal() -> ApiError {
    ApiError::internal("The service failed to process the request.")
}

fn missing(channel_arn: &str, message_id: &str) -> ApiError {
    ApiError::not_found(format!("The message {message_id} does not exist in the channel {channel_arn}."))
}

/// A new MessageId: 64 lowercase hex characters.
fn new_message_id() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// The size limits of a message of `message_type`: Content in UTF-8 bytes, Metadata in
/// characters; a CONTROL message carries no Metadata (not even ""), attributes or push.
pub(crate) fn check_sizes(message_type: ChannelMessageType, content: &str, metadata: Option<&str>, extras: bool) -> Result<(), ApiError> {
    match message_type {
        ChannelMessageType::Standard => {
            if content.len() > STANDARD_CONTENT_BYTES {
                return Err(ApiError::bad_request(format!("A STANDARD message's Content is at most {STANDARD_CONTENT_BYTES} bytes.")));
            }
            if metadata.is_some_and(|m| m.chars().count() > METADATA_CHARS) {
                return Err(ApiError::bad_request(format!("A message's Metadata is at most {METADATA_CHARS} characters.")));
            }
        }
        ChannelMessageType::Control => {
            if content.len() > CONTROL_CONTENT_BYTES {
                return Err(ApiError::bad_request(format!("A CONTROL message's Content is at most {CONTROL_CONTENT_BYTES} bytes.")));
            }
            if metadata.is_some() || extras {
                return Err(ApiError::bad_request("A CONTROL message has no Metadata, MessageAttributes or PushNotification."));
            }
        }
    }
    Ok(())
}

/// Keys of 1-64 and values of 1-512 characters, every key and value together at most 1,024
/// UTF-8 bytes.
pub(crate) fn check_attributes(attributes: Option<&Attributes>) -> Result<(), ApiError> {
    let mut total = 0;
    for (key, value) in attributes.into_iter().flatten() {
        let values = value.string_values.as_deref().unwrap_or_default();
        if !(1..=64).contains(&key.chars().count()) || values.iter().any(|v| !(1..=512).contains(&v.chars().count())) {
            return Err(ApiError::bad_request("A MessageAttributes key has 1-64 characters and each value 1-512."));
        }
        total += key.len() + values.iter().map(String::len).sum::<usize>();
    }
    if total > ATTRIBUTES_BYTES {
        return Err(ApiError::bad_request(format!("MessageAttributes hold at most {ATTRIBUTES_BYTES} bytes of keys and values.")));
    }
    Ok(())
}

/// The message a request addresses: 404 when there is none or retention hides it.
fn find(tx: &mut dyn Tx, channel: &ChannelRecord, message_id: &str, now: i64) -> TxResult<MessageRecord> {
    let cutoff = retention::cutoff(tx, &channel.app_instance_arn, now)?;
    match tx.get_message(&channel.arn, message_id)? {
        Some(m) if cutoff.is_none_or(|c| m.created_ms >= c) => Ok(m),
        _ => Err(missing(&channel.arn, message_id).into()),
    }
}

fn sent() -> ChannelMessageStatusStructure {
    ChannelMessageStatusStructure { value: Some(ChannelMessageStatus::Sent), detail: None }
}

fn attributes_of(m: &MessageRecord) -> Option<Attributes> {
    m.message_attributes.as_deref().and_then(|json| serde_json::from_str(json).ok())
}

fn message(m: MessageRecord) -> ChannelMessage {
    let message_attributes = attributes_of(&m);
    ChannelMessage {
        channel_arn: Some(m.channel_arn),
        message_id: Some(m.message_id),
        content: m.content,
        metadata: m.metadata,
        r#type: Some(m.message_type),
        created_timestamp: Some(Timestamp(m.created_ms)),
        last_edited_timestamp: m.edited_ms.map(Timestamp),
        last_updated_timestamp: Some(Timestamp(m.updated_ms)),
        sender: Some(identity(&m.sender)),
        redacted: Some(m.redacted),
        persistence: Some(ChannelMessagePersistenceType::Persistent),
        status: Some(sent()),
        message_attributes,
        sub_channel_id: None,
        content_type: m.content_type,
        target: None,
    }
}

fn summary(m: MessageRecord) -> ChannelMessageSummary {
    let message_attributes = attributes_of(&m);
    ChannelMessageSummary {
        message_id: Some(m.message_id),
        content: m.content,
        metadata: m.metadata,
        r#type: Some(m.message_type),
        created_timestamp: Some(Timestamp(m.created_ms)),
        last_updated_timestamp: Some(Timestamp(m.updated_ms)),
        last_edited_timestamp: m.edited_ms.map(Timestamp),
        sender: Some(identity(&m.sender)),
        redacted: Some(m.redacted),
        status: Some(sent()),
        message_attributes,
        content_type: m.content_type,
        target: None,
    }
}

pub async fn send(svc: &Service, ctx: &RequestContext, input: SendChannelMessageRequest) -> Result<SendChannelMessageResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    no_sub_channel(input.sub_channel_id.as_ref())?;
    let extras = input.message_attributes.is_some() || input.push_notification.is_some();
    check_sizes(input.r#type, &input.content, input.metadata.as_deref(), extras)?;
    check_attributes(input.message_attributes.as_ref())?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    const OP: Operation = Operation::SendChannelMessage;
    let key = idempotency::key(ctx, OP, &input.client_request_token);
    let fp = idempotency::fingerprint(OP, &input);
    let attributes = match &input.message_attributes {
        Some(a) => Some(serde_json::to_string(a).map_err(|_| internal())?),
        None => None,
    };
    let now = svc.clock.now_ms();
    let outbox_limit = svc.quotas.push_outbox_limit;
    svc.write(move |tx| {
        lock(tx, OwnerLock::Channel(&input.channel_arn))?;
        let (actor, channel, roles) = access::enter(tx, &input.chime_bearer, &input.channel_arn)?;
        access::allow(Action::SendMessage, roles, Subject { channel: Some(&channel), own: None })?;
        if input.target.is_some() {
            return Err(ApiError::not_implemented("Target").into());
        }
        // A replay answers the first send's answer, even when that message has gone since.
        if let Some(answer) = idempotency::replay(tx, &key, &fp, |_, _: &SendChannelMessageResponse| Ok(true))? {
            return Ok(answer);
        }
        let message_id = new_message_id();
        if input.persistence == ChannelMessagePersistenceType::Persistent {
            tx.insert_message(&MessageRecord {
                seq: 0,
                channel_arn: channel.arn.clone(),
                app_instance_arn: channel.app_instance_arn.clone(),
                message_id: message_id.clone(),
                message_type: input.r#type,
                content: Some(input.content.clone()),
                metadata: input.metadata.clone(),
                content_type: input.content_type.clone(),
                message_attributes: attributes.clone(),
                sender: actor.clone(),
                created_ms: now,
                updated_ms: now,
                edited_ms: None,
                redacted: false,
            })?;
            // LAST_MESSAGE_TIMESTAMP expiration counts from the channel's LastMessageTimestamp,
            // which this send moves, never back (the service clock may have been set back).
            let last_message_ms = channel.last_message_ms.map_or(now, |last| last.max(now));
            let expiration = channel.expiration.filter(|e| e.criterion == ChannelExpirationCriterion::LastMessageTimestamp).map(|e| {
                super::channels::expiration(
                    Some(&ExpirationSettings { expiration_days: e.days, expiration_criterion: e.criterion }),
                    channel.created_ms,
                    Some(last_message_ms),
                )
            });
            let update = ChannelUpdate { last_message_ms: Some(now), expiration, ..ChannelUpdate::default() };
            tx.update_channel(&channel.arn, &update)?;
            // The push decision is durable with the message, and a replay (answered above) makes none.
            if let Some(config) = &input.push_notification {
                let p = Push {
                    channel: &channel,
                    message_id: &message_id,
                    sender_arn: &actor.arn,
                    config,
                    attributes: input.message_attributes.as_ref(),
                    now_ms: now,
                };
                push::decide(tx, &p, outbox_limit)?;
            }
        }
        let answer = SendChannelMessageResponse {
            channel_arn: Some(channel.arn.clone()),
            message_id: Some(message_id),
            status: Some(sent()),
            sub_channel_id: None,
        };
        idempotency::remember(tx, &key, &fp, &channel.arn, &channel.app_instance_arn, &answer, now)?;
        Ok(answer)
    })
    .await
}

pub async fn get(svc: &Service, ctx: &RequestContext, input: GetChannelMessageRequest) -> Result<GetChannelMessageResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    no_sub_channel(input.sub_channel_id.as_ref())?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let now = svc.clock.now_ms();
    let m = svc
        .read(move |tx| {
            let (_, channel, roles) = access::enter(tx, &input.chime_bearer, &input.channel_arn)?;
            access::allow(Action::ReadMessages, roles, Subject { channel: Some(&channel), own: None })?;
            find(tx, &channel, &input.message_id, now)
        })
        .await?;
    Ok(GetChannelMessageResponse { channel_message: Some(message(m)) })
}

pub async fn update(
    svc: &Service,
    ctx: &RequestContext,
    input: UpdateChannelMessageRequest,
) -> Result<UpdateChannelMessageResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    no_sub_channel(input.sub_channel_id.as_ref())?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let now = svc.clock.now_ms();
    svc.write(move |tx| {
        lock(tx, OwnerLock::Channel(&input.channel_arn))?;
        let (actor, channel, roles) = access::enter(tx, &input.chime_bearer, &input.channel_arn)?;
        access::allow(Action::UpdateMessage, roles, Subject { channel: Some(&channel), own: None })?;
        let m = find(tx, &channel, &input.message_id, now)?;
        access::allow(Action::UpdateMessage, roles, Subject { channel: Some(&channel), own: Some(m.sender.arn == actor.arn) })?;
        if m.redacted {
            return Err(ApiError::conflict(format!("The message {} is redacted.", m.message_id)).into());
        }
        check_sizes(m.message_type, &input.content, input.metadata.as_deref(), false)?;
        // An absent Metadata or ContentType is kept.
        let update = MessageUpdate {
            content: Some(input.content.clone()),
            metadata: input.metadata.clone(),
            content_type: input.content_type.clone(),
            edited_ms: Some(now),
            redact: false,
            touched_ms: Some(now),
        };
        tx.update_message(&channel.arn, &m.message_id, &update)?;
        Ok(UpdateChannelMessageResponse {
            channel_arn: Some(channel.arn),
            message_id: Some(m.message_id),
            status: Some(sent()),
            sub_channel_id: None,
        })
    })
    .await
}

pub async fn redact(
    svc: &Service,
    ctx: &RequestContext,
    input: RedactChannelMessageRequest,
) -> Result<RedactChannelMessageResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    no_sub_channel(input.sub_channel_id.as_ref())?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let now = svc.clock.now_ms();
    svc.write(move |tx| {
        lock(tx, OwnerLock::Channel(&input.channel_arn))?;
        let (actor, channel, roles) = access::enter(tx, &input.chime_bearer, &input.channel_arn)?;
        access::allow(Action::RedactMessage, roles, Subject { channel: Some(&channel), own: None })?;
        let m = find(tx, &channel, &input.message_id, now)?;
        access::allow(Action::RedactMessage, roles, Subject { channel: Some(&channel), own: Some(m.sender.arn == actor.arn) })?;
        // Redacting again changes nothing.
        if !m.redacted {
            let update = MessageUpdate { redact: true, touched_ms: Some(now), ..MessageUpdate::default() };
            tx.update_message(&channel.arn, &m.message_id, &update)?;
        }
        Ok(RedactChannelMessageResponse { channel_arn: Some(channel.arn), message_id: Some(m.message_id), sub_channel_id: None })
    })
    .await
}

pub async fn delete(svc: &Service, ctx: &RequestContext, input: DeleteChannelMessageRequest) -> Result<(), ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    no_sub_channel(input.sub_channel_id.as_ref())?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let now = svc.clock.now_ms();
    svc.write(move |tx| {
        lock(tx, OwnerLock::Channel(&input.channel_arn))?;
        let (_, channel, roles) = access::enter(tx, &input.chime_bearer, &input.channel_arn)?;
        access::allow(Action::DeleteMessage, roles, Subject { channel: Some(&channel), own: None })?;
        // A message retention hides is not there for Delete either: it shows again if the
        // retention is raised or removed before the sweep deletes it.
        let m = find(tx, &channel, &input.message_id, now)?;
        if tx.delete_message(&channel.arn, &m.message_id)? { Ok(()) } else { Err(missing(&channel.arn, &m.message_id).into()) }
    })
    .await
}

pub async fn list(svc: &Service, ctx: &RequestContext, input: ListChannelMessagesRequest) -> Result<ListChannelMessagesResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    no_sub_channel(input.sub_channel_id.as_ref())?;
    let (not_before, not_after) = (input.not_before.map(|t| t.0), input.not_after.map(|t| t.0));
    if let (Some(b), Some(a)) = (not_before, not_after)
        && b > a
    {
        return Err(ApiError::bad_request("NotBefore is later than NotAfter."));
    }
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let descending = input.sort_order.unwrap_or(SortOrder::Descending) == SortOrder::Descending;
    // A token continues only the list it was made for: the same order and bounds.
    let scope = format!("{}|{descending}|{not_before:?}|{not_after:?}", input.channel_arn);
    let (channel_arn, bearer) = (input.channel_arn.clone(), input.chime_bearer.clone());
    let now = svc.clock.now_ms();
    let (rows, next_token) = list_page(
        svc,
        ctx,
        Operation::ListChannelMessages.name(),
        &scope,
        input.next_token.as_deref(),
        input.max_results,
        move |tx, after, n| {
            let (_, channel, roles) = access::enter(tx, &bearer, &channel_arn)?;
            access::allow(Action::ReadMessages, roles, Subject { channel: Some(&channel), own: None })?;
            // Retention hides what was created before its cutoff.
            let cutoff = retention::cutoff(tx, &channel.app_instance_arn, now)?;
            let not_before_ms = match (not_before, cutoff) {
                (Some(b), Some(c)) => Some(b.max(c)),
                (b, c) => b.or(c),
            };
            let q = MessageQuery { descending, after, not_before_ms, not_after_ms: not_after, limit: n };
            Ok(tx.list_messages(&channel.arn, &q)?)
        },
    )
    .await?;
    Ok(ListChannelMessagesResponse {
        channel_arn: Some(input.channel_arn),
        next_token,
        channel_messages: Some(rows.into_iter().map(summary).collect()),
        sub_channel_id: None,
    })
}
