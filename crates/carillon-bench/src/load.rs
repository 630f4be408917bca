//! The load generator: closed-loop keep-alive connections (hyper 1 client, one per task) sending
//! pre-signed requests, an HDR histogram of latencies per operation, and status counts.

use crate::api::{self, MixOp, Op, Signed};
use crate::process::{self, RssPoller};
use crate::sign::{Credentials, Signer};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// How requests go out: hyper 1's client connection (`conn::http1`), or pre-serialized bytes
/// written straight to the socket with a minimal response parser (lighter on the client core).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Hyper,
    Raw,
}

static RAW: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn set_engine(e: Engine) {
    RAW.store(e == Engine::Raw, std::sync::atomic::Ordering::Relaxed);
}

pub fn engine() -> Engine {
    if RAW.load(std::sync::atomic::Ordering::Relaxed) { Engine::Raw } else { Engine::Hyper }
}

/// One keep-alive connection.
pub enum Sender {
    Hyper(SendRequest<Full<Bytes>>),
    Raw(RawConn),
}

pub struct RawConn {
    stream: TcpStream,
    buf: bytes::BytesMut,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl RawConn {
    /// Writes the request's bytes, reads one response (status line, headers, Content-Length body).
    async fn send(&mut self, wire: &[u8]) -> Result<(u16, Bytes), String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.stream.write_all(wire).await.map_err(|e| format!("write: {e}"))?;
        let mut scanned = 0;
        loop {
            if let Some(end) = find(&self.buf[scanned..], b"\r\n\r\n").map(|p| p + scanned) {
                let head = std::str::from_utf8(&self.buf[..end]).map_err(|_| "response head is not UTF-8".to_string())?;
                let mut lines = head.split("\r\n");
                let status: u16 = lines
                    .next()
                    .and_then(|l| l.split(' ').nth(1))
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| format!("bad status line in {head:?}"))?;
                let mut length = 0usize;
                for l in lines {
                    let Some((k, v)) = l.split_once(':') else {
                        continue;
                    };
                    if k.eq_ignore_ascii_case("content-length") {
                        length = v.trim().parse().map_err(|_| "bad content-length".to_string())?;
                    } else if k.eq_ignore_ascii_case("transfer-encoding") {
                        return Err("chunked responses are not supported by the raw client".into());
                    }
                }
                let total = end + 4 + length;
                while self.buf.len() < total {
                    self.buf.reserve(total - self.buf.len());
                    if self.stream.read_buf(&mut self.buf).await.map_err(|e| format!("read: {e}"))? == 0 {
                        return Err("connection closed mid-response".into());
                    }
                }
                let msg = self.buf.split_to(total).freeze();
                return Ok((status, msg.slice(end + 4..)));
            }
            scanned = self.buf.len().saturating_sub(3);
            self.buf.reserve(16 * 1024);
            if self.stream.read_buf(&mut self.buf).await.map_err(|e| format!("read: {e}"))? == 0 {
                return Err("connection closed".into());
            }
        }
    }
}

/// Latencies are recorded in microseconds, 1 µs to 60 s, three significant figures.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

pub async fn connect(addr: SocketAddr) -> Result<Sender, String> {
    connect_with(addr, engine()).await
}

/// A connection with the given client, whatever `--client` says (hyper for answers the raw
/// client does not parse, such as chunked ones).
pub async fn connect_with(addr: SocketAddr, engine: Engine) -> Result<Sender, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    if engine == Engine::Raw {
        return Ok(Sender::Raw(RawConn { stream, buf: bytes::BytesMut::with_capacity(16 * 1024) }));
    }
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(Sender::Hyper(sender))
}

/// Sends one request and reads its whole body.
pub async fn send(sender: &mut Sender, req: &Signed) -> Result<(u16, Bytes), String> {
    let sender = match sender {
        Sender::Raw(raw) => return raw.send(&req.wire).await,
        Sender::Hyper(h) => h,
    };
    sender.ready().await.map_err(|e| e.to_string())?;
    let resp = sender.send_request(req.request()).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok((status, body))
}

/// What a connection needs to sign register/deregister requests on the fly (every register needs
/// a fresh ClientRequestToken and DeviceToken, and a deregister names the EndpointId just made).
pub struct OnTheFly {
    pub creds: Credentials,
    pub region: String,
    pub host: String,
    pub pinpoint_arn: String,
    /// One user per connection, with room for one more endpoint.
    pub users: Vec<String>,
    pub nonce: String,
}

/// What a connection needs to sign a SendChannelMessage when the pre-signed pool is used up.
pub struct FreshSends {
    pub creds: Credentials,
    pub region: String,
    pub host: String,
    pub bearer: String,
    pub channel_arn: String,
    pub nonce: String,
    /// How many were signed during the run.
    pub signed: std::sync::atomic::AtomicUsize,
}

