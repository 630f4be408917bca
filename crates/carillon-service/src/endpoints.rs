//! AppInstanceUserEndpoints: the push-notification endpoints of a user, addressed by the pair
//! (user ARN, EndpointId). The heart of Carillon.

use crate::failure::TxResult;
use crate::pagination::list_page;
use crate::service::{OwnerLock, Service, lock};
use crate::{arn, idempotency, users};
use carillon_api::shapes::*;
use carillon_api::{ApiError, Operation, RequestContext, Timestamp};
use carillon_store::{EndpointRecord, EndpointUpdate, Tx};

fn get(tx: &mut dyn Tx, user_arn: &str, endpoint_id: &str) -> TxResult<EndpointRecord> {
    tx.get_endpoint(user_arn, endpoint_id)?.ok_or_else(|| missing(user_arn, endpoint_id).into())
}

fn missing(user_arn: &str, endpoint_id: &str) -> ApiError {
    ApiError::not_found(format!("The AppInstanceUserEndpoint {endpoint_id} of {user_arn} does not exist."))
}

fn state(r: &EndpointRecord) -> EndpointState {
    EndpointState { status: r.status, status_reason: r.status_reason }
}

/// A new EndpointId: 32 characters of `[a-z0-9]`, random, so never reused for a user.
fn new_endpoint_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub async fn register(
    svc: &Service,
    ctx: &RequestContext,
    input: RegisterAppInstanceUserEndpointRequest,
) -> Result<RegisterAppInstanceUserEndpointResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_user_arn)?;
    arn::check_pinpoint_app(ctx, &input.resource_arn)?;
    if input.r#type == AppInstanceUserEndpointType::Gcm && input.endpoint_attributes.voip_device_token.is_some() {
        return Err(ApiError::bad_request("VoipDeviceToken can be given only for APNS and APNS_SANDBOX endpoints."));
    }
    const OP: Operation = Operation::RegisterAppInstanceUserEndpoint;
    let key = idempotency::key(ctx, OP, &input.client_request_token);
    let fp = idempotency::fingerprint(OP, &input);
    let quota = svc.quotas.endpoints_per_user;
    let now = svc.clock.now_ms();
    svc.write(move |tx| {
        lock(tx, OwnerLock::AppInstanceOf(&input.app_instance_user_arn))?;
        let user = users::get(tx, &input.app_instance_user_arn)?;
        let replayed = idempotency::replay(tx, &key, &fp, |tx, a: &RegisterAppInstanceUserEndpointResponse| {
            Ok(tx.get_endpoint(&user.arn, a.endpoint_id.as_deref().unwrap_or_default())?.is_some())
        })?;
        if let Some(answer) = replayed {
            return Ok(answer);
        }
        let attrs = &input.endpoint_attributes;
        if tx.endpoint_with_device_token(&user.arn, &attrs.device_token)?.is_some() {
            return Err(ApiError::conflict("The device token is already registered for this AppInstanceUser.").into());
        }
        if tx.count_endpoints(&user.arn)? >= quota {
            return Err(ApiError::limit_exceeded(format!("An AppInstanceUser can have at most {quota} endpoints.")).into());
        }
        let endpoint_id = new_endpoint_id();
        tx.insert_endpoint(&EndpointRecord {
            seq: 0,
            user_arn: user.arn.clone(),
            endpoint_id: endpoint_id.clone(),
            app_instance_arn: user.app_instance_arn.clone(),
            name: input.name.clone(),
            endpoint_type: input.r#type,
            resource_arn: input.resource_arn.clone(),
            device_token: attrs.device_token.clone(),
            voip_device_token: attrs.voip_device_token.clone(),
            allow_messages: input.allow_messages.unwrap_or(AllowMessages::All),
            status: EndpointStatus::Active,
            status_reason: None,
            created_ms: now,
            updated_ms: now,
        })?;
        let answer =
            RegisterAppInstanceUserEndpointResponse { app_instance_user_arn: Some(user.arn.clone()), endpoint_id: Some(endpoint_id) };
        idempotency::remember(tx, &key, &fp, &user.arn, &user.app_instance_arn, &answer, now)?;
        Ok(answer)
    })
    .await
}

