//! The operations around the endpoint lifecycle through aws-sdk-chimesdkidentity: updates, lists,
//! bots, admins, retention, expiration and tags, each with its errors (docs/behaviour.md, "Errors").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use aws_sdk_chimesdkidentity::Client;
use aws_sdk_chimesdkidentity::types::*;
use carillon_testing::{TestServer, error_of, message_of, pinpoint_arn};

async fn app_instance(c: &Client, name: &str) -> String {
    c.create_app_instance().name(name).send().await.unwrap().app_instance_arn().unwrap().to_string()
}

async fn user(c: &Client, instance: &str, id: &str, name: &str) -> String {
    c.create_app_instance_user()
        .app_instance_arn(instance)
        .app_instance_user_id(id)
        .name(name)
        .send()
        .await
        .unwrap()
        .app_instance_user_arn()
        .unwrap()
        .to_string()
}

fn lex(alias: &str) -> Configuration {
    Configuration::builder()
        .lex(
            LexConfiguration::builder()
                .lex_bot_alias_arn(alias)
                .locale_id("en_US")
                .invoked_by(
                    InvokedBy::builder()
                        .standard_messages(StandardMessages::Auto)
                        .targeted_messages(TargetedMessages::All)
                        .build()
                        .unwrap(),
                )
                .welcome_intent("Welcome_Intent")
                .build()
                .unwrap(),
        )
        .build()
}

const ALIAS: &str = "arn:aws:lex:us-east-1:111122223333:bot-alias/ABCDEFGHIJ/KLMNOPQRST";

#[tokio::test]
async fn update_and_list_app_instances() {
    let server = TestServer::start();
    let (c, _) = server.client();
    let mut arns = Vec::new();
    for i in 0..5 {
        arns.push(app_instance(&c, &format!("instance {i}")).await);
    }
    let before = c.describe_app_instance().app_instance_arn(&arns[0]).send().await.unwrap().app_instance.unwrap();
    let up = c.update_app_instance().app_instance_arn(&arns[0]).name("renamed").metadata("").send().await.unwrap();
    assert_eq!(up.app_instance_arn(), Some(arns[0].as_str()));
    let after = c.describe_app_instance().app_instance_arn(&arns[0]).send().await.unwrap().app_instance.unwrap();
    assert_eq!((after.name(), after.metadata()), (Some("renamed"), Some("")));
    assert_eq!(after.created_timestamp(), before.created_timestamp());
    assert!(after.last_updated_timestamp() > before.last_updated_timestamp());

    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = c.list_app_instances().max_results(2).set_next_token(token).send().await.unwrap();
        seen.extend(page.app_instances().iter().map(|a| a.app_instance_arn().unwrap().to_string()));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, arns, "creation order, each once");
    // Another account sees none of them.
    let other = server.client_for("555555555555", "us-east-1");
    assert!(other.list_app_instances().send().await.unwrap().app_instances().is_empty());

    let err = c
        .update_app_instance()
        .app_instance_arn(format!("{}x", &arns[1][..arns[1].len() - 1]))
        .name("n")
        .metadata("m")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let err = c.list_app_instances().max_results(51).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("BadRequestException".into(), 400));
    let err = c.list_app_instances().next_token("not-a-token").send().await.unwrap_err();
    assert_eq!(error_of(&err), ("BadRequestException".into(), 400));
}

#[tokio::test]
async fn app_instance_quota_is_enforced() {
    let server = TestServer::builder().config(|c| c.quotas.app_instances_per_account = 3).start();
    let (c, _) = server.client();
    for i in 0..3 {
        app_instance(&c, &format!("{i}")).await;
    }
    let err = c.create_app_instance().name("one too many").send().await.unwrap_err();
    assert_eq!(error_of(&err), ("ResourceLimitExceededException".into(), 400));
    // The quota is per account and region.
    let west = server.client_for("444444444444", "us-west-2");
    app_instance(&west, "fine").await;
}

