//! Start-up, the accept loop, the expiration sweep and graceful shutdown.

use crate::auth::Auth;
use crate::config::{AuthMode, Config, Database};
use crate::http::{App, handle};
use carillon_service::{Clock, Service};
use carillon_store::Store;
use carillon_store_postgres::Occupancy;
use carillon_store_sqlite::{Location, SqliteStore};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long in-flight requests get to finish after SIGINT or SIGTERM.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long after SIGINT or SIGTERM open connections are still read from (each answer closing its
/// connection) before idle ones are closed.
const DRAIN_GRACE: Duration = Duration::from_millis(300);
/// The most headers a request may carry; more is answered 431 by the HTTP parser.
pub const MAX_HEADERS: usize = 100;
/// The most bytes a request's start line and headers may take; more is answered 431. It is hyper's
/// `max_header_size`: its read buffer alone (`max_buf_size`) may hold more than its limit after a
/// read, which let heads of up to about 128 KiB through.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Opens the store, and marks the database as used by this process: a server shares it (several
/// servers may share a PostgreSQL database), an offline tool needs it alone. A SQLite file is
/// only ever used by one process at a time.
pub(crate) async fn open_store(database: &Database, how: Occupancy) -> Result<Arc<dyn Store>, String> {
    match database {
        Database::SqliteFile(path) => SqliteStore::open(Location::File(path.clone())).map(|s| Arc::new(s) as Arc<dyn Store>),
        Database::SqliteMemory => SqliteStore::open(Location::Memory).map(|s| Arc::new(s) as Arc<dyn Store>),
        Database::Postgres(url) => match carillon_store_postgres::PostgresStore::connect(url).await {
            Ok(store) => store.occupy(how).await.map(|()| Arc::new(store) as Arc<dyn Store>),
            Err(e) => Err(e),
        },
    }
    .map_err(|e| format!("cannot open the database {database:?}: {e}"))
}

fn load_auth(config: &Config) -> Result<Auth, String> {
    let credentials = match &config.credentials {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the credentials file {}: {e}", path.display()))?;
            carillon_sigv4::Credentials::parse(&text).map_err(|e| format!("credentials file {}: {e}", path.display()))?
        }
        None => carillon_sigv4::Credentials::new(),
    };
    Ok(match config.auth {
        AuthMode::Open => Auth::Open(credentials),
        AuthMode::Sigv4 if credentials.is_empty() => return Err("--auth sigv4 needs at least one credential in --credentials".into()),
        AuthMode::Sigv4 => Auth::Sigv4(carillon_sigv4::Verifier::new(credentials)),
    })
}

/// A server serving in the background. Dropping it without [`Running::shutdown`] also stops it,
/// without waiting for the drain.
pub struct Running {
    addr: SocketAddr,
    service: Service,
    control: ControlPlane,
    stop: oneshot::Sender<()>,
    serving: JoinHandle<()>,
}

impl Running {
    /// The address it listens on (the real port when the configuration asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the endpoint URL for clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The service behind the API, on the same store.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// The control plane, to call in process.
    pub fn control_plane(&self) -> &ControlPlane {
        &self.control
    }

    /// Stops accepting, lets open connections finish what they were sent (see `DRAIN_GRACE`),
    /// waits for requests in flight (at most `DRAIN_TIMEOUT`), then closes the store.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.serving.await;
    }
}

