//! A small AWS Signature Version 4 signer for the Chime SDK Identity API (service `chime`),
//! configured as aws-sdk-rust signs it: double URI encoding of the path (so `%2F` inside an ARN
//! signs as `%252F`), no `x-amz-content-sha256` header (the server hashes the body), signed
//! headers `content-type` (when there is a body), `host` and `x-amz-date`.
//!
//! The signing key (four HMACs) is derived once per signer; a request then costs one SHA-256 of
//! the body, one of the canonical request and one HMAC. `tests` cross-check it against `aws-sigv4`.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

pub const SERVICE: &str = "chime";

#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key: String,
    pub secret: String,
    pub account: String,
}

impl Credentials {
    /// `AKID:SECRET:ACCOUNT`, the format of Carillon's `--credentials` file.
    pub fn parse(line: &str) -> Option<Credentials> {
        let mut p = line.trim().splitn(3, ':');
        let (a, s, acct) = (p.next()?, p.next()?, p.next()?);
        (!a.is_empty() && !s.is_empty() && acct.len() == 12).then(|| Credentials {
            access_key: a.to_string(),
            secret: s.to_string(),
            account: acct.to_string(),
        })
    }

    pub fn line(&self) -> String {
        format!("{}:{}:{}", self.access_key, self.secret, self.account)
    }
}

