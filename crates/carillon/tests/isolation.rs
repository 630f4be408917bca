//! Isolation by (account, region): two accounts by two regions. For every operation of Identity
//! and of Messaging, the three other callers never see, change, list, tag or promote what the
//! first one created, and what it created is unchanged afterwards (`docs/behaviour.md`, "Accounts,
//! regions and signatures": an ARN of another account or region is 403, whether or not it exists).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use aws_sdk_chimesdkidentity::Client;
use aws_sdk_chimesdkidentity::types::*;
use aws_sdk_chimesdkmessaging::Client as Chat;
use aws_sdk_chimesdkmessaging::types as m;
use carillon_testing::{TestServer, error_of, fresh_account, message_of, pinpoint_arn};
use std::collections::BTreeMap;

struct Owned {
    instance: String,
    user: String,
    bot: String,
    endpoint: String,
}

async fn create_everything(c: &Client, account: &str, region: &str) -> Owned {
    let instance = c.create_app_instance().name("mine").tags(Tag::builder().key("k").value("v").build().unwrap()).send().await.unwrap();
    let instance = instance.app_instance_arn().unwrap().to_string();
    let user = c.create_app_instance_user().app_instance_arn(&instance).app_instance_user_id("me:1@x").name("Me").send().await.unwrap();
    let user = user.app_instance_user_arn().unwrap().to_string();
    let lex = LexConfiguration::builder()
        .lex_bot_alias_arn("arn:aws:lex:us-east-1:111122223333:bot-alias/ABCDEFGHIJ/KLMNOPQRST")
        .locale_id("en_US")
        .responds_to(RespondsTo::StandardMessages)
        .build()
        .unwrap();
    let bot = c
        .create_app_instance_bot()
        .app_instance_arn(&instance)
        .name("B")
        .configuration(Configuration::builder().lex(lex).build())
        .send()
        .await
        .unwrap();
    let bot = bot.app_instance_bot_arn().unwrap().to_string();
    c.create_app_instance_admin().app_instance_arn(&instance).app_instance_admin_arn(&user).send().await.unwrap();
    let endpoint = c
        .register_app_instance_user_endpoint()
        .app_instance_user_arn(&user)
        .r#type(AppInstanceUserEndpointType::Apns)
        .resource_arn(pinpoint_arn(account, region))
        .endpoint_attributes(EndpointAttributes::builder().device_token("tok").build().unwrap())
        .send()
        .await
        .unwrap();
    Owned { instance, user, bot, endpoint: endpoint.endpoint_id().unwrap().to_string() }
}

/// What the owner can read of its resources, as text (sensitive members through their getters).
async fn snapshot(c: &Client, o: &Owned) -> String {
    let ai = c.describe_app_instance().app_instance_arn(&o.instance).send().await.unwrap().app_instance.unwrap();
    let u = c.describe_app_instance_user().app_instance_user_arn(&o.user).send().await.unwrap().app_instance_user.unwrap();
    let b = c.describe_app_instance_bot().app_instance_bot_arn(&o.bot).send().await.unwrap().app_instance_bot.unwrap();
    let e = c.describe_app_instance_user_endpoint().app_instance_user_arn(&o.user).endpoint_id(&o.endpoint).send().await.unwrap();
    let e = e.app_instance_user_endpoint.unwrap();
    let admins = c.list_app_instance_admins().app_instance_arn(&o.instance).send().await.unwrap();
    let tags = c.list_tags_for_resource().resource_arn(&o.instance).send().await.unwrap();
    let r = c.get_app_instance_retention_settings().app_instance_arn(&o.instance).send().await.unwrap();
    let users = c.list_app_instance_users().app_instance_arn(&o.instance).send().await.unwrap();
    let bots = c.list_app_instance_bots().app_instance_arn(&o.instance).send().await.unwrap();
    let endpoints = c.list_app_instance_user_endpoints().app_instance_user_arn(&o.user).send().await.unwrap();
    format!(
        "{ai:?} {:?} {:?}\n{u:?} {:?} {:?}\n{b:?} {:?}\n{e:?} {:?} {:?}\n{:?}\n{:?}\n{:?}\n{} {} {}",
        ai.name(),
        ai.metadata(),
        u.name(),
        u.metadata(),
        b.name(),
        e.name(),
        e.endpoint_attributes().map(|a| a.device_token()),
        admins.app_instance_admins().iter().map(|a| a.admin().and_then(|i| i.arn())).collect::<Vec<_>>(),
        tags.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(),
        r.app_instance_retention_settings(),
        users.app_instance_users().len(),
        bots.app_instance_bots().len(),
        endpoints.app_instance_user_endpoints().len()
    )
}

/// The call is refused 403 `ForbiddenException` by the ownership check of an ARN it names (not,
/// say, by a role in a channel, which would also be a 403).
macro_rules! forbidden {
    ($label:expr, $call:expr) => {{
        let err = $call.send().await.expect_err($label);
        assert_eq!(error_of(&err), ("ForbiddenException".to_string(), 403), "{}", $label);
        let message = message_of(&err);
        assert!(message.contains("belongs to another account or region than the caller's"), "{}: {message}", $label);
    }};
}

