//! AppInstanceUsers, their expiration settings and the sweep that deletes expired ones.

use crate::failure::TxResult;
use crate::pagination::list_page;
use crate::service::{OwnerLock, Service, lock};
use crate::{app_instances, arn, idempotency, purge, tags};
use carillon_api::shapes::*;
use carillon_api::{ApiError, Operation, RequestContext, Timestamp};
use carillon_store::{Expiration, PurgeKind, Tx, UserRecord, UserUpdate};

const DAY_MS: i64 = 24 * 3600 * 1000;

pub(crate) fn get(tx: &mut dyn Tx, arn: &str) -> TxResult<UserRecord> {
    tx.get_user(arn)?.ok_or_else(|| missing(arn).into())
}

fn missing(arn: &str) -> ApiError {
    ApiError::not_found(format!("The AppInstanceUser {arn} does not exist."))
}

fn expiry(created_ms: i64, settings: Option<&ExpirationSettings>) -> (Option<i32>, Option<ExpirationCriterion>, Option<i64>) {
    match settings {
        Some(s) => (
            Some(s.expiration_days),
            Some(s.expiration_criterion),
            Some(created_ms.saturating_add(i64::from(s.expiration_days).saturating_mul(DAY_MS))),
        ),
        None => (None, None, None),
    }
}

fn settings_of(r: &UserRecord) -> Option<ExpirationSettings> {
    Some(ExpirationSettings { expiration_days: r.expiration_days?, expiration_criterion: r.expiration_criterion? })
}

pub async fn create(
    svc: &Service,
    ctx: &RequestContext,
    input: CreateAppInstanceUserRequest,
) -> Result<CreateAppInstanceUserResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    tags::check_tags(input.tags.as_deref())?;
    const OP: Operation = Operation::CreateAppInstanceUser;
    let key = idempotency::key(ctx, OP, &input.client_request_token);
    let fp = idempotency::fingerprint(OP, &input);
    let tag_records = tags::to_records(input.tags.as_deref());
    let quota = svc.quotas.clone();
    let now = svc.clock.now_ms();
    svc.write(move |tx| {
        lock(tx, OwnerLock::AppInstance(&input.app_instance_arn))?;
        let replayed = idempotency::replay(tx, &key, &fp, |tx, a: &CreateAppInstanceUserResponse| {
            Ok(tx.get_user(a.app_instance_user_arn.as_deref().unwrap_or_default())?.is_some())
        })?;
        if let Some(answer) = replayed {
            return Ok(answer);
        }
        let instance = app_instances::get(tx, &input.app_instance_arn)?;
        let user_arn = arn::user_arn(&instance.arn, &input.app_instance_user_id);
        if tx.get_user(&user_arn)?.is_some() {
            return Err(ApiError::conflict(format!("The AppInstanceUser {user_arn} already exists.")).into());
        }
        if tx.count_users(&instance.arn)? >= quota.users_per_app_instance {
            return Err(ApiError::limit_exceeded(format!("An AppInstance can have at most {} users.", quota.users_per_app_instance)).into());
        }
        let (expiration_days, expiration_criterion, expires_at_ms) = expiry(now, input.expiration_settings.as_ref());
        tx.insert_user(&UserRecord {
            seq: 0,
            arn: user_arn.clone(),
            app_instance_arn: instance.arn.clone(),
            user_id: input.app_instance_user_id.clone(),
            name: input.name.clone(),
            metadata: input.metadata.clone(),
            created_ms: now,
            updated_ms: now,
            expiration_days,
            expiration_criterion,
            expires_at_ms,
        })?;
        tags::put(tx, &user_arn, &instance.arn, &tag_records, quota.tags_per_resource)?;
        let answer = CreateAppInstanceUserResponse { app_instance_user_arn: Some(user_arn.clone()) };
        idempotency::remember(tx, &key, &fp, &user_arn, &instance.arn, &answer, now)?;
        Ok(answer)
    })
    .await
}

pub async fn describe(
    svc: &Service,
    ctx: &RequestContext,
    input: DescribeAppInstanceUserRequest,
) -> Result<DescribeAppInstanceUserResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_user_arn)?;
    let r = svc.read_one(move |tx| get(tx, &input.app_instance_user_arn)).await?;
    Ok(DescribeAppInstanceUserResponse {
        app_instance_user: Some(AppInstanceUser {
            expiration_settings: settings_of(&r),
            app_instance_user_arn: Some(r.arn),
            name: Some(r.name),
            metadata: r.metadata,
            created_timestamp: Some(Timestamp(r.created_ms)),
            last_updated_timestamp: Some(Timestamp(r.updated_ms)),
        }),
    })
}

