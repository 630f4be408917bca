//! Fuzz targets for the parsers a client reaches: the raw path and its labels, the query string,
//! the JSON body bound to each operation's input (all three through the server's own entry,
//! `Wire::resolve` then `Wire::bind`), the straight binding into typed inputs checked against that
//! full binding, and the SigV4 Authorization header and whole signed
//! requests (their parsers live in `carillon-sigv4`). Each target takes arbitrary bytes, must never
//! panic, and checks the invariants of its parser: every rejection is a 400 or 404 in protocol
//! shape, and every accepted value satisfies the model.
//!
//! Two drivers run them: [`driver`] (stable Rust, seeded, dictionary-guided mutation; CI runs a
//! short pass, `cargo run -p carillon-fuzz --release -- TARGET SECONDS` a long one), and the
//! libFuzzer targets under `fuzz/` for coverage-guided runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // fuzz targets report a broken invariant by panicking

pub mod driver;

use carillon_api::{ErrorKind, Operation, Request, Wire, route, validate};
use std::sync::LazyLock;

/// The same wire the server builds at start-up.
static WIRE: LazyLock<Wire> = LazyLock::new(|| Wire::load().expect("the committed model loads"));

/// A fuzz target: takes arbitrary bytes, panics only on a broken invariant.
pub type Target = fn(&[u8]);

/// All targets by name.
pub const TARGETS: &[(&str, Target)] =
    &[("path", path), ("query", query), ("body", body), ("direct", direct), ("authorization", authorization), ("sigv4", sigv4)];

/// The first byte picks one of eight operations, the rest is its body (or a List's query): the
/// straight binding into the typed input must accept nothing the full binding refuses, and give
/// the same input for what both accept (`carillon-api`'s `direct.rs`).
pub fn direct(data: &[u8]) {
    carillon_api::fuzz_direct_binding(&WIRE, data);
}

/// Arbitrary bytes as an Authorization header value (the SigV4 header parser).
pub fn authorization(data: &[u8]) {
    carillon_sigv4::fuzz_parse_authorization(data);
}

/// Arbitrary bytes split into a whole request (method, path, query, headers, body) and verified.
pub fn sigv4(data: &[u8]) {
    carillon_sigv4::fuzz_verify(data);
}

fn request<'a>(method: &'a str, raw_path: &'a str, raw_query: Option<&'a str>, body: &'a [u8]) -> Request<'a> {
    Request { method, raw_path, raw_query, headers: &[], body }
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
    match WIRE.resolve(request(method, &raw, None, b"")) {
        Ok(r) => {
            assert_eq!(r.operation().method(), method);
            for value in r.labels() {
                assert!(!value.is_empty() || raw.contains("//"), "a label is empty");
            }
        }
        Err(e) => assert_client_error(e.kind, "resolve path"),
    }
    if let Ok(s) = std::str::from_utf8(rest)
        && let Ok(decoded) = route::percent_decode(s)
    {
        assert!(decoded.len() <= s.len());
    }
}

/// Arbitrary bytes as the query string of three List operations, resolved and bound.
pub fn query(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    for (op, path) in [
        (Operation::ListAppInstanceUsers, "/app-instance-users"),
        (Operation::ListTagsForResource, "/tags"),
        (Operation::ListAppInstances, "/app-instances"),
    ] {
        match WIRE.resolve(request("GET", path, Some(&raw), b"")) {
            Ok(r) => {
                assert_eq!(r.operation(), carillon_api::ServedOperation::from(op));
                match WIRE.bind(&r) {
                    Ok(v) => check_valid(op, &v),
                    Err(e) => assert_client_error(e.kind, "bind query"),
                }
            }
            Err(e) => assert_client_error(e.kind, "resolve query"),
        }
    }
}

/// The first byte picks an operation; the rest is its JSON body, sent to the operation's own
/// template with every label an ARN.
pub fn body(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else { return };
    let op = Operation::ALL[pick as usize % Operation::ALL.len()];
    let (path, query) = op.request_uri().split_once('?').map_or((op.request_uri(), None), |(p, q)| (p, Some(q)));
    let raw: String = path
        .split('/')
        .map(|s| if s.starts_with('{') { "arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fx" } else { s })
        .collect::<Vec<_>>()
        .join("/");
    let r = WIRE.resolve(request(op.method(), &raw, query, rest)).expect("an operation's own template resolves to it");
    assert_eq!(r.operation(), carillon_api::ServedOperation::from(op));
    match WIRE.bind(&r) {
        Ok(v) => check_valid(op, &v),
        Err(e) => assert_client_error(e.kind, "bind body"),
    }
}

/// What binding accepted validates again.
fn check_valid(op: Operation, value: &serde_json::Value) {
    let def = WIRE.definition(op).expect("every operation is in the model");
    if let Some(shape) = &def.input {
        assert!(validate::validate(WIRE.identity_model(), shape, value).is_ok(), "bound input fails its own validation");
    }
}
