//! Carillon's service layer: one typed handler per operation of Chime SDK Identity, written once
//! against the storage trait. Each handler checks what needs no store (ownership of ARNs, forms the
//! model cannot express), then runs its existence, state, quota and idempotency rules and its writes
//! as one transaction closure, so that they hold on every backend and under any concurrency.

mod admins;
mod app_instances;
pub mod arn;
mod bots;
mod clock;
mod endpoints;
mod failure;
mod idempotency;
pub mod pagination;
mod tags;
mod users;

use carillon_api::shapes::*;
use carillon_api::{ApiError, ChimeSdkIdentity, RequestContext};
use carillon_store::{Store, StoreError, Tx};
use std::sync::Arc;

pub use clock::Clock;
use failure::TxResult;
pub use failure::{Failure, store_error};
use pagination::Pager;

/// Limits per account, AppInstance and user. AWS's defaults unless configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quotas {
    pub app_instances_per_account: u64,
    pub users_per_app_instance: u64,
    pub admins_per_app_instance: u64,
    pub endpoints_per_user: u64,
    pub bots_per_app_instance: u64,
    pub tags_per_resource: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            app_instances_per_account: 100,
            users_per_app_instance: 100_000,
            admins_per_app_instance: 100,
            endpoints_per_user: 10,
            bots_per_app_instance: 100,
            tags_per_resource: 50,
        }
    }
}

/// The service: the store, the quotas, the clock and the pagination secret.
#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    quotas: Quotas,
    clock: Clock,
    pager: Pager,
    /// Set when a write failed because the store could not take it (disk full, read-only,
    /// unreachable); cleared by the next write that succeeds.
    writes_failing: Arc<std::sync::atomic::AtomicBool>,
}

/// What the health check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// Reads fail.
    Unavailable,
    /// Reads work but writes fail (a full or read-only disk).
    WritesFailing,
}

impl Service {
    /// Builds the service on an open store (reads the store's pagination secret).
    pub async fn new(store: Arc<dyn Store>, quotas: Quotas, clock: Clock) -> Result<Service, StoreError> {
        let secret = carillon_store::read(&*store, |tx: &mut dyn Tx| tx.token_secret()).await?;
        Ok(Service { store, quotas, clock, pager: Pager::new(secret), writes_failing: Default::default() })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    async fn write<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnMut(&mut dyn Tx) -> TxResult<R> + Send + 'static,
    {
        let out = carillon_store::write(&*self.store, f).await.map_err(|f: Failure| f.0);
        let failing = matches!(&out, Err(e) if e.kind == carillon_api::ErrorKind::ServiceUnavailable);
        if failing || out.is_ok() {
            self.writes_failing.store(failing, std::sync::atomic::Ordering::Relaxed);
        }
        out
    }

    /// Whether the store is usable: it reads, and, once a write failed for want of the store,
    /// a heartbeat write goes through again.
    pub async fn health(&self) -> Health {
        if self.store.check().await.is_err() {
            return Health::Unavailable;
        }
        if !self.writes_failing.load(std::sync::atomic::Ordering::Relaxed) {
            return Health::Ok;
        }
        let now = self.clock.now_ms();
        match self.write(move |tx| Ok(tx.heartbeat(now)?)).await {
            Ok(()) => Health::Ok,
            Err(_) => Health::WritesFailing,
        }
    }

    async fn read<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnMut(&mut dyn Tx) -> TxResult<R> + Send + 'static,
    {
        carillon_store::read(&*self.store, f).await.map_err(|f: Failure| f.0)
    }

    /// Deletes every user whose expiration time has passed, with its cascade. Returns how many.
    pub async fn sweep_expired_users(&self) -> Result<usize, ApiError> {
        users::sweep_expired(self).await
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

/// Takes the store lock of the AppInstance that `arn` (an AppInstance, user or bot ARN) belongs to:
/// every write that checks a rule over what an AppInstance holds, or deletes from it, takes it
/// first, so the rules hold across racing nodes (see [`Tx::lock`]).
fn lock_app_instance_of(tx: &mut dyn Tx, arn: &str) -> Result<(), StoreError> {
    match arn::resource(arn) {
        Some(r) => tx.lock(r.app_instance_arn()),
        None => Ok(()),
    }
}

/// A timestamp for LastUpdatedTimestamp that always moves forward from `previous`.
fn next_update(now_ms: i64, previous: i64) -> i64 {
    now_ms.max(previous + 1)
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
