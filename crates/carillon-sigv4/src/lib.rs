//! Server-side AWS Signature Version 4 verification for Carillon.
//!
//! Pure: no I/O, no async runtime, no HTTP-library types. The server hands over the raw parts
//! of a request ([`RequestParts`]) and its clock; [`Verifier::verify`] answers with the
//! [`Caller`] (account id, region of the credential scope, access key id) or an [`AuthError`]
//! whose [kind](AuthErrorKind) maps onto `MissingAuthenticationToken`, `UnrecognizedClient` or
//! `InvalidSignature`.
//!
//! What is accepted:
//! * `Authorization: AWS4-HMAC-SHA256 Credential=AKID/YYYYMMDD/REGION/chime/aws4_request,
//!   SignedHeaders=..., Signature=...` with the time in `x-amz-date` (or, failing that, in a
//!   signed `Date` header); or a presigned query (`X-Amz-Algorithm`, `X-Amz-Credential`,
//!   `X-Amz-Date`, `X-Amz-Expires` in 1..=604800, `X-Amz-SignedHeaders`, `X-Amz-Signature`,
//!   optional `X-Amz-Security-Token`).
//! * The request time within 15 minutes of `now` and, when presigned, `now` not past
//!   `X-Amz-Date + X-Amz-Expires`; the credential date equal to the request date.
//! * `host` signed, every `x-amz-*` request header signed (but for
//!   [`PRESIGNED_UNSIGNED_X_AMZ_HEADERS`] in presigned requests).
//! * The canonical request of non-S3 services: the raw path percent-encoded once more (no
//!   normalization), the query decoded (`+` is a space), re-encoded and sorted, trimmed header
//!   values, and the payload hash, always the SHA-256 of the body received:
//!   `x-amz-content-sha256` (or a presigned `X-Amz-Content-Sha256`), when sent, must equal it;
//!   `UNSIGNED-PAYLOAD` is refused.
//! * A query that names a parameter once at most, and a credential scope whose region is a
//!   region name ([`is_region_name`]).
//! * [`Verifier::precheck`] runs every check that needs no body, so that a server can refuse a
//!   request before reading its body.
//!
//! Nothing here panics on any input; see [`fuzz_parse_authorization`] and [`fuzz_verify`].
//!
//! ```
//! use std::time::SystemTime;
//! use carillon_sigv4::{AuthErrorKind, Credentials, RequestParts, Verifier};
//!
//! let credentials: Credentials = "# ACCESS_KEY_ID:SECRET_ACCESS_KEY:ACCOUNT_ID\n\
//!     AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY:123456789012\n"
//!     .parse()?;
//! let verifier = Verifier::new(credentials);
//!
//! // From the server's request: the raw path and query as received, every header field.
//! let headers: &[(&str, &[u8])] = &[("host", b"localhost:8080")];
//! let req = RequestParts {
//!     method: "GET",
//!     raw_path: "/app-instances/arn%3Aaws%3Achime%3Aus-east-1%3A123456789012%3Aapp-instance%2Fx",
//!     raw_query: None,
//!     headers,
//!     body: b"",
//! };
//! match verifier.verify(&req, SystemTime::now()) {
//!     Ok(caller) => println!("{} in {}", caller.account_id, caller.region),
//!     Err(e) => assert_eq!(e.kind(), AuthErrorKind::MissingAuthenticationToken),
//! }
//! # Ok::<(), carillon_sigv4::CredentialsError>(())
//! ```

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]
#![warn(missing_docs)]

mod credentials;
mod date;
mod encoding;
mod error;
mod parse;
mod verifier;

use std::time::{Duration, UNIX_EPOCH};

pub use credentials::{Credentials, CredentialsError};
pub use error::{AuthError, AuthErrorKind, SignatureMismatch};
pub use verifier::{
    Caller, MAX_CLOCK_SKEW_SECS, MAX_PRESIGNED_EXPIRES_SECS, PRESIGNED_UNSIGNED_X_AMZ_HEADERS, RequestParts, SERVICE, UnverifiedScope,
    Verifier, scope_from_unverified,
};

/// True for a region name as AWS writes them, `[a-z]{2}(-[a-z]+)+-[0-9]+` (`us-east-1`,
/// `us-gov-west-1`), at most 63 characters. Any other signing region is refused: it would become
/// part of ARNs that the model's patterns reject.
pub fn is_region_name(s: &str) -> bool {
    // Every request checks its scope's region: split the bytes in place, without collecting.
    let lower = |p: &[u8]| !p.is_empty() && p.iter().all(u8::is_ascii_lowercase);
    let mut parts = s.as_bytes().split(|&b| b == b'-');
    let (Some(first), Some(last)) = (parts.next(), parts.next_back()) else {
        return false;
    };
    let mut middles = 0;
    for middle in parts {
        if !lower(middle) {
            return false;
        }
        middles += 1;
    }
    s.len() <= 63 && first.len() == 2 && lower(first) && middles > 0 && !last.is_empty() && last.iter().all(u8::is_ascii_digit)
}

/// Fuzz target: runs the `Authorization` header parser, then the credential-scope and
/// signed-headers parsers, on arbitrary bytes. Returns whether all three accepted them. Never
/// panics.
pub fn fuzz_parse_authorization(data: &[u8]) -> bool {
    let Ok(auth) = parse::parse_authorization(data) else {
        return false;
    };
    let scope = parse::parse_credential(auth.credential);
    let signed = parse::parse_signed_headers(auth.signed_headers);
    scope.is_ok() && signed.is_ok()
}

