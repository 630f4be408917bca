//! Reset and injected faults through aws-sdk-rust and the control plane (docs/behaviour.md,
//! "Control plane"): who may use them, what they delete, and that the SDK's own retries get
//! through injected errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

mod signing;

use aws_sdk_chimesdkidentity::config::retry::RetryConfig;
use carillon_testing::{TestServer, client_config, error_of, fresh_account, secret_of};
use serde_json::json;
use signing::{Signer, signed};

async fn instances(client: &aws_sdk_chimesdkidentity::Client) -> usize {
    client.list_app_instances().send().await.unwrap().app_instances.unwrap_or_default().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_operator_may_reset_or_inject_and_a_reset_keeps_other_accounts() {
    let (a, b) = (fresh_account(), fresh_account());
    // The tenants and the operator `OPERATORKEY`, of an account of its own.
    let server = TestServer::builder().sigv4(&[&a, &b]).operator("OPERATORKEY", "operator/secret", &fresh_account()).start();
    let addr = server.addr();
    let (ca, cb) = (server.client_for(&a, "us-east-1"), server.client_for(&b, "us-east-1"));
    ca.create_app_instance().name("a").send().await.unwrap();
    cb.create_app_instance().name("b").send().await.unwrap();

    let tenant = Signer::new(&a, &secret_of(&a));
    let rules = json!({"Rules": [{"Operation": "*", "Count": 1, "Reset": true}]}).to_string();
    for (method, path, body) in
        [("POST", "/_carillon/reset", "{}"), ("PUT", "/_carillon/faults", rules.as_str()), ("GET", "/_carillon/faults", "")]
    {
        let r = signed(addr, &tenant, method, path, body.as_bytes());
        assert_eq!((r.status, r.error_type()), (403, "ForbiddenException"), "{method} {path}: {r:?}");
    }
    assert_eq!((instances(&ca).await, instances(&cb).await), (1, 1));

    let operator = Signer::new("OPERATORKEY", "operator/secret");
    let r = signed(addr, &operator, "POST", "/_carillon/reset", json!({"Account": a}).to_string().as_bytes());
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json(),
        json!({"Deleted": {
            "AppInstances": 1, "AppInstanceUsers": 0, "AppInstanceBots": 0, "AppInstanceAdmins": 0, "AppInstanceUserEndpoints": 0,
            "Channels": 0, "ChannelMemberships": 0, "ChannelModerators": 0, "ChannelMessages": 0,
            "ChannelFlows": 0, "StreamingConfigurations": 0, "PushOutboxEntries": 0, "PushFailureMarkers": 0,
        }})
    );
    assert_eq!((instances(&ca).await, instances(&cb).await), (0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_retries_through_injected_errors_and_nothing_is_written() {
    let server = TestServer::start();
    let account = fresh_account();
    let url = server.url();
    let retrying = aws_sdk_chimesdkidentity::Client::from_conf(
        client_config(&url, &account, &secret_of(&account), "us-east-1").retry_config(RetryConfig::standard().with_max_attempts(3)).build(),
    );
    let operator = Signer::new("any", "x");
    let rules = json!({"Seed": 5, "Rules": [
        {"Operation": "CreateAppInstance", "Account": account, "Count": 2, "Error": "ServiceUnavailableException"},
    ]});
    let r = signed(server.addr(), &operator, "PUT", "/_carillon/faults", rules.to_string().as_bytes());
    assert_eq!(r.status, 200, "{r:?}");
    // Two injected 503s, then the real call: one AppInstance, not three.
    retrying.create_app_instance().name("third try").send().await.unwrap();
    assert_eq!(instances(&retrying).await, 1);
    let r = signed(server.addr(), &operator, "GET", "/_carillon/faults", b"");
    assert_eq!(r.json()["Rules"][0]["Fired"], 2);

    // Without retries the injected error reaches the caller, and the store is unchanged.
    let r = signed(server.addr(), &operator, "PUT", "/_carillon/faults", rules.to_string().as_bytes());
    assert_eq!(r.status, 200, "{r:?}");
    let once = server.client_for(&account, "us-east-1");
    let err = once.create_app_instance().name("refused").send().await.unwrap_err();
    assert_eq!(error_of(&err), ("ServiceUnavailableException".to_string(), 503));
    assert_eq!(instances(&once).await, 1);
}

/// The harness's in-process control plane needs no operator signature, even in sigv4 mode: the
/// test that runs the server is trusted. It resets, reads the journal and moves the clock.
#[tokio::test]
async fn the_harness_drives_the_control_plane_in_process_in_sigv4_mode() {
    let tenant = fresh_account();
    let server = TestServer::start_sigv4(&[&tenant]);
    let client = server.client_with(&tenant, &secret_of(&tenant), "us-east-1");
    client.create_app_instance().name("a").client_request_token("token-1").send().await.unwrap();
    let wrong = server.client_with(&tenant, "not-the-secret", "us-east-1");
    assert!(wrong.list_app_instances().send().await.is_err());

    let refused = server.journal("status=403").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0]["Signature"]["CanonicalRequest"].as_str().unwrap().starts_with("GET\n/app-instances\n"));
    assert_eq!(server.journal("operation=CreateAppInstance").await[0]["Status"], 201);

    server.set_clock_offset(3600).await;
    assert_eq!(server.reset().await["Deleted"]["AppInstances"], 1);
    assert!(client.list_app_instances().send().await.unwrap().app_instances().is_empty());
    // The global reset set the clock back.
    assert_eq!(server.service().clock().offset_ms(), 0);
}
