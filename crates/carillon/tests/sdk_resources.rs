//! AppInstances and AppInstanceUsers through aws-sdk-chimesdkidentity: the operations the endpoint
//! lifecycle stands on, their errors, validation limits and cascades.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use aws_sdk_chimesdkidentity::types::{AppInstanceUserEndpointType, EndpointAttributes};
use carillon_testing::{TestServer, error_of, message_of, pinpoint_arn};

#[tokio::test]
async fn app_instances_create_describe_delete() {
    let server = TestServer::start();
    let (c, account) = server.client();
    let arn = c.create_app_instance().name("Team chat").send().await.unwrap().app_instance_arn().unwrap().to_string();
    let prefix = format!("arn:aws:chime:us-east-1:{account}:app-instance/");
    let id = arn.strip_prefix(&prefix).expect("ARN of the caller's account and region");
    assert!(uuid_like(id), "{id}");

    let d = c.describe_app_instance().app_instance_arn(&arn).send().await.unwrap();
    let ai = d.app_instance().unwrap();
    assert_eq!(ai.app_instance_arn(), Some(arn.as_str()));
    assert_eq!(ai.name(), Some("Team chat"));
    assert_eq!(ai.metadata(), None, "Metadata left out at creation is absent");
    assert_eq!(ai.created_timestamp(), ai.last_updated_timestamp());

    // Names need not be unique; Metadata is kept.
    let second = c.create_app_instance().name("Team chat").metadata("{\"k\":1}").send().await.unwrap();
    let d2 = c.describe_app_instance().app_instance_arn(second.app_instance_arn().unwrap()).send().await.unwrap();
    assert_eq!(d2.app_instance().unwrap().metadata(), Some("{\"k\":1}"));

    c.delete_app_instance().app_instance_arn(&arn).send().await.unwrap();
    let err = c.describe_app_instance().app_instance_arn(&arn).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let err = c.delete_app_instance().app_instance_arn(&arn).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));

    // Another account or region: 403, whether or not it exists.
    let other = server.client_for("999999999999", "us-east-1");
    let err = other.describe_app_instance().app_instance_arn(second.app_instance_arn().unwrap()).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("ForbiddenException".into(), 403));
    let west = server.client_for(&account, "us-west-2");
    let err = west.delete_app_instance().app_instance_arn(second.app_instance_arn().unwrap()).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("ForbiddenException".into(), 403));
    assert!(c.describe_app_instance().app_instance_arn(second.app_instance_arn().unwrap()).send().await.is_ok());
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
}

#[tokio::test]
async fn names_at_their_exact_limits_in_multibyte_characters() {
    let server = TestServer::start();
    let (c, _) = server.client();
    let name_256 = "é".repeat(255) + "😀";
    let arn = c.create_app_instance().name(&name_256).send().await.unwrap().app_instance_arn().unwrap().to_string();
    let d = c.describe_app_instance().app_instance_arn(&arn).send().await.unwrap();
    assert_eq!(d.app_instance().unwrap().name(), Some(name_256.as_str()));

    let err = c.create_app_instance().name("é".repeat(257)).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("BadRequestException".into(), 400));
    assert_eq!(
        message_of(&err),
        "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length less than or equal to 256"
    );

    let user_100 = "ü".repeat(99) + "🎉";
    let u = c.create_app_instance_user().app_instance_arn(&arn).app_instance_user_id("limits").name(&user_100).send().await.unwrap();
    let d = c.describe_app_instance_user().app_instance_user_arn(u.app_instance_user_arn().unwrap()).send().await.unwrap();
    assert_eq!(d.app_instance_user().unwrap().name(), Some(user_100.as_str()));
    let err =
        c.create_app_instance_user().app_instance_arn(&arn).app_instance_user_id("limits2").name("ü".repeat(101)).send().await.unwrap_err();
    assert_eq!(
        message_of(&err),
        "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length less than or equal to 100"
    );

    let id_64 = format!("a{}z", ":@._-".repeat(12) + "xy");
    assert_eq!(id_64.chars().count(), 64);
    c.create_app_instance_user().app_instance_arn(&arn).app_instance_user_id(&id_64).name("x").send().await.unwrap();
    let err =
        c.create_app_instance_user().app_instance_arn(&arn).app_instance_user_id(format!("{id_64}a")).name("x").send().await.unwrap_err();
    assert_eq!(error_of(&err), ("BadRequestException".into(), 400));
    assert!(
        message_of(&err)
            .contains("Value at 'appInstanceUserId' failed to satisfy constraint: Member must have length less than or equal to 64")
    );
}

