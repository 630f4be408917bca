//! Every stored value survives a graceful stop and a start of the server on the same database.
//! (That SIGTERM ends the process with exit status 0 is shutdown.rs's to show.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use aws_sdk_chimesdkidentity::Client;
use aws_sdk_chimesdkidentity::types::{
    AllowMessages, AppInstanceUserEndpointType, EndpointAttributes, ExpirationCriterion, ExpirationSettings, Tag,
};
use carillon_testing::{TestServer, pinpoint_arn};

/// Everything a client can read about one AppInstance, as comparable text. The SDK redacts
/// sensitive members in `Debug`, so those are written out through their getters.
async fn snapshot(c: &Client, instance: &str, users: &[String]) -> String {
    let mut out = String::new();
    let ai = c.describe_app_instance().app_instance_arn(instance).send().await.unwrap().app_instance.unwrap();
    out += &format!("{ai:?} name={:?} metadata={:?}\n", ai.name(), ai.metadata());
    for t in c.list_tags_for_resource().resource_arn(instance).send().await.unwrap().tags() {
        out += &format!("tag {:?}={:?}\n", t.key(), t.value());
    }
    for u in c.list_app_instance_users().app_instance_arn(instance).send().await.unwrap().app_instance_users() {
        out += &format!("{u:?} name={:?} metadata={:?}\n", u.name(), u.metadata());
    }
    for a in c.list_app_instance_admins().app_instance_arn(instance).send().await.unwrap().app_instance_admins() {
        out += &format!("admin {:?} {:?}\n", a.admin().and_then(|i| i.arn()), a.admin().and_then(|i| i.name()));
    }
    let r = c.get_app_instance_retention_settings().app_instance_arn(instance).send().await.unwrap();
    out += &format!("{:?} {:?}\n", r.app_instance_retention_settings(), r.initiate_deletion_timestamp());
    for u in users {
        let user = c.describe_app_instance_user().app_instance_user_arn(u).send().await.unwrap().app_instance_user.unwrap();
        out += &format!("{user:?} name={:?} metadata={:?}\n", user.name(), user.metadata());
        let list = c.list_app_instance_user_endpoints().app_instance_user_arn(u).send().await.unwrap();
        for s in list.app_instance_user_endpoints() {
            let d = c
                .describe_app_instance_user_endpoint()
                .app_instance_user_arn(u)
                .endpoint_id(s.endpoint_id().unwrap())
                .send()
                .await
                .unwrap();
            let e = d.app_instance_user_endpoint.unwrap();
            let a = e.endpoint_attributes().unwrap();
            out += &format!("{e:?} name={:?} device={:?} voip={:?}\n", e.name(), a.device_token(), a.voip_device_token());
        }
    }
    out
}

#[tokio::test]
async fn every_stored_value_survives_a_restart() {
    let mut server = TestServer::start();
    let (c, account) = server.client();
    let instance = c
        .create_app_instance()
        .name("Durable ✓ chat")
        .metadata("meta ünïcode")
        .tags(Tag::builder().key("team").value("push").build().unwrap())
        .send()
        .await
        .unwrap()
        .app_instance_arn()
        .unwrap()
        .to_string();
    c.put_app_instance_retention_settings()
        .app_instance_arn(&instance)
        .app_instance_retention_settings(
            aws_sdk_chimesdkidentity::types::AppInstanceRetentionSettings::builder()
                .channel_retention_settings(aws_sdk_chimesdkidentity::types::ChannelRetentionSettings::builder().retention_days(30).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut users = Vec::new();
    for (i, id) in ["h:1@x", "i.2_y"].iter().enumerate() {
        let mut req =
            c.create_app_instance_user().app_instance_arn(&instance).app_instance_user_id(*id).name(format!("用户 {i}")).metadata("m");
        if i == 0 {
            req = req.expiration_settings(
                ExpirationSettings::builder()
                    .expiration_days(30)
                    .expiration_criterion(ExpirationCriterion::CreatedTimestamp)
                    .build()
                    .unwrap(),
            );
        }
        let arn = req.send().await.unwrap().app_instance_user_arn().unwrap().to_string();
        for n in 0..3 {
            let id = c
                .register_app_instance_user_endpoint()
                .app_instance_user_arn(&arn)
                .name(format!("端点 {n} 📱"))
                .r#type(if n == 0 { AppInstanceUserEndpointType::Gcm } else { AppInstanceUserEndpointType::Apns })
                .resource_arn(pinpoint_arn(&account, "us-east-1"))
                .endpoint_attributes(EndpointAttributes::builder().device_token(format!("{arn}/{n}")).build().unwrap())
                .allow_messages(if n == 2 { AllowMessages::None } else { AllowMessages::All })
                .send()
                .await
                .unwrap()
                .endpoint_id()
                .unwrap()
                .to_string();
            if n == 1 {
                c.update_app_instance_user_endpoint().app_instance_user_arn(&arn).endpoint_id(&id).name("renamed").send().await.unwrap();
            }
        }
        users.push(arn);
    }
    c.create_app_instance_admin().app_instance_arn(&instance).app_instance_admin_arn(&users[1]).send().await.unwrap();

    let before = snapshot(&c, &instance, &users).await;
    server.restart();
    let c = server.client_for(&account, "us-east-1");
    let after = snapshot(&c, &instance, &users).await;
    assert_eq!(before, after);
    assert!(after.contains("端点 0 📱") && after.contains("renamed") && after.contains("Durable ✓ chat"));
    server.shutdown();
}
