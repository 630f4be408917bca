//! Requests signed by real SDKs, captured from their Chime SDK Identity clients:
//! * botocore (boto3, the AWS CLI), by `tests/data/gen_botocore.py`: header-signed calls (some
//!   with session tokens), presigned URLs, and `Date`-header signatures;
//! * aws-sdk-js-v3, by `tests/data/gen_js.mjs`: header-signed calls (with the
//!   `x-amz-content-sha256` and `x-amz-user-agent` headers the JS SDK signs) and URLs presigned
//!   by `@smithy/signature-v4` (which hoists `x-amz-*` headers into the query and hashes the
//!   body).
//!
//! All must verify; a changed byte must not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

mod common;

use std::time::{Duration, UNIX_EPOCH};

use carillon_sigv4::{AuthErrorKind, Credentials, Verifier};
use common::OwnedRequest;

const KEYS: &[(&str, &str)] =
    &[("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), ("carillon_dev", "s3cr3t:with:colons+and/slashes=")];

fn b64decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("base64"),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

struct Counts {
    vectors: usize,
    tokens: usize,
    presigned: usize,
    dated: usize,
}

fn check_vectors(file: &str) -> Counts {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let data: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut creds = Credentials::new();
    for (akid, secret) in KEYS {
        creds.insert(akid, secret, "123456789012").unwrap();
    }
    let verifier = Verifier::new(creds);
    let vectors = data["vectors"].as_array().unwrap();
    let (mut tokens, mut presigned, mut dated) = (0, 0, 0);
    for (i, v) in vectors.iter().enumerate() {
        let kind = v["kind"].as_str().unwrap();
        let req = OwnedRequest {
            method: v["method"].as_str().unwrap().into(),
            path: v["path"].as_str().unwrap().into(),
            query: v["query"].as_str().map(Into::into),
            headers: v["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| (h[0].as_str().unwrap().into(), h[1].as_str().unwrap().as_bytes().to_vec()))
                .collect(),
            body: b64decode(v["body_b64"].as_str().unwrap()),
        };
        let now = UNIX_EPOCH + Duration::from_secs(v["now"].as_u64().unwrap());
        let caller =
            req.with_parts(|p| verifier.verify(p, now)).unwrap_or_else(|e| panic!("vector {i} ({kind}): {e}\n{:?}\n{req:?}", e.detail()));
        assert_eq!(caller.region, v["region"].as_str().unwrap());
        assert_eq!(caller.access_key_id, v["access_key_id"].as_str().unwrap());
        tokens += usize::from(
            req.header("x-amz-security-token").is_some() || req.query.as_deref().is_some_and(|q| q.contains("X-Amz-Security-Token")),
        );
        presigned += usize::from(kind.starts_with("presigned"));
        dated += usize::from(kind == "date-header");

        // one byte changed in the path, and in the body when it is signed
        let mut m = req.clone();
        let last = m.path.pop().unwrap();
        m.path.push(if last == 'a' { 'b' } else { 'a' });
        let e = m.with_parts(|p| verifier.verify(p, now)).unwrap_err();
        assert_eq!(e.kind(), AuthErrorKind::InvalidSignature, "vector {i}: {e}");
        if !kind.starts_with("presigned") {
            let mut m = req.clone();
            m.body.push(b' ');
            let e = m.with_parts(|p| verifier.verify(p, now)).unwrap_err();
            assert_eq!(e.kind(), AuthErrorKind::InvalidSignature, "vector {i}: {e}");
        }
        if kind == "date-header" {
            // the Date header gives the time: another time fails, and so does dropping it
            let mut m = req.clone();
            let d = m.header_mut("date").unwrap();
            let at = d.len() - 5;
            d[at] = if d[at] == b'9' { b'8' } else { d[at] + 1 };
            assert!(m.with_parts(|p| verifier.verify(p, now)).is_err());
            let mut m = req.clone();
            m.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("date"));
            let e = m.with_parts(|p| verifier.verify(p, now)).unwrap_err();
            assert!(e.message().contains("x-amz-date or Date"), "{e}");
            // ... and the clock window applies to it
            let e = req.with_parts(|p| verifier.verify(p, now + Duration::from_secs(901))).unwrap_err();
            assert!(e.message().contains("Signature expired"), "{e}");
        }
    }
    Counts { vectors: vectors.len(), tokens, presigned, dated }
}

#[test]
fn botocore_signed_requests() {
    let c = check_vectors("botocore_vectors.json");
    assert_eq!((c.vectors, c.presigned, c.dated), (170, 40, 10));
    assert!(c.tokens > 10, "{}", c.tokens);
}

#[test]
fn aws_sdk_js_v3_signed_requests() {
    let c = check_vectors("js_vectors.json");
    assert_eq!((c.vectors, c.presigned, c.dated), (160, 40, 0));
    assert!(c.tokens > 10, "{}", c.tokens);
}
