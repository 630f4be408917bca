//! The HTTP front: every request gets an `x-amzn-RequestId` and one log line; paths under
//! `/_carillon/` are the server's control plane, every other path is the API: authenticate, route,
//! bind and validate, dispatch, serialize. Every failure leaves as a JSON error in protocol shape.

use crate::auth::Auth;
use bytes::Bytes;
use carillon_api::bind::MAX_BODY_BYTES;
use carillon_api::{ApiError, ErrorKind, RequestContext, model, route};
use carillon_service::{Health, Service};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use std::convert::Infallible;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

pub struct App {
    pub service: Service,
    pub auth: Auth,
    pub quiet: bool,
    /// The AWS rate profile, when switched on.
    pub throttle: Option<crate::throttle::Throttle>,
    /// How long a client gets to send a request body.
    pub body_timeout: std::time::Duration,
    /// Set once the server is stopping: every answer then closes its connection.
    pub draining: std::sync::atomic::AtomicBool,
}

/// The longest request target (path and query) answered; a longer one is a 400.
pub const MAX_URI_BYTES: usize = 48 * 1024;

type Reply = Response<Full<Bytes>>;

pub async fn handle(app: Arc<App>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let (mut response, operation) = if path.starts_with("/_carillon/") {
        (control(&app, req).await, "-")
    } else {
        match api(&app, req, &request_id).await {
            Ok((resp, op)) => (resp, op),
            Err((e, op)) => (error_response(&e), op),
        }
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-RequestId", v);
    }
    if app.draining.load(std::sync::atomic::Ordering::Relaxed) {
        response.headers_mut().insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
    }
    if !app.quiet {
        let line = format!(
            "{request_id} {method} {} {} {operation} {}us\n",
            route::printable(&path),
            response.status().as_u16(),
            started.elapsed().as_micros()
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
    Ok(response)
}

fn json_response(status: u16, body: Vec<u8>) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

pub fn error_response(e: &ApiError) -> Reply {
    let mut r = json_response(e.status(), e.body());
    r.headers_mut().insert("x-amzn-ErrorType", HeaderValue::from_static(e.kind.type_name()));
    r
}

/// A body refused for its size is still read and discarded up to this many bytes, so that a client
/// that sends it whole before reading (as the SDKs do) gets the 400 rather than a reset
/// connection; a larger one is answered at once and the connection closed.
pub const DRAIN_MAX_BYTES: u64 = 8 * 1024 * 1024;

/// A request that could not be read: the answer, and whether the connection must close (its body
/// was left unread).
struct Unreadable {
    error: ApiError,
    close: bool,
}

/// Reads the whole body within the body timeout. One over `MAX_BODY_BYTES` is refused: read no
/// further than needed to leave the connection usable (see `DRAIN_MAX_BYTES`).
async fn read_body(app: &App, req: Request<Incoming>) -> Result<(hyper::http::request::Parts, Bytes), Unreadable> {
    let timeout = || ApiError::bad_request(format!("The request body was not received within {} seconds.", app.body_timeout.as_secs()));
    let too_large = || ApiError::bad_request(format!("The request body is larger than {MAX_BODY_BYTES} bytes."));
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let uri_too_long = req.uri().path().len() + req.uri().query().map_or(0, str::len) > MAX_URI_BYTES;
    let (parts, mut body) = req.into_parts();
    let refusal = if uri_too_long {
        Some(ApiError::bad_request(format!("The request URI is longer than {MAX_URI_BYTES} bytes.")))
    } else if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        Some(too_large())
    } else {
        None
    };
    if let Some(error) = refusal {
        if declared.unwrap_or(0) > DRAIN_MAX_BYTES {
            return Err(Unreadable { error, close: true });
        }
        let drained = tokio::time::timeout(app.body_timeout, drain(&mut body, DRAIN_MAX_BYTES)).await;
        return Err(Unreadable { error, close: !matches!(drained, Ok(true)) });
    }
    let read = async {
        let mut buf = bytes::BytesMut::new();
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return Err(true) };
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > MAX_BODY_BYTES {
                    // Over the limit without a declared length: discard the rest if it is small.
                    return Err(!drain(&mut body, DRAIN_MAX_BYTES.saturating_sub((buf.len() + data.len()) as u64)).await);
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(buf.freeze())
    };
    match tokio::time::timeout(app.body_timeout, read).await {
        Ok(Ok(bytes)) => Ok((parts, bytes)),
        Ok(Err(close)) => Err(Unreadable { error: too_large(), close }),
        Err(_) => Err(Unreadable { error: timeout(), close: true }),
    }
}

/// Reads and discards the rest of a body, up to `max` bytes. True when it was all read.
async fn drain(body: &mut Incoming, max: u64) -> bool {
    let mut seen: u64 = 0;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return false };
        if let Ok(data) = frame.into_data() {
            seen += data.len() as u64;
            if seen > max {
                return false;
            }
        }
    }
    true
}

fn unreadable_response(u: &Unreadable) -> Reply {
    let mut r = error_response(&u.error);
    if u.close {
        r.headers_mut().insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
    }
    r
}

