//! Channel flows (`docs/behaviour.md`, "Messaging"): configuration only. A flow is created,
//! described, updated, listed, tagged, associated with channels and deleted; its processors are
//! never invoked, so a channel with a flow delivers its messages as if every processor passed
//! them through unchanged.
//!
//! Flow CRUD and both lists are the account's own (no bearer); associating a flow with a channel
//! needs the bearer to be an AppInstanceAdmin or a moderator of the channel.

use super::access::{self, Action, Subject};
use crate::failure::TxResult;
use crate::pagination::list_page;
use crate::service::{OwnerLock, Service, lock};
use crate::{arn, idempotency, tags};
use carillon_api::messaging::Operation;
use carillon_api::messaging::shapes::*;
use carillon_api::{ApiError, RequestContext, Timestamp};
use carillon_store::{ChannelFlowRecord, ChannelRecord, Tx};

/// The processors' rules beyond the model's: each ExecutionOrder names one processor.
pub(crate) fn check_processors(processors: &[Processor]) -> Result<(), ApiError> {
    let mut seen = std::collections::HashSet::new();
    if processors.iter().any(|p| !seen.insert(p.execution_order)) {
        return Err(ApiError::bad_request("Two processors have the same ExecutionOrder: each must have its own."));
    }
    Ok(())
}

fn processors_json(processors: &[Processor]) -> Result<String, ApiError> {
    serde_json::to_string(processors).map_err(|_| ApiError::internal("The service failed to process the request."))
}

/// The stored processors; a row that does not read back is a corrupt row (500).
fn processors_of(r: &ChannelFlowRecord) -> Result<Vec<Processor>, ApiError> {
    serde_json::from_str(&r.processors).map_err(|_| ApiError::internal("The service failed to process the request."))
}

/// The AppInstance `app_instance_arn` names, 404 when there is none.
pub(crate) fn app_instance(tx: &mut dyn Tx, app_instance_arn: &str) -> TxResult<()> {
    match tx.get_app_instance(app_instance_arn)? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(format!("The AppInstance {app_instance_arn} does not exist.")).into()),
    }
}

/// The flow `flow_arn` names, 404 when there is none (a flow is found only while its AppInstance is).
fn flow(tx: &mut dyn Tx, flow_arn: &str) -> TxResult<ChannelFlowRecord> {
    let missing = || ApiError::not_found(format!("The channel flow {flow_arn} does not exist."));
    let app_instance_arn = arn::channel_flow_app_instance(flow_arn).ok_or_else(missing)?;
    if tx.get_app_instance(&app_instance_arn)?.is_none() {
        return Err(missing().into());
    }
    tx.get_channel_flow(flow_arn)?.ok_or_else(|| missing().into())
}

pub async fn create(svc: &Service, ctx: &RequestContext, input: CreateChannelFlowRequest) -> Result<CreateChannelFlowResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    tags::check_tags(input.tags.as_deref().map(super::tagging::to_identity).as_deref())?;
    check_processors(&input.processors)?;
    const OP: Operation = Operation::CreateChannelFlow;
    let key = idempotency::key(ctx, OP, &input.client_request_token);
    let fp = idempotency::fingerprint(OP, &input);
    let tag_records = tags::to_records(input.tags.as_deref().map(super::tagging::to_identity).as_deref());
    let processors = processors_json(&input.processors)?;
    let flow_arn = arn::channel_flow_arn(&input.app_instance_arn, &uuid::Uuid::new_v4().to_string());
    let tags_quota = svc.quotas.tags_per_resource;
    let now = svc.clock.now_ms();
    svc.write(move |tx| {
        lock(tx, OwnerLock::AppInstance(&input.app_instance_arn))?;
        app_instance(tx, &input.app_instance_arn)?;
        let replayed = idempotency::replay(tx, &key, &fp, |tx, a: &CreateChannelFlowResponse| {
            Ok(tx.get_channel_flow(a.channel_flow_arn.as_deref().unwrap_or_default())?.is_some())
        })?;
        if let Some(answer) = replayed {
            return Ok(answer);
        }
        tx.insert_channel_flow(&ChannelFlowRecord {
            seq: 0,
            arn: flow_arn.clone(),
            app_instance_arn: input.app_instance_arn.clone(),
            name: input.name.clone(),
            processors: processors.clone(),
            created_ms: now,
            updated_ms: now,
        })?;
        tags::put(tx, &flow_arn, &input.app_instance_arn, &tag_records, tags_quota)?;
        let answer = CreateChannelFlowResponse { channel_flow_arn: Some(flow_arn.clone()) };
        idempotency::remember(tx, &key, &fp, &flow_arn, &input.app_instance_arn, &answer, now)?;
        Ok(answer)
    })
    .await
}

pub async fn describe(
    svc: &Service,
    ctx: &RequestContext,
    input: DescribeChannelFlowRequest,
) -> Result<DescribeChannelFlowResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_flow_arn)?;
    let f = svc.read(move |tx| flow(tx, &input.channel_flow_arn)).await?;
    Ok(DescribeChannelFlowResponse {
        channel_flow: Some(ChannelFlow {
            processors: Some(processors_of(&f)?),
            channel_flow_arn: Some(f.arn),
            name: Some(f.name),
            created_timestamp: Some(Timestamp(f.created_ms)),
            last_updated_timestamp: Some(Timestamp(f.updated_ms)),
        }),
    })
}

pub async fn update(svc: &Service, ctx: &RequestContext, input: UpdateChannelFlowRequest) -> Result<UpdateChannelFlowResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_flow_arn)?;
    check_processors(&input.processors)?;
    let processors = processors_json(&input.processors)?;
    let now = svc.clock.now_ms();
    svc.write(move |tx| {
        lock(tx, OwnerLock::AppInstanceOf(&input.channel_flow_arn))?;
        let f = flow(tx, &input.channel_flow_arn)?;
        tx.update_channel_flow(&f.arn, &input.name, &processors, now)?;
        Ok(UpdateChannelFlowResponse { channel_flow_arn: Some(f.arn) })
    })
    .await
}

