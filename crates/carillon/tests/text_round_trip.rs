//! Every Unicode scalar value the model admits, NUL included, round-trips through the API on
//! every backend (docs/behaviour.md, "Limits"): names, metadata, device tokens, tag keys and
//! values, a bot's configuration. ARNs and ids holding NUL that name nothing are 404, not 500.
//! Runs on SQLite, and on PostgreSQL when CARILLON_TEST_POSTGRES_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use aws_sdk_chimesdkidentity::Client;
use aws_sdk_chimesdkidentity::types::{AppInstanceUserEndpointType, Configuration, EndpointAttributes, LexConfiguration, Tag};
use carillon_testing::{PostgresDb, TestServer, error_of, fresh_account, pinpoint_arn, say};

/// Texts a client may send: NUL alone and amid text, U+0001 and what an escape of NUL might look
/// like, other controls, the supplementary planes.
const TEXTS: &[&str] = &["\0", "a\0b", "\u{1}0", "\u{1}", "\x07\t\x1b\x7f\u{85}", "\u{1F600}\u{10FFFF}", "\0\u{1}\0"];

async fn round_trips(label: &str, c: Client, account: &str) {
    for (i, text) in TEXTS.iter().enumerate() {
        let text = text.to_string();
        let what = format!("{label}, text {i} {text:?}");
        let tag = Tag::builder().key(format!("k{text}")).value(text.clone()).build().unwrap();
        let instance = c.create_app_instance().name(format!("i{i}")).metadata(&text).tags(tag.clone()).send().await;
        let instance = instance.unwrap_or_else(|e| panic!("{what}: {e:?}")).app_instance_arn.unwrap();
        let got = c.describe_app_instance().app_instance_arn(&instance).send().await.unwrap().app_instance.unwrap();
        assert_eq!(got.metadata(), Some(text.as_str()), "{what}");
        c.update_app_instance().app_instance_arn(&instance).name("x").metadata(format!("{text}!")).send().await.unwrap();
        let listed = c.list_app_instances().send().await.unwrap();
        let mine = listed.app_instances().iter().find(|a| a.app_instance_arn() == Some(instance.as_str())).unwrap();
        assert_eq!(mine.metadata(), Some(format!("{text}!").as_str()), "{what}");
        let tags = c.list_tags_for_resource().resource_arn(&instance).send().await.unwrap();
        assert_eq!(tags.tags(), std::slice::from_ref(&tag), "{what}");
        c.untag_resource().resource_arn(&instance).tag_keys(format!("k{text}")).send().await.unwrap();
        assert!(c.list_tags_for_resource().resource_arn(&instance).send().await.unwrap().tags().is_empty(), "{what}");

        let user = c
            .create_app_instance_user()
            .app_instance_arn(&instance)
            .app_instance_user_id("u")
            .name(format!("{text}u"))
            .metadata(&text)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e:?}"))
            .app_instance_user_arn
            .unwrap();
        let got = c.describe_app_instance_user().app_instance_user_arn(&user).send().await.unwrap().app_instance_user.unwrap();
        assert_eq!((got.name(), got.metadata()), (Some(format!("{text}u").as_str()), Some(text.as_str())), "{what}");
        c.update_app_instance_user().app_instance_user_arn(&user).name(format!("u{text}")).metadata("").send().await.unwrap();
        let listed = c.list_app_instance_users().app_instance_arn(&instance).send().await.unwrap();
        assert_eq!(listed.app_instance_users()[0].name(), Some(format!("u{text}").as_str()), "{what}");

        let endpoint = c
            .register_app_instance_user_endpoint()
            .app_instance_user_arn(&user)
            .name(&text)
            .r#type(AppInstanceUserEndpointType::Apns)
            .resource_arn(pinpoint_arn(account, "us-east-1"))
            .endpoint_attributes(EndpointAttributes::builder().device_token(&text).voip_device_token(format!("v{text}")).build().unwrap())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e:?}"))
            .endpoint_id
            .unwrap();
        let got = c.describe_app_instance_user_endpoint().app_instance_user_arn(&user).endpoint_id(&endpoint).send().await.unwrap();
        let got = got.app_instance_user_endpoint.unwrap();
        let attrs = got.endpoint_attributes().unwrap();
        assert_eq!(
            (got.name(), attrs.device_token(), attrs.voip_device_token()),
            (Some(text.as_str()), text.as_str(), Some(format!("v{text}").as_str())),
            "{what}"
        );
        // The same token again is a conflict: the store compares such texts exactly.
        let again = c
            .register_app_instance_user_endpoint()
            .app_instance_user_arn(&user)
            .r#type(AppInstanceUserEndpointType::Apns)
            .resource_arn(pinpoint_arn(account, "us-east-1"))
            .endpoint_attributes(EndpointAttributes::builder().device_token(&text).build().unwrap())
            .send()
            .await
            .unwrap_err();
        assert_eq!(error_of(&again), ("ConflictException".into(), 409), "{what}");
        c.update_app_instance_user_endpoint()
            .app_instance_user_arn(&user)
            .endpoint_id(&endpoint)
            .name(format!("{text}2"))
            .send()
            .await
            .unwrap();
        let listed = c.list_app_instance_user_endpoints().app_instance_user_arn(&user).send().await.unwrap();
        assert_eq!(listed.app_instance_user_endpoints()[0].name(), Some(format!("{text}2").as_str()), "{what}");

        let lex = LexConfiguration::builder()
            .lex_bot_alias_arn("arn:aws:lex:us-east-1:111122223333:bot-alias/ABCDEFGHIJ/KLMNOPQRST")
            .locale_id(&text)
            .build()
            .unwrap();
        let bot = c
            .create_app_instance_bot()
            .app_instance_arn(&instance)
            .name("b")
            .metadata(&text)
            .configuration(Configuration::builder().lex(lex).build())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e:?}"))
            .app_instance_bot_arn
            .unwrap();
        let got = c.describe_app_instance_bot().app_instance_bot_arn(&bot).send().await.unwrap().app_instance_bot.unwrap();
        assert_eq!(got.metadata(), Some(text.as_str()), "{what}");
        assert_eq!(got.configuration().and_then(|c| c.lex()).map(|l| l.locale_id()), Some(text.as_str()), "{what}");

        // ARNs and ids with NUL that name nothing.
        let err = c.describe_app_instance_user().app_instance_user_arn(format!("{user}{text}")).send().await.unwrap_err();
        assert_eq!(error_of(&err), ("NotFoundException".into(), 404), "{what}");
        let err = c.describe_app_instance().app_instance_arn(format!("{instance}{text}")).send().await.unwrap_err();
        assert_eq!(error_of(&err), ("NotFoundException".into(), 404), "{what}");
        let err =
            c.describe_app_instance_user_endpoint().app_instance_user_arn(&user).endpoint_id(format!("e{text}")).send().await.unwrap_err();
        assert_eq!(error_of(&err), ("NotFoundException".into(), 404), "{what}");
        let err = c.delete_app_instance_user().app_instance_user_arn(format!("{user}{text}")).send().await.unwrap_err();
        assert_eq!(error_of(&err), ("NotFoundException".into(), 404), "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_and_friends_round_trip_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder().database(&format!("sqlite://{}", dir.path().join("t.db").display())).start();
    let account = fresh_account();
    round_trips("sqlite", server.client_for(&account, "us-east-1"), &account).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_and_friends_round_trip_on_postgres() {
    let Some(db) = PostgresDb::fresh() else {
        return say("SKIPPED nul_and_friends_round_trip_on_postgres: CARILLON_TEST_POSTGRES_URL is not set");
    };
    let server = TestServer::builder().database(db.url()).start();
    let account = fresh_account();
    round_trips("postgres", server.client_for(&account, "us-east-1"), &account).await;
}