#[tokio::test]
async fn update_list_and_expire_users() {
    let server = TestServer::builder().config(|c| c.sweep_interval_secs = 3600).start();
    let (c, account) = server.client();
    let instance = app_instance(&c, "x").await;
    let mut users = Vec::new();
    for i in 0..4 {
        users.push(user(&c, &instance, &format!("u{i}"), "name").await);
    }
    c.update_app_instance_user().app_instance_user_arn(&users[0]).name("new name").metadata("new meta").send().await.unwrap();
    let u = c.describe_app_instance_user().app_instance_user_arn(&users[0]).send().await.unwrap().app_instance_user.unwrap();
    assert_eq!((u.name(), u.metadata()), (Some("new name"), Some("new meta")));
    assert!(u.last_updated_timestamp() > u.created_timestamp());

    let page = c.list_app_instance_users().app_instance_arn(&instance).max_results(3).send().await.unwrap();
    assert_eq!(page.app_instance_arn(), Some(instance.as_str()));
    let names: Vec<_> = page.app_instance_users().iter().map(|u| u.app_instance_user_arn().unwrap()).collect();
    assert_eq!(names, users[..3].iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(page.app_instance_users()[0].name(), Some("new name"));
    let next = page.next_token().unwrap().to_string();
    let page2 = c.list_app_instance_users().app_instance_arn(&instance).max_results(3).next_token(&next).send().await.unwrap();
    assert_eq!(page2.app_instance_users().len(), 1);
    assert_eq!(page2.next_token(), None);
    // The token belongs to this AppInstance.
    let other_instance = app_instance(&c, "y").await;
    let err = c.list_app_instance_users().app_instance_arn(&other_instance).next_token(&next).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("BadRequestException".into(), 400));

    // Expiration: set, read back, remove, and the sweep after the clock moves.
    let settings =
        ExpirationSettings::builder().expiration_days(1).expiration_criterion(ExpirationCriterion::CreatedTimestamp).build().unwrap();
    let put = c
        .put_app_instance_user_expiration_settings()
        .app_instance_user_arn(&users[1])
        .expiration_settings(settings.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.expiration_settings(), Some(&settings));
    let put = c
        .put_app_instance_user_expiration_settings()
        .app_instance_user_arn(&users[2])
        .expiration_settings(settings.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.app_instance_user_arn(), Some(users[2].as_str()));
    let removed = c.put_app_instance_user_expiration_settings().app_instance_user_arn(&users[2]).send().await.unwrap();
    assert_eq!(removed.expiration_settings(), None);
    let d = c.describe_app_instance_user().app_instance_user_arn(&users[2]).send().await.unwrap();
    assert_eq!(d.app_instance_user().unwrap().expiration_settings(), None);

    let expiring = c
        .create_app_instance_user()
        .app_instance_arn(&instance)
        .app_instance_user_id("short-lived")
        .name("n")
        .expiration_settings(settings.clone())
        .send()
        .await
        .unwrap()
        .app_instance_user_arn()
        .unwrap()
        .to_string();
    let endpoint = c
        .register_app_instance_user_endpoint()
        .app_instance_user_arn(&expiring)
        .r#type(AppInstanceUserEndpointType::Gcm)
        .resource_arn(pinpoint_arn(&account, "us-east-1"))
        .endpoint_attributes(EndpointAttributes::builder().device_token("t").build().unwrap())
        .send()
        .await
        .unwrap()
        .endpoint_id()
        .unwrap()
        .to_string();
    c.create_app_instance_admin().app_instance_arn(&instance).app_instance_admin_arn(&expiring).send().await.unwrap();
    // Until the sweep it looks and acts alive.
    control(&server, "POST", "/_carillon/expiration-sweep", "").await;
    c.describe_app_instance_user().app_instance_user_arn(&expiring).send().await.unwrap();
    // Two days later, the sweep takes it with its endpoints and admin role.
    control(&server, "PUT", "/_carillon/clock", r#"{"offset_seconds": 172800}"#).await;
    let swept = control(&server, "POST", "/_carillon/expiration-sweep", "").await;
    assert_eq!(swept["deleted"], 2, "the user with expiration settings and the short-lived one: {swept}");
    for gone in [&expiring, &users[1]] {
        let err = c.describe_app_instance_user().app_instance_user_arn(gone).send().await.unwrap_err();
        assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    }
    let err = c.describe_app_instance_user_endpoint().app_instance_user_arn(&expiring).endpoint_id(&endpoint).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    assert!(c.list_app_instance_admins().app_instance_arn(&instance).send().await.unwrap().app_instance_admins().is_empty());
    c.describe_app_instance_user().app_instance_user_arn(&users[2]).send().await.unwrap();

    let err = c.update_app_instance_user().app_instance_user_arn(&expiring).name("n").metadata("m").send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let err = c.put_app_instance_user_expiration_settings().app_instance_user_arn(&expiring).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let bad =
        ExpirationSettings::builder().expiration_days(5476).expiration_criterion(ExpirationCriterion::CreatedTimestamp).build().unwrap();
    let err =
        c.put_app_instance_user_expiration_settings().app_instance_user_arn(&users[0]).expiration_settings(bad).send().await.unwrap_err();
    assert_eq!(
        message_of(&err),
        "1 validation error detected: Value '5476' at 'expirationSettings.expirationDays' failed to satisfy constraint: Member must have value less than or equal to 5475"
    );
}

/// A control-plane request over plain HTTP; returns the JSON answer.
async fn control(server: &TestServer, method: &str, path: &str, body: &str) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.addr().to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    serde_json::from_str(out.split("\r\n\r\n").nth(1).unwrap()).unwrap()
}

