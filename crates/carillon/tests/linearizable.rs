//! Linearizability of every mutable resource (docs/behaviour.md, "Durability and concurrency"):
//! once a write is acknowledged, every request that starts later sees it or a later write, and an
//! update changes only the members it names, so concurrent writers of different members never
//! undo each other.
//!
//! Each field has one sequential writer that writes the values 1, 2, 3... in order, while the
//! writers of the resource's other fields run at the same time. Readers note, before each
//! request, the last value acknowledged for each field they will read and, after it, the last one
//! sent: what they see must lie in between. At the end every field holds its last acknowledged
//! value. Runs on SQLite, on PostgreSQL, and on three nodes sharing one PostgreSQL database
//! (those two need CARILLON_TEST_POSTGRES_URL; without it they say they were skipped).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use aws_sdk_chimesdkidentity::Client;
use aws_sdk_chimesdkidentity::types::{
    AllowMessages, AppInstanceRetentionSettings, AppInstanceUserEndpointType, ChannelRetentionSettings, Configuration, EndpointAttributes,
    ExpirationCriterion, ExpirationSettings, LexConfiguration,
};
use carillon_api::shapes::{EndpointStatus, EndpointStatusReason};
use carillon_service::Service;
use carillon_testing::{PostgresDb, TestServer, fresh_account, pinpoint_arn, say};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Writes per sequential writer.
const WRITES: u64 = 60;
/// Concurrent readers.
const READERS: usize = 6;
/// Independent copies of the resources, written at the same time.
const SETS: usize = 2;

/// One field's sequential writer: the last value it sent and the last one acknowledged.
#[derive(Default)]
struct Field {
    started: AtomicU64,
    acked: AtomicU64,
}

/// What a reader saw of one field.
enum Seen {
    /// The value itself.
    Exact(u64),
    /// The value modulo `m` (fields with few states: AllowMessages, the endpoint's state).
    Mod(u64, u64),
}

/// The fields of one set of resources, each with its own writer.
#[derive(Default)]
struct Fields {
    endpoint_name: Field,
    endpoint_allow: Field,
    endpoint_state: Field,
    user_name: Field,
    user_expiration: Field,
    instance_name: Field,
    instance_retention: Field,
    bot_configuration: Field,
    /// Not checked for order (two writers write the bot's Name), only for coming from one write.
    bot_name: Field,
}

struct Set {
    instance: String,
    user: String,
    endpoint: String,
    bot: String,
    fields: Fields,
}

/// Everything the writers and readers share.
struct Run {
    clients: Vec<Client>,
    services: Vec<Service>,
    sets: Vec<Set>,
    regressions: Mutex<Vec<String>>,
    failures: Mutex<Vec<String>>,
    reads: AtomicU64,
    writing: AtomicBool,
}

impl Run {
    fn client(&self, i: u64) -> &Client {
        &self.clients[i as usize % self.clients.len()]
    }

    fn fail(&self, what: String) {
        self.failures.lock().unwrap().push(what);
    }

    /// Checks that `seen` lies between the value acknowledged before the read (`floor`) and the
    /// last one sent after it (`ceil`).
    fn check(&self, what: &str, floor: u64, seen: Seen, ceil: u64) {
        let ok = match seen {
            Seen::Exact(v) => floor <= v && v <= ceil,
            Seen::Mod(r, m) => (floor..=ceil).any(|j| j % m == r),
        };
        if !ok {
            let seen = match seen {
                Seen::Exact(v) => format!("{v}"),
                Seen::Mod(r, m) => format!("{r} (mod {m})"),
            };
            self.regressions.lock().unwrap().push(format!("{what}: saw {seen}, but {floor} was acknowledged before the read began"));
        }
    }
}

fn number(text: &str, prefix: &str) -> u64 {
    text.strip_prefix(prefix).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{text:?} is no value a writer wrote"))
}

fn allow_of(k: u64) -> AllowMessages {
    if k.is_multiple_of(2) { AllowMessages::All } else { AllowMessages::None }
}

fn state_of(k: u64) -> (EndpointStatus, Option<EndpointStatusReason>) {
    match k % 3 {
        0 => (EndpointStatus::Active, None),
        1 => (EndpointStatus::Inactive, Some(EndpointStatusReason::InvalidDeviceToken)),
        _ => (EndpointStatus::Inactive, Some(EndpointStatusReason::InvalidPinpointArn)),
    }
}

fn lex(k: u64) -> Configuration {
    let lex = LexConfiguration::builder()
        .lex_bot_alias_arn("arn:aws:lex:us-east-1:111122223333:bot-alias/ABCDEFGHIJ/KLMNOPQRST")
        .locale_id(format!("l{k}"))
        .build()
        .unwrap();
    Configuration::builder().lex(lex).build()
}

