//! What a member keeps on its membership: its preferences and its read marker
//! (`docs/behaviour.md`, "Messaging").

use super::access::{self, Action, Subject};
use super::filter_rule;
use super::identity;
use super::memberships::visible;
use crate::arn;
use crate::service::{OwnerLock, Service, lock};
use carillon_api::messaging::shapes::*;
use carillon_api::{ApiError, RequestContext};
use carillon_store::MembershipUpdate;

fn internal() -> ApiError {
    ApiError::internal("The service failed to process the request.")
}

/// FILTERED needs a FilterRule; a FilterRule, with any AllowNotifications, is of the supported
/// form (it is kept, unused with ALL or NONE).
pub(crate) fn check(p: &ChannelMembershipPreferences) -> Result<(), ApiError> {
    match &p.push_notifications {
        Some(PushNotificationPreferences { allow_notifications: AllowNotifications::Filtered, filter_rule: None }) => {
            Err(ApiError::bad_request("AllowNotifications FILTERED needs a FilterRule."))
        }
        Some(PushNotificationPreferences { filter_rule: Some(rule), .. }) => filter_rule::check(rule),
        _ => Ok(()),
    }
}

pub async fn get(
    svc: &Service,
    ctx: &RequestContext,
    input: GetChannelMembershipPreferencesRequest,
) -> Result<GetChannelMembershipPreferencesResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    arn::check_owner(ctx, &input.member_arn)?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let m = svc
        .read(move |tx| {
            let (actor, channel, roles) = access::enter(tx, &input.chime_bearer, &input.channel_arn)?;
            let own = input.member_arn == actor.arn;
            access::allow(Action::Preferences, roles, Subject { channel: Some(&channel), own: Some(own) })?;
            visible(tx, &channel.arn, &input.member_arn, roles, own)
        })
        .await?;
    // Before any Put the preferences are `{}`.
    let preferences = match &m.preferences {
        Some(json) => serde_json::from_str(json).map_err(|_| internal())?,
        None => ChannelMembershipPreferences { push_notifications: None },
    };
    Ok(GetChannelMembershipPreferencesResponse {
        channel_arn: Some(m.channel_arn),
        member: Some(identity(&m.member)),
        preferences: Some(preferences),
    })
}

pub async fn put(
    svc: &Service,
    ctx: &RequestContext,
    input: PutChannelMembershipPreferencesRequest,
) -> Result<PutChannelMembershipPreferencesResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    arn::check_owner(ctx, &input.member_arn)?;
    check(&input.preferences)?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let json = serde_json::to_string(&input.preferences).map_err(|_| internal())?;
    let now = svc.clock.now_ms();
    svc.write(move |tx| {
        lock(tx, OwnerLock::Channel(&input.channel_arn))?;
        let (actor, channel, roles) = access::enter(tx, &input.chime_bearer, &input.channel_arn)?;
        let own = input.member_arn == actor.arn;
        access::allow(Action::Preferences, roles, Subject { channel: Some(&channel), own: Some(own) })?;
        let m = visible(tx, &channel.arn, &input.member_arn, roles, own)?;
        let update = MembershipUpdate { preferences: Some(json.clone()), touched_ms: Some(now), ..MembershipUpdate::default() };
        tx.update_membership(&channel.arn, &m.member.arn, &update)?;
        Ok(PutChannelMembershipPreferencesResponse {
            channel_arn: Some(channel.arn),
            member: Some(identity(&m.member)),
            preferences: Some(input.preferences.clone()),
        })
    })
    .await
}

pub async fn update_read_marker(
    svc: &Service,
    ctx: &RequestContext,
    input: UpdateChannelReadMarkerRequest,
) -> Result<UpdateChannelReadMarkerResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    let now = svc.clock.now_ms();
    svc.write(move |tx| {
        lock(tx, OwnerLock::Channel(&input.channel_arn))?;
        let (actor, channel, roles) = access::enter(tx, &input.chime_bearer, &input.channel_arn)?;
        access::allow(Action::UpdateReadMarker, roles, Subject { channel: Some(&channel), own: Some(true) })?;
        let update = MembershipUpdate { read_marker_ms: Some(now), ..MembershipUpdate::default() };
        tx.update_membership(&channel.arn, &actor.arn, &update)?;
        Ok(UpdateChannelReadMarkerResponse { channel_arn: Some(channel.arn) })
    })
    .await
}
