//! Accepted and rejected requests, one property at a time. Requests are signed by aws-sigv4.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

mod common;
mod signer;

use std::time::SystemTime;

use carillon_sigv4::{AuthError, AuthErrorKind, Caller, Credentials, RequestParts, Verifier, scope_from_unverified};
use common::OwnedRequest;
use signer::{ACCOUNT, AKID, Body, SECRET, Spec, T0, at, sign_spec};

fn verifier() -> Verifier {
    let mut creds = Credentials::new();
    creds.insert(AKID, SECRET, ACCOUNT).unwrap();
    creds.insert("AKIDOTHER", "other-secret", "999999999999").unwrap();
    Verifier::new(creds)
}

fn verify(v: &Verifier, req: &OwnedRequest, now: SystemTime) -> Result<Caller, AuthError> {
    req.with_parts(|p| v.verify(p, now))
}

/// Asserts the error kind and that neither message nor detail leaks a secret or a signature.
#[track_caller]
fn assert_rejected(result: Result<Caller, AuthError>, kind: AuthErrorKind, needle: &str, signatures: &[&str]) -> AuthError {
    let e = result.expect_err("expected a rejection");
    assert_eq!(e.kind(), kind, "{e}");
    assert!(e.message().contains(needle), "{e} lacks {needle:?}");
    for text in [e.to_string(), format!("{e:?}"), e.detail().unwrap_or_default().to_string()] {
        assert!(!text.contains(SECRET) && !text.contains("other-secret"), "{text}");
        for sig in signatures {
            assert!(!text.contains(sig), "leaks a signature: {text}");
        }
    }
    e
}

fn base() -> (OwnedRequest, String) {
    sign_spec(&Spec::default())
}

#[test]
fn valid_header_signed_request() {
    let v = verifier();
    let (req, _) = base();
    let caller = verify(&v, &req, at(T0)).unwrap();
    assert_eq!(caller, Caller { account_id: ACCOUNT.into(), region: "us-east-1".into(), access_key_id: AKID.into() });
    // again, now with the signing key cached
    assert!(format!("{v:?}").contains("cached_signing_keys: 1"));
    assert_eq!(verify(&v, &req, at(T0 + 60)).unwrap(), caller);
}

#[test]
fn region_is_taken_from_the_scope() {
    let v = verifier();
    for region in ["eu-west-2", "ap-northeast-3", "xx-moon-1"] {
        let (req, _) = sign_spec(&Spec { region: region.into(), ..Spec::default() });
        assert_eq!(verify(&v, &req, at(T0)).unwrap().region, region);
        let scope = req.with_parts(scope_from_unverified).unwrap();
        assert_eq!((scope.access_key_id.as_str(), scope.region.as_str()), (AKID, region));
    }
}

#[test]
fn wrong_secret() {
    let v = verifier();
    let (good, good_sig) = base();
    let (req, bad_sig) = sign_spec(&Spec { secret: "not-the-secret".into(), ..Spec::default() });
    let e = assert_rejected(
        verify(&v, &req, at(T0)),
        AuthErrorKind::InvalidSignature,
        "signature we calculated does not match",
        &[&good_sig, &bad_sig],
    );
    // the debug detail shows the canonical request, not the signatures
    let detail = e.detail().unwrap();
    assert!(detail.contains("canonical request:\nPOST\n/app-instances/arn%253Aaws%253Achime"), "{detail}");
    assert!(detail.contains("20261128/us-east-1/chime/aws4_request"), "{detail}");
    // failures do not fill the signing-key cache
    assert!(format!("{v:?}").contains("cached_signing_keys: 0"));
    assert!(verify(&v, &good, at(T0)).is_ok());
}

#[test]
fn unknown_access_key() {
    let v = verifier();
    let (req, sig) = sign_spec(&Spec { akid: "AKIDUNKNOWN".into(), ..Spec::default() });
    assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::UnrecognizedClient, "security token", &[&sig]);
    let (req, sig) = sign_spec(&Spec { akid: "AKIDUNKNOWN".into(), presign_expires: Some(300), ..Spec::default() });
    assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::UnrecognizedClient, "security token", &[&sig]);
}

