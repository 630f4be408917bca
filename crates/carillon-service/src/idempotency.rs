//! ClientRequestToken: a Create or Register repeated with the same token, by the same account and
//! region, with the same parameters, answers what the first call answered and makes nothing new,
//! for as long as what it made exists. The same token with other parameters is a 400
//! (`docs/behaviour.md`, "Idempotency").

use crate::failure::TxResult;
use carillon_api::{ApiError, Operation, RequestContext};
use carillon_store::{IdempotencyKey, IdempotencyRecord, Tx};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An operation of either model: its name and the member carrying its idempotency token.
pub trait Idempotent: Copy {
    fn name(self) -> &'static str;
    fn idempotency_token(self) -> Option<&'static str>;
}

macro_rules! idempotent {
    ($($t:ty),*) => {$(
        impl Idempotent for $t {
            fn name(self) -> &'static str {
                <$t>::name(self)
            }
            fn idempotency_token(self) -> Option<&'static str> {
                <$t>::idempotency_token(self)
            }
        }
    )*};
}

idempotent!(Operation, carillon_api::messaging::Operation);

/// A canonical form of the parameters of a call of `op`: its input's JSON without the member
/// that carries the model's idempotency token.
pub fn fingerprint<T: Serialize>(op: impl Idempotent, input: &T) -> String {
    match serde_json::to_value(input) {
        Ok(serde_json::Value::Object(mut m)) => {
            if let Some(member) = op.idempotency_token() {
                m.shift_remove(member);
            }
            serde_json::Value::Object(m).to_string()
        }
        Ok(v) => v.to_string(),
        Err(_) => String::new(),
    }
}

/// The key of a call of `op` with `token`, by the caller's account and region.
pub fn key(ctx: &RequestContext, op: impl Idempotent, token: &str) -> IdempotencyKey {
    IdempotencyKey { account: ctx.account.clone(), region: ctx.region.clone(), operation: op.name().into(), token: token.into() }
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

#[cfg(test)]
mod tests {
    use super::*;
    use carillon_api::shapes::CreateAppInstanceRequest;

    fn create(name: &str, token: &str) -> CreateAppInstanceRequest {
        CreateAppInstanceRequest { name: name.into(), metadata: None, client_request_token: token.into(), tags: None }
    }

    #[test]
    fn the_fingerprint_leaves_out_the_models_token_member_only() {
        let op = Operation::CreateAppInstance;
        assert_eq!(fingerprint(op, &create("a", "t1")), fingerprint(op, &create("a", "t2")));
        assert_ne!(fingerprint(op, &create("a", "t1")), fingerprint(op, &create("b", "t1")));
        assert!(!fingerprint(op, &create("a", "t1")).contains("t1"));
    }
}
