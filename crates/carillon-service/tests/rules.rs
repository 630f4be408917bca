//! The service's rules, on an in-memory store: quotas, idempotency, cascades, ownership,
//! expiration, endpoint uniqueness, update timestamps and paging. Each test calls the typed
//! operations of `ChimeSdkIdentity` directly, with no HTTP in between.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use carillon_api::shapes::*;
use carillon_api::{ChimeSdkIdentity, ErrorKind, RequestContext};
use carillon_service::{Quotas, Service};
use common::{ACCOUNT, DAY_MS, REGION, ctx, ctx_of, kind, memory_service};

mod common;

fn create_instance_request(name: &str, token: &str) -> CreateAppInstanceRequest {
    CreateAppInstanceRequest { name: name.into(), metadata: None, client_request_token: token.into(), tags: None }
}

async fn instance(svc: &Service, name: &str) -> String {
    let token = format!("token-{name}");
    svc.create_app_instance(&ctx(), create_instance_request(name, &token)).await.unwrap().app_instance_arn.unwrap()
}

fn user_request(instance: &str, id: &str, expiration: Option<ExpirationSettings>) -> CreateAppInstanceUserRequest {
    CreateAppInstanceUserRequest {
        app_instance_arn: instance.into(),
        app_instance_user_id: id.into(),
        name: format!("user {id}"),
        metadata: None,
        client_request_token: format!("token-{id}"),
        tags: None,
        expiration_settings: expiration,
    }
}

async fn user(svc: &Service, instance: &str, id: &str) -> String {
    svc.create_app_instance_user(&ctx(), user_request(instance, id, None)).await.unwrap().app_instance_user_arn.unwrap()
}

async fn bot(svc: &Service, instance: &str, token: &str) -> String {
    let configuration = Configuration {
        lex: LexConfiguration {
            responds_to: None,
            invoked_by: None,
            lex_bot_alias_arn: format!("arn:aws:lex:{REGION}:{ACCOUNT}:bot-alias/BOT/ALIAS"),
            locale_id: "en_US".into(),
            welcome_intent: None,
        },
    };
    let input = CreateAppInstanceBotRequest {
        app_instance_arn: instance.into(),
        name: Some("bot".into()),
        metadata: None,
        client_request_token: token.into(),
        tags: None,
        configuration,
    };
    svc.create_app_instance_bot(&ctx(), input).await.unwrap().app_instance_bot_arn.unwrap()
}

fn endpoint_request(user_arn: &str, device_token: &str, token: &str) -> RegisterAppInstanceUserEndpointRequest {
    RegisterAppInstanceUserEndpointRequest {
        app_instance_user_arn: user_arn.into(),
        name: Some("phone".into()),
        r#type: AppInstanceUserEndpointType::Apns,
        resource_arn: format!("arn:aws:mobiletargeting:{REGION}:{ACCOUNT}:apps/abc123"),
        endpoint_attributes: EndpointAttributes { device_token: device_token.into(), voip_device_token: None },
        client_request_token: token.into(),
        allow_messages: None,
    }
}

fn list_instances(next_token: Option<String>, max_results: Option<i32>) -> ListAppInstancesRequest {
    ListAppInstancesRequest { max_results, next_token }
}

#[tokio::test]
async fn quotas_refuse_the_one_too_many() {
    let quotas = Quotas { app_instances_per_account: 2, users_per_app_instance: 1, endpoints_per_user: 1, ..Quotas::default() };
    let svc = memory_service(quotas).await;
    let a = instance(&svc, "a").await;
    instance(&svc, "b").await;
    assert_eq!(kind(svc.create_app_instance(&ctx(), create_instance_request("c", "token-c")).await), ErrorKind::ResourceLimitExceeded);
    // Another account has a quota of its own.
    assert!(svc.create_app_instance(&ctx_of("999999999999"), create_instance_request("c", "token-c")).await.is_ok());

    let u = user(&svc, &a, "alice").await;
    assert_eq!(kind(svc.create_app_instance_user(&ctx(), user_request(&a, "bob", None)).await), ErrorKind::ResourceLimitExceeded);

    svc.register_app_instance_user_endpoint(&ctx(), endpoint_request(&u, "device-1", "e1")).await.unwrap();
    let second = svc.register_app_instance_user_endpoint(&ctx(), endpoint_request(&u, "device-2", "e2")).await;
    assert_eq!(kind(second), ErrorKind::ResourceLimitExceeded);

    // Deleting frees the place.
    svc.delete_app_instance(&ctx(), DeleteAppInstanceRequest { app_instance_arn: a }).await.unwrap();
    assert!(svc.create_app_instance(&ctx(), create_instance_request("c", "token-c")).await.is_ok());
}

