//! Verification cost, for information (`cargo test --release -p carillon-sigv4 --test
//! throughput -- --ignored --nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

mod common;
mod signer;

use std::time::Instant;

use carillon_sigv4::{Credentials, Verifier};
use signer::{ACCOUNT, AKID, Body, SECRET, Spec, T0, at, sign_spec};

#[test]
#[ignore = "a measurement, not a check"]
fn verifications_per_second() {
    let mut creds = Credentials::new();
    creds.insert(AKID, SECRET, ACCOUNT).unwrap();
    let v = Verifier::new(creds);
    let cases = [
        ("header-signed POST, 1 KiB body", Spec { body: vec![b'x'; 1024], ..Spec::default() }),
        ("presigned GET", Spec { method: "GET", body: vec![], presign_expires: Some(300), body_mode: Body::Unsigned, ..Spec::default() }),
    ];
    for (name, spec) in cases {
        let (req, _) = sign_spec(&spec);
        let n = 200_000;
        let started = Instant::now();
        for _ in 0..n {
            req.with_parts(|p| v.verify(p, at(T0))).unwrap();
        }
        let per = started.elapsed() / n;
        println!("{name}: {per:?} per verification ({:.0}/s on one core)", 1.0 / per.as_secs_f64());
    }
}
