//! Independent oracle: requests signed by `aws-sigv4` (the signer of aws-sdk-rust), configured
//! as for the Chime SDK Identity API (double URI encoding, no path normalization), with
//! random ARNs in the path, random queries, bodies and headers, header-signed and presigned.
//! Every one must verify, and every one-byte change to a signed part must be rejected with
//! InvalidSignature.
//!
//! `CARILLON_SIGV4_ORACLE_N` overrides the number of requests (default 10,000) and
//! `CARILLON_SIGV4_ORACLE_SEED` the seed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings, UriPathNormalizationMode,
    sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use carillon_sigv4::{AuthErrorKind, Credentials, Verifier, scope_from_unverified};
use common::{OwnedRequest, Rng, pct};

const ACCOUNT: &str = "123456789012";
/// 2026-11-28T12:00:00Z
const T0: i64 = 1_795_867_200;

const KEYS: &[(&str, &str, &str)] = &[
    ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "123456789012"),
    ("AKIAIOSFODNN7EXAMPLE", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY", "210987654321"),
    ("carillon_dev", "s3cr3t:with:colons+and/slashes=", "000000000001"),
];

const REGIONS: &[&str] = &["us-east-1", "eu-west-2", "ap-southeast-1", "us-gov-west-1", "xx-mars-7"];
/// Not region names: requests signed for them are refused.
const NOT_REGIONS: &[&str] = &["mars-north-7", "local", "US-EAST-1"];

/// Characters user ids and values are made of: ASCII punctuation of every class and unicode.
const POOL: &[&str] = &[
    "a", "b", "Z", "0", "7", "-", "_", ".", "~", " ", ":", "/", "@", "!", "$", "&", "'", "(", ")", "*", "+", ",", ";", "=", "?", "#", "[",
    "]", "%", "\"", "<", ">", "^", "`", "{", "|", "}", "\\", "é", "ß", "中", "文", "🎉", "ሴ", "\u{301}", "Ω", "ключ",
];

fn random_text(rng: &mut Rng, max: usize) -> String {
    let n = rng.index(max + 1);
    (0..n).map(|_| *rng.pick(POOL)).collect()
}

fn random_id(rng: &mut Rng) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        rng.next_u64() as u32,
        rng.below(65536),
        rng.below(4096),
        rng.below(4096),
        rng.next_u64() & 0xffff_ffff_ffff
    )
}

/// Encodes a label as a client would: strictly (aws-sdk-rust, JS, botocore), keeping RFC 3986
/// sub-delims, ':' and '@' raw (a lax client), or with lowercase hex.
fn encode_segment(rng: &mut Rng, s: &str) -> String {
    match rng.below(10) {
        0..=5 => pct(s, b"", false),
        6..=7 => pct(s, b"!$&'()*+,;=:@", false),
        _ => pct(s, b"", true),
    }
}

fn random_path(rng: &mut Rng, region: &str) -> String {
    let instance = format!("arn:aws:chime:{region}:{ACCOUNT}:app-instance/{}", random_id(rng));
    let user = format!("{instance}/user/{}", random_text(rng, 12));
    let bot = format!("{instance}/bot/{}", random_id(rng));
    let (text8, text10) = (random_text(rng, 8), random_text(rng, 10));
    match rng.below(8) {
        0 => format!("/app-instances/{}", encode_segment(rng, &instance)),
        1 => format!("/app-instance-users/{}", encode_segment(rng, &user)),
        2 => format!("/app-instance-users/{}/endpoints/{}", encode_segment(rng, &user), encode_segment(rng, &text8)),
        3 => format!("/app-instances/{}/admins/{}", encode_segment(rng, &instance), encode_segment(rng, &user)),
        4 => format!("/app-instance-bots/{}", encode_segment(rng, &bot)),
        5 => "/app-instances".to_string(),
        6 => "/".to_string(),
        _ => format!("/tags/{}/x", encode_segment(rng, &text10)),
    }
}

