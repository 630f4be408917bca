//! Opaque, tamper-evident NextTokens for seek-based pages.
//!
//! A token carries the `seq` of the last item returned and an HMAC over that seq, the operation,
//! the list's parameters and the caller's account and region, made with a secret that the database
//! holds (so every node of a cluster, and every restart, accepts the same tokens). A page then
//! costs an index seek, whatever its depth (`docs/behaviour.md`, "Pagination").
//!
//! `list_page` is the one way the five List operations page: token, page size, seek, next token.

use crate::failure::TxResult;
use crate::service::Service;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use carillon_api::{ApiError, Operation, RequestContext};
use carillon_store::{AdminRecord, AppInstanceRecord, BotRecord, EndpointRecord, Tx, UserRecord};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const MAC_LEN: usize = 16;
pub const DEFAULT_PAGE: usize = 50;

#[derive(Clone)]
pub struct Pager {
    /// The HMAC keyed with the database's secret, cloned for each token.
    key: Hmac<Sha256>,
}

impl std::fmt::Debug for Pager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pager { secret: <hidden> }")
    }
}

impl Pager {
    /// A pager signing with `secret` (HMAC takes keys of any length; an error here is a bug).
    pub fn new(secret: &[u8]) -> Result<Self, String> {
        let key = Hmac::<Sha256>::new_from_slice(secret).map_err(|e| format!("cannot key the pagination HMAC: {e}"))?;
        Ok(Pager { key })
    }

    fn mac(&self, op: &str, params: &str, ctx: &RequestContext, seq: i64) -> [u8; MAC_LEN] {
        let mut mac = self.key.clone();
        for part in ["v1", op, params, &ctx.account, &ctx.region] {
            mac.update(part.as_bytes());
            mac.update(&[0]);
        }
        mac.update(&seq.to_be_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// The token that continues after the item with `seq`.
    pub fn encode(&self, op: &str, params: &str, ctx: &RequestContext, seq: i64) -> String {
        let mut raw = Vec::with_capacity(8 + MAC_LEN);
        raw.extend_from_slice(&seq.to_be_bytes());
        raw.extend_from_slice(&self.mac(op, params, ctx, seq));
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The seq to continue after: 0 without a token; 400 for a token that was not made by
    /// [`Pager::encode`] for this operation, these parameters and this caller.
    pub fn decode(&self, token: Option<&str>, op: &str, params: &str, ctx: &RequestContext) -> Result<i64, ApiError> {
        let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(0) };
        let invalid = || ApiError::bad_request("The NextToken is not valid for this request.");
        let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
        if raw.len() != 8 + MAC_LEN {
            return Err(invalid());
        }
        let seq = i64::from_be_bytes(raw[..8].try_into().map_err(|_| invalid())?);
        let expected = self.mac(op, params, ctx, seq);
        // Constant-time comparison.
        let diff = expected.iter().zip(&raw[8..]).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff != 0 || seq < 0 {
            return Err(invalid());
        }
        Ok(seq)
    }
}

/// The page size of a list request.
pub fn page_size(max_results: Option<i32>) -> usize {
    max_results.map(|m| m.clamp(1, 50) as usize).unwrap_or(DEFAULT_PAGE)
}

/// What a list pages over: an item whose creation order (`seq`) is the seek key.
pub(crate) trait Listed {
    fn seq(&self) -> i64;
}

macro_rules! listed {
    ($($t:ty),*) => {$(
        impl Listed for $t {
            fn seq(&self) -> i64 {
                self.seq
            }
        }
    )*};
}

listed!(AppInstanceRecord, UserRecord, BotRecord, EndpointRecord);

/// An admin with the name of the user or bot it is.
impl Listed for (AdminRecord, Option<String>) {
    fn seq(&self) -> i64 {
        self.0.seq
    }
}

/// One page of the List operation `op` over the collection `scope` names (the parent's ARN, or
/// "" for the caller's AppInstances): checks the NextToken (400 when it was not made for this
/// operation, scope and caller), runs `fetch(tx, after, n)` in one read transaction (it checks
/// the parent exists and returns up to `n` items with `seq > after`, by `seq`), and returns the
/// page with the NextToken after its last item when there is more.
pub(crate) async fn list_page<T, F>(
    svc: &Service,
    ctx: &RequestContext,
    op: Operation,
    scope: &str,
    next_token: Option<&str>,
    max_results: Option<i32>,
    mut fetch: F,
) -> Result<(Vec<T>, Option<String>), ApiError>
where
    T: Listed + Send + 'static,
    F: FnMut(&mut dyn Tx, i64, usize) -> TxResult<Vec<T>> + Send + 'static,
{
    let after = svc.pager.decode(next_token, op.name(), scope, ctx)?;
    let limit = page_size(max_results);
    // One item more than the page shows whether another page follows.
    let mut rows = svc.read(move |tx| fetch(tx, after, limit + 1)).await?;
    if rows.len() <= limit {
        return Ok((rows, None));
    }
    rows.truncate(limit);
    let token = rows.last().map(|last| svc.pager.encode(op.name(), scope, ctx, last.seq()));
    Ok((rows, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(account: &str) -> RequestContext {
        RequestContext { account: account.into(), region: "us-east-1".into(), request_id: "r".into() }
    }

    #[test]
    fn tokens_round_trip_and_bind_op_params_and_caller() {
        let p = Pager::new(b"secret").unwrap();
        let t = p.encode("ListAppInstanceUsers", "arn:a", &ctx("111122223333"), 42);
        assert_eq!(p.decode(Some(&t), "ListAppInstanceUsers", "arn:a", &ctx("111122223333")).unwrap(), 42);
        assert!(p.decode(Some(&t), "ListAppInstanceBots", "arn:a", &ctx("111122223333")).is_err());
        assert!(p.decode(Some(&t), "ListAppInstanceUsers", "arn:b", &ctx("111122223333")).is_err());
        assert!(p.decode(Some(&t), "ListAppInstanceUsers", "arn:a", &ctx("999999999999")).is_err());
        assert!(p.decode(Some(&t[..t.len() - 1]), "ListAppInstanceUsers", "arn:a", &ctx("111122223333")).is_err());
        let mut forged = t.clone().into_bytes();
        forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
        assert!(p.decode(Some(std::str::from_utf8(&forged).unwrap()), "ListAppInstanceUsers", "arn:a", &ctx("111122223333")).is_err());
        assert!(Pager::new(b"other").unwrap().decode(Some(&t), "ListAppInstanceUsers", "arn:a", &ctx("111122223333")).is_err());
        assert_eq!(p.decode(None, "x", "", &ctx("1")).unwrap(), 0);
    }
}
