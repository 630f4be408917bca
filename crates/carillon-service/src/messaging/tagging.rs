//! Tags of channels through the Messaging operations: the same rules and store as Identity's tags
//! (`crate::tags`), on the Messaging shapes.

use crate::service::Service;
use crate::tags;
use carillon_api::messaging::shapes::{
    ListTagsForResourceRequest, ListTagsForResourceResponse, Tag, TagResourceRequest, UntagResourceRequest,
};
use carillon_api::{ApiError, RequestContext, shapes as identity};

pub(crate) fn to_identity(tags: &[Tag]) -> Vec<identity::Tag> {
    tags.iter().map(|t| identity::Tag { key: t.key.clone(), value: t.value.clone() }).collect()
}

pub async fn tag(svc: &Service, ctx: &RequestContext, input: TagResourceRequest) -> Result<(), ApiError> {
    let input = identity::TagResourceRequest { tags: to_identity(&input.tags), resource_arn: input.resource_arn };
    tags::tag(svc, ctx, input).await
}

pub async fn untag(svc: &Service, ctx: &RequestContext, input: UntagResourceRequest) -> Result<(), ApiError> {
    tags::untag(svc, ctx, identity::UntagResourceRequest { resource_arn: input.resource_arn, tag_keys: input.tag_keys }).await
}

pub async fn list(svc: &Service, ctx: &RequestContext, input: ListTagsForResourceRequest) -> Result<ListTagsForResourceResponse, ApiError> {
    let out = tags::list(svc, ctx, identity::ListTagsForResourceRequest { resource_arn: input.resource_arn }).await?;
    Ok(ListTagsForResourceResponse { tags: out.tags.map(|t| t.into_iter().map(|t| Tag { key: t.key, value: t.value }).collect()) })
}