fn random_query(rng: &mut Rng) -> Option<String> {
    const KEYS: &[&str] = &[
        "max-results",
        "next-token",
        "app-instance-arn",
        "operation",
        "a b",
        "ключ",
        "k+y",
        "x",
        "X",
        "Param-3",
        "%weird",
        "e=q",
        "amp&",
        "",
    ];
    if rng.chance(30) {
        return None;
    }
    let n = rng.index(6);
    let mut pairs: Vec<String> = Vec::new();
    // a repeated key is refused (rejections.rs): each key once here
    let mut used: Vec<String> = Vec::new();
    for _ in 0..n {
        let key = rng.pick(KEYS).to_string();
        if used.contains(&key) {
            continue;
        }
        used.push(key.clone());
        let value = random_text(rng, 10);
        let enc = |rng: &mut Rng, s: &str| match rng.below(10) {
            0..=5 => pct(s, b"", false),
            6 => pct(s, b"", true),
            7 => pct(s, b":@!$'()*,;/?", false),
            // spaces as '+', the form encoding
            _ => pct(s, b" ", false).replace(' ', "+"),
        };
        let k = enc(rng, &key);
        if k.is_empty() && rng.chance(50) {
            continue;
        }
        if rng.chance(10) {
            pairs.push(k); // no '=': an empty value
        } else {
            let v = enc(rng, &value);
            pairs.push(format!("{k}={v}"));
        }
    }
    Some(pairs.join("&"))
}

fn random_body(rng: &mut Rng, method: &str) -> Vec<u8> {
    if method == "GET" || method == "DELETE" {
        return Vec::new();
    }
    let mut map = serde_json::Map::new();
    for key in ["Name", "Metadata", "ClientRequestToken", "AppInstanceUserId"] {
        if rng.chance(60) {
            map.insert(key.into(), serde_json::Value::String(random_text(rng, 20)));
        }
    }
    if rng.chance(20) {
        map.insert(
            "Expiration".into(),
            serde_json::json!({"ExpirationDays": rng.below(365) + 1, "ExpirationCriterion": "CREATED_TIMESTAMP"}),
        );
    }
    serde_json::to_vec(&serde_json::Value::Object(map)).unwrap()
}

/// Random request headers for the signer (names lowercase) and case-scrambled names for the
/// server.
fn random_headers(rng: &mut Rng, body: &[u8]) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = Vec::new();
    if !body.is_empty() {
        h.push(("content-type".into(), "application/json".into()));
        if rng.chance(50) {
            h.push(("content-length".into(), body.len().to_string()));
        }
    }
    if rng.chance(50) {
        h.push(("x-amz-user-agent".into(), "aws-sdk-js/3.700.0  ua/2.1   os/linux#6.1 lang/js".into()));
    }
    if rng.chance(30) {
        h.push((format!("x-amz-meta-{}", rng.below(100)), format!("  {}  v  ", rng.next_u64())));
    }
    if rng.chance(50) {
        h.push(("amz-sdk-invocation-id".into(), random_id(rng)));
        h.push(("amz-sdk-request".into(), "attempt=1; max=3".into()));
    }
    if rng.chance(40) {
        h.push(("user-agent".into(), format!("aws-sdk-rust/1.3 os/{}", rng.below(9))));
    }
    if rng.chance(20) {
        h.push(("x-amzn-trace-id".into(), format!("Root=1-{:x}", rng.next_u64())));
    }
    if rng.chance(30) {
        h.push(("x-custom".into(), "a   b    c".into()));
    }
    if rng.chance(15) {
        // a repeated header: the canonical value joins them with ','
        h.push(("x-amz-dup".into(), "one".into()));
        h.push(("x-amz-dup".into(), "  two  three ".into()));
    }
    h
}

fn scramble_case(rng: &mut Rng, name: &str) -> String {
    match rng.below(3) {
        0 => name.to_string(),
        1 => name.to_ascii_uppercase(),
        _ => name
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("-"),
    }
}

