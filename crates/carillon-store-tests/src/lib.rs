//! The harness of Carillon's backend-agnostic storage test suite (`tests/store.rs`).
//!
//! Every test of the suite runs once per backend, each time on a store of its own:
//!
//! - `sqlite_file`: a SQLite database in a fresh temporary directory;
//! - `sqlite_memory`: an in-memory SQLite database;
//! - `postgres`: a fresh PostgreSQL database (`CREATE DATABASE carillon_test_<random>`, dropped
//!   when the test ends) on the server that `CARILLON_TEST_POSTGRES_URL` names, e.g.
//!   `postgres://postgres@127.0.0.1:5432/test`. When the variable is unset or empty, each
//!   PostgreSQL test prints `SKIPPED postgres test <name>: CARILLON_TEST_POSTGRES_URL is not set`
//!   on the terminal (past the test harness's output capture) and passes; when it is set and the
//!   server cannot be reached, the test fails. Each PostgreSQL test that passed prints
//!   `storage suite on postgres: ok postgres::<name>`, which `scripts/test` looks for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // the storage suite is a test harness: a failed expectation is a failed test

use carillon_store::*;
use carillon_store_postgres::{PostgresStore, redact};
use carillon_store_sqlite::{Location, SqliteStore};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

/// The variable naming the PostgreSQL server of the `postgres` tests.
pub const POSTGRES_URL_VAR: &str = "CARILLON_TEST_POSTGRES_URL";

/// Says on the terminal that a PostgreSQL test ran and passed, as
/// `storage suite on postgres: ok postgres::<test>`: CI counts these lines to tell that the
/// PostgreSQL tests did run (when they are skipped, `SKIPPED postgres test ...` lines appear
/// instead).
pub fn passed(kind: Kind, test: &str) {
    if kind == Kind::Postgres {
        let line = format!("\nstorage suite on postgres: ok postgres::{test}\n");
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SqliteFile,
    SqliteMemory,
    Postgres,
}

/// A store under test, and what it needs to be reopened and cleaned up.
pub struct Backend {
    pub kind: Kind,
    store: Arc<dyn Store>,
    /// The SQLite file's directory, removed at the end.
    dir: Option<TempDir>,
    /// The PostgreSQL database, dropped at the end.
    pg: Option<PgDatabase>,
}

impl Backend {
    /// A SQLite database in a new temporary directory.
    pub async fn sqlite_file(_test: &str) -> Option<Backend> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = SqliteStore::open(Location::File(dir.path().join("carillon.db"))).expect("open the SQLite store");
        Some(Backend { kind: Kind::SqliteFile, store: Arc::new(store), dir: Some(dir), pg: None })
    }

    /// An in-memory SQLite database.
    pub async fn sqlite_memory(_test: &str) -> Option<Backend> {
        let store = SqliteStore::open(Location::Memory).expect("open the in-memory SQLite store");
        Some(Backend { kind: Kind::SqliteMemory, store: Arc::new(store), dir: None, pg: None })
    }

    /// A fresh PostgreSQL database, or `None` (after saying so) when no server is configured.
    pub async fn postgres(test: &str) -> Option<Backend> {
        let db = PgDatabase::create(test).await?;
        let store = PostgresStore::connect(&db.url)
            .await
            .unwrap_or_else(|e| panic!("cannot open the PostgreSQL store on {}: {e}", redact(&db.url)));
        Some(Backend { kind: Kind::Postgres, store: Arc::new(store), dir: None, pg: Some(db) })
    }

    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// The store, to share with spawned tasks.
    pub fn shared(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// The SQLite file of a `sqlite_file` backend.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.path().join("carillon.db"))
    }

    /// The PostgreSQL database of a `postgres` backend.
    pub fn postgres_database(&self) -> Option<&PgDatabase> {
        self.pg.as_ref()
    }

    /// Opens a second store on the same database, leaving the first open.
    pub async fn open_again(&self) -> StoreResult<Arc<dyn Store>> {
        match self.kind {
            Kind::SqliteFile => Ok(Arc::new(SqliteStore::open(Location::File(self.sqlite_path().expect("a file")))?)),
            Kind::SqliteMemory => panic!("an in-memory database cannot be opened again"),
            Kind::Postgres => Ok(Arc::new(PostgresStore::connect(&self.pg.as_ref().expect("a database").url).await?)),
        }
    }

    /// Closes the store and opens the same database again.
    pub async fn reopen(&mut self) {
        self.store.close().await;
        self.store = self.open_again().await.expect("reopen the store");
    }
}

