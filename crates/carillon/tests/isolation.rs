//! Isolation by (account, region): two accounts by two regions. For every operation, the three
//! other callers never see, change, list, tag or promote what the first one created, and what it
//! created is unchanged afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use aws_sdk_chimesdkidentity::Client;
use aws_sdk_chimesdkidentity::types::*;
use carillon_testing::{TestServer, error_of, fresh_account, pinpoint_arn};

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

macro_rules! forbidden {
    ($label:expr, $call:expr) => {{
        let err = $call.send().await.expect_err($label);
        assert_eq!(error_of(&err), ("ForbiddenException".to_string(), 403), "{}", $label);
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
    let owned = create_everything(&owner, &a, "us-east-1").await;
    let before = snapshot(&owner, &owned).await;
    for (account, region) in [(&a, "eu-west-1"), (&b, "us-east-1"), (&b, "eu-west-1")] {
        let stranger = server.client_for(account, region);
        stranger_tries_everything(&stranger, account, region, &owned).await;
        assert!(stranger.list_app_instances().send().await.unwrap().app_instances().is_empty());
    }
    assert_eq!(snapshot(&owner, &owned).await, before, "nothing the owner created changed");
}
