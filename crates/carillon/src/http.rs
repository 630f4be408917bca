//! The HTTP front: every request gets an `x-amzn-RequestId`, the size limits, authentication,
//! the rate profile and one log line; then the wire layer (or, under `/_carillon/`, the control
//! plane) answers it. Every failure leaves as a JSON error in protocol shape.

use crate::auth::{Auth, Authenticated};
use crate::control::{self, Control};
use crate::cors;
use crate::faults::Fired;
use crate::journal::{Bodies, recorded_body};
use crate::throttle::MessagingKeys;
use bytes::Bytes;
use carillon_api::{
    Answer, ApiError, Direction, ErrorKind, MAX_BODY_BYTES, Request as WireRequest, RequestContext, Resolved, ServedOperation, Wire,
    messaging, printable,
};
use carillon_service::Service;
use carillon_sigv4::SignatureMismatch;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderName, HeaderValue, ORIGIN, TRANSFER_ENCODING};
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

pub struct App {
    /// The checked model and its routes, loaded before the server listens.
    pub wire: Wire,
    pub service: Service,
    pub auth: Auth,
    /// `--control-plane`: off leaves only health under `/_carillon/`.
    pub control_plane: bool,
    pub quiet: bool,
    /// The AWS rate profile, when switched on.
    pub throttle: Option<crate::throttle::Throttle>,
    /// How long a client gets to send a request body.
    pub body_timeout: std::time::Duration,
    /// Set once the server is stopping: every answer then closes its connection.
    pub draining: std::sync::atomic::AtomicBool,
    /// The injected faults (`/_carillon/faults`).
    pub faults: crate::faults::Faults,
    /// The last API requests (`/_carillon/requests`).
    pub journal: crate::journal::Journal,
    /// The server's own metrics registry (`/_carillon/metrics`).
    pub metrics: crate::metrics::Metrics,
    /// The origins whose browser pages may call the server (`--cors-origins`).
    pub cors: crate::cors::Origins,
    /// `--messaging-endpoint`, when set: what GetMessagingSessionEndpoint answers.
    pub messaging_endpoint: Option<String>,
    /// The port the server listens on (GetMessagingSessionEndpoint adds it to a Host without one).
    pub port: u16,
}

/// The longest request target (path and query) answered; a longer one is a 400.
pub const MAX_URI_BYTES: usize = 48 * 1024;

/// A body refused for its size is still read and discarded up to this many bytes, so that a client
/// that sends it whole before reading (as the SDKs do) gets the 400 rather than a reset
/// connection; a larger one is answered at once and the connection closed.
pub const DRAIN_MAX_BYTES: u64 = 8 * 1024 * 1024;

type Reply = Response<Full<Bytes>>;

/// What the log line names as the operation: `-` when none was resolved.
type Label = &'static str;

