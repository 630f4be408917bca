//! The facade: [`ChimeSdkIdentity`] on [`Service`], one line per operation, and the control plane's
//! entries. The rules live in the handler modules; the base in `service`.

use crate::service::Service;
use crate::{admins, app_instances, bots, endpoints, tags, users};
use carillon_api::shapes::*;
use carillon_api::{ApiError, ChimeSdkIdentity, RequestContext};

impl Service {
    /// Deletes every user whose expiration time has passed, with its cascade. Returns how many.
    pub async fn sweep_expired_users(&self) -> Result<usize, ApiError> {
        users::sweep_expired(self).await
    }

    /// Runs every queued purge of a large delete to its end, in short batches. Returns the rows
    /// deleted.
    pub async fn run_purges(&self) -> Result<u64, ApiError> {
        crate::purge::run(self).await
    }

    /// The control plane's way to mark an endpoint ACTIVE or INACTIVE (with a reason), as AWS does
    /// when a push to it fails.
    pub async fn set_endpoint_state(
        &self,
        user_arn: &str,
        endpoint_id: &str,
        status: EndpointStatus,
        reason: Option<EndpointStatusReason>,
    ) -> Result<(), ApiError> {
        endpoints::set_state(self, user_arn, endpoint_id, status, reason).await
    }
}

impl ChimeSdkIdentity for Service {
    async fn create_app_instance(
        &self,
        ctx: &RequestContext,
        input: CreateAppInstanceRequest,
    ) -> Result<CreateAppInstanceResponse, ApiError> {
        app_instances::create(self, ctx, input).await
    }
    async fn describe_app_instance(
        &self,
        ctx: &RequestContext,
        input: DescribeAppInstanceRequest,
    ) -> Result<DescribeAppInstanceResponse, ApiError> {
        app_instances::describe(self, ctx, input).await
    }
    async fn update_app_instance(
        &self,
        ctx: &RequestContext,
        input: UpdateAppInstanceRequest,
    ) -> Result<UpdateAppInstanceResponse, ApiError> {
        app_instances::update(self, ctx, input).await
    }
    async fn delete_app_instance(&self, ctx: &RequestContext, input: DeleteAppInstanceRequest) -> Result<(), ApiError> {
        app_instances::delete(self, ctx, input).await
    }
    async fn list_app_instances(&self, ctx: &RequestContext, input: ListAppInstancesRequest) -> Result<ListAppInstancesResponse, ApiError> {
        app_instances::list(self, ctx, input).await
    }
    async fn put_app_instance_retention_settings(
        &self,
        ctx: &RequestContext,
        input: PutAppInstanceRetentionSettingsRequest,
    ) -> Result<PutAppInstanceRetentionSettingsResponse, ApiError> {
        app_instances::put_retention(self, ctx, input).await
    }
    async fn get_app_instance_retention_settings(
        &self,
        ctx: &RequestContext,
        input: GetAppInstanceRetentionSettingsRequest,
    ) -> Result<GetAppInstanceRetentionSettingsResponse, ApiError> {
        app_instances::get_retention(self, ctx, input).await
    }

    async fn create_app_instance_user(
        &self,
        ctx: &RequestContext,
        input: CreateAppInstanceUserRequest,
    ) -> Result<CreateAppInstanceUserResponse, ApiError> {
        users::create(self, ctx, input).await
    }
    async fn describe_app_instance_user(
        &self,
        ctx: &RequestContext,
        input: DescribeAppInstanceUserRequest,
    ) -> Result<DescribeAppInstanceUserResponse, ApiError> {
        users::describe(self, ctx, input).await
    }
    async fn update_app_instance_user(
        &self,
        ctx: &RequestContext,
        input: UpdateAppInstanceUserRequest,
    ) -> Result<UpdateAppInstanceUserResponse, ApiError> {
        users::update(self, ctx, input).await
    }
    async fn delete_app_instance_user(&self, ctx: &RequestContext, input: DeleteAppInstanceUserRequest) -> Result<(), ApiError> {
        users::delete(self, ctx, input).await
    }
    async fn list_app_instance_users(
        &self,
        ctx: &RequestContext,
        input: ListAppInstanceUsersRequest,
    ) -> Result<ListAppInstanceUsersResponse, ApiError> {
        users::list(self, ctx, input).await
    }
    async fn put_app_instance_user_expiration_settings(
        &self,
        ctx: &RequestContext,
        input: PutAppInstanceUserExpirationSettingsRequest,
    ) -> Result<PutAppInstanceUserExpirationSettingsResponse, ApiError> {
        users::put_expiration(self, ctx, input).await
    }

