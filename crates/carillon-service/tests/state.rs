//! The state document's channels (`docs/behaviour.md`, "State and seeds"): a state with channels,
//! memberships, moderators and messages survives export and import into a fresh store unchanged, an
//! invalid channel refuses the whole document, and a document without channels still imports.
//! With `CARILLON_TEST_BACKEND=postgres` (and `CARILLON_TEST_POSTGRES_URL`) each service runs on a
//! fresh PostgreSQL database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use carillon_api::messaging::ChimeSdkMessaging;
use carillon_api::messaging::shapes::*;
use carillon_api::{ChimeSdkIdentity, ErrorKind, Timestamp, Wire, shapes as id};
use carillon_service::Service;
use carillon_service::state::StateDocument;
use common::*;
use std::collections::BTreeMap;

mod common;

async fn import(svc: &Service, doc: StateDocument) -> Result<carillon_service::state::Counts, carillon_api::ApiError> {
    let wire = Wire::load().unwrap();
    svc.import_state(wire.identity_model(), wire.messaging_model(), doc).await
}

async fn exported(svc: &Service) -> StateDocument {
    StateDocument { exported_at: None, ..svc.export_state().await.unwrap() }
}

async fn send(svc: &Service, channel: &str, bearer: &str, content: &str, attributes: bool) -> String {
    let message_attributes =
        attributes.then(|| BTreeMap::from([("kind".to_string(), MessageAttributeValue { string_values: Some(vec!["alert".into()]) })]));
    let input = SendChannelMessageRequest {
        channel_arn: channel.into(),
        content: content.into(),
        r#type: ChannelMessageType::Standard,
        persistence: ChannelMessagePersistenceType::Persistent,
        metadata: Some(format!("meta of {content}")),
        client_request_token: format!("t-{content}"),
        chime_bearer: bearer.into(),
        push_notification: None,
        message_attributes,
        sub_channel_id: None,
        content_type: None,
        target: None,
    };
    svc.send_channel_message(&ctx(), input).await.unwrap().message_id.unwrap()
}