#[tokio::test]
async fn a_repeated_token_replays_and_other_parameters_are_refused() {
    let svc = memory_service(Quotas::default()).await;
    let first = svc.create_app_instance(&ctx(), create_instance_request("a", "t")).await.unwrap();
    let again = svc.create_app_instance(&ctx(), create_instance_request("a", "t")).await.unwrap();
    assert_eq!(first, again, "the replay answers what the first call answered");
    let listed = svc.list_app_instances(&ctx(), list_instances(None, None)).await.unwrap();
    assert_eq!(listed.app_instances.unwrap().len(), 1, "and makes nothing new");

    assert_eq!(kind(svc.create_app_instance(&ctx(), create_instance_request("other name", "t")).await), ErrorKind::BadRequest);

    // The token belongs to the caller: another account making the same call gets its own.
    let theirs = svc.create_app_instance(&ctx_of("999999999999"), create_instance_request("a", "t")).await.unwrap();
    assert_ne!(theirs.app_instance_arn, first.app_instance_arn);

    // Once what the token made is gone, the token makes a new one.
    let arn = first.app_instance_arn.clone().unwrap();
    svc.delete_app_instance(&ctx(), DeleteAppInstanceRequest { app_instance_arn: arn }).await.unwrap();
    let fresh = svc.create_app_instance(&ctx(), create_instance_request("a", "t")).await.unwrap();
    assert_ne!(fresh.app_instance_arn, first.app_instance_arn);

    // Endpoints replay by token too.
    let a = fresh.app_instance_arn.unwrap();
    let u = user(&svc, &a, "alice").await;
    let e1 = svc.register_app_instance_user_endpoint(&ctx(), endpoint_request(&u, "device", "same")).await.unwrap();
    let e2 = svc.register_app_instance_user_endpoint(&ctx(), endpoint_request(&u, "device", "same")).await.unwrap();
    assert_eq!(e1.endpoint_id, e2.endpoint_id);
    let other = svc.register_app_instance_user_endpoint(&ctx(), endpoint_request(&u, "another device", "same")).await;
    assert_eq!(kind(other), ErrorKind::BadRequest);
}

