//! The verifier proper.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::credentials::{Credentials, Entry};
use crate::date::{format_amz_date, parse_amz_date, parse_http_date, unix_seconds};
use crate::encoding::{hex32, is_sha256_hex, sanitize, trim_all_into, trim_spaces, uri_encode_into};
use crate::error::{AuthError, SignatureMismatch};
use crate::parse::{ALGORITHM, CredentialScope, Param, parse_authorization, parse_credential, parse_query, parse_signed_headers};

type HmacSha256 = Hmac<Sha256>;

/// The signing name (service) of the Chime SDK Identity API.
pub const SERVICE: &str = "chime";

/// How far (seconds) the request time may be from the server's `now`, either way.
pub const MAX_CLOCK_SKEW_SECS: u64 = 15 * 60;

/// The largest `X-Amz-Expires` accepted (seconds): 7 days.
pub const MAX_PRESIGNED_EXPIRES_SECS: u64 = 7 * 24 * 60 * 60;

/// `x-amz-*` request headers that a presigned request may carry unsigned. Every other request
/// header whose name starts with `x-amz-` must be in the signed headers.
///
/// The real signers and what they leave unsigned:
/// * aws-sdk-rust (`aws-sigv4` 1.6.4, `CanonicalRequest::headers` in
///   `src/http_request/canonical_request.rs`): when presigning (signature in the query) it
///   skips `x-amz-user-agent` and `x-amz-checksum-mode` ("The X-Amz-User-Agent and
///   x-amz-checksum-mode headers should not be signed if this is for a presigned URL"), and the
///   presigned request still carries them. With the signature in headers it signs every header
///   except its default `excluded_headers` (`authorization`, `user-agent`, `x-amzn-trace-id`,
///   `transfer-encoding`), none of which starts with `x-amz-`.
/// * botocore (`botocore/auth.py`, `SIGNED_HEADERS_BLACKLIST`): `connection`, `expect`,
///   `keep-alive`, `proxy-authenticate`, `proxy-authorization`, `te`, `trailer`,
///   `transfer-encoding`, `upgrade`, `user-agent`, `x-amzn-trace-id`: no `x-amz-` name.
/// * aws-sdk-js-v3 (`@smithy/signature-v4`, `ALWAYS_UNSIGNABLE_HEADERS` plus the `proxy-` and
///   `sec-` prefixes): `authorization`, `cache-control`, `connection`, `expect`, `from`,
///   `keep-alive`, `max-forwards`, `pragma`, `referer`, `te`, `trailer`, `transfer-encoding`,
///   `upgrade`, `user-agent`, `x-amzn-trace-id`: no `x-amz-` name; when presigning it hoists
///   the `x-amz-*` headers into the (signed) query.
///
/// `x-amzn-trace-id` (unsigned by all three) starts with `x-amzn-`, not `x-amz-`, so the rule
/// does not reach it.
pub const PRESIGNED_UNSIGNED_X_AMZ_HEADERS: &[&str] = &["x-amz-user-agent", "x-amz-checksum-mode"];

/// The payload hash of requests that do not sign their body: refused, since a captured request
/// could be replayed with another body.
const UNSIGNED_PAYLOAD: &[u8] = b"UNSIGNED-PAYLOAD";

/// Derived signing keys kept per credential scope; past this the cache is emptied.
const KEY_CACHE_CAPACITY: usize = 1024;

const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. \
Check your AWS Secret Access Key and signing method.";

/// The parts of an HTTP request the verifier needs, borrowed from the server's request.
#[derive(Clone, Copy)]
pub struct RequestParts<'a> {
    /// The method, as received (`GET`, `POST`, ...).
    pub method: &'a str,
    /// The path exactly as received on the request line (still percent-encoded), without the
    /// query; e.g. `/app-instances/arn%3Aaws%3Achime%3A...`. Empty means `/`.
    pub raw_path: &'a str,
    /// The raw query string (after `?`, without `#`), if any.
    pub raw_query: Option<&'a str>,
    /// Every header field in order; a repeated name appears once per value. Names in any case.
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The full body.
    pub body: &'a [u8],
}

