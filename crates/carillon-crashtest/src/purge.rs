//! A large delete cut by the kill: an AppInstance with more children than a delete removes in its
//! own transaction is deleted just before the kill, so its purge is queued but has not run. After
//! the restart it must be gone through the API at once (its users too, and no longer counted),
//! and once the run ends nothing of it may be left in the database and no purge left queued.

use crate::api::Outcome;
use aws_sdk_chimesdkidentity::Client;
use carillon_store::{PurgeKind, StoreError, Tx};

/// More users than `carillon_service::purge::INLINE_LIMIT` children.
pub const USERS: usize = carillon_service::purge::INLINE_LIMIT as usize + 20;

/// An AppInstance with many users, to be deleted at the kill.
#[derive(Debug, Clone)]
pub struct Doomed {
    pub account: String,
    pub instance: String,
    pub users: Vec<String>,
    /// Whether the delete was acknowledged before the kill.
    pub acknowledged: bool,
}

impl Doomed {
    pub async fn setup(c: &Client, account: &str, label: &str) -> Result<Doomed, String> {
        let instance = match Outcome::from_result(c.create_app_instance().name(format!("doomed {label}")).send().await) {
            Outcome::Ok(r) => r.app_instance_arn().unwrap_or_default().to_string(),
            o => return Err(format!("cannot create the AppInstance to delete: {}", o.short())),
        };
        let mut users = Vec::new();
        for chunk in (0..USERS).collect::<Vec<_>>().chunks(16) {
            let mut tasks = Vec::new();
            for n in chunk {
                let (c, instance) = (c.clone(), instance.clone());
                let id = format!("doomed-{n}");
                tasks.push(tokio::spawn(async move {
                    Outcome::from_result(
                        c.create_app_instance_user().app_instance_arn(instance).app_instance_user_id(id).name("d").send().await,
                    )
                }));
            }
            for t in tasks {
                match t.await.map_err(|e| e.to_string())? {
                    Outcome::Ok(r) => users.push(r.app_instance_user_arn().unwrap_or_default().to_string()),
                    o => return Err(format!("cannot create a user to delete: {}", o.short())),
                }
            }
        }
        Ok(Doomed { account: account.to_string(), instance, users, acknowledged: false })
    }

    /// Deletes the AppInstance; notes whether the server acknowledged it.
    pub async fn delete(&mut self, c: &Client) {
        self.acknowledged =
            matches!(Outcome::from_result(c.delete_app_instance().app_instance_arn(&self.instance).send().await), Outcome::Ok(_));
    }

    /// After the restart: gone through the API, deleted again if the kill left that unknown.
    pub async fn check(&self, c: &Client) -> Vec<String> {
        let mut bad = Vec::new();
        if !self.acknowledged {
            let o = Outcome::from_result(c.delete_app_instance().app_instance_arn(&self.instance).send().await);
            if !matches!(o, Outcome::Ok(_)) && !o.is_404() {
                bad.push(format!("deleting {} again after the restart: {}", self.instance, o.short()));
            }
        }
        let o = Outcome::from_result(c.describe_app_instance().app_instance_arn(&self.instance).send().await);
        if !o.is_404() {
            bad.push(format!("{} was deleted but DescribeAppInstance answers {}", self.instance, o.short()));
        }
        for u in [self.users.first(), self.users.last()].into_iter().flatten() {
            let o = Outcome::from_result(c.describe_app_instance_user().app_instance_user_arn(u).send().await);
            if !o.is_404() {
                bad.push(format!("{u} of a deleted AppInstance: DescribeAppInstanceUser answers {}", o.short()));
            }
        }
        match Outcome::from_result(c.list_app_instances().send().await) {
            Outcome::Ok(r) if r.app_instances().iter().any(|a| a.app_instance_arn() == Some(self.instance.as_str())) => {
                bad.push(format!("{} was deleted but is still listed", self.instance))
            }
            Outcome::Ok(_) => {}
            o => bad.push(format!("ListAppInstances of {}: {}", self.account, o.short())),
        }
        bad
    }
}

/// Once the server has stopped: nothing of any doomed AppInstance is left in the database and no
/// purge is queued.
pub async fn check_purged(database_url: &str, doomed: &[Doomed]) -> Vec<String> {
    let store: std::sync::Arc<dyn carillon_store::Store> = if let Some(path) = database_url.strip_prefix("sqlite://") {
        match carillon_store_sqlite::SqliteStore::open(carillon_store_sqlite::Location::File(path.into())) {
            Ok(s) => std::sync::Arc::new(s),
            Err(e) => return vec![format!("cannot open the database to check the purges: {e}")],
        }
    } else {
        match carillon_store_postgres::PostgresStore::connect(database_url).await {
            Ok(s) => std::sync::Arc::new(s),
            Err(e) => return vec![format!("cannot open the database to check the purges: {e}")],
        }
    };
    let arns: Vec<String> = doomed.iter().map(|d| d.instance.clone()).collect();
    let found = carillon_store::read(&*store, move |tx: &mut dyn Tx| {
        let mut left = Vec::new();
        for arn in &arns {
            left.push((arn.clone(), tx.count_children(PurgeKind::AppInstance, arn, u64::MAX)?, tx.get_app_instance(arn)?.is_some()));
        }
        Ok::<_, StoreError>((left, tx.pending_purges(100)?))
    })
    .await;
    store.close().await;
    let mut bad = Vec::new();
    match found {
        Ok((left, queued)) => {
            for (arn, rows, row) in left {
                if rows > 0 || row {
                    bad.push(format!("{rows} rows of the deleted {arn} are still stored (its own row: {row})"));
                }
            }
            if !queued.is_empty() {
                bad.push(format!("{} purges still queued at the end: {queued:?}", queued.len()));
            }
        }
        Err(e) => bad.push(format!("cannot read the database to check the purges: {e}")),
    }
    bad
}