#[test]
fn no_credentials() {
    let v = verifier();
    let req = OwnedRequest {
        method: "GET".into(),
        path: "/app-instances".into(),
        query: Some("max-results=10&X-Amz-Date=20261128T120000Z".into()),
        headers: vec![("host".into(), b"localhost".to_vec()), ("x-amz-date".into(), b"20261128T120000Z".to_vec())],
        body: vec![],
    };
    assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::MissingAuthenticationToken, "Missing Authentication Token", &[]);
    let bare = OwnedRequest { query: None, headers: vec![], ..req };
    assert_rejected(verify(&v, &bare, at(T0)), AuthErrorKind::MissingAuthenticationToken, "Missing", &[]);
    assert!(bare.with_parts(scope_from_unverified).is_none());
}

#[test]
fn clock_window() {
    let v = verifier();
    let (req, sig) = base();
    for ok in [-900, -899, 0, 899, 900] {
        assert!(verify(&v, &req, at(T0 + ok)).is_ok(), "{ok}");
    }
    // the request is 16 minutes old / 16 minutes in the future
    assert_rejected(
        verify(&v, &req, at(T0 + 960)),
        AuthErrorKind::InvalidSignature,
        "Signature expired: 20261128T120000Z is now earlier than 20261128T120100Z (20261128T121600Z - 15 min.)",
        &[&sig],
    );
    assert_rejected(verify(&v, &req, at(T0 - 960)), AuthErrorKind::InvalidSignature, "Signature not yet current", &[&sig]);
    assert_rejected(verify(&v, &req, at(T0 + 901)), AuthErrorKind::InvalidSignature, "Signature expired", &[&sig]);
    assert_rejected(verify(&v, &req, at(T0 - 901)), AuthErrorKind::InvalidSignature, "not yet current", &[&sig]);
    // far-away clocks on either side do not overflow
    assert!(verify(&v, &req, SystemTime::UNIX_EPOCH - std::time::Duration::from_secs(1 << 40)).is_err());
    assert!(verify(&v, &req, at(i64::MAX >> 2)).is_err());
}

#[test]
fn scope_for_another_service() {
    let v = verifier();
    for service in ["s3", "chimesdkidentity", "Chime", "execute-api"] {
        let (req, sig) = sign_spec(&Spec { service: service.into(), ..Spec::default() });
        assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::InvalidSignature, "scoped to correct service: 'chime'", &[&sig]);
    }
}

#[test]
fn unsigned_x_amz_header() {
    let v = verifier();
    let (mut req, sig) = base();
    req.headers.push(("X-Amz-Target".into(), b"Chime.Whatever".to_vec()));
    assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::InvalidSignature, "'x-amz-target' must be a signed header", &[&sig]);
    // signed x-amz-* headers are fine, and x-amzn-* / other headers may be unsigned
    let (mut req, _) = sign_spec(&Spec {
        headers: vec![("x-amz-target".into(), "t".into()), ("x-amz-user-agent".into(), "ua".into())],
        ..Spec::default()
    });
    req.headers.push(("x-amzn-trace-id".into(), b"Root=1-abc".to_vec()));
    req.headers.push(("user-agent".into(), b"curl".to_vec()));
    req.headers.push(("amz-sdk-request".into(), b"attempt=2".to_vec()));
    assert!(verify(&v, &req, at(T0)).is_ok());
    // x-amz-user-agent left unsigned by a header signer is refused (real signers sign it)
    let (mut req, sig) = base();
    req.headers.push(("x-amz-user-agent".into(), b"ua".to_vec()));
    assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::InvalidSignature, "'x-amz-user-agent' must be a signed header", &[&sig]);
    // a session token must be signed too
    let (mut req, sig) = base();
    req.headers.push(("x-amz-security-token".into(), b"tok".to_vec()));
    assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::InvalidSignature, "'x-amz-security-token' must be a signed header", &[&sig]);
    let (req, _) = sign_spec(&Spec { token: Some("FwoGZXIvYXdzEXAMPLE//=".into()), ..Spec::default() });
    assert!(req.header("x-amz-security-token").is_some());
    assert!(verify(&v, &req, at(T0)).is_ok());
}

#[test]
fn host_must_be_signed() {
    let v = verifier();
    let (req, sig) = sign_spec(&Spec { excluded_headers: Some(vec!["host"]), ..Spec::default() });
    assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::InvalidSignature, "'host' must be a signed header", &[&sig]);
    // a signed header missing from the request
    let (mut req, sig) = base();
    req.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
    assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::InvalidSignature, "'content-type' is missing", &[&sig]);
}