impl fmt::Debug for RequestParts<'_> {
    /// Shows the method, path, header names and sizes: never header values or the query, which
    /// carry signatures and tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| *n).collect();
        f.debug_struct("RequestParts")
            .field("method", &self.method)
            .field("raw_path", &self.raw_path)
            .field("raw_query_len", &self.raw_query.map(str::len))
            .field("header_names", &names)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The 12-digit account id configured for the access key.
    pub account_id: String,
    /// The region of the credential scope (accepted as given: it is the caller's region).
    pub region: String,
    /// The access key id that signed the request.
    pub access_key_id: String,
}

/// The access key id and region a request claims, not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnverifiedScope {
    /// The access key id of the credential.
    pub access_key_id: String,
    /// The region of the credential scope.
    pub region: String,
}

/// The access key id and region from the `Authorization` header's `Credential=` or from the
/// `X-Amz-Credential` query parameter, WITHOUT verifying anything else (for the server's open
/// mode). `None` when neither is present or the credential is malformed.
pub fn scope_from_unverified(req: &RequestParts<'_>) -> Option<UnverifiedScope> {
    if let Some(value) = header_values(req.headers, b"authorization").next() {
        let auth = parse_authorization(value).ok()?;
        let scope = parse_credential(auth.credential).ok()?;
        return Some(UnverifiedScope { access_key_id: scope.access_key_id.to_owned(), region: scope.region.to_owned() });
    }
    let params = parse_query(req.raw_query?);
    let (_, credential) = params.iter().find(|(k, _)| &**k == b"X-Amz-Credential")?;
    let credential = std::str::from_utf8(credential).ok()?;
    let scope = parse_credential(credential).ok()?;
    Some(UnverifiedScope { access_key_id: scope.access_key_id.to_owned(), region: scope.region.to_owned() })
}

/// Verifies SigV4-signed requests against configured [`Credentials`].
///
/// Thread-safe (`Send + Sync`): share one per server. It keeps a small cache of derived signing
/// keys per credential scope, filled only by requests that verified.
pub struct Verifier {
    credentials: Credentials,
    service: Box<str>,
    keys: Mutex<HashMap<Box<str>, HmacSha256>>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = self.keys.lock().unwrap_or_else(PoisonError::into_inner).len();
        f.debug_struct("Verifier")
            .field("service", &self.service)
            .field("credentials", &self.credentials)
            .field("cached_signing_keys", &cached)
            .finish()
    }
}

/// Everything the two authentication forms agree on, once parsed.
struct Claim<'r> {
    scope: CredentialScope<'r>,
    signed_headers: &'r [u8],
    signature: &'r [u8],
    timestamp: [u8; 16],
    presigned: bool,
    date_header: bool,
}

impl Verifier {
    /// A verifier for the `chime` service.
    pub fn new(credentials: Credentials) -> Self {
        Self::with_service(credentials, SERVICE)
    }

    /// A verifier for another signing name (the published AWS test suite signs for `service`).
    pub fn with_service(credentials: Credentials, service: &str) -> Self {
        Verifier { credentials, service: service.into(), keys: Mutex::new(HashMap::new()) }
    }

    /// The configured credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The service the credential scope must name.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Verifies `req` at server time `now`.
    ///
    /// Failures: no `Authorization` header and no presigned query parameters ->
    /// `MissingAuthenticationToken`; an access key that is not configured ->
    /// `UnrecognizedClient`; anything else -> `InvalidSignature`.
    pub fn verify(&self, req: &RequestParts<'_>, now: SystemTime) -> Result<Caller, AuthError> {
        self.verify_in_stages(req, now)?
    }

    /// [`Verifier::verify`], telling where it stopped: the outer error is the one
    /// [`Verifier::precheck`] gives (checked from the headers and the query alone), the inner result
    /// the signature's. A server that already has the whole request, because it has no body, calls
    /// this instead of both, so that the head is read once.
    pub fn verify_in_stages(&self, req: &RequestParts<'_>, now: SystemTime) -> Result<Result<Caller, AuthError>, AuthError> {
        let params = query_params(req)?;
        let (entry, claim) = self.claim(req, &params, unix_seconds(now))?;
        let signed = check_headers(req, &claim)?;
        let declared = declared_payload_hash(req, &params, claim.presigned)?;
        Ok(self.check_signature(req, &params, entry, &claim, &signed, declared))
    }

