//! `carillon-bench`: starts Carillon (or targets --url), seeds it, drives SigV4-signed operation
//! mixes over keep-alive connections, drives the same requests against a minimal hyper baseline
//! pinned to the same core, and reports throughput, latency percentiles, errors, start-up time
//! and memory, against the project's performance targets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark tool, not a server: it stops on what it cannot measure

mod api;
mod baseline;
mod load;
mod options;
mod process;
mod report;
mod sign;

use api::{MixOp, Op, Signed};
use load::{RunSpec, Workload};
use options::{AuthChoice, Options, Scenario};
use process::Server;
use report::{Report, RunRow, Scale, SeedStat, Startup, Summary};
use sign::Signer;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("__baseline") {
        return baseline::main(&args[1..]);
    }
    let opts = match options::parse(&args) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            print!("{}", options::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("carillon-bench: error: {e}");
            return ExitCode::from(2);
        }
    };
    process::init_spawner();
    if let Some(id) = opts.client_cpu
        && !core_affinity::set_for_current(core_affinity::CoreId { id })
    {
        eprintln!("carillon-bench: warning: could not pin the load generator to cpu {id}");
    }
    load::set_engine(opts.engine);
    // One thread: the load generator is a single-threaded tokio runtime (pinned with --client-cpu).
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    // On SIGINT or SIGTERM the bench future is dropped: the servers it started are killed and its
    // temporary databases removed.
    let interrupted = async {
        use tokio::signal::unix::{SignalKind, signal};
        match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            (Ok(mut i), Ok(mut t)) => tokio::select! {
                _ = i.recv() => {}
                _ = t.recv() => {}
            },
            _ => std::future::pending::<()>().await,
        }
    };
    let result = rt.block_on(async {
        tokio::select! {
            r = Bench::new(opts).and_then_run() => r,
            _ = interrupted => Err("interrupted".to_string()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("carillon-bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A server under test: where it listens, and its pid when we started it.
struct Target {
    addr: SocketAddr,
    host: String,
    pid: Option<u32>,
    /// The SQLite file, when we started the server.
    db: Option<PathBuf>,
}

/// The size of a SQLite database with its -wal file, MB.
fn db_size_mb(db: &Path) -> f64 {
    let size = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    (size(db.to_path_buf()) + size(PathBuf::from(wal))) as f64 / 1_048_576.0
}

/// What seeding made.
struct Seeded {
    app_arn: String,
    users: Vec<String>,
    /// (user index, EndpointId)
    endpoints: Vec<(u32, String)>,
    /// Users with no endpoints, one per connection, for register-deregister.
    spare_users: Vec<String>,
}

/// A Pinpoint application ARN in the AppInstance's own account and region (which the server
/// derived from the credential: open mode may not know the bench's access key).
fn pinpoint_arn(app_arn: &str) -> String {
    let parts: Vec<&str> = app_arn.split(':').collect();
    let (region, account) = (parts.get(3).copied().unwrap_or("us-east-1"), parts.get(4).copied().unwrap_or("000000000000"));
    format!("arn:aws:mobiletargeting:{region}:{account}:apps/abc")
}

impl Seeded {
    fn user_arn(&self, i: usize) -> &str {
        &self.users[i]
    }
}

struct Bench {
    o: Options,
    dir: tempfile::TempDir,
    creds_file: PathBuf,
    /// The auth mode servers are started in (resolved from --auth auto on the first start).
    mode: Option<&'static str>,
    report: Report,
    nonce: String,
}

fn nonce() -> String {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{:x}{:05x}", t.as_secs(), t.subsec_micros())
}

/// A small, fast, deterministic random number generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n.max(1)
    }
}

fn out(line: &str) {
    let mut so = std::io::stdout().lock();
    let _ = writeln!(so, "{line}");
    let _ = so.flush();
}

/// The filesystem type holding `path` (from /proc/mounts, longest mount point prefix).
fn filesystem_of(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && path.starts_with(f[1])).then(|| (f[1].len(), format!("{} ({} on {})", f[2], f[0], f[1])))
        })
        .max_by_key(|(n, _)| *n)
        .map(|(_, s)| s)
        .unwrap_or_else(|| "unknown".into())
}