#[tokio::test]
async fn users_create_describe_delete_and_their_errors() {
    let server = TestServer::start();
    let (c, account) = server.client();
    let instance = c.create_app_instance().name("x").send().await.unwrap().app_instance_arn().unwrap().to_string();
    let created = c
        .create_app_instance_user()
        .app_instance_arn(&instance)
        .app_instance_user_id("user@example.com:device")
        .name("Erin")
        .metadata("role=admin")
        .client_request_token("user-token-1")
        .send()
        .await
        .unwrap();
    let user_arn = created.app_instance_user_arn().unwrap().to_string();
    assert_eq!(user_arn, format!("{instance}/user/user@example.com:device"));

    let replay = c
        .create_app_instance_user()
        .app_instance_arn(&instance)
        .app_instance_user_id("user@example.com:device")
        .name("Erin")
        .metadata("role=admin")
        .client_request_token("user-token-1")
        .send()
        .await
        .unwrap();
    assert_eq!(replay.app_instance_user_arn(), Some(user_arn.as_str()));

    let err = c
        .create_app_instance_user()
        .app_instance_arn(&instance)
        .app_instance_user_id("user@example.com:device")
        .name("Someone else")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err), ("ConflictException".into(), 409));

    let d = c.describe_app_instance_user().app_instance_user_arn(&user_arn).send().await.unwrap();
    let u = d.app_instance_user().unwrap();
    assert_eq!((u.name(), u.metadata()), (Some("Erin"), Some("role=admin")));
    assert_eq!(u.created_timestamp(), u.last_updated_timestamp());
    assert_eq!(u.expiration_settings(), None);

    let missing = instance.replace(instance.rsplit('/').next().unwrap(), "00000000-0000-4000-8000-000000000000");
    let err = c.create_app_instance_user().app_instance_arn(&missing).app_instance_user_id("x").name("x").send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let err = c.describe_app_instance_user().app_instance_user_arn(format!("{instance}/user/nobody")).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let other = server.client_for("123412341234", "us-east-1");
    let err = other.create_app_instance_user().app_instance_arn(&instance).app_instance_user_id("x").name("x").send().await.unwrap_err();
    assert_eq!(error_of(&err), ("ForbiddenException".into(), 403));
    let err = other.delete_app_instance_user().app_instance_user_arn(&user_arn).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("ForbiddenException".into(), 403));

    c.delete_app_instance_user().app_instance_user_arn(&user_arn).send().await.unwrap();
    let err = c.describe_app_instance_user().app_instance_user_arn(&user_arn).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let err = c.delete_app_instance_user().app_instance_user_arn(&user_arn).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let _ = account;
}

#[tokio::test]
async fn deletes_cascade_to_endpoints_admins_and_users() {
    let server = TestServer::start();
    let (c, account) = server.client();
    let instance = c.create_app_instance().name("x").send().await.unwrap().app_instance_arn().unwrap().to_string();
    let mut users = Vec::new();
    for id in ["frank", "grace"] {
        let arn = c.create_app_instance_user().app_instance_arn(&instance).app_instance_user_id(id).name(id).send().await.unwrap();
        users.push(arn.app_instance_user_arn().unwrap().to_string());
    }
    let mut endpoints = Vec::new();
    for u in &users {
        for n in 0..2 {
            let e = c
                .register_app_instance_user_endpoint()
                .app_instance_user_arn(u)
                .r#type(AppInstanceUserEndpointType::Apns)
                .resource_arn(pinpoint_arn(&account, "us-east-1"))
                .endpoint_attributes(EndpointAttributes::builder().device_token(format!("{u}-{n}")).build().unwrap())
                .send()
                .await
                .unwrap();
            endpoints.push((u.clone(), e.endpoint_id().unwrap().to_string()));
        }
    }
    c.create_app_instance_admin().app_instance_arn(&instance).app_instance_admin_arn(&users[0]).send().await.unwrap();

    // Deleting a user takes its endpoints and admin role; the other user keeps hers.
    c.delete_app_instance_user().app_instance_user_arn(&users[0]).send().await.unwrap();
    for (u, id) in &endpoints {
        let r = c.describe_app_instance_user_endpoint().app_instance_user_arn(u).endpoint_id(id).send().await;
        if u == &users[0] {
            assert_eq!(error_of(&r.unwrap_err()), ("NotFoundException".into(), 404));
        } else {
            assert!(r.is_ok());
        }
    }
    let err = c.describe_app_instance_admin().app_instance_arn(&instance).app_instance_admin_arn(&users[0]).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let admins = c.list_app_instance_admins().app_instance_arn(&instance).send().await.unwrap();
    assert!(admins.app_instance_admins().is_empty());
    // Re-creating the user gives a fresh one: no endpoints come back.
    c.create_app_instance_user().app_instance_arn(&instance).app_instance_user_id("frank").name("frank").send().await.unwrap();
    let l = c.list_app_instance_user_endpoints().app_instance_user_arn(&users[0]).send().await.unwrap();
    assert!(l.app_instance_user_endpoints().is_empty());

    // Deleting the AppInstance takes everything in it.
    c.delete_app_instance().app_instance_arn(&instance).send().await.unwrap();
    for u in &users {
        let err = c.describe_app_instance_user().app_instance_user_arn(u).send().await.unwrap_err();
        assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    }
    for (u, id) in &endpoints {
        let err = c.describe_app_instance_user_endpoint().app_instance_user_arn(u).endpoint_id(id).send().await.unwrap_err();
        assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    }
}