async fn api(app: &App, req: Request<Incoming>, request_id: &str) -> Result<(Reply, &'static str), (ApiError, &'static str)> {
    let (parts, body) = match read_body(app, req).await {
        Ok(b) => b,
        Err(u) => return Ok((unreadable_response(&u), "-")),
    };
    let headers: Vec<(&str, &[u8])> = parts.headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
    let signed = carillon_sigv4::RequestParts {
        method: parts.method.as_str(),
        raw_path: parts.uri.path(),
        raw_query: parts.uri.query(),
        headers: &headers,
        body: &body,
    };
    let caller = app.auth.authenticate(&signed).map_err(|e| (e, "-"))?;
    let ctx = RequestContext { account: caller.account, region: caller.region, request_id: request_id.to_string() };
    let query = route::parse_query(parts.uri.query()).map_err(|e| (e, "-"))?;
    let m = model::model();
    let found = route::route(m, parts.method.as_str(), parts.uri.path(), &query).map_err(|e| (e, "-"))?;
    let op_def = found.operation;
    let operation = carillon_api::Operation::from_name(&op_def.name).ok_or_else(|| (ApiError::internal("unrouted operation"), "-"))?;
    let name = operation.name();
    if let Some(throttle) = &app.throttle
        && !throttle.admit(&ctx.account, operation)
    {
        return Err((ApiError::new(ErrorKind::ThrottledClient, "The request rate for this account is above the AWS rate profile."), name));
    }
    let input = carillon_api::bind::bind(m, op_def, &found.labels, &query, &body).map_err(|e| (e, name))?;
    let out = carillon_api::dispatch(&app.service, &ctx, operation, input).await.map_err(|e| (e, name))?;
    let status = op_def.success_status;
    if status == 204 {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::NO_CONTENT;
        return Ok((r, name));
    }
    Ok((json_response(status, out), name))
}

/// The server's own control plane, under `/_carillon/`.
async fn control(app: &App, req: Request<Incoming>) -> Reply {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let (parts, body) = match read_body(app, req).await {
        Ok(b) => b,
        Err(u) => return unreadable_response(&u),
    };
    if app.auth.is_sigv4() && !(method == "GET" && path == "/_carillon/health") {
        let headers: Vec<(&str, &[u8])> = parts.headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
        let signed = carillon_sigv4::RequestParts {
            method: parts.method.as_str(),
            raw_path: parts.uri.path(),
            raw_query: parts.uri.query(),
            headers: &headers,
            body: &body,
        };
        if let Err(e) = app.auth.authenticate(&signed) {
            return error_response(&e);
        }
    }
    let body: serde_json::Value = if body.is_empty() {
        serde_json::json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return error_response(&ApiError::bad_request(format!("Could not parse request body into json: {e}"))),
        }
    };
    let ok = |v: serde_json::Value| json_response(200, serde_json::to_vec(&v).unwrap_or_default());
    match (method.as_str(), path.as_str()) {
        ("GET", "/_carillon/health") => match app.service.health().await {
            Health::Ok => ok(serde_json::json!({"status": "ok", "store": app.service.store().kind()})),
            Health::Unavailable => json_response(503, br#"{"status":"unavailable"}"#.to_vec()),
            Health::WritesFailing => json_response(503, br#"{"status":"unavailable","reads":"ok","writes":"failing"}"#.to_vec()),
        },
        ("POST", "/_carillon/expiration-sweep") => match app.service.sweep_expired_users().await {
            Ok(n) => ok(serde_json::json!({"deleted": n})),
            Err(e) => error_response(&e),
        },
        ("GET", "/_carillon/clock") => ok(serde_json::json!({"offset_seconds": app.service.clock().offset_ms() / 1000})),
        ("PUT", "/_carillon/clock") => match body.get("offset_seconds").and_then(|v| v.as_i64()) {
            Some(s) if s.checked_mul(1000).is_some() => {
                app.service.clock().set_offset_ms(s * 1000);
                ok(serde_json::json!({"offset_seconds": s}))
            }
            _ => error_response(&ApiError::bad_request("Body must be {\"offset_seconds\": INTEGER}.")),
        },
        ("PUT", "/_carillon/endpoint-state") => {
            use carillon_api::shapes::{EndpointStatus, EndpointStatusReason};
            let s = |k: &str| body.get(k).and_then(|v| v.as_str());
            let (Some(user), Some(id), Some(status)) =
                (s("AppInstanceUserArn"), s("EndpointId"), s("Status").and_then(EndpointStatus::parse))
            else {
                return error_response(&ApiError::bad_request(
                    "Body must hold AppInstanceUserArn, EndpointId, Status (ACTIVE or INACTIVE) and, for INACTIVE, StatusReason.",
                ));
            };
            let reason = match s("StatusReason") {
                Some(r) => match EndpointStatusReason::parse(r) {
                    Some(r) => Some(r),
                    None => return error_response(&ApiError::bad_request("StatusReason is INVALID_DEVICE_TOKEN or INVALID_PINPOINT_ARN.")),
                },
                None => None,
            };
            match app.service.set_endpoint_state(user, id, status, reason).await {
                Ok(()) => ok(serde_json::json!({})),
                Err(e) => error_response(&e),
            }
        }
        _ => error_response(&ApiError::new(
            ErrorKind::UnknownOperation,
            format!("No control-plane operation matches {method} {}", route::printable(&path)),
        )),
    }
}
