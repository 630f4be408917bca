//! Soak: a steady mixed load (writes and reads, each checked against its worker's model) at a fixed
//! rate, no kills, with per-period figures: requests, 5xx, latency percentiles and the server's RSS.

use crate::proc;
use crate::rng::Rng;
use crate::worker::{Step, Worker};
use crate::{Opts, Store, account, api, start_server};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[derive(Default)]
struct Window {
    latencies_us: Vec<u32>,
    requests: u64,
    server_errors: u64,
    unanswered: u64,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx] as f64 / 1000.0
}

pub async fn run(o: &Opts, bin: &Path, store: &Store) -> Result<u64, String> {
    let secs = o.soak_secs.unwrap_or(60);
    let server = start_server(bin, store).await?;
    let url = server.url().to_string();
    let pid = server.pid();
    let workers_n = o.workers.max((o.rate / 25) as usize).max(1);
    println!(
        "soak: {secs}s at {} requests/s, {workers_n} workers, report every {}s, RSS growth bound {} MB, seed {}, carillon {} (pid {pid}) on {}",
        o.rate,
        o.report_every,
        o.max_rss_growth_mb,
        o.seed,
        bin.display(),
        if store.pg.is_some() { "postgres" } else { "sqlite" }
    );
    let rss_start = proc::rss_kb(pid).unwrap_or(0);
    let run_tag = Rng::new(o.seed).below(10_000);
    let sem = Arc::new(Semaphore::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let window = Arc::new(Mutex::new(Window::default()));
    let behind = Arc::new(AtomicU64::new(0));
    // The pace: one permit per request, at most a second's worth of backlog.
    let ticker = {
        let (sem, stop, behind) = (sem.clone(), stop.clone(), behind.clone());
        let rate = o.rate;
        tokio::spawn(async move {
            let period = Duration::from_nanos(1_000_000_000 / rate);
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                if sem.available_permits() < rate as usize {
                    sem.add_permits(1);
                } else {
                    behind.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    let mut tasks = Vec::new();
    for w in 0..workers_n {
        let acct = account(run_tag, 9_000, w as u64);
        let mut wk = Worker::new(format!("soak{w}"), acct.clone(), api::client(&url, &acct), Rng::derive(o.seed, 9_000, w as u64), 3, 6);
        wk.generator.read_weight = 30;
        let (sem, stop, window) = (sem.clone(), stop.clone(), window.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                match sem.acquire().await {
                    Ok(p) => p.forget(),
                    Err(_) => break,
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let (e0, u0) = (wk.stats.server_errors, wk.stats.unanswered);
                let step = wk.step().await;
                let lat = wk.stats.latencies_us.drain(..).collect::<Vec<_>>();
                if let Ok(mut win) = window.lock() {
                    win.requests += 1;
                    win.latencies_us.extend(lat);
                    win.server_errors += wk.stats.server_errors - e0;
                    win.unanswered += wk.stats.unanswered - u0;
                }
                if let Step::Stopped = step {
                    // Find out what became of the request, then go on.
                    let _ = wk.check().await;
                }
            }
            wk
        }));
    }
    let began = Instant::now();
    let end = began + Duration::from_secs(secs);
    let warmup = Duration::from_secs((secs / 4).clamp(1, 30));
    let mut baseline: Option<u64> = None;
    let mut rss_max = rss_start;
    let mut all_lat: Vec<u32> = Vec::new();
    let (mut total_req, mut total_5xx, mut total_unanswered) = (0u64, 0u64, 0u64);
    let mut period_n = 0;
    let mut next_report = began + Duration::from_secs(o.report_every);
    loop {
        let now = Instant::now();
        if baseline.is_none() && now >= began + warmup {
            baseline = proc::rss_kb(pid);
        }
        if let Some(r) = proc::rss_kb(pid)
            && baseline.is_some()
        {
            rss_max = rss_max.max(r);
        }
        if now >= next_report || now >= end {
            period_n += 1;
            let w = std::mem::take(&mut *window.lock().map_err(|_| "window lock")?);
            let mut lat = w.latencies_us;
            lat.sort_unstable();
            let rss = proc::rss_kb(pid).unwrap_or(0);
            let span = now.duration_since(next_report - Duration::from_secs(o.report_every)).as_secs_f64().max(0.001);
            println!(
                "period {period_n:>3} (t={:>5.0}s): {} requests ({:.1}/s), {} 5xx, {} unanswered, latency p50 {:.2} ms p99 {:.2} ms p99.9 {:.2} ms, server RSS {:.1} MB",
                now.duration_since(began).as_secs_f64(),
                w.requests,
                w.requests as f64 / span,
                w.server_errors,
                w.unanswered,
                percentile(&lat, 0.50),
                percentile(&lat, 0.99),
                percentile(&lat, 0.999),
                rss as f64 / 1024.0
            );
            total_req += w.requests;
            total_5xx += w.server_errors;
            total_unanswered += w.unanswered;
            all_lat.extend(lat);
            next_report += Duration::from_secs(o.report_every);
            if now >= end {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250).min(end.saturating_duration_since(Instant::now()).max(Duration::from_millis(1))))
            .await;
    }
    let soak_elapsed = began.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    sem.add_permits(workers_n * 2);
    let _ = ticker.await;
    let mut violations: Vec<String> = Vec::new();
    let mut workers = Vec::new();
    for t in tasks {
        match tokio::time::timeout(Duration::from_secs(60), t).await {
            Ok(Ok(w)) => workers.push(w),
            _ => violations.push("a soak worker did not finish within 60 s of the end".into()),
        }
    }
    // Late answers of the last requests.
    if let Ok(w) = window.lock() {
        total_req += w.requests;
        total_5xx += w.server_errors;
        total_unanswered += w.unanswered;
    }
    for w in &mut workers {
        let _ = w.check().await;
        violations.append(&mut w.stats.violations);
    }
    let rss_end = proc::rss_kb(pid).unwrap_or(0);
    let base = baseline.unwrap_or(rss_start);
    let growth_kb = rss_max.max(rss_end).saturating_sub(base);
    if total_5xx > 0 {
        violations.push(format!("{total_5xx} requests answered 5xx"));
    }
    if total_unanswered > 0 {
        violations.push(format!("{total_unanswered} requests got no answer from a live server"));
    }
    if growth_kb > o.max_rss_growth_mb * 1024 {
        violations.push(format!("server RSS grew {:.1} MB after warm-up (bound {} MB)", growth_kb as f64 / 1024.0, o.max_rss_growth_mb));
    }
    match tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.terminate(Duration::from_secs(30))
    })
    .await
    .map_err(|e| e.to_string())?
    {
        Ok(Some(0)) => {}
        other => violations.push(format!("carillon did not stop cleanly on SIGTERM: {other:?}")),
    }
    all_lat.sort_unstable();
    let behind = behind.load(Ordering::Relaxed);
    println!(
        "soak total: {total_req} requests in {:.0}s ({:.1}/s, {behind} ticks skipped behind the pace), {total_5xx} 5xx, {total_unanswered} unanswered, latency p50 {:.2} ms p99 {:.2} ms p99.9 {:.2} ms max {:.2} ms; RSS start {:.1} MB, after warm-up {:.1} MB, max {:.1} MB, end {:.1} MB, growth {:.1} MB (bound {} MB); {} violations",
        soak_elapsed,
        total_req as f64 / soak_elapsed,
        percentile(&all_lat, 0.50),
        percentile(&all_lat, 0.99),
        percentile(&all_lat, 0.999),
        all_lat.last().copied().unwrap_or(0) as f64 / 1000.0,
        rss_start as f64 / 1024.0,
        base as f64 / 1024.0,
        rss_max as f64 / 1024.0,
        rss_end as f64 / 1024.0,
        growth_kb as f64 / 1024.0,
        o.max_rss_growth_mb,
        violations.len()
    );
    for v in &violations {
        println!("  VIOLATION: {v}");
    }
    Ok(violations.len() as u64)
}
