//! The request journal (docs/behaviour.md, "Control plane"): the last `--journal-size` API
//! requests, newest first, for `GET /_carillon/requests`. For a request refused for its signature
//! an entry also holds what the server computed (canonical request, string to sign, signed headers,
//! credential scope), so that a user can diff them against their client's. Never a secret, a
//! derived key or a signature; user ids in paths are hidden (but in the canonical request of a
//! refused signature, which holds the path as it was signed). Bodies are recorded only with
//! `--journal-bodies`, every member the model marks sensitive as `***`. Control-plane requests are
//! not journaled. Memory is bounded: a ring of at most `--journal-size` entries, and a body over
//! [`MAX_RECORDED_BODY_BYTES`] is not kept.

use carillon_api::{ApiError, Timestamp, printable};
use carillon_sigv4::SignatureMismatch;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

/// How many entries `GET /_carillon/requests` answers without a `limit`.
pub const DEFAULT_LIMIT: usize = 100;

/// The largest body an entry keeps; a larger one is recorded as a note of its size.
pub const MAX_RECORDED_BODY_BYTES: usize = 64 * 1024;

/// A body as an entry records it: `null` when empty, the parsed JSON with `redact` applied, a
/// body that is not JSON as a note of its size and of why it does not parse (never its text), and one over
/// [`MAX_RECORDED_BODY_BYTES`] as a note of its size.
pub fn recorded_body(bytes: &[u8], redact: impl FnOnce(&mut Value)) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    if bytes.len() > MAX_RECORDED_BODY_BYTES {
        return Value::String(format!("({} bytes, not recorded)", bytes.len()));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(mut v) => {
            redact(&mut v);
            v
        }
        // Text that is not JSON cannot be read member by member, so nothing of it is shown: it may
        // hold a device token as much as anything else.
        Err(e) => Value::String(format!("({} bytes, not JSON: {})", bytes.len(), printable(&e.to_string()))),
    }
}

/// The bodies of a journaled request and its answer (`--journal-bodies`), already redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bodies {
    pub request: Value,
    pub response: Value,
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// One answered API request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When it arrived, in milliseconds since the Unix epoch.
    pub time_ms: i64,
    pub request_id: String,
    /// The caller's account and region, once known (not for a refused signature).
    pub account: Option<String>,
    pub region: Option<String>,
    pub method: String,
    /// The raw path, without the query, every AppInstanceUserId hidden as the log line hides it
    /// (the model marks `UserId` sensitive).
    pub path: String,
    /// The raw query, without `?`.
    pub query: Option<String>,
    /// The operation, once resolved.
    pub operation: Option<&'static str>,
    pub status: u16,
    pub error_type: Option<&'static str>,
    pub error_message: Option<String>,
    pub latency_micros: u64,
    /// For a signature that did not match: what the server computed.
    pub signature: Option<Box<SignatureMismatch>>,
    /// With `--journal-bodies`: the request's and the answer's bodies.
    pub bodies: Option<Box<Bodies>>,
}

impl Entry {
    fn to_json(&self) -> Value {
        let mut v = json!({
            "Time": Timestamp::from_millis(self.time_ms),
            "RequestId": self.request_id,
            "AccountId": self.account,
            "Region": self.region,
            "Method": self.method,
            "Path": self.path,
            "Query": self.query,
            "Operation": self.operation,
            "Status": self.status,
            "ErrorType": self.error_type,
            "ErrorMessage": self.error_message,
            "LatencyMicros": self.latency_micros,
        });
        if let (Some(s), Some(obj)) = (&self.signature, v.as_object_mut()) {
            obj.insert(
                "Signature".into(),
                json!({
                    "CanonicalRequest": s.canonical_request,
                    "StringToSign": s.string_to_sign,
                    "SignedHeaders": s.signed_headers,
                    "CredentialScope": s.credential_scope,
                }),
            );
        }
        if let (Some(b), Some(obj)) = (&self.bodies, v.as_object_mut()) {
            obj.insert("RequestBody".into(), b.request.clone());
            obj.insert("ResponseBody".into(), b.response.clone());
        }
        v
    }
}