#[test]
fn payload_hash() {
    let v = verifier();
    // x-amz-content-sha256 with the body's hash
    let (req, _) = sign_spec(&Spec { checksum_header: true, ..Spec::default() });
    assert!(verify(&v, &req, at(T0)).is_ok());
    // ... but a different body
    let mut tampered = req.clone();
    tampered.body = br#"{"Name":"y"}"#.to_vec();
    assert_rejected(verify(&v, &tampered, at(T0)), AuthErrorKind::InvalidSignature, "x-amz-content-sha256 does not match", &[]);
    // a declared hash that is not the body's, correctly signed
    let wrong = "0".repeat(64);
    let (req, sig) = sign_spec(&Spec { checksum_header: true, body_mode: Body::Precomputed(wrong), ..Spec::default() });
    assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::InvalidSignature, "does not match the SHA-256 of the body", &[&sig]);
    // an unsupported value
    let (req, sig) = sign_spec(&Spec {
        checksum_header: true,
        body_mode: Body::Precomputed("STREAMING-AWS4-HMAC-SHA256-PAYLOAD".into()),
        ..Spec::default()
    });
    assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::InvalidSignature, "must be the hex SHA-256", &[&sig]);
    // UNSIGNED-PAYLOAD is refused (unsigned_payload_is_refused)
    // without the header the server hashes the body: a changed body fails
    let (mut req, _) = base();
    req.body.push(b' ');
    assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::InvalidSignature, "does not match the signature", &[]);
}

#[test]
fn presigned() {
    let v = verifier();
    let spec = Spec { method: "GET", body: vec![], headers: vec![], presign_expires: Some(300), ..Spec::default() };
    let (req, sig) = sign_spec(&spec);
    assert!(req.query.as_deref().unwrap().contains("X-Amz-Signature="));
    assert!(req.header("authorization").is_none());
    // valid through X-Amz-Date + X-Amz-Expires (and within 15 minutes of X-Amz-Date)
    for ok in [-900, 0, 299, 300] {
        let caller = verify(&v, &req, at(T0 + ok)).unwrap_or_else(|e| panic!("{ok}: {e}"));
        assert_eq!(caller.access_key_id, AKID);
    }
    // expired
    assert_rejected(verify(&v, &req, at(T0 + 301)), AuthErrorKind::InvalidSignature, "Request has expired", &[&sig]);
    assert_rejected(verify(&v, &req, at(T0 + 86_400)), AuthErrorKind::InvalidSignature, "Request has expired", &[&sig]);
    // a long expiry is still bound by the clock window
    let (long, sig) = sign_spec(&Spec { presign_expires: Some(3600), ..spec.clone() });
    assert!(verify(&v, &long, at(T0 + 900)).is_ok());
    assert_rejected(verify(&v, &long, at(T0 + 901)), AuthErrorKind::InvalidSignature, "Signature expired", &[&sig]);
    // over the body's hash (the AWS test suite, botocore, aws-sdk-js-v3); UNSIGNED-PAYLOAD is
    // refused (unsigned_payload_is_refused)
    let (req, _) = sign_spec(&spec);
    assert!(verify(&v, &req, at(T0)).is_ok());
    // X-Amz-Expires out of range (the signer does not check it)
    for expires in [0, 604_801] {
        let (req, sig) = sign_spec(&Spec { presign_expires: Some(expires), ..spec.clone() });
        assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::InvalidSignature, "X-Amz-Expires must be", &[&sig]);
    }
    let (req, _) = sign_spec(&Spec { presign_expires: Some(604_800), ..spec.clone() });
    assert!(verify(&v, &req, at(T0)).is_ok());
    // a session token in the query
    let (req, _) = sign_spec(&Spec { token: Some("tok/+=".into()), ..spec.clone() });
    assert!(req.query.as_deref().unwrap().contains("X-Amz-Security-Token=tok%2F%2B%3D"));
    assert!(verify(&v, &req, at(T0)).is_ok());
}

#[test]
fn presigned_exemptions() {
    let v = verifier();
    // aws-sigv4 leaves x-amz-user-agent and x-amz-checksum-mode out of a presigned signature
    let (req, _) = sign_spec(&Spec {
        method: "GET",
        body: vec![],
        headers: vec![
            ("x-amz-user-agent".into(), "aws-sdk-rust/1.0".into()),
            ("x-amz-checksum-mode".into(), "ENABLED".into()),
            ("x-amz-meta-a".into(), "b".into()),
        ],
        presign_expires: Some(60),
        ..Spec::default()
    });
    let q = req.query.clone().unwrap();
    assert!(q.contains("X-Amz-SignedHeaders=host%3Bx-amz-meta-a&"), "{q}");
    assert!(verify(&v, &req, at(T0)).is_ok());
    // any other unsigned x-amz-* header is refused
    let mut other = req.clone();
    other.headers.push(("x-amz-meta-b".into(), b"c".to_vec()));
    assert_rejected(verify(&v, &other, at(T0)), AuthErrorKind::InvalidSignature, "'x-amz-meta-b' must be a signed header", &[]);
}