pub async fn update(
    svc: &Service,
    ctx: &RequestContext,
    input: UpdateAppInstanceUserEndpointRequest,
) -> Result<UpdateAppInstanceUserEndpointResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_user_arn)?;
    let now = svc.clock.now_ms();
    // Only the members named are written, in one statement: a concurrent update of another
    // member is never undone (docs/behaviour.md, "Durability and concurrency"). That statement
    // is all the write runs, and it fails only where nothing matched: a one-statement write.
    let update = EndpointUpdate { name: input.name.clone(), allow_messages: input.allow_messages, state: None, touched_ms: Some(now) };
    svc.write_one(move |tx| {
        let (user, id) = (&input.app_instance_user_arn, &input.endpoint_id);
        let exists = if update.name.is_some() || update.allow_messages.is_some() {
            tx.update_endpoint(user, id, &update)?
        } else {
            tx.get_endpoint(user, id)?.is_some()
        };
        if !exists {
            return Err(missing(user, id).into());
        }
        Ok(UpdateAppInstanceUserEndpointResponse { app_instance_user_arn: Some(user.clone()), endpoint_id: Some(id.clone()) })
    })
    .await
}

pub async fn describe(
    svc: &Service,
    ctx: &RequestContext,
    input: DescribeAppInstanceUserEndpointRequest,
) -> Result<DescribeAppInstanceUserEndpointResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_user_arn)?;
    let r = svc.read_one(move |tx| get(tx, &input.app_instance_user_arn, &input.endpoint_id)).await?;
    Ok(DescribeAppInstanceUserEndpointResponse {
        app_instance_user_endpoint: Some(AppInstanceUserEndpoint {
            r#type: Some(r.endpoint_type),
            allow_messages: Some(r.allow_messages),
            endpoint_state: Some(state(&r)),
            app_instance_user_arn: Some(r.user_arn),
            endpoint_id: Some(r.endpoint_id),
            name: r.name,
            resource_arn: Some(r.resource_arn),
            endpoint_attributes: Some(EndpointAttributes { device_token: r.device_token, voip_device_token: r.voip_device_token }),
            created_timestamp: Some(Timestamp(r.created_ms)),
            last_updated_timestamp: Some(Timestamp(r.updated_ms)),
        }),
    })
}

pub async fn list(
    svc: &Service,
    ctx: &RequestContext,
    input: ListAppInstanceUserEndpointsRequest,
) -> Result<ListAppInstanceUserEndpointsResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_user_arn)?;
    let user = input.app_instance_user_arn.clone();
    let (rows, next_token) = list_page(
        svc,
        ctx,
        Operation::ListAppInstanceUserEndpoints.name(),
        &input.app_instance_user_arn,
        input.next_token.as_deref(),
        input.max_results,
        move |tx, after, n| {
            users::get(tx, &user)?;
            Ok(tx.list_endpoints(&user, after, n)?)
        },
    )
    .await?;
    Ok(ListAppInstanceUserEndpointsResponse {
        app_instance_user_endpoints: Some(
            rows.into_iter()
                .map(|r| AppInstanceUserEndpointSummary {
                    r#type: Some(r.endpoint_type),
                    allow_messages: Some(r.allow_messages),
                    endpoint_state: Some(state(&r)),
                    app_instance_user_arn: Some(r.user_arn),
                    endpoint_id: Some(r.endpoint_id),
                    name: r.name,
                })
                .collect(),
        ),
        next_token,
    })
}

pub async fn deregister(svc: &Service, ctx: &RequestContext, input: DeregisterAppInstanceUserEndpointRequest) -> Result<(), ApiError> {
    arn::check_owner(ctx, &input.app_instance_user_arn)?;
    svc.write(move |tx| {
        if tx.delete_endpoint(&input.app_instance_user_arn, &input.endpoint_id)? {
            Ok(())
        } else {
            Err(get(tx, &input.app_instance_user_arn, &input.endpoint_id).err().unwrap_or_else(|| ApiError::not_found("Not found.").into()))
        }
    })
    .await
}

pub async fn set_state(
    svc: &Service,
    user_arn: &str,
    endpoint_id: &str,
    status: EndpointStatus,
    reason: Option<EndpointStatusReason>,
) -> Result<(), ApiError> {
    if status == EndpointStatus::Inactive && reason.is_none() {
        return Err(ApiError::bad_request("An INACTIVE endpoint needs a StatusReason."));
    }
    let (user_arn, endpoint_id) = (user_arn.to_string(), endpoint_id.to_string());
    let now = svc.clock.now_ms();
    let reason = if status == EndpointStatus::Active { None } else { reason };
    let update = EndpointUpdate { state: Some((status, reason)), touched_ms: Some(now), ..EndpointUpdate::default() };
    svc.write(
        move |tx| {
            if tx.update_endpoint(&user_arn, &endpoint_id, &update)? { Ok(()) } else { Err(missing(&user_arn, &endpoint_id).into()) }
        },
    )
    .await
}