/// Opens the store, builds the service, binds and serves in the background on the current tokio
/// runtime, with the expiration sweep. Logs `carillon: listening on http://ADDR ...` (a `tracing`
/// event; the binary's subscriber writes it on stderr) once it accepts connections.
pub async fn start(config: Config) -> Result<Running, String> {
    let wire = carillon_api::Wire::load().map_err(|e| format!("cannot load the service model: {e}"))?;
    let auth = load_auth(&config)?;
    let store = open_store(&config.database, Occupancy::Shared).await?;
    let metrics = crate::metrics::Metrics::default();
    store.set_commit_observer(metrics.commit_observer());
    let clock = Clock::default();
    clock.set_offset_ms(config.clock_offset_secs.saturating_mul(1000));
    let service = Service::new(store.clone(), config.quotas.clone(), clock).await.map_err(|e| format!("cannot start the service: {e}"))?;
    if let Some(seed) = &config.seed {
        let created = service
            .apply_seed(wire.identity_model(), wire.messaging_model(), seed.document.clone())
            .await
            .map_err(|e| format!("the seed file {} was not applied: {}", seed.path.display(), e.message))?;
        tracing::info!(target: "carillon", "carillon: seed {} applied: created {}", seed.path.display(), crate::control::counts(&created));
    }
    let listener = TcpListener::bind(config.listen).await.map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| format!("cannot read the listening address: {e}"))?;
    let request_timeout = Duration::from_secs(config.request_timeout_secs);
    let app = Arc::new(App {
        wire,
        service: service.clone(),
        auth,
        control_plane: config.control_plane,
        quiet: config.quiet,
        throttle: config.throttle.then(crate::throttle::Throttle::default),
        faults: Default::default(),
        journal: crate::journal::Journal::new(config.journal_size).with_bodies(config.journal_bodies),
        metrics,
        cors: config.cors_origins.clone(),
        messaging_endpoint: config.messaging_endpoint.clone(),
        port: addr.port(),
        body_timeout: request_timeout,
        draining: Default::default(),
    });
    // The background work: the expiration sweep, and the purges of large deletes (resumed now,
    // if a crash cut one).
    let (background, sweep_every) = (service.clone(), Duration::from_secs(config.sweep_interval_secs));
    let sweeper = tokio::spawn(async move {
        tokio::join!(sweep_loop(background.clone(), sweep_every), purge_loop(background));
    });
    // Whoever waits for this line (tests, harnesses) finds `listening on http://ADDR` in it, in
    // either log format; the subscriber writes each line at once.
    tracing::info!(target: "carillon", "carillon: listening on http://{addr} (store: {}, auth: {:?})", store.kind(), config.auth);

    let (stop, stopped) = oneshot::channel();
    let limits = Limits { max_connections: config.max_connections, header_timeout: Duration::from_secs(config.header_timeout_secs) };
    let control = ControlPlane(app.clone());
    let serving = tokio::spawn(serve(listener, app, store, sweeper, limits, stopped));
    Ok(Running { addr, service, control, stop, serving })
}

/// The control plane of a running server, called in process: what `/_carillon/...` answers, without
/// HTTP, a signature or an Origin, since the caller is the program that runs the server (a test
/// harness). `--control-plane off` still leaves only health.
#[derive(Clone)]
pub struct ControlPlane(Arc<App>);

impl ControlPlane {
    /// Calls the operation at `method` and `path` (`/_carillon/reset`, ...) with the raw `query` and
    /// `body`; answers its body (JSON, or the metrics' text), or the error the path would answer.
    pub async fn call(&self, method: &str, path: &str, query: Option<&str>, body: &[u8]) -> Result<Vec<u8>, carillon_api::ApiError> {
        let found = crate::control::Control::resolve(method, path)
            .filter(|op| self.0.control_plane || *op == crate::control::Control::Health)
            .ok_or_else(|| crate::control::unknown(method, &carillon_api::printable(path)))?;
        found.call(&self.0, query, body).await.map(|answer| answer.body)
    }

    /// Creates what `seed` declares and is missing, as `--seed` does at start; answers the counts
    /// per kind created.
    pub async fn seed(&self, seed: carillon_service::seed::SeedDocument) -> Result<serde_json::Value, carillon_api::ApiError> {
        let created = self.0.service.apply_seed(self.0.wire.identity_model(), self.0.wire.messaging_model(), seed).await?;
        Ok(crate::control::counts(&created))
    }
}

