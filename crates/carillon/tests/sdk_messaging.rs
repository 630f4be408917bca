//! Chime SDK Messaging through aws-sdk-chimesdkmessaging, on the listener that serves Identity: an
//! AppInstance and its users made with aws-sdk-chimesdkidentity, then channels, memberships,
//! moderators and messages as a chat app uses them (`docs/behaviour.md`, "Messaging").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use aws_sdk_chimesdkmessaging::Client as Chat;
use aws_sdk_chimesdkmessaging::operation::create_channel::builders::CreateChannelFluentBuilder;
use aws_sdk_chimesdkmessaging::operation::create_channel_membership::builders::CreateChannelMembershipFluentBuilder;
use aws_sdk_chimesdkmessaging::operation::send_channel_message::builders::SendChannelMessageFluentBuilder;
use aws_sdk_chimesdkmessaging::types::{
    ChannelMembershipType, ChannelMessagePersistenceType, ChannelMessageType, ChannelMode, ChannelPrivacy, SortOrder,
};
use carillon_testing::{TestServer, error_of};

/// An AppInstance with the users `ids` (their ARNs, in order), made through Identity.
async fn app_instance_with(server: &TestServer, account: &str, ids: &[&str]) -> (String, Vec<String>) {
    let identity = server.client_for(account, "us-east-1");
    let instance = identity.create_app_instance().name("chat").send().await.unwrap().app_instance_arn().unwrap().to_string();
    let mut users = Vec::new();
    for id in ids {
        let u = identity.create_app_instance_user().app_instance_arn(&instance).app_instance_user_id(*id).name(*id).send().await.unwrap();
        users.push(u.app_instance_user_arn().unwrap().to_string());
    }
    (instance, users)
}

/// CreateChannel of `name` in `instance` by `bearer`; add to it, then send.
fn create_channel(chat: &Chat, instance: &str, name: &str, bearer: &str) -> CreateChannelFluentBuilder {
    chat.create_channel().app_instance_arn(instance).name(name).chime_bearer(bearer)
}

/// The ARN of the channel `create` makes.
async fn created_arn(create: CreateChannelFluentBuilder) -> String {
    create.send().await.unwrap().channel_arn().unwrap().to_string()
}

/// SendChannelMessage of a STANDARD, PERSISTENT message `content` into `channel` by `bearer`.
fn message(chat: &Chat, channel: &str, bearer: &str, content: impl Into<String>) -> SendChannelMessageFluentBuilder {
    chat.send_channel_message()
        .channel_arn(channel)
        .content(content)
        .r#type(ChannelMessageType::Standard)
        .persistence(ChannelMessagePersistenceType::Persistent)
        .chime_bearer(bearer)
}

/// CreateChannelMembership of `member` (DEFAULT) in `channel` by `bearer`.
fn add_member(chat: &Chat, channel: &str, member: &str, bearer: &str) -> CreateChannelMembershipFluentBuilder {
    chat.create_channel_membership().channel_arn(channel).member_arn(member).r#type(ChannelMembershipType::Default).chime_bearer(bearer)
}

