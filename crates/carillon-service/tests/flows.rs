//! Channel flows and streaming configurations on an in-memory store: configuration only, stored,
//! validated, returned, tagged, associated under the matrix and cascaded with their AppInstance.
//! With `CARILLON_TEST_BACKEND=postgres` (and `CARILLON_TEST_POSTGRES_URL`) each test runs on a
//! fresh PostgreSQL database instead.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use carillon_api::messaging::ChimeSdkMessaging;
use carillon_api::messaging::shapes::*;
use carillon_api::{ApiError, ChimeSdkIdentity, ErrorKind, shapes as id};
use carillon_service::Service;
use carillon_store::{ResetCounts, ResetScope};
use common::*;

mod common;

const LAMBDA: &str = "arn:aws:lambda:us-east-1:444455556666:function:moderate";
const KINESIS: &str = "arn:aws:kinesis:us-east-1:444455556666:stream/chat";

async fn channel(svc: &Service, instance: &str, bearer: &str, name: &str) -> String {
    let input = CreateChannelRequest {
        app_instance_arn: instance.into(),
        name: name.into(),
        mode: None,
        privacy: None,
        metadata: Some(format!("about {name}")),
        client_request_token: format!("t-{name}"),
        tags: None,
        chime_bearer: bearer.into(),
        channel_id: None,
        member_arns: None,
        moderator_arns: None,
        elastic_channel_configuration: None,
        expiration_settings: None,
    };
    svc.create_channel(&ctx(), input).await.unwrap().channel_arn.unwrap()
}

fn processor(name: &str, order: i32) -> Processor {
    Processor {
        name: name.into(),
        configuration: ProcessorConfiguration {
            lambda: LambdaConfiguration { resource_arn: LAMBDA.into(), invocation_type: InvocationType::Async },
        },
        execution_order: order,
        fallback_action: FallbackAction::Continue,
    }
}

fn create_request(instance: &str, name: &str, token: &str) -> CreateChannelFlowRequest {
    CreateChannelFlowRequest {
        app_instance_arn: instance.into(),
        processors: vec![processor("p1", 1)],
        name: name.into(),
        tags: Some(vec![Tag { key: "team".into(), value: "chat".into() }]),
        client_request_token: token.into(),
    }
}

async fn create_flow(svc: &Service, instance: &str, name: &str) -> String {
    svc.create_channel_flow(&ctx(), create_request(instance, name, &format!("t-{name}"))).await.unwrap().channel_flow_arn.unwrap()
}

async fn describe_flow(svc: &Service, flow: &str) -> Result<ChannelFlow, ApiError> {
    Ok(svc.describe_channel_flow(&ctx(), DescribeChannelFlowRequest { channel_flow_arn: flow.into() }).await?.channel_flow.unwrap())
}

fn associate_request(channel: &str, flow: &str, bearer: &str) -> AssociateChannelFlowRequest {
    AssociateChannelFlowRequest { channel_arn: channel.into(), channel_flow_arn: flow.into(), chime_bearer: bearer.into() }
}

fn disassociate_request(channel: &str, flow: &str, bearer: &str) -> DisassociateChannelFlowRequest {
    DisassociateChannelFlowRequest { channel_arn: channel.into(), channel_flow_arn: flow.into(), chime_bearer: bearer.into() }
}

async fn describe_channel(svc: &Service, channel: &str, bearer: &str) -> Channel {
    let input = DescribeChannelRequest { channel_arn: channel.into(), chime_bearer: bearer.into() };
    svc.describe_channel(&ctx(), input).await.unwrap().channel.unwrap()
}

async fn delete_flow(svc: &Service, flow: &str) -> Result<(), ApiError> {
    svc.delete_channel_flow(&ctx(), DeleteChannelFlowRequest { channel_flow_arn: flow.into() }).await
}

fn streaming(instance: &str, configs: &[(MessagingDataType, &str)]) -> PutMessagingStreamingConfigurationsRequest {
    PutMessagingStreamingConfigurationsRequest {
        app_instance_arn: instance.into(),
        streaming_configurations: configs
            .iter()
            .map(|(data_type, arn)| StreamingConfiguration { data_type: *data_type, resource_arn: (*arn).into() })
            .collect(),
    }
}

async fn get_streaming(svc: &Service, instance: &str) -> Result<Vec<StreamingConfiguration>, ApiError> {
    let input = GetMessagingStreamingConfigurationsRequest { app_instance_arn: instance.into() };
    Ok(svc.get_messaging_streaming_configurations(&ctx(), input).await?.streaming_configurations.unwrap())
}