async fn make_set(c: &Client, account: &str) -> Set {
    let instance = c.create_app_instance().name("i0").metadata("i0").send().await.unwrap().app_instance_arn.unwrap();
    let user = c.create_app_instance_user().app_instance_arn(&instance).app_instance_user_id("u").name("u0").metadata("u0").send().await;
    let user = user.unwrap().app_instance_user_arn.unwrap();
    let endpoint = c
        .register_app_instance_user_endpoint()
        .app_instance_user_arn(&user)
        .name("n0")
        .r#type(AppInstanceUserEndpointType::Apns)
        .resource_arn(pinpoint_arn(account, "us-east-1"))
        .endpoint_attributes(EndpointAttributes::builder().device_token("d").build().unwrap())
        .send()
        .await
        .unwrap()
        .endpoint_id
        .unwrap();
    let bot = c.create_app_instance_bot().app_instance_arn(&instance).name("b0").metadata("b0").configuration(lex(0)).send().await;
    let bot = bot.unwrap().app_instance_bot_arn.unwrap();
    Set { instance, user, endpoint, bot, fields: Fields::default() }
}

/// The writers: one task per field and set, each writing 1..=WRITES in order, through the nodes
/// in turn.
fn spawn_writers(run: &Arc<Run>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for s in 0..run.sets.len() {
        for writer in 0..9 {
            let run = run.clone();
            tasks.push(tokio::spawn(async move {
                let set = &run.sets[s];
                let f = &set.fields;
                for k in 1..=WRITES {
                    let node = k + writer;
                    let c = run.client(node);
                    let (field, out): (&Field, Result<(), String>) = match writer {
                        0 => {
                            f.endpoint_name.started.store(k, Ordering::SeqCst);
                            let r = c
                                .update_app_instance_user_endpoint()
                                .app_instance_user_arn(&set.user)
                                .endpoint_id(&set.endpoint)
                                .name(format!("n{k}"))
                                .send()
                                .await;
                            (&f.endpoint_name, r.map(drop).map_err(|e| format!("{e:?}")))
                        }
                        1 => {
                            f.endpoint_allow.started.store(k, Ordering::SeqCst);
                            let r = c
                                .update_app_instance_user_endpoint()
                                .app_instance_user_arn(&set.user)
                                .endpoint_id(&set.endpoint)
                                .allow_messages(allow_of(k))
                                .send()
                                .await;
                            (&f.endpoint_allow, r.map(drop).map_err(|e| format!("{e:?}")))
                        }
                        2 => {
                            f.endpoint_state.started.store(k, Ordering::SeqCst);
                            let svc = &run.services[node as usize % run.services.len()];
                            let (status, reason) = state_of(k);
                            let r = svc.set_endpoint_state(&set.user, &set.endpoint, status, reason).await;
                            (&f.endpoint_state, r.map_err(|e| format!("{e:?}")))
                        }
                        3 => {
                            f.user_name.started.store(k, Ordering::SeqCst);
                            let r = c
                                .update_app_instance_user()
                                .app_instance_user_arn(&set.user)
                                .name(format!("u{k}"))
                                .metadata(format!("u{k}"))
                                .send()
                                .await;
                            (&f.user_name, r.map(drop).map_err(|e| format!("{e:?}")))
                        }
                        4 => {
                            f.user_expiration.started.store(k, Ordering::SeqCst);
                            let settings = ExpirationSettings::builder()
                                .expiration_days(k as i32)
                                .expiration_criterion(ExpirationCriterion::CreatedTimestamp)
                                .build()
                                .unwrap();
                            let r = c
                                .put_app_instance_user_expiration_settings()
                                .app_instance_user_arn(&set.user)
                                .expiration_settings(settings)
                                .send()
                                .await;
                            (&f.user_expiration, r.map(drop).map_err(|e| format!("{e:?}")))
                        }
                        5 => {
                            f.instance_name.started.store(k, Ordering::SeqCst);
                            let r = c
                                .update_app_instance()
                                .app_instance_arn(&set.instance)
                                .name(format!("i{k}"))
                                .metadata(format!("i{k}"))
                                .send()
                                .await;
                            (&f.instance_name, r.map(drop).map_err(|e| format!("{e:?}")))
                        }
                        6 => {
                            f.instance_retention.started.store(k, Ordering::SeqCst);
                            let settings = AppInstanceRetentionSettings::builder()
                                .channel_retention_settings(ChannelRetentionSettings::builder().retention_days(k as i32).build())
                                .build();
                            let r = c
                                .put_app_instance_retention_settings()
                                .app_instance_arn(&set.instance)
                                .app_instance_retention_settings(settings)
                                .send()
                                .await;
                            (&f.instance_retention, r.map(drop).map_err(|e| format!("{e:?}")))
                        }
                        7 => {
                            // The configuration's writer must name Name and Metadata too (the model
                            // requires them); the bot's other writer (8) names only those.
                            f.bot_configuration.started.store(k, Ordering::SeqCst);
                            let r = c
                                .update_app_instance_bot()
                                .app_instance_bot_arn(&set.bot)
                                .name(format!("a{k}"))
                                .metadata(format!("a{k}"))
                                .configuration(lex(k))
                                .send()
                                .await;
                            (&f.bot_configuration, r.map(drop).map_err(|e| format!("{e:?}")))
                        }
                        _ => {
                            f.bot_name.started.store(k, Ordering::SeqCst);
                            let r = c
                                .update_app_instance_bot()
                                .app_instance_bot_arn(&set.bot)
                                .name(format!("b{k}"))
                                .metadata(format!("b{k}"))
                                .send()
                                .await;
                            (&f.bot_name, r.map(drop).map_err(|e| format!("{e:?}")))
                        }
                    };
                    match out {
                        Ok(()) => field.acked.store(k, Ordering::SeqCst),
                        Err(e) => run.fail(format!("writer {writer} value {k}: {e}")),
                    }
                }
            }));
        }
    }
    tasks
}

