//! The base of the service: the [`Service`] value (store, quotas, clock, pagination secret), its
//! health, the transaction wrappers every handler runs its rules through, and the one owner lock.
//! (LastUpdatedTimestamp's rule, always later than the stored value, is applied by the stores'
//! update statements, on the row as it is when they run.)

use crate::arn;
use crate::failure::{Failure, TxResult};
use crate::pagination::Pager;
use carillon_api::{ApiError, ErrorKind};
use carillon_store::{Store, StoreError, Tx};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use crate::clock::Clock;

/// Limits per account, AppInstance and user. AWS's defaults unless configured
/// (`docs/behaviour.md`, "Limits").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quotas {
    pub app_instances_per_account: u64,
    pub users_per_app_instance: u64,
    pub admins_per_app_instance: u64,
    pub endpoints_per_user: u64,
    pub bots_per_app_instance: u64,
    pub tags_per_resource: u64,
    pub channels_per_app_instance: u64,
    pub memberships_per_channel: u64,
    /// Channels a user or bot can be a member of.
    pub memberships_per_user: u64,
    pub moderators_per_channel: u64,
    pub sessions_per_user: u64,
    /// The push outbox keeps its newest this many entries (`docs/behaviour.md`, "Push
    /// notifications").
    pub push_outbox_limit: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            app_instances_per_account: 100,
            users_per_app_instance: 100_000,
            admins_per_app_instance: 100,
            endpoints_per_user: 10,
            bots_per_app_instance: 100,
            tags_per_resource: 50,
            channels_per_app_instance: 10_000_000,
            memberships_per_channel: 10_000,
            memberships_per_user: 20_000,
            moderators_per_channel: 1_000,
            sessions_per_user: 10,
            push_outbox_limit: 10_000,
        }
    }
}

/// The service: the store, the quotas, the clock and the pagination secret.
#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    pub(crate) quotas: Quotas,
    pub(crate) clock: Clock,
    pub(crate) pager: Pager,
    /// Set when a write failed because the store could not take it (disk full, read-only,
    /// unreachable); cleared by the next write that succeeds.
    writes_failing: Arc<AtomicBool>,
    /// Told when a delete queued a purge; wakes the purge loop to start at once. It keeps one
    /// wake-up for a loop that is not waiting yet, so none is lost while a purge runs.
    purge_queued: Arc<tokio::sync::Notify>,
}

/// What the health check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// Reads fail.
    Unavailable,
    /// Reads work but writes fail (a full or read-only disk).
    WritesFailing,
}