/// Every operation a stranger could aim at `o`.
async fn stranger_tries_everything(s: &Client, stranger_account: &str, region: &str, o: &Owned) {
    let tag = Tag::builder().key("x").value("y").build().unwrap();
    let exp = ExpirationSettings::builder().expiration_days(1).expiration_criterion(ExpirationCriterion::CreatedTimestamp).build().unwrap();
    let retention = AppInstanceRetentionSettings::builder()
        .channel_retention_settings(ChannelRetentionSettings::builder().retention_days(1).build())
        .build();
    let lex = LexConfiguration::builder()
        .lex_bot_alias_arn("arn:aws:lex:us-east-1:111122223333:bot-alias/ABCDEFGHIJ/KLMNOPQRST")
        .locale_id("en_US")
        .build()
        .unwrap();
    let config = Configuration::builder().lex(lex).build();

    forbidden!("DescribeAppInstance", s.describe_app_instance().app_instance_arn(&o.instance));
    forbidden!("UpdateAppInstance", s.update_app_instance().app_instance_arn(&o.instance).name("x").metadata("x"));
    forbidden!("DeleteAppInstance", s.delete_app_instance().app_instance_arn(&o.instance));
    forbidden!(
        "PutAppInstanceRetentionSettings",
        s.put_app_instance_retention_settings().app_instance_arn(&o.instance).app_instance_retention_settings(retention)
    );
    forbidden!("GetAppInstanceRetentionSettings", s.get_app_instance_retention_settings().app_instance_arn(&o.instance));
    forbidden!(
        "CreateAppInstanceUser",
        s.create_app_instance_user().app_instance_arn(&o.instance).app_instance_user_id("intruder").name("x")
    );
    forbidden!("DescribeAppInstanceUser", s.describe_app_instance_user().app_instance_user_arn(&o.user));
    forbidden!("UpdateAppInstanceUser", s.update_app_instance_user().app_instance_user_arn(&o.user).name("x").metadata("x"));
    forbidden!("DeleteAppInstanceUser", s.delete_app_instance_user().app_instance_user_arn(&o.user));
    forbidden!("ListAppInstanceUsers", s.list_app_instance_users().app_instance_arn(&o.instance));
    forbidden!(
        "PutAppInstanceUserExpirationSettings",
        s.put_app_instance_user_expiration_settings().app_instance_user_arn(&o.user).expiration_settings(exp)
    );
    forbidden!("CreateAppInstanceBot", s.create_app_instance_bot().app_instance_arn(&o.instance).configuration(config.clone()));
    forbidden!("DescribeAppInstanceBot", s.describe_app_instance_bot().app_instance_bot_arn(&o.bot));
    forbidden!("UpdateAppInstanceBot", s.update_app_instance_bot().app_instance_bot_arn(&o.bot).name("x").metadata("x"));
    forbidden!("DeleteAppInstanceBot", s.delete_app_instance_bot().app_instance_bot_arn(&o.bot));
    forbidden!("ListAppInstanceBots", s.list_app_instance_bots().app_instance_arn(&o.instance));
    forbidden!("CreateAppInstanceAdmin", s.create_app_instance_admin().app_instance_arn(&o.instance).app_instance_admin_arn(&o.user));
    forbidden!("DescribeAppInstanceAdmin", s.describe_app_instance_admin().app_instance_arn(&o.instance).app_instance_admin_arn(&o.user));
    forbidden!("DeleteAppInstanceAdmin", s.delete_app_instance_admin().app_instance_arn(&o.instance).app_instance_admin_arn(&o.user));
    forbidden!("ListAppInstanceAdmins", s.list_app_instance_admins().app_instance_arn(&o.instance));
    forbidden!(
        "RegisterAppInstanceUserEndpoint",
        s.register_app_instance_user_endpoint()
            .app_instance_user_arn(&o.user)
            .r#type(AppInstanceUserEndpointType::Gcm)
            .resource_arn(pinpoint_arn(stranger_account, region))
            .endpoint_attributes(EndpointAttributes::builder().device_token("evil").build().unwrap())
    );
    forbidden!(
        "UpdateAppInstanceUserEndpoint",
        s.update_app_instance_user_endpoint().app_instance_user_arn(&o.user).endpoint_id(&o.endpoint).name("x")
    );
    forbidden!(
        "DescribeAppInstanceUserEndpoint",
        s.describe_app_instance_user_endpoint().app_instance_user_arn(&o.user).endpoint_id(&o.endpoint)
    );
    forbidden!("ListAppInstanceUserEndpoints", s.list_app_instance_user_endpoints().app_instance_user_arn(&o.user));
    forbidden!(
        "DeregisterAppInstanceUserEndpoint",
        s.deregister_app_instance_user_endpoint().app_instance_user_arn(&o.user).endpoint_id(&o.endpoint)
    );
    forbidden!("TagResource", s.tag_resource().resource_arn(&o.instance).tags(tag.clone()));
    forbidden!("TagResource on a user", s.tag_resource().resource_arn(&o.user).tags(tag.clone()));
    forbidden!("UntagResource", s.untag_resource().resource_arn(&o.instance).tag_keys("k"));
    forbidden!("ListTagsForResource", s.list_tags_for_resource().resource_arn(&o.bot));

    // What the stranger makes in its own scope stays there, and cannot take in the owner's users.
    let theirs = s.create_app_instance().name("theirs").send().await.unwrap().app_instance_arn().unwrap().to_string();
    let listed = s.list_app_instances().send().await.unwrap();
    let arns: Vec<_> = listed.app_instances().iter().map(|a| a.app_instance_arn().unwrap()).collect();
    assert!(!arns.contains(&o.instance.as_str()), "ListAppInstances shows only the caller's");
    forbidden!(
        "CreateAppInstanceAdmin of the owner's user",
        s.create_app_instance_admin().app_instance_arn(&theirs).app_instance_admin_arn(&o.user)
    );
    s.delete_app_instance().app_instance_arn(&theirs).send().await.unwrap();
}

/// What the owner made with Messaging in its AppInstance.
struct Chatted {
    /// A second user of the AppInstance: member (with preferences) and moderator of the channel.
    member: String,
    channel: String,
    flow: String,
    messages: Vec<String>,
}

/// A client token both the owner and each stranger use: tokens are the caller's, never shared.
const CHANNEL_TOKEN: &str = "isolation-channel-token";
const FLOW_TOKEN: &str = "isolation-flow-token";
const MESSAGE_TOKEN: &str = "isolation-message-token";
/// The ChannelId the owner chooses and each stranger chooses again in its own AppInstance.
const CHANNEL_ID: &str = "isolated";

