//! Start-up, the accept loop, the expiration sweep and graceful shutdown.

use crate::auth::Auth;
use crate::config::{AuthMode, Config, Database};
use crate::http::{App, handle};
use carillon_service::{Clock, Service};
use carillon_store::Store;
use carillon_store_sqlite::{Location, SqliteStore};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long in-flight requests get to finish after SIGINT or SIGTERM.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long after SIGINT or SIGTERM open connections are still read from (each answer closing its
/// connection) before idle ones are closed.
const DRAIN_GRACE: Duration = Duration::from_millis(300);
/// The most headers a request may carry; more is answered 431 by the HTTP parser.
pub const MAX_HEADERS: usize = 100;
/// The most bytes a request's start line and headers may take; more is answered 431.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

async fn open_store(database: &Database) -> Result<Arc<dyn Store>, String> {
    match database {
        Database::SqliteFile(path) => SqliteStore::open(Location::File(path.clone())).map(|s| Arc::new(s) as Arc<dyn Store>),
        Database::SqliteMemory => SqliteStore::open(Location::Memory).map(|s| Arc::new(s) as Arc<dyn Store>),
        Database::Postgres(url) => carillon_store_postgres::PostgresStore::connect(url).await.map(|s| Arc::new(s) as Arc<dyn Store>),
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

pub async fn run(config: Config) -> Result<(), String> {
    let auth = load_auth(&config)?;
    let store = open_store(&config.database).await?;
    let clock = Clock::default();
    clock.set_offset_ms(config.clock_offset_secs.saturating_mul(1000));
    let service = Service::new(store.clone(), config.quotas.clone(), clock).await.map_err(|e| format!("cannot start the service: {e}"))?;
    let listener = TcpListener::bind(config.listen).await.map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| format!("cannot read the listening address: {e}"))?;
    let request_timeout = Duration::from_secs(config.request_timeout_secs);
    let app = Arc::new(App {
        service: service.clone(),
        auth,
        quiet: config.quiet,
        throttle: config.throttle.then(crate::throttle::Throttle::default),
        body_timeout: request_timeout,
        draining: Default::default(),
    });
    let connections = Arc::new(tokio::sync::Semaphore::new(config.max_connections));

    let sweeper = tokio::spawn(sweep_loop(service.clone(), Duration::from_secs(config.sweep_interval_secs)));
    // One write, so that whoever waits for this line never reads half of it.
    let line = format!("carillon: listening on http://{addr} (store: {}, auth: {:?})\n", store.kind(), config.auth);
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());

    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(request_timeout)
        .max_headers(MAX_HEADERS)
        .max_buf_size(MAX_HEADER_BYTES)
        .half_close(true)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        // A connection is accepted only when a slot is free; the others wait in the backlog.
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => break },
            _ = &mut shutdown => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let conn = builder.serve_connection(TokioIo::new(stream), service_fn(move |req| handle(app.clone(), req)));
                let watched = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = watched.await;
                    drop(permit);
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    eprintln!("carillon: shutting down, finishing requests in flight");
    // For a moment, keep-alive connections go on being served, each answer closing its connection:
    // a request a client sent just before the signal is answered, not cut off as if idle.
    app.draining.store(true, std::sync::atomic::Ordering::Relaxed);
    tokio::time::sleep(DRAIN_GRACE).await;
    sweeper.abort();
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
    store.close().await;
    eprintln!("carillon: stopped");
    Ok(())
}

async fn sweep_loop(service: Service, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if let Err(e) = service.sweep_expired_users().await {
            eprintln!("carillon: expiration sweep failed: {e}");
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
