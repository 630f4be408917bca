//! Channels: create (with its first members and moderators), describe, update, delete, list, and
//! their expiration settings (`docs/behaviour.md`, "Messaging").

use super::access::{self, Action, Roles, Subject};
use super::identity;
use crate::failure::TxResult;
use crate::pagination::list_page;
use crate::service::{OwnerLock, Service, lock};
use crate::{arn, idempotency, tags};
use carillon_api::messaging::Operation;
use carillon_api::messaging::shapes::*;
use carillon_api::{ApiError, RequestContext, Timestamp};
use carillon_store::{Actor, ChannelExpiration, ChannelRecord, ChannelUpdate, MembershipRecord, ModeratorRecord, Tx};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// The most `MemberArns` or `ModeratorArns` a CreateChannel names.
const INITIAL_MAX: usize = 10;

/// The stored expiration of `settings` for a channel created at `created_ms` whose last message
/// was at `last_message_ms`.
pub(crate) fn expiration(
    settings: Option<&ExpirationSettings>,
    created_ms: i64,
    last_message_ms: Option<i64>,
) -> Option<ChannelExpiration> {
    let s = settings?;
    let base = match s.expiration_criterion {
        ExpirationCriterion::CreatedTimestamp => created_ms,
        ExpirationCriterion::LastMessageTimestamp => last_message_ms.unwrap_or(created_ms),
    };
    Some(ChannelExpiration {
        days: s.expiration_days,
        criterion: s.expiration_criterion,
        expires_at_ms: base.saturating_add(i64::from(s.expiration_days).saturating_mul(DAY_MS)),
    })
}

fn settings_of(e: &ChannelExpiration) -> ExpirationSettings {
    ExpirationSettings { expiration_days: e.days, expiration_criterion: e.criterion }
}

pub(crate) fn summary(c: ChannelRecord) -> ChannelSummary {
    ChannelSummary {
        name: Some(c.name),
        channel_arn: Some(c.arn),
        mode: Some(c.mode),
        privacy: Some(c.privacy),
        metadata: c.metadata,
        last_message_timestamp: c.last_message_ms.map(Timestamp),
    }
}

/// The names each ARN list gives, once each, in order, without `skip`.
fn unique<'a>(arns: Option<&'a [String]>, skip: &str) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for a in arns.unwrap_or_default() {
        if a != skip && !out.contains(&a.as_str()) {
            out.push(a);
        }
    }
    out
}

pub async fn create(svc: &Service, ctx: &RequestContext, input: CreateChannelRequest) -> Result<CreateChannelResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    for a in input.member_arns.iter().chain(&input.moderator_arns).flatten() {
        arn::check_owner(ctx, a)?;
    }
    tags::check_tags(input.tags.as_deref().map(super::tagging::to_identity).as_deref())?;
    for (list, member) in [(&input.member_arns, "memberArns"), (&input.moderator_arns, "moderatorArns")] {
        if list.as_ref().is_some_and(|l| l.len() > INITIAL_MAX) {
            return Err(ApiError::bad_request(format!(
                "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to {INITIAL_MAX}"
            )));
        }
    }
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    const OP: Operation = Operation::CreateChannel;
    let key = idempotency::key(ctx, OP, &input.client_request_token);
    let fp = idempotency::fingerprint(OP, &input);
    let tag_records = tags::to_records(input.tags.as_deref().map(super::tagging::to_identity).as_deref());
    let channel_id = input.channel_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let quota = svc.quotas.clone();
    let now = svc.clock.now_ms();
    svc.write(move |tx| {
        lock(tx, OwnerLock::AppInstance(&input.app_instance_arn))?;
        let creator = access::bearer(tx, &input.chime_bearer, Some(&input.app_instance_arn))?;
        let replayed = idempotency::replay(tx, &key, &fp, |tx, a: &CreateChannelResponse| {
            Ok(tx.get_channel(a.channel_arn.as_deref().unwrap_or_default())?.is_some())
        })?;
        if let Some(answer) = replayed {
            return Ok(answer);
        }
        let roles = Roles::in_app_instance(tx, &input.app_instance_arn, &creator.arn)?;
        access::allow(Action::CreateChannel, roles, Subject { channel: None, own: None })?;
        if input.elastic_channel_configuration.is_some() {
            return Err(ApiError::not_implemented("ElasticChannelConfiguration").into());
        }
        let members = resolve(tx, unique(input.member_arns.as_deref(), &creator.arn), &input.app_instance_arn)?;
        let moderators = resolve(tx, unique(input.moderator_arns.as_deref(), &creator.arn), &input.app_instance_arn)?;
        let channel_arn = arn::channel_arn(&input.app_instance_arn, &channel_id);
        lock(tx, OwnerLock::Channel(&channel_arn))?;
        if tx.get_channel(&channel_arn)?.is_some() {
            return Err(ApiError::conflict(format!("The channel {channel_arn} already exists.")).into());
        }
        if tx.count_channels(&input.app_instance_arn)? >= quota.channels_per_app_instance {
            return Err(
                ApiError::limit_exceeded(format!("An AppInstance can have at most {} channels.", quota.channels_per_app_instance)).into()
            );
        }
        tx.insert_channel(&ChannelRecord {
            seq: 0,
            arn: channel_arn.clone(),
            app_instance_arn: input.app_instance_arn.clone(),
            name: input.name.clone(),
            mode: input.mode.unwrap_or(ChannelMode::Unrestricted),
            privacy: input.privacy.unwrap_or(ChannelPrivacy::Public),
            metadata: input.metadata.clone(),
            created_by: creator.clone(),
            created_ms: now,
            updated_ms: now,
            last_message_ms: None,
            expiration: expiration(input.expiration_settings.as_ref(), now, None),
        })?;
        // The creator is a DEFAULT member and a moderator; MemberArns become members, and
        // ModeratorArns moderators only.
        for member in std::iter::once(&creator).chain(&members) {
            add_member(tx, &channel_arn, &input.app_instance_arn, member, ChannelMembershipType::Default, &creator, now, &quota)?;
        }
        for moderator in std::iter::once(&creator).chain(&moderators) {
            if tx.count_moderators(&channel_arn)? >= quota.moderators_per_channel {
                return Err(
                    ApiError::limit_exceeded(format!("A channel can have at most {} moderators.", quota.moderators_per_channel)).into()
                );
            }
            tx.insert_moderator(&ModeratorRecord {
                seq: 0,
                channel_arn: channel_arn.clone(),
                app_instance_arn: input.app_instance_arn.clone(),
                moderator: moderator.clone(),
                created_by: creator.clone(),
                created_ms: now,
            })?;
        }
        tags::put(tx, &channel_arn, &input.app_instance_arn, &tag_records, quota.tags_per_resource)?;
        let answer = CreateChannelResponse { channel_arn: Some(channel_arn.clone()) };
        idempotency::remember(tx, &key, &fp, &channel_arn, &input.app_instance_arn, &answer, now)?;
        Ok(answer)
    })
    .await
}

