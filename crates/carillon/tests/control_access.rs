//! Who may use the control plane (docs/behaviour.md, "Control plane"): in sigv4 mode only an
//! operator's credential (a fourth field `admin` in the credentials file), health excepted;
//! `--control-plane off` leaves only health.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

mod signing;

use aws_sdk_chimesdkidentity::types::{AppInstanceUserEndpointType, EndpointAttributes, ExpirationCriterion, ExpirationSettings};
use carillon_testing::{Launch, TestServer, fresh_account, pinpoint_arn, secret_of};
use serde_json::json;
use signing::{Signer, send, signed};

/// The attack of issue 11: a tenant marks another's endpoint INACTIVE, moves the clock two days
/// and runs the sweep, deleting the other's expiring user. Each step is refused, and nothing of
/// the other tenant's changes; an operator may do all three.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_cannot_drive_the_control_plane() {
    let (a, b, op) = (fresh_account(), fresh_account(), fresh_account());
    let server = TestServer::builder().sigv4(&[&a, &b]).operator("OPERATORKEY", "operator/secret", &op).start();
    let addr = server.addr();
    let cb = server.client_for(&b, "us-east-1");
    let instance = cb.create_app_instance().name("b").send().await.unwrap().app_instance_arn.unwrap();
    let expiring =
        ExpirationSettings::builder().expiration_days(1).expiration_criterion(ExpirationCriterion::CreatedTimestamp).build().unwrap();
    let user = cb
        .create_app_instance_user()
        .app_instance_arn(&instance)
        .app_instance_user_id("victim")
        .name("v")
        .expiration_settings(expiring)
        .send()
        .await
        .unwrap()
        .app_instance_user_arn
        .unwrap();
    let endpoint = cb
        .register_app_instance_user_endpoint()
        .app_instance_user_arn(&user)
        .r#type(AppInstanceUserEndpointType::Gcm)
        .resource_arn(pinpoint_arn(&b, "us-east-1"))
        .endpoint_attributes(EndpointAttributes::builder().device_token("t").build().unwrap())
        .send()
        .await
        .unwrap()
        .endpoint_id
        .unwrap();

    let attacker = Signer::new(&a, &secret_of(&a));
    let inactive =
        json!({"AppInstanceUserArn": user, "EndpointId": endpoint, "Status": "INACTIVE", "StatusReason": "INVALID_DEVICE_TOKEN"});
    let two_days = json!({"offset_seconds": 2 * 86_400});
    let marker = json!({"DeviceToken": "t", "StatusReason": "INVALID_DEVICE_TOKEN"});
    let steps: [(&str, &str, Vec<u8>); 6] = [
        ("PUT", "/_carillon/endpoint-state", inactive.to_string().into_bytes()),
        ("PUT", "/_carillon/clock", two_days.to_string().into_bytes()),
        ("POST", "/_carillon/expiration-sweep", Vec::new()),
        ("GET", "/_carillon/clock", Vec::new()),
        ("PUT", "/_carillon/push-failures", marker.to_string().into_bytes()),
        ("GET", "/_carillon/push-outbox", Vec::new()),
    ];
    for (method, path, body) in &steps {
        let r = signed(addr, &attacker, method, path, body);
        assert_eq!((r.status, r.error_type()), (403, "ForbiddenException"), "{method} {path}: {r:?}");
        assert!(r.json()["Message"].as_str().unwrap().contains("operator"), "{r:?}");
        // unsigned: no credentials at all
        let r = send(addr, method, path, &[], body);
        assert_eq!((r.status, r.error_type()), (403, "MissingAuthenticationTokenException"), "{method} {path}: {r:?}");
    }
    // a path the control plane does not have gives a non-operator nothing more to learn
    let r = signed(addr, &attacker, "GET", "/_carillon/no-such-thing", b"");
    assert_eq!((r.status, r.error_type()), (403, "ForbiddenException"), "{r:?}");
    // nothing changed: B's endpoint is ACTIVE, its user alive, the clock where it was
    let e = cb.describe_app_instance_user_endpoint().app_instance_user_arn(&user).endpoint_id(&endpoint).send().await.unwrap();
    assert_eq!(e.app_instance_user_endpoint.unwrap().endpoint_state.unwrap().status.as_str(), "ACTIVE");
    assert_eq!(server.service().clock().offset_ms(), 0);
    cb.describe_app_instance_user().app_instance_user_arn(&user).send().await.unwrap();

    // the operator may, and its key is also an ordinary caller of its own account
    let operator = Signer::new("OPERATORKEY", "operator/secret");
    for (method, path, body) in &steps {
        let r = signed(addr, &operator, method, path, body);
        assert_eq!(r.status, 200, "{method} {path}: {r:?}");
    }
    assert!(cb.describe_app_instance_user().app_instance_user_arn(&user).send().await.is_err(), "the sweep deleted the expired user");
    let mine = server.client_with("OPERATORKEY", "operator/secret", "us-east-1");
    let arn = mine.create_app_instance().name("ops").send().await.unwrap().app_instance_arn.unwrap();
    assert!(arn.contains(&format!(":{op}:app-instance/")), "{arn}");
    // an operator's wrong secret is still a bad signature
    let r = signed(addr, &Signer::new("OPERATORKEY", "wrong"), "GET", "/_carillon/clock", b"");
    assert_eq!((r.status, r.error_type()), (403, "InvalidSignatureException"), "{r:?}");
}

