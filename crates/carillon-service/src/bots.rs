//! AppInstanceBots. The Lex configuration is checked against the model by the wire layer; the
//! Lex bot itself is not contacted.

use crate::failure::TxResult;
use crate::pagination::list_page;
use crate::service::{OwnerLock, Service, lock};
use crate::{app_instances, arn, idempotency, tags};
use carillon_api::shapes::*;
use carillon_api::{ApiError, Operation, RequestContext, Timestamp};
use carillon_store::{BotRecord, BotUpdate, Tx};

pub(crate) fn get(tx: &mut dyn Tx, arn: &str) -> TxResult<BotRecord> {
    tx.get_bot(arn)?.ok_or_else(|| missing(arn).into())
}

fn missing(arn: &str) -> ApiError {
    ApiError::not_found(format!("The AppInstanceBot {arn} does not exist."))
}

pub(crate) fn configuration_json(c: &Configuration) -> Result<String, ApiError> {
    serde_json::to_string(c).map_err(|_| ApiError::internal("The service failed to process the request."))
}

pub async fn create(
    svc: &Service,
    ctx: &RequestContext,
    input: CreateAppInstanceBotRequest,
) -> Result<CreateAppInstanceBotResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    tags::check_tags(input.tags.as_deref())?;
    const OP: Operation = Operation::CreateAppInstanceBot;
    let key = idempotency::key(ctx, OP, &input.client_request_token);
    let fp = idempotency::fingerprint(OP, &input);
    let tag_records = tags::to_records(input.tags.as_deref());
    let configuration = configuration_json(&input.configuration)?;
    let quota = svc.quotas.clone();
    let now = svc.clock.now_ms();
    svc.write(move |tx| {
        lock(tx, OwnerLock::AppInstance(&input.app_instance_arn))?;
        let replayed = idempotency::replay(tx, &key, &fp, |tx, a: &CreateAppInstanceBotResponse| {
            Ok(tx.get_bot(a.app_instance_bot_arn.as_deref().unwrap_or_default())?.is_some())
        })?;
        if let Some(answer) = replayed {
            return Ok(answer);
        }
        let instance = app_instances::get(tx, &input.app_instance_arn)?;
        if tx.count_bots(&instance.arn)? >= quota.bots_per_app_instance {
            return Err(ApiError::limit_exceeded(format!("An AppInstance can have at most {} bots.", quota.bots_per_app_instance)).into());
        }
        let bot_arn = arn::bot_arn(&instance.arn, &uuid::Uuid::new_v4().to_string());
        tx.insert_bot(&BotRecord {
            seq: 0,
            arn: bot_arn.clone(),
            app_instance_arn: instance.arn.clone(),
            name: input.name.clone(),
            metadata: input.metadata.clone(),
            configuration: configuration.clone(),
            created_ms: now,
            updated_ms: now,
        })?;
        tags::put(tx, &bot_arn, &instance.arn, &tag_records, quota.tags_per_resource)?;
        let answer = CreateAppInstanceBotResponse { app_instance_bot_arn: Some(bot_arn.clone()) };
        idempotency::remember(tx, &key, &fp, &bot_arn, &instance.arn, &answer, now)?;
        Ok(answer)
    })
    .await
}

pub async fn describe(
    svc: &Service,
    ctx: &RequestContext,
    input: DescribeAppInstanceBotRequest,
) -> Result<DescribeAppInstanceBotResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_bot_arn)?;
    let r = svc.read_one(move |tx| get(tx, &input.app_instance_bot_arn)).await?;
    Ok(DescribeAppInstanceBotResponse {
        app_instance_bot: Some(AppInstanceBot {
            configuration: serde_json::from_str(&r.configuration).ok(),
            app_instance_bot_arn: Some(r.arn),
            name: r.name,
            created_timestamp: Some(Timestamp(r.created_ms)),
            last_updated_timestamp: Some(Timestamp(r.updated_ms)),
            metadata: r.metadata,
        }),
    })
}

pub async fn update(
    svc: &Service,
    ctx: &RequestContext,
    input: UpdateAppInstanceBotRequest,
) -> Result<UpdateAppInstanceBotResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_bot_arn)?;
    let configuration = input.configuration.as_ref().map(configuration_json).transpose()?;
    let now = svc.clock.now_ms();
    // The members named only, in one statement (a one-statement write): a Configuration left out
    // stays as it is.
    let update = BotUpdate { name: Some(input.name.clone()), metadata: Some(input.metadata.clone()), configuration, touched_ms: Some(now) };
    svc.write_one(move |tx| {
        if !tx.update_bot(&input.app_instance_bot_arn, &update)? {
            return Err(missing(&input.app_instance_bot_arn).into());
        }
        Ok(UpdateAppInstanceBotResponse { app_instance_bot_arn: Some(input.app_instance_bot_arn.clone()) })
    })
    .await
}

pub async fn delete(svc: &Service, ctx: &RequestContext, input: DeleteAppInstanceBotRequest) -> Result<(), ApiError> {
    arn::check_owner(ctx, &input.app_instance_bot_arn)?;
    svc.write(move |tx| {
        lock(tx, OwnerLock::AppInstanceOf(&input.app_instance_bot_arn))?;
        // A bot leaves every channel with it: memberships and moderator roles; messages stay.
        tx.delete_member_everywhere(&input.app_instance_bot_arn)?;
        if tx.delete_bot(&input.app_instance_bot_arn)? {
            Ok(())
        } else {
            Err(ApiError::not_found(format!("The AppInstanceBot {} does not exist.", input.app_instance_bot_arn)).into())
        }
    })
    .await
}

pub async fn list(svc: &Service, ctx: &RequestContext, input: ListAppInstanceBotsRequest) -> Result<ListAppInstanceBotsResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    let instance = input.app_instance_arn.clone();
    let (rows, next_token) = list_page(
        svc,
        ctx,
        Operation::ListAppInstanceBots.name(),
        &input.app_instance_arn,
        input.next_token.as_deref(),
        input.max_results,
        move |tx, after, n| {
            app_instances::get(tx, &instance)?;
            Ok(tx.list_bots(&instance, after, n)?)
        },
    )
    .await?;
    Ok(ListAppInstanceBotsResponse {
        app_instance_arn: Some(input.app_instance_arn),
        app_instance_bots: Some(
            rows.into_iter()
                .map(|r| AppInstanceBotSummary { app_instance_bot_arn: Some(r.arn), name: r.name, metadata: r.metadata })
                .collect(),
        ),
        next_token,
    })
}