#[tokio::test]
async fn flows_are_created_described_updated_listed_and_deleted() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let flow = create_flow(&svc, &a, "moderation").await;
    let (prefix, flow_id) = flow.rsplit_once('/').unwrap();
    assert_eq!(prefix, format!("{a}/channel-flow"));
    assert_eq!(uuid::Uuid::parse_str(flow_id).unwrap().get_version_num(), 4);

    let f = describe_flow(&svc, &flow).await.unwrap();
    assert_eq!(f.channel_flow_arn.as_deref(), Some(flow.as_str()));
    assert_eq!(f.name.as_deref(), Some("moderation"));
    assert_eq!(f.processors, Some(vec![processor("p1", 1)]));
    assert_eq!(f.created_timestamp, f.last_updated_timestamp);

    let update = UpdateChannelFlowRequest {
        channel_flow_arn: flow.clone(),
        processors: vec![processor("b", 2), processor("a", 1)],
        name: "renamed".into(),
    };
    assert_eq!(svc.update_channel_flow(&ctx(), update).await.unwrap().channel_flow_arn.as_deref(), Some(flow.as_str()));
    let g = describe_flow(&svc, &flow).await.unwrap();
    assert_eq!(g.name.as_deref(), Some("renamed"));
    assert_eq!(g.processors, Some(vec![processor("b", 2), processor("a", 1)]), "kept as given");
    assert_eq!(g.created_timestamp, f.created_timestamp);
    assert!(g.last_updated_timestamp > f.last_updated_timestamp);

    // Lists page by creation order, with the one list helper's tokens.
    let second = create_flow(&svc, &a, "second").await;
    let third = create_flow(&svc, &a, "third").await;
    let page = |next_token: Option<String>| ListChannelFlowsRequest { app_instance_arn: a.clone(), max_results: Some(2), next_token };
    let p1 = svc.list_channel_flows(&ctx(), page(None)).await.unwrap();
    let names = |p: &ListChannelFlowsResponse| {
        p.channel_flows.as_ref().unwrap().iter().map(|f| f.channel_flow_arn.clone().unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(names(&p1), vec![flow.clone(), second.clone()]);
    assert_eq!(p1.channel_flows.as_ref().unwrap()[0].processors, g.processors);
    let p2 = svc.list_channel_flows(&ctx(), page(p1.next_token.clone())).await.unwrap();
    assert_eq!((names(&p2), p2.next_token), (vec![third.clone()], None));
    let bad = ListChannelFlowsRequest { app_instance_arn: a.clone(), max_results: None, next_token: Some("forged".into()) };
    assert_eq!(kind(svc.list_channel_flows(&ctx(), bad).await), ErrorKind::BadRequest);

    delete_flow(&svc, &second).await.unwrap();
    assert_eq!(kind(describe_flow(&svc, &second).await), ErrorKind::NotFound);
    assert_eq!(kind(delete_flow(&svc, &second).await), ErrorKind::NotFound);
    let all = svc.list_channel_flows(&ctx(), page(None)).await.unwrap();
    assert_eq!(names(&all), vec![flow, third]);
}

#[tokio::test]
async fn flow_requests_are_checked() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let missing = format!("arn:aws:chime:{REGION}:{ACCOUNT}:app-instance/none");
    assert_eq!(kind(svc.create_channel_flow(&ctx(), create_request(&missing, "f", "t")).await), ErrorKind::NotFound);
    let foreign = a.replace(ACCOUNT, "999999999999");
    assert_eq!(kind(svc.create_channel_flow(&ctx(), create_request(&foreign, "f", "t")).await), ErrorKind::Forbidden);
    let mut twice = create_request(&a, "f", "t");
    twice.processors = vec![processor("a", 1), processor("b", 1)];
    assert_eq!(kind(svc.create_channel_flow(&ctx(), twice).await), ErrorKind::BadRequest, "one processor per ExecutionOrder");
    let mut reserved = create_request(&a, "f", "t");
    reserved.tags = Some(vec![Tag { key: "aws:x".into(), value: "v".into() }]);
    assert_eq!(kind(svc.create_channel_flow(&ctx(), reserved).await), ErrorKind::BadRequest);
    let list = ListChannelFlowsRequest { app_instance_arn: missing.clone(), max_results: None, next_token: None };
    assert_eq!(kind(svc.list_channel_flows(&ctx(), list).await), ErrorKind::NotFound);
    assert_eq!(kind(describe_flow(&svc, &format!("{a}/channel-flow/none")).await), ErrorKind::NotFound);
    assert_eq!(kind(describe_flow(&svc, &format!("{a}/channel/none")).await), ErrorKind::NotFound, "a channel ARN names no flow");
    let update = UpdateChannelFlowRequest { channel_flow_arn: format!("{a}/channel-flow/none"), processors: vec![], name: "x".into() };
    assert_eq!(kind(svc.update_channel_flow(&ctx(), update).await), ErrorKind::NotFound);

    // ClientRequestToken: the same parameters answer the first flow; others are a 400.
    let first = svc.create_channel_flow(&ctx(), create_request(&a, "f", "token")).await.unwrap();
    let again = svc.create_channel_flow(&ctx(), create_request(&a, "f", "token")).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(kind(svc.create_channel_flow(&ctx(), create_request(&a, "other", "token")).await), ErrorKind::BadRequest);
    let list = ListChannelFlowsRequest { app_instance_arn: a.clone(), max_results: None, next_token: None };
    assert_eq!(svc.list_channel_flows(&ctx(), list).await.unwrap().channel_flows.unwrap().len(), 1);
    // Once the flow is gone, the token makes a new one.
    delete_flow(&svc, first.channel_flow_arn.as_deref().unwrap()).await.unwrap();
    let new = svc.create_channel_flow(&ctx(), create_request(&a, "f", "token")).await.unwrap();
    assert_ne!(new, first);
}