/// One read of one resource, checked against the writers' progress.
async fn read_once(run: &Run, set: &Set, what: u64, node: u64) {
    let f = &set.fields;
    let c = run.client(node);
    let floor = |x: &Field| x.acked.load(Ordering::SeqCst);
    let ceil = |x: &Field| x.started.load(Ordering::SeqCst);
    match what % 6 {
        0 => {
            let lo = (floor(&f.endpoint_name), floor(&f.endpoint_allow), floor(&f.endpoint_state));
            let r = c.describe_app_instance_user_endpoint().app_instance_user_arn(&set.user).endpoint_id(&set.endpoint).send().await;
            let hi = (ceil(&f.endpoint_name), ceil(&f.endpoint_allow), ceil(&f.endpoint_state));
            let Ok(r) = r else { return run.fail(format!("describe endpoint: {r:?}")) };
            let e = r.app_instance_user_endpoint.unwrap();
            run.check("endpoint Name", lo.0, Seen::Exact(number(e.name().unwrap(), "n")), hi.0);
            let allow = u64::from(e.allow_messages() == Some(&AllowMessages::None));
            run.check("endpoint AllowMessages", lo.1, Seen::Mod(allow, 2), hi.1);
            let state = e.endpoint_state().unwrap();
            let s = match (state.status().as_str(), state.status_reason().map(|r| r.as_str())) {
                ("ACTIVE", None) => 0,
                ("INACTIVE", Some("INVALID_DEVICE_TOKEN")) => 1,
                ("INACTIVE", Some("INVALID_PINPOINT_ARN")) => 2,
                other => panic!("no writer wrote the state {other:?}"),
            };
            run.check("endpoint EndpointState", lo.2, Seen::Mod(s, 3), hi.2);
        }
        1 => {
            let lo = (floor(&f.endpoint_name), floor(&f.endpoint_allow));
            let r = c.list_app_instance_user_endpoints().app_instance_user_arn(&set.user).send().await;
            let hi = (ceil(&f.endpoint_name), ceil(&f.endpoint_allow));
            let Ok(r) = r else { return run.fail(format!("list endpoints: {r:?}")) };
            let e = &r.app_instance_user_endpoints()[0];
            run.check("listed endpoint Name", lo.0, Seen::Exact(number(e.name().unwrap(), "n")), hi.0);
            let allow = u64::from(e.allow_messages() == Some(&AllowMessages::None));
            run.check("listed endpoint AllowMessages", lo.1, Seen::Mod(allow, 2), hi.1);
        }
        2 => {
            let lo = (floor(&f.user_name), floor(&f.user_expiration));
            let r = c.describe_app_instance_user().app_instance_user_arn(&set.user).send().await;
            let hi = (ceil(&f.user_name), ceil(&f.user_expiration));
            let Ok(r) = r else { return run.fail(format!("describe user: {r:?}")) };
            let u = r.app_instance_user.unwrap();
            let name = number(u.name().unwrap(), "u");
            assert_eq!(u.metadata(), u.name(), "Name and Metadata come from one write");
            run.check("user Name", lo.0, Seen::Exact(name), hi.0);
            let days = u.expiration_settings().map(|s| s.expiration_days() as u64).unwrap_or(0);
            run.check("user ExpirationDays", lo.1, Seen::Exact(days), hi.1);
        }
        3 => {
            let lo = floor(&f.instance_name);
            let r = c.describe_app_instance().app_instance_arn(&set.instance).send().await;
            let hi = ceil(&f.instance_name);
            let Ok(r) = r else { return run.fail(format!("describe instance: {r:?}")) };
            let i = r.app_instance.unwrap();
            assert_eq!(i.metadata(), i.name(), "Name and Metadata come from one write");
            run.check("AppInstance Name", lo, Seen::Exact(number(i.name().unwrap(), "i")), hi);
        }
        4 => {
            let lo = floor(&f.instance_retention);
            let r = c.get_app_instance_retention_settings().app_instance_arn(&set.instance).send().await;
            let hi = ceil(&f.instance_retention);
            let Ok(r) = r else { return run.fail(format!("get retention: {r:?}")) };
            let days = r
                .app_instance_retention_settings()
                .and_then(|s| s.channel_retention_settings())
                .and_then(|c| c.retention_days())
                .map(|d| d as u64)
                .unwrap_or(0);
            run.check("AppInstance RetentionDays", lo, Seen::Exact(days), hi);
        }
        _ => {
            let lo = floor(&f.bot_configuration);
            let r = c.describe_app_instance_bot().app_instance_bot_arn(&set.bot).send().await;
            let hi = ceil(&f.bot_configuration);
            let Ok(r) = r else { return run.fail(format!("describe bot: {r:?}")) };
            let b = r.app_instance_bot.unwrap();
            assert_eq!(b.metadata(), b.name(), "Name and Metadata come from one write");
            let locale = b.configuration().and_then(|c| c.lex()).map(|l| l.locale_id().to_string()).unwrap_or_default();
            run.check("bot Configuration", lo, Seen::Exact(number(&locale, "l")), hi);
        }
    }
    run.reads.fetch_add(1, Ordering::Relaxed);
}