impl Bench {
    fn new(o: Options) -> Bench {
        let dir = match &o.db_dir {
            Some(d) => {
                let _ = std::fs::create_dir_all(d);
                tempfile::Builder::new().prefix("carillon-bench-").tempdir_in(d)
            }
            None => tempfile::Builder::new().prefix("carillon-bench-").tempdir(),
        }
        .expect("temporary directory");
        let creds_file = dir.path().join("credentials");
        std::fs::write(&creds_file, format!("# carillon-bench\n{}\n", o.creds.line())).expect("write credentials");
        Bench { o, dir, creds_file, mode: None, report: Report::default(), nonce: nonce() }
    }

    async fn and_then_run(mut self) -> Result<(), String> {
        let (nproc, model, kernel) = process::machine();
        let h = &mut self.report.header;
        h.push(("machine".into(), format!("{nproc} CPUs, {model}, Linux {kernel}")));
        h.push(("load average at start".into(), process::load_average()));
        h.push((
            "pinning".into(),
            format!(
                "server {} (--threads {}), load generator {}",
                self.o.server_cpu.map(|c| format!("cpu {c}")).unwrap_or_else(|| "unpinned".into()),
                self.o.threads.map(|t| t.to_string()).unwrap_or_else(|| "default".into()),
                self.o.client_cpu.map(|c| format!("cpu {c}")).unwrap_or_else(|| "unpinned".into())
            ),
        ));
        h.push((
            "load generator".into(),
            format!("one tokio current-thread runtime, {:?} HTTP/1.1 client, keep-alive", self.o.engine).to_lowercase(),
        ));
        h.push(("database".into(), format!("SQLite in {} ({})", self.dir.path().display(), filesystem_of(self.dir.path()))));
        out(&format!("carillon-bench: {nproc} CPUs, {model}, Linux {kernel}; load average {}", process::load_average()));
        if self.o.url.is_none() && !self.o.server.exists() {
            return Err(format!(
                "no server binary at {} (build it with cargo build --release --bin carillon, or pass --server PATH or --url)",
                self.o.server.display()
            ));
        }
        let scenario = self.o.scenario;
        if matches!(scenario, Scenario::Standard | Scenario::All | Scenario::Startup) && self.o.url.is_none() {
            self.startup()?;
        }
        if matches!(scenario, Scenario::Standard | Scenario::All) {
            self.standard().await?;
        }
        if matches!(scenario, Scenario::Scale | Scenario::All) {
            self.scale().await?;
        }
        let load_end = process::load_average();
        self.report.header.push(("load average at end".into(), load_end.clone()));
        self.report.header.push(("auth".into(), self.mode.unwrap_or("n/a (--url)").to_string()));
        self.report.header.push((
            "run length".into(),
            format!("{:.1} s warm-up + {:.1} s measured per run", self.o.warmup.as_secs_f64(), self.o.duration.as_secs_f64()),
        ));
        out(&self.report.print_targets(self.o.connections));
        out(&format!("load average at end: {load_end}; auth mode: {}", self.mode.unwrap_or("n/a")));
        for n in &self.report.notes {
            out(&format!("note: {n}"));
        }
        if self.o.markdown {
            out(&self.report.markdown(self.o.connections));
        }
        Ok(())
    }

    fn serve_args(&self, db: &Path, auth: &str) -> Vec<String> {
        let mut a: Vec<String> = ["serve", "--listen", "127.0.0.1:0", "--quiet"].iter().map(|s| s.to_string()).collect();
        a.push("--database".into());
        a.push(format!("sqlite://{}", db.display()));
        a.push("--auth".into());
        a.push(auth.into());
        a.push("--credentials".into());
        a.push(self.creds_file.display().to_string());
        if let Some(t) = self.o.threads {
            a.push("--threads".into());
            a.push(t.to_string());
        }
        a.extend(self.o.server_args.iter().cloned());
        a
    }