pub async fn handle(app: Arc<App>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().filter(|_| app.journal.is_on()).map(str::to_owned);
    let mut close = false;
    // The caller's account and region, for the log line, once known.
    let mut caller = None;
    // Set when an injected fault resets the connection instead of answering.
    let mut abort = false;
    // The signature's check when made before the body, and what it computed if it did not match.
    let mut signature = SignatureCheck::default();
    // With --journal-bodies: the request's body and the operation it addresses, if any.
    let mut request_body = None;
    // HTTP/1.1 requires Host (RFC 9112, 3.2); its body is left unread, so the connection closes.
    let no_host = req.version() == hyper::Version::HTTP_11 && !req.headers().contains_key(HOST);
    // A browser page's request names its origin (docs/behaviour.md, "CORS"). Most requests carry
    // none; for them this is one header lookup.
    let origin = req.headers().get(ORIGIN).cloned();
    let allowed = origin.as_ref().filter(|o| app.cors.allows(o.as_bytes())).cloned();
    let preflight = origin.is_some() && cors::is_preflight(req.method(), req.headers());
    // A preflight is answered from its head alone; a body sent with one is left unread.
    let (requested, preflight_close) =
        if preflight { (cors::requested_headers(req.headers()), has_body(req.headers())) } else { (None, false) };
    let (label, outcome) = match if no_host {
        Err(Unreadable::missing_host())
    } else if preflight {
        Ok(None)
    } else {
        match before_body(&app, &req) {
            Err(u) => Err(u),
            Ok(early) => {
                signature.early = early;
                read_body(&app, req).await.map(Some)
            }
        }
    } {
        Err(u) => {
            close = u.close;
            ("-", Err(u.error))
        }
        // Before any signature check: a browser sends no credentials with a preflight.
        Ok(None) => {
            close = preflight_close;
            match (&allowed, &origin) {
                (None, Some(o)) => ("-", Err(cors::refused(o.as_bytes()))),
                _ => ("-", Ok(Answer::json(204, Vec::new()))),
            }
        }
        Ok(Some((parts, body))) if path.starts_with(control::PREFIX) => control(&app, &parts, &body).await,
        // The messaging session's WebSocket (`docs/behaviour.md`, "Messaging"): not served yet. The
        // SDK signs it in its query, not as an API request, so it is answered before authentication.
        Ok(Some((parts, _))) if parts.method == hyper::Method::GET && path == "/connect" => {
            ("-", Err(ApiError::not_implemented("the messaging session (GET /connect)")))
        }
        Ok(Some((parts, body))) => {
            let answered = api(&app, &parts, &body, &request_id, &mut caller, &mut abort, &mut signature).await;
            if app.journal.keeps_bodies() {
                request_body = Some((body_operation(&app, &parts), body));
            }
            answered
        }
    };
    // A preflight is no API operation: the journal leaves it out, and metrics count it under `-`.
    let journaled = app.journal.is_on() && !preflight && !path.starts_with(control::PREFIX);
    let error = outcome.as_ref().err().filter(|_| journaled).map(|e| (e.kind.type_name(), e.message.clone()));
    let bodies = (journaled && app.journal.keeps_bodies()).then(|| journal_bodies(&app, request_body, &outcome));
    let (mut response, cause) = match outcome {
        Ok(answer) => (answer_response(answer), None),
        Err(e) => {
            let logged = e.status() == 403 || e.status() >= 500;
            (error_response(&e), e.cause.filter(|_| logged))
        }
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    if crate::console::is_console(&path) {
        crate::console::add_headers(response.headers_mut());
    }
    if origin.is_some() {
        let headers = response.headers_mut();
        match allowed {
            Some(o) if preflight => cors::add_preflight_headers(headers, o, requested),
            Some(o) => cors::add_answer_headers(headers, o),
            None => {}
        }
        cors::add_vary(headers);
    }
    if abort {
        response.extensions_mut().insert(crate::faults::ConnectionAborted);
    }
    if close || app.draining.load(std::sync::atomic::Ordering::Relaxed) {
        response.headers_mut().insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
    }
    let status = response.status().as_u16();
    // One reading of the clock for the metrics, the log line and the journal.
    let latency = started.elapsed();
    // Control-plane requests are not API operations: the metrics leave them out.
    if !path.starts_with(control::PREFIX) {
        app.metrics.request(label, status, latency);
    }
    // With --quiet, what needs an operator's eye is still logged: every 5xx, and a 403's cause.
    let warn = status >= 500 || (status == 403 && cause.is_some());
    let logged = !app.quiet || warn;
    // The path as logs and the journal show it: user ids hidden. Worked out once, when either needs it.
    let shown_path = if logged || journaled { redact_path(&path) } else { String::new() };
    if logged {
        let (account, region) = caller.as_ref().map(|(a, r)| (a.as_str(), r.as_str())).unzip();
        let fields = LogFields { request_id: &request_id, account, region, method: &method, path: &shown_path, status, label };
        let latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        log_request(&fields, latency_us, cause.as_deref(), warn);
    }
    if journaled {
        let (account, region) = caller.unzip();
        let (error_type, error_message) = error.unzip();
        app.journal.record(crate::journal::Entry {
            time_ms: crate::journal::now_ms(),
            request_id,
            account,
            region,
            method,
            path: shown_path,
            query,
            operation: (label != "-").then_some(label),
            status,
            error_type,
            error_message,
            latency_micros: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            signature: signature.mismatch,
            bodies,
        });
    }
    Ok(response)
}

/// The operation whose model redacts a journaled body: the one the request's method and path
/// address, even when the request was refused before it ran (a signature that did not match).
fn body_operation(app: &App, parts: &Parts) -> Option<ServedOperation> {
    let request =
        WireRequest { method: parts.method.as_str(), raw_path: parts.uri.path(), raw_query: parts.uri.query(), headers: &[], body: &[] };
    app.wire.resolve(request).ok().map(|r| r.operation())
}

/// A journal entry's bodies (`--journal-bodies`): the request's, read as the operation's input, and
/// the answer's, read as its output, every member the model marks sensitive hidden; an error's body
/// is the error's JSON. A request of no known operation has every value of its body hidden; one
/// whose body was never read records none.
fn journal_bodies(app: &App, request: Option<(Option<ServedOperation>, Bytes)>, outcome: &Result<Answer, ApiError>) -> Box<Bodies> {
    let operation = request.as_ref().and_then(|(op, _)| *op);
    let request =
        request.map_or(serde_json::Value::Null, |(op, body)| recorded_body(&body, |v| app.wire.redact_sensitive(op, Direction::Input, v)));
    let response = match outcome {
        Ok(answer) => recorded_body(&answer.body, |v| app.wire.redact_sensitive(operation, Direction::Output, v)),
        Err(e) => recorded_body(&e.body(), |_| {}),
    };
    Box::new(Bodies { request, response })
}

/// What a request's log line names.
struct LogFields<'a> {
    request_id: &'a str,
    account: Option<&'a str>,
    region: Option<&'a str>,
    method: &'a str,
    path: &'a str,
    status: u16,
    label: Label,
}

