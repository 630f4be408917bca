//! AppInstances and their retention settings.

use crate::failure::TxResult;
use crate::pagination::list_page;
use crate::service::{OwnerLock, Service, lock};
use crate::{arn, idempotency, purge, tags};
use carillon_api::shapes::*;
use carillon_api::{ApiError, Operation, RequestContext, Timestamp};
use carillon_store::{AppInstanceRecord, AppInstanceUpdate, PurgeKind, Retention, Tx};

pub(crate) const RETENTION_GRACE_MS: i64 = 30 * 24 * 3600 * 1000;

pub(crate) fn get(tx: &mut dyn Tx, arn: &str) -> TxResult<AppInstanceRecord> {
    tx.get_app_instance(arn)?.ok_or_else(|| missing(arn).into())
}

fn missing(arn: &str) -> ApiError {
    ApiError::not_found(format!("The AppInstance {arn} does not exist."))
}

pub async fn create(svc: &Service, ctx: &RequestContext, input: CreateAppInstanceRequest) -> Result<CreateAppInstanceResponse, ApiError> {
    tags::check_tags(input.tags.as_deref())?;
    const OP: Operation = Operation::CreateAppInstance;
    let key = idempotency::key(ctx, OP, &input.client_request_token);
    let fp = idempotency::fingerprint(OP, &input);
    let tag_records = tags::to_records(input.tags.as_deref());
    let quota = svc.quotas.clone();
    let now = svc.clock.now_ms();
    let ctx = ctx.clone();
    svc.write(move |tx| {
        lock(tx, OwnerLock::AccountRegion { account: &ctx.account, region: &ctx.region })?;
        let replayed = idempotency::replay(tx, &key, &fp, |tx, a: &CreateAppInstanceResponse| {
            Ok(tx.get_app_instance(a.app_instance_arn.as_deref().unwrap_or_default())?.is_some())
        })?;
        if let Some(answer) = replayed {
            return Ok(answer);
        }
        if tx.count_app_instances(&ctx.account, &ctx.region)? >= quota.app_instances_per_account {
            return Err(ApiError::limit_exceeded(format!(
                "The account can have at most {} AppInstances in this region.",
                quota.app_instances_per_account
            ))
            .into());
        }
        let arn = arn::app_instance_arn(&ctx, &uuid::Uuid::new_v4().to_string());
        tx.insert_app_instance(&AppInstanceRecord {
            seq: 0,
            arn: arn.clone(),
            account: ctx.account.clone(),
            region: ctx.region.clone(),
            name: input.name.clone(),
            metadata: input.metadata.clone(),
            created_ms: now,
            updated_ms: now,
            retention_days: None,
            retention_set_ms: None,
        })?;
        tags::put(tx, &arn, &arn, &tag_records, quota.tags_per_resource)?;
        let answer = CreateAppInstanceResponse { app_instance_arn: Some(arn.clone()) };
        idempotency::remember(tx, &key, &fp, &arn, &arn, &answer, now)?;
        Ok(answer)
    })
    .await
}

pub async fn describe(
    svc: &Service,
    ctx: &RequestContext,
    input: DescribeAppInstanceRequest,
) -> Result<DescribeAppInstanceResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    let r = svc.read_one(move |tx| get(tx, &input.app_instance_arn)).await?;
    Ok(DescribeAppInstanceResponse {
        app_instance: Some(AppInstance {
            app_instance_arn: Some(r.arn),
            name: Some(r.name),
            created_timestamp: Some(Timestamp(r.created_ms)),
            last_updated_timestamp: Some(Timestamp(r.updated_ms)),
            metadata: r.metadata,
        }),
    })
}

