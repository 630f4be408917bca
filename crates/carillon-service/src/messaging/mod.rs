//! Chime SDK Messaging's chat core (`docs/behaviour.md`, "Messaging"): the facade,
//! [`ChimeSdkMessaging`] on [`Service`], one line per operation. `access` holds the bearer's
//! checks and the authorization matrix; one module per resource holds its handlers.
//!
//! The operations of a later landing, and those Carillon does not implement, answer 501 once the
//! caller may name the ARNs of the request.

mod access;
pub(crate) mod channels;
mod filter_rule;
pub(crate) mod flows;
mod memberships;
pub(crate) mod messages;
mod moderators;
pub(crate) mod preferences;
pub(crate) mod push;
mod retention;
pub(crate) mod streaming;
mod tagging;

use crate::arn;
use crate::service::Service;
use carillon_api::messaging::shapes::*;
use carillon_api::messaging::{ChimeSdkMessaging, Operation};
use carillon_api::{ApiError, RequestContext};
use carillon_store::Actor;

/// An `{Arn, Name}` pair of the wire.
pub(crate) fn identity(a: &Actor) -> Identity {
    Identity { arn: Some(a.arn.clone()), name: a.name.clone() }
}

/// A SubChannelId names a sub-channel of an elastic channel, and no elastic channel can exist.
pub(crate) fn no_sub_channel(sub_channel_id: Option<&String>) -> Result<(), ApiError> {
    match sub_channel_id {
        Some(_) => Err(ApiError::bad_request("SubChannelId names no sub-channel: this service has no elastic channels.")),
        None => Ok(()),
    }
}

/// The answer of an operation not in this landing: after the ownership check of every Chime ARN
/// of the request (403; a Lambda or Kinesis ARN's account is not the caller's to own), 501.
fn later<T: serde::Serialize, R>(ctx: &RequestContext, op: Operation, input: &T) -> Result<R, ApiError> {
    fn check(ctx: &RequestContext, v: &serde_json::Value) -> Result<(), ApiError> {
        match v {
            serde_json::Value::String(s) if arn::parse(s).is_some_and(|a| a.service == "chime") => arn::check_owner(ctx, s),
            serde_json::Value::Array(items) => items.iter().try_for_each(|i| check(ctx, i)),
            serde_json::Value::Object(members) => members.values().try_for_each(|m| check(ctx, m)),
            _ => Ok(()),
        }
    }
    check(ctx, &serde_json::to_value(input).unwrap_or_default())?;
    Err(ApiError::not_implemented(op.name()))
}

impl Service {
    /// Deletes every channel whose expiration time has passed, with its cascade. Returns how many.
    pub async fn sweep_expired_channels(&self) -> Result<usize, ApiError> {
        channels::sweep_expired(self).await
    }

    /// Deletes for good the messages an AppInstance's retention hides, where its deletion time
    /// (InitiateDeletionTimestamp) has passed. Returns how many.
    pub async fn sweep_retained_messages(&self) -> Result<u64, ApiError> {
        retention::sweep(self).await
    }
}

