//! sigv4 mode through aws-sdk-chimesdkidentity: the endpoint lifecycle with a configured
//! credential, and the SDK's view of each authentication failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

mod signing;

use aws_sdk_chimesdkidentity::types::{AllowMessages, AppInstanceUserEndpointType, EndpointAttributes};
use carillon_testing::{TestServer, error_of, fresh_account, pinpoint_arn, secret_of};
use signing::{Signer, head, read_answer, send, signed};
use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

#[tokio::test]
async fn the_endpoint_lifecycle_signed() {
    let account = fresh_account();
    let server = TestServer::start_sigv4(&[&account]);
    let c = server.client_for(&account, "eu-central-1");
    let instance = c.create_app_instance().name("signed").send().await.unwrap().app_instance_arn().unwrap().to_string();
    assert!(instance.starts_with(&format!("arn:aws:chime:eu-central-1:{account}:app-instance/")), "{instance}");
    let user = c.create_app_instance_user().app_instance_arn(&instance).app_instance_user_id("sig:v4@user").name("n").send().await.unwrap();
    let user = user.app_instance_user_arn().unwrap().to_string();
    let id = c
        .register_app_instance_user_endpoint()
        .app_instance_user_arn(&user)
        .r#type(AppInstanceUserEndpointType::Apns)
        .resource_arn(pinpoint_arn(&account, "eu-central-1"))
        .endpoint_attributes(EndpointAttributes::builder().device_token("t").build().unwrap())
        .send()
        .await
        .unwrap()
        .endpoint_id()
        .unwrap()
        .to_string();
    c.update_app_instance_user_endpoint()
        .app_instance_user_arn(&user)
        .endpoint_id(&id)
        .allow_messages(AllowMessages::None)
        .send()
        .await
        .unwrap();
    let d = c.describe_app_instance_user_endpoint().app_instance_user_arn(&user).endpoint_id(&id).send().await.unwrap();
    assert_eq!(d.app_instance_user_endpoint().unwrap().allow_messages(), Some(&AllowMessages::None));
    let l = c.list_app_instance_user_endpoints().app_instance_user_arn(&user).max_results(1).send().await.unwrap();
    assert_eq!(l.app_instance_user_endpoints().len(), 1);
    c.deregister_app_instance_user_endpoint().app_instance_user_arn(&user).endpoint_id(&id).send().await.unwrap();
    c.delete_app_instance_user().app_instance_user_arn(&user).send().await.unwrap();
    c.delete_app_instance().app_instance_arn(&instance).send().await.unwrap();
}

#[tokio::test]
async fn wrong_secret_and_unknown_keys_are_refused() {
    let account = fresh_account();
    let server = TestServer::start_sigv4(&[&account]);
    let wrong = server.client_with(&account, "not-the-secret", "us-east-1");
    let err = wrong.list_app_instances().send().await.unwrap_err();
    assert_eq!(error_of(&err), ("InvalidSignatureException".into(), 403));
    let unknown = server.client_with("AKIDUNKNOWN0000000000", &secret_of(&account), "us-east-1");
    let err = unknown.create_app_instance().name("x").send().await.unwrap_err();
    assert_eq!(error_of(&err), ("UnrecognizedClientException".into(), 403));
    // Nothing was created by the refused requests.
    let right = server.client_for(&account, "us-east-1");
    assert!(right.list_app_instances().send().await.unwrap().app_instances().is_empty());
}

/// A signature always covers the body: one made over `UNSIGNED-PAYLOAD` is refused, so a
/// captured request cannot be replayed with another body (docs/behaviour.md, "Accounts, regions
/// and signatures").
#[test]
fn an_unsigned_payload_cannot_be_replayed_with_another_body() {
    let account = fresh_account();
    let server = TestServer::start_sigv4(&[&account]);
    let unsigned = Signer { unsigned_payload: true, ..Signer::new(&account, &secret_of(&account)) };
    let first = br#"{"Name":"signed","ClientRequestToken":"token-signed-0001"}"#;
    let (target, headers) = unsigned.sign(server.addr(), "POST", "/app-instances", first);
    assert!(headers.iter().any(|(k, v)| k == "x-amz-content-sha256" && v == "UNSIGNED-PAYLOAD"));
    for body in [&first[..], br#"{"Name":"replayed with another body","ClientRequestToken":"token-replay-0002"}"#] {
        let r = send(server.addr(), "POST", &target, &headers, body);
        assert_eq!((r.status, r.error_type()), (403, "InvalidSignatureException"), "{r:?}");
    }
    let r = signed(server.addr(), &Signer::new(&account, &secret_of(&account)), "GET", "/app-instances", b"");
    assert_eq!(r.json()["AppInstances"], serde_json::json!([]), "nothing was created");
}

