//! Channel memberships: add (one or a batch), describe, remove, list (a channel's, or a user's
//! channels) (`docs/behaviour.md`, "Messaging").

use super::access::{self, Action, Roles, Subject};
use super::channels::{add_member, summary};
use super::{identity, no_sub_channel};
use crate::failure::{Failure, TxResult};
use crate::pagination::list_page;
use crate::service::{OwnerLock, Service, lock};
use crate::{Quotas, arn};
use carillon_api::messaging::Operation;
use carillon_api::messaging::shapes::*;
use carillon_api::{ApiError, ErrorKind, RequestContext, Timestamp};
use carillon_store::{Actor, ChannelRecord, MembershipRecord, Tx};

/// The most `MemberArns` a BatchCreateChannelMembership names.
const BATCH_MAX: usize = 100;

fn missing(channel_arn: &str, member_arn: &str) -> ApiError {
    ApiError::not_found(format!("{member_arn} is not a member of the channel {channel_arn}."))
}

/// The membership of `member_arn`, as the caller with `roles` may see it: a HIDDEN one only by an
/// AppInstanceAdmin, a moderator or the member itself (404 to anyone else).
pub(crate) fn visible(tx: &mut dyn Tx, channel_arn: &str, member_arn: &str, roles: Roles, own: bool) -> TxResult<MembershipRecord> {
    match tx.get_membership(channel_arn, member_arn)? {
        Some(m) if m.membership_type == ChannelMembershipType::Default || roles.admin || roles.moderator || own => Ok(m),
        _ => Err(missing(channel_arn, member_arn).into()),
    }
}

/// Adds `member_arn` to `channel` as `membership_type`: 403/404 for the member parameter, 409 for
/// an existing member, the quotas.
fn add(
    tx: &mut dyn Tx,
    channel: &ChannelRecord,
    member_arn: &str,
    membership_type: ChannelMembershipType,
    invited_by: &Actor,
    now: i64,
    quota: &Quotas,
) -> TxResult<Actor> {
    let member = access::member(tx, member_arn, &channel.app_instance_arn)?;
    if tx.get_membership(&channel.arn, &member.arn)?.is_some() {
        return Err(ApiError::conflict(format!("{} is already a member of the channel {}.", member.arn, channel.arn)).into());
    }
    add_member(tx, &channel.arn, &channel.app_instance_arn, &member, membership_type, invited_by, now, quota)?;
    Ok(member)
}

fn add_action(membership_type: ChannelMembershipType) -> Action {
    match membership_type {
        ChannelMembershipType::Default => Action::AddMember,
        ChannelMembershipType::Hidden => Action::AddHiddenMember,
    }
}

