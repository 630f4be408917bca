//! `carillon-fuzz [TARGET|all] [SECONDS] [SEED]`: runs the stable fuzzing driver and prints the
//! executions and findings of each target. Exits 1 when a target panicked.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map(String::as_str).unwrap_or("all");
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut failed = false;
    for (name, target) in carillon_fuzz::TARGETS {
        if which != "all" && which != *name {
            continue;
        }
        let r = carillon_fuzz::driver::run(name, *target, seed, std::time::Duration::from_secs(seconds), u64::MAX);
        println!("{name}: {} executions in {seconds} s, corpus {}, findings {}", r.executions, r.corpus, r.findings.len());
        for f in &r.findings {
            failed = true;
            println!("  finding: {:?}", String::from_utf8_lossy(f));
        }
    }
    std::process::exit(i32::from(failed));
}
