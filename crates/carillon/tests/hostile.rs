//! Hostile requests over a real socket: each gets its documented answer (or disconnect), the
//! server keeps serving others meanwhile, and what is stored is unchanged.
//!
//! Documented limits (README, "Limits"): body 1 MiB → 400 BadRequestException without reading
//! further; headers over 64 KiB or 100 → 431 from the HTTP parser, connection closed; request
//! target over 48 KiB → 400; JSON nested deeper than 128 → 400; bytes that are not HTTP → 400 from
//! the parser; a request's headers and body must arrive within --request-timeout, else the
//! connection is closed (headers) or answered 400 and closed (body).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use carillon_testing::TestServer;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Sends raw bytes and reads the answer until the server closes or 10 s pass.
fn raw(server: &TestServer, bytes: &[u8]) -> String {
    raw_with(server, bytes, true)
}

fn raw_with(server: &TestServer, bytes: &[u8], half_close: bool) -> String {
    let addr = server.addr();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(bytes);
    if half_close {
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn status(answer: &str) -> u16 {
    answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// An answer in protocol shape: the status, x-amzn-ErrorType and a JSON body with Code and Message.
fn assert_shaped(answer: &str, status_code: u16, error_type: &str) {
    assert_eq!(status(answer), status_code, "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains(&format!("x-amzn-errortype: {}", error_type.to_ascii_lowercase())), "{answer}");
    assert!(lower.contains("x-amzn-requestid: "), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let length: usize =
        lower.split("content-length: ").nth(1).and_then(|l| l.split("\r\n").next()).and_then(|l| l.parse().ok()).unwrap_or(body.len());
    let body = body.get(..length).unwrap_or(body);
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("JSON body ({e}): {answer}"));
    assert!(v["Code"].is_string() && v["Message"].is_string(), "{body}");
}

fn post(path: &str, body: &[u8]) -> Vec<u8> {
    let mut r =
        format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    r.extend_from_slice(body);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_requests_get_their_documented_answers() {
    let server = TestServer::builder()
        .config(|c| {
            c.request_timeout_secs = 3;
            c.header_timeout_secs = 3;
        })
        .start();
    let (c, _) = server.client();
    let instance = c.create_app_instance().name("kept").metadata("intact").send().await.unwrap().app_instance_arn.unwrap();
    let snapshot = |c: aws_sdk_chimesdkidentity::Client, arn: String| async move {
        let d = c.describe_app_instance().app_instance_arn(&arn).send().await.unwrap().app_instance.unwrap();
        let l = c.list_app_instances().send().await.unwrap();
        (d.name().map(str::to_string), d.metadata().map(str::to_string), d.last_updated_timestamp().copied(), l.app_instances().len())
    };
    let before = snapshot(c.clone(), instance.clone()).await;

    // Meanwhile, a well-behaved client keeps being served.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let bystander = {
        let (c, instance, stop) = (c.clone(), instance.clone(), stop.clone());
        tokio::spawn(async move {
            let mut served = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                c.describe_app_instance().app_instance_arn(&instance).send().await.expect("the bystander is served");
                assert!(t.elapsed() < Duration::from_secs(2), "the bystander is served promptly");
                served += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            served
        })
    };

    let s = &server;
    tokio::task::block_in_place(|| {
        // A 100 MB body: refused on its declared length, read no further.
        let t = Instant::now();
        let addr = s.addr();
        let mut sock = TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        sock.write_all(b"POST /app-instances HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n").unwrap();
        let _ = sock.write_all(&vec![b'a'; 64 * 1024]);
        let mut out = vec![0u8; 4096];
        let n = sock.read(&mut out).unwrap_or(0);
        let answer = String::from_utf8_lossy(&out[..n]).into_owned();
        assert_shaped(&answer, 400, "BadRequestException");
        assert!(answer.contains("larger than 1048576 bytes"), "{answer}");
        assert!(t.elapsed() < Duration::from_secs(5));

        // A 2 MiB body sent whole before reading, as an SDK does: read and discarded, answered
        // 400, and the connection stays usable.
        let mut two = post("/app-instances", &vec![b' '; 2 << 20]);
        two.extend_from_slice(b"GET /_carillon/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let a = raw_with(s, &two, false);
        assert_shaped(&a, 400, "BadRequestException");
        assert!(a.contains("{\"status\":\"ok\""), "the same connection serves the next request: {a}");

        // A chunked body over 1 MiB (no declared length): 400 once the limit is crossed.
        let mut chunked = b"POST /app-instances HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..20 {
            chunked.extend_from_slice(format!("{:x}\r\n", 100_000).as_bytes());
            chunked.extend(std::iter::repeat_n(b' ', 100_000));
            chunked.extend_from_slice(b"\r\n");
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        assert_shaped(&raw(s, &chunked), 400, "BadRequestException");

        // A 1 MB header and 1,000 headers: 431 from the parser, connection closed.
        let mut big = b"GET /app-instances HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', 1 << 20));
        big.extend_from_slice(b"\r\n\r\n");
        assert_eq!(status(&raw(s, &big)), 431);
        let mut many = b"GET /app-instances HTTP/1.1\r\nHost: x\r\n".to_vec();
        for i in 0..1000 {
            many.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(status(&raw(s, &many)), 431);

        // A 60 KB request target: 400 in protocol shape (or 431 past the header limit).
        let long = format!("GET /app-instances/{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(50_000));
        assert_shaped(&raw(s, long.as_bytes()), 400, "BadRequestException");

        // JSON nested 100,000 deep, as arrays and as objects.
        assert_shaped(&raw(s, &post("/app-instances", "[".repeat(100_000).as_bytes())), 400, "BadRequestException");
        assert_shaped(&raw(s, &post("/app-instances", "{\"Name\":".repeat(100_000).as_bytes())), 400, "BadRequestException");

        // Invalid UTF-8 and NUL bytes in every position of a JSON body.
        let good = br#"{"Name":"n","ClientRequestToken":"tok-hostile"}"#;
        for i in 0..good.len() {
            for bad in [0xffu8, 0x00, 0xc0] {
                let mut body = good.to_vec();
                body[i] = bad;
                let a = raw(s, &post("/app-instances", &body));
                assert!(matches!(status(&a), 400 | 201), "byte {bad:#x} at {i}: {a}");
                if status(&a) == 400 {
                    assert_shaped(&a, 400, "BadRequestException");
                }
            }
        }
        // In the path: raw bytes the HTTP parser refuses (400), escapes that decode to invalid or
        // overlong UTF-8 or NUL (400 in shape, or 404 for a valid but unknown resource).
        for path in [&b"/app-instances/\xff\xfe"[..], b"/app-\x00instances", b"/app-instances/a\x00b"] {
            let mut req = b"GET ".to_vec();
            req.extend_from_slice(path);
            req.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
            let a = raw(s, &req);
            assert!(matches!(status(&a), 400 | 0), "{a}");
        }
        for path in ["/app-instances/%C0%AF", "/app-instances/%E0%80%AF", "/app-instances/%FF", "/app-instances/%", "/app-instances/%G0"] {
            assert_shaped(&raw(s, format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()), 400, "BadRequestException");
        }
        for path in ["/app-instances/%00", "/app-instances/a%00b"] {
            let a = raw(s, format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
            assert!(matches!(status(&a), 400 | 404), "{a}");
            assert_shaped(&a, status(&a), if status(&a) == 400 { "BadRequestException" } else { "NotFoundException" });
        }
        // In the query and in header values.
        assert_shaped(&raw(s, b"GET /app-instance-users?app-instance-arn=%FF%FE HTTP/1.1\r\nHost: x\r\n\r\n"), 400, "BadRequestException");
        let a = raw(s, b"GET /app-instances HTTP/1.1\r\nHost: x\r\nX-Amz-Date: \xff\xfe\r\n\r\n");
        assert!(matches!(status(&a), 200 | 400), "{a}");
        let a = raw(s, b"GET /app-instances HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 \x00\xff\r\n\r\n");
        assert!(matches!(status(&a), 200 | 400), "{a}");

        // A slow client: headers trickled past the timeout are cut off; a body trickled past it is
        // answered 400 and the connection closed.
        let t = Instant::now();
        let mut slow = TcpStream::connect(addr).unwrap();
        slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut cut = false;
        for b in b"GET /app-instances HTTP/1.1\r\nHost: x\r\nX-Slow: ".iter().cycle().take(200) {
            if slow.write_all(&[*b]).is_err() {
                cut = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut rest = Vec::new();
        let _ = slow.read_to_end(&mut rest);
        assert!(cut || rest.is_empty() || status(&String::from_utf8_lossy(&rest)) >= 400, "trickled headers are cut off");
        assert!(t.elapsed() < Duration::from_secs(12));
        let mut slow = TcpStream::connect(addr).unwrap();
        slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        slow.write_all(b"POST /app-instances HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{").unwrap();
        let mut out = Vec::new();
        let _ = slow.read_to_end(&mut out);
        let answer = String::from_utf8_lossy(&out);
        assert_shaped(&answer, 400, "BadRequestException");
        assert!(answer.to_ascii_lowercase().contains("connection: close"));
    });

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let served = bystander.await.unwrap();
    assert!(served > 10, "the bystander was served throughout ({served})");
    assert_eq!(snapshot(c.clone(), instance.clone()).await, before, "stored data unchanged");
}

/// CPU time (user + system) this process has used, from /proc/self/stat, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// The body of an answer, by its Content-Length.
fn body_of(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

#[test]
fn a_1_mib_list_of_empty_tags_yields_a_small_error() {
    let server = TestServer::start();
    let mut body = br#"{"ResourceARN":"arn:aws:chime:us-east-1:000000000000:app-instance/x","Tags":["#.to_vec();
    while body.len() < (1 << 20) - 8 {
        body.extend_from_slice(b"{},");
    }
    body.extend_from_slice(b"{}]}");
    let (t, cpu) = (Instant::now(), cpu_seconds());
    let answer = raw(&server, &post("/tags?operation=tag-resource", &body));
    let (took, cpu) = (t.elapsed(), cpu_seconds() - cpu);
    let error = body_of(&answer);
    println!("1 MiB Tags body: {} bytes of error, {:.2} s CPU, {took:?}", error.len(), cpu);
    assert_shaped(&answer, 400, "BadRequestException");
    assert!(error.len() <= 4096, "the error is {} bytes", error.len());
    assert!(error.contains("at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"), "{error}");
}

#[test]
fn the_header_section_limit_is_64_kib() {
    let server = TestServer::start();
    let request = |size: usize| {
        let mut r = b"GET /_carillon/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: ".to_vec();
        let pad = size - r.len() - 4;
        r.extend(std::iter::repeat_n(b'a', pad));
        r.extend_from_slice(b"\r\n\r\n");
        assert_eq!(r.len(), size);
        r
    };
    let under = raw(&server, &request(64 * 1024 - 100));
    assert_eq!(status(&under), 200, "{}", &under[..under.len().min(200)]);
    for over in [64 * 1024 + 100, 100 * 1024, 120 * 1024] {
        let a = raw(&server, &request(over));
        assert_eq!(status(&a), 431, "a {over}-byte header section: {}", &a[..a.len().min(200)]);
    }
}

#[test]
fn a_malformed_chunked_body_is_named_as_such() {
    let server = TestServer::start();
    let a = raw(&server, b"POST /app-instances HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");
    assert_shaped(&a, 400, "BadRequestException");
    assert!(!a.contains("larger than"), "{a}");
    assert!(a.contains("chunked"), "{a}");
}

#[test]
fn an_http_1_1_request_without_host_is_400() {
    let server = TestServer::start();
    let a = raw(&server, b"GET /_carillon/health HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_shaped(&a, 400, "BadRequestException");
    assert!(a.contains("Host"), "{a}");
    // HTTP/1.0 needs none.
    let a = raw(&server, b"GET /_carillon/health HTTP/1.0\r\n\r\n");
    assert_eq!(status(&a), 200, "{a}");
}

#[test]
fn the_clock_offset_is_bounded() {
    let server = TestServer::start();
    for bad in ["1000000000000", "-1000000000000", "3155760001", "-3155760001"] {
        let a = raw(&server, &{
            let body = format!("{{\"offset_seconds\":{bad}}}");
            let mut r = format!("PUT /_carillon/clock HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
            r.extend_from_slice(body.as_bytes());
            r
        });
        assert_shaped(&a, 400, "BadRequestException");
    }
    assert_eq!(server.service().clock().offset_ms(), 0);
    let body = br#"{"offset_seconds":3155760000}"#;
    let mut r = format!("PUT /_carillon/clock HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    r.extend_from_slice(body);
    assert_eq!(status(&raw(&server, &r)), 200);
    assert_eq!(server.service().clock().offset_ms(), 3_155_760_000_000);
}