/// A database made for one test on the server of `CARILLON_TEST_POSTGRES_URL`.
pub struct PgDatabase {
    /// The URL of the server's database named by the variable, used to create and drop this one.
    admin_url: String,
    pub name: String,
    /// The URL of this database.
    pub url: String,
}

impl PgDatabase {
    /// Creates a fresh, empty database. `None` (after printing that the test was skipped) when
    /// the variable is unset; panics when the server cannot be reached.
    pub async fn create(test: &str) -> Option<PgDatabase> {
        let admin_url = match std::env::var(POSTGRES_URL_VAR) {
            Ok(url) if !url.trim().is_empty() => url,
            _ => {
                // Straight to the terminal, in one write: the test harness captures `eprintln!`
                // of passing tests.
                let line = format!("\nSKIPPED postgres test postgres::{test}: {POSTGRES_URL_VAR} is not set\n");
                let _ = std::io::stderr().lock().write_all(line.as_bytes());
                return None;
            }
        };
        let name = format!("carillon_test_{}", uuid::Uuid::new_v4().simple());
        let admin = admin_client(&admin_url).await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("cannot create the test database {name} on {}: {e}", redact(&admin_url)));
        let url = with_dbname(&admin_url, &name);
        Some(PgDatabase { admin_url, name, url })
    }

    /// A plain client on this database, to look behind the store's back.
    pub async fn client(&self) -> tokio_postgres::Client {
        admin_client(&self.url).await
    }

    /// Ends every session on this database but the caller's, as a server restart would.
    pub async fn kill_sessions(&self) -> u64 {
        let admin = admin_client(&self.admin_url).await;
        let rows = admin
            .query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", &[&self.name])
            .await
            .expect("terminate the sessions");
        rows.len() as u64
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Drop may run inside the test's runtime, where nothing can block on another future: a
        // thread of its own drops the database.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            rt.block_on(async {
                let admin = admin_client(&admin_url).await;
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            let _ = writeln!(std::io::stderr(), "note: could not drop the test database {}", self.name);
        }
    }
}

/// A TCP proxy in front of the PostgreSQL server that can be made to stop answering, as a server
/// that hangs or a network that drops everything would, and then to recover.
pub struct FlakyProxy {
    pub port: u16,
    cut: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl FlakyProxy {
    /// A proxy to the server of `url`; `None` when that server is reached through a Unix socket.
    pub async fn start(url: &str) -> Option<FlakyProxy> {
        let config: tokio_postgres::Config = url.parse().expect("a PostgreSQL URL");
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => return None,
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let local = listener.local_addr().expect("the proxy's address").port();
        let (cut, cut_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut cut_rx = cut_rx.clone();
                let upstream = format!("{host}:{port}");
                tokio::spawn(async move {
                    let cut_now = *cut_rx.borrow();
                    if cut_now {
                        // Accept, then say nothing until the outage ends.
                        let _ = cut_rx.wait_for(|c| !*c).await;
                        return;
                    }
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else { return };
                    let outage = async {
                        let _ = cut_rx.wait_for(|c| *c).await;
                    };
                    let finished = tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => true,
                        _ = outage => false,
                    };
                    if !finished {
                        // Both sockets stay open and silent; when the outage ends they close.
                        let _ = cut_rx.wait_for(|c| !*c).await;
                    }
                });
            }
        });
        Some(FlakyProxy { port: local, cut, task })
    }

    /// Stops forwarding anything, on open connections and new ones alike.
    pub fn cut(&self) {
        let _ = self.cut.send(true);
    }

    /// Ends the outage: the connections held during it are closed, new ones are forwarded.
    pub fn restore(&self) {
        let _ = self.cut.send(false);
    }

    /// A `key=value` connection string for the database of `url`, through this proxy.
    pub fn url_for(&self, url: &str) -> String {
        let config: tokio_postgres::Config = url.parse().expect("a PostgreSQL URL");
        let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
        let mut out = format!("host=127.0.0.1 port={}", self.port);
        if let Some(user) = config.get_user() {
            out.push_str(&format!(" user={}", quote(user)));
        }
        if let Some(password) = config.get_password() {
            out.push_str(&format!(" password={}", quote(&String::from_utf8_lossy(password))));
        }
        if let Some(db) = config.get_dbname() {
            out.push_str(&format!(" dbname={}", quote(db)));
        }
        out
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn admin_client(url: &str) -> tokio_postgres::Client {
    let mut config: tokio_postgres::Config =
        url.parse().unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR}={} is not a PostgreSQL URL: {e}", redact(url)));
    config.connect_timeout(Duration::from_secs(3));
    let (client, connection) = tokio::time::timeout(Duration::from_secs(5), config.connect(tokio_postgres::NoTls))
        .await
        .unwrap_or_else(|_| panic!("{POSTGRES_URL_VAR}={} is set but the server did not answer", redact(url)))
        .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR}={} is set but the server cannot be reached: {e}", redact(url)));
    tokio::spawn(connection);
    client
}

