//! Large deletes stall no one (docs/behaviour.md, "Resources"): deleting an AppInstance or user
//! with many children answers at once, the resource and everything in it is gone for every
//! request at once, and the children are purged in the background in short batches while other
//! accounts' writes go on. The children are seeded through the store (the API would take
//! minutes); `CARILLON_LARGE_DELETE_USERS` scales the AppInstance (10 endpoints per user).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use aws_sdk_chimesdkidentity::types::{AppInstanceUserEndpointType, EndpointAttributes};
use carillon_service::Service;
use carillon_store::{AllowMessages, EndpointRecord, EndpointStatus, StoreError, Tx, UserRecord};
use carillon_testing::{TestServer, error_of, pinpoint_arn, say};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const ENDPOINTS_PER_USER: usize = 10;

fn users_to_seed() -> usize {
    std::env::var("CARILLON_LARGE_DELETE_USERS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

fn endpoint(user: &UserRecord, n: usize) -> EndpointRecord {
    EndpointRecord {
        seq: 0,
        user_arn: user.arn.clone(),
        endpoint_id: format!("e{n:031}"),
        app_instance_arn: user.app_instance_arn.clone(),
        name: Some(format!("endpoint {n}")),
        endpoint_type: carillon_store::AppInstanceUserEndpointType::Apns,
        resource_arn: "arn:aws:mobiletargeting:us-east-1:111122223333:apps/seeded".into(),
        device_token: format!("device-token-{n}"),
        voip_device_token: None,
        allow_messages: AllowMessages::All,
        status: EndpointStatus::Active,
        status_reason: None,
        created_ms: 1_700_000_000_000,
        updated_ms: 1_700_000_000_000,
    }
}

fn user(instance: &str, id: &str) -> UserRecord {
    UserRecord {
        seq: 0,
        arn: format!("{instance}/user/{id}"),
        app_instance_arn: instance.to_string(),
        user_id: id.to_string(),
        name: format!("user {id}"),
        metadata: None,
        created_ms: 1_700_000_000_000,
        updated_ms: 1_700_000_000_000,
        expiration_days: None,
        expiration_criterion: None,
        expires_at_ms: None,
    }
}

/// Inserts `users` users of `instance`, each with `per_user` endpoints, straight into the store.
async fn seed(svc: &Service, instance: &str, prefix: &str, users: usize, per_user: usize) {
    const USERS_PER_TX: usize = 500;
    let started = Instant::now();
    for first in (0..users).step_by(USERS_PER_TX) {
        let (instance, prefix) = (instance.to_string(), prefix.to_string());
        let last = (first + USERS_PER_TX).min(users);
        carillon_store::write(&**svc.store(), move |tx: &mut dyn Tx| {
            for i in first..last {
                let u = user(&instance, &format!("{prefix}{i}"));
                tx.insert_user(&u)?;
                for n in 0..per_user {
                    tx.insert_endpoint(&endpoint(&u, n))?;
                }
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    }
    say(&format!("seeded {users} users with {} endpoints in {:.1}s", users * per_user, started.elapsed().as_secs_f64()));
}

/// Rows of `instance`'s users and of the endpoints of `sample` users still in the store, seen
/// behind the API's back.
async fn left_behind(svc: &Service, instance: &str, sample: Vec<String>) -> (u64, u64) {
    let instance = instance.to_string();
    carillon_store::read(&**svc.store(), move |tx: &mut dyn Tx| {
        let mut endpoints = 0;
        for u in &sample {
            endpoints += tx.count_endpoints(u)?;
        }
        Ok::<_, StoreError>((tx.count_users(&instance)?, endpoints))
    })
    .await
    .unwrap()
}

/// Waits until nothing of `instance` is left in the store; panics after `limit`.
async fn wait_purged(svc: &Service, instance: &str, sample: Vec<String>, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let left = left_behind(svc, instance, sample.clone()).await;
        if left == (0, 0) {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "still in the store {limit:?} after the delete: {left:?} (users, sampled endpoints)");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_a_large_app_instance_answers_at_once_and_stalls_no_one() {
    let users = users_to_seed();
    let server = TestServer::start();
    let svc = server.service().clone();
    let (a, _) = server.client();
    let big = a.create_app_instance().name("big").send().await.unwrap().app_instance_arn.unwrap();
    seed(&svc, &big, "u", users, ENDPOINTS_PER_USER).await;
    let first_user = format!("{big}/user/u0");
    let last_user = format!("{big}/user/u{}", users - 1);
    a.describe_app_instance_user_endpoint()
        .app_instance_user_arn(&first_user)
        .endpoint_id(endpoint(&user(&big, "u0"), 0).endpoint_id)
        .send()
        .await
        .unwrap();

    // Another account writes all along; each write's latency is kept.
    let (b, _) = server.client();
    let other = b.create_app_instance().name("other").send().await.unwrap().app_instance_arn.unwrap();
    let other_user = b.create_app_instance_user().app_instance_arn(&other).app_instance_user_id("writer").name("w").send().await.unwrap();
    let other_user = other_user.app_instance_user_arn.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (b, stop) = (b.clone(), stop.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let t = Instant::now();
                b.update_app_instance_user().app_instance_user_arn(&other_user).name(format!("w{n}")).metadata("m").send().await.unwrap();
                latencies.push(t.elapsed());
            }
            latencies
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    let t = Instant::now();
    a.delete_app_instance().app_instance_arn(&big).send().await.unwrap();
    let delete_latency = t.elapsed();

    // Gone at once, for every request: the instance, its users and their endpoints.
    let err = a.describe_app_instance().app_instance_arn(&big).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    for u in [&first_user, &last_user] {
        let err = a.describe_app_instance_user().app_instance_user_arn(u).send().await.unwrap_err();
        assert_eq!(error_of(&err), ("NotFoundException".into(), 404), "{u}");
        let err = a.list_app_instance_user_endpoints().app_instance_user_arn(u).send().await.unwrap_err();
        assert_eq!(error_of(&err), ("NotFoundException".into(), 404), "{u}");
    }
    let id = endpoint(&user(&big, "u0"), 0).endpoint_id;
    let err = a.describe_app_instance_user_endpoint().app_instance_user_arn(&first_user).endpoint_id(&id).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let err = a.delete_app_instance_user().app_instance_user_arn(&last_user).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let err = a.deregister_app_instance_user_endpoint().app_instance_user_arn(&first_user).endpoint_id(&id).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    assert!(a.list_app_instances().send().await.unwrap().app_instances().is_empty(), "not listed, not counted");

    let purged_after = wait_purged(&svc, &big, vec![first_user.clone(), last_user.clone()], Duration::from_secs(300)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = writer.await.unwrap();
    latencies.sort();
    let worst = *latencies.last().unwrap();
    say(&format!(
        "large delete of {users} users / {} endpoints on {}: DeleteAppInstance {:.0} ms; purged {:.2}s later; other account's {} writes: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        users * ENDPOINTS_PER_USER,
        svc.store().kind(),
        delete_latency.as_secs_f64() * 1e3,
        purged_after.as_secs_f64(),
        latencies.len(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3
    ));
    assert!(delete_latency < Duration::from_millis(500), "DeleteAppInstance took {delete_latency:?}");
    assert!(worst < Duration::from_millis(500), "another account's write waited {worst:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_deleted_with_many_endpoints_and_created_again_starts_empty() {
    const ENDPOINTS: usize = 5_000;
    let server = TestServer::builder().config(|c| c.quotas.endpoints_per_user = ENDPOINTS as u64 + 10).start();
    let svc = server.service().clone();
    let (a, account) = server.client();
    let instance = a.create_app_instance().name("i").send().await.unwrap().app_instance_arn.unwrap();
    seed(&svc, &instance, "many", 1, ENDPOINTS).await;
    let arn = format!("{instance}/user/many0");
    let old = endpoint(&user(&instance, "many0"), 7);

    let t = Instant::now();
    a.delete_app_instance_user().app_instance_user_arn(&arn).send().await.unwrap();
    let delete_latency = t.elapsed();
    let err = a.describe_app_instance_user_endpoint().app_instance_user_arn(&arn).endpoint_id(&old.endpoint_id).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));

    // The same id again, at once: none of the old endpoints comes back, and their device tokens
    // are free.
    a.create_app_instance_user().app_instance_arn(&instance).app_instance_user_id("many0").name("again").send().await.unwrap();
    let listed = a.list_app_instance_user_endpoints().app_instance_user_arn(&arn).send().await.unwrap();
    assert!(listed.app_instance_user_endpoints().is_empty(), "{listed:?}");
    let err = a.describe_app_instance_user_endpoint().app_instance_user_arn(&arn).endpoint_id(&old.endpoint_id).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("NotFoundException".into(), 404));
    let attrs = EndpointAttributes::builder().device_token(&old.device_token).build().unwrap();
    let registered = a
        .register_app_instance_user_endpoint()
        .app_instance_user_arn(&arn)
        .r#type(AppInstanceUserEndpointType::Apns)
        .resource_arn(pinpoint_arn(&account, "us-east-1"))
        .endpoint_attributes(attrs)
        .client_request_token("register-again-0001")
        .send()
        .await
        .unwrap();
    let new_id = registered.endpoint_id.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let listed = a.list_app_instance_user_endpoints().app_instance_user_arn(&arn).send().await.unwrap();
    let ids: Vec<_> = listed.app_instance_user_endpoints().iter().filter_map(|e| e.endpoint_id()).collect();
    assert_eq!(ids, vec![new_id.as_str()], "only the new user's endpoint, after any purge ran");
    say(&format!("DeleteAppInstanceUser with {ENDPOINTS} endpoints: {:.0} ms", delete_latency.as_secs_f64() * 1e3));
}