#[tokio::test]
async fn bots_create_describe_update_list_delete() {
    let server = TestServer::start();
    let (c, _) = server.client();
    let instance = app_instance(&c, "bots").await;
    let bot = c
        .create_app_instance_bot()
        .app_instance_arn(&instance)
        .name("Helper")
        .metadata("m")
        .configuration(lex(ALIAS))
        .client_request_token("bot-token")
        .send()
        .await
        .unwrap()
        .app_instance_bot_arn()
        .unwrap()
        .to_string();
    assert!(bot.starts_with(&format!("{instance}/bot/")));
    let replay = c
        .create_app_instance_bot()
        .app_instance_arn(&instance)
        .name("Helper")
        .metadata("m")
        .configuration(lex(ALIAS))
        .client_request_token("bot-token")
        .send()
        .await
        .unwrap();
    assert_eq!(replay.app_instance_bot_arn(), Some(bot.as_str()));

    let d = c.describe_app_instance_bot().app_instance_bot_arn(&bot).send().await.unwrap().app_instance_bot.unwrap();
    assert_eq!((d.name(), d.metadata()), (Some("Helper"), Some("m")));
    assert_eq!(d.configuration(), Some(&lex(ALIAS)));
    assert_eq!(d.created_timestamp(), d.last_updated_timestamp());

    let alias2 = "arn:aws:lex:eu-west-2:111122223333:bot-alias/ZZZZZZZZZZ/YYYYYYYYYY";
    c.update_app_instance_bot().app_instance_bot_arn(&bot).name("Renamed").metadata("").configuration(lex(alias2)).send().await.unwrap();
    let d = c.describe_app_instance_bot().app_instance_bot_arn(&bot).send().await.unwrap().app_instance_bot.unwrap();
    assert_eq!((d.name(), d.metadata()), (Some("Renamed"), Some("")));
    assert_eq!(d.configuration().unwrap().lex().unwrap().lex_bot_alias_arn(), alias2);

    let list = c.list_app_instance_bots().app_instance_arn(&instance).send().await.unwrap();
    assert_eq!(list.app_instance_arn(), Some(instance.as_str()));
    assert_eq!(list.app_instance_bots().len(), 1);
    assert_eq!(list.app_instance_bots()[0].app_instance_bot_arn(), Some(bot.as_str()));

    let err = c
        .create_app_instance_bot()
        .app_instance_arn(&instance)
        .configuration(lex("arn:aws:lex:us-east-1:1:bot-alias/x/y"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err), ("BadRequestException".into(), 400));
    assert!(
        message_of(&err)
            .contains("'configuration.lex.lexBotAliasArn' failed to satisfy constraint: Member must satisfy regular expression pattern")
    );

    c.delete_app_instance_bot().app_instance_bot_arn(&bot).send().await.unwrap();
    let err = c.describe_app_instance_bot().app_instance_bot_arn(&bot).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let err = c.delete_app_instance_bot().app_instance_bot_arn(&bot).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let err = c.update_app_instance_bot().app_instance_bot_arn(&bot).name("n").metadata("m").send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
}