/// The one event of a request, on the target [`crate::REQUEST_LOG_TARGET`]: `request_id`,
/// `account` and `region` (absent when the caller is not known), `operation` (`-` when none was
/// resolved), `status`, `latency_us`, `method`, `path` (already redacted), and for a 403
/// or 5xx whose cause is known, `cause`. Warn level for a 5xx and a 403 with a cause, else info.
/// Client-controlled values are stripped of control characters; the subscriber quotes and escapes
/// the rest, so no value can forge a line.
fn log_request(f: &LogFields<'_>, latency_us: u64, cause: Option<&str>, warn: bool) {
    let path = printable(f.path);
    let (account, region) = (f.account.map(printable), f.region.map(printable));
    let cause = cause.map(crate::server::one_line);
    macro_rules! request_event {
        ($level:expr) => {
            tracing::event!(
                target: crate::REQUEST_LOG_TARGET,
                $level,
                request_id = f.request_id,
                account = account.as_deref(),
                region = region.as_deref(),
                operation = f.label,
                status = f.status,
                latency_us,
                method = f.method,
                path = path.as_str(),
                cause = cause.as_deref(),
            )
        };
    }
    if warn {
        request_event!(tracing::Level::WARN);
    } else {
        request_event!(tracing::Level::INFO);
    }
}

/// The raw path with every AppInstanceUserId hidden: the model marks `UserId` sensitive, and user
/// ids are often email addresses. A user ARN sent as one segment, as the SDKs send it
/// (`arn%3A...%2Fuser%2F{id}`), has its id replaced by `***`; one whose slashes were sent unencoded
/// has the segment after `user` hidden. It runs for every logged or journaled request, so it works
/// on the raw path without decoding it.
fn redact_path(raw: &str) -> String {
    // The user id of an ARN sent as one segment sits between `%2Fuser%2F` and the next `%2F`.
    const USER: &[u8] = b"%2fuser%2f";
    let mut out = String::with_capacity(raw.len());
    let mut in_arn = false;
    let mut after_user = false;
    for (i, segment) in carillon_api::route::segments(raw).enumerate() {
        if i > 0 {
            out.push('/');
        }
        if after_user && in_arn {
            out.push_str("***");
            after_user = false;
            continue;
        }
        if segment.starts_with("arn:") || segment.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("arn%3a")) {
            in_arn = true;
            if let Some(at) = find_ignoring_case(segment.as_bytes(), USER, 0) {
                let id = at + USER.len();
                let end = find_ignoring_case(segment.as_bytes(), b"%2f", id).unwrap_or(segment.len());
                out.push_str(&segment[..id]);
                out.push_str("***");
                out.push_str(&segment[end..]);
                continue;
            }
        }
        after_user = segment == "user";
        out.push_str(segment);
    }
    out
}

/// Where `needle` (ASCII, lower case, starting with `%`) first stands in `hay` at or after `from`, in
/// any case. Only the `%` signs are candidates, found by a byte search.
fn find_ignoring_case(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while at + needle.len() <= hay.len() {
        let i = at + hay[at..].iter().position(|&b| b == b'%')?;
        if hay.get(i..i + needle.len()).is_some_and(|w| w.eq_ignore_ascii_case(needle)) {
            return Some(i);
        }
        at = i + 1;
    }
    None
}

