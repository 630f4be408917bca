//! Opaque, tamper-evident NextTokens for seek-based pages.
//!
//! A token carries the seek key of the last item returned (its `seq`, or for messages its
//! `(created_ms, seq)`) and an HMAC over that key, the operation,
//! the list's parameters and the caller's account and region, made with a secret that the database
//! holds (so every node of a cluster, and every restart, accepts the same tokens). A page then
//! costs an index seek, whatever its depth (`docs/behaviour.md`, "Pagination").
//!
//! `list_page` is the one way every List operation pages: token, page size, seek, next token.

use crate::failure::TxResult;
use crate::service::Service;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use carillon_api::{ApiError, RequestContext};
use carillon_store::{
    AdminRecord, AppInstanceRecord, BotRecord, ChannelFlowRecord, ChannelRecord, EndpointRecord, MembershipRecord, MessageRecord,
    ModeratorRecord, Tx, UserRecord,
};
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

    fn mac(&self, op: &str, params: &str, ctx: &RequestContext, key: &[i64]) -> [u8; MAC_LEN] {
        let mut mac = self.key.clone();
        for part in ["v1", op, params, &ctx.account, &ctx.region] {
            mac.update(part.as_bytes());
            mac.update(&[0]);
        }
        for part in key {
            mac.update(&part.to_be_bytes());
        }
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// The token that continues after the item with seek key `key`.
    pub fn encode<K: SeekKey>(&self, op: &str, params: &str, ctx: &RequestContext, key: &K) -> String {
        let parts = key.parts();
        let mut raw = Vec::with_capacity(8 * parts.len() + MAC_LEN);
        for part in &parts {
            raw.extend_from_slice(&part.to_be_bytes());
        }
        raw.extend_from_slice(&self.mac(op, params, ctx, &parts));
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The key to continue after: [`SeekKey::start`] without a token; 400 for a token that was
    /// not made by [`Pager::encode`] for this operation, these parameters and this caller.
    pub fn decode<K: SeekKey>(&self, token: Option<&str>, op: &str, params: &str, ctx: &RequestContext) -> Result<K, ApiError> {
        let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(K::start()) };
        let invalid = || ApiError::bad_request("The NextToken is not valid for this request.");
        let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
        if raw.len() != 8 * K::PARTS + MAC_LEN {
            return Err(invalid());
        }
        let (key_bytes, mac) = raw.split_at(8 * K::PARTS);
        let parts: Vec<i64> =
            key_bytes.chunks_exact(8).map(|c| c.try_into().map(i64::from_be_bytes)).collect::<Result<_, _>>().map_err(|_| invalid())?;
        let expected = self.mac(op, params, ctx, &parts);
        // Constant-time comparison.
        let diff = expected.iter().zip(mac).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff != 0 {
            return Err(invalid());
        }
        K::from_parts(&parts).ok_or_else(invalid)
    }
}

/// The position a page continues after: what a NextToken carries.
pub trait SeekKey: Sized + Send + 'static {
    /// How many integers the key has.
    const PARTS: usize;
    /// The position before the first item.
    fn start() -> Self;
    fn parts(&self) -> Vec<i64>;
    /// The key of `parts` (`PARTS` of them); `None` for one no item can have.
    fn from_parts(parts: &[i64]) -> Option<Self>;
}

/// A creation-order `seq`: the key of every list but the messages'.
impl SeekKey for i64 {
    const PARTS: usize = 1;
    fn start() -> Self {
        0
    }
    fn parts(&self) -> Vec<i64> {
        vec![*self]
    }
    fn from_parts(parts: &[i64]) -> Option<Self> {
        parts.first().copied().filter(|seq| *seq >= 0)
    }
}

/// A `(created_ms, seq)` position, as messages are listed by time and then by send order; `None`
/// before the first.
impl SeekKey for Option<(i64, i64)> {
    const PARTS: usize = 2;
    fn start() -> Self {
        None
    }
    fn parts(&self) -> Vec<i64> {
        let (ms, seq) = self.unwrap_or_default();
        vec![ms, seq]
    }
    fn from_parts(parts: &[i64]) -> Option<Self> {
        match parts {
            [ms, seq] if *seq >= 0 => Some(Some((*ms, *seq))),
            _ => None,
        }
    }
}

/// The page size of a list request.
pub fn page_size(max_results: Option<i32>) -> usize {
    max_results.map(|m| m.clamp(1, 50) as usize).unwrap_or(DEFAULT_PAGE)
}

/// What a list pages over: an item and its seek key (its creation order, `seq`, for most).
pub(crate) trait Listed {
    type Key: SeekKey;
    fn key(&self) -> Self::Key;
}

