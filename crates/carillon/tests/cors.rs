//! Browser pages of other origins (docs/behaviour.md, "CORS"): preflights, the headers of every
//! answer to an allowed origin, `--cors-origins`, and the control plane's refusal of pages whose
//! origin is not allowed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

mod signing;

use carillon::cors::Origins;
use carillon_testing::{Launch, TestServer, fresh_account, secret_of};
use signing::{Answer, Signer, send};
use std::net::SocketAddr;

const EXPOSED: &str = "x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, Date";

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A browser's preflight of a signed JSON `method` to `path` from `origin`.
fn preflight(addr: SocketAddr, path: &str, origin: &str, method: &str) -> Answer {
    let h = headers(&[
        ("origin", origin),
        ("access-control-request-method", method),
        ("access-control-request-headers", "authorization,content-type,x-amz-date,x-amz-user-agent"),
    ]);
    send(addr, "OPTIONS", path, &h, b"")
}

fn cors_headers(a: &Answer) -> Vec<&str> {
    a.headers.iter().filter(|(k, _)| k.to_ascii_lowercase().starts_with("access-control-")).map(|(k, _)| k.as_str()).collect()
}

fn varies_with_origin(a: &Answer) -> bool {
    a.headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("vary") && v.split(',').any(|p| p.trim().eq_ignore_ascii_case("origin")))
}

/// The 204 of a preflight from an allowed `origin`.
fn assert_preflight_allowed(a: &Answer, origin: &str) {
    assert_eq!(a.status, 204, "{origin}: {a:?}");
    assert_eq!(a.header("access-control-allow-origin"), Some(origin), "{a:?}");
    let methods: Vec<&str> = a.header("access-control-allow-methods").unwrap().split(',').map(str::trim).collect();
    for m in ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"] {
        assert!(methods.contains(&m), "{m}: {a:?}");
    }
    assert_eq!(a.header("access-control-allow-headers"), Some("authorization,content-type,x-amz-date,x-amz-user-agent"), "{a:?}");
    assert_eq!(a.header("access-control-max-age"), Some("600"), "{a:?}");
    assert!(varies_with_origin(a), "{a:?}");
    assert!(a.body.is_empty(), "{a:?}");
}

/// A refused preflight: 403 ForbiddenException without any Access-Control-* header.
fn assert_preflight_refused(a: &Answer, origin: &str) {
    assert_eq!((a.status, a.error_type()), (403, "ForbiddenException"), "{origin}: {a:?}");
    assert!(cors_headers(a).is_empty(), "{origin}: {a:?}");
    assert!(a.json()["Message"].as_str().unwrap().contains("--cors-origins"), "{a:?}");
}

/// The headers of a non-preflight answer to an allowed `origin`.
fn assert_answer_allowed(a: &Answer, origin: &str) {
    assert_eq!(a.header("access-control-allow-origin"), Some(origin), "{a:?}");
    assert_eq!(a.header("access-control-expose-headers"), Some(EXPOSED), "{a:?}");
    assert!(varies_with_origin(a), "{a:?}");
    assert!(a.header("access-control-allow-methods").is_none(), "{a:?}");
}

