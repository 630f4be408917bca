//! AppInstanceAdmins: users or bots of an AppInstance, promoted. An admin has no ARN of its own.

use crate::arn::Resource;
use crate::failure::TxResult;
use crate::pagination::list_page;
use crate::service::{OwnerLock, Service, lock};
use crate::{app_instances, arn};
use carillon_api::shapes::*;
use carillon_api::{ApiError, Operation, RequestContext, Timestamp};
use carillon_store::{AdminRecord, Tx};

/// The name of the user or bot `member_arn` names, if it exists.
fn member_name(tx: &mut dyn Tx, member_arn: &str) -> TxResult<Option<Option<String>>> {
    Ok(match arn::resource(member_arn) {
        Some(Resource::User { .. }) => tx.get_user(member_arn)?.map(|u| Some(u.name)),
        Some(Resource::Bot { .. }) => tx.get_bot(member_arn)?.map(|b| b.name),
        _ => None,
    })
}

/// 400 for a user or bot of another AppInstance.
fn check_same_instance(app_instance_arn: &str, member_arn: &str) -> Result<(), ApiError> {
    match arn::resource(member_arn) {
        Some(r @ (Resource::User { .. } | Resource::Bot { .. })) if r.app_instance_arn() != app_instance_arn => {
            Err(ApiError::bad_request("Only a user or bot of the same AppInstance can be its admin."))
        }
        _ => Ok(()),
    }
}

fn identity(member_arn: String, name: Option<String>) -> Identity {
    Identity { arn: Some(member_arn), name }
}

fn not_admin(member_arn: &str) -> ApiError {
    ApiError::not_found(format!("{member_arn} is not an admin of the AppInstance."))
}

pub async fn create(
    svc: &Service,
    ctx: &RequestContext,
    input: CreateAppInstanceAdminRequest,
) -> Result<CreateAppInstanceAdminResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    arn::check_owner(ctx, &input.app_instance_admin_arn)?;
    check_same_instance(&input.app_instance_arn, &input.app_instance_admin_arn)?;
    let quota = svc.quotas.admins_per_app_instance;
    let now = svc.clock.now_ms();
    svc.write(move |tx| {
        lock(tx, OwnerLock::AppInstance(&input.app_instance_arn))?;
        let instance = app_instances::get(tx, &input.app_instance_arn)?;
        let member = &input.app_instance_admin_arn;
        let Some(name) = member_name(tx, member)? else {
            return Err(ApiError::not_found(format!("The user or bot {member} does not exist.")).into());
        };
        if tx.get_admin(&instance.arn, member)?.is_some() {
            return Err(ApiError::conflict(format!("{member} is already an admin of the AppInstance.")).into());
        }
        if tx.count_admins(&instance.arn)? >= quota {
            return Err(ApiError::limit_exceeded(format!("An AppInstance can have at most {quota} admins.")).into());
        }
        tx.insert_admin(&AdminRecord { seq: 0, app_instance_arn: instance.arn.clone(), member_arn: member.clone(), created_ms: now })?;
        Ok(CreateAppInstanceAdminResponse {
            app_instance_admin: Some(identity(member.clone(), name)),
            app_instance_arn: Some(instance.arn),
        })
    })
    .await
}

pub async fn describe(
    svc: &Service,
    ctx: &RequestContext,
    input: DescribeAppInstanceAdminRequest,
) -> Result<DescribeAppInstanceAdminResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    arn::check_owner(ctx, &input.app_instance_admin_arn)?;
    svc.read(move |tx| {
        app_instances::get(tx, &input.app_instance_arn)?;
        let admin = tx
            .get_admin(&input.app_instance_arn, &input.app_instance_admin_arn)?
            .ok_or_else(|| not_admin(&input.app_instance_admin_arn))?;
        let name = member_name(tx, &admin.member_arn)?.flatten();
        Ok(DescribeAppInstanceAdminResponse {
            app_instance_admin: Some(AppInstanceAdmin {
                admin: Some(identity(admin.member_arn, name)),
                app_instance_arn: Some(admin.app_instance_arn),
                created_timestamp: Some(Timestamp(admin.created_ms)),
            }),
        })
    })
    .await
}

pub async fn delete(svc: &Service, ctx: &RequestContext, input: DeleteAppInstanceAdminRequest) -> Result<(), ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    arn::check_owner(ctx, &input.app_instance_admin_arn)?;
    svc.write(move |tx| {
        lock(tx, OwnerLock::AppInstance(&input.app_instance_arn))?;
        app_instances::get(tx, &input.app_instance_arn)?;
        if tx.delete_admin(&input.app_instance_arn, &input.app_instance_admin_arn)? {
            Ok(())
        } else {
            Err(not_admin(&input.app_instance_admin_arn).into())
        }
    })
    .await
}

pub async fn list(
    svc: &Service,
    ctx: &RequestContext,
    input: ListAppInstanceAdminsRequest,
) -> Result<ListAppInstanceAdminsResponse, ApiError> {
    arn::check_owner(ctx, &input.app_instance_arn)?;
    let instance = input.app_instance_arn.clone();
    let (rows, next_token) = list_page(
        svc,
        ctx,
        Operation::ListAppInstanceAdmins.name(),
        &input.app_instance_arn,
        input.next_token.as_deref(),
        input.max_results,
        move |tx, after, n| {
            app_instances::get(tx, &instance)?;
            let admins = tx.list_admins(&instance, after, n)?;
            let mut out = Vec::with_capacity(admins.len());
            for a in admins {
                let name = member_name(tx, &a.member_arn)?.flatten();
                out.push((a, name));
            }
            Ok(out)
        },
    )
    .await?;
    let admins = rows.into_iter().map(|(a, name)| AppInstanceAdminSummary { admin: Some(identity(a.member_arn, name)) }).collect();
    Ok(ListAppInstanceAdminsResponse { app_instance_arn: Some(input.app_instance_arn), app_instance_admins: Some(admins), next_token })
}
