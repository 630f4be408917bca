//! aws-sdk-chimesdkidentity and aws-sdk-chimesdkmessaging clients pointed at a test server, and
//! readers of their errors.

use aws_credential_types::Credentials;
use aws_sdk_chimesdkidentity::Client;
use aws_sdk_chimesdkidentity::config::http::HttpResponse;
use aws_sdk_chimesdkidentity::config::retry::RetryConfig;
use aws_sdk_chimesdkidentity::config::{BehaviorVersion, Region};
use aws_sdk_chimesdkidentity::error::{ProvideErrorMetadata, SdkError};
use std::time::Duration;

/// The configuration of a client at `url` with the given access key and secret, in `region`, with
/// retries off (a test sees every answer). Add to it (timeouts...) and build.
pub fn client_config(url: &str, access_key: &str, secret: &str, region: &str) -> aws_sdk_chimesdkidentity::config::Builder {
    aws_sdk_chimesdkidentity::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(access_key, secret, None, None, "carillon-testing"))
        .endpoint_url(url)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(RetryConfig::disabled())
}

/// A client at `url` for the 12-digit account `account` in `region`: its access key id is the
/// account id and its secret [`secret_of`](crate::secret_of) it, as the sigv4 test servers know.
pub fn client(url: &str, account: &str, region: &str) -> Client {
    Client::from_conf(client_config(url, account, &crate::secret_of(account), region).build())
}

/// A Chime SDK Messaging client at `url` for the 12-digit account `account` in `region` (the same
/// listener serves both services), with retries off.
pub fn messaging_client(url: &str, account: &str, region: &str) -> aws_sdk_chimesdkmessaging::Client {
    let config = aws_sdk_chimesdkmessaging::Config::builder()
        .behavior_version(aws_sdk_chimesdkmessaging::config::BehaviorVersion::latest())
        .region(aws_sdk_chimesdkmessaging::config::Region::new(region.to_string()))
        .credentials_provider(Credentials::new(account, crate::secret_of(account), None, None, "carillon-testing"))
        .endpoint_url(url)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(aws_sdk_chimesdkmessaging::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_chimesdkmessaging::Client::from_conf(config)
}

/// A client at `url` with the given access key id and secret, in `region`.
pub fn client_with(url: &str, access_key: &str, secret: &str, region: &str) -> Client {
    Client::from_conf(client_config(url, access_key, secret, region).build())
}

/// The modeled error code of an SDK error (e.g. `NotFoundException`) and the HTTP status. Panics
/// on an error that is not an answer of the service.
pub fn error_of<E: ProvideErrorMetadata + std::fmt::Debug>(err: &SdkError<E, HttpResponse>) -> (String, u16) {
    match err {
        SdkError::ServiceError(se) => (se.err().code().unwrap_or("<none>").to_string(), se.raw().status().as_u16()),
        other => panic!("expected a service error, got {other:?}"),
    }
}

/// The message of an SDK service error. Panics on an error that is not an answer of the service.
pub fn message_of<E: ProvideErrorMetadata + std::fmt::Debug>(err: &SdkError<E, HttpResponse>) -> String {
    match err {
        SdkError::ServiceError(se) => se.err().message().unwrap_or_default().to_string(),
        other => panic!("expected a service error, got {other:?}"),
    }
}

/// `GET /_carillon/health` on a connection of its own: (status, body), or (0, "") when the server
/// does not answer within 10 s.
pub async fn health(url: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://").trim_end_matches('/').to_string();
    let ask = async {
        let mut s = tokio::net::TcpStream::connect(&addr).await.ok()?;
        s.write_all(format!("GET /_carillon/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await.ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.ok()?;
        Some(String::from_utf8_lossy(&buf).into_owned())
    };
    let Ok(Some(text)) = tokio::time::timeout(Duration::from_secs(10), ask).await else { return (0, String::new()) };
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}