macro_rules! listed {
    ($($t:ty),*) => {$(
        impl Listed for $t {
            type Key = i64;
            fn key(&self) -> i64 {
                self.seq
            }
        }
    )*};
}

listed!(AppInstanceRecord, UserRecord, BotRecord, EndpointRecord, ChannelRecord, MembershipRecord, ModeratorRecord, ChannelFlowRecord);

/// An admin with the name of the user or bot it is.
impl Listed for (AdminRecord, Option<String>) {
    type Key = i64;
    fn key(&self) -> i64 {
        self.0.seq
    }
}

/// A membership of a user with its channel: by membership creation order.
impl Listed for (MembershipRecord, ChannelRecord) {
    type Key = i64;
    fn key(&self) -> i64 {
        self.0.seq
    }
}

/// Messages page by time, then send order.
impl Listed for MessageRecord {
    type Key = Option<(i64, i64)>;
    fn key(&self) -> Self::Key {
        Some((self.created_ms, self.seq))
    }
}

/// One page of the List operation `op` (its name) over the collection `scope` names (the
/// parent's ARN with any parameters that select or order the items, or "" for the caller's
/// AppInstances): checks the NextToken (400 when it was not made for this operation, scope and
/// caller), runs `fetch(tx, after, n)` in one read transaction (it checks the parent exists and
/// returns up to `n` items after the key `after`, in the list's order), and returns the page with
/// the NextToken after its last item when there is more.
pub(crate) async fn list_page<T, F>(
    svc: &Service,
    ctx: &RequestContext,
    op: &str,
    scope: &str,
    next_token: Option<&str>,
    max_results: Option<i32>,
    mut fetch: F,
) -> Result<(Vec<T>, Option<String>), ApiError>
where
    T: Listed + Send + 'static,
    F: FnMut(&mut dyn Tx, T::Key, usize) -> TxResult<Vec<T>> + Send + 'static,
    T::Key: Clone,
{
    let after: T::Key = svc.pager.decode(next_token, op, scope, ctx)?;
    let limit = page_size(max_results);
    // One item more than the page shows whether another page follows.
    let mut rows = svc.read(move |tx| fetch(tx, after.clone(), limit + 1)).await?;
    if rows.len() <= limit {
        return Ok((rows, None));
    }
    rows.truncate(limit);
    let token = rows.last().map(|last| svc.pager.encode(op, scope, ctx, &last.key()));
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
        let t = p.encode("ListAppInstanceUsers", "arn:a", &ctx("111122223333"), &42i64);
        assert_eq!(p.decode::<i64>(Some(&t), "ListAppInstanceUsers", "arn:a", &ctx("111122223333")).unwrap(), 42);
        assert!(p.decode::<i64>(Some(&t), "ListAppInstanceBots", "arn:a", &ctx("111122223333")).is_err());
        assert!(p.decode::<i64>(Some(&t), "ListAppInstanceUsers", "arn:b", &ctx("111122223333")).is_err());
        assert!(p.decode::<i64>(Some(&t), "ListAppInstanceUsers", "arn:a", &ctx("999999999999")).is_err());
        assert!(p.decode::<i64>(Some(&t[..t.len() - 1]), "ListAppInstanceUsers", "arn:a", &ctx("111122223333")).is_err());
        let mut forged = t.clone().into_bytes();
        forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
        assert!(
            p.decode::<i64>(Some(std::str::from_utf8(&forged).unwrap()), "ListAppInstanceUsers", "arn:a", &ctx("111122223333")).is_err()
        );
        assert!(Pager::new(b"other").unwrap().decode::<i64>(Some(&t), "ListAppInstanceUsers", "arn:a", &ctx("111122223333")).is_err());
        assert_eq!(p.decode::<i64>(None, "x", "", &ctx("1")).unwrap(), 0);
    }

    #[test]
    fn two_part_keys_round_trip_and_do_not_pass_for_one_part_keys() {
        let p = Pager::new(b"secret").unwrap();
        let c = ctx("111122223333");
        let t = p.encode("ListChannelMessages", "arn:c", &c, &Some((1_700_000_000_123i64, 7i64)));
        assert_eq!(p.decode::<Option<(i64, i64)>>(Some(&t), "ListChannelMessages", "arn:c", &c).unwrap(), Some((1_700_000_000_123, 7)));
        assert!(p.decode::<i64>(Some(&t), "ListChannelMessages", "arn:c", &c).is_err());
        assert!(p.decode::<Option<(i64, i64)>>(Some(&t), "ListChannelMessages", "arn:d", &c).is_err());
        assert_eq!(p.decode::<Option<(i64, i64)>>(None, "ListChannelMessages", "arn:c", &c).unwrap(), None);
    }
}