/// Runs the writers and readers over `clients` (one per node, same account) and `services` (the
/// nodes' services, for the control plane's endpoint state), and checks the end state.
async fn linearizability(label: &str, clients: Vec<Client>, services: Vec<Service>, account: &str) {
    let mut sets = Vec::new();
    for _ in 0..SETS {
        sets.push(make_set(&clients[0], account).await);
    }
    let run = Arc::new(Run {
        clients,
        services,
        sets,
        regressions: Mutex::default(),
        failures: Mutex::default(),
        reads: AtomicU64::new(0),
        writing: AtomicBool::new(true),
    });
    let mut readers = Vec::new();
    for r in 0..READERS {
        let run = run.clone();
        readers.push(tokio::spawn(async move {
            let mut i = r as u64;
            while run.writing.load(Ordering::SeqCst) {
                let set = &run.sets[i as usize % run.sets.len()];
                read_once(&run, set, i / run.sets.len() as u64, i + 1).await;
                i += 1;
            }
        }));
    }
    for w in spawn_writers(&run) {
        w.await.unwrap();
    }
    run.writing.store(false, Ordering::SeqCst);
    for r in readers {
        r.await.unwrap();
    }
    // Every field ends with its last acknowledged value, on every node.
    for node in 0..run.clients.len() as u64 {
        for set in &run.sets {
            for what in 0..6 {
                read_once(&run, set, what, node).await;
            }
        }
    }
    let regressions = run.regressions.lock().unwrap().clone();
    let failures = run.failures.lock().unwrap().clone();
    say(&format!(
        "linearizability on {label}: {} regressions in {} reads, {} failed requests",
        regressions.len(),
        run.reads.load(Ordering::Relaxed),
        failures.len()
    ));
    assert!(failures.is_empty(), "requests failed: {:#?}", &failures[..failures.len().min(10)]);
    assert!(regressions.is_empty(), "{} reads saw a value older than one acknowledged before them: {:#?}", regressions.len(), {
        let mut r = regressions;
        r.truncate(20);
        r
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn linearizable_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder().database(&format!("sqlite://{}", dir.path().join("l.db").display())).start();
    let account = fresh_account();
    linearizability("sqlite", vec![server.client_for(&account, "us-east-1")], vec![server.service().clone()], &account).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn linearizable_on_postgres() {
    let Some(db) = PostgresDb::fresh() else {
        return say("SKIPPED linearizable_on_postgres: CARILLON_TEST_POSTGRES_URL is not set");
    };
    let server = TestServer::builder().database(db.url()).start();
    let account = fresh_account();
    linearizability("postgres", vec![server.client_for(&account, "us-east-1")], vec![server.service().clone()], &account).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn linearizable_across_three_nodes() {
    let Some(db) = PostgresDb::fresh() else {
        return say("SKIPPED linearizable_across_three_nodes: CARILLON_TEST_POSTGRES_URL is not set");
    };
    let nodes: Vec<TestServer> = (0..3).map(|_| TestServer::builder().database(db.url()).start()).collect();
    let account = fresh_account();
    let clients = nodes.iter().map(|n| n.client_for(&account, "us-east-1")).collect();
    let services = nodes.iter().map(|n| n.service().clone()).collect();
    linearizability("three nodes on postgres", clients, services, &account).await;
}
