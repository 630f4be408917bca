//! Group commit: concurrent write transactions share physical commits (and so fsyncs), each is
//! answered only after the commit that holds it, and one that fails leaves the others of its
//! group untouched.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use carillon_store::{AppInstanceRecord, Store, StoreError, Tx};
use carillon_store_sqlite::{Location, SqliteStore};
use std::sync::Arc;

fn record(i: usize) -> AppInstanceRecord {
    AppInstanceRecord {
        seq: 0,
        arn: format!("arn:aws:chime:us-east-1:111122223333:app-instance/{i}"),
        account: "111122223333".into(),
        region: "us-east-1".into(),
        name: format!("n{i}"),
        metadata: None,
        created_ms: 1,
        updated_ms: 1,
        retention_days: None,
        retention_set_ms: None,
    }
}

#[derive(Debug)]
enum E {
    Store(StoreError),
    Refused,
}
impl From<StoreError> for E {
    fn from(e: StoreError) -> Self {
        E::Store(e)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_share_commits_and_failures_stay_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(Location::File(dir.path().join("g.db"))).unwrap());
    const WRITES: usize = 400;
    let mut tasks = Vec::new();
    for i in 0..WRITES {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            carillon_store::write(&*store as &dyn Store, move |tx: &mut dyn Tx| -> Result<(), E> {
                tx.insert_app_instance(&record(i))?;
                // Every seventh closure refuses after writing: its insert must vanish alone.
                if i % 7 == 0 { Err(E::Refused) } else { Ok(()) }
            })
            .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(E::Refused) => {}
            Err(E::Store(e)) => panic!("{e}"),
        }
    }
    let expected = (0..WRITES).filter(|i| i % 7 != 0).count();
    assert_eq!(ok, expected);
    let count =
        carillon_store::read(&*store as &dyn Store, |tx: &mut dyn Tx| tx.count_app_instances("111122223333", "us-east-1")).await.unwrap();
    assert_eq!(count as usize, expected, "exactly the accepted writes are there");
    let (commits, transactions) = store.group_commit_stats();
    println!("{transactions} transactions in {commits} commits");
    assert_eq!(transactions as usize, expected);
    assert!(commits < transactions, "concurrent writers shared commits: {transactions} transactions in {commits} commits");

    // Every answered write is durable: close, reopen, and count again.
    store.close().await;
    drop(store);
    let again = SqliteStore::open(Location::File(dir.path().join("g.db"))).unwrap();
    let count =
        carillon_store::read(&again as &dyn Store, |tx: &mut dyn Tx| tx.count_app_instances("111122223333", "us-east-1")).await.unwrap();
    assert_eq!(count as usize, expected);
}
