//! What the server writes on stderr (docs/behaviour.md, "Observability"): each request's line names
//! the caller's account and never a sensitive value (an AppInstanceUserId, often an email, in a user
//! ARN in the path); a 5xx is logged with its cause even with `--quiet`; a start-up error never
//! shows a database password; `--log-format json` makes every line a JSON object with the request's
//! fields, and text lines start with an RFC 3339 timestamp.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

mod common;

use carillon_testing::{Launch, ServerProcess, client, fresh_account};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_carillon")
}

/// Waits until a log line contains `needle` (the line is written after the answer).
fn wait_for_line(server: &ServerProcess, needle: &str) -> Vec<String> {
    let t = Instant::now();
    loop {
        let log = server.log();
        if log.iter().any(|l| l.contains(needle)) || t.elapsed() > Duration::from_secs(5) {
            return log;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn start_up_errors_never_show_a_database_password() {
    for (url, secret) in [
        ("postgres://u:p@ss-w0rd@127.0.0.1:1/db", "ss-w0rd"),
        ("postgres://u:s3c?ret@127.0.0.1:1/db", "s3c?ret"),
        ("postgres://u:s3c#ret@127.0.0.1:1/db", "s3c#ret"),
        ("postgres://127.0.0.1:1/db?user=u&password=hunter2", "hunter2"),
        ("postgresql://u:pw1secret@127.0.0.1:1/db?sslmode=disable&password=hunter3", "hunter3"),
        ("postgres://u:hunter4@127.0.0.1:notaport/db", "hunter4"),
        ("postgres://u:hunter5@[::1:1/db", "hunter5"),
        ("postgres:// host=127.0.0.1 port=1 password=hunter6", "hunter6"),
        ("host=127.0.0.1 port=1 password=hunter7", "hunter7"),
        ("host=127.0.0.1 port=1 password='hunter 8'", "hunter 8"),
    ] {
        for via_env in [false, true] {
            let launch = if via_env {
                Launch::new(bin()).args(["serve", "--listen", "127.0.0.1:0"]).env("CARILLON_DATABASE", url)
            } else {
                Launch::new(bin()).args(["serve", "--listen", "127.0.0.1:0", "--database", url])
            };
            let exit = launch.run_to_exit(Duration::from_secs(30)).unwrap();
            assert!(exit.code.is_some_and(|c| c != 0), "{url}: {exit:?}");
            assert!(!exit.stderr.contains(secret), "{url} (env: {via_env}) shows its password: {}", exit.stderr);
            assert!(!exit.stderr.contains("listening on"), "{}", exit.stderr);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_line_names_the_account_and_hides_user_ids() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("log.db").display());
    let server = Launch::new(bin()).args(["serve", "--listen", "127.0.0.1:0", "--database", &db]).start().unwrap();
    let account = fresh_account();
    let c = client(server.url(), &account, "us-east-1");
    let instance = c.create_app_instance().name("i").client_request_token("token-log-1").send().await.unwrap().app_instance_arn.unwrap();
    let user = c
        .create_app_instance_user()
        .app_instance_arn(&instance)
        .app_instance_user_id("alice.secret@example.com")
        .name("Alice")
        .client_request_token("token-log-2")
        .send()
        .await
        .unwrap()
        .app_instance_user_arn
        .unwrap();
    c.describe_app_instance_user().app_instance_user_arn(&user).send().await.unwrap();
    c.list_app_instance_user_endpoints().app_instance_user_arn(&user).send().await.unwrap();
    let log = wait_for_line(&server, "ListAppInstanceUserEndpoints");
    let lines: Vec<&String> = log.iter().filter(|l| l.contains("AppInstanceUser")).collect();
    println!("{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("DescribeAppInstanceUser")) && lines.len() >= 3, "{log:#?}");
    for line in &lines {
        assert!(line.contains(&account), "no account in: {line}");
        assert!(!line.contains("alice") && !line.contains("secret"), "a user id in: {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_quiet_a_5xx_is_still_logged_with_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quiet.db");
    let mut first = common::serve_sqlite(&path).start().unwrap();
    let account = fresh_account();
    let c = client(first.url(), &account, "us-east-1");
    let instance = c.create_app_instance().name("i").client_request_token("token-log-3").send().await.unwrap().app_instance_arn.unwrap();
    let user = c
        .create_app_instance_user()
        .app_instance_arn(&instance)
        .app_instance_user_id("u1")
        .name("U")
        .client_request_token("token-log-4")
        .send()
        .await
        .unwrap()
        .app_instance_user_arn
        .unwrap();
    // A row the model does not allow: its read is a 500 with the cause known. The database is the
    // server's alone while it runs, so the row is written between two runs.
    first.terminate(Duration::from_secs(10)).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE users SET expiration_days = 1, expiration_criterion = 'BOGUS' WHERE arn = ?1", [&user]).unwrap();
    drop(conn);
    let server = common::serve_sqlite(&path).start().unwrap();
    let c = client(server.url(), &account, "us-east-1");
    let e = c.describe_app_instance_user().app_instance_user_arn(&user).send().await.unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(500), "{e:?}");
    let log = wait_for_line(&server, "status=500");
    let line = log.iter().find(|l| l.contains("status=500")).unwrap_or_else(|| panic!("no 500 logged with --quiet: {log:#?}"));
    println!("{line}");
    assert!(
        line.contains(" WARN ") && line.contains("DescribeAppInstanceUser") && line.contains("cause=") && line.contains(&account),
        "{line}"
    );
    assert!(!log.iter().any(|l| l.contains("status=200") || l.contains("status=201")), "--quiet logs no successes: {log:#?}");
}

/// An RFC 3339 UTC timestamp as the subscriber writes it: `2026-01-02T03:04:05.123456Z`.
fn is_timestamp(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && t.ends_with('Z')
        && t[..4].bytes().all(|c| c.is_ascii_digit())
}

/// Waits until `count` request lines (lines that carry a `request_id`) are in the log.
fn wait_for_requests(server: &ServerProcess, count: usize) -> Vec<String> {
    let t = Instant::now();
    loop {
        let log = server.log();
        if log.iter().filter(|l| l.contains("request_id")).count() >= count || t.elapsed() > Duration::from_secs(5) {
            return log;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_json_every_line_is_an_object_with_the_request_fields() {
    let mut server = Launch::new(bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--database", "sqlite::memory:", "--log-format", "json"])
        .start()
        .unwrap();
    let account = fresh_account();
    let c = client(server.url(), &account, "eu-west-1");
    let instance = c.create_app_instance().name("i").client_request_token("token-log-json").send().await.unwrap().app_instance_arn.unwrap();
    let missing = format!("{instance}-missing");
    c.describe_app_instance().app_instance_arn(&missing).send().await.unwrap_err();
    // A newline and a forged JSON line in the path stay inside one field.
    let mut raw = std::net::TcpStream::connect(server.addr()).unwrap();
    let head = "GET /app-instances/x%0A%7B%22level%22%3A%22INFO%22%7D%0D%0A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    std::io::Write::write_all(&mut raw, head.as_bytes()).unwrap();
    let _ = std::io::Read::read_to_end(&mut raw, &mut Vec::new());
    wait_for_requests(&server, 3);
    server.terminate(Duration::from_secs(20)).unwrap();
    let log = server.log();
    println!("{log:#?}");
    assert!(log.len() >= 5, "{log:#?}");
    let objects: Vec<serde_json::Value> =
        log.iter().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    for o in &objects {
        assert!(is_timestamp(o["timestamp"].as_str().unwrap_or("")), "{o}");
        assert!(o["level"].is_string(), "{o}");
    }
    assert!(objects[0]["message"].as_str().is_some_and(|m| m.contains("listening on http://127.0.0.1:")), "{}", objects[0]);
    let requests: Vec<&serde_json::Value> = objects.iter().filter(|o| o.get("request_id").is_some()).collect();
    let created = requests.iter().find(|o| o["operation"] == "CreateAppInstance").unwrap();
    assert_eq!(
        (created["status"].as_u64(), created["account"].as_str(), created["region"].as_str()),
        (Some(201), Some(account.as_str()), Some("eu-west-1"))
    );
    assert_eq!((created["level"].as_str(), created["path"].as_str()), (Some("INFO"), Some("/app-instances")));
    assert!(created["latency_us"].as_u64().is_some() && created.get("cause").is_none(), "{created}");
    let refused = requests.iter().find(|o| o["operation"] == "DescribeAppInstance").unwrap();
    assert_eq!(refused["status"].as_u64(), Some(404), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_lines_start_with_a_timestamp_and_quiet_keeps_warnings() {
    for quiet in [false, true] {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--database", "sqlite::memory:", "--auth", "sigv4"];
        if quiet {
            args.push("--quiet");
        }
        let dir = tempfile::tempdir().unwrap();
        let credentials = dir.path().join("credentials");
        std::fs::write(&credentials, "AKIDLOGTEST:right-secret:111122223333\n").unwrap();
        let mut server = Launch::new(bin()).args(args).arg("--credentials").arg(&credentials).start().unwrap();
        let good = carillon_testing::client_with(server.url(), "AKIDLOGTEST", "right-secret", "us-east-1");
        good.list_app_instances().send().await.unwrap();
        let bad = carillon_testing::client_with(server.url(), "AKIDLOGTEST", "wrong-secret", "us-east-1");
        bad.list_app_instances().send().await.unwrap_err();
        wait_for_line(&server, "status=403");
        server.terminate(Duration::from_secs(20)).unwrap();
        let log = server.log();
        println!("{log:#?}");
        for line in &log {
            assert!(line.split(' ').next().is_some_and(is_timestamp), "no timestamp first: {line}");
            assert!(!line.contains("wrong-secret") && !line.contains("right-secret"), "a secret in: {line}");
        }
        assert!(log.iter().any(|l| l.contains(" INFO carillon: listening on http://")), "{log:#?}");
        let refused = log.iter().find(|l| l.contains("status=403")).unwrap();
        assert!(refused.contains(" WARN ") && refused.contains("cause=") && refused.contains("operation="), "{refused}");
        let listed = log.iter().any(|l| l.contains("status=200"));
        assert_eq!(listed, !quiet, "--quiet {quiet}: {log:#?}");
    }
}