pub async fn create(
    svc: &Service,
    ctx: &RequestContext,
    input: CreateChannelMembershipRequest,
) -> Result<CreateChannelMembershipResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    arn::check_owner(ctx, &input.member_arn)?;
    no_sub_channel(input.sub_channel_id.as_ref())?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let quota = svc.quotas.clone();
    let now = svc.clock.now_ms();
    svc.write(move |tx| {
        // Every membership of an AppInstance's users is added under its lock (the per-user
        // quota), then the channel's.
        lock(tx, OwnerLock::AppInstanceOf(&input.channel_arn))?;
        lock(tx, OwnerLock::Channel(&input.channel_arn))?;
        let (actor, channel, roles) = access::enter(tx, &input.chime_bearer, &input.channel_arn)?;
        let own = input.member_arn == actor.arn;
        access::allow(add_action(input.r#type), roles, Subject { channel: Some(&channel), own: Some(own) })?;
        let member = add(tx, &channel, &input.member_arn, input.r#type, &actor, now, &quota)?;
        Ok(CreateChannelMembershipResponse { channel_arn: Some(channel.arn), member: Some(identity(&member)), sub_channel_id: None })
    })
    .await
}

/// The batch error code of a per-member failure.
fn error_code(kind: ErrorKind) -> ErrorCode {
    match kind {
        ErrorKind::NotFound => ErrorCode::Notfound,
        ErrorKind::Conflict => ErrorCode::Conflict,
        ErrorKind::Forbidden => ErrorCode::Forbidden,
        ErrorKind::ResourceLimitExceeded => ErrorCode::Resourcelimitexceeded,
        ErrorKind::BadRequest => ErrorCode::Badrequest,
        _ => ErrorCode::Servicefailure,
    }
}

pub async fn batch_create(
    svc: &Service,
    ctx: &RequestContext,
    input: BatchCreateChannelMembershipRequest,
) -> Result<BatchCreateChannelMembershipResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    for a in &input.member_arns {
        arn::check_owner(ctx, a)?;
    }
    no_sub_channel(input.sub_channel_id.as_ref())?;
    if input.member_arns.len() > BATCH_MAX {
        return Err(ApiError::bad_request(format!(
            "1 validation error detected: Value at 'memberArns' failed to satisfy constraint: Member must have length less than or equal to {BATCH_MAX}"
        )));
    }
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let membership_type = input.r#type.unwrap_or(ChannelMembershipType::Default);
    let quota = svc.quotas.clone();
    let now = svc.clock.now_ms();
    svc.write(move |tx| {
        lock(tx, OwnerLock::AppInstanceOf(&input.channel_arn))?;
        lock(tx, OwnerLock::Channel(&input.channel_arn))?;
        let (actor, channel, roles) = access::enter(tx, &input.chime_bearer, &input.channel_arn)?;
        // Someone joining by itself may name only itself: any other name refuses the whole batch.
        let own = input.member_arns.iter().all(|a| *a == actor.arn);
        access::allow(add_action(membership_type), roles, Subject { channel: Some(&channel), own: Some(own) })?;
        let mut seen: Vec<&str> = Vec::new();
        let (mut members, mut errors) = (Vec::new(), Vec::new());
        for member_arn in &input.member_arns {
            if seen.contains(&member_arn.as_str()) {
                continue;
            }
            seen.push(member_arn);
            match add(tx, &channel, member_arn, membership_type, &actor, now, &quota) {
                Ok(member) => members.push(identity(&member)),
                Err(Failure(e)) if e.kind.status() < 500 => errors.push(BatchCreateChannelMembershipError {
                    member_arn: Some(member_arn.clone()),
                    error_code: Some(error_code(e.kind)),
                    error_message: Some(e.message),
                }),
                Err(f) => return Err(f),
            }
        }
        Ok(BatchCreateChannelMembershipResponse {
            batch_channel_memberships: Some(BatchChannelMemberships {
                invited_by: Some(identity(&actor)),
                r#type: Some(membership_type),
                members: Some(members),
                channel_arn: Some(channel.arn),
                sub_channel_id: None,
            }),
            errors: Some(errors),
        })
    })
    .await
}

pub async fn describe(
    svc: &Service,
    ctx: &RequestContext,
    input: DescribeChannelMembershipRequest,
) -> Result<DescribeChannelMembershipResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    arn::check_owner(ctx, &input.member_arn)?;
    no_sub_channel(input.sub_channel_id.as_ref())?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let m = svc
        .read(move |tx| {
            let (actor, channel, roles) = access::enter(tx, &input.chime_bearer, &input.channel_arn)?;
            access::allow(Action::ReadMemberships, roles, Subject { channel: Some(&channel), own: None })?;
            access::check_member_form(&input.member_arn, &channel.app_instance_arn)?;
            visible(tx, &channel.arn, &input.member_arn, roles, input.member_arn == actor.arn)
        })
        .await?;
    Ok(DescribeChannelMembershipResponse {
        channel_membership: Some(ChannelMembership {
            invited_by: Some(identity(&m.invited_by)),
            r#type: Some(m.membership_type),
            member: Some(identity(&m.member)),
            channel_arn: Some(m.channel_arn),
            created_timestamp: Some(Timestamp(m.created_ms)),
            last_updated_timestamp: Some(Timestamp(m.updated_ms)),
            sub_channel_id: None,
        }),
    })
}