/// Everything a run sends.
#[derive(Default)]
pub struct Workload {
    pub update: Vec<Signed>,
    pub describe: Vec<Signed>,
    pub list: Vec<Signed>,
    /// SendChannelMessage requests, each with its own ClientRequestToken: each is sent once (a
    /// second time would be a replay, which stores nothing), then [`FreshSends`] signs more.
    pub send: Vec<Signed>,
    /// The next unused request of `send`.
    pub send_next: std::sync::atomic::AtomicUsize,
    /// Set for the baseline: `send` is sent round and round (the baseline stores nothing).
    pub send_cycle: std::sync::atomic::AtomicBool,
    pub fresh_sends: Option<FreshSends>,
    /// ListChannelMessages requests.
    pub list_messages: Vec<Signed>,
    pub on_the_fly: Option<OnTheFly>,
}

#[derive(Clone)]
pub struct RunSpec {
    pub label: String,
    pub mix: Vec<(MixOp, u32)>,
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Pre-signed requests per operation: distinct endpoints, drawn at random from the seed.
    pub pool: usize,
}

impl RunSpec {
    pub fn mix_text(&self) -> String {
        self.mix.iter().map(|(m, w)| format!("{}={w}", m.name())).collect::<Vec<_>>().join(",")
    }

    /// The mix as a repeating schedule, weights spread out (smooth weighted round robin).
    fn schedule(&self) -> Vec<MixOp> {
        let total: i64 = self.mix.iter().map(|(_, w)| i64::from(*w)).sum();
        let mut current = vec![0i64; self.mix.len()];
        let mut out = Vec::with_capacity(total as usize);
        for _ in 0..total {
            for (c, (_, w)) in current.iter_mut().zip(&self.mix) {
                *c += i64::from(*w);
            }
            let (best, _) = current.iter().enumerate().max_by_key(|(i, c)| (**c, -(*i as i64))).expect("non-empty mix");
            current[best] -= total;
            out.push(self.mix[best].0);
        }
        out
    }
}

pub struct RunResult {
    pub requests: u64,
    pub seconds: f64,
    pub total: Histogram<u64>,
    pub per_op: BTreeMap<Op, Histogram<u64>>,
    /// Status code -> count, of responses that were not 2xx; 0 counts transport errors.
    pub errors: BTreeMap<u16, u64>,
    /// Status and body of the first 2xx response of each operation.
    pub samples: BTreeMap<Op, (u16, Bytes)>,
    pub server_cpu: Option<f64>,
    pub client_cpu: Option<f64>,
    pub peak_rss_kib: Option<u64>,
    pub first_error: Option<String>,
    /// Server CPU by thread name (share of one core), and context switches per request.
    pub threads: Vec<(String, f64)>,
    pub switches_per_request: Option<f64>,
}

impl RunResult {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
    pub fn ms(&self, q: f64) -> f64 {
        self.total.value_at_quantile(q) as f64 / 1000.0
    }
}

struct WorkerOut {
    requests: u64,
    per_op: BTreeMap<Op, Histogram<u64>>,
    errors: BTreeMap<u16, u64>,
    samples: BTreeMap<Op, (u16, Bytes)>,
    first_error: Option<String>,
}

struct Worker {
    addr: SocketAddr,
    sender: Option<Sender>,
    measure_from: Instant,
    end: Instant,
    out: WorkerOut,
}

impl Worker {
    async fn one(&mut self, op: Op, req: &Signed) -> Option<Bytes> {
        if self.sender.is_none() {
            match connect(self.addr).await {
                Ok(s) => self.sender = Some(s),
                Err(e) => {
                    *self.out.errors.entry(0).or_default() += 1;
                    self.out.first_error.get_or_insert(e);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    return None;
                }
            }
        }
        let sender = self.sender.as_mut().expect("connected");
        let start = Instant::now();
        let res = send(sender, req).await;
        let done = Instant::now();
        let measured = start >= self.measure_from && done <= self.end;
        match res {
            Ok((status, body)) => {
                if measured {
                    self.out.requests += 1;
                    let us = done.duration_since(start).as_micros() as u64;
                    self.out.per_op.entry(op).or_insert_with(histogram).saturating_record(us.max(1));
                }
                if (200..300).contains(&status) {
                    self.out.samples.entry(op).or_insert_with(|| (status, body.clone()));
                    Some(body)
                } else {
                    if measured {
                        *self.out.errors.entry(status).or_default() += 1;
                    }
                    self.out.first_error.get_or_insert_with(|| {
                        format!("{} {} -> {status} {}", req.method, req.uri, String::from_utf8_lossy(&body[..body.len().min(300)]))
                    });
                    None
                }
            }
            Err(e) => {
                if measured {
                    *self.out.errors.entry(0).or_default() += 1;
                }
                self.out.first_error.get_or_insert(e);
                self.sender = None;
                None
            }
        }
    }
}