    /// Everything [`Verifier::verify`] checks that does not need the body, from the headers and
    /// the query alone: credentials present, a configured key, the service and region of the
    /// scope, the request time, the signed headers and the form of a declared payload hash.
    /// `req.body` is not read. A server calls it before reading a body, so that a request with no
    /// valid credential never gets its body buffered, and then calls `verify` on the whole request.
    pub fn precheck(&self, req: &RequestParts<'_>, now: SystemTime) -> Result<(), AuthError> {
        let params = query_params(req)?;
        let (_, claim) = self.claim(req, &params, unix_seconds(now))?;
        check_headers(req, &claim)?;
        declared_payload_hash(req, &params, claim.presigned)?;
        Ok(())
    }

    /// The claim of either form, with the key it names, checked up to the signature.
    fn claim<'r>(&self, req: &RequestParts<'r>, params: &'r [Param<'r>], now: i64) -> Result<(&Entry, Claim<'r>), AuthError> {
        let mut authorizations = header_values(req.headers, b"authorization");
        let authorization = authorizations.next();
        let repeated = authorizations.next().is_some();
        let presigned = params.iter().any(|(k, _)| matches!(&**k, b"X-Amz-Algorithm" | b"X-Amz-Credential" | b"X-Amz-Signature"));
        match (authorization, presigned) {
            (None, false) => Err(AuthError::missing()),
            (Some(_), true) => Err(AuthError::invalid(
                "Only one authentication method is allowed: an Authorization header or presigned query parameters, not both",
            )),
            (Some(_), false) if repeated => Err(AuthError::invalid("The request has more than one Authorization header")),
            (Some(value), false) => self.header_claim(req, value, now),
            (None, true) => self.presigned_claim(params, now),
        }
    }

    fn lookup(&self, scope: &CredentialScope<'_>) -> Result<&Entry, AuthError> {
        let entry = self.credentials.get(scope.access_key_id).ok_or_else(AuthError::unrecognized)?;
        if scope.service != &*self.service {
            return Err(AuthError::invalid(format!("Credential should be scoped to correct service: '{}'", self.service)));
        }
        if !crate::is_region_name(scope.region) {
            return Err(AuthError::invalid(format!(
                "Credential region '{}' is not a region name such as us-east-1 (lower case)",
                sanitize(scope.region.as_bytes(), 63)
            )));
        }
        Ok(entry)
    }

    fn header_claim<'r>(&self, req: &RequestParts<'r>, authorization: &'r [u8], now: i64) -> Result<(&Entry, Claim<'r>), AuthError> {
        let auth = parse_authorization(authorization).map_err(AuthError::invalid)?;
        let scope = parse_credential(auth.credential).map_err(AuthError::invalid)?;
        let entry = self.lookup(&scope)?;
        let (timestamp, time, date_header) = match single_header(req, b"x-amz-date")? {
            Some(value) => {
                let value = trim_spaces(value);
                let time = parse_amz_date(value).ok_or(AuthError::invalid("x-amz-date must have the form YYYYMMDDTHHMMSSZ"))?;
                (to_timestamp(value)?, time, false)
            }
            None => match single_header(req, b"date")? {
                Some(value) => {
                    let value = trim_spaces(value);
                    let time = parse_http_date(value)
                        .or_else(|| parse_amz_date(value))
                        .ok_or(AuthError::invalid("The Date header is not a valid HTTP date"))?;
                    let timestamp = format_amz_date(time).ok_or(AuthError::invalid("The Date header is out of range"))?;
                    (timestamp, time, true)
                }
                None => {
                    return Err(AuthError::invalid("Authorization header requires an x-amz-date or Date header"));
                }
            },
        };
        check_scope_date(&scope, &timestamp)?;
        check_clock(time, now)?;
        let claim =
            Claim { scope, signed_headers: auth.signed_headers, signature: auth.signature, timestamp, presigned: false, date_header };
        Ok((entry, claim))
    }

    fn presigned_claim<'r>(&self, params: &'r [Param<'r>], now: i64) -> Result<(&Entry, Claim<'r>), AuthError> {
        if required_param(params, "X-Amz-Algorithm")? != ALGORITHM.as_bytes() {
            return Err(AuthError::invalid("X-Amz-Algorithm must be AWS4-HMAC-SHA256"));
        }
        let credential = std::str::from_utf8(required_param(params, "X-Amz-Credential")?)
            .map_err(|_| AuthError::invalid("X-Amz-Credential is not valid text"))?;
        let scope = parse_credential(credential).map_err(AuthError::invalid)?;
        let entry = self.lookup(&scope)?;
        let date = required_param(params, "X-Amz-Date")?;
        let time = parse_amz_date(date).ok_or(AuthError::invalid("X-Amz-Date must have the form YYYYMMDDTHHMMSSZ"))?;
        let timestamp = to_timestamp(date)?;
        check_scope_date(&scope, &timestamp)?;
        let expires = parse_expires(required_param(params, "X-Amz-Expires")?)?;
        let expiry = time.saturating_add(expires);
        if now > expiry {
            return Err(AuthError::invalid(format!(
                "Request has expired: X-Amz-Date + X-Amz-Expires is {}, now is {}",
                show_time(expiry),
                show_time(now)
            )));
        }
        check_clock(time, now)?;
        let signed_headers = required_param(params, "X-Amz-SignedHeaders")?;
        let signature = required_param(params, "X-Amz-Signature")?;
        single_param(params, "X-Amz-Security-Token")?;
        let claim = Claim { scope, signed_headers, signature, timestamp, presigned: true, date_header: false };
        Ok((entry, claim))
    }

    /// The signature itself, over the body's hash (which a declared hash must equal).
    fn check_signature(
        &self,
        req: &RequestParts<'_>,
        params: &[Param<'_>],
        entry: &Entry,
        claim: &Claim<'_>,
        signed: &[&[u8]],
        declared: Option<&[u8]>,
    ) -> Result<Caller, AuthError> {
        let body = body_hash(req.body);
        let first: &[u8] = match declared {
            Some(value) if value.eq_ignore_ascii_case(&body) => value,
            Some(_) => return Err(AuthError::invalid("x-amz-content-sha256 does not match the SHA-256 of the body")),
            None => &body,
        };

        let (key, cached) = self.signing_key(entry, &claim.scope)?;
        let mut creq = Vec::with_capacity(256 + req.raw_path.len() * 2 + req.raw_query.map_or(0, str::len) * 2);
        canonical_request_prefix(req, params, claim.presigned, signed, claim.signed_headers, false, &mut creq);
        creq.extend_from_slice(first);
        // A key derived for this request is kept once the signature proves it right.
        let to_keep = (!cached).then(|| key.clone());
        let ok = signature_matches(&sign(key, claim, &creq), claim.signature);
        if !ok {
            let mut shown = Vec::with_capacity(creq.len());
            canonical_request_prefix(req, params, claim.presigned, signed, claim.signed_headers, true, &mut shown);
            shown.extend_from_slice(first);
            let mismatch = SignatureMismatch {
                canonical_request: String::from_utf8_lossy(&shown).into_owned(),
                string_to_sign: String::from_utf8_lossy(&string_to_sign(claim, &creq_hash(&shown))).into_owned(),
                signed_headers: String::from_utf8_lossy(claim.signed_headers).into_owned(),
                credential_scope: claim.scope.scope.to_owned(),
            };
            return Err(AuthError::invalid(SIGNATURE_MISMATCH).with_mismatch(mismatch));
        }
        if let Some(key) = to_keep {
            let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
            if keys.len() >= KEY_CACHE_CAPACITY {
                keys.clear();
            }
            keys.insert(claim.scope.credential.into(), key);
        }
        Ok(Caller {
            account_id: entry.account_id.to_string(),
            region: claim.scope.region.to_owned(),
            access_key_id: claim.scope.access_key_id.to_owned(),
        })
    }

    /// The signing key of a scope, ready to sign (its HMAC state with the key absorbed): from the
    /// cache, else derived (`cached` tells which). Keeping the keyed state rather than the key
    /// saves the two SHA-256 blocks of the key that every HMAC starts with.
    fn signing_key(&self, entry: &Entry, scope: &CredentialScope<'_>) -> Result<(HmacSha256, bool), AuthError> {
        if let Some(key) = self.keys.lock().unwrap_or_else(PoisonError::into_inner).get(scope.credential) {
            return Ok((key.clone(), true));
        }
        let derive = || {
            let k_date = hmac(&entry.k_secret, scope.date.as_bytes())?;
            let k_region = hmac(&k_date, scope.region.as_bytes())?;
            let k_service = hmac(&k_region, scope.service.as_bytes())?;
            let k_signing = hmac(&k_service, b"aws4_request")?;
            <HmacSha256 as Mac>::new_from_slice(&k_signing).ok()
        };
        derive().map(|k| (k, false)).ok_or(AuthError::invalid("signing key derivation failed"))
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Option<[u8; 32]> {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).ok()?;
    mac.update(data);
    Some(mac.finalize().into_bytes().into())
}

fn creq_hash(creq: &[u8]) -> [u8; 64] {
    hex32(&Sha256::digest(creq).into())
}

/// The SHA-256 of an empty body, in hex: what a GET or DELETE signs.
const EMPTY_BODY_HASH: &[u8; 64] = b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn body_hash(body: &[u8]) -> [u8; 64] {
    if body.is_empty() {
        return *EMPTY_BODY_HASH;
    }
    hex32(&Sha256::digest(body).into())
}

fn string_to_sign(claim: &Claim<'_>, creq_hash: &[u8; 64]) -> Vec<u8> {
    let mut sts = Vec::with_capacity(ALGORITHM.len() + 20 + claim.scope.scope.len() + 66);
    sts.extend_from_slice(ALGORITHM.as_bytes());
    sts.push(b'\n');
    sts.extend_from_slice(&claim.timestamp);
    sts.push(b'\n');
    sts.extend_from_slice(claim.scope.scope.as_bytes());
    sts.push(b'\n');
    sts.extend_from_slice(creq_hash);
    sts
}

/// The hex signature of a canonical request, with the signing key's HMAC state.
fn sign(mut key: HmacSha256, claim: &Claim<'_>, creq: &[u8]) -> [u8; 64] {
    key.update(&string_to_sign(claim, &creq_hash(creq)));
    hex32(&key.finalize().into_bytes().into())
}

/// Compares the expected lowercase hex signature with the one sent, in constant time (the
/// length of a well-formed signature is public).
fn signature_matches(expected: &[u8; 64], sent: &[u8]) -> bool {
    let Ok(sent) = <&[u8; 64]>::try_from(sent) else {
        return false;
    };
    let mut lower = [0u8; 64];
    for (d, s) in lower.iter_mut().zip(sent) {
        *d = s.to_ascii_lowercase();
    }
    bool::from(expected.ct_eq(&lower))
}

fn header_values<'h>(headers: &'h [(&'h str, &'h [u8])], name: &'h [u8]) -> impl Iterator<Item = &'h [u8]> + 'h {
    headers.iter().filter(move |(n, _)| n.as_bytes().eq_ignore_ascii_case(name)).map(|(_, v)| *v)
}

