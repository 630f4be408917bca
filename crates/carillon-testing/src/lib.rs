//! The one test harness for Carillon.
//!
//! - [`TestServer`] (feature `in-process`, on by default) runs the server in this process on
//!   `127.0.0.1:0`, on a fresh SQLite file, or on a fresh PostgreSQL database when
//!   `CARILLON_TEST_BACKEND=postgres` (the server is named by `CARILLON_TEST_POSTGRES_URL`).
//!   Tests of API behaviour use it.
//! - [`ServerProcess`] runs a server binary as a child process, for tests and tools where the
//!   process is the point: signals, SIGKILL, start-up errors, a second process.
//! - [`client`] and friends (feature `sdk`) build aws-sdk-chimesdkidentity clients for either.
//!
//! With `default-features = false` only the process and PostgreSQL helpers remain, with no
//! dependency beyond the standard library.

// A harness fails the test that uses it by panicking, with the reason.
#![allow(clippy::panic)]

mod postgres;
mod process;
#[cfg(feature = "sdk")]
mod sdk;
#[cfg(feature = "in-process")]
mod server;

pub use postgres::PostgresDb;
pub use process::{Exit, Launch, ServerProcess, signal};
#[cfg(feature = "sdk")]
pub use sdk::{client, client_config, client_with, error_of, health, message_of, messaging_client};
#[cfg(feature = "in-process")]
pub use server::{Builder, TestServer};

use std::sync::atomic::{AtomicU64, Ordering};

/// Writes a line to the terminal past the test harness's capture (for CI to see which suites ran).
pub fn say(line: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(format!("\n{line}\n").as_bytes());
}

/// The secret the sigv4 test servers configure for an account's access key (the access key id
/// is the account id).
pub fn secret_of(account: &str) -> String {
    format!("secret/{account}+key")
}

/// A 12-digit account id no other caller in this process gets.
pub fn fresh_account() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:06}{:06}", std::process::id() % 1_000_000, n)
}

/// The ARN of a Pinpoint application of `account` in `region`, as endpoints need.
pub fn pinpoint_arn(account: &str, region: &str) -> String {
    format!("arn:aws:mobiletargeting:{region}:{account}:apps/0123456789abcdef0123456789abcdef")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_accounts_are_twelve_digits_and_distinct() {
        let (a, b) = (fresh_account(), fresh_account());
        assert_ne!(a, b);
        for x in [&a, &b] {
            assert_eq!(x.len(), 12, "{x}");
            assert!(x.bytes().all(|c| c.is_ascii_digit()), "{x}");
        }
    }
}
