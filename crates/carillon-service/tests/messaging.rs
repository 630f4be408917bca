//! Chime SDK Messaging's chat core on an in-memory store: the bearer's checks, the whole
//! authorization matrix (generated from a table that mirrors the contract), and the rules of
//! channels, memberships, moderators, preferences and messages. Each test calls the typed
//! operations of `ChimeSdkMessaging` directly, with no HTTP in between. With
//! `CARILLON_TEST_BACKEND=postgres` (and `CARILLON_TEST_POSTGRES_URL`) each test runs on a fresh
//! PostgreSQL database instead.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use carillon_api::messaging::ChimeSdkMessaging;
use carillon_api::messaging::shapes::*;
use carillon_api::{ApiError, ChimeSdkIdentity, ErrorKind, Timestamp, shapes as id};
use carillon_service::{Quotas, Service};
use common::*;

mod common;

fn channel_request(instance: &str, bearer: &str, name: &str) -> CreateChannelRequest {
    CreateChannelRequest {
        app_instance_arn: instance.into(),
        name: name.into(),
        mode: None,
        privacy: None,
        metadata: None,
        client_request_token: format!("t-{name}"),
        tags: None,
        chime_bearer: bearer.into(),
        channel_id: None,
        member_arns: None,
        moderator_arns: None,
        elastic_channel_configuration: None,
        expiration_settings: None,
    }
}

async fn channel(svc: &Service, instance: &str, bearer: &str, name: &str, mode: ChannelMode, privacy: ChannelPrivacy) -> String {
    let input = CreateChannelRequest { mode: Some(mode), privacy: Some(privacy), ..channel_request(instance, bearer, name) };
    svc.create_channel(&ctx(), input).await.unwrap().channel_arn.unwrap()
}

fn membership(channel: &str, bearer: &str, member: &str, t: ChannelMembershipType) -> CreateChannelMembershipRequest {
    CreateChannelMembershipRequest {
        channel_arn: channel.into(),
        member_arn: member.into(),
        r#type: t,
        chime_bearer: bearer.into(),
        sub_channel_id: None,
    }
}

async fn add(svc: &Service, channel: &str, bearer: &str, member: &str, t: ChannelMembershipType) {
    svc.create_channel_membership(&ctx(), membership(channel, bearer, member, t)).await.unwrap();
}

fn remove_request(channel: &str, bearer: &str, member: &str) -> DeleteChannelMembershipRequest {
    DeleteChannelMembershipRequest {
        channel_arn: channel.into(),
        member_arn: member.into(),
        chime_bearer: bearer.into(),
        sub_channel_id: None,
    }
}

fn moderator_request(channel: &str, bearer: &str, moderator: &str) -> CreateChannelModeratorRequest {
    CreateChannelModeratorRequest { channel_arn: channel.into(), channel_moderator_arn: moderator.into(), chime_bearer: bearer.into() }
}

fn send_request(channel: &str, bearer: &str, content: &str, token: &str) -> SendChannelMessageRequest {
    SendChannelMessageRequest {
        channel_arn: channel.into(),
        content: content.into(),
        r#type: ChannelMessageType::Standard,
        persistence: ChannelMessagePersistenceType::Persistent,
        metadata: None,
        client_request_token: token.into(),
        chime_bearer: bearer.into(),
        push_notification: None,
        message_attributes: None,
        sub_channel_id: None,
        content_type: None,
        target: None,
    }
}

async fn send(svc: &Service, channel: &str, bearer: &str, content: &str) -> String {
    let token = format!("send-{content}-{}", uuid_like(content));
    svc.send_channel_message(&ctx(), send_request(channel, bearer, content, &token)).await.unwrap().message_id.unwrap()
}

fn uuid_like(s: &str) -> usize {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    N.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + s.len()
}

fn get_message_request(channel: &str, bearer: &str, message_id: &str) -> GetChannelMessageRequest {
    GetChannelMessageRequest {
        channel_arn: channel.into(),
        message_id: message_id.into(),
        chime_bearer: bearer.into(),
        sub_channel_id: None,
    }
}

fn list_messages_request(channel: &str, bearer: &str) -> ListChannelMessagesRequest {
    ListChannelMessagesRequest {
        channel_arn: channel.into(),
        sort_order: None,
        not_before: None,
        not_after: None,
        max_results: None,
        next_token: None,
        chime_bearer: bearer.into(),
        sub_channel_id: None,
    }
}

fn list_memberships_request(channel: &str, bearer: &str) -> ListChannelMembershipsRequest {
    ListChannelMembershipsRequest {
        channel_arn: channel.into(),
        r#type: None,
        max_results: None,
        next_token: None,
        chime_bearer: bearer.into(),
        sub_channel_id: None,
    }
}

fn describe_request(channel: &str, bearer: &str) -> DescribeChannelRequest {
    DescribeChannelRequest { channel_arn: channel.into(), chime_bearer: bearer.into() }
}

// ---------------------------------------------------------------------------------------------
// The matrix, generated: every operation × role × privacy × mode.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    A,
    Mo,
    Me,
    H,
    N,
}

const ROLES: [Role; 5] = [Role::A, Role::Mo, Role::Me, Role::H, Role::N];

/// The contract's matrix, one row per operation (or case of one), cells for A Mo Me H N:
/// `Y` allowed, `-` refused (403), `P` only in a PUBLIC channel, `U` only in an UNRESTRICTED
/// channel, `O` only in a PUBLIC UNRESTRICTED one. Allowed means "not 403": the request may still
/// fail a later check (404, 409).
const EXPECTED: &[(&str, &str)] = &[
    ("CreateChannel", "Y Y Y Y Y"),
    ("DescribeChannel", "Y Y Y Y P"),
    ("UpdateChannel", "Y Y - - -"),
    ("DeleteChannel", "Y Y - - -"),
    ("PutChannelExpirationSettings", "Y Y - - -"),
    ("ListChannels PUBLIC", "Y Y Y Y Y"),
    ("ListChannels PRIVATE", "Y - - - -"),
    ("ListChannelMembershipsForAppInstanceUser own", "Y Y Y Y Y"),
    ("ListChannelMembershipsForAppInstanceUser other", "Y - - - -"),
    ("CreateChannelMembership other", "Y Y U - -"),
    ("CreateChannelMembership self", "Y Y U - O"),
    ("CreateChannelMembership HIDDEN", "Y Y - - -"),
    ("BatchCreateChannelMembership other", "Y Y U - -"),
    ("BatchCreateChannelMembership self", "Y Y U - O"),
    ("DescribeChannelMembership", "Y Y Y Y P"),
    ("ListChannelMemberships", "Y Y Y Y P"),
    ("DeleteChannelMembership other", "Y Y - - -"),
    ("DeleteChannelMembership self", "Y Y Y Y -"),
    ("GetChannelMembershipPreferences own", "Y Y Y Y -"),
    ("GetChannelMembershipPreferences other", "- - - - -"),
    ("PutChannelMembershipPreferences own", "Y Y Y Y -"),
    ("PutChannelMembershipPreferences other", "- - - - -"),
    ("CreateChannelModerator", "Y Y - - -"),
    ("DeleteChannelModerator", "Y Y - - -"),
    ("DescribeChannelModerator", "Y Y Y Y -"),
    ("ListChannelModerators", "Y Y Y Y -"),
    ("SendChannelMessage", "- - Y - -"),
    ("GetChannelMessage", "Y Y Y Y P"),
    ("ListChannelMessages", "Y Y Y Y P"),
    ("UpdateChannelMessage own", "Y Y Y Y -"),
    ("UpdateChannelMessage other", "- - - - -"),
    ("RedactChannelMessage own", "Y Y Y Y -"),
    ("RedactChannelMessage other", "Y Y - - -"),
    ("DeleteChannelMessage", "Y - - - -"),
    ("UpdateChannelReadMarker", "- - Y Y -"),
];

fn expected(cell: &str, privacy: ChannelPrivacy, mode: ChannelMode) -> bool {
    let public = privacy == ChannelPrivacy::Public;
    let unrestricted = mode == ChannelMode::Unrestricted;
    match cell {
        "Y" => true,
        "-" => false,
        "P" => public,
        "U" => unrestricted,
        "O" => public && unrestricted,
        other => panic!("unknown cell {other}"),
    }
}

/// The AppInstance of the matrix: an admin, a creator of every channel, a caller who takes the
/// role under test, and a target for adds.
struct World {
    svc: TestService,
    instance: String,
    admin: String,
    creator: String,
    caller: String,
    target: String,
    n: usize,
}

impl World {
    async fn new() -> World {
        let svc = service().await;
        let instance = instance(&svc, "matrix").await;
        let admin = user(&svc, &instance, "admin").await;
        make_admin(&svc, &instance, &admin).await;
        let creator = user(&svc, &instance, "creator").await;
        let caller = user(&svc, &instance, "caller").await;
        let target = user(&svc, &instance, "target").await;
        World { svc, instance, admin, creator, caller, target, n: 0 }
    }