#[tokio::test]
async fn flows_are_tagged_through_messaging() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let flow = create_flow(&svc, &a, "f").await;
    let list = || ListTagsForResourceRequest { resource_arn: flow.clone() };
    let keys = |r: ListTagsForResourceResponse| r.tags.unwrap().into_iter().map(|t| t.key).collect::<Vec<_>>();
    assert_eq!(keys(ChimeSdkMessaging::list_tags_for_resource(&svc.svc, &ctx(), list()).await.unwrap()), ["team"]);
    let tag = TagResourceRequest { resource_arn: flow.clone(), tags: vec![Tag { key: "env".into(), value: "dev".into() }] };
    ChimeSdkMessaging::tag_resource(&svc.svc, &ctx(), tag).await.unwrap();
    assert_eq!(keys(ChimeSdkMessaging::list_tags_for_resource(&svc.svc, &ctx(), list()).await.unwrap()), ["team", "env"]);
    let untag = UntagResourceRequest { resource_arn: flow.clone(), tag_keys: vec!["team".into()] };
    ChimeSdkMessaging::untag_resource(&svc.svc, &ctx(), untag).await.unwrap();
    assert_eq!(keys(ChimeSdkMessaging::list_tags_for_resource(&svc.svc, &ctx(), list()).await.unwrap()), ["env"]);
    // Identity's tag operations name the same tags.
    let identity_list = id::ListTagsForResourceRequest { resource_arn: flow.clone() };
    let tags = ChimeSdkIdentity::list_tags_for_resource(&svc.svc, &ctx(), identity_list).await.unwrap().tags.unwrap();
    assert_eq!(tags.into_iter().map(|t| t.key).collect::<Vec<_>>(), ["env"]);
    delete_flow(&svc, &flow).await.unwrap();
    assert_eq!(kind(ChimeSdkMessaging::list_tags_for_resource(&svc.svc, &ctx(), list()).await), ErrorKind::NotFound);
}