#[tokio::test]
async fn admins_are_promoted_users_and_bots_of_the_same_app_instance() {
    let server = TestServer::start();
    let (c, _) = server.client();
    let instance = app_instance(&c, "admins").await;
    let other_instance = app_instance(&c, "other").await;
    let alice = user(&c, &instance, "alice", "Alice").await;
    let outsider = user(&c, &other_instance, "olga", "Olga").await;
    let bot = c
        .create_app_instance_bot()
        .app_instance_arn(&instance)
        .name("Bot")
        .configuration(lex(ALIAS))
        .send()
        .await
        .unwrap()
        .app_instance_bot_arn()
        .unwrap()
        .to_string();

    let created = c.create_app_instance_admin().app_instance_arn(&instance).app_instance_admin_arn(&alice).send().await.unwrap();
    assert_eq!(created.app_instance_arn(), Some(instance.as_str()));
    assert_eq!(created.app_instance_admin().unwrap().arn(), Some(alice.as_str()));
    assert_eq!(created.app_instance_admin().unwrap().name(), Some("Alice"));
    c.create_app_instance_admin().app_instance_arn(&instance).app_instance_admin_arn(&bot).send().await.unwrap();

    let err = c.create_app_instance_admin().app_instance_arn(&instance).app_instance_admin_arn(&alice).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("ConflictException".into(), 409));
    let err = c.create_app_instance_admin().app_instance_arn(&instance).app_instance_admin_arn(&outsider).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("BadRequestException".into(), 400));
    let err = c
        .create_app_instance_admin()
        .app_instance_arn(&instance)
        .app_instance_admin_arn(format!("{instance}/user/ghost"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));

    let d = c
        .describe_app_instance_admin()
        .app_instance_arn(&instance)
        .app_instance_admin_arn(&alice)
        .send()
        .await
        .unwrap()
        .app_instance_admin
        .unwrap();
    assert_eq!(d.admin().unwrap().arn(), Some(alice.as_str()));
    assert_eq!(d.admin().unwrap().name(), Some("Alice"));
    assert_eq!(d.app_instance_arn(), Some(instance.as_str()));
    assert!(d.created_timestamp().is_some());

    let list = c.list_app_instance_admins().app_instance_arn(&instance).max_results(1).send().await.unwrap();
    assert_eq!(list.app_instance_admins()[0].admin().unwrap().arn(), Some(alice.as_str()));
    let list2 = c
        .list_app_instance_admins()
        .app_instance_arn(&instance)
        .max_results(1)
        .next_token(list.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(list2.app_instance_admins()[0].admin().unwrap().name(), Some("Bot"));
    assert_eq!(list2.next_token(), None);

    // Demoting keeps the user.
    c.delete_app_instance_admin().app_instance_arn(&instance).app_instance_admin_arn(&alice).send().await.unwrap();
    let err = c.describe_app_instance_admin().app_instance_arn(&instance).app_instance_admin_arn(&alice).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let err = c.delete_app_instance_admin().app_instance_arn(&instance).app_instance_admin_arn(&alice).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    c.describe_app_instance_user().app_instance_user_arn(&alice).send().await.unwrap();
    // Deleting the bot takes its admin role.
    c.delete_app_instance_bot().app_instance_bot_arn(&bot).send().await.unwrap();
    assert!(c.list_app_instance_admins().app_instance_arn(&instance).send().await.unwrap().app_instance_admins().is_empty());
}

#[tokio::test]
async fn retention_settings() {
    let server = TestServer::start();
    let (c, _) = server.client();
    let instance = app_instance(&c, "retention").await;
    let g = c.get_app_instance_retention_settings().app_instance_arn(&instance).send().await.unwrap();
    assert_eq!(g.app_instance_retention_settings(), Some(&AppInstanceRetentionSettings::builder().build()));
    assert_eq!(g.initiate_deletion_timestamp(), None);

    let settings = AppInstanceRetentionSettings::builder()
        .channel_retention_settings(ChannelRetentionSettings::builder().retention_days(7).build())
        .build();
    let before = std::time::SystemTime::now();
    let p = c
        .put_app_instance_retention_settings()
        .app_instance_arn(&instance)
        .app_instance_retention_settings(settings.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(p.app_instance_retention_settings(), Some(&settings));
    let at = p.initiate_deletion_timestamp().unwrap().secs();
    let expected = before.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 + 30 * 86400;
    assert!((at - expected).abs() <= 5, "{at} vs {expected}");
    let g = c.get_app_instance_retention_settings().app_instance_arn(&instance).send().await.unwrap();
    assert_eq!(g.app_instance_retention_settings(), Some(&settings));
    assert_eq!(g.initiate_deletion_timestamp(), p.initiate_deletion_timestamp());

    let off = AppInstanceRetentionSettings::builder().channel_retention_settings(ChannelRetentionSettings::builder().build()).build();
    c.put_app_instance_retention_settings().app_instance_arn(&instance).app_instance_retention_settings(off.clone()).send().await.unwrap();
    let g = c.get_app_instance_retention_settings().app_instance_arn(&instance).send().await.unwrap();
    assert_eq!(g.app_instance_retention_settings(), Some(&off));

    let bad = AppInstanceRetentionSettings::builder()
        .channel_retention_settings(ChannelRetentionSettings::builder().retention_days(0).build())
        .build();
    let err =
        c.put_app_instance_retention_settings().app_instance_arn(&instance).app_instance_retention_settings(bad).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("BadRequestException".into(), 400));
    c.delete_app_instance().app_instance_arn(&instance).send().await.unwrap();
    let err = c.get_app_instance_retention_settings().app_instance_arn(&instance).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
}