/// Signs requests for one credential, region and host at one instant (`x-amz-date`). A signature
/// stays valid for 15 minutes of server clock; make a new signer for later requests.
pub struct Signer {
    access_key: String,
    host: String,
    amz_date: String,
    scope: String,
    key: [u8; 32],
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(data);
    m.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `(YYYYMMDD, YYYYMMDDTHHMMSSZ)` of a Unix time.
pub fn amz_dates(unix_secs: i64) -> (String, String) {
    let (y, m, d) = civil_from_days(unix_secs.div_euclid(86_400));
    let s = unix_secs.rem_euclid(86_400);
    let date = format!("{y:04}{m:02}{d:02}");
    let stamp = format!("{date}T{:02}{:02}{:02}Z", s / 3600, (s / 60) % 60, s % 60);
    (date, stamp)
}

/// Percent-encodes everything but RFC 3986 unreserved characters (and `/` when `keep_slash`).
pub fn pct(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A query string in canonical form (each key and value encoded, sorted): it is both what is sent
/// and what is signed.
pub fn canonical_query(pairs: &[(&str, &str)]) -> String {
    let mut enc: Vec<(String, String)> = pairs.iter().map(|(k, v)| (pct(k, false), pct(v, false))).collect();
    enc.sort();
    enc.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

impl Signer {
    pub fn new(creds: &Credentials, region: &str, host: &str, at: SystemTime) -> Signer {
        let secs = at.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        let (date, amz_date) = amz_dates(secs);
        let k_date = hmac(format!("AWS4{}", creds.secret).as_bytes(), date.as_bytes());
        let k_region = hmac(&k_date, region.as_bytes());
        let k_service = hmac(&k_region, SERVICE.as_bytes());
        let key = hmac(&k_service, b"aws4_request");
        Signer {
            access_key: creds.access_key.clone(),
            host: host.to_string(),
            amz_date,
            scope: format!("{date}/{region}/{SERVICE}/aws4_request"),
            key,
        }
    }

    pub fn now(creds: &Credentials, region: &str, host: &str) -> Signer {
        Signer::new(creds, region, host, SystemTime::now())
    }

    /// The headers to send: `host`, `x-amz-date`, `authorization`, and when `bearer` is given
    /// `x-amz-chime-bearer` (else the fourth is empty and not to be sent); the caller sends
    /// `content-type` itself when it passes one. Every header sent is signed, as aws-sdk-rust
    /// signs them. `path` is the raw (already percent-encoded) path; `query` is in canonical form
    /// ([`canonical_query`]).
    pub fn sign(
        &self,
        method: &str,
        path: &str,
        query: &str,
        content_type: Option<&str>,
        bearer: Option<&str>,
        body: &[u8],
    ) -> [(&'static str, String); 4] {
        let body_hash = hex(&Sha256::digest(body));
        let canonical_uri = pct(path, true);
        let mut canonical = String::with_capacity(512);
        let _ = write!(canonical, "{method}\n{canonical_uri}\n{query}\n");
        let mut signed_headers = String::with_capacity(64);
        if let Some(ct) = content_type {
            let _ = writeln!(canonical, "content-type:{}", ct.trim());
            signed_headers.push_str("content-type;");
        }
        let _ = writeln!(canonical, "host:{}", self.host);
        signed_headers.push_str("host;");
        if let Some(b) = bearer {
            let _ = writeln!(canonical, "x-amz-chime-bearer:{}", b.trim());
            signed_headers.push_str("x-amz-chime-bearer;");
        }
        let _ = write!(canonical, "x-amz-date:{}\n\n", self.amz_date);
        signed_headers.push_str("x-amz-date");
        let _ = write!(canonical, "{signed_headers}\n{body_hash}");
        let string_to_sign = format!("AWS4-HMAC-SHA256\n{}\n{}\n{}", self.amz_date, self.scope, hex(&Sha256::digest(canonical.as_bytes())));
        let signature = hex(&hmac(&self.key, string_to_sign.as_bytes()));
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={signed_headers}, Signature={signature}",
            self.access_key, self.scope
        );
        [
            ("host", self.host.clone()),
            ("x-amz-date", self.amz_date.clone()),
            ("authorization", authorization),
            ("x-amz-chime-bearer", bearer.unwrap_or_default().to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(amz_dates(0), ("19700101".into(), "19700101T000000Z".into()));
        assert_eq!(amz_dates(1_795_867_200), ("20261128".into(), "20261128T120000Z".into()));
        assert_eq!(amz_dates(951_825_599), ("20000229".into(), "20000229T115959Z".into()));
    }

    #[test]
    fn encoding() {
        assert_eq!(pct("arn:aws:chime:us-east-1:1/user/a@b", false), "arn%3Aaws%3Achime%3Aus-east-1%3A1%2Fuser%2Fa%40b");
        assert_eq!(canonical_query(&[("max-results", "50"), ("app-instance-arn", "a:b/c")]), "app-instance-arn=a%3Ab%2Fc&max-results=50");
    }

    /// Our signatures equal those of aws-sdk-rust's signer (double encoding, no normalization).
    #[test]
    fn matches_aws_sigv4() {
        use aws_credential_types::Credentials as AwsCredentials;
        use aws_sigv4::http_request::{
            PercentEncodingMode, SignableBody, SignableRequest, SigningSettings, UriPathNormalizationMode, sign,
        };
        use aws_sigv4::sign::v4;
        use aws_smithy_runtime_api::client::identity::Identity;
        use std::time::Duration;

        let creds = Credentials {
            access_key: "AKIDEXAMPLE".into(),
            secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            account: "123456789012".into(),
        };
        let at = UNIX_EPOCH + Duration::from_secs(1_795_867_200);
        let host = "127.0.0.1:4590";
        let ours = Signer::new(&creds, "eu-west-1", host, at);
        let user = "arn:aws:chime:eu-west-1:123456789012:app-instance/0f0e/user/a:b@c.d";
        let app = "arn:aws:chime:eu-west-1:123456789012:app-instance/0f0e";
        let endpoint = format!("/app-instance-users/{}/endpoints/abc123", pct(user, false));
        let channel = format!("/channels/{}/messages", pct(&format!("{app}/channel/c-1"), false));
        // (method, path, canonical query, body, bearer)
        type Case<'a> = (&'a str, String, String, &'a [u8], Option<&'a str>);
        let cases: Vec<Case> = vec![
            ("PUT", endpoint.clone(), String::new(), br#"{"Name":"x","AllowMessages":"ALL"}"#, None),
            ("GET", endpoint.clone(), String::new(), b"", None),
            ("DELETE", endpoint, String::new(), b"", None),
            (
                "GET",
                "/app-instance-users".into(),
                canonical_query(&[("app-instance-arn", app), ("max-results", "50"), ("next-token", "AAA-_x")]),
                b"",
                None,
            ),
            ("POST", "/app-instances".into(), String::new(), br#"{"Name":"n","ClientRequestToken":"t"}"#, None),
            ("POST", channel.clone(), String::new(), br#"{"Content":"hi","Type":"STANDARD","Persistence":"PERSISTENT"}"#, Some(user)),
            ("GET", channel, canonical_query(&[("sort-order", "ASCENDING"), ("not-before", "2026-11-28T12:00:00.000Z")]), b"", Some(user)),
        ];
        for (method, path, query, body, bearer) in cases {
            let ct = (!body.is_empty()).then_some("application/json");
            let mine = ours.sign(method, &path, &query, ct, bearer, body);
            let mut settings = SigningSettings::default();
            settings.percent_encoding_mode = PercentEncodingMode::Double;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
            let identity: Identity = AwsCredentials::new(&creds.access_key, &creds.secret, None, None, "test").into();
            let params = v4::SigningParams::builder()
                .identity(&identity)
                .region("eu-west-1")
                .name("chime")
                .time(at)
                .settings(settings)
                .build()
                .unwrap()
                .into();
            let mut headers = vec![("host", host)];
            if let Some(ct) = ct {
                headers.push(("content-type", ct));
            }
            if let Some(b) = bearer {
                headers.push(("x-amz-chime-bearer", b));
            }
            let uri = if query.is_empty() { format!("http://{host}{path}") } else { format!("http://{host}{path}?{query}") };
            let signable = SignableRequest::new(method, uri, headers.into_iter(), SignableBody::Bytes(body)).unwrap();
            let (instructions, _) = sign(signable, &params).unwrap().into_parts();
            let theirs: std::collections::HashMap<String, String> =
                instructions.headers().map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())).collect();
            assert_eq!(Some(&mine[1].1), theirs.get("x-amz-date"), "{method} {path}");
            assert_eq!(Some(&mine[2].1), theirs.get("authorization"), "{method} {path}?{query}");
        }
    }
}