#[tokio::test]
async fn deletes_cascade() {
    let svc = memory_service(Quotas::default()).await;
    let a = instance(&svc, "a").await;
    let u = user(&svc, &a, "alice").await;
    let b = bot(&svc, &a, "bot-token").await;
    let admin = CreateAppInstanceAdminRequest { app_instance_admin_arn: u.clone(), app_instance_arn: a.clone() };
    svc.create_app_instance_admin(&ctx(), admin).await.unwrap();
    let e = svc.register_app_instance_user_endpoint(&ctx(), endpoint_request(&u, "device", "e")).await.unwrap().endpoint_id.unwrap();
    let tags = vec![Tag { key: "k".into(), value: "v".into() }];
    svc.tag_resource(&ctx(), TagResourceRequest { resource_arn: u.clone(), tags }).await.unwrap();

    // Deleting the user takes its endpoints, admin role and tags with it.
    svc.delete_app_instance_user(&ctx(), DeleteAppInstanceUserRequest { app_instance_user_arn: u.clone() }).await.unwrap();
    let endpoint = DescribeAppInstanceUserEndpointRequest { app_instance_user_arn: u.clone(), endpoint_id: e };
    assert_eq!(kind(svc.describe_app_instance_user_endpoint(&ctx(), endpoint).await), ErrorKind::NotFound);
    let admins = svc
        .list_app_instance_admins(&ctx(), ListAppInstanceAdminsRequest { app_instance_arn: a.clone(), max_results: None, next_token: None })
        .await
        .unwrap();
    assert_eq!(admins.app_instance_admins.unwrap(), vec![]);
    // A user made again under the same id starts with no tags.
    let again = user(&svc, &a, "alice2").await;
    assert_ne!(again, u);
    svc.create_app_instance_user(
        &ctx(),
        CreateAppInstanceUserRequest { client_request_token: "t2".into(), ..user_request(&a, "alice", None) },
    )
    .await
    .unwrap();
    let tags = svc.list_tags_for_resource(&ctx(), ListTagsForResourceRequest { resource_arn: u.clone() }).await.unwrap();
    assert_eq!(tags.tags.unwrap(), vec![]);

    // Deleting the AppInstance takes everything in it.
    svc.delete_app_instance(&ctx(), DeleteAppInstanceRequest { app_instance_arn: a.clone() }).await.unwrap();
    let describe_user = DescribeAppInstanceUserRequest { app_instance_user_arn: u.clone() };
    assert_eq!(kind(svc.describe_app_instance_user(&ctx(), describe_user).await), ErrorKind::NotFound);
    let describe_bot = DescribeAppInstanceBotRequest { app_instance_bot_arn: b };
    assert_eq!(kind(svc.describe_app_instance_bot(&ctx(), describe_bot).await), ErrorKind::NotFound);
    let users = ListAppInstanceUsersRequest { app_instance_arn: a.clone(), max_results: None, next_token: None };
    assert_eq!(kind(svc.list_app_instance_users(&ctx(), users).await), ErrorKind::NotFound);
    assert_eq!(kind(svc.delete_app_instance(&ctx(), DeleteAppInstanceRequest { app_instance_arn: a }).await), ErrorKind::NotFound);
}

#[tokio::test]
async fn another_accounts_or_regions_arns_are_forbidden() {
    let svc = memory_service(Quotas::default()).await;
    let a = instance(&svc, "a").await;
    let u = user(&svc, &a, "alice").await;
    let stranger = ctx_of("999999999999");
    let describe = DescribeAppInstanceRequest { app_instance_arn: a.clone() };
    assert_eq!(kind(svc.describe_app_instance(&stranger, describe.clone()).await), ErrorKind::Forbidden);
    let elsewhere = RequestContext { region: "eu-west-1".into(), ..ctx() };
    assert_eq!(kind(svc.describe_app_instance(&elsewhere, describe.clone()).await), ErrorKind::Forbidden);
    assert_eq!(
        kind(svc.delete_app_instance_user(&stranger, DeleteAppInstanceUserRequest { app_instance_user_arn: u.clone() }).await),
        ErrorKind::Forbidden
    );
    let tag = TagResourceRequest { resource_arn: u.clone(), tags: vec![Tag { key: "k".into(), value: "v".into() }] };
    assert_eq!(kind(svc.tag_resource(&stranger, tag).await), ErrorKind::Forbidden);
    // Nothing changed: the owner still sees both.
    assert!(svc.describe_app_instance(&ctx(), describe).await.is_ok());
    assert!(svc.describe_app_instance_user(&ctx(), DescribeAppInstanceUserRequest { app_instance_user_arn: u }).await.is_ok());
}

#[tokio::test]
async fn the_sweep_deletes_users_once_their_time_has_passed() {
    let svc = memory_service(Quotas::default()).await;
    let a = instance(&svc, "a").await;
    let expiring = Some(ExpirationSettings { expiration_days: 1, expiration_criterion: ExpirationCriterion::CreatedTimestamp });
    let short =
        svc.create_app_instance_user(&ctx(), user_request(&a, "short", expiring.clone())).await.unwrap().app_instance_user_arn.unwrap();
    let forever = user(&svc, &a, "forever").await;
    let described = svc.describe_app_instance_user(&ctx(), DescribeAppInstanceUserRequest { app_instance_user_arn: short.clone() }).await;
    assert_eq!(described.unwrap().app_instance_user.unwrap().expiration_settings, expiring);

    assert_eq!(svc.sweep_expired_users().await.unwrap(), 0, "a day has not passed");
    svc.clock().set_offset_ms(DAY_MS + 60_000);
    assert_eq!(svc.sweep_expired_users().await.unwrap(), 1);
    let gone = svc.describe_app_instance_user(&ctx(), DescribeAppInstanceUserRequest { app_instance_user_arn: short }).await;
    assert_eq!(kind(gone), ErrorKind::NotFound);
    assert!(svc.describe_app_instance_user(&ctx(), DescribeAppInstanceUserRequest { app_instance_user_arn: forever }).await.is_ok());
    assert_eq!(svc.sweep_expired_users().await.unwrap(), 0);
}

