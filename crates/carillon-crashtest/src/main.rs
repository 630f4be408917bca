//! `carillon-crashtest`: kills a loaded carillon server (or the PostgreSQL server under it) at
//! random moments and checks through the real AWS SDK that nothing acknowledged was lost and
//! nothing half-done is visible; or, with `--soak`, runs a steady mixed load and watches latency,
//! errors and memory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test tool, not a server: a violation stops it loudly

mod api;
mod contention;
mod exec;
mod messages;
mod model;
mod proc;
mod purge;
mod rng;
mod soak;
mod verify;
mod worker;

use contention::{Arena, Snapshot};
use messages::Chatter;
use proc::{Postgres, Server};
use rng::Rng;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use worker::{CheckResult, Stats, Worker};

const USAGE: &str = "\
usage: carillon-crashtest [OPTIONS]

Kill cycles (default): start carillon, drive concurrent writes through aws-sdk-chimesdkidentity
and channel messages through aws-sdk-chimesdkmessaging, SIGKILL at a random moment, restart on
the same database and verify every acknowledged write, every unanswered write (all or nothing),
quotas, uniqueness, cascades and every acknowledged message (listed once, in order).

  --cycles N                 kill cycles (10)
  --seed N                   seed of every random choice (from the clock; printed)
  --workers N                workers, each the only writer of its own account (6)
  --racers N                 workers racing on shared users (3)
  --kill-after MIN..MAX      milliseconds of load before the kill (300..2500)
  --database sqlite|postgres where the store lives (sqlite, in a temporary directory)
  --postgres-url URL         postgres mode: an existing database to connect to for CREATE
                             DATABASE carillon_crash_<random> [CARILLON_TEST_POSTGRES_URL]
                             (postgres://postgres@127.0.0.1:5432/postgres)
  --pg-data DIR              postgres mode: the cluster's data directory, for postmaster.pid
                             (/var/lib/postgresql/VERSION/main, VERSION the first in /etc/postgresql)
  --pg-start CMD             postgres mode: the command that starts the cluster again
                             (pg_ctlcluster --skip-systemctl-redirect VERSION main start)
  --kill-carillon            postgres mode: SIGKILL carillon too, with the postmaster
  --keep                     keep the database (and print where it is)
  --bin PATH                 the carillon binary [CARILLON_BIN] (carillon beside this program,
                             built first with cargo when run through cargo run)
  --no-build                 do not run cargo build -p carillon first

Soak:
  --soak SECONDS             no kills: mixed load at a fixed rate for this long
  --rate N                   requests per second in all (50)
  --report-every SECONDS     one report line per period (60)
  --max-rss-growth-mb MB     the most the server's RSS may grow after warm-up (32)

Exit status: 0 when no violation was found, 1 otherwise, 2 on a setup failure.
";

#[derive(Debug, Clone)]
pub struct Opts {
    pub cycles: u64,
    pub seed: u64,
    pub workers: usize,
    pub racers: usize,
    pub kill_min_ms: u64,
    pub kill_max_ms: u64,
    pub postgres: bool,
    pub postgres_url: String,
    pub pg_data: PathBuf,
    pub pg_start: String,
    pub kill_carillon: bool,
    pub keep: bool,
    pub bin: Option<PathBuf>,
    pub build: bool,
    pub soak_secs: Option<u64>,
    pub rate: u64,
    pub report_every: u64,
    pub max_rss_growth_mb: u64,
}

/// The installed PostgreSQL major version (the first under /etc/postgresql), else 15.
fn pg_version() -> String {
    let mut v: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().to_string()).collect())
        .unwrap_or_default();
    v.sort();
    v.into_iter().next().unwrap_or_else(|| "15".into())
}

