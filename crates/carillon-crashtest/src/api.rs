//! The real aws-sdk-chimesdkidentity and aws-sdk-chimesdkmessaging clients pointed at the server,
//! and the classification of each answer: acknowledged (2xx), rejected (4xx), failed (5xx) or
//! unanswered (no HTTP answer).

use aws_sdk_chimesdkidentity::Client;
use aws_sdk_chimesdkidentity::config::http::HttpResponse;
use aws_sdk_chimesdkidentity::error::{ProvideErrorMetadata, SdkError};
use std::time::Duration;

pub const REGION: &str = "us-east-1";

/// A client for the 12-digit account `account`, no retries, bounded in time.
pub fn client(url: &str, account: &str) -> Client {
    let timeouts = aws_sdk_chimesdkidentity::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_secs(30))
        .build();
    Client::from_conf(carillon_testing::client_config(url, account, "not-checked-in-open-mode", REGION).timeout_config(timeouts).build())
}

/// A Chime SDK Messaging client for `account` on the same listener, no retries, bounded in time.
pub fn messaging(url: &str, account: &str) -> aws_sdk_chimesdkmessaging::Client {
    let timeouts = aws_sdk_chimesdkmessaging::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_secs(30))
        .build();
    let c = carillon_testing::messaging_client(url, account, REGION);
    aws_sdk_chimesdkmessaging::Client::from_conf(c.config().to_builder().timeout_config(timeouts).build())
}

pub fn pinpoint_arn(account: &str) -> String {
    format!("arn:aws:mobiletargeting:{REGION}:{account}:apps/0123456789abcdef0123456789abcdef")
}

/// What became of one request.
#[derive(Debug)]
pub enum Outcome<T> {
    /// 2xx with a parsed response.
    Ok(T),
    /// An HTTP error answer: status and modeled error code.
    Err { status: u16, code: String },
    /// No (complete) HTTP answer: connection refused or reset, timeout, truncated response.
    Unanswered(String),
}

impl<T> Outcome<T> {
    pub fn from_result<E>(r: Result<T, SdkError<E, HttpResponse>>) -> Outcome<T>
    where
        E: ProvideErrorMetadata + std::fmt::Debug,
    {
        match r {
            Ok(v) => Outcome::Ok(v),
            Err(SdkError::ServiceError(se)) => {
                Outcome::Err { status: se.raw().status().as_u16(), code: se.err().code().unwrap_or("<none>").to_string() }
            }
            Err(SdkError::ResponseError(re)) => {
                let status = re.raw().status().as_u16();
                Outcome::Unanswered(format!("unparseable response (HTTP {status})"))
            }
            Err(SdkError::DispatchFailure(d)) => Outcome::Unanswered(format!("dispatch failure: {d:?}")),
            Err(SdkError::TimeoutError(_)) => Outcome::Unanswered("timeout".into()),
            Err(other) => Outcome::Unanswered(format!("{other:?}")),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        match self {
            Outcome::Ok(v) => Outcome::Ok(f(v)),
            Outcome::Err { status, code } => Outcome::Err { status, code },
            Outcome::Unanswered(w) => Outcome::Unanswered(w),
        }
    }

    pub fn is_5xx(&self) -> bool {
        matches!(self, Outcome::Err { status, .. } if *status >= 500)
    }

    pub fn is_404(&self) -> bool {
        matches!(self, Outcome::Err { status: 404, .. })
    }

    pub fn short(&self) -> String {
        match self {
            Outcome::Ok(_) => "2xx".into(),
            Outcome::Err { status, code } => format!("{status} {code}"),
            Outcome::Unanswered(why) => format!("unanswered ({})", why.chars().take(160).collect::<String>()),
        }
    }
}

/// `GET /_carillon/health`: the status code, or None when the server does not answer.
pub async fn health(url: &str) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.strip_prefix("http://")?.trim_end_matches('/').to_string();
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(&addr).await.ok()?;
        s.write_all(format!("GET /_carillon/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await.ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.ok()?;
        let text = String::from_utf8_lossy(&buf);
        text.split_whitespace().nth(1)?.parse::<u16>().ok()
    };
    tokio::time::timeout(Duration::from_secs(10), fut).await.ok().flatten()
}
