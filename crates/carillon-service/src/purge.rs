//! Large deletes (`docs/behaviour.md`, "Resources"). Deleting an AppInstance or a user removes its
//! row at once, so it is gone for every request and no quota counts it; when it has more than
//! [`INLINE_LIMIT`] children, they stay behind, unreachable, and a durable purge queued in the same
//! transaction removes them in the background, a short batch per transaction, so that no other
//! write waits long behind it. A purge cut by a crash resumes when the server starts again.

use crate::failure::TxResult;
use crate::service::{OwnerLock, Service, lock};
use carillon_api::ApiError;
use carillon_store::{PurgeKind, Tx};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The most children a delete still removes in its own transaction (a few milliseconds).
pub const INLINE_LIMIT: u64 = 100;

/// How long one batch should hold the write path; the batch size follows it.
const BATCH_TARGET_MS: u64 = 25;
const MIN_BATCH: usize = 100;
const MAX_BATCH: usize = 50_000;

/// Deletes `arn` and everything in it: at once when that is cheap, else its row now and the rest
/// through a queued purge. `None` when it does not exist; `Some(true)` when a purge was queued
/// (then the caller wakes the purge loop, `Service::purge_queued`).
pub(crate) fn remove(tx: &mut dyn Tx, kind: PurgeKind, arn: &str, now_ms: i64) -> TxResult<Option<bool>> {
    if kind == PurgeKind::User && tx.get_user(arn)?.is_some() {
        // A user leaves every channel with it, in the same transaction: its memberships (with
        // their preferences and read markers) and moderator roles; its messages stay.
        tx.delete_member_everywhere(arn)?;
    }
    let deferred = tx.count_children(kind, arn, INLINE_LIMIT + 1)? > INLINE_LIMIT;
    let existed = match (deferred, kind) {
        (true, _) => tx.detach(kind, arn, now_ms)?,
        (false, PurgeKind::AppInstance) => tx.delete_app_instance(arn)?,
        (false, PurgeKind::User) => tx.delete_user(arn)?,
    };
    Ok(existed.then_some(deferred))
}

/// Runs every queued purge to its end, oldest first, a batch per transaction; answers the rows
/// deleted. Purges queued meanwhile are taken too.
pub async fn run(svc: &Service) -> Result<u64, ApiError> {
    let mut batch = 1_000;
    let mut deleted = 0;
    loop {
        let jobs = svc.read(|tx| Ok(tx.pending_purges(16)?)).await?;
        if jobs.is_empty() {
            return Ok(deleted);
        }
        for job in jobs {
            loop {
                let held_us = Arc::new(AtomicU64::new(0));
                let (held, owner, limit) = (held_us.clone(), job.app_instance_arn.clone(), batch);
                let step = svc
                    .write(move |tx| {
                        let started = Instant::now();
                        // The AppInstance's lock, as every writer into it takes: a user created
                        // again there waits for this batch, then settles what is left.
                        lock(tx, OwnerLock::AppInstance(&owner))?;
                        let step = tx.purge_batch(job.seq, limit)?;
                        held.store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                        Ok(step)
                    })
                    .await?;
                deleted += step.deleted;
                if step.done {
                    break;
                }
                batch = next_batch(batch, held_us.load(Ordering::Relaxed));
            }
        }
    }
}

/// The next batch size, so that a batch holds the write path about `BATCH_TARGET_MS`.
fn next_batch(batch: usize, held_us: u64) -> usize {
    let target_us = BATCH_TARGET_MS * 1_000;
    let scaled = (batch as u64).saturating_mul(target_us).checked_div(held_us).map_or(batch * 2, |n| n as usize);
    // Move at most by half or double per batch, so one slow fsync does not swing it.
    scaled.clamp(batch / 2, batch * 2).clamp(MIN_BATCH, MAX_BATCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_follow_the_time_they_hold() {
        assert_eq!(next_batch(1_000, 12_500), 2_000, "twice as fast as the target: doubles");
        assert_eq!(next_batch(1_000, 25_000), 1_000);
        assert_eq!(next_batch(1_000, 400_000), 500, "far too slow: halves, no more");
        assert_eq!(next_batch(MIN_BATCH, 10_000_000), MIN_BATCH);
        assert_eq!(next_batch(MAX_BATCH, 1), MAX_BATCH);
        assert_eq!(next_batch(1_000, 0), 2_000);
    }
}