#[tokio::test]
async fn a_chat_through_the_messaging_sdk() {
    let server = TestServer::start();
    let account = carillon_testing::fresh_account();
    let (instance, users) = app_instance_with(&server, &account, &["ana", "bo", "cy"]).await;
    let (ana, bo, cy) = (&users[0], &users[1], &users[2]);
    let chat = server.messaging_client_for(&account, "us-east-1");

    // Ana opens a private channel with Bo; she is its first member and moderator.
    let channel = created_arn(
        create_channel(&chat, &instance, "general", ana).privacy(ChannelPrivacy::Private).mode(ChannelMode::Restricted).member_arns(bo),
    )
    .await;
    assert!(channel.starts_with(&format!("{instance}/channel/")), "{channel}");
    let d = chat.describe_channel().channel_arn(&channel).chime_bearer(bo).send().await.unwrap();
    let c = d.channel().unwrap();
    assert_eq!((c.name(), c.privacy(), c.mode()), (Some("general"), Some(&ChannelPrivacy::Private), Some(&ChannelMode::Restricted)));
    assert_eq!(c.created_by().unwrap().arn(), Some(ana.as_str()));
    assert_eq!(c.created_by().unwrap().name(), Some("ana"));
    let members = chat.list_channel_memberships().channel_arn(&channel).chime_bearer(ana).send().await.unwrap();
    let mut arns: Vec<&str> = members.channel_memberships().iter().filter_map(|m| m.member().and_then(|m| m.arn())).collect();
    arns.sort();
    let mut expected = vec![ana.as_str(), bo.as_str()];
    expected.sort();
    assert_eq!(arns, expected);

    // Cy is no member of a private channel: he learns nothing about it.
    let err = chat.describe_channel().channel_arn(&channel).chime_bearer(cy).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("ForbiddenException".into(), 403));
    let err = chat.list_channel_messages().channel_arn(&channel).chime_bearer(cy).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("ForbiddenException".into(), 403));

    // Messages: five sent, listed both ways in pages of two.
    let mut sent = Vec::new();
    for i in 0..5 {
        let from = if i % 2 == 0 { ana } else { bo };
        let m = message(&chat, &channel, from, format!("message {i}")).send().await.unwrap();
        assert_eq!(m.channel_arn(), Some(channel.as_str()));
        sent.push(m.message_id().unwrap().to_string());
    }
    for order in [SortOrder::Ascending, SortOrder::Descending] {
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = chat
                .list_channel_messages()
                .channel_arn(&channel)
                .sort_order(order.clone())
                .max_results(2)
                .set_next_token(token)
                .chime_bearer(bo)
                .send()
                .await
                .unwrap();
            assert!(page.channel_messages().len() <= 2);
            seen.extend(page.channel_messages().iter().map(|m| m.message_id().unwrap().to_string()));
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let mut expected = sent.clone();
        if order == SortOrder::Descending {
            expected.reverse();
        }
        assert_eq!(seen, expected, "{order:?}");
    }

    // A NON_PERSISTENT message is answered but never stored.
    let fleeting = message(&chat, &channel, ana, "typing")
        .r#type(ChannelMessageType::Control)
        .persistence(ChannelMessagePersistenceType::NonPersistent)
        .send()
        .await
        .unwrap();
    let err = chat
        .get_channel_message()
        .channel_arn(&channel)
        .message_id(fleeting.message_id().unwrap())
        .chime_bearer(ana)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));

    // Edit, redact, delete.
    let first = &sent[0];
    chat.update_channel_message().channel_arn(&channel).message_id(first).content("edited").chime_bearer(ana).send().await.unwrap();
    let m = chat.get_channel_message().channel_arn(&channel).message_id(first).chime_bearer(bo).send().await.unwrap();
    let m = m.channel_message().unwrap();
    assert_eq!(m.content(), Some("edited"));
    assert!(m.last_edited_timestamp().is_some());
    // Bo may not edit Ana's message.
    let err =
        chat.update_channel_message().channel_arn(&channel).message_id(first).content("mine").chime_bearer(bo).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("ForbiddenException".into(), 403));
    chat.redact_channel_message().channel_arn(&channel).message_id(&sent[1]).chime_bearer(bo).send().await.unwrap();
    let m = chat.get_channel_message().channel_arn(&channel).message_id(&sent[1]).chime_bearer(ana).send().await.unwrap();
    let m = m.channel_message().unwrap();
    assert!(m.redacted());
    assert_eq!(m.content(), None);
    // Only an AppInstanceAdmin deletes messages.
    let err = chat.delete_channel_message().channel_arn(&channel).message_id(&sent[2]).chime_bearer(ana).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("ForbiddenException".into(), 403));
    let identity = server.client_for(&account, "us-east-1");
    identity.create_app_instance_admin().app_instance_arn(&instance).app_instance_admin_arn(cy).send().await.unwrap();
    chat.delete_channel_message().channel_arn(&channel).message_id(&sent[2]).chime_bearer(cy).send().await.unwrap();
    let err = chat.get_channel_message().channel_arn(&channel).message_id(&sent[2]).chime_bearer(ana).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let left = chat.list_channel_messages().channel_arn(&channel).chime_bearer(ana).send().await.unwrap();
    assert_eq!(left.channel_messages().len(), 4);

    // Membership rules: in a RESTRICTED channel a plain member cannot add anyone; the moderator can,
    // and a second add of the same member is a conflict.
    let err = add_member(&chat, &channel, cy, bo).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("ForbiddenException".into(), 403));
    add_member(&chat, &channel, cy, ana).send().await.unwrap();
    let err = add_member(&chat, &channel, cy, ana).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("ConflictException".into(), 409));
    let mine = chat.list_channel_memberships_for_app_instance_user().chime_bearer(cy).send().await.unwrap();
    assert_eq!(mine.channel_memberships().len(), 1);

    // Deleting a user takes its memberships; deleting the channel takes everything in it.
    identity.delete_app_instance_user().app_instance_user_arn(bo).send().await.unwrap();
    let members = chat.list_channel_memberships().channel_arn(&channel).chime_bearer(ana).send().await.unwrap();
    assert!(members.channel_memberships().iter().all(|m| m.member().and_then(|m| m.arn()) != Some(bo.as_str())));
    chat.delete_channel().channel_arn(&channel).chime_bearer(ana).send().await.unwrap();
    let err = chat.describe_channel().channel_arn(&channel).chime_bearer(ana).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
}