/// What the binary does: [`start`], wait for SIGINT or SIGTERM, [`Running::shutdown`].
pub async fn run(config: Config) -> Result<(), String> {
    // The handlers are in place before the listening line is written: a signal sent as soon as
    // that line is read stops the server cleanly.
    let signal = shutdown_signal()?;
    let running = start(config).await?;
    signal.await;
    running.shutdown().await;
    Ok(())
}

/// What bounds connections.
struct Limits {
    max_connections: usize,
    header_timeout: Duration,
}

/// One open connection, as the accept loop sees it.
struct Slot {
    /// Requests being answered on it.
    busy: AtomicUsize,
    /// When it last became idle, in milliseconds since the registry's epoch.
    idle_since: AtomicU64,
    /// Told to close when its slot is wanted for a new connection.
    close: tokio::sync::Notify,
}

/// The open connections, so that at `--max-connections` the one idle the longest can be closed
/// to make room (docs/behaviour.md, "Limits"): idle clients cannot lock out health checks and
/// new clients.
struct Registry {
    epoch: Instant,
    slots: Mutex<HashMap<u64, Arc<Slot>>>,
}

impl Registry {
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn add(&self, id: u64) -> Arc<Slot> {
        let slot = Arc::new(Slot { busy: AtomicUsize::new(0), idle_since: AtomicU64::new(self.now()), close: Default::default() });
        if let Ok(mut slots) = self.slots.lock() {
            slots.insert(id, slot.clone());
        }
        slot
    }

