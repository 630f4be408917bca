//! Connection slots under idle clients (docs/behaviour.md, "Limits"): a connection that has not sent
//! a complete request head within `--header-timeout` is closed, and at `--max-connections` idle
//! connections are closed first, so that health checks and new clients are still served while
//! more idle connections are held than there are slots.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use carillon_testing::TestServer;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The soft limit on open files of this process (the test holds two descriptors per connection).
fn open_files_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap_or_default();
    line.split_whitespace().nth(3).and_then(|v| v.parse().ok()).unwrap_or(u64::MAX)
}

/// `GET /_carillon/health` on a new connection: the status (0 when unanswered within 5 s) and how
/// long the answer took.
fn health(server: &TestServer) -> (u16, Duration) {
    let t = Instant::now();
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /_carillon/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let status = String::from_utf8_lossy(&out).get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, t.elapsed())
}

#[test]
fn health_and_new_clients_are_served_while_1100_idle_connections_are_held() {
    let limit = open_files_limit();
    assert!(limit >= 4096, "this test holds about 2,300 descriptors; raise `ulimit -n` (now {limit})");
    let server = TestServer::start();
    assert_eq!(server.config().max_connections, 1024);
    let mut held = Vec::new();
    // 500 keep-alive connections that made one request and went idle...
    for _ in 0..500 {
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET /_carillon/health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(s);
    }
    // ...and 600 that never sent a byte.
    for _ in 0..600 {
        held.push(TcpStream::connect(server.addr()).unwrap());
    }
    let mut latencies = Vec::new();
    for _ in 0..5 {
        let (status, took) = health(&server);
        assert_eq!(status, 200, "health unanswered after {took:?} with 1,100 idle connections held");
        latencies.push(took);
    }
    println!("health latency with 1,100 idle connections held: {latencies:?}");
    assert!(latencies.iter().all(|l| *l < Duration::from_secs(2)), "{latencies:?}");
    drop(held);
}

#[test]
fn a_connection_without_a_complete_request_head_is_closed_after_the_header_timeout() {
    let server = TestServer::start();
    let t = Instant::now();
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"GET /_carillon/health HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let took = t.elapsed();
    println!("an incomplete request head was cut off after {took:?}");
    assert!(took >= Duration::from_secs(9) && took < Duration::from_secs(13), "closed after {took:?}, not the 10 s header timeout");
}
