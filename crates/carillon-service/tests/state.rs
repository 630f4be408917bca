//! The state document's channels (`docs/behaviour.md`, "State and seeds"): a state with channels,
//! memberships, moderators and messages survives export and import into a fresh store unchanged, an
//! invalid channel refuses the whole document, and a document without channels still imports. The
//! push outbox and the push-failure markers make the same round trip, keep their ids and the
//! markers' effect, and an invalid entry or marker refuses the whole document too.
//! With `CARILLON_TEST_BACKEND=postgres` (and `CARILLON_TEST_POSTGRES_URL`) each service runs on a
//! fresh PostgreSQL database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use carillon_api::messaging::ChimeSdkMessaging;
use carillon_api::messaging::shapes::*;
use carillon_api::{ChimeSdkIdentity, ErrorKind, Timestamp, Wire, shapes as id};
use carillon_service::Service;
use carillon_service::state::{PushEntryState, StateDocument};
use carillon_store::{PushFilter, ResetScope};
use common::*;
use serde_json::Value;
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
    send_push(svc, channel, bearer, content, attributes, None).await
}

/// Sends a PERSISTENT message, with `push` as its PushNotification.
async fn send_push(
    svc: &Service,
    channel: &str,
    bearer: &str,
    content: &str,
    attributes: bool,
    push: Option<PushNotificationConfiguration>,
) -> String {
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
        push_notification: push,
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

const PINPOINT_APP: &str = "arn:aws:mobiletargeting:us-east-1:111122223333:apps/stateapp";
const OTHER_APP: &str = "arn:aws:mobiletargeting:us-east-1:111122223333:apps/failingapp";

async fn register(svc: &Service, user: &str, device_token: &str) -> String {
    let input = id::RegisterAppInstanceUserEndpointRequest {
        app_instance_user_arn: user.into(),
        name: None,
        r#type: id::AppInstanceUserEndpointType::Apns,
        resource_arn: PINPOINT_APP.into(),
        endpoint_attributes: id::EndpointAttributes { device_token: device_token.into(), voip_device_token: None },
        client_request_token: format!("t-{device_token}"),
        allow_messages: None,
    };
    svc.register_app_instance_user_endpoint(&ctx(), input).await.unwrap().endpoint_id.unwrap()
}

fn titled(title: &str) -> Option<PushNotificationConfiguration> {
    Some(PushNotificationConfiguration { title: Some(title.into()), body: Some(format!("body of {title}")), r#type: None })
}

async fn outbox(svc: &Service) -> Vec<Value> {
    svc.push_outbox(PushFilter::default()).await.unwrap()
}

fn outcomes(entries: &[Value]) -> Vec<(String, Option<String>)> {
    entries.iter().map(|e| (e["Outcome"].as_str().unwrap().to_string(), e["Reason"].as_str().map(str::to_string))).collect()
}

/// [`populate`], then pushes to the public channel that give DELIVERED, SKIPPED (filter rule, no
/// endpoint, inactive endpoint) and FAILED entries, and two markers: on ana's device token and on
/// another Pinpoint application. Answers the state and ana's endpoint.
async fn populate_push(svc: &Service) -> (StateDocument, String) {
    let doc = populate(svc).await;
    let app = &doc.app_instances[0];
    let (public, ana) = (app.channels[1].channel_arn.clone(), app.users[0].app_instance_user_arn.clone());
    let endpoint = register(svc, &ana, "ana-raw-device-token").await;
    // ana DELIVERED; bo's rule wants kind=alert: FILTER_RULE_NO_MATCH; cy (HIDDEN): NO_ENDPOINT.
    send_push(svc, &public, &ana, "push-one", false, titled("one")).await;
    svc.put_push_failure(Some("ana-raw-device-token"), None, id::EndpointStatusReason::InvalidDeviceToken).await.unwrap();
    svc.put_push_failure(None, Some(OTHER_APP), id::EndpointStatusReason::InvalidPinpointArn).await.unwrap();
    // ana FAILED (the endpoint turns INACTIVE); bo passes its rule but has no endpoint.
    send_push(svc, &public, &ana, "push-two", true, Some(PushNotificationConfiguration { title: None, body: None, r#type: None })).await;
    // ana SKIPPED ENDPOINT_INACTIVE.
    send_push(svc, &public, &ana, "push-three", false, titled("three")).await;
    (exported(svc).await, endpoint)
}

fn skipped(reason: &str) -> (String, Option<String>) {
    ("SKIPPED".into(), Some(reason.into()))
}

#[tokio::test]
async fn the_outbox_and_the_markers_survive_reset_and_import_with_their_ids() {
    let svc = service().await;
    let (doc, _) = populate_push(&svc).await;
    let listed = outbox(&svc).await;
    assert_eq!(
        outcomes(&listed),
        [
            ("DELIVERED".into(), None),
            skipped("FILTER_RULE_NO_MATCH"),
            skipped("NO_ENDPOINT"),
            ("FAILED".into(), Some("INVALID_DEVICE_TOKEN".into())),
            skipped("NO_ENDPOINT"),
            skipped("NO_ENDPOINT"),
            skipped("ENDPOINT_INACTIVE"),
            skipped("FILTER_RULE_NO_MATCH"),
            skipped("NO_ENDPOINT"),
        ]
    );
    assert_eq!(serde_json::to_value(&doc.push_outbox).unwrap(), Value::from(listed.clone()), "as the control plane lists them");
    let markers = svc.push_failures().await.unwrap();
    assert_eq!(doc.push_failure_markers.len(), 2);
    assert!(doc.push_failure_markers.iter().all(|m| m.created_timestamp.is_some()));
    // The endpoint keeps its token; the outbox and the markers only its SHA-256.
    let text = serde_json::to_string(&(&doc.push_outbox, &doc.push_failure_markers)).unwrap();
    assert!(!text.contains("ana-raw-device-token"), "a raw token never appears");
    let hash = doc.push_outbox[0].device_token_sha256.clone().unwrap();
    assert_eq!(doc.push_failure_markers[0].device_token_sha256, Some(hash));

    let n = svc.reset(ResetScope::all()).await.unwrap();
    assert_eq!((n.push_outbox_entries, n.push_failure_markers), (9, 2));
    assert!(outbox(&svc).await.is_empty());
    let n = import(&svc, doc.clone()).await.unwrap();
    assert_eq!((n.push_outbox_entries, n.push_failure_markers), (9, 2));
    assert_eq!(exported(&svc).await, doc);
    assert_eq!(outbox(&svc).await, listed, "the same entries under the same ids");
    assert_eq!(svc.push_failures().await.unwrap(), markers);
}

#[tokio::test]
async fn after_an_import_into_a_fresh_store_sends_get_larger_ids_and_markers_still_fail() {
    let source = service().await;
    let (doc, endpoint) = populate_push(&source).await;
    let target = service().await;
    import(&target, doc.clone()).await.unwrap();
    let imported = outbox(&target).await;
    let last = imported.last().unwrap()["Id"].as_i64().unwrap();

    // ana's endpoint came back INACTIVE; made ACTIVE again, the imported marker on its token fails it.
    let app = &doc.app_instances[0];
    let (public, ana) = (app.channels[1].channel_arn.clone(), app.users[0].app_instance_user_arn.clone());
    target.set_endpoint_state(&ana, &endpoint, id::EndpointStatus::Active, None).await.unwrap();
    let message = send_push(&target, &public, &ana, "after-import", false, titled("after")).await;
    let new = target.push_outbox(PushFilter { after_id: last, ..PushFilter::default() }).await.unwrap();
    assert_eq!(new.len(), 3);
    assert!(new.iter().all(|e| e["MessageId"] == message.as_str() && e["Id"].as_i64().unwrap() > last), "{new:?}");
    assert_eq!(outcomes(&new)[0], ("FAILED".into(), Some("INVALID_DEVICE_TOKEN".into())));
    assert_eq!(outbox(&target).await[..imported.len()], imported[..], "the imported entries stay as they were");
}

#[tokio::test]
async fn an_import_keeps_the_newest_entries_up_to_the_outbox_limit() {
    let source = service().await;
    let (doc, _) = populate_push(&source).await;
    let target = service_with(carillon_service::Quotas { push_outbox_limit: 4, ..Default::default() }).await;
    let n = import(&target, doc.clone()).await.unwrap();
    assert_eq!(n.push_outbox_entries, 4);
    assert_eq!(exported(&target).await.push_outbox, doc.push_outbox[doc.push_outbox.len() - 4..]);
}

#[tokio::test]
async fn an_invalid_entry_or_marker_refuses_the_whole_document_naming_the_place() {
    let svc = service().await;
    let (doc, _) = populate_push(&svc).await;
    let cases: Vec<(&str, Edit)> = vec![
        ("PushOutbox[3].Outcome:", Box::new(|d| d.push_outbox[3].outcome = "LOST".into())),
        ("PushOutbox[0].Reason:", Box::new(|d| d.push_outbox[0].reason = Some("NO_ENDPOINT".into()))),
        ("PushOutbox[1].Reason:", Box::new(|d| d.push_outbox[1].reason = Some("INVALID_DEVICE_TOKEN".into()))),
        ("PushOutbox[3].Reason:", Box::new(|d| d.push_outbox[3].reason = None)),
        ("PushOutbox[0].DeviceTokenSha256:", Box::new(|d| d.push_outbox[0].device_token_sha256 = Some("ana-raw-device-token".into()))),
        (
            "PushOutbox[0].DeviceTokenSha256:",
            Box::new(|d| {
                let upper = d.push_outbox[0].device_token_sha256.as_ref().unwrap().to_uppercase();
                d.push_outbox[0].device_token_sha256 = Some(upper);
            }),
        ),
        ("PushOutbox[0]: EndpointId, EndpointType", Box::new(|d| d.push_outbox[0].endpoint_id = None)),
        (
            "PushOutbox[2]: an entry of this reason names no endpoint",
            Box::new(|d| d.push_outbox[2] = with_endpoint(&d.push_outbox[2], &d.push_outbox[0])),
        ),
        ("PushOutbox[0].EndpointType:", Box::new(|d| d.push_outbox[0].endpoint_type = Some("FAX".into()))),
        ("PushOutbox[0].PushType:", Box::new(|d| d.push_outbox[0].push_type = "LOUD".into())),
        ("PushOutbox[5].Id:", Box::new(|d| d.push_outbox[5].id = d.push_outbox[4].id)),
        ("PushOutbox[0].Id:", Box::new(|d| d.push_outbox[0].id = 0)),
        ("PushOutbox[1].Payload:", Box::new(|d| d.push_outbox[1].title = Some("changed".into()))),
        (
            "PushOutbox[2].ChannelArn:",
            Box::new(|d| d.push_outbox[2].channel_arn = "arn:aws:chime:us-east-1:111122223333:app-instance/x/channel/y".into()),
        ),
        ("PushOutbox[2].AccountId:", Box::new(|d| d.push_outbox[2].account_id = "999999999999".into())),
        ("PushOutbox[2].RecipientArn:", Box::new(|d| d.push_outbox[2].recipient_arn = d.push_outbox[2].channel_arn.clone())),
        (
            "PushFailureMarkers[0]: a marker names exactly one",
            Box::new(|d| d.push_failure_markers[0].resource_arn = Some(OTHER_APP.into())),
        ),
        ("PushFailureMarkers[1]: a marker names exactly one", Box::new(|d| d.push_failure_markers[1].resource_arn = None)),
        (
            "PushFailureMarkers[0].DeviceTokenSha256:",
            Box::new(|d| d.push_failure_markers[0].device_token_sha256 = Some("ana-raw-device-token".into())),
        ),
        ("PushFailureMarkers[1].StatusReason:", Box::new(|d| d.push_failure_markers[1].status_reason = "GONE".into())),
        (
            "PushFailureMarkers[2]: a marker on this target appears twice",
            Box::new(|d| {
                let m = d.push_failure_markers[0].clone();
                d.push_failure_markers.push(m);
            }),
        ),
    ];
    for (place, edit) in cases {
        let mut bad = doc.clone();
        edit(&mut bad);
        let e = import(&svc, bad).await.err().unwrap_or_else(|| panic!("{place}: imported"));
        assert_eq!(e.kind, ErrorKind::BadRequest, "{place}");
        assert!(e.message.starts_with(place), "{place}: {}", e.message);
        assert_eq!(exported(&svc).await, doc, "{place}");
    }
    // A raw token where its hash belongs is refused when the document is read.
    let text = serde_json::to_string(&doc).unwrap().replacen("\"DeviceTokenSha256\":", "\"DeviceToken\":", 1);
    assert!(serde_json::from_str::<StateDocument>(&text).is_err());
}

/// `entry` given the endpoint members of `from`.
fn with_endpoint(entry: &PushEntryState, from: &PushEntryState) -> PushEntryState {
    PushEntryState {
        endpoint_id: from.endpoint_id.clone(),
        endpoint_type: from.endpoint_type.clone(),
        resource_arn: from.resource_arn.clone(),
        device_token_sha256: from.device_token_sha256.clone(),
        ..entry.clone()
    }
}