    fn remove(&self, id: u64) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.remove(&id);
        }
    }

    /// Asks the connection idle the longest (no request in progress) to close. Only called at
    /// the connection limit, so the scan is bounded by `--max-connections`. False when every
    /// connection is busy.
    fn close_longest_idle(&self) -> bool {
        let Ok(slots) = self.slots.lock() else { return false };
        let victim = slots.values().filter(|s| s.busy.load(Ordering::Acquire) == 0).min_by_key(|s| s.idle_since.load(Ordering::Relaxed));
        match victim {
            Some(v) => {
                v.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Counts a request on its connection while it is answered.
struct Busy(Arc<Slot>, Arc<Registry>);

impl Busy {
    fn new(slot: &Arc<Slot>, registry: &Arc<Registry>) -> Busy {
        slot.busy.fetch_add(1, Ordering::AcqRel);
        Busy(slot.clone(), registry.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.idle_since.store(self.1.now(), Ordering::Relaxed);
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    store: Arc<dyn Store>,
    sweeper: JoinHandle<()>,
    limits: Limits,
    mut stopped: oneshot::Receiver<()>,
) {
    let max_connections = limits.max_connections;
    let connections = Arc::new(tokio::sync::Semaphore::new(max_connections));
    let registry = Arc::new(Registry { epoch: Instant::now(), slots: Mutex::new(HashMap::new()) });
    let (stopping, stop_watch) = tokio::sync::watch::channel(false);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_headers(MAX_HEADERS)
        .max_header_size(MAX_HEADER_BYTES)
        .max_buf_size(MAX_HEADER_BYTES)
        .half_close(true)
        .keep_alive(true);
    let mut next_id: u64 = 0;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut stopped => break,
        };
        let Ok((stream, _)) = accepted else { continue };
        // A free slot, else the one of the connection idle the longest; when every connection is
        // busy, the new one waits for a slot.
        let permit = match connections.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                registry.close_longest_idle();
                tokio::select! {
                    permit = connections.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => break },
                    _ = &mut stopped => break,
                }
            }
        };
        let _ = stream.set_nodelay(true);
        next_id += 1;
        let id = next_id;
        let slot = registry.add(id);
        let open = app.metrics.connection();
        let (app, registry, mut stop_watch) = (app.clone(), registry.clone(), stop_watch.clone());
        let service = {
            let (slot, registry) = (slot.clone(), registry.clone());
            service_fn(move |req| {
                let busy = Busy::new(&slot, &registry);
                let app = app.clone();
                async move {
                    let answer = handle(app, req).await;
                    drop(busy);
                    // An injected fault's reset: hyper drops the connection without an answer.
                    match answer {
                        Ok(r) if r.extensions().get::<crate::faults::ConnectionAborted>().is_some() => {
                            Err(crate::faults::ConnectionAborted)
                        }
                        other => other.map_err(|never| match never {}),
                    }
                }
            })
        };
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        tokio::spawn(async move {
            tokio::pin!(conn);
            let mut closing = false;
            loop {
                tokio::select! {
                    _ = conn.as_mut() => break,
                    _ = slot.close.notified() => {
                        // Between requests nothing is lost by closing now; with one in progress it
                        // is answered first.
                        if slot.busy.load(Ordering::Acquire) == 0 {
                            break;
                        }
                        conn.as_mut().graceful_shutdown();
                    }
                    changed = stop_watch.changed(), if !closing => {
                        closing = true;
                        if changed.is_ok() {
                            conn.as_mut().graceful_shutdown();
                        }
                    }
                }
            }
            registry.remove(id);
            drop(open);
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!(target: "carillon", "carillon: shutting down, finishing requests in flight");
    // For a moment, keep-alive connections go on being served, each answer closing its connection:
    // a request a client sent just before the signal is answered, not cut off as if idle.
    app.draining.store(true, std::sync::atomic::Ordering::Relaxed);
    tokio::time::sleep(DRAIN_GRACE).await;
    sweeper.abort();
    let _ = stopping.send(true);
    // Every slot back means every connection is done.
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, connections.acquire_many(all)).await;
    store.close().await;
    tracing::info!(target: "carillon", "carillon: stopped");
}

async fn sweep_loop(service: Service, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if let Err(e) = sweep(&service).await {
            let cause = e.cause.as_deref().map(|c| format!(" ({})", one_line(c))).unwrap_or_default();
            tracing::error!(target: "carillon", "carillon: expiration sweep failed: {e}{cause}");
        }
    }
}

/// What one expiration sweep deleted (`docs/behaviour.md`, "Expiration" and "Messaging").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Users past their expiration.
    pub users: usize,
    /// Channels past their expiration.
    pub channels: usize,
    /// Messages whose AppInstance's retention has run out.
    pub messages: u64,
}

/// One expiration sweep: users, then channels, then retained messages, on the service clock.
pub async fn sweep(service: &Service) -> Result<Swept, carillon_api::ApiError> {
    let users = service.sweep_expired_users().await?;
    let channels = service.sweep_expired_channels().await?;
    let messages = service.sweep_retained_messages().await?;
    Ok(Swept { users, channels, messages })
}

/// Runs the purges of large deletes (`carillon_service::purge`): at start, at once when a delete
/// here queued one, and every few seconds for those queued by other nodes or left by a failure.
/// Between them it sleeps: an idle server does not wake for it.
async fn purge_loop(service: Service) {
    const RESCAN: Duration = Duration::from_secs(5);
    loop {
        if let Err(e) = service.run_purges().await {
            let cause = e.cause.as_deref().map(|c| format!(" ({})", one_line(c))).unwrap_or_default();
            tracing::error!(target: "carillon", "carillon: purge of a large delete failed, to be resumed: {e}{cause}");
        }
        let _ = tokio::time::timeout(RESCAN, service.purge_queued_wait()).await;
    }
}

/// A log fragment on one line: line breaks become `\n`.
pub(crate) fn one_line(s: &str) -> String {
    s.replace('\r', "\\r").replace('\n', "\\n")
}