#[tokio::test]
async fn a_device_token_is_registered_once_per_user() {
    let svc = memory_service(Quotas::default()).await;
    let a = instance(&svc, "a").await;
    let alice = user(&svc, &a, "alice").await;
    let bob = user(&svc, &a, "bob").await;
    let first = svc.register_app_instance_user_endpoint(&ctx(), endpoint_request(&alice, "device", "t1")).await.unwrap();
    let again = svc.register_app_instance_user_endpoint(&ctx(), endpoint_request(&alice, "device", "t2")).await;
    assert_eq!(kind(again), ErrorKind::Conflict);
    // Another user may hold the same token.
    assert!(svc.register_app_instance_user_endpoint(&ctx(), endpoint_request(&bob, "device", "t3")).await.is_ok());
    // Once deregistered, the token registers again, under a new EndpointId.
    let id = first.endpoint_id.unwrap();
    let deregister = DeregisterAppInstanceUserEndpointRequest { app_instance_user_arn: alice.clone(), endpoint_id: id.clone() };
    svc.deregister_app_instance_user_endpoint(&ctx(), deregister).await.unwrap();
    let later = svc.register_app_instance_user_endpoint(&ctx(), endpoint_request(&alice, "device", "t4")).await.unwrap();
    assert_ne!(later.endpoint_id.unwrap(), id);
}