    /// A new channel in which the bearer returned has `role`, with a message by the creator and,
    /// when `own_message`, one by the bearer (sent while a DEFAULT member, before the role).
    async fn setup(
        &mut self,
        role: Role,
        privacy: ChannelPrivacy,
        mode: ChannelMode,
        own_message: bool,
    ) -> (String, String, String, Option<String>) {
        self.n += 1;
        let svc = &self.svc;
        let c = channel(svc, &self.instance, &self.creator, &format!("c{}", self.n), mode, privacy).await;
        let theirs = send(svc, &c, &self.creator, "creator's").await;
        let bearer = if role == Role::A { self.admin.clone() } else { self.caller.clone() };
        let mine = if own_message {
            add(svc, &c, &self.creator, &bearer, ChannelMembershipType::Default).await;
            let m = send(svc, &c, &bearer, "mine").await;
            svc.delete_channel_membership(&ctx(), remove_request(&c, &self.creator, &bearer)).await.unwrap();
            Some(m)
        } else {
            None
        };
        match role {
            Role::A | Role::N => {}
            Role::Mo => {
                svc.create_channel_moderator(&ctx(), moderator_request(&c, &self.creator, &bearer)).await.unwrap();
            }
            Role::Me => add(svc, &c, &self.creator, &bearer, ChannelMembershipType::Default).await,
            Role::H => add(svc, &c, &self.creator, &bearer, ChannelMembershipType::Hidden).await,
        }
        (c, bearer, theirs, mine)
    }

    /// Runs the case `op` as `bearer` in `c`; `Err` holds the error kind.
    async fn run(&mut self, op: &str, c: &str, bearer: &str, theirs: &str, mine: Option<&str>) -> Result<(), ErrorKind> {
        let svc = &self.svc;
        let (creator, target) = (self.creator.clone(), self.target.clone());
        let bearer_s = bearer.to_string();
        let list_for_user = |user: Option<String>| ListChannelMembershipsForAppInstanceUserRequest {
            app_instance_user_arn: user,
            max_results: None,
            next_token: None,
            chime_bearer: bearer_s.clone(),
        };
        let batch = |members: Vec<String>| BatchCreateChannelMembershipRequest {
            channel_arn: c.into(),
            r#type: None,
            member_arns: members,
            chime_bearer: bearer.into(),
            sub_channel_id: None,
        };
        let preferences = ChannelMembershipPreferences {
            push_notifications: Some(PushNotificationPreferences { allow_notifications: AllowNotifications::All, filter_rule: None }),
        };
        let e = |r: Result<(), ApiError>| r.map_err(|e| e.kind);
        self.n += 1;
        let n = self.n;
        match op {
            "CreateChannel" => e(svc.create_channel(&ctx(), channel_request(&self.instance, bearer, &format!("new{n}"))).await.map(drop)),
            "DescribeChannel" => e(svc.describe_channel(&ctx(), describe_request(c, bearer)).await.map(drop)),
            "UpdateChannel" => {
                let input = UpdateChannelRequest {
                    channel_arn: c.into(),
                    name: Some("renamed".into()),
                    mode: None,
                    metadata: None,
                    chime_bearer: bearer.into(),
                };
                e(svc.update_channel(&ctx(), input).await.map(drop))
            }
            "DeleteChannel" => {
                e(svc.delete_channel(&ctx(), DeleteChannelRequest { channel_arn: c.into(), chime_bearer: bearer.into() }).await)
            }
            "PutChannelExpirationSettings" => {
                let input = PutChannelExpirationSettingsRequest {
                    channel_arn: c.into(),
                    chime_bearer: Some(bearer.into()),
                    expiration_settings: None,
                };
                e(svc.put_channel_expiration_settings(&ctx(), input).await.map(drop))
            }
            "ListChannels PUBLIC" | "ListChannels PRIVATE" => {
                let privacy = if op.ends_with("PUBLIC") { ChannelPrivacy::Public } else { ChannelPrivacy::Private };
                let input = ListChannelsRequest {
                    app_instance_arn: self.instance.clone(),
                    privacy: Some(privacy),
                    max_results: None,
                    next_token: None,
                    chime_bearer: bearer.into(),
                };
                e(svc.list_channels(&ctx(), input).await.map(drop))
            }
            "ListChannelMembershipsForAppInstanceUser own" => {
                e(svc.list_channel_memberships_for_app_instance_user(&ctx(), list_for_user(None)).await.map(drop))
            }
            "ListChannelMembershipsForAppInstanceUser other" => {
                e(svc.list_channel_memberships_for_app_instance_user(&ctx(), list_for_user(Some(creator))).await.map(drop))
            }
            "CreateChannelMembership other" => {
                e(svc.create_channel_membership(&ctx(), membership(c, bearer, &target, ChannelMembershipType::Default)).await.map(drop))
            }
            "CreateChannelMembership self" => {
                e(svc.create_channel_membership(&ctx(), membership(c, bearer, bearer, ChannelMembershipType::Default)).await.map(drop))
            }
            "CreateChannelMembership HIDDEN" => {
                e(svc.create_channel_membership(&ctx(), membership(c, bearer, &target, ChannelMembershipType::Hidden)).await.map(drop))
            }
            "BatchCreateChannelMembership other" => e(svc.batch_create_channel_membership(&ctx(), batch(vec![target])).await.map(drop)),
            "BatchCreateChannelMembership self" => {
                e(svc.batch_create_channel_membership(&ctx(), batch(vec![bearer.into()])).await.map(drop))
            }
            "DescribeChannelMembership" => {
                let input = DescribeChannelMembershipRequest {
                    channel_arn: c.into(),
                    member_arn: creator,
                    chime_bearer: bearer.into(),
                    sub_channel_id: None,
                };
                e(svc.describe_channel_membership(&ctx(), input).await.map(drop))
            }
            "ListChannelMemberships" => e(svc.list_channel_memberships(&ctx(), list_memberships_request(c, bearer)).await.map(drop)),
            "DeleteChannelMembership other" => e(svc.delete_channel_membership(&ctx(), remove_request(c, bearer, &creator)).await),
            "DeleteChannelMembership self" => e(svc.delete_channel_membership(&ctx(), remove_request(c, bearer, bearer)).await),
            "GetChannelMembershipPreferences own" | "GetChannelMembershipPreferences other" => {
                let member = if op.ends_with("own") { bearer.to_string() } else { creator };
                let input =
                    GetChannelMembershipPreferencesRequest { channel_arn: c.into(), member_arn: member, chime_bearer: bearer.into() };
                e(svc.get_channel_membership_preferences(&ctx(), input).await.map(drop))
            }
            "PutChannelMembershipPreferences own" | "PutChannelMembershipPreferences other" => {
                let member = if op.ends_with("own") { bearer.to_string() } else { creator };
                let input = PutChannelMembershipPreferencesRequest {
                    channel_arn: c.into(),
                    member_arn: member,
                    chime_bearer: bearer.into(),
                    preferences,
                };
                e(svc.put_channel_membership_preferences(&ctx(), input).await.map(drop))
            }
            "CreateChannelModerator" => e(svc.create_channel_moderator(&ctx(), moderator_request(c, bearer, &target)).await.map(drop)),
            "DeleteChannelModerator" => {
                let input =
                    DeleteChannelModeratorRequest { channel_arn: c.into(), channel_moderator_arn: creator, chime_bearer: bearer.into() };
                e(svc.delete_channel_moderator(&ctx(), input).await)
            }
            "DescribeChannelModerator" => {
                let input =
                    DescribeChannelModeratorRequest { channel_arn: c.into(), channel_moderator_arn: creator, chime_bearer: bearer.into() };
                e(svc.describe_channel_moderator(&ctx(), input).await.map(drop))
            }
            "ListChannelModerators" => {
                let input = ListChannelModeratorsRequest {
                    channel_arn: c.into(),
                    max_results: None,
                    next_token: None,
                    chime_bearer: bearer.into(),
                };
                e(svc.list_channel_moderators(&ctx(), input).await.map(drop))
            }
            "SendChannelMessage" => e(svc.send_channel_message(&ctx(), send_request(c, bearer, "hello", &format!("m{n}"))).await.map(drop)),
            "GetChannelMessage" => e(svc.get_channel_message(&ctx(), get_message_request(c, bearer, theirs)).await.map(drop)),
            "ListChannelMessages" => e(svc.list_channel_messages(&ctx(), list_messages_request(c, bearer)).await.map(drop)),
            "UpdateChannelMessage own" | "UpdateChannelMessage other" => {
                let message_id = if op.ends_with("own") { mine.unwrap() } else { theirs };
                let input = UpdateChannelMessageRequest {
                    channel_arn: c.into(),
                    message_id: message_id.into(),
                    content: "edited".into(),
                    metadata: None,
                    chime_bearer: bearer.into(),
                    sub_channel_id: None,
                    content_type: None,
                };
                e(svc.update_channel_message(&ctx(), input).await.map(drop))
            }
            "RedactChannelMessage own" | "RedactChannelMessage other" => {
                let message_id = if op.ends_with("own") { mine.unwrap() } else { theirs };
                let input = RedactChannelMessageRequest {
                    channel_arn: c.into(),
                    message_id: message_id.into(),
                    chime_bearer: bearer.into(),
                    sub_channel_id: None,
                };
                e(svc.redact_channel_message(&ctx(), input).await.map(drop))
            }
            "DeleteChannelMessage" => {
                let input = DeleteChannelMessageRequest {
                    channel_arn: c.into(),
                    message_id: theirs.into(),
                    chime_bearer: bearer.into(),
                    sub_channel_id: None,
                };
                e(svc.delete_channel_message(&ctx(), input).await)
            }
            "UpdateChannelReadMarker" => {
                let input = UpdateChannelReadMarkerRequest { channel_arn: c.into(), chime_bearer: bearer.into() };
                e(svc.update_channel_read_marker(&ctx(), input).await.map(drop))
            }
            other => panic!("no case for {other}"),
        }
    }
}