fn chat_tag(k: &str, v: &str) -> m::Tag {
    m::Tag::builder().key(k).value(v).build().unwrap()
}

fn processor(account: &str) -> m::Processor {
    let lambda = m::LambdaConfiguration::builder()
        .resource_arn(format!("arn:aws:lambda:us-east-1:{account}:function:carillon-flow"))
        .invocation_type(m::InvocationType::Async)
        .build()
        .unwrap();
    m::Processor::builder()
        .name("p")
        .configuration(m::ProcessorConfiguration::builder().lambda(lambda).build())
        .execution_order(1)
        .fallback_action(m::FallbackAction::Continue)
        .build()
        .unwrap()
}

fn streaming(account: &str) -> m::StreamingConfiguration {
    m::StreamingConfiguration::builder()
        .data_type(m::MessagingDataType::Channel)
        .resource_arn(format!("arn:aws:kinesis:us-east-1:{account}:stream/chime-messaging-carillon"))
        .build()
        .unwrap()
}

fn filtered_preferences() -> m::ChannelMembershipPreferences {
    let push = m::PushNotificationPreferences::builder()
        .allow_notifications(m::AllowNotifications::Filtered)
        .filter_rule(r#"{"topic":["news"]}"#)
        .build()
        .unwrap();
    m::ChannelMembershipPreferences::builder().push_notifications(push).build()
}

fn expiration(days: i32) -> m::ExpirationSettings {
    m::ExpirationSettings::builder().expiration_days(days).expiration_criterion(m::ExpirationCriterion::CreatedTimestamp).build().unwrap()
}

/// The owner's Messaging resources, each of every kind the matrix checks.
async fn create_chat(identity: &Client, chat: &Chat, account: &str, o: &Owned) -> Chatted {
    let member = identity.create_app_instance_user().app_instance_arn(&o.instance).app_instance_user_id("you:2@x").name("You");
    let member = member.send().await.unwrap().app_instance_user_arn().unwrap().to_string();
    let channel = chat
        .create_channel()
        .app_instance_arn(&o.instance)
        .channel_id(CHANNEL_ID)
        .name("mine")
        .metadata("meta")
        .privacy(m::ChannelPrivacy::Private)
        .mode(m::ChannelMode::Restricted)
        .tags(chat_tag("team", "blue"))
        .expiration_settings(expiration(30))
        .client_request_token(CHANNEL_TOKEN)
        .chime_bearer(&o.user)
        .send()
        .await
        .unwrap();
    let channel = channel.channel_arn().unwrap().to_string();
    chat.create_channel_membership()
        .channel_arn(&channel)
        .member_arn(&member)
        .r#type(m::ChannelMembershipType::Default)
        .chime_bearer(&o.user)
        .send()
        .await
        .unwrap();
    chat.put_channel_membership_preferences()
        .channel_arn(&channel)
        .member_arn(&member)
        .preferences(filtered_preferences())
        .chime_bearer(&member)
        .send()
        .await
        .unwrap();
    chat.create_channel_moderator().channel_arn(&channel).channel_moderator_arn(&member).chime_bearer(&o.user).send().await.unwrap();
    let first = chat
        .send_channel_message()
        .channel_arn(&channel)
        .content("hello")
        .metadata("first")
        .content_type("text/plain")
        .message_attributes("topic", m::MessageAttributeValue::builder().string_values("news").build())
        .r#type(m::ChannelMessageType::Standard)
        .persistence(m::ChannelMessagePersistenceType::Persistent)
        .client_request_token(MESSAGE_TOKEN)
        .chime_bearer(&o.user)
        .send()
        .await
        .unwrap();
    let second = chat
        .send_channel_message()
        .channel_arn(&channel)
        .content("hi")
        .r#type(m::ChannelMessageType::Standard)
        .persistence(m::ChannelMessagePersistenceType::Persistent)
        .chime_bearer(&member)
        .send()
        .await
        .unwrap();
    let messages = [first, second].iter().map(|s| s.message_id().unwrap().to_string()).collect();
    chat.update_channel_read_marker().channel_arn(&channel).chime_bearer(&o.user).send().await.unwrap();
    let flow = chat
        .create_channel_flow()
        .app_instance_arn(&o.instance)
        .name("flow")
        .processors(processor(account))
        .tags(chat_tag("flow", "yes"))
        .client_request_token(FLOW_TOKEN)
        .send()
        .await
        .unwrap();
    let flow = flow.channel_flow_arn().unwrap().to_string();
    chat.associate_channel_flow().channel_arn(&channel).channel_flow_arn(&flow).chime_bearer(&o.user).send().await.unwrap();
    chat.put_messaging_streaming_configurations()
        .app_instance_arn(&o.instance)
        .streaming_configurations(streaming(account))
        .send()
        .await
        .unwrap();
    Chatted { member, channel, flow, messages }
}

// Text of what the SDK reads, its sensitive members (which `Debug` hides) through their getters.

fn who(i: Option<&m::Identity>) -> String {
    format!("{:?}={:?}", i.and_then(|i| i.arn()), i.and_then(|i| i.name()))
}

fn attributes(a: Option<&std::collections::HashMap<String, m::MessageAttributeValue>>) -> String {
    format!("{:?}", a.map(|a| a.iter().map(|(k, v)| (k, v.string_values())).collect::<BTreeMap<_, _>>()))
}

fn channel_summary(s: &m::ChannelSummary) -> String {
    format!("{s:?} {:?} {:?} {:?} {:?} {:?}", s.name(), s.channel_arn(), s.mode(), s.privacy(), s.metadata())
}

fn processors(p: &[m::Processor]) -> String {
    p.iter().map(|p| format!("{p:?} {} {:?} {} {:?}", p.name(), p.configuration(), p.execution_order(), p.fallback_action())).collect()
}

fn message_summary(s: &m::ChannelMessageSummary) -> String {
    format!(
        "{s:?} {:?} {:?} {:?} {:?} {:?} {} {} {:?} {:?} {}",
        s.message_id(),
        s.content(),
        s.metadata(),
        s.r#type(),
        s.content_type(),
        who(s.sender()),
        s.redacted(),
        s.status(),
        s.last_edited_timestamp(),
        attributes(s.message_attributes())
    )
}

/// What the owner can read of its Messaging resources, as text.
async fn chat_snapshot(chat: &Chat, o: &Owned, c: &Chatted) -> String {
    let bearer = o.user.as_str();
    let mut out = Vec::new();
    let d = chat.describe_channel().channel_arn(&c.channel).chime_bearer(bearer).send().await.unwrap().channel.unwrap();
    out.push(format!(
        "{d:?} {:?} {:?} {:?} {:?} {:?} {:?} {}",
        d.name(),
        d.channel_arn(),
        d.mode(),
        d.privacy(),
        d.metadata(),
        d.channel_flow_arn(),
        who(d.created_by())
    ));
    for privacy in [m::ChannelPrivacy::Public, m::ChannelPrivacy::Private] {
        let l = chat.list_channels().app_instance_arn(&o.instance).privacy(privacy).chime_bearer(bearer).send().await.unwrap();
        out.push(l.channels().iter().map(channel_summary).collect());
    }
    let l = chat.list_channel_memberships().channel_arn(&c.channel).chime_bearer(bearer).send().await.unwrap();
    out.push(l.channel_memberships().iter().map(|s| who(s.member())).collect());
    let d = chat.describe_channel_membership().channel_arn(&c.channel).member_arn(&c.member).chime_bearer(bearer).send().await.unwrap();
    let d = d.channel_membership.unwrap();
    out.push(format!("{d:?} {} {} {:?}", who(d.invited_by()), who(d.member()), d.channel_arn()));
    let p = chat
        .get_channel_membership_preferences()
        .channel_arn(&c.channel)
        .member_arn(&c.member)
        .chime_bearer(&c.member)
        .send()
        .await
        .unwrap();
    let push = p.preferences().and_then(|p| p.push_notifications());
    out.push(format!(
        "{:?} {} {:?} {:?}",
        p.channel_arn(),
        who(p.member()),
        push.map(|p| p.allow_notifications()),
        push.and_then(|p| p.filter_rule())
    ));
    let l = chat.list_channel_moderators().channel_arn(&c.channel).chime_bearer(bearer).send().await.unwrap();
    out.push(l.channel_moderators().iter().map(|s| who(s.moderator())).collect());
    let d = chat
        .describe_channel_moderator()
        .channel_arn(&c.channel)
        .channel_moderator_arn(&c.member)
        .chime_bearer(bearer)
        .send()
        .await
        .unwrap()
        .channel_moderator
        .unwrap();
    out.push(format!("{d:?} {} {} {:?}", who(d.moderator()), who(d.created_by()), d.channel_arn()));
    let l =
        chat.list_channel_messages().channel_arn(&c.channel).sort_order(m::SortOrder::Ascending).chime_bearer(bearer).send().await.unwrap();
    out.push(l.channel_messages().iter().map(message_summary).collect());
    for id in &c.messages {
        let g = chat.get_channel_message().channel_arn(&c.channel).message_id(id).chime_bearer(bearer).send().await.unwrap();
        let g = g.channel_message.unwrap();
        out.push(format!(
            "{g:?} {:?} {:?} {:?} {:?} {:?} {:?} {} {} {:?} {}",
            g.channel_arn(),
            g.message_id(),
            g.content(),
            g.metadata(),
            g.r#type(),
            g.content_type(),
            who(g.sender()),
            g.redacted(),
            g.persistence(),
            attributes(g.message_attributes())
        ));
    }
    // The memberships and read markers of both users (the owner's user is an AppInstanceAdmin).
    for user in [&o.user, &c.member] {
        let l =
            chat.list_channel_memberships_for_app_instance_user().app_instance_user_arn(user).chime_bearer(bearer).send().await.unwrap();
        out.push(
            l.channel_memberships()
                .iter()
                .map(|s| {
                    format!(
                        "{} {:?}",
                        s.channel_summary().map(channel_summary).unwrap_or_default(),
                        s.app_instance_user_membership_summary()
                    )
                })
                .collect(),
        );
    }
    let f = chat.describe_channel_flow().channel_flow_arn(&c.flow).send().await.unwrap().channel_flow.unwrap();
    out.push(format!("{f:?} {:?} {:?} {}", f.channel_flow_arn(), f.name(), processors(f.processors())));
    let l = chat.list_channel_flows().app_instance_arn(&o.instance).send().await.unwrap();
    out.push(
        l.channel_flows().iter().map(|s| format!("{:?} {:?} {}", s.channel_flow_arn(), s.name(), processors(s.processors()))).collect(),
    );
    let l = chat.list_channels_associated_with_channel_flow().channel_flow_arn(&c.flow).send().await.unwrap();
    out.push(
        l.channels()
            .iter()
            .map(|s| format!("{s:?} {:?} {:?} {:?} {:?} {:?}", s.name(), s.channel_arn(), s.mode(), s.privacy(), s.metadata()))
            .collect(),
    );
    let s = chat.get_messaging_streaming_configurations().app_instance_arn(&o.instance).send().await.unwrap();
    out.push(format!("{:?}", s.streaming_configurations()));
    for arn in [&c.channel, &c.flow] {
        let t = chat.list_tags_for_resource().resource_arn(arn).send().await.unwrap();
        out.push(format!("{:?}", t.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>()));
    }
    out.join("\n")
}

/// The ARNs a list shows (each must be there).
fn arns<'a>(list: impl Iterator<Item = Option<&'a str>>) -> Vec<&'a str> {
    list.map(Option::unwrap).collect()
}