#[tokio::test]
async fn endpoint_state_and_settings_read_back_typed() {
    let svc = memory_service(Quotas::default()).await;
    let a = instance(&svc, "a").await;
    let u = user(&svc, &a, "alice").await;
    let input = RegisterAppInstanceUserEndpointRequest { allow_messages: Some(AllowMessages::None), ..endpoint_request(&u, "device", "t") };
    let id = svc.register_app_instance_user_endpoint(&ctx(), input).await.unwrap().endpoint_id.unwrap();
    svc.set_endpoint_state(&u, &id, EndpointStatus::Inactive, Some(EndpointStatusReason::InvalidPinpointArn)).await.unwrap();
    let e = svc
        .describe_app_instance_user_endpoint(
            &ctx(),
            DescribeAppInstanceUserEndpointRequest { app_instance_user_arn: u.clone(), endpoint_id: id },
        )
        .await
        .unwrap()
        .app_instance_user_endpoint
        .unwrap();
    assert_eq!(e.r#type, Some(AppInstanceUserEndpointType::Apns));
    assert_eq!(e.allow_messages, Some(AllowMessages::None));
    assert_eq!(
        e.endpoint_state,
        Some(EndpointState { status: EndpointStatus::Inactive, status_reason: Some(EndpointStatusReason::InvalidPinpointArn) })
    );
}

#[tokio::test]
async fn update_timestamps_always_move_forward() {
    let svc = memory_service(Quotas::default()).await;
    let a = instance(&svc, "a").await;
    let u = user(&svc, &a, "alice").await;
    let describe = || DescribeAppInstanceUserRequest { app_instance_user_arn: u.clone() };
    let created = svc.describe_app_instance_user(&ctx(), describe()).await.unwrap().app_instance_user.unwrap();
    // The clock steps back an hour: updates still move LastUpdatedTimestamp forward.
    svc.clock().set_offset_ms(-3_600_000);
    let mut previous = created.last_updated_timestamp.unwrap().0;
    for n in 0..3 {
        let update = UpdateAppInstanceUserRequest { app_instance_user_arn: u.clone(), name: format!("name {n}"), metadata: String::new() };
        svc.update_app_instance_user(&ctx(), update).await.unwrap();
        let now = svc.describe_app_instance_user(&ctx(), describe()).await.unwrap().app_instance_user.unwrap();
        let updated = now.last_updated_timestamp.unwrap().0;
        assert!(updated > previous, "{updated} after {previous}");
        assert_eq!(now.created_timestamp, created.created_timestamp);
        previous = updated;
    }
}

#[tokio::test]
async fn lists_page_in_creation_order_and_refuse_foreign_tokens() {
    let svc = memory_service(Quotas::default()).await;
    let a = instance(&svc, "a").await;
    let b = instance(&svc, "b").await;
    let ids: Vec<String> = (0..5).map(|i| format!("user-{}", 9 - i)).collect();
    for id in &ids {
        user(&svc, &a, id).await;
    }
    let page = |instance: &str, next_token: Option<String>| ListAppInstanceUsersRequest {
        app_instance_arn: instance.into(),
        max_results: Some(2),
        next_token,
    };
    let mut seen = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let out = svc.list_app_instance_users(&ctx(), page(&a, token.clone())).await.unwrap();
        let users = out.app_instance_users.unwrap();
        assert!(users.len() <= 2);
        seen.extend(users.into_iter().map(|u| u.name.unwrap()));
        pages += 1;
        match out.next_token {
            Some(next) => {
                // A token is bound to its list and its caller.
                assert_eq!(kind(svc.list_app_instance_users(&ctx(), page(&b, Some(next.clone()))).await), ErrorKind::BadRequest);
                let instances = list_instances(Some(next.clone()), Some(2));
                assert_eq!(kind(svc.list_app_instances(&ctx(), instances).await), ErrorKind::BadRequest);
                token = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids.iter().map(|id| format!("user {id}")).collect::<Vec<_>>(), "creation order, not name order");
    assert_eq!(kind(svc.list_app_instance_users(&ctx(), page(&a, Some("not-a-token".into()))).await), ErrorKind::BadRequest);

    // Without MaxResults a page holds up to 50; the instances list pages the same way.
    let everyone = ListAppInstanceUsersRequest { app_instance_arn: a.clone(), max_results: None, next_token: None };
    let all = svc.list_app_instance_users(&ctx(), everyone).await.unwrap();
    assert_eq!((all.app_instance_users.unwrap().len(), all.next_token), (5, None));
    let first = svc.list_app_instances(&ctx(), list_instances(None, Some(1))).await.unwrap();
    assert_eq!(first.app_instances.unwrap()[0].app_instance_arn.as_deref(), Some(a.as_str()));
    let second = svc.list_app_instances(&ctx(), list_instances(first.next_token, Some(1))).await.unwrap();
    assert_eq!(second.app_instances.unwrap()[0].app_instance_arn.as_deref(), Some(b.as_str()));
    assert_eq!(second.next_token, None);
}

/// A delete that leaves its children to a purge wakes the purge loop at once, and only such a
/// delete: one that removes its few children inline does not (`Service::purge_queued_wait`).
#[tokio::test]
async fn a_deferred_purge_wakes_the_purge_loop_and_an_inline_delete_does_not() {
    use std::time::Duration;
    let svc = memory_service(Quotas::default()).await;
    let asleep = |svc: &Service| {
        let svc = svc.clone();
        async move { tokio::time::timeout(Duration::from_millis(100), svc.purge_queued_wait()).await.is_err() }
    };
    assert!(asleep(&svc).await, "nothing queued yet");
    // A delete of few children removes them inline: no purge, no wake-up.
    let small = common::instance(&svc, "small").await;
    common::user(&svc, &small, "only").await;
    svc.delete_app_instance(&ctx(), DeleteAppInstanceRequest { app_instance_arn: small }).await.unwrap();
    assert!(asleep(&svc).await, "an inline delete queues no purge");
    // More children than a delete removes inline: the purge is queued and the loop woken.
    let large = common::instance(&svc, "large").await;
    for i in 0..=carillon_service::purge::INLINE_LIMIT {
        common::user(&svc, &large, &format!("u{i}")).await;
    }
    svc.delete_app_instance(&ctx(), DeleteAppInstanceRequest { app_instance_arn: large }).await.unwrap();
    // The wake-up waits for the loop, however late it comes to wait.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!asleep(&svc).await, "a deferred purge wakes the loop");
    // Taken once.
    assert!(asleep(&svc).await, "one wake-up a queued purge");
}