pub async fn update(
    svc: &Service,
    ctx: &RequestContext,
    input: UpdateAppInstanceUserRequest,
) -> Result<UpdateAppInstanceUserResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_user_arn)?;
    let now = svc.clock.now_ms();
    // Name and Metadata only, in one statement (a one-statement write): the expiration settings
    // stay as they are.
    let update =
        UserUpdate { name: Some(input.name.clone()), metadata: Some(input.metadata.clone()), expiration: None, touched_ms: Some(now) };
    svc.write_one(move |tx| {
        if !tx.update_user(&input.app_instance_user_arn, &update)? {
            return Err(missing(&input.app_instance_user_arn).into());
        }
        Ok(UpdateAppInstanceUserResponse { app_instance_user_arn: Some(input.app_instance_user_arn.clone()) })
    })
    .await
}

pub async fn delete(svc: &Service, ctx: &RequestContext, input: DeleteAppInstanceUserRequest) -> Result<(), ApiError> {
    arn::check_owner(ctx, &input.app_instance_user_arn)?;
    let now = svc.clock.now_ms();
    let deferred = svc
        .write(move |tx| {
            lock(tx, OwnerLock::AppInstanceOf(&input.app_instance_user_arn))?;
            purge::remove(tx, PurgeKind::User, &input.app_instance_user_arn, now)?
                .ok_or_else(|| ApiError::not_found(format!("The AppInstanceUser {} does not exist.", input.app_instance_user_arn)).into())
        })
        .await?;
    if deferred {
        svc.purge_queued();
    }
    Ok(())
}

pub async fn list(
    svc: &Service,
    ctx: &RequestContext,
    input: ListAppInstanceUsersRequest,
) -> Result<ListAppInstanceUsersResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    let instance = input.app_instance_arn.clone();
    let (rows, next_token) = list_page(
        svc,
        ctx,
        Operation::ListAppInstanceUsers.name(),
        &input.app_instance_arn,
        input.next_token.as_deref(),
        input.max_results,
        move |tx, after, n| {
            app_instances::get(tx, &instance)?;
            Ok(tx.list_users(&instance, after, n)?)
        },
    )
    .await?;
    Ok(ListAppInstanceUsersResponse {
        app_instance_arn: Some(input.app_instance_arn),
        app_instance_users: Some(
            rows.into_iter()
                .map(|r| AppInstanceUserSummary { app_instance_user_arn: Some(r.arn), name: Some(r.name), metadata: r.metadata })
                .collect(),
        ),
        next_token,
    })
}

pub async fn put_expiration(
    svc: &Service,
    ctx: &RequestContext,
    input: PutAppInstanceUserExpirationSettingsRequest,
) -> Result<PutAppInstanceUserExpirationSettingsResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_user_arn)?;
    let now = svc.clock.now_ms();
    svc.write(move |tx| {
        // CreatedTimestamp never changes, so reading it apart from the update is safe; the update
        // itself writes the expiration members only.
        let created_ms = get(tx, &input.app_instance_user_arn)?.created_ms;
        let settings = input.expiration_settings.as_ref();
        let expiration = match expiry(created_ms, settings) {
            (Some(days), Some(criterion), Some(expires_at_ms)) => Some(Expiration { days, criterion, expires_at_ms }),
            _ => None,
        };
        let update = UserUpdate { expiration: Some(expiration), touched_ms: Some(now), ..UserUpdate::default() };
        if !tx.update_user(&input.app_instance_user_arn, &update)? {
            return Err(missing(&input.app_instance_user_arn).into());
        }
        Ok(PutAppInstanceUserExpirationSettingsResponse {
            expiration_settings: settings.cloned(),
            app_instance_user_arn: Some(input.app_instance_user_arn.clone()),
        })
    })
    .await
}

/// Deletes the users whose expiry has passed, a batch per transaction, each checked again inside
/// the transaction that deletes it.
pub async fn sweep_expired(svc: &Service) -> Result<usize, ApiError> {
    const BATCH: usize = 100;
    let mut deleted = 0;
    loop {
        let now = svc.clock.now_ms();
        let arns = svc.read(move |tx| Ok(tx.expired_users(now, BATCH)?)).await?;
        if arns.is_empty() {
            return Ok(deleted);
        }
        let n = arns.len();
        let (count, deferred) = svc
            .write(move |tx| {
                let (mut count, mut deferred) = (0, false);
                for arn in &arns {
                    lock(tx, OwnerLock::AppInstanceOf(arn))?;
                    if tx.get_user(arn)?.and_then(|u| u.expires_at_ms).is_some_and(|at| at <= now)
                        && let Some(d) = purge::remove(tx, PurgeKind::User, arn, now)?
                    {
                        count += 1;
                        deferred |= d;
                    }
                }
                Ok((count, deferred))
            })
            .await?;
        deleted += count;
        if deferred {
            svc.purge_queued();
        }
        if n < BATCH {
            return Ok(deleted);
        }
    }
}