#[tokio::test]
async fn tags_on_app_instances_users_and_bots() {
    let server = TestServer::start();
    let (c, _) = server.client();
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
    let instance = c
        .create_app_instance()
        .name("tags")
        .tags(tag("b", "1"))
        .tags(tag("a", "2"))
        .send()
        .await
        .unwrap()
        .app_instance_arn()
        .unwrap()
        .to_string();
    let listed = c.list_tags_for_resource().resource_arn(&instance).send().await.unwrap();
    assert_eq!(listed.tags(), &[tag("b", "1"), tag("a", "2")]);

    c.tag_resource().resource_arn(&instance).tags(tag("c", "3")).tags(tag("b", "replaced")).send().await.unwrap();
    let listed = c.list_tags_for_resource().resource_arn(&instance).send().await.unwrap();
    assert_eq!(listed.tags(), &[tag("b", "replaced"), tag("a", "2"), tag("c", "3")], "first-set order; a replaced value keeps its place");
    c.untag_resource().resource_arn(&instance).tag_keys("a").tag_keys("not-there").send().await.unwrap();
    let listed = c.list_tags_for_resource().resource_arn(&instance).send().await.unwrap();
    assert_eq!(listed.tags(), &[tag("b", "replaced"), tag("c", "3")]);

    let err = c.tag_resource().resource_arn(&instance).tags(tag("aws:reserved", "x")).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("BadRequestException".into(), 400));
    let err = c.tag_resource().resource_arn(&instance).tags(tag("d", "1")).tags(tag("d", "2")).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("BadRequestException".into(), 400));
    let mut req = c.tag_resource().resource_arn(&instance);
    for i in 0..49 {
        req = req.tags(tag(&format!("k{i}"), "v"));
    }
    let err = req.send().await.unwrap_err();
    assert_eq!(error_of(&err), ("ResourceLimitExceededException".into(), 400));
    assert_eq!(c.list_tags_for_resource().resource_arn(&instance).send().await.unwrap().tags().len(), 2);

    let u = c
        .create_app_instance_user()
        .app_instance_arn(&instance)
        .app_instance_user_id("tagged:user")
        .name("n")
        .tags(tag("k", "v"))
        .send()
        .await
        .unwrap();
    let u = u.app_instance_user_arn().unwrap().to_string();
    assert_eq!(c.list_tags_for_resource().resource_arn(&u).send().await.unwrap().tags(), &[tag("k", "v")]);
    let bot = c
        .create_app_instance_bot()
        .app_instance_arn(&instance)
        .configuration(lex(ALIAS))
        .send()
        .await
        .unwrap()
        .app_instance_bot_arn()
        .unwrap()
        .to_string();
    c.tag_resource().resource_arn(&bot).tags(tag("bot", "yes")).send().await.unwrap();
    assert_eq!(c.list_tags_for_resource().resource_arn(&bot).send().await.unwrap().tags(), &[tag("bot", "yes")]);

    // Deleting a user takes its tags: a user created again under the same id has none.
    c.delete_app_instance_user().app_instance_user_arn(&u).send().await.unwrap();
    let err = c.list_tags_for_resource().resource_arn(&u).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    c.create_app_instance_user().app_instance_arn(&instance).app_instance_user_id("tagged:user").name("n").send().await.unwrap();
    assert!(c.list_tags_for_resource().resource_arn(&u).send().await.unwrap().tags().is_empty());

    let other = server.client_for("777777777777", "us-east-1");
    let err = other.tag_resource().resource_arn(&instance).tags(tag("x", "y")).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("ForbiddenException".into(), 403));
    let err = c.untag_resource().resource_arn(format!("{instance}/user/nobody")).tag_keys("k").send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
}