/// Resolves on the first SIGINT or SIGTERM; the handlers are installed when this is called.
fn shutdown_signal() -> Result<impl Future<Output = ()>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("cannot handle SIGINT: {e}"))?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// One request on its own connection; the whole answer as text.
    async fn exchange(addr: SocketAddr, request: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    }

    #[tokio::test]
    async fn serves_in_process_and_shuts_down() {
        let running = start(Config::for_tests("sqlite::memory:").unwrap()).await.unwrap();
        let addr = running.addr();
        assert_eq!(running.url(), format!("http://{addr}"));
        let answer = exchange(addr, "GET /_carillon/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
        assert!(answer.to_ascii_lowercase().contains("x-amzn-requestid: "), "{answer}");
        assert!(answer.ends_with(r#"{"status":"ok","store":"sqlite"}"#), "{answer}");
        let answer = exchange(addr, "GET /_carillon/nothing HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 404 "), "{answer}");
        assert!(answer.contains("UnknownOperationException"), "{answer}");
        running.shutdown().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "nothing listens after shutdown");
    }

    fn with_body(method: &str, path: &str, body: &str) -> String {
        format!(
            "{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    #[tokio::test]
    async fn api_and_control_plane_answer_through_the_same_front() {
        let running = start(Config::default()).await.unwrap();
        let addr = running.addr();
        let created = exchange(addr, &with_body("POST", "/app-instances", r#"{"Name":"bells","ClientRequestToken":"token-0001"}"#)).await;
        assert!(created.starts_with("HTTP/1.1 201 "), "the model's success status: {created}");
        let (_, json) = created.split_once("\r\n\r\n").unwrap();
        let arn = serde_json::from_str::<serde_json::Value>(json).unwrap()["AppInstanceArn"].as_str().unwrap().to_string();
        let deleted =
            exchange(addr, &with_body("DELETE", &format!("/app-instances/{}", arn.replace(':', "%3A").replace('/', "%2F")), "")).await;
        assert!(deleted.starts_with("HTTP/1.1 204 "), "{deleted}");
        assert!(deleted.ends_with("\r\n\r\n") && !deleted.to_ascii_lowercase().contains("content-type"), "{deleted}");
        let clock = exchange(addr, &with_body("PUT", "/_carillon/clock", r#"{"offset_seconds":90}"#)).await;
        assert!(clock.ends_with(r#"{"offset_seconds":90}"#), "{clock}");
        assert_eq!(running.service().clock().offset_ms(), 90_000);
        let bad = exchange(addr, &with_body("PUT", "/_carillon/clock", "{")).await;
        assert!(bad.starts_with("HTTP/1.1 400 ") && bad.contains("BadRequestException"), "{bad}");
        running.shutdown().await;
    }

    #[tokio::test]
    async fn in_sigv4_mode_only_health_is_open_on_the_control_plane() {
        let dir = std::env::temp_dir().join(format!("carillon-lib-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let credentials = dir.join("credentials");
        std::fs::write(&credentials, "AKIDEXAMPLE:secret:444455556666\n").unwrap();
        let config = Config { auth: AuthMode::Sigv4, credentials: Some(credentials), ..Config::default() };
        let running = start(config).await.unwrap();
        let health = exchange(running.addr(), "GET /_carillon/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
        assert!(health.starts_with("HTTP/1.1 200 "), "{health}");
        for request in [with_body("PUT", "/_carillon/clock", r#"{"offset_seconds":1}"#), with_body("GET", "/app-instances", "")] {
            let refused = exchange(running.addr(), &request).await;
            assert!(refused.starts_with("HTTP/1.1 403 ") && refused.contains("MissingAuthenticationToken"), "{refused}");
        }
        assert_eq!(running.service().clock().offset_ms(), 0);
        running.shutdown().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_start_up_error_is_returned() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let config = Config { listen: taken.local_addr().unwrap(), ..Config::default() };
        let e = start(config).await.err().unwrap();
        assert!(e.starts_with("cannot listen on "), "{e}");
    }
}