    /// Starts Carillon on `db`, in sigv4 mode when it has it (per --auth).
    fn spawn_server(&mut self, db: &Path) -> Result<Server, String> {
        let mode = match (self.mode, self.o.auth) {
            (Some(m), _) => m,
            (None, AuthChoice::Open) => "open",
            (None, _) => "sigv4",
        };
        match Server::spawn(&self.o.server, &self.serve_args(db, mode), self.o.server_cpu) {
            Ok(s) => {
                self.mode = Some(mode);
                Ok(s)
            }
            Err(e) if self.mode.is_none() && self.o.auth == AuthChoice::Auto => {
                let _ = std::fs::remove_file(db);
                let note = format!(
                    "the server did not start with --auth sigv4 ({}); benchmarked in open mode with every request SigV4-signed anyway",
                    e.rsplit("before listening: ").next().unwrap_or(&e).chars().take(300).collect::<String>()
                );
                eprintln!("carillon-bench: {note}");
                self.report.notes.push(note);
                self.mode = Some("open");
                Server::spawn(&self.o.server, &self.serve_args(db, "open"), self.o.server_cpu)
            }
            Err(e) => Err(e),
        }
    }

    fn signer(&self, t: &Target) -> Signer {
        Signer::now(&self.o.creds, &self.o.region, &t.host)
    }

    /// Start-up time to the first answered request, and idle RSS, over fresh databases.
    fn startup(&mut self) -> Result<(), String> {
        let mut st = Startup::default();
        out("\n== start-up (spawn -> first 200 from GET /_carillon/health), fresh database each, then a restart on it ==");
        for i in 0..self.o.startup_runs * 2 {
            let fresh = i % 2 == 0;
            let db = self.dir.path().join(format!("startup-{}.db", i / 2));
            let server = self.spawn_server(&db)?;
            if !process::wait_healthy(server.addr, Duration::from_secs(10)) {
                return Err(format!("the server did not answer /_carillon/health: {}", server.stderr_tail()));
            }
            let health = server.spawned_at.elapsed();
            std::thread::sleep(Duration::from_millis(300));
            let rss = process::memory_kib(server.pid).map(|m| m.0).unwrap_or(0);
            let listening = server.to_listening;
            server.stop();
            out(&format!(
                "  run {} ({}): listening line {:.1} ms, first 200 at {:.1} ms, idle RSS {:.1} MB",
                i / 2 + 1,
                if fresh { "new database" } else { "restart" },
                listening.as_secs_f64() * 1e3,
                health.as_secs_f64() * 1e3,
                rss as f64 / 1024.0
            ));
            let times = (listening.as_secs_f64() * 1e3, health.as_secs_f64() * 1e3);
            if fresh {
                st.runs.push(times);
                st.idle_rss.push(rss);
            } else {
                st.restarts.push(times);
            }
        }
        out(&format!(
            "  median: first answered request {:.1} ms on a new database, {:.1} ms on a restart; idle RSS {:.1} MB",
            st.median_health_ms(),
            report::median(&st.restarts.iter().map(|r| r.1).collect::<Vec<_>>()),
            st.median_idle_mb()
        ));
        self.report.startup = Some(st);
        Ok(())
    }

    /// Starts the server (or connects to --url) on a database named `name`.
    fn target(&mut self, name: &str) -> Result<(Target, Option<Server>), String> {
        if let Some(url) = &self.o.url {
            let hostport = url.trim_start_matches("http://").trim_end_matches('/');
            let addr: SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(hostport)
                .map_err(|e| format!("--url {url}: {e}"))?
                .next()
                .ok_or_else(|| format!("--url {url}: no address"))?;
            return Ok((Target { addr, host: hostport.to_string(), pid: None, db: None }, None));
        }
        let db = self.dir.path().join(format!("{name}.db"));
        let server = self.spawn_server(&db)?;
        if !process::wait_healthy(server.addr, Duration::from_secs(10)) {
            return Err(format!("the server did not answer /_carillon/health: {}", server.stderr_tail()));
        }
        Ok((Target { addr: server.addr, host: server.addr.to_string(), pid: Some(server.pid), db: Some(db) }, Some(server)))
    }

