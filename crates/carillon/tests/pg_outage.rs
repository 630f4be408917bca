//! PostgreSQL stopped under load: writes and reads answer 503 ServiceUnavailableException within
//! 2 s of the stop (no hang, no 500), health says so, and within 5 s of PostgreSQL's return the
//! node answers again without a restart, with no acknowledged write lost. Needs
//! CARILLON_TEST_POSTGRES_URL naming this machine's cluster (it is stopped and started with
//! pg_ctlcluster); without it the test says it was skipped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use aws_sdk_chimesdkidentity::Client;
use aws_sdk_chimesdkidentity::types::{AppInstanceUserEndpointType, EndpointAttributes};
use carillon_testing::{PostgresDb, TestServer, error_of, fresh_account, pinpoint_arn, say};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn cluster_version() -> String {
    std::fs::read_dir("/etc/postgresql")
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .expect("a PostgreSQL cluster under /etc/postgresql")
}

fn pg_ctl(action: &str) {
    let out = Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", &cluster_version(), "main", action])
        .args(if action == "stop" { &["-m", "fast"][..] } else { &[][..] })
        .output()
        .expect("run pg_ctlcluster");
    assert!(out.status.success(), "pg_ctlcluster {action}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Starts PostgreSQL again however the test ends.
struct Restart;
impl Drop for Restart {
    fn drop(&mut self) {
        let _ = Command::new("pg_ctlcluster").args(["--skip-systemctl-redirect", &cluster_version(), "main", "start"]).output();
    }
}

async fn health(server: &TestServer) -> u16 {
    carillon_testing::health(&server.url()).await.0
}

async fn register(c: &Client, user: &str, account: &str, n: usize) -> Result<String, (String, u16)> {
    c.register_app_instance_user_endpoint()
        .app_instance_user_arn(user)
        .r#type(AppInstanceUserEndpointType::Gcm)
        .resource_arn(pinpoint_arn(account, "us-east-1"))
        .endpoint_attributes(EndpointAttributes::builder().device_token(format!("device-{n}")).build().unwrap())
        .send()
        .await
        .map(|o| o.endpoint_id.unwrap())
        .map_err(|e| error_of(&e))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_under_load_then_back() {
    let Some(db) = PostgresDb::fresh() else {
        say("SKIPPED pg_outage: CARILLON_TEST_POSTGRES_URL is not set");
        return;
    };
    let server = TestServer::builder().database(db.url()).start();
    let account = fresh_account();
    let c = server.client_for(&account, "us-east-1");
    let instance = c.create_app_instance().name("outage").send().await.unwrap().app_instance_arn.unwrap();
    // Ten users with room for ten endpoints each: a hundred registers in all.
    let mut users = Vec::new();
    for i in 0..10 {
        let u =
            c.create_app_instance_user().app_instance_arn(&instance).app_instance_user_id(format!("u{i}")).name("n").send().await.unwrap();
        users.push(u.app_instance_user_arn.unwrap());
    }
    assert_eq!(health(&server).await, 200);

    // Load: four workers register endpoints one after another, recording every acknowledged one
    // and every answer with its time.
    let acked = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let answers = Arc::new(Mutex::new(Vec::<(Instant, u16, Duration)>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (c, users, account, acked, answers, stop) =
            (c.clone(), users.clone(), account.clone(), acked.clone(), answers.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut n = w;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 100 {
                let user = &users[n % 10];
                let sent = Instant::now();
                let r = register(&c, user, &account, n).await;
                let status = match &r {
                    Ok(id) => {
                        acked.lock().unwrap().push((user.clone(), id.clone()));
                        n += 4;
                        201
                    }
                    Err((_, s)) => *s,
                };
                answers.lock().unwrap().push((Instant::now(), status, sent.elapsed()));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let _restart = Restart;
    let stopped_at = Instant::now();
    pg_ctl("stop");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(health(&server).await, 503, "health says the store is unusable");
    let reads = c.describe_app_instance().app_instance_arn(&instance).send().await.unwrap_err();
    assert_eq!(error_of(&reads), ("ServiceUnavailableException".into(), 503));

    let started_at = Instant::now();
    pg_ctl("start");
    let mut back_after = None;
    while started_at.elapsed() < Duration::from_secs(15) {
        if health(&server).await == 200 && c.describe_app_instance().app_instance_arn(&instance).send().await.is_ok() {
            back_after = Some(started_at.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }

    let answers = answers.lock().unwrap().clone();
    // Every answer during the outage is a 503 (never a 500 or a hang), the first within 2 s.
    let during: Vec<_> = answers.iter().filter(|(at, _, _)| *at > stopped_at && *at < started_at).collect();
    assert!(!during.is_empty(), "the load went on during the outage");
    assert!(during.iter().all(|(_, s, _)| *s == 503 || *s == 201), "only 503s (or writes finished before the stop): {during:?}");
    let first_503 = during.iter().find(|(_, s, _)| *s == 503).expect("a 503 during the outage").0;
    let to_first_503 = first_503.duration_since(stopped_at);
    say(&format!("pg_outage: first 503 {to_first_503:?} after the stop; answers resumed {back_after:?} after the start"));
    assert!(to_first_503 <= Duration::from_secs(2), "503s within 2 s of the stop, took {to_first_503:?}");
    assert!(during.iter().all(|(_, _, took)| *took < Duration::from_secs(2)), "requests fail fast, no hang");
    let back_after = back_after.expect("the node answers again once PostgreSQL is back");
    assert!(back_after <= Duration::from_secs(5), "answers resume within 5 s, took {back_after:?}");
    assert!(answers.iter().all(|(_, s, _)| matches!(s, 201 | 503)), "no 500s");

    // No acknowledged write lost.
    let acked = acked.lock().unwrap().clone();
    assert!(!acked.is_empty());
    for (user, id) in &acked {
        c.describe_app_instance_user_endpoint()
            .app_instance_user_arn(user)
            .endpoint_id(id)
            .send()
            .await
            .expect("an acknowledged endpoint survives");
    }
    say(&format!("pg_outage: ok, {} acknowledged registers checked", acked.len()));
}
