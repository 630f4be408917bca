//! Several Carillon nodes on one PostgreSQL database, driven concurrently: every rule holds across
//! them (docs/behaviour.md, "Durability and concurrency"), and what one node acknowledged the
//! others see at once. The nodes run in this process, each on a runtime of its own. Needs
//! CARILLON_TEST_POSTGRES_URL; without it each test says it was skipped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use aws_sdk_chimesdkidentity::Client;
use aws_sdk_chimesdkidentity::types::{AllowMessages, AppInstanceUserEndpointType, EndpointAttributes};
use carillon_testing::{PostgresDb, TestServer, error_of, fresh_account, pinpoint_arn, say};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

const NODES: usize = 3;

/// Three nodes on a fresh database, and one client per node for the same account.
fn cluster(test: &str) -> Option<(PostgresDb, Vec<TestServer>, Vec<Client>, String)> {
    let Some(db) = PostgresDb::fresh() else {
        say(&format!("SKIPPED multinode test {test}: CARILLON_TEST_POSTGRES_URL is not set"));
        return None;
    };
    let nodes: Vec<TestServer> = (0..NODES).map(|_| TestServer::builder().database(db.url()).start()).collect();
    let account = fresh_account();
    let clients = nodes.iter().map(|n| n.client_for(&account, "us-east-1")).collect();
    say(&format!("multinode test on postgres: {test}"));
    Some((db, nodes, clients, account))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_create_on_every_node_makes_one_resource() {
    let Some((_db, _nodes, clients, _)) = cluster("the_same_create_on_every_node_makes_one_resource") else { return };
    for round in 0..5 {
        let mut tasks = Vec::new();
        for c in &clients {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                c.create_app_instance()
                    .name("raced")
                    .client_request_token(format!("same-token-{round}"))
                    .send()
                    .await
                    .map(|o| o.app_instance_arn.unwrap())
            }));
        }
        let mut arns = HashSet::new();
        for t in tasks {
            arns.insert(t.await.unwrap().expect("every node answers 201"));
        }
        assert_eq!(arns.len(), 1, "one resource, the same answer everywhere");
    }
    let listed = clients[1].list_app_instances().send().await.unwrap();
    assert_eq!(listed.app_instances().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_user_id_raced_on_every_node_is_created_once() {
    let Some((_db, _nodes, clients, _)) = cluster("one_user_id_raced_on_every_node_is_created_once") else { return };
    let instance = clients[0].create_app_instance().name("x").send().await.unwrap().app_instance_arn.unwrap();
    for round in 0..5 {
        let mut tasks = Vec::new();
        for (i, c) in clients.iter().enumerate() {
            for j in 0..3 {
                let (c, instance) = (c.clone(), instance.clone());
                tasks.push(tokio::spawn(async move {
                    c.create_app_instance_user()
                        .app_instance_arn(instance)
                        .app_instance_user_id(format!("raced:{round}@user"))
                        .name(format!("node {i} try {j}"))
                        .send()
                        .await
                }));
            }
        }
        let (mut created, mut conflicts) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => created += 1,
                Err(e) => {
                    assert_eq!(error_of(&e), ("ConflictException".into(), 409));
                    conflicts += 1;
                }
            }
        }
        assert_eq!((created, conflicts), (1, NODES * 3 - 1), "exactly one 201, the others 409");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_racing_registers_end_with_ten_endpoints() {
    let Some((_db, _nodes, clients, account)) = cluster("thirty_racing_registers_end_with_ten_endpoints") else { return };
    let instance = clients[0].create_app_instance().name("x").send().await.unwrap().app_instance_arn.unwrap();
    let user = clients[0].create_app_instance_user().app_instance_arn(&instance).app_instance_user_id("u").name("u").send().await.unwrap();
    let user = user.app_instance_user_arn.unwrap();
    let mut tasks = Vec::new();
    for i in 0..30 {
        let (c, user, account) = (clients[i % NODES].clone(), user.clone(), account.clone());
        tasks.push(tokio::spawn(async move {
            c.register_app_instance_user_endpoint()
                .app_instance_user_arn(user)
                .r#type(AppInstanceUserEndpointType::Gcm)
                .resource_arn(pinpoint_arn(&account, "us-east-1"))
                .endpoint_attributes(EndpointAttributes::builder().device_token(format!("device-{i}")).build().unwrap())
                .send()
                .await
        }));
    }
    let (mut ok, mut over) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => {
                assert_eq!(error_of(&e), ("ResourceLimitExceededException".into(), 400));
                over += 1;
            }
        }
    }
    assert_eq!((ok, over), (10, 20));
    for c in &clients {
        let l = c.list_app_instance_user_endpoints().app_instance_user_arn(&user).send().await.unwrap();
        assert_eq!(l.app_instance_user_endpoints().len(), 10);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_updates_leave_a_value_one_of_them_wrote() {
    let Some((_db, _nodes, clients, account)) = cluster("racing_updates_leave_a_value_one_of_them_wrote") else { return };
    let instance = clients[0].create_app_instance().name("x").send().await.unwrap().app_instance_arn.unwrap();
    let user = clients[0].create_app_instance_user().app_instance_arn(&instance).app_instance_user_id("u").name("u").send().await.unwrap();
    let user = user.app_instance_user_arn.unwrap();
    let id = clients[0]
        .register_app_instance_user_endpoint()
        .app_instance_user_arn(&user)
        .r#type(AppInstanceUserEndpointType::Apns)
        .resource_arn(pinpoint_arn(&account, "us-east-1"))
        .endpoint_attributes(EndpointAttributes::builder().device_token("d").build().unwrap())
        .send()
        .await
        .unwrap()
        .endpoint_id
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let (c, user, id) = (clients[i % NODES].clone(), user.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            let allow = if i % 2 == 0 { AllowMessages::All } else { AllowMessages::None };
            c.update_app_instance_user_endpoint()
                .app_instance_user_arn(user)
                .endpoint_id(id)
                .name(format!("writer-{i}"))
                .allow_messages(allow)
                .send()
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().expect("every update answers 200");
    }
    for c in &clients {
        let e = c.describe_app_instance_user_endpoint().app_instance_user_arn(&user).endpoint_id(&id).send().await.unwrap();
        let e = e.app_instance_user_endpoint.unwrap();
        let name = e.name().unwrap().to_string();
        let i: usize = name.strip_prefix("writer-").and_then(|n| n.parse().ok()).expect("a name one writer wrote");
        assert!(i < 100);
        let expected = if i.is_multiple_of(2) { AllowMessages::All } else { AllowMessages::None };
        assert_eq!(e.allow_messages(), Some(&expected), "name and AllowMessages come from the same writer");
    }

    // Order: one sequential writer of Name and one of AllowMessages, through the nodes in turn,
    // while a poller reads on every node. Neither writer undoes the other's acknowledged writes,
    // and no read sees a Name older than one acknowledged before it began.
    let acked = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let names = {
        let (clients, user, id, acked) = (clients.clone(), user.clone(), id.clone(), acked.clone());
        tokio::spawn(async move {
            for k in 1..=50u64 {
                let c = &clients[k as usize % NODES];
                c.update_app_instance_user_endpoint()
                    .app_instance_user_arn(&user)
                    .endpoint_id(&id)
                    .name(format!("seq-{k}"))
                    .send()
                    .await
                    .unwrap();
                acked.store(k, Ordering::SeqCst);
            }
        })
    };
    let allows = {
        let (clients, user, id) = (clients.clone(), user.clone(), id.clone());
        tokio::spawn(async move {
            for k in 1..=50usize {
                let allow = if k.is_multiple_of(2) { AllowMessages::All } else { AllowMessages::None };
                let c = &clients[(k + 1) % NODES];
                c.update_app_instance_user_endpoint()
                    .app_instance_user_arn(&user)
                    .endpoint_id(&id)
                    .allow_messages(allow)
                    .send()
                    .await
                    .unwrap();
            }
        })
    };
    let poller = {
        let (clients, user, id, acked, done) = (clients.clone(), user.clone(), id.clone(), acked.clone(), done.clone());
        tokio::spawn(async move {
            let mut backwards = Vec::new();
            let mut i = 0;
            while !done.load(Ordering::SeqCst) {
                let floor = acked.load(Ordering::SeqCst);
                let e = clients[i % NODES].describe_app_instance_user_endpoint().app_instance_user_arn(&user).endpoint_id(&id).send().await;
                let name = e.unwrap().app_instance_user_endpoint.unwrap().name.unwrap();
                let seen = name.strip_prefix("seq-").and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
                if seen < floor {
                    backwards.push(format!("saw {name} after seq-{floor} was acknowledged"));
                }
                i += 1;
            }
            backwards
        })
    };
    names.await.unwrap();
    allows.await.unwrap();
    done.store(true, Ordering::SeqCst);
    let backwards = poller.await.unwrap();
    assert!(backwards.is_empty(), "Name went backwards: {backwards:?}");
    for c in &clients {
        let e = c.describe_app_instance_user_endpoint().app_instance_user_arn(&user).endpoint_id(&id).send().await.unwrap();
        let e = e.app_instance_user_endpoint.unwrap();
        assert_eq!((e.name(), e.allow_messages()), (Some("seq-50"), Some(&AllowMessages::All)), "each member keeps its last write");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_on_one_node_is_read_on_every_other_at_once() {
    let Some((_db, _nodes, clients, account)) = cluster("a_write_on_one_node_is_read_on_every_other_at_once") else { return };
    let instance = clients[0].create_app_instance().name("x").send().await.unwrap().app_instance_arn.unwrap();
    let user = clients[1].create_app_instance_user().app_instance_arn(&instance).app_instance_user_id("u").name("u").send().await.unwrap();
    let user = user.app_instance_user_arn.unwrap();
    for round in 0..30 {
        let writer = &clients[round % NODES];
        let reader = &clients[(round + 1) % NODES];
        let id = writer
            .register_app_instance_user_endpoint()
            .app_instance_user_arn(&user)
            .r#type(AppInstanceUserEndpointType::Gcm)
            .resource_arn(pinpoint_arn(&account, "us-east-1"))
            .endpoint_attributes(EndpointAttributes::builder().device_token(format!("d{round}")).build().unwrap())
            .send()
            .await
            .unwrap()
            .endpoint_id
            .unwrap();
        let seen = reader.describe_app_instance_user_endpoint().app_instance_user_arn(&user).endpoint_id(&id).send().await.unwrap();
        assert_eq!(seen.app_instance_user_endpoint().unwrap().endpoint_id(), Some(id.as_str()));
        writer
            .update_app_instance_user_endpoint()
            .app_instance_user_arn(&user)
            .endpoint_id(&id)
            .name(format!("r{round}"))
            .send()
            .await
            .unwrap();
        let seen = clients[(round + 2) % NODES]
            .describe_app_instance_user_endpoint()
            .app_instance_user_arn(&user)
            .endpoint_id(&id)
            .send()
            .await
            .unwrap();
        assert_eq!(seen.app_instance_user_endpoint().unwrap().name(), Some(format!("r{round}").as_str()));
        writer.deregister_app_instance_user_endpoint().app_instance_user_arn(&user).endpoint_id(&id).send().await.unwrap();
        let err = reader.describe_app_instance_user_endpoint().app_instance_user_arn(&user).endpoint_id(&id).send().await.unwrap_err();
        assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    }
}

/// Three nodes with a small per-channel membership quota, a Messaging client per node, an
/// AppInstance with `users` users, and a channel its first user created.
async fn messaging_cluster(
    test: &str,
    quota: u64,
    users: usize,
) -> Option<(PostgresDb, Vec<TestServer>, Vec<aws_sdk_chimesdkmessaging::Client>, Vec<String>, String)> {
    let Some(db) = PostgresDb::fresh() else {
        say(&format!("SKIPPED multinode test {test}: CARILLON_TEST_POSTGRES_URL is not set"));
        return None;
    };
    let nodes: Vec<TestServer> =
        (0..NODES).map(|_| TestServer::builder().database(db.url()).config(|c| c.quotas.memberships_per_channel = quota).start()).collect();
    let account = fresh_account();
    let identity = nodes[0].client_for(&account, "us-east-1");
    let instance = identity.create_app_instance().name("chat").send().await.unwrap().app_instance_arn.unwrap();
    let mut arns = Vec::new();
    for i in 0..users {
        let u = identity.create_app_instance_user().app_instance_arn(&instance).app_instance_user_id(format!("u{i}")).name("u").send();
        arns.push(u.await.unwrap().app_instance_user_arn.unwrap());
    }
    let chats: Vec<_> = nodes.iter().map(|n| n.messaging_client_for(&account, "us-east-1")).collect();
    let channel = chats[0].create_channel().app_instance_arn(&instance).name("raced").chime_bearer(&arns[0]).send().await.unwrap();
    say(&format!("multinode test on postgres: {test}"));
    Some((db, nodes, chats, arns, channel.channel_arn.unwrap()))
}

/// Adds `user` to `channel` through `chat`: `Ok` or the error's code.
async fn join(chat: aws_sdk_chimesdkmessaging::Client, channel: String, user: String, bearer: String) -> Result<(), String> {
    use aws_sdk_chimesdkmessaging::types::ChannelMembershipType;
    let out = chat
        .create_channel_membership()
        .channel_arn(&channel)
        .member_arn(&user)
        .r#type(ChannelMembershipType::Default)
        .chime_bearer(&bearer);
    out.send().await.map(|_| ()).map_err(|e| error_of(&e).0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memberships_raced_on_every_node_keep_uniqueness_and_the_channel_quota() {
    let test = "memberships_raced_on_every_node_keep_uniqueness_and_the_channel_quota";
    // The creator is the first member; the quota leaves room for five more.
    let Some((_db, _nodes, chats, users, channel)) = messaging_cluster(test, 6, 8).await else { return };
    // Each of four users is added by every node at once: one add wins, the others are 409.
    for user in &users[1..5] {
        let tasks: Vec<_> = chats.iter().map(|c| tokio::spawn(join(c.clone(), channel.clone(), user.clone(), users[0].clone()))).collect();
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.push(t.await.unwrap());
        }
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
        assert!(outcomes.iter().all(|o| o.as_ref().err().is_none_or(|e| e == "ConflictException")), "{outcomes:?}");
    }
    // One place is left; three other users race for it on three nodes: one joins.
    let tasks: Vec<_> =
        chats.iter().zip(&users[5..8]).map(|(c, u)| tokio::spawn(join(c.clone(), channel.clone(), u.clone(), users[0].clone()))).collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| o.as_ref().err().is_none_or(|e| e == "ResourceLimitExceededException")), "{outcomes:?}");
    for chat in &chats {
        let listed = chat.list_channel_memberships().channel_arn(&channel).chime_bearer(&users[0]).send().await.unwrap();
        let members: HashSet<&str> = listed.channel_memberships().iter().filter_map(|m| m.member().and_then(|m| m.arn())).collect();
        assert_eq!(members.len(), 6, "every node sees the same six members");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sends_on_every_node_are_listed_once_in_one_order_everywhere() {
    use aws_sdk_chimesdkmessaging::types::{ChannelMessagePersistenceType, ChannelMessageType, SortOrder};
    let test = "sends_on_every_node_are_listed_once_in_one_order_everywhere";
    let Some((_db, _nodes, chats, users, channel)) = messaging_cluster(test, 100, 1).await else { return };
    // Three rounds of five sends on each node at once. A send the channel's lock kept waiting past
    // the database's lock timeout answers 503 and writes nothing; every 201 must be listed once.
    let mut sent = HashSet::new();
    for round in 0..3 {
        let mut tasks = Vec::new();
        for (n, chat) in chats.iter().enumerate() {
            for i in 0..5 {
                let (chat, channel, bearer) = (chat.clone(), channel.clone(), users[0].clone());
                tasks.push(tokio::spawn(async move {
                    let sent = chat
                        .send_channel_message()
                        .channel_arn(&channel)
                        .content(format!("round {round} node {n} message {i}"))
                        .r#type(ChannelMessageType::Standard)
                        .persistence(ChannelMessagePersistenceType::Persistent)
                        .client_request_token(format!("r{round}-n{n}-m{i}"))
                        .chime_bearer(&bearer)
                        .send()
                        .await;
                    sent.map(|o| o.message_id.unwrap()).map_err(|e| error_of(&e).0)
                }));
            }
        }
        let mut acknowledged = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(id) => {
                    assert!(sent.insert(id), "every send has its own id");
                    acknowledged += 1;
                }
                Err(code) => assert_eq!(code, "ServiceUnavailableException"),
            }
        }
        assert!(acknowledged > 0, "round {round}: no send was acknowledged");
    }
    let mut orders = Vec::new();
    for chat in &chats {
        for order in [SortOrder::Ascending, SortOrder::Descending] {
            let mut ids = Vec::new();
            let mut token = None;
            loop {
                let page = chat
                    .list_channel_messages()
                    .channel_arn(&channel)
                    .sort_order(order.clone())
                    .max_results(7)
                    .set_next_token(token)
                    .chime_bearer(&users[0])
                    .send()
                    .await
                    .unwrap();
                ids.extend(page.channel_messages().iter().map(|m| m.message_id().unwrap().to_string()));
                token = page.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            if order == SortOrder::Descending {
                ids.reverse();
            }
            orders.push(ids);
        }
    }
    assert_eq!(orders[0].len(), sent.len(), "each acknowledged send, once");
    assert_eq!(orders[0].iter().collect::<HashSet<_>>(), sent.iter().collect::<HashSet<_>>());
    assert!(orders.iter().all(|o| o == &orders[0]), "one order on every node, and descending is its reverse");
}
