//! Carillon in this process, on a tokio runtime of its own.
//!
//! The runtime lives on a thread of the harness, not on the test's runtime: the server outlives
//! whatever runtime the test uses, a test that blocks its own threads cannot starve it, and it is
//! dropped where dropping a runtime is allowed.

use aws_sdk_chimesdkidentity::Client;
use carillon::config::{AuthMode, Config, Database};
use carillon_service::Service;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::PostgresDb;

/// The worker threads of a test server's runtime, unless the configuration says otherwise.
const THREADS: usize = 2;

/// How a [`TestServer`] is set up; [`Builder::start`] starts it.
pub struct Builder {
    config: Config,
    sigv4: Option<Vec<String>>,
    /// (access key id, secret, account) of each operator's credential.
    operators: Vec<(String, String, String)>,
    database: Option<String>,
    seed: Option<std::path::PathBuf>,
}

impl Builder {
    /// Sigv4 mode with one credential per account: access key id the account id, secret
    /// [`secret_of`](crate::secret_of) it.
    pub fn sigv4(mut self, accounts: &[&str]) -> Builder {
        self.sigv4 = Some(accounts.iter().map(|a| a.to_string()).collect());
        self
    }

    /// Sigv4 mode with an operator's credential (`docs/behaviour.md`, "Accounts, regions and
    /// signatures": the `admin` field): access key id `key`, secret `secret`, of the 12-digit
    /// `account`. It may use the control plane and is an ordinary caller of its account. Adds to
    /// the accounts of [`Builder::sigv4`], in either order.
    pub fn operator(mut self, key: &str, secret: &str, account: &str) -> Builder {
        self.sigv4.get_or_insert_with(Vec::new);
        self.operators.push((key.to_string(), secret.to_string(), account.to_string()));
        self
    }

    /// Runs on the database `url` names (`sqlite://PATH` or `postgres://...`), which the harness
    /// neither makes nor drops: several servers may share one PostgreSQL database.
    pub fn database(mut self, url: &str) -> Builder {
        self.database = Some(url.to_string());
        self
    }

    /// Runs on an in-memory SQLite database: the fastest start, nothing on disk, gone with the
    /// server (a [`TestServer::restart`] starts empty).
    pub fn in_memory(self) -> Builder {
        self.database("sqlite::memory:")
    }

    /// Applies the seed file `path` (JSON or YAML, `docs/behaviour.md`, "State and seeds") at
    /// start, and again at each restart.
    pub fn seed(mut self, path: impl Into<std::path::PathBuf>) -> Builder {
        self.seed = Some(path.into());
        self
    }

    /// Changes the configuration (quotas, throttle, clock offset, timeouts...). The listening
    /// address and the database are the harness's.
    pub fn config(mut self, change: impl FnOnce(&mut Config)) -> Builder {
        change(&mut self.config);
        self
    }

    /// Starts the server; panics when it cannot.
    pub fn start(self) -> TestServer {
        self.try_start().unwrap_or_else(|e| panic!("cannot start the test server: {e}"))
    }

    pub fn try_start(self) -> Result<TestServer, String> {
        let dir = tempfile::Builder::new().prefix("carillon-test-").tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let mut config = self.config;
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut postgres = None;
        let database = match self.database {
            Some(url) => url,
            None if PostgresDb::wanted() => {
                let pg = PostgresDb::fresh().ok_or("CARILLON_TEST_POSTGRES_URL is not set")?;
                let url = pg.url().to_string();
                postgres = Some(pg);
                url
            }
            None => format!("sqlite://{}", dir.path().join("carillon.db").display()),
        };
        config.database = carillon::config::parse_database(&database)?;
        if let Some(path) = &self.seed {
            config.seed = Some(carillon::config::Seed::read(path)?);
        }
        if let Some(accounts) = self.sigv4 {
            let path = dir.path().join("credentials");
            let mut lines: String = accounts.iter().map(|a| format!("{a}:{}:{a}\n", crate::secret_of(a))).collect();
            for (key, secret, account) in &self.operators {
                lines.push_str(&format!("{key}:{secret}:{account}:admin\n"));
            }
            std::fs::write(&path, format!("# test credentials\n{lines}")).map_err(|e| format!("{}: {e}", path.display()))?;
            config.auth = AuthMode::Sigv4;
            config.credentials = Some(path);
        }
        let node = Node::start(config.clone())?;
        Ok(TestServer { node: Some(node), config, database, _postgres: postgres, dir })
    }
}