/// What `GET /_carillon/requests` selects: exact matches, then at most `limit` entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub limit: Option<usize>,
    pub operation: Option<String>,
    pub status: Option<u16>,
    pub account: Option<String>,
}

impl Filter {
    /// The filter of a raw query (`limit`, `operation`, `status`, `account`); anything else is a 400.
    pub fn parse(raw_query: Option<&str>) -> Result<Filter, ApiError> {
        let mut f = Filter::default();
        for (key, value) in carillon_api::route::parse_query(raw_query)? {
            let number = |what: &str| {
                value
                    .parse::<u64>()
                    .map_err(|_| ApiError::bad_request(format!("{what} must be a non-negative integer, not {:?}.", printable(&value))))
            };
            match key.as_str() {
                "limit" => f.limit = Some(usize::try_from(number("limit")?).unwrap_or(usize::MAX)),
                "status" => {
                    f.status =
                        Some(u16::try_from(number("status")?).map_err(|_| ApiError::bad_request("status must be an HTTP status code."))?)
                }
                "operation" => f.operation = Some(value),
                "account" => f.account = Some(value),
                other => {
                    return Err(ApiError::bad_request(format!(
                        "Unknown parameter {:?}: the journal is filtered by limit, operation, status and account.",
                        printable(other)
                    )));
                }
            }
        }
        Ok(f)
    }

    fn matches(&self, e: &Entry) -> bool {
        self.operation.as_deref().is_none_or(|o| e.operation == Some(o))
            && self.status.is_none_or(|s| e.status == s)
            && self.account.as_deref().is_none_or(|a| e.account.as_deref() == Some(a))
    }
}

/// The ring of the last `size` entries (`size` 0: nothing is recorded).
#[derive(Debug)]
pub struct Journal {
    size: usize,
    /// `--journal-bodies`: entries keep the bodies.
    bodies: bool,
    ring: Mutex<VecDeque<Entry>>,
}

impl Journal {
    pub fn new(size: usize) -> Journal {
        Journal { size, bodies: false, ring: Mutex::new(VecDeque::with_capacity(size.min(1024))) }
    }

    /// The journal, its entries keeping the bodies when `bodies` is set.
    pub fn with_bodies(self, bodies: bool) -> Journal {
        Journal { bodies, ..self }
    }

    /// Whether requests are recorded at all.
    pub fn is_on(&self) -> bool {
        self.size > 0
    }

    /// Whether entries keep the request's and answer's bodies.
    pub fn keeps_bodies(&self) -> bool {
        self.is_on() && self.bodies
    }

    /// Records an entry, dropping the oldest when the ring is full.
    pub fn record(&self, entry: Entry) {
        if self.size == 0 {
            return;
        }
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        while ring.len() >= self.size {
            ring.pop_front();
        }
        ring.push_back(entry);
    }

    /// Removes the entries of a reset's scope: those of `account` (any when `None`) in `region`
    /// (any when `None`), and with `app_instance_id` only those whose path or query names it. No
    /// scope at all removes every entry.
    pub fn forget(&self, account: Option<&str>, region: Option<&str>, app_instance_id: Option<&str>) {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        ring.retain(|e| {
            let named = |want: Option<&str>, have: &Option<String>| want.is_none_or(|w| have.as_deref() == Some(w));
            let in_scope = named(account, &e.account)
                && named(region, &e.region)
                && app_instance_id.is_none_or(|id| e.path.contains(id) || e.query.as_deref().is_some_and(|q| q.contains(id)));
            !in_scope
        });
    }

    /// The entries `filter` selects, newest first: `limit` (default 100, at most the journal's
    /// size) applies after the other filters.
    pub fn select(&self, filter: &Filter) -> Vec<Entry> {
        let limit = filter.limit.unwrap_or(DEFAULT_LIMIT).min(self.size);
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        ring.iter().rev().filter(|e| filter.matches(e)).take(limit).cloned().collect()
    }