/// By default pages of localhost and 127.0.0.1 (any port, http or https) may call the API and
/// the control plane; a preflight from any other origin, `null` included, is 403 without a single
/// Access-Control-* header, on either. Preflights are no API operations: not journaled.
#[test]
fn preflights_on_the_api_and_the_control_plane() {
    let server = TestServer::start();
    let addr = server.addr();
    let paths = [
        ("/app-instances", "POST"),
        ("/app-instance-users/arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fa%2Fuser%2Fu/endpoints", "POST"),
        ("/_carillon/clock", "PUT"),
        ("/_carillon/reset", "POST"),
        ("/_carillon/health", "GET"),
        ("/_carillon/no-such-thing", "GET"),
    ];
    for (path, method) in paths {
        for origin in ["http://localhost:5173", "https://localhost", "http://127.0.0.1:3000", "https://127.0.0.1:8443"] {
            assert_preflight_allowed(&preflight(addr, path, origin, method), origin);
        }
        for origin in ["http://evil.example", "null", "http://localhost.evil.example", "http://127.0.0.2:8080", "file://"] {
            assert_preflight_refused(&preflight(addr, path, origin, method), origin);
        }
    }
    // without the header naming a method it is an ordinary OPTIONS request, which nothing answers
    let plain = send(addr, "OPTIONS", "/app-instances", &headers(&[("origin", "http://localhost:5173")]), b"");
    assert_eq!(plain.status, 404, "{plain:?}");
    assert_answer_allowed(&plain, "http://localhost:5173");
    // a preflight with no requested headers allows none
    let bare =
        send(addr, "OPTIONS", "/app-instances", &headers(&[("origin", "http://localhost"), ("access-control-request-method", "GET")]), b"");
    assert_eq!(bare.status, 204, "{bare:?}");
    assert!(bare.header("access-control-allow-headers").is_none(), "{bare:?}");

    let journal = send(addr, "GET", "/_carillon/requests", &[], b"").json();
    let methods: Vec<&str> = journal["Requests"].as_array().unwrap().iter().map(|r| r["Method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["OPTIONS"], "only the plain OPTIONS is an API request: {journal}");
}

/// Every other answer to an allowed origin, errors included, carries the origin, the exposed
/// headers and `Vary: Origin`; an answer to a request without `Origin` carries none of them, and
/// a page of a foreign origin still gets its API answer, without them (the browser keeps it
/// from the page).
#[test]
fn answers_to_an_allowed_origin_carry_the_cors_headers() {
    let server = TestServer::start();
    let addr = server.addr();
    let origin = "http://localhost:5173";
    let with = headers(&[("origin", origin), ("content-type", "application/json")]);
    let created = send(addr, "POST", "/app-instances", &with, br#"{"Name": "web", "ClientRequestToken": "token-1"}"#);
    assert_eq!(created.status, 201, "{created:?}");
    assert_answer_allowed(&created, origin);
    let arn = created.json()["AppInstanceArn"].as_str().unwrap().to_string();
    let encode = |arn: &str| arn.replace(':', "%3A").replace('/', "%2F");
    let encoded = encode(&arn);
    let missing = encode(&format!("{}/none", arn.rsplit_once('/').unwrap().0));
    for (method, path, body, status) in [
        ("GET", format!("/app-instances/{encoded}"), &b""[..], 200),
        ("GET", format!("/app-instances/{missing}"), b"", 404),
        ("POST", "/app-instances".to_string(), b"{not json", 400),
        ("GET", "/no-such-operation".to_string(), b"", 404),
        ("PUT", "/_carillon/clock".to_string(), br#"{"offset_seconds": 60}"#, 200),
        ("PUT", "/_carillon/clock".to_string(), b"[]", 400),
        ("GET", "/_carillon/health".to_string(), b"", 200),
        ("GET", "/_carillon/metrics".to_string(), b"", 200),
    ] {
        let a = send(addr, method, &path, &with, body);
        assert_eq!(a.status, status, "{method} {path}: {a:?}");
        assert_answer_allowed(&a, origin);
        if status >= 400 {
            assert!(a.header("x-amzn-ErrorType").is_some(), "{a:?}");
        }

        let without = send(addr, method, &path, &headers(&[("content-type", "application/json")]), body);
        assert_eq!(without.status, status, "{method} {path}: {without:?}");
        assert!(cors_headers(&without).is_empty() && without.header("vary").is_none(), "{method} {path}: {without:?}");
    }
    let foreign = send(addr, "GET", &format!("/app-instances/{encoded}"), &headers(&[("origin", "http://evil.example")]), b"");
    assert_eq!(foreign.status, 200, "{foreign:?}");
    assert!(cors_headers(&foreign).is_empty() && varies_with_origin(&foreign), "{foreign:?}");
}

/// A page of a foreign origin cannot use the control plane, whatever the method; health still
/// answers it.
#[test]
fn the_control_plane_refuses_a_foreign_origin_without_cors_headers() {
    let server = TestServer::start();
    let addr = server.addr();
    for origin in ["http://evil.example", "null"] {
        let r = send(addr, "PUT", "/_carillon/clock", &headers(&[("origin", origin)]), br#"{"offset_seconds": 86400}"#);
        assert_eq!((r.status, r.error_type()), (403, "ForbiddenException"), "{origin}: {r:?}");
        assert!(cors_headers(&r).is_empty(), "{origin}: {r:?}");
        let health = send(addr, "GET", "/_carillon/health", &headers(&[("origin", origin)]), b"");
        assert_eq!(health.status, 200, "{health:?}");
        assert!(cors_headers(&health).is_empty(), "{health:?}");
    }
    assert_eq!(server.service().clock().offset_ms(), 0);
}

/// `--cors-origins` replaces the default list: exactly its origins are allowed (scheme, host and
/// port), localhost no longer; `null` only with `*`, which allows every origin, the control plane
/// included, and echoes it.
#[test]
fn a_custom_list_and_star() {
    let list = TestServer::builder()
        .config(|c| c.cors_origins = Origins::parse("https://app.example.com, http://127.0.0.1:5173").unwrap())
        .start();
    let addr = list.addr();
    for origin in ["https://app.example.com", "http://127.0.0.1:5173"] {
        assert_preflight_allowed(&preflight(addr, "/app-instances", origin, "POST"), origin);
        assert_preflight_allowed(&preflight(addr, "/_carillon/clock", origin, "PUT"), origin);
        let r = send(addr, "PUT", "/_carillon/clock", &headers(&[("origin", origin)]), br#"{"offset_seconds": 60}"#);
        assert_eq!(r.status, 200, "{r:?}");
        assert_answer_allowed(&r, origin);
    }
    for origin in ["http://app.example.com", "https://app.example.com:443", "http://127.0.0.1:5174", "http://localhost:5173", "null"] {
        assert_preflight_refused(&preflight(addr, "/app-instances", origin, "POST"), origin);
        assert_preflight_refused(&preflight(addr, "/_carillon/clock", origin, "PUT"), origin);
        let r = send(addr, "PUT", "/_carillon/clock", &headers(&[("origin", origin)]), br#"{"offset_seconds": 120}"#);
        assert_eq!((r.status, r.error_type()), (403, "ForbiddenException"), "{origin}: {r:?}");
        assert!(cors_headers(&r).is_empty(), "{r:?}");
    }
    assert_eq!(list.service().clock().offset_ms(), 60_000);

    let star = TestServer::builder().config(|c| c.cors_origins = Origins::parse("*").unwrap()).start();
    let addr = star.addr();
    for origin in ["null", "http://evil.example", "https://anything.example:1"] {
        assert_preflight_allowed(&preflight(addr, "/_carillon/reset", origin, "POST"), origin);
        let r = send(addr, "PUT", "/_carillon/clock", &headers(&[("origin", origin)]), br#"{"offset_seconds": 60}"#);
        assert_eq!(r.status, 200, "{origin}: {r:?}");
        assert_answer_allowed(&r, origin);
    }
}

/// In sigv4 mode a preflight needs no signature (a browser sends none); the signed request that
/// follows, and its refusal when the signature is wrong, carry the CORS headers.
#[test]
fn sigv4_preflights_are_answered_unsigned() {
    let account = fresh_account();
    let server = TestServer::start_sigv4(&[&account]);
    let addr = server.addr();
    let origin = "http://127.0.0.1:8080";
    assert_preflight_allowed(&preflight(addr, "/app-instances", origin, "POST"), origin);
    assert_preflight_refused(&preflight(addr, "/app-instances", "http://evil.example", "POST"), "http://evil.example");
    // the control plane needs an operator's signature, but not for its preflight
    assert_preflight_allowed(&preflight(addr, "/_carillon/clock", origin, "PUT"), origin);

    let body = br#"{"Name": "signed", "ClientRequestToken": "token-1"}"#;
    let (target, mut h) = Signer::new(&account, &secret_of(&account)).sign(addr, "POST", "/app-instances", body);
    h.push(("origin".into(), origin.into()));
    let ok = send(addr, "POST", &target, &h, body);
    assert_eq!(ok.status, 201, "{ok:?}");
    assert_answer_allowed(&ok, origin);

    let (target, mut h) = Signer::new(&account, "wrong").sign(addr, "POST", "/app-instances", body);
    h.push(("origin".into(), origin.into()));
    let refused = send(addr, "POST", &target, &h, body);
    assert_eq!((refused.status, refused.error_type()), (403, "InvalidSignatureException"), "{refused:?}");
    assert_answer_allowed(&refused, origin);

    let unsigned = send(addr, "POST", "/app-instances", &headers(&[("origin", origin)]), body);
    assert_eq!((unsigned.status, unsigned.error_type()), (403, "MissingAuthenticationTokenException"), "{unsigned:?}");
    assert_answer_allowed(&unsigned, origin);
}

/// The binary reads the list from `--cors-origins` and `CARILLON_CORS_ORIGINS`; a bad list is a
/// one-line error and a non-zero exit.
#[test]
fn the_binary_reads_the_list_from_its_option_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let db = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    let origin = "https://app.example.com";
    for (i, launch) in [
        Launch::serve(env!("CARGO_BIN_EXE_carillon"), &db("a.db")).args(["--cors-origins", origin]),
        Launch::serve(env!("CARGO_BIN_EXE_carillon"), &db("b.db")).env("CARILLON_CORS_ORIGINS", origin),
    ]
    .into_iter()
    .enumerate()
    {
        let mut server = launch.start().unwrap_or_else(|e| panic!("launch {i}: {e}"));
        assert_preflight_allowed(&preflight(server.addr(), "/_carillon/clock", origin, "PUT"), origin);
        assert_preflight_refused(&preflight(server.addr(), "/_carillon/clock", "http://localhost", "PUT"), "http://localhost");
        server.terminate(std::time::Duration::from_secs(10)).unwrap();
    }
    let exit = Launch::serve(env!("CARGO_BIN_EXE_carillon"), &db("c.db"))
        .args(["--cors-origins", "https://app.example.com/"])
        .run_to_exit(std::time::Duration::from_secs(10))
        .unwrap();
    assert_ne!(exit.code, Some(0), "{exit:?}");
    let lines: Vec<&str> = exit.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{exit:?}");
    assert!(lines[0].contains("--cors-origins"), "{exit:?}");
}