/// The value of a header that may appear at most once.
fn single_header<'r>(req: &RequestParts<'r>, name: &'static [u8]) -> Result<Option<&'r [u8]>, AuthError> {
    let mut values = header_values(req.headers, name);
    let first = values.next();
    if values.next().is_some() {
        return Err(AuthError::invalid(format!("The request has more than one '{}' header", String::from_utf8_lossy(name))));
    }
    Ok(first)
}

/// The decoded value of a query parameter that may appear at most once.
fn single_param<'q>(params: &'q [Param<'_>], name: &'static str) -> Result<Option<&'q [u8]>, AuthError> {
    let mut values = params.iter().filter(|(k, _)| &**k == name.as_bytes()).map(|(_, v)| &**v);
    let first = values.next();
    if values.next().is_some() {
        return Err(AuthError::invalid(format!("The query has more than one {name} parameter")));
    }
    Ok(first)
}

fn required_param<'q>(params: &'q [Param<'_>], name: &'static str) -> Result<&'q [u8], AuthError> {
    single_param(params, name)?.ok_or_else(|| AuthError::invalid(format!("Presigned request lacks the {name} parameter")))
}

fn to_timestamp(value: &[u8]) -> Result<[u8; 16], AuthError> {
    <[u8; 16]>::try_from(value).map_err(|_| AuthError::invalid("malformed request time"))
}