pub async fn delete(svc: &Service, ctx: &RequestContext, input: DeleteChannelMembershipRequest) -> Result<(), ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    arn::check_owner(ctx, &input.member_arn)?;
    no_sub_channel(input.sub_channel_id.as_ref())?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    svc.write(move |tx| {
        lock(tx, OwnerLock::AppInstanceOf(&input.channel_arn))?;
        lock(tx, OwnerLock::Channel(&input.channel_arn))?;
        let (actor, channel, roles) = access::enter(tx, &input.chime_bearer, &input.channel_arn)?;
        let own = input.member_arn == actor.arn;
        access::allow(Action::DeleteMembership, roles, Subject { channel: Some(&channel), own: Some(own) })?;
        access::check_member_form(&input.member_arn, &channel.app_instance_arn)?;
        visible(tx, &channel.arn, &input.member_arn, roles, own)?;
        tx.delete_membership(&channel.arn, &input.member_arn)?;
        Ok(())
    })
    .await
}

pub async fn list(
    svc: &Service,
    ctx: &RequestContext,
    input: ListChannelMembershipsRequest,
) -> Result<ListChannelMembershipsResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    no_sub_channel(input.sub_channel_id.as_ref())?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let membership_type = input.r#type.unwrap_or(ChannelMembershipType::Default);
    let (channel_arn, bearer) = (input.channel_arn.clone(), input.chime_bearer.clone());
    let scope = format!("{}|{}", input.channel_arn, membership_type.as_str());
    let (rows, next_token) = list_page(
        svc,
        ctx,
        Operation::ListChannelMemberships.name(),
        &scope,
        input.next_token.as_deref(),
        input.max_results,
        move |tx, after, n| {
            let (_, channel, roles) = access::enter(tx, &bearer, &channel_arn)?;
            let subject = Subject { channel: Some(&channel), own: None };
            access::allow(Action::ReadMemberships, roles, subject)?;
            if membership_type == ChannelMembershipType::Hidden {
                access::allow(Action::ListHiddenMemberships, roles, subject)?;
            }
            Ok(tx.list_memberships(&channel.arn, Some(membership_type), after, n)?)
        },
    )
    .await?;
    Ok(ListChannelMembershipsResponse {
        channel_arn: Some(input.channel_arn),
        channel_memberships: Some(rows.into_iter().map(|m| ChannelMembershipSummary { member: Some(identity(&m.member)) }).collect()),
        next_token,
    })
}

pub async fn list_for_user(
    svc: &Service,
    ctx: &RequestContext,
    input: ListChannelMembershipsForAppInstanceUserRequest,
) -> Result<ListChannelMembershipsForAppInstanceUserResponse, ApiError> {
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let target = input.app_instance_user_arn.clone().unwrap_or_else(|| input.chime_bearer.clone());
    arn::check_owner(ctx, &target)?;
    let bearer = input.chime_bearer.clone();
    let user = target.clone();
    let (rows, next_token) = list_page(
        svc,
        ctx,
        Operation::ListChannelMembershipsForAppInstanceUser.name(),
        &target,
        input.next_token.as_deref(),
        input.max_results,
        move |tx, after, n| {
            let actor = access::bearer(tx, &bearer, None)?;
            let app_instance_arn = arn::resource(&actor.arn).map(|r| r.app_instance_arn().to_string()).unwrap_or_default();
            access::check_member_form(&user, &app_instance_arn)?;
            let roles = Roles::in_app_instance(tx, &app_instance_arn, &actor.arn)?;
            access::allow(Action::ListMembershipsOfUser, roles, Subject { channel: None, own: Some(user == actor.arn) })?;
            access::member(tx, &user, &app_instance_arn)?;
            Ok(tx.list_member_channels(&user, after, n)?)
        },
    )
    .await?;
    Ok(ListChannelMembershipsForAppInstanceUserResponse {
        channel_memberships: Some(
            rows.into_iter()
                .map(|(m, c)| ChannelMembershipForAppInstanceUserSummary {
                    channel_summary: Some(summary(c)),
                    app_instance_user_membership_summary: Some(AppInstanceUserMembershipSummary {
                        r#type: Some(m.membership_type),
                        read_marker_timestamp: m.read_marker_ms.map(Timestamp),
                        sub_channel_id: None,
                    }),
                })
                .collect(),
        ),
        next_token,
    })
}