pub async fn update(svc: &Service, ctx: &RequestContext, input: UpdateAppInstanceRequest) -> Result<UpdateAppInstanceResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    let now = svc.clock.now_ms();
    // Name and Metadata only, in one statement (a one-statement write): the retention settings
    // stay as they are.
    let update = AppInstanceUpdate {
        name: Some(input.name.clone()),
        metadata: Some(input.metadata.clone()),
        retention: None,
        touched_ms: Some(now),
    };
    svc.write_one(move |tx| {
        if !tx.update_app_instance(&input.app_instance_arn, &update)? {
            return Err(missing(&input.app_instance_arn).into());
        }
        Ok(UpdateAppInstanceResponse { app_instance_arn: Some(input.app_instance_arn.clone()) })
    })
    .await
}

pub async fn delete(svc: &Service, ctx: &RequestContext, input: DeleteAppInstanceRequest) -> Result<(), ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    let now = svc.clock.now_ms();
    let deferred = svc
        .write(move |tx| {
            lock(tx, OwnerLock::AppInstance(&input.app_instance_arn))?;
            purge::remove(tx, PurgeKind::AppInstance, &input.app_instance_arn, now)?
                .ok_or_else(|| ApiError::not_found(format!("The AppInstance {} does not exist.", input.app_instance_arn)).into())
        })
        .await?;
    if deferred {
        svc.purge_queued();
    }
    Ok(())
}

pub async fn list(svc: &Service, ctx: &RequestContext, input: ListAppInstancesRequest) -> Result<ListAppInstancesResponse, ApiError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let (rows, next_token) =
        list_page(svc, ctx, Operation::ListAppInstances.name(), "", input.next_token.as_deref(), input.max_results, move |tx, after, n| {
            Ok(tx.list_app_instances(&account, &region, after, n)?)
        })
        .await?;
    Ok(ListAppInstancesResponse {
        app_instances: Some(
            rows.into_iter()
                .map(|r| AppInstanceSummary { app_instance_arn: Some(r.arn), name: Some(r.name), metadata: r.metadata })
                .collect(),
        ),
        next_token,
    })
}

fn retention_settings(days: Option<i32>) -> AppInstanceRetentionSettings {
    AppInstanceRetentionSettings { channel_retention_settings: Some(ChannelRetentionSettings { retention_days: days }) }
}

pub async fn put_retention(
    svc: &Service,
    ctx: &RequestContext,
    input: PutAppInstanceRetentionSettingsRequest,
) -> Result<PutAppInstanceRetentionSettingsResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    let now = svc.clock.now_ms();
    let days = input.app_instance_retention_settings.channel_retention_settings.as_ref().and_then(|c| c.retention_days);
    let update = AppInstanceUpdate { retention: Some(Retention { days, set_ms: now }), ..AppInstanceUpdate::default() };
    svc.write(move |tx| {
        if !tx.update_app_instance(&input.app_instance_arn, &update)? {
            return Err(missing(&input.app_instance_arn).into());
        }
        Ok(())
    })
    .await?;
    Ok(PutAppInstanceRetentionSettingsResponse {
        app_instance_retention_settings: Some(retention_settings(days)),
        initiate_deletion_timestamp: Some(Timestamp(now.saturating_add(RETENTION_GRACE_MS))),
    })
}

pub async fn get_retention(
    svc: &Service,
    ctx: &RequestContext,
    input: GetAppInstanceRetentionSettingsRequest,
) -> Result<GetAppInstanceRetentionSettingsResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    let r = svc.read_one(move |tx| get(tx, &input.app_instance_arn)).await?;
    Ok(match r.retention_set_ms {
        None => GetAppInstanceRetentionSettingsResponse {
            app_instance_retention_settings: Some(AppInstanceRetentionSettings { channel_retention_settings: None }),
            initiate_deletion_timestamp: None,
        },
        Some(set) => GetAppInstanceRetentionSettingsResponse {
            app_instance_retention_settings: Some(retention_settings(r.retention_days)),
            initiate_deletion_timestamp: Some(Timestamp(set.saturating_add(RETENTION_GRACE_MS))),
        },
    })
}