/// A repeated query parameter is a 400, signed or not: a signed `max-results=1&max-results=50`
/// replayed with the values swapped would otherwise still verify while the router read another value.
#[test]
fn a_repeated_query_parameter_is_refused() {
    let account = fresh_account();
    let server = TestServer::start_sigv4(&[&account]);
    let signer = Signer::new(&account, &secret_of(&account));
    let (target, headers) = signer.sign(server.addr(), "GET", "/app-instances?max-results=1&max-results=50", b"");
    let swapped = target.replace("max-results=1&max-results=50", "max-results=50&max-results=1");
    assert_ne!(target, swapped);
    for t in [&target, &swapped] {
        let r = send(server.addr(), "GET", t, &headers, b"");
        assert_eq!((r.status, r.error_type()), (400, "BadRequestException"), "{t}: {r:?}");
        assert!(r.json()["Message"].as_str().unwrap().contains("max-results"), "{r:?}");
    }
    let r = signed(server.addr(), &signer, "GET", "/app-instances?max-results=1", b"");
    assert_eq!(r.status, 200, "{r:?}");
    // open mode too
    let open = TestServer::start();
    let r = send(open.addr(), "GET", "/app-instances?next-token=a&max-results=2&next-token=b", &[], b"");
    assert_eq!((r.status, r.error_type()), (400, "BadRequestException"), "{r:?}");
}

/// In sigv4 mode the key, the date and the scope are checked from the headers before the body is
/// read: a request that cannot be valid is answered before its (here 1 MiB) body is even sent,
/// and its connection closed.
#[test]
fn the_credential_is_checked_before_the_body_is_read() {
    let account = fresh_account();
    let server = TestServer::builder().sigv4(&[&account]).config(|c| c.request_timeout_secs = 20).start();
    let addr = server.addr();
    let good = Signer::new(&account, &secret_of(&account));
    let body = vec![b' '; 1024 * 1024];
    let cases: Vec<(&str, Signer, &str)> = vec![
        ("unknown key", Signer::new("AKIDUNKNOWN", "x"), "UnrecognizedClientException"),
        ("unknown key, presigned", Signer { presigned: true, ..Signer::new("AKIDUNKNOWN", "x") }, "UnrecognizedClientException"),
        ("stale date", Signer { time: SystemTime::now() - Duration::from_secs(3600), ..good.clone() }, "InvalidSignatureException"),
        ("another service", Signer { service: "s3".into(), ..good.clone() }, "InvalidSignatureException"),
        ("not a region", Signer { region: "US-EAST-1".into(), ..good.clone() }, "InvalidSignatureException"),
        ("unsigned payload", Signer { unsigned_payload: true, ..good.clone() }, "InvalidSignatureException"),
    ];
    for (what, signer, error_type) in cases {
        let (target, headers) = signer.sign(addr, "POST", "/app-instances", &body);
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        s.write_all(&head("POST", &target, &headers, body.len())).unwrap();
        let t = Instant::now();
        let r = read_answer(&mut s, false).unwrap_or_else(|| panic!("{what}: no answer within 3 s while the body is unsent"));
        assert_eq!((r.status, r.error_type()), (403, error_type), "{what}: {r:?}");
        assert!(t.elapsed() < Duration::from_secs(2), "{what}: {:?}", t.elapsed());
        assert_eq!(r.header("connection"), Some("close"), "{what}: {r:?}");
    }
    // no credentials at all
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s.write_all(&head("POST", "/app-instances", &[], body.len())).unwrap();
    let r = read_answer(&mut s, false).expect("no answer while the body is unsent");
    assert_eq!((r.status, r.error_type()), (403, "MissingAuthenticationTokenException"), "{r:?}");
    // a valid signature still reads the body and checks it
    let r = signed(addr, &good, "POST", "/app-instances", br#"{"Name":"after","ClientRequestToken":"token-after-0001"}"#);
    assert_eq!(r.status, 201, "{r:?}");
}

/// The signing region must be a lower-case region name: `US-EAST-1` is refused (403 in sigv4
/// mode, 400 in open mode) and creates nothing, where it used to create AppInstances whose ARNs
/// fail the model's pattern.
#[tokio::test]
async fn the_signing_region_must_be_a_region_name() {
    let account = fresh_account();
    let signed_server = TestServer::start_sigv4(&[&account]);
    let open_server = TestServer::start();
    for (server, expected) in
        [(&signed_server, ("InvalidSignatureException".to_string(), 403)), (&open_server, ("BadRequestException".to_string(), 400))]
    {
        for region in ["US-EAST-1", "local", "us-east-1a"] {
            let c = server.client_for(&account, region);
            let err = c.create_app_instance().name("bad region").send().await.unwrap_err();
            assert_eq!(error_of(&err), expected, "{region}");
        }
        let c = server.client_for(&account, "us-east-1");
        assert!(c.list_app_instances().send().await.unwrap().app_instances().is_empty());
    }
}