#[tokio::test]
async fn the_matrix_holds_for_every_operation_role_privacy_and_mode() {
    let mut w = World::new().await;
    let mut failures = Vec::new();
    let mut cases = 0;
    for (op, cells) in EXPECTED {
        let cells: Vec<&str> = cells.split_whitespace().collect();
        assert_eq!(cells.len(), 5, "{op}");
        for (role, cell) in ROLES.iter().zip(&cells) {
            for privacy in [ChannelPrivacy::Public, ChannelPrivacy::Private] {
                for mode in [ChannelMode::Unrestricted, ChannelMode::Restricted] {
                    let own_message = op.ends_with("Message own");
                    let (c, bearer, theirs, mine) = w.setup(*role, privacy, mode, own_message).await;
                    let outcome = w.run(op, &c, &bearer, &theirs, mine.as_deref()).await;
                    let allowed = expected(cell, privacy, mode);
                    let forbidden = outcome == Err(ErrorKind::Forbidden);
                    cases += 1;
                    if allowed == forbidden {
                        failures.push(format!(
                            "{op} as {role:?} in {privacy:?} {mode:?}: expected {}, got {outcome:?}",
                            if allowed { "allowed" } else { "403" }
                        ));
                    }
                    if let Err(k) = outcome {
                        assert!(
                            matches!(k, ErrorKind::Forbidden | ErrorKind::NotFound | ErrorKind::Conflict),
                            "{op} as {role:?} in {privacy:?} {mode:?}: unexpected {k:?}"
                        );
                    }
                }
            }
        }
    }
    assert_eq!(cases, EXPECTED.len() * 5 * 4);
    assert!(failures.is_empty(), "{} of {cases} cases differ from the contract:\n{}", failures.len(), failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// The bearer and member parameters.

#[tokio::test]
async fn the_bearer_is_checked_before_anything_else() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let other = instance(&svc, "two").await;
    let alice = user(&svc, &a, "alice").await;
    let stranger = user(&svc, &other, "stranger").await;
    let c = channel(&svc, &a, &alice, "c", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    let describe = |bearer: &str| describe_request(&c, bearer);

    assert_eq!(kind(svc.describe_channel(&ctx(), describe("")).await), ErrorKind::BadRequest, "missing");
    // A bearer that breaks the model's ChimeArn (form, length) is the wire's 400 before the service
    // runs; one the service sees that names no user or bot is a 401.
    assert_eq!(kind(svc.describe_channel(&ctx(), describe("alice")).await), ErrorKind::UnauthorizedClient, "no ARN");
    let long = format!("{a}/user/{}", "x".repeat(1600));
    assert_eq!(kind(svc.describe_channel(&ctx(), describe(&long)).await), ErrorKind::UnauthorizedClient, "no such user");
    let foreign = alice.replace(ACCOUNT, "999999999999");
    assert_eq!(kind(svc.describe_channel(&ctx(), describe(&foreign)).await), ErrorKind::Forbidden, "another account");
    let e = svc.describe_channel(&ctx(), describe(&format!("{a}/user/nobody"))).await.unwrap_err();
    assert_eq!((e.kind, e.status()), (ErrorKind::UnauthorizedClient, 401), "no such user");
    assert_eq!(e.message, "An invalid app instance user ARN was supplied for the x-amz-chime-bearer HTTP header.");
    assert_eq!(kind(svc.describe_channel(&ctx(), describe(&a)).await), ErrorKind::UnauthorizedClient, "an AppInstance is no bearer");
    assert_eq!(kind(svc.describe_channel(&ctx(), describe(&stranger)).await), ErrorKind::Forbidden, "another AppInstance");
    // A bot is a bearer too.
    let b = bot(&svc, &a, "bot").await;
    svc.describe_channel(&ctx(), describe(&b)).await.unwrap();
    // The bearer comes before the channel's existence: a bad bearer on a missing channel is 401.
    let missing = format!("{a}/channel/none");
    assert_eq!(
        kind(svc.describe_channel(&ctx(), describe_request(&missing, &format!("{a}/user/nobody"))).await),
        ErrorKind::UnauthorizedClient
    );
    assert_eq!(kind(svc.describe_channel(&ctx(), describe_request(&missing, &alice)).await), ErrorKind::NotFound);
}

#[tokio::test]
async fn member_parameters_are_checked_after_the_matrix() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let other = instance(&svc, "two").await;
    let alice = user(&svc, &a, "alice").await;
    let stranger = user(&svc, &other, "stranger").await;
    let c = channel(&svc, &a, &alice, "c", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    let add = |member: &str| membership(&c, &alice, member, ChannelMembershipType::Default);
    let e = svc.create_channel_membership(&ctx(), add(&format!("{a}/channel/x"))).await.unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::Forbidden, "An invalid app instance user ARN was supplied for the input parameter.")
    );
    assert_eq!(kind(svc.create_channel_membership(&ctx(), add(&stranger)).await), ErrorKind::Forbidden);
    assert_eq!(kind(svc.create_channel_membership(&ctx(), add(&format!("{a}/user/ghost"))).await), ErrorKind::NotFound);
    assert_eq!(
        kind(svc.create_channel_moderator(&ctx(), moderator_request(&c, &alice, &format!("{a}/user/ghost"))).await),
        ErrorKind::NotFound
    );
    let create = CreateChannelRequest { member_arns: Some(vec![format!("{a}/user/ghost")]), ..channel_request(&a, &alice, "d") };
    assert_eq!(kind(svc.create_channel(&ctx(), create).await), ErrorKind::NotFound);
    let create = CreateChannelRequest { moderator_arns: Some(vec![stranger.clone()]), ..channel_request(&a, &alice, "e") };
    assert_eq!(kind(svc.create_channel(&ctx(), create).await), ErrorKind::Forbidden);
}