#[tokio::test]
async fn associations_need_an_admin_or_moderator_and_block_the_flows_deletion() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let (owner, admin, member, stranger) =
        (user(&svc, &a, "owner").await, user(&svc, &a, "admin").await, user(&svc, &a, "member").await, user(&svc, &a, "stranger").await);
    svc.create_app_instance_admin(
        &ctx(),
        id::CreateAppInstanceAdminRequest { app_instance_admin_arn: admin.clone(), app_instance_arn: a.clone() },
    )
    .await
    .unwrap();
    let c1 = channel(&svc, &a, &owner, "c1").await;
    let c2 = channel(&svc, &a, &owner, "c2").await;
    let add = CreateChannelMembershipRequest {
        channel_arn: c1.clone(),
        member_arn: member.clone(),
        r#type: ChannelMembershipType::Default,
        chime_bearer: owner.clone(),
        sub_channel_id: None,
    };
    svc.create_channel_membership(&ctx(), add).await.unwrap();
    let flow = create_flow(&svc, &a, "f").await;
    let other = create_flow(&svc, &a, "g").await;

    // A plain member and a user with no role are refused; the creator (a moderator) and an admin may.
    for bearer in [&member, &stranger] {
        assert_eq!(kind(svc.associate_channel_flow(&ctx(), associate_request(&c1, &flow, bearer)).await), ErrorKind::Forbidden);
    }
    assert_eq!(describe_channel(&svc, &c1, &owner).await.channel_flow_arn, None);
    svc.associate_channel_flow(&ctx(), associate_request(&c1, &flow, &owner)).await.unwrap();
    svc.associate_channel_flow(&ctx(), associate_request(&c1, &flow, &owner)).await.unwrap();
    svc.associate_channel_flow(&ctx(), associate_request(&c2, &flow, &admin)).await.unwrap();
    assert_eq!(describe_channel(&svc, &c1, &owner).await.channel_flow_arn.as_deref(), Some(flow.as_str()));
    assert_eq!(
        kind(svc.associate_channel_flow(&ctx(), associate_request(&c1, &other, &owner)).await),
        ErrorKind::Conflict,
        "one flow per channel"
    );
    let missing = format!("{a}/channel-flow/none");
    assert_eq!(kind(svc.associate_channel_flow(&ctx(), associate_request(&c1, &missing, &owner)).await), ErrorKind::NotFound);

    // The channels of a flow page by channel creation order.
    let page = |next_token: Option<String>| ListChannelsAssociatedWithChannelFlowRequest {
        channel_flow_arn: flow.clone(),
        max_results: Some(1),
        next_token,
    };
    let p1 = svc.list_channels_associated_with_channel_flow(&ctx(), page(None)).await.unwrap();
    let summary = &p1.channels.as_ref().unwrap()[0];
    assert_eq!(
        (summary.channel_arn.as_deref(), summary.name.as_deref(), summary.metadata.as_deref()),
        (Some(c1.as_str()), Some("c1"), Some("about c1"))
    );
    assert_eq!((summary.mode, summary.privacy), (Some(ChannelMode::Unrestricted), Some(ChannelPrivacy::Public)));
    let p2 = svc.list_channels_associated_with_channel_flow(&ctx(), page(p1.next_token.clone())).await.unwrap();
    assert_eq!(p2.channels.unwrap()[0].channel_arn.as_deref(), Some(c2.as_str()));
    assert_eq!(p2.next_token, None);

    // A channel with a flow delivers as if every processor passed the message through unchanged.
    let send = SendChannelMessageRequest {
        channel_arn: c1.clone(),
        content: "hello".into(),
        r#type: ChannelMessageType::Standard,
        persistence: ChannelMessagePersistenceType::Persistent,
        metadata: Some("m".into()),
        client_request_token: "send-1".into(),
        chime_bearer: member.clone(),
        push_notification: None,
        message_attributes: None,
        sub_channel_id: None,
        content_type: None,
        target: None,
    };
    let id = svc.send_channel_message(&ctx(), send).await.unwrap().message_id.unwrap();
    let get = GetChannelMessageRequest { channel_arn: c1.clone(), message_id: id, chime_bearer: member.clone(), sub_channel_id: None };
    let m = svc.get_channel_message(&ctx(), get).await.unwrap().channel_message.unwrap();
    assert_eq!((m.content.as_deref(), m.metadata.as_deref()), (Some("hello"), Some("m")));

    // Deleting an associated flow is a conflict until every channel is disassociated.
    assert_eq!(kind(delete_flow(&svc, &flow).await), ErrorKind::Conflict);
    assert_eq!(kind(svc.disassociate_channel_flow(&ctx(), disassociate_request(&c1, &flow, &member)).await), ErrorKind::Forbidden);
    assert_eq!(
        kind(svc.disassociate_channel_flow(&ctx(), disassociate_request(&c1, &other, &owner)).await),
        ErrorKind::NotFound,
        "not this channel's flow"
    );
    svc.disassociate_channel_flow(&ctx(), disassociate_request(&c1, &flow, &owner)).await.unwrap();
    assert_eq!(describe_channel(&svc, &c1, &owner).await.channel_flow_arn, None);
    assert_eq!(kind(delete_flow(&svc, &flow).await), ErrorKind::Conflict, "c2 still uses it");
    // Deleting the channel ends its association too.
    let delete = DeleteChannelRequest { channel_arn: c2.clone(), chime_bearer: owner.clone() };
    svc.delete_channel(&ctx(), delete).await.unwrap();
    delete_flow(&svc, &flow).await.unwrap();
}