impl ChimeSdkMessaging for Service {
    async fn associate_channel_flow(&self, ctx: &RequestContext, input: AssociateChannelFlowRequest) -> Result<(), ApiError> {
        flows::associate(self, ctx, input).await
    }
    async fn batch_create_channel_membership(
        &self,
        ctx: &RequestContext,
        input: BatchCreateChannelMembershipRequest,
    ) -> Result<BatchCreateChannelMembershipResponse, ApiError> {
        memberships::batch_create(self, ctx, input).await
    }
    async fn channel_flow_callback(
        &self,
        ctx: &RequestContext,
        input: ChannelFlowCallbackRequest,
    ) -> Result<ChannelFlowCallbackResponse, ApiError> {
        later(ctx, Operation::ChannelFlowCallback, &input)
    }
    async fn create_channel(&self, ctx: &RequestContext, input: CreateChannelRequest) -> Result<CreateChannelResponse, ApiError> {
        channels::create(self, ctx, input).await
    }
    async fn create_channel_ban(&self, ctx: &RequestContext, input: CreateChannelBanRequest) -> Result<CreateChannelBanResponse, ApiError> {
        later(ctx, Operation::CreateChannelBan, &input)
    }
    async fn create_channel_flow(
        &self,
        ctx: &RequestContext,
        input: CreateChannelFlowRequest,
    ) -> Result<CreateChannelFlowResponse, ApiError> {
        flows::create(self, ctx, input).await
    }
    async fn create_channel_membership(
        &self,
        ctx: &RequestContext,
        input: CreateChannelMembershipRequest,
    ) -> Result<CreateChannelMembershipResponse, ApiError> {
        memberships::create(self, ctx, input).await
    }
    async fn create_channel_moderator(
        &self,
        ctx: &RequestContext,
        input: CreateChannelModeratorRequest,
    ) -> Result<CreateChannelModeratorResponse, ApiError> {
        moderators::create(self, ctx, input).await
    }
    async fn delete_channel(&self, ctx: &RequestContext, input: DeleteChannelRequest) -> Result<(), ApiError> {
        channels::delete(self, ctx, input).await
    }
    async fn delete_channel_ban(&self, ctx: &RequestContext, input: DeleteChannelBanRequest) -> Result<(), ApiError> {
        later(ctx, Operation::DeleteChannelBan, &input)
    }
    async fn delete_channel_flow(&self, ctx: &RequestContext, input: DeleteChannelFlowRequest) -> Result<(), ApiError> {
        flows::delete(self, ctx, input).await
    }
    async fn delete_channel_membership(&self, ctx: &RequestContext, input: DeleteChannelMembershipRequest) -> Result<(), ApiError> {
        memberships::delete(self, ctx, input).await
    }
    async fn delete_channel_message(&self, ctx: &RequestContext, input: DeleteChannelMessageRequest) -> Result<(), ApiError> {
        messages::delete(self, ctx, input).await
    }
    async fn delete_channel_moderator(&self, ctx: &RequestContext, input: DeleteChannelModeratorRequest) -> Result<(), ApiError> {
        moderators::delete(self, ctx, input).await
    }
    async fn delete_messaging_streaming_configurations(
        &self,
        ctx: &RequestContext,
        input: DeleteMessagingStreamingConfigurationsRequest,
    ) -> Result<(), ApiError> {
        streaming::delete(self, ctx, input).await
    }
    async fn describe_channel(&self, ctx: &RequestContext, input: DescribeChannelRequest) -> Result<DescribeChannelResponse, ApiError> {
        channels::describe(self, ctx, input).await
    }
    async fn describe_channel_ban(
        &self,
        ctx: &RequestContext,
        input: DescribeChannelBanRequest,
    ) -> Result<DescribeChannelBanResponse, ApiError> {
        later(ctx, Operation::DescribeChannelBan, &input)
    }
    async fn describe_channel_flow(
        &self,
        ctx: &RequestContext,
        input: DescribeChannelFlowRequest,
    ) -> Result<DescribeChannelFlowResponse, ApiError> {
        flows::describe(self, ctx, input).await
    }
    async fn describe_channel_membership(
        &self,
        ctx: &RequestContext,
        input: DescribeChannelMembershipRequest,
    ) -> Result<DescribeChannelMembershipResponse, ApiError> {
        memberships::describe(self, ctx, input).await
    }
    async fn describe_channel_membership_for_app_instance_user(
        &self,
        ctx: &RequestContext,
        input: DescribeChannelMembershipForAppInstanceUserRequest,
    ) -> Result<DescribeChannelMembershipForAppInstanceUserResponse, ApiError> {
        later(ctx, Operation::DescribeChannelMembershipForAppInstanceUser, &input)
    }
    async fn describe_channel_moderated_by_app_instance_user(
        &self,
        ctx: &RequestContext,
        input: DescribeChannelModeratedByAppInstanceUserRequest,
    ) -> Result<DescribeChannelModeratedByAppInstanceUserResponse, ApiError> {
        later(ctx, Operation::DescribeChannelModeratedByAppInstanceUser, &input)
    }
    async fn describe_channel_moderator(
        &self,
        ctx: &RequestContext,
        input: DescribeChannelModeratorRequest,
    ) -> Result<DescribeChannelModeratorResponse, ApiError> {
        moderators::describe(self, ctx, input).await
    }
    async fn disassociate_channel_flow(&self, ctx: &RequestContext, input: DisassociateChannelFlowRequest) -> Result<(), ApiError> {
        flows::disassociate(self, ctx, input).await
    }
    async fn get_channel_membership_preferences(
        &self,
        ctx: &RequestContext,
        input: GetChannelMembershipPreferencesRequest,
    ) -> Result<GetChannelMembershipPreferencesResponse, ApiError> {
        preferences::get(self, ctx, input).await
    }
    async fn get_channel_message(
        &self,
        ctx: &RequestContext,
        input: GetChannelMessageRequest,
    ) -> Result<GetChannelMessageResponse, ApiError> {
        messages::get(self, ctx, input).await
    }
    async fn get_channel_message_status(
        &self,
        ctx: &RequestContext,
        input: GetChannelMessageStatusRequest,
    ) -> Result<GetChannelMessageStatusResponse, ApiError> {
        later(ctx, Operation::GetChannelMessageStatus, &input)
    }
    async fn get_messaging_session_endpoint(
        &self,
        ctx: &RequestContext,
        input: GetMessagingSessionEndpointRequest,
    ) -> Result<GetMessagingSessionEndpointResponse, ApiError> {
        later(ctx, Operation::GetMessagingSessionEndpoint, &input)
    }
    async fn get_messaging_streaming_configurations(
        &self,
        ctx: &RequestContext,
        input: GetMessagingStreamingConfigurationsRequest,
    ) -> Result<GetMessagingStreamingConfigurationsResponse, ApiError> {
        streaming::get(self, ctx, input).await
    }
    async fn list_channel_bans(&self, ctx: &RequestContext, input: ListChannelBansRequest) -> Result<ListChannelBansResponse, ApiError> {
        later(ctx, Operation::ListChannelBans, &input)
    }
    async fn list_channel_flows(&self, ctx: &RequestContext, input: ListChannelFlowsRequest) -> Result<ListChannelFlowsResponse, ApiError> {
        flows::list(self, ctx, input).await
    }
    async fn list_channel_memberships(
        &self,
        ctx: &RequestContext,
        input: ListChannelMembershipsRequest,
    ) -> Result<ListChannelMembershipsResponse, ApiError> {
        memberships::list(self, ctx, input).await
    }
    async fn list_channel_memberships_for_app_instance_user(
        &self,
        ctx: &RequestContext,
        input: ListChannelMembershipsForAppInstanceUserRequest,
    ) -> Result<ListChannelMembershipsForAppInstanceUserResponse, ApiError> {
        memberships::list_for_user(self, ctx, input).await
    }
    async fn list_channel_messages(
        &self,
        ctx: &RequestContext,
        input: ListChannelMessagesRequest,
    ) -> Result<ListChannelMessagesResponse, ApiError> {
        messages::list(self, ctx, input).await
    }
    async fn list_channel_moderators(
        &self,
        ctx: &RequestContext,
        input: ListChannelModeratorsRequest,
    ) -> Result<ListChannelModeratorsResponse, ApiError> {
        moderators::list(self, ctx, input).await
    }
    async fn list_channels(&self, ctx: &RequestContext, input: ListChannelsRequest) -> Result<ListChannelsResponse, ApiError> {
        channels::list(self, ctx, input).await
    }
    async fn list_channels_associated_with_channel_flow(
        &self,
        ctx: &RequestContext,
        input: ListChannelsAssociatedWithChannelFlowRequest,
    ) -> Result<ListChannelsAssociatedWithChannelFlowResponse, ApiError> {
        flows::list_channels(self, ctx, input).await
    }
    async fn list_channels_moderated_by_app_instance_user(
        &self,
        ctx: &RequestContext,
        input: ListChannelsModeratedByAppInstanceUserRequest,
    ) -> Result<ListChannelsModeratedByAppInstanceUserResponse, ApiError> {
        later(ctx, Operation::ListChannelsModeratedByAppInstanceUser, &input)
    }
    async fn list_sub_channels(&self, ctx: &RequestContext, input: ListSubChannelsRequest) -> Result<ListSubChannelsResponse, ApiError> {
        later(ctx, Operation::ListSubChannels, &input)
    }
    async fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, ApiError> {
        tagging::list(self, ctx, input).await
    }
    async fn put_channel_expiration_settings(
        &self,
        ctx: &RequestContext,
        input: PutChannelExpirationSettingsRequest,
    ) -> Result<PutChannelExpirationSettingsResponse, ApiError> {
        channels::put_expiration(self, ctx, input).await
    }
    async fn put_channel_membership_preferences(
        &self,
        ctx: &RequestContext,
        input: PutChannelMembershipPreferencesRequest,
    ) -> Result<PutChannelMembershipPreferencesResponse, ApiError> {
        preferences::put(self, ctx, input).await
    }
    async fn put_messaging_streaming_configurations(
        &self,
        ctx: &RequestContext,
        input: PutMessagingStreamingConfigurationsRequest,
    ) -> Result<PutMessagingStreamingConfigurationsResponse, ApiError> {
        streaming::put(self, ctx, input).await
    }
    async fn redact_channel_message(
        &self,
        ctx: &RequestContext,
        input: RedactChannelMessageRequest,
    ) -> Result<RedactChannelMessageResponse, ApiError> {
        messages::redact(self, ctx, input).await
    }
    async fn search_channels(&self, ctx: &RequestContext, input: SearchChannelsRequest) -> Result<SearchChannelsResponse, ApiError> {
        later(ctx, Operation::SearchChannels, &input)
    }
    async fn send_channel_message(
        &self,
        ctx: &RequestContext,
        input: SendChannelMessageRequest,
    ) -> Result<SendChannelMessageResponse, ApiError> {
        messages::send(self, ctx, input).await
    }
    async fn tag_resource(&self, ctx: &RequestContext, input: TagResourceRequest) -> Result<(), ApiError> {
        tagging::tag(self, ctx, input).await
    }
    async fn untag_resource(&self, ctx: &RequestContext, input: UntagResourceRequest) -> Result<(), ApiError> {
        tagging::untag(self, ctx, input).await
    }
    async fn update_channel(&self, ctx: &RequestContext, input: UpdateChannelRequest) -> Result<UpdateChannelResponse, ApiError> {
        channels::update(self, ctx, input).await
    }
    async fn update_channel_flow(
        &self,
        ctx: &RequestContext,
        input: UpdateChannelFlowRequest,
    ) -> Result<UpdateChannelFlowResponse, ApiError> {
        flows::update(self, ctx, input).await
    }
    async fn update_channel_message(
        &self,
        ctx: &RequestContext,
        input: UpdateChannelMessageRequest,
    ) -> Result<UpdateChannelMessageResponse, ApiError> {
        messages::update(self, ctx, input).await
    }
    async fn update_channel_read_marker(
        &self,
        ctx: &RequestContext,
        input: UpdateChannelReadMarkerRequest,
    ) -> Result<UpdateChannelReadMarkerResponse, ApiError> {
        preferences::update_read_marker(self, ctx, input).await
    }
}