    /// The answer to `GET /_carillon/requests` with `raw_query`: `{"Requests": [...]}`.
    pub fn answer(&self, raw_query: Option<&str>) -> Result<Value, ApiError> {
        let filter = Filter::parse(raw_query)?;
        Ok(json!({"Requests": self.select(&filter).iter().map(Entry::to_json).collect::<Vec<_>>()}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u16, operation: &'static str, status: u16, account: &str) -> Entry {
        Entry {
            time_ms: 1_764_326_400_000 + i64::from(n),
            request_id: format!("r{n}"),
            account: Some(account.into()),
            region: Some("us-east-1".into()),
            method: "GET".into(),
            path: "/app-instances".into(),
            query: None,
            operation: Some(operation),
            status,
            error_type: None,
            error_message: None,
            latency_micros: 5,
            signature: None,
            bodies: None,
        }
    }

    #[test]
    fn a_reset_forgets_the_entries_of_its_scope() {
        let j = Journal::new(10);
        let requests = |j: &Journal| -> Vec<String> {
            let v = j.answer(None).unwrap();
            v["Requests"].as_array().unwrap().iter().map(|e| e["RequestId"].as_str().unwrap().to_string()).collect()
        };
        j.record(entry(0, "ListAppInstances", 200, "111111111111"));
        let mut west = entry(1, "ListAppInstances", 200, "111111111111");
        west.region = Some("eu-west-1".into());
        j.record(west);
        let mut described = entry(2, "DescribeAppInstance", 200, "111111111111");
        described.path = "/app-instances/arn%3Aaws%3Achime%3Aus-east-1%3A111111111111%3Aapp-instance%2Fabc-123".into();
        j.record(described);
        let mut listed = entry(3, "ListAppInstanceUsers", 200, "111111111111");
        listed.query = Some("app-instance-arn=arn%3Aaws%3Achime%3Aus-east-1%3A111111111111%3Aapp-instance%2Fabc-123".into());
        j.record(listed);
        j.record(entry(4, "ListAppInstances", 200, "222222222222"));
        let mut refused = entry(5, "ListAppInstances", 403, "x");
        (refused.account, refused.region) = (None, None);
        j.record(refused);

        j.forget(Some("111111111111"), Some("us-east-1"), Some("abc-123"));
        assert_eq!(requests(&j), ["r5", "r4", "r1", "r0"]);
        j.forget(None, Some("eu-west-1"), None);
        assert_eq!(requests(&j), ["r5", "r4", "r0"]);
        j.forget(Some("111111111111"), None, None);
        assert_eq!(requests(&j), ["r5", "r4"]);
        j.forget(None, None, None);
        assert!(requests(&j).is_empty());
    }

    fn ids(entries: &[Entry]) -> Vec<&str> {
        entries.iter().map(|e| e.request_id.as_str()).collect()
    }

    #[test]
    fn the_ring_keeps_the_newest_entries_newest_first() {
        let j = Journal::new(3);
        for n in 0..5 {
            j.record(entry(n, "ListAppInstances", 200, "111122223333"));
        }
        assert_eq!(ids(&j.select(&Filter::default())), ["r4", "r3", "r2"]);
        assert_eq!(ids(&j.select(&Filter { limit: Some(1000), ..Filter::default() })), ["r4", "r3", "r2"]);
        assert_eq!(ids(&j.select(&Filter { limit: Some(2), ..Filter::default() })), ["r4", "r3"]);
        assert!(j.select(&Filter { limit: Some(0), ..Filter::default() }).is_empty());
    }

    #[test]
    fn filters_apply_before_the_limit() {
        let j = Journal::new(10);
        j.record(entry(0, "CreateAppInstance", 200, "111122223333"));
        j.record(entry(1, "DescribeAppInstance", 404, "111122223333"));
        j.record(entry(2, "CreateAppInstance", 200, "444455556666"));
        j.record(entry(3, "ListAppInstances", 200, "111122223333"));
        let f = Filter::parse(Some("operation=CreateAppInstance")).unwrap();
        assert_eq!(ids(&j.select(&f)), ["r2", "r0"]);
        let f = Filter::parse(Some("operation=CreateAppInstance&limit=1")).unwrap();
        assert_eq!(ids(&j.select(&f)), ["r2"]);
        assert_eq!(ids(&j.select(&Filter::parse(Some("status=404")).unwrap())), ["r1"]);
        assert!(j.select(&Filter::parse(Some("status=40")).unwrap()).is_empty());
        assert_eq!(ids(&j.select(&Filter::parse(Some("account=111122223333&status=200")).unwrap())), ["r3", "r0"]);
        for bad in ["limit=-1", "limit=x", "status=70000", "accounts=1", "limit=1&limit=2"] {
            assert!(Filter::parse(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_journal_of_size_zero_records_nothing() {
        let j = Journal::new(0);
        j.record(entry(0, "ListAppInstances", 200, "111122223333"));
        assert!(!j.is_on());
        assert_eq!(j.answer(None).unwrap(), json!({"Requests": []}));
    }

    #[test]
    fn an_entry_names_every_field_and_the_signature_only_when_refused() {
        let j = Journal::new(2);
        j.record(entry(0, "ListAppInstances", 200, "111122223333"));
        let mut refused = entry(1, "ListAppInstances", 403, "111122223333");
        refused.signature = Some(Box::new(SignatureMismatch {
            canonical_request: "GET\n/app-instances\n".into(),
            string_to_sign: "AWS4-HMAC-SHA256\n".into(),
            signed_headers: "host;x-amz-date".into(),
            credential_scope: "20261128/us-east-1/chime/aws4_request".into(),
        }));
        j.record(refused);
        let v = j.answer(None).unwrap();
        let first = &v["Requests"][0];
        assert_eq!(first["Signature"]["SignedHeaders"], "host;x-amz-date");
        assert_eq!(first["Time"], json!(1_764_326_400.001));
        for field in [
            "Time",
            "RequestId",
            "AccountId",
            "Region",
            "Method",
            "Path",
            "Query",
            "Operation",
            "Status",
            "ErrorType",
            "ErrorMessage",
            "LatencyMicros",
        ] {
            assert!(v["Requests"][1].get(field).is_some(), "{field}");
        }
        assert!(v["Requests"][1].get("Signature").is_none());
        assert!(v["Requests"][1].get("RequestBody").is_none() && v["Requests"][1].get("ResponseBody").is_none());
    }

    #[test]
    fn bodies_are_recorded_redacted_empty_as_null_and_text_never() {
        let hide = |v: &mut Value| v["Secret"] = json!("***");
        assert_eq!(recorded_body(b"", hide), Value::Null);
        assert_eq!(recorded_body(br#"{"Secret":"s","Open":1}"#, hide), json!({"Secret": "***", "Open": 1}));
        let text = format!("not json, DeviceToken=secret-token\n{}", "x".repeat(400));
        let recorded = recorded_body(text.as_bytes(), hide);
        assert_eq!(recorded, json!(format!("({} bytes, not JSON: expected ident at line 1 column 2)", text.len())));
        assert!(!recorded.to_string().contains("secret-token"));
        let big = vec![b' '; MAX_RECORDED_BODY_BYTES + 1];
        assert_eq!(recorded_body(&big, hide), json!(format!("({} bytes, not recorded)", MAX_RECORDED_BODY_BYTES + 1)));

        let j = Journal::new(1).with_bodies(true);
        assert!(j.keeps_bodies() && !Journal::new(0).with_bodies(true).keeps_bodies());
        let mut e = entry(0, "CreateAppInstance", 201, "111122223333");
        e.bodies = Some(Box::new(Bodies { request: json!({"Name": "***"}), response: Value::Null }));
        j.record(e);
        let v = j.answer(None).unwrap();
        assert_eq!((&v["Requests"][0]["RequestBody"], &v["Requests"][0]["ResponseBody"]), (&json!({"Name": "***"}), &Value::Null));
        assert!(v["Requests"][0].as_object().unwrap().contains_key("ResponseBody"));
    }
}