/// Bytes a client sent, shortened and stripped of control characters, for a message.
pub fn printable_bytes(raw: &[u8]) -> String {
    printable(&String::from_utf8_lossy(raw))
}

/// The request id's header: a name made once, where a `&str` name is parsed at every insert. HTTP/1
/// header names go out in lower case either way, and every SDK reads them in any case.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");

fn answer_response(answer: Answer) -> Reply {
    let empty = answer.body.is_empty();
    let mut r = Response::new(Full::new(Bytes::from(answer.body)));
    *r.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if !empty {
        r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(answer.content_type));
    }
    r
}

fn error_response(e: &ApiError) -> Reply {
    let mut r = answer_response(Answer::json(e.status(), e.body()));
    r.headers_mut().insert("x-amzn-ErrorType", HeaderValue::from_static(e.kind.type_name()));
    r
}

/// A request that could not be read: the answer, and whether the connection must close (its body
/// was left unread).
struct Unreadable {
    error: ApiError,
    close: bool,
}

impl Unreadable {
    fn missing_host() -> Unreadable {
        Unreadable { error: ApiError::bad_request("An HTTP/1.1 request must carry a Host header."), close: true }
    }
}

/// Why a body could not be read whole.
enum BodyFailure {
    /// Over `MAX_BODY_BYTES`; whether the connection must close.
    TooLarge(bool),
    /// Its framing is broken (a bad chunk, or fewer bytes than declared).
    Malformed,
}

/// What is refused from the request head alone, before any of the body is read: a query that
/// names a parameter twice or is malformed (400), a control path that is switched off (404), and
/// in sigv4 mode a request without a valid credential (403: unknown key, stale date, bad scope).
/// A refused request's body is never buffered; its connection closes if it has one.
fn before_body(app: &App, req: &Request<Incoming>) -> Result<Option<Authenticated>, Unreadable> {
    let refuse = |error| Unreadable { error, close: has_body(req.headers()) };
    // The router reads the query as the signature covers it; a repeated parameter could differ.
    app.wire.check_query(req.uri().query()).map_err(refuse)?;
    let path = req.uri().path();
    if path.starts_with(control::PREFIX) {
        let found = Control::resolve(req.method().as_str(), path);
        if !app.control_plane && found != Some(Control::Health) {
            return Err(refuse(control::unknown(req.method().as_str(), &printable(path))));
        }
        // Health and the console's files: any origin, no signature.
        if found.is_some_and(|c| !c.needs_auth()) {
            return Ok(None);
        }
        if let Some(origin) = req.headers().get(ORIGIN)
            && !app.cors.allows(origin.as_bytes())
        {
            return Err(refuse(control::foreign_origin(origin.as_bytes())));
        }
    }
    if !app.auth.is_sigv4() {
        return Ok(None);
    }
    let headers: Vec<(&str, &[u8])> = req.headers().iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
    let signed = carillon_sigv4::RequestParts {
        method: req.method().as_str(),
        raw_path: path,
        raw_query: req.uri().query(),
        headers: &headers,
        body: b"",
    };
    // An API request without a body is known whole already: its signature is checked here, in the
    // same pass as the precheck, and `api` takes the outcome instead of reading the head again.
    // What is refused here and what `api` refuses stay as they were.
    if !has_body(req.headers()) && !path.starts_with(control::PREFIX) {
        return app.auth.precheck_bodyless(&signed).map_err(refuse);
    }
    app.auth.precheck(&signed).map(|()| None).map_err(refuse)
}

/// A request's signature check, when `before_body` made it, and what the server computed for a
/// signature that did not match (for the journal).
#[derive(Default)]
struct SignatureCheck {
    early: Option<Authenticated>,
    mismatch: Option<Box<SignatureMismatch>>,
}

/// Whether a request head announces a body.
fn has_body(headers: &hyper::HeaderMap) -> bool {
    headers.contains_key(TRANSFER_ENCODING) || headers.get(CONTENT_LENGTH).is_some_and(|v| v.as_bytes() != b"0")
}