/// `X-Amz-Expires`: decimal seconds in 1..=604800.
fn parse_expires(value: &[u8]) -> Result<i64, AuthError> {
    const BAD: &str = "X-Amz-Expires must be a number of seconds from 1 to 604800";
    if value.is_empty() || value.len() > 7 || !value.iter().all(u8::is_ascii_digit) {
        return Err(AuthError::invalid(BAD));
    }
    let n = value.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
    if n == 0 || n > MAX_PRESIGNED_EXPIRES_SECS {
        return Err(AuthError::invalid(BAD));
    }
    i64::try_from(n).map_err(|_| AuthError::invalid(BAD))
}

fn check_scope_date(scope: &CredentialScope<'_>, timestamp: &[u8; 16]) -> Result<(), AuthError> {
    if timestamp.get(..8) == Some(scope.date.as_bytes()) {
        Ok(())
    } else {
        Err(AuthError::invalid(format!(
            "Credential date {} does not match the request date {}",
            scope.date,
            sanitize(timestamp.get(..8).unwrap_or_default(), 8)
        )))
    }
}

fn show_time(t: i64) -> String {
    match format_amz_date(t) {
        Some(s) => String::from_utf8_lossy(&s).into_owned(),
        None => format!("@{t}"),
    }
}

/// The request time must be within [`MAX_CLOCK_SKEW_SECS`] of `now`.
fn check_clock(time: i64, now: i64) -> Result<(), AuthError> {
    if time.abs_diff(now) <= MAX_CLOCK_SKEW_SECS {
        return Ok(());
    }
    let skew = MAX_CLOCK_SKEW_SECS.cast_signed();
    Err(AuthError::invalid(if time < now {
        format!(
            "Signature expired: {} is now earlier than {} ({} - 15 min.)",
            show_time(time),
            show_time(now.saturating_sub(skew)),
            show_time(now)
        )
    } else {
        format!(
            "Signature not yet current: {} is still later than {} ({} + 15 min.)",
            show_time(time),
            show_time(now.saturating_add(skew)),
            show_time(now)
        )
    }))
}

