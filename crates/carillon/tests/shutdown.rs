//! SIGTERM during concurrent load: every request in flight is answered, the server exits 0, and
//! everything acknowledged is there after a restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

mod common;

use aws_sdk_chimesdkidentity::Client;
use aws_sdk_chimesdkidentity::config::timeout::TimeoutConfig;
use aws_sdk_chimesdkidentity::error::SdkError;
use aws_sdk_chimesdkidentity::types::Tag;
use carillon_testing::{client_config, error_of, fresh_account, secret_of};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn client(url: &str, account: &str) -> Client {
    let timeouts = TimeoutConfig::builder().operation_timeout(Duration::from_secs(60)).build();
    Client::from_conf(client_config(url, account, &secret_of(account), "us-east-1").timeout_config(timeouts).build())
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Acked,
    Rejected(u16),
    Unanswered(String),
}

#[derive(Debug, Clone)]
struct Sent {
    user_id: String,
    started: Instant,
    ended: Instant,
    kind: Kind,
}

/// A CreateAppInstance whose body is held back: the server has its head and waits for the rest,
/// so the request is certainly in flight when the signal comes.
struct Slow {
    stream: tokio::net::TcpStream,
    rest: Vec<u8>,
    name: String,
}

async fn start_slow(url: &str, account: &str, n: usize) -> Slow {
    let addr = url.trim_start_matches("http://").to_string();
    let name = format!("slow {n}");
    let body = format!(r#"{{"Name":"{name}","Metadata":"held back","ClientRequestToken":"slow-token-{n}-0123456789"}}"#).into_bytes();
    let head = format!(
        "POST /app-instances HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAuthorization: AWS4-HMAC-SHA256 Credential={account}/20250101/us-east-1/chime/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.unwrap();
    let half = body.len() / 2;
    stream.write_all(&body[..half]).await.unwrap();
    stream.flush().await.unwrap();
    Slow { stream, rest: body[half..].to_vec(), name }
}

/// Sends the rest of the body and reads the whole answer: (status, body).
async fn finish_slow(mut s: Slow) -> (u16, String) {
    s.stream.write_all(&s.rest).await.expect("the server still reads the body after SIGTERM");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), s.stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the answer to the slow request came within 20 s");
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

const TASKS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_answers_every_request_in_flight_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("carillon.db");
    let mut server = common::serve_sqlite(&db).start().unwrap();
    let account = fresh_account();
    let c = client(server.url(), &account);
    let mut instances = Vec::new();
    for t in 0..TASKS {
        instances.push(c.create_app_instance().name(format!("load {t}")).send().await.unwrap().app_instance_arn().unwrap().to_string());
    }

    // The load: each task creates users one after another and records each request.
    let stop = Arc::new(AtomicBool::new(false));
    let sent: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let signalled: Arc<Mutex<Option<Instant>>> = Arc::default();
    let mut tasks = Vec::new();
    for (t, instance) in instances.iter().enumerate() {
        let (c, instance, stop, sent, signalled) = (c.clone(), instance.clone(), stop.clone(), sent.clone(), signalled.clone());
        tasks.push(tokio::spawn(async move {
            let mut refused_after_signal = 0;
            for i in 0.. {
                if stop.load(Ordering::Relaxed) || refused_after_signal >= 3 {
                    break;
                }
                let user_id = format!("t{t}-u{i}");
                let started = Instant::now();
                let r = c
                    .create_app_instance_user()
                    .app_instance_arn(&instance)
                    .app_instance_user_id(&user_id)
                    .name(format!("user {t}/{i}"))
                    .metadata("m".repeat(900))
                    .tags(Tag::builder().key("k").value(&user_id).build().unwrap())
                    .send()
                    .await;
                let ended = Instant::now();
                let kind = match r {
                    Ok(_) => Kind::Acked,
                    Err(SdkError::ServiceError(se)) => Kind::Rejected(se.raw().status().as_u16()),
                    Err(e) => Kind::Unanswered(format!("{e:?}").chars().take(300).collect()),
                };
                if matches!(kind, Kind::Unanswered(_)) && signalled.lock().unwrap().is_some_and(|s| started >= s) {
                    refused_after_signal += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                sent.lock().unwrap().push(Sent { user_id, started, ended, kind });
            }
        }));
    }
    // Three requests that are certainly in flight: head sent, body half sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut slow = Vec::new();
    for n in 0..3 {
        slow.push(start_slow(server.url(), &account, n).await);
    }
    tokio::time::sleep(Duration::from_millis(700)).await;

    let t_sig = Instant::now();
    *signalled.lock().unwrap() = Some(t_sig);
    server.signal("TERM").unwrap();
    // The held-back requests get the rest of their bodies after the signal, and an answer.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut slow_answers = Vec::new();
    for s in slow {
        let name = s.name.clone();
        slow_answers.push((name, finish_slow(s).await));
    }
    let code = tokio::task::spawn_blocking(move || {
        let code = server.wait(Duration::from_secs(40)).unwrap();
        (code, server)
    })
    .await
    .unwrap();
    let (code, server) = code;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let log = server.log();
    drop(server);

    // Every request that started before the signal was answered; none was dropped.
    let sent = sent.lock().unwrap().clone();
    let before: Vec<&Sent> = sent.iter().filter(|s| s.started < t_sig).collect();
    let in_flight: Vec<&Sent> = before.iter().copied().filter(|s| s.ended > t_sig).collect();
    let dropped: Vec<&Sent> = before.iter().copied().filter(|s| matches!(s.kind, Kind::Unanswered(_))).collect();
    let after: Vec<&Sent> = sent.iter().filter(|s| s.started >= t_sig).collect();
    println!(
        "{} requests before SIGTERM ({} still in flight at the signal, the longest {:?} before it), {} after it ({} refused); exit code {code:?}",
        before.len(),
        in_flight.len(),
        in_flight.iter().map(|s| t_sig - s.started).max().unwrap_or_default(),
        after.len(),
        after.iter().filter(|s| matches!(s.kind, Kind::Unanswered(_))).count()
    );
    for (name, (status, body)) in &slow_answers {
        println!("held-back request {name:?}: HTTP {status} {body}");
    }
    for d in &dropped {
        println!("DROPPED: {} sent {:?} before the signal: {:?}", d.user_id, t_sig - d.started, d.kind);
    }
    assert!(dropped.is_empty(), "{} requests sent before SIGTERM got no answer (see DROPPED lines)", dropped.len());
    assert!(
        before.iter().all(|s| s.kind == Kind::Acked),
        "every request before the signal succeeds: {:?}",
        before.iter().filter(|s| s.kind != Kind::Acked).collect::<Vec<_>>()
    );
    for (name, (status, body)) in &slow_answers {
        assert_eq!(*status, 201, "the held-back request {name} is answered 201 after SIGTERM: {body}");
        assert!(body.contains("AppInstanceArn"), "{body}");
    }
    assert_eq!(code, Some(0), "a SIGTERM'd server exits 0; its log: {log:?}");

    // After a restart, everything acknowledged is there, and every unanswered create is all or nothing.
    let mut server = common::serve_sqlite(&db).start().unwrap();
    let c = client(server.url(), &account);
    let mut present = 0;
    for s in &sent {
        let t: usize = s.user_id[1..].split('-').next().unwrap().parse().unwrap();
        let arn = format!("{}/user/{}", instances[t], s.user_id);
        let d = c.describe_app_instance_user().app_instance_user_arn(&arn).send().await;
        match (&s.kind, d) {
            (_, Ok(d)) => {
                let u = d.app_instance_user().unwrap();
                assert_eq!(u.metadata(), Some("m".repeat(900).as_str()));
                let tags = c.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
                assert_eq!(tags.tags().len(), 1, "an existing user has its tag: {arn}");
                present += 1;
            }
            (Kind::Acked, Err(e)) => panic!("acknowledged user {arn} is missing after the restart: {e:?}"),
            (_, Err(e)) => {
                assert_eq!(error_of(&e).1, 404);
                let eps = c.list_app_instance_user_endpoints().app_instance_user_arn(&arn).send().await;
                assert!(eps.is_err(), "a user that is gone has no endpoint list");
            }
        }
    }
    let listed = c.list_app_instances().max_results(50).send().await.unwrap();
    for (name, _) in &slow_answers {
        assert!(
            listed.app_instances().iter().any(|a| a.name() == Some(name.as_str())),
            "the held-back AppInstance {name} is there after the restart"
        );
    }
    println!("after the restart: {present} users present, {} acknowledged", sent.iter().filter(|s| s.kind == Kind::Acked).count());
    server.signal("TERM").unwrap();
    assert_eq!(server.wait(Duration::from_secs(30)).unwrap(), Some(0));
}
