//! ClientRequestToken: a Create or Register repeated with the same token, by the same account and
//! region, with the same parameters, answers what the first call answered and makes nothing new,
//! for as long as what it made exists. The same token with other parameters is a 400.

use crate::failure::TxResult;
use carillon_api::{ApiError, RequestContext};
use carillon_store::{IdempotencyKey, IdempotencyRecord, Tx};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A canonical form of a request's parameters: its JSON without the token.
pub fn fingerprint<T: Serialize>(input: &T) -> String {
    match serde_json::to_value(input) {
        Ok(serde_json::Value::Object(mut m)) => {
            m.shift_remove("ClientRequestToken");
            serde_json::Value::Object(m).to_string()
        }
        Ok(v) => v.to_string(),
        Err(_) => String::new(),
    }
}

pub fn key(ctx: &RequestContext, operation: &str, token: &str) -> IdempotencyKey {
    IdempotencyKey { account: ctx.account.clone(), region: ctx.region.clone(), operation: operation.into(), token: token.into() }
}

/// The first answer to this token, if it was given with the same parameters and what it made
/// still exists (`exists` tells); `None` to go ahead; 400 for the token with other parameters.
pub fn replay<T: DeserializeOwned>(
    tx: &mut dyn Tx,
    key: &IdempotencyKey,
    fingerprint: &str,
    exists: impl FnOnce(&mut dyn Tx, &T) -> TxResult<bool>,
) -> TxResult<Option<T>> {
    let Some(record) = tx.get_idempotency(key)? else { return Ok(None) };
    if record.fingerprint != fingerprint {
        return Err(ApiError::bad_request("The ClientRequestToken was already used with different parameters.").into());
    }
    let Ok(answer) = serde_json::from_str::<T>(&record.response) else { return Ok(None) };
    if exists(tx, &answer)? { Ok(Some(answer)) } else { Ok(None) }
}

/// Records the answer to this token.
pub fn remember<T: Serialize>(
    tx: &mut dyn Tx,
    key: &IdempotencyKey,
    fingerprint: &str,
    resource_arn: &str,
    app_instance_arn: &str,
    answer: &T,
    now_ms: i64,
) -> TxResult<()> {
    let response = serde_json::to_string(answer).map_err(|_| ApiError::internal("The service failed to process the request."))?;
    tx.put_idempotency(
        key,
        &IdempotencyRecord {
            fingerprint: fingerprint.into(),
            resource_arn: resource_arn.into(),
            app_instance_arn: app_instance_arn.into(),
            response,
            created_ms: now_ms,
        },
    )?;
    Ok(())
}
