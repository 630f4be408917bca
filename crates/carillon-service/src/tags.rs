//! Tags of AppInstances, users, bots, channels and channel flows.

use crate::arn::{self, Resource};
use crate::failure::TxResult;
use crate::service::{OwnerLock, Service, lock};
use carillon_api::shapes::{ListTagsForResourceRequest, ListTagsForResourceResponse, Tag, TagResourceRequest, UntagResourceRequest};
use carillon_api::{ApiError, RequestContext};
use carillon_store::Tx;

/// Keys beginning `aws:` are AWS's; a key may appear once per request.
pub fn check_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Result<(), ApiError> {
    let mut seen = std::collections::HashSet::new();
    for key in keys {
        if key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:")) {
            return Err(ApiError::bad_request("Tag keys beginning with 'aws:' are reserved for AWS use."));
        }
        if !seen.insert(key) {
            return Err(ApiError::bad_request("A tag key appears more than once in the request."));
        }
    }
    Ok(())
}

pub fn check_tags(tags: Option<&[Tag]>) -> Result<(), ApiError> {
    check_keys(tags.unwrap_or_default().iter().map(|t| t.key.as_str()))
}

pub fn to_records(tags: Option<&[Tag]>) -> Vec<carillon_store::Tag> {
    tags.unwrap_or_default().iter().map(|t| carillon_store::Tag { key: t.key.clone(), value: t.value.clone() }).collect()
}

/// Sets tags on a resource, within the quota.
pub fn put(tx: &mut dyn Tx, resource_arn: &str, app_instance_arn: &str, tags: &[carillon_store::Tag], quota: u64) -> TxResult<()> {
    if tags.is_empty() {
        return Ok(());
    }
    let existing = tx.get_tags(resource_arn)?;
    let added = tags.iter().filter(|t| !existing.iter().any(|e| e.key == t.key)).count();
    if (existing.len() + added) as u64 > quota {
        return Err(ApiError::limit_exceeded(format!("A resource can have at most {quota} tags.")).into());
    }
    tx.put_tags(resource_arn, app_instance_arn, tags)?;
    Ok(())
}

/// The taggable resource `arn` names, checked to exist.
fn existing(tx: &mut dyn Tx, arn: &str) -> TxResult<Resource> {
    let not_found = || ApiError::not_found(format!("The resource {arn} does not exist."));
    let resource = arn::resource(arn).ok_or_else(not_found)?;
    let exists = match &resource {
        Resource::AppInstance { app_instance_arn } => tx.get_app_instance(app_instance_arn)?.is_some(),
        Resource::User { .. } => tx.get_user(arn)?.is_some(),
        Resource::Bot { .. } => tx.get_bot(arn)?.is_some(),
        // A channel is found only while its AppInstance is.
        Resource::Channel { app_instance_arn, .. } => tx.get_app_instance(app_instance_arn)?.is_some() && tx.get_channel(arn)?.is_some(),
        Resource::ChannelFlow { app_instance_arn, .. } => {
            tx.get_app_instance(app_instance_arn)?.is_some() && tx.get_channel_flow(arn)?.is_some()
        }
    };
    if exists { Ok(resource) } else { Err(not_found().into()) }
}

pub async fn tag(svc: &Service, ctx: &RequestContext, input: TagResourceRequest) -> Result<(), ApiError> {
    arn::check_owner(ctx, &input.resource_arn)?;
    check_tags(Some(&input.tags))?;
    let tags = to_records(Some(&input.tags));
    let quota = svc.quotas.tags_per_resource;
    svc.write(move |tx| {
        lock(tx, OwnerLock::AppInstanceOf(&input.resource_arn))?;
        let resource = existing(tx, &input.resource_arn)?;
        put(tx, &input.resource_arn, resource.app_instance_arn(), &tags, quota)
    })
    .await
}

pub async fn untag(svc: &Service, ctx: &RequestContext, input: UntagResourceRequest) -> Result<(), ApiError> {
    arn::check_owner(ctx, &input.resource_arn)?;
    check_keys(input.tag_keys.iter().map(String::as_str))?;
    svc.write(move |tx| {
        lock(tx, OwnerLock::AppInstanceOf(&input.resource_arn))?;
        existing(tx, &input.resource_arn)?;
        tx.delete_tags(&input.resource_arn, &input.tag_keys)?;
        Ok(())
    })
    .await
}

pub async fn list(svc: &Service, ctx: &RequestContext, input: ListTagsForResourceRequest) -> Result<ListTagsForResourceResponse, ApiError> {
    arn::check_owner(ctx, &input.resource_arn)?;
    svc.read(move |tx| {
        existing(tx, &input.resource_arn)?;
        let tags = tx.get_tags(&input.resource_arn)?;
        Ok(ListTagsForResourceResponse { tags: Some(tags.into_iter().map(|t| Tag { key: t.key, value: t.value }).collect()) })
    })
    .await
}