/// Fuzz target: the whole verifier on a request decoded from arbitrary bytes. Lines are
/// method, raw path, raw query, then `name:value` header lines up to an empty line; the rest is
/// the body. Verified with the key `AKIDEXAMPLE` (the AWS documentation's example secret,
/// account `123456789012`) for `chime`, at 2026-11-28T12:00:00Z. Returns whether it verified.
/// Never panics.
pub fn fuzz_verify(data: &[u8]) -> bool {
    let mut credentials = Credentials::new();
    if credentials.insert("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "123456789012").is_err() {
        return false;
    }
    let verifier = Verifier::new(credentials);
    let (method, rest) = split_line(data);
    let (path, rest) = split_line(rest);
    let (query, mut rest) = split_line(rest);
    let (method, path) = (String::from_utf8_lossy(method), String::from_utf8_lossy(path));
    let query = String::from_utf8_lossy(query);
    let mut fields: Vec<(String, &[u8])> = Vec::new();
    while !rest.is_empty() {
        let (line, after) = split_line(rest);
        rest = after;
        if line.is_empty() {
            break;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => (line.get(..colon).unwrap_or_default(), line.get(colon + 1..).unwrap_or_default()),
            None => (line, &[][..]),
        };
        fields.push((String::from_utf8_lossy(name).into_owned(), value));
    }
    let headers: Vec<(&str, &[u8])> = fields.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let body = rest;
    let req = RequestParts { method: &method, raw_path: &path, raw_query: Some(&query), headers: &headers, body };
    let _ = scope_from_unverified(&req);
    verifier.verify(&req, UNIX_EPOCH + Duration::from_secs(1_795_867_200)).is_ok()
}

/// The bytes up to the first `\n`, and those after it.
fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (data.get(..i).unwrap_or_default(), data.get(i + 1..).unwrap_or_default()),
        None => (data, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn region_names_have_a_two_letter_head_lower_case_words_and_a_number() {
        let longest = format!("us-{}-1", "a".repeat(58));
        for good in ["us-east-1", "us-gov-west-1", "ap-southeast-12", "xx-a-b-c-0", longest.as_str()] {
            assert!(is_region_name(good), "{good}");
        }
        let too_long = format!("us-{}-1", "a".repeat(59));
        for bad in
            ["", "-", "--", "us", "us-1", "us-east", "us-east-", "-east-1", "us--1", "us-east-1-", "usa-east-1", "us-éast-1", &too_long]
        {
            assert!(!is_region_name(bad), "{bad}");
        }
    }

    const VALID: &[u8] = b"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    /// Random bytes, biased towards the parser's delimiters.
    fn random_bytes(rng: &mut Rng) -> Vec<u8> {
        const ALPHABET: &[u8] =
            b"AWS4-HMAC-SHA256 ,=;/:%+&\t\n\rCredentialSignedHeadersSignatureaws4_request0123456789abcdef\xff\x00\xc3\xa9";
        let len = rng.below(160);
        (0..len).map(|_| if rng.below(4) == 0 { rng.next() as u8 } else { ALPHABET[rng.below(ALPHABET.len())] }).collect()
    }

    /// A valid input with a few random edits.
    fn mutate(rng: &mut Rng, valid: &[u8]) -> Vec<u8> {
        let mut v = valid.to_vec();
        for _ in 0..1 + rng.below(4) {
            match rng.below(5) {
                0 if !v.is_empty() => {
                    let i = rng.below(v.len());
                    v[i] ^= 1 << rng.below(8);
                }
                1 => {
                    let i = rng.below(v.len() + 1);
                    v.insert(i, rng.next() as u8);
                }
                2 if !v.is_empty() => {
                    let i = rng.below(v.len());
                    v.remove(i);
                }
                3 => {
                    let i = rng.below(v.len() + 1);
                    v.truncate(i);
                }
                _ => {
                    let i = rng.below(v.len() + 1);
                    let d = [b',', b'=', b';', b'/', b' ', b'\n', b'%', b'&'][rng.below(8)];
                    v.insert(i, d);
                }
            }
        }
        v
    }

    #[test]
    fn fuzz_parse_authorization_on_random_bytes() {
        assert!(fuzz_parse_authorization(VALID));
        let mut rng = Rng(7);
        let mut accepted = 0;
        for i in 0..100_000 {
            let data = if i % 2 == 0 { random_bytes(&mut rng) } else { mutate(&mut rng, VALID) };
            accepted += usize::from(fuzz_parse_authorization(&data));
        }
        // some mutations (e.g. inside the signature) still parse
        assert!(accepted > 100, "{accepted}");
    }

    #[test]
    fn fuzz_verify_on_random_bytes() {
        let mut rng = Rng(11);
        let template = [
            &b"GET\n/app-instances\nmax-results=1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261128%2Fus-east-1%2Fchime%2Faws4_request&X-Amz-Date=20261128T120000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00\nhost:localhost\n\n"[..],
            b"POST\n/x\n\nhost:localhost\nx-amz-date:20261128T120000Z\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n",
            b"authorization:",
            VALID,
            b"\n\n{\"a\":1}",
        ]
        .concat();
        for i in 0..20_000 {
            let data = if i % 2 == 0 { random_bytes(&mut rng) } else { mutate(&mut rng, &template) };
            fuzz_verify(&data);
        }
    }
}