fn resolve(tx: &mut dyn Tx, arns: Vec<&str>, app_instance_arn: &str) -> TxResult<Vec<Actor>> {
    arns.into_iter().map(|a| access::member(tx, a, app_instance_arn)).collect()
}

/// Adds `member` to the channel within both membership quotas (the caller holds the AppInstance's
/// lock, under which every membership of its users and bots is added).
#[allow(clippy::too_many_arguments)]
pub(crate) fn add_member(
    tx: &mut dyn Tx,
    channel_arn: &str,
    app_instance_arn: &str,
    member: &Actor,
    membership_type: ChannelMembershipType,
    invited_by: &Actor,
    now: i64,
    quota: &crate::Quotas,
) -> TxResult<()> {
    if tx.count_memberships(channel_arn)? >= quota.memberships_per_channel {
        return Err(ApiError::limit_exceeded(format!("A channel can have at most {} members.", quota.memberships_per_channel)).into());
    }
    if tx.count_member_channels(&member.arn)? >= quota.memberships_per_user {
        return Err(ApiError::limit_exceeded(format!(
            "{} is already a member of {} channels, the most there can be.",
            member.arn, quota.memberships_per_user
        ))
        .into());
    }
    tx.insert_membership(&MembershipRecord {
        seq: 0,
        channel_arn: channel_arn.into(),
        app_instance_arn: app_instance_arn.into(),
        member: member.clone(),
        membership_type,
        invited_by: invited_by.clone(),
        created_ms: now,
        updated_ms: now,
        read_marker_ms: None,
        preferences: None,
    })?;
    Ok(())
}

pub async fn describe(svc: &Service, ctx: &RequestContext, input: DescribeChannelRequest) -> Result<DescribeChannelResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let (c, flow_arn) = svc
        .read(move |tx| {
            let (_, channel, roles) = access::enter(tx, &input.chime_bearer, &input.channel_arn)?;
            access::allow(Action::DescribeChannel, roles, Subject { channel: Some(&channel), own: None })?;
            let flow_arn = tx.channel_flow_of(&channel.arn)?;
            Ok((channel, flow_arn))
        })
        .await?;
    Ok(DescribeChannelResponse {
        channel: Some(Channel {
            name: Some(c.name),
            channel_arn: Some(c.arn),
            mode: Some(c.mode),
            privacy: Some(c.privacy),
            metadata: c.metadata,
            created_by: Some(identity(&c.created_by)),
            created_timestamp: Some(Timestamp(c.created_ms)),
            last_message_timestamp: c.last_message_ms.map(Timestamp),
            last_updated_timestamp: Some(Timestamp(c.updated_ms)),
            channel_flow_arn: flow_arn,
            elastic_channel_configuration: None,
            expiration_settings: c.expiration.as_ref().map(settings_of),
        }),
    })
}