/// Every Messaging operation a stranger could aim at the owner's resources, first as the user of
/// an AppInstance of its own, then as the owner's user; and the stranger's own resources, made
/// with the owner's ChannelId and client tokens, are its own and list only themselves.
async fn stranger_tries_messaging(identity: &Client, chat: &Chat, account: &str, o: &Owned, c: &Chatted) {
    // The stranger's own AppInstance, user, channel, message and flow, in its own scope.
    let theirs = identity.create_app_instance().name("theirs").send().await.unwrap().app_instance_arn().unwrap().to_string();
    let mine = identity.create_app_instance_user().app_instance_arn(&theirs).app_instance_user_id("me:1@x").name("Me");
    let mine = mine.send().await.unwrap().app_instance_user_arn().unwrap().to_string();
    let own = chat
        .create_channel()
        .app_instance_arn(&theirs)
        .channel_id(CHANNEL_ID)
        .name("theirs")
        .tags(chat_tag("team", "red"))
        .client_request_token(CHANNEL_TOKEN)
        .chime_bearer(&mine)
        .send()
        .await
        .expect("the owner's ChannelId and token are free in another scope");
    let own = own.channel_arn().unwrap().to_string();
    assert_eq!(own, format!("{theirs}/channel/{CHANNEL_ID}"));
    let sent = chat
        .send_channel_message()
        .channel_arn(&own)
        .content("mine")
        .r#type(m::ChannelMessageType::Standard)
        .persistence(m::ChannelMessagePersistenceType::Persistent)
        .client_request_token(MESSAGE_TOKEN)
        .chime_bearer(&mine)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.channel_arn(), Some(own.as_str()), "the owner's message token replays nothing here");
    let own_message = sent.message_id().unwrap().to_string();
    assert!(!c.messages.contains(&own_message));
    let own_flow = chat.create_channel_flow().app_instance_arn(&theirs).name("theirs").processors(processor(account));
    let own_flow = own_flow.client_request_token(FLOW_TOKEN).send().await.unwrap().channel_flow_arn().unwrap().to_string();
    assert!(own_flow.starts_with(&format!("{theirs}/channel-flow/")), "{own_flow}");
    chat.associate_channel_flow().channel_arn(&own).channel_flow_arn(&own_flow).chime_bearer(&mine).send().await.unwrap();

    let tag = chat_tag("x", "y");
    let attribute = m::MessageAttributeValue::builder().string_values("news").build();
    let callback = m::ChannelMessageCallback::builder().message_id(&c.messages[0]).content("x").build().unwrap();
    let search = m::SearchField::builder().key(m::SearchFieldKey::Members).values(&o.user).operator(m::SearchFieldOperator::Includes);
    let search = search.build().unwrap();

    // The owner's ARNs in the path, query or body: 403, whoever the bearer (its own user, or the
    // owner's, of another account or region).
    for bearer in [mine.as_str(), o.user.as_str()] {
        // Channels.
        forbidden!(
            "CreateChannel in the owner's AppInstance",
            chat.create_channel().app_instance_arn(&o.instance).name("x").chime_bearer(bearer)
        );
        forbidden!("DescribeChannel", chat.describe_channel().channel_arn(&c.channel).chime_bearer(bearer));
        forbidden!(
            "UpdateChannel",
            chat.update_channel().channel_arn(&c.channel).name("x").metadata("x").mode(m::ChannelMode::Unrestricted).chime_bearer(bearer)
        );
        forbidden!("DeleteChannel", chat.delete_channel().channel_arn(&c.channel).chime_bearer(bearer));
        for privacy in [m::ChannelPrivacy::Public, m::ChannelPrivacy::Private] {
            forbidden!("ListChannels", chat.list_channels().app_instance_arn(&o.instance).privacy(privacy).chime_bearer(bearer));
        }
        forbidden!(
            "PutChannelExpirationSettings",
            chat.put_channel_expiration_settings().channel_arn(&c.channel).expiration_settings(expiration(1)).chime_bearer(bearer)
        );
        // Memberships and preferences.
        forbidden!(
            "CreateChannelMembership",
            chat.create_channel_membership()
                .channel_arn(&c.channel)
                .member_arn(&c.member)
                .r#type(m::ChannelMembershipType::Hidden)
                .chime_bearer(bearer)
        );
        forbidden!(
            "BatchCreateChannelMembership",
            chat.batch_create_channel_membership().channel_arn(&c.channel).member_arns(&o.user).chime_bearer(bearer)
        );
        forbidden!(
            "DescribeChannelMembership",
            chat.describe_channel_membership().channel_arn(&c.channel).member_arn(&c.member).chime_bearer(bearer)
        );
        forbidden!(
            "DeleteChannelMembership",
            chat.delete_channel_membership().channel_arn(&c.channel).member_arn(&c.member).chime_bearer(bearer)
        );
        forbidden!("ListChannelMemberships", chat.list_channel_memberships().channel_arn(&c.channel).chime_bearer(bearer));
        forbidden!(
            "ListChannelMemberships HIDDEN",
            chat.list_channel_memberships().channel_arn(&c.channel).r#type(m::ChannelMembershipType::Hidden).chime_bearer(bearer)
        );
        for user in [&o.user, &c.member] {
            forbidden!(
                "ListChannelMembershipsForAppInstanceUser of the owner's user",
                chat.list_channel_memberships_for_app_instance_user().app_instance_user_arn(user).chime_bearer(bearer)
            );
        }
        forbidden!(
            "GetChannelMembershipPreferences",
            chat.get_channel_membership_preferences().channel_arn(&c.channel).member_arn(&c.member).chime_bearer(bearer)
        );
        forbidden!(
            "PutChannelMembershipPreferences",
            chat.put_channel_membership_preferences()
                .channel_arn(&c.channel)
                .member_arn(&c.member)
                .preferences(filtered_preferences())
                .chime_bearer(bearer)
        );
        forbidden!("UpdateChannelReadMarker", chat.update_channel_read_marker().channel_arn(&c.channel).chime_bearer(bearer));
        // Moderators.
        forbidden!(
            "CreateChannelModerator",
            chat.create_channel_moderator().channel_arn(&c.channel).channel_moderator_arn(&o.user).chime_bearer(bearer)
        );
        forbidden!(
            "DescribeChannelModerator",
            chat.describe_channel_moderator().channel_arn(&c.channel).channel_moderator_arn(&c.member).chime_bearer(bearer)
        );
        forbidden!(
            "DeleteChannelModerator",
            chat.delete_channel_moderator().channel_arn(&c.channel).channel_moderator_arn(&c.member).chime_bearer(bearer)
        );
        forbidden!("ListChannelModerators", chat.list_channel_moderators().channel_arn(&c.channel).chime_bearer(bearer));
        // Messages.
        forbidden!(
            "SendChannelMessage",
            chat.send_channel_message()
                .channel_arn(&c.channel)
                .content("intruder")
                .r#type(m::ChannelMessageType::Standard)
                .persistence(m::ChannelMessagePersistenceType::Persistent)
                .client_request_token(MESSAGE_TOKEN)
                .chime_bearer(bearer)
        );
        for id in &c.messages {
            forbidden!("GetChannelMessage", chat.get_channel_message().channel_arn(&c.channel).message_id(id).chime_bearer(bearer));
            forbidden!(
                "UpdateChannelMessage",
                chat.update_channel_message().channel_arn(&c.channel).message_id(id).content("x").chime_bearer(bearer)
            );
            forbidden!("RedactChannelMessage", chat.redact_channel_message().channel_arn(&c.channel).message_id(id).chime_bearer(bearer));
            forbidden!("DeleteChannelMessage", chat.delete_channel_message().channel_arn(&c.channel).message_id(id).chime_bearer(bearer));
        }
        for order in [m::SortOrder::Ascending, m::SortOrder::Descending] {
            forbidden!("ListChannelMessages", chat.list_channel_messages().channel_arn(&c.channel).sort_order(order).chime_bearer(bearer));
        }
        // Channel flows on the owner's channel.
        forbidden!(
            "AssociateChannelFlow of the owner's flow",
            chat.associate_channel_flow().channel_arn(&c.channel).channel_flow_arn(&c.flow).chime_bearer(bearer)
        );
        forbidden!(
            "AssociateChannelFlow of the stranger's flow",
            chat.associate_channel_flow().channel_arn(&c.channel).channel_flow_arn(&own_flow).chime_bearer(bearer)
        );
        forbidden!(
            "DisassociateChannelFlow",
            chat.disassociate_channel_flow().channel_arn(&c.channel).channel_flow_arn(&c.flow).chime_bearer(bearer)
        );
        // The operations Carillon lacks check the ARNs before their 501.
        forbidden!("CreateChannelBan", chat.create_channel_ban().channel_arn(&c.channel).member_arn(&c.member).chime_bearer(bearer));
        forbidden!("DescribeChannelBan", chat.describe_channel_ban().channel_arn(&c.channel).member_arn(&c.member).chime_bearer(bearer));
        forbidden!("DeleteChannelBan", chat.delete_channel_ban().channel_arn(&c.channel).member_arn(&c.member).chime_bearer(bearer));
        forbidden!("ListChannelBans", chat.list_channel_bans().channel_arn(&c.channel).chime_bearer(bearer));
        forbidden!(
            "GetChannelMessageStatus",
            chat.get_channel_message_status().channel_arn(&c.channel).message_id(&c.messages[0]).chime_bearer(bearer)
        );
        forbidden!("ListSubChannels", chat.list_sub_channels().channel_arn(&c.channel).chime_bearer(bearer));
        forbidden!(
            "DescribeChannelMembershipForAppInstanceUser",
            chat.describe_channel_membership_for_app_instance_user()
                .channel_arn(&c.channel)
                .app_instance_user_arn(&c.member)
                .chime_bearer(bearer)
        );
        forbidden!(
            "DescribeChannelModeratedByAppInstanceUser",
            chat.describe_channel_moderated_by_app_instance_user()
                .channel_arn(&c.channel)
                .app_instance_user_arn(&c.member)
                .chime_bearer(bearer)
        );
        forbidden!(
            "ListChannelsModeratedByAppInstanceUser",
            chat.list_channels_moderated_by_app_instance_user().app_instance_user_arn(&c.member).chime_bearer(bearer)
        );
        forbidden!("SearchChannels naming the owner's user", chat.search_channels().fields(search.clone()).chime_bearer(bearer));
    }
    forbidden!(
        "PutChannelExpirationSettings without a bearer",
        chat.put_channel_expiration_settings().channel_arn(&c.channel).expiration_settings(expiration(1))
    );
    forbidden!(
        "ChannelFlowCallback",
        chat.channel_flow_callback().callback_id("isolation-callback-0123456789abcdef").channel_arn(&c.channel).channel_message(callback)
    );

    // The owner's users named in the body or query of a request on the stranger's own channel.
    for user in [&o.user, &c.member] {
        forbidden!(
            "CreateChannel with the owner's member",
            chat.create_channel().app_instance_arn(&theirs).name("x").member_arns(user).chime_bearer(&mine)
        );
        forbidden!(
            "CreateChannel with the owner's moderator",
            chat.create_channel().app_instance_arn(&theirs).name("x").moderator_arns(user).chime_bearer(&mine)
        );
        forbidden!(
            "CreateChannelMembership of the owner's user",
            chat.create_channel_membership()
                .channel_arn(&own)
                .member_arn(user)
                .r#type(m::ChannelMembershipType::Default)
                .chime_bearer(&mine)
        );
        forbidden!(
            "BatchCreateChannelMembership of the owner's user",
            chat.batch_create_channel_membership().channel_arn(&own).member_arns(&mine).member_arns(user).chime_bearer(&mine)
        );
        forbidden!(
            "DescribeChannelMembership of the owner's user",
            chat.describe_channel_membership().channel_arn(&own).member_arn(user).chime_bearer(&mine)
        );
        forbidden!(
            "DeleteChannelMembership of the owner's user",
            chat.delete_channel_membership().channel_arn(&own).member_arn(user).chime_bearer(&mine)
        );
        forbidden!(
            "GetChannelMembershipPreferences of the owner's user",
            chat.get_channel_membership_preferences().channel_arn(&own).member_arn(user).chime_bearer(&mine)
        );
        forbidden!(
            "PutChannelMembershipPreferences of the owner's user",
            chat.put_channel_membership_preferences()
                .channel_arn(&own)
                .member_arn(user)
                .preferences(filtered_preferences())
                .chime_bearer(&mine)
        );
        forbidden!(
            "CreateChannelModerator of the owner's user",
            chat.create_channel_moderator().channel_arn(&own).channel_moderator_arn(user).chime_bearer(&mine)
        );
        forbidden!(
            "DescribeChannelModerator of the owner's user",
            chat.describe_channel_moderator().channel_arn(&own).channel_moderator_arn(user).chime_bearer(&mine)
        );
        forbidden!(
            "DeleteChannelModerator of the owner's user",
            chat.delete_channel_moderator().channel_arn(&own).channel_moderator_arn(user).chime_bearer(&mine)
        );
    }
    forbidden!(
        "AssociateChannelFlow of the owner's flow to the stranger's channel",
        chat.associate_channel_flow().channel_arn(&own).channel_flow_arn(&c.flow).chime_bearer(&mine)
    );
    forbidden!(
        "DisassociateChannelFlow of the owner's flow from the stranger's channel",
        chat.disassociate_channel_flow().channel_arn(&own).channel_flow_arn(&c.flow).chime_bearer(&mine)
    );
    // The owner's user as the bearer on the stranger's own resources.
    let owner = o.user.as_str();
    forbidden!("CreateChannel as the owner's user", chat.create_channel().app_instance_arn(&theirs).name("x").chime_bearer(owner));
    forbidden!("DescribeChannel as the owner's user", chat.describe_channel().channel_arn(&own).chime_bearer(owner));
    forbidden!("ListChannels as the owner's user", chat.list_channels().app_instance_arn(&theirs).chime_bearer(owner));
    forbidden!(
        "SendChannelMessage as the owner's user",
        chat.send_channel_message()
            .channel_arn(&own)
            .content("x")
            .r#type(m::ChannelMessageType::Standard)
            .persistence(m::ChannelMessagePersistenceType::Persistent)
            .chime_bearer(owner)
    );
    forbidden!("ListChannelMessages as the owner's user", chat.list_channel_messages().channel_arn(&own).chime_bearer(owner));
    forbidden!(
        "ListChannelMembershipsForAppInstanceUser as the owner's user",
        chat.list_channel_memberships_for_app_instance_user().chime_bearer(owner)
    );
    forbidden!(
        "DisassociateChannelFlow as the owner's user",
        chat.disassociate_channel_flow().channel_arn(&own).channel_flow_arn(&own_flow).chime_bearer(owner)
    );
    // A message id of the owner's names nothing in the stranger's channel.
    for id in &c.messages {
        let err = chat.get_channel_message().channel_arn(&own).message_id(id).chime_bearer(&mine).send().await.unwrap_err();
        assert_eq!(error_of(&err), ("NotFoundException".to_string(), 404), "GetChannelMessage of the owner's message id");
        let err = chat.redact_channel_message().channel_arn(&own).message_id(id).chime_bearer(&mine).send().await.unwrap_err();
        assert_eq!(error_of(&err), ("NotFoundException".to_string(), 404), "RedactChannelMessage of the owner's message id");
    }
    // Against the stranger's own channel, an operation Carillon lacks answers 501: the 403s above
    // are the ARN check's.
    let err = chat.list_channel_bans().channel_arn(&own).chime_bearer(&mine).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotImplementedException".to_string(), 501), "ListChannelBans of its own channel");

    // Flows and streaming configurations: the account's own calls.
    forbidden!(
        "CreateChannelFlow in the owner's AppInstance",
        chat.create_channel_flow().app_instance_arn(&o.instance).name("x").processors(processor(account))
    );
    forbidden!("DescribeChannelFlow", chat.describe_channel_flow().channel_flow_arn(&c.flow));
    forbidden!("UpdateChannelFlow", chat.update_channel_flow().channel_flow_arn(&c.flow).name("x").processors(processor(account)));
    forbidden!("DeleteChannelFlow", chat.delete_channel_flow().channel_flow_arn(&c.flow));
    forbidden!("ListChannelFlows", chat.list_channel_flows().app_instance_arn(&o.instance));
    forbidden!("ListChannelsAssociatedWithChannelFlow", chat.list_channels_associated_with_channel_flow().channel_flow_arn(&c.flow));
    forbidden!(
        "PutMessagingStreamingConfigurations",
        chat.put_messaging_streaming_configurations().app_instance_arn(&o.instance).streaming_configurations(streaming(account))
    );
    forbidden!("GetMessagingStreamingConfigurations", chat.get_messaging_streaming_configurations().app_instance_arn(&o.instance));
    forbidden!("DeleteMessagingStreamingConfigurations", chat.delete_messaging_streaming_configurations().app_instance_arn(&o.instance));

    // Tags of the owner's channel and flow, through either client.
    for arn in [&c.channel, &c.flow] {
        forbidden!("TagResource (Messaging)", chat.tag_resource().resource_arn(arn).tags(tag.clone()));
        forbidden!("UntagResource (Messaging)", chat.untag_resource().resource_arn(arn).tag_keys("team"));
        forbidden!("ListTagsForResource (Messaging)", chat.list_tags_for_resource().resource_arn(arn));
        let identity_tag = Tag::builder().key("x").value("y").build().unwrap();
        forbidden!("TagResource (Identity)", identity.tag_resource().resource_arn(arn).tags(identity_tag));
        forbidden!("UntagResource (Identity)", identity.untag_resource().resource_arn(arn).tag_keys("flow"));
        forbidden!("ListTagsForResource (Identity)", identity.list_tags_for_resource().resource_arn(arn));
    }
    // A message with the attributes of the owner's first, in its own channel: it lands there only.
    chat.send_channel_message()
        .channel_arn(&own)
        .content("attributes")
        .message_attributes("topic", attribute)
        .r#type(m::ChannelMessageType::Standard)
        .persistence(m::ChannelMessagePersistenceType::Persistent)
        .chime_bearer(&mine)
        .send()
        .await
        .unwrap();

    // The stranger's own lists show only its own.
    // (Its user is an AppInstanceAdmin of its own AppInstance, as the owner's is, to list PRIVATE.)
    identity.create_app_instance_admin().app_instance_arn(&theirs).app_instance_admin_arn(&mine).send().await.unwrap();
    for (privacy, expected) in [(m::ChannelPrivacy::Public, vec![own.as_str()]), (m::ChannelPrivacy::Private, vec![])] {
        let l = chat.list_channels().app_instance_arn(&theirs).privacy(privacy.clone()).chime_bearer(&mine).send().await.unwrap();
        assert_eq!(arns(l.channels().iter().map(|s| s.channel_arn())), expected, "ListChannels {privacy:?}");
    }
    let l = chat.list_channel_memberships_for_app_instance_user().chime_bearer(&mine).send().await.unwrap();
    let listed = arns(l.channel_memberships().iter().map(|s| s.channel_summary().and_then(|s| s.channel_arn())));
    assert_eq!(listed, vec![own.as_str()], "ListChannelMembershipsForAppInstanceUser");
    let l = chat.list_channel_memberships().channel_arn(&own).chime_bearer(&mine).send().await.unwrap();
    assert_eq!(arns(l.channel_memberships().iter().map(|s| s.member().and_then(|m| m.arn()))), vec![mine.as_str()]);
    let l = chat.list_channel_moderators().channel_arn(&own).chime_bearer(&mine).send().await.unwrap();
    assert_eq!(arns(l.channel_moderators().iter().map(|s| s.moderator().and_then(|m| m.arn()))), vec![mine.as_str()]);
    let l = chat.list_channel_messages().channel_arn(&own).sort_order(m::SortOrder::Ascending).chime_bearer(&mine).send().await.unwrap();
    let contents: Vec<_> = l.channel_messages().iter().map(|s| s.content().unwrap()).collect();
    assert_eq!(contents, vec!["mine", "attributes"], "ListChannelMessages");
    let l = chat.list_channel_flows().app_instance_arn(&theirs).send().await.unwrap();
    assert_eq!(arns(l.channel_flows().iter().map(|s| s.channel_flow_arn())), vec![own_flow.as_str()], "ListChannelFlows");
    let l = chat.list_channels_associated_with_channel_flow().channel_flow_arn(&own_flow).send().await.unwrap();
    assert_eq!(arns(l.channels().iter().map(|s| s.channel_arn())), vec![own.as_str()], "ListChannelsAssociatedWithChannelFlow");
    let d = chat.describe_channel().channel_arn(&own).chime_bearer(&mine).send().await.unwrap().channel.unwrap();
    assert_eq!(d.channel_flow_arn(), Some(own_flow.as_str()));
    let t = chat.list_tags_for_resource().resource_arn(&own).send().await.unwrap();
    assert_eq!(t.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(), vec![("team", "red")]);
    let err = chat.get_messaging_streaming_configurations().app_instance_arn(&theirs).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".to_string(), 404), "no streaming configurations of its own");

    // Deleting its AppInstance takes its channel and flow, and nothing of the owner's.
    chat.disassociate_channel_flow().channel_arn(&own).channel_flow_arn(&own_flow).chime_bearer(&mine).send().await.unwrap();
    identity.delete_app_instance().app_instance_arn(&theirs).send().await.unwrap();
}