struct Signed {
    request: OwnedRequest,
    now: SystemTime,
    presigned: bool,
    body_bound: bool,
    /// Signed over UNSIGNED-PAYLOAD, or for a region that is not a region name: refused.
    refused: bool,
    akid: &'static str,
    region: &'static str,
    account: &'static str,
}

fn signed_request(rng: &mut Rng) -> Signed {
    let (akid, secret, account) = *rng.pick(KEYS);
    let region = if rng.chance(5) { *rng.pick(NOT_REGIONS) } else { *rng.pick(REGIONS) };
    let method = *rng.pick(&["GET", "POST", "PUT", "DELETE", "POST"]);
    let path = random_path(rng, region);
    let query = random_query(rng);
    let body = random_body(rng, method);
    let headers = random_headers(rng, &body);
    let (base, host) = if rng.chance(50) {
        ("http://localhost:8080".to_string(), "localhost:8080".to_string())
    } else {
        let h = format!("identity-chime.{region}.amazonaws.com");
        (format!("https://{h}"), h)
    };
    let explicit_host = rng.chance(50);
    let uri = match &query {
        Some(q) => format!("{base}{path}?{q}"),
        None => format!("{base}{path}"),
    };
    let token = rng.chance(20).then(|| format!("FQoGZXIvYXdzE{}//token+/=", rng.next_u64()));
    let identity: Identity = AwsCredentials::new(akid, secret, token.clone(), None, "carillon-test").into();
    let t = T0 + rng.range(0, 3 * 365 * 86_400);
    let presigned = rng.chance(25);
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Double;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let with_sha_header = !presigned && rng.chance(30);
    settings.payload_checksum_kind = if with_sha_header { PayloadChecksumKind::XAmzSha256 } else { PayloadChecksumKind::NoHeader };
    let expires = if rng.chance(50) { rng.range(1, 604_800) } else { *rng.pick(&[60, 900, 3600, 604_800]) };
    if presigned {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(expires as u64));
    }
    let digest = {
        use sha2::Digest;
        sha2::Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let (signable_body, body_bound): (SignableBody<'_>, bool) = if presigned {
        if rng.chance(20) { (SignableBody::UnsignedPayload, false) } else { (SignableBody::Bytes(&body), true) }
    } else if with_sha_header {
        match rng.below(3) {
            0 => (SignableBody::UnsignedPayload, false),
            1 => (SignableBody::Precomputed(digest), true),
            _ => (SignableBody::Bytes(&body), true),
        }
    } else {
        (SignableBody::Bytes(&body), true)
    };
    enum Kind {
        Unsigned,
        Bound,
    }
    let signable_body_kind = if matches!(signable_body, SignableBody::UnsignedPayload) { Kind::Unsigned } else { Kind::Bound };
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("chime")
        .time(UNIX_EPOCH + Duration::from_secs(t as u64))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let mut signer_headers: Vec<(String, String)> = headers.clone();
    if explicit_host {
        signer_headers.push(("host".into(), host.clone()));
    }
    let signable = SignableRequest::new(method, uri.clone(), signer_headers.iter().map(|(k, v)| (k.as_str(), v.as_str())), signable_body)
        .unwrap_or_else(|e| panic!("{uri}: {e}"));
    let (instructions, _signature) = sign(signable, &params).unwrap().into_parts();

    let mut server_headers: Vec<(String, Vec<u8>)> = Vec::new();
    server_headers.push((scramble_case(rng, "host"), host.into_bytes()));
    for (k, v) in &headers {
        server_headers.push((scramble_case(rng, k), v.clone().into_bytes()));
    }
    for (k, v) in instructions.headers() {
        server_headers.push((scramble_case(rng, k), v.as_bytes().to_vec()));
    }
    let (final_path, final_query) = {
        let mut http_req = http::Request::builder().method(method).uri(&uri).body(()).unwrap();
        instructions.apply_to_request_http1x(&mut http_req);
        (http_req.uri().path().to_string(), http_req.uri().query().map(str::to_string))
    };
    assert_eq!(final_path, if path.is_empty() { "/" } else { &path });
    // shuffle the header order, keeping the relative order of the values of a repeated name
    let original = server_headers.clone();
    for i in (1..server_headers.len()).rev() {
        let j = rng.index(i + 1);
        server_headers.swap(i, j);
    }
    let mut taken = vec![false; original.len()];
    for (name, value) in server_headers.iter_mut() {
        let k = (0..original.len()).find(|&k| !taken[k] && original[k].0.eq_ignore_ascii_case(name)).unwrap();
        taken[k] = true;
        *value = original[k].1.clone();
    }
    let skew = if presigned { rng.range(-900, 900.min(expires)) } else { rng.range(-900, 900) };
    let request = OwnedRequest { method: method.to_string(), path: final_path, query: final_query, headers: server_headers, body };
    let now = UNIX_EPOCH + Duration::from_secs((t + skew) as u64);
    let refused = matches!(signable_body_kind, Kind::Unsigned) || !carillon_sigv4::is_region_name(region);
    Signed { request, now, presigned, body_bound, refused, akid, region, account }
}