#[test]
fn malformed_and_ambiguous() {
    let v = verifier();
    let (req, sig) = base();
    let auth = String::from_utf8(req.header("authorization").unwrap().to_vec()).unwrap();
    let with_auth = |value: &str| {
        let mut r = req.clone();
        *r.header_mut("authorization").unwrap() = value.as_bytes().to_vec();
        r
    };
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "must start with AWS4-HMAC-SHA256"),
        ("Bearer abc".into(), "must start with AWS4-HMAC-SHA256"),
        (auth.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"), "must start with AWS4-HMAC-SHA256"),
        (auth.replace(", Signature=", ", Sig="), "unknown component"),
        (auth.replace("SignedHeaders=", "SignedHeaders=zzz;"), "sorted"),
        (auth.replace("/aws4_request", "/aws4_reques"), "aws4_request"),
        (auth.replace("/20261128/", "/20261127/"), "does not match the request date"),
        (auth.replace("/us-east-1/", "/us_east 1/"), "region"),
        (format!("{auth}, Signature=abc"), "repeats"),
    ];
    for (value, needle) in cases {
        assert_rejected(verify(&v, &with_auth(&value), at(T0)), AuthErrorKind::InvalidSignature, needle, &[&sig]);
    }
    // uppercase hex is the same signature
    let upper = auth.replace(&sig, &sig.to_ascii_uppercase());
    assert!(verify(&v, &with_auth(&upper), at(T0)).is_ok());
    // a truncated signature
    assert_rejected(
        verify(&v, &with_auth(&auth.replace(&sig, &sig[..63])), at(T0)),
        AuthErrorKind::InvalidSignature,
        "does not match",
        &[&sig],
    );
    // two Authorization headers
    let mut twice = req.clone();
    twice.headers.push(("authorization".into(), auth.clone().into_bytes()));
    assert_rejected(verify(&v, &twice, at(T0)), AuthErrorKind::InvalidSignature, "more than one Authorization", &[&sig]);
    // an Authorization header and presigned parameters
    let mut both = req.clone();
    both.query = Some(format!("{}&X-Amz-Signature=00", both.query.unwrap()));
    assert_rejected(verify(&v, &both, at(T0)), AuthErrorKind::InvalidSignature, "Only one authentication method", &[&sig]);
    // no date
    let mut undated = req.clone();
    undated.headers.retain(|(n, _)| n != "x-amz-date");
    assert_rejected(verify(&v, &undated, at(T0)), AuthErrorKind::InvalidSignature, "x-amz-date or Date", &[&sig]);
    let mut bad_date = req.clone();
    *bad_date.header_mut("x-amz-date").unwrap() = b"2026-11-28T12:00:00Z".to_vec();
    assert_rejected(verify(&v, &bad_date, at(T0)), AuthErrorKind::InvalidSignature, "YYYYMMDDTHHMMSSZ", &[&sig]);
    // a line break inside a signed header value
    let mut broken = req.clone();
    *broken.header_mut("content-type").unwrap() = b"application/json\nx-amz-date:1".to_vec();
    assert_rejected(verify(&v, &broken, at(T0)), AuthErrorKind::InvalidSignature, "line break", &[&sig]);
    // presigned parameters, one missing
    let (pre, _) = sign_spec(&Spec { presign_expires: Some(60), ..Spec::default() });
    let q = pre.query.clone().unwrap();
    for param in ["X-Amz-Algorithm", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"] {
        let mut r = pre.clone();
        r.query = Some(q.split('&').filter(|p| !p.starts_with(param)).collect::<Vec<_>>().join("&"));
        assert_rejected(verify(&v, &r, at(T0)), AuthErrorKind::InvalidSignature, param, &[]);
    }
    let mut dup = pre.clone();
    dup.query = Some(format!("{q}&X-Amz-Date=20261128T120000Z"));
    assert_rejected(verify(&v, &dup, at(T0)), AuthErrorKind::InvalidSignature, "'X-Amz-Date' more than once", &[]);
}

