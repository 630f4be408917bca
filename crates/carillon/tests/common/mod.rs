//! Starts the real `carillon serve` on 127.0.0.1:0 and builds aws-sdk-chimesdkidentity clients
//! pointed at it.
#![allow(dead_code)]

use aws_credential_types::Credentials;
use aws_sdk_chimesdkidentity::Client;
use aws_sdk_chimesdkidentity::config::{BehaviorVersion, Region};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub db: PathBuf,
    /// The `--database` URL the server runs on.
    pub database: String,
    extra: Vec<String>,
    postgres: Option<PostgresDb>,
    _dir: tempfile::TempDir,
}

/// With `CARILLON_TEST_BACKEND=postgres`, every server runs on a fresh PostgreSQL database made on
/// the server that `CARILLON_TEST_POSTGRES_URL` names (with `psql`), dropped afterwards.
pub struct PostgresDb {
    admin_url: String,
    name: String,
}

impl PostgresDb {
    fn create() -> Option<(PostgresDb, String)> {
        if std::env::var("CARILLON_TEST_BACKEND").ok().as_deref() != Some("postgres") {
            return None;
        }
        assert!(std::env::var("CARILLON_TEST_POSTGRES_URL").is_ok(), "CARILLON_TEST_BACKEND=postgres needs CARILLON_TEST_POSTGRES_URL");
        Self::fresh()
    }

    /// A fresh database on the server CARILLON_TEST_POSTGRES_URL names, and its URL; `None`
    /// when the variable is not set.
    pub fn fresh() -> Option<(PostgresDb, String)> {
        let admin_url = std::env::var("CARILLON_TEST_POSTGRES_URL").ok()?;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!("carillon_sdk_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        psql(&admin_url, &format!("CREATE DATABASE {name}"));
        let (base, _) = admin_url.rsplit_once('/').expect("a database URL");
        let url = format!("{base}/{name}");
        Some((PostgresDb { admin_url, name }, url))
    }
}

impl Drop for PostgresDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .arg(&self.admin_url)
            .arg("-qc")
            .arg(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .output();
    }
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql").arg(url).arg("-qc").arg(sql).output().expect("run psql");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Server {
    /// A server on a fresh SQLite file.
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    /// A server in sigv4 mode that knows one credential per account: access key id = the account
    /// id, secret = [`secret_of`] it.
    pub fn start_sigv4(accounts: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let creds = dir.path().join("credentials");
        let lines: String = accounts.iter().map(|a| format!("{a}:{}:{a}\n", secret_of(a))).collect();
        std::fs::write(&creds, format!("# test credentials\n{lines}")).unwrap();
        let creds = creds.display().to_string();
        Self::start_in(dir, &["--auth", "sigv4", "--credentials", &creds])
    }

    pub fn start_with(extra: &[&str]) -> Server {
        Self::start_in(tempfile::tempdir().expect("temp dir"), extra)
    }

    /// A server on the given `--database` URL (several may share one PostgreSQL database).
    pub fn start_on(database: &str, extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (child, url) = spawn(database, &extra);
        Server { child: Some(child), url, db: dir.path().join("unused"), database: database.to_string(), extra, postgres: None, _dir: dir }
    }

    fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Server {
        let db = dir.path().join("carillon.db");
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (postgres, database) = match PostgresDb::create() {
            Some((pg, url)) => (Some(pg), url),
            None => (None, format!("sqlite://{}", db.display())),
        };
        let (child, url) = spawn(&database, &extra);
        Server { child: Some(child), url, db, database, extra, postgres, _dir: dir }
    }

    /// Stops the server with SIGTERM and waits; returns its exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        child.wait().ok().and_then(|s| s.code())
    }

    /// Stops it and starts it again on the same database.
    pub fn restart(&mut self) {
        assert_eq!(self.stop(), Some(0), "a clean stop exits 0");
        let (child, url) = spawn(&self.database, &self.extra);
        self.child = Some(child);
        self.url = url;
    }

    /// A client for the 12-digit account `account` in `region`.
    pub fn client_for(&self, account: &str, region: &str) -> Client {
        self.client_with(account, &secret_of(account), region)
    }

    /// A client with the given access key id and secret.
    pub fn client_with(&self, access_key: &str, secret: &str, region: &str) -> Client {
        let creds = Credentials::new(access_key, secret, None, None, "test");
        let http = aws_smithy_http_client::Builder::new().build_http();
        let config = aws_sdk_chimesdkidentity::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .credentials_provider(creds)
            .endpoint_url(&self.url)
            .http_client(http)
            .retry_config(aws_sdk_chimesdkidentity::config::retry::RetryConfig::disabled())
            .build();
        Client::from_conf(config)
    }

    /// A client for a fresh account of its own, in us-east-1.
    pub fn client(&self) -> (Client, String) {
        let account = fresh_account();
        (self.client_for(&account, "us-east-1"), account)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.postgres.take();
    }
}

/// Writes a line to the terminal past the test harness's capture (for CI to see which suites ran).
pub fn say(line: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(format!("\n{line}\n").as_bytes());
}

/// The secret the sigv4 test servers configure for an account's access key.
pub fn secret_of(account: &str) -> String {
    format!("secret/{account}+key")
}

/// A 12-digit account id no other test of this process uses.
pub fn fresh_account() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:06}{:06}", std::process::id() % 1_000_000, n)
}

fn spawn(database: &str, extra: &[String]) -> (Child, String) {
    let bin = env!("CARGO_BIN_EXE_carillon");
    let mut child = Command::new(bin)
        .arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--database")
        .arg(database)
        .arg("--quiet")
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start carillon");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent && let Some(i) = line.find("listening on ") {
                let url = line[i + "listening on ".len()..].split_whitespace().next().unwrap_or_default().to_string();
                let _ = tx.send(url);
                sent = true;
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(20)).expect("carillon prints its listening line");
    (child, url)
}

/// The modeled error code of an SDK error (e.g. `NotFoundException`) and the HTTP status.
pub fn error_of<E>(
    err: &aws_sdk_chimesdkidentity::error::SdkError<E, aws_sdk_chimesdkidentity::config::http::HttpResponse>,
) -> (String, u16)
where
    E: aws_sdk_chimesdkidentity::error::ProvideErrorMetadata + std::fmt::Debug,
{
    use aws_sdk_chimesdkidentity::error::SdkError;
    match err {
        SdkError::ServiceError(se) => (se.err().code().unwrap_or("<none>").to_string(), se.raw().status().as_u16()),
        other => panic!("expected a service error, got {other:?}"),
    }
}

/// The error message of an SDK service error.
pub fn message_of<E>(err: &aws_sdk_chimesdkidentity::error::SdkError<E, aws_sdk_chimesdkidentity::config::http::HttpResponse>) -> String
where
    E: aws_sdk_chimesdkidentity::error::ProvideErrorMetadata + std::fmt::Debug,
{
    use aws_sdk_chimesdkidentity::error::SdkError;
    match err {
        SdkError::ServiceError(se) => se.err().message().unwrap_or_default().to_string(),
        other => panic!("expected a service error, got {other:?}"),
    }
}

pub fn pinpoint_arn(account: &str, region: &str) -> String {
    format!("arn:aws:mobiletargeting:{region}:{account}:apps/0123456789abcdef0123456789abcdef")
}