fn verifier() -> Verifier {
    let mut creds = Credentials::new();
    for (akid, secret, account) in KEYS {
        creds.insert(akid, secret, account).unwrap();
    }
    Verifier::new(creds)
}

/// Replaces one ASCII alphanumeric byte (outside `%XX` escapes, in `range`) with another.
fn change_alnum(rng: &mut Rng, s: &mut [u8], range: std::ops::Range<usize>) -> bool {
    let mut candidates = Vec::new();
    let mut i = range.start;
    while i < range.end.min(s.len()) {
        if s[i] == b'%' {
            i += 3;
            continue;
        }
        if s[i].is_ascii_alphanumeric() {
            candidates.push(i);
        }
        i += 1;
    }
    if candidates.is_empty() {
        return false;
    }
    let at = *rng.pick(&candidates);
    s[at] = match s[at] {
        b'z' => b'a',
        b'Z' => b'A',
        b'9' => b'0',
        c => c + 1,
    };
    true
}

fn expect_invalid(v: &Verifier, req: &OwnedRequest, now: SystemTime, what: &str, seed_case: usize) {
    match req.with_parts(|p| v.verify(p, now)) {
        Ok(_) => panic!("case {seed_case}: {what} mutation verified: {req:#?}"),
        Err(e) => assert_eq!(e.kind(), AuthErrorKind::InvalidSignature, "case {seed_case}: {what}: {e}"),
    }
}

/// Positions of the value of the `name` query parameter in the raw query.
fn query_value_range(query: &str, name: &str) -> Option<std::ops::Range<usize>> {
    let mut at = 0;
    for pair in query.split('&') {
        if let Some(v) = pair.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
            let start = at + name.len() + 1;
            return Some(start..start + v.len());
        }
        at += pair.len() + 1;
    }
    None
}