/// `url` with its database replaced by `dbname`, in either connection string form.
pub fn with_dbname(url: &str, dbname: &str) -> String {
    let Some(i) = url.find("://") else {
        return format!("{url} dbname={dbname}");
    };
    let (scheme, rest) = url.split_at(i + 3);
    let (before_query, query) = match rest.find('?') {
        Some(q) => rest.split_at(q),
        None => (rest, ""),
    };
    let authority_start = before_query.rfind('@').map(|a| a + 1).unwrap_or(0);
    let authority_end = before_query[authority_start..].find('/').map(|p| authority_start + p).unwrap_or(before_query.len());
    format!("{scheme}{}/{dbname}{query}", &before_query[..authority_end])
}

/// Runs a write transaction whose closure fails with plain `StoreError`s.
pub async fn w<R, F>(store: &dyn Store, f: F) -> StoreResult<R>
where
    R: Send + 'static,
    F: FnMut(&mut dyn Tx) -> StoreResult<R> + Send + 'static,
{
    carillon_store::write(store, f).await
}

/// Runs a read transaction whose closure fails with plain `StoreError`s.
pub async fn r<R, F>(store: &dyn Store, f: F) -> StoreResult<R>
where
    R: Send + 'static,
    F: FnMut(&mut dyn Tx) -> StoreResult<R> + Send + 'static,
{
    carillon_store::read(store, f).await
}

// Records for tests. ARNs follow the Chime SDK's shapes.

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

pub fn app_instance_arn(id: &str) -> String {
    format!("arn:aws:chime:{REGION}:{ACCOUNT}:app-instance/{id}")
}

pub fn app_instance(id: &str) -> AppInstanceRecord {
    AppInstanceRecord {
        seq: 0,
        arn: app_instance_arn(id),
        account: ACCOUNT.into(),
        region: REGION.into(),
        name: format!("instance {id}"),
        metadata: Some(format!("metadata of {id}")),
        created_ms: 1_700_000_000_000,
        updated_ms: 1_700_000_000_000,
        retention_days: None,
        retention_set_ms: None,
    }
}

pub fn user(app: &AppInstanceRecord, id: &str) -> UserRecord {
    UserRecord {
        seq: 0,
        arn: format!("{}/user/{id}", app.arn),
        app_instance_arn: app.arn.clone(),
        user_id: id.into(),
        name: format!("user {id}"),
        metadata: None,
        created_ms: 1_700_000_000_001,
        updated_ms: 1_700_000_000_001,
        expiration_days: None,
        expiration_criterion: None,
        expires_at_ms: None,
    }
}

pub fn bot(app: &AppInstanceRecord, id: &str) -> BotRecord {
    BotRecord {
        seq: 0,
        arn: format!("{}/bot/{id}", app.arn),
        app_instance_arn: app.arn.clone(),
        name: Some(format!("bot {id}")),
        metadata: None,
        configuration: r#"{"Lex":{"RespondsTo":"STANDARD_MESSAGES"}}"#.into(),
        created_ms: 1_700_000_000_002,
        updated_ms: 1_700_000_000_002,
    }
}

pub fn admin(app: &AppInstanceRecord, member_arn: &str) -> AdminRecord {
    AdminRecord { seq: 0, app_instance_arn: app.arn.clone(), member_arn: member_arn.into(), created_ms: 1_700_000_000_003 }
}

