//! The published AWS SigV4 test suite (AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
//! service `service`, 2015-08-30T12:36:00Z): every signed request, header form and presigned
//! form, verified with this crate. The few vectors this verifier rejects on purpose are listed
//! with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use carillon_sigv4::{AuthErrorKind, Credentials, RequestParts, Verifier};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

struct Parsed {
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

/// Parses a test-suite `*-signed-request.txt`: request line, `Name:Value` lines (continuation
/// lines, starting with a space, are unfolded with a space as an HTTP server would), blank
/// line, body.
fn parse_request(text: &[u8]) -> Parsed {
    let text = String::from_utf8(text.to_vec()).unwrap();
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h.to_string(), b.as_bytes().to_vec()),
        None => (text.trim_end_matches('\n').to_string(), Vec::new()),
    };
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let (method, rest) = request_line.split_once(' ').unwrap();
    let target = rest.strip_suffix(" HTTP/1.1").unwrap_or(rest);
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (target.to_string(), None),
    };
    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    for line in lines {
        if line.starts_with(' ') || line.starts_with('\t') {
            let last = headers.last_mut().unwrap();
            last.1.push(b' ');
            last.1.extend_from_slice(line.trim().as_bytes());
            continue;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.push((name.to_string(), value.trim().as_bytes().to_vec()));
    }
    Parsed { method: method.to_string(), path, query, headers, body }
}

fn verify_file(verifier: &Verifier, file: &Path, now: SystemTime) -> Result<carillon_sigv4::Caller, carillon_sigv4::AuthError> {
    let p = parse_request(&std::fs::read(file).unwrap());
    let headers: Vec<(&str, &[u8])> = p.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
    let req = RequestParts { method: &p.method, raw_path: &p.path, raw_query: p.query.as_deref(), headers: &headers, body: &p.body };
    verifier.verify(&req, now)
}

/// Vectors rejected on purpose, with the reason.
const EXPECTED_REJECTIONS: &[(&str, &str)] = &[
    // The suite signs these with URI path normalization (`"normalize": true`); this verifier
    // signs the raw path as received (non-S3 double encoding, no normalization), like the
    // Chime SDK clients' requests, whose paths never hold dot segments or empty segments.
    ("get-relative-normalized/header", "normalization"),
    ("get-relative-normalized/query", "normalization"),
    ("get-relative-relative-normalized/header", "normalization"),
    ("get-relative-relative-normalized/query", "normalization"),
    ("get-slash-dot-slash-normalized/header", "normalization"),
    ("get-slash-dot-slash-normalized/query", "normalization"),
    ("get-slash-normalized/header", "normalization"),
    ("get-slash-normalized/query", "normalization"),
    ("get-slash-pointless-dot-normalized/header", "normalization"),
    ("get-slash-pointless-dot-normalized/query", "normalization"),
    ("get-slashes-normalized/header", "normalization"),
    ("get-slashes-normalized/query", "normalization"),
    // `X-Amz-Security-Token` is sent but left out of SignedHeaders (`omit_session_token`):
    // every x-amz-* header must be signed here. (The presigned form carries the token in the
    // signed query and passes.)
    ("post-sts-header-after/header", "unsigned x-amz-security-token"),
    // Same vector presigned: the token is appended to the query after signing, so the
    // canonical query (which covers every parameter but X-Amz-Signature) differs.
    ("post-sts-header-after/query", "X-Amz-Security-Token added after signing"),
];

#[test]
fn aws_signing_test_suite() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/aws-signing-test-suite/v4");
    let mut dirs: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    let mut accepted = 0;
    let mut rejected = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_str().unwrap().to_string();
        let Ok(context) = std::fs::read_to_string(dir.join("context.json")) else {
            continue; // the two migrated double-encoding cases; see double_url_encode() below
        };
        let context: serde_json::Value = serde_json::from_str(&context).unwrap();
        let creds = &context["credentials"];
        assert_eq!(creds["secret_access_key"], SECRET);
        let mut credentials = Credentials::new();
        credentials.insert(creds["access_key_id"].as_str().unwrap(), SECRET, "123456789012").unwrap();
        let verifier = Verifier::with_service(credentials, context["service"].as_str().unwrap());
        // "2015-08-30T12:36:00Z"
        assert_eq!(context["timestamp"], "2015-08-30T12:36:00Z");
        let now = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        for form in ["header", "query"] {
            let file = dir.join(format!("{form}-signed-request.txt"));
            let case = format!("{name}/{form}");
            match verify_file(&verifier, &file, now) {
                Ok(caller) => {
                    assert_eq!(caller.region, "us-east-1");
                    assert_eq!(caller.account_id, "123456789012");
                    accepted += 1;
                }
                Err(e) => {
                    assert_eq!(e.kind(), AuthErrorKind::InvalidSignature, "{case}: {e}");
                    rejected.push((case, e.to_string()));
                }
            }
        }
    }
    for (case, e) in &rejected {
        println!("rejected {case}: {e}");
    }
    let unexpected: Vec<_> = rejected.iter().filter(|(case, _)| !EXPECTED_REJECTIONS.iter().any(|(c, _)| c == case)).collect();
    assert!(unexpected.is_empty(), "unexpected rejections: {unexpected:#?}");
    let missing: Vec<_> = EXPECTED_REJECTIONS.iter().filter(|(c, _)| !rejected.iter().any(|(case, _)| case == c)).collect();
    assert!(missing.is_empty(), "expected rejections that verified: {missing:#?}");
    assert!(
        rejected.iter().any(|(c, e)| c == "post-sts-header-after/header" && e.contains("'x-amz-security-token' must be a signed header"))
    );
    assert_eq!(accepted, 76 - EXPECTED_REJECTIONS.len(), "{rejected:#?}");
}

/// The suite's `double-url-encode` vector (Lambda, an ARN in the path): the non-S3 double
/// encoding turns `%3A` into `%253A`.
#[test]
fn double_url_encode() {
    let mut credentials = Credentials::new();
    credentials.insert("AKIDEXAMPLE", SECRET, "123456789012").unwrap();
    let verifier = Verifier::with_service(credentials, "lambda");
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/aws-signing-test-suite/v4/double-url-encode/header-signed-request.txt");
    // 2021-05-11T15:40:45Z
    let now = UNIX_EPOCH + Duration::from_secs(1_620_747_645);
    let caller = verify_file(&verifier, &file, now).unwrap();
    assert_eq!(caller.region, "us-east-2");
    // ... and a single-encoding signer's signature would not verify: flip the path encoding.
    let text = std::fs::read_to_string(&file).unwrap().replace("%3Amy-rusty-fun", ":my-rusty-fun");
    let tmp = std::env::temp_dir().join(format!("carillon-sigv4-due-{}.txt", std::process::id()));
    std::fs::write(&tmp, text).unwrap();
    let e = verify_file(&verifier, &tmp, now).unwrap_err();
    std::fs::remove_file(&tmp).ok();
    assert_eq!(e.kind(), AuthErrorKind::InvalidSignature);
}
