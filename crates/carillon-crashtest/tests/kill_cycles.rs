//! The short CI form of the crash test: 5 SQLite kill cycles and, when
//! CARILLON_TEST_POSTGRES_URL is set, 2 cycles that kill the PostgreSQL server under carillon.
//! `carillon-crashtest` builds `carillon` (same profile) with cargo before it starts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::process::Command;
use std::time::Instant;

fn crashtest(args: &[&str]) -> (bool, String) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_carillon-crashtest")).args(args).output().expect("run carillon-crashtest");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    println!("$ carillon-crashtest {}\n{stdout}{stderr}(took {:.1}s)", args.join(" "), started.elapsed().as_secs_f64());
    (out.status.success(), stdout)
}

fn total_line(stdout: &str) -> &str {
    stdout.lines().find(|l| l.starts_with("total:")).unwrap_or("")
}

#[test]
fn sqlite_kill_cycles_lose_nothing() {
    let (ok, stdout) = crashtest(&["--cycles", "5", "--seed", "20240601", "--kill-after", "200..1200", "--workers", "5", "--racers", "3"]);
    assert!(ok, "violations found (see above)");
    let total = total_line(&stdout);
    assert!(total.contains("5 cycles") && total.ends_with(" 0 violations"), "{total}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("cycle ")).count(), 5);
    // How long it took is printed above, not asserted: a slow or busy machine is no violation.
}

#[test]
fn postgres_kill_cycles_lose_nothing() {
    let Some(url) = std::env::var("CARILLON_TEST_POSTGRES_URL").ok().filter(|v| !v.is_empty()) else {
        println!("skipped: CARILLON_TEST_POSTGRES_URL is not set, so no PostgreSQL kill cycles were run");
        return;
    };
    let (ok, stdout) =
        crashtest(&["--database", "postgres", "--postgres-url", &url, "--cycles", "2", "--seed", "20240602", "--kill-after", "300..1200"]);
    assert!(ok, "violations found (see above)");
    let total = total_line(&stdout);
    assert!(total.contains("2 cycles") && total.ends_with(" 0 violations"), "{total}");
}