/// The decoded query; a parameter named twice is refused, so that what the signature covers
/// and what a router reads (one value) cannot differ.
fn query_params<'q>(req: &RequestParts<'q>) -> Result<Vec<Param<'q>>, AuthError> {
    let params = match req.raw_query {
        Some(q) if !q.is_empty() => parse_query(q),
        _ => Vec::new(),
    };
    let mut keys: Vec<&[u8]> = params.iter().map(|(k, _)| &**k).collect();
    keys.sort_unstable();
    if let Some(pair) = keys.windows(2).find(|w| w.first() == w.get(1)) {
        let name = pair.first().copied().unwrap_or_default();
        return Err(AuthError::invalid(format!("The query names the parameter '{}' more than once", sanitize(name, 64))));
    }
    Ok(params)
}

/// The checks on the signed-headers list: `host` (and `date` when it gives the time) signed,
/// every `x-amz-*` header signed, every signed header present. Returns the parsed list.
fn check_headers<'c>(req: &RequestParts<'_>, claim: &Claim<'c>) -> Result<Vec<&'c [u8]>, AuthError> {
    let signed = parse_signed_headers(claim.signed_headers).map_err(AuthError::invalid)?;
    let is_signed = |name: &[u8]| signed.iter().any(|s| s.eq_ignore_ascii_case(name));
    if !is_signed(b"host") {
        return Err(AuthError::invalid("'host' must be a signed header"));
    }
    if claim.date_header && !is_signed(b"date") {
        return Err(AuthError::invalid("'date' must be a signed header when it gives the request time"));
    }
    for (name, _) in req.headers {
        let name = name.as_bytes();
        let amz = name.get(..6).is_some_and(|p| p.eq_ignore_ascii_case(b"x-amz-"));
        if amz
            && !is_signed(name)
            && !(claim.presigned && PRESIGNED_UNSIGNED_X_AMZ_HEADERS.iter().any(|e| e.as_bytes().eq_ignore_ascii_case(name)))
        {
            return Err(AuthError::invalid(format!("'{}' must be a signed header", sanitize(&name.to_ascii_lowercase(), 64))));
        }
    }
    for name in &signed {
        let mut present = false;
        for value in header_values(req.headers, name) {
            present = true;
            if value.iter().any(|&b| b == b'\r' || b == b'\n') {
                return Err(AuthError::invalid(format!("Signed header '{}' has a line break in its value", sanitize(name, 64))));
            }
        }
        if !present {
            return Err(AuthError::invalid(format!("Signed header '{}' is missing from the request", sanitize(name, 64))));
        }
    }
    Ok(signed)
}

