//! The short, seeded pass CI runs of every fuzz target: no input may make a parser panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::time::Duration;

#[test]
fn every_target_survives_a_seeded_pass() {
    for (name, target) in carillon_fuzz::TARGETS {
        let r = carillon_fuzz::driver::run(name, *target, 20261128, Duration::from_secs(20), 20_000);
        println!("{name}: {} executions, corpus {}", r.executions, r.corpus);
        assert!(r.executions > 1000, "{name} ran");
        let shown: Vec<_> = r.findings.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
        assert!(shown.is_empty(), "{name} panicked on: {shown:?}");
    }
}
