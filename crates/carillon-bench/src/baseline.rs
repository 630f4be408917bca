//! The baseline: a minimal hyper 1 server (`carillon-bench __baseline`), run as its own process
//! on the same core and with the same number of worker threads as Carillon. It reads each request
//! whole, as Carillon does, and answers with the status and body Carillon gave for that operation
//! (captured from Carillon beforehand), with the same kind of headers. Its figures are the cost of
//! HTTP alone on this machine; Carillon's are divided by them.

use crate::api::Op;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The answers: operation -> (status, body). Written by the bench as JSON
/// `{"update": {"status": 200, "body": "..."}, ...}`.
type Answers = HashMap<Op, (StatusCode, Bytes)>;

pub fn write_answers(path: &std::path::Path, samples: &std::collections::BTreeMap<Op, (u16, Bytes)>) -> std::io::Result<()> {
    let mut map = serde_json::Map::new();
    for (op, (status, body)) in samples {
        map.insert(op.name().to_string(), serde_json::json!({"status": status, "body": String::from_utf8_lossy(body)}));
    }
    std::fs::write(path, serde_json::Value::Object(map).to_string())
}

fn read_answers(path: &str) -> Result<Answers, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let mut out = Answers::new();
    for (k, a) in v.as_object().into_iter().flatten() {
        let op = Op::from_name(k).ok_or_else(|| format!("unknown operation {k}"))?;
        let status = a.get("status").and_then(|s| s.as_u64()).and_then(|s| StatusCode::from_u16(s as u16).ok()).unwrap_or(StatusCode::OK);
        let body = a.get("body").and_then(|b| b.as_str()).unwrap_or("").to_string();
        out.insert(op, (status, Bytes::from(body)));
    }
    Ok(out)
}

/// A fixed request id, as long as Carillon's UUIDs.
const REQUEST_ID: &str = "00000000-0000-4000-8000-000000000000";

async fn answer(answers: Arc<Answers>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let op = Op::classify(req.method(), req.uri().path());
    let _ = req.into_body().collect().await;
    let (status, body) = match op.and_then(|o| answers.get(&o)) {
        Some((s, b)) => (*s, b.clone()),
        None => (StatusCode::NOT_FOUND, Bytes::from_static(br#"{"Code":"NotFound","Message":"baseline"}"#)),
    };
    let empty = status == StatusCode::NO_CONTENT;
    let mut r = Response::new(Full::new(if empty { Bytes::new() } else { body }));
    *r.status_mut() = status;
    if !empty {
        r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    r.headers_mut().insert("x-amzn-RequestId", HeaderValue::from_static(REQUEST_ID));
    Ok(r)
}

/// `carillon-bench __baseline --listen ADDR --threads N --answers FILE`
pub fn main(args: &[String]) -> ExitCode {
    let mut listen = "127.0.0.1:0".to_string();
    let mut threads = 1usize;
    let mut answers_path = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--listen" => listen = it.next().cloned().unwrap_or_default(),
            "--threads" => threads = it.next().and_then(|t| t.parse().ok()).unwrap_or(1),
            "--answers" => answers_path = it.next().cloned(),
            other => {
                eprintln!("baseline: unknown option {other}");
                return ExitCode::from(2);
            }
        }
    }
    let answers = match answers_path.map(|p| read_answers(&p)).transpose() {
        Ok(a) => Arc::new(a.unwrap_or_default()),
        Err(e) => {
            eprintln!("baseline: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(threads.max(1)).enable_all().build().expect("runtime");
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(&listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("baseline: cannot listen on {listen}: {e}");
                return ExitCode::from(2);
            }
        };
        let addr = listener.local_addr().expect("local addr");
        eprintln!("baseline: listening on http://{addr}");
        let mut builder = http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(30)).keep_alive(true);
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let answers = answers.clone();
            let conn = builder.serve_connection(TokioIo::new(stream), service_fn(move |req| answer(answers.clone(), req)));
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    })
}
