//! The requests the bench sends, built and signed ahead of time, and the operations it times.

use crate::sign::{Signer, canonical_query, pct};
use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Uri};

pub const CONTENT_TYPE: &str = "application/json";

/// An operation whose latency is recorded separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    Update,
    Describe,
    Register,
    Deregister,
    ListUsers,
}

impl Op {
    pub const ALL: [Op; 5] = [Op::Update, Op::Describe, Op::Register, Op::Deregister, Op::ListUsers];

    pub fn name(self) -> &'static str {
        match self {
            Op::Update => "update",
            Op::Describe => "describe",
            Op::Register => "register",
            Op::Deregister => "deregister",
            Op::ListUsers => "list-users",
        }
    }

    pub fn from_name(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.name() == s)
    }

    /// Which operation a request is, from its method and raw path (for the baseline server).
    pub fn classify(method: &Method, path: &str) -> Option<Op> {
        let segs: Vec<&str> = path.split('/').collect();
        match (method.as_str(), segs.as_slice()) {
            ("GET", ["", "app-instance-users"]) => Some(Op::ListUsers),
            ("POST", ["", "app-instance-users", _, "endpoints"]) => Some(Op::Register),
            ("PUT", ["", "app-instance-users", _, "endpoints", _]) => Some(Op::Update),
            ("GET", ["", "app-instance-users", _, "endpoints", _]) => Some(Op::Describe),
            ("DELETE", ["", "app-instance-users", _, "endpoints", _]) => Some(Op::Deregister),
            _ => None,
        }
    }
}

/// A unit of a mix: one request, or (register-deregister) a register followed by a deregister
/// of the endpoint it made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MixOp {
    Update,
    Describe,
    RegisterDeregister,
    ListUsers,
}

impl MixOp {
    pub fn parse(s: &str) -> Option<MixOp> {
        match s {
            "update" => Some(MixOp::Update),
            "describe" => Some(MixOp::Describe),
            "register-deregister" | "register" | "regdereg" => Some(MixOp::RegisterDeregister),
            "list-users" | "list" => Some(MixOp::ListUsers),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            MixOp::Update => "update",
            MixOp::Describe => "describe",
            MixOp::RegisterDeregister => "register-deregister",
            MixOp::ListUsers => "list-users",
        }
    }
}

/// A request ready to send any number of times: the same bytes each time.
#[derive(Clone, Debug)]
pub struct Signed {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The same request serialized as HTTP/1.1, for the raw client.
    pub wire: Bytes,
}

impl Signed {
    pub fn request(&self) -> hyper::Request<http_body_util::Full<Bytes>> {
        let mut r = hyper::Request::new(http_body_util::Full::new(self.body.clone()));
        *r.method_mut() = self.method.clone();
        *r.uri_mut() = self.uri.clone();
        *r.headers_mut() = self.headers.clone();
        r
    }
}

/// Signs one request. `path` is the raw path (labels already percent-encoded); `query` holds
/// decoded pairs.
pub fn signed(signer: &Signer, method: Method, path: &str, query: &[(&str, &str)], body: Option<String>) -> Signed {
    let q = canonical_query(query);
    let body = body.map(Bytes::from).unwrap_or_default();
    let content_type = (!body.is_empty()).then_some(CONTENT_TYPE);
    let mut headers = HeaderMap::with_capacity(4);
    for (k, v) in signer.sign(method.as_str(), path, &q, content_type, &body) {
        headers.insert(HeaderName::from_static(k), HeaderValue::from_str(&v).expect("signed header values are ASCII"));
    }
    if let Some(ct) = content_type {
        headers.insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    let target = if q.is_empty() { path.to_string() } else { format!("{path}?{q}") };
    let mut wire = format!("{method} {target} HTTP/1.1\r\n").into_bytes();
    for (k, v) in &headers {
        wire.extend_from_slice(k.as_str().as_bytes());
        wire.extend_from_slice(b": ");
        wire.extend_from_slice(v.as_bytes());
        wire.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() || matches!(method, Method::POST | Method::PUT) {
        wire.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    wire.extend_from_slice(b"\r\n");
    wire.extend_from_slice(&body);
    Signed { method, uri: target.parse().expect("bench URIs are valid"), headers, body, wire: Bytes::from(wire) }
}

fn endpoint_path(user_arn: &str, endpoint_id: &str) -> String {
    format!("/app-instance-users/{}/endpoints/{}", pct(user_arn, false), pct(endpoint_id, false))
}

pub fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

pub fn create_app_instance(s: &Signer, name: &str, token: &str) -> Signed {
    let body = format!(r#"{{"Name":{},"ClientRequestToken":{}}}"#, json_str(name), json_str(token));
    signed(s, Method::POST, "/app-instances", &[], Some(body))
}

pub fn create_user(s: &Signer, app_arn: &str, user_id: &str, name: &str, token: &str) -> Signed {
    let body = format!(
        r#"{{"AppInstanceArn":{},"AppInstanceUserId":{},"Name":{},"ClientRequestToken":{}}}"#,
        json_str(app_arn),
        json_str(user_id),
        json_str(name),
        json_str(token)
    );
    signed(s, Method::POST, "/app-instance-users", &[], Some(body))
}

pub fn register(s: &Signer, user_arn: &str, pinpoint_arn: &str, device_token: &str, token: &str) -> Signed {
    let body = format!(
        r#"{{"Type":"GCM","ResourceArn":{},"EndpointAttributes":{{"DeviceToken":{}}},"ClientRequestToken":{}}}"#,
        json_str(pinpoint_arn),
        json_str(device_token),
        json_str(token)
    );
    signed(s, Method::POST, &format!("/app-instance-users/{}/endpoints", pct(user_arn, false)), &[], Some(body))
}

pub fn update(s: &Signer, user_arn: &str, endpoint_id: &str) -> Signed {
    signed(s, Method::PUT, &endpoint_path(user_arn, endpoint_id), &[], Some(r#"{"Name":"x","AllowMessages":"ALL"}"#.to_string()))
}

pub fn describe(s: &Signer, user_arn: &str, endpoint_id: &str) -> Signed {
    signed(s, Method::GET, &endpoint_path(user_arn, endpoint_id), &[], None)
}

pub fn deregister(s: &Signer, user_arn: &str, endpoint_id: &str) -> Signed {
    signed(s, Method::DELETE, &endpoint_path(user_arn, endpoint_id), &[], None)
}

pub fn list_users(s: &Signer, app_arn: &str, max_results: u32, next_token: Option<&str>) -> Signed {
    let max = max_results.to_string();
    let mut q = vec![("app-instance-arn", app_arn), ("max-results", max.as_str())];
    if let Some(t) = next_token {
        q.push(("next-token", t));
    }
    signed(s, Method::GET, "/app-instance-users", &q, None)
}

/// A string member of a JSON response body.
pub fn member(body: &[u8], name: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get(name)?.as_str().map(str::to_string)
}
