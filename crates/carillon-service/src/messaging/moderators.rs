//! Channel moderators: a role independent of membership (`docs/behaviour.md`, "Messaging").

use super::access::{self, Action, Subject};
use super::identity;
use crate::arn;
use crate::pagination::list_page;
use crate::service::{OwnerLock, Service, lock};
use carillon_api::messaging::Operation;
use carillon_api::messaging::shapes::*;
use carillon_api::{ApiError, RequestContext, Timestamp};
use carillon_store::ModeratorRecord;

fn missing(channel_arn: &str, moderator_arn: &str) -> ApiError {
    ApiError::not_found(format!("{moderator_arn} is not a moderator of the channel {channel_arn}."))
}

pub async fn create(
    svc: &Service,
    ctx: &RequestContext,
    input: CreateChannelModeratorRequest,
) -> Result<CreateChannelModeratorResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    arn::check_owner(ctx, &input.channel_moderator_arn)?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let quota = svc.quotas.moderators_per_channel;
    let now = svc.clock.now_ms();
    svc.write(move |tx| {
        lock(tx, OwnerLock::AppInstanceOf(&input.channel_arn))?;
        lock(tx, OwnerLock::Channel(&input.channel_arn))?;
        let (actor, channel, roles) = access::enter(tx, &input.chime_bearer, &input.channel_arn)?;
        access::allow(Action::ManageModerators, roles, Subject { channel: Some(&channel), own: None })?;
        let moderator = access::member(tx, &input.channel_moderator_arn, &channel.app_instance_arn)?;
        if tx.get_moderator(&channel.arn, &moderator.arn)?.is_some() {
            return Err(ApiError::conflict(format!("{} is already a moderator of the channel {}.", moderator.arn, channel.arn)).into());
        }
        if tx.count_moderators(&channel.arn)? >= quota {
            return Err(ApiError::limit_exceeded(format!("A channel can have at most {quota} moderators.")).into());
        }
        tx.insert_moderator(&ModeratorRecord {
            seq: 0,
            channel_arn: channel.arn.clone(),
            app_instance_arn: channel.app_instance_arn.clone(),
            moderator: moderator.clone(),
            created_by: actor,
            created_ms: now,
        })?;
        Ok(CreateChannelModeratorResponse { channel_arn: Some(channel.arn), channel_moderator: Some(identity(&moderator)) })
    })
    .await
}

pub async fn describe(
    svc: &Service,
    ctx: &RequestContext,
    input: DescribeChannelModeratorRequest,
) -> Result<DescribeChannelModeratorResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    arn::check_owner(ctx, &input.channel_moderator_arn)?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let m = svc
        .read(move |tx| {
            let (_, channel, roles) = access::enter(tx, &input.chime_bearer, &input.channel_arn)?;
            access::allow(Action::ReadModerators, roles, Subject { channel: Some(&channel), own: None })?;
            access::check_member_form(&input.channel_moderator_arn, &channel.app_instance_arn)?;
            tx.get_moderator(&channel.arn, &input.channel_moderator_arn)?
                .ok_or_else(|| missing(&channel.arn, &input.channel_moderator_arn).into())
        })
        .await?;
    Ok(DescribeChannelModeratorResponse {
        channel_moderator: Some(ChannelModerator {
            moderator: Some(identity(&m.moderator)),
            channel_arn: Some(m.channel_arn),
            created_timestamp: Some(Timestamp(m.created_ms)),
            created_by: Some(identity(&m.created_by)),
        }),
    })
}

pub async fn delete(svc: &Service, ctx: &RequestContext, input: DeleteChannelModeratorRequest) -> Result<(), ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    arn::check_owner(ctx, &input.channel_moderator_arn)?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    svc.write(move |tx| {
        lock(tx, OwnerLock::AppInstanceOf(&input.channel_arn))?;
        lock(tx, OwnerLock::Channel(&input.channel_arn))?;
        let (_, channel, roles) = access::enter(tx, &input.chime_bearer, &input.channel_arn)?;
        access::allow(Action::ManageModerators, roles, Subject { channel: Some(&channel), own: None })?;
        access::check_member_form(&input.channel_moderator_arn, &channel.app_instance_arn)?;
        if tx.delete_moderator(&channel.arn, &input.channel_moderator_arn)? {
            Ok(())
        } else {
            Err(missing(&channel.arn, &input.channel_moderator_arn).into())
        }
    })
    .await
}

pub async fn list(
    svc: &Service,
    ctx: &RequestContext,
    input: ListChannelModeratorsRequest,
) -> Result<ListChannelModeratorsResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let (channel_arn, bearer) = (input.channel_arn.clone(), input.chime_bearer.clone());
    let (rows, next_token) = list_page(
        svc,
        ctx,
        Operation::ListChannelModerators.name(),
        &input.channel_arn,
        input.next_token.as_deref(),
        input.max_results,
        move |tx, after, n| {
            let (_, channel, roles) = access::enter(tx, &bearer, &channel_arn)?;
            access::allow(Action::ReadModerators, roles, Subject { channel: Some(&channel), own: None })?;
            Ok(tx.list_moderators(&channel.arn, after, n)?)
        },
    )
    .await?;
    Ok(ListChannelModeratorsResponse {
        channel_arn: Some(input.channel_arn),
        channel_moderators: Some(rows.into_iter().map(|m| ChannelModeratorSummary { moderator: Some(identity(&m.moderator)) }).collect()),
        next_token,
    })
}