/// A declared payload hash (`x-amz-content-sha256`, or `X-Amz-Content-Sha256` in a presigned
/// query), checked for its form: the hex SHA-256 the body must have. `UNSIGNED-PAYLOAD` is
/// refused: this service's signatures always cover the body.
fn declared_payload_hash<'q>(req: &RequestParts<'q>, params: &'q [Param<'_>], presigned: bool) -> Result<Option<&'q [u8]>, AuthError> {
    let declared = match single_header(req, b"x-amz-content-sha256")? {
        Some(value) => Some(trim_spaces(value)),
        None if presigned => single_param(params, "X-Amz-Content-Sha256")?,
        None => None,
    };
    match declared {
        Some(value) if value == UNSIGNED_PAYLOAD => {
            Err(AuthError::invalid("UNSIGNED-PAYLOAD is not accepted: the signature must cover the SHA-256 of the body"))
        }
        Some(value) if is_sha256_hex(value) => Ok(Some(value)),
        Some(_) => Err(AuthError::invalid("x-amz-content-sha256 must be the hex SHA-256 of the body")),
        None => Ok(None),
    }
}

fn is_sensitive_header(name: &[u8]) -> bool {
    name == b"x-amz-security-token" || name == b"authorization"
}

/// Writes the canonical request up to (not including) the payload hash:
/// method, canonical URI, canonical query, canonical headers, blank line, signed headers.
/// `redact` replaces token values (for the debug detail only).
fn canonical_request_prefix(
    req: &RequestParts<'_>,
    params: &[Param<'_>],
    presigned: bool,
    signed: &[&[u8]],
    signed_list: &[u8],
    redact: bool,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(req.method.as_bytes());
    out.push(b'\n');
    if req.raw_path.is_empty() {
        out.push(b'/');
    } else {
        uri_encode_into(req.raw_path.as_bytes(), true, out);
    }
    out.push(b'\n');
    canonical_query(params, presigned, redact, out);
    out.push(b'\n');
    for name in signed {
        out.extend_from_slice(name);
        out.push(b':');
        if redact && is_sensitive_header(name) {
            out.extend_from_slice(b"<redacted>");
        } else {
            for (i, value) in header_values(req.headers, name).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                trim_all_into(value, out);
            }
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed_list);
    out.push(b'\n');
}

/// Every parameter (but `X-Amz-Signature` when presigned) URI-encoded, sorted by encoded key,
/// then encoded value, joined as `k=v&k=v`.
fn canonical_query(params: &[Param<'_>], presigned: bool, redact: bool, out: &mut Vec<u8>) {
    let mut scratch = Vec::with_capacity(params.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() * 3);
    let mut pairs: Vec<(Range<usize>, Range<usize>)> = Vec::with_capacity(params.len());
    for (key, value) in params {
        if presigned && &**key == b"X-Amz-Signature" {
            continue;
        }
        let k_start = scratch.len();
        crate::encoding::uri_encode_into(key, false, &mut scratch);
        let v_start = scratch.len();
        if redact && &**key == b"X-Amz-Security-Token" {
            scratch.extend_from_slice(b"%3Credacted%3E");
        } else {
            crate::encoding::uri_encode_into(value, false, &mut scratch);
        }
        pairs.push((k_start..v_start, v_start..scratch.len()));
    }
    let slice = |r: &Range<usize>| scratch.get(r.clone()).unwrap_or_default();
    pairs.sort_unstable_by(|a, b| slice(&a.0).cmp(slice(&b.0)).then_with(|| slice(&a.1).cmp(slice(&b.1))));
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(slice(k));
        out.push(b'=');
        out.extend_from_slice(slice(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_body_hash_is_the_sha256_of_nothing() {
        assert_eq!(body_hash(b""), hex32(&Sha256::digest(b"").into()));
        assert_eq!(body_hash(b"{}"), hex32(&Sha256::digest(b"{}").into()));
    }
}