fn parse_args(args: &[String]) -> Result<Opts, String> {
    let seed_default =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64 % 1_000_000_000).unwrap_or(1);
    let mut o = Opts {
        cycles: 10,
        seed: seed_default,
        workers: 6,
        racers: 3,
        kill_min_ms: 300,
        kill_max_ms: 2500,
        postgres: false,
        postgres_url: std::env::var("CARILLON_TEST_POSTGRES_URL")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into()),
        pg_data: PathBuf::from(format!("/var/lib/postgresql/{}/main", pg_version())),
        pg_start: format!("pg_ctlcluster --skip-systemctl-redirect {} main start", pg_version()),
        kill_carillon: false,
        keep: false,
        bin: None,
        build: true,
        soak_secs: None,
        rate: 50,
        report_every: 60,
        max_rss_growth_mb: 32,
    };
    let mut i = 0;
    let num = |v: Option<&String>, name: &str| -> Result<u64, String> {
        v.ok_or_else(|| format!("{name} needs a value"))?.parse::<u64>().map_err(|_| format!("{name} takes a number"))
    };
    while i < args.len() {
        let a = args[i].as_str();
        let v = args.get(i + 1);
        let mut takes = true;
        match a {
            "--cycles" => o.cycles = num(v, a)?,
            "--seed" => o.seed = num(v, a)?,
            "--workers" => o.workers = num(v, a)? as usize,
            "--racers" => o.racers = num(v, a)? as usize,
            "--kill-after" => {
                let s = v.ok_or("--kill-after needs MIN..MAX")?;
                let (lo, hi) = s.split_once("..").ok_or("--kill-after takes MIN..MAX milliseconds")?;
                o.kill_min_ms = lo.parse().map_err(|_| "--kill-after takes MIN..MAX milliseconds")?;
                o.kill_max_ms = hi.parse().map_err(|_| "--kill-after takes MIN..MAX milliseconds")?;
            }
            "--database" => match v.map(String::as_str) {
                Some("sqlite") => o.postgres = false,
                Some("postgres") => o.postgres = true,
                _ => return Err("--database takes sqlite or postgres".into()),
            },
            "--postgres-url" => o.postgres_url = v.ok_or("--postgres-url needs a value")?.clone(),
            "--pg-data" => o.pg_data = PathBuf::from(v.ok_or("--pg-data needs a value")?),
            "--pg-start" => o.pg_start = v.ok_or("--pg-start needs a value")?.clone(),
            "--bin" => o.bin = Some(PathBuf::from(v.ok_or("--bin needs a value")?)),
            "--soak" => o.soak_secs = Some(num(v, a)?),
            "--rate" => o.rate = num(v, a)?.max(1),
            "--report-every" => o.report_every = num(v, a)?.max(1),
            "--max-rss-growth-mb" => o.max_rss_growth_mb = num(v, a)?,
            "--kill-carillon" => {
                o.kill_carillon = true;
                takes = false;
            }
            "--keep" => {
                o.keep = true;
                takes = false;
            }
            "--no-build" => {
                o.build = false;
                takes = false;
            }
            other => return Err(format!("unknown option {other} (see --help)")),
        }
        i += if takes { 2 } else { 1 };
    }
    if o.kill_max_ms < o.kill_min_ms {
        return Err("--kill-after: MAX must not be below MIN".into());
    }
    if o.workers == 0 {
        return Err("--workers must be at least 1".into());
    }
    Ok(o)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let opts = match parse_args(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("carillon-crashtest: {e}");
            return ExitCode::from(2);
        }
    };
    let bin = match proc::find_carillon(opts.bin.clone(), opts.build) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("carillon-crashtest: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("carillon-crashtest: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        let store = Store::prepare(&opts).await?;
        let r = if opts.soak_secs.is_some() { soak::run(&opts, &bin, &store).await } else { crash(&opts, &bin, &store).await };
        store.finish(opts.keep).await;
        r
    });
    match result {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("carillon-crashtest: {e}");
            ExitCode::from(2)
        }
    }
}

/// Where the run's database lives.
pub struct Store {
    pub url: String,
    pub pg: Option<(Postgres, String)>,
    _dir: Option<tempfile::TempDir>,
    dir_path: Option<PathBuf>,
}

impl Store {
    async fn prepare(o: &Opts) -> Result<Store, String> {
        if o.postgres {
            let pg = Postgres { admin_url: o.postgres_url.clone(), data_dir: o.pg_data.clone(), start_cmd: o.pg_start.clone() };
            let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
                ^ (std::process::id() as u128) << 40;
            let db = format!("carillon_crash_{:x}", nonce as u64);
            pg.execute(&format!("CREATE DATABASE {db}")).await?;
            let url = pg.url_for(&db);
            println!("crashtest: PostgreSQL database {db}");
            Ok(Store { url, pg: Some((pg, db)), _dir: None, dir_path: None })
        } else {
            let dir = tempfile::Builder::new().prefix("carillon-crashtest-").tempdir().map_err(|e| format!("temp dir: {e}"))?;
            let path = dir.path().join("carillon.db");
            let url = format!("sqlite://{}", path.display());
            let dir_path = Some(dir.path().to_path_buf());
            let dir = if o.keep {
                let _kept = dir.keep();
                None
            } else {
                Some(dir)
            };
            Ok(Store { url, pg: None, _dir: dir, dir_path })
        }
    }