#[tokio::test]
async fn unimplemented_operations_and_members_answer_501() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    let c = channel(&svc, &a, &alice, "c", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    let bans = ListChannelBansRequest { channel_arn: c.clone(), max_results: None, next_token: None, chime_bearer: alice.clone() };
    let e = svc.list_channel_bans(&ctx(), bans).await.unwrap_err();
    assert_eq!((e.status(), e.kind.type_name()), (501, "NotImplementedException"));
    assert_eq!(e.body(), br#"{"Code":"NotImplemented","Message":"Carillon does not implement ListChannelBans yet"}"#.to_vec());
    // The caller's ownership of the ARNs comes first.
    let foreign = ListChannelBansRequest {
        channel_arn: c.replace(ACCOUNT, "999999999999"),
        max_results: None,
        next_token: None,
        chime_bearer: alice.clone(),
    };
    assert_eq!(kind(svc.list_channel_bans(&ctx(), foreign).await), ErrorKind::Forbidden);
    let e = svc.get_messaging_session_endpoint(&ctx(), GetMessagingSessionEndpointRequest { network_type: None }).await.unwrap_err();
    assert_eq!(e.status(), 501);
    // Target: 501 after the matrix, naming the member.
    let mut input = send_request(&c, &alice, "hi", "t1");
    input.target = Some(vec![Target { member_arn: Some(alice.clone()) }]);
    let e = svc.send_channel_message(&ctx(), input).await.unwrap_err();
    assert_eq!((e.status(), e.message.as_str()), (501, "Carillon does not implement Target yet"));
    let bob = user(&svc, &a, "bob").await;
    let mut input = send_request(&c, &bob, "hi", "t2");
    input.target = Some(vec![Target { member_arn: Some(alice.clone()) }]);
    assert_eq!(kind(svc.send_channel_message(&ctx(), input).await), ErrorKind::Forbidden, "the matrix first");
    let input = CreateChannelRequest {
        elastic_channel_configuration: Some(ElasticChannelConfiguration {
            maximum_sub_channels: 2,
            target_memberships_per_sub_channel: 2,
            minimum_membership_percentage: 10,
        }),
        ..channel_request(&a, &alice, "elastic")
    };
    assert_eq!(svc.create_channel(&ctx(), input).await.unwrap_err().message, "Carillon does not implement ElasticChannelConfiguration yet");
    let mut get = get_message_request(&c, &alice, "x");
    get.sub_channel_id = Some("s".into());
    assert_eq!(kind(svc.get_channel_message(&ctx(), get).await), ErrorKind::BadRequest);
}

// ---------------------------------------------------------------------------------------------
// Channels.

#[tokio::test]
async fn a_channel_starts_with_its_defaults_and_its_creator() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    let bob = user(&svc, &a, "bob").await;
    let carol = user(&svc, &a, "carol").await;
    let input = CreateChannelRequest {
        member_arns: Some(vec![bob.clone(), alice.clone(), bob.clone()]),
        moderator_arns: Some(vec![carol.clone()]),
        ..channel_request(&a, &alice, "room")
    };
    let c = svc.create_channel(&ctx(), input).await.unwrap().channel_arn.unwrap();
    let (prefix, id) = c.rsplit_once("/channel/").unwrap();
    assert_eq!(prefix, a);
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let ch = svc.describe_channel(&ctx(), describe_request(&c, &alice)).await.unwrap().channel.unwrap();
    assert_eq!((ch.mode, ch.privacy), (Some(ChannelMode::Unrestricted), Some(ChannelPrivacy::Public)));
    assert_eq!(ch.created_by, Some(Identity { arn: Some(alice.clone()), name: Some("name of alice".into()) }));
    assert_eq!(ch.created_timestamp, ch.last_updated_timestamp);
    assert_eq!(ch.last_message_timestamp, None);
    let members = svc.list_channel_memberships(&ctx(), list_memberships_request(&c, &alice)).await.unwrap().channel_memberships.unwrap();
    let arns: Vec<_> = members.iter().map(|m| m.member.as_ref().unwrap().arn.clone().unwrap()).collect();
    assert_eq!(arns, vec![alice.clone(), bob.clone()], "creator first, repeats once, moderators are not members");
    let mods = ListChannelModeratorsRequest { channel_arn: c.clone(), max_results: None, next_token: None, chime_bearer: alice.clone() };
    let mods = svc.list_channel_moderators(&ctx(), mods).await.unwrap().channel_moderators.unwrap();
    let arns: Vec<_> = mods.iter().map(|m| m.moderator.as_ref().unwrap().arn.clone().unwrap()).collect();
    assert_eq!(arns, vec![alice.clone(), carol.clone()]);
    // The caller's ChannelId; one held by a live channel is 409.
    let input = CreateChannelRequest { channel_id: Some("fixed-1".into()), ..channel_request(&a, &alice, "f1") };
    assert_eq!(svc.create_channel(&ctx(), input).await.unwrap().channel_arn.unwrap(), format!("{a}/channel/fixed-1"));
    let input = CreateChannelRequest { channel_id: Some("fixed-1".into()), ..channel_request(&a, &alice, "f2") };
    assert_eq!(kind(svc.create_channel(&ctx(), input).await), ErrorKind::Conflict);
    // The same token with the same parameters replays; with others it is 400.
    let first = svc.create_channel(&ctx(), channel_request(&a, &alice, "same")).await.unwrap();
    assert_eq!(svc.create_channel(&ctx(), channel_request(&a, &alice, "same")).await.unwrap(), first);
    let changed = CreateChannelRequest { metadata: Some("m".into()), ..channel_request(&a, &alice, "same") };
    assert_eq!(kind(svc.create_channel(&ctx(), changed).await), ErrorKind::BadRequest);
    // More than 10 MemberArns is 400.
    let many = CreateChannelRequest { member_arns: Some(vec![bob.clone(); 11]), ..channel_request(&a, &alice, "many") };
    assert_eq!(kind(svc.create_channel(&ctx(), many).await), ErrorKind::BadRequest);
}

#[tokio::test]
async fn update_moves_the_timestamp_and_changes_only_what_it_names() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    let input = CreateChannelRequest { metadata: Some("meta".into()), ..channel_request(&a, &alice, "room") };
    let c = svc.create_channel(&ctx(), input).await.unwrap().channel_arn.unwrap();
    let before = svc.describe_channel(&ctx(), describe_request(&c, &alice)).await.unwrap().channel.unwrap();
    svc.clock().set_offset_ms(1000);
    let input = UpdateChannelRequest {
        channel_arn: c.clone(),
        name: None,
        mode: Some(ChannelMode::Restricted),
        metadata: None,
        chime_bearer: alice.clone(),
    };
    svc.update_channel(&ctx(), input).await.unwrap();
    let after = svc.describe_channel(&ctx(), describe_request(&c, &alice)).await.unwrap().channel.unwrap();
    assert_eq!((after.name.as_deref(), after.metadata.as_deref(), after.mode), (Some("room"), Some("meta"), Some(ChannelMode::Restricted)));
    assert!(after.last_updated_timestamp.unwrap().0 >= before.last_updated_timestamp.unwrap().0 + 1000);
    assert_eq!(after.created_timestamp, before.created_timestamp);
}

#[tokio::test]
async fn deleting_a_channel_takes_everything_in_it() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    let admin = user(&svc, &a, "admin").await;
    make_admin(&svc, &a, &admin).await;
    let c = channel(&svc, &a, &alice, "room", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    let m = send(&svc, &c, &alice, "hello").await;
    let tag = TagResourceRequest { resource_arn: c.clone(), tags: vec![Tag { key: "k".into(), value: "v".into() }] };
    ChimeSdkMessaging::tag_resource(&*svc, &ctx(), tag).await.unwrap();
    let tags =
        ChimeSdkMessaging::list_tags_for_resource(&*svc, &ctx(), ListTagsForResourceRequest { resource_arn: c.clone() }).await.unwrap();
    assert_eq!(tags.tags.unwrap(), vec![Tag { key: "k".into(), value: "v".into() }]);
    svc.delete_channel(&ctx(), DeleteChannelRequest { channel_arn: c.clone(), chime_bearer: alice.clone() }).await.unwrap();
    assert_eq!(kind(svc.describe_channel(&ctx(), describe_request(&c, &admin)).await), ErrorKind::NotFound);
    assert_eq!(kind(svc.get_channel_message(&ctx(), get_message_request(&c, &admin, &m)).await), ErrorKind::NotFound);
    assert_eq!(kind(svc.list_channel_memberships(&ctx(), list_memberships_request(&c, &admin)).await), ErrorKind::NotFound);
    assert_eq!(
        kind(ChimeSdkMessaging::list_tags_for_resource(&*svc, &ctx(), ListTagsForResourceRequest { resource_arn: c.clone() }).await),
        ErrorKind::NotFound
    );
    let mine = ListChannelMembershipsForAppInstanceUserRequest {
        app_instance_user_arn: None,
        max_results: None,
        next_token: None,
        chime_bearer: alice.clone(),
    };
    assert_eq!(svc.list_channel_memberships_for_app_instance_user(&ctx(), mine).await.unwrap().channel_memberships.unwrap(), vec![]);
}

#[tokio::test]
async fn list_channels_pages_in_creation_order_by_privacy() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    make_admin(&svc, &a, &alice).await;
    let mut public = Vec::new();
    for i in 0..5 {
        public.push(channel(&svc, &a, &alice, &format!("p{i}"), ChannelMode::Unrestricted, ChannelPrivacy::Public).await);
        channel(&svc, &a, &alice, &format!("q{i}"), ChannelMode::Unrestricted, ChannelPrivacy::Private).await;
    }
    let mut seen = Vec::new();
    let mut next_token = None;
    loop {
        let input = ListChannelsRequest {
            app_instance_arn: a.clone(),
            privacy: None,
            max_results: Some(2),
            next_token,
            chime_bearer: alice.clone(),
        };
        let out = svc.list_channels(&ctx(), input).await.unwrap();
        seen.extend(out.channels.unwrap().into_iter().map(|c| c.channel_arn.unwrap()));
        next_token = out.next_token;
        if next_token.is_none() {
            break;
        }
    }
    assert_eq!(seen, public);
    let input = ListChannelsRequest {
        app_instance_arn: a.clone(),
        privacy: Some(ChannelPrivacy::Private),
        max_results: None,
        next_token: None,
        chime_bearer: alice.clone(),
    };
    assert_eq!(svc.list_channels(&ctx(), input).await.unwrap().channels.unwrap().len(), 5);
}

#[tokio::test]
async fn expiration_settings_are_kept_and_removed() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    let settings = ExpirationSettings { expiration_days: 3, expiration_criterion: ExpirationCriterion::LastMessageTimestamp };
    let input = CreateChannelRequest { expiration_settings: Some(settings.clone()), ..channel_request(&a, &alice, "room") };
    let c = svc.create_channel(&ctx(), input).await.unwrap().channel_arn.unwrap();
    let ch = svc.describe_channel(&ctx(), describe_request(&c, &alice)).await.unwrap().channel.unwrap();
    assert_eq!(ch.expiration_settings, Some(settings));
    // Without a bearer the call is the account's; without settings it removes them.
    let put = PutChannelExpirationSettingsRequest { channel_arn: c.clone(), chime_bearer: None, expiration_settings: None };
    let out = svc.put_channel_expiration_settings(&ctx(), put).await.unwrap();
    assert_eq!(out.expiration_settings, None);
    let ch = svc.describe_channel(&ctx(), describe_request(&c, &alice)).await.unwrap().channel.unwrap();
    assert_eq!(ch.expiration_settings, None);
}