#[tokio::test]
async fn the_bearer_is_checked_before_anything_else() {
    let server = TestServer::start();
    let account = carillon_testing::fresh_account();
    let (instance, users) = app_instance_with(&server, &account, &["ana"]).await;
    let chat = server.messaging_client_for(&account, "us-east-1");
    // Not a user of this account: the ARN is another account's.
    let stranger = users[0].replace(&account, "999999999999");
    let err = create_channel(&chat, &instance, "c", &stranger).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("ForbiddenException".into(), 403));
    // A user that does not exist.
    let ghost = format!("{instance}/user/ghost");
    let err = create_channel(&chat, &instance, "c", &ghost).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("UnauthorizedClientException".into(), 401));
}

#[tokio::test]
async fn tags_on_a_channel_and_on_an_app_instance_share_the_tags_path() {
    let server = TestServer::start();
    let account = carillon_testing::fresh_account();
    let (instance, users) = app_instance_with(&server, &account, &["ana"]).await;
    let chat = server.messaging_client_for(&account, "us-east-1");
    let channel = created_arn(create_channel(&chat, &instance, "tagged", &users[0])).await;
    let tag = |k: &str, v: &str| aws_sdk_chimesdkmessaging::types::Tag::builder().key(k).value(v).build().unwrap();
    chat.tag_resource().resource_arn(&channel).tags(tag("team", "blue")).send().await.unwrap();
    let tags = chat.list_tags_for_resource().resource_arn(&channel).send().await.unwrap();
    assert_eq!(tags.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(), vec![("team", "blue")]);
    // The AppInstance's tags are Identity's, through the same path and either client.
    chat.tag_resource().resource_arn(&instance).tags(tag("env", "test")).send().await.unwrap();
    let identity = server.client_for(&account, "us-east-1");
    let tags = identity.list_tags_for_resource().resource_arn(&instance).send().await.unwrap();
    assert_eq!(tags.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(), vec![("env", "test")]);
    chat.untag_resource().resource_arn(&channel).tag_keys("team").send().await.unwrap();
    assert!(chat.list_tags_for_resource().resource_arn(&channel).send().await.unwrap().tags().is_empty());
}

#[tokio::test]
async fn the_session_endpoint_is_this_listener() {
    let server = TestServer::start();
    let account = carillon_testing::fresh_account();
    let chat = server.messaging_client_for(&account, "us-east-1");
    let e = chat.get_messaging_session_endpoint().send().await.unwrap();
    let url = e.endpoint().unwrap().url().unwrap().to_string();
    assert_eq!(url, server.url().trim_start_matches("http://").trim_end_matches('/'));
}

#[tokio::test]
async fn operations_of_a_later_milestone_answer_501() {
    let server = TestServer::start();
    let account = carillon_testing::fresh_account();
    let (instance, users) = app_instance_with(&server, &account, &["ana"]).await;
    let chat = server.messaging_client_for(&account, "us-east-1");
    let channel = format!("{instance}/channel/c");
    let err = chat.list_channel_bans().channel_arn(&channel).chime_bearer(&users[0]).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotImplementedException".into(), 501));
}

#[tokio::test]
async fn with_the_aws_throttle_an_app_instance_takes_fifteen_channel_creations_a_second() {
    let server = TestServer::builder().config(|c| c.throttle = true).start();
    let account = carillon_testing::fresh_account();
    let (instance, users) = app_instance_with(&server, &account, &["ana", "bo", "cy"]).await;
    let (other, dee) = app_instance_with(&server, &account, &["dee"]).await;
    let chat = server.messaging_client_for(&account, "us-east-1");

    // 30 at once, 10 per bearer (each bearer's whole second): only the AppInstance's 15/s limits them.
    let started = std::time::Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..30 {
        let create = create_channel(&chat, &instance, "c", &users[i % 3]);
        calls.spawn(create.send());
    }
    let (mut created, mut throttled) = (0u32, 0u32);
    while let Some(answer) = calls.join_next().await {
        match answer.unwrap() {
            Ok(_) => created += 1,
            Err(e) => {
                assert_eq!(error_of(&e), ("ThrottledClientException".into(), 429));
                throttled += 1;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    // The bucket holds 15 and earns 15 a second while the calls run.
    let allowed = 15 + (15.0 * elapsed).ceil() as u32;
    assert!(created >= 15 && created <= allowed, "{created} created in {elapsed:.3}s");
    assert!(elapsed >= 1.0 || throttled > 0, "{created} created, none throttled, in {elapsed:.3}s");

    // Another AppInstance has its own budget.
    assert!(created_arn(create_channel(&chat, &other, "c", &dee[0])).await.starts_with(&other));
}