#[test]
fn aws_sigv4_oracle() {
    let n: usize = std::env::var("CARILLON_SIGV4_ORACLE_N").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let seed: u64 = std::env::var("CARILLON_SIGV4_ORACLE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5157_4a11_c0de);
    let mut rng = Rng(seed);
    let verifier = verifier();
    let started = Instant::now();
    let (mut presigned, mut mutations, mut refused) = (0, 0, 0);
    for case in 0..n {
        let s = signed_request(&mut rng);
        if s.refused {
            refused += 1;
            expect_invalid(&verifier, &s.request, s.now, "refused as signed", case);
            continue;
        }
        presigned += usize::from(s.presigned);
        let caller = s
            .request
            .with_parts(|p| verifier.verify(p, s.now))
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{:?}\n{:#?}", e.detail(), s.request));
        assert_eq!(caller.access_key_id, s.akid);
        assert_eq!(caller.region, s.region);
        assert_eq!(caller.account_id, s.account);
        let scope = s.request.with_parts(scope_from_unverified).unwrap();
        assert_eq!((scope.access_key_id.as_str(), scope.region.as_str()), (s.akid, s.region));

        // 1. the path
        let mut m = s.request.clone();
        let mut path = m.path.clone().into_bytes();
        if !change_alnum(&mut rng, &mut path, 0..usize::MAX) {
            path.push(b'x');
        }
        m.path = String::from_utf8(path).unwrap();
        expect_invalid(&verifier, &m, s.now, "path", case);

        // 2. a query key or value (not the presigning parameters)
        let mut m = s.request.clone();
        let query = m.query.clone().unwrap_or_default();
        let mut bytes = query.clone().into_bytes();
        let user_end = query.find("X-Amz-").map_or(bytes.len(), |i| i.saturating_sub(1));
        let user_part_is_first = !query.starts_with("X-Amz-");
        if user_part_is_first && change_alnum(&mut rng, &mut bytes, 0..user_end) {
            m.query = Some(String::from_utf8(bytes).unwrap());
        } else {
            m.query = Some(if query.is_empty() { "added=1".into() } else { format!("added=1&{query}") });
        }
        expect_invalid(&verifier, &m, s.now, "query", case);

        // 3. the body, when signed
        if s.body_bound {
            let mut m = s.request.clone();
            if !change_alnum(&mut rng, &mut m.body, 0..usize::MAX) {
                m.body.push(b' ');
            }
            expect_invalid(&verifier, &m, s.now, "body", case);
        }

        // 4. a signed header value
        let mut m = s.request.clone();
        let signed_list: String = if s.presigned {
            let r = query_value_range(&query, "X-Amz-SignedHeaders").unwrap();
            query[r].replace("%3B", ";")
        } else {
            let auth = String::from_utf8(m.header("authorization").unwrap().to_vec()).unwrap();
            auth.split("SignedHeaders=").nth(1).unwrap().split(',').next().unwrap().to_string()
        };
        let names: Vec<&str> = signed_list.split(';').filter(|h| *h != "x-amz-date").collect();
        let name = *rng.pick(&names);
        let value = m.header_mut(name).unwrap();
        if !change_alnum(&mut rng, value, 0..usize::MAX) {
            value.push(b'x');
        }
        expect_invalid(&verifier, &m, s.now, &format!("header {name}"), case);

        // 5. the date, one second later
        let mut m = s.request.clone();
        if s.presigned {
            let r = query_value_range(&query, "X-Amz-Date").unwrap();
            let t = &query[r.clone()];
            assert_eq!(t.len(), 16);
            let mut q = query.clone();
            let last = t.as_bytes()[14];
            q.replace_range(r.start + 14..r.start + 15, &((if last == b'9' { b'8' } else { last + 1 }) as char).to_string());
            m.query = Some(q);
        } else {
            let v = m.header_mut("x-amz-date").unwrap();
            v[14] = if v[14] == b'9' { b'8' } else { v[14] + 1 };
        }
        expect_invalid(&verifier, &m, s.now, "date", case);

        // 6. the region of the credential scope
        let mut m = s.request.clone();
        if s.presigned {
            let from = format!("%2F{}%2F", s.region);
            let to = format!("%2F{}x%2F", s.region);
            assert!(query.contains(&from));
            m.query = Some(query.replacen(&from, &to, 1));
        } else {
            let v = m.header_mut("authorization").unwrap();
            let auth = String::from_utf8(v.clone()).unwrap();
            *v = auth.replacen(&format!("/{}/", s.region), &format!("/{}x/", s.region), 1).into_bytes();
        }
        expect_invalid(&verifier, &m, s.now, "region", case);

        // 7. an unsigned x-amz-* header added after signing
        let mut m = s.request.clone();
        m.headers.push(("X-Amz-Injected".into(), b"1".to_vec()));
        expect_invalid(&verifier, &m, s.now, "unsigned x-amz header", case);
        mutations += 6 + usize::from(s.body_bound);
    }
    let elapsed = started.elapsed();
    println!(
        "{n} signed requests ({presigned} presigned, {refused} refused as signed) checked, {mutations} mutations rejected in {elapsed:?}"
    );
    assert!(presigned > n / 8 && refused > n / 20 && refused < n / 4, "{presigned} {refused}");
}
