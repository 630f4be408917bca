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
    SendMessage,
    ListMessages,
}

impl Op {
    pub const ALL: [Op; 7] = [Op::Update, Op::Describe, Op::Register, Op::Deregister, Op::ListUsers, Op::SendMessage, Op::ListMessages];

    pub fn name(self) -> &'static str {
        match self {
            Op::Update => "update",
            Op::Describe => "describe",
            Op::Register => "register",
            Op::Deregister => "deregister",
            Op::ListUsers => "list-users",
            Op::SendMessage => "send-message",
            Op::ListMessages => "list-messages",
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
            ("POST", ["", "channels", _, "messages"]) => Some(Op::SendMessage),
            ("GET", ["", "channels", _, "messages"]) => Some(Op::ListMessages),
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
    /// SendChannelMessage (the messaging scenario's pre-signed pool; not a `--mix` choice).
    SendMessage,
    /// ListChannelMessages (likewise).
    ListMessages,
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
            MixOp::SendMessage => "send-message",
            MixOp::ListMessages => "list-messages",
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
    signed_as(signer, None, method, path, query, body)
}

/// As [`signed`], on behalf of `bearer` (the `x-amz-chime-bearer` header of Messaging, signed).
pub fn signed_as(
    signer: &Signer,
    bearer: Option<&str>,
    method: Method,
    path: &str,
    query: &[(&str, &str)],
    body: Option<String>,
) -> Signed {
    let q = canonical_query(query);
    let body = body.map(Bytes::from).unwrap_or_default();
    let content_type = (!body.is_empty()).then_some(CONTENT_TYPE);
    let mut headers = HeaderMap::with_capacity(5);
    for (k, v) in signer.sign(method.as_str(), path, &q, content_type, bearer, &body) {
        if !v.is_empty() {
            headers.insert(HeaderName::from_static(k), HeaderValue::from_str(&v).expect("signed header values are ASCII"));
        }
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

fn channel_path(channel_arn: &str, tail: &str) -> String {
    format!("/channels/{}{tail}", pct(channel_arn, false))
}

/// CreateChannel by `bearer` (which becomes its member and moderator): UNRESTRICTED, PUBLIC.
pub fn create_channel(s: &Signer, bearer: &str, app_arn: &str, name: &str, token: &str) -> Signed {
    let body = format!(r#"{{"AppInstanceArn":{},"Name":{},"ClientRequestToken":{}}}"#, json_str(app_arn), json_str(name), json_str(token));
    signed_as(s, Some(bearer), Method::POST, "/channels", &[], Some(body))
}

/// BatchCreateChannelMembership: DEFAULT memberships of `members` (at most 100), added by `bearer`.
pub fn batch_memberships(s: &Signer, bearer: &str, channel_arn: &str, members: &[String]) -> Signed {
    let list = members.iter().map(|m| json_str(m)).collect::<Vec<_>>().join(",");
    let body = format!(r#"{{"MemberArns":[{list}],"Type":"DEFAULT"}}"#);
    signed_as(s, Some(bearer), Method::POST, &channel_path(channel_arn, "/memberships"), &[("operation", "batch-create")], Some(body))
}

/// SendChannelMessage: a PERSISTENT STANDARD message, with a `PushNotification` when `push`
/// (so that the push decision runs for every recipient). The server requires a
/// ClientRequestToken (the SDKs generate one); a token sent again replays the first answer, so a
/// request meant to store a message is sent once.
pub fn send_message(s: &Signer, bearer: &str, channel_arn: &str, content: &str, push: bool, token: Option<&str>) -> Signed {
    let mut body = format!(r#"{{"Content":{},"Type":"STANDARD","Persistence":"PERSISTENT""#, json_str(content));
    if push {
        body.push_str(r#","PushNotification":{"Title":"Carillon bench","Body":"A new message","Type":"DEFAULT"}"#);
    }
    if let Some(t) = token {
        body.push_str(&format!(r#","ClientRequestToken":{}"#, json_str(t)));
    }
    body.push('}');
    signed_as(s, Some(bearer), Method::POST, &channel_path(channel_arn, "/messages"), &[], Some(body))
}

/// ListChannelMessages' query: order, and time bounds in the ISO 8601 form the SDKs send.
#[derive(Clone, Debug, Default)]
pub struct MessageQuery {
    pub ascending: bool,
    pub not_before_ms: Option<i64>,
    pub not_after_ms: Option<i64>,
    pub next_token: Option<String>,
}

pub fn list_messages(s: &Signer, bearer: &str, channel_arn: &str, q: &MessageQuery) -> Signed {
    let order = if q.ascending { "ASCENDING" } else { "DESCENDING" };
    let (nb, na) = (q.not_before_ms.map(iso8601_ms), q.not_after_ms.map(iso8601_ms));
    let mut query = vec![("sort-order", order)];
    if let Some(t) = &nb {
        query.push(("not-before", t));
    }
    if let Some(t) = &na {
        query.push(("not-after", t));
    }
    if let Some(t) = &q.next_token {
        query.push(("next-token", t));
    }
    signed_as(s, Some(bearer), Method::GET, &channel_path(channel_arn, "/messages"), &query, None)
}

/// `GET /_carillon/push-outbox` (the control plane: an operator's signature in sigv4 mode).
pub fn push_outbox(s: &Signer, channel_arn: Option<&str>) -> Signed {
    let q: Vec<(&str, &str)> = channel_arn.map(|c| vec![("channel-arn", c)]).unwrap_or_default();
    signed(s, Method::GET, "/_carillon/push-outbox", &q, None)
}

/// `GET /_carillon/metrics` (the control plane: an operator's signature in sigv4 mode).
pub fn metrics(s: &Signer) -> Signed {
    signed(s, Method::GET, "/_carillon/metrics", &[], None)
}

/// Epoch milliseconds as an RFC 3339 date-time with milliseconds (`2026-11-30T10:15:00.123Z`), as
/// the SDKs put a timestamp in a query string.
pub fn iso8601_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (_, stamp) = crate::sign::amz_dates(secs);
    // stamp is YYYYMMDDTHHMMSSZ
    format!(
        "{}-{}-{}T{}:{}:{}.{:03}Z",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13],
        &stamp[13..15],
        ms.rem_euclid(1000)
    )
}

/// A string member of a JSON response body.
pub fn member(body: &[u8], name: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get(name)?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_with_millis() {
        assert_eq!(iso8601_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_ms(1_795_867_200_007), "2026-11-28T12:00:00.007Z");
        assert_eq!(iso8601_ms(951_825_599_999), "2000-02-29T11:59:59.999Z");
    }

    #[test]
    fn messaging_paths_classify() {
        let s = Signer::new(
            &crate::sign::Credentials { access_key: "AKID".into(), secret: "s".into(), account: "123456789012".into() },
            "us-east-1",
            "h",
            std::time::UNIX_EPOCH,
        );
        let ch = "arn:aws:chime:us-east-1:123456789012:app-instance/a/channel/c";
        let u = "arn:aws:chime:us-east-1:123456789012:app-instance/a/user/u";
        let send = send_message(&s, u, ch, "hi", true, None);
        assert_eq!(Op::classify(&send.method, send.uri.path()), Some(Op::SendMessage));
        assert_eq!(send.headers.get("x-amz-chime-bearer").map(|v| v.to_str().unwrap()), Some(u));
        assert!(std::str::from_utf8(&send.body).unwrap().contains(r#""PushNotification":{"#));
        let q = MessageQuery { ascending: true, not_before_ms: Some(1000), not_after_ms: Some(2000), next_token: None };
        let list = list_messages(&s, u, ch, &q);
        assert_eq!(Op::classify(&list.method, list.uri.path()), Some(Op::ListMessages));
        assert_eq!(
            list.uri.query(),
            Some("not-after=1970-01-01T00%3A00%3A02.000Z&not-before=1970-01-01T00%3A00%3A01.000Z&sort-order=ASCENDING")
        );
    }
}
