//! The web console's files (docs/behaviour.md, "Control plane"): served from the binary with their
//! type, never cached stale nor framed, without a signature in sigv4 mode (they hold no data, while
//! every control path with data still needs an operator's), and gone with `--control-plane off`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

mod signing;

use carillon_testing::TestServer;
use signing::{Signer, send, signed};

const ASSETS: [(&str, &str, &str); 4] = [
    ("/_carillon/console", "text/html; charset=utf-8", "<script src=\"/_carillon/console/app.js\""),
    ("/_carillon/console/", "text/html; charset=utf-8", "data-testid=\"resources\""),
    ("/_carillon/console/app.js", "text/javascript; charset=utf-8", "crypto.subtle"),
    ("/_carillon/console/app.css", "text/css; charset=utf-8", "font:"),
];

#[test]
fn the_console_is_served_without_a_signature_and_nothing_else_is() {
    let server = TestServer::builder().operator("OPERATORKEY", "operator/secret", "123456789012").start();
    let addr = server.addr();
    for (path, content_type, marker) in ASSETS {
        let r = send(addr, "GET", path, &[], b"");
        assert_eq!(r.status, 200, "{path}: {r:?}");
        assert_eq!(r.header("content-type"), Some(content_type), "{path}");
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        assert!(r.header("content-security-policy").unwrap().contains("frame-ancestors 'none'"), "{path}");
        let text = String::from_utf8(r.body.clone()).unwrap();
        assert!(text.contains(marker), "{path} lacks {marker:?}");
        // from any page's origin: the files hold no data
        let foreign = send(addr, "GET", path, &[("origin".into(), "http://evil.example".into())], b"");
        assert_eq!(foreign.status, 200, "{path}: {foreign:?}");
        let head = send(addr, "HEAD", path, &[], b"");
        assert_eq!((head.status, head.header("content-type"), head.body.len()), (200, Some(content_type), 0), "{path}");
    }
    // The page and its script name no host: everything else it loads is the server's own.
    let page = String::from_utf8(send(addr, "GET", "/_carillon/console", &[], b"").body).unwrap();
    assert!(!page.contains("http://") && !page.contains("https://"), "{page}");

    // Only those files are open: the data, a change, another path under the console, another method.
    for (method, path) in [
        ("GET", "/_carillon/state"),
        ("GET", "/_carillon/requests"),
        ("POST", "/_carillon/reset"),
        ("GET", "/_carillon/console/other.js"),
        ("GET", "/_carillon/consoles"),
        ("POST", "/_carillon/console"),
        ("DELETE", "/_carillon/console/app.js"),
    ] {
        let r = send(addr, method, path, &[], b"");
        assert_eq!((r.status, r.error_type()), (403, "MissingAuthenticationTokenException"), "{method} {path}: {r:?}");
    }
    // An operator asking for a file that does not exist gets 404, under the console's headers.
    let operator = Signer::new("OPERATORKEY", "operator/secret");
    let r = signed(addr, &operator, "GET", "/_carillon/console/other.js", b"");
    assert_eq!((r.status, r.error_type()), (404, "UnknownOperationException"), "{r:?}");
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    // and the same file, signed, is the same file
    let r = signed(addr, &operator, "GET", "/_carillon/console/app.js", b"");
    assert_eq!((r.status, r.header("content-type")), (200, Some("text/javascript; charset=utf-8")));
}

#[test]
fn the_console_is_off_with_the_control_plane() {
    let server = TestServer::builder().config(|c| c.control_plane = false).start();
    let addr = server.addr();
    for (path, _, _) in ASSETS {
        let r = send(addr, "GET", path, &[], b"");
        assert_eq!((r.status, r.error_type()), (404, "UnknownOperationException"), "{path}: {r:?}");
        assert!(!String::from_utf8_lossy(&r.body).contains("<html"), "{path}: {r:?}");
    }
    assert_eq!(send(addr, "GET", "/_carillon/health", &[], b"").status, 200);
}
