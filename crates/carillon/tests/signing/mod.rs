//! Raw HTTP over loopback with SigV4 signatures made by aws-sigv4 (the signer of aws-sdk-rust),
//! for requests the SDK cannot send: the control plane, replays, tampered queries.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings, UriPathNormalizationMode,
    sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

/// Who signs, and how.
#[derive(Clone)]
pub struct Signer {
    pub access_key: String,
    pub secret: String,
    pub region: String,
    pub service: String,
    /// Sign over `UNSIGNED-PAYLOAD` (sent in `x-amz-content-sha256`) instead of the body's hash.
    pub unsigned_payload: bool,
    /// Presigned (signature in the query) instead of the Authorization header.
    pub presigned: bool,
    /// The signing time.
    pub time: SystemTime,
}

impl Signer {
    pub fn new(access_key: &str, secret: &str) -> Signer {
        Signer {
            access_key: access_key.into(),
            secret: secret.into(),
            region: "us-east-1".into(),
            service: "chime".into(),
            unsigned_payload: false,
            presigned: false,
            time: SystemTime::now(),
        }
    }

    /// The request target (path and query, as sent) and the headers to send, for `method
    /// target` with `body` to `addr`.
    pub fn sign(&self, addr: SocketAddr, method: &str, target: &str, body: &[u8]) -> (String, Vec<(String, String)>) {
        let identity: Identity = AwsCredentials::new(&self.access_key, &self.secret, None, None, "test").into();
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Double;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        if self.unsigned_payload {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        if self.presigned {
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = Some(Duration::from_secs(300));
        }
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(self.time)
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let host = addr.to_string();
        let uri = format!("http://{host}{target}");
        let mut headers = vec![("host".to_string(), host.clone()), ("content-type".to_string(), "application/json".to_string())];
        let signable_body = if self.unsigned_payload { SignableBody::UnsignedPayload } else { SignableBody::Bytes(body) };
        let signable =
            SignableRequest::new(method, uri.clone(), headers.iter().map(|(k, v)| (k.as_str(), v.as_str())), signable_body).unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        headers.extend(instructions.headers().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut req = http::Request::builder().method(method).uri(&uri).body(()).unwrap();
        instructions.apply_to_request_http1x(&mut req);
        let target = match req.uri().query() {
            Some(q) => format!("{}?{q}", req.uri().path()),
            None => req.uri().path().to_string(),
        };
        (target, headers)
    }
}

/// An answer read off the socket.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }

    /// The error type, for an error answer.
    pub fn error_type(&self) -> &str {
        self.header("x-amzn-ErrorType").unwrap_or("-")
    }
}

/// The head of a request (`Connection: close` added), ready to send before its body.
pub fn head(method: &str, target: &str, headers: &[(String, String)], content_length: usize) -> Vec<u8> {
    let mut h = format!("{method} {target} HTTP/1.1\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        h.push_str("host: x\r\n");
    }
    h.push_str(&format!("content-length: {content_length}\r\nconnection: close\r\n\r\n"));
    h.into_bytes()
}

/// Sends a whole request and reads the answer.
pub fn send(addr: SocketAddr, method: &str, target: &str, headers: &[(String, String)], body: &[u8]) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut bytes = head(method, target, headers, body.len());
    bytes.extend_from_slice(body);
    s.write_all(&bytes).unwrap();
    read_answer(&mut s, method == "HEAD").unwrap_or_else(|| panic!("no answer to {method} {target}"))
}

/// Reads one answer; `None` when none came before the read timeout or the connection closed.
pub fn read_answer(s: &mut TcpStream, head_only: bool) -> Option<Answer> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.get(9..12)?.parse().ok()?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let length: usize =
        headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-length")).and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    if !head_only {
        while body.len() < length {
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
        body.truncate(length);
    }
    Some(Answer { status, headers, body })
}

/// A signed request sent whole.
pub fn signed(addr: SocketAddr, signer: &Signer, method: &str, target: &str, body: &[u8]) -> Answer {
    let (target, headers) = signer.sign(addr, method, target, body);
    send(addr, method, &target, &headers, body)
}