/// Health needs no signature, with GET or HEAD; HEAD answers like GET without a body.
#[test]
fn health_answers_get_and_head_unsigned() {
    let server = TestServer::builder().sigv4(&[&fresh_account()]).operator("OPERATORKEY", "operator/secret", &fresh_account()).start();
    let get = send(server.addr(), "GET", "/_carillon/health", &[], b"");
    assert_eq!(get.status, 200, "{get:?}");
    assert_eq!(get.json()["status"], "ok");
    let head = send(server.addr(), "HEAD", "/_carillon/health", &[], b"");
    assert_eq!(head.status, 200, "{head:?}");
    assert!(head.body.is_empty(), "{head:?}");
    assert!(head.header("x-amzn-RequestId").is_some(), "{head:?}");
}

/// `--control-plane off` (or CARILLON_CONTROL_PLANE=off): only health answers, every other
/// control path is 404 UnknownOperationException, whoever asks; the API is untouched.
#[test]
fn the_control_plane_can_be_switched_off() {
    let dir = tempfile::tempdir().unwrap();
    for (i, launch) in [
        Launch::serve(env!("CARGO_BIN_EXE_carillon"), &format!("sqlite://{}", dir.path().join("a.db").display()))
            .args(["--control-plane", "off"]),
        Launch::serve(env!("CARGO_BIN_EXE_carillon"), &format!("sqlite://{}", dir.path().join("b.db").display()))
            .env("CARILLON_CONTROL_PLANE", "off"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut server = launch.start().unwrap_or_else(|e| panic!("launch {i}: {e}"));
        let addr = server.addr();
        assert_eq!(send(addr, "GET", "/_carillon/health", &[], b"").status, 200);
        assert_eq!(send(addr, "HEAD", "/_carillon/health", &[], b"").status, 200);
        for (method, path, body) in [
            ("PUT", "/_carillon/clock", &br#"{"offset_seconds": 86400}"#[..]),
            ("GET", "/_carillon/clock", b""),
            ("POST", "/_carillon/expiration-sweep", b""),
            ("PUT", "/_carillon/endpoint-state", b"{}"),
            ("GET", "/_carillon/push-outbox", b""),
            ("DELETE", "/_carillon/push-failures", b""),
            ("GET", "/_carillon/nothing", b""),
        ] {
            let r = send(addr, method, path, &[], body);
            assert_eq!((r.status, r.error_type()), (404, "UnknownOperationException"), "{i}: {method} {path}: {r:?}");
        }
        assert_eq!(send(addr, "GET", "/app-instances", &[], b"").status, 200);
        server.terminate(std::time::Duration::from_secs(10)).unwrap();
    }
    // on, the default: open mode lets anyone move the clock
    let mut server = Launch::serve(env!("CARGO_BIN_EXE_carillon"), &format!("sqlite://{}", dir.path().join("c.db").display()))
        .args(["--control-plane", "on"])
        .start()
        .unwrap();
    assert_eq!(send(server.addr(), "PUT", "/_carillon/clock", &[], br#"{"offset_seconds": 60}"#).status, 200);
    server.terminate(std::time::Duration::from_secs(10)).unwrap();
}

/// A web page must not be able to drive a developer's local server: a request that carries an
/// `Origin` other than a page of localhost or 127.0.0.1 is refused on the control plane (health
/// excepted), in open mode too; `Origin: null` is never allowed. The API itself is not affected.
#[test]
fn a_browser_page_from_another_origin_cannot_use_the_control_plane() {
    let server = TestServer::start();
    let addr = server.addr();
    let set = br#"{"offset_seconds": 86400}"#;
    for origin in ["http://evil.example", "https://localhost.evil.example", "null", "http://127.0.0.2:8080", "file://"] {
        let r = send(addr, "PUT", "/_carillon/clock", &origin_header(origin), set);
        assert_eq!((r.status, r.error_type()), (403, "ForbiddenException"), "{origin}: {r:?}");
        assert!(r.header("access-control-allow-origin").is_none(), "{origin}: {r:?}");
        let health = send(addr, "GET", "/_carillon/health", &origin_header(origin), b"");
        assert_eq!(health.status, 200, "{origin}: {health:?}");
    }
    assert_eq!(send(addr, "GET", "/_carillon/clock", &[], b"").json()["offset_seconds"], 0, "no refused request moved the clock");
    for origin in ["http://localhost:5173", "https://localhost", "http://127.0.0.1:3000"] {
        let r = send(addr, "PUT", "/_carillon/clock", &origin_header(origin), set);
        assert_eq!(r.status, 200, "{origin}: {r:?}");
    }
    let r = send(addr, "GET", "/app-instances", &origin_header("http://evil.example"), b"");
    assert_eq!(r.status, 200, "{r:?}");
}

fn origin_header(origin: &str) -> Vec<(String, String)> {
    vec![("origin".to_string(), origin.to_string())]
}