    async fn create_app_instance_bot(
        &self,
        ctx: &RequestContext,
        input: CreateAppInstanceBotRequest,
    ) -> Result<CreateAppInstanceBotResponse, ApiError> {
        bots::create(self, ctx, input).await
    }
    async fn describe_app_instance_bot(
        &self,
        ctx: &RequestContext,
        input: DescribeAppInstanceBotRequest,
    ) -> Result<DescribeAppInstanceBotResponse, ApiError> {
        bots::describe(self, ctx, input).await
    }
    async fn update_app_instance_bot(
        &self,
        ctx: &RequestContext,
        input: UpdateAppInstanceBotRequest,
    ) -> Result<UpdateAppInstanceBotResponse, ApiError> {
        bots::update(self, ctx, input).await
    }
    async fn delete_app_instance_bot(&self, ctx: &RequestContext, input: DeleteAppInstanceBotRequest) -> Result<(), ApiError> {
        bots::delete(self, ctx, input).await
    }
    async fn list_app_instance_bots(
        &self,
        ctx: &RequestContext,
        input: ListAppInstanceBotsRequest,
    ) -> Result<ListAppInstanceBotsResponse, ApiError> {
        bots::list(self, ctx, input).await
    }

    async fn create_app_instance_admin(
        &self,
        ctx: &RequestContext,
        input: CreateAppInstanceAdminRequest,
    ) -> Result<CreateAppInstanceAdminResponse, ApiError> {
        admins::create(self, ctx, input).await
    }
    async fn describe_app_instance_admin(
        &self,
        ctx: &RequestContext,
        input: DescribeAppInstanceAdminRequest,
    ) -> Result<DescribeAppInstanceAdminResponse, ApiError> {
        admins::describe(self, ctx, input).await
    }
    async fn delete_app_instance_admin(&self, ctx: &RequestContext, input: DeleteAppInstanceAdminRequest) -> Result<(), ApiError> {
        admins::delete(self, ctx, input).await
    }
    async fn list_app_instance_admins(
        &self,
        ctx: &RequestContext,
        input: ListAppInstanceAdminsRequest,
    ) -> Result<ListAppInstanceAdminsResponse, ApiError> {
        admins::list(self, ctx, input).await
    }

    async fn register_app_instance_user_endpoint(
        &self,
        ctx: &RequestContext,
        input: RegisterAppInstanceUserEndpointRequest,
    ) -> Result<RegisterAppInstanceUserEndpointResponse, ApiError> {
        endpoints::register(self, ctx, input).await
    }
    async fn update_app_instance_user_endpoint(
        &self,
        ctx: &RequestContext,
        input: UpdateAppInstanceUserEndpointRequest,
    ) -> Result<UpdateAppInstanceUserEndpointResponse, ApiError> {
        endpoints::update(self, ctx, input).await
    }
    async fn describe_app_instance_user_endpoint(
        &self,
        ctx: &RequestContext,
        input: DescribeAppInstanceUserEndpointRequest,
    ) -> Result<DescribeAppInstanceUserEndpointResponse, ApiError> {
        endpoints::describe(self, ctx, input).await
    }
    async fn list_app_instance_user_endpoints(
        &self,
        ctx: &RequestContext,
        input: ListAppInstanceUserEndpointsRequest,
    ) -> Result<ListAppInstanceUserEndpointsResponse, ApiError> {
        endpoints::list(self, ctx, input).await
    }
    async fn deregister_app_instance_user_endpoint(
        &self,
        ctx: &RequestContext,
        input: DeregisterAppInstanceUserEndpointRequest,
    ) -> Result<(), ApiError> {
        endpoints::deregister(self, ctx, input).await
    }

    async fn tag_resource(&self, ctx: &RequestContext, input: TagResourceRequest) -> Result<(), ApiError> {
        tags::tag(self, ctx, input).await
    }
    async fn untag_resource(&self, ctx: &RequestContext, input: UntagResourceRequest) -> Result<(), ApiError> {
        tags::untag(self, ctx, input).await
    }
    async fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, ApiError> {
        tags::list(self, ctx, input).await
    }
}