async fn worker(
    idx: usize,
    addr: SocketAddr,
    w: Arc<Workload>,
    schedule: Arc<Vec<MixOp>>,
    measure_from: Instant,
    end: Instant,
) -> WorkerOut {
    let mut me = Worker {
        addr,
        sender: None,
        measure_from,
        end,
        out: WorkerOut { requests: 0, per_op: BTreeMap::new(), errors: BTreeMap::new(), samples: BTreeMap::new(), first_error: None },
    };
    let mut k = idx;
    let mut i = idx.wrapping_mul(7919);
    let mut n = 0u64;
    let mut signer: Option<(Instant, Signer)> = None;
    while Instant::now() < end {
        let m = schedule[k % schedule.len()];
        k += 1;
        i = i.wrapping_add(1);
        match m {
            MixOp::Update => {
                me.one(Op::Update, &w.update[i % w.update.len()]).await;
            }
            MixOp::Describe => {
                me.one(Op::Describe, &w.describe[i % w.describe.len()]).await;
            }
            MixOp::ListUsers => {
                me.one(Op::ListUsers, &w.list[i % w.list.len()]).await;
            }
            MixOp::SendMessage => {
                use std::sync::atomic::Ordering::Relaxed;
                if w.send_cycle.load(Relaxed) {
                    me.one(Op::SendMessage, &w.send[i % w.send.len()]).await;
                    continue;
                }
                let next = w.send_next.fetch_add(1, Relaxed);
                if let Some(req) = w.send.get(next) {
                    me.one(Op::SendMessage, req).await;
                    continue;
                }
                let f = w.fresh_sends.as_ref().expect("a send pool that runs out needs on-the-fly signing");
                if signer.as_ref().is_none_or(|(t, _)| t.elapsed() > Duration::from_secs(60)) {
                    signer = Some((Instant::now(), Signer::now(&f.creds, &f.region, &f.host)));
                }
                n += 1;
                f.signed.fetch_add(1, Relaxed);
                let token = format!("{}-f{idx}-{n}", f.nonce);
                let req =
                    api::send_message(&signer.as_ref().expect("signer").1, &f.bearer, &f.channel_arn, "bench send", true, Some(&token));
                me.one(Op::SendMessage, &req).await;
            }
            MixOp::ListMessages => {
                me.one(Op::ListMessages, &w.list_messages[i % w.list_messages.len()]).await;
            }
            MixOp::RegisterDeregister => {
                let f = w.on_the_fly.as_ref().expect("register-deregister needs on-the-fly signing");
                if signer.as_ref().is_none_or(|(t, _)| t.elapsed() > Duration::from_secs(60)) {
                    signer = Some((Instant::now(), Signer::now(&f.creds, &f.region, &f.host)));
                }
                let s = &signer.as_ref().expect("signer").1;
                let user = &f.users[idx % f.users.len()];
                n += 1;
                let tag = format!("{}-{idx}-{n}", f.nonce);
                let reg = api::register(s, user, &f.pinpoint_arn, &format!("device-{tag}"), &format!("bench-{tag}"));
                if let Some(body) = me.one(Op::Register, &reg).await
                    && let Some(id) = api::member(&body, "EndpointId")
                {
                    let dereg = api::deregister(s, user, &id);
                    me.one(Op::Deregister, &dereg).await;
                }
            }
        }
    }
    me.out
}