/// Reads the whole body within the body timeout. One over `MAX_BODY_BYTES` (a state document: over
/// `control::STATE_MAX_BYTES`) is refused: read no
/// further than needed to leave the connection usable (see `DRAIN_MAX_BYTES`).
async fn read_body(app: &App, req: Request<Incoming>) -> Result<(Parts, Bytes), Unreadable> {
    let timeout = || ApiError::bad_request(format!("The request body was not received within {} seconds.", app.body_timeout.as_secs()));
    // A state document may be much larger than any API request.
    let max = if req.method() == hyper::Method::PUT && req.uri().path() == control::STATE_PATH {
        control::STATE_MAX_BYTES
    } else {
        MAX_BODY_BYTES
    };
    let too_large = || ApiError::bad_request(format!("The request body is larger than {max} bytes."));
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let chunked = req.headers().get_all(TRANSFER_ENCODING).iter().any(|v| v.as_bytes().to_ascii_lowercase().ends_with(b"chunked"));
    let uri_too_long = req.uri().path().len() + req.uri().query().map_or(0, str::len) > MAX_URI_BYTES;
    let (parts, mut body) = req.into_parts();
    let refusal = if uri_too_long {
        Some(ApiError::bad_request(format!("The request URI is longer than {MAX_URI_BYTES} bytes.")))
    } else if declared.is_some_and(|n| n > max as u64) {
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
            let Ok(frame) = frame else { return Err(BodyFailure::Malformed) };
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > max {
                    // Over the limit without a declared length: discard the rest if it is small.
                    let drained = drain(&mut body, DRAIN_MAX_BYTES.saturating_sub((buf.len() + data.len()) as u64)).await;
                    return Err(BodyFailure::TooLarge(!drained));
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(buf.freeze())
    };
    match tokio::time::timeout(app.body_timeout, read).await {
        Ok(Ok(bytes)) => Ok((parts, bytes)),
        Ok(Err(BodyFailure::TooLarge(close))) => Err(Unreadable { error: too_large(), close }),
        Ok(Err(BodyFailure::Malformed)) => {
            let why = if chunked {
                "The request body's chunked transfer encoding is malformed."
            } else {
                "The request body ended before its declared Content-Length."
            };
            Err(Unreadable { error: ApiError::bad_request(why), close: true })
        }
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

/// The request's headers as the signature check and the wire layer read them.
fn header_list(parts: &Parts) -> Vec<(&str, &[u8])> {
    parts.headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect()
}

/// Checks the request's signature (or, in open mode, reads its scope): the caller's context. A
/// signature that did not match also gives what the server computed. A check `before_body`
/// already made, over an empty body, is taken as it is.
fn authenticate(
    app: &App,
    parts: &Parts,
    headers: &[(&str, &[u8])],
    body: &[u8],
    request_id: &str,
    early: Option<Authenticated>,
) -> Result<RequestContext, (ApiError, Option<Box<SignatureMismatch>>)> {
    let caller = match early.filter(|_| body.is_empty()) {
        Some(outcome) => outcome?,
        None => {
            let signed = carillon_sigv4::RequestParts {
                method: parts.method.as_str(),
                raw_path: parts.uri.path(),
                raw_query: parts.uri.query(),
                headers,
                body,
            };
            app.auth.authenticate_detailed(&signed)?
        }
    };
    Ok(RequestContext { account: caller.account, region: caller.region, request_id: request_id.to_string() })
}

async fn api(
    app: &App,
    parts: &Parts,
    body: &[u8],
    request_id: &str,
    caller: &mut Option<(String, String)>,
    abort: &mut bool,
    signature: &mut SignatureCheck,
) -> (Label, Result<Answer, ApiError>) {
    let headers = header_list(parts);
    let ctx = match authenticate(app, parts, &headers, body, request_id, signature.early.take()) {
        Ok(ctx) => ctx,
        Err((e, mismatch)) => {
            signature.mismatch = mismatch;
            return ("-", Err(e));
        }
    };
    *caller = Some((ctx.account.clone(), ctx.region.clone()));
    let request =
        WireRequest { method: parts.method.as_str(), raw_path: parts.uri.path(), raw_query: parts.uri.query(), headers: &headers, body };
    let resolved = match app.wire.resolve(request) {
        Ok(r) => r,
        Err(e) => return ("-", Err(e)),
    };
    let operation = resolved.operation();
    if let Some(throttle) = &app.throttle
        && !throttle.admit(&ctx.account, operation, &throttle_keys(&resolved, &headers, body, &ctx.region))
    {
        let e = ApiError::new(ErrorKind::ThrottledClient, "The request rate for this account is above the AWS rate profile.");
        return (operation.name(), Err(e));
    }
    // An injected fault acts before the operation runs: an injected error changes nothing.
    let fired = app.faults.check(operation.name(), &ctx.account);
    if let Some(f) = &fired {
        app.metrics.fault_fired(operation.name(), f.action());
    }
    match fired {
        Some(Fired::Error(e)) => return (operation.name(), Err(e.with_cause("injected fault"))),
        Some(Fired::Latency(wait)) => tokio::time::sleep(wait).await,
        Some(Fired::Reset) => {
            *abort = true;
            return (
                operation.name(),
                Err(ApiError::internal("The connection is reset by an injected fault.").with_cause("injected fault: reset")),
            );
        }
        None => {}
    }
    if operation == ServedOperation::Messaging(messaging::Operation::GetMessagingSessionEndpoint) {
        // Where clients open their WebSocket is a property of the listener, not of the service.
        if let Err(e) = app.wire.bind(&resolved) {
            return (operation.name(), Err(e));
        }
        return (operation.name(), Ok(messaging_endpoint(app, parts)));
    }
    (operation.name(), app.wire.call(&app.service, &ctx, resolved).await)
}

/// What a Messaging request's rates are counted against (`docs/behaviour.md`, "Limits"); nothing
/// for Identity, whose rates are per account.
fn throttle_keys<'a>(resolved: &'a Resolved<'_>, headers: &'a [(&'a str, &'a [u8])], body: &'a [u8], region: &str) -> MessagingKeys<'a> {
    match resolved.operation() {
        ServedOperation::Messaging(op) => MessagingKeys::of(op, resolved.labels(), resolved.query(), headers, body, region),
        ServedOperation::Identity(_) => MessagingKeys::default(),
    }
}

/// GetMessagingSessionEndpoint's answer (`docs/behaviour.md`, "Messaging"): `--messaging-endpoint`,
/// else the request's Host, with the listener's port when the Host names none and it is not 443.
/// No scheme and no path: the JavaScript SDK builds `wss://` + Url + `/connect`.
fn messaging_endpoint(app: &App, parts: &Parts) -> Answer {
    let url = match &app.messaging_endpoint {
        Some(configured) => configured.clone(),
        None => {
            let host = parts.headers.get(hyper::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
            let has_port = host.rsplit_once(':').is_some_and(|(_, p)| !p.contains(']'));
            if has_port || app.port == 443 { host.to_string() } else { format!("{host}:{}", app.port) }
        }
    };
    let body = serde_json::json!({"Endpoint": {"Url": url}});
    Answer::json(200, serde_json::to_vec(&body).unwrap_or_default())
}

async fn control(app: &App, parts: &Parts, body: &[u8]) -> (Label, Result<Answer, ApiError>) {
    let found = Control::resolve(parts.method.as_str(), parts.uri.path());
    let label = found.map_or("-", Control::name);
    if !app.control_plane && found != Some(Control::Health) {
        return ("-", Err(control::unknown(parts.method.as_str(), &printable(parts.uri.path()))));
    }
    // In sigv4 mode everything but health needs an operator's signature, an unknown path too (it
    // tells nothing); a tenant's valid signature is not enough (docs/behaviour.md, "Control plane").
    if app.auth.is_sigv4() && found.is_none_or(Control::needs_auth) {
        let headers = header_list(parts);
        let signed = carillon_sigv4::RequestParts {
            method: parts.method.as_str(),
            raw_path: parts.uri.path(),
            raw_query: parts.uri.query(),
            headers: &headers,
            body,
        };
        match app.auth.authenticate(&signed) {
            Ok(caller) if caller.operator => {}
            Ok(caller) => {
                return (label, Err(control::not_an_operator().with_cause(format!("account {} is not an operator", caller.account))));
            }
            Err(e) => return (label, Err(e)),
        }
    }
    match found {
        Some(op) => (op.name(), op.call(app, parts.uri.query(), body).await),
        None => ("-", Err(control::unknown(parts.method.as_str(), &printable(parts.uri.path())))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(account: Option<&'a str>, method: &'a str, path: &'a str, status: u16, label: Label) -> LogFields<'a> {
        LogFields { request_id: "rid", account, region: account.map(|_| "eu-west-1"), method, path, status, label }
    }

    /// What a subscriber writes, for the events `emit` sends.
    #[derive(Clone, Default)]
    struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    fn captured(json: bool, emit: impl FnOnce()) -> Vec<String> {
        let out = Captured::default();
        let builder = tracing_subscriber::fmt().with_writer(out.clone()).with_ansi(false).with_target(false);
        if json {
            let subscriber = builder.json().flatten_event(true).with_current_span(false).with_span_list(false).finish();
            tracing::subscriber::with_default(subscriber, emit);
        } else {
            tracing::subscriber::with_default(builder.finish(), emit);
        }
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn the_request_event_has_its_fields_and_cannot_forge_a_line() {
        let forged = "/app-instances/x\n{\"level\":\"INFO\"}\r\n2026-01-01T00:00:00Z  INFO forged";
        let emit = || {
            log_request(
                &fields(Some("111122223333"), "GET", forged, 500, "DescribeAppInstance"),
                42,
                Some("disk I/O error\nat page 3"),
                true,
            );
            log_request(&fields(None, "GET", "/_carillon/health", 200, "control:health"), 7, None, false);
        };
        let lines = captured(true, emit);
        assert_eq!(lines.len(), 2, "{lines:#?}");
        let first: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(first["level"], "WARN");
        assert_eq!(first["request_id"], "rid");
        assert_eq!((first["account"].as_str(), first["region"].as_str()), (Some("111122223333"), Some("eu-west-1")));
        assert_eq!(
            (first["operation"].as_str(), first["status"].as_u64(), first["latency_us"].as_u64()),
            (Some("DescribeAppInstance"), Some(500), Some(42))
        );
        assert_eq!(first["path"], "/app-instances/x{\"level\":\"INFO\"}2026-01-01T00:00:00Z  INFO forged");
        assert_eq!(first["cause"], "disk I/O error\\nat page 3");
        let timestamp = first["timestamp"].as_str().unwrap();
        assert!(timestamp.len() >= 20 && timestamp.as_bytes()[10] == b'T' && timestamp.ends_with('Z'), "{timestamp}");
        let second: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!((second["level"].as_str(), second["operation"].as_str()), (Some("INFO"), Some("control:health")));
        assert!(second.get("account").is_none() && second.get("cause").is_none(), "{second}");

        let lines = captured(false, emit);
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(lines[0].split(' ').next().is_some_and(|t| t.as_bytes().get(10) == Some(&b'T') && t.ends_with('Z')), "{}", lines[0]);
        for part in [
            "WARN",
            "request_id=\"rid\"",
            "account=\"111122223333\"",
            "status=500",
            "latency_us=42",
            "cause=\"disk I/O error\\\\nat page 3\"",
        ] {
            assert!(lines[0].contains(part), "{part} not in {}", lines[0]);
        }
        assert!(
            lines[1].contains(" INFO ") && lines[1].contains("operation=\"control:health\"") && !lines[1].contains("account="),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn user_ids_are_hidden_in_logged_paths() {
        let arn = "arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fabc%2Fuser%2Falice%40example.com";
        assert_eq!(
            redact_path(&format!("/app-instance-users/{arn}/endpoints/e1")),
            "/app-instance-users/arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fabc%2Fuser%2F***/endpoints/e1"
        );
        assert_eq!(
            redact_path("/app-instance-users/arn:aws:chime:us-east-1:1:app-instance/abc/user/bob@example.com/endpoints"),
            "/app-instance-users/arn:aws:chime:us-east-1:1:app-instance/abc/user/***/endpoints"
        );
        assert_eq!(
            redact_path("/app-instances/arn%3Aaws%3Achime%3Ax%3A1%3Aapp-instance%2Fabc"),
            "/app-instances/arn%3Aaws%3Achime%3Ax%3A1%3Aapp-instance%2Fabc"
        );
        assert_eq!(redact_path("/users/user/x"), "/users/user/x");
    }

    #[test]
    fn paths_are_printed_short_and_without_control_characters() {
        assert_eq!(printable("/a\x1b[31m/b"), "/a[31m/b");
        let long = "/".repeat(300);
        assert_eq!(printable(&long), format!("{}...", "/".repeat(256)));
    }

    #[test]
    fn an_empty_answer_has_no_content_type_and_an_error_names_its_type() {
        let r = answer_response(Answer::json(204, Vec::new()));
        assert_eq!(r.status(), 204);
        assert!(r.headers().get(CONTENT_TYPE).is_none());
        let r = error_response(&ApiError::not_found("gone").with_cause("secret-free detail"));
        assert_eq!((r.status().as_u16(), r.headers()["x-amzn-ErrorType"].to_str().unwrap()), (404, "NotFoundException"));
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
    }
}
