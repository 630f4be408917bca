//! Runs `carillon-bench --quick --scenario all` (standard, scale and messaging) against a Carillon
//! binary and checks that every figure is reported. It never fails on a number: only on the tool not working.
//!
//! The server binary is `CARILLON_BIN`, else `target/debug/carillon`, else `target/release/carillon`;
//! without one the test says so and passes (build it with `cargo build --bin carillon`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::path::PathBuf;
use std::process::Command;

fn server_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CARILLON_BIN").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    ["debug", "release"].iter().map(|p| target.join(p).join("carillon")).find(|p| p.exists())
}

#[test]
fn quick_run_reports_every_figure() {
    let Some(server) = server_binary() else {
        eprintln!("skipped: no carillon binary (set CARILLON_BIN or build target/debug/carillon)");
        return;
    };
    let output = Command::new(env!("CARGO_BIN_EXE_carillon-bench"))
        .args(["--quick", "--scenario", "all", "--markdown", "--startup-runs", "2", "--server"])
        .arg(&server)
        .output()
        .expect("run carillon-bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "carillon-bench failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    for needle in [
        "req/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "baseline",
        "c/b ratio",
        "first answered request",
        "idle RSS",
        "peak RSS",
        "seeding",
        "endpoints/s",
        "update x8",
        "describe x1",
        "mixed x8",
        "register",
        "deregister",
        "list-users page 1 x1",
        "scale mixed x8 @",
        "== floor: SQLite's own work",
        "of CPU per statement",
        "== targets ==",
        "Update CPU per request",
        "Describe CPU per request",
        "Update throughput",
        "Describe p50, 1 connection",
        "Start-up to first answered request",
        "RSS under load",
        "Scale: Describe p50",
        "Scale: ListAppInstanceUsers page",
        "== floor: SQLite's own SELECT of the Describes' endpoints",
        "; server CPU ",
        "SQLite's own SELECT of the Describes' endpoints (the floor, on the server's core, in the full file)",
        "send @2 members x8",
        "send @150 members x1",
        "push decision:",
        "push outbox after the sends:",
        "list first page DESC @3,000 x8",
        "list middle page ASC @100 x1",
        "Messaging: SendChannelMessage, 150 members, 8 conn",
        "Messaging: push decision per recipient endpoint",
        "Messaging: ListChannelMessages middle page DESC at 3,000 vs 100 messages, 8 conn",
        "| ListChannelMessages | Conns |",
        "| Target | Goal | Measured | Met |",
    ] {
        assert!(stdout.contains(needle), "output lacks {needle:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    }
    // Every run reported a throughput, whatever its value.
    let runs = stdout.lines().filter(|l| l.contains(" carillon ") && !l.contains("run ")).count();
    // Standard 5, scale 8 + 2 mixed + 2 list pages, messaging 4 sends and 16 lists.
    assert!(runs >= 5 + 8 + 2 + 2 + 4 + 16, "expected every run to report a carillon row, found {runs}\n{stdout}");
}
