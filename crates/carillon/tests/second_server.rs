//! A second `carillon serve` on a database another server holds exits non-zero at once with one
//! line on stderr saying the database is in use, and the first server keeps serving. (SQLite: a
//! PostgreSQL database is meant to be shared by several servers.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

mod common;

use aws_sdk_chimesdkidentity::Client;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The first server, on a SQLite file of its own.
struct Server {
    child: Option<Child>,
    url: String,
    db: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("carillon.db");
        let (child, url) = spawn(&db);
        Server { child: Some(child), url, db, _dir: dir }
    }

    fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        child.wait().ok().and_then(|s| s.code())
    }

    fn restart(&mut self) {
        assert_eq!(self.stop(), Some(0), "a clean stop exits 0");
        let (child, url) = spawn(&self.db);
        self.child = Some(child);
        self.url = url;
    }

    fn client_for(&self, account: &str) -> Client {
        let creds = aws_credential_types::Credentials::new(account, "not-checked", None, None, "test");
        let config = aws_sdk_chimesdkidentity::Config::builder()
            .behavior_version(aws_sdk_chimesdkidentity::config::BehaviorVersion::latest())
            .region(aws_sdk_chimesdkidentity::config::Region::new("us-east-1"))
            .credentials_provider(creds)
            .endpoint_url(&self.url)
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .retry_config(aws_sdk_chimesdkidentity::config::retry::RetryConfig::disabled())
            .build();
        Client::from_conf(config)
    }

    fn client(&self) -> (Client, String) {
        let account = common::fresh_account();
        (self.client_for(&account), account)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn spawn(db: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_carillon"))
        .args(["serve", "--listen", "127.0.0.1:0", "--quiet", "--database"])
        .arg(format!("sqlite://{}", db.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start carillon");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(i) = line.find("listening on ") {
                let _ = tx.send(line[i + 13..].split_whitespace().next().unwrap_or_default().to_string());
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(20)).expect("carillon prints its listening line");
    (child, url)
}

/// Runs a second server on `db` and returns (exit code, stderr, how long it ran). Kills it and
/// fails if it is still running after 6 s (it is then serving a database it must not touch).
fn second_server(db: &Path) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_carillon"))
        .args(["serve", "--listen", "127.0.0.1:0", "--quiet", "--database"])
        .arg(format!("sqlite://{}", db.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the second carillon");
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            child.stderr.take().expect("stderr").read_to_string(&mut err).expect("read stderr");
            return (status.code(), err, started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(6) {
            let _ = child.kill();
            let _ = child.wait();
            let mut err = String::new();
            let _ = child.stderr.take().expect("stderr").read_to_string(&mut err);
            panic!("a second carillon on {} was still running after 6 s; its stderr: {err}", db.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

async fn create_instance(c: &Client, name: &str) -> String {
    c.create_app_instance().name(name).send().await.expect("create AppInstance").app_instance_arn().unwrap().to_string()
}

fn assert_refused(code: Option<i32>, stderr: &str, took: Duration) {
    assert!(code.is_some_and(|c| c != 0), "the second server must exit non-zero, got {code:?}; stderr: {stderr}");
    assert!(took < Duration::from_secs(5), "the second server must give up quickly, took {took:?}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line on stderr, got: {stderr:?}");
    let line = lines[0].to_lowercase();
    assert!(line.contains("in use"), "the line says the database is in use: {:?}", lines[0]);
    assert!(!line.contains("listening on"), "the second server must not listen: {:?}", lines[0]);
}

#[tokio::test]
async fn a_second_server_on_the_same_database_exits_and_the_first_keeps_serving() {
    let mut server = Server::start();
    let (c, account) = server.client();
    let before = create_instance(&c, "before the second server").await;

    let (code, stderr, took) = second_server(&server.db);
    println!("second server: exit {code:?} after {took:?}, stderr: {}", stderr.trim_end());
    assert_refused(code, &stderr, took);

    // The first server still serves, reads and writes, and nothing it holds was touched.
    let d = c.describe_app_instance().app_instance_arn(&before).send().await.expect("describe after the second server");
    assert_eq!(d.app_instance().and_then(|a| a.name()), Some("before the second server"));
    let after = create_instance(&c, "after the second server").await;
    let user = c
        .create_app_instance_user()
        .app_instance_arn(&after)
        .app_instance_user_id("still-here")
        .name("still here")
        .send()
        .await
        .expect("create a user after the second server")
        .app_instance_user_arn()
        .unwrap()
        .to_string();
    c.register_app_instance_user_endpoint()
        .app_instance_user_arn(&user)
        .r#type(aws_sdk_chimesdkidentity::types::AppInstanceUserEndpointType::Gcm)
        .resource_arn(common::pinpoint_arn(&account, "us-east-1"))
        .endpoint_attributes(aws_sdk_chimesdkidentity::types::EndpointAttributes::builder().device_token("t").build().unwrap())
        .send()
        .await
        .expect("register after the second server");

    // Twice more, while it is loaded: the answer does not change.
    for _ in 0..2 {
        let (code, stderr, took) = second_server(&server.db);
        assert_refused(code, &stderr, took);
    }

    // Once the first stops, the database is free again and everything is there.
    server.restart();
    let c = server.client_for(&account);
    let list = c.list_app_instances().send().await.expect("list after restart");
    let names: Vec<&str> = list.app_instances().iter().filter_map(|a| a.name()).collect();
    assert_eq!(names, ["before the second server", "after the second server"]);
    let eps = c.list_app_instance_user_endpoints().app_instance_user_arn(&user).send().await.expect("list endpoints");
    assert_eq!(eps.app_instance_user_endpoints().len(), 1);
    assert_eq!(server.stop(), Some(0));
}

#[tokio::test]
async fn a_second_server_on_the_same_database_under_another_path_also_exits() {
    let mut server = Server::start();
    let (c, _) = server.client();
    let before = create_instance(&c, "held").await;
    let dir = server.db.parent().unwrap().to_path_buf();
    let name = server.db.file_name().unwrap().to_string_lossy().to_string();

    // The same file through `./` and `sub/..`: the same path once resolved.
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    for other in [dir.join(".").join(&name), dir.join("sub").join("..").join(&name)] {
        let (code, stderr, took) = second_server(&other);
        println!("second server on {}: exit {code:?}, stderr: {}", other.display(), stderr.trim_end());
        assert_refused(code, &stderr, took);
    }
    // The same file through a symbolic link: the same database, so it is in use as well.
    let link = dir.join("link-to.db");
    std::os::unix::fs::symlink(&server.db, &link).unwrap();
    let (code, stderr, took) = second_server(&link);
    println!("second server on the symlink {}: exit {code:?}, stderr: {}", link.display(), stderr.trim_end());
    assert_refused(code, &stderr, took);

    let d = c.describe_app_instance().app_instance_arn(&before).send().await.expect("describe after");
    assert_eq!(d.app_instance().and_then(|a| a.name()), Some("held"));
    assert_eq!(server.stop(), Some(0));
}