// ---------------------------------------------------------------------------------------------
// Memberships, moderators, preferences, read markers.

#[tokio::test]
async fn memberships_conflict_batch_per_member_and_hide() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    let bob = user(&svc, &a, "bob").await;
    let carol = user(&svc, &a, "carol").await;
    let c = channel(&svc, &a, &alice, "room", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    add(&svc, &c, &alice, &bob, ChannelMembershipType::Default).await;
    let again = svc.create_channel_membership(&ctx(), membership(&c, &alice, &bob, ChannelMembershipType::Default)).await;
    assert_eq!(kind(again), ErrorKind::Conflict);
    let batch = BatchCreateChannelMembershipRequest {
        channel_arn: c.clone(),
        r#type: Some(ChannelMembershipType::Hidden),
        member_arns: vec![carol.clone(), bob.clone(), format!("{a}/user/ghost"), carol.clone()],
        chime_bearer: alice.clone(),
        sub_channel_id: None,
    };
    let out = svc.batch_create_channel_membership(&ctx(), batch).await.unwrap();
    let added = out.batch_channel_memberships.unwrap();
    assert_eq!(added.members.unwrap().iter().map(|m| m.arn.clone().unwrap()).collect::<Vec<_>>(), vec![carol.clone()]);
    assert_eq!(added.r#type, Some(ChannelMembershipType::Hidden));
    let errors: Vec<_> = out.errors.unwrap().into_iter().map(|e| (e.member_arn.unwrap(), e.error_code.unwrap())).collect();
    assert_eq!(errors, vec![(bob.clone(), ErrorCode::Conflict), (format!("{a}/user/ghost"), ErrorCode::Notfound)]);
    // HIDDEN members are listed only with type=HIDDEN, and described to A, Mo or themselves.
    let members = svc.list_channel_memberships(&ctx(), list_memberships_request(&c, &alice)).await.unwrap().channel_memberships.unwrap();
    assert_eq!(members.len(), 2);
    let hidden = ListChannelMembershipsRequest { r#type: Some(ChannelMembershipType::Hidden), ..list_memberships_request(&c, &alice) };
    assert_eq!(svc.list_channel_memberships(&ctx(), hidden.clone()).await.unwrap().channel_memberships.unwrap().len(), 1);
    let as_bob = ListChannelMembershipsRequest { chime_bearer: bob.clone(), ..hidden };
    assert_eq!(kind(svc.list_channel_memberships(&ctx(), as_bob).await), ErrorKind::Forbidden);
    let describe = |bearer: &str| DescribeChannelMembershipRequest {
        channel_arn: c.clone(),
        member_arn: carol.clone(),
        chime_bearer: bearer.into(),
        sub_channel_id: None,
    };
    assert_eq!(kind(svc.describe_channel_membership(&ctx(), describe(&bob)).await), ErrorKind::NotFound);
    let m = svc.describe_channel_membership(&ctx(), describe(&carol)).await.unwrap().channel_membership.unwrap();
    assert_eq!((m.r#type, m.invited_by.unwrap().arn), (Some(ChannelMembershipType::Hidden), Some(alice.clone())));
    svc.describe_channel_membership(&ctx(), describe(&alice)).await.unwrap();
    // A user's channels include HIDDEN ones.
    let mine = ListChannelMembershipsForAppInstanceUserRequest {
        app_instance_user_arn: None,
        max_results: None,
        next_token: None,
        chime_bearer: carol.clone(),
    };
    let mine = svc.list_channel_memberships_for_app_instance_user(&ctx(), mine).await.unwrap().channel_memberships.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].app_instance_user_membership_summary.as_ref().unwrap().r#type, Some(ChannelMembershipType::Hidden));
    assert_eq!(mine[0].channel_summary.as_ref().unwrap().channel_arn.as_deref(), Some(c.as_str()));
}

#[tokio::test]
async fn moderators_preferences_and_read_markers() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    let bob = user(&svc, &a, "bob").await;
    let c = channel(&svc, &a, &alice, "room", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    add(&svc, &c, &alice, &bob, ChannelMembershipType::Default).await;
    svc.create_channel_moderator(&ctx(), moderator_request(&c, &alice, &bob)).await.unwrap();
    assert_eq!(kind(svc.create_channel_moderator(&ctx(), moderator_request(&c, &alice, &bob)).await), ErrorKind::Conflict);
    let d = DescribeChannelModeratorRequest { channel_arn: c.clone(), channel_moderator_arn: bob.clone(), chime_bearer: alice.clone() };
    let m = svc.describe_channel_moderator(&ctx(), d).await.unwrap().channel_moderator.unwrap();
    assert_eq!((m.moderator.unwrap().arn, m.created_by.unwrap().arn), (Some(bob.clone()), Some(alice.clone())));

    // Preferences: `{}` before any Put; FILTERED without a rule is 400.
    let get = GetChannelMembershipPreferencesRequest { channel_arn: c.clone(), member_arn: bob.clone(), chime_bearer: bob.clone() };
    let p = svc.get_channel_membership_preferences(&ctx(), get.clone()).await.unwrap().preferences.unwrap();
    assert_eq!(p, ChannelMembershipPreferences { push_notifications: None });
    let put = |allow: AllowNotifications, rule: Option<&str>| PutChannelMembershipPreferencesRequest {
        channel_arn: c.clone(),
        member_arn: bob.clone(),
        chime_bearer: bob.clone(),
        preferences: ChannelMembershipPreferences {
            push_notifications: Some(PushNotificationPreferences { allow_notifications: allow, filter_rule: rule.map(String::from) }),
        },
    };
    assert_eq!(kind(svc.put_channel_membership_preferences(&ctx(), put(AllowNotifications::Filtered, None)).await), ErrorKind::BadRequest);
    let bad_rule = put(AllowNotifications::Filtered, Some(r#"{"type":"urgent"}"#));
    assert_eq!(kind(svc.put_channel_membership_preferences(&ctx(), bad_rule).await), ErrorKind::BadRequest);
    svc.put_channel_membership_preferences(&ctx(), put(AllowNotifications::Filtered, Some(r#"{"type":["urgent"]}"#))).await.unwrap();
    svc.put_channel_membership_preferences(&ctx(), put(AllowNotifications::None, None)).await.unwrap();
    let p = svc.get_channel_membership_preferences(&ctx(), get).await.unwrap().preferences.unwrap();
    assert_eq!(p.push_notifications.unwrap().allow_notifications, AllowNotifications::None);

    // The read marker is the bearer's, set to now.
    svc.clock().set_offset_ms(5 * DAY_MS);
    let now = svc.clock().now_ms();
    svc.update_channel_read_marker(&ctx(), UpdateChannelReadMarkerRequest { channel_arn: c.clone(), chime_bearer: bob.clone() })
        .await
        .unwrap();
    let mine = ListChannelMembershipsForAppInstanceUserRequest {
        app_instance_user_arn: None,
        max_results: None,
        next_token: None,
        chime_bearer: bob.clone(),
    };
    let mine = svc.list_channel_memberships_for_app_instance_user(&ctx(), mine).await.unwrap().channel_memberships.unwrap();
    let marker = mine[0].app_instance_user_membership_summary.as_ref().unwrap().read_marker_timestamp.unwrap().0;
    assert!((now..now + 5_000).contains(&marker), "{marker} vs {now}");
}

#[tokio::test]
async fn deleting_a_user_or_bot_takes_its_memberships_and_roles_not_its_messages() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    let bob = user(&svc, &a, "bob").await;
    let b = bot(&svc, &a, "bot").await;
    let c = channel(&svc, &a, &alice, "room", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    add(&svc, &c, &alice, &bob, ChannelMembershipType::Default).await;
    add(&svc, &c, &alice, &b, ChannelMembershipType::Default).await;
    svc.create_channel_moderator(&ctx(), moderator_request(&c, &alice, &bob)).await.unwrap();
    let m = send(&svc, &c, &bob, "from bob").await;
    svc.delete_app_instance_user(&ctx(), id::DeleteAppInstanceUserRequest { app_instance_user_arn: bob.clone() }).await.unwrap();
    svc.delete_app_instance_bot(&ctx(), id::DeleteAppInstanceBotRequest { app_instance_bot_arn: b.clone() }).await.unwrap();
    let members = svc.list_channel_memberships(&ctx(), list_memberships_request(&c, &alice)).await.unwrap().channel_memberships.unwrap();
    assert_eq!(members.iter().map(|m| m.member.clone().unwrap().arn.unwrap()).collect::<Vec<_>>(), vec![alice.clone()]);
    let mods = ListChannelModeratorsRequest { channel_arn: c.clone(), max_results: None, next_token: None, chime_bearer: alice.clone() };
    assert_eq!(svc.list_channel_moderators(&ctx(), mods).await.unwrap().channel_moderators.unwrap().len(), 1);
    let kept = svc.get_channel_message(&ctx(), get_message_request(&c, &alice, &m)).await.unwrap().channel_message.unwrap();
    assert_eq!(kept.sender.unwrap(), Identity { arn: Some(bob.clone()), name: Some("name of bob".into()) });
    // A user of the same id made again is not a member.
    let bob2 = user(&svc, &a, "bob").await;
    assert_eq!(bob2, bob);
    let mine = ListChannelMembershipsForAppInstanceUserRequest {
        app_instance_user_arn: None,
        max_results: None,
        next_token: None,
        chime_bearer: bob2,
    };
    assert_eq!(svc.list_channel_memberships_for_app_instance_user(&ctx(), mine).await.unwrap().channel_memberships.unwrap(), vec![]);
}

#[tokio::test]
async fn quotas_refuse_the_one_too_many() {
    let quotas = Quotas {
        channels_per_app_instance: 3,
        memberships_per_channel: 2,
        memberships_per_user: 2,
        moderators_per_channel: 2,
        ..Quotas::default()
    };
    let svc = service_with(quotas).await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    let bob = user(&svc, &a, "bob").await;
    let carol = user(&svc, &a, "carol").await;
    let c = channel(&svc, &a, &alice, "one", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    channel(&svc, &a, &bob, "two", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    let e = channel(&svc, &a, &carol, "three", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    assert_eq!(kind(svc.create_channel(&ctx(), channel_request(&a, &alice, "four")).await), ErrorKind::ResourceLimitExceeded);
    // Members per channel: alice and bob fill the first.
    add(&svc, &c, &alice, &bob, ChannelMembershipType::Default).await;
    let third = svc.create_channel_membership(&ctx(), membership(&c, &alice, &carol, ChannelMembershipType::Default)).await;
    assert_eq!(kind(third), ErrorKind::ResourceLimitExceeded);
    // Channels per user: bob is in two already.
    let batch = BatchCreateChannelMembershipRequest {
        channel_arn: e.clone(),
        r#type: None,
        member_arns: vec![bob.clone(), alice.clone()],
        chime_bearer: carol.clone(),
        sub_channel_id: None,
    };
    let out = svc.batch_create_channel_membership(&ctx(), batch).await.unwrap();
    let errors: Vec<_> = out.errors.unwrap().into_iter().map(|e| (e.member_arn.unwrap(), e.error_code.unwrap())).collect();
    assert_eq!(errors, vec![(bob.clone(), ErrorCode::Resourcelimitexceeded)]);
    assert_eq!(out.batch_channel_memberships.unwrap().members.unwrap().len(), 1, "alice was added");
    // Moderators per channel: alice and bob.
    svc.create_channel_moderator(&ctx(), moderator_request(&c, &alice, &bob)).await.unwrap();
    assert_eq!(kind(svc.create_channel_moderator(&ctx(), moderator_request(&c, &alice, &carol)).await), ErrorKind::ResourceLimitExceeded);
    // Tags per channel.
    let svc2 = service_with(Quotas { tags_per_resource: 1, ..Quotas::default() }).await;
    let a2 = instance(&svc2, "two").await;
    let dave = user(&svc2, &a2, "dave").await;
    let f = channel(&svc2, &a2, &dave, "tagged", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    let tag = |k: &str| TagResourceRequest { resource_arn: f.clone(), tags: vec![Tag { key: k.into(), value: "v".into() }] };
    ChimeSdkMessaging::tag_resource(&*svc2, &ctx(), tag("a")).await.unwrap();
    assert_eq!(kind(ChimeSdkMessaging::tag_resource(&*svc2, &ctx(), tag("b")).await), ErrorKind::ResourceLimitExceeded);
}

// ---------------------------------------------------------------------------------------------
// Messages.

#[tokio::test]
async fn message_sizes_follow_their_type() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    let c = channel(&svc, &a, &alice, "room", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    let s = |content: &str, t: ChannelMessageType, token: &str| SendChannelMessageRequest {
        r#type: t,
        ..send_request(&c, &alice, content, token)
    };
    // 4096 bytes, counted in UTF-8: 1366 three-byte characters are 4098.
    svc.send_channel_message(&ctx(), s(&"a".repeat(4096), ChannelMessageType::Standard, "1")).await.unwrap();
    assert_eq!(
        kind(svc.send_channel_message(&ctx(), s(&"€".repeat(1366), ChannelMessageType::Standard, "2")).await),
        ErrorKind::BadRequest
    );
    svc.send_channel_message(&ctx(), s(&"a".repeat(30), ChannelMessageType::Control, "3")).await.unwrap();
    assert_eq!(kind(svc.send_channel_message(&ctx(), s(&"a".repeat(31), ChannelMessageType::Control, "4")).await), ErrorKind::BadRequest);
    let control_meta = SendChannelMessageRequest { metadata: Some(String::new()), ..s("x", ChannelMessageType::Control, "5") };
    assert_eq!(kind(svc.send_channel_message(&ctx(), control_meta).await), ErrorKind::BadRequest);
    let attrs = |v: String| Some([("k".to_string(), MessageAttributeValue { string_values: Some(vec![v]) })].into_iter().collect());
    let control_attrs = SendChannelMessageRequest { message_attributes: attrs("v".into()), ..s("x", ChannelMessageType::Control, "6") };
    assert_eq!(kind(svc.send_channel_message(&ctx(), control_attrs).await), ErrorKind::BadRequest);
    let big_attrs = SendChannelMessageRequest { message_attributes: attrs("v".repeat(512)), ..s("x", ChannelMessageType::Standard, "7") };
    svc.send_channel_message(&ctx(), big_attrs).await.unwrap();
    let mut too_many = std::collections::BTreeMap::new();
    for k in ["a", "b", "c"] {
        too_many.insert(k.to_string(), MessageAttributeValue { string_values: Some(vec!["v".repeat(400)]) });
    }
    let over = SendChannelMessageRequest { message_attributes: Some(too_many), ..s("x", ChannelMessageType::Standard, "8") };
    assert_eq!(kind(svc.send_channel_message(&ctx(), over).await), ErrorKind::BadRequest);
}

#[tokio::test]
async fn update_redact_and_delete_keep_their_timestamps_and_rules() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    let admin = user(&svc, &a, "admin").await;
    make_admin(&svc, &a, &admin).await;
    let c = channel(&svc, &a, &alice, "room", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    let input = SendChannelMessageRequest {
        metadata: Some("meta".into()),
        content_type: Some("text/plain".into()),
        ..send_request(&c, &alice, "first", "t1")
    };
    let id = svc.send_channel_message(&ctx(), input).await.unwrap().message_id.unwrap();
    assert_eq!(id.len(), 64);
    assert!(id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{id}");
    let get = || get_message_request(&c, &alice, &id);
    let sent = svc.get_channel_message(&ctx(), get()).await.unwrap().channel_message.unwrap();
    assert_eq!(sent.created_timestamp, sent.last_updated_timestamp);
    assert_eq!(
        (sent.last_edited_timestamp, sent.redacted, sent.persistence),
        (None, Some(false), Some(ChannelMessagePersistenceType::Persistent))
    );
    assert_eq!(sent.status.unwrap().value, Some(ChannelMessageStatus::Sent));
    let ch = svc.describe_channel(&ctx(), describe_request(&c, &alice)).await.unwrap().channel.unwrap();
    assert_eq!(ch.last_message_timestamp, sent.created_timestamp);

    svc.clock().set_offset_ms(2000);
    let update = UpdateChannelMessageRequest {
        channel_arn: c.clone(),
        message_id: id.clone(),
        content: "second".into(),
        metadata: None,
        chime_bearer: alice.clone(),
        sub_channel_id: None,
        content_type: None,
    };
    svc.update_channel_message(&ctx(), update.clone()).await.unwrap();
    let edited = svc.get_channel_message(&ctx(), get()).await.unwrap().channel_message.unwrap();
    assert_eq!(
        (edited.content.as_deref(), edited.metadata.as_deref(), edited.content_type.as_deref()),
        (Some("second"), Some("meta"), Some("text/plain"))
    );
    assert_eq!(edited.last_edited_timestamp, edited.last_updated_timestamp);
    assert!(edited.last_edited_timestamp.unwrap().0 >= sent.created_timestamp.unwrap().0 + 2000);
    assert_eq!(edited.created_timestamp, sent.created_timestamp);

    svc.clock().set_offset_ms(4000);
    let redact =
        RedactChannelMessageRequest { channel_arn: c.clone(), message_id: id.clone(), chime_bearer: alice.clone(), sub_channel_id: None };
    svc.redact_channel_message(&ctx(), redact.clone()).await.unwrap();
    let redacted = svc.get_channel_message(&ctx(), get()).await.unwrap().channel_message.unwrap();
    assert_eq!((&redacted.content, &redacted.metadata, &redacted.content_type, &redacted.message_attributes), (&None, &None, &None, &None));
    assert_eq!(redacted.redacted, Some(true));
    assert_eq!(redacted.last_edited_timestamp, edited.last_edited_timestamp, "redact moves only LastUpdatedTimestamp");
    assert!(redacted.last_updated_timestamp.unwrap().0 > edited.last_updated_timestamp.unwrap().0);
    svc.redact_channel_message(&ctx(), redact).await.unwrap();
    assert_eq!(svc.get_channel_message(&ctx(), get()).await.unwrap().channel_message.unwrap(), redacted, "again: no change");
    assert_eq!(kind(svc.update_channel_message(&ctx(), update).await), ErrorKind::Conflict);

    let delete =
        DeleteChannelMessageRequest { channel_arn: c.clone(), message_id: id.clone(), chime_bearer: admin.clone(), sub_channel_id: None };
    svc.delete_channel_message(&ctx(), delete.clone()).await.unwrap();
    assert_eq!(kind(svc.get_channel_message(&ctx(), get()).await), ErrorKind::NotFound);
    assert_eq!(kind(svc.delete_channel_message(&ctx(), delete).await), ErrorKind::NotFound);
    let listed = svc.list_channel_messages(&ctx(), list_messages_request(&c, &alice)).await.unwrap();
    assert_eq!(listed.channel_messages.unwrap(), vec![]);
    // A message that never was is 404, after the matrix.
    assert_eq!(kind(svc.get_channel_message(&ctx(), get_message_request(&c, &alice, "nope")).await), ErrorKind::NotFound);
}

#[tokio::test]
async fn non_persistent_messages_are_never_stored_and_sends_replay() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    let c = channel(&svc, &a, &alice, "room", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    let input =
        SendChannelMessageRequest { persistence: ChannelMessagePersistenceType::NonPersistent, ..send_request(&c, &alice, "gone", "np") };
    let out = svc.send_channel_message(&ctx(), input).await.unwrap();
    let id = out.message_id.unwrap();
    assert_eq!(kind(svc.get_channel_message(&ctx(), get_message_request(&c, &alice, &id)).await), ErrorKind::NotFound);
    assert_eq!(svc.list_channel_messages(&ctx(), list_messages_request(&c, &alice)).await.unwrap().channel_messages.unwrap(), vec![]);
    let ch = svc.describe_channel(&ctx(), describe_request(&c, &alice)).await.unwrap().channel.unwrap();
    assert_eq!(ch.last_message_timestamp, None, "only PERSISTENT sends move it");

    let first = svc.send_channel_message(&ctx(), send_request(&c, &alice, "once", "same")).await.unwrap();
    let again = svc.send_channel_message(&ctx(), send_request(&c, &alice, "once", "same")).await.unwrap();
    assert_eq!(first, again);
    let listed = svc.list_channel_messages(&ctx(), list_messages_request(&c, &alice)).await.unwrap().channel_messages.unwrap();
    assert_eq!(listed.len(), 1, "a replay stores nothing");
    assert_eq!(kind(svc.send_channel_message(&ctx(), send_request(&c, &alice, "other", "same")).await), ErrorKind::BadRequest);
    // Even after its message is gone, the token answers the same.
    let admin = user(&svc, &a, "admin").await;
    make_admin(&svc, &a, &admin).await;
    let delete = DeleteChannelMessageRequest {
        channel_arn: c.clone(),
        message_id: first.message_id.clone().unwrap(),
        chime_bearer: admin,
        sub_channel_id: None,
    };
    svc.delete_channel_message(&ctx(), delete).await.unwrap();
    assert_eq!(svc.send_channel_message(&ctx(), send_request(&c, &alice, "once", "same")).await.unwrap(), first);
}

#[tokio::test]
async fn messages_list_both_ways_with_time_bounds_and_pages() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    let c = channel(&svc, &a, &alice, "room", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    // Messages two by two ten seconds apart; within a pair they may share a millisecond.
    let base = svc.clock().now_ms();
    let mut ids = Vec::new();
    let mut times = Vec::new();
    for i in 0..6 {
        svc.clock().set_offset_ms((i / 2) * 10_000);
        ids.push(send(&svc, &c, &alice, &format!("m{i}")).await);
    }
    for id in &ids {
        let m = svc.get_channel_message(&ctx(), get_message_request(&c, &alice, id)).await.unwrap().channel_message.unwrap();
        times.push(m.created_timestamp.unwrap().0);
    }
    assert!(times[2] >= base + 10_000);
    let page = |order: Option<SortOrder>, next_token: Option<String>, nb: Option<i64>, na: Option<i64>| ListChannelMessagesRequest {
        sort_order: order,
        max_results: Some(4),
        next_token,
        not_before: nb.map(Timestamp),
        not_after: na.map(Timestamp),
        ..list_messages_request(&c, &alice)
    };
    let all = |order: Option<SortOrder>, nb: Option<i64>, na: Option<i64>| {
        let svc = svc.clone();
        let page = &page;
        async move {
            let mut out = Vec::new();
            let mut token = None;
            loop {
                let r = svc.list_channel_messages(&ctx(), page(order, token, nb, na)).await.unwrap();
                out.extend(r.channel_messages.unwrap().into_iter().map(|m| m.message_id.unwrap()));
                token = r.next_token;
                if token.is_none() {
                    return out;
                }
            }
        }
    };
    // Ascending is send order; descending (the default) its exact reverse.
    let desc = all(None, None, None).await;
    let asc = all(Some(SortOrder::Ascending), None, None).await;
    assert_eq!(asc, ids);
    assert_eq!(desc, ids.iter().rev().cloned().collect::<Vec<_>>());
    // Inclusive bounds.
    let bounded = all(Some(SortOrder::Ascending), Some(times[2]), Some(times[3])).await;
    assert_eq!(bounded, ids[2..4].to_vec());
    let reversed = svc.list_channel_messages(&ctx(), page(None, None, Some(times[3]), Some(times[2]))).await;
    if times[3] > times[2] {
        assert_eq!(kind(reversed), ErrorKind::BadRequest);
    }
    // A token made for one order does not continue the other.
    let first = svc.list_channel_messages(&ctx(), page(None, None, None, None)).await.unwrap();
    let token = first.next_token.unwrap();
    assert_eq!(
        kind(svc.list_channel_messages(&ctx(), page(Some(SortOrder::Ascending), Some(token), None, None)).await),
        ErrorKind::BadRequest
    );
}

// ---------------------------------------------------------------------------------------------
// Expiration and retention, through the clock.

#[tokio::test]
async fn expired_channels_are_swept_and_sends_move_last_message_expiry() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    let by_creation = ExpirationSettings { expiration_days: 2, expiration_criterion: ExpirationCriterion::CreatedTimestamp };
    let by_message = ExpirationSettings { expiration_days: 2, expiration_criterion: ExpirationCriterion::LastMessageTimestamp };
    let created = CreateChannelRequest { expiration_settings: Some(by_creation), ..channel_request(&a, &alice, "created") };
    let created = svc.create_channel(&ctx(), created).await.unwrap().channel_arn.unwrap();
    let talked = CreateChannelRequest { expiration_settings: Some(by_message), ..channel_request(&a, &alice, "talked") };
    let talked = svc.create_channel(&ctx(), talked).await.unwrap().channel_arn.unwrap();
    let forever = channel(&svc, &a, &alice, "forever", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    assert_eq!(svc.sweep_expired_channels().await.unwrap(), 0);

    // A day and a half later a message moves the second channel's expiry; the first expires at two days.
    svc.clock().set_offset_ms(DAY_MS * 3 / 2);
    send(&svc, &talked, &alice, "still here").await;
    svc.clock().set_offset_ms(2 * DAY_MS + 1000);
    // Until the sweep runs, an expired channel acts alive.
    svc.describe_channel(&ctx(), describe_request(&created, &alice)).await.unwrap();
    assert_eq!(svc.sweep_expired_channels().await.unwrap(), 1);
    assert_eq!(kind(svc.describe_channel(&ctx(), describe_request(&created, &alice)).await), ErrorKind::NotFound);
    svc.describe_channel(&ctx(), describe_request(&talked, &alice)).await.unwrap();

    svc.clock().set_offset_ms(DAY_MS * 7 / 2 + 1000);
    assert_eq!(svc.sweep_expired_channels().await.unwrap(), 1);
    assert_eq!(kind(svc.describe_channel(&ctx(), describe_request(&talked, &alice)).await), ErrorKind::NotFound);
    svc.describe_channel(&ctx(), describe_request(&forever, &alice)).await.unwrap();
}

#[tokio::test]
async fn retention_hides_old_messages_at_once_and_shows_them_again() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    let c = channel(&svc, &a, &alice, "room", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    let old = send(&svc, &c, &alice, "old").await;
    svc.clock().set_offset_ms(3 * DAY_MS);
    let new = send(&svc, &c, &alice, "new").await;
    let retention = |days: Option<i32>| id::PutAppInstanceRetentionSettingsRequest {
        app_instance_arn: a.clone(),
        app_instance_retention_settings: id::AppInstanceRetentionSettings {
            channel_retention_settings: Some(id::ChannelRetentionSettings { retention_days: days }),
        },
    };
    let listed = |svc: Service| {
        let (c, alice) = (c.clone(), alice.clone());
        async move {
            let out = svc.list_channel_messages(&ctx(), list_messages_request(&c, &alice)).await.unwrap();
            out.channel_messages.unwrap().into_iter().map(|m| m.message_id.unwrap()).collect::<Vec<_>>()
        }
    };
    svc.put_app_instance_retention_settings(&ctx(), retention(Some(2))).await.unwrap();
    assert_eq!(kind(svc.get_channel_message(&ctx(), get_message_request(&c, &alice, &old)).await), ErrorKind::NotFound);
    svc.get_channel_message(&ctx(), get_message_request(&c, &alice, &new)).await.unwrap();
    assert_eq!(listed(svc.clone()).await, vec![new.clone()]);
    svc.put_app_instance_retention_settings(&ctx(), retention(Some(5))).await.unwrap();
    assert_eq!(listed(svc.clone()).await, vec![new.clone(), old.clone()]);

    // The sweep deletes hidden messages only from the Put's InitiateDeletionTimestamp (30 days) on.
    svc.put_app_instance_retention_settings(&ctx(), retention(Some(2))).await.unwrap();
    assert_eq!(svc.sweep_retained_messages().await.unwrap(), 0);
    svc.clock().set_offset_ms(3 * DAY_MS + 29 * DAY_MS);
    assert_eq!(svc.sweep_retained_messages().await.unwrap(), 0, "before the deletion time");
    svc.clock().set_offset_ms(3 * DAY_MS + 30 * DAY_MS + 1000);
    assert_eq!(svc.sweep_retained_messages().await.unwrap(), 2);
    svc.put_app_instance_retention_settings(&ctx(), retention(None)).await.unwrap();
    assert_eq!(listed(svc.clone()).await, Vec::<String>::new(), "deleted for good");
}

#[tokio::test]
async fn the_user_expiry_sweep_takes_memberships_too() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    let input = id::CreateAppInstanceUserRequest {
        app_instance_arn: a.clone(),
        app_instance_user_id: "brief".into(),
        name: "brief".into(),
        metadata: None,
        client_request_token: "t-brief".into(),
        tags: None,
        expiration_settings: Some(id::ExpirationSettings {
            expiration_days: 1,
            expiration_criterion: id::ExpirationCriterion::CreatedTimestamp,
        }),
    };
    let brief = svc.create_app_instance_user(&ctx(), input).await.unwrap().app_instance_user_arn.unwrap();
    let c = channel(&svc, &a, &alice, "room", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    add(&svc, &c, &alice, &brief, ChannelMembershipType::Default).await;
    svc.create_channel_moderator(&ctx(), moderator_request(&c, &alice, &brief)).await.unwrap();
    svc.clock().set_offset_ms(DAY_MS + 1000);
    assert_eq!(svc.sweep_expired_users().await.unwrap(), 1);
    let members = svc.list_channel_memberships(&ctx(), list_memberships_request(&c, &alice)).await.unwrap().channel_memberships.unwrap();
    assert_eq!(members.len(), 1);
    let d = DescribeChannelModeratorRequest { channel_arn: c.clone(), channel_moderator_arn: brief.clone(), chime_bearer: alice.clone() };
    assert_eq!(kind(svc.describe_channel_moderator(&ctx(), d).await), ErrorKind::NotFound);
}

#[tokio::test]
async fn membership_and_moderator_lists_page_in_creation_order() {
    let svc = service().await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    let admin = user(&svc, &a, "admin").await;
    make_admin(&svc, &a, &admin).await;
    let c = channel(&svc, &a, &alice, "room", ChannelMode::Restricted, ChannelPrivacy::Private).await;
    let mut expected = vec![alice.clone()];
    for i in 0..11 {
        let u = user(&svc, &a, &format!("u{i:02}")).await;
        add(&svc, &c, &alice, &u, ChannelMembershipType::Default).await;
        svc.create_channel_moderator(&ctx(), moderator_request(&c, &alice, &u)).await.unwrap();
        expected.push(u);
    }
    let (mut members, mut moderators) = (Vec::new(), Vec::new());
    let mut token = None;
    loop {
        let input = ListChannelMembershipsRequest { max_results: Some(5), next_token: token, ..list_memberships_request(&c, &alice) };
        let out = svc.list_channel_memberships(&ctx(), input).await.unwrap();
        let page = out.channel_memberships.unwrap();
        assert!(page.len() <= 5);
        members.extend(page.into_iter().map(|m| m.member.unwrap().arn.unwrap()));
        token = out.next_token;
        if token.is_none() {
            break;
        }
    }
    loop {
        let input =
            ListChannelModeratorsRequest { channel_arn: c.clone(), max_results: Some(5), next_token: token, chime_bearer: alice.clone() };
        let out = svc.list_channel_moderators(&ctx(), input).await.unwrap();
        moderators.extend(out.channel_moderators.unwrap().into_iter().map(|m| m.moderator.unwrap().arn.unwrap()));
        token = out.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(members, expected);
    assert_eq!(moderators, expected);

    // A user's memberships, in membership order, as itself and as an AppInstanceAdmin sees them.
    let d = channel(&svc, &a, &admin, "second", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    let e = channel(&svc, &a, &admin, "third", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    add(&svc, &e, &admin, &alice, ChannelMembershipType::Default).await;
    add(&svc, &d, &admin, &alice, ChannelMembershipType::Hidden).await;
    for bearer in [&alice, &admin] {
        let mut channels = Vec::new();
        let mut token = None;
        loop {
            let input = ListChannelMembershipsForAppInstanceUserRequest {
                app_instance_user_arn: Some(alice.clone()),
                max_results: Some(2),
                next_token: token,
                chime_bearer: bearer.clone(),
            };
            let out = svc.list_channel_memberships_for_app_instance_user(&ctx(), input).await.unwrap();
            channels.extend(out.channel_memberships.unwrap().into_iter().map(|m| m.channel_summary.unwrap().channel_arn.unwrap()));
            token = out.next_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(channels, vec![c.clone(), e.clone(), d.clone()], "as {bearer}");
    }
    // Someone else's list is the admin's to read only.
    let other = ListChannelMembershipsForAppInstanceUserRequest {
        app_instance_user_arn: Some(admin.clone()),
        max_results: None,
        next_token: None,
        chime_bearer: alice.clone(),
    };
    assert_eq!(kind(svc.list_channel_memberships_for_app_instance_user(&ctx(), other).await), ErrorKind::Forbidden);
    let ghost = ListChannelMembershipsForAppInstanceUserRequest {
        app_instance_user_arn: Some(format!("{a}/user/ghost")),
        max_results: None,
        next_token: None,
        chime_bearer: admin.clone(),
    };
    assert_eq!(kind(svc.list_channel_memberships_for_app_instance_user(&ctx(), ghost).await), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_keep_uniqueness_and_quotas() {
    let svc = service_with(Quotas { memberships_per_channel: 6, ..Quotas::default() }).await;
    let a = instance(&svc, "one").await;
    let alice = user(&svc, &a, "alice").await;
    let bob = user(&svc, &a, "bob").await;
    let c = channel(&svc, &a, &alice, "room", ChannelMode::Unrestricted, ChannelPrivacy::Public).await;
    // The same member added ten times at once: one succeeds, the rest conflict.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (svc, input) = ((*svc).clone(), membership(&c, &alice, &bob, ChannelMembershipType::Default));
        tasks.push(tokio::spawn(async move { svc.create_channel_membership(&ctx(), input).await.map_err(|e| e.kind) }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap().map(drop));
    }
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| o.is_ok() || *o == Err(ErrorKind::Conflict)), "{outcomes:?}");
    // Ten new members at once into four free places: four succeed, six hit the quota.
    let mut users = Vec::new();
    for i in 0..10 {
        users.push(user(&svc, &a, &format!("u{i}")).await);
    }
    let mut tasks = Vec::new();
    for u in &users {
        let (svc, input) = ((*svc).clone(), membership(&c, &alice, u, ChannelMembershipType::Default));
        tasks.push(tokio::spawn(async move { svc.create_channel_membership(&ctx(), input).await.map_err(|e| e.kind) }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap().map(drop));
    }
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 4, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| o.is_ok() || *o == Err(ErrorKind::ResourceLimitExceeded)), "{outcomes:?}");
    // One ChannelId claimed by five creators at once: one channel.
    let mut tasks = Vec::new();
    for i in 0..5 {
        let input = CreateChannelRequest { channel_id: Some("contested".into()), ..channel_request(&a, &alice, &format!("race{i}")) };
        let svc = (*svc).clone();
        tasks.push(tokio::spawn(async move { svc.create_channel(&ctx(), input).await.map_err(|e| e.kind) }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap().map(drop));
    }
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| o.is_ok() || *o == Err(ErrorKind::Conflict)), "{outcomes:?}");
}