/// An AppInstance with users ana, bo, cy and gone (deleted at the end, after it created a channel,
/// invited a member and sent a message), a PRIVATE and a PUBLIC channel, a HIDDEN member,
/// preferences, a read marker, an extra moderator, and edited, redacted and attributed messages.
async fn populate(svc: &Service) -> StateDocument {
    let app = instance(svc, "chat").await;
    let [ana, bo, cy, gone] =
        [user(svc, &app, "ana").await, user(svc, &app, "bo").await, user(svc, &app, "cy").await, user(svc, &app, "gone").await];
    let create = |name: &str, bearer: &str, privacy| CreateChannelRequest {
        app_instance_arn: app.clone(),
        name: name.into(),
        mode: None,
        privacy: Some(privacy),
        metadata: None,
        client_request_token: format!("t-{name}"),
        tags: Some(vec![Tag { key: "k".into(), value: name.into() }]),
        chime_bearer: bearer.into(),
        channel_id: None,
        member_arns: Some(vec![bo.clone()]),
        moderator_arns: None,
        elastic_channel_configuration: None,
        expiration_settings: Some(ExpirationSettings { expiration_days: 7, expiration_criterion: ExpirationCriterion::CreatedTimestamp }),
    };
    let private = svc.create_channel(&ctx(), create("private", &gone, ChannelPrivacy::Private)).await.unwrap().channel_arn.unwrap();
    let public = svc.create_channel(&ctx(), create("public", &ana, ChannelPrivacy::Public)).await.unwrap().channel_arn.unwrap();
    let member = |channel: &str, bearer: &str, m: &str, t| CreateChannelMembershipRequest {
        channel_arn: channel.into(),
        member_arn: m.into(),
        r#type: t,
        chime_bearer: bearer.into(),
        sub_channel_id: None,
    };
    svc.create_channel_membership(&ctx(), member(&public, &ana, &cy, ChannelMembershipType::Hidden)).await.unwrap();
    svc.create_channel_membership(&ctx(), member(&public, &ana, &gone, ChannelMembershipType::Default)).await.unwrap();
    svc.create_channel_membership(&ctx(), member(&private, &gone, &ana, ChannelMembershipType::Default)).await.unwrap();
    let moderator =
        CreateChannelModeratorRequest { channel_arn: public.clone(), channel_moderator_arn: bo.clone(), chime_bearer: ana.clone() };
    svc.create_channel_moderator(&ctx(), moderator).await.unwrap();
    let preferences = ChannelMembershipPreferences {
        push_notifications: Some(PushNotificationPreferences {
            allow_notifications: AllowNotifications::Filtered,
            filter_rule: Some(r#"{"kind":["alert"]}"#.into()),
        }),
    };
    let put = PutChannelMembershipPreferencesRequest {
        channel_arn: public.clone(),
        member_arn: bo.clone(),
        chime_bearer: bo.clone(),
        preferences,
    };
    svc.put_channel_membership_preferences(&ctx(), put).await.unwrap();
    svc.update_channel_read_marker(&ctx(), UpdateChannelReadMarkerRequest { channel_arn: public.clone(), chime_bearer: bo.clone() })
        .await
        .unwrap();
    send(svc, &public, &ana, "one", true).await;
    let edited = send(svc, &public, &bo, "two", false).await;
    let update = UpdateChannelMessageRequest {
        channel_arn: public.clone(),
        message_id: edited,
        content: "two, edited".into(),
        metadata: None,
        chime_bearer: bo.clone(),
        sub_channel_id: None,
        content_type: Some("text/plain".into()),
    };
    svc.update_channel_message(&ctx(), update).await.unwrap();
    let redacted = send(svc, &public, &gone, "three", true).await;
    let redact =
        RedactChannelMessageRequest { channel_arn: public.clone(), message_id: redacted, chime_bearer: gone.clone(), sub_channel_id: None };
    svc.redact_channel_message(&ctx(), redact).await.unwrap();
    send(svc, &private, &gone, "four", false).await;
    svc.delete_app_instance_user(&ctx(), id::DeleteAppInstanceUserRequest { app_instance_user_arn: gone }).await.unwrap();
    exported(svc).await
}

#[tokio::test]
async fn channels_survive_export_and_import_into_a_fresh_store() {
    let source = service().await;
    let doc = populate(&source).await;
    let channels = &doc.app_instances[0].channels;
    assert_eq!(channels.len(), 2);
    assert_eq!(channels.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["private", "public"]);
    let public = &channels[1];
    let types: Vec<_> = public.memberships.iter().map(|m| m.r#type).collect();
    assert_eq!(types, [ChannelMembershipType::Default, ChannelMembershipType::Default, ChannelMembershipType::Hidden]);
    assert!(public.memberships[1].preferences.is_some() && public.memberships[1].read_marker_timestamp.is_some());
    assert_eq!(public.moderators.len(), 2);
    assert_eq!(public.messages.iter().map(|m| m.redacted).collect::<Vec<_>>(), [false, false, true]);
    assert!(public.messages[0].message_attributes.is_some() && public.messages[1].last_edited_timestamp.is_some());
    assert!(public.messages[2].content.is_none() && public.messages[2].message_attributes.is_none());
    // The deleted user's channel and messages stay, its memberships and moderator roles do not.
    assert!(channels[0].created_by.arn.ends_with("/user/gone") && channels[0].messages.len() == 1);
    assert!(channels[0].moderators.is_empty() && channels[0].memberships.len() == 2);

    let target = service().await;
    let n = import(&target, doc.clone()).await.unwrap();
    assert_eq!((n.channels, n.memberships, n.moderators, n.messages), (2, 5, 2, 4));
    assert_eq!(exported(&target).await, doc);
    // And what the API shows of it is the same.
    let list = |privacy| ListChannelsRequest {
        app_instance_arn: doc.app_instances[0].app_instance_arn.clone(),
        privacy: Some(privacy),
        max_results: None,
        next_token: None,
        chime_bearer: doc.app_instances[0].users[0].app_instance_user_arn.clone(),
    };
    let got = target.list_channels(&ctx(), list(ChannelPrivacy::Public)).await.unwrap();
    assert_eq!(got, source.list_channels(&ctx(), list(ChannelPrivacy::Public)).await.unwrap());
}

/// A change that makes a valid document invalid.
type Edit = Box<dyn Fn(&mut StateDocument)>;

#[tokio::test]
async fn an_invalid_channel_refuses_the_whole_document_and_changes_nothing() {
    let svc = service().await;
    let doc = populate(&svc).await;
    let cases: Vec<(&str, &str, Edit)> = vec![
        (
            "a moderator not in the document",
            "is not a user or bot of this AppInstance",
            Box::new(|d| {
                d.app_instances[0].channels[1].moderators[0].moderator.arn = format!("{}/user/nobody", d.app_instances[0].app_instance_arn)
            }),
        ),
        (
            "a sender of another AppInstance",
            "Sender",
            Box::new(|d| {
                d.app_instances[0].channels[1].messages[0].sender.arn =
                    "arn:aws:chime:us-east-1:111122223333:app-instance/other/user/ana".into()
            }),
        ),
        (
            "messages out of order",
            "oldest first",
            Box::new(|d| {
                let messages = &mut d.app_instances[0].channels[1].messages;
                messages[1].created_timestamp = Timestamp(messages[0].created_timestamp.0 - 1);
            }),
        ),
        ("an expiry time without settings", "ExpirationTimestamp", Box::new(|d| d.app_instances[0].channels[1].expiration_settings = None)),
        (
            "a moderator twice",
            "moderator of this channel twice",
            Box::new(|d| {
                let m = d.app_instances[0].channels[1].moderators[0].clone();
                d.app_instances[0].channels[1].moderators.push(m);
            }),
        ),
        (
            "a channel twice",
            "appears twice",
            Box::new(|d| {
                let c = d.app_instances[0].channels[0].clone();
                d.app_instances[0].channels.push(c);
            }),
        ),
    ];
    for (what, fault, edit) in cases {
        let mut bad = doc.clone();
        edit(&mut bad);
        let e = import(&svc, bad).await.err().unwrap_or_else(|| panic!("{what}: imported"));
        assert_eq!(e.kind, ErrorKind::BadRequest, "{what}");
        assert!(e.message.starts_with("AppInstances[0].Channels[") && e.message.contains(fault), "{what}: {}", e.message);
        assert_eq!(exported(&svc).await, doc, "{what}");
    }
}

#[tokio::test]
async fn a_document_written_before_channels_still_imports() {
    let svc = service().await;
    let old = r#"{"Format": "carillon-state/1", "AppInstances": [{"AppInstanceArn":
        "arn:aws:chime:us-east-1:111122223333:app-instance/old", "Name": "old", "CreatedTimestamp": 1.5,
        "LastUpdatedTimestamp": 2.5}]}"#;
    let doc: StateDocument = serde_json::from_str(old).unwrap();
    let n = import(&svc, doc).await.unwrap();
    assert_eq!((n.app_instances, n.channels), (1, 0));
    assert!(exported(&svc).await.app_instances[0].channels.is_empty());
}
