//! The in-process harness itself: configuration reaches the server, a restart keeps the database,
//! the server outlives the runtime of the test that started it, and a drop removes what it made.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use carillon_testing::{TestServer, error_of};

#[tokio::test]
async fn a_restart_keeps_the_database_and_a_drop_removes_the_directory() {
    let mut server = TestServer::start();
    let (c, account) = server.client();
    let arn = c.create_app_instance().name("kept").send().await.unwrap().app_instance_arn.unwrap();
    let dir = server.dir().to_path_buf();
    if let Some(db) = server.sqlite_path() {
        assert!(db.starts_with(&dir) && db.exists(), "{}", db.display());
    }
    let before = server.url();
    server.restart();
    assert_ne!(server.url(), before, "a restart listens on a new port");
    let c = server.client_for(&account, "us-east-1");
    let d = c.describe_app_instance().app_instance_arn(&arn).send().await.unwrap();
    assert_eq!(d.app_instance().and_then(|a| a.name()), Some("kept"));
    drop(server);
    assert!(!dir.exists(), "the temporary directory is gone with the server");
}

#[tokio::test]
async fn configuration_changes_reach_the_server() {
    let server = TestServer::builder().config(|c| c.quotas.app_instances_per_account = 1).start();
    let (c, _) = server.client();
    c.create_app_instance().name("one").send().await.unwrap();
    let err = c.create_app_instance().name("two").send().await.unwrap_err();
    assert_eq!(error_of(&err), ("ResourceLimitExceededException".into(), 400));
}

#[test]
fn the_server_outlives_the_runtime_that_started_it() {
    let first = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let server = first.block_on(async { TestServer::start() });
    drop(first);
    let second = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    second.block_on(async {
        let (c, _) = server.client();
        c.create_app_instance().name("still served").send().await.unwrap();
    });
    server.shutdown();
}

#[tokio::test]
async fn sigv4_mode_knows_its_accounts_only() {
    let account = carillon_testing::fresh_account();
    let server = TestServer::start_sigv4(&[&account]);
    server.client_for(&account, "us-east-1").list_app_instances().send().await.unwrap();
    let err = server.client_with(&account, "wrong", "us-east-1").list_app_instances().send().await.unwrap_err();
    assert_eq!(error_of(&err), ("InvalidSignatureException".into(), 403));
}