/// Carillon serving in this process on `127.0.0.1:0`: on a fresh SQLite file in a temporary
/// directory, or with `CARILLON_TEST_BACKEND=postgres` on a fresh PostgreSQL database (dropped
/// afterwards). Dropping it stops the server at once, as a kill would, and removes what the
/// harness made; [`TestServer::shutdown`] and [`TestServer::restart`] stop it gracefully.
pub struct TestServer {
    node: Option<Node>,
    config: Config,
    database: String,
    // Dropped after the node: the server is gone before its database is.
    _postgres: Option<PostgresDb>,
    dir: tempfile::TempDir,
}

impl TestServer {
    /// A server with the defaults, open authentication.
    pub fn start() -> TestServer {
        TestServer::builder().start()
    }

    /// A server in sigv4 mode that knows one credential per account (see [`Builder::sigv4`]).
    pub fn start_sigv4(accounts: &[&str]) -> TestServer {
        TestServer::builder().sigv4(accounts).start()
    }

    pub fn builder() -> Builder {
        Builder { config: Config::default(), sigv4: None, operators: Vec::new(), database: None, seed: None }
    }

    fn node(&self) -> &Node {
        match &self.node {
            Some(n) => n,
            None => panic!("the test server is stopped"),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.node().addr
    }

    /// `http://ADDR`, the endpoint URL for clients. It changes on a restart.
    pub fn url(&self) -> String {
        format!("http://{}", self.node().addr)
    }

    /// The service behind the API, on the same store.
    pub fn service(&self) -> &Service {
        &self.node().service
    }

    /// The URL of the database it runs on.
    pub fn database_url(&self) -> &str {
        &self.database
    }

    /// The SQLite file it runs on, if it runs on one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.config.database {
            Database::SqliteFile(p) => Some(p),
            _ => None,
        }
    }

    /// A directory of this server's that lives as long as it.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Shuts down gracefully (requests in flight answered, the store closed) and starts again on
    /// the same database and configuration, on a new port.
    pub fn restart(&mut self) {
        if let Some(node) = self.node.take() {
            node.shutdown();
        }
        self.node = Some(Node::start(self.config.clone()).unwrap_or_else(|e| panic!("cannot start the test server again: {e}")));
    }

    /// Shuts down gracefully, then removes what the harness made.
    pub fn shutdown(mut self) {
        if let Some(node) = self.node.take() {
            node.shutdown();
        }
    }

    /// A client for the 12-digit account `account` in `region`.
    pub fn client_for(&self, account: &str, region: &str) -> Client {
        crate::client(&self.url(), account, region)
    }

    /// A Chime SDK Messaging client for the 12-digit account `account` in `region`.
    pub fn messaging_client_for(&self, account: &str, region: &str) -> aws_sdk_chimesdkmessaging::Client {
        crate::messaging_client(&self.url(), account, region)
    }

    /// A client with the given access key id and secret.
    pub fn client_with(&self, access_key: &str, secret: &str, region: &str) -> Client {
        crate::client_with(&self.url(), access_key, secret, region)
    }

    /// A client for a fresh account of its own, in us-east-1, and that account.
    pub fn client(&self) -> (Client, String) {
        let account = crate::fresh_account();
        (self.client_for(&account, "us-east-1"), account)
    }

    /// Calls the control plane in process (no HTTP, no signature needed in sigv4 mode) and reads
    /// its JSON answer; panics with the error the path would answer.
    async fn control(&self, method: &str, path: &str, query: Option<&str>, body: serde_json::Value) -> serde_json::Value {
        let body = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
        match self.node().plane.call(method, path, query, &body).await {
            Ok(answer) => serde_json::from_slice(&answer).unwrap_or_else(|e| panic!("{method} {path}: not JSON: {e}")),
            Err(e) => panic!("{method} {path}: {} {}: {}", e.status(), e.kind.type_name(), e.message),
        }
    }

    /// Deletes every resource, and sets the clock offset to 0 and removes the fault rules:
    /// `POST /_carillon/reset`. Answers the counts per kind (`{"Deleted": {...}}`).
    pub async fn reset(&self) -> serde_json::Value {
        self.control("POST", "/_carillon/reset", None, serde_json::Value::Null).await
    }

    /// Deletes the resources of one scope (`{"Account": ...}`, `{"Region": ...}`,
    /// `{"AppInstanceArn": ...}`), keeping the clock and the faults.
    pub async fn reset_scope(&self, scope: serde_json::Value) -> serde_json::Value {
        self.control("POST", "/_carillon/reset", None, scope).await
    }

    /// Creates what the seed file `path` declares and is missing, as `--seed` does at start.
    /// Answers the counts per kind created.
    pub async fn seed(&self, path: &Path) -> serde_json::Value {
        let seed = carillon::config::Seed::read(path).unwrap_or_else(|e| panic!("{e}"));
        match self.node().plane.seed(seed.document).await {
            Ok(created) => created,
            Err(e) => panic!("the seed {} was not applied: {}", path.display(), e.message),
        }
    }

    /// The request journal, newest first: `GET /_carillon/requests` with `query`
    /// (`operation=...&status=...&account=...&limit=...`, or `""` for the last 100).
    pub async fn journal(&self, query: &str) -> Vec<serde_json::Value> {
        let answer = self.control("GET", "/_carillon/requests", Some(query).filter(|q| !q.is_empty()), serde_json::Value::Null).await;
        match answer.get("Requests") {
            Some(serde_json::Value::Array(entries)) => entries.clone(),
            _ => panic!("the journal answered {answer}"),
        }
    }

    /// All state as one document: `GET /_carillon/state`.
    pub async fn state(&self) -> serde_json::Value {
        self.control("GET", "/_carillon/state", None, serde_json::Value::Null).await
    }

    /// The push outbox, oldest first: `GET /_carillon/push-outbox` with `query`
    /// (`channel-arn=...&recipient-arn=...&message-id=...&after-id=...`, or `""` for every entry).
    pub async fn push_outbox(&self, query: &str) -> Vec<serde_json::Value> {
        let answer = self.control("GET", "/_carillon/push-outbox", Some(query).filter(|q| !q.is_empty()), serde_json::Value::Null).await;
        match answer.get("Entries") {
            Some(serde_json::Value::Array(entries)) => entries.clone(),
            _ => panic!("the push outbox answered {answer}"),
        }
    }

    /// Makes later pushes to a device token or a Pinpoint application fail as Pinpoint's would:
    /// `PUT /_carillon/push-failures` with `marker` (`{"DeviceToken": ..., "StatusReason":
    /// "INVALID_DEVICE_TOKEN"}` or `{"ResourceArn": ..., "StatusReason": "INVALID_PINPOINT_ARN"}`).
    /// Answers the marker.
    pub async fn fail_pushes(&self, marker: serde_json::Value) -> serde_json::Value {
        self.control("PUT", "/_carillon/push-failures", None, marker).await
    }

    /// Moves the service clock `seconds` from real time: `PUT /_carillon/clock`.
    pub async fn set_clock_offset(&self, seconds: i64) {
        self.control("PUT", "/_carillon/clock", None, serde_json::json!({ "offset_seconds": seconds })).await;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(node) = self.node.take() {
            node.stop();
        }
    }
}

