//! The fuzz entry points on inputs near valid ones (a signed request, then random edits), and
//! `Verifier::verify` on random `RequestParts`: nothing may panic.
//!
//! `CARILLON_SIGV4_FUZZ_N` scales the iteration counts (default 20,000) and
//! `CARILLON_SIGV4_FUZZ_SEED` changes the seed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

mod common;
mod signer;

use carillon_sigv4::{Credentials, RequestParts, Verifier, fuzz_parse_authorization, fuzz_verify, scope_from_unverified};
use common::{OwnedRequest, Rng};
use signer::{Body, Spec, T0, at, sign_spec};

/// The `fuzz_verify` encoding of a request.
fn encode(req: &OwnedRequest) -> Vec<u8> {
    let mut out = format!("{}\n{}\n{}\n", req.method, req.path, req.query.clone().unwrap_or_default()).into_bytes();
    for (n, v) in &req.headers {
        out.extend_from_slice(n.as_bytes());
        out.push(b':');
        out.extend_from_slice(v);
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(&req.body);
    out
}

fn iterations() -> usize {
    std::env::var("CARILLON_SIGV4_FUZZ_N").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000)
}

fn seed(salt: u64) -> u64 {
    std::env::var("CARILLON_SIGV4_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0) ^ salt
}

fn mutate(rng: &mut Rng, valid: &[u8]) -> Vec<u8> {
    let mut v = valid.to_vec();
    for _ in 0..1 + rng.below(3) {
        match rng.below(4) {
            0 if !v.is_empty() => {
                let i = rng.index(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.index(v.len() + 1);
                v.insert(i, rng.next_u64() as u8);
            }
            2 if !v.is_empty() => {
                let i = rng.index(v.len());
                v.remove(i);
            }
            _ => {
                let i = rng.index(v.len() + 1);
                v.insert(i, *rng.pick(b",=;/ \n%&:+"));
            }
        }
    }
    v
}

#[test]
fn fuzz_entry_points_near_valid_requests() {
    let mut rng = Rng(seed(99));
    let mut seeds = Vec::new();
    for presign in [None, Some(600)] {
        for checksum_header in [false, true] {
            let spec = Spec {
                presign_expires: presign,
                checksum_header: checksum_header && presign.is_none(),
                body_mode: Body::Bytes,
                headers: vec![("content-type".into(), "application/json".into()), ("x-amz-user-agent".into(), "a  b".into())],
                ..Spec::default()
            };
            let (req, _) = sign_spec(&spec);
            let encoded = encode(&req);
            assert!(fuzz_verify(&encoded), "{req:?}");
            seeds.push((encoded, req.header("authorization").map(<[u8]>::to_vec)));
        }
    }
    let mut accepted = 0;
    let total = iterations();
    for i in 0..total {
        let (seed, auth) = &seeds[i % seeds.len()];
        accepted += usize::from(fuzz_verify(&mutate(&mut rng, seed)));
        if let Some(auth) = auth {
            let m = mutate(&mut rng, auth);
            fuzz_parse_authorization(&m);
        }
    }
    // a few edits are harmless (header-name case, spaces the canonical form trims); the rest
    // must fail
    assert!(accepted < total / 10, "{accepted}");
}

#[test]
fn verify_random_request_parts() {
    let mut creds = Credentials::new();
    creds.insert("AKIDEXAMPLE", "secret", "123456789012").unwrap();
    let v = Verifier::new(creds);
    let mut rng = Rng(seed(5));
    const NAMES: &[&str] = &[
        "authorization",
        "Authorization",
        "x-amz-date",
        "date",
        "host",
        "x-amz-content-sha256",
        "x-amz-security-token",
        "X-Amz-Foo",
        "content-type",
        "",
    ];
    const PIECES: &[&str] = &[
        "AWS4-HMAC-SHA256 ",
        "Credential=AKIDEXAMPLE/20261128/us-east-1/chime/aws4_request",
        ", ",
        "SignedHeaders=host;x-amz-date",
        "Signature=",
        "0123456789abcdef",
        "20261128T120000Z",
        "Sat, 28 Nov 2026 12:00:00 GMT",
        "UNSIGNED-PAYLOAD",
        "X-Amz-Credential=",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "&",
        "=",
        "%2F",
        "%",
        "+",
        ";",
        "/",
        "\u{e9}",
        "\u{1F389}",
    ];
    for _ in 0..iterations() {
        let text = |rng: &mut Rng| -> String { (0..rng.below(6)).map(|_| *rng.pick(PIECES)).collect() };
        let headers: Vec<(String, Vec<u8>)> = (0..rng.below(6))
            .map(|_| {
                let mut value = text(&mut rng).into_bytes();
                if rng.chance(20) {
                    let n = rng.index(8);
                    value.extend(rng.bytes(n));
                }
                (rng.pick(NAMES).to_string(), value)
            })
            .collect();
        let body_len = rng.index(16);
        let req = OwnedRequest {
            method: rng.pick(&["GET", "POST", "", "G\nET"]).to_string(),
            path: text(&mut rng),
            query: rng.chance(70).then(|| text(&mut rng)),
            headers,
            body: rng.bytes(body_len),
        };
        let now = at(T0 + rng.range(-10_000, 10_000));
        req.with_parts(|p: &RequestParts<'_>| {
            let _ = v.verify(p, now);
            let _ = scope_from_unverified(p);
        });
    }
}