    async fn finish(&self, keep: bool) {
        if let Some((pg, db)) = &self.pg {
            if keep {
                println!("crashtest: kept PostgreSQL database {db}");
            } else if let Err(e) = pg.execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).await {
                eprintln!("crashtest: could not drop {db}: {e}");
            }
        } else if keep && let Some(d) = &self.dir_path {
            println!("crashtest: kept the database in {}", d.display());
        }
    }
}

fn account(run: u64, cycle: u64, n: u64) -> String {
    format!("{:04}{:04}{:04}", run % 10_000, cycle % 10_000, n % 10_000)
}

#[derive(Default, Debug, Clone)]
struct CycleFigures {
    requests: u64,
    acked_writes: u64,
    rejected: u64,
    unanswered: u64,
    resolved_applied: u64,
    resolved_not_applied: u64,
    resolved_no_effect: u64,
    arena_acked: u64,
    arena_resolved: u64,
    retries: u64,
    violations: u64,
    sends_acked: u64,
    sends_verified: u64,
    sends_unanswered_stored: u64,
    sends_unanswered_lost: u64,
    members_acked: u64,
}

/// Channels written by one chatter each, per cycle.
const CHATTERS: u64 = 2;

async fn start_server(bin: &std::path::Path, store: &Store) -> Result<Server, String> {
    let bin = bin.to_path_buf();
    let url = store.url.clone();
    tokio::task::spawn_blocking(move || proc::start(&bin, &url)).await.map_err(|e| e.to_string())?
}

