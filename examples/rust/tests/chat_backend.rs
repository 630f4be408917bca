//! Tests a user of Carillon writes for code that calls Chime SDK Identity: the server runs in the
//! test's own process on an ephemeral port, with an in-memory store, and the code under test gets
//! an ordinary `aws_sdk_chimesdkidentity::Client` pointed at it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use aws_sdk_chimesdkidentity::Client;
use aws_sdk_chimesdkidentity::types::{AppInstanceUserEndpointType, EndpointAttributes};
use carillon_testing::TestServer;

/// The code under test: registers a user's phone for push notifications, once per device.
async fn register_phone(client: &Client, user_arn: &str, token: &str, pinpoint_app: &str) -> String {
    client
        .register_app_instance_user_endpoint()
        .app_instance_user_arn(user_arn)
        .r#type(AppInstanceUserEndpointType::Apns)
        .resource_arn(pinpoint_app)
        .endpoint_attributes(EndpointAttributes::builder().device_token(token).build().unwrap())
        .client_request_token(format!("register-{token}"))
        .send()
        .await
        .unwrap()
        .endpoint_id
        .unwrap()
}

const ACCOUNT: &str = "111122223333";
const APP: &str = "arn:aws:chime:us-east-1:111122223333:app-instance/5a2e0f4c-1b6d-4a8e-9c3f-7d1e2b3a4c5d";
const PINPOINT: &str = "arn:aws:mobiletargeting:us-east-1:111122223333:apps/0123456789abcdef0123456789abcdef";

fn seeded_server() -> TestServer {
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/../seed.yaml");
    TestServer::builder().in_memory().seed(seed).start()
}

#[tokio::test]
async fn a_phone_is_registered_once_and_the_journal_shows_the_calls() {
    let server = seeded_server();
    let client = server.client_for(ACCOUNT, "us-east-1");
    let alice = format!("{APP}/user/alice");

    let first = register_phone(&client, &alice, "new-phone", PINPOINT).await;
    let again = register_phone(&client, &alice, "new-phone", PINPOINT).await;
    assert_eq!(first, again, "the same token replays the first registration");

    let endpoints = client.list_app_instance_user_endpoints().app_instance_user_arn(&alice).send().await.unwrap();
    let ids: Vec<_> = endpoints.app_instance_user_endpoints().iter().filter_map(|e| e.endpoint_id()).collect();
    assert_eq!(ids, ["alice-phone", first.as_str()], "the seeded endpoint, then the new one");

    // What the code sent, as the server saw it.
    let journal = server.journal("operation=RegisterAppInstanceUserEndpoint").await;
    assert_eq!(journal.len(), 2);
    assert!(journal.iter().all(|e| e["Status"] == 201 && e["AccountId"] == ACCOUNT), "{journal:?}");
}

#[tokio::test]
async fn a_reset_between_tests_leaves_nothing_and_a_seed_brings_it_back() {
    let server = seeded_server();
    let client = server.client_for(ACCOUNT, "us-east-1");
    assert_eq!(client.list_app_instances().send().await.unwrap().app_instances().len(), 1);

    let deleted = server.reset().await;
    assert_eq!(deleted["Deleted"]["AppInstances"], 1);
    assert!(client.list_app_instances().send().await.unwrap().app_instances().is_empty());

    let created = server.seed(concat!(env!("CARGO_MANIFEST_DIR"), "/../seed.yaml").as_ref()).await;
    assert_eq!(created["AppInstanceUsers"], 2);
    let app = client.describe_app_instance().app_instance_arn(APP).send().await.unwrap();
    assert_eq!(app.app_instance().unwrap().name(), Some("chat-dev"));
    assert_eq!(server.state().await["AppInstances"].as_array().unwrap().len(), 1);
}

/// The code under test: posts to a channel, with a push notification to its members' devices.
async fn post(chat: &aws_sdk_chimesdkmessaging::Client, channel: &str, sender: &str, text: &str) -> String {
    use aws_sdk_chimesdkmessaging::types::{ChannelMessagePersistenceType, ChannelMessageType, PushNotificationConfiguration};
    chat.send_channel_message()
        .channel_arn(channel)
        .chime_bearer(sender)
        .content(text)
        .r#type(ChannelMessageType::Standard)
        .persistence(ChannelMessagePersistenceType::Persistent)
        .push_notification(PushNotificationConfiguration::builder().title("chat").body(text).build())
        .send()
        .await
        .unwrap()
        .message_id
        .unwrap()
}

#[tokio::test]
async fn a_post_is_pushed_to_the_devices_that_take_messages() {
    let server = seeded_server();
    let chat = server.messaging_client_for(ACCOUNT, "us-east-1");
    let (alice, bob) = (format!("{APP}/user/alice"), format!("{APP}/user/bob"));
    let channel = chat.create_channel().app_instance_arn(APP).name("general").chime_bearer(&alice).send().await.unwrap();
    let channel = channel.channel_arn.unwrap();
    let member = chat.create_channel_membership().channel_arn(&channel).member_arn(&bob).chime_bearer(&alice);
    member.r#type(aws_sdk_chimesdkmessaging::types::ChannelMembershipType::Default).send().await.unwrap();

    let message = post(&chat, &channel, &alice, "lunch?").await;
    // What each member's endpoints would have received: Alice's phone, not Bob's tablet (AllowMessages NONE).
    let entries = server.push_outbox(&format!("message-id={message}")).await;
    let outcomes: Vec<_> = entries.iter().map(|e| (e["EndpointId"].as_str(), e["Outcome"].as_str(), e["Reason"].as_str())).collect();
    assert_eq!(
        outcomes,
        [(Some("alice-phone"), Some("DELIVERED"), None), (Some("bob-tablet"), Some("SKIPPED"), Some("ENDPOINT_ALLOW_MESSAGES_NONE"))]
    );

    // Pinpoint refusing Alice's token turns her endpoint INACTIVE, as AWS does.
    server.fail_pushes(serde_json::json!({"DeviceToken": "alice-device-token", "StatusReason": "INVALID_DEVICE_TOKEN"})).await;
    let message = post(&chat, &channel, &alice, "still there?").await;
    let entries = server.push_outbox(&format!("message-id={message}&recipient-arn={alice}")).await;
    assert_eq!(entries[0]["Outcome"], "FAILED", "{entries:?}");
    let identity = server.client_for(ACCOUNT, "us-east-1");
    let endpoint =
        identity.describe_app_instance_user_endpoint().app_instance_user_arn(&alice).endpoint_id("alice-phone").send().await.unwrap();
    let state = endpoint.app_instance_user_endpoint.unwrap().endpoint_state.unwrap();
    assert_eq!(state.status().as_str(), "INACTIVE");
}
