//! An AppInstance's channel retention (`docs/behaviour.md`, "Messaging"): messages created over
//! RetentionDays ago are hidden at once, and deleted for good by the sweep once the retention's
//! InitiateDeletionTimestamp (its Put plus 30 days) has passed.

use crate::app_instances::RETENTION_GRACE_MS;
use crate::failure::TxResult;
use crate::service::Service;
use carillon_api::ApiError;
use carillon_store::{AppInstanceRecord, Tx};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// The creation time before which `instance`'s retention hides messages; `None` without retention.
fn cutoff_of(instance: &AppInstanceRecord, now: i64) -> Option<i64> {
    instance.retention_days.map(|d| now.saturating_sub(i64::from(d).saturating_mul(DAY_MS)))
}

/// The cutoff of the AppInstance `app_instance_arn` (see [`cutoff_of`]).
pub(crate) fn cutoff(tx: &mut dyn Tx, app_instance_arn: &str, now: i64) -> TxResult<Option<i64>> {
    Ok(tx.get_app_instance(app_instance_arn)?.and_then(|a| cutoff_of(&a, now)))
}

/// The cutoff below which the sweep deletes `instance`'s messages: only once its retention's
/// deletion time has come.
fn deletion_cutoff(instance: &AppInstanceRecord, now: i64) -> Option<i64> {
    let due = instance.retention_set_ms.is_some_and(|set| now >= set.saturating_add(RETENTION_GRACE_MS));
    if due { cutoff_of(instance, now) } else { None }
}

/// Deletes the messages retention hides, in every AppInstance whose deletion time has come, a
/// batch per transaction, each batch checking the retention again. Returns how many.
pub async fn sweep(svc: &Service) -> Result<u64, ApiError> {
    const PAGE: usize = 100;
    const BATCH: usize = 1_000;
    let mut deleted = 0;
    let mut after = 0;
    loop {
        let page = svc.read(move |tx| Ok(tx.list_every_app_instance(after, PAGE)?)).await?;
        let Some(last) = page.last() else { return Ok(deleted) };
        after = last.seq;
        let now = svc.clock.now_ms();
        for instance in page.into_iter().filter(|i| deletion_cutoff(i, now).is_some()) {
            loop {
                let arn = instance.arn.clone();
                let n = svc
                    .write(move |tx| {
                        let Some(current) = tx.get_app_instance(&arn)? else { return Ok(0) };
                        match deletion_cutoff(&current, now) {
                            Some(before) => Ok(tx.delete_messages_before(&arn, before, BATCH)?),
                            None => Ok(0),
                        }
                    })
                    .await?;
                deleted += n;
                if n < BATCH as u64 {
                    break;
                }
            }
        }
    }
}