impl Service {
    /// Builds the service on an open store (reads the store's pagination secret).
    pub async fn new(store: Arc<dyn Store>, quotas: Quotas, clock: Clock) -> Result<Service, StoreError> {
        let secret = carillon_store::read(&*store, |tx: &mut dyn Tx| tx.token_secret()).await?;
        let pager = Pager::new(&secret).map_err(StoreError::Internal)?;
        Ok(Service { store, quotas, clock, pager, writes_failing: Default::default(), purge_queued: Default::default() })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn quotas(&self) -> &Quotas {
        &self.quotas
    }

    /// Notes that a delete queued a purge (`crate::purge`).
    pub(crate) fn purge_queued(&self) {
        self.purge_queued.notify_one();
    }

    /// Resolves once a delete has queued a purge since the last time it resolved: the signal of
    /// the server's one purge loop to start at once, so that an idle server has no reason to wake.
    /// A second waiter would take the loop's wake-ups.
    pub async fn purge_queued_wait(&self) {
        self.purge_queued.notified().await
    }

    /// Runs `f` as one write transaction; notes whether the store took it (for [`Service::health`]).
    pub(crate) async fn write<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnMut(&mut dyn Tx) -> TxResult<R> + Send + 'static,
    {
        let out = carillon_store::write(&*self.store, f).await.map_err(|f: Failure| f.0);
        self.note_write(out)
    }

    /// Runs `f`, a write of at most one statement that fails only where that statement changed
    /// nothing, as [`Service::write`] does: the store may send the statement on its own
    /// ([`carillon_store::Store::write_one`]).
    pub(crate) async fn write_one<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnMut(&mut dyn Tx) -> TxResult<R> + Send + 'static,
    {
        let out = carillon_store::write_one(&*self.store, f).await.map_err(|f: Failure| f.0);
        self.note_write(out)
    }

    /// Notes whether the store took a write (for [`Service::health`]).
    fn note_write<R>(&self, out: Result<R, ApiError>) -> Result<R, ApiError> {
        let failing = matches!(&out, Err(e) if e.kind == ErrorKind::ServiceUnavailable);
        if failing || out.is_ok() {
            self.writes_failing.store(failing, Ordering::Relaxed);
        }
        out
    }

    /// Deletes every resource in `scope` with everything derived from it, in one transaction
    /// (`docs/behaviour.md`, "Control plane"). The clock and anything outside the store are the
    /// caller's to reset.
    pub async fn reset(&self, scope: carillon_store::ResetScope) -> Result<carillon_store::ResetCounts, ApiError> {
        self.write(move |tx: &mut dyn Tx| Ok(tx.reset(&scope)?)).await
    }

    /// Runs `f` as one read transaction.
    pub(crate) async fn read<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnMut(&mut dyn Tx) -> TxResult<R> + Send + 'static,
    {
        carillon_store::read(&*self.store, f).await.map_err(|f: Failure| f.0)
    }

    /// Runs `f`, a read of at most one statement, which the store may run without a transaction
    /// around it ([`carillon_store::Store::read_one`]).
    pub(crate) async fn read_one<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnMut(&mut dyn Tx) -> TxResult<R> + Send + 'static,
    {
        carillon_store::read_one(&*self.store, f).await.map_err(|f: Failure| f.0)
    }

    /// Whether the store is usable: it reads, and, once a write failed for want of the store,
    /// a heartbeat write goes through again.
    pub async fn health(&self) -> Health {
        if self.store.check().await.is_err() {
            return Health::Unavailable;
        }
        if !self.writes_failing.load(Ordering::Relaxed) {
            return Health::Ok;
        }
        let now = self.clock.now_ms();
        match self.write(move |tx| Ok(tx.heartbeat(now)?)).await {
            Ok(()) => Health::Ok,
            Err(_) => Health::WritesFailing,
        }
    }
}

/// The owner of a collection whose rules a write checks (a quota, a uniqueness, that a parent
/// still exists) or that a delete empties. Every such write locks its owner first, so the rules
/// hold however many nodes race (see [`Tx::lock`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OwnerLock<'a> {
    /// An AppInstance, by its ARN as the request gave it: it owns users, bots, admins, endpoints
    /// and tags.
    AppInstance(&'a str),
    /// The AppInstance that an AppInstance, user or bot ARN belongs to; nothing for an ARN that
    /// names none (the request then fails its existence check).
    AppInstanceOf(&'a str),
    /// The AppInstances of an account in a region.
    AccountRegion { account: &'a str, region: &'a str },
    /// A channel, by its ARN: it owns its memberships, moderators and messages. Taken after its
    /// AppInstance's lock when a write takes both, so that no two writers wait on each other.
    Channel(&'a str),
}

/// Takes the store lock of `owner` for the rest of the transaction. The key strings are part of
/// the cluster protocol: nodes of different versions sharing one database must agree on them.
pub(crate) fn lock(tx: &mut dyn Tx, owner: OwnerLock<'_>) -> Result<(), StoreError> {
    match owner {
        OwnerLock::AppInstance(app_instance_arn) => tx.lock(app_instance_arn),
        OwnerLock::AppInstanceOf(any_arn) => match arn::resource(any_arn) {
            Some(r) => tx.lock(r.app_instance_arn()),
            None => Ok(()),
        },
        OwnerLock::AccountRegion { account, region } => tx.lock(&format!("app-instances/{account}/{region}")),
        OwnerLock::Channel(channel_arn) => tx.lock(channel_arn),
    }
}