#[tokio::test]
async fn a_flow_serves_only_its_own_app_instances_channels() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let b = instance(&svc, "two").await;
    let owner = user(&svc, &a, "owner").await;
    let c = channel(&svc, &a, &owner, "c").await;
    let foreign = create_flow(&svc, &b, "f").await;
    assert_eq!(kind(svc.associate_channel_flow(&ctx(), associate_request(&c, &foreign, &owner)).await), ErrorKind::BadRequest);
    let other_account = c.replace(ACCOUNT, "999999999999");
    let flow = create_flow(&svc, &a, "g").await;
    assert_eq!(kind(svc.associate_channel_flow(&ctx(), associate_request(&other_account, &flow, &owner)).await), ErrorKind::Forbidden);
}

#[tokio::test]
async fn streaming_configurations_are_put_got_and_deleted() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    assert_eq!(kind(get_streaming(&svc, &a).await), ErrorKind::NotFound, "none set");
    let put = streaming(&a, &[(MessagingDataType::Channel, KINESIS), (MessagingDataType::Channelmessage, KINESIS)]);
    let answer = svc.put_messaging_streaming_configurations(&ctx(), put.clone()).await.unwrap();
    assert_eq!(answer.streaming_configurations.as_ref(), Some(&put.streaming_configurations));
    assert_eq!(get_streaming(&svc, &a).await.unwrap(), put.streaming_configurations);
    // A Put replaces the set.
    let other = format!("{KINESIS}-2");
    let put = streaming(&a, &[(MessagingDataType::Channelmessage, other.as_str())]);
    svc.put_messaging_streaming_configurations(&ctx(), put.clone()).await.unwrap();
    assert_eq!(get_streaming(&svc, &a).await.unwrap(), put.streaming_configurations);
    let twice = streaming(&a, &[(MessagingDataType::Channel, KINESIS), (MessagingDataType::Channel, KINESIS)]);
    assert_eq!(kind(svc.put_messaging_streaming_configurations(&ctx(), twice).await), ErrorKind::BadRequest);

    let missing = format!("arn:aws:chime:{REGION}:{ACCOUNT}:app-instance/none");
    assert_eq!(
        kind(svc.put_messaging_streaming_configurations(&ctx(), streaming(&missing, &[(MessagingDataType::Channel, KINESIS)])).await),
        ErrorKind::NotFound
    );
    assert_eq!(kind(get_streaming(&svc, &missing).await), ErrorKind::NotFound);
    let foreign = a.replace(ACCOUNT, "999999999999");
    assert_eq!(kind(get_streaming(&svc, &foreign).await), ErrorKind::Forbidden);

    let delete = || DeleteMessagingStreamingConfigurationsRequest { app_instance_arn: a.clone() };
    svc.delete_messaging_streaming_configurations(&ctx(), delete()).await.unwrap();
    assert_eq!(kind(get_streaming(&svc, &a).await), ErrorKind::NotFound);
    svc.delete_messaging_streaming_configurations(&ctx(), delete()).await.unwrap();
}

#[tokio::test]
async fn flows_and_streaming_go_with_their_app_instance() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let flow = create_flow(&svc, &a, "f").await;
    svc.put_messaging_streaming_configurations(&ctx(), streaming(&a, &[(MessagingDataType::Channel, KINESIS)])).await.unwrap();
    svc.delete_app_instance(&ctx(), id::DeleteAppInstanceRequest { app_instance_arn: a.clone() }).await.unwrap();
    assert_eq!(kind(describe_flow(&svc, &flow).await), ErrorKind::NotFound);

    let b = instance(&svc, "two").await;
    create_flow(&svc, &b, "f").await;
    create_flow(&svc, &b, "g").await;
    let put = streaming(&b, &[(MessagingDataType::Channel, KINESIS), (MessagingDataType::Channelmessage, KINESIS)]);
    svc.put_messaging_streaming_configurations(&ctx(), put).await.unwrap();
    let counts = svc.reset(ResetScope::app_instance(&b)).await.unwrap();
    assert_eq!(counts, ResetCounts { app_instances: 1, channel_flows: 2, streaming_configurations: 2, ..Default::default() });
    assert_eq!(kind(get_streaming(&svc, &b).await), ErrorKind::NotFound);
}
