//! An AppInstance's messaging streaming configurations (`docs/behaviour.md`, "Messaging"):
//! configuration only, stored and returned; nothing is streamed. The calls are the account's own
//! (no bearer).

use super::flows::app_instance;
use crate::arn;
use crate::service::{OwnerLock, Service, lock};
use carillon_api::messaging::shapes::*;
use carillon_api::{ApiError, RequestContext};
use carillon_store::StreamingConfigRecord;

/// A Put names each data type once.
pub(crate) fn check_configs(configs: &[StreamingConfiguration]) -> Result<(), ApiError> {
    let mut seen = std::collections::HashSet::new();
    match configs.iter().find(|c| !seen.insert(c.data_type)) {
        Some(c) => Err(ApiError::bad_request(format!("The DataType {} appears more than once.", c.data_type.as_str()))),
        None => Ok(()),
    }
}

fn to_wire(r: StreamingConfigRecord) -> StreamingConfiguration {
    StreamingConfiguration { data_type: r.data_type, resource_arn: r.resource_arn }
}

pub async fn put(
    svc: &Service,
    ctx: &RequestContext,
    input: PutMessagingStreamingConfigurationsRequest,
) -> Result<PutMessagingStreamingConfigurationsResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    check_configs(&input.streaming_configurations)?;
    // The Kinesis stream's account is not checked: nothing is streamed to it.
    let records: Vec<StreamingConfigRecord> = input
        .streaming_configurations
        .iter()
        .map(|c| StreamingConfigRecord { data_type: c.data_type, resource_arn: c.resource_arn.clone() })
        .collect();
    let stored = svc
        .write(move |tx| {
            lock(tx, OwnerLock::AppInstance(&input.app_instance_arn))?;
            app_instance(tx, &input.app_instance_arn)?;
            tx.put_streaming_configurations(&input.app_instance_arn, &records)?;
            Ok(tx.get_streaming_configurations(&input.app_instance_arn)?)
        })
        .await?;
    Ok(PutMessagingStreamingConfigurationsResponse { streaming_configurations: Some(stored.into_iter().map(to_wire).collect()) })
}

pub async fn get(
    svc: &Service,
    ctx: &RequestContext,
    input: GetMessagingStreamingConfigurationsRequest,
) -> Result<GetMessagingStreamingConfigurationsResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    let stored = svc
        .read(move |tx| {
            app_instance(tx, &input.app_instance_arn)?;
            let stored = tx.get_streaming_configurations(&input.app_instance_arn)?;
            if stored.is_empty() {
                return Err(
                    ApiError::not_found(format!("The AppInstance {} has no streaming configurations.", input.app_instance_arn)).into()
                );
            }
            Ok(stored)
        })
        .await?;
    Ok(GetMessagingStreamingConfigurationsResponse { streaming_configurations: Some(stored.into_iter().map(to_wire).collect()) })
}

pub async fn delete(svc: &Service, ctx: &RequestContext, input: DeleteMessagingStreamingConfigurationsRequest) -> Result<(), ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    svc.write(move |tx| {
        lock(tx, OwnerLock::AppInstance(&input.app_instance_arn))?;
        app_instance(tx, &input.app_instance_arn)?;
        tx.delete_streaming_configurations(&input.app_instance_arn)?;
        Ok(())
    })
    .await
}
