//! The endpoint lifecycle through aws-sdk-chimesdkidentity against a real `carillon serve`:
//! register, update, describe, list, deregister, with every error they may answer (docs/behaviour.md, "Errors").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use aws_sdk_chimesdkidentity::Client;
use aws_sdk_chimesdkidentity::types::{AllowMessages, AppInstanceUserEndpointType, EndpointAttributes, EndpointStatus};
use carillon_testing::{TestServer, error_of, message_of, pinpoint_arn};

async fn app_instance(c: &Client) -> String {
    c.create_app_instance().name("chat").send().await.unwrap().app_instance_arn().unwrap().to_string()
}

async fn user(c: &Client, instance: &str, id: &str) -> String {
    c.create_app_instance_user()
        .app_instance_arn(instance)
        .app_instance_user_id(id)
        .name("A user")
        .send()
        .await
        .unwrap()
        .app_instance_user_arn()
        .unwrap()
        .to_string()
}

fn attrs(token: &str) -> EndpointAttributes {
    EndpointAttributes::builder().device_token(token).build().unwrap()
}

async fn register(c: &Client, account: &str, user_arn: &str, token: &str) -> String {
    c.register_app_instance_user_endpoint()
        .app_instance_user_arn(user_arn)
        .r#type(AppInstanceUserEndpointType::Apns)
        .resource_arn(pinpoint_arn(account, "us-east-1"))
        .endpoint_attributes(attrs(token))
        .send()
        .await
        .unwrap()
        .endpoint_id()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn register_describe_update_list_deregister() {
    let server = TestServer::start();
    let (c, account) = server.client();
    let instance = app_instance(&c).await;
    let user_arn = user(&c, &instance, "alice:phone@example.com").await;
    assert_eq!(user_arn, format!("{instance}/user/alice:phone@example.com"));

    let reg = c
        .register_app_instance_user_endpoint()
        .app_instance_user_arn(&user_arn)
        .name("Alice's iPhone 📱")
        .r#type(AppInstanceUserEndpointType::ApnsSandbox)
        .resource_arn(pinpoint_arn(&account, "us-east-1"))
        .endpoint_attributes(EndpointAttributes::builder().device_token("dev-token-1").voip_device_token("voip-1").build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(reg.app_instance_user_arn(), Some(user_arn.as_str()));
    let id = reg.endpoint_id().unwrap().to_string();
    assert!(!id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{id}");

    let d = c.describe_app_instance_user_endpoint().app_instance_user_arn(&user_arn).endpoint_id(&id).send().await.unwrap();
    let e = d.app_instance_user_endpoint().unwrap();
    assert_eq!(e.app_instance_user_arn(), Some(user_arn.as_str()));
    assert_eq!(e.endpoint_id(), Some(id.as_str()));
    assert_eq!(e.name(), Some("Alice's iPhone 📱"));
    assert_eq!(e.r#type(), Some(&AppInstanceUserEndpointType::ApnsSandbox));
    assert_eq!(e.resource_arn(), Some(pinpoint_arn(&account, "us-east-1").as_str()));
    assert_eq!(e.endpoint_attributes().unwrap().device_token(), "dev-token-1");
    assert_eq!(e.endpoint_attributes().unwrap().voip_device_token(), Some("voip-1"));
    assert_eq!(e.allow_messages(), Some(&AllowMessages::All));
    assert_eq!(e.endpoint_state().unwrap().status(), &EndpointStatus::Active);
    assert_eq!(e.endpoint_state().unwrap().status_reason(), None);
    let created = *e.created_timestamp().unwrap();
    assert_eq!(e.last_updated_timestamp(), Some(&created));

    // Update with neither member: 200, nothing changes.
    let u = c.update_app_instance_user_endpoint().app_instance_user_arn(&user_arn).endpoint_id(&id).send().await.unwrap();
    assert_eq!((u.app_instance_user_arn(), u.endpoint_id()), (Some(user_arn.as_str()), Some(id.as_str())));
    let same = c.describe_app_instance_user_endpoint().app_instance_user_arn(&user_arn).endpoint_id(&id).send().await.unwrap();
    assert_eq!(same.app_instance_user_endpoint(), d.app_instance_user_endpoint());

    // Name only.
    c.update_app_instance_user_endpoint().app_instance_user_arn(&user_arn).endpoint_id(&id).name("Work phone").send().await.unwrap();
    let e1 = c
        .describe_app_instance_user_endpoint()
        .app_instance_user_arn(&user_arn)
        .endpoint_id(&id)
        .send()
        .await
        .unwrap()
        .app_instance_user_endpoint
        .unwrap();
    assert_eq!(e1.name(), Some("Work phone"));
    assert_eq!(e1.allow_messages(), Some(&AllowMessages::All));
    assert!(e1.last_updated_timestamp().unwrap() > &created);
    assert_eq!(e1.created_timestamp(), Some(&created));

    // AllowMessages only.
    c.update_app_instance_user_endpoint()
        .app_instance_user_arn(&user_arn)
        .endpoint_id(&id)
        .allow_messages(AllowMessages::None)
        .send()
        .await
        .unwrap();
    let e2 = c
        .describe_app_instance_user_endpoint()
        .app_instance_user_arn(&user_arn)
        .endpoint_id(&id)
        .send()
        .await
        .unwrap()
        .app_instance_user_endpoint
        .unwrap();
    assert_eq!(e2.name(), Some("Work phone"));
    assert_eq!(e2.allow_messages(), Some(&AllowMessages::None));
    assert!(e2.last_updated_timestamp() > e1.last_updated_timestamp());

    // Both; the name may become empty.
    c.update_app_instance_user_endpoint()
        .app_instance_user_arn(&user_arn)
        .endpoint_id(&id)
        .name("")
        .allow_messages(AllowMessages::All)
        .send()
        .await
        .unwrap();
    let e3 = c
        .describe_app_instance_user_endpoint()
        .app_instance_user_arn(&user_arn)
        .endpoint_id(&id)
        .send()
        .await
        .unwrap()
        .app_instance_user_endpoint
        .unwrap();
    assert_eq!(e3.name(), Some(""));
    assert_eq!(e3.allow_messages(), Some(&AllowMessages::All));
    assert_eq!(e3.endpoint_attributes(), e.endpoint_attributes());

    // List: summaries in creation order, paginated.
    let second = register(&c, &account, &user_arn, "dev-token-2").await;
    let third = register(&c, &account, &user_arn, "dev-token-3").await;
    let page1 = c.list_app_instance_user_endpoints().app_instance_user_arn(&user_arn).max_results(2).send().await.unwrap();
    let ids: Vec<_> = page1.app_instance_user_endpoints().iter().map(|s| s.endpoint_id().unwrap().to_string()).collect();
    assert_eq!(ids, vec![id.clone(), second.clone()]);
    let s0 = &page1.app_instance_user_endpoints()[0];
    assert_eq!(s0.app_instance_user_arn(), Some(user_arn.as_str()));
    assert_eq!(s0.name(), Some(""));
    assert_eq!(s0.r#type(), Some(&AppInstanceUserEndpointType::ApnsSandbox));
    assert_eq!(s0.allow_messages(), Some(&AllowMessages::All));
    assert_eq!(s0.endpoint_state().unwrap().status(), &EndpointStatus::Active);
    let token = page1.next_token().expect("a second page").to_string();
    let page2 =
        c.list_app_instance_user_endpoints().app_instance_user_arn(&user_arn).max_results(2).next_token(token).send().await.unwrap();
    let ids: Vec<_> = page2.app_instance_user_endpoints().iter().map(|s| s.endpoint_id().unwrap().to_string()).collect();
    assert_eq!(ids, vec![third.clone()]);
    assert_eq!(page2.next_token(), None);

    // Deregister: 204, then gone; again is 404.
    c.deregister_app_instance_user_endpoint().app_instance_user_arn(&user_arn).endpoint_id(&second).send().await.unwrap();
    let err = c.describe_app_instance_user_endpoint().app_instance_user_arn(&user_arn).endpoint_id(&second).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let err = c.deregister_app_instance_user_endpoint().app_instance_user_arn(&user_arn).endpoint_id(&second).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let all = c.list_app_instance_user_endpoints().app_instance_user_arn(&user_arn).send().await.unwrap();
    assert_eq!(all.app_instance_user_endpoints().len(), 2);
}

#[tokio::test]
async fn register_is_idempotent_and_conflicts_on_a_device_token() {
    let server = TestServer::start();
    let (c, account) = server.client();
    let instance = app_instance(&c).await;
    let user_arn = user(&c, &instance, "bob").await;
    let send = |token: &'static str, device: &'static str| {
        c.register_app_instance_user_endpoint()
            .app_instance_user_arn(&user_arn)
            .r#type(AppInstanceUserEndpointType::Gcm)
            .resource_arn(pinpoint_arn(&account, "us-east-1"))
            .endpoint_attributes(attrs(device))
            .client_request_token(token)
            .send()
    };
    let first = send("request-token-1", "device-a").await.unwrap();
    let replay = send("request-token-1", "device-a").await.unwrap();
    assert_eq!(first.endpoint_id(), replay.endpoint_id());
    let listed = c.list_app_instance_user_endpoints().app_instance_user_arn(&user_arn).send().await.unwrap();
    assert_eq!(listed.app_instance_user_endpoints().len(), 1);

    // Same token, other parameters.
    let err = send("request-token-1", "device-b").await.unwrap_err();
    assert_eq!(error_of(&err), ("BadRequestException".into(), 400));
    // Same device token, another request token.
    let err = send("request-token-2", "device-a").await.unwrap_err();
    assert_eq!(error_of(&err), ("ConflictException".into(), 409));
    let listed = c.list_app_instance_user_endpoints().app_instance_user_arn(&user_arn).send().await.unwrap();
    assert_eq!(listed.app_instance_user_endpoints().len(), 1);
}

#[tokio::test]
async fn the_eleventh_endpoint_is_over_the_quota() {
    let server = TestServer::start();
    let (c, account) = server.client();
    let instance = app_instance(&c).await;
    let user_arn = user(&c, &instance, "carol").await;
    for i in 0..10 {
        register(&c, &account, &user_arn, &format!("device-{i}")).await;
    }
    let err = c
        .register_app_instance_user_endpoint()
        .app_instance_user_arn(&user_arn)
        .r#type(AppInstanceUserEndpointType::Apns)
        .resource_arn(pinpoint_arn(&account, "us-east-1"))
        .endpoint_attributes(attrs("device-10"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err), ("ResourceLimitExceededException".into(), 400));
    let listed = c.list_app_instance_user_endpoints().app_instance_user_arn(&user_arn).send().await.unwrap();
    assert_eq!(listed.app_instance_user_endpoints().len(), 10);
}

#[tokio::test]
async fn an_endpoint_is_addressed_by_its_user_and_id() {
    let server = TestServer::start();
    let (c, account) = server.client();
    let instance = app_instance(&c).await;
    let alice = user(&c, &instance, "alice").await;
    let bob = user(&c, &instance, "bob").await;
    let id = register(&c, &account, &alice, "alice-device").await;
    let err = c.describe_app_instance_user_endpoint().app_instance_user_arn(&bob).endpoint_id(&id).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let err = c.update_app_instance_user_endpoint().app_instance_user_arn(&bob).endpoint_id(&id).name("x").send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let err = c.deregister_app_instance_user_endpoint().app_instance_user_arn(&bob).endpoint_id(&id).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    // Alice's endpoint is untouched.
    let e = c.describe_app_instance_user_endpoint().app_instance_user_arn(&alice).endpoint_id(&id).send().await.unwrap();
    assert_eq!(e.app_instance_user_endpoint().unwrap().name(), None);
}

#[tokio::test]
async fn register_rejects_what_spec_rejects() {
    let server = TestServer::start();
    let (c, account) = server.client();
    let instance = app_instance(&c).await;
    let user_arn = user(&c, &instance, "dave").await;
    let reg = |resource: String, ty: AppInstanceUserEndpointType, attrs: EndpointAttributes, user: String| {
        c.register_app_instance_user_endpoint()
            .app_instance_user_arn(user)
            .r#type(ty)
            .resource_arn(resource)
            .endpoint_attributes(attrs)
            .send()
    };
    let voip = EndpointAttributes::builder().device_token("d").voip_device_token("v").build().unwrap();
    let err = reg(pinpoint_arn(&account, "us-east-1"), AppInstanceUserEndpointType::Gcm, voip, user_arn.clone()).await.unwrap_err();
    assert_eq!(error_of(&err), ("BadRequestException".into(), 400));
    let err = reg(format!("arn:aws:sns:us-east-1:{account}:apps/abc"), AppInstanceUserEndpointType::Apns, attrs("d"), user_arn.clone())
        .await
        .unwrap_err();
    assert_eq!(error_of(&err), ("BadRequestException".into(), 400));
    let err =
        reg(pinpoint_arn("999999999999", "us-east-1"), AppInstanceUserEndpointType::Apns, attrs("d"), user_arn.clone()).await.unwrap_err();
    assert_eq!(error_of(&err), ("ForbiddenException".into(), 403));
    let err = reg(pinpoint_arn(&account, "eu-west-1"), AppInstanceUserEndpointType::Apns, attrs("d"), user_arn.clone()).await.unwrap_err();
    assert_eq!(error_of(&err), ("ForbiddenException".into(), 403));
    let err = reg(pinpoint_arn(&account, "us-east-1"), AppInstanceUserEndpointType::Apns, attrs("d"), format!("{instance}/user/nobody"))
        .await
        .unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let other_account_user = user_arn.replace(&account, "999999999999");
    let err =
        reg(pinpoint_arn(&account, "us-east-1"), AppInstanceUserEndpointType::Apns, attrs("d"), other_account_user).await.unwrap_err();
    assert_eq!(error_of(&err), ("ForbiddenException".into(), 403));
    // An unknown enum value is a validation error (the Rust SDK sends what it is given).
    let err =
        reg(pinpoint_arn(&account, "us-east-1"), AppInstanceUserEndpointType::from("WNS"), attrs("d"), user_arn.clone()).await.unwrap_err();
    assert_eq!(error_of(&err), ("BadRequestException".into(), 400));
    assert_eq!(
        message_of(&err),
        "1 validation error detected: Value 'WNS' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [APNS, APNS_SANDBOX, GCM]"
    );
    let listed = c.list_app_instance_user_endpoints().app_instance_user_arn(&user_arn).send().await.unwrap();
    assert!(listed.app_instance_user_endpoints().is_empty());
}