    /// Creates an AppInstance with `users` users of `epu` endpoints each, and `spare` users with none.
    async fn seed(&mut self, t: &Target, label: &str, users: usize, epu: usize, spare: usize) -> Result<Seeded, String> {
        let conns = self.o.seed_connections;
        let signer = self.signer(t);
        let mut sender = load::connect(t.addr).await?;
        let token = format!("{label}-{}", self.nonce);
        let (status, body) = load::send(&mut sender, &api::create_app_instance(&signer, &format!("bench {label}"), &token)).await?;
        if status != 201 {
            return Err(format!("CreateAppInstance: {status} {}", String::from_utf8_lossy(&body)));
        }
        let app = api::member(&body, "AppInstanceArn").ok_or("CreateAppInstance: no AppInstanceArn")?;
        let ids: Vec<String> = (0..users).map(|i| format!("u{i:07}")).chain((0..spare).map(|j| format!("spare{j:04}"))).collect();
        let arns: Vec<String> = ids.iter().map(|id| format!("{app}/user/{id}")).collect();
        let big = users * epu.max(1) >= 20_000;
        out(&format!(
            "\n== seeding {label}: {} users x {epu} endpoints (+{spare} spare users) over {conns} connections ==",
            report::thousands(users)
        ));
        let (creds, region, host) = (self.o.creds.clone(), self.o.region.clone(), t.host.clone());
        let nonce = format!("{}-{label}", self.nonce);
        let ids = Arc::new(ids);
        let (app2, ids2, n2) = (app.clone(), ids.clone(), nonce.clone());
        let (c2, r2, h2) = (creds.clone(), region.clone(), host.clone());
        let user_time = load::parallel(
            t.addr,
            conns,
            ids.len(),
            big.then_some(&format!("{label} users") as &str),
            move |i| {
                let s = Signer::now(&c2, &r2, &h2);
                api::create_user(&s, &app2, &ids2[i], &format!("Bench user {i}"), &format!("{n2}-u-{i}"))
            },
            |_, _| {},
        )
        .await
        .map_err(|e| format!("seeding users: {e}"))?;
        out(&format!(
            "  users: {} in {:.1} s ({:.0}/s)",
            report::thousands(ids.len()),
            user_time.as_secs_f64(),
            ids.len() as f64 / user_time.as_secs_f64()
        ));
        let total = users * epu;
        let found: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(vec![String::new(); total]));
        let pinpoint = pinpoint_arn(&app);
        let arns = Arc::new(arns);
        let (arns2, found2, p2) = (arns.clone(), found.clone(), pinpoint.clone());
        let endpoint_time = if total > 0 {
            load::parallel(
                t.addr,
                conns,
                total,
                big.then_some(&format!("{label} endpoints") as &str),
                move |i| {
                    let s = Signer::now(&creds, &region, &host);
                    api::register(&s, &arns2[i / epu], &p2, &format!("device-{nonce}-{i}"), &format!("{nonce}-e-{i}"))
                },
                move |i, body| {
                    if let Some(id) = api::member(body, "EndpointId")
                        && let Ok(mut f) = found2.lock()
                    {
                        f[i] = id;
                    }
                },
            )
            .await
            .map_err(|e| format!("seeding endpoints: {e}"))?
        } else {
            Duration::ZERO
        };
        if total > 0 {
            out(&format!(
                "  endpoints: {} in {:.1} s ({:.0}/s)",
                report::thousands(total),
                endpoint_time.as_secs_f64(),
                total as f64 / endpoint_time.as_secs_f64()
            ));
        }
        if let Some(db) = &t.db {
            out(&format!("  database now {:.1} MB (file and WAL)", db_size_mb(db)));
        }
        self.report.seeding.push(SeedStat {
            label: label.to_string(),
            users: ids.len(),
            endpoints: total,
            user_secs: user_time.as_secs_f64(),
            endpoint_secs: endpoint_time.as_secs_f64(),
            connections: conns,
        });
        let found = std::mem::take(&mut *found.lock().map_err(|_| "lock")?);
        let endpoints: Vec<(u32, String)> = found.into_iter().enumerate().map(|(i, id)| ((i / epu.max(1)) as u32, id)).collect();
        if endpoints.iter().any(|(_, id)| id.is_empty()) {
            return Err("seeding: a Register answered without an EndpointId".into());
        }
        let all = Arc::try_unwrap(arns).unwrap_or_else(|a| (*a).clone());
        let (users_v, spare_v) = all.split_at(users);
        Ok(Seeded { app_arn: app, users: users_v.to_vec(), endpoints, spare_users: spare_v.to_vec() })
    }

    /// Walks ListAppInstanceUsers (max-results 50) to `page`; returns the token that fetches it.
    async fn walk(&self, t: &Target, app: &str, page: usize) -> Result<Option<String>, String> {
        let mut sender = load::connect(t.addr).await?;
        let mut token: Option<String> = None;
        let mut signer = (Instant::now(), self.signer(t));
        for p in 1..page {
            if signer.0.elapsed() > Duration::from_secs(60) {
                signer = (Instant::now(), self.signer(t));
            }
            let (status, body) = load::send(&mut sender, &api::list_users(&signer.1, app, 50, token.as_deref())).await?;
            if status != 200 {
                return Err(format!("ListAppInstanceUsers page {p}: {status} {}", String::from_utf8_lossy(&body)));
            }
            token = api::member(&body, "NextToken");
            if token.is_none() {
                return Err(format!("ListAppInstanceUsers: page {p} is the last, page {page} does not exist"));
            }
        }
        Ok(token)
    }

    /// The pre-signed pools for a run (signed now: they stay valid 15 minutes).
    async fn workload(&self, t: &Target, s: &Seeded, spec: &RunSpec, list: Option<Vec<Signed>>) -> Result<Workload, String> {
        let signer = self.signer(t);
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let uses = |m: MixOp| spec.mix.iter().any(|(x, _)| *x == m);
        let pick = |rng: &mut Rng| -> &(u32, String) { &s.endpoints[rng.below(s.endpoints.len())] };
        let n = self.o.pool.min(s.endpoints.len().max(1));
        let mut update = Vec::new();
        let mut describe = Vec::new();
        if uses(MixOp::Update) || uses(MixOp::Describe) {
            if s.endpoints.is_empty() {
                return Err("update and describe need --endpoints-per-user of at least 1".into());
            }
            for _ in 0..n {
                let (u, id) = pick(&mut rng);
                update.push(api::update(&signer, s.user_arn(*u as usize), id));
                let (u, id) = pick(&mut rng);
                describe.push(api::describe(&signer, s.user_arn(*u as usize), id));
            }
        }
        let list = match list {
            Some(l) => l,
            None if uses(MixOp::ListUsers) => {
                let pages = s.users.len().div_ceil(50).max(1);
                let page = self.o.list_page.min(pages);
                let token = self.walk(t, &s.app_arn, page).await?;
                vec![api::list_users(&self.signer(t), &s.app_arn, 50, token.as_deref())]
            }
            None => Vec::new(),
        };
        let on_the_fly = uses(MixOp::RegisterDeregister).then(|| load::OnTheFly {
            creds: self.o.creds.clone(),
            region: self.o.region.clone(),
            host: t.host.clone(),
            pinpoint_arn: pinpoint_arn(&s.app_arn),
            users: s.spare_users.clone(),
            nonce: nonce(),
        });
        if on_the_fly.as_ref().is_some_and(|f| f.users.is_empty()) {
            return Err("register-deregister needs spare users".into());
        }
        Ok(Workload { update, describe, list, on_the_fly })
    }

    /// One run against Carillon, then (when enabled) the same requests against the baseline.
    async fn run_pair(&mut self, t: &Target, spec: &RunSpec, w: Workload, with_baseline: bool) -> Result<RunRow, String> {
        let w = Arc::new(w);
        out(&format!("\n== {} (mix {}, {} connections) ==\n{}", spec.label, spec.mix_text(), spec.connections, report::RUN_HEADER));
        let r = load::run(t.addr, t.pid, spec, w.clone()).await;
        let c = Summary::of(&r);
        out(&report::run_line(&spec.label, "carillon", spec.connections, &c));
        if !c.threads.is_empty() {
            out(&format!("    carillon threads: {}", c.threads_text()));
        }
        if (r.requests == 0 || !r.errors.is_empty())
            && let Some(e) = &r.first_error
        {
            out(&format!("    first error: {e}"));
        }
        self.warn_if_client_bound(&spec.label, "carillon", &c);
        let mut baseline = None;
        if with_baseline && self.o.baseline && self.o.url.is_none() && !r.samples.is_empty() {
            let answers = self.dir.path().join("baseline-answers.json");
            baseline::write_answers(&answers, &r.samples).map_err(|e| format!("baseline answers: {e}"))?;
            let exe = std::env::current_exe().map_err(|e| format!("current exe: {e}"))?;
            let threads = self.o.threads.unwrap_or_else(|| process::machine().0);
            let args: Vec<String> = vec![
                "__baseline".into(),
                "--listen".into(),
                "127.0.0.1:0".into(),
                "--threads".into(),
                threads.to_string(),
                "--answers".into(),
                answers.display().to_string(),
            ];
            let server = Server::spawn(&exe, &args, self.o.server_cpu)?;
            let b = load::run(server.addr, Some(server.pid), spec, w.clone()).await;
            server.stop();
            let bs = Summary::of(&b);
            out(&report::run_line(&spec.label, "baseline", spec.connections, &bs));
            out(&format!("    baseline threads: {}", bs.threads_text()));
            out(&report::ratio_line(&spec.label, &c, &bs));
            self.warn_if_client_bound(&spec.label, "baseline", &bs);
            baseline = Some(bs);
        }
        let per_op = report::per_op_lines(&c);
        if !per_op.is_empty() {
            out(&format!("  carillon per operation:\n{}", per_op.trim_end()));
        }
        Ok(RunRow { label: spec.label.clone(), connections: spec.connections, carillon: c, baseline })
    }

    /// A run whose load generator used 90% or more of its core may be bounded by it.
    fn warn_if_client_bound(&mut self, label: &str, server: &str, s: &Summary) {
        if let Some(c) = s.client_cpu.filter(|c| *c >= 0.9) {
            let note = format!(
                "{label} against {server}: the load generator used {:.0}% of its core, so this req/s may be bounded by the client; \
                 the server's CPU per request (srv us/req) is the figure that does not depend on it",
                c * 100.0
            );
            out(&format!("    note: {note}"));
            self.report.notes.push(note);
        }
    }

    fn spec(&self, label: &str, mix: Vec<(MixOp, u32)>, connections: usize) -> RunSpec {
        RunSpec { label: label.to_string(), mix, connections, warmup: self.o.warmup, duration: self.o.duration }
    }

    async fn standard(&mut self) -> Result<(), String> {
        let c = self.o.connections;
        let specs: Vec<RunSpec> = match &self.o.mix {
            Some(mix) => vec![self.spec(&format!("{} x{c}", mix_label(mix)), mix.clone(), c)],
            None => vec![
                self.spec(&format!("update x{c}"), vec![(MixOp::Update, 1)], c),
                self.spec(&format!("describe x{c}"), vec![(MixOp::Describe, 1)], c),
                self.spec("update x1", vec![(MixOp::Update, 1)], 1),
                self.spec("describe x1", vec![(MixOp::Describe, 1)], 1),
                self.spec(
                    &format!("mixed x{c}"),
                    vec![(MixOp::Update, 1), (MixOp::Describe, 1), (MixOp::RegisterDeregister, 1), (MixOp::ListUsers, 1)],
                    c,
                ),
            ],
        };
        let spare =
            specs.iter().filter(|s| s.mix.iter().any(|(m, _)| *m == MixOp::RegisterDeregister)).map(|s| s.connections).max().unwrap_or(0);
        let (t, server) = self.target("standard")?;
        if let Some(pid) = t.pid
            && let Some((rss, _)) = process::memory_kib(pid)
        {
            out(&format!("\nserver pid {pid} at {}: RSS before seeding {:.1} MB", t.addr, rss as f64 / 1024.0));
        }
        let seeded = self.seed(&t, "standard", self.o.seed_users, self.o.endpoints_per_user, spare).await?;
        for spec in specs {
            let w = self.workload(&t, &seeded, &spec, None).await?;
            let row = self.run_pair(&t, &spec, w, true).await?;
            if spec.connections == c && spec.connections > 1 {
                self.report.load_rss_connections = c;
                if let Some(k) = row.carillon.peak_rss_kib {
                    self.report.load_rss_kib = Some(self.report.load_rss_kib.unwrap_or(0).max(k));
                }
            }
            self.report.runs.push(row);
        }
        if let (Some(server), Some(pid)) = (server, t.pid) {
            if let Some((rss, hwm)) = process::memory_kib(pid) {
                out(&format!(
                    "\nserver after the runs: RSS {:.1} MB, VmHWM (includes seeding) {:.1} MB",
                    rss as f64 / 1024.0,
                    hwm as f64 / 1024.0
                ));
            }
            let took = server.stop();
            out(&format!("server stopped (SIGTERM) in {:.1} ms", took.as_secs_f64() * 1e3));
        }
        Ok(())
    }

    async fn scale(&mut self) -> Result<(), String> {
        let epu = self.o.scale_endpoints_per_user;
        let small_users = (self.o.scale_small_endpoints / epu).max(1);
        let large_users = self.o.scale_users;
        let mut scale = Scale { small_endpoints: small_users * epu, large_endpoints: large_users * epu, ..Scale::default() };
        out(&format!(
            "\n== scale: {} endpoints vs {} endpoints ({} users) ==",
            report::thousands(scale.small_endpoints),
            report::thousands(scale.large_endpoints),
            report::thousands(large_users)
        ));
        let (t, server) = self.target("scale")?;
        let small = self.seed(&t, "scale-small", small_users, epu, 0).await?;
        let conns = [1, self.o.connections];
        for c in conns {
            for (op, m) in [(Op::Describe, MixOp::Describe), (Op::Update, MixOp::Update)] {
                let spec = self.spec(&format!("scale {} x{c} @{}", op.name(), scale.small_endpoints), vec![(m, 1)], c);
                let w = self.workload(&t, &small, &spec, None).await?;
                let row = self.run_pair(&t, &spec, w, false).await?;
                scale.small.insert((op, c), row.carillon);
            }
        }
        let large = self.seed(&t, "scale-large", large_users, epu, 0).await?;
        for c in conns {
            for (op, m) in [(Op::Describe, MixOp::Describe), (Op::Update, MixOp::Update)] {
                let spec = self.spec(&format!("scale {} x{c} @{}", op.name(), scale.large_endpoints), vec![(m, 1)], c);
                let w = self.workload(&t, &large, &spec, None).await?;
                let row = self.run_pair(&t, &spec, w, false).await?;
                scale.large.insert((op, c), row.carillon);
            }
        }
        let pages = large.users.len().div_ceil(50);
        let page = self.o.scale_page.min(pages).max(1);
        scale.page = page;
        out(&format!(
            "\n== ListAppInstanceUsers: walking to page {} of {} (max-results 50) ==",
            report::thousands(page),
            report::thousands(pages)
        ));
        let walk_start = Instant::now();
        let token = self.walk(&t, &large.app_arn, page).await?;
        scale.walk_secs = walk_start.elapsed().as_secs_f64();
        out(&format!(
            "  walked {} pages in {:.1} s ({:.3} ms a page)",
            page - 1,
            scale.walk_secs,
            scale.walk_secs * 1e3 / (page.max(2) - 1) as f64
        ));
        for (which, tok) in [(1usize, None), (page, token.as_deref())] {
            let spec = self.spec(&format!("list-users page {which} x1"), vec![(MixOp::ListUsers, 1)], 1);
            let list = vec![api::list_users(&self.signer(&t), &large.app_arn, 50, tok)];
            let w = self.workload(&t, &large, &spec, Some(list)).await?;
            let row = self.run_pair(&t, &spec, w, false).await?;
            if which == 1 {
                scale.page1 = Some(row.carillon);
            } else {
                scale.page_n = Some(row.carillon);
            }
        }
        if let Some(server) = server {
            if let Some((rss, hwm)) = process::memory_kib(server.pid) {
                out(&format!("\nserver after the scale runs: RSS {:.1} MB, VmHWM {:.1} MB", rss as f64 / 1024.0, hwm as f64 / 1024.0));
            }
            server.stop();
            // Start-up again, on the large database.
            let db = self.dir.path().join("scale.db");
            let again = self.spawn_server(&db)?;
            if process::wait_healthy(again.addr, Duration::from_secs(30)) {
                let ms = again.spawned_at.elapsed().as_secs_f64() * 1e3;
                std::thread::sleep(Duration::from_millis(300));
                let rss = process::memory_kib(again.pid).map(|m| m.0).unwrap_or(0);
                out(&format!(
                    "restart on the large database: first answered request at {ms:.1} ms, idle RSS {:.1} MB",
                    rss as f64 / 1024.0
                ));
                scale.restart = Some((ms, rss));
                self.report.notes.push(format!(
                    "start-up on the {}-endpoint database: first answered request at {ms:.1} ms, idle RSS {:.1} MB",
                    report::thousands(scale.large_endpoints),
                    rss as f64 / 1024.0
                ));
            }
            again.stop();
        }
        self.report.scale = Some(scale);
        Ok(())
    }
}

fn mix_label(mix: &[(MixOp, u32)]) -> String {
    if mix.len() == 1 {
        mix[0].0.name().to_string()
    } else {
        mix.iter().map(|(m, w)| format!("{}={w}", m.name())).collect::<Vec<_>>().join(",")
    }
}
