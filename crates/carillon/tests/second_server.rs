//! A second `carillon serve` on a database another server holds exits non-zero at once with one
//! line on stderr saying the database is in use, and the first server keeps serving. (SQLite: a
//! PostgreSQL database is meant to be shared by several servers.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

mod common;

use aws_sdk_chimesdkidentity::Client;
use carillon_testing::{ServerProcess, client, fresh_account, pinpoint_arn};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The first server, on a SQLite file of its own.
struct First {
    process: ServerProcess,
    db: PathBuf,
    _dir: tempfile::TempDir,
}

impl First {
    fn start() -> First {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("carillon.db");
        let process = common::serve_sqlite(&db).start().unwrap();
        First { process, db, _dir: dir }
    }

    fn stop(&mut self) -> Option<i32> {
        self.process.terminate(Duration::from_secs(40)).unwrap()
    }

    fn restart(&mut self) {
        assert_eq!(self.stop(), Some(0), "a clean stop exits 0");
        self.process = common::serve_sqlite(&self.db).start().unwrap();
    }

    fn client_for(&self, account: &str) -> Client {
        client(self.process.url(), account, "us-east-1")
    }

    fn client(&self) -> (Client, String) {
        let account = fresh_account();
        (self.client_for(&account), account)
    }
}

/// Runs a second server on `db` and returns (exit code, stderr, how long it ran). Fails if it is
/// still running after 6 s (it is then serving a database it must not touch).
fn second_server(db: &Path) -> (Option<i32>, String, Duration) {
    match common::serve_sqlite(db).run_to_exit(Duration::from_secs(6)) {
        Ok(exit) => (exit.code, exit.stderr, exit.took),
        Err(e) => panic!("a second carillon on {}: {e}", db.display()),
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
    let mut server = First::start();
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
        .resource_arn(pinpoint_arn(&account, "us-east-1"))
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
    let mut server = First::start();
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

#[tokio::test]
async fn while_the_server_runs_no_other_process_reads_or_writes_its_database() {
    let mut server = First::start();
    let (c, _) = server.client();
    let held = create_instance(&c, "held").await;

    // Another process's SQLite (this test's) is refused at once, for a read as for a write:
    // the server's WAL index lives in its own memory, so no other process could see it.
    let other = rusqlite::Connection::open(&server.db).unwrap();
    other.busy_timeout(Duration::ZERO).unwrap();
    let read = other.query_row("SELECT COUNT(*) FROM app_instances", [], |r| r.get::<_, i64>(0));
    assert!(matches!(&read, Err(e) if e.to_string().contains("locked")), "a read by another process: {read:?}");
    let write = other.execute("DELETE FROM app_instances", []);
    assert!(matches!(&write, Err(e) if e.to_string().contains("locked")), "a write by another process: {write:?}");
    drop(other);

    // The server still serves what it holds; once it has stopped, the file is anyone's, whole.
    let d = c.describe_app_instance().app_instance_arn(&held).send().await.expect("describe after");
    assert_eq!(d.app_instance().and_then(|a| a.name()), Some("held"));
    assert_eq!(server.stop(), Some(0));
    let after = rusqlite::Connection::open(&server.db).unwrap();
    let names: i64 = after.query_row("SELECT COUNT(*) FROM app_instances WHERE name = 'held'", [], |r| r.get(0)).unwrap();
    assert_eq!(names, 1);
}