/// One start of the server: the thread that owns its runtime, and what it reported.
struct Node {
    addr: SocketAddr,
    service: Service,
    /// The control plane, called in process.
    plane: carillon::ControlPlane,
    /// Told to shut down gracefully; dropped, it stops the server at once.
    control: mpsc::Sender<mpsc::Sender<()>>,
    thread: JoinHandle<()>,
}

impl Node {
    fn start(config: Config) -> Result<Node, String> {
        let threads = config.threads.unwrap_or(THREADS);
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(SocketAddr, Service, carillon::ControlPlane), String>>();
        let (control, orders) = mpsc::channel::<mpsc::Sender<()>>();
        let thread = std::thread::Builder::new()
            .name("carillon-test-server".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(threads)
                    .thread_name("carillon-test")
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("cannot build the runtime: {e}")));
                        return;
                    }
                };
                let running = match runtime.block_on(carillon::start(config)) {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok((running.addr(), running.service().clone(), running.control_plane().clone())));
                match orders.recv() {
                    Ok(done) => {
                        runtime.block_on(running.shutdown());
                        runtime.shutdown_timeout(Duration::from_secs(10));
                        let _ = done.send(());
                    }
                    Err(_) => {
                        // Every task is dropped where it stands, the store with the last of them.
                        drop(running);
                        runtime.shutdown_timeout(Duration::from_secs(10));
                    }
                }
            })
            .map_err(|e| format!("cannot start the server thread: {e}"))?;
        match ready_rx.recv() {
            Ok(Ok((addr, service, plane))) => Ok(Node { addr, service, plane, control, thread }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err("the server thread ended before it reported".into())
            }
        }
    }

    fn shutdown(self) {
        let (done, finished) = mpsc::channel();
        if self.control.send(done).is_ok() {
            let _ = finished.recv();
        }
        let _ = self.thread.join();
    }

    fn stop(self) {
        drop(self.control);
        let _ = self.thread.join();
    }
}
