//! Opaque, tamper-evident NextTokens for seek-based pages.
//!
//! A token carries the `seq` of the last item returned and an HMAC over that seq, the operation,
//! the list's parameters and the caller's account and region, made with a secret that the database
//! holds (so every node of a cluster, and every restart, accepts the same tokens). A page then
//! costs an index seek, whatever its depth.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use carillon_api::{ApiError, RequestContext};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const MAC_LEN: usize = 16;
pub const DEFAULT_PAGE: usize = 50;

#[derive(Clone)]
pub struct Pager {
    secret: Vec<u8>,
}

impl std::fmt::Debug for Pager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pager { secret: <hidden> }")
    }
}

impl Pager {
    pub fn new(secret: Vec<u8>) -> Self {
        Pager { secret }
    }

    fn mac(&self, op: &str, params: &str, ctx: &RequestContext, seq: i64) -> [u8; MAC_LEN] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
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

impl Pager {
    /// Cuts a page out of `rows`, which the store fetched with one row more than `limit`: the
    /// first `limit` rows, and a NextToken after the last of them when there was more.
    pub fn page<T>(
        &self,
        mut rows: Vec<T>,
        limit: usize,
        seq: impl Fn(&T) -> i64,
        op: &str,
        params: &str,
        ctx: &RequestContext,
    ) -> (Vec<T>, Option<String>) {
        if rows.len() <= limit {
            return (rows, None);
        }
        rows.truncate(limit);
        let token = rows.last().map(|last| self.encode(op, params, ctx, seq(last)));
        (rows, token)
    }
}

/// The page size of a list request.
pub fn page_size(max_results: Option<i32>) -> usize {
    max_results.map(|m| m.clamp(1, 50) as usize).unwrap_or(DEFAULT_PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(account: &str) -> RequestContext {
        RequestContext { account: account.into(), region: "us-east-1".into(), request_id: "r".into() }
    }

    #[test]
    fn tokens_round_trip_and_bind_op_params_and_caller() {
        let p = Pager::new(b"secret".to_vec());
        let t = p.encode("ListAppInstanceUsers", "arn:a", &ctx("111122223333"), 42);
        assert_eq!(p.decode(Some(&t), "ListAppInstanceUsers", "arn:a", &ctx("111122223333")).unwrap(), 42);
        assert!(p.decode(Some(&t), "ListAppInstanceBots", "arn:a", &ctx("111122223333")).is_err());
        assert!(p.decode(Some(&t), "ListAppInstanceUsers", "arn:b", &ctx("111122223333")).is_err());
        assert!(p.decode(Some(&t), "ListAppInstanceUsers", "arn:a", &ctx("999999999999")).is_err());
        assert!(p.decode(Some(&t[..t.len() - 1]), "ListAppInstanceUsers", "arn:a", &ctx("111122223333")).is_err());
        let mut forged = t.clone().into_bytes();
        forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
        assert!(p.decode(Some(std::str::from_utf8(&forged).unwrap()), "ListAppInstanceUsers", "arn:a", &ctx("111122223333")).is_err());
        assert!(Pager::new(b"other".to_vec()).decode(Some(&t), "ListAppInstanceUsers", "arn:a", &ctx("111122223333")).is_err());
        assert_eq!(p.decode(None, "x", "", &ctx("1")).unwrap(), 0);
    }
}