pub async fn delete(svc: &Service, ctx: &RequestContext, input: DeleteChannelFlowRequest) -> Result<(), ApiError> {
    arn::check_owner(ctx, &input.channel_flow_arn)?;
    svc.write(move |tx| {
        // Associations are made under the AppInstance's lock too: none can appear after the check.
        lock(tx, OwnerLock::AppInstanceOf(&input.channel_flow_arn))?;
        let f = flow(tx, &input.channel_flow_arn)?;
        if !tx.list_flow_channels(&f.arn, 0, 1)?.is_empty() {
            return Err(ApiError::conflict(format!(
                "The channel flow {} is associated with channels: disassociate them before deleting it.",
                f.arn
            ))
            .into());
        }
        tx.delete_channel_flow(&f.arn)?;
        Ok(())
    })
    .await
}

pub async fn list(svc: &Service, ctx: &RequestContext, input: ListChannelFlowsRequest) -> Result<ListChannelFlowsResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    let instance = input.app_instance_arn.clone();
    let (rows, next_token) = list_page(
        svc,
        ctx,
        Operation::ListChannelFlows.name(),
        &input.app_instance_arn,
        input.next_token.as_deref(),
        input.max_results,
        move |tx, after, n| {
            app_instance(tx, &instance)?;
            Ok(tx.list_channel_flows(&instance, after, n)?)
        },
    )
    .await?;
    let flows = rows
        .into_iter()
        .map(|f| Ok(ChannelFlowSummary { processors: Some(processors_of(&f)?), channel_flow_arn: Some(f.arn), name: Some(f.name) }))
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(ListChannelFlowsResponse { channel_flows: Some(flows), next_token })
}

/// The checks Associate and Disassociate share, in this order: the bearer, the channel, the
/// bearer's roles in it, then the flow, which must be of the channel's AppInstance.
fn enter(tx: &mut dyn Tx, bearer: &str, channel_arn: &str, flow_arn: &str) -> TxResult<(ChannelRecord, ChannelFlowRecord)> {
    lock(tx, OwnerLock::AppInstanceOf(channel_arn))?;
    lock(tx, OwnerLock::Channel(channel_arn))?;
    let (_, channel, roles) = access::enter(tx, bearer, channel_arn)?;
    access::allow(Action::ManageChannelFlow, roles, Subject { channel: Some(&channel), own: None })?;
    let f = flow(tx, flow_arn)?;
    if f.app_instance_arn != channel.app_instance_arn {
        return Err(ApiError::bad_request(format!("The channel flow {flow_arn} belongs to another AppInstance than the channel.")).into());
    }
    Ok((channel, f))
}

pub async fn associate(svc: &Service, ctx: &RequestContext, input: AssociateChannelFlowRequest) -> Result<(), ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    arn::check_owner(ctx, &input.channel_flow_arn)?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    svc.write(move |tx| {
        let (channel, f) = enter(tx, &input.chime_bearer, &input.channel_arn, &input.channel_flow_arn)?;
        match tx.channel_flow_of(&channel.arn)? {
            Some(current) if current != f.arn => Err(ApiError::conflict(format!(
                "The channel {} is associated with the channel flow {current}: disassociate it first.",
                channel.arn
            ))
            .into()),
            _ => {
                tx.set_channel_flow(&channel.arn, Some(&f.arn))?;
                Ok(())
            }
        }
    })
    .await
}

pub async fn disassociate(svc: &Service, ctx: &RequestContext, input: DisassociateChannelFlowRequest) -> Result<(), ApiError> {
    arn::check_owner(ctx, &input.channel_arn)?;
    arn::check_owner(ctx, &input.channel_flow_arn)?;
    access::check_bearer_form(ctx, &input.chime_bearer)?;
    svc.write(move |tx| {
        let (channel, f) = enter(tx, &input.chime_bearer, &input.channel_arn, &input.channel_flow_arn)?;
        if tx.channel_flow_of(&channel.arn)?.as_deref() != Some(f.arn.as_str()) {
            return Err(
                ApiError::not_found(format!("The channel {} is not associated with the channel flow {}.", channel.arn, f.arn)).into()
            );
        }
        tx.set_channel_flow(&channel.arn, None)?;
        Ok(())
    })
    .await
}

pub async fn list_channels(
    svc: &Service,
    ctx: &RequestContext,
    input: ListChannelsAssociatedWithChannelFlowRequest,
) -> Result<ListChannelsAssociatedWithChannelFlowResponse, ApiError> {
    arn::check_owner(ctx, &input.channel_flow_arn)?;
    let flow_arn = input.channel_flow_arn.clone();
    let (rows, next_token) = list_page(
        svc,
        ctx,
        Operation::ListChannelsAssociatedWithChannelFlow.name(),
        &input.channel_flow_arn,
        input.next_token.as_deref(),
        input.max_results,
        move |tx, after, n| {
            flow(tx, &flow_arn)?;
            Ok(tx.list_flow_channels(&flow_arn, after, n)?)
        },
    )
    .await?;
    let channels = rows
        .into_iter()
        .map(|c| ChannelAssociatedWithFlowSummary {
            name: Some(c.name),
            channel_arn: Some(c.arn),
            mode: Some(c.mode),
            privacy: Some(c.privacy),
            metadata: c.metadata,
        })
        .collect();
    Ok(ListChannelsAssociatedWithChannelFlowResponse { channels: Some(channels), next_token })
}
