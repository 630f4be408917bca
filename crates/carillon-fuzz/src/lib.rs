//! Fuzz targets for the parsers a client reaches: the raw path and its labels, the query string,
//! the JSON body bound to each operation's input, and the SigV4 Authorization header and whole
//! signed requests (their parsers live in `carillon-sigv4`). Each target takes arbitrary bytes, must never panic, and checks the invariants of its
//! parser: every rejection is a 400 or 404 in protocol shape, and every accepted value satisfies
//! the model.
//!
//! Two drivers run them: [`driver`] (stable Rust, seeded, dictionary-guided mutation; CI runs a
//! short pass, `cargo run -p carillon-fuzz --release -- TARGET SECONDS` a long one), and the
//! libFuzzer targets under `fuzz/` for coverage-guided runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // fuzz targets report a broken invariant by panicking

pub mod driver;

use carillon_api::{ErrorKind, bind, model, route, validate};

/// All targets by name.
pub const TARGETS: &[(&str, fn(&[u8]))] =
    &[("path", path), ("query", query), ("body", body), ("authorization", authorization), ("sigv4", sigv4)];

/// Arbitrary bytes as an Authorization header value (the SigV4 header parser).
pub fn authorization(data: &[u8]) {
    carillon_sigv4::fuzz_parse_authorization(data);
}

/// Arbitrary bytes split into a whole request (method, path, query, headers, body) and verified.
pub fn sigv4(data: &[u8]) {
    carillon_sigv4::fuzz_verify(data);
}

fn assert_client_error(kind: ErrorKind, what: &str) {
    assert!(
        matches!(kind, ErrorKind::BadRequest | ErrorKind::UnknownOperation),
        "{what}: a client's input may only be refused as BadRequest or UnknownOperation, not {kind:?}"
    );
}

/// The first byte picks a method; the rest is a raw path (lossy UTF-8, as the HTTP layer hands
/// the server only valid request targets, but labels may decode to anything).
pub fn path(data: &[u8]) {
    let Some((&m, rest)) = data.split_first() else { return };
    let method = ["GET", "PUT", "POST", "DELETE", "PATCH"][m as usize % 5];
    let raw = String::from_utf8_lossy(rest);
    match route::route(model::model(), method, &raw, &[]) {
        Ok(r) => {
            assert_eq!(r.operation.method, method);
            for (name, value) in &r.labels {
                assert!(!value.is_empty() || raw.contains("//"), "label {name} is empty");
            }
        }
        Err(e) => assert_client_error(e.kind, "route"),
    }
    if let Ok(s) = std::str::from_utf8(rest)
        && let Ok(decoded) = route::percent_decode(s)
    {
        assert!(decoded.len() <= s.len());
    }
}

/// Arbitrary bytes as a query string, then routed to ListAppInstanceUsers and bound.
pub fn query(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    match route::parse_query(Some(&raw)) {
        Ok(pairs) => {
            let m = model::model();
            for op in ["ListAppInstanceUsers", "ListTagsForResource", "ListAppInstances"] {
                let op = m.operation(op).expect("in the model");
                match bind::bind(m, op, &[], &pairs, b"") {
                    Ok(v) => check_valid(op.input.as_deref(), &v),
                    Err(e) => assert_client_error(e.kind, "bind query"),
                }
            }
        }
        Err(e) => assert_client_error(e.kind, "query"),
    }
}

/// The first byte picks an operation; the rest is its JSON body.
pub fn body(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else { return };
    let m = model::model();
    let op = &m.operations[pick as usize % m.operations.len()];
    let labels: Vec<(String, String)> = op
        .segments
        .iter()
        .filter_map(|s| match s {
            carillon_api::model::Segment::Label(l) => Some((l.clone(), "arn:aws:chime:us-east-1:111122223333:app-instance/x".to_string())),
            _ => None,
        })
        .collect();
    match bind::bind(m, op, &labels, &[], rest) {
        Ok(v) => check_valid(op.input.as_deref(), &v),
        Err(e) => assert_client_error(e.kind, "bind body"),
    }
}

/// What binding accepted validates again, and converts to the operation's typed input.
fn check_valid(input: Option<&str>, value: &serde_json::Value) {
    if let Some(shape) = input {
        assert!(validate::validate(model::model(), shape, value).is_ok(), "bound input fails its own validation");
    }
}
