//! sigv4 mode through aws-sdk-chimesdkidentity: the endpoint lifecycle with a configured
//! credential, and the SDK's view of each authentication failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use aws_sdk_chimesdkidentity::types::{AllowMessages, AppInstanceUserEndpointType, EndpointAttributes};
use carillon_testing::{TestServer, error_of, fresh_account, pinpoint_arn, secret_of};

#[tokio::test]
async fn the_endpoint_lifecycle_signed() {
    let account = fresh_account();
    let server = TestServer::start_sigv4(&[&account]);
    let c = server.client_for(&account, "eu-central-1");
    let instance = c.create_app_instance().name("signed").send().await.unwrap().app_instance_arn().unwrap().to_string();
    assert!(instance.starts_with(&format!("arn:aws:chime:eu-central-1:{account}:app-instance/")), "{instance}");
    let user = c.create_app_instance_user().app_instance_arn(&instance).app_instance_user_id("sig:v4@user").name("n").send().await.unwrap();
    let user = user.app_instance_user_arn().unwrap().to_string();
    let id = c
        .register_app_instance_user_endpoint()
        .app_instance_user_arn(&user)
        .r#type(AppInstanceUserEndpointType::Apns)
        .resource_arn(pinpoint_arn(&account, "eu-central-1"))
        .endpoint_attributes(EndpointAttributes::builder().device_token("t").build().unwrap())
        .send()
        .await
        .unwrap()
        .endpoint_id()
        .unwrap()
        .to_string();
    c.update_app_instance_user_endpoint()
        .app_instance_user_arn(&user)
        .endpoint_id(&id)
        .allow_messages(AllowMessages::None)
        .send()
        .await
        .unwrap();
    let d = c.describe_app_instance_user_endpoint().app_instance_user_arn(&user).endpoint_id(&id).send().await.unwrap();
    assert_eq!(d.app_instance_user_endpoint().unwrap().allow_messages(), Some(&AllowMessages::None));
    let l = c.list_app_instance_user_endpoints().app_instance_user_arn(&user).max_results(1).send().await.unwrap();
    assert_eq!(l.app_instance_user_endpoints().len(), 1);
    c.deregister_app_instance_user_endpoint().app_instance_user_arn(&user).endpoint_id(&id).send().await.unwrap();
    c.delete_app_instance_user().app_instance_user_arn(&user).send().await.unwrap();
    c.delete_app_instance().app_instance_arn(&instance).send().await.unwrap();
}

#[tokio::test]
async fn wrong_secret_and_unknown_keys_are_refused() {
    let account = fresh_account();
    let server = TestServer::start_sigv4(&[&account]);
    let wrong = server.client_with(&account, "not-the-secret", "us-east-1");
    let err = wrong.list_app_instances().send().await.unwrap_err();
    assert_eq!(error_of(&err), ("InvalidSignatureException".into(), 403));
    let unknown = server.client_with("AKIDUNKNOWN0000000000", &secret_of(&account), "us-east-1");
    let err = unknown.create_app_instance().name("x").send().await.unwrap_err();
    assert_eq!(error_of(&err), ("UnrecognizedClientException".into(), 403));
    // Nothing was created by the refused requests.
    let right = server.client_for(&account, "us-east-1");
    assert!(right.list_app_instances().send().await.unwrap().app_instances().is_empty());
}