/// Runs `spec` against `addr`; `pid` (when known) is the server whose CPU and RSS are sampled.
pub async fn run(addr: SocketAddr, pid: Option<u32>, spec: &RunSpec, workload: Arc<Workload>) -> RunResult {
    let schedule = Arc::new(spec.schedule());
    let t0 = Instant::now();
    let measure_from = t0 + spec.warmup;
    let end = measure_from + spec.duration;
    let mut handles = Vec::with_capacity(spec.connections);
    for idx in 0..spec.connections {
        handles.push(tokio::spawn(worker(idx, addr, workload.clone(), schedule.clone(), measure_from, end)));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let poller = RssPoller::start(pid);
    let threads0 = pid.map(process::threads);
    let server_cpu0 = pid.and_then(process::cpu_ticks);
    let client_cpu0 = process::cpu_ticks(std::process::id());
    let m0 = Instant::now();
    tokio::time::sleep_until(end.into()).await;
    let wall = m0.elapsed().as_secs_f64();
    let server_cpu1 = pid.and_then(process::cpu_ticks);
    let threads1 = pid.map(process::threads);
    let client_cpu1 = process::cpu_ticks(std::process::id());
    let peak_rss_kib = poller.finish();
    let mut result = RunResult {
        requests: 0,
        seconds: spec.duration.as_secs_f64(),
        total: histogram(),
        per_op: BTreeMap::new(),
        errors: BTreeMap::new(),
        samples: BTreeMap::new(),
        server_cpu: server_cpu0.zip(server_cpu1).map(|(a, b)| (b - a) as f64 / process::TICKS_PER_SEC / wall),
        client_cpu: client_cpu0.zip(client_cpu1).map(|(a, b)| (b - a) as f64 / process::TICKS_PER_SEC / wall),
        peak_rss_kib,
        first_error: None,
        threads: Vec::new(),
        switches_per_request: None,
    };
    let mut switches = None;
    if let (Some(a), Some(b)) = (&threads0, &threads1) {
        let (t, s) = process::thread_delta(a, b, wall);
        result.threads = t;
        switches = Some(s);
    }
    for h in handles {
        let Ok(out) = h.await else { continue };
        result.requests += out.requests;
        for (op, h) in out.per_op {
            let _ = result.total.add(&h);
            match result.per_op.get_mut(&op) {
                Some(acc) => {
                    let _ = acc.add(&h);
                }
                None => {
                    result.per_op.insert(op, h);
                }
            }
        }
        for (s, c) in out.errors {
            *result.errors.entry(s).or_default() += c;
        }
        for (op, s) in out.samples {
            result.samples.entry(op).or_insert(s);
        }
        if result.first_error.is_none() {
            result.first_error = out.first_error;
        }
    }
    if let Some(s) = switches {
        result.switches_per_request = Some(s as f64 / result.requests.max(1) as f64);
    }
    result
}

/// Sends `total` requests made by `make(i)` over `connections` connections (each request retried
/// up to 5 times on a transport error or 5xx), calling `done(i, body)` with each 2xx body.
/// Progress goes to stderr every 5 s when `label` is given. Returns the elapsed time.
pub async fn parallel<M, D>(
    addr: SocketAddr,
    connections: usize,
    total: usize,
    label: Option<&str>,
    make: M,
    done: D,
) -> Result<Duration, String>
where
    M: Fn(usize) -> Signed + Send + Sync + 'static,
    D: Fn(usize, &[u8]) + Send + Sync + 'static,
{
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let failure: Arc<std::sync::Mutex<Option<String>>> = Arc::new(std::sync::Mutex::new(None));
    let make = Arc::new(make);
    let done = Arc::new(done);
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..connections.min(total.max(1)) {
        let (next, finished, failure, make, done) = (next.clone(), finished.clone(), failure.clone(), make.clone(), done.clone());
        handles.push(tokio::spawn(async move {
            let mut sender: Option<Sender> = None;
            loop {
                if failure.lock().map(|f| f.is_some()).unwrap_or(true) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return;
                }
                let req = make(i);
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    if sender.is_none() {
                        match connect(addr).await {
                            Ok(s) => sender = Some(s),
                            Err(e) if attempt >= 5 => {
                                *failure.lock().expect("lock") = Some(e);
                                return;
                            }
                            Err(_) => {
                                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                                continue;
                            }
                        }
                    }
                    match send(sender.as_mut().expect("connected"), &req).await {
                        Ok((status, body)) if (200..300).contains(&status) => {
                            done(i, &body);
                            finished.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Ok((status, body)) if status < 500 || attempt >= 5 => {
                            *failure.lock().expect("lock") = Some(format!(
                                "{} {} -> {status} {}",
                                req.method,
                                req.uri,
                                String::from_utf8_lossy(&body[..body.len().min(400)])
                            ));
                            return;
                        }
                        Ok(_) => tokio::time::sleep(Duration::from_millis(50 * attempt)).await,
                        Err(e) => {
                            sender = None;
                            if attempt >= 5 {
                                *failure.lock().expect("lock") = Some(e);
                                return;
                            }
                        }
                    }
                }
            }
        }));
    }
    let progress = label.map(|label| {
        let label = label.to_string();
        let finished = finished.clone();
        tokio::spawn(async move {
            let mut last = (Instant::now(), 0usize);
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let n = finished.load(Ordering::Relaxed);
                let rate = (n - last.1) as f64 / last.0.elapsed().as_secs_f64();
                let eta = if rate > 0.0 { (total - n) as f64 / rate } else { f64::NAN };
                eprintln!(
                    "carillon-bench: seeding {label}: {n}/{total} ({:.1}%), {rate:.0}/s now, {:.0}/s overall, ~{eta:.0} s left",
                    100.0 * n as f64 / total as f64,
                    n as f64 / started.elapsed().as_secs_f64()
                );
                last = (Instant::now(), n);
            }
        })
    });
    for h in handles {
        let _ = h.await;
    }
    if let Some(p) = progress {
        p.abort();
    }
    if let Some(e) = failure.lock().ok().and_then(|f| f.clone()) {
        return Err(e);
    }
    Ok(started.elapsed())
}
