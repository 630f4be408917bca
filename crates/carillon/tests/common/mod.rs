//! Starts the real `carillon serve` on 127.0.0.1:0 and builds aws-sdk-chimesdkidentity clients
//! pointed at it.
#![allow(dead_code)]

use aws_credential_types::Credentials;
use aws_sdk_chimesdkidentity::Client;
use aws_sdk_chimesdkidentity::config::{BehaviorVersion, Region};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub db: PathBuf,
    extra: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// A server on a fresh SQLite file.
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("carillon.db");
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (child, url) = spawn(&db, &extra);
        Server { child: Some(child), url, db, extra, _dir: dir }
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
        let (child, url) = spawn(&self.db, &self.extra);
        self.child = Some(child);
        self.url = url;
    }

    /// A client for the 12-digit account `account` in `region`.
    pub fn client_for(&self, account: &str, region: &str) -> Client {
        let creds = Credentials::new(account, "not-checked-in-open-mode", None, None, "test");
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
    }
}

/// A 12-digit account id no other test of this process uses.
pub fn fresh_account() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:06}{:06}", std::process::id() % 1_000_000, n)
}

fn spawn(db: &Path, extra: &[String]) -> (Child, String) {
    let bin = env!("CARGO_BIN_EXE_carillon");
    let mut child = Command::new(bin)
        .arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--database")
        .arg(format!("sqlite://{}", db.display()))
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
            if !sent {
                if let Some(i) = line.find("listening on ") {
                    let url = line[i + "listening on ".len()..].split_whitespace().next().unwrap_or_default().to_string();
                    let _ = tx.send(url);
                    sent = true;
                }
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(20)).expect("carillon prints its listening line");
    (child, url)
}

/// The modeled error code of an SDK error (e.g. `NotFoundException`) and the HTTP status.
pub fn error_of<E>(err: &aws_sdk_chimesdkidentity::error::SdkError<E, aws_sdk_chimesdkidentity::config::http::HttpResponse>) -> (String, u16)
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
