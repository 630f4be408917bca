//! A thin wrapper over `aws-sigv4` (the independent signer) for hand-written cases.
#![allow(dead_code)]

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings, UriPathNormalizationMode,
    sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use crate::common::OwnedRequest;

pub const AKID: &str = "AKIDEXAMPLE";
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
pub const ACCOUNT: &str = "123456789012";
/// 2026-11-28T12:00:00Z
pub const T0: i64 = 1_795_867_200;

pub fn at(t: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(t as u64)
}

#[derive(Clone)]
pub enum Body {
    Bytes,
    Unsigned,
    Precomputed(String),
}

#[derive(Clone)]
pub struct Spec {
    pub method: &'static str,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub akid: String,
    pub secret: String,
    pub token: Option<String>,
    pub region: String,
    pub service: String,
    pub t: i64,
    pub presign_expires: Option<u64>,
    pub checksum_header: bool,
    pub body_mode: Body,
    pub excluded_headers: Option<Vec<&'static str>>,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            method: "POST",
            path: "/app-instances/arn%3Aaws%3Achime%3Aus-east-1%3A123456789012%3Aapp-instance%2Fabc/users".into(),
            query: Some("max-results=10&next-token=a%2Fb".into()),
            headers: vec![("content-type".into(), "application/json".into())],
            body: br#"{"Name":"x"}"#.to_vec(),
            akid: AKID.into(),
            secret: SECRET.into(),
            token: None,
            region: "us-east-1".into(),
            service: "chime".into(),
            t: T0,
            presign_expires: None,
            checksum_header: false,
            body_mode: Body::Bytes,
            excluded_headers: None,
        }
    }
}

/// Signs `spec` with aws-sigv4; returns the request as the server sees it and the signature.
pub fn sign_spec(spec: &Spec) -> (OwnedRequest, String) {
    let identity: Identity = AwsCredentials::new(&spec.akid, &spec.secret, spec.token.clone(), None, "test").into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Double;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = if spec.checksum_header { PayloadChecksumKind::XAmzSha256 } else { PayloadChecksumKind::NoHeader };
    if let Some(expires) = spec.presign_expires {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(expires));
    }
    if let Some(excluded) = &spec.excluded_headers {
        let mut all = settings.excluded_headers.clone().unwrap_or_default();
        all.extend(excluded.iter().map(|h| Cow::Borrowed(*h)));
        settings.excluded_headers = Some(all);
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&spec.region)
        .name(&spec.service)
        .time(at(spec.t))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let uri = match &spec.query {
        Some(q) => format!("http://localhost:8080{}?{q}", spec.path),
        None => format!("http://localhost:8080{}", spec.path),
    };
    let body = match &spec.body_mode {
        Body::Bytes => SignableBody::Bytes(&spec.body),
        Body::Unsigned => SignableBody::UnsignedPayload,
        Body::Precomputed(h) => SignableBody::Precomputed(h.clone()),
    };
    let signable =
        SignableRequest::new(spec.method, uri.clone(), spec.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())), body).unwrap();
    let (instructions, signature) = sign(signable, &params).unwrap().into_parts();
    let mut headers: Vec<(String, Vec<u8>)> = vec![("Host".into(), b"localhost:8080".to_vec())];
    headers.extend(spec.headers.iter().map(|(k, v)| (k.clone(), v.clone().into_bytes())));
    headers.extend(instructions.headers().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())));
    let mut http_req = http::Request::builder().method(spec.method).uri(&uri).body(()).unwrap();
    instructions.apply_to_request_http1x(&mut http_req);
    let request = OwnedRequest {
        method: spec.method.into(),
        path: http_req.uri().path().into(),
        query: http_req.uri().query().map(Into::into),
        headers,
        body: spec.body.clone(),
    };
    (request, signature)
}