#[test]
fn raw_path_is_double_encoded_without_normalization() {
    let v = verifier();
    // the same ARN, encoded differently by two clients, are different requests
    let strict = "/app-instance-users/arn%3Aaws%3Achime%3Aus-east-1%3A123456789012%3Aapp-instance%2Fa%2Fuser%2Fu%40x";
    let lax = "/app-instance-users/arn:aws:chime:us-east-1:123456789012:app-instance%2Fa%2Fuser%2Fu@x";
    for path in [strict, lax, "/a/./b/../c//d", "/%2e%2E/x"] {
        let (req, _) = sign_spec(&Spec { path: path.into(), ..Spec::default() });
        assert_eq!(req.path, path);
        assert!(verify(&v, &req, at(T0)).is_ok(), "{path}");
    }
    let (mut req, _) = sign_spec(&Spec { path: strict.into(), ..Spec::default() });
    req.path = lax.into();
    assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::InvalidSignature, "does not match", &[]);
}

#[test]
fn key_cache_is_bounded_and_shared_across_threads() {
    let v = std::sync::Arc::new(verifier());
    let requests: Vec<OwnedRequest> = (0..1100).map(|i| sign_spec(&Spec { region: format!("xx-r-{i}"), ..Spec::default() }).0).collect();
    let requests = std::sync::Arc::new(requests);
    let threads: Vec<_> = (0..4)
        .map(|k| {
            let (v, requests) = (v.clone(), requests.clone());
            std::thread::spawn(move || {
                for (i, r) in requests.iter().enumerate() {
                    if i % 4 == k {
                        let caller = verify(&v, r, at(T0)).unwrap();
                        assert_eq!(caller.region, format!("xx-r-{i}"));
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let shown = format!("{v:?}");
    let cached: usize = shown.split("cached_signing_keys: ").nth(1).unwrap().trim_end_matches([' ', '}']).parse().unwrap();
    assert!(cached <= 1024, "{shown}");
    assert!(!shown.contains(SECRET));
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Verifier>();
}

#[test]
fn debug_output_hides_secrets_and_signatures() {
    let v = verifier();
    let (req, sig) = base();
    let shown = format!("{v:?} {:?}", req.with_parts(|p: &RequestParts<'_>| format!("{p:?}")));
    assert!(!shown.contains(SECRET) && !shown.contains(&sig), "{shown}");
    assert!(shown.contains(AKID));
}

/// The payload hash is always the SHA-256 of the body received: `UNSIGNED-PAYLOAD` would let a
/// captured request be replayed with another body (docs/behaviour.md, "Accounts, regions and signatures").
#[test]
fn unsigned_payload_is_refused() {
    let v = verifier();
    // declared in the header
    let (mut req, sig) = sign_spec(&Spec { checksum_header: true, body_mode: Body::Unsigned, ..Spec::default() });
    assert_eq!(req.header("x-amz-content-sha256"), Some(&b"UNSIGNED-PAYLOAD"[..]));
    assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::InvalidSignature, "UNSIGNED-PAYLOAD", &[&sig]);
    req.body = br#"{"Name":"replayed"}"#.to_vec();
    assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::InvalidSignature, "UNSIGNED-PAYLOAD", &[&sig]);
    // presigned with UNSIGNED-PAYLOAD in the canonical request (not declared anywhere)
    let spec = Spec { method: "GET", body: vec![], headers: vec![], presign_expires: Some(300), ..Spec::default() };
    let (req, sig) = sign_spec(&Spec { body_mode: Body::Unsigned, ..spec.clone() });
    assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::InvalidSignature, "does not match", &[&sig]);
    // presigned over the (empty) body's hash, as botocore and aws-sdk-js-v3 sign: accepted, and
    // a body added on replay is refused
    let (mut req, _) = sign_spec(&spec);
    assert!(verify(&v, &req, at(T0)).is_ok());
    req.body = b"{}".to_vec();
    assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::InvalidSignature, "does not match", &[]);
    // presigned with X-Amz-Content-Sha256 in the query: it must be the body's hash too
    let mut declared = sign_spec(&spec).0;
    declared.query = Some(format!("{}&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD", declared.query.unwrap()));
    assert_rejected(verify(&v, &declared, at(T0)), AuthErrorKind::InvalidSignature, "UNSIGNED-PAYLOAD", &[]);
}

/// The signing region is a lower-case region name, `[a-z]{2}(-[a-z]+)+-[0-9]+`: a region such
/// as `US-EAST-1` would make ARNs that fail the model's pattern.
#[test]
fn region_must_be_a_lower_case_region_name() {
    let v = verifier();
    for region in ["us-east-1", "us-gov-west-1", "cn-northwest-1", "xx-moon-1", "eu-central-12"] {
        let (req, _) = sign_spec(&Spec { region: region.into(), ..Spec::default() });
        assert_eq!(verify(&v, &req, at(T0)).unwrap().region, region);
    }
    for region in
        ["US-EAST-1", "Us-east-1", "local", "mars-north-7", "us-east", "us-east-", "u-east-1", "us--east-1", "us-east-1a", "us-3ast-1"]
    {
        let (req, sig) = sign_spec(&Spec { region: region.into(), ..Spec::default() });
        assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::InvalidSignature, "region", &[&sig]);
        let (req, sig) = sign_spec(&Spec { region: region.into(), presign_expires: Some(60), ..Spec::default() });
        assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::InvalidSignature, "region", &[&sig]);
        // the unverified scope still names it, so that open mode can refuse it too
        let scope = req.with_parts(scope_from_unverified).unwrap();
        assert_eq!(scope.region, region);
        assert!(!carillon_sigv4::is_region_name(region), "{region}");
    }
}

/// A repeated query parameter is refused: what was signed and what the router reads could
/// otherwise differ (the signer sorts the values, a router takes one of them).
#[test]
fn duplicate_query_parameters_are_refused() {
    let v = verifier();
    for query in ["max-results=1&max-results=50", "a=1&a=1", "a+b=1&a%20b=2", "k&k", "next-token=x&max-results=2&next-token=y"] {
        let (req, sig) = sign_spec(&Spec { query: Some(query.into()), ..Spec::default() });
        assert_rejected(verify(&v, &req, at(T0)), AuthErrorKind::InvalidSignature, "more than once", &[&sig]);
    }
    let (req, _) = sign_spec(&Spec { query: Some("max-results=1&Max-results=50&next-token=a+b".into()), ..Spec::default() });
    assert!(verify(&v, &req, at(T0)).is_ok());
}

/// Key, date and scope are checked from the headers (or the presigned query) alone, before the
/// server reads the body; the signature itself is checked once the body is in.
#[test]
fn precheck_needs_no_body() {
    let v = verifier();
    let without_body = |r: &OwnedRequest| OwnedRequest { body: Vec::new(), ..r.clone() };
    let precheck = |r: &OwnedRequest, now| without_body(r).with_parts(|p| v.precheck(p, now));
    // a good request passes before its body is known, and fails or passes on the body afterwards
    let (good, _) = base();
    assert!(precheck(&good, at(T0)).is_ok());
    let (presigned, _) = sign_spec(&Spec { method: "GET", body: vec![], headers: vec![], presign_expires: Some(60), ..Spec::default() });
    assert!(precheck(&presigned, at(T0)).is_ok());
    // each refusal the full check would give from the headers alone
    let kind = |r: Result<(), AuthError>| r.unwrap_err().kind();
    let (unknown, _) = sign_spec(&Spec { akid: "AKIDUNKNOWN".into(), ..Spec::default() });
    assert_eq!(kind(precheck(&unknown, at(T0))), AuthErrorKind::UnrecognizedClient);
    let (unknown, _) = sign_spec(&Spec { akid: "AKIDUNKNOWN".into(), presign_expires: Some(60), ..Spec::default() });
    assert_eq!(kind(precheck(&unknown, at(T0))), AuthErrorKind::UnrecognizedClient);
    assert_eq!(kind(precheck(&good, at(T0 + 3600))), AuthErrorKind::InvalidSignature);
    assert_eq!(kind(precheck(&presigned, at(T0 + 61))), AuthErrorKind::InvalidSignature);
    let (other_service, _) = sign_spec(&Spec { service: "s3".into(), ..Spec::default() });
    assert_eq!(kind(precheck(&other_service, at(T0))), AuthErrorKind::InvalidSignature);
    let (bad_region, _) = sign_spec(&Spec { region: "US-EAST-1".into(), ..Spec::default() });
    assert_eq!(kind(precheck(&bad_region, at(T0))), AuthErrorKind::InvalidSignature);
    let (unsigned, _) = sign_spec(&Spec { checksum_header: true, body_mode: Body::Unsigned, ..Spec::default() });
    assert_eq!(kind(precheck(&unsigned, at(T0))), AuthErrorKind::InvalidSignature);
    let bare = OwnedRequest { headers: vec![("host".into(), b"x".to_vec())], query: None, ..good.clone() };
    assert_eq!(kind(precheck(&bare, at(T0))), AuthErrorKind::MissingAuthenticationToken);
}