async fn crash(o: &Opts, bin: &std::path::Path, store: &Store) -> Result<u64, String> {
    let mode = if store.pg.is_some() {
        if o.kill_carillon { "postgres (kill the postmaster and carillon)" } else { "postgres (kill the postmaster)" }
    } else {
        "sqlite (kill carillon)"
    };
    println!(
        "crashtest: {} cycles, mode {mode}, seed {}, {} workers + {} racers, kill after {}..{} ms, carillon {}",
        o.cycles,
        o.seed,
        o.workers,
        o.racers,
        o.kill_min_ms,
        o.kill_max_ms,
        bin.display()
    );
    let run_tag = Rng::new(o.seed).below(10_000);
    let mut server = Some(start_server(bin, store).await?);
    let mut all_workers: Vec<Worker> = Vec::new();
    let mut all_chatters: Vec<Chatter> = Vec::new();
    let mut arenas: Vec<(Arena, Snapshot)> = Vec::new();
    let mut doomed_all: Vec<purge::Doomed> = Vec::new();
    let mut total = CycleFigures::default();
    let mut all_violations: Vec<String> = Vec::new();
    let started = Instant::now();
    for cycle in 0..o.cycles {
        let url = server.as_ref().map(|s| s.url().to_string()).ok_or("no server")?;
        let mut rng = Rng::derive(o.seed, cycle, 0);
        let mut figures = CycleFigures::default();
        let mut violations: Vec<String> = Vec::new();
        // Workers, each on its own account.
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for w in 0..o.workers {
            let acct = account(run_tag, cycle, w as u64);
            let mut wk = Worker::new(
                format!("c{cycle}w{w}"),
                acct.clone(),
                api::client(&url, &acct),
                Rng::derive(o.seed, cycle, 100 + w as u64),
                3,
                6,
            );
            wk.expect_5xx = store.pg.is_some();
            let stop = stop.clone();
            tasks.push(tokio::spawn(async move {
                wk.run(stop).await;
                wk
            }));
        }
        // Chatters, each the only writer of one channel in its own account.
        let mut chat_tasks = Vec::new();
        for n in 0..CHATTERS {
            let acct = account(run_tag, cycle, 9_990 + n);
            let mut ch = Chatter::setup(&url, &acct, format!("c{cycle}m{n}"), Rng::derive(o.seed, cycle, 700 + n)).await?;
            let stop = stop.clone();
            chat_tasks.push(tokio::spawn(async move {
                ch.run(stop).await;
                ch
            }));
        }
        // The arena for racing workers.
        let arena_acct = account(run_tag, cycle, 9_999);
        let arena = if o.racers > 0 {
            Some(Arena::setup(&api::client(&url, &arena_acct), &arena_acct, &format!("c{cycle}"), 3).await?)
        } else {
            None
        };
        let mut racers = Vec::new();
        if let Some(a) = &arena {
            for r in 0..o.racers {
                let a = a.clone();
                let c = api::client(&url, &arena_acct);
                let rr = Rng::derive(o.seed, cycle, 500 + r as u64);
                let stop = stop.clone();
                let pg = store.pg.is_some();
                racers.push(tokio::spawn(async move { a.race(c, rr, format!("c{cycle}r{r}"), stop, pg).await }));
            }
        }
        // An AppInstance large enough that its delete leaves a purge queued, deleted right
        // before the kill (docs/behaviour.md, "Resources").
        let doomed_acct = account(run_tag, cycle, 9_998);
        let doomed_client = api::client(&url, &doomed_acct);
        let mut doomed = purge::Doomed::setup(&doomed_client, &doomed_acct, &format!("c{cycle}")).await?;
        let kill_after = Duration::from_millis(rng.range(o.kill_min_ms, o.kill_max_ms));
        tokio::time::sleep(kill_after).await;
        doomed.delete(&doomed_client).await;
        // The kill.
        let mut restart_note = String::new();
        match &store.pg {
            None => {
                if let Some(s) = server.take() {
                    tokio::task::spawn_blocking(move || {
                        let mut s = s;
                        s.kill()
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                }
            }
            Some((pg, _)) => {
                let pgc = pg.clone();
                let pid = tokio::task::spawn_blocking(move || pgc.kill()).await.map_err(|e| e.to_string())??;
                restart_note = format!("postmaster {pid} killed");
                if o.kill_carillon
                    && let Some(s) = server.take()
                {
                    tokio::task::spawn_blocking(move || {
                        let mut s = s;
                        s.kill()
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                }
            }
        }
        let killed_at = Instant::now();
        // With the database down and carillon up, health must say so with a 503 (docs/behaviour.md, "Control plane").
        if store.pg.is_some()
            && let Some(s) = &server
        {
            let t = Instant::now();
            let mut last = None;
            while t.elapsed() < Duration::from_secs(10) {
                last = api::health(s.url()).await;
                if last == Some(503) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if last == Some(503) {
                restart_note += &format!(", health 503 after {} ms", t.elapsed().as_millis());
            } else {
                violations
                    .push(format!("cycle {cycle}: with PostgreSQL down, /_carillon/health answered {last:?} for 10 s instead of 503"));
            }
        }
        // Every worker stops at its first unanswered request; give them a bounded time.
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut workers = Vec::new();
        for t in tasks {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, t).await {
                Ok(Ok(w)) => workers.push(w),
                Ok(Err(e)) => return Err(format!("a worker panicked: {e}")),
                Err(_) => return Err("a worker did not stop within 90 s of the kill".into()),
            }
        }
        let mut chatters = Vec::new();
        for t in chat_tasks {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, t).await {
                Ok(Ok(c)) => chatters.push(c),
                Ok(Err(e)) => return Err(format!("a chatter panicked: {e}")),
                Err(_) => return Err("a chatter did not stop within 90 s of the kill".into()),
            }
        }
        let workers_stopped = killed_at.elapsed();
        stop.store(true, Ordering::Relaxed);
        let mut racer_requests = 0;
        for r in racers {
            let (n, v) = r.await.map_err(|e| format!("a racer panicked: {e}"))?;
            racer_requests += n;
            violations.extend(v);
        }
        // The restart.
        let restart_started = Instant::now();
        if let Some((pg, _)) = &store.pg {
            let pgc = pg.clone();
            tokio::task::spawn_blocking(move || pgc.start()).await.map_err(|e| e.to_string())??;
        }
        if server.is_none() {
            server = Some(start_server(bin, store).await?);
        }
        let url = server.as_ref().map(|s| s.url().to_string()).ok_or("no server")?;
        if store.pg.is_some() {
            // Carillon must come back by itself once the database is back.
            let t = Instant::now();
            loop {
                if api::health(&url).await == Some(200) {
                    break;
                }
                if t.elapsed() > Duration::from_secs(60) {
                    violations.push(format!("cycle {cycle}: carillon's health is not 200 60 s after PostgreSQL came back"));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            restart_note += &format!(
                ", workers stopped {} ms after the kill, back in {:.1}s",
                workers_stopped.as_millis(),
                restart_started.elapsed().as_secs_f64()
            );
        }
        // Verify every account, a few at a time.
        let mut checks = Vec::new();
        for mut w in workers {
            w.client = api::client(&url, &w.account);
            checks.push(tokio::spawn(async move {
                let r = w.check().await;
                (w, r)
            }));
        }
        let mut stats = Stats::default();
        for c in checks {
            let (mut w, r) = c.await.map_err(|e| format!("a check panicked: {e}"))?;
            match r {
                CheckResult::Applied => figures.resolved_applied += 1,
                CheckResult::NotApplied => figures.resolved_not_applied += 1,
                CheckResult::NoEffect => figures.resolved_no_effect += 1,
                _ => {}
            }
            stats.add(&w.stats);
            violations.append(&mut w.stats.violations);
            w.stats = Stats::default();
            all_workers.push(w);
        }
        for mut ch in chatters {
            ch.reconnect(&url);
            ch.check().await;
            figures.sends_acked += ch.stats.sends_acked;
            figures.sends_verified += ch.stats.sends_verified;
            figures.sends_unanswered_stored += ch.stats.unanswered_stored;
            figures.sends_unanswered_lost += ch.stats.unanswered_lost;
            figures.members_acked += ch.stats.members_acked;
            violations.append(&mut ch.stats.violations);
            all_chatters.push(ch);
        }
        violations.extend(doomed.check(&api::client(&url, &doomed.account)).await.into_iter().map(|v| format!("cycle {cycle}: {v}")));
        doomed_all.push(doomed);
        if let Some(a) = arena {
            let c = api::client(&url, &a.account);
            let (snap, acked, resolved, bad) = a.check(&c).await;
            figures.arena_acked = acked;
            figures.arena_resolved = resolved;
            violations.extend(bad);
            if let Some(s) = snap {
                arenas.push((a, s));
            }
        }
        figures.requests = stats.requests + racer_requests;
        figures.acked_writes = stats.writes_acked;
        figures.rejected = stats.rejected;
        figures.unanswered = stats.unanswered + stats.server_errors;
        figures.retries = stats.retries;
        figures.violations = violations.len() as u64;
        println!(
            "cycle {:>3}: killed after {:>5} ms{}; {} requests, {} acknowledged writes checked (+{} racing), {} rejected as the model predicts, {} unanswered writes resolved ({} applied, {} not applied, {} without effect) (+{} racing), {} creates retried with their token, {} violations",
            cycle + 1,
            kill_after.as_millis(),
            if restart_note.is_empty() { String::new() } else { format!(" ({restart_note})") },
            figures.requests,
            figures.acked_writes,
            figures.arena_acked,
            figures.rejected,
            figures.resolved_applied + figures.resolved_not_applied + figures.resolved_no_effect,
            figures.resolved_applied,
            figures.resolved_not_applied,
            figures.resolved_no_effect,
            figures.arena_resolved,
            figures.retries,
            figures.violations
        );
        println!(
            "  messages: {} sends acknowledged (retries included), {} listed once in order with their content, unanswered sends retried with their token: {} had been stored, {} had not; {} memberships acknowledged and listed",
            figures.sends_acked,
            figures.sends_verified,
            figures.sends_unanswered_stored,
            figures.sends_unanswered_lost,
            figures.members_acked
        );
        for v in &violations {
            println!("  VIOLATION: {v}");
        }
        if !violations.is_empty()
            && let Some(s) = &server
        {
            println!("  server log tail:\n{}", s.log_tail(20));
        }
        all_violations.extend(violations);
        total.requests += figures.requests;
        total.acked_writes += figures.acked_writes;
        total.rejected += figures.rejected;
        total.unanswered += figures.unanswered;
        total.resolved_applied += figures.resolved_applied;
        total.resolved_not_applied += figures.resolved_not_applied;
        total.resolved_no_effect += figures.resolved_no_effect;
        total.arena_acked += figures.arena_acked;
        total.arena_resolved += figures.arena_resolved;
        total.retries += figures.retries;
        total.sends_acked += figures.sends_acked;
        total.sends_verified += figures.sends_verified;
        total.sends_unanswered_stored += figures.sends_unanswered_stored;
        total.sends_unanswered_lost += figures.sends_unanswered_lost;
        total.members_acked += figures.members_acked;
    }
    // Everything from every cycle, once more, after the last restart.
    let url = server.as_ref().map(|s| s.url().to_string()).ok_or("no server")?;
    let mut final_bad: Vec<String> = Vec::new();
    let mut rechecked = 0;
    for chunk in all_workers.chunks_mut(8) {
        let mut tasks = Vec::new();
        for w in chunk.iter_mut() {
            let mut w2 = Worker::new(w.label.clone(), w.account.clone(), api::client(&url, &w.account), Rng::new(0), 3, 6);
            w2.world = w.world.clone();
            tasks.push(tokio::spawn(async move {
                let r = w2.check().await;
                (w2, r)
            }));
        }
        for t in tasks {
            let (w2, r) = t.await.map_err(|e| e.to_string())?;
            rechecked += 1;
            if r != CheckResult::Clean || !w2.stats.violations.is_empty() {
                final_bad.extend(w2.stats.violations.iter().map(|v| format!("final re-check: {v}")));
                if w2.stats.violations.is_empty() {
                    final_bad.push(format!("final re-check of {}: {r:?}", w2.label));
                }
            }
        }
    }
    let mut chat_verified = 0;
    for ch in &mut all_chatters {
        ch.reconnect(&url);
        ch.stats = Default::default();
        ch.check().await;
        chat_verified += ch.stats.sends_verified;
        final_bad.extend(ch.stats.violations.iter().map(|v| format!("final re-check: {v}")));
    }
    for (a, snap) in &arenas {
        match a.snapshot(&api::client(&url, &a.account)).await {
            Ok(now) if &now == snap => {}
            Ok(now) => {
                final_bad.push(format!("final re-check: arena {} changed since it was checked: was {snap:?}, now {now:?}", a.instance))
            }
            Err(e) => final_bad.push(format!("final re-check: arena {}: {e}", a.instance)),
        }
    }
    for d in &doomed_all {
        final_bad.extend(d.check(&api::client(&url, &d.account)).await.into_iter().map(|v| format!("final re-check: {v}")));
    }
    for v in &final_bad {
        println!("  VIOLATION: {v}");
    }
    all_violations.extend(final_bad);
    // Let the last server finish the purges its start resumed before it is stopped.
    tokio::time::sleep(Duration::from_secs(1)).await;
    // A clean stop at the end.
    if let Some(s) = server.take() {
        let code = tokio::task::spawn_blocking(move || {
            let mut s = s;
            s.terminate(Duration::from_secs(30))
        })
        .await
        .map_err(|e| e.to_string())?;
        match code {
            Ok(Some(0)) => {}
            other => {
                let v = format!("carillon did not stop cleanly on SIGTERM: {other:?}");
                println!("  VIOLATION: {v}");
                all_violations.push(v);
            }
        }
    }
    let unpurged = purge::check_purged(&store.url, &doomed_all).await;
    println!(
        "purges: {} AppInstances of {} users deleted at the kill ({} acknowledged before it), {} left something behind",
        doomed_all.len(),
        purge::USERS,
        doomed_all.iter().filter(|d| d.acknowledged).count(),
        unpurged.len()
    );
    for v in &unpurged {
        println!("  VIOLATION: {v}");
    }
    all_violations.extend(unpurged);
    println!(
        "messages: {} sends acknowledged on {} channels, {} verified after their restart and {} again at the end, unanswered sends retried with their token: {} had been stored, {} had not; {} memberships acknowledged",
        total.sends_acked,
        all_chatters.len(),
        total.sends_verified,
        chat_verified,
        total.sends_unanswered_stored,
        total.sends_unanswered_lost,
        total.members_acked
    );
    println!(
        "total: {} cycles in {:.1}s, {} requests, {} acknowledged writes checked (+{} racing), {} rejected, {} unanswered writes resolved ({} applied, {} not applied, {} without effect) (+{} racing), {} creates retried with their token, {} accounts and {} arenas re-checked at the end, {} violations",
        o.cycles,
        started.elapsed().as_secs_f64(),
        total.requests,
        total.acked_writes,
        total.arena_acked,
        total.rejected,
        total.resolved_applied + total.resolved_not_applied + total.resolved_no_effect,
        total.resolved_applied,
        total.resolved_not_applied,
        total.resolved_no_effect,
        total.arena_resolved,
        total.retries,
        rechecked,
        arenas.len(),
        all_violations.len()
    );
    if !all_violations.is_empty() {
        println!("FAILED: {} violations (seed {})", all_violations.len(), o.seed);
    }
    Ok(all_violations.len() as u64)
}