pub fn endpoint(u: &UserRecord, id: &str, device_token: &str) -> EndpointRecord {
    EndpointRecord {
        seq: 0,
        user_arn: u.arn.clone(),
        endpoint_id: id.into(),
        app_instance_arn: u.app_instance_arn.clone(),
        name: Some(format!("endpoint {id}")),
        endpoint_type: AppInstanceUserEndpointType::Apns,
        resource_arn: "arn:aws:mobiletargeting:us-east-1:123456789012:apps/abc".into(),
        device_token: device_token.into(),
        voip_device_token: None,
        allow_messages: AllowMessages::All,
        status: EndpointStatus::Active,
        status_reason: None,
        created_ms: 1_700_000_000_004,
        updated_ms: 1_700_000_000_004,
    }
}

pub fn tag(key: &str, value: &str) -> Tag {
    Tag { key: key.into(), value: value.into() }
}

pub fn idempotency_key(operation: &str, token: &str) -> IdempotencyKey {
    IdempotencyKey { account: ACCOUNT.into(), region: REGION.into(), operation: operation.into(), token: token.into() }
}

pub fn idempotency(resource_arn: &str, app_instance_arn: &str) -> IdempotencyRecord {
    IdempotencyRecord {
        fingerprint: format!("fingerprint of {resource_arn}"),
        resource_arn: resource_arn.into(),
        app_instance_arn: app_instance_arn.into(),
        response: format!(r#"{{"Arn":"{resource_arn}"}}"#),
        created_ms: 1_700_000_000_005,
    }
}

// Messaging records.

pub fn actor(arn: &str) -> Actor {
    Actor { arn: arn.into(), name: Some(format!("name of {arn}")) }
}

pub fn channel(app: &AppInstanceRecord, id: &str, creator_arn: &str) -> ChannelRecord {
    ChannelRecord {
        seq: 0,
        arn: format!("{}/channel/{id}", app.arn),
        app_instance_arn: app.arn.clone(),
        name: format!("channel {id}"),
        mode: ChannelMode::Unrestricted,
        privacy: ChannelPrivacy::Public,
        metadata: None,
        created_by: actor(creator_arn),
        created_ms: 1_700_000_000_010,
        updated_ms: 1_700_000_000_010,
        last_message_ms: None,
        expiration: None,
    }
}

pub fn membership(c: &ChannelRecord, member_arn: &str, membership_type: ChannelMembershipType) -> MembershipRecord {
    MembershipRecord {
        seq: 0,
        channel_arn: c.arn.clone(),
        app_instance_arn: c.app_instance_arn.clone(),
        member: actor(member_arn),
        membership_type,
        invited_by: c.created_by.clone(),
        created_ms: 1_700_000_000_011,
        updated_ms: 1_700_000_000_011,
        read_marker_ms: None,
        preferences: None,
    }
}

pub fn moderator(c: &ChannelRecord, moderator_arn: &str) -> ModeratorRecord {
    ModeratorRecord {
        seq: 0,
        channel_arn: c.arn.clone(),
        app_instance_arn: c.app_instance_arn.clone(),
        moderator: actor(moderator_arn),
        created_by: c.created_by.clone(),
        created_ms: 1_700_000_000_012,
    }
}

pub fn message(c: &ChannelRecord, id: &str, created_ms: i64, sender_arn: &str) -> MessageRecord {
    MessageRecord {
        seq: 0,
        channel_arn: c.arn.clone(),
        app_instance_arn: c.app_instance_arn.clone(),
        message_id: id.into(),
        message_type: ChannelMessageType::Standard,
        content: Some(format!("content of {id}")),
        metadata: Some(format!("metadata of {id}")),
        content_type: Some("text/plain".into()),
        message_attributes: Some(r#"{"k":{"StringValues":["v"]}}"#.into()),
        sender: actor(sender_arn),
        created_ms,
        updated_ms: created_ms,
        edited_ms: None,
        redacted: false,
    }
}

#[cfg(test)]
mod tests {
    use super::with_dbname;

    #[test]
    fn replaces_the_database() {
        assert_eq!(with_dbname("postgres://postgres@127.0.0.1:5432/test", "x"), "postgres://postgres@127.0.0.1:5432/x");
        assert_eq!(with_dbname("postgres://u:p@h/test?sslmode=disable", "x"), "postgres://u:p@h/x?sslmode=disable");
        assert_eq!(with_dbname("postgres://h:5432", "x"), "postgres://h:5432/x");
        assert_eq!(with_dbname("postgres://u:p/w@h", "x"), "postgres://u:p/w@h/x");
        assert_eq!(with_dbname("host=h user=u", "x"), "host=h user=u dbname=x");
    }
}