pub async fn update(svc: &Service, ctx: &RequestContext, input: UpdateChannelRequest) -> Result<UpdateChannelResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let now = svc.clock.now_ms();
    svc.write(move |tx| {
        lock(tx, OwnerLock::Channel(&input.channel_arn))?;
        let (_, channel, roles) = access::enter(tx, &input.chime_bearer, &input.channel_arn)?;
        access::allow(Action::ManageChannel, roles, Subject { channel: Some(&channel), own: None })?;
        // The members present change; LastUpdatedTimestamp moves on every success.
        let update = ChannelUpdate {
            name: input.name.clone(),
            mode: input.mode,
            metadata: input.metadata.clone().map(Some),
            touched_ms: Some(now),
            ..ChannelUpdate::default()
        };
        tx.update_channel(&channel.arn, &update)?;
        Ok(UpdateChannelResponse { channel_arn: Some(channel.arn) })
    })
    .await
}

pub async fn delete(svc: &Service, ctx: &RequestContext, input: DeleteChannelRequest) -> Result<(), ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    svc.write(move |tx| {
        lock(tx, OwnerLock::Channel(&input.channel_arn))?;
        let (_, channel, roles) = access::enter(tx, &input.chime_bearer, &input.channel_arn)?;
        access::allow(Action::ManageChannel, roles, Subject { channel: Some(&channel), own: None })?;
        tx.delete_channel(&channel.arn)?;
        Ok(())
    })
    .await
}

pub async fn list(svc: &Service, ctx: &RequestContext, input: ListChannelsRequest) -> Result<ListChannelsResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let privacy = input.privacy.unwrap_or(ChannelPrivacy::Public);
    let action = match privacy {
        ChannelPrivacy::Public => Action::ListPublicChannels,
        ChannelPrivacy::Private => Action::ListPrivateChannels,
    };
    let (instance, bearer) = (input.app_instance_arn.clone(), input.chime_bearer.clone());
    let scope = format!("{}|{}", input.app_instance_arn, privacy.as_str());
    let (rows, next_token) =
        list_page(svc, ctx, Operation::ListChannels.name(), &scope, input.next_token.as_deref(), input.max_results, move |tx, after, n| {
            let actor = access::bearer(tx, &bearer, Some(&instance))?;
            let roles = Roles::in_app_instance(tx, &instance, &actor.arn)?;
            access::allow(action, roles, Subject { channel: None, own: None })?;
            Ok(tx.list_channels(&instance, Some(privacy), after, n)?)
        })
        .await?;
    Ok(ListChannelsResponse { channels: Some(rows.into_iter().map(summary).collect()), next_token })
}

pub async fn put_expiration(
    svc: &Service,
    ctx: &RequestContext,
    input: PutChannelExpirationSettingsRequest,
) -> Result<PutChannelExpirationSettingsResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    if let Some(bearer) = &input.chime_bearer {
        access::check_bearer_form(ctx, bearer)?;
    }
    let now = svc.clock.now_ms();
    svc.write(move |tx| {
        lock(tx, OwnerLock::Channel(&input.channel_arn))?;
        // Without a bearer the call is the account's own and skips the matrix.
        let channel = match &input.chime_bearer {
            Some(bearer) => {
                let (_, channel, roles) = access::enter(tx, bearer, &input.channel_arn)?;
                access::allow(Action::ManageChannel, roles, Subject { channel: Some(&channel), own: None })?;
                channel
            }
            None => access::channel(tx, &input.channel_arn)?,
        };
        let settings = input.expiration_settings.as_ref();
        let update = ChannelUpdate {
            expiration: Some(expiration(settings, channel.created_ms, channel.last_message_ms)),
            touched_ms: Some(now),
            ..ChannelUpdate::default()
        };
        tx.update_channel(&channel.arn, &update)?;
        Ok(PutChannelExpirationSettingsResponse { channel_arn: Some(channel.arn), expiration_settings: settings.cloned() })
    })
    .await
}

/// Deletes the channels whose expiry has passed, as DeleteChannel does, a batch per transaction,
/// each checked again inside the transaction that deletes it (new settings may have moved it).
pub async fn sweep_expired(svc: &Service) -> Result<usize, ApiError> {
    const BATCH: usize = 100;
    let mut deleted = 0;
    loop {
        let now = svc.clock.now_ms();
        let arns = svc.read(move |tx| Ok(tx.expired_channels(now, BATCH)?)).await?;
        if arns.is_empty() {
            return Ok(deleted);
        }
        let n = arns.len();
        deleted += svc
            .write(move |tx| {
                let mut count = 0;
                for arn in &arns {
                    lock(tx, OwnerLock::Channel(arn))?;
                    let expired = tx.get_channel(arn)?.and_then(|c| c.expiration).is_some_and(|e| e.expires_at_ms <= now);
                    if expired && tx.delete_channel(arn)? {
                        count += 1;
                    }
                }
                Ok(count)
            })
            .await?;
        if n < BATCH {
            return Ok(deleted);
        }
    }
}