#[tokio::test]
async fn two_accounts_by_two_regions_in_open_mode() {
    matrix(TestServer::start(), fresh_account(), fresh_account()).await;
}

#[tokio::test]
async fn two_accounts_by_two_regions_in_sigv4_mode() {
    let (a, b) = (fresh_account(), fresh_account());
    matrix(TestServer::start_sigv4(&[&a, &b]), a, b).await;
}

async fn matrix(server: TestServer, a: String, b: String) {
    let owner = server.client_for(&a, "us-east-1");
    let owner_chat = server.messaging_client_for(&a, "us-east-1");
    let owned = create_everything(&owner, &a, "us-east-1").await;
    let chatted = create_chat(&owner, &owner_chat, &a, &owned).await;
    let before = snapshot(&owner, &owned).await;
    let chat_before = chat_snapshot(&owner_chat, &owned, &chatted).await;
    for seen in [
        r#""hello""#,
        r#""news""#,
        r#""meta""#,
        "Filtered",
        r#"{\"topic\":[\"news\"]}"#,
        "carillon-flow",
        "chime-messaging-carillon",
        r#""blue""#,
        r#""yes""#,
    ] {
        assert!(chat_before.contains(seen), "the snapshot shows {seen}:\n{chat_before}");
    }
    for (account, region) in [(&a, "eu-west-1"), (&b, "us-east-1"), (&b, "eu-west-1")] {
        let stranger = server.client_for(account, region);
        stranger_tries_everything(&stranger, account, region, &owned).await;
        stranger_tries_messaging(&stranger, &server.messaging_client_for(account, region), account, &owned, &chatted).await;
        assert!(stranger.list_app_instances().send().await.unwrap().app_instances().is_empty());
    }
    assert_eq!(snapshot(&owner, &owned).await, before, "nothing the owner created changed");
    assert_eq!(chat_snapshot(&owner_chat, &owned, &chatted).await, chat_before, "nothing the owner made with Messaging changed");
}
